r"""``ngcx train ti-stdp``: a two-layer spiking network learning digits without labels by
time-integrated STDP (ngc-museum's ``time-integrated-stdp``, Gebhardt & Ororbia 2024,
Case 1; model :class:`ngcx.models.TISTDPNetwork`, rule :class:`ngcx.plasticity.TISTDP`).

Each sample is shown for ``T`` steps of ``dt`` ms as Poisson spikes, both synapses learning
at every step (online: a step runs through its batch one sample at a time, on one device).
Evaluation, as in the exhibit, freezes learning and threshold adaptation, binds every cell
to the class it answers most on the first ``bind_samples`` training samples, and
classifies the test set by the cells' responses: ``test_acc`` reads layer 2 as Diehl &
Cook (the class whose cells spike most on average), ``test_acc_winner`` as the exhibit
(the class of the single most active layer-2 cell), ``test_acc_l1`` reads layer 1.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from ..models import DiehlCook, TISTDPNetwork, classify_by_winner
from ..plasticity import TISTDP
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


if TYPE_CHECKING:
    from types import ModuleType


__all__ = ["TISTDPConfig", "TISTDPTask"]


@dataclasses.dataclass(frozen=True)
class TISTDPConfig(TrainConfig):
    """Settings of ``ngcx train ti-stdp`` (the exhibit's MNIST run: ``--data mnist:DIR
    --hidden 625 225 --eta 1``)."""

    epochs: int = field(2, "training epochs (passes over the training set)")
    batch_size: int = field(50, "samples per step (learned one after another)")
    out: str = field("runs/ti-stdp", "output folder (config, metrics, checkpoint, plots)")
    hidden: tuple[int, ...] = field((100, 36), "excitatory cells of layer 1 and layer 2")
    T: int = field(250, "steps per sample")
    dt: float = field(1.0, "integration step (ms)")
    tau_m: float = field(100.0, "membrane time constant (ms)")
    eta: float = field(
        4.0,
        "scale of both synapses' TI-STDP rate alpha (1: the exhibit's MNIST rates; 4 learns "
        "the small digits set in fewer samples)",
    )
    target_freq: float = field(63.75, "input spike rate (Hz) of a full-intensity pixel")
    theta_plus: float = field(0.05, "threshold increment per spike (mV)")
    tau_theta: float = field(1e5, "threshold adaptation time constant (ms)")
    bind_samples: int = field(500, "training samples that bind cells to classes")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("dt", "tau_m", "eta", "target_freq", "tau_theta"),
            nonnegative=("theta_plus",),
            at_least_one=("hidden", "T", "bind_samples"),
        )
        if len(self.hidden) != 2:
            raise ValueError(
                f"`hidden` (--hidden) must be two sizes (layer 1, layer 2), got {self.hidden!r}."
            )


def _accuracy(pred: Any, labels: Any) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(labels)))


_respond = eqx.filter_jit(TISTDPNetwork.respond)


class TISTDPTask(AbstractTask[TISTDPConfig]):
    """The ``ti-stdp`` training command (see the module docstring)."""

    name: ClassVar[str] = "ti-stdp"
    description: ClassVar[str] = (
        "two-layer spiking network learning digits by time-integrated STDP (Gebhardt & Ororbia)"
    )
    config_cls: ClassVar[type[TrainConfig]] = TISTDPConfig
    shard_training: ClassVar[bool] = False

    def init(self, run: Run[TISTDPConfig]) -> Any:
        c = run.config
        alpha1, alpha2 = 0.0075 * 0.5 * c.eta, 0.025 * 2 * c.eta
        model = TISTDPNetwork(
            run.data.n_features, c.hidden[0], c.hidden[1], key=jax.random.fold_in(run.key, 0),
            T=c.T, dt=c.dt, target_freq=c.target_freq, tau_m=c.tau_m, tau_theta=c.tau_theta,
            theta_plus=c.theta_plus, rule1=TISTDP(alpha1, 1.25, 0.75),
            rule2=TISTDP(alpha2, 2.0, 0.125),
        )  # fmt: skip
        return model, model.init_optimizers()

    def step(
        self, run: Run[TISTDPConfig], state: Any, batch: tuple[Any, ...], key: Any
    ) -> tuple[Any, Any]:
        model, opt_states = state
        model, opt_states, (c1, c2) = model.train_samples(opt_states, batch[0], key)
        n1, n2 = c1.sum(-1), c2.sum(-1)
        metrics = {"spikes_l1": jnp.mean(n1), "spikes_l2": jnp.mean(n2)}
        return (model, opt_states), metrics

    def _counts(self, run: Run[TISTDPConfig], state: Any, key: Any) -> Any:
        model = self.model(state)
        n = min(run.config.bind_samples, len(run.data.x_train))
        # one call (one compilation) for the binding and the test samples
        x = jnp.asarray(np.concatenate([run.data.x_train[:n], run.data.x_test]))
        c1, c2 = _respond(model, x, key)
        return (c1[:n], c2[:n]), (c1[n:], c2[n:]), jnp.asarray(run.data.y_train[:n])

    def constants(self, run: Run[TISTDPConfig], state: Any) -> Any:
        # the rule's and cells' constants compiled in (benchmarks/ti_stdp.py: 1.16-1.19 of
        # the plain-JAX twin with them as arguments, 0.97-0.99 folded); the weights and both
        # layers' adaptive thresholds move
        mask = plasticity.plastic_mask(state[0])
        return (eqx.tree_at(lambda m: (m.theta1, m.theta2), mask, (True, True)), True)

    def evaluate(self, run: Run[TISTDPConfig], state: Any, key: Any) -> dict[str, float]:
        (b1, b2), (t1, t2), y_bind = self._counts(run, state, key)
        k = run.data.n_classes
        y_test = run.data.y_test
        pred2 = DiehlCook.classify(t2, DiehlCook.assign_labels(b2, y_bind, k), k)
        pred1 = DiehlCook.classify(t1, DiehlCook.assign_labels(b1, y_bind, k), k)
        return {
            "test_acc": _accuracy(pred2, y_test),
            "test_acc_winner": _accuracy(classify_by_winner(t2, b2, y_bind, k), y_test),
            "test_acc_l1": _accuracy(pred1, y_test),
            "test_spikes_l2": float(jnp.mean(t2.sum(-1))),
        }

    def plots(
        self, run: Run[TISTDPConfig], state: Any, history: dict[str, list[float]], viz: ModuleType
    ) -> None:
        model = self.model(state)
        W1 = np.asarray(model.W1.weights)
        if run.data.image_shape is not None:
            # each field minus its mean, on the diverging colour scale of ngcx.viz
            viz.plot_receptive_fields(
                W1 - W1.mean(0, keepdims=True), run.data.image_shape,
                run.out / "receptive_fields.png", max_fields=min(model.W1.shape[1], 100),
                title="TI-STDP layer-1 receptive fields (minus their means)",
            )  # fmt: skip
        curves = {
            k: history[k] for k in ("test_acc", "test_acc_winner", "test_acc_l1") if k in history
        }
        if curves:
            viz.plot_learning_curve(
                curves, run.out / "accuracy.png", title="class-assignment accuracy"
            )
        (b1, b2), (t1, t2), y_bind = self._counts(run, state, run.key)
        k = run.data.n_classes
        pred = np.asarray(DiehlCook.classify(t2, DiehlCook.assign_labels(b2, y_bind, k), k))
        matrix = np.zeros((k, k), np.int64)
        np.add.at(matrix, (np.asarray(run.data.y_test), pred), 1)
        viz.plot_confusion_matrix(matrix, run.out / "confusion.png", title="layer 2, test set")
