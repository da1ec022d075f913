r"""What every training run checks: its output folder, and that its
numbers stay finite (used by :mod:`ngcx.training` and the CLI).

- :func:`prepare_out` creates the output folder and proves it writable *before* training
  (a read-only ``--out`` fails in a second, not after the run); a folder it created is
  removed again when the check fails.
- :func:`check_finite_epoch` raises :class:`NonFiniteError` naming the quantity, the
  epoch and the first batch where a loss/energy, or any parameter, became NaN or infinite.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


__all__ = ["NonFiniteError", "prepare_out", "check_finite_epoch"]


class NonFiniteError(FloatingPointError):
    """A training run's loss, energy or parameters became NaN or infinite."""


def prepare_out(out: str | os.PathLike) -> Path:
    """Create the output folder `out` (and its parents) and check that a file can be
    written in it. Raises ``ValueError`` naming `out` when it is a file or not writable;
    the folders this call created are removed again in that case."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"`out` {str(path)!r} exists and is not a folder.")
    created = None
    probe = path
    while not probe.exists():  # the top-most folder this call creates
        created, probe = probe, probe.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".ngcx-write-check.", delete=True):
            pass
    except OSError as err:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise ValueError(f"`out` {str(path)!r} is not writable: {err.strerror or err}.") from err
    return path


def _first_bad(values: Sequence[Any]) -> int | None:
    arr = np.asarray(jax.device_get(values), dtype=np.float64).reshape(len(values), -1)
    bad = ~np.isfinite(arr).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def check_finite_epoch(
    name: str, values: Sequence[Any], params: Any, epoch: int, *, where: str
) -> None:
    """Raise :class:`NonFiniteError` if any of an epoch's per-batch `values` (the loss or
    energy called `name`) or any inexact array leaf of `params` is NaN or infinite; the
    message names `where` (the model), the quantity, the epoch (1-based) and the first
    bad batch."""
    if len(values):
        first = _first_bad(values)
        if first is not None:
            raise NonFiniteError(
                f"{where}: the {name} became non-finite at epoch {epoch + 1}, batch "
                f"{first + 1} (value {np.asarray(jax.device_get(values[first])).ravel()[0]}); "
                "lower the learning rate or check the data for NaN/Inf."
            )
    leaves = jax.tree_util.tree_leaves(eqx.filter(params, eqx.is_inexact_array))
    if leaves:
        finite = jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])
        bad = np.flatnonzero(~np.asarray(finite))
        if bad.size:
            paths = [
                jax.tree_util.keystr(p)
                for p, _ in jax.tree_util.tree_leaves_with_path(
                    eqx.filter(params, eqx.is_inexact_array)
                )
            ]
            raise NonFiniteError(
                f"{where}: parameter {paths[bad[0]]} became non-finite during epoch "
                f"{epoch + 1}; lower the learning rate or check the data for NaN/Inf."
            )
