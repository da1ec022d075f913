"""Image patches (ngc-learn's ``patch_utils`` and ``patch``), with NumPy.

Differences from ngc-learn (which is unfinished here): ``Create_Patches`` counts every
position of its stride (``patch - overlap``) instead of ``size // patch`` of them, and
frames width and height with their own sizes; ``generate_patch_set`` draws independent
positions for each image (ngc-learn re-seeds per image, so every image gets the same
positions) and honours ``step_size``; ``PatchGenerator`` works (ngc-learn's mixes its
vertical options into the horizontal ones and opens a plot window); patchify needs no
third-party package. ``generate_pacthify_patch_set`` keeps ngc-learn's misspelt name;
``generate_patchify_patch_set`` is the same function. ``patch_with_stride`` takes every
position of its stride and ``patch_with_overlap`` steps by ``patch - overlap`` (see their
docstrings for ngc-learn's behaviour).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import jax.numpy as jnp
import numpy as np


def _as_images(x_batch) -> np.ndarray:
    x = np.asarray(x_batch)
    if x.ndim == 3:
        return x
    if x.ndim == 2:
        side = int(round(np.sqrt(x.shape[1])))
        if side * side != x.shape[1]:
            raise ValueError(
                f"`x_batch` rows of length {x.shape[1]} are not square images; pass (N, H, W)."
            )
        return x.reshape(x.shape[0], side, side)
    raise ValueError(f"`x_batch` must be (N, H*W) or (N, H, W), got shape {x.shape}.")


class Create_Patches:
    """Patches of one ``(H, W)`` image on a grid of stride ``patch - overlap``.

    **Arguments:** `img` ``(H, W)``; `patch_shape` ``(ph, pw)`` ints ``>= 1``;
    `overlap_shape` ``(oh, ow)`` ints with ``0 <= overlap < patch``. ``create_patches``
    raises ``ValueError`` when the patch is larger than the (framed) image.
    """

    def __init__(self, img, patch_shape: tuple[int, int], overlap_shape: tuple[int, int]):
        self.img = np.asarray(img, dtype=np.float32)
        if self.img.ndim != 2:
            raise ValueError(f"`img` must be (H, W), got shape {self.img.shape}.")
        self.height_patch, self.width_patch = _check_pair(patch_shape, "patch_shape", 1)
        self.height_over, self.width_over = _check_pair(overlap_shape, "overlap_shape", 0)
        if not (
            0 <= self.height_over < self.height_patch and 0 <= self.width_over < self.width_patch
        ):
            raise ValueError(
                f"`overlap_shape` {overlap_shape} must be >= 0 and below `patch_shape` "
                f"{patch_shape}."
            )
        self.height, self.width = self.img.shape

    def create_patches(self, add_frame: bool = False, center: bool = True):
        """**Returns:** ``(num_patches, ph, pw)``. `add_frame` pads the image with
        ``patch - overlap`` zeros on every side first; `center` subtracts each column's
        mean from the image (ngc-learn's centring)."""
        img = self.img
        sh = self.height_patch - self.height_over
        sw = self.width_patch - self.width_over
        if add_frame:
            img = np.pad(img, ((sh, sh), (sw, sw)))
        if center:
            img = img - img.mean(axis=0, keepdims=True)
        h, w = img.shape
        if h < self.height_patch or w < self.width_patch:
            raise ValueError(
                f"`patch_shape` ({self.height_patch}, {self.width_patch}) is larger than the "
                f"image ({h}, {w})."
            )
        patches = [
            img[r : r + self.height_patch, c : c + self.width_patch]
            for r in range(0, h - self.height_patch + 1, sh)
            for c in range(0, w - self.width_patch + 1, sw)
        ]
        return jnp.asarray(np.stack(patches))


def generate_patch_set(
    x_batch,
    patch_size: tuple[int, int] = (8, 8),
    max_patches: int = 50,
    center: bool = True,
    seed: int = 1234,
    vis_mode: bool = False,
    step_size: tuple[int, int] = (1, 1),
):
    """Sample ``max_patches`` random patches (with replacement) from every image.

    **Arguments:** `x_batch` ``(N, H*W)`` square images or ``(N, H, W)``; `patch_size`;
    `max_patches` per image; `center` subtract each patch's mean; `seed`; `vis_mode` also
    return the means; `step_size` grid of allowed top-left positions.

    `patch_size` must be two ints ``>= 1`` no larger than the images, `step_size` two
    ints ``>= 1`` and `max_patches` an int ``>= 1`` (``ValueError`` naming it otherwise).

    **Returns:** ``(N * max_patches, ph * pw)`` (and the ``(n, 1)`` means with
    `vis_mode`).
    """
    images = _as_images(x_batch)
    ph, pw = _check_pair(patch_size, "patch_size", 1)
    sh, sw = _check_pair(step_size, "step_size", 1)
    if isinstance(max_patches, bool) or not isinstance(max_patches, int | np.integer):
        raise ValueError(f"`max_patches` must be an int >= 1, got {max_patches!r}.")
    if max_patches < 1:
        raise ValueError(f"`max_patches` must be an int >= 1, got {max_patches!r}.")
    n, h, w = images.shape
    if ph > h or pw > w:
        raise ValueError(f"`patch_size` {patch_size} is larger than the images ({h}, {w}).")
    rows = np.arange(0, h - ph + 1, sh)
    cols = np.arange(0, w - pw + 1, sw)
    rng = np.random.default_rng(seed)
    r = rng.choice(rows, size=(n, max_patches))
    c = rng.choice(cols, size=(n, max_patches))
    di, dj = np.meshgrid(np.arange(ph), np.arange(pw), indexing="ij")
    patches = images[
        np.arange(n)[:, None, None, None],
        r[:, :, None, None] + di,
        c[:, :, None, None] + dj,
    ].reshape(n * max_patches, ph * pw)
    mu = patches.mean(axis=1, keepdims=True) if center else np.zeros((len(patches), 1))
    out = jnp.asarray(patches - mu)
    return (out, mu) if vis_mode else out


def generate_patchify_patch_set(
    x_batch_, patch_size: tuple[int, int] = (5, 5), center: bool = True
):
    """Non-overlapping patches (stride = patch height, as ngc-learn's patchify call) of
    one image given as a ``(1, H*W)`` row, ``(H*W,)`` or ``(H, W)``.

    **Returns:** ``(num_patches, ph * pw)``, each patch centred when `center`.
    `patch_size` must be two ints ``>= 1`` no larger than the image.
    """
    x = np.asarray(x_batch_)
    img = _as_images(x.reshape(1, -1))[0] if x.ndim < 2 or x.shape[0] == 1 else x
    if img.ndim != 2:
        raise ValueError(f"`x_batch_` must hold one image, got shape {x.shape}.")
    ph, pw = _check_pair(patch_size, "patch_size", 1)
    step = ph
    h, w = img.shape
    if ph > h or pw > w:
        raise ValueError(f"`patch_size` {patch_size} is larger than the image ({h}, {w}).")
    patches = [
        img[r : r + ph, c : c + pw].reshape(-1)
        for r in range(0, h - ph + 1, step)
        for c in range(0, w - pw + 1, step)
    ]
    batch = np.stack(patches)
    if center:
        batch = batch - batch.mean(axis=1, keepdims=True)
    return jnp.asarray(batch)


#: ngc-learn's (misspelt) name.
generate_pacthify_patch_set = generate_patchify_patch_set


def _positions(size: int, patch: int, overlap: int, alignment: str) -> list[int]:
    step = patch - overlap
    if step <= 0:
        raise ValueError(f"the stride (overlap) {overlap} must be smaller than the patch {patch}.")
    if patch > size:
        return []
    last = size - patch
    if alignment in ("left", "top"):
        return list(range(0, last + 1, step))
    if alignment in ("right", "bottom"):
        return sorted(range(last, -1, -step))
    if alignment == "center":
        centre = size // 2
        right = list(range(centre, last + 1, step))
        left = list(range(centre - patch, -1, -step))
        return sorted(set(left + right))
    if alignment == "fit":
        extra = (last % step) // 2
        return list(range(extra, last + 1, step))
    raise ValueError(f"unknown alignment {alignment!r}.")


class PatchGenerator:
    """Tile an image with patches of ``(patch_height, patch_width)``.

    Horizontal alignment ``"left"`` (default), ``"right"``, ``"center"`` (tiles spread
    out from the centre) or ``"fit"`` (the grid centred, margins split evenly); vertical
    ``"top"`` (default), ``"bottom"``, ``"center"``, ``"fit"``. ``horizontal_stride`` /
    ``vertical_stride`` are ngc-learn's: the overlap between neighbouring patches (the
    step is ``patch - stride``; default 0, no overlap).

    ``generator(img)`` returns ``(n, ph, pw, ...)``; or ``generator.target(img)`` then
    iterate. ``positions(height, width)`` gives the top-left corners.

    `patch_height` and `patch_width` are ints ``>= 1``; the strides (overlaps) ints in
    ``[0, patch)``; calling on an image smaller than the patch raises ``ValueError``.
    """

    def __init__(
        self,
        patch_height: int,
        patch_width: int,
        horizontal_alignment: Literal["left", "right", "center", "fit"] | None = None,
        vertical_alignment: Literal["top", "bottom", "center", "fit"] | None = None,
        horizontal_stride: int | None = None,
        vertical_stride: int | None = None,
    ):
        for arg, value in (("patch_height", patch_height), ("patch_width", patch_width)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"`{arg}` must be an int >= 1, got {value!r}.")
        self.patch_height = int(patch_height)
        self.patch_width = int(patch_width)
        self.horizontal_alignment = horizontal_alignment or "left"
        self.vertical_alignment = vertical_alignment or "top"
        if self.horizontal_alignment not in ("left", "right", "center", "fit"):
            raise ValueError(f"`horizontal_alignment`: unknown {horizontal_alignment!r}.")
        if self.vertical_alignment not in ("top", "bottom", "center", "fit"):
            raise ValueError(f"`vertical_alignment`: unknown {vertical_alignment!r}.")
        for arg, stride, patch in (
            ("horizontal_stride", horizontal_stride, self.patch_width),
            ("vertical_stride", vertical_stride, self.patch_height),
        ):
            if stride is None:
                continue
            if isinstance(stride, bool) or not isinstance(stride, int | np.integer):
                raise ValueError(f"`{arg}` must be an int or None, got {stride!r}.")
            if not 0 <= stride < patch:
                raise ValueError(
                    f"`{arg}` (the overlap of neighbouring patches) must lie in [0, {patch}) "
                    f"(below the patch size), got {stride}."
                )
        self.horizontal_stride = int(horizontal_stride or 0)
        self.vertical_stride = int(vertical_stride or 0)
        self._img: np.ndarray | None = None

    def positions(self, height: int, width: int) -> list[tuple[int, int]]:
        rows = _positions(height, self.patch_height, self.vertical_stride, self.vertical_alignment)
        cols = _positions(
            width, self.patch_width, self.horizontal_stride, self.horizontal_alignment
        )
        return [(r, c) for r in rows for c in cols]

    def target(self, img) -> None:
        """Set the image (``(H, W)`` or ``(H, W, C)``) that iteration will tile."""
        arr = np.asarray(img)
        if arr.ndim < 2:
            raise ValueError(f"`img` must be (H, W[, C]), got shape {arr.shape}.")
        self._img = arr

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._img is None:
            raise ValueError("call `target(img)` before iterating.")
        img = self._img
        for r, c in self.positions(*img.shape[:2]):
            yield img[r : r + self.patch_height, c : c + self.patch_width]

    def __call__(self, img):
        self.target(img)
        patches = list(self)
        if not patches:
            raise ValueError(
                f"`img` of shape {np.shape(img)[:2]} is smaller than the patch "
                f"({self.patch_height}, {self.patch_width})."
            )
        return jnp.asarray(np.stack(patches))


def _grid_starts(size: int, patch: int, step: int) -> np.ndarray:
    return np.arange(0, size - patch + 1, step) if patch <= size else np.zeros((0,), int)


def _check_pair(value, name: str, minimum: int) -> tuple[int, int]:
    try:
        a, b = value
        ok = all(not isinstance(v, bool | str) and int(v) == v for v in (a, b))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"`{name}` must be a pair of ints, got {value!r}.")
    a, b = int(a), int(b)
    if a < minimum or b < minimum:
        raise ValueError(f"`{name}` must be a pair of ints >= {minimum}, got {value!r}.")
    return a, b


