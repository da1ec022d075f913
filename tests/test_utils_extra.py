"""Utilities from ngc-learn 3.2 added for issue 15 (item 7): metrics, grouped sampling,
patches, the diag/off-diag initialiser, solve_ode/leapfrog/x_scale, iterative sparse
regression (SINDy), and the probe options."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import analysis, diffeq, metrics, ops
from ngcx.activations import gelu
from ngcx.data import patch_with_overlap, patch_with_stride
from ngcx.feature_dictionaries import PolynomialLibrary
from ngcx.initializers import DistributionGenerator
from ngcx.sparse_regression import Iterative_ElasticNet, Iterative_Lasso, Iterative_Ridge


# ----------------------------------------------------------------------------- metrics


def _pearson_np(a, b):
    n, _, d = a.shape
    r = np.zeros((n, d))
    for i in range(n):
        for j in range(d):
            x, y = a[i, :, j], b[i, :, j]
            if x.std() == 0 or y.std() == 0:
                r[i, j] = 0.0
            else:
                r[i, j] = np.corrcoef(x, y)[0, 1]
    return r


def test_pearson_against_numpy_and_silent_channels():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 20, 4)).astype(np.float32)
    b = (0.5 * a + rng.normal(size=a.shape)).astype(np.float32)
    a[1, :, 2] = 3.0  # a constant (silent) channel scores 0
    ref = _pearson_np(a, b)
    per = metrics.measure_Pearson_correlation(a, b, preserve_batch=True)
    assert per.shape == (3, 1)
    np.testing.assert_allclose(per[:, 0], ref.mean(1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(metrics.measure_Pearson_correlation(a, b), ref.mean(), rtol=1e-4)
    np.testing.assert_allclose(metrics.measure_Pearson_correlation(a, a), 11 / 12, rtol=1e-5)
    np.testing.assert_allclose(metrics.measure_Pearson_correlation(a, -a), -11 / 12, rtol=1e-5)


def test_pearson_jit_vmap_grad():
    rng = np.random.default_rng(1)
    a = jnp.asarray(rng.normal(size=(4, 2, 10, 3)), dtype=jnp.float32)
    b = jnp.asarray(rng.normal(size=(4, 2, 10, 3)), dtype=jnp.float32)
    f = jax.jit(metrics.measure_Pearson_correlation)
    batched = jax.vmap(f)(a, b)
    np.testing.assert_allclose(batched, jnp.stack([f(x, y) for x, y in zip(a, b)]), rtol=1e-6)
    g = jax.grad(lambda x: metrics.measure_Pearson_correlation(x, b[0]))(a[0])
    eps = 1e-2
    e = jnp.zeros_like(a[0]).at[0, 3, 1].set(eps)
    fd = (
        metrics.measure_Pearson_correlation(a[0] + e, b[0])
        - metrics.measure_Pearson_correlation(a[0] - e, b[0])
    ) / (2 * eps)
    np.testing.assert_allclose(g[0, 3, 1], fd, rtol=2e-2, atol=1e-4)


def test_pearson_bad_input():
    with pytest.raises(ValueError, match="`a` and `b`"):
        metrics.measure_Pearson_correlation(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`a`"):
        metrics.measure_Pearson_correlation(np.zeros((2, 3, 1), int), np.zeros((2, 3, 1)))


def test_workload_entropy_hand_computed():
    S = jnp.array([[1.0, 2.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    (lo, hi, mean), h, dead = metrics.measure_workload_entropy(S)
    # totals (2, 2, 0, 0): p = (1/2, 1/2) -> 1 bit, two dead units
    assert (float(lo), float(hi), float(mean)) == (0.0, 2.0, 1.0)
    assert float(h) == pytest.approx(1.0)
    assert int(dead) == 2
    _, h_uniform, _ = metrics.measure_workload_entropy(jnp.ones((5, 8)))
    assert float(h_uniform) == pytest.approx(3.0)
    _, h0, dead0 = jax.jit(metrics.measure_workload_entropy)(jnp.zeros((3, 4)))
    assert float(h0) == 0.0 and int(dead0) == 4
    with pytest.raises(ValueError, match="spike_count_matrix"):
        metrics.measure_workload_entropy(jnp.ones((2, 3, 4)))


# ---------------------------------------------------------------- grouped sampling


def test_sample_values_by_group(getkey):
    s = jnp.array([[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0], [0.0] * 9])
    out = jax.jit(ops.sample_values_by_group, static_argnums=2)(getkey(), s, 3)
    g = np.asarray(out).reshape(2, 3, 3)
    src = np.asarray(s).reshape(2, 3, 3)
    for b in range(2):
        for k in range(3):
            if src[b, k].sum() > 0:
                assert g[b, k].sum() == 1.0 and src[b, k][g[b, k].argmax()] == 1.0
            else:
                np.testing.assert_array_equal(g[b, k], src[b, k])
    # the winner is uniform over the active units of a binary group
    keys = jax.random.split(getkey(), 400)
    wins = jax.vmap(lambda k: ops.sample_values_by_group(k, s[:1], 3))(keys)
    freq = np.asarray(wins[:, 0, :2]).mean(0)
    np.testing.assert_allclose(freq, [0.5, 0.5], atol=0.08)
    with pytest.raises(ValueError, match="n_groups"):
        ops.sample_values_by_group(getkey(), s, 4)


# ----------------------------------------------------------------------------- patches


def _windows(X, patch, stride):
    out = []
    for r in range(0, X.shape[0] - patch[0] + 1, stride[0]):
        for c in range(0, X.shape[1] - patch[1] + 1, stride[1]):
            out.append(X[r : r + patch[0], c : c + patch[1]])
    return np.stack(out)


def test_patch_with_stride_and_overlap():
    X = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    np.testing.assert_array_equal(patch_with_stride(X, (3, 3), (2, 3)), _windows(X, (3, 3), (2, 3)))
    np.testing.assert_array_equal(patch_with_stride(X, (2, 3), (2, 3)), _windows(X, (2, 3), (2, 3)))
    ov = patch_with_overlap(X, (3, 4), (1, 2))
    np.testing.assert_array_equal(ov, _windows(X, (3, 4), (2, 2)))
    assert ov.shape == (3 * 3, 3, 4)
    # neighbouring windows share exactly the overlap
    np.testing.assert_array_equal(ov[0][:, 2:], ov[1][:, :2])
    # trailing channels are carried; jit works (positions depend on shapes only)
    Xc = np.stack([X, -X], axis=-1)
    pc = jax.jit(lambda x: patch_with_stride(x, (3, 3), (3, 3)))(Xc)
    assert pc.shape == (2 * 3, 3, 3, 2)
    np.testing.assert_array_equal(pc[..., 1], -pc[..., 0])
    assert patch_with_stride(X, (8, 3), (1, 1)).shape == (0, 8, 3)


def test_patch_bad_inputs():
    X = np.zeros((6, 6), np.float32)
    with pytest.raises(ValueError, match="`overlap`"):
        patch_with_overlap(X, (3, 3), (3, 0))
    with pytest.raises(ValueError, match="`stride`"):
        patch_with_stride(X, (3, 3), (0, 1))
    with pytest.raises(ValueError, match="`X`"):
        patch_with_stride(np.zeros(5), (1, 1), (1, 1))


# ------------------------------------------------------------------------ initialiser


def test_diag_offdiag(getkey):
    init = DistributionGenerator.diag_offdiag(2.0, -0.5)
    W = init(getkey(), (3, 4))
    expected = np.full((3, 4), -0.5, np.float32)
    np.fill_diagonal(expected, 2.0)
    np.testing.assert_array_equal(W, expected)
    assert init((3, 3), getkey()).shape == (3, 3)  # ngc-learn's argument order
    clipped = DistributionGenerator.diag_offdiag(2.0, -0.5, amin=0.0, use_numpy=True)
    W2 = clipped(getkey(), (2, 2))
    assert isinstance(W2, np.ndarray)
    np.testing.assert_array_equal(W2, [[2.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="`shape`"):
        init(getkey(), (4,))


# ----------------------------------------------------------------------------- diffeq


def _decay(t, x, k):
    return -k * x


def test_x_scale_hand_step_and_default_unchanged():
    x = jnp.array([1.0, -2.0])
    t, y = diffeq.step_euler(0.0, x, _decay, 0.1, 0.5, x_scale=0.9)
    np.testing.assert_allclose(y, 0.9 * x + 0.1 * (-0.5 * x), rtol=1e-6)
    # midpoint: the stage also starts from x_scale * x
    k1 = -0.5 * x
    k2 = -0.5 * (0.9 * x + 0.05 * k1)
    np.testing.assert_allclose(
        diffeq.step_rk2(0.0, x, _decay, 0.1, 0.5, x_scale=0.9)[1], 0.9 * x + 0.1 * k2, rtol=1e-6
    )
    for name, integ in diffeq.INTEGRATORS.items():
        plain = integ(0.0, x, _decay, 0.1, 0.5)[1]
        one = integ(0.0, x, _decay, 0.1, 0.5, 1.0)[1]
        np.testing.assert_array_equal(plain, one, err_msg=name)
        damped = integ(0.0, x, _decay, 0.1, 0.5, 0.5)[1]
        assert float(jnp.max(jnp.abs(damped))) < float(jnp.max(jnp.abs(plain)))
    # x_scale as a traced array leaf
    f = jax.jit(lambda s: diffeq.step_rk4(0.0, x, _decay, 0.1, 0.5, x_scale=s)[1])
    np.testing.assert_allclose(f(jnp.asarray(1.0)), diffeq.step_rk4(0.0, x, _decay, 0.1, 0.5)[1])


def test_solve_ode_matches_loop_and_analytic():
    x0 = jnp.array([3.0, -1.5])
    ts, xs = diffeq.solve_ode("rk4", 0.0, x0, 50, diffeq.linear_2D, 0.02)
    assert ts.shape == (50,) and xs.shape == (50, 2)
    t, x = 0.0, x0
    for i in range(50):
        t, x = diffeq.step_rk4(t, x, diffeq.linear_2D, 0.02)
        np.testing.assert_allclose(xs[i], x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ts[-1], 1.0, rtol=1e-5)
    # exponential decay: RK4 against the solution
    _, xe = diffeq.solve_ode("rk4", 0.0, jnp.ones(1), 100, _decay, 0.01, 2.0)
    np.testing.assert_allclose(xe[-1, 0], np.exp(-2.0), rtol=1e-6)
    final, sols, prev = diffeq.solve_ode(
        diffeq.Heun(), 0.0, jnp.ones(1), 5, _decay, 0.1, 1.0, sols_only=False
    )
    np.testing.assert_allclose(final[1], sols[1][-1])
    np.testing.assert_allclose(prev[1][1:], sols[1][:-1])
    np.testing.assert_allclose(prev[1][0], jnp.ones(1))
    # damping: Euler with x_scale matches its closed form (s - k dt)^n
    _, xd = diffeq.solve_ode("euler", 0.0, jnp.ones(1), 10, _decay, 0.1, 1.0, x_scale=0.95)
    np.testing.assert_allclose(xd[-1, 0], (0.95 - 0.1) ** 10, rtol=1e-5)


def test_solve_ode_vmap_grad_and_errors():
    ks = jnp.array([0.5, 1.0, 2.0])

    def final(k):
        return diffeq.solve_ode("rk4", 0.0, jnp.ones(1), 20, _decay, 0.05, k)[1][-1, 0]

    batched = jax.jit(jax.vmap(final))(ks)
    np.testing.assert_allclose(batched, jnp.stack([final(k) for k in ks]), rtol=1e-6)
    # d/dk exp(-k T) = -T exp(-k T) at T = 1
    np.testing.assert_allclose(jax.grad(final)(1.0), -np.exp(-1.0), rtol=1e-4)
    with pytest.raises(ValueError, match="method_name"):
        diffeq.solve_ode("rk45", 0.0, jnp.ones(1), 3, _decay, 0.1, 1.0)
    with pytest.raises(ValueError, match="`T`"):
        diffeq.solve_ode("euler", 0.0, jnp.ones(1), 0, _decay, 0.1, 1.0)


def _spring(t, q, k):
    return -k * q


def test_leapfrog_hand_step_energy_and_reversibility():
    q, p, h = jnp.array([1.0]), jnp.array([0.5]), 0.1
    t1, q1, p1 = diffeq.leapfrog(0.0, q, p, _spring, 1, h, 1.0)
    half = p - 0.5 * h * q
    np.testing.assert_allclose(q1, q + h * half, rtol=1e-6)
    np.testing.assert_allclose(p1, half - 0.5 * h * (q + h * half), rtol=1e-6)
    np.testing.assert_allclose(t1, h, rtol=1e-6)
    # a harmonic oscillator over ~16 periods: the energy error stays O(h^2), bounded
    t, qT, pT = jax.jit(diffeq.leapfrog, static_argnums=(3, 4))(0.0, q, p, _spring, 1000, h, 1.0)
    e0 = 0.5 * (q**2 + p**2)
    eT = 0.5 * (qT**2 + pT**2)
    assert abs(float(eT[0] - e0[0])) < 0.01
    np.testing.assert_allclose(qT, q * np.cos(100.0) + p * np.sin(100.0), atol=0.2)
    # time reversibility: flip the momentum and run back
    _, qb, pb = diffeq.leapfrog(t, qT, -pT, _spring, 1000, h, 1.0)
    np.testing.assert_allclose(qb, q, atol=1e-3)
    np.testing.assert_allclose(-pb, p, atol=1e-3)
    g = jax.grad(lambda k: diffeq.leapfrog(0.0, q, p, _spring, 10, h, k)[1][0])(1.0)
    assert np.isfinite(g)
    with pytest.raises(ValueError, match="`L`"):
        diffeq.leapfrog(0.0, q, p, _spring, -1, h, 1.0)


# ------------------------------------------------------------------ sparse regression


@pytest.fixture(scope="module")
def oscillator_data():
    A = jnp.array([[-0.1, 2.0], [-2.0, -0.1]])  # damped linear oscillator
    f = lambda t, x, p: x @ A.T
    _, xs = diffeq.solve_ode("rk4", 0.0, jnp.array([2.0, 0.0]), 600, f, 0.01)
    noise = 0.01 * jax.random.normal(jax.random.key(3), xs.shape)
    dx = f(0.0, xs, None) + noise
    lib, names = PolynomialLibrary(2).fit([xs[:, 0], xs[:, 1]])
    true = np.zeros((lib.shape[1], 2), np.float32)
    true[names.index("x^1"), :] = [-0.1, -2.0]
    true[names.index("y^1"), :] = [2.0, -0.1]
    return lib, dx, true


@pytest.mark.parametrize("cls", [Iterative_Lasso, Iterative_Ridge, Iterative_ElasticNet])
def test_sindy_recovers_damped_oscillator(cls, oscillator_data):
    lib, dx, true = oscillator_data
    model = cls(None, "sindy", 2, lib.shape[1], lib.shape[0], lr=0.05, epochs=600, threshold=0.05)
    fit = eqx.filter_jit(lambda m: m.fit(dx, lib))
    for _ in range(2):
        model, (coef, mu, L) = fit(model)
        model, coef, _ = model.thresholding(scale=1.0)
    coef = np.asarray(coef)
    np.testing.assert_array_equal(coef != 0, true != 0)
    nz = true != 0
    np.testing.assert_allclose(coef[nz], true[nz], rtol=0.05)
    np.testing.assert_allclose(mu, lib @ model.coef_, rtol=1e-5, atol=1e-5)
    assert float(L) == pytest.approx(-0.5 * float(jnp.sum(jnp.square(dx - mu))), rel=1e-5)


def test_one_sgd_step_is_the_hand_computed_update():
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.normal(size=(6, 3)), dtype=jnp.float32)
    y = jnp.asarray(rng.normal(size=(6, 2)), dtype=jnp.float32)
    W0 = np.full((3, 2), 0.05, np.float32)
    e = y - X @ W0
    for cls, prior in (
        (Iterative_Lasso, 0.1 * np.sign(W0)),
        (Iterative_Ridge, 0.1 * W0),
        (Iterative_ElasticNet, 0.1 * (0.3 * np.sign(W0) + 0.35 * W0)),
    ):
        extra = {"l1_ratio": 0.3, "lmbda": 0.1} if cls is Iterative_ElasticNet else {}
        lam = {} if extra else {"lasso_lmbda" if cls is Iterative_Lasso else "ridge_lmbda": 0.1}
        m = cls(None, "m", 2, 3, 6, lr=0.01, optim_type="sgd", epochs=1, **lam, **extra)
        np.testing.assert_allclose(m.descent_direction(y, X), -(X.T @ e) + prior, rtol=1e-5)
        _, (W1, _, _) = m.fit(y, X)
        np.testing.assert_allclose(W1, W0 - 0.01 * (-(X.T @ e) + prior), rtol=1e-5)


def test_ridge_converges_to_closed_form_and_vmaps_over_penalty():
    rng = np.random.default_rng(1)
    X = jnp.asarray(rng.normal(size=(40, 4)), dtype=jnp.float32)
    y = jnp.asarray(rng.normal(size=(40, 1)), dtype=jnp.float32)

    def solve(lam):
        m = Iterative_Ridge(None, "r", 1, 4, 40, lr=0.01, ridge_lmbda=lam, optim_type="sgd")
        m = eqx.tree_at(lambda r: r.ridge_lmbda, m, lam)
        return m.fit(y, X)[1][0]

    lams = jnp.array([0.0, 5.0, 50.0])
    sols = jax.jit(jax.vmap(solve))(lams)
    for lam, w in zip(lams, sols):
        closed = np.linalg.solve(X.T @ X + float(lam) * np.eye(4), X.T @ y)
        np.testing.assert_allclose(w, closed, rtol=1e-3, atol=1e-4)


def test_thresholding_freezes_pruned_terms_and_scale():
    X = jnp.eye(3, dtype=jnp.float32)
    y = jnp.array([[1.0], [0.0005], [-2.0]])
    m = Iterative_Lasso(None, "l", 1, 3, 3, lr=0.05, epochs=300)
    m, _ = m.fit(y, X)
    m2, scaled, old = m.thresholding()  # ngc-learn's default scale 2
    np.testing.assert_allclose(scaled, 2.0 * m2.coef_)
    assert float(m2.coef_[1, 0]) == 0.0 and not bool(m2.mask[1, 0])
    np.testing.assert_allclose(old, m.coef_)
    m3, (coef, _, _) = m2.fit(y + jnp.array([[0.0], [5.0], [0.0]]), X)
    assert float(coef[1, 0]) == 0.0  # a pruned term stays pruned


def test_sparse_regression_bad_inputs():
    with pytest.raises(ValueError, match="`optim_type`"):
        Iterative_Lasso(None, "l", 1, 3, 3, optim_type="rmsprop")
    with pytest.raises(ValueError, match="`lr`"):
        Iterative_Ridge(None, "l", 1, 3, 3, lr=-1.0)
    with pytest.raises(ValueError, match="`l1_ratio`"):
        Iterative_ElasticNet(None, "l", 1, 3, 3, l1_ratio=1.5)
    with pytest.raises(ValueError, match="`sys_dim`"):
        Iterative_Lasso(None, "l", 0, 3, 3)
    m = Iterative_Lasso(None, "l", 1, 3, 4)
    with pytest.raises(ValueError, match="`X`"):
        m.fit(jnp.zeros((4, 1)), jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="`y`"):
        m.fit(jnp.zeros((4, 2)), jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match="`batch_size`"):
        m.fit(jnp.zeros((5, 1)), jnp.zeros((5, 3)))


# ---------------------------------------------------------------- effective dimension


def test_participation_ratio_nan_fallback_and_stable_rank_power_iteration():
    const = np.ones((10, 3), np.float32)
    assert float(analysis.participation_ratio(const)) == 1.0
    assert np.isnan(float(analysis.participation_ratio(const, use_NaN_fallback=True)))
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 6)).astype(np.float32) * np.array([3, 2, 1, 1, 0.5, 0.1])
    zs = z.astype(np.float32)
    exact = float(analysis.stable_rank(zs))
    zc = zs - zs.mean(0)
    s = np.linalg.svd(zc, compute_uv=False)
    assert exact == pytest.approx((s**2).sum() / s[0] ** 2, rel=1e-4)
    power = float(jax.jit(analysis.stable_rank, static_argnums=1)(zs, 100))
    assert power == pytest.approx(exact, rel=1e-3)
    assert float(analysis.stable_rank(zs, 1)) >= exact - 1e-4  # under-converged: larger
    with pytest.raises(ValueError, match="num_iters"):
        analysis.stable_rank(zs, -1)


# ------------------------------------------------------------------------------- KNN


def _brute_knn(q, c, k, dist):
    d = np.array([[dist(a, b) for b in c] for a in q])
    return np.argsort(d, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize(
    "spec, dist",
    [
        (("manhattan", 0), lambda a, b: np.abs(a - b).sum()),
        (("chebyshev", 0), lambda a, b: np.abs(a - b).max()),
        (("minkowski", 3), lambda a, b: (np.abs(a - b) ** 3).sum() ** (1 / 3)),
        (("minkowski", np.inf), lambda a, b: np.abs(a - b).max()),
        (("euclidean", 0), lambda a, b: np.sqrt(((a - b) ** 2).sum())),
        (
            ("cosine", 0),
            lambda a, b: -a @ b / (np.linalg.norm(a) * np.linalg.norm(b)),
        ),
    ],
)
def test_knn_distances_against_brute_force(spec, dist):
    rng = np.random.default_rng(0)
    c = rng.normal(size=(30, 4)).astype(np.float32)
    y = rng.normal(size=(30, 2)).astype(np.float32)
    q = rng.normal(size=(7, 4)).astype(np.float32)
    knn = analysis.KNNProbe(3, distance_function=spec, predictor_type="regressor").fit(c, y)
    idx = _brute_knn(q, c, 3, dist)
    np.testing.assert_allclose(knn.predict(q), y[idx].mean(1), rtol=1e-5, atol=1e-6)


def test_knn_vote_styles_and_one_hot_labels():
    c = np.array([[0.0], [0.1], [0.2], [1.0], [1.1]], np.float32)
    lab = np.array([0, 0, 1, 1, 1])
    onehot = np.eye(2, dtype=np.float32)[lab]
    mode = analysis.KNNProbe(num_neighbors=3).fit(c, onehot)
    np.testing.assert_array_equal(mode.process(np.array([[0.05]], np.float32)), [[1.0, 0.0]])
    mean = analysis.KNNProbe(3, vote_style="mean").fit(c, lab)
    np.testing.assert_allclose(mean.process(np.array([[0.05]], np.float32)), [[2 / 3, 1 / 3]])
    assert int(mean.predict(np.array([[0.05]], np.float32))[0]) == 0
    knn = analysis.KNNProbe(1)
    knn.update(c, onehot)
    np.testing.assert_array_equal(knn.process(c), onehot)
    for kwargs, name in (
        ({"distance_function": ("hamming", 1)}, "distance_function"),
        ({"predictor_type": "ranker"}, "predictor_type"),
        ({"vote_style": "median"}, "vote_style"),
        ({"num_neighbors": 0}, "num_neighbors"),
    ):
        with pytest.raises(ValueError, match=name):
            analysis.KNNProbe(**kwargs)


# ----------------------------------------------------------------------- LinearProbe


def _toy(key, n=96, d=6):
    x = jax.random.normal(key, (n, d))
    y = jax.nn.one_hot((x[:, 0] + 0.5 * x[:, 1] > 0).astype(jnp.int32), 2)
    return x, y


def test_linear_probe_minibatches_and_early_stopping(getkey):
    x, y = _toy(getkey())
    xd, yd = _toy(getkey(), 48)
    probe = analysis.LinearProbe(6, 2, key=getkey(), use_softmax=True)
    k = getkey()
    trained, losses = probe.fit(x, y, 12, 0.05, batch_size=16, key=k)
    assert losses.shape == (12,) and float(losses[-1]) < float(losses[0])
    again, _ = probe.fit(x, y, 12, 0.05, batch_size=16, key=k)  # same key, same result
    np.testing.assert_array_equal(again.weights, trained.weights)
    best, dev_losses = probe.fit(
        x, y, 40, 0.2, batch_size=32, key=getkey(), dev_dataset=(xd, yd), patience=2
    )
    ran = np.isfinite(np.asarray(dev_losses))
    assert not ran.all() and ran[:3].all() and not ran[ran.argmin() :].any()
    acc = float(jnp.mean(best.predict(xd) == jnp.argmax(yd, 1)))
    assert acc > 0.9
    with pytest.raises(ValueError, match="`key`"):
        probe.fit(x, y, 2, batch_size=8)
    with pytest.raises(ValueError, match="`batch_size`"):
        probe.fit(x, y, 2, batch_size=0, key=getkey())


# -------------------------------------------------------------------- AttentiveProbe


def test_attentive_probe_single_code_is_hand_computable(getkey):
    probe = analysis.AttentiveProbe(
        getkey(),
        1,
        4,
        3,
        num_heads=2,
        attn_dim=8,
        learnable_query_dim=6,
        use_LN=False,
        use_softmax=False,
        dropout=0.0,
    )
    e = jax.random.normal(getkey(), (5, 1, 4))

    # one code: attention weights are 1, so the cross-attention is a linear map of it
    def lin(x, W, b):
        return x @ W + b[None, :]

    f = lin(lin(e[:, 0], probe.Wv, probe.bv), probe.Wout, probe.bout)
    v = lin(f, probe.Wvs, probe.bvs)
    f = f + lin(v, probe.Wouts, probe.bouts)
    h = gelu(lin(f, probe.Whid1, probe.bhid1))
    h = gelu(lin(h, probe.Whid2, probe.bhid2))
    f = f + lin(h, probe.Whid3, probe.bhid3)
    out = eqx.filter_jit(probe)(e)
    np.testing.assert_allclose(out, lin(f, probe.Wy, probe.by), rtol=1e-5, atol=1e-6)


def test_attentive_probe_mask_vmap_and_learning(getkey):
    probe = analysis.AttentiveProbe(
        getkey(),
        5,
        4,
        2,
        num_heads=2,
        attn_dim=8,
        learnable_query_dim=8,
        batch_size=16,
        dropout=0.1,
        eta=0.01,
    )
    e = jax.random.normal(getkey(), (6, 5, 4))
    mask = jnp.array([False, False, True, False, True])
    call = eqx.filter_jit(lambda p, x, m, k: p(x, m, key=k))
    out = call(probe, e, mask, None)
    changed = e.at[:, 2].set(100.0).at[:, 4].set(-7.0)
    np.testing.assert_allclose(call(probe, changed, mask, None), out, rtol=1e-5, atol=1e-6)
    # one example at a time (vmap over the batch) gives the batched output
    single = jax.vmap(lambda x: probe(x[None])[0])
    np.testing.assert_allclose(eqx.filter_jit(single)(e), call(probe, e, None, None), atol=1e-6)
    # dropout only with a key; the key changes the output
    assert not np.allclose(call(probe, e, None, getkey()), call(probe, e, None, None))
    x = jax.random.normal(getkey(), (48, 5, 4))
    y = jax.nn.one_hot((x[:, :, 0].mean(1) > 0).astype(jnp.int32), 2)
    trained, losses = probe.fit(x, y, 12, key=getkey(), batch_size=24)
    assert float(losses[-3:].mean()) < float(losses[:3].mean())
    assert float(jnp.mean(eqx.filter_jit(trained.predict)(x) == jnp.argmax(y, 1))) > 0.7
    with pytest.raises(ValueError, match="num_heads"):
        analysis.AttentiveProbe(getkey(), 5, 4, 2, num_heads=3, attn_dim=8, learnable_query_dim=8)
    with pytest.raises(ValueError, match="`codes`"):
        probe(jnp.zeros((2, 5, 3)))
