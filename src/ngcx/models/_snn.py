r"""Flagship spiking models: a Diehl & Cook STDP network and a surrogate-gradient SNN.

:class:`DiehlCook` (ngc-museum's ``dc_snn``; Diehl & Cook 2015): Poisson input spikes
$s_0$ drive excitatory LIF cells through plastic weights $W$ (a :class:`DenseSynapse`
learning by the :class:`~ngcx.plasticity.TraceSTDP` rule through
:func:`ngcx.plasticity.stdp`);
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
from jaxtyping import Array, ArrayLike, Float, Int

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import is_concrete, param
from ..cells import LIFCell, PoissonCell, SpikeState, VarTrace
from ..initializers import DistributionGenerator
from ..ops import normalize_matrix
from ..plasticity import TraceSTDP
from ..simulation import simulate
from ..surrogates import AbstractSurrogate
from ..synapses import DenseSynapse


__all__ = ["DiehlCook", "DCState", "DCSample", "SurrogateSNN"]


class DCSample(eqx.Module):
    """What :meth:`DiehlCook.train_sample` returns besides the model: ``counts``, the
    excitatory spike counts of the presentation (shape ``(n_hid,)``), and with
    ``record=True`` the input and excitatory spike trains (``(T, n_in)``, ``(T, n_hid)``;
    ``None`` otherwise)."""

    counts: Float[Array, " n_hid"]
    input_spikes: Float[Array, "T n_in"] | None = None
    exc_spikes: Float[Array, "T n_hid"] | None = None


class DCState(eqx.Module):
    """Dynamic state of a :class:`DiehlCook` network for one presentation: excitatory and
    inhibitory cells, the input and excitatory spike traces."""

    exc: SpikeState
    inh: SpikeState
    pre_trace: Float[Array, "*batch n_in"]
    post_trace: Float[Array, "*batch n_hid"]


class DiehlCook(eqx.Module):
    """Diehl & Cook spiking network with trace STDP (see the module docstring).

    Fields are public ngcx pieces: ``encoder`` (:class:`PoissonCell`), ``W`` (the plastic
    input :class:`DenseSynapse`), ``rule`` (:class:`~ngcx.plasticity.TraceSTDP`),
    ``exc``/``inh`` (:class:`LIFCell`), ``W_ei``/``W_ie`` (fixed :class:`DenseSynapse`),
    ``trace_in``/``trace_exc`` (:class:`VarTrace`). The excitatory adaptive thresholds
    persist between samples and live in the model (``theta``). ``T`` steps of ``dt`` ms
    per sample. Every number (``eta``, ``wnorm``, ``dt``, the rule's amplitudes, the
    cells' constants) is an array leaf.
    """

    encoder: PoissonCell
    W: DenseSynapse
    rule: TraceSTDP
    eta: Float[Array, ""]
    exc: LIFCell
    inh: LIFCell
    W_ei: DenseSynapse
    W_ie: DenseSynapse
    trace_in: VarTrace
    trace_exc: VarTrace
    theta: Float[Array, " n_hid"]
    dt: Float[Array, ""]
    wnorm: Float[Array, ""]
    T: int = eqx.field(static=True)

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
        if not isinstance(T, int) or isinstance(T, bool) or T <= 0:
            raise ValueError(f"`T` must be a positive int, got {T!r}.")
        wkey, ekey, ikey = jax.random.split(key, 3)
        self.encoder = PoissonCell(n_in, target_freq)
        self.W = DenseSynapse(
            (n_in, n_hid), key=wkey, weight_init=DistributionGenerator.uniform(0.0, weight_max)
        )
        self.rule = TraceSTDP(A_plus, A_minus, pretrace_target=pretrace_target, w_bound=1.0)
        self.eta = param(eta, "eta", "nonnegative")
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
        self.T = T
        self.dt = param(dt, "dt", "positive")
        self.wnorm = param(0.1 * n_in if wnorm is None else wnorm, "wnorm", "positive")
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
        """The optax chain of ``W`` (:func:`ngcx.plasticity.stdp`): the rule's update
        added at rate ``eta``, weights clipped to ``[0, 1]``."""
        return plasticity.stdp(self.eta, w_bound=1.0)

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``W``."""
        return plasticity.init(self.optimizer() if optimizer is None else optimizer, self.W)

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
        self,
        opt_state: Any,
        x: Float[Array, " n_in"],
        key: Key,
        record: bool = False,
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[DiehlCook, Any, DCSample]:
        """Present one sample for ``T`` steps with STDP at every step, then renormalise
        the weights and keep the adapted thresholds.

        **Returns:** ``(model, opt_state, out)``, ``out`` a :class:`DCSample` (the
        excitatory spike counts and, with `record`, the spike trains).
        """
        check_features(x, "x", self.n_in, "DiehlCook.train_sample", rank=1)
        optimizer = self.optimizer() if optimizer is None else optimizer
        ekey, skey = jax.random.split(key)
        spikes_in = self.encoder.encode(x, self.T, key=ekey, dt=self.dt)
        keys = jax.random.split(skey, self.T)

        def body(carry, inputs):
            syn, ost, state = carry
            s_in, k = inputs
            state = self.step(state, s_in, k, syn.weights)
            updates = self.rule(syn, s_in, state.exc.s, state.pre_trace, state.post_trace)
            syn, ost = plasticity.apply_updates(syn, updates, ost, optimizer)
            out = (s_in, state.exc.s) if record else None
            return (syn, ost, state), (state.exc.s, out)

        carry = (self.W, opt_state, self.init_state())
        (syn, opt_state, state), (exc_spikes, trains) = jax.lax.scan(body, carry, (spikes_in, keys))
        syn = eqx.tree_at(lambda s: s.weights, syn, self._normalized(syn.weights))
        model = eqx.tree_at(lambda m: (m.W, m.theta), self, (syn, state.exc.thr_theta))
        if record:
            return model, opt_state, DCSample(exc_spikes.sum(0), trains[0], trains[1])
        return model, opt_state, DCSample(exc_spikes.sum(0))

    def respond(self, x: Float[Array, "batch n_in"], key: Key) -> Float[Array, "batch n_hid"]:
        """Excitatory spike counts for a batch of samples, without learning and with the
        thresholds frozen (each sample presented from rest). Sample ``i`` draws its
        spikes from ``fold_in(key, i)``, so its response does not depend on the batch it
        is in (padding or sharding a batch leaves every response unchanged)."""
        check_features(x, "x", self.n_in, "DiehlCook.respond", rank=2)
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

    Inputs $x \in [0, 1]^{n_{\text{in}}}$ are presented for ``T`` steps of ``dt`` ms either
    as a constant current (``encoding="current"``) or as Bernoulli spike trains
    (``"poisson"``, spike probability $x$ per step). Hidden and output layers are
    :class:`LIFCell` s (rest 0, reset 0, no refractory period or adaptation) fed by
    :class:`DenseSynapse` s with biases. With the membrane resistance $R = \tau_m/\Delta t$
    each Euler step is

    $$v_{t+1} = \beta\, v_t + j_t, \qquad \beta = 1 - \Delta t/\tau_m,$$

    so a unit input current adds 1 to the voltage per step whatever $\tau_m$; a spike is
    emitted where $v > \theta$ (threshold $\theta = 1$) and resets $v$ to 0. The logits are
    the output spike counts times ``logit_scale / T``. ``jax.grad`` flows through each spike
    with the derivative of ``surrogate_type`` (``"arctan"`` by default).

    **Fixed or learned dynamics.** ``dt``, ``logit_scale``, every cell constant and the
    synapses' ``resist_scale`` are array leaves (sweep them with ``jax.vmap`` over the
    constructor; a new value does not recompile). By default (``learn_dynamics=False``) the
    forward pass wraps them in ``jax.lax.stop_gradient`` (once, outside the time loop):
    their gradient is exactly zero, so training code that differentiates every inexact
    array (``eqx.filter_value_and_grad``) trains only the weights and biases. (An optimiser
    with weight decay, e.g. ``optax.adamw``, would still decay them: mask it to the
    weights.)

    ``learn_dynamics=True`` gives a parametric LIF network (as snnTorch's learnable
    ``beta``/``threshold``, Norse's and spyx's trainable time constants): each hidden and
    output neuron has its own ``tau_m`` and ``thr`` (arrays of shape ``(n,)``, initialised
    to `tau_m` and 1), trained by BPTT through the surrogate with the weights. The input
    gain stays fixed while the leak is learned: the forward pass sets each cell's
    resistance to $\tau_m/\Delta t$ from the current $\tau_m$, so only $\beta$ changes.
    It clamps $\tau_m \ge \Delta t$ (i.e. $\beta \ge 0$; below it the Euler step
    overshoots rest and oscillates): a time constant pushed below ``dt`` acts as ``dt`` and
    gets a zero gradient while it is there. The stored leaf itself is not clamped (project
    it in the optimiser to keep it in range). All other constants keep a zero gradient.

    Every floating leaf is stored with a fixed dtype (float32 unless x64 is enabled; not
    weakly typed, as :func:`ngcx._params.param` makes them), so an optimiser update over
    all inexact arrays keeps the model's types and a jitted training step compiles once.
    """

    W1: DenseSynapse
    W2: DenseSynapse
    hidden: LIFCell
    output: LIFCell
    dt: Float[Array, ""]
    logit_scale: Float[Array, ""]
    T: int = eqx.field(static=True)
    encoding: str = eqx.field(static=True)
    learn_dynamics: bool = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hid: int,
        n_out: int,
        *,
        key: Key,
        T: int = 25,
        dt: float | Float[ArrayLike, ""] = 1.0,
        tau_m: float | Float[ArrayLike, ""] = 5.0,
        surrogate_type: str | AbstractSurrogate = "arctan",
        encoding: str = "current",
        logit_scale: float | Float[ArrayLike, ""] = 10.0,
        learn_dynamics: bool = False,
    ):
        """**Arguments:**

        - `n_in`, `n_hid`, `n_out`: layer sizes; `key`: PRNG key for the weights.
        - `T`: steps per presentation (a positive int, static).
        - `dt`: the step (ms, > 0), a scalar array leaf.
        - `tau_m`: the membrane time constant of both layers (ms, > 0), a scalar leaf; with
          `learn_dynamics` each neuron starts from it (keep it >= `dt`, see the class
          docstring).
        - `surrogate_type`: a name in :data:`ngcx.surrogates.SURROGATES` or a surrogate
          object (static).
        - `encoding`: ``"current"`` or ``"poisson"`` (static).
        - `logit_scale`: logits per spike-rate unit (> 0), a scalar leaf.
        - `learn_dynamics`: per-neuron ``tau_m`` and ``thr`` trained with the weights
          (static; see the class docstring).

        `dt`, `tau_m` and `logit_scale` may be traced (``jax.vmap`` or ``jax.grad`` over
        the constructor); with ``learn_dynamics=False`` the gradient with respect to them
        is zero by design.

        **Raises:** ``ValueError`` naming the argument for a value outside its domain.
        """
        if encoding not in ("current", "poisson"):
            raise ValueError(f"`encoding` must be 'current' or 'poisson', got {encoding!r}.")
        if not isinstance(T, int) or isinstance(T, bool) or T <= 0:
            raise ValueError(f"`T` must be a positive int, got {T!r}.")
        self.dt = param(dt, "dt", "positive")
        tau = param(tau_m, "tau_m", "positive")
        self.logit_scale = param(logit_scale, "logit_scale", "positive")
        self.T = T
        self.encoding = encoding
        self.learn_dynamics = bool(learn_dynamics)
        k1, k2 = jax.random.split(key)
        self.W1 = DenseSynapse(
            (n_in, n_hid), key=k1, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip
        self.W2 = DenseSynapse(
            (n_hid, n_out), key=k2, weight_init=DistributionGenerator.fan_in_gaussian(),
            use_bias=True,
        )  # fmt: skip

        def lif(n: int) -> LIFCell:
            if self.learn_dynamics:  # per-neuron, learned; the resistance follows tau_m
                tau_n = jnp.broadcast_to(tau, (n,)).astype(tau.dtype)
                thr: Any = jnp.ones((n,), tau.dtype)
            else:
                tau_n, thr = tau, 1.0
            return LIFCell(
                n, tau_n, resist_m=tau_n / self.dt, thr=thr, v_rest=0.0, v_reset=0.0,
                tau_theta=0.0, theta_plus=0.0, refract_time=0.0, surrogate_type=surrogate_type,
            )  # fmt: skip

        self.hidden = lif(n_hid)
        self.output = lif(n_out)

    def _parts(self) -> tuple[DenseSynapse, DenseSynapse, LIFCell, LIFCell, Array, Array]:
        """``(W1, W2, hidden, output, dt, logit_scale)`` as the forward pass uses them:
        every constant (the synapses' ``resist_scale``, the cells' fields, ``dt``,
        ``logit_scale``) behind ``jax.lax.stop_gradient``, except, with
        ``learn_dynamics``, the cells' ``tau_m`` (clamped to ``>= dt``, the resistance set
        to ``tau_m / dt``) and ``thr``. Applied once, outside the time loop."""

        def stop(tree: Any) -> Any:
            # a concrete constant (folded by the trainer) has no gradient: leave it
            # concrete, so the cells can drop terms it zeroes at trace time
            return jax.tree_util.tree_map(
                lambda a: a if is_concrete(a) else jax.lax.stop_gradient(a), tree
            )

        W1 = eqx.tree_at(lambda s: s.resist_scale, self.W1, stop(self.W1.resist_scale))
        W2 = eqx.tree_at(lambda s: s.resist_scale, self.W2, stop(self.W2.resist_scale))
        hidden, output, dt, scale = stop((self.hidden, self.output, self.dt, self.logit_scale))
        if self.learn_dynamics:
            hidden = _parametric(hidden, self.hidden, dt)
            output = _parametric(output, self.output, dt)
        return W1, W2, hidden, output, dt, scale

    def _simulate(self, x: Array, key: Key | None, record: bool) -> tuple[Array, Array, Any]:
        check_features(x, "x", self.W1.shape[0], "SurrogateSNN", rank=2)
        batch = x.shape[0]
        if self.encoding == "poisson":
            if key is None:
                raise ValueError("`key` is required with encoding='poisson'.")
            u = jax.random.uniform(key, (self.T, *x.shape), x.dtype)
            inputs = (u < x[None]).astype(x.dtype)
        else:
            inputs = jnp.broadcast_to(x, (self.T, *x.shape))
        W1, W2, hidden, output, dt, scale = self._parts()
        dt = dt.astype(x.dtype)

        def step(carry, x_t):
            h, o, count = carry
            h = hidden(h, W1(x_t), dt=dt)
            o = output(o, W2(h.s), dt=dt)
            return (h, o, count + o.s)

        init = (
            hidden.init_state((batch,), x.dtype),
            output.init_state((batch,), x.dtype),
            jnp.zeros((batch, output.n_units), x.dtype),
        )
        (_, _, count), spikes = simulate(
            step, init, inputs=inputs, record=(lambda c: c[0].s) if record else None
        )
        return count, scale, spikes

    def __call__(
        self, x: Float[Array, "batch n_in"], key: Key | None = None
    ) -> Float[Array, "batch n_out"]:
        """Logits for a batch: output spike counts times ``logit_scale / T`` (`key` needed
        for Poisson encoding)."""
        count, scale, _ = self._simulate(x, key, record=False)
        return count * (scale / self.T).astype(count.dtype)

    def hidden_spikes(
        self, x: Float[Array, "batch n_in"], key: Key | None = None
    ) -> Float[Array, "T batch n_hid"]:
        """The hidden layer's spike trains for a batch."""
        return self._simulate(x, key, record=True)[2]

    def loss(
        self, x: Float[Array, "batch n_in"], y: Int[Array, " batch"], key: Key | None = None
    ) -> Float[Array, ""]:
        """Mean softmax cross-entropy of the spike-count logits."""
        if getattr(y, "shape", None) != tuple(x.shape[:1]):
            raise ValueError(
                f"`y` of SurrogateSNN.loss must be integer labels of shape ({x.shape[0]},) "
                f"(one per sample of `x`), got shape {getattr(y, 'shape', None)}."
            )
        logits = self(x, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def trainable(self) -> Any:
        """An Equinox filter spec (a PyTree of booleans shaped like the model) of the
        leaves that training changes: the synapses' weights and biases, and with
        ``learn_dynamics`` the cells' ``tau_m`` and ``thr``. Use it with
        ``eqx.partition`` to differentiate only those (the other leaves get a zero
        gradient anyway) and to fold the rest into a compiled step
        (:class:`ngcx.FlatStep`'s ``dynamic``)."""
        spec = jax.tree_util.tree_map(lambda _: False, self)
        spec = eqx.tree_at(
            lambda m: (m.W1.weights, m.W1.biases, m.W2.weights, m.W2.biases),
            spec,
            (True, True, True, True),
        )
        if self.learn_dynamics:
            spec = eqx.tree_at(
                lambda m: (m.hidden.tau_m, m.hidden.thr, m.output.tau_m, m.output.thr),
                spec,
                (True, True, True, True),
            )
        return spec


def _parametric(frozen: LIFCell, cell: LIFCell, dt: Array) -> LIFCell:
    """`frozen` (a cell behind ``stop_gradient``) with `cell`'s learned ``tau_m`` (clamped
    to ``>= dt``), the matching resistance ``tau_m / dt`` and `cell`'s ``thr``."""
    tau = jnp.maximum(cell.tau_m, dt)
    return eqx.tree_at(lambda c: (c.tau_m, c.resist_m, c.thr), frozen, (tau, tau / dt, cell.thr))
