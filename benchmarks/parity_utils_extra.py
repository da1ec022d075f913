"""Parity check of the utilities added for issue 15 (item 7): ngcx against ngc-learn 3.2.x.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_utils_extra.py

Each row feeds the same inputs to an ngc-learn utility and its ngcx counterpart and prints
the largest absolute difference. Rows marked ``differs`` are deliberate (see the
docstrings: ngc-learn's leapfrog moves positions with the old momentum, its
``patch_with_overlap`` steps by the image size, its ``patch_with_stride`` stops after
``H // patch`` positions, its Ralston stage sits at 3/4 dt, its layer norm in the
attentive probe pools over the sequence and the batch, and its ``vote_style="mean"``
classifier returns the one-hot mode). The exit status is non-zero if a row breaks its
expectation.

The last rows (``_ngclearn_calls``) run ngc-learn's own probe code unchanged on ngcx: the
positional constructors with a PRNG key first (same key, same initial weights), then
``update`` (Adam state kept across calls), ``process``, ``predict(data)`` and ``fit(dataset)``.
"""

from __future__ import annotations

import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ngclearn.modules import Iterative_ElasticNet, Iterative_Lasso, Iterative_Ridge
from ngclearn.utils import (
    metric_utils as ng_metrics,
    model_utils as ng_model,
    patch_utils as ng_patch,
)
from ngclearn.utils.analysis import effective_dim as ng_eff
from ngclearn.utils.analysis.attentive_probe import AttentiveProbe as NGAttentive
from ngclearn.utils.analysis.kmeans_probe import KMeansProbe as NGKMeans
from ngclearn.utils.analysis.knn_probe import KNNProbe as NGKNN
from ngclearn.utils.analysis.linear_probe import LinearProbe as NGLinear
from ngclearn.utils.diffeq import ode_utils as ng_ode
from ngclearn.utils.distribution_generator import DistributionGenerator as NGDist

from ngcx import analysis, diffeq, metrics, ops, sparse_regression as sr
from ngcx.data import patch_with_overlap, patch_with_stride
from ngcx.initializers import DistributionGenerator


def _diff(a, b) -> float:
    fa = jax.tree_util.tree_leaves(a)
    fb = jax.tree_util.tree_leaves(b)
    assert len(fa) == len(fb), (len(fa), len(fb))
    worst = 0.0
    for x, y in zip(fa, fb, strict=True):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape != y.shape:
            return float("inf")
        if x.size:
            worst = max(worst, float(np.nanmax(np.abs(x - y))))
    return worst


def _metrics(rng):
    a = rng.normal(size=(4, 30, 5)).astype(np.float32)
    b = (0.3 * a + rng.normal(size=a.shape)).astype(np.float32)
    S = rng.poisson(0.3, size=(40, 12)).astype(np.float32)
    S[:, 3] = 0.0
    ng_we = ng_metrics.measure_workload_entropy(jnp.asarray(S))
    ours_we = metrics.measure_workload_entropy(S)
    key = jax.random.PRNGKey(int(rng.integers(1 << 30)))
    s = (rng.uniform(size=(5, 12)) < 0.3).astype(np.float32)
    return [
        (
            "measure_Pearson_correlation",
            _diff(
                ng_metrics.measure_Pearson_correlation(jnp.asarray(a), jnp.asarray(b)),
                metrics.measure_Pearson_correlation(a, b),
            ),
        ),
        (
            "measure_Pearson_correlation(preserve_batch)",
            _diff(
                ng_metrics.measure_Pearson_correlation(jnp.asarray(a), jnp.asarray(b), True),
                metrics.measure_Pearson_correlation(a, b, True),
            ),
        ),
        ("measure_workload_entropy", _diff(ng_we, ours_we)),
        (
            "sample_values_by_group",
            _diff(
                ng_model.sample_values_by_group(key, jnp.asarray(s), 4),
                ops.sample_values_by_group(key, s, 4),
            ),
        ),
        (
            "DistributionGenerator.diag_offdiag",
            _diff(
                NGDist.diag_offdiag(1.5, -0.25)((5, 5), jax.random.PRNGKey(0)),
                DistributionGenerator.diag_offdiag(1.5, -0.25)(jax.random.PRNGKey(0), (5, 5)),
            ),
        ),
    ]


