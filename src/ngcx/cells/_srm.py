r"""Spike-response-model (SRM) forms of the LIF and resonate-and-fire neurons.

A spike-response model writes the membrane potential as a sum of kernels instead of
integrating an ODE step by step (Gerstner 1995; Gerstner & Kistler 2002, ch. 4):

$$v(t) = v_{\text{rest}} + \sum_k \varepsilon(t - t_k)\,j_k\,\Delta t
+ \sum_f \eta_f(t - t_f),$$

the input kernel $\varepsilon$ applied to every current pulse $j_k\,\Delta t$ and a reset
kernel $\eta_f$ after every spike $t_f$. Both kernels are exponentials (LIF) or damped
oscillations (RAF), so the two sums are kept as *traces* that decay analytically over any
time gap: the cell can be evaluated at arbitrary times ``t`` (ngc-learn's ``advance_state(dt,
t)``), a jump of several milliseconds costing one step.

ngcx's reset kernel has the amplitude that brings the potential exactly to ``v_reset`` at
the spike, $\eta_f(s) = (v_{\text{reset}} - v(t_f^-))\,\kappa(s)$, so the model *is* the
neuron with reset, solved in closed form between pulses (see the classes for how this
differs from ngc-learn 3.2). Spikes are emitted by a surrogate spike function
(:mod:`ngcx.surrogates`): $s = 1[v > \theta]$ forward, the surrogate derivative under
``jax.grad``. Times in ms, as in ngc-learn.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import ParamLike, Scalar
from .._params import param
from ..surrogates import AbstractSurrogate
from ._base import AbstractSpikingCell
from ._common import (
    at as _at,
    check_dt,
    check_units as _check_units,
    checked,
    current as _current,
    surrogate as _surrogate,
    update_tols as _update_tols,
)


__all__ = ["LIFSRMState", "LIFSRM", "RAFSRMState", "RAFSRM"]


class LIFSRMState(eqx.Module):
    r"""State of a :class:`LIFSRM`, each field of shape ``(*batch, n_units)`` except ``t``:

    - ``v``: membrane potential (mV; ``v_reset`` where a spike was just emitted);
    - ``s``: spikes of the last evaluation (0/1, differentiable through the surrogate);
    - ``j_lowpass``: the input trace $\sum_k \varepsilon(t - t_k) j_k \Delta t$ (mV;
      ngc-learn's ``j_lowpass``, never reset by spikes);
    - ``eta``: the summed reset kernels $\sum_f \eta_f(t - t_f)$ (mV);
    - ``t_last_spike``: time of the last spike (ms; -1 before any, as in ngc-learn);
    - ``t``: the time of the last evaluation (ms; ngc-learn's ``last_t_eval``), a scalar.
    """

    v: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    j_lowpass: Float[Array, "*batch n"]
    eta: Float[Array, "*batch n"]
    t_last_spike: Float[Array, "*batch n"]
    t: Float[Array, ""]


class RAFSRMState(eqx.Module):
    r"""State of a :class:`RAFSRM`, each field of shape ``(*batch, n_units)`` except ``t``:

    - ``v``: membrane potential (``v_reset`` where a spike was just emitted);
    - ``s``: spikes of the last evaluation (0/1, differentiable through the surrogate);
    - ``j_v``, ``j_w``: the input-driven oscillator $(v, w)$ (ngc-learn's ``j_v``,
      ``j_w``, never reset by spikes);
    - ``eta_v``, ``eta_w``: the summed reset kernels of $v$ and $w$;
    - ``t_last_spike``: time of the last spike (ms; -1 before any);
    - ``t``: the time of the last evaluation (ms), a scalar.

    The angular driver is $w = j_w + \eta_w$ and the potential $v = j_v + \eta_v$.
    """

    v: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    j_v: Float[Array, "*batch n"]
    j_w: Float[Array, "*batch n"]
    eta_v: Float[Array, "*batch n"]
    eta_w: Float[Array, "*batch n"]
    t_last_spike: Float[Array, "*batch n"]
    t: Float[Array, ""]


def _clock(state_t: Array, t: Scalar | None, dt: Array) -> tuple[Array, Array]:
    """The evaluation time (``state.t + dt`` by default) and the gap since the last one."""
    t_new = state_t + dt if t is None else jnp.asarray(t, state_t.dtype)
    return t_new, t_new - state_t


def _oscillator(
    a: Array, b: Array, c: Array, d: Array, s: Array
) -> tuple[Array, Array, Array, Array]:
    r"""$e^{Ms}$ of $M = \begin{pmatrix} a & b \\ c & d\end{pmatrix}$, elementwise, as
    ``(p_vv, p_vw, p_wv, p_ww)``: $e^{-\gamma s}\big(C\,I + S\,(M + \gamma I)\big)$ with
    $\gamma = -(a + d)/2$, $q = ad - bc - \gamma^2$ and $C = \cos(\sqrt q s)$,
    $S = \sin(\sqrt q s)/\sqrt q$ ($q > 0$, underdamped), $\cosh$/$\sinh$ ($q < 0$,
    overdamped), $C = 1$, $S = s$ ($q = 0$)."""
    gamma = -0.5 * (a + d)
    q = a * d - b * c - gamma * gamma
    tiny = jnp.asarray(1e-12, q.dtype)
    big = jnp.abs(q) > tiny
    r = jnp.sqrt(jnp.where(big, jnp.abs(q), 1.0))
    under = q > 0
    rs = r * s
    cos_part = jnp.where(under, jnp.cos(rs), jnp.cosh(jnp.where(under, 0.0, rs)))
    sin_part = jnp.where(under, jnp.sin(rs), jnp.sinh(jnp.where(under, 0.0, rs))) / r
    cos_part = jnp.where(big, cos_part, 1.0)
    sin_part = jnp.where(big, sin_part, s)
    decay = jnp.exp(-gamma * s)
    return (
        decay * (cos_part + (a + gamma) * sin_part),
        decay * b * sin_part,
        decay * c * sin_part,
        decay * (cos_part + (d + gamma) * sin_part),
    )


class LIFSRM(AbstractSpikingCell):
    r"""The leaky integrate-and-fire neuron as a spike-response model (ngc-learn's
    ``LIFSRM``):

    $$v(t) = v_{\text{rest}} + \underbrace{\sum_k \tfrac{\Delta t}{\tau_m}
    e^{-(t - t_k)/\tau_m} j_k}_{\texttt{j\_lowpass}}
    + \underbrace{\sum_f \big(v_{\text{reset}} - v(t_f^-)\big)
    e^{-(t - t_f)/\tau_m}}_{\texttt{eta}},$$

    with ``tau_m`` $\tau_m$ (ms): each evaluation at time ``t`` decays both traces over the
    gap since the previous one, adds the pulse $\tfrac{\Delta t}{\tau_m} j$ of the input
    current $j$ held over ``dt``, emits a spike where $v > $ ``thr`` and adds the reset
    kernel that puts the potential at ``v_reset``. This is exactly the leaky
    integrate-and-fire neuron $\tau_m\,dv/dt = v_{\text{rest}} - v$ driven by the current
    pulses and reset to ``v_reset``, solved in closed form.

    :meth:`predict_next_spike` gives the next threshold crossing under a constant current,
    in closed form.

    **Difference from ngc-learn 3.2.** ngc-learn keeps only the last spike's reset kernel,
    with amplitude $v_{\text{reset}} - v_{\text{rest}}$, while its input trace is never
    reset: right after a spike the potential is $v_{\text{reset}} + (v(t_f^-) -
    v_{\text{rest}})$, above threshold with its defaults (``v_reset`` $>$ ``v_rest``), so a
    driven cell fires at every step after its first spike. ngcx's reset kernel brings the
    potential to ``v_reset`` (as the Gerstner-Kistler mapping of the LIF requires).
    Without spikes the two agree exactly, and ``j_lowpass`` always does. ngc-learn's
    ``predict_next_spike`` returns $t + \tau_m\log(u/(\theta - v_{\text{rest}}))$, the time
    a potential already above threshold would decay back *down* to it; ngcx returns the
    upward crossing under a constant current (``-1`` where there is none).

    Drive it with ``lax.scan`` (``t`` defaults to ``state.t + dt``)::

        cell = LIFSRM(10, tau_m=20.0)
        state = cell.init_state((batch,))
        state, _ = jax.lax.scan(lambda st, j: (cell(st, j, dt=1.0), None), state, currents)
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    thr: Float[Array, "..."]
    v_rest: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    surrogate: AbstractSurrogate = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike,
        thr: ParamLike = -52.0,
        v_rest: ParamLike = -65.0,
        v_reset: ParamLike = -60.0,
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        """**Arguments** (ngc-learn's names; every number a scalar or per-unit array leaf):

        - `n_units`: number of cells (static).
        - `tau_m`: membrane time constant in ms, $> 0$.
        - `thr`: firing threshold in mV.
        - `v_rest`: resting potential in mV.
        - `v_reset`: potential right after a spike in mV.
        - `surrogate_type`: a surrogate name (:func:`ngcx.surrogates.get_surrogate`) or
          object (static): the spike's derivative under ``jax.grad``.
        """
        n_units = _check_units(n_units)
        self.n_units = n_units
        self.tau_m = param(tau_m, "tau_m", "positive", n_units=n_units)
        self.thr = param(thr, "thr", "real", n_units=n_units)
        self.v_rest = param(v_rest, "v_rest", "real", n_units=n_units)
        self.v_reset = param(v_reset, "v_reset", "real", n_units=n_units)
        self.surrogate = _surrogate(surrogate_type)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: Scalar = 0.0
    ) -> LIFSRMState:
        """Resting state (ngc-learn's ``reset``): ``v = v_rest``, empty traces, no spike
        yet (``t_last_spike = -1``), last evaluation at `t` ms."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return LIFSRMState(
            v=zeros + _at(self.v_rest, zeros),
            s=zeros,
            j_lowpass=zeros,
            eta=zeros,
            t_last_spike=zeros - 1.0,
            t=jnp.asarray(t, dtype),
        )

    def __call__(
        self,
        state: LIFSRMState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: Scalar = 1.0,
        t: Scalar | None = None,
    ) -> LIFSRMState:
        """Evaluate the cell at time `t` (ms; default ``state.t + dt``) with the current `j`
        held over the last `dt` ms.

        **Arguments:** `state`; `j` the input current of the state's shape (``None``:
        zero); `dt` the pulse width in ms; `t` the evaluation time in ms (any time after
        ``state.t``: the traces decay over the whole gap).

        **Returns:** the new :class:`LIFSRMState`.
        """
        dt = check_dt(dt, self)
        v = state.v
        dt = jnp.asarray(dt, v.dtype)
        t_new, gap = _clock(state.t, t, dt)
        j = _current(j, v)
        tau = _at(self.tau_m, v)
        decay = jnp.exp(-gap / tau)
        j_lowpass = state.j_lowpass * decay + (dt / tau) * j
        eta = state.eta * decay
        v_new = _at(self.v_rest, v) + j_lowpass + eta
        s = self.surrogate(v_new, _at(self.thr, v))
        jump = s * (_at(self.v_reset, v) - v_new)
        return checked(
            self,
            LIFSRMState(
                v=v_new + jump,
                s=s,
                j_lowpass=j_lowpass,
                eta=eta + jump,
                t_last_spike=_update_tols(state.t_last_spike, jax.lax.stop_gradient(s), t_new),
                t=t_new,
            ),
        )

    def predict_next_spike(
        self,
        state: LIFSRMState,
        t_start: Scalar | None = None,
        j: Float[ArrayLike, "*batch n"] | None = None,
    ) -> Float[Array, "*batch n"]:
        r"""The next time (ms) the potential crosses ``thr`` upwards under a constant
        current `j` (``None``: zero) from `t_start` (default ``state.t``), in closed form:
        with $u_0 = v(t_{\text{start}}) - v_{\text{rest}}$ and
        $\theta = \texttt{thr} - v_{\text{rest}}$,
        $t^* = t_{\text{start}} + \tau_m \log\frac{j - u_0}{j - \theta}$ for
        $u_0 \le \theta < j$ ($t_{\text{start}}$ itself where $u_0 > \theta$) and ``-1``
        where the potential never reaches threshold. $j$ here is the continuous-time
        drive, the level $u$ relaxes to."""
        like = state.v
        t0 = state.t if t_start is None else jnp.asarray(t_start, like.dtype)
        tau = _at(self.tau_m, like)
        decay = jnp.exp(-(t0 - state.t) / tau)
        u0 = (state.j_lowpass + state.eta) * decay
        theta = _at(self.thr, like) - _at(self.v_rest, like)
        drive = _current(j, like)
        above = u0 > theta
        reach = (drive > theta) & ~above
        ratio = jnp.where(reach, (drive - u0) / jnp.where(reach, drive - theta, 1.0), 1.0)
        t_star = t0 + tau * jnp.log(ratio)
        return jnp.where(above, t0, jnp.where(reach, t_star, -1.0)).astype(like.dtype)


class RAFSRM(AbstractSpikingCell):
    r"""The resonate-and-fire neuron as a spike-response model (ngc-learn's ``RAFSRM``;
    Izhikevich 2001, Richardson et al. 2003). The oscillator of :class:`RAFCell`,

    $$\tau_v \frac{dv}{dt} = b\,v + \omega w, \qquad \tau_w \frac{dw}{dt} = b\,w - \omega v,$$

    (``dampen_factor`` $b$, ``omega`` $\omega$) is solved in closed form between
    evaluations by its propagator $e^{M s}$, $M = \begin{pmatrix} b/\tau_v & \omega/\tau_v
    \\ -\omega/\tau_w & b/\tau_w\end{pmatrix}$, for the input-driven part $(j_v, j_w)$
    (each evaluation adds the pulse $\tfrac{\Delta t}{\tau_w} j$ to $j_w$) and for the
    summed reset kernels $(\eta_v, \eta_w)$. The potential is $v = j_v + \eta_v$; a spike
    where $v > \theta$ (``thr`` $\theta$) adds the reset kernel that puts $(v, w)$ at
    (``v_reset``, ``w_reset``). This is exactly the resonate-and-fire neuron with reset,
    driven by the current pulses.

    **Differences from ngc-learn 3.2.** (1) ngc-learn's reset kernel is the free oscillation
    from (``v_reset``, ``w_reset``) *without its damping* (it computes $e^{-\gamma s}$ and
    never applies it), added to an input part that is never reset, from the last spike
    only; ngcx's reset kernel, damped, brings $(v, w)$ to the reset point. (2) ngc-learn
    clamps $\omega_d^2$ at $10^{-6}$, which is wrong for an overdamped oscillator
    ($\omega_d^2 < 0$, e.g. $\tau_v \ne \tau_w$ with a small $\omega$); ngcx uses
    $\cosh$/$\sinh$ there. Without spikes, in the underdamped case, the two agree, and
    ``j_v``/``j_w`` always do. ngc-learn's ``predict_next_spike`` (ten Newton steps from
    0.1 ms) is not ported.

    Drive it with ``lax.scan`` (``t`` defaults to ``state.t + dt``).
    """

    n_units: int = eqx.field(static=True)
    tau_v: Float[Array, "..."]
    tau_w: Float[Array, "..."]
    thr: Float[Array, "..."]
    omega: Float[Array, "..."]
    dampen_factor: Float[Array, "..."]
    v_reset: Float[Array, "..."]
    w_reset: Float[Array, "..."]
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
        surrogate_type: str | AbstractSurrogate = "straight_through",
    ):
        r"""**Arguments** (ngc-learn's names; every number a scalar or per-unit array leaf):

        - `n_units`: number of cells (static).
        - `tau_v`, `tau_w`: time constants of $v$ and $w$ in ms, $> 0$.
        - `thr`: firing threshold of $v$.
        - `omega`: angular frequency $\omega$ (real).
        - `dampen_factor`: $b$ (real; $< 0$ damps).
        - `v_reset`, `w_reset`: $(v, w)$ right after a spike.
        - `surrogate_type`: a surrogate name or object (static).
        """
        n_units = _check_units(n_units)
        self.n_units = n_units
        self.tau_v = param(tau_v, "tau_v", "positive", n_units=n_units)
        self.tau_w = param(tau_w, "tau_w", "positive", n_units=n_units)
        self.thr = param(thr, "thr", "real", n_units=n_units)
        self.omega = param(omega, "omega", "real", n_units=n_units)
        self.dampen_factor = param(dampen_factor, "dampen_factor", "real", n_units=n_units)
        self.v_reset = param(v_reset, "v_reset", "real", n_units=n_units)
        self.w_reset = param(w_reset, "w_reset", "real", n_units=n_units)
        self.surrogate = _surrogate(surrogate_type)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: Scalar = 0.0
    ) -> RAFSRMState:
        """Resting state (ngc-learn's ``reset``): everything 0, no spike yet
        (``t_last_spike = -1``), last evaluation at `t` ms."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return RAFSRMState(
            v=zeros,
            s=zeros,
            j_v=zeros,
            j_w=zeros,
            eta_v=zeros,
            eta_w=zeros,
            t_last_spike=zeros - 1.0,
            t=jnp.asarray(t, dtype),
        )

    def propagator(
        self, gap: Float[ArrayLike, "..."], like: Float[Array, "*batch n"]
    ) -> tuple[Array, Array, Array, Array]:
        r"""The entries ``(p_vv, p_vw, p_wv, p_ww)`` of $e^{M\,\text{gap}}$, shaped like
        `like`."""
        tau_v, tau_w = _at(self.tau_v, like), _at(self.tau_w, like)
        damp, omega = _at(self.dampen_factor, like), _at(self.omega, like)
        gap = jnp.broadcast_to(jnp.asarray(gap, like.dtype), like.shape)
        return _oscillator(damp / tau_v, omega / tau_v, -omega / tau_w, damp / tau_w, gap)

    def __call__(
        self,
        state: RAFSRMState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: Scalar = 1.0,
        t: Scalar | None = None,
    ) -> RAFSRMState:
        """Evaluate the cell at time `t` (ms; default ``state.t + dt``) with the current `j`
        held over the last `dt` ms.

        **Arguments:** `state`; `j` the input current (``None``: zero); `dt` the pulse
        width in ms; `t` the evaluation time in ms.

        **Returns:** the new :class:`RAFSRMState`.
        """
        dt = check_dt(dt, self)
        v = state.v
        dt = jnp.asarray(dt, v.dtype)
        t_new, gap = _clock(state.t, t, dt)
        j = _current(j, v)
        p_vv, p_vw, p_wv, p_ww = self.propagator(gap, v)
        j_v = p_vv * state.j_v + p_vw * state.j_w
        j_w = p_wv * state.j_v + p_ww * state.j_w + (dt / _at(self.tau_w, v)) * j
        eta_v = p_vv * state.eta_v + p_vw * state.eta_w
        eta_w = p_wv * state.eta_v + p_ww * state.eta_w
        v_new = j_v + eta_v
        s = self.surrogate(v_new, _at(self.thr, v))
        jump_v = s * (_at(self.v_reset, v) - v_new)
        jump_w = s * (_at(self.w_reset, v) - (j_w + eta_w))
        return checked(
            self,
            RAFSRMState(
                v=v_new + jump_v,
                s=s,
                j_v=j_v,
                j_w=j_w,
                eta_v=eta_v + jump_v,
                eta_w=eta_w + jump_w,
                t_last_spike=_update_tols(state.t_last_spike, jax.lax.stop_gradient(s), t_new),
                t=t_new,
            ),
        )
