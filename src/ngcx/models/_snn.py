r"""Flagship spiking models: a Diehl & Cook STDP network and a surrogate-gradient SNN.

:class:`DiehlCook` (ngc-museum's ``dc_snn``; Diehl & Cook 2015): Poisson input spikes
$s_0$ drive excitatory LIF cells through plastic weights $W$ (:class:`TraceSTDPSynapse`);
each excitatory cell excites one inhibitory partner ($W_{ei} = 22.5\,I$), which inhibits
every other excitatory cell ($W_{ie} = -120(1 - I)$). Excitatory thresholds adapt
(homeostasis), only one excitatory spike is kept per step, and $W$ learns by trace STDP at
every step, its columns renormalised to a fixed L1 norm after each sample. After training,
each excitatory cell is assigned the class it responds to most, and a sample is classified
by the class whose cells spike most (:meth:`DiehlCook.assign_labels`,
:meth:`DiehlCook.classify`).

:class:`SurrogateSNN`: input $\to$ LIF hidden layer $\to$ LIF output layer, spike counts as
logits, trained end to end by backpropagation through time with ``jax.grad`` through the
spikes' surrogate derivative (arctan by default, any :mod:`ngcx.surrogates` name).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int

from .. import learning
from .._custom_types import Key
from ..cells import LIFCell, PoissonCell, SpikeState, VarTrace
from ..initializers import DistributionGenerator
from ..ops import normalize_matrix
from ..simulation import simulate
from ..synapses import DenseSynapse, TraceSTDPSynapse


__all__ = ["DiehlCook", "DCState", "SurrogateSNN"]


class DCState(eqx.Module):
    """Dynamic state of a :class:`DiehlCook` network for one presentation: excitatory and
    inhibitory cells, the input and excitatory spike traces."""

    exc: SpikeState
    inh: SpikeState
    pre_trace: Float[Array, "*batch n_in"]
    post_trace: Float[Array, "*batch n_hid"]


class DiehlCook(eqx.Module):
    """Diehl & Cook spiking network with trace STDP (see the module docstring).

    Fields are public ngcx pieces: ``encoder`` (:class:`PoissonCell`), ``W`` (plastic
    input weights), ``exc``/``inh`` (:class:`LIFCell`), ``W_ei``/``W_ie`` (fixed
    :class:`DenseSynapse`), ``trace_in``/``trace_exc`` (:class:`VarTrace`). The
    excitatory adaptive thresholds persist between samples and live in the model
    (``theta``). ``T`` steps of ``dt`` ms per sample.
    """

    encoder: PoissonCell
    W: TraceSTDPSynapse
    exc: LIFCell
    inh: LIFCell
    W_ei: DenseSynapse
    W_ie: DenseSynapse
    trace_in: VarTrace
    trace_exc: VarTrace
    theta: Float[Array, " n_hid"]
    T: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    wnorm: float = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hid: int,
        *,
        key: Key,
        T: int = 200,
        dt: float = 1.0,
        target_freq: float = 63.75,
        tau_m_exc: float = 100.0,
        tau_m_inh: float = 100.0,
        tau_tr: float = 20.0,
        A_plus: float = 1e-2,
        A_minus: float = 1e-4,
        eta: float = 1.0,
        pretrace_target: float = 0.0,
        theta_plus: float = 0.05,
        tau_theta: float = 1e7,
        w_exc_inh: float = 22.5,
        w_inh_exc: float = 120.0,
        wnorm: float | None = None,
        weight_max: float = 0.3,
    ):
        """**Arguments:** `n_in` inputs, `n_hid` excitatory (and inhibitory) cells, `key`;
        `T` steps of `dt` ms per sample; `target_freq` (Hz) of a full-intensity input;
        membrane and trace time constants (ms); STDP amplitudes `A_plus`, `A_minus`, rate
        `eta` and `pretrace_target` (the pre-synaptic trace level below which a post-synaptic
        spike depresses a weight); threshold adaptation `theta_plus` (mV) and `tau_theta`
        (ms); the fixed excitatory->inhibitory and inhibitory->excitatory strengths;
        `wnorm` the L1 norm of each cell's input weights (default ``0.1 * n_in`` as in Diehl &
        Cook);
        initial weights uniform on ``[0, weight_max]``."""
        if T <= 0:
            raise ValueError(f"`T` must be positive, got {T}.")
        wkey, ekey, ikey = jax.random.split(key, 3)
        self.encoder = PoissonCell(n_in, target_freq)
        self.W = TraceSTDPSynapse(
            (n_in, n_hid),
            A_plus=A_plus,
            A_minus=A_minus,
            eta=eta,
            pretrace_target=pretrace_target,
            key=wkey,
            weight_init=DistributionGenerator.uniform(0.0, weight_max),
            w_bound=1.0,
        )
        # resistance tau/dt: a unit current moves the voltage by 1 mV per step
        self.exc = LIFCell(
            n_hid, tau_m_exc, resist_m=tau_m_exc / dt, thr=-52.0, v_rest=-65.0,
            v_reset=-60.0, tau_theta=tau_theta, theta_plus=theta_plus, refract_time=5.0,
            one_spike=True,
        )  # fmt: skip
        self.inh = LIFCell(
            n_hid, tau_m_inh, resist_m=tau_m_inh / dt, thr=-40.0, v_rest=-60.0,
            v_reset=-45.0, tau_theta=0.0, refract_time=5.0,
        )  # fmt: skip
        eye = jnp.eye(n_hid, dtype=jnp.float32)
        self.W_ei = eqx.tree_at(
            lambda s: s.weights, DenseSynapse((n_hid, n_hid), key=ekey), w_exc_inh * eye
        )
        self.W_ie = eqx.tree_at(
            lambda s: s.weights, DenseSynapse((n_hid, n_hid), key=ikey), -w_inh_exc * (1 - eye)
        )
        self.trace_in = VarTrace(n_in, tau_tr, a_delta=0.0)
        self.trace_exc = VarTrace(n_hid, tau_tr, a_delta=0.0)
        self.theta = jnp.zeros((n_hid,), jnp.float32)
        self.T, self.dt = int(T), float(dt)
        self.wnorm = 0.1 * n_in if wnorm is None else float(wnorm)
        self.W = eqx.tree_at(lambda s: s.weights, self.W, self._normalized(self.W.weights))

    @property
    def n_in(self) -> int:
        return self.W.shape[0]

    @property
    def n_hid(self) -> int:
        return self.W.shape[1]

    def _normalized(self, W: Array) -> Array:
        return normalize_matrix(W, self.wnorm, order=1, axis=0)

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of the plastic synapse ``W``."""
        return learning.synapse_optimizer(self.W)

    def init_state(self, batch_shape: tuple[int, ...] = ()) -> DCState:
        """Rest state for a presentation, carrying the model's adapted thresholds."""
        exc = self.exc.init_state(batch_shape)
        theta = jnp.broadcast_to(self.theta, exc.thr_theta.shape)
        return DCState(
            exc=eqx.tree_at(lambda s: s.thr_theta, exc, theta),
            inh=self.inh.init_state(batch_shape),
            pre_trace=self.trace_in.init_state(batch_shape),
            post_trace=self.trace_exc.init_state(batch_shape),
        )

    def step(self, state: DCState, s_in: Array, key: Key, W: Array | None = None) -> DCState:
        """One ``dt`` step of the network given the input spikes `s_in` (plasticity is
        separate: :meth:`train_sample`)."""
        syn = self.W if W is None else eqx.tree_at(lambda s: s.weights, self.W, W)
        j_exc = syn(s_in) + self.W_ie(state.inh.s)
        exc = self.exc(state.exc, j_exc, dt=self.dt, key=key)
        inh = self.inh(state.inh, self.W_ei(exc.s), dt=self.dt)
        return DCState(
            exc=exc,
            inh=inh,
            pre_trace=self.trace_in(state.pre_trace, s_in, dt=self.dt),
            post_trace=self.trace_exc(state.post_trace, exc.s, dt=self.dt),
        )

    def train_sample(
        self, opt_state: Any, x: Float[Array, " n_in"], key: Key, record: bool = False
    ) -> tuple[DiehlCook, Any, Any]:
        """Present one sample for ``T`` steps with STDP at every step, then renormalise
        the weights and keep the adapted thresholds.

        **Returns:** ``(model, opt_state, out)`` where ``out`` holds the excitatory spike
        counts (and, with `record`, the input and excitatory spike trains).
        """
        optimizer = self.optimizer()
        ekey, skey = jax.random.split(key)
        spikes_in = self.encoder.encode(x, self.T, key=ekey, dt=self.dt)
        keys = jax.random.split(skey, self.T)

        def body(carry, inputs):
            syn, ost, state = carry
            s_in, k = inputs
            state = self.step(state, s_in, k, syn.weights)
            updates = syn.stdp_updates(s_in, state.exc.s, state.pre_trace, state.post_trace)
            syn, ost = learning.apply_updates(syn, updates, ost, optimizer)
            out = (s_in, state.exc.s) if record else None
            return (syn, ost, state), (state.exc.s, out)

        carry = (self.W, opt_state, self.init_state())
        (syn, opt_state, state), (exc_spikes, trains) = jax.lax.scan(body, carry, (spikes_in, keys))
        syn = eqx.tree_at(lambda s: s.weights, syn, self._normalized(syn.weights))
        model = eqx.tree_at(lambda m: (m.W, m.theta), self, (syn, state.exc.thr_theta))
        out = {"counts": exc_spikes.sum(0)}
        if record:
            out["input_spikes"], out["exc_spikes"] = trains
        return model, opt_state, out

    def respond(self, x: Float[Array, "batch n_in"], key: Key) -> Float[Array, "batch n_hid"]:
        """Excitatory spike counts for a batch of samples, without learning and with the
        thresholds frozen (each sample presented from rest). Sample ``i`` draws its
        spikes from ``fold_in(key, i)``, so its response does not depend on the batch it
        is in (padding or sharding a batch leaves every response unchanged)."""
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(x.shape[0]))
        return jax.vmap(self._respond_one)(x, keys)

    def _respond_one(self, x: Array, key: Key) -> Array:
        ekey, skey = jax.random.split(key)
        spikes_in = self.encoder.encode(x, self.T, key=ekey, dt=self.dt)
        keys = jax.random.split(skey, self.T)
        init = self.init_state()

        def step(state, inputs):
            s_in, k = inputs
            state = self.step(state, s_in, k)
            return eqx.tree_at(lambda s: s.exc.thr_theta, state, init.exc.thr_theta)

        _, spikes = simulate(step, init, inputs=(spikes_in, keys), record=lambda s: s.exc.s)
        return spikes.sum(0)

    @staticmethod
    def assign_labels(
        counts: Float[Array, "batch n_hid"], labels: Int[Array, " batch"], n_classes: int
    ) -> Int[Array, " n_hid"]:
        """Each cell's class: the one with the highest mean response."""
        onehot = jax.nn.one_hot(labels, n_classes, dtype=counts.dtype)
        per_class = onehot.T @ counts / jnp.maximum(onehot.sum(0), 1.0)[:, None]
        return jnp.argmax(per_class, axis=0)

    @staticmethod
    def classify(
        counts: Float[Array, "batch n_hid"], assignments: Int[Array, " n_hid"], n_classes: int
    ) -> Int[Array, " batch"]:
        """Each sample's class: the one whose assigned cells spike most on average."""
        member = jax.nn.one_hot(assignments, n_classes, dtype=counts.dtype)
        mean = (counts @ member) / jnp.maximum(member.sum(0), 1.0)[None, :]
        return jnp.argmax(mean, axis=-1)


