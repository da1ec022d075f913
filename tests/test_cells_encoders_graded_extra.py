"""RetinalGanglionCell, PhasorCell, LeakyNoiseCell, RewardErrorCell and
BernoulliErrorCell(input_logits=True): dynamics against hand-computed steps and analytic
solutions, jit + vmap (over a batch and over a parameter), grad, and bad inputs."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.cells import (
    BernoulliErrorCell,
    LeakyNoiseCell,
    PhasorCell,
    RetinalGanglionCell,
    RewardErrorCell,
)


def _f32(x):
    return jnp.asarray(np.asarray(x, np.float32))


# --------------------------------------------------------------------------------------
# RetinalGanglionCell


def _np_gaussian(px, py, sigma):
    r = np.arange(px) - (px - 1) / 2
    c = np.arange(py) - (py - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + c[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def _np_rgc(x, field, patch, step):
    """Reference: explicit loops over the windows, cell-major flattening, centring."""
    (px, py), (sx, sy) = patch, step
    ix, iy = x.shape[-2:]
    out = []
    for i in range(0, ix - px + 1, sx):
        for j in range(0, iy - py + 1, sy):
            out.append(x[..., i : i + px, j : j + py] * field)
    o = np.stack(out, axis=-3).reshape(*x.shape[:-2], -1)
    return o - o.mean(axis=-1, keepdims=True)


@pytest.mark.parametrize("ftype", ["identity", "gaussian", "DoG", "RoG"])
def test_rgc_matches_hand_computed_windows(ftype, getkey):
    x = np.asarray(jax.random.uniform(getkey(), (2, 7, 9)), np.float64)
    patch, step, sigma, k, lmbda = (3, 4), (2, 5), 1.2, 1.6, 0.7
    g1 = _np_gaussian(*patch, sigma)
    g2 = _np_gaussian(*patch, sigma * k)
    field = {
        "identity": np.ones(patch),
        "gaussian": g1,
        "DoG": g1 - lmbda * g2,
        "RoG": g1 / (g2 + 1e-8),
    }[ftype]
    rgc = RetinalGanglionCell(ftype, (7, 9), 3 * 2, patch, step, sigma=sigma, lmbda=lmbda)
    assert rgc.n_units == 6 * 12
    np.testing.assert_allclose(rgc.filter, field, rtol=1e-5, atol=1e-7)
    out = rgc(_f32(x))
    assert out.shape == (2, 72)
    np.testing.assert_allclose(out, _np_rgc(x, field, patch, step), rtol=1e-5, atol=1e-6)


def test_rgc_filters_are_centred_and_normalised():
    even = RetinalGanglionCell("gaussian", (6, 6), 1, (6, 6), (1, 1), sigma=1.5).filter
    np.testing.assert_allclose(float(jnp.sum(even)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(even, even[::-1, ::-1], rtol=1e-6)  # centred on the patch
    dog = RetinalGanglionCell("difference_of_gaussian", (8, 8), 1, (8, 8), (1, 1), lmbda=0.5)
    np.testing.assert_allclose(float(jnp.sum(dog.filter)), 0.5, rtol=1e-5)
    # centre-surround: positive centre, negative surround
    assert dog.filter[3, 3] > 0 and dog.filter[0, 0] < 0


def test_rgc_step_zero_tiles_the_area(getkey):
    x = jax.random.uniform(getkey(), (3, 8, 12))
    rgc = RetinalGanglionCell("identity", (8, 12), 6, (4, 4), (0, 0))
    blocks = x.reshape(3, 2, 4, 3, 4).transpose(0, 1, 3, 2, 4).reshape(3, 6, 4, 4)
    np.testing.assert_array_equal(rgc.patches(x), blocks)


def test_rgc_jit_vmap_and_grad(getkey):
    x = jax.random.uniform(getkey(), (4, 6, 6))
    rgc = RetinalGanglionCell("DoG", (6, 6), 4, (3, 3), (3, 3), sigma=0.9)
    batched = eqx.filter_jit(rgc)(x)
    np.testing.assert_allclose(jax.vmap(rgc)(x), batched, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rgc(x[0]), batched[0], rtol=1e-6, atol=1e-7)

    def energy(sigma):
        cell = RetinalGanglionCell("DoG", (6, 6), 4, (3, 3), (3, 3), sigma=sigma)
        return jnp.sum(jnp.square(cell(x)))

    sigmas = jnp.array([0.6, 0.9, 1.4])
    swept = jax.jit(jax.vmap(energy))(sigmas)
    one = jax.jit(energy)
    np.testing.assert_allclose(swept, [one(s) for s in sigmas], rtol=1e-5)
    g = jax.grad(energy)(jnp.float32(0.9))
    h = 1e-2
    fd = (one(jnp.float32(0.9 + h)) - one(jnp.float32(0.9 - h))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=2e-2)


def test_rgc_bad_inputs():
    with pytest.raises(ValueError, match="filter_type"):
        RetinalGanglionCell("laplacian", (8, 8), 4, (4, 4), (4, 4))
    with pytest.raises(ValueError, match="n_cells"):
        RetinalGanglionCell("gaussian", (8, 8), 3, (4, 4), (4, 4))
    with pytest.raises(ValueError, match="patch_shape"):
        RetinalGanglionCell("gaussian", (8, 8), 1, (9, 4), (1, 1))
    with pytest.raises(ValueError, match="step_shape"):
        RetinalGanglionCell("gaussian", (8, 8), 4, (4, 4), (-1, 4))
    with pytest.raises(ValueError, match="sigma"):
        RetinalGanglionCell("gaussian", (8, 8), 4, (4, 4), (4, 4), sigma=0.0)
    rgc = RetinalGanglionCell("gaussian", (8, 8), 4, (4, 4), (4, 4))
    with pytest.raises(ValueError, match="`x`"):
        rgc(jnp.zeros((2, 8, 7)))


# --------------------------------------------------------------------------------------
# PhasorCell


def _run_phasor(cell, x, n_steps, key=None, dt=1.0, batch=()):
    keys = jax.random.split(key if key is not None else jax.random.key(0), n_steps)

    def step(state, k):
        state = cell(state, x, key=k if key is not None else None, dt=dt)
        return state, (state.s, state.angles)

    return jax.lax.scan(step, cell.init_state(batch), keys)


def test_phasor_regular_train_by_hand():
    # f = 70 Hz, dt = 1 ms, x = 1: a turn of 0.07 per step, so the phase passes a full
    # turn at steps 15 (1.05), 29 (0.05 + 14 * 0.07 = 1.03) and 43 (0.03 + 0.98 = 1.01)
    cell = PhasorCell(3, target_freq=70.0, scatter_std=0.0)
    x = jnp.array([1.0, 0.5, 0.0])
    final, (s, angles) = _run_phasor(cell, x, 50)
    np.testing.assert_array_equal(np.flatnonzero(s[:, 0]) + 1, [15, 29, 43])
    np.testing.assert_array_equal(np.flatnonzero(s[:, 1]) + 1, [29])  # half the speed
    assert float(jnp.sum(s[:, 2])) == 0.0
    np.testing.assert_allclose(angles[13, 0], 14 * 0.07 * 2 * math.pi, rtol=1e-5)
    np.testing.assert_allclose(angles[14, 0], 0.05 * 2 * math.pi, rtol=1e-3)
    np.testing.assert_allclose(final.tols[0], 42.0)  # the clock starts at 0
    np.testing.assert_allclose(final.t, 50.0)


def test_phasor_base_scale_and_jitter_give_the_target_rate(getkey):
    n, f = 400, 50.0
    cell = PhasorCell(n, target_freq=f, key=getkey())
    b = np.asarray(cell.base_scale)
    np.testing.assert_allclose(b * f, np.round(b * f), atol=1e-4)  # Poisson(f) / f
    assert abs(b.mean() - 1.0) < 4 * math.sqrt(1 / f / n)
    _, (s, _) = _run_phasor(cell, jnp.ones(n), 1000, key=getkey())
    # about x f b spikes per second, one fewer at most (the phase starts at zero)
    counts = np.asarray(jnp.sum(s, axis=0))
    expected = f * b
    assert np.all(counts <= expected + 4) and np.all(counts >= expected - 5)


def test_phasor_disable_passes_the_input_through(getkey):
    cell = PhasorCell(4, disable_phasor=True, key=getkey())
    state = cell.init_state((2,))
    spikes = jnp.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    new = cell(state, spikes, key=getkey(), dt=1.0)
    np.testing.assert_array_equal(new.s, spikes)
    assert float(jnp.max(new.angles)) > 0


def test_phasor_jit_vmap_and_grad(getkey):
    k, kx = getkey(), getkey()
    x = jax.random.uniform(kx, (3, 5))
    plain = PhasorCell(5, target_freq=90.0, scatter_std=0.0)
    (_, (s_batch, a_batch)) = eqx.filter_jit(_run_phasor)(plain, x, 40, batch=(3,))
    per_row = jax.vmap(lambda xi: _run_phasor(plain, xi, 40)[1])(x)
    np.testing.assert_allclose(per_row[1], jnp.swapaxes(a_batch, 0, 1), rtol=1e-6)

    def run(freq):
        cell = PhasorCell(5, target_freq=freq, key=jax.random.key(1))
        return _run_phasor(cell, x[0], 30, key=k)[1][1]

    freqs = jnp.array([40.0, 60.0, 90.0])
    swept = jax.jit(jax.vmap(run))(freqs)
    one = jax.jit(run)
    for i, f in enumerate(freqs):
        np.testing.assert_allclose(swept[i], one(f), rtol=1e-5, atol=1e-6)

    # before the first spike the phase is k * 2 pi f dt / 1000 * x: d/df = k 2 pi x / 1000
    def phase(freq):
        cell = PhasorCell(5, target_freq=freq, scatter_std=0.0)
        return _run_phasor(cell, x[0], 5)[0].angles

    jac = jax.jacobian(phase)(jnp.float32(20.0))
    np.testing.assert_allclose(jac, 5 * 2 * math.pi * x[0] / 1000.0, rtol=1e-5)


def test_phasor_bad_inputs(getkey):
    with pytest.raises(ValueError, match="target_freq"):
        PhasorCell(3, target_freq=0.0)
    with pytest.raises(ValueError, match="scatter_std"):
        PhasorCell(3, scatter_std=-0.1)
    with pytest.raises(ValueError, match="n_units"):
        PhasorCell(0)
    cell = PhasorCell(3)
    with pytest.raises(ValueError, match="key"):
        cell(cell.init_state(), jnp.ones(3))
    with pytest.raises(ValueError, match="`x`"):
        cell(cell.init_state(), jnp.ones(4), key=getkey())


# --------------------------------------------------------------------------------------
# LeakyNoiseCell


def test_leaky_noise_euler_maruyama_step_by_hand(getkey):
    tau, lam, s_pre, s_post, dt = 8.0, 0.9, 0.3, 0.2, 0.5
    cell = LeakyNoiseCell(4, tau, sigma_pre=s_pre, sigma_post=s_post, leak_scale=lam)
    x0 = jax.random.normal(getkey(), (2, 4))
    j, jr, e1, e2 = (jax.random.normal(getkey(), (2, 4)) for _ in range(4))
    state = eqx.tree_at(lambda s: s.x, cell.init_state((2,)), x0)
    new = cell.step(state, j, jr, e1, e2, dt=dt)
    x1 = x0 + dt / tau * (-lam * x0 + j + jr) + math.sqrt(2 * dt / tau) * s_pre * e1
    np.testing.assert_allclose(new.x, x1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new.r, jnp.maximum(x1, 0) + s_post * e2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(new.r_prime, (x1 > 0).astype(jnp.float32))
    # the key protocol: two independent samples from split(key)
    key = getkey()
    k1, k2 = jax.random.split(key)
    e1k, e2k = jax.random.normal(k1, (2, 4)), jax.random.normal(k2, (2, 4))
    drawn = cell(state, j, jr, key=key, dt=dt)
    ref = cell.step(state, j, jr, e1k, e2k, dt=dt)
    np.testing.assert_allclose(drawn.r, ref.r, rtol=1e-6)


def test_leaky_noise_midpoint_holds_the_noise_current(getkey):
    tau, dt, s_pre = 5.0, 1.0, 0.4
    cell = LeakyNoiseCell(3, tau, integration_type="midpoint", sigma_pre=s_pre, sigma_post=0.0)
    x0, j, e = (jax.random.normal(getkey(), (3,)) for _ in range(3))
    state = eqx.tree_at(lambda s: s.x, cell.init_state(), x0)
    J = j + s_pre * math.sqrt(2 * tau / dt) * e

    def f(x):
        return (-x + J) / tau

    expected = x0 + dt * f(x0 + 0.5 * dt * f(x0))
    np.testing.assert_allclose(cell.step(state, j, None, e, e, dt=dt).x, expected, rtol=1e-5)


def test_leaky_noise_deterministic_relaxation_is_exponential():
    tau, J, dt, T = 10.0, 2.0, 0.5, 40
    cell = LeakyNoiseCell(2, tau, integration_type="rk4", sigma_pre=0.0, sigma_post=0.0)

    def step(state, _):
        return cell(state, jnp.full(2, J), dt=dt), None  # no key needed: noiseless

    state, _ = jax.lax.scan(step, cell.init_state(), None, length=T)
    np.testing.assert_allclose(state.x, J * (1 - math.exp(-T * dt / tau)), rtol=1e-5)


@pytest.mark.parametrize("dt", [1.0, 0.25])
def test_leaky_noise_stationary_variance_is_sigma_squared(dt, getkey):
    # Euler-Maruyama for an OU process: Var = sigma^2 / (1 - a / 2), a = dt / tau, for
    # every dt (ngc-learn's dt-scaled noise would give a variance proportional to dt)
    tau, sigma, n = 5.0, 0.5, 4000
    cell = LeakyNoiseCell(n, tau, sigma_pre=sigma, sigma_post=0.0)
    steps = int(round(12 * tau / dt))

    def step(state, k):
        return cell(state, key=k, dt=dt), None

    state, _ = jax.lax.scan(step, cell.init_state(), jax.random.split(getkey(), steps))
    expected = sigma**2 / (1 - dt / tau / 2)
    np.testing.assert_allclose(float(jnp.var(state.x)), expected, rtol=0.08)


def test_leaky_noise_jit_vmap_and_grad(getkey):
    keys = jax.random.split(getkey(), 20)
    j = jax.random.normal(getkey(), (20, 3, 4))

    def run(tau, batch=(3,)):
        cell = LeakyNoiseCell(4, tau, sigma_pre=0.2, sigma_post=0.1)

        def step(state, inp):
            ji, k = inp
            return cell(state, ji, key=k, dt=1.0), None

        return jax.lax.scan(step, cell.init_state(batch), (j, keys))[0].x

    taus = jnp.array([4.0, 7.0, 12.0])
    swept = jax.jit(jax.vmap(run))(taus)
    one = jax.jit(run)
    for i, tau in enumerate(taus):
        np.testing.assert_allclose(swept[i], one(tau), rtol=1e-5, atol=1e-6)

    # vmap over the batch with explicit samples equals the batched step
    cell = LeakyNoiseCell(4, 6.0)
    e1, e2 = jax.random.normal(getkey(), (3, 4)), jax.random.normal(getkey(), (3, 4))
    st = cell.init_state((3,))
    batched = cell.step(st, j[0], None, e1, e2, dt=1.0)
    per_row = jax.vmap(lambda s, a, b, c: cell.step(s, a, None, b, c, dt=1.0))(st, j[0], e1, e2)
    np.testing.assert_allclose(per_row.r, batched.r, rtol=1e-6)

    def loss(tau):
        return jnp.sum(jnp.square(one(tau)))

    g = jax.grad(loss)(jnp.float32(7.0))
    h = 5e-2
    fd = (loss(jnp.float32(7.0 + h)) - loss(jnp.float32(7.0 - h))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=2e-2)


def test_leaky_noise_bad_inputs(getkey):
    with pytest.raises(ValueError, match="tau_x"):
        LeakyNoiseCell(3, 0.0)
    with pytest.raises(ValueError, match="sigma_pre"):
        LeakyNoiseCell(3, 5.0, sigma_pre=-1.0)
    with pytest.raises(ValueError, match="act_fx"):
        LeakyNoiseCell(3, 5.0, act_fx="nope")
    with pytest.raises(ValueError, match="integration_type"):
        LeakyNoiseCell(3, 5.0, integration_type="nope")
    cell = LeakyNoiseCell(3, 5.0)
    with pytest.raises(ValueError, match="key"):
        cell(cell.init_state())
    with pytest.raises(ValueError, match="j_input"):
        cell(cell.init_state(), jnp.ones(4), key=getkey())


# --------------------------------------------------------------------------------------
# RewardErrorCell


def _run_reward(cell, rewards, batch=()):
    def step(state, r):
        state = cell(state, r)
        return state, (state.rpe, state.mu)

    return jax.lax.scan(step, cell.init_state(batch), rewards)


def test_reward_error_ema_against_closed_form():
    alpha, r, T = 0.2, 1.5, 12
    cell = RewardErrorCell(2, alpha)
    final, (rpe, mu) = _run_reward(cell, jnp.full((T, 2), r))
    t = np.arange(1, T + 1)
    np.testing.assert_allclose(rpe[:, 0], r * (1 - alpha) ** (t - 1), rtol=1e-5)
    np.testing.assert_allclose(mu[:, 0], r * (1 - (1 - alpha) ** t), rtol=1e-5)
    np.testing.assert_allclose(final.accum_reward, jnp.full(2, r * T), rtol=1e-6)
    np.testing.assert_allclose(final.n_ep_steps, [T])
    # evolve: mu <- (1 - 1/L) mu + (1/L) * mean reward
    L = 10.0
    evolved = cell.evolve(final)
    mu_T = r * (1 - (1 - alpha) ** T)
    np.testing.assert_allclose(evolved.mu, (1 - 1 / L) * mu_T + r / L, rtol=1e-5)
    fresh = cell.start_episode(evolved)
    np.testing.assert_allclose(fresh.mu, evolved.mu)
    assert float(jnp.sum(fresh.accum_reward) + jnp.sum(fresh.n_ep_steps)) == 0.0


def test_reward_error_offline_predictor_moves_only_at_evolve():
    cell = RewardErrorCell(1, alpha=0.5, ema_window_len=4, use_online_predictor=False)
    rewards = jnp.array([[1.0], [3.0], [2.0]])
    final, (rpe, mu) = _run_reward(cell, rewards)
    np.testing.assert_allclose(mu, 0.0)
    np.testing.assert_allclose(rpe, rewards)
    np.testing.assert_allclose(cell.evolve(final).mu, [2.0 / 4])
    # an empty episode leaves the prediction finite (no 0 / 0)
    empty = cell.evolve(cell.init_state())
    assert bool(jnp.all(jnp.isfinite(empty.mu)))


def test_reward_error_jit_vmap_and_grad(getkey):
    rewards = jax.random.uniform(getkey(), (15, 3, 2))

    def rpes(alpha, batch=(3,)):
        return _run_reward(RewardErrorCell(2, alpha), rewards, batch)[1][0]

    alphas = jnp.array([0.05, 0.3, 0.9])
    swept = jax.jit(jax.vmap(rpes))(alphas)
    one = jax.jit(rpes)
    for i, a in enumerate(alphas):
        np.testing.assert_allclose(swept[i], one(a), rtol=1e-5, atol=1e-7)
    cell = RewardErrorCell(2, 0.3)
    per_row = jax.vmap(lambda r: _run_reward(cell, r)[1][0], in_axes=1, out_axes=1)(rewards)
    np.testing.assert_allclose(per_row, one(jnp.float32(0.3)), rtol=1e-6)
    # constant reward r: rpe_t = r (1 - alpha)^(t - 1), so d rpe_t / d alpha is analytic
    const = jnp.full((6, 1), 2.0)

    def last_rpe(alpha):
        return _run_reward(RewardErrorCell(1, alpha), const)[1][0][-1, 0]

    g = jax.grad(last_rpe)(jnp.float32(0.25))
    np.testing.assert_allclose(g, -2.0 * 5 * 0.75**4, rtol=1e-5)


def test_reward_error_bad_inputs():
    with pytest.raises(ValueError, match="alpha"):
        RewardErrorCell(2, 1.5)
    with pytest.raises(ValueError, match="ema_window_len"):
        RewardErrorCell(2, 0.1, ema_window_len=0.5)
    cell = RewardErrorCell(2, 0.1)
    with pytest.raises(ValueError, match="reward"):
        cell(cell.init_state((3,)), jnp.ones((3, 4)))


# --------------------------------------------------------------------------------------
# BernoulliErrorCell(input_logits=True)


def test_bernoulli_logits_equal_the_probability_path_and_grad(getkey):
    z = jax.random.uniform(getkey(), (3, 5), minval=-4.0, maxval=4.0)
    t = jax.random.bernoulli(getkey(), 0.5, (3, 5)).astype(jnp.float32)
    logit_cell = BernoulliErrorCell(5, input_logits=True)
    out = logit_cell(z, t)
    p = jax.nn.sigmoid(z)
    ref = BernoulliErrorCell(5)(p, t)
    np.testing.assert_allclose(out.L, ref.L, rtol=1e-5)
    np.testing.assert_allclose(out.dtarget, z, rtol=1e-6)
    np.testing.assert_allclose(out.dtarget, ref.dtarget, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(out.dmu, t - p, rtol=1e-6)
    np.testing.assert_allclose(out.dmu, jax.grad(lambda m: logit_cell(m, t).L)(z), rtol=1e-5)
    np.testing.assert_allclose(
        out.dtarget, jax.grad(lambda tt: logit_cell(z, tt).L)(t), rtol=1e-5, atol=1e-6
    )
    assert float(out.dSigma) == 0.0


def test_bernoulli_logits_are_stable_for_extreme_logits():
    z = jnp.array([[-200.0, -30.0, 0.0, 30.0, 200.0]])
    t = jnp.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    out = BernoulliErrorCell(5, input_logits=True)(z, t)
    # t log sigma(z) + (1 - t) log sigma(-z), with log sigma(-200) = -200 (to e^-200)
    L_ref = -200.0 - math.log1p(math.exp(-30.0)) + math.log(0.5) - math.log1p(math.exp(-30.0))
    L_ref -= 200.0
    np.testing.assert_allclose(out.L, L_ref, rtol=1e-6)
    np.testing.assert_allclose(out.dtarget, z)
    np.testing.assert_allclose(out.dmu, [[1.0, 0.0, 0.5, 0.0, -1.0]], atol=1e-6)
    assert bool(jnp.all(jnp.isfinite(out.dmu)))


def test_bernoulli_logits_jit_vmap_gating_and_default_unchanged(getkey):
    z = jax.random.normal(getkey(), (4, 3))
    t = jax.random.bernoulli(getkey(), 0.5, (4, 3)).astype(jnp.float32)
    cell = BernoulliErrorCell(3, input_logits=True)
    full = eqx.filter_jit(cell)(z, t)
    rows = jax.vmap(cell)(z, t)
    np.testing.assert_allclose(jnp.sum(rows.L), full.L, rtol=1e-5)
    np.testing.assert_allclose(rows.dmu, full.dmu, rtol=1e-6)
    mask = jnp.array([1.0, 0.0, 1.0])
    gated = cell(z, t, modulator=2.0 * jnp.ones((4, 3)), mask=mask)
    np.testing.assert_allclose(gated.dmu, 2.0 * mask[None] * full.dmu, rtol=1e-6)
    np.testing.assert_allclose(gated.dtarget, 2.0 * mask[None] * z, rtol=1e-6)
    default = BernoulliErrorCell(3)
    assert default.input_logits is False
    p = jax.nn.sigmoid(z)
    out = default(p, t)
    np.testing.assert_allclose(out.dmu, t / p - (1 - t) / (1 - p), rtol=1e-5)


# --------------------------------------------------------------------------------------
# per-unit parameters: one cell with a per-unit array equals scalar cells column by column


@pytest.mark.parametrize(
    "make, values",
    [
        (lambda v: LeakyNoiseCell(3, v, sigma_post=0.0), (2.0, 5.0, 9.0)),
        (lambda v: LeakyNoiseCell(3, 5.0, sigma_pre=v), (0.1, 0.4, 0.8)),
        (lambda v: PhasorCell(3, target_freq=v), (30.0, 80.0, 200.0)),
        (lambda v: RewardErrorCell(3, v), (0.1, 0.5, 0.9)),
    ],
    ids=["leaky-tau_x", "leaky-sigma_pre", "phasor-target_freq", "reward-alpha"],
)
def test_per_unit_parameters_equal_scalar_cells(make, values, getkey):
    key = getkey()
    drive = jax.random.uniform(getkey(), (2, 3), minval=0.5, maxval=1.0)

    def run(cell):
        state = cell.init_state((2,))
        for k in jax.random.split(key, 3):
            if isinstance(cell, RewardErrorCell):
                state = cell(state, drive)
            else:
                state = cell(state, drive, key=k, dt=2.0)
        return state

    cols = run(make(jnp.asarray(values)))
    for i, v in enumerate(values):
        ref = run(make(v))
        for a, b in zip(jax.tree.leaves(cols), jax.tree.leaves(ref), strict=True):
            if a.ndim and a.shape[-1] == 3:
                np.testing.assert_allclose(a[..., i], b[..., i], rtol=1e-5, atol=1e-6)
