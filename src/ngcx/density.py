r"""Mixture density models fitted by expectation-maximisation (ngc-learn's ``density``).

:class:`GaussianMixture` (full or diagonal covariances), :class:`BernoulliMixture` and
:class:`ExponentialMixture` share one interface: ``init(X)``, ``update(X)`` (one EM step),
``fit(X, tol)`` (EM to convergence or ``max_iter`` steps as one jitted ``lax.while_loop``),
``calc_log_likelihood(X)`` (per-sample $\log p(x)$, shape ``(N, 1)``),
``responsibilities(X)`` and ``sample(n_samples, mode_j=-1, key=...)``. Every method returns
a new model (they are immutable ``eqx.Module``s); the fitted parameters are array leaves.
EM never decreases the log-likelihood (tested).
"""

from __future__ import annotations

import abc
import math
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_nonnegative, float_array, int_arg
from ._custom_types import Key
from ._debug import check_traced_domain
from ._params import is_concrete, param


__all__ = ["Mixture", "GaussianMixture", "BernoulliMixture", "ExponentialMixture", "kmeans"]

M = TypeVar("M", bound="Mixture")


def _data(X: ArrayLike, name: str = "X", *, width: int | None = None) -> Array:
    """Data ``(N, D)``: floating, rank 2, non-empty, ``D == width`` when given, and finite
    (checked when concrete; in checked mode when traced)."""
    x = float_array(X, name)
    if x.ndim != 2:
        raise ValueError(f"`{name}` must have shape (N, D), got shape {tuple(x.shape)}.")
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(x.shape)}.")
    if width is not None and x.shape[1] != width:
        raise ValueError(
            f"`{name}` must have shape (N, {width}) like the fitted model, got shape "
            f"{tuple(x.shape)}."
        )
    if is_concrete(x):
        if not bool(jnp.all(jnp.isfinite(x))):
            raise ValueError(f"`{name}` must be finite, got NaN or Inf values.")
    else:
        x = check_traced_domain(x, name, jnp.isfinite(x), "finite")
    return x


def kmeans(X: Float[ArrayLike, "n d"], K: int, key: Key, n_iter: int = 20) -> Array:
    """Lloyd's k-means from ``K`` random data points; returns the ``(K, D)`` centres.

    `X`: finite, non-empty ``(N, D)`` data; `K`: an int in ``[1, N]``; `n_iter`: an
    int >= 0 (Lloyd iterations)."""
    x = _data(X)
    K = int_arg(K, "K", 1)
    n_iter = int_arg(n_iter, "n_iter", 0)
    if K > x.shape[0]:
        raise ValueError(f"`K`={K} must not exceed the {x.shape[0]} samples (rows) of `X`.")
    centres = x[jax.random.choice(key, x.shape[0], (K,), replace=False)]

    def step(c, _):
        d = jnp.sum(jnp.square(x[:, None, :] - c[None, :, :]), axis=-1)
        onehot = jax.nn.one_hot(jnp.argmin(d, axis=1), K, dtype=x.dtype)
        counts = jnp.sum(onehot, axis=0)
        new = (onehot.T @ x) / jnp.maximum(counts, 1.0)[:, None]
        return jnp.where((counts > 0)[:, None], new, c), None

    return jax.lax.scan(step, centres, None, length=n_iter)[0]


