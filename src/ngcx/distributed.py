r"""Several processes, one program: ngcx on JAX's multi-controller runtime
(``jax.distributed``).

One process runs per host (or per GPU, or per CPU process in a test); each sees its local
devices, and after :func:`initialize` every process sees all devices of all processes.
``ngcx.training.fit`` then builds one global mesh over them
(:class:`ngcx.parallel.DataParallel` with ``devices="global"``): every process draws the
same batch order, loads only its own rows of each batch and contributes them to a global
array (``jax.make_array_from_process_local_data``); parameters are replicated; the same
jitted step runs on every process, and XLA reduces the batch sums across processes. Only
process 0 writes the run folder (config, metrics, checkpoints, plots, each atomically);
every process reads a checkpoint to resume.

Launch (one command per process; ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES`` and
``JAX_PROCESS_ID`` may replace the flags, and under SLURM, Open MPI, Kubernetes or on a
Cloud TPU pod slice JAX finds all three by itself):

```bash
ngcx train pcn --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0 --out runs/pcn
ngcx train pcn --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 1 --out runs/pcn
```

When a process dies, the others stop within the heartbeat timeout (``--heartbeat-timeout``,
default 100 s, JAX's): JAX's coordination service reports that a task stopped sending
heartbeats and terminates them, so a broken job never hangs.
"""

from __future__ import annotations

import os
import re
from typing import Any


__all__ = ["initialize", "is_initialized", "process_index", "process_count", "barrier"]

_CLUSTER_VARS = ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE", "TPU_WORKER_HOSTNAMES")
_state: dict[str, Any] = {"initialized": False}


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as err:
        raise ValueError(f"${name} must be an integer, got {value!r}.") from err


def _cluster_detected() -> bool:
    """A multi-process launcher JAX can read by itself (more than one task)."""
    if _int_env("SLURM_NTASKS") not in (None, 0, 1):
        return True
    if _int_env("OMPI_COMM_WORLD_SIZE") not in (None, 0, 1):
        return True
    return bool(os.environ.get("TPU_WORKER_HOSTNAMES", "").count(","))


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    heartbeat_timeout_s: int = 100,
    initialization_timeout_s: int = 300,
) -> bool:
    """Join the multi-process runtime, before any JAX computation.

    **Arguments:**

    - `coordinator`: ``HOST:PORT`` of process 0's coordination service (default
      ``$JAX_COORDINATOR_ADDRESS``).
    - `num_processes`: number of processes, >= 1 (default ``$JAX_NUM_PROCESSES``).
    - `process_id`: this process, in ``[0, num_processes)`` (default ``$JAX_PROCESS_ID``).
    - `heartbeat_timeout_s`: seconds after which a silent process counts as dead and the
      others are stopped (> 0).
    - `initialization_timeout_s`: seconds to wait for every process to join (> 0).

    Without any of the three (flags or variables), a cluster launcher that JAX detects
    (SLURM, Open MPI, a TPU pod slice) with more than one task initialises from its own
    variables; otherwise nothing happens (one process).

    On CPU the cross-process collectives use Gloo (``jax_cpu_collectives_implementation``).

    **Returns:** ``True`` when the runtime is (now) initialised with several processes or
    from a cluster, ``False`` for a single process.

    **Raises:** ``ValueError`` naming the flag for a partial or invalid setting.
    """
    import jax

    if _state["initialized"]:
        return True
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS") or None
    if num_processes is None:
        num_processes = _int_env("JAX_NUM_PROCESSES")
    if process_id is None:
        process_id = _int_env("JAX_PROCESS_ID")
    for name, value in (("heartbeat_timeout_s", heartbeat_timeout_s),
                        ("initialization_timeout_s", initialization_timeout_s)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"`{name}` must be a positive int (seconds), got {value!r}.")
    given = [v is not None for v in (coordinator, num_processes, process_id)]
    if not any(given):
        if not _cluster_detected():
            return False
        _use_gloo_on_cpu(jax)
        jax.distributed.initialize(
            heartbeat_timeout_seconds=heartbeat_timeout_s,
            initialization_timeout=initialization_timeout_s,
        )
        _state["initialized"] = True
        return True
    if not all(given):
        missing = [
            flag
            for flag, g in zip(
                ("--coordinator", "--num-processes", "--process-id"), given, strict=True
            )
            if not g
        ]
        raise ValueError(
            f"multi-process training needs --coordinator, --num-processes and --process-id "
            f"(or $JAX_COORDINATOR_ADDRESS, $JAX_NUM_PROCESSES, $JAX_PROCESS_ID); missing "
            f"{', '.join(missing)}."
        )
    assert coordinator is not None and num_processes is not None and process_id is not None
    if not re.fullmatch(r"\[?[\w.:-]+\]?:\d{1,5}", coordinator):
        raise ValueError(f"`coordinator` (--coordinator) must be HOST:PORT, got {coordinator!r}.")
    if isinstance(num_processes, bool) or not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(
            f"`num_processes` (--num-processes) must be an int >= 1, got {num_processes!r}."
        )
    if (
        isinstance(process_id, bool)
        or not isinstance(process_id, int)
        or not 0 <= process_id < num_processes
    ):
        raise ValueError(
            f"`process_id` (--process-id) must be an int in [0, {num_processes}), "
            f"got {process_id!r}."
        )
    _use_gloo_on_cpu(jax)
    jax.distributed.initialize(
        coordinator,
        num_processes,
        process_id,
        heartbeat_timeout_seconds=heartbeat_timeout_s,
        initialization_timeout=initialization_timeout_s,
    )
    _state["initialized"] = True
    return True


def _use_gloo_on_cpu(jax: Any) -> None:
    # needed for collectives between CPU processes; GPU and TPU backends ignore it
    jax.config.update("jax_cpu_collectives_implementation", "gloo")


def is_initialized() -> bool:
    """Whether :func:`initialize` joined a multi-process runtime in this process."""
    return bool(_state["initialized"])


def process_index() -> int:
    """This process's index (0 on one process)."""
    import jax

    return int(jax.process_index())


def process_count() -> int:
    """The number of processes (1 without :func:`initialize`)."""
    import jax

    return int(jax.process_count())


def barrier(name: str) -> None:
    """Wait until every process reaches the barrier `name` (no-op on one process)."""
    import jax

    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
