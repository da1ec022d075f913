r"""Shared pieces of the probes: argument checks, the mini-batch training loop, and
ngc-learn's call (key detection, argument binding, the stateful session of a probe built
that way)."""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike

from .._checks import float_array, int_arg
from .._custom_types import Key


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
    n_iter = int_arg(n_iter, "n_iter", 1)
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
            bound[name] = int_arg(bound[name], name, 1)
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
