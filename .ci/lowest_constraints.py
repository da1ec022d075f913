"""Print pip constraints that pin every direct dependency of ngcx to its floor.

pip has no "lowest versions" resolver, so the ``floors`` nox session derives ``name==floor``
lines from ``pyproject.toml`` (``[project] dependencies`` plus the extras named on the command
line) and installs with ``pip install -c``. Transitive dependencies are left to pip (as uv's
``--resolution lowest-direct`` does). Every direct dependency must declare a ``>=`` floor: one
without a floor cannot be tested at its lowest version, so it is an error.

    python .ci/lowest_constraints.py [--extra test ...] [-o constraints.txt]
    python .ci/lowest_constraints.py --check constraints.txt   # installed == pinned?
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
# name, optional [extras], then the specifier list, then an optional "; marker"
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$")


def floors(extras: list[str], pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``{name: floor}`` for the direct dependencies and the given extras (the self-extra
    ``ngcx[...]`` is not supported; the extras here list packages)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    reqs = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"no extra {extra!r} in {pyproject} (has {sorted(optional)})")
        reqs += optional[extra]
    out: dict[str, str] = {}
    for req in reqs:
        m = _REQ.match(req)
        if m is None:
            raise SystemExit(f"cannot parse requirement {req!r}")
        name, _, spec, marker = m.groups()
        if marker:
            raise SystemExit(f"environment markers are not handled: {req!r}")
        pins = [s.strip() for s in spec.split(",") if s.strip()]
        lows = [s[2:].strip() for s in pins if s.startswith(">=")]
        exact = [s[2:].strip() for s in pins if s.startswith("==")]
        if exact:
            low = exact[0]
        elif len(lows) == 1:
            low = lows[0]
        else:
            raise SystemExit(f"{req!r} needs exactly one '>=' floor (or an '==' pin)")
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in out and out[key] != low:
            raise SystemExit(f"{name} has two floors: {out[key]} and {low}")
        out[key] = low
    return out


def check(constraints: Path) -> None:
    """Print each pinned package's installed version; exit non-zero naming every package
    that is missing or not at its pin (what ``pip freeze --requirement`` showed, for any
    installer). Versions compare as versions: a pin of ``2.0`` is met by ``2.0.0``."""
    from packaging.version import Version  # noqa: PLC0415 (the test extra brings it: pytest)

    wrong = []
    for line in constraints.read_text().splitlines():
        name, _, pin = line.partition("==")
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "not installed"
        same = have != "not installed" and Version(have) == Version(pin)
        print(f"{name}=={have}" + ("" if same else f"   (pinned {pin})"))
        if not same:
            wrong.append(f"{name} {have} (pinned {pin})")
    if wrong:
        raise SystemExit("not at their floors: " + ", ".join(wrong))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], help="an extra to include")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    parser.add_argument("--check", type=Path, metavar="FILE", help="check installed == FILE")
    args = parser.parse_args(argv)
    if args.check is not None:
        check(args.check)
        return
    text = "".join(f"{name}=={low}\n" for name, low in floors(args.extra).items())
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