def patch_with_stride(X, patch: tuple[int, int], stride: tuple[int, int]):
    r"""Every ``patch``-sized window of ``X`` whose top-left corner lies on the grid
    ``(i * stride[0], j * stride[1])`` and that fits in the image, in row-major order
    (ngc-learn's ``patch_utils.patch_with_stride``).

    **Arguments:**

    - `X`: an image of shape `(H, W)` (trailing channel axes `(H, W, ...)` are carried).
    - `patch`: `(ph, pw)`, the window size.
    - `stride`: `(sh, sw)`, the step between neighbouring windows (``>= 1``).

    **Returns:** a JAX array of shape `(n_patches, ph, pw, ...)` with
    ``n_patches = ((H - ph) // sh + 1) * ((W - pw) // sw + 1)`` (0 when the patch does not
    fit, as in ngc-learn). Works under ``jit`` (the positions depend only on shapes).

    ngc-learn counts ``H // ph`` (``W // pw``) positions whatever the stride, so with a
    stride smaller than the patch it drops the windows past that count; ngcx takes all
    of them (the two agree when the stride equals the patch).
    """
    x = jnp.asarray(X)
    if x.ndim < 2:
        raise ValueError(f"`X` must be an (H, W[, ...]) image, got shape {x.shape}.")
    ph, pw = _check_pair(patch, "patch", 1)
    sh, sw = _check_pair(stride, "stride", 1)
    rows = _grid_starts(x.shape[0], ph, sh)
    cols = _grid_starts(x.shape[1], pw, sw)
    r = (rows[:, None] + np.arange(ph)[None, :])[:, None, :, None]
    c = (cols[:, None] + np.arange(pw)[None, :])[None, :, None, :]
    out = x[r, c]  # (n_rows, n_cols, ph, pw, ...)
    return out.reshape((len(rows) * len(cols), ph, pw) + x.shape[2:])


def patch_with_overlap(X, patch: tuple[int, int], overlap: tuple[int, int]):
    r"""Windows of size ``patch`` whose neighbours share ``overlap`` rows/columns: the
    windows of :func:`patch_with_stride` with stride ``patch - overlap`` (ngc-learn's
    ``patch_utils.patch_with_overlap``).

    **Arguments:**

    - `X`: an image of shape `(H, W[, ...])`.
    - `patch`: `(ph, pw)`.
    - `overlap`: `(oh, ow)` with ``0 <= overlap < patch``.

    **Returns:** `(n_patches, ph, pw, ...)`.

    ngc-learn uses the stride ``(H - oh, W - ow)`` (the image size, not the patch size,
    minus the overlap), which skips almost every window; ngcx uses ``patch - overlap``,
    so the windows overlap by exactly ``overlap``.
    """
    ph, pw = _check_pair(patch, "patch", 1)
    oh, ow = _check_pair(overlap, "overlap", 0)
    if oh >= ph or ow >= pw:
        raise ValueError(f"`overlap` {overlap!r} must be below `patch` {patch!r} in each axis.")
    return patch_with_stride(X, (ph, pw), (ph - oh, pw - ow))