class Mixture(eqx.Module):
    """Base of the mixtures: mixing weights ``pi`` and the EM loop."""

    K: int = eqx.field(static=True)
    max_iter: int = eqx.field(static=True)
    init_kmeans: bool = eqx.field(static=True)
    key: Any
    pi: Float[Array, " K"] | None

    @abc.abstractmethod
    def component_log_pdf(self, X: Array) -> Array:
        """$\\log p(x_n \\mid k)$, shape ``(N, K)``."""

    @abc.abstractmethod
    def _m_step(self: M, X: Array, R: Array) -> M:
        """New component parameters from responsibilities ``R`` (``(N, K)``)."""

    @abc.abstractmethod
    def _init_components(self: M, X: Array, centres: Array) -> M:
        """Initial component parameters around ``centres`` (``(K, D)``)."""

    @abc.abstractmethod
    def _sample_components(self, key: Key, comps: Array) -> Array:
        """One sample from each component index in ``comps``."""

    def _check_fitted(self) -> None:
        if self.pi is None:
            raise ValueError("the mixture has no parameters yet: call `init(X)` or `fit(X)`.")

    def _width(self) -> int | None:
        """The fitted data dimension ``D`` (``None`` before :meth:`init`)."""
        return None

    def _check_values(self, x: Array) -> None:
        """Domain of the data values (concrete data only); none by default."""

    def _checked(self, X: ArrayLike, fitted: bool = True) -> Array:
        x = _data(X, width=self._width() if fitted else None)
        if is_concrete(x):
            self._check_values(x)
        return x

    def init(self: M, X: Float[ArrayLike, "n d"]) -> M:
        """Initial parameters: uniform weights, centres from random data points (or
        k-means with ``init_kmeans``)."""
        x = self._checked(X, fitted=False)
        if x.shape[0] < self.K:
            raise ValueError(
                f"`X` must be (N, D) with N >= K={self.K} (at least one sample per component), "
                f"got shape {x.shape}."
            )
        key, sub = jax.random.split(self.key)
        if self.init_kmeans:
            centres = kmeans(x, self.K, sub)
        else:
            centres = x[jax.random.choice(sub, x.shape[0], (self.K,), replace=False)]
        model = eqx.tree_at(
            lambda m: (m.key, m.pi),
            self,
            (key, jnp.full((self.K,), 1.0 / self.K)),
            is_leaf=lambda v: v is None,
        )
        return model._init_components(x, centres)

    def _joint(self, X: Array) -> Array:
        self._check_fitted()
        assert self.pi is not None
        return self.component_log_pdf(X) + jnp.log(self.pi)[None, :]

    def calc_log_likelihood(self, X: Float[ArrayLike, "n d"]) -> Float[Array, "n 1"]:
        """Per-sample log-likelihood $\\log \\sum_k \\pi_k p(x_n \\mid k)$, ``(N, 1)``."""
        return self._log_likelihood(self._checked(X))

    def _log_likelihood(self, x: Array) -> Array:
        return jax.scipy.special.logsumexp(self._joint(x), axis=1, keepdims=True)

    def responsibilities(self, X: Float[ArrayLike, "n d"]) -> Float[Array, "n K"]:
        """E-step: posterior $p(k \\mid x_n)$."""
        return jax.nn.softmax(self._joint(self._checked(X)), axis=1)

    def update(self: M, X: Float[ArrayLike, "n d"]) -> M:
        """One EM step."""
        return self._update(self._checked(X))

    def _update(self: M, x: Array) -> M:
        R = jax.nn.softmax(self._joint(x), axis=1)
        Nk = jnp.sum(R, axis=0)
        model = eqx.tree_at(lambda m: m.pi, self, Nk / x.shape[0])
        return model._m_step(x, R)

    def fit(self: M, X: Float[ArrayLike, "n d"], tol: float = 1e-3, verbose: bool = False) -> M:
        """EM from :meth:`init` until the mean log-likelihood improves by less than `tol`
        or ``max_iter`` steps, as one ``lax.while_loop``.

        `X`: finite ``(N, D)`` data with ``N >= K`` (and the fitted ``D`` once fitted);
        `tol` >= 0."""
        check_nonnegative(tol, "tol")
        x = self._checked(X, fitted=self.pi is not None)
        model = self.init(x) if self.pi is None else self
        params, static = eqx.partition(model, eqx.is_array)

        def mean_ll(p):
            return jnp.mean(eqx.combine(p, static)._log_likelihood(x))

        def cond(carry):
            _, i, ll, prev = carry
            return (i < self.max_iter) & ((i == 0) | (ll - prev > tol))

        def body(carry):
            p, i, ll, _ = carry
            new = eqx.partition(eqx.combine(p, static)._update(x), eqx.is_array)[0]
            return new, i + 1, mean_ll(new), ll

        start = mean_ll(params)
        params, n_iter, ll, _ = jax.lax.while_loop(cond, body, (params, 0, start, -jnp.inf))
        if verbose:
            print(f"EM: {int(n_iter)} iterations, mean log-likelihood {float(ll):.4f}")
        return eqx.combine(params, static)

    def sample(self, n_samples: int, mode_j: int = -1, *, key: Key | None = None) -> Array:
        """Draw ``n_samples`` (an int >= 0; from component ``mode_j`` when
        ``0 <= mode_j < K``, from the mixture when ``mode_j < 0``)."""
        self._check_fitted()
        n_samples = int_arg(n_samples, "n_samples", 0)
        if isinstance(mode_j, bool) or not isinstance(mode_j, int | np.integer):
            raise ValueError(f"`mode_j` must be an int, got {mode_j!r}.")
        assert self.pi is not None
        k = self.key if key is None else key
        kc, ks = jax.random.split(k)
        if mode_j >= 0:
            if mode_j >= self.K:
                raise ValueError(f"`mode_j` must be < K={self.K}, got {mode_j}.")
            comps = jnp.full((n_samples,), mode_j)
        else:
            comps = jax.random.categorical(kc, jnp.log(self.pi), shape=(n_samples,))
        return self._sample_components(ks, comps)