def _patches(rng):
    X = rng.normal(size=(12, 12)).astype(np.float32)
    same = [
        (
            "patch_with_stride (stride = patch)",
            _diff(
                ng_patch.patch_with_stride(X, (3, 4), (3, 4)), patch_with_stride(X, (3, 4), (3, 4))
            ),
        )
    ]
    differs = [
        (
            "patch_with_stride (stride < patch)",
            _diff(
                ng_patch.patch_with_stride(X, (4, 4), (2, 2)), patch_with_stride(X, (4, 4), (2, 2))
            ),
        ),
        (
            "patch_with_overlap",
            _diff(
                ng_patch.patch_with_overlap(X, (4, 4), (1, 1)),
                patch_with_overlap(X, (4, 4), (1, 1)),
            ),
        ),
    ]
    return same, differs


def _f(t, x, params):
    """A nonlinear (cubic) spiral: all two-stage second-order methods agree on linear ones."""
    u = x**3
    return jnp.stack([-0.3 * u[..., 0] + 2.0 * u[..., 1], -2.0 * u[..., 0] - 0.3 * x[..., 1]], -1)


def _diffeq(rng):
    x0 = jnp.asarray(rng.normal(size=(3, 2)), dtype=jnp.float32)
    same, differs = [], []
    for name, ng_step, ours in (
        ("euler", ng_ode.step_euler, diffeq.step_euler),
        ("heun", ng_ode.step_heun, diffeq.step_heun),
        ("rk2", ng_ode.step_rk2, diffeq.step_rk2),
        ("rk4", ng_ode.step_rk4, diffeq.step_rk4),
        ("ralston", ng_ode.step_ralston, diffeq.step_ralston),
    ):
        for xs in (1.0, 0.9):
            err = _diff(ng_step(0.0, x0, _f, 0.05, None, xs), ours(0.0, x0, _f, 0.05, None, xs))
            (differs if name == "ralston" else same).append((f"step_{name}(x_scale={xs})", err))
    for name in ("euler", "heun", "rk2", "rk4"):
        ng = ng_ode.solve_ode(name, 0.0, x0, 40, _f, 0.05, None, 0.95, False)
        ours = diffeq.solve_ode(name, 0.0, x0, 40, _f, 0.05, None, 0.95, False)
        same.append((f"solve_ode({name!r}, x_scale=0.95, sols_only=False)", _diff(ng, ours)))
    q, p = jnp.asarray(rng.normal(size=(4,)), jnp.float32), jnp.zeros((4,), jnp.float32)
    force = lambda t, q, k: -k * q  # noqa: E731
    differs.append(
        (
            "leapfrog (ngc-learn: q + h p_old)",
            _diff(
                ng_ode.leapfrog(0.0, q, p, force, 20, 0.1, 1.0),
                diffeq.leapfrog(0.0, q, p, force, 20, 0.1, 1.0),
            ),
        )
    )
    return same, differs


