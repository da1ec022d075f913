"""The rules of issue 15: BCM, Oja, Gerstner's Hebbian expansion, pair STDP, inhibitory STDP
and REINFORCE (rules written over a synapse's contraction, their ngc-learn-named builders),
and the new options of the convolutional trace-STDP builders."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx import cells as C, plasticity as P
from ngcx.initializers import DistributionGenerator as D
from ngcx.synapses import ConvSynapse, DenseSynapse


def _np(x):
    return np.asarray(x, np.float64)


def _dense(key, shape=(5, 3), **kw):
    return DenseSynapse(shape, key=key, weight_init=D.uniform(0.1, 0.9), **kw)


def _step(bundle, upd):
    """One optax step of a bundle's own chain."""
    opt = bundle.optimizer()
    new, _ = P.apply_updates(bundle, upd, P.init(opt, bundle), opt)
    return new


def _conv(key):
    syn = ConvSynapse((3, 3, 2, 4), (6, 6), key=key, stride=2)
    pre = jax.random.uniform(jax.random.fold_in(key, 1), (2, 6, 6, 2))
    post = jax.random.uniform(jax.random.fold_in(key, 2), syn(pre).shape)
    return syn, pre, post


# -- BCM ------------------------------------------------------------------------------


@pytest.mark.parametrize("w_bound", [0.0, 1.5])
def test_bcm_step_matches_the_formula(getkey, w_bound):
    syn = _dense(getkey())
    x = jax.random.uniform(getkey(), (4, 5))
    y = jax.random.uniform(getkey(), (4, 3))
    theta = jnp.array([0.3, 0.5, 0.8])
    rule = P.BCM(tau_theta=20.0, theta0=0.1, w_bound=w_bound)
    got = rule(syn, x, y, theta).weights
    phi = _np(y) * (_np(y) - _np(theta)) / (_np(theta) + 1e-7)
    want = _np(x).T @ phi
    if w_bound > 0:
        want = want * (w_bound - np.abs(_np(syn.weights)))
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)
    # the threshold: one Euler step towards the batch mean of y^2
    th = rule.threshold_step(theta, y, dt=2.0)
    want_th = _np(theta) + 2.0 / 20.0 * (np.mean(_np(y) ** 2, 0) - _np(theta))
    np.testing.assert_allclose(_np(th), want_th, rtol=1e-6)
    np.testing.assert_allclose(_np(rule.init_threshold(syn)), [0.1] * 3)


def test_bcm_builder_is_a_leaky_euler_step(getkey):
    bcm = P.BCMSynapse((5, 3), 8.0, 20.0, theta0=0.2, w_bound=2.0, w_decay=0.1, dt=0.5,
                       key=getkey())  # fmt: skip
    x = jax.random.uniform(getkey(), (4, 5))
    y = bcm(x)
    theta = bcm.rule.init_threshold(bcm.synapse)
    dW = bcm.rule.delta(bcm.synapse, x, y, theta)
    new = _step(bcm, bcm.updates(x, y, theta))
    W = _np(bcm.weights)
    want = W + 0.5 / 8.0 * (_np(dW) - 0.1 * W)
    np.testing.assert_allclose(_np(new.weights), want, rtol=1e-5, atol=1e-7)


_PATTERNS = jnp.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]]) + 0.1


def _bcm_responses(seed, tau_theta=5.0, T=2000):
    bcm = P.BCMSynapse((4, 1), 50.0, tau_theta, theta0=0.1, key=jax.random.key(seed),
                       weight_init=D.uniform(0.2, 0.4))  # fmt: skip
    opt = bcm.optimizer()
    idx = jax.random.randint(jax.random.key(seed + 100), (T,), 0, 3)

    def step(carry, i):
        b, st, th = carry
        x = _PATTERNS[i][None]
        y = b(x)
        upd = b.updates(x, y, th)
        th = b.rule.threshold_step(th, y)
        b, st = P.apply_updates(b, upd, st, opt)
        return (b, st, th), None

    carry = (bcm, P.init(opt, bcm), bcm.rule.init_threshold(bcm.synapse))
    (bcm, _, _), _ = jax.lax.scan(step, carry, idx)
    return bcm(_PATTERNS)[:, 0]


