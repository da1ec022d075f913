r"""Spiking cells with a recovery variable or gating variables: AdEx, Izhikevich,
FitzHugh-Nagumo, resonate-and-fire, Hodgkin-Huxley.

Times in ms, voltages in mV (dimensionless for FitzHugh-Nagumo and resonate-and-fire,
as in ngc-learn). The coupled system $(v, w)$ (or $(v, m, n, h)$) is integrated *jointly*
by the chosen method (:data:`ngcx.diffeq.INTEGRATORS`); with Euler this is exactly
ngc-learn's update. ngc-learn's midpoint/RK4 steps integrate each variable with the others
frozen at the start of the step, which lowers the method's order on a coupled system; ngcx
evaluates every stage on the whole system, so ``"midpoint"`` is second and ``"rk4"``
fourth order.

Every numeric constructor argument is an array leaf (:func:`ngcx._params.param`): a scalar
or one value per unit, which ``jax.vmap`` can sweep and ``jax.grad`` can differentiate,
and a new value does not recompile a jitted step. The two-variable cells share their step
through :class:`AbstractRecoveryCell`; each final cell implements its derivative, input
current, integration, spike rule and post-spike reset.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import ParamLike
from .._params import param
from ..diffeq import AbstractIntegrator, Euler, get_integrator
from ..surrogates import AbstractSurrogate
from ._base import AbstractSpikingCell
from ._common import (
    at as _at,
    check_dt,
    check_units as _check_units,
    checked,
    current as _current,
    integrator_name as _integrator_name,
    surrogate as _surrogate,
    update_tols as _update_tols,
)


__all__ = [
    "RecoveryState",
    "AbstractRecoveryCell",
    "AdExCell",
    "IzhikevichCell",
    "FitzhughNagumoCell",
    "RAFCell",
    "HHState",
    "HodgkinHuxleyCell",
    "hh_rates",
]


#: A constructor parameter: a Python number or a scalar/per-unit array (possibly traced).


def _reset_to(s: Array, x: Array, value: Array) -> Array:
    """``value`` where ``s`` spiked, ``x`` elsewhere (differentiable in all three).

    Where a cell spiked, `x` is the discarded integration step and may have overflowed
    (an Izhikevich cell that spikes from a voltage far above its threshold integrates
    $0.04 v^2$ once more before the reset): a non-finite `x` there is read as 0, so that
    ``inf * 0`` does not turn the reset into NaN. Elsewhere `x` passes unchanged (a NaN
    of a cell that did not spike stays NaN)."""
    x = jnp.where((s > 0) & ~jnp.isfinite(x), jnp.zeros_like(x), x)
    return x * (1.0 - s) + s * value


def _joint_step(
    integrator: AbstractIntegrator,
    derivative: Callable[[Array, Array, Array], tuple[Array, Array]],
    v: Array,
    w: Array,
    j: Array,
    dt: Any,
) -> tuple[Array, Array]:
    """One step of `integrator` on the coupled system ``(v, w)``, `j` held over the step."""
    _, (v_new, w_new) = integrator(0.0, (v, w), lambda t, x, p: derivative(x[0], x[1], p), dt, j)
    return v_new, w_new


class RecoveryState(eqx.Module):
    """State of a two-variable spiking cell (``(*batch, n_units)`` arrays): ``v`` the
    potential, ``w`` the recovery/adaptation variable, ``s`` the spikes of the last step,
    ``tols`` the time of last spike (ms), and the clock ``t`` (ms)."""

    v: Float[Array, "*batch n"]
    w: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


#: cap of the AdEx exponent $(v - v_T)/\Delta_T$: $e^{60} \approx 10^{26}$ is finite in
#: float32 with room for a step's arithmetic (see :class:`AdExCell`)
_ADEX_MAX_EXPONENT = 60.0


class AbstractRecoveryCell(AbstractSpikingCell):
    r"""A spiking cell with a potential $v$ and a recovery variable $w$ (state
    :class:`RecoveryState`). One step of ``dt`` ms is, in order:

    1. the input current $j$ through ``_input_current`` (the membrane resistance);
    2. ``_integrate`` of $(\dot v, \dot w) =$ :meth:`derivative` $(v, w, j)$;
    3. ``_spikes`` from the voltage (through the cell's surrogate);
    4. ``_after_spike``, the post-spike reset of the spiking units.

    ``init_state`` and ``__call__`` are shared; each final cell implements the four
    hooks (and :meth:`derivative`) and stores ``v0``/``w0`` (the initial values, array
    leaves), the ``integrator`` and the ``surrogate``.
    """

    n_units: eqx.AbstractVar[int]
    integrator: eqx.AbstractVar[AbstractIntegrator]
    surrogate: eqx.AbstractVar[AbstractSurrogate]
    v0: eqx.AbstractVar[Array]
    w0: eqx.AbstractVar[Array]

    @abc.abstractmethod
    def derivative(self, v: Array, w: Array, j: Array) -> tuple[Array, Array]:
        """$(dv/dt, dw/dt)$ per ms for the (transformed) input current `j`."""

    @abc.abstractmethod
    def _input_current(self, j: Array) -> Array:
        """The current that enters :meth:`derivative` for the input `j`."""

    @abc.abstractmethod
    def _integrate(self, v: Array, w: Array, j: Array, dt: Any) -> tuple[Array, Array]:
        """$(v, w)$ after one step of ``dt`` ms (before spikes and resets)."""

    @abc.abstractmethod
    def _spikes(self, v: Array, v_new: Array) -> Array:
        """The spikes of the step, from the voltage at its start `v` or its end `v_new`."""

    @abc.abstractmethod
    def _after_spike(
        self, s: Array, v_new: Array, w_new: Array, v: Array, w: Array
    ) -> tuple[Array, Array]:
        """$(v, w)$ after the reset of the units that spiked (`s`), given the integrated
        values `v_new`, `w_new` and the values `v`, `w` at the start of the step."""

    @property
    def integration_type(self) -> str:
        """The integrator's name (ngc-learn's ``integration_type``)."""
        return _integrator_name(self.integrator)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
    ) -> RecoveryState:
        """Initial state (ngc-learn's ``reset``): ``v = v0``, ``w = w0``, no spikes.

        **Arguments:**

        - `batch_shape`: leading axes of every field but ``t``.
        - `dtype`: the floating dtype of the state.
        - `t`: the clock (ms).
        """
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return RecoveryState(
            v=zeros + _at(self.v0, zeros),
            w=zeros + _at(self.w0, zeros),
            s=zeros,
            tols=zeros,
            t=jnp.asarray(t, dtype),
        )

    def __call__(
        self,
        state: RecoveryState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: float = 1.0,
    ) -> RecoveryState:
        """Advance one step of ``dt`` ms with input current `j` (``None``: zero).

        **Returns:** the new :class:`RecoveryState`.
        """
        dt = check_dt(dt, self)
        j = self._input_current(_current(j, state.v))
        v_new, w_new = self._integrate(state.v, state.w, j, dt)
        s = self._spikes(state.v, v_new)
        v_new, w_new = self._after_spike(s, v_new, w_new, state.v, state.w)
        return checked(
            self,
            RecoveryState(
                v=v_new,
                w=w_new,
                s=s,
                tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
                t=state.t + dt,
            ),
        )


class AdExCell(AbstractRecoveryCell):
    r"""Adaptive exponential integrate-and-fire neurons (ngc-learn's ``AdExCell``,
    Brette & Gerstner 2005):

    $$\tau_m \frac{dv}{dt} = -(v - v_{\text{rest}}) + \Delta_T e^{(v - v_T)/\Delta_T}
    - R\,w + R\,j, \qquad \tau_w \frac{dw}{dt} = a (v - v_{\text{rest}}) - w,$$

    with ``v_sharpness`` $\Delta_T$ (mV), ``intrinsic_mem_thr`` $v_T$ (mV), times in ms; a
    spike where $v > $ ``thr`` (after the step) sets $v \leftarrow v_{\text{reset}}$ and
    $w \leftarrow w + b$.

    **Differences from ngc-learn:** the exponent $(v - v_T)/\Delta_T$ is capped at 60
    (:data:`_ADEX_MAX_EXPONENT`), so a step that crosses the threshold, or an integrator's
    intermediate stage beyond it, cannot overflow to ``inf`` and then give ``nan``
    ($e^{x}$ overflows float32 above $x \approx 88.7$: with ngc-learn's defaults and
    ``v_sharpness=0.5`` the exponent reaches 120 at the threshold). Where the cap acts,
    $dv/dt$ exceeds $10^{26}\,\Delta_T/\tau_m$ mV/ms, the upswing of a spike; below it
    the dynamics are ngc-learn's.
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    tau_w: Float[Array, "..."]
    v_sharpness: Float[Array, "..."]
    intrinsic_mem_thr: Float[Array, "..."]
    thr: Float[Array, "..."]
    v_rest: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    a: Float[Array, "..."]
    b: Float[Array, "..."]
    v0: Float[Array, "..."]
    w0: Float[Array, "..."]
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike = 15.0,
        resist_m: ParamLike = 1.0,
        tau_w: ParamLike = 400.0,
        v_sharpness: ParamLike = 2.0,
        intrinsic_mem_thr: ParamLike = -55.0,
        thr: ParamLike = 5.0,
        v_rest: ParamLike = -72.0,
        v_reset: ParamLike = -75.0,
        a: ParamLike = 0.1,
        b: ParamLike = 0.75,
        v0: ParamLike = -70.0,
        w0: ParamLike = 0.0,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """ngc-learn's names and defaults. Each numeric argument is
        a scalar or a per-unit array of shape `(n_units,)`, stored as an array leaf (vmap, grad
        and a new value without recompiling all work).

        **Arguments:**

        - `n_units`: number of neurons (static).
        - `tau_m`: membrane time constant $\\tau_m$ (ms, > 0).
        - `resist_m`: membrane resistance $R$ (> 0).
        - `tau_w`: adaptation time constant $\\tau_w$ (ms, > 0).
        - `v_sharpness`: slope factor $\\Delta_T$ of the exponential (mV, > 0).
        - `intrinsic_mem_thr`: the exponential's threshold $v_T$ (mV, real).
        - `thr`: spike threshold (mV, real).
        - `v_rest`: resting potential (mV, real).
        - `v_reset`: potential after a spike (mV, real).
        - `a`: subthreshold adaptation coupling (real).
        - `b`: spike-triggered adaptation increment of $w$ (real).
        - `v0`, `w0`: initial $v$ (mV) and $w$ (real).
        - `integration_type`: an integrator name of :data:`ngcx.diffeq.INTEGRATORS` or an
          :class:`ngcx.diffeq.AbstractIntegrator` (static).
        - `surrogate_type`: surrogate name or object for gradients through the spikes
          (static).
        """
        n = self.n_units = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.tau_w = param(tau_w, "tau_w", "positive", n_units=n)
        self.v_sharpness = param(v_sharpness, "v_sharpness", "positive", n_units=n)
        self.intrinsic_mem_thr = param(intrinsic_mem_thr, "intrinsic_mem_thr", n_units=n)
        self.thr = param(thr, "thr", n_units=n)
        self.v_rest = param(v_rest, "v_rest", n_units=n)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.a = param(a, "a", n_units=n)
        self.b = param(b, "b", n_units=n)
        self.v0 = param(v0, "v0", n_units=n)
        self.w0 = param(w0, "w0", n_units=n)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v: Array, w: Array, j: Array) -> tuple[Array, Array]:
        """$(dv/dt, dw/dt)$ per ms, the exponent capped at :data:`_ADEX_MAX_EXPONENT` (see
        the class docstring)."""
        sharp, v_rest, r = _at(self.v_sharpness, v), _at(self.v_rest, v), _at(self.resist_m, v)
        exponent = jnp.minimum((v - _at(self.intrinsic_mem_thr, v)) / sharp, _ADEX_MAX_EXPONENT)
        dv = (-(v - v_rest) + sharp * jnp.exp(exponent) - r * w + r * j) * _at(1.0 / self.tau_m, v)
        dw = (_at(self.a, v) * (v - v_rest) - w) * _at(1.0 / self.tau_w, v)
        return dv, dw

    def _input_current(self, j: Array) -> Array:
        """`j` itself ($R$ enters :meth:`derivative`)."""
        return j

    def _integrate(self, v: Array, w: Array, j: Array, dt: Any) -> tuple[Array, Array]:
        """One step of the integrator on $(v, w)$ jointly."""
        return _joint_step(self.integrator, self.derivative, v, w, j, dt)

    def _spikes(self, v: Array, v_new: Array) -> Array:
        """$1[v_{t+\\Delta t} > \\theta]$."""
        return self.surrogate(v_new, _at(self.thr, v_new))

    def _after_spike(
        self, s: Array, v_new: Array, w_new: Array, v: Array, w: Array
    ) -> tuple[Array, Array]:
        """$v \\leftarrow v_{\\text{reset}}$ and $w \\leftarrow w + b$ where spiking."""
        return _reset_to(s, v_new, _at(self.v_reset, v_new)), w_new + s * _at(self.b, w_new)


