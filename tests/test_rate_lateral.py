"""RateCell's lateral competition: dynamics, learning of the lateral weights, transforms."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ngcx.cells import RateCell


def _dense(wl):
    n_patch, d, _ = wl.shape
    out = np.zeros((n_patch * d, n_patch * d), np.float32)
    for p in range(n_patch):
        out[p * d : (p + 1) * d, p * d : (p + 1) * d] = np.asarray(wl[p])
    return out


def _lateral(**kw):
    base = dict(tau_m=20.0, act_fx="relu", use_lateral=True, exc_inh=(0.5, -0.3), n_patch=2)
    base.update(kw)
    return RateCell(6, **base)


def _state(cell, key, batch=3):
    z = jax.random.uniform(key, (batch, cell.n_units), minval=-0.5, maxval=1.5)
    return cell.with_z(z)


def test_default_cell_has_no_lateral_leaves():
    cell = RateCell(4, tau_m=10.0)
    assert cell.Wl is None and cell.Wl_eta is None and not cell.use_lateral
    assert len(jax.tree_util.tree_leaves(cell)) == 5
    with pytest.raises(ValueError, match="use_lateral"):
        _ = cell.lateral_weights


def test_zero_lateral_weights_are_the_default_cell_bit_for_bit(getkey):
    plain = RateCell(6, tau_m=20.0, act_fx="tanh", prior=("laplacian", 0.1))
    lat = RateCell(6, tau_m=20.0, act_fx="tanh", prior=("laplacian", 0.1), use_lateral=True)
    s = _state(plain, getkey())
    j = jax.random.normal(getkey(), (3, 6))
    np.testing.assert_array_equal(plain(s, j, dt=1.0).z, lat(s, j, dt=1.0).z)


def test_block_diagonal_initialisation():
    cell = _lateral(n_patch=3)
    w = np.asarray(cell.lateral_weights)
    assert cell.Wl.shape == (3, 2, 2)
    expected = np.kron(np.eye(3), np.array([[0.5, -0.3], [-0.3, 0.5]]))
    np.testing.assert_allclose(w, expected)


@pytest.mark.parametrize("fx_lat", [None, "tanh"])
def test_one_step_by_hand(getkey, fx_lat):
    cell = _lateral(fx_lat=fx_lat, resist_scale=0.7, output_scale=1.3, prior=("gaussian", 0.2))
    s = _state(cell, getkey())
    j = np.asarray(jax.random.normal(getkey(), (3, 6)))
    jtd = np.asarray(jax.random.normal(getkey(), (3, 6)))
    z = np.asarray(s.z)
    dfx = (z >= 0).astype(np.float32)
    if fx_lat == "tanh":
        zlat, dlat = 1.3 * np.tanh(z), 1.0 - np.tanh(z) ** 2
    else:
        zlat, dlat = 1.3 * np.maximum(z, 0.0), dfx
    j_lat = zlat @ _dense(cell.Wl)
    expected = z + (1.0 / 20.0) * (0.7 * (dfx * j + dlat * j_lat) + jtd - 0.2 * z)
    got = cell(s, j, jtd, dt=1.0)
    np.testing.assert_allclose(got.z, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cell.lateral_current(s), j_lat, rtol=1e-5, atol=1e-6)


def test_stateless_mode_ignores_lateral(getkey):
    cell = RateCell(6, tau_m=0.0, use_lateral=True, exc_inh=(1.0, -1.0))
    s = cell.init_state((2,))
    j = jax.random.normal(getkey(), (2, 6))
    np.testing.assert_allclose(cell(s, j, dt=1.0).z, j)


@pytest.mark.parametrize("prior", [("l2", 0.3), ("lasso", 0.3), ("elastic_net", (0.3, 0.25))])
def test_lateral_updates_by_hand(getkey, prior):
    cell = _lateral(adaptive_lateral=True, Wl_eta=0.1, Wl_prior=prior, Wl_bound=1.0)
    s = _state(cell, getkey())
    x = np.asarray(cell.lateral_output(s))
    w = np.asarray(cell.Wl)
    dW = np.zeros_like(w)
    for p in range(2):
        xp = x[:, 3 * p : 3 * p + 3]
        dW[p] = -(xp.T @ xp) * (1.0 - np.abs(w[p]))
    name, lam = prior
    if name == "l2":
        dW -= lam * w
    elif name == "lasso":
        dW -= lam * np.sign(w)
    elif name == "elastic_net":
        lam, r = lam
        # the gradient of lam * (r |W| + (1 - r) / 4 W^2) (ngc-learn's and add_prior's form)
        penalty = lambda W: lam * (r * jnp.sum(jnp.abs(W)) + (1 - r) / 4 * jnp.sum(W**2))
        dW -= np.asarray(jax.grad(penalty)(jnp.asarray(w)))
    upd = cell.lateral_updates(s)
    np.testing.assert_allclose(upd.Wl, dW, rtol=1e-5, atol=1e-6)
    assert float(jnp.abs(upd.tau_m)) == 0.0


def test_evolve_sgd_step_and_clip(getkey):
    cell = _lateral(adaptive_lateral=True, Wl_eta=0.5, exc_inh=(0.9, -0.9), Wl_bound=1.0)
    s = cell.with_z(3.0 * jnp.ones((2, 6)))
    dW = cell.lateral_updates(s).Wl
    new, _ = cell.evolve(s)
    np.testing.assert_allclose(new.Wl, jnp.clip(cell.Wl + 0.5 * dW, -1.0, 1.0), atol=1e-6)
    assert float(jnp.max(jnp.abs(new.Wl))) <= 1.0
    # everything else is untouched
    np.testing.assert_array_equal(new.tau_m, cell.tau_m)
    # the same through an explicit optax loop
    opt = cell.lateral_optimizer()
    params = eqx.filter(cell, eqx.is_array)
    upd, _ = opt.update(cell.lateral_updates(s), opt.init(params), params)
    np.testing.assert_allclose(eqx.apply_updates(cell, upd).Wl, new.Wl, atol=1e-7)


def test_unbounded_learning_without_wl_bound(getkey):
    cell = _lateral(adaptive_lateral=True, Wl_eta=0.1, Wl_bound=0.0)
    s = cell.with_z(2.0 * jnp.ones((2, 6)))
    new, _ = cell.evolve(s)
    np.testing.assert_allclose(new.Wl, cell.Wl + 0.1 * (-8.0), atol=1e-6)


def test_anti_hebbian_learning_decorrelates(getkey):
    """Co-active units grow mutual inhibition; units never co-active keep their weight."""
    cell = _lateral(n_patch=1, adaptive_lateral=True, Wl_eta=0.05, exc_inh=(0.1, -0.1))
    opt_state = None
    for _ in range(20):
        amp = jax.random.uniform(getkey(), (4, 1), minval=0.5, maxval=1.5)
        z = jnp.concatenate([amp, amp, jnp.zeros((4, 4))], axis=-1)  # units 0, 1 co-active
        cell, opt_state = cell.evolve(cell.with_z(z), opt_state)
    w = np.asarray(cell.Wl[0])
    assert w[0, 1] < -0.5 and w[1, 0] < -0.5  # strong mutual inhibition
    np.testing.assert_allclose(w[2, 3], -0.1)  # silent pair unchanged
    assert np.all(np.abs(w) <= 1.0)


def test_adam_optimizer_runs_and_keeps_other_leaves(getkey):
    cell = _lateral(adaptive_lateral=True, Wl_eta=0.01, Wl_opt_type="adam")
    s = _state(cell, getkey())
    new, opt_state = cell.evolve(s)
    new, opt_state = new.evolve(s, opt_state)
    assert not np.allclose(new.Wl, cell.Wl)
    np.testing.assert_array_equal(new.prior_gamma, cell.prior_gamma)


def test_jit_vmap_batch_and_parameter(getkey):
    cell = _lateral()
    s = _state(cell, getkey(), batch=4)
    j = jax.random.normal(getkey(), (4, 6))
    step = eqx.filter_jit(lambda c, st, jj: c(st, jj, dt=1.0).z)
    batched = step(cell, s, j)
    one = jax.vmap(lambda z, jj: cell(cell.with_z(z), jj, dt=1.0).z)(s.z, j)
    np.testing.assert_allclose(batched, one, rtol=1e-6, atol=1e-7)

    excs = jnp.array([0.1, 0.5, 1.0])

    def run(exc):
        c = _lateral(exc_inh=(exc, -0.2), adaptive_lateral=True, Wl_eta=0.1)
        new, _ = c.evolve(c(s, j, dt=1.0))
        return new.Wl

    swept = jax.jit(jax.vmap(run))(excs)
    for i, e in enumerate(excs):
        np.testing.assert_allclose(swept[i], run(float(e)), rtol=1e-5, atol=1e-6)


def test_grad_through_lateral_weights_matches_finite_differences(getkey):
    cell = _lateral(act_fx="tanh")
    s = _state(cell, getkey())
    j = jax.random.normal(getkey(), (3, 6))

    def loss(wl):
        c = eqx.tree_at(lambda c: c.Wl, cell, wl)
        st = s
        for _ in range(3):
            st = c(st, j, dt=1.0)
        return jnp.sum(st.z**2)

    g = jax.grad(loss)(cell.Wl)
    e = jnp.zeros_like(cell.Wl).at[1, 0, 2].set(1e-2)
    fd = (loss(cell.Wl + e) - loss(cell.Wl - e)) / 2e-2
    np.testing.assert_allclose(g[1, 0, 2], fd, rtol=2e-2, atol=1e-5)
    assert float(jnp.abs(g[1, 0, 2])) > 0


def test_bad_configuration():
    with pytest.raises(ValueError, match="n_patch"):
        RateCell(6, use_lateral=True, n_patch=4)
    with pytest.raises(ValueError, match="n_patch"):
        RateCell(6, use_lateral=True, n_patch=0)
    with pytest.raises(ValueError, match="Wl_opt_type.*'rmsprop'"):
        RateCell(6, use_lateral=True, Wl_opt_type="rmsprop")
    with pytest.raises((ValueError, TypeError)):  # the test hook type-checks first
        RateCell(6, use_lateral=True, exc_inh=1.0)
    with pytest.raises(ValueError, match="Wl_prior.*'l3'"):
        RateCell(6, use_lateral=True, Wl_prior=("l3", 0.1))
    with pytest.raises(ValueError, match="Wl_eta"):
        RateCell(6, use_lateral=True, adaptive_lateral=True, Wl_eta=-1.0)
    with pytest.raises(ValueError, match="Wl_bound"):
        RateCell(6, use_lateral=True, adaptive_lateral=True, Wl_bound=-1.0)
    with pytest.raises(TypeError):
        RateCell(6, use_lateral="yes")
    with pytest.raises(ValueError, match="fx_lat|nope"):
        RateCell(6, use_lateral=True, fx_lat="nope")
    static = RateCell(6, use_lateral=True)
    with pytest.raises(ValueError, match="adaptive_lateral"):
        static.lateral_updates(static.init_state())
    with pytest.raises(ValueError, match="adaptive_lateral"):
        static.lateral_optimizer()


def test_lateral_optimizer_is_an_optax_transformation():
    cell = _lateral(adaptive_lateral=True, Wl_eta=0.1)
    assert isinstance(cell.lateral_optimizer(), optax.GradientTransformation)