def test_bcm_makes_a_neuron_selective_to_one_pattern():
    """Random presentations of three patterns: the unit ends up responding to one of them
    (vmapped over seeds, which equals a loop)."""
    seeds = jnp.arange(3)
    resp = jax.jit(jax.vmap(_bcm_responses))(seeds)
    loop = jnp.stack([_bcm_responses(int(s)) for s in seeds[:1]])
    np.testing.assert_allclose(_np(resp[:1]), _np(loop), rtol=1e-3, atol=1e-4)
    for r in _np(resp):
        top, second = np.sort(r)[::-1][:2]
        assert top > 1.0 and second < 0.1 * top, r
    # different seeds pick different patterns (not a bias of the rule)
    assert len({int(np.argmax(r)) for r in _np(resp)}) >= 2


def test_bcm_serves_conv_synapses_and_batches_sum(getkey):
    syn, pre, post = _conv(getkey())
    rule = P.BCM(10.0, theta0=0.3)
    theta = rule.init_threshold(syn)
    assert theta.shape == (4,)
    whole = rule(syn, pre, post, theta).weights
    parts = sum(rule(syn, pre[i : i + 1], post[i : i + 1], theta).weights for i in range(2))
    np.testing.assert_allclose(_np(whole), _np(parts), rtol=1e-5, atol=1e-6)
    assert rule.threshold_step(theta, post).shape == (4,)


def test_bcm_grad_wrt_threshold_matches_finite_differences(getkey):
    syn = _dense(getkey())
    x = jax.random.uniform(getkey(), (3, 5))
    y = jax.random.uniform(getkey(), (3, 3))
    rule = P.BCM(10.0)

    def f(th):
        return jnp.sum(rule.delta(syn, x, y, th))

    th = jnp.array([0.4, 0.6, 0.9])
    g = jax.grad(f)(th)
    eps = 1e-2
    for j in range(3):
        e = jnp.zeros(3).at[j].set(eps)
        fd = (f(th + e) - f(th - e)) / (2 * eps)
        np.testing.assert_allclose(float(g[j]), float(fd), rtol=2e-2)


# -- Oja --------------------------------------------------------------------------------


def test_oja_step_matches_the_formula_dense_and_tensor(getkey):
    syn = _dense(getkey())
    x = jax.random.normal(getkey(), (4, 5))
    y = jax.random.normal(getkey(), (4, 3))
    got = P.Oja()(syn, x, y).weights
    W = _np(syn.weights)
    want = _np(x).T @ _np(y) - W * np.sum(_np(y) ** 2, 0)[None, :]
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(P.Oja(correction=False)(syn, x, y).weights),
                               _np(x).T @ _np(y), rtol=1e-5, atol=1e-6)  # fmt: skip
    # the locally connected tensor synapse: the decay of W[p, s, k, o] is sum_b y[b, s, o]^2
    oja = P.OjaTensorSynapse(6, 2, 3, P_l=2, eta=1.0, key=getkey())
    xi = jax.random.normal(getkey(), (4, 12))
    yo = oja(xi)
    _, S, _, O = oja.synapse.shape  # noqa: E741
    Wt = _np(oja.weights)
    dec = np.sum(_np(yo) ** 2, 0).reshape(S, O)[None, :, None, :]
    want_t = _np(oja.synapse.contract(xi, yo)) - Wt * dec
    np.testing.assert_allclose(_np(oja.updates(xi, yo).weights), want_t, rtol=1e-5, atol=1e-5)


