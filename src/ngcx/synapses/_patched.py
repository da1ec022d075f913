r"""Patched synapses: a block-diagonal set of small dense maps, stored as stacked blocks.

ngc-learn's ``PatchedSynapse`` splits an ``(n_in, n_out)`` synapse into ``n_sub_models``
dense patches along the diagonal. ngc-learn stores (and multiplies by) the whole dense
matrix, mostly zeros; here only the patches are stored, as one array of shape
``(n_sub_models, p_in, p_out)``, and every product is one batched contraction over them.

Measured on a shared 2-core CPU (784 -> 400, float32, jitted, best of 5-7 runs; the
script is ``benchmarks/parity_patched_mps.py --bench``): with 4, 8 and 16 patches at batch
1, 32 and 256 the stacked-block einsum beat the dense masked matmul ``x @ (W * M)`` at
every point, 2-15x for the forward map and 2-7x for the Hebbian contraction, and was
about as fast as, or up to 3x faster than, a plain matmul with a pre-zeroed block-diagonal
``W`` (which cannot keep its zeros under learning without the mask). So the blocks are always
used; a dense block-diagonal matrix is only built by :meth:`PatchedSynapse.to_dense`, for
inspection. With one patch both are the same matmul.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from .._custom_types import Key
from .._params import is_concrete, is_static_one, param
from .._shapes import left_pad_rank
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse


__all__ = ["PatchedSynapse", "StaticPatchedSynapse", "patch_geometry"]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return int(value)


def patch_geometry(
    shape: tuple[int, int], n_sub_models: int = 1, stride_shape: tuple[int, int] = (0, 0)
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    r"""The geometry of ngc-learn's patched synapse.

    With $n$ patches and ``stride_shape`` $(s_i, s_j)$, each patch has the core size
    $d_i = \lfloor n_{in}/n \rfloor$, $d_j = \lfloor n_{out}/n \rfloor$ and the padded
    size $p = (d_i + 2 s_i, d_j + 2 s_j)$; patch $k$ covers rows
    $[k d_i, k d_i + p_i)$ and columns $[k d_j, k d_j + p_j)$ of a matrix of shape
    $(n d_i + 2 s_i,\; n d_j + 2 s_j)$, so neighbouring patches overlap by $2 s$ (as in
    ngc-learn, the synapse's shape is this one, not ``shape``, whenever ``shape`` is not
    divisible by $n$ or the stride is not zero).

    **Returns:** ``(full_shape, core_shape, patch_shape)``.

    **Raises:** ``ValueError`` naming `shape`, `n_sub_models` or `stride_shape`.
    """
    n = _positive_int(n_sub_models, "n_sub_models")
    bad_shape = f"`shape` must be two positive ints (n_in, n_out), got {shape!r}."
    try:
        n_in, n_out = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(bad_shape) from None
    if n_in < 1 or n_out < 1:
        raise ValueError(bad_shape)
    try:
        si, sj = (int(s) for s in stride_shape)
    except (TypeError, ValueError):
        raise ValueError(f"`stride_shape` must be two ints >= 0, got {stride_shape!r}.") from None
    if si < 0 or sj < 0:
        raise ValueError(f"`stride_shape` must be two ints >= 0, got {stride_shape!r}.")
    di, dj = n_in // n, n_out // n
    if di < 1 or dj < 1:
        raise ValueError(
            f"`n_sub_models` ({n}) must not exceed either size of `shape` {(n_in, n_out)}: "
            "every patch needs at least one input and one output."
        )
    full = (n * di + 2 * si, n * dj + 2 * sj)
    return full, (di, dj), (di + 2 * si, dj + 2 * sj)


def _ownership(n: int, core: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Which block holds each connection: ``(n, p_in, p_out)`` booleans. Where patches
    overlap the later patch holds the connection (ngc-learn writes patches in order, the
    later over the earlier); the first and last ``stride`` rows/columns are unconnected
    (ngc-learn zeroes them)."""
    (di, dj), (si, sj) = core, stride
    pi, pj = di + 2 * si, dj + 2 * sj
    if si == 0 and sj == 0:
        return np.ones((n, pi, pj), bool)
    owner = np.full((n * di + 2 * si, n * dj + 2 * sj), -1)
    for k in range(n):
        owner[k * di : k * di + pi, k * dj : k * dj + pj] = k
    if si:
        owner[:si] = owner[-si:] = -1
    if sj:
        owner[:, :sj] = owner[:, -sj:] = -1
    own = np.empty((n, pi, pj), bool)
    for k in range(n):
        own[k] = owner[k * di : k * di + pi, k * dj : k * dj + pj] == k
    return own


def _window_index(n: int, d: int, s: int) -> np.ndarray:
    """``(n, d + 2s)`` indices of each patch's rows (or columns)."""
    return np.arange(n)[:, None] * d + np.arange(d + 2 * s)[None, :]


