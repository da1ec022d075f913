"""ngc-museum's time-integrated-stdp exhibit: the TISTDP rule, TISTDPNetwork and
``ngcx train ti-stdp``."""

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.models import TISTDPNetwork, classify_by_winner
from ngcx.plasticity import TISTDP
from ngcx.synapses import DenseSynapse
from ngcx.training._data import load_dataset
from ngcx.training._fit import fit
from ngcx.training._task import Run
from ngcx.training.ti_stdp import TISTDPConfig, TISTDPTask


def _with_weights(syn: DenseSynapse, W: jax.Array) -> DenseSynapse:
    return eqx.tree_at(lambda s: s.weights, syn, W)


def _one(w: float) -> DenseSynapse:
    """A 1x1 dense synapse of weight `w`."""
    syn = DenseSynapse((1, 1), key=jax.random.key(0))
    return _with_weights(syn, jnp.full((1, 1), w, jnp.float32))


def _dw(rule: TISTDP, w: float, pre: float, post: float, t: float, dt: float = 1.0) -> float:
    upd = rule(_one(w), jnp.array([pre]), jnp.array([post]), t, dt)
    return float(upd.weights[0, 0])


RULE = TISTDP(alpha=0.1, beta=0.5, pre_decay=0.2)


def test_pre_before_post_potentiates_by_hand():
    # pre at 3 ms, post at 5 ms, now 5 ms: P = -a b / (3 - 5 - 0.5) = 0.05 / 2.5 = 0.02,
    # scaled by the distance to the bound (1 - 0.25)
    assert _dw(RULE, 0.25, 3.0, 5.0, 5.0) == pytest.approx(0.02 * 0.75, rel=1e-6)
    # two steps later, the same pairing acts again, weighted by exp(-(7 - 5) / dt)
    assert _dw(RULE, 0.25, 3.0, 5.0, 7.0) == pytest.approx(0.015 * np.exp(-2.0), rel=1e-5)
    # coincident spikes: the largest potentiation, 2 a b / dt
    assert _dw(RULE, 0.0, 5.0, 5.0, 5.0) == pytest.approx(2 * 0.05, rel=1e-6)
    # dt = 2 ms: the half-step offset and the decay scale with dt
    assert _dw(RULE, 0.0, 3.0, 5.0, 7.0, dt=2.0) == pytest.approx(
        0.05 / 3.0 * np.exp(-1.0), rel=1e-5
    )


def test_post_before_pre_depresses_by_hand():
    # post at 5 ms, pre at 6 ms, now 6 ms: P = -a b e^{-1} / (6 - 5 - 0.5) = -0.1 e^{-1}
    expected = -0.1 * np.exp(-1.0) * (1 - 0.25)
    assert _dw(RULE, 0.25, 6.0, 5.0, 6.0) == pytest.approx(expected, rel=1e-5)
    half = TISTDP(alpha=0.1, beta=0.5, pre_decay=0.2, A_minus=0.5)
    assert _dw(half, 0.25, 6.0, 5.0, 6.0) == pytest.approx(expected / 2, rel=1e-5)
    assert _dw(half, 0.25, 3.0, 5.0, 5.0) == pytest.approx(0.015, rel=1e-6)  # A_plus = 1


def test_silent_input_decays_and_silent_output_does_nothing():
    # no presynaptic spike yet (tols 0), post at 5 ms: D W = -a p_d W = -0.1 * 0.2 * 0.25
    assert _dw(RULE, 0.25, 0.0, 5.0, 5.0) == pytest.approx(-0.005, rel=1e-6)
    assert _dw(RULE, 0.25, 3.0, 0.0, 5.0) == 0.0
    assert _dw(RULE, 0.25, 0.0, 0.0, 5.0) == 0.0


