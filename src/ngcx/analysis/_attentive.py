r"""The attentive probe."""

from __future__ import annotations

from typing import Any, overload

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike

from .._checks import float_array, int_arg
from .._custom_types import Key
from .._params import bcast, is_static_zero, param
from ..activations import gelu
from ._common import (
    _check_dev,
    _fit_epochs,
    _is_key,
    _ngclearn_fit,
    _ngclearn_update,
    _Session,
    _session,
    _targets,
)


__all__ = ["AttentiveProbe"]


def _lin(x: Array, W: Array, b: Array) -> Array:
    """``x @ W + b`` with the bias broadcast explicitly (rank promotion off)."""
    return x @ W + bcast(b, x.ndim)


def _ln(x: Array, scale: Array, shift: Array) -> Array:
    """Layer normalisation over the last (feature) axis."""
    mu = jnp.mean(x, axis=-1, keepdims=True)
    sd = jnp.sqrt(jnp.maximum(jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True), 1e-12))
    return (x - mu) / jnp.maximum(sd, 1e-6) * bcast(scale, x.ndim) + bcast(shift, x.ndim)


def _attend(
    q_in: Array,
    kv_in: Array,
    W: tuple[Array, ...],
    n_heads: int,
    mask: Array | None,
    rate: Any,
    key: Key | None,
) -> Array:
    """Multi-head attention of `q_in` (B, T, Dq) over `kv_in` (B, S, Dkv)."""
    Wq, bq, Wk, bk, Wv, bv, Wo, bo = W
    B, T, _ = q_in.shape
    S = kv_in.shape[1]
    q, k, v = _lin(q_in, Wq, bq), _lin(kv_in, Wk, bk), _lin(kv_in, Wv, bv)
    h = q.shape[-1] // n_heads
    q = q.reshape(B, T, n_heads, h).transpose(0, 2, 1, 3)
    k = k.reshape(B, S, n_heads, h).transpose(0, 2, 1, 3)
    v = v.reshape(B, S, n_heads, h).transpose(0, 2, 1, 3)
    score = jnp.einsum("bhte,bhse->bhts", q, k) / jnp.sqrt(jnp.asarray(h, q.dtype))
    if mask is not None:
        score = jnp.where(jnp.broadcast_to(mask[:, None], score.shape), -jnp.inf, score)
    score = jax.nn.softmax(score, axis=-1)
    if key is not None:
        rate = jax.lax.stop_gradient(rate)  # a hyperparameter, never trained
        keep = jax.random.uniform(key, score.shape, score.dtype) <= 1.0 - rate
        score = jnp.where(keep, score / (1.0 - rate), 0.0)
    att = jnp.einsum("bhts,bhse->bhte", score, v).transpose(0, 2, 1, 3).reshape(B, T, -1)
    return _lin(att, Wo, bo)


