"""How well a control-task run did: its policy's true return, its reward against the true one, re-optimisation.

For an :class:`~irlax.algorithms.base.Algorithm` trained on a control task, for all
seeds at once (states and reward parameters with a leading ``[K]`` axis):

- :func:`policy_returns`: the imitation policy's mean true return per seed;
- :func:`reward_comparison`: the Pearson correlation of the learned reward with the
  task's true one on expert and on random-policy transitions, and their EPIC
  distance (:mod:`irlax.metrics.reward`); NaN where the true reward is constant;
- :func:`reoptimize`: a fresh learner trained on each seed's frozen learned reward
  (the "...and then use it to learn pi*" of IRL), in the task the reward was
  learned in or another one with the same spaces (transfer), and its true return;
- :func:`slimmed_for_assessment`: a finished training's states with all that the
  assessment does not read (:func:`assessed_parts`, :func:`leaves_read`) zeroed,
  so that a checkpoint of them is small and measures the same.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.extend.core import Var

from irlax import tasks
from irlax.algorithms import registry
from irlax.algorithms.base import Algorithm
from irlax.data.demos import Demonstrations, flatten
from irlax.data.transitions import Episodes, Transition
from irlax.envs.control import JaxEnv
from irlax.errors import IrlaxError
from irlax.learners import base, host
from irlax.learners.base import Learner
from irlax.learners.evaluation import RandomPolicy, evaluate_policies, policy_episodes_jit
from irlax.learners.registry import make_learner
from irlax.metrics.reward import (
    Coverage,
    TransitionBatch,
    batch_rewards,
    coverage_epic_distance,
    coverage_samples,
    pearson_correlation,
)
from irlax.report.checkpoint import load_pytree, save_pytree
from irlax.run.driver import Progress

METRIC_TRANSITIONS = 512
"""Expert and random-policy transitions (each) the reward is compared with the true one on."""
EPIC_SAMPLES = 128
"""State and action samples of EPIC's canonicalisation."""
EPIC_BATCH = 64
"""States whose EPIC sample means are evaluated at once (``EPIC_BATCH * EPIC_SAMPLES`` reward calls: bounds
memory for rewards that are costly to evaluate, e.g. a kernel density over thousands of points)."""
RANDOM_EPISODES = 32
"""Episodes of the random policy drawn for the reward comparison."""


def policy_returns(algo: Algorithm, states: Any, data: Any, key: Array, episodes: int,
                   deterministic: bool = True, env: JaxEnv | None = None) -> np.ndarray:
    """``[K]`` mean true return of each seed's imitation policy over ``episodes`` episodes.

    ``env`` is the environment to run in (default ``algo.env``; BC trains without one).
    """
    env = env or algo.env
    if env is None or algo.act is None:
        raise IrlaxError(f"{algo.name} has no policy to run in a control task (give the environment)")
    params = jax.vmap(algo.policy, in_axes=(0, None))(states, data)
    return np.asarray(evaluate_policies(algo.act, env, params, key, episodes, deterministic)).mean(axis=1)


def assessed_parts(algo: Algorithm, state: Any, data: Any) -> tuple[Any, Any, Array, Array | None]:
    """What the assessment after training reads of one seed's trained ``state``: the imitation policy's parameters
    (:func:`policy_returns`), the learned reward's (its comparison with the true reward and the re-optimisation), the
    environment steps and, where the state has them, the preference queries (``irlax train``'s summary);
    ``None`` for what ``algo`` lacks."""
    return (algo.policy(state, data) if algo.act is not None else None,
            algo.reward(state, data) if algo.reward_fn is not None else None,
            state.env_steps, getattr(state, "queries", None))


def leaves_read(fn: Callable[[Any], Any], tree: Any) -> list[bool]:
    """For each leaf of ``tree`` (in :func:`jax.tree.leaves` order), whether ``fn(tree)`` can depend on it.

    Found without computing anything: ``fn`` is traced abstractly (:func:`jax.make_jaxpr`) and its program followed
    back from its outputs. Conservative: an operation with any output used (or with side effects) counts all its
    inputs as read, so a leaf marked unread is certainly not read."""
    jaxpr = jax.make_jaxpr(fn)(tree).jaxpr
    live = {v for v in jaxpr.outvars if isinstance(v, Var)}
    for eqn in reversed(jaxpr.eqns):
        if eqn.effects or any(v in live for v in eqn.outvars):
            live.update(v for v in eqn.invars if isinstance(v, Var))
    return [v in live for v in jaxpr.invars]


