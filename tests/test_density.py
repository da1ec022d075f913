import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from ngcx.density import BernoulliMixture, ExponentialMixture, GaussianMixture, kmeans


def _two_blobs(key, n=400):
    k1, k2 = jax.random.split(key)
    a = jax.random.normal(k1, (n // 2, 2)) * 0.3 + jnp.array([[2.0, 0.0]])
    b = jax.random.normal(k2, (n // 2, 2)) * 0.5 + jnp.array([[-2.0, 1.0]])
    return jnp.concatenate([a, b])


@pytest.mark.parametrize("diag", [False, True])
def test_gmm_recovers_components_and_em_is_monotone(diag):
    X = _two_blobs(jax.random.key(0))
    gmm = GaussianMixture(2, max_iter=60, assume_diag_cov=diag, key=jax.random.key(1)).init(X)
    lls = []
    model = gmm
    for _ in range(15):
        lls.append(float(jnp.mean(model.calc_log_likelihood(X))))
        model = model.update(X)
    assert all(b >= a - 1e-4 for a, b in zip(lls, lls[1:]))
    fitted = GaussianMixture(2, assume_diag_cov=diag, key=jax.random.key(1)).fit(X)
    means = np.asarray(fitted.mu)[np.argsort(np.asarray(fitted.mu)[:, 0])]
    np.testing.assert_allclose(means, [[-2.0, 1.0], [2.0, 0.0]], atol=0.15)
    np.testing.assert_allclose(np.sort(np.asarray(fitted.pi)), [0.5, 0.5], atol=0.05)
    # the log-likelihood is the scipy mixture density
    ref = np.log(
        sum(
            float(fitted.pi[k])
            * stats.multivariate_normal(np.asarray(fitted.mu[k]), np.asarray(fitted.Sigma[k])).pdf(
                np.asarray(X)
            )
            for k in range(2)
        )
    )
    np.testing.assert_allclose(fitted.calc_log_likelihood(X)[:, 0], ref, rtol=1e-3, atol=1e-3)
    samples = fitted.sample(2000, key=jax.random.key(3))
    assert samples.shape == (2000, 2)
    comp0 = fitted.sample(500, mode_j=0, key=jax.random.key(4))
    np.testing.assert_allclose(np.asarray(comp0).mean(0), np.asarray(fitted.mu[0]), atol=0.1)
    assert fitted.responsibilities(X).shape == (400, 2)


def test_bernoulli_and_exponential_mixtures():
    key = jax.random.key(5)
    k1, k2, k3 = jax.random.split(key, 3)
    protos = jnp.array([[0.9, 0.9, 0.1, 0.1], [0.1, 0.1, 0.9, 0.9]])
    comps = jax.random.bernoulli(k1, 0.5, (600,)).astype(jnp.int32)
    X = jax.random.bernoulli(k2, protos[comps]).astype(jnp.float32)
    bmm = BernoulliMixture(2, key=k3, init_kmeans=True).fit(X)
    p = np.asarray(bmm.p)[np.argsort(np.asarray(bmm.p)[:, 0])]
    np.testing.assert_allclose(p, protos[::-1], atol=0.08)
    assert set(np.unique(np.asarray(bmm.sample(50, key=k1)))) <= {0.0, 1.0}
    rates = jnp.array([[1.0, 5.0], [8.0, 0.5]])
    Xe = (
        jax.random.exponential(k2, (1000, 2))
        / rates[comps[:1000] if comps.shape[0] >= 1000 else jnp.resize(comps, (1000,))]
    )
    emm = ExponentialMixture(2, key=k3, max_iter=200).fit(Xe, tol=1e-6)
    lam = np.asarray(emm.lam)[np.argsort(np.asarray(emm.lam)[:, 0])]
    np.testing.assert_allclose(lam, rates, rtol=0.25)
    ll = emm.calc_log_likelihood(Xe)
    assert ll.shape == (1000, 1) and np.isfinite(np.asarray(ll)).all()


def test_kmeans_errors_and_jit():
    X = _two_blobs(jax.random.key(0))
    c = kmeans(X, 2, jax.random.key(1))
    np.testing.assert_allclose(np.sort(np.asarray(c)[:, 0]), [-2.0, 2.0], atol=0.15)
    with pytest.raises(ValueError, match="init"):
        GaussianMixture(2).calc_log_likelihood(X)
    with pytest.raises(ValueError, match="K"):
        GaussianMixture(0)
    with pytest.raises(ValueError, match="N >= K"):
        GaussianMixture(5).init(X[:3])
    fitted = jax.jit(lambda x: GaussianMixture(2, key=jax.random.key(1)).fit(x).mu)(X)
    assert fitted.shape == (2, 2)
