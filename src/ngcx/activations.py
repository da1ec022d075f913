r"""Elementwise activations, the k-winners-take-all family, and ``create_function``.

Every function here is a plain JAX function usable under ``jit``, ``vmap`` and ``grad``.
Smooth functions take their derivative from autodiff. Non-smooth ones (``relu``,
``relu6``, ``clip``, ``heaviside``, ``threshold``, ``bkwta`` and the k-WTA family) are
``jax.custom_jvp`` functions that carry the derivative ngc-learn pairs them with, so that
the derivative you get from ``jax.grad`` is the one ngc-learn's ``d_*`` function returns.

The ngc-learn style ``d_*`` functions and ``create_function(name) -> (fx, dfx)`` are kept
for ported code; every ``d_*`` is *derived from the function's own jvp* (one source of
truth): ``d_f(x) = jvp(f, x, ones)``. For the elementwise functions and the k-WTA family
(whose Jacobian is diagonal) this is the derivative of each output with respect to its
own input.

Conventions that match ngc-learn: ``relu'(0) = 1``, ``lrelu'(0) = 1``, ``relu6'`` is the
indicator of ``[0, 6]`` (both ends included), ``elu'(0) = 1``, ``heaviside(0) = 1``,
``threshold(thr) = 1`` (``>=``), and the straight-through derivative (``1``) for
``heaviside`` and ``threshold``.

Deliberate differences from ngc-learn (ngcx is right where ngc-learn is not):

* ``d_swish(x, beta)`` is the derivative of ``x * sigmoid(beta * x)``:
  ``sigmoid(beta x) + beta x sigmoid(beta x) (1 - sigmoid(beta x))``. ngc-learn's older
  formula, ``beta * (sigmoid(x) + x sigmoid(x)(1 - sigmoid(x)))``, is wrong whenever
  ``beta != 1`` (and so was its ``d_gelu``); ngc-learn 3.2.1 computes the true
  derivative, which ngcx matches.
* ``threshold_cauchy`` computes ``sqrt(max(x^2 - lmbda, 0))``; ngc-learn passes a single
  argument to ``jnp.maximum`` and raises on every call.
* ``inverse_tanh`` is ``artanh(x) = 0.5 * log((1 + x) / (1 - x))``; ngc-learn omits the
  ``0.5`` and returns ``2 artanh(x)``.
* ``lkwta``/``kwta`` choose the ``nWTA`` winners *within each group*. ngc-learn takes the
  smallest of all the groups' k-th values as one threshold for the whole row, so a group
  whose k-th value is larger than another group's gets more than ``nWTA`` winners.
* ``quantile_lkwta`` never lets a unit outside a group win inside that group (ngc-learn
  counts masked-out units as winners when the quantile falls among them), counts a unit
  that wins in several overlapping groups once, and applies ``clipval`` when it is
  positive (ngc-learn ignores it).
* ``create_function("softmax")`` returns ``d_softmax`` (the full Jacobian) as ``dfx``;
  ngc-learn returns the identity's derivative as an "improper proxy".
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_value, concrete_float, float_array, host_values
from ._custom_types import Scalar


__all__ = [
    "identity",
    "relu",
    "lrelu",
    "relu6",
    "elu",
    "silu",
    "swish",
    "gelu",
    "telu",
    "softplus",
    "sigmoid",
    "tanh",
    "sine",
    "clip",
    "heaviside",
    "threshold",
    "bkwta",
    "lkwta",
    "kwta",
    "quantile_lkwta",
    "softmax",
    "threshold_soft",
    "threshold_cauchy",
    "inverse_logistic",
    "inverse_sigmoid",
    "inverse_tanh",
    "derivative",
    "d_identity",
    "d_relu",
    "d_lrelu",
    "d_relu6",
    "d_elu",
    "d_silu",
    "d_swish",
    "d_gelu",
    "d_telu",
    "d_softplus",
    "d_sigmoid",
    "d_tanh",
    "d_sine",
    "d_clip",
    "d_heaviside",
    "d_threshold",
    "d_bkwta",
    "d_lkwta",
    "d_kwta",
    "d_quantile_lkwta",
    "d_softmax",
    "d_threshold_soft",
    "d_threshold_cauchy",
    "d_inverse_logistic",
    "d_inverse_tanh",
    "create_function",
    "ACTIVATIONS",
]


def _float_array(x: ArrayLike, name: str = "x") -> Array:
    return float_array(x, name)


# ---------------------------------------------------------------------------
# Private custom_jvp primitives
# ---------------------------------------------------------------------------


@jax.custom_jvp
def _relu(x):
    return jnp.maximum(x, jnp.zeros_like(x))


@_relu.defjvp
def _relu_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _relu(x), jnp.where(x >= 0, t, jnp.zeros_like(t))


@jax.custom_jvp
def _clip(x, lo, hi):
    return jnp.minimum(jnp.maximum(x, lo), hi)


@_clip.defjvp
def _clip_jvp(primals, tangents):
    x, lo, hi = primals
    tx, tlo, thi = tangents
    tlo = jnp.broadcast_to(tlo, x.shape).astype(tx.dtype)
    thi = jnp.broadcast_to(thi, x.shape).astype(tx.dtype)
    # Inside [lo, hi] (ends included, as ngc-learn's d_clip / d_relu6) the output is x.
    t = jnp.where(x < lo, tlo, jnp.where(x > hi, thi, tx))
    return _clip(x, lo, hi), t


@jax.custom_jvp
def _step_ste(x):
    """``H(x) = 1[x >= 0]`` with the straight-through derivative ``1``."""
    return (x >= 0).astype(x.dtype)


@_step_ste.defjvp
def _step_ste_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _step_ste(x), t


def _winners_gate(x: Array, winners: Array) -> Array:
    """``where(winners, x, 0)``: its derivative is the winners' mask."""
    return jnp.where(winners, x, jnp.zeros_like(x))


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _bkwta(x, n_wta):
    kth = jax.lax.top_k(x, n_wta)[0][..., -1:]
    return (x >= kth).astype(x.dtype)


