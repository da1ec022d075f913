r"""Distribution initialisers for synaptic parameters (ngc-learn's ``DistributionGenerator``).

Each generator returns an :class:`Initializer`, a small frozen spec that is called as
``init(key, shape, dtype=None)``. Common options (ngc-learn's ``DistributionParams``),
applied in this order after sampling:

- ``amin`` / ``amax``: clip the values;
- ``lower_triangle`` / ``upper_triangle``: keep the lower (upper) triangle of the last two
  axes, diagonal included;
- ``hollow``: zero the diagonal of the last two axes;
- ``eye``: keep only the diagonal of the last two axes;
- ``col_mask`` / ``row_mask``: an int keeps that many random columns (rows) of a matrix,
  a list keeps those indices, the rest become zero;
- ``dtype``: the output dtype (default float32); ``use_numpy``: return a NumPy array.

An initialiser is called as ``init(key, shape, dtype=None)``; ngc-learn's order
``init(shape, key)`` is accepted too.

Fan-in distributions use ``shape[0]`` (the number of inputs of a dense weight matrix
``(n_in, n_out)``, or ``kh * kw * c_in`` for a filter ``(kh, kw, c_in, c_out)``).
"""

from __future__ import annotations

import dataclasses
import math
import operator
from typing import Any, Literal, TypedDict

import jax
import jax.numpy as jnp
import numpy as np

from ._custom_types import Key


__all__ = ["Initializer", "DistributionGenerator", "DistributionParams", "initialize_params"]

Dist = Literal[
    "constant",
    "uniform",
    "gaussian",
    "log_gaussian",
    "fan_in_uniform",
    "fan_in_gaussian",
    "diag_offdiag",
]


class DistributionParams(TypedDict, total=False):
    """The options every :class:`DistributionGenerator` method accepts (ngc-learn's
    ``DistributionParams``), for type checkers: pass them as keyword arguments."""

    amin: float
    amax: float
    lower_triangle: bool
    upper_triangle: bool
    hollow: bool
    eye: bool
    col_mask: int | list[int]
    row_mask: int | list[int]
    dtype: Any
    use_numpy: bool


@dataclasses.dataclass(frozen=True)
class Initializer:
    """A distribution spec; call it as ``init(key, shape, dtype=None)``."""

    dist: Dist
    params: tuple[tuple[str, float], ...] = ()
    amin: float | None = None
    amax: float | None = None
    lower_triangle: bool = False
    upper_triangle: bool = False
    hollow: bool = False
    eye: bool = False
    col_mask: int | tuple[int, ...] | None = None
    row_mask: int | tuple[int, ...] | None = None
    dtype: Any = None
    use_numpy: bool = False

    def __post_init__(self):
        if self.dist not in _SAMPLERS:
            raise ValueError(
                f"`dist`: unknown distribution {self.dist!r}; known: {', '.join(_SAMPLERS)}."
            )
        for name, value in self.params:
            _finite(value, name)
        for name in ("amin", "amax"):
            if getattr(self, name) is not None:
                _finite(getattr(self, name), name)
        if self.amin is not None and self.amax is not None and self.amin > self.amax:
            raise ValueError(f"`amin` ({self.amin}) must not exceed `amax` ({self.amax}).")
        if self.lower_triangle and self.upper_triangle:
            raise ValueError("`lower_triangle` and `upper_triangle` are mutually exclusive.")

    def __call__(self, key: Any, shape: Any, dtype: Any = None) -> Any:
        if isinstance(key, tuple | list):  # ngc-learn's order: init(shape, key)
            key, shape = shape, key
        shape = _check_shape(shape)
        dtype = (self.dtype or jnp.float32) if dtype is None else dtype
        key, mask_key = jax.random.split(key)
        values = _SAMPLERS[self.dist](key, shape, dtype, dict(self.params))
        if self.amin is not None or self.amax is not None:
            values = jnp.clip(values, self.amin, self.amax)
        if self.lower_triangle or self.upper_triangle or self.hollow or self.eye:
            if len(shape) < 2:
                raise ValueError("triangle/hollow/eye options need a shape with >= 2 axes.")
            rows, cols = shape[-2], shape[-1]
            if self.lower_triangle:
                values = values * jnp.tril(jnp.ones((rows, cols), dtype))
            if self.upper_triangle:
                values = values * jnp.triu(jnp.ones((rows, cols), dtype))
            if self.hollow:
                values = values * (1 - jnp.eye(rows, cols, dtype=dtype))
            if self.eye:
                values = values * jnp.eye(rows, cols, dtype=dtype)
        for axis, spec in ((1, self.col_mask), (0, self.row_mask)):
            if spec is None:
                continue
            if len(shape) != 2:
                raise ValueError("`col_mask`/`row_mask` need a 2-D shape.")
            size = shape[axis]
            if isinstance(spec, int):
                if not 0 <= spec <= size:
                    name = "col_mask" if axis == 1 else "row_mask"
                    raise ValueError(
                        f"`{name}` must be in [0, {size}] (rows/columns kept of shape {shape}), "
                        f"got {spec}."
                    )
                mask_key, sub = jax.random.split(mask_key)
                keep = jax.random.choice(sub, size, (spec,), replace=False)
            else:
                if any(not -size <= i < size for i in spec):
                    name = "col_mask" if axis == 1 else "row_mask"
                    raise ValueError(
                        f"`{name}` indices must be in [-{size}, {size}) for a shape of {shape}, "
                        f"got {list(spec)}."
                    )
                keep = jnp.asarray(spec, dtype=jnp.int32)
            kept = jnp.zeros((size,), bool).at[keep].set(True)
            kept = kept[None, :] if axis == 1 else kept[:, None]
            values = jnp.where(kept, values, jnp.zeros((), dtype))
        return np.asarray(values) if self.use_numpy else values


