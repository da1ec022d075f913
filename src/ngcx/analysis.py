r"""Analysis probes for learned representations (ngc-learn's ``utils.analysis``).

- :class:`LinearProbe`: a (optionally layer-normalised) linear read-out trained with optax
  (softmax cross-entropy with ``use_softmax``, else squared error), full-batch or in
  shuffled mini-batches, with early stopping on a development set;
- :class:`AttentiveProbe`: a learned query cross-attends over a sequence of codes, then a
  self-attention block and a residual MLP read it out;
- :class:`KNNProbe`: k-nearest-neighbour vote (Minkowski, Euclidean, Manhattan,
  Chebyshev or cosine), as a classifier or a regressor;
- :class:`KMeansProbe`: k-means clusters mapped to their majority label;
- effective dimensionality: :func:`participation_ratio`, :func:`rankme`,
  :func:`stable_rank`.

In ngcx's own calls, codes ``(N, source_seq_length, D)`` are mean-pooled over the sequence axis;
``(N, D)`` codes are used as they are.

**ngc-learn's probe code runs unchanged.** Each probe also takes ngc-learn 3.2's
constructor call, recognised by a JAX PRNG key as first argument
(``LinearProbe(dkey, source_seq_length, input_dim, out_dim, batch_size=1, ...)``); a
probe built that way flattens `(N, source_seq_length, D)` codes as ngc-learn does and has
ngc-learn's stateful methods: ``fit(dataset, dev_dataset=None, n_iter, patience)`` trains
it in place and returns the best accuracy (k-means: the adjusted Rand index),
``update(embeddings, labels)`` takes one step in place, ``predict(data, batch_size=None)``
returns ngc-learn's outputs `(N, out_dim)` and ``process(embeddings)`` those of a batch.
The same key draws ngc-learn's initial weights. Arguments that ngcx has no use for
(``batch_size`` outside ``fit``, ``dev_batch_size``) are accepted and ignored; unknown
keywords, which ngc-learn silently swallows, raise a ``ValueError`` naming them.
:class:`AttentiveProbe` always takes ngc-learn's call; its ``fit`` is ngcx's functional
one when given ``key=``, ngc-learn's otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any, overload

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike

from ._checks import check_nonnegative, check_positive, float_array
from ._custom_types import Key
from ._params import bcast, is_static_zero, param
from .activations import gelu
from .density import kmeans


__all__ = [
    "AttentiveProbe",
    "LinearProbe",
    "KNNProbe",
    "KMeansProbe",
    "participation_ratio",
    "rankme",
    "stable_rank",
]


def _pool(codes: ArrayLike, name: str = "codes", width: int | None = None) -> Array:
    """Codes ``(N, D)`` (``(N, L, D)`` mean-pooled over ``L``): non-empty, with
    ``D == width`` when given; ``ValueError`` naming `name` otherwise."""
    x = float_array(codes, name)
    d = "D" if width is None else str(width)
    if x.ndim not in (2, 3) or (width is not None and x.shape[-1] != width):
        raise ValueError(f"`{name}` must be (N, {d}) or (N, L, {d}), got shape {x.shape}.")
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {x.shape}.")
    return jnp.mean(x, axis=1) if x.ndim == 3 else x


def _int_arg(value: Any, name: str, minimum: int) -> int:
    """``value`` as a Python int >= ``minimum`` (``ValueError`` naming `name` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _targets(targets: ArrayLike, n: int, out_dim: int, name: str = "targets") -> Array:
    """Real targets ``(n, out_dim)`` as float32; ``ValueError`` naming `name` otherwise."""
    t = jnp.asarray(targets)
    if not (
        jnp.issubdtype(t.dtype, jnp.floating)
        or jnp.issubdtype(t.dtype, jnp.integer)
        or t.dtype == jnp.bool_
    ):
        raise ValueError(f"`{name}` must be a real array, got dtype {t.dtype}.")
    if t.shape != (n, out_dim):
        raise ValueError(
            f"`{name}` must have shape ({n}, {out_dim}) (one row of {out_dim} outputs per "
            f"code), got shape {t.shape}."
        )
    return t.astype(jnp.float32)


def _int_labels(labels: Any, name: str) -> np.ndarray:
    """Concrete non-negative integer labels (whole-number floats accepted)."""
    lab = np.asarray(labels)
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab) & (lab == np.round(lab))):
            bad = lab[~(np.isfinite(lab) & (lab == np.round(lab)))].ravel()[0]
            raise ValueError(f"`{name}` must hold integer labels, got {bad}.")
    elif lab.dtype.kind not in "iub":
        raise ValueError(f"`{name}` must hold integer labels, got dtype {lab.dtype}.")
    if lab.size and (lab < 0).any():
        raise ValueError(f"`{name}` must hold labels >= 0, got {lab[lab < 0].ravel()[0]}.")
    return lab.astype(np.int64)


def _check_dev(dev_dataset: Any, name: str = "dev_dataset") -> tuple[Any, Any]:
    try:
        dx, dy = dev_dataset
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a (codes, targets) pair, got {type(dev_dataset).__name__}."
        ) from None
    return dx, dy


def _score(probe: Any, x: Array, t: Array, classify: bool) -> Array:
    """Dev-set score (higher is better): accuracy, or minus the mean squared error."""
    out = probe(x)
    if classify:
        return jnp.mean((jnp.argmax(out, -1) == jnp.argmax(t, -1)).astype(jnp.float32))
    return -jnp.mean(jnp.sum(jnp.square(out - t), axis=-1))


