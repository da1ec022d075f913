"""Benchmark: training presentations of the time-integrated STDP network (ngc-museum
``time-integrated-stdp``, Case 1: Poisson input, two Diehl & Cook style excitatory layers
with inhibitory partners, both input synapses learning by TI-STDP at every step) of ngcx
against a plain-JAX twin written here with the same maths, same data, same random draws,
same process.

    python benchmarks/ti_stdp.py                  # 64-100-36 on digits, T=250, batches 1 and 50
    python benchmarks/ti_stdp.py --batches 4 --repeats 7 --clock cpu --folded

ngcx is the step ``ngcx train ti-stdp`` runs: ``TISTDPTask.step`` (``train_samples``: the
batch's samples presented one after another, ``T`` steps of ``dt`` ms each) under the
:class:`ngcx.FlatStep` that ``ngcx.training.fit`` builds, at the task's defaults on the
digits (hidden 100 36, T 250, dt 1 ms, eta 4). With ``--folded`` a third column times the
same step with every leaf but the weights and adaptive thresholds compiled in as
constants; one step of it is asserted equal to the task's.

``--clock cpu`` measures this process's CPU time instead of wall time: steadier on a
machine shared with other jobs.

Asserts that one step of each (same samples, same key, so the same Poisson spikes and the
same one-spike picks) gives the same weights, thresholds and metrics, then prints ms/step
for both, ms per sample, and the ratio ngcx / twin for every batch size.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import _timing as timing
from ngcx import plasticity
from ngcx.training import Run
from ngcx.training.ti_stdp import TISTDPConfig, TISTDPTask


# the task's defaults (TISTDPConfig) and the model's fixed values (TISTDPNetwork)
T, DT, TAU_M, ETA, FREQ, THETA_PLUS, TAU_THETA = 250, 1.0, 100.0, 4.0, 63.75, 0.05, 1e5
R1, R2, W_EI, W_IE, REFRACT = 1.0, 6.0, 22.5, 120.0, 5.0
EXC = {"thr": -52.0, "v_rest": -65.0, "v_reset": -60.0}
INH = {"thr": -40.0, "v_rest": -60.0, "v_reset": -45.0}
# TI-STDP (alpha, beta, pre_decay) of W1 and W2; A_plus = A_minus = 1, w_bound = 1
RULE1 = (0.0075 * 0.5 * ETA, 1.25, 0.75)
RULE2 = (0.025 * 2 * ETA, 2.0, 0.125)
A_PLUS, A_MINUS, W_BOUND = 1.0, 1.0, 1.0


# --------------------------------------------------------------------------- twin
def _lif(v, rfr, theta, j, cell, adapt):
    """One Euler step of a LIF layer (resistance tau_m/dt, refractory 5 ms, reset); the
    excitatory layers (`adapt`) also adapt their thresholds. Returns (v, s_raw, rfr,
    theta)."""
    j = j * (TAU_M / DT) * (rfr >= REFRACT).astype(v.dtype)
    v = v + (DT / TAU_M) * ((cell["v_rest"] - v) + j)
    s = (v > cell["thr"] + theta).astype(v.dtype)
    v = v * (1.0 - s) + s * cell["v_reset"]
    rfr = (rfr + DT) * (1.0 - s)
    if adapt:
        theta = theta * jnp.exp(-DT / TAU_THETA) + THETA_PLUS * s
    return v, s, rfr, theta


def _one_spike(s, key):
    """Keep one of the cells that fired, chosen uniformly."""
    u = jax.random.uniform(key, s.shape, s.dtype)
    return s * jax.nn.one_hot(jnp.argmax(s * u), s.shape[-1], dtype=s.dtype)


def _ti_stdp(W, pre_tols, post_tols, t, rule):
    """Time-integrated STDP, then the clip to [0, w_bound]."""
    alpha, beta, pre_decay = rule
    pre_on = (pre_tols > 0).astype(W.dtype)[:, None]
    post_on = (post_tols > 0).astype(W.dtype)[None, :]
    e = jnp.exp(-(t - post_tols) / DT)[None, :]
    denom = pre_tols[:, None] - post_tols[None, :] - 0.5 * DT
    safe = jnp.where(denom == 0, -0.5 * DT, denom)
    pair = post_on * pre_on * (-alpha * beta * e / safe)
    pair = jnp.where(pair > 0, A_PLUS * pair, A_MINUS * pair)
    decay = -post_on * (1.0 - pre_on) * (alpha * pre_decay * e)
    return jnp.clip(W + (pair * (W_BOUND - W) + decay * W), 0.0, W_BOUND)


def _present(params, x, key):
    """One sample for T steps, both synapses learning at every step."""
    W1, W2, theta1, theta2, Wei1, Wie1, Wei2, Wie2 = params
    n_hid, n_out = W2.shape
    ekey, skey = jax.random.split(key)
    p = x * (FREQ * DT / 1000.0)
    spikes_in = (jax.random.uniform(ekey, (T, *x.shape), x.dtype) < p[None]).astype(x.dtype)

    def layer(n, cell, theta):
        zeros = jnp.zeros((n,), x.dtype)
        return (zeros + cell["v_rest"], zeros, zeros + REFRACT, theta, zeros)  # v s rfr th tols

    def body(carry, inputs):
        W1, W2, in_tols, e1, i1, e2, i2, t = carry
        s_in, k = inputs
        k1, k2 = jax.random.split(k)
        # layer 1: excitatory (input + inhibition of the last step), then inhibitory
        v, s1_raw, rfr, th, tols = e1
        v, s1_raw, rfr, th = _lif(v, rfr, th, R1 * (s_in @ W1) + i1[1] @ Wie1, EXC, True)
        s1 = _one_spike(s1_raw, k1)
        e1 = (v, s1, rfr, th, jnp.where(s1 > 0, t, tols))
        v, s, rfr, th = _lif(i1[0], i1[2], i1[3], s1 @ Wei1, INH, False)
        i1 = (v, s, rfr, th, i1[4])
        # layer 2, driven by layer 1's raw spikes
        v, s2_raw, rfr, th, tols = e2
        v, s2_raw, rfr, th = _lif(v, rfr, th, R2 * (s1_raw @ W2) + i2[1] @ Wie2, EXC, True)
        s2 = _one_spike(s2_raw, k2)
        e2 = (v, s2, rfr, th, jnp.where(s2 > 0, t, tols))
        v, s, rfr, th = _lif(i2[0], i2[2], i2[3], s2 @ Wei2, INH, False)
        i2 = (v, s, rfr, th, i2[4])
        in_tols = jnp.where(s_in > 0, t, in_tols)
        W1 = _ti_stdp(W1, in_tols, e1[4], t, RULE1)
        W2 = _ti_stdp(W2, e1[4], e2[4], t, RULE2)
        return (W1, W2, in_tols, e1, i1, e2, i2, t + DT), (s1, s2)

    zeros = jnp.zeros((n_hid,), x.dtype)
    init = (
        W1,
        W2,
        jnp.zeros_like(x),
        layer(n_hid, EXC, theta1),
        layer(n_hid, INH, zeros),
        layer(n_out, EXC, theta2),
        layer(n_out, INH, jnp.zeros((n_out,), x.dtype)),
        jnp.asarray(DT, x.dtype),
    )
    carry, (s1, s2) = jax.lax.scan(body, init, (spikes_in, jax.random.split(skey, T)))
    W1, W2, _, e1, _, e2, _, _ = carry
    return (W1, W2, e1[3], e2[3], Wei1, Wie1, Wei2, Wie2), (s1.sum(0), s2.sum(0))


@jax.jit
def twin_step(params, x, key):
    """The samples of `x` one after another (sample i with ``fold_in(key, i)``)."""

    def body(params, inputs):
        xi, i = inputs
        return _present(params, xi, jax.random.fold_in(key, i))

    params, (c1, c2) = jax.lax.scan(body, params, (x, jnp.arange(x.shape[0])))
    metrics = {"spikes_l1": jnp.mean(c1.sum(-1)), "spikes_l2": jnp.mean(c2.sum(-1))}
    return params, metrics


def twin_params(model):
    """The twin's arrays, copied from the ngcx model."""
    return (
        model.W1.weights,
        model.W2.weights,
        model.theta1,
        model.theta2,
        model.W1_ei.weights,
        model.W1_ie.weights,
        model.W2_ei.weights,
        model.W2_ie.weights,
    )


