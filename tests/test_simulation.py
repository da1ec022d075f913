import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.cells import RateCell
from ngcx.simulation import simulate


def test_simulate_with_inputs_records_and_matches_python_loop():
    cell = RateCell(3, tau_m=4.0, act_fx="tanh")
    currents = jnp.linspace(-1.0, 1.0, 30).reshape(10, 3)
    final, zs = simulate(
        lambda s, j: cell(s, j), cell.init_state(), inputs=currents, record=lambda s: s.z
    )
    state = cell.init_state()
    for j in currents:
        state = cell(state, j)
    np.testing.assert_allclose(final.z, state.z, rtol=1e-6)
    assert zs.shape == (10, 3)
    np.testing.assert_allclose(zs[-1], state.z, rtol=1e-6)


def test_simulate_without_inputs_and_errors():
    final, rec = simulate(lambda s: s + 1.0, jnp.zeros(()), 5)
    assert float(final) == 5.0 and rec is None
    with pytest.raises(ValueError, match="n_steps"):
        simulate(lambda s: s, jnp.zeros(()), None)
    with pytest.raises(ValueError, match="n_steps"):
        simulate(lambda s, x: s, jnp.zeros(()), 3, inputs=jnp.zeros(4))
    with pytest.raises(ValueError, match="time axis"):
        simulate(lambda s, x: s, jnp.zeros(()), inputs=(jnp.zeros(4), jnp.zeros(5)))


def test_simulate_jit_vmap_grad():
    def run(j0):
        return simulate(lambda s: 0.9 * s + j0, jnp.zeros_like(j0), 20)[0]

    x = jnp.array([1.0, 2.0])
    np.testing.assert_allclose(jax.jit(jax.vmap(run))(x), jax.vmap(run)(x), rtol=1e-6)
    g = jax.grad(lambda j: run(j).sum())(x)
    np.testing.assert_allclose(g, (1 - 0.9**20) / 0.1, rtol=1e-5)
