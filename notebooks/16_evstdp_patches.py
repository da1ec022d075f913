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
# # Event-driven STDP on image patches
#
# ngc-museum's `evstdp_patches` exhibit (Tavanaei, Masquelier & Maida 2018): Bernoulli
# spikes from a patch drive a winner-take-all layer (`WTASCell`: a cell spikes where the
# softmax of its input beats its adaptive threshold). On each winner's spike, event STDP
# moves the weights of inputs that spiked within the last few ms towards
# $w_{\max}/(1+\lambda)$ and decays the others: each winner's filter is pulled towards the
# patches it wins, so the layer learns a dictionary of stroke-like patch prototypes.

# %%
import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx import viz
from ngcx.data import generate_patch_set, load_digits, train_test_split
from ngcx.models import EventSTDPPatches, filter_match


images, labels = load_digits()
x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=0)
train_patches = np.asarray(generate_patch_set(x_train, (5, 5), 5, center=False, seed=1))
test_patches = jnp.asarray(generate_patch_set(x_test, (5, 5), 5, center=False, seed=2))
print("training patches:", train_patches.shape, " test patches:", test_patches.shape)

# %% [markdown]
# ## Train: one patch at a time
#
# `train_patches` scans `train_sample` over a block of patches (each shown for 50 steps of
# 3 ms, learning at every step); blank patches are skipped, as in the exhibit.

# %%
model = EventSTDPPatches((5, 5), 49, key=jax.random.key(0))
init_W = model.W.weights
opt_state = model.init_optimizer()
train = eqx.filter_jit(EventSTDPPatches.train_patches)
for i in range(0, len(train_patches), 500):
    block = jnp.asarray(train_patches[i : i + 500])
    model, opt_state, counts = train(model, opt_state, block, jax.random.key(i))
print(f"spikes per patch in the last block: {float(counts.sum(1).mean()):.1f} (50 steps)")

# %% [markdown]
# ## Are the filters structured?
#
# `filter_match` is the mean, over held-out patches, of the best Pearson correlation of a
# patch with any filter: chance alignment for random filters, near 1 for a dictionary of
# prototypes.

# %%
before = float(filter_match(init_W.T, test_patches))
after = float(filter_match(model.W.weights.T, test_patches))
print(f"filter match: random initial filters {before:.3f}, after event STDP {after:.3f}")
W = np.asarray(model.W.weights)
viz.plot_receptive_fields(W - W.mean(0), (5, 5), max_fields=49,
                          title="learned filters (minus their means)")  # fmt: skip
plt.show()

# %% [markdown]
# The same run from the command line, with plots and checkpoints:
# `ngcx train evstdp-patches --epochs 3` (`--data mnist:DIR --patch 10 10 --hidden 100` for
# the exhibit's MNIST setting).
