r"""Input encoders: turn intensities into spike trains (ngc-learn's ``input_encoders``).

Stochastic encoders take an explicit PRNG ``key`` per step (split it per step, or use
:meth:`PoissonCell.encode` to draw a whole train at once). Times are in ms and rates in Hz.
"""

from __future__ import annotations

import abc
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._checks import check_nonnegative, check_positive
from .._custom_types import Key
from .._shapes import left_pad_rank
from ._common import check_units as _check_units, update_tols as _update_tols


__all__ = [
    "EncoderState",
    "PoissonCell",
    "BernoulliCell",
    "LatencyState",
    "LatencyCell",
    "TTFSState",
    "TTFSCell",
]


class EncoderState(eqx.Module):
    """State of a stochastic encoder: ``s`` the spikes of the last step, ``tols`` time of
    last spike (ms), the clock ``t`` (ms)."""

    s: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


def _intensity(x: ArrayLike, n_units: int, name: str = "x") -> Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"`{name}` must be a floating-point array, got dtype {x.dtype}.")
    if x.ndim == 0 or x.shape[-1] != n_units:
        raise ValueError(f"`{name}` must have a last axis of {n_units}, got shape {x.shape}.")
    return x


class _StochasticEncoder(eqx.Module):
    n_units: eqx.AbstractVar[int]

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: float = 0.0
    ) -> EncoderState:
        """No spikes yet; clock at `t` ms."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return EncoderState(s=zeros, tols=zeros, t=jnp.asarray(t, dtype))

    @abc.abstractmethod
    def probability(self, x: Array, dt: Any) -> Array:
        """The per-step spike probability of intensities `x` for a step of `dt` ms."""

    def __call__(
        self,
        state: EncoderState,
        x: Float[ArrayLike, "*batch n"],
        *,
        key: Key,
        dt: float = 1.0,
    ) -> EncoderState:
        """One step: spike with probability :meth:`probability` per cell.

        **Arguments:** `state`; `x` the intensities (state's shape); `key` a PRNG key for
        this step; `dt` in ms.
        """
        x = _intensity(x, self.n_units)
        if x.ndim > state.s.ndim:
            raise ValueError(
                f"`x` has shape {x.shape}, more axes than the state's {state.s.shape}."
            )
        p = left_pad_rank(self.probability(x, dt).astype(state.s.dtype), state.s.ndim)
        # one draw per cell of the state: a shared intensity still gives independent trains
        u = jax.random.uniform(key, state.s.shape, state.s.dtype)
        s = (u < p).astype(state.s.dtype)
        return EncoderState(s=s, tols=_update_tols(state.tols, s, state.t), t=state.t + dt)

    def encode(
        self, x: Float[ArrayLike, "*batch n"], n_steps: int, *, key: Key, dt: float = 1.0
    ) -> Float[Array, "n_steps *batch n"]:
        """A whole spike train of `n_steps` steps at once (one random draw): the same
        distribution as stepping the cell, shape ``(n_steps, *x.shape)``."""
        x = _intensity(x, self.n_units)
        p = self.probability(x, dt)
        u = jax.random.uniform(key, (int(n_steps), *p.shape), p.dtype)
        return (u < p[None]).astype(p.dtype)


class PoissonCell(_StochasticEncoder):
    r"""Poisson spike trains (ngc-learn's ``PoissonCell``): in a step of ``dt`` ms a cell
    spikes with probability $p = x\, f\, \Delta t / 1000$ for intensity $x \in [0, 1]$ and
    ``target_freq`` $f$ (Hz), i.e. at $x f$ Hz (a Bernoulli approximation of a Poisson
    process, exact as $\Delta t \to 0$; $p$ saturates at 1)."""

    n_units: int = eqx.field(static=True)
    target_freq: float = eqx.field(static=True)

    def __init__(self, n_units: int, target_freq: float = 63.75):
        """**Arguments:** `n_units`; `target_freq` the rate (Hz) of an intensity of 1."""
        self.n_units = _check_units(n_units)
        check_nonnegative(target_freq, "target_freq")
        self.target_freq = float(target_freq)

    def probability(self, x, dt):
        """Per-step spike probability $x f \\Delta t/1000$."""
        return x * (self.target_freq * dt / 1000.0)


class BernoulliCell(_StochasticEncoder):
    """Bernoulli spike trains (ngc-learn's ``BernoulliCell``): each step a cell spikes with
    probability equal to its intensity $x \\in [0, 1]$."""

    n_units: int = eqx.field(static=True)

    def __init__(self, n_units: int):
        """**Arguments:** `n_units`."""
        self.n_units = _check_units(n_units)

    def probability(self, x, dt):
        """The intensity itself."""
        return x


class LatencyState(eqx.Module):
    """State of a :class:`LatencyCell`: target spike times (ms), cells that already
    spiked (``mask``), cells never allowed to spike (``clip_mask``), spikes ``s``,
    ``tols`` and the clock ``t`` (ms)."""

    spike_times: Float[Array, "*batch n"]
    mask: Float[Array, "*batch n"]
    clip_mask: Float[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


class LatencyCell(eqx.Module):
    r"""Latency (time-to-first-spike) coding (ngc-learn's ``LatencyCell``): each cell
    spikes once, earlier for a stronger input. Spike times (ms) are

    - ``linearize=False``: $t_f = \tau \ln\frac{x}{x - \theta} + t_0$ with $x$ floored at
      $\theta + \epsilon$ (a capacitor charging to threshold ``threshold`` $\theta$);
    - ``linearize=True``: $t_f = \tau (1 - x) + t_0$, capped at $\tau(1 - \theta) + t_0$;

    with ``first_spike_time`` $t_0$. ``normalize`` stretches the times to fill
    ``num_steps`` steps (linear: $\tau = T - 1 - t_0$; nonlinear: divide by the largest
    time of the batch). ``clip_spikes`` silences inputs below $\theta$. A cell spikes at
    the first step whose clock reaches its rounded spike time.
    """

    n_units: int = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    first_spike_time: float = eqx.field(static=True)
    linearize: bool = eqx.field(static=True)
    normalize: bool = eqx.field(static=True)
    clip_spikes: bool = eqx.field(static=True)
    num_steps: float = eqx.field(static=True)
    eps: float = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau: float = 1.0,
        threshold: float = 0.01,
        first_spike_time: float = 0.0,
        linearize: bool = False,
        normalize: bool = False,
        clip_spikes: bool = False,
        num_steps: int | float = 1.0,
        eps: float = 1e-7,
    ):
        """**Arguments:** ngc-learn's names and defaults (`tau`, `first_spike_time` in ms;
        `threshold` an intensity; `num_steps` the window for `normalize`)."""
        self.n_units = _check_units(n_units)
        check_positive(tau, "tau")
        check_nonnegative(threshold, "threshold")
        check_positive(eps, "eps")
        self.tau, self.threshold = float(tau), float(threshold)
        self.first_spike_time = float(first_spike_time)
        self.linearize, self.normalize = bool(linearize), bool(normalize)
        self.clip_spikes, self.num_steps, self.eps = bool(clip_spikes), float(num_steps), float(eps)

    def spike_times(self, x: Float[ArrayLike, "*batch n"]) -> Float[Array, "*batch n"]:
        """Target spike times (ms) of intensities `x`."""
        x = _intensity(x, self.n_units)
        t0, thr = self.first_spike_time, self.threshold
        if self.linearize:
            tau = self.num_steps - 1.0 - t0 if self.normalize else self.tau
            return jnp.minimum(-tau * (x - 1.0), -tau * (thr - 1.0)) + t0
        xc = jnp.maximum(x, thr + self.eps)
        times = jnp.log(xc / (xc - thr)) * self.tau
        if self.normalize:
            times = times * ((self.num_steps - t0 - 1.0) / jnp.max(times))
        return times + t0

    def init_state(self, x: Float[ArrayLike, "*batch n"], t: float = 0.0) -> LatencyState:
        """Start encoding `x` (ngc-learn's ``calc_spike_times``): compute the spike times."""
        times = self.spike_times(x)
        zeros = jnp.zeros_like(times)
        clip = (jnp.asarray(x) < self.threshold).astype(times.dtype) if self.clip_spikes else zeros
        return LatencyState(
            spike_times=times,
            mask=zeros,
            clip_mask=clip,
            s=zeros,
            tols=zeros,
            t=jnp.asarray(t, times.dtype),
        )

    def __call__(self, state: LatencyState, *, dt: float = 1.0) -> LatencyState:
        """One step: cells whose rounded spike time has been reached and that have not
        spiked yet emit their spike."""
        due = (jnp.round(state.spike_times) <= state.t).astype(state.s.dtype)
        fire = due * (1.0 - state.mask)
        mask = state.mask + (1.0 - state.mask) * fire
        s = fire * (1.0 - state.clip_mask)
        return LatencyState(
            spike_times=state.spike_times,
            mask=mask,
            clip_mask=state.clip_mask,
            s=s,
            tols=_update_tols(state.tols, fire, state.t),
            t=state.t + dt,
        )


class TTFSState(eqx.Module):
    """State of a :class:`TTFSCell`: target step of each cell, whether it has fired, its
    refractory counter (steps), spikes ``s``, ``tols`` (ms), the step counter and clock."""

    target_steps: Int[Array, "*batch n"]
    has_fired: Bool[Array, "*batch n"]
    refractory: Int[Array, "*batch n"]
    s: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    step: Int[Array, ""]
    t: Float[Array, ""]


class TTFSCell(eqx.Module):
    r"""Time-to-first-spike coding over a window of ``num_steps`` steps (ngc-learn's
    ``TTFSCell``): each cell fires once, at step

    - ``"exponential"``: $\mathrm{round}\big((T - 1)\frac{e^{-x} - e^{-1}}{1 - e^{-1}}\big)$
      (intensity 1 fires first, at step 0; intensity 0 last);
    - ``"logarithmic"``: $\mathrm{round}\big((T - 1)\frac{-\ln x}{\max(-\ln 0.01,
      \max(-\ln x))}\big)$, clipped to the window;

    with $x$ clipped to $[10^{-7}, 1]$. ``tau_ref`` (steps) is the refractory count after a
    spike (moot for one spike per cell, kept for ngc-learn compatibility).
    """

    n_units: int = eqx.field(static=True)
    num_steps: int = eqx.field(static=True)
    tau_ref: int = eqx.field(static=True)
    latency_mode: Literal["exponential", "logarithmic"] = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        num_steps: int = 100,
        tau_ref: int = 5,
        latency_mode: str = "exponential",
    ):
        """**Arguments:** ngc-learn's names and defaults."""
        self.n_units = _check_units(n_units)
        if not isinstance(num_steps, int) or num_steps <= 0:
            raise ValueError(f"`num_steps` must be a positive int, got {num_steps!r}.")
        if latency_mode not in ("exponential", "logarithmic"):
            raise ValueError(
                f"`latency_mode` must be 'exponential' or 'logarithmic', got {latency_mode!r}."
            )
        check_nonnegative(tau_ref, "tau_ref")
        self.num_steps, self.tau_ref = num_steps, int(tau_ref)
        self.latency_mode = latency_mode  # type: ignore[assignment]

    def target_steps(self, x: Float[ArrayLike, "*batch n"]) -> Int[Array, "*batch n"]:
        """The step at which each cell fires."""
        x = jnp.clip(_intensity(x, self.n_units), 1e-7, 1.0)
        last = self.num_steps - 1
        if self.latency_mode == "exponential":
            norm = (jnp.exp(-x) - jnp.exp(-1.0)) / (jnp.exp(-1e-7) - jnp.exp(-1.0))
            times = norm * last
        else:
            raw = -jnp.log(x)
            times = jnp.clip(raw / jnp.maximum(-jnp.log(0.01), jnp.max(raw)) * last, 0, last)
        return jnp.round(times).astype(jnp.int32)

    def init_state(self, x: Float[ArrayLike, "*batch n"], t: float = 0.0) -> TTFSState:
        """Start encoding `x`."""
        targets = self.target_steps(x)
        zeros = jnp.zeros(targets.shape, jnp.float32)
        return TTFSState(
            target_steps=targets,
            has_fired=jnp.zeros(targets.shape, bool),
            refractory=jnp.zeros(targets.shape, jnp.int32),
            s=zeros,
            tols=zeros,
            step=jnp.asarray(0, jnp.int32),
            t=jnp.asarray(t, jnp.float32),
        )

    def __call__(self, state: TTFSState, *, dt: float = 1.0) -> TTFSState:
        """One step: cells whose target step is now (and not refractory, not yet fired)
        spike."""
        refractory = jnp.maximum(state.refractory - 1, 0)
        fire = (state.target_steps == state.step) & (refractory == 0) & ~state.has_fired
        s = fire.astype(state.s.dtype)
        return TTFSState(
            target_steps=state.target_steps,
            has_fired=state.has_fired | fire,
            refractory=jnp.where(fire, self.tau_ref, refractory),
            s=s,
            tols=_update_tols(state.tols, s, state.t),
            step=state.step + 1,
            t=state.t + dt,
        )
