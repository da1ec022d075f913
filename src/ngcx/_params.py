r"""Numeric parameters as array leaves.

Every number of a cell, encoder, trace, error cell, synapse, rule or model that does not
decide a shape or a Python branch is stored as a JAX array (a *leaf*), so ``jax.vmap`` over
a sweep of it, ``jax.grad`` with respect to it, and a new value without recompiling all
work. :func:`param` converts and validates one:

- a Python number becomes a 0-d array of the default float dtype (float32, or float64
  with ``jax_enable_x64``), strongly typed so that an optax update never changes a leaf's
  type (which would recompile a jitted step); an array keeps its floating dtype, and an
  integer array becomes the default float dtype. Cells cast their parameters to the
  state's dtype, so float32 parameters drive a float64 state;
- a per-unit array (shape ``(n,)``, or anything that broadcasts to the unit axis) is
  accepted where ``n_units`` is given;
- when the value is concrete (not traced), its domain is checked and a ``ValueError`` names
  the argument, its value and the domain; under ``jax.vmap``/``jax.grad``/``jax.jit`` the
  value is a tracer and the check is skipped (the transformation's user owns the values).

:func:`bcast` pads a per-unit parameter with leading size-1 axes so that it broadcasts
against a state of shape ``(*batch, n)`` under ``jax_numpy_rank_promotion="raise"``.
:func:`is_static_zero` / :func:`is_static_one` tell whether a value is a concrete zero /
one: the only case where a parameter may remove a term, at construction or at trace time
when a module is closed over by ``jax.jit`` (a traced value always keeps the term; the
result is the same either way). This is how a trainer that folds a model's constants
into its compiled step (:class:`ngcx.FlatStep`'s ``dynamic``) gets the plain-JAX
arithmetic.
"""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._debug import check_traced_domain, checks_enabled
from ._shapes import left_pad_rank


__all__ = [
    "Domain",
    "param",
    "optional_param",
    "bcast",
    "is_concrete",
    "is_static_zero",
    "is_static_one",
]

#: The domains :func:`param` checks.
Domain = Literal["real", "positive", "nonnegative", "unit", "unit_open", "unit_half_open"]

_DOMAIN_TEXT = {
    "real": "finite",
    "positive": "> 0",
    "nonnegative": ">= 0",
    "unit": "in [0, 1]",
    "unit_open": "in (0, 1]",
    "unit_half_open": "in [0, 1)",
}


