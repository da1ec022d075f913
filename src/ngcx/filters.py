r"""Centre-surround image filters (ngc-learn's ``utils.filters``), NCHW layout.

``gaussian_filter`` is a difference (or ratio) of two normalised Gaussian blurs;
``cortical_gaussian_filter`` is its cortical variant (rectified difference, or divisive
normalisation $\lfloor c\rfloor_+^p / (\lfloor s\rfloor_+^q + \sigma_h^2)$). Images are
padded with ``edge_pad_mode`` by the kernel radius first, so the output keeps
``(B, C, H, W)``; every channel is filtered on its own (a depthwise convolution).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_positive, float_array


__all__ = ["gaussian_kernel_2d", "gaussian_filter", "cortical_gaussian_filter"]


def gaussian_kernel_2d(sigma: float, radius: int) -> Float[Array, "k k"]:
    r"""Normalised ``(2r + 1, 2r + 1)`` kernel $\propto \exp(-(x^2 + y^2)/2\sigma^2)$."""
    if not sigma > 0:
        raise ValueError(f"`sigma` must be > 0, got {sigma}.")
    if not isinstance(radius, int) or radius < 0:
        raise ValueError(f"`kernel_size` (radius) must be a non-negative int, got {radius!r}.")
    x = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
    xx, yy = jnp.meshgrid(x, x)
    k = jnp.exp(-0.5 * (xx**2 + yy**2) / sigma**2)
    return k / jnp.sum(k)


_PAD_MODES = (
    "constant",
    "edge",
    "linear_ramp",
    "maximum",
    "mean",
    "median",
    "minimum",
    "reflect",
    "symmetric",
    "wrap",
)


def _blurs(images, sigma_center, sigma_surround, radius, edge_pad_mode):
    x = float_array(images, "images")
    if x.ndim != 4:
        raise ValueError(f"`images` must be (B, C, H, W), got shape {x.shape}.")
    for name, sigma in (("sigma_center", sigma_center), ("sigma_surround", sigma_surround)):
        check_positive(sigma, name)
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
        raise ValueError(f"`kernel_size` (the radius) must be an int >= 0, got {radius!r}.")
    if edge_pad_mode not in _PAD_MODES:
        raise ValueError(
            f"`edge_pad_mode` must be one of {', '.join(_PAD_MODES)}, got {edge_pad_mode!r}."
        )
    c = x.shape[1]
    padded = jnp.pad(x, ((0, 0), (0, 0), (radius, radius), (radius, radius)), mode=edge_pad_mode)

    def blur(sigma):
        k = gaussian_kernel_2d(sigma, radius).astype(x.dtype)
        kernel = jnp.broadcast_to(k, (c, 1, *k.shape))  # OIHW, one filter per channel
        return jax.lax.conv_general_dilated(
            padded,
            kernel,
            (1, 1),
            "VALID",
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            feature_group_count=c,
        )

    return blur(sigma_center), blur(sigma_surround)


def gaussian_filter(
    images: Float[ArrayLike, "b c h w"],
    sigma_center: float,
    sigma_surround: float,
    kernel_size: int,
    use_ratio: bool = False,
    edge_pad_mode: str = "edge",
) -> Float[Array, "b c h w"]:
    """Difference of Gaussians ``center - surround`` (or their ratio ``center /
    (surround + 1e-5)`` with `use_ratio`); `kernel_size` is the kernel radius.

    `images` is a floating ``(B, C, H, W)`` array; `sigma_center`, `sigma_surround` > 0;
    `kernel_size` an int >= 0; `edge_pad_mode` a ``jnp.pad`` mode (``"edge"``,
    ``"constant"``, ``"reflect"``, ...). ``ValueError`` naming the argument otherwise."""
    center, surround = _blurs(images, sigma_center, sigma_surround, kernel_size, edge_pad_mode)
    return center / (surround + 1e-5) if use_ratio else center - surround


def cortical_gaussian_filter(
    images: Float[ArrayLike, "b c h w"],
    sigma_center: float,
    sigma_surround: float,
    kernel_size: int,
    use_ratio: bool = False,
    semi_sat_constant: float = 0.1,
    excitation_exp: float = 2.0,
    inhibition_exp: float = 2.0,
    edge_pad_mode: str = "edge",
) -> Float[Array, "b c h w"]:
    r"""Rectified difference $\max(0, c - s)$, or with `use_ratio` divisive normalisation
    $\max(0, c)^p / (\max(0, s)^q + \sigma_h^2)$ (``excitation_exp`` $p$,
    ``inhibition_exp`` $q$, ``semi_sat_constant`` $\sigma_h$).

    Domains as :func:`gaussian_filter`, and with `use_ratio` `semi_sat_constant`,
    `excitation_exp` and `inhibition_exp` > 0 (a zero semi-saturation constant or a
    negative exponent divides by zero where the surround is 0)."""
    if use_ratio:
        for name, value in (
            ("semi_sat_constant", semi_sat_constant),
            ("excitation_exp", excitation_exp),
            ("inhibition_exp", inhibition_exp),
        ):
            check_positive(value, name)
    center, surround = _blurs(images, sigma_center, sigma_surround, kernel_size, edge_pad_mode)
    if not use_ratio:
        return jnp.maximum(0.0, center - surround)
    num = jnp.power(jnp.maximum(0.0, center), excitation_exp)
    return num / (jnp.power(jnp.maximum(0.0, surround), inhibition_exp) + semi_sat_constant**2)
