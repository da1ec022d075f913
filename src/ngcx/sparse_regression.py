r"""Iterative sparse regression for SINDy (ngc-learn's ``ngclearn.modules.regression``).

Each solver fits the coefficients $W$ (shape ``(dict_dim, sys_dim)``) of a linear model
$\hat Y = X W$ of targets $Y$ (``(N, sys_dim)``, e.g. time derivatives) on a feature
library $X$ (``(N, dict_dim)``, e.g. :class:`ngcx.feature_dictionaries.PolynomialLibrary`)
by minimising the penalised squared error

$$E(W) = \tfrac12 \lVert Y - X W \rVert_F^2 + \lambda\, R(W)$$

with ``epochs`` optimiser steps (Adam or SGD) on the full batch, starting from a constant
matrix ``weight_fill``. The descent direction is ngc-learn's Hebbian update written as a
gradient: $\nabla E = -X^\top (Y - X W) + \lambda \nabla R(W)$, the product of the
presynaptic features and the Gaussian error cell's error $Y - XW$ plus the prior.

| solver | $\lambda \nabla R(W)$ | ngc-learn prior |
| --- | --- | --- |
| :class:`Iterative_Lasso` | $\lambda\,\mathrm{sign}(W)$ | ``("lasso", lasso_lmbda)`` |
| :class:`Iterative_Ridge` | $\lambda\, W$ | ``("ridge", ridge_lmbda)`` |
| :class:`Iterative_ElasticNet` | $\lambda(\rho\,\mathrm{sign}W + \frac{1-\rho}2W)$ | elastic net |

(ngc-learn's elastic-net gradient, kept as it is: it is the gradient of
$\lambda[\rho \lVert W\rVert_1 + \tfrac{1-\rho}4 \lVert W\rVert_F^2]$, half the ridge weight of
scikit-learn's convention.)

SINDy's sequentially thresholded regression alternates :meth:`~AbstractIterativeRegression.fit`
and :meth:`~AbstractIterativeRegression.thresholding`::

    lib, names = PolynomialLibrary(poly_order=2).fit([x, y])
    model = Iterative_Lasso(key, "lasso", sys_dim=2, dict_dim=lib.shape[1],
                            batch_size=lib.shape[0], lr=0.05, epochs=2000)
    for _ in range(3):
        model, (coef, mu, L) = model.fit(dxdt, lib)
        model, coef, _ = model.thresholding(scale=1.0)

Models are immutable: ``fit`` and ``thresholding`` return a new model. Both are pure
and jittable (``eqx.filter_jit``), and the numbers (``lr``, the penalty, ``threshold``,
``weight_fill``) are array leaves, so ``jax.vmap`` over a sweep of penalties works.

Differences from ngc-learn (which mutates a simulation context):

- ``fit(y, X)`` returns ``(fitted_model, (coef, mu, L))``; ``mu`` $= X W$ and the
  Gaussian log-likelihood ``L`` $= -\tfrac12\lVert Y - \mu\rVert^2$ are those of the
  returned coefficients (ngc-learn's are from one update earlier). Each ``fit`` starts a
  fresh optimiser state from the model's current coefficients (ngc-learn carries Adam's
  moments across calls).
- ``thresholding`` zeroes the coefficients below ``threshold`` *and keeps them at zero* in
  later fits (the mask of SINDy's sequential thresholding); ngc-learn zeroes them but lets
  the next fit regrow them. ``scale`` multiplies only the returned coefficients, as in
  ngc-learn (default 2 for Lasso and Ridge, 1 for ElasticNet, ngc-learn's defaults); pass
  ``scale=1.0`` for the fitted values themselves.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Bool, Float

from ._checks import float_array
from ._custom_types import Key, Scalar
from ._params import is_concrete, param


__all__ = [
    "AbstractIterativeRegression",
    "Iterative_Lasso",
    "Iterative_Ridge",
    "Iterative_ElasticNet",
]

_OPTIMS = ("adam", "sgd")


def _check_common(
    name: str, sys_dim: int, dict_dim: int, batch_size: int, optim_type: str, epochs: int
) -> None:
    for arg, value in (
        ("sys_dim", sys_dim),
        ("dict_dim", dict_dim),
        ("batch_size", batch_size),
        ("epochs", epochs),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{arg}` must be a positive int, got {value!r}.")
    if optim_type not in _OPTIMS:
        raise ValueError(f"`optim_type` must be one of {_OPTIMS}, got {optim_type!r}.")
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str, got {type(name).__name__}.")


class AbstractIterativeRegression(eqx.Module):
    r"""Base of the iterative sparse-regression solvers: full-batch descent of
    $\tfrac12\lVert Y - XW\rVert^2 + \lambda R(W)$ with a fixed support mask.

    Concrete solvers hold the coefficients ``weights`` ``(dict_dim, sys_dim)``, the
    support ``mask`` (same shape, ``True`` where a coefficient may be non-zero), the
    leaves ``lr``, ``threshold`` and ``weight_fill``, and implement
    :meth:`prior_grad`."""

    weights: eqx.AbstractVar[Float[Array, "dict_dim sys_dim"]]
    mask: eqx.AbstractVar[Bool[Array, "dict_dim sys_dim"]]
    lr: eqx.AbstractVar[Array]
    threshold: eqx.AbstractVar[Array]
    weight_fill: eqx.AbstractVar[Array]
    name: eqx.AbstractVar[str]
    sys_dim: eqx.AbstractVar[int]
    dict_dim: eqx.AbstractVar[int]
    batch_size: eqx.AbstractVar[int]
    optim_type: eqx.AbstractVar[str]
    epochs: eqx.AbstractVar[int]

    @abc.abstractmethod
    def prior_grad(self, W: Float[Array, "dict_dim sys_dim"]) -> Float[Array, "dict_dim sys_dim"]:
        r"""$\lambda \nabla R(W)$, the penalty's part of the descent direction."""

    @property
    def coef_(self) -> Float[Array, "dict_dim sys_dim"]:
        """The current coefficients (ngc-learn's ``coef_``)."""
        return self.weights

    def descent_direction(
        self, y: Float[ArrayLike, "N sys_dim"], X: Float[ArrayLike, "N dict_dim"]
    ) -> Float[Array, "dict_dim sys_dim"]:
        r"""The descent direction $-X^\top(Y - XW) + \lambda\nabla R(W)$ at the current
        weights (ngc-learn's Hebbian ``dW`` with ``sign_value=-1``), masked to the
        support."""
        y_, X_ = self._check_data(y, X)
        e = y_ - X_ @ self.weights
        return jnp.where(self.mask, -(X_.T @ e) + self.prior_grad(self.weights), 0.0)

    def _check_data(self, y: ArrayLike, X: ArrayLike) -> tuple[Array, Array]:
        y_, X_ = float_array(y, "y"), float_array(X, "X")
        if X_.ndim != 2 or X_.shape[1] != self.dict_dim:
            raise ValueError(f"`X` must have shape (N, {self.dict_dim}), got {X_.shape}.")
        if y_.ndim != 2 or y_.shape != (X_.shape[0], self.sys_dim):
            raise ValueError(
                f"`y` must have shape ({X_.shape[0]}, {self.sys_dim}) to match `X`, got {y_.shape}."
            )
        if X_.shape[0] != self.batch_size:
            raise ValueError(
                f"`batch_size` is {self.batch_size} but `X` has {X_.shape[0]} rows; the "
                "solver fits the whole batch at once."
            )
        return y_, X_

    def fit(
        self, y: Float[ArrayLike, "N sys_dim"], X: Float[ArrayLike, "N dict_dim"]
    ) -> tuple[AbstractIterativeRegression, tuple[Array, Array, Array]]:
        r"""Run ``epochs`` optimiser steps from the current coefficients.

        **Arguments:**

        - `y`: targets, shape `(N, sys_dim)` with ``N == batch_size``.
        - `X`: features, shape `(N, dict_dim)`.

        **Returns:** ``(fitted_model, (coef, mu, L))``: the new model, its coefficients
        `(dict_dim, sys_dim)`, the prediction ``mu = X @ coef`` `(N, sys_dim)` and the
        Gaussian log-likelihood ``L`` $= -\tfrac12\lVert y - \mu\rVert^2$ (0-d).
        """
        y_, X_ = self._check_data(y, X)
        dtype = jnp.result_type(X_.dtype, y_.dtype)
        y_, X_ = y_.astype(dtype), X_.astype(dtype)
        lr = self.lr.astype(dtype)
        opt = optax.adam(lr) if self.optim_type == "adam" else optax.sgd(lr)
        W0 = self.weights.astype(dtype)
        mask = self.mask

        def direction(W):
            e = y_ - X_ @ W
            return jnp.where(mask, -(X_.T @ e) + self.prior_grad(W), 0.0)

        def step(carry, _):
            W, st = carry
            upd, st = opt.update(direction(W), st, W)
            return (jnp.where(mask, optax.apply_updates(W, upd), 0.0), st), None

        with jax.numpy_dtype_promotion("standard"):  # optax's step counter is an int
            (W, _), _ = jax.lax.scan(step, (W0, opt.init(W0)), None, length=self.epochs)
        mu = X_ @ W
        L = -0.5 * jnp.sum(jnp.square(y_ - mu))
        model = eqx.tree_at(lambda m: m.weights, self, W)
        return model, (W, mu, L)

    def thresholding(
        self, scale: Scalar | None = None
    ) -> tuple[AbstractIterativeRegression, Array, Array]:
        r"""Zero (and freeze at zero) every coefficient with $|w| <$ ``threshold``.

        **Arguments:**

        - `scale`: a finite factor applied to the *returned* coefficients only
          (ngc-learn's; its default is 2 for Lasso and Ridge, 1 for ElasticNet, used when
          `scale` is None).

        **Returns:** ``(model, coef, coef_old)``: the thresholded model (its weights are
        not scaled), the thresholded coefficients times `scale`, and the coefficients
        before thresholding.
        """
        s = self._default_scale() if scale is None else scale
        if is_concrete(s):
            param(s, "scale", "real")  # a finite number (checked when concrete)
        old = self.weights
        keep = jnp.abs(old) >= self.threshold.astype(old.dtype)
        new = jnp.where(keep, old, 0.0)
        model = eqx.tree_at(lambda m: (m.weights, m.mask), self, (new, self.mask & keep))
        return model, new * s, old

    @abc.abstractmethod
    def _default_scale(self) -> float:
        """ngc-learn's default ``scale`` of :meth:`thresholding`."""


