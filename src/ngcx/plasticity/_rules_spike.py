r"""Spike-timing rules written over a synapse's contraction: pair STDP with exponential
windows (from times of last spike) and Vogels-Sprekeler inhibitory STDP with a target rate.

Each rule is a final :class:`~ngcx.plasticity.AbstractRule` returning updates shaped like
the synapse, in the direction the weights should move; it uses only
``synapse.contract(pre, post)`` and the weights, so it serves dense, conv and deconv
synapses alike.
"""

from __future__ import annotations

from typing import Any, TypeVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._params import is_static_zero, param
from ..synapses import AbstractSynapse
from ._rules import AbstractRule, _check_synapse
from ._rules_rate import _n_sites


__all__ = ["PairSTDP", "InhibitorySTDP"]

S = TypeVar("S", bound=AbstractSynapse)


class PairSTDP(AbstractRule):
    r"""Pair-based STDP with exponential windows (ngc-learn's ``STDPSynapse`` rule; Markram
    et al. 1997, Bi & Poo 2001), from the times of last spike $t^{\text{pre}}$,
    $t^{\text{post}}$ (0: no spike yet) at the present time $t$:

    $$\Delta W = A_+\, C\big(e^{-(t - t^{\text{pre}})/\tau_+}\,
    1[0 < t^{\text{pre}} < t],\ s^{\text{post}}\big)
    \;-\; A_-\, C\big(s^{\text{pre}},\ e^{-(t - t^{\text{post}})/\tau_-}\,
    1[0 < t^{\text{post}} < t]\big).$$

    A postsynaptic spike at $t$ potentiates each synapse whose presynaptic cell last spiked
    $\Delta = t - t^{\text{pre}} > 0$ ms earlier by $A_+ e^{-\Delta/\tau_+}$; a presynaptic
    spike at $t$ depresses each synapse whose postsynaptic cell last spiked $\Delta > 0$ ms
    earlier by $A_- e^{-\Delta/\tau_-}$ (nearest-spike pairing; simultaneous spikes do
    nothing). Because the spikes are at $t$, this is ngc-learn's pair matrix
    $t^{\text{post}}_j - t^{\text{pre}}_i$ written as two contractions (batches and
    conv synapses work). ngc-learn's depression window is $e^{+\Delta/\tau_-}$, which
    *grows* with the delay; ngcx uses the decaying window $e^{-\Delta/\tau_-}$ of the
    pair-STDP literature. The depression term is left out for a concrete ``A_minus = 0``.
    """

    A_plus: Float[Array, ""]
    A_minus: Float[Array, ""]
    tau_plus: Float[Array, ""]
    tau_minus: Float[Array, ""]
    depression: bool = eqx.field(static=True)

    def __init__(self, A_plus: Any, A_minus: Any, tau_plus: Any = 10.0, tau_minus: Any = 10.0):
        """**Arguments:** `A_plus`, `A_minus` ($\\ge 0$): potentiation and depression
        amplitudes; `tau_plus`, `tau_minus` (ms, $> 0$): the window time constants. All
        are scalar leaves."""
        self.A_plus = param(A_plus, "A_plus", "nonnegative")
        self.A_minus = param(A_minus, "A_minus", "nonnegative")
        self.tau_plus = param(tau_plus, "tau_plus", "positive")
        self.tau_minus = param(tau_minus, "tau_minus", "positive")
        self.depression = not is_static_zero(self.A_minus)

    @staticmethod
    def _window(tols: Array, t: Array, tau: Array) -> Array:
        ok = (tols > 0) & (tols < t)
        lag = jnp.where(ok, t - tols, 0.0)
        return jnp.where(ok, jnp.exp(-lag / tau), 0.0)

    def delta(
        self, synapse: AbstractSynapse, pre: Any, post: Any, pre_tols: Any, post_tols: Any, t: Any
    ) -> Array:
        """The weight-shaped $\\Delta W$ (see the class docstring)."""
        _check_synapse(synapse)
        post = jnp.asarray(post)
        dt = post.dtype
        tt = jnp.asarray(t, dt)
        win_pre = self._window(jnp.asarray(pre_tols, dt), tt, self.tau_plus.astype(dt))
        dW = synapse.contract(self.A_plus.astype(dt) * win_pre, post)
        if self.depression:
            win_post = self._window(jnp.asarray(post_tols, dt), tt, self.tau_minus.astype(dt))
            pre = jnp.asarray(pre, dt)
            dW = dW - synapse.contract(self.A_minus.astype(dt) * pre, win_post)
        return dW

    def __call__(self, synapse: S, pre: Any, post: Any, pre_tols: Any, post_tols: Any, t: Any) -> S:
        """**Arguments:** `synapse`; spikes `pre`, `post`; times of last spike `pre_tols`,
        `post_tols` (ms, shaped like the synapse's input and output; 0 for none); `t`: the
        present time (ms). **Returns:** updates shaped like `synapse`."""
        return synapse.updates(self.delta(synapse, pre, post, pre_tols, post_tols, t))


