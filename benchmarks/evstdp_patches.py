"""Benchmark: one training step of event-driven STDP on image patches (ngc-museum
``evstdp_patches``: random patches cut from a batch of images, each shown for T steps of
Bernoulli spikes through an exponential kernel to a winner-take-all layer, the weights
learning by event-driven STDP at every step) of ngcx against a plain-JAX twin written here
with the same maths, same data, same random draws, same process.

    python benchmarks/evstdp_patches.py                 # 5x5 patches, 49 cells, batches 1, 16
    python benchmarks/evstdp_patches.py --batches 4 16 --repeats 9 --clock cpu --folded

ngcx is the step ``ngcx train evstdp-patches`` runs: ``EvSTDPPatchesTask.step`` under the
:class:`ngcx.FlatStep` that ``ngcx.training.fit`` builds, at the task's defaults on the
digits (10 patches per image, T 50 steps of 3 ms); a step of batch B learns 10 B patches
one after another (10 B x 50 sequential simulation steps). With ``--folded`` a third column
times the same step with every leaf but the weights and thresholds compiled in as
constants; one step of it is asserted equal to the task's.

``--clock cpu`` measures this process's CPU time instead of wall time: steadier on a
machine shared with other jobs.

Asserts that one step of each (same images, same key, so the same patches and the same
Bernoulli draws) gives the same weights, thresholds and metrics, then prints ms/step for
both and the ratio ngcx / twin for every batch size.
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
from ngcx.training.evstdp_patches import EvSTDPPatchesConfig, EvSTDPPatchesTask


# the task's defaults (and the model's: EventSTDPPatches)
PATCH, PER_IMAGE, T, DT = (5, 5), 10, 50, 3.0
ETA, LMBDA, A_PLUS, A_MINUS, WIN, W_BOUND, W_EPS = 0.0055, 0.01, 1.0, 1.0, 3.0, 1.0, 0.01
THR_GAIN, REFRACT, RESIST, TAU_W, NU = 0.002, 5.0, 1.0, 0.5, 4.0
WINDOW = max(int(NU / DT), 1)


# --------------------------------------------------------------------------- twin
def _cut(images, shape, key):
    """PER_IMAGE random PATCH windows of each (B, H*W) image, (B * PER_IMAGE, ph * pw)."""
    (h, w), (ph, pw) = shape, PATCH
    b = images.shape[0]
    rk, ck = jax.random.split(key)
    rows = jax.random.randint(rk, (b, PER_IMAGE), 0, h - ph + 1)
    cols = jax.random.randint(ck, (b, PER_IMAGE), 0, w - pw + 1)

    def cut(img, r, c):
        return jax.lax.dynamic_slice(img.reshape(h, w), (r, c), (ph, pw)).reshape(-1)

    per_image = jax.vmap(jax.vmap(cut, in_axes=(None, 0, 0)))
    return per_image(images, rows, cols).reshape(b * PER_IMAGE, ph * pw)


def _present(W, thr, x, key):
    """One patch for T steps with event STDP at every step: (W, thr, spike counts)."""
    n_in, n_hid = W.shape
    dt = jnp.asarray(DT, W.dtype)

    def body(carry, k):
        W, thr, rfr, tols, times, t = carry
        s_in = (jax.random.uniform(k, (n_in,), W.dtype) < x).astype(W.dtype)  # Bernoulli
        tols = jnp.where(s_in > 0, t, tols)
        # exponential kernel over the last WINDOW steps' spike times
        times = jnp.concatenate([times[1:], jnp.where(s_in > 0, t, -jnp.inf)[None]], axis=0)
        seen = jnp.isfinite(times)
        age = jnp.where(seen, t - times, 0.0)
        epsp = jnp.sum(jnp.where(seen, jnp.exp(-age / TAU_W), 0.0), axis=0)
        # winner-take-all layer
        v = (epsp @ W) * RESIST * (rfr >= REFRACT).astype(W.dtype)
        s = (jax.nn.softmax(v) > thr).astype(W.dtype)
        thr = jnp.maximum(thr + THR_GAIN * (jnp.sum(s) - 1.0), 0.025)
        rfr = (rfr + dt) * (1.0 - s) + s * dt
        # event-driven STDP, then the clip
        recent = ((t - WIN < tols) & (tols > 0)).astype(W.dtype)
        grow = A_PLUS * (W_BOUND - W * (1.0 + LMBDA))
        shrink = -A_MINUS * W * (1.0 + LMBDA)
        dW = grow * (recent[:, None] * s[None, :]) + shrink * ((1.0 - recent)[:, None] * s[None])
        W = jnp.clip(W + ETA * dW, W_EPS, W_BOUND)
        return (W, thr, rfr, tols, times, t + dt), s

    init = (
        W,
        thr,
        jnp.full((n_hid,), REFRACT, W.dtype),
        jnp.zeros((n_in,), W.dtype),
        jnp.full((WINDOW, n_in), -jnp.inf, W.dtype),
        dt,
    )
    (W_new, thr_new, *_), s = jax.lax.scan(body, init, jax.random.split(key, T))
    nonempty = jnp.sum(x) > 0  # an empty patch changes nothing
    counts = jnp.where(nonempty, s.sum(0), 0.0)
    return jnp.where(nonempty, W_new, W), jnp.where(nonempty, thr_new, thr), counts


def twin_step(W, thr, images, key, shape):
    pkey, tkey = jax.random.split(key)
    patches = _cut(images, shape, pkey)

    def body(carry, inputs):
        x, i = inputs
        W, thr, counts = _present(*carry, x, jax.random.fold_in(tkey, i))
        return (W, thr), counts

    idx = jnp.arange(patches.shape[0])
    (W, thr), counts = jax.lax.scan(body, (W, thr), (patches, idx))
    seen = (jnp.sum(patches, axis=-1) > 0).astype(counts.dtype)
    metrics = {
        "spikes_per_patch": jnp.sum(counts.sum(-1) * seen) / jnp.maximum(seen.sum(), 1.0),
        "winners": jnp.mean((counts.sum(0) > 0).astype(counts.dtype)),
    }
    return W, thr, metrics


# --------------------------------------------------------------------------- setup
def _setup(batch):
    """The task's run, initial state and a batch of images at its defaults on the digits."""
    task = EvSTDPPatchesTask()
    config = EvSTDPPatchesConfig(batch_size=batch, plots=False, out=tempfile.mkdtemp())
    assert (config.patch, config.patches_per_image, config.T, config.dt) == (
        PATCH,
        PER_IMAGE,
        T,
        DT,
    ), "the task's defaults changed: update the twin's constants"
    data = task.load_data(config)
    run = Run(config, data, None, jax.random.key(config.seed), Path(config.out))
    state = task.init(run)
    idx = np.arange(batch) % len(data.x_train)
    images = jnp.asarray(task.to_step_batch(run, (data.x_train[idx],))[0])
    return task, run, state, (images,)


