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
# # Convolutional predictive coding
#
# A sparse latent map generates the image through a strided Hebbian deconvolutional
# synapse. Inference settles the latents (with a Laplacian, i.e. sparse, prior); learning
# is the deconvolutional Hebbian rule, which ngcx computes as an exact VJP built from
# stride-1 convolutions (no dilated convolutions, so it is fast on CPU).

# %%
import jax
import jax.numpy as jnp
import numpy as np

from ngcx.data import load_digits, train_test_split
from ngcx.models import ConvPC, upsample
from ngcx.plasticity import HebbianDeconvSynapse


images, labels = load_digits()
x_train, _, x_test, _ = train_test_split(images, labels, 0.2, seed=0)
to_maps = lambda a: np.asarray(upsample(jnp.asarray(a.reshape(-1, 8, 8, 1)), 2))  # noqa: E731
x_train, x_test = to_maps(x_train), to_maps(x_test)
print(x_train.shape)

# %% [markdown]
# The synapse on its own: a stride-2 transposed convolution from 8 feature maps of 8x8 to a
# 16x16 image, and its Hebbian update (the filter correlation of latents and errors).

# %%
syn = HebbianDeconvSynapse((5, 5, 8, 1), (8, 8), key=jax.random.key(0), stride=2, eta=1e-3)
z = jax.random.uniform(jax.random.key(1), (4, 8, 8, 8))
print("prediction:", syn(z).shape)
err = jnp.asarray(x_train[:4]) - syn(z)
print("update shaped like the filters:", syn.hebbian_updates(z, err).weights.shape)

# %% [markdown]
# Train the model for a few epochs and watch the reconstruction error fall.

# %%
model = ConvPC((16, 16, 1), 8, key=jax.random.key(0), kernel=5, T=40, tau_m=20.0,
               prior=("laplacian", 0.2), eta=2e-3)  # fmt: skip
opt = model.optimizer()
opt_state = model.init_optimizer(opt)
step = jax.jit(lambda m, s, x: m.train_step(s, x, optimizer=opt))
reconstruct = jax.jit(ConvPC.reconstruct)
rng = np.random.default_rng(0)
for epoch in range(6):
    order = rng.permutation(len(x_train))
    errs = []
    for b in range(len(x_train) // 64):
        model, opt_state, metrics = step(model, opt_state, x_train[order[b * 64 : (b + 1) * 64]])
        errs.append(float(metrics.recon_error))
    test = float(jnp.sum(jnp.square(reconstruct(model, x_test) - x_test)) / len(x_test))
    print(f"epoch {epoch + 1}: reconstruction error {np.mean(errs):.3f}  test {test:.3f}")

# %%
import matplotlib.pyplot as plt  # noqa: E402


rec = np.asarray(reconstruct(model, x_test[:6]))
fig, axes = plt.subplots(2, 6, figsize=(8, 3))
for k in range(6):
    axes[0, k].imshow(x_test[k, :, :, 0], cmap="gray")
    axes[1, k].imshow(rec[k, :, :, 0], cmap="gray")
    axes[0, k].axis("off")
    axes[1, k].axis("off")
plt.show()
