r"""Training: one loop (:func:`fit`) for every model, a task per model, and run folders.

```python
from ngcx import training

task = training.get_task("pcn")
result = training.fit(task, training.PCNConfig(epochs=5, out="runs/pcn5"))
result.final["test_acc"], result.history["energy"]
```

- :func:`fit` trains an :class:`AbstractTask` with its config (a :class:`TrainConfig`
  subclass), writing ``config.json``, ``metrics.jsonl``, ``checkpoint.ckpt``,
  ``metrics.json``, ``model.ckpt`` and plots; ``resume=True`` continues a run exactly.
- Tasks: :class:`PCNTask` (``ngcx train pcn``), :class:`ConvPCTask` (``conv-pc``),
  :class:`SNNSTDPTask` (``snn-stdp``), :class:`SNNSurrogateTask` (``snn-surrogate``);
  :func:`get_task` by command name.
- Data: :func:`load_dataset` (``digits``, ``mnist:DIR``, ``fashion-mnist:DIR``,
  ``npz:FILE``) returns a :class:`Dataset`.
- :func:`evaluate` recomputes a saved run's final metrics (``ngcx evaluate DIR``).
- :func:`sweep` trains an ensemble over a setting's values (and seeds) as one ``vmap``,
  compiled once, its ensemble axis sharded over the devices (``ngcx sweep``).

Names are imported on first use, so the CLI's help does not load JAX.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._registry import TASKS as TASKS, get_task as get_task, task_names as task_names


if TYPE_CHECKING:
    from .._runs import NonFiniteError as NonFiniteError
    from ._config import (
        TrainConfig as TrainConfig,
        config_from_dict as config_from_dict,
        config_to_dict as config_to_dict,
        read_config_file as read_config_file,
    )
    from ._data import Dataset as Dataset, load_dataset as load_dataset
    from ._evaluate import evaluate as evaluate
    from ._fit import FitResult as FitResult, fit as fit
    from ._sweep import (
        SweepResult as SweepResult,
        plot_sweep as plot_sweep,
        sweep as sweep,
        sweepable as sweepable,
    )
    from ._task import AbstractTask as AbstractTask, Run as Run
    from .bfa_snn import BFASNNConfig as BFASNNConfig, BFASNNTask as BFASNNTask
    from .conv_pc import ConvPCConfig as ConvPCConfig, ConvPCTask as ConvPCTask
    from .ei_rnn import EIRNNConfig as EIRNNConfig, EIRNNTask as EIRNNTask
    from .evstdp_patches import (
        EvSTDPPatchesConfig as EvSTDPPatchesConfig,
        EvSTDPPatchesTask as EvSTDPPatchesTask,
    )
    from .harmonium import HarmoniumConfig as HarmoniumConfig, HarmoniumTask as HarmoniumTask
    from .hidden_pcn import HiddenPCNConfig as HiddenPCNConfig, HiddenPCNTask as HiddenPCNTask
    from .pc_recon import PCReconConfig as PCReconConfig, PCReconTask as PCReconTask
    from .pcn import PCNConfig as PCNConfig, PCNTask as PCNTask, pcn_trainer as pcn_trainer
    from .rl_snn import RLSNNConfig as RLSNNConfig, RLSNNTask as RLSNNTask
    from .sindy import SINDyConfig as SINDyConfig, SINDyTask as SINDyTask
    from .snn_stdp import SNNSTDPConfig as SNNSTDPConfig, SNNSTDPTask as SNNSTDPTask
    from .snn_surrogate import (
        SNNSurrogateConfig as SNNSurrogateConfig,
        SNNSurrogateTask as SNNSurrogateTask,
        surrogate_trainer as surrogate_trainer,
    )
    from .som import SOMConfig as SOMConfig, SOMTask as SOMTask
    from .sparse_coding import (
        SparseCodingConfig as SparseCodingConfig,
        SparseCodingTask as SparseCodingTask,
    )
    from .ti_stdp import TISTDPConfig as TISTDPConfig, TISTDPTask as TISTDPTask

_NAMES = {
    "NonFiniteError": "ngcx._runs",
    "TrainConfig": "._config",
    "config_from_dict": "._config",
    "config_to_dict": "._config",
    "read_config_file": "._config",
    "Dataset": "._data",
    "load_dataset": "._data",
    "evaluate": "._evaluate",
    "FitResult": "._fit",
    "sweep": "._sweep",
    "SweepResult": "._sweep",
    "plot_sweep": "._sweep",
    "sweepable": "._sweep",
    "fit": "._fit",
    "AbstractTask": "._task",
    "Run": "._task",
    "ConvPCConfig": ".conv_pc",
    "ConvPCTask": ".conv_pc",
    "PCNConfig": ".pcn",
    "PCNTask": ".pcn",
    "pcn_trainer": ".pcn",
    "SNNSTDPConfig": ".snn_stdp",
    "SNNSTDPTask": ".snn_stdp",
    "SNNSurrogateConfig": ".snn_surrogate",
    "SNNSurrogateTask": ".snn_surrogate",
    "surrogate_trainer": ".snn_surrogate",
    "PCReconConfig": ".pc_recon",
    "PCReconTask": ".pc_recon",
    "HarmoniumConfig": ".harmonium",
    "HarmoniumTask": ".harmonium",
    "BFASNNConfig": ".bfa_snn",
    "BFASNNTask": ".bfa_snn",
    "RLSNNConfig": ".rl_snn",
    "RLSNNTask": ".rl_snn",
    "SparseCodingConfig": ".sparse_coding",
    "SparseCodingTask": ".sparse_coding",
    "SOMConfig": ".som",
    "SOMTask": ".som",
    "SINDyConfig": ".sindy",
    "SINDyTask": ".sindy",
    "HiddenPCNConfig": ".hidden_pcn",
    "HiddenPCNTask": ".hidden_pcn",
    "EIRNNConfig": ".ei_rnn",
    "EIRNNTask": ".ei_rnn",
    "EvSTDPPatchesConfig": ".evstdp_patches",
    "EvSTDPPatchesTask": ".evstdp_patches",
    "TISTDPConfig": ".ti_stdp",
    "TISTDPTask": ".ti_stdp",
}

__all__ = ["TASKS", "get_task", "task_names", *_NAMES]


def __getattr__(name: str) -> Any:
    where = _NAMES.get(name)
    if where is None:
        raise AttributeError(f"module 'ngcx.training' has no attribute {name!r}")
    module = (
        importlib.import_module(where, __name__)
        if where.startswith(".")
        else (importlib.import_module(where))
    )
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
