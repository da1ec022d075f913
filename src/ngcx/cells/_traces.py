r"""Spike traces and kernels (ngc-learn's ``VarTrace`` and ``ExpKernel``)."""

from __future__ import annotations

from typing import Any, Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_nonnegative
from .._custom_types import ParamLike, Scalar
from .._params import bcast, is_concrete, param
from ._base import AbstractTrace
from ._common import check_dt, check_units as _check_units, checked, current as _current


__all__ = ["VarTrace", "ExpKernelState", "ExpKernel"]

#: A constructor parameter: a Python number or a scalar/per-unit array (possibly traced).


class VarTrace(AbstractTrace):
    r"""A variable trace of incoming spikes $s$ (ngc-learn's ``VarTrace``):

    $$x \leftarrow \gamma\, d\, x \;+\; \begin{cases}
    s\,(a_\Delta - x/K) & K > 0 \text{ (n nearest spikes)}\\
    a_\Delta\, s & a_\Delta > 0 \text{ (accumulating)}\\
    \text{then } x \leftarrow x (1 - s) + P s & a_\Delta = 0 \text{ (gated: set on a spike)}
    \end{cases}$$

    with the decay $d = e^{-\Delta t/\tau}$ (``decay_type="exp"``), $1 - \Delta t/\tau$
    (``"lin"``) or $0$ (``"step"``: the trace only remembers the last step), ``tau_tr``
    $\tau$ (ms), ``a_delta`` $a_\Delta$, ``P_scale`` $P$, ``gamma_tr`` $\gamma$ and
    ``n_nearest_spikes`` $K$. The state is the trace itself, an array of shape
    ``(*batch, n_units)``.

    $\tau$, $a_\Delta$, $P$ and $\gamma$ are array leaves (scalars or one value per unit):
    ``jax.vmap`` over a sweep of them and ``jax.grad`` of the trace with respect to them
    work. The accumulating/gated choice is made per unit from the value of $a_\Delta$ with
    ``jnp.where`` (both are computed), so a traced $a_\Delta$ behaves as a concrete one;
    $K$ and the decay type are static.

    ```python
    tr = VarTrace(784, tau_tr=20.0, a_delta=0.0)
    x = tr.init_state((batch,))
    x = tr(x, spikes, dt=1.0)
    ```
    """

    n_units: int = eqx.field(static=True)
    tau_tr: Float[Array, "..."]
    a_delta: Float[Array, "..."]
    P_scale: Float[Array, "..."]
    gamma_tr: Float[Array, "..."]
    decay_type: Literal["exp", "lin", "step"] = eqx.field(static=True)
    n_nearest_spikes: int = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_tr: ParamLike,
        a_delta: ParamLike,
        P_scale: ParamLike = 1.0,
        gamma_tr: ParamLike = 1.0,
        decay_type: str = "exp",
        n_nearest_spikes: int = 0,
    ):
        """**Arguments** (ngc-learn's names and defaults). `tau_tr`, `a_delta`, `P_scale`
        and `gamma_tr` may each be a scalar or a per-unit array of shape ``(n_units,)``,
        and are array leaves.

        - `n_units`: number of cells (static).
        - `tau_tr`: the trace's time constant (ms), ``> 0``.
        - `a_delta`: the increment per spike, ``>= 0`` (``0``: the gated trace).
        - `P_scale`: real, the value a gated trace is set to on a spike.
        - `gamma_tr`: real, scales the decay.
        - `decay_type`: ``"exp"``, ``"lin"`` or ``"step"`` (static).
        - `n_nearest_spikes`: $K \\ge 0$, an int (static; ``0``: off).
        """
        self.n_units = _check_units(n_units)
        check_nonnegative(n_nearest_spikes, "n_nearest_spikes")
        if decay_type not in ("exp", "lin", "step"):
            raise ValueError(f"`decay_type` must be 'exp', 'lin' or 'step', got {decay_type!r}.")
        self.tau_tr = param(tau_tr, "tau_tr", "positive", n_units=n_units)
        self.a_delta = param(a_delta, "a_delta", "nonnegative", n_units=n_units)
        self.P_scale = param(P_scale, "P_scale", "real", n_units=n_units)
        self.gamma_tr = param(gamma_tr, "gamma_tr", "real", n_units=n_units)
        self.decay_type = decay_type  # type: ignore[assignment]
        self.n_nearest_spikes = int(n_nearest_spikes)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32
    ) -> Float[Array, "*batch n"]:
        """A zero trace."""
        return jnp.zeros((*batch_shape, self.n_units), dtype)

    def decay(self, dt: Any, dtype: Any = jnp.float32) -> Array:
        """The per-step decay factor $d$ in `dtype` (the shape of ``tau_tr``)."""
        tau = self.tau_tr.astype(dtype)
        if self.decay_type == "exp":
            return jnp.exp(-jnp.asarray(dt, dtype) / tau)
        if self.decay_type == "lin":  # reaches 0 after tau_tr and stays there
            return jnp.maximum(1.0 - jnp.asarray(dt, dtype) / tau, 0.0)
        return jnp.zeros_like(tau)

    def __call__(
        self,
        trace: Float[Array, "*batch n"],
        s: Float[ArrayLike, "*batch n"],
        *,
        dt: Scalar = 1.0,
    ) -> Float[Array, "*batch n"]:
        """Advance the trace one step given the spikes `s`; returns the new trace."""
        dt = check_dt(dt, self)
        s = _current(s, trace)
        nd, dtype = trace.ndim, trace.dtype
        decay = bcast(self.gamma_tr.astype(dtype) * self.decay(dt, dtype), nd)
        x = decay * trace
        a_delta = bcast(self.a_delta.astype(dtype), nd)
        if self.n_nearest_spikes > 0:
            return checked(self, x + s * (a_delta - trace * (1.0 / self.n_nearest_spikes)))
        accumulated = x + a_delta * s
        gated = x * (1.0 - s) + s * bcast(self.P_scale.astype(dtype), nd)
        return checked(self, jnp.where(a_delta > 0, accumulated, gated))


