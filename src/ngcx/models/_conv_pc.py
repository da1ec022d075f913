r"""Convolutional predictive coding (convolutional sparse coding) on images.

A latent feature map $z$ of shape ``(batch, h, w, n_features)`` generates the image
through a transposed convolution, $\mu = W \star^\top \phi(z)$
(:class:`DeconvSynapse`, stride 2 by default, so an ``h x w`` code predicts a
``2h x 2w`` image), scored by a :class:`GaussianErrorCell`. The energy is

$$F = \tfrac{1}{2\sigma^2}\lVert x - \mu\rVert^2 + \gamma \sum \rho(z),$$

with the rate cell's prior $\rho$ (Laplacian by default: a sparse code). Inference runs
``T`` steps of the :class:`RateCell` from $z = 0$,
$\tau_m \dot z = -\gamma\rho'(z) + \phi'(z)\odot(W^\top \star e)$ with $e = (x - \mu)/\sigma^2$
back-transmitted through the synapse (gradient descent on $F$); learning is the two-factor
Hebbian rule $\Delta W = \partial_W\langle e, W \star^\top\phi(z)\rangle$ through optax,
followed by a projection of every feature's filter to unit L2 norm (as sparse coding
normalises its dictionary, so the prior cannot be cheated by shrinking codes).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import plasticity
from .._custom_types import Key
from .._params import param
from ..cells import GaussianErrorCell, RateCell
from ..initializers import DistributionGenerator
from ..plasticity import Hebbian
from ..simulation import simulate
from ..synapses import DeconvSynapse


__all__ = ["ConvPC", "ConvPCMetrics", "upsample"]


class ConvPCMetrics(eqx.Module):
    """Per-step figures: ``recon_error`` (mean squared reconstruction error per image,
    summed over pixels, after inference) and ``energy`` (mean free energy per image)."""

    recon_error: Float[Array, ""]
    energy: Float[Array, ""]


class ConvPC(eqx.Module):
    """Convolutional predictive coding / sparse coding model (see the module docstring)."""

    synapse: DeconvSynapse
    cell: RateCell
    rule: Hebbian
    eta: Float[Array, ""]
    sigma: Float[Array, ""]
    dt: Float[Array, ""]
    T: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    normalize_filters: bool = eqx.field(static=True)

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (16, 16, 1),
        n_features: int = 8,
        *,
        key: Key,
        kernel: int | tuple[int, int] = 5,
        stride: int = 2,
        T: int = 40,
        tau_m: Any = 20.0,
        dt: Any = 1.0,
        act_fx: str = "relu",
        prior: tuple[str, Any] = ("laplacian", 0.2),
        eta: Any = 2e-3,
        optim_type: str = "adam",
        sigma: Any = 1.0,
        normalize_filters: bool = True,
    ):
        """**Arguments:**

        - `image_shape`: ``(height, width, channels)``; height and width must be
          divisible by `stride`.
        - `n_features`: number of latent feature maps.
        - `key`: PRNG key. `kernel`: filter size (int or pair). `stride`: up-sampling factor.
        - `T`, `tau_m`, `dt`: inference length, time constant and step (ms).
        - `act_fx`, `prior`: the latent rate cell's activation and ``(prior, gamma)``.
        - `eta`, `optim_type`: Hebbian learning rate and optimiser.
        - `sigma`: standard deviation of the image error cell.
        - `normalize_filters`: project each feature's filter to unit norm after updates
          (a projection in the optax chain, :func:`ngcx.plasticity.normalize_weights`).

        Every number (`tau_m`, `dt`, the prior's gamma, `eta`, `sigma`) is an array leaf.
        """
        h, w, c = (int(v) for v in image_shape)
        if h % stride or w % stride:
            raise ValueError(f"`image_shape` {image_shape} must be divisible by `stride` {stride}.")
        if not isinstance(T, int) or T < 1:
            raise ValueError(f"`T` must be a positive int, got {T!r}.")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.synapse = DeconvSynapse(
            (kh, kw, n_features, c),
            (h // stride, w // stride),
            key=key,
            stride=stride,
            padding="SAME",
            filter_init=DistributionGenerator.gaussian(0.0, 0.1),
        )
        if normalize_filters:
            self.synapse = _unit_filters(self.synapse)
        self.cell = RateCell(n_features, tau_m=tau_m, act_fx=act_fx, prior=prior)
        self.rule = Hebbian()
        self.eta = param(eta, "eta", "nonnegative")
        self.sigma = param(sigma, "sigma", "positive")
        self.dt = param(dt, "dt", "positive")
        self.T = T
        self.optim_type = optim_type
        self.normalize_filters = bool(normalize_filters)

    @property
    def code_shape(self) -> tuple[int, int, int]:
        """Shape of one latent code ``(h, w, n_features)``."""
        assert self.synapse.x_shape is not None
        return (*self.synapse.x_shape, self.synapse.shape[2])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """Shape of one image ``(H, W, c)``."""
        assert self.synapse.x_shape is not None
        (h, w), (sh, sw) = self.synapse.x_shape, self.synapse.stride
        return (h * sh, w * sw, self.synapse.shape[3])

    def _check_images(self, x: Any, name: str, where: str) -> None:
        shape = tuple(getattr(x, "shape", ()))
        if len(shape) != 4 or shape[1:] != self.image_shape:
            expected = "(batch, " + ", ".join(map(str, self.image_shape)) + ")"
            raise ValueError(f"`{name}` of {where} must have shape {expected}, got shape {shape}.")

    @property
    def error(self) -> GaussianErrorCell:
        """The image's Gaussian error cell."""
        return GaussianErrorCell(self.synapse.shape[3], sigma=self.sigma)

    def reconstruct_from(self, z: Float[Array, "batch h w f"]) -> Float[Array, "batch H W c"]:
        """$\\mu = W \\star^\\top \\phi(z)$."""
        return self.synapse(self.cell.with_z(z).zF)

    def infer(
        self, x: Float[Array, "batch H W c"], record_energy: bool = False
    ) -> tuple[Array, Array | None]:
        """``T`` steps of latent inference from $z = 0$; returns ``(z, energies)``."""
        self._check_images(x, "x", "ConvPC.infer")
        err = self.error
        z0 = jnp.zeros((x.shape[0], *self.code_shape), x.dtype)
        hw = self.synapse.x_shape

        def step(z):
            e = err(self.reconstruct_from(z), x)
            j = self.synapse.backtransmit(e.dmu, hw)
            return self.cell(self.cell.with_z(z), j, None, dt=self.dt).z

        record = (lambda z: self.energy(x, z)) if record_energy else None
        return simulate(step, z0, self.T, record=record)

    def energy(self, x: Float[Array, "batch H W c"], z: Float[Array, "batch h w f"]) -> Array:
        """$F$ summed over the batch (Gaussian term plus the prior's penalty)."""
        fit = -self.error(self.reconstruct_from(z), x).L
        gamma = self.cell.prior_gamma
        if self.cell.prior == "laplacian":
            penalty = jnp.sum(jnp.abs(z))
        elif self.cell.prior == "gaussian":
            penalty = 0.5 * jnp.sum(jnp.square(z))
        elif self.cell.prior == "cauchy":
            penalty = jnp.sum(jnp.log1p(jnp.square(z)))
        else:  # exp: rho(z) = -exp(-z^2), rho' = 2 z exp(-z^2)
            penalty = -jnp.sum(jnp.exp(-jnp.square(z)))
        return fit + gamma * penalty

    def reconstruct(self, x: Float[Array, "batch H W c"]) -> Float[Array, "batch H W c"]:
        """Infer the code of ``x`` and return its reconstruction."""
        self._check_images(x, "x", "ConvPC.reconstruct")
        z, _ = self.infer(x)
        return self.reconstruct_from(z)

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain: :func:`ngcx.plasticity.hebbian` ascending the Hebbian rule
        (descending $F$) at rate ``eta`` with ``optim_type``, then (``normalize_filters``)
        the unit-norm projection of every feature's filter."""
        return plasticity.hebbian(
            self.eta,
            self.optim_type,
            sign=1.0,
            normalize=1.0 if self.normalize_filters else None,
            normalize_axis=(0, 1, 3),
            normalize_order=2,
        )

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``self.synapse``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return plasticity.init(opt, self.synapse)

    def train_step(
        self,
        opt_state: Any,
        x: Float[Array, "batch H W c"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[ConvPC, Any, ConvPCMetrics]:
        """Inference, then the Hebbian filter update (and the unit-norm projection)."""
        self._check_images(x, "x", "ConvPC.train_step")
        opt = self.optimizer() if optimizer is None else optimizer
        n = x.shape[0]
        z, _ = self.infer(x)
        phi = self.cell.with_z(z).zF
        mu = self.synapse(phi)
        out = self.error(mu, x)
        updates = self.rule(self.synapse, phi, out.dmu)
        synapse, opt_state = plasticity.apply_updates(self.synapse, updates, opt_state, opt)
        model = eqx.tree_at(lambda m: m.synapse, self, synapse)
        metrics = ConvPCMetrics(
            recon_error=jnp.sum(jnp.square(x - mu)) / n, energy=self.energy(x, z) / n
        )
        return model, opt_state, metrics


def _unit_filters(synapse: DeconvSynapse) -> DeconvSynapse:
    """Scale each input feature's filter ``W[:, :, f, :]`` to unit L2 norm."""
    W = synapse.weights
    norm = jnp.sqrt(jnp.sum(jnp.square(W), axis=(0, 1, 3), keepdims=True))
    return eqx.tree_at(lambda s: s.weights, synapse, W / jnp.maximum(norm, 1e-8))


def upsample(images: Float[Array, "batch h w c"], factor: int) -> Float[Array, "batch H W c"]:
    """Nearest-neighbour up-sampling by an integer ``factor`` (used to enlarge digits)."""
    return jnp.repeat(jnp.repeat(images, factor, axis=1), factor, axis=2)
