"""Learners and policies in host-stepped environments (Gymnasium): a Python loop around jitted pieces.

The pure-JAX backend runs a learner's whole iteration (``explore``, environment
step, bookkeeping, ``learn``) inside one jitted ``lax.scan``
(:mod:`irlax.learners.base`). A :class:`~irlax.envs.gym.GymEnv` steps on the
host instead, so here the same pieces are called from Python, each one
compiled: per environment step one jitted ``explore`` (the learner's own),
the host step, one jitted :func:`~irlax.learners.rollout.record_step`; per
iteration one jitted ``learn`` (the learner's own). Nothing of PPO or SAC is
written twice: both backends call the learner's ``init``, ``explore`` and
``learn`` and the same bookkeeping.

Every function here works on a leading *seed* axis ``K`` (states, keys and
policy parameters ``[K, ...]``): the jitted pieces are ``vmap``-ed over seeds and
the host steps all ``K x E`` environments in one batch, so ``--seeds K`` costs one
loop, not ``K``. States and metrics match the pure-JAX path's shapes, so the run
driver checkpoints and resumes them alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.data.transitions import Episodes, RewardFn, Transition
from irlax.envs.gym import GymEnv, GymState
from irlax.envs.spec import EnvStep
from irlax.learners.base import Learner, LearnerMetrics, LearnerState
from irlax.learners.rollout import EnvCarry, EpisodeStats, record_step


def over_seeds(fn: Any, in_axes: Any = 0) -> Any:
    """``jax.vmap(fn, in_axes)`` over the leading seed axis; for one seed, ``fn`` on the squeezed arguments.

    A ``vmap`` of size 1 costs a lone seed dearly (see :func:`update`), so a single seed is not vmapped. Use inside
    jitted code: the seed count is static there.
    """

    def run(*args: Any) -> Any:
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        sizes = {jax.tree.leaves(a)[0].shape[0] for a, ax in zip(args, axes, strict=True)
                 if ax == 0 and jax.tree.leaves(a)}
        if sizes != {1}:
            return jax.vmap(fn, in_axes=in_axes)(*args)
        squeezed = [jax.tree.map(lambda x: x[0], a) if ax == 0 else a for a, ax in zip(args, axes, strict=True)]
        return jax.tree.map(lambda x: jnp.asarray(x)[None], fn(*squeezed))

    return run


def jit_over_seeds(fn: Callable, *in_axes: Any) -> Callable:
    """``fn`` vmapped over the leading seed axis of the arguments whose ``in_axes`` entry is 0 (``None``: shared by
    every seed), and jitted: how the algorithms' pure phases run between host-stepped ones."""
    return jax.jit(jax.vmap(fn, in_axes=in_axes))


def is_host(env: Any) -> bool:
    """Whether ``env`` steps on the host (a :class:`~irlax.envs.gym.GymEnv`) rather than inside jitted code."""
    return isinstance(env, GymEnv)


# -- environments ------------------------------------------------------------------------------------------


def reset_envs(env: GymEnv, keys: Array, num_envs: int) -> EnvCarry:
    """``num_envs`` fresh episodes per seed key ``keys [K, 2]``: an :class:`EnvCarry` with leaves ``[K, E, ...]``.

    Environment ``e`` of seed ``k`` resets with ``split(keys[k], num_envs)[e]``, as the pure-JAX path.
    """
    env_keys = np.asarray(_split_each(keys, num_envs))
    k = env_keys.shape[0]
    obs, state = env.reset(env_keys.reshape(-1, 2))
    unflat = lambda x: jnp.asarray(x.reshape(k, num_envs, *x.shape[1:]))
    zeros = jnp.zeros((k, num_envs), jnp.float32)
    return EnvCarry(unflat(obs), GymState(unflat(state.sim), unflat(state.elapsed)), zeros, zeros)


def step_envs(env: GymEnv, envs: EnvCarry, env_keys: Array, action: Array) -> EnvStep:
    """One host step of all the environments (raw keys ``[..., 2]``, e.g. ``[K, E, 2]``; actions ``[..., ...]``)."""
    keys = np.asarray(env_keys)
    lead = keys.shape[:-1]
    n = int(np.prod(lead))
    flat = lambda x: np.asarray(x).reshape(n, *np.shape(x)[len(lead):])
    out = env.step(keys.reshape(-1, 2), GymState(flat(envs.state.sim), flat(envs.state.elapsed)), flat(action))
    return jax.tree.map(lambda x: x.reshape(*lead, *x.shape[1:]), out)


