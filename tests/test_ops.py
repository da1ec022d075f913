import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st
from jaxtyping import TypeCheckError

from helpers import central_difference
from ngcx import ops


def test_normalize_matrix_l1_l2_axes_and_scale():
    W = jnp.array([[1.0, -2.0], [3.0, 4.0]])
    out = ops.normalize_matrix(W, 2.0, order=1, axis=0)
    np.testing.assert_allclose(
        out, np.array([[1, -2], [3, 4]]) * 2.0 / np.array([[4.0, 6.0]]), rtol=1e-6
    )
    out = ops.normalize_matrix(W, 1.0, order=2, axis=1)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(out), axis=1), [1.0, 1.0], rtol=1e-6)
    half = ops.normalize_matrix(W, 1.0, order=2, axis=1, scale=0.5)
    np.testing.assert_allclose(half, 0.5 * (W + out), rtol=1e-6)
    zeros = ops.normalize_matrix(jnp.zeros((2, 2)), 1.0)
    assert np.all(np.isfinite(zeros))
    with pytest.raises(ValueError, match="order"):
        ops.normalize_matrix(W, 1.0, order=3)
    g = jax.grad(lambda w: ops.normalize_matrix(w, 1.0, order=2).sum())(W)
    fd = np.zeros((2, 2))
    Wn = np.asarray(W, np.float64)
    for i in range(2):
        for j in range(2):
            e = np.zeros((2, 2))
            e[i, j] = 1e-5
            f = lambda m: (m / np.linalg.norm(m, axis=0, keepdims=True)).sum()
            fd[i, j] = (f(Wn + e) - f(Wn - e)) / 2e-5
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-4)


def test_normalize_block_matrix():
    M = jnp.arange(1.0, 17.0).reshape(4, 4)
    out = np.asarray(ops.normalize_block_matrix(M, (2, 2), order=2, axis=0))
    Mn = np.asarray(M)
    for bi in range(2):
        for bj in range(2):
            blk = Mn[2 * bi : 2 * bi + 2, 2 * bj : 2 * bj + 2]
            ref = blk / (np.linalg.norm(blk, axis=0, keepdims=True) + 1e-8)
            np.testing.assert_allclose(
                out[2 * bi : 2 * bi + 2, 2 * bj : 2 * bj + 2], ref, rtol=1e-6
            )
    out1 = np.asarray(ops.normalize_block_matrix(M, (2, 2), axis=1, norm_targ=3.0))
    np.testing.assert_allclose(np.linalg.norm(out1[:2, :2], axis=1), [3.0, 3.0], rtol=1e-5)
    with pytest.raises(ValueError, match="block_size"):
        ops.normalize_block_matrix(M, (3, 2))
    assert jax.jit(ops.normalize_block_matrix, static_argnums=(1, 2, 3))(M, (2, 2), 2, 0).shape == (
        4,
        4,
    )


def test_clamps_values_and_gradients():
    x = jnp.array([-1.0, 0.0, 0.5, 2.0])
    np.testing.assert_array_equal(ops.clamp_min(x, 0.0), [0, 0, 0.5, 2])
    np.testing.assert_array_equal(ops.clamp_max(x, 0.5), [-1, 0, 0.5, 0.5])
    np.testing.assert_array_equal(jax.grad(lambda u: ops.clamp_min(u, 0.0).sum())(x), [0, 0, 1, 1])
    np.testing.assert_array_equal(jax.grad(lambda u: ops.clamp_max(u, 0.5).sum())(x), [1, 1, 0, 0])


def test_one_hot_chebyshev_binarize():
    P = jnp.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(ops.one_hot(P), [[0, 1, 0], [1, 0, 0]])
    d = jnp.array([[1.0, -3.0], [2.0, 0.5]])
    np.testing.assert_array_equal(ops.chebyshev_norm(d), [3.0, 2.0])
    np.testing.assert_array_equal(ops.chebyshev_norm(d, axis=0, keepdims=True), [[2.0, 3.0]])
    np.testing.assert_array_equal(ops.binarize(jnp.array([0.2, 0.5, 0.7])), [0, 0, 1])
    np.testing.assert_array_equal(ops.binarize(jnp.array([0.2, 0.5, 0.7]), 0.1), [1, 1, 1])
    assert float(jnp.sum(jax.grad(lambda u: ops.binarize(u).sum())(jnp.array([0.2, 0.7])))) == 0.0
    g = jax.grad(lambda u: ops.chebyshev_norm(u))(jnp.array([1.0, -3.0, 2.0]))
    np.testing.assert_array_equal(g, [0, -1, 0])


