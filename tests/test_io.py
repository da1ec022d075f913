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


def _header_span(data):
    import struct

    (n,) = struct.unpack("<Q", data[8:16])
    return 16, 16 + n


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_flipped_payload_bit_fails_the_checksum(tmp_path, where):
    # regression (issue 13): a flipped bit in a weight used to load silently
    tree = {"w": jnp.arange(64.0)}
    path = io.save(tmp_path / "w.ckpt", tree)
    data = bytearray(path.read_bytes())
    _, end = _header_span(bytes(data))
    start = end + 8
    pos = {"first": start, "middle": (start + len(data)) // 2, "last": len(data) - 1}[where]
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(io.CheckpointError, match=r"w\.ckpt.*SHA-256"):
        io.load(path, tree)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h: h[:5] + b"\xff" + h[6:], id="non-utf8-byte"),
        pytest.param(lambda h: h[:-1] + b"!", id="broken-json"),
        pytest.param(lambda h: b"[" + b" " * (len(h) - 2) + b"]", id="not-an-object"),
        pytest.param(
            lambda h: (
                h.replace(b'"leaves": [[', b'"leaves": {[', 1)
                if b'"leaves": [[' in h
                else h[:-1] + b"x"
            ),
            id="leaves-not-a-list",
        ),
    ],
)
def test_every_malformed_header_raises_checkpoint_error(tmp_path, mutate):
    # regression (issue 13): a flipped header byte raised UnicodeDecodeError
    tree = {"w": jnp.ones(3)}
    path = io.save(tmp_path / "h.ckpt", tree)
    data = path.read_bytes()
    a, b = _header_span(data)
    header = mutate(data[a:b])
    assert len(header) == b - a
    path.write_bytes(data[:a] + header + data[b:])
    with pytest.raises(io.CheckpointError, match=r"h\.ckpt"):
        io.load(path, tree)
    with pytest.raises(io.CheckpointError):
        io.load_header(path)


def test_header_fields_of_the_wrong_type_raise(tmp_path):
    import json
    import struct

    tree = {"w": jnp.ones(3)}
    path = io.save(tmp_path / "t.ckpt", tree)
    data = path.read_bytes()
    a, b = _header_span(data)
    header = json.loads(data[a:b])
    for key, value in [("leaves", [[3, "float32"]]), ("class", 7), ("sha256", None)]:
        bad = dict(header, **{key: value})
        raw = json.dumps(bad).encode()
        path.write_bytes(data[:8] + struct.pack("<Q", len(raw)) + raw + data[b:])
        with pytest.raises(io.CheckpointError, match="corrupt header"):
            io.load(path, tree)


def test_format_1_checkpoints_without_checksum_still_load(tmp_path):
    import json
    import struct

    tree = {"w": jnp.arange(3.0)}
    path = io.save(tmp_path / "old.ckpt", tree)
    data = path.read_bytes()
    a, b = _header_span(data)
    header = json.loads(data[a:b])
    header["format"] = 1
    del header["sha256"]
    raw = json.dumps(header).encode()
    path.write_bytes(data[:8] + struct.pack("<Q", len(raw)) + raw + data[b:])
    assert _leaves_equal(io.load(path, tree), tree)
    header["format"] = 99
    raw = json.dumps(header).encode()
    path.write_bytes(data[:8] + struct.pack("<Q", len(raw)) + raw + data[b:])
    with pytest.raises(io.CheckpointError, match="unsupported format 99"):
        io.load(path, tree)


def test_stale_temporary_files_of_interrupted_saves_are_removed(tmp_path):
    # regression (issue 13): after a kill during a save the .tmp files stayed forever
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".m.ckpt.{dead.pid}.abc123.tmp"
    stale.write_bytes(b"half")
    old_unnamed = tmp_path / ".m.ckpt.zz9.tmp"
    old_unnamed.write_bytes(b"half")
    os.utime(old_unnamed, (0, 0))
    live = tmp_path / f".m.ckpt.{os.getpid()}.xyz.tmp"  # a save in progress (this process)
    live.write_bytes(b"busy")
    other_target = tmp_path / f".n.ckpt.{dead.pid}.abc.tmp"  # another checkpoint's file
    other_target.write_bytes(b"x")
    io.save(tmp_path / "m.ckpt", {"w": jnp.ones(2)})
    names = sorted(os.listdir(tmp_path))
    assert stale.name not in names and old_unnamed.name not in names
    assert live.name in names and other_target.name in names and "m.ckpt" in names


def test_non_finite_config_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="config"):
        io.save(tmp_path / "c.ckpt", {"w": jnp.ones(2)}, config={"eta": float("inf")})
    assert os.listdir(tmp_path) == []
