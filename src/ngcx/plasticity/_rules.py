r"""Local learning rules, written once over a synapse's contraction.

A rule is a small immutable module of array-leaf parameters; ``rule(synapse, *activity)``
returns updates shaped like the synapse (``synapse.updates(dW, db)``), in the direction
the weights should move, ready for an optax chain of :mod:`ngcx.plasticity`. Every rule
uses only ``synapse.contract(pre, post)`` (the batch-summed correlation: an outer product
for :class:`ngcx.synapses.DenseSynapse`, the filter correlation for conv and deconv
synapses) and ``synapse.bias_contract(post)``, so one rule object serves every synapse
type. Weight-dependent factors (soft bounds, exponential dependence) multiply the
weight-shaped correlation elementwise.
"""

from __future__ import annotations

import abc
from typing import Any, TypeVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._params import is_static_zero, param
from ..synapses import AbstractSynapse


__all__ = ["AbstractRule", "Hebbian", "TraceSTDP", "ExpSTDP", "EventSTDP", "MSTDPET"]

S = TypeVar("S", bound=AbstractSynapse)


def _check_synapse(synapse: Any) -> None:
    if not isinstance(synapse, AbstractSynapse):
        raise TypeError(
            f"`synapse` must be an ngcx synapse (AbstractSynapse), got {type(synapse).__name__}."
        )


class AbstractRule(eqx.Module):
    """A local plasticity rule: ``rule(synapse, *activity)`` returns updates shaped like
    ``synapse``. Concrete rules are final and implement ``__call__``."""

    @abc.abstractmethod
    def __call__(self, synapse: S, *activity: Any) -> S:
        """The update for `synapse` from pre- and postsynaptic activity."""


class Hebbian(AbstractRule):
    r"""Two-factor Hebbian rule (ngc-learn's ``HebbianSynapse`` rule):

    $$\Delta W = a b\, C(\text{pre}, \text{post}), \qquad \Delta b = b \sum \text{post},$$

    with the synapse's contraction $C$ (dense: $\text{pre}^\top\text{post}$ summed over the
    batch; conv/deconv: the filter correlation), ``pre_wght`` $a$ and ``post_wght`` $b$.
    With ``post`` the error $e = (z - \mu)/\sigma^2$ of a Gaussian layer
    $\mu = g_W(\text{pre})$, $\Delta W = -\partial F/\partial W$ for
    $F = \tfrac12 \sigma^{-2}\lVert z - \mu\rVert^2$ (tested against autodiff for dense,
    conv and deconv synapses). ngc-learn's soft bound $\odot(w_{\max} - \lvert W\rvert)$ is
    the optax transform :func:`ngcx.plasticity.scale_by_soft_bound`.
    """

    pre_wght: Float[Array, ""]
    post_wght: Float[Array, ""]

    def __init__(self, pre_wght: Any = 1.0, post_wght: Any = 1.0):
        """**Arguments:** `pre_wght`, `post_wght`: scales of the pre- and postsynaptic
        factors (finite scalars; leaves)."""
        self.pre_wght = param(pre_wght, "pre_wght")
        self.post_wght = param(post_wght, "post_wght")

    def __call__(self, synapse: S, pre: Any, post: Any) -> S:
        """**Arguments:** `synapse`; `pre`, `post`: activity shaped like the synapse's input
        and output (any batch axes). **Returns:** updates shaped like `synapse`."""
        _check_synapse(synapse)
        # scalars scale the presynaptic factor, before the contraction (linear in it):
        # a batch of vectors rather than the weight-shaped result
        dW = synapse.contract((self.pre_wght * self.post_wght) * pre, post)
        db = None if synapse.biases is None else self.post_wght * synapse.bias_contract(post)
        return synapse.updates(dW, db)


