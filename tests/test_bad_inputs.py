"""Bad input never passes silently (issue 13): each case asserts the exception type and
that the message names the user's argument and what was received."""

import jax
import jax.numpy as jnp
import pytest

from ngcx.models import PCN


pytestmark = pytest.mark.usefixtures("normal_use")


@pytest.fixture(scope="module")
def pcn():
    model = PCN((8, 6, 3), key=jax.random.key(0))
    return model, model.init_optimizer()


@pytest.mark.parametrize(
    ("x_shape", "y_shape", "match"),
    [
        (
            (4, 8),
            (4, 4),
            r"`y` of PCN\.train_step must have shape \(batch, 3\), got shape \(4, 4\)",
        ),
        ((8,), (3,), r"`x` of PCN\.train_step must have shape \(batch, 8\), got shape \(8,\)"),
        ((4, 7), (4, 3), r"`x` of PCN\.train_step .* got shape \(4, 7\)"),
        ((4, 8), (5, 3), r"`x` and `y` of PCN\.train_step must share their batch axes"),
        ((2, 4, 8), (2, 4, 3), r"`x` of PCN\.train_step must have shape \(batch, 8\)"),
    ],
)
def test_pcn_train_step_names_the_wrong_argument(pcn, x_shape, y_shape, match):
    model, opt_state = pcn
    with pytest.raises(ValueError, match=match):
        model.train_step(opt_state, jnp.ones(x_shape), jnp.ones(y_shape))


@pytest.mark.parametrize("method", ["infer", "energy", "hebbian_updates"])
def test_pcn_inference_entry_points_name_the_wrong_target(pcn, method):
    model, _ = pcn
    x, y = jnp.ones((4, 8)), jnp.ones((4, 2))
    args = (x, y) if method == "infer" else (x, y, (jnp.ones((4, 6)),))
    with pytest.raises(ValueError, match=rf"`y` of PCN\.{method} .*got shape \(4, 2\)"):
        getattr(model, method)(*args)


def test_pcn_predict_names_x(pcn):
    model, _ = pcn
    with pytest.raises(ValueError, match=r"`x` of PCN\.predict .*got shape \(4, 5\)"):
        model.predict(jnp.ones((4, 5)))


def test_pcn_accepts_good_shapes_and_any_batch_axes_where_documented(pcn):
    model, opt_state = pcn
    assert model.predict(jnp.ones((2, 5, 8))).shape == (2, 5, 3)
    assert model.predict(jnp.ones(8)).shape == (3,)
    model.train_step(opt_state, jnp.ones((4, 8)), jnp.ones((4, 3)))


@pytest.mark.parametrize(
    ("shape", "method"),
    [((2, 16, 16), "train_step"), ((2, 8, 8, 1), "train_step"), ((16, 16, 1), "reconstruct")],
)
def test_conv_pc_names_the_image_argument(shape, method):
    from ngcx.models import ConvPC

    model = ConvPC(key=jax.random.key(0), T=2)
    args = (
        (model.init_optimizer(), jnp.ones(shape)) if method == "train_step" else (jnp.ones(shape),)
    )
    with pytest.raises(
        ValueError, match=rf"`x` of ConvPC\.{method} must have shape \(batch, 16, 16, 1\)"
    ):
        getattr(model, method)(*args)


def test_surrogate_snn_names_x_and_y():
    from ngcx.models import SurrogateSNN

    model = SurrogateSNN(8, 6, 3, key=jax.random.key(0), T=3)
    with pytest.raises(
        ValueError, match=r"`x` of SurrogateSNN must have shape \(batch, 8\), got shape \(4, 7\)"
    ):
        model(jnp.ones((4, 7)))
    with pytest.raises(ValueError, match=r"`y` of SurrogateSNN\.loss .* got shape \(4, 3\)"):
        model.loss(jnp.ones((4, 8)), jnp.zeros((4, 3), jnp.int32))


