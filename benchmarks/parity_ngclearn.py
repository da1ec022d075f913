"""Parity check: ngcx against ngc-learn's real outputs on many random inputs.

Not part of CI (ngc-learn is never a dependency). Run it in a separate virtualenv that
has both packages::

    python -m venv /tmp/ngcl && /tmp/ngcl/bin/pip install "ngclearn>=3.2,<3.3" -e .
    /tmp/ngcl/bin/python benchmarks/parity_ngclearn.py

Every row compares one function on ``--trials`` random batches and prints the largest
absolute difference. Rows marked ``differs`` are deliberate differences (ngc-learn is
wrong there; see the README) and must *not* match; every other row must match to float
tolerance. The exit status is non-zero if any row breaks its expectation.
"""

from __future__ import annotations

import argparse
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components import (
    GaussianErrorCell as NGErrorCell,
    HebbianSynapse as NGHebbianSynapse,
    RateCell as NGRateCell,
)
from ngclearn.utils import model_utils as mu, surrogate_fx as sfx

from ngcx import activations as A, learning, ops, surrogates as S
from ngcx.cells import GaussianErrorCell, RateCell
from ngcx.plasticity import HebbianSynapse


TOL = 1e-5


def _rows(key):
    k = iter(jax.random.split(key, 32))
    x = 3.0 * jax.random.normal(next(k), (16, 12))
    p = jax.random.uniform(next(k), (16, 12), minval=0.01, maxval=0.99)
    t = jax.random.uniform(next(k), (16, 12), minval=-0.95, maxval=0.95)
    groups = jnp.repeat(jnp.eye(3), 4, axis=1)
    W = jax.random.normal(next(k), (8, 6))
    dkey = next(k)
    same = [
        ("identity", mu.identity(x), A.identity(x)),
        ("relu", mu.relu(x), A.relu(x)),
        ("d_relu", mu.d_relu(x), A.d_relu(x)),
        ("lrelu", mu.lrelu(x), A.lrelu(x)),
        ("d_lrelu", mu.d_lrelu(x), A.d_lrelu(x)),
        ("relu6", mu.relu6(3 * x), A.relu6(3 * x)),
        ("d_relu6", mu.d_relu6(3 * x), A.d_relu6(3 * x)),
        ("elu", mu.elu(x), A.elu(x)),
        ("d_elu", mu.d_elu(x), A.d_elu(x)),
        ("silu", mu.silu(x), A.silu(x)),
        ("d_silu", mu.d_silu(x), A.d_silu(x)),
        ("swish(beta=2)", mu.swish(x, 2.0), A.swish(x, 2.0)),
        ("gelu", mu.gelu(x), A.gelu(x)),
        ("telu", mu.telu(x), A.telu(x)),
        ("d_telu", mu.d_telu(x), A.d_telu(x)),
        ("softplus", mu.softplus(x), A.softplus(x)),
        ("d_softplus", mu.d_softplus(x), A.d_softplus(x)),
        ("sigmoid", mu.sigmoid(x), A.sigmoid(x)),
        ("d_sigmoid", mu.d_sigmoid(x), A.d_sigmoid(x)),
        ("tanh", mu.tanh(x), A.tanh(x)),
        ("d_tanh", mu.d_tanh(x), A.d_tanh(x)),
        ("sine", mu.sine(x / 30), A.sine(x / 30)),
        ("d_sine", mu.d_sine(x / 30), A.d_sine(x / 30)),
        ("heaviside", mu.heaviside(x), A.heaviside(x)),
        ("d_heaviside", mu.d_heaviside(x), A.d_heaviside(x)),
        ("threshold", mu.threshold(x), A.threshold(x)),
        ("d_threshold", mu.d_threshold(x), A.d_threshold(x)),
        ("clip", mu.clip(x, -1.0, 1.0), A.clip(x, -1.0, 1.0)),
        ("d_clip", mu.d_clip(x, -1.0, 1.0), A.d_clip(x, -1.0, 1.0)),
        ("bkwta", mu.bkwta(x, 3), A.bkwta(x, 3)),
        ("softmax", mu.softmax(x), A.softmax(x)),
        ("softmax(tau=0.5)", mu.softmax(x, 0.5), A.softmax(x, 0.5)),
        ("d_softmax", mu.d_softmax(x, 0.5), A.d_softmax(x, 0.5)),
        ("threshold_soft", mu.threshold_soft(x, 0.5), A.threshold_soft(x, 0.5)),
        ("inverse_logistic", mu.inverse_logistic(p), A.inverse_logistic(p)),
        ("normalize_matrix", mu.normalize_matrix(W, 2.0, 1, 0), ops.normalize_matrix(W, 2.0)),
        (
            "normalize_matrix(L2, rows)",
            mu.normalize_matrix(W, 1.0, 2, 1),
            ops.normalize_matrix(W, 1.0, order=2, axis=1),
        ),
        (
            "normalize_block_matrix",
            mu.normalize_block_matrix(W, (4, 3)),
            ops.normalize_block_matrix(W, (4, 3)),
        ),
        ("clamp_min", mu.clamp_min(x, 0.3), ops.clamp_min(x, 0.3)),
        ("clamp_max", mu.clamp_max(x, 0.3), ops.clamp_max(x, 0.3)),
        ("one_hot", mu.one_hot(x), ops.one_hot(x)),
        ("chebyshev_norm", mu.chebyshev_norm(x), ops.chebyshev_norm(x)),
        ("binarize", mu.binarize(p), ops.binarize(p)),
        ("drop_out", mu.drop_out(dkey, x, 0.3)[0], ops.drop_out(dkey, x, 0.3)[0]),
        ("group_mean", mu.group_mean(x, groups), ops.group_mean(x, groups)),
        (
            "create_block_matrix",
            mu.create_block_matrix(jnp.eye(3), (2, 2), 0.5, 2.0),
            ops.create_block_matrix(jnp.eye(3), (2, 2), 0.5, 2.0),
        ),
        (
            "eye_wrapped",
            mu.eye_wrapped(5, 2, jnp.arange(5.0)),
            ops.eye_wrapped(5, 2, jnp.arange(5.0)),
        ),
        (
            "lkwta (one group)",
            mu.lkwta(x, jnp.ones((1, 12)), 3),
            A.lkwta(x, jnp.ones((1, 12)), 3),
        ),
    ]
    # ngc-learn 3.2.1 computes the true swish derivative (older releases, as in the
    # reference copy, did not); ngcx matches it.
    same += [
        ("d_swish(beta=2)", mu.d_swish(x, 2.0), A.d_swish(x, 2.0)),
        ("d_gelu", mu.d_gelu(x), A.d_gelu(x)),
    ]
    differs = [
        ("inverse_tanh", mu.inverse_tanh(t), A.inverse_tanh(t)),
        ("lkwta (3 groups)", mu.lkwta(x, groups, 2), A.lkwta(x, groups, 2)),
        ("layer_normalize", mu.layer_normalize(x), ops.layer_normalize(x)),
    ]
    # surrogates: spike emission and ngc-learn 3.2's derivatives must match through the
    # ngc-learn-named builders; the relaxations (surr_fx) and secant's sech differ
    v = 2.0 * x
    thr = 0.4
    ng = {
        "ste": sfx.straight_through_estimator(get_surr_fx=True),
        "arctan": sfx.arctan_estimator(get_surr_fx=True),
        "secant": sfx.secant_lif_estimator(get_surr_fx=True),
        "triangular": sfx.triangular_estimator(get_surr_fx=True),
        "explicit_triangular": sfx.explicit_triangular_estimator(get_surr_fx=True),
        "boxcar": sfx.boxcar_estimator(get_surr_fx=True),
    }
    ours = {
        "ste": S.straight_through_estimator(get_surr_fx=True),
        "arctan": S.arctan_estimator(get_surr_fx=True),
        "secant": S.secant_lif_estimator(get_surr_fx=True),
        "triangular": S.triangular_estimator(get_surr_fx=True),
        "explicit_triangular": S.explicit_triangular_estimator(get_surr_fx=True),
        "boxcar": S.boxcar_estimator(get_surr_fx=True),
    }
    for name in ng:
        same.append((f"spike_fx ({name})", ng[name][0](v, thr), ours[name][0](v, thr)))
    same += [
        ("d_spike_fx (ste)", ng["ste"][2](v, thr), ours["ste"][2](v, thr)),
        ("d_spike_fx (arctan)", ng["arctan"][2](v, thr), ours["arctan"][2](v, thr)),
        (
            "d_spike_fx (arctan, alpha=0.7)",
            ng["arctan"][2](v, thr, 0.7),
            ours["arctan"][2](v, thr, 0.7),
        ),
        ("d_spike_fx (triangular)", ng["triangular"][2](v, thr), ours["triangular"][2](v, thr)),
        (
            "d_spike_fx (triangular, alpha=0.3)",
            ng["triangular"][2](v, thr, 0.3),
            ours["triangular"][2](v, thr, 0.3),
        ),
        (
            "d_spike_fx (explicit_triangular)",
            ng["explicit_triangular"][2](v, thr),
            ours["explicit_triangular"][2](v, thr),
        ),
        (
            "d_spike_fx (explicit_triangular, window=2)",
            ng["explicit_triangular"][2](v, thr, 2.0),
            ours["explicit_triangular"][2](v, thr, window=2.0),
        ),
        ("d_spike_fx (boxcar)", ng["boxcar"][2](v, thr), ours["boxcar"][2](v, thr)),
        (
            "d_spike_fx (boxcar, window=2)",
            ng["boxcar"][2](v, thr, 2.0),
            ours["boxcar"][2](v, thr, window=2.0),
        ),
        # v on a grid through the closed window's edges: ngc-learn's |x| <= window
        (
            "d_spike_fx (boxcar, window edges)",
            ng["boxcar"][2](jnp.arange(-8.0, 8.5, 0.5), 0.0, 2.0),
            ours["boxcar"][2](jnp.arange(-8.0, 8.5, 0.5), 0.0, window=2.0),
        ),
        (
            "d_spike_fx (secant, ngclearn_sech)",
            ng["secant"][2](10 * v),
            S.secant_lif_estimator(ngclearn_sech=True)[1](10 * v),
        ),
        (
            "d_spike_fx (secant, ngclearn_sech, c2=0.3, scaled)",
            ng["secant"][2](10 * v, 0.0, 0.82, 0.3, False),
            S.secant_lif_estimator(ngclearn_sech=True)[1](10 * v, 0.0, 0.82, 0.3, False),
        ),
        # ngc-learn 3.2 evaluates the arctan derivative at v - thr, as ngcx does
        (
            "d_spike_fx (arctan, class ngclearn_scaling)",
            ng["arctan"][2](v, thr),
            S.ArcTan(ngclearn_scaling=True).d_spike_fx(v, thr),
        ),
    ]
    differs += [
        # ngcx's relaxations have the carried derivative; ngc-learn returns the step
        ("surr_fx (ste: identity vs step)", ng["ste"][1](v, thr), ours["ste"][1](v, thr)),
        ("surr_fx (triangular)", ng["triangular"][1](v, thr), ours["triangular"][1](v, thr)),
        ("surr_fx (boxcar)", ng["boxcar"][1](v, thr), ours["boxcar"][1](v, thr)),
        ("surr_fx (arctan, consistent scaling)", ng["arctan"][1](v), ours["arctan"][1](v)),
        (
            "d_spike_fx (secant: sech vs sech^2)",
            ng["secant"][2](10 * v),
            ours["secant"][2](10 * v),
        ),
        # ngcx's unit-area options differ from ngc-learn's height-1 windows on purpose
        (
            "d_spike_fx (triangular, unit_area)",
            ng["triangular"][2](v, thr),
            S.triangular_estimator(unit_area=True)[1](v, thr),
        ),
        (
            "d_spike_fx (boxcar, unit_area)",
            ng["boxcar"][2](v, thr),
            S.boxcar_estimator(unit_area=True)[1](v, thr),
        ),
        (
            "d_spike_fx (arctan, true derivative)",
            ng["arctan"][2](v, thr),
            S.ArcTan().d_spike_fx(v, thr),
        ),
    ]
    return same, differs


