"""Spiking cells: hand-computed steps, integrators, transformations and errors."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.cells import (
    AdExCell,
    FitzhughNagumoCell,
    HodgkinHuxleyCell,
    IFCell,
    IzhikevichCell,
    LIFCell,
    QuadLIFCell,
    RAFCell,
    SLIFCell,
    WTASCell,
    hh_rates,
)
from ngcx.simulation import simulate
from ngcx.surrogates import ArcTan


def _lif(**kw):
    base = dict(tau_m=10.0, resist_m=1.0, thr=-52.0, v_rest=-65.0, v_reset=-60.0)
    return LIFCell(3, **{**base, **kw})


def test_lif_euler_step_by_hand():
    cell = _lif(tau_theta=0.0, refract_time=0.0)
    state = cell.init_state()
    j = jnp.array([0.0, 10.0, 200.0])
    new = cell(state, j, dt=0.5)
    v = -65.0 + 0.5 / 10.0 * (0.0 + np.array([0.0, 10.0, 200.0]))  # v_rest - v = 0 at rest
    spiked = v > -52.0
    np.testing.assert_allclose(new.s, spiked.astype(np.float32))
    np.testing.assert_allclose(new.v, np.where(spiked, -60.0, v), rtol=1e-6)
    assert float(new.t) == 0.5
    np.testing.assert_allclose(new.rfr, np.where(spiked, 0.0, 0.5))


def test_lif_refractory_period_blocks_input():
    cell = _lif(tau_theta=0.0, refract_time=2.0)
    state = cell.init_state()
    state = cell(state, jnp.array([0.0, 0.0, 500.0]), dt=1.0)  # cell 2 spikes at t=0
    assert state.s.tolist() == [0.0, 0.0, 1.0]
    v_after = float(state.v[2])
    for expected_rfr in (1.0, 2.0):  # input blocked while rfr < 2
        state = cell(state, jnp.array([0.0, 0.0, 500.0]), dt=1.0)
        assert float(state.rfr[2]) == expected_rfr
        # no input: only the leak towards rest
        v_after = v_after + 0.1 * (-65.0 - v_after)
        np.testing.assert_allclose(float(state.v[2]), v_after, rtol=1e-6)
    state = cell(state, jnp.array([0.0, 0.0, 500.0]), dt=1.0)  # integrating again
    assert float(state.s[2]) == 1.0
    assert float(state.tols[2]) == 3.0


def test_lif_adaptive_threshold():
    cell = _lif(tau_theta=100.0, theta_plus=0.5, refract_time=0.0)
    state = cell.init_state()
    state = cell(state, jnp.array([0.0, 0.0, 500.0]), dt=1.0)
    np.testing.assert_allclose(state.thr_theta, [0.0, 0.0, 0.5])
    state = cell(state, jnp.zeros(3), dt=1.0)
    np.testing.assert_allclose(state.thr_theta, [0.0, 0.0, 0.5 * math.exp(-0.01)], rtol=1e-6)
    np.testing.assert_allclose(cell.threshold(state), -52.0 + np.asarray(state.thr_theta))
    # the reset keeps the adapted threshold, the clock restarts
    rest = cell.reset(state)
    np.testing.assert_allclose(rest.thr_theta, state.thr_theta)
    np.testing.assert_allclose(rest.v, -65.0)
    assert float(rest.t) == 0.0


def test_lif_threshold_shift_blocks_spike():
    cell = _lif(tau_theta=1e7, theta_plus=20.0, refract_time=0.0)
    state = cell.init_state()
    state = cell(state, jnp.full(3, 200.0), dt=1.0)  # -65 + 20 = -45 > -52
    assert state.s.tolist() == [1.0, 1.0, 1.0]
    # same input again: -60 + 0.1 * (-5 + 200) = -40.5, below the raised threshold -32
    state = cell(state, jnp.full(3, 200.0), dt=1.0)
    assert state.s.tolist() == [0.0, 0.0, 0.0]


def test_lif_v_min_and_conduct_leak():
    cell = _lif(tau_theta=0.0, refract_time=0.0, v_min=-70.0)
    state = cell(cell.init_state(), jnp.full(3, -1000.0), dt=1.0)
    np.testing.assert_allclose(state.v, -70.0)
    if_like = _lif(tau_theta=0.0, refract_time=0.0, conduct_leak=0.0)
    s = if_like.init_state()
    s = eqx.tree_at(lambda x: x.v, s, jnp.full(3, -60.0))
    s = if_like(s, jnp.zeros(3), dt=1.0)
    np.testing.assert_allclose(s.v, -60.0)  # no leak


def test_lif_one_spike_and_max_one_spike(getkey):
    cell = LIFCell(6, 10.0, thr=-52.0, tau_theta=0.0, refract_time=0.0, one_spike=True)
    state = cell.init_state((4,))
    j = jnp.full((4, 6), 500.0).at[3].set(0.0)
    new = cell(state, j, dt=1.0, key=getkey())
    np.testing.assert_allclose(new.s.sum(-1), [1.0, 1.0, 1.0, 0.0])
    np.testing.assert_allclose(new.s_raw.sum(-1), [6.0, 6.0, 6.0, 0.0])
    with pytest.raises(ValueError, match="key"):
        cell(state, j, dt=1.0)
    mx = LIFCell(3, 10.0, tau_theta=0.0, refract_time=0.0, max_one_spike=True)
    st = eqx.tree_at(lambda s: s.v, mx.init_state(), jnp.array([-60.0, -55.0, -58.0]))
    new = mx(st, jnp.full(3, 500.0), dt=1.0)
    assert new.s.tolist() == [0.0, 1.0, 0.0]


def test_lif_midpoint_matches_exact_solution():
    cell = _lif(tau_theta=0.0, refract_time=0.0, thr=100.0, integration_type="midpoint")
    euler = _lif(tau_theta=0.0, refract_time=0.0, thr=100.0)
    j = jnp.full(3, 10.0)
    exact = -65.0 + 10.0 * (1 - math.exp(-1.0))  # 10 ms of dt=1, tau=10
    sm, se = cell.init_state(), euler.init_state()
    for _ in range(10):
        sm, se = cell(sm, j, dt=1.0), euler(se, j, dt=1.0)
    assert abs(float(sm.v[0]) - exact) < abs(float(se.v[0]) - exact) / 5


def test_if_cell_clamps_at_rest():
    cell = IFCell(2, tau_m=5.0)
    state = cell(cell.init_state(), jnp.array([-100.0, 10.0]), dt=1.0)
    np.testing.assert_allclose(state.v, [-65.0, -63.0])


def test_quadlif_rest_is_stable_and_runaway_above_critical():
    cell = QuadLIFCell(2, tau_m=10.0, critical_v=0.1, thr=0.0, tau_theta=0.0, refract_time=0.0)
    state = eqx.tree_at(lambda s: s.v, cell.init_state(), jnp.array([-55.0, -40.0]))
    for _ in range(30):
        state = cell(state, jnp.zeros(2), dt=0.1)
    v = np.asarray(state.v)
    assert v[0] < -55.0  # below v_c = -41.6: decays towards rest
    assert v[1] > -40.0 or state.tols[1] > 0  # above: runs away (or already spiked)
    # derivative by hand
    d = cell.derivative(jnp.array([-50.0, -50.0]), jnp.array([1.0, 0.0]))
    expected = (0.1 * (-50 + 65) * (-50 + 41.6) + np.array([1.0, 0.0])) / 10.0
    np.testing.assert_allclose(d, expected, rtol=1e-6)


def test_slif_step_inhibition_and_thresholds(getkey):
    cell = SLIFCell(3, tau_m=10.0, resist_m=1.0, thr=0.5, key=getkey(), thr_gain=0.1,
                    thr_leak=0.01, thr_jitter=0.0)  # fmt: skip
    state = cell.init_state()
    np.testing.assert_allclose(state.thr, 0.5)
    new = cell(state, jnp.array([0.0, 10.0, 60.0]), dt=1.0)
    v = 0.1 * np.array([0.0, 10.0, 60.0])
    np.testing.assert_allclose(new.s, (v > 0.5).astype(np.float32))
    np.testing.assert_allclose(new.v, np.where(v > 0.5, 0.0, v), rtol=1e-6)
    np.testing.assert_allclose(new.thr, 0.5 + 0.1 * (v > 0.5) - 0.01 * 0.5, rtol=1e-6)
    # rho_b homeostasis and reset with persistence
    hom = SLIFCell(3, 10.0, 1.0, 0.5, key=getkey(), rho_b=0.1, thr_jitter=0.0, thr_persist=True)
    s2 = hom(hom.init_state(), jnp.full(3, 100.0), dt=1.0)
    np.testing.assert_allclose(s2.thr, 0.5 + 0.1 * 2.0)
    np.testing.assert_allclose(hom.reset(s2).thr, s2.thr)
    # lateral inhibition lowers the next input
    inh = SLIFCell(3, 10.0, 1.0, 0.5, key=getkey(), resist_inh=1.0, thr_jitter=0.0)
    assert float(jnp.trace(inh.inh_weights)) == 0.0
    prev = eqx.tree_at(lambda s: s.s, inh.init_state(), jnp.array([1.0, 0.0, 0.0]))
    out = inh(prev, jnp.zeros(3), dt=1.0)
    np.testing.assert_allclose(out.v, 0.1 * -(jnp.array([1.0, 0.0, 0.0]) @ inh.inh_weights))


def test_wtas_one_winner_and_threshold_drift(getkey):
    cell = WTASCell(4, tau_m=1.0, thr_base=0.4, thr_gain=0.01, thr_jitter=0.0, key=getkey())
    state = cell(cell.init_state(), jnp.array([0.0, 5.0, 0.0, 0.0]), dt=1.0)
    assert state.s.tolist() == [0.0, 1.0, 0.0, 0.0]
    np.testing.assert_allclose(state.thr, 0.4)  # one spike: no drift
    state = cell(state, jnp.zeros(4), dt=1.0)  # softmax 0.25 < 0.4: no spike
    np.testing.assert_allclose(state.thr, 0.39)


def _euler_by_hand(derivative, v, w, j, dt):
    dv, dw = derivative(v, w, j)
    return v + dt * dv, w + dt * dw


@pytest.mark.parametrize(
    "cell",
    [AdExCell(3), IzhikevichCell(3), FitzhughNagumoCell(3), RAFCell(3, integration_type="euler")],
    ids=lambda c: type(c).__name__,
)
def test_recovery_cells_euler_step_by_hand(cell):
    state = cell.init_state((2,))
    state = eqx.tree_at(lambda s: s.v, state, state.v + jnp.array([[0.0, 0.3, 0.6]]))
    j = jnp.full((2, 3), 0.7)
    new = cell(state, j, dt=0.05)
    scale = getattr(cell, "resist_m", None) or getattr(cell, "resist_v", 1.0)
    if isinstance(cell, AdExCell):
        scale = 1.0  # AdEx multiplies j by R inside its derivative
    if isinstance(cell, RAFCell):
        w = state.w + 0.05 * cell.derivative(state.v, state.w, j * scale)[1]
        v = state.v + 0.05 * cell.derivative(state.v, w, j * scale)[0]
    else:
        v, w = _euler_by_hand(cell.derivative, state.v, state.w, j * scale, 0.05)
    np.testing.assert_allclose(new.v, v, rtol=1e-6)
    np.testing.assert_allclose(new.w, w, rtol=1e-6)
    assert float(new.t) == pytest.approx(0.05)


def test_adex_spike_reset_and_adaptation():
    cell = AdExCell(1, thr=0.0, v_reset=-75.0, b=0.75)
    state = eqx.tree_at(lambda s: s.v, cell.init_state(), jnp.array([10.0]))
    new = cell(state, jnp.zeros(1), dt=0.01)
    assert float(new.s[0]) == 1.0 and float(new.v[0]) == -75.0
    _, w = _euler_by_hand(cell.derivative, state.v, state.w, jnp.zeros(1), 0.01)
    np.testing.assert_allclose(new.w, w + 0.75, rtol=1e-6)


def test_izhikevich_regular_spiking_rate():
    cell = IzhikevichCell(1)
    state = cell.init_state()
    state, spikes = simulate(lambda s: cell(s, jnp.full(1, 10.0), dt=0.1), state, 10000,
                             record=lambda s: s.s)  # fmt: skip
    rate = float(spikes.sum()) / 1.0  # spikes per second (1000 ms)
    assert 5 <= rate <= 30, rate  # regular spiking under I=10: ~10-20 Hz


def test_izhikevich_spike_from_previous_voltage():
    cell = IzhikevichCell(1, v_reset=-65.0, w_reset=8.0)
    state = eqx.tree_at(lambda s: s.v, cell.init_state(), jnp.array([35.0]))
    new = cell(state, jnp.zeros(1), dt=0.1)
    assert float(new.s[0]) == 1.0 and float(new.v[0]) == -65.0
    np.testing.assert_allclose(new.w, state.w + 8.0)


def test_fitzhugh_nagumo_oscillates_under_drive():
    cell = FitzhughNagumoCell(1, spike_reset=False)
    _, vs = simulate(lambda s: cell(s, jnp.full(1, 0.5), dt=0.1), cell.init_state(), 3000,
                     record=lambda s: s.v)  # fmt: skip
    v = np.asarray(vs[1000:, 0])
    assert v.max() > 1.5 and v.min() < -1.5  # a limit cycle


def test_raf_resonates():
    cell = RAFCell(1, omega=10.0, dampen_factor=-1.0, thr=100.0)
    state, vs = simulate(lambda s: cell(s, None, dt=0.01), eqx.tree_at(
        lambda s: s.w, cell.init_state(), jnp.ones(1)), 300, record=lambda s: s.v)  # fmt: skip
    v = np.asarray(vs[:, 0])
    crossings = np.sum(np.diff(np.sign(v)) != 0)
    assert 5 <= crossings <= 12  # omega=10 rad/ms over 3 ms: ~9.5 sign changes
    assert abs(v[-1]) < abs(v).max()  # damped


@pytest.mark.parametrize("method", ["midpoint", "rk4"])
def test_joint_integration_converges_at_the_method_order(method):
    """Halving dt divides the error of v(T) by ~2^order (coupled system, smooth)."""
    cell_ref = FitzhughNagumoCell(1, integration_type="rk4")
    order = 2 if method == "midpoint" else 4

    def run(cell, dt, steps):
        state = cell.init_state()
        for _ in range(steps):
            state = cell(state, jnp.full(1, 0.3), dt=dt)
        return float(state.v[0])

    with jax.enable_x64(True):
        ref = run(cell_ref, 0.005, 400)
        cell = FitzhughNagumoCell(1, integration_type=method)
        e1 = abs(run(cell, 0.2, 10) - ref)
        e2 = abs(run(cell, 0.1, 20) - ref)
    assert e1 / e2 > 2**order * 0.6


def test_hh_rates_finite_at_singularities_and_match_limit():
    v = jnp.array([10.0, 25.0, 10.0 + 1e-3, 0.0])
    rates = hh_rates(v)
    assert all(bool(jnp.all(jnp.isfinite(r))) for r in rates)
    np.testing.assert_allclose(rates[0][0], 0.1, rtol=1e-6)  # 0.01 * 10
    np.testing.assert_allclose(rates[2][1], 1.0, rtol=1e-6)  # 0.1 * 10
    np.testing.assert_allclose(rates[0][2], rates[0][0], rtol=1e-3)


def test_hodgkin_huxley_fires_and_rests():
    # the classic squid-axon conductances (ngc-learn's defaults have no rest at v = 0)
    cell = HodgkinHuxleyCell(2, tau_v=1.0, g_Na=120.0, g_K=36.0, v_K=-12.0)
    state = cell.init_state()
    resting = cell(state, jnp.zeros(2), dt=0.01)
    np.testing.assert_allclose(resting.v, state.v, atol=0.05)
    _, s = simulate(lambda st: cell(st, jnp.array([0.0, 10.0]), dt=0.01), state, 3000,
                    record=lambda st: st.s)  # fmt: skip
    assert float(s[:, 0].sum()) == 0.0 and float(s[:, 1].sum()) > 0
    reset = HodgkinHuxleyCell(1, tau_v=1.0, spike_reset=True, thr=4.0)
    st = eqx.tree_at(lambda x: x.v, reset.init_state(), jnp.array([50.0]))
    new = reset(st, jnp.zeros(1), dt=0.01)
    assert float(new.s[0]) == 1.0 and float(new.v[0]) == 0.0


ALL_CELLS = [
    lambda k: LIFCell(5, 10.0, refract_time=2.0),
    lambda k: IFCell(5, 10.0),
    lambda k: QuadLIFCell(5, 10.0, critical_v=0.05),
    lambda k: SLIFCell(5, 10.0, 1.0, 0.4, key=k),
    lambda k: WTASCell(5, 1.0, key=k),
    lambda k: AdExCell(5),
    lambda k: IzhikevichCell(5),
    lambda k: FitzhughNagumoCell(5),
    lambda k: RAFCell(5),
    lambda k: HodgkinHuxleyCell(5, 1.0),
]


@pytest.mark.parametrize("make", ALL_CELLS)
def test_cells_vmap_jit_and_batch_agree(make, getkey):
    cell = make(getkey())
    j = jax.random.uniform(getkey(), (4, 5), minval=0.0, maxval=30.0)
    batched = cell.init_state((4,))

    def run(state, j):
        for _ in range(5):
            state = cell(state, j, dt=0.1)
        return state

    a = run(batched, j)
    single = cell.init_state()
    b = jax.vmap(run, in_axes=(None, 0))(single, j)
    c = jax.jit(run)(batched, j)
    for x, y, z in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b),
                       jax.tree_util.tree_leaves(c), strict=True):  # fmt: skip
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(x, z, rtol=1e-5, atol=1e-5)


def test_cell_errors(getkey):
    with pytest.raises(ValueError, match="n_units"):
        LIFCell(0, 10.0)
    with pytest.raises(ValueError, match="tau_m"):
        LIFCell(3, 0.0)
    with pytest.raises(ValueError, match="integration_type"):
        LIFCell(3, 10.0, integration_type="leapfrog")
    with pytest.raises(ValueError, match="surrogate"):
        LIFCell(3, 10.0, surrogate_type="nope")
    with pytest.raises(ValueError, match="critical_v"):
        QuadLIFCell(3, 10.0, critical_v=-1.0)
    with pytest.raises(ValueError, match="tau_w"):
        AdExCell(3, tau_w=0.0)
    cell = LIFCell(3, 10.0)
    with pytest.raises(Exception, match="j|shape"):
        cell(cell.init_state((2,)), jnp.ones((2, 4)))
    with pytest.raises(Exception, match="j|dtype"):
        cell(cell.init_state((2,)), jnp.ones((2, 3), jnp.int32))


def test_lif_gradient_equals_surrogate_chain_by_finite_differences(getkey):
    """jax.grad through a LIF scan equals the derivative of the 'frozen-spike' relaxation
    s_t = H_t + S(x_t) - S(x_t^0) (same forward values, derivative the surrogate's),
    computed by float64 finite differences of a NumPy re-implementation."""
    n_in, n, T, dt, tau, R = 4, 3, 12, 1.0, 5.0, 5.0
    surr = ArcTan(alpha=0.5)
    cell = LIFCell(n, tau, resist_m=R, thr=1.0, v_rest=0.0, v_reset=0.0, tau_theta=0.0,
                   refract_time=0.0, surrogate_type=surr)  # fmt: skip
    x = np.asarray(jax.random.uniform(getkey(), (T, n_in)), np.float64)
    W0 = np.asarray(jax.random.normal(getkey(), (n_in, n)) * 0.6 + 0.3, np.float64)
    readout = np.asarray(jax.random.normal(getkey(), (T, n)), np.float64)

    def loss_ngcx(W):
        def step(state, x_t):
            return cell(state, x_t @ W, dt=dt)

        _, spikes = simulate(step, cell.init_state(), inputs=jnp.asarray(x, jnp.float32),
                             record=lambda s: s.s)  # fmt: skip
        return jnp.sum(spikes * jnp.asarray(readout, jnp.float32))

    def relax(u):
        return np.arctan(np.pi * 0.5 * u / 2) / np.pi

    def forward_np(W, frozen=None):
        v = np.zeros(n)
        total, record = 0.0, []
        for t in range(T):
            v = v + dt / tau * (-v + R * (x[t] @ W))
            u = v - 1.0
            if frozen is None:
                s = (u > 0).astype(np.float64)
                record.append((s, relax(u)))
            else:
                H, S0 = frozen[t]
                s = H + relax(u) - S0
            v = v * (1 - s)
            total += float(np.sum(s * readout[t]))
        return total, record

    base, frozen = forward_np(W0)
    assert sum(float(h.sum()) for h, _ in frozen) > 2  # some spikes happen
    np.testing.assert_allclose(float(loss_ngcx(jnp.asarray(W0, jnp.float32))), base, rtol=1e-5)
    grad = np.asarray(jax.grad(loss_ngcx)(jnp.asarray(W0, jnp.float32)))
    eps = 1e-6
    fd = np.zeros_like(W0)
    for idx in np.ndindex(*W0.shape):
        Wp, Wm = W0.copy(), W0.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        fd[idx] = (forward_np(Wp, frozen)[0] - forward_np(Wm, frozen)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=2e-3, atol=2e-4)
    assert np.abs(fd).max() > 1e-3


@pytest.mark.parametrize("make", ALL_CELLS)
def test_cells_grad_through_a_simulation_is_finite(make, getkey):
    """jax.grad flows through every cell's spikes (surrogate) and dynamics."""
    cell = make(getkey())
    j0 = jax.random.uniform(getkey(), (2, 5), minval=5.0, maxval=30.0)

    def loss(scale):
        def step(state):
            return cell(state, scale * j0, dt=0.1)

        _, rec = simulate(step, cell.init_state((2,)), 20, record=lambda s: (s.v, s.s))
        return jnp.mean(rec[0]) + jnp.sum(rec[1])

    g = jax.grad(loss)(jnp.asarray(1.0))
    assert bool(jnp.isfinite(g))
