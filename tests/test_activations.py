import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st
from jaxtyping import TypeCheckError

from helpers import away_from, central_difference
from ngcx import activations as A


GRID = np.linspace(-3.0, 3.0, 61, dtype=np.float32)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


# name -> (fx with its default arguments, NumPy reference of the values, kinks)
SMOOTH = {
    "identity": (A.identity, lambda x: x, []),
    "lrelu": (A.lrelu, lambda x: np.where(x >= 0, x, 0.01 * x), [0.0]),
    "elu": (A.elu, lambda x: np.where(x >= 0, x, np.exp(x) - 1), [0.0]),
    "silu": (A.silu, lambda x: x * _sig(x), []),
    "swish_b2": (lambda x: A.swish(x, 2.0), lambda x: x * _sig(2 * x), []),
    "gelu": (A.gelu, lambda x: x * _sig(1.702 * x), []),
    "telu": (A.telu, lambda x: x * np.tanh(np.exp(x)), []),
    "softplus": (A.softplus, lambda x: np.log1p(np.exp(x)), []),
    "sigmoid": (A.sigmoid, _sig, []),
    "tanh": (A.tanh, np.tanh, []),
    "sine": (A.sine, lambda x: np.sin(30 * x), []),
    "threshold_soft": (
        lambda x: A.threshold_soft(x, 0.5),
        lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
        [-0.5, 0.5],
    ),
}


@pytest.mark.parametrize("name", sorted(SMOOTH))
def test_smooth_values_and_gradient_vs_finite_differences(name):
    fx, ref, kinks = SMOOTH[name]
    x = jnp.asarray(GRID) if name != "sine" else jnp.asarray(GRID / 30.0)
    np.testing.assert_allclose(fx(x), ref(np.asarray(x, np.float64)), rtol=1e-5, atol=1e-6)
    grad = jax.vmap(jax.grad(lambda u: fx(u)))(x)
    fd = central_difference(ref, np.asarray(x))
    ok = away_from(np.asarray(x), kinks)
    np.testing.assert_allclose(np.asarray(grad)[ok], fd[ok], rtol=1e-4, atol=1e-4)


def test_swish_derivative_is_the_true_derivative_for_beta_not_one():
    x = jnp.asarray(GRID)
    beta = 2.0
    s = _sig(beta * np.asarray(x, np.float64))
    expected = s + beta * np.asarray(x, np.float64) * s * (1 - s)
    np.testing.assert_allclose(A.d_swish(x, beta), expected, rtol=1e-5, atol=1e-6)
    # ngc-learn's formula, beta * (sig(x) + x sig(x)(1 - sig(x))), differs:
    sx = _sig(np.asarray(x, np.float64))
    ngclearn = beta * (sx + np.asarray(x) * sx * (1 - sx))
    assert np.max(np.abs(ngclearn - expected)) > 0.5


def test_gelu_derivative_matches_autodiff_of_the_approximation():
    x = jnp.asarray(GRID)
    s = _sig(1.702 * np.asarray(x, np.float64))
    expected = s + 1.702 * np.asarray(x, np.float64) * s * (1 - s)
    np.testing.assert_allclose(A.d_gelu(x), expected, rtol=1e-5, atol=1e-6)


def test_relu_family_conventions_at_kinks_match_ngclearn():
    x = jnp.array([-1.0, 0.0, 1.0, 6.0, 7.0])
    np.testing.assert_array_equal(A.relu(x), [0, 0, 1, 6, 7])
    np.testing.assert_array_equal(A.d_relu(x), [0, 1, 1, 1, 1])
    np.testing.assert_allclose(A.d_lrelu(x), [0.01, 1, 1, 1, 1], rtol=1e-6)
    np.testing.assert_array_equal(A.relu6(x), [0, 0, 1, 6, 6])
    np.testing.assert_array_equal(A.d_relu6(x), [0, 1, 1, 1, 0])
    np.testing.assert_allclose(A.d_elu(x), [math.exp(-1), 1, 1, 1, 1], rtol=1e-6)
    np.testing.assert_array_equal(jax.vmap(jax.grad(A.relu))(x), [0, 1, 1, 1, 1])


