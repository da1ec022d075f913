import json

from ngcx import cli


def test_demo_writes_report_and_plots(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "demo.json").read_text())
    assert len(report["surrogates"]) >= 11
    assert all(err < 1e-5 for err in report["activations"].values())
    for name in ("activations.png", "surrogates.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert "max |dfx - grad|" in capsys.readouterr().out