@_bkwta.defjvp
def _bkwta_jvp(n_wta, primals, tangents):
    (x,), (t,) = primals, tangents
    mask = _bkwta(x, n_wta)
    # ngc-learn pairs bkwta with itself as "derivative": the winners pass the tangent.
    return mask, mask * t


def _group_masks(m: ArrayLike, n_units: int, name: str = "m") -> Array:
    groups = jnp.asarray(m)
    if groups.ndim == 1:
        groups = groups[None, :]
    if groups.ndim != 2 or groups.shape[-1] != n_units:
        raise ValueError(
            f"`{name}` must have shape (n_units,) or (n_groups, n_units) with "
            f"n_units={n_units}, got shape {tuple(jnp.shape(m))}."
        )
    return groups > 0


def _expand_groups(x: Array, members: Array) -> tuple[Array, Array]:
    """Return ``x`` as ``(..., 1, D)`` and group membership as ``(1..., G, D)``."""
    xg = x[..., None, :]
    mg = members.reshape((1,) * (x.ndim - 1) + members.shape)
    return xg, mg


def _lkwta_winners(x: Array, members: Array, n_wta: int) -> Array:
    xg, mg = _expand_groups(x, members)
    masked = jnp.where(mg, xg, -jnp.inf)  # (..., G, D)
    kth = jax.lax.top_k(masked, n_wta)[0][..., -1:]  # per-group k-th value
    return jnp.any(mg & (xg >= kth), axis=-2)


def _quantile_winners(x: Array, members: Array, n_wta: int) -> Array:
    n_units = x.shape[-1]
    xg, mg = _expand_groups(x, members)
    # Fill non-members with a value below every member (as ngc-learn does); the quantile
    # of the row then lands among the group's top values.
    floor = jnp.min(x, axis=-1, keepdims=True)[..., None] - 1.0
    filled = jnp.where(mg, xg, floor)
    q = (n_units - n_wta) / n_units
    thr = jnp.quantile(filled, q, axis=-1, method="linear", keepdims=True)
    return jnp.any(mg & (xg >= thr), axis=-2)


def _check_n_wta(n_wta: int, n_units: int) -> None:
    if not isinstance(n_wta, int) or isinstance(n_wta, bool):
        raise ValueError(f"`nWTA` must be a Python int, got {n_wta!r}.")
    if not 1 <= n_wta <= n_units:
        raise ValueError(
            f"`nWTA` must lie in [1, n_units={n_units}] (the size of x's last axis), got {n_wta}."
        )


