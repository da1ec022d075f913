"""Training loops for the flagship models (what ``ngcx train ...`` runs).

:func:`train_conv_pc` trains :class:`ngcx.models.ConvPC` on the digits up-sampled to
16x16 and writes ``metrics.json`` (per-epoch reconstruction error), ``filters.png``,
``reconstructions.png``, ``learning_curve.png`` and ``model.ckpt``.

:func:`train_pcn` trains :class:`ngcx.models.PCN` on the embedded digits: shuffled
equal-size batches (the step compiles once), per-epoch energy and train/test accuracy,
then a checkpoint (``model.ckpt``), ``metrics.json`` and plots (``learning_curve.png``,
``confusion_matrix.png``, ``receptive_fields.png``) in the output folder.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import io, plasticity
from ._flat import FlatStep
from ._plotting import viz_or_warn
from ._progress import Progress
from ._runs import NonFiniteError, check_fields, check_finite_epoch, prepare_out
from .data import load_digits, train_test_split
from .models import PCN, ConvPC, upsample
from .parallel import DataParallel


__all__ = [
    "PCNConfig",
    "make_pcn_step",
    "pcn_trainer",
    "train_pcn",
    "digits_split",
    "finish_classifier",
    "confusion_matrix",
    "ConvPCConfig",
    "train_conv_pc",
    "NonFiniteError",
]


@dataclasses.dataclass(frozen=True)
class PCNConfig:
    """Configuration of ``ngcx train pcn`` (defaults: the ngc-museum ``pc_discrim`` setup
    on digits)."""

    sizes: tuple[int, ...] = (64, 128, 128, 10)
    T: int = 20
    tau_m: float = 20.0
    dt: float = 1.0
    act_fx: str = "relu"
    eta: float = 1e-3
    optim_type: str = "adam"
    batch_size: int = 64
    epochs: int = 30
    seed: int = 0
    test_fraction: float = 0.2
    out: str = "runs/pcn"
    plots: bool = True
    devices: int | None = None  # None: all local devices when there are several

    def __post_init__(self):
        check_fields(
            self,
            positive=("T", "tau_m", "dt", "eta", "batch_size", "epochs"),
            unit_open=("test_fraction",),
            at_least_one=("devices",),
        )
        if self.sizes[0] != 64 or self.sizes[-1] != 10:
            raise ValueError(
                f"`sizes` must start at 64 and end at 10 for digits, got {self.sizes}."
            )


def make_pcn_step(model: PCN, optimizer: Any) -> Any:
    """``step(model, opt_state, x, y) -> (model, opt_state, metrics)``, jitted once."""
    del model
    return jax.jit(functools.partial(PCN.train_step, optimizer=optimizer))


def pcn_trainer(
    model: PCN,
    optimizer: Any = None,
    opt_state: Any = None,
    parallel: DataParallel | None = None,
    fold_constants: bool = True,
) -> FlatStep:
    """A :class:`ngcx.FlatStep` over ``(model, opt_state)``: ``metrics = trainer(x, y)``
    runs one jitted training step; ``trainer.state`` is ``(model, opt_state)``. With
    `parallel` the state is replicated over its devices (pass batches through
    ``parallel.shard_batch``).

    `fold_constants` (default) compiles the model's non-plastic leaves (``tau_m``, ``dt``,
    ``sigma``, ``eta``, the synapses' ``resist_scale``) into the step as constants and
    passes only the weights, biases and optimiser state: measured with
    ``python benchmarks/pcn.py`` on this machine's CPU it makes a batch-1 step about 15%
    faster (0.124 ms unfolded, 0.107 ms folded; the plain-JAX twin 0.107 ms). Pass
    ``False`` to keep every leaf an argument (e.g. to change a time constant between
    calls without rebuilding the trainer)."""
    opt = model.optimizer() if optimizer is None else optimizer
    state = model.init_optimizer(opt) if opt_state is None else opt_state
    if parallel is not None:
        model, state = parallel.replicate((model, state))

    def step(carry, x, y):
        m, s = carry
        m, s, metrics = m.train_step(s, x, y, optimizer=opt)
        return (m, s), metrics

    dynamic = (plasticity.plastic_mask(model), True) if fold_constants else None
    return FlatStep(step, (model, state), dynamic=dynamic)


def _parallel(devices: int | None, batch_size: int | None) -> DataParallel | None:
    """Data parallelism over `devices` (``None``: all local devices if more than one);
    `batch_size` (when given) must divide over them."""
    n = jax.local_device_count() if devices is None else devices
    if n <= 1:
        return None
    if batch_size is not None and batch_size % n:
        raise ValueError(f"`batch_size` {batch_size} must be a multiple of the {n} devices.")
    return DataParallel(n)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as ``j``."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def _accuracy(predict: Callable, model: PCN, x: np.ndarray, y: np.ndarray) -> tuple[float, Any]:
    pred = np.asarray(predict(model, jnp.asarray(x))).argmax(-1)
    return float((pred == y).mean()), pred


def digits_split(config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The embedded digits split by ``config.test_fraction`` and ``config.seed``:
    ``(x_train, y_train, x_test, y_test)``."""
    images, labels = load_digits()
    split = train_test_split(images, labels, config.test_fraction, seed=config.seed)
    if len(split[0]) == 0 or len(split[2]) == 0:
        raise ValueError(
            f"`test_fraction` {config.test_fraction} leaves an empty "
            f"{'training' if len(split[0]) == 0 else 'test'} split of the "
            f"{len(images)} digits."
        )
    return split


