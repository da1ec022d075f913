"""``ngcx train harmonium``: the restricted Boltzmann machine of ngc-museum's
``harmonium`` (:class:`ngcx.models.Harmonium`) trained by contrastive divergence on
images, no labels.

Pixel intensities in ``[0, 1]`` are the visible units' data (as probabilities, as the
museum clamps them). The visible biases start at the data's pixel log-odds. Each step is
one CD-``k`` update of a batch through the optimiser ``optim_type`` at learning rate
``eta`` with the Gaussian weight prior ``l2``. Metrics per step: the reconstruction error
per image and the mean free energy. After each epoch: the train and test reconstruction
errors (summed squared error per image of the mean-field reconstruction) and the free
energy gap (mean test minus mean train free energy, a measure of overfitting: it grows
when the model starts to favour the training images). Plots: ``learning_curve.png``,
``filters.png`` (the weights of the first hidden units as images),
``samples.png`` (block Gibbs samples, ``n_gibbs`` steps), ``reconstructions.png``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..models import Harmonium
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["HarmoniumConfig", "HarmoniumTask"]


@dataclasses.dataclass(frozen=True)
class HarmoniumConfig(TrainConfig):
    """Configuration of ``ngcx train harmonium`` (defaults: ngc-museum's ``harmonium``
    setup: CD-1, Adam at 1e-3, Gaussian weight prior 0.01, hidden biases -4; scaled to
    the 8x8 digits: 128 hidden units, batches of 100, 100 epochs)."""

    hidden: int = field(128, "number of hidden units")
    k: int = field(1, "contrastive divergence steps (CD-k)")
    eta: float = field(1e-3, "learning rate")
    optim_type: str = field("adam", "optimiser", choices=("sgd", "adam", "nag"))
    l1: float = field(0.0, "strength of the Laplacian weight prior")
    l2: float = field(0.01, "strength of the Gaussian weight prior")
    hidden_bias: float = field(-4.0, "initial hidden biases")
    sample_visible: bool = field(False, "sample the chain's visible units (else probabilities)")
    n_gibbs: int = field(1000, "block Gibbs steps per plotted sample")
    epochs: int = field(100, "training epochs (passes over the training set)")
    batch_size: int = field(100, "samples per training step")
    out: str = field("runs/harmonium", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("hidden", "k", "n_gibbs"),
            nonnegative=("eta", "l1", "l2"),
        )
        if not np.isfinite(self.hidden_bias):
            raise ValueError(
                f"`hidden_bias` (--hidden-bias) must be finite, got {self.hidden_bias!r}."
            )


@eqx.filter_jit
def _scores(model: Harmonium, x: Any) -> tuple[Any, Any]:
    """Mean squared-error sum per image of the reconstruction, mean free energy."""
    sse = jnp.mean(jnp.sum(jnp.square(x - model.reconstruct(x)), axis=-1))
    return sse, jnp.mean(model.free_energy(x))


@final
class HarmoniumTask(AbstractTask[HarmoniumConfig]):
    """``ngcx train harmonium`` (see the module docstring)."""

    name: ClassVar[str] = "harmonium"
    description: ClassVar[str] = "restricted Boltzmann machine, contrastive divergence (harmonium)"
    config_cls: ClassVar[type[TrainConfig]] = HarmoniumConfig

    def init(self, run: Run[HarmoniumConfig]) -> Any:
        c, d = run.config, run.data
        x = np.asarray(d.x_train)
        if x.min() < 0 or x.max() > 1:
            raise ValueError(
                f"`data` (--data) {c.data!r}: the harmonium's visible units need pixel values "
                f"in [0, 1], got values in [{x.min():.3g}, {x.max():.3g}]."
            )
        model = Harmonium(
            d.n_features, c.hidden, key=run.init_key, k=c.k, eta=c.eta,
            optim_type=c.optim_type, l1=c.l1, l2=c.l2, hidden_bias=c.hidden_bias,
            sample_visible=c.sample_visible,
        ).init_visible_biases(jnp.asarray(x))  # fmt: skip
        return (model, model.init_optimizer(model.optimizer()))

    def train_arrays(self, run: Run[HarmoniumConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def step(
        self, run: Run[HarmoniumConfig], state: Any, batch: tuple[Any, ...], key: Any
    ) -> tuple[Any, Any]:
        model, opt_state = state
        (x,) = batch
        model, opt_state, m = model.train_step(opt_state, x, key, optimizer=model.optimizer())
        return (model, opt_state), {"recon_error": m.recon_error, "free_energy": m.free_energy}

    def evaluate(self, run: Run[HarmoniumConfig], state: Any, key: Any) -> dict[str, float]:
        d, model = run.data, state[0]
        sse_tr, f_tr = _scores(model, jnp.asarray(d.x_train))
        sse_te, f_te = _scores(model, jnp.asarray(d.x_test))
        return {
            "train_sse": float(sse_tr),
            "test_sse": float(sse_te),
            "free_energy_gap": float(f_te - f_tr),
        }

    def plots(self, run: Run[HarmoniumConfig], state: Any, history: Any, viz: Any) -> None:
        model, d, out = state[0], run.data, run.out
        curves = {k: history[k] for k in ("recon_error", "train_sse", "test_sse") if k in history}
        viz.plot_learning_curve(
            curves, out / "learning_curve.png", title=f"harmonium on {d.name}",
            ylabel="squared error per image",
        )  # fmt: skip
        if d.image_shape is None:
            return
        h, w = d.image_shape
        viz.plot_receptive_fields(
            np.asarray(model.synapse.weights), (h, w), out / "filters.png",
            title="filters (weights of the hidden units)",
        )  # fmt: skip
        sample = eqx.filter_jit(Harmonium.sample)  # ints are static
        samples = np.asarray(sample(model, run.final_key, 36, run.config.n_gibbs))
        viz.plot_receptive_fields(
            samples.T, (h, w), out / "samples.png", max_fields=36,
            title=f"samples ({run.config.n_gibbs} Gibbs steps)", scale="none", cmap="gray",
        )  # fmt: skip
        x = jnp.asarray(d.x_test[:10])
        recon = np.asarray(eqx.filter_jit(Harmonium.reconstruct)(model, x))
        viz.plot_reconstructions(
            np.asarray(x).reshape(-1, h, w), recon.reshape(-1, h, w),
            out / "reconstructions.png",
        )  # fmt: skip
