r"""The dense synapse: an affine map with array-leaf weights, biases and resistance."""

from __future__ import annotations

from typing import Any

import jax
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import Key
from .._params import is_static_one, param
from .._shapes import left_pad_rank
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse


__all__ = ["DenseSynapse", "outer_sum"]


def _init_weights(
    key: Key, shape: tuple[int, int], weight_init: Initializer | None, dtype: Any
) -> Array:
    if len(shape) != 2 or any(not isinstance(s, int) or s <= 0 for s in shape):
        raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
    init = DistributionGenerator.fan_in_gaussian() if weight_init is None else weight_init
    return init(key, shape, dtype)


def outer_sum(a: Array, b: Array) -> Array:
    r"""$\sum_{\text{batch}} a^\top b$ for ``(..., n)`` and ``(..., m)`` arrays: a broadcast
    outer product for one sample (it fuses with what follows), one matmul otherwise (never
    a ``(batch, n, m)`` intermediate)."""
    a2 = a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, b.shape[-1])
    if a2.shape[0] == 1:
        return a2[0][:, None] * b2[0][None, :]
    return a2.T @ b2


class DenseSynapse(AbstractSynapse):
    r"""A dense synapse, $y = r\, x W + b$ (``resist_scale`` $r$; ngc-learn's
    ``DenseSynapse`` and, without plasticity, ``StaticSynapse``).

    **Fields:** ``weights`` of shape ``(n_in, n_out)``; ``biases`` of shape ``(n_out,)`` or
    ``None``; ``resist_scale``, a scalar array leaf. All are leaves: ``jax.grad``,
    ``jax.vmap`` and optax treat them like any Equinox layer's parameters. Learning rules
    (:mod:`ngcx.plasticity`) use :meth:`contract`, the batch-summed outer product.
    """

    weights: Float[Array, "n_in n_out"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        key: Key,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        resist_scale: float | Float[ArrayLike, ""] = 1.0,
        use_bias: bool = False,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_out)``.
        - `key`: PRNG key for the initialisers.
        - `weight_init`: an :class:`ngcx.initializers.Initializer` (default: fan-in
          Gaussian).
        - `bias_init`: initialiser of the biases (default: zeros) when `use_bias`.
        - `resist_scale`: multiplies the synaptic output (ngc-learn's resistance; finite,
          a scalar leaf).
        - `use_bias`: whether the synapse has biases (or pass `bias_init`).
        - `dtype`: parameter dtype (default float32).
        """
        wkey, bkey = jax.random.split(key)
        self.weights = _init_weights(wkey, tuple(shape), weight_init, dtype)  # type: ignore[arg-type]
        if use_bias or bias_init is not None:
            init = DistributionGenerator.constant(0.0) if bias_init is None else bias_init
            self.biases = init(bkey, (shape[1],), dtype)
        else:
            self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        n_in, n_out = self.weights.shape
        return int(n_in), int(n_out)

    def _check_width(self, x: Array, axis_size: int, name: str) -> None:
        if x.ndim == 0 or x.shape[-1] != axis_size:
            raise ValueError(
                f"`{name}` must end in {axis_size} units for a synapse of shape {self.shape}, "
                f"got shape {x.shape}."
            )

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """Transmit ``x`` (any leading batch axes): $r\\,xW + b$."""
        self._check_width(x, self.shape[0], "x")
        y = x @ self.weights
        if not is_static_one(self.resist_scale):  # a concrete 1 (closed over) is skipped
            y = self.resist_scale * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""Send a post-synaptic signal back through the transpose: $r\,\text{post}\,W^\top$
        (the derivative of $\langle \text{post}, y(x)\rangle$ with respect to $x$)."""
        self._check_width(post, self.shape[1], "post")
        back = post @ self.weights.T
        return back if is_static_one(self.resist_scale) else self.resist_scale * back

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> Float[Array, "n_in n_out"]:
        r"""$C = \sum_{\text{batch}} \text{pre}^\top \text{post}$, one matrix product (the
        Hebbian correlation; $\partial_W \langle \text{post}, \text{pre}\,W\rangle$)."""
        self._check_width(pre, self.shape[0], "pre")
        self._check_width(post, self.shape[1], "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        return outer_sum(pre, post)

    def bias_contract(self, post: Float[Array, "*batch n_out"]) -> Float[Array, " n_out"]:
        r"""$\sum_{\text{batch}} \text{post}$."""
        self._check_width(post, self.shape[1], "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)


# a static synapse is the same map (ngc-learn's name)
StaticSynapse = DenseSynapse
