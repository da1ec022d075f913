r"""Metrics and measurements (ngc-learn's ``metric_utils``), as plain JAX functions.

Conventions kept from ngc-learn: inputs are ``(N, D)`` design matrices (samples in rows)
or ``(T, D)`` spike trains (time in rows); ``preserve_batch=True`` returns one score per
row as an ``(N, 1)`` column (per neuron as ``(1, D)`` for spike statistics), otherwise the
mean as a 0-d array. Losses sum over the feature axis and average over rows.

Where ngc-learn is wrong ngcx is right:

* ``measure_gaussian_KLD`` adds the Mahalanobis term once; ngc-learn adds it twice.
* ``measure_KLD`` is the Kullback-Leibler divergence $\sum_i p_i\log(p_i/\hat p_i)$;
  ngc-learn divides it by the number of dimensions.
* ``measure_ACC(..., extract_label_indx=False)`` uses ``y`` as the labels (ngc-learn fails
  on an undefined name).
* ``measure_breadth_TC`` follows its documentation: for a ``(T, D)`` input (or
  ``(trials, T, D)``, averaged over trials) each neuron's tuning statistics are taken over
  the ``T`` axis; ngc-learn's code pools the neurons of a 2-D input instead.

The clustering scores (ARI, FMI, V-measure) and ``analyze_scores`` count with a
contingency matrix; pass ``n_classes``/``n_clusters`` to use them under ``jit``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import float_array


__all__ = [
    "measure_ACC",
    "measure_ARI",
    "measure_BCE",
    "measure_BIC",
    "measure_CatNLL",
    "measure_FMI",
    "measure_KLD",
    "measure_MAE",
    "measure_MSE",
    "measure_RMSE",
    "measure_Vmeasure",
    "measure_breadth_TC",
    "measure_excess_kurtosis",
    "measure_fanoFactor",
    "measure_firingRate",
    "measure_gaussian_KLD",
    "measure_gini_index",
    "measure_hoyer_sparsity",
    "measure_sparsity",
    "measure_Pearson_correlation",
    "measure_workload_entropy",
    "analyze_scores",
    "contingency_matrix",
]


def _pair(a: ArrayLike, b: ArrayLike, names: tuple[str, str]) -> tuple[Array, Array]:
    x, y = float_array(a, names[0]), float_array(b, names[1])
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must be (N, D) matrices of one shape, got "
            f"{x.shape} and {y.shape}."
        )
    return x, y


def _reduce(per_row: Array, preserve_batch: bool) -> Array:
    return per_row if preserve_batch else jnp.mean(per_row)


def measure_MSE(mu: ArrayLike, x: ArrayLike, preserve_batch: bool = False) -> Array:
    """Squared error summed over features: per row ``(N, 1)`` or its mean."""
    m, t = _pair(mu, x, ("mu", "x"))
    return _reduce(jnp.sum(jnp.square(m - t), axis=1, keepdims=True), preserve_batch)


def measure_MAE(shift: ArrayLike, x: ArrayLike, preserve_batch: bool = False) -> Array:
    """Absolute error summed over features: per row ``(N, 1)`` or its mean."""
    m, t = _pair(shift, x, ("shift", "x"))
    return _reduce(jnp.sum(jnp.abs(m - t), axis=1, keepdims=True), preserve_batch)


def measure_RMSE(mu: ArrayLike, x: ArrayLike, preserve_batch: bool = False) -> Array:
    """Square root of :func:`measure_MSE` (per row, or of the mean)."""
    return jnp.sqrt(measure_MSE(mu, x, preserve_batch))


def measure_BCE(
    p: ArrayLike, x: ArrayLike, offset: float = 1e-7, preserve_batch: bool = False
) -> Array:
    r"""Binary cross-entropy $-\sum_d x\log p + (1 - x)\log(1 - p)$ with ``p`` clipped to
    ``[offset, 1 - offset]``."""
    pr, t = _pair(p, x, ("p", "x"))
    pc = jnp.clip(pr, offset, 1.0 - offset)
    bce = -jnp.sum(t * jnp.log(pc) + (1.0 - t) * jnp.log(1.0 - pc), axis=1, keepdims=True)
    return _reduce(bce, preserve_batch)


def measure_CatNLL(
    p: ArrayLike, x: ArrayLike, offset: float = 1e-7, preserve_batch: bool = False
) -> Array:
    r"""Categorical negative log-likelihood $-\sum_c x_c \log p_c$ (``p`` clipped)."""
    pr, t = _pair(p, x, ("p", "x"))
    nll = -jnp.sum(t * jnp.log(jnp.clip(pr, offset, 1.0 - offset)), axis=1, keepdims=True)
    return _reduce(nll, preserve_batch)


def measure_KLD(p_xHat: ArrayLike, p_x: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""$\mathrm{KL}(p_x \Vert \hat p_x) = \sum_d p_x \log(p_x / \hat p_x)$ per row, with both
    distributions clipped to ``[1e-6, 1 - 1e-6]`` (ngc-learn divides by the dimension)."""
    q, p = _pair(p_xHat, p_x, ("p_xHat", "p_x"))
    pc, qc = jnp.clip(p, 1e-6, 1.0 - 1e-6), jnp.clip(q, 1e-6, 1.0 - 1e-6)
    kld = jnp.sum(pc * (jnp.log(pc) - jnp.log(qc)), axis=1, keepdims=True)
    return _reduce(kld, preserve_batch)


