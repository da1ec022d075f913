r"""Graded (rate-coded) cells: leaky integrators of their input currents."""

from __future__ import annotations

import functools
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float

from .. import activations
from .._custom_types import ParamLike, Scalar
from .._params import bcast, is_concrete, is_static_zero, param
from ..diffeq import AbstractIntegrator, get_integrator
from ._base import AbstractCell
from ._common import check_dt, check_units as _check_units, checked


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


_PRIORS = {
    None: "none",
    "none": "none",
    "constant": "none",
    "l1": "l1",
    "lasso": "l1",
    "l2": "l2",
    "ridge": "l2",
    "l1l2": "l1l2",
    "elastic_net": "l1l2",
}


def _parse_wl_prior(prior: Any) -> tuple[str, Any, Any]:
    """ngc-learn's ``Wl_prior = (name, lmbda)`` -> ``(name, lmbda, l1_ratio)``."""
    if prior is None:
        return "none", 0.0, 0.5
    try:
        name, lmbda = prior
    except (TypeError, ValueError):
        raise ValueError(f"`Wl_prior` must be a pair (name, lmbda), got {prior!r}.") from None
    canonical = _PRIORS.get(name)
    if canonical is None:
        raise ValueError(
            "`Wl_prior` name must be None, 'l1'/'lasso', 'l2'/'ridge' or "
            f"'l1l2'/'elastic_net', got {name!r}."
        )
    if canonical == "l1l2" and isinstance(lmbda, tuple | list):
        lmbda, ratio = lmbda
    else:
        ratio = 0.5
    return canonical, lmbda, ratio


@functools.lru_cache(maxsize=256)
def _check_activation(fun_name: Any, arg: str, n_units: int) -> None:
    """``ValueError`` naming `arg` unless ``fun_name`` is an activation the cell can use:
    called with the state alone, keeping the state's shape, with an elementwise derivative
    (the cell multiplies ``j`` by the derivative unit by unit). Checked with
    ``jax.eval_shape`` (no computation), once per name and size."""
    try:
        fx, dfx = activations.create_function(fun_name)
    except ValueError as err:
        raise ValueError(f"`{arg}`: {err}") from None
    z = jax.ShapeDtypeStruct((2, n_units), jnp.float32)
    expected = "an elementwise activation that keeps the state's shape (batch, n_units)"
    try:
        y, dy = jax.eval_shape(lambda u: (fx(u), dfx(u)), z)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"`{arg}` must be {expected} and needs no extra arguments, got {fun_name!r} "
            f"(with n_units={n_units}: {str(err).splitlines()[0]})."
        ) from None
    if y.shape != z.shape or dy.shape != z.shape:
        raise ValueError(
            f"`{arg}` must be {expected}, with an elementwise derivative; {fun_name!r} maps a "
            f"state of shape {z.shape} to {y.shape} with a derivative of shape {dy.shape} "
            "(e.g. softmax's derivative is a Jacobian per sample)."
        )


def _lateral_blocks(exc: Array, inh: Array, n_patch: int, dim: int) -> Array:
    """``n_patch`` blocks ``exc * I + inh * (1 - I)`` of shape ``(dim, dim)``."""
    eye = jnp.eye(dim, dtype=exc.dtype)
    block = exc * eye + inh * (1.0 - eye)
    return jnp.broadcast_to(block, (n_patch, dim, dim))


