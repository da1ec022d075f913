r"""The discriminative predictive coding network of ngc-museum's ``pc_discrim``.

Layers $z_0 = x$ (clamped input), hidden $z_1, \dots, z_{L-1}$ (:class:`RateCell`) and
$z_L$ (clamped to the label while learning). Each layer is predicted from the one below
by a :class:`HebbianSynapse`, $\mu_l = \phi(z_{l-1}) W_l$ ($\phi$ the identity for the
input), and scored by a :class:`GaussianErrorCell`. The energy is

$$F = \sum_{l=1}^{L} \tfrac{1}{2\sigma^2}\lVert z_l - \mu_l\rVert^2 .$$

One training step (:meth:`PCN.train_step`):

1. **projection**: a feed-forward pass sets $z_l = \mu_l$ for the hidden layers;
2. **E-step**: ``T`` steps of the rate cells' dynamics (Euler, ``dt``/``tau_m``),
   $\tau_m \dot z_l = -e_l + \phi'(z_l)\odot(e_{l+1}W_{l+1}^\top)$ with
   $e_l = (z_l - \mu_l)/\sigma^2$, which is gradient descent on $F$ in $z$;
3. **M-step**: the Hebbian rule $\Delta W_l = \phi(z_{l-1})^\top e_l = -\partial F /
   \partial W_l$ through optax (Adam by default).

Prediction is the projection pass's output $\mu_L$.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .. import activations, learning
from .._custom_types import Key
from ..cells import GaussianErrorCell, RateCell
from ..initializers import Initializer
from ..simulation import simulate
from ..synapses import HebbianSynapse


__all__ = ["PCN", "PCNMetrics"]


class PCNMetrics(eqx.Module):
    """Per-step training figures: ``energy``, the mean free energy per sample after the
    E-step (before the weight update)."""

    energy: Float[Array, ""]


class PCN(eqx.Module):
    """Discriminative predictive coding network (see the module docstring).

    Built only from public pieces: ``synapses`` (one :class:`HebbianSynapse` per layer),
    ``cells`` (one :class:`RateCell` per hidden layer) and ``errors`` (one
    :class:`GaussianErrorCell` per predicted layer, with the fixed ``sigma``).

    ``sigma`` is a static constant of the model (the error cells are rebuilt from it when
    traced), so XLA folds it into the step: a traced variance makes XLA copy a hidden
    state on every inference step (measured: ~7% slower at batch 512). To learn the
    variance, use :class:`GaussianErrorCell` directly.
    """

    synapses: tuple[HebbianSynapse, ...]
    cells: tuple[RateCell, ...]
    sigma: float = eqx.field(static=True)
    T: int = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    def __init__(
        self,
        sizes: Sequence[int] = (64, 128, 128, 10),
        *,
        key: Key,
        T: int = 20,
        tau_m: float = 20.0,
        dt: float = 1.0,
        act_fx: str = "relu",
        eta: float = 1e-3,
        optim_type: str = "adam",
        weight_init: Initializer | None = None,
        use_bias: bool = True,
        w_decay: float = 0.0,
        w_bound: float = 0.0,
        sigma: float = 1.0,
    ):
        """**Arguments:**

        - `sizes`: layer sizes, input first, output last (at least 2).
        - `key`: PRNG key for the weights.
        - `T`: E-step length; `tau_m`, `dt`: rate-cell time constant and step (ms).
        - `act_fx`: hidden activation (a name in :mod:`ngcx.activations`).
        - `eta`, `optim_type`, `w_decay`, `w_bound`: the synapses' learning options.
        - `weight_init`: initialiser (default: fan-in Gaussian); `use_bias`: biases.
        - `sigma`: the error cells' standard deviation.
        """
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"`sizes` needs at least two positive layer sizes, got {sizes}.")
        if not isinstance(T, int) or T < 0:
            raise ValueError(f"`T` must be a non-negative int, got {T!r}.")
        if not dt > 0 or not tau_m > 0:
            raise ValueError(f"`dt` and `tau_m` must be > 0, got dt={dt}, tau_m={tau_m}.")
        if act_fx not in activations.ACTIVATIONS:
            raise ValueError(f"`act_fx`: unknown activation {act_fx!r}.")
        keys = jax.random.split(key, len(sizes) - 1)
        self.synapses = tuple(
            HebbianSynapse(
                (n_in, n_out),
                key=k,
                eta=eta,
                optim_type=optim_type,
                weight_init=weight_init,
                use_bias=use_bias,
                w_decay=w_decay,
                w_bound=w_bound,
                sign_value=-1.0,  # ascend the Hebbian rule (= descend F), as ngc-museum
            )
            for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
        )
        self.cells = tuple(RateCell(n, tau_m=tau_m, act_fx=act_fx) for n in sizes[1:-1])
        if not sigma > 0:
            raise ValueError(f"`sigma` must be > 0, got {sigma}.")
        self.sigma = float(sigma)
        self.T = T
        self.dt = float(dt)

    @property
    def errors(self) -> tuple[GaussianErrorCell, ...]:
        """One Gaussian error cell per predicted layer (standard deviation ``sigma``)."""
        return tuple(GaussianErrorCell(n, sigma=self.sigma) for n in self.sizes[1:])

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.synapses[0].shape[0],) + tuple(s.shape[1] for s in self.synapses)

    # -- passes ---------------------------------------------------------------------

    def _outputs(self, x: Array, zs: Sequence[Array]) -> list[Array]:
        """Presynaptic activity of every layer below the top: x, phi(z_1), ..."""
        return [x] + [cell.with_z(z).zF for cell, z in zip(self.cells, zs, strict=True)]

    def _predictions(self, x: Array, zs: Sequence[Array]) -> list[Array]:
        pre = self._outputs(x, zs)
        return [syn(p) for syn, p in zip(self.synapses, pre, strict=True)]

    def projection(self, x: Float[Array, "*batch n_in"]) -> tuple[Float[Array, "*batch _"], ...]:
        """Feed-forward pass: every layer's prediction $\\mu_1, \\dots, \\mu_L$."""
        mus = []
        h = x
        for i, syn in enumerate(self.synapses):
            mu = syn(h)
            mus.append(mu)
            if i < len(self.cells):
                h = self.cells[i].with_z(mu).zF
        return tuple(mus)

    def predict(self, x: Float[Array, "*batch n_in"]) -> Float[Array, "*batch n_out"]:
        """The network's output for ``x`` (the projection pass's top prediction)."""
        return self.projection(x)[-1]

    def energy(
        self,
        x: Float[Array, "*batch n_in"],
        y: Float[Array, "*batch n_out"],
        zs: Sequence[Float[Array, "*batch _"]],
    ) -> Float[Array, ""]:
        """Free energy $F = -\\sum_l L_l$ (summed over the batch) for hidden states ``zs``."""
        mus = self._predictions(x, zs)
        targets = list(zs) + [y]
        return -sum(
            (err(mu, t).L for err, mu, t in zip(self.errors, mus, targets, strict=True)),
            start=jnp.zeros((), x.dtype),
        )

    def infer(
        self,
        x: Float[Array, "*batch n_in"],
        y: Float[Array, "*batch n_out"],
        record_energy: bool = False,
    ) -> tuple[tuple[Array, ...], Array | None]:
        """E-step: project, then ``T`` steps of the hidden rate cells with ``y`` clamped.

        **Returns:** ``(zs, energies)``: the final hidden potentials and, with
        `record_energy`, the energy after every step (shape ``(T,)``).
        """
        zs0 = self.projection(x)[:-1]

        def step(zs):
            mus = self._predictions(x, zs)
            targets = list(zs) + [y]
            errs = [e(mu, t) for e, mu, t in zip(self.errors, mus, targets, strict=True)]
            new = []
            for i, (cell, z) in enumerate(zip(self.cells, zs, strict=True)):
                feedback = self.synapses[i + 1].backtransmit(errs[i + 1].dmu)
                new.append(cell(cell.with_z(z), feedback, errs[i].dtarget, dt=self.dt).z)
            return tuple(new)

        record = (lambda zs: self.energy(x, y, zs)) if record_energy else None
        zs, energies = simulate(step, tuple(zs0), self.T, record=record)
        return zs, energies

    def _errors(self, x: Array, y: Array, zs: Sequence[Array]) -> tuple[list[Array], list[Any]]:
        pre = self._outputs(x, zs)
        mus = [syn(p) for syn, p in zip(self.synapses, pre, strict=True)]
        targets = list(zs) + [y]
        errs = [err(mu, t) for err, mu, t in zip(self.errors, mus, targets, strict=True)]
        return pre, errs

    def hebbian_updates(
        self,
        x: Float[Array, "*batch n_in"],
        y: Float[Array, "*batch n_out"],
        zs: Sequence[Float[Array, "*batch _"]],
    ) -> tuple[HebbianSynapse, ...]:
        """M-step rule at hidden states ``zs``: $\\Delta W_l = \\phi(z_{l-1})^\\top e_l$ for
        every synapse (updates shaped like ``self.synapses``)."""
        pre, errs = self._errors(x, y, zs)
        return self._updates(pre, errs)

    def _updates(self, pre: list[Array], errs: list[Any]) -> tuple[HebbianSynapse, ...]:
        layers = zip(self.synapses, pre, errs, strict=True)
        return tuple(syn.hebbian_updates(p, err.dmu) for syn, p, err in layers)

    # -- learning -------------------------------------------------------------------

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of the synapses' options: one chain over all of them when they
        share their options (the usual case, one step counter), else one per synapse."""
        return learning.synapses_optimizer(self.synapses)

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``self.synapses``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return learning.init_optimizer(opt, self.synapses)

    def train_step(
        self,
        opt_state: Any,
        x: Float[Array, "batch n_in"],
        y: Float[Array, "batch n_out"],
        optimizer: optax.GradientTransformation | None = None,
    ) -> tuple[PCN, Any, PCNMetrics]:
        """E-step then M-step on one batch. Pure: returns ``(model, opt_state, metrics)``.

        Jit it once, closing over the optimiser:
        ``step = jax.jit(functools.partial(PCN.train_step, optimizer=opt))``.
        """
        opt = self.optimizer() if optimizer is None else optimizer
        n = x.shape[0]
        zs, _ = self.infer(x, y)
        pre, errs = self._errors(x, y, zs)
        e1 = -sum((err.L for err in errs), start=jnp.zeros((), x.dtype))
        updates = self._updates(pre, errs)
        synapses, opt_state = learning.apply_updates(self.synapses, updates, opt_state, opt)
        model = eqx.tree_at(lambda m: m.synapses, self, synapses)
        return model, opt_state, PCNMetrics(energy=e1 / n)