def measure_gaussian_KLD(
    mu1: ArrayLike, Sigma1: ArrayLike, mu2: ArrayLike, Sigma2: ArrayLike, use_chol_prec: bool = True
) -> Array:
    r"""$\mathrm{KL}(\mathcal N(\mu_1, \Sigma_1) \Vert \mathcal N(\mu_2, \Sigma_2)) =
    \tfrac12[\log\frac{|\Sigma_2|}{|\Sigma_1|} + \mathrm{tr}(\Sigma_2^{-1}\Sigma_1) +
    \Delta^\top\Sigma_2^{-1}\Delta - D]$, $\Delta = \mu_2 - \mu_1$.

    ``mu1``/``mu2`` are ``(1, D)`` (or ``(N, D)``: one divergence per row, ``(N, 1)``).
    ``use_chol_prec`` solves with the Cholesky factor of $\Sigma_2$; otherwise a
    pseudo-inverse is used.
    """
    m1, m2 = float_array(mu1, "mu1"), float_array(mu2, "mu2")
    S1, S2 = float_array(Sigma1, "Sigma1"), float_array(Sigma2, "Sigma2")
    D = m1.shape[-1]
    if S1.shape != (D, D) or S2.shape != (D, D):
        raise ValueError(f"`Sigma1` and `Sigma2` must be ({D}, {D}), got {S1.shape}, {S2.shape}.")
    m1, m2 = jnp.atleast_2d(m1), jnp.atleast_2d(m2)
    if use_chol_prec:
        C = jnp.linalg.cholesky(S2)
        Cinv = jax.scipy.linalg.solve_triangular(C, jnp.eye(D, dtype=C.dtype), lower=True)
        prec2 = Cinv.T @ Cinv
    else:
        prec2 = jnp.linalg.pinv(S2)
    logdet1 = jnp.linalg.slogdet(S1)[1]
    logdet2 = jnp.linalg.slogdet(S2)[1]
    delta = m2 - m1
    quad = jnp.sum((delta @ prec2) * delta, axis=1, keepdims=True)
    return 0.5 * (logdet2 - logdet1 + jnp.trace(prec2 @ S1) + quad - D)


def measure_BIC(
    X: ArrayLike, n_model_params: int, max_model_score: Any, is_log: bool = True
) -> Array:
    r"""Bayesian information criterion $-2\ln\hat L + K\ln N$ (``N`` rows of ``X``, ``K``
    parameters); ``is_log=False`` takes the log of ``max_model_score`` first."""
    n = jnp.shape(X)[0]
    score = jnp.asarray(max_model_score, dtype=jnp.float32)
    log_l = score if is_log else jnp.log(score)
    return -2.0 * log_l + n_model_params * jnp.log(jnp.float32(n))


def _labels(y: ArrayLike, extract_label_indx: bool) -> Array:
    arr = jnp.asarray(y)
    return jnp.argmax(arr, axis=1) if extract_label_indx else arr.astype(jnp.int32)


def measure_ACC(mu: ArrayLike, y: ArrayLike, extract_label_indx: bool = True) -> Array:
    """Accuracy of ``argmax(mu)`` against one-hot ``y`` (or integer labels when
    ``extract_label_indx=False``)."""
    guess = jnp.argmax(jnp.asarray(mu), axis=1)
    labels = _labels(y, extract_label_indx)
    return jnp.mean((guess == labels).astype(jnp.float32))


