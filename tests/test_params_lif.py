"""Integrate-and-fire cells' numeric parameters are array leaves: vmap over a sweep equals a
loop, jax.grad equals float64 finite differences, per-unit arrays equal separate cells,
domains are checked, the classes are final, and a new value does not recompile."""

import inspect
import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.cells import IFCell, LIFCell, QuadLIFCell, SLIFCell, WTASCell
from ngcx.cells._base import AbstractSpikingCell
from ngcx.cells._lif import _AbstractLIF
from ngcx.diffeq import RK4, Midpoint
from ngcx.surrogates import ArcTan, Triangular


N = 4  # units; every grid has N values so it doubles as a per-unit array
KEY = jax.random.key(0)  # the jitter and inhibitory weights of SLIF/WTAS cells
LIF_FAMILY = ("LIF", "IF", "Quad")

# Base arguments for the vmap/loop and per-unit tests (the classes' own surrogates).
BASE = {
    "LIF": dict(tau_m=10.0, tau_theta=20.0, theta_plus=0.5, refract_time=1.5),
    "IF": dict(tau_m=10.0, refract_time=1.5),
    "Quad": dict(tau_m=10.0, critical_v=0.05, tau_theta=20.0, theta_plus=0.5, refract_time=1.5),
    "SLIF": dict(tau_m=10.0, resist_m=1.0, thr=0.5, resist_inh=0.2, thr_gain=0.05,
                 thr_leak=0.01, refract_time=1.5),
    "WTAS": dict(tau_m=1.0, thr_gain=0.01, refract_time=1.5),
}  # fmt: skip

# Base arguments for the gradient tests: spikes far above threshold and sub-threshold units
# far below it, measured in surrogate widths, so the surrogate path carries nothing and
# jax.grad is the true derivative of the simulation (the spike pattern does not change
# within the finite-difference step; the test checks that too).
NARROW = Triangular(width=0.05)
GRAD_BASE = {
    "LIF": dict(BASE["LIF"], surrogate_type="triangular"),
    "IF": dict(BASE["IF"], surrogate_type="triangular"),
    "Quad": dict(BASE["Quad"], surrogate_type="triangular"),
    "SLIF": dict(BASE["SLIF"], surrogate_type=NARROW),
    "WTAS": dict(BASE["WTAS"]),  # straight-through: spikes never reach the objective
}

