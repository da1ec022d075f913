"""Plots (matplotlib, the optional ``plots`` extra).

Every plot function draws on the matplotlib ``Axes`` given as ``ax=`` (or on a new figure
when ``ax`` is ``None``) and returns the :class:`matplotlib.figure.Figure` it drew on.
Saving is optional: give ``path`` and the figure is also written there (a figure this
module created is then closed in pyplot, so scripts that make many plots do not keep them
all open; the returned ``Figure`` stays valid, and shows in Jupyter as a cell's result).
The module never calls ``matplotlib.use`` or changes the backend: pyplot is imported
only inside the functions, with whatever backend the user (or ``MPLBACKEND``) chose.

Plots (ngc-learn 3.2's ``ngclearn.utils.viz`` names in brackets):

- :func:`plot_learning_curve`: per-epoch curves (energy, accuracies, ...);
- :func:`plot_confusion_matrix`: a confusion matrix with counts
  (``classification_analysis.visualize_confusion_heatmap``);
- :func:`plot_classification_analysis`: confusion matrix with accuracy/precision/recall;
- :func:`plot_receptive_fields`: columns of a weight matrix as image tiles, one image with
  a colour bar (``synapse_plot.viz_block``);
- :func:`plot_synapse_grid`: several weight matrices side by side or in a grid of grids
  (``synapse_plot.visualize``, ``visualize_macro_grid``);
- :func:`plot_filters`: convolutional filters ``(kh, kw, c_in, c_out)`` as a grid;
- :func:`plot_reconstructions`: images above their reconstructions;
- :func:`plot_spike_raster`: a spike raster of a ``(T, N)`` train
  (``raster.create_raster_plot``);
- :func:`plot_overlay_raster`: produced spikes against target spikes, hits, misses and
  extra spikes coloured (``raster.create_overlay_raster_plot``);
- :func:`plot_compartment_traces`: chosen neurons' values over time
  (``compartment_plot.create_plot``);
- :func:`plot_spiking_neuron`: one neuron's input current, membrane potential and spikes
  (``spike_plot.plot_spiking_neuron``);
- :func:`plot_embedding`: a 2-D embedding (PCA, or t-SNE from scikit-learn) of codes
  (``dim_reduce.plot_latents``);
- :func:`animate_frames` and :func:`save_gif`: a sequence of images as a matplotlib
  animation, written as a GIF with matplotlib's ``PillowWriter``
  (``synapse_plot.visualize_gif``, ``make_video``); :func:`tile_fields` builds the frames
  of a weight matrix's receptive fields over training.

Differences from ngc-learn: every function returns the figure and takes ``ax=``;
nothing is written unless ``path`` is given (ngc-learn writes ``raster_plot.jpg`` or
``lif_plot.png`` in the working directory by default, and ``plot_spiking_neuron`` calls
``matplotlib.use("Agg")``); spike trains are ``(T, N)`` (time first) everywhere; the
time axis is in ms (step index times ``dt``); GIFs need no ``imageio``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np


if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
else:  # resolved at run time by the jaxtyping/beartype hook without importing matplotlib
    Axes = Any
    Figure = Any
    FuncAnimation = Any


__all__ = [
    "plot_learning_curve",
    "plot_confusion_matrix",
    "plot_receptive_fields",
    "plot_synapse_grid",
    "plot_filters",
    "plot_reconstructions",
    "plot_spike_raster",
    "plot_overlay_raster",
    "plot_compartment_traces",
    "plot_spiking_neuron",
    "plot_embedding",
    "plot_classification_analysis",
    "embed_2d",
    "tile_fields",
    "animate_frames",
    "save_gif",
]

PathLike = str | os.PathLike


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'ngcx[plots]'") from err
    return plt


def _root(fig: Any) -> Any:
    """The top-level ``Figure`` of a figure or sub-figure."""
    while getattr(fig, "figure", fig) is not fig and getattr(fig, "figure", None) is not None:
        fig = fig.figure
    return fig


def _axes_list(ax: Any) -> list[Any]:
    """``ax`` as a list of axes (one ``Axes``, or a sequence/array of them)."""
    axes = [ax] if hasattr(ax, "get_figure") else list(np.ravel(np.asarray(ax, dtype=object)))
    for a in axes:
        _check_ax(a)
    return axes


def _check_ax(ax: Any, name: str = "ax") -> None:
    if ax is not None and not hasattr(ax, "get_figure"):
        raise TypeError(f"`{name}` must be a matplotlib Axes or None, got {type(ax).__name__}.")


def _axes(ax: Axes | None, figsize: tuple[Any, Any]) -> tuple[Any, Any, bool]:
    """``(figure, axes, owned)``: the given axes and its figure, or a new figure."""
    _check_ax(ax)
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
        return fig, ax, True
    return _root(ax.get_figure()), ax, False


def _finish(fig: Any, path: PathLike | None, owned: bool) -> Any:
    """Save ``fig`` to ``path`` when given (closing it in pyplot if this module made it)."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        if owned:
            _pyplot().close(fig)
    return fig