class IzhikevichCell(AbstractRecoveryCell):
    r"""Izhikevich neurons (ngc-learn's ``IzhikevichCell``, Izhikevich 2003):

    $$\tau_m \frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - w + R\,j, \qquad
    \tau_w \frac{dw}{dt} = b\,v - w,$$

    (mV, ms) with ``coupling_factor`` $b$ and ``tau_w`` $= 1/a$. As in ngc-learn (and
    Izhikevich's own code) a spike is read from the voltage at the *start* of the step
    ($v_t > $ ``v_thr``); spiking cells then take $v \leftarrow c$ (``v_reset``) and
    $w \leftarrow w_t + d$ (``w_reset``). Regular spiking: the defaults; fast spiking:
    ``tau_w=10``; chattering: ``v_reset=-50, w_reset=2``; intrinsically bursting:
    ``v_reset=-55, w_reset=4``.
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    v_thr: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    tau_w: Float[Array, "..."]
    w_reset: Float[Array, "..."]
    coupling_factor: Float[Array, "..."]
    v0: Float[Array, "..."]
    w0: Float[Array, "..."]
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike = 1.0,
        resist_m: ParamLike = 1.0,
        v_thr: ParamLike = 30.0,
        v_reset: ParamLike = -65.0,
        tau_w: ParamLike = 50.0,
        w_reset: ParamLike = 8.0,
        coupling_factor: ParamLike = 0.2,
        v0: ParamLike = -65.0,
        w0: ParamLike = -14.0,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """ngc-learn's names and defaults (regular spiking). Each numeric argument is
        a scalar or a per-unit array of shape `(n_units,)`, stored as an array leaf (vmap, grad
        and a new value without recompiling all work).

        **Arguments:**

        - `n_units`: number of neurons (static).
        - `tau_m`: membrane time scale $\\tau_m$ (ms, > 0).
        - `resist_m`: membrane resistance $R$ (> 0).
        - `v_thr`: spike threshold (mV, real).
        - `v_reset`: potential after a spike, $c$ (mV, real).
        - `tau_w`: recovery time constant $1/a$ (ms, > 0).
        - `w_reset`: recovery increment after a spike, $d$ (real).
        - `coupling_factor`: recovery sensitivity $b$ to $v$ (real).
        - `v0`, `w0`: initial $v$ (mV) and $w$ (real).
        - `integration_type`: an integrator name or object (static).
        - `surrogate_type`: surrogate name or object (static).
        """
        n = self.n_units = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.v_thr = param(v_thr, "v_thr", n_units=n)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.tau_w = param(tau_w, "tau_w", "positive", n_units=n)
        self.w_reset = param(w_reset, "w_reset", n_units=n)
        self.coupling_factor = param(coupling_factor, "coupling_factor", n_units=n)
        self.v0 = param(v0, "v0", n_units=n)
        self.w0 = param(w0, "w0", n_units=n)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v: Array, w: Array, j: Array) -> tuple[Array, Array]:
        """$(dv/dt, dw/dt)$ per ms."""
        dv = (0.04 * jnp.square(v) + 5.0 * v + 140.0 - w + j) * _at(1.0 / self.tau_m, v)
        dw = (_at(self.coupling_factor, v) * v - w) * _at(1.0 / self.tau_w, v)
        return dv, dw

    def _input_current(self, j: Array) -> Array:
        """$R\\,j$."""
        return j * _at(self.resist_m, j)

    def _integrate(self, v: Array, w: Array, j: Array, dt: Any) -> tuple[Array, Array]:
        """One step of the integrator on $(v, w)$ jointly."""
        return _joint_step(self.integrator, self.derivative, v, w, j, dt)

    def _spikes(self, v: Array, v_new: Array) -> Array:
        """$1[v_t > \\theta]$, from the voltage at the start of the step."""
        return self.surrogate(v, _at(self.v_thr, v))

    def _after_spike(
        self, s: Array, v_new: Array, w_new: Array, v: Array, w: Array
    ) -> tuple[Array, Array]:
        """$v \\leftarrow c$ and $w \\leftarrow w_t + d$ where spiking."""
        return (
            _reset_to(s, v_new, _at(self.v_reset, v_new)),
            _reset_to(s, w_new, w + _at(self.w_reset, w)),
        )


class FitzhughNagumoCell(AbstractRecoveryCell):
    r"""FitzHugh-Nagumo neurons (ngc-learn's ``FitzhughNagumoCell``):

    $$\tau_m \frac{dv}{dt} = v - \frac{v^3}{\gamma} - w + R\,j, \qquad
    \tau_w \frac{dw}{dt} = v + \alpha - \beta w,$$

    a spike wherever $v > $ ``v_thr`` after the step (every step above it counts), and
    with ``spike_reset`` the cell returns to $(v_0, w_0)$ after a spike. Dimensionless
    units (times in ms).
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    tau_w: Float[Array, "..."]
    alpha: Float[Array, "..."]
    beta: Float[Array, "..."]
    gamma: Float[Array, "..."]
    v0: Float[Array, "..."]
    w0: Float[Array, "..."]
    v_thr: Float[Array, "..."]
    spike_reset: bool = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike = 1.0,
        resist_m: ParamLike = 1.0,
        tau_w: ParamLike = 12.5,
        alpha: ParamLike = 0.7,
        beta: ParamLike = 0.8,
        gamma: ParamLike = 3.0,
        v0: ParamLike = 0.0,
        w0: ParamLike = 0.0,
        v_thr: ParamLike = 1.07,
        spike_reset: bool = False,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """ngc-learn's names and defaults. Each numeric argument is
        a scalar or a per-unit array of shape `(n_units,)`, stored as an array leaf (vmap, grad
        and a new value without recompiling all work).

        **Arguments:**

        - `n_units`: number of neurons (static).
        - `tau_m`: time scale of $v$ (ms, > 0).
        - `resist_m`: input resistance $R$ (> 0).
        - `tau_w`: time scale of the recovery $w$ (ms, > 0).
        - `alpha`: recovery offset $\\alpha$ (real).
        - `beta`: recovery decay $\\beta$ (real).
        - `gamma`: the cubic term's divisor $\\gamma$ (> 0).
        - `v0`, `w0`: initial (and, with `spike_reset`, post-spike) $v$ and $w$ (real).
        - `v_thr`: spike threshold (real).
        - `spike_reset`: reset spiking units to $(v_0, w_0)$ (a static flag).
        - `integration_type`: an integrator name or object (static).
        - `surrogate_type`: surrogate name or object (static).
        """
        n = self.n_units = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.tau_w = param(tau_w, "tau_w", "positive", n_units=n)
        self.alpha = param(alpha, "alpha", n_units=n)
        self.beta = param(beta, "beta", n_units=n)
        self.gamma = param(gamma, "gamma", "positive", n_units=n)
        self.v0 = param(v0, "v0", n_units=n)
        self.w0 = param(w0, "w0", n_units=n)
        self.v_thr = param(v_thr, "v_thr", n_units=n)
        self.spike_reset = bool(spike_reset)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v: Array, w: Array, j: Array) -> tuple[Array, Array]:
        """$(dv/dt, dw/dt)$ per ms."""
        dv = (v - v * v * v / _at(self.gamma, v) - w + j) * _at(1.0 / self.tau_m, v)
        dw = (v + _at(self.alpha, v) - _at(self.beta, w) * w) * _at(1.0 / self.tau_w, v)
        return dv, dw

    def _input_current(self, j: Array) -> Array:
        """$R\\,j$."""
        return j * _at(self.resist_m, j)

    def _integrate(self, v: Array, w: Array, j: Array, dt: Any) -> tuple[Array, Array]:
        """One step of the integrator on $(v, w)$ jointly."""
        return _joint_step(self.integrator, self.derivative, v, w, j, dt)

    def _spikes(self, v: Array, v_new: Array) -> Array:
        """$1[v_{t+\\Delta t} > \\theta]$."""
        return self.surrogate(v_new, _at(self.v_thr, v_new))

    def _after_spike(
        self, s: Array, v_new: Array, w_new: Array, v: Array, w: Array
    ) -> tuple[Array, Array]:
        """With `spike_reset`, $(v, w) \\leftarrow (v_0, w_0)$ where spiking."""
        if not self.spike_reset:  # a static flag
            return v_new, w_new
        return (
            _reset_to(s, v_new, _at(self.v0, v_new)),
            _reset_to(s, w_new, _at(self.w0, w_new)),
        )


