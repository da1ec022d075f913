"""The shared training loop (ngcx.training.fit), run folders, resume, evaluate, configs in
and out, and the --data paths (on small files the tests write)."""

import argparse
import json

import jax
import numpy as np
import pytest

from ngcx import cli, training
from ngcx.data import load_digits, save_idx
from ngcx.training import (
    PCNConfig,
    PCNTask,
    SNNSurrogateConfig,
    SNNSurrogateTask,
    fit,
    get_task,
    load_dataset,
)


SMALL_PCN = dict(hidden=(8,), T=2, plots=False)
SMALL_SNN = dict(hidden=8, T=3, plots=False, batch_size=32)


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree) if hasattr(x, "shape")]


def _same(a, b):
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(x, y)


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize(
    ("task", "config", "small"),
    [(PCNTask(), PCNConfig, SMALL_PCN), (SNNSurrogateTask(), SNNSurrogateConfig, SMALL_SNN)],
)
def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path, task, config, small):
    whole = fit(task, config(epochs=3, out=str(tmp_path / "a"), **small), progress=False)

    class Crashing(type(task)):
        calls = 0

        def evaluate(self, run, state, key):
            Crashing.calls += 1
            if Crashing.calls == 2:  # dies during epoch 2, after its training steps
                raise _Interrupt
            return super().evaluate(run, state, key)

    out = tmp_path / "b"
    with pytest.raises(_Interrupt):
        fit(Crashing(), config(epochs=3, out=str(out), **small), progress=False)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1]  # written as it goes
    assert not (out / "metrics.json").exists()
    resumed = fit(task, config(epochs=3, out=str(out), **small), progress=False, resume=True)
    _same(resumed.state, whole.state)
    assert resumed.history == whole.history and resumed.final == whole.final
    assert resumed.epochs_run == 2 and resumed.metrics["epochs_completed"] == 3
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    # more epochs later: the same as asking for them at once
    more = fit(task, config(epochs=4, out=str(out), **small), progress=False, resume=True)
    once = fit(task, config(epochs=4, out=str(tmp_path / "c"), **small), progress=False)
    _same(more.state, once.state)


