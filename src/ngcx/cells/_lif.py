r"""Integrate-and-fire spiking cells: LIF, IF, quadratic LIF, simplified LIF, WTA-spiking.

All times (``dt``, time constants, refractory periods, ``t``) are in milliseconds and
voltages in millivolts, as in ngc-learn. Spikes are emitted by a surrogate spike function
(:mod:`ngcx.surrogates`), so $s = 1[v > \theta]$ in the forward pass and
$\partial s/\partial v = g(v - \theta)$ under ``jax.grad``.

Every numeric constructor argument is an array leaf (:func:`ngcx._params.param`): a scalar
or one value per unit (shape ``(n_units,)``), which ``jax.vmap`` can sweep, ``jax.grad``
can differentiate (the threshold through the surrogate), and which a jitted step takes as
an input, so a new value does not recompile. Only sizes, flags, the integrator and the
surrogate are static. :class:`LIFCell`, :class:`IFCell` and :class:`QuadLIFCell` share
their step through the private ``_AbstractLIF``; each implements its
$\tau_m\,dv/dt$ (``drive``).
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import Key, ParamLike, Scalar
from .._params import is_concrete, is_static_one, is_static_zero, optional_param, param
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
    "SpikeState",
    "LIFCell",
    "IFCell",
    "QuadLIFCell",
    "SLIFState",
    "SLIFCell",
    "WTASCell",
]

#: A numeric constructor argument: a Python number, or a scalar or per-unit array
#: (possibly traced, under ``jax.vmap``/``jax.grad``/``jax.jit``).


def _never_adapts(tau_theta: Array) -> bool:
    """A concrete ``tau_theta <= 0`` everywhere: no threshold adaptation at all."""
    return is_concrete(tau_theta) and bool(np.all(np.asarray(tau_theta) <= 0))


class SpikeState(eqx.Module):
    """State of an integrate-and-fire cell, each field of shape ``(*batch, n_units)``
    except ``t``:

    - ``v``: membrane potential (mV);
    - ``s``: spikes emitted in the last step (0/1, differentiable through the surrogate);
    - ``s_raw``: spikes before the one-spike constraint (equal to ``s`` without it);
    - ``rfr``: time since the last spike (ms; the cell integrates once it reaches the
      refractory period);
    - ``thr_theta``: adaptive threshold increment (mV);
    - ``tols``: time of the last spike (ms; 0 before any spike, as in ngc-learn);
    - ``t``: the simulation time (ms) at which the next step starts, a scalar.
    """

    v: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    s_raw: Float[Array, "*batch n"]
    rfr: Float[Array, "*batch n"]
    thr_theta: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


class _AbstractLIF(AbstractSpikingCell):
    r"""The integrate-and-fire step shared by :class:`LIFCell`, :class:`IFCell` and
    :class:`QuadLIFCell`:

    $$\tau_m \frac{dv}{dt} = D(v) + R\, j\, m_{\text{rfr}},$$

    with the cell's ``drive`` giving $D(v) + $ (input), the refractory mask
    $m_{\text{rfr}} = 1[\text{rfr} \ge T_{\text{rfr}}]$, a spike where
    $v > \theta_0 + \theta_{\text{adapt}}$, the reset to ``v_reset``, the adaptive
    threshold $\theta_{\text{adapt}} \leftarrow \theta_{\text{adapt}}
    e^{-\Delta t/\tau_\theta} + \theta_+ s$ (kept unchanged where $\tau_\theta \le 0$), and
    the optional lower bound ``v_min``. ``init_state``, ``reset``, ``threshold``,
    ``derivative`` and ``__call__`` are shared; each final cell stores the fields below and
    implements :meth:`drive`.

    ``refractory`` is a static flag set at construction: ``False`` only when
    ``refract_time`` is a concrete 0 (the mask is then all ones and is left out of the
    step, about a quarter of a step's time on CPU); a traced or non-zero ``refract_time``
    keeps the mask. The two give the same values.
    """

    n_units: eqx.AbstractVar[int]
    tau_m: eqx.AbstractVar[Array]
    resist_m: eqx.AbstractVar[Array]
    thr: eqx.AbstractVar[Array]
    v_rest: eqx.AbstractVar[Array]
    v_reset: eqx.AbstractVar[Array]
    tau_theta: eqx.AbstractVar[Array]
    theta_plus: eqx.AbstractVar[Array]
    refract_time: eqx.AbstractVar[Array]
    v_min: eqx.AbstractVar[Array | None]
    refractory: eqx.AbstractVar[bool]
    one_spike: eqx.AbstractVar[bool]
    max_one_spike: eqx.AbstractVar[bool]
    integrator: eqx.AbstractVar[AbstractIntegrator]
    surrogate: eqx.AbstractVar[AbstractSurrogate]

    @abc.abstractmethod
    def drive(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        r"""$\tau_m\,dv/dt$ (mV) for the already resistance-scaled, refractory-masked
        input `j`."""

    @property
    def integration_type(self) -> str:
        """The integrator's name (see :data:`ngcx.diffeq.INTEGRATORS`)."""
        return _integrator_name(self.integrator)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: Scalar = 0.0
    ) -> SpikeState:
        """Resting state (ngc-learn's ``reset``): ``v = v_rest``, no spikes, out of the
        refractory period, no threshold increment, clock at `t` ms."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return SpikeState(
            v=zeros + _at(self.v_rest, zeros),
            s=zeros,
            s_raw=zeros,
            rfr=zeros + _at(self.refract_time, zeros),
            thr_theta=zeros,
            tols=zeros,
            t=jnp.asarray(t, dtype),
        )

    def reset(self, state: SpikeState) -> SpikeState:
        """The resting state keeping the adaptive thresholds (between samples, as
        Diehl & Cook networks do); the clock restarts at 0."""
        rest = self.init_state(state.v.shape[:-1], state.v.dtype)
        return eqx.tree_at(lambda s: s.thr_theta, rest, state.thr_theta)

    def threshold(self, state: SpikeState) -> Float[Array, "*batch n"]:
        r"""The present threshold $\theta_0 + \theta_{\text{adapt}}$ (mV)."""
        return _at(self.thr, state.thr_theta) + state.thr_theta

    def derivative(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        """$dv/dt$ (mV/ms) for the already resistance-scaled, refractory-masked input."""
        return self.drive(v, j) * (1.0 / _at(self.tau_m, v))

    def _integrate(self, v: Array, j: Array, dt: Any) -> Array:
        if isinstance(self.integrator, Euler):  # the hot path: one fused coefficient
            return v + (dt / _at(self.tau_m, v)) * self.drive(v, j)
        _, v_new = self.integrator(0.0, v, lambda t, u, p: self.derivative(u, p), dt, j)
        return v_new

    def _constrain(self, s: Array, v_prev: Array, key: Key | None) -> Array:
        if self.max_one_spike:
            winner = jax.nn.one_hot(jnp.argmax(v_prev, axis=-1), self.n_units, dtype=s.dtype)
            return s * winner
        if self.one_spike:
            if key is None:
                raise ValueError("`key` is required when `one_spike=True`.")
            u = jax.random.uniform(key, s.shape, s.dtype)
            pick = jax.nn.one_hot(jnp.argmax(s * u, axis=-1), self.n_units, dtype=s.dtype)
            return s * pick  # no spike stays no spike; several keep one at random
        return s

    def __call__(
        self,
        state: SpikeState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: Scalar = 1.0,
        key: Key | None = None,
    ) -> SpikeState:
        """Advance one step of ``dt`` ms.

        **Arguments:** `state`; `j` the input current of the state's shape (``None``:
        zero); `dt` in ms; `key` for ``one_spike``.

        **Returns:** the new :class:`SpikeState`.
        """
        dt = check_dt(dt, self)
        v = state.v
        dt = jnp.asarray(dt, v.dtype)
        j = _current(j, v) * _at(self.resist_m, v)
        if self.refractory:  # static: False only for a concrete refract_time of 0
            j = j * (state.rfr >= _at(self.refract_time, v)).astype(v.dtype)
        v_new = self._integrate(v, j, dt)
        s_raw = self.surrogate(v_new, self.threshold(state))
        v_new = v_new * (1.0 - s_raw)
        if not is_static_zero(self.v_reset):  # a concrete 0 (closed over) adds nothing
            v_new = v_new + s_raw * _at(self.v_reset, v)
        s = self._constrain(s_raw, v, key)
        s_const = jax.lax.stop_gradient(s_raw)
        rfr = (state.rfr + dt) * (1.0 - s_const)  # a timer: no gradient
        # tau_theta <= 0: no adaptation (decay 1, no increment), selected on the parameters
        # (scalar or per unit), so the per-element update is one multiply-add
        if _never_adapts(self.tau_theta):  # concrete tau_theta <= 0 everywhere
            theta = state.thr_theta
        else:
            tau_theta = _at(self.tau_theta, v)
            adapting = tau_theta > 0
            decay = jnp.exp(-dt / jnp.where(adapting, tau_theta, 1.0))
            decay = jnp.where(adapting, decay, 1.0)
            theta_plus = jnp.where(adapting, _at(self.theta_plus, v), 0.0)
            theta = state.thr_theta * decay + theta_plus * s_const
        if self.v_min is not None:
            v_new = jnp.maximum(v_new, _at(self.v_min, v))
        return checked(
            self,
            SpikeState(
                v=v_new,
                s=s,
                s_raw=s_raw,
                rfr=rfr,
                thr_theta=theta,
                tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
                t=state.t + dt,
            ),
        )


class LIFCell(_AbstractLIF):
    r"""Leaky integrate-and-fire neurons (ngc-learn's ``LIFCell``):

    $$\tau_m \frac{dv}{dt} = g_L\,(v_{\text{rest}} - v) + R\, j\, m_{\text{rfr}},$$

    with ``tau_m`` $\tau_m$ (ms), ``conduct_leak`` $g_L$ (0 gives integrate-and-fire),
    ``resist_m`` $R$ and the refractory mask $m_{\text{rfr}} = 1[\text{rfr} \ge
    T_{\text{rfr}}]$ (no input during ``refract_time`` ms after a spike). After the
    integration step (``"euler"``, ``"midpoint"``/``"rk2"``, any name in
    :data:`ngcx.diffeq.INTEGRATORS` or an integrator object, the input held over the step),
    a spike is emitted where $v > \theta = \theta_0 + \theta_{\text{adapt}}$ (``thr``
    $\theta_0$), the voltage of spiking cells is set to ``v_reset``, and the adaptive
    threshold follows $\theta_{\text{adapt}} \leftarrow \theta_{\text{adapt}}
    e^{-\Delta t/\tau_\theta} + \theta_+ s$ (where ``tau_theta`` $\le 0$ it stays
    unchanged: no adaptation). ``v_min`` clamps the voltage from below.

    Every numeric parameter is an array leaf, a scalar or one value per unit: sweep it
    with ``jax.vmap``, differentiate with ``jax.grad`` (``thr`` through the surrogate),
    or change it without recompiling a jitted step. One exception to the last: a
    ``refract_time`` given as a concrete 0 sets the static flag ``refractory=False``, which
    leaves the (then all-ones) refractory mask out of the step, so going from 0 to a
    positive period compiles a second step (the values are the same either way).

    ``one_spike=True`` keeps, per sample, one spike chosen uniformly among the cells that
    fired (needs a ``key``); ``max_one_spike=True`` keeps only the spike of the cell with
    the highest voltage at the start of the step. The threshold adapts to the raw spikes.

    The spike is ``surrogate_type``'s step function, so ``jax.grad`` flows through it with
    the surrogate derivative $g(v - \theta)$ (through the reset too). ngc-learn accepts
    ``surrogate_type`` but always uses its arctan estimator; ngcx uses the one named
    (default ``"straight_through"``, the name in ngc-learn's signature).

    ```python
    cell = LIFCell(100, tau_m=100.0)
    state = cell.init_state((batch,))
    state = cell(state, j, dt=1.0)          # j: (batch, 100) in the same units as v / R
    ```
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    thr: Float[Array, "..."]
    v_rest: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    conduct_leak: Float[Array, "..."]
    tau_theta: Float[Array, "..."]
    theta_plus: Float[Array, "..."]
    refract_time: Float[Array, "..."]
    v_min: Float[Array, "..."] | None
    refractory: bool = eqx.field(static=True)
    one_spike: bool = eqx.field(static=True)
    max_one_spike: bool = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike,
        resist_m: ParamLike = 1.0,
        thr: ParamLike = -52.0,
        v_rest: ParamLike = -65.0,
        v_reset: ParamLike = -60.0,
        conduct_leak: ParamLike = 1.0,
        tau_theta: ParamLike = 1e7,
        theta_plus: ParamLike = 0.05,
        refract_time: ParamLike = 5.0,
        one_spike: bool = False,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
        v_min: ParamLike | None = None,
        max_one_spike: bool = False,
    ):
        """ngc-learn's names and defaults. Each numeric argument is a scalar or a per-unit
        array of shape `(n_units,)`, stored as an array leaf (vmap, grad and a new value
        without recompiling all work).

        **Arguments:**

        - `n_units`: number of cells (static).
        - `tau_m`: membrane time constant (ms, > 0).
        - `resist_m`: membrane resistance (> 0).
        - `thr`: base threshold $\\theta_0$ (mV, real).
        - `v_rest`, `v_reset`: resting and reset potentials (mV, real).
        - `conduct_leak`: leak conductance $g_L$ (>= 0; 0 gives IF dynamics).
        - `tau_theta`: threshold-adaptation time constant (ms, real; <= 0 disables
          adaptation, per unit).
        - `theta_plus`: threshold increment per spike (mV, >= 0).
        - `refract_time`: refractory period (ms, >= 0; a concrete 0 leaves the mask out,
          see above).
        - `one_spike`, `max_one_spike`: at most one spike per sample and step (random
          among the firing cells, or the highest-voltage cell); static flags.
        - `integration_type`: an integrator name or object (static).
        - `surrogate_type`: a name in :data:`ngcx.surrogates.SURROGATES` or a surrogate
          (static).
        - `v_min`: lower voltage bound (mV, real; ``None``: no bound, a static choice).

        **Raises:** ``ValueError`` naming the argument for a value outside its domain.
        """
        self.n_units = n = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.thr = param(thr, "thr", n_units=n)
        self.v_rest = param(v_rest, "v_rest", n_units=n)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.conduct_leak = param(conduct_leak, "conduct_leak", "nonnegative", n_units=n)
        self.tau_theta = param(tau_theta, "tau_theta", n_units=n)
        self.theta_plus = param(theta_plus, "theta_plus", "nonnegative", n_units=n)
        self.refract_time = param(refract_time, "refract_time", "nonnegative", n_units=n)
        self.refractory = not is_static_zero(self.refract_time)
        self.v_min = optional_param(v_min, "v_min", n_units=n)
        self.one_spike = bool(one_spike)
        self.max_one_spike = bool(max_one_spike)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def drive(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        r"""$g_L (v_{\text{rest}} - v) + j$ (mV)."""
        # concrete zeros/ones (a cell closed over by jit) are folded at trace time: XLA
        # keeps 0 - v and x * 1 (IEEE signed zeros), which costs a pass under BPTT
        leak = -v if is_static_zero(self.v_rest) else _at(self.v_rest, v) - v
        if not is_static_one(self.conduct_leak):
            leak = _at(self.conduct_leak, v) * leak
        return leak + j


class IFCell(_AbstractLIF):
    r"""Integrate-and-fire neurons (ngc-learn's ``IFCell``):

    $$\tau_m \frac{dv}{dt} = R\, j\, m_{\text{rfr}},$$

    a spike above ``thr``, the reset to ``v_reset``, and (``lower_clamp_voltage=True``) the
    voltage never below ``v_rest``. No leak and no threshold adaptation (``tau_theta`` and
    ``theta_plus`` are fixed at 0). Numeric parameters are array leaves, scalar or per-unit,
    as in :class:`LIFCell` (with its static ``refractory`` flag for a concrete
    ``refract_time`` of 0, the default here).
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    thr: Float[Array, "..."]
    v_rest: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    tau_theta: Float[Array, "..."]
    theta_plus: Float[Array, "..."]
    refract_time: Float[Array, "..."]
    v_min: Float[Array, "..."] | None
    refractory: bool = eqx.field(static=True)
    one_spike: bool = eqx.field(static=True)
    max_one_spike: bool = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike,
        resist_m: ParamLike = 1.0,
        thr: ParamLike = -52.0,
        v_rest: ParamLike = -65.0,
        v_reset: ParamLike = -60.0,
        refract_time: ParamLike = 0.0,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
        lower_clamp_voltage: bool = True,
    ):
        """ngc-learn's names and defaults; numeric arguments are scalars or per-unit
        arrays of shape `(n_units,)`, stored as array leaves.

        **Arguments:**

        - `n_units`: number of cells (static).
        - `tau_m`: membrane time constant (ms, > 0).
        - `resist_m`: membrane resistance (> 0).
        - `thr`: threshold (mV, real).
        - `v_rest`, `v_reset`: resting and reset potentials (mV, real).
        - `refract_time`: refractory period (ms, >= 0).
        - `integration_type`: an integrator name or object (static).
        - `surrogate_type`: a surrogate name or object (static).
        - `lower_clamp_voltage`: clamp the voltage at ``v_rest`` from below (static; the
          bound is stored in ``v_min``, a copy of ``v_rest`` taken at construction).
        """
        self.n_units = n = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.thr = param(thr, "thr", n_units=n)
        self.v_rest = param(v_rest, "v_rest", n_units=n)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.tau_theta = param(0.0, "tau_theta")
        self.theta_plus = param(0.0, "theta_plus")
        self.refract_time = param(refract_time, "refract_time", "nonnegative", n_units=n)
        self.refractory = not is_static_zero(self.refract_time)
        self.v_min = self.v_rest if lower_clamp_voltage else None
        self.one_spike = False
        self.max_one_spike = False
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def drive(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        """$j$ (no leak)."""
        return j


class QuadLIFCell(_AbstractLIF):
    r"""Quadratic integrate-and-fire neurons (ngc-learn's ``QuadLIFCell``):

    $$\tau_m \frac{dv}{dt} = a_0 (v - v_{\text{rest}})(v - v_c) + R\, j\, m_{\text{rfr}},$$

    with ``critical_v`` $a_0$ (> 0, the curvature) and ``v_scale`` $v_c$ the critical
    voltage (ngc-learn's argument names; they read the other way round). Below $v_c$ the
    voltage relaxes to $v_{\text{rest}}$; above it, it runs away to a spike. Threshold,
    reset, refractory period (and its static ``refractory`` flag) and adaptation as
    :class:`LIFCell`; numeric parameters are array leaves, scalar or per-unit (``v_c`` and
    ``a0`` hold ``v_scale`` and ``critical_v``).

    ngc-learn writes the quadratic term as $(v_{\text{rest}} - v)(v - v_c)$, the opposite
    sign, which makes $v_c$ the stable point and the rest potential unstable (the cell then
    never fires from rest with a weak input); ngcx uses the quadratic integrate-and-fire
    model's sign.
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    thr: Float[Array, "..."]
    v_rest: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    v_c: Float[Array, "..."]
    a0: Float[Array, "..."]
    tau_theta: Float[Array, "..."]
    theta_plus: Float[Array, "..."]
    refract_time: Float[Array, "..."]
    v_min: Float[Array, "..."] | None
    refractory: bool = eqx.field(static=True)
    one_spike: bool = eqx.field(static=True)
    max_one_spike: bool = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike,
        resist_m: ParamLike = 1.0,
        thr: ParamLike = -52.0,
        v_rest: ParamLike = -65.0,
        v_reset: ParamLike = -60.0,
        v_scale: ParamLike = -41.6,
        critical_v: ParamLike = 1.0,
        tau_theta: ParamLike = 1e7,
        theta_plus: ParamLike = 0.05,
        refract_time: ParamLike = 5.0,
        one_spike: bool = False,
        integration_type: str | AbstractIntegrator = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
        v_min: ParamLike | None = None,
        max_one_spike: bool = False,
    ):
        """ngc-learn's names and defaults; numeric arguments are scalars or per-unit
        arrays of shape `(n_units,)`, stored as array leaves.

        **Arguments:** as :class:`LIFCell` (without `conduct_leak`), plus

        - `v_scale`: the critical voltage $v_c$ (mV, real);
        - `critical_v`: the curvature $a_0$ (1/mV, > 0).
        """
        self.n_units = n = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.thr = param(thr, "thr", n_units=n)
        self.v_rest = param(v_rest, "v_rest", n_units=n)
        self.v_reset = param(v_reset, "v_reset", n_units=n)
        self.v_c = param(v_scale, "v_scale", n_units=n)
        self.a0 = param(critical_v, "critical_v", "positive", n_units=n)
        self.tau_theta = param(tau_theta, "tau_theta", n_units=n)
        self.theta_plus = param(theta_plus, "theta_plus", "nonnegative", n_units=n)
        self.refract_time = param(refract_time, "refract_time", "nonnegative", n_units=n)
        self.refractory = not is_static_zero(self.refract_time)
        self.v_min = optional_param(v_min, "v_min", n_units=n)
        self.one_spike = bool(one_spike)
        self.max_one_spike = bool(max_one_spike)
        self.integrator = get_integrator(integration_type)
        self.surrogate = _surrogate(surrogate_type)

    def drive(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        r"""$a_0 (v - v_{\text{rest}})(v - v_c) + j$ (mV)."""
        return _at(self.a0, v) * (v - _at(self.v_rest, v)) * (v - _at(self.v_c, v)) + j


class SLIFState(eqx.Module):
    """State of a :class:`SLIFCell` or :class:`WTASCell` (``(*batch, n_units)`` arrays):
    ``v`` potential, ``s`` spikes, ``thr`` per-cell thresholds, ``rfr`` time since the
    last spike (ms), ``tols`` time of last spike (ms), and the clock ``t`` (ms)."""

    v: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    thr: Float[Array, "*batch n"]
    rfr: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


def _jittered(
    key: Key, base: ParamLike, jitter: ParamLike, base_name: str, n: int, dtype: Any
) -> Array:
    """Per-cell thresholds ``base + U(-jitter, jitter)`` (differentiable in both)."""
    base_arr = param(base, base_name, n_units=n).astype(dtype)
    jit = param(jitter, "thr_jitter", "nonnegative", n_units=n).astype(dtype)
    noise = jax.random.uniform(key, (n,), dtype, minval=-jit, maxval=jit)
    return base_arr + noise


def _initial_spike_state(
    threshold0: Array, refract_time: Array, batch_shape: tuple[int, ...], t: Scalar
) -> SLIFState:
    """Resting :class:`SLIFState`: ``v = 0``, no spikes, the initial thresholds, out of the
    refractory period."""
    zeros = jnp.zeros((*batch_shape, threshold0.shape[-1]), threshold0.dtype)
    return SLIFState(
        v=zeros,
        s=zeros,
        thr=jnp.broadcast_to(threshold0, zeros.shape),
        rfr=zeros + _at(refract_time, zeros),
        tols=zeros,
        t=jnp.asarray(t, threshold0.dtype),
    )


class SLIFCell(AbstractSpikingCell):
    r"""Simplified LIF neurons (ngc-learn's ``SLIFCell``, Samadi et al. 2017):

    $$\tau_m \frac{dv}{dt} = (-v + R\,j - R_{\text{inh}}\, s_{t-1} W_{\text{inh}})\,
    m_{\text{rfr}},$$

    resting and reset potential 0, per-cell thresholds $\theta_i$ (``threshold0``)
    drawn as ``thr`` $\pm$ ``thr_jitter`` at construction, optional lateral inhibition
    (``resist_inh`` > 0, hollow random weights in [0.025, 1]). After a spike the voltage
    resets to 0 and the thresholds adapt: with ``rho_b > 0`` all thresholds of a sample
    move by $\rho_b(\sum_i s_i - 1)$ (floored at 0.025), otherwise
    $\theta \leftarrow \theta + g\,s - \ell\,\theta$ (``thr_gain`` $g$, ``thr_leak``
    $\ell$); the rule is chosen per unit by the value of ``rho_b`` (with ``jnp.where``, so
    a traced ``rho_b`` works). ``sticky_spikes`` keeps refractory cells' spikes at 1.
    Spikes use the ``secant_lif`` surrogate by default.

    Numeric parameters are array leaves, scalar or per-unit. ``thr`` and ``thr_jitter``
    are used once, to draw ``threshold0`` (a per-cell array leaf through which gradients
    with respect to them flow). A ``resist_inh`` that is a concrete 0 at construction
    leaves the inhibitory matmul out of the step (the static flag ``lateral_inhibition``);
    any other value, or a traced one, keeps it.

    ``thr_persist``: :meth:`reset` keeps the adapted thresholds (otherwise it restores the
    initial ones).
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    resist_inh: Float[Array, "..."]
    thr_gain: Float[Array, "..."]
    thr_leak: Float[Array, "..."]
    rho_b: Float[Array, "..."]
    refract_time: Float[Array, "..."]
    threshold0: Float[Array, " n"]
    inh_weights: Float[Array, "n n"]
    thr_persist: bool = eqx.field(static=True)
    sticky_spikes: bool = eqx.field(static=True)
    lateral_inhibition: bool = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike,
        resist_m: ParamLike,
        thr: ParamLike,
        *,
        key: Key,
        resist_inh: ParamLike = 0.0,
        thr_persist: bool = False,
        thr_gain: ParamLike = 0.0,
        thr_leak: ParamLike = 0.0,
        rho_b: ParamLike = 0.0,
        refract_time: ParamLike = 0.0,
        sticky_spikes: bool = False,
        thr_jitter: ParamLike = 0.05,
        surrogate_type: str | AbstractSurrogate = "secant_lif",
        dtype: Any = jnp.float32,
    ):
        """ngc-learn's names; numeric arguments are scalars or per-unit arrays of shape
        `(n_units,)`, stored as array leaves.

        **Arguments:**

        - `n_units`: number of cells (static).
        - `tau_m`: membrane time constant (ms, > 0).
        - `resist_m`: membrane resistance (> 0).
        - `thr`: base threshold (real) and `thr_jitter` (>= 0): ``threshold0`` is drawn
          uniformly in ``thr`` $\\pm$ ``thr_jitter``.
        - `key`: PRNG key for the jitter and the inhibitory weights.
        - `resist_inh`: lateral inhibition strength (>= 0).
        - `thr_persist`, `sticky_spikes`: static flags (see the class docstring).
        - `thr_gain`, `thr_leak`: threshold increment per spike and threshold leak (>= 0).
        - `rho_b`: homeostatic threshold rate (>= 0; 0 selects the gain/leak rule).
        - `refract_time`: refractory period (ms, >= 0).
        - `surrogate_type`: a surrogate name or object (static).
        - `dtype`: the floating dtype of the thresholds, weights and states.
        """
        self.n_units = n = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.resist_inh = param(resist_inh, "resist_inh", "nonnegative", n_units=n)
        self.thr_gain = param(thr_gain, "thr_gain", "nonnegative", n_units=n)
        self.thr_leak = param(thr_leak, "thr_leak", "nonnegative", n_units=n)
        self.rho_b = param(rho_b, "rho_b", "nonnegative", n_units=n)
        self.refract_time = param(refract_time, "refract_time", "nonnegative", n_units=n)
        self.thr_persist = bool(thr_persist)
        self.sticky_spikes = bool(sticky_spikes)
        self.lateral_inhibition = not is_static_zero(self.resist_inh)
        self.surrogate = _surrogate(surrogate_type)
        tkey, wkey = jax.random.split(key)
        self.threshold0 = _jittered(tkey, thr, thr_jitter, "thr", n, dtype)
        hollow = 1.0 - jnp.eye(n, dtype=dtype)
        self.inh_weights = (
            jax.random.uniform(wkey, (n, n), dtype, minval=0.025, maxval=1.0) * hollow
        )

    def init_state(self, batch_shape: tuple[int, ...] = (), t: Scalar = 0.0) -> SLIFState:
        """Resting state: ``v = 0``, thresholds at their initial values."""
        return _initial_spike_state(self.threshold0, self.refract_time, batch_shape, t)

    def reset(self, state: SLIFState) -> SLIFState:
        """Resting state, keeping the adapted thresholds when ``thr_persist``."""
        rest = self.init_state(state.v.shape[:-1])
        if self.thr_persist:
            rest = eqx.tree_at(lambda s: s.thr, rest, state.thr)
        return rest

    def __call__(
        self,
        state: SLIFState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: Scalar = 1.0,
    ) -> SLIFState:
        """Advance one step of ``dt`` ms; returns the new :class:`SLIFState`."""
        dt = check_dt(dt, self)
        v = state.v
        dt = jnp.asarray(dt, v.dtype)
        j = _current(j, v) * _at(self.resist_m, v)
        if self.lateral_inhibition:
            j = j - _at(self.resist_inh, v) * (state.s @ self.inh_weights)
        mask = (state.rfr >= _at(self.refract_time, v)).astype(v.dtype)
        v_new = v + dt * ((j - v) * (1.0 / _at(self.tau_m, v))) * mask
        s = self.surrogate(v_new, state.thr)
        v_new = (1.0 - s) * v_new
        s_const = jax.lax.stop_gradient(s)
        rho_b = _at(self.rho_b, v)
        dthr = jnp.sum(s_const, axis=-1, keepdims=True) - 1.0
        homeostatic = jnp.maximum(state.thr + rho_b * dthr, 0.025)
        gain_leak = state.thr + _at(self.thr_gain, v) * s_const - _at(self.thr_leak, v) * state.thr
        thr = jnp.where(rho_b > 0, homeostatic, gain_leak)
        rfr = (state.rfr + dt) * (1.0 - s_const) + s_const * dt
        if self.sticky_spikes:
            s = s * mask + (1.0 - mask)
        return checked(
            self,
            SLIFState(
                v=v_new,
                s=s,
                thr=thr,
                rfr=rfr,
                tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
                t=state.t + dt,
            ),
        )


class WTASCell(AbstractSpikingCell):
    r"""Winner-take-all spiking cells (ngc-learn's ``WTASCell``): the potential is the
    instantaneous input $v = R\,j\,m_{\text{rfr}}$, a cell spikes where
    $\mathrm{softmax}(v)_i > \theta_i$, and the thresholds move by
    $g(\sum_i s_i - 1)$ (``thr_gain`` $g$, floored at 0.025) so about one cell wins per
    step. Thresholds (``threshold0``) start at ``thr_base`` $\pm$ ``thr_jitter``.
    ``tau_m`` is accepted for ngc-learn compatibility and unused (as there). Spikes use the
    straight-through surrogate on $\mathrm{softmax}(v) - \theta$.

    Numeric parameters are array leaves, scalar or per-unit; ``thr_base`` and
    ``thr_jitter`` are used once, to draw ``threshold0`` (a per-cell array leaf).
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    resist_m: Float[Array, "..."]
    thr_gain: Float[Array, "..."]
    refract_time: Float[Array, "..."]
    threshold0: Float[Array, " n"]
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike,
        resist_m: ParamLike = 1.0,
        thr_base: ParamLike = 0.4,
        thr_gain: ParamLike = 0.002,
        refract_time: ParamLike = 0.0,
        thr_jitter: ParamLike = 0.05,
        *,
        key: Key,
        surrogate_type: str | AbstractSurrogate = "straight_through",
        dtype: Any = jnp.float32,
    ):
        """ngc-learn's names; numeric arguments are scalars or per-unit arrays of shape
        `(n_units,)`, stored as array leaves.

        **Arguments:**

        - `n_units`: number of cells (static).
        - `tau_m`: unused (ngc-learn compatibility; finite).
        - `resist_m`: input resistance (> 0).
        - `thr_base` (real), `thr_jitter` (>= 0): ``threshold0`` is drawn uniformly in
          ``thr_base`` $\\pm$ ``thr_jitter``.
        - `thr_gain`: threshold homeostasis rate (>= 0).
        - `refract_time`: refractory period (ms, >= 0).
        - `key`: PRNG key for the jitter.
        - `surrogate_type`: a surrogate name or object (static).
        - `dtype`: the floating dtype of the thresholds and states.
        """
        self.n_units = n = _check_units(n_units)
        self.tau_m = param(tau_m, "tau_m", n_units=n)
        self.resist_m = param(resist_m, "resist_m", "positive", n_units=n)
        self.thr_gain = param(thr_gain, "thr_gain", "nonnegative", n_units=n)
        self.refract_time = param(refract_time, "refract_time", "nonnegative", n_units=n)
        self.surrogate = _surrogate(surrogate_type)
        self.threshold0 = _jittered(key, thr_base, thr_jitter, "thr_base", n, dtype)

    def init_state(self, batch_shape: tuple[int, ...] = (), t: Scalar = 0.0) -> SLIFState:
        """Resting state with the initial thresholds."""
        return _initial_spike_state(self.threshold0, self.refract_time, batch_shape, t)

    def reset(self, state: SLIFState) -> SLIFState:
        """Resting state keeping the adapted thresholds (as ngc-learn's reset does)."""
        rest = self.init_state(state.v.shape[:-1])
        return eqx.tree_at(lambda s: s.thr, rest, state.thr)

    def __call__(
        self,
        state: SLIFState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: Scalar = 1.0,
    ) -> SLIFState:
        """Advance one step of ``dt`` ms; returns the new :class:`SLIFState`."""
        dt = check_dt(dt, self)
        dt = jnp.asarray(dt, state.v.dtype)
        mask = (state.rfr >= _at(self.refract_time, state.v)).astype(state.v.dtype)
        v = _current(j, state.v) * _at(self.resist_m, state.v) * mask
        s = self.surrogate(jax.nn.softmax(v, axis=-1), state.thr)
        s_const = jax.lax.stop_gradient(s)
        dthr = jnp.sum(s_const, axis=-1, keepdims=True) - 1.0
        thr = jnp.maximum(state.thr + _at(self.thr_gain, state.v) * dthr, 0.025)
        rfr = (state.rfr + dt) * (1.0 - s_const) + s_const * dt
        return checked(
            self,
            SLIFState(
                v=v,
                s=s,
                thr=thr,
                rfr=rfr,
                tols=_update_tols(state.tols, s_const, state.t),
                t=state.t + dt,
            ),
        )
