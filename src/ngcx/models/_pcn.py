r"""The discriminative predictive coding network of ngc-museum's ``pc_discrim``.

Layers $z_0 = x$ (clamped input), hidden $z_1, \dots, z_{L-1}$ (:class:`RateCell`) and
$z_L$ (clamped to the label while learning). Each layer is predicted from the one below
by a :class:`DenseSynapse`, $\mu_l = \phi(z_{l-1}) W_l + b_l$ ($\phi$ the identity for
the input), and scored by a :class:`GaussianErrorCell`. The energy is

$$F = \sum_{l=1}^{L} \tfrac{1}{2\sigma^2}\lVert z_l - \mu_l\rVert^2 .$$

One training step (:meth:`PCN.train_step`):

1. **projection**: a feed-forward pass sets $z_l = \mu_l$ for the hidden layers;
2. **E-step**: ``T`` steps of the rate cells' dynamics (Euler, ``dt``/``tau_m``),
   $\tau_m \dot z_l = -e_l + \phi'(z_l)\odot(e_{l+1}W_{l+1}^\top)$ with
   $e_l = (z_l - \mu_l)/\sigma^2$, which is gradient descent on $F$ in $z$;
3. **M-step**: the :class:`~ngcx.plasticity.Hebbian` rule $\Delta W_l = \phi(z_{l-1})^\top
   e_l = -\partial F / \partial W_l$ through the optax chain
   :func:`ngcx.plasticity.hebbian` (Adam by default).

Every number of the model is an array leaf: the learning rate ``eta``, ``sigma``, ``dt``,
the cells' ``tau_m``, the optional ``w_decay``/``w_bound``; so
``jax.vmap(lambda eta: train(PCN(..., eta=eta)))(etas)`` trains a sweep with one
compilation.

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

from .. import activations, plasticity
from .._checks import check_features, check_same_batch
from .._custom_types import Key
from .._params import is_static_zero, param
from ..cells import GaussianErrorCell, RateCell
from ..initializers import Initializer
from ..plasticity import Hebbian
from ..simulation import simulate
from ..synapses import DenseSynapse


__all__ = ["PCN", "PCNMetrics"]


class PCNMetrics(eqx.Module):
    """Per-step training figures: ``energy``, the mean free energy per sample after the
    E-step (before the weight update)."""

    energy: Float[Array, ""]


class PCN(eqx.Module):
    """Discriminative predictive coding network (see the module docstring).

    Built only from public pieces: ``synapses`` (one :class:`DenseSynapse` per layer),
    ``cells`` (one :class:`RateCell` per hidden layer), the error cells (one
    :class:`GaussianErrorCell` per predicted layer, standard deviation ``sigma``), the
    ``rule`` (:class:`~ngcx.plasticity.Hebbian`) and the learning options of
    :meth:`optimizer` (``eta``, ``optim_type``, ``w_decay``, ``w_bound``).

    ``sigma`` is an array leaf (sweepable, differentiable). An earlier release kept it a
    static float because a traced variance cost about 7% of a step at batch 512; now
    :func:`ngcx.training.pcn_trainer` compiles every non-plastic leaf (``sigma``, ``tau_m``,
    ``dt``, ``eta``) into its step as a constant, and ``python benchmarks/pcn.py``
    measures the PCN at 0.96-1.00x its plain-JAX twin (batch 1 to 512, 2-core CPU). Code
    that jits ``train_step`` with the model as an argument can do the same with
    ``eqx.partition(model, ngcx.plasticity.plastic_mask(model))``, closing over the rest.
    """

    synapses: tuple[DenseSynapse, ...]
    cells: tuple[RateCell, ...]
    rule: Hebbian
    eta: Float[Array, ""]
    sigma: Float[Array, ""]
    dt: Float[Array, ""]
    w_decay: Float[Array, ""] | None
    w_bound: Float[Array, ""] | None
    T: int = eqx.field(static=True)
    optim_type: str = eqx.field(static=True)

    def __init__(
        self,
        sizes: Sequence[int] = (64, 128, 128, 10),
        *,
        key: Key,
        T: int = 20,
        tau_m: Any = 20.0,
        dt: Any = 1.0,
        act_fx: str = "relu",
        eta: Any = 1e-3,
        optim_type: str = "adam",
        weight_init: Initializer | None = None,
        use_bias: bool = True,
        w_decay: Any = 0.0,
        w_bound: Any = 0.0,
        sigma: Any = 1.0,
    ):
        """**Arguments:**

        - `sizes`: layer sizes, input first, output last (at least 2).
        - `key`: PRNG key for the weights.
        - `T`: E-step length (static); `tau_m` (> 0), `dt` (> 0): rate-cell time constant
          and step (ms), leaves.
        - `act_fx`: hidden activation (a name in :mod:`ngcx.activations`).
        - `eta` (>= 0), `optim_type` (``"sgd"``, ``"adam"``, ``"nag"``), `w_decay` (>= 0),
          `w_bound` (>= 0; > 0 soft-bounds and clips the weights as ngc-learn's
          ``HebbianSynapse``): the learning options of :meth:`optimizer`. A concrete 0 for
          `w_decay` or `w_bound` leaves the term out.
        - `weight_init`: initialiser (default: fan-in Gaussian); `use_bias`: biases.
        - `sigma` (> 0): the error cells' standard deviation (see the class docstring).
        """
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or any(s <= 0 for s in sizes):
            raise ValueError(f"`sizes` needs at least two positive layer sizes, got {sizes}.")
        if not isinstance(T, int) or isinstance(T, bool) or T < 0:
            raise ValueError(f"`T` must be a non-negative int, got {T!r}.")
        if act_fx not in activations.ACTIVATIONS:
            raise ValueError(f"`act_fx`: unknown activation {act_fx!r}.")
        if optim_type not in ("sgd", "adam", "nag"):
            raise ValueError(f"`optim_type` must be 'sgd', 'adam' or 'nag', got {optim_type!r}.")
        self.dt = param(dt, "dt", "positive")
        param(tau_m, "tau_m", "positive")
        keys = jax.random.split(key, len(sizes) - 1)
        self.synapses = tuple(
            DenseSynapse((n_in, n_out), key=k, weight_init=weight_init, use_bias=use_bias)
            for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
        )
        self.cells = tuple(RateCell(n, tau_m=tau_m, act_fx=act_fx) for n in sizes[1:-1])
        self.rule = Hebbian()
        self.eta = param(eta, "eta", "nonnegative")
        self.sigma = param(sigma, "sigma", "positive")
        self.w_decay = None if is_static_zero(w_decay) else param(w_decay, "w_decay", "nonnegative")
        self.w_bound = None if is_static_zero(w_bound) else param(w_bound, "w_bound", "nonnegative")
        self.T = T
        self.optim_type = optim_type

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
        check_features(x, "x", self.sizes[0], "PCN.predict")
        return self.projection(x)[-1]

    def _check_xy(self, x: Any, y: Any, where: str, rank: int | None = None) -> None:
        check_features(x, "x", self.sizes[0], where, rank=rank)
        check_features(y, "y", self.sizes[-1], where, rank=rank)
        check_same_batch(x, y, ("x", "y"), where)

    def energy(
        self,
        x: Float[Array, "*batch n_in"],
        y: Float[Array, "*batch n_out"],
        zs: Sequence[Float[Array, "*batch _"]],
    ) -> Float[Array, ""]:
        """Free energy $F = -\\sum_l L_l$ (summed over the batch) for hidden states ``zs``."""
        self._check_xy(x, y, "PCN.energy")
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
        self._check_xy(x, y, "PCN.infer")
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
    ) -> tuple[DenseSynapse, ...]:
        """M-step rule at hidden states ``zs``: $\\Delta W_l = \\phi(z_{l-1})^\\top e_l$ for
        every synapse (updates shaped like ``self.synapses``)."""
        self._check_xy(x, y, "PCN.hebbian_updates")
        pre, errs = self._errors(x, y, zs)
        return self._updates(pre, errs)

    def _updates(self, pre: list[Array], errs: list[Any]) -> tuple[DenseSynapse, ...]:
        layers = zip(self.synapses, pre, errs, strict=True)
        return tuple(self.rule(syn, p, err.dmu) for syn, p, err in layers)

    # -- learning -------------------------------------------------------------------

    def optimizer(self) -> optax.GradientTransformation:
        """The optax chain of the learning options (:func:`ngcx.plasticity.hebbian`
        ascending the Hebbian rule, i.e. descending $F$): ``eta``, ``optim_type``,
        ``w_decay``, and ``w_bound`` (soft bound and clip, as ngc-learn's
        ``HebbianSynapse``). One chain over all synapses (one step counter)."""
        return plasticity.hebbian(
            self.eta,
            self.optim_type,
            sign=1.0,
            w_decay=0.0 if self.w_decay is None else self.w_decay,
            w_bound=0.0 if self.w_bound is None else self.w_bound,
            soft_bound=True,
        )

    def init_optimizer(self, optimizer: optax.GradientTransformation | None = None) -> Any:
        """Optimiser state for ``self.synapses``."""
        opt = self.optimizer() if optimizer is None else optimizer
        return plasticity.init(opt, self.synapses)

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
        self._check_xy(x, y, "PCN.train_step", rank=2)
        opt = self.optimizer() if optimizer is None else optimizer
        n = x.shape[0]
        zs, _ = self.infer(x, y)
        pre, errs = self._errors(x, y, zs)
        e1 = -sum((err.L for err in errs), start=jnp.zeros((), x.dtype))
        updates = self._updates(pre, errs)
        synapses, opt_state = plasticity.apply_updates(self.synapses, updates, opt_state, opt)
        model = eqx.tree_at(lambda m: m.synapses, self, synapses)
        return model, opt_state, PCNMetrics(energy=e1 / n)
