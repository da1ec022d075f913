"""Synapses: differentiable maps whose plastic values are ordinary array fields.

A synapse does not know its learning rule or its optimiser (see :mod:`ngcx.plasticity`,
which also holds ngc-learn's plastic-synapse constructors such as ``HebbianSynapse``).
Every synapse derives from :class:`AbstractSynapse`: ``__call__``, ``backtransmit``,
``contract`` (the weight-shaped correlation that rules use), ``bias_contract``, ``updates``.
"""

from ._base import AbstractSynapse as AbstractSynapse
from ._conv import (
    ConvSynapse as ConvSynapse,
    DeconvSynapse as DeconvSynapse,
    StaticConvSynapse as StaticConvSynapse,
    StaticDeconvSynapse as StaticDeconvSynapse,
)
from ._dense import (
    DenseSynapse as DenseSynapse,
    StaticSynapse as StaticSynapse,
    outer_sum as outer_sum,
)
from ._mps import (
    MPSSynapse as MPSSynapse,
    decompose_to_mps as decompose_to_mps,
    mps_to_matrix as mps_to_matrix,
)


__all__ = [
    "AbstractSynapse",
    "ConvSynapse",
    "DeconvSynapse",
    "DenseSynapse",
    "MPSSynapse",
    "StaticConvSynapse",
    "StaticDeconvSynapse",
    "StaticSynapse",
    "decompose_to_mps",
    "mps_to_matrix",
    "outer_sum",
]
