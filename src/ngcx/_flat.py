"""A jitted step over a flat list of arrays: zero per-call PyTree overhead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import equinox as eqx
import jax


__all__ = ["FlatStep"]

S = TypeVar("S")


class FlatStep(Generic[S]):
    """Run ``state, aux = fn(state, *args)`` repeatedly under one ``jax.jit``, keeping the
    state as a flat list of arrays between calls.

    ``jax.jit`` flattens and rebuilds its PyTree arguments on every call; for Equinox
    modules that is done in Python and costs tens of microseconds, which is a large share
    of a small training step (a batch-1 PCN step takes ~0.1 ms on CPU). ``FlatStep``
    flattens the state once, passes the list of leaves (flattened in C++), and rebuilds the
    state only when you read :attr:`state`.

    ```python
    step = FlatStep(lambda s, x, y: train(s, x, y), (model, opt_state))
    for x, y in batches:
        metrics = step(x, y)
    model, opt_state = step.state
    ```

    The step compiles once per distinct shape/dtype of ``args`` (see :attr:`compilations`).

    `dynamic` (an Equinox filter spec shaped like `state`, e.g.
    ``(ngcx.plasticity.plastic_mask(model), True)``) folds every leaf where it is false
    into the compiled step as a constant: those leaves (time constants, learning rates,
    sigma ...) must not change in the step, and XLA can fold them into the arithmetic and
    skips passing them on every call. The model's parameters stay ordinary leaves; only
    this step treats them as fixed. :attr:`state` always returns the whole state.
    """

    def __init__(
        self,
        fn: Callable[..., tuple[S, Any]],
        state: S,
        donate: bool = False,
        dynamic: Any = None,
    ):
        if dynamic is None:
            moving, self._constants = state, None
        else:
            moving, self._constants = eqx.partition(state, dynamic)
        self._dynamic = dynamic
        leaves, self._treedef = jax.tree_util.tree_flatten(moving)
        self._leaves = list(leaves)
        treedef = self._treedef
        constants = self._constants

        self._traces = 0

        def flat(leaves, *args):
            self._traces += 1  # runs once per trace, i.e. once per compilation
            current = jax.tree_util.tree_unflatten(treedef, leaves)
            if constants is not None:
                current = eqx.combine(current, constants)
            new_state, aux = fn(current, *args)
            if dynamic is not None:
                new_state, _ = eqx.partition(new_state, dynamic)
            new_leaves, new_def = jax.tree_util.tree_flatten(new_state)
            if new_def != treedef:
                raise ValueError(
                    "the step changed the structure of its state:\n"
                    f"before {treedef}\nafter {new_def}"
                )
            return new_leaves, aux

        self._jitted = jax.jit(flat, donate_argnums=(0,) if donate else ())

    def __call__(self, *args: Any) -> Any:
        self._leaves, aux = self._jitted(self._leaves, *args)
        return aux

    @property
    def leaves(self) -> list[Any]:
        """The state's arrays (e.g. for ``jax.block_until_ready``)."""
        return self._leaves

    @property
    def state(self) -> S:
        """The current state, rebuilt from the leaves (and the folded constants)."""
        moving = jax.tree_util.tree_unflatten(self._treedef, self._leaves)
        if self._constants is None:
            return moving
        return eqx.combine(moving, self._constants)

    @state.setter
    def state(self, value: S) -> None:
        if self._dynamic is not None:
            value, _ = eqx.partition(value, self._dynamic)
        leaves, treedef = jax.tree_util.tree_flatten(value)
        if treedef != self._treedef:  # type: ignore[operator]
            raise ValueError("`state` must keep the structure the step was built with.")
        self._leaves = list(leaves)

    @property
    def compilations(self) -> int:
        """How many times the step has been traced and compiled (counted in Python when
        tracing, which does not depend on jax's dispatch caches)."""
        return self._traces
