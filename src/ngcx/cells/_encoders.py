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

from .._custom_types import Key, ParamLike, Scalar
from .._params import bcast, param
from .._shapes import left_pad_rank
from ._base import AbstractEncoder
from ._common import (
    check_dt,
    check_units as _check_units,
    checked,
    update_tols as _update_tols,
)


__all__ = [
    "EncoderState",
    "PoissonCell",
    "BernoulliCell",
    "LatencyState",
    "LatencyCell",
    "TTFSState",
    "TTFSCell",
]

#: A constructor parameter: a Python number or a scalar/per-unit array (possibly traced).


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


def _leaf(p: Array, like: Array) -> Array:
    """A scalar or per-unit parameter in `like`'s dtype, ready to broadcast against it."""
    return bcast(p.astype(like.dtype), like.ndim)


class _AbstractStochasticEncoder(AbstractEncoder):
    """An encoder that spikes at random each step with a probability given by the
    intensities (:meth:`probability`, implemented by the final classes); stepping,
    ``init_state`` and whole-train :meth:`encode` are shared."""

    n_units: eqx.AbstractVar[int]

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: Scalar = 0.0
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
        dt: Scalar = 1.0,
    ) -> EncoderState:
        """One step: spike with probability :meth:`probability` per cell.

        **Arguments:** `state`; `x` the intensities (state's shape); `key` a PRNG key for
        this step; `dt` in ms.
        """
        dt = check_dt(dt, self)
        x = checked(self, _intensity(x, self.n_units))  # NaN would read as "no spike"
        if x.ndim > state.s.ndim:
            raise ValueError(
                f"`x` has shape {x.shape}, more axes than the state's {state.s.shape}."
            )
        p = left_pad_rank(self.probability(x, dt).astype(state.s.dtype), state.s.ndim)
        # one draw per cell of the state: a shared intensity still gives independent trains
        u = jax.random.uniform(key, state.s.shape, state.s.dtype)
        s = (u < p).astype(state.s.dtype)
        return checked(
            self, EncoderState(s=s, tols=_update_tols(state.tols, s, state.t), t=state.t + dt)
        )

    def encode(
        self, x: Float[ArrayLike, "*batch n"], n_steps: int, *, key: Key, dt: Scalar = 1.0
    ) -> Float[Array, "n_steps *batch n"]:
        """A whole spike train of `n_steps` steps at once (one random draw): the same
        distribution as stepping the cell, shape ``(n_steps, *x.shape)``."""
        x = _intensity(x, self.n_units)
        p = self.probability(x, dt)
        u = jax.random.uniform(key, (int(n_steps), *p.shape), p.dtype)
        return (u < p[None]).astype(p.dtype)


class PoissonCell(_AbstractStochasticEncoder):
    r"""Poisson spike trains (ngc-learn's ``PoissonCell``): in a step of ``dt`` ms a cell
    spikes with probability $p = x\, f\, \Delta t / 1000$ for intensity $x \in [0, 1]$ and
    ``target_freq`` $f$ (Hz), i.e. at $x f$ Hz (a Bernoulli approximation of a Poisson
    process, exact as $\Delta t \to 0$; $p$ saturates at 1).

    $f$ is an array leaf (a scalar or one rate per unit): the spikes themselves have no
    gradient, but :meth:`probability` is differentiable in $f$, and ``jax.vmap`` over a
    sweep of rates works."""

    n_units: int = eqx.field(static=True)
    target_freq: Float[Array, "..."]

    def __init__(self, n_units: int, target_freq: ParamLike = 63.75):
        """**Arguments:**

        - `n_units`: number of cells (static).
        - `target_freq`: the rate (Hz) of an intensity of 1, ``>= 0``; a scalar or a
          per-unit array of shape ``(n_units,)``, an array leaf.
        """
        self.n_units = _check_units(n_units)
        self.target_freq = param(target_freq, "target_freq", "nonnegative", n_units=n_units)

    def probability(self, x: Array, dt: Any) -> Array:
        """Per-step spike probability $x f \\Delta t/1000$."""
        return x * _leaf(self.target_freq * dt / 1000.0, x)


class BernoulliCell(_AbstractStochasticEncoder):
    """Bernoulli spike trains (ngc-learn's ``BernoulliCell``): each step a cell spikes with
    probability equal to its intensity $x \\in [0, 1]$."""

    n_units: int = eqx.field(static=True)

    def __init__(self, n_units: int):
        """**Arguments:** `n_units`."""
        self.n_units = _check_units(n_units)

    def probability(self, x: Array, dt: Any) -> Array:
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


