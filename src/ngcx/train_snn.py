"""Training loops for the spiking flagship models (``ngcx train snn-stdp`` and
``ngcx train snn-surrogate``).

:func:`train_snn_stdp` trains :class:`ngcx.models.DiehlCook` on the embedded digits with
trace STDP, one sample at a time, then labels its excitatory cells from their responses to
the training set and reports the class-assignment accuracy on the test set. It writes
``metrics.json``, ``model.ckpt``, ``spike_raster.png`` (input and excitatory spikes for
one test digit), ``receptive_fields.png`` (the learned input weights of every cell) and
``confusion_matrix.png``.

:func:`train_snn_surrogate` trains :class:`ngcx.models.SurrogateSNN` by backpropagation
through time with the surrogate named in its config; it writes ``metrics.json``,
``model.ckpt``, ``learning_curve.png``, ``confusion_matrix.png`` and
``spike_raster.png`` (hidden layer, one test digit).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import learning
from ._flat import FlatStep
from ._plotting import viz_or_warn
from ._progress import Progress
from ._runs import check_fields, check_finite_epoch, prepare_out
from .models import DiehlCook, SurrogateSNN
from .surrogates import SURROGATES
from .train import _parallel, digits_split, finish_classifier


__all__ = [
    "SNNSTDPConfig",
    "train_snn_stdp",
    "SNNSurrogateConfig",
    "surrogate_trainer",
    "train_snn_surrogate",
]


@dataclasses.dataclass(frozen=True)
class SNNSTDPConfig:
    """Configuration of ``ngcx train snn-stdp`` (Diehl & Cook on 8x8 digits).

    ``wnorm`` is the L1 norm of each excitatory cell's input weights: Diehl & Cook use
    ``0.1 * n_in`` = 78.4 on MNIST, whose digits light ~5x more input spikes per ms than
    the 8x8 digits here, so the default is raised to 20 for a comparable drive.

    ``devices``: STDP learns online, one digit after another, so training runs on one
    device; the evaluation (every training and test digit presented without learning) is
    sharded over the devices and equals the single-device result."""

    n_hid: int = 100
    T: int = 200
    dt: float = 1.0
    epochs: int = 6
    A_plus: float = 1e-2
    A_minus: float = 1e-4
    tau_tr: float = 20.0
    theta_plus: float = 0.05
    wnorm: float = 20.0
    target_freq: float = 63.75
    seed: int = 0
    test_fraction: float = 0.2
    out: str = "runs/snn-stdp"
    plots: bool = True
    devices: int | None = None  # evaluation sharded over devices (None: all when several)

    def __post_init__(self):
        check_fields(
            self,
            positive=("n_hid", "T", "epochs", "dt", "tau_tr", "wnorm", "target_freq"),
            nonnegative=("A_plus", "A_minus", "theta_plus"),
            unit_open=("test_fraction",),
            at_least_one=("devices",),
        )


def _respond(model: DiehlCook, x: np.ndarray, key: Any, parallel: Any) -> jax.Array:
    """``model.respond`` on `x`, sharded over ``parallel``'s devices when given (the batch
    padded to a multiple of the device count; responses do not depend on the padding)."""
    respond = eqx.filter_jit(DiehlCook.respond)
    if parallel is None:
        return respond(model, jnp.asarray(x), key)
    n = len(x)
    pad = -n % parallel.n_devices
    xp = np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)]) if pad else x
    (xs,) = parallel.shard_batch(xp)
    return respond(parallel.replicate(model), xs, key)[:n]


def _stdp_accuracy(
    model: DiehlCook, x_train, y_train, x_test, y_test, key, parallel=None
) -> dict[str, Any]:
    k1, k2 = jax.random.split(key)
    c_train = _respond(model, x_train, k1, parallel)
    c_test = _respond(model, x_test, k2, parallel)
    assignments = DiehlCook.assign_labels(c_train, jnp.asarray(y_train), 10)
    pred_train = np.asarray(DiehlCook.classify(c_train, assignments, 10))
    pred_test = np.asarray(DiehlCook.classify(c_test, assignments, 10))
    return {
        "train_acc": float((pred_train == y_train).mean()),
        "test_acc": float((pred_test == y_test).mean()),
        "pred_test": pred_test,
        "assignments": np.asarray(assignments),
        "mean_test_spikes": float(jnp.mean(jnp.sum(c_test, axis=1))),
    }


def train_snn_stdp(
    config: SNNSTDPConfig = SNNSTDPConfig(), progress: bool = True
) -> dict[str, Any]:
    """Train and evaluate the Diehl & Cook network; write metrics, plots and a checkpoint
    to ``config.out``. Returns the metrics."""
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = digits_split(config)
    out = prepare_out(config.out)
    key = jax.random.key(config.seed)
    mkey, key = jax.random.split(key)
    model = DiehlCook(
        64,
        config.n_hid,
        key=mkey,
        T=config.T,
        dt=config.dt,
        target_freq=config.target_freq,
        tau_tr=config.tau_tr,
        A_plus=config.A_plus,
        A_minus=config.A_minus,
        theta_plus=config.theta_plus,
        wnorm=config.wnorm,
    )
    opt_state = learning.init_optimizer(model.optimizer(), model.W)

    def step(carry, x, k):
        m, s = carry
        m, s, result = m.train_sample(s, x, k)
        return (m, s), result.counts.sum()

    trainer = FlatStep(step, (model, opt_state))
    parallel = _parallel(config.devices, None)
    rng = np.random.default_rng(config.seed)
    history: dict[str, list[float]] = {"spikes_per_sample": [], "train_acc": [], "test_acc": []}
    bar = Progress("snn-stdp", config.epochs * len(x_train), unit="sample", enabled=progress)
    bar.start()
    try:
        for epoch in range(config.epochs):
            counts = []
            keys = jax.random.split(jax.random.fold_in(key, epoch), len(x_train))
            for i, idx in enumerate(rng.permutation(len(x_train))):
                counts.append(trainer(jnp.asarray(x_train[idx]), keys[i]))
                bar.update(1)
            model = trainer.state[0]
            check_finite_epoch("spike count", counts, model.W, epoch, where="snn-stdp")
            acc = _stdp_accuracy(
                model,
                x_train,
                y_train,
                x_test,
                y_test,
                jax.random.fold_in(key, 10_000 + epoch),
                parallel,
            )
            history["spikes_per_sample"].append(float(np.mean(jax.device_get(counts))))
            history["train_acc"].append(acc["train_acc"])
            history["test_acc"].append(acc["test_acc"])
            message = (
                f"epoch {epoch + 1:3d}/{config.epochs}  spikes/sample "
                f"{history['spikes_per_sample'][-1]:.2f}  train acc {acc['train_acc']:.4f}  "
                f"test acc {acc['test_acc']:.4f}"
            )
            bar.epoch(message)
    finally:
        bar.close()
    results = finish_classifier(
        "snn-stdp", config, model, history, y_test, acc["pred_test"], start,
        trainer.compilations, mean_test_spikes=acc["mean_test_spikes"],
        class_counts=np.bincount(acc["assignments"], minlength=10).tolist(),
        devices=1 if parallel is None else parallel.n_devices,
    )  # fmt: skip
    cmatrix = np.asarray(results["confusion_matrix"])
    viz = viz_or_warn() if config.plots else None
    if viz is not None:
        _, _, rec = eqx.filter_jit(lambda m, s, x, k: m.train_sample(s, x, k, record=True))(
            model, trainer.state[1], jnp.asarray(x_test[0]), jax.random.fold_in(key, 99_999)
        )
        spikes = np.concatenate([np.asarray(rec.input_spikes), np.asarray(rec.exc_spikes)], 1)
        viz.plot_spike_raster(
            spikes,
            out / "spike_raster.png",
            dt=config.dt,
            title=f"digit {int(y_test[0])}: inputs 0-63, excitatory cells 64-{63 + config.n_hid}",
        )
        viz.plot_receptive_fields(
            np.asarray(model.W.weights),
            (8, 8),
            out / "receptive_fields.png",
            max_fields=config.n_hid,
            title="learned receptive fields (STDP)",
        )
        viz.plot_confusion_matrix(
            cmatrix, out / "confusion_matrix.png", title="Diehl & Cook SNN, test set"
        )
    return results


@dataclasses.dataclass(frozen=True)
class SNNSurrogateConfig:
    """Configuration of ``ngcx train snn-surrogate`` (64-128-10 LIF network on digits).

    ``learn_dynamics``: train a per-neuron membrane time constant and threshold in both
    layers with the weights (a parametric LIF network, see
    :class:`ngcx.models.SurrogateSNN`); ``metrics.json`` then also reports the learned
    values (``dynamics``)."""

    n_hid: int = 128
    T: int = 25
    dt: float = 1.0
    tau_m: float = 5.0
    surrogate: str = "arctan"
    learn_dynamics: bool = dataclasses.field(
        default=False,
        metadata={
            "help": "also learn a per-neuron membrane time constant and threshold "
            "(parametric LIF) by BPTT with the weights"
        },
    )
    encoding: str = "poisson"
    lr: float = 2e-3
    batch_size: int = 64
    epochs: int = 20
    seed: int = 0
    test_fraction: float = 0.2
    out: str = "runs/snn-surrogate"
    plots: bool = True
    devices: int | None = None  # None: all local devices when there are several

    def __post_init__(self):
        check_fields(
            self,
            positive=("n_hid", "T", "epochs", "batch_size", "dt", "tau_m", "lr"),
            unit_open=("test_fraction",),
            at_least_one=("devices",),
        )
        if self.encoding not in ("current", "poisson"):
            raise ValueError(f"`encoding` must be 'current' or 'poisson', got {self.encoding!r}.")
        if not isinstance(self.learn_dynamics, bool):
            raise ValueError(f"`learn_dynamics` must be a bool, got {self.learn_dynamics!r}.")
        if self.surrogate not in SURROGATES:
            raise ValueError(
                f"`surrogate` must be one of {', '.join(sorted(SURROGATES))}, "
                f"got {self.surrogate!r}."
            )


def _dynamics_summary(model: SurrogateSNN) -> dict[str, dict[str, float]]:
    """Mean, min and max of each layer's membrane time constant (ms) and threshold."""
    summary = {}
    for layer in ("hidden", "output"):
        cell = getattr(model, layer)
        for name in ("tau_m", "thr"):
            values = np.asarray(getattr(cell, name), np.float64)
            summary[f"{layer}_{name}"] = {
                "mean": float(values.mean()), "min": float(values.min()),
                "max": float(values.max()),
            }  # fmt: skip
    return summary


