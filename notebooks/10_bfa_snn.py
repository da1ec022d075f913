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
# # A spiking network trained by broadcast feedback alignment
#
# ngc-museum's `bfa_snn` exhibit (Samadi, Lillicrap and Tweed 2017): Bernoulli input
# spikes $s_0$ drive a hidden layer of simplified LIF cells through $W_1$, whose spikes $s_1$
# drive the output cells through $W_2$. At every step the output error $e = y - s_2$ (one-hot
# label minus output spikes) is **broadcast** to the hidden layer through a fixed random
# matrix $B$, gated by the surrogate derivative $\sigma'$ of each hidden cell's input
# current $j_1$:
#
# $$d_1 = (e B) \odot \sigma'(j_1), \qquad
# \Delta W_1 = \eta_1\, s_0^\top d_1, \qquad \Delta W_2 = \eta_2\, s_1^\top e .$$
#
# No weight transport ($B \ne W_2^\top$, never learned), no backpropagation through time:
# two local Hebbian products per step, with Samadi et al.'s rates
# $\eta_1 = \eta/n_{\text{in}}$, $\eta_2 = \eta/n_{\text{hid}}$.

# %%
import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx.data import load_digits, train_test_split
from ngcx.models import BFASNN


images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)
model = BFASNN(64, 200, 10, key=jax.random.key(0), input_gain=1.0, eta=0.25)
print(f"T = {model.T} steps of {float(model.dt)} ms; rates eta1 = {float(model.eta1):.4f}, "
      f"eta2 = {float(model.eta2):.5f}")  # fmt: skip

# %% [markdown]
# ## The broadcast teaching signal, checked by hand
#
# `teaching_signal` is $(eB)\odot\sigma'(j_1)$ with the secant-LIF surrogate
# $\sigma'(j) = \mathrm{sech}^2(0.08\, j)$ for $j > 0$ and 0 otherwise.

# %%
e = jnp.array([[1.0, 0, 0, 0, 0, 0, 0, 0, -1.0, 0]])  # class 0 missed, class 8 fired
j1 = jax.random.normal(jax.random.key(1), (1, 200)) * 3.0
by_hand = (e @ model.B.weights) * jnp.where(j1 > 0, 1.0 / jnp.cosh(0.08 * j1) ** 2, 0.0)
print("max |difference|:", float(jnp.abs(model.teaching_signal(e, j1) - by_hand).max()))

# %% [markdown]
# ## Training on the 8x8 digits
#
# Each batch of 50 digits is presented for 100 steps (25 ms); the weights change at every
# step after a 20-step burn-in. A digit is classified by the output cells' mean input
# current after the burn-in.

# %%
train = eqx.filter_jit(lambda m, s, x, y, k: m.train_batch(s, x, y, k))
predict = eqx.filter_jit(BFASNN.predict)
opt_state = model.init_optimizer()
key, accs = jax.random.key(2), []
for epoch in range(4):
    order = np.random.default_rng(epoch).permutation(len(x_train))
    for b in range(len(x_train) // 50):
        idx = order[b * 50 : (b + 1) * 50]
        key, k = jax.random.split(key)
        model, opt_state, _ = train(model, opt_state, x_train[idx], y_train[idx], k)
    acc = float((np.asarray(predict(model, jnp.asarray(x_test), k)) == y_test).mean())
    accs.append(acc)
    print(f"epoch {epoch + 1}: test accuracy {acc:.3f}")

# %% [markdown]
# ## Hidden spikes for one test digit

# %%
rec = eqx.filter_jit(lambda m, x, k: m.respond(x, k, record=True))(
    model, jnp.asarray(x_test[:1]), jax.random.key(3)
)
spikes = np.asarray(rec.hid_spikes[:, 0])
t, n = np.nonzero(spikes)
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
ax[0].plot(np.arange(1, len(accs) + 1), accs, marker="o")
ax[0].set(title="test accuracy", xlabel="epoch", ylim=(0, 1))
ax[1].scatter(t * float(model.dt), n, s=1, marker="|", color="k")
ax[1].set(title=f"hidden spikes, digit {y_test[0]} (predicted {int(np.argmax(rec.logits))})",
          xlabel="ms", ylabel="cell")  # fmt: skip
plt.show()

# %% [markdown]
# The training command runs the same model with the exhibit's 1000 hidden cells:
# `ngcx train bfa-snn` (10 epochs on digits; `--data mnist:DIR` for MNIST, where the
# exhibit reports 96.3% test accuracy).
