"""Data-parallel training on several (forced host) devices.

Run by ``nox -s multidevice`` with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``;
skipped in a single-device process.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.models import PCN
from ngcx.parallel import DataParallel
from ngcx.simulation import simulate
from ngcx.training import PCNConfig, PCNTask, fit, pcn_trainer


pytestmark = pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 devices")


def _leaves(tree):
    return jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))


def test_sharded_pcn_training_equals_single_device():
    model = PCN((64, 32, 10), key=jax.random.key(0), T=5)
    rng = np.random.default_rng(0)
    batches = [
        (
            rng.uniform(size=(16, 64)).astype(np.float32),
            np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)],
        )
        for _ in range(6)
    ]
    with jax.numpy_dtype_promotion("standard"):
        single = pcn_trainer(model)
        dp = DataParallel(4)
        sharded = pcn_trainer(model, parallel=dp)
        for x, y in batches:
            m1 = single(jnp.asarray(x), jnp.asarray(y))
            m4 = sharded(*dp.shard_batch(x, y))
            np.testing.assert_allclose(m4.energy, m1.energy, rtol=1e-5)
    for a, b in zip(_leaves(sharded.state), _leaves(single.state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
    w = sharded.state[0].synapses[0].weights
    assert len(w.sharding.device_set) == 4 and w.sharding.is_fully_replicated
    assert sharded.compilations == 1


def test_cli_training_uses_all_devices(tmp_path):
    with jax.numpy_dtype_promotion("standard"):
        result = fit(
            PCNTask(), PCNConfig(epochs=1, T=5, out=str(tmp_path), plots=False), progress=False
        )
    assert result.metrics["devices"] == 4 and result.final["test_acc"] > 0.5
    with pytest.raises(ValueError, match="multiple"):
        fit(PCNTask(), PCNConfig(epochs=1, batch_size=66, out=str(tmp_path / "b")), progress=False)


def test_shard_batch_errors_and_pmap_of_cells():
    dp = DataParallel(4)
    with pytest.raises(ValueError, match="divide"):
        dp.shard_batch(np.ones((6, 2)))
    # cells and synapses also work under jax.pmap (the documented path is sharding)
    model = PCN((8, 6, 3), key=jax.random.key(1), T=3)
    x = jnp.ones((4, 2, 8))
    out = jax.pmap(lambda u: model.predict(u))(x)
    np.testing.assert_allclose(out[0], model.predict(x[0]), rtol=1e-5)


@pytest.mark.parametrize("encoding", ["current", "poisson"])
def test_sharded_surrogate_snn_training_equals_single_device(encoding):
    import optax

    from ngcx.models import SurrogateSNN
    from ngcx.training import surrogate_trainer

    model = SurrogateSNN(64, 32, 10, key=jax.random.key(0), T=8, encoding=encoding)
    rng = np.random.default_rng(0)
    batches = [
        (rng.uniform(size=(16, 64)).astype(np.float32), rng.integers(0, 10, 16)) for _ in range(4)
    ]
    single = surrogate_trainer(model, optax.adam(1e-3))
    dp = DataParallel(4)
    sharded = surrogate_trainer(model, optax.adam(1e-3), dp)
    for i, (x, y) in enumerate(batches):
        key = jax.random.key(i)
        l1 = single(jnp.asarray(x), jnp.asarray(y), key)
        l4 = sharded(*dp.shard_batch(x, y), key)
        np.testing.assert_allclose(l4, l1, rtol=1e-5)
    for a, b in zip(_leaves(sharded.state), _leaves(single.state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
    assert sharded.compilations == 1
    assert sharded.state[0].W1.weights.sharding.is_fully_replicated


def test_sharded_diehl_cook_responses_equal_single_device():
    from ngcx.models import DiehlCook

    model = DiehlCook(64, 16, key=jax.random.key(0), T=30, wnorm=20.0)
    x = np.random.default_rng(0).uniform(size=(8, 64)).astype(np.float32)
    dp = DataParallel(4)
    respond = eqx.filter_jit(DiehlCook.respond)
    one = respond(model, jnp.asarray(x), jax.random.key(3))
    (xs,) = dp.shard_batch(x)
    four = respond(dp.replicate(model), xs, jax.random.key(3))
    np.testing.assert_allclose(np.asarray(four), np.asarray(one))
    assert len(four.sharding.device_set) == 4


def test_per_shard_rule_with_explicit_psum_equals_global_rule():
    from ngcx.plasticity import TraceSTDPSynapse

    dp = DataParallel(4)
    syn = TraceSTDPSynapse((6, 5), 0.3, 0.1, key=jax.random.key(0))
    k = jax.random.split(jax.random.key(1), 4)
    pre = jax.random.bernoulli(k[0], 0.4, (8, 6)).astype(jnp.float32)
    post = jax.random.bernoulli(k[1], 0.4, (8, 5)).astype(jnp.float32)
    x_pre, x_post = jax.random.uniform(k[2], (8, 6)), jax.random.uniform(k[3], (8, 5))

    def local_rule(s, a, b, c, d):
        assert a.shape[0] == 2  # this device's two samples
        return dp.psum(s.stdp_updates(a, b, c, d).weights)

    rule = dp.per_shard(local_rule, batch_argnums=(1, 2, 3, 4))
    summed = rule(syn, *dp.shard_batch(pre, post, x_pre, x_post))
    expected = syn.stdp_updates(pre, post, x_pre, x_post).weights
    np.testing.assert_allclose(np.asarray(summed), np.asarray(expected), rtol=1e-5, atol=1e-6)
    assert summed.sharding.is_fully_replicated


def test_snn_stdp_sharded_evaluation_equals_single_device(tmp_path):
    from ngcx.training import SNNSTDPConfig, SNNSTDPTask

    base = dict(epochs=1, hidden=12, T=30, plots=False)
    one = fit(
        SNNSTDPTask(), SNNSTDPConfig(**base, devices=1, out=str(tmp_path / "a")), progress=False
    )
    four = fit(
        SNNSTDPTask(), SNNSTDPConfig(**base, devices=4, out=str(tmp_path / "b")), progress=False
    )
    assert four.metrics["devices"] == 4 and one.metrics["devices"] == 1
    assert four.history == one.history
    assert four.final["confusion_matrix"] == one.final["confusion_matrix"]


def test_spiking_cells_on_a_sharded_batch_equal_one_device():
    from ngcx.cells import AdExCell, HodgkinHuxleyCell, LIFCell, PoissonCell, VarTrace

    dp = DataParallel(4)
    j = np.random.default_rng(0).uniform(0, 30, size=(8, 6)).astype(np.float32)
    (js,) = dp.shard_batch(j)
    for cell in (LIFCell(6, 10.0), AdExCell(6), HodgkinHuxleyCell(6, 1.0)):
        run = jax.jit(
            lambda jj, c=cell: simulate(lambda s: c(s, jj, dt=0.1), c.init_state((8,)), 30)[0].v
        )
        np.testing.assert_allclose(
            np.asarray(run(js)), np.asarray(run(jnp.asarray(j))), rtol=1e-5, atol=1e-5
        )
    enc, tr = PoissonCell(6, 500.0), VarTrace(6, 10.0, 0.0)
    trains = jax.jit(
        lambda x: tr(tr.init_state((8,)), enc.encode(x, 20, key=jax.random.key(0))[-1])
    )
    np.testing.assert_allclose(np.asarray(trains(js / 30)), np.asarray(trains(jnp.asarray(j) / 30)))