@functools.partial(jax.jit, static_argnames=("num",))
def _split_each(keys: Array, num: int) -> Array:
    return jax.vmap(lambda key: jax.random.split(key, num))(keys)


def seeds_map(fn: Any, single: bool, in_axes: Any = 0) -> Any:
    """``fn`` itself when the arguments are one seed's (``single``), else ``jax.vmap(fn, in_axes)`` over seeds."""
    return fn if single else jax.vmap(fn, in_axes=in_axes)


@functools.partial(jax.jit, static_argnames=("single",))
def _record(envs: EnvCarry, out: EnvStep, action: Array, log_prob: Array, stats: EpisodeStats,
            single: bool = False) -> tuple[EnvCarry, Transition, EpisodeStats]:
    """:func:`record_step` of every seed, with the ended episodes' statistics added to ``stats [K]``."""
    envs, transition, ended = seeds_map(record_step, single)(envs, out, action, log_prob)
    return envs, transition, stats.add(ended)


def _zero_stats(num_seeds: int | None) -> EpisodeStats:
    """Zero statistics for ``num_seeds`` seeds (``None``: one seed, unbatched)."""
    zeros = np.zeros(() if num_seeds is None else (num_seeds,), np.float32)
    return EpisodeStats(zeros, zeros, zeros)


def _stack_steps(steps: list[Transition]) -> Transition:
    """Per-step transitions ``[K, E, ...]`` as one ``[K, T, E, ...]`` (numpy, stacked on the host)."""
    if len(steps) == 1:
        return jax.tree.map(lambda x: np.expand_dims(np.asarray(x), 1), steps[0])
    return jax.tree.map(lambda *xs: np.stack(xs, axis=1), *jax.device_get(steps))


# -- learners ----------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("learner",))
def _init(learner: Learner, keys: Array) -> tuple[Any, Array, Array]:
    return over_seeds(learner.init)(keys)


def init_state(learner: Learner, env: GymEnv, keys: Array) -> LearnerState:
    """Fresh learners, one per seed key ``keys [K, 2]``, and their ``num_envs`` fresh episodes each."""
    agent, env_key, key = _init(learner, keys)
    return LearnerState(agent, reset_envs(env, env_key, learner.num_envs), key)


@functools.partial(jax.jit, static_argnames=("learner", "single"), donate_argnames=("agent",))
def _explore(learner: Learner, agent: Any, obs: Array, key: Array,
             single: bool = False) -> tuple[Any, Array, Array, Array, Array]:
    """One step of the behaviour policy of every seed: ``(agent, action, log_prob, env keys [K, E, 2], key)``."""

    def one(agent: Any, obs: Array, key: Array) -> tuple[Any, Array, Array, Array, Array]:
        keys = jax.random.split(key, learner.explore_keys + 2)
        agent, action, log_prob = learner.explore(agent, keys[: learner.explore_keys], obs)
        return agent, action, log_prob, jax.random.split(keys[-2], obs.shape[0]), keys[-1]

    return seeds_map(one, single)(agent, obs, key)


def collect(
    learner: Learner, env: GymEnv, agent: Any, envs: EnvCarry, key: Array
) -> tuple[Any, EnvCarry, Transition, EpisodeStats]:
    """``rollout_steps`` steps of every seed's behaviour policy in its environments (host-stepped).

    Returns the agents, the environments, the transitions ``[K, T, E, ...]`` (environment rewards) and the
    ended episodes' statistics ``[K]``, as :func:`irlax.learners.base.collect` per seed.
    """
    agent, envs, steps, stats = _collect_steps(learner, env, agent, envs, key, False)
    return agent, envs, _stack_steps(steps), stats


def _collect_steps(
    learner: Learner, env: GymEnv, agent: Any, envs: EnvCarry, key: Array, single: bool
) -> tuple[Any, EnvCarry, tuple[Transition, ...], EpisodeStats]:
    """:func:`collect` with the transitions left as one per step (stacked inside the jitted ``learn``);
    ``single``: the arguments are one seed's, without the seed axis."""
    stats = _zero_stats(None if single else key.shape[0])
    steps = []
    for _ in range(learner.rollout_steps):
        agent, action, log_prob, env_keys, key = _explore(learner, agent, envs.obs, key, single)
        out = step_envs(env, envs, env_keys, action)
        envs, transition, stats = _record(envs, out, action, log_prob, stats, single)
        steps.append(transition)
    return agent, envs, tuple(steps), stats


