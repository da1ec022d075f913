"""Benchmark: one training step of the BFA spiking classifier (ngc-museum ``bfa_snn``:
Bernoulli input spikes, T-step simulation of two SLIF layers, the output error broadcast
to the hidden layer through a fixed random matrix, Hebbian SGD updates at every step after
the burn-in) of ngcx against a plain-JAX twin written here with the same maths, same data,
same process.

    python benchmarks/bfa_snn.py                      # digits, 1000 hidden, batches 1, 50
    python benchmarks/bfa_snn.py --hidden 256 --batches 50 250 --repeats 9
    python benchmarks/bfa_snn.py --fold --clock cpu   # + the folded step, CPU time

ngcx is ``ngcx.training.bfa_snn.BFASNNTask.step`` (``BFASNN.train_batch``) jitted exactly
as ``ngcx.training.fit`` runs it (an ``ngcx.FlatStep`` with the task's constants); the
twin writes the spike encoding, the SLIF recursion (refractory period, sticky spikes),
the secant surrogate gate and the updates by hand. Both start from the same weights and
draw the same input spikes (same key). Asserts that one step of each gives the same
weights, logits and metrics, then prints ms per training step (a batch presented for
``T`` steps) for both and the ratio ngcx / twin for every batch size; ``--fold`` adds
ngcx with every leaf but ``W1``/``W2`` folded into the step as constants.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

import _timing as timing
from ngcx.training import Run
from ngcx.training.bfa_snn import BFASNNConfig, BFASNNTask


# the task's defaults (BFASNNConfig) and BFASNN's fixed constants
T, BURN_IN, DT, TAU, REFRACT, GAIN, C2 = 100, 20, 0.25, 20.0, 1.0, 1.0, 0.08


# --------------------------------------------------------------------------- twin
def _slif(v, rfr, j, thr):
    """One SLIF step (resistance 1, reset to 0, refractory period, sticky spikes)."""
    mask = (rfr >= REFRACT).astype(v.dtype)
    v = v + DT * ((j - v) * (1.0 / TAU)) * mask
    s = (v > thr).astype(v.dtype)
    v = (1.0 - s) * v
    rfr = (rfr + DT) * (1.0 - s) + s * DT
    return v, rfr, s * mask + (1.0 - mask)


def twin_step(params, fixed, x, labels, key):
    """``params = (W1, b1, W2, b2)``; ``fixed = (B, thr_hid, thr_out, eta1, eta2)``."""
    W1, b1, W2, b2 = params
    B, thr_h, thr_o, eta1, eta2 = fixed
    batch, n_out, n_hid = x.shape[0], W2.shape[1], W1.shape[1]
    y = jax.nn.one_hot(labels, n_out, dtype=x.dtype)
    u = jax.random.uniform(key, (T, *x.shape), x.dtype)
    spikes = (u < (x * GAIN)[None]).astype(x.dtype)

    def body(carry, inputs):
        W1, b1, W2, b2, vh, rh, vo, ro, j2_sum = carry
        s_in, t = inputs
        j1 = s_in @ W1 + b1
        vh, rh, sh = _slif(vh, rh, j1, thr_h)
        j2 = sh @ W2 + b2
        vo, ro, so = _slif(vo, ro, j2, thr_o)
        active = t >= BURN_IN
        j2_sum = j2_sum + jnp.where(active, j2, 0.0)
        e = (y - so) * active.astype(x.dtype)
        gate = jnp.where(j1 > 0, jnp.square(1.0 / jnp.cosh(C2 * j1)), 0.0)
        d1 = (e @ B) * gate
        W1 = W1 + eta1 * (s_in.T @ d1)
        b1 = b1 + eta1 * jnp.sum(d1, axis=0)
        W2 = W2 + eta2 * (sh.T @ e)
        b2 = b2 + eta2 * jnp.sum(e, axis=0)
        return (W1, b1, W2, b2, vh, rh, vo, ro, j2_sum), sh

    zh, zo = jnp.zeros((batch, n_hid), x.dtype), jnp.zeros((batch, n_out), x.dtype)
    init = (W1, b1, W2, b2, zh, zh + REFRACT, zo, zo + REFRACT, zo)
    (W1, b1, W2, b2, *_, j2_sum), s_hid = jax.lax.scan(body, init, (spikes, jnp.arange(T)))
    logits = j2_sum / float(T - BURN_IN)
    acc = jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(x.dtype))
    rate = jnp.mean(s_hid.sum(0)) / (T * DT / 1000.0)
    return (W1, b1, W2, b2), {"batch_acc": acc, "batch_rate_hz": rate, "logits": logits}


# --------------------------------------------------------------------------- setup
def setup(hidden, batch):
    """The task's run and initial state, one batch of digits, a key, and the twin's copy
    of the initial weights and fixed arrays."""
    task = BFASNNTask()
    config = BFASNNConfig(hidden=hidden, batch_size=batch)
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), Path("unused"))
    state = task.init(run)
    model = state[0]
    x = jnp.asarray(run.data.x_train[:batch], jnp.float32)
    y = jnp.asarray(run.data.y_train[:batch])
    params = (model.W1.weights, model.W1.biases, model.W2.weights, model.W2.biases)
    fixed = (
        model.B.weights,
        model.hidden.threshold0,
        model.output.threshold0,
        model.eta1,
        model.eta2,
    )
    return task, run, state, (x, y), jax.random.key(1), params, fixed


def check_equal(task, run, state, batch, key, params, fixed):
    """One step of each from the same weights and the same input spikes must agree
    (asserted before any timing): the new weights and biases, the logits (read back
    through ``BFASNN.train_batch``) and the step's metrics."""
    (model, _), m_ngcx = jax.jit(task.make_step(run, state))(state, batch, key)
    new, m_twin = jax.jit(twin_step)(params, fixed, *batch, key)
    got = (model.W1.weights, model.W1.biases, model.W2.weights, model.W2.biases)
    for name, a, b, p in zip(("W1", "b1", "W2", "b2"), got, new, params, strict=True):
        err = float(jnp.max(jnp.abs(a - b)))
        moved = float(jnp.max(jnp.abs(b - p)))
        assert moved > 1e-4, f"{name} did not learn (moved by {moved:.2e})"
        assert err < 1e-5, f"{name}: new values differ by {err:.2e} (moved by {moved:.2e})"
    out = jax.jit(lambda m, o, x, y, k: m.train_batch(o, x, y, k)[2])(
        state[0], state[1], *batch, key
    )
    err = float(jnp.max(jnp.abs(out.logits - m_twin["logits"])))
    assert err < 1e-4, f"logits differ by {err:.2e}"
    for name in ("batch_acc", "batch_rate_hz"):
        a, b = float(m_ngcx[name]), float(m_twin[name])
        assert abs(a - b) <= 1e-5 * abs(b) + 1e-6, (name, a, b)


