r"""Retinal ganglion cells: centre-surround filtering of image patches (ngc-learn's
``RetinalGanglionCell``)."""

from __future__ import annotations

import abc
from typing import Any, Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import float_array
from .._custom_types import ParamLike
from .._params import param
from .._shapes import left_pad_rank
from ._common import check_units as _check_units, checked


__all__ = ["AbstractStatelessEncoder", "RetinalGanglionCell"]

FilterType = Literal["identity", "gaussian", "difference_of_gaussian", "ratio_of_gaussian"]

_FILTER_NAMES: dict[str, FilterType] = {
    "identity": "identity",
    "gaussian": "gaussian",
    "difference_of_gaussian": "difference_of_gaussian",
    "DoG": "difference_of_gaussian",
    "ratio_of_gaussian": "ratio_of_gaussian",
    "RoG": "ratio_of_gaussian",
}

#: keeps the ratio-of-Gaussians filter finite where the surround underflows
_RATIO_EPS = 1e-8


class AbstractStatelessEncoder(eqx.Module):
    """An encoder without state: ``out = encoder(x)`` maps a stimulus to the encoding
    (shape ``(*batch, n_units)``) at once."""

    n_units: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The encoding of stimulus `x`."""


def _pair(value: Any, name: str, *, minimum: int) -> tuple[int, int]:
    ok = (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
        and all(int(v) >= minimum for v in value)
    )
    if not ok:
        raise ValueError(f"`{name}` must be a pair of ints >= {minimum}, got {value!r}.")
    return int(value[0]), int(value[1])


def _gaussian(patch_shape: tuple[int, int], sigma: Array) -> Array:
    """A Gaussian over the patch, centred on it, summing to 1.

    The squared distances are taken relative to the smallest (that of the pixels nearest
    the centre: 0 for an odd side, 1/4 per even side), which leaves the normalised Gaussian
    unchanged but keeps its largest value at 1: for a narrow Gaussian on an even-sided
    patch every unshifted value underflows to 0 and the normalisation gave 0/0 = NaN."""
    px, py = patch_shape
    r = jnp.arange(px, dtype=sigma.dtype) - (px - 1) / 2.0
    c = jnp.arange(py, dtype=sigma.dtype) - (py - 1) / 2.0
    sq = jnp.square(r)[:, None] + jnp.square(c)[None, :]
    sq = sq - jnp.min(sq)
    g = jnp.exp(-sq / (2.0 * jnp.square(sigma)))
    return g / jnp.sum(g)


class RetinalGanglionCell(AbstractStatelessEncoder):
    r"""A layer of retinal ganglion cells (ngc-learn's ``RetinalGanglionCell``): each cell
    sees one ``patch_shape`` $(p_x, p_y)$ window of an ``area_shape`` $(i_x, i_y)$ image,
    the windows sliding by ``step_shape`` $(s_x, s_y)$, and weights it pixelwise by its
    receptive field $F$; the layer's output, all cells' weighted patches flattened
    (cell-major, then rows, then columns), is centred on its mean per image:

    $$o_{c,u,v} = F_{u,v}\; x_{c_x s_x + u,\; c_y s_y + v}, \qquad
      \text{out} = o - \overline{o},$$

    with $n_x = \lfloor (i_x - p_x)/s_x\rfloor + 1$ windows down and $n_y$ across
    (``n_cells`` $= n_x n_y$; a step of 0 means the patch size, tiling the area). With
    $G_\sigma$ the Gaussian $\propto \exp(-(u^2 + v^2)/2\sigma^2)$ centred on the patch
    and normalised to sum 1, ``filter_type`` selects

    - ``"identity"``: $F = 1$;
    - ``"gaussian"``: $F = G_\sigma$;
    - ``"difference_of_gaussian"`` (``"DoG"``): $F = G_\sigma - \lambda\, G_{k\sigma}$
      (centre minus surround);
    - ``"ratio_of_gaussian"`` (``"RoG"``): $F = G_\sigma / (G_{k\sigma} + 10^{-8})$;

    with ``sigma`` $\sigma$, ``k`` $k$ (1.6, ngc-learn's fixed ratio) and ``lmbda``
    $\lambda$ (1). They are array leaves: the filter is built at call time from them, so
    ``jax.grad`` with respect to $\sigma$ and ``jax.vmap`` over a sweep of it work. Input
    ``x``: shape ``(*batch, i_x, i_y)``; output ``(*batch, n_cells * p_x * p_y)``.

    (``ngcx.filters`` blurs whole images with an odd ``(2r + 1)``-sized kernel of a
    concrete $\sigma$; a ganglion cell's field is the size of its patch, even or odd, and
    its $\sigma$ a leaf, so the field is built here.)

    Differences from ngc-learn:

    - ngc-learn centres the Gaussian at pixel $(\lfloor p_x/2\rfloor,
      \lfloor p_y/2\rfloor)$, half a pixel off the centre for an even patch; ngcx centres
      it on the patch, $((p_x - 1)/2, (p_y - 1)/2)$ (the same for odd patches).
    - ngc-learn lays the filter out as $(p_y, p_x)$ (``meshgrid``'s ``"xy"`` order), so a
      non-square patch fails to broadcast; ngcx's filter is $(p_x, p_y)$.
    - For a step of 0, ngc-learn counts $\lfloor i_x/p_x\rfloor$ windows but places them all
      at offset 0 (identical cells); ngcx tiles the area with them.
    - ngc-learn silently uses the identity filter for an unknown ``filter_type`` and takes
      ``n_cells`` on trust (a wrong count fails later in a reshape); ngcx raises
      ``ValueError`` for both. ngc-learn's ``batch_size`` is not an argument: ``x`` has
      any leading axes.

    ```python
    rgc = RetinalGanglionCell("DoG", area_shape=(28, 28), n_cells=9, patch_shape=(10, 10),
                              step_shape=(9, 9), sigma=1.5)
    out = rgc(images)   # images: (batch, 28, 28) -> out: (batch, 900)
    ```
    """

    n_units: int = eqx.field(static=True)
    n_cells: int = eqx.field(static=True)
    area_shape: tuple[int, int] = eqx.field(static=True)
    patch_shape: tuple[int, int] = eqx.field(static=True)
    step_shape: tuple[int, int] = eqx.field(static=True)
    filter_type: FilterType = eqx.field(static=True)
    sigma: Float[Array, ""]
    k: Float[Array, ""]
    lmbda: Float[Array, ""]

    def __init__(
        self,
        filter_type: str,
        area_shape: tuple[int, int],
        n_cells: int,
        patch_shape: tuple[int, int],
        step_shape: tuple[int, int],
        *,
        sigma: ParamLike = 1.0,
        k: ParamLike = 1.6,
        lmbda: ParamLike = 1.0,
    ):
        """**Arguments** (ngc-learn's names and defaults, plus `k` and `lmbda`):

        - `filter_type`: ``"identity"``, ``"gaussian"``, ``"difference_of_gaussian"``
          (``"DoG"``) or ``"ratio_of_gaussian"`` (``"RoG"``) (static).
        - `area_shape`: the image's shape $(i_x, i_y)$, positive ints (static).
        - `n_cells`: the number of cells, $n_x n_y$ (checked; static).
        - `patch_shape`: each cell's window $(p_x, p_y)$, positive ints no larger than the
          area (static).
        - `step_shape`: the stride $(s_x, s_y)$ between windows, ints ``>= 0`` (0: the
          patch size) (static).
        - `sigma`: the centre Gaussian's standard deviation (pixels), ``> 0``; a scalar
          array leaf.
        - `k`: the surround's width relative to the centre, ``> 0`` (DoG and RoG).
        - `lmbda`: the surround's weight in the DoG, real.
        """
        if filter_type not in _FILTER_NAMES:
            raise ValueError(
                f"`filter_type` must be one of {sorted(_FILTER_NAMES)}, got {filter_type!r}."
            )
        ix, iy = _pair(area_shape, "area_shape", minimum=1)
        px, py = _pair(patch_shape, "patch_shape", minimum=1)
        sx, sy = _pair(step_shape, "step_shape", minimum=0)
        if px > ix or py > iy:
            raise ValueError(f"`patch_shape` {(px, py)} must fit in `area_shape` {(ix, iy)}.")
        sx, sy = sx or px, sy or py
        count = ((ix - px) // sx + 1) * ((iy - py) // sy + 1)
        if n_cells != count:
            raise ValueError(
                f"`n_cells` must be {count} (the windows of {(px, py)} at steps {(sx, sy)} "
                f"in {(ix, iy)}), got {n_cells!r}."
            )
        self.n_cells = _check_units(n_cells)
        self.n_units = count * px * py
        self.area_shape, self.patch_shape, self.step_shape = (ix, iy), (px, py), (sx, sy)
        self.filter_type = _FILTER_NAMES[filter_type]
        self.sigma = param(sigma, "sigma", "positive")
        self.k = param(k, "k", "positive")
        self.lmbda = param(lmbda, "lmbda", "real")

    @property
    def filter(self) -> Float[Array, "px py"]:
        """The receptive field $F$, shape ``patch_shape`` (ngc-learn's ``filter``)."""
        sigma = self.sigma
        if self.filter_type == "identity":
            return jnp.ones(self.patch_shape, sigma.dtype)
        center = _gaussian(self.patch_shape, sigma)
        if self.filter_type == "gaussian":
            return center
        surround = _gaussian(self.patch_shape, sigma * self.k)
        if self.filter_type == "difference_of_gaussian":
            return center - self.lmbda * surround
        return center / (surround + _RATIO_EPS)

    def patches(self, x: Float[ArrayLike, "*batch ix iy"]) -> Float[Array, "*batch c px py"]:
        """The cells' windows of `x`, shape ``(*batch, n_cells, p_x, p_y)``."""
        x_a = float_array(x, "x")
        if x_a.ndim < 2 or x_a.shape[-2:] != self.area_shape:
            raise ValueError(
                f"`x` must have shape (*batch, {self.area_shape[0]}, {self.area_shape[1]}), "
                f"got {x_a.shape}."
            )
        (ix, iy), (px, py), (sx, sy) = self.area_shape, self.patch_shape, self.step_shape
        rows = np.arange(0, ix - px + 1, sx)[:, None] + np.arange(px)[None, :]  # (n_x, px)
        cols = np.arange(0, iy - py + 1, sy)[:, None] + np.arange(py)[None, :]  # (n_y, py)
        windows = x_a[..., rows[:, None, :, None], cols[None, :, None, :]]
        return windows.reshape(*x_a.shape[:-2], self.n_cells, px, py)

    def __call__(self, x: Float[ArrayLike, "*batch ix iy"]) -> Float[Array, "*batch n"]:
        """The layer's centred, filtered patches.

        **Arguments:** `x`, images of shape ``(*batch, i_x, i_y)``.

        **Returns:** shape ``(*batch, n_cells * p_x * p_y)``.
        """
        windows = self.patches(x)
        field = left_pad_rank(self.filter.astype(windows.dtype), windows.ndim)
        out = (windows * field).reshape(*windows.shape[:-3], self.n_units)
        return checked(self, out - jnp.mean(out, axis=-1, keepdims=True))
