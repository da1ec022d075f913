"""ngc-museum's ``ei_rnn`` exhibit: an E/I recurrent network learns next-step prediction
of a noisy sine wave online, keeping Dale's law."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.models import EIRNN
from ngcx.training._task import Run
from ngcx.training.ei_rnn import EIRNNConfig, EIRNNTask


def test_local_updates_are_truncated_gradients(getkey):
    model = EIRNN(2, 5, 3, key=getkey(), init_scale=0.5)
    u = jax.random.normal(getkey(), (1, 2))
    y = jax.random.normal(getkey(), (1, 3))
    prev = model.cell.init_state((1,))
    prev = eqx.tree_at(lambda s: s.r, prev, jax.random.uniform(getkey(), (1, 5)))
    k = getkey()

    @jax.jit
    def both(model):
        def loss(syns):
            m = eqx.tree_at(lambda m: (m.w_in, m.v, m.w_out), model, syns)
            new = m.step(prev, u, k)
            return 0.5 * jnp.sum(jnp.square(y - m.readout(new)))

        new = model.step(prev, u, k)
        return model.local_updates(prev, new, u, y), jax.grad(loss)(model.synapses)

    upd, grads = both(model)
    scale = float(model.cell.tau_x / model.dt)  # tau_x / dt for the hidden synapses
    for i, (a, g) in enumerate(zip(upd, grads, strict=True)):
        s = 1.0 if i == 2 else scale
        np.testing.assert_allclose(
            np.asarray(a.weights), -s * np.asarray(g.weights), rtol=1e-5, atol=1e-6
        )
        if a.biases is not None:
            np.testing.assert_allclose(
                np.asarray(a.biases), -s * np.asarray(g.biases), rtol=1e-5, atol=1e-6
            )
    assert float(jnp.abs(upd[1].weights).max()) > 0


@pytest.fixture(scope="module")
def trained():
    x = jnp.linspace(0, 10, 1000)[:, None]
    y = jnp.sin(x) + 0.025 * jax.random.normal(jax.random.key(1), x.shape)
    us, ys = y[:-1], y[1:]
    model = EIRNN(1, 10, 1, key=jax.random.key(0))
    opt = model.optimizer()
    opt_state = model.init_optimizer(opt)
    train = jax.jit(functools.partial(EIRNN.train_sequence, optimizer=opt))
    run = jax.jit(EIRNN.run)
    before = run(model, us, ys, jax.random.key(5))[2]
    for epoch in range(40):
        model, opt_state, online = train(model, opt_state, us, ys, jax.random.key(epoch))
    after = run(model, us, ys, jax.random.key(5))[2]
    return model, before, after, online


def test_learns_the_series(trained):
    _, before, after, online = trained
    # 0.69 -> about 0.26 replayed without learning (about 0.14 while learning online)
    assert float(before.rmse) > 0.6 and float(after.rmse) < 0.35, (before.rmse, after.rmse)
    assert float(online.rmse) < 0.2


def test_dale_law_is_kept(trained):
    model, _, after, _ = trained
    for syn in model.synapses:
        assert float(syn.weights.min()) >= 0.0
    w = np.asarray(model.recurrent_weights())
    assert model.n_exc == 8
    assert (w[:8] >= 0).all() and (w[8:] <= 0).all() and (w[8:] < 0).any()
    assert float(after.exc_current) > 0 and float(after.inh_current) < 0


def test_task(tmp_path):
    config = EIRNNConfig(epochs=2, length=200, out=str(tmp_path))
    task = EIRNNTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp_path)
    state = task.init(run)
    step = jax.jit(task.make_step(run, state))
    batch = task.train_arrays(run)
    first = task.evaluate(run, state, run.key)
    for epoch in range(3):
        state, metrics = step(state, batch, jax.random.key(epoch))
    assert set(metrics) == {"loss", "train_rmse"}
    result = task.evaluate(run, state, run.key)
    assert result["dale_violations"] == 0.0
    assert result["rmse"] < first["rmse"]
    assert 0.02 < result["persistence_rmse"] < 0.06


def test_bad_arguments(getkey):
    with pytest.raises(ValueError, match="exc_fraction"):
        EIRNN(1, 2, 1, key=getkey(), exc_fraction=0.3)
    with pytest.raises(ValueError, match="n_hid"):
        EIRNN(1, 0, 1, key=getkey())
    with pytest.raises(ValueError, match="us"):
        EIRNN(1, 10, 1, key=getkey()).run(jnp.zeros((5, 2)), jnp.zeros((5, 1)), getkey())
    with pytest.raises(ValueError, match="batch_size"):
        EIRNNConfig(batch_size=2)
    with pytest.raises(ValueError, match="exc_fraction"):
        EIRNNConfig(hidden=2, exc_fraction=0.3)


def test_optimizer_built_inside_jit_keeps_the_weights(getkey):
    """Regression: ``hebbian(..., nonnegative=True)`` built under a trace clipped every
    weight to [0, w_bound] = [0, 0] (a traced 0 bound); now a Python 0 leaves the bound
    out whether or not it runs under ``jit``."""
    model = EIRNN(1, 10, 1, key=getkey())
    us = jnp.sin(jnp.linspace(0, 3, 60))[:, None]
    opt_state = model.init_optimizer()
    eager = model.train_sequence(opt_state, us[:-1], us[1:], jax.random.key(2))[0]
    jitted = eqx.filter_jit(lambda m, o: m.train_sequence(o, us[:-1], us[1:], jax.random.key(2)))(
        model, opt_state
    )[0]
    assert float(jnp.abs(jitted.v.weights).max()) > 0
    for a, b in zip(jax.tree_util.tree_leaves(eqx.filter(eager, eqx.is_array)),
                    jax.tree_util.tree_leaves(eqx.filter(jitted, eqx.is_array))):  # fmt: skip
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
