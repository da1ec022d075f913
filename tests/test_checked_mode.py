"""Checked mode (``ngcx.debug_nans``) and the step checks of every public cell: a concrete
``dt <= 0`` is refused naming `dt`; in checked mode a NaN input raises an error naming the
cell; traced parameters are domain-checked; random valid configurations stay finite."""

import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ngcx
from ngcx import cells as C


N = 3
K = jax.random.key(0)


def _x(value=0.5):
    return jnp.full((2, N), value, jnp.float32)


def _stateful(cell, *extra, **kw):
    """cell(state, j, *extra, dt=dt) for cells whose state starts from init_state((2,))."""

    def step(j, dt=1.0):
        return cell(cell.init_state((2,)), j, *extra, dt=dt, **kw)

    return step


# every public concrete cell: a step taking the drive (a NaN drive must be caught) and dt
DRIVERS = {
    "LIFCell": lambda: _stateful(C.LIFCell(N, tau_m=10.0)),
    "IFCell": lambda: _stateful(C.IFCell(N, tau_m=10.0)),
    "QuadLIFCell": lambda: _stateful(C.QuadLIFCell(N, tau_m=10.0)),
    "SLIFCell": lambda: _stateful(C.SLIFCell(N, 10.0, 1.0, 0.5, key=K)),
    "WTASCell": lambda: _stateful(C.WTASCell(N, 10.0, key=K)),
    "AdExCell": lambda: _stateful(C.AdExCell(N)),
    "IzhikevichCell": lambda: _stateful(C.IzhikevichCell(N)),
    "FitzhughNagumoCell": lambda: _stateful(C.FitzhughNagumoCell(N)),
    "RAFCell": lambda: _stateful(C.RAFCell(N)),
    "HodgkinHuxleyCell": lambda: _stateful(C.HodgkinHuxleyCell(N, tau_v=1.0)),
    "RateCell": lambda: _stateful(C.RateCell(N, tau_m=10.0)),
    "LIFSRM": lambda: _stateful(C.LIFSRM(N, tau_m=10.0)),
    "RAFSRM": lambda: _stateful(C.RAFSRM(N)),
    "LeakyNoiseCell": lambda: _stateful(C.LeakyNoiseCell(N, tau_x=10.0), key=K),
    "PoissonCell": lambda: _stateful(C.PoissonCell(N), key=K),
    "BernoulliCell": lambda: _stateful(C.BernoulliCell(N), key=K),
    "PhasorCell": lambda: _stateful(C.PhasorCell(N, key=K), key=K),
    "RewardErrorCell": lambda: _stateful(C.RewardErrorCell(N, alpha=0.1)),
    "VarTrace": lambda: lambda s, dt=1.0: C.VarTrace(N, 5.0, 1.0)(_x(0.0) + s * 0 + s, s, dt=dt),
    "LatencyCell": lambda: (
        lambda x, dt=1.0: (lambda c: c(c.init_state(x), dt=dt))(C.LatencyCell(N))
    ),
    "TTFSCell": lambda: lambda x, dt=1.0: (lambda c: c(c.init_state(x), dt=dt))(C.TTFSCell(N)),
    "ExpKernel": lambda: (
        lambda s, dt=None: (lambda c: c(c.init_state((2,)), s))(C.ExpKernel(N, dt=1.0))
    ),
    "GaussianErrorCell": lambda: lambda mu, dt=None: C.GaussianErrorCell(N)(mu, _x()),
    "LaplacianErrorCell": lambda: lambda mu, dt=None: C.LaplacianErrorCell(N)(mu, _x()),
    "BernoulliErrorCell": lambda: lambda mu, dt=None: C.BernoulliErrorCell(N)(mu, _x()),
    "RetinalGanglionCell": lambda: (
        lambda x, dt=None: C.RetinalGanglionCell("gaussian", (4, 4), 4, (2, 2), (2, 2))(
            jnp.broadcast_to(x[..., :1, None], (2, 4, 4))
        )
    ),
}
NO_DT = {
    "ExpKernel",
    "GaussianErrorCell",
    "LaplacianErrorCell",
    "BernoulliErrorCell",
    "RetinalGanglionCell",
}


def _public_cells():
    out = []
    for name in C.__all__:
        obj = getattr(C, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, eqx.Module)
            and not inspect.isabstract(obj)
            and not name.startswith("Abstract")
            and any("__call__" in vars(k) for k in obj.__mro__ if k is not eqx.Module)
            and hasattr(obj, "n_units")
        ):
            out.append(name)
    return out


def test_every_public_cell_has_a_driver():
    missing = sorted(set(_public_cells()) - set(DRIVERS))
    assert not missing, f"add these cells to DRIVERS: {missing}"


