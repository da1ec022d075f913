r"""A spiking controller learning by reward-modulated STDP with eligibility traces
(ngc-museum's ``rl_snn``; MSTDP-ET, Florian 2007; the architecture after Chevtchenko and
Ludermir 2020), and the exhibit's rat T-maze rewritten in JAX.

**Network** (:class:`RewardSTDPNetwork`). An observation $o \in [0, 1]^{n_{\text{in}}}$ is
presented for ``T`` steps of ``dt`` ms as Poisson spikes (:class:`~ngcx.cells.PoissonCell`,
``target_freq`` Hz at intensity 1). A fixed sparse projection $W_1$ (each input excites
``n_plus`` and inhibits ``n_minus`` random hidden cells, weights $\pm 1$ times
``resist_in``) drives a hidden layer of LIF cells (:class:`~ngcx.cells.LIFCell`,
$\tau_m = 100$ ms, a unit current moves the voltage by 1 mV per ms), which inhibit each
other through hollow all-to-all weights ($-$``inh_hid``). The hidden spikes $s_1$ drive
the ``n_out`` action cells (LIF, also mutually inhibiting, $-$``inh_out``) through the
plastic weights $W_2 \in [0, 1]$, whose columns keep the L1 norm ``wnorm``.

**Learning** (:class:`~ngcx.plasticity.MSTDPET`). Pre- and postsynaptic spike traces
$x_1, x_2$ (:class:`~ngcx.cells.VarTrace`, set to 1 on a spike, decaying with
``tau_tr``) give the trace-STDP update of each step,

$$\Delta_t = A_+\, x_1(t)^\top s_2(t) - A_-\, s_1(t)^\top x_2(t),$$

which feeds the eligibility trace ($\tau_e$ = ``tau_elg``)

$$E(t) = e^{-\Delta t/\tau_e} E(t - \Delta t) + \Delta_t/\tau_e, \qquad E(0) = 0.$$

After each decision window the environment's reward $r$ gates it (the "third factor"):

$$W_2 \leftarrow \Pi\big(W_2 + \eta\, r\, E(T) \odot m\big),$$

with $m$ the one-hot mask of the action taken (only the chosen action cell's synapses
learn), and $\Pi$ the clip to $[0, 1]$ followed by the column L1 normalisation
(:func:`ngcx.plasticity.stdp` with ``normalize``). The network and the eligibility
restart from rest at every decision, as in the exhibit.

**Acting.** The action is the output cell with the most spikes in the window (ties broken
at random); :meth:`RewardSTDPNetwork.act` also offers $\epsilon$-greedy exploration (the
exhibit's behaviour policy) and sampling in proportion to the spike counts.

**Environment** (:class:`TMaze`, ngc-museum's ``RatMaze`` with ``maze_type="t_maze"``):
a T-shaped corridor on a grid; the agent starts at the bottom of the stem, the food is at
the right end of the top bar. Actions move down, up, right, left (a move into a wall
leaves the agent in place). The reward is shaped by the L1 distance $d$ to the food:
$+1$ when a move brings the agent closer, $-1$ otherwise, and $+1$ with the end of the
episode on reaching the food; an episode lasts at most ``episode_len`` moves. The
observation is the exhibit maze's "coordinates" encoding: one-hot row and one-hot column
of the agent (the exhibit renders the whole maze as pixels; coordinates give the same
task a compact input).

**Defaults.** The exhibit's values (36 hidden cells, ``T=100`` steps of 1 ms,
$\tau_m = 100$ ms, 127.5 Hz input, 6 excitatory and 3 inhibitory projections per input,
$A_+ = 1$, $A_- = 0.01$, ``tau_tr=20``, ``tau_elg=40`` ms, initial ``W2`` on
$[0.01, 0.55]$, column norm $0.5\,n_{\text{hid}}$, lateral inhibition 4) except three
that the compact input needs: two active inputs (instead of the ~200 lit pixels of the
exhibit's rendering) drive the hidden layer with ``resist_in=10`` (exhibit: 4), the
sparser hidden spikes drive the action cells with ``resist_out=2`` (exhibit: 1), and the
rate is ``eta=1`` (exhibit: 0.1). The exhibit's weight leak ($\tau_w = 2\cdot10^7$ ms) is
left out (negligible over a run).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Bool, Float, Int

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import param
from ..cells import LIFCell, PoissonCell, SpikeState, VarTrace
from ..initializers import DistributionGenerator
from ..ops import normalize_matrix
from ..plasticity import MSTDPET
from ..synapses import DenseSynapse


__all__ = [
    "RewardSTDPNetwork",
    "RSTDPState",
    "RSTDPWindow",
    "TMaze",
    "TMazeState",
    "sparse_sign_weights",
    "run_episodes",
    "Episodes",
]

#: actions of :class:`TMaze`: (row, column) moves down, up, right, left
_MOVES = ((1, 0), (-1, 0), (0, 1), (0, -1))


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    return value


def sparse_sign_weights(
    key: Key, shape: tuple[int, int], n_plus: int, n_minus: int
) -> Float[Array, "n_in n_out"]:
    """A ``(n_in, n_out)`` matrix whose every row holds `n_plus` entries +1 and `n_minus`
    entries -1 at random distinct columns, zeros elsewhere (the exhibit's fixed feature
    projection). Raises ``ValueError`` unless ``n_plus + n_minus <= n_out``."""
    n_in, n_out = shape
    if n_plus < 0 or n_minus < 0 or n_plus + n_minus > n_out:
        raise ValueError(
            f"`n_plus` + `n_minus` must be at most n_out={n_out} (both >= 0), got "
            f"{n_plus} + {n_minus}."
        )
    signs = jnp.concatenate(
        [jnp.ones(n_plus), -jnp.ones(n_minus), jnp.zeros(n_out - n_plus - n_minus)]
    ).astype(jnp.float32)
    keys = jax.random.split(key, n_in)
    return jax.vmap(lambda k: jax.random.permutation(k, signs))(keys)


# -- the environment ------------------------------------------------------------------
class TMazeState(eqx.Module):
    """State of a :class:`TMaze` episode: the agent's ``pos`` (row, column), its L1
    distance ``dist`` to the food after the last move, the moves taken ``t`` and ``done``."""

    pos: Int[Array, "2"]
    dist: Float[Array, ""]
    t: Int[Array, ""]
    done: Bool[Array, ""]


class TMaze(eqx.Module):
    """The rat T-maze of ngc-museum's ``rl_snn`` exhibit as a pure JAX environment (see the
    module docstring): ``state = maze.reset()``, ``obs = maze.observe(state)``,
    ``state, reward = maze.step(state, action)``; every method works under ``jax.jit``
    and ``jax.vmap``. The grid is ``(width_y + 2) x (width_x + 2)`` tiles with a wall
    border; the stem is the middle column."""

    free: Bool[Array, "rows cols"]
    start: Int[Array, "2"]
    goal: Int[Array, "2"]
    width_x: int = eqx.field(static=True)
    width_y: int = eqx.field(static=True)
    episode_len: int = eqx.field(static=True)

    def __init__(self, width_x: int = 3, width_y: int = 4, episode_len: int = 30):
        """**Arguments:** `width_x` (odd, >= 3) tiles of the top bar, `width_y` (>= 2)
        rows from the bar to the start, `episode_len` the most moves per episode."""
        _positive_int(width_x, "width_x")
        _positive_int(width_y, "width_y")
        _positive_int(episode_len, "episode_len")
        if width_x < 3 or width_x % 2 == 0:
            raise ValueError(f"`width_x` must be an odd int >= 3, got {width_x!r}.")
        if width_y < 2:
            raise ValueError(f"`width_y` must be an int >= 2, got {width_y!r}.")
        mid = (width_x + 1) // 2
        free = jnp.zeros((width_y + 2, width_x + 2), bool)
        free = free.at[1, 1 : width_x + 1].set(True).at[2 : width_y + 1, mid].set(True)
        self.free = free
        self.start = jnp.array([width_y, mid], jnp.int32)
        self.goal = jnp.array([1, width_x], jnp.int32)
        self.width_x, self.width_y, self.episode_len = width_x, width_y, episode_len

    @property
    def n_obs(self) -> int:
        """Size of an observation: one-hot row plus one-hot column."""
        return (self.width_y + 2) + (self.width_x + 2)

    @property
    def n_actions(self) -> int:
        return len(_MOVES)

    @property
    def shortest_path(self) -> int:
        """Moves from the start to the food (the best return is this many +1 rewards)."""
        return int(jnp.sum(jnp.abs(self.goal - self.start)))

    def _dist(self, pos: Array) -> Array:
        return jnp.sum(jnp.abs(self.goal - pos)).astype(jnp.float32)

    def reset(self) -> TMazeState:
        """The start of an episode."""
        return TMazeState(
            self.start, self._dist(self.start), jnp.zeros((), jnp.int32), jnp.zeros((), bool)
        )

    def observe(self, state: TMazeState) -> Float[Array, " n_obs"]:
        """One-hot row and one-hot column of the agent, concatenated."""
        rows, cols = self.free.shape
        return jnp.concatenate(
            [jax.nn.one_hot(state.pos[0], rows), jax.nn.one_hot(state.pos[1], cols)]
        ).astype(jnp.float32)

    def step(self, state: TMazeState, action: Int[Array, ""]) -> tuple[TMazeState, Array]:
        """Move (into a wall: stay) and reward (see the module docstring). An episode that
        is done stays done with reward 0. **Returns:** ``(state, reward)``."""
        move = jnp.asarray(_MOVES, jnp.int32)[action]
        proposal = state.pos + move
        pos = jnp.where(self.free[proposal[0], proposal[1]], proposal, state.pos)
        dist = self._dist(pos)
        reached = dist == 0
        reward = jnp.where(reached | (dist < state.dist), 1.0, -1.0).astype(jnp.float32)
        t = state.t + 1
        done = reached | (t >= self.episode_len)
        new = TMazeState(pos, dist, t, done)
        # a finished episode no longer changes
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(state.done, a, b), state, new)
        return new, jnp.where(state.done, 0.0, reward).astype(jnp.float32)


# -- the network -------------------------------------------------------------------------
class RSTDPState(eqx.Module):
    """Dynamic state of a :class:`RewardSTDPNetwork` decision window: hidden and output
    cells, the spike traces and the eligibility trace of ``W2``."""

    hidden: SpikeState
    output: SpikeState
    pre_trace: Float[Array, " n_hid"]
    post_trace: Float[Array, " n_out"]
    eligibility: Float[Array, "n_hid n_out"]


class RSTDPWindow(eqx.Module):
    """What :meth:`RewardSTDPNetwork.window` returns: the output spike ``counts`` of the
    window, the final ``eligibility`` and, with ``record=True``, the hidden and output
    spike trains (``(T, n_hid)``, ``(T, n_out)``; ``None`` otherwise)."""

    counts: Float[Array, " n_out"]
    eligibility: Float[Array, "n_hid n_out"]
    hid_spikes: Float[Array, "T n_hid"] | None = None
    out_spikes: Float[Array, "T n_out"] | None = None


class RewardSTDPNetwork(eqx.Module):
    r"""Spiking controller trained by reward-modulated STDP with eligibility traces (see
    the module docstring).

    Fields are public ngcx pieces: ``encoder`` (:class:`~ngcx.cells.PoissonCell`), ``W1``
    (fixed sparse :class:`~ngcx.synapses.DenseSynapse`), ``V1``/``V2`` (fixed lateral
    inhibition), ``W2`` (plastic), ``hidden``/``output`` (:class:`~ngcx.cells.LIFCell`),
    ``trace_hid``/``trace_out`` (:class:`~ngcx.cells.VarTrace`) and ``rule``
    (:class:`~ngcx.plasticity.MSTDPET`). ``eta``, ``wnorm`` and ``dt`` are scalar array
    leaves, ``T`` (steps per decision) is static. One decision: :meth:`window` (or
    :meth:`act`); learning from its reward: :meth:`reinforce`.
    """

    encoder: PoissonCell
    W1: DenseSynapse
    V1: DenseSynapse
    W2: DenseSynapse
    V2: DenseSynapse
    hidden: LIFCell
    output: LIFCell
    trace_hid: VarTrace
    trace_out: VarTrace
    rule: MSTDPET
    eta: Float[Array, ""]
    wnorm: Float[Array, ""]
    dt: Float[Array, ""]
    T: int = eqx.field(static=True)

    def __init__(
        self,
        n_in: int,
        n_hid: int,
        n_out: int,
        *,
        key: Key,
        T: int = 100,
        dt: float = 1.0,
        tau_m: float = 100.0,
        target_freq: float = 127.5,
        n_plus: int = 6,
        n_minus: int = 3,
        resist_in: float = 10.0,
        inh_hid: float = 4.0,
        inh_out: float = 4.0,
        resist_out: float = 2.0,
        A_plus: float = 1.0,
        A_minus: float = 0.01,
        tau_tr: float = 20.0,
        tau_elg: float = 40.0,
        eta: float = 1.0,
        w_max_init: float = 0.55,
        norm_frac: float = 0.5,
    ):
        r"""**Arguments:**

        - `n_in`, `n_hid`, `n_out`: observation size, hidden cells, actions; `key`: PRNG
          key of the projections and initial weights.
        - `T`: steps of `dt` ms per decision (static); `tau_m`: membrane time constant of
          both LIF layers (ms); `target_freq`: Poisson rate (Hz) of an intensity of 1.
        - `n_plus`, `n_minus`: excitatory and inhibitory projections of each input
          (``n_plus + n_minus <= n_hid``); `resist_in`: their strength (mV per spike).
        - `inh_hid`, `inh_out`: lateral inhibition (mV per spike of another cell, >= 0).
        - `resist_out`: scale of ``W2``'s output (mV per hidden spike per unit weight,
          > 0).
        - `A_plus`, `A_minus`: trace-STDP amplitudes; `tau_tr`: spike-trace time constant
          (ms); `tau_elg`: eligibility time constant (ms, > 0); `eta`: learning rate
          (>= 0).
        - `w_max_init`: initial ``W2`` uniform on ``[0.01, w_max_init]``; `norm_frac`: the
          column L1 norm of ``W2`` is ``norm_frac * n_hid`` (> 0).

        **Raises:** ``ValueError`` naming the argument for a value outside its domain.
        """
        for name, n in (("n_in", n_in), ("n_hid", n_hid), ("n_out", n_out), ("T", T)):
            _positive_int(n, name)
        k1, kv1, k2, kv2 = jax.random.split(key, 4)
        self.encoder = PoissonCell(n_in, target_freq)
        w1 = DenseSynapse((n_in, n_hid), key=k1, resist_scale=resist_in)
        self.W1 = eqx.tree_at(
            lambda s: s.weights, w1, sparse_sign_weights(k1, (n_in, n_hid), n_plus, n_minus)
        )
        self.V1 = _lateral(n_hid, inh_hid, kv1, "inh_hid")
        self.V2 = _lateral(n_out, inh_out, kv2, "inh_out")
        self.wnorm = param(norm_frac * n_hid, "norm_frac", "positive")
        w2 = DenseSynapse(
            (n_hid, n_out),
            key=k2,
            weight_init=DistributionGenerator.uniform(0.01, w_max_init),
            resist_scale=param(resist_out, "resist_out", "positive"),
        )
        self.W2 = eqx.tree_at(
            lambda s: s.weights, w2, normalize_matrix(w2.weights, self.wnorm, order=1, axis=0)
        )
        self.dt = param(dt, "dt", "positive")
        tau = param(tau_m, "tau_m", "positive")

        def lif(n: int) -> LIFCell:
            # resistance tau/dt: a unit current moves the voltage by 1 mV per step
            return LIFCell(
                n, tau, resist_m=tau / self.dt, thr=-52.0, v_rest=-65.0, v_reset=-65.0,
                tau_theta=0.0, theta_plus=0.0, refract_time=0.0,
            )  # fmt: skip

        self.hidden = lif(n_hid)
        self.output = lif(n_out)
        self.trace_hid = VarTrace(n_hid, tau_tr, a_delta=0.0)
        self.trace_out = VarTrace(n_out, tau_tr, a_delta=0.0)
        if not float(tau_elg) > 0:
            raise ValueError(f"`tau_elg` must be > 0 (ms), got {tau_elg!r}.")
        self.rule = MSTDPET(A_plus, A_minus, w_bound=1.0, tau_elg=tau_elg)
        self.eta = param(eta, "eta", "nonnegative")
        self.T = _positive_int(T, "T")

    @property
    def n_in(self) -> int:
        return self.W1.shape[0]

    @property
    def n_hid(self) -> int:
        return self.W1.shape[1]

    @property
    def n_out(self) -> int:
        return self.W2.shape[1]

    def optimizer(self) -> optax.GradientTransformation:
        """The chain of ``W2``: the modulated update added at rate ``eta``, weights clipped
        to ``[0, 1]``, then each column renormalised to L1 norm ``wnorm``
        (:func:`ngcx.plasticity.stdp`)."""
        return plasticity.stdp(self.eta, w_bound=1.0, normalize=self.wnorm)

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state of ``W2``."""
        return plasticity.init(self.optimizer() if optimizer is None else optimizer, self.W2)

    def init_state(self) -> RSTDPState:
        """Rest, empty traces and a zero eligibility."""
        return RSTDPState(
            self.hidden.init_state(),
            self.output.init_state(),
            self.trace_hid.init_state(),
            self.trace_out.init_state(),
            self.rule.init_eligibility(self.W2),
        )

    def step(self, state: RSTDPState, s_in: Float[Array, " n_in"]) -> RSTDPState:
        """One ``dt`` step: the cells, the traces and the eligibility (no weight change)."""
        hidden = self.hidden(state.hidden, self.W1(s_in) + self.V1(state.hidden.s), dt=self.dt)
        output = self.output(state.output, self.W2(hidden.s) + self.V2(state.output.s), dt=self.dt)
        pre_trace = self.trace_hid(state.pre_trace, hidden.s, dt=self.dt)
        post_trace = self.trace_out(state.post_trace, output.s, dt=self.dt)
        elig = self.rule.eligibility_step(
            self.W2, state.eligibility, hidden.s, output.s, pre_trace, post_trace, dt=self.dt
        )
        return RSTDPState(hidden, output, pre_trace, post_trace, elig)

    def eligibility(
        self, pre_spikes: Float[Array, "T n_hid"], post_spikes: Float[Array, "T n_out"]
    ) -> Float[Array, "n_hid n_out"]:
        r"""The eligibility $E(T)$ of ``W2`` for given hidden and output spike trains
        (traces and eligibility from zero; see the module docstring)."""

        def body(carry, spikes):
            x1, x2, elig = carry
            s1, s2 = spikes
            x1 = self.trace_hid(x1, s1, dt=self.dt)
            x2 = self.trace_out(x2, s2, dt=self.dt)
            elig = self.rule.eligibility_step(self.W2, elig, s1, s2, x1, x2, dt=self.dt)
            return (x1, x2, elig), None

        init = (
            self.trace_hid.init_state(),
            self.trace_out.init_state(),
            self.rule.init_eligibility(self.W2),
        )
        (_, _, elig), _ = jax.lax.scan(body, init, (pre_spikes, post_spikes))
        return elig

    def window(self, obs: Float[Array, " n_in"], key: Key, record: bool = False) -> RSTDPWindow:
        """Present one observation for ``T`` steps from rest (see :class:`RSTDPWindow`).
        Use ``jax.vmap`` for several agents or environments."""
        check_features(obs, "obs", self.n_in, "RewardSTDPNetwork.window", rank=1)
        spikes_in = self.encoder.encode(obs, self.T, key=key, dt=self.dt)

        def body(state, s_in):
            state = self.step(state, s_in)
            return state, ((state.hidden.s, state.output.s) if record else state.output.s)

        state, trains = jax.lax.scan(body, self.init_state(), spikes_in)
        if record:
            hid, out = trains
            return RSTDPWindow(out.sum(0), state.eligibility, hid, out)
        return RSTDPWindow(trains.sum(0), state.eligibility)

    @staticmethod
    def choose(
        counts: Float[Array, " n_out"], key: Key, policy: str = "greedy", epsilon: Any = 0.0
    ) -> Int[Array, ""]:
        r"""An action from output spike `counts`: ``"greedy"`` the most spikes (ties at
        random), with probability `epsilon` a uniformly random action instead;
        ``"sampled"`` an action drawn with probability proportional to its spikes (uniform
        when none spiked); ``"random"`` a uniformly random action (the chance baseline)."""
        k1, k2, k3 = jax.random.split(key, 3)
        n = counts.shape[-1]
        if policy == "sampled":
            total = jnp.sum(counts)
            probs = jnp.where(total > 0, counts / jnp.maximum(total, 1.0), 1.0 / n)
            return jax.random.choice(k1, n, p=probs)
        if policy == "random":
            return jax.random.randint(k1, (), 0, n)
        if policy != "greedy":
            raise ValueError(f"`policy` must be 'greedy', 'sampled' or 'random', got {policy!r}.")
        jitter = jax.random.uniform(k1, counts.shape, counts.dtype, 0.0, 0.5)
        best = jnp.argmax(counts + jitter)
        explore = jax.random.uniform(k2) < jnp.asarray(epsilon, jnp.float32)
        return jnp.where(explore, jax.random.randint(k3, (), 0, n), best)

    def act(
        self,
        obs: Float[Array, " n_in"],
        key: Key,
        policy: str = "greedy",
        epsilon: Any = 0.0,
    ) -> tuple[Int[Array, ""], RSTDPWindow]:
        """One decision: :meth:`window` then :meth:`choose`. **Returns:** ``(action,
        window)``."""
        kw, kc = jax.random.split(key)
        win = self.window(obs, kw)
        return self.choose(win.counts, kc, policy, epsilon), win

    def modulated_update(
        self,
        eligibility: Float[Array, "*batch n_hid n_out"],
        reward: Float[Array, "*batch"],
        action: Int[Array, "*batch"],
    ) -> DenseSynapse:
        r"""The rule's update of ``W2`` (before $\eta$ and the projections):
        $r\,E \odot m$ with $m$ the one-hot mask of `action`, averaged over any leading
        batch axes of parallel episodes."""
        mask = jax.nn.one_hot(action, self.n_out, dtype=eligibility.dtype)
        dW = eligibility * (reward.astype(eligibility.dtype)[..., None, None] * mask[..., None, :])
        dW = dW.reshape(-1, *dW.shape[-2:]).mean(0)
        return self.rule.modulated_updates(self.W2, dW, 1.0)

    def reinforce(
        self,
        opt_state: Any,
        eligibility: Float[Array, "*batch n_hid n_out"],
        reward: Float[Array, "*batch"],
        action: Int[Array, "*batch"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[RewardSTDPNetwork, Any]:
        r"""Learn from a reward: $W_2 \leftarrow \Pi(W_2 + \eta\, r\, E \odot m)$ (see
        :meth:`modulated_update`). **Returns:** ``(model, opt_state)``."""
        opt = self.optimizer() if optimizer is None else optimizer
        updates = self.modulated_update(eligibility, reward, action)
        W2, opt_state = plasticity.apply_updates(self.W2, updates, opt_state, opt)
        return eqx.tree_at(lambda m: m.W2, self, W2), opt_state


def _lateral(n: int, strength: Any, key: Key, name: str) -> DenseSynapse:
    """Fixed hollow all-to-all inhibition of `strength` (mV per spike)."""
    s = param(strength, name, "nonnegative")
    syn = DenseSynapse((n, n), key=key, resist_scale=-s)
    return eqx.tree_at(lambda x: x.weights, syn, 1.0 - jnp.eye(n, dtype=jnp.float32))


class Episodes(eqx.Module):
    """What :func:`run_episodes` returns besides the model: per episode the ``returns``
    (summed rewards), ``steps`` (moves taken) and ``success`` (1 where the food was
    reached), each of shape ``(n_episodes,)``."""

    returns: Float[Array, " n"]
    steps: Float[Array, " n"]
    success: Float[Array, " n"]


def run_episodes(
    model: RewardSTDPNetwork,
    maze: TMaze,
    key: Key,
    n_episodes: int,
    *,
    opt_state: Any = None,
    learn: bool = False,
    policy: str = "greedy",
    epsilon: Any = 0.0,
    optimizer: optax.GradientTransformation | None = None,
) -> tuple[RewardSTDPNetwork, Any, Episodes]:
    r"""Play `n_episodes` episodes of `maze` in parallel (one ``lax.scan`` over the
    moves, ``jax.vmap`` over the episodes). With `learn` (`opt_state` required) the
    network learns after every move from the batch's rewards
    (:meth:`RewardSTDPNetwork.reinforce`, the update averaged over the episodes still
    running), so ``n_episodes=1`` is the exhibit's online learning. `policy` and
    `epsilon` as in :meth:`RewardSTDPNetwork.choose`.

    **Returns:** ``(model, opt_state, episodes)``.
    """
    n_episodes = _positive_int(n_episodes, "n_episodes")
    if learn and opt_state is None:
        raise ValueError("`opt_state` is required with learn=True.")
    opt = model.optimizer() if (learn and optimizer is None) else optimizer
    env0 = jax.vmap(lambda _: maze.reset())(jnp.arange(n_episodes))
    zeros = jnp.zeros((n_episodes,), jnp.float32)

    # only W2 learns: the scan carries it (not the whole network), the rest of the
    # network is a loop constant
    def body(carry, k):
        W2, ost, env, ret = carry
        net = eqx.tree_at(lambda m: m.W2, model, W2)
        obs = jax.vmap(maze.observe)(env)
        keys = jax.random.split(k, n_episodes)
        actions, wins = jax.vmap(lambda o, kk: net.act(o, kk, policy, epsilon))(obs, keys)
        running = ~env.done
        env, reward = jax.vmap(maze.step)(env, actions)
        if learn:
            # average over the episodes still running (finished ones give reward 0)
            n_run = jnp.maximum(jnp.sum(running), 1).astype(jnp.float32)
            scale = reward * (n_episodes / n_run)
            net, ost = net.reinforce(ost, wins.eligibility, scale, actions, opt)
        return (net.W2, ost, env, ret + reward), None

    keys = jax.random.split(key, maze.episode_len)
    init = (model.W2, opt_state, env0, zeros)
    (W2, opt_state, env, returns), _ = jax.lax.scan(body, init, keys)
    model = eqx.tree_at(lambda m: m.W2, model, W2)
    reached = (env.dist == 0).astype(jnp.float32)
    return model, opt_state, Episodes(returns, env.t.astype(jnp.float32), reached)
