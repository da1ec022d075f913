"""``ngcx train hidden-pcn``: find a sub-network hidden in a randomly weighted predictive
coding network (ngc-museum's ``Hidden_PCN``) on labelled images.

The weights stay at their signed-constant initial values; each step settles the latents
on a batch and moves the synapses' scores by the Hebbian score rule (optimiser
``optim_type``, learning rate ``eta``), then keeps the fraction ``k`` of each layer's
synapses with the largest scores (:class:`ngcx.models.HiddenPCN`). The exhibit trains on
MNIST (``--data mnist:DIR`` reads it); the default is the embedded 8x8 digits, since
nothing is downloaded. Metrics: the energy, the sub-network's ``turnover`` per step and
the train/test accuracies of the sub-network's feed-forward pass. Plots:
``learning_curve.png``, ``confusion_matrix.png`` and ``receptive_fields.png`` (the first
layer's kept weights $W \\odot M$).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np

from ..models import HiddenPCN
from ._classifier import (
    accuracy,
    classifier_final,
    classifier_summary,
    one_hot_batch,
    plot_classifier,
)
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["HiddenPCNConfig", "HiddenPCNTask"]


@dataclasses.dataclass(frozen=True)
class HiddenPCNConfig(TrainConfig):
    """Configuration of ``ngcx train hidden-pcn`` (defaults: the exhibit's setup, with
    256-unit hidden layers for the 8x8 digits instead of 512 for MNIST)."""

    hidden: tuple[int, ...] = field((256, 256), "hidden layer sizes")
    k: float = field(0.5, "fraction of each layer's synapses kept in the sub-network")
    T: int = field(20, "E-step length (settling steps per batch)")
    tau_m: float = field(25.0, "latent membrane time constant (ms)")
    dt: float = field(1.0, "integration step (ms)")
    act_fx: str = field("relu", "latent activation (a name of ngcx.activations)")
    eta: float = field(1e-3, "learning rate of the scores")
    optim_type: str = field("adam", "optimiser of the scores", choices=("sgd", "adam", "nag"))
    epochs: int = field(10, "training epochs (passes over the training set)")
    out: str = field("runs/hidden-pcn", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, positive=("hidden", "T", "tau_m", "dt", "eta"))
        if not 0 < self.k <= 1:
            raise ValueError(f"`k` (--k) must be in (0, 1], got {self.k!r}.")
        from ..activations import ACTIVATIONS

        if self.act_fx not in ACTIVATIONS:
            raise ValueError(
                f"`act_fx` (--act-fx) must be one of {', '.join(sorted(ACTIVATIONS))}, "
                f"got {self.act_fx!r}."
            )


@final
class HiddenPCNTask(AbstractTask[HiddenPCNConfig]):
    """``ngcx train hidden-pcn`` (see the module docstring)."""

    name: ClassVar[str] = "hidden-pcn"
    description: ClassVar[str] = "sub-network of a random PCN found by Hebbian scores"
    config_cls: ClassVar[type[TrainConfig]] = HiddenPCNConfig

    def init(self, run: Run[HiddenPCNConfig]) -> Any:
        c, d = run.config, run.data
        model = HiddenPCN(
            (d.n_features, *c.hidden, d.n_classes),
            key=run.init_key,
            k=c.k,
            T=c.T,
            tau_m=c.tau_m,
            dt=c.dt,
            act_fx=c.act_fx,
            eta=c.eta,
            optim_type=c.optim_type,
        )
        return (model, model.init_optimizer())

    def to_step_batch(self, run: Run[HiddenPCNConfig], arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        return one_hot_batch(arrays, run.data.n_classes)

    def step(self, run: Run[HiddenPCNConfig], state: Any, batch: tuple[Any, ...], key: Any) -> Any:
        return self.make_step(run, state)(state, batch, key)

    def make_step(self, run: Run[HiddenPCNConfig], state: Any) -> Any:
        optimizer = state[0].optimizer()  # built once from the concrete hyperparameters

        def step(state: Any, batch: tuple[Any, ...], key: Any) -> Any:
            (model, opt_state), (x, y) = state, batch
            model, opt_state, m = model.train_step(opt_state, x, y, optimizer=optimizer)
            return (model, opt_state), {"energy": m.energy, "turnover": m.turnover}

        return step

    def _predict(self, model: HiddenPCN, x: Any) -> np.ndarray:
        return np.asarray(_predict(model, jnp.asarray(x))).argmax(-1)

    def evaluate(self, run: Run[HiddenPCNConfig], state: Any, key: Any) -> dict[str, float]:
        d, model = run.data, state[0]
        return {
            "train_acc": accuracy(d.y_train, self._predict(model, d.x_train)),
            "test_acc": accuracy(d.y_test, self._predict(model, d.x_test)),
        }

    def final(self, run: Run[HiddenPCNConfig], state: Any, key: Any) -> dict[str, Any]:
        d, model = run.data, state[0]
        kept = [float(jnp.mean(m)) for m in model.masks()]
        return classifier_final(
            d.y_train,
            self._predict(model, d.x_train),
            d.y_test,
            self._predict(model, d.x_test),
            d.n_classes,
            kept_fraction=kept,
        )

    def summary(self, final: dict[str, Any]) -> str:
        return classifier_summary(final)

    def plots(self, run: Run[HiddenPCNConfig], state: Any, history: Any, viz: Any) -> None:
        model, d, out = state[0], run.data, run.out
        final = self.final(run, state, run.final_key)
        plot_classifier(viz, out, history, final, f"hidden PCN on {d.name}", loss="energy")
        if d.image_shape is not None:
            w = model.subnetwork().synapses[0].weights
            viz.plot_receptive_fields(np.asarray(w), d.image_shape, out / "receptive_fields.png")


_predict = jax.jit(HiddenPCN.predict)
