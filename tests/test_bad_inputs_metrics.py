"""Bad input never passes silently (issue 13) in ``ngcx.metrics``, ``ngcx.analysis`` and
``ngcx.density``: each case asserts the exception type and that the message names the
user's argument (and, where there is one, the shape or value received)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

import ngcx
from ngcx import analysis as A, metrics as M
from ngcx.density import BernoulliMixture, ExponentialMixture, GaussianMixture, kmeans


pytestmark = pytest.mark.usefixtures("normal_use")


K0 = jax.random.key(0)


def f32(*shape, value=0.5):
    return np.full(shape, value, np.float32)


def _onehot(labels, n):
    return np.eye(n, dtype=np.float32)[np.asarray(labels)]


X2 = np.array([[0.0, 0.0], [0.1, 0.2], [2.0, 2.0], [2.1, 1.9], [0.2, 0.1], [1.9, 2.2]], np.float32)


# ------------------------------------------------------------------------------ metrics

METRIC_CASES = {
    "MSE empty": (lambda: M.measure_MSE(f32(0, 3), f32(0, 3)), r"`mu` must not be empty.*\(0, 3\)"),
    "MSE rank 1": (lambda: M.measure_MSE(f32(3), f32(3)), r"`mu` must have shape \(N, D\).*\(3,\)"),
    "MSE 10 rows vs 1": (
        lambda: M.measure_MSE(f32(10, 3), f32(1, 3)),
        r"`mu` and `x` .*\(10, 3\) and \(1, 3\)",
    ),
    "MAE mismatch": (lambda: M.measure_MAE(f32(2, 3), f32(2, 4)), r"`shift` and `x`"),
    "RMSE empty x": (lambda: M.measure_RMSE(f32(2, 3), f32(2, 0)), r"`x` must not be empty"),
    "BCE p > 1": (lambda: M.measure_BCE(f32(2, 3, value=1.5), f32(2, 3)), r"`p` .*\[0, 1\].*1\.5"),
    "BCE x < 0": (lambda: M.measure_BCE(f32(2, 3), f32(2, 3, value=-1.0)), r"`x` .*\[0, 1\]"),
    "BCE offset": (lambda: M.measure_BCE(f32(2, 3), f32(2, 3), offset=0.7), r"`offset` .*0\.7"),
    "CatNLL p < 0": (lambda: M.measure_CatNLL(f32(2, 3, value=-0.1), f32(2, 3)), r"`p` .*\[0, 1\]"),
    "KLD p_x > 1": (lambda: M.measure_KLD(f32(2, 3), f32(2, 3, value=2.0)), r"`p_x` .*2\.0"),
    "KLD mismatch": (lambda: M.measure_KLD(f32(2, 3), f32(3, 3)), r"`p_xHat` and `p_x`"),
    "gaussian KLD D mismatch": (
        lambda: M.measure_gaussian_KLD(f32(1, 2), np.eye(2), f32(1, 3), np.eye(2)),
        r"`mu1` and `mu2` .*\(1, 2\) and \(1, 3\)",
    ),
    "gaussian KLD rows mismatch": (
        lambda: M.measure_gaussian_KLD(f32(3, 2), np.eye(2), f32(2, 2), np.eye(2)),
        r"`mu1` and `mu2` .*rows.*\(3, 2\) and \(2, 2\)",
    ),
    "gaussian KLD Sigma2 not PD": (
        lambda: M.measure_gaussian_KLD(f32(1, 2), np.eye(2), f32(1, 2), -np.eye(2)),
        r"`Sigma2` must be symmetric positive definite",
    ),
    "gaussian KLD Sigma1 not symmetric": (
        lambda: M.measure_gaussian_KLD(f32(1, 2), [[1.0, 0.5], [0.0, 1.0]], f32(1, 2), np.eye(2)),
        r"`Sigma1` must be symmetric positive definite",
    ),
    "gaussian KLD empty mu1": (
        lambda: M.measure_gaussian_KLD(f32(1, 0), np.eye(0), f32(1, 0), np.eye(0)),
        r"`mu1` must not be empty",
    ),
    "BIC empty X": (lambda: M.measure_BIC(np.zeros((0, 3)), 5, -1.0), r"`X` .*\(0, 3\)"),
    "BIC n_model_params": (
        lambda: M.measure_BIC(np.zeros((4, 3)), -1, -1.0),
        r"`n_model_params` .*-1",
    ),
    "BIC likelihood 0": (
        lambda: M.measure_BIC(np.zeros((4, 3)), 2, 0.0, is_log=False),
        r"`max_model_score` must be > 0, got 0\.0",
    ),
    "ACC 10 preds vs 1 label row": (
        lambda: M.measure_ACC(f32(10, 3), _onehot([1], 3)),
        r"`mu` and `y` .*\(10, 3\) and \(1, 3\)",
    ),
    "ACC empty mu": (lambda: M.measure_ACC(f32(0, 3), f32(0, 3)), r"`mu` must not be empty"),
    "ACC mu rank 1": (lambda: M.measure_ACC(f32(3), f32(3)), r"`mu` must have shape \(N, C\)"),
    "ACC float labels": (
        lambda: M.measure_ACC(f32(2, 3), np.array([0.5, 1.0]), extract_label_indx=False),
        r"`y` must hold integer labels, got 0\.5",
    ),
    "ACC label out of range": (
        lambda: M.measure_ACC(f32(2, 3), np.array([0, 7]), extract_label_indx=False),
        r"`y` labels must be in \[0, 3\).*7",
    ),
    "ACC integer labels as one-hot": (
        lambda: M.measure_ACC(f32(2, 3), np.array([0, 1])),
        r"`y` must have shape \(N, C\).*\(2,\)",
    ),
    "ACC label column": (
        lambda: M.measure_ACC(f32(2, 3), np.array([[0], [1]]), extract_label_indx=False),
        r"`y` must have shape \(N,\).*\(2, 1\)",
    ),
    "ARI empty": (lambda: M.measure_ARI([], []), r"`labels_true` must not be empty"),
    "ARI length mismatch": (
        lambda: M.measure_ARI([0, 1, 1], [0, 1]),
        r"`labels_true` and `labels_pred` .*\(3,\) and \(2,\)",
    ),
    "ARI float labels": (
        lambda: M.measure_ARI([0, 1], [0.0, 0.5]),
        r"`labels_pred` must hold integer labels, got 0\.5",
    ),
    "ARI one-hot labels": (
        lambda: M.measure_ARI(_onehot([0, 1], 2), [0, 1]),
        r"`labels_true` must have shape \(N,\).*\(2, 2\)",
    ),
    "ARI label outside n_classes": (
        lambda: M.measure_ARI([0, 2], [0, 1], n_classes=2),
        r"`labels_true` must be in \[0, n_classes=2\), got 2",
    ),
    "ARI n_classes 0": (lambda: M.measure_ARI([0, 1], [0, 1], n_classes=0), r"`n_classes` .*0"),
    "FMI empty": (lambda: M.measure_FMI([0], []), r"`labels_pred` must not be empty"),
    "Vmeasure beta": (lambda: M.measure_Vmeasure([0, 1], [0, 1], beta=-1.0), r"`beta` .*-1\.0"),
    "contingency negative": (
        lambda: M.contingency_matrix([0, -1], [0, 1]),
        r"`labels_true` must be >= 0 .*-1",
    ),
    "contingency traced without n_classes": (
        lambda: jax.jit(M.contingency_matrix)(jnp.array([0, 1]), jnp.array([0, 1])),
        r"`n_classes` is required when `labels_true` is traced",
    ),
    "firingRate empty": (lambda: M.measure_firingRate(f32(0, 4)), r"`spikes` must not be empty"),
    "firingRate rank 1": (lambda: M.measure_firingRate(f32(4)), r"`spikes` .*\(T, D\).*\(4,\)"),
    "fanoFactor rank 3": (lambda: M.measure_fanoFactor(f32(2, 3, 4)), r"`spikes` .*\(2, 3, 4\)"),
    "breadth_TC empty": (lambda: M.measure_breadth_TC(f32(0, 3)), r"`responses` must not be empty"),
    "kurtosis rank 1": (lambda: M.measure_excess_kurtosis(f32(5)), r"`codes` .*\(5,\)"),
    "hoyer one unit": (
        lambda: M.measure_hoyer_sparsity(f32(4, 1)),
        r"`codes` must have at least 2 units.*\(4, 1\)",
    ),
    "gini empty": (lambda: M.measure_gini_index(f32(3, 0)), r"`codes` must not be empty"),
    "sparsity rank 3": (lambda: M.measure_sparsity(f32(2, 3, 4)), r"`codes` .*\(N, D\)"),
    "Pearson empty": (
        lambda: M.measure_Pearson_correlation(f32(0, 3, 2), f32(0, 3, 2)),
        r"`a` must not be empty",
    ),
    "workload negative": (
        lambda: M.measure_workload_entropy(np.array([[1.0, -2.0]])),
        r"`spike_count_matrix` must be >= 0.*-2\.0",
    ),
    "workload empty": (
        lambda: M.measure_workload_entropy(f32(0, 3)),
        r"`spike_count_matrix` must not be empty",
    ),
    "analyze_scores negative label": (
        lambda: M.analyze_scores(f32(2, 3), np.array([0, -1]), extract_label_indx=False),
        r"`y` labels must be >= 0, got -1",
    ),
    "analyze_scores rows": (
        lambda: M.analyze_scores(f32(3, 3), _onehot([0, 1], 3)),
        r"`mu` and `y` .*\(3, 3\) and \(2, 3\)",
    ),
}


@pytest.mark.parametrize("case", list(METRIC_CASES))
def test_metrics_refuse_bad_input(case):
    call, match = METRIC_CASES[case]
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- analysis


def _linear():
    return A.LinearProbe(4, 3, key=K0)


def _attentive():
    return A.AttentiveProbe(K0, 2, 4, 3, num_heads=2, attn_dim=4, learnable_query_dim=4)


ANALYSIS_CASES = {
    "LinearProbe input_dim": (lambda: A.LinearProbe(0, 3, key=K0), r"`input_dim` .*0"),
    "LinearProbe out_dim": (lambda: A.LinearProbe(4, 2.5, key=K0), r"`out_dim` .*2\.5"),
    "LinearProbe codes width": (
        lambda: _linear().fit(f32(5, 6), f32(5, 3)),
        r"`codes` must be \(N, 4\) or \(N, L, 4\), got shape \(5, 6\)",
    ),
    "LinearProbe codes empty": (
        lambda: _linear().fit(f32(0, 4), f32(0, 3)),
        r"`codes` must not be empty",
    ),
    "LinearProbe targets rows": (
        lambda: _linear().fit(f32(5, 4), f32(4, 3)),
        r"`targets` must have shape \(5, 3\).*\(4, 3\)",
    ),
    "LinearProbe eta": (lambda: _linear().fit(f32(5, 4), f32(5, 3), eta=0.0), r"`eta` .*> 0"),
    "LinearProbe n_iter": (lambda: _linear().fit(f32(5, 4), f32(5, 3), n_iter=0), r"`n_iter`"),
    "LinearProbe batch_size": (
        lambda: _linear().fit(f32(5, 4), f32(5, 3), batch_size=0, key=K0),
        r"`batch_size` .*0",
    ),
    "LinearProbe dev targets": (
        lambda: _linear().fit(f32(5, 4), f32(5, 3), dev_dataset=(f32(2, 4), f32(2, 2))),
        r"`dev_dataset\[1\]` must have shape \(2, 3\)",
    ),
    "LinearProbe dev not a pair": (
        lambda: _linear().fit(f32(5, 4), f32(5, 3), dev_dataset=(f32(2, 4), f32(2, 3), 0)),
        r"`dev_dataset` must be a \(codes, targets\) pair",
    ),
    "LinearProbe predict width": (
        lambda: _linear().predict(f32(2, 5)),
        r"`codes` .*got shape \(2, 5\)",
    ),
    "KNN k": (lambda: A.KNNProbe(0), r"`k` .*0"),
    "KNN k > samples": (lambda: A.KNNProbe(5).fit(X2[:3], [0, 1, 0]), r"`k`=5 .*3 samples"),
    "KNN labels rows": (
        lambda: A.KNNProbe(1).fit(X2, [0, 1]),
        r"`codes` and `labels` .*\(6, 2\) and \(2,\)",
    ),
    "KNN negative label": (
        lambda: A.KNNProbe(1).fit(X2, [0, 1, 0, -1, 0, 1]),
        r"`labels` must hold labels >= 0, got -1",
    ),
    "KNN float label": (
        lambda: A.KNNProbe(1).fit(X2, [0, 1, 0, 0.5, 0, 1]),
        r"`labels` must hold integer labels, got 0\.5",
    ),
    "KNN query width": (
        lambda: A.KNNProbe(1).fit(X2, [0, 1, 0, 1, 0, 1]).predict(f32(1, 3)),
        r"`codes` must be \(N, 2\) .*\(1, 3\)",
    ),
    "KMeans n_clusters": (lambda: A.KMeansProbe(0, key=K0), r"`n_clusters` .*0"),
    "KMeans n_iter": (lambda: A.KMeansProbe(2, key=K0, n_iter=-1), r"`n_iter` .*-1"),
    "KMeans more clusters than samples": (
        lambda: A.KMeansProbe(10, key=K0).fit(X2),
        r"`n_clusters`=10 exceeds the 6 samples",
    ),
    "KMeans labels rows": (
        lambda: A.KMeansProbe(2, key=K0).fit(X2, [0, 1, 1]),
        r"`codes` and `labels` .*\(6, 2\) and \(3,\)",
    ),
    "participation_ratio empty": (
        lambda: A.participation_ratio(f32(0, 3)),
        r"`latent_codes` must not be empty",
    ),
    "rankme rank 1": (lambda: A.rankme(f32(5)), r"`latent_codes` .*\(5,\)"),
    "rankme eps": (lambda: A.rankme(X2, eps=-1.0), r"`eps` must be >= 0"),
    "stable_rank num_iters": (lambda: A.stable_rank(X2, -1), r"`num_iters` .*-1"),
    "Attentive num_heads": (
        lambda: A.AttentiveProbe(K0, 2, 4, 3, num_heads=3, attn_dim=4),
        r"`num_heads` \(3\) must divide",
    ),
    "Attentive dropout": (
        lambda: A.AttentiveProbe(K0, 2, 4, 3, num_heads=2, dropout=1.0),
        r"`dropout` must be in \[0, 1\), got 1\.0",
    ),
    "Attentive eta": (
        lambda: A.AttentiveProbe(K0, 2, 4, 3, num_heads=2, eta=-1e-3),
        r"`eta` must be > 0",
    ),
    "Attentive targets width": (
        lambda: _attentive().fit(f32(5, 2, 4), f32(5, 2), key=K0),
        r"`targets` must have shape \(5, 3\).*\(5, 2\)",
    ),
    "Attentive codes width": (lambda: _attentive()(f32(5, 2, 6)), r"`codes` .*\(5, 2, 6\)"),
    "Attentive mask shape": (
        lambda: _attentive()(f32(5, 2, 4), mask=np.zeros((5, 1, 3), bool)),
        r"`mask` must broadcast to .*\(5, 1, 2\), got shape \(5, 1, 3\)",
    ),
    "Attentive codes empty": (lambda: _attentive()(f32(0, 2, 4)), r"`codes` must not be empty"),
}


@pytest.mark.parametrize("case", list(ANALYSIS_CASES))
def test_analysis_refuses_bad_input(case):
    call, match = ANALYSIS_CASES[case]
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------ density


def _gmm():
    return GaussianMixture(2, key=K0).init(X2)


DENSITY_CASES = {
    "K 0": (lambda: GaussianMixture(0), r"`K` .*got 0"),
    "K bool": (lambda: BernoulliMixture(True), r"`K` .*got True"),
    "K float": (lambda: ExponentialMixture(2.0), r"`K` .*got 2\.0"),
    "max_iter": (lambda: GaussianMixture(2, max_iter=0), r"`max_iter` .*0"),
    "reg": (lambda: GaussianMixture(2, reg=-1.0), r"`reg` must be >= 0"),
    "eps": (lambda: BernoulliMixture(2, eps=0.0), r"`eps` must be in \(0, 1\]"),
    "more components than samples": (
        lambda: GaussianMixture(8).init(X2),
        r"`X` must be \(N, D\) with N >= K=8 .*\(6, 2\)",
    ),
    "X rank 1": (lambda: GaussianMixture(1).init(X2[:, 0]), r"`X` .*\(N, D\).*\(6,\)"),
    "X empty": (lambda: GaussianMixture(1).fit(f32(4, 0)), r"`X` must not be empty"),
    "X NaN": (lambda: GaussianMixture(2).fit(np.where(X2 > 2.1, np.nan, X2)), r"`X` .*finite"),
    "X Inf in update": (lambda: _gmm().update(np.full((3, 2), np.inf)), r"`X` .*finite"),
    "X width after init": (
        lambda: _gmm().calc_log_likelihood(f32(3, 3)),
        r"`X` must have shape \(N, 2\) .*\(3, 3\)",
    ),
    "Bernoulli data > 1": (
        lambda: BernoulliMixture(2).fit(X2 * 3),
        r"`X` must hold values in \[0, 1\]",
    ),
    "Exponential data < 0": (lambda: ExponentialMixture(2).fit(X2 - 1.0), r"`X` must be >= 0"),
    "fit tol": (lambda: GaussianMixture(2).fit(X2, tol=-1.0), r"`tol` must be >= 0"),
    "sample n_samples": (lambda: _gmm().sample(-1), r"`n_samples` .*-1"),
    "sample mode_j": (lambda: _gmm().sample(3, mode_j=5), r"`mode_j` must be < K=2, got 5"),
    "kmeans K > N": (lambda: kmeans(X2, 7, K0), r"`K`=7 must not exceed the 6 samples"),
    "kmeans n_iter": (lambda: kmeans(X2, 2, K0, n_iter=-1), r"`n_iter` .*-1"),
}


@pytest.mark.parametrize("case", list(DENSITY_CASES))
def test_density_refuses_bad_input(case):
    call, match = DENSITY_CASES[case]
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------- regressions and valid inputs


def test_ari_handles_negative_and_arbitrary_labels():
    """Regression: a -1 label was dropped by the one-hot count, so labelings that differ
    scored 1.0. Hand computation for t = (0, 0, -1, 1), p = (0, 0, 1, 1): contingency
    rows (2, 0), (0, 1), (0, 1); sum_ij C(n_ij, 2) = 1; row pairs 1, column pairs 2;
    expected 1 * 2 / C(4, 2) = 1/3; max (1 + 2)/2 = 3/2; ARI = (1 - 1/3)/(3/2 - 1/3) = 4/7."""
    t, p = np.array([0, 0, -1, 1]), np.array([0, 0, 1, 1])
    assert float(M.measure_ARI(t, p)) == pytest.approx(4 / 7, rel=1e-5)
    assert float(M.measure_ARI(t, p)) == pytest.approx(skm.adjusted_rand_score(t, p), rel=1e-5)
    # renaming labels (to negative or large values) changes nothing
    assert float(M.measure_ARI(t - 10, p * 1000)) == pytest.approx(4 / 7, rel=1e-5)
    rng = np.random.default_rng(0)
    for _ in range(3):
        a, b = rng.integers(-3, 3, 40), rng.integers(-2, 4, 40)
        np.testing.assert_allclose(M.measure_ARI(a, b), skm.adjusted_rand_score(a, b), atol=1e-5)
        np.testing.assert_allclose(M.measure_FMI(a, b), skm.fowlkes_mallows_score(a, b), atol=1e-5)
        np.testing.assert_allclose(M.measure_Vmeasure(a, b), skm.v_measure_score(a, b), atol=1e-5)
    # one sample: the trivial perfect match, not NaN (sklearn: 1.0)
    assert float(M.measure_ARI([3], [-4])) == 1.0


def test_valid_inputs_still_accepted():
    mu = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32)
    assert float(M.measure_ACC(mu, np.array([1, 0, 0]), extract_label_indx=False)) == (
        pytest.approx(2 / 3)
    )
    assert float(M.measure_ACC(mu, np.array([1.0, 0.0, 1.0]), extract_label_indx=False)) == 1.0
    assert float(M.measure_ACC(mu, _onehot([1, 0, 1], 2))) == 1.0
    jitted = jax.jit(lambda a, b: M.measure_ARI(a, b, n_classes=3, n_clusters=2))
    assert float(jitted(jnp.array([0, 0, 2]), jnp.array([1, 1, 0]))) == pytest.approx(1.0)
    kld = M.measure_gaussian_KLD(np.zeros(2), np.eye(2), np.zeros((3, 2)), np.eye(2))
    assert kld.shape == (3, 1)
    assert M.contingency_matrix([0, 2], [1, 1]).shape == (3, 2)  # labels index the rows
    # jitted EM on traced data is not refused (no concrete data to check)
    mu_fit = jax.jit(lambda x: GaussianMixture(2, key=K0, max_iter=3).fit(x).mu)(X2)
    assert mu_fit.shape == (2, 2)


def test_checked_mode_catches_traced_labels_out_of_range():
    def ari(a, b):
        return M.measure_ARI(a, b, n_classes=2, n_clusters=2)

    def checked_ari(a, b):  # a separate function: jit caches compilations by function
        return M.measure_ARI(a, b, n_classes=2, n_clusters=2)

    bad = (jnp.array([0, -1, 1]), jnp.array([0, 1, 1]))
    assert np.isfinite(float(jax.jit(ari)(*bad)))  # unchecked: no run-time cost
    with ngcx.debug_nans(), pytest.raises(Exception, match="labels_true"):
        jax.block_until_ready(jax.jit(checked_ari)(*bad))
