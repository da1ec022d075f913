"""LIFSRM and RAFSRM: the spike-response forms against closed-form references."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import expm

from ngcx.cells import LIFSRM, RAFSRM


def _lif_reference(J, dt, tau, thr, v_rest, v_reset):
    """The LIF with exponential decay, current pulses dt/tau * j and reset to v_reset."""
    u = np.zeros(J.shape[1:])
    vs, ss = [], []
    for j in J:
        u = u * np.exp(-dt / tau) + dt / tau * j
        s = (v_rest + u > thr).astype(np.float64)
        u = np.where(s > 0, v_reset - v_rest, u)
        vs.append(v_rest + u)
        ss.append(s)
    return np.array(vs), np.array(ss)


def _run(cell, J, dt, times=None):
    state = cell.init_state(J.shape[1:-1])
    out = []
    for i, j in enumerate(J):
        state = cell(state, j, dt=dt, t=None if times is None else float(times[i]))
        out.append(state)
    return state, out


def test_lif_srm_is_the_lif_with_reset(getkey):
    J = np.asarray(jax.random.uniform(getkey(), (60, 2, 4), minval=0.0, maxval=40.0))
    cell = LIFSRM(4, tau_m=10.0)
    _, states = _run(cell, J, 1.0)
    v_ref, s_ref = _lif_reference(J, 1.0, 10.0, -52.0, -65.0, -60.0)
    np.testing.assert_allclose(np.array([st.v for st in states]), v_ref, atol=2e-4)
    np.testing.assert_array_equal(np.array([st.s for st in states]), s_ref)
    assert s_ref.sum() > 10  # the test exercises resets
    # j_lowpass is the input trace alone, never reset
    trace = np.zeros((2, 4))
    for j in J:
        trace = trace * np.exp(-0.1) + 0.1 * j
    np.testing.assert_allclose(states[-1].j_lowpass, trace, rtol=1e-5)
    last = np.max(np.where(s_ref > 0, np.arange(1, 61)[:, None, None], -1), axis=0)
    np.testing.assert_allclose(states[-1].t_last_spike, last)


def test_lif_srm_time_jump_equals_silent_steps(getkey):
    cell = LIFSRM(3, tau_m=8.0, thr=0.0)  # no spikes: thr far above
    j = jax.random.uniform(getkey(), (3,), minval=0.0, maxval=20.0)
    state = cell(cell.init_state(), j, dt=1.0, t=1.0)
    jumped = cell(state, None, dt=1.0, t=6.0)
    stepped = state
    for _ in range(2, 7):
        stepped = cell(stepped, None, dt=1.0)
    assert float(stepped.t) == 6.0
    np.testing.assert_allclose(jumped.v, stepped.v, rtol=1e-6)
    np.testing.assert_allclose(jumped.v, -65.0 + state.j_lowpass * np.exp(-5.0 / 8.0), atol=1e-5)


def test_lif_srm_predicts_the_next_spike():
    cell = LIFSRM(1, tau_m=10.0)
    state = cell.init_state((1,))
    j = 20.0
    t_star = cell.predict_next_spike(state, j=jnp.full((1, 1), j))
    expected = 10.0 * np.log(j / (j - 13.0))
    np.testing.assert_allclose(t_star, expected, rtol=1e-5)
    # a fine simulation crosses there (the pulse train approaches the continuous drive)
    dt = 0.01
    step = jax.jit(lambda st: cell(st, jnp.full((1, 1), j), dt=dt))
    st = state
    while float(st.s[0, 0]) == 0.0:
        st = step(st)
    assert abs(float(st.t) - expected) < 0.05
    # no drive, below threshold: never; above threshold: now
    assert float(cell.predict_next_spike(state)[0, 0]) == -1.0
    above = eqx.tree_at(lambda s: s.j_lowpass, state, jnp.full((1, 1), 20.0))
    assert float(cell.predict_next_spike(above, t_start=3.0)[0, 0]) == 3.0


@pytest.mark.parametrize(
    "tau_v, tau_w, omega, damp",
    [
        (1.0, 1.0, 10.0, -1.0),
        (1.0, 4.0, 0.5, -1.0),
        (2.0, 2.0, 0.0, -1.0),
        (1.0, 3.0, 0.5774, -1.0),
    ],
)
def test_raf_propagator_is_the_matrix_exponential(tau_v, tau_w, omega, damp):
    cell = RAFSRM(1, tau_v=tau_v, tau_w=tau_w, omega=omega, dampen_factor=damp)
    M = np.array([[damp / tau_v, omega / tau_v], [-omega / tau_w, damp / tau_w]])
    for s in (0.05, 0.7, 3.0):
        p = [float(x[0]) for x in cell.propagator(s, jnp.zeros((1,)))]
        ref = expm(M * s)
        np.testing.assert_allclose(np.reshape(p, (2, 2)), ref, rtol=1e-4, atol=1e-5)


def test_raf_srm_is_the_resonator_with_reset(getkey):
    cell = RAFSRM(3, thr=0.3, omega=6.0, v_reset=-0.1, w_reset=0.2)
    dt = 0.1
    J = np.asarray(jax.random.uniform(getkey(), (80, 3), minval=-1.0, maxval=8.0))
    M = np.array([[-1.0, 6.0], [-6.0, -1.0]])
    P = expm(M * dt)
    x = np.zeros((2, 3))
    vs, ss = [], []
    for j in J:
        x = P @ x
        x[1] += dt * j
        s = (x[0] > 0.3).astype(np.float64)
        x = np.where(s > 0, np.array([[-0.1], [0.2]]), x)
        vs.append(x[0].copy())
        ss.append(s)
    _, states = _run(cell, J, dt)
    np.testing.assert_array_equal(np.array([st.s for st in states]), np.array(ss))
    np.testing.assert_allclose(np.array([st.v for st in states]), np.array(vs), atol=1e-4)
    w = np.array([st.j_w + st.eta_w for st in states])
    np.testing.assert_allclose(w[-1], x[1], atol=1e-4)
    assert np.sum(ss) > 3


@pytest.mark.parametrize("make", [lambda: LIFSRM(4, 10.0), lambda: RAFSRM(4, thr=0.2)])
def test_jit_and_vmap_over_batch(getkey, make):
    cell = make()
    J = jax.random.uniform(getkey(), (15, 3, 4), minval=0.0, maxval=30.0)

    @eqx.filter_jit
    def run(c, currents):
        def step(st, j):
            st = c(st, j, dt=0.5)
            return st, st.v

        return jax.lax.scan(step, c.init_state(currents.shape[1:-1]), currents)[1]

    batched = run(cell, J)
    single = jax.vmap(lambda j: run(cell, j), in_axes=1, out_axes=1)(J)
    np.testing.assert_allclose(batched, single, rtol=1e-6, atol=1e-6)


def test_vmap_over_a_parameter_equals_a_loop(getkey):
    J = jax.random.uniform(getkey(), (20, 2), minval=0.0, maxval=40.0)
    taus = jnp.array([5.0, 10.0, 20.0])

    def run(tau):
        c = LIFSRM(2, tau_m=tau)
        st = c.init_state()
        for j in J:
            st = c(st, j)
        return st.v, st.t_last_spike

    v, tls = jax.vmap(run)(taus)
    for i, tau in enumerate(taus):
        v1, t1 = run(float(tau))
        np.testing.assert_allclose(v[i], v1, rtol=1e-5)
        np.testing.assert_allclose(tls[i], t1)


def test_grad_matches_finite_differences(getkey):
    J = jax.random.uniform(getkey(), (10, 3), minval=0.0, maxval=10.0)  # subthreshold

    def lif_loss(tau):
        c = LIFSRM(3, tau_m=tau, surrogate_type="triangular")  # zero far below thr
        st = c.init_state()
        total = 0.0
        for j in J:
            st = c(st, j)
            total = total + jnp.sum(st.v)
        return total

    def raf_loss(omega):
        c = RAFSRM(3, omega=omega, thr=100.0, surrogate_type="triangular")
        st = c.init_state()
        total = 0.0
        for j in J:
            st = c(st, j, dt=0.1)
            total = total + jnp.sum(st.v)
        return total

    for loss, x in ((lif_loss, 10.0), (raf_loss, 5.0)):
        g = jax.grad(loss)(jnp.asarray(x))
        h = 1e-2
        fd = (loss(jnp.asarray(x + h)) - loss(jnp.asarray(x - h))) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=2e-2)


def test_grad_through_spikes_uses_the_surrogate(getkey):
    J = jax.random.uniform(getkey(), (30, 4), minval=10.0, maxval=40.0)

    def count(thr, surrogate):
        c = LIFSRM(4, 10.0, thr=thr, surrogate_type=surrogate)
        st = c.init_state()
        n = 0.0
        for j in J:
            st = c(st, j)
            n = n + jnp.sum(st.s)
        return n

    g = jax.grad(count)(jnp.asarray(-52.0), "arctan")
    assert np.isfinite(float(g)) and float(g) < 0  # a higher threshold, fewer spikes


def test_bad_inputs():
    with pytest.raises(ValueError, match="tau_m"):
        LIFSRM(3, tau_m=0.0)
    with pytest.raises(ValueError, match="tau_w"):
        RAFSRM(3, tau_w=-1.0)
    with pytest.raises(ValueError, match="n_units"):
        RAFSRM(0)
    with pytest.raises(ValueError, match="thr"):
        LIFSRM(3, 10.0, thr=float("nan"))
    with pytest.raises(ValueError, match="surrogate|nope"):
        LIFSRM(3, 10.0, surrogate_type="nope")
    cell = LIFSRM(3, 10.0)
    with pytest.raises((ValueError, TypeError)):
        cell(cell.init_state((2,)), jnp.ones((2, 5)))
