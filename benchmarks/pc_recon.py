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

import jax
import jax.numpy as jnp

import _timing as timing
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
def bench(batch, T, repeats, clock="wall"):
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
    jit_twin = jax.jit(twin_step, static_argnums=2)
    steps = {"ngcx": timing.calls(x), "twin": lambda Ws: jit_twin(Ws, x, T)[0]}
    states = {"ngcx": ngcx_step, "twin": tuple(s.weights for s in model.synapses)}
    return timing.compare(steps, states, repeats, clock=clock)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 100, 512], help="batch sizes")
    parser.add_argument("--T", type=int, default=20, help="E-step length")
    args = timing.parse(parser, repeats=7)
    print(timing.device_line())
    table = timing.ratio_table(("batch", 6))
    print(table.header())
    for batch in args.sizes:
        print(table.row(batch, *timing.ratios(bench(batch, args.T, args.repeats, args.clock))))


if __name__ == "__main__":
    main()