SWEEPS = {  # class -> parameter -> (grid, domain)
    "LIF": {
        "tau_m": ([5.0, 10.0, 20.0, 40.0], "positive"),
        "resist_m": ([0.5, 1.0, 2.0, 4.0], "positive"),
        "thr": ([-55.0, -52.0, -50.0, -45.0], "real"),
        "v_rest": ([-70.0, -65.0, -60.0, -55.0], "real"),
        "v_reset": ([-70.0, -65.0, -60.0, -55.0], "real"),
        "conduct_leak": ([0.0, 0.5, 1.0, 2.0], "nonnegative"),
        "tau_theta": ([-1.0, 0.0, 5.0, 50.0], "real"),  # <= 0: no adaptation
        "theta_plus": ([0.0, 0.05, 0.5, 5.0], "nonnegative"),
        "refract_time": ([0.0, 1.0, 2.5, 5.0], "nonnegative"),
        "v_min": ([-80.0, -70.0, -64.5, -60.0], "real"),
    },
    "IF": {
        "tau_m": ([5.0, 10.0, 20.0, 40.0], "positive"),
        "resist_m": ([0.5, 1.0, 2.0, 4.0], "positive"),
        "thr": ([-55.0, -52.0, -50.0, -45.0], "real"),
        "v_rest": ([-70.0, -65.0, -60.0, -55.0], "real"),
        "v_reset": ([-70.0, -65.0, -60.0, -55.0], "real"),
        "refract_time": ([0.0, 1.0, 2.5, 5.0], "nonnegative"),
    },
    "Quad": {
        "tau_m": ([5.0, 10.0, 20.0, 40.0], "positive"),
        "resist_m": ([0.5, 1.0, 2.0, 4.0], "positive"),
        "thr": ([-55.0, -52.0, -50.0, -45.0], "real"),
        "v_rest": ([-70.0, -65.0, -60.0, -55.0], "real"),
        "v_reset": ([-70.0, -65.0, -60.0, -55.0], "real"),
        "v_scale": ([-45.0, -41.6, -38.0, -30.0], "real"),
        "critical_v": ([0.01, 0.05, 0.1, 0.2], "positive"),
        "tau_theta": ([-1.0, 0.0, 5.0, 50.0], "real"),
        "theta_plus": ([0.0, 0.05, 0.5, 5.0], "nonnegative"),
        "refract_time": ([0.0, 1.0, 2.5, 5.0], "nonnegative"),
        "v_min": ([-80.0, -70.0, -64.5, -60.0], "real"),
    },
    "SLIF": {
        "tau_m": ([5.0, 10.0, 20.0, 40.0], "positive"),
        "resist_m": ([0.5, 1.0, 2.0, 4.0], "positive"),
        "thr": ([0.3, 0.5, 0.7, 1.0], "real"),
        "resist_inh": ([0.0, 0.1, 0.5, 1.0], "nonnegative"),  # 0: the matmul is left out
        "thr_gain": ([0.0, 0.01, 0.1, 0.5], "nonnegative"),
        "thr_leak": ([0.0, 0.01, 0.05, 0.1], "nonnegative"),
        "rho_b": ([0.0, 0.01, 0.05, 0.1], "nonnegative"),  # 0: the gain/leak rule
        "refract_time": ([0.0, 1.0, 2.5, 5.0], "nonnegative"),
        "thr_jitter": ([0.0, 0.01, 0.05, 0.1], "nonnegative"),
    },
    "WTAS": {
        "tau_m": ([0.5, 1.0, 2.0, 4.0], "real"),  # unused, as in ngc-learn
        "resist_m": ([0.5, 1.0, 2.0, 4.0], "positive"),
        "thr_base": ([0.2, 0.3, 0.4, 0.5], "real"),
        "thr_gain": ([0.0, 0.002, 0.01, 0.05], "nonnegative"),
        "refract_time": ([0.0, 1.0, 2.5, 5.0], "nonnegative"),
        "thr_jitter": ([0.0, 0.01, 0.05, 0.1], "nonnegative"),
    },
}
GRAD_AT = {  # a base value for the gradient test where the default one has no effect
    ("LIF", "v_min"): -64.5,
    ("Quad", "v_min"): -64.5,
    ("SLIF", "rho_b"): 0.01,  # rho_b > 0 selects the homeostatic rule
}
ZERO_GRAD = {("WTAS", "tau_m")}  # unused: its derivative is (correctly) 0

CASES = [(c, p) for c, params in SWEEPS.items() for p in params]
IDS = [f"{c}-{p}" for c, p in CASES]


def build(cls, dtype=None, **kw):
    if cls == "LIF":
        return LIFCell(N, **kw)
    if cls == "IF":
        return IFCell(N, **kw)
    if cls == "Quad":
        return QuadLIFCell(N, **kw)
    extra = {} if dtype is None else {"dtype": dtype}
    if cls == "SLIF":
        return SLIFCell(N, key=KEY, **kw, **extra)
    return WTASCell(N, key=KEY, **kw, **extra)


def init(cell, batch_shape, dtype):
    if isinstance(cell, _AbstractLIF):
        return cell.init_state(batch_shape, dtype)
    return cell.init_state(batch_shape)  # SLIF/WTAS: the dtype given at construction


def inputs(cls, dtype=jnp.float32):
    """Input currents, (steps, 2, N): spikes now and then, sub-threshold elsewhere."""
    scale = {"LIF": 300.0, "IF": 300.0, "Quad": 300.0, "SLIF": 10.0, "WTAS": 5.0}[cls]
    u = jax.random.uniform(jax.random.key(1), (6, 2, N), jnp.float32)
    return (scale * u).astype(dtype)


