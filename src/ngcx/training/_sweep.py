r"""Sharded sweeps: many seeds or settings of one training command, trained at once.

:func:`sweep` trains an *ensemble* of $M$ members of a task, member $i$ with the config
field `param` set to ``values[i]`` (and/or its own seed), as one program: the task's
jitted step is ``vmap``-ped over a leading ensemble axis and compiled once for the whole
ensemble, and that axis is sharded over the devices with ``jax.sharding`` (a
``NamedSharding`` over a one-axis ``Mesh`` named ``"ensemble"``; $M$ must be a multiple of
the number of devices). Each device trains $M / n$ members; nothing crosses devices.

```python
import numpy as np
from ngcx import training

task = training.get_task("pcn")
etas = np.geomspace(1e-4, 1e-2, 16)
result = training.sweep(task, training.PCNConfig(epochs=5), "eta", etas)
result.final[3]["test_acc"], result.step_compilations  # ..., 1
result.write("runs/sweep-pcn")  # sweep.jsonl (a row per member) and sweep.json
training.plot_sweep(result, "runs/sweep-pcn/sweep.png")
```

**What a member is.** Member $i$ equals ``fit(task, replace(config, param=values[i],
seed=seeds[i]))``, to floating-point tolerance (tested against separate :func:`fit` runs):

- its initial state is ``task.init`` of that member's own (validated) config and root key
  ``jax.random.key(seed_i)``, built on the host, then stacked along the ensemble axis;
- its steps run ``task.make_step`` inside the ``vmap`` on the member's traced state and a
  copy of the config whose `param` is the member's traced value (the copy skips the
  dataclass's checks, which would otherwise see a tracer; every value was already checked
  in the member's own config), with the step keys of :class:`Run` from its root key;
- its batches are those of :func:`fit`'s :class:`ngcx.data.DataLoader` for its seed:
  shared by all members when they share the seed (a hyperparameter sweep), stacked along
  the ensemble axis otherwise;
- after each epoch it is evaluated by ``task.evaluate`` (a loop over the members on the
  host: tasks' evaluations return Python floats), and at the end by ``task.final``.

A member whose step metrics or watched parameters become NaN/Inf is marked diverged (the
epoch is recorded, later evaluations are skipped) instead of stopping the sweep.

`param` is ``"seed"`` (the values are the seeds) or a float setting of the task's model
(e.g. ``eta``, ``tau_m``, ``dt`` of ``pcn`` and ``snn-surrogate``); the shared training
settings (epochs, batch size, data, ...) are the same for every member. Unlike :func:`fit`,
a sweep writes no checkpoints: :meth:`SweepResult.write` writes its results.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P, SingleDeviceSharding

from .._flat import FlatStep
from .._progress import Progress
from ..data import DataLoader
from ._config import TrainConfig, _allowed, _field_types, config_to_dict
from ._fit import _write_json, versions
from ._task import AbstractTask, Run


__all__ = ["sweep", "SweepResult", "plot_sweep", "sweepable", "SWEEP_FILES", "SWEEP_STEPS"]

#: the files :meth:`SweepResult.write` and :func:`plot_sweep` write
SWEEP_FILES = ("sweep.jsonl", "sweep.json", "sweep.png")


def _scaled_by(inner: optax.GradientTransformation, eta: Any) -> optax.GradientTransformation:
    """`inner`'s updates times `eta` (same state as `inner`). For optax's sgd/adam/nag at
    learning rate 1, whose last operation is the multiply by ``-1``, this equals the
    optimiser at learning rate `eta` exactly."""

    def update(updates: Any, state: Any, params: Any = None) -> Any:
        updates, state = inner.update(updates, state, params)
        return jax.tree_util.tree_map(lambda u: u * eta, updates), state

    return optax.GradientTransformation(inner.init, update)


def _surrogate_eta_step(
    task: AbstractTask, run: Run, state: Any, batch: Any, key: Any, value: Any
) -> tuple[Any, Any]:
    """``snn-surrogate``'s step with a traced learning rate (its optimiser is built from
    the config's float ``eta``)."""
    from .snn_surrogate import _sgd_step, make_optimizer

    (model, opt_state), (x, y) = state, batch
    optimizer = _scaled_by(make_optimizer(run.config.optim_type, 1.0), value)
    model, opt_state, loss = _sgd_step(model, opt_state, optimizer, x, y, key)
    return (model, opt_state), {"loss": loss}


