"""The harmonium / restricted Boltzmann machine (ngc-museum ``harmonium``) and its task."""

import functools
import itertools
import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.data import load_digits, train_test_split
from ngcx.models import Harmonium
from ngcx.training import fit
from ngcx.training._task import Run
from ngcx.training.harmonium import HarmoniumConfig, HarmoniumTask


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=0)
    return jnp.asarray(x_train), jnp.asarray(x_test)


def _states(n):
    return jnp.asarray(list(itertools.product([0.0, 1.0], repeat=n)), dtype=jnp.float32)


def _tiny(seed=0, **kwargs):
    """A 4-visible, 3-hidden RBM with parameters large enough to matter."""
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    model = Harmonium(4, 3, key=k1, l2=0.0, **kwargs)
    return eqx.tree_at(
        lambda m: (m.synapse.weights, m.synapse.biases, m.visible_biases),
        model,
        (
            jax.random.normal(k1, (4, 3)),
            0.5 * jax.random.normal(k2, (3,)),
            0.5 * jax.random.normal(k3, (4,)),
        ),
    )


def _exact_log_likelihood(model, data):
    """Mean log p(v) over `data` by enumerating all 2^(4+3) joint states."""
    V, H = _states(model.n_visible), _states(model.n_hidden)
    E = jax.vmap(lambda v: jax.vmap(lambda h: model.energy(v, h))(H))(V)  # (16, 8)
    log_z = jax.scipy.special.logsumexp(-E)
    return jnp.mean(-model.free_energy(data)) - log_z


# -- the maths ---------------------------------------------------------------------------


def test_free_energy_marginalises_the_hidden_units():
    model = _tiny()
    V, H = _states(4), _states(3)
    E = jax.vmap(lambda v: jax.vmap(lambda h: model.energy(v, h))(H))(V)
    np.testing.assert_allclose(
        model.free_energy(V), -jax.scipy.special.logsumexp(-E, axis=1), rtol=1e-5, atol=1e-5
    )


