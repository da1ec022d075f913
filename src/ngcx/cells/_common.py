"""Helpers shared by the cell modules (argument checks, input currents, spike bookkeeping)."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._debug import check_finite_tree, check_traced_domain, checks_enabled
from .._params import bcast, is_concrete
from ..diffeq import INTEGRATORS, AbstractIntegrator
from ..surrogates import AbstractSurrogate, get_surrogate


__all__ = [
    "check_units",
    "current",
    "surrogate",
    "update_tols",
    "at",
    "integrator_name",
    "check_dt",
    "checked",
]


def at(p: Array, like: Array) -> Array:
    """Parameter `p` (scalar or per-unit) ready to combine with `like` (``(*batch, n)``):
    left-padded to its rank and cast to its dtype."""
    return bcast(p, like.ndim).astype(like.dtype)


def integrator_name(integrator: AbstractIntegrator) -> str:
    """The first name of :data:`ngcx.diffeq.INTEGRATORS` for `integrator` (its class name,
    lower-cased, for a user-defined integrator)."""
    for name, known in INTEGRATORS.items():
        if type(known) is type(integrator):
            return name
    return type(integrator).__name__.lower()


def check_units(n_units: Any) -> int:
    """``n_units`` as a positive int; ``ValueError`` naming it otherwise."""
    if not isinstance(n_units, int) or isinstance(n_units, bool) or n_units <= 0:
        raise ValueError(f"`n_units` must be a positive int, got {n_units!r}.")
    return n_units


def current(j: ArrayLike | None, like: Array, name: str = "j") -> Array:
    """The input current broadcast to the state's shape (``None``: zero current)."""
    if j is None:
        return jnp.zeros_like(like)
    j = jnp.asarray(j)
    if not jnp.issubdtype(j.dtype, jnp.floating):
        raise ValueError(f"`{name}` must be a floating-point array, got dtype {j.dtype}.")
    if j.shape != like.shape:
        try:
            j = jnp.broadcast_to(j, like.shape)
        except ValueError:
            raise ValueError(
                f"`{name}` has shape {j.shape}; the cell's state has shape {like.shape}."
            ) from None
    return j.astype(like.dtype)


def surrogate(surrogate_type: str | AbstractSurrogate) -> AbstractSurrogate:
    """The surrogate named `surrogate_type` (or the object itself)."""
    if isinstance(surrogate_type, AbstractSurrogate):
        return surrogate_type
    return get_surrogate(surrogate_type)


def update_tols(tols: Array, s: Array, t: Array) -> Array:
    """Time of last spike: ``t`` where a spike was emitted, unchanged elsewhere."""
    return jnp.where(s > 0, jnp.broadcast_to(t, s.shape).astype(tols.dtype), tols)


def check_dt(dt: Any, where: Any) -> Any:
    """`dt` unchanged, after checking it: a concrete `dt` (a Python number or a concrete
    array) must be finite and > 0 (``ValueError`` naming `dt` and the cell `where`, a
    class or its name); a traced `dt` is checked only in :func:`ngcx.debug_nans` mode."""
    name = where if isinstance(where, str) else type(where).__name__
    if isinstance(dt, (int, float)) and not isinstance(dt, bool):
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"`dt` of {name} must be finite and > 0 (ms), got {dt!r}.")
        return dt
    if is_concrete(dt):
        values = np.asarray(dt, dtype=np.float64)
        if not (np.all(np.isfinite(values)) and np.all(values > 0)):
            raise ValueError(
                f"`dt` of {name} must be finite and > 0 (ms), got {values.tolist()!r}."
            )
        return dt
    if checks_enabled():
        arr = jnp.asarray(dt)
        return check_traced_domain(arr, "dt", jnp.isfinite(arr) & (arr > 0), "finite and > 0")
    return dt


T = TypeVar("T")


def checked(where: Any, state: T) -> T:
    """`state` (a cell's new state or output); in :func:`ngcx.debug_nans` mode, every
    inexact leaf is checked finite with an error naming the cell `where` (its class name)
    and the field."""
    if not checks_enabled():
        return state
    out: T = check_finite_tree(state, type(where).__name__)
    return out
