"""ngc-museum's ``Hidden_PCN`` exhibit: a sub-network of a random PCN, found by Hebbian
score updates, classifies digits while the weights never change."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.data import load_digits, train_test_split
from ngcx.models import HiddenPCN, popup_mask
from ngcx.training._task import Run
from ngcx.training.hidden_pcn import HiddenPCNConfig, HiddenPCNTask


def test_score_rule_is_minus_energy_gradient(getkey):
    model = HiddenPCN((6, 9, 7, 3), key=getkey(), k=0.4, T=3, act_fx="tanh")
    x = jax.random.normal(getkey(), (5, 6))
    y = jax.nn.one_hot(jnp.arange(5) % 3, 3)

    @jax.jit
    def both(model):
        zs = model.infer(x, y)

        def energy(scores):
            return eqx_set_scores(model, scores).energy(x, y, zs)

        return model.score_updates(x, y, zs), jax.grad(energy)(model.scores)

    rule, grads = both(model)
    for r, g in zip(rule, grads, strict=True):
        np.testing.assert_allclose(np.asarray(r), -np.asarray(g), rtol=1e-5, atol=1e-6)
    assert any(float(jnp.abs(r).max()) > 1e-3 for r in rule)


def eqx_set_scores(model, scores):
    import equinox as eqx

    return eqx.tree_at(lambda m: m.scores, model, tuple(scores))


def test_popup_mask_keeps_top_k(getkey):
    s = jax.random.normal(getkey(), (10, 20))
    m = popup_mask(s, 0.25)
    assert float(m.sum()) == 50
    assert float(jnp.abs(s)[m > 0].min()) >= float(jnp.abs(s)[m == 0].max())
    # straight-through derivative: d sum(M * c) / dS = c * sign(S)
    c = jax.random.normal(getkey(), s.shape)
    g = jax.grad(lambda t: jnp.sum(popup_mask(t, 0.25) * c))(s)
    np.testing.assert_allclose(np.asarray(g), np.asarray(c * jnp.sign(s)), rtol=1e-6)
    with pytest.raises(ValueError, match="`k`"):
        popup_mask(s, 1.5)
    # k is an array leaf: a vmap over kept fractions equals a loop
    ks = jnp.array([0.1, 0.25, 0.5, 1.0])
    swept = jax.vmap(lambda k: popup_mask(s, k))(ks)
    for k, mask in zip(ks, swept):
        np.testing.assert_array_equal(np.asarray(mask), np.asarray(popup_mask(s, float(k))))
    assert [int(m.sum()) for m in swept] == [20, 50, 100, 200]


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    return train_test_split(images, labels, 0.2, seed=0)


def test_finds_a_subnetwork_that_classifies_digits(digits):
    x_train, y_train, x_test, y_test = digits
    model = HiddenPCN((64, 128, 128, 10), key=jax.random.key(0), k=0.5, T=20)
    weights = [np.asarray(s.weights) for s in model.pcn.synapses]
    opt = model.optimizer()
    opt_state = model.init_optimizer(opt)
    step = jax.jit(functools.partial(HiddenPCN.train_step, optimizer=opt))
    predict = jax.jit(HiddenPCN.predict)

    def acc(m):
        return float((np.asarray(predict(m, x_test)).argmax(-1) == y_test).mean())

    before = acc(model)
    onehot = np.eye(10, dtype=np.float32)[y_train]
    rng = np.random.default_rng(0)
    energies = []
    for _ in range(3):
        order = rng.permutation(len(x_train))
        for b in range(len(x_train) // 64):
            idx = order[b * 64 : (b + 1) * 64]
            model, opt_state, metrics = step(model, opt_state, x_train[idx], onehot[idx])
            energies.append(float(metrics.energy))
    after = acc(model)
    assert before < 0.3 and after > 0.88, (before, after)
    assert np.mean(energies[-20:]) < 0.6 * np.mean(energies[:20])
    # the weights never change; each layer keeps exactly half of its synapses
    for w, syn, m in zip(weights, model.pcn.synapses, model.masks(), strict=True):
        np.testing.assert_array_equal(w, np.asarray(syn.weights))
        assert float(m.sum()) == w.size // 2
        assert np.allclose(np.abs(w), np.abs(w).flat[0])  # signed constant magnitude


def test_task_and_bad_config(tmp_path):
    config = HiddenPCNConfig(hidden=(16,), epochs=1, batch_size=64, T=3, out=str(tmp_path))
    task = HiddenPCNTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp_path)
    state = task.init(run)
    step = jax.jit(task.make_step(run, state))
    x, y = task.to_step_batch(run, (run.data.x_train[:64], run.data.y_train[:64]))
    w0 = np.asarray(state[0].pcn.synapses[0].weights)
    for _ in range(3):
        state, metrics = step(state, (x, y), run.key)
    assert set(metrics) == {"energy", "turnover"} and 0 <= float(metrics["turnover"]) < 0.5
    np.testing.assert_array_equal(w0, np.asarray(state[0].pcn.synapses[0].weights))
    result = task.final(run, state, run.key)
    assert result["kept_fraction"] == [0.5, 0.5]
    assert 0 <= result["test_acc"] <= 1
    with pytest.raises(ValueError, match="`k`"):
        HiddenPCNConfig(k=0.0)
    with pytest.raises(ValueError, match="x"):
        state[0].predict(jnp.zeros((2, 5)))
