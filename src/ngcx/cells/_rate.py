r"""Graded (rate-coded) cells: leaky integrators of their input currents."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import activations
from .._checks import check_nonnegative
from ..diffeq import get_integrator


__all__ = ["RateState", "RateCell"]

Prior = Literal["gaussian", "laplacian", "cauchy", "exp"]
Threshold = Literal["none", "soft_threshold", "cauchy_threshold"]


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


class RateCell(eqx.Module):
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
    ``"midpoint"``/``"rk2"``, ``"heun"``, ``"ralston"``, ``"rk4"``). Then the optional
    threshold (``"soft_threshold"`` or ``"cauchy_threshold"`` with its lambda) is applied
    to $z$, and ``zF = output_scale * act_fx(z)``.

    ``tau_m <= 0`` makes the cell stateless: $z = j + j_{td}$ (ngc-learn's stateless mode:
    no modulation, no resistance).

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
    tau_m: float = eqx.field(static=True)
    act_fx: str = eqx.field(static=True)
    prior: Prior = eqx.field(static=True)
    prior_gamma: float = eqx.field(static=True)
    threshold: Threshold = eqx.field(static=True)
    threshold_lmbda: float = eqx.field(static=True)
    integration_type: str = eqx.field(static=True)
    resist_scale: float = eqx.field(static=True)
    output_scale: float = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_m: float = 10.0,
        prior: tuple[str, float] = ("gaussian", 0.0),
        act_fx: str = "identity",
        threshold: tuple[str, float] = ("none", 0.0),
        integration_type: str = "euler",
        resist_scale: float = 1.0,
        output_scale: float = 1.0,
    ):
        """**Arguments** (ngc-learn's names):

        - `n_units`: number of cells.
        - `tau_m`: membrane time constant in ms (``<= 0``: stateless).
        - `prior`: ``(name, gamma)``, name ``"gaussian"``, ``"laplacian"``, ``"cauchy"`` or
          ``"exp"``, leak strength ``gamma >= 0``.
        - `act_fx`: name of an elementwise activation in :mod:`ngcx.activations`.
        - `threshold`: ``("none" | "soft_threshold" | "cauchy_threshold", lmbda)``.
        - `integration_type`: a name in :data:`ngcx.diffeq.INTEGRATORS`.
        - `resist_scale`: scales the modulated input ``j``; `output_scale` scales ``zF``.
        """
        if not isinstance(n_units, int) or n_units <= 0:
            raise ValueError(f"`n_units` must be a positive int, got {n_units!r}.")
        prior_name, gamma = prior
        if prior_name not in ("gaussian", "laplacian", "cauchy", "exp"):
            raise ValueError(
                "`prior` name must be 'gaussian', 'laplacian', 'cauchy' or 'exp', "
                f"got {prior_name!r}."
            )
        check_nonnegative(gamma, "prior gamma")
        thr_name, lmbda = threshold
        if thr_name not in ("none", "soft_threshold", "cauchy_threshold"):
            raise ValueError(
                "`threshold` name must be 'none', 'soft_threshold' or 'cauchy_threshold', "
                f"got {thr_name!r}."
            )
        get_integrator(integration_type)  # validates the name
        activations.create_function(act_fx)  # validates the name
        self.n_units = n_units
        self.tau_m = float(tau_m)
        self.act_fx = act_fx
        self.prior = prior_name  # type: ignore[assignment]
        self.prior_gamma = float(gamma)
        self.threshold = thr_name  # type: ignore[assignment]
        self.threshold_lmbda = float(lmbda)
        self.integration_type = integration_type
        self.resist_scale = float(resist_scale)
        self.output_scale = float(output_scale)

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
        z = jnp.zeros((*batch_shape, self.n_units), dtype)
        return RateState(z=z, zF=self.output_scale * self._fx(z))

    def with_z(self, z: Float[Array, "*batch n"]) -> RateState:
        """The state whose potential is ``z`` (e.g. after a feed-forward projection)."""
        return RateState(z=z, zF=self.output_scale * self._fx(z))

    def derivative(
        self,
        z: Float[Array, "*batch n"],
        j: Float[Array, "*batch n"],
        j_td: Float[Array, "*batch n"],
    ) -> Float[Array, "*batch n"]:
        """$dz/dt$ (per ms) at ``z`` for the already modulated input ``j`` and ``j_td``."""
        drive = j + j_td
        if self.prior_gamma > 0:
            drive = drive - self.prior_gamma * _prior_grad(self.prior, z)
        return (1.0 / self.tau_m) * drive

    def __call__(
        self,
        state: RateState,
        j: Float[ArrayLike, "*batch n"] | None = None,
        j_td: Float[ArrayLike, "*batch n"] | None = None,
        *,
        dt: float = 1.0,
    ) -> RateState:
        """Advance one step of ``dt`` ms.

        **Arguments:** `state`; `j` the (derivative-modulated) input current and `j_td` the
        unmodulated one, each of the state's shape (``None``: zero); `dt` in ms.

        **Returns:** the new :class:`RateState`.
        """
        z = state.z
        j_a = self._current(j, z)
        jtd = self._current(j_td, z)
        if self.tau_m <= 0:
            z_new = j_a + jtd
        else:
            j_mod = self.resist_scale * self._dfx(z) * j_a
            step = get_integrator(self.integration_type)
            _, z_new = step(0.0, z, lambda t, u, p: self.derivative(u, *p), dt, (j_mod, jtd))
        if self.threshold == "soft_threshold":
            z_new = activations.threshold_soft(z_new, self.threshold_lmbda)
        elif self.threshold == "cauchy_threshold":
            z_new = activations.threshold_cauchy(z_new, self.threshold_lmbda)
        return self.with_z(z_new)
