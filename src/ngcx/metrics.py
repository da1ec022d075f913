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

from ._checks import check_nonnegative, check_positive, concrete_float, float_array
from ._debug import check_traced_domain
from ._params import is_concrete


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


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in x.shape)


def _real(a: ArrayLike, name: str) -> Array:
    """``a`` as a real (integer, boolean or floating) JAX array, naming ``name`` otherwise."""
    try:
        arr = jnp.asarray(a)
    except TypeError:
        raise ValueError(f"`{name}` must be an array of numbers, got {a!r}.") from None
    if not (
        jnp.issubdtype(arr.dtype, jnp.floating)
        or jnp.issubdtype(arr.dtype, jnp.integer)
        or arr.dtype == jnp.bool_
    ):
        raise ValueError(f"`{name}` must be a real array, got dtype {arr.dtype}.")
    return arr


def _check_rank(x: Array, name: str, ranks: tuple[int, ...], expected: str) -> None:
    if x.ndim not in ranks:
        raise ValueError(f"`{name}` must have shape {expected}, got shape {_shape(x)}.")


def _check_nonempty(x: Array, name: str) -> None:
    if x.size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {_shape(x)}.")


def _first_bad(x: Array, ok: Array) -> float:
    arr, good = np.asarray(x), np.asarray(ok)
    return float(arr[~good].ravel()[0])


def _check_unit(x: Array, name: str) -> None:
    """Probabilities: every value in [0, 1] (checked only when ``x`` is concrete; one
    scalar read-back, skipped under ``jit``)."""
    if is_concrete(x):
        ok = (x >= 0) & (x <= 1)
        if not bool(jnp.all(ok)):
            raise ValueError(
                f"`{name}` must hold probabilities in [0, 1], got {_first_bad(x, ok)}."
            )


def _check_nonneg_values(x: Array, name: str) -> None:
    if is_concrete(x):
        ok = x >= 0
        if not bool(jnp.all(ok)):
            raise ValueError(f"`{name}` must be >= 0 everywhere, got {_first_bad(x, ok)}.")


def _check_integral(x: Array, name: str) -> Array:
    """Integer labels: an integer/boolean array, or a floating one holding whole numbers
    (checked when concrete); returned as ``int32``."""
    if jnp.issubdtype(x.dtype, jnp.floating):
        if is_concrete(x):
            ok = jnp.isfinite(x) & (x == jnp.round(x))
            if not bool(jnp.all(ok)):
                raise ValueError(f"`{name}` must hold integer labels, got {_first_bad(x, ok)}.")
    return x.astype(jnp.int32)


def _check_count(value: Any, name: str, *, minimum: int = 1) -> int:
    """A Python (or NumPy) integer >= ``minimum``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _pair(a: ArrayLike, b: ArrayLike, names: tuple[str, str]) -> tuple[Array, Array]:
    x, y = float_array(a, names[0]), float_array(b, names[1])
    for arr, name in ((x, names[0]), (y, names[1])):
        _check_rank(arr, name, (2,), "(N, D)")
        _check_nonempty(arr, name)
    if x.shape != y.shape:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must be (N, D) matrices of one shape, got "
            f"shapes {_shape(x)} and {_shape(y)}."
        )
    return x, y


def _check_offset(offset: Any) -> None:
    value = concrete_float(offset)
    if value is not None and not 0.0 <= value < 0.5:
        raise ValueError(f"`offset` must be in [0, 0.5), got {value}.")


def _reduce(per_row: Array, preserve_batch: bool) -> Array:
    return per_row if preserve_batch else jnp.mean(per_row)


def measure_MSE(mu: ArrayLike, x: ArrayLike, preserve_batch: bool = False) -> Array:
    """Squared error summed over features: per row ``(N, 1)`` or its mean.

    `mu` and `x` are non-empty ``(N, D)`` matrices of one shape (``ValueError`` naming
    them otherwise); the same holds for every loss below."""
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
    ``[offset, 1 - offset]``.

    `p` (predicted probabilities) and `x` (targets) are ``(N, D)`` with values in
    ``[0, 1]`` (checked when concrete); `offset` is in ``[0, 0.5)``."""
    pr, t = _pair(p, x, ("p", "x"))
    _check_offset(offset)
    _check_unit(pr, "p")
    _check_unit(t, "x")
    pc = jnp.clip(pr, offset, 1.0 - offset)
    bce = -jnp.sum(t * jnp.log(pc) + (1.0 - t) * jnp.log(1.0 - pc), axis=1, keepdims=True)
    return _reduce(bce, preserve_batch)