class PatchedSynapse(AbstractSynapse):
    r"""A patched synapse: $n$ small dense maps along the diagonal (ngc-learn's
    ``PatchedSynapse`` and ``StaticPatchedSynapse``),

    $$y_{J_k} \mathrel{+}= r\, x_{I_k} (W_k \odot M_k), \qquad k = 1..n, \qquad y \mathrel{+}= b,$$

    with patch $k$ reading the inputs $I_k$ and writing the outputs $J_k$ (windows of
    :func:`patch_geometry`: disjoint for ``stride_shape = (0, 0)``, overlapping by
    $2 s$ otherwise), ``resist_scale`` $r$ and the fixed connectivity mask $M$ (where
    patches overlap, the later patch holds the connection; ``p_conn`` and ``block_mask``
    remove more). The dense equivalent (:meth:`to_dense`) is block-diagonal; it is never
    built for computing.

    **Fields:** ``weights``, the stacked patches of shape ``(n_sub_models, p_in, p_out)``;
    ``biases`` of shape ``(n_out,)`` or ``None``; ``resist_scale`` (a scalar leaf);
    ``mask``, booleans shaped like ``weights`` or ``None`` when every connection of every
    patch exists (a fixed leaf, never learned: use ``eqx.filter_grad`` rather than
    ``jax.grad`` on a masked synapse). :meth:`contract` is block-shaped, so
    :class:`ngcx.plasticity.Hebbian` and the other rules work on it unchanged.

    **Differences from ngc-learn:** ngc-learn multiplies by the dense matrix (here: the
    blocks, 2-15x faster, see the module docstring); its ``p_conn`` mask is drawn over
    the dense matrix (here over the patches' connections: the same distribution);
    ``backtransmit`` includes ``resist_scale`` (ngc-learn's ``pre_out`` leaves it out),
    being the derivative of the forward map; ``batch_size`` is not an argument (any
    leading batch axes work).
    """

    weights: Float[Array, "n_sub_models p_in p_out"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]
    mask: Bool[Array, "n_sub_models p_in p_out"] | None
    n_sub_models: int = eqx.field(static=True)
    stride_shape: tuple[int, int] = eqx.field(static=True)
    core_shape: tuple[int, int] = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        n_sub_models: int = 1,
        stride_shape: tuple[int, int] = (0, 0),
        *,
        key: Key,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        resist_scale: float | Float[ArrayLike, ""] = 1.0,
        p_conn: float | Float[ArrayLike, ""] = 1.0,
        block_mask: ArrayLike | None = None,
        use_bias: bool = False,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_out)`` before patching (see :func:`patch_geometry` for the
          synapse's actual shape).
        - `n_sub_models`: the number of patches $n$ (1: a dense synapse).
        - `stride_shape`: ``(s_in, s_out)``, the overlap (each patch grows by $2s$).
        - `key`: PRNG key for the initialisers and the ``p_conn`` mask.
        - `weight_init`: an :class:`ngcx.initializers.Initializer` applied to each patch
          with its own key and shape ``(p_in, p_out)`` (default: fan-in Gaussian, so the
          fan-in is the patch's).
        - `bias_init`: initialiser of the biases (default zeros) when `use_bias`.
        - `resist_scale`: multiplies the synaptic output (a finite scalar leaf).
        - `p_conn`: probability in $(0, 1]$ that a connection of a patch exists (a fixed
          random mask; 1: all).
        - `block_mask`: optional 0/1 mask of the connections, of the synapse's dense shape
          (ngc-learn's form) or shaped like ``weights``.
        - `use_bias`: whether the synapse has biases (or pass `bias_init`).
        - `dtype`: parameter dtype (default float32).
        """
        full, core, pshape = patch_geometry(shape, n_sub_models, stride_shape)
        n = int(n_sub_models)
        stride = (int(stride_shape[0]), int(stride_shape[1]))
        self.n_sub_models, self.stride_shape, self.core_shape = n, stride, core
        wkey, bkey, mkey = jax.random.split(key, 3)
        init = DistributionGenerator.fan_in_gaussian() if weight_init is None else weight_init
        blocks = jnp.stack([init(k, pshape, dtype) for k in jax.random.split(wkey, n)])
        mask = jnp.asarray(_ownership(n, core, stride))
        p_conn = float(param(p_conn, "p_conn", "unit_open"))
        if p_conn < 1.0:
            mask = mask & jax.random.bernoulli(mkey, p_conn, mask.shape)
        if block_mask is not None:
            mask = mask & self._blocks_of(block_mask, "block_mask").astype(bool)
        if is_concrete(mask) and bool(np.all(np.asarray(mask))):
            self.mask = None
        else:
            self.mask = mask
            blocks = jnp.where(mask, blocks, jnp.zeros((), blocks.dtype))
        self.weights = blocks
        if use_bias or bias_init is not None:
            binit = DistributionGenerator.constant(0.0) if bias_init is None else bias_init
            self.biases = binit(bkey, (full[1],), dtype)
        else:
            self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")

    # -- geometry -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """The synapse's ``(n_in, n_out)`` (see :func:`patch_geometry`)."""
        (di, dj), (si, sj), n = self.core_shape, self.stride_shape, self.n_sub_models
        return n * di + 2 * si, n * dj + 2 * sj

    @property
    def patch_shape(self) -> tuple[int, int]:
        """``(p_in, p_out)``, one patch's shape."""
        (di, dj), (si, sj) = self.core_shape, self.stride_shape
        return di + 2 * si, dj + 2 * sj

    def _index(self, axis: int) -> np.ndarray:
        return _window_index(self.n_sub_models, self.core_shape[axis], self.stride_shape[axis])

    def _windows(self, x: Array, axis: int) -> Array:
        """``(..., N)`` -> ``(..., n, p)``: each patch's slice (a reshape without overlap)."""
        if self.stride_shape[axis] == 0:
            return x.reshape(*x.shape[:-1], self.n_sub_models, self.core_shape[axis])
        return x[..., self._index(axis)]

    def _overlap_add(self, z: Array, axis: int) -> Array:
        """``(..., n, p)`` -> ``(..., N)``: the transpose of :meth:`_windows`."""
        if self.stride_shape[axis] == 0:
            return z.reshape(*z.shape[:-2], self.shape[axis])
        out = jnp.zeros((*z.shape[:-2], self.shape[axis]), z.dtype)
        return out.at[..., self._index(axis)].add(z)

    def _blocks_of(self, dense: ArrayLike, name: str) -> Array:
        """A dense ``(n_in, n_out)`` array (or one already shaped like the blocks) as
        blocks ``(n, p_in, p_out)``."""
        arr = jnp.asarray(dense)
        n, (pi, pj) = self.n_sub_models, self.patch_shape
        if arr.shape == (n, pi, pj):
            return arr
        if arr.shape != self.shape:
            raise ValueError(
                f"`{name}` must have the synapse's shape {self.shape} or the blocks' shape "
                f"{(n, pi, pj)}, got shape {arr.shape}."
            )
        return arr[self._index(0)[:, :, None], self._index(1)[:, None, :]]

    def _effective(self) -> Array:
        if self.mask is None:
            return self.weights
        return jnp.where(self.mask, self.weights, jnp.zeros((), self.weights.dtype))

    def to_dense(self) -> Float[Array, "n_in n_out"]:
        """The equivalent dense (block-diagonal) matrix, for inspection and comparison."""
        W = self._effective()
        rows = self._index(0)[:, :, None]
        cols = self._index(1)[:, None, :]
        return jnp.zeros(self.shape, W.dtype).at[rows, cols].add(W)

    def with_dense(self, W: Float[ArrayLike, "n_in n_out"]) -> PatchedSynapse:
        """This synapse with its patches read from the dense matrix `W` (the synapse's
        shape; entries outside the patches and masked connections are ignored), e.g. to
        load ngc-learn's weights."""
        blocks = self._blocks_of(W, "W").astype(self.weights.dtype)
        if self.mask is not None:
            blocks = jnp.where(self.mask, blocks, jnp.zeros((), blocks.dtype))
        return eqx.tree_at(lambda s: s.weights, self, blocks)

    def _check_width(self, x: Array, axis: int, name: str) -> None:
        size = self.shape[axis]
        if x.ndim == 0 or x.shape[-1] != size:
            raise ValueError(
                f"`{name}` must end in {size} units for a patched synapse of shape "
                f"{self.shape}, got shape {x.shape}."
            )

    # -- the map ------------------------------------------------------------------
    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """Transmit ``x`` (any leading batch axes): $\\sum_k r\\,x_{I_k} W_k + b$."""
        self._check_width(x, 0, "x")
        z = jnp.einsum("...ki,kij->...kj", self._windows(x, 0), self._effective())
        y = self._overlap_add(z, 1)
        if not is_static_one(self.resist_scale):
            y = self.resist_scale * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""The transpose map, $\partial_x \langle \text{post}, y(x)\rangle$:
        $\sum_k r\,\text{post}_{J_k} W_k^\top$ scattered to the inputs $I_k$."""
        self._check_width(post, 1, "post")
        z = jnp.einsum("...kj,kij->...ki", self._windows(post, 1), self._effective())
        back = self._overlap_add(z, 0)
        return back if is_static_one(self.resist_scale) else self.resist_scale * back

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> Float[Array, "n_sub_models p_in p_out"]:
        r"""$C_k = \big(\sum_{\text{batch}} \text{pre}_{I_k}^\top \text{post}_{J_k}\big)
        \odot M_k$, block-shaped: the derivative of $\langle \text{post}, g_W(\text{pre})
        \rangle$ with respect to the blocks (the dense outer product restricted to the
        patches, never formed densely)."""
        self._check_width(pre, 0, "pre")
        self._check_width(post, 1, "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        a = self._windows(pre.reshape(-1, pre.shape[-1]), 0)
        b = self._windows(post.reshape(-1, post.shape[-1]), 1)
        C = jnp.einsum("bki,bkj->kij", a, b)
        if self.mask is not None:
            C = jnp.where(self.mask, C, jnp.zeros((), C.dtype))
        return C

    def bias_contract(self, post: Float[Array, "*batch n_out"]) -> Float[Array, " n_out"]:
        r"""$\sum_{\text{batch}} \text{post}$."""
        self._check_width(post, 1, "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)


# ngc-learn's static patched synapse is the same map
StaticPatchedSynapse = PatchedSynapse
