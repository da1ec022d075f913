r"""Matrix-product-state (tensor-train) compression of a dense synapse."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import float_array
from .._params import param
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
    r"""A dense synapse stored as two MPS cores: $y = r\,(x\,G_1) G_2 + b$, costing
    $O(n_{in} r + r\,n_{out})$ per sample instead of $O(n_{in} n_{out})$.

    Build it from a matrix (:meth:`from_matrix`) or from cores; the cores are ordinary
    array leaves (trainable with ``jax.grad`` and optax).
    """

    core1: Float[Array, "1 n_in bond"]
    core2: Float[Array, "bond n_out 1"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]

    def __init__(self, core1, core2, biases=None, resist_scale: float | Float[ArrayLike, ""] = 1.0):
        c1, c2 = float_array(core1, "core1"), float_array(core2, "core2")
        if c1.ndim != 3 or c2.ndim != 3 or c1.shape[0] != 1 or c2.shape[2] != 1:
            raise ValueError(
                f"cores must be (1, n_in, r) and (r, n_out, 1), got {c1.shape}, {c2.shape}."
            )
        if c1.shape[2] != c2.shape[0]:
            raise ValueError(f"bond dimensions differ: {c1.shape[2]} and {c2.shape[0]}.")
        self.core1, self.core2 = c1, c2
        self.biases = None if biases is None else float_array(biases, "biases")
        self.resist_scale = param(resist_scale, "resist_scale")

    @classmethod
    def from_matrix(
        cls, W, bond_dim: int = 16, biases=None, resist_scale: float | Float[ArrayLike, ""] = 1.0
    ) -> MPSSynapse:
        """Compress the dense weights ``W`` (``(n_in, n_out)``) with :func:`decompose_to_mps`."""
        return cls(*decompose_to_mps(W, bond_dim), biases=biases, resist_scale=resist_scale)

    @property
    def weights(self) -> Array:
        """The equivalent dense matrix."""
        return mps_to_matrix(self.core1, self.core2)

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        y = self.resist_scale * ((x @ self.core1[0]) @ self.core2[:, :, 0])
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y
