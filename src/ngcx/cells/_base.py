r"""Abstract bases of the cells (Equinox's abstract/final pattern).

Each concrete cell is a final class under one of these bases: it defines its fields and
``__init__`` and implements the abstract methods; it never overrides a concrete method.
Numeric parameters are array leaves (:func:`ngcx._params.param`), so ``jax.vmap`` over a
sweep of a time constant and ``jax.grad`` with respect to a threshold work; only sizes,
flags and names that select code (the integrator, the surrogate, a prior's name) are
static.

- :class:`AbstractCell`: a dynamical cell, ``init_state(batch_shape)`` and
  ``new_state = cell(state, inputs..., dt=dt)`` (milliseconds).
- :class:`AbstractSpikingCell`: a cell whose state carries spikes ``s``.
- :class:`AbstractEncoder`: a stochastic or deterministic input encoder (spikes from
  intensities).
- :class:`AbstractTrace`: a trace of spikes (``VarTrace``, ``ExpKernel``).
- :class:`AbstractErrorCell`: a fixed-point cell, ``out = cell(mu, target)``.
"""

from __future__ import annotations

import abc
from typing import Any

import equinox as eqx


__all__ = [
    "AbstractCell",
    "AbstractSpikingCell",
    "AbstractEncoder",
    "AbstractTrace",
    "AbstractErrorCell",
]


class AbstractCell(eqx.Module):
    """A dynamical cell: a small immutable module of parameters whose ``__call__`` maps a
    state (an ``eqx.Module`` of arrays shaped ``(*batch, n_units)``) and inputs to the next
    state, one step of ``dt`` milliseconds. Drive it with ``jax.lax.scan``."""

    n_units: eqx.AbstractVar[int]

    @abc.abstractmethod
    def init_state(self, batch_shape: tuple[int, ...] = (), *args: Any, **kwargs: Any) -> Any:
        """The resting state with leading axes `batch_shape`."""

    @abc.abstractmethod
    def __call__(self, state: Any, *inputs: Any, **kwargs: Any) -> Any:
        """One step: ``new_state = cell(state, inputs..., dt=dt)``."""


class AbstractSpikingCell(AbstractCell):
    """A spiking cell: its state has a field ``s`` of spikes (0/1; differentiable through
    the cell's surrogate where it has one)."""


class AbstractEncoder(AbstractCell):
    """An input encoder: turns intensities into spikes (its state has a field ``s``).
    Stochastic encoders start from ``init_state(batch_shape)`` and take the intensities
    (and a PRNG key) every step; latency encoders take the intensities once, in
    ``init_state(x)``, and then step on their clock alone."""


class AbstractTrace(AbstractCell):
    """A trace of a spike train: ``init_state(batch_shape)``, then
    ``new_state = trace(state, spikes, ...)`` each step. ``VarTrace``'s state is the trace
    array itself and it takes ``dt`` per call; ``ExpKernel``'s state is an
    ``ExpKernelState`` and its step ``dt`` is fixed at construction (it sets the window)."""


class AbstractErrorCell(eqx.Module):
    """A fixed-point error cell: ``out = cell(mu, target)`` returns the local loss and its
    derivatives (an :class:`ngcx.cells.ErrorOutput`)."""

    n_units: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, mu: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        """The error signals of prediction `mu` against `target`."""
