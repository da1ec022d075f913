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
    "boxcar_explicit": ({"height": 1.5, "window": 0.6}, [-0.6, 0.6]),
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
    # ngc-learn 3.2's derivative, evaluated at v - thr
    vv = np.asarray(v, np.float64)
    np.testing.assert_allclose(
        d_spike_fx(v, 0.2), (1 / math.pi) / (1 + (math.pi * (vv - 0.2)) ** 2), rtol=1e-6
    )
    # surr_fx takes (v, alpha) as in ngc-learn; it is the relaxation of that derivative
    np.testing.assert_allclose(
        surr_fx(v, 2.0), 2 / (math.pi**2 * 2.0) * np.arctan(vv * math.pi), rtol=1e-6
    )
    np.testing.assert_allclose(
        jax.vmap(jax.grad(lambda u: surr_fx(u, 3.0)))(v), d_spike_fx(v, 0.0, 3.0), rtol=1e-5
    )
    # d_spike_fx is exactly the tangent spike_fx carries
    grad = jax.vmap(jax.grad(lambda u: spike_fx(u, 0.2)))(v)
    np.testing.assert_allclose(d_spike_fx(v, 0.2), grad, rtol=1e-7)
    np.testing.assert_allclose(
        d_spike_fx(v, 0.0, alpha=4.0),
        S.ArcTan(alpha=4.0, ngclearn_scaling=True).derivative(v),
        rtol=1e-6,
    )
    # the true derivative of arctan(pi alpha x / 2) / pi stays available
    _, surr_fx, d_spike_fx = S.arctan_estimator(get_surr_fx=True, ngclearn_scaling=False)
    np.testing.assert_allclose(surr_fx(v, 2.0), np.arctan(vv * math.pi) / math.pi, rtol=1e-6)
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

    spike_fx, surr_fx, d_spike_fx = S.estimator("gaussian", get_surr_fx=True, sigma=0.3)
    np.testing.assert_allclose(d_spike_fx(v, 0.1), S.Gaussian(0.3).derivative(v - 0.1), rtol=1e-6)


# ngc-learn 3.2's derivatives, written out by hand (x = v - thr)
def _ngc_triangle(x, alpha=2.0):
    return np.maximum(0.0, 1.0 - alpha * np.abs(x))


def _ngc_explicit_triangle(x, window=5.0):
    return np.maximum(0.0, 1.0 - np.abs(x) / window)


def _ngc_boxcar(x, window=5.0):
    return (np.abs(x) <= window).astype(np.float64)


def test_triangular_estimator_is_ngclearn_32():
    v = jnp.linspace(-1.0, 1.0, 41)  # exact multiples of 0.05, through the kinks
    x = np.asarray(v, np.float64) - 0.25
    spike_fx, surr_fx, d_spike_fx = S.triangular_estimator(get_surr_fx=True)
    np.testing.assert_allclose(d_spike_fx(v, 0.25), _ngc_triangle(x), atol=1e-6)
    np.testing.assert_allclose(d_spike_fx(v, 0.25, 3.0), _ngc_triangle(x, 3.0), atol=1e-6)
    np.testing.assert_allclose(d_spike_fx(v, 0.25, alpha=0.5), _ngc_triangle(x, 0.5), atol=1e-6)
    # hand values: peak 1 at the threshold, half-width 1/alpha
    np.testing.assert_allclose(
        d_spike_fx(jnp.array([0.0, 0.25, 0.5, 1.0]), 0.0), [1.0, 0.5, 0.0, 0.0], atol=1e-7
    )
    # the carried derivative is d_spike_fx; the relaxation integrates it (0 to 1/alpha)
    grad = jax.jit(jax.vmap(jax.grad(lambda u: spike_fx(u, 0.25))))(v)
    np.testing.assert_allclose(grad, d_spike_fx(v, 0.25), atol=1e-7)
    np.testing.assert_allclose(surr_fx(jnp.array([-1.0, 0.0, 1.0])), [0.0, 0.25, 0.5], atol=1e-7)
    # configured default and unit-area option
    _, d3 = S.triangular_estimator(alpha=3.0)
    np.testing.assert_allclose(d3(v, 0.25), _ngc_triangle(x, 3.0), atol=1e-6)
    _, d_unit = S.triangular_estimator(unit_area=True)
    np.testing.assert_allclose(d_unit(v, 0.25), 2.0 * _ngc_triangle(x), atol=1e-6)
    np.testing.assert_allclose(d_unit(v, 0.25), S.Triangular(width=0.5).derivative(v - 0.25))
    # ngcx's earlier `width=` signature keeps its unit-area triangle (overridable by width)
    _, d_old = S.triangular_estimator(width=0.5)
    np.testing.assert_allclose(d_old(v, 0.0), S.Triangular(width=0.5).derivative(v))
    np.testing.assert_allclose(d_old(v, 0.0, width=2.0), S.Triangular(width=2.0).derivative(v))


