"""The training commands: name -> (module of ``ngcx.training``, task class, one line).

Kept free of JAX imports so that ``ngcx --help`` and ``ngcx train --help`` list the
commands without loading any model."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from ._task import AbstractTask


__all__ = ["TASKS", "get_task", "task_names"]

TASKS: dict[str, tuple[str, str, str]] = {
    "pcn": ("pcn", "PCNTask", "discriminative predictive coding network (ngc-museum pc_discrim)"),
    "conv-pc": ("conv_pc", "ConvPCTask", "convolutional predictive coding (sparse filters)"),
    "snn-stdp": ("snn_stdp", "SNNSTDPTask", "Diehl & Cook spiking network, trace STDP"),
    "snn-surrogate": (
        "snn_surrogate",
        "SNNSurrogateTask",
        "two-layer LIF network trained by surrogate-gradient BPTT",
    ),
}


def task_names() -> list[str]:
    """The registered training commands."""
    return list(TASKS)


def get_task(name: str) -> AbstractTask:
    """The task of the training command `name` (``ValueError`` naming the known ones)."""
    if name not in TASKS:
        raise ValueError(f"`name` must be one of {', '.join(TASKS)}, got {name!r}.")
    module, cls, _ = TASKS[name]
    return getattr(importlib.import_module(f"ngcx.training.{module}"), cls)()
