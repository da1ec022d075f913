"""Parity check of the extra synapses: ngcx against ngc-learn 3.2.x on the same inputs.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_synapses_extra.py

Each row builds one ngc-learn component, copies its random structure (weights, masks,
delays, resources) into the ngcx counterpart, drives both with the same inputs and prints
the largest absolute difference over all steps. Rows marked ``differs`` are deliberate
(see the docstrings of ``ngcx.synapses``): ngc-learn integrates the conductance and STP
dynamics with Euler steps (ngcx exactly), leaves its double-exponential kernel
unnormalised, and its stochastic release raises ``NameError``. The exit status is
non-zero if a row breaks its expectation.

``--bench`` instead times (ngcx only, no ngc-learn needed) the ways to compute a sparse
784 -> 256 map at batch 64: a random 10% dense matrix as a dense matmul, a
``jax.experimental.sparse`` BCOO matmul and an index-based ``segment_sum``; and a locally
connected :class:`ngcx.synapses.SparseTensorSynapse` of the same size (49 streams of 16,
windows of 4 with stride 3: 8% dense) with its gather-einsum and block-matrix formats,
against a precomputed dense block matrix and its BCOO.
"""

from __future__ import annotations

import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


try:
    from ngclearn import Context
    from ngclearn.components import (
        AlphaSynapse as NGAlpha,
        DenseSynapse as NGDense,
        DoubleExpSynapse as NGDoubleExp,
        ExponentialSynapse as NGExp,
        SparseTensorSynapse as NGSparse,
        StaticSynapse as NGStatic,
        STPDenseSynapse as NGSTP,
    )
except ImportError:  # `--bench` runs without ngc-learn
    if "--bench" not in sys.argv:
        raise

from ngcx import synapses as S


def _name(prefix: str) -> str:
    return f"{prefix}{np.random.randint(1 << 30)}"


def _set(module, where, value):
    return eqx.tree_at(where, module, jnp.asarray(value), is_leaf=lambda x: x is None)


def _dense_rows(key):
    rows, differs = [], []
    k = jax.random.split(key, 4)
    n_in, n_out, T, B = 6, 4, 12, 2
    xs = np.asarray(jax.random.uniform(k[0], (T, B, n_in)) < 0.5, np.float32)
    # the plain map (StaticSynapse), with a user mask, and with p_conn
    user = np.asarray(jax.random.uniform(k[1], (n_in, n_out)) < 0.6, np.float32)
    for label, ng_cls, kwargs in [
        ("StaticSynapse", NGStatic, {}),
        ("DenseSynapse(mask)", NGDense, {"mask": jnp.asarray(user)}),
        ("DenseSynapse(p_conn=0.5)", NGDense, {"p_conn": 0.5}),
    ]:
        with Context(_name("d")):
            ng = ng_cls("W", (n_in, n_out), batch_size=B, resist_scale=1.5, **kwargs)
        W = np.asarray(ng.weights.get())
        mask = user if "mask" in kwargs else (W != 0) if "p_conn" in kwargs else None
        ours = S.DenseSynapse(
            (n_in, n_out), key=k[2], resist_scale=1.5,
            mask=None if mask is None else mask.astype(bool),
        )  # fmt: skip
        ours = _set(ours, lambda s: s.weights, W)
        err = 0.0
        for t in range(T):
            ng.inputs.set(jnp.asarray(xs[t]))
            ng.advance_state()
            err = max(err, float(np.max(np.abs(np.asarray(ng.outputs.get()) - ours(xs[t])))))
        rows.append((label, err))
    # axonal delays: ngc-learn's slot index i reads x(t - (D - i))
    D = 4
    with Context(_name("delay")):
        ng = NGDense("W", (n_in, n_out), batch_size=B, max_delay_steps=D)
    ours = S.DenseSynapse((n_in, n_out), key=k[3], max_delay_steps=D)
    ours = _set(ours, lambda s: s.weights, ng.weights.get())
    ours = _set(ours, lambda s: s.delays, D - np.asarray(ng.syn_delay_indices, np.int32))
    state, err = ours.init_state((B,)), 0.0
    for t in range(T):
        ng.inputs.set(jnp.asarray(xs[t]))
        ng.advance_state()
        y, state = ours.step(state, jnp.asarray(xs[t]))
        err = max(err, float(np.max(np.abs(np.asarray(ng.outputs.get()) - y))))
        err = max(
            err, float(np.max(np.abs(np.asarray(ng.delayed_inputs.get()) - state.delayed_inputs)))
        )
    rows.append((f"DenseSynapse(max_delay_steps={D})", err))
    # stochastic release: ngc-learn 3.2 raises NameError (`nn` is not imported)
    with Context(_name("rel")):
        ng = NGDense("W", (n_in, n_out), batch_size=B, p_release_mean=0.5)
    ng.inputs.set(jnp.asarray(xs[0]))
    try:
        ng.advance_state()
        differs.append(("DenseSynapse(p_release_mean=0.5): ngc-learn ran", 0.0))
    except NameError:
        differs.append(("DenseSynapse(p_release_mean=0.5): ngc-learn raises", np.inf))
    return rows, differs