def measure_CatNLL(
    p: ArrayLike, x: ArrayLike, offset: float = 1e-7, preserve_batch: bool = False
) -> Array:
    r"""Categorical negative log-likelihood $-\sum_c x_c \log p_c$ (``p`` clipped).

    `p` (class probabilities) and `x` (one-hot or soft targets) are ``(N, C)`` with
    values in ``[0, 1]`` (checked when concrete); `offset` is in ``[0, 0.5)``."""
    pr, t = _pair(p, x, ("p", "x"))
    _check_offset(offset)
    _check_unit(pr, "p")
    _check_unit(t, "x")
    nll = -jnp.sum(t * jnp.log(jnp.clip(pr, offset, 1.0 - offset)), axis=1, keepdims=True)
    return _reduce(nll, preserve_batch)


def measure_KLD(p_xHat: ArrayLike, p_x: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""$\mathrm{KL}(p_x \Vert \hat p_x) = \sum_d p_x \log(p_x / \hat p_x)$ per row, with both
    distributions clipped to ``[1e-6, 1 - 1e-6]`` (ngc-learn divides by the dimension).

    `p_xHat` and `p_x` are ``(N, D)`` with values in ``[0, 1]`` (checked when concrete)."""
    q, p = _pair(p_xHat, p_x, ("p_xHat", "p_x"))
    _check_unit(q, "p_xHat")
    _check_unit(p, "p_x")
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

    `mu1` and `mu2` are ``(D,)``, ``(1, D)`` or ``(N, D)`` with one ``D >= 1`` (and, when
    both have several rows, the same number of rows); `Sigma1` and `Sigma2` are
    ``(D, D)`` symmetric positive definite (checked when concrete).
    """
    m1, m2 = float_array(mu1, "mu1"), float_array(mu2, "mu2")
    S1, S2 = float_array(Sigma1, "Sigma1"), float_array(Sigma2, "Sigma2")
    for arr, name in ((m1, "mu1"), (m2, "mu2")):
        _check_rank(arr, name, (1, 2), "(D,) or (N, D)")
        _check_nonempty(arr, name)
    D = m1.shape[-1]
    if m2.shape[-1] != D:
        raise ValueError(
            f"`mu1` and `mu2` must have one dimension D, got shapes {_shape(m1)} and {_shape(m2)}."
        )
    m1, m2 = jnp.atleast_2d(m1), jnp.atleast_2d(m2)
    if m1.shape[0] != m2.shape[0] and 1 not in (m1.shape[0], m2.shape[0]):
        raise ValueError(
            f"`mu1` and `mu2` must have one row or the same number of rows, got shapes "
            f"{_shape(m1)} and {_shape(m2)}."
        )
    for arr, name in ((S1, "Sigma1"), (S2, "Sigma2")):
        if arr.shape != (D, D):
            raise ValueError(f"`{name}` must have shape ({D}, {D}), got shape {_shape(arr)}.")
        if is_concrete(arr) and not bool(
            jnp.allclose(arr, arr.T, rtol=1e-5, atol=1e-6)
            & jnp.all(jnp.isfinite(jnp.linalg.cholesky(arr)))
        ):
            raise ValueError(f"`{name}` must be symmetric positive definite, got {arr.tolist()}.")
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
    parameters); ``is_log=False`` takes the log of ``max_model_score`` first.

    `X` has at least one row; `n_model_params` is an int >= 0; `max_model_score` is a
    log-likelihood, or with ``is_log=False`` a likelihood > 0 (checked when concrete)."""
    shape = jnp.shape(X)
    if len(shape) == 0 or shape[0] == 0:
        raise ValueError(f"`X` must have at least one row (sample), got shape {tuple(shape)}.")
    n = shape[0]
    _check_count(n_model_params, "n_model_params", minimum=0)
    score = jnp.asarray(max_model_score, dtype=jnp.float32)
    if not is_log:
        check_positive(max_model_score, "max_model_score")
    log_l = score if is_log else jnp.log(score)
    return -2.0 * log_l + n_model_params * jnp.log(jnp.float32(n))


def _scores(mu: ArrayLike) -> Array:
    m = _real(mu, "mu")
    _check_rank(m, "mu", (2,), "(N, C)")
    _check_nonempty(m, "mu")
    return m


def _labels(y: ArrayLike, extract_label_indx: bool, m: Array) -> Array:
    """Integer labels from one-hot ``(N, C)`` or integer ``(N,)`` `y`, with `y` checked
    against the scores `m` (``(N, C)``)."""
    arr = _real(y, "y")
    if extract_label_indx:
        _check_rank(
            arr, "y", (2,), "(N, C) (one-hot rows; integer labels need extract_label_indx=False)"
        )
    else:
        _check_rank(
            arr, "y", (1,), "(N,) (integer labels; one-hot rows need extract_label_indx=True)"
        )
    _check_nonempty(arr, "y")
    if arr.shape[0] != m.shape[0]:
        raise ValueError(
            f"`mu` and `y` must have one row per sample, got shapes {_shape(m)} and {_shape(arr)}."
        )
    if extract_label_indx:
        return jnp.argmax(arr, axis=1)
    return _check_integral(arr, "y")


def measure_ACC(mu: ArrayLike, y: ArrayLike, extract_label_indx: bool = True) -> Array:
    """Accuracy of ``argmax(mu)`` against one-hot ``y`` (or integer labels when
    ``extract_label_indx=False``).

    `mu` is a non-empty ``(N, C)`` score matrix; `y` is ``(N, C)`` one-hot, or with
    ``extract_label_indx=False`` ``(N,)`` integer labels in ``[0, C)`` (checked when
    concrete). ``ValueError`` naming the argument otherwise (no broadcasting)."""
    m = _scores(mu)
    labels = _labels(y, extract_label_indx, m)
    if not extract_label_indx and is_concrete(labels):
        ok = (labels >= 0) & (labels < m.shape[1])
        if not bool(jnp.all(ok)):
            raise ValueError(
                f"`y` labels must be in [0, {m.shape[1]}) (one class per column of `mu`), "
                f"got {int(_first_bad(labels, ok))}."
            )
    guess = jnp.argmax(m, axis=1)
    return jnp.mean((guess == labels).astype(jnp.float32))


def _label_vector(labels: ArrayLike, name: str) -> Array:
    """Labels as a non-empty ``int32`` vector (from ``(N,)`` or ``(N, 1)``)."""
    arr = _real(labels, name)
    if not (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1)):
        raise ValueError(
            f"`{name}` must have shape (N,) (one label each), got shape {_shape(arr)}."
        )
    _check_nonempty(arr, name)
    return _check_integral(arr, name).ravel()


def _label_pair(labels_true: ArrayLike, labels_pred: ArrayLike) -> tuple[Array, Array]:
    t = _label_vector(labels_true, "labels_true")
    p = _label_vector(labels_pred, "labels_pred")
    if t.shape != p.shape:
        raise ValueError(
            f"`labels_true` and `labels_pred` must have one label per sample, got shapes "
            f"{_shape(jnp.asarray(labels_true))} and {_shape(jnp.asarray(labels_pred))}."
        )
    return t, p


def _n_labels(labels: Array, given: Any, name: str, count_name: str) -> int:
    """The number of rows/columns: `given` (checked against concrete labels; in checked
    mode against traced ones), else ``max + 1`` of concrete non-negative labels."""
    if given is not None:
        n = _check_count(given, count_name)
        if is_concrete(labels):
            ok = (labels >= 0) & (labels < n)
            if not bool(jnp.all(ok)):
                raise ValueError(
                    f"`{name}` must be in [0, {count_name}={n}), got {int(_first_bad(labels, ok))}."
                )
        return n
    if not is_concrete(labels):
        raise ValueError(f"`{count_name}` is required when `{name}` is traced (under jax.jit).")
    _check_nonneg_values(labels, name)
    return int(jnp.max(labels)) + 1


def _guard(labels: Array, n: int, name: str) -> Array:
    """In checked mode (``ngcx.debug_nans``) traced labels outside ``[0, n)`` raise."""
    if is_concrete(labels):
        return labels
    return check_traced_domain(labels, name, (labels >= 0) & (labels < n), f"in [0, {n})")


def contingency_matrix(
    labels_true: ArrayLike,
    labels_pred: ArrayLike,
    n_classes: int | None = None,
    n_clusters: int | None = None,
) -> Array:
    """Counts ``C[i, j]`` of samples with true class ``i`` and predicted cluster ``j``.

    `labels_true` and `labels_pred` are non-empty integer vectors ``(N,)`` of one length
    whose values index the rows/columns: in ``[0, n_classes)`` / ``[0, n_clusters)``
    when given (ints >= 1, required under ``jit``), otherwise >= 0 (the matrix has
    ``max + 1`` rows/columns). The clustering scores accept any integer labels."""
    t, p = _label_pair(labels_true, labels_pred)
    nc = _n_labels(t, n_classes, "labels_true", "n_classes")
    nk = _n_labels(p, n_clusters, "labels_pred", "n_clusters")
    t, p = _guard(t, nc, "labels_true"), _guard(p, nk, "labels_pred")
    return jax.nn.one_hot(t, nc, dtype=jnp.float32).T @ jax.nn.one_hot(p, nk, dtype=jnp.float32)


def _clustering_counts(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_classes: Any, n_clusters: Any
) -> Array:
    """The contingency matrix of two labelings with arbitrary integer values: concrete
    labels without `n_classes`/`n_clusters` are renamed ``0..k-1`` (their unique values,
    so -1 or 1000 are labels like any other); labels with a count given must be in
    ``[0, count)``."""
    t, p = _label_pair(labels_true, labels_pred)
    if n_classes is None and is_concrete(t):
        t = jnp.asarray(np.unique(np.asarray(t), return_inverse=True)[1].ravel(), jnp.int32)
    if n_clusters is None and is_concrete(p):
        p = jnp.asarray(np.unique(np.asarray(p), return_inverse=True)[1].ravel(), jnp.int32)
    return contingency_matrix(t, p, n_classes, n_clusters)


def _comb2(n: Array) -> Array:
    return n * (n - 1.0) / 2.0


def measure_ARI(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_classes=None, n_clusters=None
) -> Array:
    """Adjusted Rand index of two labelings (1: identical up to renaming; ~0: chance).

    `labels_true`, `labels_pred`: non-empty integer vectors ``(N,)`` of one length, any
    integer values (negative included) when concrete; under ``jit`` pass `n_classes` /
    `n_clusters` (ints >= 1) and labels in ``[0, n_classes)`` / ``[0, n_clusters)``."""
    C = _clustering_counts(labels_true, labels_pred, n_classes, n_clusters)
    n = jnp.sum(C)
    sum_ij = jnp.sum(_comb2(C))
    sum_a = jnp.sum(_comb2(jnp.sum(C, axis=1)))
    sum_b = jnp.sum(_comb2(jnp.sum(C, axis=0)))
    pairs = _comb2(n)
    expected = jnp.where(pairs > 0, sum_a * sum_b / jnp.where(pairs > 0, pairs, 1.0), 0.0)
    maximum = 0.5 * (sum_a + sum_b)
    denom = maximum - expected
    return jnp.where(denom == 0, 1.0, (sum_ij - expected) / jnp.where(denom == 0, 1.0, denom))


def measure_FMI(
    labels_true: ArrayLike, labels_pred: ArrayLike, n_classes=None, n_clusters=None
) -> Array:
    """Fowlkes-Mallows index: geometric mean of pair-wise precision and recall (labels
    as :func:`measure_ARI`)."""
    C = _clustering_counts(labels_true, labels_pred, n_classes, n_clusters)
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
    $c$ (``beta > 1`` favours completeness; `beta` >= 0). Labels as :func:`measure_ARI`."""
    check_nonnegative(beta, "beta")
    C = _clustering_counts(labels_true, labels_pred, n_classes, n_clusters)
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