def _fit_epochs(
    probe: Any,
    loss_fn: Any,
    opt: optax.GradientTransformation,
    x: Array,
    t: Array,
    n_iter: int,
    batch_size: int | None,
    key: Key | None,
    dev_dataset: tuple[Array, ArrayLike] | None,
    patience: int,
    classify: bool,
    opt_state: Any = None,
) -> tuple[Any, Array, Any]:
    """Epochs of (mini-batch) training with optional dev-set early stopping, as one scan
    (``dev_dataset`` codes already in the shape the probe takes).

    ``loss_fn(probe, xb, tb, key)``; the key is ``None`` when none was given. `opt_state`
    continues an earlier run's optimiser state (ngc-learn's stateful probes).

    **Returns:** ``(probe, losses, opt_state)``."""
    n = x.shape[0]
    if t.shape[0] != n:
        raise ValueError(
            f"`codes` and `targets` must have one row per sample, got shapes {x.shape} and "
            f"{t.shape}."
        )
    n_iter = _int_arg(n_iter, "n_iter", 1)
    if batch_size is not None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
        if key is None:
            raise ValueError("`key` is required to shuffle the mini-batches (`batch_size`).")
    if not isinstance(patience, int) or patience < 0:
        raise ValueError(f"`patience` must be a non-negative int, got {patience!r}.")
    bs = n if batch_size is None else min(batch_size, n)
    n_batches = -(-n // bs)
    if dev_dataset is not None:
        dx, dt_ = dev_dataset[0], jnp.asarray(dev_dataset[1], dtype=jnp.float32)
    use_key = key is not None
    key0 = key if use_key else jax.random.key(0)

    with jax.numpy_dtype_promotion("standard"):
        params = eqx.filter(probe, eqx.is_inexact_array)
        state = opt.init(params) if opt_state is None else opt_state

        def epoch(carry):
            p, st, k = carry
            k, kperm, kdrop = jax.random.split(k, 3)
            if batch_size is None:
                order = jnp.arange(n)
            else:
                order = jax.random.permutation(kperm, n)
            order = jnp.concatenate([order, order[: n_batches * bs - n]]).reshape(n_batches, bs)

            def mb(c, inp):
                p, st = c
                idx, kb = inp
                lf = lambda q: loss_fn(q, x[idx], t[idx], kb if use_key else None)
                loss, grads = eqx.filter_value_and_grad(lf)(p)
                upd, st = opt.update(grads, st, eqx.filter(p, eqx.is_inexact_array))
                return (eqx.apply_updates(p, upd), st), loss

            (p, st), losses = jax.lax.scan(mb, (p, st), (order, jax.random.split(kdrop, n_batches)))
            return (p, st, k), jnp.mean(losses)

        def outer(carry, _):
            p, st, k, best, best_score, impatience = carry
            stopped = impatience > patience

            def run(_):
                return epoch((p, st, k))

            def skip(_):
                return (p, st, k), jnp.asarray(jnp.nan, dtype=jnp.float32)

            (p2, st2, k2), loss = jax.lax.cond(stopped, skip, run, None)
            if dev_dataset is None:
                return (p2, st2, k2, best, best_score, impatience), loss
            score = _score(p2, dx, dt_, classify)
            better = (score > best_score) & ~stopped
            best2 = jax.tree_util.tree_map(
                lambda a, b: jnp.where(better, a, b) if eqx.is_array(a) else a, p2, best
            )
            imp = jnp.where(better, 0, impatience + 1)
            return (p2, st2, k2, best2, jnp.where(better, score, best_score), imp), loss

        init = (probe, state, key0, probe, jnp.asarray(-jnp.inf), jnp.asarray(0))
        (p, state, _, best, _, _), losses = jax.lax.scan(outer, init, None, length=n_iter)
    return (p if dev_dataset is None else best), losses, state


# ------------------------------------------------------------ ngc-learn's call forms

_MISSING: Any = object()


def _is_key(x: Any) -> bool:
    """Whether `x` is a JAX PRNG key: a typed key (``jax.random.key``, shape ``()``) or a
    legacy ``uint32`` key of shape ``(2,)`` (``jax.random.PRNGKey``).

    ngc-learn's probes take such a key first and ngcx's :class:`LinearProbe`,
    :class:`KNNProbe` and :class:`KMeansProbe` take a size first, so this tells their two
    constructor calls apart."""
    if not isinstance(x, jax.Array | np.ndarray):
        return False
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return x.shape == ()
    return x.dtype == np.uint32 and x.shape == (2,)


def _ngclearn_call(cls: str, args: tuple[Any, ...], kwargs: dict[str, Any], n_ngcx: int) -> bool:
    """Whether ``cls(*args, **kwargs)`` is ngc-learn's call (a key first, or ``dkey=``).

    A call with more positional arguments than ngcx's form takes (`n_ngcx`) and no key
    first is an ngc-learn call whose `dkey` is wrong: ``ValueError`` naming it."""
    if (args and _is_key(args[0])) or (not args and "dkey" in kwargs):
        return True
    if len(args) > n_ngcx:
        raise ValueError(
            f"{cls}: with {len(args)} positional arguments this is ngc-learn's call, whose "
            f"first argument `dkey` must be a JAX PRNG key (jax.random.key(seed) or "
            f"jax.random.PRNGKey(seed)), got {args[0]!r}."
        )
    return False


def _bind_ngclearn(
    cls: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    positional: tuple[tuple[str, Any], ...],
    keyword: tuple[tuple[str, Any], ...] = (("dev_batch_size", 1),),
) -> dict[str, Any]:
    """Bind ngc-learn's constructor call to its parameter names (`positional` in ngc-learn's
    order, then the keyword-only `keyword`), with their defaults (``_MISSING``: required).

    ngc-learn's probes swallow unknown keywords (``**kwargs``); ngcx refuses them with a
    ``ValueError`` naming the keyword, since a misspelt option would change nothing."""
    names = tuple(n for n, _ in positional)
    every = names + tuple(n for n, _ in keyword)
    if len(args) > len(names):
        raise ValueError(
            f"ngc-learn's {cls} takes at most {len(names)} positional arguments {names}, got "
            f"{len(args)}."
        )
    bound = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name in bound:
            raise ValueError(f"{cls}: `{name}` is given both by position and by keyword.")
        if name not in every:
            raise ValueError(
                f"{cls}: `{name}`={value!r} is not an argument of ngc-learn's {cls} (which "
                f"takes {every}); ngc-learn would ignore it silently, ngcx refuses it."
            )
        bound[name] = value
    for name, default in positional + keyword:
        if bound.setdefault(name, default) is _MISSING:
            raise ValueError(f"ngc-learn's {cls} needs `{name}`.")
    if not _is_key(bound["dkey"]):
        raise ValueError(
            f"{cls}: `dkey` must be a JAX PRNG key (jax.random.key or jax.random.PRNGKey), "
            f"got {bound['dkey']!r}."
        )
    for name in ("source_seq_length", "input_dim", "out_dim", "batch_size", "dev_batch_size"):
        if name in bound:
            bound[name] = _int_arg(bound[name], name, 1)
    return bound


@dataclasses.dataclass
class _Session:
    """The mutable part of a probe built with ngc-learn's call: the key that ngc-learn's
    stateful methods (``update``, ``fit(dataset)``) draw from, their mini-batch size,
    learning rate and optimiser state (kept across calls, as ngc-learn's)."""

    dkey: Any
    batch_size: int
    eta: float = 0.0
    opt_state: Any = None

    def split(self) -> Any:
        self.dkey, sub = jax.random.split(self.dkey)
        return sub


def _session(probe: Any, method: str) -> _Session:
    sess = probe.__dict__.get("_session")
    if sess is None:
        raise ValueError(
            f"`{method}` is ngc-learn's stateful method: build the probe with ngc-learn's "
            f"call (a PRNG key first) to use it, or use ngcx's functional `fit`."
        )
    return sess


def _replace_in_place(probe: eqx.Module, new: eqx.Module) -> None:
    """Copy `new`'s fields into `probe` (ngc-learn's stateful methods update the probe
    they are called on; ngcx's own methods never do)."""
    for f in dataclasses.fields(probe):
        object.__setattr__(probe, f.name, getattr(new, f.name))


def _flat(codes: ArrayLike, name: str, seq: int, width: int) -> Array:
    """ngc-learn's flattening: codes ``(N, seq, width)`` become ``(N, seq * width)``;
    ``(N, seq * width)`` are used as they are (``ValueError`` naming `name` otherwise)."""
    x = float_array(codes, name)
    if x.ndim == 3 and x.shape[1:] == (seq, width):
        x = x.reshape(x.shape[0], seq * width)
    elif not (x.ndim == 2 and x.shape[1] == seq * width):
        raise ValueError(
            f"`{name}` must be (N, {seq}, {width}) (N, source_seq_length, input_dim) or "
            f"(N, {seq * width}), got shape {x.shape}."
        )
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {x.shape}.")
    return x


@eqx.filter_jit
def _adam_step(probe: Any, opt_state: Any, x: Array, t: Array, key: Any, eta: Array) -> Any:
    """One optimiser step of ngc-learn's ``update``: ``(new_probe, opt_state, loss,
    outputs)``, the outputs and loss from the probe before the step (as ngc-learn)."""
    opt = probe._optimizer(eta)

    def lf(p):
        return p._loss_and_out(x, t, key)

    with jax.numpy_dtype_promotion("standard"):
        (loss, out), grads = eqx.filter_value_and_grad(lf, has_aux=True)(probe)
        if opt_state is None:
            opt_state = opt.init(eqx.filter(probe, eqx.is_inexact_array))
        upd, opt_state = opt.update(grads, opt_state, eqx.filter(probe, eqx.is_inexact_array))
    return eqx.apply_updates(probe, upd), opt_state, loss, out


def _ngclearn_update(probe: Any, x: Array, t: Array, key: Any) -> tuple[Array, Array]:
    sess = _session(probe, "update")
    new, sess.opt_state, loss, out = _adam_step(
        probe, sess.opt_state, x, t, key, jnp.asarray(sess.eta, jnp.float32)
    )
    _replace_in_place(probe, new)
    return loss, out


def _ngclearn_fit(
    probe: Any,
    loss_fn: Any,
    x: Array,
    t: Array,
    dev: tuple[Array, Array] | None,
    n_iter: int,
    patience: int,
    eta: Any,
) -> Array:
    """ngc-learn's ``Probe.fit`` on ngcx's epoch loop: shuffled mini-batches of the
    session's size, scored after each epoch by accuracy on `dev` (the training set when
    ``None``), early stopping after `patience` epochs without improvement; the probe is
    replaced in place by its best-scoring version, whose accuracy is returned."""
    sess = _session(probe, "fit")
    dev = (x, t) if dev is None else dev
    kept, _, sess.opt_state = _fit_epochs(
        probe,
        loss_fn,
        probe._optimizer(eta),
        x,
        t,
        n_iter,
        sess.batch_size,
        sess.split(),
        dev,
        patience,
        True,
        opt_state=sess.opt_state,
    )
    _replace_in_place(probe, kept)
    return _score(probe, dev[0], dev[1], True)


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
        input_dim = _int_arg(input_dim, "input_dim", 1)
        out_dim = _int_arg(out_dim, "out_dim", 1)
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
        n_iter = _int_arg(n_iter, "n_iter", 1)
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


_DISTANCES = ("minkowski", "euclidean", "manhattan", "chebyshev", "cosine")


class KNNProbe:
    r"""k-nearest-neighbour probe over stored codes (ngc-learn's ``KNNProbe``).

    The $K$ stored codes nearest to a query vote: a classifier outputs the one-hot of the
    most frequent neighbour label (``vote_style="mode"``) or the neighbours' label
    frequencies (``"mean"``), a regressor the neighbours' mean target.

    Two constructor calls build it:

    - ngcx's ``KNNProbe(k=5, distance_function=("minkowski", 2),
      predictor_type="classifier", vote_style="mode", *, num_neighbors=None)``: codes
      `(N, D)` or `(N, L, D)` (mean-pooled over `L`); ``fit(codes, labels)`` stores them
      and returns the probe, ``predict(codes)`` gives class indices `(B,)` (classifier)
      or mean targets `(B, out_dim)` (regressor).
    - ngc-learn's ``KNNProbe(dkey, source_seq_length, input_dim, out_dim, batch_size=1,
      num_neighbors=1, distance_function=("minkowski", 2), predictor_type="classifier",
      vote_style="mode")`` (a PRNG key first; ``K=`` is ngc-learn's deprecated name of
      `num_neighbors`): codes `(N, source_seq_length, input_dim)` are flattened to
      `(N, source_seq_length * input_dim)` as ngc-learn does, integer labels are one-hot
      over `out_dim` classes, ``update(embeddings, labels)`` stores them (returns
      ``None``), ``predict(data, batch_size=None)`` returns ngc-learn's outputs
      `(N, out_dim)`, and ``fit(dataset, dev_dataset=None, n_iter=50, patience=20)``
      stores `dataset` and returns the accuracy on `dev_dataset` (else on `dataset`).

    ``process(codes)`` gives ngc-learn's `(B, C)` output in both forms.

    **Arguments** (ngcx's; ngc-learn's call takes the same options after
    `batch_size`):

    - `k`: number of neighbours $K$ (ngc-learn's `num_neighbors`, also accepted by that
      name).
    - `distance_function`: ``(name, order)``: ``("minkowski", p)`` ($L_p$, ``p`` may be
      ``inf``), ``("euclidean", _)``, ``("manhattan", _)``, ``("chebyshev", _)`` or
      ``("cosine", _)`` (largest cosine similarity); default ``("minkowski", 2)``.
    - `predictor_type`: ``"classifier"`` (labels are ints `(N,)` or one-hot `(N, C)`) or
      ``"regressor"`` (real targets `(N, out_dim)`; the prediction is the neighbours'
      mean target).
    - `vote_style`: for a classifier, ``"mode"``: ``process`` returns the one-hot of the
      most frequent neighbour label; ``"mean"``: it returns the neighbours' label
      frequencies (a probability vector whose argmax is the mode). Ties go to the lowest
      label.

    In ngc-learn's call `dkey` is unused (a k-NN draws nothing), `batch_size` and
    `dev_batch_size` are accepted and ignored (every call takes any batch), and
    `source_seq_length`, `input_dim`, `out_dim` fix the shapes the probe takes.

    **Differences from ngc-learn:** ``vote_style="mean"`` returns the label frequencies
    (ngc-learn returns the one-hot mode for both styles); ngc-learn's ``fit`` fails (its
    ``update`` returns ``None``, which ``Probe.fit`` unpacks) and, batch by batch, would
    keep only the last mini-batch; here it stores the whole `dataset`. Unknown keywords
    are refused (ngc-learn ignores them).
    """

    @overload
    def __init__(
        self,
        k: int = 5,
        distance_function: tuple[str, Any] | str = ("minkowski", 2),
        predictor_type: str = "classifier",
        vote_style: str = "mode",
        *,
        num_neighbors: int | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        dkey: Key,
        source_seq_length: int,
        input_dim: int,
        out_dim: int,
        batch_size: int = 1,
        num_neighbors: int = 1,
        distance_function: tuple[str, Any] | str = ("minkowski", 2),
        predictor_type: str = "classifier",
        vote_style: str = "mode",
        *,
        dev_batch_size: int = 1,
        K: int | None = None,
    ) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.source_seq_length: int | None = None
        self.input_dim: int | None = None
        self.out_dim: int | None = None
        if _ngclearn_call("KNNProbe", args, kwargs, 4):
            a = _bind_ngclearn(
                "KNNProbe",
                args,
                kwargs,
                (
                    ("dkey", _MISSING),
                    ("source_seq_length", _MISSING),
                    ("input_dim", _MISSING),
                    ("out_dim", _MISSING),
                    ("batch_size", 1),
                    ("num_neighbors", 1),
                    ("distance_function", ("minkowski", 2)),
                    ("predictor_type", "classifier"),
                    ("vote_style", "mode"),
                ),
                (("dev_batch_size", 1), ("K", None)),
            )
            k = a["num_neighbors"] if a["K"] is None else a["K"]
            self._init(k, a["distance_function"], a["predictor_type"], a["vote_style"])
            self.source_seq_length = a["source_seq_length"]
            self.input_dim, self.out_dim = a["input_dim"], a["out_dim"]
        else:

            def ngcx(
                k: int = 5,
                distance_function: tuple[str, Any] | str = ("minkowski", 2),
                predictor_type: str = "classifier",
                vote_style: str = "mode",
                *,
                num_neighbors: int | None = None,
            ) -> tuple[int, Any, str, str]:
                return (
                    k if num_neighbors is None else num_neighbors,
                    distance_function,
                    predictor_type,
                    vote_style,
                )

            self._init(*ngcx(*args, **kwargs))

    def _init(
        self,
        k: int,
        distance_function: tuple[str, Any] | str,
        predictor_type: str,
        vote_style: str,
    ) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"`k` (num_neighbors) must be a positive int, got {k!r}.")
        self.k = k
        if isinstance(distance_function, str):
            distance_function = (distance_function, 2)
        try:
            name, order = distance_function
        except (TypeError, ValueError):
            raise ValueError(
                f"`distance_function` must be a (name, order) pair, got {distance_function!r}."
            ) from None
        name = str(name).lower()
        if name not in _DISTANCES:
            raise ValueError(
                f"`distance_function`: unknown distance {name!r}; known: {_DISTANCES}."
            )
        order = {"euclidean": 2.0, "manhattan": 1.0, "chebyshev": float("inf")}.get(
            name, float(order)
        )
        if name == "minkowski" and not order >= 1:
            raise ValueError(f"`distance_function` order must be >= 1, got {order!r}.")
        self.distance_function = distance_function
        self.dist_metric = "cosine" if name == "cosine" else "minkowski"
        self.dist_order = order
        if predictor_type not in ("classifier", "regressor"):
            raise ValueError(
                f"`predictor_type` must be 'classifier' or 'regressor', got {predictor_type!r}."
            )
        if vote_style not in ("mode", "mean"):
            raise ValueError(f"`vote_style` must be 'mode' or 'mean', got {vote_style!r}.")
        self.predictor_type = predictor_type
        self.vote_style = vote_style
        self.codes: Array | None = None
        self.labels: Array | None = None
        self.targets: Array | None = None

    def _codes(self, codes: ArrayLike, name: str = "codes", fitted: bool = False) -> Array:
        if self.source_seq_length is not None:
            assert self.input_dim is not None
            return _flat(codes, name, self.source_seq_length, self.input_dim)
        return _pool(
            codes, name, width=self.codes.shape[1] if fitted and self.codes is not None else None
        )

    @overload
    def fit(self, codes: ArrayLike, labels: ArrayLike) -> KNNProbe: ...

    @overload
    def fit(
        self,
        dataset: tuple[ArrayLike, ArrayLike],
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        n_iter: int = 50,
        patience: int = 20,
    ) -> Array: ...

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """ngcx's ``fit(codes, labels)`` (returns the probe; see :meth:`store`) or, on a
        probe built with ngc-learn's call, ngc-learn's ``fit(dataset, dev_dataset=None,
        n_iter=50, patience=20)`` (returns an accuracy; see :meth:`fit_ngclearn`)."""
        if self.source_seq_length is None:
            return self.store(*args, **kwargs)
        return self.fit_ngclearn(*args, **kwargs)

    def store(self, codes: ArrayLike, labels: ArrayLike) -> KNNProbe:
        """Store the codes and their labels (or regression targets); returns the probe.

        `codes`: non-empty `(N, D)` (or `(N, L, D)`) with ``N >= k``; `labels`: for a
        classifier non-negative integer labels `(N,)` or one-hot rows `(N, C)`, for a
        regressor real targets `(N,)` or `(N, out_dim)`."""
        codes_ = self._codes(codes)
        lab = jnp.asarray(labels)
        if lab.ndim not in (1, 2) or lab.shape[0] != codes_.shape[0]:
            raise ValueError(
                f"`codes` and `labels` must have one row per sample, with `labels` (N,) or "
                f"(N, C), got shapes {codes_.shape} and {lab.shape}."
            )
        if self.k > codes_.shape[0]:
            raise ValueError(
                f"`k`={self.k} (num_neighbors) exceeds the {codes_.shape[0]} samples of `codes`."
            )
        if self.out_dim is not None and lab.ndim == 2 and lab.shape[1] != self.out_dim:
            raise ValueError(
                f"`labels` must have {self.out_dim} columns (out_dim), got shape {lab.shape}."
            )
        if self.predictor_type == "classifier" and lab.ndim == 1:
            lab = jnp.asarray(_int_labels(lab, "labels"))
        self.codes = codes_
        if self.predictor_type == "regressor":
            t = lab.astype(self.codes.dtype)
            self.targets = t[:, None] if t.ndim == 1 else t
            self.labels = None
        else:
            if lab.ndim == 2:
                self.targets = lab.astype(self.codes.dtype)
                self.labels = jnp.argmax(lab, axis=1).astype(jnp.int32)
            else:
                self.labels = lab.astype(jnp.int32)
                n_classes = int(jnp.max(self.labels)) + 1
                if self.out_dim is not None:
                    if n_classes > self.out_dim:
                        raise ValueError(
                            f"`labels` must be < {self.out_dim} (out_dim), got {n_classes - 1}."
                        )
                    n_classes = self.out_dim
                self.targets = jax.nn.one_hot(self.labels, n_classes, dtype=self.codes.dtype)
        return self

    def fit_ngclearn(
        self,
        dataset: Any,
        dev_dataset: Any = None,
        n_iter: int = 50,
        patience: int = 20,
    ) -> Array:
        """ngc-learn's ``fit``: store `dataset` ``(X, Y)`` (codes and one-hot labels or
        targets) and return the accuracy (argmax of :meth:`process` against argmax of the
        targets, as ngc-learn) on `dev_dataset` (else on `dataset`), a float32 scalar
        array. `n_iter` and `patience` are accepted and unused: storing is one pass."""
        x, y = _check_dev(dataset, "dataset")
        self.store(x, y)
        dx, dy = (x, y) if dev_dataset is None else _check_dev(dev_dataset)
        out = self.process(dx)
        dy_ = jnp.asarray(dy)
        truth = dy_ if dy_.ndim == 1 else jnp.argmax(dy_, axis=-1)
        if truth.shape != (out.shape[0],):
            raise ValueError(
                f"`dev_dataset` must have one target row per code, got {out.shape[0]} codes "
                f"and targets of shape {dy_.shape}."
            )
        return jnp.mean((jnp.argmax(out, axis=-1) == truth).astype(jnp.float32))

    def update(self, embeddings: ArrayLike, labels: ArrayLike, dkey: Any = None) -> None:
        """ngc-learn's ``update``: store the codes and labels (a k-NN learns by storing);
        returns ``None`` as ngc-learn."""
        self.store(embeddings, labels)

    def _neighbours(self, q: Array) -> Array:
        assert self.codes is not None
        c = self.codes
        if self.dist_metric == "cosine":
            qn = q / (jnp.linalg.norm(q, axis=1, keepdims=True) + 1e-12)
            cn = c / (jnp.linalg.norm(c, axis=1, keepdims=True) + 1e-12)
            score = qn @ cn.T
        elif self.dist_order == 2.0:
            score = -(
                jnp.sum(jnp.square(q), 1)[:, None]
                - 2 * q @ c.T
                + jnp.sum(jnp.square(c), 1)[None, :]
            )
        else:
            diff = jnp.abs(q[:, None, :] - c[None, :, :])
            if self.dist_order == float("inf"):
                score = -jnp.max(diff, axis=-1)
            elif self.dist_order == 1.0:
                score = -jnp.sum(diff, axis=-1)
            else:
                score = -jnp.sum(diff**self.dist_order, axis=-1)  # monotone in the L_p norm
        return jax.lax.top_k(score, self.k)[1]

    def process(self, codes: ArrayLike, dkey: Any = None) -> Array:
        """ngc-learn's output `(B, C)`: the mean neighbour target (regressor), the one-hot
        mode (``vote_style="mode"``) or the neighbour label frequencies (``"mean"``)."""
        if self.codes is None or self.targets is None:
            raise ValueError("call `fit` before `process`/`predict`.")
        idx = self._neighbours(self._codes(codes, fitted=True))
        mean = jnp.mean(self.targets[idx], axis=1)
        if self.predictor_type == "regressor" or self.vote_style == "mean":
            return mean
        return jax.nn.one_hot(jnp.argmax(mean, axis=-1), mean.shape[-1], dtype=mean.dtype)

    def predict(self, codes: ArrayLike, batch_size: int | None = None) -> Array:
        """Class indices `(B,)` (classifier) or mean neighbour targets `(B, out_dim)`
        (regressor); on a probe built with ngc-learn's call, ngc-learn's
        ``predict(data, batch_size=None)``: :meth:`process`'s `(N, out_dim)` (`batch_size`
        accepted and ignored)."""
        if self.codes is None:
            raise ValueError("call `fit` before `predict`.")
        if self.predictor_type == "regressor" or self.source_seq_length is not None:
            return self.process(codes)
        return jnp.argmax(self.process(codes), axis=-1)


