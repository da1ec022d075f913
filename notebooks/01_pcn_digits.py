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
# # A predictive coding network on digits
#
# The discriminative PCN of ngc-museum's `pc_discrim`, built from ngcx's public pieces:
# `RateCell`s for the hidden layers, `GaussianErrorCell`s scoring each layer's prediction,
# and `HebbianSynapse`s whose rule is the negative gradient of the energy. One training
# step is an E-step (T steps of the cells' dynamics, one `lax.scan`) and an M-step (the
# Hebbian update through optax).

# %%
import functools

import jax
import jax.numpy as jnp
import numpy as np

from ngcx.data import load_digits, train_test_split
from ngcx.models import PCN


images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)
print(x_train.shape, x_test.shape, float(x_train.max()))

# %% [markdown]
# Build the model and one jitted training step. `model.optimizer()` is the optax chain of
# the model's learning options (`ngcx.plasticity.hebbian`: Adam here, ascending the
# Hebbian rule); `eta`, `tau_m`, `sigma` and `dt` are array leaves of the model.

# %%
model = PCN((64, 128, 128, 10), key=jax.random.key(0), T=20, tau_m=20.0, act_fx="relu",
            eta=1e-3, optim_type="adam")  # fmt: skip
opt = model.optimizer()
opt_state = model.init_optimizer(opt)
step = jax.jit(functools.partial(PCN.train_step, optimizer=opt))
predict = jax.jit(PCN.predict)
onehot = np.eye(10, dtype=np.float32)[y_train]

# %%
rng = np.random.default_rng(0)
for epoch in range(10):
    order = rng.permutation(len(x_train))
    energies = []
    for b in range(len(x_train) // 64):
        idx = order[b * 64 : (b + 1) * 64]
        model, opt_state, metrics = step(model, opt_state, x_train[idx], onehot[idx])
        energies.append(float(metrics.energy))
    acc = float((np.asarray(predict(model, x_test)).argmax(-1) == y_test).mean())
    print(f"epoch {epoch + 1}: energy {np.mean(energies):.4f}  test accuracy {acc:.4f}")
assert acc > 0.9

# %% [markdown]
# The E-step lowers the energy of each sample: run inference on a batch and compare the
# energy at the feed-forward guess with the energy after T steps.

# %%
x, y = jnp.asarray(x_test[:32]), jnp.asarray(np.eye(10, dtype=np.float32)[y_test[:32]])
guess = model.projection(x)[:-1]  # hidden layers' feed-forward values
settled, energies = model.infer(x, y, record_energy=True)
print("energy at the projection:", float(model.energy(x, y, guess)))
print("energy after inference: ", float(model.energy(x, y, settled)))
plt_energies = np.asarray(energies)

# %% [markdown]
# The first layer's weights are receptive fields over the 8x8 input.

# %%
import matplotlib.pyplot as plt  # noqa: E402


W = np.asarray(model.synapses[0].weights)
fig, axes = plt.subplots(2, 8, figsize=(8, 2))
for k, ax in enumerate(axes.ravel()):
    ax.imshow(W[:, k].reshape(8, 8), cmap="gray")
    ax.axis("off")
plt.show()
