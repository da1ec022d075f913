"""Parity check of the rules of issue 15 (BCM, pair STDP, Gerstner-Hebbian, inhibitory
STDP, Oja, REINFORCE, and the conv trace-STDP options): ngcx against ngc-learn 3.2.x on
the same inputs.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_rules_extra.py

Each row sets the same weights and activity in an ngc-learn component and in its ngcx
builder, runs ngc-learn's ``evolve`` and one ngcx step (the rule, then the bundle's optax
chain) and prints the largest absolute difference of the new weights (and states). Rows
marked ``differs`` are deliberate (documented in the builders' docstrings); the exit
status is non-zero if any row breaks its expectation.
"""

from __future__ import annotations

import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components import (
    BCMSynapse as NGBCM,
    InhibitorySTDPSynapse as NGiSTDP,
    OjaTensorSynapse as NGOja,
    REINFORCESynapse as NGReinforce,
    STDPSynapse as NGSTDP,
    TraceSTDPConvSynapse as NGTraceConv,
    TraceSTDPDeconvSynapse as NGTraceDeconv,
)
from ngclearn.components.synapses.hebbian import GerstnerHebbianSynapse as NGGerstner

from ngcx import plasticity as P


def _diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def _moved(W0, W1) -> None:
    """A row whose ngc-learn weights did not move would match vacuously."""
    if _diff(W0, W1) < 1e-6:
        raise RuntimeError("ngc-learn's weights did not move")


def _ctx() -> str:
    return f"ctx{np.random.randint(1 << 30)}"


def _step(bundle, upd):
    """One step of the bundle's own optax chain with the rule's update."""
    opt = bundle.optimizer()
    new, _ = P.apply_updates(bundle, upd, P.init(opt, bundle), opt)
    return new


def _with_weights(bundle, W):
    return eqx.tree_at(lambda b: b.synapse.weights, bundle, jnp.asarray(W, jnp.float32))


def _bcm(key):
    rows = []
    k = jax.random.split(key, 3)
    for w_bound, w_decay in ((0.0, 0.0), (1.5, 0.1)):
        with Context(_ctx()):
            ng = NGBCM("W", (5, 3), tau_w=8.0, tau_theta=20.0, theta0=0.5, w_bound=w_bound,
                       w_decay=w_decay, batch_size=4)  # fmt: skip
        ours = P.BCMSynapse((5, 3), 8.0, 20.0, theta0=0.5, w_bound=w_bound, w_decay=w_decay,
                            key=k[0])  # fmt: skip
        ours = _with_weights(ours, ng.weights.get())
        theta = ours.rule.init_threshold(ours.synapse)
        W0, worst = np.asarray(ng.weights.get()), 0.0
        for t in range(5):
            kk = jax.random.fold_in(k[1], t)
            x = np.asarray(jax.random.uniform(kk, (4, 5)))
            y = np.asarray(jax.random.uniform(jax.random.fold_in(kk, 1), (4, 3)))
            ng.pre.set(x), ng.post.set(y)
            ng.evolve(t=float(t), dt=1.0)
            ours = _step(ours, ours.updates(x, y, theta))
            theta = ours.rule.threshold_step(theta, y, dt=1.0)
            worst = max(worst, _diff(ng.weights.get(), ours.weights))
            worst = max(worst, _diff(np.asarray(ng.theta.get()).reshape(-1, 3)[0], theta))
        _moved(W0, ng.weights.get())
        rows.append((f"BCMSynapse.evolve (w_bound={w_bound}, w_decay={w_decay})", worst, "match"))
    return rows


def _stdp(key):
    """ngc-learn 3.2's STDPSynapse cannot be built (its `tau_plus` argument is misspelt
    `au_plus`), so its static update is compared on spikes consistent with the times of
    last spike (a cell spiking now has its time of last spike at t)."""
    rows = []
    k = jax.random.split(key, 5)
    t = 12.0
    pre = np.asarray(jax.random.bernoulli(k[0], 0.5, (1, 5)), np.float32)
    post = np.asarray(jax.random.bernoulli(k[1], 0.5, (1, 3)), np.float32)
    ptols = np.where(pre > 0, t, np.round(np.asarray(jax.random.uniform(k[2], (1, 5))) * t))
    qtols = np.where(post > 0, t, np.round(np.asarray(jax.random.uniform(k[3], (1, 3))) * t))
    ptols, qtols = ptols.astype(np.float32), qtols.astype(np.float32)
    W = np.asarray(jax.random.uniform(k[4], (5, 3)))
    for A_minus, expect in ((0.0, "match"), (0.05, "differs")):
        ng = NGSTDP._compute_update(0.1, A_minus, 8.0, 12.0, pre, post, ptols, qtols, W)
        ours = P.STDPSynapse((5, 3), 0.1, A_minus, 8.0, 12.0, key=k[4])
        ours = _with_weights(ours, W)
        upd = ours.updates(pre, post, ptols, qtols, t).weights
        name = "STDPSynapse update (LTP)" if A_minus == 0 else "STDPSynapse update (LTD window)"
        rows.append((name, _diff(ng, upd), expect))
    return rows


