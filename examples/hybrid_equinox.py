"""An ordinary Equinox model with an ngcx predictive coding layer and an ngcx spiking
layer inside, trained end to end with optax and ``eqx.filter_value_and_grad``.

    python examples/hybrid_equinox.py            # trains on the embedded digits

The model: a linear embedding (``eqx.nn.Linear``) -> :class:`ngcx.models.PCLayer` (its
forward pass is 15 steps of predictive coding inference; gradients flow through the loop)
-> :class:`ngcx.models.LIFLayer` (LIF neurons for 12 ms; gradients flow through the arctan
surrogate) -> a linear readout of the spike rates (``eqx.nn.Linear``). Nothing here is
special to ngcx: the model is a PyTree, the loop is plain optax.
"""

from __future__ import annotations

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ngcx.data import load_digits, train_test_split
from ngcx.models import LIFLayer, PCLayer


class Hybrid(eqx.Module):
    embed: eqx.nn.Linear
    pc: PCLayer
    spiking: LIFLayer
    readout: eqx.nn.Linear
    T_spike: int = eqx.field(static=True)

    def __init__(self, key, n_in=64, n_embed=48, n_latent=64, n_spiking=64, n_out=10):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.embed = eqx.nn.Linear(n_in, n_embed, key=k1)
        self.pc = PCLayer(n_embed, n_latent, key=k2, T=15, tau_m=10.0, act_fx="relu")
        self.spiking = LIFLayer(n_latent, n_spiking, key=k3, tau_m=5.0)
        self.readout = eqx.nn.Linear(n_spiking, n_out, key=k4)
        self.T_spike = 12

    def __call__(self, x):  # x: (batch, 64)
        h = jax.vmap(self.embed)(x)
        z = self.pc(h)  # PC inference as the forward pass
        rates = self.spiking.rates(z, self.T_spike)  # spike rates through the surrogate
        return jax.vmap(self.readout)(rates)


def loss_fn(model, x, y):
    logits = model(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def make_step(optimizer):
    @eqx.filter_jit
    def step(model, opt_state, x, y):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, x, y)
        with jax.numpy_dtype_promotion("standard"):  # optax's int step counter
            updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    return step


def train(epochs=8, batch_size=64, lr=3e-3, seed=0, verbose=True):
    """Train the hybrid model; returns ``(model, history)`` with per-epoch loss and test
    accuracy."""
    images, labels = load_digits()
    x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed=seed)
    model = Hybrid(jax.random.key(seed))
    optimizer = optax.adam(lr)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(eqx.filter(model, eqx.is_array))
    step = make_step(optimizer)
    predict = eqx.filter_jit(lambda m, x: jnp.argmax(m(x), axis=-1))
    rng = np.random.default_rng(seed)
    history = {"loss": [], "test_acc": []}
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for b in range(len(x_train) // batch_size):
            idx = order[b * batch_size : (b + 1) * batch_size]
            model, opt_state, loss = step(
                model, opt_state, jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx])
            )
            losses.append(loss)
        acc = float((np.asarray(predict(model, jnp.asarray(x_test))) == y_test).mean())
        history["loss"].append(float(np.mean(jax.device_get(losses))))
        history["test_acc"].append(acc)
        if verbose:
            print(f"epoch {epoch + 1}: loss {history['loss'][-1]:.4f}  test acc {acc:.4f}")
    return model, history


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    train(args.epochs)
