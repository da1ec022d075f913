"""The ``ngcx`` command.

``ngcx train pcn [--out DIR] [--epochs N] ...`` trains the flagship predictive coding
network on the embedded digits (see :func:`ngcx.train.train_pcn`); ``ngcx train conv-pc``
trains the convolutional predictive coding model (:func:`ngcx.train.train_conv_pc`);
``ngcx train snn-stdp`` trains a Diehl & Cook spiking network with STDP and
``ngcx train snn-surrogate`` a two-layer LIF network by surrogate-gradient BPTT
(:mod:`ngcx.train_snn`). Every training command writes ``metrics.json``, a checkpoint and
its plots to ``--out`` (without matplotlib, one warning line and no plots; the run still
succeeds).

Output: one result line per epoch on stdout. On a terminal a progress bar runs on stderr;
piped or redirected, there is no bar (no carriage returns in a log) and each epoch line
ends with the elapsed and estimated remaining time. A ``compiling...`` line comes before
the first step, and estimates leave the compilation out; ``--no-progress`` prints only the
epoch lines. Training commands use JAX's persistent compilation cache, in the user cache
directory (``$XDG_CACHE_HOME/ngcx/jax``, by default ``~/.cache/ngcx/jax``;
``$NGCX_COMPILE_CACHE`` names another folder, or ``0`` turns it off), so a repeat run
loads its compiled steps instead of compiling them; ``--no-compile-cache`` turns it off
for one run.

``ngcx demo [--out DIR]`` evaluates every activation and surrogate on a grid, checks that
each carried derivative equals ``jax.grad`` through the function, prints a table and
writes plots (``activations.png``, ``surrogates.png``) and ``demo.json`` to ``DIR``
(default ``runs/demo``).
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


_MODELS = {
    "pcn": "discriminative predictive coding network on digits",
    "conv-pc": "convolutional predictive coding on 16x16 digits",
    "snn-stdp": "Diehl & Cook spiking network (trace STDP) on digits",
    "snn-surrogate": "two-layer LIF network trained by surrogate-gradient BPTT on digits",
}


def build_parser(only: str | None = "all") -> argparse.ArgumentParser:
    """The argument parser of the ``ngcx`` command. `only` names the training command
    whose options are added (``"all"``, the default: every one; ``None``: none, enough
    for ``ngcx --help`` and ``ngcx train --help``): the options come from the trainers'
    config dataclasses, and :func:`main` imports only the trainer it runs."""
    parser = argparse.ArgumentParser(prog="ngcx", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="evaluate activations and surrogates, write plots")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    train = sub.add_parser("train", help="train a flagship model on embedded data")
    models = train.add_subparsers(dest="model", required=True)
    adders = {
        "pcn": _add_pcn_options,
        "conv-pc": _add_conv_pc_options,
        "snn-stdp": _add_snn_stdp_options,
        "snn-surrogate": _add_snn_surrogate_options,
    }
    for name, text in _MODELS.items():
        model = models.add_parser(name, help=text)
        if only in ("all", name):
            adders[name](model)
            _add_run_options(model)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-plots", action="store_true", help="write no plots")
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="print only the per-epoch results (no progress bar, compilation notice or timings)",
    )
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not use JAX's persistent compilation cache (default: on, in "
        "$XDG_CACHE_HOME/ngcx/jax or ~/.cache/ngcx/jax; $NGCX_COMPILE_CACHE sets another "
        "folder, or 0 for off)",
    )


def _add_pcn_options(pcn: argparse.ArgumentParser) -> None:
    from .train import PCNConfig

    defaults = PCNConfig()
    pcn.add_argument("--out", default=defaults.out, help="output folder (default runs/pcn)")
    pcn.add_argument("--epochs", type=int, default=defaults.epochs)
    pcn.add_argument("--batch-size", type=int, default=defaults.batch_size)
    pcn.add_argument("--hidden", type=int, nargs="+", default=list(defaults.sizes[1:-1]))
    pcn.add_argument("--T", type=int, default=defaults.T, help="E-step length")
    pcn.add_argument("--tau-m", type=float, default=defaults.tau_m, help="ms")
    pcn.add_argument("--dt", type=float, default=defaults.dt, help="ms")
    pcn.add_argument("--act-fx", default=defaults.act_fx)
    pcn.add_argument("--eta", type=float, default=defaults.eta)
    pcn.add_argument("--optim", default=defaults.optim_type, choices=["sgd", "adam", "nag"])
    pcn.add_argument("--seed", type=int, default=defaults.seed)
    pcn.add_argument(
        "--devices", type=int, default=None, help="data-parallel devices (default: all local)"
    )


def _add_conv_pc_options(cpc: argparse.ArgumentParser) -> None:
    from .train import ConvPCConfig

    cdef = ConvPCConfig()
    cpc.add_argument("--out", default=cdef.out, help="output folder (default runs/conv-pc)")
    cpc.add_argument("--epochs", type=int, default=cdef.epochs)
    cpc.add_argument("--batch-size", type=int, default=cdef.batch_size)
    cpc.add_argument("--features", type=int, default=cdef.n_features)
    cpc.add_argument("--kernel", type=int, default=cdef.kernel)
    cpc.add_argument("--T", type=int, default=cdef.T)
    cpc.add_argument("--tau-m", type=float, default=cdef.tau_m)
    cpc.add_argument("--gamma", type=float, default=cdef.gamma, help="sparsity (laplacian)")
    cpc.add_argument("--eta", type=float, default=cdef.eta)
    cpc.add_argument("--seed", type=int, default=cdef.seed)


def _add_snn_stdp_options(parser: argparse.ArgumentParser) -> None:
    from .train_snn import SNNSTDPConfig

    _add_config_options(parser, SNNSTDPConfig)


def _add_snn_surrogate_options(parser: argparse.ArgumentParser) -> None:
    from .surrogates import SURROGATES
    from .train_snn import SNNSurrogateConfig

    choices = {"surrogate": sorted(SURROGATES), "encoding": ["current", "poisson"]}
    _add_config_options(parser, SNNSurrogateConfig, choices)


def _add_config_options(
    parser: argparse.ArgumentParser, config_cls: type, choices: dict | None = None
) -> None:
    """A sub-command whose options are the fields of a config dataclass (``--field-name``,
    typed and defaulted from the dataclass; a bool field is a ``--flag``/``--no-flag``
    pair; ``plots`` becomes ``--no-plots``; a field's ``metadata["help"]`` is its help)."""
    defaults = config_cls()
    choices = choices or {}
    for field in dataclasses.fields(config_cls):
        if field.name == "plots":
            continue
        value = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        text = field.metadata.get("help")
        text = f"{text} (default {value})" if text else f"default {value}"
        if isinstance(value, bool):
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=value, dest=field.name,
                help=text,
            )  # fmt: skip
            continue
        kind = int if field.name == "devices" else type(value)
        parser.add_argument(
            flag,
            type=kind,
            default=value,
            dest=field.name,
            choices=choices.get(field.name),
            help=text,
        )
    parser.set_defaults(config_cls=config_cls)


