r"""Time-integrated STDP (ngc-museum's ``time-integrated-stdp``; Gebhardt & Ororbia 2024,
"Time-Integrated Spike-Timing-Dependent Plasticity", arXiv:2407.10028).

:class:`ngcx.plasticity.TISTDP` is the rule (ngc-learn 3.2 has no time-integrated rule:
the exhibit ships it as a custom synapse); :class:`TISTDPNetwork` is the exhibit's
"Case 1" network: Poisson input, two Diehl & Cook style excitatory layers (adaptive
thresholds, one spike per step, one inhibitory partner per excitatory cell that inhibits
all the others), both input synapses learning by TI-STDP at every step. After training
each top-layer cell is bound to the class it answers most and a sample is classified by
its cells' responses (:meth:`ngcx.models.DiehlCook.assign_labels` /
:meth:`~ngcx.models.DiehlCook.classify`, and the exhibit's single-winner read-out
:func:`classify_by_winner`).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import param
from ..cells import LIFCell, PoissonCell, SpikeState
from ..initializers import DistributionGenerator
from ..plasticity import TISTDP
from ..synapses import DenseSynapse


__all__ = ["TISTDPNetwork", "TIState", "classify_by_winner"]


class TIState(eqx.Module):
    """Dynamic state of a :class:`TISTDPNetwork` during one presentation: both layers'
    excitatory and inhibitory cells, and the input's times of last spike (ms)."""

    in_tols: Float[Array, " n_in"]
    exc1: SpikeState
    inh1: SpikeState
    exc2: SpikeState
    inh2: SpikeState


def _lateral(n: int, exc: float, inh: float) -> tuple[DenseSynapse, DenseSynapse]:
    """Fixed excitatory->inhibitory ($e\\,I$) and inhibitory->excitatory
    ($-i(1 - I)$) synapses."""
    eye = jnp.eye(n, dtype=jnp.float32)
    key = jax.random.key(0)  # the weights are set below; the key only feeds the init
    ei = eqx.tree_at(lambda s: s.weights, DenseSynapse((n, n), key=key), exc * eye)
    ie = eqx.tree_at(lambda s: s.weights, DenseSynapse((n, n), key=key), -inh * (1 - eye))
    return ei, ie