def contingency_matrix(
    labels_true: ArrayLike,
    labels_pred: ArrayLike,
    n_classes: int | None = None,
    n_clusters: int | None = None,
) -> Array:
    """Counts ``C[i, j]`` of samples with true class ``i`` and predicted cluster ``j``."""
    t = jnp.asarray(labels_true).astype(jnp.int32).ravel()
    p = jnp.asarray(labels_pred).astype(jnp.int32).ravel()
    if t.shape != p.shape:
        raise ValueError(f"`labels_true` and `labels_pred` differ in length: {t.shape}, {p.shape}.")
    nc = int(jnp.max(t)) + 1 if n_classes is None else n_classes
    nk = int(jnp.max(p)) + 1 if n_clusters is None else n_clusters
    return jax.nn.one_hot(t, nc, dtype=jnp.float32).T @ jax.nn.one_hot(p, nk, dtype=jnp.float32)


def _comb2(n: Array) -> Array:
    return n * (n - 1.0) / 2.0


def measure_ARI(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_classes=None, n_clusters=None
) -> Array:
    """Adjusted Rand index of two labelings (1: identical up to renaming; ~0: chance)."""
    C = contingency_matrix(labels_true, labels_pred, n_classes, n_clusters)
    n = jnp.sum(C)
    sum_ij = jnp.sum(_comb2(C))
    sum_a = jnp.sum(_comb2(jnp.sum(C, axis=1)))
    sum_b = jnp.sum(_comb2(jnp.sum(C, axis=0)))
    expected = sum_a * sum_b / _comb2(n)
    maximum = 0.5 * (sum_a + sum_b)
    denom = maximum - expected
    return jnp.where(denom == 0, 1.0, (sum_ij - expected) / jnp.where(denom == 0, 1.0, denom))


def measure_FMI(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_classes=None, n_clusters=None
) -> Array:
    """Fowlkes-Mallows index: geometric mean of pair-wise precision and recall."""
    C = contingency_matrix(labels_true, labels_pred, n_classes, n_clusters)
    n = jnp.sum(C)
    tk = jnp.sum(C * C) - n
    pk = jnp.sum(jnp.square(jnp.sum(C, axis=0))) - n
    qk = jnp.sum(jnp.square(jnp.sum(C, axis=1))) - n
    safe = jnp.where((pk > 0) & (qk > 0), pk * qk, 1.0)
    return jnp.where(tk > 0, tk / jnp.sqrt(safe), 0.0)


def _entropy(counts: Array) -> Array:
    n = jnp.sum(counts)
    p = counts / n
    return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))


def measure_Vmeasure(
    labels_true: ArrayLike,
    labels_pred: ArrayLike,
    beta: float = 1.0,
    n_classes=None,
    n_clusters=None,
) -> Array:
    r"""V-measure: $\frac{(1 + \beta) h c}{\beta h + c}$ of homogeneity $h$ and completeness
    $c$ (``beta > 1`` favours completeness)."""
    C = contingency_matrix(labels_true, labels_pred, n_classes, n_clusters)
    n = jnp.sum(C)
    h_c = _entropy(jnp.sum(C, axis=1))
    h_k = _entropy(jnp.sum(C, axis=0))
    nz = C > 0
    logs = jnp.log(jnp.where(nz, C, 1.0))
    # conditional entropies H(C|K) and H(K|C)
    h_c_given_k = -jnp.sum(
        jnp.where(nz, C / n * (logs - jnp.log(jnp.sum(C, axis=0, keepdims=True))), 0.0)
    )
    h_k_given_c = -jnp.sum(
        jnp.where(nz, C / n * (logs - jnp.log(jnp.sum(C, axis=1, keepdims=True))), 0.0)
    )
    hom = jnp.where(h_c == 0, 1.0, 1.0 - h_c_given_k / jnp.where(h_c == 0, 1.0, h_c))
    com = jnp.where(h_k == 0, 1.0, 1.0 - h_k_given_c / jnp.where(h_k == 0, 1.0, h_k))
    denom = beta * hom + com
    return jnp.where(denom == 0, 0.0, (1 + beta) * hom * com / jnp.where(denom == 0, 1.0, denom))


def measure_firingRate(spikes: ArrayLike, preserve_batch: bool = False) -> Array:
    """Spikes per step of each neuron of a ``(T, D)`` train: ``(1, D)`` or the mean."""
    s = float_array(spikes, "spikes")
    return _reduce(jnp.mean(s, axis=0, keepdims=True), preserve_batch)


