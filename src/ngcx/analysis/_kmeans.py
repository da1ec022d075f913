r"""The k-means probe."""

from __future__ import annotations

from typing import Any, overload

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._checks import int_arg
from .._custom_types import Key
from ..density import kmeans
from ._common import (
    _MISSING,
    _bind_ngclearn,
    _check_dev,
    _flat,
    _int_labels,
    _ngclearn_call,
    _pool,
)


__all__ = ["KMeansProbe"]


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
            self.n_clusters = int_arg(n_clusters, "n_clusters", 1)
            self.key = key
            self.n_iter = int_arg(n_iter, "n_iter", 0)
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
        from ..metrics import measure_ARI

        if self._dkey is None:
            raise ValueError(
                "`fit_ngclearn` needs a probe built with ngc-learn's call (a PRNG key first)."
            )
        x, y = _check_dev(dataset, "dataset")
        xf = self._codes(x, "dataset[0]")
        lab = self._int_targets(y, xf.shape[0], "dataset[1]")
        self.key = self._next_key()
        self.n_iter = int_arg(n_iter, "n_iter", 0)
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
