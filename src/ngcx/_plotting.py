"""Plots are an optional extra: :func:`viz_or_warn` returns :mod:`ngcx.viz` when
matplotlib can be imported, else prints one warning line to stderr and returns ``None``
(the training commands then write everything but their plots and still succeed)."""

from __future__ import annotations

import sys
from types import ModuleType


__all__ = ["MISSING", "viz_or_warn"]

MISSING = "ngcx: warning: matplotlib is not installed: no plots (pip install 'ngcx[plots]')"


def viz_or_warn() -> ModuleType | None:
    """:mod:`ngcx.viz`, or ``None`` after printing :data:`MISSING` to stderr."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(MISSING, file=sys.stderr, flush=True)
        return None
    from . import viz

    return viz
