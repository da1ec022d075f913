"""Shared test helpers: central finite differences in float64 (NumPy)."""

from collections.abc import Callable

import numpy as np


def central_difference(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-4):
    """Elementwise derivative of an elementwise ``f`` by central differences."""
    x = np.asarray(x, dtype=np.float64)
    return (np.asarray(f(x + eps), np.float64) - np.asarray(f(x - eps), np.float64)) / (2 * eps)


def away_from(x: np.ndarray, kinks, margin: float = 1e-2) -> np.ndarray:
    """Boolean mask of the points of ``x`` at least ``margin`` from every kink."""
    x = np.asarray(x)
    mask = np.ones(x.shape, dtype=bool)
    for k in kinks:
        mask &= np.abs(x - k) > margin
    return mask