def test_clip_values_and_indicator_derivative():
    x = jnp.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(A.clip(x, -1.0, 1.0), [-1, -1, 0, 1, 1])
    np.testing.assert_array_equal(A.d_clip(x, -1.0, 1.0), [0, 1, 1, 1, 0])
    # derivative with respect to the bounds: 1 where clipped to that bound
    g_lo = jax.grad(lambda lo: A.clip(x, lo, 1.0).sum())(-1.0)
    g_hi = jax.grad(lambda hi: A.clip(x, -1.0, hi).sum())(1.0)
    assert float(g_lo) == 1.0 and float(g_hi) == 1.0


def test_heaviside_and_threshold_use_straight_through():
    x = jnp.array([-0.5, 0.0, 0.5, 1.0, 1.5])
    np.testing.assert_array_equal(A.heaviside(x), [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(A.d_heaviside(x), [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(A.threshold(x), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(A.threshold(x, 0.5), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(A.d_threshold(x), np.ones(5))
    g_thr = jax.grad(lambda t: A.threshold(x, t).sum())(1.0)
    assert float(g_thr) == -5.0


def test_inverse_functions():
    x = jnp.array([-0.5, 0.0, 0.25, 0.9])
    np.testing.assert_allclose(A.inverse_tanh(x), np.arctanh(np.asarray(x)), rtol=1e-6)
    np.testing.assert_allclose(A.tanh(A.inverse_tanh(x)), x, rtol=1e-6, atol=1e-7)
    p = jnp.array([0.01, 0.2, 0.5, 0.8, 0.99])
    pc = np.clip(np.asarray(p, np.float64), 0.03, 0.97)
    np.testing.assert_allclose(
        A.inverse_logistic(p), np.log(pc / ((1 - pc) + 1e-6)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(A.inverse_sigmoid(p), A.inverse_logistic(p))
    unclipped = A.inverse_logistic(p, clip_bound=0.0)
    np.testing.assert_allclose(
        unclipped[1:4], np.log(np.asarray(p[1:4]) / (1 - p[1:4] + 1e-6)), rtol=1e-5
    )
    # gradients vs finite differences
    inner = jnp.array([0.1, 0.3, 0.6, 0.9])
    fd = central_difference(lambda u: np.log(u / ((1 - u) + 1e-6)), np.asarray(inner), 1e-5)
    np.testing.assert_allclose(A.d_inverse_logistic(inner), fd, rtol=1e-3)
    np.testing.assert_allclose(
        A.d_inverse_tanh(x), 1 / (1 - np.asarray(x, np.float64) ** 2), rtol=1e-5
    )
    with pytest.raises(ValueError, match="clip_bound"):
        A.inverse_logistic(p, clip_bound=0.7)


def test_threshold_cauchy_values_and_finite_gradient():
    lmbda = 1.0
    x = jnp.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    xn = np.asarray(x, np.float64)
    r = np.sqrt(np.maximum(xn**2 - lmbda, 0))
    expected = 0.5 * (xn + r) * (xn >= lmbda) + 0.5 * (xn - r) * (xn <= -lmbda)
    np.testing.assert_allclose(A.threshold_cauchy(x, lmbda), expected, rtol=1e-6)
    g = jax.vmap(jax.grad(lambda u: A.threshold_cauchy(u, lmbda)))(x)
    assert np.all(np.isfinite(g))
    pts = jnp.array([-3.0, -2.0, 1.5, 2.5])
    fd = central_difference(
        lambda u: (
            0.5 * (u + np.sqrt(u**2 - 1)) * (u >= 1) + 0.5 * (u - np.sqrt(u**2 - 1)) * (u <= -1)
        ),
        np.asarray(pts),
    )
    np.testing.assert_allclose(A.d_threshold_cauchy(pts, lmbda), fd, rtol=1e-3)


def test_softmax_temperature_values_jacobian_and_errors():
    x = jnp.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    e = np.exp(np.asarray(x, np.float64) / 0.5)
    np.testing.assert_allclose(A.softmax(x, 0.5), e / e.sum(1, keepdims=True), rtol=1e-5)
    e1 = np.exp(np.asarray(x, np.float64))
    np.testing.assert_allclose(A.softmax(x), e1 / e1.sum(1, keepdims=True), rtol=1e-5)
    big = jnp.array([[1000.0, 1001.0]])
    assert np.all(np.isfinite(A.softmax(big)))
    jac = A.d_softmax(x, 0.5)
    assert jac.shape == (2, 3, 3)
    np.testing.assert_allclose(jac, A.d_softmax(x, 0.5, vmap_form=True), atol=1e-6)
    jac_ad = jax.vmap(jax.jacrev(lambda r: A.softmax(r, 0.5)))(x)
    np.testing.assert_allclose(jac, jac_ad, atol=1e-6)
    with pytest.raises(ValueError, match="tau"):
        A.softmax(x, -1.0)
    with pytest.raises(Exception, match="tau"):
        jax.jit(A.softmax)(x, jnp.asarray(-1.0))


def test_bkwta_values_gradient_and_ties():
    x = jnp.array([[0.1, 0.9, 0.5, 0.3], [4.0, 1.0, 3.0, 2.0]])
    np.testing.assert_array_equal(A.bkwta(x, 2), [[0, 1, 1, 0], [1, 0, 1, 0]])
    np.testing.assert_array_equal(A.d_bkwta(x, 2), A.bkwta(x, 2))
    ties = jnp.array([[1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(A.bkwta(ties, 1), [[1, 1, 0]])
    with pytest.raises(ValueError, match="nWTA"):
        A.bkwta(x, 5)
    with pytest.raises(ValueError, match="nWTA"):
        A.bkwta(x, 0)


GROUPS = jnp.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]])


def test_lkwta_selects_winners_per_group():
    x = jnp.array([[0.1, 0.2, 0.3, 5.0, 6.0, 7.0]])
    # Per group, the top-1 is 0.3 (group 1) and 7.0 (group 2).
    np.testing.assert_allclose(A.lkwta(x, GROUPS, 1), [[0, 0, 0.3, 0, 0, 7.0]])
    np.testing.assert_allclose(A.lkwta(x, GROUPS, 2), [[0, 0.2, 0.3, 0, 6.0, 7.0]])
    # ngc-learn's single threshold min(0.3, 7.0) = 0.3 would let 5.0 and 6.0 win too.
    np.testing.assert_array_equal(A.d_lkwta(x, GROUPS, 1), [[0, 0, 1, 0, 0, 1]])
    np.testing.assert_array_equal(A.kwta(x, GROUPS, 1), A.lkwta(x, GROUPS, 1))
    clipped = A.lkwta(x, GROUPS, 1, clipval=1.0)
    np.testing.assert_allclose(clipped, [[0, 0, 0.3, 0, 0, 1.0]])
    np.testing.assert_array_equal(A.d_lkwta(x, GROUPS, 1, clipval=1.0), [[0, 0, 1, 0, 0, 0]])
    # a single group given as a vector is a global k-WTA
    np.testing.assert_allclose(A.lkwta(x, jnp.ones(6), 2), [[0, 0, 0, 0, 6.0, 7.0]])
    grad = jax.grad(lambda u: A.lkwta(u, GROUPS, 1).sum())(x)
    np.testing.assert_array_equal(grad, [[0, 0, 1, 0, 0, 1]])


def test_lkwta_group_smaller_than_k_keeps_all_its_members_and_no_outsiders():
    m = jnp.array([[1.0, 0.0, 0.0, 0.0]])
    x = jnp.array([[-1.0, 5.0, 6.0, 7.0]])
    np.testing.assert_allclose(A.lkwta(x, m, 2), [[-1.0, 0, 0, 0]])


def test_quantile_lkwta_per_group_and_outsiders_never_win():
    x = jnp.array([[0.1, 0.2, 0.3, 5.0, 6.0, 7.0]])
    np.testing.assert_allclose(A.quantile_lkwta(x, GROUPS, 1), [[0, 0, 0.3, 0, 0, 7.0]])
    np.testing.assert_array_equal(A.d_quantile_lkwta(x, GROUPS, 1), [[0, 0, 1, 0, 0, 1]])
    one = jnp.array([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    out = A.quantile_lkwta(x, one, 4)
    np.testing.assert_allclose(out, [[0.1, 0, 0, 0, 0, 0]])


def test_kwta_bad_mask_shape_names_argument():
    x = jnp.ones((2, 6))
    with pytest.raises((ValueError, TypeCheckError), match="m"):
        A.lkwta(x, jnp.ones((2, 5)), 1)
    with pytest.raises(ValueError, match="nWTA"):
        A.lkwta(x, GROUPS, 7)


def test_create_function_registry_and_derivative_source_of_truth():
    x = jnp.asarray(GRID)
    for name in [
        "tanh",
        "sigmoid",
        "relu",
        "lrelu",
        "relu6",
        "elu",
        "silu",
        "gelu",
        "telu",
        "softplus",
        "sine",
        "identity",
        "heaviside",
        "unit_threshold",
    ]:
        fx, dfx = A.create_function(name)
        np.testing.assert_allclose(dfx(x), jax.vmap(jax.grad(fx))(x), rtol=1e-6, atol=1e-7)
    fx, dfx = A.create_function("bkwta")
    xb = jnp.array([[3.0, 1.0, 2.0, 0.0, -1.0, 4.0]])
    np.testing.assert_array_equal(dfx(xb), fx(xb))
    fx, dfx = A.create_function("softmax")
    assert dfx(jnp.ones((2, 3))).shape == (2, 3, 3)
    fx, dfx = A.create_function("swish", {"beta": 2.0})
    np.testing.assert_allclose(dfx(x), A.d_swish(x, 2.0))
    fx, _ = A.create_function("my_heaviside_variant")
    assert fx is A.heaviside
    with pytest.raises(ValueError, match="fun_name"):
        A.create_function("not_an_activation")


def test_integer_input_is_rejected_with_the_argument_name():
    with pytest.raises((ValueError, TypeCheckError), match="x"):
        A.relu(jnp.arange(3))


# jit + vmap for every registered activation (elementwise ones on a (B, D) batch)
_EXTRA_ARGS = {
    "clip": (-1.0, 1.0),
    "threshold_soft": (0.5,),
    "threshold_cauchy": (0.5,),
    "lkwta": (GROUPS, 2),
    "kwta": (GROUPS, 2),
    "quantile_lkwta": (GROUPS, 2),
    "bkwta": (2,),
}


@pytest.mark.parametrize("name", sorted(A.ACTIVATIONS))
def test_jit_and_vmap_agree_with_eager(name):
    fx = A.ACTIVATIONS[name]
    args = _EXTRA_ARGS.get(name, ())
    x = jax.random.uniform(jax.random.key(1), (4, 6), minval=-0.95, maxval=0.95)
    static = tuple(i + 1 for i, a in enumerate(args) if isinstance(a, int))
    eager = fx(x, *args)
    jitted = jax.jit(fx, static_argnums=static)(x, *args)
    mapped = jax.vmap(lambda row: fx(row, *args))(x)
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mapped, eager, rtol=1e-6, atol=1e-7)
    assert eager.shape == x.shape


@given(st.lists(st.floats(-5, 5, width=32), min_size=1, max_size=16), st.floats(0.1, 3.0))
def test_swish_derivative_property(values, beta):
    x = jnp.asarray(values, dtype=jnp.float32)
    xn = np.asarray(x, np.float64)
    s = _sig(beta * xn)
    np.testing.assert_allclose(
        A.d_swish(x, beta), s + beta * xn * s * (1 - s), rtol=1e-4, atol=1e-5
    )
