r"""Applying a rule's updates with optax: which leaves are plastic, init, apply, and
per-synapse chains.

The plastic values of a module are the ``weights`` and ``biases`` of every synapse
(:class:`ngcx.synapses.AbstractSynapse`) in it; nothing else (time constants, rule
amplitudes, learning rates, masks) is ever touched by a plasticity optimiser, whatever its
dtype. :func:`plastic` filters a module down to them, :func:`init` builds an optimiser
state over them and :func:`apply_updates` runs the chain and applies the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

import equinox as eqx
import jax
import optax

from ..synapses import AbstractSynapse
from ._transforms import projection_of


__all__ = ["plastic_mask", "plastic", "init", "apply_updates", "per_module"]

M = TypeVar("M")


def _is_synapse(x: Any) -> bool:
    return isinstance(x, AbstractSynapse)


def plastic_mask(module: Any) -> Any:
    """A PyTree of booleans shaped like `module`: ``True`` at the ``weights`` and ``biases``
    of every synapse, ``False`` elsewhere."""

    def mark(x: Any) -> Any:
        if not _is_synapse(x):
            return jax.tree_util.tree_map(lambda _: False, x)
        marks = jax.tree_util.tree_map(lambda _: False, x)
        return eqx.tree_at(
            lambda s: (s.weights, s.biases),
            marks,
            (True, None if x.biases is None else True),
            is_leaf=lambda v: v is None,
        )

    return jax.tree_util.tree_map(mark, module, is_leaf=_is_synapse)


def plastic(module: M) -> M:
    """`module` with every leaf but the synapses' weights and biases replaced by ``None``."""
    return eqx.filter(module, plastic_mask(module))


def init(optimizer: optax.GradientTransformation, module: Any) -> Any:
    """``optimizer.init`` over the plastic arrays of `module`."""
    with jax.numpy_dtype_promotion("standard"):
        return optimizer.init(plastic(module))


def apply_updates(
    module: M, updates: Any, opt_state: Any, optimizer: optax.GradientTransformation
) -> tuple[M, Any]:
    r"""Run `optimizer` on a rule's `updates` (shaped like `module`; only the synapses'
    weights and biases are read) and apply the step; projections are part of the chain.
    For a chain of :func:`ngcx.plasticity.hebbian` / :func:`ngcx.plasticity.stdp` (or a
    projection transform) the new weights are computed as $\Pi(W + u)$ directly, one pass
    and exactly on the bounds, instead of $W + (\Pi(W + u) - W)$.

    **Returns:** ``(new_module, new_opt_state)``.
    """
    mask = plastic_mask(module)
    params = eqx.filter(module, mask)
    grads = eqx.filter(updates, mask)
    fast = projection_of(optimizer)
    # optax mixes its int32 step count with floats; keep working under strict promotion
    with jax.numpy_dtype_promotion("standard"):
        if fast is None:
            steps, opt_state = optimizer.update(grads, opt_state, params)
            return eqx.apply_updates(module, steps), opt_state
        # a chain of ngcx.plasticity ending in projections: land exactly on Pi(W + u)
        core_update, project = fast
        steps, opt_state = core_update(grads, opt_state, params)
        moved = eqx.apply_updates(module, steps)
        projected = project(eqx.filter(moved, mask))
    return eqx.combine(projected, moved), opt_state


class PerModuleState(NamedTuple):
    """State of :func:`per_module`: one inner state per module."""

    inner: tuple[Any, ...]


def per_module(transforms: Sequence[optax.GradientTransformation]) -> optax.GradientTransformation:
    """Apply ``transforms[i]`` to the ``i``-th element of a tuple of modules (each synapse
    with its own chain)."""
    transforms = tuple(transforms)

    def init_fn(params: Any) -> PerModuleState:
        if len(params) != len(transforms):
            raise ValueError(f"expected {len(transforms)} modules, got {len(params)}.")
        return PerModuleState(tuple(t.init(p) for t, p in zip(transforms, params, strict=True)))

    def update_fn(updates: Any, state: PerModuleState, params: Any = None) -> tuple[Any, Any]:
        ps = (None,) * len(transforms) if params is None else params
        out = [
            t.update(u, s, p)
            for t, u, s, p in zip(transforms, updates, state.inner, ps, strict=True)
        ]
        return tuple(u for u, _ in out), PerModuleState(tuple(s for _, s in out))

    return optax.GradientTransformation(init_fn, update_fn)