def test_oja_weight_norm_converges_to_one_along_the_first_principal_component():
    Q, _ = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (5, 5)))
    sd = jnp.array([2.0, 1.0, 0.7, 0.5, 0.3])
    # one input stream of 5 units, one output unit: a (1, 1, 5, 1) tensor synapse
    oja = P.OjaTensorSynapse(1, 5, 1, eta=0.01, weight_init=D.gaussian(0.0, 0.3),
                             key=jax.random.key(1))  # fmt: skip
    opt = oja.optimizer()

    def step(carry, k):
        b, st = carry
        x = (jax.random.normal(k, (8, 5)) * sd[None, :]) @ Q.T
        b, st = P.apply_updates(b, b.updates(x, b(x)), st, opt)
        return (b, st), None

    keys = jax.random.split(jax.random.key(2), 600)
    (oja, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, keys))((oja, P.init(opt, oja)))
    w = _np(oja.weights).reshape(5)
    assert abs(np.linalg.norm(w) - 1.0) < 0.03
    assert abs(w @ _np(Q[:, 0])) / np.linalg.norm(w) > 0.97


def test_oja_conv_is_the_contraction_of_ones_with_y_squared(getkey):
    syn, pre, post = _conv(getkey())
    got = P.Oja()(syn, pre, post).weights
    want = syn.contract(pre, post) - syn.weights * syn.contract(jnp.ones_like(pre), post**2)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-5, atol=1e-5)


# -- Gerstner & Kistler --------------------------------------------------------------------


def test_gerstner_step_matches_the_expansion(getkey):
    coeffs = {"c0": -0.2, "c1_pre": 0.3, "c1_post": -0.5, "c2_corr": 1.5}
    g = P.GerstnerHebbianSynapse((5, 3), eta=0.1, coeffs=coeffs, sign_value=-1.0, key=getkey())
    x = jax.random.uniform(getkey(), (4, 5))
    y = jax.random.uniform(getkey(), (4, 3))
    X, Y, W = _np(x), _np(y), _np(g.weights)
    dW = -0.2 * W + 0.3 * X.mean(0)[:, None] - 0.5 * Y.mean(0)[None, :] + 1.5 * X.T @ Y / 4
    np.testing.assert_allclose(_np(g.updates(x, y).weights), dW, rtol=1e-5, atol=1e-6)
    # the chain applies eta and sign_value: W - 0.1 dW
    np.testing.assert_allclose(_np(_step(g, g.updates(x, y)).weights), W - 0.1 * dW, rtol=1e-5)


def test_gerstner_grad_wrt_coefficients_and_vmap_over_them(getkey):
    syn = _dense(getkey())
    x = jax.random.uniform(getkey(), (4, 5))
    y = jax.random.uniform(getkey(), (4, 3))

    def total(c2):
        return jnp.sum(P.GerstnerHebbian(c2_corr=c2).delta(syn, x, y))

    np.testing.assert_allclose(float(jax.grad(total)(0.7)), float(jnp.sum(x.T @ y) / 4), rtol=1e-5)
    c2s = jnp.array([0.5, 1.0, 2.0])
    batched = jax.jit(
        jax.vmap(lambda c: P.GerstnerHebbian(c1_post=0.1, c2_corr=c).delta(syn, x, y))
    )(c2s)
    for i, c in enumerate(c2s):
        one = P.GerstnerHebbian(c1_post=0.1, c2_corr=float(c)).delta(syn, x, y)
        np.testing.assert_allclose(_np(batched[i]), _np(one), rtol=1e-5, atol=1e-6)


def test_gerstner_default_is_hebb_and_conv_works(getkey):
    syn, pre, post = _conv(getkey())
    n = post.size // post.shape[-1]
    got = P.GerstnerHebbian()(syn, pre, post).weights
    np.testing.assert_allclose(_np(got), _np(syn.contract(pre, post)) / n, rtol=1e-5, atol=1e-6)


# -- pair STDP ----------------------------------------------------------------------------


