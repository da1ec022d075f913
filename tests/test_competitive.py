"""Competitive synapses (ngcx.synapses SOMMap, HopfieldMap, VectorQuantizeMap, ART2AMap)
and their learning (ngcx.plasticity SOM, Hopfield, VectorQuantize, ART2A and ngc-learn's
SOMSynapse, HopfieldSynapse, VectorQuantizeSynapse, ART2ASynapse builders)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

from ngcx import plasticity as P
from ngcx.initializers import DistributionGenerator
from ngcx.synapses import (
    AbstractCompetitiveSynapse,
    AbstractSynapse,
    ART2AMap,
    HopfieldMap,
    SOMMap,
    VectorQuantizeMap,
)


def _train(bundle, xs, *, with_step=False, labels=None, consolidate=False, key=None):
    """A ``lax.scan`` over the batches ``xs`` (leading axis = steps) of map + rule + optax."""
    opt = bundle.optimizer(key)
    state = P.init(opt, bundle)

    def step(carry, inp):
        b, s, t = carry
        x, y = inp
        if consolidate:
            misses = b.rule.misses(b.synapse, x)
        if with_step:
            upd = b.updates(x, t)
        elif y is not None:
            upd = b.updates(x, y)
        else:
            upd = b.updates(x)
        b, s = P.apply_updates(b, upd, s, opt)
        if consolidate:
            b = b.consolidate(x, misses)
        return (b, s, t + 1), None

    (bundle, _, _), _ = jax.lax.scan(step, (bundle, state, jnp.asarray(0)), (xs, labels))
    return bundle


def _set_weights(bundle, W):
    return eqx.tree_at(lambda b: b.synapse.weights, bundle, jnp.asarray(W, jnp.float32))


# -- the maps ---------------------------------------------------------------------------


def test_maps_are_competitive_synapses(getkey):
    maps = [
        SOMMap(3, 2, 2, key=getkey()),
        HopfieldMap((3, 4), key=getkey()),
        VectorQuantizeMap((3, 4), key=getkey()),
        ART2AMap((3, 4), key=getkey()),
    ]
    for m in maps:
        assert isinstance(m, AbstractCompetitiveSynapse) and isinstance(m, AbstractSynapse)
        assert m.biases is None and m.shape == (3, 4)
        # only the codebook is plastic
        mask = P.plastic_mask(m)
        assert mask.weights is True and mask.resist_scale is False


@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "cosine"])
def test_som_distances_bmu_and_neighbourhood_by_hand(getkey, distance):
    som = SOMMap(3, 3, 2, key=getkey(), distance_function=distance, neighbor_function="gaussian")
    x = jax.random.normal(getkey(), (4, 3))
    W = np.asarray(som.weights, np.float64)
    xn = np.asarray(x, np.float64)
    diff = xn[:, :, None] - W[None]
    if distance == "euclidean":
        d = np.sqrt((diff**2).sum(1))
    elif distance == "manhattan":
        d = np.abs(diff).sum(1)
    else:
        d = 1 - xn @ W / np.linalg.norm(xn, axis=1)[:, None] / np.linalg.norm(W, axis=0)[None]
    np.testing.assert_allclose(som.distances(x), d, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(som.bmu(x), d.argmin(1))
    # grid: unit k = i * n_y + j at (i, j); gaussian neighbourhood and softmax output
    coords = np.array([[i, j] for i in range(3) for j in range(2)], np.float64)
    np.testing.assert_array_equal(som.coords, coords)
    c = d.argmin(1)
    dd = ((coords[None] - coords[c][:, None]) ** 2).sum(-1)
    r = 1.3
    h = np.exp(-dd / (2 * r**2))
    np.testing.assert_allclose(som.neighbourhood(som.bmu(x), r), h, rtol=1e-6)
    y = np.exp(h) / np.exp(h).sum(1, keepdims=True)
    np.testing.assert_allclose(som(x, r), y, rtol=1e-6)
    assert float(som.radius) == 1.5  # max(3, 2) / 2


def test_som_euclidean_bmu_is_the_nearest_unit(getkey):
    """The Euclidean BMU (distances from |x|^2 - 2 x.w + |w|^2, one matrix product) is the
    nearest prototype (float64 reference), over leading batch axes, the first on a tie."""
    som = SOMMap(16, 5, 4, key=getkey())
    x = jax.random.uniform(getkey(), (3, 50, 16))
    W = np.asarray(som.weights, np.float64)
    d = np.sqrt(((np.asarray(x, np.float64)[..., :, None] - W) ** 2).sum(-2))
    np.testing.assert_array_equal(som.bmu(x), d.argmin(-1))
    np.testing.assert_array_equal(som.bmu(x), jnp.argmin(som.distances(x), axis=-1))
    twins = eqx.tree_at(lambda m: m.weights, som, som.weights.at[:, 7].set(som.weights[:, 2]))
    assert int(twins.bmu(twins.weights[:, 2])) == 2


def test_som_ricker_neighbourhood_is_clipped_mexican_hat(getkey):
    som = SOMMap(2, 5, 1, key=getkey(), neighbor_function="ricker")
    h = som.neighbourhood(jnp.asarray(2), 1.0)
    d2 = np.array([4.0, 1.0, 0.0, 1.0, 4.0])
    np.testing.assert_allclose(h, np.maximum(np.exp(-d2 / 2) * (1 - d2), 0.0), atol=1e-7)
    assert float(h[0]) == 0.0 and float(h[2]) == 1.0


def test_som_step_by_hand(getkey):
    """One ngc-learn SOM step: rate and radius decay, batch-averaged neighbourhood update."""
    som = P.SOMSynapse(2, 3, 3, eta=0.5, key=getkey(), tau_eta=10.0)
    x = jax.random.uniform(getkey(), (4, 2))
    W = np.asarray(som.weights, np.float64)
    t = 3
    r0, tau = 1.5, 10.0
    radius = r0 * (1 - np.log(r0) / tau) ** t
    eta = 0.5 * (1 - 1 / tau) ** (t + 1)
    xn = np.asarray(x, np.float64)
    c = np.sqrt(((xn[:, :, None] - W[None]) ** 2).sum(1)).argmin(1)
    coords = np.asarray(som.synapse.coords, np.float64)
    h = np.exp(-((coords[None] - coords[c][:, None]) ** 2).sum(-1) / (2 * radius**2))
    dW = ((xn[:, :, None] - W[None]) * h[:, None, :]).mean(0)
    np.testing.assert_allclose(som.rule.radius(som.synapse, t), radius, rtol=1e-6)
    np.testing.assert_allclose(som.options.eta_at(t), eta, rtol=1e-6)
    np.testing.assert_allclose(som.updates(x, t).weights, dW, rtol=1e-5, atol=1e-6)
    # the optax state carries the step: after t dummy steps, the next applies eta_t
    opt = som.optimizer()
    state = P.init(opt, som)
    zero = eqx.tree_at(lambda b: b.synapse.weights, som, jnp.zeros_like(som.weights))
    for _ in range(t):
        _, state = P.apply_updates(som, zero, state, opt)
    new, _ = P.apply_updates(som, som.updates(x, t), state, opt)
    np.testing.assert_allclose(new.weights, W + eta * dW, rtol=1e-5, atol=1e-6)


def test_som_rule_is_minus_grad_of_the_neighbourhood_energy(getkey):
    som = P.SOMSynapse(3, 4, 4, key=getkey())
    x = jax.random.normal(getkey(), (5, 3))
    syn = som.synapse
    h = syn.neighbourhood(syn.bmu(x), syn.radius)

    def energy(W):
        d2 = jnp.sum((x[:, :, None] - W[None]) ** 2, axis=1)
        return 0.5 * jnp.mean(jnp.sum(h * d2, axis=-1))

    np.testing.assert_allclose(
        som.updates(x, 0).weights, -jax.grad(energy)(syn.weights), rtol=1e-5, atol=1e-6
    )


def _monotone(v):
    d = np.diff(np.asarray(v))
    return bool(np.all(d > 0) or np.all(d < 0))


def test_som_1d_map_of_a_1d_input_becomes_monotone(getkey):
    """Topographic order: a 1-D chain trained on 1-D inputs ends up sorted."""
    som = P.SOMSynapse(1, 10, 1, eta=0.5, key=getkey(), tau_eta=150.0)
    xs = jax.random.uniform(getkey(), (400, 1, 1))
    assert not _monotone(som.weights[0])
    trained = jax.jit(lambda b: _train(b, xs, with_step=True))(som)
    w = np.asarray(trained.weights[0])
    assert _monotone(w), w
    assert w.min() < 0.15 and w.max() > 0.85  # spread over the input range


def test_som_2d_map_neighbours_are_closer_than_random_pairs(getkey):
    som = P.SOMSynapse(2, 5, 5, eta=0.5, key=getkey(), tau_eta=200.0)
    xs = jax.random.uniform(getkey(), (300, 4, 2))
    trained = jax.jit(lambda b: _train(b, xs, with_step=True))(som)

    def ratio(W):
        W = np.asarray(W).T.reshape(5, 5, 2)
        neigh = np.concatenate(
            [np.linalg.norm(W[1:] - W[:-1], axis=-1).ravel(),
             np.linalg.norm(W[:, 1:] - W[:, :-1], axis=-1).ravel()]
        )  # fmt: skip
        flat = W.reshape(-1, 2)
        allpairs = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
        return neigh.mean() / allpairs[np.triu_indices(25, 1)].mean()

    assert ratio(trained.weights) < 0.5 < ratio(som.weights)


def test_som_jit_vmap_over_batch_and_over_eta(getkey):
    som = P.SOMSynapse(2, 3, 3, key=getkey(), tau_eta=20.0)
    x = jax.random.uniform(getkey(), (6, 2))
    per_sample = jax.vmap(lambda xi: som(xi))(x)
    np.testing.assert_allclose(jax.jit(lambda b, x: b(x))(som, x), per_sample, rtol=1e-6)
    xs = jax.random.uniform(getkey(), (20, 3, 2))
    etas = jnp.array([0.1, 0.3, 0.7])

    def run(eta):
        b = eqx.tree_at(lambda b: b.options.eta, som, eta)
        return _train(b, xs, with_step=True).weights

    swept = jax.jit(jax.vmap(run))(etas)
    one = jax.jit(run)
    for i, eta in enumerate(etas):
        np.testing.assert_allclose(swept[i], one(eta), rtol=1e-5, atol=1e-6)


def test_som_bad_inputs(getkey):
    with pytest.raises(ValueError, match="distance_function"):
        P.SOMSynapse(2, 3, 3, distance_function="hamming", key=getkey())
    with pytest.raises(ValueError, match="neighbor_function"):
        P.SOMSynapse(2, 3, 3, neighbor_function="bubble", key=getkey())
    with pytest.raises(ValueError, match="n_units_x"):
        P.SOMSynapse(2, 0, 3, key=getkey())
    with pytest.raises(ValueError, match="eta"):
        P.SOMSynapse(2, 3, 3, eta=-1.0, key=getkey())
    with pytest.raises(ValueError, match="tau_eta"):
        P.SOMSynapse(2, 3, 3, key=getkey(), tau_eta=0.5)
    with pytest.raises(ValueError, match="tau_eta"):
        P.SOMSynapse(2, 20, 1, key=getkey(), tau_eta=2.0)
    with pytest.raises(ValueError, match="p_conn"):
        P.SOMSynapse(2, 3, 3, key=getkey(), p_conn=0.0)
    som = P.SOMSynapse(2, 3, 3, key=getkey())
    with pytest.raises(ValueError, match="`x`"):
        som(jnp.ones((4, 3)))
    with pytest.raises(TypeError, match="SOMMap"):
        P.SOM()(HopfieldMap((2, 3), key=getkey()), jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="radius_decay"):
        P.SOM(1.5)


def test_som_non_square_grid_and_p_conn(getkey):
    """ngc-learn's grid only works for square maps; ngcx builds any n_x x n_y grid."""
    som = SOMMap(2, 4, 2, key=getkey(), p_conn=0.5)
    assert som.coords.shape == (8, 2) and float(som.radius) == 2.0
    assert float(jnp.mean(som.weights == 0)) > 0.0


