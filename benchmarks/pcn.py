"""Benchmark: one PCN training step (projection, T-step E-step, Hebbian M-step with Adam)
of ngcx against a plain-JAX twin written here with the same maths, same data, same
process.

    python benchmarks/pcn.py                 # the issue's sizes
    python benchmarks/pcn.py --sizes 128:64 --repeats 9

Asserts that one step of each computes the same weights and energy, then prints ms/batch
for both and the ratio ngcx / twin for every (hidden, batch).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import _timing as timing
from ngcx.models import PCN
from ngcx.training import pcn_trainer


IN, OUT, T, TAU, DT, ETA = 64, 10, 20, 20.0, 1.0, 1e-3
B1, B2, EPS = 0.9, 0.999, 1e-8


# --------------------------------------------------------------------------- twin
def twin_init(key, hidden):
    sizes = (IN, hidden, hidden, OUT)
    keys = jax.random.split(key, len(sizes) - 1)
    params = [
        {
            "W": jax.random.normal(k, (a, b)) / np.sqrt(a),
            "b": jnp.zeros((b,)),
        }
        for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return params, {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


def _relu(z):
    return jnp.maximum(z, 0.0)


def _drelu(z):
    return (z >= 0).astype(z.dtype)


def twin_step(params, adam, x, y):
    W1, W2, W3 = (p["W"] for p in params)
    b1, b2, b3 = (p["b"] for p in params)
    z1 = x @ W1 + b1
    z2 = _relu(z1) @ W2 + b2

    def body(carry, _):
        z1, z2 = carry
        e1 = z1 - (x @ W1 + b1)
        e2 = z2 - (_relu(z1) @ W2 + b2)
        e3 = y - (_relu(z2) @ W3 + b3)
        dz1 = -e1 + _drelu(z1) * (e2 @ W2.T)
        dz2 = -e2 + _drelu(z2) * (e3 @ W3.T)
        return (z1 + DT / TAU * dz1, z2 + DT / TAU * dz2), None

    (z1, z2), _ = jax.lax.scan(body, (z1, z2), None, length=T)
    pres = (x, _relu(z1), _relu(z2))
    posts = (z1 - (x @ W1 + b1), z2 - (_relu(z1) @ W2 + b2), y - (_relu(z2) @ W3 + b3))
    grads = [{"W": -(p.T @ e), "b": -jnp.sum(e, axis=0)} for p, e in zip(pres, posts, strict=True)]
    t = adam["t"] + 1
    m = jax.tree_util.tree_map(lambda m, g: B1 * m + (1 - B1) * g, adam["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: B2 * v + (1 - B2) * g * g, adam["v"], grads)
    c1 = 1 - B1 ** t.astype(jnp.float32)
    c2 = 1 - B2 ** t.astype(jnp.float32)
    new = jax.tree_util.tree_map(
        lambda p, m, v: p - ETA * (m / c1) / (jnp.sqrt(v / c2) + EPS), params, m, v
    )
    energy = sum(0.5 * jnp.sum(e * e) for e in posts) / x.shape[0]
    return new, {"m": m, "v": v, "t": t}, energy


def check_equal(model, x, y):
    """One step of ngcx and of the twin from the same weights must agree (asserted before
    any timing): the Hebbian updates (the twin's gradients, read from Adam's first moment),
    the energy, and the new weights wherever the gradient is not vanishingly small (Adam's
    first step is eta * g / (|g| + eps): rounding decides it where |g| is near eps)."""
    params = [{"W": s.weights, "b": s.biases} for s in model.synapses]
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    adam = {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}
    new_twin, adam_twin, e_twin = jax.jit(twin_step)(params, adam, x, y)
    opt = model.optimizer()
    new, _, metrics = jax.jit(lambda m, s: m.train_step(s, x, y, optimizer=opt))(
        model, model.init_optimizer(opt)
    )
    zs, _ = model.infer(x, y)
    updates = model.hebbian_updates(x, y, zs)
    for layer, (u, m, s, p) in enumerate(
        zip(updates, adam_twin["m"], new.synapses, new_twin, strict=True)
    ):
        g_twin = m["W"] / (1 - B1)
        scale = float(jnp.max(jnp.abs(g_twin))) + 1e-12
        err = float(jnp.max(jnp.abs(-u.weights - g_twin)))
        assert err <= 1e-4 * scale, f"layer {layer}: Hebbian updates differ by {err:.2e}"
        clear = jnp.abs(g_twin) > 1e-4 * scale
        w_err = float(jnp.max(jnp.where(clear, jnp.abs(s.weights - p["W"]), 0.0)))
        assert w_err < 1e-5, f"layer {layer}: new weights differ by {w_err:.2e}"
    assert abs(float(metrics.energy) - float(e_twin)) <= 1e-4 * abs(float(e_twin)) + 1e-6, (
        float(metrics.energy),
        float(e_twin),
    )


# --------------------------------------------------------------------------- timing
def bench(hidden, batch, repeats, clock="wall"):
    key = jax.random.key(0)
    x = jax.random.uniform(key, (batch, IN))
    y = jax.nn.one_hot(jnp.arange(batch) % OUT, OUT)

    model = PCN((IN, hidden, hidden, OUT), key=key, T=T, tau_m=TAU, dt=DT, eta=ETA)
    check_equal(model, x, y)
    jit_twin = jax.jit(twin_step)
    steps = {"ngcx": timing.calls(x, y), "twin": lambda s: jit_twin(*s, x, y)[:2]}
    states = {"ngcx": pcn_trainer(model), "twin": twin_init(key, hidden)}
    return timing.compare(steps, states, repeats, clock=clock)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=["128:1", "128:64", "128:512", "1024:64"],
        help="hidden:batch pairs",
    )
    args = timing.parse(parser, repeats=7)
    print(timing.device_line())
    table = timing.ratio_table(("hidden", 7), ("batch", 6))
    print(table.header())
    for spec in args.sizes:
        hidden, batch = (int(v) for v in spec.split(":"))
        t = bench(hidden, batch, args.repeats, args.clock)
        print(table.row(hidden, batch, *timing.ratios(t)))


if __name__ == "__main__":
    main()
