r"""Dense synapses: a static affine map and its Hebbian (two-factor) plastic variant."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._custom_types import Key
from .._shapes import left_pad_rank
from ..initializers import DistributionGenerator, Initializer
from ._plasticity import HebbianOptions, PriorSpec, updates_like


__all__ = ["DenseSynapse", "HebbianSynapse", "hebbian_rule"]


def _init_weights(
    key: Key, shape: tuple[int, int], weight_init: Initializer | None, dtype: Any
) -> Array:
    if len(shape) != 2 or any(not isinstance(s, int) or s <= 0 for s in shape):
        raise ValueError(f"`shape` must be two positive ints (n_in, n_out), got {shape!r}.")
    init = DistributionGenerator.fan_in_gaussian() if weight_init is None else weight_init
    return init(key, shape, dtype)


class DenseSynapse(eqx.Module):
    r"""A static dense synapse, $y = r \, x W + b$ (``resist_scale`` $r$).

    **Fields:** ``weights`` of shape ``(n_in, n_out)``, ``biases`` of shape ``(n_out,)`` or
    ``None``. Both are plain array leaves: ``jax.grad`` and optax treat them as parameters.
    """

    weights: Float[Array, "n_in n_out"]
    biases: Float[Array, " n_out"] | None
    resist_scale: float = eqx.field(static=True)

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        key: Key,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        resist_scale: float = 1.0,
        use_bias: bool = False,
        dtype: Any = None,
    ):
        """**Arguments:**

        - `shape`: ``(n_in, n_out)``.
        - `key`: PRNG key for the initialisers.
        - `weight_init`: an :class:`ngcx.initializers.Initializer` (default: fan-in
          Gaussian).
        - `bias_init`: initialiser of the biases (default: zeros) when `use_bias`.
        - `resist_scale`: multiplies the synaptic output (ngc-learn's resistance).
        - `use_bias`: whether the synapse has biases (or pass `bias_init`).
        - `dtype`: parameter dtype (default float32).
        """
        wkey, bkey = jax.random.split(key)
        self.weights = _init_weights(wkey, shape, weight_init, dtype)
        if use_bias or bias_init is not None:
            init = DistributionGenerator.constant(0.0) if bias_init is None else bias_init
            self.biases = init(bkey, (shape[1],), dtype)
        else:
            self.biases = None
        self.resist_scale = float(resist_scale)

    @property
    def shape(self) -> tuple[int, int]:
        n_in, n_out = self.weights.shape
        return int(n_in), int(n_out)

    def __call__(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """Transmit ``x`` (any leading batch axes): $r\\,xW + b$."""
        y = x @ self.weights
        if self.resist_scale != 1.0:
            y = self.resist_scale * y
        if self.biases is not None:
            y = y + left_pad_rank(self.biases, y.ndim)
        return y

    def backtransmit(self, post: Float[Array, "*batch n_out"]) -> Float[Array, "*batch n_in"]:
        r"""Send a post-synaptic signal back through the transpose: $r\,\text{post}\,W^\top$
        (the derivative of $\langle \text{post}, y(x)\rangle$ with respect to $x$)."""
        return self.resist_scale * (post @ self.weights.T)


class HebbianSynapse(DenseSynapse, HebbianOptions):
    r"""A dense synapse with ngc-learn's two-factor Hebbian plasticity.

    The rule (:func:`hebbian_rule`) returns
    $\Delta W = (a\,\text{pre})^\top (b\,\text{post})$ (softly bounded by
    $w_{\max} - |W|$ when ``w_bound > 0``) and $\Delta b = \sum_{\text{batch}}
    b\,\text{post}$ (``pre_wght`` $a$, ``post_wght`` $b$), shaped like the synapse.
    ``ngcx.learning.synapse_optimizer(synapse)`` turns it into an optax chain that
    *descends* along ``sign_value`` times it (ngc-learn's convention: pass
    ``sign_value=-1``, as ngc-museum does, to ascend the Hebbian direction), plus weight
    decay (``w_decay``) and the prior (``"l1"``, ``"l2"`` or ``"l1l2"``), with sgd / adam /
    nesterov (``"nag"``) at learning rate ``eta``. ``project()`` applies the bounds after
    each step: ``w_bound > 0`` clips the weights to ``[-w_bound, w_bound]``
    (``[0, w_bound]`` when ``is_nonnegative``), and ``is_nonnegative`` alone clips at 0.
    Defaults are ngc-learn 3.2.1's (``w_bound=1``, ``sign_value=1``, sgd).

    With ``post`` the error $e = (z - \mu)/\sigma^2$ of a Gaussian layer
    $\mu = \phi(z_{\text{pre}}) W$ and no bound, $\Delta W = -\partial F / \partial W$
    for the energy $F = \tfrac12\sigma^{-2}\lVert z - \mu\rVert^2$ (tested): use
    ``sign_value=-1`` to descend $F$.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        *,
        key: Key,
        eta: float = 0.0,
        weight_init: Initializer | None = None,
        bias_init: Initializer | None = None,
        w_bound: float = 1.0,
        is_nonnegative: bool = False,
        w_decay: float = 0.0,
        sign_value: float = 1.0,
        optim_type: str = "sgd",
        pre_wght: float = 1.0,
        post_wght: float = 1.0,
        prior: PriorSpec = None,
        resist_scale: float = 1.0,
        use_bias: bool = False,
        momentum: float = 0.9,
        dtype: Any = None,
    ):
        """**Arguments** (ngc-learn's names and defaults; see the class docstring):

        - `shape`, `key`, `weight_init`, `bias_init`, `resist_scale`, `use_bias`, `dtype`:
          as :class:`DenseSynapse`.
        - `eta`: learning rate (``>= 0``; 0 freezes the synapse).
        - `w_bound`: weight bound (0: none). `is_nonnegative`: clip weights at 0.
        - `w_decay`: weight-decay coefficient. `sign_value`: multiplies the update
          (1 ascends the Hebbian direction, -1 descends it).
        - `optim_type`: ``"sgd"``, ``"adam"`` or ``"nag"`` (Nesterov, `momentum`).
        - `pre_wght`, `post_wght`: scale the pre- and post-synaptic factors.
        - `prior`: ``(name, lmbda)`` with name ``"l1"``, ``"l2"`` or ``"l1l2"``.
        """
        super().__init__(
            shape,
            key=key,
            weight_init=weight_init,
            bias_init=bias_init,
            resist_scale=resist_scale,
            use_bias=use_bias,
            dtype=dtype,
        )
        self._set_hebbian_options(
            eta,
            w_bound,
            is_nonnegative,
            w_decay,
            sign_value,
            optim_type,
            pre_wght,
            post_wght,
            prior,
            momentum,
        )

    def hebbian_updates(
        self, pre: Float[Array, "*batch n_in"], post: Float[Array, "*batch n_out"]
    ) -> HebbianSynapse:
        """:func:`hebbian_rule` applied to this synapse."""
        return hebbian_rule(self, pre, post)


