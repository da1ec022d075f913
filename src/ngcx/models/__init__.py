"""Flagship models built only from ngcx's public cells, synapses and learning rules."""

from ._conv_pc import ConvPC as ConvPC, ConvPCMetrics as ConvPCMetrics, upsample as upsample
from ._layers import LIFLayer as LIFLayer, PCLayer as PCLayer
from ._pcn import PCN as PCN, PCNMetrics as PCNMetrics
from ._snn import DCState as DCState, DiehlCook as DiehlCook, SurrogateSNN as SurrogateSNN


__all__ = [
    "ConvPC",
    "ConvPCMetrics",
    "DCState",
    "DiehlCook",
    "LIFLayer",
    "PCN",
    "PCLayer",
    "PCNMetrics",
    "SurrogateSNN",
    "upsample",
]