def _gerstner(key):
    rows = []
    k = jax.random.split(key, 3)
    coeffs = {"c0": -0.1, "c1_pre": 0.2, "c1_post": -0.3, "c2_corr": 1.5}
    x = np.asarray(jax.random.uniform(k[0], (4, 5)))
    y = np.asarray(jax.random.uniform(k[1], (4, 3)))
    for sign, expect in ((1.0, "match"), (-1.0, "differs")):
        with Context(_ctx()):
            ng = NGGerstner("W", (5, 3), eta=0.05, coeffs=coeffs, sign_value=sign, batch_size=4)
        ours = P.GerstnerHebbianSynapse((5, 3), 0.05, coeffs, sign_value=sign, key=k[2])
        ours = _with_weights(ours, ng.weights.get())
        W0 = np.asarray(ng.weights.get())
        ng.pre.set(x), ng.post.set(y)
        ng.evolve()
        _moved(W0, ng.weights.get())
        new = _step(ours, ours.updates(x, y))
        rows.append((f"GerstnerHebbianSynapse.evolve (sign_value={sign})",
                     _diff(ng.weights.get(), new.weights), expect))  # fmt: skip
    return rows


def _istdp(key):
    rows = []
    k = jax.random.split(key, 4)
    for soft, volt in ((False, False), (True, False), (True, True)):
        with Context(_ctx()):
            ng = NGiSTDP("W", (5, 3), eta=0.5, rho=0.1, Aplus=1.2, Aminus=0.8, tau_x_pre=20.0,
                         tau_x_post=25.0, use_soft_bounds=soft, w_max=1.5, w_min=0.0,
                         is_volt_dependent=volt, batch_size=2)  # fmt: skip
        ours = P.InhibitorySTDPSynapse((5, 3), 0.5, 0.1, 1.2, 0.8, 20.0, 25.0, soft, 1.5, 0.0,
                                       volt, key=k[0])  # fmt: skip
        ours = _with_weights(ours, ng.weights.get())
        xp, xq = jnp.zeros((2, 5)), jnp.zeros((2, 3))
        W0, worst = np.asarray(ng.weights.get()), 0.0
        for t in range(6):
            kk = jax.random.fold_in(k[1], t)
            sp = np.asarray(jax.random.bernoulli(kk, 0.4, (2, 5)), np.float32)
            sq = np.asarray(
                jax.random.bernoulli(jax.random.fold_in(kk, 1), 0.4, (2, 3)), np.float32
            )
            v = np.asarray(jax.random.normal(jax.random.fold_in(kk, 2), (2, 3)), np.float32)
            ng.s_pre.set(sp), ng.s_post.set(sq), ng.v_post.set(v)
            ng.evolve(t=float(t), dt=1.0)
            xp, xq = ours.rule.trace_step(xp, xq, sp, sq, dt=1.0)
            ours = _step(ours, ours.updates(sp, sq, xp, xq, v))
            worst = max(worst, _diff(ng.weights.get(), ours.weights), _diff(ng.x_pre.get(), xp))
        _moved(W0, ng.weights.get())
        rows.append((f"InhibitorySTDPSynapse.evolve (soft={soft}, volt={volt})", worst, "match"))
    return rows


def _oja(key):
    rows = []
    k = jax.random.split(key, 2)
    x = np.asarray(jax.random.normal(k[0], (3, 12)), np.float32)
    for eta, expect in ((1.0, "match"), (0.1, "differs")):
        with Context(_ctx()):
            ng = NGOja("W", 6, 2, 3, P_l=2, eta=eta, batch_size=3)
        ours = P.OjaTensorSynapse(6, 2, 3, P_l=2, eta=eta, key=k[1])
        ours = _with_weights(ours, ng.weights.get())
        y = np.asarray(ours(x))
        W0 = np.asarray(ng.weights.get())
        ng.pre.set(x), ng.post.set(y)
        ng.evolve(dt=1.0)
        _moved(W0, ng.weights.get())
        new = _step(ours, ours.updates(x, y))
        rows.append((f"OjaTensorSynapse.evolve (eta={eta})", _diff(ng.weights.get(), new.weights),
                     expect))  # fmt: skip
    return rows


