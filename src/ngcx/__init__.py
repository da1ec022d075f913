"""ngcx: biomimetic learning (predictive coding, Hebbian and STDP plasticity, graded and
spiking neurons, surrogate gradients) as plain Equinox/JAX.

Namespaces (lower layers never import higher ones):

- core functions: :mod:`ngcx.activations`, :mod:`ngcx.surrogates`, :mod:`ngcx.ops`,
  :mod:`ngcx.conv`, :mod:`ngcx.diffeq`, :mod:`ngcx.initializers`, :mod:`ngcx.metrics`;
- components: :mod:`ngcx.cells`, :mod:`ngcx.synapses`;
- plasticity: :mod:`ngcx.plasticity` (rules written once over a synapse's contraction,
  learning options as optax transforms, ngc-learn's plastic-synapse builders);
- learning and simulation: :mod:`ngcx.learning` (compatibility names), :mod:`ngcx.optim`,
  :mod:`ngcx.simulation`, :class:`ngcx.FlatStep`, :mod:`ngcx.density`;
- models and tools: :mod:`ngcx.models` (PCN, ConvPC, DiehlCook, SurrogateSNN, and the
  PCLayer/LIFLayer building blocks), :mod:`ngcx.train` and :mod:`ngcx.train_snn` (what
  the CLI runs), :mod:`ngcx.parallel`, :mod:`ngcx.data`, :mod:`ngcx.io`, :mod:`ngcx.viz`
  (matplotlib), :mod:`ngcx.cli`.
"""

from . import (
    activations as activations,
    analysis as analysis,
    cells as cells,
    conv as conv,
    density as density,
    diffeq as diffeq,
    feature_dictionaries as feature_dictionaries,
    filters as filters,
    initializers as initializers,
    learning as learning,
    masks as masks,
    metrics as metrics,
    ops as ops,
    optim as optim,
    parallel as parallel,
    plasticity as plasticity,
    simulation as simulation,
    sparse_regression as sparse_regression,
    surrogates as surrogates,
    synapses as synapses,
)
from ._debug import debug_nans as debug_nans
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
