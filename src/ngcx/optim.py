"""ngc-learn's optimiser names (``get_opt_init_fn`` / ``get_opt_step_fn``) on optax.

For ported code that calls ``opt_params = get_opt_init_fn("adam")(theta)`` and
``opt_params, theta = get_opt_step_fn("adam", eta=...)(opt_params, theta, updates)``.
As in ngc-learn the step *descends* along ``updates`` (``theta - eta * ...``). Prefer
:mod:`ngcx.learning`'s optax chains in new code; these are thin adapters around
``optax.sgd`` / ``optax.adam`` / Nesterov momentum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax


__all__ = ["get_opt_init_fn", "get_opt_step_fn"]

_NAMES = ("sgd", "adam", "nag")


def _transform(opt: str, eta: float = 0.001, **kwargs: Any) -> optax.GradientTransformation:
    if opt == "sgd":
        return optax.sgd(eta)
    if opt == "adam":
        return optax.adam(
            eta,
            b1=kwargs.get("beta1", 0.9),
            b2=kwargs.get("beta2", 0.999),
            eps=kwargs.get("epsilon", 1e-8),
        )
    if opt == "nag":
        return optax.sgd(eta, momentum=kwargs.get("mu", 0.9), nesterov=True)
    raise ValueError(f"`opt` must be one of {_NAMES}, got {opt!r}.")


def get_opt_init_fn(opt: str = "adam") -> Callable[[Any], Any]:
    """``init(theta) -> opt_params`` for the optimiser named ``opt`` (``theta`` any PyTree,
    e.g. ngc-learn's list of arrays)."""
    transform = _transform(opt)

    def init(theta: Any) -> Any:
        with jax.numpy_dtype_promotion("standard"):
            return transform.init(theta)

    return init


def get_opt_step_fn(opt: str = "adam", **kwargs: Any) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """``step(opt_params, theta, updates) -> (opt_params, new_theta)``, descending along
    ``updates``; keyword arguments: ``eta`` and, for adam, ``beta1``, ``beta2``,
    ``epsilon``; for nag, ``mu``."""
    transform = _transform(opt, **kwargs)

    def step(opt_params: Any, theta: Any, updates: Any) -> tuple[Any, Any]:
        with jax.numpy_dtype_promotion("standard"):
            deltas, opt_params = transform.update(updates, opt_params, theta)
        return opt_params, optax.apply_updates(theta, deltas)

    return step
