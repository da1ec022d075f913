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
# # Generative predictive coding: reconstruction and sampling
#
# The reconstructive PC network of ngc-museum's `pc_recon` (the GNCN family of Ororbia &
# Kifer; Rao & Ballard's hierarchy with a sparse prior). Latent layers $z_1, z_2, z_3$
# (`RateCell`s) predict the layer below through `DenseSynapse`s,
# $\mu_{l-1} = \phi(z_l) W_l$, and Gaussian error cells score the predictions. The energy
#
# $$F = \tfrac12\lVert x - \mu_0\rVert^2 + \sum_{l=1}^{2}\tfrac12\lVert z_l - \mu_l\rVert^2
#       + \gamma \sum_{l=1}^{3} \lVert z_l \rVert_1$$
#
# is lowered twice per batch: the **E-step** runs the cells' dynamics, which are gradient
# descent on $F$ in the latents; the **M-step** applies the Hebbian rule
# $\Delta W_l = \phi(z_l)^\top e_{l-1} = -\partial F/\partial W_l$ and renormalises each
# latent unit's generative weights.

# %%
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx import viz
from ngcx.data import load_digits, train_test_split
from ngcx.models import GenerativePCN


images, labels = load_digits()
x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=0)
x_train, x_test = jnp.asarray(x_train), jnp.asarray(x_test)

# %% [markdown]
# The museum's settings (SGD at 0.005, $\tau_m$ = 20 ms, ReLU latents, Laplacian prior),
# with a weaker prior ($\gamma$ = 0.02) and a longer E-step for 8x8 images.

# %%
model = GenerativePCN((64, 128, 64, 32), key=jax.random.key(0), T=50,
                      prior=("laplacian", 0.02), eta=0.005, optim_type="sgd")  # fmt: skip
opt = model.optimizer()
opt_state = model.init_optimizer(opt)
step = jax.jit(functools.partial(GenerativePCN.train_step, optimizer=opt))
reconstruct = jax.jit(GenerativePCN.reconstruct)


def test_error(m):
    return float(jnp.mean(jnp.sum((x_test - reconstruct(m, x_test)) ** 2, axis=-1)))


print("test squared error per image before training:", round(test_error(model), 3))
rng = np.random.default_rng(0)
curve = []
for _epoch in range(20):
    order = rng.permutation(len(x_train))
    for b in range(len(x_train) // 100):
        model, opt_state, metrics = step(model, opt_state, x_train[order[b * 100 : (b + 1) * 100]])
    curve.append(float(metrics.recon_error))
print("after 20 epochs:", round(test_error(model), 3))
assert test_error(model) < 0.5

# %% [markdown]
# Inference is descent on the energy: record $F$ at every step of the E-step.

# %%
_, energies = model.infer(x_test[:100], record_energy=True)
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(np.asarray(energies) / 100)
axes[0].set(xlabel="E-step", ylabel="energy per image", title="settling")
axes[1].plot(curve)
axes[1].set(xlabel="epoch", ylabel="squared error per image", title="training")
fig.tight_layout()

# %% [markdown]
# Test digits (top) and their reconstructions (bottom), and the bottom layer's
# generative fields (rows of $W_1$).

# %%
recon = reconstruct(model, x_test[:10])
viz.plot_reconstructions(
    np.asarray(x_test[:10]).reshape(-1, 8, 8), np.asarray(recon).reshape(-1, 8, 8)
)
viz.plot_receptive_fields(np.asarray(model.synapses[0].weights).T, (8, 8), max_fields=49)

# %% [markdown]
# **Sampling.** The top layer has only its sparse prior, a poor density for the codes the
# data actually use; as in the GNCN paper, fit a Gaussian mixture
# (`ngcx.density.GaussianMixture`) to the settled top latents of the training set, draw
# $z_3$ from it and pass it down through the generative weights.

# %%
gmm = model.fit_prior(x_train[:600], key=jax.random.key(1), n_components=10)
samples = model.sample(jax.random.key(2), 36, gmm)
viz.plot_receptive_fields(np.asarray(samples).T, (8, 8), max_fields=36, scale="none",
                          cmap="gray", title="ancestral samples")  # fmt: skip
plt.show()
