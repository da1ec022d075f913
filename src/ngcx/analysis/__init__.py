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

from ._attentive import AttentiveProbe as AttentiveProbe
from ._kmeans import KMeansProbe as KMeansProbe
from ._knn import KNNProbe as KNNProbe
from ._linear import LinearProbe as LinearProbe
from ._spectra import (
    participation_ratio as participation_ratio,
    rankme as rankme,
    stable_rank as stable_rank,
)


__all__ = [
    "AttentiveProbe",
    "LinearProbe",
    "KNNProbe",
    "KMeansProbe",
    "participation_ratio",
    "rankme",
    "stable_rank",
]
