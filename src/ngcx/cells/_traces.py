r"""Spike traces and kernels (ngc-learn's ``VarTrace`` and ``ExpKernel``)."""

from __future__ import annotations

from typing import Any, Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_nonnegative, check_positive
from ._common import check_units as _check_units, current as _current


__all__ = ["VarTrace", "ExpKernelState", "ExpKernel"]


class VarTrace(eqx.Module):
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
    ``(*batch, n_units)``:

    ```python
    tr = VarTrace(784, tau_tr=20.0, a_delta=0.0)
    x = tr.init_state((batch,))
    x = tr(x, spikes, dt=1.0)
    ```
    """

    n_units: int = eqx.field(static=True)
    tau_tr: float = eqx.field(static=True)
    a_delta: float = eqx.field(static=True)
    P_scale: float = eqx.field(static=True)
    gamma_tr: float = eqx.field(static=True)
    decay_type: Literal["exp", "lin", "step"] = eqx.field(static=True)
    n_nearest_spikes: int = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_tr: float,
        a_delta: float,
        P_scale: float = 1.0,
        gamma_tr: float = 1.0,
        decay_type: str = "exp",
        n_nearest_spikes: int = 0,
    ):
        """**Arguments:** ngc-learn's names and defaults (`tau_tr` in ms)."""
        self.n_units = _check_units(n_units)
        check_positive(tau_tr, "tau_tr")
        check_nonnegative(a_delta, "a_delta")
        check_nonnegative(n_nearest_spikes, "n_nearest_spikes")
        if decay_type not in ("exp", "lin", "step"):
            raise ValueError(f"`decay_type` must be 'exp', 'lin' or 'step', got {decay_type!r}.")
        self.tau_tr, self.a_delta = float(tau_tr), float(a_delta)
        self.P_scale, self.gamma_tr = float(P_scale), float(gamma_tr)
        self.decay_type = decay_type  # type: ignore[assignment]
        self.n_nearest_spikes = int(n_nearest_spikes)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32
    ) -> Float[Array, "*batch n"]:
        """A zero trace."""
        return jnp.zeros((*batch_shape, self.n_units), dtype)

    def decay(self, dt: Any) -> Any:
        """The per-step decay factor $d$."""
        if self.decay_type == "exp":
            return jnp.exp(-jnp.asarray(dt, jnp.float32) / self.tau_tr)
        if self.decay_type == "lin":
            return 1.0 - dt / self.tau_tr
        return 0.0

    def __call__(
        self,
        trace: Float[Array, "*batch n"],
        s: Float[ArrayLike, "*batch n"],
        *,
        dt: float = 1.0,
    ) -> Float[Array, "*batch n"]:
        """Advance the trace one step given the spikes `s`; returns the new trace."""
        s = _current(s, trace)
        decay = self.decay(dt)
        if self.decay_type == "exp":
            decay = decay.astype(trace.dtype)
        x = (self.gamma_tr * decay) * trace
        if self.n_nearest_spikes > 0:
            return x + s * (self.a_delta - trace * (1.0 / self.n_nearest_spikes))
        if self.a_delta > 0:
            return x + self.a_delta * s
        return x * (1.0 - s) + s * self.P_scale


class ExpKernelState(eqx.Module):
    """State of an :class:`ExpKernel`: ``spike_times`` ``(window, *batch, n_units)`` of the
    most recent steps (``-inf`` where no spike), ``epsp`` the last output, clock ``t``."""

    spike_times: Float[Array, "w *batch n"]
    epsp: Float[Array, "*batch n"]
    t: Float[Array, ""]


class ExpKernel(eqx.Module):
    r"""An exponential spike kernel over a finite window (ngc-learn's ``ExpKernel``):

    $$\text{epsp}(t) = \sum_{t_f \in (t - \nu, t]} e^{-(t - t_f)/\tau_w}$$

    over the spike times $t_f$ of the last $\lfloor\nu/\Delta t\rfloor$ steps (``nu``
    $\nu$ and ``tau_w`` $\tau_w$ in ms), the current step included.

    ngc-learn marks "no spike" with the time 0, so a spike at $t = 0$ is dropped; ngcx
    keeps it (no spike is $-\infty$).
    """

    n_units: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    tau_w: float = eqx.field(static=True)
    nu: float = eqx.field(static=True)
    window: int = eqx.field(static=True)

    def __init__(self, n_units: int, dt: float, tau_w: float = 500.0, nu: float = 4.0):
        """**Arguments:** `n_units`, the step `dt` (ms) that sets the window, `tau_w` and
        `nu` (ms)."""
        self.n_units = _check_units(n_units)
        check_positive(dt, "dt")
        check_positive(tau_w, "tau_w")
        check_positive(nu, "nu")
        self.dt, self.tau_w, self.nu = float(dt), float(tau_w), float(nu)
        self.window = max(int(nu / dt), 1)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
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
        epsp = jnp.sum(jnp.exp(-(t - times) / self.tau_w), axis=0)
        return ExpKernelState(spike_times=times, epsp=epsp, t=t + self.dt)
