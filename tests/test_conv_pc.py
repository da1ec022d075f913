import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import io, viz
from ngcx.models import ConvPC, upsample
from ngcx.training import ConvPCConfig, ConvPCTask, fit


@pytest.fixture
def small(getkey):
    model = ConvPC((8, 8, 1), 3, key=getkey(), kernel=3, T=6, prior=("laplacian", 0.1))
    x = jax.random.uniform(getkey(), (4, 8, 8, 1))
    return model, x


def test_inference_is_gradient_descent_on_the_energy_and_lowers_it(small):
    model, x = small
    z0 = 0.3 * jnp.ones((4, *model.code_shape))
    # one step of the cell from z0 equals z0 - dt/tau * dF/dz (relu'(z) = 1 here, z > 0)
    err = model.error(model.reconstruct_from(z0), x)
    j = model.synapse.backtransmit(err.dmu, model.synapse.x_shape)
    z1 = model.cell(model.cell.with_z(z0), j, None, dt=model.dt).z
    g = jax.grad(lambda z: model.energy(x, z))(z0)
    np.testing.assert_allclose(z1, z0 - model.dt / model.cell.tau_m * g, rtol=1e-4, atol=1e-6)
    z, energies = model.infer(x, record_energy=True)
    assert z.shape == (4, 4, 4, 3) and energies.shape == (model.T,)
    assert float(energies[-1]) < float(energies[0])


def test_hebbian_update_is_negative_energy_gradient_in_the_filters(small):
    model, x = small
    z, _ = model.infer(x)
    phi = model.cell.with_z(z).zF
    out = model.error(model.synapse(phi), x)
    upd = model.rule(model.synapse, phi, out.dmu)
    g = jax.grad(lambda s: eqx.tree_at(lambda m: m.synapse, model, s).energy(x, z))(model.synapse)
    np.testing.assert_allclose(upd.weights, -g.weights, rtol=1e-4, atol=1e-5)


def test_train_step_keeps_unit_filters_and_compiles_once(small):
    model, x = small
    opt = model.optimizer()
    traces = []

    def counted(m, s, u):
        traces.append(None)  # runs once per trace (= compilation)
        return m.train_step(s, u, optimizer=opt)

    step = jax.jit(counted)
    state = model.init_optimizer(opt)
    with jax.numpy_dtype_promotion("standard"):
        for i in range(5):
            model, state, metrics = step(model, state, x + 0.01 * i)
    norms = jnp.sqrt(jnp.sum(model.synapse.weights**2, axis=(0, 1, 3)))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    assert len(traces) == 1 and np.isfinite(float(metrics.recon_error))


def test_upsample_and_errors(getkey):
    x = jnp.arange(4.0).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(
        upsample(x, 2)[0, :, :, 0], np.kron(np.arange(4.0).reshape(2, 2), np.ones((2, 2)))
    )
    with pytest.raises(ValueError, match="divisible"):
        ConvPC((9, 9, 1), key=getkey())
    with pytest.raises(ValueError, match="T"):
        ConvPC((8, 8, 1), key=getkey(), T=0)


def test_train_conv_pc_writes_outputs_and_error_falls(tmp_path):
    config = ConvPCConfig(epochs=4, T=20, out=str(tmp_path))
    with jax.numpy_dtype_promotion("standard"):
        result = fit(ConvPCTask(), config, progress=False)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    h = saved["history"]["recon_error"]
    assert len(h) == 4 and h[-1] < h[0] / 3 and saved["step_compilations"] == 1
    assert result.final["test_recon_error"] == pytest.approx(
        saved["history"]["test_recon_error"][-1]
    )
    for name in ("filters.png", "reconstructions.png", "learning_curve.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    like = ConvPC((16, 16, 1), 8, key=jax.random.key(3), T=config.T)  # the saved configuration
    loaded = io.load(tmp_path / "model.ckpt", like)
    assert loaded.synapse.weights.shape == (5, 5, 8, 1)


def test_viz_shape_errors(tmp_path):
    with pytest.raises(ValueError, match="filters"):
        viz.plot_filters(np.ones((3, 3)), tmp_path / "f.png")
    with pytest.raises(ValueError, match="shapes"):
        viz.plot_reconstructions(np.ones((2, 4, 4)), np.ones((3, 4, 4)), tmp_path / "r.png")
    with pytest.raises(ValueError, match="square"):
        viz.plot_confusion_matrix(np.ones((2, 3)), tmp_path / "c.png")
    with pytest.raises(ValueError, match="weights"):
        viz.plot_receptive_fields(np.ones((10, 3)), (3, 3), tmp_path / "w.png")
