"""Benchmark: one training step of the hidden sub-network PCN (ngc-museum ``Hidden_PCN``:
edge-popup masks of fixed signed-constant weights, projection, T-step E-step of the
sub-network, Hebbian score rule with Adam, mask re-selection and turnover) of ngcx against
a plain-JAX twin written here with the same maths, same data, same process.

    python benchmarks/hidden_pcn.py                  # 64-256-256-10 on digits, batches 1, 64
    python benchmarks/hidden_pcn.py --batches 1 64 256 --repeats 9 --clock cpu --folded

ngcx is the step ``ngcx train hidden-pcn`` runs: ``HiddenPCNTask.make_step`` under the
:class:`ngcx.FlatStep` that ``ngcx.training.fit`` builds (with the task's ``constants``),
at the task's defaults (k 0.5, T 20, tau_m 25 ms, dt 1 ms, eta 1e-3, Adam). With
``--folded`` a third column times the same step with every leaf but the scores and the
optimiser state compiled in as constants (a ``constants`` the task could have); one step
of it is asserted equal to the task's.

``--clock cpu`` measures this process's CPU time instead of wall time: steadier on a
machine shared with other jobs.

Asserts that one step of each computes the same scores, score rule, energy and turnover,
then prints ms/step for both and the ratio ngcx / twin for every batch size.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

import _timing as timing
from ngcx.training import Run
from ngcx.training.hidden_pcn import HiddenPCNConfig, HiddenPCNTask


K, T, TAU, DT, ETA = 0.5, 20, 25.0, 1.0, 1e-3


# --------------------------------------------------------------------------- twin
def _relu(z):
    return jnp.maximum(z, 0.0)


def _drelu(z):
    return (z >= 0).astype(z.dtype)  # ngcx's (and ngc-learn's) relu'(0) = 1


def _mask(S):
    """1 for the floor(K * size) largest |S| (ties at the threshold kept)."""
    mag = jnp.abs(S)
    n_keep = min(max(math.floor(K * S.size), 1), S.size)
    kth = jnp.sort(mag.ravel())[S.size - n_keep]
    return (mag >= kth).astype(S.dtype)


_adam = optax.adam(ETA)


def twin_step(Ws, scores, adam, x, y):
    """One step: ``Ws[l]`` the fixed weights (n_{l-1}, n_l), ``scores`` shaped like them."""
    Ms = [_mask(S) for S in scores]
    We = [W * M for W, M in zip(Ws, Ms, strict=True)]
    n_hidden = len(Ws) - 1

    def errors(zs):
        pres = [x] + [_relu(z) for z in zs]
        targets = [*zs, y]
        return pres, [t - p @ W for t, p, W in zip(targets, pres, We, strict=True)]

    zs = []
    h = x
    for W in We[:-1]:  # projection: the hidden layers start at their predictions
        zs.append(h @ W)
        h = _relu(zs[-1])

    def body(zs, _):
        _, es = errors(zs)
        new = [
            zs[i] + DT / TAU * (-es[i] + _drelu(zs[i]) * (es[i + 1] @ We[i + 1].T))
            for i in range(n_hidden)
        ]
        return new, None

    zs, _ = jax.lax.scan(body, zs, None, length=T)
    pres, es = errors(zs)
    energy = sum(0.5 * jnp.sum(e * e) for e in es) / x.shape[0]
    dS = [(p.T @ e) * W * jnp.sign(S) for p, e, W, S in zip(pres, es, Ws, scores, strict=True)]
    steps, adam = _adam.update([-d for d in dS], adam, scores)
    scores = optax.apply_updates(scores, steps)
    new = [_mask(S) for S in scores]
    changed = sum(jnp.sum(jnp.abs(a - b)) for a, b in zip(Ms, new, strict=True))
    turnover = 0.5 * changed / sum(jnp.sum(m) for m in new)
    return scores, adam, energy, turnover


# --------------------------------------------------------------------------- setup
def _setup(batch):
    """The task's run, initial state and first batch at its defaults on the digits."""
    task = HiddenPCNTask()
    config = HiddenPCNConfig(batch_size=batch, plots=False, out=tempfile.mkdtemp())
    data = task.load_data(config)
    run = Run(config, data, None, jax.random.key(config.seed), Path(config.out))
    state = task.init(run)
    idx = np.arange(batch) % len(data.x_train)
    batch_arrays = task.to_step_batch(run, (data.x_train[idx], data.y_train[idx]))
    return task, run, state, tuple(jnp.asarray(a) for a in batch_arrays)