# -- Hopfield ---------------------------------------------------------------------------


def _patterns(key, n_in, n):
    return jnp.where(jax.random.bernoulli(key, 0.5, (n_in, n)), 1.0, -1.0)


def _corrupt(key, X, frac):
    flip = jax.random.bernoulli(key, frac, X.shape)
    return jnp.where(flip, -X, X)


def test_hopfield_recalls_stored_patterns_from_corrupted_cues(getkey):
    X = _patterns(getkey(), 32, 6)
    hop = P.HopfieldSynapse((32, 6), 0.1, beta=1.0, initial_patterns=X, key=getkey())
    np.testing.assert_array_equal(hop.weights, X)
    cues = _corrupt(getkey(), X.T, 0.2)  # 20% of the bits flipped
    assert float(jnp.mean(cues == X.T)) < 0.9
    recalled = jax.jit(lambda m, c: m.retrieve(c, 3))(hop.synapse, cues)
    np.testing.assert_allclose(recalled, X.T, atol=1e-4)
    # fewer patterns than slots: stored somewhere, every one recalled
    hop = P.HopfieldSynapse((32, 8), 0.1, initial_patterns=X, key=getkey())
    cols = {tuple(np.asarray(c)) for c in np.asarray(hop.weights).T}
    assert all(tuple(np.asarray(p)) in cols for p in np.asarray(X).T)