def _train(x: ArrayLike, name: str) -> Array:
    arr = float_array(x, name)
    _check_rank(arr, name, (2,), "(T, D)")
    _check_nonempty(arr, name)
    return arr


def _codes(x: ArrayLike, *, flatten: bool, min_width: int = 1) -> Array:
    """Non-empty codes ``(N, D)`` (with `flatten`, ``(N, ...)`` flattened to ``(N, D)``)."""
    arr = float_array(x, "codes")
    if flatten:
        _check_rank(arr, "codes", tuple(range(2, max(arr.ndim, 2) + 1)), "(N, D) or (N, ...)")
    else:
        _check_rank(arr, "codes", (2,), "(N, D)")
    _check_nonempty(arr, "codes")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[1] < min_width:
        raise ValueError(
            f"`codes` must have at least {min_width} units per code, got shape "
            f"{_shape(jnp.asarray(x))}."
        )
    return arr


def measure_firingRate(spikes: ArrayLike, preserve_batch: bool = False) -> Array:
    """Spikes per step of each neuron of a non-empty ``(T, D)`` train: ``(1, D)`` or the
    mean."""
    s = _train(spikes, "spikes")
    return _reduce(jnp.mean(s, axis=0, keepdims=True), preserve_batch)


def measure_fanoFactor(spikes: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Fano factor $\sigma^2/\mu$ of each neuron's counts over the ``T`` rows (NaN for a
    silent neuron, whose Fano factor is undefined): ``(1, D)`` or the mean. `spikes` is a
    non-empty ``(T, D)`` train."""
    s = _train(spikes, "spikes")
    mu = jnp.mean(s, axis=0, keepdims=True)
    return _reduce(jnp.var(s, axis=0, keepdims=True) / mu, preserve_batch)


def measure_breadth_TC(responses: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Breadth of tuning $1/(1 + C^2)$ with $C = \sigma^2/\mu$ of each neuron's responses
    over the ``T`` axis of a ``(T, D)`` (or trial-averaged ``(trials, T, D)``) input; 0 for
    a silent neuron. ``(1, D)`` or the population mean."""
    r = float_array(responses, "responses")
    _check_nonempty(r, "responses")
    if r.ndim == 3:
        r = jnp.mean(r, axis=0)
    if r.ndim != 2:
        raise ValueError(f"`responses` must be (T, D) or (trials, T, D), got shape {r.shape}.")
    mu = jnp.mean(r, axis=0, keepdims=True)
    c = jnp.var(r, axis=0, keepdims=True) / jnp.where(mu == 0, 1.0, mu)
    btc = jnp.where(mu == 0, 0.0, 1.0 / (1.0 + jnp.square(c)))
    return _reduce(btc, preserve_batch)