def _conductance_rows(key):
    differs = []
    k = jax.random.split(key, 2)
    n_in, n_out, T, dt = 5, 3, 40, 0.5
    pulses = np.asarray(jax.random.uniform(k[0], (T, 1, n_in)) < 0.2, np.float32)
    v = np.asarray(-65.0 + 5.0 * jax.random.normal(k[1], (T, 1, n_out)), np.float32)
    specs = [
        ("ExponentialSynapse", NGExp, S.ExponentialSynapse, (8.0,)),
        ("DoubleExpSynapse", NGDoubleExp, S.DoubleExpSynapse, (8.0, 2.0)),
        ("AlphaSynapse", NGAlpha, S.AlphaSynapse, (8.0,)),
    ]
    for label, ng_cls, ours_cls, taus in specs:
        with Context(_name("g")):
            ng = ng_cls("W", (n_in, n_out), *taus, 0.5, 0.0)
            # ngc-learn 3.2's DoubleExp/Alpha read `self.resist_scale`, never set (its
            # `g_conduct_factor`): without it they do not compile
            ng.resist_scale = ng.g_conduct_factor
        ours = ours_cls((n_in, n_out), *taus, 0.5, 0.0, key=key)
        state, err = ours.init_state((1,)), 0.0
        for t in range(T):
            ng.inputs.set(jnp.asarray(pulses[t]))
            ng.v.set(jnp.asarray(v[t]))
            ng.advance_state(t=t * dt, dt=dt)
            i, state = ours.step(state, jnp.asarray(pulses[t]), jnp.asarray(v[t]), dt=dt)
            err = max(err, float(np.max(np.abs(np.asarray(ng.outputs.get()) - i))))
        differs.append((f"{label} (Euler vs exact; kernels)", err))
    return differs


def _stp_rows(key):
    # ngc-learn's STP only broadcasts for n_in == n_out; shape (1, 1) is unambiguous
    T = 60
    spikes = np.zeros((T, 1, 1), np.float32)
    spikes[::5] = 1.0
    with Context(_name("stp")):
        ng = NGSTP("W", (1, 1), tau_f=200.0, tau_d=50.0)
    ours = S.STPDenseSynapse((1, 1), key=key, tau_f=200.0, tau_d=50.0)
    ours = _set(ours, lambda s: s.weights, ng.weights.get())
    ours = _set(ours, lambda s: s.resources, ng.resources.get())
    state, first, err = ours.init_state((1,)), None, 0.0
    for t in range(T):
        ng.inputs.set(jnp.asarray(spikes[t]))
        ng.advance_state(t=float(t), dt=1.0)
        y, state = ours.step(state, jnp.asarray(spikes[t]), dt=1.0)
        d = float(np.max(np.abs(np.asarray(ng.outputs.get()) - y)))
        first = d if first is None else first
        err = max(err, d)
    return [("STPDenseSynapse (first spike)", first)], [("STPDenseSynapse (Euler vs exact)", err)]


def _sparse_rows(key):
    rows = []
    specs = [
        ("SparseTensorSynapse", {}),
        ("SparseTensorSynapse(stride, dilation)", {"stride": 2, "dilation": 2}),
        ("SparseTensorSynapse(convergent_factor)", {"convergent_factor": 0.5}),
        ("SparseTensorSynapse(invert_conn)", {"invert_conn": True}),
    ]
    for label, kwargs in specs:
        with Context(_name("s")):
            ng = NGSparse("W", 10, 3, 2, P_l=3, batch_size=2, g_conduct_factor=0.7, **kwargs)
        ours = S.SparseTensorSynapse(10, 3, 2, P_l=3, key=key, resist_scale=0.7, **kwargs)
        assert tuple(ng.weights.get().shape) == ours.shape, (ng.weights.get().shape, ours.shape)
        ours = _set(ours, lambda s: s.weights, ng.weights.get())
        x = np.asarray(jax.random.normal(key, (2, ours.io_shape[0])), np.float32)
        ng.inputs.set(jnp.asarray(x))
        ng.advance_state()
        rows.append((label, float(np.max(np.abs(np.asarray(ng.outputs.get()) - ours(x))))))
        # the block-matrix format: ngc-learn stores the block matrix, ngcx the 4-d blocks
        # (read back from ngc-learn's matrix) and computes the matrix at each call
        if not kwargs:
            with Context(_name("sb")):
                ngb = NGSparse("W", 10, 3, 2, P_l=3, batch_size=2, use_block_matrix_format=True)
            M = np.asarray(ngb.weights.get())
            P, Sn, K, O = ours.shape  # noqa: E741
            conn = np.asarray(ours.connectivity_map)
            blocks = np.stack([
                np.stack([M[conn[s, p] * K:(conn[s, p] + 1) * K, s * O:(s + 1) * O]
                          for s in range(Sn)])
                for p in range(P)
            ])  # fmt: skip
            oursb = S.SparseTensorSynapse(10, 3, 2, P_l=3, key=key, use_block_matrix_format=True)
            oursb = _set(oursb, lambda s: s.weights, blocks)
            ngb.inputs.set(jnp.asarray(x))
            ngb.advance_state()
            err = float(np.max(np.abs(M - np.asarray(oursb.block_matrix()))))
            err = max(err, float(np.max(np.abs(np.asarray(ngb.outputs.get()) - oursb(x)))))
            rows.append(("SparseTensorSynapse(use_block_matrix_format)", err))
    return rows


