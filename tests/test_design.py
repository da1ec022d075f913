"""Design rules checked over the whole public API: abstract bases and final classes, array
leaves instead of static numbers, and the layering of the packages."""

import ast
import inspect
from pathlib import Path

import equinox as eqx
import pytest

import ngcx
from ngcx import cells, models, plasticity, synapses


SRC = Path(ngcx.__file__).parent


def _public_modules():
    return [cells, synapses, plasticity, models]


def _public_classes():
    out = []
    for mod in _public_modules():
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) and issubclass(obj, eqx.Module):
                out.append(obj)
    return out


def _is_abstract(cls) -> bool:
    return inspect.isabstract(cls) or cls.__name__.lstrip("_").startswith("Abstract")


def _is_state(cls) -> bool:
    """State containers and typed results hold arrays only; they are not components."""
    return not any(callable(v) for k, v in vars(cls).items() if not k.startswith("__"))


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__name__)
def test_concrete_classes_are_final_and_override_nothing_concrete(cls):
    if _is_abstract(cls):
        return
    for base in cls.__mro__[1:]:
        if base in (eqx.Module, object) or not issubclass(base, eqx.Module):
            continue
        assert _is_abstract(base), f"{cls.__name__} subclasses the concrete {base.__name__}"
        for name in vars(cls):
            if name.startswith(("__", "_abc")) or name not in vars(base):
                continue
            inherited = vars(base)[name]
            abstract = getattr(inherited, "__isabstractmethod__", False)
            assert abstract, f"{cls.__name__}.{name} overrides a concrete member of {base.__name__}"
    init = vars(cls).get("__init__")
    if init is not None and inspect.isfunction(init):
        assert init.__qualname__.startswith(cls.__name__ + "."), (
            f"{cls.__name__}.__init__ is assigned from {init.__qualname__}"
        )


def _static_numbers(cls):
    """Fields declared static whose annotation is a number."""
    bad = []
    for f in getattr(cls, "__dataclass_fields__", {}).values():
        if f.metadata.get("static", False) and f.type in ("float", "float | None", float):
            bad.append(f.name)
    return bad


@pytest.mark.parametrize("cls", _public_classes(), ids=lambda c: c.__name__)
def test_no_numeric_constant_is_a_static_field(cls):
    assert not _static_numbers(cls)


LAYERS = {
    # package or module -> its rank; a module may import only from ranks <= its own
    "activations": 0, "surrogates": 0, "ops": 0, "conv": 0, "initializers": 0,
    "diffeq": 0, "_params": 0, "_checks": 0, "_custom_types": 0, "_shapes": 0,
    "cells": 1, "synapses": 1,
    "plasticity": 2, "learning": 2,
    "models": 3,
    "training": 4, "cli": 5,
}  # fmt: skip


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1 and node.module:
            yield node.level, node.module.split(".")[0]


@pytest.mark.parametrize("package", ["cells", "synapses", "plasticity", "models", "training"])
def test_lower_layers_never_import_higher_ones(package):
    rank = LAYERS[package]
    for path in (SRC / package).glob("*.py"):
        for level, module in _imports(path):
            if level == 2 and module in LAYERS:
                assert LAYERS[module] <= rank, f"{path.name} imports {module}"
            if level == 1 and module in LAYERS:  # a sibling package (e.g. training -> cli)
                assert LAYERS[module] <= rank, f"{path.name} imports {module}"


def test_core_modules_import_no_components():
    for name in ("activations", "surrogates", "ops", "conv", "initializers", "diffeq", "_params"):
        for level, module in _imports(SRC / f"{name}.py"):
            if level == 1 and module in LAYERS:
                assert LAYERS[module] == 0, f"{name} imports {module}"