def _base_init(self, K, max_iter, init_kmeans, key):
    if isinstance(K, bool) or not isinstance(K, int | np.integer) or K < 1:
        raise ValueError(f"`K` (number of components) must be a positive int, got {K!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"`max_iter` must be a positive int, got {max_iter!r}.")
    self.K = int(K)
    self.max_iter = int(max_iter)
    self.init_kmeans = bool(init_kmeans)
    self.key = jax.random.key(0) if key is None else key
    self.pi = None


class GaussianMixture(Mixture):
    r"""Gaussian mixture $\sum_k \pi_k\mathcal N(x; \mu_k, \Sigma_k)$ with full covariances
    (or diagonal ones with ``assume_diag_cov``); ``reg`` is added to every covariance's
    diagonal in the M-step.

    `K`: number of components, an int >= 1 (at most the number of samples given to
    :meth:`init`/:meth:`fit`); `max_iter`: an int >= 1; `reg` >= 0. Data must be finite
    and ``(N, D)``; other shapes, empty or non-finite data raise a ``ValueError`` naming
    `X`."""

    mu: Float[Array, "K d"] | None
    Sigma: Float[Array, "K d d"] | None
    reg: Float[Array, ""]
    assume_diag_cov: bool = eqx.field(static=True)

    def __init__(
        self,
        K: int,
        max_iter: int = 50,
        assume_diag_cov: bool = False,
        init_kmeans: bool = False,
        key: Key | None = None,
        reg: Any = 1e-6,
    ):
        _base_init(self, K, max_iter, init_kmeans, key)
        self.assume_diag_cov = bool(assume_diag_cov)
        self.reg = param(reg, "reg", "nonnegative")
        self.mu = None
        self.Sigma = None

    def _width(self):
        return None if self.mu is None else self.mu.shape[1]

    def _init_components(self, X, centres):
        cov = jnp.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1]) + self.reg * jnp.eye(
            X.shape[1]
        )
        if self.assume_diag_cov:
            cov = jnp.diag(jnp.diag(cov))
        return eqx.tree_at(
            lambda m: (m.mu, m.Sigma),
            self,
            (centres, jnp.broadcast_to(cov, (self.K, *cov.shape))),
            is_leaf=lambda v: v is None,
        )

    def component_log_pdf(self, X):
        assert self.mu is not None and self.Sigma is not None
        d = X.shape[1]
        L = jnp.linalg.cholesky(self.Sigma)  # (K, d, d)
        diff = X[None, :, :] - self.mu[:, None, :]  # (K, N, d)
        z = jax.vmap(lambda c, r: jax.scipy.linalg.solve_triangular(c, r.T, lower=True).T)(L, diff)
        maha = jnp.sum(jnp.square(z), axis=-1)  # (K, N)
        logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(L, axis1=1, axis2=2)), axis=1)
        return (-0.5 * (maha + logdet[:, None] + d * math.log(2 * math.pi))).T

    def _m_step(self, X, R):
        Nk = jnp.maximum(jnp.sum(R, axis=0), 1e-12)
        mu = (R.T @ X) / Nk[:, None]
        diff = X[None, :, :] - mu[:, None, :]
        cov = jnp.einsum("nk,kni,knj->kij", R, diff, diff) / Nk[:, None, None]
        if self.assume_diag_cov:
            cov = jax.vmap(jnp.diag)(jax.vmap(jnp.diag)(cov))
        cov = cov + self.reg * jnp.eye(X.shape[1])[None]
        return eqx.tree_at(lambda m: (m.mu, m.Sigma), self, (mu, cov))

    def _sample_components(self, key, comps):
        assert self.mu is not None and self.Sigma is not None
        L = jnp.linalg.cholesky(self.Sigma)[comps]
        eps = jax.random.normal(key, (comps.shape[0], self.mu.shape[1]))
        return self.mu[comps] + jnp.einsum("nij,nj->ni", L, eps)