def _init_weights(dict_dim: int, sys_dim: int, weight_fill: Array) -> tuple[Array, Array]:
    return (
        jnp.full((dict_dim, sys_dim), weight_fill, dtype=weight_fill.dtype),
        jnp.ones((dict_dim, sys_dim), dtype=bool),
    )


class Iterative_Lasso(AbstractIterativeRegression):
    r"""Iterative Lasso (L1) regression: descent of
    $\tfrac12\lVert Y - XW\rVert^2 + \lambda\lVert W\rVert_1$, whose direction is
    $-X^\top(Y - XW) + \lambda\,\mathrm{sign}(W)$ (ngc-learn's ``Iterative_Lasso``, a
    Hebbian synapse with a Laplacian prior driven by a Gaussian error cell).

    See the module docstring for the fitting loop and the differences from ngc-learn."""

    weights: Float[Array, "dict_dim sys_dim"]
    mask: Bool[Array, "dict_dim sys_dim"]
    lr: Array
    lasso_lmbda: Array
    threshold: Array
    weight_fill: Array
    name: str = eqx.field(static=True)
    sys_dim: int = eqx.field(static=True)
    dict_dim: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    epochs: int = eqx.field(static=True)

    def __init__(
        self,
        key: Key | None,
        name: str,
        sys_dim: int,
        dict_dim: int,
        batch_size: int,
        weight_fill: Scalar = 0.05,
        lr: Scalar = 0.01,
        lasso_lmbda: Scalar = 0.0001,
        optim_type: str = "adam",
        threshold: Scalar = 0.001,
        epochs: int = 100,
    ):
        r"""**Arguments:**

        - `key`: unused (the initial weights are constant); kept for ngc-learn's signature.
        - `name`: a label.
        - `sys_dim`: number of targets (columns of `y`).
        - `dict_dim`: number of features (columns of `X`).
        - `batch_size`: number of rows `N` that :meth:`fit` receives.
        - `weight_fill`: the initial value of every coefficient.
        - `lr`: the optimiser's learning rate (> 0).
        - `lasso_lmbda`: $\lambda \ge 0$.
        - `optim_type`: ``"adam"`` (optax's Adam, ngc-learn's moments and epsilon) or
          ``"sgd"``.
        - `threshold`: coefficients with $|w|$ below it are pruned by :meth:`thresholding`.
        - `epochs`: optimiser steps per :meth:`fit`.
        """
        del key
        _check_common(name, sys_dim, dict_dim, batch_size, optim_type, epochs)
        self.name, self.sys_dim, self.dict_dim = name, sys_dim, dict_dim
        self.batch_size, self.optim_type, self.epochs = batch_size, optim_type, epochs
        self.lr = param(lr, "lr", "positive")
        self.lasso_lmbda = param(lasso_lmbda, "lasso_lmbda", "nonnegative")
        self.threshold = param(threshold, "threshold", "nonnegative")
        self.weight_fill = param(weight_fill, "weight_fill", "real")
        self.weights, self.mask = _init_weights(dict_dim, sys_dim, self.weight_fill)

    def prior_grad(self, W: Float[Array, "dict_dim sys_dim"]) -> Float[Array, "dict_dim sys_dim"]:
        return self.lasso_lmbda.astype(W.dtype) * jnp.sign(W)

    def _default_scale(self) -> float:
        return 2.0


