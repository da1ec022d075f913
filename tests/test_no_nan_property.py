r"""No NaN on valid input (issue 13): for every public cell and synapse, random valid
configurations driven by random finite inputs stay finite for 100 steps.

Each component has a *driver*: a builder that draws a valid configuration with hypothesis
(constructed with concrete values, so the constructor's domain checks run on it), and a
step function. One shared jitted 100-step ``lax.scan`` (:func:`_simulate`) runs every
driver; the component and its state are arguments whose numbers are array leaves, so a new
configuration does not recompile. Static options (integration scheme, flags, shapes, an
option that is off because its value is exactly 0) each select code and would compile
again, so every example's static options follow one drawn *variant* (:data:`VARIANTS`, 2:
mostly the defaults, and the alternatives together): at most two compiles per component.

Parameter ranges (and why):

- time constants $\tau$ in [1, 100] ms (the range of the cells' defaults and of
  ngc-learn's examples) and the step $\Delta t$ in $[0.01, 0.5] \cdot \tau_{\min}$:
  explicit Euler is stable only for $\Delta t < 2\tau$, and a step of half the fastest
  time constant is the coarsest a user would choose (ngc-learn's examples use
  $\Delta t \le \tau/10$); exact propagators (traces, conductance synapses) get up to
  $2\tau$. Cells that are fast by design use their own regimes: Izhikevich
  $\Delta t \le 0.5$ ms (his own step), FitzHugh-Nagumo $\le 0.2\,\tau_m$,
  resonate-and-fire at least ~100 steps per oscillation period, Hodgkin-Huxley
  $\Delta t \le 0.01$ ms (explicit steps of its fast sodium gating), AdEx
  $\Delta t \le 0.1\,\tau_m$.
- voltages: rest in [-80, -50] mV, threshold 5-30 mV above it, reset 1-25 mV below the
  threshold; currents $R j$ a drawn mean in [-30, 60] plus Gaussian noise of scale up to
  30 per step (smaller, in the cells' own units, for the graded and normalised cells);
  spikes 0/1 with a drawn rate; intensities in [0, 1]; probabilities, gains, leaks in
  their documented domains.
- synapses: weights from their default initialisers, `resist_scale` in [-5, 5], inputs of
  scale up to 10; the normalising maps (vector quantisation, ART2-A, SOM) get nonzero input
  rows (zero rows are :func:`test_zero_input_is_finite`).

Every floating leaf of the state and the outputs must be finite at every step (the spike
times of :class:`ngcx.cells.ExpKernel` may be ``-inf``: its documented "no spike").
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
from hypothesis import Phase, given, settings, strategies as st

from ngcx import cells as C, synapses as S


N = 4  # units
B = 2  # batch
STEPS = 100
EXAMPLES = 10


pytestmark = pytest.mark.usefixtures("normal_use")


# ---------------------------------------------------------------------------------------
# the shared driver


@dataclasses.dataclass(frozen=True)
class Case:
    """A drawn configuration: the component, its initial state, the step `dt` and the
    input's law (`kind`: ``"current"`` offset + amp * N(0, 1), ``"spikes"`` Bernoulli(amp),
    ``"unit"`` amp * U(0, 1), with `x_shape`)."""

    obj: Any
    state: Any
    dt: float = 1.0
    kind: str = "current"
    amp: float = 1.0
    offset: float = 0.0
    x_shape: tuple[int, ...] = (B, N)


def _input(kind: str, key: Any, shape: tuple[int, ...], amp: Any, offset: Any) -> Any:
    if kind == "current":
        return offset + amp * jax.random.normal(key, shape, jnp.float32)
    if kind == "spikes":
        return jax.random.bernoulli(key, amp, shape).astype(jnp.float32)
    if kind == "unit":
        return amp * jax.random.uniform(key, shape, jnp.float32)
    raise AssertionError(kind)


def _finite(tree: Any, neginf_ok: Callable[[Any], Any] | None) -> Any:
    """Whether every floating leaf of `tree` is finite (a bool array)."""
    ok = jnp.asarray(True)
    allowed = (
        set() if neginf_ok is None else {id(x) for x in jax.tree_util.tree_leaves(neginf_ok(tree))}
    )
    for leaf in jax.tree_util.tree_leaves(tree):
        if not jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.floating):
            continue
        good = jnp.isfinite(leaf)
        if id(leaf) in allowed:
            good = good | jnp.isneginf(leaf)
        ok = ok & jnp.all(good)
    return ok


@eqx.filter_jit
def _simulate(step, kind, x_shape, neginf_ok, obj, state, dt, amp, offset, key):
    """`STEPS` steps of ``step(obj, state, x, key, dt) -> (state, out)``; returns the final
    state, whether every step was finite, and the first non-finite step (-1: none)."""

    def body(carry, inp):
        state, ok, first = carry
        i, k = inp
        kx, ks = jax.random.split(k)
        x = _input(kind, kx, x_shape, amp, offset)
        state, out = step(obj, state, x, ks, dt)
        good = _finite((state, out), neginf_ok)
        first = jnp.where(ok & ~good, i, first)
        return (state, ok & good, first), None

    carry = (state, jnp.asarray(True), jnp.asarray(-1))
    inputs = (jnp.arange(STEPS), jax.random.split(key, STEPS))
    (state, ok, first), _ = jax.lax.scan(body, carry, inputs)
    return state, ok, first


def _run(name: str, case: Case, seed: int) -> None:
    spec = DRIVERS[name]
    as_f32 = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    state, ok, first = _simulate(
        spec.step,
        case.kind,
        case.x_shape,
        spec.neginf_ok,
        case.obj,
        case.state,
        as_f32(case.dt),
        as_f32(case.amp),
        as_f32(case.offset),
        jax.random.key(seed),
    )
    assert bool(ok), f"{name}: non-finite value at step {int(first)} for {_describe(case)}"


def _describe(case: Case) -> str:
    """The case with the component's scalar parameters spelled out."""
    params = {
        k: float(np.asarray(v))
        for k, v in vars(case.obj).items()
        if isinstance(v, jax.Array) and v.ndim == 0 and jnp.issubdtype(v.dtype, jnp.floating)
    }
    static = {
        k: v if isinstance(v, str | bool | int) else type(v).__name__
        for k, v in vars(case.obj).items()
        if v is not None and not isinstance(v, jax.Array)
    }
    law = dict(dt=case.dt, kind=case.kind, amp=case.amp, offset=case.offset)
    return f"{type(case.obj).__name__} {params} {static} {law}"


