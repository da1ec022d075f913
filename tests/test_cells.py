import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st
from jaxtyping import TypeCheckError

from ngcx import activations
from ngcx.cells import (
    BernoulliErrorCell,
    GaussianErrorCell,
    LaplacianErrorCell,
    RateCell,
)


def _gaussian_loglik(mu, target, Sigma, kind):
    """Independent log-likelihood (no constant) written from the definition."""
    e = target - mu
    if kind == "scalar":
        return -0.5 * (jnp.sum(e**2) / Sigma + e.size * jnp.log(Sigma))
    if kind == "diagonal":
        B = e.shape[0]
        return -0.5 * (jnp.sum(e**2 / Sigma[None, :]) + B * jnp.sum(jnp.log(Sigma)))
    B = e.shape[0]
    prec = jnp.linalg.inv(Sigma)
    quad = jnp.einsum("bi,ij,bj->", e, prec, e)
    return -0.5 * (quad + B * jnp.linalg.slogdet(Sigma)[1])


def _random_case(key, B=5, n=4):
    k1, k2, k3 = jax.random.split(key, 3)
    mu = jax.random.normal(k1, (B, n))
    target = jax.random.normal(k2, (B, n))
    A = jax.random.normal(k3, (n, n)) * 0.3
    tril = jnp.tril(A) + jnp.diag(jnp.abs(jnp.diag(A)) + 0.8)
    return mu, target, tril


@pytest.mark.parametrize("kind", ["scalar", "diagonal", "full"])
def test_gaussian_cell_matches_grad_of_log_likelihood(kind, getkey):
    mu, target, tril = _random_case(getkey())
    if kind == "scalar":
        cell = GaussianErrorCell(4, sigma=1.7)
    elif kind == "diagonal":
        cell = GaussianErrorCell(4, sigma=jnp.array([0.5, 1.0, 1.5, 2.0]))
    else:
        cell = GaussianErrorCell(4, scale_tril=tril)
    Sigma = cell.Sigma
    out = cell(mu, target)
    ref = _gaussian_loglik(mu, target, Sigma, kind)
    np.testing.assert_allclose(out.L, ref, rtol=1e-5)
    g_mu, g_t, g_S = jax.grad(_gaussian_loglik, argnums=(0, 1, 2))(mu, target, Sigma, kind)
    np.testing.assert_allclose(out.dmu, g_mu, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.dtarget, g_t, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.dSigma, g_S, rtol=1e-4, atol=1e-5)
    # and against autodiff of the cell's own L
    g_cell = jax.grad(lambda m: cell(m, target).L)(mu)
    np.testing.assert_allclose(out.dmu, g_cell, rtol=1e-4, atol=1e-5)


def test_gaussian_cell_sigma_one_equals_ngclearn(getkey):
    mu, target, _ = _random_case(getkey())
    out = GaussianErrorCell(4)(mu, target)
    e = np.asarray(target - mu)
    np.testing.assert_allclose(out.L, -0.5 * np.sum(e**2), rtol=1e-6)  # ngc-learn: -sum(e^2)/2
    np.testing.assert_allclose(out.dmu, e, rtol=1e-6)
    np.testing.assert_allclose(out.dtarget, -e, rtol=1e-6)


def test_gaussian_cell_variance_is_learnable_by_gradient_ascent(getkey):
    target = 3.0 * jax.random.normal(getkey(), (512, 2))
    cell = GaussianErrorCell(2, sigma=jnp.array([1.0, 1.0]))
    mu = jnp.zeros_like(target)
    log_sigma = jnp.log(cell.sigma)
    for _ in range(300):
        g = jax.grad(lambda ls: GaussianErrorCell(2, sigma=jnp.exp(ls))(mu, target).L)(log_sigma)
        log_sigma = log_sigma + 1e-3 * g
    np.testing.assert_allclose(jnp.exp(log_sigma), np.std(np.asarray(target), axis=0), rtol=0.05)
    # the stationary point of dSigma is the empirical variance
    var = jnp.mean(target**2, axis=0)
    out = GaussianErrorCell(2, sigma=jnp.sqrt(var))(mu, target)
    np.testing.assert_allclose(out.dSigma, 0.0, atol=1e-3)


def test_gaussian_cell_modulator_mask_and_constant(getkey):
    mu, target, _ = _random_case(getkey())
    mask = jnp.array([1.0, 0.0, 1.0, 0.0])
    mod = 0.5 * jnp.ones((5, 4))
    out = GaussianErrorCell(4)(mu, target, modulator=mod, mask=jnp.broadcast_to(mask, (5, 4)))
    e = np.asarray(target - mu)
    np.testing.assert_allclose(out.dmu, 0.5 * e * np.asarray(mask)[None], rtol=1e-6)
    np.testing.assert_allclose(out.dtarget, -0.5 * e * np.asarray(mask)[None], rtol=1e-6)
    # the mask is an input of one call only: the next call without it is unmasked
    np.testing.assert_allclose(GaussianErrorCell(4)(mu, target).dmu, e, rtol=1e-6)
    with_c = GaussianErrorCell(4, include_constant=True)(mu, target).L
    np.testing.assert_allclose(
        with_c, -0.5 * np.sum(e**2) - 0.5 * 20 * math.log(2 * math.pi), rtol=1e-6
    )


