"""Bad input never passes silently (issue 13): each case asserts the exception type and
that the message names the user's argument and what was received."""

import jax
import jax.numpy as jnp
import jaxtyping
import pytest

from ngcx.models import PCN


@pytest.fixture(autouse=True)
def normal_use():
    """The checks under test are the ones users get: without the test suite's jaxtyping
    hook (which would raise its own TypeCheckError first)."""
    before = jaxtyping.config.jaxtyping_disable
    jaxtyping.config.update("jaxtyping_disable", True)
    yield
    jaxtyping.config.update("jaxtyping_disable", before)


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