def simulate(cell, js, dtype=jnp.float32):
    state = init(cell, js.shape[1:-1], dtype)
    spikes = []
    for j in js:
        state = cell(state, j, dt=1.0)
        spikes.append(state.s)
    return state, jnp.stack(spikes)


_sim_jit = eqx.filter_jit(simulate)


def assert_trees_close(a, b, rtol=1e-5, atol=1e-5):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# --- vmap over a sweep equals a loop ----------------------------------------------------


@pytest.mark.parametrize("cls,name", CASES, ids=IDS)
def test_vmap_over_parameter_equals_loop(cls, name):
    grid, _ = SWEEPS[cls][name]
    js = inputs(cls)

    def run(p):
        return simulate(build(cls, **{**BASE[cls], name: p}), js)

    swept = jax.vmap(run)(jnp.asarray(grid, jnp.float32))
    looped = [_sim_jit(build(cls, **{**BASE[cls], name: p}), js) for p in grid]
    stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *looped)
    assert_trees_close(swept, stacked)
    # the sweep matters: the final states are not all equal (except for unused tau_m)
    if (cls, name) not in ZERO_GRAD:
        leaves = jax.tree_util.tree_leaves(swept[0])
        assert any(not np.allclose(x[0], x[-1]) for x in leaves if x.ndim > 1)


# --- jax.grad equals float64 finite differences ------------------------------------------


def _grad_protocol(cls, dtype):
    """(currents (steps, N), objective of the final state) for the gradient tests."""
    if cls in LIF_FAMILY:
        j = jnp.asarray([[2.0, 10.0, 20.0, 400.0]] * 4, dtype)

        def objective(cell, state):
            return jnp.sum(state.v) + jnp.sum(cell.threshold(state)) + 0.1 * jnp.sum(state.rfr)

    elif cls == "SLIF":
        j = jnp.asarray([[0.0, 0.3, 0.6, 60.0]] * 4, dtype)

        def objective(cell, state):
            return jnp.sum(state.v) + jnp.sum(state.thr) + 0.1 * jnp.sum(state.rfr)

    else:  # WTAS: a winner, no winner (thresholds drift), a winner
        big = [0.0, 1.0, 2.0, 8.0]
        j = jnp.asarray([big, [0.0] * N, big], dtype)
        w = jnp.asarray([[0.3, -0.7, 1.1, 0.5]], dtype)

        def objective(cell, state):
            return jnp.sum(state.v * w) + jnp.sum(state.thr) + 0.1 * jnp.sum(state.rfr)

    return j, objective


@pytest.mark.parametrize("cls,name", CASES, ids=IDS)
def test_grad_equals_float64_finite_difference(cls, name):
    grid, _ = SWEEPS[cls][name]
    with jax.enable_x64(True):
        dtype = jnp.float64
        js, objective = _grad_protocol(cls, dtype)
        kw = dict(GRAD_BASE[cls])
        p0 = GRAD_AT.get((cls, name), kw.get(name, grid[1]))

        def f(p):
            cell = build(cls, dtype=dtype, **{**kw, name: p})
            state, spikes = simulate(cell, js[:, None], dtype)
            return objective(cell, state), spikes

        (value, spikes), grad = jax.value_and_grad(f, has_aux=True)(jnp.asarray(p0, dtype))
        eps = 1e-6 * max(1.0, abs(p0))
        (fp, sp), (fm, sm) = f(p0 + eps), f(p0 - eps)
        fd = (fp - fm) / (2 * eps)
        # no spike flips within the step, and some unit spiked (the protocol is not trivial)
        np.testing.assert_array_equal(sp, spikes)
        np.testing.assert_array_equal(sm, spikes)
        assert float(spikes.sum()) > 0
        assert np.isfinite(float(value))
        np.testing.assert_allclose(float(grad), float(fd), rtol=1e-5, atol=1e-8)
        if (cls, name) not in ZERO_GRAD:
            assert abs(float(fd)) > 1e-4, "the objective does not depend on the parameter"


