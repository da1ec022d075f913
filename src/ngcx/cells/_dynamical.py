r"""Spiking cells with a recovery variable or gating variables: AdEx, Izhikevich,
FitzHugh-Nagumo, resonate-and-fire, Hodgkin-Huxley.

Times in ms, voltages in mV (dimensionless for FitzHugh-Nagumo and resonate-and-fire,
as in ngc-learn). The coupled system $(v, w)$ (or $(v, m, n, h)$) is integrated *jointly*
by the chosen method (:data:`ngcx.diffeq.INTEGRATORS`); with Euler this is exactly
ngc-learn's update. ngc-learn's midpoint/RK4 steps integrate each variable with the others
frozen at the start of the step, which lowers the method's order on a coupled system; ngcx
evaluates every stage on the whole system, so ``"midpoint"`` is second and ``"rk4"``
fourth order.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_positive
from ..diffeq import get_integrator
from ..surrogates import AbstractSurrogate
from ._common import (
    check_units as _check_units,
    current as _current,
    surrogate as _surrogate,
    update_tols as _update_tols,
)


__all__ = [
    "RecoveryState",
    "AdExCell",
    "IzhikevichCell",
    "FitzhughNagumoCell",
    "RAFCell",
    "HHState",
    "HodgkinHuxleyCell",
]


class RecoveryState(eqx.Module):
    """State of a two-variable spiking cell (``(*batch, n_units)`` arrays): ``v`` the
    potential, ``w`` the recovery/adaptation variable, ``s`` the spikes of the last step,
    ``tols`` the time of last spike (ms), and the clock ``t`` (ms)."""

    v: Float[Array, "*batch n"]
    w: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


class _RecoveryCell(eqx.Module):
    """Shared machinery: ``derivative(v, w, j) -> (dv, dw)``, a post-spike rule, and the
    integration."""

    n_units: eqx.AbstractVar[int]
    integration_type: eqx.AbstractVar[str]
    surrogate: eqx.AbstractVar[AbstractSurrogate]
    v0: eqx.AbstractVar[float]
    w0: eqx.AbstractVar[float]

    @abc.abstractmethod
    def derivative(self, v: Array, w: Array, j: Array) -> tuple[Array, Array]:
        """$(dv/dt, dw/dt)$ per ms for the input current `j`."""

    @abc.abstractmethod
    def _spike_threshold(self) -> float:
        """The voltage above which the cell spikes."""

    def _after_spike(self, s, v_new, w_new, v, w) -> tuple[Array, Array]:
        return v_new, w_new

    def _input(self, j: Array) -> Array:
        return j

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
    ) -> RecoveryState:
        """Initial state (ngc-learn's ``reset``): ``v = v0``, ``w = w0``, no spikes."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return RecoveryState(
            v=zeros + self.v0, w=zeros + self.w0, s=zeros, tols=zeros, t=jnp.asarray(t, dtype)
        )

    def _integrate(self, v: Array, w: Array, j: Array, dt: Any) -> tuple[Array, Array]:
        step = get_integrator(self.integration_type)
        _, (v_new, w_new) = step(0.0, (v, w), lambda t, x, p: self.derivative(x[0], x[1], p), dt, j)
        return v_new, w_new

    def _spikes(self, state: RecoveryState, v_new: Array) -> Array:
        return self.surrogate(v_new, self._spike_threshold())

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
        j = self._input(_current(j, state.v))
        v_new, w_new = self._integrate(state.v, state.w, j, dt)
        s = self._spikes(state, v_new)
        v_new, w_new = self._after_spike(s, v_new, w_new, state.v, state.w)
        return RecoveryState(
            v=v_new,
            w=w_new,
            s=s,
            tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
            t=state.t + dt,
        )


def _reset_to(s: Array, x: Array, value: Any) -> Array:
    return x * (1.0 - s) + s * value


