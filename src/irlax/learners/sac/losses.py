"""SAC's targets and losses (Haarnoja et al. 2018b; discrete actions: Christodoulou 2019).

Pure functions on one transition (vmap them over a minibatch and average), and
:func:`critic_targets` of a minibatch.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.spec import EnvSpec
from irlax.learners.sac.config import SACConfig
from irlax.learners.sac.networks import SACParams, q_values, sample_policy


class SACLossInfo(NamedTuple):
    """Means over one gradient step's minibatch (NaN in iterations without gradient steps).

    Attributes:
        mean_reward: the reward the critics were trained on (the learned one when a ``reward_fn`` is given).
        critic_loss: :func:`sac_critic_loss`.
        actor_loss: :func:`sac_actor_loss`.
        temperature_loss: :func:`sac_temperature_loss`.
        alpha: the temperature used in the step.
        entropy: the policy's entropy (exact for discrete actions; ``-log pi`` of a draw for continuous ones).
        q_mean: mean of the twin critics' values of the minibatch's actions.
    """

    mean_reward: Array
    critic_loss: Array
    actor_loss: Array
    temperature_loss: Array
    alpha: Array
    entropy: Array
    q_mean: Array


def soft_state_value(q: Array, log_prob: Array, alpha: Array) -> Array:
    """The soft value ``V(s) = E_{a ~ pi}[min_i Q_i(s, a) - alpha log pi(a|s)]`` (Haarnoja et al. 2018b, eq. 3).

    Args:
        q: twin critics' values ``[2]`` of one sampled action (continuous), or ``[2, A]`` of every action (discrete).
        log_prob: ``log pi`` of the sampled action ``[]``, or of every action ``[A]`` (discrete).
        alpha: the temperature.

    Returns:
        ``[]``: the one-sample estimate (continuous) or the exact expectation over the categorical policy
        (discrete, Christodoulou 2019, eq. 10).
    """
    soft_q = jnp.min(q, axis=0) - alpha * log_prob
    if log_prob.ndim == 0:
        return soft_q
    return jnp.sum(jnp.exp(log_prob) * soft_q)


def sac_critic_target(
    reward: Array, terminated: Array, next_q: Array, next_log_prob: Array, alpha: Array, gamma: float
) -> Array:
    """The soft Bellman target ``y = r + gamma (1 - terminated) V(s')`` of one transition.

    ``V(s')`` is :func:`soft_state_value` of the *target* critics' values ``next_q`` at the true
    successor ``s'`` (``[2]`` at ``a' ~ pi(.|s')`` or ``[2, A]``) and the policy's ``next_log_prob``
    (``[]`` or ``[A]``). A terminated transition does not bootstrap; a truncated one does, from
    ``s'`` (Pardo et al. 2018). The result carries no gradient.
    """
    next_value = soft_state_value(next_q, next_log_prob, alpha)
    bootstrap = 1.0 - jnp.asarray(terminated, jnp.float32)
    return jax.lax.stop_gradient(reward + gamma * bootstrap * next_value)


def sac_critic_loss(q: Array, target: Array) -> Array:
    """``0.5 * sum_i (Q_i(s, a) - y)^2`` for the twin critics' values ``q [2]`` of the taken action (eq. 5)."""
    return 0.5 * jnp.sum((q - target) ** 2)


def sac_actor_loss(q: Array, log_prob: Array, alpha: Array) -> Array:
    """The policy loss ``E_{a ~ pi}[alpha log pi(a|s) - min_i Q_i(s, a)]`` at one state (eq. 7), i.e. ``-V(s)``.

    Continuous: ``q [2]`` at a reparameterised draw ``a`` and its ``log_prob []`` (gradients flow through
    both). Discrete: ``q [2, A]`` and ``log_prob [A]``, the exact expectation (Christodoulou 2019, eq. 12).
    """
    return -soft_state_value(q, log_prob, alpha)


def sac_temperature_loss(log_alpha: Array, log_prob: Array, target_entropy: float) -> Array:
    """The temperature loss ``-log(alpha) (E[log pi(a|s)] + target_entropy)`` at one state (eq. 18).

    ``log_prob`` is ``[]`` of a draw (continuous) or ``[A]`` of every action (discrete: the exact
    expectation, Christodoulou 2019, eq. 11); it carries no gradient. Parameterised by ``log(alpha)``
    as in SB3, which has the same fixed point: ``alpha`` grows while the entropy is below the target.
    """
    expected_log_prob = log_prob if log_prob.ndim == 0 else jnp.sum(jnp.exp(log_prob) * log_prob)
    return -log_alpha * jax.lax.stop_gradient(expected_log_prob + target_entropy)


def critic_targets(
    config: SACConfig,
    spec: EnvSpec,
    params: SACParams,
    reward: Array,
    terminated: Array,
    next_obs: Array,
    key: Array,
) -> Array:
    """:func:`sac_critic_target` of a minibatch: ``[B]`` targets from the target critics and the current actor.

    Args:
        config, spec: the learner's configuration and task.
        params: the learner's parameters (actor, target critics and temperature are used).
        reward: ``[B]`` rewards (the environment's or the learned ones).
        terminated: ``[B]`` bool; truncated transitions are not terminated and bootstrap.
        next_obs: ``[B, O]`` the true successors (normalised as the networks expect).
        key: draws ``a' ~ pi(.|s')`` for continuous actions (discrete ones take the exact expectation).
    """
    next_action, next_log_prob = sample_policy(config, spec, params.actor, key, next_obs)
    next_q = q_values(config, spec, params.target_critic, next_obs, next_action)
    target = jax.vmap(sac_critic_target, in_axes=(0, 0, 0, 0, None, None))
    return target(reward, terminated, next_q, next_log_prob, jnp.exp(params.log_alpha), config.gamma)