LIF_THROUGH_SURROGATE = [
    ("LIF", p)
    for p in ("tau_m", "resist_m", "thr", "v_rest", "v_reset", "conduct_leak", "tau_theta",
              "theta_plus")
] + [("IF", p) for p in ("tau_m", "resist_m", "thr", "v_rest", "v_reset")] + [
    ("Quad", p) for p in ("tau_m", "thr", "v_rest", "v_reset", "v_scale", "critical_v")
]  # fmt: skip


@pytest.mark.parametrize(
    "cls,name", LIF_THROUGH_SURROGATE, ids=[f"{c}-{p}" for c, p in LIF_THROUGH_SURROGATE]
)
def test_grad_through_spikes_equals_frozen_spike_relaxation(cls, name):
    """With spikes in the loss and a smooth surrogate (arctan), jax.grad w.r.t. a parameter
    (``thr`` included: it reaches the loss only through the spikes) equals the derivative
    of the 'frozen-spike' relaxation s_t = H_t + S(x_t) - S(x_t^0) (same forward values,
    derivative the surrogate's), computed by float64 finite differences of an independent
    NumPy re-implementation of the cell."""
    T, dt, alpha = 10, 1.0, 0.5
    rng = np.random.default_rng(3)
    J = rng.uniform(0.0, 120.0, (T, N))
    readout = rng.normal(size=(T, N))
    base = dict(tau_m=8.0, resist_m=1.2, thr=-52.0, v_rest=-65.0, v_reset=-60.0, refract_time=1.5)
    if cls == "LIF":
        base.update(conduct_leak=0.8, tau_theta=15.0, theta_plus=0.7)
    if cls == "Quad":
        base.update(v_scale=-41.6, critical_v=0.05, tau_theta=15.0, theta_plus=0.7)

    def relax(x):
        return np.arctan(np.pi * alpha * x / 2) / np.pi

    def reference(p, frozen=None):
        v, theta, rfr = np.full(N, p["v_rest"]), np.zeros(N), np.full(N, p["refract_time"])
        total, record = 0.0, []
        for t in range(T):
            j = p["resist_m"] * J[t] * (rfr >= p["refract_time"])
            if cls == "LIF":
                drive = p["conduct_leak"] * (p["v_rest"] - v) + j
            elif cls == "IF":
                drive = j
            else:
                drive = p["critical_v"] * (v - p["v_rest"]) * (v - p["v_scale"]) + j
            v = v + dt / p["tau_m"] * drive
            x = v - (p["thr"] + theta)
            if frozen is None:
                h = (x > 0).astype(np.float64)
                record.append((h, relax(x)))
                s = h
            else:
                h, s0 = frozen[t]
                s = h + relax(x) - s0
            v = v * (1 - s) + s * p["v_reset"]
            rfr = (rfr + dt) * (1 - h)
            if cls != "IF":
                theta = theta * math.exp(-dt / p["tau_theta"]) + p["theta_plus"] * h
            else:
                v = np.maximum(v, p["v_rest"])
            total += float(np.sum(readout[t] * s))
        return total + float(np.sum(v)), record

    with jax.enable_x64(True):
        Jx, R = jnp.asarray(J), jnp.asarray(readout)

        def loss(value):
            kw = {**base, name: value, "surrogate_type": ArcTan(alpha=alpha)}
            cell = build(cls, **kw)
            state = cell.init_state(dtype=jnp.float64)
            total = jnp.zeros((), jnp.float64)
            for t in range(T):
                state = cell(state, Jx[t], dt=dt)
                total = total + jnp.sum(R[t] * state.s)
            return total + jnp.sum(state.v)

        p0 = base[name]
        value, grad = jax.value_and_grad(loss)(jnp.asarray(p0, jnp.float64))
    ref, frozen = reference(base)
    assert sum(float(h.sum()) for h, _ in frozen) >= 3  # spikes happen
    np.testing.assert_allclose(float(value), ref, rtol=1e-10)
    eps = 1e-6 * max(1.0, abs(p0))
    fd = (
        reference({**base, name: p0 + eps}, frozen)[0]
        - reference({**base, name: p0 - eps}, frozen)[0]
    ) / (2 * eps)
    np.testing.assert_allclose(float(grad), fd, rtol=1e-5, atol=1e-7)
    assert abs(fd) > 1e-3


