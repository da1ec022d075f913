"""The generative predictive coding network (ngc-museum ``pc_recon``) and its task."""

import functools
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ngcx.data import load_digits, train_test_split
from ngcx.density import GaussianMixture
from ngcx.models import GenerativePCN
from ngcx.training import fit
from ngcx.training._task import Run
from ngcx.training.pc_recon import PCReconConfig, PCReconTask


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=0)
    return jnp.asarray(x_train), jnp.asarray(x_test)


def _train(model, x, epochs, batch=100, seed=0):
    opt = model.optimizer()
    opt_state = model.init_optimizer(opt)
    step = jax.jit(functools.partial(GenerativePCN.train_step, optimizer=opt))
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for b in range(len(x) // batch):
            model, opt_state, metrics = step(
                model, opt_state, x[order[b * batch : (b + 1) * batch]]
            )
            history.append((float(metrics.energy), float(metrics.recon_error)))
    return model, history


def _sse(model, x):
    return float(jnp.mean(jnp.sum(jnp.square(x - model.reconstruct(x)), axis=-1)))


@pytest.fixture(scope="module")
def trained(digits):
    x_train, x_test = digits
    model = GenerativePCN(key=jax.random.key(0), T=30, prior=("laplacian", 0.02))
    before = _sse(model, x_test)
    model, history = _train(model, x_train, epochs=8)
    return model, before, history


# -- the maths ---------------------------------------------------------------------------


def _random_latents(key, model, batch):
    keys = jax.random.split(key, len(model.cells))
    # away from 0 so that |z| and relu are differentiable at the test points
    return tuple(
        jnp.abs(jax.random.normal(k, (batch, n))) + 0.05 for k, n in zip(keys, model.sizes[1:])
    )


@eqx.filter_jit
def _updates_and_grads(model, x, zs):
    grads = jax.grad(lambda syns: eqx.tree_at(lambda m: m.synapses, model, syns).energy(x, zs))(
        model.synapses
    )
    return model.hebbian_updates(x, zs), grads


@pytest.mark.parametrize(("output", "act_fx"), [("gaussian", "relu"), ("bernoulli", "tanh")])
@settings(max_examples=4)
@given(seed=st.integers(0, 2**16), sigma=st.floats(0.3, 2.0))
def test_hebbian_updates_are_minus_the_energy_gradient(output, act_fx, seed, sigma):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    model = GenerativePCN((6, 5, 4, 3), key=k1, output=output, act_fx=act_fx, sigma=sigma)
    x = jax.random.uniform(k2, (3, 6))
    zs = _random_latents(k3, model, 3)
    updates, grads = _updates_and_grads(model, x, zs)
    for upd, g in zip(updates, grads, strict=True):
        np.testing.assert_allclose(upd.weights, -g.weights, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize(
    ("prior", "output"),
    [
        ("laplacian", "gaussian"),
        ("gaussian", "bernoulli"),
        ("cauchy", "gaussian"),
        ("exp", "bernoulli"),
    ],
)
def test_one_e_step_is_gradient_descent_on_the_energy(prior, output):
    model = GenerativePCN(
        (6, 5, 4, 3), key=jax.random.key(1), T=1, prior=(prior, 0.3), output=output,
        tau_m=10.0, dt=0.5,
    )  # fmt: skip
    x = jax.random.uniform(jax.random.key(2), (4, 6))
    zs0 = _random_latents(jax.random.key(3), model, 4)

    # one step of every latent cell from zs0, wired from the public pieces
    def one_step(zs):
        pre = [cell.with_z(z).zF for cell, z in zip(model.cells, zs, strict=True)]
        targets = [x, *zs[:-1]]
        errs = [e(syn(p), t) for e, syn, p, t in zip(model.errors, model.synapses, pre, targets)]
        out = []
        for i, (cell, z) in enumerate(zip(model.cells, zs, strict=True)):
            top = errs[i + 1].dtarget if i + 1 < len(model.cells) else None
            bottom = model.synapses[i].backtransmit(errs[i].dmu)
            out.append(cell(cell.with_z(z), bottom, top, dt=model.dt).z)
        return out

    stepped, grads = jax.jit(lambda zs: (one_step(zs), jax.grad(lambda u: model.energy(x, u))(zs)))(
        zs0
    )
    for z, z1, g in zip(zs0, stepped, grads, strict=True):
        np.testing.assert_allclose(z1 - z, -(0.5 / 10.0) * g, rtol=1e-4, atol=1e-6)


def test_inference_lowers_the_energy(trained, digits):
    model, _, _ = trained
    x = digits[1][:50]
    _, energies = eqx.filter_jit(model.infer)(x, record_energy=True)
    zeros = tuple(jnp.zeros((50, n)) for n in model.sizes[1:])
    assert energies.shape == (model.T,)
    assert float(energies[-1]) < 0.5 * float(model.energy(x, zeros))
    assert np.all(np.diff(np.asarray(energies)) <= 1e-3 * abs(float(energies[0])))


# -- learning ----------------------------------------------------------------------------


def test_reconstruction_error_falls_substantially(trained, digits):
    model, before, history = trained
    after = _sse(model, digits[1])
    mean_image = float(
        jnp.mean(jnp.sum(jnp.square(digits[1] - digits[0].mean(0, keepdims=True)), -1))
    )
    assert after < 0.25 * before
    assert after < 0.5 * mean_image  # far better than predicting the mean digit
    energies = [e for e, _ in history]
    assert np.mean(energies[-10:]) < 0.5 * np.mean(energies[:3])


def test_rows_keep_their_norm(trained):
    model, _, _ = trained
    for syn in model.synapses:
        np.testing.assert_allclose(jnp.linalg.norm(syn.weights, axis=1), 1.0, rtol=1e-4)


def test_jit_and_vmap_over_seeds_and_learning_rates(digits):
    x = digits[0][:40]
    keys = jax.random.split(jax.random.key(5), 3)
    etas = jnp.array([0.0, 0.005, 0.01])

    @eqx.filter_vmap
    def make(k, eta):
        return GenerativePCN((64, 16, 8), key=k, T=3, eta=eta)

    models = make(keys, etas)
    opt_states = eqx.filter_vmap(lambda m: m.init_optimizer())(models)

    @eqx.filter_jit
    @eqx.filter_vmap(in_axes=(0, 0, None))
    def step(m, s, xb):
        return m.train_step(s, xb)

    new, _, metrics = step(models, opt_states, x)
    assert metrics.energy.shape == (3,) and np.all(np.isfinite(metrics.energy))
    w0 = models.synapses[0].weights
    w1 = new.synapses[0].weights
    # eta 0 only renormalises; the others move, the larger rate further
    moved = jnp.linalg.norm(
        (w1 - w0 / jnp.linalg.norm(w0, axis=2, keepdims=True)).reshape(3, -1), axis=1
    )
    assert float(moved[0]) < 1e-5 < float(moved[1]) < float(moved[2])
    # the vmapped result equals the unbatched one
    single = GenerativePCN((64, 16, 8), key=keys[1], T=3, eta=0.005)
    m1, _, met1 = jax.jit(GenerativePCN.train_step)(single, single.init_optimizer(), x)
    np.testing.assert_allclose(met1.energy, metrics.energy[1], rtol=1e-5)
    np.testing.assert_allclose(m1.synapses[0].weights, w1[1], rtol=1e-4, atol=1e-6)


def test_single_sample_and_batch_agree(trained, digits):
    model, _, _ = trained
    x = digits[1][:5]
    np.testing.assert_allclose(
        jax.vmap(model.reconstruct)(x), model.reconstruct(x), rtol=1e-4, atol=1e-5
    )


def test_samples(trained, digits):
    model, _, _ = trained
    gmm = model.fit_prior(digits[0][:300], key=jax.random.key(0), n_components=3)
    assert isinstance(gmm, GaussianMixture)
    sample = eqx.filter_jit(GenerativePCN.sample)
    s = sample(model, jax.random.key(1), 200, gmm)
    assert s.shape == (200, 64) and np.all(np.isfinite(s))
    # ancestral samples through the learned weights look like the data on average
    corr = np.corrcoef(np.asarray(s.mean(0)), np.asarray(digits[0].mean(0)))[0, 1]
    assert corr > 0.8
    s_prior = model.sample(jax.random.key(1), 4)  # the cells' own Laplacian prior
    assert s_prior.shape == (4, 64) and np.all(np.isfinite(s_prior))
    np.testing.assert_array_equal(s, sample(model, jax.random.key(1), 200, gmm))


def test_bernoulli_output_reconstructs_probabilities(digits):
    model = GenerativePCN((64, 32, 16), key=jax.random.key(0), T=20, output="bernoulli",
                          prior=("laplacian", 0.02))  # fmt: skip
    before = _sse(model, digits[1])
    model, _ = _train(model, digits[0], epochs=4)
    recon = model.reconstruct(digits[1])
    assert float(recon.min()) >= 0.0 and float(recon.max()) <= 1.0
    assert _sse(model, digits[1]) < 0.5 * before


# -- bad inputs --------------------------------------------------------------------------


@pytest.mark.usefixtures("normal_use")
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sizes": (64,)}, "sizes"),
        ({"T": -1}, "`T`"),
        ({"output": "poisson"}, "output"),
        ({"prior": ("student", 0.1)}, "prior"),
        ({"prior": "laplacian"}, "prior"),
        ({"optim_type": "rmsprop"}, "optim_type"),
        ({"act_fx": "nope"}, "act_fx"),
        ({"eta": -1.0}, "eta"),
        ({"sigma": 0.0}, "sigma"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"sizes": (8, 4), **kwargs}
    with pytest.raises(ValueError, match=match):
        GenerativePCN(key=jax.random.key(0), **kwargs)


@pytest.mark.usefixtures("normal_use")
def test_bad_calls():
    model = GenerativePCN((8, 4, 2), key=jax.random.key(0), T=2)
    with pytest.raises(ValueError, match="`x`"):
        model.reconstruct(jnp.zeros((3, 7)))
    with pytest.raises(ValueError, match="zs"):
        model.energy(jnp.zeros((3, 8)), (jnp.zeros((3, 4)),))
    with pytest.raises(ValueError, match="`n`"):
        model.sample(jax.random.key(0), 0)
    flat = GenerativePCN((8, 4), key=jax.random.key(0), prior=("laplacian", 0.0))
    with pytest.raises(ValueError, match="prior"):
        flat.sample(jax.random.key(0), 2)


# -- the training task -------------------------------------------------------------------


def test_task_step_and_evaluate_without_fit(tmp_path):
    task = PCReconTask()
    config = PCReconConfig(epochs=1, batch_size=50, hidden=(32, 16), T=10, out=str(tmp_path))
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp_path)
    state = task.init(run)
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    x = jnp.asarray(run.data.x_train[:50])
    before = task.evaluate(run, state, jax.random.key(0))
    for i in range(20):
        state, metrics = step(state, (x,), jax.random.key(i))
    assert set(metrics) == {"energy", "recon_error"}
    after = task.evaluate(run, state, jax.random.key(0))
    assert set(after) == {"train_sse", "test_sse"}
    assert after["train_sse"] < before["train_sse"]


def test_fit_smoke_with_plots_bernoulli(tmp_path):
    config = PCReconConfig(
        epochs=1, hidden=(32, 16), T=10, output="bernoulli", n_components=2,
        out=str(tmp_path / "run"),
    )  # fmt: skip
    result = fit(PCReconTask(), config, progress=False)
    assert set(result.final) == {"train_sse", "test_sse", "train_bce", "test_bce"}
    for name in ("learning_curve", "reconstructions", "samples", "receptive_fields"):
        assert (tmp_path / "run" / f"{name}.png").is_file()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.parametrize(("kwargs", "match"), [({"lmbda": -1.0}, "lmbda"), ({"hidden": (0,)}, "hidden"),
                                               ({"output": "x"}, "output"), ({"act_fx": "x"}, "act_fx")])  # fmt: skip
def test_config_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PCReconConfig(**kwargs)
