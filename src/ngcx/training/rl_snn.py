"""``ngcx train rl-snn``: a spiking controller learning the rat T-maze by reward-modulated
STDP with eligibility traces (:class:`ngcx.models.RewardSTDPNetwork`; ngc-museum
``rl_snn``, MSTDP-ET after Florian 2007).

The data is the task's own environment, ``--data t-maze`` (:class:`ngcx.models.TMaze`,
the exhibit's T-maze in JAX: start at the bottom of the stem, food at the right end of
the bar, shaped rewards +1 closer / -1 otherwise, at most ``episode_len`` moves). An epoch
is ``episodes`` episodes; one step plays ``batch_size`` episodes in parallel, learning
after every move from the reward times each synapse's eligibility (``batch_size=1``: the
exhibit's online learning, epsilon-greedy exploration with ``epsilon``). ``evaluate``
plays ``eval_episodes`` episodes without learning and reports the mean return of the
greedy policy (most output spikes) and of the sampled policy (actions drawn in proportion
to the spike counts), and the greedy success rate; ``final`` adds the return of a
uniformly random policy (chance) and the best possible return. Plot:
``reward_curve.png``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import RewardSTDPNetwork, TMaze, run_episodes
from ._config import TrainConfig, check_fields, field
from ._task import AbstractTask, Run


__all__ = ["RLSNNConfig", "RLSNNTask"]

ENVIRONMENTS = ("t-maze",)


@dataclasses.dataclass(frozen=True)
class RLSNNConfig(TrainConfig):
    """Configuration of ``ngcx train rl-snn`` (see the module docstring)."""

    data: str = field("t-maze", "environment: the rat T-maze", choices=ENVIRONMENTS)
    episodes: int = field(20, "training episodes per epoch")
    episode_len: int = field(30, "most moves per episode")
    eval_episodes: int = field(64, "episodes per evaluation (no learning)")
    hidden: int = field(36, "hidden LIF cells")
    T: int = field(100, "decision window (steps of dt)")
    dt: float = field(1.0, "integration step (ms)")
    tau_m: float = field(100.0, "membrane time constant (ms)")
    A_plus: float = field(1.0, "potentiation amplitude of the STDP feeding the eligibility")
    A_minus: float = field(0.01, "depression amplitude of the STDP feeding the eligibility")
    tau_elg: float = field(40.0, "eligibility trace time constant (ms)")
    eta: float = field(1.0, "learning rate of the reward-modulated update")
    epsilon: float = field(0.02, "exploration: probability of a random action in training")
    epochs: int = field(10, "training epochs (each `episodes` episodes)")
    batch_size: int = field(1, "episodes played in parallel per step (1: online, as the exhibit)")
    out: str = field("runs/rl-snn", "output folder (config, metrics, checkpoint, plots)")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fields(
            self,
            positive=("episodes", "episode_len", "eval_episodes", "hidden", "T", "dt", "tau_m",
                      "tau_elg"),
            nonnegative=("A_plus", "A_minus", "eta"),
            unit_closed=("epsilon",),
        )  # fmt: skip
        if self.hidden < 9:
            raise ValueError(
                f"`hidden` (--hidden) must be at least 9 (each input excites 6 and inhibits 3 "
                f"hidden cells), got {self.hidden}."
            )


@final
class RLSNNTask(AbstractTask[RLSNNConfig]):
    """``ngcx train rl-snn`` (see the module docstring)."""

    name: ClassVar[str] = "rl-snn"
    description: ClassVar[str] = (
        "spiking controller, reward-modulated STDP with eligibility traces (ngc-museum rl_snn)"
    )
    config_cls: ClassVar[type[TrainConfig]] = RLSNNConfig
    data_kinds: ClassVar[tuple[str, ...]] = ENVIRONMENTS
    shard_training: ClassVar[bool] = False

    def load_data(self, config: RLSNNConfig) -> TMaze:
        """The environment named by ``config.data``."""
        if config.data not in ENVIRONMENTS:
            raise ValueError(
                f"`data` (--data) {config.data!r}: ngcx train {self.name} plays "
                f"{', '.join(ENVIRONMENTS)}."
            )
        return TMaze(episode_len=config.episode_len)

    def train_arrays(self, run: Run[RLSNNConfig]) -> tuple[Any, ...]:
        """One entry per training episode of an epoch (the values are not used)."""
        return (np.arange(run.config.episodes, dtype=np.int32),)

    def init(self, run: Run[RLSNNConfig]) -> Any:
        c, maze = run.config, run.data
        model = RewardSTDPNetwork(
            maze.n_obs, c.hidden, maze.n_actions, key=run.init_key, T=c.T, dt=c.dt,
            tau_m=c.tau_m, A_plus=c.A_plus, A_minus=c.A_minus, tau_elg=c.tau_elg, eta=c.eta,
        )  # fmt: skip
        return (model, model.init_optimizer())

    def step(self, run: Run[RLSNNConfig], state: Any, batch: Any, key: Any) -> Any:
        model, opt_state = state
        n = batch[0].shape[0]
        model, opt_state, ep = run_episodes(
            model, run.data, key, n, opt_state=opt_state, learn=True, epsilon=run.config.epsilon
        )
        metrics = {"return": jnp.mean(ep.returns), "success": jnp.mean(ep.success)}
        return (model, opt_state), metrics

    def watched(self, state: Any) -> Any:
        return state[0].W2

    def _play(self, run: Run[RLSNNConfig], model: RewardSTDPNetwork, key: Any, policy: str):
        return _play(model, run.data, key, run.config.eval_episodes, policy=policy)[2]

    def constants(self, run: Run[RLSNNConfig], state: Any) -> Any:
        # only the reward-modulated weights move (benchmarks/rl_snn.py: 1.30 of the
        # plain-JAX twin at one episode with every leaf an argument, 1.11 folded)
        spec = jax.tree_util.tree_map(lambda _: False, state[0])
        return (eqx.tree_at(lambda m: m.W2.weights, spec, True), True)

    def evaluate(self, run: Run[RLSNNConfig], state: Any, key: Any) -> dict[str, float]:
        k1, k2 = jax.random.split(key)
        greedy = self._play(run, state[0], k1, "greedy")
        sampled = self._play(run, state[0], k2, "sampled")
        return {
            "return_greedy": float(jnp.mean(greedy.returns)),
            "return_sampled": float(jnp.mean(sampled.returns)),
            "success_greedy": float(jnp.mean(greedy.success)),
        }

    def _random_return(self, run: Run[RLSNNConfig], state: Any) -> float:
        key = jax.random.fold_in(run.final_key, 7)
        return float(jnp.mean(self._play(run, state[0], key, "random").returns))

    def final(self, run: Run[RLSNNConfig], state: Any, key: Any) -> dict[str, Any]:
        return {
            **self.evaluate(run, state, key),
            "return_random": self._random_return(run, state),
            "return_best": float(run.data.shortest_path),
        }

    def summary(self, final: dict[str, Any]) -> str:
        return (
            f"mean return {final['return_greedy']:.2f} greedy, {final['return_sampled']:.2f} "
            f"sampled (random policy {final['return_random']:.2f}, best "
            f"{final['return_best']:.0f}); greedy success {final['success_greedy']:.2f}"
        )

    def plots(self, run: Run[RLSNNConfig], state: Any, history: Any, viz: Any) -> None:
        names = {"return": "training (epsilon-greedy)", "return_greedy": "greedy",
                 "return_sampled": "sampled"}  # fmt: skip
        curves = {label: history[k] for k, label in names.items() if k in history}
        n_epochs = max((len(v) for v in curves.values()), default=1)
        curves["random policy"] = [self._random_return(run, state)] * n_epochs
        viz.plot_learning_curve(
            curves,
            run.out / "reward_curve.png",
            title=f"MSTDP-ET controller, T-maze ({run.config.episodes} episodes per epoch)",
            ylabel="mean episode return",
        )


_play = eqx.filter_jit(run_episodes)
