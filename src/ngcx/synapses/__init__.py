"""Synapses: differentiable maps whose plastic values are ordinary array fields."""

from ._conv import (
    ConvSynapse as ConvSynapse,
    DeconvSynapse as DeconvSynapse,
    HebbianConvSynapse as HebbianConvSynapse,
    HebbianDeconvSynapse as HebbianDeconvSynapse,
    StaticConvSynapse as StaticConvSynapse,
    StaticDeconvSynapse as StaticDeconvSynapse,
    TraceSTDPConvSynapse as TraceSTDPConvSynapse,
    TraceSTDPDeconvSynapse as TraceSTDPDeconvSynapse,
    conv_hebbian_rule as conv_hebbian_rule,
    conv_trace_stdp_rule as conv_trace_stdp_rule,
)
from ._dense import (
    DenseSynapse as DenseSynapse,
    HebbianSynapse as HebbianSynapse,
    hebbian_rule as hebbian_rule,
)
from ._mps import (
    MPSSynapse as MPSSynapse,
    decompose_to_mps as decompose_to_mps,
    mps_to_matrix as mps_to_matrix,
)
from ._plasticity import HebbianOptions as HebbianOptions
from ._stdp import (
    EventSTDPSynapse as EventSTDPSynapse,
    ExpSTDPSynapse as ExpSTDPSynapse,
    MSTDPETSynapse as MSTDPETSynapse,
    TraceSTDPSynapse as TraceSTDPSynapse,
    event_stdp_rule as event_stdp_rule,
    exp_stdp_rule as exp_stdp_rule,
    trace_stdp_rule as trace_stdp_rule,
)


__all__ = [
    "ConvSynapse",
    "DeconvSynapse",
    "DenseSynapse",
    "EventSTDPSynapse",
    "ExpSTDPSynapse",
    "MSTDPETSynapse",
    "TraceSTDPSynapse",
    "event_stdp_rule",
    "exp_stdp_rule",
    "trace_stdp_rule",
    "HebbianConvSynapse",
    "HebbianDeconvSynapse",
    "HebbianOptions",
    "HebbianSynapse",
    "MPSSynapse",
    "StaticConvSynapse",
    "StaticDeconvSynapse",
    "TraceSTDPConvSynapse",
    "TraceSTDPDeconvSynapse",
    "conv_hebbian_rule",
    "conv_trace_stdp_rule",
    "decompose_to_mps",
    "mps_to_matrix",
    "hebbian_rule",
]