class AdExCell(_RecoveryCell):
    r"""Adaptive exponential integrate-and-fire neurons (ngc-learn's ``AdExCell``,
    Brette & Gerstner 2005):

    $$\tau_m \frac{dv}{dt} = -(v - v_{\text{rest}}) + \Delta_T e^{(v - v_T)/\Delta_T}
    - R\,w + R\,j, \qquad \tau_w \frac{dw}{dt} = a (v - v_{\text{rest}}) - w,$$

    with ``v_sharpness`` $\Delta_T$, ``intrinsic_mem_thr`` $v_T$; a spike where
    $v > $ ``thr`` sets $v \leftarrow v_{\text{reset}}$ and $w \leftarrow w + b$.
    """

    n_units: int = eqx.field(static=True)
    tau_m: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    tau_w: float = eqx.field(static=True)
    v_sharpness: float = eqx.field(static=True)
    intrinsic_mem_thr: float = eqx.field(static=True)
    thr: float = eqx.field(static=True)
    v_rest: float = eqx.field(static=True)
    v_reset: float = eqx.field(static=True)
    a: float = eqx.field(static=True)
    b: float = eqx.field(static=True)
    v0: float = eqx.field(static=True)
    w0: float = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: float = 15.0,
        resist_m: float = 1.0,
        tau_w: float = 400.0,
        v_sharpness: float = 2.0,
        intrinsic_mem_thr: float = -55.0,
        thr: float = 5.0,
        v_rest: float = -72.0,
        v_reset: float = -75.0,
        a: float = 0.1,
        b: float = 0.75,
        v0: float = -70.0,
        w0: float = 0.0,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """**Arguments:** ngc-learn's names and defaults (ms, mV); `surrogate_type` for
        gradients through the spikes."""
        self.n_units = _check_units(n_units)
        for name, value in (
            ("tau_m", tau_m),
            ("tau_w", tau_w),
            ("v_sharpness", v_sharpness),
            ("resist_m", resist_m),
        ):
            check_positive(value, name)
        get_integrator(integration_type)
        self.tau_m, self.resist_m, self.tau_w = float(tau_m), float(resist_m), float(tau_w)
        self.v_sharpness, self.intrinsic_mem_thr = float(v_sharpness), float(intrinsic_mem_thr)
        self.thr, self.v_rest, self.v_reset = float(thr), float(v_rest), float(v_reset)
        self.a, self.b, self.v0, self.w0 = float(a), float(b), float(v0), float(w0)
        self.integration_type = integration_type
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v, w, j):
        """$(dv/dt, dw/dt)$ per ms."""
        sharp = self.v_sharpness
        dv = (
            -(v - self.v_rest)
            + sharp * jnp.exp((v - self.intrinsic_mem_thr) / sharp)
            - self.resist_m * w
            + self.resist_m * j
        ) * (1.0 / self.tau_m)
        dw = (self.a * (v - self.v_rest) - w) * (1.0 / self.tau_w)
        return dv, dw

    def _spike_threshold(self):
        return self.thr

    def _after_spike(self, s, v_new, w_new, v, w):
        return _reset_to(s, v_new, self.v_reset), w_new + s * self.b


