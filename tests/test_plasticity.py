"""The plasticity layer: rules written once over a synapse's contraction, learning options
as optax transforms, the plastic filter, and sweeps over learning options."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from ngcx import plasticity
from ngcx.plasticity import (
    MSTDPET,
    EventSTDP,
    ExpSTDP,
    Hebbian,
    TraceSTDP,
    add_decay,
    add_leak,
    add_prior,
    clip_weights,
    hebbian,
    keep_nonnegative,
    mask_weights,
    normalize_weights,
    scale_by_sign,
    scale_by_soft_bound,
    stdp,
)
from ngcx.synapses import AbstractSynapse, ConvSynapse, DeconvSynapse, DenseSynapse


# -- one rule object, three synapse types --------------------------------------------


def _synapses(key):
    """A dense, a conv and a deconv synapse with biases, and matching random pre/post."""
    k = jax.random.split(key, 8)
    dense = DenseSynapse((5, 3), key=k[0], use_bias=True, resist_scale=1.5)
    conv = ConvSynapse((3, 3, 2, 4), (6, 6), key=k[1], stride=2, use_bias=True)
    deconv = DeconvSynapse((3, 3, 2, 4), (3, 3), key=k[2], stride=2, use_bias=True)
    out = []
    for i, syn in enumerate((dense, conv, deconv)):
        if syn is dense:
            pre = jax.random.normal(k[3 + i], (4, 5))
        else:
            pre = jax.random.normal(k[3 + i], (2, *syn.x_shape, 2))
        post = jax.random.normal(k[6], syn(pre).shape)
        out.append((syn, pre, post))
    return out


@settings(max_examples=6)
@given(st.integers(0, 2**16), st.floats(0.5, 2.0), st.floats(0.5, 2.0))
def test_one_hebbian_rule_equals_minus_grad_of_the_local_energy_for_every_synapse(
    seed, sigma, post_wght
):
    rule = Hebbian(pre_wght=1.0, post_wght=post_wght)
    for syn, pre, z in _synapses(jax.random.key(seed)):
        # Gaussian error unit of the layer mu = g_W(pre): post = (z - mu) / sigma^2
        linear = eqx.tree_at(lambda s: s.resist_scale, syn, jnp.asarray(1.0))

        def energy(s):
            return 0.5 * jnp.sum((z - s(pre)) ** 2) / sigma**2

        e = (z - linear(pre)) / sigma**2
        upd = rule(linear, pre, e)
        grads = jax.grad(energy)(linear)
        np.testing.assert_allclose(upd.weights, -post_wght * grads.weights, rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(upd.biases, -post_wght * grads.biases, rtol=2e-4, atol=2e-5)
        assert type(upd) is type(syn)


def _filter_correlation(syn, a, b):
    """Reference C(a, b): the gradient of <b, g_W(a)> written with jax.grad (independent of
    the synapse's own contract)."""
    return jax.grad(
        lambda W: jnp.sum(b * eqx.tree_at(lambda s: s.weights, syn, W)(a) / syn.resist_scale)
    )(syn.weights)


def test_one_trace_stdp_rule_matches_a_hand_written_reference_for_every_synapse(getkey):
    rule = TraceSTDP(A_plus=0.3, A_minus=0.2, mu=1.5, pretrace_target=0.1, w_bound=2.0)
    for syn, pre, post in _synapses(getkey()):
        syn = eqx.tree_at(lambda s: s.weights, syn, jnp.abs(syn.weights))
        s_pre = (pre > 0).astype(jnp.float32)
        x_pre = jax.nn.sigmoid(pre)
        s_post = (post > 0).astype(jnp.float32)
        x_post = jax.nn.sigmoid(post)
        W = np.asarray(syn.weights)
        if isinstance(syn, DenseSynapse):  # the textbook outer products
            ltp = np.einsum("bi,bj->ij", np.asarray(x_pre) - 0.1, np.asarray(s_post))
            ltd = np.einsum("bi,bj->ij", np.asarray(s_pre), np.asarray(x_post))
        else:
            ltp = np.asarray(_filter_correlation(syn, x_pre - 0.1, s_post))
            ltd = np.asarray(_filter_correlation(syn, s_pre, x_post))
        expected = 0.3 * ltp * np.maximum(2.0 - W, 0) ** 1.5 - 0.2 * ltd * np.maximum(W, 0) ** 1.5
        got = rule(syn, s_pre, s_post, x_pre, x_post)
        np.testing.assert_allclose(got.weights, expected, rtol=1e-4, atol=1e-5)
        if syn.biases is not None:
            np.testing.assert_array_equal(got.biases, 0.0)


def test_exp_event_and_mstdpet_rules_run_on_every_synapse(getkey):
    rules = (
        ExpSTDP(0.3, 0.2, exp_beta=2.0, pretrace_target=0.2),
        MSTDPET(0.3, 0.2, tau_elg=10.0),
    )
    for syn, pre, post in _synapses(getkey()):
        s_pre, s_post = (pre > 0).astype(jnp.float32), (post > 0).astype(jnp.float32)
        for rule in rules:
            upd = rule(syn, s_pre, s_post, jax.nn.sigmoid(pre), jax.nn.sigmoid(post))
            assert upd.weights.shape == syn.weights.shape
            assert bool(jnp.all(jnp.isfinite(upd.weights)))
        tols = jnp.where(pre > 0, 4.0, 0.0)
        upd = EventSTDP(0.1, 1.0, 0.5, presyn_win_len=2.0)(syn, tols, s_post, 5.0)
        assert upd.weights.shape == syn.weights.shape
    with pytest.raises(TypeError, match="synapse"):
        Hebbian()(jnp.ones((2, 2)), jnp.ones(2), jnp.ones(2))


def test_rules_are_final_and_their_parameters_are_leaves():
    for cls in (Hebbian, TraceSTDP, ExpSTDP, EventSTDP, MSTDPET):
        assert issubclass(cls, plasticity.AbstractRule)
        for other in (Hebbian, TraceSTDP, ExpSTDP, EventSTDP, MSTDPET):
            assert other is cls or not issubclass(cls, other)
    assert all(eqx.is_array(x) for x in jax.tree_util.tree_leaves(TraceSTDP(0.1, 0.2)))
    with pytest.raises(ValueError, match="A_plus"):
        TraceSTDP(-1.0, 0.0)
    with pytest.raises(ValueError, match="w_bound"):
        TraceSTDP(1.0, 0.0, mu=1.0, w_bound=0.0)


def test_grad_and_vmap_over_rule_amplitudes(getkey):
    syn, pre, post = _synapses(getkey())[0]
    s_pre, s_post = (pre > 0).astype(jnp.float32), (post > 0).astype(jnp.float32)
    x_pre, x_post = jax.nn.sigmoid(pre), jax.nn.sigmoid(post)

    def total(a_plus, a_minus):
        return jnp.sum(TraceSTDP(a_plus, a_minus)(syn, s_pre, s_post, x_pre, x_post).weights)

    ga, gm = jax.grad(total, argnums=(0, 1))(0.3, 0.2)
    np.testing.assert_allclose(ga, jnp.sum(syn.contract(x_pre, s_post)), rtol=1e-5)
    np.testing.assert_allclose(gm, -jnp.sum(syn.contract(s_pre, x_post)), rtol=1e-5)
    grid = jnp.linspace(0.0, 1.0, 4)
    swept = jax.vmap(lambda a: total(a, 0.2))(grid)
    np.testing.assert_allclose(swept, [total(float(a), 0.2) for a in grid], rtol=1e-5)


# -- transforms: each its own unit test -------------------------------------------------


def _run(transform, updates, params):
    with jax.numpy_dtype_promotion("standard"):  # optax's int32 step counts
        state = transform.init(params)
        out, _ = transform.update(updates, state, params)
    return out


def _tree(W, b):
    return DenseSynapse((2, 2), key=jax.random.key(0), use_bias=True).updates(W, b)


W0 = jnp.array([[0.5, -0.25], [1.5, -2.0]])
B0 = jnp.array([0.1, -0.1])
U0 = jnp.array([[1.0, 2.0], [-1.0, 0.5]])


def test_scale_by_soft_bound_sign_decay_prior_and_leak():
    params, upd = _tree(W0, B0), _tree(U0, jnp.ones(2))
    out = _run(scale_by_soft_bound(1.0), upd, params)
    np.testing.assert_allclose(out.weights, U0 * (1.0 - jnp.abs(W0)))
    np.testing.assert_allclose(out.biases, 1.0)  # biases untouched
    np.testing.assert_allclose(_run(scale_by_soft_bound(0.0), upd, params).weights, U0)
    np.testing.assert_allclose(_run(scale_by_sign(1.0), upd, params).weights, -U0)
    np.testing.assert_allclose(_run(scale_by_sign(-2.0), upd, params).biases, 2.0)
    with pytest.raises(ValueError, match="sign"):
        scale_by_sign(0.0)
    out = _run(add_decay(0.1), upd, params)
    np.testing.assert_allclose(out.weights, U0 + 0.1 * W0, rtol=1e-6)
    np.testing.assert_allclose(out.biases, 1.0)
    np.testing.assert_allclose(_run(add_prior("l2", 0.1), upd, params).weights, U0 + 0.1 * W0)
    np.testing.assert_allclose(
        _run(add_prior("lasso", 0.1), upd, params).weights, U0 + 0.1 * jnp.sign(W0)
    )
    np.testing.assert_allclose(
        _run(add_prior("elastic_net", 0.1, 0.25), upd, params).weights,
        U0 + 0.1 * (0.25 * jnp.sign(W0) + 0.375 * W0),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="prior"):
        add_prior("l3", 0.1)
    with pytest.raises(ValueError, match="w_decay"):
        add_decay(-1.0)
    np.testing.assert_allclose(_run(add_leak(4.0), upd, params).weights, U0 - W0 / 4.0)
    np.testing.assert_allclose(_run(add_leak(0.0), upd, params).weights, U0)


def test_projections_land_the_step_on_the_projected_weights():
    params, upd = _tree(W0, B0), _tree(U0, jnp.ones(2))

    def landed(t):
        return optax.apply_updates(params.weights, _run(t, upd, params).weights)

    np.testing.assert_allclose(landed(clip_weights(-1.0, 1.0)), jnp.clip(W0 + U0, -1, 1), atol=1e-6)
    np.testing.assert_allclose(landed(clip_weights(None, 0.0)), jnp.minimum(W0 + U0, 0), atol=1e-6)
    np.testing.assert_allclose(landed(keep_nonnegative()), jnp.maximum(W0 + U0, 0), atol=1e-6)
    mask = jnp.array([[True, False], [False, True]])
    np.testing.assert_allclose(landed(mask_weights(mask)), jnp.where(mask, W0 + U0, 0), atol=1e-6)
    cols = landed(normalize_weights(2.0))
    np.testing.assert_allclose(jnp.abs(cols).sum(0), 2.0, rtol=1e-6)
    unit = landed(normalize_weights(1.0, axis=1, order=2))
    np.testing.assert_allclose(jnp.sqrt((unit**2).sum(1)), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="low"):
        clip_weights(1.0, 0.0)
    with pytest.raises(ValueError, match="order"):
        normalize_weights(1.0, order=3)


def test_hebbian_chain_equals_the_hand_written_step_for_each_optimizer():
    params, upd = _tree(W0, B0), _tree(U0, jnp.ones(2))
    # sgd: W + eta (s dW - wd W - lmbda sign W), clipped to [-w, w]
    chain = hebbian(0.1, "sgd", sign=1.0, w_decay=0.01, prior="l1", prior_lmbda=0.02, w_bound=1.0)
    got = optax.apply_updates(params, _run(chain, upd, params))
    step = 0.1 * (U0 - 0.01 * W0 - 0.02 * jnp.sign(W0))
    np.testing.assert_allclose(got.weights, jnp.clip(W0 + step, -1, 1), atol=1e-6)
    np.testing.assert_allclose(got.biases, B0 + 0.1, atol=1e-6)
    # adam's first step moves each leaf by eta * sign(update)
    got = optax.apply_updates(params, _run(hebbian(0.1, "adam"), upd, params))
    np.testing.assert_allclose(got.weights, W0 + 0.1 * jnp.sign(U0), atol=1e-5)
    # any optax optimiser
    got = optax.apply_updates(params, _run(hebbian(optimizer=optax.sgd(0.5)), upd, params))
    np.testing.assert_allclose(got.weights, W0 + 0.5 * U0, atol=1e-6)
    with pytest.raises(ValueError, match="not both"):
        hebbian(0.1, optax.sgd(0.1))
    with pytest.raises(ValueError, match="optim_type"):
        hebbian(0.1, "rmsprop")
    # stdp: W + eta dW - W / tau_w, clipped to [w_eps, w_bound - w_eps]
    got = optax.apply_updates(
        params, _run(stdp(0.5, w_bound=1.0, w_eps=0.01, tau_w=10.0), upd, params)
    )
    np.testing.assert_allclose(
        got.weights, jnp.clip(W0 + 0.5 * U0 - W0 / 10.0, 0.01, 0.99), atol=1e-6
    )


def test_plastic_filter_keeps_only_synapse_weights_and_biases(getkey):
    syn = plasticity.HebbianSynapse((3, 2), key=getkey(), eta=0.1, use_bias=True)
    leaves = jax.tree_util.tree_leaves(plasticity.plastic(syn))
    assert len(leaves) == 2
    assert {leaf.shape for leaf in leaves} == {(3, 2), (2,)}
    # eta, resist_scale, pre/post weights are never touched by the optimiser
    opt = syn.optimizer()
    new, _ = plasticity.apply_updates(
        syn, syn.updates(jnp.ones((1, 3)), jnp.ones((1, 2))), plasticity.init(opt, syn), opt
    )
    assert new.eta == syn.eta and new.resist_scale == syn.resist_scale
    assert isinstance(new.synapse, AbstractSynapse)


def test_traced_learning_options_compile_once_and_equal_separate_runs(getkey):
    syn = DenseSynapse((4, 3), key=getkey())
    pre = jax.random.normal(getkey(), (8, 4))
    post = jax.random.normal(getkey(), (8, 3))
    traces = []

    def train(eta, tau_w, w_decay):
        traces.append(None)
        opt = hebbian(eta, "adam", w_decay=w_decay, tau_w=tau_w, w_bound=2.0, soft_bound=True)
        state = plasticity.init(opt, syn)

        def body(carry, _):
            s, st = carry
            s, st = plasticity.apply_updates(s, Hebbian()(s, pre, post), st, opt)
            return (s, st), None

        (s, _), _ = jax.lax.scan(body, (syn, state), None, length=3)
        return s.weights

    etas = jnp.logspace(-3, -1, 16)
    swept = jax.jit(jax.vmap(train, in_axes=(0, None, None)))(etas, 50.0, 0.01)
    assert len(traces) == 1
    for i in (0, 7, 15):
        np.testing.assert_allclose(
            swept[i], train(float(etas[i]), 50.0, 0.01), rtol=1e-5, atol=1e-7
        )


# -- every numeric parameter of synapses and rules: vmap == loop, grad == FD ------------


def _make_synapse(kind, resist_scale, dtype=jnp.float32):
    key = jax.random.key(7)
    if kind == "dense":
        return DenseSynapse((5, 3), key=key, resist_scale=resist_scale, use_bias=True, dtype=dtype)
    if kind == "conv":
        return ConvSynapse((3, 3, 2, 4), (6, 6), key=key, resist_scale=resist_scale, dtype=dtype)
    if kind == "deconv":
        return DeconvSynapse(
            (3, 3, 2, 4), (3, 3), key=key, stride=2, resist_scale=resist_scale, dtype=dtype
        )
    from ngcx.synapses import MPSSynapse

    # cores drawn directly (an SVD in float64 here made later jit caches report 0 entries
    # in this jax version, which broke other tests' compile counts)
    k1, k2 = jax.random.split(key)
    core1 = jax.random.normal(k1, (1, 5, 2), dtype)
    core2 = jax.random.normal(k2, (2, 3, 1), dtype)
    return MPSSynapse(core1, core2, resist_scale=resist_scale)


def _synapse_input(kind, dtype=jnp.float32):
    shape = {"dense": (4, 5), "mps": (4, 5), "conv": (2, 6, 6, 2), "deconv": (2, 3, 3, 2)}[kind]
    return jax.random.normal(jax.random.key(3), shape, dtype)


@pytest.mark.parametrize("kind", ["dense", "conv", "deconv", "mps"])
def test_synapse_resist_scale_vmap_equals_loop_and_grad_equals_fd(kind):
    x = _synapse_input(kind)
    grid = jnp.array([0.5, 1.0, 2.5])

    def out(r):
        syn = _make_synapse(kind, r)
        y = syn(x)
        back = syn.backtransmit(y) if kind == "dense" else y
        return jnp.sum(y * y) + jnp.sum(back)

    swept = jax.vmap(out)(grid)
    np.testing.assert_allclose(swept, [out(float(r)) for r in grid], rtol=1e-5)
    with jax.enable_x64(True):
        x64 = _synapse_input(kind, jnp.float64)

        def f(r):
            y = _make_synapse(kind, r, jnp.float64)(x64)
            return jnp.sum(jnp.sin(y))

        r0 = jnp.float64(1.3)
        g = jax.grad(f)(r0)
        fd = (f(r0 + 1e-6) - f(r0 - 1e-6)) / 2e-6
    assert abs(float(fd)) > 1e-6
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    with pytest.raises(ValueError, match="resist_scale"):
        _make_synapse(kind, float("nan"))


RULE_PARAMS = [
    (Hebbian, {}, "pre_wght", [0.5, 1.0, 2.0]),
    (Hebbian, {}, "post_wght", [0.5, 1.0, 2.0]),
    (TraceSTDP, {"A_plus": 0.3, "A_minus": 0.2, "mu": 1.0, "w_bound": 2.0}, "A_plus", [0.0, 0.3, 1.0]),
    (TraceSTDP, {"A_plus": 0.3, "A_minus": 0.2, "mu": 1.0, "w_bound": 2.0}, "A_minus", [0.1, 0.3, 1.0]),
    (TraceSTDP, {"A_plus": 0.3, "A_minus": 0.2, "mu": 1.0, "w_bound": 2.0}, "mu", [0.5, 1.0, 2.0]),
    (TraceSTDP, {"A_plus": 0.3, "A_minus": 0.2, "mu": 1.0, "w_bound": 2.0}, "w_bound", [1.5, 2.0, 3.0]),
    (TraceSTDP, {"A_plus": 0.3, "A_minus": 0.2}, "pretrace_target", [-0.1, 0.0, 0.2]),
    (ExpSTDP, {"A_plus": 0.3, "A_minus": 0.2, "exp_beta": 1.0}, "exp_beta", [0.0, 1.0, 2.0]),
    (ExpSTDP, {"A_plus": 0.3, "A_minus": 0.2, "exp_beta": 1.0, "pretrace_target": 0.1}, "w_bound", [1.0, 2.0, 3.0]),
    (ExpSTDP, {"A_plus": 0.3, "A_minus": 0.2, "exp_beta": 1.0}, "pretrace_target", [-0.1, 0.1, 0.2]),
    (EventSTDP, {}, "lmbda", [0.0, 0.01, 0.5]),
    (EventSTDP, {}, "A_plus", [0.1, 1.0, 2.0]),
    (EventSTDP, {}, "A_minus", [0.1, 1.0, 2.0]),
    (EventSTDP, {}, "presyn_win_len", [0.0, 2.0, 4.0]),
    (EventSTDP, {}, "w_bound", [0.5, 1.0, 2.0]),
]  # fmt: skip


def _rule_update(rule, syn):
    k = jax.random.split(jax.random.key(11), 4)
    if isinstance(rule, EventSTDP):
        tols = jnp.where(jax.random.bernoulli(k[0], 0.5, (4, 5)), 4.0, 0.0)
        tols = tols.at[0, 0].set(5.0)
        post = jax.random.bernoulli(k[1], 0.5, (4, 3)).astype(jnp.float32)
        return rule(syn, tols, post, 5.0)
    if isinstance(rule, Hebbian):
        return rule(syn, jax.random.normal(k[0], (4, 5)), jax.random.normal(k[1], (4, 3)))
    s_pre = jax.random.bernoulli(k[0], 0.5, (4, 5)).astype(jnp.float32)
    s_post = jax.random.bernoulli(k[1], 0.5, (4, 3)).astype(jnp.float32)
    return rule(
        syn, s_pre, s_post, jax.random.uniform(k[2], (4, 5)), jax.random.uniform(k[3], (4, 3))
    )


@pytest.mark.parametrize(
    "cls, kwargs, name, grid", RULE_PARAMS, ids=[f"{c.__name__}-{n}" for c, _, n, _ in RULE_PARAMS]
)
def test_every_rule_parameter_vmaps_like_a_loop(cls, kwargs, name, grid):
    syn = DenseSynapse(
        (5, 3), key=jax.random.key(2), weight_init=plasticity_uniform(), use_bias=True
    )

    def upd(v):
        return _rule_update(cls(**{**kwargs, name: v}), syn).weights

    swept = jax.vmap(upd)(jnp.asarray(grid))
    for i, v in enumerate(grid):
        np.testing.assert_allclose(swept[i], upd(v), rtol=1e-5, atol=1e-7)
    assert not np.allclose(swept[0], swept[-1])  # the parameter reaches the update


def plasticity_uniform():
    from ngcx.initializers import DistributionGenerator

    return DistributionGenerator.uniform(0.1, 0.9)


def test_apply_updates_lands_exactly_on_the_bounds_and_equals_plain_optax(getkey):
    syn = DenseSynapse((6, 4), key=getkey())
    upd = syn.updates(3.0 * jax.random.normal(getkey(), (6, 4)))
    for opt in (
        stdp(0.5, w_bound=1.0, w_eps=0.01, tau_w=5.0),
        hebbian(0.5, "adam", w_bound=0.3, nonnegative=True, mask=jnp.eye(6, 4)),
        hebbian(0.5, normalize=2.0),
        clip_weights(-0.2, 0.2),
    ):
        state = plasticity.init(opt, syn)
        fast, _ = plasticity.apply_updates(syn, upd, state, opt)
        with jax.numpy_dtype_promotion("standard"):
            steps, _ = opt.update(plasticity.plastic(upd), state, plasticity.plastic(syn))
        plain = optax.apply_updates(syn.weights, steps.weights)
        np.testing.assert_allclose(fast.weights, plain, atol=1e-6)
    low_high = stdp(0.5, w_bound=1.0, w_eps=0.01)
    fast, _ = plasticity.apply_updates(syn, upd, plasticity.init(low_high, syn), low_high)
    low, high = np.float32(0.01), np.float32(1.0) - np.float32(0.01)
    assert fast.weights.min() >= low and fast.weights.max() <= high  # exactly on the bounds
    assert int(jnp.sum(fast.weights == high)) > 0 and int(jnp.sum(fast.weights == low)) > 0


def test_hebbian_chain_has_the_same_structure_inside_and_outside_jit():
    """Regression: a Python 0 ``w_bound`` became a traced 0 under ``jit``, which added a
    soft bound and, with ``nonnegative``, clipped the weights to [0, 0]; the chain built
    inside a trace must match the one built outside (same optimiser state), and a traced
    bound of 0 still means no bound."""
    syn = DenseSynapse((3, 2), key=jax.random.key(0))
    syn = eqx.tree_at(lambda s: s.weights, syn, jnp.full((3, 2), 0.5))
    updates = eqx.tree_at(lambda s: s.weights, syn, jnp.ones((3, 2)))
    for kwargs in (dict(nonnegative=True), dict(soft_bound=True), dict()):
        outside = plasticity.hebbian(0.1, "sgd", w_bound=0.0, **kwargs)
        state = plasticity.init(outside, syn)
        ref, _ = plasticity.apply_updates(syn, updates, state, outside)

        @jax.jit
        def inside(syn, state, kwargs=kwargs):
            opt = plasticity.hebbian(0.1, "sgd", w_bound=0.0, **kwargs)
            return plasticity.apply_updates(syn, updates, state, opt)

        new, _ = inside(syn, state)
        np.testing.assert_allclose(np.asarray(new.weights), np.asarray(ref.weights), rtol=1e-6)
        assert float(new.weights.min()) > 0.5  # moved up, not clipped to 0

        @jax.jit
        def traced_bound(syn, state, wb, kwargs=kwargs):
            opt = plasticity.hebbian(0.1, "sgd", w_bound=wb, **kwargs)
            return plasticity.apply_updates(syn, updates, opt.init(syn), opt)

        new, _ = traced_bound(syn, state, jnp.float32(0.0))
        np.testing.assert_allclose(np.asarray(new.weights), np.asarray(ref.weights), rtol=1e-6)