def _sindy(rng):
    x = rng.normal(size=(64, 2)).astype(np.float32)
    X = np.concatenate([np.ones((64, 1)), x, x**2], axis=1).astype(np.float32)
    W = np.array([[0, 0], [1.0, -0.5], [0.3, 2.0], [0, 0], [0, 0.7]], np.float32)
    y = (X @ W + 0.01 * rng.normal(size=(64, 2))).astype(np.float32)
    rows = []
    for ng_cls, ours_cls, kw in (
        (Iterative_Lasso, sr.Iterative_Lasso, {"lasso_lmbda": 0.01}),
        (Iterative_Ridge, sr.Iterative_Ridge, {"ridge_lmbda": 0.01}),
        (Iterative_ElasticNet, sr.Iterative_ElasticNet, {"lmbda": 0.01, "l1_ratio": 0.3}),
    ):
        for optim in ("adam", "sgd"):
            lr = 0.01 if optim == "adam" else 1e-3
            name = f"{ng_cls.__name__}{np.random.randint(1 << 30)}"
            ng = ng_cls(
                jax.random.PRNGKey(0), name, 2, 5, 64, lr=lr, optim_type=optim, epochs=40, **kw
            )
            ng_coef, _, _ = ng.fit(jnp.asarray(y), jnp.asarray(X))
            ng_thr, _ = ng.thresholding()
            ours = ours_cls(None, "m", 2, 5, 64, lr=lr, optim_type=optim, epochs=40, **kw)
            ours, (coef, _, _) = ours.fit(y, X)
            _, thr, _ = ours.thresholding()
            rows.append((f"{ng_cls.__name__}.fit ({optim}, 40 epochs)", _diff(ng_coef, coef)))
            rows.append((f"{ng_cls.__name__}.thresholding ({optim})", _diff(ng_thr, thr)))
    return rows


def _effective_dim(rng):
    z = (rng.normal(size=(50, 6)) * np.array([3, 2, 1, 1, 0.5, 0.1])).astype(np.float32)
    const = np.ones((10, 3), np.float32)
    return [
        (
            "participation_ratio",
            _diff(ng_eff.participation_ratio(jnp.asarray(z)), analysis.participation_ratio(z)),
        ),
        # ngc-learn's jitted function cannot trace its own Python `if` with the NaN
        # fallback on; its unjitted body (``__wrapped__``) gives the intended value.
        (
            "participation_ratio(use_NaN_fallback) on constant codes (NaN == NaN)",
            float(
                not (
                    np.isnan(ng_eff.participation_ratio.__wrapped__(jnp.asarray(const), True))
                    and np.isnan(analysis.participation_ratio(const, use_NaN_fallback=True))
                )
            ),
        ),
        (
            "participation_ratio(use_NaN_fallback) on varied codes",
            _diff(
                ng_eff.participation_ratio.__wrapped__(jnp.asarray(z), True),
                analysis.participation_ratio(z, use_NaN_fallback=True),
            ),
        ),
        (
            "stable_rank(num_iters=10)",
            _diff(ng_eff.stable_rank(jnp.asarray(z), 10), analysis.stable_rank(z, 10)),
        ),
        (
            "stable_rank(num_iters=3)",
            _diff(ng_eff.stable_rank(jnp.asarray(z), 3), analysis.stable_rank(z, 3)),
        ),
    ]


def _knn(rng):
    c = rng.normal(size=(40, 5)).astype(np.float32)
    lab = rng.integers(0, 3, size=40)
    Y = np.eye(3, dtype=np.float32)[lab]
    T = rng.normal(size=(40, 2)).astype(np.float32)
    q = rng.normal(size=(8, 5)).astype(np.float32)
    same, differs = [], []
    for dist in (
        ("minkowski", 2),
        ("manhattan", 1),
        ("chebyshev", 0),
        ("minkowski", 3),
        ("cosine", 2),
    ):
        ng = NGKNN(jax.random.PRNGKey(0), 1, 5, 3, num_neighbors=5, distance_function=dist)
        ng.update(jnp.asarray(c), jnp.asarray(Y))
        ours = analysis.KNNProbe(5, distance_function=dist).fit(c, Y)
        same.append(
            (f"KNNProbe{dist} classifier", _diff(ng.process(jnp.asarray(q)), ours.process(q)))
        )
    ng = NGKNN(jax.random.PRNGKey(0), 1, 5, 2, num_neighbors=4, predictor_type="regressor")
    ng.update(jnp.asarray(c), jnp.asarray(T))
    ours = analysis.KNNProbe(4, predictor_type="regressor").fit(c, T)
    same.append(("KNNProbe regressor", _diff(ng.process(jnp.asarray(q)), ours.process(q))))
    ng = NGKNN(jax.random.PRNGKey(0), 1, 5, 3, num_neighbors=5, vote_style="mean")
    ng.update(jnp.asarray(c), jnp.asarray(Y))
    ours = analysis.KNNProbe(5, vote_style="mean").fit(c, Y)
    differs.append(
        (
            "KNNProbe vote_style='mean' (frequencies)",
            _diff(ng.process(jnp.asarray(q)), ours.process(q)),
        )
    )
    return same, differs