#: ``(task name, param) -> step(task, run, state, batch, key, value)``: a task's training
#: step for a sweep of `param`, where the task's own step reads that setting as a Python
#: float (``value`` is the member's traced value). Other settings need no entry: their
#: members' values reach the step through the state (e.g. the PCN's ``eta`` leaf) or a
#: copy of the config holding the traced value.
SWEEP_STEPS: dict[tuple[str, str], Callable[..., tuple[Any, Any]]] = {
    ("snn-surrogate", "eta"): _surrogate_eta_step,
}


def sweepable(config_cls: type[TrainConfig]) -> list[str]:
    """The settings of `config_cls` a sweep may vary: ``seed`` and the float fields of the
    model (not the shared training settings of :class:`TrainConfig`)."""
    common = {f.name for f in dataclasses.fields(TrainConfig)}
    hints = _field_types(config_cls)
    names = ["seed"]
    for f in dataclasses.fields(config_cls):
        (elem,), is_tuple, _ = _allowed(hints[f.name])
        if f.name not in common and elem is float and not is_tuple:
            names.append(f.name)
    return names


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` returns.

    - `task`: the command's name; `config`: the base configuration; `param`: the swept
      setting;
    - `values` ``(M,)``: each member's value of `param`; `seeds` ``(M,)``: each member's
      seed;
    - `history`: per member, each per-epoch quantity as a list over the epochs (NaN after
      the member diverged); `final`: per member, ``task.final`` (``{"diverged_epoch": e}``
      for a member that diverged);
    - `state`: the final training states stacked along a leading ensemble axis, sharded
      over the devices (``NamedSharding(mesh, P("ensemble"))``); :meth:`member_state`
      takes one member's out;
    - `step_compilations`: times the ensemble's step compiled (1); `devices`: devices the
      ensemble was sharded over; `wall_time_s`: the sweep's wall time.
    """

    task: str
    config: TrainConfig
    param: str
    values: np.ndarray
    seeds: np.ndarray
    history: list[dict[str, list[float]]]
    final: list[dict[str, Any]]
    state: Any
    step_compilations: int
    devices: int
    wall_time_s: float

    @property
    def n_members(self) -> int:
        return len(self.values)

    def member_config(self, i: int) -> TrainConfig:
        """The configuration :func:`fit` would train member `i` with."""
        return _member_config(self.config, self.param, self.values[i], int(self.seeds[i]))

    def member_state(self, i: int) -> Any:
        """Member `i`'s final training state (e.g. ``(model, opt_state)``)."""
        return _take(self.state, i)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per member: ``member``, the value of `param`, ``seed`` and the final
        metrics that are numbers (what ``sweep.jsonl`` holds)."""
        rows = []
        for i in range(self.n_members):
            row: dict[str, Any] = {"member": i, self.param: _number(self.values[i])}
            row["seed"] = int(self.seeds[i])
            for k, v in self.final[i].items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    row[k] = _json_number(v)
            rows.append(row)
        return rows

    def write(self, out: str | Path) -> Path:
        """Write ``sweep.jsonl`` (one JSON row per member, :meth:`rows`) and
        ``sweep.json`` (the base config, every member's value, seed, history and final
        metrics, the compilations, devices, wall time and versions) into the folder `out`
        (created if needed). Returns `out` as a ``Path``."""
        path = Path(out)
        path.mkdir(parents=True, exist_ok=True)
        with open(path / "sweep.jsonl", "w") as f:
            for row in self.rows():
                f.write(json.dumps(row, allow_nan=False) + "\n")
        members = [
            {
                "member": i,
                self.param: _number(self.values[i]),
                "seed": int(self.seeds[i]),
                "history": {k: [_json_number(x) for x in v] for k, v in h.items()},
                "final": _json_ready(self.final[i]),
            }
            for i, h in enumerate(self.history)
        ]
        _write_json(
            path / "sweep.json",
            {
                "model": self.task,
                "param": self.param,
                "values": [_number(v) for v in self.values],
                "seeds": [int(s) for s in self.seeds],
                "config": config_to_dict(self.config),
                "members": members,
                "step_compilations": self.step_compilations,
                "devices": self.devices,
                "wall_time_s": self.wall_time_s,
                "versions": versions(),
            },
        )
        return path


def _number(v: Any) -> int | float:
    f = float(v)
    return int(f) if f.is_integer() and isinstance(v, np.integer | int) else f


def _json_number(v: Any) -> float | None:
    """A float, or ``None`` for NaN/Inf (JSON has neither)."""
    f = float(v)
    return f if math.isfinite(f) else None


def _json_ready(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, float):
        return _json_number(obj)
    if hasattr(obj, "tolist"):
        return _json_ready(np.asarray(obj).tolist())
    return obj


def _member_config(config: TrainConfig, param: str, value: Any, seed: int) -> TrainConfig:
    changes: dict[str, Any] = {"seed": int(seed)}
    if param != "seed":
        changes[param] = float(value)
    return dataclasses.replace(config, **changes)


def _traced_config(config: TrainConfig, param: str, value: Any) -> TrainConfig:
    """A copy of `config` whose `param` is the traced `value` (built without the
    dataclass's checks, which cannot judge a tracer; the concrete value was checked in the
    member's own config)."""
    if param == "seed":
        return config
    traced = copy.copy(config)
    object.__setattr__(traced, param, value)
    return traced


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_host(tree: Any) -> Any:
    """Array leaves as NumPy arrays (PRNG keys stay JAX arrays)."""
    return jax.tree_util.tree_map(
        lambda x: x if _is_key(x) or not eqx.is_array(x) else np.asarray(x), tree
    )


def _take(tree: Any, i: int) -> Any:
    return jax.tree_util.tree_map(lambda x: x[i] if eqx.is_array(x) else x, tree)


def _members(
    config: TrainConfig, param: str, values: Any, seeds: int | Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's (value, seed): every value with every seed, value-major."""
    try:
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`values` must be an array of numbers, got {values!r}.") from err
    if vals.size == 0:
        raise ValueError("`values` is empty: a sweep needs at least one value.")
    if not np.all(np.isfinite(vals)):
        raise ValueError(f"`values` must be finite, got {vals.tolist()}.")
    if param == "seed":
        if seeds is not None:
            raise ValueError(
                "`seeds` must be None when `param` is 'seed' (the values are the seeds)."
            )
        if not np.all(vals == np.round(vals)):
            raise ValueError(f"`values` of `param` 'seed' must be integers, got {vals.tolist()}.")
        return vals.astype(np.int64), vals.astype(np.int64)
    if seeds is None:
        seed_list = [config.seed]
    elif isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"`seeds` (--seeds) must be >= 1, got {seeds}.")
        seed_list = [config.seed + s for s in range(seeds)]
    else:
        seed_list = list(seeds) if isinstance(seeds, Sequence) else []
        if not seed_list or not all(
            isinstance(s, int | np.integer) and not isinstance(s, bool) for s in seed_list
        ):
            raise ValueError(
                f"`seeds` must be None, a positive int or a non-empty sequence of ints, got "
                f"{seeds!r}."
            )
    member_values = np.repeat(vals, len(seed_list))
    member_seeds = np.tile(np.asarray(seed_list, dtype=np.int64), len(vals))
    return member_values, member_seeds


def _mesh(n_members: int, devices: int | Sequence[Any] | None, config: TrainConfig) -> Mesh:
    available = jax.local_devices()
    if devices is None:
        devices = config.devices if config.devices is not None else len(available)
    if isinstance(devices, int) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"`devices` (--devices) must lie in [1, {len(available)}] (the local "
                f"devices), got {devices}."
            )
        chosen = list(available[:devices])
    elif isinstance(devices, Sequence) and not isinstance(devices, str) and devices:
        chosen = list(devices)
        if not all(isinstance(d, jax.Device) for d in chosen) or len(set(chosen)) != len(chosen):
            raise ValueError(f"`devices` must be distinct jax devices, got {devices!r}.")
    else:
        raise ValueError(
            f"`devices` must be None, an int or a sequence of jax devices, got {devices!r}."
        )
    if n_members % len(chosen):
        divisors = [d for d in range(1, len(chosen) + 1) if n_members % d == 0]
        raise ValueError(
            f"the sweep's {n_members} members do not divide over {len(chosen)} devices; use "
            f"a multiple of {len(chosen)} members (values x seeds) or `devices` (--devices) "
            f"{' or '.join(map(str, divisors))}."
        )
    return Mesh(np.array(chosen), ("ensemble",))


def _check_param(task: AbstractTask, config: TrainConfig, param: str) -> None:
    if not isinstance(config, task.config_cls):
        raise TypeError(
            f"`config` must be a {task.config_cls.__name__} for {task.name!r}, got "
            f"{type(config).__name__}."
        )
    allowed = sweepable(task.config_cls)
    if param not in allowed:
        raise ValueError(
            f"`param` (--param) {param!r} cannot be swept for {task.name!r}; choose one of "
            f"{', '.join(allowed)}."
        )


def sweep(
    task: AbstractTask,
    config: TrainConfig,
    param: str,
    values: Any,
    *,
    seeds: int | Sequence[int] | None = None,
    devices: int | Sequence[Any] | None = None,
    progress: bool = True,
) -> SweepResult:
    """Train every member of a sweep at once (see the module docstring).

    **Arguments:**

    - `task`: an :class:`AbstractTask`; `config`: an instance of ``task.config_cls``, the
      settings every member shares.
    - `param`: ``"seed"`` or a float setting of the task (:func:`sweepable`).
    - `values`: the values of `param`, array-like ``(K,)`` (seeds: integers).
    - `seeds`: ``None`` (every member uses ``config.seed``), an int ``S`` (seeds
      ``config.seed + 0 .. S-1``) or a sequence of ints; every value is trained with
      every seed, so there are ``M = K * S`` members (value-major).
    - `devices`: devices to shard the ensemble axis over: ``None`` (``config.devices``,
      else all local devices), an int (the first ones) or a sequence of jax devices;
      ``M`` must be a multiple of their number.
    - `progress`: the compilation notice, a bar on a terminal and one line per epoch.

    **Raises:** ``ValueError`` naming the argument for an unknown `param`, bad `values`,
    `seeds` or `devices`, or an invalid member configuration (before training).

    **Returns:** a :class:`SweepResult`.
    """
    start = time.perf_counter()
    _check_param(task, config, param)
    member_values, member_seeds = _members(config, param, values, seeds)
    n = len(member_values)
    mesh = _mesh(n, devices, config)
    sharded = mesh.devices.size > 1
    # one device: plain single-device arrays (a one-device mesh's NamedSharding comes back
    # from the step as an equivalent spec that jit's cache tells apart: a second compile)
    ensemble: Any = (
        NamedSharding(mesh, P("ensemble"))
        if sharded
        else SingleDeviceSharding(mesh.devices.flat[0])
    )
    replicated: Any = NamedSharding(mesh, P()) if sharded else ensemble
    configs = [
        _member_config(config, param, v, int(s))
        for v, s in zip(member_values, member_seeds, strict=True)
    ]
    data = task.load_data(config)
    out = Path(config.out)
    runs = [Run(c, data, None, jax.random.key(c.seed), out) for c in configs]
    arrays = task.train_arrays(runs[0])
    n_samples = len(arrays[0])
    if n_samples < config.batch_size:
        raise ValueError(
            f"`batch_size` (--batch-size) {config.batch_size} exceeds the {n_samples} "
            "training samples."
        )

    # initial states: each member's own init (concrete, as fit), stacked
    states = [task.init(r) for r in runs]
    _, static = eqx.partition(states[0], eqx.is_array)
    for i, s in enumerate(states[1:], 1):
        if not _same_structure(states[0], s):
            raise ValueError(
                f"`param` {param!r}: member {i} ({param}={getattr(configs[i], param)}) has a "
                "differently structured model than member 0, so the members cannot be "
                "stacked; sweep a setting that only changes parameter values."
            )
    stacked = jax.tree_util.tree_map(
        lambda *xs: jnp.stack(xs), *[eqx.filter(s, eqx.is_array) for s in states]
    )
    stacked = jax.device_put(stacked, ensemble)
    root_keys = jax.device_put(jnp.stack([r.key for r in runs]), ensemble)
    traced_values = jax.device_put(
        jnp.asarray(member_values, dtype=jnp.int32 if param == "seed" else jnp.float32),
        ensemble,
    )
    distinct_seeds = sorted(set(int(s) for s in member_seeds))
    shared_batch = len(distinct_seeds) == 1
    batch_axis = None if shared_batch else 0
    base = runs[0]
    hook = SWEEP_STEPS.get((task.name, param))

    def member_step(dyn: Any, batch: Any, root: Any, epoch_key: Any, b: Any, value: Any) -> Any:
        state = eqx.combine(dyn, static)
        run = Run(_traced_config(config, param, value), data, None, root, out)
        key = jax.random.fold_in(epoch_key, b)  # as fit: fold_in(run.epoch_key(epoch), b)
        if hook is not None:
            new, metrics = hook(task, run, state, batch, key, value)
            return eqx.filter(new, eqx.is_array), metrics
        # what make_step builds from concrete numbers stays concrete (e.g. a zero that
        # leaves a term out of an optax chain); the member's traced values stay traced
        with jax.ensure_compile_time_eval():
            step = task.make_step(run, state)
        state, metrics = step(state, batch, key)
        return eqx.filter(state, eqx.is_array), metrics

    def ensemble_step(dyn: Any, batch: Any, roots: Any, keys: Any, b: Any, vals: Any) -> Any:
        new, metrics = jax.vmap(member_step, in_axes=(0, batch_axis, 0, 0, None, 0))(
            dyn, batch, roots, keys, b, vals
        )
        if sharded:
            new = jax.tree_util.tree_map(
                lambda x: jax.lax.with_sharding_constraint(x, ensemble), new
            )
        return new, metrics

    trainer = FlatStep(ensemble_step, stacked)
    n_batches = -(-n_samples // config.batch_size)
    bar = Progress(
        f"{task.name} sweep ({n} members)",
        config.epochs * n_batches,
        unit=task.unit,
        enabled=progress,
    )
    histories: list[dict[str, list[float]]] = [{} for _ in range(n)]
    diverged: list[int | None] = [None] * n
    finals: list[dict[str, Any]] = [{} for _ in range(n)]
    named = [(f"a{i}", a) for i, a in enumerate(arrays)]
    bar.start()
    try:
        for epoch in range(config.epochs):
            loaders = [
                DataLoader(
                    named,
                    config.batch_size,
                    key=jax.random.fold_in(jax.random.fold_in(jax.random.key(s), 1), epoch),
                )
                for s in distinct_seeds
            ]
            where = {s: j for j, s in enumerate(distinct_seeds)}
            epoch_keys = jax.device_put(jnp.stack([r.epoch_key(epoch) for r in runs]), ensemble)
            values_per_batch: list[dict[str, Any]] = []
            for b, per_seed in enumerate(zip(*loaders, strict=True)):
                batches = [task.to_step_batch(base, tuple(a for _, a in nm)) for nm in per_seed]
                if shared_batch:
                    batch = jax.device_put(batches[0], replicated)
                else:
                    batch = tuple(
                        jax.device_put(
                            np.stack([np.asarray(bs[k]) for bs in
                                      (batches[where[int(s)]] for s in member_seeds)]),
                            ensemble,
                        )
                        for k in range(len(batches[0]))
                    )  # fmt: skip
                values_per_batch.append(
                    trainer(batch, root_keys, epoch_keys, np.int32(b), traced_values)
                )
                bar.update(1)
            host = _to_host(eqx.combine(trainer.state, static))
            means = {
                k: np.asarray(jax.device_get([v[k] for v in values_per_batch]))
                for k in values_per_batch[0]
            }  # (n_batches, M) each
            for i in range(n):
                row: dict[str, float] = {k: float(np.mean(a[:, i])) for k, a in means.items()}
                if diverged[i] is None and not _finite_member(task, host, i, row):
                    diverged[i] = epoch + 1
                if diverged[i] is None:
                    member = _take(host, i)
                    row.update(
                        {
                            k: float(v)
                            for k, v in task.evaluate(
                                runs[i], member, runs[i].eval_key(epoch)
                            ).items()
                        }
                    )
                for k, v in row.items():
                    histories[i].setdefault(k, []).append(v)
            _pad(histories)
            bar.epoch(_epoch_line(epoch, config.epochs, histories, diverged))
    finally:
        bar.close()
    final_state = eqx.combine(trainer.state, static)
    host = _to_host(final_state)
    for i in range(n):
        if diverged[i] is None:
            finals[i] = task.final(runs[i], _take(host, i), runs[i].final_key)
        else:
            finals[i] = {"diverged_epoch": diverged[i]}
    return SweepResult(
        task=task.name,
        config=config,
        param=param,
        values=member_values,
        seeds=member_seeds,
        history=histories,
        final=finals,
        state=final_state,
        step_compilations=_compilations(trainer),
        devices=int(mesh.devices.size),
        wall_time_s=time.perf_counter() - start,
    )


def _compilations(trainer: FlatStep) -> int:
    """Times the step was compiled: its traces, or the executables jit cached when that is
    more (a change of an input's sharding compiles again without tracing)."""
    cached = getattr(trainer._jitted, "_cache_size", None)
    return max(trainer.compilations, int(cached()) if callable(cached) else 0)


def _same_structure(a: Any, b: Any) -> bool:
    """Whether two states have the same tree, array shapes and dtypes, and equal
    non-array numbers and strings (so that they stack along a new axis)."""
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    if ta != tb:  # type: ignore[operator]
        return False
    for x, y in zip(la, lb, strict=True):
        if eqx.is_array(x) != eqx.is_array(y):
            return False
        if eqx.is_array(x):
            if x.shape != y.shape or x.dtype != y.dtype:
                return False
        elif isinstance(x, int | float | str | bool) and x != y:
            return False
    return True


def _finite_member(task: AbstractTask, host: Any, i: int, row: dict[str, float]) -> bool:
    if not all(math.isfinite(v) for v in row.values()):
        return False
    watched = task.watched(_take(host, i))
    return all(
        bool(np.all(np.isfinite(np.asarray(x))))
        for x in jax.tree_util.tree_leaves(eqx.filter(watched, eqx.is_array))
        if not _is_key(x) and np.issubdtype(np.asarray(x).dtype, np.inexact)
    )


def _pad(histories: list[dict[str, list[float]]]) -> None:
    """Give every member every quantity for every epoch (NaN where a diverged member was
    not evaluated)."""
    names = {k for h in histories for k in h}
    length = max((len(v) for h in histories for v in h.values()), default=0)
    for h in histories:
        for k in names:
            h.setdefault(k, [])
            h[k].extend([math.nan] * (length - len(h[k])))


def _main_metric(names: Sequence[str]) -> str | None:
    for k in ("test_acc", "acc", "accuracy", "loss", "energy"):
        if k in names:
            return k
    return names[0] if names else None


def _epoch_line(
    epoch: int, epochs: int, histories: list[dict[str, list[float]]], diverged: list[Any]
) -> str:
    metric = _main_metric(list(histories[0]))
    text = f"epoch {epoch + 1:3d}/{epochs}"
    if metric is not None:
        last = np.array([h[metric][-1] for h in histories], dtype=np.float64)
        good = last[np.isfinite(last)]
        if good.size:
            text += (
                f"  {metric} min {good.min():.4f}  median {np.median(good):.4f}  "
                f"max {good.max():.4f}"
            )
    bad = sum(d is not None for d in diverged)
    return text + (f"  ({bad} diverged)" if bad else "")


def plot_sweep(result: SweepResult, path: str | Path, metric: str | None = None) -> Path | None:
    """Plot each member's final `metric` (default ``test_acc`` when there is one, else the
    first numeric final metric) against its value of the swept parameter, with the mean
    over seeds as a line; a log x axis when the values are positive and span more than a
    factor 10. Writes `path` (PNG) and returns it; without matplotlib prints one warning
    line and returns ``None``."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        from .._plotting import MISSING

        print(MISSING, file=sys.stderr, flush=True)
        return None
    rows = result.rows()
    numeric = [k for k in rows[0] if k not in ("member", result.param, "seed")]
    for r in rows[1:]:
        numeric += [k for k in r if k not in numeric and k not in ("member", result.param, "seed")]
    metric = metric if metric is not None else _main_metric(numeric)
    if metric is None or metric not in numeric:
        raise ValueError(
            f"`metric` must be one of the sweep's final metrics {', '.join(numeric)}, got "
            f"{metric!r}."
        )
    x = np.asarray(result.values, dtype=np.float64)
    y = np.array([np.nan if r.get(metric) is None else r[metric] for r in rows], dtype=np.float64)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    ax.scatter(x, y, s=18, alpha=0.7, label="members")
    ux = np.unique(x)
    mean = np.array([np.nanmean(y[x == u]) if np.any(np.isfinite(y[x == u])) else np.nan
                     for u in ux])  # fmt: skip
    if len(ux) < len(x):
        ax.plot(ux, mean, "-", color="C1", label="mean over seeds")
        ax.legend(fontsize=8)
    else:
        ax.plot(ux, mean, "-", color="C0", alpha=0.5)
    if np.all(x > 0) and x.max() > 10 * x.min():
        ax.set_xscale("log")
    ax.set_xlabel(result.param)
    ax.set_ylabel(f"final {metric}")
    ax.set_title(f"{result.task}: {metric} vs {result.param} ({result.n_members} members)")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    return out
