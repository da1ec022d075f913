r"""Running a cell/synapse graph for T steps as one ``lax.scan`` (ngc-learn's
``Process.scan``).

``simulate(step, state, n_steps, inputs=None, record=None)`` runs
``state = step(state, x_t)`` (or ``step(state)`` when there are no inputs) ``n_steps``
times inside a single ``lax.scan``, so under ``jit`` the whole simulation compiles once.
``record(state)`` chooses what to keep from each step (any PyTree, stacked along a new
leading time axis); ``None`` keeps nothing, so memory stays flat in ``n_steps``.

``simulate_chunked`` runs very long simulations (10^5 steps and more) as a Python loop over
fixed-length chunks, each one jitted ``lax.scan`` (compiled once), handing each chunk's
records to ``on_chunk`` (to reduce, stream to disk, or keep on the host): device memory is
bounded by one chunk whatever the number of steps.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar

import jax


__all__ = ["simulate", "simulate_chunked"]

S = TypeVar("S")


def _steps(value: Any, name: str) -> int:
    """``value`` as a non-negative int; ``ValueError`` naming ``name`` otherwise (a float
    such as ``2.5`` or a string is refused rather than truncated or parsed)."""
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be a non-negative int, got {value!r}.")
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"`{name}` must be a non-negative int, got {value!r}.") from None
    if n < 0:
        raise ValueError(f"`{name}` must be a non-negative int, got {value!r}.")
    return n


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
    - `n_steps`: number of steps, an int >= 0; may be omitted when `inputs` is given (its
      leading axis).
    - `inputs`: optional PyTree whose leaves are arrays with a leading time axis of
      length `n_steps` (``ValueError`` naming `inputs` for scalars, non-arrays or
      disagreeing lengths).
    - `record`: optional ``record(state) -> PyTree`` evaluated after every step.
    - `unroll`: passed to ``lax.scan``.

    **Returns:** ``(final_state, records)``; ``records`` is ``None`` without `record`.
    """
    leaves = None if inputs is None else jax.tree_util.tree_leaves(inputs)
    if n_steps is not None:
        n_steps = _steps(n_steps, "n_steps")
    if not leaves:  # no inputs (None or a PyTree without arrays)
        if n_steps is None:
            raise ValueError(
                "`n_steps` must be a non-negative int (it may be omitted only when `inputs` "
                "has array leaves), got None."
            )
    else:
        for leaf in leaves:
            if not hasattr(leaf, "shape") or len(leaf.shape) == 0:
                raise ValueError(
                    "every leaf of `inputs` must be an array with a leading time axis, got "
                    f"{type(leaf).__name__} of shape {getattr(leaf, 'shape', ())}."
                )
        lengths = {leaf.shape[0] for leaf in leaves}
        if len(lengths) != 1:
            raise ValueError(f"`inputs` leaves disagree on their time axis: {sorted(lengths)}.")
        (length,) = lengths
        if n_steps is not None and n_steps != length:
            raise ValueError(
                f"`n_steps`={n_steps} but the leading (time) axis of `inputs` has {length} steps."
            )
        n_steps = length

    def body(carry, x):
        new = step(carry) if inputs is None else step(carry, x)
        return new, (None if record is None else record(new))

    return jax.lax.scan(body, state, inputs, length=n_steps, unroll=unroll)


def simulate_chunked(
    step: Callable[..., S],
    state: S,
    n_steps: int,
    chunk_size: int = 1000,
    inputs: Callable[[int, int], Any] | None = None,
    record: Callable[[S], Any] | None = None,
    on_chunk: Callable[[int, Any], None] | None = None,
) -> tuple[S, list[Any]]:
    """Advance ``state`` for `n_steps` steps as jitted scans of `chunk_size` steps.

    **Arguments:**

    - `step`: ``step(state, x_t) -> state`` (or ``step(state)`` without `inputs`).
    - `state`: initial state.
    - `n_steps`: total number of steps (an int >= 0); `chunk_size`: steps per scan (an
      int >= 1; the last chunk may be shorter and compiles once more).
    - `inputs`: optional ``inputs(start, length) -> PyTree`` giving the inputs of the
      steps ``start .. start + length - 1`` (leading time axis), so a long input stream
      never has to exist at once.
    - `record`: optional ``record(state) -> PyTree`` evaluated after every step.
    - `on_chunk`: optional ``on_chunk(start, records)`` called with each chunk's records
      (device arrays). Without it, records are moved to host memory (NumPy) and returned.

    **Returns:** ``(final_state, chunks)``: the list of per-chunk records on the host
    (empty when `record` is ``None`` or `on_chunk` consumes them).
    """
    n_steps = _steps(n_steps, "n_steps")
    chunk_size = _steps(chunk_size, "chunk_size")
    if chunk_size == 0:
        raise ValueError(f"`chunk_size` must be a positive int, got {chunk_size!r}.")

    def chunk(state, xs, length):
        return simulate(step, state, n_steps=length, inputs=xs, record=record)

    run = jax.jit(chunk, static_argnames="length")
    kept: list[Any] = []
    start = 0
    while start < n_steps:
        length = min(int(chunk_size), int(n_steps) - start)
        xs = None if inputs is None else inputs(start, length)
        state, records = run(state, xs, length=length)
        if record is not None:
            if on_chunk is not None:
                on_chunk(start, records)
            else:
                kept.append(jax.device_get(records))
        start += length
    return state, kept