def _linear_probe(rng):
    x = rng.normal(size=(32, 6)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=32)]
    ng = NGLinear(jax.random.PRNGKey(1), 1, 6, 3, batch_size=32, use_softmax=True)
    _, _, W, b = ng.probe_params
    ours = analysis.LinearProbe(6, 3, key=jax.random.key(0), use_softmax=True)
    ours = eqx.tree_at(lambda p: (p.weights, p.biases), ours, (W, b[0]))
    ng.eta = 0.01
    ng.fit((jnp.asarray(x), jnp.asarray(Y)), n_iter=5, patience=100)
    trained, _ = ours.fit(x, Y, 5, 0.01, batch_size=32, key=jax.random.key(2))
    return [
        (
            "LinearProbe.fit (one mini-batch = the data, 5 epochs)",
            _diff(ng.probe_params[2], trained.weights),
        )
    ]


def _attentive(rng):
    e = rng.normal(size=(4, 6, 8)).astype(np.float32)
    rows_same, rows_diff = [], []
    for use_LN in (False, True):
        ng = NGAttentive(
            jax.random.PRNGKey(3),
            6,
            8,
            3,
            num_heads=2,
            attn_dim=8,
            learnable_query_dim=8,
            batch_size=4,
            dev_batch_size=4,
            use_LN=use_LN,
            dropout=0.0,
        )
        prm = list(ng.probe_params)
        q0 = jnp.asarray(rng.normal(size=(1, 1, 8)), jnp.float32) * 0.5  # a non-zero query
        prm[0] = jnp.tile(q0, (4, 1, 1))  # ngc-learn keeps one copy per batch row
        ln_params = {17, 18, 21, 22, 25, 26, 29, 30}  # scales/shifts of the layer norms
        for i in range(1, 33):  # larger weights than the 0.02 init so the outputs vary
            if i not in ln_params:
                prm[i] = prm[i] * 20.0
        ng.probe_params = tuple(prm)
        (
            query,
            Wq,
            bq,
            Wk,
            bk,
            Wv,
            bv,
            Wout,
            bout,
            Wqs,
            bqs,
            Wks,
            bks,
            Wvs,
            bvs,
            Wouts,
            bouts,
            lnm,
            lns,
            Wh1,
            bh1,
            m1,
            s1,
            Wh2,
            bh2,
            m2,
            s2,
            Wh3,
            bh3,
            m3,
            s3,
            Wy,
            by,
            *_,
        ) = prm
        ours = analysis.AttentiveProbe(
            jax.random.key(0),
            6,
            8,
            3,
            num_heads=2,
            attn_dim=8,
            learnable_query_dim=8,
            use_LN=use_LN,
            dropout=0.0,
        )
        ours = eqx.tree_at(
            lambda p: (
                p.query,
                p.Wq,
                p.bq,
                p.Wk,
                p.bk,
                p.Wv,
                p.bv,
                p.Wout,
                p.bout,
                p.Wqs,
                p.bqs,
                p.Wks,
                p.bks,
                p.Wvs,
                p.bvs,
                p.Wouts,
                p.bouts,
                p.Whid1,
                p.bhid1,
                p.Whid2,
                p.bhid2,
                p.Whid3,
                p.bhid3,
                p.Wy,
                p.by,
            ),
            ours,
            (
                query[0],
                Wq,
                bq[0],
                Wk,
                bk[0],
                Wv,
                bv[0],
                Wout,
                bout[0],
                Wqs,
                bqs[0],
                Wks,
                bks[0],
                Wvs,
                bvs[0],
                Wouts,
                bouts[0],
                Wh1,
                bh1[0],
                Wh2,
                bh2[0],
                Wh3,
                bh3[0],
                Wy,
                by[0],
            ),
        )
        err = _diff(ng.process(jnp.asarray(e)), ours(e))
        (rows_diff if use_LN else rows_same).append(
            (f"AttentiveProbe forward (use_LN={use_LN})", err)
        )
    return rows_same, rows_diff


