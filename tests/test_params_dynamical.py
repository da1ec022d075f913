"""Parameters of the AdEx, Izhikevich, FitzHugh-Nagumo, resonate-and-fire and
Hodgkin-Huxley cells are array leaves: vmap over a sweep equals a loop, jax.grad equals a
float64 finite difference, per-unit arrays equal separate cells, out-of-domain values
raise, the classes are final, and new values do not recompile."""

import inspect
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.cells import (
    AdExCell,
    FitzhughNagumoCell,
    HodgkinHuxleyCell,
    IzhikevichCell,
    RAFCell,
)
from ngcx.cells._base import AbstractCell, AbstractSpikingCell
from ngcx.cells._dynamical import AbstractRecoveryCell
from ngcx.diffeq import RK4, Euler, Midpoint
from ngcx.surrogates import ArcTan, Triangular


N, BATCH = 3, 2
CLASSES = (AdExCell, IzhikevichCell, FitzhughNagumoCell, RAFCell, HodgkinHuxleyCell)

# Per class: base kwargs, a shift of the initial v per unit, the input, dt and steps. Units 0
# and 1 stay well below threshold; unit 2 starts far above it, spikes at the first step and
# is reset (so reset parameters matter), then stays below threshold.
SCENARIOS = {
    AdExCell: dict(kw=dict(thr=-50.0), shift=(0.0, 3.0, 25.0), j=5.0, dt=0.5, steps=4),
    IzhikevichCell: dict(kw={}, shift=(0.0, 2.0, 100.0), j=5.0, dt=0.1, steps=4),
    FitzhughNagumoCell: dict(
        kw=dict(spike_reset=True, v0=0.1, w0=0.2), shift=(0.0, 0.2, 1.5), j=0.5, dt=0.1, steps=4
    ),
    RAFCell: dict(
        kw=dict(v_reset=0.2, w_reset=0.1, w0=0.3), shift=(0.0, 0.1, 1.5), j=1.0, dt=0.01, steps=4
    ),
    HodgkinHuxleyCell: dict(
        kw=dict(tau_v=1.0, spike_reset=True, v_reset=1.0),
        shift=(0.0, 1.0, 50.0),
        j=2.0,
        dt=0.01,
        steps=4,
    ),
}

