r"""``ngcx train sindy``: recover a known ODE's equations with SINDy (ngc-museum's
``sindy`` exhibit).

The data is one trajectory of a system of :data:`ngcx.models.SINDY_SYSTEMS` (``--data
lorenz``, ``linear_2D``, ``cubic_2D`` or ``linear_3D``) integrated with RK4, optionally
with Gaussian measurement noise (``--noise``, drawn with ``data_seed``), and its
derivatives estimated by central differences. The whole trajectory is one batch, so an
epoch is one step, and one step is one round of sequentially thresholded least squares
(:meth:`ngcx.models.SINDy.sparse_step`); a few epochs reach the fixed point.

Evaluation compares the recovered coefficients $\hat\Xi$ with the true $\Xi$:
``coef_error`` $= \lVert\hat\Xi - \Xi\rVert_F / \lVert\Xi\rVert_F$, ``max_rel_error``
(the largest relative error of a true non-zero coefficient), the support's
``precision``/``recall`` and ``derivative_r2`` (the fit of $\dot X$). The final metrics
also hold the recovered equations. The plot compares the true trajectory with the
recovered system's, integrated from the same initial state.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, final

import jax
import jax.numpy as jnp
import numpy as np

from ..models import SINDY_SYSTEMS, SINDy, central_difference
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["SINDyConfig", "SINDyData", "SINDyTask", "coefficient_metrics"]


@dataclasses.dataclass(frozen=True)
class SINDyConfig(TrainConfig):
    """Settings of ``ngcx train sindy`` (the exhibit's per-system degree, threshold and
    trajectory length unless given)."""

    epochs: int = field(10, "thresholding rounds (one least-squares fit and pruning each)")
    batch_size: int = field(1, "trajectories per step (there is one: keep 1)")
    data: str = field("lorenz", "dynamical system to identify", choices=tuple(SINDY_SYSTEMS))
    out: str = field("runs/sindy", "output folder (config, metrics, checkpoint, plots)")
    threshold: float | None = field(None, "pruning threshold (default: the system's)")
    poly_order: int | None = field(None, "library degree (default: the system's)")
    steps: int | None = field(
        None, "trajectory length in integration steps (default: the system's)"
    )
    dt: float = field(0.01, "integration and sampling step (the system's time unit)")
    noise: float = field(0.0, "standard deviation of Gaussian noise added to the samples")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("dt",),
            nonnegative=("threshold", "noise"),
            at_least_one=("poly_order",),
        )
        if self.steps is not None and self.steps < 2:
            raise ValueError(f"`steps` (--steps) must be an int >= 2, got {self.steps!r}.")
        if self.batch_size != 1:
            raise ValueError(
                f"`batch_size` (--batch-size) must be 1 (SINDy fits the one trajectory as "
                f"a whole), got {self.batch_size!r}."
            )


@dataclasses.dataclass(frozen=True)
class SINDyData:
    """One trajectory and what SINDy needs of it: times ``ts`` `(n,)`, samples ``x``
    `(n, d)`, derivative estimates ``dxdt`` `(n, d)`, the library ``features`` `(n,
    terms)` and the true coefficients ``true_coef`` `(terms, d)`."""

    system: str
    ts: Any
    x: Any
    dxdt: Any
    features: Any
    true_coef: Any


@final
class SINDyTask(AbstractTask[SINDyConfig]):
    """``ngcx train sindy`` (see the module docstring)."""

    name = "sindy"
    description = "identify an ODE's equations by sparse regression (SINDy)"
    config_cls = SINDyConfig
    data_kinds = tuple(SINDY_SYSTEMS)
    shard_training = False

    def _model(self, config: SINDyConfig) -> SINDy:
        system = SINDY_SYSTEMS[config.data]
        return SINDy(
            system.n_vars,
            poly_order=system.poly_order if config.poly_order is None else config.poly_order,
            threshold=system.threshold if config.threshold is None else config.threshold,
        )

    def load_data(self, config: SINDyConfig) -> SINDyData:
        system = SINDY_SYSTEMS[config.data]
        ts, x = system.trajectory(config.steps, config.dt)
        if config.noise > 0:
            eps = jax.random.normal(jax.random.key(config.data_seed), x.shape, x.dtype)
            x = x + config.noise * eps
        model = self._model(config)
        return SINDyData(
            system=config.data,
            ts=ts,
            x=x,
            dxdt=central_difference(x, config.dt),
            features=model.features(x),
            true_coef=system.true_coefficients(model.poly_order),
        )

    def train_arrays(self, run: Run[SINDyConfig]) -> tuple[Any, ...]:
        # one "sample": the whole trajectory
        return (run.data.features[None], run.data.dxdt[None])

    def init(self, run: Run[SINDyConfig]) -> tuple[SINDy]:
        return (self._model(run.config),)

    def step(
        self, run: Run[SINDyConfig], state: tuple[SINDy], batch: tuple[Any, ...], key: Any
    ) -> tuple[tuple[SINDy], dict[str, Any]]:
        (model,) = state
        features, dxdt = batch
        model = model.sparse_step(features[0], dxdt[0])
        resid = dxdt[0] - features[0] @ model.coef
        metrics = {
            "mse": jnp.mean(jnp.square(resid)),
            "nonzeros": jnp.sum(model.mask).astype(resid.dtype),
        }
        return (model,), metrics

    def evaluate(self, run: Run[SINDyConfig], state: tuple[SINDy], key: Any) -> dict[str, float]:
        return coefficient_metrics(state[0], run.data)

    def final(self, run: Run[SINDyConfig], state: tuple[SINDy], key: Any) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.evaluate(run, state, key))
        out["equations"] = state[0].equations()
        return out

    def plots(
        self,
        run: Run[SINDyConfig],
        state: tuple[SINDy],
        history: dict[str, list[float]],
        viz: ModuleType,
    ) -> None:
        import matplotlib.pyplot as plt

        model = state[0]
        data = run.data
        steps = int(data.x.shape[0]) - 1
        _, sim = model.simulate(data.x[0], steps, run.config.dt)
        ts, x, sim_ = np.asarray(data.ts), np.asarray(data.x), np.asarray(sim)
        d = x.shape[1]
        fig, axes = plt.subplots(d + 1, 1, figsize=(7, 2.0 * (d + 1)), layout="constrained")
        for j, name in enumerate("xyz"[:d]):
            axes[j].plot(ts, x[:, j], lw=2.5, alpha=0.4, label="true")
            axes[j].plot(ts, sim_[:, j], "k--", lw=0.9, label="recovered")
            axes[j].set_ylabel(name)
        axes[0].legend(loc="upper right")
        axes[d - 1].set_xlabel("t")
        a, b = (0, d - 1)
        axes[d].plot(x[:, a], x[:, b], lw=2.5, alpha=0.4)
        axes[d].plot(sim_[:, a], sim_[:, b], "k--", lw=0.9)
        axes[d].set_xlabel("xyz"[a])
        axes[d].set_ylabel("xyz"[b])
        fig.suptitle(f"{data.system}: true vs recovered system")
        fig.savefig(run.out / "trajectory.png", dpi=100)
        plt.close(fig)
        curves = {k: v for k, v in history.items() if k in ("coef_error", "max_rel_error")}
        if curves:
            viz.plot_learning_curve(curves, run.out / "coef_error.png", title="coefficient error")


def coefficient_metrics(model: SINDy, data: SINDyData) -> dict[str, float]:
    """The recovered coefficients against the truth: ``coef_error`` (relative Frobenius
    error), ``max_rel_error`` (largest relative error of a true non-zero coefficient),
    ``precision`` and ``recall`` of the support, and ``derivative_r2`` (fraction of the
    variance of the derivative estimates explained)."""
    est, true = np.asarray(model.coef, np.float64), np.asarray(data.true_coef, np.float64)
    on, hit = true != 0, est != 0
    tp = float(np.sum(on & hit))
    resid = np.asarray(data.dxdt) - np.asarray(data.features) @ est
    dx = np.asarray(data.dxdt)
    return {
        "coef_error": float(np.linalg.norm(est - true) / np.linalg.norm(true)),
        "max_rel_error": float(np.max(np.abs(est[on] - true[on]) / np.abs(true[on]))),
        "precision": tp / max(float(np.sum(hit)), 1.0),
        "recall": tp / float(np.sum(on)),
        "derivative_r2": float(1.0 - np.sum(resid**2) / np.sum((dx - dx.mean(0)) ** 2)),
    }
