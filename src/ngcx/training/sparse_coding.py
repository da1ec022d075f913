r"""``ngcx train sparse-coding``: Olshausen & Field's sparse coding of natural-image
patches (ngc-museum's ``olshausen_sc``; model :class:`ngcx.models.SparseCoding`).

Data (``--data natural-images``, the only choice): the two embedded photographs of
:func:`ngcx.data.load_natural_images`, whitened with Olshausen & Field's filter
(:func:`ngcx.data.whiten_images`, ``f0``, ``variance``). Training patches come from the
left ``1 - test_fraction`` of each image's columns and test patches from the rest, so the
evaluation is on image regions the dictionary never saw; both sets are drawn once, with
``data_seed`` (``n_patches`` training patches: an epoch is a pass over them; each patch
centred). Each step infers the codes of ``batch_size`` patches (``T`` steps) and
updates the dictionary by the Hebbian rule, with the atoms renormalised.

Evaluation on the test patches: ``recon_error`` (relative squared error of the
reconstruction), ``sparsity`` (mean Hoyer sparsity of the codes) and ``energy`` (mean
per patch). The final metrics add what the atoms look like:
``median_orientation_selectivity`` and ``median_localisation``
(:func:`ngcx.models.orientation_selectivity`, :func:`ngcx.models.localisation`) with the
shares of atoms above 0.3 and 0.15 (``oriented_fraction``, ``localised_fraction``; random
unit-norm atoms: almost none), and the same medians for the initial random dictionary.
Plots: the dictionary (``dictionary.png``) and the learning curve (``learning_curve.png``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import plasticity
from ..data import load_natural_images, sample_patches, whiten_images
from ..models import SparseCoding, localisation, orientation_selectivity
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


if TYPE_CHECKING:
    from types import ModuleType


__all__ = ["SparseCodingConfig", "SparseCodingTask", "NaturalPatches"]

#: thresholds of the final shares of oriented and localised atoms
OSI_THRESHOLD = 0.3
LOC_THRESHOLD = 0.15


@dataclasses.dataclass(frozen=True)
class SparseCodingConfig(TrainConfig):
    """Settings of ``ngcx train sparse-coding`` (the museum's values by default: 16x16
    patches, 100 atoms, 250 patches per step, 2000 steps, ``T = 300``)."""

    epochs: int = field(10, "training epochs (passes over the training patches)")
    batch_size: int = field(250, "patches per training step")
    out: str = field("runs/sparse-coding", "output folder (config, metrics, checkpoint, plots)")
    data: str = field(
        "natural-images",
        "data set: natural-images (two embedded photographs, whitened)",
        choices=("natural-images",),
    )
    prior: str = field(
        "cauchy",
        "sparsity prior: cauchy (gradient inference) or laplacian (ISTA)",
        choices=("cauchy", "laplacian"),
    )
    lmbda: float | None = field(
        None, "weight of the prior (default: the museum's, 0.14 cauchy, 0.1 laplacian)"
    )
    hidden: int = field(100, "atoms of the dictionary (latent units)")
    patch: int = field(16, "patch side (pixels)")
    n_patches: int = field(50000, "training patches (drawn once; an epoch is a pass)")
    test_patches: int = field(2000, "held-out patches for the evaluation")
    T: int = field(300, "inference steps per batch")
    tau_m: float = field(20.0, "latent time constant (ms)")
    dt: float = field(1.0, "inference step (ms)")
    eta: float = field(1e-2, "dictionary learning rate")
    optim_type: str = field("sgd", "dictionary optimiser", choices=("sgd", "adam", "nag"))
    f0: float = field(0.4, "whitening roll-off frequency (cycles/pixel)")
    variance: float = field(0.1, "mean pixel variance of the whitened images")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("tau_m", "dt", "f0", "variance"),
            nonnegative=("eta", "lmbda"),
            at_least_one=("hidden", "n_patches", "test_patches", "T"),
        )
        if self.patch < 2:
            raise ValueError(f"`patch` (--patch) must be an int >= 2, got {self.patch!r}.")
        if self.hidden < 2:
            raise ValueError(f"`hidden` (--hidden) must be an int >= 2, got {self.hidden!r}.")


@dataclasses.dataclass(frozen=True)
class NaturalPatches:
    """Whitened, centred natural-image patches: ``x_train`` ``(n_patches, h * w)``,
    ``x_test`` ``(test_patches, h * w)`` (``float32``, from disjoint image regions),
    ``image_shape`` ``(h, w)`` of a patch."""

    name: str
    x_train: np.ndarray
    x_test: np.ndarray
    image_shape: tuple[int, int]

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def load_patches(config: SparseCodingConfig) -> NaturalPatches:
    """The training and test patches of `config` (module docstring)."""
    images = whiten_images(load_natural_images(), f0=config.f0, variance=config.variance)
    width = images.shape[-1]
    split = int(round(width * (1.0 - config.test_fraction)))
    p = config.patch
    border = 4
    for part, cols in (("training", split), ("test", width - split)):
        if cols < p + 2 * border:
            raise ValueError(
                f"`patch` (--patch) {p} with `test_fraction` {config.test_fraction}: the "
                f"{part} region is {cols} pixels wide, too narrow for {p}-pixel patches and "
                f"a {border}-pixel border."
            )
    train = sample_patches(images[..., :split], (p, p), config.n_patches, seed=config.data_seed)
    test = sample_patches(
        images[..., split:], (p, p), config.test_patches, seed=config.data_seed + 1
    )
    return NaturalPatches("natural-images", train, test, (p, p))


@eqx.filter_jit
def _evaluate(model: SparseCoding, x: jax.Array) -> Any:
    return model.metrics(x, model.encode(x))


class SparseCodingTask(AbstractTask[SparseCodingConfig]):
    """The ``sparse-coding`` training command (see the module docstring)."""

    name: ClassVar[str] = "sparse-coding"
    description: ClassVar[str] = (
        "sparse coding of natural-image patches (Olshausen & Field 1996; museum olshausen_sc)"
    )
    config_cls: ClassVar[type[TrainConfig]] = SparseCodingConfig
    data_kinds: ClassVar[tuple[str, ...]] = ("natural-images",)

    def load_data(self, config: SparseCodingConfig) -> NaturalPatches:
        if config.data not in self.data_kinds:
            raise ValueError(
                f"`data` (--data) {config.data!r}: ngcx train {self.name} reads natural-images."
            )
        return load_patches(config)

    def train_arrays(self, run: Run[SparseCodingConfig]) -> tuple[Any, ...]:
        return (run.data.x_train,)

    def _model(self, run: Run[SparseCodingConfig]) -> SparseCoding:
        c = run.config
        return SparseCoding(
            c.patch * c.patch, c.hidden, key=jax.random.fold_in(run.key, 0), prior=c.prior,
            lmbda=c.lmbda, T=c.T, tau_m=c.tau_m, dt=c.dt, eta=c.eta, optim_type=c.optim_type,
        )  # fmt: skip

    def init(self, run: Run[SparseCodingConfig]) -> Any:
        model = self._model(run)
        return model, model.init_optimizer()

    def step(
        self, run: Run[SparseCodingConfig], state: Any, batch: tuple[Any, ...], key: Any
    ) -> tuple[Any, Any]:
        return self.make_step(run, state)(state, batch, key)

    def make_step(self, run: Run[SparseCodingConfig], state: Any) -> Any:
        optimizer = state[0].optimizer()  # built once from the concrete hyperparameters

        def step(state: Any, batch: tuple[Any, ...], key: Any) -> tuple[Any, Any]:
            del key  # inference and learning are deterministic
            model, opt_state = state
            model, opt_state, m = model.train_step(opt_state, batch[0], optimizer=optimizer)
            return (model, opt_state), {
                "train_energy": m.energy,
                "train_recon_error": m.recon_error,
                "train_sparsity": m.sparsity,
            }

        return step

    def constants(self, run: Run[SparseCodingConfig], state: Any) -> Any:
        # the prior's weight, time constants, dt and scales compiled in: only the
        # dictionary and the optimiser state move (measured: benchmarks/sparse_coding.py)
        return (plasticity.plastic_mask(state[0]), True)

    def evaluate(self, run: Run[SparseCodingConfig], state: Any, key: Any) -> dict[str, float]:
        m = _evaluate(self.model(state), jnp.asarray(run.data.x_test))
        return {
            "recon_error": float(m.recon_error),
            "sparsity": float(m.sparsity),
            "energy": float(m.energy),
        }

    def final(self, run: Run[SparseCodingConfig], state: Any, key: Any) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.evaluate(run, state, key))
        shape = run.data.image_shape
        osi = orientation_selectivity(self.model(state).atoms, shape)
        loc = localisation(self.model(state).atoms, shape)
        init = self._model(run).atoms
        out.update(
            median_orientation_selectivity=float(np.median(osi)),
            median_localisation=float(np.median(loc)),
            oriented_fraction=float(np.mean(osi > OSI_THRESHOLD)),
            localised_fraction=float(np.mean(loc > LOC_THRESHOLD)),
            median_orientation_selectivity_init=float(
                np.median(orientation_selectivity(init, shape))
            ),
            median_localisation_init=float(np.median(localisation(init, shape))),
        )
        return out

    def plots(
        self,
        run: Run[SparseCodingConfig],
        state: Any,
        history: dict[str, list[float]],
        viz: ModuleType,
    ) -> None:
        model = self.model(state)
        viz.plot_receptive_fields(
            np.asarray(model.atoms).T, run.data.image_shape, run.out / "dictionary.png",
            max_fields=model.n_latent, title=f"sparse coding dictionary ({model.prior} prior)",
        )  # fmt: skip
        curves = {k: v for k, v in history.items() if "recon_error" in k or "sparsity" in k}
        if curves:
            viz.plot_learning_curve(
                curves, run.out / "learning_curve.png", title="sparse coding",
                secondary=[k for k in curves if "sparsity" in k],
                ylabel="relative reconstruction error",
            )  # fmt: skip
