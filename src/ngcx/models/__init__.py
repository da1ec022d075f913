"""Flagship models built only from ngcx's public cells, synapses and learning rules."""

from ._conv_pc import ConvPC as ConvPC, ConvPCMetrics as ConvPCMetrics, upsample as upsample
from ._pcn import PCN as PCN, PCNMetrics as PCNMetrics


__all__ = ["ConvPC", "ConvPCMetrics", "PCN", "PCNMetrics", "upsample"]