class Iterative_Ridge(AbstractIterativeRegression):
    r"""Iterative Ridge (L2) regression: descent of
    $\tfrac12\lVert Y - XW\rVert^2 + \tfrac\lambda2\lVert W\rVert_F^2$, direction
    $-X^\top(Y - XW) + \lambda W$ (ngc-learn's ``Iterative_Ridge``).

    Arguments as :class:`Iterative_Lasso`, with `ridge_lmbda` $= \lambda \ge 0$."""

    weights: Float[Array, "dict_dim sys_dim"]
    mask: Bool[Array, "dict_dim sys_dim"]
    lr: Array
    ridge_lmbda: Array
    threshold: Array
    weight_fill: Array
    name: str = eqx.field(static=True)
    sys_dim: int = eqx.field(static=True)
    dict_dim: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    epochs: int = eqx.field(static=True)

    def __init__(
        self,
        key: Key | None,
        name: str,
        sys_dim: int,
        dict_dim: int,
        batch_size: int,
        weight_fill: Scalar = 0.05,
        lr: Scalar = 0.01,
        ridge_lmbda: Scalar = 0.0001,
        optim_type: str = "adam",
        threshold: Scalar = 0.001,
        epochs: int = 100,
    ):
        del key
        _check_common(name, sys_dim, dict_dim, batch_size, optim_type, epochs)
        self.name, self.sys_dim, self.dict_dim = name, sys_dim, dict_dim
        self.batch_size, self.optim_type, self.epochs = batch_size, optim_type, epochs
        self.lr = param(lr, "lr", "positive")
        self.ridge_lmbda = param(ridge_lmbda, "ridge_lmbda", "nonnegative")
        self.threshold = param(threshold, "threshold", "nonnegative")
        self.weight_fill = param(weight_fill, "weight_fill", "real")
        self.weights, self.mask = _init_weights(dict_dim, sys_dim, self.weight_fill)

    def prior_grad(self, W: Float[Array, "dict_dim sys_dim"]) -> Float[Array, "dict_dim sys_dim"]:
        return self.ridge_lmbda.astype(W.dtype) * W

    def _default_scale(self) -> float:
        return 2.0


