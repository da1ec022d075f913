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
from jaxtyping import Array, ArrayLike, Float

from ._checks import float_array
from ._custom_types import Key
from ._params import param


__all__ = ["Mixture", "GaussianMixture", "BernoulliMixture", "ExponentialMixture", "kmeans"]

M = TypeVar("M", bound="Mixture")


def kmeans(X: Float[ArrayLike, "n d"], K: int, key: Key, n_iter: int = 20) -> Array:
    """Lloyd's k-means from ``K`` random data points; returns the ``(K, D)`` centres."""
    x = float_array(X, "X")
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

    def init(self: M, X: Float[ArrayLike, "n d"]) -> M:
        """Initial parameters: uniform weights, centres from random data points (or
        k-means with ``init_kmeans``)."""
        x = float_array(X, "X")
        if x.ndim != 2 or x.shape[0] < self.K:
            raise ValueError(f"`X` must be (N, D) with N >= K={self.K}, got shape {x.shape}.")
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
        return jax.scipy.special.logsumexp(self._joint(float_array(X, "X")), axis=1, keepdims=True)

    def responsibilities(self, X: Float[ArrayLike, "n d"]) -> Float[Array, "n K"]:
        """E-step: posterior $p(k \\mid x_n)$."""
        return jax.nn.softmax(self._joint(float_array(X, "X")), axis=1)

    def update(self: M, X: Float[ArrayLike, "n d"]) -> M:
        """One EM step."""
        x = float_array(X, "X")
        R = self.responsibilities(x)
        Nk = jnp.sum(R, axis=0)
        model = eqx.tree_at(lambda m: m.pi, self, Nk / x.shape[0])
        return model._m_step(x, R)

    def fit(self: M, X: Float[ArrayLike, "n d"], tol: float = 1e-3, verbose: bool = False) -> M:
        """EM from :meth:`init` until the mean log-likelihood improves by less than `tol`
        or ``max_iter`` steps, as one ``lax.while_loop``."""
        x = float_array(X, "X")
        model = self.init(x) if self.pi is None else self
        params, static = eqx.partition(model, eqx.is_array)

        def mean_ll(p):
            return jnp.mean(eqx.combine(p, static).calc_log_likelihood(x))

        def cond(carry):
            _, i, ll, prev = carry
            return (i < self.max_iter) & ((i == 0) | (ll - prev > tol))

        def body(carry):
            p, i, ll, _ = carry
            new = eqx.partition(eqx.combine(p, static).update(x), eqx.is_array)[0]
            return new, i + 1, mean_ll(new), ll

        start = mean_ll(params)
        params, n_iter, ll, _ = jax.lax.while_loop(cond, body, (params, 0, start, -jnp.inf))
        if verbose:
            print(f"EM: {int(n_iter)} iterations, mean log-likelihood {float(ll):.4f}")
        return eqx.combine(params, static)

    def sample(self, n_samples: int, mode_j: int = -1, *, key: Key | None = None) -> Array:
        """Draw ``n_samples`` (from component ``mode_j`` when ``mode_j >= 0``)."""
        self._check_fitted()
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
    if not isinstance(K, int) or K < 1:
        raise ValueError(f"`K` must be a positive int, got {K!r}.")
    if not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"`max_iter` must be a positive int, got {max_iter!r}.")
    self.K = K
    self.max_iter = max_iter
    self.init_kmeans = bool(init_kmeans)
    self.key = jax.random.key(0) if key is None else key
    self.pi = None


class GaussianMixture(Mixture):
    r"""Gaussian mixture $\sum_k \pi_k\mathcal N(x; \mu_k, \Sigma_k)$ with full covariances
    (or diagonal ones with ``assume_diag_cov``); ``reg`` is added to every covariance's
    diagonal in the M-step."""

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
    ``[eps, 1 - eps]``."""

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
    e^{-\lambda_{kd} x_d}$ for non-negative data (rates ``lam``)."""

    lam: Float[Array, "K d"] | None

    def __init__(
        self, K: int, max_iter: int = 50, init_kmeans: bool = False, key: Key | None = None
    ):
        _base_init(self, K, max_iter, init_kmeans, key)
        self.lam = None

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
