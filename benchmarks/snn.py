"""Benchmark: 1000 LIF neurons driven by Poisson input through a dense trace-STDP synapse
that learns at every step (T=200 steps of 1 ms, batch 1), ngcx against a plain-JAX twin
written here with the same maths, in the same process.

    python benchmarks/snn.py                  # input dims 64 and 784
    python benchmarks/snn.py --inputs 784 --repeats 15

ngcx builds the step from its public pieces (``PoissonCell``, a ``DenseSynapse`` with the
``TraceSTDP`` rule and the ``plasticity.stdp`` optax chain, ``LIFCell``, two
``VarTrace`` s, ``simulate``); the
twin is one hand-written ``lax.scan``. Prints ms/step for both and the ratio ngcx / twin.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import _timing as timing
from ngcx import plasticity
from ngcx.cells import LIFCell, PoissonCell, VarTrace
from ngcx.initializers import DistributionGenerator
from ngcx.plasticity import TraceSTDP
from ngcx.simulation import simulate
from ngcx.synapses import DenseSynapse


N, T, DT = 1000, 200, 1.0
TAU_M, R_M, THR, V_REST, V_RESET, TAU_THETA, THETA_PLUS, REFRACT = (
    100.0, 100.0, -52.0, -65.0, -60.0, 1e7, 0.05, 5.0,
)  # fmt: skip
TAU_TR, A_PLUS, A_MINUS, ETA, FREQ = 20.0, 1e-2, 1e-4, 1.0, 63.75


# --------------------------------------------------------------------------- ngcx
def ngcx_setup(n_in, key):
    syn = DenseSynapse((n_in, N), key=key, weight_init=DistributionGenerator.uniform(0.025, 0.8))
    rule = TraceSTDP(A_PLUS, A_MINUS)
    enc = PoissonCell(n_in, FREQ)
    lif = LIFCell(
        N, TAU_M, resist_m=R_M, thr=THR, v_rest=V_REST, v_reset=V_RESET,
        tau_theta=TAU_THETA, theta_plus=THETA_PLUS, refract_time=REFRACT,
    )  # fmt: skip
    tr_in, tr_out = VarTrace(n_in, TAU_TR, 0.0), VarTrace(N, TAU_TR, 0.0)
    opt = plasticity.stdp(ETA, w_bound=1.0)

    @jax.jit
    def run(syn, x, key):
        def step(carry, k):
            syn, ost, enc_s, lif_s, x_in, x_out = carry
            enc_s = enc(enc_s, x, key=k, dt=DT)
            lif_s = lif(lif_s, syn(enc_s.s), dt=DT)
            x_in = tr_in(x_in, enc_s.s, dt=DT)
            x_out = tr_out(x_out, lif_s.s, dt=DT)
            updates = rule(syn, enc_s.s, lif_s.s, x_in, x_out)
            syn, ost = plasticity.apply_updates(syn, updates, ost, opt)
            return syn, ost, enc_s, lif_s, x_in, x_out

        init = (
            syn,
            plasticity.init(opt, syn),
            enc.init_state(),
            lif.init_state(),
            tr_in.init_state(),
            tr_out.init_state(),
        )
        final, _ = simulate(step, init, inputs=jax.random.split(key, T))
        return final[0], final[3].thr_theta

    return syn, run


# --------------------------------------------------------------------------- twin
def twin_run(W, x, key):
    n_in = W.shape[0]
    decay = jnp.exp(-DT / TAU_TR)
    theta_decay = jnp.exp(-DT / TAU_THETA)

    def body(carry, k):
        W, v, rfr, theta, x_in, x_out = carry
        s_in = (jax.random.uniform(k, (n_in,)) < x * (FREQ * DT / 1000.0)).astype(W.dtype)
        j = (s_in @ W) * R_M * (rfr >= REFRACT).astype(W.dtype)
        v = v + DT / TAU_M * (V_REST - v + j)
        s = (v > THR + theta).astype(W.dtype)
        v = v * (1 - s) + s * V_RESET
        rfr = (rfr + DT) * (1 - s)
        theta = theta * theta_decay + THETA_PLUS * s
        x_in = x_in * decay * (1 - s_in) + s_in
        x_out = x_out * decay * (1 - s) + s
        dW = A_PLUS * x_in[:, None] * s[None, :] - A_MINUS * s_in[:, None] * x_out[None, :]
        W = jnp.clip(W + ETA * dW, 0.0, 1.0)
        return (W, v, rfr, theta, x_in, x_out), None

    zeros = jnp.zeros((N,), W.dtype)
    init = (W, zeros + V_REST, zeros + REFRACT, zeros, jnp.zeros((n_in,), W.dtype), zeros)
    (W, _, _, theta, _, _), _ = jax.lax.scan(body, init, jax.random.split(key, T))
    return W, theta


# --------------------------------------------------------------------------- timing
def bench(n_in, repeats, clock="wall"):
    key = jax.random.key(0)
    x = jax.random.uniform(jax.random.key(1), (n_in,))
    syn, ngcx_run = ngcx_setup(n_in, key)
    twin = jax.jit(twin_run)
    # same weights, same spikes: the two must agree before they are timed
    W_ngcx, th_ngcx = ngcx_run(syn, x, key)
    W_twin, th_twin = twin(syn.weights, x, key)
    err = float(jnp.max(jnp.abs(W_ngcx.weights - W_twin)))
    assert err < 1e-5 and bool(jnp.allclose(th_ngcx, th_twin)), f"ngcx and twin disagree: {err}"
    steps = {
        "ngcx": timing.pure(ngcx_run, syn, x, key),
        "twin": timing.pure(twin, syn.weights, x, key),
    }
    # every call runs the whole simulation from the same arguments; ngcx calibrates (one
    # call), the measurements go in turn, ngcx first
    ms = timing.compare(
        steps, dict.fromkeys(steps), repeats, clock=clock, min_time=0.25, min_iters=1,
        probe="ngcx", order="fixed",
    )  # fmt: skip
    return {name: t / T for name, t in ms.items()}  # ms per simulation step


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--inputs", type=int, nargs="+", default=[64, 784])
    args = timing.parse(parser, repeats=11)
    print(f"{jax.devices()[0].platform}: {N} LIF, trace STDP every step, T={T}, batch 1")
    table = timing.ratio_table(("inputs", 7), unit="ms/step", width=13, spec=".4f")
    print(table.header())
    for n_in in args.inputs:
        print(table.row(n_in, *timing.ratios(bench(n_in, args.repeats, args.clock))))


if __name__ == "__main__":
    main()