class ExpKernelState(eqx.Module):
    """State of an :class:`ExpKernel`: ``spike_times`` ``(window, *batch, n_units)`` of the
    most recent steps (``-inf`` where no spike), ``epsp`` the last output, clock ``t``."""

    spike_times: Float[Array, "w *batch n"]
    epsp: Float[Array, "*batch n"]
    t: Float[Array, ""]


class ExpKernel(AbstractTrace):
    r"""An exponential spike kernel over a finite window (ngc-learn's ``ExpKernel``):

    $$\text{epsp}(t) = \sum_{t_f \in (t - \nu, t]} e^{-(t - t_f)/\tau_w}$$

    over the spike times $t_f$ of the last $\lfloor\nu/\Delta t\rfloor$ steps (``nu``
    $\nu$ and ``tau_w`` $\tau_w$ in ms), the current step included.

    ngc-learn marks "no spike" with the time 0, so a spike at $t = 0$ is dropped; ngcx
    keeps it (no spike is $-\infty$).

    The step ``dt`` is fixed at construction (the call takes no ``dt``). $\tau_w$ is an
    array leaf (a scalar or one value per unit; ``jax.vmap``/``jax.grad`` over it work,
    empty slots of the window contribute neither value nor gradient). ``dt`` and $\nu$
    are array leaves too, but they set the window's length ``window`` (static, a shape),
    so they must be concrete at construction.
    """

    n_units: int = eqx.field(static=True)
    dt: Float[Array, ""]
    tau_w: Float[Array, "..."]
    nu: Float[Array, ""]
    window: int = eqx.field(static=True)

    def __init__(self, n_units: int, dt: ParamLike, tau_w: ParamLike = 500.0, nu: ParamLike = 4.0):
        """**Arguments:**

        - `n_units`: number of cells (static).
        - `dt`: the step (ms), a concrete scalar ``> 0``; the clock advances by it each call.
        - `tau_w`: the kernel's time constant (ms), ``> 0``; a scalar or a per-unit array of
          shape ``(n_units,)``, an array leaf.
        - `nu`: the window's span (ms), a concrete scalar ``> 0``: the kernel sums the last
          ``window = max(int(nu / dt), 1)`` steps.
        """
        self.n_units = _check_units(n_units)
        self.dt = param(dt, "dt", "positive")
        self.nu = param(nu, "nu", "positive")
        if not is_concrete((dt, nu)):  # the arguments: inside jit, param() gives tracers
            raise ValueError(
                "`dt` and `nu` set the window length (a shape): they must be concrete, not "
                "traced (sweep `tau_w` instead, or build one kernel per window)."
            )
        self.tau_w = param(tau_w, "tau_w", "positive", n_units=n_units)
        self.window = max(int(float(np.asarray(nu)) / float(np.asarray(dt))), 1)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: Scalar = 0.0
    ) -> ExpKernelState:
        """No spikes in the window."""
        shape = (*batch_shape, self.n_units)
        return ExpKernelState(
            spike_times=jnp.full((self.window, *shape), -jnp.inf, dtype),
            epsp=jnp.zeros(shape, dtype),
            t=jnp.asarray(t, dtype),
        )

    def __call__(self, state: ExpKernelState, s: Float[ArrayLike, "*batch n"]) -> ExpKernelState:
        """Record this step's spikes `s` (at the state's clock) and evaluate the kernel."""
        s = _current(s, state.epsp)
        t = state.t
        now = jnp.where(s > 0, t, -jnp.inf).astype(state.epsp.dtype)
        times = jnp.concatenate([state.spike_times[1:], now[None]], axis=0)
        tau_w = bcast(self.tau_w.astype(times.dtype), times.ndim)
        seen = jnp.isfinite(times)
        # empty slots (-inf) are masked before the division: exp(-inf / tau) is 0 but its
        # derivative in tau would be 0 * inf = nan
        age = jnp.where(seen, t - times, jnp.zeros_like(times))
        epsp = jnp.sum(jnp.where(seen, jnp.exp(-age / tau_w), jnp.zeros_like(times)), axis=0)
        return checked(
            self, ExpKernelState(spike_times=times, epsp=epsp, t=t + self.dt.astype(t.dtype))
        )
