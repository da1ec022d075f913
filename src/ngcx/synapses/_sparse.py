r"""Locally connected ("sparse tensor") synapses: ngc-learn's ``SparseTensorSynapse`` and
``StaticSparseTensorSynapse``.

The presynaptic layer is cut into ``n_in_streams`` streams of ``K_local`` units, the
postsynaptic one into $S$ streams of ``O_local`` units. Output stream $s$ listens to the
$P$ (``P_l``) input streams of row $s$ of a fixed connectivity map $c$ (shape
``(S, P)``; $-1$ marks an empty slot), through its own block of weights (an unshared
convolution, or locally connected layer):

$$y_{b,s,o} = r \sum_{p < P}\sum_{k < K} x_{b, c_{s,p}, k}\; W_{p,s,k,o} + b_{s,o},$$

with the weights a dense 4-d array of shape ``(P, S, K_local, O_local)``: only the
non-zero blocks of the equivalent ``(n_in_streams K, S O)`` block matrix are stored.
The map is computed as a gather of the input streams and one batched contraction (no
``(P, batch, S, K, O)`` intermediate); ``use_block_matrix_format=True`` instead scatters
the blocks into the dense block matrix at each call and does one matmul (memory
$O(n_{\text{in}} n_{\text{out}})$). Both give the same result and share the 4-d weights,
so a learning rule and an optimiser see the same leaf either way. Measured on CPU for a
784 -> 256 map (49 streams of 16, windows of 4, stride 3: 8% dense) at batch 64
(``benchmarks/parity_synapses_extra.py --bench``): gather-einsum 85 us, block matrix
286 us, a precomputed dense block matrix 125 us, a ``jax.experimental.sparse`` BCOO
matrix 195 us; so the gather is the default, and the 4-d weights (not BCOO) are the leaf.

The connectivity map of stream $s$ starts at $s \cdot \text{stride}$ and takes $P$ streams
``dilation`` apart; with ``convergent_factor`` $> 0$ windows away from the centre keep
only $\max(1, \mathrm{round}(P (1 - f\,|s - S/2|/(S/2))))$ slots (foveation). $S$ is the
number of windows that fit (no padding). ``invert_conn=True`` builds the transposed
structure (from the $S$ output streams back to the ``n_in_streams`` input streams, with
blocks ``O_local`` $\to$ ``K_local``), the feedback path of a locally connected layer.

**Differences from ngc-learn 3.2:** ngc-learn's biases have shape ``(1, S)`` (one per
output stream, which broadcasts only when ``O_local`` is 1); ngcx has one bias per output
unit, shape ``(S O,)``. ngc-learn's block-matrix format stores the block matrix as the
weights; ngcx always stores the 4-d blocks (the format only chooses the computation).
ngc-learn draws its ``p_conn`` mask once and forgets it; ngcx keeps it as the ``mask``
leaf (used by the map and ``contract``, for :func:`ngcx.plasticity.mask_weights`).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._custom_types import Key, ParamLike
from .._params import param
from .._shapes import left_pad_rank
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse
from ._dense import connectivity_mask


__all__ = ["SparseTensorSynapse", "StaticSparseTensorSynapse", "sparse_tensor_connectivity"]


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _n_output_streams(n_in: int, P: int, stride: int, dilation: int, convergent: float) -> int:
    """ngc-learn's count of the windows that fit in `n_in` streams (no padding)."""
    span = (P - 1) * dilation + 1
    if span > n_in:
        raise ValueError(
            f"the window of `P_l`={P} streams with `dilation`={dilation} spans {span} input "
            f"streams, more than `n_in_streams`={n_in}."
        )
    s = 0
    while True:
        start = s * stride
        local_p = P
        if convergent > 0.0:
            center = max(1, n_in // stride) / 2.0
            local_p = max(1, int(P * (1.0 - convergent * abs(s - center) / center)))
        if start + (local_p - 1) * dilation >= n_in:
            break
        s += 1
    return max(1, s)


def sparse_tensor_connectivity(
    n_in_streams: int,
    P_l: int = 1,
    stride: int = 1,
    dilation: int = 1,
    convergent_factor: float = 0.0,
) -> np.ndarray:
    r"""The forward connectivity map of a :class:`SparseTensorSynapse`, an ``int32`` array
    of shape ``(S, P_l)`` whose row $s$ lists the input streams output stream $s$ reads
    ($-1$: an empty slot, also for an index past the last stream), with $S$ the number of
    windows that fit in `n_in_streams`.

    **Raises:** ``ValueError`` naming the argument when a window does not fit.
    """
    n_in = _positive_int(n_in_streams, "n_in_streams")
    P = _positive_int(P_l, "P_l")
    stride = _positive_int(stride, "stride")
    dilation = _positive_int(dilation, "dilation")
    if not 0.0 <= float(convergent_factor) <= 1.0:
        raise ValueError(f"`convergent_factor` must be in [0, 1], got {convergent_factor}.")
    S = _n_output_streams(n_in, P, stride, dilation, float(convergent_factor))
    conn = np.full((S, P), -1, dtype=np.int32)
    for s in range(S):
        local_p = P
        if convergent_factor > 0.0:
            center = S / 2.0
            local_p = max(1, round(P * (1.0 - convergent_factor * abs(s - center) / center)))
        conn[s, :local_p] = s * stride + np.arange(local_p) * dilation
    # a shrunken window can reach past the last stream: an empty slot (as ngc-learn reads it)
    conn[conn >= n_in] = -1
    return conn


def _inverted(forward: np.ndarray, n_in: int) -> np.ndarray:
    """The backward map: row $i$ lists the output streams that read input stream $i$."""
    links: list[list[int]] = [[] for _ in range(n_in)]
    for s, row in enumerate(forward):
        for i in row:
            if 0 <= i < n_in:
                links[int(i)].append(s)
    width = max(1, max(len(r) for r in links))
    back = np.full((n_in, width), -1, dtype=np.int32)
    for i, r in enumerate(links):
        back[i, : len(r)] = r
    return back


class SparseTensorSynapse(AbstractSynapse):
    r"""A locally connected synapse (ngc-learn's ``SparseTensorSynapse`` and, without
    plasticity, ``StaticSparseTensorSynapse``); see the module docstring for the map.

    **Fields:** ``weights`` of shape ``(P, S, K_local, O_local)``; ``biases`` of shape
    ``(S O_local,)`` or ``None``; ``resist_scale`` $r$; ``mask`` (``None``, or the
    fixed boolean connectivity of `p_conn`, weight-shaped); ``connectivity_map`` (an
    ``int32`` leaf of shape ``(S, P)``, never learned); static sizes and the computation
    format. :meth:`contract` is the weight-shaped correlation
    $C_{p,s,k,o} = \sum_b x_{b,c_{s,p},k}\,\text{post}_{b,s,o}$, so rules of
    :mod:`ngcx.plasticity` written over ``contract`` (Hebbian, Oja, STDP) work unchanged.
    Inputs have shape ``(*batch, n_in_streams K_local)``, outputs
    ``(*batch, S O_local)``.
    """

    weights: Float[Array, "P S K O"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]
    mask: Bool[Array, "P S K O"] | None
    connectivity_map: Int[Array, "S P"]
    n_in_streams: int = eqx.field(static=True)
    use_block_matrix_format: bool = eqx.field(static=True)

    def __init__(
        self,
        n_in_streams: int,
        K_local: int,
        O_local: int,
        P_l: int = 1,
        stride: int = 1,
        convergent_factor: float = 0.0,
        dilation: int = 1,
        invert_conn: bool = False,
        normalize: bool = False,
        norm_axis: int = 1,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        resist_scale: ParamLike = 1.0,
        p_conn: ParamLike = 1.0,
        use_block_matrix_format: bool = False,
        dtype: Any = None,
    ):
        r"""**Arguments:**

        - `n_in_streams`: number of input streams (the input has
          ``n_in_streams * K_local`` units).
        - `K_local`: units per input stream.
        - `O_local`: units per output stream.
        - `P_l`: window size, the number of input streams an output stream reads.
        - `stride`: shift of the window between successive output streams.
        - `convergent_factor`: in $[0, 1]$; above 0 windows shrink away from the centre.
        - `dilation`: gap between the streams of a window (1: contiguous).
        - `invert_conn`: build the transposed structure instead (see the module
          docstring): ``n_in_streams`` becomes the forward structure's $S$ and the outputs
          its ``n_in_streams`` streams of ``K_local`` units.
        - `normalize`: rescale the initial blocks to unit L2 norm along `norm_axis`
          (1: over the ``O_local`` outputs of each input unit of a block; 0: over the
          ``K_local`` inputs of each output unit).
        - `norm_axis`: 0 or 1.
        - `key`: PRNG key of the weights, biases and connectivity.
        - `weight_init`: initialiser of the 4-d weights (default uniform on
          $[0.025, 0.8]$, as ngc-learn).
        - `bias_init`: initialiser of the biases; ``None``: no biases.
        - `resist_scale`: $r$ (ngc-learn's ``g_conduct_factor``).
        - `p_conn`: connection probability in $(0, 1]$ (a fixed random mask).
        - `use_block_matrix_format`: compute through the dense block matrix.
        - `dtype`: parameter dtype.

        **Raises:** ``ValueError`` naming the argument for a non-positive size, a window
        that does not fit, `convergent_factor` outside $[0, 1]$ or a bad `norm_axis`.
        """
        K = _positive_int(K_local, "K_local")
        O = _positive_int(O_local, "O_local")  # noqa: E741
        n_in = _positive_int(n_in_streams, "n_in_streams")
        if norm_axis not in (0, 1):
            raise ValueError(f"`norm_axis` must be 0 or 1, got {norm_axis!r}.")
        forward = sparse_tensor_connectivity(n_in, P_l, stride, dilation, convergent_factor)
        if invert_conn:
            conn = _inverted(forward, n_in)
            n_in, K, O = forward.shape[0], O, K  # noqa: E741
        else:
            conn = forward
        S, P = conn.shape
        shape = (P, S, K, O)
        wkey, bkey, ckey = jax.random.split(key, 3)
        init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
        w = init(wkey, shape, dtype)
        if normalize:
            axis = 3 if norm_axis == 1 else 2
            w = w / (jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True)) + 1e-8)
        self.mask = connectivity_mask(ckey, shape, p_conn)
        if self.mask is not None:
            w = jnp.where(self.mask, w, jnp.zeros_like(w))
        self.weights = w
        self.biases = None if bias_init is None else bias_init(bkey, (S * O,), dtype)
        self.resist_scale = param(resist_scale, "resist_scale")
        self.connectivity_map = jnp.asarray(conn, jnp.int32)
        self.n_in_streams = int(n_in)
        self.use_block_matrix_format = bool(use_block_matrix_format)

    # -- sizes ------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(P, S, K_local, O_local)``, the weights' shape."""
        P, S, K, O = self.weights.shape  # noqa: E741
        return int(P), int(S), int(K), int(O)

    @property
    def io_shape(self) -> tuple[int, int]:
        """``(n_in, n_out)`` = ``(n_in_streams K_local, S O_local)``."""
        _, S, K, O = self.shape  # noqa: E741
        return self.n_in_streams * K, S * O

    def _check_width(self, x: Array, axis_size: int, name: str) -> None:
        if x.ndim == 0 or x.shape[-1] != axis_size:
            raise ValueError(
                f"`{name}` must end in {axis_size} units for a synapse with io_shape "
                f"{self.io_shape}, got shape {x.shape}."
            )

    # -- helpers ----------------------------------------------------------------------
    def _weights(self) -> Array:
        if self.mask is None:
            return self.weights
        return jnp.where(self.mask, self.weights, jnp.zeros_like(self.weights))

    def _safe_map(self) -> Array:
        """The map with empty slots pointing at a zero stream appended at the end."""
        conn = self.connectivity_map
        return jnp.where(conn < 0, self.n_in_streams, conn)

    def _gather(self, x: Array) -> Array:
        """``(*batch, n_in)`` -> ``(*batch, S, P, K)`` (empty slots read zeros)."""
        K = self.shape[2]
        xs = x.reshape(*x.shape[:-1], self.n_in_streams, K)
        pad = jnp.zeros((*x.shape[:-1], 1, K), x.dtype)
        xs = jnp.concatenate([xs, pad], axis=-2)
        return jnp.take(xs, self._safe_map(), axis=-2)

    def block_matrix(self) -> Float[Array, "n_in n_out"]:
        r"""The equivalent dense ``(n_in_streams K, S O)`` block matrix (zeros off the
        blocks; weights of several empty slots never land on it)."""
        P, S, K, O = self.shape  # noqa: E741
        w = self._weights()
        rows = self._safe_map().T[:, :, None, None] * K + jnp.arange(K)[None, None, :, None]
        cols = jnp.arange(S)[None, :, None, None] * O + jnp.arange(O)[None, None, None, :]
        rows = jnp.broadcast_to(rows, w.shape)
        cols = jnp.broadcast_to(cols, w.shape)
        dense = jnp.zeros(((self.n_in_streams + 1) * K, S * O), w.dtype)
        dense = dense.at[rows.ravel(), cols.ravel()].add(w.ravel())
        return dense[: self.n_in_streams * K]

    def _finish(self, y: Array) -> Array:
        y = self.resist_scale.astype(y.dtype) * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases.astype(y.dtype), y.ndim)
        return y

    def tie_transpose_weights(self, forward: SparseTensorSynapse) -> SparseTensorSynapse:
        r"""This synapse with its blocks tied to the transposes of `forward`'s (ngc-learn's
        ``tie_transpose_weights``): for this synapse built with ``invert_conn=True`` and
        `forward` the same geometry without it, $W^{\text{inv}}_{q,i} =
        (W^{\text{fwd}}_{p,s})^\top$ wherever slot $q$ of input stream $i$ is output stream
        $s$ and slot $p$ of $s$ is $i$; then ``self(e)`` equals
        ``forward.backtransmit(e)`` (up to ``resist_scale`` and biases). Needs concrete
        connectivity maps (call it outside ``jax.jit``).

        **Raises:** ``ValueError`` naming `forward` when the two structures are not
        transposes of each other.
        """
        conn_b = np.asarray(self.connectivity_map)
        conn_f = np.asarray(forward.connectivity_map)
        S_f, _ = conn_f.shape
        n_in_b, Q = conn_b.shape
        idx_p = np.zeros((n_in_b, Q), np.int32)
        idx_s = np.zeros((n_in_b, Q), np.int32)
        valid = np.zeros((n_in_b, Q), bool)
        ok = forward.n_in_streams == n_in_b and self.n_in_streams == S_f
        for i in range(n_in_b) if ok else ():
            for q in range(Q):
                s = int(conn_b[i, q])
                if s < 0:
                    continue
                hits = np.nonzero(conn_f[s] == i)[0] if s < S_f else np.zeros(0, np.int64)
                if hits.size == 0:
                    ok = False
                    break
                idx_p[i, q], idx_s[i, q], valid[i, q] = int(hits[0]), s, True
        _, _, K, O = forward.shape  # noqa: E741
        if not ok or self.shape != (Q, n_in_b, O, K):
            raise ValueError(
                f"`forward` (weights {forward.shape}) is not the forward structure of this "
                f"inverted synapse (weights {self.shape})."
            )
        blocks = forward._weights()[jnp.asarray(idx_p), jnp.asarray(idx_s)]  # (i, q, K, O)
        blocks = jnp.where(jnp.asarray(valid)[:, :, None, None], blocks, 0.0)
        w = jnp.transpose(blocks, (1, 0, 3, 2)).astype(self.weights.dtype)
        return eqx.tree_at(lambda m: m.weights, self, w)

    # -- the map ----------------------------------------------------------------------
    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        r"""$y_{s,o} = r\sum_{p,k} x_{c_{s,p},k} W_{p,s,k,o} + b_{s,o}$, flattened to
        ``(*batch, S O_local)``."""
        self._check_width(x, self.io_shape[0], "x")
        if self.use_block_matrix_format:
            y = x @ self.block_matrix()
        else:
            xg = self._gather(x)  # (*batch, S, P, K)
            y = jnp.einsum("...spk,psko->...so", xg, self._weights())
            y = y.reshape(*x.shape[:-1], -1)
        return self._finish(y)

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""The transpose map: $r\sum_{(s,p): c_{s,p} = i}\sum_o W_{p,s,k,o}\,
        \text{post}_{s,o}$ for input unit $(i, k)$ (a scatter-add over the map)."""
        self._check_width(post, self.io_shape[1], "post")
        P, S, K, O = self.shape  # noqa: E741
        if self.use_block_matrix_format:
            back = post @ self.block_matrix().T
        else:
            ps = post.reshape(*post.shape[:-1], S, O)
            z = jnp.einsum("...so,psko->...spk", ps, self._weights())
            flat = z.reshape(*z.shape[:-3], S * P, K)
            seg = self._safe_map().reshape(-1)
            out = jnp.zeros((*z.shape[:-3], self.n_in_streams + 1, K), z.dtype)
            out = out.at[..., seg, :].add(flat)
            back = out[..., : self.n_in_streams, :].reshape(*post.shape[:-1], -1)
        return self.resist_scale.astype(back.dtype) * back

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> Float[Array, "P S K O"]:
        r"""$C_{p,s,k,o} = M \odot \sum_b x_{b,c_{s,p},k}\,\text{post}_{b,s,o}$ (one batched
        contraction; the derivative of $\langle\text{post}, y\rangle$ without $r$ and $b$
        with respect to $W$)."""
        self._check_width(pre, self.io_shape[0], "pre")
        self._check_width(post, self.io_shape[1], "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        P, S, K, O = self.shape  # noqa: E741
        xg = self._gather(pre).reshape(-1, S, P * K)  # (batch, S, P K)
        ps = post.reshape(-1, S, O)
        # one batched matmul over the output streams: (S, P K, batch) @ (S, batch, O)
        c = jnp.matmul(jnp.transpose(xg, (1, 2, 0)), jnp.transpose(ps, (1, 0, 2)))
        c = jnp.transpose(c.reshape(S, P, K, O), (1, 0, 2, 3))
        return c if self.mask is None else jnp.where(self.mask, c, jnp.zeros_like(c))

    def bias_contract(self, post: Float[Array, "*batch n_out"]) -> Float[Array, " n_out"]:
        r"""$\sum_{\text{batch}} \text{post}$."""
        self._check_width(post, self.io_shape[1], "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)


# a static sparse tensor synapse is the same map (ngc-learn's name)
StaticSparseTensorSynapse = SparseTensorSynapse