def surrogate_trainer(
    model: SurrogateSNN,
    optimizer: optax.GradientTransformation,
    parallel: Any = None,
    fold_constants: bool = True,
) -> FlatStep:
    """A :class:`ngcx.FlatStep` over ``(model, opt_state)``: ``loss = trainer(x, y, key)``
    takes one optax step on the gradient of :meth:`SurrogateSNN.loss` (BPTT through the
    surrogate spikes) with respect to the model's trainable leaves
    (:meth:`SurrogateSNN.trainable`: weights and biases, plus the cells' ``tau_m`` and
    ``thr`` with ``learn_dynamics``); the optimiser state covers only those.

    `fold_constants` (default) compiles every other leaf (``dt``, the cells' constants,
    ``logit_scale``) into the step as a constant: measured with
    ``python benchmarks/snn_surrogate.py`` on this machine's CPU, passing them as
    arguments made a step 20-29% slower than the plain-JAX twin (batch 64 and 256), and
    folding them brings it back to the twin (see the README's table)."""
    spec = model.trainable()
    params, _ = eqx.partition(model, spec)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    state = (model, opt_state)
    if parallel is not None:
        state = parallel.replicate(state)

    def loss_of(params: Any, static: Any, x: Any, y: Any, key: Any) -> Any:
        return SurrogateSNN.loss(eqx.combine(params, static), x, y, key)

    def step(carry, x, y, key):
        m, s = carry
        params, static = eqx.partition(m, spec)
        loss, grads = jax.value_and_grad(loss_of)(params, static, x, y, key)
        with jax.numpy_dtype_promotion("standard"):
            updates, s = optimizer.update(grads, s, params)
        return (eqx.combine(eqx.apply_updates(params, updates), static), s), loss

    dynamic = (spec, True) if fold_constants else None
    return FlatStep(step, state, dynamic=dynamic)


