r"""Learning options as optax transforms.

A local rule (:mod:`ngcx.plasticity`) returns an update $\Delta W$ shaped like the synapse,
in the direction the weights should move. The transforms below turn it into an optax step,
each a small ``init``/``update`` pair (``optax.GradientTransformation``) that composes with
``optax.chain`` and with any optax optimiser:

- :func:`scale_by_soft_bound`: $u \leftarrow u \odot (w_{\max} - \lvert W\rvert)$
  (ngc-learn's dense Hebbian soft bound);
- :func:`scale_by_sign`: $g \leftarrow -s\,u$, a rule's update becomes optax's descent
  direction;
- :func:`add_decay`: $g \leftarrow g + \lambda_{wd} W$;
- :func:`add_prior`: $g \leftarrow g + \lambda\,\rho'(W)$ ($\rho$: l1, l2 or the elastic
  net);
- :func:`add_leak`: step $\leftarrow$ step $- W/\tau_w$ (after the optimiser);
- :func:`clip_weights`: projection, $W + u \in [\text{low}, \text{high}]$;
- :func:`keep_nonnegative`: projection, $W + u \ge 0$;
- :func:`mask_weights`: projection, masked connections stay 0;
- :func:`normalize_weights`: projection, $\lVert (W + u)_{:, j}\rVert_1 = c$ per column.

Decay, priors, leaks and projections act on fields named ``weights`` only (never biases).
Projections need the parameters, come last in a chain and return
$\Pi(W + u) - W$, so the applied step lands on the projection (to rounding).

:func:`hebbian` and :func:`stdp` build the usual chains. Every numeric argument may be a
JAX array, traced included: ``jax.vmap(lambda eta: train(..., hebbian(eta)))(etas)``
compiles once. A term is left out only for a concrete zero (a traced value keeps it).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import optax

from .._params import is_concrete, is_static_zero, param


__all__ = [
    "weights_mask",
    "scale_by_soft_bound",
    "scale_by_sign",
    "add_decay",
    "add_prior",
    "add_leak",
    "clip_weights",
    "keep_nonnegative",
    "mask_weights",
    "normalize_weights",
    "hebbian",
    "stdp",
    "OptimizerName",
    "PriorName",
]

OptimizerName = Literal["sgd", "adam", "nag"]
PriorName = Literal["none", "l1", "l2", "l1l2"]

PRIOR_ALIASES = {
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


def weights_mask(params: Any) -> Any:
    """``True`` for leaves stored in a field called ``weights``, ``False`` elsewhere (the
    mask that keeps decay, priors, leaks and projections off biases)."""

    def is_weight(path, _leaf):
        last = path[-1] if path else None
        return isinstance(last, jax.tree_util.GetAttrKey) and last.name == "weights"

    return jax.tree_util.tree_map_with_path(is_weight, params)


def _on_weights(fn: Callable[[Any, Any], Any], updates: Any, params: Any, name: str) -> Any:
    """``fn(u, W)`` on the ``weights`` leaves, the update unchanged elsewhere."""
    if params is None:
        raise ValueError(f"`{name}` needs `params` in `update`.")
    mask = weights_mask(params)
    return jax.tree_util.tree_map(lambda u, w, m: fn(u, w) if m else u, updates, params, mask)


def _stateless(fn: Callable[[Any, Any], Any], name: str) -> optax.GradientTransformation:
    def init_fn(params: Any) -> optax.EmptyState:
        del params
        return optax.EmptyState()

    def update_fn(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        return _on_weights(fn, updates, params, name), state

    return optax.GradientTransformation(init_fn, update_fn)


def scale_by_soft_bound(w_bound: Any) -> optax.GradientTransformation:
    r"""$u \leftarrow u \odot (w_{\max} - \lvert W\rvert)$ on the weights (ngc-learn's soft
    bound of the dense Hebbian rule; place it first). `w_bound` $\ge 0$; 0 (also traced)
    leaves the update unchanged."""
    w_max = param(w_bound, "w_bound", "nonnegative")
    return _stateless(
        lambda u, w: jnp.where(w_max > 0, u * (w_max - jnp.abs(w)), u), "scale_by_soft_bound"
    )


def scale_by_sign(sign: Any = 1.0) -> optax.GradientTransformation:
    r"""$g \leftarrow -s\,u$ on every leaf: a rule's update (the direction the weights
    should move) becomes optax's descent direction, so a descending optimiser then moves
    the weights by $+\eta\,s\,\Delta W$. ``sign`` $s = 1$ follows the rule, $-1$ opposes
    it (ngc-learn's ``sign_value`` is $-s$: its optimisers descend along
    ``sign_value * dW``)."""
    s = param(sign, "sign")
    if is_concrete(s) and float(s) == 0.0:
        raise ValueError("`sign` must be non-zero, got 0.0.")
    return optax.scale(-s)


def add_decay(w_decay: Any) -> optax.GradientTransformation:
    r"""$g \leftarrow g + \lambda_{wd} W$ on the weights (`w_decay` $\lambda_{wd} \ge 0$):
    with a descending optimiser, a pull towards zero."""
    lam = param(w_decay, "w_decay", "nonnegative")
    return optax.add_decayed_weights(lam, mask=weights_mask)


def add_prior(kind: str, lmbda: Any, l1_ratio: Any = 0.5) -> optax.GradientTransformation:
    r"""Add the gradient of a prior on the weights to $g$ (always a pull towards zero):

    - ``"l2"`` (``"ridge"``): $\lambda W$;
    - ``"l1"`` (``"lasso"``): $\lambda\,\mathrm{sign}(W)$;
    - ``"l1l2"`` (``"elastic_net"``): $\lambda\big(r\,\mathrm{sign}(W) + \tfrac{1 - r}{2}
      W\big)$ with `l1_ratio` $r \in [0, 1]$.

    `lmbda` $\ge 0$. ``"none"`` gives the identity.
    """
    name = PRIOR_ALIASES.get(kind)
    if name is None:
        raise ValueError(
            "`prior` must be 'none', 'l1'/'lasso', 'l2'/'ridge' or 'l1l2'/'elastic_net', "
            f"got {kind!r}."
        )
    lam = param(lmbda, "prior lmbda", "nonnegative")
    r = param(l1_ratio, "prior l1_ratio", "unit")
    if name == "none":
        return optax.identity()
    if name == "l2":
        return _stateless(lambda g, w: g + lam * w, "add_prior")
    if name == "l1":
        return _stateless(lambda g, w: g + lam * jnp.sign(w), "add_prior")
    return _stateless(lambda g, w: g + lam * (r * jnp.sign(w) + (1.0 - r) / 2.0 * w), "add_prior")


def add_leak(tau_w: Any) -> optax.GradientTransformation:
    r"""Step $\leftarrow$ step $- W/\tau_w$ on the weights, independent of the learning
    rate (place it after the optimiser; ngc-learn's STDP weight decay). `tau_w` $\ge 0$
    in steps; 0 means no leak (also for a traced value)."""
    tau = param(tau_w, "tau_w", "nonnegative")
    rate = jnp.where(tau > 0, 1.0 / jnp.where(tau > 0, tau, 1.0), 0.0)
    return _stateless(lambda u, w: u - rate * w, "add_leak")


#: projections known by their ``update`` function: ``update -> (update before the
#: projections, projection of a params tree)``; :func:`ngcx.plasticity.apply_updates` uses
#: it to land exactly on $\Pi(W + u)$ in one pass (plain optax use goes through
#: ``update``, which returns $\Pi(W + u) - W$: the same weights to rounding).
_PROJECTED: weakref.WeakKeyDictionary[
    Callable[..., Any], tuple[Callable[..., Any], Callable[[Any], Any]]
] = weakref.WeakKeyDictionary()


def _project_tree(fn: Callable[[Any], Any], params: Any) -> Any:
    mask = weights_mask(params)
    return jax.tree_util.tree_map(lambda w, m: fn(w) if m else w, params, mask)


def _projected(
    core: optax.GradientTransformation, projection: Callable[[Any], Any], name: str
) -> optax.GradientTransformation:
    r"""`core`, then the projection $\Pi$ of the weights: $u \leftarrow \Pi(W + u) - W$."""

    def update_fn(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        updates, state = core.update(updates, state, params)
        if params is None:
            raise ValueError(f"`{name}` needs `params` in `update`.")
        moved = optax.apply_updates(params, updates)
        return jax.tree_util.tree_map(
            lambda new, old: new - old, _project_tree(projection, moved), params
        ), state

    _PROJECTED[update_fn] = (core.update, lambda params: _project_tree(projection, params))
    return optax.GradientTransformation(core.init, update_fn)


def _project(fn: Callable[[Any], Any], name: str) -> optax.GradientTransformation:
    r"""A projection $\Pi$ on the weights as a transform: $u \leftarrow \Pi(W + u) - W$."""
    return _projected(optax.identity(), fn, name)


def projection_of(
    transform: optax.GradientTransformation,
) -> tuple[Callable[..., Any], Callable[[Any], Any]] | None:
    """``(update before the projections, projection)`` of a chain built by :func:`hebbian`,
    :func:`stdp` or a projection transform; ``None`` for any other transformation."""
    return _PROJECTED.get(transform.update)


def _clipper(low: Any, high: Any) -> Callable[[Any], Any]:
    lo = None if low is None else param(low, "low")
    hi = None if high is None else param(high, "high")
    if lo is not None and hi is not None and is_concrete((lo, hi)) and float(lo) > float(hi):
        raise ValueError(f"`low` ({float(lo)}) must not exceed `high` ({float(hi)}).")
    return lambda w: jnp.clip(w, lo, hi)


def clip_weights(low: Any = None, high: Any = None) -> optax.GradientTransformation:
    """Projection: the new weights are clipped to ``[low, high]`` (``None``: open side)."""
    return _project(_clipper(low, high), "clip_weights")


def keep_nonnegative() -> optax.GradientTransformation:
    """Projection: the new weights are clipped at 0 from below."""
    return _project(lambda w: jnp.maximum(w, 0.0), "keep_nonnegative")


def mask_weights(mask: Any) -> optax.GradientTransformation:
    """Projection: the new weights are 0 where `mask` (weight-shaped, boolean or 0/1) is
    false, so absent connections stay absent."""
    return _project(_masker(mask), "mask_weights")


def _masker(mask: Any) -> Callable[[Any], Any]:
    m = jnp.asarray(mask).astype(bool)
    return lambda w: jnp.where(m, w, jnp.zeros_like(w))


def normalize_weights(
    target: Any = 1.0, axis: int | tuple[int, ...] = 0, order: int = 1, eps: float = 1e-12
) -> optax.GradientTransformation:
    r"""Projection: the new weights are rescaled so that their L1 (`order` 1) or L2
    (`order` 2) norm over `axis` is `target`,
    $W \leftarrow c\,W / \max(\lVert W\rVert_{\text{axis}}, \epsilon)$: Diehl & Cook's
    column normalisation is ``(target, axis=0, order=1)``; unit-norm convolutional
    features (HWIO filters, one norm per input feature) are ``(1, axis=(0, 1, 3),
    order=2)``."""
    return _project(_normalizer(target, axis, order, eps), "normalize_weights")


def _normalizer(
    target: Any, axis: int | tuple[int, ...], order: int, eps: float = 1e-12
) -> Callable[[Any], Any]:
    c = param(target, "target", "positive")
    if order not in (1, 2):
        raise ValueError(f"`order` must be 1 or 2, got {order!r}.")

    def norm(w):
        if order == 1:
            size = jnp.sum(jnp.abs(w), axis=axis, keepdims=True)
        else:
            size = jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))
        return c * w / jnp.maximum(size, eps)

    return norm


def _optimizer(
    name: str | optax.GradientTransformation,
    eta: Any,
    momentum: Any,
    b1: Any,
    b2: Any,
    eps: Any,
) -> optax.GradientTransformation:
    # every option is checked, also one the chosen optimiser does not use (a bad value
    # is a mistake whatever the optimiser; the defaults are valid)
    mu = param(momentum, "momentum", "unit_half_open")
    beta1 = param(b1, "b1", "unit_half_open")
    beta2 = param(b2, "b2", "unit_half_open")
    epsilon = param(eps, "eps", "positive")
    if isinstance(name, optax.GradientTransformation):
        if eta is not None:
            raise ValueError("pass `eta` or an optax `optimizer` object, not both.")
        return name
    if eta is None:
        raise ValueError("`eta` is required with a named `optimizer`.")
    lr = param(eta, "eta", "nonnegative")
    if name == "sgd":
        return optax.sgd(lr)
    if name == "adam":
        return optax.adam(lr, b1=beta1, b2=beta2, eps=epsilon)
    if name == "nag":
        return optax.sgd(lr, momentum=mu, nesterov=True)
    raise ValueError(
        "`optimizer` (ngc-learn's `optim_type`) must be 'sgd', 'adam', 'nag' or an optax "
        f"transformation, got {name!r}."
    )


def hebbian(
    eta: Any = None,
    optimizer: str | optax.GradientTransformation = "sgd",
    *,
    sign: Any = 1.0,
    w_decay: Any = 0.0,
    prior: str | None = None,
    prior_lmbda: Any = 0.0,
    prior_l1_ratio: Any = 0.5,
    w_bound: Any = 0.0,
    soft_bound: bool = False,
    nonnegative: bool = False,
    clip: tuple[Any, Any] | None = None,
    mask: Any = None,
    tau_w: Any = 0.0,
    normalize: Any = None,
    normalize_axis: int | tuple[int, ...] = 0,
    normalize_order: int = 1,
    momentum: Any = 0.9,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
) -> optax.GradientTransformation:
    r"""The optax chain that applies a local rule's update $\Delta W$:

    1. :func:`scale_by_soft_bound` (`soft_bound` with `w_bound` $> 0$);
    2. :func:`scale_by_sign`: $g = -s\,\Delta W$;
    3. :func:`add_decay` (`w_decay`) and :func:`add_prior` (`prior`, `prior_lmbda`,
       `prior_l1_ratio`);
    4. the optimiser: ``"sgd"``, ``"adam"`` (`b1`, `b2`, `eps`), ``"nag"`` (Nesterov,
       `momentum`) at learning rate `eta`, or any optax transformation (then no `eta`);
    5. :func:`add_leak` (`tau_w` $> 0$);
    6. projections: :func:`clip_weights` to `clip` ``(low, high)`` or, with `w_bound`
       $> 0$, to $[-w_{\max}, w_{\max}]$ ($[0, w_{\max}]$ with `nonnegative`);
       :func:`keep_nonnegative`; :func:`mask_weights` (`mask`);
       :func:`normalize_weights` (`normalize`: the norm, over `normalize_axis`, of order
       `normalize_order`; default a column L1 norm).

    With sgd: $W \leftarrow \Pi\big(W + \eta(s\,\Delta W - \lambda_{wd} W - \lambda
    \rho'(W)) - W/\tau_w\big)$. Every numeric argument may be a (traced) array; zeros
    given as concrete values leave their term out.

    Domains (a concrete value outside its domain is a ``ValueError`` naming the argument,
    whichever optimiser is chosen): `eta` finite and $\ge 0$ (0: no learning);
    `momentum`, `b1`, `b2` in $[0, 1)$; `eps` $> 0$; `w_decay`, `prior_lmbda`,
    `w_bound`, `tau_w` $\ge 0$; `prior_l1_ratio` in $[0, 1]$; `sign` non-zero. An
    unknown `optimizer` name lists the valid ones.
    """
    parts: list[optax.GradientTransformation] = []
    # which terms exist is decided on the arguments as given: a Python 0 leaves its term
    # out whether or not this runs under a trace (so a chain built inside ``jit`` has the
    # same structure, and optimiser state, as one built outside)
    no_bound = is_static_zero(w_bound)
    w_bound = param(w_bound, "w_bound", "nonnegative")
    if soft_bound and not no_bound:
        parts.append(scale_by_soft_bound(w_bound))
    parts.append(scale_by_sign(sign))
    if not is_static_zero(w_decay):
        parts.append(add_decay(w_decay))
    prior_name = PRIOR_ALIASES.get(prior)
    if prior_name is None:
        raise ValueError(
            "`prior` must be None, 'l1'/'lasso', 'l2'/'ridge' or 'l1l2'/'elastic_net', "
            f"got {prior!r}."
        )
    if prior_name != "none" and not is_static_zero(prior_lmbda):
        parts.append(add_prior(prior_name, prior_lmbda, prior_l1_ratio))
    parts.append(_optimizer(optimizer, eta, momentum, b1, b2, eps))
    if not is_static_zero(tau_w):
        parts.append(add_leak(tau_w))
    projections: list[Callable[[Any], Any]] = []
    if clip is not None:
        projections.append(_clipper(*clip))
    elif not no_bound:
        # a traced w_bound of 0 means "no bound": clip to +inf there
        big = jnp.where(w_bound > 0, w_bound, jnp.inf)
        if nonnegative:
            projections.append(_clipper(0.0, big))
        else:
            projections.append(lambda w: jnp.clip(w, -big, big))
    if nonnegative and (clip is not None or no_bound):
        projections.append(lambda w: jnp.maximum(w, 0.0))
    if mask is not None:
        projections.append(_masker(mask))
    if normalize is not None:
        projections.append(_normalizer(normalize, normalize_axis, normalize_order))
    core = optax.chain(*parts)
    if not projections:
        return core

    def project(w: Any) -> Any:
        for fn in projections:
            w = fn(w)
        return w

    return _projected(core, project, "hebbian")


def stdp(
    eta: Any = 1.0,
    optimizer: str | optax.GradientTransformation = "sgd",
    *,
    w_bound: Any = 1.0,
    w_eps: Any = 0.0,
    tau_w: Any = 0.0,
    mask: Any = None,
    normalize: Any = None,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
) -> optax.GradientTransformation:
    r"""The chain of ngc-learn's STDP synapses: the rule's update is *added*,
    $W \leftarrow \Pi\big(W + \eta\,\Delta W - W/\tau_w\big)$, with $\Pi$ the clip to
    $[w_\epsilon, w_{\max} - w_\epsilon]$ (`w_bound` $w_{\max} > 0$; 0 for no clip), the
    connectivity `mask` and optionally a column normalisation. :func:`hebbian` with
    ``sign=1`` and these projections."""
    wb = param(w_bound, "w_bound", "nonnegative")
    we = param(w_eps, "w_eps", "nonnegative")
    clip = None
    if not is_static_zero(wb):
        if is_concrete((wb, we)) and not 2 * float(we) < float(wb):
            raise ValueError(
                f"`w_eps` ({float(we)}) must be below half of `w_bound` ({float(wb)})."
            )
        clip = (we, wb - we)
    return hebbian(
        eta,
        optimizer,
        sign=1.0,
        tau_w=tau_w,
        clip=clip,
        mask=mask,
        normalize=normalize,
        b1=b1,
        b2=b2,
        eps=eps,
    )