def test_gaussian_cell_errors():
    with pytest.raises(ValueError, match="sigma"):
        GaussianErrorCell(3, sigma=-1.0)
    with pytest.raises(ValueError, match="sigma"):
        GaussianErrorCell(3, sigma=jnp.ones(4))
    with pytest.raises(ValueError, match="scale_tril"):
        GaussianErrorCell(3, scale_tril=jnp.eye(2))
    with pytest.raises((ValueError, TypeCheckError), match="target"):
        GaussianErrorCell(3)(jnp.ones((2, 3)), jnp.ones((2, 4)))
    with pytest.raises(ValueError, match="mask"):
        GaussianErrorCell(3)(jnp.ones((2, 3)), jnp.ones((2, 3)), mask=jnp.ones(4))


def test_gaussian_cell_vmap_jit_grad_on_conv_maps(getkey):
    cell = GaussianErrorCell(8, sigma=0.5)
    mu = jax.random.normal(getkey(), (2, 6, 6, 8))
    target = jnp.zeros((2, 6, 6, 8))
    full = cell(mu, target)
    per_sample = jax.vmap(lambda m, t: cell(m, t))(mu, target)
    np.testing.assert_allclose(jnp.sum(per_sample.L), full.L, rtol=1e-5)
    np.testing.assert_allclose(per_sample.dmu, full.dmu, rtol=1e-6)
    jitted = jax.jit(lambda c, m, t: c(m, t))(cell, mu, target)
    np.testing.assert_allclose(jitted.L, full.L, rtol=1e-6)
    g_sigma = jax.grad(lambda c: c(mu, target).L)(cell).sigma
    np.testing.assert_allclose(
        g_sigma, full.dSigma * 2 * 0.5, rtol=1e-4
    )  # dL/dsigma = dL/dvar * 2 sigma


def test_laplacian_cell_against_autodiff(getkey):
    mu, target, _ = _random_case(getkey())
    for scale in (0.7, jnp.array([0.5, 1.0, 2.0, 3.0])):
        cell = LaplacianErrorCell(4, scale=scale)
        out = cell(mu, target)
        b = jnp.broadcast_to(jnp.asarray(scale), mu.shape)
        ref = -jnp.sum(jnp.abs(target - mu) / b + jnp.log(2 * b))
        np.testing.assert_allclose(out.L, ref, rtol=1e-6)
        np.testing.assert_allclose(out.dmu, jax.grad(lambda m: cell(m, target).L)(mu), rtol=1e-6)
        np.testing.assert_allclose(
            out.dSigma, jax.grad(lambda c: c(mu, target).L)(cell).scale, rtol=1e-5
        )


def test_bernoulli_cell_against_autodiff(getkey):
    p = jax.random.uniform(getkey(), (3, 5), minval=0.05, maxval=0.95)
    t = (jax.random.uniform(getkey(), (3, 5)) > 0.5).astype(jnp.float32)
    cell = BernoulliErrorCell(5)
    out = cell(p, t)
    np.testing.assert_allclose(
        out.L, np.sum(np.asarray(t) * np.log(p) + (1 - np.asarray(t)) * np.log(1 - p)), rtol=1e-5
    )
    np.testing.assert_allclose(out.dmu, jax.grad(lambda m: cell(m, t).L)(p), rtol=1e-4)
    np.testing.assert_allclose(out.dtarget, jax.grad(lambda tt: cell(p, tt).L)(t), rtol=1e-4)


def test_rate_cell_euler_step_by_hand():
    cell = RateCell(3, tau_m=10.0, act_fx="tanh", prior=("gaussian", 0.5))
    z = jnp.array([[0.5, -1.0, 2.0]])
    j = jnp.array([[1.0, 2.0, -1.0]])
    j_td = jnp.array([[0.1, 0.0, 0.3]])
    new = cell(cell.with_z(z), j, j_td, dt=2.0)
    zn, jn, jtdn = (np.asarray(a, np.float64) for a in (z, j, j_td))
    dz = (-0.5 * zn + (1 - np.tanh(zn) ** 2) * jn + jtdn) / 10.0
    np.testing.assert_allclose(new.z, zn + 2.0 * dz, rtol=1e-5)
    np.testing.assert_allclose(new.zF, np.tanh(zn + 2.0 * dz), rtol=1e-5)