def slimmed_for_assessment(algo: Algorithm, progress: Progress, data: Any) -> Progress:
    """``progress`` (a jittable program's, states with leaves ``[K, ...]``) with every leaf of its states that
    :func:`assessed_parts` does not read (:func:`leaves_read`) set to zeros, and marked ``slim``.

    The imitation policy, the learned reward and so everything measured after training come out the same to the
    bit, while what only further training needs (a replay buffer, critics, optimiser and environment states) is
    gone: a checkpoint of it compresses to little more than the policy and the reward (a MuJoCo run with SAC
    inside and a replay buffer of 100k steps: tens of megabytes to one or two). A slim run cannot be trained
    further (:meth:`irlax.run.driver.Driver.run` refuses it)."""
    one_seed = jax.tree.map(lambda x: x[0], progress.state)
    read = leaves_read(lambda state: assessed_parts(algo, state, data), one_seed)
    leaves, treedef = jax.tree.flatten(progress.state)
    kept = [leaf if used else jnp.zeros_like(leaf) for leaf, used in zip(leaves, read, strict=True)]
    return dataclasses.replace(progress, state=jax.tree.unflatten(treedef, kept), slim=True)


def masked_steps(episodes: Episodes) -> Transition:
    """The real steps of padded episodes as one batch of transitions (leaves ``[M, ...]``)."""
    mask = np.asarray(episodes.mask)
    return Transition(*(jnp.asarray(np.asarray(x)[mask]) for x in episodes.transitions))


def as_batch(steps: Transition) -> TransitionBatch:
    """The ``(obs, action, next_obs)`` of transitions, what a reward is evaluated on."""
    return TransitionBatch(steps.obs, steps.action, steps.next_obs)


def take(batch: Any, count: int, rng: np.random.Generator) -> Any:
    """``count`` rows of ``batch`` (a named tuple of arrays with rows first) without replacement (all of them when
    it has no more)."""
    size = batch.obs.shape[0]
    if size <= count:
        return batch
    index = np.sort(rng.choice(size, count, replace=False))
    return type(batch)(*(x[index] for x in batch))


def learned_reward(algo: Algorithm, seed_params: Any) -> Callable[[Array, Array, Array], Array]:
    """One seed's learned reward of a transition ``(obs, action, next_obs)``: the transition's own reward (the
    learned absorbing-state value of terminal steps is left out)."""
    return lambda obs, action, next_obs: algo.reward_fn(seed_params, obs, action, next_obs, jnp.bool_(False))


def reward_discount(algo: Algorithm) -> float:
    """The discount the learned reward is compared under: the algorithm's ``gamma``, else its learner's."""
    gamma = getattr(algo.config, "gamma", None)
    if gamma is not None:
        return gamma
    return algo.learner.config.gamma if algo.learner is not None else 0.99


@functools.partial(jax.jit, static_argnames=("algo",))
def _comparison(algo: Algorithm, params: Any, expert: TransitionBatch, random: TransitionBatch,
                coverage: Coverage) -> Array:
    """Per-seed ``[K, 3]``: rho on expert transitions, rho on random ones, EPIC distance."""
    true_fn = tasks.true_reward_fn(algo.env)
    gamma = reward_discount(algo)

    def per_seed(seed_params: Any) -> Array:
        learned = learned_reward(algo, seed_params)
        rho = lambda batch: pearson_correlation(batch_rewards(learned, batch), batch_rewards(true_fn, batch))
        epic = coverage_epic_distance(learned, true_fn, coverage, gamma, EPIC_BATCH)
        return jnp.stack([rho(expert), rho(random), epic])

    return jax.vmap(per_seed)(params)


