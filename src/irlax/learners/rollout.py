"""Stepping control environments for the sample-based learners, with an optional learned reward.

The pieces every learner shares:

- :class:`EnvCarry`: ``E`` parallel environments and the running return of each
  one's current episode (the *true* return, for reporting).
- :func:`step_envs`: one step of all of them; the reward the learner sees is the
  environment's or, when given, ``reward_fn(reward_params, obs, action, next_obs, terminated)``
  (the learned reward of an IRL algorithm, which replaces the true one).
- :func:`collect_steps`: some steps of a fixed policy, episodes continuing
  (the samples of GAIL's and AIRL's discriminators, DAgger's rollouts);
- :func:`rollout_episodes`: whole episodes from a policy, padded to the time
  limit with a mask (for evaluation and for recording demonstrations).

All are pure and jittable; ``reward_fn`` and the policy are static callables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.data.transitions import Episodes, RewardFn, Transition
from irlax.envs.control import JaxEnv, reset_batch, step_batch
from irlax.envs.spec import EnvSpec, EnvStep

ActFn = Callable[[Array, Array], tuple[Array, Array]]
"""``act(key, obs [O]) -> (action, log_prob [])``: a policy with its parameters bound."""


class EnvCarry(NamedTuple):
    """``E`` environments mid-episode.

    Attributes:
        obs: ``[E, O]`` observations to act on.
        state: the gymnax states (leaves ``[E, ...]``).
        episode_return: ``[E]`` true return of each current episode so far.
        episode_length: ``[E]`` steps of each current episode so far.
    """

    obs: Array
    state: Any
    episode_return: Array
    episode_length: Array


class EpisodeStats(NamedTuple):
    """Sums over the episodes that ended during some steps (true returns).

    Attributes:
        return_sum: sum of the ended episodes' true returns.
        length_sum: sum of their lengths.
        count: how many ended.
    """

    return_sum: Array
    length_sum: Array
    count: Array

    @staticmethod
    def zero() -> EpisodeStats:
        """No episodes yet."""
        return EpisodeStats(jnp.float32(0.0), jnp.float32(0.0), jnp.float32(0.0))

    def add(self, other: EpisodeStats) -> EpisodeStats:
        """The sums over both sets of episodes."""
        return EpisodeStats(*(a + b for a, b in zip(self, other, strict=True)))

    def mean_return(self) -> Array:
        """Mean true return of the ended episodes (NaN when none ended)."""
        return jnp.where(self.count > 0, self.return_sum / jnp.maximum(self.count, 1.0), jnp.nan)


def example_transition(spec: EnvSpec) -> Transition:
    """A zero :class:`Transition` of the task ``spec`` (unbatched): the template of a replay buffer."""
    obs = jnp.zeros((spec.obs_size,), jnp.float32)
    action = jnp.int32(0) if spec.discrete else jnp.zeros((spec.action_size,), jnp.float32)
    false, zero = jnp.bool_(False), jnp.float32(0)
    return Transition(obs, action, zero, zero, obs, false, false, zero)


def init_envs(env: JaxEnv, key: Array, num_envs: int) -> EnvCarry:
    """``num_envs`` fresh episodes."""
    obs, state = reset_batch(env, key, num_envs)
    zeros = jnp.zeros((num_envs,), jnp.float32)
    return EnvCarry(obs, state, zeros, zeros)


def learner_rewards(
    reward_fn: RewardFn | None, reward_params: Any, obs: Array, action: Array, next_obs: Array, terminated: Array,
    env_reward: Array,
) -> Array:
    """The rewards a learner sees for a batch: ``env_reward`` or ``reward_fn`` vmapped over the leading axis."""
    if reward_fn is None:
        return env_reward
    rewards = jax.vmap(reward_fn, in_axes=(None, 0, 0, 0, 0))(reward_params, obs, action, next_obs, terminated)
    return rewards.astype(jnp.float32)


def step_envs(
    env: JaxEnv,
    carry: EnvCarry,
    key: Array,
    action: Array,
    log_prob: Array,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[EnvCarry, Transition, EpisodeStats]:
    """One step of all ``E`` environments with ``action [E, ...]`` (log-probabilities ``[E]``).

    Returns the new carry, the transitions (reward replaced by ``reward_fn`` when
    given), and the true-return statistics of the episodes that ended.
    """
    return record_step(carry, step_batch(env, key, carry.state, action), action, log_prob, reward_fn, reward_params)


def record_step(
    carry: EnvCarry,
    out: EnvStep,
    action: Array,
    log_prob: Array,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[EnvCarry, Transition, EpisodeStats]:
    """The bookkeeping of :func:`step_envs` once the environments have stepped (``out``, leaves ``[E, ...]``).

    Pure and jittable; a host-stepped backend (:mod:`irlax.learners.host`) calls it after stepping.
    """
    reward = learner_rewards(
        reward_fn, reward_params, carry.obs, action, out.next_obs, out.terminated, out.reward
    )
    done = jnp.logical_or(out.terminated, out.truncated)
    episode_return = carry.episode_return + out.reward
    episode_length = carry.episode_length + 1.0
    stats = EpisodeStats(
        jnp.sum(jnp.where(done, episode_return, 0.0)),
        jnp.sum(jnp.where(done, episode_length, 0.0)),
        jnp.sum(done.astype(jnp.float32)),
    )
    new_carry = EnvCarry(
        out.obs, out.state, jnp.where(done, 0.0, episode_return), jnp.where(done, 0.0, episode_length)
    )
    transition = Transition(
        carry.obs, action, reward, out.reward, out.next_obs, out.terminated, out.truncated, log_prob
    )
    return new_carry, transition, stats


def collect_steps(
    env: JaxEnv, act: ActFn, carry: EnvCarry, key: Array, num_steps: int
) -> tuple[EnvCarry, Transition, EpisodeStats]:
    """``num_steps`` steps of the fixed policy ``act`` in every environment of ``carry``, episodes continuing.

    Returns the environments, the transitions ``[num_steps, E, ...]`` (with the acting policy's
    log-probabilities) and the true-return statistics of the episodes that ended. Pure; ``act`` is static.
    """
    num_envs = carry.obs.shape[0]

    def one_step(loop: tuple[EnvCarry, EpisodeStats], step_key: Array) -> tuple[tuple, Transition]:
        carry, episodes = loop
        act_key, env_key = jax.random.split(step_key)
        action, log_prob = jax.vmap(act)(jax.random.split(act_key, num_envs), carry.obs)
        carry, transition, ended = step_envs(env, carry, env_key, action, log_prob)
        return (carry, episodes.add(ended)), transition

    (carry, episodes), transitions = jax.lax.scan(
        one_step, (carry, EpisodeStats.zero()), jax.random.split(key, num_steps)
    )
    return carry, transitions, episodes


def rollout_episodes(env: JaxEnv, act: ActFn, key: Array, num_episodes: int) -> Episodes:
    """Run ``num_episodes`` episodes of the policy ``act`` in parallel, each to its end.

    Every episode runs ``env.spec.max_steps`` steps; the steps after its first
    ``terminated`` or ``truncated`` are masked out.
    """
    reset_key, run_key = jax.random.split(key)
    carry = init_envs(env, reset_key, num_episodes)
    alive = jnp.ones((num_episodes,), bool)

    def one_step(loop: tuple[EnvCarry, Array], step_key: Array) -> tuple[tuple[EnvCarry, Array], tuple]:
        carry, alive = loop
        act_key, env_key = jax.random.split(step_key)
        action, log_prob = jax.vmap(act)(jax.random.split(act_key, num_episodes), carry.obs)
        carry, transition, _ = step_envs(env, carry, env_key, action, log_prob)
        done = jnp.logical_or(transition.terminated, transition.truncated)
        return (carry, alive & ~done), (transition, alive)

    _, (transitions, mask) = jax.lax.scan(one_step, (carry, alive), jax.random.split(run_key, env.spec.max_steps))
    swap = lambda x: jnp.swapaxes(x, 0, 1)
    return Episodes(jax.tree.map(swap, transitions), swap(mask))
