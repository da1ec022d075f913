r"""Natural images for sparse coding: two embedded photographs, Olshausen & Field's
whitening filter and random patch sampling.

The photographs are the two sample images scikit-learn ships with
``sklearn.datasets.load_sample_images`` (``sklearn/datasets/images``): ``china.jpg``
(flickr user danielbuechele, photo 6061409035) and ``flower.jpg`` (flickr user
vultilion, photo 6056698931), both released under the Creative Commons Attribution 2.0
licence (https://creativecommons.org/licenses/by/2.0/) and retrieved on 21 August 2011
by Robert Layton, as scikit-learn's ``datasets/images/README.txt`` states. ngcx stores
them converted to 8-bit grey levels (ITU-R 601 luma) and downsampled by 2 (the mean of
each 2x2 block): two ``213 x 320`` images in ``natural_images.npz`` (about 90 KB).

Olshausen and Field (1996) learned their dictionary from ten whitened 512x512 photographs
of natural scenes; :func:`whiten_images` applies their zero-phase filter and
:func:`sample_patches` draws patches as their ``sparsenet`` code does (away from a
border, each patch centred).
"""

from __future__ import annotations

from importlib import resources

import numpy as np


__all__ = ["load_natural_images", "whiten_images", "sample_patches"]

#: Names of the embedded photographs, in the order :func:`load_natural_images` returns them.
NATURAL_IMAGE_NAMES = ("china", "flower")


def load_natural_images(normalize: bool = True) -> np.ndarray:
    """The two embedded grey-level photographs (see the module docstring for their
    source and licence: scikit-learn's sample images ``china.jpg`` and ``flower.jpg``,
    CC BY 2.0).

    **Arguments:**

    - `normalize`: return ``float32`` grey levels in ``[0, 1]``; otherwise the stored
      ``uint8`` values in ``[0, 255]``.

    **Returns:**

    An array of shape ``(2, 213, 320)`` (``china``, ``flower``).
    """
    with resources.files("ngcx.data").joinpath("natural_images.npz").open("rb") as f:
        images = np.load(f)["images"]
    if normalize:
        return images.astype(np.float32) / 255.0
    return images


def whiten_images(images: np.ndarray, f0: float = 0.4, variance: float = 0.1) -> np.ndarray:
    r"""Whiten images with Olshausen & Field's zero-phase filter.

    Natural images have an amplitude spectrum falling as $1/f$; the filter

    $$R(f) = f\,e^{-(f/f_0)^4}, \qquad f = \sqrt{f_x^2 + f_y^2}\ \text{(cycles/pixel)},$$

    flattens it (the factor $f$) and rolls off the highest frequencies, where noise and
    the pixel grid's anisotropy dominate (the factor $e^{-(f/f_0)^4}$). It is real and
    symmetric, so it shifts no phase. Olshausen and Field use $f_0 = 0.4N$ cycles per
    $N$-pixel image, i.e. $0.4$ cycles/pixel, the default here. Each image's mean is
    removed first; afterwards the whole set is scaled so that the mean of the images'
    pixel variances is `variance` (their convention: 0.1).

    **Arguments:**

    - `images`: shape ``(n, H, W)`` or ``(H, W)``, real.
    - `f0`: the roll-off frequency $f_0 > 0$ in cycles/pixel.
    - `variance`: the mean pixel variance of the result, $> 0$.

    **Returns:**

    ``float32`` images of the same shape.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim not in (2, 3) or min(x.shape[-2:]) < 2:
        raise ValueError(
            f"`images` must have shape (n, H, W) or (H, W) with H, W >= 2, got {x.shape}."
        )
    if not np.isfinite(x).all():
        raise ValueError("`images` holds NaN or infinite values.")
    if not (np.isfinite(f0) and f0 > 0):
        raise ValueError(f"`f0` must be finite and > 0 (cycles/pixel), got {f0!r}.")
    if not (np.isfinite(variance) and variance > 0):
        raise ValueError(f"`variance` must be finite and > 0, got {variance!r}.")
    single = x.ndim == 2
    x = x[None] if single else x
    h, w = x.shape[-2:]
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    rho = np.sqrt(fx * fx + fy * fy)
    filt = rho * np.exp(-((rho / f0) ** 4))
    x = x - x.mean(axis=(-2, -1), keepdims=True)
    white = np.real(np.fft.ifft2(np.fft.fft2(x) * filt))
    mean_var = float(np.mean(np.var(white, axis=(-2, -1))))
    if mean_var > 0:
        white = white * np.sqrt(variance / mean_var)
    out = white.astype(np.float32)
    return out[0] if single else out


def sample_patches(
    images: np.ndarray,
    patch_shape: tuple[int, int],
    n_patches: int,
    *,
    seed: int = 0,
    border: int = 4,
    center: bool = True,
) -> np.ndarray:
    """Draw `n_patches` square or rectangular patches at uniformly random positions.

    Images are chosen uniformly at random, then a top-left corner such that the patch
    keeps `border` pixels away from the image's edges (Olshausen's ``BUFF``; the
    whitening filter is circular, so the outermost pixels mix with the opposite edge).
    With `center`, each patch's mean is subtracted (ngc-learn's ``center=True``).

    **Arguments:**

    - `images`: shape ``(n, H, W)`` (or one ``(H, W)`` image).
    - `patch_shape`: ``(h, w)``, each at least 1 and small enough to fit inside the border.
    - `n_patches`: number of patches, at least 1.
    - `seed`: seed of the positions (NumPy's ``default_rng``).
    - `border`: margin in pixels, at least 0.
    - `center`: subtract each patch's mean.

    **Returns:**

    ``float32`` array of shape ``(n_patches, h * w)`` (patches flattened row-major).
    """
    x = np.asarray(images, dtype=np.float32)
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"`images` must have shape (n, H, W) or (H, W), got {np.shape(images)}.")
    try:
        ph, pw = (int(v) for v in patch_shape)
    except (TypeError, ValueError):
        raise ValueError(f"`patch_shape` must be a pair (h, w), got {patch_shape!r}.") from None
    if isinstance(border, bool) or not isinstance(border, int) or border < 0:
        raise ValueError(f"`border` must be an int >= 0, got {border!r}.")
    h, w = x.shape[1:]
    if ph < 1 or pw < 1 or ph + 2 * border > h or pw + 2 * border > w:
        raise ValueError(
            f"`patch_shape` {patch_shape!r} must be >= 1 and fit in the images ({h}x{w}) "
            f"with a border of {border} pixels."
        )
    if isinstance(n_patches, bool) or not isinstance(n_patches, int) or n_patches < 1:
        raise ValueError(f"`n_patches` must be an int >= 1, got {n_patches!r}.")
    rng = np.random.default_rng(seed)
    which = rng.integers(0, x.shape[0], n_patches)
    rows = rng.integers(border, h - border - ph + 1, n_patches)
    cols = rng.integers(border, w - border - pw + 1, n_patches)
    di, dj = np.meshgrid(np.arange(ph), np.arange(pw), indexing="ij")
    patches = x[which[:, None, None], rows[:, None, None] + di, cols[:, None, None] + dj]
    patches = patches.reshape(n_patches, ph * pw)
    if center:
        patches = patches - patches.mean(axis=1, keepdims=True)
    return patches.astype(np.float32)
