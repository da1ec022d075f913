"""Numeric parameters are array leaves: graded cells, error cells, encoders and traces.

For every numeric constructor parameter of each class (one row of ``CASES``):

- ``jax.vmap`` over a sweep of values (the cell built inside the mapped function) equals a
  Python loop over the same values;
- ``jax.grad`` of a smooth scalar of a short run equals a float64 central difference
  (continuous parameters; a non-zero derivative, so the check can fail);
- a per-unit array of shape ``(n,)`` with a batched state equals ``n`` scalar cells column
  by column;
- a concrete out-of-domain value raises a ``ValueError`` naming the argument;
- a jitted run over cells with different values compiles once (in the vmap test).

Plus: the classes are final, under the right abstract base, overriding nothing concrete.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ngcx.cells as cells
from ngcx.cells import (
    BernoulliCell,
    BernoulliErrorCell,
    ExpKernel,
    GaussianErrorCell,
    LaplacianErrorCell,
    LatencyCell,
    PoissonCell,
    RateCell,
    TTFSCell,
    VarTrace,
)
from ngcx.cells._base import (
    AbstractCell,
    AbstractEncoder,
    AbstractErrorCell,
    AbstractTrace,
)
from ngcx.cells._encoders import _AbstractStochasticEncoder


N, B, T = 3, 2, 4
F32, F64 = jnp.float32, jnp.float64

Z0 = np.array([[0.5, -1.0, 1.5], [-0.3, 0.8, -1.2]])
J = np.array([[1.0, -0.5, 0.2], [0.3, 0.6, -0.9]])
JTD = np.array([[0.1, 0.0, -0.2], [0.05, -0.1, 0.3]])
MU = np.array([[0.2, -0.4, 1.1], [0.7, 0.3, -0.5]])
TARGET = np.array([[0.5, 0.1, 0.9], [-0.2, 0.6, 0.4]])
PROB = np.array([[0.0, 0.3, 0.9999999], [1.0, 0.6, 1e-9]])  # some clipped by eps
BINARY = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
INTENSITY = np.array([[1.0, 0.5, 0.05], [0.3, 0.8, 0.2]])
SPIKES = np.array(
    [
        [[1, 0, 1], [0, 1, 1]],
        [[0, 0, 1], [1, 1, 0]],
        [[1, 1, 0], [0, 0, 1]],
        [[0, 1, 1], [1, 0, 0]],
    ],
    np.float64,
)
TRIL = np.array([[1.0, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.2, 0.1, 1.2]])


# --------------------------------------------------------------------------- runs
# Each run returns (cols, extra): cols has the unit axis last (compared column by column
# for per-unit parameters), extra holds whatever else the cell emits (or a zero).


def _rate_run(cell, dtype):
    state = cell.with_z(jnp.asarray(Z0, dtype))
    j, jtd = jnp.asarray(J, dtype), jnp.asarray(JTD, dtype)
    out = []
    for _ in range(T):
        state = cell(state, j, jtd, dt=1.0)
        out += [state.z, state.zF]
    return jnp.stack(out), jnp.zeros((), dtype)


def _error_run(cell, dtype, mu=MU, target=TARGET):
    out = cell(jnp.asarray(mu, dtype), jnp.asarray(target, dtype))
    return jnp.stack([out.dmu, out.dtarget]), (out.L, out.dSigma)


def _bernoulli_error_run(cell, dtype):
    return _error_run(cell, dtype, PROB, BINARY)


def _poisson_run(cell, dtype):
    x = jnp.asarray(INTENSITY, dtype)
    state = cell.init_state((B,), dtype)
    out = [cell.probability(x, 1.0)]
    for k in jax.random.split(jax.random.key(1), T):
        state = cell(state, x, key=k, dt=1.0)
        out.append(state.s)
    return jnp.stack(out), jnp.zeros((), dtype)


def _latency_run(cell, dtype):
    x = jnp.asarray(INTENSITY, dtype)
    state = cell.init_state(x)
    out = [state.spike_times]
    for _ in range(T):
        state = cell(state, dt=1.0)
        out.append(state.s)
    return jnp.stack(out), jnp.zeros((), dtype)


def _ttfs_run(cell, dtype):
    state = cell.init_state(jnp.asarray(INTENSITY, dtype))
    out = []
    for _ in range(2 * T):
        state = cell(state)
        out.append(state.refractory.astype(dtype))
    return jnp.stack(out), jnp.zeros((), dtype)


def _trace_run(cell, dtype):
    x = jnp.full((B, N), 0.4, dtype)
    out = []
    for s in SPIKES:
        x = cell(x, jnp.asarray(s, dtype), dt=1.0)
        out.append(x)
    return jnp.stack(out), jnp.zeros((), dtype)


def _kernel_run(cell, dtype):
    state = cell.init_state((B,), dtype, t=1.0)
    out = []
    for s in SPIKES:
        state = cell(state, jnp.asarray(s, dtype))
        out.append(state.epsp)
    return jnp.stack(out), jnp.zeros((), dtype)


def _sum_loss(run):
    return lambda cell, dtype: jnp.sum(run(cell, dtype)[0])


def _L_loss(run):
    return lambda cell, dtype: run(cell, dtype)[1][0]


def _first_loss(run):
    """The smooth first slice (spike probability / spike times), not the sampled spikes."""
    return lambda cell, dtype: jnp.sum(run(cell, dtype)[0][0])


# --------------------------------------------------------------------------- the table


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Any], Any]  # the parameter's value -> a cell
    run: Callable[[Any, Any], Any]
    grid: tuple[Any, ...]  # N values (the per-unit test uses them as one array)
    bad: Any  # a concrete out-of-domain value
    match: str  # what the ValueError names
    loss: Callable[[Any, Any], Any] | None = None  # None: no gradient (discrete)
    grad_at: float = 0.0
    per_unit: bool = True


_RATE = dict(
    tau_m=10.0,
    prior=("cauchy", 0.3),
    act_fx="tanh",
    threshold=("soft_threshold", 0.02),
    resist_scale=1.5,
    output_scale=0.8,
)


def _rate(name, wrap=lambda p: p):
    """A RateCell of the _RATE configuration with argument `name` set to `wrap(p)`."""
    return lambda p: RateCell(N, **{**_RATE, name: wrap(p)})


def _tril(c):
    return jnp.asarray(TRIL, jnp.result_type(c))


CASES = [
    Case("rate-tau_m", _rate("tau_m"), _rate_run, (5.0, 10.0, 20.0), float("nan"), "tau_m",
         _sum_loss(_rate_run), 7.0),
    Case("rate-gamma", _rate("prior", lambda p: ("cauchy", p)), _rate_run, (0.0, 0.3, 1.0), -0.1,
         "gamma", _sum_loss(_rate_run), 0.4),
    Case("rate-gamma-gaussian", lambda p: RateCell(N, tau_m=5.0, prior=("gaussian", p)),
         _rate_run, (0.0, 0.5, 2.0), -1.0, "gamma", _sum_loss(_rate_run), 0.7),
    Case("rate-lmbda", _rate("threshold", lambda p: ("soft_threshold", p)), _rate_run,
         (0.0, 0.02, 0.1), -0.1, "lmbda", _sum_loss(_rate_run), 0.035),
    Case("rate-lmbda-cauchy", lambda p: RateCell(N, threshold=("cauchy_threshold", p)),
         _rate_run, (0.0, 0.05, 0.1), -0.1, "lmbda", _sum_loss(_rate_run), 0.08),
    Case("rate-resist_scale", _rate("resist_scale"), _rate_run, (0.5, 1.0, 2.0),
         float("inf"), "resist_scale", _sum_loss(_rate_run), 1.3),
    Case("rate-output_scale", _rate("output_scale"), _rate_run, (0.5, 1.0, 2.0),
         float("nan"), "output_scale", _sum_loss(_rate_run), 0.9),
    Case("gaussian-sigma", lambda p: GaussianErrorCell(N, sigma=p), _error_run, (0.5, 1.0, 2.0),
         0.0, "sigma", _L_loss(_error_run), 0.8),
    Case("gaussian-scale_tril", lambda c: GaussianErrorCell(N, scale_tril=c * _tril(c)),
         _error_run, (0.5, 1.0, 2.0), 0.0, "scale_tril", _L_loss(_error_run), 1.2,
         per_unit=False),
    Case("laplacian-scale", lambda p: LaplacianErrorCell(N, scale=p), _error_run,
         (0.5, 1.0, 2.0), -1.0, "scale", _L_loss(_error_run), 0.7),
    Case("bernoulli_error-eps", lambda p: BernoulliErrorCell(N, eps=p), _bernoulli_error_run,
         (1e-6, 1e-3, 1e-2), 0.6, "eps", _L_loss(_bernoulli_error_run), 1e-3, per_unit=False),
    Case("poisson-target_freq", lambda p: PoissonCell(N, target_freq=p), _poisson_run,
         (50.0, 200.0, 600.0), -1.0, "target_freq", _first_loss(_poisson_run), 150.0),
    Case("latency-tau", lambda p: LatencyCell(N, tau=p, threshold=0.1), _latency_run,
         (0.5, 1.0, 3.0), 0.0, "tau", _first_loss(_latency_run), 2.0),
    Case("latency-threshold", lambda p: LatencyCell(N, tau=2.0, threshold=p), _latency_run,
         (0.0, 0.1, 0.25), -0.1, "threshold", _first_loss(_latency_run), 0.15),
    Case("latency-first_spike_time",
         lambda p: LatencyCell(N, tau=2.0, threshold=0.1, first_spike_time=p), _latency_run,
         (0.0, 1.0, 2.5), float("nan"), "first_spike_time", _first_loss(_latency_run), 1.2),
    Case("latency-eps", lambda p: LatencyCell(N, tau=2.0, threshold=0.1, eps=p), _latency_run,
         (1e-7, 1e-2, 0.2), 0.0, "eps", _first_loss(_latency_run), 0.15),
    Case("latency-linear-threshold",
         lambda p: LatencyCell(N, tau=3.0, threshold=p, linearize=True), _latency_run,
         (0.0, 0.4, 0.9), -0.5, "threshold", _first_loss(_latency_run), 0.6),
    Case("latency-num_steps",
         lambda p: LatencyCell(N, threshold=0.2, linearize=True, normalize=True, num_steps=p),
         _latency_run, (5.0, 11.0, 20.0), 0.0, "num_steps", _first_loss(_latency_run), 11.0),
    Case("ttfs-tau_ref", lambda p: TTFSCell(N, num_steps=8, tau_ref=p), _ttfs_run, (0, 2, 5), -1,
         "tau_ref"),
    Case("vartrace-tau_tr", lambda p: VarTrace(N, tau_tr=p, a_delta=0.3), _trace_run,
         (2.0, 10.0, 50.0), 0.0, "tau_tr", _sum_loss(_trace_run), 7.0),
    Case("vartrace-tau_tr-lin",
         lambda p: VarTrace(N, tau_tr=p, a_delta=0.0, decay_type="lin"), _trace_run,
         (2.0, 10.0, 50.0), -2.0, "tau_tr", _sum_loss(_trace_run), 7.0),
    Case("vartrace-a_delta", lambda p: VarTrace(N, tau_tr=10.0, a_delta=p), _trace_run,
         (0.0, 0.3, 1.0), -0.1, "a_delta", _sum_loss(_trace_run), 0.3),
    Case("vartrace-a_delta-nearest",
         lambda p: VarTrace(N, tau_tr=10.0, a_delta=p, n_nearest_spikes=2), _trace_run,
         (0.0, 0.3, 1.0), -0.1, "a_delta", _sum_loss(_trace_run), 0.3),
    Case("vartrace-P_scale", lambda p: VarTrace(N, tau_tr=10.0, a_delta=0.0, P_scale=p),
         _trace_run, (0.5, 1.0, 2.0), float("nan"), "P_scale", _sum_loss(_trace_run), 0.8),
    Case("vartrace-gamma_tr", lambda p: VarTrace(N, tau_tr=10.0, a_delta=0.3, gamma_tr=p),
         _trace_run, (0.5, 0.9, 1.0), float("inf"), "gamma_tr", _sum_loss(_trace_run), 0.9),
    Case("expkernel-tau_w", lambda p: ExpKernel(N, dt=1.0, tau_w=p, nu=3.0), _kernel_run,
         (2.0, 5.0, 50.0), 0.0, "tau_w", _sum_loss(_kernel_run), 4.0),
]  # fmt: skip

IDS = [c.id for c in CASES]
GRAD_CASES = [c for c in CASES if c.loss is not None]
PER_UNIT_CASES = [c for c in CASES if c.per_unit]


def _close(a, b, **kw):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


def _differs(a, b):
    """Some leaf of `a` differs from `b`'s (the parameter has an effect)."""
    leaves = zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    return any(not np.allclose(np.asarray(x), np.asarray(y)) for x, y in leaves)


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vmap_over_a_sweep_equals_a_loop_that_compiles_once(case):
    grid = jnp.asarray(case.grid)
    swept = jax.jit(jax.vmap(lambda p: case.run(case.make(p), F32)))(grid)
    traces = 0

    @eqx.filter_jit
    def run(cell):
        nonlocal traces
        traces += 1
        return case.run(cell, F32)

    # the loop: cells built outside jit from Python numbers, one compilation for all
    looped = [run(case.make(v)) for v in case.grid]
    assert traces == 1
    assert _differs(looped[0], looped[-1])  # the parameter reaches the output
    for i, want in enumerate(looped):
        _close(jax.tree_util.tree_map(lambda a, i=i: a[i], swept), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c.id for c in GRAD_CASES])