def train_snn_surrogate(
    config: SNNSurrogateConfig = SNNSurrogateConfig(), progress: bool = True
) -> dict[str, Any]:
    """Train the surrogate-gradient SNN; write metrics, plots and a checkpoint to
    ``config.out``. Returns the metrics."""
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = digits_split(config)
    if len(x_train) < config.batch_size:
        raise ValueError(f"`batch_size` {config.batch_size} exceeds the {len(x_train)} samples.")
    out = prepare_out(config.out)
    key = jax.random.key(config.seed)
    mkey, key = jax.random.split(key)
    model = SurrogateSNN(
        64,
        config.n_hid,
        10,
        key=mkey,
        T=config.T,
        dt=config.dt,
        tau_m=config.tau_m,
        surrogate_type=config.surrogate,
        encoding=config.encoding,
        learn_dynamics=config.learn_dynamics,
    )
    parallel = _parallel(config.devices, config.batch_size)
    trainer = surrogate_trainer(model, optax.adam(config.lr), parallel)
    predict = eqx.filter_jit(lambda m, x, k: jnp.argmax(m(x, k), axis=-1))
    rng = np.random.default_rng(config.seed)
    n_batches = len(x_train) // config.batch_size
    if n_batches == 0:
        raise ValueError(f"`batch_size` {config.batch_size} exceeds the {len(x_train)} samples.")
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": []}
    bar = Progress("snn-surrogate", config.epochs * n_batches, unit="batch", enabled=progress)

    def accuracy(m, x, y, k):
        return float((np.asarray(predict(m, jnp.asarray(x), k)) == y).mean())

    bar.start()
    try:
        for epoch in range(config.epochs):
            order = rng.permutation(len(x_train))
            losses = []
            ekey = jax.random.fold_in(key, epoch)
            for b in range(n_batches):
                idx = order[b * config.batch_size : (b + 1) * config.batch_size]
                xb, yb = jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx])
                if parallel is not None:
                    xb, yb = parallel.shard_batch(xb, yb)
                losses.append(trainer(xb, yb, jax.random.fold_in(ekey, b)))
                bar.update(1)
            model = trainer.state[0]
            check_finite_epoch("loss", losses, (model.W1, model.W2), epoch, where="snn-surrogate")
            ak = jax.random.fold_in(key, 10_000 + epoch)
            history["loss"].append(float(np.mean(jax.device_get(losses))))
            history["train_acc"].append(accuracy(model, x_train, y_train, ak))
            history["test_acc"].append(accuracy(model, x_test, y_test, ak))
            message = (
                f"epoch {epoch + 1:3d}/{config.epochs}  loss {history['loss'][-1]:.4f}  "
                f"train acc {history['train_acc'][-1]:.4f}  test acc {history['test_acc'][-1]:.4f}"
            )
            bar.epoch(message)
    finally:
        bar.close()
    pred = np.asarray(predict(model, jnp.asarray(x_test), jax.random.fold_in(key, 99_999)))
    results = finish_classifier(
        "snn-surrogate", config, model, history, y_test, pred, start, trainer.compilations,
        devices=1 if parallel is None else parallel.n_devices,
        learn_dynamics=config.learn_dynamics, dynamics=_dynamics_summary(model),
    )  # fmt: skip
    cmatrix = np.asarray(results["confusion_matrix"])
    viz = viz_or_warn() if config.plots else None
    if viz is not None:
        viz.plot_learning_curve(
            {
                "loss": history["loss"],
                "train acc": history["train_acc"],
                "test acc": history["test_acc"],
            },
            out / "learning_curve.png",
            title=f"surrogate-gradient SNN ({config.surrogate})",
            secondary=("train acc", "test acc"),
        )
        viz.plot_confusion_matrix(cmatrix, out / "confusion_matrix.png", title="SNN test set")
        hidden = model.hidden_spikes(jnp.asarray(x_test[:1]), jax.random.fold_in(key, 99_998))
        viz.plot_spike_raster(
            np.asarray(hidden[:, 0]),
            out / "spike_raster.png",
            dt=config.dt,
            title=f"hidden layer spikes, digit {int(y_test[0])}",
        )
    return results
