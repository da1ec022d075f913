"""``ngcx train conv-pc``: convolutional predictive coding (sparse filters that
reconstruct images through a transposed convolution).

Images: the data set's images (one channel). Images whose side is below 16 pixels are
up-sampled by the smallest integer factor that reaches 16 (nearest neighbour:
the 8x8 digits become 16x16); larger images (28x28 MNIST) are used as they are. Their
height and width must be divisible by the stride (2). Each step settles the latent maps for
``T`` steps and applies the Hebbian filter update; after each epoch the mean squared
reconstruction error per image is measured on both splits. Plots: ``filters.png``,
``reconstructions.png``, ``learning_curve.png``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, final

import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from ..models import ConvPC, upsample
from ._config import TrainConfig, check_fields, field
from ._data import Dataset
from ._task import AbstractTask, Run


__all__ = ["ConvPCConfig", "ConvPCTask", "ImageData"]


@dataclasses.dataclass(frozen=True)
class ConvPCConfig(TrainConfig):
    """Configuration of ``ngcx train conv-pc``."""

    n_features: int = field(8, "latent feature maps (filters)")
    kernel: int = field(5, "filter size (pixels)")
    T: int = field(40, "E-step length (settling steps per batch)")
    tau_m: float = field(20.0, "latent membrane time constant (ms)")
    gamma: float = field(0.2, "strength of the Laplacian (sparsity) prior on the latents")
    eta: float = field(2e-3, "learning rate")
    optim_type: str = field("adam", "optimiser", choices=("sgd", "adam", "nag"))
    epochs: int = field(20, "training epochs (passes over the training set)")
    out: str = field("runs/conv-pc", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self, positive=("n_features", "kernel", "T", "tau_m", "eta"), nonnegative=("gamma",)
        )


@dataclasses.dataclass(frozen=True)
class ImageData:
    """The images of a :class:`Dataset` as ``(N, H, W, 1)`` maps (``x_train``, ``x_test``)."""

    name: str
    x_train: np.ndarray
    x_test: np.ndarray
    factor: int


@final
class ConvPCTask(AbstractTask[ConvPCConfig]):
    """``ngcx train conv-pc`` (see the module docstring)."""

    name: ClassVar[str] = "conv-pc"
    description: ClassVar[str] = "convolutional predictive coding (sparse filters)"
    config_cls: ClassVar[type[TrainConfig]] = ConvPCConfig

    def prepare_data(self, config: ConvPCConfig, data: Dataset) -> ImageData:
        if data.image_shape is None:
            raise ValueError(
                f"`data` (--data) {config.data!r}: conv-pc needs images, but its samples of "
                f"{data.n_features} values are not square images (store x as (N, H, W))."
            )
        h, w = data.image_shape
        factor = max(1, math.ceil(16 / min(h, w)))
        if (h * factor) % 2 or (w * factor) % 2:
            raise ValueError(
                f"`data` (--data) {config.data!r}: images of {h}x{w} pixels; conv-pc needs "
                "an even height and width (its stride is 2)."
            )

        def maps(x: np.ndarray) -> np.ndarray:
            images = jnp.asarray(x.reshape(-1, h, w, 1))
            return np.asarray(upsample(images, factor) if factor > 1 else images)

        return ImageData(data.name, maps(data.x_train), maps(data.x_test), factor)

    def train_arrays(self, run: Run[ConvPCConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def init(self, run: Run[ConvPCConfig]) -> Any:
        c = run.config
        model = ConvPC(
            run.data.x_train.shape[1:],
            c.n_features,
            key=run.init_key,
            kernel=c.kernel,
            T=c.T,
            tau_m=c.tau_m,
            prior=("laplacian", c.gamma),
            eta=c.eta,
            optim_type=c.optim_type,
        )
        return (model, model.init_optimizer(model.optimizer()))

    def step(self, run: Run[ConvPCConfig], state: Any, batch: tuple[Any, ...], key: Any) -> Any:
        return self.make_step(run, state)(state, batch, key)

    def make_step(self, run: Run[ConvPCConfig], state: Any) -> Any:
        optimizer = state[0].optimizer()  # built once from the concrete hyperparameters

        def step(state: Any, batch: tuple[Any, ...], key: Any) -> Any:
            model, opt_state = state
            model, opt_state, m = model.train_step(opt_state, batch[0], optimizer=optimizer)
            return (model, opt_state), {"recon_error": m.recon_error, "energy": m.energy}

        return step

    def constants(self, run: Run[ConvPCConfig], state: Any) -> Any:
        # tau_m, dt, sigma, the prior's gamma compiled in: only filters and optimiser move
        return (plasticity.plastic_mask(state[0]), True)

    def watched(self, state: Any) -> Any:
        return state[0].synapse

    def evaluate(self, run: Run[ConvPCConfig], state: Any, key: Any) -> dict[str, float]:
        model = state[0]

        def error(x: np.ndarray) -> float:
            return float(jnp.sum(jnp.square(_reconstruct(model, jnp.asarray(x)) - x)) / len(x))

        return {"test_recon_error": error(run.data.x_test)}

    def final(self, run: Run[ConvPCConfig], state: Any, key: Any) -> dict[str, Any]:
        model = state[0]
        errors = {}
        for split in ("train", "test"):
            x = getattr(run.data, f"x_{split}")
            errors[f"{split}_recon_error"] = float(
                jnp.sum(jnp.square(_reconstruct(model, jnp.asarray(x)) - x)) / len(x)
            )
        return errors

    def summary(self, final: dict[str, Any]) -> str:
        return (
            f"reconstruction error per image: train {final['train_recon_error']:.3f}, "
            f"test {final['test_recon_error']:.3f}"
        )

    def plots(self, run: Run[ConvPCConfig], state: Any, history: Any, viz: Any) -> None:
        model, out = state[0], run.out
        viz.plot_filters(model.synapse.weights, out / "filters.png")
        sample = jnp.asarray(run.data.x_test[:10])
        viz.plot_reconstructions(sample, _reconstruct(model, sample), out / "reconstructions.png")
        viz.plot_learning_curve(
            {"train": history["recon_error"], "test": history["test_recon_error"]},
            out / "learning_curve.png",
            title="conv PC: reconstruction error per image",
        )


_reconstruct = jax.jit(ConvPC.reconstruct)
