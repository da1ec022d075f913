r"""Sparse coding (Olshausen & Field 1996): ngc-museum's ``olshausen_sc`` exhibit.

A patch $x \in \mathbb R^{n}$ is explained by a sparse code $z \in \mathbb R^{k}$ through
a dictionary $W \in \mathbb R^{k \times n}$ (one unit-norm *atom* per row),
$\hat x = z W$, under the energy (summed over a batch)

$$E(z, W) = \tfrac12\lVert x - zW\rVert^2 + \lambda \sum_j \rho(z_j), \qquad
\rho(z) = \begin{cases}\log(1 + z^2) & \text{Cauchy prior (``"cauchy"``)}\\
\lvert z\rvert & \text{Laplacian prior (``"laplacian"``)}\end{cases}$$

(the negative log-posterior of a Gaussian likelihood with unit variance and a factorial
Cauchy or Laplacian prior, up to constants). One training step (:meth:`SparseCoding.train_step`):

1. **inference** (E-step): the latent :class:`~ngcx.cells.RateCell` starts at $z = 0$
   and runs ``T`` steps of size $\beta = dt/\tau_m$. With the error
   $e = x - zW$ (a :class:`~ngcx.cells.GaussianErrorCell`, $\sigma = 1$) fed back through
   the dictionary's transpose,
   - Cauchy: $z \leftarrow z + \beta\,(eW^\top - \lambda\,\tfrac{2z}{1+z^2})$, gradient
     descent on $E$ (the cell's ``prior = ("cauchy", \lambda)``);
   - Laplacian: $z \leftarrow S_{\beta\lambda}(z + \beta\,eW^\top)$ with the soft
     threshold $S_\theta(u) = \operatorname{sign}(u)\max(\lvert u\rvert - \theta, 0)$: ISTA
     (Daubechies, Defrise & De Mol 2004), the proximal-gradient method for the $\ell_1$
     energy (the cell's ``threshold = ("soft_threshold", \beta\lambda)``). It decreases
     $E$ when $\beta \le 1/\lVert W\rVert_2^2$.
2. **learning** (M-step): the :class:`~ngcx.plasticity.Hebbian` rule with the code as
   presynaptic and the error as postsynaptic activity, $\Delta W = z^\top e =
   -\partial E/\partial W$ (summed over the batch; tested against ``jax.grad``), through
   the optax chain :func:`ngcx.plasticity.hebbian` (SGD by default), which ends with the
   projection of every atom back onto the unit sphere, $w_j \leftarrow w_j/\lVert
   w_j\rVert_2$ (without it the energy is lowered by growing $W$ and shrinking $z$).

The museum's setup (the defaults here and of ``ngcx train sparse-coding``): 16x16
whitened patches, 100 atoms, batches of 250 patches, ``T = 300``, $\tau_m = 20$ ms,
$dt = 1$ ms, $\eta = 10^{-2}$; Cauchy $\lambda = 0.14$; ISTA's threshold $5\cdot
10^{-3}$ per step, i.e. $\lambda = 5\cdot 10^{-3}/\beta = 0.1$. The museum calls the
ISTA variant ``"ista"``; ngcx names the prior it optimises.

:func:`orientation_selectivity` and :func:`localisation` measure what the learned atoms
look like (oriented, localised edge detectors, like simple cells in V1), against random
atoms.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import param
from ..cells import GaussianErrorCell, RateCell
from ..initializers import Initializer
from ..plasticity import Hebbian
from ..simulation import simulate
from ..synapses import DenseSynapse


__all__ = [
    "SparseCoding",
    "SparseCodingMetrics",
    "orientation_selectivity",
    "localisation",
    "hoyer_sparsity",
]

#: The museum's prior weights: Cauchy lambda 0.14; ISTA threshold 5e-3 per step at
#: beta = dt / tau_m = 0.05, i.e. lambda = 0.1.
_DEFAULT_LMBDA = {"cauchy": 0.14, "laplacian": 0.1}


class SparseCodingMetrics(eqx.Module):
    """Per-step training figures, after inference and before the dictionary update:
    ``energy`` (mean $E$ per patch), ``recon_error`` (relative,
    $\\sum\\lVert x - \\hat x\\rVert^2/\\sum\\lVert x\\rVert^2$) and ``sparsity`` (the
    mean :func:`hoyer_sparsity` of the codes)."""

    energy: Float[Array, ""]
    recon_error: Float[Array, ""]
    sparsity: Float[Array, ""]


def hoyer_sparsity(z: Float[ArrayLike, "*batch k"]) -> Float[Array, "*batch"]:
    r"""Hoyer's (2004) sparsity of each code,
    $\big(\sqrt k - \lVert z\rVert_1/\lVert z\rVert_2\big)/(\sqrt k - 1)$: 1 for a code
    with one non-zero entry, 0 for one with all entries equal in magnitude (an all-zero
    code counts as 1). Scale-free, so it compares the Cauchy and the Laplacian model."""
    z = jnp.asarray(z)
    k = z.shape[-1]
    if k < 2:
        raise ValueError(f"`z` needs at least 2 units on its last axis, got shape {z.shape}.")
    l1 = jnp.sum(jnp.abs(z), axis=-1)
    l2 = jnp.sqrt(jnp.sum(jnp.square(z), axis=-1))
    ratio = l1 / jnp.where(l2 > 0, l2, 1.0)
    root = math.sqrt(k)
    return jnp.where(l2 > 0, (root - ratio) / (root - 1.0), 1.0)


class SparseCoding(eqx.Module):
    """Sparse coding with a Cauchy or Laplacian (ISTA) prior (see the module docstring).

    Built only from public pieces: the ``dictionary`` (a :class:`DenseSynapse` of shape
    ``(n_latent, n_in)``, no biases; its rows are the atoms), the ``latent``
    :class:`RateCell` (identity activation; its prior or threshold is set from
    ``lmbda`` at every use), the Gaussian error cell (:attr:`error`), the ``rule``
    (:class:`~ngcx.plasticity.Hebbian`) and the learning options of :meth:`optimizer`.
    ``eta``, ``lmbda`` and ``dt`` (and the cell's ``tau_m``) are array leaves, so
    ``jax.vmap`` over a sweep of them compiles once.

    Use one patch or a batch: every method takes ``x`` of shape ``(*batch, n_in)``.
    """

    dictionary: DenseSynapse
    latent: RateCell
    rule: Hebbian
    eta: Float[Array, ""]
    lmbda: Float[Array, ""]
    dt: Float[Array, ""]
    T: int = eqx.field(static=True)
    prior: str = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_latent: int = 100,
        *,
        key: Key,
        prior: str = "cauchy",
        lmbda: Any = None,
        T: int = 300,
        tau_m: Any = 20.0,
        dt: Any = 1.0,
        eta: Any = 1e-2,
        optim_type: str = "sgd",
        weight_init: Initializer | None = None,
    ):
        """**Arguments:**

        - `n_in`: patch size $n$ (pixels); `n_latent`: number of atoms $k$.
        - `key`: PRNG key of the initial dictionary (fan-in Gaussian by default, each
          atom then scaled to unit norm).
        - `prior`: ``"cauchy"`` (gradient dynamics) or ``"laplacian"`` (ISTA).
        - `lmbda`: the prior's weight $\\lambda \\ge 0$ (default: the museum's, 0.14 for
          Cauchy and 0.1 for Laplacian).
        - `T`: inference steps (static, >= 0); `tau_m` (> 0), `dt` (> 0): the latent
          cell's time constant and step (ms), $\\beta = dt/\\tau_m$.
        - `eta` (>= 0), `optim_type` (``"sgd"``, ``"adam"``, ``"nag"``): the dictionary's
          learning rate and optimiser.
        - `weight_init`: initialiser of the dictionary (before the normalisation).
        """
        for name, value in (("n_in", n_in), ("n_latent", n_latent)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 2:
                raise ValueError(f"`{name}` must be an int >= 2, got {value!r}.")
        if prior not in _DEFAULT_LMBDA:
            raise ValueError(f"`prior` must be 'cauchy' or 'laplacian', got {prior!r}.")
        if isinstance(T, bool) or not isinstance(T, int) or T < 0:
            raise ValueError(f"`T` must be a non-negative int, got {T!r}.")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        dictionary = DenseSynapse((int(n_latent), int(n_in)), key=key, weight_init=weight_init)
        W = dictionary.weights
        W = W / jnp.maximum(jnp.linalg.norm(W, axis=1, keepdims=True), 1e-12)
        self.dictionary = eqx.tree_at(lambda s: s.weights, dictionary, W)
        self.lmbda = param(
            _DEFAULT_LMBDA[prior] if lmbda is None else lmbda, "lmbda", "nonnegative"
        )
        self.dt = param(dt, "dt", "positive")
        if prior == "cauchy":
            self.latent = RateCell(
                int(n_latent), tau_m=tau_m, act_fx="identity", prior=("cauchy", 0.0)
            )
        else:
            self.latent = RateCell(
                int(n_latent), tau_m=tau_m, act_fx="identity", threshold=("soft_threshold", 0.0)
            )
        self.rule = Hebbian()
        self.eta = param(eta, "eta", "nonnegative")
        self.T = T
        self.prior = prior
        self.optim_type = optim_type

    # -- structure --------------------------------------------------------------------

    @property
    def n_in(self) -> int:
        return self.dictionary.shape[1]

    @property
    def n_latent(self) -> int:
        return self.dictionary.shape[0]

    @property
    def atoms(self) -> Float[Array, "n_latent n_in"]:
        """The dictionary's atoms, one per row (unit L2 norm)."""
        return self.dictionary.weights

    @property
    def error(self) -> GaussianErrorCell:
        """The Gaussian error cell of the input ($\\sigma = 1$)."""
        return GaussianErrorCell(self.n_in)

    @property
    def cell(self) -> RateCell:
        """The latent cell with its prior (Cauchy: the leak $\\lambda\\rho'(z)$) or its
        threshold (Laplacian: $\\beta\\lambda$) set from ``lmbda``."""
        cell = self.latent
        if self.prior == "cauchy":
            return eqx.tree_at(
                lambda c: c.prior_gamma, cell, self.lmbda.astype(cell.prior_gamma.dtype)
            )
        theta = self.lmbda * self.dt / cell.tau_m
        return eqx.tree_at(
            lambda c: c.threshold_lmbda, cell, theta.astype(cell.threshold_lmbda.dtype)
        )

    # -- energy and inference -----------------------------------------------------------

    def _check(self, x: Any, name: str, where: str) -> None:
        check_features(x, name, self.n_in, where)

    def reconstruct_from(
        self, z: Float[ArrayLike, "*batch n_latent"]
    ) -> Float[Array, "*batch n_in"]:
        """$\\hat x = zW$."""
        return self.dictionary(self.latent.with_z(jnp.asarray(z)).zF)

    def energy(
        self, x: Float[ArrayLike, "*batch n_in"], z: Float[ArrayLike, "*batch n_latent"]
    ) -> Float[Array, ""]:
        r"""$E(z, W)$ summed over the batch (module docstring)."""
        self._check(x, "x", "SparseCoding.energy")
        x, z = jnp.asarray(x), jnp.asarray(z)
        recon = -self.error(self.reconstruct_from(z), x).L
        if self.prior == "cauchy":
            penalty = jnp.sum(jnp.log1p(jnp.square(z)))
        else:
            penalty = jnp.sum(jnp.abs(z))
        return recon + self.lmbda.astype(z.dtype) * penalty

    def infer(
        self, x: Float[ArrayLike, "*batch n_in"], record_energy: bool = False
    ) -> tuple[Float[Array, "*batch n_latent"], Array | None]:
        """Inference: ``T`` steps of the latent cell from $z = 0$ (module docstring).

        **Returns:** ``(z, energies)``: the codes and, with `record_energy`, $E$ after
        every step (shape ``(T,)``).
        """
        self._check(x, "x", "SparseCoding.infer")
        x = jnp.asarray(x)
        cell, err_cell = self.cell, self.error
        state0 = cell.init_state(x.shape[:-1], x.dtype)

        def step(state):
            err = err_cell(self.dictionary(state.zF), x)
            return cell(state, self.dictionary.backtransmit(err.dmu), dt=self.dt)

        record = (lambda s: self.energy(x, s.z)) if record_energy else None
        state, energies = simulate(step, state0, self.T, record=record)
        return state.z, energies

    def encode(self, x: Float[ArrayLike, "*batch n_in"]) -> Float[Array, "*batch n_latent"]:
        """The codes of `x` (:meth:`infer` without the energies)."""
        return self.infer(x)[0]

    def reconstruct(self, x: Float[ArrayLike, "*batch n_in"]) -> Float[Array, "*batch n_in"]:
        """$\\hat x = zW$ at the inferred codes of `x`."""
        return self.reconstruct_from(self.encode(x))

    # -- learning -------------------------------------------------------------------------

    def hebbian_updates(
        self, x: Float[ArrayLike, "*batch n_in"], z: Float[ArrayLike, "*batch n_latent"]
    ) -> DenseSynapse:
        """The rule $\\Delta W = z^\\top e = -\\partial E/\\partial W$ at codes `z`, shaped
        like ``self.dictionary``."""
        self._check(x, "x", "SparseCoding.hebbian_updates")
        x, z = jnp.asarray(x), jnp.asarray(z)
        zF = self.latent.with_z(z).zF
        err = self.error(self.dictionary(zF), x)
        return self.rule(self.dictionary, zF, err.dmu)

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of the dictionary: :func:`ngcx.plasticity.hebbian` ascending
        the rule at rate ``eta`` with ``optim_type``, then the projection of every atom
        (row) onto the unit sphere."""
        return plasticity.hebbian(
            self.eta, self.optim_type, sign=1.0, normalize=1.0, normalize_axis=1, normalize_order=2
        )

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``self.dictionary``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return plasticity.init(opt, self.dictionary)

    def metrics(
        self, x: Float[ArrayLike, "batch n_in"], z: Float[ArrayLike, "batch n_latent"]
    ) -> SparseCodingMetrics:
        """:class:`SparseCodingMetrics` of patches `x` at codes `z`."""
        self._check(x, "x", "SparseCoding.metrics")
        x, z = jnp.asarray(x), jnp.asarray(z)
        resid = x - self.reconstruct_from(z)
        power = jnp.sum(jnp.square(x))
        rel = jnp.sum(jnp.square(resid)) / jnp.where(power > 0, power, 1.0)
        return SparseCodingMetrics(
            energy=self.energy(x, z) / x.shape[0],
            recon_error=rel,
            sparsity=jnp.mean(hoyer_sparsity(z)),
        )

    def train_step(
        self,
        opt_state: Any,
        x: Float[ArrayLike, "batch n_in"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[SparseCoding, Any, SparseCodingMetrics]:
        """Inference then one dictionary update on a batch of patches. Pure: returns
        ``(model, opt_state, metrics)``; jit it once, closing over the optimiser:
        ``step = jax.jit(functools.partial(SparseCoding.train_step, optimizer=opt))``."""
        check_features(x, "x", self.n_in, "SparseCoding.train_step", rank=2)
        x = jnp.asarray(x)
        opt = self.optimizer() if optimizer is None else optimizer
        z, _ = self.infer(x)
        metrics = self.metrics(x, z)
        updates = self.hebbian_updates(x, z)
        dictionary, opt_state = plasticity.apply_updates(self.dictionary, updates, opt_state, opt)
        return eqx.tree_at(lambda m: m.dictionary, self, dictionary), opt_state, metrics


# -- what the atoms look like -------------------------------------------------------------


def _tiles(filters: Any, patch_shape: tuple[int, int], where: str) -> np.ndarray:
    f = np.asarray(filters, dtype=np.float64)
    try:
        h, w = (int(v) for v in patch_shape)
    except (TypeError, ValueError):
        raise ValueError(f"`patch_shape` must be a pair (h, w), got {patch_shape!r}.") from None
    if f.ndim != 2 or f.shape[1] != h * w or h < 2 or w < 2:
        raise ValueError(
            f"`filters` of {where} must have shape (n_filters, {h * w}) for patch_shape "
            f"{patch_shape!r} (h, w >= 2), got {f.shape}."
        )
    return f.reshape(-1, h, w)


def orientation_selectivity(filters: Any, patch_shape: tuple[int, int], pad: int = 2) -> np.ndarray:
    r"""How concentrated each filter's power spectrum is around one orientation.

    With the power $P(k) = \lvert\hat w(k)\rvert^2$ of the filter's 2-D Fourier transform
    (zero-padded `pad`-fold for a finer angular grid; the DC term left out) and the angle
    $\theta_k$ of frequency $k$, the index is the length of the mean doubled-angle vector,

    $$\mathrm{OSI} = \frac{\lvert\sum_k P(k)\,e^{2i\theta_k}\rvert}{\sum_k P(k)} \in [0, 1]$$

    (one minus the circular variance of the spectral orientation; the angle is doubled
    because $k$ and $-k$ carry the same orientation). A grating, an edge or a Gabor
    function has its power on one line through the origin: close to 1. A random
    (white-noise) filter spreads its power over all orientations: of order
    $1/\sqrt{\text{pixels}}$ (about 0.1 for 8x8). The square grid is symmetric under
    90-degree rotations, so a flat spectrum scores exactly 0.

    **Arguments:** `filters` of shape ``(n_filters, h * w)`` (rows, row-major);
    `patch_shape` ``(h, w)``; `pad` the zero-padding factor (>= 1).

    **Returns:** a NumPy array of shape ``(n_filters,)``.
    """
    tiles = _tiles(filters, patch_shape, "orientation_selectivity")
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 1:
        raise ValueError(f"`pad` must be an int >= 1, got {pad!r}.")
    h, w = tiles.shape[1:]
    spec = np.abs(np.fft.fft2(tiles, s=(pad * h, pad * w))) ** 2
    ky = np.fft.fftfreq(pad * h)[:, None]
    kx = np.fft.fftfreq(pad * w)[None, :]
    phase = np.exp(2j * np.arctan2(ky, kx))
    spec[:, 0, 0] = 0.0
    total = spec.sum(axis=(1, 2))
    vec = np.abs((spec * phase).sum(axis=(1, 2)))
    return np.where(total > 0, vec / np.where(total > 0, total, 1.0), 0.0)


def localisation(filters: Any, patch_shape: tuple[int, int]) -> np.ndarray:
    r"""How concentrated each filter's energy is in space.

    With the energy distribution $p(r) = w(r)^2/\sum_r w(r)^2$ over pixel positions $r$,
    its centroid $\bar r$ and spread $s = \sqrt{\sum_r p(r)\lVert r - \bar r\rVert^2}$,
    the index is

    $$\mathrm{LOC} = 1 - s/s_{\text{flat}},$$

    with $s_{\text{flat}} = \sqrt{((h^2 - 1) + (w^2 - 1))/12}$ the spread of energy spread
    evenly over the patch. A white-noise filter scores near 0 (its energy is everywhere),
    a filter whose energy sits in a small blob near 1, an edge across the whole patch
    about $1 - 1/\sqrt2 \approx 0.3$ (spread along the edge, none across it).

    **Arguments:** `filters` of shape ``(n_filters, h * w)``; `patch_shape` ``(h, w)``.

    **Returns:** a NumPy array of shape ``(n_filters,)``.
    """
    tiles = _tiles(filters, patch_shape, "localisation")
    h, w = tiles.shape[1:]
    energy = tiles**2
    total = energy.sum(axis=(1, 2))
    p = energy / np.where(total > 0, total, 1.0)[:, None, None]
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    mr = (p * rows).sum(axis=(1, 2))
    mc = (p * cols).sum(axis=(1, 2))
    var = (p * ((rows - mr[:, None, None]) ** 2 + (cols - mc[:, None, None]) ** 2)).sum(axis=(1, 2))
    flat = math.sqrt(((h * h - 1) + (w * w - 1)) / 12.0)
    return np.where(total > 0, 1.0 - np.sqrt(var) / flat, 0.0)