# ---------------------------------------------------------------------------------------
# strategies


def f(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


#: static configurations per component: every static option of an example (a flag, a
#: scheme, a shape) follows one drawn variant, so each component compiles at most this
#: many times (a compile costs about a second; the examples of a variant then run in ms)
VARIANTS = 2


def _pick(d: Any, options: list[Any], *, label: str) -> Any:
    """A static option: variant 0 takes the first (usually the default), the last variant
    the last."""
    variant = getattr(d, "_ngcx_variant", None)
    if variant is None:
        variant = d.draw(st.integers(0, VARIANTS - 1), label="static variant")
        d._ngcx_variant = variant
    return options[round(variant * (len(options) - 1) / max(VARIANTS - 1, 1))]


def _p_conn(d: Any) -> float:
    """1 (no mask) or a sparse mask: a static choice (the mask is a field or ``None``)."""
    if _pick(d, [False, True], label="masked"):
        return d.draw(f(0.05, 0.95), label="p_conn")
    return 1.0


def _off_or(d: Any, lo: float, hi: float, *, label: str) -> float:
    """0 (the option is off: a static choice) or a value in [lo, hi]."""
    if _pick(d, [False, True], label=f"{label} on"):
        return d.draw(f(lo, hi), label=label)
    return 0.0


def _dt(d: Any, tau_min: float, lo: float = 0.01, hi: float = 0.5) -> float:
    return d.draw(f(lo, hi), label="dt / tau_min") * tau_min


def _key(d: Any) -> Any:
    return jax.random.key(d.draw(st.integers(0, 2**16), label="key"))


# step functions (module level: static arguments of the jitted driver)


def _step_cell(cell, state, x, key, dt):
    new = cell(state, x, dt=dt)
    return new, None


def _step_keyed(cell, state, x, key, dt):
    return cell(state, x, key=key, dt=dt), None


def _step_trace(cell, trace, x, key, dt):
    return cell(trace, x, dt=dt), None


def _step_encoder(cell, state, x, key, dt):
    return cell(state, dt=dt), None


def _step_kernel(cell, state, x, key, dt):
    return cell(state, x), None


def _step_error(cell, target, x, key, dt):
    return target, cell(x, target)


def _step_ganglion(cell, state, x, key, dt):
    return state, cell(x)


def _step_reward(cell, state, x, key, dt):
    return cell(state, x, dt=dt), None


def _step_leaky(cell, state, x, key, dt):
    return cell(state, x, 0.5 * x, key=key, dt=dt), None


def _step_map(syn, state, x, key, dt):
    """A stateless map: forward, transpose and contraction of the same input."""
    y = syn(x)
    return state, (y, syn.backtransmit(y), syn.contract(x, y))


def _step_dense(syn, state, x, key, dt):
    y, state = syn.step(state, x, key=key)
    return state, (y, syn.backtransmit(y), syn.contract(state.delayed_inputs, y))


def _step_stp(syn, state, x, key, dt):
    y, state = syn.step(state, x, dt=dt)
    return state, y


def _step_conductance(syn, state, x, key, dt):
    v = jnp.full(x.shape[:-1] + (syn.shape[1],), -60.0, jnp.float32)
    i, state = syn.step(state, x, v, dt=dt)
    return state, i


def _step_competitive(syn, state, x, key, dt):
    return state, (syn(x), syn.scores(x))


@dataclasses.dataclass(frozen=True)
class Driver:
    build: Callable[[Any], Case]
    step: Callable[..., Any]
    neginf_ok: Callable[[Any], Any] | None = None


# ---------------------------------------------------------------------------------------
# cells


def _integ(d: Any) -> str:
    # Euler, the default, and RK4, the highest order, whose stages probe the most
    return _pick(d, ["euler", "rk4"], label="integration_type")


def _lif_volts(d: Any) -> dict[str, float]:
    v_rest = d.draw(f(-80.0, -50.0), label="v_rest")
    thr = v_rest + d.draw(f(5.0, 30.0), label="thr - v_rest")
    v_reset = thr - d.draw(f(1.0, 25.0), label="thr - v_reset")
    return {"v_rest": v_rest, "thr": thr, "v_reset": v_reset}


def _lif_like(cls: Any, extra: Callable[[Any], dict[str, Any]]) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        tau = d.draw(f(1.0, 100.0), label="tau_m")
        cell = cls(
            N,
            tau_m=tau,
            resist_m=d.draw(f(0.1, 5.0), label="resist_m"),
            refract_time=_off_or(d, 0.5, 10.0, label="refract_time"),
            **_lif_volts(d),
            **extra(d),
        )
        return Case(
            cell,
            cell.init_state((B,)),
            dt=_dt(d, tau),
            amp=d.draw(f(0.0, 30.0), label="noise"),
            offset=d.draw(f(-30.0, 60.0), label="mean current"),
        )

    return build


def _lif_extra(d: Any) -> dict[str, Any]:
    return {
        "conduct_leak": d.draw(f(0.0, 2.0), label="conduct_leak"),
        "tau_theta": d.draw(f(1.0, 1e7), label="tau_theta"),
        "theta_plus": d.draw(f(0.0, 1.0), label="theta_plus"),
        "integration_type": _integ(d),
    }


def _quad_extra(d: Any) -> dict[str, Any]:
    return {
        "v_scale": d.draw(f(-60.0, -30.0), label="v_scale"),
        "critical_v": d.draw(f(0.1, 2.0), label="critical_v"),
        "tau_theta": d.draw(f(1.0, 1e7), label="tau_theta"),
        "theta_plus": d.draw(f(0.0, 1.0), label="theta_plus"),
    }


def _if_extra(d: Any) -> dict[str, Any]:
    return {"integration_type": _integ(d)}


def _slif(d: Any) -> Case:
    tau = d.draw(f(1.0, 100.0), label="tau_m")
    cell = C.SLIFCell(
        N,
        tau,
        d.draw(f(0.1, 5.0), label="resist_m"),
        d.draw(f(0.1, 2.0), label="thr"),
        key=_key(d),
        resist_inh=_off_or(d, 0.01, 1.0, label="resist_inh"),
        thr_persist=_pick(d, [False, True], label="thr_persist"),
        thr_gain=d.draw(f(0.0, 0.1), label="thr_gain"),
        thr_leak=d.draw(f(0.0, 0.1), label="thr_leak"),
        rho_b=d.draw(f(0.0, 0.1), label="rho_b"),
        refract_time=_off_or(d, 0.5, 10.0, label="refract_time"),
        sticky_spikes=_pick(d, [False, True], label="sticky_spikes"),
        thr_jitter=d.draw(f(0.0, 0.1), label="thr_jitter"),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=_dt(d, tau),
        amp=d.draw(f(0.0, 2.0), label="noise"),
        offset=d.draw(f(-1.0, 3.0), label="mean current"),
    )


def _wtas(d: Any) -> Case:
    tau = d.draw(f(1.0, 100.0), label="tau_m")
    cell = C.WTASCell(
        N,
        tau,
        resist_m=d.draw(f(0.1, 5.0), label="resist_m"),
        thr_base=d.draw(f(0.1, 1.0), label="thr_base"),
        thr_gain=d.draw(f(0.0, 0.01), label="thr_gain"),
        refract_time=_off_or(d, 0.5, 10.0, label="refract_time"),
        thr_jitter=d.draw(f(0.0, 0.1), label="thr_jitter"),
        key=_key(d),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=_dt(d, tau),
        amp=d.draw(f(0.0, 2.0), label="noise"),
        offset=d.draw(f(-1.0, 3.0), label="mean current"),
    )


def _adex(d: Any) -> Case:
    tau_m = d.draw(f(5.0, 100.0), label="tau_m")
    v_rest = d.draw(f(-80.0, -60.0), label="v_rest")
    intrinsic = v_rest + d.draw(f(5.0, 20.0), label="intrinsic_mem_thr - v_rest")
    cell = C.AdExCell(
        N,
        tau_m=tau_m,
        resist_m=d.draw(f(0.1, 5.0), label="resist_m"),
        tau_w=d.draw(f(20.0, 500.0), label="tau_w"),
        v_sharpness=d.draw(f(0.5, 5.0), label="v_sharpness"),
        intrinsic_mem_thr=intrinsic,
        thr=d.draw(f(-10.0, 20.0), label="thr"),
        v_rest=v_rest,
        v_reset=v_rest - d.draw(f(0.0, 10.0), label="v_rest - v_reset"),
        a=d.draw(f(0.0, 1.0), label="a"),
        b=d.draw(f(0.0, 2.0), label="b"),
        v0=v_rest,
        integration_type=_integ(d),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=_dt(d, tau_m, hi=0.1),
        amp=d.draw(f(0.0, 10.0), label="noise"),
        offset=d.draw(f(-10.0, 30.0), label="mean current"),
    )


def _izh(d: Any) -> Case:
    cell = C.IzhikevichCell(
        N,
        tau_w=d.draw(f(10.0, 100.0), label="tau_w"),
        v_reset=d.draw(f(-70.0, -50.0), label="v_reset"),
        w_reset=d.draw(f(0.0, 8.0), label="w_reset"),
        coupling_factor=d.draw(f(0.2, 0.25), label="coupling_factor"),
        integration_type=_integ(d),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.01, 0.5), label="dt"),  # tau_m = 1 ms: the standard model's 0.5 ms step
        amp=d.draw(f(0.0, 5.0), label="noise"),
        offset=d.draw(f(-5.0, 20.0), label="mean current"),
    )


