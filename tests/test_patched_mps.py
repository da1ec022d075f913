"""Patched synapses (stacked blocks), HebbianPatchedSynapse, and the MPS synapse's random
initialisation, backward projection and local rule."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import TypeCheckError

from ngcx import plasticity
from ngcx.plasticity import Hebbian, HebbianPatchedSynapse, MPSHebbian
from ngcx.synapses import (
    DenseSynapse,
    MPSSynapse,
    PatchedSynapse,
    StaticPatchedSynapse,
    patch_geometry,
)


def _dense_reference(blocks, n, core, stride):
    """ngc-learn's construction, written out: patches written in order over a zero
    matrix (the later over the earlier), edge rows/columns zeroed."""
    (di, dj), (si, sj) = core, stride
    W = np.zeros((n * di + 2 * si, n * dj + 2 * sj))
    blocks = np.asarray(blocks)
    for k in range(n):
        W[k * di : k * di + di + 2 * si, k * dj : k * dj + dj + 2 * sj] = blocks[k]
    if si:
        W[:si] = W[-si:] = 0.0
    if sj:
        W[:, :sj] = W[:, -sj:] = 0.0
    return W


STRIDES = [(0, 0), (2, 1)]


@pytest.mark.parametrize("stride", STRIDES)
def test_patched_map_equals_its_dense_block_diagonal(stride, getkey):
    syn = PatchedSynapse((12, 9), 3, stride, key=getkey(), use_bias=True, resist_scale=1.5)
    full, core, pshape = patch_geometry((12, 9), 3, stride)
    assert syn.shape == full and syn.weights.shape == (3, *pshape)
    # an unmasked copy of the blocks: the dense reference keeps only what the mask keeps
    raw = jax.random.normal(getkey(), syn.weights.shape)
    D = _dense_reference(raw, 3, core, stride)
    syn = syn.with_dense(jnp.asarray(D, jnp.float32))
    np.testing.assert_allclose(syn.to_dense(), D, rtol=1e-6, atol=1e-6)
    x = jax.random.normal(getkey(), (4, full[0]))
    e = jax.random.normal(getkey(), (4, full[1]))
    np.testing.assert_allclose(
        syn(x), 1.5 * x @ D + np.asarray(syn.biases)[None], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(syn.backtransmit(e), 1.5 * e @ D.T, rtol=1e-5, atol=1e-5)
    # the contraction is the derivative of <post, g_W(pre)> w.r.t. the blocks
    g = eqx.filter_grad(lambda s: jnp.sum(e * (s(x) - s.biases[None])) / 1.5)(syn)
    np.testing.assert_allclose(g.weights, syn.contract(x, e), rtol=1e-4, atol=1e-5)
    # and, on the patches, the dense outer product
    dense_C = np.where(D != 0, np.asarray(x).T @ np.asarray(e), 0.0)
    C_dense = eqx.tree_at(lambda s: s.weights, syn, syn.contract(x, e)).to_dense()
    np.testing.assert_allclose(C_dense, dense_C, rtol=1e-4, atol=1e-5)
    assert StaticPatchedSynapse is PatchedSynapse


def test_hebbian_on_patched_equals_masked_dense_hebbian(getkey):
    """The same rule object, the same optax chain: patched == dense block-diagonal masked."""
    pat = HebbianPatchedSynapse(
        (8, 6), 2, (1, 1), key=getkey(), eta=0.05, optim_type="adam", w_bound=2.0,
        sign_value=-1.0, prior=("l2", 0.01), use_bias=True, pre_wght=0.7,
    )  # fmt: skip
    full = pat.synapse.shape
    D0 = pat.synapse.to_dense()
    mask = np.asarray(
        eqx.tree_at(lambda s: s.weights, pat.synapse, jnp.ones(pat.weights.shape)).to_dense()
    )
    dense = plasticity.HebbianSynapse(
        full, key=getkey(), eta=0.05, optim_type="adam", w_bound=2.0, sign_value=-1.0,
        prior=("l2", 0.01), use_bias=True, pre_wght=0.7,
    )  # fmt: skip
    dense = eqx.tree_at(lambda p: p.synapse.weights, dense, D0)
    dense = eqx.tree_at(
        lambda p: p.options.mask, dense, jnp.asarray(mask, bool), is_leaf=lambda v: v is None
    )
    opt_p, opt_d = pat.optimizer(), dense.optimizer()
    st_p, st_d = plasticity.init(opt_p, pat), plasticity.init(opt_d, dense)

    @jax.jit
    def step(pat, dense, st_p, st_d, x, y):
        pat, st_p = plasticity.apply_updates(pat, pat.updates(x, y), st_p, opt_p)
        dense, st_d = plasticity.apply_updates(dense, dense.updates(x, y), st_d, opt_d)
        return pat, dense, st_p, st_d

    for _ in range(4):
        x = jax.random.normal(getkey(), (5, full[0]))
        y = jax.random.normal(getkey(), (5, full[1]))
        pat, dense, st_p, st_d = step(pat, dense, st_p, st_d, x, y)
    np.testing.assert_allclose(pat.synapse.to_dense(), dense.weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pat.biases, dense.biases, rtol=1e-5, atol=1e-6)
    assert not np.allclose(pat.synapse.to_dense(), D0)
    # the bare rule on the bare synapses: dW_patched (densified) == dW_dense * mask
    x = jax.random.normal(getkey(), (3, full[0]))
    y = jax.random.normal(getkey(), (3, full[1]))
    rule = Hebbian(0.5, 2.0)
    dp = rule(pat.synapse, x, y)
    dd = rule(dense.synapse, x, y)
    np.testing.assert_allclose(dp.to_dense(), dd.weights * mask, rtol=1e-5, atol=1e-5)


def test_hebbian_patched_learns_a_block_diagonal_map(getkey):
    """Error-driven Hebbian learning (post = target - prediction, ascent) fits a
    block-diagonal linear teacher; masked connections stay exactly 0."""
    teacher = PatchedSynapse((12, 8), 4, key=getkey())
    syn = HebbianPatchedSynapse(
        (12, 8), 4, key=getkey(), eta=0.05, sign_value=-1.0, w_bound=0.0, p_conn=0.8
    )
    opt = syn.optimizer()
    state = plasticity.init(opt, syn)
    X = jax.random.normal(getkey(), (64, 12))
    T = teacher(X)

    def loss(s):
        return float(jnp.mean((T - s(X)) ** 2))

    @jax.jit
    def step(syn, state):
        err = (T - syn(X)) / X.shape[0]
        return plasticity.apply_updates(syn, syn.updates(X, err), state, opt)

    before = loss(syn)
    for _ in range(150):
        syn, state = step(syn, state)
    assert loss(syn) < 0.5 * before
    masked = ~np.asarray(syn.synapse.mask)
    assert masked.any() and np.all(np.asarray(syn.weights)[masked] == 0.0)


def test_patched_jit_vmap_and_grad(getkey):
    syn = PatchedSynapse((10, 6), 2, (1, 1), key=getkey(), use_bias=True)
    x = jax.random.normal(getkey(), (3, syn.shape[0]))
    np.testing.assert_allclose(jax.jit(jax.vmap(syn))(x), syn(x), rtol=1e-5, atol=1e-6)
    grid = jnp.array([0.5, 1.0, 2.0])

    def out(r):
        s = eqx.tree_at(lambda s: s.resist_scale, syn, r)
        return jnp.sum(jnp.sin(s(x))) + jnp.sum(s.backtransmit(s(x)))

    loop = jax.jit(out)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(out))(grid), [loop(r) for r in grid], rtol=1e-5, atol=1e-5
    )
    with jax.enable_x64(True):
        s64 = PatchedSynapse((10, 6), 2, (1, 1), key=jax.random.key(2), dtype=jnp.float64)
        x64 = jnp.asarray(np.asarray(x), jnp.float64)

        @jax.jit
        def f(xx):
            return jnp.sum(jnp.sin(s64(xx)))

        g = jax.grad(f)(x64)
        h = 1e-6
        direction = jax.random.normal(jax.random.key(3), x64.shape, jnp.float64)
        fd = (f(x64 + h * direction) - f(x64 - h * direction)) / (2 * h)
        np.testing.assert_allclose(np.sum(np.asarray(g) * direction), fd, rtol=1e-6)
    # a single sample (no batch axis)
    np.testing.assert_allclose(syn(x[0]), syn(x)[0], rtol=1e-6)
    assert syn.contract(x[0], syn(x)[0]).shape == syn.weights.shape


def test_patched_masks(getkey):
    syn = PatchedSynapse((40, 20), 4, key=getkey(), p_conn=0.5)
    frac = float(np.mean(np.asarray(syn.mask)))
    assert 0.3 < frac < 0.7
    np.testing.assert_array_equal(np.asarray(syn.weights)[~np.asarray(syn.mask)], 0.0)
    dense_mask = np.zeros((8, 6))
    dense_mask[:4, :3] = 1.0  # keep only the first patch
    one = PatchedSynapse((8, 6), 2, key=getkey(), block_mask=dense_mask)
    D = np.asarray(one.to_dense())
    assert np.all(D[4:] == 0) and np.any(D[:4, :3] != 0)
    assert PatchedSynapse((8, 6), 2, key=getkey()).mask is None  # the fast path


def test_patched_bad_inputs(getkey):
    key = getkey()
    with pytest.raises(ValueError, match="shape"):
        PatchedSynapse((0, 4), 1, key=key)
    with pytest.raises(ValueError, match="n_sub_models"):
        PatchedSynapse((4, 4), 5, key=key)
    with pytest.raises(ValueError, match="n_sub_models"):
        PatchedSynapse((4, 4), 0, key=key)
    with pytest.raises(ValueError, match="stride_shape"):
        PatchedSynapse((4, 4), 2, (-1, 0), key=key)
    with pytest.raises(ValueError, match="p_conn"):
        PatchedSynapse((4, 4), 2, key=key, p_conn=0.0)
    with pytest.raises(ValueError, match="resist_scale"):
        PatchedSynapse((4, 4), 2, key=key, resist_scale=float("nan"))
    with pytest.raises(ValueError, match="block_mask"):
        PatchedSynapse((4, 4), 2, key=key, block_mask=np.ones((3, 3)))
    syn = PatchedSynapse((4, 4), 2, key=key)
    with pytest.raises(ValueError, match="`x`"):
        syn(jnp.ones((2, 5)))
    with pytest.raises((ValueError, TypeCheckError), match="post"):
        syn.contract(jnp.ones((2, 4)), jnp.ones((3, 4)))
    with pytest.raises(ValueError, match="optim_type"):
        HebbianPatchedSynapse((4, 4), 2, key=key, optim_type="rmsprop")
    with pytest.raises(ValueError, match="prior"):
        HebbianPatchedSynapse((4, 4), 2, key=key, prior=("l3", 0.1))


# -- MPS -----------------------------------------------------------------------------


def test_mps_random_init_and_backward_projection(getkey):
    syn = MPSSynapse((30, 20), 4, key=getkey())
    assert syn.core1.shape == (1, 30, 4) and syn.core2.shape == (4, 20, 1)
    assert syn.shape == (30, 20) and syn.bond_dim == 4
    std = float(jnp.std(jnp.concatenate([syn.core1.ravel(), syn.core2.ravel()])))
    assert 0.04 < std < 0.06  # ngc-learn's N(0, 0.05^2)
    e = jax.random.normal(getkey(), (3, 20))
    np.testing.assert_allclose(syn.project_backward(e), e @ syn.weights.T, rtol=1e-4, atol=1e-7)
    r = MPSSynapse.from_cores(syn.core1, syn.core2, resist_scale=2.0)
    np.testing.assert_allclose(r.backtransmit(e), 2.0 * e @ syn.weights.T, rtol=1e-4, atol=1e-7)
    # the backward projection is the transpose (vjp) of the forward map
    x = jax.random.normal(getkey(), (3, 30))
    _, vjp = jax.vjp(r, x)
    np.testing.assert_allclose(vjp(e)[0], r.project_backward(e), rtol=1e-4, atol=1e-6)
    # the older form (two cores) still builds the same synapse
    old = MPSSynapse(syn.core1, syn.core2)
    np.testing.assert_allclose(old(x), syn(x))


def test_mps_rule_is_the_negative_gradient_of_the_reconstruction_error(getkey):
    syn = MPSSynapse((6, 4), 3, key=getkey(), biases=jnp.zeros(4) + 0.1)
    x = jax.random.normal(getkey(), (5, 6))
    t = jax.random.normal(getkey(), (5, 4))

    def energy(s):
        return 0.5 * jnp.sum((t - s(x)) ** 2)

    grads = jax.grad(energy)(syn)
    upd = MPSHebbian()(syn, x, t - syn(x))
    np.testing.assert_allclose(upd.core1, -grads.core1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(upd.core2, -grads.core2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(upd.biases, -grads.biases, rtol=1e-5, atol=1e-6)
    assert float(upd.resist_scale) == 0.0
    # weights scale linearly
    upd2 = MPSHebbian(pre_wght=2.0, post_wght=0.5)(syn, x, t - syn(x))
    np.testing.assert_allclose(upd2.core1, upd.core1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(upd2.biases, 0.5 * upd.biases, rtol=1e-5, atol=1e-6)


def test_mps_rule_learns_a_low_rank_map(getkey):
    """ngc-learn's evolve, G += eta * dG with post = target - output, fits a rank-2
    teacher (the reconstruction loss it descends falls by > 10x), under jit."""
    A = jax.random.normal(getkey(), (8, 2)) @ jax.random.normal(getkey(), (2, 5)) / 3.0
    X = jax.random.normal(getkey(), (64, 8))
    T = X @ A
    syn = MPSSynapse((8, 5), 2, key=getkey())
    rule = MPSHebbian()
    eta = 0.02 / X.shape[0]

    @jax.jit
    def step(syn):
        upd = rule(syn, X, T - syn(X))
        return eqx.apply_updates(syn, jax.tree_util.tree_map(lambda u: eta * u, upd))

    def loss(s):
        return float(jnp.mean((T - s(X)) ** 2))

    losses = [loss(syn)]
    for i in range(400):
        syn = step(syn)
        if i < 5:
            losses.append(loss(syn))
    assert loss(syn) < 0.1 * losses[0]
    assert all(b <= a for a, b in zip(losses, losses[1:], strict=False))
    # the same step through optax (hebbian chain, sgd ascent on the rule's update)
    opt = plasticity.hebbian(eta)
    params = eqx.filter(syn, eqx.is_inexact_array)
    state = opt.init(params)
    upd = rule(syn, X, T - syn(X))
    with jax.numpy_dtype_promotion("standard"):
        steps, _ = opt.update(eqx.filter(upd, eqx.is_inexact_array), state, params)
    np.testing.assert_allclose(
        eqx.apply_updates(syn, steps).core1, step(syn).core1, rtol=1e-5, atol=1e-7
    )


def test_mps_rule_jit_vmap(getkey):
    syn = MPSSynapse((5, 3), 2, key=getkey())
    x = jax.random.normal(getkey(), (4, 5))
    e = jax.random.normal(getkey(), (4, 3))
    grid = jnp.array([0.5, 1.0, 3.0])

    def f(a):
        return MPSHebbian(pre_wght=a)(syn, x, e).core2

    np.testing.assert_allclose(
        jax.jit(jax.vmap(f))(grid), jnp.stack([f(float(a)) for a in grid]), rtol=1e-5
    )
    # vmap over a batch of samples: the per-sample updates sum to the batch update
    per = jax.vmap(lambda xi, ei: MPSHebbian()(syn, xi, ei).core1)(x, e)
    np.testing.assert_allclose(per.sum(0), MPSHebbian()(syn, x, e).core1, rtol=1e-5, atol=1e-6)


def test_mps_bad_inputs(getkey):
    with pytest.raises(ValueError, match="key"):
        MPSSynapse((4, 3), 2)
    with pytest.raises(ValueError, match="bond_dim"):
        MPSSynapse((4, 3), 0, key=getkey())
    with pytest.raises(ValueError, match="shape"):
        MPSSynapse((4, -3), 2, key=getkey())
    with pytest.raises(ValueError, match="biases"):
        MPSSynapse((4, 3), 2, key=getkey(), biases=jnp.zeros(4))
    syn = MPSSynapse((4, 3), 2, key=getkey())
    with pytest.raises(ValueError, match="post"):
        syn.project_backward(jnp.ones((2, 4)))
    with pytest.raises(ValueError, match="dcores"):
        syn.updates((syn.core2, syn.core1))
    with pytest.raises(TypeError, match="synapse"):
        MPSHebbian()(DenseSynapse((4, 3), key=getkey()), jnp.ones(4), jnp.ones(3))
    with pytest.raises(ValueError, match="pre_wght"):
        MPSHebbian(pre_wght=float("inf"))
