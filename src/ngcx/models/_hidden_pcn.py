r"""A sub-network hidden in a randomly weighted predictive coding network: ngc-museum's
``Hidden_PCN`` exhibit (the PCN of Whittington & Bogacz 2017 whose weights stay at their
random initial values, searched by the edge-popup idea of Ramanujan et al. 2020).

The network is :class:`ngcx.models.PCN` (input $z_0 = x$, hidden rate cells, output
clamped to the label while learning) with fixed weights $W_l$ drawn once from a signed
Kaiming constant distribution ($|W_{ij}| = \sqrt{2/n_\text{in}}$, random sign). Each
synapse also has a score $S_{ij}$; a layer uses only its fraction ``k`` of synapses with
the largest $|S|$, the sub-network mask $M_l = \mathrm{top}_k(|S_l|)$:

$$\mu_l = \phi(z_{l-1})\,(W_l \odot M_l), \qquad
F = \sum_l \tfrac12 \lVert z_l - \mu_l \rVert^2 .$$

One training step settles the latents on a batch as the PCN does (projection, then
``T`` Euler steps of the rate cells, which descend $F$ in $z$) and then changes the
*scores* by the two-factor Hebbian rule times the fixed weight and the score's sign,

$$\Delta S_l = \big(\phi(z_{l-1})^\top e_l\big) \odot W_l \odot \mathrm{sign}(S_l),
\qquad e_l = z_l - \mu_l ,$$

so $|S_{ij}|$ grows when the synapse's own share of the prediction, $\phi(z_{l-1,i})
W_{ij}$, has the sign of the error it should reduce. This is $-\partial F / \partial S$
when the mask's derivative is taken straight through $|S|$ ($\partial M / \partial S
:= \mathrm{sign}(S)$, :func:`popup_mask`): :meth:`HiddenPCN.score_updates` equals
``-jax.grad`` of :meth:`HiddenPCN.energy` with respect to the scores (tested). The
update goes through :func:`ngcx.plasticity.hebbian` (Adam by default), then every mask
is re-selected. The weights never change.

Predictions are the feed-forward pass through the sub-network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import plasticity
from .._checks import check_features, check_same_batch, host_values
from .._custom_types import Key
from .._params import param
from ..initializers import DistributionGenerator
from ._pcn import PCN


__all__ = ["HiddenPCN", "HiddenPCNMetrics", "popup_mask"]


@jax.custom_jvp
def _popup(scores: Array, k: Array) -> Array:
    mag = jnp.abs(scores).ravel()
    n_keep = jnp.clip(jnp.floor(k * mag.size), 1, mag.size).astype(jnp.int32)
    kth = jnp.sort(mag)[::-1][n_keep - 1]
    return (jnp.abs(scores) >= kth).astype(scores.dtype)


@_popup.defjvp
def _popup_jvp(primals: Any, tangents: Any) -> tuple[Array, Array]:
    (scores, k), (ds, _) = primals, tangents
    return _popup(scores, k), jnp.sign(scores) * ds


def popup_mask(scores: Float[Array, "n_in n_out"], k: Any) -> Float[Array, "n_in n_out"]:
    r"""The edge-popup sub-network: 1 for the ``max(1, floor(k * size))`` synapses with the
    largest $|S|$ (ties at the threshold all kept), 0 elsewhere.

    Its derivative is taken straight through $|S|$: $\partial M/\partial S :=
    \mathrm{sign}(S)$ (a ``jax.custom_jvp``), which makes the Hebbian score rule of
    :class:`HiddenPCN` the negative gradient of the energy; none flows to `k`.

    **Arguments:** `scores`: shape `(n_in, n_out)`; `k`: the kept fraction, in $(0, 1]$
    (a number or a scalar array, traced values included: a sweep over `k` is a ``vmap``).
    """
    return _popup(scores, _check_k(k).astype(scores.dtype))


def _check_k(k: Any) -> Array:
    value = param(k, "k", "positive")
    host = host_values(k)
    if host is not None and not (host <= 1).all():
        raise ValueError(f"`k` must be a number in (0, 1], got {k!r}.")
    return value


class HiddenPCNMetrics(eqx.Module):
    """Per-step training figures: ``energy`` (mean free energy per sample after the
    E-step) and ``turnover`` (fraction of the kept synapses that changed in this step's
    re-selection, the exhibit's "structural plasticity")."""

    energy: Float[Array, ""]
    turnover: Float[Array, ""]


class HiddenPCN(eqx.Module):
    """A PCN whose fixed random weights are pruned to a learned sub-network (see the
    module docstring).

    Fields: ``pcn`` (a :class:`ngcx.models.PCN` without biases that holds the fixed
    weights, the rate cells, ``T``, ``dt`` and ``eta``), ``scores`` (one array per
    synapse, shaped like its weights) and the kept fraction ``k`` (an array leaf).
    """

    pcn: PCN
    scores: tuple[Float[Array, "_ _"], ...]
    k: Float[Array, ""]

    def __init__(
        self,
        sizes: Sequence[int] = (64, 256, 256, 10),
        *,
        key: Key,
        k: float = 0.5,
        T: int = 20,
        tau_m: Any = 25.0,
        dt: Any = 1.0,
        act_fx: str = "relu",
        eta: Any = 1e-3,
        optim_type: str = "adam",
        gain: Any = 2.0**0.5,
    ):
        r"""**Arguments:**

        - `sizes`: layer sizes, input first, output last (at least 2).
        - `key`: PRNG key of the weights' signs and the initial scores.
        - `k`: the fraction of synapses kept in each layer, in $(0, 1]$ (an array leaf).
        - `T`, `tau_m`, `dt`, `act_fx`: the E-step (as :class:`ngcx.models.PCN`; the
          exhibit's ``tau_m`` is 25 ms).
        - `eta`, `optim_type`: the scores' learning rate and optimiser (``"sgd"``,
          ``"adam"``, ``"nag"``).
        - `gain`: the weights' magnitude is ``gain / sqrt(fan_in)`` (> 0; the exhibit's
          signed Kaiming constant, $\sqrt 2$).
        """
        k_leaf = _check_k(k)
        g = param(gain, "gain", "positive")
        wkey, skey = jax.random.split(key)
        pcn = PCN(
            sizes,
            key=wkey,
            T=T,
            tau_m=tau_m,
            dt=dt,
            act_fx=act_fx,
            eta=eta,
            optim_type=optim_type,
            use_bias=False,
        )
        signed = []
        for syn, sk in zip(pcn.synapses, jax.random.split(wkey, len(pcn.synapses)), strict=True):
            n_in = syn.weights.shape[0]
            sign = jax.random.rademacher(jax.random.fold_in(sk, 7), syn.weights.shape)
            w = (g / jnp.sqrt(jnp.asarray(n_in, g.dtype))) * sign.astype(g.dtype)
            signed.append(eqx.tree_at(lambda s: s.weights, syn, w))
        self.pcn = eqx.tree_at(lambda m: m.synapses, pcn, tuple(signed))
        init = DistributionGenerator.fan_in_uniform()
        self.scores = tuple(
            init(sk, syn.weights.shape)
            for sk, syn in zip(jax.random.split(skey, len(signed)), signed, strict=True)
        )
        self.k = k_leaf

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.pcn.sizes

    def masks(self) -> tuple[Float[Array, "_ _"], ...]:
        """Every layer's sub-network mask $M_l$ (0/1, :func:`popup_mask`)."""
        return tuple(popup_mask(s, self.k) for s in self.scores)

    def subnetwork(self) -> PCN:
        """The PCN that uses only the sub-network: weights $W_l \\odot M_l$."""
        syns = tuple(
            eqx.tree_at(lambda s: s.weights, syn, syn.weights * m)
            for syn, m in zip(self.pcn.synapses, self.masks(), strict=True)
        )
        return eqx.tree_at(lambda m: m.synapses, self.pcn, syns)

    def predict(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """The feed-forward output of the sub-network."""
        check_features(x, "x", self.sizes[0], "HiddenPCN.predict")
        return self.subnetwork().projection(x)[-1]

    def infer(
        self, x: Float[Array, "*batch n_in"], y: Float[Array, "*batch n_out"]
    ) -> tuple[Array, ...]:
        """E-step of the sub-network with `y` clamped: the settled hidden states."""
        self._check_xy(x, y, "HiddenPCN.infer")
        return self.subnetwork().infer(x, y)[0]

    def energy(
        self,
        x: Float[Array, "*batch n_in"],
        y: Float[Array, "*batch n_out"],
        zs: Sequence[Float[Array, "*batch _"]],
    ) -> Float[Array, ""]:
        r"""Free energy $F$ of the sub-network at hidden states `zs` (summed over the batch);
        differentiable in ``scores`` through :func:`popup_mask`."""
        self._check_xy(x, y, "HiddenPCN.energy")
        return self.subnetwork().energy(x, y, zs)

    def score_updates(
        self,
        x: Float[Array, "*batch n_in"],
        y: Float[Array, "*batch n_out"],
        zs: Sequence[Float[Array, "*batch _"]],
    ) -> tuple[Float[Array, "_ _"], ...]:
        r"""The Hebbian score rule $\Delta S_l = (\phi(z_{l-1})^\top e_l) \odot W_l \odot
        \mathrm{sign}(S_l)$ at hidden states `zs` (shaped like ``scores``)."""
        self._check_xy(x, y, "HiddenPCN.score_updates")
        hebb = self.subnetwork().hebbian_updates(x, y, zs)
        return tuple(
            h.weights * syn.weights * jnp.sign(s)
            for h, syn, s in zip(hebb, self.pcn.synapses, self.scores, strict=True)
        )

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain that applies the score rule (:func:`ngcx.plasticity.hebbian`
        with the PCN's ``eta`` and ``optim_type``)."""
        return plasticity.hebbian(self.pcn.eta, self.pcn.optim_type, sign=1.0)

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``scores``."""
        opt = self.optimizer() if optimizer is None else optimizer
        with jax.numpy_dtype_promotion("standard"):
            return opt.init(self.scores)

    def train_step(
        self,
        opt_state: Any,
        x: Float[Array, "batch n_in"],
        y: Float[Array, "batch n_out"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[HiddenPCN, Any, HiddenPCNMetrics]:
        """E-step, then the score update and re-selection of every layer's sub-network.
        Pure: returns ``(model, opt_state, metrics)``; jit it once, closing over the
        optimiser."""
        self._check_xy(x, y, "HiddenPCN.train_step")
        opt = self.optimizer() if optimizer is None else optimizer
        zs = self.infer(x, y)
        energy = self.energy(x, y, zs) / x.shape[0]
        dS = self.score_updates(x, y, zs)
        with jax.numpy_dtype_promotion("standard"):
            steps, opt_state = opt.update(dS, opt_state, self.scores)
            scores = optax.apply_updates(self.scores, steps)
        old = self.masks()
        model = eqx.tree_at(lambda m: m.scores, self, tuple(scores))
        new = model.masks()
        changed = jnp.sum(
            jnp.stack([jnp.sum(jnp.abs(a - b)) for a, b in zip(old, new, strict=True)])
        )
        kept = jnp.sum(jnp.stack([jnp.sum(m) for m in new]))
        return model, opt_state, HiddenPCNMetrics(energy, 0.5 * changed / kept)

    def _check_xy(self, x: Any, y: Any, where: str) -> None:
        check_features(x, "x", self.sizes[0], where)
        check_features(y, "y", self.sizes[-1], where)
        check_same_batch(x, y, ("x", "y"), where)