def bench() -> int:
    import time

    from jax.experimental import sparse

    def timed(f, *args, n=200):
        jax.block_until_ready(f(*args))
        best = np.inf
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                out = f(*args)
            jax.block_until_ready(out)
            best = min(best, (time.perf_counter() - t0) / n * 1e6)
        return best

    key = jax.random.key(0)
    x = jax.random.normal(key, (64, 784))
    W = jax.random.normal(key, (784, 256))
    W = W * (jax.random.uniform(jax.random.key(1), (784, 256)) < 0.1).astype(W.dtype)
    rows, cols = (jnp.asarray(a) for a in np.nonzero(np.asarray(W)))
    vals = W[rows, cols]
    Wb = sparse.BCOO.fromdense(W)
    dense = jax.jit(lambda w, x: x @ w)
    bcoo = jax.jit(lambda w, x: (w.T @ x.T).T)
    seg = jax.jit(lambda v, x: jax.ops.segment_sum((x[:, rows] * v).T, cols, 256).T)
    print(f"random 10% 784x256, batch 64 ({jax.default_backend()}), us per call:")
    print(f"  dense {timed(dense, W, x):.1f}  BCOO {timed(bcoo, Wb, x):.1f}  "
          f"segment_sum {timed(seg, vals, x):.1f}")  # fmt: skip
    lc = S.SparseTensorSynapse(49, 16, 16, P_l=4, stride=3, key=key)
    lcb = S.SparseTensorSynapse(49, 16, 16, P_l=4, stride=3, key=key, use_block_matrix_format=True)
    M = lc.block_matrix()
    call = eqx.filter_jit(lambda s, x: s(x))
    back = eqx.filter_jit(lambda s, p: s.backtransmit(p))
    con = eqx.filter_jit(lambda s, x, p: s.contract(x, p))
    p = jax.random.normal(key, (64, 256))
    print("locally connected 784x256 (8% dense), batch 64, us per call:")
    print(f"  map: gather-einsum {timed(call, lc, x):.1f}  block-matrix {timed(call, lcb, x):.1f}"
          f"  precomputed dense {timed(dense, M, x):.1f}"
          f"  BCOO {timed(bcoo, sparse.BCOO.fromdense(M), x):.1f}")  # fmt: skip
    print(
        f"  backtransmit: scatter {timed(back, lc, p):.1f}  block-matrix {timed(back, lcb, p):.1f}"
    )
    print(f"  contract: {timed(con, lc, x, p):.1f}")
    return 0


def main() -> int:
    if "--bench" in sys.argv:
        return bench()
    worst_same: dict[str, float] = {}
    worst_diff: dict[str, float] = {}
    for trial in range(2):
        key = jax.random.key(trial)
        same, differs = _dense_rows(key)
        differs += _conductance_rows(key)
        s2, d2 = _stp_rows(key)
        same += s2 + _sparse_rows(key)
        differs += d2
        for name, err in same:
            worst_same[name] = max(worst_same.get(name, 0.0), err)
        for name, err in differs:
            worst_diff[name] = max(worst_diff.get(name, 0.0), err)
    bad = 0
    print(f"{'component':<58}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, err in worst_same.items():
        ok = err <= 1e-4
        bad += not ok
        print(f"{name:<58}{err:>22.2e}  {'match' if ok else 'MISMATCH'}")
    for name, err in worst_diff.items():
        ok = err > 1e-3
        bad += not ok
        print(f"{name:<58}{err:>22.2e}  {'differs (deliberate)' if ok else 'UNEXPECTED MATCH'}")
    print(f"{len(worst_same)} rows match, {len(worst_diff)} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
