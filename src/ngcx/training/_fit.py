r"""One training loop for every model: :func:`fit`.

Per epoch, :func:`fit` batches the task's training arrays with :class:`ngcx.data.DataLoader`
(a new permutation per epoch from the run's key, equal-size batches so the step compiles
once), shards each batch over the devices (:class:`ngcx.parallel.DataParallel`), runs the
task's jitted step (:class:`ngcx.FlatStep`), checks the step metrics and parameters for
NaN/Inf, evaluates, appends one line to ``metrics.jsonl`` and saves ``checkpoint.ckpt``
(model and optimiser state, epoch, PRNG key, config, history and versions; written
atomically). At the end it writes ``metrics.json``, ``model.ckpt`` (the model alone) and
the task's plots.

Randomness comes only from ``jax.random.key(config.seed)`` and the epoch number (batch order,
step keys, evaluation keys), so a run resumed from the checkpoint of epoch ``k`` takes the
same steps as one that never stopped: ``fit(..., resume=True)`` gives the same final
weights (tested).

Files in ``config.out``: ``config.json`` (the resolved configuration, readable by
``--config``), ``metrics.jsonl`` (one JSON line per epoch, written as it goes),
``checkpoint.ckpt``, ``metrics.json``, ``model.ckpt`` and the plots. A new run refuses an
``out`` folder that holds files unless ``overwrite=True`` (which first removes a previous
run's files: ``RUN_FILES`` and ``*.png``) or ``resume=True``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .. import io
from .._flat import FlatStep
from .._plotting import viz_or_warn
from .._progress import Progress
from .._runs import NonFiniteError, check_finite_epoch, prepare_out
from ..data import DataLoader
from ..distributed import barrier
from ._config import TrainConfig, config_to_dict
from ._task import AbstractTask, Run


__all__ = ["fit", "FitResult", "RUN_FILES", "load_run", "evaluate_run", "versions"]

RUN_FILES = (
    "config.json",
    "metrics.jsonl",
    "metrics.json",
    "checkpoint.ckpt",
    "model.ckpt",
    "evaluation.json",
)
#: the fields a resumed run may change (everything else must equal the saved run's)
RESUMABLE = ("epochs", "plots", "devices", "out")


@dataclasses.dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns (and writes to ``metrics.json`` as ``metrics``).

    - `task`: the command's name; `config`: the resolved configuration;
    - `state`: the final training state (e.g. ``(model, opt_state)``), `model` the model;
    - `history`: each per-epoch quantity as a list over all epochs (also resumed ones);
    - `final`: the final metrics (what ``ngcx evaluate`` reproduces);
    - `metrics`: the whole ``metrics.json`` dict; `out`: the output folder;
    - `epochs_run`: epochs trained by this call; `step_compilations`: times the training
      step compiled (1 on one device)."""

    task: str
    config: TrainConfig
    state: Any
    model: Any
    history: dict[str, list[float]]
    final: dict[str, Any]
    metrics: dict[str, Any]
    out: Path
    epochs_run: int
    step_compilations: int


def versions() -> dict[str, str]:
    """The versions of ngcx and the libraries a run's numbers depend on."""
    from .. import __version__

    found = {"ngcx": __version__}
    for name in ("jax", "jaxlib", "equinox", "optax", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            found[name] = "unknown"
    return found


def _write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (a temporary file renamed over `path`)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=2, allow_nan=False, default=_plain)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(obj: Any) -> Any:
    """NumPy/JAX scalars and arrays as Python numbers and lists (for ``json``)."""
    if hasattr(obj, "tolist"):
        return np.asarray(obj).tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def _key_data(key: Any) -> np.ndarray:
    return np.asarray(jax.random.key_data(key))


def _parallel(devices: int | None, batch_size: int | None) -> Any:
    """Data parallelism over `devices` (``None``: all local devices if more than one); in
    a multi-process run (``jax.distributed``) over every device of every process."""
    from ..parallel import DataParallel

    if jax.process_count() > 1:
        n = jax.device_count()
        if devices is not None and devices != n:
            raise ValueError(
                f"`devices` (--devices) {devices}: a multi-process run uses all {n} devices "
                f"of its {jax.process_count()} processes (leave --devices out)."
            )
        if batch_size is not None and batch_size % n:
            raise ValueError(
                f"`batch_size` (--batch-size) {batch_size} must be a multiple of the {n} "
                f"devices of the {jax.process_count()} processes."
            )
        return DataParallel(jax.devices())
    n = jax.local_device_count() if devices is None else devices
    if n > jax.local_device_count():
        raise ValueError(
            f"`devices` (--devices) {n} exceeds the {jax.local_device_count()} local devices."
        )
    if n <= 1:
        return None
    if batch_size is not None and batch_size % n:
        raise ValueError(
            f"`batch_size` (--batch-size) {batch_size} must be a multiple of the {n} devices "
            "(or pass --devices 1)."
        )
    return DataParallel(n)


