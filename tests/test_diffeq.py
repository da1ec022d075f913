import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import diffeq


def _solve(step, h, T=1.0):
    def f(t, x, params):
        return -params * x + jnp.sin(t)

    n = int(round(T / h))

    def body(carry, _):
        t, x = carry
        return step(t, x, f, h, 1.5), None

    (t, x), _ = jax.lax.scan(body, (jnp.float32(0.0), jnp.float32(1.0)), None, length=n)
    return x


def _exact(T=1.0, a=1.5):
    # x' = -a x + sin t, x(0) = 1
    c = 1.0 + 1.0 / (1 + a**2)
    return c * np.exp(-a * T) + (a * np.sin(T) - np.cos(T)) / (1 + a**2)


@pytest.mark.parametrize(
    "name, order",
    [("euler", 1), ("midpoint", 2), ("heun", 2), ("ralston", 2), ("rk4", 4)],
)
def test_convergence_order(name, order):
    step = diffeq.get_integrator(name)
    steps = (0.25, 0.125) if order == 4 else (0.1, 0.05)  # keep rk4's error above float32 eps
    errs = [abs(float(_solve(step, h)) - _exact()) for h in steps]
    rate = np.log2(errs[0] / errs[1])
    assert abs(rate - order) < 0.35, (name, errs, rate)


def test_pytree_state_jit_and_unknown_name():
    def f(t, x, p):
        return {"a": -x["a"], "b": x["a"] * p}

    t, x = jax.jit(lambda x: diffeq.step_rk4(0.0, x, f, 0.1, 2.0))(
        {"a": jnp.ones(2), "b": jnp.zeros(2)}
    )
    np.testing.assert_allclose(x["a"], np.exp(-0.1), rtol=1e-5)
    assert float(t) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="integration_type"):
        diffeq.get_integrator("rk9")
