r"""Time-integrated STDP (Gebhardt & Ororbia 2024, "Time-Integrated Spike-Timing-Dependent
Plasticity", arXiv:2407.10028; ngc-museum's ``time-integrated-stdp`` exhibit, which ships it
as a custom synapse: ngc-learn 3.2 has no time-integrated rule).

:class:`TISTDP` reads only the times of last spike of the two sides and acts at every step,
so a spike pairing keeps changing the weight while the postsynaptic trace decays. The
exhibit's network is :class:`ngcx.models.TISTDPNetwork`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .._params import param
from ..synapses import AbstractSynapse
from ._rules import AbstractRule
from ._transforms import stdp


__all__ = ["TISTDP"]


class TISTDP(AbstractRule):
    r"""Time-integrated STDP (Gebhardt & Ororbia 2024; the exhibit's ``TI_STDP_Synapse``).

    The rule reads only the times of last spike $t^{\text{pre}}_i$, $t^{\text{post}}_j$
    (ms; 0 means "has not spiked", as for ngcx's cells' ``tols``) and is applied at every
    step $t$ of ``dt`` $\Delta t$, so each spike pairing keeps acting, with a weight that
    decays with the time since the postsynaptic spike,
    $e_j = e^{-(t - t^{\text{post}}_j)/\Delta t}$. With $m_i = 1[t^{\text{pre}}_i > 0]$ and
    $n_j = 1[t^{\text{post}}_j > 0]$:

    $$P_{ij} = n_j m_i\,\frac{-\alpha\beta\, e_j}
    {t^{\text{pre}}_i - t^{\text{post}}_j - \Delta t/2}, \qquad
    D_{ij} = -n_j (1 - m_i)\,\alpha\, p_d\, e_j,$$

    $$\Delta W_{ij} = A_\pm P_{ij}\,(w_{\max} - W_{ij}) + D_{ij}\,W_{ij}$$

    ($A_+$ where $P_{ij} > 0$, $A_-$ otherwise). A presynaptic spike at or before the
    postsynaptic one ($t^{\text{pre}} \le t^{\text{post}}$) makes the denominator negative:
    potentiation, strongest ($2\alpha\beta/\Delta t$) for coincident spikes and falling as
    $1/(\text{lag} + \Delta t/2)$; a presynaptic spike after it depresses, strongest
    ($2\alpha\beta/\Delta t$) one step later. A synapse whose input never spiked decays at
    rate $\alpha p_d$ (``pre_decay``). The potentiation/depression term is scaled by the
    distance to the bound $w_{\max}$ (``w_bound``) and the decay by the weight; weights are
    then clipped to $[0, w_{\max}]$ (:meth:`optimizer`).

    The update is a pairwise function of spike times, not a correlation of activities, so
    this rule works on dense synapses (weights ``(n_in, n_out)``) and one sample at a time
    (rank-1 ``pre_tols``/``post_tols``), as the exhibit. All parameters are array leaves.
    """

    alpha: Float[Array, ""]
    beta: Float[Array, ""]
    pre_decay: Float[Array, ""]
    A_plus: Float[Array, ""]
    A_minus: Float[Array, ""]
    w_bound: Float[Array, ""]

    def __init__(
        self,
        alpha: Any = 0.0075,
        beta: Any = 0.5,
        pre_decay: Any = 0.5,
        A_plus: Any = 1.0,
        A_minus: Any = 1.0,
        w_bound: Any = 1.0,
    ):
        r"""The exhibit's synapse defaults. **Arguments** (all $\ge 0$ leaves): `alpha`
        $\alpha$ (the rate), `beta` $\beta$ (the pairing term's scale), `pre_decay` $p_d$
        (the decay of synapses without a presynaptic spike), `A_plus`, `A_minus` (the
        potentiation and depression gains, 1 in the exhibit), `w_bound` ($> 0$)."""
        self.alpha = param(alpha, "alpha", "nonnegative")
        self.beta = param(beta, "beta", "nonnegative")
        self.pre_decay = param(pre_decay, "pre_decay", "nonnegative")
        self.A_plus = param(A_plus, "A_plus", "nonnegative")
        self.A_minus = param(A_minus, "A_minus", "nonnegative")
        self.w_bound = param(w_bound, "w_bound", "positive")

    def delta(
        self,
        W: Float[Array, "n_in n_out"],
        pre_tols: Float[Array, " n_in"],
        post_tols: Float[Array, " n_out"],
        t: Any,
        dt: Any,
    ) -> Float[Array, "n_in n_out"]:
        """The weight-shaped $\\Delta W$ for weights `W` at time `t` (ms) with step `dt`
        (ms), see the class docstring."""
        dtype = W.dtype
        t = jnp.asarray(t, dtype)
        dt = jnp.asarray(dt, dtype)
        pre_on = (pre_tols > 0).astype(dtype)[:, None]
        post_on = (post_tols > 0).astype(dtype)[None, :]
        e = jnp.exp(-(t - post_tols) / dt)[None, :]
        denom = pre_tols[:, None] - post_tols[None, :] - 0.5 * dt
        # on the dt grid the denominator is never 0; guard the entries the masks drop
        safe = jnp.where(denom == 0, -0.5 * dt, denom)
        pair = post_on * pre_on * (-self.alpha * self.beta * e / safe)
        pair = jnp.where(pair > 0, self.A_plus * pair, self.A_minus * pair)
        decay = -post_on * (1.0 - pre_on) * (self.alpha * self.pre_decay * e)
        return pair * (self.w_bound - W) + decay * W

    def __call__(self, synapse: Any, pre_tols: Any, post_tols: Any, t: Any, dt: Any = 1.0) -> Any:
        """**Arguments:** a dense `synapse`; `pre_tols` ``(n_in,)`` and `post_tols`
        ``(n_out,)``, the times of last spike (ms, 0: none); `t` the present time and `dt`
        the step (ms). **Returns:** updates shaped like `synapse`."""
        if not isinstance(synapse, AbstractSynapse) or synapse.weights.ndim != 2:
            raise TypeError(
                "`synapse` must be a dense ngcx synapse (weights of shape (n_in, n_out)), "
                f"got {type(synapse).__name__}."
            )
        W = synapse.weights
        pre_tols = jnp.asarray(pre_tols, W.dtype)
        post_tols = jnp.asarray(post_tols, W.dtype)
        if pre_tols.shape != W.shape[:1] or post_tols.shape != W.shape[1:]:
            raise ValueError(
                f"`pre_tols` and `post_tols` must have shapes ({W.shape[0]},) and "
                f"({W.shape[1]},) (one sample), got {pre_tols.shape} and {post_tols.shape}."
            )
        return synapse.updates(self.delta(W, pre_tols, post_tols, t, dt))

    def optimizer(self) -> optax.GradientTransformation:
        """The exhibit's application: $W \\leftarrow \\mathrm{clip}(W + \\Delta W, 0,
        w_{\\max})$ (:func:`ngcx.plasticity.stdp` at rate 1)."""
        return stdp(1.0, w_bound=self.w_bound)
