r"""Error cells: fixed-point mismatch units that output a local log-likelihood and its
derivatives.

Every error cell is called as ``cell(mu, target, modulator=None, mask=None)`` and returns an
:class:`ErrorOutput` ``(L, dmu, dtarget, dSigma)``: the local log-likelihood ``L``
(a scalar summed over the batch), its derivatives with respect to the prediction ``mu``
and the target, and with respect to the cell's dispersion parameter. ``dmu`` and
``dtarget`` are multiplied by ``modulator`` and ``mask``; since a cell keeps no state, a
mask passed to one call applies to that step only (ngc-learn "eats" its mask after one
step in the same way). ``L`` is unmasked and unmodulated, as in ngc-learn.
"""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_positive, float_array
from .._shapes import left_pad_rank


__all__ = ["ErrorOutput", "GaussianErrorCell", "LaplacianErrorCell", "BernoulliErrorCell"]


class ErrorOutput(eqx.Module):
    """What an error cell emits for one step.

    - ``L``: local log-likelihood (scalar, summed over the batch), in nats.
    - ``dmu``: $\\partial L/\\partial \\mu$ (times modulator and mask), shape of ``mu``.
    - ``dtarget``: $\\partial L/\\partial \\text{target}$ (times modulator and mask).
    - ``dSigma``: $\\partial L$ with respect to the cell's dispersion (shape of it).
    """

    L: Float[Array, ""]
    dmu: Float[Array, "*shape"]
    dtarget: Float[Array, "*shape"]
    dSigma: Float[Array, "*sigma"]


def _prepare(mu: ArrayLike, target: ArrayLike) -> tuple[Array, Array]:
    mu_a = float_array(mu, "mu")
    target_a = float_array(target, "target")
    if mu_a.shape != target_a.shape:
        raise ValueError(
            f"`mu` and `target` must have the same shape, got {mu_a.shape} and {target_a.shape}."
        )
    return mu_a, target_a


def _gate(d: Array, modulator: ArrayLike | None, mask: ArrayLike | None) -> Array:
    for name, factor in (("modulator", modulator), ("mask", mask)):
        if factor is not None:
            f = jnp.asarray(factor, dtype=d.dtype)
            try:
                d = d * jnp.broadcast_to(f, d.shape)
            except ValueError as err:
                raise ValueError(
                    f"`{name}` of shape {f.shape} cannot broadcast to {d.shape}."
                ) from err
    return d


