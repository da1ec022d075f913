r"""Run configurations: the fields every training command shares, config files in and out.

A task's configuration is a frozen dataclass that subclasses :class:`TrainConfig`; every
field carries its help text in ``metadata["help"]`` (and, for a closed set of values,
``metadata["choices"]``), from which the CLI builds one flag per field
(``field_name`` -> ``--field-name``). The resolved configuration of every run is written
to ``config.json``; :func:`read_config_file` reads it (or a user's JSON/YAML file) back.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar


__all__ = [
    "TrainConfig",
    "field",
    "check_fields",
    "config_to_dict",
    "config_from_dict",
    "read_config_file",
]

C = TypeVar("C", bound="TrainConfig")

_DOMAINS = {
    "positive": (lambda v: v > 0, "> 0"),
    "nonnegative": (lambda v: v >= 0, ">= 0"),
    "unit_open": (lambda v: 0 < v < 1, "in (0, 1)"),
    "unit_closed": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "at_least_one": (lambda v: v >= 1, ">= 1"),
}


def field(default: Any, help: str, choices: Sequence[Any] | None = None) -> Any:
    """A config field with its CLI help text (and optional closed set of `choices`).
    Tuples are immutable, so a tuple default is safe in a frozen dataclass."""
    metadata: dict[str, Any] = {"help": help}
    if choices is not None:
        metadata["choices"] = tuple(choices)
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(config: Any, **domains: Sequence[str]) -> None:
    """Check the fields of `config` named in each domain's list (domains: ``positive``,
    ``nonnegative``, ``unit_open``, ``unit_closed``, ``at_least_one``); ``None`` values are
    skipped (they mean "default"). Every number must also be finite. Raises ``ValueError``
    naming the field (and its CLI flag), the value and the domain."""
    for domain, names in domains.items():
        ok, text = _DOMAINS[domain]
        for name in names:
            value = getattr(config, name)
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if v is None:
                    continue
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ValueError(
                        f"`{name}` (--{name.replace('_', '-')}) must be a number {text}, "
                        f"got {value!r}."
                    )
                if not math.isfinite(v) or not ok(v):
                    raise ValueError(
                        f"`{name}` (--{name.replace('_', '-')}) must be finite and {text}, "
                        f"got {value!r}."
                    )


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The fields every training command shares (a task's config subclasses this and adds
    its model's fields; see :mod:`ngcx.training`).

    ``seed`` draws the model's initial parameters and every random number of training
    (batch order, noise, spike encodings); ``data_seed`` only the train/test split of a
    data set without a fixed split (``digits``, an ``npz`` file without ``x_test``), so
    two seeds can be compared on the same test set."""

    epochs: int = field(10, "training epochs (passes over the training set)")
    batch_size: int = field(64, "samples per training step")
    seed: int = field(0, "seed of the initial parameters and of training's random numbers")
    data: str = field(
        "digits",
        "data set: digits (embedded 8x8), mnist:DIR or fashion-mnist:DIR (IDX files, "
        "gzipped or not), npz:FILE (arrays x, y and optionally x_test, y_test)",
    )
    data_seed: int = field(0, "seed of the train/test split (digits and npz without x_test)")
    test_fraction: float = field(
        0.2, "share of the samples held out for testing (data without a fixed split)"
    )
    out: str = field("runs/run", "output folder (config, metrics, checkpoint, plots)")
    plots: bool = field(True, "write plots (needs matplotlib: pip install 'ngcx[plots]')")
    devices: int | None = field(
        None, "data-parallel devices (default: all local devices when there are several)"
    )

    def __post_init__(self) -> None:
        _check_types(self)
        check_fields(
            self,
            positive=("epochs", "batch_size"),
            unit_open=("test_fraction",),
            at_least_one=("devices",),
        )
        if not isinstance(self.data, str) or not self.data:
            raise ValueError(f"`data` (--data) must be a non-empty str, got {self.data!r}.")
        if not isinstance(self.out, str) or not self.out:
            raise ValueError(f"`out` (--out) must be a non-empty str, got {self.out!r}.")
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices is not None and getattr(self, f.name) not in choices:
                raise ValueError(
                    f"`{f.name}` (--{f.name.replace('_', '-')}) must be one of "
                    f"{', '.join(map(str, choices))}, got {getattr(self, f.name)!r}."
                )


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _allowed(tp: Any) -> tuple[tuple[type, ...], bool, bool]:
    """(element types, is_tuple, optional) of a field annotation."""
    optional = False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else tp
        origin = typing.get_origin(tp)
    if origin is tuple:
        return (typing.get_args(tp)[0],), True, optional
    return (tp,), False, optional


