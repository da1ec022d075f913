r"""ngc-learn's plastic synapses as thin builders over the new pieces.

In ngc-learn a synapse carries its rule and its optimiser options. In ngcx those are three
separate things: a synapse (a map, :mod:`ngcx.synapses`), a rule
(:class:`~ngcx.plasticity.Hebbian`, :class:`~ngcx.plasticity.TraceSTDP`, ...) and an optax
chain (:func:`~ngcx.plasticity.hebbian`, :func:`~ngcx.plasticity.stdp`). So that ported
code reads the same, ``HebbianSynapse(shape, eta=..., optim_type=...)`` and the other
ngc-learn names build a :class:`PlasticSynapse` bundling the three: it transmits like its
synapse, ``updates(...)`` (alias ``hebbian_updates`` / ``stdp_updates``) runs the rule,
and ``optimizer()`` builds the chain from :class:`LearningOptions` (array leaves, so a
bundle can be ``vmap``-ped over its learning rate too).

The mapping (ngc-learn name: ngcx pieces):

- ``HebbianSynapse(shape, eta, ..., sign_value=v)``: ``DenseSynapse`` +
  ``Hebbian(pre_wght, post_wght)`` + ``hebbian(eta, optim_type, sign=-v, soft_bound=True)``;
- ``HebbianConvSynapse`` / ``HebbianDeconvSynapse``: ``ConvSynapse`` / ``DeconvSynapse`` +
  ``Hebbian`` + ``hebbian(...)`` (no soft bound);
- ``TraceSTDPSynapse(shape, A_plus, A_minus, eta, mu, ...)``: ``DenseSynapse`` +
  ``TraceSTDP(...)`` + ``stdp(eta, w_bound, w_eps, tau_w, mask)``;
- ``ExpSTDPSynapse``, ``EventSTDPSynapse``, ``MSTDPETSynapse``: ``DenseSynapse`` +
  ``ExpSTDP`` / ``EventSTDP`` / ``MSTDPET`` + ``stdp(...)``;
- ``TraceSTDPConvSynapse`` / ``TraceSTDPDeconvSynapse``: ``ConvSynapse`` /
  ``DeconvSynapse`` + ``TraceSTDP`` + ``stdp(...)`` (clip to $[0, w_{\max}]$).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float

from .._custom_types import Key
from .._params import is_static_zero, optional_param, param
from ..conv import Padding
from ..initializers import DistributionGenerator, Initializer
from ..synapses import (
    AbstractSynapse,
    ConvSynapse,
    DeconvSynapse,
    DenseSynapse,
    connectivity_mask,
)
from ._rules import MSTDPET, AbstractRule, EventSTDP, ExpSTDP, Hebbian, TraceSTDP
from ._transforms import PRIOR_ALIASES, hebbian


__all__ = [
    "LearningOptions",
    "PlasticSynapse",
    "parse_prior",
    "HebbianSynapse",
    "HebbianConvSynapse",
    "HebbianDeconvSynapse",
    "TraceSTDPSynapse",
    "ExpSTDPSynapse",
    "EventSTDPSynapse",
    "MSTDPETSynapse",
    "TraceSTDPConvSynapse",
    "TraceSTDPDeconvSynapse",
    "hebbian_rule",
    "conv_hebbian_rule",
    "trace_stdp_rule",
    "conv_trace_stdp_rule",
    "exp_stdp_rule",
    "event_stdp_rule",
]

#: ``(name, lmbda)``; for the elastic net lmbda may be ``(scale, l1_ratio)``.
PriorSpec = tuple[str, Any] | None


def parse_prior(prior: PriorSpec) -> tuple[str, Any, Any]:
    """ngc-learn's ``(name, lmbda)`` -> ``(canonical name, scale, l1_ratio)``.

    Names: ``"constant"``/``"none"``/``None`` (no prior), ``"l1"``/``"lasso"``,
    ``"l2"``/``"ridge"``, ``"l1l2"``/``"elastic_net"`` (lmbda ``(scale, l1_ratio)``, or a
    scale with ratio 0.5).
    """
    if prior is None:
        return "none", 0.0, 0.5
    name, lmbda = prior
    canonical = PRIOR_ALIASES.get(name)
    if canonical is None:
        raise ValueError(
            "`prior` name must be one of 'constant', 'l1'/'lasso', 'l2'/'ridge', "
            f"'l1l2'/'elastic_net', got {name!r}."
        )
    if canonical == "l1l2" and isinstance(lmbda, tuple | list):
        scale, ratio = lmbda
    else:
        scale, ratio = lmbda, 0.5
    param(scale, "prior lmbda", "nonnegative")
    param(ratio, "prior l1_ratio", "unit")
    return canonical, scale, ratio


def _unless_zero(value: Any, name: str) -> Array | None:
    """A non-negative option as a leaf, or ``None`` for a concrete 0 (term left out)."""
    return None if is_static_zero(value) else param(value, name, "nonnegative")


class LearningOptions(eqx.Module):
    """The optimiser options of an ngc-learn synapse, as array leaves (static: the
    optimiser's and the prior's names, and the flags). :meth:`transform` builds the optax
    chain with :func:`ngcx.plasticity.hebbian`; see it for every field's meaning."""

    eta: Float[Array, ""]
    sign: Float[Array, ""]
    w_decay: Float[Array, ""] | None
    prior_lmbda: Float[Array, ""] | None
    prior_l1_ratio: Float[Array, ""]
    w_bound: Float[Array, ""] | None
    tau_w: Float[Array, ""] | None
    momentum: Float[Array, ""]
    clip_low: Float[Array, ""] | None
    clip_high: Float[Array, ""] | None
    mask: Array | None
    optimizer: str = eqx.field(static=True)
    prior: str = eqx.field(static=True)
    soft_bound: bool = eqx.field(static=True)
    nonnegative: bool = eqx.field(static=True)

    def __init__(
        self,
        eta: Any,
        optimizer: str = "sgd",
        *,
        sign: Any = 1.0,
        w_decay: Any = 0.0,
        prior: PriorSpec = None,
        w_bound: Any = 0.0,
        soft_bound: bool = False,
        nonnegative: bool = False,
        clip: tuple[Any, Any] | None = None,
        mask: ArrayLike | None = None,
        tau_w: Any = 0.0,
        momentum: Any = 0.9,
        optimizers: Sequence[str] = ("sgd", "adam", "nag"),
    ):
        """**Arguments:** as :func:`ngcx.plasticity.hebbian`; `prior` in ngc-learn's
        ``(name, lmbda)`` form; `optimizers` the names allowed for this synapse."""
        if optimizer not in optimizers:
            raise ValueError(
                f"`optim_type` must be one of {', '.join(map(repr, optimizers))}, "
                f"got {optimizer!r}."
            )
        prior_name, lmbda, ratio = parse_prior(prior)
        self.eta = param(eta, "eta", "nonnegative")
        self.sign = param(sign, "sign_value")
        if is_static_zero(sign):
            raise ValueError("`sign_value` must be non-zero (it sets the direction), got 0.0.")
        self.w_decay = _unless_zero(w_decay, "w_decay")
        self.prior_lmbda = _unless_zero(lmbda, "prior lmbda")
        self.prior_l1_ratio = param(ratio, "prior l1_ratio", "unit")
        self.w_bound = _unless_zero(w_bound, "w_bound")
        self.tau_w = _unless_zero(tau_w, "tau_w")
        self.momentum = param(momentum, "momentum", "unit_half_open")
        self.clip_low = None if clip is None else optional_param(clip[0], "w_eps")
        self.clip_high = None if clip is None else optional_param(clip[1], "w_bound")
        self.mask = None if mask is None else jnp.asarray(mask).astype(bool)
        self.optimizer = optimizer
        self.prior = prior_name
        self.soft_bound = bool(soft_bound)
        self.nonnegative = bool(nonnegative)

    def transform(self) -> optax.GradientTransformation:
        """The optax chain (:func:`ngcx.plasticity.hebbian`) of these options."""
        clip = None if self.clip_low is None else (self.clip_low, self.clip_high)

        def zero_if_none(x: Array | None) -> Any:
            return 0.0 if x is None else x

        return hebbian(
            self.eta,
            self.optimizer,
            sign=self.sign,
            w_decay=zero_if_none(self.w_decay),
            prior=self.prior,
            prior_lmbda=zero_if_none(self.prior_lmbda),
            prior_l1_ratio=self.prior_l1_ratio,
            w_bound=zero_if_none(self.w_bound),
            soft_bound=self.soft_bound,
            nonnegative=self.nonnegative,
            clip=clip,
            mask=self.mask,
            tau_w=zero_if_none(self.tau_w),
            momentum=self.momentum,
        )


