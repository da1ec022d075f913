"""Synapses: differentiable maps whose plastic values are ordinary array fields."""

from ._dense import (
    DenseSynapse as DenseSynapse,
    HebbianSynapse as HebbianSynapse,
    hebbian_rule as hebbian_rule,
)


__all__ = ["DenseSynapse", "HebbianSynapse", "hebbian_rule"]
