"""PPO's estimators and losses (Schulman et al. 2017; GAE, Schulman et al. 2016): pure functions of a batch.

    L = -E[min(rho A, clip(rho, 1 - eps, 1 + eps) A)] + c_v E[(V - R)^2] - c_H E[H(pi)],

``rho = pi(a|s) / pi_old(a|s)``. Episode ends: a *terminated* step does not
bootstrap; a *truncated* one bootstraps from the value of its true successor
``next_obs`` (Pardo et al. 2018), which :func:`gae_advantages` takes explicitly
for every step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.spec import EnvSpec
from irlax.learners.ppo.config import PPOConfig
from irlax.learners.ppo.networks import PPOParams, actor_network, critic_network, log_prob_entropy


class PPOBatch(NamedTuple):
    """Training data of one minibatch (leaves ``[B, ...]``).

    Attributes:
        obs: ``[B, O]`` normalised observations.
        action: ``[B]`` int32 or ``[B, D]`` actions.
        log_prob: ``[B]`` log-probabilities under the acting policy.
        value: ``[B]`` the critic's values when acting.
        advantage: ``[B]`` GAE advantages.
        returns: ``[B]`` value targets ``advantage + value``.
    """

    obs: Array
    action: Array
    log_prob: Array
    value: Array
    advantage: Array
    returns: Array


class PPOLossInfo(NamedTuple):
    """The pieces of :func:`ppo_loss`."""

    policy_loss: Array
    value_loss: Array
    entropy: Array
    approx_kl: Array
    clip_fraction: Array


def gae_advantages(
    rewards: Array,
    values: Array,
    next_values: Array,
    terminated: Array,
    truncated: Array,
    gamma: float,
    gae_lambda: float,
) -> tuple[Array, Array]:
    """Generalised advantage estimates and value targets of one environment's ``T`` steps (Schulman et al. 2016).

    ``delta_t = r_t + gamma (1 - terminated_t) V(s'_t) - V(s_t)`` with ``s'_t`` the true successor of
    step ``t`` (so a truncated step bootstraps from the value of its real next state, a terminated one
    does not), and ``A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}``, ``done = terminated or truncated``;
    the last step's trace stops at its own bootstrap.

    Args:
        rewards: ``[T]`` rewards.
        values: ``[T]`` ``V(s_t)``.
        next_values: ``[T]`` ``V(s'_t)`` of each step's true successor.
        terminated: ``[T]`` bool.
        truncated: ``[T]`` bool.
        gamma: discount factor.
        gae_lambda: GAE's lambda.

    Returns:
        ``(advantages [T], returns [T])`` with ``returns = advantages + values`` (the lambda-returns).
    """
    terminated = terminated.astype(values.dtype)
    done = jnp.logical_or(terminated > 0, truncated).astype(values.dtype)
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    decays = gamma * gae_lambda * (1.0 - done)

    def backward(later: Array, step: tuple[Array, Array]) -> tuple[Array, Array]:
        delta, decay = step
        advantage = delta + decay * later
        return advantage, advantage

    _, advantages = jax.lax.scan(backward, jnp.zeros((), values.dtype), (deltas, decays), reverse=True)
    return advantages, advantages + values


def rms_scaled_rewards(rewards: Array, terminated: Array) -> Array:
    """``rewards`` divided by the root mean square of the non-terminal ones over the whole batch (``1e-8`` guard).

    Not centred, since a constant offset changes what an episodic task rewards (ending early or living on); the
    terminal steps are left out of the scale because an absorbing state's value lands on them (``gamma / (1 -
    gamma)`` times its reward, :func:`irlax.rewards.transition.absorbing_bonus`), and how many a batch holds would
    swing the factor from one batch to the next. ``rewards`` and ``terminated`` share their shape.
    """
    live = 1.0 - terminated.astype(rewards.dtype)
    mean_square = jnp.sum(live * jnp.square(rewards)) / jnp.maximum(jnp.sum(live), 1.0)
    return rewards / (jnp.sqrt(mean_square) + 1e-8)


def normalized_advantages(advantages: Array) -> Array:
    """``[B]`` advantages standardised to zero mean and unit standard deviation (``1e-8`` guard)."""
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


def clipped_surrogate_loss(
    log_prob: Array, old_log_prob: Array, advantages: Array, clip_eps: float
) -> tuple[Array, Array]:
    """PPO's clipped surrogate loss (Schulman et al. 2017, eq. 7), negated for minimisation.

    Args:
        log_prob: ``[B]`` log-probabilities of the actions under the policy being trained.
        old_log_prob: ``[B]`` log-probabilities under the acting policy.
        advantages: ``[B]`` advantage estimates.
        clip_eps: the clipping range epsilon.

    Returns:
        ``(loss [], clip_fraction [])``: ``-mean(min(rho A, clip(rho, 1-eps, 1+eps) A))`` and the fraction
        of ratios outside ``[1 - eps, 1 + eps]``.
    """
    ratio = jnp.exp(log_prob - old_log_prob)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    clip_fraction = jnp.mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32))
    return -jnp.mean(jnp.minimum(unclipped, clipped)), clip_fraction


def value_loss(values: Array, old_values: Array, returns: Array, clip_value: float | None) -> Array:
    """Mean squared error of the critic ``[B]`` against the targets ``returns [B]``.

    With ``clip_value`` the pessimistic clipped form of OpenAI's PPO2:
    ``mean(max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2))``.
    """
    error = (values - returns) ** 2
    if clip_value is None:
        return jnp.mean(error)
    clipped = old_values + jnp.clip(values - old_values, -clip_value, clip_value)
    return jnp.mean(jnp.maximum(error, (clipped - returns) ** 2))


def ppo_loss(params: PPOParams, config: PPOConfig, spec: EnvSpec, batch: PPOBatch) -> tuple[Array, PPOLossInfo]:
    """PPO's total loss on one minibatch: ``surrogate + vf_coef * value_loss - ent_coef * entropy``.

    Advantages are standardised within the minibatch when ``config.normalize_advantages``.

    Returns:
        ``(loss [], PPOLossInfo)``.
    """
    head = actor_network(config, spec).apply(params.actor, batch.obs)
    log_prob, entropy = log_prob_entropy(spec, head, params.log_std, batch.action)
    values = critic_network(config).apply(params.critic, batch.obs)[:, 0]
    advantages = normalized_advantages(batch.advantage) if config.normalize_advantages else batch.advantage
    policy_loss, clip_fraction = clipped_surrogate_loss(log_prob, batch.log_prob, advantages, config.clip_eps)
    v_loss = value_loss(values, batch.value, batch.returns, config.clip_value)
    entropy = jnp.mean(entropy)
    log_ratio = log_prob - batch.log_prob
    approx_kl = jnp.mean(jnp.exp(log_ratio) - 1.0 - log_ratio)
    loss = policy_loss + config.vf_coef * v_loss - config.ent_coef * entropy
    return loss, PPOLossInfo(policy_loss, v_loss, entropy, approx_kl, clip_fraction)
