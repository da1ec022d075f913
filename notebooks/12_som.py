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
# # A self-organising map of the digits
#
# Kohonen's self-organising map, ngc-museum's `self_organizing_map`: prototypes $w_j$ sit
# on a grid at positions $p_j$. Each sample $x$, shown one at a time, picks its
# best-matching unit $c = \arg\min_j \lVert x - w_j\rVert$, and $c$ and its grid neighbours
# move towards it,
#
# $$w_j \leftarrow w_j + \eta_t\, e^{-\lVert p_j - p_c\rVert^2 / 2\sigma_t^2}\,(x - w_j),$$
#
# with a learning rate $\eta_t$ and a radius $\sigma_t$ that shrink with the update count
# $t$ (ngc-learn's `SOMSynapse` schedule: $\sigma_t \approx \sigma_0^{1 - t/\tau_\eta}$,
# $\eta_t \approx \eta\, e^{-t/\tau_\eta}$). Because neighbours learn together, nearby
# units end up with similar prototypes: the map is topographically ordered.

# %%
import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx import viz
from ngcx.data import load_digits, train_test_split
from ngcx.models import SelfOrganizingMap


images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)

# %% [markdown]
# A 15x15 map (the museum's), prototypes uniform on $[0, 1]$, $\eta = 0.5$; 5 epochs of
# online updates with $\tau_\eta$ equal to the number of updates, so the radius shrinks
# from 7.5 grid steps to one. `fit_online` is one `lax.scan` over the samples.

# %%
epochs = 5
model = SelfOrganizingMap(64, 15, 15, key=jax.random.key(0), eta=0.5, tau_eta=epochs * len(x_train))
state = model.init_state()
fit = eqx.filter_jit(SelfOrganizingMap.fit_online)
rng = np.random.default_rng(0)
print(f"before: quantisation error {float(model.quantization_error(x_test)):.3f}, "
      f"topographic error {float(model.topographic_error(x_test)):.3f}")  # fmt: skip
for epoch in range(epochs):
    model, state = fit(model, state, x_train[rng.permutation(len(x_train))])
    unit_labels = model.label_map(x_train, y_train, 10)
    acc = float(jnp.mean(model.predict_labels(x_test, unit_labels) == y_test))
    print(f"epoch {epoch + 1}: quantisation error {float(model.quantization_error(x_test)):.3f}, "
          f"topographic error {float(model.topographic_error(x_test)):.3f}, "
          f"neighbour ratio {float(model.neighbour_ratio()):.2f}, label-map accuracy {acc:.3f}, "
          f"radius {float(model.radius_at(state.step)):.2f}")  # fmt: skip

# %% [markdown]
# The quantisation error is the mean distance of a test digit to its best unit's
# prototype; the topographic error the share of test digits whose two best units are not
# grid neighbours; the neighbour ratio the mean prototype distance of grid neighbours over
# that of all pairs (1 for an unordered map). The label map gives every unit the majority
# label of the training digits it wins and classifies a test digit by its best unit.
#
# The prototypes on the grid: neighbouring units hold similar digits, and the classes
# form contiguous regions.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
tiles = viz.tile_fields(model.prototypes, (8, 8), cols=15, scale="none")
axes[0].imshow(np.ma.masked_invalid(tiles), cmap="gray_r")
axes[0].set_title("prototypes")
axes[0].axis("off")
im = axes[1].imshow(np.asarray(unit_labels).reshape(15, 15), cmap="tab10", vmin=-0.5, vmax=9.5)
fig.colorbar(im, ax=axes[1], ticks=range(10), label="majority label")
axes[1].set_title("label map")
plt.show()
