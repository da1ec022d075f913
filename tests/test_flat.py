import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import FlatStep
from ngcx.models import PCN
from ngcx.training import pcn_trainer


def test_flat_step_runs_compiles_once_and_exposes_state():
    def step(state, x):
        w, n = state
        return (w + x, n + 1), jnp.sum(w)

    flat = FlatStep(step, (jnp.zeros(3), jnp.zeros((), jnp.int32)))
    for i in range(20):
        flat(jnp.full(3, float(i)))
    w, n = flat.state
    np.testing.assert_allclose(w, sum(range(20)) * np.ones(3))
    assert int(n) == 20 and flat.compilations == 1
    flat.state = (jnp.ones(3), jnp.zeros((), jnp.int32))
    assert float(flat(jnp.zeros(3))) == 3.0
    with pytest.raises(ValueError, match="structure"):
        flat.state = (jnp.ones(3),)


def test_flat_step_rejects_a_step_that_changes_structure():
    flat = FlatStep(lambda s, x: ((s, s), x), jnp.zeros(2))
    with pytest.raises(ValueError, match="structure"):
        flat(jnp.zeros(()))


def test_pcn_trainer_equals_plain_train_step(getkey):
    model = PCN((6, 5, 3), key=getkey(), T=3)
    x = jax.random.uniform(getkey(), (4, 6))
    y = jax.nn.one_hot(jnp.arange(4) % 3, 3)
    opt = model.optimizer()
    with jax.numpy_dtype_promotion("standard"):
        trainer = pcn_trainer(model, opt)
        for _ in range(3):
            metrics = trainer(x, y)
        m, s = model, model.init_optimizer(opt)
        for _ in range(3):
            m, s, ref = m.train_step(s, x, y, optimizer=opt)
    got = trainer.state[0]
    for a, b in zip(
        jax.tree_util.tree_leaves(eqx.filter(got, eqx.is_array)),
        jax.tree_util.tree_leaves(eqx.filter(m, eqx.is_array)),
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(metrics.energy, ref.energy, rtol=1e-6)
    assert trainer.compilations == 1