def reward_comparison(algo: Algorithm, reward_params: Any, demos: Demonstrations, key: Array) -> dict[str, Any]:
    """Per-seed Pearson correlations (expert, random transitions) and EPIC distance of learned vs true reward.

    Returns:
        ``{"pearson_expert": [K], "pearson_random": [K], "epic": [K], "transitions": n}``, or NaNs and a
        ``"note"`` when the task's true reward is constant.
    """
    if algo.reward_fn is None or algo.env is None:
        raise IrlaxError(f"{algo.name} learns no reward of a control task")
    seeds = jax.tree.leaves(reward_params)[0].shape[0]
    nan = [math.nan] * seeds
    env = algo.env
    if tasks.is_constant_reward(env):
        note = f"{env.name}'s true reward is constant: correlations and EPIC distance are undefined"
        return {"pearson_expert": nan, "pearson_random": nan, "epic": nan, "note": note}
    episode_key, sample_key, coverage_key = jax.random.split(key, 3)
    rng = np.random.default_rng(int(jax.random.randint(sample_key, (), 0, 2**31 - 1)))
    random_episodes = policy_episodes_jit(RandomPolicy(env.spec), env, None, episode_key, RANDOM_EPISODES, False)
    expert, random = flatten(demos), masked_steps(random_episodes)
    count = min(METRIC_TRANSITIONS, expert.obs.shape[0], random.obs.shape[0])
    expert, random = take(expert, count, rng), take(random, count, rng)
    if not tasks.has_true_reward(env):
        return recorded_reward_comparison(algo, reward_params, expert, random)
    expert_batch, random_batch = as_batch(expert), as_batch(random)
    coverage = coverage_samples(coverage_key, [expert_batch, random_batch], EPIC_SAMPLES)
    values = np.asarray(_comparison(algo, reward_params, expert_batch, random_batch, coverage), float)
    return {"pearson_expert": values[:, 0].tolist(), "pearson_random": values[:, 1].tolist(),
            "epic": values[:, 2].tolist(), "transitions": int(count)}


def recorded_reward_comparison(algo: Algorithm, reward_params: Any, expert: Transition,
                               random: Transition) -> dict[str, Any]:
    """Per-seed Pearson correlations of the learned reward with the rewards the environment recorded, on expert
    and on random-policy transitions (leaves ``[M, ...]``), for tasks whose true reward irlax does not know as a
    function (Gymnasium's: MuJoCo's depends on positions the observation leaves out). EPIC needs the true reward
    of arbitrary transitions, so it is NaN there."""
    values = np.asarray(_recorded_comparison(algo, reward_params, expert, random), float)
    return {"pearson_expert": values[:, 0].tolist(), "pearson_random": values[:, 1].tolist(),
            "epic": [math.nan] * values.shape[0], "transitions": int(expert.obs.shape[0]),
            "note": f"{algo.env.name}'s true reward is not a known function of a transition: correlations with "
                    "the recorded rewards, no EPIC distance"}


@functools.partial(jax.jit, static_argnames=("algo",))
def _recorded_comparison(algo: Algorithm, params: Any, expert: Transition, random: Transition) -> Array:
    """Per-seed ``[K, 2]``: rho with the recorded rewards on expert transitions and on random ones."""

    def per_seed(seed_params: Any) -> Array:
        rho = lambda tr: pearson_correlation(batch_rewards(learned_reward(algo, seed_params), as_batch(tr)),
                                             tr.env_reward)
        return jnp.stack([rho(expert), rho(random)])

    return jax.vmap(per_seed)(params)


@functools.partial(jax.jit, static_argnames=("learner", "env"))
def _init_learners(learner: Learner, env: JaxEnv, keys: Array) -> Any:
    return jax.vmap(lambda key: base.init_state(learner, env, key))(keys)


@functools.partial(jax.jit, static_argnames=("learner", "env", "iterations", "reward_fn"))
def _advance_learners(learner: Learner, env: JaxEnv, iterations: int, reward_fn: Any, states: Any, params: Any) -> Any:
    advance = lambda state, seed_params: base.update(learner, env, state, iterations, reward_fn, seed_params)[0]
    return jax.vmap(advance)(states, params)


REOPTIMIZE_CHUNKS = 20
"""Most pieces a re-optimisation is run in (a checkpoint after each when one is asked for)."""


def reoptimize_piece(total: int, equal: bool) -> int:
    """Iterations in each piece of a re-optimisation of ``total`` iterations: ``ceil(total / REOPTIMIZE_CHUNKS)``,
    or with ``equal`` the largest piece that splits ``total`` into at most that many equal ones (a pure-JAX
    learner compiles one program per piece length; a prime ``total`` then runs in one piece)."""
    if equal:
        return total // max(k for k in range(1, REOPTIMIZE_CHUNKS + 1) if total % k == 0)
    return max(1, math.ceil(total / REOPTIMIZE_CHUNKS))


