"""Plots (matplotlib, the optional ``plots`` extra; rendered with the Agg backend).

Each function writes a PNG to ``path`` and returns the path:

- :func:`plot_learning_curve`: per-epoch curves (energy, accuracies, ...);
- :func:`plot_confusion_matrix`: a confusion matrix with counts;
- :func:`plot_receptive_fields`: columns of a weight matrix as image tiles;
- :func:`plot_filters`: convolutional filters ``(kh, kw, c_in, c_out)`` as a grid;
- :func:`plot_reconstructions`: images above their reconstructions;
- :func:`plot_spike_raster`: a spike raster of a ``(T, N)`` train;
- :func:`plot_compartment_traces`: chosen neurons' values over time;
- :func:`plot_embedding`: a 2-D embedding (PCA, or t-SNE from scikit-learn) of codes;
- :func:`plot_classification_analysis`: confusion matrix with accuracy/precision/recall.
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
    "plot_spike_raster",
    "plot_compartment_traces",
    "plot_embedding",
    "plot_classification_analysis",
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
    curves: Mapping[str, Sequence[float | int]],
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


def plot_spike_raster(
    spikes: np.ndarray | Any,
    path: str | os.PathLike,
    dt: float = 1.0,
    title: str = "spike raster",
) -> Path:
    """Dot raster of a ``(T, N)`` binary spike train (time in ms with step ``dt``)."""
    plt = _pyplot()
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"`spikes` must be (T, N), got shape {s.shape}.")
    t, n = np.nonzero(s)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(t * dt, n, s=2, marker="|", color="k")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_xlim(0, s.shape[0] * dt)
    ax.set_ylim(-0.5, s.shape[1] - 0.5)
    ax.set_title(title)
    return _save(fig, path)


def plot_compartment_traces(
    values: np.ndarray | Any,
    path: str | os.PathLike,
    indices: Sequence[int] | None = None,
    dt: float = 1.0,
    ylabel: str = "value",
    title: str = "compartment traces",
) -> Path:
    """Plot the ``(T, N)`` values of the chosen neurons (default: up to 8) over time."""
    plt = _pyplot()
    v = np.asarray(values)
    if v.ndim != 2:
        raise ValueError(f"`values` must be (T, N), got shape {v.shape}.")
    idx = list(range(min(8, v.shape[1]))) if indices is None else list(indices)
    fig, ax = plt.subplots(figsize=(7, 4))
    time = np.arange(v.shape[0]) * dt
    for i in idx:
        ax.plot(time, v[:, i], label=f"neuron {i}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _save(fig, path)


def embed_2d(codes: np.ndarray | Any, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D embedding of ``(N, D)`` codes: ``"pca"`` (SVD of the centred codes) or
    ``"tsne"`` (scikit-learn, an optional dependency)."""
    x = np.asarray(codes, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"`codes` must be (N, D) with D >= 2, got shape {x.shape}.")
    if method == "pca":
        centred = x - x.mean(axis=0, keepdims=True)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        return centred @ vt[:2].T
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError as err:  # pragma: no cover - optional dependency
            raise ImportError("t-SNE needs scikit-learn: pip install scikit-learn") from err
        perplexity = min(30.0, max(2.0, (x.shape[0] - 1) / 3))
        return TSNE(2, random_state=seed, perplexity=perplexity).fit_transform(x)
    raise ValueError(f"`method` must be 'pca' or 'tsne', got {method!r}.")


def plot_embedding(
    codes: np.ndarray | Any,
    labels: np.ndarray | Any,
    path: str | os.PathLike,
    method: str = "pca",
    title: str | None = None,
) -> Path:
    """Scatter a 2-D embedding of ``codes`` coloured by integer ``labels``."""
    plt = _pyplot()
    xy = embed_2d(codes, method)
    lab = np.asarray(labels)
    if lab.shape[0] != xy.shape[0]:
        raise ValueError(f"`labels` has {lab.shape[0]} entries for {xy.shape[0]} codes.")
    fig, ax = plt.subplots(figsize=(6, 5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=lab, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax)
    ax.set_title(title or f"{method.upper()} embedding")
    return _save(fig, path)


def plot_classification_analysis(
    scores: np.ndarray | Any, labels: np.ndarray | Any, path: str | os.PathLike
) -> Path:
    """Confusion matrix of ``argmax(scores)`` against integer ``labels`` with accuracy,
    macro precision and recall in the title (see ``ngcx.metrics.analyze_scores``)."""
    from .metrics import analyze_scores

    conf, precision, recall, _, acc, _ = analyze_scores(scores, labels, extract_label_indx=False)
    title = f"acc {acc:.3f}  precision {precision:.3f}  recall {recall:.3f}"
    return plot_confusion_matrix(conf, path, title=title)
