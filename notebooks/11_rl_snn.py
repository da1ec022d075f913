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
# # Reward-modulated STDP: a spiking controller in a T-maze
#
# ngc-museum's `rl_snn` exhibit. A spiking network chooses where a rat moves; its output
# weights $W_2$ learn by **MSTDP-ET** (Florian 2007): each synapse keeps an eligibility
# trace $E$ of its recent STDP, and a reward $r$ turns the eligibility into a weight change.
# With spike traces $x_1$ (hidden) and $x_2$ (action cells), each step of $\Delta t$ ms
#
# $$\Delta_t = A_+\, x_1^\top s_2 - A_-\, s_1^\top x_2, \qquad
# E \leftarrow e^{-\Delta t/\tau_e} E + \Delta_t/\tau_e,$$
#
# and after each decision window, for the action $a$ taken,
#
# $$W_2 \leftarrow \Pi\big(W_2 + \eta\, r\, E \odot \mathbf{1}_a\big)$$
#
# ($\Pi$: clip to $[0, 1]$, then renormalise each action cell's input weights).

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx.models import RewardSTDPNetwork, TMaze, run_episodes


# %% [markdown]
# ## The eligibility trace, by hand
#
# One hidden cell spikes at 1 ms and 6 ms, the action cell at 4 ms. The pre-before-post
# pair potentiates ($A_+ x_1 = e^{-3/20}$ at 4 ms), the post-before-pre pair depresses
# ($-A_- x_2 = -0.01\, e^{-2/20}$ at 6 ms); both then decay with $\tau_e = 40$ ms until 7 ms.

# %%
net = RewardSTDPNetwork(3, 1, 1, key=jax.random.key(0), n_plus=1, n_minus=0)
pre = jnp.zeros((8, 1)).at[1].set(1.0).at[6].set(1.0)
post = jnp.zeros((8, 1)).at[4].set(1.0)
E = float(net.eligibility(pre, post)[0, 0])
by_hand = (np.exp(-3 / 40) * np.exp(-3 / 20) - np.exp(-1 / 40) * 0.01 * np.exp(-2 / 20)) / 40
print(f"E = {E:.6f}, by hand {by_hand:.6f}")

# %% [markdown]
# ## The T-maze
#
# The rat starts at the bottom of the stem; the food is at the right end of the bar. A move
# that brings it closer earns +1, any other move -1, reaching the food +1 and the end of the
# episode (at most 30 moves). The best return is 4; a random walk scores far below 0.

# %%
maze = TMaze()
grid = np.where(np.asarray(maze.free), ".", "#").astype(object)
grid[tuple(maze.start)], grid[tuple(maze.goal)] = "S", "F"
print("\n".join("".join(row) for row in grid))

# %% [markdown]
# ## Learning, one episode at a time
#
# Each move: the agent's position (one-hot row and column) is shown to the network for
# 100 ms as Poisson spikes; the action cell with the most spikes wins (2% random
# exploration); the reward then modulates the window's eligibility.

# %%
model = RewardSTDPNetwork(maze.n_obs, 36, maze.n_actions, key=jax.random.key(1))
opt_state = model.init_optimizer()
learn = jax.jit(lambda m, s, k: run_episodes(m, maze, k, 1, opt_state=s, learn=True, epsilon=0.02))
play = jax.jit(lambda m, k: run_episodes(m, maze, k, 32)[2].returns.mean())
play_random = jax.jit(lambda m, k: run_episodes(m, maze, k, 32, policy="random")[2].returns.mean())
print(f"before: greedy return {float(play(model, jax.random.key(2))):.2f}, "
      f"random policy {float(play_random(model, jax.random.key(2))):.2f}")  # fmt: skip
returns = []
for episode in range(60):
    model, opt_state, ep = learn(model, opt_state, jax.random.key(100 + episode))
    returns.append(float(ep.returns[0]))
print(f"after 60 episodes: greedy return {float(play(model, jax.random.key(3))):.2f}")

# %%
smooth = np.convolve(returns, np.ones(5) / 5, mode="valid")
plt.figure(figsize=(7, 3.5))
plt.plot(returns, ".", alpha=0.4, label="episode return")
plt.plot(np.arange(4, len(returns)), smooth, label="mean of 5")
plt.axhline(4, ls="--", c="gray", label="best")
plt.xlabel("episode")
plt.ylabel("return")
plt.legend()
plt.show()

# %% [markdown]
# `ngcx train rl-snn` runs the same experiment (10 epochs of 20 episodes) and plots the
# greedy, sampled and random-policy returns per epoch.
