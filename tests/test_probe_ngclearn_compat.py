"""ngc-learn 3.2's probe code runs unchanged on ngcx's probes.

ngc-learn builds its probes positionally with a PRNG key first
(``LinearProbe(dkey, source_seq_length, input_dim, out_dim, ...)``) and trains them in place
(``update``, ``fit(dataset, dev_dataset, n_iter, patience)``); these tests check that the
same calls build the same models as ngcx's own constructors, give ngc-learn's outputs, and
refuse bad arguments by name, while ngcx's calls are unchanged.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.analysis import AttentiveProbe, KMeansProbe, KNNProbe, LinearProbe
from ngcx.analysis._common import _is_key


KEYS = (jax.random.PRNGKey, jax.random.key)  # legacy uint32[2] and typed keys
split = jax.random.split


def _separable(n: int = 32, seq: int = 1, width: int = 2, seed: int = 0):
    """Two classes on either side of a hyperplane with a wide margin, as codes
    ``(n, seq, width)`` and one-hot targets ``(n, 2)``."""
    rng = np.random.default_rng(seed)
    lab = np.arange(n) % 2
    x = rng.normal(scale=0.3, size=(n, seq, width)).astype(np.float32)
    x[:, :, 0] += np.where(lab == 1, 2.0, -2.0)[:, None]
    return x, np.eye(2, dtype=np.float32)[lab], lab


def test_key_detection():
    is_key = _is_key
    assert is_key(jax.random.key(0)) and is_key(jax.random.PRNGKey(0))
    assert is_key(np.zeros(2, np.uint32))
    assert not is_key(split(jax.random.key(0), 2))  # a batch of keys is not a key
    assert not is_key(np.zeros(3, np.uint32)) and not is_key(np.zeros(2, np.int32))
    assert not is_key(6) and not is_key(jnp.ones(2)) and not is_key(None)


# ------------------------------------------------------------------------ LinearProbe


@pytest.mark.parametrize("make_key", KEYS)
def test_linear_ngclearn_call_builds_ngcx_model(make_key):
    dkey = make_key(3)
    probe = LinearProbe(dkey, 3, 4, 2, 8, True, True)  # ngc-learn's positional call
    twin = LinearProbe(12, 2, key=split(split(dkey, 3)[1])[0], use_LN=True, use_softmax=True)
    np.testing.assert_array_equal(probe.weights, twin.weights)
    np.testing.assert_array_equal(probe.biases, twin.biases)
    assert (probe.use_LN, probe.use_softmax, probe.source_seq_length) == (True, True, 3)
    assert twin.source_seq_length is None
    x = jax.random.normal(jax.random.key(1), (5, 3, 4))
    out = probe.process(x)
    assert out.shape == (5, 2)
    # ngc-learn flattens (N, S, D) codes; flat codes are taken as they are
    np.testing.assert_allclose(out, twin(x.reshape(5, 12)), rtol=1e-6)
    np.testing.assert_allclose(probe(x.reshape(5, 12)), out, rtol=1e-6)
    # keywords as ngc-learn users write them
    kw = LinearProbe(dkey, source_seq_length=3, input_dim=4, out_dim=2, use_softmax=True)
    np.testing.assert_array_equal(kw.weights, probe.weights)


def test_linear_ngclearn_fit_update_predict():
    x, y, lab = _separable(seq=2)
    probe = LinearProbe(jax.random.PRNGKey(0), 2, 2, 2, 8, use_softmax=True, eta=0.05)
    w0 = probe.weights
    acc = probe.fit((x, y), n_iter=15, patience=20)
    assert isinstance(acc, jax.Array) and acc.shape == () and float(acc) == 1.0
    assert not np.allclose(probe.weights, w0)  # trained in place, as ngc-learn's
    scores = probe.predict(x)
    assert scores.shape == (32, 2)  # ngc-learn's predict: the outputs, not indices
    np.testing.assert_allclose(jnp.sum(scores, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(jnp.argmax(scores, 1), lab)
    assert probe.predict(x, batch_size=5).shape == (32, 2)  # every row, any batch size
    xd, yd, _ = _separable(n=16, seq=2, seed=1)
    assert float(probe.fit((x, y), (xd, yd), 2, 1)) == 1.0  # dev_dataset positionally
    w1, before = probe.weights, probe.process(x[:8])
    loss, out = probe.update(x[:8], y[:8])
    assert loss.shape == () and out.shape == (8, 2)
    np.testing.assert_allclose(out, before, rtol=1e-5)  # outputs before the step
    assert not np.array_equal(probe.weights, w1)
    # ngcx's functional fit is still there on an ngc-learn-built probe
    trained, losses = probe.fit_ngcx(x, y, 3)
    assert losses.shape == (3,) and isinstance(trained, LinearProbe)


def test_linear_ngcx_call_unchanged(getkey):
    x, y, lab = _separable()
    probe = LinearProbe(2, 2, key=getkey(), use_softmax=True)
    trained, losses = probe.fit(x[:, 0], y, 50, 0.1)
    assert losses.shape == (50,)
    np.testing.assert_array_equal(trained.predict(x[:, 0]), lab)  # class indices
    with pytest.raises(ValueError, match="`update`"):
        probe.update(x[:, 0], y)
    with pytest.raises(TypeError):
        LinearProbe(2, 2)  # ngcx's call needs `key`


# ---------------------------------------------------------------------- KNN / k-means


def test_knn_ngclearn_call():
    x, y, lab = _separable(seq=2)
    probe = KNNProbe(jax.random.PRNGKey(0), 2, 2, 2, 1, 1)  # (dkey, S, D, C, batch, K)
    twin = KNNProbe(1).fit(x.reshape(32, 4), y)
    assert probe.update(x, y) is None  # as ngc-learn
    q = np.random.default_rng(3).normal(size=(6, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(probe.predict(q), twin.process(q.reshape(6, 4)))
    assert probe.predict(q).shape == (6, 2)  # ngc-learn's predict: one-hot (N, C)
    acc = probe.fit((x, y))  # ngc-learn's fit stores the whole set (its own crashes)
    assert acc.shape == () and float(acc) == 1.0
    xd, yd, _ = _separable(n=10, seq=2, seed=2)
    assert float(probe.fit((x, y), dev_dataset=(xd, yd))) == 1.0
    k3 = KNNProbe(jax.random.key(0), 2, 2, 2, K=3)  # ngc-learn's deprecated name
    assert k3.k == 3 and KNNProbe(jax.random.key(0), 2, 2, 2).k == 1  # ngc-learn's default
    k3.update(x, lab)  # integer labels: one-hot over out_dim classes
    assert k3.process(x).shape == (32, 2)


def test_kmeans_ngclearn_call():
    x, y, lab = _separable(n=24)
    dkey = jax.random.PRNGKey(4)
    probe = KMeansProbe(dkey, 1, 2, 2)  # (dkey, S, D, out_dim = clusters)
    ari = probe.fit((x, y), n_iter=5)
    assert ari.shape == () and float(ari) == pytest.approx(1.0)
    # ngc-learn's draw of the initial centres: split(split(dkey, 3)[0], 15)[1]
    twin = KMeansProbe(2, key=split(split(dkey, 3)[0], 15)[1], n_iter=5).fit(x[:, 0])
    np.testing.assert_allclose(probe.centroids, twin.centres, rtol=1e-6)
    onehot = probe.predict(x)
    assert onehot.shape == (24, 2)
    np.testing.assert_array_equal(onehot, jax.nn.one_hot(twin.predict(x[:, 0]), 2))
    loss, out = probe.update(x[:8], y[:8])
    assert loss.shape == () and float(loss) > 0 and out.shape == (8, 2)


# --------------------------------------------------------------------- AttentiveProbe


def test_attentive_ngclearn_methods():
    x, y, lab = _separable(seq=3, width=4)
    args = (3, 4, 2, 2, 8, 1, 8, 8)  # S, D, C, heads, attn_dim, T, query dim, batch
    kw = {"use_LN": False, "dropout": 0.0, "eta": 0.02}
    legacy = AttentiveProbe(jax.random.PRNGKey(2), *args, **kw)
    probe = AttentiveProbe(jax.random.key(2), *args, dev_batch_size=4, **kw)
    np.testing.assert_array_equal(legacy.Wk, probe.Wk)  # same seed, same draw
    loss, out = probe.update(x[:8], y[:8])
    assert loss.shape == () and out.shape == (8, 2)
    assert not np.array_equal(probe.Wk, legacy.Wk)  # one Adam step, in place
    acc = probe.fit((x, y), n_iter=8, patience=3)
    assert acc.shape == () and float(acc) == 1.0
    assert probe.process(x).shape == (32, 2) and probe.predict(x, batch_size=8).shape == (32,)
    # ngcx's fit(codes, targets, n_iter, key=...) is tested in test_utils_extra.py


# ------------------------------------------------------------------- bad arguments

K = jax.random.PRNGKey(0)


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (lambda: LinearProbe(K, 0, 4, 2), r"`source_seq_length` .*0"),
        (lambda: LinearProbe(K, 3, 4, 2, 0), r"`batch_size` .*0"),
        (lambda: LinearProbe(K, 3, 4, 2, eta=-1.0), r"`eta` .*-1"),
        (lambda: LinearProbe(K, 3, 4, 2, foo=1), r"`foo`=1 is not an argument"),
        (lambda: LinearProbe(K, 3, 4, 2, 8, batch_size=4), r"`batch_size` .*both"),
        (lambda: LinearProbe(42, 3, 4, 2), r"`dkey` .*PRNG key.*42"),
        (lambda: LinearProbe(K, 3, 4, 2, 8, False, True, 1), r"at most 7 positional"),
        (lambda: KNNProbe(K, 1, 4, 2, num_neighbors=0), r"num_neighbors.*0"),
        (lambda: KNNProbe(K, 1, 4, 2, distance_function=("hamming", 1)), r"hamming"),
        (lambda: KNNProbe(K, 1, 4, 2, vote_style="median"), r"`vote_style`.*median"),
        (lambda: KNNProbe(K, 1, 4, 2.5), r"`out_dim` .*2\.5"),
        (lambda: KMeansProbe(K, 1, 4, out_dim=0), r"`out_dim` .*0"),
        (lambda: KMeansProbe(K, 1, 4, 2, n_iter=5), r"`n_iter`=5 is not an argument"),
        (lambda: AttentiveProbe(K, 3, 4, 2, dev_batch_size=0), r"`dev_batch_size` .*0"),
    ],
)
def test_bad_ngclearn_arguments(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()


def test_attentive_bad_key():
    # ValueError in normal use; the tests' jaxtyping hook checks the annotation first
    with pytest.raises((ValueError, TypeError), match="dkey"):
        AttentiveProbe(42, 3, 4, 2)


def test_bad_ngclearn_calls():
    x, y, _ = _separable(seq=2)
    probe = LinearProbe(K, 2, 2, 2)
    with pytest.raises(ValueError, match="`dataset`"):
        probe.fit(x)
    with pytest.raises(ValueError, match=r"`dataset\[0\]` must be \(N, 2, 2\)"):
        probe.fit((x[:, :1], y))
    with pytest.raises(ValueError, match=r"`labels` must have shape \(8, 2\)"):
        probe.update(x[:8], y[:7])
    knn = KNNProbe(K, 2, 2, 2)
    with pytest.raises(ValueError, match=r"`labels` must have 2 columns"):
        knn.update(x, np.ones((32, 3), np.float32))