# --------------------------------------------------------------------------- timing
def plastic_only(state):
    """A filter spec that keeps only ``W1``/``W2`` (weights and biases) and the optimiser
    state moving and folds every other leaf (the feedback ``B``, the thresholds, the time
    constants, the rates) into the compiled step: the ``constants`` proposed for
    ``BFASNNTask`` (``--fold``)."""
    model = state[0]
    spec = jax.tree_util.tree_map(lambda _: False, model)
    spec = eqx.tree_at(
        lambda m: (m.W1.weights, m.W1.biases, m.W2.weights, m.W2.biases), spec, (True,) * 4
    )
    return (spec, True)


def bench(hidden, batch, repeats, fold=False, clock="wall"):
    task, run, state, data, key, params, fixed = setup(hidden, batch)
    check_equal(task, run, state, data, key, params, fixed)
    # as fit runs it (with --fold: and with every leaf but the plastic weights folded)
    states = timing.fit_steps(task, run, state, {"fold": plastic_only(state)} if fold else None)
    jit_twin = jax.jit(twin_step)
    steps = dict.fromkeys(states, timing.calls(data, key))
    steps["twin"] = lambda s: jit_twin(s[0], fixed, *data, key)  # (params, metrics)
    states["twin"] = (params, None)
    return timing.compare(steps, states, repeats, clock=clock, min_iters=2, warmup="upfront")


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--hidden", type=int, default=1000, help="hidden SLIF cells")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 50])
    parser.add_argument(
        "--fold", action="store_true", help="also time ngcx with every leaf but W1/W2 folded"
    )
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    print(f"digits 64-{args.hidden}-10 SLIF, T={T} steps, BFA updates every step after {BURN_IN}")
    extra = ("fold",) if args.fold else ()
    table = timing.ratio_table(("batch", 6), extra=extra)
    print(table.header())
    for batch in args.batches:
        t = bench(args.hidden, batch, args.repeats, args.fold, args.clock)
        print(table.row(batch, *timing.ratios(t, extra)))


if __name__ == "__main__":
    main()