class PlasticSynapse(eqx.Module):
    """A synapse bundled with its rule and learning options (what ngc-learn's plastic
    synapses are). It transmits like ``synapse``; ``updates(*activity)`` returns the rule's
    update shaped like the bundle (only the synapse's weights and biases are read by
    :func:`ngcx.plasticity.apply_updates`); ``optimizer()`` builds the optax chain.

    **Fields:** ``synapse`` (an :class:`ngcx.synapses.AbstractSynapse`), ``rule`` (an
    :class:`ngcx.plasticity.AbstractRule`), ``options`` (:class:`LearningOptions`).
    """

    synapse: AbstractSynapse
    rule: AbstractRule
    options: LearningOptions

    # -- the map ------------------------------------------------------------------
    def __call__(self, x: Any) -> Any:
        """Transmit `x` through the synapse."""
        return self.synapse(x)

    def backtransmit(self, post: Any, *args: Any) -> Any:
        """The synapse's transpose map."""
        return self.synapse.backtransmit(post, *args)

    @property
    def weights(self) -> Any:
        return self.synapse.weights

    @property
    def biases(self) -> Any:
        return self.synapse.biases

    @property
    def filters(self) -> Any:
        """The weights (ngc-learn's name for convolutional synapses)."""
        return self.synapse.weights

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.synapse.weights.shape)

    @property
    def resist_scale(self) -> Any:
        return self.synapse.resist_scale

    @property
    def eta(self) -> Any:
        return self.options.eta

    @property
    def weight_mask(self) -> Any:
        """The fixed connectivity mask (``None``: all connected)."""
        return self.options.mask

    # -- learning -----------------------------------------------------------------
    def updates(self, *activity: Any) -> PlasticSynapse:
        """The rule's update for `activity`, shaped like this bundle."""
        upd = self.rule(self.synapse, *activity)
        return eqx.tree_at(lambda p: p.synapse, self, upd)

    def hebbian_updates(self, pre: Any, post: Any) -> PlasticSynapse:
        """:meth:`updates` (ngc-learn's Hebbian name)."""
        return self.updates(pre, post)

    def stdp_updates(self, *activity: Any) -> PlasticSynapse:
        """:meth:`updates` (the STDP name)."""
        return self.updates(*activity)

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of :attr:`options`."""
        return self.options.transform()

    def _mstdpet(self) -> MSTDPET:
        if not isinstance(self.rule, MSTDPET):
            raise TypeError(f"this synapse's rule is {type(self.rule).__name__}, not MSTDPET.")
        return self.rule

    def init_eligibility(self) -> Array:
        """A zero eligibility trace (MSTDP-ET synapses)."""
        return self._mstdpet().init_eligibility(self.synapse)

    def eligibility_step(self, eligibility: Array, *activity: Any, dt: Any = 1.0) -> Array:
        """Advance the eligibility trace (:meth:`ngcx.plasticity.MSTDPET.eligibility_step`)."""
        return self._mstdpet().eligibility_step(self.synapse, eligibility, *activity, dt=dt)

    def modulated_updates(
        self, eligibility: Array, modulator: Any, out_mask: Any = None
    ) -> PlasticSynapse:
        """Reward-modulated updates shaped like this bundle
        (:meth:`ngcx.plasticity.MSTDPET.modulated_updates`)."""
        upd = self._mstdpet().modulated_updates(self.synapse, eligibility, modulator, out_mask)
        return eqx.tree_at(lambda p: p.synapse, self, upd)


# -- ngc-learn's constructors -------------------------------------------------------


def HebbianSynapse(
    shape: tuple[int, int],
    *,
    key: Key,
    eta: Any = 0.0,
    weight_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    w_bound: Any = 1.0,
    is_nonnegative: bool = False,
    w_decay: Any = 0.0,
    sign_value: Any = 1.0,
    optim_type: str = "sgd",
    pre_wght: Any = 1.0,
    post_wght: Any = 1.0,
    prior: PriorSpec = None,
    resist_scale: Any = 1.0,
    use_bias: bool = False,
    momentum: Any = 0.9,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``HebbianSynapse`` (its names and 3.2 defaults): a
    :class:`~ngcx.synapses.DenseSynapse`, the :class:`~ngcx.plasticity.Hebbian` rule
    (`pre_wght`, `post_wght`) and the chain of :func:`~ngcx.plasticity.hebbian` with
    ``sign = -sign_value`` (ngc-learn's optimisers descend along ``sign_value * dW``; pass
    ``sign_value=-1``, as ngc-museum does, to ascend the Hebbian direction), the soft bound
    $\odot(w_{\max} - \lvert W\rvert)$ and the clip to $[-w_{\max}, w_{\max}]$ when
    ``w_bound > 0`` ($[0, w_{\max}]$ with `is_nonnegative`), weight decay and the prior
    ``(name, lmbda)`` with sgd, adam or Nesterov momentum (``"nag"``) at rate `eta`.
    """
    syn = DenseSynapse(
        shape,
        key=key,
        weight_init=weight_init,
        bias_init=bias_init,
        resist_scale=resist_scale,
        use_bias=use_bias,
        dtype=dtype,
    )
    options = LearningOptions(
        eta,
        optim_type,
        sign=-param(sign_value, "sign_value"),
        w_decay=w_decay,
        prior=prior,
        w_bound=w_bound,
        soft_bound=True,
        nonnegative=is_nonnegative,
        momentum=momentum,
    )
    return PlasticSynapse(syn, Hebbian(pre_wght, post_wght), options)