def _fhn(d: Any) -> Case:
    cell = C.FitzhughNagumoCell(
        N,
        tau_w=d.draw(f(5.0, 50.0), label="tau_w"),
        alpha=d.draw(f(0.0, 1.0), label="alpha"),
        beta=d.draw(f(0.0, 1.0), label="beta"),
        gamma=d.draw(f(1.0, 5.0), label="gamma"),
        spike_reset=_pick(d, [False, True], label="spike_reset"),
        integration_type=_integ(d),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.01, 0.2), label="dt"),  # tau_m = 1
        amp=d.draw(f(0.0, 1.0), label="noise"),
        offset=d.draw(f(-1.0, 2.0), label="mean current"),
    )


def _raf(d: Any) -> Case:
    tau_v = d.draw(f(0.5, 5.0), label="tau_v")
    omega = d.draw(f(1.0, 20.0), label="omega")
    cell = C.RAFCell(
        N,
        tau_v=tau_v,
        tau_w=tau_v,
        thr=d.draw(f(0.1, 2.0), label="thr"),
        omega=omega,
        dampen_factor=d.draw(f(-5.0, -0.1), label="dampen_factor"),
        post_spike_reset=_pick(d, [False, True], label="post_spike_reset"),
        integration_type=_integ(d),
    )
    # oscillation period 2 pi tau_v / omega: at least ~100 steps per period
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.001, 0.05), label="dt * omega") / omega * tau_v,
        amp=d.draw(f(0.0, 5.0), label="noise"),
        offset=d.draw(f(-5.0, 10.0), label="mean current"),
    )


