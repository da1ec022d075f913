import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st
from jaxtyping import TypeCheckError

from ngcx import surrogates as S


# Every surrogate with non-default parameters too, and where its derivative has kinks.
CASES = {
    "straight_through": ({}, []),
    "triangular": ({"width": 0.7}, [-0.7, 0.0, 0.7]),
    "triangular_explicit": ({"height": 2.0, "width": 0.5}, [-0.5, 0.0, 0.5]),
    "boxcar": ({"width": 0.8}, [-0.4, 0.4]),
    "arctan": ({"alpha": 3.0}, []),
    "secant_lif": ({"c1": 0.82, "c2": 0.5, "omit_scale": False}, [0.0]),
    "fast_sigmoid": ({"slope": 5.0}, [0.0]),
    "sigmoid": ({"slope": 4.0}, []),
    "tanh": ({"slope": 2.0}, []),
    "gaussian": ({"sigma": 0.4}, []),
    "piecewise_linear": ({"width": 0.6, "leak": 0.05}, [-0.6, 0.6]),
    "exponential": ({"beta": 3.0}, [0.0]),
}


def test_at_least_eleven_distinct_surrogates():
    assert len(set(S.SURROGATES.values())) >= 11
    assert set(CASES) <= set(S.SURROGATES)


def _grid(thr):
    return jnp.linspace(-2.0, 2.0, 81, dtype=jnp.float32) + thr


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("thr", [0.0, 0.3])
def test_spike_is_the_strict_step(name, thr):
    surr = S.get_surrogate(name, **CASES[name][0])
    v = _grid(thr)
    np.testing.assert_array_equal(surr(v, thr), (np.asarray(v) > thr).astype(np.float32))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("thr", [0.0, 0.3])
