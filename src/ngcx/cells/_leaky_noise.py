r"""A leaky, noisy rate cell (ngc-learn's ``LeakyNoiseCell``)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .. import activations
from .._custom_types import Key, ParamLike, Scalar
from .._params import is_static_zero, param
from ..diffeq import AbstractIntegrator, get_integrator
from ._base import AbstractCell
from ._common import (
    at as _at,
    check_dt,
    check_units as _check_units,
    checked,
    current as _current,
    integrator_name as _integrator_name,
)


__all__ = ["LeakyNoiseState", "LeakyNoiseCell"]


class LeakyNoiseState(eqx.Module):
    """State of a :class:`LeakyNoiseCell`, each of shape ``(*batch, n_units)``: ``x`` the
    noisy membrane (rate) state, ``r`` the rectified, noisy output
    $\\phi(x) + \\sigma_{post}\\,\\epsilon'$ and ``r_prime`` $\\phi'(x)$."""

    x: Float[Array, "*batch n"]
    r: Float[Array, "*batch n"]
    r_prime: Float[Array, "*batch n"]


def _activation(act_fx: str) -> tuple[Any, Any]:
    try:
        return activations.create_function(act_fx)
    except ValueError as err:
        raise ValueError(f"`act_fx`: {err}") from None


class LeakyNoiseCell(AbstractCell):
    r"""A continuous-time leaky rate cell driven by Gaussian noise (ngc-learn's
    ``LeakyNoiseCell``; Song, Yang & Wang 2016, PLoS Comput. Biol. 12(2): e1004792):

    $$\tau_x\, dx = \big(-\lambda x + j_{in} + j_{rec}\big)\,dt
      + \sqrt{2\tau_x}\,\sigma_{pre}\, dW_t, \qquad
      r = \phi(x) + \sigma_{post}\,\epsilon', \qquad r' = \phi'(x),$$

    with ``tau_x`` $\tau_x$ and ``dt`` in ms, ``leak_scale`` $\lambda$, the pre- and
    post-rectification noise scales ``sigma_pre`` and ``sigma_post``, the rectifier
    ``act_fx`` $\phi$ (``"relu"`` by default), a Wiener process $W$ and
    $\epsilon' \sim \mathcal N(0, 1)$. With $\lambda = 1$ and no input, $x$ is an
    Ornstein-Uhlenbeck process whose stationary standard deviation is $\sigma_{pre}$.

    One step of ``dt`` holds the inputs and a noise current
    $\eta = \sigma_{pre}\sqrt{2\tau_x/\Delta t}\;\epsilon$ ($\epsilon \sim \mathcal N(0,1)$)
    constant over the step and integrates
    $dx/dt = (-\lambda x + j_{in} + j_{rec} + \eta)/\tau_x$ with the chosen integrator.
    With ``"euler"`` this is the Euler-Maruyama step

    $$x_{t+\Delta t} = x_t + \frac{\Delta t}{\tau_x}(-\lambda x_t + j_{in} + j_{rec})
      + \sqrt{\frac{2\Delta t}{\tau_x}}\;\sigma_{pre}\,\epsilon .$$

    The numbers $\tau_x$, $\sigma_{pre}$, $\sigma_{post}$ and $\lambda$ are array leaves
    (scalars or one value per unit): ``jax.vmap`` over a sweep of them and ``jax.grad``
    with respect to them work. The noise takes an explicit PRNG ``key`` per step
    (not needed when both noise scales are concrete zeros); :meth:`step` takes the two
    standard-normal samples themselves.

    Differences from ngc-learn:

    - ngc-learn's noise term is $\frac{\Delta t}{\tau_x}\sqrt{2\tau_x}\,\sigma_{pre}
      \epsilon$, which scales with $\Delta t$ rather than $\sqrt{\Delta t}$: it is the
      Euler-Maruyama step only for ``dt = 1`` ms, and its stationary variance changes with
      ``dt``. ngcx's noise current makes the step right for every ``dt``; both agree at
      ``dt = 1``.
    - ngc-learn draws its pre- and post-rectification noise from the same key, so the two
      samples are identical; ngcx draws them independently.
    - ngc-learn's ``LeakyNoiseCell`` fails with ``"rk4"`` (a missing integrator code) and
      runs RK4 when asked for ``"heun"``; ngcx runs the method named.
    - ngc-learn's ``shape`` (conv maps) and ``batch_size`` are not arguments: the state
      has any leading axes, ``init_state(batch_shape)`` (for maps of ``C`` channels use
      ``n_units=C`` and ``batch_shape=(B, H, W)``).

    ```python
    cell = LeakyNoiseCell(64, tau_x=100.0)
    state = cell.init_state((batch,))
    def step(state, inputs):
        j, key = inputs
        state = cell(state, j, key=key, dt=1.0)
        return state, state.r
    state, rates = jax.lax.scan(step, state, (currents, jax.random.split(key, T)))
    ```
    """

    n_units: int = eqx.field(static=True)
    tau_x: Float[Array, "..."]
    sigma_pre: Float[Array, "..."]
    sigma_post: Float[Array, "..."]
    leak_scale: Float[Array, "..."]
    act_fx: str = eqx.field(static=True)
    integrator: AbstractIntegrator = eqx.field(static=True)
    noiseless: bool = eqx.field(static=True)

    def __init__(
        self,
        n_units: int,
        tau_x: ParamLike,
        act_fx: str = "relu",
        integration_type: str | AbstractIntegrator = "euler",
        sigma_pre: ParamLike = 0.1,
        sigma_post: ParamLike = 0.1,
        leak_scale: ParamLike = 1.0,
    ):
        """**Arguments** (ngc-learn's names and defaults). Every number may be a Python
        number, a scalar array or a per-unit array of shape ``(n_units,)``, and is an array
        leaf.

        - `n_units`: number of cells (static).
        - `tau_x`: the state's time constant (ms), ``> 0``.
        - `act_fx`: name of the rectifier in :mod:`ngcx.activations` (static).
        - `integration_type`: a name in :data:`ngcx.diffeq.INTEGRATORS` or an
          :class:`ngcx.diffeq.AbstractIntegrator` (static).
        - `sigma_pre`: pre-rectification noise scale, ``>= 0`` (the stationary standard
          deviation of $x$ when ``leak_scale = 1``).
        - `sigma_post`: post-rectification noise scale (added to $\\phi(x)$), ``>= 0``.
        - `leak_scale`: the leak's scale $\\lambda$, real.
        """
        self.n_units = _check_units(n_units)
        _activation(act_fx)  # validates the name
        self.act_fx = act_fx
        self.integrator = get_integrator(integration_type)
        self.tau_x = param(tau_x, "tau_x", "positive", n_units=n_units)
        self.sigma_pre = param(sigma_pre, "sigma_pre", "nonnegative", n_units=n_units)
        self.sigma_post = param(sigma_post, "sigma_post", "nonnegative", n_units=n_units)
        self.leak_scale = param(leak_scale, "leak_scale", "real", n_units=n_units)
        self.noiseless = is_static_zero(sigma_pre) and is_static_zero(sigma_post)

    @property
    def integration_type(self) -> str:
        """The integrator's name (``"euler"``, ``"midpoint"``, ...)."""
        return _integrator_name(self.integrator)

    def init_state(
        self, batch_shape: tuple[int, ...] = (), dtype: Any = jnp.float32
    ) -> LeakyNoiseState:
        """The resting state: every field zero, shape ``(*batch_shape, n_units)``."""
        zeros = jnp.zeros((*batch_shape, self.n_units), dtype)
        return LeakyNoiseState(x=zeros, r=zeros, r_prime=zeros)

    def derivative(
        self,
        x: Float[Array, "*batch n"],
        j: Float[Array, "*batch n"],
    ) -> Float[Array, "*batch n"]:
        """$dx/dt$ (per ms) at ``x`` for the total held current ``j`` (inputs plus noise
        current)."""
        return (j - _at(self.leak_scale, x) * x) * _at(1.0 / self.tau_x, x)

    def step(
        self,
        state: LeakyNoiseState,
        j_input: Float[ArrayLike, "*batch n"] | None,
        j_recurrent: Float[ArrayLike, "*batch n"] | None,
        eps_pre: Float[ArrayLike, "*batch n"],
        eps_post: Float[ArrayLike, "*batch n"],
        *,
        dt: Scalar = 1.0,
    ) -> LeakyNoiseState:
        """One step with given standard-normal samples `eps_pre` (membrane noise) and
        `eps_post` (output noise), each of the state's shape (deterministic; the
        ``__call__`` draws them from a key)."""
        x = state.x
        j = _current(j_input, x, "j_input") + _current(j_recurrent, x, "j_recurrent")
        e_pre = _current(eps_pre, x, "eps_pre")
        e_post = _current(eps_post, x, "eps_post")
        dt_a = jnp.asarray(dt, x.dtype)
        noise_gain = self.sigma_pre * jnp.sqrt(2.0 * self.tau_x)
        j = j + _at(noise_gain, x) * e_pre * jax.lax.rsqrt(dt_a)
        _, x_new = self.integrator(0.0, x, lambda t, u, p: self.derivative(u, p), dt_a, j)
        fx, dfx = _activation(self.act_fx)
        r = fx(x_new) + _at(self.sigma_post, x) * e_post
        return LeakyNoiseState(x=x_new, r=r, r_prime=dfx(x_new))

    def __call__(
        self,
        state: LeakyNoiseState,
        j_input: Float[ArrayLike, "*batch n"] | None = None,
        j_recurrent: Float[ArrayLike, "*batch n"] | None = None,
        *,
        key: Key | None = None,
        dt: Scalar = 1.0,
    ) -> LeakyNoiseState:
        """Advance one step of ``dt`` ms.

        **Arguments:**

        - `state`: the current :class:`LeakyNoiseState`.
        - `j_input`, `j_recurrent`: the input and recurrent currents, of the state's shape
          (``None``: zero).
        - `key`: a PRNG key for this step's noise (split it per step); may be omitted only
          when ``sigma_pre`` and ``sigma_post`` are concrete zeros.
        - `dt`: the step (ms).

        **Returns:** the new :class:`LeakyNoiseState`.
        """
        dt = check_dt(dt, self)
        shape, dtype = state.x.shape, state.x.dtype
        j_input = _current(j_input, state.x, "j_input")
        j_recurrent = _current(j_recurrent, state.x, "j_recurrent")
        if key is None:
            if not self.noiseless:
                raise ValueError(
                    "`key` is required: this LeakyNoiseCell has sigma_pre or sigma_post "
                    "non-zero (pass key=, split per step)."
                )
            zeros = jnp.zeros(shape, dtype)
            return checked(self, self.step(state, j_input, j_recurrent, zeros, zeros, dt=dt))
        k_pre, k_post = jax.random.split(key)
        eps_pre = jax.random.normal(k_pre, shape, dtype)
        eps_post = jax.random.normal(k_post, shape, dtype)
        return checked(self, self.step(state, j_input, j_recurrent, eps_pre, eps_post, dt=dt))
