r"""Data-parallel training over several devices with ``jax.sharding``.

:class:`DataParallel` builds a 1-D ``Mesh`` over the devices with one axis, ``"batch"``.
Training state is *replicated* (``NamedSharding(mesh, P())``) and every batch is split
along its first axis (``NamedSharding(mesh, P("batch"))``). A step jitted as usual then
runs under XLA's SPMD partitioner: each device processes its slice of the batch, and the
batch sums inside the learning rules (``pre.T @ post``, bias sums, the mean energy) become
cross-device all-reduces, so the replicated parameters stay identical on every device and
equal single-device training up to the order of floating-point additions (tested on 4
forced CPU devices: ``XLA_FLAGS=--xla_force_host_platform_device_count=4``).

Where a rule needs the cross-device sum written out (a custom local rule, a statistic
that must be reduced before it is used), :meth:`DataParallel.per_shard` runs a function
with ``jax.shard_map`` on each device's slice of the batch, and :meth:`DataParallel.psum`
sums a PyTree over the devices inside it:

```python
dp = DataParallel(4)

def local_rule(syn, pre, post, x_pre, x_post):           # runs on one device's samples
    ups = syn.stdp_updates(pre, post, x_pre, x_post)
    return dp.psum(ups)                                   # the explicit all-reduce

rule = dp.per_shard(local_rule, batch_argnums=(1, 2, 3, 4))
updates = rule(syn, *dp.shard_batch(pre, post, x_pre, x_post))   # replicated result
```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


__all__ = ["DataParallel"]

T = TypeVar("T")


class DataParallel:
    """Replicate state and shard batches over ``devices`` (default: all local devices).

    **Arguments:** `devices`: ``None`` (all local devices), an int in ``[1, number of
    local devices]`` (the first ones) or a non-empty sequence of distinct ``jax.Device``;
    `axis_name`: the mesh axis's name (a non-empty str). ``ValueError`` naming the
    argument otherwise."""

    def __init__(self, devices: Sequence[Any] | int | None = None, axis_name: str = "batch"):
        available = jax.local_devices()
        if devices is None:
            chosen = list(available)
        elif isinstance(devices, bool):
            raise ValueError(f"`devices` must be an int, devices or None, got {devices!r}.")
        elif isinstance(devices, int):
            if not 1 <= devices <= len(available):
                raise ValueError(
                    f"`devices` must lie in [1, {len(available)}] (the local devices), got "
                    f"{devices}."
                )
            chosen = list(available[:devices])
        else:
            if isinstance(devices, str) or not isinstance(devices, Sequence):
                raise ValueError(
                    f"`devices` must be an int, a sequence of jax devices or None, got {devices!r}."
                )
            chosen = list(devices)
            if not chosen:
                raise ValueError("`devices` is empty.")
            for d in chosen:
                if not isinstance(d, jax.Device):
                    raise ValueError(f"`devices` must hold jax devices, got {d!r}.")
            if len(set(chosen)) != len(chosen):
                raise ValueError(f"`devices` must not repeat a device, got {chosen}.")
        if not isinstance(axis_name, str) or not axis_name:
            raise ValueError(f"`axis_name` must be a non-empty str, got {axis_name!r}.")
        self.axis_name = axis_name
        self.mesh = Mesh(np.array(chosen), (axis_name,))
        self.replicated = NamedSharding(self.mesh, P())
        self.batch_sharding = NamedSharding(self.mesh, P(axis_name))

    @property
    def n_devices(self) -> int:
        return int(self.mesh.devices.size)

    @property
    def multiprocess(self) -> bool:
        """Whether the mesh spans devices of several processes (``jax.distributed``)."""
        me = jax.process_index()
        return any(d.process_index != me for d in self.mesh.devices.flat)

    def replicate(self, tree: T) -> T:
        """Put every array leaf of ``tree`` on all devices. Across processes every process
        must pass the same values (e.g. a model built from the same seed)."""
        if not self.multiprocess:
            return jax.tree_util.tree_map(
                lambda x: (
                    jax.device_put(x, self.replicated)
                    if isinstance(x, jax.Array | np.ndarray)
                    else x
                ),
                tree,
            )

        def put(x: Any) -> Any:
            if not isinstance(x, jax.Array | np.ndarray):
                return x
            if isinstance(x, jax.Array) and not x.is_fully_addressable:
                return x  # already a global array
            if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
                data = np.asarray(jax.random.key_data(x))
                impl = jax.random.key_impl(x)
                raw = jax.make_array_from_callback(data.shape, self.replicated, lambda i: data[i])
                return jax.random.wrap_key_data(raw, impl=impl)
            host = np.asarray(x)
            return jax.make_array_from_callback(host.shape, self.replicated, lambda i: host[i])

        return jax.tree_util.tree_map(put, tree)

    def shard_batch(self, *arrays: Any) -> tuple[jax.Array, ...]:
        """Split each array along its first axis over the devices (its length must be a
        multiple of the number of devices). Across processes every process passes the same
        global batch (host arrays); each contributes only the rows of its own devices
        (``jax.make_array_from_process_local_data``)."""
        out = []
        for i, a in enumerate(arrays):
            shape = np.shape(a)
            if len(shape) == 0:
                raise ValueError(
                    f"`arrays[{i}]` of shard_batch must have a leading batch axis, got a scalar."
                )
            n = shape[0]
            if n % self.n_devices:
                raise ValueError(
                    f"`arrays[{i}]` of shard_batch has a batch of {n} samples (shape {shape}), "
                    f"which does not divide over {self.n_devices} devices; use a batch size "
                    f"that is a multiple of {self.n_devices}."
                )
            if self.multiprocess:
                host = np.asarray(a)
                rows = self._local_rows(host.shape)
                out.append(
                    jax.make_array_from_process_local_data(
                        self.batch_sharding, host[rows], host.shape
                    )
                )
            else:
                out.append(jax.device_put(a, self.batch_sharding))
        return tuple(out)

    def _local_rows(self, shape: tuple[int, ...]) -> slice:
        """The rows of a global batch of `shape` that this process's devices hold."""
        spans = [
            index[0].indices(shape[0])[:2]
            for index in self.batch_sharding.addressable_devices_indices_map(shape).values()
            if index is not None
        ]
        start, stop = min(s for s, _ in spans), max(e for _, e in spans)
        return slice(start, stop)

    def psum(self, tree: T) -> T:
        """Sum every array of ``tree`` over the devices (use inside :meth:`per_shard`)."""
        return jax.lax.psum(tree, self.axis_name)

    def per_shard(
        self, fn: Callable[..., Any], batch_argnums: Sequence[int] = (0,)
    ) -> Callable[..., Any]:
        """``fn`` run by ``jax.shard_map`` on each device: the arguments in `batch_argnums`
        arrive as that device's slice of the batch (split along axis 0), the others
        replicated; the result must be replicated (reduce it with :meth:`psum`). Returns a
        jitted function of the same arguments."""
        batch = set(int(i) for i in batch_argnums)
        if any(i < 0 for i in batch):
            raise ValueError(f"`batch_argnums` must be >= 0, got {tuple(batch_argnums)}.")

        def wrapped(*args):
            if batch and max(batch) >= len(args):
                raise ValueError(
                    f"`batch_argnums` {tuple(sorted(batch))} refers to argument "
                    f"{max(batch)}, but the function got {len(args)} arguments."
                )
            in_specs = tuple(
                jax.tree_util.tree_map(lambda _, i=i: P(self.axis_name) if i in batch else P(), arg)
                for i, arg in enumerate(args)
            )
            mapped = jax.shard_map(fn, mesh=self.mesh, in_specs=in_specs, out_specs=P())
            return mapped(*args)

        return jax.jit(wrapped)
