r"""Rate-based local rules written over a synapse's contraction: BCM (with its sliding
threshold as an explicit state value), Oja's rule and Gerstner & Kistler's general Hebbian
expansion.

Each rule is a final :class:`~ngcx.plasticity.AbstractRule`: ``rule(synapse, pre, post,
...)`` returns updates shaped like the synapse (``synapse.updates(dW)``), in the direction
the weights should move. They use only ``synapse.contract(pre, post)`` (the batch-summed
correlation $C$: $\text{pre}^\top\text{post}$ for a dense synapse, the filter correlation
for conv/deconv synapses) and the weights, so one rule object serves every synapse type.
"Postsynaptic units" are the last axis of ``post`` (the output channels of a conv
synapse); batch statistics are taken over every other axis.
"""

from __future__ import annotations

from typing import Any, TypeVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._params import is_static_zero, param
from .._shapes import left_pad_rank
from ..synapses import AbstractSynapse, DenseSynapse
from ._rules import AbstractRule, _check_synapse


__all__ = ["BCM", "Oja", "GerstnerHebbian"]

S = TypeVar("S", bound=AbstractSynapse)


def _n_sites(post: Array) -> int:
    """The number of postsynaptic samples (batch entries, times positions for conv)."""
    return max(int(post.size // max(post.shape[-1], 1)), 1) if post.ndim else 1


class BCM(AbstractRule):
    r"""The Bienenstock-Cooper-Munro rule with a sliding modification threshold (ngc-learn's
    ``BCMSynapse`` rule; Bienenstock et al. 1982 in the form of Law & Cooper 1994):

    $$\Delta W = C\Big(x,\ \frac{y\,(y - \theta)}{\theta + \epsilon}\Big)
    \odot (w_{\max} - \lvert W\rvert)^{[w_{\max} > 0]},
    \qquad \theta \leftarrow \theta + \frac{\Delta t}{\tau_\theta}
    \big(\langle y^2\rangle - \theta\big),$$

    with presynaptic activity $x$, postsynaptic activity $y$, one threshold $\theta_j$ per
    postsynaptic unit (the output channel of a conv synapse), $\langle\cdot\rangle$ the
    mean over the batch (and positions) and ``w_bound`` $w_{\max}$ (0: no soft bound).
    Synapses onto a unit grow when its activity exceeds $\theta_j$ and shrink below it;
    because $\theta_j$ tracks $\langle y_j^2\rangle$, a unit ends up responding to one
    input pattern (selectivity). The leaky weight ODE $\tau_w \dot W = -\lambda W +
    \Delta W$ is the optax chain of :func:`ngcx.plasticity.BCMSynapse` (learning rate
    $\Delta t/\tau_w$, decay $\lambda$).

    **State:** the threshold $\theta$ is a value the caller carries, shape ``(n_out,)``:
    :meth:`init_threshold` gives $\theta_0$, :meth:`threshold_step` advances it. The
    update uses the threshold *before* it is advanced (as ngc-learn does).
    """

    tau_theta: Float[Array, ""]
    theta0: Float[Array, ""]
    w_bound: Float[Array, ""]
    eps: Float[Array, ""]
    soft_bound: bool = eqx.field(static=True)

    def __init__(self, tau_theta: Any, theta0: Any = -1.0, w_bound: Any = 0.0, eps: Any = 1e-7):
        r"""**Arguments:**

        - `tau_theta`: time constant of the threshold (ms, $> 0$).
        - `theta0`: initial threshold (ngc-learn's default $-1$).
        - `w_bound`: soft bound $w_{\max}$ ($\ge 0$; a concrete 0 leaves the factor out).
        - `eps`: added to $\theta$ in the denominator ($\ge 0$; ngc-learn's $10^{-7}$).

        All are scalar leaves.
        """
        self.tau_theta = param(tau_theta, "tau_theta", "positive")
        self.theta0 = param(theta0, "theta0")
        self.w_bound = param(w_bound, "w_bound", "nonnegative")
        self.eps = param(eps, "eps", "nonnegative")
        self.soft_bound = not is_static_zero(self.w_bound)

    def init_threshold(self, synapse: AbstractSynapse) -> Float[Array, " n_out"]:
        """$\\theta_0$ for every postsynaptic unit of `synapse` (shape ``(n_out,)``)."""
        _check_synapse(synapse)
        n_out = synapse.weights.shape[-1]
        return jnp.full((n_out,), self.theta0, dtype=synapse.weights.dtype)

    def threshold_step(
        self, theta: Float[Array, " n_out"], post: Any, *, dt: Any = 1.0
    ) -> Float[Array, " n_out"]:
        """Advance $\\theta$ by one Euler step of ``dt`` ms towards the batch mean of
        $y^2$ (`post` shaped like the synapse's output)."""
        post = jnp.asarray(post)
        if post.shape[-1:] != theta.shape:
            raise ValueError(
                f"`post` must end in {theta.shape[0]} units to match `theta`, got {post.shape}."
            )
        y2 = jnp.mean(jnp.square(post).reshape(-1, post.shape[-1]), axis=0).astype(theta.dtype)
        rate = jnp.asarray(dt, theta.dtype) / self.tau_theta.astype(theta.dtype)
        return theta + rate * (y2 - theta)

    def delta(self, synapse: AbstractSynapse, pre: Any, post: Any, theta: Any) -> Array:
        """The weight-shaped $\\Delta W$ (see the class docstring)."""
        _check_synapse(synapse)
        post = jnp.asarray(post)
        th = left_pad_rank(jnp.asarray(theta, post.dtype), post.ndim)
        phi = post * (post - th) / (th + self.eps.astype(post.dtype))
        dW = synapse.contract(pre, phi)
        if self.soft_bound:  # a traced 0 also means "no soft bound"
            wb = self.w_bound.astype(dW.dtype)
            dW = jnp.where(wb > 0, dW * (wb - jnp.abs(synapse.weights)), dW)
        return dW

    def __call__(self, synapse: S, pre: Any, post: Any, theta: Any) -> S:
        """**Arguments:** `synapse`; `pre`, `post`: activity shaped like the synapse's input
        and output; `theta`: the threshold, shape ``(n_out,)``. **Returns:** updates
        shaped like `synapse` (no bias update)."""
        return synapse.updates(self.delta(synapse, pre, post, theta))


class Oja(AbstractRule):
    r"""Oja's rule (ngc-learn's ``OjaTensorSynapse`` rule; Oja 1982):

    $$\Delta W = C(x, y) - W \odot C(\mathbf 1, y^2),$$

    for a dense synapse $\Delta W_{ij} = \sum_b y_{bj}\,(x_{bi} - y_{bj} W_{ij})$: Hebbian
    growth with a decay that keeps each postsynaptic unit's weight vector at unit norm.
    For a linear unit $y = x W$ fed zero-mean inputs, the weight vector converges to the
    first principal component of the inputs, with norm 1. With ``correction=False`` the
    rule is plain Hebbian, $C(x, y)$. For a synapse that is not dense the decay uses the
    contraction of ones with $y^2$, i.e. each weight decays by the squared activity of
    the units it reaches (the tensor form of ngc-learn's ``OjaTensorSynapse``).
    """

    correction: bool = eqx.field(static=True)

    def __init__(self, correction: bool = True):
        """**Arguments:** `correction`: include Oja's decay term (ngc-learn's
        ``oja_factor > 0``; static)."""
        if not isinstance(correction, bool):
            raise TypeError(f"`correction` must be a bool, got {correction!r}.")
        self.correction = correction

    def delta(self, synapse: AbstractSynapse, pre: Any, post: Any) -> Array:
        """The weight-shaped $\\Delta W$."""
        _check_synapse(synapse)
        pre, post = jnp.asarray(pre), jnp.asarray(post)
        dW = synapse.contract(pre, post)
        if self.correction:
            y2 = jnp.square(post)
            W = synapse.weights
            if isinstance(synapse, DenseSynapse):
                # C(1, y^2) has identical rows: a broadcast of the batch sum
                decay = left_pad_rank(synapse.bias_contract(y2), W.ndim)
            else:
                decay = synapse.contract(jnp.ones_like(pre), y2)
            dW = dW - W * decay
        return dW

    def __call__(self, synapse: S, pre: Any, post: Any) -> S:
        """**Arguments:** `synapse`; `pre`, `post`: activity shaped like the synapse's input
        and output. **Returns:** updates shaped like `synapse` (no bias update)."""
        return synapse.updates(self.delta(synapse, pre, post))


class GerstnerHebbian(AbstractRule):
    r"""Gerstner & Kistler's general Hebbian rule, the expansion of Eq. 3 of Gerstner &
    Kistler (2002) to second order (ngc-learn's ``GerstnerHebbianSynapse`` rule):

    $$\Delta W = c_0\,W + \frac{1}{n}\Big(c_1^{\text{pre}}\, C(x, \mathbf 1)
    + c_1^{\text{post}}\, C(\mathbf 1, y) + c_2^{\text{corr}}\, C(x, y)\Big),$$

    with $n$ the number of samples (batch entries; times positions for conv synapses), so
    every term is a batch mean. $c_2 > 0$ alone is Hebb's rule, $c_2 < 0$ anti-Hebbian; a
    negative $c_1^{\text{pre}}$ sets a postsynaptic threshold for potentiation (with
    $c_2$ it gives $x\,(c_2 y + c_1^{\text{pre}})$) and a negative $c_1^{\text{post}}$
    a presynaptic one. ngc-learn's $a_0(w)$ is linear in the weight, $c_0 W$ (a decay for
    $c_0 < 0$). Terms whose coefficient is a concrete 0 are left out.
    """

    c0: Float[Array, ""]
    c1_pre: Float[Array, ""]
    c1_post: Float[Array, ""]
    c2_corr: Float[Array, ""]
    use_c0: bool = eqx.field(static=True)
    use_c1_post: bool = eqx.field(static=True)

    def __init__(self, c0: Any = 0.0, c1_pre: Any = 0.0, c1_post: Any = 0.0, c2_corr: Any = 1.0):
        """**Arguments:** the expansion coefficients `c0`, `c1_pre`, `c1_post`, `c2_corr`
        (ngc-learn's ``coeffs`` keys; finite scalar leaves; default: plain Hebb)."""
        self.c0 = param(c0, "c0")
        self.c1_pre = param(c1_pre, "c1_pre")
        self.c1_post = param(c1_post, "c1_post")
        self.c2_corr = param(c2_corr, "c2_corr")
        self.use_c0 = not is_static_zero(self.c0)
        self.use_c1_post = not is_static_zero(self.c1_post)

    def delta(self, synapse: AbstractSynapse, pre: Any, post: Any) -> Array:
        """The weight-shaped $\\Delta W$."""
        _check_synapse(synapse)
        pre, post = jnp.asarray(pre), jnp.asarray(post)
        dt = post.dtype
        inv_n = 1.0 / _n_sites(post)
        c2, c1_pre = self.c2_corr.astype(dt) * inv_n, self.c1_pre.astype(dt) * inv_n
        # c1_pre C(x, 1) + c2 C(x, y) = C(x, c2 y + c1_pre): one contraction (linear in post)
        dW = synapse.contract(pre, c2 * post + c1_pre)
        if self.use_c1_post:
            c1_post = self.c1_post.astype(dt) * inv_n
            dW = dW + synapse.contract(jnp.ones_like(pre), c1_post * post)
        if self.use_c0:
            dW = dW + self.c0.astype(dW.dtype) * synapse.weights
        return dW

    def __call__(self, synapse: S, pre: Any, post: Any) -> S:
        """**Arguments:** `synapse`; `pre`, `post`: activity shaped like the synapse's input
        and output. **Returns:** updates shaped like `synapse` (no bias update)."""
        return synapse.updates(self.delta(synapse, pre, post))