def _twin_jit(shape):
    return jax.jit(lambda W, thr, images, key: twin_step(W, thr, images, key, shape))


def check_equal(task, run, state, batch, key):
    """One step of ngcx and of the twin from the same weights and thresholds, on the same
    images with the same key (same patches, same spikes) must agree (asserted before any
    timing): the weights and thresholds to 1e-5 and both metrics."""
    model = state[0]
    W, thr, m_twin = _twin_jit(run.data.image_shape)(model.W.weights, model.thr, *batch, key)
    (new, _), m_ngcx = jax.jit(lambda s, b, k: task.step(run, s, b, k))(state, batch, key)
    w_err = float(jnp.max(jnp.abs(new.W.weights - W)))
    assert w_err < 1e-5, f"new weights differ by {w_err:.2e}"
    t_err = float(jnp.max(jnp.abs(new.thr - thr)))
    assert t_err < 1e-5, f"new thresholds differ by {t_err:.2e}"
    for name, value in m_twin.items():
        assert abs(float(m_ngcx[name]) - float(value)) < 1e-5, (name, m_ngcx[name], value)
    moved = float(jnp.max(jnp.abs(new.W.weights - model.W.weights)))
    assert moved > 1e-3, f"the step should learn (weights moved by {moved:.2e})"


def folded_spec(state):
    """The proposed ``EvSTDPPatchesTask.constants``: only the weights (the plastic mask)
    and the thresholds move (the optimiser state is empty); every other leaf is compiled
    in."""
    model, _ = state
    return (eqx.tree_at(lambda m: m.thr, plasticity.plastic_mask(model), True), True)


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
    jit_twin = _twin_jit(run.data.image_shape)
    steps = {
        "twin": lambda carry: jit_twin(*carry, *arrays, key)[:2],  # (W, thr)
        **dict.fromkeys(trainers, timing.calls(arrays, key)),
    }
    states = {"twin": (state[0].W.weights, state[0].thr), **trainers}
    return timing.compare(steps, states, repeats, clock=clock, min_iters=2)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16], help="images per step")
    parser.add_argument(
        "--folded", action="store_true", help="also time the step with its constants folded"
    )
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    print(f"event STDP, {PATCH[0]}x{PATCH[1]} patches, {PER_IMAGE}/image, T={T}; one task step")
    extra = ("folded",) if args.folded else ()
    table = timing.ratio_table(("batch", 6), ("patches", 8), extra=extra)
    print(table.header())
    for batch in args.batches:
        t = bench(batch, args.repeats, args.folded, args.clock)
        print(table.row(batch, batch * PER_IMAGE, *timing.ratios(t, extra)))


if __name__ == "__main__":
    main()
