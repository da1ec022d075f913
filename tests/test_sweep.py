"""Sweeps (ngcx.training.sweep): an ensemble trained as one vmapped, once-compiled step
equals separate fit runs; result files, plot, errors; the ``ngcx sweep`` command line."""

import argparse
import dataclasses
import json
import sys

import equinox as eqx
import jax
import numpy as np
import pytest

from ngcx._plotting import MISSING
from ngcx._sweep_cli import add_sweep_parser, parse_param, parse_values, run_sweep
from ngcx.training import (
    PCNConfig,
    PCNTask,
    SNNSurrogateConfig,
    SNNSurrogateTask,
    fit,
)
from ngcx.training._sweep import plot_sweep, sweep, sweepable


SMALL_PCN = PCNConfig(hidden=(8,), T=2, epochs=2, batch_size=64, plots=False)
SMALL_SNN = SNNSurrogateConfig(hidden=8, T=2, epochs=1, batch_size=256, plots=False)
ETAS = np.geomspace(1e-4, 3e-2, 16)


def _arrays(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def _close(a, b, rtol=1e-5, atol=1e-6):
    la, lb = _arrays(a), _arrays(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def _fit_member(task, result, i, tmp_path):
    out = tmp_path / f"fit{result.param}{i}"
    config = dataclasses.replace(result.member_config(i), out=str(out))
    return fit(task, config, progress=False)


def _same_as_fit(task, result, i, tmp_path, rtol=1e-5, atol=1e-6):
    ref = _fit_member(task, result, i, tmp_path)
    _close(result.member_state(i)[0], ref.state[0], rtol=rtol, atol=atol)
    assert result.final[i]["test_acc"] == ref.final["test_acc"]
    assert set(result.history[i]) == set(ref.history)
    for k, v in ref.history.items():
        np.testing.assert_allclose(result.history[i][k], v, rtol=1e-4)


@pytest.fixture(scope="module")
def eta_sweep():
    return sweep(PCNTask(), SMALL_PCN, "eta", ETAS, progress=False)


def test_sixteen_learning_rates_compile_once_and_equal_separate_fits(eta_sweep, tmp_path):
    r = eta_sweep
    assert r.step_compilations == 1 and r.n_members == 16 and r.devices == jax.device_count()
    np.testing.assert_allclose(r.values, ETAS)
    assert list(r.seeds) == [0] * 16
    # the ensemble axis leads every leaf, sharded over the "ensemble" mesh axis
    w = r.state[0].synapses[0].weights
    assert w.shape == (16, 64, 8)
    if jax.device_count() > 1:
        assert w.sharding.spec == jax.sharding.PartitionSpec("ensemble")
    for i in range(16):  # the bar: equal to 16 separate runs
        _same_as_fit(PCNTask(), r, i, tmp_path)
    weights = np.asarray(r.state[0].synapses[0].weights)
    assert np.all(np.isfinite(weights))
    flat = weights.reshape(16, -1)
    gaps = np.abs(flat[:, None] - flat[None]).max(-1) + np.eye(16)
    assert gaps.min() > 0  # every member differs from every other
    assert all(len(h["test_acc"]) == 2 for h in r.history)


def test_sweep_files_and_plot(eta_sweep, tmp_path, capsys):
    out = eta_sweep.write(tmp_path / "s")
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert [r["member"] for r in rows] == list(range(16))
    assert rows[3]["eta"] == pytest.approx(ETAS[3]) and rows[3]["seed"] == 0
    assert rows[3]["test_acc"] == eta_sweep.final[3]["test_acc"]
    assert "confusion_matrix" not in rows[3]
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["model"] == "pcn" and saved["param"] == "eta"
    assert saved["step_compilations"] == 1 and len(saved["members"]) == 16
    assert saved["members"][5]["history"]["energy"] == eta_sweep.history[5]["energy"]
    assert saved["config"]["hidden"] == [8]
    png = plot_sweep(eta_sweep, tmp_path / "s" / "sweep.png")
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="metric"):
        plot_sweep(eta_sweep, tmp_path / "x.png", metric="nope")


def test_plot_without_matplotlib_warns_once(eta_sweep, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert plot_sweep(eta_sweep, tmp_path / "p.png") is None
    assert capsys.readouterr().err.splitlines() == [MISSING]
    assert not (tmp_path / "p.png").exists()


def test_seed_sweep_and_value_seed_grid_equal_fits(tmp_path):
    task = PCNTask()
    seeds = sweep(task, SMALL_PCN, "seed", [0, 3], progress=False)
    assert list(seeds.seeds) == [0, 3] and seeds.step_compilations == 1
    _same_as_fit(task, seeds, 1, tmp_path)  # its own init, batch order and keys
    grid = sweep(task, dataclasses.replace(SMALL_PCN, epochs=1), "tau_m", [5.0, 40.0], seeds=2,
                 progress=False)  # fmt: skip
    assert list(grid.values) == [5.0, 5.0, 40.0, 40.0] and list(grid.seeds) == [0, 1, 0, 1]
    _same_as_fit(task, grid, 3, tmp_path)


def test_surrogate_snn_eta_and_tau_m_sweeps_equal_fits(tmp_path):
    task = SNNSurrogateTask()
    etas = sweep(task, SMALL_SNN, "eta", [1e-3, 1e-2], progress=False)
    assert etas.step_compilations == 1
    _same_as_fit(task, etas, 1, tmp_path, rtol=1e-4, atol=1e-6)
    taus = sweep(task, SMALL_SNN, "tau_m", [2.0, 10.0], progress=False)
    _same_as_fit(task, taus, 1, tmp_path, rtol=1e-4, atol=1e-6)
    assert not np.allclose(_arrays(taus.member_state(0)[0])[0], _arrays(taus.member_state(1)[0])[0])


def test_a_diverging_member_is_marked_and_the_others_train(tmp_path):
    config = dataclasses.replace(SMALL_PCN, optim_type="sgd")
    r = sweep(PCNTask(), config, "eta", [1e-3, 50.0], progress=False)
    assert "test_acc" in r.final[0]
    assert r.final[1] == {"diverged_epoch": 1}
    assert np.isnan(r.history[1]["test_acc"]).all()
    out = r.write(tmp_path)
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert rows[1]["diverged_epoch"] == 1 and "test_acc" not in rows[1]
    assert json.loads((out / "sweep.json").read_text())["members"][1]["history"]["test_acc"] == [
        None, None,
    ]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(param="epochs", values=[1, 2]), "cannot be swept.*eta"),
        (dict(param="act_fx", values=[1.0]), "cannot be swept"),
        (dict(param="eta", values=[]), "empty"),
        (dict(param="eta", values=[1e-3, np.nan]), "finite"),
        (dict(param="eta", values=[-1.0]), "eta"),
        (dict(param="seed", values=[0.5]), "integers"),
        (dict(param="seed", values=[0, 1], seeds=2), "seeds"),
        (dict(param="eta", values=[1e-3], seeds=0), "seeds"),
        (dict(param="eta", values=[1e-3], seeds=True), "seeds"),
        (dict(param="eta", values=[1e-3], seeds=[1.5]), "seeds"),
        (dict(param="eta", values=[1e-3], devices=jax.local_device_count() + 1), "devices"),
    ],
)
@pytest.mark.usefixtures("normal_use")  # the errors users get, not jaxtyping's
def test_bad_arguments_name_what_is_wrong(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep(PCNTask(), SMALL_PCN, progress=False, **kwargs)


def test_sweepable_settings():
    assert sweepable(PCNConfig)[:1] == ["seed"]
    assert {"eta", "tau_m", "dt"} <= set(sweepable(PCNConfig))
    assert {"eta", "tau_m", "dt"} <= set(sweepable(SNNSurrogateConfig))
    assert "test_fraction" not in sweepable(PCNConfig)
    with pytest.raises(TypeError, match="PCNConfig"):
        sweep(PCNTask(), SMALL_SNN, "eta", [1e-3], progress=False)


# -- parsing and the command line -----------------------------------------------------


def test_parse_values():
    np.testing.assert_allclose(parse_values("1e-4:1e-2:log:3"), [1e-4, 1e-3, 1e-2])
    np.testing.assert_allclose(parse_values("0:1:lin:5"), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(parse_values("1e-3,2e-3, 5e-3"), [1e-3, 2e-3, 5e-3])
    np.testing.assert_allclose(parse_values("7"), [7.0])
    np.testing.assert_allclose(parse_values("2:9:log:1"), [2.0])
    assert len(parse_values("1e-4:1e-2:log:16")) == 16
    name, values = parse_param("tau-m=5,10")
    assert name == "tau_m" and list(values) == [5.0, 10.0]


@pytest.mark.parametrize(
    "spec",
    ["", "1e-3:1e-2", "1:2:geo:3", "0:1:log:3", "1:2:lin:0", "1:2:lin:x", "a,b", "1,,2",
     "1:2:3:4:5", "inf", "1:nan:lin:3"],
)  # fmt: skip
def test_parse_values_rejects_bad_specs(spec):
    with pytest.raises(ValueError, match="--param"):
        parse_values(spec)


@pytest.mark.parametrize("text", ["eta", "=1,2", "eta:1,2"])
def test_parse_param_needs_name_and_values(text):
    with pytest.raises(ValueError, match="--param"):
        parse_param(text)


def _parser(only="pcn"):
    parser = argparse.ArgumentParser(prog="ngcx")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sweep_parser(sub, only)
    return parser


def test_run_sweep_writes_files_and_prints_members(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep", "pcn", "--param", "eta=1e-3,1e-2", "--seeds", "2", "--hidden", "8",
            "--T", "2", "--epochs", "1", "--out", str(out), "--no-progress"]  # fmt: skip
    args = _parser().parse_args(argv)
    assert run_sweep(args) == 0
    printed = capsys.readouterr().out.splitlines()
    members = [line for line in printed if line.startswith("member")]
    assert len(members) == 4 and members[1].startswith("member   1: eta=0.001 seed 1:")
    assert "final test accuracy" in members[0]
    assert printed[-1].startswith("4 members on") and "compiled 1x" in printed[-1]
    assert "best test_acc" in printed[-1] and str(out) in printed[-1]
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert [(r["eta"], r["seed"]) for r in rows] == [(1e-3, 0), (1e-3, 1), (1e-2, 0), (1e-2, 1)]
    assert json.loads((out / "sweep.json").read_text())["config"]["hidden"] == [8]
    assert (out / "sweep.png").is_file()
    with pytest.raises(ValueError, match="not empty.*--overwrite"):
        run_sweep(_parser().parse_args(argv))
    argv2 = argv[:2] + ["--param", "seed=0,1", *argv[6:], "--overwrite", "--no-plots"]
    assert run_sweep(_parser().parse_args(argv2)) == 0
    assert not (out / "sweep.png").exists()
    rows = [json.loads(line) for line in (out / "sweep.jsonl").read_text().splitlines()]
    assert [r["seed"] for r in rows] == [0, 1]
    assert "seed=1:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--param", "epochs=1,2"], "cannot be swept"),
        (["--param", "eta=1:2:geo:3"], "--param"),
        (["--param", "eta=1e-3", "--seeds", "0"], "--seeds"),
        (["--param", "eta=-1,1"], "eta"),
    ],
)
def test_run_sweep_rejects_bad_flags(tmp_path, extra, match):
    args = _parser().parse_args(["sweep", "pcn", *extra, "--out", str(tmp_path / "o")])
    with pytest.raises(ValueError, match=match):
        run_sweep(args)
    assert not (tmp_path / "o").exists()


def test_sweep_parser_help_lists_models_and_needs_param(capsys):
    parser = _parser(only=None)
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "--help"])
    assert "snn-surrogate" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        _parser().parse_args(["sweep", "pcn", "--epochs", "1"])
    assert "--param" in capsys.readouterr().err