def _lloyd_step(x: Array, c: Array) -> Array:
    """One Lloyd iteration: each centre moves to the mean of its members (an empty
    cluster keeps its centre)."""
    d = jnp.sum(jnp.square(x[:, None, :] - c[None, :, :]), axis=-1)
    onehot = jax.nn.one_hot(jnp.argmin(d, axis=1), c.shape[0], dtype=x.dtype)
    counts = jnp.sum(onehot, axis=0)
    new = (onehot.T @ x) / jnp.maximum(counts, 1.0)[:, None]
    return jnp.where((counts > 0)[:, None], new, c)


class KMeansProbe:
    r"""k-means probe: Lloyd's algorithm from `n_clusters` random codes; with labels each
    cluster predicts the majority label of its members.

    Two constructor calls build it:

    - ngcx's ``KMeansProbe(n_clusters, *, key, n_iter=50)``: codes `(N, D)` or
      `(N, L, D)` (mean-pooled over `L`); ``fit(codes, labels=None)`` clusters and
      returns the probe; ``predict(codes)`` gives cluster indices, or the clusters'
      majority labels when fitted with labels.
    - ngc-learn's ``KMeansProbe(dkey, source_seq_length, input_dim, out_dim=2,
      batch_size=1)`` (a PRNG key first): `out_dim` clusters; codes
      `(N, source_seq_length, input_dim)` are flattened to
      `(N, source_seq_length * input_dim)` as ngc-learn does;
      ``fit(dataset, dev_dataset=None, n_iter=20, patience=20)`` runs `n_iter` Lloyd
      iterations from `out_dim` codes of ``dataset = (X, Y)`` drawn as ngc-learn draws them
      (so the centres equal ngc-learn's) and returns the adjusted Rand index of the
      clusters against ``argmax(Y)``; ``predict(data, batch_size=None)`` returns the
      one-hot clusters `(N, out_dim)`; ``update(embeddings, labels)`` runs one Lloyd
      iteration on the batch (initialising the centres from it first if needed).
      `batch_size` and `dev_batch_size` are accepted and ignored (the whole pool is
      clustered at once, as ngc-learn does).

    ``process(codes)`` gives the one-hot clusters `(B, n_clusters)` in both forms and
    ``centroids`` is ngc-learn's name of ``centres``.

    **Differences from ngc-learn:** a cluster that loses all its members keeps its centre
    (ngc-learn moves it to the origin); ``update`` returns the k-means loss (the mean
    squared distance to the nearest new centre; ngc-learn returns a placeholder 0); ``fit``
    returns the ARI of the clustering it keeps, on `dev_dataset` when given (ngc-learn
    ignores `dev_dataset` and returns the best ARI seen over the iterations, choosing
    by the labels); `patience` is accepted and unused, as in ngc-learn; unknown keywords
    are refused (ngc-learn ignores them).
    """

    @overload
    def __init__(self, n_clusters: int, *, key: Key, n_iter: int = 50) -> None: ...

    @overload
    def __init__(
        self,
        dkey: Key,
        source_seq_length: int,
        input_dim: int,
        out_dim: int = 2,
        batch_size: int = 1,
        *,
        dev_batch_size: int = 1,
    ) -> None: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """**Arguments** (ngcx's call): `n_clusters`: an int >= 1 (at most the number of
        codes given to :meth:`fit`); `key`: PRNG key of the initial centres; `n_iter`:
        Lloyd iterations, an int >= 0.

        **Arguments** (ngc-learn's call): `dkey` (PRNG key; ``split(dkey, 3)[0]`` seeds
        the draws of the initial centres), `source_seq_length`, `input_dim` (the codes'
        shape), `out_dim` (the number of clusters), `batch_size`, `dev_batch_size`
        (ignored)."""
        self.source_seq_length: int | None = None
        self.input_dim: int | None = None
        self._dkey: Any = None
        if _ngclearn_call("KMeansProbe", args, kwargs, 1):
            a = _bind_ngclearn(
                "KMeansProbe",
                args,
                kwargs,
                (
                    ("dkey", _MISSING),
                    ("source_seq_length", _MISSING),
                    ("input_dim", _MISSING),
                    ("out_dim", 2),
                    ("batch_size", 1),
                ),
            )
            self._dkey = jax.random.split(a["dkey"], 3)[0]
            self.n_clusters = a["out_dim"]
            self.key: Any = None
            self.n_iter = 20
            self.source_seq_length, self.input_dim = a["source_seq_length"], a["input_dim"]
        else:

            def ngcx(n_clusters: int, *, key: Key, n_iter: int = 50) -> tuple[int, Key, int]:
                return n_clusters, key, n_iter

            n_clusters, key, n_iter = ngcx(*args, **kwargs)
            self.n_clusters = _int_arg(n_clusters, "n_clusters", 1)
            self.key = key
            self.n_iter = _int_arg(n_iter, "n_iter", 0)
        self.centres: Array | None = None
        self.cluster_labels: np.ndarray | None = None

    @property
    def centroids(self) -> Array | None:
        """ngc-learn's name of ``centres`` `(n_clusters, D)` (``None`` before fitting)."""
        return self.centres

    def _codes(self, codes: ArrayLike, name: str = "codes", fitted: bool = False) -> Array:
        if self.source_seq_length is not None:
            assert self.input_dim is not None
            return _flat(codes, name, self.source_seq_length, self.input_dim)
        width = self.centres.shape[1] if fitted and self.centres is not None else None
        return _pool(codes, name, width=width)

    def _assign(self, x: Array) -> Array:
        assert self.centres is not None
        d = jnp.sum(jnp.square(x[:, None, :] - self.centres[None, :, :]), axis=-1)
        return jnp.argmin(d, axis=1)

    def _next_key(self) -> Any:
        """ngc-learn's draw of the initial centres: ``split(dkey, 15)``, the second key."""
        self._dkey, key, *_ = jax.random.split(self._dkey, 15)
        return key

    @overload
    def fit(self, codes: ArrayLike, labels: ArrayLike | None = None) -> KMeansProbe: ...

    @overload
    def fit(
        self,
        dataset: tuple[ArrayLike, ArrayLike],
        dev_dataset: tuple[ArrayLike, ArrayLike] | None = None,
        n_iter: int = 20,
        patience: int = 20,
    ) -> Array: ...

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """ngcx's ``fit(codes, labels=None)`` (returns the probe; see :meth:`cluster`) or,
        on a probe built with ngc-learn's call, ngc-learn's ``fit(dataset,
        dev_dataset=None, n_iter=20, patience=20)`` (returns the ARI; see
        :meth:`fit_ngclearn`)."""
        if self.source_seq_length is None:
            return self.cluster(*args, **kwargs)
        return self.fit_ngclearn(*args, **kwargs)

    def cluster(self, codes: ArrayLike, labels: ArrayLike | None = None) -> KMeansProbe:
        """Cluster non-empty `codes` `(N, D)` (``N >= n_clusters``); with `labels`
        (non-negative integers `(N,)`) map each cluster to its majority label. Returns the
        probe."""
        x = self._codes(codes)
        if self.n_clusters > x.shape[0]:
            raise ValueError(
                f"`n_clusters`={self.n_clusters} exceeds the {x.shape[0]} samples of `codes`."
            )
        lab = None
        if labels is not None:
            lab = _int_labels(labels, "labels")
            if lab.shape != (x.shape[0],):
                raise ValueError(
                    f"`codes` and `labels` must have one row per sample, with `labels` (N,), "
                    f"got shapes {x.shape} and {lab.shape}."
                )
        self.centres = kmeans(x, self.n_clusters, self.key, self.n_iter)
        if lab is not None:
            assign = np.asarray(self._assign(x))
            table = np.zeros((self.n_clusters, lab.max() + 1))
            np.add.at(table, (assign, lab), 1)
            self.cluster_labels = table.argmax(axis=1)
        return self

    def _int_targets(self, labels: ArrayLike, n: int, name: str) -> np.ndarray:
        lab = np.asarray(labels)
        if lab.ndim == 2:
            lab = lab.argmax(axis=-1)
        lab = _int_labels(lab, name)
        if lab.shape != (n,):
            raise ValueError(
                f"`{name}` must be one-hot rows (N, C) or labels (N,) with N = {n}, got "
                f"shape {np.shape(labels)}."
            )
        return lab

    def fit_ngclearn(
        self,
        dataset: Any,
        dev_dataset: Any = None,
        n_iter: int = 20,
        patience: int = 20,
    ) -> Array:
        """ngc-learn's ``fit``: `n_iter` Lloyd iterations on ``dataset = (X, Y)`` from new
        initial centres; returns the adjusted Rand index (:func:`ngcx.metrics.measure_ARI`)
        of the clusters against ``argmax(Y)`` on `dev_dataset` (else `dataset`). `Y` is
        one-hot `(N, C)` (integer labels `(N,)` accepted); `patience` is unused."""
        from .metrics import measure_ARI

        if self._dkey is None:
            raise ValueError(
                "`fit_ngclearn` needs a probe built with ngc-learn's call (a PRNG key first)."
            )
        x, y = _check_dev(dataset, "dataset")
        xf = self._codes(x, "dataset[0]")
        lab = self._int_targets(y, xf.shape[0], "dataset[1]")
        self.key = self._next_key()
        self.n_iter = _int_arg(n_iter, "n_iter", 0)
        self.cluster(xf, lab)
        if dev_dataset is not None:
            dx, dy = _check_dev(dev_dataset)
            xf = self._codes(dx, "dev_dataset[0]")
            lab = self._int_targets(dy, xf.shape[0], "dev_dataset[1]")
        return measure_ARI(lab, np.asarray(self._assign(xf)))

    def update(
        self, embeddings: ArrayLike, labels: ArrayLike | None = None, dkey: Any = None
    ) -> tuple[Array, Array]:
        """ngc-learn's ``update``: one Lloyd iteration on the batch `embeddings` (the
        centres are first drawn from it when there are none yet); `labels`, `dkey` unused.

        **Returns:** ``(loss, outputs)``: the mean squared distance of each code to its
        nearest new centre, and the one-hot clusters `(B, n_clusters)`."""
        x = self._codes(embeddings, "embeddings")
        if self.centres is None:
            if self.n_clusters > x.shape[0]:
                raise ValueError(
                    f"`n_clusters`={self.n_clusters} exceeds the {x.shape[0]} samples of "
                    f"`embeddings`."
                )
            key = self._next_key() if self._dkey is not None else self.key
            self.centres = x[jax.random.choice(key, x.shape[0], (self.n_clusters,), replace=False)]
        self.centres = _lloyd_step(x, self.centres)
        d = jnp.sum(jnp.square(x[:, None, :] - self.centres[None, :, :]), axis=-1)
        return jnp.mean(jnp.min(d, axis=1)), self.process(x)

    def process(self, codes: ArrayLike, dkey: Any = None) -> Array:
        """The one-hot nearest cluster `(B, n_clusters)` (ngc-learn's ``process``)."""
        if self.centres is None:
            raise ValueError("call `fit` before `process`/`predict`.")
        assign = self._assign(self._codes(codes, fitted=True))
        return jax.nn.one_hot(assign, self.n_clusters)

    def predict(self, codes: ArrayLike, batch_size: int | None = None) -> Any:
        """Cluster indices, or the clusters' majority labels when fitted with labels; on a
        probe built with ngc-learn's call, ngc-learn's ``predict(data, batch_size=None)``:
        the one-hot clusters `(N, n_clusters)` (`batch_size` accepted and ignored)."""
        if self.centres is None:
            raise ValueError("call `fit` before `predict`.")
        if self.source_seq_length is not None:
            return self.process(codes)
        assign = self._assign(self._codes(codes, fitted=True))
        return assign if self.cluster_labels is None else jnp.asarray(self.cluster_labels)[assign]


