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
# # A harmonium (restricted Boltzmann machine) trained by contrastive divergence
#
# ngc-museum's `harmonium`: binary visible units $v$ (the pixels) and hidden units $h$,
# energy $E(v, h) = -v^\top c - h^\top b - v^\top W h$, and a `DenseSynapse` holding $W$
# and $b$ whose transpose carries the top-down pass. Both conditionals factorise,
# $p(h{=}1 \mid v) = \sigma(vW + b)$ and $p(v{=}1 \mid h) = \sigma(hW^\top + c)$, and
# `BernoulliCell`s draw the states with explicit keys.
#
# The log-likelihood gradient is a positive (data) minus a negative (model) Hebbian
# term, $\partial_W \log p(v) = v^\top p(h \mid v) - \mathbb E_{p}[v^\top h]$.
# Contrastive divergence (CD-$k$) estimates the negative term at the end of a $k$-step
# Gibbs chain started at the data; as $k \to \infty$ it is the exact gradient.

# %%
import functools
import itertools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx import viz
from ngcx.data import load_digits, train_test_split
from ngcx.models import Harmonium


images, labels = load_digits()
x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=0)
x_train, x_test = jnp.asarray(x_train), jnp.asarray(x_test)

# %% [markdown]
# **The free energy** $\mathcal F(v) = -v^\top c - \sum_j \mathrm{softplus}(vW + b)_j$ sums
# the hidden units out: check it by enumeration on a tiny machine.

# %%
tiny = Harmonium(4, 3, key=jax.random.key(0), weight_std=1.0, hidden_bias=0.0)
V = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=4)))
H = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=3)))
E = jax.vmap(lambda v: jax.vmap(lambda h: tiny.energy(v, h))(H))(V)
print(np.allclose(tiny.free_energy(V), -jax.scipy.special.logsumexp(-E, axis=1), atol=1e-5))

# %% [markdown]
# Train with the museum's recipe: CD-1, Adam at 1e-3, a Gaussian weight prior, hidden
# biases starting at -4 and visible biases at the pixels' log-odds.

# %%
model = Harmonium(64, 128, key=jax.random.key(0), k=1, eta=1e-3, l2=0.01)
model = model.init_visible_biases(x_train)
initial = model
opt = model.optimizer()
opt_state = model.init_optimizer(opt)
step = jax.jit(functools.partial(Harmonium.train_step, optimizer=opt))
reconstruct = jax.jit(Harmonium.reconstruct)
free_energy = jax.jit(Harmonium.free_energy)


def sse(m, x):
    return float(jnp.mean(jnp.sum((x - reconstruct(m, x)) ** 2, axis=-1)))


rng, key, curve = np.random.default_rng(0), jax.random.key(1), []
for _epoch in range(100):
    order = rng.permutation(len(x_train))
    for b in range(len(x_train) // 100):
        key, sub = jax.random.split(key)
        model, opt_state, metrics = step(
            model, opt_state, x_train[order[b * 100 : (b + 1) * 100]], sub
        )
    curve.append(sse(model, x_test))
gap = float(free_energy(model, x_test).mean() - free_energy(model, x_train).mean())
print(f"test reconstruction error {sse(initial, x_test):.3f} -> {curve[-1]:.3f}; "
      f"free-energy gap (test - train) {gap:.3f}")  # fmt: skip
assert curve[-1] < 0.5 * sse(initial, x_test)

# %% [markdown]
# Filters (the columns of $W$ as images), reconstructions, and samples: 1000 steps of
# block Gibbs sampling from the visible biases. A classifier-free check of the samples:
# their mean squared distance to the nearest training digit, before and after training.

# %%
viz.plot_receptive_fields(np.asarray(model.synapse.weights), (8, 8), max_fields=49)
viz.plot_reconstructions(np.asarray(x_test[:10]).reshape(-1, 8, 8),
                         np.asarray(reconstruct(model, x_test[:10])).reshape(-1, 8, 8))  # fmt: skip
sample = jax.jit(Harmonium.sample, static_argnums=(2, 3))
samples = sample(model, jax.random.key(3), 300, 1000)


def nearest_digit(s):
    d = jnp.sum(s**2, 1)[:, None] + jnp.sum(x_train**2, 1)[None] - 2 * s @ x_train.T
    return float(jnp.mean(jnp.min(d, axis=1)))


print("nearest-digit distance of samples:",
      round(nearest_digit(sample(initial, jax.random.key(3), 300, 1000)), 3), "->",
      round(nearest_digit(samples), 3))  # fmt: skip
viz.plot_receptive_fields(np.asarray(samples).T, (8, 8), max_fields=36, scale="none",
                          cmap="gray", title="Gibbs samples")  # fmt: skip
viz.plot_learning_curve({"test reconstruction error": curve})
plt.show()
