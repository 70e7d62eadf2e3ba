"""Soft Q imitation learning (Reddy, Dragan & Levine 2020, "SQIL: Imitation Learning via Reinforcement Learning
with Sparse Rewards").

SQIL imitates without learning a reward: it runs a maximum-entropy RL learner
(here irlax's soft actor-critic, :mod:`irlax.learners.sac`, which covers discrete
actions as in Christodoulou 2019 and continuous ones) on a constant, sparse
reward: every demonstrated transition is rewarded 1 and every transition of the
agent's own 0 (the paper's Algorithm 1, with ``lambda_samp = 1``). Each gradient
step's minibatch is balanced: ``k = round(expert_fraction * batch_size)``
transitions drawn uniformly from the demonstrations' real steps, with reward 1,
and ``batch_size - k`` from the agent's replay buffer, with reward 0
(:func:`balanced_batch`); the soft Bellman step on it is SAC's own
(:func:`irlax.learners.sac.sac_batch_step`). The agent is thereby pulled back to
the demonstrated states and actions, where its soft values are high, and away
from states off them, where they decay to 0: the reward has no parameters to
fit, so no adversary (GAIL) or density model is needed.

Episode ends: a transition that ends in a terminal state (``terminated``, the
expert's or the agent's) does not bootstrap, as in SAC, but by default enters an
absorbing state that keeps its label for ever (:func:`absorbing_rewards`, as
Kostrikov et al. 2019 treat terminal steps in adversarial imitation): without it
a demonstration's terminal step, reaching Acrobot's goal, is worth 1 while staying
on demonstrated states is worth up to ``1 / (1 - gamma)``, and the agent learns
never to finish. One truncated by the time limit bootstraps from its true successor.

One *round* is ``round_iterations`` SAC iterations: the agent acts with SAC's
``explore`` (uniformly random actions for the first ``learning_starts`` steps)
in its environments, its transitions go to SAC's replay buffer, and
``gradient_steps`` balanced steps follow each iteration once ``learning_starts``
environment steps are reached. In pure-JAX tasks a run is one ``lax.scan``,
jittable and vmappable over seeds; in host-stepped (Gymnasium) tasks the same
pieces run from a Python loop (:mod:`irlax.learners.host`).

SQIL learns no reward model: the :class:`~irlax.algorithms.base.Algorithm`'s
``reward`` and ``reward_fn`` are ``None`` (as for behavioural cloning), and the
imitation policy is SAC's actor.

Usage::

    algo = make_sqil(SQILConfig(rounds=100), env)       # env = irlax.tasks.make_env("CartPole-v1")
    state, metrics = algo.update(algo.init(key, demos), demos, algo.num_steps)
    action, log_prob = algo.act.act(algo.policy(state, demos), key, obs)
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax import tasks
from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import check_demos, learner_mean_return, sample_expert_transitions
from irlax.data.demos import Demonstrations
from irlax.data.transitions import Transition
from irlax.errors import IrlaxError
from irlax.learners import base, host
from irlax.learners.base import Learner, LearnerMetrics
from irlax.learners.replay import ReplayBuffer, replay_add, replay_sample
from irlax.learners.rollout import EnvCarry
from irlax.learners.sac import SACAgent, SACConfig, SACLossInfo, learning_steps, make_sac, sac_batch_step
from irlax.rewards.transition import absorbing_bonus
from irlax.settings import check_fields
from irlax.tasks import Env

DESCRIPTION = "soft Q imitation learning: SAC with reward 1 on demonstrations, 0 on its own steps (Reddy et al. 2020)"


@dataclass(frozen=True)
class SQILConfig:
    """SQIL's configuration."""

    learner: str = "sac"
    """The soft RL learner; SQIL runs on SAC (discrete or continuous actions), the only choice."""
    learner_config: SACConfig | None = None
    """SAC's config; ``None``: :func:`preset_learner_config` for the task."""
    rounds: int = 100
    """Rounds of training (``update``'s unit)."""
    round_iterations: int = 100
    """SAC iterations per round (``num_envs * train_freq`` environment steps and ``gradient_steps`` balanced
    gradient steps each)."""
    expert_fraction: float = field(default=0.5, metadata={"check": "probability"})
    """Fraction of each minibatch drawn from the demonstrations (reward 1); the rest comes from the agent's replay
    buffer (reward 0). The paper balances them: 0.5."""
    absorbing: bool = True
    """A terminal step enters an absorbing state that keeps the step's label for ever (:func:`absorbing_rewards`):
    a demonstration's terminal step is worth ``1 + gamma / (1 - gamma)``, the agent's ``0``. Off: terminal steps
    are worth their label alone, so reaching a goal (Acrobot-v1) is worth less than hovering on demonstrated
    states (the survival bias of positive rewards; Kostrikov et al. 2019)."""

    def __post_init__(self) -> None:
        check_fields(self)


