"""IDX files (the MNIST / Fashion-MNIST format), read and written with NumPy.

An IDX file is two zero bytes, a type code, the number of dimensions, the dimensions as
big-endian ``uint32``, then the data in big-endian order. ``.gz`` files are read
transparently. Nothing is downloaded: point :func:`load_mnist` at files you have.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
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


_GZIP_MAGIC = b"\x1f\x8b"

#: Where the MNIST-format files can be obtained (ngcx downloads nothing).
_SOURCES = (
    "MNIST: https://yann.lecun.com/exdb/mnist/ (mirror: "
    "https://ossci-datasets.s3.amazonaws.com/mnist/); Fashion-MNIST: "
    "https://github.com/zalandoresearch/fashion-mnist"
)


def _read(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is a gzip file (whatever its name)."""
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{str(path)!r} is a corrupt or truncated gzip file: {err}.") from None
    return raw  # uncompressed (also when named .gz)


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzipped or not: a gzip file is recognised by its content) into a
    NumPy array of its shape and type.

    **Raises:** ``ValueError`` naming the file when it does not exist, is shorter than
    its 4-byte magic number, does not start with two zero bytes, has an unknown type code
    (known: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64),
    is truncated inside its header, holds a payload whose size differs from the one its
    dimensions give, or is a corrupt gzip file.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"`path`: no IDX file at {str(p)!r}.")
    data = _read(p)
    if len(data) < 4:
        raise ValueError(
            f"{str(p)!r} is not an IDX file: {len(data)} bytes, shorter than the 4-byte "
            "magic number."
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{str(p)!r} is not an IDX file (bad magic number {data[:4].hex()}: it must "
            "start with two zero bytes)."
        )
    if data[2] not in _TYPES:
        known = ", ".join(f"0x{c:02X}" for c in _TYPES)
        raise ValueError(
            f"{str(p)!r} has an unknown IDX type code 0x{data[2]:02X} in its magic number "
            f"(known: {known})."
        )
    dtype, ndim = _TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{str(p)!r} is truncated inside its header: {len(data)} bytes, the {ndim} "
            f"dimensions need {header}."
        )
    shape = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{str(p)!r} holds {len(data) - header} data bytes, its header says {expected} "
            f"(dimensions {shape} of {dtype.itemsize}-byte {dtype.newbyteorder('=')})."
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
    ``t10k``; `kind` ``"train"`` or ``"test"``).

    **Raises:** ``ValueError`` naming the folder and the expected file names (and where
    to get them) when a file is missing, and naming the file for a malformed file or
    images and labels of different counts.

    **Returns:** ``(images, labels)``: images ``(N, rows * cols)`` as ``float32`` in
    ``[0, 1]`` (raw ``uint8`` with ``normalize=False``) and ``int32`` labels.
    """
    prefix = {"train": "train", "test": "t10k", "t10k": "t10k"}.get(kind)
    if prefix is None:
        raise ValueError(f"`kind` must be 'train' or 'test', got {kind!r}.")
    base = Path(folder)
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    expected = " and ".join(f"{stem}[.gz]" for stem in stems)
    if not base.is_dir():
        raise ValueError(
            f"`folder`: {str(base)!r} is not a directory; it must hold {expected} "
            f"(ngcx downloads nothing; get them from {_SOURCES})."
        )

    def find(stem: str) -> Path:
        for candidate in (base / stem, base / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        raise ValueError(
            f"`folder`: no {stem}[.gz] in {str(base)!r}; it must hold {expected} "
            f"(ngcx downloads nothing; get them from {_SOURCES})."
        )

    images_path, labels_path = find(stems[0]), find(stems[1])
    images, labels = load_idx(images_path), load_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(
            f"{str(images_path)!r} must hold images of shape (N, rows, cols), got shape "
            f"{images.shape}."
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{str(labels_path)!r} must hold labels of shape (N,), got shape {labels.shape}."
        )
    if len(images) != len(labels):
        raise ValueError(
            f"{str(images_path)!r} holds {len(images)} images but {str(labels_path)!r} holds "
            f"{len(labels)} labels."
        )
    flat = images.reshape(len(images), -1)
    return (flat.astype(np.float32) / 255.0 if normalize else flat), labels.astype(np.int32)