class TraceSTDP(AbstractRule):
    r"""Trace-based STDP (ngc-learn's ``TraceSTDPSynapse`` rule; Morrison et al. 2008):

    $$\Delta W = A_+\, C(x_{\text{pre}} - x_{\text{tar}}, s_{\text{post}}) \odot
    (w_{\max} - W)^{\mu} \;-\; A_-\, C(s_{\text{pre}}, x_{\text{post}}) \odot W^{\mu},$$

    potentiation when a postsynaptic spike meets a presynaptic trace, depression when a
    presynaptic spike meets a postsynaptic trace (spikes $s$, traces $x$,
    ``pretrace_target`` $x_{\text{tar}}$). The weight-dependent (soft-bound) factors are
    used when ``mu`` is not a concrete 0 (with ``w_bound`` $> 0$); the depression term is
    left out for a concrete ``A_minus = 0``. Biases get no update.
    """

    A_plus: Float[Array, ""]
    A_minus: Float[Array, ""]
    mu: Float[Array, ""]
    pretrace_target: Float[Array, ""]
    w_bound: Float[Array, ""]
    soft_bounds: bool = eqx.field(static=True)
    depression: bool = eqx.field(static=True)

    def __init__(
        self,
        A_plus: Any,
        A_minus: Any,
        mu: Any = 0.0,
        pretrace_target: Any = 0.0,
        w_bound: Any = 1.0,
    ):
        """**Arguments:** `A_plus`, `A_minus` ($\\ge 0$): potentiation and depression
        amplitudes; `mu` ($\\ge 0$): soft-bound exponent; `pretrace_target`: subtracted
        from the presynaptic trace; `w_bound`: the weight bound of the soft-bound factor
        ($> 0$ when `mu` $> 0$). All are leaves."""
        self.A_plus = param(A_plus, "A_plus", "nonnegative")
        self.A_minus = param(A_minus, "A_minus", "nonnegative")
        self.mu = param(mu, "mu", "nonnegative")
        self.pretrace_target = param(pretrace_target, "pretrace_target")
        self.w_bound = param(w_bound, "w_bound", "nonnegative")
        self.soft_bounds = not is_static_zero(self.mu)
        if self.soft_bounds and is_static_zero(self.w_bound):
            raise ValueError("soft bounds (`mu` > 0) need a positive `w_bound`.")
        self.depression = not is_static_zero(self.A_minus)

    def delta(
        self, synapse: AbstractSynapse, pre: Any, post: Any, pre_trace: Any, post_trace: Any
    ) -> Array:
        """The weight-shaped $\\Delta W$ (see the class docstring)."""
        _check_synapse(synapse)
        W = synapse.weights
        # the amplitudes scale the presynaptic factor before the contraction (it is
        # linear): a vector per sample instead of a weight-shaped product
        dW = synapse.contract(self.A_plus * (pre_trace - self.pretrace_target), post)
        if self.soft_bounds:
            dW = dW * jnp.power(jnp.maximum(self.w_bound - W, 0.0), self.mu)
        if self.depression:
            ltd = synapse.contract(self.A_minus * pre, post_trace)
            if self.soft_bounds:
                ltd = ltd * jnp.power(jnp.maximum(W, 0.0), self.mu)
            dW = dW - ltd
        return dW

    def __call__(self, synapse: S, pre: Any, post: Any, pre_trace: Any, post_trace: Any) -> S:
        """**Arguments:** `synapse`; spikes `pre`, `post`; traces `pre_trace`, `post_trace`
        (shaped like the synapse's input and output). **Returns:** updates like `synapse`."""
        return synapse.updates(self.delta(synapse, pre, post, pre_trace, post_trace))


