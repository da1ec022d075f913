"""Parity check of the patched and MPS synapses: ngcx against ngc-learn 3.2.x.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_patched_mps.py

Each row builds an ngc-learn component, copies its weights (patched: the dense matrix,
read into the blocks with ``with_dense``; MPS: the cores) into the ngcx counterpart, drives
both with the same random inputs and prints the largest absolute difference. Rows marked
``differs`` are deliberate (see the docstrings of ``ngcx.synapses.PatchedSynapse``,
``ngcx.plasticity.HebbianPatchedSynapse`` and ``ngcx.synapses.MPSSynapse``); the exit
status is non-zero if a row breaks its expectation. ``--bench`` also times the stacked
blocks against the dense masked matmul at 784 -> 400.
"""

from __future__ import annotations

import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components import (
    HebbianPatchedSynapse as NGHebbPatched,
    PatchedSynapse as NGPatched,
    StaticPatchedSynapse as NGStaticPatched,
)
from ngclearn.components.synapses.mpsSynapse import MPSSynapse as NGMPS
from ngclearn.utils.distribution_generator import DistributionGenerator as NGDist

from ngcx import plasticity as P, synapses as S
from ngcx.initializers import DistributionGenerator


def _ctx(tag: str) -> Context:
    return Context(f"{tag}{np.random.randint(1 << 30)}")


def _maxdiff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _patched_rows(key, trial):
    rows, differs = [], []
    k = jax.random.split(key, 4)
    for cls, name in ((NGPatched, "PatchedSynapse"), (NGStaticPatched, "StaticPatchedSynapse")):
        for stride, n_sub in (((0, 0), 4), ((1, 2), 3)):
            with _ctx("p"):
                ng = cls("W", (16, 12), n_sub, stride, bias_init=NGDist.gaussian(0.0, 0.1),
                         resist_scale=1.7)  # fmt: skip
            W = np.asarray(ng.weights.get())
            ours = S.PatchedSynapse((16, 12), n_sub, stride, key=k[0], use_bias=True,
                                    resist_scale=1.7)  # fmt: skip
            assert ours.shape == W.shape, (ours.shape, W.shape)
            ours = ours.with_dense(W)
            ours = eqx.tree_at(lambda s: s.biases, ours, jnp.asarray(ng.biases.get())[0])
            # the connections: ngc-learn's non-zero pattern is ngcx's mask
            ones = eqx.tree_at(lambda s: s.weights, ours, jnp.ones(ours.weights.shape))
            pattern = _maxdiff(W != 0, np.asarray(ones.to_dense()) != 0)
            rows.append((f"{name} connections (stride={stride})", pattern))
            x = np.asarray(jax.random.normal(k[1], (3, W.shape[0])), np.float32)
            e = np.asarray(jax.random.normal(k[2], (3, W.shape[1])), np.float32)
            ng.inputs.set(x), ng.post_in.set(e)
            ng.advance_state()
            rows.append((f"{name} outputs (stride={stride})", _maxdiff(ng.outputs.get(), ours(x))))
            # ngc-learn's pre_out leaves resist_scale out; ngcx's transpose includes it
            back = _maxdiff(ng.pre_out.get(), ours.backtransmit(e) / 1.7)
            rows.append((f"{name} pre_out / resist_scale (stride={stride})", back))
            differs.append((f"{name} pre_out vs backtransmit (R=1.7, stride={stride})",
                            _maxdiff(ng.pre_out.get(), ours.backtransmit(e))))  # fmt: skip
    return rows, differs


