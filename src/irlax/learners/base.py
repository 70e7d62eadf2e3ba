"""The sample-based learner interface, and the pure-JAX loop that drives any learner.

A learner (PPO, SAC) is built by a factory that binds its config and the task's
:class:`~irlax.envs.spec.EnvSpec` (:func:`irlax.learners.ppo.make_ppo`,
:func:`irlax.learners.sac.make_sac`, or by name :func:`irlax.learners.registry.make_learner`)
and returns a :class:`Learner`: pure functions of state and data only. Acting is
apart from learning (as in brax):

- ``explore(agent, keys, obs [E, O]) -> (agent, action [E], log_prob [E])``: the
  behaviour policy for one step of ``E`` environments (SAC's uniformly random
  start lives here);
- ``learn(agent, transitions [T, E], key, reward_fn, reward_params) -> (agent, losses)``:
  one learning step on an iteration's transitions, with the environment's reward
  or a learned ``reward_fn`` in its place (the hook for IRL).

A backend steps the environments in between. For pure-JAX tasks
(:class:`~irlax.envs.control.JaxEnv`) that happens here, inside jitted code:
:func:`collect` steps ``num_envs`` environments ``rollout_steps`` times, one
:func:`iteration` is collect then learn, and :func:`update` is one ``lax.scan``
over iterations, jittable with the learner and env static and vmappable over
:class:`LearnerState` s (seeds). A host-stepped backend drives the same
``explore`` and ``learn`` from a Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
from jax import Array

from irlax.data.transitions import RewardFn, Transition
from irlax.envs.control import JaxEnv
from irlax.envs.spec import EnvSpec
from irlax.learners.rollout import EnvCarry, EpisodeStats, init_envs, step_envs


@dataclass(frozen=True)
class Learner:
    """A sample-based learner with its config and task bound: everything is a function of state and data.

    Equal (and hashing) by name, config and spec, so that a learner is a static argument of ``jax.jit``
    and two learners built alike share compiled programs.

    Attributes:
        name: ``"ppo"`` or ``"sac"``.
        config: the learner's frozen config.
        spec: the task it acts in.
        num_envs: environments it acts in at once (``E``).
        rollout_steps: steps of each environment per iteration (``T``).
        explore_keys: PRNG keys ``explore`` takes per step.
        init: ``init(key) -> (agent, env_key, key)``: a fresh agent, the key to reset its environments with,
            and the key of the rest of the run.
        explore: ``explore(agent, keys [explore_keys, 2], obs [E, O]) -> (agent, action [E, ...], log_prob [E])``.
        learn: ``learn(agent, transitions [T, E], key, reward_fn, reward_params) -> (agent, losses)``.
        act: ``act(policy, key, obs [O], deterministic=False) -> (action, log_prob [])``.
        log_prob: ``log_prob(policy, obs [O], action) -> []``.
        policy_params: ``policy_params(agent) -> policy``, what acting needs (an expert's saved part).
        description: one line for help texts.
    """

    name: str
    config: Any
    spec: EnvSpec
    num_envs: int
    rollout_steps: int
    explore_keys: int
    init: Callable[[Array], tuple[Any, Array, Array]] = field(compare=False, repr=False)
    explore: Callable[[Any, Array, Array], tuple[Any, Array, Array]] = field(compare=False, repr=False)
    learn: Callable[..., tuple[Any, Any]] = field(compare=False, repr=False)
    act: Callable[..., tuple[Array, Array]] = field(compare=False, repr=False)
    log_prob: Callable[[Any, Array, Array], Array] = field(compare=False, repr=False)
    policy_params: Callable[[Any], Any] = field(compare=False, repr=False)
    description: str = field(default="", compare=False)

    @property
    def steps_per_iteration(self) -> int:
        """Environment steps of one iteration: ``num_envs * rollout_steps``."""
        return self.num_envs * self.rollout_steps

    def iterations_for(self, total_steps: int) -> int:
        """Iterations needed for at least ``total_steps`` environment steps (at least one)."""
        return max(1, math.ceil(total_steps / self.steps_per_iteration))


class LearnerState(NamedTuple):
    """A learner in a pure-JAX task (leaves gain a leading seed axis under ``vmap``).

    Attributes:
        agent: the learner's own state (networks, optimisers, statistics, buffer, ``env_steps``).
        envs: the ``num_envs`` environments mid-episode.
        key: the PRNG key of the next iteration.
    """

    agent: Any
    envs: EnvCarry
    key: Array


class LearnerMetrics(NamedTuple):
    """One iteration's record (stacked ``[num_iterations]`` by :func:`update`).

    Attributes:
        env_steps: environment steps taken by the end of the iteration.
        mean_return: mean true return of the episodes that ended during the iteration (NaN if none).
        episodes: how many episodes ended during the iteration.
        losses: the learner's own record of its learning step (PPO's or SAC's loss information).
    """

    env_steps: Array
    mean_return: Array
    episodes: Array
    losses: Any


def init_state(learner: Learner, env: JaxEnv, key: Array) -> LearnerState:
    """A fresh learner and its ``num_envs`` fresh episodes of ``env``."""
    agent, env_key, key = learner.init(key)
    return LearnerState(agent, init_envs(env, env_key, learner.num_envs), key)


def collect(
    learner: Learner, env: JaxEnv, agent: Any, envs: EnvCarry, key: Array
) -> tuple[Any, EnvCarry, Transition, EpisodeStats]:
    """``rollout_steps`` steps of the behaviour policy in every environment: transitions ``[T, E, ...]``.

    The transitions carry the environment's reward (a learner relabels them in ``learn``).
    """

    def one_step(carry: tuple[Any, EnvCarry, EpisodeStats], step_key: Array) -> tuple[tuple, Transition]:
        agent, envs, episodes = carry
        keys = jax.random.split(step_key, learner.explore_keys + 1)
        agent, action, log_prob = learner.explore(agent, keys[:-1], envs.obs)
        envs, transition, ended = step_envs(env, envs, keys[-1], action, log_prob)
        return (agent, envs, episodes.add(ended)), transition

    (agent, envs, episodes), transitions = jax.lax.scan(
        one_step, (agent, envs, EpisodeStats.zero()), jax.random.split(key, learner.rollout_steps)
    )
    return agent, envs, transitions, episodes


def iteration(
    learner: Learner, env: JaxEnv, state: LearnerState, reward_fn: RewardFn | None = None, reward_params: Any = None
) -> tuple[LearnerState, LearnerMetrics]:
    """One iteration: :func:`collect`, then ``learn`` on what was collected."""
    collect_key, learn_key, key = jax.random.split(state.key, 3)
    agent, envs, transitions, episodes = collect(learner, env, state.agent, state.envs, collect_key)
    agent, losses = learner.learn(agent, transitions, learn_key, reward_fn, reward_params)
    metrics = LearnerMetrics(agent.env_steps, episodes.mean_return(), episodes.count, losses)
    return LearnerState(agent, envs, key), metrics


def update(
    learner: Learner,
    env: JaxEnv,
    state: LearnerState,
    num_iterations: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[LearnerState, LearnerMetrics]:
    """Advance the learner by ``num_iterations`` iterations (``steps_per_iteration`` env steps each).

    One ``lax.scan``; pure. Jit it with ``learner``, ``env``, ``num_iterations`` and ``reward_fn`` static;
    vmap it over states for several seeds. When ``reward_fn`` is given,
    ``reward_fn(reward_params, obs, action, next_obs, terminated)`` replaces the environment's reward in the
    learning (the reported ``mean_return`` stays the true one).

    Returns:
        the new state and :class:`LearnerMetrics` stacked ``[num_iterations]``.
    """
    body = lambda s, _: iteration(learner, env, s, reward_fn, reward_params)
    return jax.lax.scan(body, state, None, length=num_iterations)


def train(
    learner: Learner,
    env: JaxEnv,
    key: Array,
    total_steps: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[LearnerState, LearnerMetrics]:
    """:func:`init_state` then :func:`update` for at least ``total_steps`` environment steps.

    Jit it with ``learner``, ``env``, ``total_steps`` and ``reward_fn`` static; vmap it over keys for seeds.
    """
    state = init_state(learner, env, key)
    return update(learner, env, state, learner.iterations_for(total_steps), reward_fn, reward_params)


init_state_jit = jax.jit(init_state, static_argnames=("learner", "env"))
""":func:`init_state` compiled (``learner`` and ``env`` static)."""

update_jit = jax.jit(update, static_argnames=("learner", "env", "num_iterations", "reward_fn"))
""":func:`update` compiled (``learner``, ``env``, ``num_iterations`` and ``reward_fn`` static)."""

train_jit = jax.jit(train, static_argnames=("learner", "env", "total_steps", "reward_fn"))
""":func:`train` compiled (``learner``, ``env``, ``total_steps`` and ``reward_fn`` static)."""
