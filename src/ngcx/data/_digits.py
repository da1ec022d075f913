"""Data sets shipped with ngcx (no downloads at run time).

``load_digits()`` returns the UCI optical-recognition handwritten digits (the 8x8 set
scikit-learn ships as ``load_digits``): 1797 images with 64 pixels in ``[0, 16]``.
"""

from __future__ import annotations

from importlib import resources

import numpy as np


__all__ = ["load_digits", "train_test_split"]


def load_digits(normalize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The embedded 8x8 digits.

    **Arguments:**

    - `normalize`: scale pixels to ``[0, 1]`` (divide by 16) as ``float32``; otherwise
      return the raw ``uint8`` counts in ``[0, 16]``.

    **Returns:**

    ``(images, labels)``: ``images`` of shape ``(1797, 64)``, ``labels`` of shape
    ``(1797,)`` with integer classes ``0..9`` (``int32``).
    """
    with resources.files("ngcx.data").joinpath("digits.npz").open("rb") as f:
        archive = np.load(f)
        images, labels = archive["images"], archive["labels"]
    if normalize:
        images = images.astype(np.float32) / 16.0
    return images, labels.astype(np.int32)


def train_test_split(
    images: np.ndarray, labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle with a fixed ``seed`` and split off ``test_fraction`` of the samples.

    **Returns:** ``(x_train, y_train, x_test, y_test)``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must lie in (0, 1), got {test_fraction}.")
    if len(images) != len(labels):
        raise ValueError(f"`images` and `labels` differ in length: {len(images)} != {len(labels)}.")
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = int(round(len(images) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return images[train], labels[train], images[test], labels[test]
