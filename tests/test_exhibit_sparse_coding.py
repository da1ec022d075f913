"""Sparse coding (ngc-museum olshausen_sc): natural-image data, whitening, the model's
inference and Hebbian rule, the qualitative result (oriented, localised atoms) and the
``sparse-coding`` training task."""

import functools
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.data._natural import load_natural_images, sample_patches, whiten_images
from ngcx.models import (
    SparseCoding,
    hoyer_sparsity,
    localisation,
    orientation_selectivity,
)
from ngcx.training._task import Run
from ngcx.training.sparse_coding import SparseCodingConfig, SparseCodingTask


P = 8  # patch side of the fast tests (the museum: 16)


@pytest.fixture(scope="module")
def patches():
    images = whiten_images(load_natural_images())
    return sample_patches(images, (P, P), 60000, seed=0)


def _train(patches, prior, lmbda=None, steps=600, batch=100):
    model = SparseCoding(
        P * P, 64, key=jax.random.key(0), prior=prior, lmbda=lmbda, T=50, dt=2.0, eta=5e-2
    )
    opt = model.optimizer()
    opt_state = model.init_optimizer(opt)
    step = jax.jit(functools.partial(SparseCoding.train_step, optimizer=opt))
    errors = []
    for i in range(steps):
        model, opt_state, m = step(model, opt_state, patches[i * batch : (i + 1) * batch])
        errors.append(float(m.recon_error))
    return model, np.asarray(errors)


@pytest.fixture(scope="module")
def trained(patches):
    """The museum's two variants on 8x8 patches, 600 steps of 100 patches each. The
    Cauchy prior's lambda is raised to 0.3: 8x8 patches carry a quarter of the energy of
    the museum's 16x16 ones, and at small codes log(1 + z^2) ~ z^2 is no sparser than a
    Gaussian prior."""
    return {
        "laplacian": _train(patches, "laplacian"),
        "cauchy": _train(patches, "cauchy", lmbda=0.3),
    }


# -- data ---------------------------------------------------------------------------


def test_natural_images_embedded():
    images = load_natural_images()
    assert images.shape == (2, 213, 320) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.std() > 0.1
    raw = load_natural_images(normalize=False)
    assert raw.dtype == np.uint8


def test_whitening_flattens_the_spectrum():
    images = load_natural_images()
    white = whiten_images(images)
    assert white.shape == images.shape
    assert abs(float(np.mean(np.var(white, axis=(1, 2)))) - 0.1) < 1e-4

    def band_power(x, lo, hi):
        spec = np.abs(np.fft.fft2(x - x.mean(axis=(1, 2), keepdims=True))) ** 2
        f = np.hypot(
            *np.meshgrid(np.fft.fftfreq(x.shape[1]), np.fft.fftfreq(x.shape[2]), indexing="ij")
        )
        return spec[:, (f >= lo) & (f < hi)].mean()

    # power per frequency, low band over middle band: about 160 for the photographs
    # (power falling as ~1/f^2), under 5 once whitened (the filter multiplies the
    # amplitude by f below the roll-off)
    assert band_power(images, 0.02, 0.05) > 50 * band_power(images, 0.2, 0.3)
    assert band_power(white, 0.02, 0.05) < 5 * band_power(white, 0.2, 0.3)


def test_sample_patches_centred_and_checked():
    images = whiten_images(load_natural_images())
    x = sample_patches(images, (6, 5), 100, seed=3)
    assert x.shape == (100, 30) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=1), 0.0, atol=1e-6)
    np.testing.assert_array_equal(x, sample_patches(images, (6, 5), 100, seed=3))
    with pytest.raises(ValueError, match="patch_shape"):
        sample_patches(images, (300, 5), 10)
    with pytest.raises(ValueError, match="n_patches"):
        sample_patches(images, (4, 4), 0)
    with pytest.raises(ValueError, match="f0"):
        whiten_images(images, f0=0.0)


# -- model --------------------------------------------------------------------------


@pytest.mark.parametrize("prior", ["cauchy", "laplacian"])
def test_hebbian_rule_is_minus_energy_gradient(prior, getkey):
    model = SparseCoding(16, 12, key=getkey(), prior=prior, T=5)
    x = jax.random.normal(getkey(), (7, 16))
    z = jax.random.normal(getkey(), (7, 12))
    rule = model.hebbian_updates(x, z).weights

    def energy(W):
        return eqx.tree_at(lambda m: m.dictionary.weights, model, W).energy(x, z)

    grad = jax.grad(energy)(model.dictionary.weights)
    np.testing.assert_allclose(rule, -grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("prior", ["cauchy", "laplacian"])
def test_inference_lowers_the_energy(prior, patches):
    model = SparseCoding(P * P, 64, key=jax.random.key(1), prior=prior, T=60, dt=2.0)
    x = jnp.asarray(patches[:50])
    z, energies = model.infer(x, record_energy=True)
    e0 = float(model.energy(x, jnp.zeros_like(z)))
    e = np.asarray(energies)
    assert e[-1] < 0.7 * e0
    assert np.all(np.diff(e) <= 1e-4 * e0)  # monotone: gradient flow / ISTA with beta < 1/L
    np.testing.assert_allclose(float(model.energy(x, z)), e[-1], rtol=1e-5)


def test_laplacian_codes_are_exactly_sparse(patches):
    model = SparseCoding(P * P, 64, key=jax.random.key(1), prior="laplacian", T=60, dt=2.0)
    z = model.encode(jnp.asarray(patches[:50]))
    assert float(jnp.mean(z == 0)) > 0.3
    assert float(jnp.mean(hoyer_sparsity(z))) > 0.4


def test_train_step_keeps_unit_atoms(patches):
    model = SparseCoding(P * P, 32, key=jax.random.key(2), T=10)
    np.testing.assert_allclose(jnp.linalg.norm(model.atoms, axis=1), 1.0, rtol=1e-5)
    opt_state = model.init_optimizer()
    model, opt_state, m = model.train_step(opt_state, jnp.asarray(patches[:64]))
    np.testing.assert_allclose(jnp.linalg.norm(model.atoms, axis=1), 1.0, rtol=1e-5)
    assert set(type(m).__dataclass_fields__) == {"energy", "recon_error", "sparsity"}


def test_bad_arguments():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="prior"):
        SparseCoding(16, 8, key=key, prior="gaussian")
    with pytest.raises(ValueError, match="lmbda"):
        SparseCoding(16, 8, key=key, lmbda=-1.0)
    with pytest.raises(ValueError, match="n_latent"):
        SparseCoding(16, 1, key=key)
    model = SparseCoding(16, 8, key=key, T=2)
    with pytest.raises(ValueError, match="`x`"):
        model.infer(jnp.zeros((3, 15)))


