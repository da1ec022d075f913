"""``ngcx train pc-recon``: the generative (reconstructive) predictive coding network of
ngc-museum's ``pc_recon`` (:class:`ngcx.models.GenerativePCN`) on images, no labels.

Sizes: ``(n_features, *hidden)`` (64-128-64-32 on the embedded digits). Each step settles
the latents of a batch for ``T`` steps (E-step) and applies the Hebbian updates
(M-step, optimiser ``optim_type`` at learning rate ``eta``, rows of the weights
renormalised to ``w_norm``). Metrics per step: the free energy and the reconstruction
error per image. After each epoch: the train and test reconstruction errors (summed
squared error per image; with ``--output bernoulli`` also the binary cross-entropy per
image). Plots: ``learning_curve.png``, ``reconstructions.png`` (test digits),
``samples.png`` (ancestral samples from a Gaussian mixture fitted to the top latents of
the training set), ``receptive_fields.png`` (the bottom layer's generative fields).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from ..models import GenerativePCN
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["PCReconConfig", "PCReconTask"]


@dataclasses.dataclass(frozen=True)
class PCReconConfig(TrainConfig):
    """Configuration of ``ngcx train pc-recon`` (defaults: ngc-museum's ``pc_recon``
    setup with the 8x8 digits as whole images, except a weaker prior, ``lmbda`` 0.02
    instead of 0.14, and a longer E-step, ``T`` 50 instead of 20: on 64 pixels the
    museum's prior keeps the upper layers nearly silent, and ancestral samples come out
    blank)."""

    hidden: tuple[int, ...] = field((128, 64, 32), "latent layer sizes, bottom first")
    T: int = field(50, "E-step length (settling steps per batch)")
    tau_m: float = field(20.0, "latent membrane time constant (ms)")
    dt: float = field(1.0, "integration step (ms)")
    act_fx: str = field("relu", "latent activation (a name of ngcx.activations)")
    prior: str = field(
        "laplacian", "latent prior", choices=("laplacian", "gaussian", "cauchy", "exp")
    )
    lmbda: float = field(0.02, "strength of the latent prior")
    sigma: float = field(1.0, "standard deviation of the Gaussian error cells")
    output: str = field("gaussian", "error cell of the data", choices=("gaussian", "bernoulli"))
    eta: float = field(0.005, "learning rate")
    optim_type: str = field("sgd", "optimiser", choices=("sgd", "adam", "nag"))
    w_norm: float = field(1.0, "L2 norm of each latent unit's generative weights (0: free)")
    n_components: int = field(10, "Gaussian mixture components fitted to the top latents (samples)")
    epochs: int = field(30, "training epochs (passes over the training set)")
    batch_size: int = field(100, "samples per training step")
    out: str = field("runs/pc-recon", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("hidden", "T", "tau_m", "dt", "sigma", "n_components"),
            nonnegative=("lmbda", "eta", "w_norm"),
        )
        from ..activations import ACTIVATIONS

        if self.act_fx not in ACTIVATIONS:
            raise ValueError(
                f"`act_fx` (--act-fx) must be one of {', '.join(sorted(ACTIVATIONS))}, "
                f"got {self.act_fx!r}."
            )


def _bce(x: Any, p: Any) -> Any:
    """Binary cross-entropy per image (nats), probabilities clipped to [1e-6, 1 - 1e-6]."""
    p = jnp.clip(p, 1e-6, 1.0 - 1e-6)
    return -jnp.sum(x * jnp.log(p) + (1.0 - x) * jnp.log1p(-p), axis=-1)


@eqx.filter_jit
def _scores(model: GenerativePCN, x: Any) -> tuple[Any, Any]:
    """Mean squared-error sum and mean binary cross-entropy per image."""
    recon = model.reconstruct(x)
    sse = jnp.mean(jnp.sum(jnp.square(x - recon), axis=-1))
    return sse, jnp.mean(_bce(x, recon))


@final
class PCReconTask(AbstractTask[PCReconConfig]):
    """``ngcx train pc-recon`` (see the module docstring)."""

    name: ClassVar[str] = "pc-recon"
    description: ClassVar[str] = "generative predictive coding, reconstruction (pc_recon)"
    config_cls: ClassVar[type[TrainConfig]] = PCReconConfig

    def _model(self, run: Run[PCReconConfig]) -> GenerativePCN:
        c, d = run.config, run.data
        return GenerativePCN(
            (d.n_features, *c.hidden),
            key=run.init_key,
            T=c.T,
            tau_m=c.tau_m,
            dt=c.dt,
            act_fx=c.act_fx,
            prior=(c.prior, c.lmbda),
            eta=c.eta,
            optim_type=c.optim_type,
            sigma=c.sigma,
            output=c.output,
            w_norm=c.w_norm,
        )

    def init(self, run: Run[PCReconConfig]) -> Any:
        model = self._model(run)
        return (model, model.init_optimizer(model.optimizer()))

    def train_arrays(self, run: Run[PCReconConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def step(
        self, run: Run[PCReconConfig], state: Any, batch: tuple[Any, ...], key: Any
    ) -> tuple[Any, Any]:
        model, opt_state = state
        (x,) = batch
        model, opt_state, metrics = model.train_step(opt_state, x, optimizer=model.optimizer())
        return (model, opt_state), {"energy": metrics.energy, "recon_error": metrics.recon_error}

    def constants(self, run: Run[PCReconConfig], state: Any) -> Any:
        return (plasticity.plastic_mask(state[0]), True)

    def evaluate(self, run: Run[PCReconConfig], state: Any, key: Any) -> dict[str, float]:
        d, model = run.data, state[0]
        out: dict[str, float] = {}
        for split, x in (("train", d.x_train), ("test", d.x_test)):
            sse, bce = _scores(model, jnp.asarray(x))
            out[f"{split}_sse"] = float(sse)
            if model.output == "bernoulli":
                out[f"{split}_bce"] = float(bce)
        return out

    def plots(self, run: Run[PCReconConfig], state: Any, history: Any, viz: Any) -> None:
        model, d, out = state[0], run.data, run.out
        curves = {k: history[k] for k in ("recon_error", "train_sse", "test_sse") if k in history}
        viz.plot_learning_curve(
            curves, out / "learning_curve.png", title=f"generative PCN on {d.name}",
            ylabel="squared error per image",
        )  # fmt: skip
        if d.image_shape is None:
            return
        h, w = d.image_shape
        x = jnp.asarray(d.x_test[:10])
        recon = np.asarray(eqx.filter_jit(GenerativePCN.reconstruct)(model, x))
        viz.plot_reconstructions(
            np.asarray(x).reshape(-1, h, w), recon.reshape(-1, h, w),
            out / "reconstructions.png",
        )  # fmt: skip
        k_fit, k_sample = jax.random.split(run.final_key)
        n_fit = min(len(d.x_train), 2000)
        K = min(run.config.n_components, n_fit)
        gmm = model.fit_prior(jnp.asarray(d.x_train[:n_fit]), key=k_fit, n_components=K)
        samples = np.asarray(model.sample(k_sample, 36, gmm))
        viz.plot_receptive_fields(
            samples.T, (h, w), out / "samples.png", max_fields=36,
            title="samples (mixture on the top latents)", scale="none", cmap="gray",
        )  # fmt: skip
        viz.plot_receptive_fields(
            np.asarray(model.synapses[0].weights).T, (h, w), out / "receptive_fields.png",
            title="generative fields of the bottom latents",
        )  # fmt: skip