def test_explicit_triangular_and_boxcar_estimators_are_ngclearn_32():
    v = jnp.arange(-8.0, 8.5, 0.5)  # exact, through the window edges
    x = np.asarray(v, np.float64) - 1.0
    _, surr_fx, d_spike_fx = S.explicit_triangular_estimator(get_surr_fx=True)
    np.testing.assert_allclose(d_spike_fx(v, 1.0), _ngc_explicit_triangle(x), atol=1e-6)
    np.testing.assert_allclose(
        d_spike_fx(v, 1.0, window=2.0), _ngc_explicit_triangle(x, 2.0), atol=1e-6
    )
    _, d_unit = S.explicit_triangular_estimator(window=2.0, unit_area=True)
    np.testing.assert_allclose(d_unit(v, 1.0), _ngc_explicit_triangle(x, 2.0) / 2.0, atol=1e-6)

    spike_fx, surr_fx, d_spike_fx = S.boxcar_estimator(get_surr_fx=True)
    np.testing.assert_array_equal(d_spike_fx(v, 1.0), _ngc_boxcar(x))  # height 1, closed
    np.testing.assert_array_equal(d_spike_fx(v, 1.0, 2.0), _ngc_boxcar(x, 2.0))
    np.testing.assert_array_equal(d_spike_fx(v, 1.0, window=2.0), _ngc_boxcar(x, 2.0))
    grad = jax.jit(jax.vmap(jax.grad(lambda u: spike_fx(u, 1.0))))(v)
    np.testing.assert_array_equal(grad, _ngc_boxcar(x))
    # relaxation: clip(x, -a, a) + a
    np.testing.assert_allclose(surr_fx(jnp.array([-9.0, 0.0, 2.0, 9.0])), [0.0, 5.0, 7.0, 10.0])
    # unit-area option: height 1 / (2 window), open window
    _, d_unit = S.boxcar_estimator(window=2.0, unit_area=True)
    inside = np.abs(x) < 2.0
    np.testing.assert_allclose(d_unit(v, 1.0), inside / 4.0)
    area = float(jnp.sum(d_unit(jnp.linspace(-3.0, 3.0, 60001), 0.0)) * 1e-4)
    assert abs(area - 1.0) < 1e-3


def test_builder_overrides_jit_and_vmap_over_a_parameter():
    v = jnp.linspace(-2.0, 2.0, 17)
    alphas = jnp.array([0.5, 1.0, 2.0, 4.0])
    _, d_tri = S.triangular_estimator()
    _, d_box = S.boxcar_estimator()
    batched = jax.jit(jax.vmap(lambda a: d_tri(v, 0.1, a)))(alphas)
    looped = np.stack([np.asarray(d_tri(v, 0.1, float(a))) for a in alphas])
    np.testing.assert_allclose(batched, looped, atol=1e-7)
    windows = jnp.array([0.5, 1.0, 3.0])
    batched = jax.jit(jax.vmap(lambda w: d_box(v, 0.0, w)))(windows)
    looped = np.stack([np.asarray(d_box(v, 0.0, float(w))) for w in windows])
    np.testing.assert_array_equal(batched, looped)
    # vmap over a batch of voltages, per-neuron thresholds broadcast
    spike_fx, d_spike_fx = S.boxcar_estimator(window=1.0)
    vb = jnp.stack([v, v + 0.5])
    thr = jnp.full((17,), 0.25)
    np.testing.assert_array_equal(
        jax.vmap(lambda u: jax.grad(lambda w: jnp.sum(spike_fx(w, thr)))(u))(vb),
        d_spike_fx(vb, thr),
    )


@pytest.mark.parametrize("omit_scale", [True, False])
def test_secant_ngclearn_sech_option(omit_scale):
    j = jnp.linspace(-20.0, 60.0, 161)
    jj = np.asarray(j, np.float64)
    scale = 1.0 if omit_scale else 0.82 * 0.5
    surr = S.SecantLIF(c2=0.5, omit_scale=omit_scale, ngclearn_sech=True)
    # ngc-learn 3.2's d_spike_fx: scale * sech(c2 j) for j > 0, by hand
    np.testing.assert_allclose(
        surr.d_spike_fx(j), scale * (jj > 0) / np.cosh(0.5 * jj), rtol=1e-5, atol=1e-7
    )
    # the relaxation's derivative is the carried one (autodiff and finite differences)
    xs = j[jnp.abs(j) > 0.2]
    ad = jax.vmap(jax.grad(lambda u: surr.surr_fx(u)))(xs)
    np.testing.assert_allclose(ad, surr.d_spike_fx(xs), rtol=1e-5, atol=1e-6)
    eps = 1e-2
    fd = (np.asarray(surr.surr_fx(xs + eps)) - np.asarray(surr.surr_fx(xs - eps))) / (2 * eps)
    np.testing.assert_allclose(fd, surr.d_spike_fx(xs), rtol=2e-3, atol=2e-4)
    # through the builder, with ngc-learn's overrides
    _, surr_fx, d_spike_fx = S.secant_lif_estimator(get_surr_fx=True, ngclearn_sech=True)
    np.testing.assert_allclose(
        d_spike_fx(j, 0.0, 0.82, 0.5, omit_scale), surr.d_spike_fx(j), rtol=1e-6
    )
    # and jit + vmap over c2 equals a loop
    c2s = jnp.array([0.1, 0.5, 1.0])
    batched = jax.jit(jax.vmap(lambda c: d_spike_fx(j, 0.0, 0.82, c)))(c2s)
    looped = np.stack([np.asarray(d_spike_fx(j, 0.0, 0.82, float(c))) for c in c2s])
    np.testing.assert_allclose(batched, looped, rtol=1e-6)


def test_builder_bad_parameters_name_the_argument():
    with pytest.raises(ValueError, match="alpha"):
        S.triangular_estimator(alpha=0.0)
    with pytest.raises(ValueError, match="alpha"):
        S.triangular_estimator(alpha=-1.0, unit_area=True)
    with pytest.raises(ValueError, match="window"):
        S.boxcar_estimator(window=-1.0)
    with pytest.raises(ValueError, match="window"):
        S.boxcar_estimator(window=0.0, unit_area=True)
    with pytest.raises(ValueError, match="window"):
        S.explicit_triangular_estimator(window=0.0)
    _, d_spike_fx = S.boxcar_estimator()
    with pytest.raises(ValueError, match="window"):
        d_spike_fx(jnp.zeros(3), 0.0, window=-2.0)
    with pytest.raises(ValueError, match="height"):
        S.BoxcarExplicit(height=0.0)


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
