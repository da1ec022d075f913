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
# # An excitatory-inhibitory RNN that learns online
#
# ngc-museum's `ei_rnn` exhibit (after Song, Yang & Wang 2016): ten leaky, noisy rate units,
# eight excitatory and two inhibitory, predict the next sample of a noisy sine wave. All
# weights stay non-negative and each unit's sign is fixed, so Dale's law holds throughout.
# There is no backpropagation through time: after every 10 ms step each synapse moves by a
# local Hebbian product of its presynaptic activity and a postsynaptic error, low-passed
# by an eligibility trace.

# %%
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx.models import EIRNN


t = jnp.linspace(0.0, 10.0, 1000)[:, None]
series = jnp.sin(t) + 0.025 * jax.random.normal(jax.random.key(1), t.shape)
us, ys = series[:-1], series[1:]  # input y(t), target y(t + 1)

model = EIRNN(1, 10, 1, key=jax.random.key(0))  # tau_x 100 ms, dt 10 ms, eta 2e-4 (Adam)
opt = model.optimizer()  # ngcx.plasticity.hebbian with non-negative weights
opt_state = model.init_optimizer(opt)
train = jax.jit(functools.partial(EIRNN.train_sequence, optimizer=opt))
replay = jax.jit(EIRNN.run)  # the same pass without learning
print("RMSE before learning:", float(replay(model, us, ys, jax.random.key(5))[2].rmse))

# %% [markdown]
# One epoch is one online pass over the series (999 updates, one `lax.scan`).

# %%
curve = []
for epoch in range(60):
    model, opt_state, metrics = train(model, opt_state, us, ys, jax.random.key(epoch))
    curve.append(float(metrics.rmse))
    if (epoch + 1) % 10 == 0:
        print(f"epoch {epoch + 1}: online RMSE {curve[-1]:.3f}")
outs, rates, after = replay(model, us, ys, jax.random.key(5))
print("RMSE replayed without learning:", float(after.rmse))
print("persistence baseline y(t+1) = y(t):", float(jnp.sqrt(jnp.mean((ys - us) ** 2))))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5), layout="constrained")
axes[0].plot(t[1:, 0], ys[:, 0], ".", ms=2, color="C3", label="target")
axes[0].plot(t[1:, 0], outs[:, 0], color="C0", label="EI-RNN")
axes[0].set(xlabel="t", title="next-step prediction")
axes[0].legend()
axes[1].plot(np.arange(1, len(curve) + 1), curve)
axes[1].set(xlabel="epoch", ylabel="online RMSE")
plt.show()

# %% [markdown]
# Dale's law: the signed recurrent matrix $\mathrm{diag}(d)\,V$ has non-negative rows for
# the excitatory units and non-positive rows for the inhibitory ones, because the
# optimiser projects every weight back to $[0, \infty)$ and the sign belongs to the
# presynaptic unit.

# %%
w = np.asarray(model.recurrent_weights())
print("excitatory rows >= 0:", bool((w[: model.n_exc] >= 0).all()))
print("inhibitory rows <= 0:", bool((w[model.n_exc :] <= 0).all()))
print("mean recurrent current per unit: excitatory", float(after.exc_current),
      " inhibitory", float(after.inh_current))  # fmt: skip
lim = np.abs(w).max()
plt.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
plt.xlabel("postsynaptic unit")
plt.ylabel("presynaptic unit (E first, then I)")
plt.colorbar()
plt.show()

# %% [markdown]
# The local rules are the one-step (truncated) gradients of the instantaneous loss
# $\tfrac12\lVert y_{t+1} - o_t\rVert^2$: exactly for the readout, and scaled by
# $\tau_x/\Delta t$ for the input and recurrent synapses (see `EIRNN.local_updates`).
# From the command line: `ngcx train ei-rnn`.
