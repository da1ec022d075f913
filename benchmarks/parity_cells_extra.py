"""Parity check of the extra encoders and graded cells: ngcx against ngc-learn 3.2.x.

Not part of CI (ngc-learn is never a dependency). Run it in the virtualenv described in
``benchmarks/parity_ngclearn.py``::

    /tmp/ngcl/bin/python benchmarks/parity_cells_extra.py

Rows: ``RetinalGanglionCell``, ``PhasorCell``, ``LeakyNoiseCell``, ``RewardErrorCell`` and
``BernoulliErrorCell(input_logits=True)``. Each row drives one ngc-learn component and its
ngcx counterpart with the same inputs (the same noise samples where there is noise: the
ngcx cell is given the key, or the samples, that ngc-learn draws from its own key) and
prints the largest absolute difference, relative to the largest ngc-learn value when that
exceeds 1. Rows marked ``differs`` are deliberate differences (documented in the ngcx
docstrings) and must *not* match; the exit status is non-zero if any row breaks its
expectation.
"""

from __future__ import annotations

import contextlib
import io
import sys

import jax
import jax.numpy as jnp
import numpy as np
from ngclearn import Context
from ngclearn.components import (
    BernoulliErrorCell as NGBernoulliError,
    LeakyNoiseCell as NGLeakyNoise,
    PhasorCell as NGPhasor,
    RetinalGanglionCell as NGRGC,
    RewardErrorCell as NGRewardError,
)

from ngcx import cells as C


TOL = 1e-5
_counter = iter(range(1 << 30))


def _ctx(name):
    return Context(f"{name}{next(_counter)}")


def _err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(1.0, float(np.max(np.abs(a))))
    return float(np.max(np.abs(a - b))) / scale


def _rgc(key):
    rows = []
    cases = [
        # name, filter, area, patch, step, expectation
        ("gaussian, odd patch", "gaussian", (15, 23), (5, 5), (2, 3), "match"),
        ("DoG, odd patch", "DoG", (15, 23), (5, 5), (2, 3), "match"),
        ("RoG, odd patch", "RoG", (15, 23), (5, 5), (2, 3), "match"),
        ("identity", "identity", (15, 23), (5, 5), (2, 3), "match"),
        ("DoG, step 0 along one axis", "DoG", (7, 26), (7, 7), (0, 5), "match"),
        ("gaussian, even patch (centre)", "gaussian", (16, 26), (6, 6), (5, 5), "differs"),
        ("identity, step 0 tiles (ngc-learn repeats)", "identity", (16, 16), (8, 8), (0, 0),
         "differs"),
    ]  # fmt: skip
    x = np.asarray(jax.random.uniform(key, (3, 16, 26)))
    for name, ftype, area, patch, step, expect in cases:
        ours = C.RetinalGanglionCell(
            ftype, area, _n_cells(area, patch, step), patch, step, sigma=1.3
        )
        with contextlib.redirect_stdout(io.StringIO()), _ctx("rgc"):
            ng = NGRGC("g", ftype, area, ours.n_cells, patch, step, batch_size=3, sigma=1.3)
        xa = x[:, : area[0], : area[1]]
        ng.inputs.set(jnp.asarray(xa))
        ng.advance_state(t=0.0)
        rows.append((f"RetinalGanglionCell ({name})", _err(ng.outputs.get(), ours(xa)), expect))
    return rows