def measure_fanoFactor(spikes: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Fano factor $\sigma^2/\mu$ of each neuron's counts over the ``T`` rows (NaN for a
    silent neuron, whose Fano factor is undefined): ``(1, D)`` or the mean."""
    s = float_array(spikes, "spikes")
    mu = jnp.mean(s, axis=0, keepdims=True)
    return _reduce(jnp.var(s, axis=0, keepdims=True) / mu, preserve_batch)


def measure_breadth_TC(responses: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Breadth of tuning $1/(1 + C^2)$ with $C = \sigma^2/\mu$ of each neuron's responses
    over the ``T`` axis of a ``(T, D)`` (or trial-averaged ``(trials, T, D)``) input; 0 for
    a silent neuron. ``(1, D)`` or the population mean."""
    r = float_array(responses, "responses")
    if r.ndim == 3:
        r = jnp.mean(r, axis=0)
    if r.ndim != 2:
        raise ValueError(f"`responses` must be (T, D) or (trials, T, D), got {r.shape}.")
    mu = jnp.mean(r, axis=0, keepdims=True)
    c = jnp.var(r, axis=0, keepdims=True) / jnp.where(mu == 0, 1.0, mu)
    btc = jnp.where(mu == 0, 0.0, 1.0 / (1.0 + jnp.square(c)))
    return _reduce(btc, preserve_batch)


def measure_excess_kurtosis(codes: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Excess kurtosis $m_4/(m_2^2 + 10^{-8}) - 3$ of each code (row, flattened)."""
    x = float_array(codes, "codes")
    x = x.reshape(x.shape[0], -1)
    centred = x - jnp.mean(x, axis=1, keepdims=True)
    m2 = jnp.mean(jnp.square(centred), axis=1, keepdims=True)
    m4 = jnp.mean(centred**4, axis=1, keepdims=True)
    return _reduce(m4 / (jnp.square(m2) + 1e-8) - 3.0, preserve_batch)


def measure_hoyer_sparsity(codes: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Hoyer sparsity $(\sqrt D - \lVert x\rVert_1/\lVert x\rVert_2)/(\sqrt D - 1)$ per code
    (0: dense, 1: one active unit)."""
    x = float_array(codes, "codes")
    x = x.reshape(x.shape[0], -1)
    d = x.shape[1]
    l1 = jnp.sum(jnp.abs(x), axis=1, keepdims=True)
    l2 = jnp.sqrt(jnp.sum(jnp.square(x), axis=1, keepdims=True) + 1e-8)
    return _reduce((jnp.sqrt(d) - l1 / l2) / (jnp.sqrt(d) - 1.0), preserve_batch)


def measure_gini_index(codes: ArrayLike, preserve_batch: bool = True) -> Array:
    r"""Gini index of each code: $\sum_i (2i - D - 1)\,x_{(i)} / (D \sum_i x_{(i)})$ over the
    sorted magnitudes (higher: sparser); an all-zero code is treated as uniform (0)."""
    x = float_array(codes, "codes")
    x = x + (jnp.sum(x, axis=1, keepdims=True) <= 0).astype(x.dtype) + 1e-8
    d = x.shape[1]
    xs = jnp.sort(jnp.abs(x), axis=1)
    idx = jnp.arange(1, d + 1, dtype=x.dtype)[None, :]
    gini = jnp.sum((2 * idx - d - 1) * xs, axis=1, keepdims=True) / (
        d * jnp.sum(xs, axis=1, keepdims=True)
    )
    return _reduce(gini, preserve_batch)


def measure_sparsity(
    codes: ArrayLike,
    tolerance: float = 0.0,
    preserve_batch: bool = True,
    flip_measure: bool = False,
) -> Array:
    """Fraction of units above ``tolerance`` in each code (``1 -`` it with
    ``flip_measure``): ``(N, 1)`` or the mean."""
    x = float_array(codes, "codes")
    rho = jnp.mean((x > tolerance).astype(x.dtype), axis=1, keepdims=True)
    if flip_measure:
        rho = 1.0 - rho
    return _reduce(rho, preserve_batch)


def measure_Pearson_correlation(
    a: ArrayLike, b: ArrayLike, preserve_batch: bool = False
) -> Float[Array, "..."]:
    r"""Pearson correlation of two sets of signals over time (ngc-learn's
    ``measure_Pearson_correlation``).

    For each sample $n$ and channel $d$ the correlation over the time axis (axis 1) is
    $r_{nd} = \sum_t \delta a_{ntd}\,\delta b_{ntd} / \sqrt{\sum_t \delta a_{ntd}^2
    \sum_t \delta b_{ntd}^2}$ with $\delta a = a - \bar a$ (means over $t$); a channel
    with zero variance in either signal scores 0.

    **Arguments:**

    - `a`, `b`: signals of one shape `(N, T, D)` (samples, time steps, channels).
    - `preserve_batch`: return one score per sample, shape `(N, 1)` (the mean of $r$ over
      channels); otherwise the mean over samples and channels as a 0-d array.

    **Returns:** the `(N, 1)` scores or a 0-d array, in $[-1, 1]$.
    """
    x, y = float_array(a, "a"), float_array(b, "b")
    if x.shape != y.shape or x.ndim != 3:
        raise ValueError(
            f"`a` and `b` must be (N, T, D) arrays of one shape, got {x.shape} and {y.shape}."
        )
    dx = x - jnp.mean(x, axis=1, keepdims=True)
    dy = y - jnp.mean(y, axis=1, keepdims=True)
    cov = jnp.sum(dx * dy, axis=1)
    denom = jnp.sqrt(jnp.sum(jnp.square(dx), axis=1) * jnp.sum(jnp.square(dy), axis=1))
    r = jnp.where(denom == 0, 0.0, cov / jnp.where(denom == 0, 1.0, denom))
    if preserve_batch:
        return jnp.mean(r, axis=1, keepdims=True)
    return jnp.mean(r)


def measure_workload_entropy(
    spike_count_matrix: ArrayLike,
) -> tuple[tuple[Array, Array, Array], Array, Array]:
    r"""Workload balance of a population (ngc-learn's ``measure_workload_entropy``).

    With $c_d = \sum_n S_{nd}$ the total count of unit $d$ over the $N$ stimuli and
    $p_d = c_d / \sum_j c_j$, the workload entropy is $H = -\sum_d p_d \log_2 p_d$ in bits
    ($\log_2 D$ when every unit works equally, 0 when one unit does everything or when
    nothing fires).

    **Arguments:**

    - `spike_count_matrix`: counts (or rates) of shape `(N, D)`, one row per stimulus.

    **Returns:** ``((min, max, mean), entropy, dead)``: the smallest, largest and mean
    total count $c_d$, $H$, and the number of units that never fired ($c_d = 0$), all
    0-d arrays.
    """
    S = float_array(spike_count_matrix, "spike_count_matrix")
    if S.ndim != 2:
        raise ValueError(f"`spike_count_matrix` must be (N, D), got shape {S.shape}.")
    c = jnp.sum(S, axis=0)
    total = jnp.sum(c)
    p = c / jnp.where(total > 0, total, 1.0)
    h = -jnp.sum(jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0))
    h = jnp.where(total > 0, h, 0.0)
    dead = jnp.sum((c == 0).astype(jnp.int32))
    return (jnp.min(c), jnp.max(c), jnp.mean(c)), h, dead


