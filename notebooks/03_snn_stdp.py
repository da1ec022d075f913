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
# # Spiking networks and STDP
#
# Spiking cells are immutable modules with a state value: `state = cell(state, j, dt=1.0)`
# (milliseconds, millivolts). Encoders turn intensities into spikes with explicit keys,
# traces remember recent spikes, and an STDP synapse's rule returns updates shaped like the
# synapse, applied through optax.

# %%
import jax
import jax.numpy as jnp
import numpy as np

from ngcx import learning
from ngcx.cells import IzhikevichCell, LIFCell, VarTrace
from ngcx.plasticity import TraceSTDPSynapse
from ngcx.simulation import simulate


# %% [markdown]
# ## A LIF cell under constant current, and an Izhikevich cell

# %%
lif = LIFCell(3, tau_m=20.0, refract_time=2.0)
drive = jnp.array([10.0, 20.0, 40.0])  # input current, in mV per unit resistance
state, (v, s) = simulate(lambda st: lif(st, drive, dt=0.5), lif.init_state(), 400,
                         record=lambda st: (st.v, st.s))  # fmt: skip
print("spikes in 200 ms:", np.asarray(s.sum(0)), "; adapted thresholds:", state.thr_theta)

izh = IzhikevichCell(1)
_, vz = simulate(lambda st: izh(st, jnp.full(1, 10.0), dt=0.1), izh.init_state(), 2000,
                 record=lambda st: st.v)  # fmt: skip

# %%
import matplotlib.pyplot as plt  # noqa: E402


fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot(np.arange(400) * 0.5, np.asarray(v))
ax[0].set(title="LIF voltage (mV)", xlabel="ms")
ax[1].plot(np.arange(2000) * 0.1, np.asarray(vz[:, 0]))
ax[1].set(title="Izhikevich, regular spiking", xlabel="ms")
plt.show()

# %% [markdown]
# ## Trace STDP, one synapse, by hand
#
# A pre-synaptic spike followed by a post-synaptic one potentiates by $A_+$ times the
# pre-synaptic trace at the post spike; the reverse order depresses.

# %%
syn = TraceSTDPSynapse((1, 1), A_plus=1.0, A_minus=0.5, key=jax.random.key(0))
tr = VarTrace(1, tau_tr=10.0, a_delta=0.0)
for lag in (3, -3):
    x_pre, x_post, total = tr.init_state(), tr.init_state(), 0.0
    for t in range(10):
        pre = jnp.array([1.0 if t == 3 else 0.0])
        post = jnp.array([1.0 if t == 3 + lag else 0.0])
        x_pre, x_post = tr(x_pre, pre), tr(x_post, post)
        total += float(syn.stdp_updates(pre, post, x_pre, x_post).weights[0, 0])
    print(f"post - pre = {lag:+d} ms: dW = {total:+.4f}")

# %% [markdown]
# ## A Diehl & Cook network on digits
#
# `ngcx.models.DiehlCook` wires Poisson input, excitatory LIF cells with adaptive
# thresholds, lateral inhibition and trace STDP. Two epochs of training (each digit shown
# for 200 ms), then each cell is labelled by the class it answers most.

# %%
import equinox as eqx  # noqa: E402

from ngcx.data import load_digits, train_test_split  # noqa: E402
from ngcx.models import DiehlCook  # noqa: E402


images, labels = load_digits()
x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=0)
model = DiehlCook(64, 100, key=jax.random.key(0), T=200, wnorm=20.0)
opt_state = learning.init_optimizer(model.optimizer(), model.W)
train = eqx.filter_jit(lambda m, s, x, k: m.train_sample(s, x, k))
key = jax.random.key(1)
for epoch in range(2):
    for i in np.random.default_rng(epoch).permutation(len(x_train)):
        key, k = jax.random.split(key)
        model, opt_state, out = train(model, opt_state, jnp.asarray(x_train[i]), k)
respond = eqx.filter_jit(DiehlCook.respond)
c_train = respond(model, jnp.asarray(x_train), jax.random.key(2))
c_test = respond(model, jnp.asarray(x_test), jax.random.key(3))
assignments = DiehlCook.assign_labels(c_train, jnp.asarray(y_train), 10)
acc = float((np.asarray(DiehlCook.classify(c_test, assignments, 10)) == y_test).mean())
print(f"class-assignment test accuracy after 2 epochs: {acc:.3f}")

# %%
W = np.asarray(model.W.weights)
fig, axes = plt.subplots(4, 10, figsize=(10, 4))
for k, ax in enumerate(axes.ravel()):
    ax.imshow(W[:, k].reshape(8, 8), cmap="gray")
    ax.set_title(int(assignments[k]), fontsize=7)
    ax.axis("off")
plt.show()