def test_layer_normalize_is_per_row():
    x = jnp.array([[1.0, 2.0, 3.0], [10.0, 20.0, 60.0]])
    out = np.asarray(ops.layer_normalize(x))
    np.testing.assert_allclose(out.mean(1), 0, atol=1e-6)
    np.testing.assert_allclose(out.std(1), 1, rtol=1e-5)
    out2 = ops.layer_normalize(x, shift=1.0, scale=2.0)
    np.testing.assert_allclose(out2, 2 * out + 1, rtol=1e-6)
    xn = np.asarray(x[0], np.float64)

    def ref(v):
        return ((v - v.mean()) / v.std())[0]

    g = jax.grad(lambda r: ops.layer_normalize(r)[0])(x[0])
    fd = [(ref(xn + e) - ref(xn - e)) / 2e-5 for e in np.eye(3) * 1e-5]
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-4)


def test_drop_out_rate_and_scaling(getkey):
    data = jnp.ones((200, 100))
    out, mask = ops.drop_out(getkey(), data, rate=0.25)
    kept = np.asarray(mask > 0)
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(np.asarray(mask)[kept], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(out, data * mask)
    out0, mask0 = ops.drop_out(getkey(), data, rate=0.0)
    np.testing.assert_array_equal(out0, data)
    with pytest.raises(ValueError, match="rate"):
        ops.drop_out(getkey(), data, rate=1.0)
    keys = jax.random.split(getkey(), 3)
    outs, _ = jax.jit(jax.vmap(lambda k: ops.drop_out(k, data[:2], 0.5)))(keys)
    assert outs.shape == (3, 2, 100)
    g = jax.grad(lambda d: ops.drop_out(jax.random.key(3), d, 0.5)[0].sum())(data[:2])
    np.testing.assert_array_equal(g, ops.drop_out(jax.random.key(3), data[:2], 0.5)[1])


def test_create_block_matrix():
    m = jnp.array([[1.0, 0.0], [1.0, 1.0]])
    out = ops.create_block_matrix(m, (2, 2), alpha_inh=0.5, alpha_exc=2.0)
    block = np.array([[2.0, -0.5], [-0.5, 2.0]])
    expected = np.block([[block, np.zeros((2, 2))], [block, block]])
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(ops.create_block_matrix(m, (1, 1)), m)
    with pytest.raises(ValueError, match="group_shape"):
        ops.create_block_matrix(m, (0, 2))


def test_group_mean():
    x = jnp.array([[1.0, 3.0, 10.0, 20.0]])
    masks = jnp.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    np.testing.assert_allclose(ops.group_mean(x, masks), [[2.0, 2.0, 15.0, 15.0]])
    g = jax.grad(lambda u: ops.group_mean(u, masks)[0, 0])(x)
    np.testing.assert_allclose(g, [[0.5, 0.5, 0, 0]])
    with pytest.raises((ValueError, TypeCheckError), match="masks"):
        ops.group_mean(x, jnp.ones((2, 3)))
    np.testing.assert_allclose(
        jax.vmap(lambda r: ops.group_mean(r, masks))(x), ops.group_mean(x, masks)
    )


def test_eye_wrapped():
    out = ops.eye_wrapped(4, -1, jnp.array([1.0, 2.0, 3.0, 4.0]))
    expected = np.zeros((4, 4))
    for i in range(4):
        expected[i, (i - 1) % 4] = i + 1
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="values"):
        ops.eye_wrapped(3, 1, jnp.ones(4))