def _check_out(out: Path, resume: bool, overwrite: bool) -> None:
    if resume and overwrite:
        raise ValueError("`resume` and `overwrite` exclude each other (--resume, --overwrite).")
    if resume:
        if not (out / "checkpoint.ckpt").is_file():
            raise ValueError(f"`resume`: {str(out)!r} holds no checkpoint.ckpt to resume from.")
        return
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(
                f"`out` (--out) {str(out)!r} is not empty (a previous run?); pass --overwrite "
                "to replace its run files, --resume to continue it, or choose another --out."
            )


def _local(tree: Any) -> Any:
    """Every replicated global array of `tree` as this process's copy (a multi-process
    run's state and metrics span devices this process cannot read)."""

    def one(x: Any) -> Any:
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return x.addressable_data(0)
        return x

    return jax.tree_util.tree_map(one, tree)


def _clear_run_files(out: Path) -> None:
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    for png in out.glob("*.png"):
        png.unlink()


def _compare_resumed(config: TrainConfig, saved: dict[str, Any], where: Path) -> None:
    mine = config_to_dict(config)
    for name, value in mine.items():
        if name in RESUMABLE or name not in saved:
            continue
        if saved[name] != value:
            raise ValueError(
                f"`{name}` (--{name.replace('_', '-')}) {value!r} differs from the run in "
                f"{str(where)!r} ({saved[name]!r}); a resumed run keeps its configuration "
                f"(only {', '.join('--' + r for r in RESUMABLE if r != 'out')} may change)."
            )


def load_run(task: AbstractTask, run: Run, path: Path) -> tuple[Any, dict[str, Any]]:
    """The training state and checkpoint header saved at `path` (a ``checkpoint.ckpt``),
    loaded into the structure of ``task.init(run)``."""
    header = io.load_header(path)
    meta = header.get("config", {})
    if meta.get("task") != task.name:
        raise io.CheckpointError(
            f"{str(path)!r} is a checkpoint of {meta.get('task')!r}, not of {task.name!r}."
        )
    template = {"state": task.init(run), "key": _key_data(run.key)}
    loaded = io.load(path, template)
    return loaded["state"], meta


def evaluate_run(task: AbstractTask, run: Run, state: Any) -> dict[str, Any]:
    """The final metrics of `state` (``task.final`` with the run's final key)."""
    return task.final(run, state, run.final_key)


