r"""The dense synapse: an affine map with array-leaf weights, biases and resistance, and
ngc-learn's connectivity options (a fixed random or user mask, stochastic release, axonal
delays)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._custom_types import Key
from .._params import is_concrete, is_static_one, param
from .._shapes import left_pad_rank
from ..initializers import DistributionGenerator, Initializer
from ._base import AbstractSynapse


__all__ = ["DenseSynapse", "DenseSynapseState", "StaticSynapse", "connectivity_mask", "outer_sum"]


def _init_weights(
    key: Key, shape: tuple[int, int], weight_init: Initializer | None, dtype: Any
) -> Array:
    if len(shape) != 2 or any(not isinstance(s, int) or s <= 0 for s in shape):
        raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
    init = DistributionGenerator.fan_in_gaussian() if weight_init is None else weight_init
    return init(key, shape, dtype)


def outer_sum(a: Array, b: Array) -> Array:
    r"""$\sum_{\text{batch}} a^\top b$ for ``(..., n)`` and ``(..., m)`` arrays: a broadcast
    outer product for one sample (it fuses with what follows), one matmul otherwise (never
    a ``(batch, n, m)`` intermediate)."""
    a2 = a.reshape(-1, a.shape[-1])
    b2 = b.reshape(-1, b.shape[-1])
    if a2.shape[0] == 1:
        return a2[0][:, None] * b2[0][None, :]
    return a2.T @ b2


def connectivity_mask(
    key: Key | None,
    shape: tuple[int, ...],
    p_conn: Any = 1.0,
    mask: ArrayLike | None = None,
    *,
    mask_name: str = "mask",
) -> Bool[Array, "..."] | None:
    r"""The fixed connectivity of a synapse: `mask` (boolean or 0/1, weight-shaped) and, for
    `p_conn` $< 1$, an independent Bernoulli($p_{\text{conn}}$) draw from `key` for every
    weight, combined with a logical and; ``None`` when every weight is connected
    (`p_conn` a concrete 1 and no `mask`).

    This is the mask ngc-learn draws from ``p_conn`` at construction; ngcx keeps it (as a
    boolean array leaf of the synapse), so that the map, its contraction and the
    projection :func:`ngcx.plasticity.mask_weights` keep absent connections absent.

    **Arguments:**

    - `key`: PRNG key of the draw (only used when `p_conn` $< 1$).
    - `shape`: the weights' shape.
    - `p_conn`: connection probability, in $(0, 1]$.
    - `mask`: a user mask of shape `shape`, or ``None``.
    - `mask_name`: the user's name of `mask` in error messages.

    **Raises:** ``ValueError`` naming `p_conn` or `mask` for a value outside $(0, 1]$ or a
    mask of the wrong shape.
    """
    p = param(p_conn, "p_conn", "unit_open")
    out = None
    if mask is not None:
        out = jnp.asarray(mask)
        if out.shape != tuple(shape):
            raise ValueError(
                f"`{mask_name}` must have the weights' shape {tuple(shape)}, got {out.shape}."
            )
        out = out.astype(bool)
    if not (is_concrete(p_conn) and bool(np.all(np.asarray(p_conn) == 1.0))):
        if key is None:
            raise ValueError("`key` is required to draw the connectivity of `p_conn` < 1.")
        conn = jax.random.bernoulli(key, p, tuple(shape))
        out = conn if out is None else out & conn
    return out


class DenseSynapseState(eqx.Module):
    r"""The state of a :class:`DenseSynapse` stepped with :meth:`DenseSynapse.step`.

    **Fields:**

    - ``buffer``: the ring buffer of the last ``max_delay_steps`` presynaptic inputs,
      shape ``(max_delay_steps, *batch, n_in)``, or ``None`` without delays;
    - ``head``: the slot the current input is written to (an ``int32`` scalar), or
      ``None`` without delays;
    - ``delayed_inputs``: the presynaptic signal that crossed the synapse at the last step
      (delayed and released), shape ``(*batch, n_in)``: the presynaptic activity a
      learning rule should see (ngc-learn's ``delayed_inputs``).
    """

    buffer: Float[Array, "delay *batch n_in"] | None
    head: Int[Array, ""] | None
    delayed_inputs: Float[Array, "*batch n_in"]


class DenseSynapse(AbstractSynapse):
    r"""A dense synapse, $y = r\, x (W \odot M) + b$ (``resist_scale`` $r$, connectivity
    mask $M$; ngc-learn's ``DenseSynapse`` and, without plasticity, ``StaticSynapse``).

    **Fields:** ``weights`` of shape ``(n_in, n_out)``; ``biases`` of shape ``(n_out,)`` or
    ``None``; ``resist_scale``, a scalar array leaf. All are leaves: ``jax.grad``,
    ``jax.vmap`` and optax treat them like any Equinox layer's parameters. Learning rules
    (:mod:`ngcx.plasticity`) use :meth:`contract`, the batch-summed outer product.

    **Connectivity options** (each off by default; whether it is on is decided at
    construction, so the default map is exactly $r\,xW + b$ at no extra cost):

    - ``mask`` (from the arguments `mask` and `p_conn`): a fixed boolean leaf
      $M$ of shape ``(n_in, n_out)``, or ``None``. The weights start masked, the map and
      :meth:`contract` use $W \odot M$ (so $\partial_W$ and every rule written over
      ``contract`` are zero off the mask), and ``mask_weights(synapse.mask)`` in an optax
      chain keeps the stored weights masked. The map stays one dense matmul: for a 10%
      dense 784 x 256 map at batch 64 on CPU it took 80 us against 255 us for a
      ``jax.experimental.sparse`` BCOO matrix and 328 us for an index ``segment_sum``
      (``benchmarks/parity_synapses_extra.py --bench``).
    - ``p_release``: a per-presynaptic-unit release probability $p_i$ (a leaf of shape
      ``(n_in,)``) or ``None``. In :meth:`step` each presynaptic signal crosses the
      synapse with probability $p_i$ (an independent Bernoulli draw per unit and sample,
      from the explicit ``key``): $\tilde x_i = x_i\,\xi_i$, $\xi_i \sim
      \mathrm{Bernoulli}(p_i)$ (Del Castillo & Katz's quantal release).
    - ``delays``: a per-presynaptic-unit axonal delay $d_i \in \{1, \dots,
      D\}$ steps (an ``int32`` leaf of shape ``(n_in,)``), or ``None``; $D$ is the static
      ``max_delay_steps``. In :meth:`step` unit $i$ transmits $x_i(t - d_i)$, read from a
      ring buffer of the last $D$ inputs kept in the state.

    **Two ways to call it.** ``synapse(x)`` is the deterministic map (mask applied, no
    release, no delay): what :meth:`backtransmit` and :meth:`contract` are the transpose
    and the derivative of. A synapse with release or delays is driven step by step:

    ```python
    syn = DenseSynapse((n_in, n_out), key=k, p_release_mean=0.5, max_delay_steps=5)
    state = syn.init_state((batch,))
    y, state = syn.step(state, x_t, key=step_key)   # one step
    ```

    :meth:`step` works for every dense synapse (without options it returns
    ``(synapse(x), state)``), so model code need not know which options are on.

    **Differences from ngc-learn 3.2:** the default weights are fan-in Gaussian (ngc-learn:
    uniform on $[0.025, 0.8]$; pass ``weight_init``). ngc-learn applies its ``p_conn``
    draw to the initial weights only and forgets it; ngcx keeps it in ``mask`` with the
    user mask (ngc-learn multiplies by a user mask at each step, as ngcx does). ngc-learn
    3.2's release path raises ``NameError`` (``nn`` is never imported) and would transmit
    only one presynaptic unit per sample (a one-hot of the largest $x_i \xi_i$); ngcx draws
    an independent Bernoulli($p_i$) per unit and clips $p_i$ to $[0, 1]$. Delays match
    ngc-learn's (slot $k$ of its queue is the delay $D - k$), in a ring buffer instead of a
    rolled queue. ngc-learn's multiplicative ``gate`` compartment is left out (multiply the
    output).
    """

    weights: Float[Array, "n_in n_out"]
    biases: Float[Array, " n_out"] | None
    resist_scale: Float[Array, ""]
    mask: Bool[Array, "n_in n_out"] | None
    p_release: Float[Array, " n_in"] | None
    delays: Int[Array, " n_in"] | None
    max_delay_steps: int = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        key: Key,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        resist_scale: float | Float[ArrayLike, ""] = 1.0,
        p_release_mean: float | Float[ArrayLike, ""] = 1.0,
        p_conn: float | Float[ArrayLike, ""] = 1.0,
        max_delay_steps: int = 0,
        mask: ArrayLike | None = None,
        use_bias: bool = False,
        p_release_jitter: float = 0.1,
        dtype: Any = None,
    ):
        r"""**Arguments:**

        - `shape`: ``(n_in, n_out)``.
        - `key`: PRNG key for the initialisers (and the connectivity, release
          probabilities and delays when those options are on; the default weights do not
          depend on the options).
        - `weight_init`: an :class:`ngcx.initializers.Initializer` (default: fan-in
          Gaussian).
        - `bias_init`: initialiser of the biases (default: zeros) when `use_bias`.
        - `resist_scale`: multiplies the synaptic output (ngc-learn's resistance
          ``g_conduct_factor``; finite, a scalar leaf).
        - `p_release_mean`: mean release probability, in $(0, 1]$; below 1 each
          presynaptic unit gets a fixed probability drawn uniformly from
          $[\bar p - j, \bar p + j]$ (`p_release_jitter` $j$), clipped to $[0, 1]$, and
          :meth:`step` transmits stochastically. 1: off.
        - `p_conn`: connection probability, in $(0, 1]$; below 1 a fixed random mask
          (see :func:`connectivity_mask`). 1: fully connected.
        - `max_delay_steps`: $D \geq 0$; above 0 each presynaptic unit gets a fixed delay
          drawn uniformly from $\{1, \dots, D\}$ steps. 0: no delays.
        - `mask`: a user mask of shape `shape` (boolean or 0/1), combined with the
          `p_conn` draw; ``None``: none.
        - `use_bias`: whether the synapse has biases (or pass `bias_init`).
        - `p_release_jitter`: half-width $j \geq 0$ of the spread of release
          probabilities (ngc-learn hard-codes 0.1).
        - `dtype`: parameter dtype (default float32).

        **Raises:** ``ValueError`` naming the argument for a bad `shape`, `p_conn` or
        `p_release_mean` outside $(0, 1]$, a negative or non-integer `max_delay_steps`,
        or a `mask` of the wrong shape.
        """
        wkey, bkey = jax.random.split(key)
        self.weights = _init_weights(wkey, tuple(shape), weight_init, dtype)  # type: ignore[arg-type]
        if use_bias or bias_init is not None:
            init = DistributionGenerator.constant(0.0) if bias_init is None else bias_init
            self.biases = init(bkey, (shape[1],), dtype)
        else:
            self.biases = None
        self.resist_scale = param(resist_scale, "resist_scale")
        # the options draw from their own keys, so the default weights never change
        ckey, rkey, dkey = jax.random.split(jax.random.fold_in(key, 1), 3)
        n_in = int(shape[0])
        self.mask = connectivity_mask(ckey, tuple(shape), p_conn, mask)
        if self.mask is not None:
            self.weights = jnp.where(self.mask, self.weights, jnp.zeros_like(self.weights))
        self.p_release = _release_probabilities(rkey, n_in, p_release_mean, p_release_jitter)
        self.max_delay_steps = _check_delay_steps(max_delay_steps)
        self.delays = (
            None
            if self.max_delay_steps == 0
            else jax.random.randint(dkey, (n_in,), 1, self.max_delay_steps + 1, dtype=jnp.int32)
        )

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_in, n_out)``."""
        n_in, n_out = self.weights.shape
        return int(n_in), int(n_out)

    @property
    def effective_weights(self) -> Float[Array, "n_in n_out"]:
        r"""$W \odot M$ (``weights`` without a mask)."""
        if self.mask is None:
            return self.weights
        return jnp.where(self.mask, self.weights, jnp.zeros_like(self.weights))

    def _check_width(self, x: Array, axis_size: int, name: str) -> None:
        if x.ndim == 0 or x.shape[-1] != axis_size:
            raise ValueError(
                f"`{name}` must end in {axis_size} units for a synapse of shape {self.shape}, "
                f"got shape {x.shape}."
            )

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """Transmit ``x`` (any leading batch axes): $r\\,x(W \\odot M) + b$ (no release and
        no delay: see :meth:`step`)."""
        self._check_width(x, self.shape[0], "x")
        y = x @ (self.weights if self.mask is None else self.effective_weights)
        if not is_static_one(self.resist_scale):  # a concrete 1 (closed over) is skipped
            y = self.resist_scale * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""Send a post-synaptic signal back through the transpose:
        $r\,\text{post}\,(W \odot M)^\top$ (the derivative of $\langle \text{post},
        y(x)\rangle$ with respect to $x$)."""
        self._check_width(post, self.shape[1], "post")
        back = post @ (self.weights if self.mask is None else self.effective_weights).T
        return back if is_static_one(self.resist_scale) else self.resist_scale * back

    def contract(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> Float[Array, "n_in n_out"]:
        r"""$C = M \odot \sum_{\text{batch}} \text{pre}^\top \text{post}$, one matrix
        product (the Hebbian correlation; $\partial_W \langle \text{post},
        \text{pre}\,(W \odot M)\rangle$; no mask: $M = 1$)."""
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

    # -- stepping (release and delays) ------------------------------------------------
    def init_state(self, batch_shape: tuple[int, ...] = (), dtype: Any = None) -> DenseSynapseState:
        """The resting state: an empty delay buffer (zeros, head at slot 0) and no
        transmitted input, for inputs of shape ``(*batch_shape, n_in)``."""
        dtype = self.weights.dtype if dtype is None else dtype
        shape = (*tuple(batch_shape), self.shape[0])
        if self.max_delay_steps == 0:
            buffer, head = None, None
        else:
            buffer = jnp.zeros((self.max_delay_steps, *shape), dtype)
            head = jnp.zeros((), jnp.int32)
        return DenseSynapseState(buffer, head, jnp.zeros(shape, dtype))

    def step(
        self,
        state: DenseSynapseState,
        x: Float[Array, "*batch n_in"],
        *,
        key: Key | None = None,
    ) -> tuple[Float[Array, "*batch n_out"], DenseSynapseState]:
        r"""One time step: delay, then release, then the map.

        $\tilde x_i(t) = \xi_i(t)\, x_i(t - d_i)$ (no delays: $d_i = 0$; no release:
        $\xi_i = 1$), $y(t) = r\,\tilde x(t)\,(W \odot M) + b$.

        **Arguments:**

        - `state`: from :meth:`init_state` or the previous step (its batch axes are
          those of `x`).
        - `x`: presynaptic activity of shape ``(*batch, n_in)``.
        - `key`: PRNG key of the release draw; required when ``p_release`` is set
          (ignored otherwise).

        **Returns:** ``(y, new_state)``; ``new_state.delayed_inputs`` is $\tilde x(t)$.
        """
        self._check_width(x, self.shape[0], "x")
        if self.delays is not None:
            if state.buffer is None or state.head is None:
                raise ValueError(
                    "`state` has no delay buffer: make it with this synapse's `init_state`."
                )
            if state.buffer.shape[1:] != x.shape:
                raise ValueError(
                    f"`x` must have the shape of the state's inputs {state.buffer.shape[1:]}, "
                    f"got {x.shape}."
                )
            n_slots = self.max_delay_steps
            slots = jnp.mod(state.head - self.delays, n_slots)
            idx = jnp.broadcast_to(slots, x.shape)[None]
            sent = jnp.take_along_axis(state.buffer, idx, axis=0)[0]
            buffer: Array | None = state.buffer.at[state.head].set(x.astype(state.buffer.dtype))
            head: Array | None = jnp.mod(state.head + 1, n_slots).astype(jnp.int32)
        else:
            sent, buffer, head = x, state.buffer, state.head
        if self.p_release is not None:
            if key is None:
                raise ValueError("`key` is required to step a synapse with `p_release_mean` < 1.")
            p = left_pad_rank(self.p_release.astype(sent.dtype), sent.ndim)
            released = jax.random.uniform(key, sent.shape, sent.dtype) < p
            sent = jnp.where(released, sent, jnp.zeros_like(sent))
        y = self(sent)
        return y, DenseSynapseState(buffer, head, sent.astype(state.delayed_inputs.dtype))


def _release_probabilities(key: Key, n_in: int, p_release_mean: Any, jitter: Any) -> Array | None:
    mean = param(p_release_mean, "p_release_mean", "unit_open")
    j = param(jitter, "p_release_jitter", "nonnegative")
    if is_concrete(p_release_mean) and bool(np.all(np.asarray(p_release_mean) == 1.0)):
        return None
    p = jax.random.uniform(key, (n_in,), minval=mean - j, maxval=mean + j)
    return jnp.clip(p, 0.0, 1.0)


def _check_delay_steps(max_delay_steps: Any) -> int:
    if isinstance(max_delay_steps, bool) or not isinstance(max_delay_steps, int | np.integer):
        raise ValueError(f"`max_delay_steps` must be an int >= 0, got {max_delay_steps!r}.")
    if max_delay_steps < 0:
        raise ValueError(f"`max_delay_steps` must be an int >= 0, got {max_delay_steps}.")
    return int(max_delay_steps)


# a static synapse is the same map (ngc-learn's name)
StaticSynapse = DenseSynapse
