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

    **Arguments:** `images` and `labels` with the same (non-zero) number of samples;
    `test_fraction` in ``(0, 1)``, such that neither split is empty (``round(N *
    test_fraction)`` test samples, at least one, and at least one training sample);
    `seed`.

    **Returns:** ``(x_train, y_train, x_test, y_test)``.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, int | float | np.number):
        raise TypeError(f"`test_fraction` must be a number in (0, 1), got {test_fraction!r}.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must lie in (0, 1), got {test_fraction}.")
    if len(images) != len(labels):
        raise ValueError(f"`images` and `labels` differ in length: {len(images)} != {len(labels)}.")
    n = len(images)
    n_test = int(round(n * test_fraction))
    if n_test == 0 or n_test == n:
        which = "test" if n_test == 0 else "training"
        raise ValueError(
            f"`test_fraction` {test_fraction} of {n} samples leaves the {which} split empty "
            f"({n_test} test samples); use a fraction within [{0.5 / max(n, 1):.3g}, "
            f"{1 - 0.5 / max(n, 1):.3g}] or more samples."
        )
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return images[train], labels[train], images[test], labels[test]