def _cmap(name: str) -> Any:
    """The colormap ``name`` with NaN (the padding between tiles) drawn white."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="white")


def plot_learning_curve(
    curves: Mapping[str, Sequence[float | int]],
    path: PathLike | None = None,
    title: str = "learning curve",
    secondary: Sequence[str] = (),
    *,
    ax: Axes | None = None,
    ylabel: str = "value",
) -> Figure:
    """Plot each named per-epoch series; names in `secondary` go on a right-hand axis.

    **Arguments:**

    - `curves`: series name -> one value per epoch.
    - `path`: optional file to write (PNG, PDF, ... by its suffix).
    - `title`: the axes' title.
    - `secondary`: names drawn against a right-hand y-axis (e.g. accuracies).
    - `ax`: the matplotlib ``Axes`` to draw on (default: a new figure).
    - `ylabel`: label of the left y-axis.

    **Returns:**

    The ``Figure`` drawn on.
    """
    missing = [s for s in secondary if s not in curves]
    if missing:
        raise ValueError(f"`secondary` names {missing} that are not in `curves` {list(curves)}.")
    fig, ax, owned = _axes(ax, (7, 4.5))
    ax2 = ax.twinx() if secondary else None
    for i, (name, values) in enumerate(curves.items()):
        epochs = np.arange(1, len(values) + 1)
        target = ax2 if (ax2 is not None and name in secondary) else ax
        target.plot(epochs, values, marker="o", ms=3, label=name, color=f"C{i}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    if ax2 is not None:
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        ax2.set_ylabel(", ".join(secondary))
    ax.legend(handles, labels, loc="center right")
    ax.grid(alpha=0.3)
    return _finish(fig, path, owned)


def plot_confusion_matrix(
    matrix: np.ndarray | Any,
    path: PathLike | None = None,
    class_names: Sequence[str] | None = None,
    title: str = "confusion matrix",
    *,
    ax: Axes | None = None,
) -> Figure:
    """Plot a ``(classes, classes)`` confusion matrix (rows: true, columns: predicted)
    with its counts and a colour bar.

    **Arguments:**

    - `matrix`: square array of counts (or rates).
    - `path`: optional file to write.
    - `class_names`: tick labels (default ``0 .. classes - 1``).
    - `title`: the axes' title.
    - `ax`: the ``Axes`` to draw on (default: a new figure).

    **Returns:**

    The ``Figure`` drawn on.
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"`matrix` must be square, got shape {m.shape}.")
    n = m.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else list(class_names)
    if len(names) != n:
        raise ValueError(f"`class_names` has {len(names)} names for {n} classes.")
    fig, ax, owned = _axes(ax, (0.6 * n + 2.5, 0.6 * n + 1.5))
    im = ax.imshow(m, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046, label="count")
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
    return _finish(fig, path, owned)


_SCALES = ("field", "global", "none")


def _scale_tiles(tiles: np.ndarray, scale: str) -> tuple[np.ndarray, str]:
    """Tiles ``(n, h, w)`` scaled for display and the colour bar's label."""
    if scale == "field":
        peak = np.max(np.abs(tiles), axis=(1, 2), keepdims=True)
        return tiles / np.where(peak > 0, peak, 1.0), "weight / max |weight| of each field"
    if scale in ("global", "none"):
        return tiles, "weight"
    raise ValueError(f"`scale` must be one of {_SCALES}, got {scale!r}.")