def test_pair_stdp_learning_window():
    """A single pre/post pair at lag d: potentiation A+ exp(-d/tau+) for pre before post,
    depression A- exp(-d/tau-) for post before pre, nothing at d = 0."""
    syn = DenseSynapse((1, 1), key=jax.random.key(0))
    rule = P.PairSTDP(A_plus=0.8, A_minus=0.5, tau_plus=15.0, tau_minus=25.0)
    t = 50.0
    one, zero = jnp.ones((1, 1)), jnp.zeros((1, 1))
    for d in (1.0, 5.0, 20.0):
        # pre at t - d, post now
        ltp = rule(syn, zero, one, jnp.full((1, 1), t - d), jnp.full((1, 1), t), t).weights
        np.testing.assert_allclose(float(ltp[0, 0]), 0.8 * np.exp(-d / 15.0), rtol=1e-6)
        # post at t - d, pre now
        ltd = rule(syn, one, zero, jnp.full((1, 1), t), jnp.full((1, 1), t - d), t).weights
        np.testing.assert_allclose(float(ltd[0, 0]), -0.5 * np.exp(-d / 25.0), rtol=1e-6)
    both = rule(syn, one, one, jnp.full((1, 1), t), jnp.full((1, 1), t), t).weights
    assert float(both[0, 0]) == 0.0
    never = rule(syn, one, one, zero, zero, t).weights  # no earlier spikes
    assert float(never[0, 0]) == 0.0


def test_pair_stdp_equals_the_pair_matrix_and_batches_sum(getkey):
    syn = _dense(getkey())
    t = 10.0
    pre = (jax.random.uniform(getkey(), (3, 5)) < 0.5).astype(jnp.float32)
    post = (jax.random.uniform(getkey(), (3, 3)) < 0.5).astype(jnp.float32)
    # consistent times of last spike: t where the cell spikes now
    ptols = jnp.where(pre > 0, t, jnp.round(jax.random.uniform(getkey(), (3, 5), maxval=t)))
    qtols = jnp.where(post > 0, t, jnp.round(jax.random.uniform(getkey(), (3, 3), maxval=t)))
    rule = P.PairSTDP(0.3, 0.2, 8.0, 12.0)
    got = rule(syn, pre, post, ptols, qtols, t).weights
    want = np.zeros((5, 3))
    for b in range(3):
        dlt = _np(qtols[b])[None, :] - _np(ptols[b])[:, None]
        ok = (_np(qtols[b])[None, :] > 0) & (_np(ptols[b])[:, None] > 0)
        ltp = np.where(ok & (dlt > 0), np.exp(-dlt / 8.0), 0) * _np(post[b])[None, :] * 0.3
        ltd = np.where(ok & (dlt < 0), np.exp(dlt / 12.0), 0) * _np(pre[b])[:, None] * 0.2
        want += ltp - ltd
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)


def test_stdp_builder_chain_and_vmap_over_amplitudes(getkey):
    s = P.STDPSynapse((5, 3), 0.1, 0.05, w_decay=0.02, eta=0.5, key=getkey())
    assert s.options.tau_w is not None and np.isclose(1.0 / float(s.options.tau_w), 0.02)
    pre = jnp.ones((1, 5))
    post = jnp.ones((1, 3))
    ptols, qtols = jnp.full((1, 5), 7.0), jnp.full((1, 3), 6.0)
    upd = s.updates(pre, post, ptols, qtols, 7.0)
    W = _np(s.weights)
    want = np.clip(W + 0.5 * _np(upd.weights) - 0.02 * W, 0.001, 0.999)
    np.testing.assert_allclose(_np(_step(s, upd).weights), want, rtol=1e-5, atol=1e-6)
    amps = jnp.array([0.1, 0.2])
    batched = jax.vmap(
        lambda a: P.PairSTDP(a, 0.05).delta(s.synapse, pre, post, ptols, qtols, 7.0)
    )(amps)
    for i, a in enumerate(amps):
        one = P.PairSTDP(float(a), 0.05).delta(s.synapse, pre, post, ptols, qtols, 7.0)
        np.testing.assert_allclose(_np(batched[i]), _np(one), rtol=1e-6)


