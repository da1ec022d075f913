r"""Graded (rate-coded) cells: leaky integrators of their input currents."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .. import activations
from .._custom_types import ParamLike, Scalar
from .._params import bcast, is_concrete, param
from ..diffeq import AbstractIntegrator, get_integrator
from ._base import AbstractCell
from ._common import check_units as _check_units


__all__ = ["RateState", "RateCell"]

Prior = Literal["gaussian", "laplacian", "cauchy", "exp"]
Threshold = Literal["none", "soft_threshold", "cauchy_threshold"]
#: A constructor parameter: a Python number or a scalar/per-unit array (possibly traced).


class RateState(eqx.Module):
    """State of a :class:`RateCell`: ``z`` (the rate/potential) and ``zF`` (its output,
    ``output_scale * act_fx(z)``), both of shape ``(*batch, n_units)``."""

    z: Float[Array, "*batch n"]
    zF: Float[Array, "*batch n"]


def _prior_grad(prior: Prior, z: Array) -> Array:
    if prior == "gaussian":
        return z
    if prior == "laplacian":
        return jnp.sign(z)
    if prior == "exp":
        return 2.0 * z * jnp.exp(-jnp.square(z))
    return 2.0 * z / (1.0 + jnp.square(z))  # cauchy


def _soft_threshold(x: Array, lmbda: Array) -> Array:
    """$\\max(x - \\lambda, 0) - \\max(-x - \\lambda, 0)$ (as
    :func:`ngcx.activations.threshold_soft`, with a per-unit $\\lambda$)."""
    zero = jnp.zeros_like(x)
    return jnp.maximum(x - lmbda, zero) - jnp.maximum(-x - lmbda, zero)


def _cauchy_threshold(x: Array, lmbda: Array) -> Array:
    """:func:`ngcx.activations.threshold_cauchy` with a per-unit $\\lambda$."""
    u = jnp.square(x) - lmbda
    positive = u > 0
    root = jnp.where(positive, jnp.sqrt(jnp.where(positive, u, jnp.ones_like(u))), 0.0)
    upper = 0.5 * (x + root) * (x >= lmbda).astype(x.dtype)
    lower = 0.5 * (x - root) * (x <= -lmbda).astype(x.dtype)
    return upper + lower


class RateCell(AbstractCell):
    r"""A rate cell (ngc-learn's ``RateCell``):

    $$\tau_m \frac{dz}{dt} = -\gamma\, \rho'(z) + r\,\phi'(z_t)\odot j + j_{td},$$

    with ``tau_m`` $\tau_m$ and ``dt`` in milliseconds, ``resist_scale`` $r$, the prior's
    leak $\gamma\rho'(z)$ (``prior = (name, gamma)``: ``"gaussian"`` $\rho' = z$,
    ``"laplacian"`` $\mathrm{sign}(z)$, ``"cauchy"`` $2z/(1 + z^2)$, ``"exp"``
    $2z e^{-z^2}$), and the activation's derivative $\phi'$ modulating $j$ (as ngc-learn
    modulates ``j``; in a predictive-coding network $j$ is the error fed back from the
    layer above and $j_{td}$ the local error's ``dtarget``, which makes the dynamics
    gradient descent on the energy). The inputs, modulation included, are held at their
    values at the start of the step (as in ngc-learn: they come from other cells at time
    $t$), and the step is any integrator of :mod:`ngcx.diffeq` (``"euler"``,
    ``"midpoint"``/``"rk2"``, ``"heun"``, ``"ralston"``, ``"rk4"``, or an integrator
    object). Then the optional threshold (``"soft_threshold"`` or ``"cauchy_threshold"``
    with its $\lambda$) is applied to $z$, and ``zF = output_scale * act_fx(z)``.

    The numbers $\tau_m$, $\gamma$, $\lambda$, $r$ and ``output_scale`` are array leaves
    (scalars or one value per unit): ``jax.vmap`` over a sweep of them, ``jax.grad`` with
    respect to them and a new value without recompiling all work. The leak term
    $\gamma\rho'(z)$ is always computed ($\gamma = 0$ adds zero).

    **Stateless mode.** A concrete ``tau_m <= 0`` (every unit) makes the cell stateless:
    $z = j + j_{td}$ (ngc-learn's stateless mode: no modulation, no resistance, no leak).
    The mode is decided once, at construction, from the value of ``tau_m``; a traced
    ``tau_m`` (inside ``jax.vmap``/``jax.grad``/``jax.jit``) always makes a stateful cell,
    so sweep only positive time constants.

    ngc-learn's ``RateCell`` runs RK4 when asked for ``"heun"`` and Euler when asked for
    ``"rk4"`` (an integer-code mix-up); ngcx runs the method named.

    Drive it with ``lax.scan``::

        cell = RateCell(10, tau_m=20.0, act_fx="relu")
        state = cell.init_state((batch,))
        def step(state, j):
            return cell(state, j, dt=1.0), None
        state, _ = jax.lax.scan(step, state, currents)   # currents: (T, batch, 10)
    """

    n_units: int = eqx.field(static=True)
    tau_m: Float[Array, "..."]
    prior_gamma: Float[Array, "..."]
    threshold_lmbda: Float[Array, "..."]
    resist_scale: Float[Array, "..."]
    output_scale: Float[Array, "..."]
    act_fx: str = eqx.field(static=True)
    prior: Prior = eqx.field(static=True)
    threshold: Threshold = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    stateless: bool = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: ParamLike = 10.0,
        prior: tuple[str, ParamLike] = ("gaussian", 0.0),
        act_fx: str = "identity",
        threshold: tuple[str, ParamLike] = ("none", 0.0),
        integration_type: str | AbstractIntegrator = "euler",
        resist_scale: ParamLike = 1.0,
        output_scale: ParamLike = 1.0,
    ):
        """**Arguments** (ngc-learn's names). Every number may be a Python number, a scalar
        array or a per-unit array of shape ``(n_units,)``, and is an array leaf you can
        ``jax.vmap`` or ``jax.grad`` over.

        - `n_units`: number of cells (static).
        - `tau_m`: membrane time constant in ms, real. A concrete value ``<= 0`` for every
          unit selects the stateless mode (see the class docstring); mixing stateless and
          stateful units is a ``ValueError``.
        - `prior`: ``(name, gamma)``, name ``"gaussian"``, ``"laplacian"``, ``"cauchy"`` or
          ``"exp"`` (static), leak strength ``gamma >= 0``.
        - `act_fx`: name of an elementwise activation in :mod:`ngcx.activations` (static).
        - `threshold`: ``("none" | "soft_threshold" | "cauchy_threshold", lmbda)``, name
          static, ``lmbda >= 0``.
        - `integration_type`: a name in :data:`ngcx.diffeq.INTEGRATORS` or an
          :class:`ngcx.diffeq.AbstractIntegrator` (static).
        - `resist_scale`: real, scales the modulated input ``j``.
        - `output_scale`: real, scales ``zF``.
        """
        n_units = _check_units(n_units)
        prior_name, gamma = prior
        if prior_name not in ("gaussian", "laplacian", "cauchy", "exp"):
            raise ValueError(
                "`prior` name must be 'gaussian', 'laplacian', 'cauchy' or 'exp', "
                f"got {prior_name!r}."
            )
        thr_name, lmbda = threshold
        if thr_name not in ("none", "soft_threshold", "cauchy_threshold"):
            raise ValueError(
                "`threshold` name must be 'none', 'soft_threshold' or 'cauchy_threshold', "
                f"got {thr_name!r}."
            )
        self.integrator = get_integrator(integration_type)
        activations.create_function(act_fx)  # validates the name
        self.n_units = n_units
        self.tau_m = param(tau_m, "tau_m", "real", n_units=n_units)
        self.prior_gamma = param(gamma, "prior gamma", "nonnegative", n_units=n_units)
        self.threshold_lmbda = param(lmbda, "threshold lmbda", "nonnegative", n_units=n_units)
        self.resist_scale = param(resist_scale, "resist_scale", "real", n_units=n_units)
        self.output_scale = param(output_scale, "output_scale", "real", n_units=n_units)
        self.act_fx = act_fx
        self.prior = prior_name  # type: ignore[assignment]
        self.threshold = thr_name  # type: ignore[assignment]
        stateless = False
        # decided from the argument itself: under jit, param() stages even a Python number
        if is_concrete(tau_m):
            off = np.asarray(tau_m) <= 0
            if np.any(off) and not np.all(off):
                raise ValueError(
                    "`tau_m` must be > 0 for every unit, or <= 0 for every unit (stateless), "
                    f"got {np.asarray(tau_m).tolist()}."
                )
            stateless = bool(np.all(off))
        self.stateless = stateless

    @property
    def integration_type(self) -> str:
        """The integrator's name (``"euler"``, ``"midpoint"``, ``"heun"``, ...)."""
        return type(self.integrator).__name__.lower()

    def _fx(self, z: Array) -> Array:
        return activations.create_function(self.act_fx)[0](z)

    def _dfx(self, z: Array) -> Array:
        return activations.create_function(self.act_fx)[1](z)

    @staticmethod
    def _current(j: ArrayLike | None, z: Array) -> Array:
        if j is None:
            return jnp.zeros_like(z)
        return jnp.broadcast_to(jnp.asarray(j, z.dtype), z.shape)

    def init_state(self, batch_shape: tuple[int, ...] = (), dtype=jnp.float32) -> RateState:
        """Resting state: ``z = 0`` with shape ``(*batch_shape, n_units)``."""
        return self.with_z(jnp.zeros((*batch_shape, self.n_units), dtype))

    def with_z(self, z: Float[Array, "*batch n"]) -> RateState:
        """The state whose potential is ``z`` (e.g. after a feed-forward projection)."""
        out = bcast(self.output_scale.astype(z.dtype), z.ndim)
        return RateState(z=z, zF=out * self._fx(z))

    def derivative(
        self,
        z: Float[Array, "*batch n"],
        j: Float[Array, "*batch n"],
        j_td: Float[Array, "*batch n"],
    ) -> Float[Array, "*batch n"]:
        """$dz/dt$ (per ms) at ``z`` for the already modulated input ``j`` and ``j_td``."""
        gamma = bcast(self.prior_gamma.astype(z.dtype), z.ndim)
        rate = bcast((1.0 / self.tau_m).astype(z.dtype), z.ndim)
        return rate * ((j + j_td) - gamma * _prior_grad(self.prior, z))

    def __call__(
        self,
        state: RateState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        j_td: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: Scalar = 1.0,
    ) -> RateState:
        """Advance one step of ``dt`` ms.

        **Arguments:** `state`; `j` the (derivative-modulated) input current and `j_td` the
        unmodulated one, each of the state's shape (``None``: zero); `dt` in ms.

        **Returns:** the new :class:`RateState`.
        """
        z = state.z
        j_a = self._current(j, z)
        jtd = self._current(j_td, z)
        if self.stateless:  # static: decided at construction from a concrete tau_m
            z_new = j_a + jtd
        else:
            resist = bcast(self.resist_scale.astype(z.dtype), z.ndim)
            j_mod = resist * self._dfx(z) * j_a
            _, z_new = self.integrator(
                0.0, z, lambda t, u, p: self.derivative(u, *p), dt, (j_mod, jtd)
            )
        if self.threshold != "none":
            lmbda = bcast(self.threshold_lmbda.astype(z.dtype), z.ndim)
            if self.threshold == "soft_threshold":
                z_new = _soft_threshold(z_new, lmbda)
            else:
                z_new = _cauchy_threshold(z_new, lmbda)
        return self.with_z(z_new)
