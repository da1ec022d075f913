r"""Array operations from ngc-learn's ``model_utils``: normalisation, clamps, block
matrices, dropout, group means and small helpers.

All functions are pure and jittable (integer/structural arguments such as ``order``,
``axis`` or ``block_size`` must be Python values). Where ngc-learn is wrong ngcx is right:

* ``layer_normalize`` divides each row by *that row's* standard deviation; ngc-learn
  subtracts the row mean but divides by the standard deviation of the whole batch.
* ``normalize_matrix``'s ``scale`` is the step towards the projection,
  ``data + scale * (projected - data)`` (``scale=1``, the default, gives the projection,
  as in ngc-learn, where the argument is documented but unused).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int

from ._checks import check_value, concrete_float, float_array
from ._custom_types import Key, Scalar


__all__ = [
    "normalize_matrix",
    "normalize_block_matrix",
    "clamp_min",
    "clamp_max",
    "one_hot",
    "chebyshev_norm",
    "binarize",
    "layer_normalize",
    "drop_out",
    "create_block_matrix",
    "group_mean",
    "eye_wrapped",
    "tensorstats",
    "sample_values_by_group",
]

_EPS = 1e-8


def _check_axis(axis: int, ndim: int, name: str = "axis") -> None:
    if not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ValueError(f"`{name}` must be an int in [{-ndim}, {ndim}), got {axis!r}.")


def normalize_matrix(
    data: Float[ArrayLike, "rows cols"],
    wnorm: Scalar,
    order: int = 1,
    axis: int = 0,
    scale: Scalar = 1.0,
) -> Float[Array, "rows cols"]:
    r"""Rescale each column (``axis=0``) or row (``axis=1``) of ``data`` to norm ``wnorm``.

    With $n$ the L1 norm (``order=1``, the default) or L2 norm (``order=2``) of each
    vector, floored at $10^{-8}$, the projection is $P = \text{data} \cdot w/n$ and the
    result is $\text{data} + s(P - \text{data})$ for ``scale`` $s$ (default 1: $P$).

    ``wnorm`` must be > 0 and ``scale`` finite (checked for Python/NumPy numbers; a
    negative target norm would flip every weight's sign).
    """
    data = float_array(data, "data")
    if data.ndim != 2:
        raise ValueError(f"`data` must be 2-D, got shape {data.shape}.")
    if order not in (1, 2):
        raise ValueError(f"`order` must be 1 or 2, got {order!r}.")
    _check_axis(axis, 2)
    check_value(wnorm, "wnorm", "> 0")
    check_value(scale, "scale")
    if order == 2:
        norm = jnp.sqrt(jnp.sum(jnp.square(data), axis=axis, keepdims=True))
    else:
        norm = jnp.sum(jnp.abs(data), axis=axis, keepdims=True)
    norm = jnp.maximum(norm, _EPS)
    projected = data * (wnorm / norm)
    return data + scale * (projected - data)


def normalize_block_matrix(
    matrix: Float[ArrayLike, "rows cols"],
    block_size: tuple[int, int],
    order: int | float = 2,
    axis: int = 0,
    norm_targ: Scalar = 1.0,
) -> Float[Array, "rows cols"]:
    r"""Normalise the vectors inside each ``block_size`` block of ``matrix`` to ``norm_targ``.

    ``axis=0`` normalises each column of each block (over the block's rows), ``axis=1``
    each row of each block (over its columns); any other value normalises each whole
    block (Frobenius norm for ``order=2``), as in ngc-learn. The norm is of order
    ``order`` and $10^{-8}$ is added before dividing. ``norm_targ`` must be > 0.
    """
    matrix = float_array(matrix, "matrix")
    if matrix.ndim != 2:
        raise ValueError(f"`matrix` must be 2-D, got shape {matrix.shape}.")
    if len(block_size) != 2 or any(int(b) <= 0 for b in block_size):
        raise ValueError(f"`block_size` must be two positive ints, got {block_size!r}.")
    check_value(norm_targ, "norm_targ", "> 0")
    rows, cols = matrix.shape
    r_blk, c_blk = int(block_size[0]), int(block_size[1])
    if rows % r_blk or cols % c_blk:
        raise ValueError(
            f"`block_size` {block_size} must divide the matrix shape {matrix.shape} exactly."
        )
    blocks = matrix.reshape(rows // r_blk, r_blk, cols // c_blk, c_blk).transpose(0, 2, 1, 3)
    if axis == 0:
        norms = jnp.linalg.norm(blocks, ord=order, axis=2, keepdims=True)
    elif axis == 1:
        norms = jnp.linalg.norm(blocks, ord=order, axis=3, keepdims=True)
    else:
        norms = jnp.linalg.norm(
            blocks, ord=None if order == 2 else order, axis=(2, 3), keepdims=True
        )
    normalized = blocks * (norm_targ / (norms + _EPS))
    return normalized.transpose(0, 2, 1, 3).reshape(rows, cols)


def clamp_min(x: Float[ArrayLike, "*shape"], min_val: Scalar) -> Float[Array, "*shape"]:
    r"""Lower-bound ``x`` at ``min_val``: $x$ where $x > \text{min}$, else ``min_val``
    (derivative $1[x > \text{min}]$, as ngc-learn's masked form)."""
    x = float_array(x, "x")
    check_value(min_val, "min_val")
    return jnp.where(x > min_val, x, jnp.asarray(min_val, dtype=x.dtype))


def clamp_max(x: Float[ArrayLike, "*shape"], max_val: Scalar) -> Float[Array, "*shape"]:
    r"""Upper-bound ``x`` at ``max_val``: $x$ where $x < \text{max}$, else ``max_val``."""
    x = float_array(x, "x")
    check_value(max_val, "max_val")
    return jnp.where(x < max_val, x, jnp.asarray(max_val, dtype=x.dtype))


def one_hot(P: Float[ArrayLike, "*batch classes"]) -> Float[Array, "*batch classes"]:
    """One-hot encoding of each row's arg-max (ties: the first maximum), dtype of ``P``."""
    P = float_array(P, "P")
    if P.ndim == 0:
        raise ValueError("`P` must have at least one axis (the class axis).")
    return jax.nn.one_hot(jnp.argmax(P, axis=-1), P.shape[-1], dtype=P.dtype)


def chebyshev_norm(
    d: Float[ArrayLike, " *shape"], axis: int = -1, keepdims: bool = False
) -> Float[Array, " *rest"]:
    r"""Chebyshev (L-infinity) norm along ``axis``: $\max_i \lvert d_i\rvert$ (with ``d``
    a difference ``a - b`` this is the Chebyshev distance)."""
    d = float_array(d, "d")
    _check_axis(axis, max(d.ndim, 1))
    return jnp.max(jnp.abs(d), axis=axis, keepdims=keepdims)


def binarize(data: Float[ArrayLike, "*shape"], threshold: Scalar = 0.5) -> Float[Array, "*shape"]:
    """``1`` where ``data > threshold``, else ``0`` (ngc-learn's default threshold 0.5).

    A piecewise-constant map: its gradient is zero (use :func:`ngcx.activations.threshold`
    for a straight-through step)."""
    data = float_array(data, "data")
    check_value(threshold, "threshold")
    return (data > threshold).astype(data.dtype)


def layer_normalize(
    x: Float[ArrayLike, "*batch n"],
    shift: Float[ArrayLike, "*#n"] | Scalar = 0.0,
    scale: Float[ArrayLike, "*#n"] | Scalar = 1.0,
) -> Float[Array, "*batch n"]:
    r"""Layer normalisation over the last axis: $(x - \mu) / \sigma \cdot \text{scale} +
    \text{shift}$ with each row's mean $\mu$ and standard deviation
    $\sigma = \max(\sqrt{\max(\mathrm{var}, 10^{-6})}, 10^{-6})$.

    ngc-learn divides by the standard deviation of the *whole* input instead of each row's.
    """
    x = float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("`x` must have at least one axis.")
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    sigma = jnp.maximum(jnp.sqrt(jnp.maximum(var, 1e-6)), 1e-6)
    shift_b = jnp.broadcast_to(jnp.asarray(shift, dtype=x.dtype), x.shape)
    scale_b = jnp.broadcast_to(jnp.asarray(scale, dtype=x.dtype), x.shape)
    return (x - mu) / sigma * scale_b + shift_b


def drop_out(
    dkey: Key, data: Float[ArrayLike, "*shape"], rate: Scalar = 0.0
) -> tuple[Float[Array, "*shape"], Float[Array, "*shape"]]:
    r"""Inverted dropout: each entry is kept with probability $1 - \text{rate}$ and scaled by
    $1/(1 - \text{rate})$.

    **Returns:** ``(output, mask)`` with ``mask`` already scaled (ngc-learn's convention:
    ``output = data * mask``). ``rate`` must lie in ``[0, 1)``.
    """
    data = float_array(data, "data")
    concrete = concrete_float(rate)
    if concrete is not None and not 0.0 <= concrete < 1.0:
        raise ValueError(f"`rate` must lie in [0, 1), got {concrete}.")
    eps = jax.random.uniform(dkey, shape=data.shape, dtype=data.dtype)
    keep = (eps <= 1.0 - rate).astype(data.dtype)
    mask = keep / (1.0 - rate)
    return data * mask, mask


def create_block_matrix(
    map_matrix: Float[ArrayLike, "rows cols"] | Int[ArrayLike, "rows cols"],
    group_shape: tuple[int, int],
    alpha_inh: Scalar = -1.0,
    alpha_exc: Scalar = 1.0,
) -> Float[Array, "_ _"]:
    r"""Tile a block over the positive entries of ``map_matrix`` (zeros elsewhere).

    The block is ``alpha_exc`` on its diagonal and ``-alpha_inh`` off it (ngc-learn's sign
    convention: with the defaults every block entry is 1). Result shape
    ``(rows * gh, cols * gw)`` for ``group_shape = (gh, gw)``.
    """
    m = jnp.asarray(map_matrix)
    if m.ndim != 2:
        raise ValueError(f"`map_matrix` must be 2-D, got shape {m.shape}.")
    if len(group_shape) != 2 or any(int(g) <= 0 for g in group_shape):
        raise ValueError(f"`group_shape` must be two positive ints, got {group_shape!r}.")
    gh, gw = int(group_shape[0]), int(group_shape[1])
    eye = jnp.eye(gh, gw, dtype=jnp.float32)
    block = eye * alpha_exc - (1.0 - eye) * alpha_inh
    return jnp.kron((m > 0).astype(block.dtype), block)


def group_mean(
    x: Float[ArrayLike, "*batch n"], masks: Float[ArrayLike, "groups n"]
) -> Float[Array, "*batch n"]:
    r"""Mean of ``x`` over each group in ``masks`` (one binary row per group), written back
    to every member: $y_i = \sum_g m_{gi} \bar x_g$ with $\bar x_g = \sum_j m_{gj} x_j /
    \sum_j m_{gj}$. A unit in no group gets 0; one in several gets the sum of its groups'
    means (as ngc-learn)."""
    x = float_array(x, "x")
    m = jnp.asarray(masks, dtype=x.dtype)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"`masks` must have shape (n_groups, {x.shape[-1]}), got {tuple(m.shape)}."
        )
    counts = jnp.sum(m, axis=-1)
    sums = x @ m.T
    safe = jnp.broadcast_to(jnp.where(counts > 0, counts, jnp.ones_like(counts)), sums.shape)
    return (sums / safe) @ m


def eye_wrapped(N: int, k: int, values: Float[ArrayLike, " N"]) -> Float[Array, "N N"]:
    r"""An ``N x N`` matrix with ``values`` on the ``k``-th diagonal wrapped around:
    entry $(i, (i + k) \bmod N)$ is ``values[i]`` (``k > 0`` above the diagonal,
    ``k < 0`` below), all else 0."""
    if not isinstance(N, int) or N <= 0:
        raise ValueError(f"`N` must be a positive int, got {N!r}.")
    vals = jnp.asarray(values)
    if vals.shape != (N,):
        raise ValueError(f"`values` must have shape ({N},), got {tuple(vals.shape)}.")
    rows = np.arange(N)
    cols = (rows + int(k)) % N
    return jnp.zeros((N, N), dtype=vals.dtype).at[rows, cols].set(vals)


def tensorstats(tensor: Any) -> dict[str, float] | None:
    """Summary statistics of an array or a PyTree of arrays (a debugging aid).

    **Returns:** ``{"mean", "std", "mag", "min", "max"}`` as Python floats (``mag`` is the
    largest absolute value) over all entries, or ``None`` for anything without arrays.
    """
    leaves = [np.asarray(leaf).ravel() for leaf in jax.tree_util.tree_leaves(tensor)]
    leaves = [leaf for leaf in leaves if leaf.size and np.issubdtype(leaf.dtype, np.number)]
    if not leaves:
        return None
    values = np.concatenate(leaves).astype(np.float64)
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "mag": float(np.abs(values).max()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def sample_values_by_group(
    skey: Key, values: Float[ArrayLike, "batch n"], n_groups: int
) -> Float[Array, "batch n"]:
    r"""Keep one randomly chosen active unit per group (ngc-learn's
    ``model_utils.sample_values_by_group``).

    The ``n`` units of each row are split into ``n_groups`` consecutive groups of
    $L = n / \text{n\_groups}$. In a group whose values sum to more than 0, the unit
    maximising $s_i u_i$ with $u_i \sim \mathcal U(0, 1)$ wins (for binary spikes: a
    uniformly random active unit) and the group becomes the one-hot vector of the winner;
    a group summing to $\le 0$ is returned unchanged.

    **Arguments:**

    - `skey`: PRNG key for the draw.
    - `values`: activities of shape `(batch, n)`.
    - `n_groups`: number of groups; must divide `n`.

    **Returns:** an array of shape `(batch, n)`.
    """
    s = float_array(values, "values")
    if s.ndim != 2:
        raise ValueError(f"`values` must be (batch, n), got shape {s.shape}.")
    if not isinstance(n_groups, int) or n_groups <= 0 or s.shape[1] % n_groups:
        raise ValueError(
            f"`n_groups` must be a positive int dividing the {s.shape[1]} units, got {n_groups!r}."
        )
    b, n = s.shape
    g = s.reshape(b, n_groups, n // n_groups)
    active = jnp.sum(g, axis=2, keepdims=True) > 0
    u = jax.random.uniform(skey, g.shape, dtype=s.dtype)
    winner = jax.nn.one_hot(jnp.argmax(g * u, axis=2), n // n_groups, dtype=s.dtype)
    return jnp.where(active, winner, g).reshape(b, n)
