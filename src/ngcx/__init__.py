"""ngcx: biomimetic learning (predictive coding, Hebbian and STDP plasticity, graded and
spiking neurons, surrogate gradients) as plain Equinox/JAX.

The functional core lives in three namespaces, each re-exported here:

- :mod:`ngcx.activations`: activations, the k-WTA family, ``create_function``;
- :mod:`ngcx.surrogates`: spike functions carrying surrogate derivatives;
- :mod:`ngcx.ops`: normalisation, clamps, block matrices, dropout and helpers.
"""

from . import activations as activations, ops as ops, surrogates as surrogates
from ._flat import FlatStep as FlatStep
from .activations import (
    ACTIVATIONS as ACTIVATIONS,
    create_function as create_function,
    derivative as derivative,
)
from .surrogates import (
    SURROGATES as SURROGATES,
    AbstractSurrogate as AbstractSurrogate,
    get_surrogate as get_surrogate,
)


__version__ = "0.1.0"
