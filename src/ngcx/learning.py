r"""Compatibility names for applying local rules (earlier ngcx releases).

The plasticity layer is :mod:`ngcx.plasticity`: rules written once over a synapse's
contraction, learning options as optax transforms (:func:`ngcx.plasticity.hebbian`,
:func:`ngcx.plasticity.stdp`), and :func:`ngcx.plasticity.apply_updates`. This module keeps
the earlier entry points working on top of it:

- :func:`hebbian_optimizer` (ngc-learn's convention: the optimiser *descends* along
  ``sign_value`` times the update, so a Hebbian ascent needs ``sign_value = -1``) is
  :func:`ngcx.plasticity.hebbian` with ``sign = -sign_value``;
- :func:`synapse_optimizer` is a plastic synapse's own ``optimizer()``, and
  :func:`synapses_optimizer` combines several (one chain when their options agree);
- :func:`init_optimizer`, :func:`apply_updates`, :func:`per_module`, :func:`trainable`
  (the plastic arrays: synapses' weights and biases).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import equinox as eqx
import jax
import numpy as np
import optax

from ._params import is_static_zero
from .plasticity import (
    PlasticSynapse,
    add_prior,
    apply_updates as apply_updates,
    hebbian,
    init as init_optimizer,
    per_module as per_module,
    plastic as trainable,
    weights_mask as weights_mask,
)


__all__ = [
    "hebbian_optimizer",
    "synapse_optimizer",
    "synapses_optimizer",
    "add_l1_penalty",
    "weights_mask",
    "per_module",
    "trainable",
    "init_optimizer",
    "apply_updates",
]


def add_l1_penalty(lmbda: Any) -> optax.GradientTransformation:
    r"""Add $\lambda\,\mathrm{sign}(W)$ to the incoming gradient of the weights (a Laplace
    prior): :func:`ngcx.plasticity.add_prior` with ``"l1"``."""
    return add_prior("l1", lmbda)


def hebbian_optimizer(
    eta: Any,
    optim_type: str = "sgd",
    sign_value: Any = 1.0,
    w_decay: Any = 0.0,
    prior: str = "none",
    prior_lmbda: Any = 0.0,
    prior_l1_ratio: Any = 0.5,
    momentum: Any = 0.9,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    tau_w: Any = 0.0,
) -> optax.GradientTransformation:
    """:func:`ngcx.plasticity.hebbian` in ngc-learn's sign convention (``sign_value`` 1
    descends along the update, -1 ascends it; it must be non-zero). The other arguments
    have :func:`ngcx.plasticity.hebbian`'s domains (``eta >= 0``, ``momentum``, ``b1``,
    ``b2`` in [0, 1), ``eps > 0``, ...), checked with a ``ValueError`` naming them."""
    if is_static_zero(sign_value):
        raise ValueError("`sign_value` must be non-zero (it sets the direction), got 0.0.")
    return hebbian(
        eta,
        optim_type,
        sign=-jax.numpy.asarray(sign_value),
        w_decay=w_decay,
        prior=prior,
        prior_lmbda=prior_lmbda,
        prior_l1_ratio=prior_l1_ratio,
        momentum=momentum,
        b1=b1,
        b2=b2,
        eps=eps,
        tau_w=tau_w,
    )


def synapse_optimizer(synapse: PlasticSynapse) -> optax.GradientTransformation:
    """The optax chain of a plastic synapse (``synapse.optimizer()``)."""
    if not isinstance(synapse, PlasticSynapse):
        raise TypeError(
            "`synapse` must be a plastic synapse (e.g. HebbianSynapse(...)); a plain synapse "
            f"has no learning options, got {type(synapse).__name__}. Build a chain with "
            "ngcx.plasticity.hebbian(...) instead."
        )
    return synapse.optimizer()


def _same_options(synapses: Sequence[PlasticSynapse]) -> bool:
    first = synapses[0].options
    leaves0, tree0 = jax.tree_util.tree_flatten(first)
    for s in synapses[1:]:
        leaves, tree = jax.tree_util.tree_flatten(s.options)
        if cast(Any, tree) != tree0 or len(leaves) != len(leaves0):
            return False
        for a, b in zip(leaves, leaves0, strict=True):
            if not eqx.is_array(a) or not eqx.is_array(b):
                return False
            try:
                if a.shape != b.shape or not bool(np.all(np.asarray(a) == np.asarray(b))):
                    return False
            except jax.errors.TracerArrayConversionError:
                return False
    return True


def synapses_optimizer(synapses: Sequence[PlasticSynapse]) -> optax.GradientTransformation:
    """The optimiser of a tuple of plastic synapses: one chain over all of them when their
    options agree (one step counter, fewer ops), else :func:`per_module`."""
    synapses = tuple(synapses)
    if not synapses:
        raise ValueError("`synapses` is empty.")
    if _same_options(synapses):
        return synapse_optimizer(synapses[0])
    return per_module([synapse_optimizer(s) for s in synapses])