class SurrogateSNN(eqx.Module):
    r"""A two-layer spiking classifier trained by BPTT through surrogate gradients.

    Inputs $x \in [0, 1]^{n_{\text{in}}}$ are presented for ``T`` steps either as a
    constant current (``encoding="current"``) or as Bernoulli spike trains
    (``"poisson"``, spike probability $x$ per step). Hidden and output layers are
    :class:`LIFCell` s (rest 0, threshold 1, reset 0, ``tau_m`` ms, no refractory period or
    adaptation) fed by :class:`DenseSynapse` s with biases; the logits are the output
    spike counts scaled by ``1/T`` times ``logit_scale``. ``jax.grad`` flows through each
    spike with the derivative of ``surrogate_type`` (``"arctan"`` by default).
    """

    W1: DenseSynapse
    W2: DenseSynapse
    hidden: LIFCell
    output: LIFCell
    T: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    encoding: str = eqx.field(static=True)
    logit_scale: float = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hid: int,
        n_out: int,
        *,
        key: Key,
        T: int = 25,
        dt: float = 1.0,
        tau_m: float = 5.0,
        surrogate_type: str = "arctan",
        encoding: str = "current",
        logit_scale: float = 10.0,
    ):
        """**Arguments:** layer sizes, `key`, `T` steps of `dt` ms, membrane `tau_m`
        (ms), `surrogate_type` (a name in :data:`ngcx.surrogates.SURROGATES`),
        `encoding` (``"current"`` or ``"poisson"``), `logit_scale`."""
        if encoding not in ("current", "poisson"):
            raise ValueError(f"`encoding` must be 'current' or 'poisson', got {encoding!r}.")
        if T <= 0:
            raise ValueError(f"`T` must be positive, got {T}.")
        k1, k2 = jax.random.split(key)
        gain = tau_m / dt  # a unit current adds 1 to the voltage per step
        self.W1 = DenseSynapse(
            (n_in, n_hid), key=k1, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        self.W2 = DenseSynapse(
            (n_hid, n_out), key=k2, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        lif = dict(
            tau_m=tau_m, resist_m=gain, thr=1.0, v_rest=0.0, v_reset=0.0, tau_theta=0.0,
            theta_plus=0.0, refract_time=0.0, surrogate_type=surrogate_type,
        )  # fmt: skip
        self.hidden = LIFCell(n_hid, **lif)  # type: ignore[arg-type]
        self.output = LIFCell(n_out, **lif)  # type: ignore[arg-type]
        self.T, self.dt = int(T), float(dt)
        self.encoding = encoding
        self.logit_scale = float(logit_scale)

    def _simulate(self, x: Array, key: Key | None, record: bool) -> tuple[Array, Any]:
        batch = x.shape[0]
        if self.encoding == "poisson":
            if key is None:
                raise ValueError("`key` is required with encoding='poisson'.")
            u = jax.random.uniform(key, (self.T, *x.shape), x.dtype)
            inputs = (u < x[None]).astype(x.dtype)
        else:
            inputs = jnp.broadcast_to(x, (self.T, *x.shape))

        def step(carry, x_t):
            h, o, count = carry
            h = self.hidden(h, self.W1(x_t), dt=self.dt)
            o = self.output(o, self.W2(h.s), dt=self.dt)
            return (h, o, count + o.s)

        init = (
            self.hidden.init_state((batch,)),
            self.output.init_state((batch,)),
            jnp.zeros((batch, self.output.n_units), x.dtype),
        )
        (_, _, count), hidden = simulate(
            step, init, inputs=inputs, record=(lambda c: c[0].s) if record else None
        )
        return count, hidden

    def __call__(
        self, x: Float[Array, "batch n_in"], key: Key | None = None
    ) -> Float[Array, "batch n_out"]:
        """Logits for a batch: output spike counts times ``logit_scale / T`` (`key` needed
        for Poisson encoding)."""
        count, _ = self._simulate(x, key, record=False)
        return count * (self.logit_scale / self.T)

    def hidden_spikes(
        self, x: Float[Array, "batch n_in"], key: Key | None = None
    ) -> Float[Array, "T batch n_hid"]:
        """The hidden layer's spike trains for a batch."""
        return self._simulate(x, key, record=True)[1]

    def loss(
        self, x: Float[Array, "batch n_in"], y: Int[Array, " batch"], key: Key | None = None
    ) -> Float[Array, ""]:
        """Mean softmax cross-entropy of the spike-count logits."""
        logits = self(x, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