def test_tensorstats():
    stats = ops.tensorstats(jnp.array([1.0, -3.0, 2.0]))
    assert stats == pytest.approx(
        {"mean": 0.0, "std": np.std([1, -3, 2]), "mag": 3.0, "min": -3.0, "max": 2.0}
    )
    tree = {"a": jnp.ones(2), "b": [jnp.zeros(2)]}
    assert ops.tensorstats(tree)["mean"] == pytest.approx(0.5)
    assert ops.tensorstats("not an array") is None


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: ops.normalize_matrix(x, 1.0),
        lambda x: ops.clamp_min(x, 0.0),
        lambda x: ops.clamp_max(x, 0.0),
        ops.one_hot,
        ops.chebyshev_norm,
        ops.binarize,
        ops.layer_normalize,
        lambda x: ops.group_mean(x, jnp.ones((1, 3))),
    ],
)
def test_jit_and_vmap(fn):
    x = jax.random.normal(jax.random.key(0), (5, 3))
    np.testing.assert_allclose(jax.jit(fn)(x), fn(x), rtol=1e-6, atol=1e-6)
    batched = jax.vmap(fn)(jnp.stack([x, 2 * x]))
    np.testing.assert_allclose(batched[1], fn(2 * x), rtol=1e-6, atol=1e-6)


@given(st.lists(st.floats(-10, 10, width=32), min_size=2, max_size=10))
def test_layer_normalize_property(values):
    x = jnp.asarray([values], dtype=jnp.float32)
    out = np.asarray(ops.layer_normalize(x))
    xn = np.asarray(values, np.float64)
    sigma = max(np.sqrt(max(xn.var(), 1e-6)), 1e-6)
    np.testing.assert_allclose(out[0], (xn - xn.mean()) / sigma, rtol=1e-3, atol=1e-3)


def test_clamp_gradient_matches_finite_differences_away_from_bound():
    x = np.array([-1.0, -0.3, 0.4, 2.0], np.float32)
    g = jax.vmap(jax.grad(lambda u: ops.clamp_min(u, 0.0)))(jnp.asarray(x))
    np.testing.assert_allclose(g, central_difference(lambda u: np.maximum(u, 0.0), x), atol=1e-6)


def test_remaining_ops_gradients_and_jit_vmap():
    M = jax.random.normal(jax.random.key(2), (4, 6))

    # normalize_block_matrix: autodiff vs central differences of a NumPy reference
    def ref(m):
        blocks = m.reshape(2, 2, 2, 3).transpose(0, 2, 1, 3)
        out = blocks / (np.linalg.norm(blocks, axis=2, keepdims=True) + 1e-8)
        return out.transpose(0, 2, 1, 3).reshape(4, 6)

    g = jax.grad(
        lambda m: jnp.sum(ops.normalize_block_matrix(m, (2, 3)) * jnp.arange(24.0).reshape(4, 6))
    )(M)
    Mn = np.asarray(M, np.float64)
    w = np.arange(24.0).reshape(4, 6)
    fd = np.zeros_like(Mn)
    for idx in np.ndindex(*Mn.shape):
        e = np.zeros_like(Mn)
        e[idx] = 1e-5
        fd[idx] = (np.sum(ref(Mn + e) * w) - np.sum(ref(Mn - e) * w)) / 2e-5
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-3)
    # create_block_matrix and eye_wrapped are linear in their values
    ga = jax.grad(lambda a: ops.create_block_matrix(jnp.eye(2), (2, 2), alpha_exc=a).sum())(1.0)
    assert float(ga) == 4.0  # two blocks, two diagonal entries each
    gv = jax.grad(lambda v: jnp.sum(ops.eye_wrapped(3, 1, v) * jnp.arange(9.0).reshape(3, 3)))(
        jnp.ones(3)
    )
    np.testing.assert_array_equal(gv, [1.0, 5.0, 6.0])
    # jit and vmap
    np.testing.assert_allclose(
        jax.vmap(lambda m: ops.normalize_block_matrix(m, (2, 3)))(jnp.stack([M, M])),
        jnp.stack([ops.normalize_block_matrix(M, (2, 3))] * 2),
        rtol=1e-6,
    )
    vals = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(
        jax.jit(jax.vmap(lambda v: ops.eye_wrapped(3, 1, v)))(vals)[1],
        ops.eye_wrapped(3, 1, vals[1]),
    )
    alphas = jnp.array([1.0, 2.0])
    blocks = jax.jit(jax.vmap(lambda a: ops.create_block_matrix(jnp.eye(2), (2, 2), alpha_exc=a)))(
        alphas
    )
    np.testing.assert_array_equal(
        blocks[1], ops.create_block_matrix(jnp.eye(2), (2, 2), alpha_exc=2.0)
    )
