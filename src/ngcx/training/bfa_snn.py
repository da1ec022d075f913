"""``ngcx train bfa-snn``: a spiking classifier trained by broadcast feedback alignment
(:class:`ngcx.models.BFASNN`; ngc-museum ``bfa_snn``, Samadi et al. 2017).

Bernoulli input spikes drive SLIF hidden and output layers; the output error reaches the
hidden layer through a fixed random feedback matrix and both layers learn by local
Hebbian updates at every step of each presentation. Accuracy is that of the output cells'
mean input current after the burn-in. The defaults follow the exhibit (1000 hidden cells,
``T=100`` steps of ``dt=0.25`` ms, ``tau_m=20`` ms, threshold 0.4, Samadi et al.'s
per-layer rates) except, for the 8x8 digits, a full-intensity pixel spikes every step
(``input_gain=1``; the exhibit uses 0.25 on MNIST), the rates are scaled by ``eta=0.25``
and batches hold 50 samples (the exhibit: 250 on MNIST, where it reports 96.3% test
accuracy). The weights change at every step within a batch, so training runs on one
device. ``evaluate`` reports train/test accuracy and the hidden layer's mean spike rate
(Hz) on the test set. Plots: ``learning_curve.png``, ``confusion_matrix.png``,
``spike_raster.png`` (hidden layer, one test digit).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import BFASNN, BFAResponse
from ._classifier import accuracy, classifier_final, classifier_summary
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["BFASNNConfig", "BFASNNTask"]

#: samples per evaluation call (a fixed shape: one compilation for any data size)
_EVAL_CHUNK = 512


@dataclasses.dataclass(frozen=True)
class BFASNNConfig(TrainConfig):
    """Configuration of ``ngcx train bfa-snn`` (see the module docstring)."""

    hidden: int = field(1000, "hidden SLIF cells")
    T: int = field(100, "presentation length (steps of dt)")
    dt: float = field(0.25, "integration step (ms)")
    tau_m: float = field(20.0, "membrane time constant of the SLIF cells (ms)")
    thr: float = field(0.4, "spike threshold of the SLIF cells")
    burn_in: int = field(20, "first steps of a presentation without learning or readout")
    input_gain: float = field(
        1.0, "spike probability per step of a full-intensity input (the exhibit: 0.25 on MNIST)"
    )
    eta: float = field(
        0.25, "learning-rate scale: layer rates eta/n_in and eta/hidden (Samadi et al.: 1)"
    )
    optim_type: str = field("sgd", "optimiser", choices=("sgd", "adam", "nag"))
    epochs: int = field(10, "training epochs (passes over the training set)")
    batch_size: int = field(50, "samples per training step (updates are summed over it)")
    out: str = field("runs/bfa-snn", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("hidden", "T", "dt", "tau_m"),
            nonnegative=("burn_in", "eta"),
        )
        if not 0 < self.input_gain <= 1:
            raise ValueError(
                f"`input_gain` (--input-gain) must be in (0, 1], got {self.input_gain!r}."
            )
        if self.burn_in >= self.T:
            raise ValueError(
                f"`burn_in` (--burn-in) must be smaller than `T` ({self.T}), got {self.burn_in}."
            )


@final
class BFASNNTask(AbstractTask[BFASNNConfig]):
    """``ngcx train bfa-snn`` (see the module docstring)."""

    name: ClassVar[str] = "bfa-snn"
    description: ClassVar[str] = (
        "spiking network trained by broadcast feedback alignment (ngc-museum bfa_snn)"
    )
    config_cls: ClassVar[type[TrainConfig]] = BFASNNConfig
    shard_training: ClassVar[bool] = False

    def init(self, run: Run[BFASNNConfig]) -> Any:
        c, d = run.config, run.data
        model = BFASNN(
            d.n_features, c.hidden, d.n_classes, key=run.init_key, T=c.T, dt=c.dt,
            tau_m=c.tau_m, thr=c.thr, input_gain=c.input_gain, burn_in=c.burn_in, eta=c.eta,
        )  # fmt: skip
        return (model, model.init_optimizer(model.optimizer(c.optim_type)))

    def step(self, run: Run[BFASNNConfig], state: Any, batch: Any, key: Any) -> Any:
        model, opt_state = state
        x, y = batch
        optimizer = model.optimizer(run.config.optim_type)
        model, opt_state, out = model.train_batch(opt_state, x, y, key, optimizer)
        acc = jnp.mean((jnp.argmax(out.logits, axis=-1) == y).astype(x.dtype))
        return (model, opt_state), {"batch_acc": acc, "batch_rate_hz": _rate_hz(model, out)}

    def watched(self, state: Any) -> Any:
        return (state[0].W1, state[0].W2)

    def _responses(self, model: BFASNN, x: np.ndarray, key: Any) -> tuple[np.ndarray, float]:
        """Predictions for `x` (in fixed-size chunks, the last one padded) and the hidden
        layer's mean spike rate (Hz)."""
        preds, rates = [], []
        for i, start in enumerate(range(0, len(x), _EVAL_CHUNK)):
            chunk = x[start : start + _EVAL_CHUNK]
            n = len(chunk)
            if n < _EVAL_CHUNK:  # one shape, one compilation
                chunk = np.concatenate([chunk, np.zeros((_EVAL_CHUNK - n, x.shape[1]), x.dtype)])
            pred, rate = _respond(model, jnp.asarray(chunk), jax.random.fold_in(key, i))
            preds.append(np.asarray(pred)[:n])
            rates.append(np.asarray(rate)[:n])
        return np.concatenate(preds), float(np.concatenate(rates).mean())

    def constants(self, run: Run[BFASNNConfig], state: Any) -> Any:
        # everything but the two learned layers (the feedback matrix B, the cells' and
        # the encoder's constants, the rates) compiled in: benchmarks/bfa_snn.py measured
        # 1.20-1.33 of the plain-JAX twin with them as arguments, 0.98-1.07 folded
        model = state[0]
        spec = jax.tree_util.tree_map(lambda _: False, model)
        learned = lambda m: (m.W1.weights, m.W1.biases, m.W2.weights, m.W2.biases)  # noqa: E731
        return (eqx.tree_at(learned, spec, (True, True, True, True)), True)

    def evaluate(self, run: Run[BFASNNConfig], state: Any, key: Any) -> dict[str, float]:
        d, model = run.data, state[0]
        k1, k2 = jax.random.split(key)
        pred_train, _ = self._responses(model, d.x_train, k1)
        pred_test, rate = self._responses(model, d.x_test, k2)
        return {
            "train_acc": accuracy(d.y_train, pred_train),
            "test_acc": accuracy(d.y_test, pred_test),
            "spike_rate_hz": rate,
        }

    def final(self, run: Run[BFASNNConfig], state: Any, key: Any) -> dict[str, Any]:
        d, model = run.data, state[0]
        k1, k2 = jax.random.split(key)
        pred_train, _ = self._responses(model, d.x_train, k1)
        pred_test, rate = self._responses(model, d.x_test, k2)
        return classifier_final(
            d.y_train, pred_train, d.y_test, pred_test, d.n_classes, spike_rate_hz=rate
        )

    def summary(self, final: dict[str, Any]) -> str:
        return classifier_summary(final) + f", hidden spike rate {final['spike_rate_hz']:.1f} Hz"

    def plots(self, run: Run[BFASNNConfig], state: Any, history: Any, viz: Any) -> None:
        model, d, c, out = state[0], run.data, run.config, run.out
        curves = {
            k.replace("_", " "): history[k] for k in ("train_acc", "test_acc") if k in history
        }
        if "spike_rate_hz" in history:
            curves["spike rate (Hz)"] = history["spike_rate_hz"]
        viz.plot_learning_curve(
            curves, out / "learning_curve.png", title="BFA-SNN",
            secondary=tuple(k for k in curves if k.endswith("acc")), ylabel="spike rate (Hz)",
        )  # fmt: skip
        final = self.final(run, state, run.final_key)
        viz.plot_confusion_matrix(
            np.asarray(final["confusion_matrix"]), out / "confusion_matrix.png",
            title="BFA-SNN, test set",
        )  # fmt: skip
        key = jax.random.fold_in(run.final_key, 1)
        rec = _record(model, jnp.asarray(d.x_test[:1]), key)
        viz.plot_spike_raster(
            np.asarray(rec.hid_spikes)[:, 0, : min(c.hidden, 200)],
            out / "spike_raster.png",
            dt=c.dt,
            title=f"hidden layer spikes (first 200 cells), digit {int(d.y_test[0])}",
        )


def _rate_hz(model: BFASNN, out: BFAResponse) -> jax.Array:
    """Mean hidden spike rate (Hz) of a response."""
    duration_s = model.T * model.dt.astype(out.hid_counts.dtype) / 1000.0
    return jnp.mean(out.hid_counts) / duration_s


@eqx.filter_jit
def _respond(model: BFASNN, x: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    out = model.respond(x, key)
    duration_s = model.T * model.dt.astype(x.dtype) / 1000.0
    return jnp.argmax(out.logits, axis=-1), jnp.mean(out.hid_counts, axis=-1) / duration_s


_record = eqx.filter_jit(lambda m, x, k: m.respond(x, k, record=True))
