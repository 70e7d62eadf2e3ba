"""Evaluating policies in pure-JAX tasks: whole episodes, true returns, the random policy, normalised return.

A *policy* here is any hashable object with ``act(params, key, obs [O], deterministic) ->
(action, log_prob [])``: a :class:`~irlax.learners.base.Learner`, behavioural cloning's
model, or :class:`RandomPolicy`. It is a static argument of the jitted forms.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from jax import Array

from irlax.data.transitions import Episodes
from irlax.envs.control import JaxEnv
from irlax.envs.spec import EnvSpec
from irlax.learners import host
from irlax.learners.host import is_host
from irlax.learners.rollout import rollout_episodes


class Policy(Protocol):
    """A family of policies: ``act(params, key, obs [O], deterministic=False) -> (action, log_prob [])``."""

    def act(self, params: Any, key: Array, obs: Array, deterministic: bool = False) -> tuple[Array, Array]:
        """An action for ``obs`` and its log-probability (the most likely action when ``deterministic``)."""
        ...


@dataclass(frozen=True)
class RandomPolicy:
    """The uniformly random policy of a task (its ``params`` are unused): the 0 of normalised return."""

    spec: EnvSpec

    def act(self, params: Any, key: Array, obs: Array, deterministic: bool = False) -> tuple[Array, Array]:
        """A uniformly random action and its log-probability (``params``, ``obs``, ``deterministic`` unused)."""
        del params, obs, deterministic
        spec = self.spec
        if spec.discrete:
            action = jax.random.randint(key, (), 0, spec.action_size).astype(jnp.int32)
            return action, -jnp.log(jnp.float32(spec.action_size))
        low, high = jnp.asarray(spec.action_low, jnp.float32), jnp.asarray(spec.action_high, jnp.float32)
        action = jax.random.uniform(key, (spec.action_size,), jnp.float32, low, high)
        return action, -jnp.sum(jnp.log(high - low))


def policy_episodes(
    policy: Policy, env: JaxEnv, params: Any, key: Array, num_episodes: int, deterministic: bool = False
) -> Episodes:
    """``num_episodes`` whole episodes of ``policy`` with ``params`` (see :func:`rollout_episodes`).

    Pure; jittable with ``policy``, ``env``, ``num_episodes`` and ``deterministic`` static
    (:data:`policy_episodes_jit`).
    """
    act = lambda k, obs: policy.act(params, k, obs, deterministic)
    return rollout_episodes(env, act, key, num_episodes)


_policy_episodes = jax.jit(policy_episodes, static_argnames=("policy", "env", "num_episodes", "deterministic"))


def policy_episodes_jit(
    policy: Policy, env: Any, params: Any, key: Array, num_episodes: int, deterministic: bool = False
) -> Episodes:
    """:func:`policy_episodes` compiled; in a host-stepped environment (Gymnasium), run from the host.

    A host run stops once every episode has ended, so its episodes are padded to the longest one, not to
    the time limit (the mask says which steps are real either way).
    """
    if is_host(env):
        params = jax.tree.map(lambda x: jnp.asarray(x)[None], params)
        episodes = host.rollout_episodes(policy, env, params, jnp.asarray(key)[None], num_episodes, deterministic)
        return jax.tree.map(lambda x: x[0], episodes)
    return _policy_episodes(policy, env, params, key, num_episodes, deterministic)


def evaluate_policy(
    policy: Policy, env: JaxEnv, params: Any, key: Array, num_episodes: int, deterministic: bool = False
) -> Array:
    """``[num_episodes]`` true returns of whole episodes of ``policy`` with ``params``.

    Pure; :data:`evaluate_policy_jit` is the compiled form.
    """
    return policy_episodes(policy, env, params, key, num_episodes, deterministic).returns()


_evaluate_policy = jax.jit(evaluate_policy, static_argnames=("policy", "env", "num_episodes", "deterministic"))


def evaluate_policy_jit(
    policy: Policy, env: Any, params: Any, key: Array, num_episodes: int, deterministic: bool = False
) -> Array:
    """:func:`evaluate_policy` compiled (``policy``, ``env``, ``num_episodes``, ``deterministic`` static); in a
    host-stepped environment (Gymnasium), run from the host."""
    if is_host(env):
        return policy_episodes_jit(policy, env, params, key, num_episodes, deterministic).returns()
    return _evaluate_policy(policy, env, params, key, num_episodes, deterministic)


def evaluate_policies(
    policy: Policy, env: Any, params: Any, key: Array, num_episodes: int, deterministic: bool = False
) -> Array:
    """``[K, num_episodes]`` returns of ``K`` policies (``params`` leaves ``[K, ...]``), each with its own key.

    Compiled; in a host-stepped environment the ``K x num_episodes`` episodes step on the host in one batch.
    """
    if is_host(env):
        keys = jax.random.split(key, jax.tree.leaves(params)[0].shape[0]) if jax.tree.leaves(params) else None
        return host.episode_returns(host.rollout_episodes(policy, env, params, keys, num_episodes, deterministic))
    return _evaluate_policies(policy, env, params, key, num_episodes, deterministic)


@functools.partial(jax.jit, static_argnames=("policy", "env", "num_episodes", "deterministic"))
def _evaluate_policies(
    policy: Policy, env: JaxEnv, params: Any, key: Array, num_episodes: int, deterministic: bool = False
) -> Array:
    """``[K, num_episodes]`` returns of ``K`` policies (``params`` leaves ``[K, ...]``), each with its own key."""
    keys = jax.random.split(key, jax.tree.leaves(params)[0].shape[0])
    run = lambda p, k: evaluate_policy(policy, env, p, k, num_episodes, deterministic)
    return jax.vmap(run)(params, keys)


def random_return(env: JaxEnv, key: Array, num_episodes: int = 100) -> float:
    """Mean true return of the uniformly random policy over ``num_episodes`` episodes."""
    return float(jnp.mean(evaluate_policy_jit(RandomPolicy(env.spec), env, None, key, num_episodes)))


def normalized_return(value: Array | float, random: float, expert: float) -> Array:
    """Expert-normalised return: ``(value - random) / (expert - random)`` (random policy 0, expert 1)."""
    return (jnp.asarray(value) - random) / (expert - random)
