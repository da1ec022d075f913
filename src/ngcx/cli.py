"""The ``ngcx`` command: train, evaluate and inspect ngcx models.

``ngcx train MODEL [options]`` trains one of the models of :mod:`ngcx.training` (``ngcx
train --help`` lists them; ``ngcx train MODEL --help`` lists every option, one per field of
the model's config dataclass) with the shared loop :func:`ngcx.training.fit`. Settings come
from the config's defaults, then ``--config FILE`` (JSON or YAML, e.g. an earlier run's
``config.json``), then the flags. Each run writes into ``--out``: ``config.json`` (the
resolved settings), ``metrics.jsonl`` (one line per epoch, as it goes), ``checkpoint.ckpt``
(after every epoch: model, optimiser state, epoch, key, config), ``metrics.json``,
``model.ckpt`` and plots (without matplotlib: one warning line, no plots; the run still
succeeds). A non-empty ``--out`` is refused unless ``--overwrite`` (replace the previous
run's files) or ``--resume`` (continue it: ``ngcx train MODEL --resume DIR [--epochs N]``
gives the same weights as an uninterrupted run). ``--data`` selects ``digits`` (embedded,
default), ``mnist:DIR``, ``fashion-mnist:DIR`` or ``npz:FILE``; ``--data-seed`` the
train/test split.

``ngcx sweep MODEL --param NAME=SPEC [--seeds N] [options]`` trains an ensemble over a
setting's values (``START:STOP:log:N``, ``START:STOP:lin:N`` or a comma list) and seeds as
one ``vmap`` compiled once, its ensemble axis sharded over the devices, and writes
``sweep.jsonl`` (a row per member), ``sweep.json`` and ``sweep.png``
(:func:`ngcx.training.sweep`).

Several processes (JAX's multi-controller runtime): ``--coordinator HOST:PORT
--num-processes N --process-id I`` (or ``$JAX_COORDINATOR_ADDRESS``, ``$JAX_NUM_PROCESSES``,
``$JAX_PROCESS_ID``; SLURM, Open MPI and TPU pod launchers need none) on every process;
see :mod:`ngcx.distributed`.

``ngcx evaluate DIR [--data SPEC]`` recomputes a saved run's final metrics from its
checkpoint, prints them and writes ``DIR/evaluation.json`` (or ``--output FILE``).

Output: one result line per epoch on stdout. On a terminal a progress bar runs on stderr;
piped or redirected, there is no bar (no carriage returns in a log) and each epoch line
ends with the elapsed and estimated remaining time. A ``compiling...`` line comes before
the first step, and estimates leave the compilation out; ``--no-progress`` prints only the
epoch lines. Training and evaluation use JAX's persistent compilation cache, in the user
cache directory (``$XDG_CACHE_HOME/ngcx/jax``, by default ``~/.cache/ngcx/jax``;
``$NGCX_COMPILE_CACHE`` names another folder, or ``0`` turns it off), so a repeat run
loads its compiled steps instead of compiling them; ``--no-compile-cache`` turns it off
for one run.

``ngcx demo [--out DIR]`` evaluates every activation and surrogate on a grid, checks that
each carried derivative equals ``jax.grad`` through the function, prints a table and
writes plots (``activations.png``, ``surrogates.png``) and ``demo.json`` to ``DIR``
(default ``runs/demo``).

Exit status: 0 on success; 2 for invalid arguments, configuration or data (one line naming
the flag; nothing written); 3 when training became non-finite (the message names the
quantity, epoch and batch; the last good epoch's checkpoint stays); 1 when ``demo`` finds
a derivative mismatch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._compile_cache import compile_cache, default_cache_dir
from ._plotting import MISSING as _PLOTS_MISSING


# JAX, numpy and the trainers are imported only by the command that runs, so that
# ``ngcx --help`` (and a mistyped command) answers at once
if TYPE_CHECKING:
    import numpy as np


_DEMO_ACTIVATIONS = [
    "identity", "relu", "lrelu", "relu6", "elu", "silu", "gelu", "telu",
    "softplus", "sigmoid", "tanh", "heaviside", "threshold_soft",
]  # fmt: skip


def _demo(out: Path) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    from tqdm import tqdm

    from . import activations, surrogates

    out.mkdir(parents=True, exist_ok=True)
    grid = jnp.linspace(-3.0, 3.0, 241)
    report: dict = {"activations": {}, "surrogates": {}}
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {"act": {}, "surr": {}}
    names = [("act", n) for n in _DEMO_ACTIVATIONS] + [
        ("surr", n) for n in surrogates.SURROGATES if n not in ("ste", "superspike")
    ]
    bar = sys.stderr.isatty()  # a bar on a terminal only: no carriage returns in a log
    for kind, name in tqdm(names, desc="evaluating", unit="fn", disable=not bar):
        if kind == "act":
            args = (0.5,) if name == "threshold_soft" else ()
            fx, dfx = activations.create_function(name)
            values = fx(grid, *args)
            carried = dfx(grid, *args)
            autodiff = jax.vmap(jax.grad(lambda u, fx=fx, args=args: fx(u, *args)))(grid)
            report["activations"][name] = float(jnp.max(jnp.abs(carried - autodiff)))
            curves["act"][name] = (np.asarray(values), np.asarray(carried))
        else:
            surr = surrogates.get_surrogate(name)
            spikes = surr(grid, 0.0)
            carried = surr.d_spike_fx(grid, 0.0)
            autodiff = jax.vmap(jax.grad(lambda u, s=surr: s(u, 0.0)))(grid)
            report["surrogates"][name] = float(jnp.max(jnp.abs(carried - autodiff)))
            curves["surr"][name] = (np.asarray(spikes), np.asarray(carried))
    print(f"{'function':<22}{'max |dfx - grad|':>18}")
    for section in ("activations", "surrogates"):
        for name, err in report[section].items():
            print(f"{name:<22}{err:>18.2e}")
    _plot_demo(out, np.asarray(grid), curves)
    (out / "demo.json").write_text(json.dumps(report, indent=2))
    return report


def _plot_demo(out: Path, grid: np.ndarray, curves: dict) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # plots are an optional extra
        print(_PLOTS_MISSING, file=sys.stderr)
        return
    for key, title, fname in (
        ("act", "activations (solid) and their derivatives (dashed)", "activations.png"),
        ("surr", "surrogate derivatives carried by the spike function", "surrogates.png"),
    ):
        fig, ax = plt.subplots(figsize=(8, 5))
        for name, (values, deriv) in curves[key].items():
            (line,) = ax.plot(grid, deriv, "--" if key == "act" else "-", label=name)
            if key == "act":
                ax.plot(grid, values, color=line.get_color())
        ax.set_title(title)
        ax.set_xlabel("x = v - thr" if key == "surr" else "x")
        ax.set_ylim(-1.5, 3.0 if key == "act" else 2.5)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        fig.savefig(out / fname, dpi=100)
        plt.close(fig)


def _version() -> str:
    from . import __version__

    return f"ngcx {__version__}"


def build_parser(only: str | None = "all") -> argparse.ArgumentParser:
    """The argument parser of the ``ngcx`` command. `only` names the training command
    whose options are added (``"all"``, the default: every one; ``None``: none, enough
    for ``ngcx --help`` and ``ngcx train --help``): the options come from the tasks' config
    dataclasses, and :func:`main` imports only the task it runs."""
    from .training._registry import TASKS

    parser = argparse.ArgumentParser(
        prog="ngcx",
        description="Train, evaluate and inspect ngcx models (ngc-learn's biomimetic "
        "learning as Equinox/JAX).",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="evaluate activations and surrogates, write plots")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    train = sub.add_parser(
        "train", help="train a model (ngcx train MODEL --help lists its options)"
    )
    models = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    for name, (_, _, text) in TASKS.items():
        model = models.add_parser(
            name, help=text, description=f"ngcx train {name}: {text}.",
            argument_default=argparse.SUPPRESS,
        )  # fmt: skip
        if only in ("all", name):
            from .training import get_task

            _add_config_options(model, get_task(name).config_cls)
            _add_run_options(model)
    from ._sweep_cli import add_sweep_parser

    add_sweep_parser(sub, only)
    evaluate = sub.add_parser(
        "evaluate", help="recompute a saved run's final metrics from its checkpoint"
    )
    evaluate.add_argument("run_dir", metavar="DIR", help="a folder written by ngcx train")
    evaluate.add_argument(
        "--data", default=None,
        help="evaluate on this data instead of the run's own (digits, mnist:DIR, "
        "fashion-mnist:DIR, npz:FILE)",
    )  # fmt: skip
    evaluate.add_argument(
        "--devices", type=int, default=None, help="devices to shard the evaluation over"
    )
    evaluate.add_argument(
        "--output", type=Path, default=None, help="where to write the metrics "
        "(default DIR/evaluation.json)",
    )  # fmt: skip
    _add_cache_option(evaluate)
    return parser


def _add_cache_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        default=False,
        help="do not use JAX's persistent compilation cache (default: on, in "
        "$XDG_CACHE_HOME/ngcx/jax or ~/.cache/ngcx/jax; $NGCX_COMPILE_CACHE sets another "
        "folder, or 0 for off)",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("run options")
    run.add_argument(
        "--config", type=Path, default=None, metavar="FILE",
        help="read settings from a JSON or YAML file (e.g. a run's config.json); flags "
        "override them",
    )  # fmt: skip
    run.add_argument(
        "--resume", type=Path, default=None, metavar="DIR",
        help="continue the run saved in DIR (its checkpoint and config; only --epochs, "
        "--plots and --devices may change)",
    )  # fmt: skip
    run.add_argument(
        "--overwrite", action="store_true", default=False,
        help="replace the run files of a previous run in --out",
    )  # fmt: skip
    run.add_argument(
        "--no-progress",
        action="store_true",
        default=False,
        help="print only the per-epoch results (no progress bar, compilation notice or timings)",
    )
    _add_cache_option(run)
    dist = parser.add_argument_group(
        "several processes (jax.distributed; see the docs' Scaling out page)"
    )
    dist.add_argument(
        "--coordinator", default=None, metavar="HOST:PORT",
        help="process 0's coordination address (default $JAX_COORDINATOR_ADDRESS)",
    )  # fmt: skip
    dist.add_argument(
        "--num-processes", type=int, default=None, metavar="N",
        help="number of processes (default $JAX_NUM_PROCESSES)",
    )  # fmt: skip
    dist.add_argument(
        "--process-id", type=int, default=None, metavar="I",
        help="this process, 0..N-1 (default $JAX_PROCESS_ID); SLURM, Open MPI and TPU pod "
        "launchers need none of the three",
    )  # fmt: skip
    dist.add_argument(
        "--heartbeat-timeout", type=int, default=100, metavar="SECONDS",
        help="a process silent this long counts as dead and stops the others (default 100)",
    )  # fmt: skip


def _field_kind(config_cls: type, name: str) -> tuple[type, bool]:
    """(element type, is a tuple) of a config field."""
    import types
    import typing

    tp = typing.get_type_hints(config_cls)[name]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is tuple:
        return typing.get_args(tp)[0], True
    return tp, False


def _add_config_options(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One option per field of a config dataclass: ``--field-name`` typed from the
    annotation (a tuple field takes several values, a bool field is a
    ``--flag``/``--no-flag`` pair), its help from ``metadata["help"]`` with the default,
    its ``metadata["choices"]``. Options left out keep the config file's or the
    dataclass's value (argparse's defaults are suppressed)."""
    from .training._config import TrainConfig

    defaults = config_cls()
    common = {f.name for f in dataclasses.fields(TrainConfig)}
    model_fields = [f for f in dataclasses.fields(config_cls) if f.name not in common]
    shared = [f for f in dataclasses.fields(config_cls) if f.name in common]
    for title, fields in (("model options", model_fields), ("training options", shared)):
        group = parser.add_argument_group(title)
        for field in fields:
            value = getattr(defaults, field.name)
            shown = " ".join(map(str, value)) if isinstance(value, tuple) else value
            text = field.metadata.get("help", field.name)
            text = text if value is None else f"{text} (default: {shown})"
            flag = "--" + field.name.replace("_", "-")
            kind, is_tuple = _field_kind(config_cls, field.name)
            if kind is bool:
                group.add_argument(
                    flag, action=argparse.BooleanOptionalAction, dest=field.name, help=text
                )
                continue
            group.add_argument(
                flag,
                type=kind,
                nargs="+" if is_tuple else None,
                dest=field.name,
                choices=field.metadata.get("choices"),
                metavar=field.name.upper() if field.metadata.get("choices") is None else None,
                help=text,
            )
    parser.set_defaults(config_cls=config_cls)


