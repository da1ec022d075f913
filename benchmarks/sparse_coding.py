"""Benchmark: one sparse-coding training step (ngc-museum ``olshausen_sc``: T-step
inference of the codes from z = 0 under a Cauchy prior, or ISTA under a Laplacian one,
then the Hebbian dictionary update with SGD and the atoms renormalised, plus the step's
metrics) of ngcx against a plain-JAX twin written here with the same maths, same data,
same process.

    python benchmarks/sparse_coding.py                   # 16x16 patches, 100 atoms, T=300
    python benchmarks/sparse_coding.py --batches 1 250 1000 --priors cauchy --repeats 9
    python benchmarks/sparse_coding.py --T 100 --hidden 256

ngcx is the step ``ngcx train sparse-coding`` runs: the task's step
(:class:`ngcx.training.sparse_coding.SparseCodingTask`) under :class:`ngcx.FlatStep` with
the task's constants, from the task's initial state and on its whitened natural-image
patches. The twin writes the inference loop, the update and the metrics by hand, from the
same initial dictionary. Asserts that one step of each computes the same dictionary and
metrics, then prints ms per step for both and the ratio ngcx / twin for every (prior,
batch).

``--fold`` builds the ngcx step with the model's non-trainable leaves compiled in as
constants (``FlatStep(..., dynamic=...)``): the spec the task's ``constants`` returns
since this benchmark found the unfolded step 1.1-4x slower than the twin.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp

import _timing as timing
from ngcx import FlatStep, plasticity
from ngcx.training._task import Run
from ngcx.training.sparse_coding import SparseCodingConfig, SparseCodingTask


LMBDA = {"cauchy": 0.14, "laplacian": 0.1}  # the museum's (the task's defaults)
FOLD_HELP = (
    "compile the model's non-plastic leaves (tau_m, dt, lmbda, eta, the cell's scales) "
    "into the ngcx step as constants, as a task's `constants` would"
)


# --------------------------------------------------------------------------- twin
def make_twin(prior, T, tau_m, dt, eta):
    """The twin's jitted step ``W, x -> W, (energy, recon_error, sparsity)`` for
    ``W`` of shape ``(atoms, pixels)`` (one atom per row) and patches ``x``."""
    beta, lmbda = dt / tau_m, LMBDA[prior]
    theta = beta * lmbda

    def infer(W, x):
        def body(z, _):
            j = (x - z @ W) @ W.T
            if prior == "cauchy":
                return z + beta * (j - lmbda * 2.0 * z / (1.0 + z * z)), None
            u = z + beta * j
            return jnp.sign(u) * jnp.maximum(jnp.abs(u) - theta, 0.0), None

        z0 = jnp.zeros((x.shape[0], W.shape[0]), x.dtype)
        return jax.lax.scan(body, z0, None, length=T)[0]

    @jax.jit
    def step(W, x):
        z = infer(W, x)
        e = x - z @ W
        sq = jnp.sum(e * e)
        penalty = jnp.sum(jnp.log1p(z * z)) if prior == "cauchy" else jnp.sum(jnp.abs(z))
        energy = (0.5 * sq + lmbda * penalty) / x.shape[0]
        power = jnp.sum(x * x)
        recon = sq / jnp.where(power > 0, power, 1.0)
        k = z.shape[1]
        l1 = jnp.sum(jnp.abs(z), axis=1)
        l2 = jnp.sqrt(jnp.sum(z * z, axis=1))
        hoyer = jnp.where(
            l2 > 0, (math.sqrt(k) - l1 / jnp.where(l2 > 0, l2, 1.0)) / (math.sqrt(k) - 1), 1.0
        )
        W = W + eta * (z.T @ e)
        W = W / jnp.maximum(jnp.sqrt(jnp.sum(W * W, axis=1, keepdims=True)), 1e-12)
        return W, (energy, recon, jnp.mean(hoyer))

    return step


# --------------------------------------------------------------------------- setup
def setup(prior, batch, T, hidden):
    """The task's run, initial state and jitted step function for `prior`, `batch`."""
    config = SparseCodingConfig(
        prior=prior, batch_size=batch, T=T, hidden=hidden, n_patches=max(batch, 2),
        test_patches=2, out=str(Path(tempfile.gettempdir()) / "ngcx-bench-sparse-coding"),
    )  # fmt: skip
    task = SparseCodingTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), Path(config.out))
    return task, run, task.init(run), jnp.asarray(run.data.x_train[:batch])


def check_equal(task, run, state, twin, x):
    """One step of ngcx and of the twin from the same dictionary must agree (asserted
    before any timing): the new dictionary and the three metrics."""
    key = jax.random.key(0)
    (model, _), m = jax.jit(task.make_step(run, state))(state, (x,), key)
    W, (energy, recon, sparsity) = twin(state[0].atoms, x)
    err = float(jnp.max(jnp.abs(model.atoms - W)))
    assert err < 1e-5, f"new dictionaries differ by {err:.2e}"
    for name, a, b in (
        ("energy", m["train_energy"], energy),
        ("recon_error", m["train_recon_error"], recon),
        ("sparsity", m["train_sparsity"], sparsity),
    ):
        a, b = float(a), float(b)
        assert abs(a - b) <= 1e-4 * abs(b) + 1e-6, f"{name}: ngcx {a} vs twin {b}"


# --------------------------------------------------------------------------- timing
def bench(prior, batch, T, hidden, repeats, fold=False, clock="wall"):
    task, run, state, x = setup(prior, batch, T, hidden)
    c = run.config
    twin = make_twin(prior, T, c.tau_m, c.dt, c.eta)
    check_equal(task, run, state, twin, x)
    # what `ngcx train sparse-coding` runs (ngcx.training.fit builds the same FlatStep)
    # --fold: the model's non-plastic leaves compiled in (the proposed task `constants`)
    dynamic = (plasticity.plastic_mask(state[0]), True) if fold else task.constants(run, state)
    trainer = FlatStep(task.make_step(run, state), state, dynamic=dynamic)
    steps = {"ngcx": timing.calls((x,), jax.random.key(0)), "twin": lambda W: twin(W, x)[0]}
    states = {"ngcx": trainer, "twin": state[0].atoms}
    return timing.compare(steps, states, repeats, clock=clock, min_iters=2)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 250], help="batch sizes")
    parser.add_argument(
        "--priors", nargs="+", default=["cauchy", "laplacian"], choices=("cauchy", "laplacian")
    )
    parser.add_argument("--T", type=int, default=300, help="inference steps")
    parser.add_argument("--hidden", type=int, default=100, help="atoms")
    parser.add_argument("--fold", action="store_true", help=FOLD_HELP)
    args = timing.parse(parser, repeats=5)
    print(timing.device_line())
    fold = " (--fold: constants folded)" if args.fold else ""
    print(f"256-{args.hidden} dictionary, T={args.T}, SGD + unit-norm atoms per step{fold}")
    table = timing.ratio_table(("prior", 10), ("batch", 6))
    print(table.header())
    for prior in args.priors:
        for batch in args.batches:
            t = bench(prior, batch, args.T, args.hidden, args.repeats, args.fold, args.clock)
            print(table.row(prior, batch, *timing.ratios(t)))


if __name__ == "__main__":
    main()