def test_spike_rules_are_differentiable_in_their_parameters(getkey):
    syn = DenseSynapse((1, 1), key=getkey())
    one, zero = jnp.ones((1, 1)), jnp.zeros((1, 1))

    def ltp(tau):
        rule = P.PairSTDP(0.8, 0.0, tau_plus=tau)
        return rule.delta(syn, zero, one, jnp.full((1, 1), 44.0), jnp.full((1, 1), 50.0), 50.0)[
            0, 0
        ]

    d, tau = 6.0, 15.0
    np.testing.assert_allclose(
        float(jax.grad(ltp)(tau)), 0.8 * np.exp(-d / tau) * d / tau**2, rtol=1e-5
    )
    dense = _dense(getkey())
    x = jax.random.uniform(getkey(), (4, 5))
    s = jax.random.uniform(getkey(), (4, 3))

    def total(rho):
        return jnp.sum(
            P.InhibitorySTDP(A_minus=0.7, rho=rho, soft_bounds=False).delta(dense, x, s, x, s)
        )

    want = -0.7 * 2.0 * float(jnp.sum(x)) * 3 / 4
    np.testing.assert_allclose(float(jax.grad(total)(0.1)), want, rtol=1e-5)


# -- inhibitory STDP -------------------------------------------------------------------------


@pytest.mark.parametrize("soft", [False, True])
def test_inhibitory_stdp_step_matches_the_formula(getkey, soft):
    syn = _dense(getkey())
    sp = (jax.random.uniform(getkey(), (4, 5)) < 0.4).astype(jnp.float32)
    sq = (jax.random.uniform(getkey(), (4, 3)) < 0.4).astype(jnp.float32)
    xp = jax.random.uniform(getkey(), (4, 5))
    xq = jax.random.uniform(getkey(), (4, 3))
    rule = P.InhibitorySTDP(A_plus=1.5, A_minus=0.7, rho=0.1, w_max=2.0, soft_bounds=soft)
    got = rule(syn, sp, sq, xp, xq).weights
    W = _np(syn.weights)
    pot = _np(xp).T @ _np(sq) + _np(sp).T @ _np(xq)
    dep = _np(xp).T @ np.ones((4, 3)) * 0.2
    if soft:
        pot, dep = pot * (2.0 - W), dep * W
    want = (1.5 * pot - 0.7 * dep) / 4
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)
    # the traces: x <- x + dt/tau (s - x)
    a, b = rule.trace_step(xp, xq, sp, sq, dt=2.0)
    np.testing.assert_allclose(_np(a), _np(xp) + 2.0 / 30.0 * (_np(sp) - _np(xp)), rtol=1e-6)
    np.testing.assert_allclose(_np(b), _np(xq) + 2.0 / 30.0 * (_np(sq) - _np(xq)), rtol=1e-6)


def test_inhibitory_stdp_voltage_dependent_form(getkey):
    syn = _dense(getkey())
    xp = jax.random.uniform(getkey(), (4, 5))
    v = jax.random.normal(getkey(), (4, 3))
    rule = P.InhibitorySTDP(rho=0.1, w_max=1.5, voltage_dependent=True)
    got = rule(syn, xp, xp, xp, v, v).weights
    W = _np(syn.weights)
    raw = _np(xp).T @ (_np(v) - 0.1) / 4
    want = raw * np.where(raw > 0, 1.5 - W, W)
    np.testing.assert_allclose(_np(got), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="v_post"):
        rule(syn, xp, xp, xp, v)


_N_E, _N_I = 40, 20