def test_conditionals_are_the_exact_posteriors():
    model = _tiny(1)
    V, H = _states(4), _states(3)
    E = jax.vmap(lambda v: jax.vmap(lambda h: model.energy(v, h))(H))(V)  # (16, 8)
    joint = jax.nn.softmax(-E.reshape(-1)).reshape(E.shape)
    p_h_given_v = joint / joint.sum(1, keepdims=True)
    np.testing.assert_allclose(p_h_given_v @ H, model.hidden_probs(V), rtol=1e-4, atol=1e-6)
    p_v_given_h = joint / joint.sum(0, keepdims=True)
    np.testing.assert_allclose(p_v_given_h.T @ V, model.visible_probs(H), rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def cd_vs_exact():
    """Expected CD-k updates (many parallel chains) and the exact log-likelihood gradient
    on a tiny RBM whose data are four binary patterns."""
    model = _tiny(2, sample_visible=True)
    data = jnp.asarray([[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 1, 0]], jnp.float32)
    exact = jax.grad(_exact_log_likelihood)(model, data)
    batch = jnp.tile(data, (20000 // 4, 1))

    def expected(k):
        m = _tiny(2, sample_visible=True, k=k)
        return eqx.filter_jit(Harmonium.cd_updates)(m, batch, jax.random.key(0))[0]

    return exact, expected(1), expected(40)


def _flat(m):
    return jnp.concatenate([m.synapse.weights.reshape(-1), m.synapse.biases, m.visible_biases])


def test_long_chain_cd_is_the_exact_log_likelihood_gradient(cd_vs_exact):
    exact, _, cd_long = cd_vs_exact
    # 20000 chains: Monte Carlo error about 0.5/sqrt(20000) ~ 0.004 per entry
    np.testing.assert_allclose(_flat(cd_long), _flat(exact), atol=0.025)


def test_cd1_is_biased_but_points_uphill(cd_vs_exact):
    exact, cd1, cd_long = cd_vs_exact
    g, u1 = _flat(exact), _flat(cd1)
    # CD-1 is not the gradient (the short chain has not mixed) ...
    assert float(jnp.max(jnp.abs(u1 - g))) > 0.05
    # ... but it is an ascent direction of the likelihood here (positive inner product)
    assert float(u1 @ g) > 0
    err_long = float(jnp.linalg.norm(_flat(cd_long) - g))
    assert err_long < 0.5 * float(jnp.linalg.norm(u1 - g))


# -- learning on digits ------------------------------------------------------------------


def _nearest_digit_distance(samples, data):
    """Mean squared distance from each sample to its nearest training image: small when
    the samples look like digits (a classifier-free sample-quality proxy)."""
    d = jnp.sum(samples**2, 1)[:, None] + jnp.sum(data**2, 1)[None, :] - 2 * samples @ data.T
    return float(jnp.mean(jnp.min(d, axis=1)))


def _train(model, x, epochs, key, batch=100):
    opt = model.optimizer()
    opt_state = model.init_optimizer(opt)
    step = jax.jit(functools.partial(Harmonium.train_step, optimizer=opt))
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for b in range(len(x) // batch):
            key, sub = jax.random.split(key)
            model, opt_state, metrics = step(
                model, opt_state, x[order[b * batch : (b + 1) * batch]], sub
            )
    return model, metrics


@pytest.fixture(scope="module")
def trained(digits):
    x_train, _ = digits
    model = Harmonium(64, 128, key=jax.random.key(0)).init_visible_biases(x_train)
    trained, _ = _train(model, x_train, 50, jax.random.key(1))
    return model, trained


def _sse(model, x):
    return float(jnp.mean(jnp.sum(jnp.square(x - model.reconstruct(x)), axis=-1)))


def test_reconstruction_error_falls(trained, digits):
    initial, model = trained
    assert _sse(model, digits[1]) < 0.5 * _sse(initial, digits[1])


def test_samples_move_towards_the_digits(trained, digits):
    initial, model = trained
    sample = eqx.filter_jit(Harmonium.sample)
    before = _nearest_digit_distance(sample(initial, jax.random.key(3), 300, 200), digits[0])
    after = _nearest_digit_distance(sample(model, jax.random.key(3), 300, 200), digits[0])
    assert after < 0.8 * before


def test_visible_biases_start_at_the_pixel_log_odds(digits):
    model = Harmonium(64, 8, key=jax.random.key(0)).init_visible_biases(digits[0])
    p = jnp.clip(digits[0].mean(0), 0.01, 0.99)
    np.testing.assert_allclose(jax.nn.sigmoid(model.visible_biases), p, rtol=1e-4)


def test_vmap_over_seeds(digits):
    x = digits[0][:100]
    keys = jax.random.split(jax.random.key(7), 3)

    @eqx.filter_jit
    @eqx.filter_vmap
    def train(key):
        k_init, k_step = jax.random.split(key)
        m = Harmonium(64, 16, key=k_init, eta=1e-2).init_visible_biases(x)
        s = m.init_optimizer()
        for k in jax.random.split(k_step, 3):
            m, s, met = m.train_step(s, x, k)
        return m, met

    models, metrics = train(keys)
    assert models.synapse.weights.shape == (3, 64, 16)
    assert np.all(np.isfinite(metrics.recon_error))
    assert not np.allclose(models.synapse.weights[0], models.synapse.weights[1])
    # the vmapped run of one seed equals the unbatched run (up to a few Bernoulli draws
    # that rounding flips at their threshold, which Adam turns into steps of up to eta)
    k_init, k_step = jax.random.split(keys[1])
    m = Harmonium(64, 16, key=k_init, eta=1e-2).init_visible_biases(x)
    s = m.init_optimizer()
    step = jax.jit(Harmonium.train_step)
    for k in jax.random.split(k_step, 3):
        m, s, _ = step(m, s, x, k)
    diff = np.abs(np.asarray(m.synapse.weights - models.synapse.weights[1]))
    assert diff.max() < 1e-2 and diff.mean() < 1e-3


def test_sampling_is_reproducible_and_in_range():
    model = _tiny(3)
    sample = eqx.filter_jit(Harmonium.sample)
    a = sample(model, jax.random.key(0), 5, 10)
    assert a.shape == (5, 4)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    np.testing.assert_array_equal(a, sample(model, jax.random.key(0), 5, 10))
    assert not np.array_equal(a, sample(model, jax.random.key(1), 5, 10))


# -- bad inputs --------------------------------------------------------------------------


@pytest.mark.usefixtures("normal_use")
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_visible": 0}, "n_visible"),
        ({"n_hidden": 2.5}, "n_hidden"),
        ({"k": 0}, "`k`"),
        ({"optim_type": "rmsprop"}, "optim_type"),
        ({"eta": -1.0}, "eta"),
        ({"l2": -0.1}, "l2"),
        ({"weight_std": 0.0}, "weight_std"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"n_visible": 4, "n_hidden": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        Harmonium(key=jax.random.key(0), **kwargs)


@pytest.mark.usefixtures("normal_use")
def test_bad_calls():
    model = _tiny()
    with pytest.raises(ValueError, match="`x`"):
        model.reconstruct(jnp.zeros((2, 5)))
    with pytest.raises(ValueError, match="`x`"):
        model.cd_updates(jnp.zeros((4,)), jax.random.key(0))
    with pytest.raises(ValueError, match="`n`"):
        model.sample(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="n_steps"):
        model.gibbs(jax.random.key(0), jnp.zeros((2, 4)), 0)


# -- the training task -------------------------------------------------------------------


def test_task_step_and_evaluate_without_fit(tmp_path):
    task = HarmoniumTask()
    config = HarmoniumConfig(epochs=1, hidden=32, eta=1e-2, out=str(tmp_path))
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp_path)
    state = task.init(run)
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    x = jnp.asarray(run.data.x_train[:100])
    before = task.evaluate(run, state, jax.random.key(0))
    for i in range(30):
        state, metrics = step(state, (x,), jax.random.key(i))
    assert set(metrics) == {"recon_error", "free_energy"}
    after = task.evaluate(run, state, jax.random.key(0))
    assert set(after) == {"train_sse", "test_sse", "free_energy_gap"}
    assert after["train_sse"] < before["train_sse"]


def test_fit_smoke_with_plots(tmp_path):
    config = HarmoniumConfig(epochs=2, hidden=16, n_gibbs=5, out=str(tmp_path / "run"))
    result = fit(HarmoniumTask(), config, progress=False)
    assert set(result.final) == {"train_sse", "test_sse", "free_energy_gap"}
    for name in ("learning_curve", "filters", "samples", "reconstructions"):
        assert (tmp_path / "run" / f"{name}.png").is_file()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.parametrize(("kwargs", "match"), [({"k": 0}, "`k`"), ({"l2": -1.0}, "l2"),
                                               ({"hidden": 0}, "hidden"), ({"n_gibbs": 0}, "n_gibbs")])  # fmt: skip
def test_config_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HarmoniumConfig(**kwargs)
