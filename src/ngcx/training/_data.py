r"""The data a training command reads: ``--data digits|mnist:DIR|fashion-mnist:DIR|npz:FILE``.

Nothing is downloaded. ``digits`` is the embedded 8x8 set (1797 images, split by
``test_fraction`` with ``data_seed``); ``mnist:DIR`` and ``fashion-mnist:DIR`` read the
four IDX files of MNIST or Fashion-MNIST (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
each optionally gzipped) with their fixed train/test split; ``npz:FILE`` reads a NumPy
archive with arrays ``x`` (``(N, D)`` or ``(N, H, W)``) and integer labels ``y``
(``(N,)``), plus optionally ``x_test``/``y_test`` (otherwise split like digits). Pixel
values: digits and IDX images are scaled to ``[0, 1]``; an ``npz`` archive's ``uint8``
images are divided by 255, float arrays are used as they are.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np


__all__ = ["Dataset", "load_dataset", "DATA_KINDS"]

DATA_KINDS = ("digits", "mnist", "fashion-mnist", "npz")


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A labelled image (or vector) data set split into training and test samples.

    ``x_*`` are ``float32`` of shape ``(N, D)`` (images flattened row-major), ``y_*`` are
    ``int32`` class labels of shape ``(N,)``; ``image_shape`` is ``(H, W)`` when the samples
    are images (``None`` otherwise); ``n_classes`` is ``max(label) + 1`` over both splits
    (10 for the built-in sets)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int] | None
    n_classes: int

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def load_dataset(spec: str, *, test_fraction: float = 0.2, data_seed: int = 0) -> Dataset:
    """The data set named by `spec` (see the module docstring). Raises ``ValueError``
    naming ``--data``, the value and what was expected."""
    from ..data import load_digits, load_mnist, train_test_split

    kind, _, where = str(spec).partition(":")
    if kind not in DATA_KINDS or (kind == "digits") == bool(where):
        raise ValueError(
            f"`data` (--data) must be digits, mnist:DIR, fashion-mnist:DIR or npz:FILE, "
            f"got {spec!r}."
        )
    if kind == "digits":
        images, labels = load_digits()
        split = train_test_split(images, labels, test_fraction, seed=data_seed)
        return Dataset("digits", *split, image_shape=(8, 8), n_classes=10)
    if kind in ("mnist", "fashion-mnist"):
        x_train, y_train = load_mnist(where, "train")
        x_test, y_test = load_mnist(where, "test")
        side = int(round(math.sqrt(x_train.shape[1])))
        return Dataset(kind, x_train, y_train, x_test, y_test, (side, side), 10)
    return _load_npz(Path(where), test_fraction, data_seed)


def _images(x: np.ndarray, name: str, path: Path) -> tuple[np.ndarray, tuple[int, int] | None]:
    if x.ndim not in (2, 3) or len(x) == 0:
        raise ValueError(
            f"`data` npz:{path}: array {name!r} must have shape (N, D) or (N, H, W) with N > 0, "
            f"got {x.shape}."
        )
    if not (np.issubdtype(x.dtype, np.number) and not np.issubdtype(x.dtype, np.complexfloating)):
        raise ValueError(f"`data` npz:{path}: array {name!r} must be real numbers, got {x.dtype}.")
    shape = tuple(x.shape[1:]) if x.ndim == 3 else None
    flat = x.reshape(len(x), -1)
    scaled = flat.astype(np.float32) / 255.0 if x.dtype == np.uint8 else flat.astype(np.float32)
    if not np.isfinite(scaled).all():
        raise ValueError(f"`data` npz:{path}: array {name!r} holds NaN or infinite values.")
    if shape is None:
        side = int(round(math.sqrt(flat.shape[1])))
        shape = (side, side) if side * side == flat.shape[1] else None
    return scaled, shape


def _labels(y: np.ndarray, n: int, name: str, path: Path) -> np.ndarray:
    if y.shape != (n,):
        raise ValueError(
            f"`data` npz:{path}: array {name!r} must have shape ({n},) (one label per sample), "
            f"got {y.shape}."
        )
    if not np.issubdtype(y.dtype, np.integer) or (n and y.min() < 0):
        raise ValueError(
            f"`data` npz:{path}: array {name!r} must hold class labels (integers >= 0), "
            f"got dtype {y.dtype}."
        )
    return y.astype(np.int32)


def _load_npz(path: Path, test_fraction: float, data_seed: int) -> Dataset:
    from ..data import train_test_split

    if not path.is_file():
        raise ValueError(f"`data` npz:{path}: no such file (an .npz archive with arrays x and y).")
    try:
        archive = np.load(path, allow_pickle=False)
        arrays = {k: archive[k] for k in archive.files}
    except Exception as err:
        raise ValueError(f"`data` npz:{path} is not a readable .npz archive: {err}") from err
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing or (("x_test" in arrays) != ("y_test" in arrays)):
        raise ValueError(
            f"`data` npz:{path} must hold arrays x and y (and optionally both x_test and "
            f"y_test), got {', '.join(sorted(arrays)) or 'none'}."
        )
    x, shape = _images(arrays["x"], "x", path)
    y = _labels(arrays["y"], len(x), "y", path)
    if "x_test" in arrays:
        x_test, test_shape = _images(arrays["x_test"], "x_test", path)
        if x_test.shape[1] != x.shape[1]:
            raise ValueError(
                f"`data` npz:{path}: x_test has {x_test.shape[1]} features per sample, x has "
                f"{x.shape[1]}."
            )
        y_test = _labels(arrays["y_test"], len(x_test), "y_test", path)
        split = (x, y, x_test, y_test)
    else:
        split = train_test_split(x, y, test_fraction, seed=data_seed)
    n_classes = int(max(split[1].max(), split[3].max())) + 1
    return Dataset(f"npz:{path}", *split, image_shape=shape, n_classes=n_classes)
