r"""Dense spike-timing-dependent plasticity: trace STDP, exponential (weight-dependent)
STDP, event-driven STDP, and reward-modulated STDP with eligibility traces.

Each synapse is a :class:`DenseSynapse` (``y = r x W``) whose rule is a pure function
returning updates shaped like the synapse. ``ngcx.learning.synapse_optimizer(synapse)``
turns a synapse's options into its optax chain, which *adds* the rule's update scaled by
``eta`` and decays the weights by $W/\tau_w$ per step when ``tau_w > 0``:

$$W \leftarrow \Pi\big(W + \eta\,\Delta W - W/\tau_w\big),$$

and ``project()`` ($\Pi$) clips the weights to $[w_\epsilon, w_{\max} - w_\epsilon]$
(``w_bound`` $w_{\max} > 0$) and zeroes masked connections. Every rule sums over the batch
axes as one matrix product (a broadcast outer product for a single sample).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float

from .._checks import check_nonnegative, check_positive
from .._custom_types import Key, Scalar
from ..initializers import DistributionGenerator, Initializer
from ._dense import DenseSynapse
from ._plasticity import updates_like


__all__ = [
    "TraceSTDPSynapse",
    "ExpSTDPSynapse",
    "EventSTDPSynapse",
    "MSTDPETSynapse",
    "trace_stdp_rule",
    "exp_stdp_rule",
    "event_stdp_rule",
]


def outer_sum(a: Array, b: Array) -> Array:
    """$\\sum_{\\text{batch}} a^\\top b$ for ``(..., n)`` and ``(..., m)`` arrays: a
    broadcast outer product for one sample (fuses with the update), a matmul otherwise."""
    a2 = a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, b.shape[-1])
    if a2.shape[0] == 1:
        return a2[0][:, None] * b2[0][None, :]
    return a2.T @ b2


def _check_factors(synapse: DenseSynapse, pre: Array, post: Array, what: str) -> None:
    n_in, n_out = synapse.shape
    if pre.shape[-1] != n_in or post.shape[-1] != n_out:
        raise ValueError(
            f"{what}: pre-synaptic arrays must end in {n_in} and post-synaptic ones in "
            f"{n_out} units, got shapes {pre.shape} and {post.shape}."
        )
    if pre.shape[:-1] != post.shape[:-1]:
        raise ValueError(
            f"{what}: pre and post arrays must share their batch axes, got {pre.shape} "
            f"and {post.shape}."
        )


class _STDPSynapse(DenseSynapse):
    """Options shared by the dense STDP synapses, and their projection."""

    eta: float = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    tau_w: float = eqx.field(static=True)
    w_bound: float = eqx.field(static=True)
    w_eps: float = eqx.field(static=True)
    weight_mask: Bool[Array, "n_in n_out"] | None

    # read by ngcx.learning.synapse_optimizer: the rule's update is *added*
    # (the optimiser descends along -dW); no decay or prior of the Hebbian kind
    sign_value = -1.0
    w_decay = 0.0
    prior = "none"
    prior_lmbda = 0.0
    momentum = 0.9

    def _setup(
        self,
        shape: tuple[int, int],
        key: Key,
        weight_init: Initializer | None,
        resist_scale: float,
        p_conn: float,
        weight_mask: ArrayLike | None,
        eta: float,
        optim_type: str,
        tau_w: float,
        w_bound: float,
        w_eps: float,
        dtype: Any,
    ) -> None:
        wkey, mkey = jax.random.split(key)
        init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
        DenseSynapse.__init__(
            self, shape, key=wkey, weight_init=init, resist_scale=resist_scale, dtype=dtype
        )
        check_nonnegative(eta, "eta")
        check_nonnegative(tau_w, "tau_w")
        check_nonnegative(w_bound, "w_bound")
        check_nonnegative(w_eps, "w_eps")
        if w_bound > 0 and not 2 * w_eps < w_bound:
            raise ValueError(f"`w_eps` ({w_eps}) must be below half of `w_bound` ({w_bound}).")
        if not 0.0 < p_conn <= 1.0:
            raise ValueError(f"`p_conn` must lie in (0, 1], got {p_conn}.")
        if optim_type not in ("sgd", "adam"):
            raise ValueError(f"`optim_type` must be 'sgd' or 'adam', got {optim_type!r}.")
        mask = None
        if weight_mask is not None:
            mask = jnp.asarray(weight_mask) != 0
            if mask.shape != tuple(shape):
                raise ValueError(f"`weight_mask` must have shape {tuple(shape)}, got {mask.shape}.")
        if p_conn < 1.0:
            conn = jax.random.bernoulli(mkey, p_conn, tuple(shape))
            mask = conn if mask is None else mask & conn
        self.weight_mask = mask
        if mask is not None:
            self.weights = jnp.where(mask, self.weights, 0.0)
        self.eta, self.optim_type, self.tau_w = float(eta), optim_type, float(tau_w)
        self.w_bound, self.w_eps = float(w_bound), float(w_eps)

    def _bounds(self) -> tuple[float, float | None]:
        if self.w_bound > 0:
            return self.w_eps, self.w_bound - self.w_eps
        return self.w_eps, None

    def project(self):
        """Clip the weights to ``[w_eps, w_bound - w_eps]`` (``w_bound = 0``: no clipping)
        and zero the masked connections."""
        low, high = self._bounds()
        w = self.weights
        if high is not None:
            w = jnp.clip(w, low, high)
        if self.weight_mask is not None:
            w = jnp.where(self.weight_mask, w, 0.0)
        return eqx.tree_at(lambda s: s.weights, self, w)


class TraceSTDPSynapse(_STDPSynapse):
    r"""Trace-based STDP (ngc-learn's ``TraceSTDPSynapse``; Morrison et al. 2008):

    $$\Delta W = A_+ \,(x_{\text{pre}} - x_{\text{tar}})^\top s_{\text{post}} \odot
    (w_{\max} - W)^{\mu} \;-\; A_- \, s_{\text{pre}}^\top x_{\text{post}} \odot W^{\mu},$$

    potentiation when a post-synaptic spike meets a pre-synaptic trace, depression when a
    pre-synaptic spike meets a post-synaptic trace (``pretrace_target`` $x_{\text{tar}}$;
    the weight-dependent factors only when ``mu`` $\mu > 0$; no depression when
    ``A_minus = 0``). See :func:`trace_stdp_rule` and the module docstring for the update.
    """

    A_plus: float = eqx.field(static=True)
    A_minus: float = eqx.field(static=True)
    mu: float = eqx.field(static=True)
    pretrace_target: float = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        A_plus: float,
        A_minus: float,
        eta: float = 1.0,
        mu: float = 0.0,
        pretrace_target: float = 0.0,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: float = 1.0,
        p_conn: float = 1.0,
        w_bound: float = 1.0,
        tau_w: float = 0.0,
        weight_mask: ArrayLike | None = None,
        w_eps: float = 0.0,
        optim_type: str = "sgd",
        dtype: Any = None,
    ):
        """**Arguments** (ngc-learn's names; ``resist_scale`` is its ``g_conduct_factor``):

        - `shape` ``(n_in, n_out)``, `key`, `weight_init` (default uniform on
          [0.025, 0.8]), `resist_scale`, `dtype`: as :class:`DenseSynapse`.
        - `A_plus`, `A_minus`: potentiation and depression amplitudes (>= 0).
        - `eta`: learning rate; `optim_type` ``"sgd"`` (ngc-learn's) or ``"adam"``.
        - `mu`: soft-bound exponent (0: additive STDP).
        - `pretrace_target`: $x_{\\text{tar}}$ subtracted from the pre-synaptic trace.
        - `p_conn`: probability of each connection (a fixed random mask).
        - `w_bound`: upper weight bound (0: no clipping); `w_eps`: margin from the bounds.
        - `tau_w`: weight-decay time constant in steps (0: none).
        - `weight_mask`: fixed ``(n_in, n_out)`` connectivity (non-zero: connected).
        """
        for name, value in (("A_plus", A_plus), ("A_minus", A_minus), ("mu", mu)):
            check_nonnegative(value, name)
        if mu > 0 and not w_bound > 0:
            raise ValueError("soft bounds (`mu` > 0) need a positive `w_bound`.")
        self._setup(
            shape, key, weight_init, resist_scale, p_conn, weight_mask,
            eta, optim_type, tau_w, w_bound, w_eps, dtype,
        )  # fmt: skip
        self.A_plus, self.A_minus = float(A_plus), float(A_minus)
        self.mu, self.pretrace_target = float(mu), float(pretrace_target)

    def stdp_updates(
        self,
        pre: Float[Array, "*batch n_in"],
        post: Float[Array, "*batch n_out"],
        pre_trace: Float[Array, "*batch n_in"],
        post_trace: Float[Array, "*batch n_out"],
    ) -> TraceSTDPSynapse:
        """:func:`trace_stdp_rule` applied to this synapse."""
        return trace_stdp_rule(self, pre, post, pre_trace, post_trace)


def _trace_stdp_dW(synapse: Any, pre, post, pre_trace, post_trace) -> Array:
    _check_factors(synapse, pre, post, "trace STDP")
    _check_factors(synapse, pre_trace, post_trace, "trace STDP traces")
    x_pre = pre_trace if synapse.pretrace_target == 0 else pre_trace - synapse.pretrace_target
    ltp = outer_sum(x_pre, post)
    W = synapse.weights
    if synapse.mu > 0:
        ltp = ltp * jnp.power(jnp.maximum(synapse.w_bound - W, 0.0), synapse.mu)
    dW = synapse.A_plus * ltp
    if synapse.A_minus > 0:
        ltd = outer_sum(pre, post_trace)
        if synapse.mu > 0:
            ltd = ltd * jnp.power(jnp.maximum(W, 0.0), synapse.mu)
        dW = dW - synapse.A_minus * ltd
    return dW


def trace_stdp_rule(
    synapse: TraceSTDPSynapse,
    pre: Float[Array, "*batch n_in"],
    post: Float[Array, "*batch n_out"],
    pre_trace: Float[Array, "*batch n_in"],
    post_trace: Float[Array, "*batch n_out"],
) -> TraceSTDPSynapse:
    r"""The trace-STDP update of :class:`TraceSTDPSynapse`, shaped like the synapse
    (spikes `pre`/`post`, traces `pre_trace`/`post_trace`; summed over the batch)."""
    dW = _trace_stdp_dW(synapse, pre, post, pre_trace, post_trace)
    return updates_like(synapse, dW, None)


class ExpSTDPSynapse(_STDPSynapse):
    r"""STDP with exponential weight dependence (ngc-learn's ``ExpSTDPSynapse``; Nessler
    et al. 2009, as used by Diehl & Cook 2015):

    $$\Delta W = A_+\big(e^{-\beta W}\odot x_{\text{pre}}^\top s_{\text{post}} -
    e^{-\beta (w_{\max} - W)}\odot x_{\text{tar}}^\top s_{\text{post}}\big) -
    A_-\, e^{-\beta W}\odot s_{\text{pre}}^\top x_{\text{post}}$$

    (``exp_beta`` $\beta$). Weights are clipped to $[w_\epsilon, w_{\max} - w_\epsilon]$
    with ngc-learn's $w_\epsilon = 0.01$ by default. ngc-learn's ``ExpSTDPSynapse``
    accepts ``tau_w`` but never applies the decay; ngcx applies it.
    """

    A_plus: float = eqx.field(static=True)
    A_minus: float = eqx.field(static=True)
    exp_beta: float = eqx.field(static=True)
    pretrace_target: float = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        A_plus: float,
        A_minus: float,
        exp_beta: float,
        eta: float = 1.0,
        pretrace_target: float = 0.0,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: float = 1.0,
        p_conn: float = 1.0,
        w_bound: float = 1.0,
        tau_w: float = 0.0,
        weight_mask: ArrayLike | None = None,
        w_eps: float = 0.01,
        optim_type: str = "sgd",
        dtype: Any = None,
    ):
        """**Arguments:** as :class:`TraceSTDPSynapse` plus `exp_beta` (>= 0); needs
        ``w_bound > 0``."""
        for name, value in (("A_plus", A_plus), ("A_minus", A_minus), ("exp_beta", exp_beta)):
            check_nonnegative(value, name)
        check_positive(w_bound, "w_bound")
        self._setup(
            shape, key, weight_init, resist_scale, p_conn, weight_mask,
            eta, optim_type, tau_w, w_bound, w_eps, dtype,
        )  # fmt: skip
        self.A_plus, self.A_minus = float(A_plus), float(A_minus)
        self.exp_beta, self.pretrace_target = float(exp_beta), float(pretrace_target)

    def stdp_updates(self, pre, post, pre_trace, post_trace) -> ExpSTDPSynapse:
        """:func:`exp_stdp_rule` applied to this synapse."""
        return exp_stdp_rule(self, pre, post, pre_trace, post_trace)


def exp_stdp_rule(
    synapse: ExpSTDPSynapse,
    pre: Float[Array, "*batch n_in"],
    post: Float[Array, "*batch n_out"],
    pre_trace: Float[Array, "*batch n_in"],
    post_trace: Float[Array, "*batch n_out"],
) -> ExpSTDPSynapse:
    """The update of :class:`ExpSTDPSynapse`, shaped like the synapse."""
    _check_factors(synapse, pre, post, "exponential STDP")
    _check_factors(synapse, pre_trace, post_trace, "exponential STDP traces")
    W = synapse.weights
    decay_w = jnp.exp(-synapse.exp_beta * W)
    post_count = jnp.sum(post.reshape(-1, post.shape[-1]), axis=0)
    ltp = decay_w * outer_sum(pre_trace, post)
    if synapse.pretrace_target != 0:
        bounded = jnp.exp(-synapse.exp_beta * (synapse.w_bound - W))
        ltp = ltp - bounded * (synapse.pretrace_target * post_count)[None, :]
    dW = synapse.A_plus * ltp
    if synapse.A_minus > 0:
        dW = dW - synapse.A_minus * decay_w * outer_sum(pre, post_trace)
    return updates_like(synapse, dW, None)


class EventSTDPSynapse(_STDPSynapse):
    r"""Event-driven STDP (ngc-learn's ``EventSTDPSynapse``; Tavanaei & Maida): on a
    post-synaptic spike, each weight moves up if its pre-synaptic cell spiked within the
    last ``presyn_win_len`` ms and down otherwise:

    $$\Delta W_{ij} = s^{\text{post}}_j \cdot \begin{cases}
    A_+\big(w_{\max} - (1 + \lambda) W_{ij}\big) & t - T < t^{\text{pre}}_i \\
    -A_-\,(1 + \lambda) W_{ij} & \text{otherwise}\end{cases}$$

    with the pre-synaptic time of last spike $t^{\text{pre}}$ (0 meaning no spike yet, as
    in ngc-learn's cells) and ``presyn_win_len`` $T$ (0: the spike must be at $t$). Weights
    are clipped to $[w_\epsilon, w_{\max}]$ (ngc-learn's $[0.01, w_{\max}]$). Batched
    inputs sum the per-sample updates (ngc-learn handles one sample).
    """

    lmbda: float = eqx.field(static=True)
    A_plus: float = eqx.field(static=True)
    A_minus: float = eqx.field(static=True)
    presyn_win_len: float = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        eta: float,
        lmbda: float = 0.01,
        A_plus: float = 1.0,
        A_minus: float = 1.0,
        presyn_win_len: float = 2.0,
        w_bound: float = 1.0,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: float = 1.0,
        p_conn: float = 1.0,
        w_eps: float = 0.01,
        optim_type: str = "sgd",
        dtype: Any = None,
    ):
        """**Arguments:** ngc-learn's names and defaults (`presyn_win_len` in ms); the
        rest as :class:`TraceSTDPSynapse`."""
        for name, value in (
            ("lmbda", lmbda),
            ("A_plus", A_plus),
            ("A_minus", A_minus),
            ("presyn_win_len", presyn_win_len),
        ):
            check_nonnegative(value, name)
        check_positive(w_bound, "w_bound")
        self._setup(
            shape, key, weight_init, resist_scale, p_conn, None,
            eta, optim_type, 0.0, w_bound, 0.0, dtype,
        )  # fmt: skip
        self.w_eps = float(w_eps)
        if not w_eps < w_bound:
            raise ValueError(f"`w_eps` ({w_eps}) must be below `w_bound` ({w_bound}).")
        self.lmbda, self.A_plus, self.A_minus = float(lmbda), float(A_plus), float(A_minus)
        self.presyn_win_len = float(presyn_win_len)

    def _bounds(self):
        return self.w_eps, self.w_bound

    def stdp_updates(self, pre_tols, post, t) -> EventSTDPSynapse:
        """:func:`event_stdp_rule` applied to this synapse."""
        return event_stdp_rule(self, pre_tols, post, t)


def event_stdp_rule(
    synapse: EventSTDPSynapse,
    pre_tols: Float[Array, "*batch n_in"],
    post: Float[Array, "*batch n_out"],
    t: Scalar,
) -> EventSTDPSynapse:
    """The update of :class:`EventSTDPSynapse` at time `t` (ms) from the pre-synaptic
    times of last spike and the post-synaptic spikes, shaped like the synapse."""
    _check_factors(synapse, pre_tols, post, "event STDP")
    spiked = pre_tols > 0
    if synapse.presyn_win_len > 0:
        recent = (t - synapse.presyn_win_len < pre_tols) & spiked
    else:
        recent = (pre_tols == t) & spiked
    recent_f = jnp.asarray(recent, post.dtype)
    W = synapse.weights
    grow = synapse.A_plus * (synapse.w_bound - W * (1.0 + synapse.lmbda))
    shrink = -synapse.A_minus * W * (1.0 + synapse.lmbda)
    dW = grow * outer_sum(recent_f, post) + shrink * outer_sum(1.0 - recent_f, post)
    return updates_like(synapse, dW, None)


class MSTDPETSynapse(TraceSTDPSynapse):
    r"""Reward-modulated STDP with eligibility traces (ngc-learn's ``MSTDPETSynapse``;
    Florian 2007). The trace-STDP update $\Delta W_t$ (:func:`trace_stdp_rule`) feeds an
    eligibility trace, and a modulator $r$ (reward) gates its application:

    $$E \leftarrow \kappa\, e^{-\Delta t/\tau_e} E + \Delta W_t/\tau_e
    \quad(\tau_e > 0;\ E = \Delta W_t \text{ otherwise}), \qquad
    W \leftarrow \Pi\big(W + \eta\, r\, E \odot m_{\text{out}} - W/\tau_w\big)$$

    with ``tau_elg`` $\tau_e$ (ms), ``elg_decay`` $\kappa$ and an optional mask
    $m_{\text{out}}$ over post-synaptic cells. The eligibility is a state value: start
    with :meth:`init_eligibility`, advance it with :meth:`eligibility_step`, and turn it
    into updates with :meth:`modulated_updates` (then the usual optax step).

    ngc-learn feeds its eligibility with the *previous* step's STDP update (a one-step
    lag); ngcx uses the current one.
    """

    tau_elg: float = eqx.field(static=True)
    elg_decay: float = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        A_plus: float,
        A_minus: float,
        eta: float = 1.0,
        mu: float = 0.0,
        pretrace_target: float = 0.0,
        tau_elg: float = 0.0,
        elg_decay: float = 1.0,
        tau_w: float = 0.0,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: float = 1.0,
        p_conn: float = 1.0,
        w_bound: float = 1.0,
        weight_mask: ArrayLike | None = None,
        w_eps: float = 0.0,
        optim_type: str = "sgd",
        dtype: Any = None,
    ):
        """**Arguments:** as :class:`TraceSTDPSynapse` plus `tau_elg` (ms, >= 0) and
        `elg_decay`."""
        check_nonnegative(tau_elg, "tau_elg")
        check_nonnegative(elg_decay, "elg_decay")
        super().__init__(
            shape, A_plus, A_minus, eta, mu, pretrace_target, key=key,
            weight_init=weight_init, resist_scale=resist_scale, p_conn=p_conn,
            w_bound=w_bound, tau_w=tau_w, weight_mask=weight_mask, w_eps=w_eps,
            optim_type=optim_type, dtype=dtype,
        )  # fmt: skip
        self.tau_elg, self.elg_decay = float(tau_elg), float(elg_decay)

    def init_eligibility(self) -> Float[Array, "n_in n_out"]:
        """A zero eligibility trace, shaped like the weights."""
        return jnp.zeros_like(self.weights)

    def eligibility_step(
        self,
        eligibility: Float[Array, "n_in n_out"],
        pre: Float[Array, "*batch n_in"],
        post: Float[Array, "*batch n_out"],
        pre_trace: Float[Array, "*batch n_in"],
        post_trace: Float[Array, "*batch n_out"],
        *,
        dt: float = 1.0,
    ) -> Float[Array, "n_in n_out"]:
        """Advance the eligibility trace by one step of ``dt`` ms."""
        dW = _trace_stdp_dW(self, pre, post, pre_trace, post_trace)
        if self.tau_elg <= 0:
            return dW
        decay = self.elg_decay * jnp.exp(-jnp.asarray(dt, eligibility.dtype) / self.tau_elg)
        return eligibility * decay + dW * (1.0 / self.tau_elg)

    def modulated_updates(
        self,
        eligibility: Float[Array, "n_in n_out"],
        modulator: Float[ArrayLike, "*#n_out"] | Scalar,
        out_mask: Float[ArrayLike, " n_out"] | None = None,
    ) -> MSTDPETSynapse:
        """Updates $r\\,E \\odot m_{\\text{out}}$ shaped like the synapse (`modulator` a
        scalar or one value per post-synaptic cell)."""
        r = jnp.asarray(modulator, eligibility.dtype)
        dW = eligibility * (r if r.ndim == 0 else jnp.broadcast_to(r, eligibility.shape))
        if out_mask is not None:
            mask = jnp.asarray(out_mask, eligibility.dtype)
            dW = dW * jnp.broadcast_to(mask, eligibility.shape)
        return updates_like(self, dW, None)
