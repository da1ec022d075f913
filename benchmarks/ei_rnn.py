"""Benchmark: one training step of the excitatory-inhibitory RNN (ngc-museum ``ei_rnn``:
an online pass over the noisy sine series, each time step a noisy leaky rate update
under Dale's law, the local one-step updates low-passed by eligibility traces and applied
by Adam with non-negative weights) of ngcx against a plain-JAX twin written here with the
same maths, same data, same process.

    python benchmarks/ei_rnn.py                   # the task's sizes: 10 and 100 hidden
    python benchmarks/ei_rnn.py --hidden 10 500 --length 2000 --repeats 9
    python benchmarks/ei_rnn.py --clock cpu           # CPU time (a shared machine)

ngcx is ``ngcx.training.ei_rnn.EIRNNTask.step`` (``EIRNN.train_sequence``) jitted exactly
as ``ngcx.training.fit`` runs it (an ``ngcx.FlatStep`` with the task's constants); the
twin writes the leaky-noise cell, the readout error, the Hebbian updates, the traces and
Adam by hand. Both start from the same weights and draw the same noise (same key, split
the same way). Asserts that one step of each gives the same weights and loss, then
prints ms per training step (one pass over ``length - 1`` time steps) for both and the
ratio ngcx / twin for every hidden size.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import _timing as timing
from ngcx import FlatStep
from ngcx.training import Run
from ngcx.training.ei_rnn import EIRNNConfig, EIRNNTask


# the task's defaults (EIRNNConfig)
TAU_X, DT, SIGMA_PRE, SIGMA_POST, ETA, TAU_ELG = 100.0, 10.0, 0.1, 0.1, 2e-4, 400.0
B1, B2, EPS = 0.9, 0.999, 1e-8


# --------------------------------------------------------------------------- twin
def twin_step(params, adam, dale, us, ys, key):
    """``params = (W_in, b_in, V, W_out, b_out)``; one online pass over ``(us, ys)``.
    **Returns:** the new parameters and Adam state, and the loss and rmse."""
    rate = DT / TAU_ELG
    noise = SIGMA_PRE * np.sqrt(2.0 * TAU_X) / np.sqrt(DT)

    def body(carry, inp):
        params, adam, traces, r, x = carry
        W_in, b_in, V, W_out, b_out = params
        u, y, k = inp  # one sample: vectors of n_in, n_out
        k_pre, k_post = jax.random.split(k)
        eps_pre = jax.random.normal(k_pre, (1, r.shape[0]))[0]
        eps_post = jax.random.normal(k_post, (1, r.shape[0]))[0]
        j = (u @ W_in + b_in) + (dale * r) @ V + noise * eps_pre
        x = x + DT * ((j - x) * (1.0 / TAU_X))
        r_new = jnp.maximum(x, 0.0) + SIGMA_POST * eps_post
        o = r_new @ W_out + b_out
        e = y - o
        delta = (W_out @ e) * (x >= 0).astype(x.dtype)
        upd = (jnp.outer(u, delta), delta, jnp.outer(dale * r, delta), jnp.outer(r_new, e), e)
        traces = tuple(t + rate * (d - t) for t, d in zip(traces, upd, strict=True))
        count = adam["t"] + 1
        m = tuple(B1 * m + (1 - B1) * -g for m, g in zip(adam["m"], traces, strict=True))
        v = tuple(B2 * v + (1 - B2) * g * g for v, g in zip(adam["v"], traces, strict=True))
        c1 = 1 - B1 ** count.astype(jnp.float32)
        c2 = 1 - B2 ** count.astype(jnp.float32)
        W_in, b_in, V, W_out, b_out = (
            p - ETA * (m / c1) / (jnp.sqrt(v / c2) + EPS)
            for p, m, v in zip(params, m, v, strict=True)
        )
        params = (jnp.maximum(W_in, 0.0), b_in, jnp.maximum(V, 0.0), jnp.maximum(W_out, 0.0), b_out)
        return (params, {"m": m, "v": v, "t": count}, traces, r_new, x), o

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    hid = jnp.zeros((params[2].shape[0],))
    keys = jax.random.split(key, us.shape[0])
    init = (params, adam, zeros, hid, hid)
    (params, adam, *_), outs = jax.lax.scan(body, init, (us, ys, keys))
    err = ys - outs
    loss = 0.5 * jnp.sum(jnp.square(err))
    return params, adam, {"loss": loss, "train_rmse": jnp.sqrt(jnp.mean(jnp.square(err)))}


def twin_adam(params):
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


# --------------------------------------------------------------------------- setup
def setup(hidden, length):
    """The task's run and initial state, the series (one batch), a key and the twin's
    copy of the initial weights."""
    task = EIRNNTask()
    config = EIRNNConfig(hidden=hidden, length=length)
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), Path("unused"))
    state = task.init(run)
    model = state[0]
    data = tuple(jnp.asarray(a) for a in task.train_arrays(run))
    params = (
        model.w_in.weights,
        model.w_in.biases,
        model.v.weights,
        model.w_out.weights,
        model.w_out.biases,
    )
    return task, run, state, data, jax.random.key(1), params, model.dale


def check_equal(task, run, state, data, key, params, dale):
    """One step of each from the same weights with the same noise must agree (asserted
    before any timing): the new weights and biases, the loss and the rmse. The step is
    built as ``ngcx.training.fit`` builds it (``make_step`` on the concrete state, so the
    optimiser chain is made outside the trace)."""
    (model, _), m_ngcx = jax.jit(task.make_step(run, state))(state, data, key)
    new, _, m_twin = jax.jit(twin_step)(
        params, twin_adam(params), dale, data[0][0], data[1][0], key
    )
    got = (model.w_in.weights, model.w_in.biases, model.v.weights, model.w_out.weights,
           model.w_out.biases)  # fmt: skip
    for name, a, b, p in zip(
        ("W_in", "b_in", "V", "W_out", "b_out"), got, new, params, strict=True
    ):
        moved = float(jnp.max(jnp.abs(b - p)))
        err = float(jnp.max(jnp.abs(a - b)))
        assert err <= 1e-3 * moved + 1e-7, f"{name}: new values differ by {err:.2e} ({moved:.2e})"
    for name in ("loss", "train_rmse"):
        a, b = float(m_ngcx[name]), float(m_twin[name])
        assert abs(a - b) <= 1e-4 * abs(b) + 1e-6, (name, a, b)


# --------------------------------------------------------------------------- timing
def bench(hidden, length, repeats, clock="wall"):
    task, run, state, data, key, params, dale = setup(hidden, length)
    check_equal(task, run, state, data, key, params, dale)
    # what `ngcx.training.fit` runs
    trainer = FlatStep(task.make_step(run, state), state, dynamic=task.constants(run, state))
    jit_twin = jax.jit(twin_step)
    us, ys = data[0][0], data[1][0]
    steps = {
        "ngcx": timing.calls(data, key),
        "twin": lambda s: jit_twin(*s[:2], dale, us, ys, key),  # (params, adam, metrics)
    }
    states = {"ngcx": trainer, "twin": (params, twin_adam(params))}
    return timing.compare(steps, states, repeats, clock=clock, min_iters=2, warmup="upfront")


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--hidden", type=int, nargs="+", default=[10, 100], help="hidden units")
    parser.add_argument("--length", type=int, default=1000, help="samples of the series")
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    print(f"noisy sine, {args.length - 1} online steps per training step, Adam, Dale's law")
    table = timing.ratio_table(("hidden", 7))
    print(table.header())
    for hidden in args.hidden:
        t = bench(hidden, args.length, args.repeats, args.clock)
        print(table.row(hidden, *timing.ratios(t)))


if __name__ == "__main__":
    main()
