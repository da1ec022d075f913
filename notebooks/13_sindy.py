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
# # Discovering equations with SINDy
#
# ngc-museum's `sindy` exhibit (Brunton, Proctor & Kutz 2016): sample a trajectory of a
# dynamical system, estimate its time derivatives by finite differences, and explain them
# as a *sparse* combination of library functions, $\dot X \approx \Theta(X)\,\Xi$.
# Sequentially thresholded least squares finds $\Xi$: fit, prune every coefficient below a
# threshold, refit on what is left, until nothing changes.

# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ngcx.models import SINDY_SYSTEMS, SINDy, central_difference


lorenz = SINDY_SYSTEMS["lorenz"]
ts, xs = lorenz.trajectory()  # RK4, dt = 0.01, 500 steps from (-8, 8, 27)
dxdt = central_difference(xs, lorenz.dt)  # second-order finite differences
print(xs.shape, dxdt.shape)

# %% [markdown]
# The library holds every monomial of $x, y, z$ up to degree 2. `fit` runs the
# thresholding rounds in one `lax.scan`.

# %%
model = SINDy(3, poly_order=2, threshold=0.1)
model = jax.jit(SINDy.fit)(model, xs, dxdt)
print("\n".join(model.equations()))

# %% [markdown]
# The truth is $\dot x = 10(y - x)$, $\dot y = x(28 - z) - y$, $\dot z = xy - \tfrac83 z$.
# The support is exact and every coefficient is within a few percent; the remaining error
# comes from the finite-difference derivatives.

# %%
true = np.asarray(lorenz.true_coefficients())
est = np.asarray(model.coef)
on = true != 0
print("support exact:", bool(np.array_equal(est != 0, on)))
print("largest relative error:", float(np.max(np.abs(est[on] - true[on]) / np.abs(true[on]))))

# %% [markdown]
# Integrating the recovered equations from the same initial state reproduces the
# trajectory (until chaos separates them).

# %%
_, sim = model.simulate(xs[0], 500, lorenz.dt)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
axes[0].plot(ts, xs[:, 0], lw=2.5, alpha=0.4, label="true")
axes[0].plot(ts, sim[:, 0], "k--", lw=0.9, label="recovered")
axes[0].set(xlabel="t", ylabel="x")
axes[0].legend()
axes[1].plot(xs[:, 0], xs[:, 2], lw=2.5, alpha=0.4)
axes[1].plot(sim[:, 0], sim[:, 2], "k--", lw=0.9)
axes[1].set(xlabel="x", ylabel="z")
plt.show()

# %% [markdown]
# The threshold is an array leaf, so a sweep over thresholds is one `vmap`: too small
# keeps spurious terms fitted to derivative errors, too large prunes true ones.

# %%
thresholds = jnp.array([0.0, 0.01, 0.1, 1.0, 5.0])
counts = jax.vmap(lambda t: SINDy(3, poly_order=2, threshold=t).fit(xs, dxdt).mask.sum())(
    thresholds
)
for t, c in zip(thresholds.tolist(), counts.tolist(), strict=True):
    print(f"threshold {t:5.2f}: {c} terms (true: 7)")

# %% [markdown]
# The other systems of the exhibit are recovered the same way, each with its own degree
# and threshold.

# %%
for name, system in SINDY_SYSTEMS.items():
    if name == "lorenz":
        continue
    _, x = system.trajectory()
    fitted = SINDy(system.n_vars, poly_order=system.poly_order, threshold=system.threshold)
    fitted = fitted.fit(x, central_difference(x, system.dt))
    print(name, "|", "; ".join(fitted.equations(precision=2)))

# %% [markdown]
# The same experiment from the command line, with metrics, a checkpoint and plots:
# `ngcx train sindy --data lorenz` (or `cubic_2D`, `linear_2D`, `linear_3D`; `--noise`
# adds measurement noise).