def _train_from_config(args: argparse.Namespace, train: Any) -> int:
    cls = args.config_cls
    names = [f.name for f in dataclasses.fields(cls) if f.name != "plots"]
    config = cls(**{n: getattr(args, n) for n in names}, plots=not args.no_plots)
    results = train(config, progress=not args.no_progress)
    print(
        f"final test accuracy {results['final_test_acc']:.4f}, train "
        f"{results['final_train_acc']:.4f}, wall time {results['wall_time_s']:.1f}s; "
        f"wrote {config.out}/"
    )
    return 0


def _train_conv_pc(args: argparse.Namespace) -> int:
    from .train import ConvPCConfig, train_conv_pc

    config = ConvPCConfig(
        n_features=args.features,
        kernel=args.kernel,
        T=args.T,
        tau_m=args.tau_m,
        gamma=args.gamma,
        eta=args.eta,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        out=str(args.out),
        plots=not args.no_plots,
    )
    results = train_conv_pc(config, progress=not args.no_progress)
    h = results["history"]["recon_error"]
    print(
        f"reconstruction error {h[0]:.3f} -> {h[-1]:.3f} ({results['recon_error_drop']:.1f}x), "
        f"test {results['final_test_recon_error']:.3f}, wall time {results['wall_time_s']:.1f}s; "
        f"wrote {config.out}/"
    )
    return 0


def _train_pcn(args: argparse.Namespace) -> int:
    from .train import PCNConfig, train_pcn

    config = PCNConfig(
        sizes=(64, *args.hidden, 10),
        T=args.T,
        tau_m=args.tau_m,
        dt=args.dt,
        act_fx=args.act_fx,
        eta=args.eta,
        optim_type=args.optim,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        out=str(args.out),
        plots=not args.no_plots,
        devices=args.devices,
    )
    results = train_pcn(config, progress=not args.no_progress)
    print(
        f"final test accuracy {results['final_test_acc']:.4f}, train "
        f"{results['final_train_acc']:.4f}, wall time {results['wall_time_s']:.1f}s; "
        f"wrote {config.out}/"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line `argv` (default ``sys.argv[1:]``). Exit status: 0 on success;
    2 for invalid arguments or configuration (a one-line message naming the flag, nothing
    written); 3 when training became non-finite (the message names the quantity, epoch and
    batch); 1 when ``demo`` finds a derivative mismatch."""
    # a command line writes its plots to files: a non-interactive backend unless the user
    # chose one (ngcx.viz itself never changes the backend)
    os.environ.setdefault("MPLBACKEND", "Agg")
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_model_named(argv))
    args = parser.parse_args(argv)
    out = Path(args.out) if getattr(args, "out", None) is not None else None
    fresh = out is not None and not out.exists()
    from ._runs import NonFiniteError

    cache = None if getattr(args, "no_compile_cache", True) else default_cache_dir()
    try:
        with compile_cache(cache):
            return _run(args)
    except NonFiniteError as err:
        print(f"ngcx: error: {err}", file=sys.stderr)
        return 3
    except ValueError as err:
        if fresh and out is not None and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # leave no empty output folder behind an invalid configuration
        message = " ".join(str(err).split())
        parser.exit(2, f"ngcx: error: {message}\n")
    return 2  # pragma: no cover - parser.exit raises


def _model_named(argv: Sequence[str]) -> str | None:
    """The model of ``ngcx train MODEL ...`` (the second word that is not an option), whose
    options the parser then needs; ``None`` for any other command line."""
    words = [a for a in argv if not a.startswith("-")]
    return words[1] if len(words) > 1 and words[0] == "train" else None


def _run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.command == "demo":
        report = _demo(args.out)
        worst = max(max(report["activations"].values()), max(report["surrogates"].values()))
        print(f"wrote {args.out} in {time.perf_counter() - start:.1f}s; worst mismatch {worst:.1e}")
        return 0 if worst < 1e-5 else 1
    if args.command == "train" and args.model == "pcn":
        return _train_pcn(args)
    if args.command == "train" and args.model == "conv-pc":
        return _train_conv_pc(args)
    if args.command == "train" and args.model == "snn-stdp":
        from .train_snn import train_snn_stdp

        return _train_from_config(args, train_snn_stdp)
    if args.command == "train" and args.model == "snn-surrogate":
        from .train_snn import train_snn_surrogate

        return _train_from_config(args, train_snn_surrogate)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