def _istdp_rates(rho, T=2500):
    """A LIF cell driven by Poisson excitation and plastic Poisson inhibition; returns the
    spike probability per step early and late in the run."""
    syn = P.InhibitorySTDPSynapse((_N_I, 1), eta=0.15, rho=rho, use_soft_bounds=False,
                                  w_max=2.0, tau_x_pre=20.0, tau_x_post=20.0,
                                  weight_init=D.constant(0.1), key=jax.random.key(0))  # fmt: skip
    cell = C.LIFCell(1, 10.0, refract_time=2.0, theta_plus=0.0)
    opt = syn.optimizer()

    def step(carry, k):
        b, st, cs, xp, xq = carry
        ke, ki = jax.random.split(k)
        se = jax.random.bernoulli(ke, 0.1, (1, _N_E)).astype(jnp.float32)
        si = jax.random.bernoulli(ki, 0.1, (1, _N_I)).astype(jnp.float32)
        cs = cell(cs, 6.0 * jnp.sum(se, -1, keepdims=True) - 10.0 * b(si), dt=1.0)
        xp, xq = b.rule.trace_step(xp, xq, si, cs.s)
        b, st = P.apply_updates(b, b.updates(si, cs.s, xp, xq), st, opt)
        return (b, st, cs, xp, xq), cs.s[0, 0]

    carry = (syn, P.init(opt, syn), cell.init_state((1,)), jnp.zeros((1, _N_I)), jnp.zeros((1, 1)))
    _, s = jax.lax.scan(step, carry, jax.random.split(jax.random.key(1), T))
    return s[:300].mean(), s[-1000:].mean()


def test_inhibitory_stdp_brings_the_cell_to_its_target_rate():
    rhos = jnp.array([0.015, 0.03])
    early, late = jax.jit(jax.vmap(_istdp_rates))(rhos)
    for r, e, end in zip(_np(rhos), _np(early), _np(late), strict=True):
        assert e > 2.0 * r  # starts well above the target
        assert abs(end - r) < 0.3 * r, (r, end)


# -- REINFORCE ------------------------------------------------------------------------------


@pytest.mark.parametrize("stddev", [-1.0, 0.4])
def test_reinforce_is_the_gradient_of_its_objective(getkey, stddev):
    syn = DenseSynapse((3, 4), key=getkey(), weight_init=D.gaussian(0.0, 0.5), resist_scale=1.3)
    rule = P.REINFORCE(act_fx="tanh", mu_act_fx="sigmoid", scalar_stddev=stddev, scale=0.5)
    x = jax.random.normal(getkey(), (6, 3))
    a = rule.sample(syn, x, key=getkey())
    r = jax.random.normal(getkey(), (6,))
    got = rule(syn, x, a, r).weights
    grad = jax.grad(lambda s: rule.objective(s, x, a, r))(syn).weights
    np.testing.assert_allclose(_np(got), -_np(grad), rtol=1e-4, atol=1e-6)
    if stddev > 0:
        assert np.all(_np(got)[:, 2:] == 0)


def test_reinforce_sampling_uses_the_explicit_key(getkey):
    syn = DenseSynapse((3, 4), key=getkey())
    rule = P.REINFORCE(scalar_stddev=0.5, mu_out_min=-0.2, mu_out_max=0.3)
    x = jax.random.normal(getkey(), (1000, 3))
    k = getkey()
    a1, a2 = rule.sample(syn, x, key=k), rule.sample(syn, x, key=k)
    np.testing.assert_array_equal(_np(a1), _np(a2))
    assert not np.allclose(_np(a1), _np(rule.sample(syn, x, key=getkey())))
    assert _np(a1).min() >= -0.2 - 1e-6 and _np(a1).max() <= 0.3 + 1e-6
    mu, std = rule.policy(syn, x)
    np.testing.assert_allclose(_np(std), 0.5)
    np.testing.assert_allclose(_np(mu), _np(syn(x))[:, :2], rtol=1e-6)


def _bandit(bundle, T, key):
    """Gaussian bandit with reward -(a - 0.6)^2, centred by the batch mean."""
    opt = bundle.optimizer()
    x = jnp.ones((32, 1))

    def step(carry, k):
        b, st = carry
        a = b.rule.sample(b.synapse, x, key=k)
        r = -jnp.sum(jnp.square(a - 0.6), -1)
        b, st = P.apply_updates(b, b.updates(x, a, r - r.mean()), st, opt)
        return (b, st), r.mean()

    (bundle, _), rs = jax.lax.scan(step, (bundle, P.init(opt, bundle)), jax.random.split(key, T))
    return bundle, rs


