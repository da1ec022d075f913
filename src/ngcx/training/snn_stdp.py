"""``ngcx train snn-stdp``: the Diehl & Cook spiking network (ngc-museum
``diehl_cook_snn``) learning its input weights by trace STDP, one sample at a time.

After each epoch every excitatory cell is labelled with the class it responds to most on
the training set (responses without learning), and samples are classified by the mean
response of each class's cells (class-assignment accuracy). STDP learns online, so
training runs on one device; the evaluation (every sample presented without learning) is
sharded over ``devices`` and equals the single-device result. Plots: ``spike_raster.png``
(inputs and excitatory spikes for one test digit), ``receptive_fields.png``,
``confusion_matrix.png``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import DiehlCook
from ._classifier import accuracy, classifier_final, classifier_summary
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["SNNSTDPConfig", "SNNSTDPTask"]


@dataclasses.dataclass(frozen=True)
class SNNSTDPConfig(TrainConfig):
    """Configuration of ``ngcx train snn-stdp`` (Diehl & Cook on 8x8 digits).

    ``wnorm`` is the L1 norm of each excitatory cell's input weights: Diehl & Cook use
    ``0.1 * n_in`` = 78.4 on MNIST, whose digits light ~5x more input spikes per ms than
    the 8x8 digits here, so the default is raised to 20 for a comparable drive."""

    hidden: int = field(100, "excitatory (and inhibitory) cells")
    T: int = field(200, "presentation length per sample (steps of dt)")
    dt: float = field(1.0, "integration step (ms)")
    A_plus: float = field(1e-2, "potentiation amplitude of trace STDP")
    A_minus: float = field(1e-4, "depression amplitude of trace STDP")
    tau_tr: float = field(20.0, "spike trace time constant (ms)")
    theta_plus: float = field(0.05, "adaptive threshold increment per spike (mV)")
    wnorm: float = field(20.0, "L1 norm of each excitatory cell's input weights")
    target_freq: float = field(63.75, "Poisson rate of a full-intensity pixel (Hz)")
    epochs: int = field(6, "training epochs (passes over the training set)")
    batch_size: int = field(1, "samples per step: 1 (STDP learns online)")
    out: str = field("runs/snn-stdp", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("hidden", "T", "dt", "tau_tr", "wnorm", "target_freq"),
            nonnegative=("A_plus", "A_minus", "theta_plus"),
        )
        if self.batch_size != 1:
            raise ValueError(
                f"`batch_size` (--batch-size) must be 1 for snn-stdp (STDP learns one sample "
                f"at a time), got {self.batch_size}."
            )


@final
class SNNSTDPTask(AbstractTask[SNNSTDPConfig]):
    """``ngcx train snn-stdp`` (see the module docstring)."""

    name: ClassVar[str] = "snn-stdp"
    description: ClassVar[str] = "Diehl & Cook spiking network, trace STDP (diehl_cook_snn)"
    config_cls: ClassVar[type[TrainConfig]] = SNNSTDPConfig
    unit: ClassVar[str] = "sample"
    shard_training: ClassVar[bool] = False

    def init(self, run: Run[SNNSTDPConfig]) -> Any:
        c = run.config
        model = DiehlCook(
            run.data.n_features,
            c.hidden,
            key=run.init_key,
            T=c.T,
            dt=c.dt,
            target_freq=c.target_freq,
            tau_tr=c.tau_tr,
            A_plus=c.A_plus,
            A_minus=c.A_minus,
            theta_plus=c.theta_plus,
            wnorm=c.wnorm,
        )
        return (model, model.init_optimizer(model.optimizer()))

    def train_arrays(self, run: Run[SNNSTDPConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def step(self, run: Run[SNNSTDPConfig], state: Any, batch: tuple[Any, ...], key: Any) -> Any:
        model, opt_state = state
        model, opt_state, result = model.train_sample(opt_state, batch[0][0], key)
        return (model, opt_state), {"spikes_per_sample": result.counts.sum()}

    def watched(self, state: Any) -> Any:
        return state[0].W

    def _responses(self, run: Run[SNNSTDPConfig], model: DiehlCook, x: np.ndarray, key: Any):
        """``model.respond`` on `x`, sharded over ``run.parallel``'s devices when given
        (the batch padded to a multiple of the device count; responses do not depend on
        the padding)."""
        parallel = run.parallel
        if parallel is None:
            return _respond(model, jnp.asarray(x), key)
        n = len(x)
        pad = -n % parallel.n_devices
        xp = np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)]) if pad else x
        (xs,) = parallel.shard_batch(xp)
        return _respond(parallel.replicate(model), xs, key)[:n]

    def _classify(self, run: Run[SNNSTDPConfig], state: Any, key: Any) -> dict[str, Any]:
        d, model = run.data, state[0]
        k1, k2 = jax.random.split(key)
        c_train = self._responses(run, model, d.x_train, k1)
        c_test = self._responses(run, model, d.x_test, k2)
        assignments = DiehlCook.assign_labels(c_train, jnp.asarray(d.y_train), d.n_classes)
        return {
            "pred_train": np.asarray(DiehlCook.classify(c_train, assignments, d.n_classes)),
            "pred_test": np.asarray(DiehlCook.classify(c_test, assignments, d.n_classes)),
            "assignments": np.asarray(assignments),
            "mean_test_spikes": float(jnp.mean(jnp.sum(c_test, axis=1))),
        }

    def evaluate(self, run: Run[SNNSTDPConfig], state: Any, key: Any) -> dict[str, float]:
        r, d = self._classify(run, state, key), run.data
        return {
            "train_acc": accuracy(d.y_train, r["pred_train"]),
            "test_acc": accuracy(d.y_test, r["pred_test"]),
        }

    def final(self, run: Run[SNNSTDPConfig], state: Any, key: Any) -> dict[str, Any]:
        r, d = self._classify(run, state, key), run.data
        return classifier_final(
            d.y_train, r["pred_train"], d.y_test, r["pred_test"], d.n_classes,
            mean_test_spikes=r["mean_test_spikes"],
            class_counts=np.bincount(r["assignments"], minlength=d.n_classes).tolist(),
        )  # fmt: skip

    def summary(self, final: dict[str, Any]) -> str:
        return classifier_summary(final)

    def plots(self, run: Run[SNNSTDPConfig], state: Any, history: Any, viz: Any) -> None:
        (model, opt_state), d, c, out = state, run.data, run.config, run.out
        key = jax.random.fold_in(run.final_key, 1)
        _, _, rec = eqx.filter_jit(lambda m, s, x, k: m.train_sample(s, x, k, record=True))(
            model, opt_state, jnp.asarray(d.x_test[0]), key
        )
        spikes = np.concatenate([np.asarray(rec.input_spikes), np.asarray(rec.exc_spikes)], 1)
        n_in = d.n_features
        viz.plot_spike_raster(
            spikes,
            out / "spike_raster.png",
            dt=c.dt,
            title=f"digit {int(d.y_test[0])}: inputs 0-{n_in - 1}, excitatory cells "
            f"{n_in}-{n_in + c.hidden - 1}",
        )
        if d.image_shape is not None:
            viz.plot_receptive_fields(
                np.asarray(model.W.weights),
                d.image_shape,
                out / "receptive_fields.png",
                max_fields=c.hidden,
                title="learned receptive fields (STDP)",
            )
        final = self.final(run, state, run.final_key)
        viz.plot_confusion_matrix(
            np.asarray(final["confusion_matrix"]), out / "confusion_matrix.png",
            title="Diehl & Cook SNN, test set",
        )  # fmt: skip


_respond = eqx.filter_jit(DiehlCook.respond)
