"""BFA-SNN (ngc-museum bfa_snn): the broadcast update against its formula, learning on
digits through the training task, vmap/jit, bad inputs and a fit smoke test."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import plasticity
from ngcx.models import BFASNN
from ngcx.training._task import Run
from ngcx.training.bfa_snn import BFASNNConfig, BFASNNTask


def _sech2_gate(j):
    """The secant-LIF surrogate derivative at the current, by hand (c2 = 0.08)."""
    return np.where(j > 0, 1.0 / np.cosh(0.08 * j) ** 2, 0.0)


def test_broadcast_update_equals_formula(getkey):
    model = BFASNN(5, 4, 3, key=getkey(), T=4, burn_in=1)
    rng = np.random.default_rng(0)
    s_in = (rng.random((2, 5)) < 0.5).astype(np.float32)
    s_hid = (rng.random((2, 4)) < 0.5).astype(np.float32)
    j1 = rng.normal(size=(2, 4)).astype(np.float32) * 3.0
    e = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], np.float32)
    B = np.asarray(model.B.weights)
    d1 = (e @ B) * _sech2_gate(j1)
    np.testing.assert_allclose(
        model.teaching_signal(jnp.asarray(e), jnp.asarray(j1)), d1, rtol=1e-5
    )
    u1, u2 = model.bfa_updates(*map(jnp.asarray, (s_in, s_hid, j1, e)))
    np.testing.assert_allclose(u1.weights, s_in.T @ d1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u1.biases, d1.sum(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u2.weights, s_hid.T @ e, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u2.biases, e.sum(0), rtol=1e-5, atol=1e-6)
    # applied by SGD at Samadi et al.'s per-layer rates 1/n_in and 1/n_hid (eta=1)
    (W1, W2), _ = plasticity.apply_updates(
        (model.W1, model.W2), (u1, u2), model.init_optimizer(), model.optimizer()
    )
    np.testing.assert_allclose(W1.weights, model.W1.weights + (s_in.T @ d1) / 5, rtol=1e-5)
    np.testing.assert_allclose(W2.weights, model.W2.weights + (s_hid.T @ e) / 4, rtol=1e-5)
    # the feedback matrix is fixed: not B = W2^T, and not plastic
    assert B.shape == (3, 4) and not np.allclose(B, np.asarray(model.W2.weights).T)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two epochs of the task on digits with a small hidden layer (jitted steps)."""
    config = BFASNNConfig(hidden=96, epochs=2, out=str(tmp_path_factory.mktemp("bfa")))
    task = BFASNNTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed),
              tmp_path_factory.mktemp("bfa_out"))  # fmt: skip
    state = task.init(run)
    first = task.evaluate(run, state, jax.random.key(1))
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    x, y = run.data.x_train, run.data.y_train
    bs = config.batch_size
    for epoch in range(config.epochs):
        order = np.random.default_rng(epoch).permutation(len(x))
        for b in range(len(x) // bs):
            idx = order[b * bs : (b + 1) * bs]
            state, metrics = step(state, (jnp.asarray(x[idx]), jnp.asarray(y[idx])),
                                  jax.random.fold_in(jax.random.key(2), 100 * epoch + b))  # fmt: skip
    return task, run, state, first, metrics


def test_learns_digits_well_above_chance(trained):
    task, run, state, first, metrics = trained
    result = task.evaluate(run, state, jax.random.key(3))
    assert set(result) == {"train_acc", "test_acc", "spike_rate_hz"}
    assert result["test_acc"] > 0.75 and result["train_acc"] > 0.75  # chance: 0.1
    assert result["test_acc"] > first["test_acc"] + 0.3
    assert 0.0 < result["spike_rate_hz"] < 4000.0  # at most one spike per 0.25 ms step
    assert set(metrics) == {"batch_acc", "batch_rate_hz"}
    final = task.final(run, state, jax.random.key(4))
    assert np.asarray(final["confusion_matrix"]).sum() == len(run.data.y_test)


def test_vmap_over_seeds_and_jit(getkey):
    keys = jax.random.split(getkey(), 3)
    models = eqx.filter_vmap(lambda k: BFASNN(8, 6, 3, key=k, T=5, burn_in=4))(keys)
    x = jax.random.uniform(getkey(), (4, 8))
    y = jnp.array([0, 1, 2, 0])
    key = getkey()

    @eqx.filter_jit
    def train(m):
        return m.train_batch(m.init_optimizer(), x, y, key)

    new, _, out = eqx.filter_vmap(train)(models)
    assert out.logits.shape == (3, 4, 3) and out.hid_counts.shape == (3, 4, 6)
    # the last step (after the burn-in) learned
    assert not np.allclose(new.W2.biases, models.W2.biases)
    one = BFASNN(8, 6, 3, key=keys[1], T=5, burn_in=4)
    single, _, out1 = train(one)
    np.testing.assert_allclose(out1.logits, out.logits[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(single.W1.weights, new.W1.weights[1], rtol=1e-5, atol=1e-6)
    rec = eqx.filter_jit(lambda m: m.respond(x, key, record=True))(one)
    assert rec.hid_spikes.shape == (5, 4, 6)
    np.testing.assert_allclose(rec.hid_spikes.sum(0), rec.hid_counts)


@pytest.mark.usefixtures("normal_use")
def test_bad_inputs(getkey):
    with pytest.raises(ValueError, match="burn_in"):
        BFASNN(4, 3, 2, key=getkey(), T=5, burn_in=5)
    with pytest.raises(ValueError, match="n_hid"):
        BFASNN(4, 0, 2, key=getkey())
    with pytest.raises(ValueError, match="input_gain"):
        BFASNN(4, 3, 2, key=getkey(), input_gain=1.5)
    model = BFASNN(4, 3, 2, key=getkey(), T=3, burn_in=1)
    with pytest.raises(ValueError, match="`x`"):
        model.respond(jnp.ones((2, 5)), getkey())
    with pytest.raises(ValueError, match="`y`"):
        model.train_batch(model.init_optimizer(), jnp.ones((2, 4)), jnp.array([0]), getkey())
    with pytest.raises(ValueError, match="burn_in"):
        BFASNNConfig(T=10, burn_in=10)
    with pytest.raises(ValueError, match="input_gain"):
        BFASNNConfig(input_gain=0.0)
    with pytest.raises(ValueError, match="optim_type"):
        BFASNNConfig(optim_type="rmsprop")


def test_fit_smoke(tmp_path):
    from ngcx.training._fit import fit

    config = BFASNNConfig(hidden=16, T=12, burn_in=3, epochs=1, batch_size=200,
                          out=str(tmp_path / "run"))  # fmt: skip
    result = fit(BFASNNTask(), config, progress=False)
    assert set(result.final) >= {"train_acc", "test_acc", "spike_rate_hz", "confusion_matrix"}
    for name in ("learning_curve.png", "confusion_matrix.png", "spike_raster.png"):
        assert (tmp_path / "run" / name).is_file()