def finish_classifier(
    name: str,
    config: Any,
    model: Any,
    history: dict[str, list[float]],
    y_test: np.ndarray,
    test_pred: np.ndarray,
    start: float,
    compilations: int,
    **extra: Any,
) -> dict[str, Any]:
    """Write a classifier's checkpoint (``model.ckpt``) and ``metrics.json`` (config,
    history, final accuracies, confusion matrix, wall time since `start`, compile count,
    and `extra`) to ``config.out``; return the metrics."""
    out = io.makedir(config.out)
    config_dict = _jsonable(dataclasses.asdict(config))
    io.save(out / "model.ckpt", model, config=config_dict)
    results = {
        "model": name,
        "config": config_dict,
        "history": history,
        "final_train_acc": history["train_acc"][-1],
        "final_test_acc": float((np.asarray(test_pred) == y_test).mean()),
        "confusion_matrix": confusion_matrix(y_test, test_pred, 10).tolist(),
        "wall_time_s": time.perf_counter() - start,
        "step_compilations": compilations,
        **extra,
    }
    (out / "metrics.json").write_text(json.dumps(results, indent=2, allow_nan=False))
    return results


def train_pcn(config: PCNConfig = PCNConfig(), progress: bool = True) -> dict[str, Any]:
    """Train and evaluate the PCN; write checkpoint, metrics and plots to ``config.out``.

    **Returns:** the metrics dictionary also written to ``metrics.json``.
    """
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = digits_split(config)
    if len(x_train) < config.batch_size:
        raise ValueError(f"`batch_size` {config.batch_size} exceeds the {len(x_train)} samples.")
    n_classes = config.sizes[-1]
    onehot = np.eye(n_classes, dtype=np.float32)[y_train]
    model = PCN(
        config.sizes,
        key=jax.random.key(config.seed),
        T=config.T,
        tau_m=config.tau_m,
        dt=config.dt,
        act_fx=config.act_fx,
        eta=config.eta,
        optim_type=config.optim_type,
    )
    out = prepare_out(config.out)  # after every check of the configuration
    parallel = _parallel(config.devices, config.batch_size)
    trainer = pcn_trainer(model, parallel=parallel)
    predict = jax.jit(PCN.predict)
    rng = np.random.default_rng(config.seed)
    n_batches = len(x_train) // config.batch_size
    if n_batches == 0:
        raise ValueError(f"`batch_size` {config.batch_size} exceeds the {len(x_train)} samples.")
    history: dict[str, list[float]] = {"energy": [], "train_acc": [], "test_acc": []}
    bar = Progress("pcn", config.epochs * n_batches, unit="batch", enabled=progress)
    bar.start()
    try:
        for epoch in range(config.epochs):
            order = rng.permutation(len(x_train))
            energies = []
            for b in range(n_batches):
                idx = order[b * config.batch_size : (b + 1) * config.batch_size]
                xb, yb = jnp.asarray(x_train[idx]), jnp.asarray(onehot[idx])
                if parallel is not None:
                    xb, yb = parallel.shard_batch(xb, yb)
                metrics = trainer(xb, yb)
                energies.append(metrics.energy)
                bar.update(1)
            model = trainer.state[0]
            check_finite_epoch("energy", energies, model.synapses, epoch, where="pcn")
            energy = float(np.mean(jax.device_get(energies)))
            train_acc, _ = _accuracy(predict, model, x_train, y_train)
            test_acc, _ = _accuracy(predict, model, x_test, y_test)
            history["energy"].append(energy)
            history["train_acc"].append(train_acc)
            history["test_acc"].append(test_acc)
            message = (
                f"epoch {epoch + 1:3d}/{config.epochs}  energy {energy:.4f}  "
                f"train acc {train_acc:.4f}  test acc {test_acc:.4f}"
            )
            bar.epoch(message)
    finally:
        bar.close()
    _, test_pred = _accuracy(predict, model, x_test, y_test)
    results = finish_classifier(
        "pcn", config, model, history, y_test, test_pred, start, trainer.compilations,
        devices=1 if parallel is None else parallel.n_devices,
    )  # fmt: skip
    cmatrix = np.asarray(results["confusion_matrix"])
    viz = viz_or_warn() if config.plots else None
    if viz is not None:
        viz.plot_learning_curve(
            {
                "energy": history["energy"],
                "train acc": history["train_acc"],
                "test acc": history["test_acc"],
            },
            out / "learning_curve.png",
            title="PCN on digits",
            secondary=("train acc", "test acc"),
        )
        viz.plot_confusion_matrix(cmatrix, out / "confusion_matrix.png", title="PCN test set")
        viz.plot_receptive_fields(
            np.asarray(model.synapses[0].weights), (8, 8), out / "receptive_fields.png"
        )
    return results


