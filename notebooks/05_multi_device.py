# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Several devices and ensembles
#
# On a CPU we can pretend to have 4 devices. This must happen before JAX starts, so it is
# the first cell (on a machine with several GPUs, skip it).

# %%
import os


os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from ngcx.models import PCN  # noqa: E402
from ngcx.parallel import DataParallel  # noqa: E402
from ngcx.training import pcn_trainer  # noqa: E402


print(jax.devices())

# %% [markdown]
# ## Data parallelism with `jax.sharding`
#
# `DataParallel` makes a one-axis mesh, replicates the model and optimiser state, and splits
# each batch over the devices. The jitted step is the ordinary one: XLA turns the Hebbian
# batch sums into all-reduces, so the result equals single-device training.

# %%
model = PCN((64, 64, 10), key=jax.random.key(0), T=10)
rng = np.random.default_rng(0)
batches = [(rng.uniform(size=(32, 64)).astype(np.float32),
            np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]) for _ in range(5)]  # fmt: skip
dp = DataParallel(4)
single, sharded = pcn_trainer(model), pcn_trainer(model, parallel=dp)
for x, y in batches:
    single(jnp.asarray(x), jnp.asarray(y))
    sharded(*dp.shard_batch(x, y))
w1 = single.state[0].synapses[0].weights
w4 = sharded.state[0].synapses[0].weights
print("max difference:", float(jnp.max(jnp.abs(w1 - w4))), "| sharding:", w4.sharding)

# %% [markdown]
# ## An ensemble of 8 independently initialised PCNs with `vmap`
#
# `eqx.filter_vmap` builds 8 models from 8 keys and trains them at once, each on the same
# batches (use different batches per member by adding a batch axis).

# %%
keys = jax.random.split(jax.random.key(1), 8)
ensemble = eqx.filter_vmap(lambda k: PCN((64, 64, 10), key=k, T=10))(keys)
opt = PCN((64, 64, 10), key=keys[0], T=10).optimizer()
states = eqx.filter_vmap(lambda m: m.init_optimizer(opt))(ensemble)


@eqx.filter_jit
def ensemble_step(models, states, x, y):
    def one(m, s):
        m, s, metrics = m.train_step(s, x, y, optimizer=opt)
        return m, s, metrics.energy

    return eqx.filter_vmap(one)(models, states)


for x, y in batches:
    ensemble, states, energies = ensemble_step(ensemble, states, jnp.asarray(x), jnp.asarray(y))
print("energies of the 8 members:", np.round(np.asarray(energies), 3))