class LatencyCell(AbstractEncoder):
    r"""Latency (time-to-first-spike) coding (ngc-learn's ``LatencyCell``): each cell
    spikes once, earlier for a stronger input. Spike times (ms) are

    - ``linearize=False``: $t_f = \tau \ln\frac{x}{x - \theta} + t_0$ with $x$ floored at
      $\theta + \epsilon$ (a capacitor charging to threshold ``threshold`` $\theta$);
    - ``linearize=True``: $t_f = \tau (1 - x) + t_0$, capped at $\tau(1 - \theta) + t_0$;

    with ``first_spike_time`` $t_0$. ``normalize`` stretches the times to fill
    ``num_steps`` steps (linear: $\tau = T - 1 - t_0$; nonlinear: divide by the largest
    time of the batch). ``clip_spikes`` silences inputs below $\theta$. A cell spikes at
    the first step whose clock reaches its rounded spike time.

    $\tau$, $\theta$, $t_0$, $T$ (``num_steps``) and $\epsilon$ are array leaves (scalars
    or one value per unit): the spike times (:meth:`spike_times`) are differentiable in
    them and ``jax.vmap`` over a sweep of them works. The flags are static.
    """

    n_units: int = eqx.field(static=True)
    tau: Float[Array, "..."]
    threshold: Float[Array, "..."]
    first_spike_time: Float[Array, "..."]
    linearize: bool = eqx.field(static=True)
    normalize: bool = eqx.field(static=True)
    clip_spikes: bool = eqx.field(static=True)
    num_steps: Float[Array, "..."]
    eps: Float[Array, "..."]

    def __init__(
        self,
        n_units: int,
        tau: ParamLike = 1.0,
        threshold: ParamLike = 0.01,
        first_spike_time: ParamLike = 0.0,
        linearize: bool = False,
        normalize: bool = False,
        clip_spikes: bool = False,
        num_steps: ParamLike = 1.0,
        eps: ParamLike = 1e-7,
    ):
        """**Arguments** (ngc-learn's names and defaults). The numbers `tau`, `threshold`,
        `first_spike_time`, `num_steps` and `eps` may each be a scalar or a per-unit array
        of shape ``(n_units,)``, and are array leaves.

        - `n_units`: number of cells (static).
        - `tau`: time constant (ms), ``> 0``.
        - `threshold`: the intensity threshold $\\theta$, ``>= 0``.
        - `first_spike_time`: the earliest spike time $t_0$ (ms), real.
        - `linearize`, `normalize`, `clip_spikes`: flags (static).
        - `num_steps`: the window $T$ (steps), ``> 0``, that `normalize` stretches the
          times to (used only with `normalize`; it sets no shape).
        - `eps`: ``> 0``, floors the intensity at $\\theta + \\epsilon$.
        """
        self.n_units = _check_units(n_units)
        self.tau = param(tau, "tau", "positive", n_units=n_units)
        self.threshold = param(threshold, "threshold", "nonnegative", n_units=n_units)
        self.first_spike_time = param(first_spike_time, "first_spike_time", n_units=n_units)
        self.eps = param(eps, "eps", "positive", n_units=n_units)
        self.num_steps = param(num_steps, "num_steps", "positive", n_units=n_units)
        self.linearize, self.normalize = bool(linearize), bool(normalize)
        self.clip_spikes = bool(clip_spikes)

    def spike_times(self, x: Float[ArrayLike, "*batch n"]) -> Float[Array, "*batch n"]:
        """Target spike times (ms) of intensities `x`."""
        x = _intensity(x, self.n_units)
        t0, thr = _leaf(self.first_spike_time, x), _leaf(self.threshold, x)
        if self.linearize:
            tau = _leaf(self.num_steps, x) - 1.0 - t0 if self.normalize else _leaf(self.tau, x)
            return jnp.minimum(-tau * (x - 1.0), -tau * (thr - 1.0)) + t0
        xc = jnp.maximum(x, thr + _leaf(self.eps, x))
        times = jnp.log(xc / (xc - thr)) * _leaf(self.tau, x)
        if self.normalize:
            times = times * ((_leaf(self.num_steps, x) - t0 - 1.0) / jnp.max(times))
        return times + t0

    def init_state(  # type: ignore[override]  # takes the intensities, not a batch shape
        self, x: Float[ArrayLike, "*batch n"], t: Scalar = 0.0
    ) -> LatencyState:
        """Start encoding `x` (ngc-learn's ``calc_spike_times``): compute the spike times."""
        times = self.spike_times(x)
        zeros = jnp.zeros_like(times)
        if self.clip_spikes:
            xa = jnp.asarray(x)
            clip = (xa < _leaf(self.threshold, xa)).astype(times.dtype)
        else:
            clip = zeros
        return LatencyState(
            spike_times=times,
            mask=zeros,
            clip_mask=clip,
            s=zeros,
            tols=zeros,
            t=jnp.asarray(t, times.dtype),
        )

    def __call__(self, state: LatencyState, *, dt: Scalar = 1.0) -> LatencyState:
        """One step: cells whose rounded spike time has been reached and that have not
        spiked yet emit their spike."""
        dt = check_dt(dt, self)
        due = (jnp.round(state.spike_times) <= state.t).astype(state.s.dtype)
        fire = due * (1.0 - state.mask)
        mask = state.mask + (1.0 - state.mask) * fire
        s = fire * (1.0 - state.clip_mask)
        return checked(
            self,
            LatencyState(
                spike_times=state.spike_times,
                mask=mask,
                clip_mask=state.clip_mask,
                s=s,
                tols=_update_tols(state.tols, fire, state.t),
                t=state.t + dt,
            ),
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


class TTFSCell(AbstractEncoder):
    r"""Time-to-first-spike coding over a window of ``num_steps`` steps (ngc-learn's
    ``TTFSCell``): each cell fires once, at step

    - ``"exponential"``: $\mathrm{round}\big((T - 1)\frac{e^{-x} - e^{-1}}{1 - e^{-1}}\big)$
      (intensity 1 fires first, at step 0; intensity 0 last);
    - ``"logarithmic"``: $\mathrm{round}\big((T - 1)\frac{-\ln x}{\max(-\ln 0.01,
      \max(-\ln x))}\big)$, clipped to the window;

    with $x$ clipped to $[10^{-7}, 1]$. ``tau_ref`` (steps) is the refractory count after a
    spike (moot for one spike per cell, kept for ngc-learn compatibility).

    ``tau_ref`` is an integer array leaf (a scalar or one count per unit; ``jax.vmap`` over
    it works, it has no gradient). ``num_steps`` (the window, a count of steps) and
    ``latency_mode`` are static.
    """

    n_units: int = eqx.field(static=True)
    num_steps: int = eqx.field(static=True)
    tau_ref: Int[Array, "..."]
    latency_mode: Literal["exponential", "logarithmic"] = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        num_steps: int = 100,
        tau_ref: int | Int[ArrayLike, "..."] | Float[ArrayLike, "..."] = 5,
        latency_mode: str = "exponential",
    ):
        """**Arguments** (ngc-learn's names and defaults):

        - `n_units`: number of cells (static).
        - `num_steps`: the window in steps, a positive int (static).
        - `tau_ref`: the refractory count (steps) after a spike, ``>= 0``; a scalar or a
          per-unit array of shape ``(n_units,)``, truncated to an integer like ``int()``.
          An integer array leaf.
        - `latency_mode`: ``"exponential"`` or ``"logarithmic"`` (static).
        """
        self.n_units = _check_units(n_units)
        if not isinstance(num_steps, int) or num_steps <= 0:
            raise ValueError(f"`num_steps` must be a positive int, got {num_steps!r}.")
        if latency_mode not in ("exponential", "logarithmic"):
            raise ValueError(
                f"`latency_mode` must be 'exponential' or 'logarithmic', got {latency_mode!r}."
            )
        ref = param(tau_ref, "tau_ref", "nonnegative", n_units=n_units)
        self.num_steps = num_steps
        self.tau_ref = ref.astype(jnp.int32)
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

    def init_state(  # type: ignore[override]  # takes the intensities, not a batch shape
        self, x: Float[ArrayLike, "*batch n"], t: Scalar = 0.0
    ) -> TTFSState:
        """Start encoding `x`."""
        targets = self.target_steps(checked(self, jnp.asarray(x)))
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

    def __call__(self, state: TTFSState, *, dt: Scalar = 1.0) -> TTFSState:
        """One step: cells whose target step is now (and not refractory, not yet fired)
        spike."""
        dt = check_dt(dt, self)
        refractory = jnp.maximum(state.refractory - 1, 0)
        fire = (state.target_steps == state.step) & (refractory == 0) & ~state.has_fired
        s = fire.astype(state.s.dtype)
        return checked(
            self,
            TTFSState(
                target_steps=state.target_steps,
                has_fired=state.has_fired | fire,
                refractory=jnp.where(fire, bcast(self.tau_ref, refractory.ndim), refractory),
                s=s,
                tols=_update_tols(state.tols, s, state.t),
                step=state.step + 1,
                t=state.t + dt,
            ),
        )
