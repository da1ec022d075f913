"""Benchmark: one training step of the generative PCN (ngc-museum ``pc_recon``: T-step
E-step of three ReLU latent layers with a Laplacian prior, Hebbian M-step with SGD and
row L2 normalisation) of ngcx against a plain-JAX twin written here with the same maths,
same data, same process.

    python benchmarks/pc_recon.py                  # 64-128-64-32, batches 1, 100, 512
    python benchmarks/pc_recon.py --sizes 100 --T 50 --repeats 9

Asserts that one step of each computes the same weights and energy, then prints ms/batch
for both and the ratio ngcx / twin for every batch size.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from ngcx import FlatStep, plasticity
from ngcx.models import GenerativePCN


SIZES = (64, 128, 64, 32)
TAU, DT, ETA, GAMMA = 20.0, 1.0, 0.005, 0.14


# --------------------------------------------------------------------------- twin
def _relu(z):
    return jnp.maximum(z, 0.0)


def _drelu(z):
    return (z >= 0).astype(z.dtype)  # ngcx's (and ngc-learn's) relu'(0) = 1


def twin_step(Ws, x, T):
    """One E/M step: ``Ws[l]`` maps latent layer l+1 to layer l (shape (n_{l+1}, n_l))."""
    batch = x.shape[0]
    zs = tuple(jnp.zeros((batch, W.shape[0])) for W in Ws)

    def errors(zs):
        fs = [_relu(z) for z in zs]
        targets = (x, *zs[:-1])
        return fs, [t - f @ W for t, f, W in zip(targets, fs, Ws, strict=True)]

    def body(zs, _):
        _, es = errors(zs)
        new = []
        for i, z in enumerate(zs):
            top_down = -es[i + 1] if i + 1 < len(zs) else 0.0
            dz = _drelu(z) * (es[i] @ Ws[i].T) + top_down - GAMMA * jnp.sign(z)
            new.append(z + DT / TAU * dz)
        return tuple(new), None

    zs, _ = jax.lax.scan(body, zs, None, length=T)
    fs, es = errors(zs)
    energy = sum(0.5 * jnp.sum(e * e) for e in es) + GAMMA * sum(jnp.sum(jnp.abs(z)) for z in zs)
    new = []
    for W, f, e in zip(Ws, fs, es, strict=True):
        W = W + ETA * (f.T @ e)
        new.append(W / jnp.maximum(jnp.sqrt(jnp.sum(W * W, axis=1, keepdims=True)), 1e-12))
    return tuple(new), energy / batch


def check_equal(model, x, T):
    """One step of ngcx and of the twin from the same weights must agree (asserted before
    any timing): the new weights and the energy."""
    Ws = tuple(s.weights for s in model.synapses)
    new_twin, e_twin = jax.jit(twin_step, static_argnums=2)(Ws, x, T)
    new, _, metrics = jax.jit(GenerativePCN.train_step)(model, model.init_optimizer(), x)
    for layer, (s, W) in enumerate(zip(new.synapses, new_twin, strict=True)):
        err = float(jnp.max(jnp.abs(s.weights - W)))
        assert err < 1e-5, f"layer {layer}: new weights differ by {err:.2e}"
    assert abs(float(metrics.energy) - float(e_twin)) <= 1e-4 * abs(float(e_twin)) + 1e-6, (
        float(metrics.energy),
        float(e_twin),
    )


# --------------------------------------------------------------------------- timing
def _block(state):
    jax.block_until_ready(state.leaves if isinstance(state, FlatStep) else state)


def _time(fn, state, x, iters):
    state = fn(state, x)  # compile + warm up
    _block(state)
    start = time.perf_counter()
    for _ in range(iters):
        state = fn(state, x)
    _block(state)
    return (time.perf_counter() - start) / iters * 1e3, state


def bench(batch, T, repeats, min_time=0.3):
    key = jax.random.key(0)
    x = jax.random.uniform(key, (batch, SIZES[0]))
    model = GenerativePCN(
        SIZES, key=key, T=T, tau_m=TAU, dt=DT, eta=ETA, prior=("laplacian", GAMMA)
    )
    check_equal(model, x, T)
    opt = model.optimizer()

    def train(carry, x):
        m, s = carry
        m, s, metrics = m.train_step(s, x, optimizer=opt)
        return (m, s), metrics

    # the non-plastic leaves (tau_m, dt, eta, sigma, the prior) compiled in as constants
    ngcx_step = FlatStep(
        train, (model, model.init_optimizer(opt)), dynamic=(plasticity.plastic_mask(model), True)
    )

    def run_ngcx(state, x):
        ngcx_step(x)
        return ngcx_step

    jit_twin = jax.jit(twin_step, static_argnums=2)

    def run_twin(Ws, x):
        return jit_twin(Ws, x, T)[0]

    states = {"ngcx": ngcx_step, "twin": tuple(s.weights for s in model.synapses)}
    fns = {"ngcx": run_ngcx, "twin": run_twin}
    per, states["twin"] = _time(run_twin, states["twin"], x, 5)
    iters = max(5, int(min_time * 1e3 / max(per, 1e-3)))
    times = {"ngcx": [], "twin": []}
    for r in range(repeats):
        order = ("ngcx", "twin") if r % 2 == 0 else ("twin", "ngcx")
        for name in order:
            ms, states[name] = _time(fns[name], states[name], x, iters)
            times[name].append(ms)
    return statistics.median(times["ngcx"]), statistics.median(times["twin"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 100, 512], help="batch sizes")
    parser.add_argument("--T", type=int, default=20, help="E-step length")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    print(
        f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}"
    )
    print(f"{'batch':>6} {'ngcx ms':>10} {'twin ms':>10} {'ratio':>7}")
    for batch in args.sizes:
        ngcx_ms, twin_ms = bench(batch, args.T, args.repeats)
        print(f"{batch:>6} {ngcx_ms:>10.3f} {twin_ms:>10.3f} {ngcx_ms / twin_ms:>7.3f}")


if __name__ == "__main__":
    main()
