"""Checkpoints: any ngcx model, optimiser state or PyTree of arrays, saved atomically.

File layout: the magic bytes ``NGCXCKPT``, an 8-byte little-endian header length, a JSON
header (format version, ngcx version, the saved object's class, a user ``config``, the
shape/dtype of every array leaf and the tree's structure with its static configuration),
then Equinox's leaf serialisation of the tree.

:func:`save` writes to a temporary file in the target folder, flushes it to disk and
renames it over the target, so a crash never leaves a half-written checkpoint.
:func:`load` checks the header against the template tree (class, static configuration
such as time constants or the surrogate, number of leaves, every shape and dtype) and the
payload's length *before* building anything, and raises
:class:`CheckpointError` (a ``ValueError``) naming what is wrong; it never returns a
half-loaded model.
"""

from __future__ import annotations

import io as _io
import json
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import equinox as eqx
import jax
import numpy as np


__all__ = ["CheckpointError", "save", "load", "load_header", "makedir", "serialize", "deserialize"]

MAGIC = b"NGCXCKPT"
FORMAT_VERSION = 1
T = TypeVar("T")


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupt or does not match its template."""


def _class_name(tree: Any) -> str:
    cls = type(tree)
    return f"{cls.__module__}.{cls.__qualname__}"


def _leaf_specs(tree: Any) -> list[list[Any]]:
    specs = []
    for leaf in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array_like)):
        arr = np.asarray(leaf)
        specs.append([list(arr.shape), str(arr.dtype)])
    return specs


def _structure(tree: Any) -> str:
    """The tree's structure and static fields as text (memory addresses removed)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", str(jax.tree_util.tree_structure(tree)))


def makedir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed; return it as a ``Path``."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def save(path: str | os.PathLike, tree: Any, *, config: dict[str, Any] | None = None) -> Path:
    """Save ``tree`` (a model, optimiser state, ...) to ``path`` atomically.

    **Arguments:** `path` the file to write (its folder is created); `tree` any PyTree
    whose leaves are arrays or Python scalars; `config` a JSON-serialisable dict stored in
    the header (e.g. the constructor arguments).

    **Returns:** the path written.
    """
    from . import __version__

    path = Path(path)
    makedir(path.parent)
    header = {
        "format": FORMAT_VERSION,
        "ngcx_version": __version__,
        "class": _class_name(tree),
        "config": config or {},
        "leaves": _leaf_specs(tree),
        "structure": _structure(tree),
    }
    try:
        header_bytes = json.dumps(header).encode()
    except TypeError as err:
        raise ValueError(f"`config` must be JSON-serialisable: {err}") from err
    buffer = _io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    payload = buffer.getvalue()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(struct.pack("<Q", len(header_bytes)))
            f.write(header_bytes)
            f.write(struct.pack("<Q", len(payload)))
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> tuple[dict[str, Any], bytes]:
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {str(path)!r}.")
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{str(path)!r} is not an ngcx checkpoint (bad magic bytes).")
    pos = len(MAGIC)
    if len(data) < pos + 8:
        raise CheckpointError(f"{str(path)!r} is truncated (no header length).")
    (header_len,) = struct.unpack("<Q", data[pos : pos + 8])
    pos += 8
    if len(data) < pos + header_len + 8:
        raise CheckpointError(f"{str(path)!r} is truncated inside its header.")
    try:
        header = json.loads(data[pos : pos + header_len])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{str(path)!r} has a corrupt header: {err}") from err
    pos += header_len
    (payload_len,) = struct.unpack("<Q", data[pos : pos + 8])
    pos += 8
    payload = data[pos:]
    if len(payload) != payload_len:
        raise CheckpointError(
            f"{str(path)!r} is truncated or padded: payload of {len(payload)} bytes, "
            f"header says {payload_len}."
        )
    if header.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{str(path)!r}: unsupported format {header.get('format')!r}.")
    return header, payload


def load_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of a checkpoint (validated as in :func:`load`)."""
    return _read(Path(path))[0]


def load(path: str | os.PathLike, like: T) -> T:
    """Load a checkpoint into the structure of ``like`` (a template of the same class and
    shapes, e.g. a freshly constructed model).

    Raises :class:`CheckpointError` if the file is missing, truncated or corrupt, or if its
    class, leaf count, shapes or dtypes differ from ``like``'s.
    """
    header, payload = _read(Path(path))
    expected_class = _class_name(like)
    if header.get("class") != expected_class:
        raise CheckpointError(
            f"checkpoint holds a {header.get('class')!r}, but `like` is a {expected_class!r}."
        )
    specs = _leaf_specs(like)
    saved = header.get("leaves")
    if saved is None or len(saved) != len(specs):
        raise CheckpointError(
            f"checkpoint has {None if saved is None else len(saved)} array leaves, "
            f"`like` has {len(specs)}."
        )
    for i, (got, want) in enumerate(zip(saved, specs, strict=True)):
        if list(got) != list(want):
            raise CheckpointError(f"leaf {i}: checkpoint has shape/dtype {got}, `like` has {want}.")
    saved_structure = header.get("structure")
    if saved_structure is not None and saved_structure != _structure(like):
        raise CheckpointError(
            "`like` is configured differently from the saved tree (its static fields, e.g. "
            "time constants, sizes or the surrogate, differ); build the template with the "
            f"saved configuration (header 'config': {header.get('config')})."
        )
    try:
        return eqx.tree_deserialise_leaves(_io.BytesIO(payload), like)
    except Exception as err:  # a corrupt payload of the right length
        raise CheckpointError(f"{str(path)!r} has a corrupt payload: {err}") from err


def serialize(tree: Any, fname: str | os.PathLike, config: dict[str, Any] | None = None) -> Path:
    """ngc-learn's name for :func:`save` (atomic; arguments in ngc-learn's order)."""
    return save(fname, tree, config=config)


def deserialize(fname: str | os.PathLike, like: T) -> T:
    """ngc-learn's name for :func:`load`. Equinox rebuilds a tree from its leaves, so a
    template ``like`` of the saved structure is required (ngc-learn unpickles instead)."""
    return load(fname, like)
