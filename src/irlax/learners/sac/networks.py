"""SAC's networks and policy: a tanh-Gaussian (or categorical) actor and twin critics.

Continuous actions: the actor outputs means and log standard deviations of a
Gaussian squashed by ``tanh`` and scaled to the action bounds; the critics see
actions rescaled to ``[-1, 1]``. Discrete actions (Christodoulou 2019): the actor
outputs logits and each critic ``Q(s, .)`` for every action.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.envs.spec import EnvSpec
from irlax.learners.sac.config import SACConfig
from irlax.nn import distributions as dist
from irlax.nn.networks import MLP, ObsStats, normalize_obs


class SACParams(NamedTuple):
    """The learnable parameters.

    Attributes:
        actor: flax parameters of the policy MLP (logits ``[A]``, or means and log standard deviations ``[2D]``).
        critic: flax parameters of the twin critics, every leaf stacked ``[2, ...]``.
        target_critic: the Polyak-averaged copy of ``critic``.
        log_alpha: ``[]`` log-temperature.
    """

    actor: Any
    critic: Any
    target_critic: Any
    log_alpha: Array


class SACOptState(NamedTuple):
    """Adam's states of the actor, the critics and the log-temperature."""

    actor: optax.OptState
    critic: optax.OptState
    alpha: optax.OptState


class PolicyParams(NamedTuple):
    """What acting needs: the actor's parameters and the observation statistics."""

    actor: Any
    obs_stats: ObsStats


def actor_network(config: SACConfig, spec: EnvSpec) -> MLP:
    """The policy MLP: logits ``[A]``, or means and log standard deviations ``[2D]``."""
    out = spec.action_size if spec.discrete else 2 * spec.action_size
    return MLP(config.hidden, out, config.activation, out_scale=0.01)


def critic_network(config: SACConfig, spec: EnvSpec) -> MLP:
    """One critic: ``Q(s, .)`` of every action (discrete) or ``Q(s, a)`` (continuous)."""
    return MLP(config.hidden, spec.action_size if spec.discrete else 1, config.activation, out_scale=1.0)


def action_bounds(spec: EnvSpec) -> tuple[Array, Array]:
    """The continuous actions' bounds ``(low [D], high [D])``."""
    return jnp.asarray(spec.action_low, jnp.float32), jnp.asarray(spec.action_high, jnp.float32)


def normalize(config: SACConfig, stats: ObsStats, obs: Array) -> Array:
    """Observations as the networks see them (normalised when ``config.normalize_obs``)."""
    return normalize_obs(stats, obs, config.obs_clip) if config.normalize_obs else obs


def gaussian_head(config: SACConfig, head: Array) -> tuple[Array, Array]:
    """Means and clipped log standard deviations from the actor's output ``[..., 2D]``."""
    mean, log_std = jnp.split(head, 2, axis=-1)
    return mean, jnp.clip(log_std, config.log_std_min, config.log_std_max)


def sample_policy(config: SACConfig, spec: EnvSpec, actor_params: Any, key: Array, obs: Array) -> tuple[Array, Array]:
    """What the losses need of the policy at normalised observations ``obs [B, O]``.

    Continuous: a reparameterised draw ``[B, D]`` and its log-density ``[B]``. Discrete: ``(None, log pi [B, A])``.
    """
    head = actor_network(config, spec).apply(actor_params, obs)
    if spec.discrete:
        return None, jax.nn.log_softmax(head, axis=-1)
    mean, log_std = gaussian_head(config, head)
    low, high = action_bounds(spec)
    keys = jax.random.split(key, obs.shape[0])
    sample = jax.vmap(dist.tanh_gaussian_sample, in_axes=(0, 0, 0, None, None))
    return sample(keys, mean, log_std, low, high)


def q_values(config: SACConfig, spec: EnvSpec, critic_params: Any, obs: Array, action: Array | None) -> Array:
    """Twin critics at normalised ``obs [B, O]``: ``[B, 2]`` of ``action [B, D]`` or, discrete, ``[B, 2, A]``.

    Continuous actions enter the critics rescaled to ``[-1, 1]``.
    """
    critic = critic_network(config, spec)
    if spec.discrete:
        return each_critic(critic.apply, critic_params, obs)  # [B, 2, A]
    low, high = action_bounds(spec)
    x = jnp.concatenate([obs, (action - (high + low) / 2.0) / ((high - low) / 2.0)], axis=-1)
    return each_critic(critic.apply, critic_params, x)[..., 0]


def each_critic(apply: Any, critic_params: Any, x: Array) -> Array:
    """``apply`` of each of the stacked critics (leaves ``[2, ...]``) at ``x [B, ...]``: ``[B, 2, ...]``.

    One product per critic, not a ``vmap`` over them: XLA's CPU backend runs a matrix product with a batch axis
    as a batched product several times slower than two plain ones."""
    count = jax.tree.leaves(critic_params)[0].shape[0]
    return jnp.stack([apply(jax.tree.map(lambda p, i=i: p[i], critic_params), x) for i in range(count)], axis=1)


def act(
    config: SACConfig,
    spec: EnvSpec,
    policy: PolicyParams,
    key: Array,
    obs: Array,
    deterministic: bool = False,
) -> tuple[Array, Array]:
    """An action for one observation ``obs [O]`` and its log-probability under the stochastic policy.

    ``deterministic`` takes the most likely action (discrete) or the squashed mean
    ``centre + half_width * tanh(mean)`` (continuous, within the bounds).
    """
    head = actor_network(config, spec).apply(policy.actor, normalize(config, policy.obs_stats, obs))
    if spec.discrete:
        action = jnp.argmax(head).astype(jnp.int32) if deterministic else dist.categorical_sample(key, head)
        return action, dist.categorical_log_prob(head, action)
    mean, log_std = gaussian_head(config, head)
    low, high = action_bounds(spec)
    if deterministic:
        action = dist.tanh_gaussian_mode(mean, low, high)
        return action, dist.tanh_gaussian_log_prob(mean, log_std, action, low, high)
    return dist.tanh_gaussian_sample(key, mean, log_std, low, high)


def log_prob(
    config: SACConfig, spec: EnvSpec, policy: PolicyParams, obs: Array, action: Array
) -> Array:
    """``log pi(action | obs)`` of the policy for one observation ``obs [O]`` (a scalar)."""
    head = actor_network(config, spec).apply(policy.actor, normalize(config, policy.obs_stats, obs))
    if spec.discrete:
        return dist.categorical_log_prob(head, action)
    mean, log_std = gaussian_head(config, head)
    low, high = action_bounds(spec)
    return dist.tanh_gaussian_log_prob(mean, log_std, action, low, high)


def random_actions(spec: EnvSpec, key: Array, num: int) -> tuple[Array, Array]:
    """``num`` uniformly random actions and their log-probabilities ``[num]`` (the initial exploration)."""
    if spec.discrete:
        action = jax.random.randint(key, (num,), 0, spec.action_size, jnp.int32)
        return action, jnp.full((num,), -math.log(spec.action_size), jnp.float32)
    low, high = action_bounds(spec)
    action = jax.random.uniform(key, (num, spec.action_size), minval=low, maxval=high)
    return action, jnp.full((num,), -jnp.sum(jnp.log(high - low)), jnp.float32)