def test_diehl_cook_names_x():
    from ngcx.models import DiehlCook

    model = DiehlCook(8, 4, key=jax.random.key(0), T=3)
    opt = model.init_optimizer()
    with pytest.raises(
        ValueError,
        match=r"`x` of DiehlCook\.train_sample must have shape \(8,\), got shape \(2, 8\)",
    ):
        model.train_sample(opt, jnp.ones((2, 8)), jax.random.key(1))
    with pytest.raises(ValueError, match=r"`x` of DiehlCook\.respond must have shape \(batch, 8\)"):
        model.respond(jnp.ones((2, 5)), jax.random.key(1))


# -- the CLI: invalid values exit 2 with one line and write nothing -----------------------


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["train", "pcn", "--eta", "-1"], "--eta"),
        (["train", "pcn", "--eta", "nan"], "--eta"),
        (["train", "pcn", "--devices", "0"], "--devices"),
        (["train", "pcn", "--T", "0"], "--T"),
        (["train", "pcn", "--tau-m", "-5"], "--tau-m"),
        (["train", "pcn", "--dt", "0"], "--dt"),
        (["train", "pcn", "--batch-size", "0"], "--batch-size"),
        (["train", "pcn", "--batch-size", "100000"], "batch_size"),
        (["train", "pcn", "--act-fx", "nope"], "act_fx"),
        (["train", "conv-pc", "--gamma", "-1"], "--gamma"),
        (["train", "conv-pc", "--kernel", "0"], "--kernel"),
        (["train", "snn-stdp", "--test-fraction", "0"], "--test-fraction"),
        (["train", "snn-stdp", "--wnorm", "-5"], "--wnorm"),
        (["train", "snn-stdp", "--A-minus", "-1"], "--A-minus"),
        (["train", "snn-surrogate", "--eta", "inf"], "--eta"),
        (["train", "snn-surrogate", "--test-fraction", "1"], "--test-fraction"),
    ],
)
def test_cli_invalid_values_exit_2_with_one_line_and_no_folder(tmp_path, capsys, argv, names):
    from ngcx import cli

    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--out", str(out), "--no-plots", "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ngcx: error: ") and "\n" not in err and names in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_unwritable_out_fails_before_training(tmp_path, capsys):
    from ngcx import cli

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "pcn", "--out", str(blocker / "run"), "--no-plots"])
    assert exc.value.code == 2
    assert "`out`" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "pcn", "--out", str(blocker), "--no-plots"])
    assert "not a folder" in capsys.readouterr().err


def test_cli_non_finite_training_exits_3_naming_epoch_and_batch(tmp_path, capsys):
    from ngcx import cli

    out = tmp_path / "run"
    code = cli.main(
        ["train", "pcn", "--eta", "1e9", "--optim-type", "sgd", "--epochs", "1", "--hidden", "8", "--T", "2",
         "--out", str(out), "--no-plots", "--no-progress"]
    )  # fmt: skip
    assert code == 3
    err = capsys.readouterr().err
    assert "energy became non-finite at epoch 1, batch" in err
    assert not (out / "metrics.json").exists()  # no Infinity written as a result


def test_run_checks_name_the_bad_parameter():
    from ngcx._runs import NonFiniteError, check_finite_epoch

    params = {"W": jnp.ones(3), "b": jnp.array([0.0, jnp.inf])}
    with pytest.raises(NonFiniteError, match=r"parameter \['b'\] became non-finite during epoch 2"):
        check_finite_epoch("loss", [jnp.float32(1.0)], params, 1, where="m")
    with pytest.raises(NonFiniteError, match=r"loss became non-finite at epoch 1, batch 3"):
        check_finite_epoch("loss", [1.0, 2.0, float("nan")], {}, 0, where="m")
    check_finite_epoch("loss", [1.0], {"W": jnp.ones(2)}, 0, where="m")


def test_training_api_leaves_no_folder_for_an_invalid_model_argument(tmp_path):
    from ngcx.training import PCNConfig, PCNTask, fit

    out = tmp_path / "run"
    with pytest.raises(ValueError, match="act_fx"):
        fit(PCNTask(), PCNConfig(act_fx="nope", out=str(out), epochs=1), progress=False)
    with pytest.raises(ValueError, match="hidden"):
        fit(PCNTask(), PCNConfig(hidden=(0,), out=str(out), epochs=1), progress=False)
    assert not out.exists()