def test_checkpoint_holds_state_epoch_key_config_and_versions(tmp_path):
    from ngcx import io

    fit(PCNTask(), PCNConfig(epochs=1, out=str(tmp_path), **SMALL_PCN), progress=False)
    meta = io.load_header(tmp_path / "checkpoint.ckpt")["config"]
    assert meta["task"] == "pcn" and meta["epoch"] == 1
    assert meta["config"]["hidden"] == [8] and set(meta["versions"]) >= {"ngcx", "jax", "optax"}
    assert set(meta["history"]) == {"energy", "train_acc", "test_acc"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["versions"]["jax"] == jax.__version__


def test_evaluate_reproduces_the_final_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "snn-surrogate", "--epochs", "1", "--hidden", "8", "--T", "3",
                     "--out", str(out), "--no-plots", "--no-progress"])  # fmt: skip
    assert code == 0
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert cli.main(["evaluate", str(out)]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    assert report["final"]["test_acc"] == final["test_acc"]
    assert report["final"] == final and report["epoch"] == 1 and report["model"] == "snn-surrogate"
    assert f"final test accuracy {final['test_acc']:.4f}" in capsys.readouterr().out


def test_evaluate_on_other_data_and_errors(tmp_path, capsys):
    out = tmp_path / "run"
    fit(PCNTask(), PCNConfig(epochs=1, out=str(out), **SMALL_PCN), progress=False)
    x, y = load_digits()
    np.savez(tmp_path / "d.npz", x=x[:50], y=y[:50], x_test=x[50:90], y_test=y[50:90])
    report = training.evaluate(out, data=f"npz:{tmp_path / 'd.npz'}")
    assert report["data"].startswith("npz:") and 0 <= report["final"]["test_acc"] <= 1
    assert np.asarray(report["final"]["confusion_matrix"]).sum() == 40
    with pytest.raises(SystemExit) as exc:
        cli.main(["evaluate", str(tmp_path / "nothing")])
    assert exc.value.code == 2 and "checkpoint.ckpt" in capsys.readouterr().err
    np.savez(tmp_path / "wide.npz", x=np.zeros((20, 10), np.float32), y=np.zeros(20, np.int64))
    with pytest.raises(ValueError):  # 10 features do not fit a 64-input model
        training.evaluate(out, data=f"npz:{tmp_path / 'wide.npz'}")


def test_config_round_trips_through_config_json_and_yaml(tmp_path):
    out = tmp_path / "a"
    assert cli.main(["train", "pcn", "--epochs", "1", "--hidden", "8", "4", "--T", "2",
                     "--eta", "0.002", "--data-seed", "3", "--out", str(out),
                     "--no-plots", "--no-progress"]) == 0  # fmt: skip
    saved = json.loads((out / "config.json").read_text())
    assert saved["model"] == "pcn" and saved["hidden"] == [8, 4] and saved["data_seed"] == 3
    config = training.config_from_dict(PCNConfig, {k: v for k, v in saved.items() if k != "model"})
    assert config == PCNConfig(epochs=1, hidden=(8, 4), T=2, eta=0.002, data_seed=3,
                               out=str(out), plots=False)  # fmt: skip
    # the written config read back with --config (a flag overrides it) gives the same run
    out2 = tmp_path / "b"
    assert cli.main(["train", "pcn", "--config", str(out / "config.json"), "--out", str(out2),
                     "--no-progress"]) == 0  # fmt: skip
    again = json.loads((out2 / "config.json").read_text())
    assert {**again, "out": None} == {**saved, "out": None}
    a = json.loads((out / "metrics.json").read_text())["final"]
    b = json.loads((out2 / "metrics.json").read_text())["final"]
    assert a == b
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"hidden": [8], "T": 2, "eta": 1, "plots": False}))
    args = argparse.Namespace(config=path, resume=None, epochs=1, out=str(tmp_path / "c"))
    resolved = cli._resolve_config(args, PCNTask())
    assert resolved.eta == 1.0 and isinstance(resolved.eta, float) and resolved.epochs == 1
    assert resolved.hidden == (8,) and resolved.T == 2


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"etaa": 1}', "unknown setting 'etaa'"),
        ('{"T": "ten"}', "`T` \\(--T\\) must be int"),
        ('{"hidden": 8}', "`hidden` \\(--hidden\\) must be a tuple"),
        ('{"model": "conv-pc"}', "configuration of 'conv-pc'"),
        ("[1, 2]", "mapping"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_config_files_exit_2_naming_the_setting(tmp_path, capsys, content, match):
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "pcn", "--config", str(path), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    import re

    assert re.search(match, err), err
    assert not (tmp_path / "o").exists()


def test_non_empty_out_is_refused_unless_overwrite_or_resume(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "pcn", "--epochs", "1", "--hidden", "8", "--T", "2", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert cli.main(base) == 0
    (out / "notes.txt").write_text("mine")
    before = (out / "metrics.json").read_text()
    with pytest.raises(SystemExit) as exc:
        cli.main(base)
    assert exc.value.code == 2 and "--overwrite" in capsys.readouterr().err
    assert (out / "metrics.json").read_text() == before  # untouched
    assert cli.main([*base, "--overwrite", "--no-plots"]) == 0
    assert not list(out.glob("*.png"))  # the earlier run's plots are gone
    assert (out / "notes.txt").read_text() == "mine"  # files that are not a run's stay
    with pytest.raises(SystemExit):
        cli.main([*base, "--overwrite", "--resume", str(out)])
    assert "exclude" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "pcn", "--resume", str(tmp_path / "none")])
    assert "config.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "pcn", "--resume", str(out), "--T", "3"])
    assert "keeps its configuration" in capsys.readouterr().err
    assert cli.main(["train", "pcn", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs_completed"] == 2
    with pytest.raises(SystemExit):  # fewer epochs than already trained
        cli.main(["train", "pcn", "--resume", str(out), "--epochs", "1"])
    assert "already trained" in capsys.readouterr().err


def _write_mnist(folder, n_train=40, n_test=20, gz=True, side=28):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        save_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}",
                 rng.integers(0, 256, (n, side, side), dtype=np.uint8))  # fmt: skip
        save_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}",
                 (np.arange(n) % 10).astype(np.uint8))  # fmt: skip