def _cells(key):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    mu_, target = jax.random.normal(k1, (5, 4)), jax.random.normal(k2, (5, 4))
    same = []
    differs = []
    with Context("parity"):
        ng_e = NGErrorCell("e", n_units=4, batch_size=5)
        ng_rates = {
            (prior, act, integ): NGRateCell(
                f"z_{prior}_{act}_{integ}",
                n_units=4,
                tau_m=10.0,
                act_fx=act,
                prior=(prior, 0.3),
                integration_type=integ,
                batch_size=5,
            )
            for prior in ("gaussian", "laplacian", "cauchy")
            for act in ("tanh", "relu", "identity")
            for integ in ("euler", "midpoint", "rk4")
        }
    ng_e.mu.set(mu_)
    ng_e.target.set(target)
    ng_e.advance_state(dt=1.0)
    out = GaussianErrorCell(4)(mu_, target)
    same += [
        ("GaussianErrorCell L", ng_e.L.get(), out.L),
        ("GaussianErrorCell dmu", ng_e.dmu.get(), out.dmu),
        ("GaussianErrorCell dtarget", ng_e.dtarget.get(), out.dtarget),
    ]
    j, j_td = jax.random.normal(k3, (5, 4)), jax.random.normal(k4, (5, 4))
    for (prior, act, integ), ng in ng_rates.items():
        ours = RateCell(4, tau_m=10.0, act_fx=act, prior=(prior, 0.3), integration_type=integ)
        state = ours.init_state((5,))
        for _ in range(5):
            ng.j.set(j)
            ng.j_td.set(j_td)
            ng.advance_state(dt=1.0)
            state = ours(state, j, j_td, dt=1.0)
        rows = differs if integ == "rk4" else same  # ngc-learn's "rk4" runs Euler
        rows.append((f"RateCell z ({prior}, {act}, {integ})", ng.z.get(), state.z))
    return same, differs


