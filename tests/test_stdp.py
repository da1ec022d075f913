"""Dense STDP synapses: rules against hand-computed traces, the optax glue, projections."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

from ngcx import learning
from ngcx.cells import VarTrace
from ngcx.plasticity import (
    EventSTDPSynapse,
    ExpSTDPSynapse,
    MSTDPETSynapse,
    TraceSTDPSynapse,
    event_stdp_rule,
    exp_stdp_rule,
    trace_stdp_rule,
)


def _spikes(key, shape, p=0.4):
    return jax.random.bernoulli(key, p, shape).astype(jnp.float32)


def _step(syn, updates):
    opt = learning.synapse_optimizer(syn)
    new, _ = learning.apply_updates(syn, updates, learning.init_optimizer(opt, syn), opt)
    return new


def test_trace_stdp_hand_computed_traces(getkey):
    """Pre spike at t=0, post spike at t=3: potentiation by A+ x_pre(3); reversed order:
    depression by A- x_post."""
    syn = TraceSTDPSynapse((1, 1), A_plus=0.5, A_minus=0.25, eta=1.0, key=getkey())
    syn = eqx.tree_at(lambda s: s.weights, syn, jnp.full((1, 1), 0.5))
    tr = VarTrace(1, tau_tr=10.0, a_delta=0.0)
    x_pre, x_post = tr.init_state(), tr.init_state()
    pre_train = [1.0, 0.0, 0.0, 0.0]
    post_train = [0.0, 0.0, 0.0, 1.0]
    total = jnp.zeros((1, 1))
    for p, q in zip(pre_train, post_train, strict=True):
        pre, post = jnp.array([p]), jnp.array([q])
        x_pre, x_post = tr(x_pre, pre), tr(x_post, post)
        total = total + syn.stdp_updates(pre, post, x_pre, x_post).weights
    np.testing.assert_allclose(total, [[0.5 * np.exp(-3 / 10.0)]], rtol=1e-6)
    # post first, then pre: depression by A- times the post trace
    x_pre, x_post = tr.init_state(), tr.init_state()
    total = jnp.zeros((1, 1))
    for p, q in zip(post_train, pre_train, strict=True):
        pre, post = jnp.array([p]), jnp.array([q])
        x_pre, x_post = tr(x_pre, pre), tr(x_post, post)
        total = total + syn.stdp_updates(pre, post, x_pre, x_post).weights
    np.testing.assert_allclose(total, [[-0.25 * np.exp(-3 / 10.0)]], rtol=1e-6)


def test_trace_stdp_rule_formula_with_soft_bounds_and_target(getkey):
    k = iter(jax.random.split(getkey(), 6))
    syn = TraceSTDPSynapse((5, 3), 0.3, 0.2, mu=1.5, pretrace_target=0.1, w_bound=2.0,
                           key=next(k))  # fmt: skip
    pre, post = _spikes(next(k), (4, 5)), _spikes(next(k), (4, 3))
    xpre, xpost = jax.random.uniform(next(k), (4, 5)), jax.random.uniform(next(k), (4, 3))
    W = np.asarray(syn.weights, np.float64)
    expected = 0.3 * ((np.asarray(xpre) - 0.1).T @ np.asarray(post)) * (2.0 - W) ** 1.5
    expected -= 0.2 * (np.asarray(pre).T @ np.asarray(xpost)) * W**1.5
    got = trace_stdp_rule(syn, pre, post, xpre, xpost)
    np.testing.assert_allclose(got.weights, expected, rtol=1e-5, atol=1e-6)
    assert got.biases is None


@given(st.integers(1, 5), st.integers(0, 10**6))
def test_trace_stdp_batch_is_sum_of_samples(batch, seed):
    key = jax.random.key(seed)
    k = jax.random.split(key, 5)
    syn = TraceSTDPSynapse((6, 4), 0.1, 0.05, key=k[0])
    pre, post = _spikes(k[1], (batch, 6)), _spikes(k[2], (batch, 4))
    xpre, xpost = jax.random.uniform(k[3], (batch, 6)), jax.random.uniform(k[4], (batch, 4))
    whole = syn.stdp_updates(pre, post, xpre, xpost).weights
    parts = sum(syn.stdp_updates(pre[b], post[b], xpre[b], xpost[b]).weights for b in range(batch))
    np.testing.assert_allclose(whole, parts, rtol=1e-5, atol=1e-6)


def test_stdp_optimizer_adds_update_decays_and_clips(getkey):
    k = iter(jax.random.split(getkey(), 6))
    syn = TraceSTDPSynapse((5, 3), 0.3, 0.2, eta=0.5, tau_w=20.0, w_bound=1.0, w_eps=0.01,
                           key=next(k))  # fmt: skip
    pre, post = _spikes(next(k), (1, 5)), _spikes(next(k), (1, 3))
    xpre, xpost = jax.random.uniform(next(k), (1, 5)), jax.random.uniform(next(k), (1, 3))
    updates = syn.stdp_updates(pre, post, xpre, xpost)
    new = _step(syn, updates)
    expected = np.clip(syn.weights + 0.5 * updates.weights - syn.weights / 20.0, 0.01, 0.99)
    np.testing.assert_allclose(new.weights, expected, rtol=1e-6, atol=1e-7)
    big = eqx.tree_at(lambda s: s.weights, updates, jnp.full((5, 3), 10.0))
    np.testing.assert_allclose(_step(syn, big).weights, 0.99)


def test_stdp_weight_mask_and_p_conn(getkey):
    mask = np.ones((4, 3))
    mask[0, :] = 0
    syn = TraceSTDPSynapse((4, 3), 1.0, 0.0, key=getkey(), weight_mask=mask)
    assert float(jnp.abs(syn.weights[0]).sum()) == 0.0
    ups = eqx.tree_at(lambda s: s.weights, syn, jnp.full((4, 3), 0.1))
    new = _step(syn, ups)
    assert float(jnp.abs(new.weights[0]).sum()) == 0.0
    assert learning.trainable(syn).weight_mask is None  # the mask is not a parameter
    sparse = TraceSTDPSynapse((50, 40), 1.0, 0.0, key=getkey(), p_conn=0.3)
    frac = float(sparse.weight_mask.mean())
    assert 0.25 < frac < 0.35
    with pytest.raises(ValueError, match="p_conn"):
        TraceSTDPSynapse((4, 3), 1.0, 0.0, key=getkey(), p_conn=0.0)
    with pytest.raises(ValueError, match="weight_mask"):
        TraceSTDPSynapse((4, 3), 1.0, 0.0, key=getkey(), weight_mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="w_bound"):
        TraceSTDPSynapse((4, 3), 1.0, 0.0, key=getkey(), mu=1.0, w_bound=0.0)
    with pytest.raises(ValueError, match="A_plus"):
        TraceSTDPSynapse((4, 3), -1.0, 0.0, key=getkey())


def test_exp_stdp_formula(getkey):
    k = iter(jax.random.split(getkey(), 6))
    syn = ExpSTDPSynapse((5, 3), 0.3, 0.2, exp_beta=2.0, pretrace_target=0.2, key=next(k))
    pre, post = _spikes(next(k), (2, 5)), _spikes(next(k), (2, 3))
    xpre, xpost = jax.random.uniform(next(k), (2, 5)), jax.random.uniform(next(k), (2, 3))
    W = np.asarray(syn.weights, np.float64)
    P, Q, XP, XQ = (np.asarray(a, np.float64) for a in (pre, post, xpre, xpost))
    ltp = np.exp(-2 * W) * (XP.T @ Q) - np.exp(-2 * (1 - W)) * (np.full_like(XP, 0.2).T @ Q)
    expected = 0.3 * ltp - 0.2 * np.exp(-2 * W) * (P.T @ XQ)
    np.testing.assert_allclose(exp_stdp_rule(syn, pre, post, xpre, xpost).weights, expected,
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    new = _step(syn, syn.stdp_updates(pre, post, xpre, xpost))
    assert float(new.weights.min()) >= np.float32(0.01) and float(new.weights.max()) <= 0.99


def test_event_stdp_matches_per_sample_rule(getkey):
    syn = EventSTDPSynapse((4, 3), eta=0.5, lmbda=0.1, A_plus=1.0, A_minus=0.5,
                           presyn_win_len=2.0, key=getkey())  # fmt: skip
    tols = jnp.array([[0.0, 4.5, 2.0, 5.0], [5.0, 0.0, 0.0, 1.0]])
    post = jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    W = np.asarray(syn.weights, np.float64)
    expected = np.zeros_like(W)
    for b in range(2):
        recent = (np.asarray(tols[b]) > 3.0) & (np.asarray(tols[b]) > 0)
        grow = 1.0 - W * 1.1
        shrink = -0.5 * W * 1.1
        expected += np.where(recent[:, None], grow, shrink) * np.asarray(post[b])[None, :]
    got = event_stdp_rule(syn, tols, post, 5.0)
    np.testing.assert_allclose(got.weights, expected, rtol=1e-5, atol=1e-6)
    exact = EventSTDPSynapse((4, 3), eta=0.5, presyn_win_len=0.0, key=getkey())
    one = exact.stdp_updates(jnp.array([5.0, 4.0, 0.0, 5.0]), jnp.ones(3), 5.0).weights
    assert bool(jnp.all(one[0] > 0)) and bool(jnp.all(one[1] < 0))
    new = _step(syn, got)
    assert float(new.weights.min()) >= 0.01 and float(new.weights.max()) <= 1.0


def test_mstdpet_eligibility_and_modulation(getkey):
    k = iter(jax.random.split(getkey(), 8))
    syn = MSTDPETSynapse((5, 3), 0.3, 0.2, eta=0.5, tau_elg=10.0, elg_decay=0.9, key=next(k))
    pre, post = _spikes(next(k), (1, 5)), _spikes(next(k), (1, 3))
    xpre, xpost = jax.random.uniform(next(k), (1, 5)), jax.random.uniform(next(k), (1, 3))
    e0 = jax.random.uniform(next(k), (5, 3))
    e1 = syn.eligibility_step(e0, pre, post, xpre, xpost, dt=1.0)
    dW = trace_stdp_rule(syn, pre, post, xpre, xpost).weights
    np.testing.assert_allclose(e1, e0 * 0.9 * np.exp(-0.1) + dW / 10.0, rtol=1e-5)
    no_trace = MSTDPETSynapse((5, 3), 0.3, 0.2, key=next(k))
    np.testing.assert_allclose(
        no_trace.eligibility_step(e0, pre, post, xpre, xpost), no_trace.stdp_updates(
            pre, post, xpre, xpost).weights, rtol=1e-6)  # fmt: skip
    ups = syn.modulated_updates(e1, -2.0, out_mask=jnp.array([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(ups.weights[:, 1], 0.0)
    np.testing.assert_allclose(ups.weights[:, 0], -2.0 * e1[:, 0], rtol=1e-6)
    new = _step(syn, ups)
    expected = np.clip(syn.weights + 0.5 * ups.weights, 0.0, 1.0)
    np.testing.assert_allclose(new.weights, expected, rtol=1e-6)
    assert learning.synapses_optimizer([syn, no_trace]) is not None


def test_stdp_transmit_vmap_and_jit(getkey):
    syn = TraceSTDPSynapse((6, 4), 0.1, 0.05, key=getkey(), resist_scale=2.0)
    x = _spikes(getkey(), (3, 6))
    np.testing.assert_allclose(syn(x), 2.0 * x @ syn.weights, rtol=1e-6)
    per = jax.vmap(lambda a, b: syn.stdp_updates(a, b, a, b).weights)(x, _spikes(getkey(), (3, 4)))
    assert per.shape == (3, 6, 4)
    f = eqx.filter_jit(lambda s, a: s.stdp_updates(a, s(a), a, s(a)))
    assert f(syn, x).weights.shape == (6, 4)


def test_stdp_shape_errors(getkey):
    syn = TraceSTDPSynapse((6, 4), 0.1, 0.05, key=getkey())
    with pytest.raises(Exception, match="6|4|shape"):
        syn.stdp_updates(jnp.ones((2, 5)), jnp.ones((2, 4)), jnp.ones((2, 5)), jnp.ones((2, 4)))
    with pytest.raises(Exception, match="batch|shape"):
        syn.stdp_updates(jnp.ones((2, 6)), jnp.ones((3, 4)), jnp.ones((2, 6)), jnp.ones((3, 4)))