pytestmark = pytest.mark.usefixtures("normal_use")


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_valid_step_is_finite_and_unchecked_outside_the_mode(name):
    step = DRIVERS[name]()
    out = step(_x())
    for leaf in jax.tree_util.tree_leaves(out):
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating):
            assert np.all(np.isfinite(np.asarray(leaf)) | np.isneginf(np.asarray(leaf))), name


@pytest.mark.parametrize("name", sorted(set(DRIVERS) - NO_DT))
@pytest.mark.parametrize("dt", [0.0, -1.0, float("nan")])
def test_concrete_dt_must_be_positive(name, dt):
    step = DRIVERS[name]()
    with pytest.raises(ValueError, match=r"`dt` of \w+ must be finite and > 0"):
        step(_x(), dt=dt)


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_checked_mode_names_the_cell_on_a_nan_input(name):
    step = DRIVERS[name]()
    cls_name = "RetinalGanglionCell" if name == "RetinalGanglionCell" else name
    with ngcx.debug_nans():
        with pytest.raises(Exception, match=rf"{cls_name}: non-finite value"):
            jax.block_until_ready(jax.jit(step)(_x(float("nan"))))


def test_checked_mode_checks_a_traced_dt_and_traced_parameters():
    cell = C.LIFCell(N, tau_m=10.0)
    step = jax.jit(lambda dt: cell(cell.init_state((2,)), _x(), dt=dt).v)
    step(-1.0)  # traced: passes silently outside the mode
    with ngcx.debug_nans():
        with pytest.raises(Exception, match="`dt` must be finite and > 0"):
            jax.block_until_ready(
                jax.jit(lambda dt: cell(cell.init_state((2,)), _x(), dt=dt).v)(-1.0)
            )
        make = jax.vmap(lambda tau: C.LIFCell(N, tau_m=tau).tau_m)
        with pytest.raises(Exception, match="`tau_m` must be finite and > 0"):
            jax.block_until_ready(make(jnp.array([5.0, -5.0])))
        assert np.allclose(make(jnp.array([5.0, 7.0])), [5.0, 7.0])


def test_the_mode_is_scoped():
    with ngcx.debug_nans():
        assert ngcx._debug.checks_enabled()
        with ngcx.debug_nans(False):
            assert not ngcx._debug.checks_enabled()
    assert not ngcx._debug.checks_enabled()


def test_linear_trace_stops_at_zero():
    # regression (issue 13): a linear VarTrace with dt > tau_tr decayed below zero
    trace = C.VarTrace(N, tau_tr=2.0, a_delta=0.0, decay_type="lin")
    x = jnp.ones((1, N))
    for _ in range(3):
        x = trace(x, jnp.zeros((1, N)), dt=3.0)
        assert np.all(np.asarray(x) >= 0)
    assert np.allclose(np.asarray(trace(jnp.ones((1, N)), jnp.zeros((1, N)), dt=1.0)), 0.5)


_SPIKING = [
    "LIFCell",
    "IFCell",
    "QuadLIFCell",
    "AdExCell",
    "IzhikevichCell",
    "RAFCell",
    "RateCell",
    "LIFSRM",
]


@settings(max_examples=15, deadline=None)
@given(
    name=st.sampled_from(_SPIKING),
    tau=st.floats(1.0, 50.0),
    dt=st.floats(0.05, 1.0),
    drive=st.floats(-5.0, 20.0),
)
def test_random_valid_configurations_stay_finite_for_100_steps(name, tau, dt, drive):
    cell = {
        "LIFCell": lambda: C.LIFCell(N, tau_m=tau),
        "IFCell": lambda: C.IFCell(N, tau_m=tau),
        "QuadLIFCell": lambda: C.QuadLIFCell(N, tau_m=tau),
        "AdExCell": lambda: C.AdExCell(N, tau_m=tau),
        "IzhikevichCell": lambda: C.IzhikevichCell(N, tau_w=tau),
        "RAFCell": lambda: C.RAFCell(N, tau_v=tau, tau_w=tau),
        "RateCell": lambda: C.RateCell(N, tau_m=tau, act_fx="tanh"),
        "LIFSRM": lambda: C.LIFSRM(N, tau_m=tau),
    }[name]()
    j = jnp.full((1, N), drive, jnp.float32)
    state = cell.init_state((1,))
    final = jax.lax.fori_loop(0, 100, lambda i, s: cell(s, j, dt=dt), state)
    for leaf in jax.tree_util.tree_leaves(final):
        arr = np.asarray(leaf)
        if np.issubdtype(arr.dtype, np.floating):
            assert np.all(np.isfinite(arr) | np.isneginf(arr)), (name, tau, dt, drive)
