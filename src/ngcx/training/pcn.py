"""``ngcx train pcn``: the discriminative predictive coding network (ngc-museum
``pc_discrim``) on labelled images.

Sizes: ``(n_features, *hidden, n_classes)`` of the data (64-128-128-10 on the embedded
digits, 784-...-10 on MNIST). Each step settles the latents for ``T`` steps on a batch and
applies the Hebbian updates with the optimiser ``optim_type`` (learning rate ``eta``);
after each epoch the train and test accuracies are measured. Plots:
``learning_curve.png``, ``confusion_matrix.png``, ``receptive_fields.png``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from .._flat import FlatStep
from ..models import PCN
from ._classifier import (
    accuracy,
    classifier_final,
    classifier_summary,
    one_hot_batch,
    plot_classifier,
)
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["PCNConfig", "PCNTask", "pcn_trainer"]


@dataclasses.dataclass(frozen=True)
class PCNConfig(TrainConfig):
    """Configuration of ``ngcx train pcn`` (defaults: ngc-museum's ``pc_discrim`` setup,
    scaled to the 8x8 digits)."""

    hidden: tuple[int, ...] = field((128, 128), "hidden layer sizes")
    T: int = field(20, "E-step length (settling steps per batch)")
    tau_m: float = field(20.0, "latent membrane time constant (ms)")
    dt: float = field(1.0, "integration step (ms)")
    act_fx: str = field("relu", "latent activation (a name of ngcx.activations)")
    eta: float = field(1e-3, "learning rate")
    optim_type: str = field("adam", "optimiser", choices=("sgd", "adam", "nag"))
    epochs: int = field(30, "training epochs (passes over the training set)")
    out: str = field("runs/pcn", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, positive=("hidden", "T", "tau_m", "dt", "eta"))
        from ..activations import ACTIVATIONS

        if self.act_fx not in ACTIVATIONS:
            raise ValueError(
                f"`act_fx` (--act-fx) must be one of {', '.join(sorted(ACTIVATIONS))}, "
                f"got {self.act_fx!r}."
            )


def pcn_trainer(
    model: PCN,
    optimizer: Any = None,
    opt_state: Any = None,
    parallel: Any = None,
    fold_constants: bool = True,
) -> FlatStep:
    """A :class:`ngcx.FlatStep` over ``(model, opt_state)``: ``metrics = trainer(x, y)``
    runs one jitted training step; ``trainer.state`` is ``(model, opt_state)``. With
    `parallel` (a :class:`ngcx.parallel.DataParallel`) the state is replicated over its
    devices (pass batches through ``parallel.shard_batch``).

    `fold_constants` (default) compiles the model's non-plastic leaves (``tau_m``, ``dt``,
    ``sigma``, ``eta``, the synapses' ``resist_scale``) into the step as constants and
    passes only the weights, biases and optimiser state: measured with
    ``python benchmarks/pcn.py`` on this machine's CPU it makes a batch-1 step about 15%
    faster. Pass ``False`` to keep every leaf an argument (e.g. to change a time constant
    between calls without rebuilding the trainer)."""
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


@final
class PCNTask(AbstractTask[PCNConfig]):
    """``ngcx train pcn`` (see the module docstring)."""

    name: ClassVar[str] = "pcn"
    description: ClassVar[str] = "discriminative predictive coding network (pc_discrim)"
    config_cls: ClassVar[type[TrainConfig]] = PCNConfig

    def _model(self, run: Run[PCNConfig]) -> PCN:
        c, d = run.config, run.data
        return PCN(
            (d.n_features, *c.hidden, d.n_classes),
            key=run.init_key,
            T=c.T,
            tau_m=c.tau_m,
            dt=c.dt,
            act_fx=c.act_fx,
            eta=c.eta,
            optim_type=c.optim_type,
        )

    def init(self, run: Run[PCNConfig]) -> Any:
        model = self._model(run)
        return (model, model.init_optimizer(model.optimizer()))

    def to_step_batch(self, run: Run[PCNConfig], arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        return one_hot_batch(arrays, run.data.n_classes)

    def step(self, run: Run[PCNConfig], state: Any, batch: tuple[Any, ...], key: Any) -> Any:
        return self.make_step(run, state)(state, batch, key)

    def make_step(self, run: Run[PCNConfig], state: Any) -> Any:
        optimizer = state[0].optimizer()  # built once from the concrete hyperparameters

        def step(state: Any, batch: tuple[Any, ...], key: Any) -> Any:
            (model, opt_state), (x, y) = state, batch
            model, opt_state, metrics = model.train_step(opt_state, x, y, optimizer=optimizer)
            return (model, opt_state), {"energy": metrics.energy}

        return step

    def constants(self, run: Run[PCNConfig], state: Any) -> Any:
        return (plasticity.plastic_mask(state[0]), True)

    def _predict(self, model: PCN, x: Any) -> np.ndarray:
        return np.asarray(_predict(model, jnp.asarray(x))).argmax(-1)

    def evaluate(self, run: Run[PCNConfig], state: Any, key: Any) -> dict[str, float]:
        d, model = run.data, state[0]
        return {
            "train_acc": accuracy(d.y_train, self._predict(model, d.x_train)),
            "test_acc": accuracy(d.y_test, self._predict(model, d.x_test)),
        }

    def final(self, run: Run[PCNConfig], state: Any, key: Any) -> dict[str, Any]:
        d, model = run.data, state[0]
        return classifier_final(
            d.y_train,
            self._predict(model, d.x_train),
            d.y_test,
            self._predict(model, d.x_test),
            d.n_classes,
        )

    def summary(self, final: dict[str, Any]) -> str:
        return classifier_summary(final)

    def plots(self, run: Run[PCNConfig], state: Any, history: Any, viz: Any) -> None:
        model, d, out = state[0], run.data, run.out
        final = self.final(run, state, run.final_key)
        plot_classifier(viz, out, history, final, f"PCN on {d.name}", loss="energy")
        if d.image_shape is not None:
            viz.plot_receptive_fields(
                np.asarray(model.synapses[0].weights), d.image_shape, out / "receptive_fields.png"
            )


_predict = jax.jit(PCN.predict)
