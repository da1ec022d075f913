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


def check_features(x: Any, name: str, n: int, where: str, *, rank: int | None = None) -> None:
    """Raise ``ValueError`` unless ``x`` is an array ending in ``n`` features (and, with
    `rank`, of exactly that rank), naming the argument ``name``, the shape received and
    the shape expected. Shapes are static, so this costs nothing at run time."""
    shape = tuple(getattr(x, "shape", ()))
    expected = ("batch",) * ((rank or 2) - 1) + (n,)
    text = "(" + ", ".join(str(d) for d in expected) + ("," if len(expected) == 1 else "") + ")"
    if not shape or shape[-1] != n or (rank is not None and len(shape) != rank):
        lead = "" if rank is not None else "(..., " + str(n) + ") i.e. "
        raise ValueError(f"`{name}` of {where} must have shape {lead}{text}, got shape {shape}.")


def check_same_batch(a: Any, b: Any, names: tuple[str, str], where: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` share their leading (batch) axes."""
    sa, sb = tuple(a.shape[:-1]), tuple(b.shape[:-1])
    if sa != sb:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` of {where} must share their batch axes, got "
            f"shapes {tuple(a.shape)} and {tuple(b.shape)}."
        )
