"""Mini-batches over named design matrices (ngc-learn's ``DataLoader``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import jax
import numpy as np

from .._custom_types import Key


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

    **Arguments:** `design_matrices` ``[("name", matrix), ...]`` sharing their first axis;
    `batch_size`; `disable_shuffle` keep the stored order; `ensure_equal_batches`;
    `key` a PRNG key (default ``jax.random.key(0)``).
    """

    def __init__(
        self,
        design_matrices: Sequence[tuple[str, Any]],
        batch_size: int,
        disable_shuffle: bool = False,
        ensure_equal_batches: bool = True,
        key: Key | None = None,
    ):
        if not design_matrices:
            raise ValueError("`design_matrices` is empty.")
        names = [name for name, _ in design_matrices]
        if len(set(names)) != len(names):
            raise ValueError(f"`design_matrices` names must be unique, got {names}.")
        lengths = {name: len(matrix) for name, matrix in design_matrices}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"`design_matrices` differ in their number of rows: {lengths}.")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
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
                fill = self.ptrs[: self.batch_size - len(indices)]
                indices = np.concatenate([indices, fill])
            yield [(name, matrix[indices]) for name, matrix in self.design_matrices]
