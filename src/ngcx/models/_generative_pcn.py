r"""The generative (reconstructive) predictive coding network of ngc-museum's ``pc_recon``.

A hierarchy of latent layers $z_1, \dots, z_L$ (:class:`RateCell` s) generates the data
$x = z_0$ top-down (the "GNCN" family of Ororbia & Kifer's neural generative coding; the
museum's exhibit is its Rao & Ballard form with Olshausen & Field's sparse prior). Each
layer predicts the one below through a :class:`DenseSynapse`,
$\mu_{l-1} = \phi(z_l) W_l$, and an error cell scores the prediction: Gaussian
(:class:`GaussianErrorCell`, standard deviation $\sigma$) for the latents and for the
data, or Bernoulli (:class:`BernoulliErrorCell` on logits, then
$\hat x = \mathrm{sigmoid}(\mu_0)$) for the data. The top layer has only its prior. The
energy (free energy, in nats, summed over a batch) is

$$F = -\log p(x \mid \mu_0) + \sum_{l=1}^{L-1} \tfrac{1}{2\sigma^2}
\lVert z_l - \mu_l\rVert^2 + \sum_{l=1}^{L} \gamma\,\rho(z_l),$$

with the prior $\rho$ of the cells (``"laplacian"`` $\rho(z) = \lvert z\rvert$, the
museum's default with $\gamma = 0.14$; ``"gaussian"`` $z^2/2$; ``"cauchy"``
$\log(1 + z^2)$; ``"exp"`` $1 - e^{-z^2}$). Constant terms of the Gaussian
log-densities are left out.

One training step (:meth:`GenerativePCN.train_step`):

1. **E-step**: from $z_l = 0$, ``T`` Euler steps of the rate cells,
   $\tau_m \dot z_l = \phi'(z_l) \odot (\partial_{\mu} L_{l-1}\, W_l^\top)
   + \partial_{z_l} L_l - \gamma\rho'(z_l) = -\partial F/\partial z_l$: gradient descent
   on $F$ in the latents (the bottom-up error enters through the transposed generative
   weights, as the museum's tied feedback synapses);
2. **M-step**: the :class:`~ngcx.plasticity.Hebbian` rule
   $\Delta W_l = \phi(z_l)^\top\,\partial_{\mu_{l-1}} L_{l-1} = -\partial F/\partial W_l$
   through :func:`ngcx.plasticity.hebbian` (SGD by default), then (``w_norm > 0``) each
   latent unit's generative weights (a row of $W_l$) are rescaled to L2 norm ``w_norm``,
   as the museum's ``norm()``.

Generation: :meth:`GenerativePCN.sample` draws the top latents (from a density fitted to
the inferred top latents, :meth:`GenerativePCN.fit_prior`, a
:class:`ngcx.density.GaussianMixture` as in the GNCN paper; or from the cells' own prior)
and passes them down through the generative weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import activations, plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import is_concrete, is_static_zero, param
from ..cells import BernoulliErrorCell, GaussianErrorCell, RateCell
from ..density import GaussianMixture, Mixture
from ..initializers import DistributionGenerator, Initializer
from ..plasticity import Hebbian
from ..simulation import simulate
from ..synapses import DenseSynapse


__all__ = ["GenerativePCN", "GenerativePCNMetrics"]

_PRIORS = ("laplacian", "gaussian", "cauchy", "exp")


class GenerativePCNMetrics(eqx.Module):
    """Per-step training figures, both per sample and measured after the E-step (before
    the weight update): ``energy`` the free energy $F$, ``recon_error`` the squared error
    $\\lVert x - \\hat x\\rVert^2$ of the reconstruction."""

    energy: Float[Array, ""]
    recon_error: Float[Array, ""]


def _prior_energy(prior: str, z: Array) -> Array:
    """$\\rho(z)$ elementwise, the energy whose derivative is the rate cell's leak."""
    if prior == "laplacian":
        return jnp.abs(z)
    if prior == "gaussian":
        return 0.5 * jnp.square(z)
    if prior == "cauchy":
        return jnp.log1p(jnp.square(z))
    return 1.0 - jnp.exp(-jnp.square(z))  # exp