def reoptimize(
    algo: Algorithm, reward_params: Any, key: Array, steps: int, env: JaxEnv | None = None,
    learner_config: Any = None, checkpoint: str | Path | None = None, tag: int = 0,
    on_chunk: Callable[[int, int, float], None] | None = None,
) -> tuple[Learner, Any]:
    """Train a fresh learner per seed for ``steps`` steps on that seed's frozen learned reward.

    The learners' iterations run in pieces, a checkpoint after each: host-stepped tasks in
    :data:`REOPTIMIZE_CHUNKS` (the last one shorter where they don't divide the iterations), pure-JAX tasks in the
    most equal pieces up to that number (one compiled program for them all). The states are those of one
    uninterrupted run (the same iterations from the same keys).

    Args:
        algo: the algorithm whose learned reward (``algo.reward_fn``) is re-optimised.
        reward_params: the seeds' reward parameters (leaves ``[K, ...]``).
        key: seed ``k`` trains with ``split(key, K)[k]``.
        steps: environment steps of each learner.
        env: the task to re-optimise in (transfer; default the one the reward was learned in). Its spaces
            must be those of ``algo.env``.
        learner_config: the learner's config (default the algorithm's learner's config; when ``env`` differs,
            the same kind of learner's tuned config for ``env`` with what the algorithm's preset sets on its learner,
            :func:`irlax.algorithms.registry.preset_learner_config`, as ``irlax train --transfer-env`` uses).
        checkpoint: a file to save the learners to after each piece (atomically) and to resume from when it holds
            a re-optimisation of the same ``steps`` and ``tag``; its caller removes it once the result is kept.
            Beside the learners it holds ``done`` and ``iterations`` (the learners' iterations done and in all),
            ``steps``, ``tag`` and ``seconds``, so a reader can tell how far it has got.
        tag: what the rewards came from (e.g. the rounds trained), checked on resume: a checkpoint of other rewards
            is not resumed.
        on_chunk: called after each piece with ``(iterations done, iterations in all, seconds)``, the seconds
            those iterations took, over every process that ran them (a resumed run counts its earlier ones).

    Returns:
        the learner (bound to ``env``) and its states (leaves ``[K, ...]``).
    """
    if algo.reward_fn is None or algo.env is None or algo.learner is None:
        raise IrlaxError(f"{algo.name} has no learned reward to re-optimise")
    env = env or algo.env
    if not env.spec.same_spaces(algo.env.spec):
        raise IrlaxError(f"the reward learned in {algo.env.name} ({algo.env.spec.describe()}) doesn't fit "
                         f"{env.name} ({env.spec.describe()})")
    if learner_config is None:
        learner_config = (algo.learner.config if env.name == algo.env.name
                          else registry.preset_learner_config(algo.name, algo.env.name, algo.learner.name, env.name))
    learner = make_learner(learner_config, env.spec)
    seeds = jax.tree.leaves(reward_params)[0].shape[0]
    keys = jax.random.split(key, seeds)
    total = learner.iterations_for(steps)
    if host.is_host(env):
        states = host.init_state(learner, env, keys)
        advance = lambda st, n: host.update(learner, env, st, n, algo.reward_fn, reward_params)[0]
        piece = reoptimize_piece(total, equal=False)
    else:
        states = _init_learners(learner, env, keys)
        advance = lambda st, n: _advance_learners(learner, env, n, algo.reward_fn, st, reward_params)
        piece = reoptimize_piece(total, equal=True)  # one compiled program for every piece
    done, earlier = 0, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        saved, extra = load_pytree(checkpoint, states)
        if int(extra.get("steps", -1)) == steps and int(extra.get("tag", -1)) == tag:
            states, done = jax.tree.map(jnp.asarray, saved), int(extra["done"])
            earlier = float(extra.get("seconds", 0.0))
    start = time.perf_counter()
    while done < total:
        n = min(piece, total - done)
        states = jax.block_until_ready(advance(states, n))
        done += n
        seconds = earlier + time.perf_counter() - start
        if checkpoint is not None and done < total:
            save_pytree(checkpoint, states, done=np.int64(done), iterations=np.int64(total), steps=np.int64(steps),
                        tag=np.int64(tag), seconds=np.float64(seconds))
        if on_chunk is not None:
            on_chunk(done, total, seconds)
    return learner, states


def learner_returns(learner: Learner, env: JaxEnv, states: Any, key: Array, episodes: int,
                    deterministic: bool = True) -> np.ndarray:
    """``[K]`` mean true return of each seed's learner policy (states leaves ``[K, ...]``)."""
    params = jax.vmap(learner.policy_params)(states.agent)
    return np.asarray(evaluate_policies(learner, env, params, key, episodes, deterministic)).mean(axis=1)