@functools.partial(jax.jit, static_argnames=("single",))
def _split3(keys: Array, single: bool = False) -> tuple[Array, Array, Array]:
    parts = seeds_map(lambda key: jax.random.split(key, 3), single)(keys)
    return parts[..., 0, :], parts[..., 1, :], parts[..., 2, :]


@functools.partial(jax.jit, static_argnames=("learner", "reward_fn", "single"), donate_argnames=("agent",))
def _learn(learner: Learner, agent: Any, steps: tuple[Transition, ...], key: Array, stats: EpisodeStats,
           next_key: Array, reward_fn: RewardFn | None, reward_params: Any,
           single: bool = False) -> tuple[Any, LearnerMetrics, tuple]:
    """Every seed's ``learn`` on its transitions (one ``[K, E]`` per step), the iteration's :class:`LearnerMetrics`
    ``[K]``, and the next iteration's (collect, learn, next) keys split from ``next_key`` (one call, not two)."""
    transitions = jax.tree.map(lambda *xs: jnp.stack(xs, axis=0 if single else 1), *steps)

    def one(agent: Any, transitions: Transition, key: Array, stats: EpisodeStats,
            reward_params: Any) -> tuple[Any, LearnerMetrics]:
        agent, losses = learner.learn(agent, transitions, key, reward_fn, reward_params)
        return agent, LearnerMetrics(agent.env_steps, stats.mean_return(), stats.count, losses)

    params_axis = None if reward_params is None else 0
    agent, metrics = seeds_map(one, single, (0, 0, 0, 0, params_axis))(agent, transitions, key, stats,
                                                                       reward_params)
    return agent, metrics, _split3(next_key, single)


def iteration(
    learner: Learner, env: GymEnv, state: LearnerState, reward_fn: RewardFn | None = None, reward_params: Any = None
) -> tuple[LearnerState, LearnerMetrics]:
    """One iteration of every seed: :func:`collect`, then ``learn`` (``reward_params`` per seed, ``[K, ...]``)."""
    state, metrics, _ = _iteration(learner, env, state, _split3(state.key), reward_fn, reward_params, False)
    return state, metrics


def _iteration(learner: Learner, env: GymEnv, state: LearnerState, keys: tuple[Array, Array, Array],
               reward_fn: RewardFn | None, reward_params: Any,
               single: bool) -> tuple[LearnerState, LearnerMetrics, tuple]:
    """:func:`iteration` with the state's key already split (``keys``); also returns the next split."""
    collect_key, learn_key, key = keys
    agent, envs, steps, stats = _collect_steps(learner, env, state.agent, state.envs, collect_key, single)
    agent, metrics, next_keys = _learn(learner, agent, steps, learn_key, stats, key, reward_fn, reward_params,
                                       single)
    return LearnerState(agent, envs, key), metrics, next_keys


def stack_records(records: list[Any]) -> Any:
    """Per-step records with leaves ``[K, ...]`` as one record with leaves ``[K, n, ...]`` (numpy)."""
    records = jax.device_get(records)
    return jax.tree.map(lambda *xs: np.stack(xs, axis=1), *records)


def repeat_rounds(round_fn: Callable[[Any], tuple[Any, Any]], state: Any, num_rounds: int) -> tuple[Any, Any]:
    """``num_rounds`` host-stepped rounds ``state -> (state, metrics)``; the metrics stacked (:func:`stack_records`).

    The loop of every algorithm's ``host_update``. With ``num_rounds == 0`` the state comes back unchanged and the
    metrics are ``None``.
    """
    records = []
    for _ in range(num_rounds):
        state, metrics = round_fn(state)
        records.append(metrics)
    return state, (stack_records(records) if records else None)


