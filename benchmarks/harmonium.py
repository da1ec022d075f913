"""Benchmark: one contrastive-divergence training step of the harmonium (ngc-museum
``harmonium``: a 64-128 Bernoulli restricted Boltzmann machine, CD-1 with a sampled
hidden layer and a mean-field reconstruction, Gaussian weight prior, Adam, plus the
step's metrics) of ngcx against a plain-JAX twin written here with the same maths, same
data, same random draws, same process.

    python benchmarks/harmonium.py                     # batches 1 and 100 (the task's)
    python benchmarks/harmonium.py --batches 100 1000 --hidden 512 --repeats 9

ngcx is the step ``ngcx train harmonium`` runs: the task's step
(:class:`ngcx.training.harmonium.HarmoniumTask`) under :class:`ngcx.FlatStep` with the
task's constants, from the task's initial state (visible biases at the pixel log-odds)
on the 8x8 digits. The twin writes the Gibbs half-step, the CD statistics, Adam and the
metrics by hand, from the same weights and biases, and draws the hidden states with the
same key (``jax.random.bernoulli``: the same uniform numbers as ngcx's BernoulliCell).
Asserts that one step of each computes the same CD updates, weights and metrics, then
prints ms per step for both and the ratio ngcx / twin for every batch size.

``--fold`` builds the ngcx step with the model's non-trainable leaves compiled in as
constants (``FlatStep(..., dynamic=...)``), i.e. what the task would run if its
``constants`` returned that filter spec: the fix proposed where the ratio is high.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp

import _timing as timing
from ngcx import FlatStep, plasticity
from ngcx.training._task import Run
from ngcx.training.harmonium import HarmoniumConfig, HarmoniumTask


B1, B2, EPS = 0.9, 0.999, 1e-8  # optax.adam's defaults (ngcx's Harmonium optimiser)
FOLD_HELP = (
    "compile the model's non-trainable leaves (eta, l1, l2) into the ngcx step as "
    "constants, as a task's `constants` would"
)


# --------------------------------------------------------------------------- twin
def make_twin(eta, l1, l2):
    """The twin's jitted step ``params, adam, x, key -> params, adam, (recon, free)`` with
    ``params = (W, b, c)``: weights ``(n_v, n_h)``, hidden and visible biases."""

    @jax.jit
    def step(params, adam, x, key):
        W, b, c = params
        n = x.shape[0]
        p0 = jax.nn.sigmoid(x @ W + b)
        h0 = jax.random.bernoulli(jax.random.split(key)[0], p0).astype(x.dtype)
        v1 = jax.nn.sigmoid(h0 @ W.T + c)  # mean-field reconstruction (CD-1)
        p1 = jax.nn.sigmoid(v1 @ W + b)
        dW = (x.T @ p0 - v1.T @ p1) / n - 0.5 * l2 * W
        if l1:
            dW = dW - l1 * jnp.sign(W)
        grads = (-dW, -jnp.mean(p0 - p1, axis=0), -jnp.mean(x - v1, axis=0))  # ascent
        t = adam["t"] + 1
        m = tuple(B1 * m + (1 - B1) * g for m, g in zip(adam["m"], grads, strict=True))
        v = tuple(B2 * v + (1 - B2) * g * g for v, g in zip(adam["v"], grads, strict=True))
        c1 = 1 - B1 ** t.astype(jnp.float32)
        c2 = 1 - B2 ** t.astype(jnp.float32)
        new = tuple(
            p - eta * (m / c1) / (jnp.sqrt(v / c2) + EPS)
            for p, m, v in zip(params, m, v, strict=True)
        )
        recon = jnp.sum(jnp.square(x - v1)) / n
        free = jnp.mean(-(x @ c) - jnp.sum(jax.nn.softplus(x @ W + b), axis=-1))
        return new, {"m": m, "v": v, "t": t}, (recon, free)

    return step


def twin_state(model):
    params = (model.synapse.weights, model.synapse.biases, model.visible_biases)
    zeros = tuple(jnp.zeros_like(p) for p in params)
    return params, {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


def trainable(model):
    """A filter spec over the model: true at W, b and c (what CD-1 and Adam change)."""
    return eqx.tree_at(lambda m: m.visible_biases, plasticity.plastic_mask(model), True)


# --------------------------------------------------------------------------- setup
def setup(batch, hidden):
    """The task's run, initial state and a batch of `batch` digits."""
    config = HarmoniumConfig(
        hidden=hidden, batch_size=batch,
        out=str(Path(tempfile.gettempdir()) / "ngcx-bench-harmonium"),
    )  # fmt: skip
    task = HarmoniumTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), Path(config.out))
    return task, run, task.init(run), jnp.asarray(run.data.x_train[:batch])


