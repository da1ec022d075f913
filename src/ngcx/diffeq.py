r"""Explicit one-step ODE integrators (ngc-learn's ``ode_utils`` names and signature).

Each ``step_*(t, x, dfx, dt, params)`` advances $\dot x = f(t, x)$ by one step of ``dt``
and returns ``(t + dt, x_next)``; ``dfx(t, x, params)`` evaluates $f$. ``x`` may be any
PyTree of arrays. All are pure and jittable; inside ``lax.scan`` they compile once.

| name | method | order |
| --- | --- | --- |
| ``step_euler`` (``"euler"``, ``"rk1"``) | forward Euler | 1 |
| ``step_rk2`` (``"midpoint"``, ``"rk2"``) | explicit midpoint | 2 |
| ``step_heun`` (``"heun"``, ``"rk2_heun"``) | Heun (trapezoidal predictor-corrector) | 2 |
| ``step_ralston`` (``"ralston"``, ``"rk2_ralston"``) | Ralston (minimum error bound) | 2 |
| ``step_rk4`` (``"rk4"``) | classical Runge-Kutta | 4 |

Why not diffrax: measured with ``benchmarks/diffeq.py`` (one step per ``lax.scan``
iteration, 8 x 1024 state, the way cells step), diffrax's ``Euler`` runs at the same speed
as :func:`step_euler` (263 vs 257 µs/step here), and diffrax has no classical fixed-step
RK4; these few lines avoid a dependency. diffrax solvers can still drive any ngcx cell's
``derivative`` directly.

Integrators are also small final modules (Diffrax style): :class:`Euler`,
:class:`Midpoint`, :class:`Heun`, :class:`Ralston`, :class:`RK4` under
:class:`AbstractIntegrator`; each is called like the step functions,
``integrator(t, x, dfx, dt, params) -> (t + dt, x_next)``. Cells accept a name or an
integrator object (``LIFCell(10, 20.0, integration_type=RK4())``).

Step sizes must be > 0: a Python-number ``dt`` that is not (0, negative, NaN) raises
``ValueError`` naming it; a JAX-array ``dt`` is not checked here (no host sync per step;
the cells check theirs, and checked mode checks traced ones).

Every step function and integrator takes ngc-learn's optional ``x_scale`` (a damping
factor $\lambda$: each stage starts from $\lambda x$ instead of $x$); left out, the code
path is exactly the undamped one. :func:`solve_ode` integrates over a fixed number of
steps with one ``lax.scan`` and :func:`leapfrog` runs velocity-Verlet steps of a
Hamiltonian system.

``get_integrator(name_or_integrator)`` returns the integrator object and raises
``ValueError`` for an unknown name (ngc-learn prints an error and falls back to Euler;
its ``RateCell`` also maps ``"heun"`` to RK4 and ``"rk4"`` to Euler, which ngcx does not reproduce).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


__all__ = [
    "linear_2D",
    "cubic_2D",
    "linear_3D",
    "lorenz",
    "oscillator",
    "step_euler",
    "step_rk2",
    "step_heun",
    "step_ralston",
    "step_rk4",
    "get_integrator",
    "solve_ode",
    "leapfrog",
    "INTEGRATORS",
    "AbstractIntegrator",
    "Euler",
    "Midpoint",
    "Heun",
    "Ralston",
    "RK4",
]

Dfx = Callable[[Any, Any, Any], Any]


def _axpy(x: Any, dt: Any, *terms: tuple[float, Any], x_scale: Any = None) -> Any:
    """``x_scale * x + dt * sum(c * k for c, k in terms)`` over PyTrees (no scaling when
    ``x_scale`` is None)."""

    def combine(xi, *ks):
        acc = None
        for (c, _), k in zip(terms, ks, strict=True):
            acc = c * k if acc is None else acc + c * k
        base = xi if x_scale is None else x_scale * xi
        return base + dt * acc

    return jax.tree_util.tree_map(combine, x, *(k for _, k in terms))


def _check_step(dt: Any, name: str = "dt") -> None:
    """``ValueError`` unless a Python/NumPy number ``dt`` is finite and > 0. JAX arrays
    (traced or not) pass unchecked: no host sync per step (checked mode checks cells'
    traced ``dt``)."""
    if isinstance(dt, bool):
        raise ValueError(f"`{name}` must be a number > 0, got {dt!r}.")
    if isinstance(dt, int | float | np.number) and not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"`{name}` must be finite and > 0, got {dt!r}.")


def _check_x_scale(x_scale: Any) -> None:
    if isinstance(x_scale, int | float | np.number) and not math.isfinite(x_scale):
        raise ValueError(f"`x_scale` must be finite, got {x_scale!r}.")


def _scale(x_scale: Any) -> Any:
    """``None`` for the default (no scaling: a Python 1 or None), else ``x_scale``."""
    if x_scale is None or (isinstance(x_scale, int | float) and float(x_scale) == 1.0):
        return None
    return x_scale


def step_euler(
    t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
) -> tuple[Any, Any]:
    r"""Forward Euler: $\lambda x + \Delta t\, f(t, x)$ ($\lambda$ = ``x_scale``, 1 by
    default)."""
    _check_step(dt)
    xs = _scale(x_scale)
    return t + dt, _axpy(x, dt, (1.0, dfx(t, x, params)), x_scale=xs)


def step_rk2(
    t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
) -> tuple[Any, Any]:
    r"""Explicit midpoint: $k_1 = f(t, x)$, $\lambda x + \Delta t f(t + \tfrac{\Delta t}2,
    \lambda x + \tfrac{\Delta t}2 k_1)$."""
    _check_step(dt)
    xs = _scale(x_scale)
    k1 = dfx(t, x, params)
    k2 = dfx(t + 0.5 * dt, _axpy(x, 0.5 * dt, (1.0, k1), x_scale=xs), params)
    return t + dt, _axpy(x, dt, (1.0, k2), x_scale=xs)


def step_heun(
    t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
) -> tuple[Any, Any]:
    r"""Heun: $k_1 = f(t, x)$, $k_2 = f(t + \Delta t, \lambda x + \Delta t k_1)$,
    $\lambda x + \tfrac{\Delta t}2 (k_1 + k_2)$."""
    _check_step(dt)
    xs = _scale(x_scale)
    k1 = dfx(t, x, params)
    k2 = dfx(t + dt, _axpy(x, dt, (1.0, k1), x_scale=xs), params)
    return t + dt, _axpy(x, dt, (0.5, k1), (0.5, k2), x_scale=xs)


def step_ralston(
    t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
) -> tuple[Any, Any]:
    r"""Ralston: $k_2 = f(t + \tfrac23\Delta t, \lambda x + \tfrac23\Delta t k_1)$,
    $\lambda x + \Delta t(\tfrac14 k_1 + \tfrac34 k_2)$."""
    _check_step(dt)
    xs = _scale(x_scale)
    k1 = dfx(t, x, params)
    k2 = dfx(t + (2.0 / 3.0) * dt, _axpy(x, (2.0 / 3.0) * dt, (1.0, k1), x_scale=xs), params)
    return t + dt, _axpy(x, dt, (0.25, k1), (0.75, k2), x_scale=xs)


def step_rk4(
    t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
) -> tuple[Any, Any]:
    r"""Classical fourth-order Runge-Kutta (every stage and the result start from
    $\lambda x$)."""
    _check_step(dt)
    xs = _scale(x_scale)
    k1 = dfx(t, x, params)
    k2 = dfx(t + 0.5 * dt, _axpy(x, 0.5 * dt, (1.0, k1), x_scale=xs), params)
    k3 = dfx(t + 0.5 * dt, _axpy(x, 0.5 * dt, (1.0, k2), x_scale=xs), params)
    k4 = dfx(t + dt, _axpy(x, dt, (1.0, k3), x_scale=xs), params)
    sixth = 1.0 / 6.0
    return t + dt, _axpy(
        x, dt, (sixth, k1), (2 * sixth, k2), (2 * sixth, k3), (sixth, k4), x_scale=xs
    )


class AbstractIntegrator(eqx.Module):
    r"""An explicit one-step method: ``integrator(t, x, dfx, dt, params)`` returns
    ``(t + dt, x_next)`` for $\dot x = f(t, x)$ with ``dfx(t, x, params)`` $= f$.
    Concrete integrators are final, hold no fields (they are static configuration, equal
    and hashable) and implement :meth:`step`; ``order`` is the method's order."""

    order: ClassVar[int]

    @abc.abstractmethod
    def step(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        """One step of ``dt`` (``x_scale``: ngc-learn's damping of ``x``, default 1)."""

    def __call__(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        if x_scale is None:
            return self.step(t, x, dfx, dt, params)
        return self.step(t, x, dfx, dt, params, x_scale)


class Euler(AbstractIntegrator):
    """Forward Euler (order 1); :func:`step_euler`."""

    order: ClassVar[int] = 1

    def step(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        return step_euler(t, x, dfx, dt, params, x_scale)


class Midpoint(AbstractIntegrator):
    """Explicit midpoint (order 2); :func:`step_rk2`."""

    order: ClassVar[int] = 2

    def step(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        return step_rk2(t, x, dfx, dt, params, x_scale)


class Heun(AbstractIntegrator):
    """Heun's method (order 2); :func:`step_heun`."""

    order: ClassVar[int] = 2

    def step(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        return step_heun(t, x, dfx, dt, params, x_scale)


class Ralston(AbstractIntegrator):
    """Ralston's method (order 2); :func:`step_ralston`."""

    order: ClassVar[int] = 2

    def step(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        return step_ralston(t, x, dfx, dt, params, x_scale)


class RK4(AbstractIntegrator):
    """Classical fourth-order Runge-Kutta; :func:`step_rk4`."""

    order: ClassVar[int] = 4

    def step(
        self, t: Any, x: Any, dfx: Dfx, dt: Any, params: Any = None, x_scale: Any = None
    ) -> tuple[Any, Any]:
        return step_rk4(t, x, dfx, dt, params, x_scale)


#: Integrators by name (ngc-learn's names and aliases).
INTEGRATORS: dict[str, AbstractIntegrator] = {
    "euler": Euler(),
    "rk1": Euler(),
    "midpoint": Midpoint(),
    "rk2": Midpoint(),
    "heun": Heun(),
    "rk2_heun": Heun(),
    "ralston": Ralston(),
    "rk2_ralston": Ralston(),
    "rk4": RK4(),
}


def get_integrator(name: str | AbstractIntegrator) -> AbstractIntegrator:
    """The integrator for ``name`` (see :data:`INTEGRATORS`), or ``name`` itself when it is
    already an :class:`AbstractIntegrator`."""
    if isinstance(name, AbstractIntegrator):
        return name
    if not isinstance(name, str) or name not in INTEGRATORS:
        raise ValueError(
            f"`integration_type`: unknown integrator {name!r}; known: {', '.join(INTEGRATORS)}."
        )
    return INTEGRATORS[name]


def solve_ode(
    method_name: str | AbstractIntegrator,
    t0: Any,
    x0: Any,
    T: int,
    dfx: Dfx,
    dt: Any,
    params: Any = None,
    x_scale: Any = 1.0,
    sols_only: bool = True,
) -> Any:
    r"""Integrate $\dot x = f(t, x)$ for ``T`` fixed steps of ``dt`` from ``(t0, x0)`` with
    one ``lax.scan`` (ngc-learn's ``ode_utils.solve_ode``).

    **Arguments:**

    - `method_name`: an integrator name (``"euler"``, ``"rk2"``/``"midpoint"``,
      ``"heun"``, ``"ralston"``, ``"rk4"``, ...; see :data:`INTEGRATORS`) or an
      :class:`AbstractIntegrator`.
    - `t0`, `x0`: the initial time and state (``x0`` any PyTree of arrays).
    - `T`: the number of steps (a Python int).
    - `dfx`: ``dfx(t, x, params)`` $= f(t, x)$.
    - `dt`: the step size, > 0 (a Python number is checked; a JAX array is not).
    - `params`: passed to `dfx`.
    - `x_scale`: ngc-learn's damping factor: every stage starts from ``x_scale * x``
      (default 1, the ordinary method; finite).
    - `sols_only`: return only the trajectory.

    **Returns:** with `sols_only`, ``(ts, xs)``: the times $t_0 + k\,\Delta t$ and states
    after each step $k = 1..T$ (leading axis ``T``). Otherwise ``((t_T, x_T), (ts, xs),
    (ts_prev, xs_prev))``, adding the final state and the states *before* each step.

    ngc-learn's ``"ralston"`` places its second stage at $\tfrac34\Delta t$ (weights
    $\tfrac13, \tfrac23$); ngcx's :class:`Ralston` uses the minimum-error $\tfrac23\Delta t$
    (weights $\tfrac14, \tfrac34$). Both are second order. An unknown name raises
    ``ValueError`` (ngc-learn fails with an unbound variable).
    """
    if isinstance(method_name, str) and method_name not in INTEGRATORS:
        raise ValueError(
            f"`method_name`: unknown integrator {method_name!r}; known: {', '.join(INTEGRATORS)}."
        )
    if not isinstance(method_name, str | AbstractIntegrator):
        raise ValueError(
            f"`method_name` must be an integrator name or an AbstractIntegrator, got "
            f"{type(method_name).__name__}."
        )
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"`T` must be a positive int (number of steps), got {T!r}.")
    _check_step(dt)
    _check_x_scale(x_scale)
    method = get_integrator(method_name)
    xs_ = _scale(x_scale)

    def body(carry, _):
        t, x = carry
        new = method(t, x, dfx, dt, params, xs_)
        return new, (new, carry)

    init = (jnp.asarray(t0, dtype=jnp.result_type(float)), x0)
    final, (sols, prev) = jax.lax.scan(body, init, None, length=T)
    return sols if sols_only else (final, sols, prev)


def leapfrog(
    t_curr: Any, q_curr: Any, p_curr: Any, dfq: Dfx, L: int, step_size: Any, params: Any = None
) -> tuple[Any, Any, Any]:
    r"""``L`` leapfrog (velocity-Verlet) steps of Hamiltonian dynamics $\dot q = p$,
    $\dot p = F(t, q)$ with ``dfq(t, q, params)`` $= F$ (e.g. $-\nabla U$, or
    $\nabla \log \pi$ in Hamiltonian Monte Carlo); ngc-learn's ``ode_utils.leapfrog``.

    One step of size $h$:
    $p_{1/2} = p + \tfrac h2 F(t, q)$, $q' = q + h\,p_{1/2}$,
    $p' = p_{1/2} + \tfrac h2 F(t + h, q')$. It is symplectic and time-reversible, so the
    energy error stays bounded ($O(h^2)$) over long runs.

    **Arguments:** `t_curr`, `q_curr`, `p_curr`: time, positions and momenta (``q``/``p``
    PyTrees of one structure and shapes); `dfq`; `L`: number of steps (a Python int >= 0);
    `step_size`: $h > 0$ (a Python number is checked); `params`: passed to `dfq`.

    **Returns:** ``(t, q, p)`` after ``L`` steps (one ``lax.scan``).

    ngc-learn moves the positions with the *old* momentum, $q' = q + h\,p$, which is not
    the leapfrog scheme (first order, not symplectic); ngcx uses the half-step momentum.
    """
    if not isinstance(L, int) or isinstance(L, bool) or L < 0:
        raise ValueError(f"`L` must be a non-negative int (number of steps), got {L!r}.")
    _check_step(step_size, "step_size")
    q_def, p_def = jax.tree_util.tree_structure(q_curr), jax.tree_util.tree_structure(p_curr)
    q_shapes = [jnp.shape(v) for v in jax.tree_util.tree_leaves(q_curr)]
    p_shapes = [jnp.shape(v) for v in jax.tree_util.tree_leaves(p_curr)]
    if q_def != p_def or q_shapes != p_shapes:  # type: ignore[operator]
        raise ValueError(
            f"`q_curr` and `p_curr` must have the same structure and shapes, got {q_shapes} "
            f"and {p_shapes}."
        )
    h = step_size

    def body(carry, _):
        t, q, p = carry
        half = jax.tree_util.tree_map(lambda pi, fi: pi + (0.5 * h) * fi, p, dfq(t, q, params))
        q_new = jax.tree_util.tree_map(lambda qi, pi: qi + h * pi, q, half)
        t_new = t + h
        p_new = jax.tree_util.tree_map(
            lambda pi, fi: pi + (0.5 * h) * fi, half, dfq(t_new, q_new, params)
        )
        return (t_new, q_new, p_new), None

    init = (jnp.asarray(t_curr, dtype=jnp.result_type(float)), q_curr, p_curr)
    (t, q, p), _ = jax.lax.scan(body, init, None, length=L)
    return t, q, p


# ---------------------------------------------------------------------------
# ngc-learn's small library of test systems: f(t, x, params) on (..., dims) states
# ---------------------------------------------------------------------------

_SPIRAL = ((-0.1, 2.0), (-2.0, -0.1))


def linear_2D(t: Any, x: Any, params: Any = None) -> Any:
    r"""Damped linear spiral: $\dot x = -0.1x + 2y$, $\dot y = -2x - 0.1y$."""
    A = jnp.asarray(_SPIRAL, dtype=jnp.result_type(x))
    return x @ A.T


def cubic_2D(t: Any, x: Any, params: Any = None) -> Any:
    r"""Cubic spiral: the linear spiral applied to $x^3$ elementwise."""
    A = jnp.asarray(_SPIRAL, dtype=jnp.result_type(x))
    return (x**3) @ A.T


def linear_3D(t: Any, x: Any, params: Any = None) -> Any:
    r"""The linear spiral in $(x, y)$ plus $\dot z = -0.3z$."""
    x_, y_, z_ = x[..., 0], x[..., 1], x[..., 2]
    return jnp.stack([-0.1 * x_ + 2.0 * y_, -2.0 * x_ - 0.1 * y_, -0.3 * z_], axis=-1)


def lorenz(t: Any, x: Any, params: Any = None) -> Any:
    r"""Lorenz system with $\sigma = 10$, $\rho = 28$, $\beta = 8/3$."""
    x_, y_, z_ = x[..., 0], x[..., 1], x[..., 2]
    return jnp.stack([10.0 * (y_ - x_), x_ * (28.0 - z_) - y_, x_ * y_ - (8.0 / 3.0) * z_], axis=-1)


def oscillator(
    t: Any,
    x: Any,
    params: Any = None,
    mu1: float = 0.05,
    mu2: float = -0.01,
    omega: float = 3.0,
    alpha: float = -2.0,
    beta: float = -5.0,
    sigma: float = 1.1,
) -> Any:
    r"""ngc-learn's nonlinear 3-D oscillator (its defaults):
    $\dot x = \mu_1 x + \sigma x y$,
    $\dot y = \mu_2 y + (\omega + \alpha y + \beta z) z - \sigma x^2$,
    $\dot z = \mu_2 z - (\omega + \alpha y + \beta z) y$."""
    x_, y_, z_ = x[..., 0], x[..., 1], x[..., 2]
    dx = mu1 * x_ + sigma * x_ * y_
    dy = mu2 * y_ + (omega + alpha * y_ + beta * z_) * z_ - sigma * x_**2
    dz = mu2 * z_ - omega * y_ - alpha * y_ * y_ - beta * z_ * y_
    return jnp.stack([dx, dy, dz], axis=-1)
