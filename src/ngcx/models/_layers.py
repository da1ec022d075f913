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
from ..cells import GaussianErrorCell, LIFCell, RateCell
from ..initializers import DistributionGenerator
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
    $z$ (the classic PC M-step). The error cell's $\sigma$ is held constant under
    ``jax.grad``.
    """

    synapse: DenseSynapse
    cell: RateCell
    error: GaussianErrorCell
    T: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_latent: int,
        *,
        key: Key,
        T: int = 20,
        tau_m: float = 10.0,
        dt: float = 1.0,
        act_fx: str = "relu",
        prior: tuple[str, float] = ("laplacian", 0.0),
        sigma: float = 1.0,
    ):
        """**Arguments:** `n_in` observed units, `n_latent` latent units, `key`; `T`
        inference steps of `dt` ms with time constant `tau_m`; `act_fx`; `prior`
        ``(name, gamma)`` as :class:`RateCell`; `sigma` the error cell's standard
        deviation."""
        if T <= 0:
            raise ValueError(f"`T` must be positive, got {T}.")
        self.synapse = DenseSynapse(
            (n_latent, n_in), key=key, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        self.cell = RateCell(n_latent, tau_m=tau_m, prior=prior, act_fx=act_fx)
        self.error = GaussianErrorCell(n_in, sigma=sigma)
        self.T, self.dt = int(T), float(dt)

    def infer(self, x: Float[Array, "*batch n_in"]) -> Any:
        """The latent state after ``T`` inference steps (a :class:`RateState`)."""

        error = jax.lax.stop_gradient(self.error)  # sigma is a constant of the layer

        def step(state):
            err = error(self.synapse(state.zF), x)
            return self.cell(state, self.synapse.backtransmit(err.dmu), dt=self.dt)

        state, _ = simulate(step, self.cell.init_state(x.shape[:-1], x.dtype), self.T)
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
        n_lat, n_in = self.synapse.shape
        dW = z.reshape(-1, n_lat).T @ err.dmu.reshape(-1, n_in)
        db = jnp.sum(err.dmu.reshape(-1, n_in), axis=0)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, eqx.filter(self, eqx.is_inexact_array))
        return eqx.tree_at(lambda m: (m.synapse.weights, m.synapse.biases), zeros, (dW, db))


class LIFLayer(eqx.Module):
    r"""A dense layer of LIF neurons: input currents $x_t W + b$ drive :class:`LIFCell` s
    (rest 0, threshold 1, reset 0, time constant ``tau_m`` ms, resistance ``tau_m/dt`` so
    a unit current adds 1 per step) and the layer returns their spike trains. The spikes
    carry ``surrogate_type``'s derivative, so ``jax.grad`` trains the weights by BPTT.
    """

    synapse: DenseSynapse
    cell: LIFCell
    dt: float = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        key: Key,
        tau_m: float = 5.0,
        dt: float = 1.0,
        surrogate_type: str = "arctan",
    ):
        """**Arguments:** sizes, `key`, membrane `tau_m` (ms), step `dt` (ms),
        `surrogate_type` (a name in :data:`ngcx.surrogates.SURROGATES`)."""
        self.synapse = DenseSynapse(
            (n_in, n_out), key=key, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        self.cell = LIFCell(
            n_out, tau_m, resist_m=tau_m / dt, thr=1.0, v_rest=0.0, v_reset=0.0,
            tau_theta=0.0, theta_plus=0.0, refract_time=0.0, surrogate_type=surrogate_type,
        )  # fmt: skip
        self.dt = float(dt)

    def __call__(self, x: Float[Array, "T *batch n_in"]) -> Float[Array, "T *batch n_out"]:
        """Spike trains for an input sequence (leading time axis)."""

        def step(state, x_t):
            return self.cell(state, self.synapse(x_t), dt=self.dt)

        _, spikes = simulate(
            step, self.cell.init_state(x.shape[1:-1], x.dtype), inputs=x, record=lambda s: s.s
        )
        return spikes

    def rates(self, x: Float[Array, "*batch n_in"], T: int) -> Float[Array, "*batch n_out"]:
        """Mean spike count per step when `x` is held for `T` steps."""
        return self(jnp.broadcast_to(x, (T, *x.shape))).mean(0)