class TISTDPNetwork(eqx.Module):
    r"""The exhibit's Case 1 network: input $\to$ layer 1 $\to$ layer 2, each synapse
    learning by :class:`TISTDP` at every step.

    Poisson spikes $s_0$ (``target_freq`` Hz at intensity 1) drive the excitatory
    :class:`~ngcx.cells.LIFCell` layer 1 through $W_1$ (resistance scale $R_1$); layer 1's
    raw spikes drive layer 2 through $W_2$ ($R_2$). In each layer the excitatory cells
    ($\tau_m$ ``tau_m`` ms, resistance $\tau_m/\Delta t$, threshold $-52$ mV plus an
    adaptive part ($\theta_+$, $\tau_\theta$) that persists between samples (``theta1``,
    ``theta2``), refractory 5 ms, one spike per step) each excite an inhibitory partner
    ($W_{ei} = 22.5\,I$), which inhibits every other excitatory cell
    ($W_{ie} = -120\,(1 - I)$, one step later). At every step, $W_1$ learns from the input's
    and layer 1's times of last spike and $W_2$ from layer 1's and layer 2's.

    ``T`` steps of ``dt`` ms per sample (static ``T``); every number is an array leaf.
    """

    encoder: PoissonCell
    W1: DenseSynapse
    W2: DenseSynapse
    rule1: TISTDP
    rule2: TISTDP
    exc1: LIFCell
    inh1: LIFCell
    exc2: LIFCell
    inh2: LIFCell
    W1_ei: DenseSynapse
    W1_ie: DenseSynapse
    W2_ei: DenseSynapse
    W2_ie: DenseSynapse
    theta1: Float[Array, " n_hid"]
    theta2: Float[Array, " n_out"]
    dt: Float[Array, ""]
    T: int = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hid: int = 625,
        n_out: int = 225,
        *,
        key: Key,
        T: int = 250,
        dt: float = 1.0,
        target_freq: float = 63.75,
        tau_m: float = 100.0,
        tau_theta: float = 1e5,
        theta_plus: float = 0.05,
        R1: float = 1.0,
        R2: float = 6.0,
        rule1: TISTDP | None = None,
        rule2: TISTDP | None = None,
        w_exc_inh: float = 22.5,
        w_inh_exc: float = 120.0,
        weight_init: tuple[float, float] = (0.025, 0.8),
    ):
        r"""The exhibit's values (MNIST: 784 inputs, 625 and 225 cells, 250 ms).

        **Arguments:**

        - `n_in`, `n_hid`, `n_out`: input, layer-1 and layer-2 sizes; `key`.
        - `T` steps (static) of `dt` ms per sample; `target_freq` (Hz) of a full-intensity
          input.
        - `tau_m` (ms): excitatory and inhibitory membrane constants; `tau_theta` (ms) and
          `theta_plus` (mV): threshold adaptation.
        - `R1`, `R2`: the resistance scales of $W_1$ and $W_2$.
        - `rule1`, `rule2`: the :class:`TISTDP` rules (default: the exhibit's,
          ``TISTDP(0.00375, 1.25, 0.75)`` and ``TISTDP(0.05, 2.0, 0.125)``).
        - `w_exc_inh`, `w_inh_exc`: the fixed lateral strengths.
        - `weight_init`: initial weights uniform on ``[low, high)``.
        """
        if not isinstance(T, int) or isinstance(T, bool) or T <= 0:
            raise ValueError(f"`T` must be a positive int, got {T!r}.")
        for name, n in (("n_in", n_in), ("n_hid", n_hid), ("n_out", n_out)):
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"`{name}` must be a positive int, got {n!r}.")
        k1, k2 = jax.random.split(key)
        init = DistributionGenerator.uniform(*weight_init)
        self.encoder = PoissonCell(n_in, target_freq)
        self.W1 = DenseSynapse((n_in, n_hid), key=k1, weight_init=init, resist_scale=R1)
        self.W2 = DenseSynapse((n_hid, n_out), key=k2, weight_init=init, resist_scale=R2)
        self.rule1 = TISTDP(0.0075 * 0.5, 1.25, 0.75) if rule1 is None else rule1
        self.rule2 = TISTDP(0.025 * 2, 2.0, 0.25 * 0.5) if rule2 is None else rule2

        def exc(n: int) -> LIFCell:
            return LIFCell(
                n, tau_m, resist_m=tau_m / dt, thr=-52.0, v_rest=-65.0, v_reset=-60.0,
                tau_theta=tau_theta, theta_plus=theta_plus, refract_time=5.0, one_spike=True,
            )  # fmt: skip

        def inh(n: int) -> LIFCell:
            return LIFCell(
                n, tau_m, resist_m=tau_m / dt, thr=-40.0, v_rest=-60.0, v_reset=-45.0,
                tau_theta=0.0, refract_time=5.0,
            )  # fmt: skip

        self.exc1, self.inh1, self.exc2, self.inh2 = exc(n_hid), inh(n_hid), exc(n_out), inh(n_out)
        self.W1_ei, self.W1_ie = _lateral(n_hid, w_exc_inh, w_inh_exc)
        self.W2_ei, self.W2_ie = _lateral(n_out, w_exc_inh, w_inh_exc)
        self.theta1 = jnp.zeros((n_hid,), jnp.float32)
        self.theta2 = jnp.zeros((n_out,), jnp.float32)
        self.dt = param(dt, "dt", "positive")
        self.T = T

    @property
    def n_in(self) -> int:
        return int(self.W1.shape[0])

    def init_optimizers(self) -> tuple[Any, Any]:
        """Optimiser states of ``W1`` and ``W2`` (their rules' :meth:`TISTDP.optimizer`)."""
        return (
            plasticity.init(self.rule1.optimizer(), self.W1),
            plasticity.init(self.rule2.optimizer(), self.W2),
        )

    def init_state(self) -> TIState:
        """Rest state for one sample (clocks at ``dt``, so that every spike's time is
        positive), carrying the adapted thresholds."""
        t0 = self.dt
        exc1 = self.exc1.init_state(t=t0)
        exc2 = self.exc2.init_state(t=t0)
        return TIState(
            in_tols=jnp.zeros((self.n_in,), jnp.float32),
            exc1=eqx.tree_at(lambda s: s.thr_theta, exc1, self.theta1),
            inh1=self.inh1.init_state(t=t0),
            exc2=eqx.tree_at(lambda s: s.thr_theta, exc2, self.theta2),
            inh2=self.inh2.init_state(t=t0),
        )

    def step(
        self,
        state: TIState,
        s_in: Float[Array, " n_in"],
        key: Key,
        W1: DenseSynapse | None = None,
        W2: DenseSynapse | None = None,
    ) -> TIState:
        """One ``dt`` step given the input spikes `s_in` (plasticity is separate:
        :meth:`train_sample`)."""
        W1 = self.W1 if W1 is None else W1
        W2 = self.W2 if W2 is None else W2
        k1, k2 = jax.random.split(key)
        t = state.exc1.t
        exc1 = self.exc1(state.exc1, W1(s_in) + self.W1_ie(state.inh1.s), dt=self.dt, key=k1)
        inh1 = self.inh1(state.inh1, self.W1_ei(exc1.s), dt=self.dt)
        exc2 = self.exc2(state.exc2, W2(exc1.s_raw) + self.W2_ie(state.inh2.s), dt=self.dt, key=k2)
        inh2 = self.inh2(state.inh2, self.W2_ei(exc2.s), dt=self.dt)
        in_tols = jnp.where(s_in > 0, t, state.in_tols)
        return TIState(in_tols=in_tols, exc1=exc1, inh1=inh1, exc2=exc2, inh2=inh2)

    def train_sample(
        self, opt_states: tuple[Any, Any], x: Float[Array, " n_in"], key: Key
    ) -> tuple[TISTDPNetwork, tuple[Any, Any], tuple[Array, Array]]:
        """Present one sample for ``T`` steps with TI-STDP on both synapses at every step;
        keep the adapted thresholds.

        **Returns:** ``(model, opt_states, (counts1, counts2))``, the spike counts of the
        two excitatory layers.
        """
        check_features(x, "x", self.n_in, "TISTDPNetwork.train_sample", rank=1)
        opt1, opt2 = self.rule1.optimizer(), self.rule2.optimizer()
        ekey, skey = jax.random.split(key)
        spikes_in = self.encoder.encode(x, self.T, key=ekey, dt=self.dt)
        keys = jax.random.split(skey, self.T)

        def body(carry: Any, inputs: Any) -> tuple[Any, Any]:
            W1, W2, o1, o2, state = carry
            s_in, k = inputs
            t = state.exc1.t
            state = self.step(state, s_in, k, W1, W2)
            u1 = self.rule1(W1, state.in_tols, state.exc1.tols, t, self.dt)
            u2 = self.rule2(W2, state.exc1.tols, state.exc2.tols, t, self.dt)
            W1, o1 = plasticity.apply_updates(W1, u1, o1, opt1)
            W2, o2 = plasticity.apply_updates(W2, u2, o2, opt2)
            return (W1, W2, o1, o2, state), (state.exc1.s, state.exc2.s)

        carry = (self.W1, self.W2, *opt_states, self.init_state())
        (W1, W2, o1, o2, state), (s1, s2) = jax.lax.scan(body, carry, (spikes_in, keys))
        model = eqx.tree_at(
            lambda m: (m.W1, m.W2, m.theta1, m.theta2),
            self,
            (W1, W2, state.exc1.thr_theta, state.exc2.thr_theta),
        )
        return model, (o1, o2), (s1.sum(0), s2.sum(0))

    def train_samples(
        self, opt_states: tuple[Any, Any], x: Float[Array, "batch n_in"], key: Key
    ) -> tuple[TISTDPNetwork, tuple[Any, Any], tuple[Array, Array]]:
        """:meth:`train_sample` on each sample of `x` in turn (one ``lax.scan``; sample
        ``i`` uses ``fold_in(key, i)``).

        **Returns:** ``(model, opt_states, (counts1, counts2))``, the counts of shape
        ``(batch, n_hid)`` and ``(batch, n_out)``.
        """
        check_features(x, "x", self.n_in, "TISTDPNetwork.train_samples", rank=2)
        params, static = eqx.partition(self, eqx.is_array)

        def body(carry: Any, inputs: Any) -> tuple[Any, Any]:
            p, ost = carry
            xi, i = inputs
            m, ost, counts = eqx.combine(p, static).train_sample(
                ost, xi, jax.random.fold_in(key, i)
            )
            return (eqx.filter(m, eqx.is_array), ost), counts

        idx = jnp.arange(x.shape[0])
        (params, opt_states), counts = jax.lax.scan(body, (params, opt_states), (x, idx))
        return eqx.combine(params, static), opt_states, counts

    def respond(
        self, x: Float[Array, "batch n_in"], key: Key
    ) -> tuple[Float[Array, "batch n_hid"], Float[Array, "batch n_out"]]:
        """Spike counts of both excitatory layers for a batch, without learning and with
        the thresholds frozen (the exhibit's evaluation disables adaptation); sample ``i``
        draws its spikes from ``fold_in(key, i)``."""
        check_features(x, "x", self.n_in, "TISTDPNetwork.respond", rank=2)

        def one(xi: Array, k: Key) -> tuple[Array, Array]:
            ekey, skey = jax.random.split(k)
            spikes_in = self.encoder.encode(xi, self.T, key=ekey, dt=self.dt)
            init = self.init_state()

            def body(state: TIState, inputs: Any) -> tuple[TIState, Any]:
                s_in, kk = inputs
                state = self.step(state, s_in, kk)
                state = eqx.tree_at(
                    lambda s: (s.exc1.thr_theta, s.exc2.thr_theta),
                    state,
                    (init.exc1.thr_theta, init.exc2.thr_theta),
                )
                return state, (state.exc1.s, state.exc2.s)

            _, (s1, s2) = jax.lax.scan(body, init, (spikes_in, jax.random.split(skey, self.T)))
            return s1.sum(0), s2.sum(0)

        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(x.shape[0]))
        return jax.vmap(one)(x, keys)


def classify_by_winner(
    counts: Float[Array, "batch n"],
    train_counts: Float[Array, "n_train n"],
    train_labels: Int[Array, " n_train"],
    n_classes: int,
) -> Int[Array, " batch"]:
    """The exhibit's read-out: each cell is bound to the class for which its summed
    response over the binding samples is largest, and a sample takes the class of its
    single most active cell."""
    onehot = jax.nn.one_hot(train_labels, n_classes, dtype=train_counts.dtype)
    bindings = jnp.argmax(onehot.T @ train_counts, axis=0)
    return bindings[jnp.argmax(counts, axis=-1)]
