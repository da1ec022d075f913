# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Surrogate-gradient training
#
# A spike is the step $1[v > \theta]$, whose derivative is zero almost everywhere. ngcx's
# spike functions are `jax.custom_jvp`s that carry a surrogate derivative instead, so
# `jax.grad` trains spiking networks by backpropagation through time, with no side
# function to call.

# %%
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ngcx import surrogates
from ngcx.data import load_digits, train_test_split
from ngcx.models import LIFLayer, PCLayer, SurrogateSNN


v = jnp.linspace(-2, 2, 9)
for name in ("arctan", "fast_sigmoid", "triangular"):
    spike = surrogates.get_surrogate(name)
    grad = jax.vmap(jax.grad(lambda u, s=spike: s(u, 0.0)))(v)
    print(f"{name:13s} spikes {np.asarray(spike(v, 0.0))}  d/dv {np.round(np.asarray(grad), 3)}")

# %% [markdown]
# ## A two-layer LIF network on digits
#
# `SurrogateSNN`: Bernoulli input spikes for 25 steps, LIF hidden and output layers, spike
# counts as logits, the loss differentiated through every spike with the arctan surrogate.

# %%
images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)
model = SurrogateSNN(64, 128, 10, key=jax.random.key(0), T=25, encoding="poisson")
optimizer = optax.adam(2e-3)
with jax.numpy_dtype_promotion("standard"):
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))


@eqx.filter_jit
def step(model, opt_state, x, y, key):
    loss, grads = eqx.filter_value_and_grad(SurrogateSNN.loss)(model, x, y, key)
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = optimizer.update(
            grads, opt_state, eqx.filter(model, eqx.is_inexact_array)
        )
    return eqx.apply_updates(model, updates), opt_state, loss


key = jax.random.key(1)
rng = np.random.default_rng(0)
for epoch in range(10):
    order = rng.permutation(len(x_train))
    for b in range(len(x_train) // 64):
        key, k = jax.random.split(key)
        idx = order[b * 64 : (b + 1) * 64]
        model, opt_state, loss = step(model, opt_state, x_train[idx], y_train[idx], k)
    pred = np.asarray(jnp.argmax(model(jnp.asarray(x_test), jax.random.key(9)), -1))
    print(f"epoch {epoch + 1}: loss {float(loss):.3f}  test accuracy {(pred == y_test).mean():.3f}")

# %% [markdown]
# ## ngcx layers inside your own Equinox model
#
# `PCLayer`'s forward pass *is* predictive coding inference (T steps, differentiable), and
# `LIFLayer` is a layer of spiking neurons. Both are plain modules: put them in any model
# and train everything with `eqx.filter_grad` and optax. (`examples/hybrid_equinox.py` is
# the full script.)


# %%
class Hybrid(eqx.Module):
    embed: eqx.nn.Linear
    pc: PCLayer
    spiking: LIFLayer
    readout: eqx.nn.Linear

    def __init__(self, key):
        k = jax.random.split(key, 4)
        self.embed = eqx.nn.Linear(64, 48, key=k[0])
        self.pc = PCLayer(48, 64, key=k[1], T=15)
        self.spiking = LIFLayer(64, 64, key=k[2])
        self.readout = eqx.nn.Linear(64, 10, key=k[3])

    def __call__(self, x):
        z = self.pc(jax.vmap(self.embed)(x))
        return jax.vmap(self.readout)(self.spiking.rates(z, 12))


hybrid = Hybrid(jax.random.key(0))
opt2 = optax.adam(3e-3)
with jax.numpy_dtype_promotion("standard"):
    state2 = opt2.init(eqx.filter(hybrid, eqx.is_array))


@eqx.filter_jit
def hybrid_step(model, opt_state, x, y):
    def loss_fn(m):
        return optax.softmax_cross_entropy_with_integer_labels(m(x), y).mean()

    loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = opt2.update(grads, opt_state, eqx.filter(model, eqx.is_array))
    return eqx.apply_updates(model, updates), opt_state, loss


for epoch in range(5):
    order = rng.permutation(len(x_train))
    for b in range(len(x_train) // 64):
        idx = order[b * 64 : (b + 1) * 64]
        hybrid, state2, loss = hybrid_step(hybrid, state2, x_train[idx], y_train[idx])
    acc = (np.asarray(jnp.argmax(hybrid(jnp.asarray(x_test)), -1)) == y_test).mean()
    print(f"epoch {epoch + 1}: loss {float(loss):.3f}  test accuracy {acc:.3f}")
