r"""A dense synapse with Tsodyks-Markram short-term plasticity (ngc-learn's
``STPDenseSynapse``)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from .._custom_types import Key, ParamLike, Scalar
from .._params import is_concrete, is_static_zero, param
from .._shapes import left_pad_rank
from ..cells._common import check_dt
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse
from ._dense import _init_weights, connectivity_mask, outer_sum


__all__ = ["STPState", "STPDenseSynapse"]


class STPState(eqx.Module):
    r"""The state of an :class:`STPDenseSynapse`, one value per synapse.

    **Fields:** ``u``, the utilisation (release probability) just after the last step,
    and ``x``, the fraction of available resources just after the last step; both of shape
    ``(*batch, n_in, n_out)``. At rest $u = 0$, $x = 1$.
    """

    u: Float[Array, "*batch n_in n_out"]
    x: Float[Array, "*batch n_in n_out"]


class STPDenseSynapse(AbstractSynapse):
    r"""A dense synapse with Tsodyks-Markram short-term facilitation and depression
    (ngc-learn's ``STPDenseSynapse``; Tsodyks, Pawelzik & Markram 1998).

    Each synapse $(i, j)$ has a utilisation $u$ and available resources $x$; between
    presynaptic pulses they relax, $\dot u = -u/\tau_f$, $\dot x = (1 - x)/\tau_d$, and at a
    pulse $s_i$ of presynaptic unit $i$

    $$u^+ = u^- + U\,(1 - u^-)\,s_i, \qquad \text{efficacy } W_{ij}\,u^+ x^-, \qquad
    x^+ = x^- (1 - u^+ s_i),$$

    with $U$ the ``resources`` (baseline utilisation, one per synapse). The output is
    $y_j = r \sum_i s_i\, (W \odot M)_{ij}\, u^+_{ij} x^-_{ij} + b_j$. Large $U$ and
    $\tau_d \gg \tau_f$ give depression; small $U$ and $\tau_f \gg \tau_d$ facilitation.
    ``tau_f = 0`` turns facilitation off ($u^+ = U$); ``tau_d = 0`` turns depression off
    ($x = 1$); both are decided at construction.

    The relaxation is integrated exactly over a step (``dt``): a regular train of period
    $\Delta$ gives the Tsodyks-Markram recursion $u^-_{n+1} = u^+_n e^{-\Delta/\tau_f}$,
    $x^-_{n+1} = 1 - (1 - x^+_n) e^{-\Delta/\tau_d}$ exactly, with the steady state
    $u^+_\infty = U / (1 - (1 - U) e^{-\Delta/\tau_f})$,
    $x^-_\infty = (1 - e^{-\Delta/\tau_d}) / (1 - (1 - u^+_\infty) e^{-\Delta/\tau_d})$.

    ``synapse(s)`` is the map without short-term plasticity, $r\,s\,(W \odot M) + b$
    (:meth:`contract` is its weight derivative, the correlation a long-term rule uses); the
    dynamics are stepped:

    ```python
    state = syn.init_state((batch,))
    y, state = syn.step(state, spikes, dt=1.0)
    ```

    **Differences from ngc-learn 3.2:** ngc-learn keeps $u$ and $x$ per presynaptic unit
    while its $U$ is per synapse, which only broadcasts when ``n_in == n_out`` (and then
    mixes units); ngcx keeps them per synapse. ngc-learn relaxes with an Euler step of
    1 ms whatever ``dt`` (and applies the pulse to the undecayed values); ngcx integrates
    exactly. ngc-learn passes ``p_conn`` to ``DenseSynapse``'s ``p_release_mean`` by
    position (so it never masks); ngcx masks.
    """

    weights: Float[Array, "n_in n_out"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]
    resources: Float[Array, "n_in n_out"]
    tau_f: Float[Array, ""]
    tau_d: Float[Array, ""]
    mask: Bool[Array, "n_in n_out"] | None
    use_stf: bool = eqx.field(static=True)
    use_std: bool = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        key: Key,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        resist_scale: ParamLike = 1.0,
        p_conn: ParamLike = 1.0,
        tau_f: ParamLike = 750.0,
        tau_d: ParamLike = 50.0,
        resources_init: Initializer | None = None,
        mask: ArrayLike | None = None,
        dtype: Any = None,
    ):
        r"""**Arguments:**

        - `shape`: ``(n_in, n_out)``.
        - `key`: PRNG key of the weights, biases, resources and connectivity.
        - `weight_init`: initialiser of $W$ (default uniform on $[0.025, 0.8]$, as
          ngc-learn).
        - `bias_init`: initialiser of the biases; ``None``: no biases.
        - `resist_scale`: $r$ (ngc-learn's ``g_conduct_factor``).
        - `p_conn`: connection probability in $(0, 1]$ (a fixed random mask).
        - `tau_f`: facilitation time constant (ms, $\geq 0$; 0: no facilitation).
        - `tau_d`: depression (recovery) time constant (ms, $\geq 0$; 0: no depression).
        - `resources_init`: initialiser of $U$ (default uniform on $[0.125, 0.175]$);
          values must lie in $[0, 1]$.
        - `mask`: a user connectivity mask of shape `shape`.
        - `dtype`: parameter dtype.

        **Raises:** ``ValueError`` naming the argument for a bad shape, a negative time
        constant, or resources outside $[0, 1]$.
        """
        wkey, bkey, rkey, ckey = jax.random.split(key, 4)
        init = DistributionGenerator.uniform(0.025, 0.8) if weight_init is None else weight_init
        self.weights = _init_weights(wkey, tuple(shape), init, dtype)  # type: ignore[arg-type]
        self.biases = None if bias_init is None else bias_init(bkey, (shape[1],), dtype)
        self.resist_scale = param(resist_scale, "resist_scale")
        rinit = (
            DistributionGenerator.uniform(0.125, 0.175)
            if resources_init is None
            else resources_init
        )
        self.resources = _resources(rinit(rkey, tuple(shape), dtype))
        self.tau_f = param(tau_f, "tau_f", "nonnegative")
        self.tau_d = param(tau_d, "tau_d", "nonnegative")
        self.use_stf = not is_static_zero(tau_f)
        self.use_std = not is_static_zero(tau_d)
        self.mask = connectivity_mask(ckey, tuple(shape), p_conn, mask)
        if self.mask is not None:
            self.weights = jnp.where(self.mask, self.weights, jnp.zeros_like(self.weights))

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        n_in, n_out = self.weights.shape
        return int(n_in), int(n_out)

    def _check_width(self, x: Array, axis_size: int, name: str) -> None:
        if x.ndim == 0 or x.shape[-1] != axis_size:
            raise ValueError(
                f"`{name}` must end in {axis_size} units for a synapse of shape {self.shape}, "
                f"got shape {x.shape}."
            )

    def _weights(self) -> Array:
        if self.mask is None:
            return self.weights
        return jnp.where(self.mask, self.weights, jnp.zeros_like(self.weights))

    def _out(self, y: Array) -> Array:
        y = self.resist_scale.astype(y.dtype) * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases.astype(y.dtype), y.ndim)
        return y

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        r"""The map without short-term plasticity: $r\,x\,(W \odot M) + b$."""
        self._check_width(x, self.shape[0], "x")
        return self._out(x @ self._weights())

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""The transpose of :meth:`__call__`'s linear part: $r\,\text{post}\,(W\odot M)^\top$."""
        self._check_width(post, self.shape[1], "post")
        return self.resist_scale.astype(post.dtype) * (post @ self._weights().T)

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> Float[Array, "n_in n_out"]:
        r"""$M \odot \sum_{\text{batch}} \text{pre}^\top \text{post}$ (one matmul)."""
        self._check_width(pre, self.shape[0], "pre")
        self._check_width(post, self.shape[1], "post")
        if pre.shape[:-1] != post.shape[:-1]:
            raise ValueError(
                f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
            )
        c = outer_sum(pre, post)
        return c if self.mask is None else jnp.where(self.mask, c, jnp.zeros_like(c))

    def bias_contract(self, post: Float[Array, "*batch n_out"]) -> Float[Array, " n_out"]:
        r"""$\sum_{\text{batch}} \text{post}$."""
        self._check_width(post, self.shape[1], "post")
        return post.reshape(-1, post.shape[-1]).sum(axis=0)

    def init_state(self, batch_shape: tuple[int, ...] = (), dtype: Any = None) -> STPState:
        """The resting state, $u = 0$ and $x = 1$ for every synapse."""
        dtype = self.weights.dtype if dtype is None else dtype
        shape = (*tuple(batch_shape), *self.shape)
        return STPState(jnp.zeros(shape, dtype), jnp.ones(shape, dtype))

    def step(
        self,
        state: STPState,
        x: Float[Array, "*batch n_in"],
        *,
        dt: Scalar = 1.0,
    ) -> tuple[Float[Array, "*batch n_out"], STPState]:
        r"""One step of ``dt`` ms with presynaptic pulses `x` (``(*batch, n_in)``, 0/1 or
        graded): relax $u$ and $x$ exactly over ``dt`` (finite and $> 0$; a
        ``ValueError`` names it when concrete), apply the pulse, transmit.

        **Returns:** ``(y, new_state)``, $y_j = r\sum_i x_i (W\odot M)_{ij} u^+_{ij}
        x^-_{ij} + b_j$.
        """
        self._check_width(x, self.shape[0], "x")
        want = (*x.shape[:-1], *self.shape)
        if state.u.shape != want:
            raise ValueError(
                f"`state` must have shape {want} for `x` of shape {x.shape}, got {state.u.shape}."
            )
        dt = check_dt(dt, self)
        dtype = state.u.dtype
        dt_arr = jnp.asarray(dt, dtype)
        s = x.astype(dtype)[..., None]
        big_u = left_pad_rank(self.resources.astype(dtype), state.u.ndim)
        if self.use_stf:
            u_minus = state.u * jnp.exp(-dt_arr / self.tau_f.astype(dtype))
            u_plus = u_minus + big_u * (1.0 - u_minus) * s
        else:
            u_plus = jnp.broadcast_to(big_u, state.u.shape)
        if self.use_std:
            x_minus = 1.0 - (1.0 - state.x) * jnp.exp(-dt_arr / self.tau_d.astype(dtype))
            x_plus = x_minus * (1.0 - u_plus * s)
        else:
            x_minus = x_plus = state.x
        eff = left_pad_rank(self._weights().astype(dtype), state.u.ndim) * u_plus * x_minus
        y = jnp.einsum("...i,...ij->...j", x.astype(dtype), eff)
        return self._out(y), STPState(u_plus, x_plus)


def _resources(values: Array) -> Array:
    if is_concrete(values):
        v = np.asarray(values)
        if not (np.all(np.isfinite(v)) and np.all((v >= 0) & (v <= 1))):
            raise ValueError(
                f"`resources_init` must give values in [0, 1], got values in "
                f"[{v.min()}, {v.max()}]."
            )
    return values
