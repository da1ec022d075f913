"""Execute every tutorial notebook (jupytext percent scripts) in a fresh kernel.

    python notebooks/execute.py [NAME ...]      # what ``nox -s notebooks`` runs

Each script is converted to a notebook with jupytext and run by nbclient; a cell that
raises fails the run, and so does a notebook that takes longer than ``--limit`` seconds
(default 120: every tutorial must run in under two minutes on a 2-core CPU). Executed
notebooks are written to ``--out`` (default ``notebooks/_executed``, not tracked).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient


HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook scripts (default: all)")
    parser.add_argument("--limit", type=float, default=120.0, help="seconds per notebook")
    parser.add_argument("--out", type=Path, default=HERE / "_executed")
    args = parser.parse_args()
    paths = [Path(n) for n in args.names] or sorted(HERE.glob("[0-9][0-9]_*.py"))
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    failed = []
    for path in paths:
        notebook = jupytext.read(path)
        client = NotebookClient(
            notebook, timeout=int(args.limit), kernel_name="python3",
            resources={"metadata": {"path": str(HERE.parent)}},
        )  # fmt: skip
        start = time.perf_counter()
        try:
            client.execute()
        except Exception as err:  # a failing cell: report it, keep going
            failed.append(path.name)
            print(f"FAILED {path.name}: {type(err).__name__}: {str(err)[-2000:]}")
            continue
        elapsed = time.perf_counter() - start
        nbformat.write(notebook, args.out / (path.stem + ".ipynb"))
        status = "ok" if elapsed <= args.limit else "TOO SLOW"
        if elapsed > args.limit:
            failed.append(path.name)
        print(f"{status:8s} {path.name}  {elapsed:6.1f} s")
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
