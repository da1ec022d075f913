r"""Sparse identification of nonlinear dynamics (SINDy), ngc-museum's ``sindy`` exhibit
(Brunton, Proctor & Kutz, PNAS 2016).

Given samples $x(t_k) \in \mathbb{R}^d$ of an unknown system $\dot x = f(x)$ and estimates
$\dot X$ of their time derivatives, SINDy writes $f$ as a sparse combination of library
functions $\Theta(x)$ (here every monomial of the $d$ variables up to degree ``poly_order``,
:class:`ngcx.feature_dictionaries.PolynomialLibrary`):

$$\dot X \approx \Theta(X)\,\Xi, \qquad \Xi \in \mathbb{R}^{\text{terms} \times d}
\ \text{sparse}.$$

$\Xi$ is found by **sequentially thresholded least squares** (STLSQ), the exhibit's
``Std_SINDy``: start from the full support, and in every round (:meth:`SINDy.sparse_step`)

1. solve $\min_{\xi_j} \lVert \dot X_{:,j} - \Theta_{S_j}\,\xi_j \rVert^2$ on each
   column's current support $S_j$ (the other coefficients are 0);
2. shrink the support to $S_j \leftarrow \{i : |\Xi_{ij}| \ge \lambda\}$ and zero the rest.

The fixed point is the least-squares fit on a support whose coefficients all exceed the
threshold $\lambda$. ngcx thresholds coefficient by coefficient as Brunton et al.; the
exhibit first keeps the library terms used by *any* equation, then zeroes per
coefficient, which reaches the same fixed point on these systems.

The systems of the exhibit's ``train_sindy.py`` are in :data:`SINDY_SYSTEMS`, each with
its exact coefficient matrix (:meth:`DynamicalSystem.true_coefficients`), trajectory
(:meth:`DynamicalSystem.trajectory`, RK4 as the exhibit) and the exhibit's library degree
and threshold. Derivatives are estimated by finite differences
(:func:`central_difference`, second order, as the exhibit's ``numpy.gradient``).

For the Hebbian/gradient-descent solvers with L1, L2 or elastic-net priors (ngc-learn's
``Iterative_Lasso`` and kin) see :mod:`ngcx.sparse_regression`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from .. import diffeq
from .._checks import float_array
from .._params import param
from ..feature_dictionaries import PolynomialLibrary


__all__ = ["SINDy", "DynamicalSystem", "SINDY_SYSTEMS", "central_difference"]


def central_difference(
    x: Float[ArrayLike, "n_samples ..."], dt: float
) -> Float[Array, "n_samples ..."]:
    r"""Time derivative of evenly sampled values by second-order finite differences.

    Interior samples use the central difference $(x_{k+1} - x_{k-1}) / 2\Delta t$; the
    first and last the one-sided second-order stencils
    $(-3x_0 + 4x_1 - x_2)/2\Delta t$ and $(3x_{n} - 4x_{n-1} + x_{n-2})/2\Delta t$
    (``numpy.gradient(x, dt, axis=0, edge_order=2)``). The error is $O(\Delta t^2)$.

    **Arguments:**

    - `x`: samples along the first axis, shape `(n_samples, ...)` with ``n_samples >= 3``.
    - `dt`: the sampling interval (> 0, a Python number).

    **Returns:** the derivative estimate, shaped like `x`.
    """
    x_ = float_array(x, "x")
    if x_.ndim < 1 or x_.shape[0] < 3:
        raise ValueError(
            f"`x` needs at least 3 samples along its first axis, got shape {x_.shape}."
        )
    if (
        isinstance(dt, bool)
        or not isinstance(dt, int | float)
        or not (math.isfinite(dt) and dt > 0)
    ):
        raise ValueError(f"`dt` must be a finite number > 0, got {dt!r}.")
    h = 2.0 * dt
    mid = (x_[2:] - x_[:-2]) / h
    first = (-3.0 * x_[0] + 4.0 * x_[1] - x_[2]) / h
    last = (3.0 * x_[-1] - 4.0 * x_[-2] + x_[-3]) / h
    return jnp.concatenate([first[None], mid, last[None]], axis=0)


@dataclasses.dataclass(frozen=True)
class DynamicalSystem:
    r"""A polynomial ODE $\dot x = f(x)$ with known coefficients, for SINDy experiments.

    **Fields:**

    - `name`: the system's name (a key of :data:`SINDY_SYSTEMS`).
    - `dfx`: ``dfx(t, x, params)`` $= f(x)$ on states of shape `(..., n_vars)` (one of
      :mod:`ngcx.diffeq`'s test systems).
    - `x0`: the initial state of the exhibit's trajectory.
    - `terms`: the true right-hand side, library term name (as
      :class:`~ngcx.feature_dictionaries.PolynomialLibrary` writes it, e.g.
      ``"x^1 z^1"``) -> its coefficient in each equation.
    - `poly_order`, `threshold`, `steps`, `dt`: the exhibit's library degree, STLSQ
      threshold, trajectory length (integration steps) and step.
    """

    name: str
    dfx: Callable[..., Any]
    x0: tuple[float, ...]
    terms: Mapping[str, tuple[float, ...]]
    poly_order: int
    threshold: float
    steps: int
    dt: float = 0.01

    @property
    def n_vars(self) -> int:
        return len(self.x0)

    def library(self, poly_order: int | None = None) -> PolynomialLibrary:
        """The monomial library (no constant term, as the exhibit)."""
        order = self.poly_order if poly_order is None else poly_order
        return PolynomialLibrary(order, include_bias=False)

    def true_coefficients(self, poly_order: int | None = None) -> Float[Array, "terms n_vars"]:
        r"""The exact $\Xi$ over :meth:`library`'s terms, shape `(terms, n_vars)`."""
        lib = self.library(poly_order)
        names = _term_names(lib, self.n_vars)
        missing = [t for t in self.terms if t not in names]
        if missing:
            raise ValueError(
                f"`poly_order` {lib.poly_order} is too low for {self.name}: its terms "
                f"{missing} are not in the library."
            )
        rows = [self.terms.get(n, (0.0,) * self.n_vars) for n in names]
        return jnp.asarray(rows, dtype=jnp.float32)

    def trajectory(
        self, steps: int | None = None, dt: float | None = None
    ) -> tuple[Float[Array, " n_samples"], Float[Array, "n_samples n_vars"]]:
        """The system integrated from `x0` with RK4 (:func:`ngcx.diffeq.solve_ode`).

        **Returns:** ``(ts, xs)``: the times and states, `x0` first (``steps + 1``
        samples)."""
        steps = self.steps if steps is None else steps
        dt = self.dt if dt is None else dt
        x0 = jnp.asarray(self.x0, dtype=jnp.float32)
        ts, xs = diffeq.solve_ode("rk4", 0.0, x0, T=steps, dfx=self.dfx, dt=dt)
        ts = jnp.concatenate([jnp.zeros((1,), ts.dtype), ts])
        return ts, jnp.concatenate([x0[None], xs], axis=0)


def _term_names(lib: PolynomialLibrary, n_vars: int) -> list[str]:
    vars_ = ("x", "y", "z")
    return [
        " ".join(f"{v}^{p}" for v, p in zip(vars_, e, strict=False) if p) or "1"
        for e in lib.exponents(n_vars)
    ]


#: The exhibit's systems (ngc-learn's ``diffeq.odes``) with their exact coefficients.
SINDY_SYSTEMS: Mapping[str, DynamicalSystem] = {
    s.name: s
    for s in (
        DynamicalSystem(
            "linear_2D",
            diffeq.linear_2D,
            (3.0, -1.5),
            {"x^1": (-0.1, -2.0), "y^1": (2.0, -0.1)},
            poly_order=2,
            threshold=0.01,
            steps=2000,
        ),
        DynamicalSystem(
            "cubic_2D",
            diffeq.cubic_2D,
            (2.0, 0.0),
            {"x^3": (-0.1, -2.0), "y^3": (2.0, -0.1)},
            poly_order=3,
            threshold=0.01,
            steps=1000,
        ),
        DynamicalSystem(
            "linear_3D",
            diffeq.linear_3D,
            (1.0, 1.0, -1.0),
            {"x^1": (-0.1, -2.0, 0.0), "y^1": (2.0, -0.1, 0.0), "z^1": (0.0, 0.0, -0.3)},
            poly_order=2,
            threshold=0.01,
            steps=2000,
        ),
        DynamicalSystem(
            "lorenz",
            diffeq.lorenz,
            (-8.0, 8.0, 27.0),
            {
                "x^1": (-10.0, 28.0, 0.0),
                "y^1": (10.0, -1.0, 0.0),
                "z^1": (0.0, 0.0, -8.0 / 3.0),
                "x^1 z^1": (0.0, -1.0, 0.0),
                "x^1 y^1": (0.0, 0.0, 1.0),
            },
            poly_order=2,
            threshold=0.1,
            steps=500,
        ),
    )
}


class SINDy(eqx.Module):
    r"""SINDy by sequentially thresholded least squares (see the module docstring).

    Holds the coefficients ``coef`` $\Xi$ (shape `(terms, n_vars)`), their support
    ``mask`` and the threshold $\lambda$ (an array leaf, so a sweep is a ``jax.vmap``).
    A new model has the full support and zero coefficients; :meth:`fit` (or
    :meth:`sparse_step` round by round) returns a fitted copy.

    ```python
    ts, xs = SINDY_SYSTEMS["lorenz"].trajectory()
    model = SINDy(3, poly_order=2, threshold=0.1).fit(xs, central_difference(xs, 0.01))
    print("\n".join(model.equations()))
    ```
    """

    coef: Float[Array, "terms n_vars"]
    mask: Bool[Array, "terms n_vars"]
    threshold: Float[Array, ""]
    n_vars: int = eqx.field(static=True)
    poly_order: int = eqx.field(static=True)
    include_bias: bool = eqx.field(static=True)
    max_iter: int = eqx.field(static=True)

    def __init__(
        self,
        n_vars: int,
        *,
        poly_order: int = 2,
        threshold: Any = 0.1,
        max_iter: int = 10,
        include_bias: bool = False,
    ):
        """**Arguments:**

        - `n_vars`: the state dimension $d$ (1 to 3, the library's limit).
        - `poly_order`: the library's highest total degree (>= 1).
        - `threshold`: $\\lambda \\ge 0$, coefficients below it in magnitude are pruned.
        - `max_iter`: STLSQ rounds of :meth:`fit` (>= 1; the exhibit uses up to 20 and
          stops early at a fixed point, which later rounds leave unchanged).
        - `include_bias`: add the constant term to the library (the exhibit does not).
        """
        for name, value, low in (
            ("n_vars", n_vars, 1),
            ("poly_order", poly_order, 1),
            ("max_iter", max_iter, 1),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}.")
        if n_vars > 3:
            raise ValueError(
                f"`n_vars` must be 1, 2 or 3 (the polynomial library's limit), got {n_vars}."
            )
        self.n_vars = n_vars
        self.poly_order = poly_order
        self.include_bias = bool(include_bias)
        self.max_iter = max_iter
        self.threshold = param(threshold, "threshold", "nonnegative", dtype=jnp.float32)
        n_terms = len(self.library.exponents(n_vars))
        self.coef = jnp.zeros((n_terms, n_vars), jnp.float32)
        self.mask = jnp.ones((n_terms, n_vars), bool)

    @property
    def library(self) -> PolynomialLibrary:
        """The feature library $\\Theta$."""
        return PolynomialLibrary(self.poly_order, include_bias=self.include_bias)

    @property
    def feature_names(self) -> list[str]:
        """The library's term names, one per row of ``coef`` (e.g. ``"x^1 y^2"``)."""
        return _term_names(self.library, self.n_vars)

    def features(self, x: Float[ArrayLike, "n_samples n_vars"]) -> Float[Array, "n_samples terms"]:
        r"""$\Theta(x)$: every library term at every sample, shape `(n_samples, terms)`."""
        x_ = self._check_x(x, "x")
        lib, _ = self.library.fit([x_[:, i] for i in range(self.n_vars)])
        return lib

    def __call__(self, x: Float[ArrayLike, "n_samples n_vars"]) -> Float[Array, "n_samples n_vars"]:
        r"""The model's derivative $\dot x = \Theta(x)\,\Xi$ at the samples `x`."""
        return self.features(x) @ self.coef

    def vector_field(
        self, t: Any, x: Float[Array, " n_vars"], params: Any = None
    ) -> Float[Array, " n_vars"]:
        """The recovered $f(x)$ at one state, in :func:`ngcx.diffeq.solve_ode`'s ``dfx``
        signature."""
        return self(x[None])[0]

    def sparse_step(
        self,
        library: Float[ArrayLike, "n_samples terms"],
        dxdt: Float[ArrayLike, "n_samples n_vars"],
    ) -> SINDy:
        r"""One STLSQ round: least squares on the current support of each equation, then
        prune coefficients with $|\Xi_{ij}| < \lambda$.

        **Arguments:**

        - `library`: $\Theta(X)$ from :meth:`features`, shape `(n_samples, terms)`.
        - `dxdt`: the derivative estimates $\dot X$, shape `(n_samples, n_vars)`.

        **Returns:** the model with the new coefficients and support.
        """
        lib = float_array(library, "library")
        dx = float_array(dxdt, "dxdt")
        n_terms = self.coef.shape[0]
        if lib.ndim != 2 or lib.shape[1] != n_terms:
            raise ValueError(f"`library` must have shape (n_samples, {n_terms}), got {lib.shape}.")
        if dx.shape != (lib.shape[0], self.n_vars):
            raise ValueError(
                f"`dxdt` must have shape ({lib.shape[0]}, {self.n_vars}) to match `library`, "
                f"got {dx.shape}."
            )
        lib = lib.astype(self.coef.dtype)
        dx = dx.astype(self.coef.dtype)

        def column(m: Array, y: Array) -> Array:
            # columns off the support are zero, so the minimum-norm solution leaves them 0
            sol = jnp.linalg.lstsq(jnp.where(m, lib, 0.0), y)[0]
            return jnp.where(m, sol, 0.0)

        coef = jax.vmap(column, in_axes=(1, 1), out_axes=1)(self.mask, dx)
        keep = self.mask & (jnp.abs(coef) >= self.threshold)
        return eqx.tree_at(lambda s: (s.coef, s.mask), self, (jnp.where(keep, coef, 0.0), keep))

    def fit(
        self, x: Float[ArrayLike, "n_samples n_vars"], dxdt: Float[ArrayLike, "n_samples n_vars"]
    ) -> SINDy:
        """``max_iter`` STLSQ rounds (:meth:`sparse_step`) from the current support on the
        samples `x` and their derivative estimates `dxdt` (both `(n_samples, n_vars)`);
        one ``lax.scan``, jittable. Returns the fitted model."""
        lib = self.features(x)
        dx = self._check_x(dxdt, "dxdt")
        if dx.shape[0] != lib.shape[0]:
            raise ValueError(f"`dxdt` has {dx.shape[0]} samples but `x` has {lib.shape[0]}.")
        params, static = eqx.partition(self, eqx.is_array)

        def body(p: Any, _: None) -> tuple[Any, None]:
            model = eqx.combine(p, static).sparse_step(lib, dx)
            return eqx.filter(model, eqx.is_array), None

        params, _ = jax.lax.scan(body, params, None, length=self.max_iter)
        return eqx.combine(params, static)

    def simulate(
        self, x0: Float[ArrayLike, " n_vars"], steps: int, dt: float, method: str = "rk4"
    ) -> tuple[Float[Array, " n_samples"], Float[Array, "n_samples n_vars"]]:
        """Integrate the recovered system from `x0` for `steps` steps of `dt`
        (:func:`ngcx.diffeq.solve_ode`). Returns ``(ts, xs)`` with `x0` first."""
        x0_ = float_array(x0, "x0").astype(self.coef.dtype)
        if x0_.shape != (self.n_vars,):
            raise ValueError(f"`x0` must have shape ({self.n_vars},), got {x0_.shape}.")
        ts, xs = diffeq.solve_ode(method, 0.0, x0_, T=steps, dfx=self.vector_field, dt=dt)
        ts = jnp.concatenate([jnp.zeros((1,), ts.dtype), ts])
        return ts, jnp.concatenate([x0_[None], xs], axis=0)

    def equations(self, precision: int = 3) -> list[str]:
        """The recovered equations as text, one per variable (e.g.
        ``"z' = 0.997 x^1 y^1 - 2.660 z^1"``), terms in library order (host values)."""
        coef = np.asarray(self.coef)
        names = self.feature_names
        out = []
        for j, v in enumerate(("x", "y", "z")[: self.n_vars]):
            parts = [(c, n) for c, n in zip(coef[:, j], names, strict=True) if c != 0.0]
            text = ""
            for i, (c, n) in enumerate(parts):
                sign = "-" if c < 0 else "+"
                mag = f"{abs(c):.{precision}f}"
                text += (f"-{mag}" if c < 0 else mag) if i == 0 else f" {sign} {mag}"
                text += f" {n}" if n != "1" else ""
            out.append(f"{v}' = {text or '0'}")
        return out

    def _check_x(self, x: ArrayLike, name: str) -> Array:
        x_ = float_array(x, name)
        if x_.ndim != 2 or x_.shape[1] != self.n_vars or x_.shape[0] == 0:
            raise ValueError(
                f"`{name}` must have shape (n_samples, {self.n_vars}), got {x_.shape}."
            )
        return x_