# (class, parameter, grid of N values (the middle one is the point of the gradient check),
#  domain, extra kwargs). Thresholds only act through the spikes: see THRESHOLDS.
PARAMS = [
    (AdExCell, "tau_m", (10.0, 15.0, 20.0), "positive", {}),
    (AdExCell, "resist_m", (0.5, 1.0, 2.0), "positive", {}),
    (AdExCell, "tau_w", (100.0, 400.0, 800.0), "positive", {}),
    (AdExCell, "tau_w", (100.0, 400.0, 800.0), "positive", {"integration_type": "heun"}),
    (AdExCell, "v_sharpness", (1.0, 2.0, 3.0), "positive", {}),
    (AdExCell, "intrinsic_mem_thr", (-58.0, -55.0, -52.0), "real", {}),
    (AdExCell, "thr", (-55.0, -50.0, 0.0), "real", {}),
    (AdExCell, "v_rest", (-75.0, -72.0, -68.0), "real", {}),
    (AdExCell, "v_reset", (-80.0, -75.0, -70.0), "real", {}),
    (AdExCell, "a", (-0.1, 0.1, 0.5), "real", {}),
    (AdExCell, "b", (0.0, 0.75, 2.0), "real", {}),
    (AdExCell, "v0", (-72.0, -70.0, -66.0), "real", {}),
    (AdExCell, "w0", (-1.0, 0.5, 1.0), "real", {}),
    (IzhikevichCell, "tau_m", (0.5, 1.0, 2.0), "positive", {}),
    (IzhikevichCell, "resist_m", (0.5, 1.0, 2.0), "positive", {}),
    (IzhikevichCell, "v_thr", (25.0, 30.0, 35.0), "real", {}),
    (IzhikevichCell, "v_reset", (-70.0, -65.0, -55.0), "real", {}),
    (IzhikevichCell, "tau_w", (10.0, 50.0, 100.0), "positive", {}),
    (IzhikevichCell, "w_reset", (2.0, 8.0, 10.0), "real", {}),
    (IzhikevichCell, "coupling_factor", (0.1, 0.2, 0.25), "real", {}),
    (IzhikevichCell, "coupling_factor", (0.1, 0.2, 0.25), "real", {"integration_type": "rk4"}),
    (IzhikevichCell, "v0", (-70.0, -65.0, -60.0), "real", {}),
    (IzhikevichCell, "w0", (-16.0, -14.0, -10.0), "real", {}),
    (FitzhughNagumoCell, "tau_m", (0.5, 1.0, 2.0), "positive", {}),
    (FitzhughNagumoCell, "resist_m", (0.5, 1.0, 2.0), "positive", {}),
    (FitzhughNagumoCell, "tau_w", (5.0, 12.5, 20.0), "positive", {}),
    (FitzhughNagumoCell, "alpha", (0.5, 0.7, 0.9), "real", {}),
    (FitzhughNagumoCell, "beta", (0.6, 0.8, 1.0), "real", {}),
    (FitzhughNagumoCell, "gamma", (2.0, 3.0, 4.0), "positive", {}),
    (FitzhughNagumoCell, "v0", (0.0, 0.1, 0.3), "real", {}),
    (FitzhughNagumoCell, "w0", (0.0, 0.2, 0.4), "real", {}),
    (FitzhughNagumoCell, "v_thr", (0.9, 1.07, 1.2), "real", {}),
    (RAFCell, "tau_v", (0.5, 1.0, 2.0), "positive", {}),
    (RAFCell, "tau_w", (0.5, 1.0, 2.0), "positive", {}),
    (RAFCell, "thr", (0.8, 1.0, 1.2), "real", {}),
    (RAFCell, "omega", (5.0, 10.0, 15.0), "real", {}),
    (RAFCell, "omega", (5.0, 10.0, 15.0), "real", {"integration_type": "midpoint"}),
    (RAFCell, "dampen_factor", (-2.0, -1.0, -0.5), "real", {}),
    (RAFCell, "v_reset", (0.0, 0.2, 0.4), "real", {}),
    (RAFCell, "w_reset", (0.0, 0.1, 0.3), "real", {}),
    (RAFCell, "v0", (-0.2, 0.0, 0.2), "real", {}),
    (RAFCell, "w0", (0.1, 0.3, 0.5), "real", {}),
    (RAFCell, "resist_v", (0.5, 1.0, 2.0), "positive", {}),
    (HodgkinHuxleyCell, "tau_v", (0.5, 1.0, 2.0), "positive", {}),
    (HodgkinHuxleyCell, "resist_m", (0.5, 1.0, 2.0), "positive", {}),
    (HodgkinHuxleyCell, "v_Na", (110.0, 115.0, 120.0), "real", {}),
    (HodgkinHuxleyCell, "v_K", (-40.0, -35.0, -12.0), "real", {}),
    (HodgkinHuxleyCell, "v_L", (5.0, 10.6, 15.0), "real", {}),
    (HodgkinHuxleyCell, "g_Na", (80.0, 100.0, 120.0), "nonnegative", {}),
    (HodgkinHuxleyCell, "g_K", (0.0, 5.0, 36.0), "nonnegative", {}),
    (HodgkinHuxleyCell, "g_K", (0.0, 5.0, 36.0), "nonnegative", {"integration_type": "rk4"}),
    (HodgkinHuxleyCell, "g_L", (0.0, 0.3, 1.0), "nonnegative", {}),
    (HodgkinHuxleyCell, "thr", (3.0, 4.0, 6.0), "real", {}),
    (HodgkinHuxleyCell, "v_reset", (0.0, 1.0, 2.0), "real", {}),
]

# (class, threshold parameter, its value, which voltage the spike reads: the start or the
#  end of the step)
THRESHOLDS = [
    (AdExCell, "thr", -60.0, "end"),
    (IzhikevichCell, "v_thr", 30.0, "start"),
    (FitzhughNagumoCell, "v_thr", 1.07, "end"),
    (RAFCell, "thr", 1.0, "end"),
    (HodgkinHuxleyCell, "thr", 4.0, "end"),
]
_THRESHOLD_NAMES = {(cls, name) for cls, name, _, _ in THRESHOLDS}


