"""Cells: graded rate cells and error cells (spiking cells and encoders to come)."""

from ._error import (
    BernoulliErrorCell as BernoulliErrorCell,
    ErrorOutput as ErrorOutput,
    GaussianErrorCell as GaussianErrorCell,
    LaplacianErrorCell as LaplacianErrorCell,
)
from ._rate import RateCell as RateCell, RateState as RateState


__all__ = [
    "BernoulliErrorCell",
    "ErrorOutput",
    "GaussianErrorCell",
    "LaplacianErrorCell",
    "RateCell",
    "RateState",
]
