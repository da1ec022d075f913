"""Argument checks shared by ngcx's modules (clear errors that name the argument)."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike


def int_arg(value: Any, name: str, minimum: int) -> int:
    """``value`` as a Python int >= ``minimum`` (``ValueError`` naming `name` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    return int(value)


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


def host_values(value: Any) -> np.ndarray | None:
    """``value`` as a float64 NumPy array when it is a Python/NumPy number or array
    (checked for free); ``None`` for a JAX array, traced or not (no host sync per call)."""
    if isinstance(value, bool):
        return np.asarray(float(value))
    if isinstance(value, int | float | np.number | np.ndarray):
        try:
            return np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
    return None


def check_value(value: Any, name: str, domain: str = "finite") -> None:
    """``ValueError`` naming ``name`` unless a host number ``value`` is finite and (with
    ``domain`` ``"> 0"`` / ``">= 0"``) in its domain; JAX arrays pass unchecked."""
    v = host_values(value)
    if v is None:
        return
    ok = bool(np.all(np.isfinite(v)))
    if ok and domain == "> 0":
        ok = bool(np.all(v > 0))
    elif ok and domain == ">= 0":
        ok = bool(np.all(v >= 0))
    if not ok:
        shown = v.item() if v.ndim == 0 else v.tolist()
        text = "finite" if domain == "finite" else f"finite and {domain}"
        raise ValueError(f"`{name}` must be {text}, got {shown}.")