def _hh(d: Any) -> Case:
    cell = C.HodgkinHuxleyCell(
        N,
        tau_v=d.draw(f(0.5, 5.0), label="tau_v"),
        resist_m=d.draw(f(0.5, 2.0), label="resist_m"),
        g_Na=d.draw(f(60.0, 140.0), label="g_Na"),
        g_K=d.draw(f(3.0, 40.0), label="g_K"),
        g_L=d.draw(f(0.1, 0.5), label="g_L"),
        spike_reset=_pick(d, [False, True], label="spike_reset"),
        integration_type=_integ(d),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.001, 0.01), label="dt"),  # the ms-scale gating needs steps of ~10 us
        amp=d.draw(f(0.0, 5.0), label="noise"),
        offset=d.draw(f(-5.0, 20.0), label="mean current"),
    )


def _rate(d: Any) -> Case:
    tau = d.draw(f(1.0, 100.0), label="tau_m")
    prior = _pick(d, ["gaussian", "cauchy"], label="prior")
    cell = C.RateCell(
        N,
        tau_m=tau,
        prior=(prior, _off_or(d, 0.01, 0.5, label="prior gamma")),
        act_fx=_pick(d, ["identity", "tanh"], label="act"),
        threshold=(
            _pick(d, ["none", "soft_threshold"], label="threshold"),
            _off_or(d, 0.01, 0.5, label="lmbda"),
        ),
        integration_type=_pick(d, ["euler", "midpoint"], label="integration"),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=_dt(d, tau),
        amp=d.draw(f(0.0, 5.0), label="noise"),
        offset=d.draw(f(-5.0, 5.0), label="mean current"),
    )


def _lifsrm(d: Any) -> Case:
    tau = d.draw(f(1.0, 100.0), label="tau_m")
    cell = C.LIFSRM(N, tau_m=tau, **_lif_volts(d))
    return Case(
        cell,
        cell.init_state((B,)),
        dt=_dt(d, tau),
        amp=d.draw(f(0.0, 30.0), label="noise"),
        offset=d.draw(f(-30.0, 60.0), label="mean current"),
    )


def _rafsrm(d: Any) -> Case:
    tau_v = d.draw(f(0.5, 5.0), label="tau_v")
    omega = d.draw(f(1.0, 20.0), label="omega")
    cell = C.RAFSRM(
        N,
        tau_v=tau_v,
        tau_w=tau_v,
        thr=d.draw(f(0.1, 2.0), label="thr"),
        omega=omega,
        dampen_factor=d.draw(f(-5.0, -0.1), label="dampen_factor"),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.001, 0.05), label="dt * omega") / omega * tau_v,
        amp=d.draw(f(0.0, 5.0), label="noise"),
        offset=d.draw(f(-5.0, 10.0), label="mean current"),
    )


def _leaky(d: Any) -> Case:
    tau = d.draw(f(1.0, 100.0), label="tau_x")
    cell = C.LeakyNoiseCell(
        N,
        tau_x=tau,
        act_fx=_pick(d, ["relu", "tanh", "sigmoid", "identity"], label="act"),
        integration_type=_pick(d, ["euler", "midpoint"], label="integration"),
        sigma_pre=_off_or(d, 0.01, 1.0, label="sigma_pre"),
        sigma_post=_off_or(d, 0.01, 1.0, label="sigma_post"),
        leak_scale=d.draw(f(0.0, 2.0), label="leak_scale"),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=_dt(d, tau),
        amp=d.draw(f(0.0, 5.0), label="noise"),
        offset=d.draw(f(-5.0, 5.0), label="mean current"),
    )


def _stochastic_encoder(cls: Any, **kw: Callable[[Any], Any]) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        cell = cls(N, **{k: d.draw(v, label=k) for k, v in kw.items()})
        return Case(
            cell,
            cell.init_state((B,)),
            dt=d.draw(f(0.1, 2.0), label="dt"),
            kind="unit",
            amp=d.draw(f(0.0, 1.0), label="max intensity"),
        )

    return build


