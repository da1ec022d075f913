r"""Drop-in Equinox layers built from ngcx cells: a predictive coding layer whose forward
pass is PC inference, and a spiking LIF layer trained through its surrogate.

Both are ordinary ``eqx.Module`` s with array parameters, so they sit inside any Equinox
model and train end to end with ``eqx.filter_grad`` and optax (``jax.grad`` runs through
the inference loop and through the spikes), or locally with their own rules.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._custom_types import Key
from .._params import param
from ..cells import GaussianErrorCell, LIFCell, RateCell
from ..initializers import DistributionGenerator
from ..plasticity import Hebbian
from ..simulation import simulate
from ..synapses import DenseSynapse


__all__ = ["PCLayer", "LIFLayer"]


class PCLayer(eqx.Module):
    r"""A generative predictive coding layer: latents $z \in \mathbb{R}^{n_z}$ explain the
    input $x \in \mathbb{R}^{n_x}$ through $\hat x = \phi(z) W + b$, and the forward pass is
    inference: ``T`` steps of the :class:`RateCell` dynamics

    $$\tau_m \frac{dz}{dt} = -\gamma\,\rho'(z) + \phi'(z)\odot (e\,W^\top), \qquad
    e = (x - \hat x)/\sigma^2,$$

    gradient descent on $F = \tfrac{1}{2\sigma^2}\lVert x - \hat x\rVert^2 + \gamma\rho(z)$
    from $z = 0$ (``prior = (name, gamma)``, ``act_fx`` $\phi$, ``tau_m`` and ``dt`` in
    ms). :meth:`__call__` returns $\phi(z_T)$. Train it by backpropagating through the
    loop, or locally: :meth:`hebbian_updates` is $-\partial F/\partial W$ at the inferred
    $z$ (the classic PC M-step, the :class:`~ngcx.plasticity.Hebbian` rule). The error
    cell's $\sigma$ is held constant under ``jax.grad``; so are the rate cell's constants
    and ``dt`` unless ``learn_dynamics=True`` (then ``jax.grad`` reaches ``tau_m`` and the
    prior's gamma as well).
    """

    synapse: DenseSynapse
    cell: RateCell
    error: GaussianErrorCell
    dt: Float[Array, ""]
    T: int = eqx.field(static=True)
    learn_dynamics: bool = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_latent: int,
        *,
        key: Key,
        T: int = 20,
        tau_m: Any = 10.0,
        dt: Any = 1.0,
        act_fx: str = "relu",
        prior: tuple[str, Any] = ("laplacian", 0.0),
        sigma: Any = 1.0,
        learn_dynamics: bool = False,
    ):
        """**Arguments:** `n_in` observed units, `n_latent` latent units, `key`; `T`
        inference steps of `dt` ms (> 0) with time constant `tau_m`; `act_fx`; `prior`
        ``(name, gamma)`` as :class:`RateCell`; `sigma` the error cell's standard
        deviation; `learn_dynamics`: let ``jax.grad`` reach the cell's constants."""
        if not isinstance(T, int) or isinstance(T, bool) or T <= 0:
            raise ValueError(f"`T` must be a positive int, got {T!r}.")
        self.synapse = DenseSynapse(
            (n_latent, n_in), key=key, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        self.cell = RateCell(n_latent, tau_m=tau_m, prior=prior, act_fx=act_fx)
        self.error = GaussianErrorCell(n_in, sigma=sigma)
        self.dt = param(dt, "dt", "positive")
        self.T = T
        self.learn_dynamics = bool(learn_dynamics)

    def infer(self, x: Float[Array, "*batch n_in"]) -> Any:
        """The latent state after ``T`` inference steps (a :class:`RateState`)."""

        error = jax.lax.stop_gradient(self.error)  # sigma is a constant of the layer
        cell, dt = self.cell, jax.lax.stop_gradient(self.dt)
        if not self.learn_dynamics:
            cell = jax.lax.stop_gradient(cell)

        def step(state):
            err = error(self.synapse(state.zF), x)
            return cell(state, self.synapse.backtransmit(err.dmu), dt=dt)

        state, _ = simulate(step, cell.init_state(x.shape[:-1], x.dtype), self.T)
        return state

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_latent"]:
        """$\\phi(z_T)$ for the input `x`."""
        return self.infer(x).zF

    def energy(self, x: Float[Array, "*batch n_in"]) -> Float[Array, ""]:
        """The prediction error part of $F$ at the inferred latents (summed over the
        batch)."""
        return -self.error(self.synapse(self(x)), x).L

    def hebbian_updates(self, x: Float[Array, "*batch n_in"]) -> PCLayer:
        """$-\\partial F/\\partial(W, b)$ at the inferred latents, shaped like the layer
        (other leaves zero): ascend it (or descend its negative) with optax."""
        z = jax.lax.stop_gradient(self(x))
        err = self.error(self.synapse(z), x)
        upd = Hebbian()(self.synapse, z, err.dmu)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, eqx.filter(self, eqx.is_inexact_array))
        return eqx.tree_at(
            lambda m: (m.synapse.weights, m.synapse.biases), zeros, (upd.weights, upd.biases)
        )


class LIFLayer(eqx.Module):
    r"""A dense layer of LIF neurons: input currents $x_t W + b$ drive :class:`LIFCell` s
    (rest 0, threshold 1, reset 0, time constant ``tau_m`` ms, resistance ``tau_m/dt`` so
    a unit current adds 1 per step) and the layer returns their spike trains. The spikes
    carry ``surrogate_type``'s derivative, so ``jax.grad`` trains the weights by BPTT. The
    cell's constants and ``dt`` are held constant under ``jax.grad`` unless
    ``learn_dynamics=True``, when the membrane time constant and the threshold (per neuron)
    are trained too: the leak $1 - \Delta t/\tau_m$ is learned with the input gain kept
    at 1 per step (parametric LIF; $\tau_m$ clamped to at least ``dt``).
    """

    synapse: DenseSynapse
    cell: LIFCell
    dt: Float[Array, ""]
    learn_dynamics: bool = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        key: Key,
        tau_m: Any = 5.0,
        dt: Any = 1.0,
        surrogate_type: str = "arctan",
        learn_dynamics: bool = False,
    ):
        """**Arguments:** sizes, `key`, membrane `tau_m` (ms), step `dt` (ms),
        `surrogate_type` (a name in :data:`ngcx.surrogates.SURROGATES`),
        `learn_dynamics` (per-neuron `tau_m` and threshold trained by ``jax.grad``)."""
        self.dt = param(dt, "dt", "positive")
        if learn_dynamics:
            tau_m = jnp.full((n_out,), tau_m, dtype=jnp.result_type(float))
        self.synapse = DenseSynapse(
            (n_in, n_out), key=key, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        thr = jnp.ones((n_out,)) if learn_dynamics else 1.0
        self.cell = LIFCell(
            n_out, tau_m, resist_m=tau_m / dt, thr=thr, v_rest=0.0, v_reset=0.0,
            tau_theta=0.0, theta_plus=0.0, refract_time=0.0, surrogate_type=surrogate_type,
        )  # fmt: skip
        self.learn_dynamics = bool(learn_dynamics)

    def _cell(self) -> LIFCell:
        dt = jax.lax.stop_gradient(self.dt)
        if not self.learn_dynamics:
            return jax.lax.stop_gradient(self.cell)
        frozen = jax.lax.stop_gradient(self.cell)
        tau = jnp.maximum(self.cell.tau_m, dt)
        return eqx.tree_at(
            lambda c: (c.tau_m, c.resist_m, c.thr), frozen, (tau, tau / dt, self.cell.thr)
        )

    def __call__(self, x: Float[Array, "T *batch n_in"]) -> Float[Array, "T *batch n_out"]:
        """Spike trains for an input sequence (leading time axis)."""
        cell, dt = self._cell(), jax.lax.stop_gradient(self.dt)

        def step(state, x_t):
            return cell(state, self.synapse(x_t), dt=dt)

        _, spikes = simulate(
            step, cell.init_state(x.shape[1:-1], x.dtype), inputs=x, record=lambda s: s.s
        )
        return spikes

    def rates(self, x: Float[Array, "*batch n_in"], T: int) -> Float[Array, "*batch n_out"]:
        """Mean spike count per step when `x` is held for `T` steps."""
        return self(jnp.broadcast_to(x, (T, *x.shape))).mean(0)