def _id(row):
    cls, name, *_, extra = row
    return "-".join([cls.__name__, name, *map(str, extra.values())])


ROWS = [pytest.param(*row, id=_id(row)) for row in PARAMS]
SMOOTH_ROWS = [r for r, row in zip(ROWS, PARAMS, strict=True) if row[:2] not in _THRESHOLD_NAMES]


def _make(cls, extra=None, **kw):
    return cls(N, **{**SCENARIOS[cls]["kw"], **(extra or {}), **kw})


def _start(cell, dtype=jnp.float32):
    sc = SCENARIOS[type(cell)]
    state = cell.init_state((BATCH,), dtype=dtype)
    shift = jnp.asarray([sc["shift"]], dtype)
    j = jnp.full((BATCH, N), sc["j"], dtype) * jnp.asarray([[1.0], [1.25]], dtype)
    return eqx.tree_at(lambda s: s.v, state, state.v + shift), j


def _run(cell, dtype=jnp.float32):
    sc = SCENARIOS[type(cell)]
    state, j = _start(cell, dtype)
    for _ in range(sc["steps"]):
        state = cell(state, j, dt=sc["dt"])
    return state


def _smooth_sum(state):
    """The sum of the continuous state variables (not the spikes)."""
    names = ("v", "w") if hasattr(state, "w") else ("v", "m", "n", "h")
    return sum(jnp.sum(getattr(state, name)) for name in names)


_LOOP: dict = {}


def _loop(cls, name, value, extra):
    key = (cls, name, value, tuple(extra.items()))
    if key not in _LOOP:
        _LOOP[key] = _run(_make(cls, extra, **{name: value}))
    return _LOOP[key]


