r"""Checked mode: NaN/Inf and domain checks inside compiled code, opt-in.

Outside checked mode ngcx checks what is concrete (constructor arguments, shapes, Python
``dt``) when a component is built or traced, at no run-time cost, and lets traced values
pass. Inside :func:`debug_nans`:

- every cell's new state (and every error cell's output) is checked finite with
  ``eqx.error_if``; the first non-finite value raises an error naming the component
  (``LIFCell``, ``RateCell``, ...) and the state field;
- every traced parameter given to a constructor (e.g. ``LIFCell(n, tau_m=tau)`` under
  ``jax.vmap`` over ``tau``) and every traced ``dt`` is checked against its domain.

The switch is read when a function is *traced*: wrap the first call of a jitted step (or
build and call the step) inside the context. A step compiled before entering the context
keeps its unchecked version (JAX caches compilations by function and argument types).

```python
with ngcx.debug_nans():
    new_state = jax.jit(lambda s, j: cell(s, j, dt=1.0))(state, j)  # raises on NaN
```

The checks cost a reduction and a branch per checked array: use the mode to find where a
NaN first appears, not for production runs (the training loops' per-epoch
:class:`ngcx.training.NonFiniteError` check is always on).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp


__all__ = ["debug_nans", "checks_enabled", "check_finite_tree", "check_traced_domain"]

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("ngcx_debug_nans", default=False)


@contextlib.contextmanager
def debug_nans(enabled: bool = True) -> Iterator[None]:
    """Context manager turning ngcx's checked mode on (or, with ``enabled=False``, off)
    for code traced inside it (see the module docstring)."""
    token = _ENABLED.set(bool(enabled))
    try:
        yield
    finally:
        _ENABLED.reset(token)


def checks_enabled() -> bool:
    """Whether checked mode is on (read at trace time)."""
    return _ENABLED.get()


def check_finite_tree(tree: Any, where: str) -> Any:
    """In checked mode, `tree` with an ``eqx.error_if`` on each inexact array leaf that
    raises ``"<where>: non-finite value in <field>"``; otherwise `tree` unchanged."""
    if not _ENABLED.get():
        return tree
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    out = []
    for path, leaf in leaves:
        if eqx.is_inexact_array(leaf):
            field = jax.tree_util.keystr(path) or "(the value)"
            leaf = eqx.error_if(
                leaf,
                jnp.any(~jnp.isfinite(leaf)),
                f"{where}: non-finite value (NaN or Inf) in {field}",
            )
        out.append(leaf)
    return jax.tree_util.tree_unflatten(treedef, out)


def check_traced_domain(arr: Any, name: str, ok: Any, domain_text: str) -> Any:
    """In checked mode, `arr` with an ``eqx.error_if`` raising ``"`name` must be
    <domain_text>"`` where ``ok`` (a boolean array) is false anywhere; otherwise `arr`."""
    if not _ENABLED.get():
        return arr
    return eqx.error_if(arr, jnp.any(~ok), f"`{name}` must be {domain_text} (traced value)")