class GenerativePCN(eqx.Module):
    """Hierarchical generative predictive coding network (see the module docstring).

    Built only from public pieces: ``synapses[l]`` (a :class:`DenseSynapse` of shape
    ``(sizes[l + 1], sizes[l])``, no biases) predicts layer ``l`` from latent layer
    ``l + 1``; ``cells[l]`` (a :class:`RateCell` with the sparse prior) is latent layer
    ``l + 1``; the error cells (:attr:`errors`); the ``rule``
    (:class:`~ngcx.plasticity.Hebbian`) and the learning options of :meth:`optimizer`.

    The numbers ``eta``, ``sigma``, ``dt``, ``w_norm`` and the cells' ``tau_m`` and prior
    strength are array leaves, so ``jax.vmap`` over a sweep of them trains several models
    with one compilation. Methods take a batch (leading axis) or a single sample.
    """

    synapses: tuple[DenseSynapse, ...]
    cells: tuple[RateCell, ...]
    rule: Hebbian
    eta: Float[Array, ""]
    sigma: Float[Array, ""]
    dt: Float[Array, ""]
    w_norm: Float[Array, ""] | None
    T: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    output: Literal["gaussian", "bernoulli"] = eqx.field(static=True)

    def __init__(
        self,
        sizes: Sequence[int] = (64, 128, 64, 32),
        *,
        key: Key,
        T: int = 20,
        tau_m: Any = 20.0,
        dt: Any = 1.0,
        act_fx: str = "relu",
        prior: tuple[str, Any] = ("laplacian", 0.14),
        eta: Any = 0.005,
        optim_type: str = "sgd",
        sigma: Any = 1.0,
        output: str = "gaussian",
        w_norm: Any = 1.0,
        weight_init: Initializer | None = None,
    ):
        r"""**Arguments:**

        - `sizes`: layer sizes from the data up: ``(n_x, n_1, ..., n_L)`` (at least 2).
        - `key`: PRNG key for the weights.
        - `T`: E-step length (static int >= 0); `tau_m` (> 0), `dt` (> 0): the cells'
          time constant and the step (ms), leaves.
        - `act_fx`: the latents' activation $\phi$ (a name in :mod:`ngcx.activations`).
        - `prior`: ``(name, gamma)``, name in ``"laplacian"``, ``"gaussian"``,
          ``"cauchy"``, ``"exp"``, strength ``gamma >= 0`` (every latent layer).
        - `eta` (>= 0), `optim_type` (``"sgd"``, ``"adam"``, ``"nag"``): the M-step's
          learning options (:meth:`optimizer`).
        - `sigma` (> 0): the Gaussian error cells' standard deviation.
        - `output`: the data's error cell, ``"gaussian"`` or ``"bernoulli"`` (static).
        - `w_norm` (>= 0): after each M-step every latent unit's generative weights are
          rescaled to this L2 norm; a concrete 0 leaves it out.
        - `weight_init`: initialiser of every synapse (default: He Gaussian,
          $\mathcal N(0, 2/n_l)$ for the synapse from a layer of $n_l$ units, as the
          museum's).
        """
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"`sizes` needs at least two positive layer sizes, got {sizes}.")
        if not isinstance(T, int) or isinstance(T, bool) or T < 0:
            raise ValueError(f"`T` must be a non-negative int, got {T!r}.")
        if act_fx not in activations.ACTIVATIONS:
            raise ValueError(f"`act_fx`: unknown activation {act_fx!r}.")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        if output not in ("gaussian", "bernoulli"):
            raise ValueError(f"`output` must be 'gaussian' or 'bernoulli', got {output!r}.")
        try:
            prior_name, gamma = prior
        except (TypeError, ValueError):
            raise ValueError(f"`prior` must be a pair (name, gamma), got {prior!r}.") from None
        if prior_name not in _PRIORS:
            raise ValueError(f"`prior` name must be one of {_PRIORS}, got {prior_name!r}.")
        param(tau_m, "tau_m", "positive")
        self.dt = param(dt, "dt", "positive")
        keys = jax.random.split(key, len(sizes) - 1)
        self.synapses = tuple(
            DenseSynapse(
                (n_top, n_bottom),
                key=k,
                weight_init=(
                    DistributionGenerator.gaussian(0.0, math.sqrt(2.0 / n_top))
                    if weight_init is None
                    else weight_init
                ),
            )
            for k, n_bottom, n_top in zip(keys, sizes[:-1], sizes[1:], strict=True)
        )
        self.cells = tuple(
            RateCell(n, tau_m=tau_m, act_fx=act_fx, prior=(prior_name, gamma)) for n in sizes[1:]
        )
        self.rule = Hebbian()
        self.eta = param(eta, "eta", "nonnegative")
        self.sigma = param(sigma, "sigma", "positive")
        self.w_norm = None if is_static_zero(w_norm) else param(w_norm, "w_norm", "nonnegative")
        self.T = T
        self.optim_type = optim_type
        self.output = output  # type: ignore[assignment]

    # -- structure ----------------------------------------------------------------------

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(n_x, n_1, ..., n_L)``."""
        return (self.synapses[0].shape[1],) + tuple(s.shape[0] for s in self.synapses)

    @property
    def errors(self) -> tuple[GaussianErrorCell | BernoulliErrorCell, ...]:
        """The error cell of every predicted layer, data first: Gaussian (``sigma``), or
        Bernoulli on logits for the data with ``output="bernoulli"``."""
        first: GaussianErrorCell | BernoulliErrorCell = (
            BernoulliErrorCell(self.sizes[0], input_logits=True)
            if self.output == "bernoulli"
            else GaussianErrorCell(self.sizes[0], sigma=self.sigma)
        )
        rest = tuple(GaussianErrorCell(n, sigma=self.sigma) for n in self.sizes[1:-1])
        return (first, *rest)

    def _check_x(self, x: Any, where: str) -> None:
        check_features(x, "x", self.sizes[0], where)

    def _check_zs(self, zs: Sequence[Any], x: Array, where: str) -> None:
        if len(zs) != len(self.cells):
            raise ValueError(
                f"{where}: `zs` must hold one array per latent layer ({len(self.cells)}), "
                f"got {len(zs)}."
            )
        for i, (z, n) in enumerate(zip(zs, self.sizes[1:], strict=True)):
            if z.shape != (*x.shape[:-1], n):
                raise ValueError(
                    f"{where}: `zs[{i}]` must have shape {(*x.shape[:-1], n)}, got {z.shape}."
                )

    # -- passes -------------------------------------------------------------------------

    def _outputs(self, zs: Sequence[Array]) -> list[Array]:
        return [cell.with_z(z).zF for cell, z in zip(self.cells, zs, strict=True)]

    def _errors(self, x: Array, zs: Sequence[Array]) -> tuple[list[Array], list[Any]]:
        pre = self._outputs(zs)
        mus = [syn(p) for syn, p in zip(self.synapses, pre, strict=True)]
        targets = [x, *zs[:-1]]
        errs = [err(mu, t) for err, mu, t in zip(self.errors, mus, targets, strict=True)]
        return pre, errs

    def _mean(self, mu0: Array) -> Array:
        return jax.nn.sigmoid(mu0) if self.output == "bernoulli" else mu0

    def _energy(self, x: Array, zs: Sequence[Array]) -> Array:
        _, errs = self._errors(x, zs)
        F = -sum((e.L for e in errs), start=jnp.zeros((), x.dtype))
        for cell, z in zip(self.cells, zs, strict=True):
            F = F + jnp.sum(cell.prior_gamma.astype(z.dtype) * _prior_energy(cell.prior, z))
        return F

    def energy(
        self, x: Float[Array, "*batch n_x"], zs: Sequence[Float[Array, "*batch _"]]
    ) -> Float[Array, ""]:
        """The free energy $F$ (summed over the batch) at latents ``zs`` (one array per
        latent layer, bottom first)."""
        self._check_x(x, "GenerativePCN.energy")
        self._check_zs(zs, x, "GenerativePCN.energy")
        return self._energy(x, zs)

    def predict_data(self, zs: Sequence[Float[Array, "*batch _"]]) -> Float[Array, "*batch n_x"]:
        r"""The data layer's prediction $\hat x$ at latents ``zs`` (the mean: $\mu_0$, or
        $\mathrm{sigmoid}(\mu_0)$ for a Bernoulli output)."""
        return self._mean(self.synapses[0](self.cells[0].with_z(zs[0]).zF))

    def infer(
        self, x: Float[Array, "*batch n_x"], record_energy: bool = False
    ) -> tuple[tuple[Array, ...], Array | None]:
        """E-step: ``T`` steps of the latent rate cells from $z = 0$ with ``x`` clamped.

        **Returns:** ``(zs, energies)``: the settled latents (bottom first) and, with
        `record_energy`, the energy after every step (shape ``(T,)``).
        """
        self._check_x(x, "GenerativePCN.infer")
        zs0 = tuple(cell.init_state(x.shape[:-1], x.dtype).z for cell in self.cells)
        n_latent = len(self.cells)

        def step(zs):
            _, errs = self._errors(x, zs)
            new = []
            for i, (cell, z) in enumerate(zip(self.cells, zs, strict=True)):
                bottom_up = self.synapses[i].backtransmit(errs[i].dmu)
                top_down = errs[i + 1].dtarget if i + 1 < n_latent else None
                new.append(cell(cell.with_z(z), bottom_up, top_down, dt=self.dt).z)
            return tuple(new)

        record = (lambda zs: self._energy(x, zs)) if record_energy else None
        zs, energies = simulate(step, zs0, self.T, record=record)
        return zs, energies

    def reconstruct(self, x: Float[Array, "*batch n_x"]) -> Float[Array, "*batch n_x"]:
        """Infer the latents of ``x`` (E-step), then predict it from them."""
        self._check_x(x, "GenerativePCN.reconstruct")
        zs, _ = self.infer(x)
        return self.predict_data(zs)

    def hebbian_updates(
        self, x: Float[Array, "*batch n_x"], zs: Sequence[Float[Array, "*batch _"]]
    ) -> tuple[DenseSynapse, ...]:
        r"""M-step rule at latents ``zs``: $\Delta W_l = \phi(z_l)^\top
        \partial_{\mu_{l-1}} L_{l-1} = -\partial F/\partial W_l$ (updates shaped like
        ``self.synapses``)."""
        self._check_x(x, "GenerativePCN.hebbian_updates")
        self._check_zs(zs, x, "GenerativePCN.hebbian_updates")
        pre, errs = self._errors(x, zs)
        return self._updates(pre, errs)

    def _updates(self, pre: list[Array], errs: list[Any]) -> tuple[DenseSynapse, ...]:
        layers = zip(self.synapses, pre, errs, strict=True)
        return tuple(self.rule(syn, p, err.dmu) for syn, p, err in layers)

    # -- learning -----------------------------------------------------------------------

    def optimizer(self) -> optax.GradientTransformation:
        """The M-step's optax chain (:func:`ngcx.plasticity.hebbian`, ascending the rule,
        i.e. descending $F$): ``eta``, ``optim_type`` and, with ``w_norm``, the row L2
        normalisation of the weights. One chain over all synapses."""
        return plasticity.hebbian(
            self.eta,
            self.optim_type,
            sign=1.0,
            normalize=self.w_norm,
            normalize_axis=1,
            normalize_order=2,
        )

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``self.synapses``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return plasticity.init(opt, self.synapses)

    def train_step(
        self,
        opt_state: Any,
        x: Float[Array, "batch n_x"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[GenerativePCN, Any, GenerativePCNMetrics]:
        """E-step then M-step on one batch. Pure: returns ``(model, opt_state, metrics)``.

        Jit it once, closing over the optimiser:
        ``step = jax.jit(functools.partial(GenerativePCN.train_step, optimizer=opt))``.
        """
        check_features(x, "x", self.sizes[0], "GenerativePCN.train_step", rank=2)
        opt = self.optimizer() if optimizer is None else optimizer
        n = x.shape[0]
        zs, _ = self.infer(x)
        pre, errs = self._errors(x, zs)
        F = self._energy(x, zs)
        recon = self._mean(self.synapses[0](pre[0]))
        sse = jnp.sum(jnp.square(x - recon))
        updates = self._updates(pre, errs)
        synapses, opt_state = plasticity.apply_updates(self.synapses, updates, opt_state, opt)
        model = eqx.tree_at(lambda m: m.synapses, self, synapses)
        return model, opt_state, GenerativePCNMetrics(energy=F / n, recon_error=sse / n)

    # -- generation ---------------------------------------------------------------------

    def fit_prior(
        self,
        x: Float[Array, "n n_x"],
        *,
        key: Key,
        n_components: int = 10,
        max_iter: int = 50,
    ) -> GaussianMixture:
        """Fit a :class:`ngcx.density.GaussianMixture` of `n_components` (full
        covariances) to the settled top latents $z_L$ of the data ``x`` (``(n, n_x)``):
        the density :meth:`sample` draws the top layer from (the GNCN paper's recipe)."""
        check_features(x, "x", self.sizes[0], "GenerativePCN.fit_prior", rank=2)
        zs, _ = self.infer(x)
        gmm = GaussianMixture(n_components, max_iter=max_iter, init_kmeans=True, key=key, reg=1e-4)
        return gmm.fit(zs[-1])

    def sample(self, key: Key, n: int, prior: Mixture | None = None) -> Float[Array, "n n_x"]:
        r"""Ancestral samples: draw $n$ top latents $z_L$ from `prior` (a fitted density of
        :mod:`ngcx.density`, e.g. from :meth:`fit_prior`) or, with ``None``, from the
        cells' own prior ($\propto e^{-\gamma\rho(z)}$: Laplace with scale $1/\gamma$, or
        Gaussian with variance $1/\gamma$); then pass them down,
        $z_{l-1} = \phi(z_l) W_l$ (the predicted means), and return $\hat x$ (shape
        ``(n, n_x)``; probabilities for a Bernoulli output)."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"`n` must be a positive int, got {n!r}.")
        top = self.cells[-1]
        if prior is not None:
            z = prior.sample(n, key=key)
        else:
            if top.prior not in ("laplacian", "gaussian"):
                raise ValueError(
                    f"GenerativePCN.sample: the cells' prior {top.prior!r} has no sampler here; "
                    "pass `prior` (e.g. model.fit_prior(x, key=k))."
                )
            gamma = top.prior_gamma
            if is_concrete(gamma) and bool(jnp.any(gamma <= 0)):
                raise ValueError(
                    "GenerativePCN.sample: the top cells' prior strength is 0 (an improper "
                    "prior); pass `prior` (e.g. model.fit_prior(x, key=k))."
                )
            shape = (n, top.n_units)
            dtype = self.synapses[-1].weights.dtype
            if top.prior == "laplacian":
                z = jax.random.laplace(key, shape, dtype) / gamma.astype(dtype)
            else:
                z = jax.random.normal(key, shape, dtype) / jnp.sqrt(gamma.astype(dtype))
        z = z.astype(self.synapses[-1].weights.dtype)
        for level in range(len(self.cells) - 1, -1, -1):
            z = self.synapses[level](self.cells[level].with_z(z).zF)
        return self._mean(z)
