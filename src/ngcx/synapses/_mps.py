r"""Matrix-product-state (tensor-train) compression of a dense synapse."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import float_array
from .._custom_types import Key
from .._params import is_static_one, param
from .._shapes import left_pad_rank


def decompose_to_mps(
    W: Float[ArrayLike, "n_in n_out"], bond_dim: int = 16
) -> tuple[Float[Array, "1 n_in bond"], Float[Array, "bond n_out 1"]]:
    r"""Split ``W`` into two MPS cores with a truncated SVD, $W \approx U_r S_r V_r^\top$:
    ``core1 = U_r sqrt(S_r)`` of shape ``(1, n_in, r)`` and ``core2 = sqrt(S_r) V_r^T`` of
    shape ``(r, n_out, 1)``, with ``r = min(bond_dim, n_in, n_out)``. The reconstruction
    :func:`mps_to_matrix` is the best rank-``r`` approximation of ``W`` (Eckart-Young).
    """
    w = float_array(W, "W")
    if w.ndim != 2:
        raise ValueError(f"`W` must be a matrix, got shape {w.shape}.")
    if not isinstance(bond_dim, int) or bond_dim < 1:
        raise ValueError(f"`bond_dim` must be a positive int, got {bond_dim!r}.")
    r = min(bond_dim, *w.shape)
    U, S, Vt = jnp.linalg.svd(w, full_matrices=False)
    root = jnp.sqrt(S[:r])
    core1 = (U[:, :r] * root[None, :])[None, :, :]
    core2 = (root[:, None] * Vt[:r, :])[:, :, None]
    return core1, core2


def mps_to_matrix(
    core1: Float[ArrayLike, "1 n_in bond"], core2: Float[ArrayLike, "bond n_out 1"]
) -> Float[Array, "n_in n_out"]:
    """Contract two MPS cores back into the ``(n_in, n_out)`` matrix."""
    return jnp.asarray(core1)[0] @ jnp.asarray(core2)[:, :, 0]


class MPSSynapse(eqx.Module):
    r"""A dense synapse stored as two MPS cores (a tensor train; ngc-learn's
    ``MPSSynapse``): $y = r\,(x\,G_1) G_2 + b$ with $G_1$ = ``core1[0]`` of shape
    ``(n_in, bond)`` and $G_2$ = ``core2[..., 0]`` of shape ``(bond, n_out)``, costing
    $O(n_{in} r + r\,n_{out})$ per sample instead of $O(n_{in} n_{out})$.

    Build it as ngc-learn does, from ``(shape, bond_dim)`` with random cores
    ($\mathcal N(0, 0.05^2)$ entries, ngc-learn's initialisation; needs `key`), from a
    matrix (:meth:`from_matrix`, a truncated SVD) or from cores
    (:meth:`from_cores`, or ``MPSSynapse(core1, core2)``). The cores are ordinary array
    leaves (trainable with ``jax.grad`` and optax). Its local rule is
    :class:`ngcx.plasticity.MPSHebbian`, written over :meth:`contract`.

    **Differences from ngc-learn:** ``resist_scale`` and ``biases`` are offered (ngc-learn
    has neither: the defaults, 1 and none, give its map); :meth:`project_backward`
    includes ``resist_scale`` (the derivative of the forward map); ``weights`` is a
    read-only property (assign through :meth:`from_matrix`); ``batch_size`` is not an
    argument (any leading batch axes work).
    """

    core1: Float[Array, "1 n_in bond"]
    core2: Float[Array, "bond n_out 1"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]

    def __init__(
        self,
        shape: Any,
        bond_dim: Any = 16,
        biases: Float[ArrayLike, " n_out"] | None = None,
        resist_scale: float | Float[ArrayLike, ""] = 1.0,
        *,
        key: Key | None = None,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_out)``, the shape of the dense matrix the cores stand for
          (or, the older form kept working, the first core of shape ``(1, n_in, bond)``,
          with `bond_dim` the second core of shape ``(bond, n_out, 1)``).
        - `bond_dim`: the bond dimension (rank) $r \\ge 1$ (default 16, ngc-learn's).
        - `biases`: optional biases of shape ``(n_out,)`` (ngcx only; default none).
        - `resist_scale`: multiplies the output (ngcx only; a finite scalar leaf).
        - `key`: PRNG key of the random initialisation (needed with a `shape`).
        - `dtype`: the cores' dtype (default float32).
        """
        if _is_core(shape):
            c1, c2 = float_array(shape, "core1"), float_array(bond_dim, "core2")
        else:
            try:
                n_in, n_out = (int(s) for s in shape)
            except (TypeError, ValueError):
                raise ValueError(
                    f"`shape` must be two positive ints (n_in, n_out), got {shape!r}."
                ) from None
            if n_in < 1 or n_out < 1 or isinstance(shape, bool):
                raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
            if isinstance(bond_dim, bool) or not isinstance(bond_dim, int) or bond_dim < 1:
                raise ValueError(f"`bond_dim` must be a positive int, got {bond_dim!r}.")
            if key is None:
                raise ValueError("`key` is needed to initialise the cores from `shape`.")
            k1, k2 = jax.random.split(key)
            dt = jnp.float32 if dtype is None else dtype
            c1 = 0.05 * jax.random.normal(k1, (1, n_in, bond_dim), dt)
            c2 = 0.05 * jax.random.normal(k2, (bond_dim, n_out, 1), dt)
        if c1.ndim != 3 or c2.ndim != 3 or c1.shape[0] != 1 or c2.shape[2] != 1:
            raise ValueError(
                f"cores must be (1, n_in, r) and (r, n_out, 1), got {c1.shape}, {c2.shape}."
            )
        if c1.shape[2] != c2.shape[0]:
            raise ValueError(f"bond dimensions differ: {c1.shape[2]} and {c2.shape[0]}.")
        self.core1, self.core2 = c1, c2
        self.biases = None if biases is None else float_array(biases, "biases")
        if self.biases is not None and self.biases.shape != (c2.shape[1],):
            raise ValueError(
                f"`biases` must have shape ({c2.shape[1]},), got shape {self.biases.shape}."
            )
        self.resist_scale = param(resist_scale, "resist_scale")

    @classmethod
    def from_matrix(
        cls, W, bond_dim: int = 16, biases=None, resist_scale: float | Float[ArrayLike, ""] = 1.0
    ) -> MPSSynapse:
        """Compress the dense weights ``W`` (``(n_in, n_out)``) with :func:`decompose_to_mps`
        (ngc-learn's ``weights`` setter)."""
        return cls(*decompose_to_mps(W, bond_dim), biases=biases, resist_scale=resist_scale)

    @classmethod
    def from_cores(
        cls, core1, core2, biases=None, resist_scale: float | Float[ArrayLike, ""] = 1.0
    ) -> MPSSynapse:
        """The synapse with the given cores, ``(1, n_in, r)`` and ``(r, n_out, 1)``."""
        return cls(float_array(core1, "core1"), float_array(core2, "core2"), biases, resist_scale)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        return int(self.core1.shape[1]), int(self.core2.shape[1])

    @property
    def bond_dim(self) -> int:
        """The bond dimension $r$."""
        return int(self.core1.shape[2])

    @property
    def weights(self) -> Array:
        """The equivalent dense matrix (read-only; costs $O(n_{in} r\\, n_{out})$)."""
        return mps_to_matrix(self.core1, self.core2)

    def _check_width(self, x: Array, axis: int, name: str) -> None:
        size = self.shape[axis]
        if x.ndim == 0 or x.shape[-1] != size:
            raise ValueError(
                f"`{name}` must end in {size} units for an MPS synapse of shape {self.shape}, "
                f"got shape {x.shape}."
            )

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """Transmit ``x`` (any leading batch axes): $r\\,(x G_1) G_2 + b$."""
        self._check_width(x, 0, "x")
        y = (x @ self.core1[0]) @ self.core2[:, :, 0]
        if not is_static_one(self.resist_scale):
            y = self.resist_scale * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""The transpose map $r\,(\text{post}\,G_2^\top) G_1^\top$ (the derivative of
        $\langle \text{post}, y(x)\rangle$ with respect to $x$), never forming the dense
        matrix."""
        self._check_width(post, 1, "post")
        back = (post @ self.core2[:, :, 0].T) @ self.core1[0].T
        return back if is_static_one(self.resist_scale) else self.resist_scale * back

    def project_backward(
        self, error_signal: Float[Array, "*batch n_out"]
    ) -> Float[Array, "*batch n_in"]:
        """ngc-learn's name for :meth:`backtransmit`."""
        return self.backtransmit(error_signal)

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> tuple[Float[Array, "1 n_in bond"], Float[Array, "bond n_out 1"]]:
        r"""The cores-shaped correlation, the derivative of $\langle \text{post},
        (\text{pre}\,G_1) G_2\rangle$ with respect to the cores, summed over the batch:

        $$C_1 = \text{pre}^\top (\text{post}\,G_2^\top), \qquad
        C_2 = (\text{pre}\,G_1)^\top \text{post}$$

        (each factor's correlation with the activity carried through the other core; one
        matrix product each, never a dense matrix)."""
        self._check_width(pre, 0, "pre")
        self._check_width(post, 1, "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        x = pre.reshape(-1, pre.shape[-1])
        e = post.reshape(-1, post.shape[-1])
        G1, G2 = self.core1[0], self.core2[:, :, 0]
        c1 = x.T @ (e @ G2.T)
        c2 = (x @ G1).T @ e
        return c1[None, :, :], c2[:, :, None]

    def bias_contract(self, post: Float[Array, "*batch n_out"]) -> Float[Array, " n_out"]:
        r"""$\sum_{\text{batch}} \text{post}$."""
        self._check_width(post, 1, "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)

    def updates(self, dcores: tuple[Array, Array], db: Array | None = None) -> MPSSynapse:
        """A rule's result shaped like this synapse: the cores replaced by `dcores`, the
        biases by `db` (zeros when the synapse has biases and `db` is ``None``) and
        ``resist_scale`` by 0, so ``eqx.apply_updates(syn, scaled_updates)`` or an optax
        optimiser over ``eqx.filter(syn, eqx.is_inexact_array)`` moves the cores only."""
        d1, d2 = dcores
        if d1.shape != self.core1.shape or d2.shape != self.core2.shape:
            raise ValueError(
                f"`dcores` must have the cores' shapes {self.core1.shape} and "
                f"{self.core2.shape}, got {d1.shape} and {d2.shape}."
            )
        if self.biases is None:
            db = None
        elif db is None:
            db = jnp.zeros_like(self.biases)
        return eqx.tree_at(
            lambda s: (s.core1, s.core2, s.biases, s.resist_scale),
            self,
            (d1, d2, db, jnp.zeros_like(self.resist_scale)),
            is_leaf=lambda x: x is None,
        )


def _is_core(x: Any) -> bool:
    """An array of rank 3 (a core), as opposed to a ``(n_in, n_out)`` shape."""
    return hasattr(x, "ndim") and getattr(x, "ndim", 0) == 3
