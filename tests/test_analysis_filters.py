import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import TypeCheckError
from scipy import ndimage

from ngcx import analysis, filters
from ngcx.data import load_digits
from ngcx.feature_dictionaries import PolynomialLibrary


def test_gaussian_kernel_and_filters_against_scipy():
    k = filters.gaussian_kernel_2d(1.0, 2)
    assert k.shape == (5, 5) and float(k.sum()) == pytest.approx(1.0)
    img = np.random.default_rng(0).uniform(size=(2, 3, 12, 10)).astype(np.float32)
    dog = filters.gaussian_filter(img, 1.0, 2.0, 4)
    assert dog.shape == img.shape
    # interior pixels equal scipy's truncated Gaussian blurs (normalised kernels of radius 4)
    ref = ndimage.gaussian_filter(
        img[0, 0], 1.0, truncate=4.0, mode="nearest"
    ) - ndimage.gaussian_filter(img[0, 0], 2.0, truncate=2.0, mode="nearest")
    np.testing.assert_allclose(np.asarray(dog)[0, 0, 4:-4, 4:-4], ref[4:-4, 4:-4], atol=5e-3)
    rog = filters.gaussian_filter(img + 1, 1.0, 2.0, 2, use_ratio=True)
    assert float(jnp.min(rog)) > 0
    cort = filters.cortical_gaussian_filter(img, 1.0, 2.0, 2)
    assert float(jnp.min(cort)) >= 0.0
    norm = filters.cortical_gaussian_filter(img, 1.0, 2.0, 2, use_ratio=True)
    assert norm.shape == img.shape and np.isfinite(np.asarray(norm)).all()
    with pytest.raises((ValueError, TypeCheckError), match="images"):
        filters.gaussian_filter(img[0], 1.0, 2.0, 2)


def test_polynomial_library():
    x, y = jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0])
    lib, names = PolynomialLibrary(2).fit([x, y])
    assert names == ["1", "y^1", "y^2", "x^1", "x^1 y^1", "x^2"]
    np.testing.assert_allclose(lib[1], [1, 4, 16, 2, 8, 4])
    lib, names = PolynomialLibrary(1, include_bias=False).fit([x])
    assert names == ["x^1"] and lib.shape == (2, 1)
    assert len(PolynomialLibrary(2).fit([x, y, x])[1]) == 10
    with pytest.raises(ValueError, match="poly_order"):
        PolynomialLibrary(-1)


def test_probes_on_digits():
    x, y = load_digits()
    xtr, ytr, xte, yte = x[:1400], y[:1400], x[1400:], y[1400:]
    probe = analysis.LinearProbe(64, 10, key=jax.random.key(0), use_softmax=True, use_LN=True)
    trained, losses = probe.fit(xtr, jax.nn.one_hot(ytr, 10), n_iter=150)
    assert float(losses[-1]) < float(losses[0])
    assert float(jnp.mean(trained.predict(xte) == yte)) > 0.9
    knn = analysis.KNNProbe(3).fit(xtr, ytr)
    assert float(jnp.mean(knn.predict(xte) == yte)) > 0.95
    km = analysis.KMeansProbe(30, key=jax.random.key(1)).fit(xtr, ytr)
    assert float(jnp.mean(km.predict(xte) == yte)) > 0.7
    seq = np.repeat(xte[:, None, :], 4, axis=1)
    np.testing.assert_array_equal(trained.predict(seq), trained.predict(xte))
    with pytest.raises(ValueError, match="fit"):
        analysis.KNNProbe(3).predict(xte)


def test_effective_dimensionality():
    rng = np.random.default_rng(0)
    iso = rng.normal(size=(4000, 5)).astype(np.float32)
    assert float(analysis.participation_ratio(iso)) == pytest.approx(5.0, rel=0.05)
    assert float(analysis.stable_rank(iso)) == pytest.approx(5.0, rel=0.15)
    line = np.outer(rng.normal(size=200), np.ones(5)).astype(np.float32)
    assert float(analysis.participation_ratio(line)) == pytest.approx(1.0, rel=1e-3)
    assert float(analysis.stable_rank(line)) == pytest.approx(1.0, rel=1e-3)
    assert float(analysis.rankme(line)) == pytest.approx(1.0, abs=0.01)
    assert 4.0 < float(analysis.rankme(iso)) <= 5.0
    assert float(analysis.participation_ratio(np.ones((10, 3), np.float32))) == 1.0
