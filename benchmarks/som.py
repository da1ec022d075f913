"""Benchmark: the online updates of the self-organising map (ngc-museum
``self_organizing_map``: per sample, the best-matching unit by Euclidean distance, a
Gaussian neighbourhood on the 15x15 grid, the prototypes moved towards the sample with
ngc-learn's exponentially decaying learning rate and radius; a training step presents a
batch of samples one at a time, then computes the step's metrics) of ngcx against a
plain-JAX twin written here with the same maths, same data, same process.

    python benchmarks/som.py                       # 1 update per step, 32 (the task's)
    python benchmarks/som.py --batches 1 32 256 --grid 20 --repeats 9

ngcx is the step ``ngcx train som`` runs: the task's step
(:class:`ngcx.training.som.SOMTask`, :meth:`ngcx.models.SelfOrganizingMap.fit_online`)
under :class:`ngcx.FlatStep` with the task's constants, from the task's initial state on
the 8x8 digits. The twin writes the scan of online updates and the metrics by hand, from
the same prototypes and with the schedule constants copied from the model. Asserts that one
step of each computes the same prototypes and metrics, then prints ms per step and per
update for both and the ratio ngcx / twin for every number of samples per step.

``--fold`` builds the ngcx step with the model's non-trainable leaves compiled in as
constants (``FlatStep(..., dynamic=...)``): the spec the task's ``constants`` returns
since this benchmark found the unfolded step 1.1-4x slower than the twin.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp

import _timing as timing
from ngcx import FlatStep, plasticity
from ngcx.training._task import Run
from ngcx.training.som import SOMConfig, SOMTask


FOLD_HELP = (
    "compile the model's non-plastic leaves (schedule constants, grid, radius) into the "
    "ngcx step as constants, as a task's `constants` would"
)


# --------------------------------------------------------------------------- twin
def make_twin(n_x, n_y, eta, eta_decay, r0, radius_decay):
    """The twin's jitted step ``W, t, xs -> W, t, (quantization_error, radius)``: one
    online update per row of ``xs`` (prototypes ``W`` of shape ``(n_in, n_x * n_y)``, one
    per column; ``t`` the number of updates so far)."""
    i, j = jnp.meshgrid(jnp.arange(n_x), jnp.arange(n_y), indexing="ij")
    coords = jnp.stack([i.reshape(-1), j.reshape(-1)], axis=-1).astype(jnp.float32)

    def update(carry, x):
        W, t = carry
        tf = t.astype(W.dtype)
        c = jnp.argmin(jnp.sum(W * W, axis=0) - 2.0 * (x @ W))  # |x|^2 is common to all
        sigma = r0 * radius_decay**tf
        h = jnp.exp(-jnp.sum(jnp.square(coords - coords[c]), axis=-1) / (2.0 * sigma**2))
        rate = eta * eta_decay ** (tf + 1.0)
        return (W + rate * (x[:, None] - W) * h[None, :], t + 1), None

    @jax.jit
    def step(W, t, xs):
        (W, t), _ = jax.lax.scan(update, (W, t), xs)
        sq = jnp.sum(xs * xs, axis=1, keepdims=True) - 2.0 * (xs @ W) + jnp.sum(W * W, axis=0)
        qe = jnp.mean(jnp.min(jnp.sqrt(jnp.maximum(sq, 0.0)), axis=1))
        return W, t, (qe, r0 * radius_decay ** t.astype(W.dtype))

    return step


# --------------------------------------------------------------------------- setup
def setup(batch, grid):
    """The task's run, initial state and a batch of `batch` digits."""
    config = SOMConfig(
        batch_size=batch, n_units_x=grid, n_units_y=grid,
        out=str(Path(tempfile.gettempdir()) / "ngcx-bench-som"),
    )  # fmt: skip
    task = SOMTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), Path(config.out))
    return task, run, task.init(run), jnp.asarray(run.data.x_train[:batch])


def twin_from(model):
    """The twin's step with the model's grid and schedule constants (floats copied from
    its array leaves)."""
    som = model.som
    return make_twin(
        som.synapse.n_units_x, som.synapse.n_units_y, float(som.options.eta),
        float(som.options.eta_decay), float(som.synapse.radius), float(som.rule.radius_decay),
    )  # fmt: skip


def check_equal(task, run, state, twin, x):
    """One step of ngcx and of the twin from the same prototypes must agree (asserted
    before any timing): the new prototypes, the update count and the metrics."""
    (model, som_state), m = jax.jit(task.make_step(run, state))(state, (x,), jax.random.key(0))
    W, t, (qe, radius) = twin(state[0].prototypes, state[1].step, x)
    err = float(jnp.max(jnp.abs(model.prototypes - W)))
    assert err < 1e-5, f"new prototypes differ by {err:.2e}"
    assert int(som_state.step) == int(t) == x.shape[0], (int(som_state.step), int(t))
    for name, a, b in (
        ("quantization_error", m["train_quantization_error"], qe),
        ("radius", m["radius"], radius),
    ):
        a, b = float(a), float(b)
        assert abs(a - b) <= 1e-4 * abs(b) + 1e-6, f"{name}: ngcx {a} vs twin {b}"


# --------------------------------------------------------------------------- timing
def bench(batch, grid, repeats, fold=False, clock="wall"):
    task, run, state, x = setup(batch, grid)
    twin = twin_from(state[0])
    check_equal(task, run, state, twin, x)
    # what `ngcx train som` runs (ngcx.training.fit builds the same FlatStep)
    # --fold: the model's non-plastic leaves compiled in (the proposed task `constants`)
    dynamic = (plasticity.plastic_mask(state[0]), True) if fold else task.constants(run, state)
    trainer = FlatStep(task.make_step(run, state), state, dynamic=dynamic)
    steps = {"ngcx": timing.calls((x,), jax.random.key(0)), "twin": lambda st: twin(*st, x)[:2]}
    states = {"ngcx": trainer, "twin": (state[0].prototypes, state[1].step)}
    return timing.compare(steps, states, repeats, clock=clock)


def main():
    parser = timing.parser(__doc__)
    parser.add_argument(
        "--batches", type=int, nargs="+", default=[1, 32], help="samples (updates) per step"
    )
    parser.add_argument("--grid", type=int, default=15, help="map side (units)")
    parser.add_argument("--fold", action="store_true", help=FOLD_HELP)
    args = timing.parse(parser, repeats=7)
    print(timing.device_line())
    fold = " (--fold: constants folded)" if args.fold else ""
    print(f"{args.grid}x{args.grid} SOM on 8x8 digits, online updates{fold}")
    table = timing.Table(
        timing.Column("batch", 6),
        timing.time_column("ngcx"),
        timing.time_column("twin"),
        timing.time_column("ngcx", "us/upd", 12, ".2f"),
        timing.time_column("twin", "us/upd", 12, ".2f"),
        timing.RATIO,
    )
    print(table.header())
    for batch in args.batches:
        t = bench(batch, args.grid, args.repeats, args.fold, args.clock)
        ngcx_ms, twin_ms = t["ngcx"], t["twin"]
        per_update = (ngcx_ms * 1e3 / batch, twin_ms * 1e3 / batch)  # us
        print(table.row(batch, ngcx_ms, twin_ms, *per_update, ngcx_ms / twin_ms))


if __name__ == "__main__":
    main()
