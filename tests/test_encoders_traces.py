"""Input encoders (rates against targets, with fixed keys), traces and kernels."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import TypeCheckError

from ngcx.cells import BernoulliCell, ExpKernel, LatencyCell, PoissonCell, TTFSCell, VarTrace
from ngcx.simulation import simulate


def _binomial_z(count, n, p):
    return abs(count - n * p) / math.sqrt(n * p * (1 - p))


def test_poisson_rates_match_target_frequency(getkey):
    x = jnp.array([0.0, 0.25, 0.5, 1.0])
    cell = PoissonCell(4, target_freq=100.0)
    T, dt = 20000, 1.0
    keys = jax.random.split(getkey(), T)
    _, spikes = simulate(lambda s, k: cell(s, x, key=k, dt=dt), cell.init_state(), inputs=keys,
                         record=lambda s: s.s)  # fmt: skip
    counts = np.asarray(spikes.sum(0))
    assert counts[0] == 0
    for c, xi in zip(counts[1:], [0.25, 0.5, 1.0], strict=True):
        p = xi * 100.0 * dt / 1000.0
        assert _binomial_z(c, T, p) < 4.0  # rate in Hz: c / (T ms) * 1000 ~ x * 100
    trains = cell.encode(x, T, key=getkey(), dt=dt)
    assert trains.shape == (T, 4)
    for c, xi in zip(np.asarray(trains.sum(0))[1:], [0.25, 0.5, 1.0], strict=True):
        assert _binomial_z(c, T, xi * 0.1) < 4.0


def test_poisson_tols_and_clock(getkey):
    cell = PoissonCell(3, target_freq=1000.0)  # p = 1 per 1 ms step
    state = cell(cell.init_state(), jnp.ones(3), key=getkey(), dt=1.0)
    state = cell(state, jnp.ones(3), key=getkey(), dt=1.0)
    np.testing.assert_allclose(state.s, 1.0)
    np.testing.assert_allclose(state.tols, 1.0)
    assert float(state.t) == 2.0


def test_bernoulli_rate(getkey):
    cell = BernoulliCell(3)
    x = jnp.array([0.1, 0.5, 0.9])
    trains = cell.encode(jnp.broadcast_to(x, (5, 3)), 4000, key=getkey())
    counts = np.asarray(trains.sum((0, 1)))
    for c, p in zip(counts, [0.1, 0.5, 0.9], strict=True):
        assert _binomial_z(c, 20000, p) < 4.0
    step = cell(cell.init_state((5,)), jnp.broadcast_to(x, (5, 3)), key=getkey())
    assert step.s.shape == (5, 3)


def test_encoder_errors(getkey):
    with pytest.raises(ValueError, match="n_units"):
        PoissonCell(0)
    with pytest.raises(ValueError, match="target_freq"):
        PoissonCell(3, target_freq=-1.0)
    cell = PoissonCell(3)
    with pytest.raises(ValueError, match="x"):
        cell.encode(jnp.ones(4), 10, key=getkey())
    with pytest.raises((ValueError, TypeCheckError)):
        cell.encode(jnp.ones(3, jnp.int32), 10, key=getkey())
    with pytest.raises(ValueError, match="latency_mode"):
        TTFSCell(3, latency_mode="linear")


def test_latency_nonlinear_times_and_single_spike():
    cell = LatencyCell(3, tau=10.0, threshold=0.1, first_spike_time=2.0)
    x = jnp.array([1.0, 0.5, 0.05])
    times = cell.spike_times(x)
    xc = np.maximum(np.array([1.0, 0.5, 0.05]), 0.1 + 1e-7)
    np.testing.assert_allclose(times[:2], (10.0 * np.log(xc / (xc - 0.1)) + 2.0)[:2], rtol=1e-5)
    assert float(times[2]) > 100.0  # below threshold: (almost) never
    state = cell.init_state(x)
    first = np.full(3, -1.0)
    total = np.zeros(3)
    for _ in range(200):
        state = cell(state, dt=1.0)
        total += np.asarray(state.s)
        first = np.where((first < 0) & (np.asarray(state.s) > 0), float(state.t) - 1.0, first)
    np.testing.assert_allclose(total[:2], 1.0)  # exactly one spike each
    np.testing.assert_allclose(first[:2], np.round(np.asarray(times)[:2]))


def test_latency_linear_normalized_and_clipped():
    cell = LatencyCell(3, tau=5.0, threshold=0.2, linearize=True, normalize=True, num_steps=11,
                       clip_spikes=True)  # fmt: skip
    x = jnp.array([1.0, 0.5, 0.1])
    times = cell.spike_times(x)
    np.testing.assert_allclose(times, [0.0, 5.0, 8.0])  # tau = 10; cap at 10 * (1 - 0.2)
    state = cell.init_state(x)
    total = np.zeros(3)
    for _ in range(12):
        state = cell(state)
        total += np.asarray(state.s)
    np.testing.assert_allclose(total, [1.0, 1.0, 0.0])  # 0.1 < threshold is clipped


def test_ttfs_order_and_one_spike_each():
    cell = TTFSCell(4, num_steps=20)
    x = jnp.array([1.0, 0.6, 0.3, 0.0])
    steps = np.asarray(cell.target_steps(x))
    assert steps[0] == 0 and steps[3] == 19
    assert list(steps) == sorted(steps)
    state = cell.init_state(x)
    record = []
    for _ in range(20):
        state = cell(state)
        record.append(np.asarray(state.s))
    record = np.array(record)
    np.testing.assert_allclose(record.sum(0), 1.0)
    np.testing.assert_array_equal(record.argmax(0), steps)
    log = TTFSCell(2, num_steps=10, latency_mode="logarithmic")
    np.testing.assert_array_equal(log.target_steps(jnp.array([1.0, 0.01])), [0, 9])


def test_var_trace_variants_by_hand():
    s = jnp.array([[1.0, 0.0, 1.0]])
    d = math.exp(-1.0 / 20.0)
    gated = VarTrace(3, 20.0, a_delta=0.0, P_scale=0.8)
    x = gated(jnp.array([[0.5, 0.5, 0.0]]), s, dt=1.0)
    np.testing.assert_allclose(x, [[0.8, 0.5 * d, 0.8]], rtol=1e-6)
    acc = VarTrace(3, 20.0, a_delta=0.3)
    np.testing.assert_allclose(acc(jnp.full((1, 3), 0.5), s), [[0.5 * d + 0.3, 0.5 * d,
                               0.5 * d + 0.3]], rtol=1e-6)  # fmt: skip
    lin = VarTrace(3, 20.0, a_delta=0.3, decay_type="lin")
    np.testing.assert_allclose(lin(jnp.full((1, 3), 0.5), s)[0, 1], 0.5 * (1 - 1 / 20), rtol=1e-6)
    step = VarTrace(3, 20.0, a_delta=0.0, decay_type="step")
    np.testing.assert_allclose(step(jnp.full((1, 3), 0.5), s), s)
    near = VarTrace(3, 20.0, a_delta=1.0, n_nearest_spikes=2)
    np.testing.assert_allclose(near(jnp.full((1, 3), 0.5), s)[0, 0], 0.5 * d + (1.0 - 0.25),
                               rtol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match="decay_type"):
        VarTrace(3, 20.0, 0.0, decay_type="cosine")


def test_var_trace_steady_state_of_regular_train():
    tr = VarTrace(1, 10.0, a_delta=1.0)
    x = tr.init_state()
    for t in range(400):
        x = tr(x, jnp.array([1.0 if t % 5 == 0 else 0.0]))
    d = math.exp(-0.1)
    # last spike at t = 395, then 4 decays: d^4 * sum_k d^(5k)
    np.testing.assert_allclose(float(x[0]), d**4 / (1 - d**5), rtol=1e-4)


def test_exp_kernel_matches_direct_sum():
    kernel = ExpKernel(2, dt=1.0, tau_w=5.0, nu=4.0)
    state = kernel.init_state()
    spikes = np.array([[1, 0], [0, 0], [1, 1], [0, 0], [0, 0], [0, 1], [0, 0]], np.float32)
    for t, s in enumerate(spikes):
        state = kernel(state, jnp.asarray(s))
        window = [(tf, spikes[tf]) for tf in range(max(0, t - 3), t + 1)]
        expected = sum(math.exp(-(t - tf) / 5.0) * sf for tf, sf in window)
        np.testing.assert_allclose(state.epsp, expected, rtol=1e-6)
    assert kernel.window == 4


def test_shared_intensity_gives_independent_trains_per_sample(getkey):
    cell = PoissonCell(3, target_freq=500.0)
    state = cell(cell.init_state((64,)), jnp.full((3,), 0.5), key=getkey())
    rows = {tuple(np.asarray(r)) for r in state.s}
    assert len(rows) > 1  # not one draw broadcast over the batch
    with pytest.raises(ValueError, match="x"):
        cell(cell.init_state(), jnp.full((2, 3), 0.5), key=getkey())
