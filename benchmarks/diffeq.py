"""Benchmark: ngcx.diffeq's explicit steps against diffrax's solvers, one step per
iteration of a ``lax.scan`` (how cells use them), same ODE, same process.

    pip install diffrax && python benchmarks/diffeq.py

Not run in CI (diffrax is not a dependency). Prints µs per scanned step for Euler and RK4
(``diffrax.Euler`` / ``diffrax.Tsit5`` is not RK4, so ``diffrax.Dopri5`` with a fixed step is
shown for the 4th/5th-order comparison).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import _timing as timing
from ngcx import diffeq


N, STEPS, DT = 1024, 200, 0.1


def f(t, x, args):
    j, tau = args
    return (-x + jnp.tanh(x) @ j) / tau


def run_ngcx(step):
    def go(x0, j):
        def body(carry, _):
            t, x = carry
            return step(t, x, f, DT, (j, 10.0)), None

        return jax.lax.scan(body, (0.0, x0), None, length=STEPS)[0][1]

    return jax.jit(go)


def run_diffrax(solver):
    import diffrax

    term = diffrax.ODETerm(f)

    def go(x0, j):
        state = solver.init(term, 0.0, DT, x0, (j, 10.0))

        def body(carry, _):
            t, x, st = carry
            x, _, _, st, _ = solver.step(term, t, t + DT, x, (j, 10.0), st, made_jump=False)
            return (t + DT, x, st), None

        return jax.lax.scan(body, (0.0, x0, state), None, length=STEPS)[0][1]

    return jax.jit(go)


def main():
    args = timing.parse(timing.parser(__doc__), repeats=7)
    import diffrax

    key = jax.random.key(0)
    x0 = jax.random.normal(key, (8, N))
    j = jax.random.normal(key, (N, N)) / jnp.sqrt(N)
    rows = [
        ("euler", run_ngcx(diffeq.step_euler), run_diffrax(diffrax.Euler())),
        ("rk4 / dopri5", run_ngcx(diffeq.step_rk4), run_diffrax(diffrax.Dopri5())),
    ]
    kind = jax.devices()[0].device_kind
    print(f"device: {kind}, jax {jax.__version__}, diffrax {diffrax.__version__}")
    table = timing.Table(
        timing.Column("method", 14, align="<"),
        timing.Column("ngcx µs/step", 14, ".1f"),
        timing.Column("diffrax µs/step", 17, ".1f"),
        timing.Column("ratio", 8, ".2f"),
        sep="",
    )
    print(table.header())
    for name, ours, theirs in rows:
        # one call (a scan of STEPS steps) per measurement, ngcx's repeats then diffrax's
        steps = {"ngcx": timing.pure(ours, x0, j), "diffrax": timing.pure(theirs, x0, j)}
        ms = timing.compare(
            steps, dict.fromkeys(steps), args.repeats, clock=args.clock, iters=1,
            warmup="series", order="sequential",
        )  # fmt: skip
        a, b = (ms[k] * 1e3 / STEPS for k in steps)  # us per step
        print(table.row(name, a, b, a / b))


if __name__ == "__main__":
    main()