def _phasor(d: Any) -> Case:
    cell = C.PhasorCell(
        N,
        target_freq=d.draw(f(1.0, 200.0), label="target_freq"),
        disable_phasor=_pick(d, [False, True], label="disable_phasor"),
        scatter_std=_off_or(d, 0.01, 1.0, label="scatter_std"),
        key=_key(d),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.1, 2.0), label="dt"),
        kind="unit",
        amp=d.draw(f(0.0, 1.0), label="max intensity"),
    )


def _intensities(d: Any) -> Any:
    seed = d.draw(st.integers(0, 2**16), label="intensity seed")
    x = np.random.default_rng(seed).uniform(0.0, 1.0, (B, N)).astype(np.float32)
    if d.draw(st.booleans(), label="with zeros and ones"):
        x[0, 0], x[1, 0] = 0.0, 1.0
    return jnp.asarray(x)


def _latency(d: Any) -> Case:
    tau = d.draw(f(0.5, 10.0), label="tau")
    cell = C.LatencyCell(
        N,
        tau=tau,
        threshold=d.draw(f(0.0, 0.5), label="threshold"),
        first_spike_time=d.draw(f(0.0, 5.0), label="first_spike_time"),
        linearize=_pick(d, [False, True], label="linearize"),
        normalize=_pick(d, [False, True], label="normalize"),
        clip_spikes=_pick(d, [False, True], label="clip_spikes"),
        num_steps=d.draw(f(1.0, 100.0), label="num_steps"),
    )
    return Case(cell, cell.init_state(_intensities(d)), dt=d.draw(f(0.1, 2.0), label="dt"))


def _ttfs(d: Any) -> Case:
    cell = C.TTFSCell(
        N,
        num_steps=100,
        tau_ref=d.draw(st.integers(0, 10), label="tau_ref"),
        latency_mode=_pick(d, ["exponential", "logarithmic"], label="latency_mode"),
    )
    return Case(cell, cell.init_state(_intensities(d)), dt=d.draw(f(0.1, 2.0), label="dt"))


def _trace(d: Any) -> Case:
    tau = d.draw(f(1.0, 100.0), label="tau_tr")
    decay = _pick(d, ["exp", "lin"], label="decay_type")
    cell = C.VarTrace(
        N,
        tau,
        d.draw(f(0.0, 1.0), label="a_delta"),
        P_scale=d.draw(f(0.0, 2.0), label="P_scale"),
        gamma_tr=d.draw(f(0.0, 1.0), label="gamma_tr"),
        decay_type=decay,
        n_nearest_spikes=d.draw(st.integers(0, 2), label="n_nearest_spikes"),
    )
    return Case(
        cell,
        jnp.zeros((B, N), jnp.float32),
        dt=_dt(d, tau, hi=2.0),  # exact or clipped decays: dt up to 2 tau
        kind="spikes",
        amp=d.draw(f(0.0, 1.0), label="spike rate"),
    )


def _kernel(d: Any) -> Case:
    dt = _pick(d, [0.5, 1.0], label="dt")
    cell = C.ExpKernel(
        N,
        dt=dt,
        tau_w=d.draw(f(1.0, 1000.0), label="tau_w"),
        nu=_pick(d, [1.0, 4.0], label="nu"),
    )
    return Case(
        cell,
        cell.init_state((B,), t=d.draw(f(0.0, 100.0), label="t0")),
        kind="spikes",
        amp=d.draw(f(0.0, 1.0), label="spike rate"),
    )


def _error(cls: Any, kind: str, **kw: st.SearchStrategy[Any]) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        cell = cls(N, **{k: d.draw(v, label=k) for k, v in kw.items()})
        seed = d.draw(st.integers(0, 2**16), label="target seed")
        rng = np.random.default_rng(seed)
        if kind == "unit":  # Bernoulli targets and mean predictions in [0, 1]
            target = rng.integers(0, 2, (B, N)).astype(np.float32)
            return Case(cell, jnp.asarray(target), kind="unit", amp=1.0)
        scale = d.draw(f(0.0, 10.0), label="scale")
        target = (scale * rng.standard_normal((B, N))).astype(np.float32)
        return Case(cell, jnp.asarray(target), amp=scale)

    return build


def _gaussian_error(d: Any) -> Case:
    full = _pick(d, [False, True], label="scale_tril")
    if full:
        rng = np.random.default_rng(d.draw(st.integers(0, 2**16), label="tril seed"))
        low = np.tril(rng.normal(0.0, 0.3, (N, N)), -1)
        diag = rng.uniform(0.1, 2.0, N)
        cell = C.GaussianErrorCell(N, scale_tril=(low + np.diag(diag)).astype(np.float32))
    else:
        cell = C.GaussianErrorCell(
            N,
            d.draw(f(0.01, 10.0), label="sigma"),
            include_constant=_pick(d, [False, True], label="include_constant"),
        )
    target = jnp.asarray(np.random.default_rng(0).standard_normal((B, N)), jnp.float32)
    return Case(cell, target, amp=d.draw(f(0.0, 10.0), label="scale"))


def _ganglion(d: Any) -> Case:
    kind = _pick(d, ["DoG", "RoG"], label="filter_type")
    cell = C.RetinalGanglionCell(
        kind,
        (8, 8),
        4,
        (4, 4),
        (4, 4),
        sigma=d.draw(f(0.01, 10.0), label="sigma"),
        k=d.draw(f(0.1, 5.0), label="k"),
        lmbda=d.draw(f(-2.0, 2.0), label="lmbda"),
    )
    return Case(
        cell, None, kind="unit", amp=d.draw(f(0.0, 1.0), label="max intensity"), x_shape=(B, 8, 8)
    )