def _hebbian_patched_rows(key, trial):
    rows, differs = [], []
    k = jax.random.split(key, 6)
    configs = [
        ("sgd", (0, 0), dict()),
        ("adam", (0, 0), dict(prior=("l2", 0.01), sign_value=-1.0, pre_wght=0.7)),
        (
            "adam",
            (1, 1),
            dict(prior=("l1l2", (0.01, 0.3)), w_bound=0.5, sign_value=-1.0, bias_init=True),
        ),
        ("sgd", (2, 0), dict(prior=("l1", 0.02), sign_value=-1.0, post_wght=1.3)),
        # ngc-learn multiplies the prior by sign_value (with +1 it pushes weights away
        # from zero); ngcx's prior always shrinks (as for HebbianSynapse)
        ("sgd", (1, 1), dict(prior=("l2", 0.05), differs="prior with sign_value=+1")),
        # ngc-learn's nag leaves the first update out of the momentum; ngcx's "nag" is
        # optax's Nesterov momentum (as for HebbianSynapse)
        ("nag", (0, 0), dict(sign_value=-1.0, differs="nag")),
    ]
    for optim_type, stride, cfg in configs:
        cfg = dict(cfg)
        with_bias = cfg.pop("bias_init", False)
        why = cfg.pop("differs", None)
        ng_bias = NGDist.constant(0.0) if with_bias else None
        with _ctx("h"):
            ng = NGHebbPatched("W", (12, 9), 3, stride, eta=0.05, optim_type=optim_type,
                               bias_init=ng_bias, **cfg)  # fmt: skip
        W0 = np.asarray(ng.weights.get())
        ours = P.HebbianPatchedSynapse(
            (12, 9), 3, stride, key=k[0], eta=0.05, optim_type=optim_type,
            bias_init=DistributionGenerator.constant(0.0) if with_bias else None, **cfg,
        )  # fmt: skip
        ours = eqx.tree_at(lambda p: p.synapse, ours, ours.synapse.with_dense(W0))
        opt = ours.optimizer()
        state = P.init(opt, ours)
        for t in range(3):
            pre = np.asarray(jax.random.normal(jax.random.fold_in(k[1], t), (4, W0.shape[0])))
            post = np.asarray(jax.random.normal(jax.random.fold_in(k[2], t), (4, W0.shape[1])))
            pre, post = pre.astype(np.float32), post.astype(np.float32)
            ng.pre.set(pre), ng.post.set(post)
            ng.evolve()
            ours, state = P.apply_updates(ours, ours.updates(pre, post), state, opt)
        label = f"HebbianPatchedSynapse.evolve x3 ({optim_type}, stride={stride})"
        err = _maxdiff(ng.weights.get(), ours.synapse.to_dense())
        if why is not None:
            differs.append((f"HebbianPatchedSynapse.evolve: {why}", err))
            continue
        rows.append((label, err))
        if with_bias:
            rows.append((label + " biases", _maxdiff(ng.biases.get()[0], ours.biases)))
    # a weight clipped to 0 (is_nonnegative): ngc-learn freezes it (it updates W != 0
    # only), ngcx lets it grow back
    with _ctx("hn"):
        ng = NGHebbPatched("W", (12, 9), 3, eta=0.5, is_nonnegative=True, w_bound=1.0,
                           sign_value=-1.0)  # fmt: skip
    W0 = np.asarray(ng.weights.get())
    ours = P.HebbianPatchedSynapse((12, 9), 3, key=k[0], eta=0.5, is_nonnegative=True,
                                   w_bound=1.0, sign_value=-1.0)  # fmt: skip
    ours = eqx.tree_at(lambda p: p.synapse, ours, ours.synapse.with_dense(W0))
    opt = ours.optimizer()
    state = P.init(opt, ours)
    for t in range(4):
        sgn = 1.0 if t % 2 == 0 else -1.0
        pre = np.ones((1, 12), np.float32)
        post = sgn * np.ones((1, 9), np.float32)
        ng.pre.set(pre), ng.post.set(post)
        ng.evolve()
        ours, state = P.apply_updates(ours, ours.updates(pre, post), state, opt)
    differs.append(("HebbianPatchedSynapse: weights clipped to 0 (is_nonnegative)",
                    _maxdiff(ng.weights.get(), ours.synapse.to_dense())))  # fmt: skip
    return rows, differs