def _clip_winners(y: Array, clipval: float) -> Array:
    check_value(clipval, "clipval")
    if clipval > 0.0:
        return _clip(y, -clipval, clipval)
    return y


# ---------------------------------------------------------------------------
# Smooth elementwise activations (derivatives from autodiff)
# ---------------------------------------------------------------------------


def identity(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""The identity, $f(x) = x$ (a copy of ``x`` as a JAX array)."""
    return _float_array(x) + 0


def lrelu(x: Float[ArrayLike, "*shape"], negative_slope: Scalar = 0.01) -> Float[Array, "*shape"]:
    r"""Leaky rectifier: $f(x) = x$ for $x \ge 0$, ``negative_slope`` $\cdot x$ otherwise.

    ngc-learn's default slope is 0.01 and its derivative at 0 is 1; both hold here.
    """
    x = _float_array(x)
    check_value(negative_slope, "negative_slope")
    return jnp.where(x >= 0, x, negative_slope * x)


def elu(x: Float[ArrayLike, "*shape"], alpha: Scalar = 1.0) -> Float[Array, "*shape"]:
    r"""Exponential linear unit: $x$ for $x \ge 0$, $\alpha (e^x - 1)$ otherwise.

    $f'(0) = 1$ as in ngc-learn. The negative branch uses ``expm1`` of ``min(x, 0)`` so
    large positive inputs never produce ``inf * 0`` in the gradient.
    """
    x = _float_array(x)
    check_value(alpha, "alpha")
    return jnp.where(x >= 0, x, alpha * jnp.expm1(jnp.minimum(x, 0)))


def sigmoid(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""The logistic sigmoid $\sigma(x) = 1 / (1 + e^{-x})$."""
    return jax.nn.sigmoid(_float_array(x))


def swish(x: Float[ArrayLike, "*shape"], beta: Scalar = 1.0) -> Float[Array, "*shape"]:
    r"""Swish (Ramachandran et al., 2017): $f(x) = x \, \sigma(\beta x)$.

    Its derivative (autodiff, and ``d_swish``) is
    $\sigma(\beta x) + \beta x \sigma(\beta x)(1 - \sigma(\beta x))$; ngc-learn's
    ``d_swish`` is wrong for $\beta \ne 1$ (see the module docstring).
    """
    x = _float_array(x)
    check_value(beta, "beta")
    return x * jax.nn.sigmoid(beta * x)


def silu(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""Sigmoid-weighted linear unit, $f(x) = x \sigma(x)$ (``swish`` with $\beta = 1$)."""
    return swish(x, 1.0)


def gelu(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""GELU in ngc-learn's fast approximation: $f(x) = x \sigma(1.702 x)$.

    This is the same approximation ngc-learn uses (not the exact erf form), so values
    match ngc-learn; the derivative is the true derivative of this approximation.
    """
    return swish(x, 1.702)


def telu(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""TeLU (Fernandez and Mali, 2024): $f(x) = x \tanh(e^x)$."""
    x = _float_array(x)
    return x * jnp.tanh(jnp.exp(x))


def softplus(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""Softplus $f(x) = \log(1 + e^x)$ (numerically stable); $f'(x) = \sigma(x)$."""
    return jax.nn.softplus(_float_array(x))


def tanh(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""Hyperbolic tangent."""
    return jnp.tanh(_float_array(x))


def sine(x: Float[ArrayLike, "*shape"], omega_0: Scalar = 30) -> Float[Array, "*shape"]:
    r"""SIREN-style sine, $f(x) = \sin(\omega_0 x)$, default $\omega_0 = 30$."""
    x = _float_array(x)
    check_value(omega_0, "omega_0")
    return jnp.sin(omega_0 * x)


def threshold_soft(x: Float[ArrayLike, "*shape"], lmbda: Scalar) -> Float[Array, "*shape"]:
    r"""Soft threshold (shrinkage), $S_\lambda(x) = \mathrm{sign}(x) \max(|x| - \lambda, 0)$.

    Written as $\max(x - \lambda, 0) - \max(-x - \lambda, 0)$ like ngc-learn, so values
    match; its derivative is $1[|x| > \lambda]$ (autodiff gives 1/2 exactly at the kinks).
    ``lmbda`` must be finite and >= 0.
    """
    x = _float_array(x)
    check_value(lmbda, "lmbda", ">= 0")
    zero = jnp.zeros_like(x)
    return jnp.maximum(x - lmbda, zero) - jnp.maximum(-x - lmbda, zero)


def threshold_cauchy(x: Float[ArrayLike, "*shape"], lmbda: Scalar) -> Float[Array, "*shape"]:
    r"""Cauchy thresholding (for sparse coding with a Cauchy prior).

    With $r = \sqrt{\max(x^2 - \lambda, 0)}$,

    $$f(x) = \tfrac12 (x + r)\,1[x \ge \lambda] + \tfrac12 (x - r)\,1[x \le -\lambda].$$

    ngc-learn's version passes one argument to ``jnp.maximum`` and so fails on every
    call; ngcx computes the intended formula. The square root is guarded so the
    gradient is finite everywhere (where $x^2 \le \lambda$ the root's branch contributes
    no gradient). ``lmbda`` must be finite and >= 0.
    """
    x = _float_array(x)
    check_value(lmbda, "lmbda", ">= 0")
    lmbda = jnp.asarray(lmbda, dtype=x.dtype)
    u = jnp.square(x) - lmbda
    positive = u > 0
    root = jnp.where(positive, jnp.sqrt(jnp.where(positive, u, jnp.ones_like(u))), 0.0)
    upper = 0.5 * (x + root) * (x >= lmbda).astype(x.dtype)
    lower = 0.5 * (x - root) * (x <= -lmbda).astype(x.dtype)
    return upper + lower


def inverse_logistic(
    x: Float[ArrayLike, "*shape"], clip_bound: float = 0.03
) -> Float[Array, "*shape"]:
    r"""The logit, $f(x) = \log(x / ((1 - x) + 10^{-6}))$, after clipping ``x`` to
    ``[clip_bound, 1 - clip_bound]`` when ``clip_bound > 0`` (ngc-learn's formula and
    default ``0.03``)."""
    if not 0.0 <= clip_bound < 0.5:
        raise ValueError(f"`clip_bound` must lie in [0, 0.5), got {clip_bound}.")
    x = _float_array(x)
    if clip_bound > 0.0:
        x = jnp.clip(x, clip_bound, 1.0 - clip_bound)
    return jnp.log(x / ((1.0 - x) + 1e-6))


def inverse_sigmoid(
    x: Float[ArrayLike, "*shape"], clip_bound: float = 0.03
) -> Float[Array, "*shape"]:
    """Alias of :func:`inverse_logistic` (ngc-learn's second name for it)."""
    return inverse_logistic(x, clip_bound=clip_bound)


def inverse_tanh(x: Float[ArrayLike, "*shape"], clip_bound: float = 0.0) -> Float[Array, "*shape"]:
    r"""The inverse hyperbolic tangent, $\operatorname{artanh}(x) = \tfrac12 \log\frac{1+x}{1-x}$.

    ``clip_bound > 0`` first clips ``x`` to ``[-1 + clip_bound, 1 - clip_bound]``.
    ngc-learn returns $\log\frac{1+x}{1-x}$, twice the inverse; ngcx returns the inverse.
    """
    if not 0.0 <= clip_bound < 1.0:
        raise ValueError(f"`clip_bound` must lie in [0, 1), got {clip_bound}.")
    x = _float_array(x)
    if clip_bound > 0.0:
        x = jnp.clip(x, -1.0 + clip_bound, 1.0 - clip_bound)
    return jnp.arctanh(x)


def softmax(x: Float[ArrayLike, "*batch n"], tau: Scalar = 0.0) -> Float[Array, "*batch n"]:
    r"""Softmax over the last axis with temperature: $p_i = e^{x_i/\tau} / \sum_j e^{x_j/\tau}$.

    ``tau > 0`` divides the logits by ``tau`` (``tau > 1`` softens, ``tau < 1`` sharpens);
    ``tau == 0`` (the default, as in ngc-learn) means no temperature. A negative or
    non-finite ``tau`` raises ``ValueError`` (or an ``EqxRuntimeError`` when ``tau`` is
    traced). The maximum
    is subtracted first for overflow safety. For a ``(B, D)`` input this is ngc-learn's
    row-wise softmax.
    """
    xa = _float_array(x)
    if xa.ndim == 0:
        raise ValueError("`x` must have at least one axis (the softmax axis).")
    tau_arr = jnp.asarray(tau)
    if tau_arr.ndim != 0:
        raise ValueError(f"`tau` must be a scalar, got shape {tau_arr.shape}.")
    concrete = concrete_float(tau)
    if concrete is None:
        xa = eqx.error_if(
            xa,
            ~jnp.isfinite(tau_arr) | (tau_arr < 0),
            "`tau` must be finite and >= 0 (0 disables the temperature).",
        )
    elif not (0 <= concrete < float("inf")):
        raise ValueError(
            f"`tau` must be finite and >= 0 (0 disables the temperature), got {concrete}."
        )
    positive = tau_arr > 0
    scale = jnp.where(positive, tau_arr, jnp.ones_like(tau_arr)).astype(xa.dtype)
    z = xa / scale
    z = z - jax.lax.stop_gradient(jnp.max(z, axis=-1, keepdims=True))
    e = jnp.exp(z)
    return e / jnp.sum(e, axis=-1, keepdims=True)


# ---------------------------------------------------------------------------
# Non-smooth activations (custom_jvp carries the derivative)
# ---------------------------------------------------------------------------


def relu(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""Rectifier $\max(0, x)$, carrying the derivative $1[x \ge 0]$ (so $f'(0) = 1$, as in
    ngc-learn; ``jax.nn.relu`` uses 0 there)."""
    return _relu(_float_array(x))


def clip(x: Float[ArrayLike, "*shape"], min_val: Scalar, max_val: Scalar) -> Float[Array, "*shape"]:
    r"""Clip to ``[min_val, max_val]``; derivative $1[\text{min} \le x \le \text{max}]$ with
    respect to ``x`` (ends included, as ngc-learn's ``d_clip``), and the complementary
    indicators with respect to the bounds. ``min_val <= max_val``, both finite (checked
    for Python/NumPy numbers)."""
    x = _float_array(x)
    check_value(min_val, "min_val")
    check_value(max_val, "max_val")
    lo_v, hi_v = host_values(min_val), host_values(max_val)
    if lo_v is not None and hi_v is not None and bool(np.any(lo_v > hi_v)):
        raise ValueError(f"`min_val` must be <= `max_val`, got {lo_v.tolist()} > {hi_v.tolist()}.")
    lo = jnp.asarray(min_val, dtype=x.dtype)
    hi = jnp.asarray(max_val, dtype=x.dtype)
    return _clip(x, lo, hi)


def relu6(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""Rectifier bounded at 6, $\min(\max(0, x), 6)$, carrying $1[0 \le x \le 6]$."""
    return clip(x, 0.0, 6.0)


def heaviside(x: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
    r"""Heaviside step $1[x \ge 0]$ with the straight-through derivative $1$."""
    return _step_ste(_float_array(x))


def threshold(x: Float[ArrayLike, "*shape"], thr: Scalar = 1.0) -> Float[Array, "*shape"]:
    r"""Threshold $1[x \ge \theta]$ (default $\theta = 1$, ngc-learn's "unit threshold"),
    with the straight-through derivative: $1$ with respect to ``x`` and $-1$ with respect
    to ``thr`` (it is ``heaviside(x - thr)``)."""
    x = _float_array(x)
    check_value(thr, "thr")
    return _step_ste(x - jnp.asarray(thr, dtype=x.dtype))


def bkwta(x: Float[ArrayLike, "*batch n"], nWTA: int = 5) -> Float[Array, "*batch n"]:
    r"""Binary k-winners-take-all over the last axis: $1$ for the ``nWTA`` largest entries
    of each row (ties with the k-th value also win), $0$ elsewhere.

    Carries the winners' mask as its derivative (ngc-learn's ``create_function("bkwta")``
    pairs the function with itself). ``nWTA`` must lie in ``[1, n]``.
    """
    x = _float_array(x)
    if x.ndim == 0:
        raise ValueError("`x` must have at least one axis.")
    _check_n_wta(nWTA, x.shape[-1])
    return _bkwta(x, nWTA)


def lkwta(
    x: Float[ArrayLike, "*batch n"],
    m: Float[ArrayLike, "*groups n"],
    nWTA: int = 1,
    clipval: float = -1.0,
) -> Float[Array, "*batch n"]:
    r"""Local (group) k-winners-take-all (Ororbia, Friston and Rao, 2025).

    ``m`` holds one binary membership row per group, shape ``(n,)`` (one group) or
    ``(n_groups, n)``. A unit wins if it is among the ``nWTA`` largest members of a group
    it belongs to (ties with the k-th value win). The output keeps the winners' values
    and zeroes the rest, $y = 1[\text{win}] \odot x$, then clips to
    ``[-clipval, clipval]`` when ``clipval > 0``. Its derivative is the winners' mask
    (times the clip's indicator).

    ngc-learn uses one threshold per row (the smallest of the groups' k-th values); ngcx
    selects winners per group, as the function is defined.
    """
    x = _float_array(x)
    if x.ndim == 0:
        raise ValueError("`x` must have at least one axis.")
    _check_n_wta(nWTA, x.shape[-1])
    members = _group_masks(m, x.shape[-1])
    winners = _lkwta_winners(jax.lax.stop_gradient(x), members, nWTA)
    return _clip_winners(_winners_gate(x, winners), clipval)


def kwta(
    x: Float[ArrayLike, "*batch n"], m: Float[ArrayLike, "*groups n"], nWTA: int = 1
) -> Float[Array, "*batch n"]:
    """k-winners-take-all over the groups in ``m``: :func:`lkwta` without clipping."""
    return lkwta(x, m, nWTA=nWTA)


def quantile_lkwta(
    x: Float[ArrayLike, "*batch n"],
    m: Float[ArrayLike, "*groups n"],
    nWTA: int = 20,
    clipval: float = -1.0,
) -> Float[Array, "*batch n"]:
    r"""Quantile-based local k-WTA.

    For each group the threshold is the $(n - k)/n$ quantile (linear interpolation) of
    the row with non-members pushed below every member, so about ``nWTA`` members pass.
    Output $y = 1[\text{win}] \odot x$, clipped to ``[-clipval, clipval]`` when
    ``clipval > 0``; derivative: the winners' mask.

    Differences from ngc-learn: non-members never win, a unit in several groups counts
    once, and ``clipval`` is applied (see the module docstring).
    """
    x = _float_array(x)
    if x.ndim == 0:
        raise ValueError("`x` must have at least one axis.")
    _check_n_wta(nWTA, x.shape[-1])
    members = _group_masks(m, x.shape[-1])
    winners = _quantile_winners(jax.lax.stop_gradient(x), members, nWTA)
    return _clip_winners(_winners_gate(x, winners), clipval)


# ---------------------------------------------------------------------------
# Derivatives (one source of truth: the functions' own jvp)
# ---------------------------------------------------------------------------


def derivative(fx: Callable[..., Array]) -> Callable[..., Array]:
    r"""Return ``dfx(x, *args, **kwargs)``: the jvp of ``fx`` at ``x`` along ``ones_like(x)``.

    For an elementwise ``fx`` (or one with a diagonal Jacobian, such as the k-WTA family)
    this is $f'(x)$ elementwise, computed by the same rule ``jax.grad`` uses.
    """

    @functools.wraps(fx)
    def dfx(x: ArrayLike, *args: Any, **kwargs: Any) -> Array:
        x = _float_array(x)
        _, tangent = jax.jvp(lambda u: fx(u, *args, **kwargs), (x,), (jnp.ones_like(x),))
        return tangent

    dfx.__name__ = f"d_{getattr(fx, '__name__', 'fx')}"
    dfx.__qualname__ = dfx.__name__
    dfx.__doc__ = (
        f"Derivative of ``{getattr(fx, '__name__', 'fx')}`` with respect to ``x`` "
        "(elementwise), from the function's own jvp."
    )
    return dfx


d_identity = derivative(identity)
d_relu = derivative(relu)
d_lrelu = derivative(lrelu)
d_relu6 = derivative(relu6)
d_elu = derivative(elu)
d_silu = derivative(silu)
d_swish = derivative(swish)
d_gelu = derivative(gelu)
d_telu = derivative(telu)
d_softplus = derivative(softplus)
d_sigmoid = derivative(sigmoid)
d_tanh = derivative(tanh)
d_sine = derivative(sine)
d_clip = derivative(clip)
d_heaviside = derivative(heaviside)
d_threshold = derivative(threshold)
d_bkwta = derivative(bkwta)
d_lkwta = derivative(lkwta)
d_kwta = derivative(kwta)
d_quantile_lkwta = derivative(quantile_lkwta)
d_threshold_soft = derivative(threshold_soft)
d_threshold_cauchy = derivative(threshold_cauchy)
d_inverse_logistic = derivative(inverse_logistic)
d_inverse_tanh = derivative(inverse_tanh)


def d_softmax(
    x: Float[ArrayLike, "*batch n"], tau: Scalar = 0.0, vmap_form: bool = False
) -> Float[Array, "*batch n n"]:
    r"""Jacobian of :func:`softmax` for each row: $J_{ij} = p_i(\delta_{ij} - p_j)/\tau$
    ($\tau$ replaced by 1 when ``tau == 0``), shape ``(..., n, n)``.

    ``vmap_form=False`` uses this closed form; ``vmap_form=True`` computes the Jacobian by
    ``jax.vmap(jax.jacfwd(softmax))`` over the rows. Both agree to rounding (tested).
    """
    x = _float_array(x)
    if x.ndim == 0:
        raise ValueError("`x` must have at least one axis.")
    if vmap_form:
        rows = x.reshape((-1, x.shape[-1]))
        jac = jax.vmap(jax.jacfwd(lambda r: softmax(r, tau)))(rows)
        return jac.reshape(x.shape + x.shape[-1:])
    p = softmax(x, tau)
    tau_arr = jnp.asarray(tau, dtype=x.dtype)
    scale = jnp.where(tau_arr > 0, tau_arr, jnp.ones_like(tau_arr))
    eye = jnp.eye(x.shape[-1], dtype=x.dtype).reshape((1,) * (x.ndim - 1) + (x.shape[-1],) * 2)
    jac = p[..., :, None] * (eye - p[..., None, :])
    return jac / scale


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

#: Every activation selectable by name in :func:`create_function`.
ACTIVATIONS: Mapping[str, Callable[..., Array]] = {
    "identity": identity,
    "relu": relu,
    "lrelu": lrelu,
    "relu6": relu6,
    "elu": elu,
    "silu": silu,
    "swish": swish,
    "gelu": gelu,
    "telu": telu,
    "softplus": softplus,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "sine": sine,
    "clip": clip,
    "heaviside": heaviside,
    "threshold": threshold,
    "unit_threshold": threshold,
    "bkwta": bkwta,
    "lkwta": lkwta,
    "kwta": kwta,
    "quantile_lkwta": quantile_lkwta,
    "softmax": softmax,
    "threshold_soft": threshold_soft,
    "threshold_cauchy": threshold_cauchy,
    "inverse_logistic": inverse_logistic,
    "inverse_sigmoid": inverse_sigmoid,
    "inverse_tanh": inverse_tanh,
}


def create_function(
    fun_name: str, args: Mapping[str, Any] | None = None
) -> tuple[Callable[..., Array], Callable[..., Array]]:
    """Return ``(fx, dfx)`` for the activation named ``fun_name``.

    **Arguments:**

    - `fun_name`: one of the keys of :data:`ACTIVATIONS` (ngc-learn's names, including
      ``"unit_threshold"``; as in ngc-learn, any name containing ``"heaviside"`` selects
      the Heaviside step).
    - `args`: optional keyword arguments bound into both functions, e.g.
      ``create_function("swish", {"beta": 2.0})``.

    **Returns:**

    ``fx`` and its derivative ``dfx``, derived from ``fx``'s own jvp. For ``"softmax"``,
    ``dfx`` is :func:`d_softmax`, the full Jacobian.

    Raises ``ValueError`` for an unknown name.
    """
    if not isinstance(fun_name, str):
        raise ValueError(f"`fun_name` must be a string, got {type(fun_name).__name__}.")
    name = "heaviside" if "heaviside" in fun_name else fun_name
    if name not in ACTIVATIONS:
        known = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"`fun_name`: unknown activation {fun_name!r}; known: {known}.")
    fx = ACTIVATIONS[name]
    dfx: Callable[..., Array] = d_softmax if name == "softmax" else derivative(fx)
    if args:
        fx = functools.partial(fx, **dict(args))
        dfx = functools.partial(dfx, **dict(args))
    return fx, dfx
