"""ngc-museum's ``sindy`` exhibit: SINDy recovers the known systems' equations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.models import SINDY_SYSTEMS, SINDy, central_difference
from ngcx.training._task import Run
from ngcx.training.sindy import SINDyConfig, SINDyTask


@pytest.mark.parametrize("name", sorted(SINDY_SYSTEMS))
def test_recovers_every_system(name):
    system = SINDY_SYSTEMS[name]
    ts, xs = system.trajectory()
    model = SINDy(system.n_vars, poly_order=system.poly_order, threshold=system.threshold)
    model = jax.jit(SINDy.fit)(model, xs, central_difference(xs, system.dt))
    true = np.asarray(system.true_coefficients())
    est = np.asarray(model.coef)
    np.testing.assert_array_equal(est != 0, true != 0)  # the exact sparsity pattern
    on = true != 0
    assert np.max(np.abs(est[on] - true[on]) / np.abs(true[on])) < 0.05
    assert np.array_equal(np.asarray(model.mask), true != 0)


def test_central_difference_is_second_order():
    t = jnp.linspace(0.0, 1.0, 101)
    x = jnp.stack([jnp.sin(3 * t), t**2], axis=1)
    d = central_difference(x, 0.01)
    exact = jnp.stack([3 * jnp.cos(3 * t), 2 * t], axis=1)
    assert float(jnp.max(jnp.abs(d - exact))) < 2e-3
    np.testing.assert_allclose(np.asarray(d[:, 1]), np.asarray(2 * t), atol=2e-4)


def test_fixed_point_and_equations():
    system = SINDY_SYSTEMS["linear_2D"]
    _, xs = system.trajectory()
    dx = central_difference(xs, system.dt)
    model = SINDy(2, poly_order=2, threshold=0.01).fit(xs, dx)
    again = model.sparse_step(model.features(xs), dx)
    np.testing.assert_allclose(np.asarray(again.coef), np.asarray(model.coef), rtol=1e-4, atol=1e-6)
    eqs = model.equations(precision=1)
    assert eqs == ["x' = 2.0 y^1 - 0.1 x^1", "y' = -0.1 y^1 - 2.0 x^1"]
    assert model.feature_names == ["y^1", "y^2", "x^1", "x^1 y^1", "x^2"]
    # the recovered vector field reproduces the trajectory
    _, sim = model.simulate(xs[0], 500, system.dt)
    np.testing.assert_allclose(np.asarray(sim), np.asarray(xs[:501]), atol=2e-2)


def test_threshold_sweep_is_a_vmap():
    system = SINDY_SYSTEMS["linear_3D"]
    _, xs = system.trajectory(steps=400)
    dx = central_difference(xs, system.dt)

    def fit(thr):
        return SINDy(3, poly_order=2, threshold=thr).fit(xs, dx).mask.sum()

    counts = jax.vmap(fit)(jnp.array([0.0, 0.01, 1.0]))
    assert counts.tolist()[1] == 5
    assert counts[0] > counts[1] > counts[2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_vars"):
        SINDy(4)
    with pytest.raises(ValueError, match="threshold"):
        SINDy(2, threshold=-1.0)
    with pytest.raises(ValueError, match="x"):
        SINDy(2).fit(jnp.zeros((10, 3)), jnp.zeros((10, 3)))
    with pytest.raises(ValueError, match="dt"):
        central_difference(jnp.zeros((5, 2)), 0.0)
    with pytest.raises(ValueError, match="poly_order"):
        SINDY_SYSTEMS["cubic_2D"].true_coefficients(2)
    with pytest.raises(ValueError, match="data"):
        SINDyConfig(data="rossler")
    with pytest.raises(ValueError, match="batch_size"):
        SINDyConfig(batch_size=4)


def test_task(tmp_path):
    config = SINDyConfig(epochs=3, out=str(tmp_path), noise=0.0)
    task = SINDyTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed), tmp_path)
    state = task.init(run)
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    batch = task.train_arrays(run)
    before = task.evaluate(run, state, run.key)
    assert before["recall"] == 0.0 and before["coef_error"] == 1.0  # all zero at start
    for _ in range(config.epochs):
        state, metrics = step(state, batch, run.key)
    assert float(metrics["nonzeros"]) == 7.0
    result = task.final(run, state, run.key)
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert result["max_rel_error"] < 0.05 and result["derivative_r2"] > 0.999
    assert result["equations"][2] == "z' = -2.660 z^1 + 0.997 x^1 y^1"
    import matplotlib

    matplotlib.use("Agg")
    import ngcx.viz

    task.plots(run, state, {"coef_error": [before["coef_error"], result["coef_error"]]}, ngcx.viz)
    assert (tmp_path / "trajectory.png").is_file() and (tmp_path / "coef_error.png").is_file()
