"""Options shared by every two-factor Hebbian synapse (dense and convolutional)."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive


OptimType = Literal["sgd", "adam", "nag"]
PriorType = Literal["none", "l1", "l2", "l1l2"]


class HebbianOptions(eqx.Module):
    r"""ngc-learn's Hebbian options as static fields, and the projection they imply.

    ``eta`` learning rate; ``w_bound`` weight bound (0: none); ``is_nonnegative``;
    ``w_decay`` weight decay; ``sign_value`` sign of the update (1 ascends the Hebbian
    direction); ``optim_type`` ``"sgd"``, ``"adam"`` or ``"nag"`` (with ``momentum``);
    ``pre_wght``/``post_wght`` scale the two factors; ``prior`` ``"l1"``, ``"l2"`` or
    ``"l1l2"`` with ``prior_lmbda``. ``ngcx.learning.synapse_optimizer`` reads them.
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
        prior: tuple[str, float] | None,
        momentum: float,
    ) -> None:
        """Validate and store the options (call from ``__init__``)."""
        check_nonnegative(eta, "eta")
        check_nonnegative(w_bound, "w_bound")
        check_nonnegative(w_decay, "w_decay")
        check_positive(abs(sign_value), "sign_value")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        prior_name, prior_lmbda = ("none", 0.0) if prior is None else prior
        if prior_name not in ("none", "l1", "l2", "l1l2"):
            raise ValueError(f"`prior` name must be 'l1', 'l2' or 'l1l2', got {prior_name!r}.")
        check_nonnegative(prior_lmbda, "prior lmbda")
        self.eta = float(eta)
        self.w_bound = float(w_bound)
        self.is_nonnegative = bool(is_nonnegative)
        self.w_decay = float(w_decay)
        self.sign_value = float(sign_value)
        self.optim_type = optim_type  # type: ignore[assignment]
        self.pre_wght = float(pre_wght)
        self.post_wght = float(post_wght)
        self.prior = prior_name  # type: ignore[assignment]
        self.prior_lmbda = float(prior_lmbda)
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