class ExpSTDP(AbstractRule):
    r"""STDP with exponential weight dependence (ngc-learn's ``ExpSTDPSynapse`` rule;
    Nessler et al. 2009, as used by Diehl & Cook 2015):

    $$\Delta W = A_+\big(e^{-\beta W}\odot C(x_{\text{pre}}, s_{\text{post}}) -
    e^{-\beta (w_{\max} - W)}\odot C(x_{\text{tar}}\mathbf 1, s_{\text{post}})\big) -
    A_-\, e^{-\beta W}\odot C(s_{\text{pre}}, x_{\text{post}})$$

    (``exp_beta`` $\beta$, ``pretrace_target`` $x_{\text{tar}}$, ``w_bound`` $w_{\max}$).
    """

    A_plus: Float[Array, ""]
    A_minus: Float[Array, ""]
    exp_beta: Float[Array, ""]
    pretrace_target: Float[Array, ""]
    w_bound: Float[Array, ""]
    target_term: bool = eqx.field(static=True)
    depression: bool = eqx.field(static=True)

    def __init__(
        self,
        A_plus: Any,
        A_minus: Any,
        exp_beta: Any,
        pretrace_target: Any = 0.0,
        w_bound: Any = 1.0,
    ):
        """**Arguments:** `A_plus`, `A_minus`, `exp_beta` ($\\ge 0$), `pretrace_target`,
        `w_bound` ($> 0$). All are leaves."""
        self.A_plus = param(A_plus, "A_plus", "nonnegative")
        self.A_minus = param(A_minus, "A_minus", "nonnegative")
        self.exp_beta = param(exp_beta, "exp_beta", "nonnegative")
        self.pretrace_target = param(pretrace_target, "pretrace_target")
        self.w_bound = param(w_bound, "w_bound", "positive")
        self.target_term = not is_static_zero(self.pretrace_target)
        self.depression = not is_static_zero(self.A_minus)

    def __call__(self, synapse: S, pre: Any, post: Any, pre_trace: Any, post_trace: Any) -> S:
        """**Arguments** and **Returns** as :class:`TraceSTDP`."""
        _check_synapse(synapse)
        W = synapse.weights
        decay_w = jnp.exp(-self.exp_beta * W)
        corr = synapse.contract(self.A_plus * pre_trace, post)
        if self.depression:
            corr = corr - synapse.contract(self.A_minus * pre, post_trace)
        dW = decay_w * corr
        if self.target_term:
            bounded = jnp.exp(-self.exp_beta * (self.w_bound - W))
            tar = jnp.full_like(pre_trace, 1.0) * (self.A_plus * self.pretrace_target)
            dW = dW - bounded * synapse.contract(tar, post)
        return synapse.updates(dW)


class EventSTDP(AbstractRule):
    r"""Event-driven STDP (ngc-learn's ``EventSTDPSynapse`` rule; Tavanaei & Maida): on a
    postsynaptic spike each weight moves up if its presynaptic cell spiked within the last
    ``presyn_win_len`` ms, and down otherwise:

    $$\Delta W = \big(A_+ (w_{\max} - (1 + \lambda) W)\big) \odot C(r, s_{\text{post}})
    - A_- (1 + \lambda) W \odot C(1 - r, s_{\text{post}}),$$

    with $r = 1[t - T < t^{\text{pre}}]$ for the presynaptic times of last spike
    $t^{\text{pre}}$ (0 meaning no spike yet) and ``presyn_win_len`` $T$ ($T = 0$: the
    spike must be at $t$).
    """

    lmbda: Float[Array, ""]
    A_plus: Float[Array, ""]
    A_minus: Float[Array, ""]
    presyn_win_len: Float[Array, ""]
    w_bound: Float[Array, ""]

    def __init__(
        self,
        lmbda: Any = 0.01,
        A_plus: Any = 1.0,
        A_minus: Any = 1.0,
        presyn_win_len: Any = 2.0,
        w_bound: Any = 1.0,
    ):
        """**Arguments** (ngc-learn's names and defaults, all $\\ge 0$ leaves):
        `lmbda`, `A_plus`, `A_minus`, `presyn_win_len` (ms), `w_bound` ($> 0$)."""
        self.lmbda = param(lmbda, "lmbda", "nonnegative")
        self.A_plus = param(A_plus, "A_plus", "nonnegative")
        self.A_minus = param(A_minus, "A_minus", "nonnegative")
        self.presyn_win_len = param(presyn_win_len, "presyn_win_len", "nonnegative")
        self.w_bound = param(w_bound, "w_bound", "positive")

    def __call__(self, synapse: S, pre_tols: Any, post: Any, t: Any) -> S:
        """**Arguments:** `synapse`; `pre_tols`: presynaptic times of last spike (ms);
        `post`: postsynaptic spikes; `t`: the present time (ms). **Returns:** updates like
        `synapse`."""
        _check_synapse(synapse)
        spiked = pre_tols > 0
        win = self.presyn_win_len
        recent = jnp.where(win > 0, t - win < pre_tols, pre_tols == t) & spiked
        recent_f = jnp.asarray(recent, post.dtype)
        W = synapse.weights
        grow = self.A_plus * (self.w_bound - W * (1.0 + self.lmbda))
        shrink = -self.A_minus * W * (1.0 + self.lmbda)
        dW = grow * synapse.contract(recent_f, post) + shrink * synapse.contract(
            1.0 - recent_f, post
        )
        return synapse.updates(dW)


