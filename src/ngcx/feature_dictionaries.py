"""Polynomial feature library (ngc-learn's ``PolynomialLibrary``, for sparse regression of
dynamics, SINDy-style)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike


__all__ = ["PolynomialLibrary"]

_VARS = ("x", "y", "z")


@dataclasses.dataclass(frozen=True)
class PolynomialLibrary:
    """All monomials of 1-3 variables up to total degree ``poly_order``.

    ``fit([x, y, ...])`` returns ``(library, names)``: the ``(N, terms)`` matrix of
    monomials (the constant first when ``include_bias``) in ngc-learn's order (lexicographic
    in the exponents of x, then y, then z) and their names such as ``"x^1 y^2"``.
    """

    poly_order: int
    include_bias: bool = True

    def __post_init__(self):
        if (
            not isinstance(self.poly_order, int)
            or isinstance(self.poly_order, bool)
            or self.poly_order < 0
        ):
            raise ValueError(f"`poly_order` must be a non-negative int, got {self.poly_order!r}.")

    def exponents(self, n_vars: int) -> list[tuple[int, ...]]:
        """The exponent tuples of the library's terms, in order."""
        terms = [
            e
            for e in itertools.product(range(self.poly_order + 1), repeat=n_vars)
            if sum(e) <= self.poly_order
        ]
        return [e for e in terms if self.include_bias or any(e)]

    def fit(self, X: Sequence[ArrayLike]) -> tuple[Array, list[str]]:
        """The library of the variables `X` (1 to 3 arrays of one, non-zero, number of
        samples; each is flattened); ``ValueError`` naming `X` otherwise."""
        if not 1 <= len(X) <= 3:
            raise ValueError(f"`X` must hold 1 to 3 variables, got {len(X)}.")
        cols = [jnp.asarray(x, dtype=jnp.float32).reshape(-1) for x in X]
        lengths = [c.shape[0] for c in cols]
        if len(set(lengths)) != 1:
            raise ValueError(f"the variables in `X` differ in length: {lengths}.")
        if lengths[0] == 0:
            raise ValueError("the variables in `X` hold no samples (length 0).")
        exps = self.exponents(len(cols))
        lib = jnp.stack(
            [
                jnp.prod(jnp.stack([c**p for c, p in zip(cols, e, strict=True)]), axis=0)
                for e in exps
            ],
            axis=1,
        )
        names = [
            " ".join(f"{v}^{p}" for v, p in zip(_VARS, e, strict=False) if p) or "1" for e in exps
        ]
        return lib, names