class BernoulliMixture(Mixture):
    r"""Mixture of independent Bernoullis $\sum_k \pi_k \prod_d p_{kd}^{x_d}
    (1 - p_{kd})^{1 - x_d}$ for binary (or fractional) data; ``p`` is kept in
    ``[eps, 1 - eps]``. `K` and `max_iter` as :class:`GaussianMixture`; `eps` in
    ``(0, 1]``; data values in ``[0, 1]``."""

    p: Float[Array, "K d"] | None
    eps: Float[Array, ""]

    def __init__(
        self,
        K: int,
        max_iter: int = 50,
        init_kmeans: bool = False,
        key: Key | None = None,
        eps: Any = 1e-4,
    ):
        _base_init(self, K, max_iter, init_kmeans, key)
        self.eps = param(eps, "eps", "unit_open")
        self.p = None

    def _width(self):
        return None if self.p is None else self.p.shape[1]

    def _check_values(self, x):
        if not bool(jnp.all((x >= 0) & (x <= 1))):
            raise ValueError("`X` must hold values in [0, 1] for a BernoulliMixture.")

    def _init_components(self, X, centres):
        p = jnp.clip(0.5 * (centres + jnp.mean(X, axis=0, keepdims=True)), self.eps, 1 - self.eps)
        return eqx.tree_at(lambda m: m.p, self, p, is_leaf=lambda v: v is None)

    def component_log_pdf(self, X):
        assert self.p is not None
        return X @ jnp.log(self.p).T + (1.0 - X) @ jnp.log1p(-self.p).T

    def _m_step(self, X, R):
        Nk = jnp.maximum(jnp.sum(R, axis=0), 1e-12)
        p = jnp.clip((R.T @ X) / Nk[:, None], self.eps, 1 - self.eps)
        return eqx.tree_at(lambda m: m.p, self, p)

    def _sample_components(self, key, comps):
        assert self.p is not None
        return jax.random.bernoulli(key, self.p[comps]).astype(self.p.dtype)


class ExponentialMixture(Mixture):
    r"""Mixture of independent exponentials $\sum_k \pi_k \prod_d \lambda_{kd}
    e^{-\lambda_{kd} x_d}$ for non-negative data (rates ``lam``). `K` and `max_iter` as
    :class:`GaussianMixture`; data values >= 0."""

    lam: Float[Array, "K d"] | None

    def __init__(
        self, K: int, max_iter: int = 50, init_kmeans: bool = False, key: Key | None = None
    ):
        _base_init(self, K, max_iter, init_kmeans, key)
        self.lam = None

    def _width(self):
        return None if self.lam is None else self.lam.shape[1]

    def _check_values(self, x):
        if not bool(jnp.all(x >= 0)):
            raise ValueError("`X` must be >= 0 for an ExponentialMixture.")

    def _init_components(self, X, centres):
        lam = 1.0 / jnp.maximum(0.5 * (centres + jnp.mean(X, axis=0, keepdims=True)), 1e-6)
        return eqx.tree_at(lambda m: m.lam, self, lam, is_leaf=lambda v: v is None)

    def component_log_pdf(self, X):
        assert self.lam is not None
        return jnp.sum(jnp.log(self.lam), axis=1)[None, :] - X @ self.lam.T

    def _m_step(self, X, R):
        Nk = jnp.maximum(jnp.sum(R, axis=0), 1e-12)
        lam = Nk[:, None] / jnp.maximum(R.T @ X, 1e-12)
        return eqx.tree_at(lambda m: m.lam, self, lam)

    def _sample_components(self, key, comps):
        assert self.lam is not None
        return jax.random.exponential(key, (comps.shape[0], self.lam.shape[1])) / self.lam[comps]
