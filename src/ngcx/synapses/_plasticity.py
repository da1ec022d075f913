"""Options shared by every two-factor Hebbian synapse (dense and convolutional)."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive


OptimType = Literal["sgd", "adam", "nag"]
PriorType = Literal["none", "l1", "l2", "l1l2"]
#: ``(name, lmbda)``; for the elastic net lmbda may be ``(scale, l1_ratio)``.
PriorSpec = tuple[str, float] | tuple[str, tuple[float, float]] | None


_PRIOR_NAMES = {
    None: "none",
    "none": "none",
    "constant": "none",
    "l1": "l1",
    "lasso": "l1",
    "l2": "l2",
    "ridge": "l2",
    "l1l2": "l1l2",
    "elastic_net": "l1l2",
}


def parse_prior(prior) -> tuple[str, float, float]:
    """``(name, lmbda)`` in ngc-learn's forms -> ``(canonical name, scale, l1_ratio)``.

    Names: ``"constant"``/``"none"``/``None`` (no prior), ``"l1"``/``"lasso"``,
    ``"l2"``/``"ridge"``, ``"l1l2"``/``"elastic_net"`` (whose lmbda is
    ``(scale, l1_ratio)``, or a scale with ratio 0.5).
    """
    if prior is None:
        return "none", 0.0, 0.0
    name, lmbda = prior
    if name not in _PRIOR_NAMES:
        raise ValueError(
            "`prior` name must be one of 'constant', 'l1'/'lasso', 'l2'/'ridge', "
            f"'l1l2'/'elastic_net', got {name!r}."
        )
    canonical = _PRIOR_NAMES[name]
    if canonical == "l1l2":
        scale, ratio = lmbda if isinstance(lmbda, tuple | list) else (lmbda, 0.5)
        if not 0.0 <= float(ratio) <= 1.0:
            raise ValueError(f"`prior` l1_ratio must lie in [0, 1], got {ratio}.")
    else:
        scale, ratio = lmbda, (1.0 if canonical == "l1" else 0.0)
    check_nonnegative(scale, "prior lmbda")
    return canonical, float(scale), float(ratio)


def updates_like(synapse, dW, db):
    """The synapse with its ``weights``/``biases`` replaced by the updates ``dW``/``db``
    (``db`` is ``None`` for a synapse without biases): a rule's result, shaped like the
    module so optax can apply it."""
    return eqx.tree_at(
        lambda s: (s.weights, s.biases), synapse, (dW, db), is_leaf=lambda x: x is None
    )


class HebbianOptions(eqx.Module):
    r"""ngc-learn's Hebbian options as static fields, and the projection they imply.

    ``eta`` learning rate; ``w_bound`` weight bound (0: none); ``is_nonnegative``;
    ``w_decay`` weight decay; ``sign_value`` multiplies the Hebbian update before the
    optimiser *descends* along it (ngc-learn's convention: its optimisers subtract, so
    ngc-museum's models pass ``sign_value=-1`` to ascend the Hebbian direction);
    ``optim_type`` ``"sgd"``, ``"adam"`` or ``"nag"`` (with ``momentum``);
    ``pre_wght``/``post_wght`` scale the two factors; ``prior`` ``(name, lmbda)`` (see
    :func:`parse_prior`). ``ngcx.learning.synapse_optimizer`` reads them.
    """

    eta: float = eqx.field(static=True)
    w_bound: float = eqx.field(static=True)
    is_nonnegative: bool = eqx.field(static=True)
    w_decay: float = eqx.field(static=True)
    sign_value: float = eqx.field(static=True)
    optim_type: OptimType = eqx.field(static=True)
    pre_wght: float = eqx.field(static=True)
    post_wght: float = eqx.field(static=True)
    prior: PriorType = eqx.field(static=True)
    prior_lmbda: float = eqx.field(static=True)
    prior_l1_ratio: float = eqx.field(static=True)
    momentum: float = eqx.field(static=True)

    def _set_hebbian_options(
        self,
        eta: float,
        w_bound: float,
        is_nonnegative: bool,
        w_decay: float,
        sign_value: float,
        optim_type: str,
        pre_wght: float,
        post_wght: float,
        prior: PriorSpec,
        momentum: float,
    ) -> None:
        """Validate and store the options (call from ``__init__``)."""
        check_nonnegative(eta, "eta")
        check_nonnegative(w_bound, "w_bound")
        check_nonnegative(w_decay, "w_decay")
        check_positive(abs(sign_value), "sign_value")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        prior_name, prior_lmbda, l1_ratio = parse_prior(prior)
        self.eta = float(eta)
        self.w_bound = float(w_bound)
        self.is_nonnegative = bool(is_nonnegative)
        self.w_decay = float(w_decay)
        self.sign_value = float(sign_value)
        self.optim_type = optim_type  # type: ignore[assignment]
        self.pre_wght = float(pre_wght)
        self.post_wght = float(post_wght)
        self.prior = prior_name  # type: ignore[assignment]
        self.prior_lmbda = prior_lmbda
        self.prior_l1_ratio = l1_ratio
        self.momentum = float(momentum)

    def project(self):
        """Apply the weight bounds / non-negativity to ``self.weights`` after an update:
        ``w_bound > 0`` clips to ``[-w_bound, w_bound]`` (``[0, w_bound]`` when
        ``is_nonnegative``); ``is_nonnegative`` alone clips at 0."""
        w = self.weights
        if self.w_bound > 0:
            low = 0.0 if self.is_nonnegative else -self.w_bound
            w = jnp.clip(w, low, self.w_bound)
        elif self.is_nonnegative:
            w = jnp.maximum(w, 0.0)
        else:
            return self
        return eqx.tree_at(lambda s: s.weights, self, w)