def _reinforce(key):
    rows = []
    k = jax.random.split(key, 3)
    for stddev, act in ((-1.0, None), (0.3, "tanh")):
        with Context(_ctx()):
            ng = NGReinforce("W", (4, 2), eta=0.5, act_fx=act, mu_act_fx="sigmoid",
                             scalar_stddev=stddev, batch_size=3, seed=7)  # fmt: skip
        ours = P.REINFORCESynapse((4, 2), eta=0.5, act_fx=act, mu_act_fx="sigmoid",
                                  scalar_stddev=stddev, key=k[0])  # fmt: skip
        ours = _with_weights(ours, ng.weights.get())
        x = np.asarray(jax.random.uniform(k[1], (3, 4)), np.float32)
        r = np.asarray(jax.random.normal(k[2], (3,)), np.float32)
        _, sub = jax.random.split(ng.seed.get())
        ng.inputs.set(x), ng.rewards.set(r), ng.learning_mask.set(jnp.ones(()))
        W0 = np.asarray(ng.weights.get())
        ng.evolve(dt=1.0)
        _moved(W0, ng.weights.get())
        a = ours.rule.sample(ours.synapse, x, key=sub)
        new = _step(ours, ours.updates(x, a, r))
        obj = ours.rule.objective(ours.synapse, x, a, r)
        worst = max(_diff(ng.outputs.get(), a), _diff(ng.weights.get(), new.weights),
                    _diff(ng.objective.get(), obj))  # fmt: skip
        rows.append((f"REINFORCESynapse.evolve (scalar_stddev={stddev})", worst, "match"))
    return rows


def _trace_conv(key):
    """The new options of the conv trace-STDP builder (w_bound = 0: ngc-learn's clip to
    [0.01, w_bound - 0.01] is the builder's older difference, not under test here)."""
    rows = []
    k = jax.random.split(key, 5)
    pre = np.asarray(jax.random.bernoulli(k[0], 0.3, (1, 6, 6, 2)), np.float32)
    xpre = np.asarray(jax.random.uniform(k[1], (1, 6, 6, 2)), np.float32)
    cases = [
        (NGTraceConv, P.TraceSTDPConvSynapse, "TraceSTDPConvSynapse", t, d)
        for t, d in ((0.0, 0.0), (0.2, 0.05))
    ] + [(NGTraceDeconv, P.TraceSTDPDeconvSynapse, "TraceSTDPDeconvSynapse", 0.2, 0.05)]
    for ng_cls, builder, label, target, decay in cases:
        with Context(_ctx()):
            ng = ng_cls("W", (3, 3, 2, 4), (6, 6), A_plus=0.3, A_minus=0.1, eta=0.5,
                        pretrace_target=target, padding="SAME", w_bound=0.0,
                        w_decay=decay)  # fmt: skip
        ours = builder((3, 3, 2, 4), (6, 6), A_plus=0.3, A_minus=0.1, eta=0.5,
                       pretrace_target=target, w_bound=0.0, w_decay=decay, padding="SAME",
                       key=k[2])  # fmt: skip
        ours = _with_weights(ours, ng.weights.get())
        out = ours(pre).shape
        post = np.asarray(jax.random.bernoulli(k[3], 0.3, out), np.float32)
        xpost = np.asarray(jax.random.uniform(k[4], out), np.float32)
        ng.preSpike.set(pre), ng.preTrace.set(xpre)
        ng.postSpike.set(post), ng.postTrace.set(xpost)
        W0 = np.asarray(ng.weights.get())
        ng.evolve()
        _moved(W0, ng.weights.get())
        new = _step(ours, ours.updates(pre, post, xpre, xpost))
        rows.append((f"{label}.evolve (pretrace_target={target}, w_decay={decay})",
                     _diff(ng.weights.get(), new.weights), "match"))  # fmt: skip
    return rows


def main() -> int:
    worst: dict[str, tuple[float, str]] = {}
    groups = (_bcm, _stdp, _gerstner, _istdp, _oja, _reinforce, _trace_conv)
    for trial in range(2):
        for i, group in enumerate(groups):
            try:
                rows = group(jax.random.key(100 * i + trial))
            except Exception as err:  # noqa: BLE001 - report the row, keep going
                rows = [(f"{group.__name__[1:]} (raised {type(err).__name__}: {err})"[:70],
                         float("nan"), "match")]  # fmt: skip
            for name, err, expect in rows:
                prev = worst.get(name, (0.0, expect))[0]
                worst[name] = (max(prev, err) if err == err else err, expect)
    bad = 0
    print(f"{'component':<68}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, (err, expect) in worst.items():
        ok = err <= 1e-4 if expect == "match" else err > 1e-3
        bad += not ok
        label = expect if ok else ("MISMATCH" if expect == "match" else "UNEXPECTED MATCH")
        print(f"{name:<68}{err:>22.2e}  {label}")
    n_match = sum(e == "match" for _, e in worst.values())
    print(f"{n_match} rows match, {len(worst) - n_match} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
