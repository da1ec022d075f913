"""Argument checks shared by ngcx's modules (clear errors that name the argument)."""

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike


def concrete_float(value: Any) -> float | None:
    """``float(value)`` when ``value`` is concrete, ``None`` when it is traced."""
    try:
        return float(value)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return None


def float_array(x: ArrayLike, name: str) -> Array:
    """``x`` as a floating JAX array; ``ValueError`` naming ``name`` if it is not real."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise ValueError(f"`{name}` must be a floating-point array, got dtype {arr.dtype}.")
    return arr


def check_positive(value: Any, name: str) -> None:
    """Raise ``ValueError`` unless ``value > 0`` (skipped when ``value`` is traced)."""
    concrete = concrete_float(value)
    if concrete is not None and not concrete > 0:
        raise ValueError(f"`{name}` must be > 0, got {concrete}.")


def check_nonnegative(value: Any, name: str) -> None:
    """Raise ``ValueError`` unless ``value >= 0`` (skipped when ``value`` is traced)."""
    concrete = concrete_float(value)
    if concrete is not None and not concrete >= 0:
        raise ValueError(f"`{name}` must be >= 0, got {concrete}.")