def test_matches_the_exhibit_formula(getkey):
    """Against a direct NumPy transcription of the exhibit's update on random spike times
    (on the 1 ms grid, some cells silent)."""
    n_in, n_out, t = 5, 4, 20.0
    rule = TISTDP(alpha=0.03, beta=1.25, pre_decay=0.75, A_plus=1.0, A_minus=0.7)
    rng = np.random.default_rng(0)
    W = rng.uniform(0.1, 0.9, (n_in, n_out)).astype(np.float32)
    pre = rng.integers(0, 21, n_in).astype(np.float32)
    post = rng.integers(0, 21, n_out).astype(np.float32)
    pre[0], post[0] = 0.0, 0.0
    upd = rule(_with_weights(DenseSynapse((n_in, n_out), key=getkey()), jnp.asarray(W)),
               jnp.asarray(pre), jnp.asarray(post), t, 1.0)  # fmt: skip
    expected = np.zeros_like(W)
    for i in range(n_in):
        for j in range(n_out):
            if post[j] <= 0:
                continue
            e = np.exp(-(t - post[j]))
            if pre[i] > 0:
                p = -0.03 / (pre[i] - post[j] - 0.5) * 1.25 * e
                p = p * (1.0 if p > 0 else 0.7)
                expected[i, j] = p * (1 - W[i, j])
            else:
                expected[i, j] = -0.03 * 0.75 * e * W[i, j]
    np.testing.assert_allclose(np.asarray(upd.weights), expected, rtol=1e-5, atol=1e-8)


def test_classify_by_winner():
    train = jnp.array([[5.0, 0.0, 1.0], [0.0, 4.0, 1.0], [0.0, 1.0, 6.0]])
    labels = jnp.array([2, 0, 1])
    test = jnp.array([[9.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    np.testing.assert_array_equal(np.asarray(classify_by_winner(test, train, labels, 3)), [2, 1])


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    """One epoch of ``fit`` over 400 training digits (250 ms each, batches of 50), tested
    on the digits' usual held-out 360; and the same evaluation of the initial network."""
    tmp = tmp_path_factory.mktemp("ti")
    digits = load_dataset("digits")
    path = tmp / "digits400.npz"
    np.savez(
        path, x=digits.x_train[:400], y=digits.y_train[:400], x_test=digits.x_test,
        y_test=digits.y_test,
    )  # fmt: skip
    task = TISTDPTask()
    config = TISTDPConfig(
        data=f"npz:{path}", epochs=1, batch_size=50, bind_samples=300, out=str(tmp / "run")
    )
    result = fit(task, config, progress=False)
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp)
    before = task.evaluate(run, task.init(run), jax.random.key(7))
    return before, result


def test_short_run_learns_classes(short_run):
    before, result = short_run
    after = result.final
    # measured (seed 0): layer 1 0.24 -> 0.46, layer 2 0.16 -> 0.33; chance is 0.10
    assert after["test_acc_l1"] > before["test_acc_l1"] + 0.1
    assert after["test_acc"] > 0.2
    assert after["test_acc_winner"] > 0.2
    assert result.history["spikes_l1"][0] > 1.0
    for name in ("receptive_fields.png", "accuracy.png", "confusion.png", "metrics.json"):
        assert (Path(result.config.out) / name).is_file()


def test_short_run_keeps_weights_bounded(short_run):
    model = short_run[1].model
    for W in (model.W1.weights, model.W2.weights):
        assert float(W.min()) >= 0.0 and float(W.max()) <= 1.0
    assert float(model.theta1.mean()) > 0.0  # thresholds adapted and carried over


def test_train_sample_changes_only_plastic_state(getkey):
    model = TISTDPNetwork(64, 3, 2, key=getkey(), T=40)
    opt = model.init_optimizers()
    new, _, (c1, c2) = model.train_sample(opt, jnp.ones(64), getkey())
    assert float(c1.sum()) > 0
    assert not np.allclose(np.asarray(new.W1.weights), np.asarray(model.W1.weights))
    same = eqx.tree_equal(
        eqx.tree_at(lambda m: (m.W1, m.W2, m.theta1, m.theta2), new, (model.W1, model.W2,
                    model.theta1, model.theta2)), model,
    )  # fmt: skip
    assert bool(same)


@pytest.mark.usefixtures("normal_use")
def test_bad_settings():
    with pytest.raises(ValueError, match="hidden"):
        TISTDPConfig(hidden=(10,))
    with pytest.raises(ValueError, match="eta"):
        TISTDPConfig(eta=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        TISTDP(alpha=-0.1)
    with pytest.raises(ValueError, match="n_hid"):
        TISTDPNetwork(4, 0, 3, key=jax.random.key(0))
    with pytest.raises(ValueError, match="pre_tols"):
        RULE(_one(0.5), jnp.zeros(2), jnp.zeros(1), 1.0)