def participation_ratio(latent_codes: ArrayLike, use_NaN_fallback: bool = False) -> Array:
    r"""$(\mathrm{tr}\,C)^2 / \mathrm{tr}(C^2)$ of the codes' covariance $C$ (ngc-learn's
    ``participation_ratio``).

    **Arguments:** `latent_codes` `(N, D)` (or `(N, L, D)`, mean-pooled);
    `use_NaN_fallback`: when $\mathrm{tr}(C^2) = 0$ (constant codes) return NaN instead
    of the default effective dimension 1.
    """
    z = _pool(latent_codes, "latent_codes")
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    cov = zc.T @ zc / max(z.shape[0] - 1, 1)
    denom = jnp.sum(jnp.square(cov))
    fallback = jnp.nan if use_NaN_fallback else 1.0
    return jnp.where(
        denom > 0, jnp.square(jnp.trace(cov)) / jnp.where(denom > 0, denom, 1.0), fallback
    )


def rankme(latent_codes: ArrayLike, eps: float = 1e-7) -> Array:
    r"""RankMe effective rank $\exp(-\sum_i p_i \log p_i)$ with $p_i = s_i / \sum s$ over
    the singular values $s$ of the codes (non-empty `(N, D)` or `(N, L, D)`); `eps` >= 0."""
    check_nonnegative(eps, "eps")
    s = jnp.linalg.svd(_pool(latent_codes, "latent_codes"), compute_uv=False)
    p = s / (jnp.sum(s) + eps)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))