# --- per-unit arrays ----------------------------------------------------------------------


def _slif_reference(cell, js, p):
    """NumPy SLIF step with (possibly per-unit) parameters `p`."""
    thr0, w = np.asarray(cell.threshold0), np.asarray(cell.inh_weights)
    v = np.zeros(js.shape[1:])
    s = np.zeros_like(v)
    thr = np.broadcast_to(thr0, v.shape).copy()
    rfr = np.zeros_like(v) + p["refract_time"]
    for j in js:
        cur = p["resist_m"] * j - p["resist_inh"] * (s @ w)
        mask = (rfr >= p["refract_time"]).astype(np.float64)
        v = v + 1.0 * ((cur - v) / p["tau_m"]) * mask
        s = (v > thr).astype(np.float64)
        v = (1 - s) * v
        homeo = np.maximum(thr + p["rho_b"] * (s.sum(-1, keepdims=True) - 1), 0.025)
        thr = np.where(p["rho_b"] > 0, homeo, thr + p["thr_gain"] * s - p["thr_leak"] * thr)
        rfr = (rfr + 1.0) * (1 - s) + s * 1.0
    return v, s, thr, rfr


def _wtas_reference(cell, js, p):
    thr = np.broadcast_to(np.asarray(cell.threshold0), js.shape[1:]).copy()
    rfr = np.zeros(js.shape[1:]) + p["refract_time"]
    for j in js:
        v = j * p["resist_m"] * (rfr >= p["refract_time"])
        e = np.exp(v - v.max(-1, keepdims=True))
        s = (e / e.sum(-1, keepdims=True) > thr).astype(np.float64)
        thr = np.maximum(thr + p["thr_gain"] * (s.sum(-1, keepdims=True) - 1), 0.025)
        rfr = (rfr + 1.0) * (1 - s) + s * 1.0
    return v, s, thr, rfr


SLIF_DEFAULTS = dict(resist_inh=0.0, thr_gain=0.0, thr_leak=0.0, rho_b=0.0, refract_time=0.0)
WTAS_DEFAULTS = dict(resist_m=1.0, thr_gain=0.002, refract_time=0.0)


@pytest.mark.parametrize("cls,name", CASES, ids=IDS)
def test_per_unit_parameter(cls, name):
    grid, _ = SWEEPS[cls][name]
    vec = jnp.asarray(grid, jnp.float32)
    if cls in LIF_FAMILY:
        # units do not interact: column i of the per-unit cell is the scalar cell grid[i]
        js = inputs(cls)
        per_unit = simulate(build(cls, **{**BASE[cls], name: vec}), js)
        for i, p in enumerate(grid):
            scalar = _sim_jit(build(cls, **{**BASE[cls], name: p}), js)
            col = jax.tree_util.tree_map(lambda x: x[..., i] if x.ndim > 0 else x, scalar)
            mine = jax.tree_util.tree_map(lambda x: x[..., i] if x.ndim > 0 else x, per_unit)
            assert_trees_close(mine, col)
        return
    # SLIF/WTAS units interact (inhibition, homeostasis, softmax): compare with NumPy
    with jax.enable_x64(True):
        js = inputs(cls, jnp.float64)
        cell = build(cls, dtype=jnp.float64, **{**BASE[cls], name: jnp.asarray(grid)})
        state, _ = simulate(cell, js, jnp.float64)
        defaults = SLIF_DEFAULTS if cls == "SLIF" else WTAS_DEFAULTS
        p = {**defaults, **BASE[cls], name: np.asarray(grid)}
        ref = (_slif_reference if cls == "SLIF" else _wtas_reference)(cell, np.asarray(js), p)
        for got, want in zip((state.v, state.s, state.thr, state.rfr), ref, strict=True):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-9, atol=1e-12)
        if name in ("thr", "thr_base", "thr_jitter"):  # drawn per unit at construction
            for i, value in enumerate(grid):
                scalar = build(cls, dtype=jnp.float64, **{**BASE[cls], name: value})
                np.testing.assert_allclose(cell.threshold0[i], scalar.threshold0[i], rtol=1e-12)