PRESETS: dict[str, SACConfig] = {
    # the task table's discrete SAC for CartPole (target entropy half of log |A|) with 64 x 64 networks, learning
    # rate 1e-3 and 1000 random steps first; Pendulum the same continuous SAC
    "CartPole-v1": SACConfig(hidden=(64, 64), target_entropy_scale=0.5, learning_starts=1000,
                             actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3),
    "Acrobot-v1": SACConfig(hidden=(64, 64), target_entropy_scale=0.5, learning_starts=1000,
                            actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3),
    "Pendulum-v1": SACConfig(hidden=(64, 64), learning_starts=1000, actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3),
}
"""SQIL's SAC configs by task, measured with ``benchmarks/control_algorithms.py`` (10 demonstrations, 5 seeds,
deterministic policy, expert-normalised IQM): CartPole-v1 1.00, Acrobot-v1 0.96 (with the absorbing state; -0.00
without it: no seed reached the goal), Pendulum-v1 1.00."""

PRESET_ROUNDS: dict[str, int] = {"CartPole-v1": 100, "Acrobot-v1": 200, "Pendulum-v1": 200}
"""Rounds (of 100 environment steps with the presets) by task."""


def preset_learner_config(env_name: str) -> SACConfig:
    """SQIL's SAC config for the task ``env_name``: :data:`PRESETS`, else the task table's SAC config."""
    return PRESETS.get(env_name) or tasks.learner_config(env_name, "sac")


def preset(env_name: str) -> SQILConfig:
    """SQIL's config for the task ``env_name`` (its SAC config and rounds; defaults elsewhere)."""
    return SQILConfig(learner_config=preset_learner_config(env_name),
                      rounds=PRESET_ROUNDS.get(env_name, SQILConfig.rounds))


def expert_count(batch_size: int, expert_fraction: float) -> int:
    """Demonstration transitions in a minibatch of ``batch_size``: ``round(expert_fraction * batch_size)``."""
    return int(round(expert_fraction * batch_size))