def stable_rank(latent_codes: ArrayLike, num_iters: int | None = None) -> Array:
    r"""Stable rank $\lVert Z_c\rVert_F^2 / \lVert Z_c\rVert_2^2$ of the centred codes
    (ngc-learn's ``stable_rank``); 0 for constant codes (ngc-learn returns 1).

    **Arguments:**

    - `latent_codes`: `(N, D)` (or `(N, L, D)`, mean-pooled).
    - `num_iters`: ``None`` (default) computes the top singular value exactly with an
      SVD; an int runs that many power iterations on $Z_c^\top Z_c$ from ngc-learn's
      fixed start vector (normal draw from ``PRNGKey(0)``), ngc-learn's method (its
      default is 10). Power iteration under-estimates $\lVert Z_c\rVert_2$, so it
      over-estimates the stable rank until it has converged.
    """
    z = _pool(latent_codes, "latent_codes")
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    fro = jnp.sum(jnp.square(zc))
    if num_iters is None:
        s = jnp.linalg.svd(zc, compute_uv=False)
        top_sq = jnp.max(s) ** 2
    else:
        if not isinstance(num_iters, int) or isinstance(num_iters, bool) or num_iters < 0:
            raise ValueError(f"`num_iters` must be a non-negative int or None, got {num_iters!r}.")
        v = jax.random.normal(jax.random.PRNGKey(0), (zc.shape[1], 1), dtype=zc.dtype)
        v = v / jnp.linalg.norm(v)

        def body(_, v):
            w = zc.T @ (zc @ v)
            n = jnp.linalg.norm(w)
            return w / jnp.where(n > 0, n, 1.0)

        v = jax.lax.fori_loop(0, num_iters, body, v)
        top_sq = jnp.sum(jnp.square(zc @ v))
    return jnp.where(top_sq > 0, fro / jnp.where(top_sq > 0, top_sq, 1.0), 0.0)


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
        _int_arg(dev_batch_size, "dev_batch_size", 1)
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
