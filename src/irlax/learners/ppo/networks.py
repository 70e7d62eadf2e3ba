"""PPO's networks and policy: a separate actor and critic MLP, categorical or state-independent Gaussian actions.

The actor and the critic are separate MLPs (stable-baselines3's default, 64 x 64
tanh); continuous actions use a Gaussian with a state-independent log standard
deviation (the environment clips the action). Observations are normalised with
running statistics (as SB3's ``VecNormalize``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.spec import EnvSpec
from irlax.learners.ppo.config import PPOConfig
from irlax.nn import distributions as dist
from irlax.nn.networks import MLP, ObsStats, normalize_obs


class PPOParams(NamedTuple):
    """The learnable parameters.

    Attributes:
        actor: flax parameters of the policy MLP (logits ``[A]`` or Gaussian means ``[D]``).
        critic: flax parameters of the value MLP (one output).
        log_std: ``[D]`` log standard deviations of continuous actions (``[0]`` for discrete actions).
    """

    actor: Any
    critic: Any
    log_std: Array


class PolicyParams(NamedTuple):
    """What acting needs: the actor, the log standard deviation and the observation statistics."""

    actor: Any
    log_std: Array
    obs_stats: ObsStats


def actor_network(config: PPOConfig, spec: EnvSpec) -> MLP:
    """The policy MLP: logits ``[A]`` or Gaussian means ``[D]`` (small last layer, as SB3)."""
    return MLP(config.hidden, spec.action_size, config.activation, out_scale=0.01)


def critic_network(config: PPOConfig) -> MLP:
    """The value MLP (one output)."""
    return MLP(config.hidden, 1, config.activation, out_scale=1.0)


def normalize(config: PPOConfig, stats: ObsStats, obs: Array) -> Array:
    """Observations as the networks see them (normalised and clipped when ``config.normalize_obs``)."""
    return normalize_obs(stats, obs, config.obs_clip) if config.normalize_obs else obs


def log_prob_entropy(spec: EnvSpec, head: Array, log_std: Array, action: Array) -> tuple[Array, Array]:
    """Log-probabilities ``[B]`` of ``action`` and entropies ``[B]`` from the actor's outputs ``head [B, .]``."""
    if spec.discrete:
        # dist.categorical_log_prob and _entropy, with the index taken by a one-hot product: its gradient is
        # elementwise rather than a scatter, which XLA runs much faster when vmapped over seeds on a CPU
        log_p = jax.nn.log_softmax(head)
        chosen = jnp.sum(log_p * jax.nn.one_hot(action, head.shape[-1], dtype=log_p.dtype), axis=-1)
        return chosen, -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)
    log_probs = jax.vmap(dist.gaussian_log_prob, in_axes=(0, None, 0))(head, log_std, action)
    return log_probs, jnp.broadcast_to(dist.gaussian_entropy(log_std), log_probs.shape)


def sample_batch(spec: EnvSpec, key: Array, head: Array, log_std: Array) -> tuple[Array, Array]:
    """Actions and log-probabilities for the actor's outputs ``head [E, .]`` of ``E`` environments."""
    if spec.discrete:
        action = jax.random.categorical(key, head).astype(jnp.int32)
        return action, jax.vmap(dist.categorical_log_prob)(head, action)
    action = head + jnp.exp(log_std) * jax.random.normal(key, head.shape)
    return action, jax.vmap(dist.gaussian_log_prob, in_axes=(0, None, 0))(head, log_std, action)


def act(
    config: PPOConfig, spec: EnvSpec, policy: PolicyParams, key: Array, obs: Array, deterministic: bool = False
) -> tuple[Array, Array]:
    """An action for one observation ``obs [O]`` and its log-probability under the stochastic policy.

    ``deterministic`` takes the most likely action (the mean for continuous actions). Continuous
    actions are unclipped draws of the Gaussian (the environment clips them).
    """
    head = actor_network(config, spec).apply(policy.actor, normalize(config, policy.obs_stats, obs))
    if spec.discrete:
        action = jnp.argmax(head).astype(jnp.int32) if deterministic else dist.categorical_sample(key, head)
        return action, dist.categorical_log_prob(head, action)
    action = head if deterministic else dist.gaussian_sample(key, head, policy.log_std)
    return action, dist.gaussian_log_prob(head, policy.log_std, action)


def log_prob(config: PPOConfig, spec: EnvSpec, policy: PolicyParams, obs: Array, action: Array) -> Array:
    """``log pi(action | obs)`` of the policy for one observation ``obs [O]`` (a scalar): the likelihood of the
    action as the environment receives it.

    Continuous actions in a bounded space are clipped by the environment, so this is the censored Gaussian's
    (:func:`irlax.nn.distributions.clipped_gaussian_log_prob`), whose ``-log`` stays bounded as the policy widens;
    PPO's own updates use the unclipped draw's density (:func:`log_prob_entropy`).
    """
    head = actor_network(config, spec).apply(policy.actor, normalize(config, policy.obs_stats, obs))
    if spec.discrete:
        return dist.categorical_log_prob(head, action)
    if spec.action_low:
        low, high = jnp.asarray(spec.action_low, head.dtype), jnp.asarray(spec.action_high, head.dtype)
        return dist.clipped_gaussian_log_prob(head, policy.log_std, action, low, high)
    return dist.gaussian_log_prob(head, policy.log_std, action)