def test_reinforce_improves_a_bandits_reward():
    # the ngc-learn builder, fixed sigma: the mean moves to the best arm
    b = P.REINFORCESynapse((1, 1), eta=2.0, scalar_stddev=0.3, weight_init=D.constant(0.05),
                           key=jax.random.key(0))  # fmt: skip
    b, rs = jax.jit(_bandit, static_argnums=1)(b, 200, jax.random.key(1))
    assert float(rs[-20:].mean()) > float(rs[:20].mean()) + 0.1
    assert abs(float(b.weights[0, 0]) - 0.6) < 0.05
    # learning the log-std too (no clip): sigma shrinks and the reward approaches 0
    syn = DenseSynapse((1, 2), key=jax.random.key(0), weight_init=D.constant(0.0))
    b2 = P.PlasticSynapse(syn, P.REINFORCE(), P.LearningOptions(0.05))
    b2, rs2 = jax.jit(_bandit, static_argnums=1)(b2, 400, jax.random.key(2))
    assert float(rs2[:20].mean()) < -0.3 and float(rs2[-20:].mean()) > -0.05
    assert float(b2.weights[0, 1]) < -1.0


def test_reinforce_running_statistics(getkey):
    b = P.REINFORCESynapse((2, 1), decay=0.9, key=getkey())
    st = b.rule.init_state(b.synapse)
    d1, d2 = jnp.ones((2, 2)), 2 * jnp.ones((2, 2))
    st = b.rule.state_step(st, d1, learned=False)
    np.testing.assert_allclose(_np(st.accumulated_gradients), 1.0)
    st = b.rule.state_step(st, d2, learned=True)
    np.testing.assert_allclose(_np(st.accumulated_gradients), 0.5 * 0.9 * 1.0 + 0.5 * 2.0)
    assert float(st.step_count) == 0.0
    # the builder's chain: ascent with the clip to [0, w_bound]
    x = jax.random.uniform(getkey(), (4, 2))
    a = b.rule.sample(b.synapse, x, key=getkey())
    upd = b.updates(x, a, jnp.ones(4))
    want = np.clip(_np(b.weights) + 1e-4 * _np(upd.weights), 0.0, 1.0)
    np.testing.assert_allclose(_np(_step(b, upd).weights), want, rtol=1e-6)


# -- conv trace STDP options -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [P.TraceSTDPConvSynapse, P.TraceSTDPDeconvSynapse])
def test_conv_trace_stdp_pretrace_target_and_w_decay(getkey, cls):
    x_shape = (6, 6) if cls is P.TraceSTDPConvSynapse else (3, 3)
    kw = dict(key=getkey(), A_plus=0.3, A_minus=0.1, eta=0.5, stride=2)
    plain = cls((3, 3, 2, 4), x_shape, **kw)
    assert plain.options.tau_w is None  # off: the old chain
    s = cls((3, 3, 2, 4), x_shape, pretrace_target=0.2, w_decay=0.05, **kw)
    np.testing.assert_allclose(float(s.rule.pretrace_target), 0.2, rtol=1e-6)
    k = jax.random.split(getkey(), 4)
    pre = (jax.random.uniform(k[0], (2, *x_shape, 2)) < 0.3).astype(jnp.float32)
    xpre = jax.random.uniform(k[1], pre.shape)
    out = s(pre).shape
    post = (jax.random.uniform(k[2], out) < 0.3).astype(jnp.float32)
    xpost = jax.random.uniform(k[3], out)
    syn = s.synapse
    dW = 0.3 * _np(syn.contract(xpre - 0.2, post)) - 0.1 * _np(syn.contract(pre, xpost))
    upd = s.updates(pre, post, xpre, xpost)
    np.testing.assert_allclose(_np(upd.weights), dW, rtol=1e-5, atol=1e-5)
    W = _np(s.weights)
    want = np.clip(W + 0.5 * dW - 0.05 * W, 0.0, 1.0)
    np.testing.assert_allclose(_np(_step(s, upd).weights), want, rtol=1e-5, atol=1e-5)


