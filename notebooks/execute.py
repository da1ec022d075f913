"""Execute every tutorial notebook (jupytext percent scripts) in a fresh kernel.

    python notebooks/execute.py [NAME ...]      # what ``nox -s notebooks`` and ``nox -s docs`` run

Each script ``NN_name.py`` is paired with ``NN_name.ipynb`` (jupytext, no outputs stored:
the file to open in Jupyter); the run first checks that every pair holds the same cells
(fix a stale pair with ``jupytext --sync notebooks/NN_name.py``). Each script is then run
by nbclient (``--jobs`` at once, default one per CPU, each in its own process and
kernel); a cell that raises fails the run, and so does a notebook that takes longer than
``--limit`` seconds (default 120: every tutorial must run in under two minutes on a 2-core
CPU). Executed notebooks are written to ``--out`` (default ``notebooks/_executed``, not
tracked), where the docs build reads their outputs.

An executed notebook records a key: a hash of its script, every file of ``src/ngcx``,
``pyproject.toml`` and the installed versions of the libraries it runs on. A notebook whose
executed copy has the current key (and ran in time) is not run again (``--force`` runs it
anyway): CI's ``docs`` and ``notebooks`` sessions execute the notebooks once between them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LIBRARIES = ("jax", "jaxlib", "equinox", "optax", "numpy", "matplotlib", "ipykernel")


def execution_key(script: Path) -> str:
    digest = hashlib.sha256()
    sources = [script, ROOT / "pyproject.toml", *sorted((ROOT / "src" / "ngcx").rglob("*.py"))]
    for path in sources:
        if path.exists():
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}=={version}".encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def pairing_problem(script: Path) -> str | None:
    """Why ``script`` and its paired ``.ipynb`` disagree, or None."""
    paired = script.with_suffix(".ipynb")
    fix = f"run `jupytext --sync notebooks/{script.name}`"
    if not paired.exists():
        return f"{paired.name} is missing: {fix}"
    if _cells(jupytext.read(script)) != _cells(nbformat.read(paired, as_version=4)):
        return f"{paired.name} and {script.name} differ: {fix}"
    return None


def cached(target: Path, key: str, limit: float) -> float | None:
    """Seconds of the recorded run when ``target`` is an up-to-date execution, else None."""
    if not target.exists():
        return None
    try:
        record = json.loads(target.read_text(encoding="utf-8"))["metadata"]["ngcx_execution"]
    except (KeyError, ValueError):
        return None
    if record.get("key") != key or record.get("seconds", limit + 1) > limit:
        return None
    return float(record["seconds"])


def run_one(path: Path, out: Path, limit: float, force: bool) -> tuple[str, str, float, str]:
    """Execute one script into ``out`` (unless its executed copy is current): returns
    ``(name, status, seconds, message)`` with status ``cached``, ``ok``, ``TOO SLOW`` or
    ``FAILED``."""
    target = out / (path.stem + ".ipynb")
    key = execution_key(path)
    seconds = None if force else cached(target, key, limit)
    if seconds is not None:
        return path.name, "cached", seconds, "(executed before, unchanged)"
    target.unlink(missing_ok=True)
    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, timeout=int(limit), kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )  # fmt: skip
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as err:  # a failing cell: report it, keep going
        return path.name, "FAILED", 0.0, f"{type(err).__name__}: {str(err)[-2000:]}"
    elapsed = time.perf_counter() - start
    notebook.metadata["ngcx_execution"] = {"key": key, "seconds": round(elapsed, 1)}
    nbformat.write(notebook, target)
    return path.name, "ok" if elapsed <= limit else "TOO SLOW", elapsed, ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook scripts (default: all)")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per notebook")
    parser.add_argument("--out", type=Path, default=HERE / "_executed")
    parser.add_argument("--force", action="store_true", help="run even if up to date")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1,
        help="notebooks executed at once, each in its own process and kernel (default: CPUs)",
    )  # fmt: skip
    args = parser.parse_args()
    paths = [Path(n).resolve() for n in args.names] or sorted(HERE.glob("[0-9][0-9]_*.py"))
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    unpaired = [p for p in map(pairing_problem, paths) if p]
    for problem in unpaired:
        print(f"UNPAIRED {problem}")
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        jobs = [pool.submit(run_one, p, args.out, args.limit, args.force) for p in paths]
        for job in jobs:  # reported in order
            name, status, seconds, message = job.result()
            if status in ("FAILED", "TOO SLOW"):
                failed.append(name)
            if status == "FAILED":
                print(f"FAILED {name}: {message}", flush=True)
            else:
                print(f"{status:8s} {name}  {seconds:6.1f} s {message}".rstrip(), flush=True)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")
    if unpaired:
        print(f"{len(unpaired)} notebook(s) not paired with their .ipynb")
    return 1 if failed or unpaired else 0


if __name__ == "__main__":
    sys.exit(main())
