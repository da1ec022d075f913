"""Griffe extensions for the API pages: Sphinx roles in docstrings become cross-references,
and Equinox modules without an ``__init__`` get the one Equinox generates from their fields.

The docstrings use reStructuredText roles (``:class:`LIFCell```, ``:func:`~ngcx.x.f```,
``:meth:`step```, ``:mod:``, ``:data:``, ``:attr:``). mkdocstrings renders docstrings as
Markdown, where such a role would show raw. This extension rewrites each role, once the
package is loaded, into an optional autorefs link to the object's *public* path
(``ngcx.cells.LIFCell``, never ``ngcx.cells._lif.LIFCell``): a link when the object is on
the site, plain code otherwise, never a warning.

Used by ``mkdocs.yml`` (mkdocstrings' ``extensions`` option) and by ``docs/hooks.py``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe


ROLE = re.compile(
    r":(?:py:)?(?P<role>class|func|meth|mod|data|attr|obj|exc|const|type):"
    r"`(?P<target>[^`]+)`"
)
PRIVATE = re.compile(r"\b(?:ngcx(?:\.\w+)*?)\._\w+(?:\.\w+)*")


def is_private(path: str) -> bool:
    return any(part.startswith("_") for part in path.split("."))


def public_map(pkg: griffe.Module) -> dict[str, str]:
    """Map every canonical (possibly private) path reachable from a public name to the
    public path closest to it (``ngcx.cells._lif.LIFCell`` -> ``ngcx.cells.LIFCell``)."""
    best: dict[str, tuple[tuple[int, int], str]] = {}

    def score(canonical: str, public: str) -> tuple[int, int]:
        common = 0
        for a, b in zip(canonical.split("."), public.split("."), strict=False):
            if a != b:
                break
            common += 1
        return (common, -len(public))

    def record(canonical: str, public: str) -> None:
        if canonical == public:
            best[canonical] = ((10**6, 0), public)
            return
        s = score(canonical, public)
        if canonical not in best or s > best[canonical][0]:
            best[canonical] = (s, public)

    seen: set[str] = set()

    def walk(module: griffe.Module) -> None:
        if module.path in seen:
            return
        seen.add(module.path)
        for name, member in list(module.members.items()):
            if name.startswith("_"):
                continue
            public = f"{module.path}.{name}"
            if member.is_alias:
                target = member.target_path  # type: ignore[union-attr]
                if target.startswith(module.package.path + "."):
                    record(target, public)
                    try:
                        final = member.final_target  # type: ignore[union-attr]
                    except Exception:  # an alias to outside the package, or unresolvable
                        continue
                    record(final.path, public)
                    if final.is_module and not is_private(final.path):
                        walk(final)  # type: ignore[arg-type]
            else:
                record(member.path, public)
                if member.is_module:
                    walk(member)  # type: ignore[arg-type]

    walk(pkg)
    return {canonical: public for canonical, (_, public) in best.items()}


def to_public(path: str, mapping: dict[str, str]) -> str | None:
    """The public spelling of ``path``, or None when it has none."""
    if not is_private(path):
        return path
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in mapping:
            candidate = ".".join([mapping[head], *parts[i:]])
            return None if is_private(candidate) else candidate
    return None


def _resolve(name: str, obj: griffe.Object | griffe.Alias) -> str | None:
    first, _, rest = name.partition(".")
    scope: Any = obj
    while scope is not None:
        try:
            base = scope.resolve(first)
        except Exception:  # griffe's NameResolutionError, or an unresolvable alias
            base = None
        if base:
            return f"{base}.{rest}" if rest else base
        scope = scope.parent
    return None


def rewrite_roles(text: str, obj: Any, mapping: dict[str, str], root: str = "ngcx") -> str:
    """Rewrite the Sphinx roles in ``text`` (a docstring of ``obj``) as Markdown/HTML."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"].strip()
        title = None
        explicit = re.fullmatch(r"(?P<title>.+?)\s*<(?P<target>[^>]+)>", target)
        if explicit:
            title, target = explicit["title"], explicit["target"]
        short = target.startswith("~")
        target = target.lstrip("~!").lstrip(".")
        if target == root or target.startswith(root + "."):
            full: str | None = target
        else:
            full = _resolve(target, obj) if obj is not None else None
        public = to_public(full, mapping) if full else None
        if title is None:
            shown = target
            if public and is_private(target):
                shown = public
            elif not public and is_private(target):
                shown = target.split(".")[-1]
            if short:
                shown = shown.split(".")[-1]
            title = shown
        code = f"<code>{html.escape(title)}</code>"
        if public:
            return f'<autoref identifier="{public}" optional>{code}</autoref>'
        return code

    return ROLE.sub(replace, text)


def _walk(obj: griffe.Object) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)  # type: ignore[arg-type]


def _is_module_class(cls: griffe.Class, chain: list[griffe.Class]) -> bool:
    bases = [base for klass in chain for base in klass.bases]
    paths = {getattr(base, "canonical_path", str(base)) for base in bases}
    return bool(paths & {"equinox.Module", "equinox._module.Module", "eqx.Module"})


def _field_parameter(member: griffe.Attribute) -> griffe.Parameter | None:
    default: Any = member.value
    value = member.value
    if isinstance(value, griffe.ExprCall) and str(value.function).split(".")[-1] == "field":
        default = None
        for argument in value.arguments:
            if not isinstance(argument, griffe.ExprKeyword):
                continue
            if argument.name == "init" and str(argument.value) == "False":
                return None
            if argument.name == "default":
                default = argument.value
            if argument.name == "default_factory":
                default = griffe.ExprCall(function=argument.value, arguments=[])
    return griffe.Parameter(
        member.name,
        annotation=member.annotation,
        kind=griffe.ParameterKind.positional_or_keyword,
        default=default,
        docstring=member.docstring,
    )


def equinox_init(cls: griffe.Class) -> griffe.Function | None:
    """The ``__init__`` Equinox generates for a module without one (here or in a base):
    its annotated instance fields, bases' first, in order; None for other classes."""
    try:
        chain = [cls, *cls.mro()]
    except ValueError:
        chain = [cls]
    if any("__init__" in klass.members for klass in chain):
        return None
    if not _is_module_class(cls, chain):
        return None
    parameters: dict[str, griffe.Parameter] = {}
    for klass in reversed(chain):
        for member in klass.members.values():
            if member.is_alias or not member.is_attribute or member.annotation is None:
                continue
            if "instance-attribute" not in member.labels:
                continue  # a ClassVar or a property
            parameter = _field_parameter(member)  # type: ignore[arg-type]
            if parameter is not None:
                parameters[member.name] = parameter
    self_ = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
    return griffe.Function(
        "__init__",
        lineno=0,
        endlineno=0,
        parent=cls,
        parameters=griffe.Parameters(self_, *parameters.values()),
        returns="None",
    )


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of the loaded package, and give Equinox
    modules their generated ``__init__``."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        mapping = public_map(pkg)
        objects = list(_walk(pkg))
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = rewrite_roles(obj.docstring.value, obj, mapping, pkg.path)
        classes = [obj for obj in objects if obj.is_class]
        inits = [(cls, equinox_init(cls)) for cls in classes]  # type: ignore[arg-type]
        for cls, init in inits:  # set after all are computed: a base's must not hide fields
            if init is not None:
                cls.set_member("__init__", init)
