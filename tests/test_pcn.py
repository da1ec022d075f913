import functools
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import io
from ngcx.models import PCN
from ngcx.simulation import simulate
from ngcx.training import PCNConfig, PCNTask, fit
from ngcx.training._classifier import accuracy, confusion_matrix, one_hot_batch


@pytest.fixture
def small(getkey):
    model = PCN((6, 5, 4, 3), key=getkey(), T=5, tau_m=10.0, act_fx="tanh")
    x = jax.random.uniform(getkey(), (7, 6))
    y = jax.nn.one_hot(jax.random.randint(getkey(), (7,), 0, 3), 3)
    return model, x, y


def test_projection_and_predict_shapes_and_vmap(small):
    model, x, y = small
    mus = model.projection(x)
    assert [m.shape for m in mus] == [(7, 5), (7, 4), (7, 3)]
    np.testing.assert_allclose(jax.vmap(model.predict)(x), model.predict(x), rtol=1e-5, atol=1e-6)
    # at the projection, hidden errors vanish: only the output error remains
    zs = mus[:-1]
    e_out = 0.5 * jnp.sum((y - mus[-1]) ** 2)
    np.testing.assert_allclose(model.energy(x, y, zs), e_out, rtol=1e-5)


def test_one_inference_step_is_gradient_descent_on_the_energy(small):
    model, x, y = small
    zs0 = model.projection(x)[:-1]
    # perturb the start so hidden errors are non-zero
    zs0 = tuple(z + 0.3 for z in zs0)

    def step_from(zs):
        return simulate(lambda s: _manual_step(model, x, y, s), zs, 1)[0]

    grads = jax.grad(lambda zs: model.energy(x, y, zs))(zs0)
    expected = tuple(
        z - (model.dt / model.cells[0].tau_m) * g for z, g in zip(zs0, grads, strict=True)
    )
    got = step_from(zs0)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _manual_step(model, x, y, zs):
    """One E-step through the public cells, synapses and error cells."""
    mus = [
        syn(p)
        for syn, p in zip(model.synapses, [x] + [c.with_z(z).zF for c, z in zip(model.cells, zs)])
    ]
    targets = list(zs) + [y]
    errs = [e(mu, t) for e, mu, t in zip(model.errors, mus, targets)]
    out = []
    for i, (cell, z) in enumerate(zip(model.cells, zs)):
        fb = model.synapses[i + 1].backtransmit(errs[i + 1].dmu)
        out.append(cell(cell.with_z(z), fb, errs[i].dtarget, dt=model.dt).z)
    return tuple(out)