class IzhikevichCell(_RecoveryCell):
    r"""Izhikevich neurons (ngc-learn's ``IzhikevichCell``, Izhikevich 2003):

    $$\tau_m \frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - w + R\,j, \qquad
    \tau_w \frac{dw}{dt} = b\,v - w,$$

    with ``coupling_factor`` $b$ and ``tau_w`` $= 1/a$. As in ngc-learn (and Izhikevich's
    own code) a spike is read from the voltage at the *start* of the step
    ($v_t > $ ``v_thr``); spiking cells then take $v \leftarrow c$ (``v_reset``) and
    $w \leftarrow w_t + d$ (``w_reset``). Regular spiking: the defaults; fast spiking:
    ``tau_w=10``; chattering: ``v_reset=-50, w_reset=2``; intrinsically bursting:
    ``v_reset=-55, w_reset=4``.
    """

    n_units: int = eqx.field(static=True)
    tau_m: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    v_thr: float = eqx.field(static=True)
    v_reset: float = eqx.field(static=True)
    tau_w: float = eqx.field(static=True)
    w_reset: float = eqx.field(static=True)
    coupling_factor: float = eqx.field(static=True)
    v0: float = eqx.field(static=True)
    w0: float = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: float = 1.0,
        resist_m: float = 1.0,
        v_thr: float = 30.0,
        v_reset: float = -65.0,
        tau_w: float = 50.0,
        w_reset: float = 8.0,
        coupling_factor: float = 0.2,
        v0: float = -65.0,
        w0: float = -14.0,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """**Arguments:** ngc-learn's names and defaults (regular spiking)."""
        self.n_units = _check_units(n_units)
        for name, value in (("tau_m", tau_m), ("tau_w", tau_w), ("resist_m", resist_m)):
            check_positive(value, name)
        get_integrator(integration_type)
        self.tau_m, self.resist_m, self.v_thr = float(tau_m), float(resist_m), float(v_thr)
        self.v_reset, self.tau_w, self.w_reset = float(v_reset), float(tau_w), float(w_reset)
        self.coupling_factor, self.v0, self.w0 = float(coupling_factor), float(v0), float(w0)
        self.integration_type = integration_type
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v, w, j):
        """$(dv/dt, dw/dt)$ per ms."""
        dv = (0.04 * jnp.square(v) + 5.0 * v + 140.0 - w + j) * (1.0 / self.tau_m)
        dw = (self.coupling_factor * v - w) * (1.0 / self.tau_w)
        return dv, dw

    def _input(self, j):
        return j * self.resist_m

    def _spike_threshold(self):
        return self.v_thr

    def _spikes(self, state, v_new):
        return self.surrogate(state.v, self.v_thr)

    def _after_spike(self, s, v_new, w_new, v, w):
        return _reset_to(s, v_new, self.v_reset), _reset_to(s, w_new, w + self.w_reset)


class FitzhughNagumoCell(_RecoveryCell):
    r"""FitzHugh-Nagumo neurons (ngc-learn's ``FitzhughNagumoCell``):

    $$\tau_m \frac{dv}{dt} = v - \frac{v^3}{\gamma} - w + R\,j, \qquad
    \tau_w \frac{dw}{dt} = v + \alpha - \beta w,$$

    a spike wherever $v > $ ``v_thr`` (every step above it counts), and with
    ``spike_reset`` the cell returns to $(v_0, w_0)$ after a spike. Dimensionless units.
    """

    n_units: int = eqx.field(static=True)
    tau_m: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    tau_w: float = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    beta: float = eqx.field(static=True)
    gamma: float = eqx.field(static=True)
    v0: float = eqx.field(static=True)
    w0: float = eqx.field(static=True)
    v_thr: float = eqx.field(static=True)
    spike_reset: bool = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: float = 1.0,
        resist_m: float = 1.0,
        tau_w: float = 12.5,
        alpha: float = 0.7,
        beta: float = 0.8,
        gamma: float = 3.0,
        v0: float = 0.0,
        w0: float = 0.0,
        v_thr: float = 1.07,
        spike_reset: bool = False,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """**Arguments:** ngc-learn's names and defaults."""
        self.n_units = _check_units(n_units)
        for name, value in (("tau_m", tau_m), ("tau_w", tau_w), ("gamma", gamma)):
            check_positive(value, name)
        get_integrator(integration_type)
        self.tau_m, self.resist_m, self.tau_w = float(tau_m), float(resist_m), float(tau_w)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self.v0, self.w0, self.v_thr = float(v0), float(w0), float(v_thr)
        self.spike_reset = bool(spike_reset)
        self.integration_type = integration_type
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v, w, j):
        """$(dv/dt, dw/dt)$ per ms."""
        dv = (v - v * v * v / self.gamma - w + j) * (1.0 / self.tau_m)
        dw = (v + self.alpha - self.beta * w) * (1.0 / self.tau_w)
        return dv, dw

    def _input(self, j):
        return j * self.resist_m

    def _spike_threshold(self):
        return self.v_thr

    def _after_spike(self, s, v_new, w_new, v, w):
        if not self.spike_reset:
            return v_new, w_new
        return _reset_to(s, v_new, self.v0), _reset_to(s, w_new, self.w0)