def _lateral_optimizer(
    name: str, eta: Array, w_bound: Array, bounded: bool
) -> optax.GradientTransformation:
    """``-u`` (an update direction becomes optax's descent direction), the optimiser at
    ``eta``, then (``bounded``) the projection of ``Wl`` onto ``[-w_bound, w_bound]``."""
    if name == "sgd":
        opt = optax.sgd(eta)
    elif name == "adam":
        opt = optax.adam(eta)
    else:  # "nag" (validated at construction)
        opt = optax.sgd(eta, momentum=0.9, nesterov=True)
    core = optax.chain(optax.scale(-1.0), opt)

    def init_fn(params: Any) -> Any:
        with jax.numpy_dtype_promotion("standard"):  # optax's step counts are int32
            return core.init(params)

    def update_fn(updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        with jax.numpy_dtype_promotion("standard"):
            updates, state = core.update(updates, state, params)
        if not bounded:
            return updates, state
        if params is None:
            raise ValueError("the lateral optimiser needs `params` (the cell) in `update`.")
        w = params.Wl
        big = jnp.where(w_bound > 0, w_bound, jnp.inf).astype(w.dtype)
        step = jnp.clip(w + updates.Wl, -big, big) - w
        return eqx.tree_at(lambda c: c.Wl, updates, step), state

    return optax.GradientTransformation(init_fn, update_fn)


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

    **Lateral competition** (``use_lateral=True``). The modulated input gains a lateral
    pressure from the cell's own output through block-diagonal lateral weights $W_l$
    (``n_patch`` blocks of size $d = n/$``n_patch``, each initialised to ``exc`` on the
    diagonal and ``inh`` off it, from ``exc_inh``):

    $$\tau_m \frac{dz}{dt} = -\gamma\rho'(z) + r\big(\phi'(z)\odot j
    + \phi_{lat}'(z)\odot (z_{lat} W_l)\big) + j_{td}, \qquad
    z_{lat} = \text{output\_scale}\;\phi_{lat}(z),$$

    with ``fx_lat`` $\phi_{lat}$ (default ``act_fx``) and $z_{lat}$ taken at the start of
    the step (ngc-learn's ``zF_lat`` of the previous step). ``Wl`` (shape
    ``(n_patch, d, d)``; :attr:`lateral_weights` is the dense ``(n, n)`` matrix) is an
    array leaf, so ``jax.grad`` reaches it. The stateless mode ignores it (as ngc-learn).
    With ``adaptive_lateral=True`` the weights are learnt by the anti-Hebbian rule of
    :meth:`lateral_updates` (ngc-learn's ``HebbianPatchedSynapse`` with ``sign_value=1``
    under its descending optimiser), applied by the optax transformation of
    :meth:`lateral_optimizer` or in one call by :meth:`evolve`; nothing changes ``Wl``
    during the dynamics. Differences from ngc-learn 3.2's lateral learning: its prior
    term has the wrong sign there (the descending optimiser applied to ``+lmbda * reg``
    pushes weights *away* from zero); ngcx's prior always pulls them towards zero. Its
    elastic-net term is $r\,\mathrm{sign}(W) + \tfrac{1-r}{2}W$; ngcx uses the gradient
    of $\lambda(r\lvert W\rvert + \tfrac{1-r}{2}W^2)$, $r\,\mathrm{sign}(W) + (1-r)W$.
    It freezes every weight that is exactly 0 (so with the default ``exc_inh=(0, 0)``
    nothing is ever learnt); ngcx learns every weight inside the blocks and none outside.

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
    Wl: Float[Array, "n_patch d d"] | None
    Wl_eta: Float[Array, ""] | None
    Wl_bound: Float[Array, ""] | None
    Wl_prior_lmbda: Float[Array, ""] | None
    Wl_prior_l1_ratio: Float[Array, ""] | None
    use_lateral: bool = eqx.field(static=True)
    adaptive_lateral: bool = eqx.field(static=True)
    n_patch: int = eqx.field(static=True)
    fx_lat: str | None = eqx.field(static=True)
    Wl_opt_type: str = eqx.field(static=True)
    Wl_prior: str = eqx.field(static=True)

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
        use_lateral: bool = False,
        adaptive_lateral: bool = False,
        exc_inh: tuple[ParamLike, ParamLike] = (0.0, 0.0),
        n_patch: int = 1,
        fx_lat: str | None = None,
        Wl_eta: ParamLike = 0.0,
        Wl_opt_type: str = "sgd",
        Wl_prior: tuple[str | None, Any] | None = (None, 0.0),
        Wl_bound: ParamLike = 1.0,
    ):
        r"""**Arguments** (ngc-learn's names). Every number may be a Python number, a scalar
        array or a per-unit array of shape ``(n_units,)``, and is an array leaf you can
        ``jax.vmap`` or ``jax.grad`` over.

        - `n_units`: number of cells (static).
        - `tau_m`: membrane time constant in ms, real. A concrete value ``<= 0`` for every
          unit selects the stateless mode (see the class docstring); mixing stateless and
          stateful units is a ``ValueError``.
        - `prior`: ``(name, gamma)``, name ``"gaussian"``, ``"laplacian"``, ``"cauchy"`` or
          ``"exp"`` (static), leak strength ``gamma >= 0``.
        - `act_fx`: name of an elementwise activation in :mod:`ngcx.activations` that
          needs no extra arguments and keeps the state's shape (static). ``"softmax"``
          (not elementwise: its derivative is a Jacobian), ``"clip"``,
          ``"threshold_soft"``/``"threshold_cauchy"`` and the masked k-WTAs (they need
          arguments) are refused with a ``ValueError`` naming `act_fx`; use the
          `threshold` option for the thresholds.
        - `threshold`: ``("none" | "soft_threshold" | "cauchy_threshold", lmbda)``, name
          static, ``lmbda >= 0``.
        - `integration_type`: a name in :data:`ngcx.diffeq.INTEGRATORS` or an
          :class:`ngcx.diffeq.AbstractIntegrator` (static).
        - `resist_scale`: real, scales the modulated input ``j``.
        - `output_scale`: real, scales ``zF``.
        - `use_lateral`: add the lateral pressure $j_{lat}$ (see the class docstring;
          static). ``False`` (the default) leaves every lateral field ``None`` and the step
          exactly as without these options.
        - `adaptive_lateral`: the lateral weights are learnt (:meth:`lateral_updates`,
          :meth:`lateral_optimizer`, :meth:`evolve`; static). Ignored without
          `use_lateral`, as in ngc-learn.
        - `exc_inh`: ``(exc, inh)``, real, the initial on-diagonal and off-diagonal values
          of every lateral block (ngc-learn's ``diag_offdiag(exc, inh)``).
        - `n_patch`: number of lateral blocks (static; must divide `n_units`).
        - `fx_lat`: name of the activation $\phi_{lat}$ of the lateral pressure (static;
          ``None``: `act_fx`; the same conditions as `act_fx`).
        - `Wl_eta`: learning rate of the lateral weights, ``>= 0``.
        - `Wl_opt_type`: ``"sgd"``, ``"adam"`` or ``"nag"`` (static).
        - `Wl_prior`: ``(name, lmbda)`` with name ``None``, ``"l1"``/``"lasso"``,
          ``"l2"``/``"ridge"`` or ``"l1l2"``/``"elastic_net"`` (then lmbda may be
          ``(lmbda, l1_ratio)``); ``lmbda >= 0``, ``l1_ratio`` in ``[0, 1]``.
        - `Wl_bound`: ``>= 0``; the soft bound and clip of the learnt lateral weights
          (0: none). ngc-learn documents this option with default 0 but does not accept
          it and always uses 1 (its ``HebbianPatchedSynapse`` default); ngcx's default 1
          does what ngc-learn does.
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
        if not isinstance(act_fx, str):
            raise ValueError(f"`act_fx` must be an activation's name, got {act_fx!r}.")
        _check_activation(act_fx, "act_fx", n_units)  # the name, the shape, elementwise
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
        # lateral competition: every field None / default when off (the default pytree)
        if not isinstance(use_lateral, bool):
            raise TypeError(f"`use_lateral` must be a bool, got {use_lateral!r}.")
        if not isinstance(adaptive_lateral, bool):
            raise TypeError(f"`adaptive_lateral` must be a bool, got {adaptive_lateral!r}.")
        self.use_lateral = use_lateral
        self.adaptive_lateral = use_lateral and adaptive_lateral
        if not isinstance(n_patch, int) or isinstance(n_patch, bool) or n_patch <= 0:
            raise ValueError(f"`n_patch` must be a positive int, got {n_patch!r}.")
        if use_lateral and n_units % n_patch != 0:
            raise ValueError(f"`n_patch` must divide `n_units` ({n_units}), got n_patch={n_patch}.")
        self.n_patch = n_patch
        if Wl_opt_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`Wl_opt_type` must be 'sgd', 'adam' or 'nag', got {Wl_opt_type!r}.")
        self.Wl_opt_type = Wl_opt_type
        prior_kind, prior_lmbda, prior_ratio = _parse_wl_prior(Wl_prior)
        if fx_lat is not None:
            if not isinstance(fx_lat, str):
                raise ValueError(f"`fx_lat` must be an activation's name or None, got {fx_lat!r}.")
            _check_activation(fx_lat, "fx_lat", n_units)
        self.Wl = self.Wl_eta = self.Wl_bound = None
        self.Wl_prior_lmbda = self.Wl_prior_l1_ratio = None
        self.fx_lat = None
        self.Wl_prior = "none"
        if use_lateral:
            try:
                exc, inh = exc_inh
            except (TypeError, ValueError):
                raise ValueError(f"`exc_inh` must be a pair (exc, inh), got {exc_inh!r}.") from None
            exc_p = param(exc, "exc_inh[0]", "real")
            inh_p = param(inh, "exc_inh[1]", "real")
            dtype = jnp.result_type(exc_p, inh_p)
            self.Wl = _lateral_blocks(
                exc_p.astype(dtype), inh_p.astype(dtype), n_patch, n_units // n_patch
            )
            self.fx_lat = act_fx if fx_lat is None else fx_lat
        if self.adaptive_lateral:
            self.Wl_eta = param(Wl_eta, "Wl_eta", "nonnegative")
            self.Wl_bound = param(Wl_bound, "Wl_bound", "nonnegative")
            lmbda = param(prior_lmbda, "Wl_prior lmbda", "nonnegative")
            ratio = param(prior_ratio, "Wl_prior l1_ratio", "unit")
            if prior_kind != "none" and not is_static_zero(lmbda):
                self.Wl_prior = prior_kind
                self.Wl_prior_lmbda = lmbda
                self.Wl_prior_l1_ratio = ratio

    @property
    def integration_type(self) -> str:
        """The integrator's name (``"euler"``, ``"midpoint"``, ``"heun"``, ...)."""
        return type(self.integrator).__name__.lower()

    def _fx(self, z: Array) -> Array:
        return activations.create_function(self.act_fx)[0](z)

    def _dfx(self, z: Array) -> Array:
        return activations.create_function(self.act_fx)[1](z)

    @staticmethod
    def _current(j: ArrayLike | None, z: Array, name: str = "j") -> Array:
        if j is None:
            return jnp.zeros_like(z)
        arr = jnp.asarray(j, z.dtype)
        try:
            return jnp.broadcast_to(arr, z.shape)
        except ValueError:
            raise ValueError(
                f"`{name}` of RateCell must have the state's shape {z.shape} (or broadcast to "
                f"it), got shape {arr.shape}."
            ) from None

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
        dt = check_dt(dt, self)
        z = state.z
        if z.ndim == 0 or z.shape[-1] != self.n_units:
            raise ValueError(
                f"`state` of RateCell must have shape (..., {self.n_units}), got `state.z` of "
                f"shape {z.shape}."
            )
        j_a = self._current(j, z)
        jtd = self._current(j_td, z, "j_td")
        if self.stateless:  # static: decided at construction from a concrete tau_m
            z_new = j_a + jtd
        else:
            resist = bcast(self.resist_scale.astype(z.dtype), z.ndim)
            if self.use_lateral:  # static: the default path below is unchanged
                dfx_lat = activations.create_function(self.fx_lat or self.act_fx)[1]
                j_lat = dfx_lat(z) * self.lateral_current(state)
                j_mod = resist * (self._dfx(z) * j_a + j_lat)
            else:
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
        return checked(self, self.with_z(z_new))

    # ---- lateral competition (use_lateral) ----------------------------------------------

    def _need_lateral(self, what: str) -> Array:
        if self.Wl is None:
            raise ValueError(f"`{what}` needs a cell built with `use_lateral=True`.")
        return self.Wl

    @property
    def lateral_weights(self) -> Float[Array, "n n"]:
        """The lateral weights as one block-diagonal ``(n_units, n_units)`` matrix
        (ngc-learn's ``Wl.weights``); the cell stores only the ``n_patch`` blocks."""
        wl = self._need_lateral("lateral_weights")
        return jax.scipy.linalg.block_diag(*wl)

    def lateral_output(self, state: RateState) -> Float[Array, "*batch n"]:
        r"""$z_{lat} = \text{output\_scale}\,\phi_{lat}(z)$ (ngc-learn's ``zF_lat``)."""
        self._need_lateral("lateral_output")
        z = state.z
        out = bcast(self.output_scale.astype(z.dtype), z.ndim)
        return out * activations.create_function(self.fx_lat or self.act_fx)[0](z)

    def lateral_current(self, state: RateState) -> Float[Array, "*batch n"]:
        r"""$z_{lat} W_l$, block by block (ngc-learn's ``Wl.outputs``, before the
        modulation by $\phi_{lat}'(z)$ and ``resist_scale``)."""
        wl = self._need_lateral("lateral_current")
        x = self.lateral_output(state)
        blocks = x.reshape(*x.shape[:-1], self.n_patch, -1)
        y = jnp.einsum("...pi,pij->...pj", blocks, wl.astype(x.dtype))
        return y.reshape(x.shape)

    def lateral_updates(self, state: RateState) -> RateCell:
        r"""The learning rule of the lateral weights, as an update shaped like this cell
        (``Wl`` holds $\Delta W_l$, every other array leaf zero), the direction the
        weights should move:

        $$\Delta W_l = -\big(z_{lat}^\top z_{lat}\big) \odot (w_b - \lvert W_l\rvert)
        - \lambda\,\rho'(W_l),$$

        block by block, $z_{lat}$ (:meth:`lateral_output`) summed over the batch; the soft
        bound only for ``Wl_bound`` $w_b > 0$; the prior's gradient $\rho'$ is $W$
        (``"l2"``), $\mathrm{sign}(W)$ (``"l1"``) or $r\,\mathrm{sign}(W) + \tfrac{1 - r}{2} W$
        (``"l1l2"``, as ngc-learn and :func:`ngcx.plasticity.add_prior`: the gradient of
        $r\lvert W\rvert + \tfrac{1 - r}{4} W^2$). Apply it with :meth:`lateral_optimizer`
        (or call :meth:`evolve`)::

            opt = cell.lateral_optimizer()
            opt_state = opt.init(eqx.filter(cell, eqx.is_array))
            upd, opt_state = opt.update(
                cell.lateral_updates(state), opt_state, eqx.filter(cell, eqx.is_array)
            )
            cell = eqx.apply_updates(cell, upd)
        """
        if not self.adaptive_lateral:
            raise ValueError(
                "`lateral_updates` needs a cell built with `use_lateral=True` and "
                "`adaptive_lateral=True`."
            )
        wl = self._need_lateral("lateral_updates")
        x = self.lateral_output(state)
        xb = x.reshape(-1, self.n_patch, x.shape[-1] // self.n_patch)
        corr = jnp.einsum("bpi,bpj->pij", xb, xb).astype(wl.dtype)
        assert self.Wl_bound is not None
        if not is_static_zero(self.Wl_bound):
            wb = self.Wl_bound.astype(wl.dtype)
            corr = jnp.where(wb > 0, corr * (wb - jnp.abs(wl)), corr)
        dW = -corr
        if self.Wl_prior != "none":
            assert self.Wl_prior_lmbda is not None and self.Wl_prior_l1_ratio is not None
            lam = self.Wl_prior_lmbda.astype(wl.dtype)
            if self.Wl_prior == "l2":
                grad = wl
            elif self.Wl_prior == "l1":
                grad = jnp.sign(wl)
            else:
                r = self.Wl_prior_l1_ratio.astype(wl.dtype)
                grad = r * jnp.sign(wl) + (1.0 - r) / 2.0 * wl
            dW = dW - lam * grad
        zeros = jax.tree_util.tree_map(
            lambda leaf: jnp.zeros_like(leaf) if eqx.is_array(leaf) else leaf, self
        )
        return eqx.tree_at(lambda c: c.Wl, zeros, dW)

    def lateral_optimizer(self) -> optax.GradientTransformation:
        r"""The optax transformation that applies :meth:`lateral_updates`: ``Wl_opt_type``
        (``"sgd"``, ``"adam"``, or Nesterov ``"nag"`` with momentum 0.9) at learning rate
        ``Wl_eta`` moving the weights along $\Delta W_l$, then (``Wl_bound`` $w_b > 0$) the
        projection $W_l \in [-w_b, w_b]$. With sgd:
        $W_l \leftarrow \mathrm{clip}(W_l + \eta\,\Delta W_l, -w_b, w_b)$. Its ``update``
        needs the cell (``eqx.filter(cell, eqx.is_array)``) as ``params``."""
        if not self.adaptive_lateral:
            raise ValueError(
                "`lateral_optimizer` needs a cell built with `use_lateral=True` and "
                "`adaptive_lateral=True`."
            )
        assert self.Wl_eta is not None and self.Wl_bound is not None
        return _lateral_optimizer(
            self.Wl_opt_type, self.Wl_eta, self.Wl_bound, not is_static_zero(self.Wl_bound)
        )

    def evolve(self, state: RateState, opt_state: Any = None) -> tuple[RateCell, Any]:
        """One learning step of the lateral weights (ngc-learn's ``evolve``): returns the
        cell with its new ``Wl`` and the optimiser state (``opt_state=None``: a fresh one,
        right for sgd; keep and pass it back for adam/nag)."""
        opt = self.lateral_optimizer()
        params = eqx.filter(self, eqx.is_array)
        if opt_state is None:
            opt_state = opt.init(params)
        upd, opt_state = opt.update(self.lateral_updates(state), opt_state, params)
        return eqx.apply_updates(self, upd), opt_state