def _ngclearn_calls(rng):
    """ngc-learn's own probe code (positional construction, ``update``/``fit``/``process``/
    ``predict``) run unchanged against ngcx's probes."""
    same, differs = [], []
    X = rng.normal(size=(24, 3, 4)).astype(np.float32)  # (N, source_seq_length, input_dim)
    lab = (X[:, :, 0].sum(1) > 0).astype(int)
    Y = np.eye(2, dtype=np.float32)[lab]
    jX, jY = jnp.asarray(X), jnp.asarray(Y)
    for ctor in (jax.random.PRNGKey, jax.random.key):  # legacy and typed keys
        kind = "PRNGKey" if ctor is jax.random.PRNGKey else "key"
        ng = NGLinear(ctor(4), 3, 4, 2, 8, False, True)
        ours = analysis.LinearProbe(ctor(4), 3, 4, 2, 8, False, True)
        same.append(
            (
                f"LinearProbe(dkey={kind}, 3, 4, 2) initial weights",
                _diff(ng.probe_params[2], ours.weights),
            )
        )
    same.append(
        (
            "LinearProbe.process on (N, 3, 4) codes (flattened)",
            _diff(ng.process(jX), ours.process(X)),
        )
    )
    same.append(
        ("LinearProbe.predict(data) -> (N, out_dim)", _diff(ng.predict(jX), ours.predict(X)))
    )
    losses, outs = [], []
    for i in range(5):  # Adam state kept across update calls
        sl = slice(8 * (i % 3), 8 * (i % 3) + 8)
        L_ng, py_ng = ng.update(jX[sl], jY[sl])
        L_us, py_us = ours.update(X[sl], Y[sl])
        losses.append(_diff(L_ng, L_us))
        outs.append(_diff(py_ng, py_us))
    same.append(("LinearProbe.update x5: losses", max(losses)))
    same.append(("LinearProbe.update x5: outputs", max(outs)))
    same.append(("LinearProbe.update x5: weights", _diff(ng.probe_params[2], ours.weights)))

    Xd = rng.normal(size=(16, 3, 4)).astype(np.float32)
    Yd = np.eye(2, dtype=np.float32)[(Xd[:, :, 0].sum(1) > 0).astype(int)]
    ng = NGLinear(jax.random.PRNGKey(7), 3, 4, 2, 24, use_softmax=True)
    ng.eta = 0.05
    acc_ng = ng.fit((jX, jY), (jnp.asarray(Xd), jnp.asarray(Yd)), n_iter=10, patience=3)
    ours = analysis.LinearProbe(jax.random.PRNGKey(7), 3, 4, 2, 24, use_softmax=True, eta=0.05)
    acc_us = ours.fit((X, Y), (Xd, Yd), n_iter=10, patience=3)
    same.append(("LinearProbe.fit(dataset, dev_dataset): best dev accuracy", _diff(acc_ng, acc_us)))

    q = rng.normal(size=(6, 3, 4)).astype(np.float32)
    for dist in (("minkowski", 2), ("manhattan", 1), ("cosine", 2)):
        ng = NGKNN(jax.random.PRNGKey(0), 3, 4, 2, 1, 3, dist)
        ng.update(jX, jY)
        ours = analysis.KNNProbe(jax.random.PRNGKey(0), 3, 4, 2, 1, 3, dist)
        ours.update(X, Y)
        same.append(
            (
                f"KNNProbe(dkey, 3, 4, 2, 1, 3, {dist}).predict",
                _diff(ng.predict(jnp.asarray(q)), ours.predict(q)),
            )
        )

    for n_iter in (1, 10):
        ng = NGKMeans(jax.random.PRNGKey(5), 3, 4, 3)
        ng.fit((jX, jY), n_iter=n_iter)
        ours = analysis.KMeansProbe(jax.random.PRNGKey(5), 3, 4, 3)
        ours.fit((X, Y), n_iter=n_iter)
        same.append(
            (f"KMeansProbe.fit(n_iter={n_iter}) centres", _diff(ng.centroids, ours.centroids))
        )
        same.append(
            (
                f"KMeansProbe.predict after fit(n_iter={n_iter})",
                _diff(ng.predict(jX), ours.predict(X)),
            )
        )
    L_ng, py_ng = ng.update(jX, jY)
    L_us, py_us = ours.update(X, Y)
    same.append(("KMeansProbe.update outputs", _diff(py_ng, py_us)))
    same.append(("KMeansProbe.update centres", _diff(ng.centroids, ours.centroids)))

    ng = NGAttentive(
        jax.random.PRNGKey(6), 3, 4, 2, 2, 8, 1, 8, 8, use_LN=False, dropout=0.0, eta=0.01
    )
    ours = analysis.AttentiveProbe(
        jax.random.PRNGKey(6), 3, 4, 2, 2, 8, 1, 8, 8, use_LN=False, dropout=0.0, eta=0.01
    )
    names = [
        "Wq",
        "bq",
        "Wk",
        "bk",
        "Wv",
        "bv",
        "Wout",
        "bout",
        "Wqs",
        "bqs",
        "Wks",
        "bks",
        "Wvs",
        "bvs",
        "Wouts",
        "bouts",
    ]
    ng_w = list(ng.probe_params[1:17]) + [
        ng.probe_params[i] for i in (19, 20, 23, 24, 27, 28, 31, 32)
    ]
    names += ["Whid1", "bhid1", "Whid2", "bhid2", "Whid3", "bhid3", "Wy", "by"]
    us_w = [getattr(ours, n) for n in names]
    same.append(
        (
            "AttentiveProbe(dkey, ...) initial weights",
            max(_diff(a.reshape(b.shape), b) for a, b in zip(ng_w, us_w, strict=True)),
        )
    )
    L_ng, py_ng = ng.update(jX[:8], jY[:8])
    L_us, py_us = ours.update(X[:8], Y[:8])
    same.append(
        ("AttentiveProbe.update: loss, outputs", max(_diff(L_ng, L_us), _diff(py_ng, py_us)))
    )
    ng_w = list(ng.probe_params[1:17]) + [
        ng.probe_params[i] for i in (19, 20, 23, 24, 27, 28, 31, 32)
    ]
    us_w = [getattr(ours, n) for n in names]
    same.append(
        (
            "AttentiveProbe.update: weights after the step",
            max(_diff(a.reshape(b.shape), b) for a, b in zip(ng_w, us_w, strict=True)),
        )
    )
    return same, differs


