r"""What a training command is: an :class:`AbstractTask` tells :func:`ngcx.training.fit`
how to build a model, take one training step, evaluate and plot; ``fit`` does the rest
(batching, sharding, progress, metrics, checkpoints, resume) the same way for every model.

A task is a final subclass with class attributes ``name`` (the CLI command),
``description`` (one line) and ``config_cls`` (its :class:`TrainConfig` subclass), and
methods that receive a :class:`Run` (the resolved config, the data, the data-parallel
helper and the run's root PRNG key):

- :meth:`~AbstractTask.init` -> the training state, any PyTree (e.g. ``(model,
  opt_state)``);
- :meth:`~AbstractTask.step` ``(run, state, batch, key) -> (state, metrics)``: one pure
  training step, jitted once by ``fit`` (``batch`` is a tuple of the arrays of
  :meth:`~AbstractTask.train_arrays`, ``metrics`` a dict of scalars averaged per epoch);
- :meth:`~AbstractTask.evaluate` -> a dict of floats after each epoch (e.g. train/test
  accuracy);
- :meth:`~AbstractTask.final` -> the final metrics (default: the last evaluation), which
  ``ngcx evaluate`` recomputes from the checkpoint;
- :meth:`~AbstractTask.plots` (optional).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ._config import TrainConfig
from ._data import DATA_KINDS, Dataset, load_dataset


if TYPE_CHECKING:
    from types import ModuleType

    from ..parallel import DataParallel


__all__ = ["AbstractTask", "Run"]

C = TypeVar("C", bound=TrainConfig)


@dataclasses.dataclass(frozen=True)
class Run(Generic[C]):
    """What a task's methods see of a run: its resolved `config`, its `data`, the
    data-parallel helper `parallel` (``None`` on one device), the root PRNG `key`
    (``jax.random.key(config.seed)``) and the output folder `out`."""

    config: C
    data: Any
    parallel: DataParallel | None
    key: Any
    out: Path

    # The run's keys, each derived from `key` and fixed by the seed and the epoch alone, so
    # that a resumed run draws the same numbers as an uninterrupted one.
    @property
    def init_key(self) -> Any:
        """The key of the initial parameters."""
        import jax

        return jax.random.fold_in(self.key, 0)

    def epoch_key(self, epoch: int) -> Any:
        """The key of epoch `epoch` (0-based); step ``b`` gets ``fold_in(epoch_key, b)``."""
        import jax

        return jax.random.fold_in(jax.random.fold_in(self.key, 2), epoch)

    def eval_key(self, epoch: int) -> Any:
        """The key of the evaluation after epoch `epoch` (0-based)."""
        import jax

        return jax.random.fold_in(jax.random.fold_in(self.key, 3), epoch)

    @property
    def final_key(self) -> Any:
        """The key of the final evaluation (also used by ``ngcx evaluate``)."""
        import jax

        return jax.random.fold_in(self.key, 4)


class AbstractTask(abc.ABC, Generic[C]):
    """A model's training task (see the module docstring)."""

    name: ClassVar[str]
    description: ClassVar[str]
    config_cls: ClassVar[type[TrainConfig]]
    #: what one step consumes, for the progress line ("batch" or "sample")
    unit: ClassVar[str] = "batch"
    #: the ``--data`` kinds this task accepts
    data_kinds: ClassVar[tuple[str, ...]] = DATA_KINDS
    #: whether training steps may be sharded over devices (online rules train on one)
    shard_training: ClassVar[bool] = True

    # -- data -------------------------------------------------------------------------
    def load_data(self, config: C) -> Any:
        """The run's data (default: :func:`load_dataset` of ``config.data``, checked
        against :attr:`data_kinds`, then :meth:`prepare_data`)."""
        kind = config.data.partition(":")[0]
        if kind not in self.data_kinds:
            raise ValueError(
                f"`data` (--data) {config.data!r}: ngcx train {self.name} reads "
                f"{', '.join(self.data_kinds)}."
            )
        return self.prepare_data(
            config,
            load_dataset(
                config.data, test_fraction=config.test_fraction, data_seed=config.data_seed
            ),
        )

    def prepare_data(self, config: C, data: Dataset) -> Any:
        """Adapt a loaded data set to the model (e.g. resize images); default: as is."""
        return data

    def train_arrays(self, run: Run[C]) -> tuple[Any, ...]:
        """The arrays that are batched along their first axis for :meth:`step` (default:
        ``(x_train, y_train)``)."""
        return (run.data.x_train, run.data.y_train)

    def to_step_batch(self, run: Run[C], arrays: tuple[Any, ...]) -> tuple[Any, ...]:
        """Turn one batch of :meth:`train_arrays` into the arrays passed to :meth:`step`
        (on the host, before sharding; default: unchanged)."""
        return arrays

    # -- training ---------------------------------------------------------------------
    @abc.abstractmethod
    def init(self, run: Run[C]) -> Any:
        """The initial training state (a PyTree of arrays and modules)."""

    @abc.abstractmethod
    def step(self, run: Run[C], state: Any, batch: tuple[Any, ...], key: Any) -> tuple[Any, Any]:
        """One training step: ``(new_state, metrics)``, metrics a dict of scalar arrays."""

    def make_step(self, run: Run[C], state: Any) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
        """The function ``fit`` jits: ``(state, batch, key) -> (state, metrics)``. Default:
        :meth:`step` with `run` bound; override it to build once, from the concrete
        initial `state`, what the step closes over (e.g. an optax chain whose terms
        depend on the model's hyperparameters)."""
        return functools.partial(self.step, run)

    def constants(self, run: Run[C], state: Any) -> Any:
        """An Equinox filter spec over `state` whose false leaves are compiled into the
        step as constants (see :class:`ngcx.FlatStep`); default ``None`` (none folded)."""
        return None

    def model(self, state: Any) -> Any:
        """The model inside a training state (default ``state[0]``)."""
        return state[0]

    def watched(self, state: Any) -> Any:
        """The parameters checked for NaN/Inf after every epoch (default: the model)."""
        return self.model(state)

    # -- evaluation and output ---------------------------------------------------------
    @abc.abstractmethod
    def evaluate(self, run: Run[C], state: Any, key: Any) -> dict[str, float]:
        """Metrics after an epoch (floats, e.g. ``{"train_acc": ..., "test_acc": ...}``)."""

    def final(self, run: Run[C], state: Any, key: Any) -> dict[str, Any]:
        """The final metrics of a trained state (JSON-ready), also what ``ngcx evaluate``
        reports; default :meth:`evaluate`."""
        return dict(self.evaluate(run, state, key))

    def summary(self, final: dict[str, Any]) -> str:
        """One line for the end of a run (default: the final metrics that are numbers)."""
        parts = [f"{k} {v:.4f}" for k, v in final.items() if isinstance(v, float)]
        return ", ".join(parts)

    def plots(
        self, run: Run[C], state: Any, history: dict[str, list[float]], viz: ModuleType
    ) -> None:
        """Write the task's plots into ``run.out`` (default: none)."""
        return None
