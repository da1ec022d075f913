import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import diffeq
from ngcx.optim import get_opt_init_fn, get_opt_step_fn
from ngcx.synapses import MPSSynapse, decompose_to_mps, mps_to_matrix


def test_ngclearn_optimizer_names_descend():
    theta = [jnp.array([1.0, -2.0]), jnp.array([0.5])]
    grads = [jnp.array([0.1, 0.2]), jnp.array([-0.3])]
    state = get_opt_init_fn("sgd")(theta)
    state, new = get_opt_step_fn("sgd", eta=0.5)(state, theta, grads)
    np.testing.assert_allclose(new[0], [0.95, -2.1], rtol=1e-6)
    adam_state = get_opt_init_fn("adam")(theta)
    adam_state, new = get_opt_step_fn("adam", eta=0.1)(adam_state, theta, grads)
    np.testing.assert_allclose(new[0], theta[0] - 0.1 * jnp.sign(grads[0]), rtol=1e-4)
    nag_state = get_opt_init_fn("nag")(theta)
    _, new = get_opt_step_fn("nag", eta=0.1, mu=0.9)(nag_state, theta, grads)
    assert float(new[1][0]) > 0.5
    with pytest.raises(ValueError, match="opt"):
        get_opt_init_fn("rmsprop")


def test_mps_is_best_low_rank_and_synapse_matches_dense(getkey):
    W = jax.random.normal(getkey(), (12, 9))
    c1, c2 = decompose_to_mps(W, bond_dim=4)
    assert c1.shape == (1, 12, 4) and c2.shape == (4, 9, 1)
    S = np.linalg.svd(np.asarray(W), compute_uv=False)
    err = np.linalg.norm(np.asarray(mps_to_matrix(c1, c2) - W))
    np.testing.assert_allclose(err, np.sqrt((S[4:] ** 2).sum()), rtol=1e-4)
    full = decompose_to_mps(W, bond_dim=64)
    np.testing.assert_allclose(mps_to_matrix(*full), W, atol=1e-5)
    syn = MPSSynapse.from_matrix(W, bond_dim=64, biases=jnp.ones(9), resist_scale=2.0)
    x = jax.random.normal(getkey(), (3, 12))
    np.testing.assert_allclose(syn(x), 2.0 * x @ W + 1.0, rtol=1e-4, atol=1e-4)
    g = jax.grad(lambda s: jnp.sum(s(x) ** 2))(syn)
    assert g.core1.shape == syn.core1.shape
    np.testing.assert_allclose(jax.jit(jax.vmap(syn))(x), syn(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="bond"):
        MPSSynapse(c1, jnp.ones((3, 9, 1)))
    with pytest.raises(ValueError, match="bond_dim"):
        decompose_to_mps(W, 0)


def test_ode_library_values_and_integration():
    x = jnp.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(
        diffeq.lorenz(0.0, x), [[10.0, 1 * (28 - 3) - 2, 2 - 8.0]], rtol=1e-6
    )
    np.testing.assert_allclose(diffeq.linear_3D(0.0, x), [[-0.1 + 4, -2 - 0.2, -0.9]], rtol=1e-6)
    np.testing.assert_allclose(diffeq.linear_2D(0.0, x[:, :2]), [[-0.1 + 4, -2 - 0.2]], rtol=1e-6)
    np.testing.assert_allclose(diffeq.cubic_2D(0.0, x[:, :2]), [[-0.1 + 16, -2 - 0.8]], rtol=1e-6)
    out = diffeq.oscillator(0.0, x)
    assert out.shape == (1, 3)
    # integrate the linear spiral with rk4: the norm decays as exp(-0.1 t)
    state = jnp.array([1.0, 0.0])

    def body(carry, _):
        t, s = carry
        return diffeq.step_rk4(t, s, diffeq.linear_2D, 0.01), None

    (_, final), _ = jax.lax.scan(body, (0.0, state), None, length=100)
    np.testing.assert_allclose(jnp.linalg.norm(final), np.exp(-0.1), rtol=1e-4)
