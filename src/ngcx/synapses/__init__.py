"""Synapses: differentiable maps whose plastic values are ordinary array fields.

A synapse does not know its learning rule or its optimiser (see :mod:`ngcx.plasticity`,
which also holds ngc-learn's plastic-synapse constructors such as ``HebbianSynapse``).
Every synapse derives from :class:`AbstractSynapse`: ``__call__``, ``backtransmit``,
``contract`` (the weight-shaped correlation that rules use), ``bias_contract``, ``updates``.
"""

from ._base import AbstractSynapse as AbstractSynapse
from ._competitive import (
    AbstractCompetitiveSynapse as AbstractCompetitiveSynapse,
    ART2AMap as ART2AMap,
    HopfieldMap as HopfieldMap,
    SOMMap as SOMMap,
    VectorQuantizeMap as VectorQuantizeMap,
)
from ._conductance import (
    AbstractConductanceSynapse as AbstractConductanceSynapse,
    AlphaSynapse as AlphaSynapse,
    ConductanceState as ConductanceState,
    DoubleExpSynapse as DoubleExpSynapse,
    ExponentialSynapse as ExponentialSynapse,
)
from ._conv import (
    ConvSynapse as ConvSynapse,
    DeconvSynapse as DeconvSynapse,
    StaticConvSynapse as StaticConvSynapse,
    StaticDeconvSynapse as StaticDeconvSynapse,
)
from ._dense import (
    DenseSynapse as DenseSynapse,
    DenseSynapseState as DenseSynapseState,
    StaticSynapse as StaticSynapse,
    connectivity_mask as connectivity_mask,
    outer_sum as outer_sum,
)
from ._mps import (
    MPSSynapse as MPSSynapse,
    decompose_to_mps as decompose_to_mps,
    mps_to_matrix as mps_to_matrix,
)
from ._patched import (
    PatchedSynapse as PatchedSynapse,
    StaticPatchedSynapse as StaticPatchedSynapse,
    patch_geometry as patch_geometry,
)
from ._sparse import (
    SparseTensorSynapse as SparseTensorSynapse,
    StaticSparseTensorSynapse as StaticSparseTensorSynapse,
    sparse_tensor_connectivity as sparse_tensor_connectivity,
)
from ._stp import STPDenseSynapse as STPDenseSynapse, STPState as STPState


__all__ = [
    "AbstractCompetitiveSynapse",
    "ART2AMap",
    "HopfieldMap",
    "SOMMap",
    "VectorQuantizeMap",
    "PatchedSynapse",
    "StaticPatchedSynapse",
    "patch_geometry",
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
    "AbstractConductanceSynapse",
    "AlphaSynapse",
    "ConductanceState",
    "DenseSynapseState",
    "DoubleExpSynapse",
    "ExponentialSynapse",
    "STPDenseSynapse",
    "STPState",
    "SparseTensorSynapse",
    "StaticSparseTensorSynapse",
    "connectivity_mask",
    "sparse_tensor_connectivity",
]
