import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from ngcx import metrics as M


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, (20, 6)).astype(np.float32)
    x = (rng.uniform(size=(20, 6)) > 0.5).astype(np.float32)
    logits = rng.normal(size=(20, 6)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return p, x, probs


def test_losses_against_numpy(data):
    p, x, probs = data
    np.testing.assert_allclose(
        M.measure_MSE(p, x, True), ((p - x) ** 2).sum(1, keepdims=True), rtol=1e-5
    )
    np.testing.assert_allclose(M.measure_MSE(p, x), ((p - x) ** 2).sum(1).mean(), rtol=1e-5)
    np.testing.assert_allclose(M.measure_MAE(p, x), np.abs(p - x).sum(1).mean(), rtol=1e-5)
    np.testing.assert_allclose(
        M.measure_RMSE(p, x, True), np.sqrt(((p - x) ** 2).sum(1, keepdims=True)), rtol=1e-5
    )
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1)
    np.testing.assert_allclose(M.measure_BCE(p, x), bce.mean(), rtol=1e-5)
    onehot = np.eye(6, dtype=np.float32)[np.arange(20) % 6]
    np.testing.assert_allclose(
        M.measure_CatNLL(probs, onehot), -(onehot * np.log(probs)).sum(1).mean(), rtol=1e-5
    )
    q = np.roll(probs, 1, axis=0)
    np.testing.assert_allclose(
        M.measure_KLD(q, probs, True)[:, 0], stats.entropy(probs, q, axis=1), rtol=1e-4
    )
    assert M.measure_MSE(p, x, True).shape == (20, 1) and M.measure_MSE(p, x).shape == ()


def test_gaussian_kld_closed_form_and_monte_carlo():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 3))
    S1 = A @ A.T + np.eye(3)
    B = rng.normal(size=(3, 3))
    S2 = B @ B.T + np.eye(3)
    m1, m2 = rng.normal(size=(1, 3)), rng.normal(size=(1, 3))
    d = m2 - m1
    P2 = np.linalg.inv(S2)
    ref = 0.5 * (
        np.log(np.linalg.det(S2) / np.linalg.det(S1)) + np.trace(P2 @ S1) + (d @ P2 @ d.T)[0, 0] - 3
    )
    for chol in (True, False):
        got = M.measure_gaussian_KLD(
            *(jnp.asarray(v, jnp.float32) for v in (m1, S1, m2, S2)), use_chol_prec=chol
        )
        np.testing.assert_allclose(got, [[ref]], rtol=1e-3)
    same = M.measure_gaussian_KLD(jnp.zeros((1, 3)), jnp.eye(3), jnp.zeros((1, 3)), jnp.eye(3))
    np.testing.assert_allclose(same, 0.0, atol=1e-6)


def test_clustering_scores_against_sklearn():
    rng = np.random.default_rng(2)
    for _ in range(5):
        t = rng.integers(0, 4, 60)
        p = np.where(rng.uniform(size=60) < 0.7, t, rng.integers(0, 5, 60))
        np.testing.assert_allclose(
            M.measure_ARI(t, p), skm.adjusted_rand_score(t, p), rtol=1e-4, atol=1e-6
        )
        np.testing.assert_allclose(
            M.measure_FMI(t, p), skm.fowlkes_mallows_score(t, p), rtol=1e-4, atol=1e-6
        )
        for beta in (0.5, 1.0, 2.0):
            np.testing.assert_allclose(
                M.measure_Vmeasure(t, p, beta),
                skm.v_measure_score(t, p, beta=beta),
                rtol=1e-4,
                atol=1e-6,
            )
    assert float(M.measure_ARI(np.array([0, 0, 1]), np.array([5, 5, 2]))) == pytest.approx(1.0)
    jitted = jax.jit(lambda a, b: M.measure_ARI(a, b, n_classes=4, n_clusters=5))(
        jnp.asarray(t), jnp.asarray(p)
    )
    np.testing.assert_allclose(jitted, skm.adjusted_rand_score(t, p), rtol=1e-4)


