"""Self-organising map (ngc-museum self_organizing_map): the online Kohonen update and its
schedule, topographic order and falling quantisation error on the digits, and the ``som``
training task."""

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.data import load_digits, train_test_split
from ngcx.models import SelfOrganizingMap
from ngcx.training._task import Run
from ngcx.training.som import SOMConfig, SOMTask


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits()
    return train_test_split(images, labels, 0.2, seed=0)


@pytest.fixture(scope="module")
def trained(digits):
    """A 10x10 map, 2 online epochs on the digits (2874 updates), tau_eta = the number
    of updates (the task's default): the radius shrinks from 5 to 1 grid step."""
    x_train, _, x_test, _ = digits
    epochs = 2
    model = SelfOrganizingMap(64, 10, 10, key=jax.random.key(0), tau_eta=epochs * len(x_train))
    state = model.init_state()
    fit = eqx.filter_jit(SelfOrganizingMap.fit_online)
    rng = np.random.default_rng(0)
    qe = [float(model.quantization_error(x_test))]
    snapshots = [model]
    for _ in range(epochs):
        model, state = fit(model, state, x_train[rng.permutation(len(x_train))])
        qe.append(float(model.quantization_error(x_test)))
        snapshots.append(model)
    return snapshots, qe, state


def test_one_update_is_kohonen_with_the_schedule(getkey):
    tau = 100.0
    model = SelfOrganizingMap(5, 3, 4, key=getkey(), eta=0.5, tau_eta=tau)
    state = model.init_state()
    x = jax.random.uniform(getkey(), (5,))
    new, state1 = model.update(state, x)
    W = model.prototypes
    c = int(jnp.argmin(jnp.linalg.norm(x[:, None] - W, axis=0)))
    assert c == int(model.bmu(x))
    sigma0 = 4 / 2.0
    coords = np.array([(i, j) for i in range(3) for j in range(4)], dtype=np.float32)
    h = np.exp(-np.sum((coords - coords[c]) ** 2, axis=1) / (2 * sigma0**2))
    eta0 = 0.5 * (1 - 1 / tau)  # ngc-learn decays the rate before the first update
    expected = W + eta0 * h[None, :] * (x[:, None] - W)
    np.testing.assert_allclose(new.prototypes, expected, rtol=1e-5, atol=1e-6)
    assert int(state1.step) == 1
    # the radius reaches one grid step after tau updates (sigma0^(1 - t/tau))
    np.testing.assert_allclose(float(model.radius_at(tau)), 1.0, rtol=0.02)
    np.testing.assert_allclose(float(model.eta_at(tau - 1)), 0.5 * (1 - 1 / tau) ** tau, rtol=1e-4)


def test_fit_online_equals_repeated_updates(getkey):
    model = SelfOrganizingMap(6, 4, 4, key=getkey(), tau_eta=50.0)
    xs = jax.random.uniform(getkey(), (7, 6))
    a, sa = model.fit_online(model.init_state(), xs)
    b, sb = model, model.init_state()
    for x in xs:
        b, sb = b.update(sb, x)
    np.testing.assert_allclose(a.prototypes, b.prototypes, rtol=1e-5, atol=1e-6)
    assert int(sa.step) == int(sb.step) == 7


def test_topographic_order_on_digits(trained, digits):
    """After training the map is ordered: a test digit's two best units are grid
    neighbours for most digits, and neighbouring prototypes are much closer than random
    pairs (the untrained map: no order at all)."""
    (init, *_, model), _, _ = trained
    x_test = digits[2]
    assert float(init.topographic_error(x_test)) > 0.8
    assert float(init.neighbour_ratio()) > 0.9
    assert float(model.topographic_error(x_test)) < 0.25
    assert float(model.neighbour_ratio()) < 0.5


def test_quantisation_error_falls(trained):
    _, qe, _ = trained
    assert qe[1] < 0.6 * qe[0]
    assert qe[2] < qe[1]


def test_label_map_classifies_digits(trained, digits):
    (*_, model), _, _ = trained
    x_train, y_train, x_test, y_test = digits
    labels = model.label_map(jnp.asarray(x_train), jnp.asarray(y_train), 10)
    assert labels.shape == (100,) and int(labels.min()) >= -1
    acc = float(jnp.mean(model.predict_labels(jnp.asarray(x_test), labels) == y_test))
    assert acc > 0.8


def test_bad_arguments(getkey):
    with pytest.raises(ValueError, match="tau_eta"):
        SelfOrganizingMap(4, 3, 3, key=getkey(), tau_eta=0.5)
    with pytest.raises(ValueError, match="n_units_x"):
        SelfOrganizingMap(4, 0, 3, key=getkey())
    model = SelfOrganizingMap(4, 3, 3, key=getkey())
    with pytest.raises(ValueError, match="`x`"):
        model.bmu(jnp.zeros((2, 5)))
    with pytest.raises(ValueError, match="n_classes"):
        model.label_map(jnp.zeros((2, 4)), jnp.zeros((2,), jnp.int32), 0)


# -- the training task -------------------------------------------------------------------


def _config(tmp_path: Path, **kw):
    base = dict(
        n_units_x=6, n_units_y=5, epochs=1, batch_size=64, out=str(tmp_path / "run"), plots=False
    )
    base.update(kw)
    return SOMConfig(**base)


def test_task_step_and_evaluate(tmp_path):
    task = SOMTask()
    config = _config(tmp_path)
    data = task.load_data(config)
    run = Run(config, data, None, jax.random.key(config.seed), tmp_path)
    assert task.tau_eta(run) == (len(data.x_train) // 64) * 64
    state = task.init(run)
    before = task.evaluate(run, state, jax.random.key(1))
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    for i in range(len(data.x_train) // 64):
        state, metrics = step(state, (data.x_train[i * 64 : (i + 1) * 64],), jax.random.key(0))
    assert set(metrics) == {"train_quantization_error", "radius"}
    after = task.evaluate(run, state, jax.random.key(1))
    assert set(after) == {
        "quantization_error", "topographic_error", "neighbour_ratio", "label_accuracy"
    }  # fmt: skip
    assert after["quantization_error"] < before["quantization_error"]
    assert after["label_accuracy"] > before["label_accuracy"]


def test_task_config_errors(tmp_path):
    with pytest.raises(ValueError, match="tau_eta"):
        _config(tmp_path, tau_eta=1.0)
    with pytest.raises(ValueError, match="distance"):
        _config(tmp_path, distance="cityblock")
    with pytest.raises(ValueError, match="n_units_x"):
        _config(tmp_path, n_units_x=0)


def test_task_fit_smoke(tmp_path):
    pytest.importorskip("matplotlib")
    from ngcx.training import fit

    config = _config(tmp_path, plots=True)
    result = fit(SOMTask(), config, progress=False)
    out = Path(config.out)
    assert (out / "prototypes.png").is_file() and (out / "learning_curve.png").is_file()
    assert 0.0 <= result.final["topographic_error"] <= 1.0