@pytest.mark.parametrize(("kind", "gz"), [("mnist", True), ("fashion-mnist", False)])
def test_idx_data_trains_pcn_from_the_cli(tmp_path, kind, gz):
    _write_mnist(tmp_path / "data", gz=gz)
    out = tmp_path / "run"
    assert cli.main(["train", "pcn", "--data", f"{kind}:{tmp_path / 'data'}", "--epochs", "1",
                     "--hidden", "8", "--T", "2", "--batch-size", "10", "--out", str(out),
                     "--no-plots", "--no-progress"]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["data"].startswith(kind)
        and np.asarray(metrics["final"]["confusion_matrix"]).sum() == 20
    )
    data = load_dataset(f"{kind}:{tmp_path / 'data'}")
    assert data.x_train.shape == (40, 784) and data.image_shape == (28, 28)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0


def test_missing_idx_folder_names_the_expected_files(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "pcn", "--data", f"mnist:{tmp_path / 'none'}", "--out",
                  str(tmp_path / "o")])  # fmt: skip
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte" in err and "downloads nothing" in err
    assert not (tmp_path / "o").exists()


def test_npz_data_with_and_without_a_test_split(tmp_path):
    x, y = load_digits()
    images = (x[:100].reshape(-1, 8, 8) * 255).astype(np.uint8)
    np.savez(tmp_path / "a.npz", x=images, y=y[:100])
    a = load_dataset(f"npz:{tmp_path / 'a.npz'}", test_fraction=0.25, data_seed=1)
    assert a.x_train.shape == (75, 64) and a.x_test.shape == (25, 64)
    assert a.image_shape == (8, 8) and a.n_classes == 10 and a.x_train.max() <= 1.0
    b = load_dataset(f"npz:{tmp_path / 'a.npz'}", test_fraction=0.25, data_seed=2)
    assert not np.array_equal(a.y_test, b.y_test)  # data_seed moves the split
    np.savez(tmp_path / "b.npz", x=x[:60], y=y[:60], x_test=x[60:80], y_test=y[60:80])
    b = load_dataset(f"npz:{tmp_path / 'b.npz'}")
    np.testing.assert_array_equal(b.x_test, x[60:80])
    out = tmp_path / "run"
    assert cli.main(["train", "snn-surrogate", "--data", f"npz:{tmp_path / 'b.npz'}",
                     "--epochs", "1", "--hidden", "8", "--T", "3", "--batch-size", "20",
                     "--out", str(out), "--no-plots", "--no-progress"]) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        (dict(x=np.zeros((4, 3))), "must hold arrays x and y"),
        (dict(x=np.zeros((4, 3)), y=np.zeros(5, np.int32)), "shape \\(4,\\)"),
        (dict(x=np.zeros((4, 3)), y=np.zeros(4)), "class labels"),
        (dict(x=np.full((4, 3), np.nan), y=np.zeros(4, np.int32)), "NaN"),
        (dict(x=np.zeros((4, 3)), y=np.zeros(4, np.int32), x_test=np.zeros((2, 3))), "both"),
        (
            dict(
                x=np.zeros((4, 3)),
                y=np.zeros(4, np.int32),
                x_test=np.zeros((2, 5)),
                y_test=np.zeros(2, np.int32),
            ),
            "x_test has 5 features",
        ),  # fmt: skip
    ],
)
def test_bad_npz_files_name_the_array(tmp_path, arrays, match):
    np.savez(tmp_path / "d.npz", **arrays)
    with pytest.raises(ValueError, match=match):
        load_dataset(f"npz:{tmp_path / 'd.npz'}")


@pytest.mark.parametrize("spec", ["digits:x", "mnist", "cifar:/x", "npz:/does/not/exist.npz", ""])
def test_bad_data_specs(spec):
    with pytest.raises(ValueError, match="data"):
        load_dataset(spec)


