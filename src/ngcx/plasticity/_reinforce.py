r"""REINFORCE for a Gaussian policy read out by a synapse (ngc-learn's
``REINFORCESynapse`` rule; Williams 1992), with an explicit PRNG key and explicit running
statistics.

The synapse is an ordinary map with $2 n_{\text{act}}$ outputs: for inputs $x$, the
first half of $u = g(x)\,W$ is the mean's pre-activation $m$, the second half the
log-standard-deviation's $\ell$ ($g$ = ``act_fx``). The policy is

$$\mu = f(m), \qquad \sigma = e^{\operatorname{clip}(\ell, -10, 2)}
\ (\text{or a fixed } \sigma_0 \text{ when ``scalar_stddev`` } > 0), \qquad
a \sim \mathcal N(\mu, \sigma^2),$$

with $f$ = ``mu_act_fx`` and the action clipped to ``[mu_out_min, mu_out_max]``. The rule
is the score-function (policy-gradient) ascent direction of the mean reward
$J = \kappa\,\tfrac1B\sum_b r_b \log\pi(a_b \mid x_b)$ ($\kappa$ = ``scale``; rewards are
usually centred, $r - \hat r$), written over the synapse's contraction:

$$\Delta W = \frac{\kappa\,\rho}{B}\, C\Big(g(x),\ r \odot
\big[\tfrac{a - \mu}{\sigma^2} f'(m),\ \big(\tfrac{(a - \mu)^2}{\sigma^2} - 1\big)
\mathbb 1[-10 \le \ell \le 2]\big]\Big)$$

($\rho$ the synapse's ``resist_scale``; the log-std half is zero with a fixed $\sigma_0$).
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import activations
from .._custom_types import Key
from .._params import is_concrete, is_static_one, param
from ..synapses import AbstractSynapse
from ._rules import AbstractRule, _check_synapse


__all__ = ["REINFORCE", "REINFORCEState"]

S = TypeVar("S", bound=AbstractSynapse)

_LOGSTD_MIN, _LOGSTD_MAX = -10.0, 2.0


class REINFORCEState(eqx.Module):
    r"""The running statistics of ngc-learn's ``REINFORCESynapse`` (a value the caller
    carries; :meth:`REINFORCE.init_state`, :meth:`REINFORCE.state_step`).

    **Fields:** ``accumulated_gradients``, weight-shaped: a decayed running mean of the
    updates, $G \leftarrow \tfrac{k-1}{k}\gamma\, G + \tfrac1k \Delta W$ ($k$ the
    steps since learning last happened, $\gamma$ = ``decay``); ``step_count`` $k$ (a
    float scalar), reset to 0 at every step where learning happens."""

    accumulated_gradients: Array
    step_count: Float[Array, ""]


class REINFORCE(AbstractRule):
    r"""Gaussian-policy REINFORCE over a synapse with $2 n_{\text{act}}$ outputs (see the
    module docstring for the maths; ngc-learn's ``REINFORCESynapse`` rule).

    - :meth:`policy` gives $(\mu, \sigma)$, :meth:`sample` draws an action with an
      explicit `key`;
    - ``rule(synapse, x, action, reward)`` returns the ascent direction $\Delta W$ shaped
      like the synapse (no bias update);
    - :meth:`objective` is ngc-learn's loss $-J$ (for monitoring; :math:`\Delta W =
      -\partial(-J)/\partial W`, tested against autodiff);
    - :meth:`init_state` / :meth:`state_step` carry ngc-learn's running statistics
      (:class:`REINFORCEState`).
    """

    scale: Float[Array, ""]
    decay: Float[Array, ""]
    scalar_stddev: Float[Array, ""]
    mu_out_min: Float[Array, ""] | None
    mu_out_max: Float[Array, ""] | None
    act_fx: str = eqx.field(static=True)
    mu_act_fx: str = eqx.field(static=True)
    learn_std: bool = eqx.field(static=True)

    def __init__(
        self,
        act_fx: str | None = None,
        mu_act_fx: str | None = None,
        mu_out_min: Any = -math.inf,
        mu_out_max: Any = math.inf,
        scalar_stddev: Any = -1.0,
        decay: Any = 0.99,
        scale: Any = 1.0,
    ):
        r"""**Arguments:**

        - `act_fx`: name of the activation $g$ of the inputs (default identity; static).
        - `mu_act_fx`: name of the activation $f$ of the mean (default identity; static).
        - `mu_out_min`, `mu_out_max`: bounds of the sampled action ($\pm\infty$: none;
          an infinite bound is left out statically).
        - `scalar_stddev`: a fixed $\sigma_0 > 0$, or $\le 0$ to learn $\log\sigma$ from
          the second half of the weights.
        - `decay`: $\gamma$ of the running statistics ($\ge 0$).
        - `scale`: $\kappa$, the objective's scale (ngc-learn's builder uses $10^{-2}$).
        """
        self.act_fx = "identity" if act_fx is None else act_fx
        self.mu_act_fx = "identity" if mu_act_fx is None else mu_act_fx
        activations.create_function(self.act_fx)  # validates the names
        activations.create_function(self.mu_act_fx)
        self.mu_out_min = self._bound(mu_out_min, "mu_out_min", -1)
        self.mu_out_max = self._bound(mu_out_max, "mu_out_max", 1)
        self.scalar_stddev = param(scalar_stddev, "scalar_stddev")
        # a concrete scalar_stddev <= 0 learns the log-std; a traced one decides at run time
        self.learn_std = not is_concrete(scalar_stddev) or float(scalar_stddev) <= 0.0
        self.decay = param(decay, "decay", "nonnegative")
        self.scale = param(scale, "scale")

    @staticmethod
    def _bound(value: Any, name: str, side: int) -> Array | None:
        if is_concrete(value) and jnp.ndim(value) == 0:
            v = float(value)
            if math.isinf(v):
                if (v > 0) != (side > 0):
                    raise ValueError(f"`{name}` must not be {v}.")
                return None
        return param(value, name)

    def _split(self, synapse: AbstractSynapse, x: Any) -> tuple[Array, Array, Array]:
        """``(g(x), m, l)``: activated inputs and the two pre-activation halves."""
        _check_synapse(synapse)
        n2 = synapse.weights.shape[-1]
        if n2 % 2:
            raise ValueError(
                f"a REINFORCE synapse needs an even number of outputs (mean and log-std), "
                f"got weights of shape {synapse.weights.shape}."
            )
        g = activations.create_function(self.act_fx)[0](jnp.asarray(x))
        u = synapse(g)
        m, ell = jnp.split(u, 2, axis=-1)
        return g, m, ell

    def _std(self, ell: Array) -> Array:
        std = jnp.exp(jnp.clip(ell, _LOGSTD_MIN, _LOGSTD_MAX))
        s0 = self.scalar_stddev.astype(ell.dtype)
        if not self.learn_std:
            return jnp.full_like(ell, 1.0) * s0
        if is_concrete(self.scalar_stddev):
            return std
        return jnp.where(s0 <= 0, std, s0)

    def policy(self, synapse: AbstractSynapse, x: Any) -> tuple[Array, Array]:
        """``(mu, sigma)`` of the Gaussian policy for inputs `x` (each ``(*batch,
        n_act)``)."""
        _, m, ell = self._split(synapse, x)
        return activations.create_function(self.mu_act_fx)[0](m), self._std(ell)

    def _clip_action(self, a: Array) -> Array:
        if self.mu_out_min is None and self.mu_out_max is None:
            return a
        return jnp.clip(a, self.mu_out_min, self.mu_out_max)

    def sample(self, synapse: AbstractSynapse, x: Any, *, key: Key) -> Array:
        """An action $a = \\operatorname{clip}(\\mu + \\sigma\\epsilon)$,
        $\\epsilon \\sim \\mathcal N(0, 1)$ drawn with `key`; shape ``(*batch, n_act)``."""
        mu, std = self.policy(synapse, x)
        eps = jax.random.normal(key, mu.shape, mu.dtype)
        return self._clip_action(mu + std * eps)

    def log_prob(self, synapse: AbstractSynapse, x: Any, action: Any) -> Array:
        """$\\log\\pi(a \\mid x)$ summed over the action units, shape ``(*batch,)``."""
        mu, std = self.policy(synapse, x)
        a = jnp.asarray(action, mu.dtype)
        var = jnp.square(std)
        return -0.5 * jnp.sum(jnp.log(2 * jnp.pi * var) + jnp.square(a - mu) / var, axis=-1)

    def objective(self, synapse: AbstractSynapse, x: Any, action: Any, reward: Any) -> Array:
        """ngc-learn's loss $-\\kappa\\,\\overline{r \\log\\pi(a \\mid x)}$ (a scalar)."""
        lp = self.log_prob(synapse, x, action)
        r = jnp.asarray(reward, lp.dtype)
        return -jnp.mean(lp * r) * self.scale.astype(lp.dtype)

    def delta(self, synapse: AbstractSynapse, x: Any, action: Any, reward: Any) -> Array:
        """The weight-shaped ascent direction $\\Delta W$ (module docstring)."""
        g, m, ell = self._split(synapse, x)
        f, df = activations.create_function(self.mu_act_fx)
        mu, std = f(m), self._std(ell)
        a = jnp.asarray(action, mu.dtype)
        if a.shape != mu.shape:
            raise ValueError(f"`action` must have shape {mu.shape}, got {a.shape}.")
        r = jnp.asarray(reward, mu.dtype)
        if r.shape != mu.shape[:-1]:
            raise ValueError(
                f"`reward` must have shape {mu.shape[:-1]} (one per sample), got {r.shape}."
            )
        n = max(int(math.prod(mu.shape[:-1])), 1)
        coef = (r * (self.scale.astype(mu.dtype) / n))[..., None]
        var = jnp.square(std)
        z = a - mu
        g_mu = coef * (z / var) * df(m)
        if self.learn_std:
            inside = (ell >= _LOGSTD_MIN) & (ell <= _LOGSTD_MAX)
            g_ls = coef * (jnp.square(z) / var - 1.0) * inside.astype(mu.dtype)
            if not is_concrete(self.scalar_stddev):
                g_ls = jnp.where(self.scalar_stddev <= 0, g_ls, 0.0)
        else:
            g_ls = jnp.zeros_like(g_mu)
        dW = synapse.contract(g, jnp.concatenate([g_mu, g_ls], axis=-1))
        rs = synapse.resist_scale
        return dW if is_static_one(rs) else dW * rs.astype(dW.dtype)

    def __call__(self, synapse: S, x: Any, action: Any, reward: Any) -> S:
        """**Arguments:** `synapse` (outputs $2 n_{\\text{act}}$); `x`: inputs ``(*batch,
        n_in)``; `action`: the actions taken ``(*batch, n_act)``; `reward`: one (centred)
        reward per sample ``(*batch,)``. **Returns:** updates shaped like `synapse`."""
        return synapse.updates(self.delta(synapse, x, action, reward))

    def init_state(self, synapse: AbstractSynapse) -> REINFORCEState:
        """Zero running statistics for `synapse`."""
        _check_synapse(synapse)
        w = synapse.weights
        return REINFORCEState(jnp.zeros_like(w), jnp.zeros((), w.dtype))

    def state_step(self, state: REINFORCEState, dW: Array, learned: Any = True) -> REINFORCEState:
        r"""Advance the running statistics with the step's $\Delta W$ (``updates.weights``);
        `learned` (bool or 0/1, possibly traced) marks a step whose update was applied:
        then $k$ resets to 0 (ngc-learn's ``learning_mask``)."""
        G = state.accumulated_gradients
        k = state.step_count + 1.0
        G = (k - 1.0) / k * G * self.decay.astype(G.dtype) + dW / k
        mask = jnp.asarray(learned, k.dtype)
        return REINFORCEState(G, k * (1.0 - mask))