def analyze_scores(
    mu: ArrayLike, y: ArrayLike, extract_label_indx: bool = True
) -> tuple[np.ndarray, float, float, float, float, float]:
    """Classification analysis of scores ``mu`` (``(N, C)``) against ``y``.

    **Returns:** ``(confusion_matrix, precision, recall, misses, accuracy,
    adjusted_accuracy)``: the ``(C, C)`` confusion matrix (rows true), macro precision and
    recall over the classes present in labels or predictions (a class never predicted has
    precision 0, as scikit-learn), the number of all-zero score rows (misses), accuracy,
    and accuracy counting misses as wrong.
    """
    scores = np.asarray(mu)
    labels = np.asarray(_labels(y, extract_label_indx))
    guesses = scores.argmax(axis=1)
    n_classes = max(scores.shape[1], int(labels.max()) + 1)
    conf = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(conf, (labels, guesses), 1)
    present = np.union1d(labels, guesses)
    tp = np.diag(conf)[present].astype(np.float64)
    predicted = conf.sum(axis=0)[present]
    actual = conf.sum(axis=1)[present]
    precision = float(np.mean(np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)))
    recall = float(np.mean(np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)))
    miss = scores.sum(axis=1) == 0
    correct = guesses == labels
    n = len(labels)
    return (
        conf,
        precision,
        recall,
        float(miss.sum()),
        float(correct.mean()),
        float((correct & ~miss).sum() / n),
    )