# --------------------------------------------------------------------------- setup
def _setup(batch):
    """The task's run, initial state and a batch of samples at its defaults on the digits."""
    task = TISTDPTask()
    config = TISTDPConfig(batch_size=batch, plots=False, out=tempfile.mkdtemp())
    c = config
    assert (c.T, c.dt, c.tau_m, c.eta, c.target_freq, c.theta_plus, c.tau_theta) == (
        T,
        DT,
        TAU_M,
        ETA,
        FREQ,
        THETA_PLUS,
        TAU_THETA,
    ), "the task's defaults changed: update the twin's constants"
    data = task.load_data(config)
    run = Run(config, data, None, jax.random.key(config.seed), Path(config.out))
    state = task.init(run)
    idx = np.arange(batch) % len(data.x_train)
    x = jnp.asarray(task.to_step_batch(run, (data.x_train[idx],))[0])
    return task, run, state, (x,)


def check_equal(task, run, state, batch, key):
    """One step of ngcx and of the twin from the same weights and thresholds, on the same
    samples with the same key (same Poisson spikes, same one-spike picks) must agree
    (asserted before any timing): both weights and both thresholds to 1e-5 and the mean
    spike counts."""
    model = state[0]
    params, m_twin = twin_step(twin_params(model), *batch, key)
    (new, _), m_ngcx = jax.jit(lambda s, b, k: task.step(run, s, b, k))(state, batch, key)
    for name, a, b in zip(
        ("W1", "W2", "theta1", "theta2"),
        (new.W1.weights, new.W2.weights, new.theta1, new.theta2),
        params[:4],
        strict=True,
    ):
        err = float(jnp.max(jnp.abs(a - b)))
        assert err < 1e-5, f"{name}: ngcx and the twin differ by {err:.2e}"
    for name, value in m_twin.items():
        assert abs(float(m_ngcx[name]) - float(value)) < 1e-4, (name, m_ngcx[name], value)
    assert float(m_twin["spikes_l1"]) > 0, "layer 1 should spike"
    moved = float(jnp.max(jnp.abs(new.W1.weights - model.W1.weights)))
    assert moved > 1e-4, f"the step should learn (W1 moved by {moved:.2e})"