def test_hopfield_delta_rule_learns_to_store_patterns(getkey):
    X = _patterns(getkey(), 16, 3)
    # a soft competition (small beta) lets every memory take a pattern
    hop = P.HopfieldSynapse(
        (16, 3), 0.5, beta=0.2, key=getkey(),
        weight_init=DistributionGenerator.gaussian(0.0, 0.1),
    )  # fmt: skip
    xs = jnp.broadcast_to(X.T, (150, 3, 16))
    err0 = float(jnp.mean((hop(X.T) - X.T) ** 2))
    trained = jax.jit(lambda b: _train(b, xs))(hop)
    err = float(jnp.mean((trained(X.T) - X.T) ** 2))
    assert err < 0.05 * err0
    cues = _corrupt(getkey(), X.T, 0.15)
    np.testing.assert_array_equal(jnp.sign(trained.synapse.retrieve(cues, 3)), X.T)


def test_hopfield_retrieval_is_minus_energy_gradient_and_descends(getkey):
    hop = HopfieldMap((5, 4), key=getkey(), beta=3.0, weight_init=DistributionGenerator.gaussian())
    x = jax.random.normal(getkey(), (3, 5))
    grad = jax.vmap(jax.grad(hop.energy))(x)
    np.testing.assert_allclose(hop(x), x - grad, rtol=1e-5, atol=1e-5)
    energy = lambda v: hop.energy(jnp.asarray(v))  # noqa: E731
    jax.test_util.check_grads(energy, (x[0],), order=1, modes=["rev"], eps=1e-2)
    e = [hop.energy(x)]
    z = x
    for _ in range(4):
        z = hop(z)
        e.append(hop.energy(z))
    assert np.all(np.diff(np.stack(e), axis=0) <= 1e-5)
    # energy by hand for one sample
    W = np.asarray(hop.weights, np.float64)
    xi = np.asarray(x[0], np.float64)
    a = 3.0 * xi @ W
    lse = np.log(np.exp(a - a.max()).sum()) + a.max()
    want = -lse / 3 + 0.5 * xi @ xi + np.log(4) / 3 + 0.5 * (W**2).sum(0).max()
    np.testing.assert_allclose(hop.energy(x[0]), want, rtol=1e-5)


