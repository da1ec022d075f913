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
- models and tools: :mod:`ngcx.models` (PCN, ConvPC, DiehlCook, SurrogateSNN, ngc-museum's
  exhibits, and the PCLayer/LIFLayer building blocks), :mod:`ngcx.training` (the shared
  training loop and sweeps, what the CLI runs), :mod:`ngcx.parallel` and
  :mod:`ngcx.distributed` (several devices and processes), :mod:`ngcx.data`,
  :mod:`ngcx.io`, :mod:`ngcx.viz` (matplotlib), :mod:`ngcx.cli`.
"""

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any


__version__ = "0.1.0"

# The submodules and names below are imported on first use (module ``__getattr__``), so
# ``import ngcx`` and ``ngcx --help`` do not pay for JAX, Equinox and every component
# until something needs them; ``from ngcx import cells``, ``ngcx.FlatStep`` and
# ``dir(ngcx)`` work as with eager imports.
__all__ = [
    "activations", "analysis", "cells", "conv", "density", "diffeq", "distributed",
    "feature_dictionaries", "filters", "initializers", "learning", "masks", "metrics",
    "ops", "optim", "parallel", "plasticity", "simulation", "sparse_regression",
    "surrogates", "synapses", "training",
    "debug_nans", "FlatStep", "ACTIVATIONS", "create_function", "derivative",
    "SURROGATES", "AbstractSurrogate", "get_surrogate",
]  # fmt: skip
# where each re-exported name lives (the rest of __all__ are submodules)
_NAMES = {
    "debug_nans": "._debug",
    "FlatStep": "._flat",
    "ACTIVATIONS": ".activations",
    "create_function": ".activations",
    "derivative": ".activations",
    "SURROGATES": ".surrogates",
    "AbstractSurrogate": ".surrogates",
    "get_surrogate": ".surrogates",
}

if TYPE_CHECKING:  # what type checkers and the API docs see: the eager imports
    from . import (
        activations as activations,
        analysis as analysis,
        cells as cells,
        conv as conv,
        density as density,
        diffeq as diffeq,
        distributed as distributed,
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
        training as training,
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


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    if (
        name.isidentifier()
        and not name.startswith("__")
        and importlib.util.find_spec(f"{__name__}.{name}") is not None
    ):
        return importlib.import_module(f".{name}", __name__)  # sets the attribute too
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    helpers = {"importlib", "TYPE_CHECKING", "Any"}
    return sorted({*globals(), *__all__} - helpers)
