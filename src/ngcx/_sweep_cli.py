"""``ngcx sweep MODEL --param NAME=SPEC``: train many settings of a model at once.

``ngcx sweep pcn --param eta=1e-4:1e-2:log:16`` trains 16 PCNs, learning rates spaced
logarithmically from 1e-4 to 1e-2, as one ensemble (:func:`ngcx.training.sweep`: the step
``vmap``-ped and compiled once, the ensemble sharded over the devices). ``SPEC`` is
``START:STOP:log:N`` (``N`` values spaced logarithmically, both ends included),
``START:STOP:lin:N`` (linearly) or a comma list (``1e-3,2e-3,5e-3``); ``--seeds S`` trains
every value with ``S`` seeds (``--seed``, ``--seed + 1``, ...); ``--param seed=0,1,2,3``
sweeps the seed alone. Every other flag is a setting of ``ngcx train MODEL`` shared by all
members (``--config FILE`` as for ``train``); ``--devices`` the devices the ensemble is
sharded over (the number of members must be a multiple of it).

Writes into ``--out`` (default ``runs/sweep-MODEL``; a non-empty folder is refused unless
``--overwrite``): ``sweep.jsonl`` (one row per member: its value, seed and final
metrics), ``sweep.json`` (also every member's per-epoch history) and ``sweep.png`` (the
final metric against the value; ``--metric`` chooses it). Prints one line per member and
the best one.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any


if TYPE_CHECKING:
    import numpy as np


__all__ = ["parse_values", "parse_param", "add_sweep_parser", "run_sweep"]

_FLAG = "`param` (--param)"
_FORMS = "START:STOP:log:N, START:STOP:lin:N or a comma list such as 1e-3,2e-3"


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{_FLAG} {spec!r}: {text!r} is not a number; expected {_FORMS}."
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{_FLAG} {spec!r}: {text!r} is not finite; expected {_FORMS}.")
    return value


def parse_values(spec: str) -> np.ndarray:
    """The values of a ``--param`` spec as a float64 array:

    - ``START:STOP:log:N``: ``N`` values from ``START`` to ``STOP`` (both included, both
      > 0) evenly spaced in log scale (``N = 1``: ``[START]``);
    - ``START:STOP:lin:N``: ``N`` values evenly spaced from ``START`` to ``STOP``;
    - ``A,B,C`` (or one number): those values.

    ``ValueError`` naming ``--param`` for anything else."""
    import numpy as np

    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{_FLAG} needs values, got {spec!r}; expected {_FORMS}.")
    text = spec.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 4 or parts[2] not in ("log", "lin"):
            raise ValueError(f"{_FLAG} {spec!r} is not a range; expected {_FORMS}.")
        lo, hi = _number(parts[0], spec), _number(parts[1], spec)
        if not re.fullmatch(r"\d+", parts[3].strip()) or int(parts[3]) < 1:
            raise ValueError(
                f"{_FLAG} {spec!r}: the count {parts[3]!r} must be a positive integer; "
                f"expected {_FORMS}."
            )
        count = int(parts[3])
        if parts[2] == "log":
            if lo <= 0 or hi <= 0:
                raise ValueError(
                    f"{_FLAG} {spec!r}: a log range needs START and STOP > 0; use lin or a "
                    "comma list."
                )
            return np.geomspace(lo, hi, count)
        return np.linspace(lo, hi, count)
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise ValueError(f"{_FLAG} {spec!r} has an empty item; expected {_FORMS}.")
    return np.array([_number(item.strip(), spec) for item in items], dtype=np.float64)


def parse_param(text: str) -> tuple[str, np.ndarray]:
    """``NAME=SPEC`` -> ``(name, parse_values(SPEC))`` (``name`` with ``-`` as ``_``)."""
    name, sep, spec = str(text).partition("=")
    name = name.strip().lstrip("-").replace("-", "_")
    if not sep or not name:
        raise ValueError(f"{_FLAG} must be NAME=SPEC (e.g. eta=1e-4:1e-2:log:16), got {text!r}.")
    return name, parse_values(spec)


def add_sweep_parser(subparsers: Any, only: str | None = "all") -> argparse.ArgumentParser:
    """Add ``sweep MODEL ...`` to `subparsers` (an argparse sub-parser action). `only`
    names the model whose config options are added (``"all"``: every one; ``None``:
    none, enough for ``--help``), as :func:`ngcx.cli.build_parser`. Returns the ``sweep``
    parser."""
    from .cli import _add_cache_option, _add_config_options
    from .training._registry import TASKS

    parser = subparsers.add_parser(
        "sweep",
        help="train many settings of a model at once (ngcx sweep MODEL --param "
        "eta=1e-4:1e-2:log:16)",
        description="Train an ensemble of one model, a setting swept over values (and "
        "seeds), vmapped and sharded over the devices.",
    )
    models = parser.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, (_, _, text) in TASKS.items():
        model = models.add_parser(
            name, help=text, description=f"ngcx sweep {name}: {text}.",
            argument_default=argparse.SUPPRESS,
        )  # fmt: skip
        group = model.add_argument_group("sweep options")
        group.add_argument(
            "--param", required=True, metavar="NAME=SPEC", dest="param",
            help="the setting to sweep and its values: START:STOP:log:N, START:STOP:lin:N "
            "or a comma list (e.g. eta=1e-4:1e-2:log:16, tau_m=5,10,20, seed=0,1,2,3)",
        )  # fmt: skip
        group.add_argument(
            "--seeds", type=int, default=None, metavar="S",
            help="train every value with S seeds (--seed, --seed + 1, ...; default 1)",
        )  # fmt: skip
        group.add_argument(
            "--metric", default=None,
            help="the final metric of the summary plot (default test_acc when there is one)",
        )  # fmt: skip
        group.add_argument(
            "--config", type=Path, default=None, metavar="FILE",
            help="read shared settings from a JSON or YAML file (e.g. a run's config.json); "
            "flags override them",
        )  # fmt: skip
        group.add_argument(
            "--overwrite", action="store_true", default=False,
            help="replace the sweep files of a previous sweep in --out",
        )  # fmt: skip
        group.add_argument(
            "--no-progress", action="store_true", default=False,
            help="print only the per-epoch and per-member lines",
        )  # fmt: skip
        _add_cache_option(group)
        model.set_defaults(resume=None)
        if only in ("all", name):
            from .training import get_task

            _add_config_options(model, get_task(name).config_cls)
    return parser


def run_sweep(args: argparse.Namespace) -> int:
    """Run a parsed ``ngcx sweep`` command line: resolve the shared config as ``ngcx
    train`` does, run :func:`ngcx.training.sweep`, write ``sweep.jsonl``, ``sweep.json``
    and ``sweep.png`` into the output folder, print one line per member and a summary.
    Returns 0; ``ValueError`` (naming the flag) for invalid arguments, before anything is
    written."""
    import dataclasses
    import math

    from ._runs import prepare_out
    from .cli import _resolve_config
    from .training import get_task
    from .training._sweep import SWEEP_FILES, plot_sweep, sweep, sweepable

    task = get_task(args.model)
    name, values = parse_param(args.param)
    allowed = sweepable(task.config_cls)
    if name not in allowed:
        raise ValueError(
            f"{_FLAG} {name!r} cannot be swept for {task.name!r}; choose one of "
            f"{', '.join(allowed)}."
        )
    config = _resolve_config(args, task)
    out = Path(config.out if "out" in vars(args) else f"runs/sweep-{task.name}")
    config = dataclasses.replace(config, out=str(out))
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise ValueError(
            f"`out` (--out) {str(out)!r} is not empty (a previous sweep?); pass --overwrite "
            "to replace its sweep files or choose another --out."
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` (--out) {str(out)!r} is a file, not a folder.")
    seeds = getattr(args, "seeds", None)
    if seeds is not None and seeds < 1:
        raise ValueError(f"`seeds` (--seeds) must be >= 1, got {seeds}.")
    result = sweep(
        task, config, name, values, seeds=seeds, progress=not getattr(args, "no_progress", False)
    )
    prepare_out(out)
    if args.overwrite:
        for file in SWEEP_FILES:
            (out / file).unlink(missing_ok=True)
    result.write(out)
    plotted = None
    if config.plots:
        plotted = plot_sweep(result, out / "sweep.png", metric=getattr(args, "metric", None))
    rows = result.rows()
    for row, final in zip(rows, result.final, strict=True):
        value = f"{name}={row[name]:.4g}" if name != "seed" else f"seed={row['seed']}"
        seed = "" if name == "seed" else f" seed {row['seed']}"
        text = (
            f"diverged at epoch {final['diverged_epoch']}"
            if "diverged_epoch" in final
            else task.summary(final)
        )
        print(f"member {row['member']:3d}: {value}{seed}: {text}")
    metric = getattr(args, "metric", None) or next(
        (k for k in ("test_acc", "loss", "energy") if k in rows[0]),
        next((k for k in rows[0] if k not in ("member", name, "seed")), None),
    )
    best = ""
    if metric is not None:
        scored = [r for r in rows if isinstance(r.get(metric), float) and math.isfinite(r[metric])]
        if scored:
            pick = (min if metric in ("loss", "energy", "mse") else max)(
                scored, key=lambda r: r[metric]
            )
            best = f"; best {metric} {pick[metric]:.4f} at {name}={pick[name]:.4g}"
    print(
        f"{result.n_members} members on {result.devices} device(s), step compiled "
        f"{result.step_compilations}x, wall time {result.wall_time_s:.1f}s{best}; wrote "
        f"{out}/" + ("" if plotted is not None or not config.plots else " (no plot)")
    )
    return 0
