r"""A phasor encoder: near-regular spike trains from a rotating phase (ngc-learn's
``PhasorCell``)."""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import Key, ParamLike, Scalar
from .._params import is_static_zero, param
from ._base import AbstractEncoder
from ._common import (
    at as _at,
    check_dt,
    check_units as _check_units,
    checked,
    current as _current,
    update_tols as _update_tols,
)


__all__ = ["PhasorState", "PhasorCell"]

_TWO_PI = 2.0 * math.pi


class PhasorState(eqx.Module):
    """State of a :class:`PhasorCell`: spikes ``s`` of the last step, the phases
    ``angles`` (rad), time of last spike ``tols`` (ms), all ``(*batch, n_units)``, and the
    clock ``t`` (ms)."""

    s: Float[Array, "*batch n"]
    angles: Float[Array, "*batch n"]
    tols: Float[Array, "*batch n"]
    t: Float[Array, ""]


class PhasorCell(AbstractEncoder):
    r"""A phasor cell (ngc-learn's ``PhasorCell``): each cell's phase $\theta$ turns at a
    rate set by its input and emits a spike each time it passes a full turn, so an input
    $x$ gives a nearly regular train at about $x\,f$ Hz (``target_freq`` $f$). Per step of
    ``dt`` ms,

    $$\theta \leftarrow \theta + \omega\, b\,(1 + \sigma\epsilon)\, x, \qquad
      \omega = 2\pi f \Delta t / 1000, \qquad
      s = 1[\theta > 2\pi], \qquad \theta \leftarrow \theta - 2\pi s,$$

    with $\epsilon \sim \mathcal N(0, 1)$ drawn per cell and step (the jitter, scale
    ``scatter_std`` $\sigma$) and a fixed per-cell speed $b \sim \mathrm{Poisson}(f)/f$
    (``base_scale``, mean 1) drawn once at construction from ``key``. At most one spike per
    step: keep $f\Delta t/1000 \le 1$. With ``disable_phasor=True`` the cell passes its
    input through as its output (``s = x``; the phases still turn).

    $f$, $\sigma$ and $b$ are array leaves (``base_scale`` one value per unit): the spikes
    have no gradient, but the phases are differentiable in $f$, $\sigma$ and $b$, and
    ``jax.vmap`` over a sweep of them works. ``disable_phasor`` is static.

    Differences from ngc-learn: ngc-learn draws $b$ per batch row and unit (its state has a
    fixed ``batch_size``); ngcx draws one $b$ per unit, shared by every batch element, so a
    cell keeps its speed whatever the batch. Without a construction ``key``, $b = 1$ (a
    phasor without per-cell speed differences). The jitter scale $\sigma$ (fixed to 0.2 in
    ngc-learn) is an argument, and the per-step noise takes an explicit ``key`` (not needed
    when ``scatter_std`` is a concrete zero). With ``disable_phasor`` and a non-binary
    input, ngc-learn's time of last spike blends ``tols * (1 - x) + t * x``; ngcx records
    ``t`` wherever the input is non-zero (the same for spike inputs).

    ```python
    enc = PhasorCell(10, target_freq=50.0, key=jax.random.key(0))
    state = enc.init_state((batch,))
    def step(state, key):
        state = enc(state, x, key=key, dt=1.0)
        return state, state.s
    state, spikes = jax.lax.scan(step, state, jax.random.split(key, T))
    ```
    """

    n_units: int = eqx.field(static=True)
    target_freq: Float[Array, "..."]
    scatter_std: Float[Array, "..."]
    base_scale: Float[Array, " n"]
    disable_phasor: bool = eqx.field(static=True)
    noiseless: bool = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        target_freq: ParamLike = 63.75,
        disable_phasor: bool = False,
        *,
        scatter_std: ParamLike = 0.2,
        key: Key | None = None,
    ):
        """**Arguments** (ngc-learn's names and defaults, plus `scatter_std` and `key`):

        - `n_units`: number of cells (static).
        - `target_freq`: the rate $f$ (Hz) of an input of 1, ``> 0``; a scalar or a
          per-unit array of shape ``(n_units,)``, an array leaf.
        - `disable_phasor`: pass the input through as the output (static).
        - `scatter_std`: the per-step jitter scale $\\sigma$, ``>= 0`` (scalar or per-unit).
        - `key`: a PRNG key for the per-cell speeds $b \\sim \\mathrm{Poisson}(f)/f$;
          ``None`` gives $b = 1$.
        """
        self.n_units = _check_units(n_units)
        self.target_freq = param(target_freq, "target_freq", "positive", n_units=n_units)
        self.scatter_std = param(scatter_std, "scatter_std", "nonnegative", n_units=n_units)
        self.disable_phasor = bool(disable_phasor)
        self.noiseless = is_static_zero(scatter_std)
        f = jnp.broadcast_to(self.target_freq, (n_units,))
        if key is None:
            self.base_scale = jnp.ones((n_units,), f.dtype)
        else:
            self.base_scale = jax.random.poisson(key, f, (n_units,)).astype(f.dtype) / f

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32, t: Scalar = 0.0
    ) -> PhasorState:
        """No spikes, every phase at zero; clock at `t` ms."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return PhasorState(s=zeros, angles=zeros, tols=zeros, t=jnp.asarray(t, dtype))

    def __call__(
        self,
        state: PhasorState,
        x: Float[ArrayLike, "..."],
        *,
        key: Key | None = None,
        dt: Scalar = 1.0,
    ) -> PhasorState:
        """One step.

        **Arguments:**

        - `state`: the current :class:`PhasorState`.
        - `x`: the input intensities, broadcastable to the state's shape.
        - `key`: a PRNG key for this step's jitter (split it per step); may be omitted only
          when ``scatter_std`` is a concrete zero.
        - `dt`: the step (ms).

        **Returns:** the new :class:`PhasorState`.
        """
        dt = check_dt(dt, self)
        angles = state.angles
        x = _current(x, angles, "x")
        dt_a = jnp.asarray(dt, angles.dtype)
        omega = _at(self.target_freq * self.base_scale, angles) * (dt_a * (_TWO_PI / 1000.0))
        if self.noiseless:
            speed = omega
        else:
            if key is None:
                raise ValueError(
                    "`key` is required: this PhasorCell has a non-zero scatter_std (pass "
                    "key=, split per step)."
                )
            eps = jax.random.normal(key, angles.shape, angles.dtype)
            speed = omega * (1.0 + _at(self.scatter_std, angles) * eps)
        angles = angles + speed * x
        crossed = angles > _TWO_PI
        s = crossed.astype(angles.dtype)
        angles = jnp.where(crossed, angles - _TWO_PI, angles)
        if self.disable_phasor:
            s = x
        return checked(
            self,
            PhasorState(
                s=s, angles=angles, tols=_update_tols(state.tols, s, state.t), t=state.t + dt_a
            ),
        )
