"""Flagship models built only from ngcx's public cells, synapses and learning rules."""

from ._pcn import PCN as PCN, PCNMetrics as PCNMetrics


__all__ = ["PCN", "PCNMetrics"]
