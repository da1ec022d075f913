"""``ngcx train ei-rnn``: an excitatory-inhibitory recurrent network learns next-step
prediction of a noisy sine wave online, by local eligibility-traced rules (ngc-museum's
``ei_rnn`` exhibit).

The data is the exhibit's generated series: ``length`` samples of $\\sin t$ on $[0, 10]$
plus Gaussian noise of standard deviation ``noise`` (drawn with ``data_seed``); the input
at step $t$ is the sample $t$, the target the sample $t + 1$. One epoch is one online pass
over the series (:meth:`ngcx.models.EIRNN.train_sequence`: the synapses change after every
time step), so the series is one batch. Evaluation replays the series without learning:
``rmse`` of the predictions against the targets, next to ``persistence_rmse`` (predicting
$y_{t+1} = y_t$), the mean excitatory and inhibitory recurrent currents, and
``dale_violations`` (recurrent connections whose sign is not their presynaptic unit's;
always 0). Plots: ``predictions.png``, ``learning_curve.png`` and
``recurrent_weights.png``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np

from ..models import EIRNN
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["EIRNNConfig", "EIRNNData", "EIRNNTask"]


@dataclasses.dataclass(frozen=True)
class EIRNNConfig(TrainConfig):
    """Configuration of ``ngcx train ei-rnn`` (defaults: the exhibit's)."""

    hidden: int = field(10, "hidden units (excitatory and inhibitory together)")
    exc_fraction: float = field(0.8, "share of excitatory hidden units (0.8: 4:1)")
    tau_x: float = field(100.0, "hidden membrane time constant (ms)")
    dt: float = field(10.0, "integration step (ms)")
    sigma_pre: float = field(0.1, "membrane noise scale")
    sigma_post: float = field(0.1, "rate noise scale")
    eta: float = field(2e-4, "learning rate")
    optim_type: str = field("adam", "optimiser", choices=("sgd", "adam", "nag"))
    tau_elg: float = field(400.0, "eligibility trace time constant (ms)")
    epochs: int = field(40, "training epochs (online passes over the series)")
    batch_size: int = field(1, "series per step (there is one: keep 1)")
    data: str = field("sine", "time series (a noisy sine wave, generated)", choices=("sine",))
    length: int = field(1000, "samples of the series")
    noise: float = field(0.025, "standard deviation of the noise added to the series")
    out: str = field("runs/ei-rnn", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("hidden", "tau_x", "dt", "tau_elg"),
            nonnegative=("sigma_pre", "sigma_post", "eta", "noise"),
            unit_open=("exc_fraction",),
        )
        if self.length < 3:
            raise ValueError(f"`length` (--length) must be >= 3, got {self.length!r}.")
        if self.batch_size != 1:
            raise ValueError(
                f"`batch_size` (--batch-size) must be 1 (the series is learnt online as one "
                f"sequence), got {self.batch_size!r}."
            )
        n_exc = int(self.exc_fraction * self.hidden)
        if not 0 < n_exc < self.hidden:
            raise ValueError(
                f"`exc_fraction` (--exc-fraction) {self.exc_fraction} of `hidden` "
                f"{self.hidden} must leave at least one excitatory and one inhibitory unit."
            )


@dataclasses.dataclass(frozen=True)
class EIRNNData:
    """The series: times ``t`` `(length,)`, inputs ``us`` and targets ``ys`` `(length - 1,
    1)`."""

    t: Any
    us: Any
    ys: Any


@final
class EIRNNTask(AbstractTask[EIRNNConfig]):
    """``ngcx train ei-rnn`` (see the module docstring)."""

    name: ClassVar[str] = "ei-rnn"
    description: ClassVar[str] = "excitatory-inhibitory RNN, online local learning (ei_rnn)"
    config_cls: ClassVar[type[TrainConfig]] = EIRNNConfig
    data_kinds: ClassVar[tuple[str, ...]] = ("sine",)
    shard_training: ClassVar[bool] = False

    def load_data(self, config: EIRNNConfig) -> EIRNNData:
        t = jnp.linspace(0.0, 10.0, config.length)
        eps = jax.random.normal(jax.random.key(config.data_seed), t.shape)
        y = (jnp.sin(t) + config.noise * eps)[:, None]
        return EIRNNData(t=t, us=y[:-1], ys=y[1:])

    def train_arrays(self, run: Run[EIRNNConfig]) -> tuple[Any, ...]:
        return (run.data.us[None], run.data.ys[None])

    def init(self, run: Run[EIRNNConfig]) -> Any:
        c = run.config
        model = EIRNN(
            1,
            c.hidden,
            1,
            key=run.init_key,
            exc_fraction=c.exc_fraction,
            tau_x=c.tau_x,
            dt=c.dt,
            sigma_pre=c.sigma_pre,
            sigma_post=c.sigma_post,
            eta=c.eta,
            optim_type=c.optim_type,
            tau_elg=c.tau_elg,
        )
        return (model, model.init_optimizer())

    def step(self, run: Run[EIRNNConfig], state: Any, batch: tuple[Any, ...], key: Any) -> Any:
        return self.make_step(run, state)(state, batch, key)

    def make_step(self, run: Run[EIRNNConfig], state: Any) -> Any:
        optimizer = state[0].optimizer()

        def step(state: Any, batch: tuple[Any, ...], key: Any) -> Any:
            (model, opt_state), (us, ys) = state, batch
            model, opt_state, m = model.train_sequence(
                opt_state, us[0], ys[0], key, optimizer=optimizer
            )
            return (model, opt_state), {"loss": m.loss, "train_rmse": m.rmse}

        return step

    def evaluate(self, run: Run[EIRNNConfig], state: Any, key: Any) -> dict[str, float]:
        model, d = state[0], run.data
        _, _, m = _run(model, d.us, d.ys, key)
        signed = np.asarray(model.recurrent_weights())
        sign = np.asarray(model.dale)[:, None]
        return {
            "rmse": float(m.rmse),
            "persistence_rmse": float(jnp.sqrt(jnp.mean(jnp.square(d.ys - d.us)))),
            "exc_current": float(m.exc_current),
            "inh_current": float(m.inh_current),
            "dale_violations": float(np.sum(signed * sign < 0)),
        }

    def plots(self, run: Run[EIRNNConfig], state: Any, history: Any, viz: Any) -> None:
        import matplotlib.pyplot as plt

        model, d, out = state[0], run.data, run.out
        outs, _, _ = _run(model, d.us, d.ys, run.final_key)
        t = np.asarray(d.t)[1:]
        fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
        ax.plot(t, np.asarray(d.ys)[:, 0], ".", ms=2, color="C3", label="target")
        ax.plot(t, np.asarray(outs)[:, 0], lw=1.2, color="C0", label="EI-RNN")
        ax.set(xlabel="t", ylabel="y(t + 1)", title="next-step prediction")
        ax.legend()
        fig.savefig(out / "predictions.png", dpi=100)
        plt.close(fig)
        viz.plot_learning_curve(
            {"train rmse": history["train_rmse"], "rmse": history["rmse"]},
            out / "learning_curve.png",
            title="EI-RNN",
        )
        w = np.asarray(model.recurrent_weights())
        lim = max(float(np.abs(w).max()), 1e-12)
        fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
        im = ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set(xlabel="postsynaptic unit", ylabel="presynaptic unit (E first, then I)")
        fig.colorbar(im, ax=ax)
        fig.savefig(out / "recurrent_weights.png", dpi=100)
        plt.close(fig)


_run = jax.jit(EIRNN.run)
