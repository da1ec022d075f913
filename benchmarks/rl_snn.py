"""Benchmark: one training step of the reward-modulated STDP controller (ngc-museum
``rl_snn``: a batch of T-maze episodes played in parallel, each move a ``T``-step window of
Poisson input spikes through two laterally inhibited LIF layers with spike and
eligibility traces, a greedy/epsilon action, then the update of ``W2`` by reward times
eligibility, clipped and column-normalised) of ngcx against a plain-JAX twin written here
with the same maths, same environment, same process.

    python benchmarks/rl_snn.py                  # 36 hidden, T=100, batches 1 and 16
    python benchmarks/rl_snn.py --batches 64 --repeats 9
    python benchmarks/rl_snn.py --fold --clock cpu   # + the folded step, CPU time

ngcx is ``ngcx.training.rl_snn.RLSNNTask.step`` (``ngcx.models.run_episodes`` with
learning) jitted exactly as ``ngcx.training.fit`` runs it (an ``ngcx.FlatStep`` with the
task's constants); the twin writes the maze, the encoder, the LIF layers, the traces, the
eligibility, the action choice and the projected update by hand. Both start from the same
weights and draw the same random numbers (same key, split the same way), so one step of
each must give the same ``W2`` and the same returns (asserted before any timing). Prints
ms per training step (``batch`` episodes of ``episode_len`` moves) for both and the ratio
ngcx / twin for every batch size; ``--fold`` adds ngcx with every leaf but ``W2``
folded into the step as constants.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import _timing as timing
from ngcx.training import Run
from ngcx.training.rl_snn import RLSNNConfig, RLSNNTask


# the task's defaults (RLSNNConfig) and RewardSTDPNetwork's fixed constants
T, DT, TAU, EP_LEN, EPSILON = 100, 1.0, 100.0, 30, 0.02
V_REST, V_RESET, THR, FREQ = -65.0, -65.0, -52.0, 127.5
RESIST_IN, RESIST_OUT, INH = 10.0, 2.0, 4.0
A_PLUS, A_MINUS, TAU_TR, TAU_ELG, ETA = 1.0, 0.01, 20.0, 40.0, 1.0
# the T-maze (width 3, stem 4): free tiles of a 6 x 5 grid with a wall border
ROWS, COLS, START, GOAL = 6, 5, (4, 2), (1, 3)
FREE = np.zeros((ROWS, COLS), bool)
FREE[1, 1:4] = True
FREE[2:5, 2] = True
MOVES = np.array([(1, 0), (-1, 0), (0, 1), (0, -1)], np.int32)  # down, up, right, left


# --------------------------------------------------------------------------- twin
def _lif(v, j):
    """One LIF step (leak to -65 mV, resistance tau/dt, reset to -65 mV, no refractory
    period, no threshold adaptation)."""
    v = v + (DT / TAU) * ((V_REST - v) + j * (TAU / DT))
    s = (v > THR).astype(v.dtype)
    return v * (1.0 - s) + s * V_RESET, s


def _window(W1, W2, obs, key):
    """One decision window from rest: output spike counts and the eligibility of W2."""
    n_hid, n_out = W2.shape
    spikes = (jax.random.uniform(key, (T, obs.shape[0])) < obs * (FREQ * DT / 1000.0)).astype(
        jnp.float32
    )
    hollow_h = 1.0 - jnp.eye(n_hid)
    hollow_o = 1.0 - jnp.eye(n_out)
    decay_tr = jnp.exp(-DT / TAU_TR)
    decay_e = jnp.exp(-DT / TAU_ELG)

    def body(carry, s_in):
        vh, sh, vo, so, x1, x2, elig = carry
        vh, sh = _lif(vh, RESIST_IN * (s_in @ W1) + (-INH) * (sh @ hollow_h))
        vo, so = _lif(vo, RESIST_OUT * (sh @ W2) + (-INH) * (so @ hollow_o))
        x1 = decay_tr * x1 * (1.0 - sh) + sh
        x2 = decay_tr * x2 * (1.0 - so) + so
        stdp = jnp.outer(A_PLUS * x1, so) - jnp.outer(A_MINUS * sh, x2)
        elig = elig * decay_e + stdp / TAU_ELG
        return (vh, sh, vo, so, x1, x2, elig), so

    zh, zo = jnp.zeros(n_hid), jnp.zeros(n_out)
    init = (zh + V_REST, zh, zo + V_REST, zo, zh, zo, jnp.zeros((n_hid, n_out)))
    carry, s_out = jax.lax.scan(body, init, spikes)
    return s_out.sum(0), carry[-1]


def _act(W1, W2, obs, key):
    """Window, then the greedy action (ties at random) or, with probability EPSILON, a
    uniformly random one."""
    kw, kc = jax.random.split(key)
    counts, elig = _window(W1, W2, obs, kw)
    k1, k2, k3 = jax.random.split(kc, 3)
    n = counts.shape[0]
    best = jnp.argmax(counts + jax.random.uniform(k1, (n,), counts.dtype, 0.0, 0.5))
    explore = jax.random.uniform(k2) < EPSILON
    return jnp.where(explore, jax.random.randint(k3, (), 0, n), best), elig


def twin_step(W2, W1, wnorm, key, n):
    """`n` parallel episodes with learning after every move. **Returns:** the new ``W2``
    and the mean return and success."""
    free, moves = jnp.asarray(FREE), jnp.asarray(MOVES)
    goal = jnp.asarray(GOAL, jnp.int32)
    pos = jnp.broadcast_to(jnp.asarray(START, jnp.int32), (n, 2))
    dist = jnp.sum(jnp.abs(goal - pos), axis=-1).astype(jnp.float32)
    t, done = jnp.zeros((n,), jnp.int32), jnp.zeros((n,), bool)

    def body(carry, k):
        W2, pos, dist, t, done, ret = carry
        obs = jnp.concatenate(
            [jax.nn.one_hot(pos[:, 0], ROWS), jax.nn.one_hot(pos[:, 1], COLS)], axis=-1
        )
        actions, elig = jax.vmap(lambda o, kk: _act(W1, W2, o, kk))(obs, jax.random.split(k, n))
        proposal = pos + moves[actions]
        new_pos = jnp.where(free[proposal[:, 0], proposal[:, 1]][:, None], proposal, pos)
        new_dist = jnp.sum(jnp.abs(goal - new_pos), axis=-1).astype(jnp.float32)
        reached = new_dist == 0
        reward = jnp.where(done, 0.0, jnp.where(reached | (new_dist < dist), 1.0, -1.0))
        new_t = t + 1
        new_done = reached | (new_t >= EP_LEN)
        pos = jnp.where(done[:, None], pos, new_pos)
        dist, t = jnp.where(done, dist, new_dist), jnp.where(done, t, new_t)
        n_run = jnp.maximum(jnp.sum(~done), 1).astype(jnp.float32)
        done = jnp.where(done, done, new_done)
        scale = reward * (n / n_run)
        mask = jax.nn.one_hot(actions, W2.shape[1])
        dW = jnp.mean(elig * (scale[:, None, None] * mask[:, None, :]), axis=0)
        W2 = jnp.clip(W2 + ETA * dW, 0.0, 1.0)
        W2 = wnorm * W2 / jnp.maximum(jnp.sum(jnp.abs(W2), axis=0, keepdims=True), 1e-12)
        return (W2, pos, dist, t, done, ret + reward), None

    init = (W2, pos, dist, t, done, jnp.zeros((n,), jnp.float32))
    (W2, _, dist, _, _, ret), _ = jax.lax.scan(body, init, jax.random.split(key, EP_LEN))
    success = (dist == 0).astype(jnp.float32)
    return W2, {"return": jnp.mean(ret), "success": jnp.mean(success)}


# --------------------------------------------------------------------------- setup
def setup(batch):
    """The task's run and initial state, a batch, a key and the twin's arrays."""
    task = RLSNNTask()
    config = RLSNNConfig(batch_size=batch)
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), Path("unused"))
    state = task.init(run)
    model = state[0]
    assert np.array_equal(np.asarray(run.data.free), FREE), "the twin's maze differs"
    twin = (model.W2.weights, model.W1.weights, model.wnorm)
    data = (jnp.arange(batch, dtype=jnp.int32),)
    return task, run, state, data, jax.random.key(1), twin


def check_equal(task, run, state, data, key, twin, n):
    """One step of each from the same weights with the same random draws must agree
    (asserted before any timing): the new ``W2``, the mean return and success."""
    (model, _), m_ngcx = jax.jit(task.make_step(run, state))(state, data, key)
    W2, m_twin = jax.jit(twin_step, static_argnums=4)(*twin, key, n)
    err = float(jnp.max(jnp.abs(model.W2.weights - W2)))
    moved = float(jnp.max(jnp.abs(W2 - twin[0])))
    assert moved > 1e-3, f"W2 did not learn (moved by {moved:.2e})"
    assert err < 1e-5, f"W2: new weights differ by {err:.2e} (moved by {moved:.2e})"
    for name in ("return", "success"):
        a, b = float(m_ngcx[name]), float(m_twin[name])
        assert abs(a - b) <= 1e-5 * abs(b) + 1e-6, (name, a, b)


# --------------------------------------------------------------------------- timing
def plastic_only(state):
    """A filter spec that keeps only ``W2``'s weights and the optimiser state moving and
    folds every other leaf (the fixed projections, the cells' and traces' constants, the
    rates) into the compiled step: the ``constants`` proposed for ``RLSNNTask``
    (``--fold``)."""
    spec = jax.tree_util.tree_map(lambda _: False, state[0])
    return (eqx.tree_at(lambda m: m.W2.weights, spec, True), True)


def bench(batch, repeats, fold=False, clock="wall"):
    task, run, state, data, key, twin = setup(batch)
    check_equal(task, run, state, data, key, twin, batch)
    # as fit runs it (with --fold: and with every leaf but the plastic weights folded)
    states = timing.fit_steps(task, run, state, {"fold": plastic_only(state)} if fold else None)
    jit_twin = jax.jit(twin_step, static_argnums=4)
    steps = dict.fromkeys(states, timing.calls(data, key))
    steps["twin"] = lambda s: jit_twin(s[0], *twin[1:], key, batch)  # (W2, metrics)
    states["twin"] = (twin[0], None)
    return timing.compare(steps, states, repeats, clock=clock, min_iters=2, warmup="upfront")


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16], help="episodes")
    parser.add_argument(
        "--fold", action="store_true", help="also time ngcx with every leaf but W2 folded"
    )
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    print(f"T-maze, 11-36-4 LIF, T={T} steps per move, {EP_LEN} moves per episode, MSTDP-ET")
    extra = ("fold",) if args.fold else ()
    table = timing.ratio_table(("batch", 6), extra=extra)
    print(table.header())
    for batch in args.batches:
        t = bench(batch, args.repeats, args.fold, args.clock)
        print(table.row(batch, *timing.ratios(t, extra)))


if __name__ == "__main__":
    main()