def hebbian_rule(
    synapse: DenseSynapse,
    pre: Float[Array, "*batch n_in"],
    post: Float[Array, "*batch n_out"],
) -> Any:
    r"""Two-factor Hebbian update shaped like ``synapse``.

    $\Delta W = (a\,\text{pre})^\top (b\,\text{post})$ summed over every leading (batch)
    axis as one matrix product, and $\Delta b = \sum b\,\text{post}$ when the synapse has
    biases; ``a``/``b`` are ``pre_wght``/``post_wght`` for a :class:`HebbianSynapse`
    (1 otherwise). The result is the synapse with its arrays replaced by the updates
    With ``w_bound > 0`` (a :class:`HebbianSynapse` option, default 1 as in ngc-learn
    3.2.1) the weight update is softly bounded, $\Delta W \odot (w_{\max} - |W|)$,
    before the projection clips the weights. The optimisers of :mod:`ngcx.learning`
    descend along ``sign_value`` times this update.
    """
    n_in, n_out = synapse.shape
    if pre.shape[-1] != n_in or post.shape[-1] != n_out:
        raise ValueError(
            f"`pre` must end in {n_in} and `post` in {n_out} units, got shapes "
            f"{pre.shape} and {post.shape}."
        )
    if pre.shape[:-1] != post.shape[:-1]:
        raise ValueError(
            f"`pre` and `post` must share their batch axes, got {pre.shape} and {post.shape}."
        )
    a = getattr(synapse, "pre_wght", 1.0)
    b = getattr(synapse, "post_wght", 1.0)
    pre2 = pre.reshape(-1, n_in)
    post2 = post.reshape(-1, n_out)
    dW = (a * b) * (pre2.T @ post2)
    w_bound = getattr(synapse, "w_bound", 0.0)
    if w_bound > 0:  # ngc-learn's soft bound
        dW = dW * (w_bound - jnp.abs(synapse.weights))
    db = None if synapse.biases is None else b * jnp.sum(post2, axis=0)
    return updates_like(synapse, dW, db)