def is_concrete(x: Any) -> bool:
    """``True`` unless ``x`` (or a leaf of it) is a JAX tracer."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _traced_ok(arr: Array, domain: Domain) -> Array:
    finite = jnp.isfinite(arr)
    ok = {
        "real": lambda v: finite,
        "positive": lambda v: v > 0,
        "nonnegative": lambda v: v >= 0,
        "unit": lambda v: (v >= 0) & (v <= 1),
        "unit_open": lambda v: (v > 0) & (v <= 1),
        "unit_half_open": lambda v: (v >= 0) & (v < 1),
    }[domain](arr)
    return finite & ok


def _check_domain(values: np.ndarray, name: str, domain: Domain, shown: Any) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"`{name}` must be finite, got {shown}.")
    ok = {
        "real": lambda v: True,
        "positive": lambda v: bool(np.all(v > 0)),
        "nonnegative": lambda v: bool(np.all(v >= 0)),
        "unit": lambda v: bool(np.all((v >= 0) & (v <= 1))),
        "unit_open": lambda v: bool(np.all((v > 0) & (v <= 1))),
        "unit_half_open": lambda v: bool(np.all((v >= 0) & (v < 1))),
    }[domain](values)
    if not ok:
        raise ValueError(f"`{name}` must be {_DOMAIN_TEXT[domain]}, got {shown}.")


def param(
    value: Any,
    name: str,
    domain: Domain = "real",
    *,
    n_units: int | None = None,
    dtype: Any = None,
) -> Array:
    """``value`` as an array leaf (see the module docstring).

    **Arguments:**

    - `value`: a Python number, or an array (scalar or per-unit), possibly traced.
    - `name`: the user's argument name, used in error messages.
    - `domain`: ``"real"`` (finite), ``"positive"``, ``"nonnegative"``, ``"unit"``
      ($[0, 1]$), ``"unit_open"`` ($(0, 1]$) or ``"unit_half_open"`` ($[0, 1)$).
    - `n_units`: when given, the value must broadcast to shape ``(n_units,)`` (a scalar, or
      an array of shape ``(n_units,)`` or ``(1,)``); otherwise it must be a scalar.
    - `dtype`: a floating dtype to cast to (default: keep a floating array's dtype).

    **Returns:** a floating JAX array.

    **Raises:** ``ValueError`` naming `name` for a non-numeric value, a wrong shape, a
    non-finite value or a value outside `domain` (the last two only when concrete).
    """
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"`{name}` must be a number, got {value!r}.")
    try:
        arr = jnp.asarray(value)
    except TypeError:
        raise ValueError(f"`{name}` must be a number or an array, got {value!r}.") from None
    if dtype is not None:
        arr = arr.astype(dtype)
    elif not jnp.issubdtype(arr.dtype, jnp.floating):
        if not jnp.issubdtype(arr.dtype, jnp.integer):
            raise ValueError(f"`{name}` must be real, got dtype {arr.dtype}.")
        arr = arr.astype(jnp.result_type(float))
    if arr.weak_type:
        # a strongly typed leaf: an optax update (weak + strong = strong) must not change
        # the leaf's type, or every jitted step would compile twice
        arr = arr.astype(arr.dtype)
    if n_units is None:
        if arr.ndim != 0:
            raise ValueError(f"`{name}` must be a scalar, got shape {arr.shape}.")
    elif arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, n_units)):
        raise ValueError(
            f"`{name}` must be a scalar or have shape ({n_units},) (one value per unit), "
            f"got shape {arr.shape}."
        )
    # check the raw value: under jax.jit even jnp.asarray(1.0) is a tracer
    if is_concrete(value):
        values = np.asarray(value, dtype=np.float64)
        shown = values.item() if values.ndim == 0 else f"an array with {values.tolist()[:8]}..."
        if values.ndim == 1 and values.size <= 8:
            shown = values.tolist()
        _check_domain(values, name, domain, shown)
    elif checks_enabled():  # traced: checked in ngcx.debug_nans() mode only
        text = "finite" if domain == "real" else f"finite and {_DOMAIN_TEXT[domain]}"
        arr = check_traced_domain(arr, name, _traced_ok(arr, domain), text)
    return arr


def optional_param(
    value: Any, name: str, domain: Domain = "real", *, n_units: int | None = None
) -> Array | None:
    """:func:`param`, or ``None`` for ``None`` (an option that is off, a static choice)."""
    return None if value is None else param(value, name, domain, n_units=n_units)


def bcast(p: Array, ndim: int) -> Array:
    """``p`` (a scalar or per-unit parameter) ready to broadcast against an array of rank
    `ndim` whose last axis is the unit axis: scalars unchanged, arrays left-padded with
    size-1 axes (allowed under ``jax_numpy_rank_promotion="raise"``)."""
    return p if p.ndim == 0 else left_pad_rank(p, ndim)


def is_static_zero(x: Any) -> bool:
    """``True`` when ``x`` is a concrete value equal to zero everywhere (a term it scales
    can be left out at construction); ``False`` for a traced value or a non-zero one."""
    if x is None:
        return False
    if not is_concrete(x):
        return False
    return bool(np.all(np.asarray(x) == 0))


def is_static_one(x: Any) -> bool:
    """``True`` when ``x`` is a concrete value equal to one everywhere (a multiply by it can
    be left out at trace time; XLA keeps ``x * 1.0`` in some fusions)."""
    if x is None or not is_concrete(x):
        return False
    return bool(np.all(np.asarray(x) == 1))