def _reward(d: Any) -> Case:
    cell = C.RewardErrorCell(
        N,
        alpha=d.draw(f(0.0, 1.0), label="alpha"),
        ema_window_len=d.draw(f(1.0, 100.0), label="ema_window_len"),
        use_online_predictor=_pick(d, [False, True], label="use_online_predictor"),
    )
    return Case(
        cell,
        cell.init_state((B,)),
        dt=d.draw(f(0.1, 2.0), label="dt"),
        amp=d.draw(f(0.0, 10.0), label="noise"),
        offset=d.draw(f(-10.0, 10.0), label="mean reward"),
    )


def _neginf_spike_times(tree: Any) -> Any:
    state, _ = tree
    return state.spike_times


CELL_DRIVERS: dict[str, Driver] = {
    "LIFCell": Driver(_lif_like(C.LIFCell, _lif_extra), _step_cell),
    "IFCell": Driver(_lif_like(C.IFCell, _if_extra), _step_cell),
    "QuadLIFCell": Driver(_lif_like(C.QuadLIFCell, _quad_extra), _step_cell),
    "SLIFCell": Driver(_slif, _step_cell),
    "WTASCell": Driver(_wtas, _step_cell),
    "AdExCell": Driver(_adex, _step_cell),
    "IzhikevichCell": Driver(_izh, _step_cell),
    "FitzhughNagumoCell": Driver(_fhn, _step_cell),
    "RAFCell": Driver(_raf, _step_cell),
    "HodgkinHuxleyCell": Driver(_hh, _step_cell),
    "RateCell": Driver(_rate, _step_cell),
    "LIFSRM": Driver(_lifsrm, _step_cell),
    "RAFSRM": Driver(_rafsrm, _step_cell),
    "LeakyNoiseCell": Driver(_leaky, _step_leaky),
    "PoissonCell": Driver(
        _stochastic_encoder(C.PoissonCell, target_freq=f(0.0, 500.0)), _step_keyed
    ),
    "BernoulliCell": Driver(_stochastic_encoder(C.BernoulliCell), _step_keyed),
    "PhasorCell": Driver(_phasor, _step_keyed),
    "RewardErrorCell": Driver(_reward, _step_reward),
    "VarTrace": Driver(_trace, _step_trace),
    "LatencyCell": Driver(_latency, _step_encoder),
    "TTFSCell": Driver(_ttfs, _step_encoder),
    "ExpKernel": Driver(_kernel, _step_kernel, _neginf_spike_times),
    "GaussianErrorCell": Driver(_gaussian_error, _step_error),
    "LaplacianErrorCell": Driver(
        _error(C.LaplacianErrorCell, "real", scale=f(0.01, 10.0)), _step_error
    ),
    "BernoulliErrorCell": Driver(
        _error(C.BernoulliErrorCell, "unit", eps=f(1e-7, 1e-2)), _step_error
    ),
    "RetinalGanglionCell": Driver(_ganglion, _step_ganglion),
}


# ---------------------------------------------------------------------------------------
# synapses


def _dense(cls: Any) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        syn = cls(
            (N, 3),
            key=_key(d),
            resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
            p_release_mean=_pick(d, [1.0, 0.5, 0.05], label="p_release_mean"),
            p_conn=_p_conn(d),
            max_delay_steps=_pick(d, [0, 3], label="max_delay_steps"),
            use_bias=_pick(d, [False, True], label="use_bias"),
            p_release_jitter=d.draw(f(0.0, 0.5), label="p_release_jitter"),
        )
        return Case(syn, syn.init_state((B,)), amp=d.draw(f(0.0, 10.0), label="scale"))

    return build


def _conv(cls: Any) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        syn = cls(
            (3, 3, 2, 3),
            (6, 6),
            key=_key(d),
            use_bias=_pick(d, [False, True], label="use_bias"),
            stride=_pick(d, [1, 2], label="stride"),
            padding=_pick(d, ["SAME", "VALID"], label="padding"),
            resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
        )
        return Case(syn, None, amp=d.draw(f(0.0, 10.0), label="scale"), x_shape=(B, 6, 6, 2))

    return build


def _patched(cls: Any) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        syn = cls(
            (4, 3),
            n_sub_models=2,
            stride_shape=_pick(d, [(0, 0), (1, 1)], label="stride_shape"),
            key=_key(d),
            resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
            p_conn=_p_conn(d),
            use_bias=_pick(d, [False, True], label="use_bias"),
        )
        return Case(syn, None, amp=d.draw(f(0.0, 10.0), label="scale"), x_shape=(B, syn.shape[0]))

    return build


def _sparse(cls: Any) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        syn = cls(
            3,
            2,
            2,
            P_l=_pick(d, [1, 2], label="P_l"),
            normalize=_pick(d, [False, True], label="normalize"),
            key=_key(d),
            resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
            p_conn=_p_conn(d),
        )
        return Case(
            syn, None, amp=d.draw(f(0.0, 10.0), label="scale"), x_shape=(B, syn.io_shape[0])
        )

    return build


def _mps(d: Any) -> Case:
    syn = S.MPSSynapse(
        (8, 6),
        bond_dim=_pick(d, [1, 4], label="bond_dim"),
        resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
        key=_key(d),
    )
    return Case(syn, None, amp=d.draw(f(0.0, 10.0), label="scale"), x_shape=(B, 8))


