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
# # Time-integrated STDP
#
# ngc-museum's `time-integrated-stdp` exhibit (Gebhardt & Ororbia 2024). The rule reads only
# each cell's time of last spike and acts at every step, weighted by
# $e^{-(t - t^{\text{post}})/\Delta t}$: a pairing keeps acting for a few steps after the
# postsynaptic spike. A presynaptic spike at or before the postsynaptic one potentiates by
# $\alpha\beta / (\text{lag} + \Delta t/2)$, one after it depresses, and inputs that never
# spiked decay at rate $\alpha p_d$.

# %%
import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx import viz
from ngcx.data import load_digits, train_test_split
from ngcx.models import DiehlCook, TISTDPNetwork
from ngcx.plasticity import TISTDP


# %% [markdown]
# ## The learning window
#
# One postsynaptic spike at 50 ms, one presynaptic spike at $50 + \text{lag}$ ms, a weight
# of 0.5: the update summed over every step of a 100 ms window. Past a lag of one step the
# presynaptic spike comes when the postsynaptic weighting has faded, and what is left is the
# decay of an input that had not spiked yet when the postsynaptic cell fired.

# %%
rule = TISTDP(alpha=0.01, beta=1.0, pre_decay=0.5)
lags = jnp.arange(-20.0, 21.0)
pre_times, post_time = 50.0 + lags, jnp.array([50.0])
W = jnp.full((lags.size, 1), 0.5)


def update_at(t):
    pre_tols = jnp.where(pre_times <= t, pre_times, 0.0)  # 0: not spiked yet
    post_tols = jnp.where(post_time <= t, post_time, 0.0)
    return rule.delta(W, pre_tols, post_tols, t, 1.0)[:, 0]


total = jax.vmap(update_at)(jnp.arange(1.0, 101.0)).sum(0)
plt.figure(figsize=(5, 3))
plt.bar(np.asarray(lags), np.asarray(total))
plt.axhline(0, color="k", lw=0.5)
plt.xlabel("pre - post (ms)")
plt.ylabel("summed dW")
plt.title("TI-STDP window")
plt.show()

# %% [markdown]
# ## Case 1 on digits
#
# Poisson input drives two excitatory LIF layers (adaptive thresholds, lateral inhibition
# through inhibitory partners), both input synapses learning by TI-STDP at every step.
# 400 digits of 250 ms each, then each layer-2 cell is bound to the class it answers most
# and the test digits are classified by the cells' responses, learning frozen.

# %%
images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)
model = TISTDPNetwork(
    64, 100, 36, key=jax.random.key(0),
    rule1=TISTDP(0.015, 1.25, 0.75), rule2=TISTDP(0.2, 2.0, 0.125),
)  # fmt: skip
opt_states = model.init_optimizers()
train = eqx.filter_jit(TISTDPNetwork.train_samples)  # a lax.scan over the samples
for i in range(0, 400, 100):
    x = jnp.asarray(x_train[i : i + 100])
    model, opt_states, counts = train(model, opt_states, x, jax.random.key(i))

respond = eqx.filter_jit(TISTDPNetwork.respond)
_, bind = respond(model, jnp.asarray(x_train[:300]), jax.random.key(1))
_, test = respond(model, jnp.asarray(x_test), jax.random.key(2))
assignments = DiehlCook.assign_labels(bind, jnp.asarray(y_train[:300]), 10)
acc = float((np.asarray(DiehlCook.classify(test, assignments, 10)) == y_test).mean())
print(f"layer-2 class-assignment test accuracy after 400 digits: {acc:.3f} (chance 0.1)")

# %%
W1 = np.asarray(model.W1.weights)
viz.plot_receptive_fields(W1 - W1.mean(0), (8, 8), max_fields=100,
                          title="layer-1 receptive fields (minus their means)")  # fmt: skip
plt.show()

# %% [markdown]
# From the command line: `ngcx train ti-stdp` (two epochs on digits), or the exhibit's
# MNIST setting with `--data mnist:DIR --hidden 625 225 --eta 1`.
