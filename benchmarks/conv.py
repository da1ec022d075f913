"""Benchmark: one Hebbian deconvolutional update (forward, dWeights, dInputs, SGD step) of
ngcx's DeconvSynapse with the Hebbian rule and the ``plasticity.hebbian`` optax chain
(ascending the rule, W <- W + eta dW) against the same computation written directly with
``jax.vjp`` of ``lax.conv_transpose`` (same data, same process). Before timing it asserts
that both compute the same outputs and the same new weights.

    python benchmarks/conv.py                       # batch 64, 28x28, 3->16, k=5, strides 1, 2
    python benchmarks/conv.py --batch 32 --strides 1 2 3

Prints ms/update for both, the ratio ngcx / twin, and the speed-up of ngcx's phase
decomposition over XLA's dilated transposed convolution.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

import _timing as timing
from ngcx import plasticity
from ngcx.plasticity import Hebbian
from ngcx.synapses import DeconvSynapse


DIMS = ("NHWC", "HWIO", "NHWC")
ETA = 1e-3


def bench(batch, size, c_in, c_out, k, stride, repeats, clock="wall"):
    key = jax.random.key(0)
    kx, kp = jax.random.split(key)
    syn = DeconvSynapse((k, k, c_in, c_out), (size, size), key=key, stride=stride, padding="SAME")
    rule = Hebbian()
    x = jax.random.normal(kx, (batch, size, size, c_in))
    post = jax.random.normal(kp, (batch, *syn.output_shape((size, size)), c_out))
    opt = plasticity.hebbian(ETA, "sgd", sign=1.0)  # W <- W + eta dW, as the twin
    opt_state = plasticity.init(opt, syn)
    # as ngcx's trainers do (fold_constants): the plastic arrays are arguments, the
    # synapse's other leaves (resist_scale) are compiled in as constants
    plastic, frozen = eqx.partition(syn, plasticity.plastic_mask(syn))

    @jax.jit
    def ngcx_update(plastic, opt_state, x, post):
        syn = eqx.combine(plastic, frozen)
        y = syn(x)
        d_inputs = syn.backtransmit(post)
        syn, opt_state = plasticity.apply_updates(syn, rule(syn, x, post), opt_state, opt)
        return plasticity.plastic(syn), opt_state, y, d_inputs

    @jax.jit
    def twin_update(W, x, post):
        y, vjp = jax.vjp(
            lambda u, w: jax.lax.conv_transpose(
                u, w, (stride, stride), "SAME", dimension_numbers=DIMS
            ),
            x,
            W,
        )
        d_inputs, dW = vjp(post)
        return W + ETA * dW, y, d_inputs

    # check both compute the same update before timing
    new_syn, _, y, dx = ngcx_update(plastic, opt_state, x, post)
    W_twin, y_twin, dx_twin = twin_update(syn.weights, x, post)
    err = max(
        float(jnp.max(jnp.abs(new_syn.weights - W_twin))),
        float(jnp.max(jnp.abs(y - y_twin))),
        float(jnp.max(jnp.abs(dx - dx_twin))),
    )
    scale = float(jnp.max(jnp.abs(y_twin))) + float(jnp.max(jnp.abs(dx_twin)))
    assert err <= 1e-4 * max(scale, 1.0), f"ngcx and the twin differ by {err:.2e}"
    # ngcx's repeats, then the twin's (not interleaved); the twin calibrates (one call)
    ms = timing.compare(
        {"ngcx": timing.pure(ngcx_update, plastic, opt_state, x, post),
         "twin": timing.pure(twin_update, syn.weights, x, post)},
        {"ngcx": None, "twin": None}, repeats, clock=clock, min_iters=2, probe_iters=1,
        warmup="series", order="sequential",
    )  # fmt: skip
    return ms["ngcx"], ms["twin"], err


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--c-in", type=int, default=3)
    parser.add_argument("--c-out", type=int, default=16)
    parser.add_argument("--kernel", type=int, default=5)
    parser.add_argument("--strides", type=int, nargs="+", default=[1, 2])
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    print(
        f"batch {args.batch}, {args.size}x{args.size}, {args.c_in}->{args.c_out} channels, "
        f"kernel {args.kernel}, SAME"
    )
    table = timing.Table(
        timing.Column("stride", 6),
        timing.time_column("ngcx", spec=".2f"),
        timing.Column("vjp(lax) ms", 12, ".2f"),
        timing.RATIO,
        timing.Column("speed-up", 9, ".1f", suffix="x"),
        timing.Column("max diff", 9, ".1e"),
    )
    print(table.header())
    for stride in args.strides:
        ngcx_ms, twin_ms, err = bench(
            args.batch, args.size, args.c_in, args.c_out, args.kernel, stride, args.repeats,
            args.clock,
        )  # fmt: skip
        print(table.row(stride, ngcx_ms, twin_ms, ngcx_ms / twin_ms, twin_ms / ngcx_ms, err))


if __name__ == "__main__":
    main()
