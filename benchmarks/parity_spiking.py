"""Parity check of the spiking parts: ngcx against ngc-learn 3.2.x on the same inputs.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_spiking.py

Each row drives one ngc-learn component and its ngcx counterpart with the same random
currents / spikes and prints the largest absolute difference over all steps. Rows marked
``differs`` are deliberate (ngc-learn's QuadLIF sign error, see the README); the exit status
is non-zero if any row breaks its expectation.
"""

from __future__ import annotations

import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components import (
    AdExCell as NGAdEx,
    EventSTDPSynapse as NGEvent,
    ExpSTDPSynapse as NGExp,
    FitzhughNagumoCell as NGFN,
    HodgkinHuxleyCell as NGHH,
    IFCell as NGIF,
    IzhikevichCell as NGIzh,
    LIFCell as NGLIF,
    QuadLIFCell as NGQuad,
    RAFCell as NGRAF,
    TraceSTDPSynapse as NGTrace,
    VarTrace as NGVarTrace,
)

from ngcx import cells as C, learning, plasticity as S


class _Value:
    """ngc-learn's LIFCell reads ``tau_m.get()``; outside its compiler tau_m is a float."""

    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value


def _run_cell(ng, ours, currents, dt, fields):
    state = ours.init_state((1,))
    worst = 0.0
    for t in range(currents.shape[0]):
        ng.j.set(currents[t])
        ng.advance_state(dt=dt, t=t * dt)
        state = ours(state, currents[t], dt=dt)
        for name in fields:
            a, b = np.asarray(getattr(ng, name).get()), np.asarray(getattr(state, name))
            scale = max(1.0, float(np.max(np.abs(a))))
            worst = max(worst, float(np.max(np.abs(a - b))) / scale)
    return worst


def _cells(key):
    J = np.asarray(jax.random.uniform(key, (60, 1, 6), minval=0.0, maxval=30.0))
    with Context(f"cells{np.random.randint(1 << 30)}"):
        rows = [
            ("LIFCell (euler, refractory)", NGLIF("l", 6, tau_m=10.0, refract_time=3.0),
             C.LIFCell(6, 10.0, refract_time=3.0), 1.0, ("v", "s", "rfr", "thr_theta", "tols"), 1),
            ("LIFCell (midpoint)", NGLIF("l2", 6, tau_m=10.0, integration_type="midpoint"),
             C.LIFCell(6, 10.0, integration_type="midpoint"), 1.0, ("v", "s"), 1),
            ("IFCell", NGIF("i", 6, tau_m=10.0), C.IFCell(6, 10.0), 1.0, ("v", "s", "tols"), 1),
            ("AdExCell", NGAdEx("a", 6), C.AdExCell(6), 0.1, ("v", "w", "s"), 1),
            ("IzhikevichCell", NGIzh("z", 6), C.IzhikevichCell(6), 0.1, ("v", "w", "s"), 1),
            ("FitzhughNagumoCell", NGFN("f", 6), C.FitzhughNagumoCell(6), 0.1, ("v", "w", "s"),
             0.1),
            ("HodgkinHuxleyCell", NGHH("h", 6, tau_v=1.0), C.HodgkinHuxleyCell(6, 1.0), 0.01,
             ("v", "m", "n", "h", "s"), 1),
            ("RAFCell", NGRAF("r", 6), C.RAFCell(6), 0.01, ("v", "w", "s"), 0.1),
            ("QuadLIFCell (sign of the quadratic term)", NGQuad("q", 6, tau_m=10.0),
             C.QuadLIFCell(6, 10.0), 1.0, ("v",), 1),
        ]  # fmt: skip
    same, differs = [], []
    for name, ng, ours, dt, fields, scale in rows:
        if isinstance(ng, NGLIF) and not isinstance(ng, NGQuad):
            ng.tau_m = _Value(10.0)
        ng.reset()
        err = _run_cell(ng, ours, J * scale, dt, fields)
        (differs if "QuadLIF" in name else same).append((name, err))
    return same, differs


def _traces(key):
    spikes = np.asarray(jax.random.bernoulli(key, 0.3, (40, 1, 6)), np.float32)
    with Context(f"tr{np.random.randint(1 << 30)}"):
        pairs = [
            ("VarTrace (gated, exp)", NGVarTrace("t1", 6, tau_tr=20.0, a_delta=0.0),
             C.VarTrace(6, 20.0, 0.0)),
            ("VarTrace (accumulating, lin)",
             NGVarTrace("t2", 6, tau_tr=20.0, a_delta=0.5, decay_type="lin"),
             C.VarTrace(6, 20.0, 0.5, decay_type="lin")),
        ]  # fmt: skip
    rows = []
    for name, ng, ours in pairs:
        ng.reset()
        x, worst = ours.init_state((1,)), 0.0
        for t in range(spikes.shape[0]):
            ng.inputs.set(spikes[t])
            ng.advance_state(dt=1.0)
            x = ours(x, spikes[t], dt=1.0)
            worst = max(worst, float(np.max(np.abs(np.asarray(ng.trace.get()) - np.asarray(x)))))
        rows.append((name, worst))
    return rows