def test_hopfield_rules_by_hand_and_as_gradients(getkey):
    hop = P.HopfieldSynapse((5, 3), 0.2, reg_lambda=0.05, beta=2.0, key=getkey())
    syn = hop.synapse
    x = jax.random.normal(getkey(), (4, 5))
    W = syn.weights

    def recon(W):
        s = jax.lax.stop_gradient(jax.nn.softmax(2.0 * x @ syn.weights, axis=-1))
        return 0.5 * jnp.mean(jnp.sum((x - s @ W.T) ** 2, axis=-1))

    dW = hop.updates(x).weights
    np.testing.assert_allclose(dW, -jax.grad(recon)(W), rtol=1e-5, atol=1e-6)
    # one step: W + eta dW - reg_lambda W
    opt = hop.optimizer()
    new, _ = P.apply_updates(hop, hop.updates(x), P.init(opt, hop), opt)
    np.testing.assert_allclose(new.weights, W + 0.2 * dW - 0.05 * W, rtol=1e-5, atol=1e-6)
    # contrastive: x^T s - x_hat^T s_hat, s_hat at the same inverse temperature
    con = P.Hopfield("contrastive")(syn, x).weights
    s = jax.nn.softmax(2.0 * x @ W, axis=-1)
    xh = s @ W.T
    sh = jax.nn.softmax(2.0 * xh @ W, axis=-1)
    np.testing.assert_allclose(con, (x.T @ s - xh.T @ sh) / 4, rtol=1e-5, atol=1e-6)


