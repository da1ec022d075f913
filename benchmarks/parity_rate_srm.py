"""Parity check: RateCell's lateral competition and the SRM cells, ngcx vs ngc-learn 3.2.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_rate_srm.py

Each row drives one ngc-learn component and its ngcx counterpart with the same inputs and
prints the largest absolute difference (relative to the values' scale where they are
large). Rows marked ``differs`` are deliberate differences (see the docstrings of
``ngcx.cells.RateCell``, ``LIFSRM`` and ``RAFSRM``); the exit status is non-zero if any row
breaks its expectation.
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components import LIFSRM as NGLIFSRM, RAFSRM as NGRAFSRM, RateCell as NGRate

from ngcx import cells as C


TOL = 1e-4
_ctx = iter(range(1 << 30))


def _name() -> str:
    return f"ctx{next(_ctx)}_{np.random.randint(1 << 30)}"


def _err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(1.0, float(np.max(np.abs(a))))
    return float(np.max(np.abs(a - b))) / scale


# ---- RateCell lateral ---------------------------------------------------------------------


def _rate_row(kwargs, steps, cycles, key, batch=2):
    n = 6
    J = np.asarray(jax.random.uniform(key, (cycles, steps, batch, n), minval=-0.5, maxval=1.5))
    with Context(_name()):
        ng = NGRate("X", n, batch_size=batch, **kwargs)
    tau_m = kwargs.pop("tau_m")
    ours = C.RateCell(n, tau_m, **kwargs)
    ng.reset()
    state = ours.init_state((batch,))
    opt_state = None
    worst = 0.0
    for c in range(cycles):
        for t in range(steps):
            ng.j.set(J[c, t])  # ngc-learn writes the modulated j back into its compartment
            ng.j_td.set(0.1 * J[c, t])
            ng.advance_state(dt=1.0)
            state = ours(state, J[c, t], 0.1 * J[c, t], dt=1.0)
            worst = max(worst, _err(ng.z.get(), state.z), _err(ng.zF.get(), state.zF))
        if ours.adaptive_lateral:
            ng.evolve()
            ours, opt_state = ours.evolve(state, opt_state)
            worst = max(worst, _err(ng.Wl.weights.get(), ours.lateral_weights))
    return worst


def _rate_rows(key):
    k = jax.random.split(key, 6)
    base = dict(tau_m=20.0, act_fx="relu", use_lateral=True, n_patch=2)
    return [
        ("RateCell lateral, static (relu, 2 patches)", "match",
         _rate_row(dict(base, exc_inh=(0.5, -0.3)), 20, 1, k[0])),
        ("RateCell lateral, fx_lat=tanh, prior, resist/output scale", "match",
         _rate_row(dict(base, exc_inh=(0.4, -0.2), fx_lat="tanh", prior=("gaussian", 0.1),
                        resist_scale=0.7, output_scale=1.3), 20, 1, k[1])),
        ("RateCell lateral, midpoint, 1 patch", "match",
         _rate_row(dict(base, n_patch=1, exc_inh=(0.2, -0.1), integration_type="midpoint"),
                   20, 1, k[2])),
        ("RateCell adaptive_lateral (sgd, Wl_bound 1)", "match",
         _rate_row(dict(base, exc_inh=(0.5, -0.3), adaptive_lateral=True, Wl_eta=0.05),
                   10, 5, k[3])),
        ("RateCell adaptive_lateral (adam)", "match",
         _rate_row(dict(base, exc_inh=(0.5, -0.3), adaptive_lateral=True, Wl_eta=0.01,
                        Wl_opt_type="adam"), 10, 5, k[4])),
        ("RateCell adaptive_lateral, l2 prior (ngc-learn's prior pushes away from 0)",
         "differs",
         _rate_row(dict(base, exc_inh=(0.5, -0.3), adaptive_lateral=True, Wl_eta=0.05,
                        Wl_prior=("l2", 0.5)), 10, 5, k[5])),
    ]  # fmt: skip


# ---- SRM cells ----------------------------------------------------------------------------


def _srm_row(ng, ours, J, times, dt, fields):
    ng.reset()
    state = ours.init_state((J.shape[1],))
    worst = 0.0
    for i, t in enumerate(times):
        ng.current_j.set(J[i])
        ng.advance_state(dt=dt, t=float(t))
        state = ours(state, J[i], dt=dt, t=float(t))
        for name in fields:
            worst = max(worst, _err(getattr(ng, name).get(), getattr(state, name)))
    return worst


def _srm_rows(key):
    k = jax.random.split(key, 4)
    T, B, n = 80, 2, 5
    sub = np.asarray(jax.random.uniform(k[0], (T, B, n), minval=0.0, maxval=10.0))
    supra = np.asarray(jax.random.uniform(k[1], (T, B, n), minval=10.0, maxval=40.0))
    regular = np.arange(1, T + 1) * 1.0
    jumps = np.cumsum(np.asarray(jax.random.uniform(k[2], (T,), minval=0.5, maxval=3.0)))
    osc_sub = np.asarray(jax.random.uniform(k[3], (T, B, n), minval=-1.0, maxval=1.0))
    osc_supra = 30.0 * osc_sub + 20.0
    small = np.arange(1, T + 1) * 0.1
    rows = []
    with Context(_name()):
        ngs = {
            "lif": NGLIFSRM("l", n, tau_m=10.0, batch_size=B),
            "lif2": NGLIFSRM("l2", n, tau_m=10.0, batch_size=B),
            "lif3": NGLIFSRM("l3", n, tau_m=10.0, batch_size=B),
            "lif4": NGLIFSRM("l4", n, tau_m=10.0, batch_size=B),
            "raf": NGRAFSRM("r", n, batch_size=B),
            "raf2": NGRAFSRM("r2", n, batch_size=B),
            "raf3": NGRAFSRM("r3", n, batch_size=B),
        }
    lif, raf = C.LIFSRM(n, 10.0), C.RAFSRM(n)
    rows.append(
        (
            "LIFSRM, subthreshold (v, s, j_lowpass)",
            "match",
            _srm_row(ngs["lif"], lif, sub, regular, 1.0, ("v", "s", "j_lowpass")),
        )
    )
    rows.append(
        (
            "LIFSRM, subthreshold, irregular times t",
            "match",
            _srm_row(ngs["lif2"], lif, sub, jumps, 1.0, ("v", "s", "j_lowpass")),
        )
    )
    rows.append(
        (
            "LIFSRM, driven: j_lowpass",
            "match",
            _srm_row(ngs["lif3"], lif, supra, regular, 1.0, ("j_lowpass",)),
        )
    )
    rows.append(
        (
            "LIFSRM, driven: v and s (ngc-learn's reset kernel)",
            "differs",
            _srm_row(ngs["lif4"], lif, supra, regular, 1.0, ("v", "s")),
        )
    )
    rows.append(
        (
            "RAFSRM, subthreshold (v, s, j_v, j_w)",
            "match",
            _srm_row(ngs["raf"], raf, osc_sub, small, 0.1, ("v", "s", "j_v", "j_w")),
        )
    )
    rows.append(
        (
            "RAFSRM, driven: j_v, j_w",
            "match",
            _srm_row(ngs["raf2"], raf, osc_supra, small, 0.1, ("j_v", "j_w")),
        )
    )
    rows.append(
        (
            "RAFSRM, driven: v and s (ngc-learn's undamped reset kernel)",
            "differs",
            _srm_row(ngs["raf3"], raf, osc_supra, small, 0.1, ("v", "s")),
        )
    )
    # ngc-learn's LIF-SRM fires at every step once driven past its first spike
    ng = ngs["lif4"]
    ng.reset()
    spikes_ng, state, spikes_ours = [], lif.init_state((B,)), []
    for i in range(T):
        ng.current_j.set(np.full((B, n), 20.0, np.float32))
        ng.advance_state(dt=1.0, t=float(i + 1))
        state = lif(state, jnp.full((B, n), 20.0), dt=1.0)
        spikes_ng.append(float(np.mean(ng.s.get())))
        spikes_ours.append(float(jnp.mean(state.s)))
    print(
        f"  constant 20 mA for {T} ms: ngc-learn LIFSRM fires {sum(spikes_ng):.0f} times, "
        f"ngcx {sum(spikes_ours):.0f} times (an LIF with tau 10 ms fires about 11 times)"
    )
    return rows


def main() -> int:
    jax.config.update("jax_numpy_rank_promotion", "allow")
    key = jax.random.PRNGKey(0)
    k1, k2 = jax.random.split(key)
    rows = _rate_rows(k1) + _srm_rows(k2)
    bad = 0
    print(f"{'component':<72} {'expect':<8} {'max |diff|':>11}  ok")
    for name, expect, err in rows:
        ok = (err <= TOL) if expect == "match" else (err > TOL)
        bad += not ok
        print(f"{name:<72} {expect:<8} {err:11.3e}  {'yes' if ok else 'NO'}")
    matched = sum(1 for _, e, _ in rows if e == "match")
    print(f"{matched} rows match, {len(rows) - matched} differ as documented; {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