class GaussianErrorCell(eqx.Module):
    r"""Gaussian error cell: $\mathcal N(\text{target};\ \mu, \Sigma)$.

    With $e = \text{target} - \mu$ per sample (last axis: the units),

    $$L = -\tfrac12 \sum_{\text{batch}} \left(e^\top \Sigma^{-1} e + \log\det\Sigma
    \;[+\; n\log 2\pi]\right),$$

    the bracketed constant only with ``include_constant=True``. So
    $\partial L/\partial\mu = \Sigma^{-1}e$ (``dmu``), ``dtarget`` $= -\Sigma^{-1}e$ and
    $\partial L/\partial\Sigma = \tfrac12\sum (\Sigma^{-1}ee^\top\Sigma^{-1}) -
    \tfrac{B}{2}\Sigma^{-1}$ (``dSigma``, with $B$ the number of samples), all checked
    against ``jax.grad`` of $L$.

    Three covariance forms:

    - ``sigma`` a scalar (the default, ``1``): $\Sigma = \sigma^2 I$; ``dSigma`` is
      $\partial L/\partial(\sigma^2)$, a scalar. Works on any shape (e.g. conv maps).
    - ``sigma`` of shape ``(n_units,)``: per-unit standard deviations,
      $\Sigma = \mathrm{diag}(\sigma^2)$; ``dSigma`` has shape ``(n_units,)``.
    - ``scale_tril`` of shape ``(n_units, n_units)``: the lower Cholesky factor $C$,
      $\Sigma = CC^\top$; ``dSigma`` is the ``(n_units, n_units)`` matrix above.

    Differences from ngc-learn: ngc-learn divides $L$ by $2\Sigma^2$ but ``dmu`` by
    $\Sigma$, which disagree unless $\Sigma = 1$; it omits $\log\det\Sigma$ and returns a
    constant ``dSigma`` (marked unfinished in its source). ngcx is the consistent
    log-likelihood; with ``sigma = 1`` every output except ``dSigma`` equals ngc-learn's.
    """

    n_units: int = eqx.field(static=True)
    sigma: Float[Array, "*s"] | None
    scale_tril: Float[Array, "n n"] | None
    include_constant: bool = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        sigma: float | Float[ArrayLike, "*s"] = 1.0,
        *,
        scale_tril: Float[ArrayLike, "n n"] | None = None,
        include_constant: bool = False,
    ):
        """**Arguments:**

        - `n_units`: number of units (size of the last axis of `mu` and `target`).
        - `sigma`: scalar or per-unit ``(n_units,)`` standard deviation (ignored when
          `scale_tril` is given).
        - `scale_tril`: lower-triangular Cholesky factor of a full covariance.
        - `include_constant`: include $-\\tfrac n2 \\log 2\\pi$ per sample in `L`.
        """
        if not isinstance(n_units, int) or n_units <= 0:
            raise ValueError(f"`n_units` must be a positive int, got {n_units!r}.")
        self.n_units = n_units
        self.include_constant = bool(include_constant)
        if scale_tril is not None:
            tril = float_array(scale_tril, "scale_tril")
            if tril.shape != (n_units, n_units):
                raise ValueError(
                    f"`scale_tril` must have shape ({n_units}, {n_units}), got {tril.shape}."
                )
            self.scale_tril = jnp.tril(tril)
            self.sigma = None
        else:
            sig = float_array(jnp.asarray(sigma, dtype=jnp.result_type(float)), "sigma")
            if sig.shape not in ((), (n_units,)):
                raise ValueError(
                    f"`sigma` must be a scalar or have shape ({n_units},), got {sig.shape}."
                )
            check_positive(jnp.min(sig), "sigma")
            self.sigma = sig
            self.scale_tril = None

    @property
    def covariance_type(self) -> Literal["scalar", "diagonal", "full"]:
        if self.scale_tril is not None:
            return "full"
        assert self.sigma is not None
        return "scalar" if self.sigma.ndim == 0 else "diagonal"

    @property
    def Sigma(self) -> Array:
        """The covariance parameter: $\\sigma^2$, $\\mathrm{diag}$ entries or $CC^\\top$."""
        if self.scale_tril is not None:
            return self.scale_tril @ self.scale_tril.T
        assert self.sigma is not None
        return jnp.square(self.sigma)

    def log_likelihood(
        self, mu: Float[ArrayLike, "*shape"], target: Float[ArrayLike, "*shape"]
    ) -> Float[Array, ""]:
        """$L$ alone (differentiable in `mu`, `target` and the cell's parameters)."""
        return self(mu, target).L

    def __call__(
        self,
        mu: Float[ArrayLike, "*shape"],
        target: Float[ArrayLike, "*shape"],
        modulator: Float[ArrayLike, "..."] | None = None,
        mask: Float[ArrayLike, "..."] | None = None,
    ) -> ErrorOutput:
        """Compute ``(L, dmu, dtarget, dSigma)`` for one step (see the class docstring).

        **Arguments:** `mu` prediction and `target`, same shape (last axis ``n_units``
        unless ``sigma`` is a scalar); optional `modulator` and `mask` broadcast to it.
        """
        mu_a, target_a = _prepare(mu, target)
        kind = self.covariance_type
        if kind != "scalar" and (mu_a.ndim == 0 or mu_a.shape[-1] != self.n_units):
            raise ValueError(f"`mu` must end in n_units={self.n_units}, got shape {mu_a.shape}.")
        e = target_a - mu_a
        n = self.n_units if kind != "scalar" else (e.shape[-1] if e.ndim else 1)
        n_samples = e.size // max(n, 1)
        if kind == "full":
            tril = self.scale_tril
            assert tril is not None
            e2 = e.reshape(-1, self.n_units)
            # Sigma^{-1} e via two triangular solves with the Cholesky factor.
            y = jax.scipy.linalg.solve_triangular(tril, e2.T, lower=True)
            prec_e = jax.scipy.linalg.solve_triangular(tril.T, y, lower=False).T
            quad = jnp.sum(e2 * prec_e)
            logdet = 2.0 * jnp.sum(jnp.log(jnp.abs(jnp.diagonal(tril))))
            L = -0.5 * (quad + n_samples * logdet)
            eye = jnp.eye(self.n_units, dtype=e.dtype)
            tinv = jax.scipy.linalg.solve_triangular(tril, eye, lower=True)
            sigma_inv = tinv.T @ tinv
            dSigma = 0.5 * (prec_e.T @ prec_e) - 0.5 * n_samples * sigma_inv
            dmu = prec_e.reshape(e.shape)
        else:
            var = self.Sigma.astype(e.dtype)
            # one reciprocal per variance, then a multiply per element (XLA keeps an
            # elementwise division as a division, which costs far more on CPU)
            precision = left_pad_rank(1.0 / var, e.ndim)
            dmu = e * precision
            sq = jnp.square(e)
            if kind == "scalar":
                L = -0.5 * (jnp.sum(sq) / var + e.size * jnp.log(var))
                dSigma = 0.5 * jnp.sum(sq) / jnp.square(var) - 0.5 * e.size / var
            else:
                per_unit = jnp.sum(sq.reshape(-1, self.n_units), axis=0)
                L = -0.5 * (jnp.sum(per_unit / var) + n_samples * jnp.sum(jnp.log(var)))
                dSigma = 0.5 * per_unit / jnp.square(var) - 0.5 * n_samples / var
        if self.include_constant:
            L = L - 0.5 * n_samples * n * math.log(2.0 * math.pi)
        dmu = _gate(dmu, modulator, mask)
        return ErrorOutput(L=L, dmu=dmu, dtarget=-dmu, dSigma=dSigma)