def test_grad_through_spike_equals_stated_derivative_under_jit_and_vmap(name, thr):
    params, _ = CASES[name]
    surr = S.get_surrogate(name, **params)
    v = _grid(thr)
    stated = surr.derivative(v - thr)
    grad = jax.jit(jax.vmap(jax.grad(lambda u: surr(u, thr))))(v)
    np.testing.assert_allclose(grad, stated, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(surr.d_spike_fx(v, thr), stated, rtol=1e-6, atol=1e-7)
    # with respect to the threshold the tangent is the negative surrogate
    g_thr = jax.vmap(jax.grad(lambda t, u: surr(u, t)), in_axes=(None, 0))(jnp.float32(thr), v)
    np.testing.assert_allclose(g_thr, -stated, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_carried_derivative_is_the_derivative_of_surr_fx(name):
    params, kinks = CASES[name]
    surr = S.get_surrogate(name, **params)
    x = np.linspace(-2.0, 2.0, 401)
    ok = np.ones_like(x, dtype=bool)
    for k in kinks:
        ok &= np.abs(x - k) > 1e-2
    xs = jnp.asarray(x[ok], dtype=jnp.float32)
    eps = 1e-3
    fd = (
        np.asarray(surr.surr_fx(xs + eps), np.float64)
        - np.asarray(surr.surr_fx(xs - eps), np.float64)
    ) / (2 * eps)
    np.testing.assert_allclose(surr.d_spike_fx(xs), fd, rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", sorted(CASES))
def test_autodiff_of_relaxation_equals_carried_derivative(name):
    params, kinks = CASES[name]
    surr = S.get_surrogate(name, **params)
    x = np.linspace(-2.0, 2.0, 101)
    ok = np.ones_like(x, dtype=bool)
    for k in kinks:
        ok &= np.abs(x - k) > 1e-3
    xs = jnp.asarray(x[ok], dtype=jnp.float32)
    ad = jax.vmap(jax.grad(lambda u: surr.surr_fx(u)))(xs)
    np.testing.assert_allclose(ad, surr.d_spike_fx(xs), rtol=1e-5, atol=1e-6)


def test_hand_computed_values():
    x = jnp.array([-1.5, -0.5, 0.0, 0.5, 1.5])
    np.testing.assert_allclose(S.Triangular().derivative(x), [0, 0.5, 1, 0.5, 0])
    np.testing.assert_allclose(S.Boxcar().derivative(x), [0, 0, 1, 0, 0])
    a = 2.0
    np.testing.assert_allclose(
        S.ArcTan(alpha=a).derivative(x),
        (a / 2) / (1 + (math.pi * a / 2 * np.asarray(x)) ** 2),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        S.ArcTan(alpha=a, ngclearn_scaling=True).derivative(x),
        (1 / math.pi) / (1 + (math.pi * a / 2 * np.asarray(x)) ** 2),
        rtol=1e-6,
    )
    sech2 = 1 / np.cosh(0.08 * np.asarray(x)) ** 2
    np.testing.assert_allclose(S.SecantLIF().derivative(x), sech2 * (np.asarray(x) > 0), rtol=1e-6)
    np.testing.assert_allclose(
        S.SecantLIF(omit_scale=False).derivative(x),
        0.82 * 0.08 * sech2 * (np.asarray(x) > 0),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        S.FastSigmoid(slope=1.0).derivative(x), 1 / (1 + np.abs(np.asarray(x))) ** 2
    )
    np.testing.assert_allclose(
        S.Gaussian(sigma=1.0).derivative(x),
        np.exp(-(np.asarray(x) ** 2) / 2) / math.sqrt(2 * math.pi),
        rtol=1e-6,
    )


def test_ngclearn_builder_api_ports():
    v = jnp.linspace(-1.0, 1.0, 11)
    spike_fx, d_spike_fx = S.arctan_estimator()
    np.testing.assert_array_equal(spike_fx(v, 0.2), (np.asarray(v) > 0.2).astype(np.float32))
    spike_fx, surr_fx, d_spike_fx = S.arctan_estimator(get_surr_fx=True)
    # ngc-learn's surr_fx takes (v, alpha): same relaxation here
    np.testing.assert_allclose(
        surr_fx(v, 2.0), np.arctan(np.asarray(v) * math.pi) / math.pi, rtol=1e-6
    )
    # d_spike_fx is exactly the tangent spike_fx carries
    grad = jax.vmap(jax.grad(lambda u: spike_fx(u, 0.2)))(v)
    np.testing.assert_allclose(d_spike_fx(v, 0.2), grad, rtol=1e-7)
    np.testing.assert_allclose(
        d_spike_fx(v, 0.0, alpha=4.0), S.ArcTan(alpha=4.0).derivative(v), rtol=1e-6
    )

    spike_fx, surr_fx, d_spike_fx = S.secant_lif_estimator(get_surr_fx=True)
    j = jnp.linspace(-5.0, 50.0, 12)
    np.testing.assert_allclose(
        surr_fx(j), np.maximum(0, 0.82 * np.tanh(0.08 * np.asarray(j))), rtol=1e-6
    )
    np.testing.assert_allclose(d_spike_fx(j), S.SecantLIF(omit_scale=True).derivative(j), rtol=1e-6)
    np.testing.assert_allclose(
        d_spike_fx(j, 0.0, omit_scale=False), jax.vmap(jax.grad(surr_fx))(j), rtol=1e-5, atol=1e-7
    )

    spike_fx, surr_fx, d_spike_fx = S.straight_through_estimator(get_surr_fx=True)
    np.testing.assert_array_equal(d_spike_fx(v, 0.3), np.ones(11))
    np.testing.assert_allclose(surr_fx(v, 0.3), np.asarray(v) - 0.3, rtol=1e-6)

    spike_fx, d_spike_fx = S.triangular_estimator()
    np.testing.assert_allclose(
        d_spike_fx(v, 0.0), np.maximum(0, 1 - np.abs(np.asarray(v))), rtol=1e-6
    )

    spike_fx, surr_fx, d_spike_fx = S.estimator("gaussian", get_surr_fx=True, sigma=0.3)
    np.testing.assert_allclose(d_spike_fx(v, 0.1), S.Gaussian(0.3).derivative(v - 0.1), rtol=1e-6)


def test_bad_configuration_raises_named_errors():
    with pytest.raises(ValueError, match="width"):
        S.Triangular(width=0.0)
    with pytest.raises(ValueError, match="alpha"):
        S.ArcTan(alpha=-1.0)
    with pytest.raises(ValueError, match="name"):
        S.get_surrogate("nope")
    with pytest.raises(ValueError, match="bad parameters"):
        S.get_surrogate("arctan", beta=1.0)
    with pytest.raises((ValueError, TypeCheckError), match="'v'|`v`"):
        S.ArcTan()(jnp.arange(3), 0.0)


def test_per_neuron_threshold_broadcasts_and_vmaps_over_parameters():
    v = jnp.ones((4, 3)) * 0.5
    thr = jnp.array([0.0, 0.5, 1.0])
    out = S.ArcTan()(v, thr)
    np.testing.assert_array_equal(out, np.tile([1.0, 0.0, 0.0], (4, 1)))
    alphas = jnp.array([1.0, 2.0, 4.0])
    d = jax.vmap(lambda a: S.ArcTan(alpha=a).d_spike_fx(jnp.zeros(2)))(alphas)
    np.testing.assert_allclose(d[:, 0], alphas / 2)


@given(
    st.sampled_from(sorted(CASES)),
    st.lists(st.floats(-3, 3, width=32), min_size=1, max_size=12),
    st.floats(-1, 1, width=32),
)
def test_property_grad_equals_surrogate_derivative(name, values, thr):
    surr = S.get_surrogate(name, **CASES[name][0])
    v = jnp.asarray(values, dtype=jnp.float32)
    grad = jax.grad(lambda u: jnp.sum(surr(u, thr)))(v)
    np.testing.assert_allclose(grad, surr.derivative(v - jnp.float32(thr)), rtol=1e-6, atol=1e-7)