def test_grad_matches_float64_central_difference(case):
    with jax.enable_x64(True):
        p0 = jnp.asarray(case.grad_at, F64)

        @jax.jit
        def f(p):
            return case.loss(case.make(p), F64)

        g = float(jax.jit(jax.grad(f))(p0))
        h = 1e-6 * max(1.0, abs(case.grad_at))
        fd = (float(f(p0 + h)) - float(f(p0 - h))) / (2 * h)
    assert abs(fd) > 1e-4, f"{case.id}: the loss does not depend on the parameter"
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("case", PER_UNIT_CASES, ids=[c.id for c in PER_UNIT_CASES])
def test_per_unit_array_with_batched_state_equals_scalar_cells(case):
    run = eqx.filter_jit(lambda cell: case.run(cell, F32)[0])
    cols = np.asarray(run(case.make(jnp.asarray(case.grid))))
    assert cols.shape[-2:] == (B, N)
    for k, v in enumerate(case.grid):
        want = np.asarray(run(case.make(v)))[..., k]
        np.testing.assert_allclose(cols[..., k], want, rtol=1e-5, atol=1e-6, err_msg=f"unit {k}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_out_of_domain_value_raises_naming_the_argument(case):
    with pytest.raises(ValueError, match=case.match):
        case.make(case.bad)
    if case.per_unit:  # one bad unit is enough
        with pytest.raises(ValueError, match=case.match):
            case.make(jnp.asarray([case.grid[0], case.bad, case.grid[-1]]))


# --------------------------------------------------------------------------- classes

FAMILY = {
    RateCell: (AbstractCell, RateCell(N)),
    GaussianErrorCell: (AbstractErrorCell, GaussianErrorCell(N)),
    LaplacianErrorCell: (AbstractErrorCell, LaplacianErrorCell(N)),
    BernoulliErrorCell: (AbstractErrorCell, BernoulliErrorCell(N)),
    PoissonCell: (AbstractEncoder, PoissonCell(N)),
    BernoulliCell: (AbstractEncoder, BernoulliCell(N)),
    LatencyCell: (AbstractEncoder, LatencyCell(N)),
    TTFSCell: (AbstractEncoder, TTFSCell(N)),
    VarTrace: (AbstractTrace, VarTrace(N, 10.0, 0.0)),
    ExpKernel: (AbstractTrace, ExpKernel(N, dt=1.0)),
}


def _public_concrete_classes():
    objs = (getattr(cells, name) for name in cells.__all__)
    return [
        c
        for c in objs
        if inspect.isclass(c)
        and issubclass(c, eqx.Module)
        and not inspect.isabstract(c)
        and not c.__name__.lstrip("_").startswith("Abstract")
    ]


@pytest.mark.parametrize("cls", list(FAMILY), ids=lambda c: c.__name__)
def test_final_class_under_its_abstract_base(cls):
    base, instance = FAMILY[cls]
    assert isinstance(instance, base) and not inspect.isabstract(cls)
    for other in _public_concrete_classes():
        if other is not cls:
            assert not issubclass(cls, other), f"{cls.__name__} subclasses {other.__name__}"
            assert not issubclass(other, cls), f"{other.__name__} subclasses {cls.__name__}"
    # nothing concrete is overridden: every method the class defines is new or abstract above
    for name, value in vars(cls).items():
        if not callable(value) or (name.startswith("__") and name != "__call__"):
            continue
        for parent in cls.__mro__[1:]:
            if parent in (eqx.Module, object) or name not in vars(parent):
                continue
            assert getattr(vars(parent)[name], "__isabstractmethod__", False), (
                f"{cls.__name__}.{name} overrides the concrete {parent.__name__}.{name}"
            )


def test_stochastic_encoder_intermediate_is_abstract():
    assert inspect.isabstract(_AbstractStochasticEncoder)
    assert _AbstractStochasticEncoder.probability.__isabstractmethod__
    for cls in (PoissonCell, BernoulliCell):
        assert issubclass(cls, _AbstractStochasticEncoder)
        assert "probability" in vars(cls) and "__call__" not in vars(cls)


# --------------------------------------------------------------------------- specifics


def test_rate_cell_stateless_mode_is_a_static_choice_from_a_concrete_tau_m():
    assert RateCell(N, tau_m=0.0).stateless and RateCell(N, tau_m=-1.0).stateless
    assert not RateCell(N, tau_m=1.0).stateless
    assert RateCell(N, tau_m=jnp.array([0.0, -1.0, 0.0])).stateless
    with pytest.raises(ValueError, match="tau_m"):
        RateCell(N, tau_m=jnp.array([0.0, 1.0, 2.0]))  # mixed stateless/stateful units
    flags = []

    def build(tau):
        cell = RateCell(N, tau_m=tau)
        flags.append(cell.stateless)
        return cell(cell.init_state((B,)), jnp.asarray(J, F32), dt=1.0).z

    jax.vmap(build)(jnp.array([5.0, 10.0]))
    assert flags == [False]  # a traced tau_m makes a stateful cell
    jax.jit(lambda: flags.append(RateCell(N, tau_m=0.0).stateless))()
    assert flags[-1]  # a Python number is concrete, even when the cell is built under jit
    stateless = RateCell(N, tau_m=0.0, resist_scale=3.0)
    z = stateless(stateless.init_state((B,)), jnp.asarray(J, F32), jnp.asarray(JTD, F32)).z
    np.testing.assert_allclose(z, J + JTD, rtol=1e-6)


def test_rate_cell_integrator_object_and_name():
    from ngcx.diffeq import RK4

    by_name = RateCell(N, tau_m=5.0, act_fx="tanh", integration_type="rk4")
    by_obj = RateCell(N, tau_m=5.0, act_fx="tanh", integration_type=RK4())
    assert by_name.integration_type == by_obj.integration_type == "rk4"
    _close(_rate_run(by_name, F32), _rate_run(by_obj, F32), rtol=0, atol=0)


def test_rate_cell_grad_wrt_per_unit_tau_m_matches_finite_difference():
    with jax.enable_x64(True):
        tau = jnp.array([4.0, 8.0, 16.0], F64)

        @jax.jit
        def f(t):
            return jnp.sum(_rate_run(RateCell(N, **{**_RATE, "tau_m": t}), F64)[0])

        g = np.asarray(jax.jit(jax.grad(f))(tau))
        eye = np.eye(N) * 1e-6
        fd = [(float(f(tau + e)) - float(f(tau - e))) / 2e-6 for e in eye]
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_error_cells_dispersion_of_shape_one_is_a_scalar():
    mu, target = jnp.asarray(MU, F32), jnp.asarray(TARGET, F32)
    for cls, name in ((GaussianErrorCell, "sigma"), (LaplacianErrorCell, "scale")):
        one = cls(N, **{name: jnp.array([0.7])})
        scalar = cls(N, **{name: 0.7})
        assert getattr(one, name).shape == ()
        _close(one(mu, target), scalar(mu, target), rtol=1e-6)


def test_exp_kernel_window_is_static_from_concrete_dt_and_nu():
    assert ExpKernel(N, dt=0.1, nu=4.0).window == 40  # int(4.0 / 0.1), as before
    assert ExpKernel(N, dt=jnp.asarray(1.0), nu=jnp.asarray(3.0)).window == 3
    with pytest.raises(ValueError, match="dt"):
        jax.vmap(lambda dt: ExpKernel(N, dt=dt).init_state().epsp)(jnp.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="nu"):
        ExpKernel(N, dt=1.0, nu=-1.0)


def test_exp_kernel_grad_is_finite_with_empty_window_slots():
    kernel = ExpKernel(N, dt=1.0, tau_w=5.0, nu=4.0)  # window 4, only 2 steps seen

    def f(k):
        state = k.init_state((B,))
        for s in SPIKES[:2]:
            state = k(state, jnp.asarray(s, F32))
        return jnp.sum(state.epsp)

    g = eqx.filter_jit(jax.grad(f))(kernel).tau_w
    assert np.isfinite(float(g)) and float(g) != 0.0