def _hebbian_conv(
    cls: type[ConvSynapse] | type[DeconvSynapse],
    shape: Sequence[int],
    x_shape: Sequence[int] | None,
    *,
    key: Key,
    eta: Any,
    filter_init: Initializer | None,
    bias_init: Initializer | None,
    use_bias: bool,
    stride: int | Sequence[int],
    padding: Padding,
    resist_scale: Any,
    w_bound: Any,
    is_nonnegative: bool,
    w_decay: Any,
    sign_value: Any,
    optim_type: str,
    pre_wght: Any,
    post_wght: Any,
    prior: PriorSpec,
    momentum: Any,
    dtype: Any,
) -> PlasticSynapse:
    syn = cls(
        shape,
        x_shape,
        key=key,
        filter_init=filter_init,
        bias_init=bias_init,
        use_bias=use_bias,
        stride=stride,
        padding=padding,
        resist_scale=resist_scale,
        dtype=dtype,
    )
    options = LearningOptions(
        eta,
        optim_type,
        sign=-param(sign_value, "sign_value"),
        w_decay=w_decay,
        prior=prior,
        w_bound=w_bound,
        soft_bound=False,
        nonnegative=is_nonnegative,
        momentum=momentum,
    )
    return PlasticSynapse(syn, Hebbian(pre_wght, post_wght), options)