def test_rate_cell_midpoint_priors_thresholds_and_stateless():
    z = jnp.array([0.4, -0.8])
    j = jnp.array([1.0, 1.0])
    for prior, grad in (
        ("laplacian", np.sign),
        ("cauchy", lambda u: 2 * u / (1 + u**2)),
        ("exp", lambda u: 2 * u * np.exp(-(u**2))),
    ):
        cell = RateCell(2, tau_m=5.0, prior=(prior, 1.0), integration_type="midpoint")
        f = lambda u: (-grad(u) + np.asarray(j)) / 5.0
        zn = np.asarray(z, np.float64)
        zh = zn + 0.5 * f(zn)
        np.testing.assert_allclose(cell(cell.with_z(z), j, dt=1.0).z, zn + f(zh), rtol=1e-5)
    soft = RateCell(2, tau_m=1.0, threshold=("soft_threshold", 0.5))
    out = soft(soft.with_z(jnp.zeros(2)), jnp.array([0.2, 1.0]), dt=1.0).z
    np.testing.assert_allclose(out, [0.0, 0.5], atol=1e-7)
    stateless = RateCell(2, tau_m=0.0, resist_scale=2.0, act_fx="tanh")
    out = stateless(stateless.init_state(), jnp.array([1.0, 2.0]), jnp.array([0.5, 0.5])).z
    np.testing.assert_allclose(out, [1.5, 2.5])  # ngc-learn's stateless mode: z = j + j_td


def test_rate_cell_holds_modulated_input_fixed_over_the_step_for_every_integrator():
    z = jnp.array([0.3, -0.6])
    j = jnp.array([1.0, -0.5])
    jtd = jnp.array([0.2, 0.1])
    zn = np.asarray(z, np.float64)
    jm = (1 - np.tanh(zn) ** 2) * np.asarray(j)
    f = lambda u: (-0.4 * u + jm + np.asarray(jtd)) / 5.0
    h = 2.0
    k1 = f(zn)
    expected = {
        "euler": zn + h * k1,
        "midpoint": zn + h * f(zn + h / 2 * k1),
        "heun": zn + h / 2 * (k1 + f(zn + h * k1)),
        "ralston": zn + h * (k1 / 4 + 3 / 4 * f(zn + 2 / 3 * h * k1)),
    }
    k2 = f(zn + h / 2 * k1)
    k3 = f(zn + h / 2 * k2)
    k4 = f(zn + h * k3)
    expected["rk4"] = zn + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    for name, want in expected.items():
        cell = RateCell(2, tau_m=5.0, act_fx="tanh", prior=("gaussian", 0.4), integration_type=name)
        np.testing.assert_allclose(
            cell(cell.with_z(z), j, jtd, dt=h).z, want, rtol=1e-5, err_msg=name
        )


def test_rate_cell_errors():
    with pytest.raises(ValueError, match="prior"):
        RateCell(3, prior=("student", 1.0))
    with pytest.raises(ValueError, match="integration_type"):
        RateCell(3, integration_type="rk5")
    with pytest.raises(ValueError, match="fun_name"):
        RateCell(3, act_fx="nope")
    with pytest.raises(ValueError, match="n_units"):
        RateCell(0)


def test_rate_cell_scan_vmap_jit_grad(getkey):
    cell = RateCell(4, tau_m=5.0, act_fx="relu")
    currents = jax.random.normal(getkey(), (20, 3, 4))

    def run(cell, currents):
        def step(state, j):
            new = cell(state, j, dt=1.0)
            return new, new.z

        return jax.lax.scan(step, cell.init_state(currents.shape[1:-1]), currents)

    final, zs = jax.jit(run)(cell, currents)
    per_sample = jax.vmap(lambda c: run(cell, c)[0].z, in_axes=1)(currents)
    np.testing.assert_allclose(per_sample, final.z, rtol=1e-6)
    # a linear integrator: z_T = sum_t dt/tau * j_t (relu' multiplies by 1 where z >= 0 only)
    g = jax.grad(lambda c: jnp.sum(run(cell, c)[0].z))(currents)
    assert g.shape == currents.shape and np.all(np.isfinite(g))
    lin = RateCell(4, tau_m=5.0)
    np.testing.assert_allclose(run(lin, currents)[0].z, currents.sum(0) / 5.0, rtol=1e-5, atol=1e-6)


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.5, 50))
def test_rate_cell_identity_euler_property(z0, j, tau):
    cell = RateCell(1, tau_m=tau)
    new = cell(cell.with_z(jnp.array([z0], jnp.float32)), jnp.array([j], jnp.float32), dt=1.0)
    np.testing.assert_allclose(new.z, [z0 + j / tau], rtol=1e-5, atol=1e-5)


def test_rate_cell_uses_activation_registry():
    cell = RateCell(2, act_fx="sigmoid")
    np.testing.assert_allclose(cell.with_z(jnp.zeros(2)).zF, activations.sigmoid(jnp.zeros(2)))