def check_equal(task, run, state, batch):
    """One step of ngcx and of the twin from the same weights and scores must agree
    (asserted before any timing): the score rule (the twin's, read from Adam's first
    moment), the energy, the new scores wherever the rule is not vanishingly small
    (Adam's first step is eta * g / (|g| + eps): rounding decides it where |g| is near
    eps) and the turnover (to one synapse in a thousand kept)."""
    model, _ = state
    x, y = batch
    Ws = [s.weights for s in model.pcn.synapses]
    scores = list(model.scores)
    new_s, adam_twin, e_twin, turn_twin = jax.jit(twin_step)(Ws, scores, _adam.init(scores), x, y)
    step = jax.jit(task.make_step(run, state))
    (new_model, _), metrics = step(state, batch, jax.random.key(1))
    zs = model.infer(x, y)
    rule = model.score_updates(x, y, zs)
    b1 = 0.9
    m_twin = adam_twin[0].mu
    for layer, (u, m, s_ngcx, s_twin) in enumerate(
        zip(rule, m_twin, new_model.scores, new_s, strict=True)
    ):
        g_twin = -m / (1 - b1)  # the twin's score rule
        scale = float(jnp.max(jnp.abs(g_twin))) + 1e-12
        err = float(jnp.max(jnp.abs(u - g_twin)))
        assert err <= 1e-4 * scale, f"layer {layer}: score rules differ by {err:.2e}"
        clear = jnp.abs(g_twin) > 1e-4 * scale
        s_err = float(jnp.max(jnp.where(clear, jnp.abs(s_ngcx - s_twin), 0.0)))
        assert s_err < 1e-6, f"layer {layer}: new scores differ by {s_err:.2e}"
    e_ngcx = float(metrics["energy"])
    assert abs(e_ngcx - float(e_twin)) <= 1e-4 * abs(float(e_twin)) + 1e-6, (e_ngcx, e_twin)
    t_ngcx = float(metrics["turnover"])
    assert abs(t_ngcx - float(turn_twin)) <= 1e-3, (t_ngcx, float(turn_twin))


def folded_spec(state):
    """The filter spec of the proposed ``HiddenPCNTask.constants``: only the scores and
    the optimiser state move; every other leaf is compiled in."""
    model, _ = state
    spec = jax.tree_util.tree_map(lambda _: False, model)
    spec = eqx.tree_at(lambda m: m.scores, spec, tuple(True for _ in model.scores))
    return (spec, True)


# --------------------------------------------------------------------------- timing
def bench(batch, repeats, folded=False, clock="wall"):
    task, run, state, arrays = _setup(batch)
    check_equal(task, run, state, arrays)
    key = jax.random.key(1)
    # what ngcx.training.fit runs (with --folded: and the step with its constants folded)
    specs = {"folded": folded_spec(state)} if folded else None
    trainers = timing.fit_steps(task, run, state, specs)
    if folded:
        timing.check_folded(trainers, (arrays, key))
    jit_twin = jax.jit(twin_step)

    def run_twin(carry):
        Ws, scores, adam = carry
        scores, adam, _, _ = jit_twin(Ws, scores, adam, *arrays)
        return Ws, scores, adam

    model = state[0]
    scores = list(model.scores)
    states = {"twin": ([s.weights for s in model.pcn.synapses], scores, _adam.init(scores))}
    steps = {"twin": run_twin, **dict.fromkeys(trainers, timing.calls(arrays, key))}
    return timing.compare(steps, {**states, **trainers}, repeats, clock=clock)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64], help="batch sizes")
    parser.add_argument(
        "--folded", action="store_true", help="also time the step with its constants folded"
    )
    args = timing.parse(parser, repeats=7)
    print(timing.device_line())
    print(f"hidden PCN 64-256-256-10, k={K}, T={T}, Adam; one training step")
    extra = ("folded",) if args.folded else ()
    table = timing.ratio_table(("batch", 6), extra=extra)
    print(table.header())
    for batch in args.batches:
        t = bench(batch, args.repeats, args.folded, args.clock)
        print(table.row(batch, *timing.ratios(t, extra)))


if __name__ == "__main__":
    main()
