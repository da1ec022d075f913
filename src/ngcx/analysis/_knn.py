r"""The k-nearest-neighbour probe."""

from __future__ import annotations

from typing import Any, overload

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from .._custom_types import Key
from ._common import _MISSING, _bind_ngclearn, _check_dev, _flat, _int_labels, _ngclearn_call, _pool


__all__ = ["KNNProbe"]


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
