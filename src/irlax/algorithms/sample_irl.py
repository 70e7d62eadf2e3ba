"""Pieces shared by the sample-based IRL algorithms (GCL, GAIL, AIRL): config, learner, expert samples, metrics.

Each of those algorithms alternates reward (or discriminator) steps on expert and
policy samples with a little policy improvement by a forward learner of
:mod:`irlax.rl.learners` (PPO or SAC) under the current learned reward. What they
share lives here:

- :class:`SampleIRLConfig`, the fields every algorithm's config has (each one's
  config extends it with its own);
- :func:`resolve_learner`: the learner and its config (the preset for the task
  unless the config names one);
- :func:`sample_expert_transitions`: a uniform minibatch of the demonstrations'
  real steps (padding never drawn, so episodes of any lengths mix);
- :class:`PolicyRewardParams` and :func:`policy_reward_fn`: what the learner's
  ``reward_fn`` sees (the reward's parameters and, for rewards with a
  ``-log pi`` term, a snapshot of the policy);
- :func:`reward_optimizer` and :func:`reward_gradient_step`;
- :class:`RoundMetrics`, the per-round record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.data.demos import Demonstrations
from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rewards.base import FROZEN
from irlax.rl.learners import Learner, default_learner, get_learner
from irlax.rl.networks import ACTIVATIONS
from irlax.rl.rollout import RewardFn, Transition


@dataclass(frozen=True)
class SampleIRLConfig:
    """Fields shared by the configs of GCL, GAIL and AIRL."""

    learner: str = ""
    """Forward learner, ``"ppo"`` or ``"sac"``; empty: the task's default (PPO for discrete, SAC for continuous)."""
    learner_config: Any = None
    """The learner's frozen config; ``None``: its preset for the task."""
    rounds: int = 100
    """Rounds of (sample, reward steps, policy improvement)."""
    policy_iterations: int = 1
    """Learner iterations per round (``steps_per_iteration`` env steps each): the "little" policy improvement."""
    reward_steps: int = 4
    """Gradient steps of the reward (discriminator) per round."""
    reward_lr: float = 3e-4
    """Adam step size of the reward."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the reward networks."""
    activation: str = "tanh"
    """Hidden activation of the reward networks, a key of :data:`irlax.rl.networks.ACTIVATIONS`."""
    max_grad_norm: float = 10.0
    """Global-norm clip of the reward's gradients."""


def check_sample_irl_config(config: SampleIRLConfig) -> None:
    """One-line :class:`IrlaxError` for a bad shared setting."""
    for name in ("rounds", "policy_iterations"):
        if getattr(config, name) < 1:
            raise IrlaxError(f"{name} must be positive, got {getattr(config, name)}")
    if config.reward_steps < 0:
        raise IrlaxError(f"reward_steps must be non-negative, got {config.reward_steps}")
    if not config.reward_lr > 0:
        raise IrlaxError(f"reward_lr must be positive, got {config.reward_lr}")
    if not config.hidden or min(config.hidden) < 1:
        raise IrlaxError(f"hidden must be positive widths, got {config.hidden}")
    if config.activation not in ACTIVATIONS:
        raise IrlaxError(f"unknown activation {config.activation!r}; choose one of {', '.join(ACTIVATIONS)}")


def resolve_learner(config: SampleIRLConfig, env: ControlEnv) -> tuple[Learner, Any]:
    """The learner the config names (or the task's default) and its config (or its preset for ``env``)."""
    learner = get_learner(config.learner or default_learner(env.name))
    learner_config = config.learner_config if config.learner_config is not None else learner.preset(env.name)
    if not isinstance(learner_config, learner.config):
        raise IrlaxError(f"learner_config is a {type(learner_config).__name__}, but the learner is {learner.name}")
    return learner, learner_config


def check_demos(demos: Demonstrations, env: ControlEnv) -> None:
    """One-line :class:`IrlaxError` when the demonstrations don't fit ``env``."""
    if demos.obs_size != env.obs_size or demos.discrete != env.discrete or demos.action_size != env.action_size:
        raise IrlaxError(
            f"the demonstrations ({demos.env_name or 'unknown task'}: obs size {demos.obs_size}, "
            f"{'discrete' if demos.discrete else 'continuous'} actions of size {demos.action_size}) don't fit "
            f"{env.name} (obs size {env.obs_size}, {'discrete' if env.discrete else 'continuous'} actions of "
            f"size {env.action_size})"
        )