class RAFCell(_RecoveryCell):
    r"""Resonate-and-fire neurons (ngc-learn's ``RAFCell``, Izhikevich 2001): a damped
    oscillator driven by the input,

    $$\tau_v \frac{dv}{dt} = \omega w + b\,v, \qquad
    \tau_w \frac{dw}{dt} = b\,w - \omega v + R\,j,$$

    with angular frequency ``omega`` $\omega$ and ``dampen_factor`` $b < 0$; a spike where
    $v > $ ``thr`` resets $(v, w)$ to (``v_reset``, ``w_reset``) when
    ``post_spike_reset``. With ``"euler"`` the step is ngc-learn's semi-implicit
    (symplectic) Euler: $w$ first, then $v$ from the new $w$, which keeps the oscillation
    from gaining energy; other methods integrate the system jointly.
    """

    n_units: int = eqx.field(static=True)
    tau_v: float = eqx.field(static=True)
    tau_w: float = eqx.field(static=True)
    thr: float = eqx.field(static=True)
    omega: float = eqx.field(static=True)
    dampen_factor: float = eqx.field(static=True)
    v_reset: float = eqx.field(static=True)
    w_reset: float = eqx.field(static=True)
    v0: float = eqx.field(static=True)
    w0: float = eqx.field(static=True)
    resist_v: float = eqx.field(static=True)
    post_spike_reset: bool = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_v: float = 1.0,
        tau_w: float = 1.0,
        thr: float = 1.0,
        omega: float = 10.0,
        dampen_factor: float = -1.0,
        v_reset: float = 0.0,
        w_reset: float = 0.0,
        v0: float = 0.0,
        w0: float = 0.0,
        resist_v: float = 1.0,
        post_spike_reset: bool = True,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """**Arguments:** ngc-learn's names and defaults."""
        self.n_units = _check_units(n_units)
        for name, value in (("tau_v", tau_v), ("tau_w", tau_w)):
            check_positive(value, name)
        get_integrator(integration_type)
        self.tau_v, self.tau_w, self.thr = float(tau_v), float(tau_w), float(thr)
        self.omega, self.dampen_factor = float(omega), float(dampen_factor)
        self.v_reset, self.w_reset = float(v_reset), float(w_reset)
        self.v0, self.w0, self.resist_v = float(v0), float(w0), float(resist_v)
        self.post_spike_reset = bool(post_spike_reset)
        self.integration_type = integration_type
        self.surrogate = _surrogate(surrogate_type)

    def derivative(self, v, w, j):
        """$(dv/dt, dw/dt)$ per ms."""
        b, omega = self.dampen_factor, self.omega
        dv = (omega * w + b * v) * (1.0 / self.tau_v)
        dw = (b * w - omega * v + j) * (1.0 / self.tau_w)
        return dv, dw

    def _input(self, j):
        return j * self.resist_v

    def _integrate(self, v, w, j, dt):
        if self.integration_type not in ("euler", "rk1"):
            return super()._integrate(v, w, j, dt)
        w_new = w + dt * self.derivative(v, w, j)[1]
        v_new = v + dt * self.derivative(v, w_new, j)[0]
        return v_new, w_new

    def _spike_threshold(self):
        return self.thr

    def _after_spike(self, s, v_new, w_new, v, w):
        if not self.post_spike_reset:
            return v_new, w_new
        return _reset_to(s, v_new, self.v_reset), _reset_to(s, w_new, self.w_reset)


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


