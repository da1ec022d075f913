r"""A reward-prediction-error cell (ngc-learn's ``RewardErrorCell``)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import ParamLike, Scalar
from .._params import is_concrete, param
from ._base import AbstractCell
from ._common import at as _at, check_dt, check_units as _check_units, checked, current as _current


__all__ = ["RewardErrorState", "RewardErrorCell"]


class RewardErrorState(eqx.Module):
    """State of a :class:`RewardErrorCell`: the reward prediction ``mu``, the last reward
    prediction error ``rpe`` and the episode's accumulated reward ``accum_reward`` (each
    ``(*batch, n_units)``), and the episode's step count ``n_ep_steps`` ``(*batch, 1)``."""

    mu: Float[Array, "*batch n"]
    rpe: Float[Array, "*batch n"]
    accum_reward: Float[Array, "*batch n"]
    n_ep_steps: Float[Array, "*batch 1"]


class RewardErrorCell(AbstractCell):
    r"""Reward prediction error with an exponential-moving-average predictor (ngc-learn's
    ``RewardErrorCell``). Each step, for the reward $r_t$,

    $$\delta_t = r_t - \mu_t, \qquad
      \mu_{t+1} = (1 - \alpha)\,\mu_t + \alpha\, r_t \;\;(\text{with }
      \texttt{use\_online\_predictor}), \qquad
      R \leftarrow R + r_t, \quad n \leftarrow n + 1,$$

    so ``rpe`` $\delta_t$ is the error of the prediction made *before* seeing $r_t$, and
    with a constant reward $r$ the prediction approaches it as
    $\mu_t = r\,(1 - (1 - \alpha)^t)$. At the end of an episode :meth:`evolve` moves the
    prediction towards the episode's mean reward with window $L$ (``ema_window_len``):

    $$\mu \leftarrow (1 - 1/L)\,\mu + \frac1L\,\frac{R}{\max(n, 1)} .$$

    :meth:`start_episode` clears $R$, $n$ and $\delta$ and keeps $\mu$ (``init_state``
    clears everything, like ngc-learn's ``reset``).

    $\alpha$ and $L$ are array leaves (scalars or one value per unit): ``jax.vmap`` over a
    sweep of them and ``jax.grad`` of the errors with respect to them work.
    ``use_online_predictor`` is static.

    Differences from ngc-learn: its ``evolve`` updates $\mu$ only *with*
    ``use_online_predictor``, so with ``use_online_predictor=False`` the prediction never
    moves from zero, contrary to its docstring (prediction "only upon a call to
    ``evolve``"); ngcx's :meth:`evolve` updates $\mu$ in both modes (with the default,
    online mode it equals ngc-learn's). ngc-learn divides by $n$ even when $n = 0$ (a NaN);
    ngcx divides by $\max(n, 1)$. There is no ``batch_size``: the state has any leading
    axes.

    ```python
    cell = RewardErrorCell(1, alpha=0.1)
    state = cell.init_state((batch,))
    state = cell(state, reward)          # reward: (batch, 1); state.rpe is the RPE
    state = cell.start_episode(cell.evolve(state))   # at the end of an episode
    ```
    """

    n_units: int = eqx.field(static=True)
    alpha: Float[Array, "..."]
    ema_window_len: Float[Array, "..."]
    use_online_predictor: bool = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        alpha: ParamLike,
        ema_window_len: ParamLike = 10,
        use_online_predictor: bool = True,
    ):
        """**Arguments** (ngc-learn's names and defaults):

        - `n_units`: number of cells (static).
        - `alpha`: the per-step moving-average rate, in $[0, 1]$; a scalar or a per-unit
          array of shape ``(n_units,)``, an array leaf.
        - `ema_window_len`: the episodic moving-average window $L \\ge 1$ used by
          :meth:`evolve`; a scalar or a per-unit array, an array leaf.
        - `use_online_predictor`: update the prediction every step (static).
        """
        self.n_units = _check_units(n_units)
        self.alpha = param(alpha, "alpha", "unit", n_units=n_units)
        self.ema_window_len = param(ema_window_len, "ema_window_len", "positive", n_units=n_units)
        if is_concrete(ema_window_len) and np.any(np.asarray(ema_window_len) < 1):
            raise ValueError(
                f"`ema_window_len` must be >= 1, got {np.asarray(ema_window_len).tolist()}."
            )
        self.use_online_predictor = bool(use_online_predictor)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32
    ) -> RewardErrorState:
        """Everything zero (ngc-learn's ``reset``)."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return RewardErrorState(
            mu=zeros,
            rpe=zeros,
            accum_reward=zeros,
            n_ep_steps=jnp.zeros((*batch_shape, 1), dtype),
        )

    def __call__(
        self,
        state: RewardErrorState,
        reward: Float[ArrayLike, "..."],
        *,
        dt: Scalar = 1.0,
    ) -> RewardErrorState:
        """One step (ngc-learn's ``advance_state``).

        **Arguments:** `state`; `reward` the reward of this step, broadcastable to the
        state's shape; `dt` (ms) is accepted for a uniform cell interface and unused.

        **Returns:** the new :class:`RewardErrorState`; its ``rpe`` is $r_t - \\mu_t$.
        """
        dt = check_dt(dt, self)
        del dt
        mu = state.mu
        r = _current(reward, mu, "reward")
        rpe = r - mu
        if self.use_online_predictor:
            mu = mu + _at(self.alpha, mu) * rpe
        return checked(
            self,
            RewardErrorState(
                mu=mu,
                rpe=rpe,
                accum_reward=state.accum_reward + r,
                n_ep_steps=state.n_ep_steps + 1.0,
            ),
        )

    def evolve(self, state: RewardErrorState) -> RewardErrorState:
        """Move the prediction towards the episode's mean reward (ngc-learn's ``evolve``;
        see the class docstring). The accumulator and step count are kept."""
        mu = state.mu
        mean_reward = state.accum_reward / jnp.maximum(state.n_ep_steps, 1.0)
        w = _at(1.0 / self.ema_window_len, mu)
        return RewardErrorState(
            mu=mu + w * (mean_reward - mu),
            rpe=state.rpe,
            accum_reward=state.accum_reward,
            n_ep_steps=state.n_ep_steps,
        )

    def start_episode(self, state: RewardErrorState) -> RewardErrorState:
        """A new episode: ``rpe``, ``accum_reward`` and ``n_ep_steps`` cleared, the
        prediction ``mu`` kept."""
        zeros = jnp.zeros_like(state.mu)
        return RewardErrorState(
            mu=state.mu,
            rpe=zeros,
            accum_reward=zeros,
            n_ep_steps=jnp.zeros_like(state.n_ep_steps),
        )
