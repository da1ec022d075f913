r"""The self-organising map (Kohonen 1982, 1990): ngc-museum's ``self_organizing_map``.

$n = n_x n_y$ prototypes $w_j$ (the columns of a :class:`~ngcx.synapses.SOMMap`) sit on
a rectangular grid at positions $p_j$. For each sample $x$, presented one at a time
(online, as the museum), the best-matching unit $c = \arg\min_j\lVert x - w_j\rVert$ and
its grid neighbours move towards the sample:

$$w_j \leftarrow w_j + \eta_t\,h_{cj}(t)\,(x - w_j), \qquad
h_{cj}(t) = \exp\!\Big(-\frac{\lVert p_j - p_c\rVert^2}{2\sigma_t^2}\Big)$$

(:class:`~ngcx.plasticity.SOM`). The museum's schedule is ngc-learn's ``SOMSynapse``
(:func:`ngcx.plasticity.SOMSynapse`): with $\sigma_0 = \max(n_x, n_y)/2$ and a time
constant $\tau_\eta$ (updates),

$$\eta_t = \eta\,(1 - 1/\tau_\eta)^{t + 1}, \qquad
\sigma_t = \sigma_0\,\big(1 - \ln\sigma_0/\tau_\eta\big)^{t} \approx \sigma_0^{\,1 - t/\tau_\eta},$$

so the radius reaches one grid step after $\tau_\eta$ updates while the learning rate has
fallen by $e$. The museum trains a 15x15 map on MNIST for 5 epochs (300,000 updates, about
$6\tau_\eta$ with ngc-learn's fixed $\tau_\eta = 50{,}000$), $\eta = 0.5$, prototypes
drawn uniformly from $[0, 1]$. The neighbourhood makes neighbouring prototypes similar:
the map is *topographically ordered*.

Figures of merit (:meth:`SelfOrganizingMap.quantization_error`,
:meth:`~SelfOrganizingMap.topographic_error`, :meth:`~SelfOrganizingMap.neighbour_ratio`,
:meth:`~SelfOrganizingMap.label_map`): how far samples lie from their BMU, how often a
sample's two best units are not grid neighbours, and how close neighbouring prototypes
are compared with random pairs.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float, Int

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from ..initializers import DistributionGenerator, Initializer
from ..plasticity import CompetitivePlasticSynapse, SOMSynapse
from ..synapses import SOMMap


__all__ = ["SelfOrganizingMap", "SOMState"]


class SOMState(eqx.Module):
    """Learning state of a :class:`SelfOrganizingMap`: the optax state of its schedule
    (``opt_state``) and the number of updates applied so far (``step``, the $t$ of the
    radius $\\sigma_t$)."""

    opt_state: Any
    step: Int[Array, ""]


class SelfOrganizingMap(eqx.Module):
    """A self-organising map trained online (see the module docstring).

    Wraps ngc-learn's ``SOMSynapse`` as ngcx builds it (:func:`ngcx.plasticity.SOMSynapse`:
    a :class:`~ngcx.synapses.SOMMap`, the :class:`~ngcx.plasticity.SOM` rule and the
    exponential schedules of :class:`~ngcx.plasticity.CompetitiveOptions`). ``eta``,
    ``tau_eta`` and the radius are array leaves of ``som``.
    """

    som: CompetitivePlasticSynapse

    def __init__(
        self,
        n_inputs: int,
        n_units_x: int = 15,
        n_units_y: int = 15,
        *,
        key: Key,
        eta: Any = 0.5,
        tau_eta: Any = 50000.0,
        distance_function: str = "euclidean",
        neighbor_function: str = "gaussian",
        weight_init: Initializer | None = None,
    ):
        """**Arguments:**

        - `n_inputs`: input size; `n_units_x`, `n_units_y`: the grid (the museum's 15x15).
        - `key`: PRNG key of the prototypes.
        - `eta`: initial learning rate $\\eta \\ge 0$ (the museum's 0.5).
        - `tau_eta`: time constant $\\tau_\\eta > 1$ of both schedules, in updates
          (ngc-learn's fixed 50,000, for 300,000 MNIST updates; scale it with the number
          of updates, e.g. ``updates / 6``).
        - `distance_function`: ``"euclidean"``, ``"manhattan"`` or ``"cosine"``;
          `neighbor_function`: ``"gaussian"`` or ``"ricker"``.
        - `weight_init`: prototypes' initialiser (default: uniform on $[0, 1]$, the
          museum's).
        """
        init = DistributionGenerator.uniform(0.0, 1.0) if weight_init is None else weight_init
        self.som = SOMSynapse(
            n_inputs, n_units_x, n_units_y, eta=eta, distance_function=distance_function,
            neighbor_function=neighbor_function, key=key, weight_init=init, tau_eta=tau_eta,
        )  # fmt: skip

    # -- structure -------------------------------------------------------------------

    @property
    def map(self) -> SOMMap:
        """The :class:`~ngcx.synapses.SOMMap`."""
        assert isinstance(self.som.synapse, SOMMap)
        return self.som.synapse

    @property
    def prototypes(self) -> Float[Array, "n_in n_units"]:
        """The prototypes, one column per unit (unit $k = i\\,n_y + j$ at grid $(i, j)$)."""
        return self.map.weights

    @property
    def grid_shape(self) -> tuple[int, int]:
        return self.map.n_units_x, self.map.n_units_y

    @property
    def n_inputs(self) -> int:
        return self.map.shape[0]

    def radius_at(self, step: Any) -> Array:
        """The neighbourhood radius $\\sigma_t$ after `step` updates."""
        rule = self.som.rule
        assert isinstance(rule, plasticity.SOM)
        return rule.radius(self.map, step)

    def eta_at(self, step: Any) -> Array:
        """The learning rate $\\eta_t$ of update `step`."""
        return self.som.options.eta_at(step)

    # -- responses --------------------------------------------------------------------

    def bmu(self, x: Float[ArrayLike, "*batch n_in"]) -> Int[Array, "*batch"]:
        """The best-matching units of `x`."""
        check_features(x, "x", self.n_inputs, "SelfOrganizingMap.bmu")
        x = jnp.asarray(x)
        return self.map.bmu(x)

    def quantization_error(self, x: Float[ArrayLike, "batch n_in"]) -> Float[Array, ""]:
        r"""Mean distance of the samples to their BMU's prototype,
        $\frac1N\sum_i \min_j d_j(x_i)$ (the map's distance function)."""
        check_features(x, "x", self.n_inputs, "SelfOrganizingMap.quantization_error", rank=2)
        x = jnp.asarray(x)
        return jnp.mean(jnp.min(self.map.distances(x), axis=-1))

    def topographic_error(self, x: Float[ArrayLike, "batch n_in"]) -> Float[Array, ""]:
        """The share of samples whose best and second-best units are not grid neighbours
        (grid distance 1: the 4-neighbourhood). 0 for a perfectly ordered map."""
        check_features(x, "x", self.n_inputs, "SelfOrganizingMap.topographic_error", rank=2)
        x = jnp.asarray(x)
        _, top = jax.lax.top_k(-self.map.distances(x), 2)
        coords = self.map.coords
        gap = jnp.sum(jnp.abs(coords[top[:, 0]] - coords[top[:, 1]]), axis=-1)
        return jnp.mean((gap > 1.5).astype(x.dtype))

    def neighbour_ratio(self) -> Float[Array, ""]:
        r"""Mean prototype distance $\lVert w_i - w_j\rVert$ over grid neighbours (the
        4-neighbourhood) divided by the mean over all pairs of distinct units: about 1 for
        an unordered map, well below 1 for an ordered one."""
        W = self.prototypes.T
        sq = jnp.sum(W * W, axis=1)
        d = jnp.sqrt(jnp.maximum(sq[:, None] + sq[None, :] - 2.0 * W @ W.T, 0.0))
        coords = self.map.coords
        grid = jnp.sum(jnp.abs(coords[:, None, :] - coords[None, :, :]), axis=-1)
        n = W.shape[0]
        adjacent = ((grid > 0.5) & (grid < 1.5)).astype(d.dtype)
        mean_adj = jnp.sum(adjacent * d) / jnp.maximum(jnp.sum(adjacent), 1.0)
        mean_all = jnp.sum(d) / (n * (n - 1))
        return mean_adj / mean_all

    def label_map(
        self, x: Float[ArrayLike, "batch n_in"], labels: Int[ArrayLike, " batch"], n_classes: int
    ) -> Int[Array, " n_units"]:
        """Each unit's majority label among the samples `x` it wins (-1 for a unit that
        wins none); ties go to the smaller label."""
        check_features(x, "x", self.n_inputs, "SelfOrganizingMap.label_map", rank=2)
        x = jnp.asarray(x)
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"`n_classes` must be an int >= 1, got {n_classes!r}.")
        labels = jnp.asarray(labels)
        wins = jax.nn.one_hot(self.bmu(x), self.map.n_units, dtype=x.dtype)
        onehot = jax.nn.one_hot(labels, n_classes, dtype=x.dtype)
        counts = onehot.T @ wins  # (n_classes, n_units)
        label = jnp.argmax(counts, axis=0)
        return jnp.where(jnp.sum(counts, axis=0) > 0, label, -1)

    def predict_labels(
        self, x: Float[ArrayLike, "batch n_in"], unit_labels: Int[ArrayLike, " n_units"]
    ) -> Int[Array, " batch"]:
        """The label of each sample's best-matching unit among the labelled units
        (``unit_labels >= 0``, from :meth:`label_map`)."""
        check_features(x, "x", self.n_inputs, "SelfOrganizingMap.predict_labels", rank=2)
        x = jnp.asarray(x)
        unit_labels = jnp.asarray(unit_labels)
        scores = jnp.where(unit_labels[None, :] >= 0, self.map.scores(x), -jnp.inf)
        return unit_labels[jnp.argmax(scores, axis=-1)]

    # -- learning -----------------------------------------------------------------------

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of the learning-rate schedule."""
        return self.som.optimizer()

    def init_state(self, optimizer: optax.GradientTransformation | None = None) -> SOMState:
        """The learning state before the first update."""
        opt = self.optimizer() if optimizer is None else optimizer
        return SOMState(plasticity.init(opt, self.som), jnp.zeros((), jnp.int32))

    def update(
        self,
        state: SOMState,
        x: Float[ArrayLike, "*batch n_in"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[SelfOrganizingMap, SOMState]:
        """One update with `x`: one sample ``(n_in,)`` (online, as the museum) or the
        average of the rule over a batch. Pure: returns ``(model, state)``."""
        check_features(x, "x", self.n_inputs, "SelfOrganizingMap.update")
        x = jnp.asarray(x)
        opt = self.optimizer() if optimizer is None else optimizer
        upd = self.som.updates(x, step=state.step)
        som, opt_state = plasticity.apply_updates(self.som, upd, state.opt_state, opt)
        model = eqx.tree_at(lambda m: m.som, self, som)
        return model, SOMState(opt_state, state.step + 1)

    def fit_online(
        self,
        state: SOMState,
        xs: Float[ArrayLike, "n n_in"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[SelfOrganizingMap, SOMState]:
        """One online update per sample of `xs`, in order (a ``lax.scan``)."""
        check_features(xs, "xs", self.n_inputs, "SelfOrganizingMap.fit_online", rank=2)
        xs = jnp.asarray(xs)
        opt = self.optimizer() if optimizer is None else optimizer
        params, static = eqx.partition(self, eqx.is_array)

        def body(carry, x):
            p, s = carry
            model, s = eqx.combine(p, static).update(s, x, opt)
            return (eqx.partition(model, eqx.is_array)[0], s), None

        (params, state), _ = jax.lax.scan(body, (params, state), xs)
        return eqx.combine(params, static), state