def _mosaic(tiles: np.ndarray, rows: int, cols: int, pad: int) -> np.ndarray:
    """Tiles ``(n, h, w)`` laid out row-major on a ``rows x cols`` grid, NaN between."""
    n, h, w = tiles.shape
    out = np.full((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tiles[k]
    return out


def _fields(
    weights: np.ndarray | Any, image_shape: tuple[int, int], order: str, name: str = "weights"
) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    h, wd = image_shape
    if w.ndim != 2 or w.shape[0] != h * wd:
        raise ValueError(f"`{name}` must have shape ({h * wd}, units), got {w.shape}.")
    if order not in ("C", "F"):
        raise ValueError(f"`order` must be 'C' or 'F', got {order!r}.")
    layout: Literal["C", "F"] = "C" if order == "C" else "F"
    return np.stack([w[:, k].reshape((h, wd), order=layout) for k in range(w.shape[1])])


def tile_fields(
    weights: np.ndarray | Any,
    image_shape: tuple[int, int],
    max_fields: int | None = None,
    cols: int | None = None,
    pad: int = 1,
    order: str = "C",
    scale: str = "field",
) -> np.ndarray:
    """Lay out the columns of ``weights`` (``(pixels, units)``) as ``image_shape`` tiles on
    one 2-D image, NaN between tiles (drawn white by the plots here).

    **Arguments:**

    - `weights`: shape ``(h * w, units)``; column ``k`` is unit ``k``'s receptive field.
    - `image_shape`: ``(h, w)`` of one field.
    - `max_fields`: draw only the first ``max_fields`` units (default: all).
    - `cols`: tiles per row (default: ``ceil(sqrt(count))``).
    - `pad`: pixels between tiles.
    - `order`: ``"C"`` (row-major) or ``"F"`` reshape of each column, as ngc-learn's
      ``order``.
    - `scale`: ``"field"`` divides each field by its largest absolute value (so each
      lies in ``[-1, 1]``); ``"global"`` / ``"none"`` keep the weights.

    **Returns:**

    A float array of shape ``(rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad)``.
    """
    tiles = _fields(weights, image_shape, order)
    count = tiles.shape[0] if max_fields is None else min(int(max_fields), tiles.shape[0])
    if count < 1:
        raise ValueError(f"`max_fields` must be >= 1, got {max_fields}.")
    if pad < 0:
        raise ValueError(f"`pad` must be >= 0, got {pad}.")
    cols = math.ceil(math.sqrt(count)) if cols is None else int(cols)
    if cols < 1:
        raise ValueError(f"`cols` must be >= 1, got {cols}.")
    scaled, _ = _scale_tiles(tiles[:count], scale)
    return _mosaic(scaled, math.ceil(count / cols), cols, pad)


def _imshow_tiles(
    ax: Any,
    image: np.ndarray,
    cmap: str,
    symmetric: bool,
    vmin: float | int | None = None,
    vmax: float | int | None = None,
) -> Any:
    if vmin is None and vmax is None and symmetric:
        peak = float(np.nanmax(np.abs(image))) if np.isfinite(image).any() else 1.0
        vmin, vmax = -(peak or 1.0), peak or 1.0
    return ax.imshow(image, cmap=_cmap(cmap), vmin=vmin, vmax=vmax, interpolation="nearest")


def _tile_ticks(ax: Any, count: int, cols: int, h: int, w: int, pad: int) -> None:
    rows = math.ceil(count / cols)
    ax.set_xticks([c * (w + pad) + (w - 1) / 2 for c in range(cols)], [str(c) for c in range(cols)])
    ax.set_yticks(
        [r * (h + pad) + (h - 1) / 2 for r in range(rows)], [str(r * cols) for r in range(rows)]
    )
    ax.tick_params(length=0, labelsize=7)
    ax.set_xlabel("+ column")
    ax.set_ylabel("unit index (row start)")


def plot_receptive_fields(
    weights: np.ndarray | Any,
    image_shape: tuple[int, int],
    path: PathLike | None = None,
    max_fields: int = 64,
    title: str = "receptive fields",
    *,
    ax: Axes | None = None,
    scale: str = "field",
    order: str = "C",
    cmap: str = "RdBu_r",
) -> Figure:
    """Tile the first `max_fields` columns of ``weights`` (``(pixels, units)``) as images of
    ``image_shape`` on one axes, with a colour bar; unit ``k`` is in row ``k // cols``,
    column ``k % cols``.

    **Arguments:**

    - `weights`: shape ``(h * w, units)``.
    - `image_shape`: ``(h, w)``.
    - `path`: optional file to write.
    - `max_fields`: how many units to draw.
    - `title`: the axes' title.
    - `ax`: the ``Axes`` to draw on (default: a new figure).
    - `scale`: ``"field"`` (default; each field divided by its largest absolute value, as
      ngc-learn's plots scale each filter) or ``"global"`` (the weights themselves, one
      colour scale).
    - `order`: ``"C"`` or ``"F"`` reshape of each column.
    - `cmap`: a diverging colormap name (zero is its centre).

    **Returns:**

    The ``Figure`` drawn on.
    """
    tiles = _fields(weights, image_shape, order)
    count = min(int(max_fields), tiles.shape[0])
    image = tile_fields(weights, image_shape, max_fields=count, order=order, scale=scale)
    _, label = _scale_tiles(tiles[:1], scale)
    cols = math.ceil(math.sqrt(count))
    size = 0.5 + 0.9 * cols
    fig, ax, owned = _axes(ax, (size + 1.2, size))
    im = _imshow_tiles(ax, image, cmap, symmetric=True)
    fig.colorbar(im, ax=ax, fraction=0.046, label=label)
    _tile_ticks(ax, count, cols, image_shape[0], image_shape[1], 1)
    ax.set_title(title)
    return _finish(fig, path, owned)


def plot_synapse_grid(
    thetas: Sequence[np.ndarray | Any],
    sizes: Sequence[tuple[int, int]],
    path: PathLike | None = None,
    *,
    titles: Sequence[str] | None = None,
    order: Sequence[str] | None = None,
    macro_grid_shape: tuple[int, int] | None = None,
    max_fields: int | None = None,
    scale: str = "field",
    cmap: str = "RdBu_r",
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Several synapses' receptive fields at once: bank ``i`` (``thetas[i]``, shape
    ``(h_i * w_i, units_i)``) tiled as ``sizes[i]`` images on its own axes, the banks side
    by side (ngc-learn's ``visualize``) or on a ``macro_grid_shape`` grid of grids
    (``visualize_macro_grid``), all sharing one colour scale and one colour bar.

    **Arguments:**

    - `thetas`: weight matrices, one per bank.
    - `sizes`: ``(h, w)`` of one field of each bank.
    - `path`: optional file to write.
    - `titles`: one title per bank (default ``"synapse i"``).
    - `order`: ``"C"``/``"F"`` reshape per bank (default all ``"C"``).
    - `macro_grid_shape`: ``(rows, cols)`` of banks (default one row).
    - `max_fields`: draw at most this many units per bank.
    - `scale`: ``"field"`` (each field divided by its largest absolute value) or
      ``"global"`` (the weights, one symmetric scale over all banks).
    - `cmap`: a diverging colormap name.
    - `ax`: one ``Axes`` per bank (a single ``Axes`` when there is one bank), or ``None``
      for a new figure.

    **Returns:**

    The ``Figure`` drawn on.
    """
    if len(thetas) == 0:
        raise ValueError("`thetas` must hold at least one weight matrix, got none.")
    if len(sizes) != len(thetas):
        raise ValueError(f"`sizes` has {len(sizes)} entries for {len(thetas)} `thetas`.")
    n = len(thetas)
    orders = ["C"] * n if order is None else list(order)
    if len(orders) != n:
        raise ValueError(f"`order` has {len(orders)} entries for {n} `thetas`.")
    names = [f"synapse {i}" for i in range(n)] if titles is None else list(titles)
    if len(names) != n:
        raise ValueError(f"`titles` has {len(names)} entries for {n} `thetas`.")
    rows, cols = (1, n) if macro_grid_shape is None else macro_grid_shape
    if rows * cols < n:
        raise ValueError(f"`macro_grid_shape` {macro_grid_shape} has fewer than {n} places.")
    images = []
    shapes = [(int(size[0]), int(size[1])) for size in sizes]
    for i, (theta, size) in enumerate(zip(thetas, shapes, strict=True)):
        tiles = _fields(theta, size, orders[i], name=f"thetas[{i}]")
        count = tiles.shape[0] if max_fields is None else min(max_fields, tiles.shape[0])
        images.append((tile_fields(theta, size, count, order=orders[i], scale=scale), count))
    _, label = _scale_tiles(np.zeros((1, 1, 1)), scale)
    finite = [img[np.isfinite(img)] for img, _ in images]
    peak = max((float(np.max(np.abs(f))) for f in finite if f.size), default=1.0) or 1.0
    if ax is None:
        fig, grid = _pyplot().subplots(
            rows, cols, figsize=(3.0 * cols + 1.0, 3.0 * rows), layout="constrained"
        )
        axes = list(np.atleast_1d(grid).ravel())
        owned = True
    else:
        axes = _axes_list(ax)
        if len(axes) < n:
            raise ValueError(f"`ax` gives {len(axes)} axes for {n} `thetas`.")
        fig, owned = _root(axes[0].get_figure()), False
    im = None
    for i, a in enumerate(axes):
        if i >= n:
            a.axis("off")
            continue
        image, count = images[i]
        h, w = sizes[i]
        im = _imshow_tiles(a, image, cmap, symmetric=False, vmin=-peak, vmax=peak)
        _tile_ticks(a, count, math.ceil(math.sqrt(count)), h, w, 1)
        a.set_title(names[i])
    fig.colorbar(im, ax=axes[:n], fraction=0.046, label=label)
    return _finish(fig, path, owned)


def plot_filters(
    filters: np.ndarray | Any,
    path: PathLike | None = None,
    title: str = "learned filters",
    *,
    ax: Axes | None = None,
    scale: str = "global",
    cmap: str = "RdBu_r",
) -> Figure:
    """Plot every ``(c_in, c_out)`` kernel of ``filters`` (``(kh, kw, c_in, c_out)``) as a
    ``kh x kw`` tile, one row per output channel and one column per input channel, on one
    axes with a colour bar.

    **Arguments:**

    - `filters`: shape ``(kh, kw, c_in, c_out)``.
    - `path`: optional file to write.
    - `title`: the axes' title.
    - `ax`: the ``Axes`` to draw on (default: a new figure).
    - `scale`: ``"global"`` (default: the weights, one symmetric colour scale) or
      ``"field"`` (each kernel divided by its largest absolute value).
    - `cmap`: a diverging colormap name.

    **Returns:**

    The ``Figure`` drawn on.
    """
    f = np.asarray(filters, dtype=np.float64)
    if f.ndim != 4:
        raise ValueError(f"`filters` must be (kh, kw, c_in, c_out), got shape {f.shape}.")
    kh, kw, c_in, c_out = f.shape
    tiles = np.stack([f[:, :, i, o] for o in range(c_out) for i in range(c_in)])
    scaled, label = _scale_tiles(tiles, scale)
    image = _mosaic(scaled, c_out, c_in, 1)
    fig, ax, owned = _axes(ax, (0.5 * c_in + 2.2, 0.5 * c_out + 1.2))
    im = _imshow_tiles(ax, image, cmap, symmetric=True)
    fig.colorbar(im, ax=ax, fraction=0.046, label=label)
    in_labels, out_labels = [str(i) for i in range(c_in)], [str(o) for o in range(c_out)]
    ax.set_xticks([i * (kw + 1) + (kw - 1) / 2 for i in range(c_in)], in_labels)
    ax.set_yticks([o * (kh + 1) + (kh - 1) / 2 for o in range(c_out)], out_labels)
    ax.tick_params(length=0, labelsize=7)
    ax.set_xlabel("input channel")
    ax.set_ylabel("output channel")
    ax.set_title(title)
    return _finish(fig, path, owned)


def plot_reconstructions(
    images: np.ndarray | Any,
    reconstructions: np.ndarray | Any,
    path: PathLike | None = None,
    title: str = "images (top) and reconstructions (bottom)",
    *,
    ax: Axes | None = None,
    cmap: str = "gray",
) -> Figure:
    """Plot ``images`` (``(n, h, w)`` or ``(n, h, w, 1)``) above their reconstructions on
    one axes, one colour scale (with a colour bar) for both rows.

    **Arguments:**

    - `images`, `reconstructions`: arrays of the same shape.
    - `path`: optional file to write.
    - `title`: the axes' title.
    - `ax`: the ``Axes`` to draw on (default: a new figure).
    - `cmap`: colormap name.

    **Returns:**

    The ``Figure`` drawn on.
    """
    a = np.asarray(images, dtype=np.float64)
    b = np.asarray(reconstructions, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: `images` {a.shape}, `reconstructions` {b.shape}.")
    if a.ndim == 4 and a.shape[-1] == 1:
        a, b = a[..., 0], b[..., 0]
    if a.ndim != 3:
        raise ValueError(f"`images` must be (n, h, w) or (n, h, w, 1), got shape {a.shape}.")
    n, h, w = a.shape
    image = _mosaic(np.concatenate([a, b]), 2, n, 1)
    fig, ax, owned = _axes(ax, (0.9 * n + 1.6, 2.8))
    im = _imshow_tiles(ax, image, cmap, symmetric=False)
    fig.colorbar(im, ax=ax, fraction=0.046, label="pixel value")
    ax.set_xticks([i * (w + 1) + (w - 1) / 2 for i in range(n)], [str(i) for i in range(n)])
    ax.set_yticks([(h - 1) / 2, h + 1 + (h - 1) / 2], ["image", "recon."])
    ax.tick_params(length=0, labelsize=7)
    ax.set_xlabel("sample")
    ax.set_ylabel("row")
    ax.set_title(title)
    return _finish(fig, path, owned)


def _train(spikes: np.ndarray | Any, name: str) -> np.ndarray:
    s = np.asarray(spikes)
    if s.ndim != 2:
        raise ValueError(f"`{name}` must be (T, N), got shape {s.shape}.")
    return s


def _indices(indices: Sequence[int] | None, n: int) -> list[int]:
    if indices is None:
        return list(range(n))
    idx = [int(i) for i in indices]
    bad = [i for i in idx if not 0 <= i < n]
    if bad:
        raise ValueError(f"`indices` {bad} are outside 0..{n - 1}.")
    return idx


def plot_spike_raster(
    spikes: np.ndarray | Any,
    path: PathLike | None = None,
    dt: float | int = 1.0,
    title: str = "spike raster",
    *,
    ax: Axes | None = None,
    indices: Sequence[int] | None = None,
    color: str = "k",
    marker_size: float | int = 2.0,
) -> Figure:
    """Dot raster of a ``(T, N)`` binary spike train (time in ms with step ``dt``).

    **Arguments:**

    - `spikes`: shape ``(T, N)``, nonzero where a neuron spiked.
    - `path`: optional file to write.
    - `dt`: time step (ms).
    - `title`: the axes' title.
    - `ax`: the ``Axes`` to draw on (default: a new figure).
    - `indices`: only these neurons, drawn on rows ``0 .. len(indices) - 1`` and labelled
      with their index (ngc-learn's ``indices``).
    - `color`, `marker_size`: the spikes' colour and marker size.

    **Returns:**

    The ``Figure`` drawn on.
    """
    s = _train(spikes, "spikes")
    idx = _indices(indices, s.shape[1])
    t, n = np.nonzero(s[:, idx])
    fig, ax, owned = _axes(ax, (7, 4))
    ax.scatter(t * dt, n, s=marker_size, marker="|", color=color)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_xlim(0, s.shape[0] * dt)
    ax.set_ylim(-0.5, len(idx) - 0.5)
    if indices is not None:
        ax.set_yticks(range(len(idx)), [str(i) for i in idx])
    ax.set_title(title)
    return _finish(fig, path, owned)


def plot_overlay_raster(
    spikes: np.ndarray | Any,
    targets: np.ndarray | Any,
    path: PathLike | None = None,
    dt: float | int = 1.0,
    title: str = "overlay raster",
    *,
    ax: Axes | None = None,
    indices: Sequence[int] | None = None,
    marker_size: float | int = 12.0,
) -> Figure:
    """Produced spikes against target spikes, both ``(T, N)``: spikes in both are black
    (hits), target spikes not produced blue (misses), produced spikes not in the target
    red (extra), as ngc-learn's ``create_overlay_raster_plot``.

    **Arguments:**

    - `spikes`: produced spike train, shape ``(T, N)``.
    - `targets`: target spike train, same shape.
    - `path`: optional file to write.
    - `dt`: time step (ms).
    - `title`: the axes' title (ngc-learn adds the sample's label; pass it here).
    - `ax`: the ``Axes`` to draw on (default: a new figure).
    - `indices`: only these neurons.
    - `marker_size`: the markers' size.

    **Returns:**

    The ``Figure`` drawn on. (ngc-learn loops over a batch and writes one file per
    sample; call this once per sample.)
    """
    s = _train(spikes, "spikes") != 0
    g = _train(targets, "targets") != 0
    if s.shape != g.shape:
        raise ValueError(f"`spikes` {s.shape} and `targets` {g.shape} must have one shape.")
    idx = _indices(indices, s.shape[1])
    s, g = s[:, idx], g[:, idx]
    fig, ax, owned = _axes(ax, (8, 4))
    for mask, color, label in (
        (s & g, "black", "hit"),
        (g & ~s, "tab:blue", "missed"),
        (s & ~g, "tab:red", "extra"),
    ):
        t, n = np.nonzero(mask)
        ax.scatter(t * dt, n, s=marker_size, marker="|", color=color, label=f"{label} ({t.size})")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_xlim(0, s.shape[0] * dt)
    ax.set_ylim(-0.5, len(idx) - 0.5)
    if indices is not None:
        ax.set_yticks(range(len(idx)), [str(i) for i in idx])
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title)
    return _finish(fig, path, owned)


def plot_compartment_traces(
    values: np.ndarray | Any,
    path: PathLike | None = None,
    indices: Sequence[int] | None = None,
    dt: float | int = 1.0,
    ylabel: str = "value",
    title: str = "compartment traces",
    *,
    ax: Axes | None = None,
) -> Figure:
    """Plot the ``(T, N)`` values of the chosen neurons (default: up to 8) over time.

    **Arguments:**

    - `values`: a recorded compartment, shape ``(T, N)``.
    - `path`: optional file to write.
    - `indices`: which neurons (default the first 8).
    - `dt`: time step (ms).
    - `ylabel`: what the values are (with units).
    - `title`: the axes' title.
    - `ax`: the ``Axes`` to draw on (default: a new figure).

    **Returns:**

    The ``Figure`` drawn on.
    """
    v = np.asarray(values)
    if v.ndim != 2:
        raise ValueError(f"`values` must be (T, N), got shape {v.shape}.")
    idx = list(range(min(8, v.shape[1]))) if indices is None else _indices(indices, v.shape[1])
    fig, ax, owned = _axes(ax, (7, 4))
    time = np.arange(v.shape[0]) * dt
    for i in idx:
        ax.plot(time, v[:, i], label=f"neuron {i}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _finish(fig, path, owned)


def plot_spiking_neuron(
    curr: np.ndarray | Any,
    mem: np.ndarray | Any,
    spike: np.ndarray | Any,
    ref: np.ndarray | Any | None = None,
    dt: float | int = 1.0,
    thr_line: float | int | None = None,
    title: str | None = None,
    min_mem_val: float | int | None = None,
    max_mem_val: float | int | None = None,
    *,
    path: PathLike | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """One neuron's recorded trajectory (ngc-learn's ``plot_spiking_neuron``): input current
    on top, membrane potential below with a dashed line at every spike, and the
    refractory state in a third panel when ``ref`` is given.

    **Arguments:**

    - `curr`: input current over ``T`` steps (any shape with ``T`` entries).
    - `mem`: membrane potential over the same steps (mV).
    - `spike`: the spikes, nonzero at a spike.
    - `ref`: optional refractory state to plot (ngc-learn uses it to hide spikes; ngcx
      marks every recorded spike).
    - `dt`: time step (ms); the time axis is ``step * dt``.
    - `thr_line`: draw the threshold at this voltage.
    - `title`: the top panel's title.
    - `min_mem_val`, `max_mem_val`: y-limits of the voltage panel (default: the data).
    - `path`: optional file to write (ngc-learn's ``fname``; nothing is written by
      default).
    - `ax`: one ``Axes`` per panel (2, or 3 with ``ref``), or a single ``Axes`` on which
      the voltage and spikes are drawn with the current on a twin y-axis; ``None`` for a
      new figure.

    **Returns:**

    The ``Figure`` drawn on.
    """
    c = np.ravel(np.asarray(curr, dtype=np.float64))
    v = np.ravel(np.asarray(mem, dtype=np.float64))
    s = np.ravel(np.asarray(spike))
    if not c.shape == v.shape == s.shape:
        raise ValueError(
            f"`curr`, `mem` and `spike` must have one length, got {c.size}, {v.size}, {s.size}."
        )
    r = None if ref is None else np.ravel(np.asarray(ref, dtype=np.float64))
    if r is not None and r.shape != v.shape:
        raise ValueError(f"`ref` has {r.size} entries for {v.size} steps.")
    time = np.arange(v.size) * dt
    spike_times = time[s != 0]
    n_panels = 2 if r is None else 3
    single = False
    if ax is None:
        fig, grid = _pyplot().subplots(
            n_panels, 1, figsize=(8, 2.2 * n_panels + 0.6), sharex=True, layout="constrained"
        )
        axes, owned = list(grid), True
    else:
        axes = _axes_list(ax)
        single = len(axes) == 1
        if not single and len(axes) < n_panels:
            raise ValueError(f"`ax` gives {len(axes)} axes for {n_panels} panels.")
        fig, owned = _root(axes[0].get_figure()), False
    if single:
        ax_v = axes[0]
        ax_c = ax_v.twinx()
        ax_c.plot(time, c, color="tab:blue", alpha=0.5, label="current")
        ax_c.set_ylabel("input current $j$", color="tab:blue")
        ax_r = None
    else:
        ax_c, ax_v = axes[0], axes[1]
        ax_c.plot(time, c, color="tab:blue")
        ax_c.set_ylabel("input current $j$")
        ax_r = axes[2] if r is not None else None
    ax_v.plot(time, v, color="tab:red")
    ax_v.vlines(
        spike_times, 0, 1, transform=ax_v.get_xaxis_transform(), colors="black", ls="--", lw=1
    )
    if thr_line is not None:
        ax_v.axhline(thr_line, alpha=0.4, linestyle="dotted", color="black", lw=1.5)
    if min_mem_val is not None or max_mem_val is not None:
        ax_v.set_ylim(min_mem_val, max_mem_val)
    ax_v.set_ylabel("membrane potential $v$ (mV)")
    if ax_r is not None and r is not None:
        ax_r.plot(time, r, color="tab:green")
        ax_r.set_ylabel("refractory state")
    bottom = ax_r if ax_r is not None else ax_v
    bottom.set_xlabel("time (ms)")
    for a in (ax_c, ax_v) if not single else (ax_v,):
        a.set_xlim(0, max(v.size * dt, dt))
    if title:
        (ax_v if single else ax_c).set_title(title)
    return _finish(fig, path, owned)


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
    path: PathLike | None = None,
    method: str = "pca",
    title: str | None = None,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Scatter a 2-D embedding of ``codes`` coloured by integer ``labels``.

    **Arguments:**

    - `codes`: shape ``(N, D)``.
    - `labels`: ``N`` integer labels.
    - `path`: optional file to write.
    - `method`: ``"pca"`` or ``"tsne"`` (see :func:`embed_2d`).
    - `title`: the axes' title (default: the method's name).
    - `ax`: the ``Axes`` to draw on (default: a new figure).

    **Returns:**

    The ``Figure`` drawn on.
    """
    xy = embed_2d(codes, method)
    lab = np.asarray(labels)
    if lab.shape[0] != xy.shape[0]:
        raise ValueError(f"`labels` has {lab.shape[0]} entries for {xy.shape[0]} codes.")
    fig, ax, owned = _axes(ax, (6, 5))
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=lab, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax, label="label")
    name = method.upper() if method == "pca" else "t-SNE"
    ax.set_xlabel(f"{name} 1")
    ax.set_ylabel(f"{name} 2")
    ax.set_title(title or f"{name} embedding")
    return _finish(fig, path, owned)


def plot_classification_analysis(
    scores: np.ndarray | Any,
    labels: np.ndarray | Any,
    path: PathLike | None = None,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Confusion matrix of ``argmax(scores)`` against integer ``labels`` with accuracy,
    macro precision and recall in the title (see ``ngcx.metrics.analyze_scores``).

    **Arguments:**

    - `scores`: shape ``(N, classes)``.
    - `labels`: ``N`` integer labels.
    - `path`: optional file to write.
    - `ax`: the ``Axes`` to draw on (default: a new figure).

    **Returns:**

    The ``Figure`` drawn on.
    """
    from .metrics import analyze_scores

    conf, precision, recall, _, acc, _ = analyze_scores(scores, labels, extract_label_indx=False)
    title = f"acc {acc:.3f}  precision {precision:.3f}  recall {recall:.3f}"
    return plot_confusion_matrix(conf, path, title=title, ax=ax)


def _frames(frames: Sequence[Any] | np.ndarray) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for k, f in enumerate(frames):
        if isinstance(f, str | os.PathLike):
            import matplotlib.image

            arr = np.asarray(matplotlib.image.imread(os.fspath(f)))
        else:
            arr = np.asarray(f)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
            raise ValueError(
                f"`frames[{k}]` must be (h, w), (h, w, 3) or (h, w, 4), got shape {arr.shape}."
            )
        out.append(arr)
    if not out:
        raise ValueError("`frames` must hold at least one frame, got none.")
    if any(a.shape != out[0].shape for a in out):
        raise ValueError(f"`frames` must share one shape, got {sorted({a.shape for a in out})}.")
    return out


def _animate(
    frames: Sequence[Any] | np.ndarray,
    fps: float | int,
    cmap: str,
    titles: Sequence[str] | None,
    vmin: float | int | None,
    vmax: float | int | None,
    colorbar: bool,
    ax: Axes | None,
) -> tuple[Any, Any, bool]:
    from matplotlib.animation import FuncAnimation

    arrs = _frames(frames)
    names = [f"frame {k}" for k in range(len(arrs))] if titles is None else list(titles)
    if len(names) != len(arrs):
        raise ValueError(f"`titles` has {len(names)} entries for {len(arrs)} frames.")
    if not fps > 0:
        raise ValueError(f"`fps` must be > 0, got {fps}.")
    gray = arrs[0].ndim == 2
    if gray and vmin is None and vmax is None:
        stack = np.stack(arrs).astype(np.float64)
        finite = stack[np.isfinite(stack)]
        vmin = float(finite.min()) if finite.size else 0.0
        vmax = float(finite.max()) if finite.size else 1.0
    h, w = arrs[0].shape[:2]
    big = max(h, w)
    fig, ax, owned = _axes(ax, (1.5 + 4.0 * w / big, 1.0 + 4.0 * h / big))
    kwargs = {"cmap": _cmap(cmap), "vmin": vmin, "vmax": vmax} if gray else {}
    im = ax.imshow(arrs[0], interpolation="nearest", **kwargs)
    if gray and colorbar:
        fig.colorbar(im, ax=ax, fraction=0.046, label="value")
    ax.set_xlabel("x (pixel)")
    ax.set_ylabel("y (pixel)")
    title = ax.set_title(names[0])

    def update(k: int) -> tuple[Any, ...]:
        im.set_data(arrs[k])
        title.set_text(names[k])
        return im, title

    if owned:  # lay the figure out once, not at every frame
        engine = fig.get_layout_engine()
        if engine is not None:
            engine.execute(fig)
        fig.set_layout_engine("none")
    anim = FuncAnimation(fig, update, frames=len(arrs), interval=1000.0 / fps, blit=False)
    return fig, anim, owned


def animate_frames(
    frames: Sequence[Any] | np.ndarray,
    fps: float | int = 10.0,
    cmap: str = "gray",
    titles: Sequence[str] | None = None,
    vmin: float | int | None = None,
    vmax: float | int | None = None,
    colorbar: bool = True,
    *,
    ax: Axes | None = None,
) -> FuncAnimation:
    """A matplotlib animation showing ``frames`` one after another.

    **Arguments:**

    - `frames`: ``(n, h, w)`` or ``(n, h, w, 3|4)`` array, or a sequence of such images or
      of image file paths (PNG; other formats through Pillow), e.g. the files a training
      loop wrote (ngc-learn's ``make_video``) or :func:`tile_fields` of a weight matrix
      at each epoch.
    - `fps`: frames per second.
    - `cmap`: colormap of single-channel frames (NaN drawn white).
    - `titles`: one title per frame (default ``"frame k"``).
    - `vmin`, `vmax`: colour limits of single-channel frames (default: over all frames).
    - `colorbar`: add a colour bar (single-channel frames).
    - `ax`: the ``Axes`` to draw on (default: a new figure).

    **Returns:**

    A ``matplotlib.animation.FuncAnimation`` (its figure is ``ax.figure`` or a new one):
    ``anim.save(path, writer=...)`` writes it, ``anim.to_jshtml()`` shows it in a
    notebook; :func:`save_gif` writes a GIF directly.
    """
    return _animate(frames, fps, cmap, titles, vmin, vmax, colorbar, ax)[1]


def save_gif(
    frames: Sequence[Any] | np.ndarray,
    path: PathLike,
    fps: float | int = 10.0,
    cmap: str = "gray",
    titles: Sequence[str] | None = None,
    vmin: float | int | None = None,
    vmax: float | int | None = None,
    colorbar: bool = True,
    dpi: int = 80,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Write ``frames`` as an animated GIF with matplotlib's ``PillowWriter`` (ngc-learn's
    ``visualize_gif`` / ``make_video``, without ``imageio``).

    **Arguments:**

    - `frames`, `fps`, `cmap`, `titles`, `vmin`, `vmax`, `colorbar`, `ax`: as
      :func:`animate_frames`.
    - `path`: the GIF file to write.
    - `dpi`: resolution of the frames.

    **Returns:**

    The ``Figure`` the frames were drawn on (closed in pyplot when this function made it).

    Example: the receptive fields of a synapse over training,
    ``save_gif([tile_fields(W, (8, 8)) for W in history], "fields.gif",
    cmap="RdBu_r", vmin=-1, vmax=1)``.
    """
    from matplotlib.animation import PillowWriter

    fig, anim, owned = _animate(frames, fps, cmap, titles, vmin, vmax, colorbar, ax)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer_cls: Any = PillowWriter  # its stubs say int fps; a float works
    writer = writer_cls(fps=fps)
    anim.save(path, writer=writer, dpi=dpi)
    if owned:
        _pyplot().close(fig)
    return fig