# -- configuration errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda k: P.BCMSynapse((3, 2), 0.0, 5.0, key=k), "tau_w"),
        (lambda k: P.BCMSynapse((3, 2), 5.0, -1.0, key=k), "tau_theta"),
        (lambda k: P.BCMSynapse((3, 2), 5.0, 5.0, w_bound=-1.0, key=k), "w_bound"),
        (lambda k: P.STDPSynapse((3, 2), 0.1, 0.1, tau_plus=0.0, key=k), "tau_plus"),
        (lambda k: P.STDPSynapse((3, 2), -0.1, 0.1, key=k), "A_plus"),
        (lambda k: P.STDPSynapse((3, 2), 0.1, 0.1, w_decay=-1.0, key=k), "w_decay"),
        (lambda k: P.GerstnerHebbianSynapse((3, 2), coeffs={"c3": 1.0}, key=k), "coeffs"),
        (lambda k: P.InhibitorySTDPSynapse((3, 2), w_min=1.0, w_max=1.0, key=k), "w_min"),
        (lambda k: P.InhibitorySTDPSynapse((3, 2), rho=-0.1, key=k), "rho"),
        (lambda k: P.InhibitorySTDPSynapse((3, 2), Aminus=-1.0, key=k), "Aminus"),
        (lambda k: P.InhibitorySTDPSynapse((3, 2), p_release_mean=0.5, key=k), "p_release_mean"),
        (lambda k: P.REINFORCESynapse((3, 2), w_bound=0.0, key=k), "w_bound"),
        (lambda k: P.REINFORCESynapse((3, 2), mu_out_min=float("inf"), key=k), "mu_out_min"),
        (lambda k: P.REINFORCESynapse((3, 2), act_fx="nope", key=k), "nope"),
        (lambda k: P.TraceSTDPConvSynapse((3, 3, 1, 2), w_decay=-0.1, key=k), "w_decay"),
        (lambda k: P.OjaTensorSynapse(4, 2, 2, P_l=9, key=k), "P_l"),
    ],
)
def test_bad_configuration_names_the_argument(getkey, build, name):
    with pytest.raises(ValueError, match=name):
        build(getkey())


def test_bad_activity_names_the_argument(getkey):
    syn = _dense(getkey())
    rule = P.BCM(5.0)
    with pytest.raises(ValueError, match="post"):
        rule.threshold_step(jnp.zeros(3), jnp.ones((2, 4)))
    r = P.REINFORCE()
    with pytest.raises(ValueError, match="even number of outputs"):
        r.policy(syn, jnp.ones((2, 5)))
    syn4 = DenseSynapse((5, 4), key=getkey())
    with pytest.raises(ValueError, match="reward"):
        r(syn4, jnp.ones((2, 5)), jnp.ones((2, 2)), jnp.ones(3))
    with pytest.raises(TypeError, match="synapse"):
        P.Oja()(jnp.ones((5, 3)), jnp.ones((2, 5)), jnp.ones((2, 3)))


def test_rules_are_pytrees_with_leaf_parameters():
    for rule in (P.BCM(5.0), P.PairSTDP(0.1, 0.1), P.InhibitorySTDP(), P.REINFORCE(),
                 P.GerstnerHebbian()):  # fmt: skip
        leaves = jax.tree_util.tree_leaves(rule)
        assert leaves and all(isinstance(x, jax.Array) for x in leaves)
    # a new value of a leaf does not change the tree structure (no recompilation)
    a, b = P.PairSTDP(0.1, 0.1), P.PairSTDP(0.2, 0.1)
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    assert eqx.tree_equal(P.Oja(), P.Oja())