def HebbianConvSynapse(
    shape: Sequence[int],
    x_shape: Sequence[int] | None = None,
    *,
    key: Key,
    eta: Any = 0.0,
    filter_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    use_bias: bool = False,
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
    resist_scale: Any = 1.0,
    w_bound: Any = 0.0,
    is_nonnegative: bool = False,
    w_decay: Any = 0.0,
    sign_value: Any = 1.0,
    optim_type: str = "sgd",
    pre_wght: Any = 1.0,
    post_wght: Any = 1.0,
    prior: PriorSpec = None,
    momentum: Any = 0.9,
    dtype: Any = None,
) -> PlasticSynapse:
    """ngc-learn's ``HebbianConvSynapse``: a :class:`~ngcx.synapses.ConvSynapse` (its
    geometry arguments), the :class:`~ngcx.plasticity.Hebbian` rule and the options of
    :func:`HebbianSynapse`; ``w_bound`` only clips (as ngc-learn's convolutional synapses)
    and defaults to 0."""
    return _hebbian_conv(
        ConvSynapse, shape, x_shape, key=key, eta=eta, filter_init=filter_init,
        bias_init=bias_init, use_bias=use_bias, stride=stride, padding=padding,
        resist_scale=resist_scale, w_bound=w_bound, is_nonnegative=is_nonnegative,
        w_decay=w_decay, sign_value=sign_value, optim_type=optim_type, pre_wght=pre_wght,
        post_wght=post_wght, prior=prior, momentum=momentum, dtype=dtype,
    )  # fmt: skip