class LaplacianErrorCell(eqx.Module):
    r"""Laplacian error cell: $\text{target} \sim \mathrm{Laplace}(\mu, b)$.

    With $e = \text{target} - \mu$: $L = -\sum (\lvert e\rvert / b + \log 2b)$,
    ``dmu`` $= \mathrm{sign}(e)/b$, ``dtarget`` $= -$``dmu``, ``dSigma``
    $= \partial L/\partial b = \sum(\lvert e\rvert/b^2 - 1/b)$ (per unit when ``scale`` has
    shape ``(n_units,)``). ``sign(0) = 0``.
    """

    n_units: int = eqx.field(static=True)
    scale: Float[Array, "*s"]

    def __init__(self, n_units: int, scale: float | Float[ArrayLike, "*s"] = 1.0):
        if not isinstance(n_units, int) or n_units <= 0:
            raise ValueError(f"`n_units` must be a positive int, got {n_units!r}.")
        b = float_array(jnp.asarray(scale, dtype=jnp.result_type(float)), "scale")
        if b.shape not in ((), (n_units,)):
            raise ValueError(f"`scale` must be a scalar or ({n_units},), got {b.shape}.")
        check_positive(jnp.min(b), "scale")
        self.n_units = n_units
        self.scale = b

    def __call__(
        self,
        mu: Float[ArrayLike, "*shape"],
        target: Float[ArrayLike, "*shape"],
        modulator: Float[ArrayLike, "..."] | None = None,
        mask: Float[ArrayLike, "..."] | None = None,
    ) -> ErrorOutput:
        mu_a, target_a = _prepare(mu, target)
        e = target_a - mu_a
        b = self.scale.astype(e.dtype)
        b_b = jnp.broadcast_to(b, e.shape)
        absd = jnp.abs(e)
        L = -jnp.sum(absd / b_b + jnp.log(2.0 * b_b))
        dmu = jnp.sign(e) / b_b
        terms = absd / jnp.square(b_b) - 1.0 / b_b
        if b.ndim == 0:
            dSigma = jnp.sum(terms)
        else:
            dSigma = jnp.sum(terms.reshape(-1, self.n_units), axis=0)
        dmu = _gate(dmu, modulator, mask)
        return ErrorOutput(L=L, dmu=dmu, dtarget=-dmu, dSigma=dSigma)


class BernoulliErrorCell(eqx.Module):
    r"""Bernoulli error cell: binary (or fractional) ``target`` with probability ``mu``.

    $p = \mathrm{clip}(\mu, \epsilon, 1 - \epsilon)$,
    $L = \sum t\log p + (1 - t)\log(1 - p)$, ``dmu`` $= t/p - (1 - t)/(1 - p)$,
    ``dtarget`` $= \log p - \log(1 - p)$; ``dSigma`` is 0 (no dispersion parameter).
    """

    n_units: int = eqx.field(static=True)
    eps: float = eqx.field(static=True)

    def __init__(self, n_units: int, eps: float = 1e-6):
        if not isinstance(n_units, int) or n_units <= 0:
            raise ValueError(f"`n_units` must be a positive int, got {n_units!r}.")
        if not 0.0 < eps < 0.5:
            raise ValueError(f"`eps` must lie in (0, 0.5), got {eps}.")
        self.n_units = n_units
        self.eps = float(eps)

    def __call__(
        self,
        mu: Float[ArrayLike, "*shape"],
        target: Float[ArrayLike, "*shape"],
        modulator: Float[ArrayLike, "..."] | None = None,
        mask: Float[ArrayLike, "..."] | None = None,
    ) -> ErrorOutput:
        mu_a, target_a = _prepare(mu, target)
        p = jnp.clip(mu_a, self.eps, 1.0 - self.eps)
        L = jnp.sum(target_a * jnp.log(p) + (1.0 - target_a) * jnp.log1p(-p))
        dmu = target_a / p - (1.0 - target_a) / (1.0 - p)
        dtarget = jnp.log(p) - jnp.log1p(-p)
        return ErrorOutput(
            L=L,
            dmu=_gate(dmu, modulator, mask),
            dtarget=_gate(dtarget, modulator, mask),
            dSigma=jnp.zeros((), dtype=mu_a.dtype),
        )
