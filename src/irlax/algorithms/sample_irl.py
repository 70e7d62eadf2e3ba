"""Pieces shared by the sample-based IRL algorithms (GCL, GAIL, AIRL): config, learner, expert samples, metrics.

Each of those algorithms alternates reward (or discriminator) steps on expert and
policy samples with a little policy improvement by a forward learner of
:mod:`irlax.learners` (PPO or SAC) under the current learned reward. What they
share lives here:

- :class:`SampleIRLConfig`, the fields every algorithm's config has (each one's
  config extends it with its own);
- :func:`make_inner_learner`: the forward learner, built once when the algorithm
  is (its config the task's tuned one unless the algorithm's config names one);
- :func:`sample_expert_transitions`: a uniform minibatch of the demonstrations'
  real steps (padding never drawn, so episodes of any lengths mix);
- :class:`PolicyRewardParams` and :func:`policy_reward_fn`: what the learner's
  ``reward_fn`` sees (the reward's parameters and, for rewards with a
  ``-log pi`` term, a snapshot of the policy);
- :func:`reward_optimizer` and :func:`reward_gradient_step`;
- :func:`learner_mean_return`, the learner's true return over a round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax import tasks
from irlax.data.demos import Demonstrations
from irlax.data.transitions import RewardFn, Transition
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners.base import Learner
from irlax.learners.registry import get_learner_kind
from irlax.nn.networks import ACTIVATIONS
from irlax.rewards.base import FROZEN
from irlax.settings import check_fields


@dataclass(frozen=True)
class LearnerRoundsConfig:
    """Fields of every algorithm that trains a forward learner in rounds (sample-based IRL, density reward)."""

    learner: str = ""
    """Forward learner, ``"ppo"`` or ``"sac"``; empty: the task's default (PPO for discrete, SAC for continuous)."""
    learner_config: Any = None
    """The learner's frozen config; ``None``: its preset for the task."""
    rounds: int = 100
    """Rounds of (sample, reward steps, policy improvement)."""
    policy_iterations: int = 1
    """Learner iterations per round (``steps_per_iteration`` env steps each): the "little" policy improvement."""

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class SampleIRLConfig(LearnerRoundsConfig):
    """Fields shared by the configs of GCL, GAIL, AIRL and preference comparisons (a reward network's)."""

    reward_steps: int = 4
    """Gradient steps of the reward (discriminator) per round."""
    reward_lr: float = 3e-4
    """Adam step size of the reward."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the reward networks."""
    activation: str = "tanh"
    """Hidden activation of the reward networks, a key of :data:`irlax.nn.networks.ACTIVATIONS`."""
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


def make_inner_learner(config: SampleIRLConfig, spec: EnvSpec) -> Learner:
    """The forward learner the config names (or the task's default), with its config (or the task's tuned one).

    Raises:
        IrlaxError: an unknown learner, or a learner config of another learner.
    """
    name = config.learner or tasks.default_learner(spec.name, spec)
    kind = get_learner_kind(name)
    learner_config = config.learner_config if config.learner_config is not None else tasks.learner_config(
        spec.name, name)
    if not isinstance(learner_config, kind.config):
        raise IrlaxError(f"learner_config is a {type(learner_config).__name__}, but the learner is {name}")
    return kind.make(learner_config, spec)


def check_demos(demos: Demonstrations, spec: EnvSpec) -> None:
    """One-line :class:`IrlaxError` when the demonstrations don't fit the task ``spec``."""
    if (demos.obs_size, demos.discrete, demos.action_size) != (spec.obs_size, spec.discrete, spec.action_size):
        kind = "discrete" if demos.discrete else "continuous"
        raise IrlaxError(
            f"the demonstrations ({demos.env_name or 'unknown task'}: obs size {demos.obs_size}, {kind} actions "
            f"of size {demos.action_size}) don't fit {spec.name} ({spec.describe()})"
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


def policy_reward_fn(reward: PolicyReward, learner: Learner, uses_log_pi: bool) -> RewardFn:
    """The learner's ``reward_fn(PolicyRewardParams, obs, action, next_obs, terminated)`` for ``reward``.

    When ``uses_log_pi``, ``log pi(a|s)`` of the policy snapshot is passed to ``reward``; else 0.
    """

    def reward_fn(params: PolicyRewardParams, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        log_pi = learner.log_prob(params.policy, obs, action) if uses_log_pi else jnp.float32(0)
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


def learner_mean_return(metrics: Any) -> Array:
    """Mean true return over the episodes that ended in a learner's ``update`` (its metrics ``[iterations]``)."""
    count = metrics.episodes
    total = jnp.sum(jnp.where(count > 0, metrics.mean_return * count, 0.0))
    return jnp.where(jnp.sum(count) > 0, total / jnp.maximum(jnp.sum(count), 1.0), jnp.nan)