def _hebbian(key, trial):
    """One ``evolve`` of ngc-learn's HebbianSynapse against ngcx's rule + optax step."""
    k1, k2 = jax.random.split(key)
    pre, post = jax.random.normal(k1, (4, 3)), jax.random.normal(k2, (4, 2))
    rows = []
    configs = [
        {"sign_value": -1.0, "optim_type": "sgd"},
        {"sign_value": 1.0, "optim_type": "sgd"},
        {"sign_value": -1.0, "optim_type": "adam"},
        {"sign_value": -1.0, "optim_type": "sgd", "w_bound": 0.0},
    ]
    for i, cfg in enumerate(configs):
        with Context(f"hebb_{trial}_{i}"):
            ng = NGHebbianSynapse("W", (3, 2), eta=0.05, batch_size=4, **cfg)
        W0 = ng.weights.get()
        ng.pre.set(pre)
        ng.post.set(post)
        ng.evolve(dt=1.0)
        ours = HebbianSynapse((3, 2), key=key, eta=0.05, **cfg)
        ours = eqx.tree_at(lambda s: s.weights, ours, W0)
        opt = learning.synapse_optimizer(ours)
        state = learning.init_optimizer(opt, ours)
        ours, _ = learning.apply_updates(ours, ours.hebbian_updates(pre, post), state, opt)
        rows.append((f"HebbianSynapse.evolve {cfg}", ng.weights.get(), ours.weights))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    worst_same: dict[str, float] = {}
    worst_diff: dict[str, float] = {}
    for trial in range(args.trials):
        same, differs = _rows(jax.random.key(trial))
        if trial < 3:
            cell_same, cell_differs = _cells(jax.random.key(1000 + trial))
            same += cell_same + _hebbian(jax.random.key(2000 + trial), trial)
            differs += cell_differs
        for name, a, b in same:
            err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
            worst_same[name] = max(worst_same.get(name, 0.0), err)
        for name, a, b in differs:
            err = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
            worst_diff[name] = max(worst_diff.get(name, 0.0), err)
    bad = 0
    print(f"{'function':<48}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, err in worst_same.items():
        ok = err <= TOL * 10
        bad += not ok
        print(f"{name:<48}{err:>22.2e}  {'match' if ok else 'MISMATCH'}")
    for name, err in worst_diff.items():
        ok = err > 1e-3
        bad += not ok
        print(f"{name:<48}{err:>22.2e}  {'differs (deliberate)' if ok else 'UNEXPECTED MATCH'}")
    print(f"{len(worst_same)} functions match, {len(worst_diff)} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
