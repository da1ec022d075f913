r"""``ngcx train evstdp-patches``: a spiking winner-take-all layer learns a dictionary of
image-patch filters by event-driven STDP (ngc-museum's ``evstdp_patches``, Tavanaei et al.
2018; model :class:`ngcx.models.EventSTDPPatches`).

Each step takes ``batch_size`` images and cuts ``patches_per_image`` random patches of
``patch`` pixels from each (new positions every step, drawn from the step's key); the
network sees them one after another, ``T`` steps of ``dt`` ms each, learning at every
step (online, as the exhibit: training runs on one device). Evaluation measures the
filters' match with held-out patches (:func:`ngcx.models.filter_match`: the mean best
Pearson correlation of a test patch with any filter), next to the same measure for the
initial random filters, and the share of cells that win on some test patch.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from ..data import generate_patch_set
from ..models import EventSTDPPatches, filter_match
from ._config import TrainConfig, check_fields, field
from ._data import Dataset
from ._task import AbstractTask, Run


if TYPE_CHECKING:
    from types import ModuleType


__all__ = ["EvSTDPPatchesConfig", "EvSTDPPatchesTask"]


@dataclasses.dataclass(frozen=True)
class EvSTDPPatchesConfig(TrainConfig):
    """Settings of ``ngcx train evstdp-patches`` (the exhibit's values where the digits
    allow: 10x10 patches and 100 cells on MNIST; 5x5 patches and 49 cells on the 8x8
    digits)."""

    epochs: int = field(3, "training epochs (passes over the training images)")
    batch_size: int = field(16, "images per step (their patches are learned one by one)")
    out: str = field("runs/evstdp-patches", "output folder (config, metrics, checkpoint, plots)")
    patch: tuple[int, ...] = field((5, 5), "patch height and width (the exhibit: 10 10 on MNIST)")
    patches_per_image: int = field(10, "random patches cut from each image per step")
    hidden: int = field(49, "winner-take-all cells (filters)")
    T: int = field(50, "steps per patch")
    dt: float = field(3.0, "integration step (ms)")
    eta: float = field(0.0055, "event-STDP learning rate")
    lmbda: float = field(0.01, "event-STDP lambda (weights settle at w_bound / (1 + lambda))")
    presyn_win_len: float = field(3.0, "event-STDP presynaptic window (ms)")
    thr_base: float = field(0.2, "WTA base threshold (on the softmax of the input)")
    thr_gain: float = field(0.002, "WTA threshold homeostasis rate")
    refract_time: float = field(5.0, "WTA refractory period (ms)")
    test_patches: int = field(5, "random patches per test image for the evaluation")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("dt", "eta"),
            nonnegative=("lmbda", "presyn_win_len", "thr_gain", "refract_time"),
            at_least_one=("patch", "patches_per_image", "hidden", "T", "test_patches"),
        )
        if len(self.patch) != 2:
            raise ValueError(
                f"`patch` (--patch) must be two ints (height width), got {self.patch!r}."
            )


def _cut_patches(
    images: jax.Array, shape: tuple[int, int], patch: tuple[int, int], n: int, key: Any
) -> jax.Array:
    """`n` random ``patch``-sized windows of each image (``(B, H*W)``), ``(B * n, ph * pw)``
    in image order."""
    (h, w), (ph, pw) = shape, patch
    b = images.shape[0]
    rk, ck = jax.random.split(key)
    rows = jax.random.randint(rk, (b, n), 0, h - ph + 1)
    cols = jax.random.randint(ck, (b, n), 0, w - pw + 1)

    def cut(img: jax.Array, r: jax.Array, c: jax.Array) -> jax.Array:
        return jax.lax.dynamic_slice(img.reshape(h, w), (r, c), (ph, pw)).reshape(-1)

    per_image = jax.vmap(jax.vmap(cut, in_axes=(None, 0, 0)), in_axes=(0, 0, 0))
    return per_image(images, rows, cols).reshape(b * n, ph * pw)


_respond = eqx.filter_jit(EventSTDPPatches.respond)


class EvSTDPPatchesTask(AbstractTask[EvSTDPPatchesConfig]):
    """The ``evstdp-patches`` training command (see the module docstring)."""

    name: ClassVar[str] = "evstdp-patches"
    description: ClassVar[str] = (
        "spiking WTA layer learning image-patch filters by event-driven STDP (Tavanaei et al.)"
    )
    config_cls: ClassVar[type[TrainConfig]] = EvSTDPPatchesConfig
    shard_training: ClassVar[bool] = False

    def prepare_data(self, config: EvSTDPPatchesConfig, data: Dataset) -> Dataset:
        if data.image_shape is None:
            raise ValueError(f"`data` (--data) {config.data!r}: evstdp-patches needs images.")
        h, w = data.image_shape
        if config.patch[0] > h or config.patch[1] > w:
            raise ValueError(
                f"`patch` (--patch) {config.patch} is larger than the {h}x{w} images of "
                f"{config.data!r}."
            )
        return data

    def train_arrays(self, run: Run[EvSTDPPatchesConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def _model(self, run: Run[EvSTDPPatchesConfig]) -> EventSTDPPatches:
        c = run.config
        return EventSTDPPatches(
            (c.patch[0], c.patch[1]), c.hidden, key=jax.random.fold_in(run.key, 0), T=c.T,
            dt=c.dt, eta=c.eta, lmbda=c.lmbda, presyn_win_len=c.presyn_win_len,
            thr_base=c.thr_base, thr_gain=c.thr_gain, refract_time=c.refract_time,
        )  # fmt: skip

    def init(self, run: Run[EvSTDPPatchesConfig]) -> Any:
        model = self._model(run)
        return model, model.init_optimizer()

    def step(
        self, run: Run[EvSTDPPatchesConfig], state: Any, batch: tuple[Any, ...], key: Any
    ) -> tuple[Any, Any]:
        model, opt_state = state
        c = run.config
        pkey, tkey = jax.random.split(key)
        patch = (c.patch[0], c.patch[1])
        patches = _cut_patches(batch[0], run.data.image_shape, patch, c.patches_per_image, pkey)
        model, opt_state, counts = model.train_patches(opt_state, patches, tkey)
        seen = (jnp.sum(patches, axis=-1) > 0).astype(counts.dtype)
        n_seen = jnp.maximum(seen.sum(), 1.0)
        metrics = {
            "spikes_per_patch": jnp.sum(counts.sum(-1) * seen) / n_seen,
            "winners": jnp.mean((counts.sum(0) > 0).astype(counts.dtype)),
        }
        return (model, opt_state), metrics

    def _test_patches(self, run: Run[EvSTDPPatchesConfig]) -> np.ndarray:
        c = run.config
        patches = generate_patch_set(
            run.data.x_test, (c.patch[0], c.patch[1]), c.test_patches, center=False,
            seed=c.data_seed,
        )  # fmt: skip
        return np.asarray(patches, np.float32)

    def constants(self, run: Run[EvSTDPPatchesConfig], state: Any) -> Any:
        # the rule's and cells' constants compiled in (benchmarks/evstdp_patches.py: 1.06-1.17
        # of the plain-JAX twin with them as arguments, 0.97-1.02 folded); the weights and
        # the adaptive thresholds move
        mask = plasticity.plastic_mask(state[0])
        return (eqx.tree_at(lambda m: m.thr, mask, True), True)

    def evaluate(self, run: Run[EvSTDPPatchesConfig], state: Any, key: Any) -> dict[str, float]:
        model = self.model(state)
        patches = jnp.asarray(self._test_patches(run))
        init = self._model(run)
        counts = _respond(model, patches, key)
        return {
            "filter_match": float(filter_match(model.W.weights.T, patches)),
            "filter_match_init": float(filter_match(init.W.weights.T, patches)),
            "used_filters": float(jnp.mean((counts.sum(0) > 0).astype(jnp.float32))),
        }

    def plots(
        self,
        run: Run[EvSTDPPatchesConfig],
        state: Any,
        history: dict[str, list[float]],
        viz: ModuleType,
    ) -> None:
        model = self.model(state)
        c = run.config
        W = np.asarray(model.W.weights)
        # each filter minus its mean: the shape the filter_match measure compares
        viz.plot_receptive_fields(
            W - W.mean(0, keepdims=True), (c.patch[0], c.patch[1]), run.out / "filters.png",
            max_fields=model.n_hid, title="event-STDP patch filters (minus their means)",
        )  # fmt: skip
        curves = {k: history[k] for k in ("filter_match", "filter_match_init") if k in history}
        if curves:
            viz.plot_learning_curve(curves, run.out / "filter_match.png", title="filter match")