class HodgkinHuxleyCell(eqx.Module):
    r"""Hodgkin-Huxley neurons (ngc-learn's ``HodgkinHuxleyCell``):

    $$\tau_v \frac{dv}{dt} = R\,j - g_{Na} m^3 h (v - v_{Na}) - g_K n^4 (v - v_K)
    - g_L (v - v_L),\qquad \frac{dx}{dt} = \alpha_x(v)(1 - x) - \beta_x(v) x$$

    for the gates $x \in \{m, n, h\}$ with the rates of :func:`hh_rates`. A spike is
    $v > $ ``thr``; with ``spike_reset`` spiking cells go to ``v_reset`` and the gates to
    their steady state there. Gates start at their steady state at $v = 0$. ngc-learn's
    default conductances ($g_K = 5$, $v_K = -35$) are kept for compatibility; they have no
    resting state at $v = 0$ (the cell oscillates without input). The classic squid-axon
    values are ``g_Na=120, g_K=36, v_K=-12``. The rates'
    removable singularities (at $v = 10$ and $v = 25$ mV, where ngc-learn returns NaN) are
    evaluated by their limits. Euler is ngc-learn's update; other methods integrate all
    four variables jointly.
    """

    n_units: int = eqx.field(static=True)
    tau_v: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    v_Na: float = eqx.field(static=True)
    v_K: float = eqx.field(static=True)
    v_L: float = eqx.field(static=True)
    g_Na: float = eqx.field(static=True)
    g_K: float = eqx.field(static=True)
    g_L: float = eqx.field(static=True)
    thr: float = eqx.field(static=True)
    spike_reset: bool = eqx.field(static=True)
    v_reset: float = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_v: float,
        resist_m: float = 1.0,
        v_Na: float = 115.0,
        v_K: float = -35.0,
        v_L: float = 10.6,
        g_Na: float = 100.0,
        g_K: float = 5.0,
        g_L: float = 0.3,
        thr: float = 4.0,
        spike_reset: bool = False,
        v_reset: float = 0.0,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """**Arguments:** ngc-learn's names and defaults (mV, mS, ms)."""
        self.n_units = _check_units(n_units)
        check_positive(tau_v, "tau_v")
        get_integrator(integration_type)
        self.tau_v, self.resist_m = float(tau_v), float(resist_m)
        self.v_Na, self.v_K, self.v_L = float(v_Na), float(v_K), float(v_L)
        self.g_Na, self.g_K, self.g_L = float(g_Na), float(g_K), float(g_L)
        self.thr, self.spike_reset, self.v_reset = float(thr), bool(spike_reset), float(v_reset)
        self.integration_type = integration_type
        self.surrogate = _surrogate(surrogate_type)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
    ) -> HHState:
        """Rest: ``v = 0`` and the gates at their steady state there."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        m, n, h = _steady_gates(zeros)
        return HHState(v=zeros, m=m, n=n, h=h, s=zeros, tols=zeros, t=jnp.asarray(t, dtype))

    def derivative(self, x: tuple[Array, Array, Array, Array], j: Array):
        """Time derivatives (per ms) of ``(v, m, n, h)``."""
        v, m, n, h = x
        current = (
            j
            - self.g_Na * m * m * m * h * (v - self.v_Na)
            - self.g_K * jnp.square(jnp.square(n)) * (v - self.v_K)
            - self.g_L * (v - self.v_L)
        )
        an, bn, am, bm, ah, bh = hh_rates(v)
        return (
            current * (1.0 / self.tau_v),
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
        """Advance one step of ``dt`` ms; returns the new :class:`HHState`."""
        j = _current(j, state.v) * self.resist_m
        step = get_integrator(self.integration_type)
        x = (state.v, state.m, state.n, state.h)
        _, (v, m, n, h) = step(0.0, x, lambda t, u, p: self.derivative(u, p), dt, j)
        s = self.surrogate(v, self.thr)
        if self.spike_reset:
            m0, n0, h0 = _steady_gates(jnp.full_like(v, self.v_reset))
            v, m, n, h = (
                _reset_to(s, a, b) for a, b in ((v, self.v_reset), (m, m0), (n, n0), (h, h0))
            )
        return HHState(
            v=v,
            m=m,
            n=n,
            h=h,
            s=s,
            tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
            t=state.t + dt,
        )
