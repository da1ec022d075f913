r"""A spiking classifier trained by broadcast feedback alignment (ngc-museum's ``bfa_snn``;
Samadi, Lillicrap and Tweed 2017, *Deep learning with dynamic spiking neurons and fixed
feedback weights*).

Input intensities $x \in [0, 1]^{n_{\text{in}}}$, scaled by ``input_gain`` $g$, become
Bernoulli spike trains $s_0$ (:class:`~ngcx.cells.BernoulliCell`, spike probability $g x$
per step). They drive a hidden layer of simplified LIF cells
(:class:`~ngcx.cells.SLIFCell`, $\tau_m \dot v = -v + R j$, reset to 0) through the
:class:`~ngcx.synapses.DenseSynapse` $W_1$ (with bias), whose spikes $s_1$ drive an output
layer of SLIF cells through $W_2$. At every step of ``dt`` ms the output spikes are compared
with the one-hot label $y$ by a :class:`~ngcx.cells.GaussianErrorCell`,

$$e = y - s_2,$$

and the output error is *broadcast* to the hidden layer through a fixed random matrix $B$
of shape ``(n_out, n_hid)`` (never learned, never the transpose of $W_2$), gated by the
secant-LIF surrogate derivative $\sigma'$ (:class:`~ngcx.surrogates.SecantLIF`) of each
hidden cell's input current $j_1 = R\,W_1 s_0$:

$$d_1 = (e B) \odot \sigma'(j_1).$$

Both layers then learn by the local two-factor :class:`~ngcx.plasticity.Hebbian` rule
(presynaptic spikes times the postsynaptic teaching signal, summed over the batch), applied
by plain SGD at the per-layer rates of Samadi et al.,
$\eta_1 = \eta/n_{\text{in}}$ and $\eta_2 = \eta/n_{\text{hid}}$:

$$\Delta W_1 = \eta_1\, s_0^\top d_1, \quad \Delta b_1 = \eta_1 \textstyle\sum d_1,
\qquad \Delta W_2 = \eta_2\, s_1^\top e, \quad \Delta b_2 = \eta_2 \textstyle\sum e.$$

Learning happens at every step after the first ``burn_in`` steps of a presentation (the
weights change within a presentation, as in ngc-museum). A sample is classified by the
output cells' mean input current over the steps after ``burn_in`` (ngc-museum's
``"current"`` estimator); :meth:`BFASNN.respond` also returns spike counts and, on request,
the hidden spike trains.

Differences from ngc-museum: the surrogate derivative is $\mathrm{sech}^2$ (the derivative
of the secant relaxation; ngc-learn uses $\mathrm{sech}$, see
:class:`~ngcx.surrogates.SecantLIF`); all ``T`` steps are simulated (ngc-museum skips the
first).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, Int

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import param
from ..cells import BernoulliCell, GaussianErrorCell, SLIFCell, SLIFState
from ..initializers import DistributionGenerator
from ..plasticity import Hebbian
from ..synapses import DenseSynapse


__all__ = ["BFASNN", "BFAState", "BFAResponse"]


class BFAState(eqx.Module):
    """Dynamic state of a :class:`BFASNN` presentation: the hidden and output SLIF
    states."""

    hidden: SLIFState
    output: SLIFState


class BFAResponse(eqx.Module):
    """What :meth:`BFASNN.respond` and :meth:`BFASNN.train_batch` return besides the
    model: ``logits`` (the output cells' mean input current after the burn-in, shape
    ``(batch, n_out)``), ``out_counts`` and ``hid_counts`` (spike counts over the whole
    presentation, ``(batch, n_out)``, ``(batch, n_hid)``) and, with ``record=True``, the
    hidden spike trains ``hid_spikes`` (``(T, batch, n_hid)``; ``None`` otherwise)."""

    logits: Float[Array, "batch n_out"]
    out_counts: Float[Array, "batch n_out"]
    hid_counts: Float[Array, "batch n_hid"]
    hid_spikes: Float[Array, "T batch n_hid"] | None = None


class BFASNN(eqx.Module):
    r"""Spiking network trained by broadcast feedback alignment (see the module docstring).

    Fields are public ngcx pieces: ``encoder`` (:class:`~ngcx.cells.BernoulliCell`),
    ``W1``/``W2`` (plastic :class:`~ngcx.synapses.DenseSynapse` s with biases), ``B`` (the
    fixed feedback :class:`~ngcx.synapses.DenseSynapse`, ``(n_out, n_hid)``),
    ``hidden``/``output`` (:class:`~ngcx.cells.SLIFCell`), ``error``
    (:class:`~ngcx.cells.GaussianErrorCell`) and ``rule``
    (:class:`~ngcx.plasticity.Hebbian`). ``eta1``, ``eta2``, ``dt`` and ``input_gain``
    are scalar array leaves; ``T`` and ``burn_in`` (steps) are static.
    """

    encoder: BernoulliCell
    W1: DenseSynapse
    W2: DenseSynapse
    B: DenseSynapse
    hidden: SLIFCell
    output: SLIFCell
    error: GaussianErrorCell
    rule: Hebbian
    eta1: Float[Array, ""]
    eta2: Float[Array, ""]
    dt: Float[Array, ""]
    input_gain: Float[Array, ""]
    T: int = eqx.field(static=True)
    burn_in: int = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hid: int,
        n_out: int,
        *,
        key: Key,
        T: int = 100,
        dt: float = 0.25,
        tau_m: float = 20.0,
        thr: float = 0.4,
        refract_time: float = 1.0,
        input_gain: float = 0.25,
        burn_in: int = 20,
        eta: float = 1.0,
        w_std: float = 0.055,
    ):
        r"""**Arguments:**

        - `n_in`, `n_hid`, `n_out`: layer sizes; `key`: PRNG key of the weights, the
          feedback matrix and the cells.
        - `T`: steps per presentation and `burn_in` the first steps without learning or
          readout (ints, ``0 <= burn_in < T``; static).
        - `dt`: the step (ms, > 0); `tau_m`: the SLIF membrane time constant (ms, > 0);
          `thr`: the spike threshold; `refract_time`: refractory period (ms, >= 0).
        - `input_gain`: spike probability per step of an intensity of 1 (in $(0, 1]$).
        - `eta`: learning-rate scale (>= 0): $\eta_1 = \eta/n_{\text{in}}$,
          $\eta_2 = \eta/n_{\text{hid}}$ (Samadi et al.'s per-layer rates at ``eta=1``).
        - `w_std`: standard deviation of the centred Gaussian initial weights of $W_1$,
          $W_2$ and of the feedback $B$ (> 0; biases start at 0).

        **Raises:** ``ValueError`` naming the argument for a value outside its domain.
        """
        for name, n in (("n_in", n_in), ("n_hid", n_hid), ("n_out", n_out), ("T", T)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"`{name}` must be a positive int, got {n!r}.")
        if not isinstance(burn_in, int) or isinstance(burn_in, bool) or not 0 <= burn_in < T:
            raise ValueError(f"`burn_in` must be an int in [0, T={T}), got {burn_in!r}.")
        std = param(w_std, "w_std", "positive")
        k1, k2, kb, kh, ko = jax.random.split(key, 5)
        init = DistributionGenerator.gaussian(0.0, float(std))
        self.encoder = BernoulliCell(n_in)
        self.W1 = DenseSynapse((n_in, n_hid), key=k1, weight_init=init, use_bias=True)
        self.W2 = DenseSynapse((n_hid, n_out), key=k2, weight_init=init, use_bias=True)
        self.B = DenseSynapse((n_out, n_hid), key=kb, weight_init=init)

        def slif(n: int, k: Key) -> SLIFCell:
            return SLIFCell(
                n, tau_m, 1.0, thr, key=k, refract_time=refract_time, sticky_spikes=True,
                thr_jitter=0.0,
            )  # fmt: skip

        self.hidden = slif(n_hid, kh)
        self.output = slif(n_out, ko)
        self.error = GaussianErrorCell(n_out)
        self.rule = Hebbian()
        scale = param(eta, "eta", "nonnegative")
        self.eta1 = scale / n_in
        self.eta2 = scale / n_hid
        self.dt = param(dt, "dt", "positive")
        self.input_gain = param(input_gain, "input_gain", "unit_open")
        self.T = T
        self.burn_in = burn_in

    @property
    def n_in(self) -> int:
        return self.W1.shape[0]

    @property
    def n_hid(self) -> int:
        return self.W1.shape[1]

    @property
    def n_out(self) -> int:
        return self.W2.shape[1]

    # -- optimisation ----------------------------------------------------------------
    def optimizer(self, optim_type: str = "sgd") -> optax.GradientTransformation:
        """The optax chain of ``(W1, W2)`` (:func:`ngcx.plasticity.per_module` of two
        :func:`ngcx.plasticity.hebbian` chains at rates ``eta1``, ``eta2``; the rule's
        update is added)."""
        return plasticity.per_module(
            (plasticity.hebbian(self.eta1, optim_type), plasticity.hebbian(self.eta2, optim_type))
        )

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state of ``(W1, W2)``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return plasticity.init(opt, (self.W1, self.W2))

    # -- dynamics --------------------------------------------------------------------
    def init_state(self, batch_shape: tuple[int, ...] = ()) -> BFAState:
        """Resting state for a presentation."""
        return BFAState(self.hidden.init_state(batch_shape), self.output.init_state(batch_shape))

    def step(
        self, state: BFAState, s_in: Float[Array, "*batch n_in"], W1: Any = None, W2: Any = None
    ) -> tuple[BFAState, Array, Array]:
        """One ``dt`` step given the input spikes `s_in` (optionally with other synapses
        `W1`, `W2`). **Returns:** ``(state, j1, j2)``, the new state and the currents into
        the hidden and output cells."""
        W1 = self.W1 if W1 is None else W1
        W2 = self.W2 if W2 is None else W2
        j1 = W1(s_in)
        hidden = self.hidden(state.hidden, j1, dt=self.dt)
        j2 = W2(hidden.s)
        output = self.output(state.output, j2, dt=self.dt)
        return BFAState(hidden, output), j1, j2

    def teaching_signal(
        self, e: Float[Array, "*batch n_out"], j1: Float[Array, "*batch n_hid"]
    ) -> Float[Array, "*batch n_hid"]:
        r"""The hidden layer's broadcast teaching signal $d_1 = (e B) \odot \sigma'(R j_1)$
        (`e` the output error, `j1` the hidden input current)."""
        gate = self.hidden.surrogate.derivative(j1 * self.hidden.resist_m.astype(j1.dtype))
        return self.B(e) * gate

    def bfa_updates(
        self,
        s_in: Float[Array, "*batch n_in"],
        s_hid: Float[Array, "*batch n_hid"],
        j1: Float[Array, "*batch n_hid"],
        e: Float[Array, "*batch n_out"],
        W1: Any = None,
        W2: Any = None,
    ) -> tuple[DenseSynapse, DenseSynapse]:
        r"""The rule's raw updates (before the learning rates) for one step: for
        $W_1$, $(s_0^\top d_1, \sum d_1)$ with $d_1$ from :meth:`teaching_signal`; for
        $W_2$, $(s_1^\top e, \sum e)$. Shaped like ``(W1, W2)``."""
        W1 = self.W1 if W1 is None else W1
        W2 = self.W2 if W2 is None else W2
        d1 = self.teaching_signal(e, j1)
        return self.rule(W1, s_in, d1), self.rule(W2, s_hid, e)

    def _run(
        self,
        x: Array,
        key: Key,
        y: Array | None,
        opt_state: Any,
        optimizer: optax.GradientTransformation | None,
        record: bool,
    ) -> tuple[tuple[DenseSynapse, DenseSynapse], Any, BFAResponse]:
        learn = y is not None
        batch = x.shape[0]
        spikes_in = self.encoder.encode(x * self.input_gain.astype(x.dtype), self.T, key=key)
        steps = jnp.arange(self.T)
        opt = self.optimizer() if optimizer is None else optimizer
        zeros_o = jnp.zeros((batch, self.n_out), x.dtype)

        def body(carry, inputs):
            syns, ost, state, j2_sum = carry
            s_in, t = inputs
            state, j1, j2 = self.step(state, s_in, *syns)
            active = t >= self.burn_in
            j2_sum = j2_sum + jnp.where(active, j2, jnp.zeros_like(j2))
            if learn:
                # no learning during the burn-in: a zero error gives zero updates
                e = self.error(state.output.s, y).dmu * active.astype(x.dtype)
                ups = self.bfa_updates(s_in, state.hidden.s, j1, e, *syns)
                syns, ost = plasticity.apply_updates(syns, ups, ost, opt)
            out = state.hidden.s if record else None
            return (syns, ost, state, j2_sum), (state.output.s, state.hidden.s, out)

        carry = ((self.W1, self.W2), opt_state, self.init_state((batch,)), zeros_o)
        (syns, opt_state, _, j2_sum), (s_out, s_hid, trains) = jax.lax.scan(
            body, carry, (spikes_in, steps)
        )
        logits = j2_sum / float(self.T - self.burn_in)
        return syns, opt_state, BFAResponse(logits, s_out.sum(0), s_hid.sum(0), trains)

    def train_batch(
        self,
        opt_state: Any,
        x: Float[Array, "batch n_in"],
        y: Int[Array, " batch"],
        key: Key,
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[BFASNN, Any, BFAResponse]:
        """Present a batch for ``T`` steps with BFA learning at every step after the
        burn-in; `y` are integer labels. **Returns:** ``(model, opt_state, response)``
        (the response as seen during learning)."""
        check_features(x, "x", self.n_in, "BFASNN.train_batch", rank=2)
        if getattr(y, "shape", None) != tuple(x.shape[:1]):
            raise ValueError(
                f"`y` of BFASNN.train_batch must be integer labels of shape ({x.shape[0]},), "
                f"got shape {getattr(y, 'shape', None)}."
            )
        target = jax.nn.one_hot(y, self.n_out, dtype=x.dtype)
        (W1, W2), opt_state, out = self._run(x, key, target, opt_state, optimizer, False)
        return eqx.tree_at(lambda m: (m.W1, m.W2), self, (W1, W2)), opt_state, out

    def respond(self, x: Float[Array, "batch n_in"], key: Key, record: bool = False) -> BFAResponse:
        """The network's response to a batch without learning (see :class:`BFAResponse`;
        `record` keeps the hidden spike trains)."""
        check_features(x, "x", self.n_in, "BFASNN.respond", rank=2)
        return self._run(x, key, None, None, None, record)[2]

    def predict(self, x: Float[Array, "batch n_in"], key: Key) -> Int[Array, " batch"]:
        """Class predictions: the argmax of :attr:`BFAResponse.logits`."""
        return jnp.argmax(self.respond(x, key).logits, axis=-1)
