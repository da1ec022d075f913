r"""Running a cell/synapse graph for T steps as one ``lax.scan`` (ngc-learn's
``Process.scan``).

``simulate(step, state, n_steps, inputs=None, record=None)`` runs
``state = step(state, x_t)`` (or ``step(state)`` when there are no inputs) ``n_steps``
times inside a single ``lax.scan``, so under ``jit`` the whole simulation compiles once.
``record(state)`` chooses what to keep from each step (any PyTree, stacked along a new
leading time axis); ``None`` keeps nothing, so memory stays flat in ``n_steps``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax


__all__ = ["simulate"]

S = TypeVar("S")


def simulate(
    step: Callable[..., S],
    state: S,
    n_steps: int | None = None,
    inputs: Any = None,
    record: Callable[[S], Any] | None = None,
    unroll: int | bool = 1,
) -> tuple[S, Any]:
    """Advance ``state`` through ``step`` as one scan.

    **Arguments:**

    - `step`: ``step(state, x_t) -> state`` (or ``step(state) -> state`` without inputs).
    - `state`: initial state (any PyTree).
    - `n_steps`: number of steps; may be omitted when `inputs` is given (its leading axis).
    - `inputs`: optional PyTree whose leaves have a leading time axis of length `n_steps`.
    - `record`: optional ``record(state) -> PyTree`` evaluated after every step.
    - `unroll`: passed to ``lax.scan``.

    **Returns:** ``(final_state, records)``; ``records`` is ``None`` without `record`.
    """
    if inputs is None:
        if n_steps is None or int(n_steps) < 0:
            raise ValueError(f"`n_steps` must be a non-negative int, got {n_steps!r}.")
    else:
        lengths = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(inputs)}
        if len(lengths) != 1:
            raise ValueError(f"`inputs` leaves disagree on their time axis: {sorted(lengths)}.")
        (length,) = lengths
        if n_steps is not None and int(n_steps) != length:
            raise ValueError(f"`n_steps`={n_steps} but `inputs` have {length} steps.")
        n_steps = length

    def body(carry, x):
        new = step(carry) if inputs is None else step(carry, x)
        return new, (None if record is None else record(new))

    return jax.lax.scan(body, state, inputs, length=n_steps, unroll=unroll)