def test_conv_pc_uses_28x28_images_as_they_are_and_refuses_non_images(tmp_path):
    task = get_task("conv-pc")
    config = training.ConvPCConfig(data=f"mnist:{tmp_path}", n_features=2, T=2)
    _write_mnist(tmp_path, n_train=8, n_test=4)
    data = task.load_data(config)
    assert data.x_train.shape == (8, 28, 28, 1) and data.factor == 1
    digits = task.load_data(training.ConvPCConfig())
    assert digits.x_train.shape[1:] == (16, 16, 1) and digits.factor == 2
    np.savez(tmp_path / "v.npz", x=np.zeros((10, 7), np.float32), y=np.zeros(10, np.int32))
    with pytest.raises(ValueError, match="not square images"):
        task.load_data(training.ConvPCConfig(data=f"npz:{tmp_path / 'v.npz'}"))


def test_seed_and_data_seed_are_separate():
    a = get_task("pcn").load_data(PCNConfig(seed=1))
    b = get_task("pcn").load_data(PCNConfig(seed=2))
    c = get_task("pcn").load_data(PCNConfig(data_seed=2))
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)


def test_every_command_has_help_on_every_option_and_one_naming_scheme():
    parser = cli.build_parser("all")
    train = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    models = next(
        a for a in train.choices["train"]._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert set(models.choices) == set(training.TASKS)
    for name, sub in models.choices.items():
        flags = set()
        for action in sub._actions:
            assert action.help, (name, action.option_strings)
            flags.update(action.option_strings)
        # one naming scheme: no command spells these differently
        assert not flags & {"--lr", "--optim", "--n-hid", "--features"}, name
        config_cls = get_task(name).config_cls
        for f in config_cls.__dataclass_fields__.values():
            assert f.metadata.get("help"), (name, f.name)


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    from ngcx import __version__

    assert capsys.readouterr().out.strip() == f"ngcx {__version__}"


def test_get_task_and_fit_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="pcn"):
        get_task("nope")
    with pytest.raises(TypeError, match="PCNConfig"):
        fit(PCNTask(), SNNSurrogateConfig(out=str(tmp_path)))
    with pytest.raises(ValueError, match="`batch_size`"):
        fit(PCNTask(), PCNConfig(batch_size=5000, out=str(tmp_path / "x"), **SMALL_PCN))
    assert not (tmp_path / "x").exists()


# tasks whose step folds constants (AbstractTask.constants): small configurations
FOLDING = {
    "pcn": dict(hidden=(8,), T=2),
    "conv-pc": dict(n_features=2, T=2, kernel=3),
    "snn-surrogate": dict(hidden=8, T=2),
    "pc-recon": dict(T=5),
    "sparse-coding": dict(
        hidden=16, patch=8, n_patches=600, test_patches=100, T=10, batch_size=100
    ),  # fmt: skip
    "som": dict(),
    "evstdp-patches": dict(batch_size=4, T=20),
    "ti-stdp": dict(batch_size=4, T=30, hidden=(20, 9)),
    "bfa-snn": dict(hidden=16, T=12, burn_in=3, batch_size=50),
    "rl-snn": dict(batch_size=2),
}


def test_every_task_that_folds_constants_is_listed_here():
    folding = {
        name for name in training.TASKS
        if type(get_task(name)).constants is not training.AbstractTask.constants
    }  # fmt: skip
    assert folding == set(FOLDING)


@pytest.mark.parametrize("name", sorted(FOLDING))
def test_folding_constants_leaves_training_unchanged(name, tmp_path):
    """A leaf folded into the step as a constant must not change in the step: steps with
    the task's folding equal steps with every leaf an argument."""
    import equinox as eqx

    from ngcx import FlatStep
    from ngcx.data import DataLoader

    task = get_task(name)
    config = task.config_cls(out=str(tmp_path), **FOLDING[name])
    run = training.Run(config, task.load_data(config), None, jax.random.key(0), tmp_path)
    state = task.init(run)
    folded = FlatStep(task.make_step(run, state), state, dynamic=task.constants(run, state))
    plain = FlatStep(task.make_step(run, state), state)
    arrays = [(f"a{i}", a) for i, a in enumerate(task.train_arrays(run))]
    for b, named in enumerate(DataLoader(arrays, config.batch_size, key=jax.random.key(1))):
        batch = task.to_step_batch(run, tuple(a for _, a in named))
        folded(batch, jax.random.key(b))
        plain(batch, jax.random.key(b))
        if b == 3:
            break
    a, b = (eqx.filter(s.state, eqx.is_array) for s in (folded, plain))
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