def HebbianDeconvSynapse(
    shape: Sequence[int],
    x_shape: Sequence[int] | None = None,
    *,
    key: Key,
    eta: Any = 0.0,
    filter_init: Initializer | None = None,
    bias_init: Initializer | None = None,
    use_bias: bool = False,
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
    resist_scale: Any = 1.0,
    w_bound: Any = 0.0,
    is_nonnegative: bool = False,
    w_decay: Any = 0.0,
    sign_value: Any = 1.0,
    optim_type: str = "sgd",
    pre_wght: Any = 1.0,
    post_wght: Any = 1.0,
    prior: PriorSpec = None,
    momentum: Any = 0.9,
    dtype: Any = None,
) -> PlasticSynapse:
    """ngc-learn's ``HebbianDeconvSynapse``: a :class:`~ngcx.synapses.DeconvSynapse` with
    the rule and options of :func:`HebbianConvSynapse`."""
    return _hebbian_conv(
        DeconvSynapse, shape, x_shape, key=key, eta=eta, filter_init=filter_init,
        bias_init=bias_init, use_bias=use_bias, stride=stride, padding=padding,
        resist_scale=resist_scale, w_bound=w_bound, is_nonnegative=is_nonnegative,
        w_decay=w_decay, sign_value=sign_value, optim_type=optim_type, pre_wght=pre_wght,
        post_wght=post_wght, prior=prior, momentum=momentum, dtype=dtype,
    )  # fmt: skip


def _connectivity(
    key: Key, shape: tuple[int, int], p_conn: Any, weight_mask: ArrayLike | None
) -> Array | None:
    return connectivity_mask(key, shape, p_conn, weight_mask, mask_name="weight_mask")


def _stdp_bundle(
    rule: AbstractRule,
    shape: tuple[int, int],
    key: Key,
    weight_init: Initializer | None,
    resist_scale: Any,
    p_conn: Any,
    weight_mask: ArrayLike | None,
    eta: Any,
    optim_type: str,
    tau_w: Any,
    clip: tuple[Any, Any] | None,
    dtype: Any,
) -> PlasticSynapse:
    wkey, mkey = jax.random.split(key)
    init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
    syn = DenseSynapse(shape, key=wkey, weight_init=init, resist_scale=resist_scale, dtype=dtype)
    mask = _connectivity(mkey, tuple(shape), p_conn, weight_mask)  # type: ignore[arg-type]
    if mask is not None:
        syn = eqx.tree_at(lambda s: s.weights, syn, jnp.where(mask, syn.weights, 0.0))
    options = LearningOptions(
        eta, optim_type, sign=1.0, tau_w=tau_w, clip=clip, mask=mask, optimizers=("sgd", "adam")
    )
    return PlasticSynapse(syn, rule, options)