def _check_types(config: Any) -> None:
    _check_values(
        type(config), {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    )


def _check_values(cls: type, values: Mapping[str, Any]) -> None:
    """``ValueError`` naming the first field of `cls` whose value in `values` does not
    have the field's type."""
    hints = _field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        value = values[f.name]
        (elem,), is_tuple, optional = _allowed(hints[f.name])
        flag = f"--{f.name.replace('_', '-')}"
        if value is None and optional:
            continue
        items = value if is_tuple else (value,)
        if is_tuple and not isinstance(value, tuple):
            raise ValueError(
                f"`{f.name}` ({flag}) must be a tuple of {elem.__name__}, got {value!r}."
            )
        for v in items:
            good = (
                isinstance(v, bool)
                if elem is bool
                else isinstance(v, elem) and not isinstance(v, bool)
                if elem is int
                else isinstance(v, int | float) and not isinstance(v, bool)
                if elem is float
                else isinstance(v, elem)
            )
            if not good:
                raise ValueError(
                    f"`{f.name}` ({flag}) must be {'a tuple of ' if is_tuple else ''}"
                    f"{elem.__name__}, got {value!r}."
                )


def config_to_dict(config: Any) -> dict[str, Any]:
    """The config's fields as a JSON-ready dict (tuples as lists)."""

    def plain(v: Any) -> Any:
        return list(v) if isinstance(v, tuple) else v

    return {f.name: plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _coerce(cls: type, name: str, value: Any) -> Any:
    (elem,), is_tuple, optional = _allowed(_field_types(cls)[name])
    if value is None:
        return None
    if is_tuple and isinstance(value, list | tuple):
        return tuple(
            float(v) if elem is float and isinstance(v, int) and not isinstance(v, bool) else v
            for v in value
        )
    if elem is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def config_from_dict(cls: type[C], values: Mapping[str, Any], *, source: str = "config") -> C:
    """Build `cls` from `values` (field names, with ``_`` or ``-``); an unknown key raises
    ``ValueError`` naming it and `source`. Lists become tuples, ints become floats where
    the field is a float."""
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in names:
            raise ValueError(
                f"{source}: unknown setting {key!r}; the settings of this command are "
                f"{', '.join(sorted(names))}."
            )
        kwargs[name] = _coerce(cls, name, value)
    _check_values(cls, kwargs)
    return cls(**kwargs)


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The settings in a JSON (``.json``) or YAML (``.yaml``/``.yml``, needs PyYAML) file:
    a mapping of field names to values (a run's ``config.json`` also holds ``"model"``, the
    command it belongs to). Raises ``ValueError`` naming the file for anything else."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"`config` {str(p)!r} is not a file.")
    text = p.read_text()
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as err:
            raise ValueError(
                f"`config` {str(p)!r} is YAML, which needs PyYAML (pip install pyyaml); "
                "or write it as JSON."
            ) from err
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"`config` {str(p)!r} is not valid YAML: {err}") from err
    elif p.suffix.lower() == ".json":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"`config` {str(p)!r} is not valid JSON: {err}") from err
    else:
        raise ValueError(f"`config` {str(p)!r} must end in .json, .yaml or .yml.")
    if not isinstance(values, dict):
        raise ValueError(
            f"`config` {str(p)!r} must hold a mapping of settings, got {type(values).__name__}."
        )
    return values