class MSTDPET(AbstractRule):
    r"""Reward-modulated STDP with eligibility traces (ngc-learn's ``MSTDPETSynapse``
    rule; Florian 2007). The trace-STDP update $\Delta W_t$ (:class:`TraceSTDP`) feeds an
    eligibility trace and a modulator $r$ (a reward) gates it:

    $$E \leftarrow \kappa\, e^{-\Delta t/\tau_e} E + \Delta W_t/\tau_e
    \quad(\tau_e > 0;\ E = \Delta W_t \text{ otherwise}), \qquad
    \Delta W = r\, E \odot m_{\text{out}}$$

    with ``tau_elg`` $\tau_e$ (ms), ``elg_decay`` $\kappa$ and an optional mask
    $m_{\text{out}}$ over postsynaptic cells. The eligibility is a state value:
    :meth:`init_eligibility`, :meth:`eligibility_step`, :meth:`modulated_updates`; calling
    the rule returns the plain trace-STDP update. ngc-learn feeds its eligibility with the
    *previous* step's STDP update (a one-step lag); ngcx uses the current one.
    """

    stdp: TraceSTDP
    tau_elg: Float[Array, ""]
    elg_decay: Float[Array, ""]

    def __init__(
        self,
        A_plus: Any,
        A_minus: Any,
        mu: Any = 0.0,
        pretrace_target: Any = 0.0,
        w_bound: Any = 1.0,
        tau_elg: Any = 0.0,
        elg_decay: Any = 1.0,
    ):
        """**Arguments:** those of :class:`TraceSTDP`, `tau_elg` (ms, $\\ge 0$; 0: no
        trace, also when traced) and `elg_decay` ($\\ge 0$)."""
        self.stdp = TraceSTDP(A_plus, A_minus, mu, pretrace_target, w_bound)
        self.tau_elg = param(tau_elg, "tau_elg", "nonnegative")
        self.elg_decay = param(elg_decay, "elg_decay", "nonnegative")

    def __call__(self, synapse: S, pre: Any, post: Any, pre_trace: Any, post_trace: Any) -> S:
        """The trace-STDP update (as :class:`TraceSTDP`)."""
        return self.stdp(synapse, pre, post, pre_trace, post_trace)

    def init_eligibility(self, synapse: AbstractSynapse) -> Array:
        """A zero eligibility trace, shaped like the synapse's weights."""
        return jnp.zeros_like(synapse.weights)

    def eligibility_step(
        self,
        synapse: AbstractSynapse,
        eligibility: Array,
        pre: Any,
        post: Any,
        pre_trace: Any,
        post_trace: Any,
        *,
        dt: Any = 1.0,
    ) -> Array:
        """Advance the eligibility trace by one step of ``dt`` ms."""
        dW = self.stdp.delta(synapse, pre, post, pre_trace, post_trace)
        tau = self.tau_elg
        safe = jnp.where(tau > 0, tau, 1.0)
        decay = self.elg_decay * jnp.exp(-jnp.asarray(dt, eligibility.dtype) / safe)
        return jnp.where(tau > 0, eligibility * decay + dW / safe, dW)

    def modulated_updates(
        self,
        synapse: S,
        eligibility: Array,
        modulator: Float[ArrayLike, "*#n_out"] | float,
        out_mask: Float[ArrayLike, " n_out"] | None = None,
    ) -> S:
        """Updates $r\\,E \\odot m_{\\text{out}}$ shaped like `synapse` (`modulator` a
        scalar or one value per postsynaptic cell, broadcast against the weights' last
        axis)."""
        r = jnp.asarray(modulator, eligibility.dtype)
        dW = eligibility * (r if r.ndim == 0 else jnp.broadcast_to(r, eligibility.shape))
        if out_mask is not None:
            mask = jnp.asarray(out_mask, eligibility.dtype)
            dW = dW * jnp.broadcast_to(mask, eligibility.shape)
        return synapse.updates(dW)
