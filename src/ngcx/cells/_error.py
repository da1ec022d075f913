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
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import float_array
from .._custom_types import ParamLike
from .._debug import check_traced_domain, checks_enabled
from .._params import is_concrete, param
from .._shapes import left_pad_rank
from ._base import AbstractErrorCell
from ._common import check_units as _check_units, checked


__all__ = ["ErrorOutput", "GaussianErrorCell", "LaplacianErrorCell", "BernoulliErrorCell"]

#: A constructor parameter: a Python number or a scalar/per-unit array (possibly traced).


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


def _dispersion(value: ParamLike, name: str, n_units: int) -> Array:
    """A positive scalar or per-unit dispersion leaf; shape ``(1,)`` counts as a scalar."""
    arr = param(value, name, "positive", n_units=n_units)
    return arr.reshape(()) if arr.shape == (1,) and n_units != 1 else arr


def _entries(index: np.ndarray, values: np.ndarray) -> str:
    """``"[i, j] = v, ..."`` for the first few entries of `index` (rows of indices)."""
    shown = [
        f"[{', '.join(str(int(i)) for i in idx)}] = {values[tuple(idx)]:g}" for idx in index[:4]
    ]
    more = f" (and {len(index) - 4} more)" if len(index) > 4 else ""
    return ", ".join(shown) + more


def _check_scale_tril(values: np.ndarray) -> None:
    """``ValueError`` naming `scale_tril` and its wrong entries unless it is finite,
    lower-triangular and has a positive diagonal (the Cholesky factor of a covariance)."""
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"`scale_tril` must be finite, got {_entries(bad, values)}.")
    bad = np.argwhere(np.triu(values, 1) != 0)
    if bad.size:
        raise ValueError(
            "`scale_tril` must be lower-triangular (zero above the diagonal), got "
            f"{_entries(bad, values)}."
        )
    diag = np.diagonal(values)
    bad_i = np.flatnonzero(~(diag > 0))
    if bad_i.size:
        raise ValueError(
            "`scale_tril` must have a positive diagonal, got "
            f"{_entries(np.stack([bad_i, bad_i], axis=1), values)}."
        )


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


