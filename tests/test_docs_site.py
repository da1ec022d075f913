"""The documentation site: the checks that ``nox -s docs`` runs on the built site
(``docs/check_site.py``), tested on small hand-written sites, and the real build when
mkdocs and the docs extra are installed (the ``tests`` session installs only ``.[test]``,
so there it is skipped; the ``docs`` session builds with ``--strict`` and runs the checks)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_site", ROOT / "docs" / "check_site.py")
assert spec is not None and spec.loader is not None
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)

GOOD_SIGNATURE = (
    '<h2 id="ngcx.cells.LIFCell">LIFCell</h2><div class="doc-signature highlight"><pre>'
    '<span class="n">LIFCell</span>(<span class="n">n_units</span>: int, '
    '<span class="n">tau_m</span>: ParamLike)</pre></div>'
)


def _site(tmp_path: Path, spiking: str, other: str = "<p>ok</p>") -> Path:
    page = tmp_path / "api" / "cells-spiking" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(f"<html><body>{spiking}</body></html>")
    (tmp_path / "index.html").write_text(f"<html><body>{other}</body></html>")
    return tmp_path


def test_a_good_site_passes(tmp_path: Path) -> None:
    site = _site(tmp_path, GOOD_SIGNATURE, '<script src="assets/local.js"></script>')
    assert check_site.check(site, notebooks=[]) == []


@pytest.mark.parametrize(
    ("other", "problem"),
    [
        ('<script src="https://unpkg.com/mathjax@3/tex.js"></script>', "another host"),
        ("<script defer src='//cdn.example/x.js'></script>", "another host"),
        ('<link rel="stylesheet" href="https://fonts.example/css">', "another host"),
        ("<p>see ngcx.cells._rate</p>", "private module name"),
        ('<a title="ngcx.cells._base.AbstractCell">x</a>', "private module name"),
        ("<p>:class:<code>LIFCell</code></p>", "raw Sphinx role"),
        ('<span class="arithmatex">\\(x^2\\)</span>', "maths left as TeX"),
    ],
)
def test_each_problem_is_reported(tmp_path: Path, other: str, problem: str) -> None:
    problems = check_site.check(_site(tmp_path, GOOD_SIGNATURE, other), notebooks=[])
    assert len(problems) == 1 and problem in problems[0], problems


def test_a_constructor_missing_from_the_signature_is_reported(tmp_path: Path) -> None:
    no_init = '<h2 id="ngcx.cells.LIFCell">LIFCell</h2><div class="doc-signature">LIFCell()</div>'
    problems = check_site.check(_site(tmp_path, no_init + "<p>tau_m in prose</p>"), [])
    assert problems == ["api/cells-spiking: LIFCell's constructor signature lacks tau_m"]


def test_missing_tutorial_pages_are_reported(tmp_path: Path) -> None:
    problems = check_site.check(_site(tmp_path, GOOD_SIGNATURE), notebooks=["01_x"])
    assert problems == ["tutorials/01_x: page missing", "tutorials/01_x.ipynb: download missing"]


def test_the_built_site(tmp_path: Path) -> None:
    """``mkdocs build --strict`` passes and the built site passes every check
    (a constructor argument of LIFCell on its page, no script from another host, no
    private module name)."""
    for module in ("mkdocs", "mkdocstrings_handlers.python", "material", "latex2mathml"):
        pytest.importorskip(module)
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent)) or "mkdocs"
    site = tmp_path / "site"
    build = subprocess.run(
        [mkdocs, "build", "--strict", "--quiet", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-4000:]
    assert check_site.check(site) == []


def test_every_notebook_script_is_paired_with_its_ipynb() -> None:
    """Each ``notebooks/NN_name.py`` has ``NN_name.ipynb`` with the same cells (what
    ``notebooks/execute.py`` also checks before running them)."""
    pytest.importorskip("jupytext")
    pytest.importorskip("nbclient")
    sys.path.insert(0, str(ROOT / "notebooks"))
    try:
        import execute  # notebooks/execute.py
    finally:
        sys.path.remove(str(ROOT / "notebooks"))
    scripts = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert scripts
    assert [execute.pairing_problem(script) for script in scripts] == [None] * len(scripts)
