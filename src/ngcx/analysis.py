r"""Analysis probes for learned representations (ngc-learn's ``utils.analysis``).

- :class:`LinearProbe`: a (optionally layer-normalised) linear read-out trained with optax
  (softmax cross-entropy with ``use_softmax``, else squared error);
- :class:`KNNProbe`: k-nearest-neighbour majority vote;
- :class:`KMeansProbe`: k-means clusters mapped to their majority label;
- effective dimensionality: :func:`participation_ratio`, :func:`rankme`,
  :func:`stable_rank`.

Codes of shape ``(N, source_seq_length, D)`` are mean-pooled over the sequence axis first;
``(N, D)`` codes are used as they are.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike

from ._checks import float_array
from ._custom_types import Key
from .density import kmeans


__all__ = [
    "LinearProbe",
    "KNNProbe",
    "KMeansProbe",
    "participation_ratio",
    "rankme",
    "stable_rank",
]


def _pool(codes: ArrayLike) -> Array:
    x = float_array(codes, "codes")
    if x.ndim == 3:
        return jnp.mean(x, axis=1)
    if x.ndim != 2:
        raise ValueError(f"`codes` must be (N, D) or (N, L, D), got shape {x.shape}.")
    return x


class LinearProbe(eqx.Module):
    """Linear probe ``y = LN(x) W + b`` (``use_LN``), trained by :meth:`fit` with Adam."""

    weights: Array
    biases: Array
    use_LN: bool = eqx.field(static=True)
    use_softmax: bool = eqx.field(static=True)

    def __init__(
        self,
        input_dim: int,
        out_dim: int,
        *,
        key: Key,
        use_LN: bool = False,
        use_softmax: bool = False,
    ):
        self.weights = jax.random.normal(key, (input_dim, out_dim)) / jnp.sqrt(input_dim)
        self.biases = jnp.zeros((out_dim,))
        self.use_LN = bool(use_LN)
        self.use_softmax = bool(use_softmax)

    def _raw(self, codes: ArrayLike) -> Array:
        x = _pool(codes)
        if self.use_LN:
            mu = jnp.mean(x, axis=-1, keepdims=True)
            x = (x - mu) / jnp.sqrt(jnp.var(x, axis=-1, keepdims=True) + 1e-6)
        return x @ self.weights + jnp.broadcast_to(self.biases, (x.shape[0], self.biases.shape[0]))

    def __call__(self, codes: ArrayLike) -> Array:
        """The read-out (probabilities with ``use_softmax``)."""
        raw = self._raw(codes)
        return jax.nn.softmax(raw, axis=-1) if self.use_softmax else raw

    def loss(self, codes: ArrayLike, targets: ArrayLike) -> Array:
        """Cross-entropy against one-hot `targets` (``use_softmax``) or squared error."""
        t = jnp.asarray(targets, dtype=jnp.float32)
        if self.use_softmax:
            return jnp.mean(optax.softmax_cross_entropy(self._raw(codes), t))
        return jnp.mean(jnp.sum(jnp.square(self._raw(codes) - t), axis=-1))

    def fit(
        self, codes: ArrayLike, targets: ArrayLike, n_iter: int = 200, eta: float = 0.05
    ) -> tuple[LinearProbe, Array]:
        """Full-batch Adam on :meth:`loss` for ``n_iter`` steps (one ``lax.scan``).

        **Returns:** ``(trained_probe, losses)``."""
        opt = optax.adam(eta)
        x, t = _pool(codes), jnp.asarray(targets, dtype=jnp.float32)
        with jax.numpy_dtype_promotion("standard"):
            state = opt.init(eqx.filter(self, eqx.is_inexact_array))

            def step(carry, _):
                probe, st = carry
                loss, grads = eqx.filter_value_and_grad(lambda p: p.loss(x, t))(probe)
                updates, st = opt.update(grads, st, eqx.filter(probe, eqx.is_inexact_array))
                return (eqx.apply_updates(probe, updates), st), loss

            (probe, _), losses = jax.lax.scan(step, (self, state), None, length=n_iter)
        return probe, losses

    def predict(self, codes: ArrayLike) -> Array:
        """Class indices (argmax of the read-out)."""
        return jnp.argmax(self(codes), axis=-1)


class KNNProbe:
    """k-nearest-neighbour classifier over stored codes (Euclidean; ties to the lowest
    label). ``fit(codes, labels)`` stores them; ``predict(codes)`` votes."""

    def __init__(self, k: int = 5):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"`k` must be a positive int, got {k!r}.")
        self.k = k
        self.codes: Array | None = None
        self.labels: Array | None = None

    def fit(self, codes: ArrayLike, labels: ArrayLike) -> KNNProbe:
        self.codes = _pool(codes)
        self.labels = jnp.asarray(labels).astype(jnp.int32)
        if self.k > self.codes.shape[0]:
            raise ValueError(f"`k`={self.k} exceeds the {self.codes.shape[0]} stored codes.")
        return self

    def predict(self, codes: ArrayLike) -> Array:
        if self.codes is None or self.labels is None:
            raise ValueError("call `fit` before `predict`.")
        q = _pool(codes)
        d = (
            jnp.sum(jnp.square(q), 1)[:, None]
            - 2 * q @ self.codes.T
            + jnp.sum(jnp.square(self.codes), 1)[None, :]
        )
        idx = jax.lax.top_k(-d, self.k)[1]
        votes = jax.nn.one_hot(self.labels[idx], int(jnp.max(self.labels)) + 1).sum(axis=1)
        return jnp.argmax(votes, axis=-1)


class KMeansProbe:
    """k-means on the codes; each cluster predicts the majority label of its members."""

    def __init__(self, n_clusters: int, *, key: Key, n_iter: int = 50):
        self.n_clusters = n_clusters
        self.key = key
        self.n_iter = n_iter
        self.centres: Array | None = None
        self.cluster_labels: np.ndarray | None = None

    def _assign(self, x: Array) -> Array:
        assert self.centres is not None
        d = jnp.sum(jnp.square(x[:, None, :] - self.centres[None, :, :]), axis=-1)
        return jnp.argmin(d, axis=1)

    def fit(self, codes: ArrayLike, labels: ArrayLike | None = None) -> KMeansProbe:
        x = _pool(codes)
        self.centres = kmeans(x, self.n_clusters, self.key, self.n_iter)
        if labels is not None:
            assign = np.asarray(self._assign(x))
            lab = np.asarray(labels).astype(int)
            table = np.zeros((self.n_clusters, lab.max() + 1))
            np.add.at(table, (assign, lab), 1)
            self.cluster_labels = table.argmax(axis=1)
        return self

    def predict(self, codes: ArrayLike) -> Any:
        """Cluster indices, or the clusters' majority labels when fitted with labels."""
        if self.centres is None:
            raise ValueError("call `fit` before `predict`.")
        assign = self._assign(_pool(codes))
        return assign if self.cluster_labels is None else jnp.asarray(self.cluster_labels)[assign]


