r"""Effective dimensionality of a set of codes: participation ratio, RankMe, stable rank."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from .._checks import check_nonnegative
from ._common import _pool


__all__ = ["participation_ratio", "rankme", "stable_rank"]


def participation_ratio(latent_codes: ArrayLike, use_NaN_fallback: bool = False) -> Array:
    r"""$(\mathrm{tr}\,C)^2 / \mathrm{tr}(C^2)$ of the codes' covariance $C$ (ngc-learn's
    ``participation_ratio``).

    **Arguments:** `latent_codes` `(N, D)` (or `(N, L, D)`, mean-pooled);
    `use_NaN_fallback`: when $\mathrm{tr}(C^2) = 0$ (constant codes) return NaN instead
    of the default effective dimension 1.
    """
    z = _pool(latent_codes, "latent_codes")
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    cov = zc.T @ zc / max(z.shape[0] - 1, 1)
    denom = jnp.sum(jnp.square(cov))
    fallback = jnp.nan if use_NaN_fallback else 1.0
    return jnp.where(
        denom > 0, jnp.square(jnp.trace(cov)) / jnp.where(denom > 0, denom, 1.0), fallback
    )


def rankme(latent_codes: ArrayLike, eps: float = 1e-7) -> Array:
    r"""RankMe effective rank $\exp(-\sum_i p_i \log p_i)$ with $p_i = s_i / \sum s$ over
    the singular values $s$ of the codes (non-empty `(N, D)` or `(N, L, D)`); `eps` >= 0."""
    check_nonnegative(eps, "eps")
    s = jnp.linalg.svd(_pool(latent_codes, "latent_codes"), compute_uv=False)
    p = s / (jnp.sum(s) + eps)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))


def stable_rank(latent_codes: ArrayLike, num_iters: int | None = None) -> Array:
    r"""Stable rank $\lVert Z_c\rVert_F^2 / \lVert Z_c\rVert_2^2$ of the centred codes
    (ngc-learn's ``stable_rank``); 0 for constant codes (ngc-learn returns 1).

    **Arguments:**

    - `latent_codes`: `(N, D)` (or `(N, L, D)`, mean-pooled).
    - `num_iters`: ``None`` (default) computes the top singular value exactly with an
      SVD; an int runs that many power iterations on $Z_c^\top Z_c$ from ngc-learn's
      fixed start vector (normal draw from ``PRNGKey(0)``), ngc-learn's method (its
      default is 10). Power iteration under-estimates $\lVert Z_c\rVert_2$, so it
      over-estimates the stable rank until it has converged.
    """
    z = _pool(latent_codes, "latent_codes")
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    fro = jnp.sum(jnp.square(zc))
    if num_iters is None:
        s = jnp.linalg.svd(zc, compute_uv=False)
        top_sq = jnp.max(s) ** 2
    else:
        if not isinstance(num_iters, int) or isinstance(num_iters, bool) or num_iters < 0:
            raise ValueError(f"`num_iters` must be a non-negative int or None, got {num_iters!r}.")
        v = jax.random.normal(jax.random.PRNGKey(0), (zc.shape[1], 1), dtype=zc.dtype)
        v = v / jnp.linalg.norm(v)

        def body(_, v):
            w = zc.T @ (zc @ v)
            n = jnp.linalg.norm(w)
            return w / jnp.where(n > 0, n, 1.0)

        v = jax.lax.fori_loop(0, num_iters, body, v)
        top_sq = jnp.sum(jnp.square(zc @ v))
    return jnp.where(top_sq > 0, fro / jnp.where(top_sq > 0, top_sq, 1.0), 0.0)