def check_equal(task, run, state, twin, x, key):
    """One step of ngcx and of the twin from the same parameters and key must agree
    (asserted before any timing): the CD updates (the twin's, read from Adam's first
    moment), the metrics, and the new parameters wherever the update is not vanishingly
    small (Adam's first step is eta * g / (|g| + eps): rounding decides it where |g| is
    near eps)."""
    model = state[0]
    (new, _), m = jax.jit(task.make_step(run, state))(state, (x,), key)
    updates, _ = jax.jit(type(model).cd_updates)(model, x, key)
    new_twin, adam, (recon, free) = twin(*twin_state(model), x, key)
    names = ("W", "b", "c")
    ups = (updates.synapse.weights, updates.synapse.biases, updates.visible_biases)
    olds = (new.synapse.weights, new.synapse.biases, new.visible_biases)
    for name, u, mom, p, p_twin in zip(names, ups, adam["m"], olds, new_twin, strict=True):
        g_twin = -mom / (1 - B1)  # the twin's ascent direction
        scale = float(jnp.max(jnp.abs(g_twin))) + 1e-12
        err = float(jnp.max(jnp.abs(u - g_twin)))
        assert err <= 1e-4 * scale, f"{name}: CD updates differ by {err:.2e} (scale {scale:.2e})"
        clear = jnp.abs(g_twin) > 1e-3 * scale
        p_err = float(jnp.max(jnp.where(clear, jnp.abs(p - p_twin), 0.0)))
        assert p_err < 1e-5, f"{name}: new parameters differ by {p_err:.2e}"
    for name, a, b in (
        ("recon_error", m["recon_error"], recon),
        ("free_energy", m["free_energy"], free),
    ):
        a, b = float(a), float(b)
        assert abs(a - b) <= 1e-4 * abs(b) + 1e-6, f"{name}: ngcx {a} vs twin {b}"


# --------------------------------------------------------------------------- timing
def bench(batch, hidden, repeats, fold=False, clock="wall"):
    task, run, state, x = setup(batch, hidden)
    model, c = state[0], run.config
    twin = make_twin(c.eta, c.l1, c.l2)
    key = jax.random.key(0)
    check_equal(task, run, state, twin, x, key)
    # what `ngcx train harmonium` runs (ngcx.training.fit builds the same FlatStep)
    # --fold: all but W, b, c compiled in (the proposed task `constants`)
    dynamic = (trainable(model), True) if fold else task.constants(run, state)
    trainer = FlatStep(task.make_step(run, state), state, dynamic=dynamic)
    steps = {"ngcx": timing.calls((x,), key), "twin": lambda st: twin(*st, x, key)[:2]}
    states = {"ngcx": trainer, "twin": twin_state(model)}
    return timing.compare(steps, states, repeats, clock=clock)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 100], help="batch sizes")
    parser.add_argument("--hidden", type=int, default=128, help="hidden units")
    parser.add_argument("--fold", action="store_true", help=FOLD_HELP)
    args = timing.parse(parser, repeats=7)
    print(timing.device_line())
    fold = " (--fold: constants folded)" if args.fold else ""
    print(f"64-{args.hidden} RBM on digits, CD-1 + Adam per step{fold}")
    table = timing.ratio_table(("batch", 6))
    print(table.header())
    for batch in args.batches:
        t = bench(batch, args.hidden, args.repeats, args.fold, args.clock)
        print(table.row(batch, *timing.ratios(t)))


if __name__ == "__main__":
    main()