def participation_ratio(latent_codes: ArrayLike) -> Array:
    r"""$(\mathrm{tr}\,C)^2 / \mathrm{tr}(C^2)$ of the codes' covariance $C$ (1 when the
    codes are constant)."""
    z = _pool(latent_codes)
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    cov = zc.T @ zc / max(z.shape[0] - 1, 1)
    denom = jnp.sum(jnp.square(cov))
    return jnp.where(denom > 0, jnp.square(jnp.trace(cov)) / jnp.where(denom > 0, denom, 1.0), 1.0)


def rankme(latent_codes: ArrayLike, eps: float = 1e-7) -> Array:
    r"""RankMe effective rank $\exp(-\sum_i p_i \log p_i)$ with $p_i = s_i / \sum s$ over
    the singular values $s$ of the codes."""
    s = jnp.linalg.svd(_pool(latent_codes), compute_uv=False)
    p = s / (jnp.sum(s) + eps)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0)))


def stable_rank(latent_codes: ArrayLike) -> Array:
    r"""Stable rank $\lVert Z_c\rVert_F^2 / \lVert Z_c\rVert_2^2$ of the centred codes
    (computed exactly with an SVD rather than ngc-learn's 10 power iterations)."""
    z = _pool(latent_codes)
    zc = z - jnp.mean(z, axis=0, keepdims=True)
    s = jnp.linalg.svd(zc, compute_uv=False)
    top = jnp.max(s)
    return jnp.where(top > 0, jnp.sum(jnp.square(s)) / jnp.where(top > 0, top**2, 1.0), 0.0)
