"""MkDocs hooks (``hooks:`` in ``mkdocs.yml``): what the site needs beyond the plugins.

- ``::: ngcx.cells._rate`` blocks (a private module's docstring as an introduction) are
  replaced by the docstring's text, so no private module name reaches a page, its table
  of contents or the search index; private paths left in link titles become public ones.
- Maths is rendered at build time: arithmatex's ``\\(...\\)``/``\\[...\\]`` output (pages
  and docstrings alike) becomes MathML with ``latex2mathml``, which every current browser
  renders natively: no script, no CDN, works offline.
- The tutorial notebooks (``notebooks/NN_*.py``, jupytext) become pages under
  ``tutorials/``, with the outputs that ``notebooks/execute.py`` stored in
  ``notebooks/_executed`` (the ``docs`` nox session runs it first; it executes only what
  changed). Without executed copies the pages show the code alone.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import logging
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from latex2mathml.converter import convert as latex_to_mathml
from mkdocs.structure.files import File, Files


log = logging.getLogger("mkdocs.hooks.ngcx")
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = NOTEBOOKS / "_executed"


def _roles() -> Any:
    spec = importlib.util.spec_from_file_location(
        "ngcx_docs_roles", Path(__file__).parent / "griffe_roles.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


roles = _roles()


@cache
def _package() -> tuple[Any, dict[str, str]]:
    import griffe

    pkg = griffe.load("ngcx", search_paths=[str(ROOT / "src")])
    return pkg, roles.public_map(pkg)


# --------------------------------------------------------------------------------------
# private module introductions

BLOCK = re.compile(r"^::: (?P<path>[\w.]+)[ \t]*\n(?P<options>(?:[ \t]+\S.*\n|[ \t]*\n)*)", re.M)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        path = match["path"]
        if not roles.is_private(path):
            return match.group(0)
        pkg, mapping = _package()
        module = pkg[path.removeprefix(pkg.path + ".")]
        if "members: false" not in match["options"] or not module.is_module:
            raise ValueError(f"{path}: a private name in an API block; document the public one")
        doc = module.docstring.value if module.docstring else ""
        return roles.rewrite_roles(doc, module, mapping, pkg.path) + "\n\n"

    return BLOCK.sub(replace, markdown)


# --------------------------------------------------------------------------------------
# maths to MathML, private paths out of link titles

MATH = re.compile(r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.S)
TITLE = re.compile(r'\stitle="(?P<title>[^"]*)"')


def _mathml(match: re.Match[str]) -> str:
    tex = html.unescape(match["tex"]).strip()
    block = match["tag"] == "div"
    for left, right in (("\\(", "\\)"), ("\\[", "\\]")):
        if tex.startswith(left) and tex.endswith(right):
            tex = tex[len(left) : -len(right)]
    tex = re.sub(r"\\arg(?![A-Za-z])", r"\\operatorname{arg}", tex)
    try:
        mathml = latex_to_mathml(tex, display="block" if block else "inline")
    except Exception as err:  # name the formula: the build must fail, not show raw TeX
        raise ValueError(f"latex2mathml cannot convert {tex!r}: {err}") from err
    # matrices' delimiters (pmatrix, bmatrix, vmatrix) stretch to the table's height
    mathml = re.sub(
        r"<mo>(&#x000(?:28|5B|7C);)</mo><mtable>(.*?)</mtable><mo>(&#x000(?:29|5D|7C);)</mo>",
        r'<mrow><mo stretchy="true" fence="true" form="prefix">\1</mo><mtable>\2</mtable>'
        r'<mo stretchy="true" fence="true" form="postfix">\3</mo></mrow>',
        mathml,
    )
    if block:
        return f'<div class="arithmatex">{mathml}</div>'
    return f'<span class="arithmatex">{mathml}</span>'


def _public_titles(output: str) -> str:
    _, mapping = _package()

    def fix(match: re.Match[str]) -> str:
        title = " ".join(match["title"].split())  # autorefs keeps the heading's indent
        if not roles.PRIVATE.search(title):
            return f' title="{title}"'
        new = roles.PRIVATE.sub(lambda m: roles.to_public(m.group(0), mapping) or "", title)
        new = re.sub(r"\s*\(\s*\)", "", new).strip()
        new = re.sub(r"^(\S+) \(\1\)$", r"\1", new)  # "X (X)" once both are public
        return f' title="{new}"' if new and not roles.PRIVATE.search(new) else ""

    return TITLE.sub(fix, output)


def on_post_page(output: str, **kwargs: Any) -> str:
    return _public_titles(MATH.sub(_mathml, output))


# --------------------------------------------------------------------------------------
# notebooks as pages

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}\n"


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output(out: dict[str, Any]) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _fence(ANSI.sub("", _text(out.get("text", ""))), "text")
    if kind == "error":
        return _fence(ANSI.sub("", "\n".join(out.get("traceback", []))), "text")
    data = out.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            b64 = _text(data[mime]).replace("\n", "")
            base64.b64decode(b64, validate=True)
            return f'<img alt="output" src="data:{mime};base64,{b64}">\n'
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"]) + "\n"
    if "text/plain" in data:
        return _fence(ANSI.sub("", _text(data["text/plain"])), "text")
    return ""


def notebook_markdown(path: Path, executed: bool) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in notebook["cells"]:
        source = _text(cell.get("source", ""))
        if cell["cell_type"] == "markdown":
            parts.append(source.strip() + "\n")
        elif cell["cell_type"] == "code" and source.strip():
            parts.append(_fence(source, "python"))
            parts.extend(filter(None, (_output(out) for out in cell.get("outputs", []))))
    link = (
        f"[Download the notebook](./{path.stem}.ipynb) (`notebooks/{path.stem}.ipynb` in the "
        "repository, paired with the jupytext script of the same name)\n"
    )
    parts.insert(1 if parts and parts[0].startswith("#") else 0, link)
    if not executed:
        parts.append(
            "!!! note\n    This build has no executed copy of the notebook: run "
            "`python notebooks/execute.py` before `mkdocs build` to include the outputs.\n"
        )
    return "\n".join(parts)


def on_files(files: Files, config: Any) -> Files:
    for script in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        stem = script.stem
        executed = EXECUTED / f"{stem}.ipynb"
        source = executed if executed.exists() else NOTEBOOKS / f"{stem}.ipynb"
        if not source.exists():
            raise FileNotFoundError(f"{source}: pair the notebook with `jupytext --sync {script}`")
        if not executed.exists():
            log.info("%s: no executed copy in %s, showing the code only", stem, EXECUTED)
        page = notebook_markdown(source, executed.exists())
        files.append(File.generated(config, f"tutorials/{stem}.md", content=page))
        raw = source.read_bytes()
        files.append(File.generated(config, f"tutorials/{stem}.ipynb", content=raw))
    return files
