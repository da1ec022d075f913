import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from ngcx import learning
from ngcx.initializers import DistributionGenerator
from ngcx.plasticity import HebbianSynapse, hebbian_rule
from ngcx.synapses import DenseSynapse


def test_dense_synapse_forward_backtransmit_and_grad(getkey):
    syn = DenseSynapse((3, 2), key=getkey(), use_bias=True, resist_scale=2.0)
    syn = eqx.tree_at(lambda s: s.biases, syn, jnp.array([0.5, -0.5]))
    x = jax.random.normal(getkey(), (4, 3))
    np.testing.assert_allclose(syn(x), 2.0 * x @ syn.weights + syn.biases[None], rtol=1e-6)
    post = jax.random.normal(getkey(), (4, 2))
    np.testing.assert_allclose(
        syn.backtransmit(post), jax.grad(lambda u: jnp.sum(post * syn(u)))(x), rtol=1e-5
    )
    g = jax.grad(lambda s: jnp.sum(s(x) ** 2))(syn)
    assert g.weights.shape == (3, 2) and g.biases.shape == (2,)
    np.testing.assert_allclose(jax.vmap(syn)(x), syn(x), rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        DenseSynapse((3, 0), key=getkey())


def test_weight_initialisers(getkey):
    syn = DenseSynapse((50, 40), key=getkey(), weight_init=DistributionGenerator.uniform(-0.3, 0.3))
    assert float(syn.weights.min()) >= -0.3 and float(syn.weights.max()) <= 0.3
    syn = DenseSynapse(
        (4, 4), key=getkey(), weight_init=DistributionGenerator.constant(2.0, hollow=True)
    )
    np.testing.assert_array_equal(syn.weights, 2.0 * (1 - np.eye(4)))
    w = DistributionGenerator.gaussian(0.0, 5.0, amin=-1.0, amax=1.0)(getkey(), (100,))
    assert float(jnp.abs(w).max()) <= 1.0
    with pytest.raises(ValueError, match="amin"):
        DistributionGenerator.gaussian(amin=1.0, amax=0.0)


def _pcn_layer_energy(W, b, pre_act, z, sigma):
    mu = pre_act @ W + b[None]
    return 0.5 * jnp.sum((z - mu) ** 2) / sigma**2


@settings(max_examples=12)
@given(
    st.integers(1, 6),
    st.integers(1, 5),
    st.integers(1, 5),
    st.floats(0.5, 2.0),
    st.integers(0, 2**16),
)
def test_hebbian_update_equals_negative_energy_gradient(batch, n_in, n_out, sigma, seed):
    @jax.jit  # one compile per example (its shapes are new) instead of one per eager op
    def rule_and_gradient(key, sigma):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        syn = HebbianSynapse((n_in, n_out), key=k1, use_bias=True, w_bound=0.0)
        syn = eqx.tree_at(lambda s: s.biases, syn, jax.random.normal(k4, (n_out,)))
        pre_act = jax.nn.relu(jax.random.normal(k2, (batch, n_in)))
        z = jax.random.normal(k3, (batch, n_out))
        post = (z - syn(pre_act)) / sigma**2  # the Gaussian error unit
        upd = hebbian_rule(syn, pre_act, post)
        energy_grad = jax.grad(_pcn_layer_energy, argnums=(0, 1))
        return upd, energy_grad(syn.weights, syn.biases, pre_act, z, sigma)

    upd, (gW, gb) = rule_and_gradient(jax.random.key(seed), jnp.float32(sigma))
    np.testing.assert_allclose(upd.weights, -gW, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(upd.biases, -gb, rtol=1e-4, atol=1e-5)


def test_hebbian_rule_hand_computed_with_modulation(getkey):
    syn = HebbianSynapse((2, 2), key=getkey(), pre_wght=2.0, post_wght=0.5, w_bound=0.0)
    pre = jnp.array([[1.0, 2.0], [0.0, 1.0]])
    post = jnp.array([[1.0, -1.0], [3.0, 0.0]])
    upd = syn.hebbian_updates(pre, post)
    np.testing.assert_allclose(upd.weights, np.asarray(pre).T @ np.asarray(post), rtol=1e-6)
    assert upd.biases is None
    # ngc-learn's soft bound (default w_bound = 1): the step is scaled by 1 - |W| (an optax
    # transform of the synapse's chain; the rule itself is the plain correlation)
    soft = HebbianSynapse((2, 2), key=getkey(), eta=0.1, sign_value=-1.0)
    dW = np.asarray(pre).T @ np.asarray(post)
    np.testing.assert_allclose(soft.hebbian_updates(pre, post).weights, dW, rtol=1e-6)
    W0 = np.asarray(soft.weights)
    opt = learning.synapse_optimizer(soft)
    new, _ = learning.apply_updates(
        soft, soft.hebbian_updates(pre, post), learning.init_optimizer(opt, soft), opt
    )
    expected = np.clip(W0 + 0.1 * dW * (1.0 - np.abs(W0)), -1.0, 1.0)
    np.testing.assert_allclose(new.weights, expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="pre"):
        syn.hebbian_updates(jnp.ones((2, 3)), post)


def _one_step(syn, pre, post):
    opt = learning.synapse_optimizer(syn)
    state = learning.init_optimizer(opt, syn)
    new, _ = learning.apply_updates(syn, syn.hebbian_updates(pre, post), state, opt)
    return new


def test_sgd_step_follows_ngclearn_sign_convention_with_decay_and_priors(getkey):
    pre = jnp.array([[1.0, 0.5]])
    post = jnp.array([[2.0, -1.0]])
    dW = np.asarray(pre).T @ np.asarray(post)
    base = dict(key=getkey(), eta=0.1, w_bound=0.0)
    syn = HebbianSynapse((2, 2), **base)
    W = np.asarray(syn.weights)
    # ngc-learn's optimisers descend: sign_value = +1 descends the Hebbian product ...
    np.testing.assert_allclose(_one_step(syn, pre, post).weights, W - 0.1 * dW, rtol=1e-6)
    # ... and sign_value = -1 (ngc-museum's setting) ascends it
    syn = HebbianSynapse((2, 2), **base, sign_value=-1.0)
    np.testing.assert_allclose(_one_step(syn, pre, post).weights, W + 0.1 * dW, rtol=1e-6)
    # decay and priors always pull the weights towards zero, whatever the sign
    for sign in (1.0, -1.0):
        syn = HebbianSynapse((2, 2), **base, sign_value=sign, w_decay=0.5)
        np.testing.assert_allclose(
            _one_step(syn, pre, post).weights, W - 0.1 * (sign * dW + 0.5 * W), rtol=1e-5
        )
    syn = HebbianSynapse((2, 2), **base, sign_value=-1.0, prior=("l1", 0.2))
    np.testing.assert_allclose(
        _one_step(syn, pre, post).weights, W + 0.1 * (dW - 0.2 * np.sign(W)), rtol=1e-5
    )
    syn = HebbianSynapse((2, 2), **base, sign_value=-1.0, prior=("ridge", 0.2))
    np.testing.assert_allclose(
        _one_step(syn, pre, post).weights, W + 0.1 * (dW - 0.2 * W), rtol=1e-5
    )
    # ngc-learn's elastic net: lmbda = (scale, l1_ratio)
    syn = HebbianSynapse((2, 2), **base, sign_value=-1.0, prior=("elastic_net", (0.2, 0.25)))
    reg = 0.2 * (0.25 * np.sign(W) + 0.75 / 2 * W)
    np.testing.assert_allclose(_one_step(syn, pre, post).weights, W + 0.1 * (dW - reg), rtol=1e-5)


def test_decay_never_touches_biases(getkey):
    syn = HebbianSynapse((2, 2), key=getkey(), eta=0.1, w_bound=0.0, use_bias=True, w_decay=1.0)
    syn = eqx.tree_at(lambda s: s.biases, syn, jnp.array([1.0, -1.0]))
    new = _one_step(syn, jnp.zeros((1, 2)), jnp.zeros((1, 2)))
    np.testing.assert_allclose(new.biases, [1.0, -1.0])
    np.testing.assert_allclose(new.weights, 0.9 * syn.weights, rtol=1e-6)


def test_bounds_and_nonnegativity_are_projections(getkey):
    pre = jnp.ones((1, 3))
    post = jnp.array([[10.0, -10.0]])
    small = DistributionGenerator.uniform(-0.1, 0.1)
    syn = HebbianSynapse(
        (3, 2), key=getkey(), eta=1.0, w_bound=0.5, sign_value=-1.0, weight_init=small
    )
    new = _one_step(syn, pre, post)
    assert float(jnp.abs(new.weights).max()) <= 0.5
    np.testing.assert_allclose(new.weights[:, 0], 0.5)
    np.testing.assert_allclose(new.weights[:, 1], -0.5)
    syn = HebbianSynapse((3, 2), key=getkey(), eta=1.0, is_nonnegative=True, w_bound=0.0)
    new = _one_step(syn, pre, post)
    assert float(new.weights.min()) >= 0.0
    syn = HebbianSynapse((3, 2), key=getkey(), eta=1.0, w_bound=0.5, is_nonnegative=True)
    new = _one_step(syn, pre, post)
    assert float(new.weights.min()) >= 0.0 and float(new.weights.max()) <= 0.5


def test_adam_and_nag_match_optax_directly(getkey):
    pre = jax.random.normal(getkey(), (4, 3))
    post = jax.random.normal(getkey(), (4, 2))
    for optim, ref in (("adam", optax.adam(0.01)), ("nag", optax.sgd(0.01, 0.9, nesterov=True))):
        syn = HebbianSynapse((3, 2), key=getkey(), eta=0.01, optim_type=optim, w_bound=0.0)
        opt = learning.synapse_optimizer(syn)
        state = learning.init_optimizer(opt, syn)
        ref_state = ref.init(syn.weights)
        W = syn.weights
        for _ in range(3):
            upd = syn.hebbian_updates(pre, post)
            syn, state = learning.apply_updates(syn, upd, state, opt)
            with jax.numpy_dtype_promotion("standard"):
                step, ref_state = ref.update(upd.weights, ref_state, W)
            W = W + step
        np.testing.assert_allclose(syn.weights, W, rtol=1e-5, atol=1e-7)


def test_per_module_applies_each_synapse_options(getkey):
    a = HebbianSynapse((2, 2), key=getkey(), eta=0.1, w_bound=0.0, sign_value=-1.0)
    b = HebbianSynapse((2, 2), key=getkey(), eta=0.2, w_bound=0.0)
    opt = learning.per_module([learning.synapse_optimizer(a), learning.synapse_optimizer(b)])
    state = learning.init_optimizer(opt, (a, b))
    pre, post = jnp.ones((1, 2)), jnp.ones((1, 2))
    upd = (a.hebbian_updates(pre, post), b.hebbian_updates(pre, post))
    (a2, b2), _ = jax.jit(lambda m, u, s: learning.apply_updates(m, u, s, opt))((a, b), upd, state)
    np.testing.assert_allclose(a2.weights, a.weights + 0.1, rtol=1e-6)
    np.testing.assert_allclose(b2.weights, b.weights - 0.2, rtol=1e-6)


def test_bad_options_raise(getkey):
    with pytest.raises(ValueError, match="optim_type"):
        HebbianSynapse((2, 2), key=getkey(), optim_type="rmsprop")
    with pytest.raises(ValueError, match="eta"):
        HebbianSynapse((2, 2), key=getkey(), eta=-1.0)
    with pytest.raises(ValueError, match="prior"):
        HebbianSynapse((2, 2), key=getkey(), prior=("l3", 0.1))
    with pytest.raises(ValueError, match="l1_ratio"):
        HebbianSynapse((2, 2), key=getkey(), prior=("l1l2", (0.1, 2.0)))
    with pytest.raises(ValueError, match="optim_type"):
        learning.hebbian_optimizer(0.1, optim_type="bad")
