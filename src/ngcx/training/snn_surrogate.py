"""``ngcx train snn-surrogate``: a two-layer LIF network trained by backpropagation through
time with surrogate spike derivatives (:class:`ngcx.models.SurrogateSNN`).

``learn_dynamics`` also trains a per-neuron membrane time constant and threshold in both
layers (a parametric LIF network); ``metrics.json`` then reports the learned values
(``final["dynamics"]``). Plots: ``learning_curve.png``, ``confusion_matrix.png``,
``spike_raster.png`` (hidden layer, one test digit).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._flat import FlatStep
from ..models import SurrogateSNN
from ..surrogates import SURROGATES
from ._classifier import accuracy, classifier_final, classifier_summary, plot_classifier
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["SNNSurrogateConfig", "SNNSurrogateTask", "surrogate_trainer", "make_optimizer"]


@dataclasses.dataclass(frozen=True)
class SNNSurrogateConfig(TrainConfig):
    """Configuration of ``ngcx train snn-surrogate`` (64-128-10 LIF network on digits)."""

    hidden: int = field(128, "hidden LIF cells")
    T: int = field(25, "presentation length (steps of dt)")
    dt: float = field(1.0, "integration step (ms)")
    tau_m: float = field(5.0, "membrane time constant (ms)")
    surrogate: str = field("arctan", "surrogate spike derivative", choices=sorted(SURROGATES))
    learn_dynamics: bool = field(
        False,
        "also learn a per-neuron membrane time constant and threshold (parametric LIF) by "
        "BPTT with the weights",
    )
    encoding: str = field("poisson", "input encoding", choices=("current", "poisson"))
    eta: float = field(2e-3, "learning rate")
    optim_type: str = field("adam", "optimiser", choices=("sgd", "adam", "nag"))
    epochs: int = field(20, "training epochs (passes over the training set)")
    out: str = field("runs/snn-surrogate", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(self, positive=("hidden", "T", "dt", "tau_m", "eta"))


def make_optimizer(optim_type: str, eta: float) -> optax.GradientTransformation:
    """The optax optimiser named `optim_type` (``sgd``, ``adam``, ``nag`` = Nesterov
    momentum 0.9) with learning rate `eta`."""
    if optim_type == "sgd":
        return optax.sgd(eta)
    if optim_type == "adam":
        return optax.adam(eta)
    if optim_type == "nag":
        return optax.sgd(eta, momentum=0.9, nesterov=True)
    raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")


def _loss_of(params: Any, static: Any, x: Any, y: Any, key: Any) -> Any:
    return SurrogateSNN.loss(eqx.combine(params, static), x, y, key)


def _sgd_step(
    model: SurrogateSNN, opt_state: Any, optimizer: Any, x: Any, y: Any, key: Any
) -> tuple[SurrogateSNN, Any, Any]:
    spec = model.trainable()
    params, static = eqx.partition(model, spec)
    loss, grads = jax.value_and_grad(_loss_of)(params, static, x, y, key)
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = optimizer.update(grads, opt_state, params)
    return eqx.combine(eqx.apply_updates(params, updates), static), opt_state, loss


def _init_opt(model: SurrogateSNN, optimizer: Any) -> Any:
    params, _ = eqx.partition(model, model.trainable())
    with jax.numpy_dtype_promotion("standard"):
        return optimizer.init(params)


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
    state = (model, _init_opt(model, optimizer))
    if parallel is not None:
        state = parallel.replicate(state)

    def step(carry, x, y, key):
        m, s, loss = _sgd_step(carry[0], carry[1], optimizer, x, y, key)
        return (m, s), loss

    dynamic = (model.trainable(), True) if fold_constants else None
    return FlatStep(step, state, dynamic=dynamic)


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


@final
class SNNSurrogateTask(AbstractTask[SNNSurrogateConfig]):
    """``ngcx train snn-surrogate`` (see the module docstring)."""

    name: ClassVar[str] = "snn-surrogate"
    description: ClassVar[str] = "two-layer LIF network trained by surrogate-gradient BPTT"
    config_cls: ClassVar[type[TrainConfig]] = SNNSurrogateConfig

    def _optimizer(self, run: Run[SNNSurrogateConfig]) -> optax.GradientTransformation:
        return make_optimizer(run.config.optim_type, run.config.eta)

    def init(self, run: Run[SNNSurrogateConfig]) -> Any:
        c, d = run.config, run.data
        model = SurrogateSNN(
            d.n_features,
            c.hidden,
            d.n_classes,
            key=run.init_key,
            T=c.T,
            dt=c.dt,
            tau_m=c.tau_m,
            surrogate_type=c.surrogate,
            encoding=c.encoding,
            learn_dynamics=c.learn_dynamics,
        )
        return (model, _init_opt(model, self._optimizer(run)))

    def step(self, run: Run[SNNSurrogateConfig], state: Any, batch: Any, key: Any) -> Any:
        (model, opt_state), (x, y) = state, batch
        model, opt_state, loss = _sgd_step(model, opt_state, self._optimizer(run), x, y, key)
        return (model, opt_state), {"loss": loss}

    def constants(self, run: Run[SNNSurrogateConfig], state: Any) -> Any:
        return (state[0].trainable(), True)

    def watched(self, state: Any) -> Any:
        return (state[0].W1, state[0].W2)

    def _predict(self, model: SurrogateSNN, x: np.ndarray, key: Any) -> np.ndarray:
        return np.asarray(_predict(model, jnp.asarray(x), key))

    def evaluate(self, run: Run[SNNSurrogateConfig], state: Any, key: Any) -> dict[str, float]:
        d, model = run.data, state[0]
        return {
            "train_acc": accuracy(d.y_train, self._predict(model, d.x_train, key)),
            "test_acc": accuracy(d.y_test, self._predict(model, d.x_test, key)),
        }

    def final(self, run: Run[SNNSurrogateConfig], state: Any, key: Any) -> dict[str, Any]:
        d, model = run.data, state[0]
        return classifier_final(
            d.y_train, self._predict(model, d.x_train, key),
            d.y_test, self._predict(model, d.x_test, key), d.n_classes,
            learn_dynamics=run.config.learn_dynamics, dynamics=_dynamics_summary(model),
        )  # fmt: skip

    def summary(self, final: dict[str, Any]) -> str:
        return classifier_summary(final)

    def plots(self, run: Run[SNNSurrogateConfig], state: Any, history: Any, viz: Any) -> None:
        model, d, c, out = state[0], run.data, run.config, run.out
        final = self.final(run, state, run.final_key)
        plot_classifier(viz, out, history, final, f"surrogate-gradient SNN ({c.surrogate})", "loss")
        key = jax.random.fold_in(run.final_key, 1)
        hidden = model.hidden_spikes(jnp.asarray(d.x_test[:1]), key)
        viz.plot_spike_raster(
            np.asarray(hidden[:, 0]),
            out / "spike_raster.png",
            dt=c.dt,
            title=f"hidden layer spikes, digit {int(d.y_test[0])}",
        )


_predict = eqx.filter_jit(lambda m, x, k: jnp.argmax(m(x, k), axis=-1))