def test_infer_matches_manual_loop_and_lowers_energy(small):
    model, x, y = small
    zs, energies = model.infer(x, y, record_energy=True)
    manual = model.projection(x)[:-1]
    for _ in range(model.T):
        manual = _manual_step(model, x, y, manual)
    for a, b in zip(zs, manual, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert energies.shape == (model.T,)
    assert np.all(np.diff(np.asarray(energies)) <= 1e-6)


def test_hebbian_updates_equal_negative_energy_gradient(small):
    model, x, y = small
    zs, _ = model.infer(x, y)
    updates = model.hebbian_updates(x, y, zs)
    grads = jax.grad(lambda syns: eqx.tree_at(lambda m: m.synapses, model, syns).energy(x, y, zs))(
        model.synapses
    )
    for u, g in zip(updates, grads, strict=True):
        np.testing.assert_allclose(u.weights, -g.weights, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(u.biases, -g.biases, rtol=1e-4, atol=1e-6)


def test_grad_through_the_whole_inference_scan_under_jit(small):
    model, x, y = small

    @jax.jit
    def settled_energy(x):
        zs, _ = model.infer(x, y)
        return model.energy(x, y, zs)

    g = jax.grad(settled_energy)(x)
    assert g.shape == x.shape and np.all(np.isfinite(g))
    eps = 1e-2
    d = jnp.zeros_like(x).at[0, 0].set(eps)
    fd = (settled_energy(x + d) - settled_energy(x - d)) / (2 * eps)
    np.testing.assert_allclose(g[0, 0], fd, rtol=5e-2, atol=1e-3)


def test_train_step_compiles_once_over_50_batches_and_learns(getkey, monkeypatch):
    model = PCN((6, 8, 3), key=getkey(), T=4)
    opt = model.optimizer()
    state = model.init_optimizer(opt)
    traces = []
    train_step = PCN.train_step

    def counted(*args, **kwargs):
        traces.append(None)  # runs once per trace (= compilation)
        return train_step(*args, **kwargs)

    monkeypatch.setattr(PCN, "train_step", counted)
    step = jax.jit(functools.partial(PCN.train_step, optimizer=opt))
    x = jax.random.uniform(getkey(), (16, 6))
    y = jax.nn.one_hot(jnp.arange(16) % 3, 3)
    first = None
    with jax.numpy_dtype_promotion("standard"):
        for i in range(50):
            xb = x + 0.01 * i
            model, state, metrics = step(model, state, xb, y)
            if first is None:
                first = float(metrics.energy)
    assert len(traces) == 1
    assert float(metrics.energy) < first


def test_pcn_configuration_errors(getkey):
    with pytest.raises(ValueError, match="sizes"):
        PCN((4,), key=getkey())
    with pytest.raises(ValueError, match="act_fx"):
        PCN((4, 2), key=getkey(), act_fx="nope")
    with pytest.raises(ValueError, match="T"):
        PCN((4, 2), key=getkey(), T=-1)


def test_train_pcn_writes_everything(tmp_path):
    config = PCNConfig(epochs=2, out=str(tmp_path), T=5)
    with jax.numpy_dtype_promotion("standard"):
        result = fit(PCNTask(), config, progress=False)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["final"]["test_acc"] == result.final["test_acc"] > 0.5
    assert len(saved["history"]["energy"]) == 2 and saved["step_compilations"] == 1
    assert np.asarray(saved["final"]["confusion_matrix"]).sum() == 359
    for name in ("learning_curve.png", "confusion_matrix.png", "receptive_fields.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    like = PCN((64, *config.hidden, 10), key=jax.random.key(1), T=5)
    loaded = io.load(tmp_path / "model.ckpt", like)
    predict = jax.jit(PCN.predict)
    x = jnp.ones((2, 64))
    assert io.load_header(tmp_path / "model.ckpt")["config"]["epochs"] == 2
    assert np.isfinite(np.asarray(predict(loaded, x))).all()


def test_confusion_matrix():
    m = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3)
    np.testing.assert_array_equal(m, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_accuracy_and_one_hot_batch():
    assert accuracy(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2])) == 0.75
    x = np.zeros((3, 4), np.float32)
    same, targets = one_hot_batch((x, np.array([2, 0, 1])), 3)
    assert same is x and targets.dtype == np.float32
    np.testing.assert_array_equal(targets, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_ensemble_of_pcns_by_vmap(getkey):
    keys = jax.random.split(getkey(), 4)
    models = eqx.filter_vmap(lambda k: PCN((6, 5, 3), key=k, T=3))(keys)
    x = jax.random.uniform(getkey(), (2, 6))
    preds = eqx.filter_vmap(lambda m: m.predict(x))(models)
    assert preds.shape == (4, 2, 3)
    single = PCN((6, 5, 3), key=keys[2], T=3)
    np.testing.assert_allclose(preds[2], single.predict(x), rtol=1e-5)


def test_partial_step_wrapper_is_pure(small):
    model, x, y = small
    opt = model.optimizer()
    state = model.init_optimizer(opt)
    step = functools.partial(PCN.train_step, optimizer=opt)
    with jax.numpy_dtype_promotion("standard"):
        m1, _, _ = step(model, state, x, y)
        m2, _, _ = step(model, state, x, y)
    np.testing.assert_array_equal(m1.synapses[0].weights, m2.synapses[0].weights)
    assert not np.array_equal(m1.synapses[0].weights, model.synapses[0].weights)


def test_vmap_over_16_learning_rates_compiles_once_and_equals_separate_runs(getkey):
    """A sweep of PCN training over 16 learning rates is one vmap and one compilation."""
    key = getkey()
    x = jax.random.uniform(getkey(), (8, 6))
    y = jax.nn.one_hot(jax.random.randint(getkey(), (8,), 0, 3), 3)
    traces = []

    def train(eta):
        traces.append(None)
        model = PCN((6, 5, 3), key=key, T=4, tau_m=10.0, eta=eta, optim_type="adam")
        opt = model.optimizer()

        def body(carry, _):
            m, s = carry
            m, s, metrics = m.train_step(s, x, y, optimizer=opt)
            return (m, s), metrics.energy

        (model, _), energies = jax.lax.scan(
            body, (model, model.init_optimizer(opt)), None, length=3
        )
        return model.synapses[0].weights, energies

    etas = jnp.logspace(-3, -1, 16)
    swept_w, swept_e = jax.jit(jax.vmap(train))(etas)
    assert len(traces) == 1  # one trace, one compilation for the 16 members
    one = jax.jit(train)
    for i in range(16):
        w, e = one(etas[i])
        np.testing.assert_allclose(swept_w[i], w, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(swept_e[i], e, rtol=1e-5)
    assert len(traces) == 2  # the separate runs share one compilation too
    # the members differ: the learning rate reached the update
    assert float(jnp.abs(swept_w[0] - swept_w[-1]).max()) > 1e-3


def test_grad_with_respect_to_sigma_and_tau_equals_finite_difference(getkey):
    key, kx = getkey(), getkey()

    def to64(tree):
        return jax.tree_util.tree_map(
            lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, tree
        )

    def energy_after_inference(sigma, tau_m, x, y):
        model = to64(PCN((6, 5, 3), key=key, T=3, tau_m=tau_m, sigma=sigma))
        zs, _ = model.infer(x, y)
        return model.energy(x, y, zs)

    with jax.enable_x64(True):
        x = jax.random.uniform(kx, (4, 6), jnp.float64)
        y = jax.nn.one_hot(jnp.arange(4) % 3, 3, dtype=jnp.float64)
        s0, t0 = jnp.float64(0.8), jnp.float64(12.0)
        gs, gt = jax.grad(energy_after_inference, argnums=(0, 1))(s0, t0, x, y)

        def fd(f, a, eps=1e-6):
            return (f(a + eps) - f(a - eps)) / (2 * eps)

        fs = fd(lambda s: energy_after_inference(s, t0, x, y), s0)
        ft = fd(lambda t: energy_after_inference(s0, t, x, y), t0)
    assert abs(float(fs)) > 1e-3 and abs(float(ft)) > 1e-6
    np.testing.assert_allclose(gs, fs, rtol=1e-5)
    np.testing.assert_allclose(gt, ft, rtol=1e-5)


def test_sigma_domain_is_checked():
    with pytest.raises(ValueError, match="sigma"):
        PCN((6, 3), key=jax.random.key(0), sigma=-1.0)