def fit(
    task: AbstractTask,
    config: TrainConfig,
    *,
    progress: bool = True,
    resume: bool = False,
    overwrite: bool = False,
) -> FitResult:
    """Train `task` with `config`, writing everything into ``config.out``.

    **Arguments:**

    - `task`: an :class:`AbstractTask` (e.g. ``ngcx.training.get_task("pcn")``).
    - `config`: an instance of ``task.config_cls``.
    - `progress`: print the compilation notice, a bar on a terminal and timings.
    - `resume`: continue the run saved in ``config.out`` (its ``checkpoint.ckpt``); only
      ``epochs``, ``plots`` and ``devices`` may differ from the saved configuration.
    - `overwrite`: replace a previous run's files in ``config.out``.

    **Raises:** ``ValueError`` for an invalid configuration, data or output folder (before
    anything is written); :class:`ngcx.training.NonFiniteError` when a step's metrics or
    the parameters become NaN/Inf (the checkpoint of the last good epoch stays).

    **Returns:** a :class:`FitResult`.
    """
    if not isinstance(config, task.config_cls):
        raise TypeError(
            f"`config` must be a {task.config_cls.__name__} for {task.name!r}, got "
            f"{type(config).__name__}."
        )
    start = time.perf_counter()
    out = Path(config.out)
    _check_out(out, resume, overwrite)
    data = task.load_data(config)
    parallel = _parallel(config.devices, config.batch_size if task.shard_training else None)
    processes = jax.process_count()
    main = jax.process_index() == 0  # only process 0 writes the run folder
    # evaluation runs on each process's own devices in a multi-process run
    run = Run(config, data, parallel if processes == 1 else None, jax.random.key(config.seed), out)
    arrays = task.train_arrays(run)
    n_samples = len(arrays[0])
    if n_samples < config.batch_size:
        raise ValueError(
            f"`batch_size` (--batch-size) {config.batch_size} exceeds the {n_samples} "
            "training samples."
        )
    history: dict[str, list[float]] = {}
    first_epoch = 0
    if resume:
        saved = io.load_header(out / "checkpoint.ckpt").get("config", {})
        _compare_resumed(config, saved.get("config", {}), out)
        state, meta = load_run(task, run, out / "checkpoint.ckpt")
        first_epoch = int(meta["epoch"])
        history = {k: list(v) for k, v in meta.get("history", {}).items()}
        if first_epoch > config.epochs:
            raise ValueError(
                f"`epochs` (--epochs) {config.epochs} is fewer than the {first_epoch} epochs "
                f"the run in {str(out)!r} has already trained."
            )
    else:
        state = task.init(run)
    barrier("ngcx-fit-checked")  # every process has checked --out before process 0 writes
    if main:
        prepare_out(out)  # after every check of the configuration and the data
        if overwrite:
            _clear_run_files(out)
        _write_json(out / "config.json", {"model": task.name, **config_to_dict(config)})
        with open(out / "metrics.jsonl", "w") as f:  # the completed epochs' lines (resumed)
            for e in range(first_epoch):
                row = {k: v[e] for k, v in history.items()}
                f.write(json.dumps({"epoch": e + 1, **row}) + "\n")

    shard = parallel if task.shard_training else None
    if shard is not None:
        state = shard.replicate(state)

    trainer = FlatStep(task.make_step(run, state), state, dynamic=task.constants(run, state))
    n_batches = -(-n_samples // config.batch_size)
    bar = Progress(
        task.name,
        (config.epochs - first_epoch) * n_batches,
        unit=task.unit,
        enabled=progress and main,
    )
    shuffle_key = jax.random.fold_in(run.key, 1)
    bar.start()
    try:
        for epoch in range(first_epoch, config.epochs):
            loader = DataLoader(
                [(f"a{i}", a) for i, a in enumerate(arrays)],
                config.batch_size,
                key=jax.random.fold_in(shuffle_key, epoch),
            )
            epoch_key = run.epoch_key(epoch)
            values: list[Any] = []
            for b, named in enumerate(loader):
                batch = task.to_step_batch(run, tuple(a for _, a in named))
                if shard is not None:
                    batch = shard.shard_batch(*batch)
                values.append(trainer(batch, jax.random.fold_in(epoch_key, b)))
                bar.update(1)
            state = _local(trainer.state)
            watched = task.watched(state)
            means: dict[str, float] = {}
            if values:
                for name in values[0]:
                    series = [_local(v[name]) for v in values]
                    check_finite_epoch(name, series, watched, epoch, where=task.name)
                    means[name] = float(np.mean(jax.device_get(series)))
            else:  # pragma: no cover - n_batches >= 1
                check_finite_epoch("step", [], watched, epoch, where=task.name)
            evaluated = {
                k: float(v) for k, v in task.evaluate(run, state, run.eval_key(epoch)).items()
            }
            bad = [k for k, v in evaluated.items() if not np.isfinite(v)]
            if bad:
                raise NonFiniteError(
                    f"{task.name}: the evaluation's {bad[0]} became non-finite at epoch "
                    f"{epoch + 1}; lower the learning rate or check the data for NaN/Inf."
                )
            row = {**means, **evaluated}
            for k, v in row.items():
                history.setdefault(k, []).append(v)
            if main:
                io.save(
                    out / "checkpoint.ckpt",
                    {"state": state, "key": _key_data(run.key)},
                    config={
                        "task": task.name,
                        "epoch": epoch + 1,
                        "config": config_to_dict(config),
                        "history": history,
                        "versions": versions(),
                    },
                )
                with open(out / "metrics.jsonl", "a") as f:
                    f.write(json.dumps({"epoch": epoch + 1, **row}) + "\n")
                text = "  ".join(f"{k} {v:.4f}" for k, v in row.items())
                bar.epoch(f"epoch {epoch + 1:3d}/{config.epochs}  {text}")
    finally:
        bar.close()
    state = _local(trainer.state)
    model = task.model(state)
    final = evaluate_run(task, run, state)
    metrics = {
        "model": task.name,
        "config": config_to_dict(config),
        "data": config.data,
        "history": history,
        "final": final,
        "epochs_completed": config.epochs,
        "epochs_run": config.epochs - first_epoch,
        "wall_time_s": time.perf_counter() - start,
        "step_compilations": trainer.compilations,
        "devices": 1 if parallel is None else parallel.n_devices,
        "processes": processes,
        "versions": versions(),
    }
    if main:
        io.save(out / "model.ckpt", model, config={"task": task.name, **config_to_dict(config)})
        _write_json(out / "metrics.json", metrics)
        viz = viz_or_warn() if config.plots else None
        if viz is not None:
            task.plots(run, state, history, viz)
    barrier("ngcx-fit-done")
    return FitResult(
        task=task.name,
        config=config,
        state=state,
        model=model,
        history=history,
        final=final,
        metrics=metrics,
        out=out,
        epochs_run=config.epochs - first_epoch,
        step_compilations=trainer.compilations,
    )