def update(
    learner: Learner,
    env: GymEnv,
    state: LearnerState,
    num_iterations: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[LearnerState, LearnerMetrics]:
    """``num_iterations`` iterations of every seed, as :func:`irlax.learners.base.update` per seed.

    One seed runs unbatched: through the same pieces vmapped over a seed axis of size 1, SAC on HalfCheetah-v5
    took 44 ms an iteration with its preset's replay buffer of 1M transitions against 11 ms unbatched, and 12 ms
    against 10 with a buffer of 100k (``benchmarks/host_seeds.py``, 2026-12-07): XLA's CPU code for the size-1
    seed axis does work in proportion to the buffer every step. A seed axis squeezed and restored inside each
    jitted call would copy the buffer every step too. So the seed axis is dropped once here and restored at the
    end.

    Returns the new states and the metrics with leaves ``[K, num_iterations]``.
    """
    single = state.key.shape[0] == 1
    if single:
        state = jax.tree.map(lambda x: x[0], state)
        reward_params = None if reward_params is None else jax.tree.map(lambda x: x[0], reward_params)
    records = []
    keys = _split3(state.key, single)
    for _ in range(num_iterations):
        state, metrics, keys = _iteration(learner, env, state, keys, reward_fn, reward_params, single)
        records.append(metrics)
    if single:
        records = jax.tree.map(lambda *xs: np.stack(xs, axis=0)[None], *jax.device_get(records))
        return jax.tree.map(lambda x: x[None], state), records
    return state, stack_records(records)


def train(learner: Learner, env: GymEnv, keys: Array, total_steps: int, reward_fn: RewardFn | None = None,
          reward_params: Any = None) -> tuple[LearnerState, LearnerMetrics]:
    """:func:`init_state` then :func:`update` for at least ``total_steps`` environment steps of every seed."""
    state = init_state(learner, env, keys)
    return update(learner, env, state, learner.iterations_for(total_steps), reward_fn, reward_params)


# -- policies ----------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("policy", "deterministic"))
def _act(policy: Any, params: Any, obs: Array, key: Array, deterministic: bool) -> tuple[Array, Array, Array, Array]:
    """Every seed's policy on its ``[E, O]`` observations: ``(action, log_prob, env keys [K, E, 2], key)``."""

    def one(params: Any, obs: Array, key: Array) -> tuple[Array, Array, Array, Array]:
        act_key, env_key, key = jax.random.split(key, 3)
        keys = jax.random.split(act_key, obs.shape[0])
        action, log_prob = jax.vmap(lambda k, o: policy.act(params, k, o, deterministic))(keys, obs)
        return action, log_prob, jax.random.split(env_key, obs.shape[0]), key

    return over_seeds(one)(params, obs, key)


def collect_policy(
    policy: Any, env: GymEnv, params: Any, envs: EnvCarry, key: Array, num_steps: int, deterministic: bool = False
) -> tuple[EnvCarry, Transition, Array, EpisodeStats]:
    """``num_steps`` steps of every seed's fixed policy (``params [K, ...]``) in its environments ``[K, E]``.

    Returns the environments, the transitions ``[K, num_steps, E, ...]``, the next key ``[K, 2]`` and the
    ended episodes' statistics ``[K]``.
    """
    stats = _zero_stats(key.shape[0])
    steps = []
    for _ in range(num_steps):
        action, log_prob, env_keys, key = _act(policy, params, envs.obs, key, deterministic)
        out = step_envs(env, envs, env_keys, action)
        envs, transition, stats = _record(envs, out, action, log_prob, stats)
        steps.append(transition)
    return envs, _stack_steps(steps), key, stats


def rollout_episodes(
    policy: Any, env: GymEnv, params: Any, keys: Array, num_episodes: int, deterministic: bool = False
) -> Episodes:
    """``num_episodes`` whole episodes of every seed's policy (``params [K, ...]``, ``keys [K, 2]``).

    As :func:`irlax.learners.rollout.rollout_episodes` per seed, with leaves ``[K, N, T, ...]``; the host
    stops stepping once every episode has ended, so ``T`` is the longest episode, not the time limit.
    """
    reset_keys, run_keys = _split2(keys)
    envs = reset_envs(env, reset_keys, num_episodes)
    alive = np.ones((keys.shape[0], num_episodes), bool)
    steps, masks = [], []
    stats = _zero_stats(keys.shape[0])
    key = run_keys
    for _ in range(env.spec.max_steps):
        action, log_prob, env_keys, key = _act(policy, params, envs.obs, key, deterministic)
        out = step_envs(env, envs, env_keys, action)
        envs, transition, stats = _record(envs, out, action, log_prob, stats)
        steps.append(transition)
        masks.append(alive.copy())
        alive &= ~(np.asarray(out.terminated) | np.asarray(out.truncated))
        if not alive.any():
            break
    transitions = jax.tree.map(lambda x: jnp.asarray(np.swapaxes(x, 1, 2)), _stack_steps(steps))
    return Episodes(transitions, jnp.asarray(np.stack(masks, axis=2)))


@jax.jit
def _split2(keys: Array) -> tuple[Array, Array]:
    parts = jax.vmap(jax.random.split)(keys)
    return parts[:, 0], parts[:, 1]


def episode_returns(episodes: Episodes) -> Array:
    """``[..., N]`` true returns of masked episodes ``[..., N, T]``."""
    return jnp.sum(jnp.where(episodes.mask, episodes.transitions.env_reward, 0.0), axis=-1)