# --- domains, shapes ----------------------------------------------------------------------

BAD = {"positive": [0.0, -1.0], "nonnegative": [-0.5], "real": [math.nan, math.inf]}


@pytest.mark.parametrize("cls,name", CASES, ids=IDS)
def test_out_of_domain_values_raise(cls, name):
    grid, domain = SWEEPS[cls][name]
    for bad in BAD[domain]:
        with pytest.raises(ValueError, match=f"`{name}`"):
            build(cls, **{**BASE[cls], name: bad})
        with pytest.raises(ValueError, match=f"`{name}`"):  # one bad unit
            build(cls, **{**BASE[cls], name: jnp.asarray([grid[0]] * (N - 1) + [bad])})
    with pytest.raises(ValueError, match=f"`{name}`.*shape"):
        build(cls, **{**BASE[cls], name: jnp.ones((N + 1,))})


def test_v_min_none_is_a_static_choice():
    assert LIFCell(N, 10.0).v_min is None
    assert IFCell(N, 10.0, lower_clamp_voltage=False).v_min is None
    leaves = jax.tree_util.tree_leaves(LIFCell(N, 10.0, v_min=-70.0))
    assert len(leaves) == len(jax.tree_util.tree_leaves(LIFCell(N, 10.0))) + 1


def test_static_flags_only_for_concrete_zeros():
    """A concrete 0 leaves a term out (static flag); a traced value keeps it; same values."""
    assert not LIFCell(N, 10.0, refract_time=0.0).refractory
    assert LIFCell(N, 10.0, refract_time=1.0).refractory
    assert not IFCell(N, 10.0).refractory
    assert not SLIFCell(N, 10.0, 1.0, 0.5, key=KEY).lateral_inhibition
    assert SLIFCell(N, 10.0, 1.0, 0.5, key=KEY, resist_inh=0.1).lateral_inhibition
    flags = []

    def run(refract_time, resist_inh):
        lif = LIFCell(N, 10.0, refract_time=refract_time)
        slif = SLIFCell(N, 10.0, 1.0, 0.5, key=KEY, resist_inh=resist_inh)
        flags.append((lif.refractory, slif.lateral_inhibition))
        return _sim_jit(lif, inputs("LIF")), _sim_jit(slif, inputs("SLIF"))

    traced = jax.jit(run)(0.0, 0.0)
    assert flags == [(True, True)]
    assert_trees_close(traced, run(0.0, 0.0), rtol=1e-6, atol=1e-6)
    assert flags[-1] == (False, False)


def test_nonpositive_tau_theta_freezes_the_adaptive_threshold():
    """tau_theta <= 0 (per unit, traced or not) leaves thr_theta as it is: no decay and no
    increment; tau_theta > 0 decays it and adds theta_plus per spike."""
    tau_theta = jnp.asarray([-1.0, 0.0, 5.0, 50.0])

    def step(tau_theta):
        cell = LIFCell(N, 10.0, tau_theta=tau_theta, theta_plus=0.5, refract_time=0.0)
        state = eqx.tree_at(lambda s: s.thr_theta, cell.init_state((2,)), jnp.full((2, N), 2.0))
        return cell(state, jnp.asarray([[0.0] * N, [500.0] * N]), dt=1.0).thr_theta

    decayed = 2.0 * np.exp(-1.0 / np.asarray([5.0, 50.0]))
    want = np.asarray([[2.0, 2.0, *decayed], [2.0, 2.0, *(decayed + 0.5)]])
    np.testing.assert_allclose(step(tau_theta), want, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(step)(tau_theta), want, rtol=1e-6)
    swept = jax.vmap(step)(tau_theta)  # scalar tau_theta per run
    for i in range(N):
        np.testing.assert_allclose(swept[i][:, i], want[:, i], rtol=1e-6)


# --- abstract/final -------------------------------------------------------------------------

FINALS = [LIFCell, IFCell, QuadLIFCell, SLIFCell, WTASCell]


