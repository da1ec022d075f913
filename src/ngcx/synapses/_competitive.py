r"""Competitive synapses: codebooks that respond by competition between their units.

A competitive synapse holds a codebook $W \in \mathbb R^{n_{\text{in}} \times n}$, one
prototype (memory, category) $w_j = W_{:, j}$ per unit, and responds to an input
$x \in \mathbb R^{n_{\text{in}}}$ through a match score $a_j(x)$ per unit (a negative
distance or a similarity): the best-matching unit (BMU) $c(x) = \arg\max_j a_j(x)$ and what
each component builds from it (a neighbourhood, a one-hot code, a resonance, an attention
over memories). Learning lives in :mod:`ngcx.plasticity` (``SOM``, ``Hopfield``,
``VectorQuantize``, ``ART2A`` and ngc-learn's ``SOMSynapse``, ``HopfieldSynapse``,
``VectorQuantizeSynapse``, ``ART2ASynapse`` builders); the maps here are pure.

Every map is an :class:`ngcx.synapses.AbstractSynapse` (so :func:`ngcx.plasticity.plastic`
and optax see its ``weights``) under :class:`AbstractCompetitiveSynapse`, which fixes the
parts of the synapse contract that a competitive map shares:

- ``scores(x)``: $a(x)$, shape ``(*batch, n_units)`` (larger is a better match);
- ``bmu(x)``: $c(x)$, integer ``(*batch,)``; ``winners(x)``: its one-hot code;
- ``backtransmit(code)``: the decoder $\text{code}\,W^\top$ (the winning prototype for a
  one-hot code; the retrieved pattern for Hopfield's attention). A competitive map is not
  linear in $x$, so this is the transpose of its linear part, not a derivative;
- ``contract(pre, post)``: $\sum_{\text{batch}} \text{pre}^\top \text{post}$ (one matrix
  product), the correlation every competitive rule is written over;
- ``bias_contract(post)``: $\sum_{\text{batch}} \text{post}$ per unit (the competitive
  rules use it for their $-W \operatorname{diag}(\sum_b h_b)$ terms).

The maps have no biases (``biases`` is ``None``). Euclidean and cosine distances and
every similarity are one matrix product; the Manhattan, Chebyshev and general Minkowski
distances have no matrix-product form and broadcast a ``(batch, n_in, n_units)``
difference (as ngc-learn does for every distance).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from .._custom_types import Key
from .._params import param
from .._shapes import left_pad_rank as _pad
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse
from ._dense import outer_sum


__all__ = [
    "AbstractCompetitiveSynapse",
    "SOMMap",
    "HopfieldMap",
    "VectorQuantizeMap",
    "ART2AMap",
]


def _unit(x: Array) -> Array:
    """Rows of `x` divided by their L2 norm; an all-zero row stays zero (not 0/0 = NaN),
    with a finite gradient."""
    n = jnp.linalg.norm(x, axis=-1, keepdims=True)
    return x / jnp.where(n > 0, n, 1.0)


def _check_shape(shape: Any, name: str = "shape") -> tuple[int, int]:
    shape = tuple(shape) if isinstance(shape, tuple | list) else shape
    if (
        not isinstance(shape, tuple)
        or len(shape) != 2
        or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in shape)
    ):
        raise ValueError(f"`{name}` must be two positive ints (n_in, n_units), got {shape!r}.")
    return shape


def _codebook(
    key: Key,
    shape: tuple[int, ...],
    weight_init: Initializer | None,
    p_conn: Any,
    dtype: Any,
) -> Array:
    """ngc-learn's dense initialisation: ``weight_init`` (default uniform on
    $[0.025, 0.8]$), then, for $0 < p_{\\text{conn}} < 1$, a fixed random mask zeroing
    each entry with probability $1 - p_{\\text{conn}}$ (at initialisation only)."""
    wkey, mkey = jax.random.split(key)
    init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
    W = init(wkey, shape, dtype)
    p = param(p_conn, "p_conn", "unit_open")
    if not (isinstance(p_conn, int | float) and float(p_conn) == 1.0):
        W = jnp.where(jax.random.bernoulli(mkey, p, shape), W, jnp.zeros_like(W))
    return W


def _softmax(a: Array) -> Array:
    return jax.nn.softmax(a, axis=-1)


def _euclidean(x: Array, xw: Array, W: Array) -> Array:
    r"""$\lVert x - w_j\rVert_2$ from $\lVert x\rVert^2 - 2 x\cdot w_j + \lVert w_j\rVert^2$: one
    matrix product (`xw`), never a ``(batch, n_in, n_units)`` array."""
    sq = jnp.sum(x * x, axis=-1, keepdims=True) - 2.0 * xw + _pad(jnp.sum(W * W, axis=0), xw.ndim)
    return jnp.sqrt(jnp.maximum(sq, 0.0))


class AbstractCompetitiveSynapse(AbstractSynapse):
    r"""A codebook $W$ of shape ``(n_in, n_units)`` that responds by competition (see the
    module docstring). Concrete maps declare ``weights``, ``biases`` (``None``) and
    ``resist_scale`` and implement :meth:`scores` and ``__call__``."""

    @abc.abstractmethod
    def scores(self, x: Any) -> Array:
        """Match score of every unit for ``x`` (larger is better), ``(*batch, n_units)``."""

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_units)``."""
        n_in, n = self.weights.shape
        return int(n_in), int(n)

    @property
    def n_units(self) -> int:
        """The number of units (prototypes, memories, categories)."""
        return int(self.weights.shape[1])

    def _check_width(self, x: Any, size: int, name: str) -> None:
        if not hasattr(x, "shape") or x.ndim == 0 or x.shape[-1] != size:
            raise ValueError(
                f"`{name}` must end in {size} units for a synapse of shape {self.shape}, "
                f"got shape {getattr(x, 'shape', type(x).__name__)}."
            )

    def bmu(self, x: Float[Array, "*batch n_in"]) -> Int[Array, "*batch"]:
        r"""The best-matching unit $c(x) = \arg\max_j a_j(x)$ (the first on ties)."""
        return jnp.argmax(self.scores(x), axis=-1)

    def winners(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """The one-hot code of :meth:`bmu` (the weights' dtype)."""
        return jax.nn.one_hot(self.bmu(x), self.n_units, dtype=self.weights.dtype)

    def backtransmit(self, post: Float[Array, "*batch n_units"]) -> Float[Array, "*batch n_in"]:
        r"""The decoder $\text{post}\,W^\top$ (a one-hot code gives its prototype)."""
        self._check_width(post, self.shape[1], "post")
        return post @ self.weights.T

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_units"]
    ) -> Float[Array, "n_in n_units"]:
        r"""$\sum_{\text{batch}} \text{pre}^\top \text{post}$ (one matrix product)."""
        self._check_width(pre, self.shape[0], "pre")
        self._check_width(post, self.shape[1], "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        return outer_sum(pre, post)

    def bias_contract(self, post: Float[Array, "*batch n_units"]) -> Float[Array, " n_units"]:
        r"""$\sum_{\text{batch}} \text{post}$, one value per unit."""
        self._check_width(post, self.shape[1], "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)


# -- the self-organising map ----------------------------------------------------------


def _grid(n_x: int, n_y: int, dtype: Any) -> Array:
    """Coordinates $(i, j)$ of unit $k = i\\,n_y + j$ on an $n_x \\times n_y$ grid."""
    i, j = jnp.meshgrid(jnp.arange(n_x), jnp.arange(n_y), indexing="ij")
    return jnp.stack([i.reshape(-1), j.reshape(-1)], axis=-1).astype(dtype)


class SOMMap(AbstractCompetitiveSynapse):
    r"""A self-organising (Kohonen) map: $n = n_x n_y$ prototypes on a rectangular grid
    (unit $k = i\,n_y + j$ at grid coordinates $p_k = (i, j)$; $n_y = 1$ is a 1-D chain).

    - distance $d_j(x)$: Euclidean $\lVert x - w_j\rVert_2$, Manhattan
      $\lVert x - w_j\rVert_1$ or cosine $1 - x\cdot w_j / (\lVert x\rVert\lVert w_j\rVert)$;
      ``scores`` $= -d$ and the BMU $c = \arg\min_j d_j$;
    - neighbourhood of the BMU at radius $\sigma$, with $\delta_j = \lVert p_j - p_c\rVert$:
      Gaussian $h_j = e^{-\delta_j^2 / 2\sigma^2}$ or Ricker (Mexican hat)
      $h_j = \max\big(0, e^{-\delta_j^2/2\sigma^2}(1 - \delta_j^2/\sigma^2)\big)$;
    - output $y = \operatorname{softmax}(r\,h)$ (ngc-learn's ``outputs``; ``resist_scale``
      $r$).

    The radius is an argument (learning shrinks it: :class:`ngcx.plasticity.SOM`); the
    ``radius`` field is the initial one, used when none is given. This is the map of
    ngc-learn's ``SOMSynapse`` (the learning is :func:`ngcx.plasticity.SOMSynapse`).
    """

    weights: Float[Array, "n_in n_units"]
    biases: None
    resist_scale: Float[Array, ""]
    coords: Float[Array, "n_units 2"]
    radius: Float[Array, ""]
    n_units_x: int = eqx.field(static=True)
    n_units_y: int = eqx.field(static=True)
    distance_function: str = eqx.field(static=True)
    neighbor_function: str = eqx.field(static=True)

    def __init__(
        self,
        n_inputs: int,
        n_units_x: int,
        n_units_y: int,
        *,
        key: Key,
        distance_function: str = "euclidean",
        neighbor_function: str = "gaussian",
        weight_init: Initializer | None = None,
        resist_scale: Any = 1.0,
        p_conn: Any = 1.0,
        radius: Any = None,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `n_inputs`: input size $n_{\\text{in}}$.
        - `n_units_x`, `n_units_y`: the grid ($n_y = 1$: a 1-D map).
        - `key`: PRNG key of the initialiser (and of the `p_conn` mask).
        - `distance_function`: ``"euclidean"``, ``"manhattan"`` or ``"cosine"``.
        - `neighbor_function`: ``"gaussian"`` or ``"ricker"``.
        - `weight_init`: initialiser (default uniform on $[0.025, 0.8]$, ngc-learn's).
        - `resist_scale`: $r$ (ngc-learn's ``g_conduct_factor``), scales the softmax input.
        - `p_conn`: density of a random initial mask, in $(0, 1]$.
        - `radius`: initial neighbourhood radius $> 0$ (default $\\max(n_x, n_y)/2$).
        - `dtype`: parameter dtype.
        """
        for name, value in (
            ("n_inputs", n_inputs),
            ("n_units_x", n_units_x),
            ("n_units_y", n_units_y),
        ):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
        if distance_function not in ("euclidean", "manhattan", "cosine"):
            raise ValueError(
                "`distance_function` must be 'euclidean', 'manhattan' or 'cosine', "
                f"got {distance_function!r}."
            )
        if neighbor_function not in ("gaussian", "ricker"):
            raise ValueError(
                f"`neighbor_function` must be 'gaussian' or 'ricker', got {neighbor_function!r}."
            )
        shape = (n_inputs, n_units_x * n_units_y)
        self.weights = _codebook(key, shape, weight_init, p_conn, dtype)
        self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")
        self.coords = _grid(n_units_x, n_units_y, self.weights.dtype)
        r0 = max(n_units_x, n_units_y) / 2.0 if radius is None else radius
        self.radius = param(r0, "radius", "positive")
        self.n_units_x = n_units_x
        self.n_units_y = n_units_y
        self.distance_function = distance_function
        self.neighbor_function = neighbor_function

    def distances(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """$d_j(x)$ for every unit (see the class docstring)."""
        self._check_width(x, self.shape[0], "x")
        W = self.weights
        if self.distance_function == "manhattan":
            return jnp.sum(jnp.abs(x[..., :, None] - _pad(W, x.ndim + 1)), axis=-2)
        xw = x @ W
        if self.distance_function == "cosine":
            nx = jnp.linalg.norm(x, axis=-1, keepdims=True)
            nw = _pad(jnp.linalg.norm(W, axis=0), xw.ndim)
            denom = nx * nw  # a zero input or codebook vector: similarity 0, not 0/0
            return 1.0 - xw / jnp.where(denom > 0, denom, 1.0)
        return _euclidean(x, xw, W)

    def scores(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """$-d(x)$."""
        return -self.distances(x)

    def neighbourhood(
        self, bmu: Int[ArrayLike, "*batch"], radius: Any = None
    ) -> Float[Array, "*batch n_units"]:
        r"""$h_j$ around the unit(s) `bmu` at `radius` $\sigma$ (default: ``radius``)."""
        sigma = self.radius if radius is None else jnp.asarray(radius, self.weights.dtype)
        centre = self.coords[jnp.asarray(bmu)]  # (*batch, 2)
        diff = _pad(self.coords, centre.ndim + 1) - centre[..., None, :]
        d2 = jnp.sum(diff * diff, axis=-1)
        gauss = jnp.exp(-d2 / (2.0 * sigma**2))
        if self.neighbor_function == "ricker":
            return jnp.maximum(gauss * (1.0 - d2 / sigma**2), 0.0)
        return gauss

    def __call__(
        self, x: Float[Array, "*batch n_in"], radius: Any = None
    ) -> Float[Array, "*batch n_units"]:
        r"""$\operatorname{softmax}(r\,h(c(x), \sigma))$ at `radius` $\sigma$ (default:
        ``radius``)."""
        return _softmax(self.resist_scale * self.neighbourhood(self.bmu(x), radius))


# -- the modern Hopfield network ----------------------------------------------------


class HopfieldMap(AbstractCompetitiveSynapse):
    r"""A modern (dense, exponential) Hopfield memory (Ramsauer et al. 2021; Krotov and
    Hopfield 2020): memories $w_j$ are the columns of $W$ (shape ``(n_in, n_memories)``),

    $$s(x) = \operatorname{softmax}(\beta\,x W), \qquad
    \hat x = r\, W s(x) \quad\text{(one retrieval step)},$$

    which with $r = 1$ is $\hat x = x - \nabla_x E(x)$ for the energy

    $$E(x) = -\beta^{-1}\log\sum_j e^{\beta\,w_j\cdot x} + \tfrac12 x\cdot x +
    \beta^{-1}\log N + \tfrac12 \max_j \lVert w_j\rVert^2,$$

    a concave-convex step that never increases $E$. ``scores`` are $xW$ (``similarities``),
    :meth:`memory_weights` is $s$, :meth:`retrieve` iterates. The map of ngc-learn's
    ``HopfieldSynapse`` (learning: :func:`ngcx.plasticity.HopfieldSynapse`); ngc-learn's
    energy reading differs (see :meth:`energy`).
    """

    weights: Float[Array, "n_in n_memories"]
    biases: None
    resist_scale: Float[Array, ""]
    beta: Float[Array, ""]

    def __init__(
        self,
        shape: tuple[int, ...],
        *,
        key: Key,
        beta: Any = 8.0,
        initial_patterns: ArrayLike | None = None,
        weight_init: Initializer | None = None,
        resist_scale: Any = 1.0,
        p_conn: Any = 1.0,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_memories)``.
        - `key`: PRNG key (initialiser, `p_conn` mask, placement of the patterns).
        - `beta`: inverse temperature $\\beta > 0$.
        - `initial_patterns`: ``(n_in, P)`` patterns to store, $P \\le$ ``n_memories``
          (columns are patterns); with $P <$ ``n_memories`` the other slots keep initial
          weights and the columns are shuffled (as ngc-learn).
        - `weight_init`, `p_conn`: as :class:`SOMMap`.
        - `resist_scale`: $r$, scales the retrieved pattern.
        - `dtype`: parameter dtype.
        """
        shape = _check_shape(shape)
        wkey, pkey = jax.random.split(key)
        W = _codebook(wkey, shape, weight_init, p_conn, dtype)
        if initial_patterns is not None:
            W = _place_patterns(pkey, W, initial_patterns, "initial_patterns")
        self.weights = W
        self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")
        self.beta = param(beta, "beta", "positive")

    def scores(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_memories"]:
        """The similarities $x W$."""
        self._check_width(x, self.shape[0], "x")
        return x @ self.weights

    def memory_weights(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_memories"]:
        r"""$s(x) = \operatorname{softmax}(\beta\,xW)$ (ngc-learn's ``memory_weights``)."""
        return _softmax(self.beta * self.scores(x))

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_in"]:
        r"""One retrieval step $\hat x = r\,W s(x)$."""
        return self.resist_scale * self.backtransmit(self.memory_weights(x))

    def retrieve(
        self, x: Float[Array, "*batch n_in"], n_steps: int = 1
    ) -> Float[Array, "*batch n_in"]:
        """`n_steps` retrieval steps from the cue `x` (a ``lax.fori_loop``)."""
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 0:
            raise ValueError(f"`n_steps` must be an int >= 0, got {n_steps!r}.")
        return jax.lax.fori_loop(0, n_steps, lambda _, z: self(z), x)

    def energy(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch"]:
        r"""$E(x)$ (class docstring), one value per sample. ngc-learn's ``energy``
        compartment differs: its quadratic term is $\tfrac12 x\cdot\hat x$, its
        log-sum-exp is taken of max-shifted similarities and its $\max\lVert w\rVert$ runs
        over the rows of $W$ instead of the memories, and it averages over the batch."""
        beta = self.beta
        lse = jax.nn.logsumexp(beta * self.scores(x), axis=-1)
        n = self.shape[1]
        m2 = jnp.max(jnp.sum(self.weights * self.weights, axis=0))
        return -lse / beta + 0.5 * jnp.sum(x * x, axis=-1) + math.log(n) / beta + 0.5 * m2


def _place_patterns(key: Key, W: Array, patterns: Any, name: str) -> Array:
    P = jnp.asarray(patterns, W.dtype)
    if P.ndim != 2 or P.shape[0] != W.shape[0] or P.shape[1] > W.shape[1]:
        raise ValueError(
            f"`{name}` must have shape ({W.shape[0]}, P) with P <= {W.shape[1]} (one pattern "
            f"per column), got {tuple(P.shape)}."
        )
    if P.shape[1] == W.shape[1]:
        return P
    filled = jnp.concatenate([P, W[:, : W.shape[1] - P.shape[1]]], axis=1)
    return filled[:, jax.random.permutation(key, W.shape[1])]


# -- vector quantisation ------------------------------------------------------------


class VectorQuantizeMap(AbstractCompetitiveSynapse):
    r"""A vector-quantisation codebook (Kohonen's (L)VQ): inputs are normalised,
    $\tilde x = x / \lVert x\rVert_2$ (as ngc-learn; ``normalize_inputs=False`` keeps
    $x$), the BMU is the nearest prototype $c = \arg\min_j \lVert \tilde x - w_j\rVert_p$
    (Minkowski order $p$: 1 Manhattan, 2 Euclidean, $\infty$ Chebyshev), and the output is
    its one-hot code $y = r\,e_c$ (ngc-learn's ``bmu_mask``; ``resist_scale`` $r$).

    With ``label_dim > 0`` a label memory $L$ (``(label_dim, n_units)``, not plastic:
    ngc-learn only fills it from ``initial_patterns``) predicts $\hat y = e_c L^\top$ and
    makes the learning supervised (LVQ1). The map of ngc-learn's
    ``VectorQuantizeSynapse`` (learning: :func:`ngcx.plasticity.VectorQuantizeSynapse`).
    Ties go to the first unit (ngc-learn's k-WTA marks every tied unit).
    """

    weights: Float[Array, "n_in n_units"]
    biases: None
    resist_scale: Float[Array, ""]
    label_weights: Float[Array, "label_dim n_units"] | None
    distance_order: Float[Array, ""]
    distance: str = eqx.field(static=True)
    normalize_inputs: bool = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, ...],
        *,
        key: Key,
        distance_function: tuple[str, Any] = ("minkowski", 2),
        label_dim: int = 0,
        initial_patterns: tuple[ArrayLike, ArrayLike | None] | None = None,
        normalize_inputs: bool = True,
        weight_init: Initializer | None = None,
        resist_scale: Any = 1.0,
        p_conn: Any = 1.0,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_units)`` (the codebook size).
        - `key`: PRNG key (initialiser, `p_conn` mask, placement of the patterns).
        - `distance_function`: ngc-learn's ``(name, order)``: ``("minkowski", p)`` with
          $p \\ge 1$ (``jnp.inf``: Chebyshev), ``("euclidean", _)``, ``("manhattan", _)``
          or ``("chebyshev", _)``.
        - `label_dim`: size of the label memory (0: unsupervised).
        - `initial_patterns`: ``(X, Y)`` with prototypes ``X`` of shape ``(n_in, P)`` and,
          when `label_dim` $> 0$, their labels ``Y`` of shape ``(label_dim, P)``; placed as
          in :class:`HopfieldMap`.
        - `normalize_inputs`: divide inputs by their L2 norm (ngc-learn always does).
        - `weight_init`, `p_conn`, `resist_scale`, `dtype`: as :class:`SOMMap`.
        """
        shape = _check_shape(shape)
        if isinstance(label_dim, bool) or not isinstance(label_dim, int) or label_dim < 0:
            raise ValueError(f"`label_dim` must be an int >= 0, got {label_dim!r}.")
        self.distance, order = _vq_distance(distance_function)
        wkey, pkey = jax.random.split(key)
        W = _codebook(wkey, shape, weight_init, p_conn, dtype)
        L = jnp.zeros((label_dim, shape[1]), W.dtype) if label_dim > 0 else None
        if initial_patterns is not None:
            if not isinstance(initial_patterns, tuple | list) or len(initial_patterns) != 2:
                raise ValueError(
                    "`initial_patterns` must be a pair (X, Y) (Y may be None without labels), "
                    f"got {type(initial_patterns).__name__}."
                )
            X, Y = initial_patterns
            W_new = _place_patterns(pkey, W, X, "initial_patterns[0]")
            if L is not None:
                if Y is None:
                    raise ValueError("`initial_patterns[1]` (labels) is needed with label_dim > 0.")
                Yarr = jnp.asarray(Y, W.dtype)
                if Yarr.shape != (label_dim, jnp.asarray(X).shape[1]):
                    raise ValueError(
                        f"`initial_patterns[1]` must have shape ({label_dim}, "
                        f"{jnp.asarray(X).shape[1]}), got {tuple(Yarr.shape)}."
                    )
                L = _place_patterns(pkey, L, Yarr, "initial_patterns[1]")
            W = W_new
        self.weights = W
        self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")
        self.label_weights = L
        self.distance_order = param(order, "distance_function order", "positive")
        self.normalize_inputs = bool(normalize_inputs)

    @property
    def label_dim(self) -> int:
        """Size of the label memory (0: none)."""
        return 0 if self.label_weights is None else int(self.label_weights.shape[0])

    def prepare(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_in"]:
        r"""$\tilde x = x/\lVert x\rVert_2$ (or $x$ without ``normalize_inputs``)."""
        self._check_width(x, self.shape[0], "x")
        if not self.normalize_inputs:
            return x
        return _unit(x)

    def distances(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        r"""$\lVert \tilde x - w_j\rVert_p$ for every unit."""
        xt = self.prepare(x)
        W = self.weights
        if self.distance == "euclidean":
            return _euclidean(xt, xt @ W, W)
        diff = jnp.abs(xt[..., :, None] - _pad(W, xt.ndim + 1))
        if self.distance == "manhattan":
            return jnp.sum(diff, axis=-2)
        if self.distance == "chebyshev":
            return jnp.max(diff, axis=-2)
        p = self.distance_order
        return jnp.sum(diff**p, axis=-2) ** (1.0 / p)

    def scores(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """$-\\lVert \\tilde x - w_j\\rVert_p$."""
        return -self.distances(x)

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """The BMU's one-hot code, times ``resist_scale``."""
        return self.resist_scale * self.winners(x)

    def predict_labels(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch label_dim"]:
        """The BMU's stored label $e_c L^\\top$ (needs ``label_dim > 0``)."""
        if self.label_weights is None:
            raise ValueError("`predict_labels` needs a label memory (label_dim > 0).")
        return self.winners(x) @ self.label_weights.T


def _vq_distance(spec: Any) -> tuple[str, float]:
    if not isinstance(spec, tuple | list) or len(spec) != 2 or not isinstance(spec[0], str):
        raise ValueError(
            "`distance_function` must be a pair (name, order), e.g. ('minkowski', 2), "
            f"got {spec!r}."
        )
    name, order = spec[0].lower(), spec[1]
    if "euclidean" in name:
        return "euclidean", 2.0
    if "manhattan" in name:
        return "manhattan", 1.0
    if "chebyshev" in name:
        return "chebyshev", 1.0
    if "minkowski" not in name:
        raise ValueError(
            "`distance_function` name must be 'minkowski', 'euclidean', 'manhattan' or "
            f"'chebyshev', got {spec[0]!r}."
        )
    try:
        p = float(order)
    except (TypeError, ValueError):
        raise ValueError(
            f"`distance_function` order must be a number >= 1, got {order!r}."
        ) from None
    if not p >= 1.0:
        raise ValueError(f"`distance_function` order must be >= 1, got {order!r}.")
    if math.isinf(p):
        return "chebyshev", 1.0
    if p == 2.0:
        return "euclidean", 2.0
    if p == 1.0:
        return "manhattan", 1.0
    return "minkowski", p


# -- adaptive resonance (ART 2-A) ---------------------------------------------------


class ART2AMap(AbstractCompetitiveSynapse):
    r"""The category memory of ART 2-A (Carpenter, Grossberg and Rosen 1991, for analog
    inputs): inputs are normalised, $\tilde x = x / \lVert x\rVert_2$; a category is
    *committed* when its prototype is non-zero ($\lVert w_j\rVert > 0$, :meth:`used`);
    the choice is $a_j = \tilde x \cdot w_j$ over committed categories (uncommitted ones
    score below every committed one) and the output is the winner's similarity on its unit,
    $y = r\,a_c\,e_c$ (ngc-learn's ``outputs``).

    The memory starts empty (all zeros, as ngc-learn; a `weight_init` pre-fills it).
    Categories are created by :meth:`ngcx.plasticity.ART2A.consolidate` and
    :meth:`insert`, the map grows with :meth:`grow`. The map of ngc-learn's
    ``ART2ASynapse`` (learning: :func:`ngcx.plasticity.ART2ASynapse`).
    """

    weights: Float[Array, "n_in n_units"]
    biases: None
    resist_scale: Float[Array, ""]

    def __init__(
        self,
        shape: tuple[int, ...],
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: Any = 1.0,
        p_conn: Any = 1.0,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_units)`` (the category capacity).
        - `key`: PRNG key (used with `weight_init` only).
        - `weight_init`: pre-filled prototypes (default: none, an empty memory).
        - `resist_scale`: $r$, scales the output.
        - `p_conn`: density of a random mask over a `weight_init`.
        - `dtype`: parameter dtype.
        """
        shape = _check_shape(shape)
        if weight_init is None:
            param(p_conn, "p_conn", "unit_open")
            self.weights = jnp.zeros(shape, jnp.result_type(float) if dtype is None else dtype)
        else:
            self.weights = _codebook(key, shape, weight_init, p_conn, dtype)
        self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")

    def prepare(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_in"]:
        r"""$\tilde x = x / \lVert x\rVert_2$."""
        self._check_width(x, self.shape[0], "x")
        return _unit(x)

    def used(self) -> Float[Array, " n_units"]:
        """1 for committed categories ($\\lVert w_j\\rVert > 0$), 0 for free slots."""
        return (jnp.sum(self.weights * self.weights, axis=0) > 0).astype(self.weights.dtype)

    def n_used(self) -> Int[Array, ""]:
        """The number of committed categories."""
        return jnp.sum(self.used() > 0)

    def similarities(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        r"""$\tilde x \cdot w_j$ for every slot (committed or not)."""
        return self.prepare(x) @ self.weights

    def scores(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """The similarities, with free slots set below the smallest one (ngc-learn's
        masking)."""
        sims = self.similarities(x)
        used = _pad(self.used(), sims.ndim)
        low = jnp.min(sims, axis=-1, keepdims=True) - 1.0
        return sims * used + (1.0 - used) * low

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_units"]:
        """The winner's score on its unit, zero elsewhere, times ``resist_scale``."""
        a = self.scores(x)
        win = jax.nn.one_hot(jnp.argmax(a, axis=-1), self.n_units, dtype=a.dtype)
        return self.resist_scale * a * win

    def insert(self, x: Float[ArrayLike, " n_in"], idx: int | Int[ArrayLike, ""]) -> ART2AMap:
        """This map with slot `idx` set to the pattern `x` (as given, not normalised;
        ngc-learn adds `x` to the slot, the same for a free one)."""
        x = jnp.asarray(x, self.weights.dtype)
        if x.shape != (self.shape[0],):
            raise ValueError(f"`x` must have shape ({self.shape[0]},), got {tuple(x.shape)}.")
        if isinstance(idx, int) and not 0 <= idx < self.n_units:
            raise ValueError(f"`idx` must be in [0, {self.n_units}), got {idx}.")
        return eqx.tree_at(lambda m: m.weights, self, self.weights.at[:, idx].set(x))

    def grow(self, n_memories: int) -> ART2AMap:
        """This map with `n_memories` more free slots (a new shape: outside ``jit``)."""
        if isinstance(n_memories, bool) or not isinstance(n_memories, int) or n_memories < 0:
            raise ValueError(f"`n_memories` must be an int >= 0, got {n_memories!r}.")
        W = jnp.concatenate(
            [self.weights, jnp.zeros((self.shape[0], n_memories), self.weights.dtype)], axis=1
        )
        return eqx.tree_at(lambda m: m.weights, self, W)
