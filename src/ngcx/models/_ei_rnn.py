r"""An excitatory-inhibitory recurrent network trained online by local rules: ngc-museum's
``ei_rnn`` exhibit (the continuous-time E/I RNN of Song, Yang & Wang 2016, fitted with
eligibility-traced local gradients instead of backpropagation through time).

A hidden population of :class:`ngcx.cells.LeakyNoiseCell` rate units, a fraction
``exc_fraction`` excitatory (sign $d_i = +1$) and the rest inhibitory ($d_i = -1$), is
driven by the input $u_t$ and by its own previous rates $r_{t-1}$:

$$\tau_x \dot x = -x + u_t W_\text{in} + b_\text{in} + (d \odot r_{t-1})\,V
+ \text{noise}, \qquad r = \mathrm{relu}(x) + \sigma_\text{post}\epsilon, \qquad
o_t = r\,W_\text{out} + b_\text{out}.$$

Every weight matrix is non-negative; the sign of a recurrent connection is its
presynaptic unit's $d_i$, so every unit is excitatory or inhibitory on all its targets
(Dale's law) throughout learning.

**Learning** (one update per time step, the exhibit's online scheme): with the readout
error $e_t = y_t - o_t$ (:class:`ngcx.cells.GaussianErrorCell`) and the hidden teaching
signal $\delta_t = (e_t W_\text{out}^\top) \odot r'_t$, the
:class:`~ngcx.plasticity.Hebbian` rule gives

$$\Delta W_\text{out} = r_t^\top e_t, \quad \Delta W_\text{in} = u_t^\top \delta_t, \quad
\Delta V = (d \odot r_{t-1})^\top \delta_t ,$$

the negative gradient of the instantaneous loss $L_t = \tfrac12\lVert e_t\rVert^2$,
truncated to one step ($r_{t-1}$ held fixed) and, for the hidden synapses, scaled by
$\tau_x/\Delta t$ (:meth:`EIRNN.local_updates` is tested against ``jax.grad``). Each
update is low-passed by an eligibility trace, $E \leftarrow E + \frac{\Delta t}{\tau_e}
(\Delta - E)$, and $E$ goes through :func:`ngcx.plasticity.hebbian` (Adam, learning rate
``eta``) with a non-negative projection of the weights.

Differences from the exhibit: its recurrent update ignores the presynaptic sign (an
inhibitory unit's weights move as if it were excitatory); ngcx uses the sign, which makes
$\Delta V$ the local gradient. The exhibit integrates its traces with a step of 1 for
$\tau_e = 40$, i.e. 40 steps of 10 ms; ngcx's ``tau_elg`` is in ms (default 400 ms, the
same 40 steps). Its membrane noise scales with $\Delta t$ rather than $\sqrt{\Delta t}$
(see :class:`ngcx.cells.LeakyNoiseCell`).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import plasticity
from .._checks import float_array
from .._custom_types import Key
from .._params import param
from ..cells import GaussianErrorCell, LeakyNoiseCell, LeakyNoiseState
from ..initializers import DistributionGenerator
from ..plasticity import Hebbian
from ..synapses import DenseSynapse


__all__ = ["EIRNN", "EIRNNMetrics"]

Synapses = tuple[DenseSynapse, DenseSynapse, DenseSynapse]


class EIRNNMetrics(eqx.Module):
    """Figures of one pass over a sequence: ``loss`` $\\sum_t L_t$, ``rmse`` of the
    outputs, and the mean excitatory and inhibitory recurrent currents per hidden unit
    (``exc_current`` $\\ge 0$, ``inh_current`` $\\le 0$)."""

    loss: Float[Array, ""]
    rmse: Float[Array, ""]
    exc_current: Float[Array, ""]
    inh_current: Float[Array, ""]


class EIRNN(eqx.Module):
    """Excitatory-inhibitory recurrent network (see the module docstring).

    Fields: the synapses ``w_in`` (input to hidden, with biases), ``v`` (recurrent, no
    biases) and ``w_out`` (readout, with biases), all with non-negative weights; the
    hidden ``cell``; the presynaptic signs ``dale`` (shape ``(n_hid,)``, $\\pm 1$); and
    the leaves ``dt`` (ms), ``tau_elg`` (ms) and ``eta``.
    """

    w_in: DenseSynapse
    v: DenseSynapse
    w_out: DenseSynapse
    cell: LeakyNoiseCell
    dale: Float[Array, " n_hid"]
    rule: Hebbian
    dt: Float[Array, ""]
    tau_elg: Float[Array, ""]
    eta: Float[Array, ""]
    n_exc: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)

    def __init__(
        self,
        n_in: int = 1,
        n_hid: int = 10,
        n_out: int = 1,
        *,
        key: Key,
        exc_fraction: float = 0.8,
        tau_x: Any = 100.0,
        dt: Any = 10.0,
        act_fx: str = "relu",
        sigma_pre: Any = 0.1,
        sigma_post: Any = 0.1,
        eta: Any = 2e-4,
        optim_type: str = "adam",
        tau_elg: Any = 400.0,
        init_scale: float = 0.02,
    ):
        """**Arguments** (defaults: the exhibit's):

        - `n_in`, `n_hid`, `n_out`: population sizes.
        - `key`: PRNG key of the initial weights.
        - `exc_fraction`: the excitatory share of the hidden units, in $(0, 1)$ (the first
          ``int(exc_fraction * n_hid)`` units; 0.8 is the 4:1 ratio of cortex).
        - `tau_x` (ms, > 0), `dt` (ms, > 0), `act_fx`, `sigma_pre`, `sigma_post`: the
          hidden :class:`~ngcx.cells.LeakyNoiseCell`.
        - `eta` (>= 0), `optim_type` (``"sgd"``, ``"adam"``, ``"nag"``): the optimiser.
        - `tau_elg`: the eligibility traces' time constant (ms, > 0).
        - `init_scale`: initial weights are uniform on ``[0, init_scale]`` (> 0).
        """
        for name, value in (("n_in", n_in), ("n_hid", n_hid), ("n_out", n_out)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
        if isinstance(exc_fraction, bool) or not 0 < exc_fraction < 1:
            raise ValueError(f"`exc_fraction` must be in (0, 1), got {exc_fraction!r}.")
        n_exc = int(exc_fraction * n_hid)
        if not 0 < n_exc < n_hid:
            raise ValueError(
                f"`exc_fraction` {exc_fraction} of `n_hid` {n_hid} leaves {n_exc} excitatory "
                f"and {n_hid - n_exc} inhibitory units; both must be at least 1."
            )
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        if not init_scale > 0:
            raise ValueError(f"`init_scale` must be > 0, got {init_scale!r}.")
        init = DistributionGenerator.uniform(low=0.0, high=init_scale)
        k1, k2, k3 = jax.random.split(key, 3)
        self.w_in = DenseSynapse((n_in, n_hid), key=k1, weight_init=init, use_bias=True)
        self.v = DenseSynapse((n_hid, n_hid), key=k2, weight_init=init)
        self.w_out = DenseSynapse((n_hid, n_out), key=k3, weight_init=init, use_bias=True)
        self.cell = LeakyNoiseCell(
            n_hid, tau_x=tau_x, act_fx=act_fx, sigma_pre=sigma_pre, sigma_post=sigma_post
        )
        self.dale = jnp.concatenate([jnp.ones((n_exc,)), -jnp.ones((n_hid - n_exc,))])
        self.rule = Hebbian()
        self.dt = param(dt, "dt", "positive")
        self.tau_elg = param(tau_elg, "tau_elg", "positive")
        self.eta = param(eta, "eta", "nonnegative")
        self.n_exc = n_exc
        self.optim_type = optim_type

    @property
    def synapses(self) -> Synapses:
        return (self.w_in, self.v, self.w_out)

    @property
    def sizes(self) -> tuple[int, int, int]:
        return (self.w_in.shape[0], self.w_in.shape[1], self.w_out.shape[1])

    def recurrent_weights(self) -> Float[Array, "n_hid n_hid"]:
        r"""The signed recurrent matrix $\mathrm{diag}(d)\,V$ (row $i$: the presynaptic
        unit $i$'s effect on every unit)."""
        return self.dale[:, None] * self.v.weights

    def init_state(self) -> LeakyNoiseState:
        """The resting hidden state (batch of one)."""
        return self.cell.init_state((1,))

    def step(self, state: LeakyNoiseState, u: Float[Array, "1 n_in"], key: Key) -> LeakyNoiseState:
        """One step of ``dt`` of the hidden units for input `u` (noise from `key`)."""
        j_in = self.w_in(u)
        j_rec = self.v(self.dale[None, :] * state.r)
        return self.cell(state, j_in, j_rec, key=key, dt=self.dt)

    def readout(self, state: LeakyNoiseState) -> Float[Array, "1 n_out"]:
        """$o = r\\,W_\\text{out} + b_\\text{out}$."""
        return self.w_out(state.r)

    def local_updates(
        self,
        prev: LeakyNoiseState,
        new: LeakyNoiseState,
        u: Float[Array, "1 n_in"],
        y: Float[Array, "1 n_out"],
    ) -> Synapses:
        r"""The Hebbian updates of one step from `prev` to `new` for input `u` and target
        `y` (shaped like ``(w_in, v, w_out)``; see the module docstring)."""
        e = GaussianErrorCell(self.sizes[2])(self.readout(new), y).dmu
        delta = self.w_out.backtransmit(e) * new.r_prime
        return (
            self.rule(self.w_in, u, delta),
            self.rule(self.v, self.dale[None, :] * prev.r, delta),
            self.rule(self.w_out, new.r, e),
        )

    def optimizer(self) -> optax.GradientTransformation:
        """:func:`ngcx.plasticity.hebbian` with ``eta``, ``optim_type`` and non-negative
        weights (biases are free)."""
        return plasticity.hebbian(self.eta, self.optim_type, sign=1.0, nonnegative=True)

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``(w_in, v, w_out)``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return plasticity.init(opt, self.synapses)

    def run(
        self, us: Float[Array, "T n_in"], ys: Float[Array, "T n_out"], key: Key
    ) -> tuple[Float[Array, "T n_out"], Float[Array, "T n_hid"], EIRNNMetrics]:
        """Process a sequence without learning: ``(outputs, rates, metrics)``."""
        out, rates, metrics, _, _ = self._sequence(us, ys, key, None, None)
        return out, rates, metrics

    def train_sequence(
        self,
        opt_state: Any,
        us: Float[Array, "T n_in"],
        ys: Float[Array, "T n_out"],
        key: Key,
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[EIRNN, Any, EIRNNMetrics]:
        """One online pass over the sequence (inputs `us`, targets `ys`, one row per step
        of ``dt``), updating the synapses after every step; the hidden state and the
        eligibility traces start from rest. Pure: ``(model, opt_state, metrics)``."""
        opt = self.optimizer() if optimizer is None else optimizer
        _, _, metrics, model, opt_state = self._sequence(us, ys, key, opt, opt_state)
        assert model is not None
        return model, opt_state, metrics

    def _sequence(
        self, us: Array, ys: Array, key: Key, opt: Any, opt_state: Any
    ) -> tuple[Array, Array, EIRNNMetrics, EIRNN | None, Any]:
        us = float_array(us, "us")
        ys = float_array(ys, "ys")
        n_in, n_hid, n_out = self.sizes
        if us.ndim != 2 or us.shape[1] != n_in:
            raise ValueError(f"`us` must have shape (T, {n_in}), got {us.shape}.")
        if ys.shape != (us.shape[0], n_out):
            raise ValueError(f"`ys` must have shape ({us.shape[0]}, {n_out}), got {ys.shape}.")
        learn = opt is not None
        params, static = eqx.partition(self, eqx.is_array)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, self.synapses)
        rate = self.dt / self.tau_elg

        def body(carry: Any, inp: Any) -> Any:
            p, st, traces, ostate = carry
            u, y, k = inp
            model = eqx.combine(p, static)
            u, y = u[None], y[None]
            new = model.step(st, u, k)
            o = model.readout(new)
            exc = jnp.sum(st.r[0, : self.n_exc, None] * model.v.weights[: self.n_exc])
            inh = -jnp.sum(st.r[0, self.n_exc :, None] * model.v.weights[self.n_exc :])
            if learn:
                upd = model.local_updates(st, new, u, y)
                traces = jax.tree_util.tree_map(lambda t, d: t + rate * (d - t), traces, upd)
                syns, ostate = plasticity.apply_updates(model.synapses, traces, ostate, opt)
                model = eqx.tree_at(lambda m: (m.w_in, m.v, m.w_out), model, syns)
                p = eqx.filter(model, eqx.is_array)
            out = (o[0], new.r[0], jnp.stack([exc, inh]))
            return (p, new, traces, ostate), out

        keys = jax.random.split(key, us.shape[0])
        init = (params, self.init_state(), zeros, opt_state)
        (p, _, _, opt_state), (outs, rates, cur) = jax.lax.scan(body, init, (us, ys, keys))
        err = ys - outs
        metrics = EIRNNMetrics(
            loss=0.5 * jnp.sum(jnp.square(err)),
            rmse=jnp.sqrt(jnp.mean(jnp.square(err))),
            exc_current=jnp.mean(cur[:, 0]) / n_hid,
            inh_current=jnp.mean(cur[:, 1]) / n_hid,
        )
        model = eqx.combine(p, static) if learn else None
        return outs, rates, metrics, model, opt_state