class RAFCell(AbstractRecoveryCell):
    r"""Resonate-and-fire neurons (ngc-learn's ``RAFCell``, Izhikevich 2001): a damped
    oscillator driven by the input,

    $$\tau_v \frac{dv}{dt} = \omega w + b\,v, \qquad
    \tau_w \frac{dw}{dt} = b\,w - \omega v + R\,j,$$

    with angular frequency ``omega`` $\omega$ (rad per unit of $\tau$) and
    ``dampen_factor`` $b$ ($< 0$ damps); a spike where $v > $ ``thr`` after the step resets
    $(v, w)$ to (``v_reset``, ``w_reset``) when ``post_spike_reset``. With Euler the step
    is ngc-learn's semi-implicit (symplectic) Euler: $w$ first, then $v$ from the new $w$,
    which keeps the oscillation from gaining energy; other methods integrate the system
    jointly. Dimensionless units (times in ms).
    """

    n_units: int = eqx.field(static=True)
    tau_v: Float[Array, "..."]
    tau_w: Float[Array, "..."]
    thr: Float[Array, "..."]
    omega: Float[Array, "..."]
    dampen_factor: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    w_reset: Float[Array, "..."]
    v0: Float[Array, "..."]
    w0: Float[Array, "..."]
    resist_v: Float[Array, "..."]
    post_spike_reset: bool = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_v: ParamLike = 1.0,
        tau_w: ParamLike = 1.0,
        thr: ParamLike = 1.0,
        omega: ParamLike = 10.0,
        dampen_factor: ParamLike = -1.0,
        v_reset: ParamLike = 0.0,
        w_reset: ParamLike = 0.0,
        v0: ParamLike = 0.0,
        w0: ParamLike = 0.0,
        resist_v: ParamLike = 1.0,
        post_spike_reset: bool = True,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """ngc-learn's names and defaults. Each numeric argument is
        a scalar or a per-unit array of shape `(n_units,)`, stored as an array leaf (vmap, grad
        and a new value without recompiling all work).

        **Arguments:**

        - `n_units`: number of neurons (static).
        - `tau_v`, `tau_w`: time scales of $v$ and $w$ (ms, > 0).
        - `thr`: spike threshold (real).
        - `omega`: angular frequency $\\omega$ (real).
        - `dampen_factor`: damping $b$ (real; negative damps).
        - `v_reset`, `w_reset`: $(v, w)$ after a spike (real).
        - `v0`, `w0`: initial $v$ and $w$ (real).
        - `resist_v`: input resistance $R$ (> 0).
        - `post_spike_reset`: reset spiking units (a static flag).
        - `integration_type`: an integrator name or object (static; Euler is symplectic).
        - `surrogate_type`: surrogate name or object (static).
        """
        n = self.n_units = _check_units(n_units)
        self.tau_v = param(tau_v, "tau_v", "positive", n_units=n)
        self.tau_w = param(tau_w, "tau_w", "positive", n_units=n)
        self.thr = param(thr, "thr", n_units=n)
        self.omega = param(omega, "omega", n_units=n)
        self.dampen_factor = param(dampen_factor, "dampen_factor", n_units=n)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.w_reset = param(w_reset, "w_reset", n_units=n)
        self.v0 = param(v0, "v0", n_units=n)
        self.w0 = param(w0, "w0", n_units=n)
        self.resist_v = param(resist_v, "resist_v", "positive", n_units=n)
        self.post_spike_reset = bool(post_spike_reset)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v: Array, w: Array, j: Array) -> tuple[Array, Array]:
        """$(dv/dt, dw/dt)$ per ms."""
        b, omega = _at(self.dampen_factor, v), _at(self.omega, v)
        dv = (omega * w + b * v) * _at(1.0 / self.tau_v, v)
        dw = (b * w - omega * v + j) * _at(1.0 / self.tau_w, v)
        return dv, dw

    def _input_current(self, j: Array) -> Array:
        """$R\\,j$."""
        return j * _at(self.resist_v, j)

    def _integrate(self, v: Array, w: Array, j: Array, dt: Any) -> tuple[Array, Array]:
        """Symplectic Euler for :class:`ngcx.diffeq.Euler` (ngc-learn's update), the
        integrator on $(v, w)$ jointly otherwise."""
        if not isinstance(self.integrator, Euler):  # a static choice
            return _joint_step(self.integrator, self.derivative, v, w, j, dt)
        w_new = w + dt * self.derivative(v, w, j)[1]
        v_new = v + dt * self.derivative(v, w_new, j)[0]
        return v_new, w_new

    def _spikes(self, v: Array, v_new: Array) -> Array:
        """$1[v_{t+\\Delta t} > \\theta]$."""
        return self.surrogate(v_new, _at(self.thr, v_new))

    def _after_spike(
        self, s: Array, v_new: Array, w_new: Array, v: Array, w: Array
    ) -> tuple[Array, Array]:
        """With `post_spike_reset`, $(v, w) \\leftarrow$ (``v_reset``, ``w_reset``)
        where spiking."""
        if not self.post_spike_reset:  # a static flag
            return v_new, w_new
        return (
            _reset_to(s, v_new, _at(self.v_reset, v_new)),
            _reset_to(s, w_new, _at(self.w_reset, w_new)),
        )