def test_hopfield_jit_vmap_over_batch_and_beta(getkey):
    hop = HopfieldMap((6, 4), key=getkey())
    x = jax.random.normal(getkey(), (5, 6))
    np.testing.assert_allclose(
        jax.jit(lambda m, x: m(x))(hop, x), jax.vmap(hop)(x), rtol=1e-5, atol=1e-6
    )
    betas = jnp.array([0.5, 2.0, 8.0])

    def out(beta):
        return eqx.tree_at(lambda m: m.beta, hop, beta).energy(x)

    swept = jax.vmap(out)(betas)
    for i, b in enumerate(betas):
        np.testing.assert_allclose(swept[i], out(b), rtol=1e-5)


def test_hopfield_bad_inputs(getkey):
    with pytest.raises(ValueError, match="initial_patterns"):
        P.HopfieldSynapse((4, 2), 0.1, initial_patterns=jnp.ones((4, 3)), key=getkey())
    with pytest.raises(ValueError, match="update_rule"):
        P.HopfieldSynapse((4, 2), 0.1, update_rule="oja", key=getkey())
    with pytest.raises(ValueError, match="beta"):
        P.HopfieldSynapse((4, 2), 0.1, beta=0.0, key=getkey())
    with pytest.raises(ValueError, match="reg_lambda"):
        P.HopfieldSynapse((4, 2), 0.1, reg_lambda=-1.0, key=getkey())
    with pytest.raises(ValueError, match="shape"):
        P.HopfieldSynapse((4,), 0.1, key=getkey())
    with pytest.raises(ValueError, match="n_steps"):
        HopfieldMap((4, 2), key=getkey()).retrieve(jnp.ones(4), -1)


# -- vector quantisation ----------------------------------------------------------------


def _clusters(key, n, n_in, n_clusters, spread=0.05):
    k1, k2, k3 = jax.random.split(key, 3)
    centres = jax.random.normal(k1, (n_clusters, n_in))
    centres = centres / jnp.linalg.norm(centres, axis=-1, keepdims=True)
    idx = jax.random.randint(k2, (n,), 0, n_clusters)
    return centres[idx] + spread * jax.random.normal(k3, (n, n_in)), centres, idx


def _qerror(vq, x):
    xt = vq.synapse.prepare(x)
    return float(jnp.mean(jnp.sum((xt - vq.backtransmit(vq.synapse.winners(x))) ** 2, -1)))


def test_vq_quantisation_error_falls(getkey):
    x, _, idx = _clusters(getkey(), 400, 5, 4)
    xs = x.reshape(100, 4, 5)
    train = jax.jit(lambda b: _train(b, xs))
    # from ngc-learn's default initialisation (far from the data: a unit may stay dead)
    vq = P.VectorQuantizeSynapse((5, 4), eta=0.1, eta_decrement=0.0005, key=getkey())
    e0 = _qerror(vq, x)
    assert _qerror(train(vq), x) < 0.3 * e0
    # from one sample per cluster: every cluster gets its prototype
    first = jnp.stack([x[jnp.argmax(idx == c)] for c in range(4)], axis=1)
    first = first + 0.3 * jax.random.normal(getkey(), first.shape)
    vq = P.VectorQuantizeSynapse((5, 4), 0.1, 0.0005, initial_patterns=(first, None), key=getkey())
    e0 = _qerror(vq, x)
    e1 = _qerror(train(vq), x)
    assert e1 < 0.1 * e0 and e1 < 0.02