def measure_excess_kurtosis(codes: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Excess kurtosis $m_4/(m_2^2 + 10^{-8}) - 3$ of each code (row, flattened) of
    non-empty `codes` ``(N, D)`` or ``(N, ...)``."""
    x = _codes(codes, flatten=True)
    centred = x - jnp.mean(x, axis=1, keepdims=True)
    m2 = jnp.mean(jnp.square(centred), axis=1, keepdims=True)
    m4 = jnp.mean(centred**4, axis=1, keepdims=True)
    return _reduce(m4 / (jnp.square(m2) + 1e-8) - 3.0, preserve_batch)


def measure_hoyer_sparsity(codes: ArrayLike, preserve_batch: bool = False) -> Array:
    r"""Hoyer sparsity $(\sqrt D - \lVert x\rVert_1/\lVert x\rVert_2)/(\sqrt D - 1)$ per code
    (0: dense, 1: one active unit) of `codes` ``(N, D)`` or ``(N, ...)`` with ``D >= 2``
    units per code (flattened)."""
    x = _codes(codes, flatten=True, min_width=2)
    d = x.shape[1]
    l1 = jnp.sum(jnp.abs(x), axis=1, keepdims=True)
    l2 = jnp.sqrt(jnp.sum(jnp.square(x), axis=1, keepdims=True) + 1e-8)
    return _reduce((jnp.sqrt(d) - l1 / l2) / (jnp.sqrt(d) - 1.0), preserve_batch)


def measure_gini_index(codes: ArrayLike, preserve_batch: bool = True) -> Array:
    r"""Gini index of each code: $\sum_i (2i - D - 1)\,x_{(i)} / (D \sum_i x_{(i)})$ over the
    sorted magnitudes (higher: sparser); an all-zero code is treated as uniform (0).
    `codes` is a non-empty ``(N, D)`` matrix."""
    x = _codes(codes, flatten=False)
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
    ``flip_measure``): ``(N, 1)`` or the mean. `codes` is a non-empty ``(N, D)``
    matrix."""
    x = _codes(codes, flatten=False)
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
            f"`a` and `b` must be (N, T, D) arrays of one shape, got shapes {x.shape} and "
            f"{y.shape}."
        )
    _check_nonempty(x, "a")
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

    - `spike_count_matrix`: non-negative counts (or rates) of shape `(N, D)`, one row
      per stimulus, non-empty (the sign is checked when concrete).

    **Returns:** ``((min, max, mean), entropy, dead)``: the smallest, largest and mean
    total count $c_d$, $H$, and the number of units that never fired ($c_d = 0$), all
    0-d arrays.
    """
    S = float_array(spike_count_matrix, "spike_count_matrix")
    if S.ndim != 2:
        raise ValueError(f"`spike_count_matrix` must be (N, D), got shape {S.shape}.")
    _check_nonempty(S, "spike_count_matrix")
    _check_nonneg_values(S, "spike_count_matrix")
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

    `mu` is a non-empty ``(N, C)`` score matrix; `y` is ``(N, C)`` one-hot, or with
    ``extract_label_indx=False`` ``(N,)`` non-negative integer labels (a label ``>= C``
    adds a class that is never predicted).
    """
    m = _scores(mu)
    labels = np.asarray(_labels(y, extract_label_indx, m))
    if (labels < 0).any():
        raise ValueError(f"`y` labels must be >= 0, got {int(labels[labels < 0][0])}.")
    scores = np.asarray(m)
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