def sample_expert_transitions(demos: Demonstrations, key: Array, batch_size: int) -> Transition:
    """``batch_size`` real steps of the demonstrations, uniformly with replacement (leaves ``[B, ...]``).

    Padding has probability 0, so episodes of different lengths need no special case. Jittable.
    """
    flat_mask = demos.mask.reshape(-1).astype(jnp.float32)
    index = jax.random.choice(key, flat_mask.shape[0], (batch_size,), p=flat_mask / jnp.sum(flat_mask))
    row, col = index // demos.mask.shape[1], index % demos.mask.shape[1]
    pick = lambda x: x[row, col]
    rewards = pick(demos.rewards)
    return Transition(
        pick(demos.obs), pick(demos.actions), rewards, rewards, pick(demos.next_obs),
        pick(demos.terminated), pick(demos.truncated), pick(demos.log_probs),
    )


class PolicyRewardParams(NamedTuple):
    """What the learner's ``reward_fn`` is given.

    Attributes:
        reward: the learned reward's (discriminator's) parameters.
        policy: the learner's policy parameters at the start of the round (for a ``-log pi`` term), or ``None``.
    """

    reward: Any
    policy: Any


PolicyReward = Callable[[Any, Array, Array, Array, Array, Array], Array]
"""``reward(params, obs [O], action, next_obs [O], terminated [], log_pi []) -> []``: the policy's reward."""


def policy_reward_fn(
    reward: PolicyReward, learner: Learner, learner_config: Any, env: ControlEnv, uses_log_pi: bool
) -> RewardFn:
    """The learner's ``reward_fn(PolicyRewardParams, obs, action, next_obs, terminated)`` for ``reward``.

    When ``uses_log_pi``, ``log pi(a|s)`` of the policy snapshot is passed to ``reward``; else 0.
    """

    def reward_fn(params: PolicyRewardParams, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        log_pi = learner.log_prob(learner_config, env, params.policy, obs, action) if uses_log_pi else jnp.float32(0)
        return reward(params.reward, obs, action, next_obs, terminated, log_pi)

    return reward_fn


def reward_optimizer(config: SampleIRLConfig) -> optax.GradientTransformation:
    """Adam with global-norm clipping; the frozen input statistics are never updated."""
    adam = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.reward_lr))
    label = lambda params: jax.tree_util.tree_map_with_path(
        lambda path, _: "frozen" if any(getattr(p, "key", None) == FROZEN for p in path) else "train", params
    )
    return optax.multi_transform({"train": adam, "frozen": optax.set_to_zero()}, label)


def reward_gradient_step(
    optimizer: optax.GradientTransformation,
    loss_fn: Callable[[Any], tuple[Array, Any]],
    params: Any,
    opt_state: optax.OptState,
) -> tuple[Any, optax.OptState, Array, Any]:
    """One optimiser step on ``loss_fn(params) -> (loss, info)``; returns params, state, loss and info."""
    (loss, info), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, info


class RoundMetrics(NamedTuple):
    """One round's record (leaves ``[]``; ``[rounds]`` after a scan).

    Attributes:
        env_steps: environment steps so far (the learner's and the extra samples').
        mean_return: mean true return of the learner's episodes that ended this round (NaN if none).
        reward_loss: the reward's (discriminator's) loss at its last step this round.
        expert_accuracy: fraction of expert samples the discriminator calls expert (NaN for GCL).
        policy_accuracy: fraction of policy samples it calls policy (NaN for GCL).
        mean_reward: mean learned reward on the round's policy samples.
        expert_reward: mean learned reward on the expert samples of the round's last reward step.
    """

    env_steps: Array
    mean_return: Array
    reward_loss: Array
    expert_accuracy: Array
    policy_accuracy: Array
    mean_reward: Array
    expert_reward: Array


def learner_mean_return(metrics: Any) -> Array:
    """Mean true return over the episodes that ended in a learner's ``update`` (its metrics ``[iterations]``)."""
    count = metrics.episodes
    total = jnp.sum(jnp.where(count > 0, metrics.mean_return * count, 0.0))
    return jnp.where(jnp.sum(count) > 0, total / jnp.maximum(jnp.sum(count), 1.0), jnp.nan)