@pytest.mark.parametrize("cls,name,grid,domain,extra", ROWS)
def test_vmap_over_parameter_equals_loop(cls, name, grid, domain, extra):
    swept = jax.vmap(lambda p: _run(_make(cls, extra, **{name: p})))(jnp.asarray(grid))
    for k, value in enumerate(grid):
        one = _loop(cls, name, value, extra)
        for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(swept)):
            np.testing.assert_allclose(a, b[k], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,name,grid,domain,extra", ROWS)
def test_per_unit_parameter_equals_scalar_cells(cls, name, grid, domain, extra):
    per_unit = _run(_make(cls, extra, **{name: jnp.asarray(grid)}))
    assert per_unit.v.shape == (BATCH, N)
    for k, value in enumerate(grid):
        one = _loop(cls, name, value, extra)
        for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(per_unit)):
            if a.ndim:
                np.testing.assert_allclose(a[..., k], b[..., k], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cls,name,grid,domain,extra", SMOOTH_ROWS)
def test_grad_equals_float64_finite_difference(cls, name, grid, domain, extra):
    # a surrogate with a narrow support: no gradient leaks through the spikes, whose events
    # (unit 2 at the first step only) no parameter change of size eps can flip
    extra = {**extra, "surrogate_type": Triangular(width=1e-3)}
    with jax.enable_x64(True):

        def f(p):
            return _smooth_sum(_run(_make(cls, extra, **{name: p}), jnp.float64))

        p0 = jnp.asarray(grid[1], jnp.float64)
        grad = float(jax.grad(f)(p0))
        eps = 1e-6 * max(1.0, abs(grid[1]))
        fd = float((f(p0 + eps) - f(p0 - eps)) / (2 * eps))
    assert abs(fd) > 1e-6, "the parameter must change the objective"
    np.testing.assert_allclose(grad, fd, rtol=1e-5)


@pytest.mark.parametrize(
    "cls,name,value,which", THRESHOLDS, ids=lambda x: getattr(x, "__name__", str(x))
)
def test_threshold_grad_through_surrogate(cls, name, value, which):
    """d(sum of spikes)/d(thr) through the surrogate equals a finite difference of the
    surrogate's relaxation sum S(v - thr) at the voltage the cell compares."""
    surrogate = ArcTan()
    sc = SCENARIOS[cls]
    with jax.enable_x64(True):
        state, j = _start(_make(cls), jnp.float64)

        def spikes(thr):
            cell = _make(cls, surrogate_type=surrogate, **{name: thr})
            return jnp.sum(cell(state, j, dt=sc["dt"]).s)

        # the voltage at the end of the step does not depend on the threshold: read it from
        # a cell that never spikes (so it is not reset)
        silent = _make(cls, **{name: 1e9})
        v = state.v if which == "start" else silent(state, j, dt=sc["dt"]).v

        def relaxed(thr):
            return jnp.sum(surrogate.surr_fx(v, thr))

        p0 = jnp.asarray(value, jnp.float64)
        grad = float(jax.grad(spikes)(p0))
        eps = 1e-6 * max(1.0, abs(value))
        fd = float((relaxed(p0 + eps) - relaxed(p0 - eps)) / (2 * eps))
    assert abs(fd) > 1e-4
    np.testing.assert_allclose(grad, fd, rtol=1e-5)


@pytest.mark.parametrize("cls,name,grid,domain,extra", ROWS)
def test_out_of_domain_raises(cls, name, grid, domain, extra):
    bad = {"positive": 0.0, "nonnegative": -1.0, "real": float("nan")}[domain]
    with pytest.raises(ValueError, match=f"`{name}`"):
        _make(cls, extra, **{name: bad})
    with pytest.raises(ValueError, match=f"`{name}`"):
        _make(cls, extra, **{name: jnp.asarray([grid[0], bad, grid[2]])})
    with pytest.raises(ValueError, match=f"`{name}`"):
        _make(cls, extra, **{name: jnp.ones(N + 1)})
    if domain == "positive":
        with pytest.raises(ValueError, match=f"`{name}`"):
            _make(cls, extra, **{name: -1.0})


def test_classes_are_final_under_abstract_bases():
    for a, b in itertools.permutations(CLASSES, 2):
        assert not issubclass(a, b)
    for cls in CLASSES:
        assert not inspect.isabstract(cls)
        cell = _make(cls)
        assert isinstance(cell, AbstractSpikingCell)
        expected = HodgkinHuxleyCell is not cls
        assert isinstance(cell, AbstractRecoveryCell) == expected
        for base in cls.__mro__[1:]:
            if issubclass(base, AbstractCell):
                assert base.__name__.startswith(("Abstract", "_Abstract"))
                assert inspect.isabstract(base)
                # a final class implements abstract methods only, overrides nothing concrete
                for attr in set(vars(cls)) & set(vars(base)):
                    if not attr.startswith(("__", "_abc")) or attr == "__call__":
                        assert attr in base.__abstractmethods__, (cls, attr, base)
    assert inspect.isabstract(AbstractRecoveryCell)
    assert {"derivative", "_integrate", "_spikes", "_after_spike", "_input_current"} <= set(
        AbstractRecoveryCell.__abstractmethods__
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_new_parameter_values_compile_once(cls):
    traces = []

    @eqx.filter_jit
    def step(cell, state, j):
        traces.append(None)
        return cell(state, j, dt=SCENARIOS[cls]["dt"])

    rows = [(name, grid) for c, name, grid, _, extra in PARAMS if c is cls and not extra]
    outs = []
    for k in range(3):
        cell = _make(cls, **{name: grid[k] for name, grid in rows})
        outs.append(step(cell, *_start(cell)).v)
    assert len(traces) == 1
    assert not np.allclose(outs[0], outs[1])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_integration_type_name_or_object(cls):
    for name, obj in (("euler", Euler()), ("midpoint", Midpoint()), ("rk4", RK4())):
        by_name, by_obj = _make(cls, integration_type=name), _make(cls, integration_type=obj)
        assert by_name.integrator == obj and by_obj.integration_type == name
        for a, b in zip(
            jax.tree_util.tree_leaves(_run(by_name)), jax.tree_util.tree_leaves(_run(by_obj))
        ):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="integration_type"):
        _make(cls, integration_type="leapfrog")
