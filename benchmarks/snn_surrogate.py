"""Benchmark: one BPTT training step of the surrogate-gradient SNN (64-128-10 LIF network,
T=25 steps, Bernoulli input, arctan surrogate, Adam) of ngcx against a plain-JAX twin
written here with the same maths, same data, same process.

    python benchmarks/snn_surrogate.py               # batches 64 and 256
    python benchmarks/snn_surrogate.py --batches 1024 --repeats 9

ngcx is ``ngcx.training.surrogate_trainer`` over ``ngcx.models.SurrogateSNN``; the twin
writes the LIF recursion, the arctan spike (a ``jax.custom_jvp``) and Adam by hand. Prints
ms per training step for both and the ratio ngcx / twin.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import _timing as timing
from ngcx.models import SurrogateSNN
from ngcx.training import surrogate_trainer


IN, HID, OUT, T, TAU, DT, LR, ALPHA, SCALE = 64, 128, 10, 25, 5.0, 1.0, 2e-3, 2.0, 10.0
B1, B2, EPS = 0.9, 0.999, 1e-8


# --------------------------------------------------------------------------- twin
@jax.custom_jvp
def spike(u):
    return (u > 0).astype(u.dtype)


@spike.defjvp
def _spike_jvp(primals, tangents):
    (u,), (du,) = primals, tangents
    g = (ALPHA / 2) / (1 + jnp.square(jnp.pi * ALPHA * u / 2))
    return spike(u), g * du


def twin_loss(params, x, y, key):
    (W1, b1), (W2, b2) = params
    inputs = (jax.random.uniform(key, (T, *x.shape), x.dtype) < x[None]).astype(x.dtype)
    gain = TAU / DT

    def lif(v, j):
        v = v + DT / TAU * (-v + gain * j)
        s = spike(v - 1.0)
        return v * (1 - s), s

    def step(carry, x_t):
        vh, vo, count = carry
        vh, sh = lif(vh, x_t @ W1 + b1)
        vo, so = lif(vo, sh @ W2 + b2)
        return (vh, vo, count + so), None

    zeros = jnp.zeros
    init = (zeros((x.shape[0], HID)), zeros((x.shape[0], OUT)), zeros((x.shape[0], OUT)))
    (_, _, count), _ = jax.lax.scan(step, init, inputs)
    return optax.softmax_cross_entropy_with_integer_labels(count * (SCALE / T), y).mean()


@jax.jit
def twin_step(params, adam, x, y, key):
    loss, grads = jax.value_and_grad(twin_loss)(params, x, y, key)
    t = adam["t"] + 1
    m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, adam["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: B2 * v + (1 - B2) * g * g, adam["v"], grads)
    c1, c2 = 1 - B1 ** t.astype(jnp.float32), 1 - B2 ** t.astype(jnp.float32)
    params = jax.tree_util.tree_map(
        lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + EPS), params, m, v
    )
    return params, {"m": m, "v": v, "t": t}, loss


# --------------------------------------------------------------------------- timing
def bench(batch, repeats, clock="wall"):
    key = jax.random.key(0)
    model = SurrogateSNN(IN, HID, OUT, key=key, T=T, dt=DT, tau_m=TAU, encoding="poisson")
    params = (
        (model.W1.weights, model.W1.biases),
        (model.W2.weights, model.W2.biases),
    )
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    adam = {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}
    trainer = surrogate_trainer(model, optax.adam(LR))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(size=(batch, IN)), jnp.float32)
    y = jnp.asarray(rng.integers(0, OUT, batch))
    # same model, same spikes: the losses of the first step must agree
    l_ngcx = trainer(x, y, key)
    *twin_state, l_twin = twin_step(params, adam, x, y, key)
    assert abs(float(l_ngcx) - float(l_twin)) < 1e-4, (float(l_ngcx), float(l_twin))
    steps = {"ngcx": timing.calls(x, y, key), "twin": lambda s: twin_step(*s[:2], x, y, key)}
    states = {"ngcx": trainer, "twin": tuple(twin_state)}
    return timing.compare(steps, states, repeats, clock=clock, min_iters=3, warmup="none")


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256])
    args = timing.parse(parser, repeats=7)
    print(f"{jax.default_backend()}: {IN}-{HID}-{OUT} LIF, T={T}, BPTT + Adam per step")
    table = timing.ratio_table(("batch", 6))
    print(table.header())
    for batch in args.batches:
        print(table.row(batch, *timing.ratios(bench(batch, args.repeats, args.clock))))


if __name__ == "__main__":
    main()