class HHState(eqx.Module):
    """State of a :class:`HodgkinHuxleyCell` (``(*batch, n_units)`` arrays): ``v``
    (mV relative to rest), gates ``m``, ``n``, ``h`` in [0, 1], spikes ``s``, ``tols``
    (ms) and the clock ``t`` (ms)."""

    v: Float[Array, "*batch n"]
    m: Float[Array, "*batch n"]
    n: Float[Array, "*batch n"]
    h: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


def _exprel_rate(scale: float, x: Array) -> Array:
    r"""$\text{scale}\cdot x / (e^{x/10} - 1)$ with its limit $10\,\text{scale}$ at
    $x = 0$ (ngc-learn evaluates the quotient directly and returns NaN there)."""
    u = x / 10.0
    small = jnp.abs(u) < 1e-4
    safe = jnp.where(small, 1.0, u)
    ratio = jnp.where(small, 1.0 - u / 2.0, safe / jnp.expm1(safe))
    return scale * 10.0 * ratio


def hh_rates(v: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
    r"""Hodgkin-Huxley rate functions (1/ms) at $v$ (mV relative to rest):
    $(\alpha_n, \beta_n, \alpha_m, \beta_m, \alpha_h, \beta_h)$ with
    $\alpha_n = 0.01 (10 - v)/(e^{(10 - v)/10} - 1)$, $\beta_n = 0.125 e^{-v/80}$,
    $\alpha_m = 0.1 (25 - v)/(e^{(25 - v)/10} - 1)$, $\beta_m = 4 e^{-v/18}$,
    $\alpha_h = 0.07 e^{-v/20}$, $\beta_h = 1/(e^{(30 - v)/10} + 1)$."""
    return (
        _exprel_rate(0.01, 10.0 - v),
        0.125 * jnp.exp(-v / 80.0),
        _exprel_rate(0.1, 25.0 - v),
        4.0 * jnp.exp(-v / 18.0),
        0.07 * jnp.exp(-v / 20.0),
        1.0 / (jnp.exp((30.0 - v) / 10.0) + 1.0),
    )


def _steady_gates(v: Array) -> tuple[Array, Array, Array]:
    an, bn, am, bm, ah, bh = hh_rates(v)
    return am / (am + bm), an / (an + bn), ah / (ah + bh)


class HodgkinHuxleyCell(AbstractSpikingCell):
    r"""Hodgkin-Huxley neurons (ngc-learn's ``HodgkinHuxleyCell``):

    $$\tau_v \frac{dv}{dt} = R\,j - g_{Na} m^3 h (v - v_{Na}) - g_K n^4 (v - v_K)
    - g_L (v - v_L),\qquad \frac{dx}{dt} = \alpha_x(v)(1 - x) - \beta_x(v) x$$

    for the gates $x \in \{m, n, h\}$ with the rates of :func:`hh_rates` ($v$ in mV
    relative to rest, times in ms, conductances in mS per unit of capacitance, which
    ``tau_v`` carries). A spike is $v > $ ``thr``; with ``spike_reset`` spiking cells go to
    ``v_reset`` and the gates to their steady state there. Gates start at their steady
    state at $v = 0$. ngc-learn's default conductances ($g_K = 5$, $v_K = -35$) are kept
    for compatibility; they have no resting state at $v = 0$ (the cell oscillates without
    input). The classic squid-axon values are ``g_Na=120, g_K=36, v_K=-12``. The rates'
    removable singularities (at $v = 10$ and $v = 25$ mV, where ngc-learn returns NaN) are
    evaluated by their limits. Euler is ngc-learn's update; other methods integrate all
    four variables jointly.
    """

    n_units: int = eqx.field(static=True)
    tau_v: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    v_Na: Float[Array, "..."]
    v_K: Float[Array, "..."]
    v_L: Float[Array, "..."]
    g_Na: Float[Array, "..."]
    g_K: Float[Array, "..."]
    g_L: Float[Array, "..."]
    thr: Float[Array, "..."]
    spike_reset: bool = eqx.field(static=True)
    v_reset: Float[Array, "..."]
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_v: ParamLike,
        resist_m: ParamLike = 1.0,
        v_Na: ParamLike = 115.0,
        v_K: ParamLike = -35.0,
        v_L: ParamLike = 10.6,
        g_Na: ParamLike = 100.0,
        g_K: ParamLike = 5.0,
        g_L: ParamLike = 0.3,
        thr: ParamLike = 4.0,
        spike_reset: bool = False,
        v_reset: ParamLike = 0.0,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """ngc-learn's names and defaults (mV, mS, ms). Each numeric argument is
        a scalar or a per-unit array of shape `(n_units,)`, stored as an array leaf (vmap, grad
        and a new value without recompiling all work).

        **Arguments:**

        - `n_units`: number of neurons (static).
        - `tau_v`: membrane time constant, the capacitance (ms, > 0).
        - `resist_m`: input resistance $R$ (> 0).
        - `v_Na`, `v_K`, `v_L`: reversal potentials of the sodium, potassium and leak
          currents (mV relative to rest, real).
        - `g_Na`, `g_K`, `g_L`: maximal conductances (>= 0).
        - `thr`: spike threshold (mV, real).
        - `spike_reset`: reset spiking units (a static flag).
        - `v_reset`: potential after a spike with `spike_reset` (mV, real).
        - `integration_type`: an integrator name or object (static).
        - `surrogate_type`: surrogate name or object (static).
        """
        n = self.n_units = _check_units(n_units)
        self.tau_v = param(tau_v, "tau_v", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.v_Na = param(v_Na, "v_Na", n_units=n)
        self.v_K = param(v_K, "v_K", n_units=n)
        self.v_L = param(v_L, "v_L", n_units=n)
        self.g_Na = param(g_Na, "g_Na", "nonnegative", n_units=n)
        self.g_K = param(g_K, "g_K", "nonnegative", n_units=n)
        self.g_L = param(g_L, "g_L", "nonnegative", n_units=n)
        self.thr = param(thr, "thr", n_units=n)
        self.spike_reset = bool(spike_reset)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    @property
    def integration_type(self) -> str:
        """The integrator's name (ngc-learn's ``integration_type``)."""
        return _integrator_name(self.integrator)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
    ) -> HHState:
        """Rest: ``v = 0`` and the gates at their steady state there.

        **Arguments:**

        - `batch_shape`: leading axes of every field but ``t``.
        - `dtype`: the floating dtype of the state.
        - `t`: the clock (ms).
        """
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        m, n, h = _steady_gates(zeros)
        return HHState(v=zeros, m=m, n=n, h=h, s=zeros, tols=zeros, t=jnp.asarray(t, dtype))

    def derivative(
        self, x: tuple[Array, Array, Array, Array], j: Array
    ) -> tuple[Array, Array, Array, Array]:
        """Time derivatives (per ms) of ``(v, m, n, h)`` for the current `j` ($R$ applied)."""
        v, m, n, h = x
        current = (
            j
            - _at(self.g_Na, v) * m * m * m * h * (v - _at(self.v_Na, v))
            - _at(self.g_K, v) * jnp.square(jnp.square(n)) * (v - _at(self.v_K, v))
            - _at(self.g_L, v) * (v - _at(self.v_L, v))
        )
        an, bn, am, bm, ah, bh = hh_rates(v)
        return (
            current * _at(1.0 / self.tau_v, v),
            am * (1.0 - m) - bm * m,
            an * (1.0 - n) - bn * n,
            ah * (1.0 - h) - bh * h,
        )

    def __call__(
        self,
        state: HHState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: float = 1.0,
    ) -> HHState:
        """Advance one step of ``dt`` ms with input current `j` (``None``: zero).

        **Returns:** the new :class:`HHState`.
        """
        dt = check_dt(dt, self)
        j = _current(j, state.v)
        j = j * _at(self.resist_m, j)
        x = (state.v, state.m, state.n, state.h)
        _, (v, m, n, h) = self.integrator(0.0, x, lambda t, u, p: self.derivative(u, p), dt, j)
        s = self.surrogate(v, _at(self.thr, v))
        if self.spike_reset:  # a static flag
            v_reset = jnp.zeros_like(v) + _at(self.v_reset, v)
            m0, n0, h0 = _steady_gates(v_reset)
            v, m, n, h = (_reset_to(s, a, b) for a, b in ((v, v_reset), (m, m0), (n, n0), (h, h0)))
        return checked(
            self,
            HHState(
                v=v,
                m=m,
                n=n,
                h=h,
                s=s,
                tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
                t=state.t + dt,
            ),
        )
