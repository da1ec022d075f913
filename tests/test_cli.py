import contextlib
import json
import os
import subprocess
import sys

import pytest

from ngcx import cli
from ngcx._plotting import MISSING


def test_demo_writes_report_and_plots(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "demo.json").read_text())
    assert len(report["surrogates"]) >= 11
    assert all(err < 1e-5 for err in report["activations"].values())
    for name in ("activations.png", "surrogates.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert "max |dfx - grad|" in capsys.readouterr().out


def _python(code, *args, env):
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300
    )


def _env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NGCX_COMPILE_CACHE", "PYTEST_CURRENT_TEST")
    }
    return {**env, "NGCX_COMPILE_CACHE": "0", **extra}


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["nope"]])
def test_help_imports_no_jax_and_no_trainer(argv):
    code = (
        "import sys\n"
        "from ngcx import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('jax', 'numpy', 'tqdm', 'ngcx.train', 'ngcx.train_snn')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = _python(code, *argv, env=_env())
    assert result.returncode == 0, result.stderr


def test_training_help_still_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "snn-surrogate", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--surrogate", "--learn-dynamics", "--no-plots", "--no-progress",
                 "--no-compile-cache"):  # fmt: skip
        assert flag in text


@pytest.mark.parametrize("flag", [[], ["--no-compile-cache"]])
def test_compile_cache_is_on_by_default_in_the_user_cache_dir(tmp_path, monkeypatch, flag):
    used = []

    @contextlib.contextmanager
    def record(path):
        used.append(path)
        yield path

    monkeypatch.setattr(cli, "compile_cache", record)
    monkeypatch.delenv("NGCX_COMPILE_CACHE", raising=False)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # what a user's shell has
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as exc:  # an invalid value: stops before any training
        cli.main(["train", "pcn", "--epochs", "0", "--out", str(tmp_path / "run"), *flag])
    assert exc.value.code == 2
    assert used == [None if flag else tmp_path / "cache" / "ngcx" / "jax"]


def test_train_without_matplotlib_warns_once_and_writes_the_rest(tmp_path):
    """Piped output, no matplotlib: one warning line, exit 0, metrics and checkpoint
    written, no carriage return anywhere, a compilation notice before the first epoch, and
    the compilation cache in the user cache directory."""
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None  # import matplotlib -> ImportError\n"
        "from ngcx.cli import main\n"
        "sys.exit(main())\n"
    )
    out = tmp_path / "run"
    argv = ["train", "pcn", "--epochs", "2", "--hidden", "8", "--T", "2", "--out", str(out)]
    env = _env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    del env["NGCX_COMPILE_CACHE"]
    result = _python(code, *argv, env=env)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr
    warnings = [line for line in result.stderr.splitlines() if "matplotlib" in line]
    assert warnings == [MISSING]
    assert "Traceback" not in result.stderr
    # the compiling line comes first among ngcx's lines (jaxlib < 0.10.2 may log a C++ line
    # of its own when it reads the compilation cache)
    ours = [line for line in result.stderr.splitlines() if line[:1] not in ("E", "W", "I")]
    assert ours[0] == "pcn: compiling the training step..."
    lines = result.stdout.splitlines()
    assert lines[0].startswith("epoch   1/2") and "elapsed" in lines[0]
    assert "final test accuracy" in lines[-1]
    assert json.loads((out / "metrics.json").read_text())["model"] == "pcn"
    assert (out / "model.ckpt").is_file()
    assert not list(out.glob("*.png"))
    assert (tmp_path / "cache" / "ngcx" / "jax").is_dir()