def main() -> int:
    worst_same: dict[str, float] = {}
    worst_diff: dict[str, float] = {}
    for trial in range(2):
        rng = np.random.default_rng(trial)
        same, differs = [], []
        same += _metrics(rng)
        s, d = _patches(rng)
        same, differs = same + s, differs + d
        s, d = _diffeq(rng)
        same, differs = same + s, differs + d
        same += _sindy(rng) + _effective_dim(rng)
        s, d = _knn(rng)
        same, differs = same + s, differs + d
        same += _linear_probe(rng)
        s, d = _attentive(rng)
        same, differs = same + s, differs + d
        s, d = _ngclearn_calls(rng)
        same, differs = same + s, differs + d
        for name, err in same:
            worst_same[name] = max(worst_same.get(name, 0.0), err)
        for name, err in differs:
            worst_diff[name] = max(worst_diff.get(name, 0.0), err)
    bad = 0
    print(f"\n{'utility':<60}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, err in worst_same.items():
        ok = err <= 1e-4
        bad += not ok
        print(f"{name:<60}{err:>22.2e}  {'match' if ok else 'MISMATCH'}")
    for name, err in worst_diff.items():
        ok = err > 1e-3
        bad += not ok
        print(f"{name:<60}{err:>22.2e}  {'differs (deliberate)' if ok else 'UNEXPECTED MATCH'}")
    print(f"{len(worst_same)} rows match, {len(worst_diff)} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
