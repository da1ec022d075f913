r"""Optax glue for local learning rules.

A local rule (Hebbian, STDP, ...) returns an update shaped like its module.
:func:`hebbian_optimizer` builds the optax chain that applies it, following ngc-learn's
convention (its optimisers *subtract* the update, so a Hebbian ascent needs
``sign_value = -1``, as every ngc-museum model passes):

1. ``optax.scale(sign_value)``: $g = s\,\Delta W$;
2. weight decay ``add_decayed_weights(w_decay)``: $g \mathrel{+}= \lambda_{wd} W$;
3. the prior: ``"l2"`` adds $\lambda W$, ``"l1"`` adds $\lambda\,\mathrm{sign}(W)$,
   ``"l1l2"`` adds $\lambda(r\,\mathrm{sign}(W) + \tfrac{1 - r}{2} W)$;
4. ``optax.sgd(eta)``, ``optax.adam(eta)`` or Nesterov momentum (``"nag"``), which
   descend along $g$.

Decay and priors act on the weights only (never the biases) and always pull them
towards zero. With sgd: $W \leftarrow W - \eta(s\,\Delta W + \lambda_{wd} W)$; with
$s = -1$ this is ngc-learn's Hebbian step. (ngc-learn multiplies its prior by the sign too,
so with $s = +1$ its prior pushes weights away from zero, and its convolutional synapses'
``w_decay`` grows weights under its descending optimisers; ngcx's regularisers always
shrink them.) :func:`apply_updates` runs the optimiser over the module's floating-point
arrays, applies the step, then each synapse's ``project()`` (bounds, non-negativity).
:func:`per_module` combines different chains for a tuple of modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from ._checks import check_nonnegative


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
    "project",
]

M = TypeVar("M")


def weights_mask(params: Any) -> Any:
    """``True`` for leaves stored in a field called ``weights``, ``False`` elsewhere (the
    mask that keeps decay and priors off biases)."""

    def is_weight(path, _leaf):
        last = path[-1] if path else None
        return isinstance(last, jax.tree_util.GetAttrKey) and last.name == "weights"

    return jax.tree_util.tree_map_with_path(is_weight, params)


def add_l1_penalty(lmbda: float, mask: Any = None) -> optax.GradientTransformation:
    r"""Add $\lambda\,\mathrm{sign}(W)$ to the incoming gradient (a Laplace prior) where
    ``mask`` (a PyTree of booleans, or a function of the params giving one) is true."""

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("add_l1_penalty needs `params` in `update`.")
        m = mask(params) if callable(mask) else mask
        if m is None:
            m = jax.tree_util.tree_map(lambda _: True, params)
        updates = jax.tree_util.tree_map(
            lambda g, p, keep: g + lmbda * jnp.sign(p) if keep else g, updates, params, m
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


def hebbian_optimizer(
    eta: float,
    optim_type: str = "sgd",
    sign_value: float = 1.0,
    w_decay: float = 0.0,
    prior: str = "none",
    prior_lmbda: float = 0.0,
    prior_l1_ratio: float = 0.5,
    momentum: float = 0.9,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    tau_w: float = 0.0,
) -> optax.GradientTransformation:
    """The optax chain for a Hebbian update; see the module docstring.

    **Arguments:** `eta` learning rate; `optim_type` ``"sgd"``, ``"adam"`` or ``"nag"``;
    `sign_value` multiplies the rule's update before the optimiser descends along it;
    `w_decay` weight decay; `prior` ``"none"``, ``"l1"``, ``"l2"`` or ``"l1l2"`` with
    strength `prior_lmbda` (and `prior_l1_ratio` for ``"l1l2"``); `momentum` for nag;
    `b1`, `b2`, `eps` for adam; `tau_w` (> 0) adds $-W/\tau_w$ to the step after the
    optimiser (the weight decay of ngc-learn's STDP synapses, independent of `eta`).
    """
    check_nonnegative(eta, "eta")
    check_nonnegative(w_decay, "w_decay")
    check_nonnegative(prior_lmbda, "prior_lmbda")
    parts: list[optax.GradientTransformation] = [optax.scale(float(sign_value))]
    if w_decay > 0:
        parts.append(optax.add_decayed_weights(w_decay, mask=weights_mask))
    l2 = prior_lmbda if prior == "l2" else prior_lmbda * (1 - prior_l1_ratio) / 2
    l1 = prior_lmbda if prior == "l1" else prior_lmbda * prior_l1_ratio
    if prior in ("l2", "l1l2") and l2 > 0:
        parts.append(optax.add_decayed_weights(l2, mask=weights_mask))
    if prior in ("l1", "l1l2") and l1 > 0:
        parts.append(add_l1_penalty(l1, mask=weights_mask))
    if prior not in ("none", "l1", "l2", "l1l2"):
        raise ValueError(f"`prior` must be 'none', 'l1', 'l2' or 'l1l2', got {prior!r}.")
    if optim_type == "sgd":
        parts.append(optax.sgd(eta))
    elif optim_type == "adam":
        parts.append(optax.adam(eta, b1=b1, b2=b2, eps=eps))
    elif optim_type == "nag":
        parts.append(optax.sgd(eta, momentum=momentum, nesterov=True))
    else:
        raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
    check_nonnegative(tau_w, "tau_w")
    if tau_w > 0:
        parts.append(optax.add_decayed_weights(-1.0 / tau_w, mask=weights_mask))
    return optax.chain(*parts)


def synapse_optimizer(synapse: Any) -> optax.GradientTransformation:
    """The chain of :func:`hebbian_optimizer` for a plastic synapse's own options
    (``eta``, ``optim_type``, ``sign_value``, ``w_decay``, ``prior``, ``prior_lmbda``,
    ``momentum``, and an STDP synapse's ``tau_w``)."""
    return hebbian_optimizer(
        eta=synapse.eta,
        optim_type=synapse.optim_type,
        sign_value=synapse.sign_value,
        w_decay=synapse.w_decay,
        prior=synapse.prior,
        prior_lmbda=synapse.prior_lmbda,
        prior_l1_ratio=getattr(synapse, "prior_l1_ratio", 0.5),
        momentum=synapse.momentum,
        tau_w=getattr(synapse, "tau_w", 0.0),
    )


_OPTIONS = (
    "eta",
    "optim_type",
    "sign_value",
    "w_decay",
    "prior",
    "prior_lmbda",
    "prior_l1_ratio",
    "momentum",
    "tau_w",
)


def synapses_optimizer(synapses: Sequence[Any]) -> optax.GradientTransformation:
    """The optimiser of a tuple of plastic synapses: one :func:`synapse_optimizer` chain
    over all of them when their options agree (one step counter, fewer ops per step), else
    :func:`per_module` with each synapse's own chain."""
    synapses = tuple(synapses)
    if not synapses:
        raise ValueError("`synapses` is empty.")
    options = {tuple(getattr(s, name, None) for name in _OPTIONS) for s in synapses}
    if len(options) == 1:
        return synapse_optimizer(synapses[0])
    return per_module([synapse_optimizer(s) for s in synapses])


class PerModuleState(NamedTuple):
    inner: tuple[Any, ...]


def per_module(transforms: Sequence[optax.GradientTransformation]) -> optax.GradientTransformation:
    """Apply ``transforms[i]`` to the ``i``-th element of a tuple of modules (each synapse
    with its own options)."""
    transforms = tuple(transforms)

    def init_fn(params):
        if len(params) != len(transforms):
            raise ValueError(f"expected {len(transforms)} modules, got {len(params)}.")
        return PerModuleState(tuple(t.init(p) for t, p in zip(transforms, params, strict=True)))

    def update_fn(updates, state, params=None):
        ps = (None,) * len(transforms) if params is None else params
        out = [
            t.update(u, s, p)
            for t, u, s, p in zip(transforms, updates, state.inner, ps, strict=True)
        ]
        return tuple(u for u, _ in out), PerModuleState(tuple(s for _, s in out))

    return optax.GradientTransformation(init_fn, update_fn)


def trainable(module: Any) -> Any:
    """The floating-point arrays of ``module`` (everything else ``None``)."""
    return eqx.filter(module, eqx.is_inexact_array)


def init_optimizer(optimizer: optax.GradientTransformation, module: Any) -> Any:
    """``optimizer.init`` over the module's trainable arrays."""
    with jax.numpy_dtype_promotion("standard"):
        return optimizer.init(trainable(module))


def project(module: M) -> M:
    """Call ``project()`` on every sub-module that defines it (bounds, non-negativity)."""

    def is_projectable(x: Any) -> bool:
        return isinstance(x, eqx.Module) and callable(getattr(x, "project", None))

    return jax.tree_util.tree_map(
        lambda x: x.project() if is_projectable(x) else x, module, is_leaf=is_projectable
    )


def apply_updates(
    module: M, updates: Any, opt_state: Any, optimizer: optax.GradientTransformation
) -> tuple[M, Any]:
    """Run ``optimizer`` on a local rule's ``updates`` (shaped like ``module``), apply the
    step and project.

    **Returns:** ``(new_module, new_opt_state)``.
    """
    params = trainable(module)
    grads = trainable(updates)
    # optax mixes its int32 step count with floats; keep working when a user (or the
    # test-suite) runs JAX with strict dtype promotion.
    with jax.numpy_dtype_promotion("standard"):
        steps, opt_state = optimizer.update(grads, opt_state, params)
    return project(eqx.apply_updates(module, steps)), opt_state
