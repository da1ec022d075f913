"""ngc-learn's optimiser names (``get_opt_init_fn`` / ``get_opt_step_fn``) on optax.

For ported code that calls ``opt_params = get_opt_init_fn("adam")(theta)`` and
``opt_params, theta = get_opt_step_fn("adam", eta=...)(opt_params, theta, updates)``.
As in ngc-learn the step *descends* along ``updates`` (``theta - eta * ...``). Prefer
:mod:`ngcx.learning`'s optax chains in new code; these are thin adapters around
``optax.sgd`` / ``optax.adam`` / Nesterov momentum.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import optax


__all__ = ["get_opt_init_fn", "get_opt_step_fn"]

_NAMES = ("sgd", "adam", "nag")
_OPTIONS = {"sgd": ("eta",), "adam": ("eta", "beta1", "beta2", "epsilon"), "nag": ("eta", "mu")}


def _number(value: Any, name: str, domain: str, ok: Callable[[float], bool]) -> Any:
    """``value`` as a float; ``ValueError`` naming `name` unless it is a finite real in
    `domain` (checked on concrete values: these options are Python numbers)."""
    if isinstance(value, jax.core.Tracer):
        return value  # traced (e.g. a learning-rate sweep under vmap): the caller's values
    try:
        if isinstance(value, bool):
            raise TypeError
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number, got {value!r}.") from None
    if not (math.isfinite(v) and ok(v)):
        raise ValueError(f"`{name}` must be finite and {domain}, got {v}.")
    return v


def _transform(opt: str, eta: float = 0.001, **kwargs: Any) -> optax.GradientTransformation:
    if opt not in _NAMES:
        raise ValueError(f"`opt` must be one of {', '.join(map(repr, _NAMES))}, got {opt!r}.")
    known = ("eta", "beta1", "beta2", "epsilon", "mu")
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ValueError(
            f"unknown optimiser option(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(map(repr, known))} ({opt!r} uses {', '.join(_OPTIONS[opt])})."
        )
    # every option given is checked, also one that this optimiser does not use
    lr = _number(eta, "eta", ">= 0", lambda v: v >= 0)
    b1 = _number(kwargs.get("beta1", 0.9), "beta1", "in [0, 1)", lambda v: 0 <= v < 1)
    b2 = _number(kwargs.get("beta2", 0.999), "beta2", "in [0, 1)", lambda v: 0 <= v < 1)
    eps = _number(kwargs.get("epsilon", 1e-8), "epsilon", "> 0", lambda v: v > 0)
    mu = _number(kwargs.get("mu", 0.9), "mu", "in [0, 1) (the momentum)", lambda v: 0 <= v < 1)
    if opt == "sgd":
        return optax.sgd(lr)
    if opt == "adam":
        return optax.adam(lr, b1=b1, b2=b2, eps=eps)
    return optax.sgd(lr, momentum=mu, nesterov=True)


def get_opt_init_fn(opt: str = "adam") -> Callable[[Any], Any]:
    """``init(theta) -> opt_params`` for the optimiser named ``opt`` (``"sgd"``,
    ``"adam"`` or ``"nag"``; ``theta`` any PyTree, e.g. ngc-learn's list of arrays)."""
    transform = _transform(opt)

    def init(theta: Any) -> Any:
        with jax.numpy_dtype_promotion("standard"):
            return transform.init(theta)

    return init


def get_opt_step_fn(opt: str = "adam", **kwargs: Any) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """``step(opt_params, theta, updates) -> (opt_params, new_theta)``, descending along
    ``updates``; keyword arguments: ``eta`` (the learning rate, finite and >= 0, 0
    freezing the parameters; default 0.001) and, for adam, ``beta1``, ``beta2`` (in
    [0, 1)) and ``epsilon`` (> 0); for nag, ``mu`` (the momentum, in [0, 1)). A value
    outside its domain, an unknown option or an unknown `opt` is a ``ValueError`` naming
    it."""
    transform = _transform(opt, **kwargs)

    def step(opt_params: Any, theta: Any, updates: Any) -> tuple[Any, Any]:
        with jax.numpy_dtype_promotion("standard"):
            deltas, opt_params = transform.update(updates, opt_params, theta)
        return opt_params, optax.apply_updates(theta, deltas)

    return step
