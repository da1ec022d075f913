"""Plots (matplotlib, the optional ``plots`` extra; rendered with the Agg backend).

Each function writes a PNG to ``path`` and returns the path:

- :func:`plot_learning_curve`: per-epoch curves (energy, accuracies, ...);
- :func:`plot_confusion_matrix`: a confusion matrix with counts;
- :func:`plot_receptive_fields`: columns of a weight matrix as image tiles;
- :func:`plot_filters`: convolutional filters ``(kh, kw, c_in, c_out)`` as a grid;
- :func:`plot_reconstructions`: images above their reconstructions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


__all__ = [
    "plot_learning_curve",
    "plot_confusion_matrix",
    "plot_receptive_fields",
    "plot_filters",
    "plot_reconstructions",
]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'ngcx[plots]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_learning_curve(
    curves: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "learning curve",
    secondary: Sequence[str] = (),
) -> Path:
    """Plot each named per-epoch series; names in `secondary` go on a right-hand axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax2 = ax.twinx() if secondary else None
    for i, (name, values) in enumerate(curves.items()):
        epochs = np.arange(1, len(values) + 1)
        target = ax2 if (ax2 is not None and name in secondary) else ax
        target.plot(epochs, values, marker="o", ms=3, label=name, color=f"C{i}")
    ax.set_xlabel("epoch")
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    if ax2 is not None:
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        ax2.set_ylabel(", ".join(secondary))
    ax.legend(handles, labels, loc="center right")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_confusion_matrix(
    matrix: np.ndarray | Any,
    path: str | os.PathLike,
    class_names: Sequence[str] | None = None,
    title: str = "confusion matrix",
) -> Path:
    """Plot a ``(classes, classes)`` confusion matrix (rows: true, columns: predicted)."""
    plt = _pyplot()
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {m.shape}.")
    n = m.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else list(class_names)
    fig, ax = plt.subplots(figsize=(0.6 * n + 2, 0.6 * n + 1.5))
    im = ax.imshow(m, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = m.max() / 2 if m.size else 0
    for i in range(n):
        for j in range(n):
            color = "white" if m[i, j] > threshold else "black"
            ax.text(j, i, f"{m[i, j]:g}", ha="center", va="center", color=color, fontsize=8)
    return _save(fig, path)


def plot_receptive_fields(
    weights: np.ndarray | Any,
    image_shape: tuple[int, int],
    path: str | os.PathLike,
    max_fields: int = 64,
    title: str = "receptive fields",
) -> Path:
    """Tile the first `max_fields` columns of ``weights`` (``(pixels, units)``) as images of
    ``image_shape``, each scaled to its own range."""
    plt = _pyplot()
    w = np.asarray(weights)
    h, wd = image_shape
    if w.ndim != 2 or w.shape[0] != h * wd:
        raise ValueError(f"`weights` must have shape ({h * wd}, units), got {w.shape}.")
    count = min(max_fields, w.shape[1])
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.1 + 0.4))
    axes = np.atleast_1d(axes).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k < count:
            ax.imshow(w[:, k].reshape(h, wd), cmap="gray")
    fig.suptitle(title)
    return _save(fig, path)


def _tile(ax_grid, images, cmap="gray"):
    for ax, img in zip(ax_grid, images, strict=False):
        ax.imshow(img, cmap=cmap)
    for ax in ax_grid:
        ax.axis("off")


def plot_filters(
    filters: np.ndarray | Any, path: str | os.PathLike, title: str = "learned filters"
) -> Path:
    """Plot every ``(c_in, c_out)`` kernel of ``filters`` (``(kh, kw, c_in, c_out)``) as a
    ``kh x kw`` tile, one row per output channel and one column per input channel."""
    plt = _pyplot()
    f = np.asarray(filters)
    if f.ndim != 4:
        raise ValueError(f"`filters` must be (kh, kw, c_in, c_out), got shape {f.shape}.")
    kh, kw, c_in, c_out = f.shape
    fig, axes = plt.subplots(c_out, c_in, figsize=(c_in * 1.0 + 0.4, c_out * 1.0 + 0.5))
    axes = np.atleast_2d(np.asarray(axes).reshape(c_out, c_in))
    for o in range(c_out):
        _tile(axes[o], [f[:, :, i, o] for i in range(c_in)], cmap="RdBu_r")
    fig.suptitle(title)
    return _save(fig, path)


def plot_reconstructions(
    images: np.ndarray | Any,
    reconstructions: np.ndarray | Any,
    path: str | os.PathLike,
    title: str = "images (top) and reconstructions (bottom)",
) -> Path:
    """Plot ``images`` (``(n, h, w)`` or ``(n, h, w, 1)``) above their reconstructions."""
    plt = _pyplot()
    a = np.asarray(images)
    b = np.asarray(reconstructions)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: images {a.shape}, reconstructions {b.shape}.")
    if a.ndim == 4:
        a, b = a[..., 0], b[..., 0]
    n = a.shape[0]
    fig, axes = plt.subplots(2, n, figsize=(n * 1.0 + 0.4, 2.6))
    axes = np.asarray(axes).reshape(2, n)
    _tile(axes[0], list(a))
    _tile(axes[1], list(b))
    fig.suptitle(title)
    return _save(fig, path)
