import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import io
from ngcx.models import PCN


def _leaves_equal(a, b):
    la = jax.tree_util.tree_leaves(eqx.filter(a, eqx.is_array))
    lb = jax.tree_util.tree_leaves(eqx.filter(b, eqx.is_array))
    return len(la) == len(lb) and all(
        x.dtype == y.dtype and np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb)
    )


def test_round_trip_is_bitwise_for_model_and_optimizer_state(tmp_path):
    model = PCN((8, 6, 3), key=jax.random.key(0))
    opt = model.optimizer()
    state = model.init_optimizer(opt)
    path = io.save(tmp_path / "ck" / "pcn.ckpt", (model, state), config={"sizes": [8, 6, 3]})
    like = (PCN((8, 6, 3), key=jax.random.key(5)), state)
    loaded = io.load(path, like)
    assert _leaves_equal(loaded, (model, state))
    assert io.load_header(path)["config"] == {"sizes": [8, 6, 3]}
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]


def test_truncated_corrupt_and_mismatched_files_raise(tmp_path):
    model = PCN((8, 6, 3), key=jax.random.key(0))
    path = io.save(tmp_path / "m.ckpt", model)
    data = path.read_bytes()
    for name, blob in {
        "truncated": data[:-10],
        "header": data[:30],
        "magic": b"XXXX" + data[4:],
        "padded": data + b"\0",
    }.items():
        bad = tmp_path / f"{name}.ckpt"
        bad.write_bytes(blob)
        with pytest.raises(io.CheckpointError):
            io.load(bad, model)
    with pytest.raises(io.CheckpointError, match="shape"):
        io.load(path, PCN((8, 7, 3), key=jax.random.key(0)))
    with pytest.raises(io.CheckpointError, match="holds"):
        io.load(path, {"w": jnp.ones(3)})
    with pytest.raises(io.CheckpointError, match="no checkpoint"):
        io.load(tmp_path / "missing.ckpt", model)


def test_failed_write_leaves_previous_file_intact(tmp_path):
    path = io.save(tmp_path / "a.ckpt", {"w": jnp.ones(3)})
    before = path.read_bytes()
    with pytest.raises(ValueError, match="config"):
        io.save(path, {"w": jnp.zeros(3)}, config={"bad": object()})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.ckpt"]


def test_conv_pc_round_trip_is_bitwise_and_serialize_aliases(tmp_path):
    from ngcx.models import ConvPC

    model = ConvPC(key=jax.random.key(0))
    path = io.serialize(model, tmp_path / "cpc.ckpt")
    loaded = io.deserialize(path, ConvPC(key=jax.random.key(9)))
    assert _leaves_equal(loaded, model)
