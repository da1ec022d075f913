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
# # A sub-network hidden in a random predictive coding network
#
# ngc-museum's `Hidden_PCN` exhibit: the weights of a predictive coding network are drawn
# once (every weight $\pm\sqrt{2/n_\text{in}}$) and **never change**. Each synapse has a
# score instead, and each layer uses only the half of its synapses with the largest
# $|S|$ (the edge-popup idea of Ramanujan et al. 2020). After the usual E-step, the scores
# move by a Hebbian rule, $\Delta S = (\phi(z_{l-1})^\top e_l) \odot W \odot
# \mathrm{sign}(S)$: a synapse is kept when its fixed weight already pushes its target's
# prediction the way the error asks. Learning is choosing synapses.

# %%
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx.data import load_digits, train_test_split
from ngcx.models import HiddenPCN


images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)
onehot = np.eye(10, dtype=np.float32)[y_train]

model = HiddenPCN((64, 128, 128, 10), key=jax.random.key(0), k=0.5, T=20, tau_m=25.0)
opt = model.optimizer()  # Adam on the scores (ngcx.plasticity.hebbian)
opt_state = model.init_optimizer(opt)
step = jax.jit(functools.partial(HiddenPCN.train_step, optimizer=opt))
predict = jax.jit(HiddenPCN.predict)
weights_before = [np.asarray(s.weights) for s in model.pcn.synapses]
masks_before = model.masks()


def accuracy(m):
    return float((np.asarray(predict(m, x_test)).argmax(-1) == y_test).mean())


print("test accuracy of the initial random sub-network:", accuracy(model))

# %% [markdown]
# Three epochs. `turnover` is the share of kept synapses swapped in one step's
# re-selection (the exhibit's "structural plasticity").

# %%
rng = np.random.default_rng(0)
for epoch in range(3):
    order = rng.permutation(len(x_train))
    energy, turnover = [], []
    for b in range(len(x_train) // 64):
        idx = order[b * 64 : (b + 1) * 64]
        model, opt_state, metrics = step(model, opt_state, x_train[idx], onehot[idx])
        energy.append(float(metrics.energy))
        turnover.append(float(metrics.turnover))
    print(
        f"epoch {epoch + 1}: energy {np.mean(energy):.3f}  turnover {np.mean(turnover):.4f}"
        f"  test accuracy {accuracy(model):.3f}"
    )

# %% [markdown]
# The weights are exactly the initial ones; only the masks changed.

# %%
same = all(
    np.array_equal(w, np.asarray(s.weights))
    for w, s in zip(weights_before, model.pcn.synapses, strict=True)
)
print("weights unchanged:", same)
print("kept per layer:", [float(jnp.mean(m)) for m in model.masks()])

# %% [markdown]
# The score rule is the negative gradient of the energy once the top-$k$ mask's
# derivative is taken straight through $|S|$ (`ngcx.models.popup_mask`):

# %%
x, y = jnp.asarray(x_test[:16]), jnp.asarray(np.eye(10, dtype=np.float32)[y_test[:16]])
zs = model.infer(x, y)
rule = model.score_updates(x, y, zs)
grads = jax.grad(lambda s: eqx.tree_at(lambda m: m.scores, model, s).energy(x, y, zs))(model.scores)
print(
    "max |rule + grad|:", max(float(jnp.abs(r + g).max()) for r, g in zip(rule, grads, strict=True))
)

# %% [markdown]
# Which synapses were swapped: per input pixel, how many of its first-layer synapses
# entered or left the sub-network during training. A pixel that is almost always blank
# (the left column of the 8x8 digits) sends almost no presynaptic activity, so its scores
# barely move and its synapses mostly stay as drawn.

# %%
swapped = np.asarray(jnp.abs(model.masks()[0] - masks_before[0])).sum(axis=1).reshape(8, 8)
print(swapped.astype(int))
plt.imshow(swapped, cmap="viridis")
plt.colorbar(label="swapped synapses")
plt.title("first layer: synapses swapped per input pixel")
plt.show()

# %% [markdown]
# From the command line: `ngcx train hidden-pcn` (embedded digits; `--data mnist:DIR` for
# the exhibit's MNIST, `--k` for the kept fraction).