class AttentiveProbe(eqx.Module):
    r"""Attentive probe (ngc-learn's ``AttentiveProbe``): learned queries cross-attend over a
    sequence of codes, a self-attention block and a residual MLP read the result out.

    For codes $E$ `(B, S, input_dim)` and the learned queries $Q_0$
    `(target_seq_length, learnable_query_dim)`:

    1. (``use_LN_input``) layer-normalise $Q_0$ and $E$;
    2. $F = \mathrm{MHA}(Q_0, E)$, multi-head cross-attention with ``num_heads`` heads of
       width ``attn_dim / num_heads``, softmax over the `S` codes (``mask`` entries
       ``True`` are ignored), projected back to ``learnable_query_dim``;
    3. $F \leftarrow F + \mathrm{MHA}(\mathrm{LN}(F), \mathrm{LN}(F))$ (self-attention; LN
       with ``use_LN``), then $f$ = the mean of $F$ over the queries (ngc-learn keeps the
       first query; identical for its ``target_seq_length=1``);
    4. $f \leftarrow f + W_3\,\mathrm{gelu}(W_2\,\mathrm{gelu}(W_1 \mathrm{LN}(f)))$ with
       LN before each layer (``use_LN``), hidden width ``4 * learnable_query_dim`` and
       ngc-learn's GELU approximation $x\,\sigma(1.702x)$ (:func:`ngcx.activations.gelu`);
    5. $y = f W_y + b_y$, a softmax with ``use_softmax``.

    Dropout with rate ``dropout`` is applied to the attention weights in training (when a
    key is passed). Trained by :meth:`fit` with Adam (learning rate ``eta``, multiplied by
    ``1 - eta_decay`` after each update down to ``min_eta``, as ngc-learn).

    The constructor is ngc-learn's call (``AttentiveProbe(dkey, source_seq_length,
    input_dim, out_dim, num_heads=8, attn_dim=64, target_seq_length=1,
    learnable_query_dim=32, batch_size=1, hid_dim=32, use_LN=True, use_LN_input=False,
    use_softmax=True, dropout=0.5, eta=0.0002, eta_decay=0.0, min_eta=1e-5)``), and draws
    every weight from the same subkey as ngc-learn (``split(dkey, 26)[1:25]``), so the
    same key gives ngc-learn's initial weights. Both ways of training work:

    - ngcx's functional ``fit(codes, targets, n_iter, *, key, ...)`` (recognised by its
      `key`) returns ``(trained_probe, losses)``;
    - ngc-learn's ``fit(dataset, dev_dataset=None, n_iter=50, patience=20)`` (no `key`)
      and ``update(embeddings, labels, dkey=None)`` train this probe in place, drawing
      shuffles and dropout from ``split(dkey, 26)[0]``, and return the best accuracy and
      ``(loss, outputs)`` as ngc-learn's.

    ``process(embeddings)`` is the output without dropout `(B, out_dim)`;
    ``predict(codes, batch_size=None)`` gives class indices `(N,)`.

    **Differences from ngc-learn:** layer normalisation is over each vector's features
    (ngc-learn's ``layer_normalize`` takes the mean over axis 1, the sequence axis for
    `(B, S, D)` codes, and the standard deviation over the whole batch); the queries are
    shared by every example (ngc-learn's are one per row of a fixed ``batch_size``, so
    it cannot process another batch size); the loss with ``use_softmax`` is the
    cross-entropy computed from the logits (ngc-learn clips probabilities at
    $10^{-5}$); ``hid_dim`` is accepted and unused, as in ngc-learn; ``predict`` returns
    class indices (ngc-learn's returns the outputs `(N, out_dim)`: use ``process``, which
    takes any batch); ``update`` without `dkey` draws a fresh dropout mask each call
    (ngc-learn reuses one fixed noise key); ``fit`` keeps the best-scoring probe and
    scores the training set after each epoch when there is no `dev_dataset` (ngc-learn
    keeps the last probe and averages pre-update mini-batch accuracies) and prints
    nothing; the dropout rate is not trained.
    """

    query: Array
    Wq: Array
    bq: Array
    Wk: Array
    bk: Array
    Wv: Array
    bv: Array
    Wout: Array
    bout: Array
    Wqs: Array
    bqs: Array
    Wks: Array
    bks: Array
    Wvs: Array
    bvs: Array
    Wouts: Array
    bouts: Array
    ln_attn: tuple[Array, Array]
    Whid1: Array
    bhid1: Array
    ln1: tuple[Array, Array]
    Whid2: Array
    bhid2: Array
    ln2: tuple[Array, Array]
    Whid3: Array
    bhid3: Array
    ln3: tuple[Array, Array]
    Wy: Array
    by: Array
    ln_in_query: tuple[Array, Array]
    ln_in_codes: tuple[Array, Array]
    dropout: Array
    eta: Array
    eta_decay: Array
    min_eta: Array
    num_heads: int = eqx.field(static=True)
    use_LN: bool = eqx.field(static=True)
    use_LN_input: bool = eqx.field(static=True)
    use_softmax: bool = eqx.field(static=True)
    use_dropout: bool = eqx.field(static=True)
    _batch_size: int = eqx.field(static=True)

    def __init__(
        self,
        dkey: Key,
        source_seq_length: int,
        input_dim: int,
        out_dim: int,
        num_heads: int = 8,
        attn_dim: int = 64,
        target_seq_length: int = 1,
        learnable_query_dim: int = 32,
        batch_size: int = 1,
        hid_dim: int = 32,
        use_LN: bool = True,
        use_LN_input: bool = False,
        use_softmax: bool = True,
        dropout: float = 0.5,
        eta: float = 0.0002,
        eta_decay: float = 0.0,
        min_eta: float = 1e-5,
        *,
        dev_batch_size: int = 1,
    ):
        r"""**Arguments** (ngc-learn's names and defaults):

        - `dkey`: PRNG key for the initial weights (normal, standard deviation 0.02;
          queries start at 0).
        - `source_seq_length`: `S`, the length of the code sequences (informational).
        - `input_dim`: the width of each code.
        - `out_dim`: the output width.
        - `num_heads`: attention heads; must divide `attn_dim` and `learnable_query_dim`.
        - `attn_dim`: width of the cross-attention's queries/keys/values.
        - `target_seq_length`: number of learned queries.
        - `learnable_query_dim`: width of the queries and of the MLP.
        - `batch_size`: default mini-batch size of :meth:`fit`.
        - `hid_dim`: unused (as in ngc-learn).
        - `use_LN`, `use_LN_input`, `use_softmax`: see the class docstring.
        - `dropout`: attention dropout rate in `[0, 1)`.
        - `eta`, `eta_decay`, `min_eta`: Adam's learning rate and its decay.
        - `dev_batch_size`: accepted and ignored (ngc-learn's size of the batches of its
          dev-set ``predict``; every call here takes any batch).
        """
        del source_seq_length, hid_dim
        if not _is_key(dkey):
            raise ValueError(
                f"`dkey` must be a JAX PRNG key (jax.random.key or jax.random.PRNGKey), got "
                f"{dkey!r}."
            )
        int_arg(dev_batch_size, "dev_batch_size", 1)
        for name, v in (
            ("input_dim", input_dim),
            ("out_dim", out_dim),
            ("num_heads", num_heads),
            ("attn_dim", attn_dim),
            ("target_seq_length", target_seq_length),
            ("learnable_query_dim", learnable_query_dim),
            ("batch_size", batch_size),
        ):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"`{name}` must be a positive int, got {v!r}.")
        if attn_dim % num_heads or learnable_query_dim % num_heads:
            raise ValueError(
                f"`num_heads` ({num_heads}) must divide `attn_dim` ({attn_dim}) and "
                f"`learnable_query_dim` ({learnable_query_dim})."
            )
        self.dropout = param(dropout, "dropout", "unit_half_open")
        self.eta = param(eta, "eta", "positive")
        self.eta_decay = param(eta_decay, "eta_decay", "unit_half_open")
        self.min_eta = param(min_eta, "min_eta", "nonnegative")
        self.num_heads = num_heads
        self.use_LN, self.use_LN_input = bool(use_LN), bool(use_LN_input)
        self.use_softmax = bool(use_softmax)
        self.use_dropout = not is_static_zero(self.dropout)
        self._batch_size = batch_size
        session_key, *weight_keys = jax.random.split(dkey, 26)
        object.__setattr__(self, "_session", _Session(session_key, batch_size))
        keys = iter(weight_keys)
        Dq, A = learnable_query_dim, attn_dim

        def w(shape):
            return 0.02 * jax.random.normal(next(keys), shape)

        def ln(n):
            return (jnp.ones((n,)), jnp.zeros((n,)))

        self.query = jnp.zeros((target_seq_length, Dq))
        self.Wq, self.bq, self.Wk, self.bk = w((Dq, A)), w((A,)), w((input_dim, A)), w((A,))
        self.Wv, self.bv, self.Wout, self.bout = w((input_dim, A)), w((A,)), w((A, Dq)), w((Dq,))
        self.Wqs, self.bqs, self.Wks, self.bks = w((Dq, Dq)), w((Dq,)), w((Dq, Dq)), w((Dq,))
        self.Wvs, self.bvs, self.Wouts, self.bouts = w((Dq, Dq)), w((Dq,)), w((Dq, Dq)), w((Dq,))
        self.ln_attn = ln(Dq)
        self.Whid1, self.bhid1, self.ln1 = w((Dq, Dq)), w((Dq,)), ln(Dq)
        self.Whid2, self.bhid2, self.ln2 = w((Dq, 4 * Dq)), w((4 * Dq,)), ln(Dq)
        self.Whid3, self.bhid3, self.ln3 = w((4 * Dq, Dq)), w((Dq,)), ln(4 * Dq)
        self.Wy, self.by = w((Dq, out_dim)), w((out_dim,))
        self.ln_in_query, self.ln_in_codes = ln(Dq), ln(input_dim)

    def _codes(self, codes: ArrayLike, name: str) -> Array:
        e = float_array(codes, name)
        if e.ndim not in (2, 3) or e.shape[-1] != self.Wk.shape[0]:
            raise ValueError(
                f"`{name}` must be (N, S, {self.Wk.shape[0]}) or (N, {self.Wk.shape[0]}), got "
                f"shape {e.shape}."
            )
        if e.size == 0:
            raise ValueError(f"`{name}` must not be empty, got shape {e.shape}.")
        return e

    def _logits(self, codes: ArrayLike, mask: ArrayLike | None, key: Key | None) -> Array:
        e = self._codes(codes, "codes")
        if e.ndim == 2:
            e = e[:, None, :]
        B = e.shape[0]
        q = jnp.broadcast_to(self.query, (B,) + self.query.shape)
        if self.use_LN_input:
            q, e = _ln(q, *self.ln_in_query), _ln(e, *self.ln_in_codes)
        m = None
        if mask is not None:
            target = (B, q.shape[1], e.shape[1])
            mask_arr = jnp.asarray(mask, bool)
            try:
                m = jnp.broadcast_to(mask_arr, target)
            except ValueError:
                raise ValueError(
                    f"`mask` must broadcast to (N, target_seq_length, S) = {target}, got shape "
                    f"{mask_arr.shape}."
                ) from None
        k1 = k2 = None
        if key is not None and self.use_dropout:
            k1, k2 = jax.random.split(key)
        rate = self.dropout
        cross = (self.Wq, self.bq, self.Wk, self.bk, self.Wv, self.bv, self.Wout, self.bout)
        f = _attend(q, e, cross, self.num_heads, m, rate, k1)
        g = _ln(f, *self.ln_attn) if self.use_LN else f
        selfw = (self.Wqs, self.bqs, self.Wks, self.bks, self.Wvs, self.bvs, self.Wouts, self.bouts)
        f = f + _attend(g, g, selfw, self.num_heads, None, rate, k2)
        f = jnp.mean(f, axis=1)
        h = _ln(f, *self.ln1) if self.use_LN else f
        h = gelu(_lin(h, self.Whid1, self.bhid1))
        h = _ln(h, *self.ln2) if self.use_LN else h
        h = gelu(_lin(h, self.Whid2, self.bhid2))
        h = _ln(h, *self.ln3) if self.use_LN else h
        f = f + _lin(h, self.Whid3, self.bhid3)
        return _lin(f, self.Wy, self.by)

    def __call__(
        self, codes: ArrayLike, mask: ArrayLike | None = None, *, key: Key | None = None
    ) -> Array:
        r"""The probe's output `(N, out_dim)` (probabilities with ``use_softmax``).

        **Arguments:** `codes` `(N, S, input_dim)` or `(N, input_dim)`; `mask` boolean,
        broadcastable to `(N, target_seq_length, S)`, ``True`` = ignore that code; `key`:
        apply attention dropout (training) with this key."""
        raw = self._logits(codes, mask, key)
        return jax.nn.softmax(raw, axis=-1) if self.use_softmax else raw

    def process(self, embeddings: ArrayLike, dkey: Any = None) -> Array:
        """ngc-learn's name: the output without dropout."""
        return self(embeddings)

    def loss(self, codes: ArrayLike, targets: ArrayLike, *, key: Key | None = None) -> Array:
        """Cross-entropy against one-hot `targets` (``use_softmax``) or the squared error
        summed over outputs, averaged over the batch."""
        return self._loss_and_out(codes, targets, key)[0]

    def _loss_and_out(
        self, codes: ArrayLike, targets: ArrayLike, key: Key | None
    ) -> tuple[Array, Array]:
        raw = self._logits(codes, None, key)
        t = _targets(targets, raw.shape[0], self.Wy.shape[1])
        if self.use_softmax:
            return jnp.mean(optax.softmax_cross_entropy(raw, t)), jax.nn.softmax(raw, axis=-1)
        return jnp.mean(jnp.sum(jnp.square(raw - t), axis=-1)), raw

    def _optimizer(self, eta: Any = None) -> optax.GradientTransformation:
        r"""Adam with ngc-learn's decaying learning rate
        $\max(\eta_{min}, \eta (1 - \text{eta\_decay})^{\text{step}})$."""
        eta0, decay, floor = self.eta, self.eta_decay, self.min_eta

        def schedule(count):
            return jnp.maximum(floor, eta0 * (1.0 - decay) ** count)

        return optax.adam(schedule)

    @overload
    def fit(
        self,
        codes: ArrayLike,
        targets: ArrayLike,
        n_iter: int = 50,
        *,
        key: Key,
        batch_size: int | None = None,
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        patience: int = 20,
    ) -> tuple[AttentiveProbe, Array]: ...

    @overload
    def fit(
        self,
        dataset: tuple[ArrayLike, ArrayLike],
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        n_iter: int = 50,
        patience: int = 20,
    ) -> Array: ...

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """ngcx's functional ``fit(codes, targets, n_iter, *, key, ...)`` when `key` is
        given (see :meth:`fit_ngcx`), else ngc-learn's in-place ``fit(dataset,
        dev_dataset=None, n_iter=50, patience=20)`` (see :meth:`fit_ngclearn`)."""
        if "key" in kwargs:
            return self.fit_ngcx(*args, **kwargs)
        return self.fit_ngclearn(*args, **kwargs)

    def fit_ngcx(
        self,
        codes: ArrayLike,
        targets: ArrayLike,
        n_iter: int = 50,
        *,
        key: Key,
        batch_size: int | None = None,
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        patience: int = 20,
    ) -> tuple[AttentiveProbe, Array]:
        """Train with Adam for `n_iter` epochs of shuffled mini-batches (ngc-learn's
        ``Probe.fit``), with attention dropout and early stopping as
        :meth:`LinearProbe.fit`.

        **Arguments:** `codes` `(N, S, input_dim)`; `targets` `(N, out_dim)`; `n_iter`
        epochs; `key` for shuffling and dropout; `batch_size` (default: the constructor's);
        `dev_dataset`, `patience` as :meth:`LinearProbe.fit`.

        **Returns:** ``(trained_probe, losses)`` (per epoch)."""
        x = self._codes(codes, "codes")
        t = _targets(targets, x.shape[0], self.Wy.shape[1])
        probe, losses, _ = _fit_epochs(
            self,
            lambda p, xb, tb, k: p.loss(xb, tb, key=k),
            self._optimizer(),
            x,
            t,
            n_iter,
            self._batch_size if batch_size is None else batch_size,
            key,
            self._dev(dev_dataset),
            patience,
            self.use_softmax,
        )
        return probe, losses

    def _dev(self, dev_dataset: Any) -> tuple[Array, Array] | None:
        if dev_dataset is None:
            return None
        dx, dy = _check_dev(dev_dataset)
        dxa = self._codes(dx, "dev_dataset[0]")
        return dxa, _targets(dy, dxa.shape[0], self.Wy.shape[1], "dev_dataset[1]")

    def fit_ngclearn(
        self,
        dataset: Any,
        dev_dataset: Any = None,
        n_iter: int = 50,
        patience: int = 20,
    ) -> Array:
        """ngc-learn's ``fit``: train this probe in place with Adam (ngc-learn's decaying
        learning rate, the optimiser state kept across ``fit``/``update`` calls) on
        shuffled mini-batches of the constructor's `batch_size`, with attention dropout,
        as :meth:`LinearProbe.fit_ngclearn`.

        **Arguments:** ``dataset = (X, Y)``, codes `(N, S, input_dim)` and targets
        `(N, out_dim)`; `dev_dataset` of the same form; `n_iter` epochs; `patience` epochs
        without a better accuracy (on `dev_dataset`, else on `dataset`) before stopping.

        **Returns:** the best accuracy (float32 scalar); the probe keeps its weights."""
        x, y = _check_dev(dataset, "dataset")
        x = self._codes(x, "dataset[0]")
        t = _targets(y, x.shape[0], self.Wy.shape[1], "dataset[1]")
        return _ngclearn_fit(
            self,
            lambda p, xb, tb, k: p.loss(xb, tb, key=k),
            x,
            t,
            self._dev(dev_dataset),
            n_iter,
            patience,
            None,
        )

    def update(
        self, embeddings: ArrayLike, labels: ArrayLike, dkey: Key | None = None
    ) -> tuple[Array, Array]:
        """ngc-learn's ``update``: one Adam step on this batch, in place, with attention
        dropout drawn from `dkey` (else from the probe's own key).

        **Returns:** ``(loss, outputs)``, the batch loss and the outputs `(B, out_dim)`
        (with dropout) before the step, as ngc-learn."""
        sess = _session(self, "update")
        x = self._codes(embeddings, "embeddings")
        t = _targets(labels, x.shape[0], self.Wy.shape[1], "labels")
        key = sess.split() if dkey is None else dkey
        return _ngclearn_update(self, x, t, key if self.use_dropout else None)

    def predict(self, codes: ArrayLike, batch_size: int | None = None) -> Array:
        """Class indices `(N,)` (argmax of the output); `batch_size` (ngc-learn's) is
        accepted and ignored: the whole pool goes at once."""
        return jnp.argmax(self(codes), axis=-1)