class GaussianErrorCell(AbstractErrorCell):
    r"""Gaussian error cell: $\mathcal N(\text{target};\ \mu, \Sigma)$.

    With $e = \text{target} - \mu$ per sample (last axis: the units),

    $$L = -\tfrac12 \sum_{\text{batch}} \left(e^\top \Sigma^{-1} e + \log\det\Sigma
    \;[+\; n\log 2\pi]\right),$$

    the bracketed constant only with ``include_constant=True``. So
    $\partial L/\partial\mu = \Sigma^{-1}e$ (``dmu``), ``dtarget`` $= -\Sigma^{-1}e$ and
    $\partial L/\partial\Sigma = \tfrac12\sum (\Sigma^{-1}ee^\top\Sigma^{-1}) -
    \tfrac{B}{2}\Sigma^{-1}$ (``dSigma``, with $B$ the number of samples), all checked
    against ``jax.grad`` of $L$.

    Three covariance forms (the form is static, chosen by the shapes; the values are array
    leaves, so ``jax.grad`` of $L$ with respect to ``sigma`` or ``scale_tril`` and
    ``jax.vmap`` over a sweep of them work):

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
    sigma: Float[Array, "..."] | None
    scale_tril: Float[Array, "n n"] | None
    include_constant: bool = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        sigma: ParamLike = 1.0,
        *,
        scale_tril: Float[ArrayLike, "n n"] | None = None,
        include_constant: bool = False,
    ):
        """**Arguments:**

        - `n_units`: number of units (size of the last axis of `mu` and `target`; static).
        - `sigma`: standard deviation, ``> 0``: a scalar or a per-unit array of shape
          ``(n_units,)`` (ignored when `scale_tril` is given). An array leaf.
        - `scale_tril`: the lower-triangular Cholesky factor of a full covariance, shape
          ``(n_units, n_units)``, finite, zero above the diagonal and with a positive
          diagonal (a ``ValueError`` names the wrong entries when the value is concrete;
          a traced value is checked in :func:`ngcx.debug_nans` mode). An array leaf.
        - `include_constant`: include $-\\tfrac n2 \\log 2\\pi$ per sample in `L` (static).
        """
        self.n_units = _check_units(n_units)
        self.include_constant = bool(include_constant)
        if scale_tril is not None:
            tril = float_array(scale_tril, "scale_tril")
            if tril.shape != (n_units, n_units):
                raise ValueError(
                    f"`scale_tril` must have shape ({n_units}, {n_units}), got {tril.shape}."
                )
            if is_concrete(scale_tril):  # the argument: under jit, jnp arrays are staged
                _check_scale_tril(np.asarray(scale_tril, dtype=np.float64))
            elif checks_enabled():  # traced: checked in ngcx.debug_nans() mode only
                ok = jnp.isfinite(tril) & (jnp.triu(tril, 1) == 0)
                ok = ok & (jnp.eye(n_units, dtype=bool) <= (tril > 0))
                tril = check_traced_domain(
                    tril, "scale_tril", ok, "finite, lower-triangular with a positive diagonal"
                )
            self.scale_tril = jnp.tril(tril)
            self.sigma = None
        else:
            self.sigma = _dispersion(sigma, "sigma", n_units)
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
        return checked(self, ErrorOutput(L=L, dmu=dmu, dtarget=-dmu, dSigma=dSigma))


class LaplacianErrorCell(AbstractErrorCell):
    r"""Laplacian error cell: $\text{target} \sim \mathrm{Laplace}(\mu, b)$.

    With $e = \text{target} - \mu$: $L = -\sum (\lvert e\rvert / b + \log 2b)$,
    ``dmu`` $= \mathrm{sign}(e)/b$, ``dtarget`` $= -$``dmu``, ``dSigma``
    $= \partial L/\partial b = \sum(\lvert e\rvert/b^2 - 1/b)$ (per unit when ``scale`` has
    shape ``(n_units,)``). ``sign(0) = 0``. The scale $b$ is an array leaf.
    """

    n_units: int = eqx.field(static=True)
    scale: Float[Array, "..."]

    def __init__(self, n_units: int, scale: ParamLike = 1.0):
        """**Arguments:**

        - `n_units`: number of units (size of the last axis of `mu` and `target`; static).
        - `scale`: the Laplace scale $b > 0$, a scalar or a per-unit array of shape
          ``(n_units,)``. An array leaf (``jax.vmap``/``jax.grad`` over it).
        """
        self.n_units = _check_units(n_units)
        self.scale = _dispersion(scale, "scale", n_units)

    def __call__(
        self,
        mu: Float[ArrayLike, "*shape"],
        target: Float[ArrayLike, "*shape"],
        modulator: Float[ArrayLike, "..."] | None = None,
        mask: Float[ArrayLike, "..."] | None = None,
    ) -> ErrorOutput:
        mu_a, target_a = _prepare(mu, target)
        if self.scale.ndim != 0 and (mu_a.ndim == 0 or mu_a.shape[-1] != self.n_units):
            raise ValueError(
                f"`mu` of LaplacianErrorCell must have shape (..., {self.n_units}) (a per-unit "
                f"`scale`), got shape {mu_a.shape}."
            )
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
        return checked(self, ErrorOutput(L=L, dmu=dmu, dtarget=-dmu, dSigma=dSigma))


class BernoulliErrorCell(AbstractErrorCell):
    r"""Bernoulli error cell: binary (or fractional) ``target`` with probability ``mu``.

    $p = \mathrm{clip}(\mu, \epsilon, 1 - \epsilon)$,
    $L = \sum t\log p + (1 - t)\log(1 - p)$, ``dmu`` $= t/p - (1 - t)/(1 - p)$,
    ``dtarget`` $= \log p - \log(1 - p)$; ``dSigma`` is 0 (no dispersion parameter).
    (ngc-learn 3.2 multiplies this ``dmu`` by $\sigma'(\mu)$, the sigmoid's derivative at
    the probability itself; ngcx's ``dmu`` is $\partial L/\partial\mu$.)

    With ``input_logits=True`` the prediction ``mu`` is a logit $z$ and
    $p = \sigma(z)$ (ngc-learn's option of the same name). In the numerically stable
    log-sigmoid forms, with no clipping (``eps`` is unused),

    $$L = \sum t\log\sigma(z) + (1 - t)\log\sigma(-z), \qquad
      \texttt{dmu} = \frac{\partial L}{\partial z} = t - \sigma(z), \qquad
      \texttt{dtarget} = \log\frac{p}{1 - p} = z,$$

    exact for any finite logit. ngc-learn clips $\sigma(z)$ to $[10^{-4}, 1 - 10^{-4}]$
    first, so its ``L`` and ``dtarget`` saturate for $|z| \gtrsim 9.2$ (and its ``dmu``
    is $t$ minus the clipped probability); for smaller logits the two agree.
    """

    n_units: int = eqx.field(static=True)
    eps: Float[Array, ""]
    input_logits: bool = eqx.field(static=True)

    def __init__(self, n_units: int, eps: ParamLike = 1e-6, *, input_logits: bool = False):
        """**Arguments:**

        - `n_units`: number of units (static).
        - `eps`: the clipping bound $\\epsilon \\in (0, 0.5)$, a scalar array leaf (unused
          with `input_logits`).
        - `input_logits`: `mu` is a logit, $p = \\sigma(\\mu)$ (static).
        """
        self.n_units = _check_units(n_units)
        if is_concrete(eps) and not 0.0 < float(np.asarray(eps)) < 0.5:
            raise ValueError(f"`eps` must lie in (0, 0.5), got {float(np.asarray(eps))}.")
        self.eps = param(eps, "eps", "positive")
        self.input_logits = bool(input_logits)

    def __call__(
        self,
        mu: Float[ArrayLike, "*shape"],
        target: Float[ArrayLike, "*shape"],
        modulator: Float[ArrayLike, "..."] | None = None,
        mask: Float[ArrayLike, "..."] | None = None,
    ) -> ErrorOutput:
        mu_a, target_a = _prepare(mu, target)
        if self.input_logits:  # static
            log_p = jax.nn.log_sigmoid(mu_a)
            log_q = jax.nn.log_sigmoid(-mu_a)
            return checked(
                self,
                ErrorOutput(
                    L=jnp.sum(target_a * log_p + (1.0 - target_a) * log_q),
                    dmu=_gate(target_a - jax.nn.sigmoid(mu_a), modulator, mask),
                    dtarget=_gate(mu_a, modulator, mask),
                    dSigma=jnp.zeros((), dtype=mu_a.dtype),
                ),
            )
        eps = self.eps.astype(mu_a.dtype)
        p = jnp.clip(mu_a, eps, 1.0 - eps)
        L = jnp.sum(target_a * jnp.log(p) + (1.0 - target_a) * jnp.log1p(-p))
        dmu = target_a / p - (1.0 - target_a) / (1.0 - p)
        dtarget = jnp.log(p) - jnp.log1p(-p)
        return checked(
            self,
            ErrorOutput(
                L=L,
                dmu=_gate(dmu, modulator, mask),
                dtarget=_gate(dtarget, modulator, mask),
                dSigma=jnp.zeros((), dtype=mu_a.dtype),
            ),
        )
