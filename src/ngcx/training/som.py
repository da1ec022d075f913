r"""``ngcx train som``: a self-organising map (Kohonen) fitted online to images
(ngc-museum's ``self_organizing_map``; model :class:`ngcx.models.SelfOrganizingMap`).

Each step takes ``batch_size`` training images and presents them one at a time (one
update per sample, as the museum; training runs on one device). The learning rate and the
neighbourhood radius decay with the museum's schedule (ngc-learn's ``SOMSynapse``) with
time constant ``tau_eta`` updates; by default ``tau_eta`` is the number of updates of the
run, so the radius shrinks from half the map's side to one grid step at the end and the
learning rate falls by $e$. (The museum's fixed 50,000 on 5 MNIST epochs is about a sixth
of its updates: the radius ends far below one step and the map turns into a plain vector
quantiser; pass ``--tau-eta 50000`` for it.)

Evaluation: ``quantization_error`` (mean distance of a test image to its best unit's
prototype), ``topographic_error`` (share of test images whose two best units are not grid
neighbours), ``neighbour_ratio`` (mean prototype distance of grid neighbours over that of
all pairs: 1 unordered, small ordered) and ``label_accuracy`` (every unit takes the
majority label of the training images it wins; a test image gets its best labelled unit's
label). Plots: the prototypes on the grid (``prototypes.png``) and the learning curve.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from ..models import SelfOrganizingMap
from ._config import TrainConfig, check_fields, field
from ._data import Dataset
from ._task import AbstractTask, Run


if TYPE_CHECKING:
    from types import ModuleType


__all__ = ["SOMConfig", "SOMTask"]


@dataclasses.dataclass(frozen=True)
class SOMConfig(TrainConfig):
    """Settings of ``ngcx train som`` (the museum's 15x15 map, ``eta = 0.5``, prototypes
    uniform on [0, 1], 5 epochs of online updates)."""

    epochs: int = field(5, "training epochs (passes over the training images)")
    batch_size: int = field(32, "images per step (each one is an online update)")
    out: str = field("runs/som", "output folder (config, metrics, checkpoint, plots)")
    n_units_x: int = field(15, "map height (units)")
    n_units_y: int = field(15, "map width (units)")
    eta: float = field(0.5, "initial learning rate")
    tau_eta: float | None = field(
        None,
        "time constant of the learning-rate and radius decay, in updates (default: the "
        "run's number of updates; the museum: 50000)",
    )
    distance: str = field(
        "euclidean", "distance to the prototypes", choices=("euclidean", "manhattan", "cosine")
    )
    neighbor: str = field("gaussian", "neighbourhood function", choices=("gaussian", "ricker"))

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            nonnegative=("eta",),
            positive=("tau_eta",),
            at_least_one=("n_units_x", "n_units_y"),
        )
        if self.tau_eta is not None and self.tau_eta <= 1.0:
            raise ValueError(f"`tau_eta` (--tau-eta) must be > 1 (updates), got {self.tau_eta!r}.")


@eqx.filter_jit
def _evaluate(
    model: SelfOrganizingMap, x_train: Any, y_train: Any, x_test: Any, y_test: Any, n_classes: int
) -> Any:
    labels = model.label_map(x_train, y_train, n_classes)
    predicted = model.predict_labels(x_test, labels)
    return {
        "quantization_error": model.quantization_error(x_test),
        "topographic_error": model.topographic_error(x_test),
        "neighbour_ratio": model.neighbour_ratio(),
        "label_accuracy": jnp.mean((predicted == y_test).astype(jnp.float32)),
    }


class SOMTask(AbstractTask[SOMConfig]):
    """The ``som`` training command (see the module docstring)."""

    name: ClassVar[str] = "som"
    description: ClassVar[str] = (
        "self-organising map fitted online (Kohonen; museum self_organizing_map)"
    )
    config_cls: ClassVar[type[TrainConfig]] = SOMConfig
    shard_training: ClassVar[bool] = False

    def train_arrays(self, run: Run[SOMConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def tau_eta(self, run: Run[SOMConfig]) -> float:
        """The schedule's time constant: ``config.tau_eta`` or the run's number of
        updates (``epochs`` times the training images used per epoch)."""
        c = run.config
        if c.tau_eta is not None:
            return float(c.tau_eta)
        per_epoch = (len(run.data.x_train) // c.batch_size) * c.batch_size
        return float(max(c.epochs * per_epoch, 2))

    def _model(self, run: Run[SOMConfig]) -> SelfOrganizingMap:
        c = run.config
        return SelfOrganizingMap(
            run.data.n_features, c.n_units_x, c.n_units_y, key=jax.random.fold_in(run.key, 0),
            eta=c.eta, tau_eta=self.tau_eta(run), distance_function=c.distance,
            neighbor_function=c.neighbor,
        )  # fmt: skip

    def init(self, run: Run[SOMConfig]) -> Any:
        model = self._model(run)
        return model, model.init_state()

    def step(
        self, run: Run[SOMConfig], state: Any, batch: tuple[Any, ...], key: Any
    ) -> tuple[Any, Any]:
        del key  # the updates are deterministic
        model, som_state = state
        x = batch[0]
        model, som_state = model.fit_online(som_state, x)
        return (model, som_state), {
            "train_quantization_error": model.quantization_error(x),
            "radius": model.radius_at(som_state.step),
        }

    def constants(self, run: Run[SOMConfig], state: Any) -> Any:
        # coordinates and schedule constants compiled in: only the prototypes, the
        # optimiser's count and the map's step counter move (benchmarks/som.py: one
        # update per call was ~4x the plain-JAX twin with every leaf an argument)
        return (plasticity.plastic_mask(state[0]), True)

    def evaluate(self, run: Run[SOMConfig], state: Any, key: Any) -> dict[str, float]:
        d: Dataset = run.data
        out = _evaluate(
            self.model(state), jnp.asarray(d.x_train), jnp.asarray(d.y_train),
            jnp.asarray(d.x_test), jnp.asarray(d.y_test), d.n_classes,
        )  # fmt: skip
        return {k: float(v) for k, v in out.items()}

    def plots(
        self, run: Run[SOMConfig], state: Any, history: dict[str, list[float]], viz: ModuleType
    ) -> None:
        import matplotlib.pyplot as plt

        model = self.model(state)
        nx, ny = model.grid_shape
        shape = run.data.image_shape
        if shape is not None:
            image = viz.tile_fields(np.asarray(model.prototypes), shape, cols=ny, scale="none")
            fig, ax = plt.subplots(figsize=(0.5 + 0.45 * ny, 0.5 + 0.45 * nx))
            ax.imshow(np.ma.masked_invalid(image), cmap="gray_r", interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(f"SOM prototypes ({nx}x{ny} grid)")
            fig.savefig(run.out / "prototypes.png", dpi=100, bbox_inches="tight")
            plt.close(fig)
        curves = {
            k: v
            for k, v in history.items()
            if k in ("quantization_error", "topographic_error", "label_accuracy")
        }
        if curves:
            viz.plot_learning_curve(
                curves, run.out / "learning_curve.png", title="self-organising map",
                secondary=[k for k in curves if k != "quantization_error"],
                ylabel="quantisation error",
            )  # fmt: skip