def _stp(d: Any) -> Case:
    syn = S.STPDenseSynapse(
        (N, 3),
        key=_key(d),
        resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
        p_conn=_p_conn(d),
        tau_f=d.draw(f(1.0, 1000.0), label="tau_f"),
        tau_d=d.draw(f(1.0, 1000.0), label="tau_d"),
    )
    return Case(
        syn,
        syn.init_state((B,)),
        dt=d.draw(f(0.1, 5.0), label="dt"),
        kind="spikes",
        amp=d.draw(f(0.0, 1.0), label="spike rate"),
    )


def _conductance(cls: Any, rise: bool) -> Callable[[Any], Case]:
    def build(d: Any) -> Case:
        tau = d.draw(f(1.0, 100.0), label="tau_decay")
        args: list[Any] = [tau]
        if rise:
            args.append(tau * d.draw(f(0.05, 0.9), label="tau_rise / tau_decay"))
        syn_rest = d.draw(st.one_of(st.none(), f(-80.0, 0.0)), label="syn_rest")
        syn = cls(
            (N, 3),
            *args,
            d.draw(f(0.0, 5.0), label="g_syn_bar"),
            syn_rest,
            key=_key(d),
            resist_scale=d.draw(f(-5.0, 5.0), label="resist_scale"),
            p_conn=_p_conn(d),
        )
        return Case(
            syn,
            syn.init_state((B,)),
            dt=_dt(d, tau, hi=2.0),  # exact propagators
            kind="spikes",
            amp=d.draw(f(0.0, 1.0), label="spike rate"),
        )

    return build


def _som(d: Any) -> Case:
    syn = S.SOMMap(
        N,
        3,
        2,
        key=_key(d),
        distance_function=_pick(d, ["euclidean", "manhattan", "cosine"], label="distance"),
        neighbor_function=_pick(d, ["gaussian", "ricker"], label="neighbour"),
        radius=d.draw(f(0.1, 5.0), label="radius"),
    )
    # nonzero inputs: a zero vector's cosine distance is test_zero_input_is_finite's case
    return Case(syn, None, amp=d.draw(f(0.1, 10.0), label="scale"), offset=0.05)


def _hopfield(d: Any) -> Case:
    syn = S.HopfieldMap((N, 5), key=_key(d), beta=d.draw(f(0.1, 50.0), label="beta"))
    return Case(syn, None, amp=d.draw(f(0.0, 10.0), label="scale"))


def _vq(d: Any) -> Case:
    syn = S.VectorQuantizeMap(
        (N, 5),
        key=_key(d),
        distance_function=_pick(
            d,
            [("minkowski", 2), ("minkowski", 1.5)],
            label="distance_function",
        ),
        normalize_inputs=_pick(d, [False, True], label="normalize_inputs"),
    )
    # nonzero inputs: a zero vector with normalize_inputs is test_zero_input_is_finite's case
    return Case(syn, None, amp=d.draw(f(0.1, 10.0), label="scale"), offset=0.05)


def _art(d: Any) -> Case:
    syn = S.ART2AMap((N, 5), key=_key(d))
    return Case(syn, None, amp=d.draw(f(0.1, 10.0), label="scale"), offset=0.05)


SYNAPSE_DRIVERS: dict[str, Driver] = {
    "DenseSynapse": Driver(_dense(S.DenseSynapse), _step_dense),
    "StaticSynapse": Driver(_dense(S.StaticSynapse), _step_dense),
    "ConvSynapse": Driver(_conv(S.ConvSynapse), _step_map),
    "StaticConvSynapse": Driver(_conv(S.StaticConvSynapse), _step_map),
    "DeconvSynapse": Driver(_conv(S.DeconvSynapse), _step_map),
    "StaticDeconvSynapse": Driver(_conv(S.StaticDeconvSynapse), _step_map),
    "PatchedSynapse": Driver(_patched(S.PatchedSynapse), _step_map),
    "StaticPatchedSynapse": Driver(_patched(S.StaticPatchedSynapse), _step_map),
    "SparseTensorSynapse": Driver(_sparse(S.SparseTensorSynapse), _step_map),
    "StaticSparseTensorSynapse": Driver(_sparse(S.StaticSparseTensorSynapse), _step_map),
    "MPSSynapse": Driver(_mps, _step_map),
    "STPDenseSynapse": Driver(_stp, _step_stp),
    "ExponentialSynapse": Driver(_conductance(S.ExponentialSynapse, False), _step_conductance),
    "DoubleExpSynapse": Driver(_conductance(S.DoubleExpSynapse, True), _step_conductance),
    "AlphaSynapse": Driver(_conductance(S.AlphaSynapse, False), _step_conductance),
    "SOMMap": Driver(_som, _step_competitive),
    "HopfieldMap": Driver(_hopfield, _step_competitive),
    "VectorQuantizeMap": Driver(_vq, _step_competitive),
    "ART2AMap": Driver(_art, _step_competitive),
}

DRIVERS = {**CELL_DRIVERS, **SYNAPSE_DRIVERS}


# ---------------------------------------------------------------------------------------
# coverage


def _concrete_public(module: Any, base: Any) -> set[str]:
    out = set()
    for name in module.__all__:
        obj = getattr(module, name)
        if (
            inspect.isclass(obj)
            and issubclass(obj, base)
            and not inspect.isabstract(obj)
            and not name.startswith("Abstract")
        ):
            out.add(name)
    return out


