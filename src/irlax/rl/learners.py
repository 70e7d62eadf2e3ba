"""The sample-based learners by name, the default one per environment, and evaluating a policy.

:data:`LEARNERS` maps ``"ppo"`` and ``"sac"`` to a :class:`Learner`, the module's
functions of the shared interface bundled, so that the expert trainer, the
command line and the IRL algorithms can use either one interchangeably.

:func:`evaluate_policy` runs whole episodes of any policy given as an ``act``
function of that interface, ``act(config, env, params, key, obs, deterministic)
-> (action, log_prob)`` (a learner's, behavioural cloning's, or :func:`random_act`),
and returns each episode's true return.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rl import ppo, sac
from irlax.rl.rollout import Episodes, rollout_episodes
from irlax.settings import apply_overrides

PolicyFn = Callable[[Any, ControlEnv, Any, Array, Array, bool], tuple[Array, Array]]
"""``act(config, env, params, key, obs [O], deterministic) -> (action, log_prob [])``: a policy family."""


class Learner(NamedTuple):
    """A sample-based learner's functions (the interface :mod:`irlax.rl.ppo` and :mod:`irlax.rl.sac` share).

    Attributes:
        name: ``"ppo"`` or ``"sac"``.
        config: the frozen config dataclass.
        init: ``init(config, env, key) -> state``.
        update: ``update(config, env, state, num_iterations, reward_fn=None, reward_params=None)
            -> (state, metrics [num_iterations])``.
        train: ``train(config, env, key, total_steps, reward_fn=None, reward_params=None) -> (state, metrics)``.
        act: ``act(config, env, state_or_policy_params, key, obs, deterministic=False) -> (action, log_prob)``.
        log_prob: ``log_prob(config, env, state_or_policy_params, obs, action) -> []``.
        policy_params: ``policy_params(state)``, what acting needs (an expert's saved part).
        steps_per_iteration: ``steps_per_iteration(config)``, environment steps per update iteration.
        preset: ``preset(env_name) -> config``, the tuned config for an environment (defaults otherwise).
        description: one line for help texts.
    """

    name: str
    config: type
    init: Callable[..., Any]
    update: Callable[..., tuple[Any, Any]]
    train: Callable[..., tuple[Any, Any]]
    act: PolicyFn
    log_prob: Callable[..., Array]
    policy_params: Callable[[Any], Any]
    steps_per_iteration: Callable[[Any], int]
    preset: Callable[[str], Any]
    description: str


LEARNERS: dict[str, Learner] = {
    "ppo": Learner(
        "ppo", ppo.PPOConfig, ppo.init, ppo.update, ppo.train, ppo.act, ppo.log_prob, ppo.policy_params,
        ppo.steps_per_iteration, ppo.ppo_preset, "proximal policy optimisation (Schulman et al. 2017)",
    ),
    "sac": Learner(
        "sac", sac.SACConfig, sac.init, sac.update, sac.train, sac.act, sac.log_prob, sac.policy_params,
        sac.steps_per_iteration, sac.sac_preset, "soft actor-critic, the max-ent learner (Haarnoja et al. 2018)",
    ),
}
"""Every sample-based learner, by name."""

DEFAULT_LEARNER: dict[str, str] = {
    "CartPole-v1": "ppo",
    "Acrobot-v1": "ppo",
    "Pendulum-v1": "sac",
    "MountainCarContinuous-v0": "sac",
    "PointMaze-v0": "sac",
    "PointMazeShifted-v0": "sac",
}
"""The learner that trains the best expert for each environment."""


def get_learner(name: str) -> Learner:
    """The learner called ``name``; :class:`IrlaxError` listing the choices otherwise."""
    if name not in LEARNERS:
        raise IrlaxError(f"unknown learner {name!r}; choose one of {', '.join(LEARNERS)}")
    return LEARNERS[name]


def default_learner(env_name: str) -> str:
    """The name of the default learner for ``env_name`` (PPO for discrete tasks, SAC for continuous ones)."""
    return DEFAULT_LEARNER.get(env_name, "ppo")


def make_learner_config(learner: Learner, env_name: str, overrides: dict[str, Any]) -> Any:
    """The learner's preset for ``env_name`` with ``overrides`` applied (see :func:`apply_overrides`)."""
    return apply_overrides(learner.preset(env_name), overrides, learner.name)


def random_act(
    config: Any, env: ControlEnv, params: Any, key: Array, obs: Array, deterministic: bool = False
) -> tuple[Array, Array]:
    """The uniformly random policy (``config``, ``params`` and ``deterministic`` unused): the 0 of normalised return."""
    del config, params, obs, deterministic
    if env.discrete:
        return jax.random.randint(key, (), 0, env.action_size).astype(jnp.int32), -jnp.log(jnp.float32(env.action_size))
    low, high = jnp.asarray(env.action_low, jnp.float32), jnp.asarray(env.action_high, jnp.float32)
    action = jax.random.uniform(key, (env.action_size,), jnp.float32, low, high)
    return action, -jnp.sum(jnp.log(high - low))


def policy_episodes(
    act: PolicyFn, config: Any, env: ControlEnv, params: Any, key: Array, num_episodes: int,
    deterministic: bool = False,
) -> Episodes:
    """``num_episodes`` whole episodes of the policy ``act`` with ``params`` (see :func:`rollout_episodes`).

    Pure; jittable with ``act``, ``config``, ``env``, ``num_episodes`` and ``deterministic`` static.
    """
    policy = lambda k, obs: act(config, env, params, k, obs, deterministic)
    return rollout_episodes(env, policy, key, num_episodes)


def evaluate_policy(
    act: PolicyFn, config: Any, env: ControlEnv, params: Any, key: Array, num_episodes: int,
    deterministic: bool = False,
) -> Array:
    """``[num_episodes]`` true returns of whole episodes of the policy ``act`` with ``params``.

    Pure; vmap it over ``params`` (leading seed axis) and keys for several policies;
    :data:`evaluate_policy_jit` is the compiled form.
    """
    return policy_episodes(act, config, env, params, key, num_episodes, deterministic).returns()


evaluate_policy_jit = jax.jit(
    evaluate_policy, static_argnames=("act", "config", "env", "num_episodes", "deterministic")
)
""":func:`evaluate_policy` compiled (``act``, ``config``, ``env``, ``num_episodes``, ``deterministic`` static)."""


@functools.partial(jax.jit, static_argnames=("act", "config", "env", "num_episodes", "deterministic"))
def evaluate_policies(
    act: PolicyFn, config: Any, env: ControlEnv, params: Any, key: Array, num_episodes: int,
    deterministic: bool = False,
) -> Array:
    """``[K, num_episodes]`` returns of ``K`` policies (``params`` leaves ``[K, ...]``), each with its own key."""
    keys = jax.random.split(key, jax.tree.leaves(params)[0].shape[0])
    run = lambda p, k: evaluate_policy(act, config, env, p, k, num_episodes, deterministic)
    return jax.vmap(run)(params, keys)


def random_return(env: ControlEnv, key: Array, num_episodes: int = 100) -> float:
    """Mean true return of the uniformly random policy over ``num_episodes`` episodes."""
    return float(jnp.mean(evaluate_policy_jit(random_act, None, env, None, key, num_episodes)))


def normalized_return(value: Array | float, random: float, expert: float) -> Array:
    """Expert-normalised return: ``(value - random) / (expert - random)`` (random policy 0, expert 1)."""
    return (jnp.asarray(value) - random) / (expert - random)