def _mps_rows(key, trial):
    rows = []
    k = jax.random.split(key, 4)
    with _ctx("m"):
        ng = NGMPS("W", (10, 6), bond_dim=3)
    c1, c2 = np.asarray(ng.core1.get()), np.asarray(ng.core2.get())
    ours = S.MPSSynapse.from_cores(c1, c2)
    x = np.asarray(jax.random.normal(k[0], (4, 10)), np.float32)
    e = np.asarray(jax.random.normal(k[1], (4, 6)), np.float32)
    ng.inputs.set(x)
    ng.advance_state()
    rows.append(("MPSSynapse outputs", _maxdiff(ng.outputs.get(), ours(x))))
    rows.append(("MPSSynapse weights", _maxdiff(ng.weights.get(), ours.weights)))
    # ngc-learn's project_backward labels the error's axis as the core's trailing size-1
    # axis ('bo,kno->bk'), so it computes (sum_o e_o)(sum_n G2[k, n]); ngcx's is the
    # transpose of the forward map, e G2^T G1^T
    rows.append(
        (
            "MPSSynapse.project_backward == e W^T (ngc-learn's weights)",
            _maxdiff(ours.project_backward(e), e @ np.asarray(ng.weights.get()).T),
        )
    )
    mps_differs = [
        (
            "MPSSynapse.project_backward (ngc-learn's einsum labels)",
            _maxdiff(ng.project_backward(e), ours.project_backward(e)),
        )
    ]
    rule = P.MPSHebbian()
    for t in range(3):
        pre = np.asarray(jax.random.normal(jax.random.fold_in(k[2], t), (4, 10)), np.float32)
        err = np.asarray(jax.random.normal(jax.random.fold_in(k[3], t), (4, 6)), np.float32)
        ng.pre.set(pre), ng.post.set(err)
        ng.evolve(eta=0.05)
        upd = rule(ours, pre, err)
        ours = eqx.apply_updates(ours, jax.tree_util.tree_map(lambda u: 0.05 * u, upd))
    rows.append(
        (
            "MPSSynapse.evolve x3 / MPSHebbian",
            max(_maxdiff(ng.core1.get(), ours.core1), _maxdiff(ng.core2.get(), ours.core2)),
        )
    )
    # ngcx's random init has ngc-learn's law: N(0, 0.05^2)
    rnd = S.MPSSynapse((200, 100), 8, key=k[0])
    std = float(jnp.std(jnp.concatenate([rnd.core1.ravel(), rnd.core2.ravel()])))
    rows.append(("MPSSynapse random init std - 0.05 (x 1e-2)", abs(std - 0.05) * 1e-2))
    return rows, mps_differs


def _bench() -> None:
    def timeit(f, *a, n=100):
        jax.block_until_ready(f(*a))
        best = 1e9
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                r = f(*a)
            jax.block_until_ready(r)
            best = min(best, (time.perf_counter() - t0) / n)
        return best * 1e6

    head = ("fwd blocks", "fwd dense", "C blocks", "C dense")
    print(f"\n{'784 -> 400':<14}" + "".join(f"{h:>12}" for h in head) + "  (us)")
    for B in (1, 32, 256):
        for n in (4, 8, 16):
            syn = S.PatchedSynapse((784, 400), n, key=jax.random.key(0))
            D = syn.to_dense()
            M = (D != 0).astype(D.dtype)
            x = jax.random.normal(jax.random.key(1), (B, 784))
            e = jax.random.normal(jax.random.key(2), (B, 400))
            fb = jax.jit(lambda s, x: s(x))
            fd = jax.jit(lambda W, M, x: x @ (W * M))
            cb = jax.jit(lambda s, x, e: s.contract(x, e))
            cd = jax.jit(lambda M, x, e: (x.T @ e) * M)
            print(f"B={B:<4d} n={n:<5d}{timeit(fb, syn, x):>12.1f}{timeit(fd, D, M, x):>12.1f}"
                  f"{timeit(cb, syn, x, e):>12.1f}{timeit(cd, M, x, e):>12.1f}")  # fmt: skip


def main() -> int:
    worst_same: dict[str, float] = {}
    worst_diff: dict[str, float] = {}
    for trial in range(2):
        key = jax.random.key(trial)
        np.random.seed(trial)
        same, differs = _patched_rows(key, trial)
        s2, d2 = _hebbian_patched_rows(jax.random.fold_in(key, 1), trial)
        s3, d3 = _mps_rows(jax.random.fold_in(key, 2), trial)
        same += s2 + s3
        differs += d2 + d3
        for name, err in same:
            worst_same[name] = max(worst_same.get(name, 0.0), err)
        for name, err in differs:
            worst_diff[name] = max(worst_diff.get(name, 0.0), err)
    bad = 0
    print(f"{'component':<66}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, err in worst_same.items():
        ok = err <= 1e-4
        bad += not ok
        print(f"{name:<66}{err:>22.2e}  {'match' if ok else 'MISMATCH'}")
    for name, err in worst_diff.items():
        ok = err > 1e-3
        bad += not ok
        print(f"{name:<66}{err:>22.2e}  {'differs (deliberate)' if ok else 'UNEXPECTED MATCH'}")
    print(f"{len(worst_same)} rows match, {len(worst_diff)} differ on purpose, {bad} broken")
    if "--bench" in sys.argv:
        _bench()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
