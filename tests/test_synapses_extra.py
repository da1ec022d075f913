"""DenseSynapse's connectivity options (p_conn, mask, stochastic release, axonal delays),
STPDenseSynapse (Tsodyks-Markram), the conductance synapses and the locally connected
SparseTensorSynapse: dynamics against analytic solutions, jit/vmap/grad, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ngcx import plasticity
from ngcx.initializers import DistributionGenerator
from ngcx.synapses import (
    AbstractSynapse,
    AlphaSynapse,
    DenseSynapse,
    DoubleExpSynapse,
    ExponentialSynapse,
    SparseTensorSynapse,
    StaticSparseTensorSynapse,
    StaticSynapse,
    STPDenseSynapse,
    connectivity_mask,
    sparse_tensor_connectivity,
)


KEY = jax.random.key(0)


# ---------------------------------------------------------------------------- dense
def test_default_dense_is_unchanged_and_plain():
    syn = DenseSynapse((6, 4), key=KEY)
    wkey, _ = jax.random.split(KEY)
    want = DistributionGenerator.fan_in_gaussian()(wkey, (6, 4), None)
    np.testing.assert_array_equal(syn.weights, want)
    assert syn.mask is None and syn.p_release is None and syn.delays is None
    assert StaticSynapse is DenseSynapse
    # the default map is one matmul: no select from a mask, no extra ops
    x = jnp.ones((2, 6))
    jaxpr = jax.make_jaxpr(lambda w, x: eqx.tree_at(lambda s: s.weights, syn, w)(x))(syn.weights, x)
    prims = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert "select_n" not in prims and prims.count("dot_general") == 1


def test_p_conn_mask_is_fixed_and_kept():
    syn = DenseSynapse((40, 30), key=KEY, p_conn=0.25)
    m = np.asarray(syn.mask)
    mf = jnp.asarray(m, jnp.float32)
    assert m.dtype == bool and 0.15 < m.mean() < 0.35
    assert np.all(np.asarray(syn.weights)[~m] == 0)
    x = jax.random.normal(KEY, (3, 40))
    np.testing.assert_allclose(syn(x), x @ (syn.weights * mf), rtol=1e-5, atol=1e-6)
    # a weight moved off the mask does not transmit, and the gradient is zero there
    moved = eqx.tree_at(lambda s: s.weights, syn, syn.weights + 1.0)
    np.testing.assert_allclose(moved(x), x @ ((syn.weights + 1.0) * mf), rtol=1e-5, atol=1e-5)
    g = jax.grad(lambda w: jnp.sum(eqx.tree_at(lambda s: s.weights, syn, w)(x) ** 2))(syn.weights)
    assert np.all(np.asarray(g)[~m] == 0)
    post = jax.random.normal(KEY, (3, 30))
    c = syn.contract(x, post)
    np.testing.assert_allclose(c, (x.T @ post) * mf, rtol=1e-5, atol=1e-5)
    # a Hebbian rule through optax with mask_weights keeps absent connections absent
    opt = optax.chain(optax.sgd(0.1), plasticity.mask_weights(syn.mask))
    upd = plasticity.Hebbian()(syn, x, post)
    new, _ = plasticity.apply_updates(syn, upd, plasticity.init(opt, syn), opt)
    assert np.all(np.asarray(new.weights)[~m] == 0)
    assert not np.allclose(new.weights, syn.weights)


def test_user_mask_and_p_conn_combine():
    user = np.zeros((5, 4), bool)
    user[:3] = True
    syn = DenseSynapse((5, 4), key=KEY, mask=user)
    np.testing.assert_array_equal(syn.mask, user)
    both = DenseSynapse((5, 4), key=KEY, mask=user, p_conn=0.5)
    assert np.all(np.asarray(both.mask) <= user)
    assert connectivity_mask(None, (5, 4)) is None
    np.testing.assert_array_equal(connectivity_mask(None, (5, 4), 1.0, user), user)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"p_conn": 0.0}, "p_conn"),
        ({"p_conn": 1.5}, "p_conn"),
        ({"p_release_mean": 0.0}, "p_release_mean"),
        ({"max_delay_steps": -1}, "max_delay_steps"),
        ({"mask": np.ones((3, 3))}, "mask"),
    ],
)
def test_dense_option_errors_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DenseSynapse((5, 4), key=KEY, **kwargs)


def test_release_is_bernoulli_per_unit():
    syn = DenseSynapse((8, 3), key=KEY, p_release_mean=0.4)
    p = np.asarray(syn.p_release)
    assert p.shape == (8,) and np.all((p >= 0.3 - 1e-6) & (p <= 0.5 + 1e-6))
    state = syn.init_state((4000,))
    x = jnp.ones((4000, 8))
    y, new = syn.step(state, x, key=jax.random.key(3))
    frac = np.asarray(new.delayed_inputs).mean(axis=0)
    np.testing.assert_allclose(frac, p, atol=0.04)
    np.testing.assert_allclose(y, syn(new.delayed_inputs), rtol=1e-5, atol=1e-5)
    # same key, same draw; the key is required
    y2, _ = syn.step(state, x, key=jax.random.key(3))
    np.testing.assert_array_equal(y, y2)
    with pytest.raises(ValueError, match="key"):
        syn.step(state, x)
    # without options step is the map
    plain = DenseSynapse((8, 3), key=KEY)
    y0, _ = plain.step(plain.init_state((2,)), x[:2])
    np.testing.assert_array_equal(y0, plain(x[:2]))


def test_delays_ring_buffer_matches_history():
    syn = DenseSynapse((4, 2), key=KEY, max_delay_steps=3)
    d = np.asarray(syn.delays)
    assert d.min() >= 1 and d.max() <= 3
    syn = eqx.tree_at(lambda s: s.delays, syn, jnp.array([1, 2, 3, 1], jnp.int32))
    xs = jax.random.normal(KEY, (9, 2, 4))

    @eqx.filter_jit
    def run(syn, xs):
        def body(state, x):
            y, state = syn.step(state, x)
            return state, (y, state.delayed_inputs)

        return jax.lax.scan(body, syn.init_state((2,)), xs)[1]

    ys, sent = run(syn, xs)
    hist = np.concatenate([np.zeros((3, 2, 4), np.float32), np.asarray(xs)])
    for t in range(9):
        want = np.stack([hist[3 + t - int(d_i), :, i] for i, d_i in enumerate([1, 2, 3, 1])], -1)
        np.testing.assert_allclose(sent[t], want)
        np.testing.assert_allclose(ys[t], np.asarray(syn(jnp.asarray(want))), rtol=1e-5)
    with pytest.raises(ValueError, match="x"):
        syn.step(syn.init_state((3,)), xs[0])


def test_dense_options_vmap_over_batch_and_parameter():
    syn = DenseSynapse((5, 3), key=KEY, p_conn=0.6, max_delay_steps=2, p_release_mean=0.7)
    x = jax.random.normal(KEY, (4, 5))
    keys = jax.random.split(KEY, 4)

    def one(x, k):
        return syn.step(syn.init_state(()), x, key=k)[0]

    batched = jax.jit(jax.vmap(one))(x, keys)
    one_j = jax.jit(one)
    loop = jnp.stack([one_j(x[i], keys[i]) for i in range(4)])
    np.testing.assert_allclose(batched, loop, rtol=1e-6)
    scales = jnp.array([0.5, 1.0, 2.0])

    def with_r(r):
        return eqx.tree_at(lambda s: s.resist_scale, syn, r)(x)

    np.testing.assert_allclose(
        jax.vmap(with_r)(scales), jnp.stack([with_r(r) for r in scales]), rtol=1e-6
    )


# ---------------------------------------------------------------------------- STP
def _tm_recursion(U, tau_f, tau_d, period, n):
    """Tsodyks-Markram for a regular train: efficacies u+ x- at each spike (float64)."""
    u, x, out = 0.0, 1.0, []
    for k in range(n):
        if k:
            u = u * np.exp(-period / tau_f) if tau_f > 0 else 0.0
            x = 1.0 - (1.0 - x) * np.exp(-period / tau_d) if tau_d > 0 else 1.0
        u_plus = u + U * (1.0 - u) if tau_f > 0 else U
        out.append(u_plus * x)
        x = x * (1.0 - u_plus) if tau_d > 0 else 1.0
        u = u_plus
    return np.array(out)


@pytest.mark.parametrize(
    "U, tau_f, tau_d",
    [(0.1, 750.0, 50.0), (0.5, 20.0, 400.0), (0.2, 0.0, 100.0), (0.2, 300.0, 0.0)],
    ids=["facilitating", "depressing", "no-stf", "no-std"],
)
def test_stp_regular_train_matches_tsodyks_markram(U, tau_f, tau_d):
    period, n, dt = 10, 12, 1.0
    syn = STPDenseSynapse(
        (1, 1), key=KEY, tau_f=tau_f, tau_d=tau_d,
        resources_init=DistributionGenerator.constant(U), weight_init=DistributionGenerator.constant(2.0),
    )  # fmt: skip
    steps = period * n
    spikes = np.zeros((steps, 1), np.float32)
    spikes[::period] = 1.0

    def body(state, s):
        y, state = syn.step(state, s, dt=dt)
        return state, y

    _, ys = jax.lax.scan(body, syn.init_state(()), jnp.asarray(spikes))
    got = np.asarray(ys)[::period, 0]
    want = 2.0 * _tm_recursion(U, tau_f, tau_d, period * dt, n)
    np.testing.assert_allclose(got, want, rtol=5e-5)
    assert np.all(np.asarray(ys)[spikes[:, 0] == 0] == 0)
    if tau_f > 0 and tau_d > 0:
        # steady state of the recursion in closed form
        ef, ed = np.exp(-period / tau_f), np.exp(-period / tau_d)
        u_inf = U / (1 - (1 - U) * ef)
        x_inf = (1 - ed) / (1 - (1 - u_inf) * ed)
        long = 2.0 * _tm_recursion(U, tau_f, tau_d, period, 400)[-1]
        np.testing.assert_allclose(long, 2.0 * u_inf * x_inf, rtol=1e-6)
    # facilitation grows the efficacy, depression shrinks it
    if (U, tau_f) == (0.1, 750.0):
        assert got[3] > got[0]
    if (U, tau_d) == (0.5, 400.0):
        assert got[3] < got[0]


def test_stp_per_synapse_batch_vmap_grad():
    syn = STPDenseSynapse((3, 2), key=KEY, tau_f=100.0, tau_d=30.0, p_conn=1.0)
    s = (jax.random.uniform(KEY, (5, 4, 3)) < 0.5).astype(jnp.float32)

    def run(syn, s):  # s: (T, *batch, n_in)
        def body(state, x):
            y, state = syn.step(state, x, dt=1.0)
            return state, y

        return jax.lax.scan(body, syn.init_state(s.shape[1:-1]), s)[1]

    batched = eqx.filter_jit(run)(syn, s)
    jrun = eqx.filter_jit(run)
    loop = jnp.stack([jrun(syn, s[:, i]) for i in range(4)], axis=1)
    np.testing.assert_allclose(batched, loop, rtol=1e-5, atol=1e-6)
    taus = jnp.array([10.0, 50.0, 200.0])

    def with_tau(t):
        return run(eqx.tree_at(lambda m: m.tau_d, syn, t), s[:, 0]).sum()

    np.testing.assert_allclose(
        jax.vmap(with_tau)(taus), jnp.stack([jax.jit(with_tau)(t) for t in taus]), rtol=1e-5
    )
    g = jax.grad(with_tau)(jnp.asarray(30.0))
    eps = 0.5
    jt = jax.jit(with_tau)
    fd = (jt(jnp.asarray(30.0 + eps)) - jt(jnp.asarray(30.0 - eps))) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=2e-2)
    assert isinstance(syn, AbstractSynapse)
    assert syn.contract(s[0], jnp.ones((4, 2))).shape == (3, 2)


def test_stp_errors():
    with pytest.raises(ValueError, match="tau_f"):
        STPDenseSynapse((2, 2), key=KEY, tau_f=-1.0)
    with pytest.raises(ValueError, match="resources_init"):
        STPDenseSynapse((2, 2), key=KEY, resources_init=DistributionGenerator.constant(1.5))
    syn = STPDenseSynapse((2, 2), key=KEY)
    with pytest.raises(ValueError, match="state"):
        syn.step(syn.init_state((3,)), jnp.ones((2, 2)))


# ---------------------------------------------------------------------------- conductance
CONDUCTANCE = [
    (ExponentialSynapse, (5.0,), lambda t: np.exp(-t / 5.0)),
    (
        DoubleExpSynapse,
        (6.0, 1.5),
        lambda t: (
            (np.exp(-t / 6.0) - np.exp(-t / 1.5))
            / (lambda tp: np.exp(-tp / 6.0) - np.exp(-tp / 1.5))(6 * 1.5 / 4.5 * np.log(4.0))
        ),
    ),
    (AlphaSynapse, (4.0,), lambda t: (t / 4.0) * np.exp(1 - t / 4.0)),
]


@pytest.mark.parametrize("cls, taus, kernel", CONDUCTANCE, ids=lambda c: getattr(c, "__name__", ""))
def test_conductance_kernels_are_analytic(cls, taus, kernel):
    w = np.array([[0.5, 2.0]], np.float32)
    syn = cls((1, 2), *taus, 0.8, 0.0, key=KEY, is_nonplastic=False)
    syn = eqx.tree_at(lambda s: s.weights, syn, jnp.asarray(w))
    dt, n = 0.25, 80
    pulses = np.zeros((n, 1), np.float32)
    pulses[0] = 1.0
    pulses[30] = 1.0  # superposition of two pulses
    v = jnp.full((2,), -65.0)

    def body(state, s):
        i, state = syn.step(state, s, v, dt=dt)
        return state, (i, state.g_syn)

    _, (cur, g) = jax.lax.scan(body, syn.init_state(()), jnp.asarray(pulses))
    t = np.arange(n) * dt
    k = kernel(t) + np.where(t >= 30 * dt, kernel(np.maximum(t - 30 * dt, 0.0)), 0.0)
    want = 0.8 * k[:, None] * w
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(syn.kernel(t), kernel(t), rtol=1e-5, atol=1e-7)
    # the peak of one pulse is g_syn_bar * w
    assert abs(kernel(np.linspace(0, 40, 40001)).max() - 1.0) < 1e-6
    # current with reversal potential 0 at v = -65: r g (E - v)
    np.testing.assert_allclose(cur, want * 65.0, rtol=1e-4, atol=1e-4)


def test_conductance_current_based_and_errors():
    syn = ExponentialSynapse((2, 3), 5.0, 1.0, None, key=KEY, resist_scale=2.0)
    np.testing.assert_array_equal(syn.weights, np.ones((2, 3)))
    i, st = syn.step(syn.init_state((4,)), jnp.ones((4, 2)))
    np.testing.assert_allclose(i, 2.0 * st.g_syn)
    np.testing.assert_allclose(st.g_syn, 2.0 * np.ones((4, 3)))
    with_rev = ExponentialSynapse((2, 3), 5.0, 1.0, 0.0, key=KEY)
    with pytest.raises(ValueError, match="`v`"):
        with_rev.step(with_rev.init_state(()), jnp.ones(2))
    with pytest.raises(ValueError, match="tau_rise"):
        DoubleExpSynapse((2, 3), 2.0, 3.0, 1.0, 0.0, key=KEY)
    with pytest.raises(ValueError, match="tau_decay"):
        AlphaSynapse((2, 3), -2.0, 1.0, 0.0, key=KEY)
    with pytest.raises(ValueError, match="g_syn_bar"):
        AlphaSynapse((2, 3), 2.0, -1.0, 0.0, key=KEY)
    masked = AlphaSynapse((20, 10), 2.0, 1.0, 0.0, key=KEY, p_conn=0.3)
    assert 0.1 < float(np.mean(masked.mask)) < 0.5
    assert np.all(np.asarray(masked.weights)[~np.asarray(masked.mask)] == 0)


@pytest.mark.parametrize("cls, taus, kernel", CONDUCTANCE, ids=lambda c: getattr(c, "__name__", ""))
def test_conductance_jit_vmap_grad(cls, taus, kernel):
    syn = cls((3, 2), *taus, 0.5, 0.0, key=KEY)
    pulses = (jax.random.uniform(KEY, (12, 4, 3)) < 0.3).astype(jnp.float32)
    v = jnp.full((4, 2), -60.0)

    def run(syn, pulses, v):
        def body(state, s):
            i, state = syn.step(state, s, v, dt=0.5)
            return state, i

        return jax.lax.scan(body, syn.init_state(pulses.shape[1:-1]), pulses)[1]

    batched = eqx.filter_jit(run)(syn, pulses, v)
    jrun = eqx.filter_jit(run)
    loop = jnp.stack([jrun(syn, pulses[:, i], v[i]) for i in range(4)], axis=1)
    np.testing.assert_allclose(batched, loop, rtol=1e-5, atol=1e-5)
    taus_sweep = jnp.array([2.0 * taus[0], 3.0 * taus[0]])

    def with_tau(t):
        return run(eqx.tree_at(lambda m: m.tau_decay, syn, t), pulses[:, 0], v[0]).sum()

    np.testing.assert_allclose(
        jax.vmap(with_tau)(taus_sweep),
        jnp.stack([jax.jit(with_tau)(t) for t in taus_sweep]),
        rtol=1e-5,
    )
    t0 = jnp.asarray(2.0 * taus[0])
    eps = 0.05 * float(t0)
    g = jax.grad(with_tau)(t0)
    jt = jax.jit(with_tau)
    fd = (jt(t0 + eps) - jt(t0 - eps)) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=2e-2)
    post = jnp.ones((4, 2))
    np.testing.assert_allclose(syn.contract(pulses[0], post), pulses[0].T @ post, rtol=1e-6)


# ---------------------------------------------------------------------------- sparse
def _dense_from_map(syn):
    P, S, K, O = syn.shape  # noqa: E741
    W = np.asarray(syn.weights)
    conn = np.asarray(syn.connectivity_map)
    M = np.zeros(syn.io_shape, np.float64)
    for s in range(S):
        for p in range(P):
            i = conn[s, p]
            if i >= 0:
                M[i * K : (i + 1) * K, s * O : (s + 1) * O] += W[p, s]
    return M


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p_conn": 0.5},
        {"stride": 2, "dilation": 2, "use_block_matrix_format": True},
        {"convergent_factor": 0.5},
        {"invert_conn": True},
    ],
    ids=["p_conn", "stride-dilation-block", "convergent", "inverted"],
)
def test_sparse_tensor_map_transpose_contract(kwargs):
    syn = SparseTensorSynapse(
        9, 3, 2, P_l=3, key=KEY, bias_init=DistributionGenerator.constant(0.1), **kwargs
    )
    M = _dense_from_map(syn)
    n_in, n_out = syn.io_shape
    x = jax.random.normal(KEY, (4, n_in))
    post = jax.random.normal(jax.random.key(1), (4, n_out))

    @eqx.filter_jit
    def everything(syn, x, post):
        grad = jax.grad(
            lambda w: jnp.sum(post * (eqx.tree_at(lambda s: s.weights, syn, w)(x) - 0.1))
        )(syn.weights)
        return (
            syn.block_matrix(), syn(x), syn.backtransmit(post), syn.contract(x, post), grad,
            syn.bias_contract(post),
        )  # fmt: skip

    block, y, back, contract, grad, bsum = everything(syn, x, post)
    np.testing.assert_allclose(block, M, rtol=1e-6)
    np.testing.assert_allclose(y, np.asarray(x) @ M + 0.1, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(back, np.asarray(post) @ M.T, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(contract, grad, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bsum, post.sum(0), rtol=1e-5)


def test_sparse_tensor_structure():
    conn = sparse_tensor_connectivity(7, P_l=3, stride=2)
    np.testing.assert_array_equal(conn, [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    fwd = SparseTensorSynapse(7, 2, 3, P_l=3, stride=2, key=KEY)
    inv = SparseTensorSynapse(7, 2, 3, P_l=3, stride=2, invert_conn=True, key=KEY)
    assert inv.io_shape == fwd.io_shape[::-1]
    # the inverted structure's non-zero blocks are the transpose of the forward ones
    np.testing.assert_array_equal(_dense_from_map(inv).T != 0, _dense_from_map(fwd) != 0)
    assert StaticSparseTensorSynapse is SparseTensorSynapse
    tied = inv.tie_transpose_weights(fwd)
    e = jax.random.normal(KEY, (2, fwd.io_shape[1]))
    np.testing.assert_allclose(tied(e), fwd.backtransmit(e), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="forward"):
        fwd.tie_transpose_weights(fwd)
    normed = SparseTensorSynapse(7, 2, 3, P_l=3, stride=2, normalize=True, key=KEY)
    np.testing.assert_allclose(np.linalg.norm(normed.weights, axis=3), 1.0, rtol=1e-5)


def test_sparse_tensor_jit_vmap_and_rule():
    syn = SparseTensorSynapse(8, 2, 2, P_l=2, stride=2, key=KEY)
    x = jax.random.normal(KEY, (5, syn.io_shape[0]))
    f = eqx.filter_jit(lambda s, x: jax.vmap(s)(x))
    np.testing.assert_allclose(f(syn, x), jnp.stack([syn(xi) for xi in x]), rtol=1e-5, atol=1e-6)
    rs = jnp.array([0.5, 2.0])

    def with_r(r):
        return eqx.tree_at(lambda s: s.resist_scale, syn, r)(x)

    np.testing.assert_allclose(jax.vmap(with_r)(rs), jnp.stack([with_r(r) for r in rs]), rtol=1e-6)
    post = syn(x)
    upd = plasticity.Hebbian()(syn, x, post)
    assert upd.weights.shape == syn.weights.shape


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"P_l": 20}, "n_in_streams"),
        ({"stride": 0}, "stride"),
        ({"convergent_factor": 2.0}, "convergent_factor"),
        ({"norm_axis": 2}, "norm_axis"),
        ({"p_conn": 0.0}, "p_conn"),
    ],
)
def test_sparse_tensor_errors(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SparseTensorSynapse(8, 2, 2, key=KEY, **kwargs)
    with pytest.raises(ValueError, match="x"):
        SparseTensorSynapse(8, 2, 2, key=KEY)(jnp.ones((3, 5)))
