"""A sweep sharded over 4 (forced host) devices: the ensemble axis split over them, one
compilation, the same members as a one-device sweep and as separate fit runs.

Run by ``nox -s multidevice`` with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``;
skipped in a single-device process."""

import dataclasses

import equinox as eqx
import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from ngcx.training import PCNConfig, PCNTask, fit
from ngcx.training._sweep import sweep


pytestmark = pytest.mark.skipif(jax.device_count() < 4, reason="needs 4 devices")

CONFIG = PCNConfig(hidden=(8,), T=2, epochs=1, batch_size=64, plots=False)
ETAS = np.geomspace(1e-4, 3e-2, 16)


def _arrays(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def _close(a, b):
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


def test_sixteen_learning_rates_on_four_devices(tmp_path):
    sharded = sweep(PCNTask(), CONFIG, "eta", ETAS, progress=False)
    assert sharded.devices == 4 and sharded.step_compilations == 1
    for leaf in jax.tree_util.tree_leaves(eqx.filter(sharded.state, eqx.is_array)):
        assert leaf.shape[0] == 16
        assert leaf.sharding.spec == P("ensemble") and len(leaf.sharding.device_set) == 4
        # each device holds 4 of the 16 members
        assert {s.data.shape[0] for s in leaf.addressable_shards} == {4}
    single = sweep(PCNTask(), CONFIG, "eta", ETAS, devices=1, progress=False)
    assert single.devices == 1
    _close(sharded.state, single.state)
    for i in (0, 9):
        assert sharded.final[i]["test_acc"] == pytest.approx(single.final[i]["test_acc"], abs=2e-3)
    # and every member equals its own run (fit shards its batches over the 4 devices)
    for i in range(16):
        config = dataclasses.replace(sharded.member_config(i), out=str(tmp_path / f"fit{i}"))
        ref = fit(PCNTask(), config, progress=False)
        _close(sharded.member_state(i)[0], ref.state[0])
        assert sharded.final[i]["test_acc"] == pytest.approx(ref.final["test_acc"], abs=2e-3)


def test_members_must_divide_over_the_devices():
    with pytest.raises(ValueError, match="6 members do not divide over 4 devices"):
        sweep(PCNTask(), CONFIG, "eta", ETAS[:6], progress=False)
    r = sweep(PCNTask(), CONFIG, "seed", [0, 1, 2, 3, 4, 5], devices=2, progress=False)
    assert r.devices == 2 and r.step_compilations == 1
