"""Checkpoints: any ngcx model, optimiser state or PyTree of arrays, saved atomically.

File layout: the magic bytes ``NGCXCKPT``, an 8-byte little-endian header length, a JSON
header (format version, ngcx version, the saved object's class, a user ``config``, the
shape/dtype of every array leaf, the tree's structure with its static configuration and
the SHA-256 of the payload), an 8-byte payload length, then Equinox's leaf serialisation
of the tree.

:func:`save` writes to a temporary file in the target folder (named after the target and
the writing process), flushes it to disk and renames it over the target, so a crash never
leaves a half-written checkpoint; the temporary files that earlier interrupted saves left
behind (their process is gone) are removed by the next save to the same folder.
:func:`load` checks the header against the template tree (class, static configuration
such as time constants or the surrogate, number of leaves, every shape and dtype), the
payload's length and its checksum *before* building anything, and raises
:class:`CheckpointError` (a ``ValueError``) naming the file and what is wrong; it never
returns a half-loaded model. Checkpoints of format 1 (no checksum) still load.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import re
import struct
import tempfile
import time
from pathlib import Path
from typing import Any, TypeVar

import equinox as eqx
import jax
import numpy as np


__all__ = [
    "CheckpointError",
    "save",
    "load",
    "load_header",
    "makedir",
    "serialize",
    "deserialize",
]

MAGIC = b"NGCXCKPT"
FORMAT_VERSION = 2
_READABLE_FORMATS = (1, 2)  # format 1: no payload checksum
_STALE_AGE_S = 3600.0  # a temporary file without a readable pid is stale after an hour
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


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _remove_stale_tmp(path: Path) -> list[Path]:
    """Remove temporary files that interrupted saves of ``path`` left behind: those whose
    writing process (the pid in the name) is no longer running, and unnamed ones older than
    an hour. Returns the files removed."""
    removed: list[Path] = []
    prefix = _tmp_prefix(path)
    now = time.time()
    try:
        candidates = [
            f
            for f in path.parent.iterdir()
            if f.name.startswith(prefix) and f.name.endswith(".tmp")
        ]
    except OSError:
        return removed
    for tmp in candidates:
        rest = tmp.name[len(prefix) : -len(".tmp")]
        pid_text = rest.split(".", 1)[0]
        try:
            stale = not _pid_alive(int(pid_text))
        except ValueError:
            try:
                stale = now - tmp.stat().st_mtime > _STALE_AGE_S
            except OSError:
                continue
        if stale:
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    return removed


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
    buffer = _io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    payload = buffer.getvalue()
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    try:
        header_bytes = json.dumps(header, allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        raise ValueError(f"`config` must be JSON-serialisable (finite numbers): {err}") from err
    _remove_stale_tmp(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f"{_tmp_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent
    )
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
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"cannot read {str(path)!r}: {err}") from err
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
        header = json.loads(data[pos : pos + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise CheckpointError(f"{str(path)!r} has a corrupt header: {err}") from err
    if not isinstance(header, dict):
        raise CheckpointError(
            f"{str(path)!r} has a corrupt header: expected a JSON object, got "
            f"{type(header).__name__}."
        )
    pos += header_len
    (payload_len,) = struct.unpack("<Q", data[pos : pos + 8])
    pos += 8
    payload = data[pos:]
    if len(payload) != payload_len:
        raise CheckpointError(
            f"{str(path)!r} is truncated or padded: payload of {len(payload)} bytes, "
            f"header says {payload_len}."
        )
    if header.get("format") not in _READABLE_FORMATS:
        raise CheckpointError(
            f"{str(path)!r}: unsupported format {header.get('format')!r} (this ngcx reads "
            f"formats {list(_READABLE_FORMATS)})."
        )
    leaves = header.get("leaves")
    if not isinstance(leaves, list) or not all(
        isinstance(spec, list)
        and len(spec) == 2
        and isinstance(spec[0], list)
        and all(isinstance(d, int) for d in spec[0])
        and isinstance(spec[1], str)
        for spec in leaves
    ):
        raise CheckpointError(
            f"{str(path)!r} has a corrupt header: 'leaves' must be a list of [shape, dtype]."
        )
    for key, kind in (("class", str), ("structure", str), ("config", dict)):
        if key in header and not isinstance(header[key], kind):
            raise CheckpointError(
                f"{str(path)!r} has a corrupt header: {key!r} must be a {kind.__name__}, got "
                f"{type(header[key]).__name__}."
            )
    if header["format"] >= 2:
        digest = header.get("sha256")
        if not isinstance(digest, str):
            raise CheckpointError(f"{str(path)!r} has a corrupt header: no payload checksum.")
        if hashlib.sha256(payload).hexdigest() != digest:
            raise CheckpointError(
                f"{str(path)!r} is corrupt: the payload's SHA-256 does not match the header "
                "(the file was changed or damaged after it was written)."
            )
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