def test_vq_kohonen_rule_is_minus_grad_of_the_quantisation_error(getkey):
    vq = P.VectorQuantizeSynapse((4, 6), key=getkey())
    x = jax.random.normal(getkey(), (7, 4))
    syn = vq.synapse
    z = syn.winners(x)

    def qe(W):
        return 0.5 * jnp.sum((syn.prepare(x) - z @ W.T) ** 2)

    np.testing.assert_allclose(
        vq.updates(x).weights, -jax.grad(qe)(syn.weights), rtol=1e-5, atol=1e-6
    )


def test_vq_hebbian_step_by_hand_with_decay_bound_and_schedule(getkey):
    vq = P.VectorQuantizeSynapse(
        (3, 4), 0.3, 0.1, syn_decay=0.2, w_bound=1.5, key=getkey(), update_rule="hebbian"
    )
    x = jax.random.uniform(getkey(), (5, 3))
    xt = np.asarray(x / jnp.linalg.norm(x, axis=-1, keepdims=True), np.float64)
    W = np.asarray(vq.weights, np.float64)
    d = np.sqrt(((xt[:, :, None] - W[None]) ** 2).sum(1))
    z = np.eye(4)[d.argmin(1)]
    np.testing.assert_array_equal(vq(x), z)
    dW = (xt.T @ z - 0.2 * W) * (1.5 - np.abs(W))
    opt = vq.optimizer()
    state = P.init(opt, vq)
    new, state = P.apply_updates(vq, vq.updates(x), state, opt)
    np.testing.assert_allclose(new.weights, W + 0.3 * dW, rtol=1e-5, atol=1e-6)
    # eta_t = max(1e-5, eta - t delta) after the first step
    np.testing.assert_allclose(
        [vq.options.eta_at(t) for t in range(5)], [0.3, 0.2, 0.1, 1e-5, 1e-5], rtol=1e-4
    )


def test_vq_lvq_sign_and_label_prediction(getkey):
    X = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]).T  # three unit prototypes
    Y = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]).T  # the third has no label
    vq = P.VectorQuantizeSynapse(
        (2, 3), 0.5, 0.0, label_dim=2, initial_patterns=(X, Y), key=getkey()
    )
    W = vq.weights
    x = jnp.array([[0.9, 0.1], [0.8, 0.2], [-1.0, 0.1]])
    lab = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(vq.bmu(x), [0, 0, 2])
    # sample 0 agrees (+), sample 1 disagrees (-), sample 2 wins an unlabelled slot (+)
    xt = vq.synapse.prepare(x)
    eps = jnp.array([1.0, -1.0, 1.0])
    want = jnp.zeros_like(W)
    for b, c in enumerate([0, 0, 2]):
        want = want.at[:, c].add(eps[b] * (xt[b] - W[:, c]))
    np.testing.assert_allclose(vq.updates(x, lab).weights, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vq.synapse.predict_labels(x), Y.T[jnp.array([0, 0, 2])])


def test_vq_langevin_noise_needs_a_key_and_uses_it(getkey):
    vq = P.VectorQuantizeSynapse((3, 4), 0.3, 0.0, langevin_noise_scale=0.5, key=getkey())
    with pytest.raises(ValueError, match="key"):
        vq.optimizer()
    zero = eqx.tree_at(lambda b: b.synapse.weights, vq, jnp.zeros_like(vq.weights))
    steps = []
    for k in (jax.random.key(1), jax.random.key(1), jax.random.key(2)):
        opt = vq.optimizer(k)
        new, _ = P.apply_updates(vq, zero, P.init(opt, vq), opt)
        steps.append(np.asarray(new.weights - vq.weights))
    np.testing.assert_array_equal(steps[0], steps[1])
    assert not np.allclose(steps[0], steps[2])
    # zeta * sqrt(2 eta) standard deviation (12 values: a loose check)
    assert 0.1 < np.std(np.concatenate([steps[0], steps[2]])) / (0.5 * np.sqrt(0.6)) < 2.0


def test_vq_distances_and_jit_vmap(getkey):
    x = jax.random.normal(getkey(), (6, 3))
    for spec, p in ((("minkowski", 3), 3.0), (("manhattan", None), 1.0), (("chebyshev", 0), None)):
        m = VectorQuantizeMap((3, 5), key=getkey(), distance_function=spec)
        xt = np.asarray(m.prepare(x), np.float64)
        diff = np.abs(xt[:, :, None] - np.asarray(m.weights, np.float64)[None])
        want = diff.max(1) if p is None else (diff**p).sum(1) ** (1 / p)
        np.testing.assert_allclose(m.distances(x), want, rtol=1e-5)
        np.testing.assert_allclose(jax.jit(lambda m, x: m(x))(m, x), jax.vmap(m)(x))
    vq = P.VectorQuantizeSynapse((3, 5), key=getkey())
    xs = jax.random.normal(getkey(), (10, 4, 3))
    etas = jnp.array([0.05, 0.2])

    def run(eta):
        return _train(eqx.tree_at(lambda b: b.options.eta, vq, eta), xs).weights

    swept = jax.jit(jax.vmap(run))(etas)
    one = jax.jit(run)
    for i, eta in enumerate(etas):
        np.testing.assert_allclose(swept[i], one(eta), rtol=1e-5, atol=1e-6)


def test_vq_bad_inputs(getkey):
    with pytest.raises(ValueError, match="distance_function"):
        P.VectorQuantizeSynapse((3, 4), distance_function=("cosine", 2), key=getkey())
    with pytest.raises(ValueError, match="distance_function"):
        P.VectorQuantizeSynapse((3, 4), distance_function=("minkowski", 0.5), key=getkey())
    with pytest.raises(ValueError, match="update_rule"):
        P.VectorQuantizeSynapse((3, 4), update_rule="lvq2", key=getkey())
    with pytest.raises(ValueError, match="label_dim"):
        P.VectorQuantizeSynapse((3, 4), label_dim=-1, key=getkey())
    with pytest.raises(ValueError, match="syn_decay"):
        P.VectorQuantizeSynapse((3, 4), syn_decay=-0.1, key=getkey())
    with pytest.raises(ValueError, match=r"initial_patterns\[1\]"):
        P.VectorQuantizeSynapse(
            (3, 4), label_dim=2, initial_patterns=(jnp.ones((3, 2)), jnp.ones((3, 2))),
            key=getkey(),
        )  # fmt: skip
    vq = P.VectorQuantizeSynapse((3, 4), key=getkey())
    with pytest.raises(ValueError, match="labels"):
        vq.updates(jnp.ones((2, 3)), jnp.ones((2, 2)))
    with pytest.raises(ValueError, match="label_dim"):
        vq.synapse.predict_labels(jnp.ones((2, 3)))


# -- ART 2-A ----------------------------------------------------------------------------


def test_art2a_creates_categories_by_vigilance(getkey):
    # three clusters at right angles: a low vigilance merges them, a high one splits them
    centres = jnp.eye(8)[:3]
    idx = jax.random.randint(getkey(), (60,), 0, 3)
    x = centres[idx] + 0.02 * jax.random.normal(getkey(), (60, 8))
    xs = x[:, None, :]
    art = P.ART2ASynapse((8, 20), 0.1, 0.0, 0.3, key=getkey())

    def run(rho):
        a = eqx.tree_at(lambda b: b.rule.vigilance, art, rho)
        return _train(a, xs, consolidate=True).synapse

    one = jax.jit(run)
    rhos = (0.3, 0.9, 0.9999)
    maps = [one(jnp.asarray(r)) for r in rhos]
    counts = [int(m.n_used()) for m in maps]
    assert counts[1] == 3
    assert counts[0] <= counts[1] < counts[2]
    # the learned categories are the clusters' directions
    W = maps[1].weights[:, :3]
    np.testing.assert_allclose(jnp.abs(W.T @ centres.T).max(axis=1), 1.0, atol=0.05)
    # vmap over the vigilance equals the loop
    swept = jax.jit(jax.vmap(lambda r: run(r).n_used()))(jnp.asarray(rhos))
    np.testing.assert_array_equal(swept, counts)


def test_art2a_resonance_step_by_hand(getkey):
    art = P.ART2ASynapse((3, 4), 0.2, 0.05, 0.5, key=getkey())
    w0 = jnp.array([1.0, 0.0, 0.0])
    w1 = jnp.array([0.0, 1.0, 0.0])
    art = eqx.tree_at(lambda b: b.synapse, art, art.synapse.insert(w0, 0).insert(w1, 2))
    assert int(art.synapse.n_used()) == 2
    x = jnp.array([[2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # resonates with slot 0; misses
    xt = x / jnp.linalg.norm(x, axis=-1, keepdims=True)
    y = art(x)
    np.testing.assert_allclose(y[0], [xt[0, 0], 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(jax.jit(jax.vmap(art.synapse))(x), y, rtol=1e-6)
    np.testing.assert_allclose(art.rule.misses(art.synapse, x), [0.0, 1.0])
    a = xt[0, 0]
    opt = art.optimizer()
    new, state = P.apply_updates(art, art.updates(x), P.init(opt, art), opt)
    want = art.weights.at[:, 0].add(0.2 * (xt[0] - a * w0))
    np.testing.assert_allclose(new.weights, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(art.options.eta_at(2), 0.1, rtol=1e-6)
    # the miss becomes a category in the first free slot
    new = new.consolidate(x)
    np.testing.assert_allclose(new.weights[:, 1], xt[1], rtol=1e-6)
    assert int(new.synapse.n_used()) == 3


def test_art2a_consolidate_fills_free_slots_in_order_and_drops_overflow(getkey):
    art = P.ART2ASynapse((2, 3), vigilance=0.99, key=getkey())
    art = eqx.tree_at(lambda b: b.synapse, art, art.synapse.insert(jnp.array([1.0, 0.0]), 1))
    x = jnp.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.1], [-1.0, -1.0]])
    # sample 1 resonates with slot 1; samples 0 and 2 fill slots 0 and 2; sample 3 is dropped
    new = art.consolidate(x)
    xt = art.synapse.prepare(x)
    np.testing.assert_allclose(new.weights, jnp.stack([xt[0], jnp.array([1.0, 0.0]), xt[2]], 1))
    grown = new.synapse.grow(2)
    assert grown.shape == (2, 5) and int(grown.n_used()) == 3


def test_art2a_bad_inputs(getkey):
    with pytest.raises(ValueError, match="vigilance"):
        P.ART2ASynapse((3, 4), vigilance=0.0, key=getkey())
    with pytest.raises(ValueError, match="eta_decrement"):
        P.ART2ASynapse((3, 4), eta_decrement=-1.0, key=getkey())
    art = P.ART2ASynapse((3, 4), key=getkey())
    with pytest.raises(ValueError, match="idx"):
        art.synapse.insert(jnp.ones(3), 7)
    with pytest.raises(ValueError, match="`x`"):
        art.synapse.insert(jnp.ones(2), 0)
    with pytest.raises(ValueError, match="n_memories"):
        art.synapse.grow(-1)
    with pytest.raises(ValueError, match="misses"):
        art.consolidate(jnp.ones((2, 3)), jnp.ones(3))
    with pytest.raises(TypeError, match="ART2A"):
        P.SOMSynapse(3, 2, 2, key=getkey()).consolidate(jnp.ones((1, 3)))


def test_options_and_bundle_bad_inputs(getkey):
    with pytest.raises(ValueError, match="schedule"):
        P.CompetitiveOptions(0.1, "cosine")
    with pytest.raises(ValueError, match="eta_decay"):
        P.CompetitiveOptions(0.1, "exponential", eta_decay=1.5)
    with pytest.raises(TypeError, match="VectorQuantizeMap"):
        P.VectorQuantize()(SOMMap(2, 2, 2, key=getkey()), jnp.ones((1, 2)))