def check_config(config: SQILConfig, sac_config: SACConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    if config.learner != "sac":
        raise IrlaxError(f"SQIL runs on SAC (soft Q-learning), not {config.learner!r}")
    if not isinstance(sac_config, SACConfig):
        raise IrlaxError(f"SQIL's learner_config must be a SACConfig, not a {type(sac_config).__name__}")
    k = expert_count(sac_config.batch_size, config.expert_fraction)
    if not 1 <= k <= sac_config.batch_size - 1:
        raise IrlaxError(f"expert_fraction {config.expert_fraction} of a batch of {sac_config.batch_size} leaves "
                         f"{k} demonstration and {sac_config.batch_size - k} agent transitions; SQIL needs both")
    if sac_config.gradient_steps < 1:
        raise IrlaxError("SQIL learns by gradient steps: the learner's gradient_steps must be at least 1")
    if config.absorbing and sac_config.gamma >= 1.0:
        raise IrlaxError("SQIL's absorbing state needs the learner's gamma below 1 (or absorbing=false)")


def sqil_rewards(num_expert: int, batch_size: int) -> Array:
    """SQIL's rewards of a balanced minibatch: ``[B]``, 1 for the first ``num_expert`` (demonstrations), else 0."""
    return (jnp.arange(batch_size) < num_expert).astype(jnp.float32)


def balanced_batch(
    demos: Demonstrations, buffer: ReplayBuffer, key: Array, batch_size: int, num_expert: int
) -> tuple[Transition, Array]:
    """A balanced minibatch: ``num_expert`` demonstration transitions, then ``batch_size - num_expert`` of the
    agent's, and its SQIL rewards (:func:`sqil_rewards`: 1 for the demonstrations', 0 for the agent's).

    Demonstration transitions are the real steps of the episodes, uniformly with replacement; the agent's are
    drawn uniformly from the filled part of its replay buffer. Jittable (sizes static).
    """
    expert_key, agent_key = jax.random.split(key)
    expert = sample_expert_transitions(demos, expert_key, num_expert)
    agent = replay_sample(buffer, agent_key, batch_size - num_expert)
    batch = jax.tree.map(lambda e, a: jnp.concatenate([e.astype(a.dtype), a]), expert, agent)
    return batch, sqil_rewards(num_expert, batch_size)


def absorbing_rewards(reward: Array, terminated: Array, gamma: float) -> Array:
    """SQIL's rewards with the value of the absorbing state a terminal step enters: the episode stays there, each
    step labelled as the terminal step was (a demonstration's 1, the agent's 0), so a terminal step is worth
    ``r + gamma / (1 - gamma) r`` (:func:`~irlax.rewards.transition.absorbing_bonus`) and does not bootstrap."""
    return reward + absorbing_bonus(terminated, reward, gamma)


def sqil_gradient_step(
    sac_config: SACConfig,
    spec: Any,
    num_expert: int,
    demos: Demonstrations,
    agent: SACAgent,
    learner: tuple[Any, Any],
    key: Array,
    absorbing: bool = False,
) -> tuple[tuple[Any, Any], SACLossInfo]:
    """One SAC step (:func:`~irlax.learners.sac.sac_batch_step`) on a :func:`balanced_batch` with SQIL's rewards
    (with :func:`absorbing_rewards` on terminal steps when ``absorbing``).

    ``agent`` supplies the replay buffer and observation statistics, ``learner`` the (params, optimiser states).
    """
    sample_key, target_key, actor_key = jax.random.split(key, 3)
    batch, reward = balanced_batch(demos, agent.buffer, sample_key, sac_config.batch_size, num_expert)
    if absorbing:
        reward = absorbing_rewards(reward, batch.terminated, sac_config.gamma)
    return sac_batch_step(sac_config, spec, learner, agent.obs_stats, batch, reward, target_key, actor_key)


class SQILState(NamedTuple):
    """The whole training state (a pytree; leaves get a leading seed axis under ``vmap``).

    Attributes:
        agent: SAC's :class:`~irlax.learners.sac.SACAgent` (networks, optimisers, replay buffer of the agent's own
            transitions, its step counters).
        envs: the agent's environments mid-episode.
        key: PRNG key of the next iteration.
        env_steps: ``float32 []`` environment steps so far.
        rounds: ``int32 []`` rounds done.
    """

    agent: SACAgent
    envs: EnvCarry
    key: Array
    env_steps: Array
    rounds: Array


class SQILMetrics(NamedTuple):
    """One round's record (leaves ``[]``; ``[rounds]`` after a scan). Losses are means over the round's gradient
    steps (NaN before learning starts).

    Attributes:
        env_steps: environment steps so far.
        mean_return: mean true return of the agent's episodes that ended this round (NaN if none).
        critic_loss: SAC's critic loss on the balanced minibatches.
        actor_loss: SAC's actor loss.
        alpha: the temperature.
        entropy: the policy's entropy.
        q_mean: mean soft Q-value of the minibatches' actions (demonstrations' and agent's together).
    """

    env_steps: Array
    mean_return: Array
    critic_loss: Array
    actor_loss: Array
    alpha: Array
    entropy: Array
    q_mean: Array


def round_metrics(record: LearnerMetrics) -> SQILMetrics:
    """A round's :class:`SQILMetrics` from its iterations' records (leaves ``[round_iterations]``)."""
    losses = record.losses
    mean = lambda x: jnp.nanmean(x)
    return SQILMetrics(
        record.env_steps[-1].astype(jnp.float32), learner_mean_return(record), mean(losses.critic_loss),
        mean(losses.actor_loss), mean(losses.alpha), mean(losses.entropy), mean(losses.q_mean),
    )


def make_sqil(config: SQILConfig, env: Env) -> Algorithm:
    """SQIL in ``env`` with ``config``: one step of ``update`` is one round of ``round_iterations`` SAC iterations.

    Raises:
        IrlaxError: a bad setting.
    """
    sac_config = config.learner_config if config.learner_config is not None else preset_learner_config(env.name)
    check_config(config, sac_config)
    spec = env.spec
    learner: Learner = make_sac(sac_config, spec)
    num_expert = expert_count(sac_config.batch_size, config.expert_fraction)
    config = dataclasses.replace(config, learner_config=sac_config)  # the config it ran with is the one it records

    def learn(agent: SACAgent, transitions: Transition, demos: Demonstrations, key: Array
              ) -> tuple[SACAgent, SACLossInfo]:
        """The iteration's transitions ``[T, E]`` into the agent's buffer, then the balanced gradient steps."""
        agent = agent._replace(buffer=replay_add(agent.buffer, jax.tree.map(
            lambda x: x.reshape((-1, *x.shape[2:])), transitions)))
        step = functools.partial(sqil_gradient_step, sac_config, spec, num_expert, demos, agent,
                                 absorbing=config.absorbing)
        return learning_steps(sac_config, agent, key, step)

    def start(agent: SACAgent, envs: EnvCarry, key: Array) -> SQILState:
        return SQILState(agent, envs, key, jnp.float32(0), jnp.int32(0))

    def init(key: Array, demos: Demonstrations) -> SQILState:
        check_demos(demos, spec)
        learner_state = base.init_state(learner, env, key)
        return start(learner_state.agent, learner_state.envs, learner_state.key)

    def iteration(demos: Demonstrations, carry: tuple[SACAgent, EnvCarry, Array], _: Any
                  ) -> tuple[tuple, LearnerMetrics]:
        agent, envs, key = carry
        collect_key, learn_key, key = jax.random.split(key, 3)
        agent, envs, transitions, episodes = base.collect(learner, env, agent, envs, collect_key)
        agent, losses = learn(agent, transitions, demos, learn_key)
        return (agent, envs, key), LearnerMetrics(agent.env_steps, episodes.mean_return(), episodes.count, losses)

    def finish(rounds: Array, agent: SACAgent, envs: EnvCarry, key: Array, record: LearnerMetrics
               ) -> tuple[SQILState, SQILMetrics]:
        """The state after a round (``rounds`` done before it) and the round's metrics."""
        metrics = round_metrics(record)
        return SQILState(agent, envs, key, metrics.env_steps, rounds + 1), metrics

    def one_round(demos: Demonstrations, state: SQILState) -> tuple[SQILState, SQILMetrics]:
        (agent, envs, key), record = jax.lax.scan(
            functools.partial(iteration, demos), (state.agent, state.envs, state.key), None,
            length=config.round_iterations,
        )
        return finish(state.rounds, agent, envs, key, record)

    def update(state: SQILState, demos: Demonstrations, num_rounds: int) -> tuple[SQILState, SQILMetrics]:
        check_demos(demos, spec)
        return jax.lax.scan(lambda s, _: one_round(demos, s), state, None, length=num_rounds)

    # host-stepped environments: collection stepped from Python (the learners' host loop), the rest jitted over seeds
    host_start = jax.jit(jax.vmap(start))
    host_finish = jax.jit(jax.vmap(finish))
    split3 = jax.jit(jax.vmap(lambda k: tuple(jax.random.split(k, 3))))

    @functools.partial(jax.jit, donate_argnums=(0,))
    def host_learn(agent: SACAgent, transitions: Transition, demos: Demonstrations, key: Array, stats: Any
                   ) -> tuple[SACAgent, LearnerMetrics]:
        def one(agent: SACAgent, transitions: Transition, key: Array, stats: Any) -> tuple[SACAgent, LearnerMetrics]:
            agent, losses = learn(agent, transitions, demos, key)
            return agent, LearnerMetrics(agent.env_steps, stats.mean_return(), stats.count, losses)

        return host.over_seeds(one)(agent, transitions, key, stats)

    def host_init(keys: Array, demos: Demonstrations) -> SQILState:
        check_demos(demos, spec)
        learner_state = host.init_state(learner, env, keys)
        return host_start(learner_state.agent, learner_state.envs, learner_state.key)

    def host_round(demos: Demonstrations, state: SQILState) -> tuple[SQILState, SQILMetrics]:
        # the host loop donates the agent's buffers to its jitted steps: ``state`` is not read after the first
        agent, envs, key, rounds = state.agent, state.envs, state.key, state.rounds
        records = []
        for _ in range(config.round_iterations):
            collect_key, learn_key, key = split3(key)
            agent, envs, transitions, stats = host.collect(learner, env, agent, envs, collect_key)
            agent, record = host_learn(agent, transitions, demos, learn_key, stats)
            records.append(record)
        record = jax.tree.map(jnp.asarray, host.stack_records(records))
        return host_finish(rounds, agent, envs, key, record)

    def host_update(state: SQILState, demos: Demonstrations, num_rounds: int) -> tuple[SQILState, Any]:
        check_demos(demos, spec)
        state, metrics = host.repeat_rounds(lambda s: host_round(demos, s), state, num_rounds)
        if metrics is None:
            return state, SQILMetrics(*(np.zeros((state.key.shape[0], 0), np.float32) for _ in SQILMetrics._fields))
        return state, metrics

    return Algorithm(
        name="sqil", config=config, num_steps=config.rounds, init=init, update=update, metrics=SQILMetrics,
        policy=lambda state, demos: learner.policy_params(state.agent), act=learner, spec=spec, env=env,
        learner=learner, description=DESCRIPTION, host_init=host_init, host_update=host_update,
    )