def test_accuracy_and_analyze_scores_against_sklearn(data):
    _, _, probs = data
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, 20)
    onehot = np.eye(6, dtype=np.float32)[labels]
    guesses = probs.argmax(1)
    assert float(M.measure_ACC(probs, onehot)) == pytest.approx((guesses == labels).mean())
    assert float(M.measure_ACC(probs, labels, extract_label_indx=False)) == pytest.approx(
        (guesses == labels).mean()
    )
    scores = probs.copy()
    scores[0] = 0.0  # a miss
    conf, prec, rec, misses, acc, adj = M.analyze_scores(scores, onehot)
    g = scores.argmax(1)
    np.testing.assert_array_equal(conf, skm.confusion_matrix(labels, g, labels=range(6)))
    assert prec == pytest.approx(skm.precision_score(labels, g, average="macro", zero_division=0))
    assert rec == pytest.approx(skm.recall_score(labels, g, average="macro", zero_division=0))
    assert misses == 1.0 and acc == pytest.approx((g == labels).mean())
    assert adj == pytest.approx(((g == labels) & (np.arange(20) != 0)).mean())


def test_spike_and_sparsity_statistics():
    rng = np.random.default_rng(4)
    spikes = (rng.uniform(size=(200, 5)) < np.array([0.1, 0.2, 0.3, 0.4, 0.5])).astype(np.float32)
    np.testing.assert_allclose(
        M.measure_firingRate(spikes, True), spikes.mean(0, keepdims=True), rtol=1e-6
    )
    np.testing.assert_allclose(
        M.measure_fanoFactor(spikes, True),
        spikes.var(0, keepdims=True) / spikes.mean(0, keepdims=True),
        rtol=1e-5,
    )
    resp = rng.uniform(size=(3, 10, 4)).astype(np.float32)
    r = resp.mean(0)
    c = r.var(0) / r.mean(0)
    np.testing.assert_allclose(M.measure_breadth_TC(resp, True)[0], 1 / (1 + c**2), rtol=1e-5)
    silent = np.zeros((10, 2), np.float32)
    np.testing.assert_array_equal(M.measure_breadth_TC(silent, True), [[0.0, 0.0]])
    codes = rng.exponential(size=(8, 30)).astype(np.float32)
    np.testing.assert_allclose(
        M.measure_excess_kurtosis(codes, True)[:, 0],
        stats.kurtosis(codes, axis=1, fisher=True),
        rtol=1e-3,
    )
    one_hot = np.zeros((1, 16), np.float32)
    one_hot[0, 3] = 2.0
    np.testing.assert_allclose(M.measure_hoyer_sparsity(one_hot), 1.0, atol=1e-4)
    np.testing.assert_allclose(
        M.measure_hoyer_sparsity(np.ones((1, 16), np.float32)), 0.0, atol=1e-4
    )
    # Gini: hand formula on sorted values
    v = np.array([[0.0, 1.0, 3.0, 0.0]], np.float32)
    xs = np.sort(v + 1e-8)
    i = np.arange(1, 5)
    np.testing.assert_allclose(
        M.measure_gini_index(v), ((2 * i - 5) * xs).sum() / (4 * xs.sum()), rtol=1e-5
    )
    np.testing.assert_allclose(M.measure_sparsity(v), [[0.5]])
    np.testing.assert_allclose(M.measure_sparsity(v, flip_measure=True, preserve_batch=False), 0.5)


def test_bic_and_input_errors():
    X = np.zeros((100, 3))
    np.testing.assert_allclose(M.measure_BIC(X, 5, -40.0), 80.0 + 5 * np.log(100), rtol=1e-5)
    np.testing.assert_allclose(
        M.measure_BIC(X, 5, np.exp(-40.0), is_log=False), 80.0 + 5 * np.log(100), rtol=1e-4
    )
    with pytest.raises(ValueError, match="mu"):
        M.measure_MSE(np.ones((2, 3), np.float32), np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="Sigma"):
        M.measure_gaussian_KLD(jnp.zeros((1, 2)), jnp.eye(3), jnp.zeros((1, 2)), jnp.eye(2))


def test_metrics_jit_and_vmap(data):
    p, x, _ = data
    np.testing.assert_allclose(
        jax.jit(M.measure_MSE, static_argnums=2)(p, x, True), M.measure_MSE(p, x, True), rtol=1e-6
    )
    per = jax.vmap(lambda a, b: M.measure_BCE(a[None], b[None]))(jnp.asarray(p), jnp.asarray(x))
    np.testing.assert_allclose(per, M.measure_BCE(p, x, preserve_batch=True)[:, 0], rtol=1e-5)
    g = jax.grad(lambda a: M.measure_MSE(a, x))(jnp.asarray(p))
    np.testing.assert_allclose(g, 2 * (p - x) / 20, rtol=1e-5)
