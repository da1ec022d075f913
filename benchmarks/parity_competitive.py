"""Parity check of the competitive synapses: ngcx against ngc-learn 3.2.x on the same inputs.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_competitive.py

Each row starts an ngc-learn component and its ngcx counterpart from the same codebook,
drives both with the same random batches for several steps (ngc-learn's
``advance_state`` + ``evolve``; ngcx's map call + rule + optax step) and prints the largest
absolute difference of the outputs and of the weights over all steps. Rows marked
``differs`` are deliberate (see the docstrings of ``ngcx.plasticity.VectorQuantize``,
``Hopfield`` and ``ngcx.synapses.HopfieldMap.energy``); the exit status is non-zero if a
row breaks its expectation.
"""

from __future__ import annotations

import math
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components.synapses.competitive import (
    ART2ASynapse as NGART,
    HopfieldSynapse as NGHopfield,
    SOMSynapse as NGSOM,
    VectorQuantizeSynapse as NGVQ,
)

from ngcx import plasticity as P


def _uid() -> str:
    return str(np.random.randint(1 << 30))


def _with_weights(bundle, W):
    return eqx.tree_at(lambda b: b.synapse.weights, bundle, jnp.asarray(W))


def _diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def _drive(ng, ours, xs, out_fn, update_fn, extra=None):
    """Run both for every batch in `xs`; returns (max output diff, max weight diff)."""
    opt = ours.optimizer()
    state = P.init(opt, ours)
    d_out = d_w = 0.0
    for t, x in enumerate(xs):
        if extra is not None:
            extra(ng, t)
        ng.inputs.set(x)
        ng.advance_state()
        y = out_fn(ours, x, t)
        d_out = max(d_out, _diff(ng.outputs.get(), y))
        ng.evolve(t=float(t), dt=1.0)
        ours, state = P.apply_updates(ours, update_fn(ours, x, t), state, opt)
        d_w = max(d_w, _diff(ng.weights.get(), ours.weights))
    return d_out, d_w, ours


def _som(key, distance, neighbor):
    n_in, side, B, tau = 3, 4, 5, 20.0
    xs = np.asarray(jax.random.uniform(key, (12, B, n_in)))
    with Context(f"som{_uid()}"):
        ng = NGSOM("som", n_in, side, side, eta=0.5, distance_function=distance,
                   neighbor_function=neighbor, batch_size=B)  # fmt: skip
    # a visible schedule: ngc-learn fixes tau_eta = 50000; both take 20 here
    ng.tau_eta = tau
    ng.tau_radius = tau / math.log(side / 2)
    ours = P.SOMSynapse(n_in, side, side, 0.5, distance, neighbor, key=key, tau_eta=tau)
    ours = _with_weights(ours, ng.weights.get())
    rule = ours.rule
    return _drive(
        ng, ours, xs,
        lambda b, x, t: b(x, rule.radius(b.synapse, t)),
        lambda b, x, t: b.updates(x, t),
    )[:2]  # fmt: skip


def _hopfield(key, update_rule):
    n_in, n_mem, B = 6, 4, 3
    k1, k2 = jax.random.split(key)
    W0 = np.asarray(jax.random.normal(k1, (n_in, n_mem))) * 0.5
    xs = np.asarray(jax.random.normal(k2, (8, B, n_in)))
    with Context(f"hop{_uid()}"):
        ng = NGHopfield("hop", (n_in, n_mem), eta=0.1, reg_lambda=0.01, beta=2.0,
                        update_rule=update_rule, batch_size=B)  # fmt: skip
    ng.weights.set(jnp.asarray(W0))
    ours = P.HopfieldSynapse((n_in, n_mem), 0.1, 0.01, 2.0, update_rule=update_rule, key=key)
    ours = _with_weights(ours, W0)
    d_out, d_w, _ = _drive(ng, ours, xs, lambda b, x, t: b(x), lambda b, x, t: b.updates(x))
    return d_out, d_w