def _stdp_clip(w_bound: Any, w_eps: Any) -> tuple[Any, Any] | None:
    wb = param(w_bound, "w_bound", "nonnegative")
    we = param(w_eps, "w_eps", "nonnegative")
    if isinstance(w_bound, int | float) and float(w_bound) == 0.0:
        return None
    if isinstance(w_bound, int | float) and isinstance(w_eps, int | float):
        if not 2 * float(w_eps) < float(w_bound):
            raise ValueError(f"`w_eps` ({w_eps}) must be below half of `w_bound` ({w_bound}).")
    return (we, wb - we)


def TraceSTDPSynapse(
    shape: tuple[int, int],
    A_plus: Any,
    A_minus: Any,
    eta: Any = 1.0,
    mu: Any = 0.0,
    pretrace_target: Any = 0.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    w_bound: Any = 1.0,
    tau_w: Any = 0.0,
    weight_mask: ArrayLike | None = None,
    w_eps: Any = 0.0,
    optim_type: str = "sgd",
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``TraceSTDPSynapse`` (``resist_scale`` is its ``g_conduct_factor``): a
    :class:`~ngcx.synapses.DenseSynapse` (weights uniform on [0.025, 0.8] by default), the
    :class:`~ngcx.plasticity.TraceSTDP` rule and the chain of :func:`~ngcx.plasticity.stdp`:
    $W \leftarrow \Pi(W + \eta\,\Delta W - W/\tau_w)$ with $\Pi$ the clip to
    $[w_\epsilon, w_{\max} - w_\epsilon]$ (``w_bound = 0``: none) and the connectivity mask
    (`weight_mask`, and a fixed random mask of density `p_conn`)."""
    rule = TraceSTDP(A_plus, A_minus, mu, pretrace_target, w_bound)
    return _stdp_bundle(
        rule, shape, key, weight_init, resist_scale, p_conn, weight_mask, eta, optim_type,
        tau_w, _stdp_clip(w_bound, w_eps), dtype,
    )  # fmt: skip


def ExpSTDPSynapse(
    shape: tuple[int, int],
    A_plus: Any,
    A_minus: Any,
    exp_beta: Any,
    eta: Any = 1.0,
    pretrace_target: Any = 0.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    w_bound: Any = 1.0,
    tau_w: Any = 0.0,
    weight_mask: ArrayLike | None = None,
    w_eps: Any = 0.01,
    optim_type: str = "sgd",
    dtype: Any = None,
) -> PlasticSynapse:
    """ngc-learn's ``ExpSTDPSynapse``: the :class:`~ngcx.plasticity.ExpSTDP` rule with the
    options of :func:`TraceSTDPSynapse` (``w_bound > 0``; $w_\\epsilon = 0.01$ by
    default). ngc-learn accepts ``tau_w`` but never applies the decay; ngcx applies it."""
    rule = ExpSTDP(A_plus, A_minus, exp_beta, pretrace_target, w_bound)
    return _stdp_bundle(
        rule, shape, key, weight_init, resist_scale, p_conn, weight_mask, eta, optim_type,
        tau_w, _stdp_clip(w_bound, w_eps), dtype,
    )  # fmt: skip


def EventSTDPSynapse(
    shape: tuple[int, int],
    eta: Any,
    lmbda: Any = 0.01,
    A_plus: Any = 1.0,
    A_minus: Any = 1.0,
    presyn_win_len: Any = 2.0,
    w_bound: Any = 1.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    w_eps: Any = 0.01,
    optim_type: str = "sgd",
    dtype: Any = None,
) -> PlasticSynapse:
    """ngc-learn's ``EventSTDPSynapse``: the :class:`~ngcx.plasticity.EventSTDP` rule;
    weights clipped to $[w_\\epsilon, w_{\\max}]$ (ngc-learn's $[0.01, w_{\\max}]$).
    Batched inputs sum the per-sample updates (ngc-learn handles one sample)."""
    rule = EventSTDP(lmbda, A_plus, A_minus, presyn_win_len, w_bound)
    we = param(w_eps, "w_eps", "nonnegative")
    if isinstance(w_eps, int | float) and isinstance(w_bound, int | float):
        if not float(w_eps) < float(w_bound):
            raise ValueError(f"`w_eps` ({w_eps}) must be below `w_bound` ({w_bound}).")
    return _stdp_bundle(
        rule, shape, key, weight_init, resist_scale, p_conn, None, eta, optim_type,
        0.0, (we, param(w_bound, "w_bound", "positive")), dtype,
    )  # fmt: skip


def MSTDPETSynapse(
    shape: tuple[int, int],
    A_plus: Any,
    A_minus: Any,
    eta: Any = 1.0,
    mu: Any = 0.0,
    pretrace_target: Any = 0.0,
    tau_elg: Any = 0.0,
    elg_decay: Any = 1.0,
    tau_w: Any = 0.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    w_bound: Any = 1.0,
    weight_mask: ArrayLike | None = None,
    w_eps: Any = 0.0,
    optim_type: str = "sgd",
    dtype: Any = None,
) -> PlasticSynapse:
    """ngc-learn's ``MSTDPETSynapse``: the :class:`~ngcx.plasticity.MSTDPET` rule (trace
    STDP into an eligibility trace gated by a modulator) with the options of
    :func:`TraceSTDPSynapse`; use the bundle's ``init_eligibility``,
    ``eligibility_step`` and ``modulated_updates``."""
    rule = MSTDPET(A_plus, A_minus, mu, pretrace_target, w_bound, tau_elg, elg_decay)
    return _stdp_bundle(
        rule, shape, key, weight_init, resist_scale, p_conn, weight_mask, eta, optim_type,
        tau_w, _stdp_clip(w_bound, w_eps), dtype,
    )  # fmt: skip


def _stdp_conv(
    cls: type[ConvSynapse] | type[DeconvSynapse],
    shape: Sequence[int],
    x_shape: Sequence[int] | None,
    key: Key,
    A_plus: Any,
    A_minus: Any,
    eta: Any,
    mu: Any,
    w_bound: Any,
    optim_type: str,
    filter_init: Initializer | None,
    stride: int | Sequence[int],
    padding: Padding,
    resist_scale: Any,
    dtype: Any,
    pretrace_target: Any = 0.0,
    w_decay: Any = 0.0,
) -> PlasticSynapse:
    init = DistributionGenerator.uniform(0.025, 0.8) if filter_init is None else filter_init
    syn = cls(
        shape, x_shape, key=key, filter_init=init, stride=stride, padding=padding,
        resist_scale=resist_scale, dtype=dtype,
    )  # fmt: skip
    rule = TraceSTDP(A_plus, A_minus, mu, pretrace_target, w_bound)
    wb = param(w_bound, "w_bound", "nonnegative")
    clip = None if isinstance(w_bound, int | float) and float(w_bound) == 0.0 else (0.0, wb)
    # ngc-learn's decay W <- W + eta dW - w_decay W is a leak of time constant 1/w_decay
    # steps, independent of eta (a traced 0 gives tau = inf: no leak)
    wd = param(w_decay, "w_decay", "nonnegative")
    tau_w = 0.0 if is_static_zero(w_decay) else 1.0 / wd
    options = LearningOptions(
        eta, optim_type, sign=1.0, clip=clip, tau_w=tau_w, optimizers=("sgd", "adam")
    )
    return PlasticSynapse(syn, rule, options)


def TraceSTDPConvSynapse(
    shape: Sequence[int],
    x_shape: Sequence[int] | None = None,
    *,
    key: Key,
    A_plus: Any = 1.0,
    A_minus: Any = 1.0,
    eta: Any = 1.0,
    mu: Any = 0.0,
    pretrace_target: Any = 0.0,
    w_bound: Any = 1.0,
    w_decay: Any = 0.0,
    optim_type: str = "sgd",
    filter_init: Initializer | None = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
    resist_scale: Any = 1.0,
    dtype: Any = None,
) -> PlasticSynapse:
    r"""ngc-learn's ``TraceSTDPConvSynapse``: a :class:`~ngcx.synapses.ConvSynapse` (no
    biases; filters uniform on [0.025, 0.8]), the :class:`~ngcx.plasticity.TraceSTDP` rule
    over the filter correlation (potentiation by the presynaptic trace minus
    `pretrace_target`) and the STDP chain
    $W \leftarrow \Pi(W + \eta\,\Delta W - \lambda W)$ with ``w_decay`` $\lambda$
    (independent of $\eta$, as ngc-learn) and $\Pi$ the clip to $[0, w_{\max}]$."""
    return _stdp_conv(
        ConvSynapse, shape, x_shape, key, A_plus, A_minus, eta, mu, w_bound, optim_type,
        filter_init, stride, padding, resist_scale, dtype, pretrace_target, w_decay,
    )  # fmt: skip


def TraceSTDPDeconvSynapse(
    shape: Sequence[int],
    x_shape: Sequence[int] | None = None,
    *,
    key: Key,
    A_plus: Any = 1.0,
    A_minus: Any = 1.0,
    eta: Any = 1.0,
    mu: Any = 0.0,
    pretrace_target: Any = 0.0,
    w_bound: Any = 1.0,
    w_decay: Any = 0.0,
    optim_type: str = "sgd",
    filter_init: Initializer | None = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = "SAME",
    resist_scale: Any = 1.0,
    dtype: Any = None,
) -> PlasticSynapse:
    """ngc-learn's ``TraceSTDPDeconvSynapse``: :func:`TraceSTDPConvSynapse` (with its
    `pretrace_target` and `w_decay`) over a :class:`~ngcx.synapses.DeconvSynapse`."""
    return _stdp_conv(
        DeconvSynapse, shape, x_shape, key, A_plus, A_minus, eta, mu, w_bound, optim_type,
        filter_init, stride, padding, resist_scale, dtype, pretrace_target, w_decay,
    )  # fmt: skip


# -- the rules as functions of a bundle (the names of earlier ngcx releases) ----------


def _bundle_rule(kinds: tuple[type[AbstractRule], ...], name: str) -> Any:
    def rule(synapse: PlasticSynapse, *activity: Any) -> PlasticSynapse:
        if not isinstance(synapse, PlasticSynapse) or not isinstance(synapse.rule, kinds):
            raise TypeError(
                f"`{name}` needs a plastic synapse with a {kinds[0].__name__} rule, got "
                f"{type(synapse).__name__}."
            )
        return synapse.updates(*activity)

    rule.__name__ = rule.__qualname__ = name
    rule.__doc__ = (
        f"``synapse.updates(...)`` for a :class:`PlasticSynapse` whose rule is "
        f":class:`~ngcx.plasticity.{kinds[0].__name__}` (updates shaped like the bundle)."
    )
    return rule


hebbian_rule = _bundle_rule((Hebbian,), "hebbian_rule")
conv_hebbian_rule = _bundle_rule((Hebbian,), "conv_hebbian_rule")
trace_stdp_rule = _bundle_rule((TraceSTDP, MSTDPET), "trace_stdp_rule")
conv_trace_stdp_rule = _bundle_rule((TraceSTDP,), "conv_trace_stdp_rule")
exp_stdp_rule = _bundle_rule((ExpSTDP,), "exp_stdp_rule")
event_stdp_rule = _bundle_rule((EventSTDP,), "event_stdp_rule")
