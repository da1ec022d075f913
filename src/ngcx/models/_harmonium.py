r"""The harmonium (restricted Boltzmann machine) of ngc-museum's ``harmonium`` exhibit.

Binary visible units $v \in \{0, 1\}^{n_v}$ and hidden units $h \in \{0, 1\}^{n_h}$ with
the energy

$$E(v, h) = -v^\top c - h^\top b - v^\top W h, \qquad p(v, h) \propto e^{-E(v, h)},$$

the weights $W$ and hidden biases $b$ held by one :class:`DenseSynapse` (``synapse``,
shape ``(n_v, n_h)``; its transpose carries the top-down pass, so the two directions
are tied) and the visible biases $c$ a leaf of the model. The conditionals factorise,

$$p(h_j = 1 \mid v) = \mathrm{sigmoid}(vW + b)_j, \qquad
p(v_i = 1 \mid h) = \mathrm{sigmoid}(hW^\top + c)_i,$$

and two :class:`BernoulliCell` s draw the binary states from them with explicit keys.
The free energy is $\mathcal F(v) = -\log\sum_h e^{-E(v, h)}
= -v^\top c - \sum_j \mathrm{softplus}(vW + b)_j$, and the gradient of the
log-likelihood of data $v$ is

$$\frac{\partial \log p(v)}{\partial W} = v^\top p(h \mid v) -
\mathbb E_{p(v', h)}\big[v'^\top h\big],$$

a data-driven ("positive") Hebbian term minus a model-driven ("negative") one.

**Contrastive divergence** (CD-$k$, Hinton 2002; :meth:`Harmonium.cd_updates`) replaces
the model expectation by the end of a $k$-step block Gibbs chain started at the data:
$h_0 \sim p(h \mid v_0)$, then $k$ times $v \sim p(v \mid h)$,
$h \sim p(h \mid v)$, with the statistics taken on the probabilities of the hidden units
(Rao-Blackwellised). As $k \to \infty$ the chain reaches the model distribution and the
expected CD update is the exact gradient. By default the visible units of the chain are
their probabilities (``sample_visible=False``: the museum's mean-field reconstruction,
less noisy); ``sample_visible=True`` runs the exact Gibbs chain. The museum's weight
priors enter the update: $-\lambda_1\,\mathrm{sign}(W) - \tfrac12\lambda_2 W$
(``l1``, ``l2``). The updates (ascent directions, averaged over the batch) go through the
optimiser of :meth:`Harmonium.optimizer` (Adam at ``eta`` by default, as the museum).
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import plasticity
from .._checks import check_features
from .._custom_types import Key
from .._params import param
from ..cells import BernoulliCell
from ..initializers import DistributionGenerator
from ..synapses import DenseSynapse


__all__ = ["Harmonium", "HarmoniumMetrics"]


class HarmoniumMetrics(eqx.Module):
    """Per-step training figures: ``recon_error``, the squared error per sample of the
    chain's first reconstruction $p(v \\mid h_0)$; ``free_energy``, the mean free energy
    of the batch (before the update)."""

    recon_error: Float[Array, ""]
    free_energy: Float[Array, ""]


def _trainable(model: Harmonium) -> Any:
    """A filter spec: ``True`` at ``W``, ``b`` and ``c``."""
    spec = jax.tree_util.tree_map(lambda _: False, model)
    return eqx.tree_at(
        lambda m: (m.synapse.weights, m.synapse.biases, m.visible_biases),
        spec,
        (True, True, True),
    )


class Harmonium(eqx.Module):
    """Bernoulli-Bernoulli restricted Boltzmann machine (see the module docstring).

    **Fields:** ``synapse`` (weights $W$ of shape ``(n_visible, n_hidden)`` and hidden
    biases $b$), ``visible_biases`` $c$ (shape ``(n_visible,)``), the stochastic cells
    ``visible`` and ``hidden`` (:class:`BernoulliCell`), the learning options ``eta``,
    ``l1``, ``l2`` (array leaves), and the static ``k`` (CD steps), ``optim_type`` and
    ``sample_visible``. Methods take a batch (leading axis) or a single sample.
    """

    synapse: DenseSynapse
    visible_biases: Float[Array, " n_visible"]
    visible: BernoulliCell
    hidden: BernoulliCell
    eta: Float[Array, ""]
    l1: Float[Array, ""]
    l2: Float[Array, ""]
    k: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)
    sample_visible: bool = eqx.field(static=True)

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        *,
        key: Key,
        k: int = 1,
        eta: Any = 1e-3,
        optim_type: str = "adam",
        l1: Any = 0.0,
        l2: Any = 0.01,
        weight_std: Any = 0.01,
        hidden_bias: Any = -4.0,
        sample_visible: bool = False,
    ):
        """**Arguments:**

        - `n_visible`, `n_hidden`: numbers of units (positive ints).
        - `key`: PRNG key of the initial weights.
        - `k`: CD steps (static int >= 1).
        - `eta` (>= 0), `optim_type` (``"sgd"``, ``"adam"``, ``"nag"``): the optimiser.
        - `l1`, `l2` (>= 0): strengths of the Laplacian and Gaussian weight priors.
        - `weight_std` (> 0): standard deviation of the initial Gaussian weights.
        - `hidden_bias`: initial hidden biases (the museum's -4 favours sparse hiddens).
        - `sample_visible`: sample the chain's visible units instead of using their
          probabilities (static).

        The visible biases start at 0; :meth:`init_visible_biases` sets them from data.
        """
        for name, n in (("n_visible", n_visible), ("n_hidden", n_hidden)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"`{name}` must be a positive int, got {n!r}.")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"`k` must be an int >= 1, got {k!r}.")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        std = param(weight_std, "weight_std", "positive")
        bias = param(hidden_bias, "hidden_bias")
        unit = DenseSynapse(
            (n_visible, n_hidden),
            key=key,
            weight_init=DistributionGenerator.gaussian(0.0, 1.0),
            use_bias=True,
        )
        dtype = unit.weights.dtype
        assert unit.biases is not None
        self.synapse = eqx.tree_at(
            lambda s: (s.weights, s.biases),
            unit,
            (std.astype(dtype) * unit.weights, unit.biases + bias.astype(dtype)),
        )
        self.visible_biases = jnp.zeros((n_visible,), self.synapse.weights.dtype)
        self.visible = BernoulliCell(n_visible)
        self.hidden = BernoulliCell(n_hidden)
        self.eta = param(eta, "eta", "nonnegative")
        self.l1 = param(l1, "l1", "nonnegative")
        self.l2 = param(l2, "l2", "nonnegative")
        self.k = k
        self.optim_type = optim_type
        self.sample_visible = bool(sample_visible)

    @property
    def n_visible(self) -> int:
        return self.synapse.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.synapse.shape[1]

    def init_visible_biases(self, x: Float[Array, "n n_visible"]) -> Harmonium:
        r"""The model with $c_i = \log\frac{p_i}{1 - p_i}$, $p_i$ the mean of pixel $i$
        over ``x`` clipped to $[0.01, 0.99]$ (Hinton's practical guide; the museum's)."""
        check_features(x, "x", self.n_visible, "Harmonium.init_visible_biases", rank=2)
        p = jnp.clip(jnp.mean(x, axis=0), 0.01, 0.99).astype(self.visible_biases.dtype)
        return eqx.tree_at(lambda m: m.visible_biases, self, jnp.log(p) - jnp.log1p(-p))

    # -- the model ----------------------------------------------------------------------

    def energy(
        self, v: Float[Array, "*batch n_visible"], h: Float[Array, "*batch n_hidden"]
    ) -> Float[Array, "*batch"]:
        """$E(v, h)$ per sample."""
        check_features(v, "v", self.n_visible, "Harmonium.energy")
        check_features(h, "h", self.n_hidden, "Harmonium.energy")
        vWh = jnp.sum((v @ self.synapse.weights) * h, axis=-1)
        assert self.synapse.biases is not None
        return -(v @ self.visible_biases) - (h @ self.synapse.biases) - vWh

    def free_energy(self, v: Float[Array, "*batch n_visible"]) -> Float[Array, "*batch"]:
        r"""$\mathcal F(v) = -v^\top c - \sum_j \mathrm{softplus}(vW + b)_j$ per sample
        ($-\log p(v)$ up to the log partition function)."""
        check_features(v, "v", self.n_visible, "Harmonium.free_energy")
        return -(v @ self.visible_biases) - jnp.sum(jax.nn.softplus(self.synapse(v)), axis=-1)

    def hidden_probs(self, v: Float[Array, "*batch n_visible"]) -> Float[Array, "*batch n_hidden"]:
        """$p(h = 1 \\mid v)$."""
        return jax.nn.sigmoid(self.synapse(v))

    def visible_probs(self, h: Float[Array, "*batch n_hidden"]) -> Float[Array, "*batch n_visible"]:
        """$p(v = 1 \\mid h)$ (through the transposed weights)."""
        c = self.visible_biases
        return jax.nn.sigmoid(
            self.synapse.backtransmit(h) + c.reshape((1,) * (h.ndim - 1) + c.shape)
        )

    def _draw(self, cell: BernoulliCell, p: Array, key: Key) -> Array:
        return cell.encode(p, 1, key=key)[0]

    def reconstruct(self, x: Float[Array, "*batch n_visible"]) -> Float[Array, "*batch n_visible"]:
        """Mean-field reconstruction $p(v \\mid h)$ at $h = p(h \\mid x)$."""
        check_features(x, "x", self.n_visible, "Harmonium.reconstruct")
        return self.visible_probs(self.hidden_probs(x))

    def gibbs(
        self, key: Key, v: Float[Array, "*batch n_visible"], n_steps: int
    ) -> tuple[Array, Array, Array]:
        """`n_steps` (>= 1) steps of block Gibbs sampling from visible states ``v``: each
        draws $h \\sim p(h \\mid v)$ then $v \\sim p(v \\mid h)$ (its probabilities when
        ``sample_visible`` is off). **Returns:** ``(v, pv, h)``: the final visible states,
        their probabilities and the hidden states that produced them."""
        if not isinstance(n_steps, int) or isinstance(n_steps, bool) or n_steps < 1:
            raise ValueError(f"`n_steps` must be an int >= 1, got {n_steps!r}.")

        def step(carry, k):
            v, _, _ = carry
            kh, kv = jax.random.split(k)
            h = self._draw(self.hidden, self.hidden_probs(v), kh)
            pv = self.visible_probs(h)
            v = self._draw(self.visible, pv, kv) if self.sample_visible else pv
            return (v, pv, h), None

        h0 = jnp.zeros((*v.shape[:-1], self.n_hidden), v.dtype)
        (v, pv, h), _ = jax.lax.scan(step, (v, v, h0), jax.random.split(key, n_steps))
        return v, pv, h

    def sample(self, key: Key, n: int, n_gibbs: int = 1000) -> Float[Array, "n n_visible"]:
        """`n` samples: chains started from $v \\sim p(v \\mid h = 0)$ (the visible
        biases alone) run `n_gibbs` block Gibbs steps; returns the last visible
        probabilities $p(v \\mid h)$, shape ``(n, n_visible)``."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"`n` must be a positive int, got {n!r}.")
        k0, k1 = jax.random.split(key)
        p0 = jnp.broadcast_to(jax.nn.sigmoid(self.visible_biases), (n, self.n_visible))
        v0 = self._draw(self.visible, p0, k0)
        _, pv, _ = self.gibbs(k1, v0, n_gibbs)
        return pv

    # -- learning -----------------------------------------------------------------------

    def cd_updates(
        self, x: Float[Array, "batch n_visible"], key: Key
    ) -> tuple[Harmonium, HarmoniumMetrics]:
        r"""CD-$k$ updates on a batch (ascent directions, batch means, shaped like the
        model with zeros outside $W$, $b$, $c$):

        $$\Delta W = \langle v_0^\top p_0\rangle - \langle v_k^\top p_k\rangle
        - \lambda_1\mathrm{sign}(W) - \tfrac12\lambda_2 W, \quad
        \Delta b = \langle p_0 - p_k\rangle, \quad \Delta c = \langle v_0 - v_k\rangle,$$

        with $p_t = p(h \mid v_t)$, $v_0 = x$ and $v_k$ the chain's visible state after
        $k$ steps (see the module docstring). **Returns:** ``(updates, metrics)``."""
        check_features(x, "x", self.n_visible, "Harmonium.cd_updates", rank=2)
        n = x.shape[0]
        p0 = self.hidden_probs(x)
        kh, kc = jax.random.split(key)
        h0 = self._draw(self.hidden, p0, kh)
        pv1 = self.visible_probs(h0)
        kv, kc = jax.random.split(kc)
        v1 = self._draw(self.visible, pv1, kv) if self.sample_visible else pv1
        vk = self.gibbs(kc, v1, self.k - 1)[0] if self.k > 1 else v1
        pk = self.hidden_probs(vk)
        W = self.synapse.weights
        dW = (self.synapse.contract(x, p0) - self.synapse.contract(vk, pk)) / n
        dW = dW - self.l1.astype(W.dtype) * jnp.sign(W) - 0.5 * self.l2.astype(W.dtype) * W
        db = jnp.mean(p0 - pk, axis=0)
        dc = jnp.mean(x - vk, axis=0)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, eqx.filter(self, eqx.is_inexact_array))
        updates = eqx.tree_at(
            lambda m: (m.synapse.weights, m.synapse.biases, m.visible_biases), zeros, (dW, db, dc)
        )
        metrics = HarmoniumMetrics(
            recon_error=jnp.sum(jnp.square(x - pv1)) / n,
            free_energy=jnp.mean(self.free_energy(x)),
        )
        return updates, metrics

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain that ascends the CD updates (:func:`ngcx.plasticity.hebbian`
        with ``eta`` and ``optim_type``)."""
        return plasticity.hebbian(self.eta, self.optim_type, sign=1.0)

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for $W$, $b$ and $c$."""
        opt = self.optimizer() if optimizer is None else optimizer
        with jax.numpy_dtype_promotion("standard"):  # optax's int32 step count
            return opt.init(eqx.filter(self, _trainable(self)))

    def train_step(
        self,
        opt_state: Any,
        x: Float[Array, "batch n_visible"],
        key: Key,
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[Harmonium, Any, HarmoniumMetrics]:
        """One CD-$k$ step on a batch. Pure: returns ``(model, opt_state, metrics)``."""
        opt = self.optimizer() if optimizer is None else optimizer
        updates, metrics = self.cd_updates(x, key)
        spec = _trainable(self)
        params = eqx.filter(self, spec)
        with jax.numpy_dtype_promotion("standard"):
            steps, opt_state = opt.update(eqx.filter(updates, spec), opt_state, params)
        return eqx.apply_updates(self, steps), opt_state, metrics
