"""IDX files (the MNIST / Fashion-MNIST format), read and written with NumPy.

An IDX file is two zero bytes, a type code, the number of dimensions, the dimensions as
big-endian ``uint32``, then the data in big-endian order. ``.gz`` files are read
transparently. Nothing is downloaded: point :func:`load_mnist` at files you have.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np


_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=").str[1:]: code for code, dt in _TYPES.items()}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a NumPy array of its shape and type.

    Raises ``ValueError`` naming the file if the header is malformed or the data is
    truncated.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"`path`: no IDX file at {str(p)!r}.")
    with _open(p) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise ValueError(f"{str(p)!r} is not an IDX file (bad magic number).")
    dtype, ndim = _TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{str(p)!r} is truncated inside its header.")
    shape = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{str(p)!r} holds {len(data) - header} data bytes, its header says {expected}."
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def save_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzipped when the name ends in ``.gz``)."""
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=").str[1:]
    if key not in _CODES:
        raise ValueError(f"`array` dtype {arr.dtype} has no IDX type code.")
    code = _CODES[key]
    p = Path(path)
    body = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    body += arr.astype(_TYPES[code]).tobytes()
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "wb") as f:
        f.write(body)
    return p


def load_mnist(
    folder: str | os.PathLike, kind: str = "train", normalize: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Read MNIST or Fashion-MNIST from ``folder`` (files ``{prefix}-images-idx3-ubyte``
    and ``{prefix}-labels-idx1-ubyte``, optionally ``.gz``, with prefix ``train`` or
    ``t10k``).

    **Returns:** ``(images, labels)``: images ``(N, rows * cols)`` as ``float32`` in
    ``[0, 1]`` (raw ``uint8`` with ``normalize=False``) and ``int32`` labels.
    """
    prefix = {"train": "train", "test": "t10k", "t10k": "t10k"}.get(kind)
    if prefix is None:
        raise ValueError(f"`kind` must be 'train' or 'test', got {kind!r}.")
    base = Path(folder)

    def find(stem: str) -> Path:
        for candidate in (base / stem, base / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        raise ValueError(f"`folder`: no {stem}[.gz] in {str(base)!r}.")

    images = load_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = load_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"unexpected MNIST shapes: images {images.shape}, labels {labels.shape}.")
    flat = images.reshape(len(images), -1)
    return (flat.astype(np.float32) / 255.0 if normalize else flat), labels.astype(np.int32)