def _n_cells(area, patch, step):
    counts = []
    for i, p, s in zip(area, patch, step, strict=True):
        counts.append(i // p if s == 0 else (i - p) // s + 1)
    return counts[0] * counts[1]


def _phasor(key):
    rows = []
    T, B, n = 60, 2, 6
    k_x, k_b, k_steps = jax.random.split(key, 3)
    x_rate = np.asarray(jax.random.uniform(k_x, (B, n), minval=0.2, maxval=1.0))
    x_spikes = np.asarray(jax.random.bernoulli(k_x, 0.5, (B, n)), np.float32)
    for disable in (False, True):
        # disable_phasor passes spikes through (ngc-learn's time of last spike blends a
        # non-binary input, ngcx's records the time wherever the input is non-zero)
        x = x_spikes if disable else x_rate
        ours = C.PhasorCell(n, target_freq=80.0, disable_phasor=disable, key=k_b)
        with _ctx("ph"):
            ng = NGPhasor("p", n, target_freq=80.0, batch_size=B, disable_phasor=disable)
        ng.reset()
        ng.base_scale = jnp.broadcast_to(ours.base_scale, (B, n))
        state, worst = ours.init_state((B,)), 0.0
        for t, k in enumerate(jax.random.split(k_steps, T)):
            ng.key.set(k)
            ng.inputs.set(jnp.asarray(x))
            ng.advance_state(t=t * 1.0, dt=1.0)
            sub = jax.random.split(k, 3)[1]  # the sample ngc-learn draws its jitter from
            state = ours(state, x, key=sub, dt=1.0)
            for a, b in ((ng.outputs, state.s), (ng.angles, state.angles), (ng.tols, state.tols)):
                worst = max(worst, _err(a.get(), b))
        label = "disable_phasor" if disable else "jitter from the same key"
        rows.append((f"PhasorCell ({label})", worst, "match"))
    return rows


def _leaky(key):
    rows = []
    T, B, n = 30, 2, 5
    k_j, k_steps = jax.random.split(key)
    j = np.asarray(jax.random.normal(k_j, (T, 2, B, n)))
    cases = [
        ("euler, dt=1", "euler", "euler", 1.0, "match"),
        ("midpoint, dt=1", "midpoint", "midpoint", 1.0, "match"),
        ("ngc-learn 'heun' (runs RK4) = ngcx 'rk4', dt=1", "heun", "rk4", 1.0, "match"),
        ("euler, dt=0.1 (noise scales with sqrt(dt))", "euler", "euler", 0.1, "differs"),
    ]  # fmt: skip
    for name, ng_integ, our_integ, dt, expect in cases:
        ours = C.LeakyNoiseCell(n, tau_x=8.0, integration_type=our_integ, sigma_pre=0.3,
                                sigma_post=0.1, leak_scale=0.9)  # fmt: skip
        with _ctx("ln"):
            ng = NGLeakyNoise("l", n, tau_x=8.0, integration_type=ng_integ, batch_size=B,
                              sigma_pre=0.3, sigma_post=0.1, leak_scale=0.9)  # fmt: skip
        ng.reset()
        state, worst = ours.init_state((B,)), 0.0
        for t, k in enumerate(jax.random.split(k_steps, T)):
            ng.key.set(k)
            ng.j_input.set(jnp.asarray(j[t, 0]))
            ng.j_recurrent.set(jnp.asarray(j[t, 1]))
            ng.advance_state(t=t * dt, dt=dt)
            # ngc-learn draws both noises from the same subkey: the same sample twice
            eps = jax.random.normal(jax.random.split(k, 2)[1], (B, n))
            state = ours.step(state, j[t, 0], j[t, 1], eps, eps, dt=dt)
            for a, b in ((ng.x, state.x), (ng.r, state.r), (ng.r_prime, state.r_prime)):
                worst = max(worst, _err(a.get(), b))
        rows.append((f"LeakyNoiseCell ({name})", worst, expect))
    return rows


def _reward(key):
    rows = []
    T, B, n = 25, 3, 2
    rewards = np.asarray(jax.random.uniform(key, (2, T, B, n)))
    for online, expect in ((True, "match"), (False, "differs")):
        ours = C.RewardErrorCell(n, alpha=0.2, ema_window_len=4, use_online_predictor=online)
        with _ctx("rw"):
            ng = NGRewardError("r", n, alpha=0.2, ema_window_len=4,
                               use_online_predictor=online, batch_size=B)  # fmt: skip
        ng.reset()
        state, worst = ours.init_state((B,)), 0.0
        for episode in range(2):
            for t in range(T):
                ng.reward.set(jnp.asarray(rewards[episode, t]))
                ng.advance_state(dt=1.0)
                state = ours(state, rewards[episode, t])
                for a, b in ((ng.mu, state.mu), (ng.rpe, state.rpe),
                             (ng.accum_reward, state.accum_reward),
                             (ng.n_ep_steps, state.n_ep_steps)):  # fmt: skip
                    worst = max(worst, _err(a.get(), b))
            ng.evolve(dt=1.0)
            state = ours.evolve(state)
            worst = max(worst, _err(ng.mu.get(), state.mu))
        label = "online predictor + evolve" if online else "offline: ngc-learn's evolve is a no-op"
        rows.append((f"RewardErrorCell ({label})", worst, expect))
    return rows


def _bernoulli(key):
    rows = []
    k1, k2, k3 = jax.random.split(key, 3)
    target = np.asarray(jax.random.bernoulli(k1, 0.5, (4, 6)), np.float32)
    # ngc-learn forms log(p) - log(1 - p) from a float32 p, losing about e^|z| * 1e-7 to
    # cancellation (7.8e-5 at |z| = 8): the matching row keeps |z| < 4
    for label, scale, expect in (("|z| < 4", 4.0, "match"), ("|z| up to 20", 20.0, "differs")):
        z = np.array(jax.random.uniform(k2, (4, 6), minval=-scale, maxval=scale))
        z[0, 0] = scale * 0.999  # make sure a large logit is there
        with _ctx("be"):
            ng = NGBernoulliError("b", 6, batch_size=4, input_logits=True)
        ng.p.set(jnp.asarray(z))
        ng.target.set(jnp.asarray(target))
        ng.advance_state(dt=1.0)
        out = C.BernoulliErrorCell(6, input_logits=True)(z, target)
        worst = max(
            _err(ng.L.get(), out.L), _err(ng.dp.get(), out.dmu), _err(ng.dtarget.get(), out.dtarget)
        )
        rows.append((f"BernoulliErrorCell(input_logits) ({label})", worst, expect))
    # the probability path (existing ngcx behaviour, eps matched to ngc-learn's 1e-4)
    p = np.asarray(jax.random.uniform(k3, (4, 6), minval=0.05, maxval=0.95))
    with _ctx("bp"):
        ng = NGBernoulliError("b", 6, batch_size=4)
    ng.p.set(jnp.asarray(p))
    ng.target.set(jnp.asarray(target))
    ng.advance_state(dt=1.0)
    out = C.BernoulliErrorCell(6, eps=1e-4)(p, target)
    rows.append(
        (
            "BernoulliErrorCell (probabilities) L, dtarget",
            max(_err(ng.L.get(), out.L), _err(ng.dtarget.get(), out.dtarget)),
            "match",
        )
    )
    rows.append(("BernoulliErrorCell (probabilities) dmu: ngc-learn x sigmoid'(p)",
                 _err(ng.dp.get(), out.dmu), "differs"))  # fmt: skip
    return rows


def main() -> int:
    worst: dict[str, tuple[float, str]] = {}
    for trial in range(3):
        keys = jax.random.split(jax.random.key(trial), 5)
        rows = _rgc(keys[0]) + _phasor(keys[1]) + _leaky(keys[2])
        rows += _reward(keys[3]) + _bernoulli(keys[4])
        for name, err, expect in rows:
            worst[name] = (max(worst.get(name, (0.0, expect))[0], err), expect)
    bad = n_same = n_diff = 0
    print(f"{'component':<66}{'max |ngclearn - ngcx|':>22}  expectation")
    for name, (err, expect) in worst.items():
        if expect == "match":
            n_same += 1
            ok = err <= TOL
            verdict = "match" if ok else "MISMATCH"
        else:
            n_diff += 1
            ok = err > 1e-3
            verdict = "differs (deliberate)" if ok else "UNEXPECTED MATCH"
        bad += not ok
        print(f"{name:<66}{err:>22.2e}  {verdict}")
    print(f"{n_same} rows match, {n_diff} differ on purpose, {bad} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