def test_every_public_cell_and_synapse_has_a_driver():
    cells = {n for n in _concrete_public(C, eqx.Module) if hasattr(getattr(C, n), "n_units")}
    synapses = _concrete_public(S, S.AbstractSynapse)
    assert not sorted(cells - set(CELL_DRIVERS)), "add these cells to CELL_DRIVERS"
    assert not sorted(synapses - set(SYNAPSE_DRIVERS)), "add these synapses to SYNAPSE_DRIVERS"


# ---------------------------------------------------------------------------------------
# the property


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_random_valid_configuration_stays_finite_for_100_steps(name):
    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate])
    @given(data=st.data(), seed=st.integers(0, 2**16))
    def prop(data, seed):
        _run(name, DRIVERS[name].build(data), seed)

    prop()


# ---------------------------------------------------------------------------------------
# regressions of the NaNs the property found


def test_adex_stays_finite_when_a_step_crosses_a_steep_exponential():
    # regression (issue 13): with v_sharpness=0.5 the exponent (v - v_T) / Delta_T reaches
    # 120 at ngc-learn's default thr=5, e^120 overflows float32, and inf - inf gave NaN in
    # the next step (Euler) or in RK4's intermediate stages; found by the property above
    for scheme in ("euler", "rk4"):
        cell = C.AdExCell(N, v_sharpness=0.5, integration_type=scheme)
        state = cell.init_state((B,))
        j = jnp.full((B, N), 30.0, jnp.float32)
        spikes = 0.0
        for _ in range(40):
            state = cell(state, j, dt=1.0)
            spikes += float(jnp.sum(state.s))
            for leaf in (state.v, state.w):
                assert np.all(np.isfinite(np.asarray(leaf))), scheme
        assert spikes > 0, scheme


def test_adex_dynamics_below_threshold_are_unchanged():
    # the cap acts only where the exponent exceeds 60: below it, ngc-learn's field
    cell = C.AdExCell(N)
    v = jnp.array([[-72.0, -60.0, -50.0, 4.0]], jnp.float32)
    w = jnp.full((1, N), 0.3, jnp.float32)
    j = jnp.full((1, N), 2.0, jnp.float32)
    dv, dw = cell.derivative(v, w, j)
    want_dv = (-(v + 72.0) + 2.0 * jnp.exp((v + 55.0) / 2.0) - w + j) / 15.0
    want_dw = (0.1 * (v + 72.0) - w) / 400.0
    np.testing.assert_allclose(np.asarray(dv), np.asarray(want_dv), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(dw), np.asarray(want_dw), rtol=1e-6)


def test_izhikevich_rk4_reset_after_an_overflowing_step_is_finite():
    # regression (issue 13): at Izhikevich's own step of 0.5 ms, RK4's stages from a
    # voltage far above the threshold (0.04 v^2) overflow; the reset discarded that step
    # arithmetically, inf * (1 - s) + s * c = inf * 0 = NaN (29 of 30 noise seeds failed)
    cell = C.IzhikevichCell(
        N, tau_w=100.0, v_reset=-59.6, w_reset=0.0, coupling_factor=0.25, integration_type="rk4"
    )
    for seed in range(5):
        case = Case(cell, cell.init_state((B,)), dt=0.5, amp=1.07, offset=16.6)
        _run("IzhikevichCell", case, seed)


@pytest.mark.parametrize("filter_type", ["gaussian", "DoG", "RoG"])
def test_narrow_ganglion_filter_on_an_even_patch_is_finite(filter_type):
    # regression (issue 13): sigma=0.05 on a 4 x 4 patch underflowed every Gaussian value
    # (the nearest pixel is 0.71 pixels from the centre) and the normalisation gave 0/0
    cell = C.RetinalGanglionCell(filter_type, (8, 8), 4, (4, 4), (4, 4), sigma=0.05)
    assert np.all(np.isfinite(np.asarray(cell.filter)))
    assert np.all(np.isfinite(np.asarray(cell(jnp.ones((B, 8, 8))))))
    if filter_type == "gaussian":  # the limit: the four central pixels share the mass
        np.testing.assert_allclose(np.asarray(cell.filter)[1:3, 1:3], 0.25, rtol=1e-6)


def test_ganglion_filter_is_the_normalised_gaussian():
    cell = C.RetinalGanglionCell("gaussian", (8, 8), 4, (4, 4), (4, 4), sigma=1.3)
    r = np.arange(4) - 1.5
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.3**2))
    np.testing.assert_allclose(np.asarray(cell.filter), g / g.sum(), rtol=1e-6)


# zero input rows to the normalising competitive maps (found by the property test)
_ZERO_INPUT = {
    "VectorQuantizeMap": lambda k: S.VectorQuantizeMap((N, 5), key=k),
    "ART2AMap": lambda k: S.ART2AMap((N, 5), key=k),
    "SOMMap(cosine)": lambda k: S.SOMMap(N, 3, 2, key=k, distance_function="cosine"),
}


@pytest.mark.parametrize("name", sorted(_ZERO_INPUT))
def test_zero_input_is_finite(name):
    # regression (issue 13): x / ||x|| and the cosine distance were 0/0 = NaN for a zero row
    syn = _ZERO_INPUT[name](jax.random.key(0))
    x = jnp.zeros((B, N), jnp.float32)
    for out in (syn(x), syn.scores(x)):
        assert np.all(np.isfinite(np.asarray(out))), name
