r"""The linear probe."""

from __future__ import annotations

from typing import Any, overload

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike

from .._checks import check_positive, int_arg
from .._custom_types import Key
from ._common import (
    _MISSING,
    _bind_ngclearn,
    _check_dev,
    _fit_epochs,
    _flat,
    _ngclearn_call,
    _ngclearn_fit,
    _ngclearn_update,
    _pool,
    _Session,
    _session,
    _targets,
)


__all__ = ["LinearProbe"]


class LinearProbe(eqx.Module):
    r"""Linear probe $y = \mathrm{LN}(x)\,W + b$ (LN with ``use_LN``; a softmax over $y$
    with ``use_softmax``), trained with Adam on the softmax cross-entropy against one-hot
    targets (``use_softmax``) or the squared error $\frac1N\sum_n\lVert y_n - t_n\rVert^2$.

    Two constructor calls build it:

    - ngcx's ``LinearProbe(input_dim, out_dim, *, key, use_LN=False, use_softmax=False)``:
      $W$ is `(input_dim, out_dim)`; codes `(N, input_dim)` or `(N, L, input_dim)`
      (mean-pooled over `L`). :meth:`fit` is functional (returns the trained probe and its
      losses) and :meth:`predict` gives class indices `(N,)`.
    - ngc-learn's ``LinearProbe(dkey, source_seq_length, input_dim, out_dim, batch_size=1,
      use_LN=False, use_softmax=False)`` (a PRNG key first): $W$ is
      `(source_seq_length * input_dim, out_dim)` and codes `(N, source_seq_length,
      input_dim)` are flattened to `(N, source_seq_length * input_dim)` (as ngc-learn; flat
      codes are taken as they are). The probe then behaves as ngc-learn's stateful one:
      ``fit(dataset, dev_dataset=None, n_iter=50, patience=20)`` trains it in place and
      returns the best accuracy, ``update(embeddings, labels)`` takes one Adam step in
      place and returns ``(loss, outputs)``, ``predict(data, batch_size=None)`` returns the
      outputs `(N, out_dim)` and ``process(embeddings)`` the outputs of a batch.

    Both draw $W \sim \mathcal N(0, 1/\text{fan-in})$ and $b = 0$; for the same key
    ``LinearProbe(dkey, S, D, C)`` has the weights of
    ``LinearProbe(S * D, C, key=split(split(dkey, 3)[1])[0])`` (ngc-learn's draw, with
    ``split = jax.random.split``).

    **Differences from ngc-learn:** the layer norm normalises each row by its own mean
    and standard deviation, with no learnable shift and scale (ngc-learn divides by the
    whole batch's standard deviation and learns a shift and scale, which $W$ and $b$
    absorb: the same family of read-outs); ``fit`` keeps the best-scoring probe, not the
    last one, without a `dev_dataset` it scores the training set after each epoch (ngc-learn
    averages the accuracies of the pre-update mini-batch outputs), and prints nothing;
    ``predict`` returns every row (ngc-learn drops the last ``N % batch_size``); the
    ngc-learn call accepts ``eta`` (Adam's learning rate, default 0.001, which ngc-learn
    hard-codes and silently ignores when passed) and refuses unknown keywords.
    """

    weights: Array
    biases: Array
    use_LN: bool = eqx.field(static=True)
    use_softmax: bool = eqx.field(static=True)
    source_seq_length: int | None = eqx.field(static=True)

    @overload
    def __init__(
        self,
        input_dim: int,
        out_dim: int,
        *,
        key: Key,
        use_LN: bool = False,
        use_softmax: bool = False,
    ) -> None: ...

    @overload
    def __init__(
        self,
        dkey: Key,
        source_seq_length: int,
        input_dim: int,
        out_dim: int,
        batch_size: int = 1,
        use_LN: bool = False,
        use_softmax: bool = False,
        *,
        dev_batch_size: int = 1,
        eta: float = 0.001,
    ) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        r"""**Arguments** (ngcx's call):

        - `input_dim`, `out_dim`: ints >= 1, the code and output widths.
        - `key`: PRNG key of the initial weights.
        - `use_LN`: layer-normalise each code before the read-out.
        - `use_softmax`: softmax output and cross-entropy loss (else squared error).

        **Arguments** (ngc-learn's call, recognised by a PRNG key first):

        - `dkey`: PRNG key; ``split(split(dkey, 3)[1])[0]`` draws $W$ (as ngc-learn),
          ``split(dkey, 3)[0]`` seeds the shuffling of ``fit``.
        - `source_seq_length`, `input_dim`: the codes' shape `(S, D)`; $W$ has
          ``S * D`` rows.
        - `out_dim`: the output width.
        - `batch_size`: the mini-batch size of ``fit`` (``update``, ``process`` and
          ``predict`` take any batch).
        - `use_LN`, `use_softmax`: as above.
        - `dev_batch_size`: accepted and ignored (``predict`` takes the whole pool).
        - `eta`: Adam's learning rate, > 0 (ngc-learn's fixed 0.001).

        Bad values raise ``ValueError`` naming the argument and the value.
        """
        if _ngclearn_call("LinearProbe", args, kwargs, 2):
            a = _bind_ngclearn(
                "LinearProbe",
                args,
                kwargs,
                (
                    ("dkey", _MISSING),
                    ("source_seq_length", _MISSING),
                    ("input_dim", _MISSING),
                    ("out_dim", _MISSING),
                    ("batch_size", 1),
                    ("use_LN", False),
                    ("use_softmax", False),
                ),
                (("dev_batch_size", 1), ("eta", 0.001)),
            )
            check_positive(a["eta"], "eta")
            k_session, k_init, _ = jax.random.split(a["dkey"], 3)
            k_weights = jax.random.split(k_init)[0]  # ngc-learn's fan-in initialiser splits again
            S = a["source_seq_length"]
            self._init(S * a["input_dim"], a["out_dim"], k_weights, a["use_LN"], a["use_softmax"])
            self.source_seq_length = S
            session = _Session(k_session, a["batch_size"], float(a["eta"]))
            object.__setattr__(self, "_session", session)
        else:

            def ngcx(
                input_dim: int,
                out_dim: int,
                *,
                key: Key,
                use_LN: bool = False,
                use_softmax: bool = False,
            ) -> tuple[int, int, Key, bool, bool]:
                return input_dim, out_dim, key, use_LN, use_softmax

            self._init(*ngcx(*args, **kwargs))
            self.source_seq_length = None

    def _init(self, input_dim: int, out_dim: int, key: Key, use_LN: bool, use_softmax: bool):
        input_dim = int_arg(input_dim, "input_dim", 1)
        out_dim = int_arg(out_dim, "out_dim", 1)
        self.weights = jax.random.normal(key, (input_dim, out_dim)) / jnp.sqrt(input_dim)
        self.biases = jnp.zeros((out_dim,))
        self.use_LN = bool(use_LN)
        self.use_softmax = bool(use_softmax)

    def _codes(self, codes: ArrayLike, name: str = "codes") -> Array:
        if self.source_seq_length is None:
            return _pool(codes, name, width=self.weights.shape[0])
        S = self.source_seq_length
        return _flat(codes, name, S, self.weights.shape[0] // S)

    def _raw(self, codes: ArrayLike) -> Array:
        x = self._codes(codes)
        if self.use_LN:
            mu = jnp.mean(x, axis=-1, keepdims=True)
            x = (x - mu) / jnp.sqrt(jnp.var(x, axis=-1, keepdims=True) + 1e-6)
        return x @ self.weights + jnp.broadcast_to(self.biases, (x.shape[0], self.biases.shape[0]))

    def __call__(self, codes: ArrayLike) -> Array:
        """The read-out `(N, out_dim)` (probabilities with ``use_softmax``)."""
        raw = self._raw(codes)
        return jax.nn.softmax(raw, axis=-1) if self.use_softmax else raw

    def _loss_raw(self, raw: Array, targets: ArrayLike) -> Array:
        t = _targets(targets, raw.shape[0], self.weights.shape[1])
        if self.use_softmax:
            return jnp.mean(optax.softmax_cross_entropy(raw, t))
        return jnp.mean(jnp.sum(jnp.square(raw - t), axis=-1))

    def loss(self, codes: ArrayLike, targets: ArrayLike) -> Array:
        """Cross-entropy against one-hot `targets` (``use_softmax``) or squared error;
        `targets` is ``(N, out_dim)`` for `codes` ``(N, input_dim)``."""
        return self._loss_raw(self._raw(codes), targets)

    def _loss_and_out(self, x: Array, t: Array, key: Any) -> tuple[Array, Array]:
        raw = self._raw(x)
        out = jax.nn.softmax(raw, axis=-1) if self.use_softmax else raw
        return self._loss_raw(raw, t), out

    def _optimizer(self, eta: Any) -> optax.GradientTransformation:
        return optax.adam(eta)

    @overload
    def fit(
        self,
        codes: ArrayLike,
        targets: ArrayLike,
        n_iter: int = 200,
        eta: float = 0.05,
        *,
        batch_size: int | None = None,
        key: Key | None = None,
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        patience: int = 20,
    ) -> tuple[LinearProbe, Array]: ...

    @overload
    def fit(
        self,
        dataset: tuple[ArrayLike, ArrayLike],
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        n_iter: int = 50,
        patience: int = 20,
    ) -> Array: ...

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """Train with Adam: ngcx's functional ``fit(codes, targets, ...)`` (see
        :meth:`fit_ngcx`) or, on a probe built with ngc-learn's call, ngc-learn's
        ``fit(dataset, dev_dataset=None, n_iter=50, patience=20)`` (see
        :meth:`fit_ngclearn`)."""
        if self.source_seq_length is None:
            return self.fit_ngcx(*args, **kwargs)
        return self.fit_ngclearn(*args, **kwargs)

    def fit_ngcx(
        self,
        codes: ArrayLike,
        targets: ArrayLike,
        n_iter: int = 200,
        eta: float = 0.05,
        *,
        batch_size: int | None = None,
        key: Key | None = None,
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        patience: int = 20,
    ) -> tuple[LinearProbe, Array]:
        """Adam on :meth:`loss` (one ``lax.scan``); pure: returns a new probe.

        **Arguments:**

        - `codes`, `targets`: the training set, non-empty `(N, input_dim)` (or
          `(N, L, input_dim)`) and `(N, out_dim)`.
        - `n_iter`: full-batch steps, or epochs when `batch_size` is given (an int >= 1).
        - `eta`: Adam's learning rate, > 0.
        - `batch_size`: mini-batch size; each epoch visits a fresh permutation (drawn
          with `key`) in ``ceil(N / batch_size)`` steps, the last batch filled up with
          the permutation's first samples (ngc-learn appends ``N % batch_size`` samples,
          which misses some when that does not make ``N`` divisible).
        - `key`: PRNG key for the shuffling (required with `batch_size`).
        - `dev_dataset`: ``(dev_codes, dev_targets)``: after every epoch the probe is
          scored on it (accuracy with ``use_softmax``, else minus the squared error);
          training stops once the score has not improved for more than `patience` epochs,
          and the best-scoring probe is returned (ngc-learn returns the last probe and the
          best accuracy).
        - `patience`: epochs without improvement before stopping.

        **Returns:** ``(trained_probe, losses)``: the training loss of each step or epoch
        (NaN for epochs skipped after early stopping).
        """
        x = self._codes(codes)
        t = _targets(targets, x.shape[0], self.weights.shape[1])
        n_iter = int_arg(n_iter, "n_iter", 1)
        check_positive(eta, "eta")
        if batch_size is None and dev_dataset is None:
            opt = optax.adam(eta)
            with jax.numpy_dtype_promotion("standard"):
                state = opt.init(eqx.filter(self, eqx.is_inexact_array))

                def step(carry, _):
                    probe, st = carry
                    loss, grads = eqx.filter_value_and_grad(lambda p: p.loss(x, t))(probe)
                    updates, st = opt.update(grads, st, eqx.filter(probe, eqx.is_inexact_array))
                    return (eqx.apply_updates(probe, updates), st), loss

                (probe, _), losses = jax.lax.scan(step, (self, state), None, length=n_iter)
            return probe, losses
        probe, losses, _ = _fit_epochs(
            self,
            lambda p, xb, tb, k: p.loss(xb, tb),
            optax.adam(eta),
            x,
            t,
            n_iter,
            batch_size,
            key,
            None if dev_dataset is None else self._dev(dev_dataset),
            patience,
            self.use_softmax,
        )
        return probe, losses

    def fit_ngclearn(
        self,
        dataset: Any,
        dev_dataset: Any = None,
        n_iter: int = 50,
        patience: int = 20,
    ) -> Array:
        r"""ngc-learn's ``fit``: train this probe in place (a probe built with ngc-learn's
        call) with Adam at the constructor's `eta` on shuffled mini-batches of its
        `batch_size`, continuing the optimiser state of earlier ``fit``/``update`` calls.

        **Arguments:**

        - `dataset`: ``(X, Y)``, codes `(N, source_seq_length, input_dim)` (or flat
          `(N, source_seq_length * input_dim)`) and targets `(N, out_dim)` (one-hot for a
          classifier).
        - `dev_dataset`: an optional ``(X_dev, Y_dev)`` of the same form.
        - `n_iter`: epochs, an int >= 1.
        - `patience`: stop once the accuracy (argmax of the outputs against argmax of the
          targets, as ngc-learn's, also without ``use_softmax``) on `dev_dataset` (else on
          the training set) has not improved for more than `patience` epochs.

        **Returns:** the best accuracy, a float32 scalar array in `[0, 1]`; the probe keeps
        the weights that reached it.
        """
        x, y = _check_dev(dataset, "dataset")
        x = self._codes(x, "dataset[0]")
        t = _targets(y, x.shape[0], self.weights.shape[1], "dataset[1]")
        sess = _session(self, "fit")
        return _ngclearn_fit(
            self,
            lambda p, xb, tb, k: p.loss(xb, tb),
            x,
            t,
            None if dev_dataset is None else self._dev(dev_dataset),
            n_iter,
            patience,
            sess.eta,
        )

    def update(
        self, embeddings: ArrayLike, labels: ArrayLike, dkey: Any = None
    ) -> tuple[Array, Array]:
        """ngc-learn's ``update``: one Adam step on this batch, in place (a probe built with
        ngc-learn's call). `embeddings` `(B, source_seq_length, input_dim)` (or flat),
        `labels` `(B, out_dim)`; `dkey` is accepted and unused (no noise).

        **Returns:** ``(loss, outputs)``: the batch loss (scalar) and outputs
        `(B, out_dim)` before the step, as ngc-learn."""
        _session(self, "update")
        x = self._codes(embeddings, "embeddings")
        t = _targets(labels, x.shape[0], self.weights.shape[1], "labels")
        return _ngclearn_update(self, x, t, None)

    def process(self, embeddings: ArrayLike, dkey: Any = None) -> Array:
        """ngc-learn's name for the read-out `(B, out_dim)` (``dkey`` is unused)."""
        return self(embeddings)

    def _dev(self, dev_dataset: Any) -> tuple[Array, Array]:
        dx, dy = _check_dev(dev_dataset)
        x = self._codes(dx, "dev_dataset[0]")
        return x, _targets(dy, x.shape[0], self.weights.shape[1], "dev_dataset[1]")

    def predict(self, codes: ArrayLike, batch_size: int | None = None) -> Array:
        """Class indices `(N,)` (argmax of the read-out); on a probe built with ngc-learn's
        call, ngc-learn's ``predict(data, batch_size=None)``: the read-out `(N, out_dim)`
        itself (`batch_size` is accepted and ignored: the whole pool goes at once)."""
        out = self(codes)
        return jnp.argmax(out, axis=-1) if self.source_seq_length is None else out