def _finite(value: Any, name: str) -> float | None:
    """``value`` as a float; ``ValueError`` naming `name` unless it is a finite real number
    (``None``, unchecked, for a traced value)."""
    if isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        try:
            value = float(np.asarray(value).item())  # a 0-d array
        except (TypeError, ValueError):
            raise ValueError(f"`{name}` must be a finite real number, got {value!r}.") from None
    if not math.isfinite(float(value)):
        raise ValueError(f"`{name}` must be finite, got {value!r}.")
    return float(value)


def _check_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of ints; ``ValueError`` naming `shape` unless every entry is a
    positive int (a float such as 2.5 is refused, not truncated)."""
    text = f"`shape` must be a tuple of positive ints, got {shape!r}."
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(text) from None
    out = []
    for d in dims:
        if isinstance(d, bool | np.bool_):
            raise ValueError(text)
        try:
            out.append(operator.index(d))
        except TypeError:
            raise ValueError(text) from None
    if not out or any(d <= 0 for d in out):
        raise ValueError(text)
    return tuple(out)


def _fan_in(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape[:-1])) if len(shape) > 1 else int(shape[0])


def _constant(key, shape, dtype, p):
    return jnp.full(shape, p.get("value", 1.0), dtype)


def _diag_offdiag(key, shape, dtype, p):
    if len(shape) < 2:
        raise ValueError(f"`shape` of a diag_offdiag initialiser needs >= 2 axes, got {shape}.")
    eye = jnp.eye(shape[-2], shape[-1], dtype=dtype)
    block = p["on_diag"] * eye + p["off_diag"] * (1 - eye)
    return jnp.broadcast_to(block, shape).astype(dtype)


def _uniform(key, shape, dtype, p):
    return jax.random.uniform(key, shape, dtype, p.get("low", 0.0), p.get("high", 1.0))


def _gaussian(key, shape, dtype, p):
    return p.get("mean", 0.0) + p.get("std", 1.0) * jax.random.normal(key, shape, dtype)


def _log_gaussian(key, shape, dtype, p):
    return jnp.exp(p.get("mean", 0.0) + p.get("sigma", 1.0) * jax.random.normal(key, shape, dtype))


def _fan_in_uniform(key, shape, dtype, p):
    bound = 1.0 / math.sqrt(_fan_in(shape))
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def _fan_in_gaussian(key, shape, dtype, p):
    return jax.random.normal(key, shape, dtype) / math.sqrt(_fan_in(shape))


_SAMPLERS = {
    "constant": _constant,
    "uniform": _uniform,
    "gaussian": _gaussian,
    "log_gaussian": _log_gaussian,
    "fan_in_uniform": _fan_in_uniform,
    "fan_in_gaussian": _fan_in_gaussian,
    "diag_offdiag": _diag_offdiag,
}

_OPTION_NAMES = (
    "amin",
    "amax",
    "lower_triangle",
    "upper_triangle",
    "hollow",
    "eye",
    "col_mask",
    "row_mask",
    "dtype",
    "use_numpy",
)


def _make(dist: Dist, params: dict[str, float], options: dict[str, Any]) -> Initializer:
    unknown = set(options) - set(_OPTION_NAMES)
    if unknown:
        raise ValueError(f"unknown initialiser options {sorted(unknown)}; known: {_OPTION_NAMES}.")
    for name in ("col_mask", "row_mask"):
        if isinstance(options.get(name), list | tuple):
            options[name] = tuple(int(i) for i in options[name])
    return Initializer(dist, tuple(sorted(params.items())), **options)


class DistributionGenerator:
    """ngc-learn's generator names; each returns an :class:`Initializer`."""

    @staticmethod
    def constant(value: float = 1.0, **options: Any) -> Initializer:
        """Every entry equal to ``value`` (finite)."""
        return _make("constant", {"value": value}, options)

    @staticmethod
    def diag_offdiag(on_diag: float, off_diag: float, **options: Any) -> Initializer:
        r"""A matrix with ``on_diag`` on its diagonal and ``off_diag`` everywhere else,
        $W = \text{on\_diag}\, I + \text{off\_diag}\,(\mathbf 1 - I)$ (rectangular
        shapes use the leading diagonal; for more than two axes the last two are the
        matrix), e.g. self-excitation with uniform lateral inhibition. Deterministic: the
        key is used only by the ``col_mask``/``row_mask`` options.

        **Arguments:** `on_diag`, `off_diag` (finite floats); the common options."""
        return _make("diag_offdiag", {"on_diag": on_diag, "off_diag": off_diag}, options)

    @staticmethod
    def uniform(low: float = 0.0, high: float = 1.0, **options: Any) -> Initializer:
        """Uniform on ``[low, high)``: finite ``low < high`` (``ValueError`` otherwise)."""
        lo, hi = _finite(low, "low"), _finite(high, "high")
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"`low` ({low}) must be below `high` ({high}).")
        return _make("uniform", {"low": low, "high": high}, options)

    @staticmethod
    def gaussian(mean: float = 0.0, std: float = 1.0, **options: Any) -> Initializer:
        """Normal with finite ``mean`` and standard deviation ``std > 0``, finite."""
        _finite(mean, "mean")
        std_f = _finite(std, "std")
        if std_f is not None and not std_f > 0:
            raise ValueError(f"`std` must be > 0, got {std}.")
        return _make("gaussian", {"mean": mean, "std": std}, options)

    @staticmethod
    def log_gaussian(sigma: float = 1.0, mean: float = 0.0, **options: Any) -> Initializer:
        """Log-normal: ``exp`` of a normal with standard deviation ``sigma`` (ngc-learn's
        zero-mean form; ``mean`` shifts the underlying normal). Finite ``mean`` and
        ``sigma > 0``."""
        _finite(mean, "mean")
        sigma_f = _finite(sigma, "sigma")
        if sigma_f is not None and not sigma_f > 0:
            raise ValueError(f"`sigma` must be > 0, got {sigma}.")
        return _make("log_gaussian", {"mean": mean, "sigma": sigma}, options)

    @staticmethod
    def fan_in_uniform(**options: Any) -> Initializer:
        """Uniform on ``[-1/sqrt(fan_in), 1/sqrt(fan_in)]``."""
        return _make("fan_in_uniform", {}, options)

    @staticmethod
    def fan_in_gaussian(**options: Any) -> Initializer:
        """Normal with standard deviation ``1/sqrt(fan_in)``."""
        return _make("fan_in_gaussian", {}, options)


def initialize_params(
    key: Key, init_kernel: Initializer, shape: tuple[int, ...], dtype: Any = None
) -> Any:
    """ngc-learn's ``initialize_params``: sample ``init_kernel`` at ``shape``."""
    if not isinstance(init_kernel, Initializer):
        raise ValueError(
            f"`init_kernel` must be an Initializer from DistributionGenerator, got "
            f"{type(init_kernel).__name__}."
        )
    return init_kernel(key, shape, dtype)