def folded_spec(state):
    """The proposed ``TISTDPTask.constants``: only the synapses' weights (the plastic mask:
    W1, W2 and the fixed lateral weights, which stay arguments) and the adaptive thresholds
    move (the optimiser states are empty); every other leaf (time constants, rule
    parameters, resistances) is compiled in."""
    model, _ = state
    mask = plasticity.plastic_mask(model)
    return (eqx.tree_at(lambda m: (m.theta1, m.theta2), mask, (True, True)), True)


# --------------------------------------------------------------------------- timing
def bench(batch, repeats, folded=False, clock="wall"):
    task, run, state, arrays = _setup(batch)
    key = jax.random.key(1)
    check_equal(task, run, state, arrays, key)
    # what ngcx.training.fit runs (with --folded: and the step with its constants folded)
    specs = {"folded": folded_spec(state)} if folded else None
    trainers = timing.fit_steps(task, run, state, specs)
    if folded:
        timing.check_folded(trainers, (arrays, key))
    steps = {
        "twin": lambda params: twin_step(params, *arrays, key)[0],
        **dict.fromkeys(trainers, timing.calls(arrays, key)),
    }
    states = {"twin": twin_params(state[0]), **trainers}
    return timing.compare(steps, states, repeats, clock=clock, min_iters=2)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 50], help="samples per step")
    parser.add_argument(
        "--folded", action="store_true", help="also time the step with its constants folded"
    )
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    print(f"TI-STDP 64-100-36, T={T} steps of {DT} ms per sample; one task step")
    extra = ("folded",) if args.folded else ()
    cols = timing.ratio_columns(extra)
    # the twin's ms per sample between its time and the ratio
    per_sample = timing.Column("ms/sample", 10, ".3f")
    table = timing.Table(timing.Column("batch", 6), *cols[:2], per_sample, *cols[2:])
    print(table.header())
    for batch in args.batches:
        t = bench(batch, args.repeats, args.folded, args.clock)
        values = timing.ratios(t, extra)
        print(table.row(batch, *values[:2], t["twin"] / batch, *values[2:]))


if __name__ == "__main__":
    main()
