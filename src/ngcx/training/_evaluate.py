"""``ngcx evaluate DIR``: the final metrics of a saved run, recomputed from its checkpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax

from .. import io
from ._config import config_from_dict
from ._fit import _parallel, evaluate_run, load_run
from ._registry import TASKS, get_task
from ._task import Run


__all__ = ["evaluate"]


def evaluate(
    run_dir: str | os.PathLike, data: str | None = None, devices: int | None = None
) -> dict[str, Any]:
    """Load the run saved in `run_dir` (its ``checkpoint.ckpt``: model, config, epoch) and
    compute its final metrics, on its own data or on `data` (a ``--data`` value, e.g.
    ``mnist:DIR``), with the same evaluation key as the end of training, so on the same
    data the result equals the run's ``metrics.json["final"]``.

    **Returns:** ``{"model", "checkpoint", "epoch", "data", "final"}``.

    **Raises:** ``ValueError`` (:class:`ngcx.io.CheckpointError`) when `run_dir` holds no
    readable checkpoint or `data` does not fit the model.
    """
    path = Path(run_dir)
    ckpt = path if path.is_file() else path / "checkpoint.ckpt"
    if not ckpt.is_file():
        raise ValueError(
            f"`run_dir` {str(path)!r} holds no checkpoint.ckpt (a folder written by ngcx train)."
        )
    meta = io.load_header(ckpt).get("config", {})
    name = meta.get("task")
    if name not in TASKS or not isinstance(meta.get("config"), dict):
        raise io.CheckpointError(
            f"{str(ckpt)!r} is not a training checkpoint of a known command (task {name!r})."
        )
    task = get_task(name)
    values = dict(meta["config"])
    if data is not None:
        values["data"] = data
    values["devices"] = devices
    config = config_from_dict(task.config_cls, values, source=str(ckpt))
    loaded = task.load_data(config)
    parallel = _parallel(config.devices, None)
    run = Run(config, loaded, parallel, jax.random.key(config.seed), ckpt.parent)
    state, meta = load_run(task, run, ckpt)
    return {
        "model": task.name,
        "checkpoint": str(ckpt),
        "epoch": int(meta["epoch"]),
        "data": config.data,
        "final": evaluate_run(task, run, state),
    }
