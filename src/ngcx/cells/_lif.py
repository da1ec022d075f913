r"""Integrate-and-fire spiking cells: LIF, IF, quadratic LIF, simplified LIF, WTA-spiking.

All times (``dt``, time constants, refractory periods, ``t``) are in milliseconds and
voltages in millivolts, as in ngc-learn. Spikes are emitted by a surrogate spike function
(:mod:`ngcx.surrogates`), so $s = 1[v > \theta]$ in the forward pass and
$\partial s/\partial v = g(v - \theta)$ under ``jax.grad``.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_nonnegative, check_positive
from .._custom_types import Key
from ..diffeq import get_integrator
from ..surrogates import AbstractSurrogate
from ._common import (
    check_units as _check_units,
    current as _current,
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


class LIFCell(eqx.Module):
    r"""Leaky integrate-and-fire neurons (ngc-learn's ``LIFCell``):

    $$\tau_m \frac{dv}{dt} = g_L\,(v_{\text{rest}} - v) + R\, j\, m_{\text{rfr}},$$

    with ``tau_m`` $\tau_m$ (ms), ``conduct_leak`` $g_L$ (0 gives integrate-and-fire),
    ``resist_m`` $R$ and the refractory mask $m_{\text{rfr}} = 1[\text{rfr} \ge
    T_{\text{rfr}}]$ (no input during ``refract_time`` ms after a spike). After the
    integration step (``"euler"``, ``"midpoint"``/``"rk2"``, or any name in
    :data:`ngcx.diffeq.INTEGRATORS`, the input held over the step), a spike is emitted where
    $v > \theta = \theta_0 + \theta_{\text{adapt}}$ (``thr`` $\theta_0$), the voltage of
    spiking cells is set to ``v_reset``, and the adaptive threshold follows
    $\theta_{\text{adapt}} \leftarrow \theta_{\text{adapt}} e^{-\Delta t/\tau_\theta} +
    \theta_+ s$ (``tau_theta`` $\le 0$ turns adaptation off). ``v_min`` clamps the voltage
    from below.

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
    tau_m: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    thr: float = eqx.field(static=True)
    v_rest: float = eqx.field(static=True)
    v_reset: float = eqx.field(static=True)
    conduct_leak: float = eqx.field(static=True)
    tau_theta: float = eqx.field(static=True)
    theta_plus: float = eqx.field(static=True)
    refract_time: float = eqx.field(static=True)
    one_spike: bool = eqx.field(static=True)
    max_one_spike: bool = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)
    v_min: float | None = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: float,
        resist_m: float = 1.0,
        thr: float = -52.0,
        v_rest: float = -65.0,
        v_reset: float = -60.0,
        conduct_leak: float = 1.0,
        tau_theta: float = 1e7,
        theta_plus: float = 0.05,
        refract_time: float = 5.0,
        one_spike: bool = False,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
        v_min: float | None = None,
        max_one_spike: bool = False,
    ):
        """**Arguments** (ngc-learn's names and defaults):

        - `n_units`: number of cells.
        - `tau_m`: membrane time constant (ms, > 0).
        - `resist_m`: membrane resistance (> 0).
        - `thr`: base threshold (mV); `v_rest`, `v_reset`: resting and reset potentials.
        - `conduct_leak`: leak conductance (>= 0; 0 gives IF dynamics).
        - `tau_theta`: threshold-adaptation time constant (ms; <= 0 disables it).
        - `theta_plus`: threshold increment per spike (mV).
        - `refract_time`: refractory period (ms, >= 0).
        - `one_spike`, `max_one_spike`: at most one spike per sample and step (random
          among the firing cells, or the highest-voltage cell).
        - `integration_type`: integrator name.
        - `surrogate_type`: a name in :data:`ngcx.surrogates.SURROGATES` or a surrogate.
        - `v_min`: lower voltage bound (``None``: none).
        """
        self.n_units = _check_units(n_units)
        check_positive(tau_m, "tau_m")
        check_positive(resist_m, "resist_m")
        check_nonnegative(conduct_leak, "conduct_leak")
        check_nonnegative(refract_time, "refract_time")
        check_nonnegative(theta_plus, "theta_plus")
        get_integrator(integration_type)
        self.tau_m = float(tau_m)
        self.resist_m = float(resist_m)
        self.thr = float(thr)
        self.v_rest = float(v_rest)
        self.v_reset = float(v_reset)
        self.conduct_leak = float(conduct_leak)
        self.tau_theta = float(tau_theta)
        self.theta_plus = float(theta_plus)
        self.refract_time = float(refract_time)
        self.one_spike = bool(one_spike)
        self.max_one_spike = bool(max_one_spike)
        self.integration_type = integration_type
        self.surrogate = _surrogate(surrogate_type)
        self.v_min = None if v_min is None else float(v_min)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
    ) -> SpikeState:
        """Resting state (ngc-learn's ``reset``): ``v = v_rest``, no spikes, out of the
        refractory period, no threshold increment, clock at `t` ms."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return SpikeState(
            v=zeros + self.v_rest,
            s=zeros,
            s_raw=zeros,
            rfr=zeros + self.refract_time,
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
        return self.thr + state.thr_theta

    def drive(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        r"""$\tau_m\,dv/dt$ (mV) for the already resistance-scaled, refractory-masked
        input."""
        leak = self.v_rest - v if self.v_rest != 0.0 else -v
        if self.conduct_leak != 1.0:
            leak = self.conduct_leak * leak
        return leak + j

    def derivative(
        self, v: Float[Array, "*batch n"], j: Float[Array, "*batch n"]
    ) -> Float[Array, "*batch n"]:
        """$dv/dt$ (mV/ms) for the already resistance-scaled, refractory-masked input."""
        return self.drive(v, j) * (1.0 / self.tau_m)

    def _integrate(self, v: Array, j: Array, dt: Any) -> Array:
        if self.integration_type in ("euler", "rk1"):  # the hot path: one fused coefficient
            return v + (dt / self.tau_m) * self.drive(v, j)
        step = get_integrator(self.integration_type)
        _, v_new = step(0.0, v, lambda t, u, p: self.derivative(u, p), dt, j)
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
        dt: float = 1.0,
        key: Key | None = None,
    ) -> SpikeState:
        """Advance one step of ``dt`` ms.

        **Arguments:** `state`; `j` the input current of the state's shape (``None``:
        zero); `dt` in ms; `key` for ``one_spike``.

        **Returns:** the new :class:`SpikeState`.
        """
        v = state.v
        j = _current(j, v)
        if self.resist_m != 1.0:
            j = j * self.resist_m
        if self.refract_time > 0:
            j = j * (state.rfr >= self.refract_time).astype(v.dtype)
        v_new = self._integrate(v, j, dt)
        thr = self.thr + state.thr_theta
        s_raw = self.surrogate(v_new, thr)
        v_new = v_new * (1.0 - s_raw)
        if self.v_reset != 0.0:
            v_new = v_new + s_raw * self.v_reset
        s = self._constrain(s_raw, v, key)
        rfr = (state.rfr + dt) * (1.0 - jax.lax.stop_gradient(s_raw))  # a timer: no gradient
        theta = state.thr_theta
        if self.tau_theta > 0:
            decay = jnp.exp(-jnp.asarray(dt, v.dtype) / self.tau_theta)
            theta = theta * decay + self.theta_plus * jax.lax.stop_gradient(s_raw)
        if self.v_min is not None:
            v_new = jnp.maximum(v_new, self.v_min)
        return SpikeState(
            v=v_new,
            s=s,
            s_raw=s_raw,
            rfr=rfr,
            thr_theta=theta,
            tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
            t=state.t + dt,
        )


class IFCell(LIFCell):
    r"""Integrate-and-fire neurons (ngc-learn's ``IFCell``):
    $\tau_m\, dv/dt = R\, j\, m_{\text{rfr}}$, spike above ``thr``, reset to ``v_reset``,
    and (``lower_clamp_voltage=True``) the voltage never below ``v_rest``. No threshold
    adaptation. A :class:`LIFCell` with ``conduct_leak=0``."""

    def __init__(
        self,
        n_units: int,
        tau_m: float,
        resist_m: float = 1.0,
        thr: float = -52.0,
        v_rest: float = -65.0,
        v_reset: float = -60.0,
        refract_time: float = 0.0,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
        lower_clamp_voltage: bool = True,
    ):
        """**Arguments:** as :class:`LIFCell`; `lower_clamp_voltage` clamps at
        ``v_rest``."""
        super().__init__(
            n_units,
            tau_m,
            resist_m=resist_m,
            thr=thr,
            v_rest=v_rest,
            v_reset=v_reset,
            conduct_leak=0.0,
            tau_theta=0.0,
            theta_plus=0.0,
            refract_time=refract_time,
            integration_type=integration_type,
            surrogate_type=surrogate_type,
            v_min=v_rest if lower_clamp_voltage else None,
        )

    def drive(self, v, j):
        return j


class QuadLIFCell(LIFCell):
    r"""Quadratic integrate-and-fire neurons (ngc-learn's ``QuadLIFCell``):

    $$\tau_m \frac{dv}{dt} = a_0 (v - v_{\text{rest}})(v - v_c) + R\, j\, m_{\text{rfr}},$$

    with ``critical_v`` $a_0$ (> 0, the curvature) and ``v_scale`` $v_c$ the critical
    voltage (ngc-learn's argument names; they read the other way round). Below $v_c$ the
    voltage relaxes to $v_{\text{rest}}$; above it, it runs away to a spike. Threshold,
    reset, refractory period and adaptation as :class:`LIFCell`.

    ngc-learn writes the quadratic term as $(v_{\text{rest}} - v)(v - v_c)$, the opposite
    sign, which makes $v_c$ the stable point and the rest potential unstable (the cell then
    never fires from rest with a weak input); ngcx uses the quadratic integrate-and-fire
    model's sign.
    """

    v_c: float = eqx.field(static=True)
    a0: float = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: float,
        resist_m: float = 1.0,
        thr: float = -52.0,
        v_rest: float = -65.0,
        v_reset: float = -60.0,
        v_scale: float = -41.6,
        critical_v: float = 1.0,
        tau_theta: float = 1e7,
        theta_plus: float = 0.05,
        refract_time: float = 5.0,
        one_spike: bool = False,
        integration_type: str = "euler",
        surrogate_type: str | AbstractSurrogate = "straight_through",
        v_min: float | None = None,
        max_one_spike: bool = False,
    ):
        """**Arguments:** as :class:`LIFCell`, plus `v_scale` (critical voltage $v_c$,
        mV) and `critical_v` (curvature $a_0$ > 0, 1/mV)."""
        check_positive(critical_v, "critical_v")
        super().__init__(
            n_units,
            tau_m,
            resist_m=resist_m,
            thr=thr,
            v_rest=v_rest,
            v_reset=v_reset,
            conduct_leak=1.0,
            tau_theta=tau_theta,
            theta_plus=theta_plus,
            refract_time=refract_time,
            one_spike=one_spike,
            integration_type=integration_type,
            surrogate_type=surrogate_type,
            v_min=v_min,
            max_one_spike=max_one_spike,
        )
        self.v_c = float(v_scale)
        self.a0 = float(critical_v)

    def drive(self, v, j):
        return self.a0 * (v - self.v_rest) * (v - self.v_c) + j


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


def _jittered(key: Key, base: float, jitter: float, n: int, dtype: Any) -> Array:
    check_nonnegative(jitter, "thr_jitter")
    return base + jax.random.uniform(key, (n,), dtype, minval=-jitter, maxval=jitter)


class SLIFCell(eqx.Module):
    r"""Simplified LIF neurons (ngc-learn's ``SLIFCell``, Samadi et al. 2017):

    $$\tau_m \frac{dv}{dt} = (-v + R\,j - R_{\text{inh}}\, s_{t-1} W_{\text{inh}})\,
    m_{\text{rfr}},$$

    resting and reset potential 0, per-cell thresholds ``thr`` jittered by
    $\pm$``thr_jitter`` at construction, optional lateral inhibition (``resist_inh`` > 0,
    hollow random weights in [0.025, 1]). After a spike the voltage resets to 0 and the
    thresholds adapt: with ``rho_b > 0`` all thresholds of a sample move by
    $\rho_b(\sum_i s_i - 1)$ (floored at 0.025), otherwise
    $\theta \leftarrow \theta + g\,s - \ell\,\theta$ (``thr_gain`` $g$, ``thr_leak``
    $\ell$). ``sticky_spikes`` keeps refractory cells' spikes at 1. Spikes use the
    ``secant_lif`` surrogate by default.

    ``thr_persist``: :meth:`reset` keeps the adapted thresholds (otherwise it restores the
    initial ones).
    """

    n_units: int = eqx.field(static=True)
    tau_m: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    resist_inh: float = eqx.field(static=True)
    thr_persist: bool = eqx.field(static=True)
    thr_gain: float = eqx.field(static=True)
    thr_leak: float = eqx.field(static=True)
    rho_b: float = eqx.field(static=True)
    refract_time: float = eqx.field(static=True)
    sticky_spikes: bool = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)
    threshold0: Float[Array, " n"]
    inh_weights: Float[Array, "n n"]

    def __init__(
        self,
        n_units: int,
        tau_m: float,
        resist_m: float,
        thr: float,
        *,
        key: Key,
        resist_inh: float = 0.0,
        thr_persist: bool = False,
        thr_gain: float = 0.0,
        thr_leak: float = 0.0,
        rho_b: float = 0.0,
        refract_time: float = 0.0,
        sticky_spikes: bool = False,
        thr_jitter: float = 0.05,
        surrogate_type: str | AbstractSurrogate = "secant_lif",
        dtype: Any = jnp.float32,
    ):
        """**Arguments** (ngc-learn's names): `n_units`, `tau_m` (ms), `resist_m`, `thr`
        (base threshold), `key` (jitter and inhibitory weights), `resist_inh`,
        `thr_persist`, `thr_gain`, `thr_leak`, `rho_b`, `refract_time` (ms),
        `sticky_spikes`, `thr_jitter`, `surrogate_type`, `dtype`."""
        self.n_units = _check_units(n_units)
        check_positive(tau_m, "tau_m")
        check_positive(resist_m, "resist_m")
        for name, value in (
            ("resist_inh", resist_inh),
            ("thr_gain", thr_gain),
            ("thr_leak", thr_leak),
            ("rho_b", rho_b),
            ("refract_time", refract_time),
        ):
            check_nonnegative(value, name)
        tkey, wkey = jax.random.split(key)
        self.tau_m = float(tau_m)
        self.resist_m = float(resist_m)
        self.resist_inh = float(resist_inh)
        self.thr_persist = bool(thr_persist)
        self.thr_gain = float(thr_gain)
        self.thr_leak = float(thr_leak)
        self.rho_b = float(rho_b)
        self.refract_time = float(refract_time)
        self.sticky_spikes = bool(sticky_spikes)
        self.surrogate = _surrogate(surrogate_type)
        self.threshold0 = _jittered(tkey, float(thr), float(thr_jitter), n_units, dtype)
        hollow = 1.0 - jnp.eye(n_units, dtype=dtype)
        self.inh_weights = (
            jax.random.uniform(wkey, (n_units, n_units), dtype, minval=0.025, maxval=1.0) * hollow
        )

    def init_state(self, batch_shape: tuple[int, ...] = (), t: float = 0.0) -> SLIFState:
        """Resting state: ``v = 0``, thresholds at their initial values."""
        dtype = self.threshold0.dtype
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return SLIFState(
            v=zeros,
            s=zeros,
            thr=jnp.broadcast_to(self.threshold0, zeros.shape),
            rfr=zeros + self.refract_time,
            tols=zeros,
            t=jnp.asarray(t, dtype),
        )

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
        dt: float = 1.0,
    ) -> SLIFState:
        """Advance one step of ``dt`` ms; returns the new :class:`SLIFState`."""
        v = state.v
        j = _current(j, v) * self.resist_m
        if self.resist_inh > 0:
            j = j - self.resist_inh * (state.s @ self.inh_weights)
        mask = (state.rfr >= self.refract_time).astype(v.dtype)
        v_new = v + dt * ((j - v) * (1.0 / self.tau_m)) * mask
        s = self.surrogate(v_new, state.thr)
        v_new = (1.0 - s) * v_new
        s_const = jax.lax.stop_gradient(s)
        if self.rho_b > 0:
            dthr = jnp.sum(s_const, axis=-1, keepdims=True) - 1.0
            thr = jnp.maximum(state.thr + self.rho_b * dthr, 0.025)
        else:
            thr = state.thr + self.thr_gain * s_const - self.thr_leak * state.thr
        rfr = (state.rfr + dt) * (1.0 - s_const) + s_const * dt
        if self.sticky_spikes:
            s = s * mask + (1.0 - mask)
        return SLIFState(
            v=v_new,
            s=s,
            thr=thr,
            rfr=rfr,
            tols=_update_tols(state.tols, jax.lax.stop_gradient(s), state.t),
            t=state.t + dt,
        )


class WTASCell(eqx.Module):
    r"""Winner-take-all spiking cells (ngc-learn's ``WTASCell``): the potential is the
    instantaneous input $v = R\,j\,m_{\text{rfr}}$, a cell spikes where
    $\mathrm{softmax}(v)_i > \theta_i$, and the thresholds move by
    $g(\sum_i s_i - 1)$ (``thr_gain`` $g$, floored at 0.025) so about one cell wins per
    step. Thresholds start at ``thr_base`` $\pm$ ``thr_jitter``. ``tau_m`` is accepted
    for ngc-learn compatibility and unused (as there). Spikes use the straight-through
    surrogate on $\mathrm{softmax}(v) - \theta$.
    """

    n_units: int = eqx.field(static=True)
    tau_m: float = eqx.field(static=True)
    resist_m: float = eqx.field(static=True)
    thr_gain: float = eqx.field(static=True)
    refract_time: float = eqx.field(static=True)
    surrogate: AbstractSurrogate = eqx.field(static=True)
    threshold0: Float[Array, " n"]

    def __init__(
        self,
        n_units: int,
        tau_m: float,
        resist_m: float = 1.0,
        thr_base: float = 0.4,
        thr_gain: float = 0.002,
        refract_time: float = 0.0,
        thr_jitter: float = 0.05,
        *,
        key: Key,
        surrogate_type: str | AbstractSurrogate = "straight_through",
        dtype: Any = jnp.float32,
    ):
        """**Arguments** (ngc-learn's names): `n_units`, `tau_m` (unused), `resist_m`,
        `thr_base`, `thr_gain`, `refract_time` (ms), `thr_jitter`, `key`,
        `surrogate_type`, `dtype`."""
        self.n_units = _check_units(n_units)
        check_positive(resist_m, "resist_m")
        check_nonnegative(thr_gain, "thr_gain")
        check_nonnegative(refract_time, "refract_time")
        self.tau_m = float(tau_m)
        self.resist_m = float(resist_m)
        self.thr_gain = float(thr_gain)
        self.refract_time = float(refract_time)
        self.surrogate = _surrogate(surrogate_type)
        self.threshold0 = _jittered(key, float(thr_base), float(thr_jitter), n_units, dtype)

    def init_state(self, batch_shape: tuple[int, ...] = (), t: float = 0.0) -> SLIFState:
        """Resting state with the initial thresholds."""
        dtype = self.threshold0.dtype
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return SLIFState(
            v=zeros,
            s=zeros,
            thr=jnp.broadcast_to(self.threshold0, zeros.shape),
            rfr=zeros + self.refract_time,
            tols=zeros,
            t=jnp.asarray(t, dtype),
        )

    def reset(self, state: SLIFState) -> SLIFState:
        """Resting state keeping the adapted thresholds (as ngc-learn's reset does)."""
        rest = self.init_state(state.v.shape[:-1])
        return eqx.tree_at(lambda s: s.thr, rest, state.thr)

    def __call__(
        self,
        state: SLIFState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: float = 1.0,
    ) -> SLIFState:
        """Advance one step of ``dt`` ms; returns the new :class:`SLIFState`."""
        mask = (state.rfr >= self.refract_time).astype(state.v.dtype)
        v = _current(j, state.v) * self.resist_m * mask
        s = self.surrogate(jax.nn.softmax(v, axis=-1), state.thr)
        s_const = jax.lax.stop_gradient(s)
        dthr = jnp.sum(s_const, axis=-1, keepdims=True) - 1.0
        thr = jnp.maximum(state.thr + self.thr_gain * dthr, 0.025)
        rfr = (state.rfr + dt) * (1.0 - s_const) + s_const * dt
        return SLIFState(
            v=v,
            s=s,
            thr=thr,
            rfr=rfr,
            tols=_update_tols(state.tols, s_const, state.t),
            t=state.t + dt,
        )
