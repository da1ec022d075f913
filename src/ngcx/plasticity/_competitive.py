r"""Competitive learning: the rules of self-organising maps, vector quantisation, ART 2-A
and modern Hopfield memories, their learning-rate schedules as optax transforms, and
ngc-learn's ``SOMSynapse``, ``HopfieldSynapse``, ``VectorQuantizeSynapse`` and
``ART2ASynapse`` as builders.

The maps are :mod:`ngcx.synapses` competitive synapses (``SOMMap``, ``HopfieldMap``,
``VectorQuantizeMap``, ``ART2AMap``); a rule here returns updates shaped like the map
(``synapse.updates(dW)``, the direction the codebook should move), written over the map's
``contract`` (one matrix product) and ``bias_contract``. The learning rate and its
schedule, weight decay, soft bounds and noise are optax transforms
(:class:`CompetitiveOptions`), so their state is explicit: the optax state holds the step
count (and the noise key); the SOM radius schedule takes the step as an argument.

A builder returns a :class:`CompetitivePlasticSynapse` (map + rule + options). One
learning step, as ngc-learn's ``advance_state`` + ``evolve``::

    som = plasticity.SOMSynapse(2, 8, 8, key=key)
    opt = som.optimizer()
    opt_state = plasticity.init(opt, som)
    for t, x in enumerate(batches):
        upd = som.updates(x, step=t)      # the SOM radius at step t
        som, opt_state = plasticity.apply_updates(som, upd, opt_state, opt)

(``lax.scan`` over the batches with ``t`` in the carry for speed.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from .._custom_types import Key
from .._params import is_static_zero, param
from ..initializers import Initializer
from ..synapses import (
    AbstractCompetitiveSynapse,
    AbstractSynapse,
    ART2AMap,
    HopfieldMap,
    SOMMap,
    VectorQuantizeMap,
)
from ._rules import AbstractRule
from ._transforms import _stateless, scale_by_sign, scale_by_soft_bound, weights_mask


__all__ = [
    "SOM",
    "Hopfield",
    "VectorQuantize",
    "ART2A",
    "CompetitiveOptions",
    "CompetitivePlasticSynapse",
    "SOMSynapse",
    "HopfieldSynapse",
    "VectorQuantizeSynapse",
    "ART2ASynapse",
]

S = TypeVar("S", bound=AbstractSynapse)


M = TypeVar("M", bound=AbstractCompetitiveSynapse)


def _as(synapse: Any, kind: type[M], rule: str) -> M:
    """`synapse`, checked to be a `kind` map (TypeError naming `synapse` otherwise)."""
    if not isinstance(synapse, kind):
        raise TypeError(
            f"`synapse` of the {rule} rule must be an ngcx.synapses.{kind.__name__}, got "
            f"{type(synapse).__name__}."
        )
    return synapse


def _batch_size(x: Array) -> int:
    n = 1
    for d in x.shape[:-1]:
        n *= int(d)
    return n


def _step(step: Any, dtype: Any) -> Array:
    return jnp.asarray(step).astype(dtype)


# -- rules ----------------------------------------------------------------------------


class SOM(AbstractRule):
    r"""Kohonen's self-organising-map rule (ngc-learn's ``SOMSynapse`` rule): every
    prototype moves towards the input, weighted by its neighbourhood $h$ around the BMU,

    $$\Delta W = \frac1B \sum_b (x_b \mathbf 1^\top - W) \operatorname{diag}(h_b)
    = \frac1B\big(C(x, h) - W \operatorname{diag}(\textstyle\sum_b h_b)\big),$$

    averaged over the batch ($B$ samples; $C$ the synapse's contraction), with the radius
    shrinking geometrically with the step $t$ (the number of updates applied before):
    $\sigma_t = \sigma_0\,\gamma^t$ (``radius_decay`` $\gamma$; the map's ``radius``
    $\sigma_0$). The learning rate's schedule is in the optax chain
    (:class:`CompetitiveOptions`).
    """

    radius_decay: Float[Array, ""]

    def __init__(self, radius_decay: Any = 1.0):
        """**Arguments:** `radius_decay`: the per-update factor $\\gamma \\in (0, 1]$ of
        the neighbourhood radius (1: a fixed radius)."""
        self.radius_decay = param(radius_decay, "radius_decay", "unit_open")

    def radius(self, synapse: SOMMap, step: Any = 0) -> Array:
        r"""$\sigma_t = \sigma_0\gamma^t$."""
        return synapse.radius * self.radius_decay ** _step(step, synapse.radius.dtype)

    def __call__(
        self, synapse: S, x: Float[Array, "*batch n_in"], step: Int[ArrayLike, ""] = 0
    ) -> S:
        """**Arguments:** `synapse` (a :class:`~ngcx.synapses.SOMMap`); inputs `x`; `step`
        $t$ (an int, may be traced). **Returns:** updates shaped like `synapse`."""
        som = _as(synapse, SOMMap, "SOM")
        h = som.neighbourhood(som.bmu(x), self.radius(som, step))
        dW = som.contract(x, h) - som.weights * som.bias_contract(h)[None, :]
        return synapse.updates(dW / _batch_size(x))


class Hopfield(AbstractRule):
    r"""The local rules of ngc-learn's ``HopfieldSynapse`` for the memory $W$, with
    $s = \operatorname{softmax}(\beta xW)$ and the retrieval $\hat x = W s$, averaged over
    the batch:

    - ``"delta"`` (default): $\Delta W = \frac1B (x - \hat x)^\top s$, i.e.
      $-\partial_W \tfrac12\lVert x - W s\rVert^2$ at fixed $s$ (tested against autodiff):
      memories move so that retrieval reproduces the cue;
    - ``"contrastive"`` (Movellan 1991): $\Delta W = \frac1B (x^\top s -
      \hat x^\top \hat s)$ with $\hat s = \operatorname{softmax}(\beta\hat x W)$. ngc-learn
      computes $\hat s = \operatorname{softmax}(\hat x W - \beta \max \hat x W)$ (the
      inverse temperature multiplies only the shift, so $\hat s$ is at temperature 1);
      ngcx uses $\beta$.

    Storage is the map's ``initial_patterns``; weight decay (ngc-learn's ``reg_lambda``)
    is an optax transform.
    """

    update_rule: str = eqx.field(static=True)

    def __init__(self, update_rule: str = "delta"):
        """**Arguments:** `update_rule`: ``"delta"`` or ``"contrastive"``."""
        if update_rule not in ("delta", "contrastive"):
            raise ValueError(
                f"`update_rule` must be 'delta' or 'contrastive', got {update_rule!r}."
            )
        self.update_rule = update_rule

    def __call__(self, synapse: S, x: Float[Array, "*batch n_in"]) -> S:
        """**Arguments:** `synapse` (a :class:`~ngcx.synapses.HopfieldMap`); cues `x`.
        **Returns:** updates shaped like `synapse`."""
        mem = _as(synapse, HopfieldMap, "Hopfield")
        s = mem.memory_weights(x)
        x_hat = mem.backtransmit(s)
        if self.update_rule == "delta":
            dW = mem.contract(x - x_hat, s)
        else:
            dW = mem.contract(x, s) - mem.contract(x_hat, mem.memory_weights(x_hat))
        return synapse.updates(dW / _batch_size(x))


class VectorQuantize(AbstractRule):
    r"""Competitive learning of a vector-quantisation codebook (ngc-learn's
    ``VectorQuantizeSynapse`` rule), summed over the batch, with the normalised inputs
    $\tilde x$ and the BMU codes $z_b = e_{c(x_b)}$:

    - ``"kohonen"`` (default; Kohonen's VQ / LVQ1): the winner moves towards the input,
      $\Delta w_c = \sum_b \epsilon_b (\tilde x_b - w_c)$, i.e.
      $\Delta W = C(\epsilon\tilde x, z) - W \operatorname{diag}(\sum_b \epsilon_b z_b)$: a
      stochastic-gradient step on the quantisation error
      $\tfrac12\sum_b\lVert\tilde x_b - w_{c(x_b)}\rVert^2$;
    - ``"hebbian"`` (ngc-learn's): $\Delta W = C(\epsilon\tilde x, z)$, the input is added
      to the winner (no $-w_c$ term, so prototypes grow without ``syn_decay`` or
      ``w_bound``).

    Without labels $\epsilon_b = 1$. With a label memory and `labels` (one-hot or scores,
    ``(*batch, label_dim)``), LVQ1's sign: $\epsilon_b = +1$ when the winner's stored label
    (argmax) equals the sample's, $-1$ otherwise, and $+1$ for a winner with no stored
    label (an all-zero column).
    """

    update_rule: str = eqx.field(static=True)

    def __init__(self, update_rule: str = "kohonen"):
        """**Arguments:** `update_rule`: ``"kohonen"`` or ``"hebbian"`` (ngc-learn's)."""
        if update_rule not in ("kohonen", "hebbian"):
            raise ValueError(f"`update_rule` must be 'kohonen' or 'hebbian', got {update_rule!r}.")
        self.update_rule = update_rule

    def __call__(
        self,
        synapse: S,
        x: Float[Array, "*batch n_in"],
        labels: Float[Array, "*batch label_dim"] | None = None,
    ) -> S:
        """**Arguments:** `synapse` (a :class:`~ngcx.synapses.VectorQuantizeMap`); inputs
        `x`; optional `labels` (needs ``label_dim > 0``). **Returns:** updates shaped like
        `synapse`."""
        vq = _as(synapse, VectorQuantizeMap, "VectorQuantize")
        xt = vq.prepare(x)
        z = vq.winners(x)
        if labels is not None:
            L = vq.label_weights
            if L is None:
                raise ValueError("`labels` needs a synapse with a label memory (label_dim > 0).")
            if labels.shape != (*x.shape[:-1], L.shape[0]):
                raise ValueError(
                    f"`labels` must have shape {(*x.shape[:-1], L.shape[0])}, got {labels.shape}."
                )
            stored = z @ L.T
            exists = jnp.sum(stored, axis=-1, keepdims=True) > 0
            agree = jnp.argmax(labels, axis=-1) == jnp.argmax(stored, axis=-1)
            sign = jnp.where(agree[..., None] | ~exists, 1.0, -1.0).astype(xt.dtype)
            xt, zs = sign * xt, sign * z
        else:
            zs = z
        dW = vq.contract(xt, z)
        if self.update_rule == "kohonen":
            dW = dW - vq.weights * vq.bias_contract(zs)[None, :]
        return synapse.updates(dW)


class ART2A(AbstractRule):
    r"""ART 2-A learning (ngc-learn's ``ART2ASynapse`` rule): a sample *resonates* when its
    winning committed category $c$ matches it well enough, $a_c = \tilde x\cdot w_c \ge
    \rho$ (``vigilance``); the winner of a resonant sample moves as

    $$\Delta w_c = \sum_{b:\ \text{resonant},\ c(x_b) = c} (\tilde x_b - a_c w_c),$$

    a leaky (Oja-like) step towards $\tilde x$ that keeps $\lVert w_c\rVert$ near 1 (with
    the learning rate $\eta$: $w_c \leftarrow w_c + \eta(\tilde x - a_c w_c)$).
    Non-resonant samples create categories: :meth:`consolidate` writes them into free
    slots. Only the winner can resonate (ngc-learn's test $z \ge \rho$ also passes every
    non-winner when $\rho \le 0$; ngcx asks $\rho \in (0, 1]$).
    """

    vigilance: Float[Array, ""]

    def __init__(self, vigilance: Any = 0.3):
        """**Arguments:** `vigilance`: $\\rho \\in (0, 1]$."""
        self.vigilance = param(vigilance, "vigilance", "unit_open")

    def resonance(
        self, synapse: ART2AMap, x: Float[Array, "*batch n_in"]
    ) -> Float[Array, "*batch n_units"]:
        """The one-hot code of the winner for resonant samples, zero rows otherwise."""
        _as(synapse, ART2AMap, "ART2A")
        a = synapse.scores(x)
        c = jnp.argmax(a, axis=-1)
        win = jax.nn.one_hot(c, synapse.n_units, dtype=a.dtype)
        a_c = jnp.take_along_axis(a, c[..., None], axis=-1)
        committed = synapse.used()[c]
        ok = (a_c[..., 0] >= self.vigilance) & (committed > 0)
        return win * ok[..., None].astype(a.dtype)

    def __call__(self, synapse: S, x: Float[Array, "*batch n_in"]) -> S:
        """**Arguments:** `synapse` (a :class:`~ngcx.synapses.ART2AMap`); inputs `x`.
        **Returns:** updates shaped like `synapse`."""
        art = _as(synapse, ART2AMap, "ART2A")
        hits = self.resonance(art, x)
        xt = art.prepare(x)
        a_c = jnp.sum(art.scores(x) * hits, axis=-1, keepdims=True)
        target = xt - a_c * art.backtransmit(hits)
        return synapse.updates(art.contract(target, hits))

    def misses(self, synapse: ART2AMap, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch"]:
        """1 for samples that resonate with no category, 0 otherwise."""
        return 1.0 - jnp.sum(self.resonance(synapse, x), axis=-1)

    def consolidate(
        self,
        synapse: ART2AMap,
        x: Float[Array, "*batch n_in"],
        misses: Any = None,
    ) -> ART2AMap:
        r"""`synapse` with every non-resonant sample's $\tilde x$ written into a free
        slot, in batch order into the free slots in index order (samples beyond the
        capacity are dropped; :meth:`~ngcx.synapses.ART2AMap.grow` makes room). `misses`
        (default: :meth:`misses` of `synapse`) lets a caller use the misses of the map
        before a learning step, as ngc-learn's ``consolidate`` does.

        ngc-learn writes sample $b$ into slot $n_{\text{used}} + b$, which leaves holes
        when a resonant sample sits between misses and then overwrites committed slots
        (its count of used slots assumes them contiguous); ngcx fills the free slots."""
        _as(synapse, ART2AMap, "ART2A")
        xt = synapse.prepare(x).reshape(-1, synapse.shape[0])
        m = self.misses(synapse, x) if misses is None else jnp.asarray(misses, xt.dtype)
        if m.shape != x.shape[:-1]:
            raise ValueError(f"`misses` must have shape {x.shape[:-1]}, got {m.shape}.")
        m = m.reshape(-1) > 0
        used = synapse.used() > 0
        n = synapse.n_units
        free = jnp.argsort(used, stable=True)  # free slots first, in index order
        n_free = n - jnp.sum(used)
        rank = jnp.cumsum(m) - 1
        slot = jnp.where(m & (rank < n_free), free[jnp.clip(rank, 0, n - 1)], n)
        S = jax.nn.one_hot(slot, n, dtype=xt.dtype)  # slot n (dropped) is an all-zero row
        W = synapse.weights + synapse.contract(xt, S)
        return eqx.tree_at(lambda s: s.weights, synapse, W)


# -- learning options as optax transforms -------------------------------------------


class _NoiseState(NamedTuple):
    step: Array
    key: Array


def _add_langevin_noise(
    schedule: Callable[[Array], Array], scale: Array, key: Key
) -> optax.GradientTransformation:
    r"""Step $\leftarrow$ step $+ \zeta\sqrt{2\eta_t}\,\epsilon$ on the weights,
    $\epsilon \sim \mathcal N(0, I)$ (after the optimiser); the key is in the state."""

    def init_fn(params: Any) -> _NoiseState:
        del params
        return _NoiseState(jnp.zeros((), jnp.int32), key)

    def update_fn(updates: Any, state: _NoiseState, params: Any = None) -> tuple[Any, Any]:
        if params is None:
            raise ValueError("the Langevin noise transform needs `params` in `update`.")
        mask = weights_mask(params)
        leaves, treedef = jax.tree_util.tree_flatten(updates)
        new_key, *keys = jax.random.split(state.key, len(leaves) + 1)
        keyed = jax.tree_util.tree_unflatten(treedef, keys)
        amp = scale * jnp.sqrt(2.0 * schedule(state.step))

        def add(u: Any, m: bool, k: Any) -> Any:
            if not m or u is None:
                return u
            return u + (amp * jax.random.normal(k, u.shape, u.dtype)).astype(u.dtype)

        out = jax.tree_util.tree_map(add, updates, mask, keyed)
        return out, _NoiseState(state.step + 1, new_key)

    return optax.GradientTransformation(init_fn, update_fn)


class CompetitiveOptions(eqx.Module):
    r"""The learning options of a competitive synapse, as array leaves; :meth:`transform`
    builds the optax chain that applies a rule's update $u$ (step $t$ = the optax count):

    $$W \leftarrow W + \eta_t\,\big(u - \lambda W\big)\odot(w_{\max} - \lvert W\rvert)
    - \lambda_{\text{leak}} W + \zeta\sqrt{2\eta_t}\,\epsilon,$$

    (each term only when its option is set) with the schedule $\eta_t$:
    ``"constant"`` $\eta$; ``"exponential"`` $\eta\,\gamma^{t + 1}$ (ngc-learn's SOM
    decays the rate before its first update); ``"linear"`` $\eta$ at $t = 0$, then
    $\max(\eta_{\min}, \eta - t\,\delta)$.
    """

    eta: Float[Array, ""]
    eta_decay: Float[Array, ""]
    eta_decrement: Float[Array, ""]
    eta_min: Float[Array, ""]
    w_decay: Float[Array, ""] | None
    leak: Float[Array, ""] | None
    w_bound: Float[Array, ""] | None
    noise_scale: Float[Array, ""] | None
    schedule: str = eqx.field(static=True)

    def __init__(
        self,
        eta: Any,
        schedule: str = "constant",
        *,
        eta_decay: Any = 1.0,
        eta_decrement: Any = 0.0,
        eta_min: Any = 1e-5,
        w_decay: Any = 0.0,
        leak: Any = 0.0,
        w_bound: Any = 0.0,
        noise_scale: Any = 0.0,
    ):
        """**Arguments:**

        - `eta`: learning rate $\\eta \\ge 0$.
        - `schedule`: ``"constant"``, ``"exponential"`` or ``"linear"``.
        - `eta_decay`: $\\gamma \\in (0, 1]$ of the exponential schedule.
        - `eta_decrement`: $\\delta \\ge 0$ and `eta_min` $\\eta_{\\min} \\ge 0$ of the
          linear schedule.
        - `w_decay`: $\\lambda \\ge 0$, decay inside the learning-rate step.
        - `leak`: $\\lambda_{\\text{leak}} \\ge 0$, decay outside it.
        - `w_bound`: $w_{\\max} \\ge 0$ of the soft bound (0: none).
        - `noise_scale`: $\\zeta \\ge 0$ of the Langevin noise (needs a key in
          :meth:`transform`).
        """
        if schedule not in ("constant", "exponential", "linear"):
            raise ValueError(
                f"`schedule` must be 'constant', 'exponential' or 'linear', got {schedule!r}."
            )
        self.eta = param(eta, "eta", "nonnegative")
        self.eta_decay = param(eta_decay, "eta_decay", "unit_open")
        self.eta_decrement = param(eta_decrement, "eta_decrement", "nonnegative")
        self.eta_min = param(eta_min, "eta_min", "nonnegative")
        self.w_decay = None if is_static_zero(w_decay) else param(w_decay, "w_decay", "nonnegative")
        self.leak = None if is_static_zero(leak) else param(leak, "leak", "nonnegative")
        self.w_bound = None if is_static_zero(w_bound) else param(w_bound, "w_bound", "nonnegative")
        self.noise_scale = (
            None
            if is_static_zero(noise_scale)
            else param(noise_scale, "noise_scale", "nonnegative")
        )
        self.schedule = schedule

    def eta_at(self, step: Any) -> Array:
        r"""$\eta_t$ at step `step` (the number of updates applied before)."""
        t = _step(step, self.eta.dtype)
        if self.schedule == "exponential":
            return self.eta * self.eta_decay ** (t + 1.0)
        if self.schedule == "linear":
            late = jnp.maximum(self.eta_min, self.eta - t * self.eta_decrement)
            return jnp.where(t == 0, self.eta, late)
        return self.eta * jnp.ones_like(t)

    def transform(self, key: Key | None = None) -> optax.GradientTransformation:
        """The optax chain (class docstring); `key` seeds the Langevin noise (needed when
        ``noise_scale`` is set)."""
        parts: list[optax.GradientTransformation] = []
        if self.w_decay is not None:
            lam = self.w_decay
            parts.append(_stateless(lambda u, w: u - lam * w, "w_decay"))
        if self.w_bound is not None:
            parts.append(scale_by_soft_bound(self.w_bound))
        parts.append(scale_by_sign(1.0))
        parts.append(optax.sgd(self.eta_at))
        if self.leak is not None:
            leak = self.leak
            parts.append(_stateless(lambda u, w: u - leak * w, "leak"))
        if self.noise_scale is not None:
            if key is None:
                raise ValueError(
                    "`key` is needed for the Langevin noise (langevin_noise_scale > 0), got None."
                )
            parts.append(_add_langevin_noise(self.eta_at, self.noise_scale, key))
        return optax.chain(*parts)


class CompetitivePlasticSynapse(eqx.Module):
    """A competitive map bundled with its rule and learning options (what ngc-learn's
    competitive synapses are; see the module docstring for a learning loop). It responds
    like ``synapse``; ``updates(*activity)`` returns the rule's update shaped like the
    bundle (only the map's ``weights`` are plastic for :func:`ngcx.plasticity.apply_updates`);
    ``optimizer(key=None)`` builds the optax chain; :meth:`consolidate` is ART 2-A's
    category creation. The map's own methods (``bmu``, ``scores``, ``energy``,
    ``retrieve``, ``neighbourhood``, ...) are on ``bundle.synapse``.

    **Fields:** ``synapse`` (an :class:`ngcx.synapses.AbstractCompetitiveSynapse`),
    ``rule`` (an :class:`ngcx.plasticity.AbstractRule`), ``options``
    (:class:`CompetitiveOptions`).
    """

    synapse: AbstractCompetitiveSynapse
    rule: AbstractRule
    options: CompetitiveOptions

    def __call__(self, x: Any, *args: Any) -> Any:
        """The map's response to `x` (a SOM also takes its radius)."""
        return self.synapse(x, *args)

    def backtransmit(self, post: Any) -> Any:
        """The map's decoder."""
        return self.synapse.backtransmit(post)

    def bmu(self, x: Any) -> Array:
        """The best-matching units of `x`."""
        return self.synapse.bmu(x)

    @property
    def weights(self) -> Array:
        return self.synapse.weights

    @property
    def biases(self) -> None:
        return None

    @property
    def shape(self) -> tuple[int, int]:
        return self.synapse.shape

    @property
    def resist_scale(self) -> Array:
        return self.synapse.resist_scale

    @property
    def eta(self) -> Array:
        """The initial learning rate (:meth:`CompetitiveOptions.eta_at` gives $\\eta_t$)."""
        return self.options.eta

    def updates(self, *activity: Any, **kwargs: Any) -> CompetitivePlasticSynapse:
        """The rule's update for `activity` (e.g. ``(x, step)`` for a SOM, ``(x,
        labels)`` for LVQ), shaped like this bundle."""
        upd = self.rule(self.synapse, *activity, **kwargs)
        return eqx.tree_at(lambda p: p.synapse, self, upd)

    def optimizer(self, key: Key | None = None) -> optax.GradientTransformation:
        """The optax chain of :attr:`options` (`key`: the Langevin noise's)."""
        return self.options.transform(key)

    def consolidate(self, x: Any, misses: Any = None) -> CompetitivePlasticSynapse:
        """ART 2-A: this bundle with non-resonant samples of `x` stored as new categories
        (:meth:`ngcx.plasticity.ART2A.consolidate`)."""
        if not isinstance(self.rule, ART2A) or not isinstance(self.synapse, ART2AMap):
            raise TypeError(
                f"`consolidate` needs an ART2A bundle, this rule is {type(self.rule).__name__}."
            )
        new = self.rule.consolidate(self.synapse, x, misses)
        return eqx.tree_at(lambda p: p.synapse, self, new)


# -- ngc-learn's constructors -------------------------------------------------------


def SOMSynapse(
    n_inputs: int,
    n_units_x: int,
    n_units_y: int,
    eta: Any = 0.5,
    distance_function: str = "euclidean",
    neighbor_function: str = "gaussian",
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    tau_eta: Any = 50000.0,
    dtype: Any = None,
) -> CompetitivePlasticSynapse:
    r"""ngc-learn's ``SOMSynapse`` (its arguments and defaults; ``resist_scale`` is its
    ``g_conduct_factor``; ``tau_eta``, fixed at 50000 in ngc-learn, is an argument): a
    :class:`~ngcx.synapses.SOMMap` on an $n_x \times n_y$ grid, the
    :class:`~ngcx.plasticity.SOM` rule and an exponential schedule. With
    $\sigma_0 = \max(n_x, n_y)/2$ and $\tau_\sigma = \tau_\eta / \ln\sigma_0$, update $t$
    uses the radius $\sigma_0(1 - 1/\tau_\sigma)^t$ and the rate
    $\eta(1 - 1/\tau_\eta)^{t+1}$, as ngc-learn (for $\sigma_0 \le 1$ ngc-learn's
    $\tau_\sigma$ is infinite or negative; ngcx keeps the radius fixed).

    ngc-learn builds the grid coordinates correctly only for square maps
    ($n_x = n_y$; otherwise its construction fails); ngcx builds any $n_x \times n_y$ grid.
    """
    som = SOMMap(
        n_inputs, n_units_x, n_units_y, key=key, distance_function=distance_function,
        neighbor_function=neighbor_function, weight_init=weight_init,
        resist_scale=resist_scale, p_conn=p_conn, dtype=dtype,
    )  # fmt: skip
    tau = param(tau_eta, "tau_eta", "positive")
    if isinstance(tau_eta, int | float) and float(tau_eta) <= 1.0:
        raise ValueError(f"`tau_eta` must be > 1 (steps), got {tau_eta}.")
    r0 = max(n_units_x, n_units_y) / 2.0
    log_r0 = jnp.log(jnp.asarray(r0, tau.dtype))
    gamma = 1.0 - log_r0 / tau if r0 > 1.0 else jnp.ones((), tau.dtype)
    if isinstance(tau_eta, int | float) and r0 > 1.0 and not float(gamma) > 0.0:
        raise ValueError(
            f"`tau_eta` must exceed ln(max(n_units_x, n_units_y) / 2) = {float(log_r0):.3g} "
            f"(the radius would shrink by a factor <= 0 per update), got {tau_eta}."
        )
    options = CompetitiveOptions(eta, "exponential", eta_decay=1.0 - 1.0 / tau)
    return CompetitivePlasticSynapse(som, SOM(gamma), options)


def HopfieldSynapse(
    shape: tuple[int, ...],
    eta: Any,
    reg_lambda: Any = 0.0,
    beta: Any = 8.0,
    initial_patterns: ArrayLike | None = None,
    update_rule: str = "delta",
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    dtype: Any = None,
) -> CompetitivePlasticSynapse:
    r"""ngc-learn's ``HopfieldSynapse``: a :class:`~ngcx.synapses.HopfieldMap` (memories
    ``initial_patterns``, inverse temperature `beta`), the
    :class:`~ngcx.plasticity.Hopfield` rule (`update_rule`) and the step
    $W \leftarrow W + \eta\,\Delta W - \lambda W$ (``reg_lambda`` $\lambda$ outside the
    rate, as ngc-learn)."""
    mem = HopfieldMap(
        shape, key=key, beta=beta, initial_patterns=initial_patterns, weight_init=weight_init,
        resist_scale=resist_scale, p_conn=p_conn, dtype=dtype,
    )  # fmt: skip
    options = CompetitiveOptions(eta, "constant", leak=_named(reg_lambda, "reg_lambda"))
    return CompetitivePlasticSynapse(mem, Hopfield(update_rule), options)


def VectorQuantizeSynapse(
    shape: tuple[int, ...],
    eta: Any = 0.3,
    eta_decrement: Any = 0.00001,
    syn_decay: Any = 0.0,
    w_bound: Any = 0.0,
    distance_function: tuple[str, Any] = ("minkowski", 2),
    label_dim: int = 0,
    initial_patterns: tuple[ArrayLike, ArrayLike | None] | None = None,
    langevin_noise_scale: Any = 0.0,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    update_rule: str = "kohonen",
    normalize_inputs: bool = True,
    dtype: Any = None,
) -> CompetitivePlasticSynapse:
    r"""ngc-learn's ``VectorQuantizeSynapse``: a :class:`~ngcx.synapses.VectorQuantizeMap`,
    the :class:`~ngcx.plasticity.VectorQuantize` rule and the step
    $W \leftarrow W + \eta_t(\Delta W - \lambda W)\odot(w_{\max} - \lvert W\rvert)$
    (``syn_decay`` $\lambda$; the soft bound when ``w_bound > 0``) with
    $\eta_t = \max(10^{-5}, \eta - t\,\delta)$ (``eta_decrement`` $\delta$), as
    ngc-learn.

    Differences: the default ``update_rule="kohonen"`` moves the winner towards the input
    (ngc-learn's update, ``"hebbian"``, adds the input to it); the Langevin noise is
    $\zeta\sqrt{2\eta_t}\,\epsilon$ after the rate (``langevin_noise_scale`` $\zeta$, an
    explicit key: ``optimizer(key)``), where ngc-learn adds
    $(\sqrt{2\eta_t} + 2\eta_t\zeta)\,\epsilon$ to $\Delta W$ before the rate.
    """
    vq = VectorQuantizeMap(
        shape, key=key, distance_function=distance_function, label_dim=label_dim,
        initial_patterns=initial_patterns, normalize_inputs=normalize_inputs,
        weight_init=weight_init, resist_scale=resist_scale, p_conn=p_conn, dtype=dtype,
    )  # fmt: skip
    options = CompetitiveOptions(
        eta, "linear", eta_decrement=eta_decrement, w_decay=_named(syn_decay, "syn_decay"),
        w_bound=_named(w_bound, "w_bound"),
        noise_scale=_named(langevin_noise_scale, "langevin_noise_scale"),
    )  # fmt: skip
    return CompetitivePlasticSynapse(vq, VectorQuantize(update_rule), options)


def ART2ASynapse(
    shape: tuple[int, ...],
    eta: Any = 0.05,
    eta_decrement: Any = 0.0,
    vigilance: Any = 0.3,
    *,
    key: Key,
    weight_init: Initializer | None = None,
    resist_scale: Any = 1.0,
    p_conn: Any = 1.0,
    dtype: Any = None,
) -> CompetitivePlasticSynapse:
    r"""ngc-learn's ``ART2ASynapse``: an :class:`~ngcx.synapses.ART2AMap` (empty at
    first; ngc-learn zeroes the weights whatever `weight_init`, ngcx pre-fills them with a
    given `weight_init`), the :class:`~ngcx.plasticity.ART2A` rule (`vigilance`) and the
    step $W \leftarrow W + \eta_t\,\Delta W$ with $\eta_t = \max(10^{-5}, \eta - t\,\delta)$
    (``eta_decrement`` $\delta$). Create categories with ``bundle.consolidate(x)`` (after
    or before the step; ngc-learn's ``consolidate``), ``bundle.synapse.insert`` and
    ``grow``."""
    art = ART2AMap(
        shape, key=key, weight_init=weight_init, resist_scale=resist_scale, p_conn=p_conn,
        dtype=dtype,
    )  # fmt: skip
    options = CompetitiveOptions(eta, "linear", eta_decrement=eta_decrement)
    return CompetitivePlasticSynapse(art, ART2A(vigilance), options)


def _named(value: Any, name: str) -> Any:
    """Check a non-negative option under the user's name (a concrete 0 stays 0)."""
    if is_static_zero(value):
        return 0.0
    return param(value, name, "nonnegative")
