r"""Conductance synapses: presynaptic pulses drive a conductance with an exponential,
difference-of-exponentials or alpha kernel, and the synaptic current is
$i = r\,g\,(E_{\text{rev}} - v)$ (ngc-learn's ``ExponentialSynapse``,
``DoubleExpSynapse`` and ``AlphaSynapse``).

Every synapse here is a linear filter of the drive $u(t) = \bar g\, s(t)\,(W \odot M)$
(presynaptic pulses $s$ of shape ``(*batch, n_in)``, efficacies $W$, connectivity mask
$M$, peak conductance $\bar g$): $g = K * u$ with a kernel $K$ of peak 1, so $\bar g\,w$
is the largest conductance one pulse through a weight $w$ elicits (ngc-learn's own
definition of ``g_syn_bar``):

- exponential: $K(t) = e^{-t/\tau_d}$;
- double exponential: $K(t) = A\,(e^{-t/\tau_d} - e^{-t/\tau_r})$, $A$ normalising the
  peak at $t_p = \frac{\tau_d \tau_r}{\tau_d - \tau_r}\ln\frac{\tau_d}{\tau_r}$ to 1;
- alpha: $K(t) = \frac{t}{\tau_d}\, e^{1 - t/\tau_d}$ (peak 1 at $t = \tau_d$).

The kernels are linear ODEs, integrated exactly over a step ``dt`` (the propagator, not
an Euler step), so a pulse at step 0 gives $g(n\,\Delta t) = \bar g\, w\, K(n\,\Delta t)$
exactly for any ``dt``.

**Differences from ngc-learn 3.2:** ngc-learn integrates with forward Euler (an error of
order $\Delta t/\tau$ per step); its double-exponential kernel is not normalised (its
scale is left at ``A = 1``, so the peak is below $\bar g w$), and its alpha kernel adds
$h$ once per step whatever ``dt`` (peak $\bar g w \tau_d/(e\,\Delta t)$); without a
reversal potential it returns $-r g$, an inhibitory current for every synapse, where ngcx
returns the current-based $r g$ (the sign is the weights'); and its ``p_conn`` is passed
to ``DenseSynapse``'s ``p_release_mean`` by position (so it never masks).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from .._custom_types import Key, ParamLike, Scalar
from .._params import bcast, is_concrete, param
from ..cells._common import check_dt
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse
from ._dense import _init_weights, connectivity_mask, outer_sum


__all__ = [
    "AbstractConductanceSynapse",
    "ConductanceState",
    "ExponentialSynapse",
    "DoubleExpSynapse",
    "AlphaSynapse",
]


class ConductanceState(eqx.Module):
    r"""The state of a conductance synapse.

    **Fields:** ``g_syn``, the conductance, shape ``(*batch, n_out)``; ``h_syn``, the
    intermediate (rise) variable of the double-exponential and alpha kernels, same shape,
    or ``None`` for the exponential synapse.
    """

    g_syn: Float[Array, "*batch n_out"]
    h_syn: Float[Array, "*batch n_out"] | None


def _conductance_weights(
    key: Key,
    shape: tuple[int, int],
    weight_init: Initializer | None,
    p_conn: Any,
    mask: ArrayLike | None,
    is_nonplastic: bool,
    dtype: Any,
) -> tuple[Array, Array | None]:
    wkey, ckey = jax.random.split(key)
    init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
    w = _init_weights(wkey, tuple(shape), init, dtype)  # type: ignore[arg-type]
    if is_nonplastic:
        w = jnp.ones_like(w)
    m = connectivity_mask(ckey, tuple(shape), p_conn, mask)
    if m is not None:
        w = jnp.where(m, w, jnp.zeros_like(w))
    return w, m


class AbstractConductanceSynapse(AbstractSynapse):
    r"""Abstract base of the conductance synapses (see the module docstring).

    The map is the conductance drive $u = \bar g\, s\,(W \odot M)$ (``__call__``), with
    its transpose (``backtransmit``) and the masked, batch-summed correlation
    ``contract`` $= M \odot \sum_b s^\top \text{post}$ that rules of
    :mod:`ngcx.plasticity` use; ``bias_contract`` is the batch sum (these synapses have no
    biases). The dynamics are stepped with ``init_state`` and ``step``:

    ```python
    state = syn.init_state((batch,))
    i_syn, state = syn.step(state, spikes, v, dt=dt)
    ```

    Concrete subclasses hold ``weights`` ``(n_in, n_out)``, ``biases`` (``None``),
    ``resist_scale`` $r$, ``g_syn_bar`` $\bar g$, ``syn_rest`` $E_{\text{rev}}$ (or
    ``None``: a current-based synapse, $i = r g$), ``tau_decay`` $\tau_d$ (scalars or one
    value per postsynaptic unit) and ``mask`` (``None``: fully connected).
    """

    g_syn_bar: eqx.AbstractVar[Array]
    syn_rest: eqx.AbstractVar[Array | None]
    tau_decay: eqx.AbstractVar[Array]
    mask: eqx.AbstractVar[Array | None]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        n_in, n_out = self.weights.shape
        return int(n_in), int(n_out)

    def _check_width(self, x: Array, axis_size: int, name: str) -> None:
        if x.ndim == 0 or x.shape[-1] != axis_size:
            raise ValueError(
                f"`{name}` must end in {axis_size} units for a synapse of shape {self.shape}, "
                f"got shape {x.shape}."
            )

    def _weights(self) -> Array:
        if self.mask is None:
            return self.weights
        return jnp.where(self.mask, self.weights, jnp.zeros_like(self.weights))

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        r"""The conductance drive of pulses `x`: $\bar g\, x\,(W \odot M)$."""
        self._check_width(x, self.shape[0], "x")
        y = x @ self._weights()
        return bcast(self.g_syn_bar.astype(y.dtype), y.ndim) * y

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""The transpose of the drive: $(\bar g \odot \text{post})\,(W \odot M)^\top$."""
        self._check_width(post, self.shape[1], "post")
        g = bcast(self.g_syn_bar.astype(post.dtype), post.ndim) * post
        return g @ self._weights().T

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> Float[Array, "n_in n_out"]:
        r"""$M \odot \sum_{\text{batch}} \text{pre}^\top \text{post}$ (one matmul)."""
        self._check_width(pre, self.shape[0], "pre")
        self._check_width(post, self.shape[1], "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        c = outer_sum(pre, post)
        return c if self.mask is None else jnp.where(self.mask, c, jnp.zeros_like(c))

    def bias_contract(self, post: Float[Array, "*batch n_out"]) -> Float[Array, " n_out"]:
        r"""$\sum_{\text{batch}} \text{post}$."""
        self._check_width(post, self.shape[1], "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)

    def current(
        self, g_syn: Float[Array, "*batch n_out"], v: Float[Array, "*batch n_out"] | None = None
    ) -> Float[Array, "*batch n_out"]:
        r"""The synaptic current $i = r\,g\,(E_{\text{rev}} - v)$ (or $r\,g$ without a
        reversal potential; `v` is then ignored)."""
        i = self.resist_scale.astype(g_syn.dtype) * g_syn
        if self.syn_rest is None:
            return i
        if v is None:
            raise ValueError(
                "`v` (the postsynaptic voltage) is required by a synapse with `syn_rest`."
            )
        if v.shape != g_syn.shape:
            raise ValueError(f"`v` must have shape {g_syn.shape}, got {v.shape}.")
        e = bcast(self.syn_rest.astype(g_syn.dtype), g_syn.ndim)
        return i * (e - v.astype(g_syn.dtype))

    def init_state(self, batch_shape: tuple[int, ...] = (), dtype: Any = None) -> ConductanceState:
        """The resting state (no conductance) for ``(*batch_shape, n_out)``."""
        dtype = self.weights.dtype if dtype is None else dtype
        zeros = jnp.zeros((*tuple(batch_shape), self.shape[1]), dtype)
        return ConductanceState(zeros, None if self._stateless_rise() else zeros)

    @abc.abstractmethod
    def _stateless_rise(self) -> bool:
        """Whether the kernel has no rise variable ``h_syn``."""

    @abc.abstractmethod
    def _advance(self, state: ConductanceState, drive: Array, dt: Array) -> ConductanceState:
        """The exact propagator over `dt`, then the jump of `drive`."""

    def step(
        self,
        state: ConductanceState,
        x: Float[Array, "*batch n_in"],
        v: Float[Array, "*batch n_out"] | None = None,
        *,
        dt: Scalar = 1.0,
    ) -> tuple[Float[Array, "*batch n_out"], ConductanceState]:
        r"""One step of ``dt`` ms (finite and $> 0$; a ``ValueError`` names it when
        concrete): the conductance decays (exactly) and the pulses `x`
        arriving now add $\bar g\, x (W \odot M)$; returns ``(i_syn, new_state)``, the
        current $r\,g\,(E_{\text{rev}} - v)$ of the new conductance (`v` the
        postsynaptic voltage, ``(*batch, n_out)``; ignored without ``syn_rest``)."""
        self._check_width(x, self.shape[0], "x")
        if state.g_syn.shape != (*x.shape[:-1], self.shape[1]):
            raise ValueError(
                f"`state` must have shape {(*x.shape[:-1], self.shape[1])} for `x` of shape "
                f"{x.shape}, got {state.g_syn.shape}."
            )
        dt = check_dt(dt, self)
        dt_arr = jnp.asarray(dt, state.g_syn.dtype)
        dtype = state.g_syn.dtype
        drive = x.astype(dtype) @ self._weights().astype(dtype)
        drive = bcast(self.g_syn_bar.astype(dtype), drive.ndim) * drive
        new = self._advance(state, drive, dt_arr)
        return self.current(new.g_syn, v), new

    def kernel(self, t: Float[ArrayLike, "..."]) -> Array:
        r"""The analytic kernel $K(t)$ (peak 1) at times $t \geq 0$ (ms), one value per
        postsynaptic unit when the time constants are per unit."""
        return self._kernel(jnp.asarray(t))

    @abc.abstractmethod
    def _kernel(self, t: Array) -> Array: ...


def _common(
    shape: tuple[int, int],
    key: Key,
    weight_init: Initializer | None,
    resist_scale: Any,
    p_conn: Any,
    mask: ArrayLike | None,
    is_nonplastic: bool,
    g_syn_bar: Any,
    syn_rest: Any,
    dtype: Any,
) -> tuple[Array, Array | None, Array, Array, Array | None]:
    if len(tuple(shape)) != 2:
        raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
    w, m = _conductance_weights(key, shape, weight_init, p_conn, mask, is_nonplastic, dtype)
    n_out = int(shape[1])
    r = param(resist_scale, "resist_scale")
    gbar = param(g_syn_bar, "g_syn_bar", "nonnegative", n_units=n_out)
    erev = None if syn_rest is None else param(syn_rest, "syn_rest", n_units=n_out)
    return w, m, r, gbar, erev


class ExponentialSynapse(AbstractConductanceSynapse):
    r"""An exponential conductance synapse (ngc-learn's ``ExponentialSynapse``):

    $$\frac{dg}{dt} = -\frac{g}{\tau_d} + \bar g \sum_k s(t_k)(W\odot M)\,\delta(t - t_k),
    \qquad i = r\, g\,(E_{\text{rev}} - v),$$

    stepped exactly: $g \leftarrow g\,e^{-\Delta t/\tau_d} + \bar g\, s\,(W \odot M)$. One
    pulse through weight $w$ at $t = 0$ gives $g(t) = \bar g\, w\, e^{-t/\tau_d}$.
    See :class:`AbstractConductanceSynapse` for the map and the stepping protocol and the
    module docstring for the differences from ngc-learn.
    """

    weights: Float[Array, "n_in n_out"]
    biases: None
    resist_scale: Float[Array, ""]
    tau_decay: Float[Array, "..."]
    g_syn_bar: Float[Array, "..."]
    syn_rest: Float[Array, "..."] | None
    mask: Bool[Array, "n_in n_out"] | None

    def __init__(
        self,
        shape: tuple[int, int],
        tau_decay: ParamLike,
        g_syn_bar: ParamLike,
        syn_rest: ParamLike | None,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: ParamLike = 1.0,
        p_conn: ParamLike = 1.0,
        is_nonplastic: bool = True,
        mask: ArrayLike | None = None,
        dtype: Any = None,
    ):
        r"""**Arguments:**

        - `shape`: ``(n_in, n_out)``.
        - `tau_decay`: decay time constant $\tau_d > 0$ (ms; scalar or per postsynaptic
          unit).
        - `g_syn_bar`: peak conductance per pulse $\bar g \geq 0$ (scalar or per unit).
        - `syn_rest`: reversal potential $E_{\text{rev}}$ (mV), or ``None`` for a
          voltage-independent (current-based) synapse.
        - `key`: PRNG key of the weights and the connectivity.
        - `weight_init`: initialiser of $W$ (default uniform on $[0.025, 0.8]$), used
          when `is_nonplastic` is false.
        - `resist_scale`: $r$, multiplies the current (ngc-learn's ``g_conduct_factor``).
        - `p_conn`: connection probability in $(0, 1]$ (a fixed random mask).
        - `is_nonplastic`: if true (default, as ngc-learn) all weights are 1 (masked).
        - `mask`: a user connectivity mask of shape `shape`.
        - `dtype`: parameter dtype.
        """
        w, m, r, gbar, erev = _common(
            shape, key, weight_init, resist_scale, p_conn, mask, is_nonplastic,
            g_syn_bar, syn_rest, dtype,
        )  # fmt: skip
        self.weights, self.mask, self.resist_scale = w, m, r
        self.g_syn_bar, self.syn_rest = gbar, erev
        self.biases = None
        self.tau_decay = param(tau_decay, "tau_decay", "positive", n_units=int(shape[1]))

    def _stateless_rise(self) -> bool:
        return True

    def _advance(self, state: ConductanceState, drive: Array, dt: Array) -> ConductanceState:
        tau = bcast(self.tau_decay.astype(drive.dtype), drive.ndim)
        return ConductanceState(state.g_syn * jnp.exp(-dt / tau) + drive, None)

    def _kernel(self, t: Array) -> Array:
        tau = self.tau_decay
        t = t.astype(tau.dtype)
        if tau.ndim:
            t = t[..., None]
        return jnp.exp(-t / tau)


def _check_rise(tau_rise: Any, tau_decay: Any) -> None:
    if is_concrete((tau_rise, tau_decay)):
        r = np.asarray(tau_rise, dtype=np.float64)
        d = np.asarray(tau_decay, dtype=np.float64)
        if not np.all(r < d):
            raise ValueError(f"`tau_rise` must be below `tau_decay` ({tau_decay}), got {tau_rise}.")


def _peak_scale(tau_rise: Array, tau_decay: Array) -> Array:
    r"""$A = 1/(e^{-t_p/\tau_d} - e^{-t_p/\tau_r})$ at the peak time $t_p$."""
    tp = tau_decay * tau_rise / (tau_decay - tau_rise) * jnp.log(tau_decay / tau_rise)
    return 1.0 / (jnp.exp(-tp / tau_decay) - jnp.exp(-tp / tau_rise))


class DoubleExpSynapse(AbstractConductanceSynapse):
    r"""A difference-of-exponentials conductance synapse (ngc-learn's
    ``DoubleExpSynapse``):

    $$\frac{dh}{dt} = -\frac{h}{\tau_r} + A\left(\tfrac{1}{\tau_r} - \tfrac{1}{\tau_d}
    \right)\bar g\sum_k s(t_k)(W\odot M)\,\delta(t - t_k), \qquad
    \frac{dg}{dt} = -\frac{g}{\tau_d} + h, \qquad i = r\,g\,(E_{\text{rev}} - v),$$

    so one pulse through weight $w$ at $t = 0$ gives
    $g(t) = A\,\bar g\, w\,(e^{-t/\tau_d} - e^{-t/\tau_r})$, whose peak is $\bar g\,w$
    ($A$ as in the module docstring; $\tau_r < \tau_d$). Stepped exactly:
    $h \leftarrow h\,a_r$, $g \leftarrow g\,a_d + h\,\frac{a_d - a_r}{1/\tau_r - 1/\tau_d}$
    ($a_x = e^{-\Delta t/\tau_x}$), then the jump of $h$.
    ngc-learn leaves the scale at $A = 1$ (unnormalised) and integrates with Euler.
    """

    weights: Float[Array, "n_in n_out"]
    biases: None
    resist_scale: Float[Array, ""]
    tau_decay: Float[Array, "..."]
    tau_rise: Float[Array, "..."]
    g_syn_bar: Float[Array, "..."]
    syn_rest: Float[Array, "..."] | None
    mask: Bool[Array, "n_in n_out"] | None

    def __init__(
        self,
        shape: tuple[int, int],
        tau_decay: ParamLike,
        tau_rise: ParamLike,
        g_syn_bar: ParamLike,
        syn_rest: ParamLike | None,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: ParamLike = 1.0,
        p_conn: ParamLike = 1.0,
        is_nonplastic: bool = True,
        mask: ArrayLike | None = None,
        dtype: Any = None,
    ):
        r"""**Arguments:** as :class:`ExponentialSynapse`, and `tau_rise`, the rise time
        constant $0 < \tau_r < \tau_d$ (ms; scalar or per postsynaptic unit).

        **Raises:** ``ValueError`` naming `tau_rise` when it is not below `tau_decay`.
        """
        w, m, r, gbar, erev = _common(
            shape, key, weight_init, resist_scale, p_conn, mask, is_nonplastic,
            g_syn_bar, syn_rest, dtype,
        )  # fmt: skip
        self.weights, self.mask, self.resist_scale = w, m, r
        self.g_syn_bar, self.syn_rest = gbar, erev
        self.biases = None
        n_out = int(shape[1])
        self.tau_decay = param(tau_decay, "tau_decay", "positive", n_units=n_out)
        self.tau_rise = param(tau_rise, "tau_rise", "positive", n_units=n_out)
        _check_rise(tau_rise, tau_decay)

    def _stateless_rise(self) -> bool:
        return False

    def _advance(self, state: ConductanceState, drive: Array, dt: Array) -> ConductanceState:
        assert state.h_syn is not None
        td = bcast(self.tau_decay.astype(drive.dtype), drive.ndim)
        tr = bcast(self.tau_rise.astype(drive.dtype), drive.ndim)
        a_d, a_r = jnp.exp(-dt / td), jnp.exp(-dt / tr)
        rate = 1.0 / tr - 1.0 / td
        g = state.g_syn * a_d + state.h_syn * (a_d - a_r) / rate
        h = state.h_syn * a_r + _peak_scale(tr, td) * rate * drive
        return ConductanceState(g, h)

    def _kernel(self, t: Array) -> Array:
        td, tr = self.tau_decay, self.tau_rise
        t = t.astype(td.dtype)
        if td.ndim or tr.ndim:
            t = t[..., None]
        return _peak_scale(tr, td) * (jnp.exp(-t / td) - jnp.exp(-t / tr))


class AlphaSynapse(AbstractConductanceSynapse):
    r"""An alpha-function conductance synapse (ngc-learn's ``AlphaSynapse``):

    $$\frac{dh}{dt} = -\frac{h}{\tau_d} + \bar g\sum_k s(t_k)(W\odot M)\,\delta(t - t_k),
    \qquad \frac{dg}{dt} = -\frac{g}{\tau_d} + \frac{e}{\tau_d}\,h, \qquad
    i = r\,g\,(E_{\text{rev}} - v),$$

    so one pulse through weight $w$ at $t = 0$ gives
    $g(t) = \bar g\, w\, \frac{t}{\tau_d}\, e^{1 - t/\tau_d}$ (peak $\bar g w$ at
    $t = \tau_d$). Stepped exactly: $g \leftarrow a\,(g + \frac{e\,\Delta t}{\tau_d} h)$,
    $h \leftarrow a\,h$ ($a = e^{-\Delta t/\tau_d}$), then the jump of $h$. ngc-learn adds
    $h$ to $g$ once per step (peak $\bar g w \tau_d / (e\,\Delta t)$, depending on
    ``dt``) with Euler steps.
    """

    weights: Float[Array, "n_in n_out"]
    biases: None
    resist_scale: Float[Array, ""]
    tau_decay: Float[Array, "..."]
    g_syn_bar: Float[Array, "..."]
    syn_rest: Float[Array, "..."] | None
    mask: Bool[Array, "n_in n_out"] | None

    def __init__(
        self,
        shape: tuple[int, int],
        tau_decay: ParamLike,
        g_syn_bar: ParamLike,
        syn_rest: ParamLike | None,
        *,
        key: Key,
        weight_init: Initializer | None = None,
        resist_scale: ParamLike = 1.0,
        p_conn: ParamLike = 1.0,
        is_nonplastic: bool = True,
        mask: ArrayLike | None = None,
        dtype: Any = None,
    ):
        r"""**Arguments:** as :class:`ExponentialSynapse` (`tau_decay` is the time to the
        peak of the alpha function)."""
        w, m, r, gbar, erev = _common(
            shape, key, weight_init, resist_scale, p_conn, mask, is_nonplastic,
            g_syn_bar, syn_rest, dtype,
        )  # fmt: skip
        self.weights, self.mask, self.resist_scale = w, m, r
        self.g_syn_bar, self.syn_rest = gbar, erev
        self.biases = None
        self.tau_decay = param(tau_decay, "tau_decay", "positive", n_units=int(shape[1]))

    def _stateless_rise(self) -> bool:
        return False

    def _advance(self, state: ConductanceState, drive: Array, dt: Array) -> ConductanceState:
        assert state.h_syn is not None
        tau = bcast(self.tau_decay.astype(drive.dtype), drive.ndim)
        a = jnp.exp(-dt / tau)
        g = a * (state.g_syn + (math.e * dt / tau) * state.h_syn)
        h = a * state.h_syn + drive
        return ConductanceState(g, h)

    def _kernel(self, t: Array) -> Array:
        tau = self.tau_decay
        t = t.astype(tau.dtype)
        if tau.ndim:
            t = t[..., None]
        return (t / tau) * jnp.exp(1.0 - t / tau)