def test_filter_indices_on_known_filters():
    r, c = np.meshgrid(np.arange(P), np.arange(P), indexing="ij")
    grating = np.cos(2 * np.pi * 0.25 * (r + c))
    blob = np.exp(-((r - 3.5) ** 2 + (c - 3.5) ** 2) / 4.5) * np.cos(2 * np.pi * 0.3 * r)
    flat = np.ones((P, P))
    filters = np.stack([grating, blob, flat]).reshape(3, -1)
    osi = orientation_selectivity(filters, (P, P))
    loc = localisation(filters, (P, P))
    assert osi[0] > 0.75 and osi[1] > 0.5
    assert loc[1] > 0.4 and abs(loc[2]) < 1e-9 and abs(loc[0]) < 0.1
    noise = np.random.default_rng(0).normal(size=(200, P * P))
    assert np.median(orientation_selectivity(noise, (P, P))) < 0.2
    assert np.median(localisation(noise, (P, P))) < 0.06
    with pytest.raises(ValueError, match="filters"):
        localisation(filters, (P, P + 1))


# -- the qualitative result ---------------------------------------------------------------


def test_learned_atoms_are_oriented_and_localised(trained):
    """Olshausen & Field's result: the atoms become localised, oriented, band-pass
    filters. Proxies (see orientation_selectivity and localisation): the concentration of
    each atom's power spectrum around one orientation and of its energy in space. Random
    unit-norm atoms (the initial dictionary) almost never pass the thresholds."""
    init = SparseCoding(P * P, 64, key=jax.random.key(0)).atoms
    osi0 = orientation_selectivity(init, (P, P))
    loc0 = localisation(init, (P, P))
    assert np.mean(osi0 > 0.3) < 0.1 and np.mean(loc0 > 0.15) < 0.05

    model, errors = trained["laplacian"]  # the museum's ISTA model
    osi = orientation_selectivity(model.atoms, (P, P))
    loc = localisation(model.atoms, (P, P))
    assert np.mean(osi > 0.3) > 0.8
    assert np.mean(loc > 0.15) > 0.75
    assert np.mean(errors[-50:]) < 0.5 * np.mean(errors[:5])

    model, errors = trained["cauchy"]
    osi = orientation_selectivity(model.atoms, (P, P))
    loc = localisation(model.atoms, (P, P))
    assert np.median(osi) > 0.45 and np.mean(osi > 0.3) > 0.6
    assert np.median(loc) > 0.1
    assert np.mean(errors[-50:]) < 0.5 * np.mean(errors[:5])


# -- the training task ------------------------------------------------------------------


def _config(tmp_path: Path, **kw):
    base = dict(
        patch=8, hidden=16, n_patches=400, test_patches=100, T=10, dt=2.0, batch_size=50,
        epochs=1, out=str(tmp_path / "run"), plots=False,
    )  # fmt: skip
    base.update(kw)
    return SparseCodingConfig(**base)


def test_task_step_and_evaluate(tmp_path):
    task = SparseCodingTask()
    config = _config(tmp_path, prior="laplacian")
    data = task.load_data(config)
    assert data.x_train.shape == (400, 64) and data.x_test.shape == (100, 64)
    run = Run(config, data, None, jax.random.key(config.seed), tmp_path)
    state = task.init(run)
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    state, metrics = step(state, (data.x_train[:50],), jax.random.key(1))
    assert set(metrics) == {"train_energy", "train_recon_error", "train_sparsity"}
    ev = task.evaluate(run, state, jax.random.key(2))
    assert set(ev) == {"recon_error", "sparsity", "energy"}
    assert all(np.isfinite(v) for v in ev.values())
    final = task.final(run, state, jax.random.key(2))
    assert 0.0 <= final["oriented_fraction"] <= 1.0 and "median_localisation_init" in final


def test_task_config_errors(tmp_path):
    with pytest.raises(ValueError, match="data"):
        _config(tmp_path, data="digits")
    with pytest.raises(ValueError, match="prior"):
        _config(tmp_path, prior="gaussian")
    with pytest.raises(ValueError, match="patch"):
        _config(tmp_path, patch=1)
    with pytest.raises(ValueError, match="patch"):
        SparseCodingTask().load_data(_config(tmp_path, patch=60, test_fraction=0.1))


def test_task_fit_smoke(tmp_path):
    pytest.importorskip("matplotlib")
    from ngcx.training import fit

    config = _config(tmp_path, plots=True)
    result = fit(SparseCodingTask(), config, progress=False)
    out = Path(config.out)
    assert (out / "dictionary.png").is_file() and (out / "learning_curve.png").is_file()
    assert np.isfinite(result.final["recon_error"])
