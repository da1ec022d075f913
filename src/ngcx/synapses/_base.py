r"""The abstract synapse: a differentiable map with a contraction for local learning.

A synapse knows nothing of learning rules or optimisers (those live in
:mod:`ngcx.plasticity`). It is a map $y = f_W(x)$ with plastic values ``weights`` (and
optionally ``biases``) as ordinary array leaves, and it offers what a local rule needs:

- ``__call__(x)``: transmit;
- ``backtransmit(post)``: $\partial_x \langle \text{post}, f_W(x)\rangle$ (the transpose);
- ``contract(pre, post)``: the weight-shaped correlation of pre- and postsynaptic activity,
  $C(\text{pre}, \text{post}) = \partial_W \langle \text{post}, g_W(\text{pre})\rangle$ with
  $g$ the linear map without scale or bias, summed over the batch (for dense synapses
  $\text{pre}^\top \text{post}$, one matrix product; for conv/deconv the filter
  correlation);
- ``bias_contract(post)``: $\sum \text{post}$ over every axis but the output channels;
- ``updates(dW, db)``: the synapse with its plastic arrays replaced by updates, the form
  optax applies (other leaves are left as they are and never updated).

Every rule of :mod:`ngcx.plasticity` is written once over ``contract``, so the same rule
object serves dense, conv and deconv synapses.
"""

from __future__ import annotations

import abc
from typing import Any, TypeVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array


__all__ = ["AbstractSynapse"]

S = TypeVar("S", bound="AbstractSynapse")


class AbstractSynapse(eqx.Module):
    """Abstract base of every synapse (see the module docstring). Concrete synapses are
    final; they declare ``weights``, ``biases`` (``None`` without biases) and
    ``resist_scale`` (an array leaf) and implement the abstract methods."""

    weights: eqx.AbstractVar[Array]
    biases: eqx.AbstractVar[Array | None]
    resist_scale: eqx.AbstractVar[Array]

    @abc.abstractmethod
    def __call__(self, x: Any) -> Any:
        """Transmit presynaptic activity ``x``."""

    @abc.abstractmethod
    def backtransmit(self, post: Any) -> Any:
        """The transpose map: $\\partial_x \\langle \\text{post}, y(x)\\rangle$."""

    @abc.abstractmethod
    def contract(self, pre: Any, post: Any) -> Array:
        """Weight-shaped, batch-summed correlation $C(\\text{pre}, \\text{post})$."""

    @abc.abstractmethod
    def bias_contract(self, post: Any) -> Array:
        """Bias-shaped sum of ``post`` over every axis but the output channels."""

    def updates(self: S, dW: Array, db: Array | None = None) -> S:
        """This synapse with ``weights`` replaced by `dW` and ``biases`` by `db` (zeros when
        the synapse has biases and `db` is ``None``): a rule's result, shaped like the
        synapse so optax can apply it."""
        if self.biases is None:
            db = None
        elif db is None:
            db = jnp.zeros_like(self.biases)
        return eqx.tree_at(
            lambda s: (s.weights, s.biases), self, (dW, db), is_leaf=lambda x: x is None
        )