def test_classes_are_final_and_override_no_concrete_method():
    for a, b in itertools.permutations(FINALS, 2):
        assert not issubclass(a, b), (a, b)
    for cls in FINALS:
        assert issubclass(cls, AbstractSpikingCell)
        for name, obj in cls.__dict__.items():
            if not inspect.isfunction(obj) or name == "__init__":
                continue
            for base in cls.__mro__[1:]:
                inherited = base.__dict__.get(name)
                if inspect.isfunction(inherited):
                    assert getattr(inherited, "__isabstractmethod__", False), (cls, name)
    for cls in (LIFCell, IFCell, QuadLIFCell):
        assert issubclass(cls, _AbstractLIF)
    assert not issubclass(SLIFCell, _AbstractLIF) and not issubclass(WTASCell, _AbstractLIF)
    with pytest.raises(TypeError, match="abstract"):
        _AbstractLIF()


def test_instances_and_integrator_objects():
    cells = [build(c, **BASE[c]) for c in SWEEPS]
    assert all(isinstance(c, AbstractSpikingCell) for c in cells)
    by_name = LIFCell(N, 10.0, integration_type="rk4")
    by_object = LIFCell(N, 10.0, integration_type=RK4())
    assert by_name.integration_type == by_object.integration_type == "rk4"
    assert QuadLIFCell(N, 10.0, integration_type=Midpoint()).integration_type == "midpoint"
    js = inputs("LIF")
    assert_trees_close(_sim_jit(by_name, js), _sim_jit(by_object, js), rtol=0, atol=0)


# --- one compilation for different values ----------------------------------------------------


@pytest.mark.parametrize("cls", list(SWEEPS))
def test_new_parameter_values_do_not_recompile(cls):
    traces = []

    @eqx.filter_jit
    def step(cell, state, j):
        traces.append(None)  # runs once per trace
        return cell(state, j, dt=1.0)

    j = inputs(cls)[0]
    outs = []
    for scale in (1.0, 1.5, 2.0):
        kw = {
            name: (grid[1] * scale if domain != "real" else grid[1] + scale)
            for name, (grid, domain) in SWEEPS[cls].items()
            if name not in ("v_min",)
        }
        cell = build(cls, **kw)
        outs.append(step(cell, init(cell, (2,), jnp.float32), j))
    assert len(traces) == 1
    leaves = zip(jax.tree_util.tree_leaves(outs[0]), jax.tree_util.tree_leaves(outs[2]))
    assert any(not np.allclose(a, b) for a, b in leaves)


# --- the issue's example -------------------------------------------------------------------


def test_issue_example_vmap_over_tau_m_and_grad_wrt_thr():
    taus = jnp.linspace(5.0, 50.0, 8)
    v = jax.vmap(
        lambda tau: LIFCell(10, tau_m=tau)(LIFCell(10, tau_m=tau).init_state(), jnp.ones(10), dt=1.0).v
    )(taus)  # fmt: skip
    assert v.shape == (8, 10)
    np.testing.assert_allclose(v, -65.0 + (1.0 / taus)[:, None] * np.ones((8, 10)), rtol=1e-6)

    def total_v(thr):
        cell = LIFCell(10, tau_m=20.0, thr=thr)
        return cell(cell.init_state(), jnp.ones(10), dt=1.0).v.sum()

    g = jax.grad(total_v)(-52.0)
    # v = v_new (1 - s) + s v_reset and ds/dthr = -1 (straight-through): dv/dthr = v_new - v_reset
    v_new = -65.0 + 1.0 / 20.0
    np.testing.assert_allclose(g, 10 * (v_new - -60.0), rtol=1e-6)
    # a subthreshold objective with a narrow surrogate has the true derivative, 0
    narrow = jax.grad(
        lambda thr: LIFCell(10, 20.0, thr=thr, surrogate_type=Triangular(width=1.0))(
            LIFCell(10, 20.0).init_state(), jnp.ones(10), dt=1.0).v.sum()
    )(-52.0)  # fmt: skip
    assert float(narrow) == 0.0
