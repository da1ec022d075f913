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
# # Sparse coding of natural images
#
# Olshausen & Field (1996), ngc-museum's `olshausen_sc`: a patch $x$ is explained as
# $\hat x = zW$ by a few of the atoms (rows) of a dictionary $W$, under the energy
#
# $$E(z, W) = \tfrac12\lVert x - zW\rVert^2 + \lambda\sum_j \rho(z_j),$$
#
# with a Cauchy prior $\rho(z) = \log(1 + z^2)$ or a Laplacian one $\rho(z) = \lvert z\rvert$.
# Inference runs a `RateCell` for `T` steps: gradient descent on $E$ in $z$ for Cauchy,
# ISTA (a gradient step then the soft threshold $S_{\beta\lambda}$) for Laplacian. Learning
# is the Hebbian rule $\Delta W = z^\top(x - zW) = -\partial E/\partial W$, followed by
# renormalising every atom to unit length. On whitened natural images the atoms become
# localised, oriented edge detectors, like the receptive fields of simple cells in V1.

# %%
import functools

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx import viz
from ngcx.data import load_natural_images, sample_patches, whiten_images
from ngcx.models import SparseCoding, localisation, orientation_selectivity


# %% [markdown]
# The data: two photographs embedded in ngcx (scikit-learn's sample images, CC BY 2.0),
# whitened with Olshausen & Field's filter $R(f) = f\,e^{-(f/f_0)^4}$, which flattens the
# $1/f$ amplitude spectrum of natural scenes (edges stand out, smooth shading fades).

# %%
images = load_natural_images()
white = whiten_images(images)  # f0 = 0.4 cycles/pixel, mean pixel variance 0.1
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].imshow(images[0], cmap="gray")
axes[0].set_title("photograph")
axes[1].imshow(white[0], cmap="gray", vmin=-1, vmax=1)
axes[1].set_title("whitened")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# Train a complete dictionary (64 atoms) on 8x8 patches (the museum uses 16x16 patches and
# 100 atoms: `ngcx train sparse-coding`): 600 steps of 100 patches, with the Laplacian prior
# (ISTA, 50 steps of $\beta = dt/\tau_m = 0.1$).

# %%
P = 8
patches = sample_patches(white, (P, P), 60000, seed=0)  # centred patches, (N, 64)
model = SparseCoding(P * P, 64, key=jax.random.key(0), prior="laplacian", T=50, dt=2.0, eta=5e-2)
initial = model.atoms
opt = model.optimizer()
opt_state = model.init_optimizer(opt)
step = jax.jit(functools.partial(SparseCoding.train_step, optimizer=opt))
errors = []
for i in range(600):
    model, opt_state, metrics = step(model, opt_state, patches[i * 100 : (i + 1) * 100])
    errors.append(float(metrics.recon_error))
print(f"relative reconstruction error {np.mean(errors[-50:]):.3f}, "
      f"Hoyer sparsity of the codes {float(metrics.sparsity):.2f}")  # fmt: skip

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
viz.plot_receptive_fields(initial.T, (P, P), max_fields=64, title="random atoms", ax=axes[0])
viz.plot_receptive_fields(model.atoms.T, (P, P), max_fields=64, title="learned atoms", ax=axes[1])
plt.show()

# %% [markdown]
# How oriented and how localised are the atoms? `orientation_selectivity` is the length of
# the mean doubled-angle vector of each atom's power spectrum (1: all power along one
# orientation; a random atom about 0.1); `localisation` is one minus the spatial spread of
# the atom's energy relative to a flat one (0: energy everywhere; an edge across the patch
# about 0.3; a small blob near 1).

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, fn, name in ((axes[0], orientation_selectivity, "orientation selectivity"),
                     (axes[1], localisation, "localisation")):  # fmt: skip
    ax.hist(fn(initial, (P, P)), bins=20, range=(-0.1, 1), alpha=0.6, label="random")
    ax.hist(fn(model.atoms, (P, P)), bins=20, range=(-0.1, 1), alpha=0.6, label="learned")
    ax.set_xlabel(name)
    ax.legend()
plt.show()

# %% [markdown]
# Inference lowers the energy at every step (ISTA with $\beta \le 1/\lVert W\rVert^2$), and
# the codes are sparse: most coefficients are exactly zero.

# %%
x = jnp.asarray(patches[-200:])
z, energies = model.infer(x, record_energy=True)
print(f"energy per patch: {float(model.energy(x, jnp.zeros_like(z))) / 200:.3f} at z = 0, "
      f"{float(energies[-1]) / 200:.3f} after inference; "
      f"{float(jnp.mean(z == 0)):.0%} of the coefficients are zero")  # fmt: skip
plt.figure(figsize=(5, 3))
plt.plot(np.asarray(energies) / 200)
plt.xlabel("inference step")
plt.ylabel("energy per patch")
plt.show()