def _hopfield_energy(key):
    n_in, n_mem, B = 6, 4, 3
    k1, k2 = jax.random.split(key)
    W0 = np.asarray(jax.random.normal(k1, (n_in, n_mem)))
    x = np.asarray(jax.random.normal(k2, (B, n_in)))
    with Context(f"hopE{_uid()}"):
        ng = NGHopfield("hop", (n_in, n_mem), eta=0.1, beta=2.0, batch_size=B)
    ng.weights.set(jnp.asarray(W0))
    ng.inputs.set(x)
    ng.advance_state()
    ours = _with_weights(P.HopfieldSynapse((n_in, n_mem), 0.1, beta=2.0, key=key), W0)
    return _diff(ng.energy.get()[0, 0], jnp.mean(ours.synapse.energy(jnp.asarray(x))))


def _vq(key, update_rule, syn_decay=0.0, w_bound=0.0, labels=False, distance=("minkowski", 2)):
    n_in, n, B, L = 4, 6, 5, 3
    k1, k2, k3, k4 = jax.random.split(key, 4)
    xs = np.asarray(jax.random.uniform(k1, (10, B, n_in)))
    ys = np.asarray(jax.nn.one_hot(jax.random.randint(k2, (10, B), 0, L), L))
    with Context(f"vq{_uid()}"):
        ng = NGVQ("vq", (n_in, n), eta=0.3, eta_decrement=0.02, syn_decay=syn_decay,
                  w_bound=w_bound, distance_function=distance, label_dim=L if labels else 0,
                  batch_size=B)  # fmt: skip
    ours = P.VectorQuantizeSynapse(
        (n_in, n), 0.3, 0.02, syn_decay, w_bound, distance, L if labels else 0,
        key=key, update_rule=update_rule,
    )  # fmt: skip
    ours = _with_weights(ours, ng.weights.get())
    if labels:
        # a label memory for half of the prototypes (ngc-learn never learns it)
        Lw = np.array(jax.nn.one_hot(jax.random.randint(k3, (n,), 0, L), L)).T.copy()
        Lw[:, n // 2 :] = 0.0
        ng.label_weights.set(jnp.asarray(Lw))
        ours = eqx.tree_at(lambda b: b.synapse.label_weights, ours, jnp.asarray(Lw))

    def extra(ng, t):
        if labels:
            ng.labels.set(ys[t])

    def upd(b, x, t):
        return b.updates(x, jnp.asarray(ys[t])) if labels else b.updates(x)

    return _drive(ng, ours, xs, lambda b, x, t: b(x), upd, extra)[:2]


def _art2a(key):
    n_in, n, B = 4, 12, 3
    k1, k2 = jax.random.split(key)
    centres = np.asarray(jax.random.normal(k1, (3, n_in)))
    idx = np.asarray(jax.random.randint(k2, (6, B), 0, 3))
    noise = np.asarray(jax.random.normal(key, (6, B, n_in))) * 0.1
    xs = centres[idx] + noise
    # the first batch holds one sample per cluster: all miss and become categories
    xs[0] = centres + noise[0]
    with Context(f"art{_uid()}"):
        ng = NGART("art", (n_in, n), eta=0.2, eta_decrement=0.01, vigilance=0.9, batch_size=B)
    ours = P.ART2ASynapse((n_in, n), 0.2, 0.01, 0.9, key=key)
    opt = ours.optimizer()
    state = P.init(opt, ours)
    d_out = d_w = 0.0
    for t, x in enumerate(xs):
        ng.inputs.set(jnp.asarray(x))
        ng.advance_state()
        misses = ours.rule.misses(ours.synapse, jnp.asarray(x))
        if t > 0:  # ngc-learn's k-WTA ties every unit of an empty memory
            d_out = max(d_out, _diff(ng.outputs.get(), ours(jnp.asarray(x))))
        ng.evolve(t=float(t), dt=1.0)
        ours, state = P.apply_updates(ours, ours.updates(jnp.asarray(x)), state, opt)
        ng.consolidate()
        ours = ours.consolidate(jnp.asarray(x), misses)
        d_w = max(d_w, _diff(ng.weights.get(), ours.weights))
    return d_out, d_w


def _art2a_holes(key):
    """A resonant sample between two misses: ngc-learn leaves its slot empty, then its
    next consolidation (n_used + b) lands on a committed slot; ngcx fills free slots."""
    e = np.eye(4, dtype=np.float32)
    batches = [
        np.stack([e[0], e[1] + e[0], e[2] + e[0]]),  # empty memory: three categories
        np.stack([e[3], e[0], e[3] - e[0]]),  # miss, resonant, miss
        np.stack([e[1] - e[2], e[2] - e[3], e[0] - e[1]]),  # three misses
    ]
    with Context(f"arth{_uid()}"):
        ng = NGART("art", (4, 8), eta=0.1, vigilance=0.95, batch_size=3)
    ours = P.ART2ASynapse((4, 8), 0.1, 0.0, 0.95, key=key)
    for x in batches:
        x = jnp.asarray(x)
        ng.inputs.set(x)
        ng.advance_state()
        ng.evolve(t=0.0, dt=1.0)
        ng.consolidate()
        ours = ours.consolidate(x)
    return _diff(ng.weights.get(), ours.weights)


def main() -> int:
    worst: dict[str, tuple[float, bool]] = {}

    def add(name, err, match):
        old = worst.get(name, (0.0, match))[0]
        worst[name] = (max(old, err), match)

    for trial in range(3):
        key = jax.random.key(trial)
        for dist in ("euclidean", "manhattan", "cosine"):
            for nb in ("gaussian", "ricker"):
                d_out, d_w = _som(key, dist, nb)
                add(f"SOMSynapse ({dist}, {nb}) outputs", d_out, True)
                add(f"SOMSynapse ({dist}, {nb}) weights", d_w, True)
        d_out, d_w = _hopfield(key, "delta")
        add("HopfieldSynapse (delta) outputs", d_out, True)
        add("HopfieldSynapse (delta, reg_lambda) weights", d_w, True)
        add("HopfieldSynapse (contrastive: beta in s_hat)", _hopfield(key, "contrastive")[1], False)
        add("HopfieldSynapse energy (Ramsauer's E)", _hopfield_energy(key), False)
        for dist in (("minkowski", 2), ("manhattan", 1), ("minkowski", 3), ("chebyshev", 0)):
            d_out, d_w = _vq(key, "hebbian", distance=dist)
            add(f"VectorQuantizeSynapse (hebbian, {dist[0]} {dist[1]}) outputs", d_out, True)
            add(f"VectorQuantizeSynapse (hebbian, {dist[0]} {dist[1]}) weights", d_w, True)
        d_out, d_w = _vq(key, "hebbian", syn_decay=0.1, w_bound=2.0)
        add("VectorQuantizeSynapse (hebbian, syn_decay, w_bound) weights", d_w, True)
        d_out, d_w = _vq(key, "hebbian", labels=True)
        add("VectorQuantizeSynapse (hebbian, LVQ labels) weights", d_w, True)
        add("VectorQuantizeSynapse (kohonen, ngcx default) weights", _vq(key, "kohonen")[1], False)
        d_out, d_w = _art2a(key)
        add("ART2ASynapse outputs", d_out, True)
        add("ART2ASynapse (evolve + consolidate) weights", d_w, True)
    add("ART2ASynapse consolidate (free slots, not n_used + b)", _art2a_holes(key), False)

    bad = n_same = n_diff = 0
    print(f"{'component':<64}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, (err, match) in worst.items():
        if match:
            ok = err <= 1e-4
            n_same += 1
            label = "match" if ok else "MISMATCH"
        else:
            ok = err > 1e-3
            n_diff += 1
            label = "differs (deliberate)" if ok else "UNEXPECTED MATCH"
        bad += not ok
        print(f"{name:<64}{err:>22.2e}  {label}")
    print(f"{n_same} rows match, {n_diff} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
