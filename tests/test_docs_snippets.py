"""Every Python example in the README and the documentation pages runs as written."""

import re
from pathlib import Path

import jax
import pytest


ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _snippets():
    for page in PAGES:
        blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
        for i, code in enumerate(blocks):
            if "ngclearn" in code:  # the ngc-learn side of a side-by-side comparison
                continue
            yield pytest.param(code, id=f"{page.relative_to(ROOT)}#{i}")


@pytest.mark.parametrize("code", list(_snippets()))
def test_snippet_runs(code):
    # the examples are written for JAX's default promotion rules, as users run them
    with jax.numpy_rank_promotion("allow"), jax.numpy_dtype_promotion("standard"):
        exec(compile(code, "<snippet>", "exec"), {"__name__": "snippet"})