_RUN_KEYS = ("config", "resume", "overwrite", "no_progress", "no_compile_cache")


def _resolve_config(args: argparse.Namespace, task: Any) -> Any:
    """Defaults, then a resumed run's config.json or --config, then the flags given."""
    from .training._config import config_from_dict, read_config_file

    cls = task.config_cls
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    sources = []
    if args.resume is not None:
        saved = Path(args.resume) / "config.json"
        if not saved.is_file():
            raise ValueError(f"`resume` {str(args.resume)!r} holds no config.json of a run.")
        sources.append(saved)
    if args.config is not None:
        sources.append(args.config)
    for source in sources:
        read = read_config_file(source)
        model = read.pop("model", task.name)
        if model != task.name:
            raise ValueError(
                f"`config` {str(source)!r} is a configuration of {model!r}, not of {task.name!r}."
            )
        values.update(read)
    flags = {k: v for k, v in vars(args).items() if k in names}
    for k, v in flags.items():
        values[k] = tuple(v) if isinstance(v, list) else v
    if args.resume is not None:
        values["out"] = str(args.resume)
    return config_from_dict(cls, values, source=str(sources[-1]) if sources else "flags")


def _train(args: argparse.Namespace) -> int:
    from .distributed import initialize

    # before any JAX computation: join the other processes when asked to
    initialize(
        args.coordinator,
        args.num_processes,
        args.process_id,
        heartbeat_timeout_s=args.heartbeat_timeout,
    )
    from .training import fit, get_task

    task = get_task(args.model)
    config = _resolve_config(args, task)
    result = fit(
        task,
        config,
        progress=not args.no_progress,
        resume=args.resume is not None,
        overwrite=args.overwrite,
    )
    import jax

    if jax.process_index() == 0:
        print(
            f"{task.summary(result.final)}; wall time {result.metrics['wall_time_s']:.1f}s; "
            f"wrote {config.out}/"
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .training import evaluate, get_task
    from .training._fit import _write_json

    report = evaluate(args.run_dir, data=args.data, devices=args.devices)
    output = args.output or Path(args.run_dir) / "evaluation.json"
    if not output.parent.is_dir():
        raise ValueError(f"`output` (--output) {str(output)!r}: its folder does not exist.")
    _write_json(output, report)
    task = get_task(report["model"])
    print(
        f"{report['model']} after {report['epoch']} epochs on {report['data']}: "
        f"{task.summary(report['final'])}; wrote {output}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default ``sys.argv[1:]``); returns the exit status
    (see the module docstring)."""
    # a command line writes its plots to files: a non-interactive backend unless the user
    # chose one (ngcx.viz itself never changes the backend)
    os.environ.setdefault("MPLBACKEND", "Agg")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_model_named(argv))
    args = parser.parse_args(argv)
    from ._runs import NonFiniteError

    cache = None if getattr(args, "no_compile_cache", True) else default_cache_dir()
    try:
        with compile_cache(cache):
            return _run(args)
    except NonFiniteError as err:
        print(f"ngcx: error: {err}", file=sys.stderr)
        return 3
    except ValueError as err:
        message = " ".join(str(err).split())
        parser.exit(2, f"ngcx: error: {message}\n")
    return 2  # pragma: no cover - parser.exit raises


def _model_named(argv: Sequence[str]) -> str | None:
    """The model of ``ngcx train MODEL ...`` (the second word that is not an option), whose
    options the parser then needs; ``None`` for any other command line."""
    words = [a for a in argv if not a.startswith("-")]
    return words[1] if len(words) > 1 and words[0] in ("train", "sweep") else None


def _run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.command == "demo":
        report = _demo(args.out)
        worst = max(max(report["activations"].values()), max(report["surrogates"].values()))
        print(f"wrote {args.out} in {time.perf_counter() - start:.1f}s; worst mismatch {worst:.1e}")
        return 0 if worst < 1e-5 else 1
    if args.command == "train":
        return _train(args)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "sweep":
        from ._sweep_cli import run_sweep

        return run_sweep(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