def _evolve(ours, ng_weights, updates):
    ours = eqx.tree_at(lambda s: s.weights, ours, ng_weights)
    updates = eqx.tree_at(lambda s: s.weights, ours, updates(ours).weights)
    opt = learning.synapse_optimizer(ours)
    new, _ = learning.apply_updates(ours, updates, learning.init_optimizer(opt, ours), opt)
    return new.weights


def _stdp(key, trial):
    k = jax.random.split(key, 5)
    pre = np.asarray(jax.random.bernoulli(k[0], 0.4, (1, 5)), np.float32)
    post = np.asarray(jax.random.bernoulli(k[1], 0.4, (1, 3)), np.float32)
    xpre, xpost = (
        np.asarray(jax.random.uniform(k[2], (1, 5))),
        np.asarray(jax.random.uniform(k[3], (1, 3))),
    )
    rows = []
    for mu in (0.0, 1.0):
        for tau_w in (0.0, 50.0):
            with Context(f"trace{trial}{mu}{tau_w}"):
                ng = NGTrace("W", (5, 3), A_plus=0.1, A_minus=0.05, eta=0.5, mu=mu,
                             tau_w=tau_w, pretrace_target=0.1)  # fmt: skip
            W0 = ng.weights.get()
            ng.preSpike.set(pre), ng.postSpike.set(post)
            ng.preTrace.set(xpre), ng.postTrace.set(xpost)
            ng.evolve()
            ours = S.TraceSTDPSynapse((5, 3), 0.1, 0.05, eta=0.5, mu=mu, tau_w=tau_w,
                                      pretrace_target=0.1, key=k[4])  # fmt: skip
            W = _evolve(ours, W0, lambda s: s.stdp_updates(pre, post, xpre, xpost))
            rows.append((f"TraceSTDPSynapse.evolve (mu={mu}, tau_w={tau_w})", ng.weights.get(), W))
    with Context(f"exp{trial}"):
        ng = NGExp("W", (5, 3), A_plus=0.1, A_minus=0.05, exp_beta=1.0, eta=0.5,
                   pretrace_target=0.1)  # fmt: skip
    W0 = ng.weights.get()
    ng.preSpike.set(pre), ng.postSpike.set(post)
    ng.preTrace.set(xpre), ng.postTrace.set(xpost)
    ng.evolve()
    ours = S.ExpSTDPSynapse((5, 3), 0.1, 0.05, 1.0, eta=0.5, pretrace_target=0.1, key=k[4])
    rows.append(("ExpSTDPSynapse.evolve", ng.weights.get(),
                 _evolve(ours, W0, lambda s: s.stdp_updates(pre, post, xpre, xpost))))  # fmt: skip
    with Context(f"event{trial}"):
        ng = NGEvent("W", (5, 3), eta=0.5)
    tols = jnp.array([[0.0, 3.0, 5.0, 4.0, 1.0]])
    W0 = ng.weights.get()
    ng.pre_tols.set(tols), ng.postSpike.set(post)
    ng.evolve(t=5.0, dt=1.0)
    ours = S.EventSTDPSynapse((5, 3), 0.5, key=k[4])
    rows.append(("EventSTDPSynapse.evolve", ng.weights.get(),
                 _evolve(ours, W0, lambda s: s.stdp_updates(tols, post, 5.0))))  # fmt: skip
    return [(n, float(np.max(np.abs(np.asarray(a) - np.asarray(b))))) for n, a, b in rows]


def main() -> int:
    worst_same: dict[str, float] = {}
    worst_diff: dict[str, float] = {}
    for trial in range(3):
        same, differs = _cells(jax.random.key(trial))
        same += _traces(jax.random.key(100 + trial)) + _stdp(jax.random.key(200 + trial), trial)
        for name, err in same:
            worst_same[name] = max(worst_same.get(name, 0.0), err)
        for name, err in differs:
            worst_diff[name] = max(worst_diff.get(name, 0.0), err)
    bad = 0
    print(f"{'component':<48}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, err in worst_same.items():
        ok = err <= 1e-4
        bad += not ok
        print(f"{name:<48}{err:>22.2e}  {'match' if ok else 'MISMATCH'}")
    for name, err in worst_diff.items():
        ok = err > 1e-3
        bad += not ok
        print(f"{name:<48}{err:>22.2e}  {'differs (deliberate)' if ok else 'UNEXPECTED MATCH'}")
    print(f"{len(worst_same)} components match, {len(worst_diff)} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