@dataclasses.dataclass(frozen=True)
class ConvPCConfig:
    """Configuration of ``ngcx train conv-pc``."""

    n_features: int = 8
    kernel: int = 5
    T: int = 40
    tau_m: float = 20.0
    gamma: float = 0.2
    eta: float = 2e-3
    batch_size: int = 64
    epochs: int = 20
    seed: int = 0
    out: str = "runs/conv-pc"
    plots: bool = True

    def __post_init__(self):
        check_fields(
            self,
            positive=("n_features", "kernel", "T", "tau_m", "eta", "batch_size", "epochs"),
            nonnegative=("gamma",),
        )


def train_conv_pc(config: ConvPCConfig = ConvPCConfig(), progress: bool = True) -> dict[str, Any]:
    """Train the convolutional PC model on 16x16 digits; write metrics, filters,
    reconstructions and a checkpoint to ``config.out``. Returns the metrics."""
    start = time.perf_counter()
    images, labels = load_digits()
    x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=config.seed)
    to_maps = lambda a: np.asarray(upsample(jnp.asarray(a.reshape(-1, 8, 8, 1)), 2))  # noqa: E731
    x_train, x_test = to_maps(x_train), to_maps(x_test)
    model = ConvPC(
        (16, 16, 1),
        config.n_features,
        key=jax.random.key(config.seed),
        kernel=config.kernel,
        T=config.T,
        tau_m=config.tau_m,
        prior=("laplacian", config.gamma),
        eta=config.eta,
    )
    out = prepare_out(config.out)  # after every check of the configuration
    opt = model.optimizer()

    def step(carry, x):
        m, s = carry
        m, s, metrics = m.train_step(s, x, optimizer=opt)
        return (m, s), metrics

    # the model's constants (tau_m, dt, sigma, the prior's gamma) are compiled in, as in
    # pcn_trainer; only the filters and the optimiser state move
    dynamic = (plasticity.plastic_mask(model), True)
    trainer = FlatStep(step, (model, model.init_optimizer(opt)), dynamic=dynamic)
    reconstruct = jax.jit(ConvPC.reconstruct)
    rng = np.random.default_rng(config.seed)
    n_batches = len(x_train) // config.batch_size
    if n_batches == 0:
        raise ValueError(f"`batch_size` {config.batch_size} exceeds the {len(x_train)} samples.")
    history: dict[str, list[float]] = {"recon_error": [], "test_recon_error": [], "energy": []}
    bar = Progress("conv-pc", config.epochs * n_batches, unit="batch", enabled=progress)
    bar.start()
    try:
        for epoch in range(config.epochs):
            order = rng.permutation(len(x_train))
            errs, energies = [], []
            for b in range(n_batches):
                idx = order[b * config.batch_size : (b + 1) * config.batch_size]
                metrics = trainer(jnp.asarray(x_train[idx]))
                errs.append(metrics.recon_error)
                energies.append(metrics.energy)
                bar.update(1)
            model = trainer.state[0]
            check_finite_epoch("energy", energies, model.synapse, epoch, where="conv-pc")
            test_err = float(
                jnp.sum(jnp.square(reconstruct(model, jnp.asarray(x_test)) - x_test)) / len(x_test)
            )
            history["recon_error"].append(float(np.mean(jax.device_get(errs))))
            history["energy"].append(float(np.mean(jax.device_get(energies))))
            history["test_recon_error"].append(test_err)
            message = (
                f"epoch {epoch + 1:3d}/{config.epochs}  recon error "
                f"{history['recon_error'][-1]:.4f}  test {test_err:.4f}  "
                f"energy {history['energy'][-1]:.4f}"
            )
            bar.epoch(message)
    finally:
        bar.close()
    first, last = history["recon_error"][0], history["recon_error"][-1]
    results = {
        "model": "conv-pc",
        "config": _jsonable(dataclasses.asdict(config)),
        "history": history,
        "recon_error_drop": first / max(last, 1e-12),
        "final_test_recon_error": history["test_recon_error"][-1],
        "wall_time_s": time.perf_counter() - start,
        "step_compilations": trainer.compilations,
    }
    io.save(out / "model.ckpt", model, config=results["config"])
    (out / "metrics.json").write_text(json.dumps(results, indent=2, allow_nan=False))
    viz = viz_or_warn() if config.plots else None
    if viz is not None:
        viz.plot_filters(model.synapse.weights, out / "filters.png")
        sample = jnp.asarray(x_test[:10])
        viz.plot_reconstructions(sample, reconstruct(model, sample), out / "reconstructions.png")
        viz.plot_learning_curve(
            {"train": history["recon_error"], "test": history["test_recon_error"]},
            out / "learning_curve.png",
            title="conv PC: reconstruction error per image",
        )
    return results


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj
