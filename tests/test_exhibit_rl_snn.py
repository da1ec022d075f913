"""Reward-modulated STDP controller (ngc-museum rl_snn): the eligibility trace and the
modulated update against hand computations, the T-maze, learning well above chance
through the training task, bad inputs and a fit smoke test."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ngcx.models import RewardSTDPNetwork, TMaze, run_episodes, sparse_sign_weights
from ngcx.training._task import Run
from ngcx.training.rl_snn import RLSNNConfig, RLSNNTask


A_PLUS, A_MINUS, TAU_TR, TAU_E = 1.0, 0.01, 20.0, 40.0


def _net(getkey, n_hid=1, n_out=1, **kw):
    return RewardSTDPNetwork(
        3, n_hid, n_out, key=getkey(), n_plus=1, n_minus=0, A_plus=A_PLUS, A_minus=A_MINUS,
        tau_tr=TAU_TR, tau_elg=TAU_E, **kw,
    )  # fmt: skip


def test_eligibility_equals_formula_on_hand_spike_train(getkey):
    net = _net(getkey)
    T = 8
    pre = np.zeros((T, 1), np.float32)
    post = np.zeros((T, 1), np.float32)
    pre[1] = pre[6] = 1.0  # hidden spikes at t = 1 and 6 ms
    post[4] = 1.0  # action-cell spike at t = 4 ms
    E = float(net.eligibility(jnp.asarray(pre), jnp.asarray(post))[0, 0])
    # the traces are set to 1 by a spike and decay by exp(-1/20) per ms; the STDP update
    # of a step is A+ x_pre s_post - A- s_pre x_post; E decays by exp(-1/40) per ms and
    # gains the update / tau_e; E is read at the end of step T - 1 = 7:
    #  t = 4: potentiation A+ exp(-3/20), then 3 more decays of E
    #  t = 6: depression -A- exp(-2/20), then 1 more decay of E
    expected = (
        math.exp(-3 / TAU_E) * A_PLUS * math.exp(-3 / TAU_TR) / TAU_E
        - math.exp(-1 / TAU_E) * A_MINUS * math.exp(-2 / TAU_TR) / TAU_E
    )
    assert E == pytest.approx(expected, rel=1e-5)
    # a post spike before any pre spike, and a pre spike alone, leave E at 0
    none = net.eligibility(jnp.asarray(post[::-1] * 0), jnp.asarray(post))
    assert float(none[0, 0]) == 0.0


def test_modulated_update_and_reinforce_formula(getkey):
    net = _net(getkey, n_hid=4, n_out=2, eta=0.5, norm_frac=0.5)
    E = jax.random.uniform(getkey(), (3, 4, 2), minval=-0.1, maxval=0.1)
    reward = jnp.array([1.0, -1.0, 0.5])
    action = jnp.array([0, 1, 1])
    mask = np.asarray(jax.nn.one_hot(action, 2))
    by_hand = (np.asarray(E) * np.asarray(reward)[:, None, None] * mask[:, None, :]).mean(0)
    np.testing.assert_allclose(net.modulated_update(E, reward, action).weights, by_hand, rtol=1e-5)
    new, _ = net.reinforce(net.init_optimizer(), E, reward, action)
    W = np.clip(np.asarray(net.W2.weights) + 0.5 * by_hand, 0.0, 1.0)
    W = W * (2.0 / np.abs(W).sum(0, keepdims=True))  # column L1 norm 0.5 * n_hid
    np.testing.assert_allclose(new.W2.weights, W, rtol=1e-5)


def test_sparse_sign_projection(getkey):
    W = np.asarray(sparse_sign_weights(getkey(), (5, 12), 6, 3))
    assert ((W == 1).sum(1) == 6).all() and ((W == -1).sum(1) == 3).all()
    with pytest.raises(ValueError, match="n_plus"):
        sparse_sign_weights(getkey(), (5, 4), 3, 2)


def test_t_maze_moves_rewards_and_termination():
    maze = TMaze()
    s = maze.reset()
    assert maze.shortest_path == 4 and maze.n_obs == 11
    obs = np.asarray(maze.observe(s))
    assert obs.sum() == 2 and obs[4] == 1 and obs[6 + 2] == 1  # row 4, column 2
    s1, r = maze.step(s, jnp.array(0))  # down: a wall, no move, not closer
    np.testing.assert_array_equal(s1.pos, s.pos)
    assert float(r) == -1.0
    s2, r = maze.step(s, jnp.array(2))  # right: a wall
    assert float(r) == -1.0 and not bool(s2.done)
    total, state = 0.0, s
    for a in (1, 1, 1, 2):  # up, up, up, right: the food
        state, r = maze.step(state, jnp.array(a))
        total += float(r)
    assert total == 4.0 and bool(state.done)
    after, r = maze.step(state, jnp.array(3))  # finished episodes stay finished
    assert float(r) == 0.0 and int(after.t) == 4
    long = TMaze(episode_len=2)
    state = long.reset()
    for _ in range(2):
        state, _ = long.step(state, jnp.array(0))
    assert bool(state.done) and float(state.dist) > 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two epochs (40 single episodes) of the task, jitted steps."""
    config = RLSNNConfig(epochs=2, eval_episodes=32, out=str(tmp_path_factory.mktemp("rl")))
    task = RLSNNTask()
    run = Run(config, task.load_data(config), None, jax.random.key(config.seed),
              tmp_path_factory.mktemp("rl_out"))  # fmt: skip
    state = task.init(run)
    step = jax.jit(lambda s, b, k: task.step(run, s, b, k))
    returns = []
    for i in range(config.epochs * config.episodes):
        state, metrics = step(state, (jnp.zeros((1,), jnp.int32),), jax.random.key(i))
        returns.append(float(metrics["return"]))
    return task, run, state, returns


def test_reward_rises_well_above_chance(trained):
    task, run, state, returns = trained
    final = task.final(run, state, jax.random.key(99))
    assert set(final) == {
        "return_greedy", "return_sampled", "success_greedy", "return_random", "return_best"
    }  # fmt: skip
    assert final["return_best"] == 4.0
    assert final["return_random"] < -5.0  # chance: a random walk rarely finds the food
    assert final["return_greedy"] > final["return_random"] + 10.0
    assert final["return_sampled"] > final["return_random"] + 5.0
    assert final["success_greedy"] >= 0.9
    assert np.mean(returns[-10:]) > final["return_random"] + 10.0  # the training curve


def test_run_episodes_batch_and_errors(getkey):
    maze = TMaze(episode_len=5)
    net = RewardSTDPNetwork(maze.n_obs, 12, 4, key=getkey(), T=10)
    _, _, ep = run_episodes(net, maze, getkey(), 3)
    assert ep.returns.shape == (3,) and (np.asarray(ep.steps) <= 5).all()
    with pytest.raises(ValueError, match="opt_state"):
        run_episodes(net, maze, getkey(), 2, learn=True)
    with pytest.raises(ValueError, match="policy"):
        RewardSTDPNetwork.choose(jnp.ones(4), getkey(), "softmax")
    with pytest.raises(ValueError, match="tau_elg"):
        RewardSTDPNetwork(3, 12, 2, key=getkey(), tau_elg=0.0)
    with pytest.raises(ValueError, match="data"):
        RLSNNConfig(data="digits")
    with pytest.raises(ValueError, match="epsilon"):
        RLSNNConfig(epsilon=1.5)
    with pytest.raises(ValueError, match="hidden"):
        RLSNNConfig(hidden=8)


def test_fit_smoke(tmp_path):
    from ngcx.training._fit import fit

    config = RLSNNConfig(hidden=12, T=10, episodes=2, episode_len=6, eval_episodes=4, epochs=1,
                         batch_size=2, out=str(tmp_path / "run"))  # fmt: skip
    result = fit(RLSNNTask(), config, progress=False)
    assert "return_random" in result.final and "return" in result.history
    assert (tmp_path / "run" / "reward_curve.png").is_file()