class Iterative_ElasticNet(AbstractIterativeRegression):
    r"""Iterative elastic-net regression: direction
    $-X^\top(Y - XW) + \lambda[\rho\,\mathrm{sign}(W) + \tfrac{1-\rho}2 W]$ with
    $\rho$ = ``l1_ratio`` (ngc-learn's ``Iterative_ElasticNet`` and its penalty gradient,
    i.e. the penalty $\lambda[\rho\lVert W\rVert_1 + \tfrac{1-\rho}4\lVert W\rVert_F^2]$).

    Arguments as :class:`Iterative_Lasso`, with `lmbda` $= \lambda \ge 0$, `l1_ratio`
    $\rho \in [0, 1]$ and ngc-learn's default `threshold` 0.05."""

    weights: Float[Array, "dict_dim sys_dim"]
    mask: Bool[Array, "dict_dim sys_dim"]
    lr: Array
    lmbda: Array
    l1_ratio: Array
    threshold: Array
    weight_fill: Array
    name: str = eqx.field(static=True)
    sys_dim: int = eqx.field(static=True)
    dict_dim: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    epochs: int = eqx.field(static=True)

    def __init__(
        self,
        key: Key | None,
        name: str,
        sys_dim: int,
        dict_dim: int,
        batch_size: int,
        weight_fill: Scalar = 0.05,
        lr: Scalar = 0.01,
        lmbda: Scalar = 0.0001,
        l1_ratio: Scalar = 0.5,
        optim_type: str = "adam",
        threshold: Scalar = 0.05,
        epochs: int = 100,
    ):
        del key
        _check_common(name, sys_dim, dict_dim, batch_size, optim_type, epochs)
        self.name, self.sys_dim, self.dict_dim = name, sys_dim, dict_dim
        self.batch_size, self.optim_type, self.epochs = batch_size, optim_type, epochs
        self.lr = param(lr, "lr", "positive")
        self.lmbda = param(lmbda, "lmbda", "nonnegative")
        self.l1_ratio = param(l1_ratio, "l1_ratio", "unit")
        self.threshold = param(threshold, "threshold", "nonnegative")
        self.weight_fill = param(weight_fill, "weight_fill", "real")
        self.weights, self.mask = _init_weights(dict_dim, sys_dim, self.weight_fill)

    def prior_grad(self, W: Float[Array, "dict_dim sys_dim"]) -> Float[Array, "dict_dim sys_dim"]:
        rho = self.l1_ratio.astype(W.dtype)
        return self.lmbda.astype(W.dtype) * (rho * jnp.sign(W) + (1.0 - rho) / 2.0 * W)

    def _default_scale(self) -> float:
        return 1.0