class InhibitorySTDP(AbstractRule):
    r"""Inhibitory STDP with a target rate (ngc-learn's ``InhibitorySTDPSynapse`` rule;
    Vogels, Sprekeler et al. 2011). For inhibitory presynaptic spikes $s^{\text{pre}}$,
    postsynaptic spikes $s^{\text{post}}$ and their traces $x$:

    $$\Delta W = \frac{1}{n}\Big(A_+\big[C(x^{\text{pre}}, s^{\text{post}}) +
    C(s^{\text{pre}}, x^{\text{post}})\big]\odot B_+
    \;-\; A_-\, 2\rho\, C(x^{\text{pre}}, \mathbf 1)\odot B_-\Big),$$

    ($n$ samples, so a batch mean). Coincident activity strengthens inhibition and every
    presynaptic spike, through its trace, weakens it by $2\rho$: with $A_+ = A_-$ and no
    soft bounds ($B_\pm = 1$) the drift vanishes exactly when the postsynaptic spike
    probability per step is $\rho$ (for traces that are low-pass filtered spikes, see
    :meth:`trace_step`), so the inhibition settles where the cell fires at the target
    rate. With ``soft_bounds`` (ngc-learn's default) $B_+ = w_{\max} - W$, $B_- = W$,
    and the fixed point moves with the weight. Vogels et al. depress by $\alpha$ at each
    presynaptic spike; ngc-learn (and ngcx) depress by $2\rho\,x^{\text{pre}}$, the same
    drift in expectation.

    With ``voltage_dependent`` (Földiák's anti-Hebbian form):
    $\Delta W = \tfrac1n C(x^{\text{pre}}, v^{\text{post}} - \rho)$ times
    $w_{\max} - W$ where positive and $W$ elsewhere.

    **State:** the traces are values the caller carries (or takes from trace cells);
    :meth:`trace_step` is ngc-learn's filter
    $x \leftarrow x + \tfrac{\Delta t}{\tau}(s - x)$ with ``tau_x_pre`` / ``tau_x_post``.
    """

    A_plus: Float[Array, ""]
    A_minus: Float[Array, ""]
    rho: Float[Array, ""]
    w_max: Float[Array, ""]
    tau_x_pre: Float[Array, ""]
    tau_x_post: Float[Array, ""]
    soft_bounds: bool = eqx.field(static=True)
    voltage_dependent: bool = eqx.field(static=True)

    def __init__(
        self,
        A_plus: Any = 1.0,
        A_minus: Any = 1.0,
        rho: Any = 0.2,
        w_max: Any = 1.0,
        tau_x_pre: Any = 30.0,
        tau_x_post: Any = 30.0,
        soft_bounds: bool = True,
        voltage_dependent: bool = False,
    ):
        """**Arguments:**

        - `A_plus`, `A_minus` ($\\ge 0$): weights of the coincidence and target terms.
        - `rho`: the target spike probability per step ($\\ge 0$; a target voltage when
          `voltage_dependent`, then any real).
        - `w_max` ($> 0$): the upper weight of the soft bounds.
        - `tau_x_pre`, `tau_x_post` (ms, $> 0$): trace time constants (:meth:`trace_step`).
        - `soft_bounds`, `voltage_dependent`: static flags (see the class docstring).
        """
        self.A_plus = param(A_plus, "A_plus", "nonnegative")
        self.A_minus = param(A_minus, "A_minus", "nonnegative")
        if not isinstance(soft_bounds, bool) or not isinstance(voltage_dependent, bool):
            raise TypeError(
                "`use_soft_bounds` and `is_volt_dependent` must be bools, got "
                f"{soft_bounds!r} and {voltage_dependent!r}."
            )
        self.rho = param(rho, "rho", "real" if voltage_dependent else "nonnegative")
        self.w_max = param(w_max, "w_max", "positive")
        self.tau_x_pre = param(tau_x_pre, "tau_x_pre", "positive")
        self.tau_x_post = param(tau_x_post, "tau_x_post", "positive")
        self.soft_bounds = soft_bounds
        self.voltage_dependent = voltage_dependent

    def trace_step(
        self, pre_trace: Any, post_trace: Any, pre: Any, post: Any, *, dt: Any = 1.0
    ) -> tuple[Array, Array]:
        """Advance both traces by one step of ``dt`` ms with the new spikes `pre`, `post`:
        $x \\leftarrow x + \\tfrac{\\Delta t}{\\tau}(s - x)$. **Returns** ``(pre_trace,
        post_trace)``."""
        xp, xq = jnp.asarray(pre_trace), jnp.asarray(post_trace)
        h = jnp.asarray(dt, xp.dtype)
        xp = xp + (h / self.tau_x_pre.astype(xp.dtype)) * (jnp.asarray(pre, xp.dtype) - xp)
        xq = xq + (h / self.tau_x_post.astype(xq.dtype)) * (jnp.asarray(post, xq.dtype) - xq)
        return xp, xq

    def delta(
        self,
        synapse: AbstractSynapse,
        pre: Any,
        post: Any,
        pre_trace: Any,
        post_trace: Any,
        v_post: Any = None,
    ) -> Array:
        """The weight-shaped $\\Delta W$ (see the class docstring)."""
        _check_synapse(synapse)
        W = synapse.weights
        x_pre = jnp.asarray(pre_trace)
        dt = x_pre.dtype
        w_max = self.w_max.astype(W.dtype)
        if self.voltage_dependent:
            if v_post is None:
                raise ValueError("`v_post` is needed by the voltage-dependent rule.")
            v = jnp.asarray(v_post, dt)
            dW = synapse.contract(x_pre, (v - self.rho.astype(dt)) / _n_sites(v))
            return dW * jnp.where(dW > 0, w_max - W, W)
        s_post = jnp.asarray(post, dt)
        inv_n = 1.0 / _n_sites(s_post)
        a_plus = self.A_plus.astype(dt) * inv_n
        ltd_scale = self.A_minus.astype(dt) * (2.0 * self.rho.astype(dt)) * inv_n
        coinc_post = synapse.contract(jnp.asarray(pre, dt), a_plus * jnp.asarray(post_trace, dt))
        if not self.soft_bounds:
            # A+ C(x, s) - A- 2 rho C(x, 1) = C(x, A+ s - A- 2 rho): one contraction
            return synapse.contract(x_pre, a_plus * s_post - ltd_scale) + coinc_post
        ltp = synapse.contract(x_pre, a_plus * s_post) + coinc_post
        ltd = synapse.contract(x_pre, jnp.full_like(s_post, 1.0) * ltd_scale)
        return ltp * (w_max - W) - ltd * W

    def __call__(
        self,
        synapse: S,
        pre: Any,
        post: Any,
        pre_trace: Any,
        post_trace: Any,
        v_post: Any = None,
    ) -> S:
        """**Arguments:** `synapse`; spikes `pre` (inhibitory cells), `post`; their traces
        `pre_trace`, `post_trace` (shaped like the synapse's input and output); `v_post`:
        the postsynaptic voltage (only for the voltage-dependent rule). **Returns:**
        updates shaped like `synapse`."""
        return synapse.updates(self.delta(synapse, pre, post, pre_trace, post_trace, v_post))
