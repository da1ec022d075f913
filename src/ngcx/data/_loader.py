"""Mini-batches over named design matrices (ngc-learn's ``DataLoader``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np

from .._custom_types import Key


def _check_key(key: Any) -> None:
    dtype = getattr(key, "dtype", None)
    shape = tuple(getattr(key, "shape", (None,)))
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype == np.uint32 and shape == (2,)
    if not (typed and shape == ()) and not raw:
        shown = type(key).__name__ if dtype is None else f"dtype {dtype}, shape {shape}"
        raise TypeError(
            "`key` must be a single JAX PRNG key (jax.random.key(seed)), got " + shown + "."
        )


class DataLoader:
    """Iterate over mini-batches of one or more named design matrices, sampled without
    replacement.

    Each iteration yields ``[("name", batch), ...]`` in the order of `design_matrices`.
    Every epoch (each ``iter``) draws a new permutation from the loader's key (explicit:
    two loaders with the same key give the same batches). With
    ``ensure_equal_batches=True`` (the default) the last, short batch is completed with
    the first samples of the epoch's permutation (earlier batches' samples re-used, as in
    ngc-learn), so every batch has ``batch_size`` rows and a jitted step never retraces;
    otherwise the last batch is ragged.

    **Arguments:**

    - `design_matrices`: a non-empty sequence of ``("name", matrix)`` pairs, unique
      ``str`` names and NumPy/JAX arrays (at least 1-D) sharing a first axis of at least
      one sample.
    - `batch_size`: a positive int; it may exceed the number of samples (with
      `ensure_equal_batches` the epoch's samples are then repeated to fill the batch).
    - `disable_shuffle`: keep the stored order.
    - `ensure_equal_batches`: complete the last batch (see above).
    - `key`: a JAX PRNG key (``jax.random.key`` or a raw ``uint32`` key of shape
      ``(2,)``; default ``jax.random.key(0)``).

    **Raises:** ``TypeError``/``ValueError`` naming the argument for anything else.
    """

    def __init__(
        self,
        design_matrices: Sequence[tuple[str, Any]],
        batch_size: int,
        disable_shuffle: bool = False,
        ensure_equal_batches: bool = True,
        key: Key | None = None,
    ):
        if isinstance(design_matrices, dict | str) or not isinstance(design_matrices, Sequence):
            raise TypeError(
                "`design_matrices` must be a sequence of (name, array) pairs, got "
                f"{type(design_matrices).__name__}."
            )
        if not design_matrices:
            raise ValueError("`design_matrices` is empty.")
        for entry in design_matrices:
            if not isinstance(entry, tuple | list) or len(entry) != 2:
                raise TypeError(
                    "`design_matrices` must be a sequence of (name, array) pairs, got an "
                    f"entry of type {type(entry).__name__}."
                )
            name, matrix = entry
            if not isinstance(name, str):
                raise TypeError(
                    f"`design_matrices` names must be str, got {type(name).__name__} {name!r}."
                )
            if not hasattr(matrix, "shape") or not hasattr(matrix, "__getitem__"):
                raise TypeError(
                    f"`design_matrices` entry {name!r} must be a NumPy or JAX array, got "
                    f"{type(matrix).__name__}."
                )
            if len(matrix.shape) == 0:
                raise ValueError(
                    f"`design_matrices` entry {name!r} must have a leading sample axis, got "
                    "a 0-d array."
                )
        names = [name for name, _ in design_matrices]
        if len(set(names)) != len(names):
            raise ValueError(f"`design_matrices` names must be unique, got {names}.")
        lengths = {name: int(matrix.shape[0]) for name, matrix in design_matrices}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"`design_matrices` differ in their number of rows: {lengths}.")
        if next(iter(lengths.values())) == 0:
            raise ValueError(f"`design_matrices` hold no samples (0 rows): {lengths}.")
        if not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool):
            raise TypeError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        if batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        if key is not None:
            _check_key(key)
        batch_size = int(batch_size)
        self.design_matrices = [(name, matrix) for name, matrix in design_matrices]
        self.data_len = next(iter(lengths.values()))
        self.batch_size = batch_size
        self.disable_shuffle = disable_shuffle
        self.ensure_equal_batches = ensure_equal_batches
        self.key = jax.random.key(0) if key is None else key
        self.ptrs = np.arange(self.data_len)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        return -(-self.data_len // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[str, Any]]]:
        if not self.disable_shuffle:
            self.key, sub = jax.random.split(self.key)
            self.ptrs = np.asarray(jax.random.permutation(sub, self.data_len))
        for start in range(0, self.data_len, self.batch_size):
            indices = self.ptrs[start : start + self.batch_size]
            if self.ensure_equal_batches and len(indices) < self.batch_size:
                # the epoch's first samples; repeated when the batch exceeds the data
                fill = np.resize(self.ptrs, self.batch_size - len(indices))
                indices = np.concatenate([indices, fill])
            yield [(name, matrix[indices]) for name, matrix in self.design_matrices]
