"""Check a built documentation site (what ``nox -s docs`` runs after ``mkdocs build``).

    python docs/check_site.py SITE_DIR

Fails (exit 1, one line per problem) when:

- the ``LIFCell`` API page does not show its constructor (``tau_m`` in the signature);
- a page loads a script or a stylesheet from another host (``<script src="http...">``,
  ``<link rel="stylesheet" href="//host/...">``): the site must work offline;
- a private module name (``ngcx.<...>._name``) appears in a page or the search index;
- a Sphinx role (``:class:`` and the like) is left raw, or maths was left as TeX;
- a tutorial notebook page is missing.

The same checks run in ``tests/test_docs_site.py`` when mkdocs is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


PRIVATE = re.compile(r"\bngcx(?:\.\w+)*?\._\w+")
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=[\"']?(?:[a-z]+:)?//", re.I)
REMOTE_LINK = re.compile(
    r"<link\b(?=[^>]*\brel=[\"']?(?:stylesheet|preconnect|preload))[^>]*\bhref=[\"']?(?:[a-z]+:)?//",
    re.I,
)
RAW_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|obj|exc):(?:`|<code>)")
RAW_MATH = re.compile(r'class="arithmatex">\s*\\[(\[]')
TAGS = re.compile(r"<[^>]+>")


def notebook_stems() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    return [p.stem for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.py"))]


def check(site: Path, notebooks: list[str] | None = None) -> list[str]:
    """Problems found in the site built in ``site``; ``notebooks``: the tutorial names
    whose pages must exist (default: every ``notebooks/NN_*.py``)."""
    problems: list[str] = []
    pages = sorted(site.rglob("*.html"))
    if not pages:
        return [f"{site}: no HTML pages (build the site first)"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(site)
        if REMOTE_SCRIPT.search(text):
            problems.append(f"{name}: loads a script from another host")
        if REMOTE_LINK.search(text):
            problems.append(f"{name}: loads a stylesheet or font from another host")
        if m := PRIVATE.search(text):
            problems.append(f"{name}: private module name {m.group(0)!r}")
        if m := RAW_ROLE.search(text):
            problems.append(f"{name}: raw Sphinx role {m.group(0)!r}")
        if RAW_MATH.search(text):
            problems.append(f"{name}: maths left as TeX (not converted to MathML)")
    index = site / "search" / "search_index.json"
    if index.exists() and (m := PRIVATE.search(index.read_text(encoding="utf-8"))):
        problems.append(f"search index: private module name {m.group(0)!r}")

    spiking = site / "api" / "cells-spiking" / "index.html"
    if not spiking.exists():
        problems.append(f"{spiking.relative_to(site)}: missing")
    else:
        text = spiking.read_text(encoding="utf-8")
        start = text.find('id="ngcx.cells.LIFCell"')
        sig = re.search(r'<div class="doc-signature.*?</div>', text[start:], re.S)
        shown = TAGS.sub("", sig.group(0)) if start >= 0 and sig else ""
        if not re.search(r"\btau_m\s*:", shown):
            problems.append("api/cells-spiking: LIFCell's constructor signature lacks tau_m")

    for stem in notebook_stems() if notebooks is None else notebooks:
        if not (site / "tutorials" / stem / "index.html").exists():
            problems.append(f"tutorials/{stem}: page missing")
        if not (site / "tutorials" / f"{stem}.ipynb").exists():
            problems.append(f"tutorials/{stem}.ipynb: download missing")
    return problems


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    problems = check(Path(sys.argv[1]))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in the built site")
        return 1
    print("site checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
