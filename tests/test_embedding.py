"""ngcx layers inside ordinary Equinox code: the hybrid example, and the layers' laws."""

import importlib.util
import pathlib
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ngcx.models import LIFLayer, PCLayer


def _example():
    path = pathlib.Path(__file__).parents[1] / "examples" / "hybrid_equinox.py"
    spec = importlib.util.spec_from_file_location("hybrid_equinox", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses (eqx.Module) look their module up
    spec.loader.exec_module(module)
    return module


def test_hybrid_example_trains_end_to_end():
    example = _example()
    model, history = example.train(epochs=3, verbose=False)
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert history["test_acc"][-1] > 0.8
    x = jnp.asarray(np.random.default_rng(0).uniform(size=(8, 64)), jnp.float32)
    y = jnp.arange(8) % 10
    grads = eqx.filter_grad(example.loss_fn)(model, x, y)
    # gradients reach the PC layer through its inference loop and the LIF layer through
    # its surrogate spikes
    assert float(jnp.abs(grads.pc.synapse.weights).sum()) > 0
    assert float(jnp.abs(grads.spiking.synapse.weights).sum()) > 0
    assert float(jnp.abs(grads.embed.weight).sum()) > 0


def test_pc_layer_inference_descends_energy_and_hebbian_is_gradient(getkey):
    layer = PCLayer(6, 4, key=getkey(), T=30, act_fx="tanh", prior=("gaussian", 0.0))
    x = jax.random.normal(getkey(), (5, 6))
    # energy after inference is below the energy at z = 0
    at_zero = -layer.error(layer.synapse(jnp.zeros((5, 4))), x).L
    assert float(layer.energy(x)) < float(at_zero)
    z = jax.lax.stop_gradient(layer(x))

    def F(syn):
        return -layer.error(syn(z), x).L

    grad = jax.grad(F)(layer.synapse)
    updates = layer.hebbian_updates(x)
    np.testing.assert_allclose(updates.synapse.weights, -grad.weights, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(updates.synapse.biases, -grad.biases, rtol=1e-4, atol=1e-5)


def test_layers_vmap_jit(getkey):
    pc = PCLayer(6, 4, key=getkey(), T=5)
    x = jax.random.normal(getkey(), (3, 6))
    np.testing.assert_allclose(jax.vmap(pc)(x), pc(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(eqx.filter_jit(pc)(x), pc(x), rtol=1e-5, atol=1e-6)
    lif = LIFLayer(6, 5, key=getkey())
    seq = jax.random.uniform(getkey(), (7, 3, 6))
    spikes = lif(seq)
    assert spikes.shape == (7, 3, 5)
    np.testing.assert_allclose(jax.vmap(lif, in_axes=1, out_axes=1)(seq), spikes)
    rates = eqx.filter_jit(lambda m, x: m.rates(x, 10))(lif, seq[0])
    assert rates.shape == (3, 5) and float(rates.max()) <= 1.0
