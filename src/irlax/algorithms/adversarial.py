"""The adversarial training loop GAIL and AIRL share: sample, train the discriminator, improve the policy.

One round (Ho & Ermon 2016, Algorithm 1; Fu, Luo & Levine 2018, Algorithm 1):

1. the current policy acts for ``sample_steps`` steps in ``sample_envs`` environments
   (continuing episodes across rounds, so episodes of every length appear); the
   transitions, with the acting policy's log-probabilities, go to a buffer of the
   most recent ``buffer_size`` policy transitions;
2. ``reward_steps`` steps of the discriminator's logistic loss
   (:func:`irlax.rewards.transition.discriminator_loss`), each on ``batch_size``
   expert transitions (real steps of the demonstrations) against ``batch_size``
   from the buffer;
3. the forward learner (PPO or SAC) improves the policy for ``policy_iterations``
   iterations under the discriminator's reward.

What differs between GAIL and AIRL is the :class:`Discriminator`: its logit and
the reward it gives the policy. Everything is pure: :func:`update` is one
``lax.scan`` over rounds, jittable with the config, the discriminator and the
environment static, and vmappable over states (seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.algorithms.sample_irl import (
    PolicyReward,
    PolicyRewardParams,
    RoundMetrics,
    SampleIRLConfig,
    check_demos,
    check_sample_irl_config,
    learner_mean_return,
    policy_reward_fn,
    resolve_learner,
    reward_gradient_step,
    reward_optimizer,
    sample_expert_transitions,
)
from irlax.data.demos import Demonstrations
from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rewards.transition import discriminator_accuracy, discriminator_loss
from irlax.rl.learners import Learner
from irlax.rl.replay import ReplayBuffer, init_replay, replay_add, replay_sample
from irlax.rl.rollout import EnvCarry, Transition, init_envs, step_envs


@dataclass(frozen=True)
class AdversarialConfig(SampleIRLConfig):
    """Fields of GAIL's and AIRL's configs beyond :class:`SampleIRLConfig`."""

    batch_size: int = 256
    """Expert transitions, and as many policy transitions, per discriminator step."""
    sample_envs: int = 8
    """Environments the policy samples for the discriminator run in."""
    sample_steps: int = 32
    """Steps of each sampling environment per round."""
    buffer_size: int = 2048
    """Most recent policy transitions the discriminator draws from (imitation's ``gen_replay_buffer_capacity``)."""
    absorbing: bool = True
    """Learn the reward of the absorbing state after a terminal step (see
    :func:`irlax.rewards.transition.absorbing_bonus`); without it, the learned reward's sign alone decides whether
    ending an episode early pays."""
    gamma: float | None = None
    """Discount of the absorbing state's value and of AIRL's shaping; ``None``: the learner's."""


def check_adversarial_config(config: AdversarialConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    check_sample_irl_config(config)
    for name in ("batch_size", "sample_envs", "sample_steps", "buffer_size"):
        if getattr(config, name) < 1:
            raise IrlaxError(f"{name} must be positive, got {getattr(config, name)}")
    if config.sample_envs * config.sample_steps > config.buffer_size:
        raise IrlaxError(f"buffer_size ({config.buffer_size}) must hold one round's samples "
                         f"(sample_envs x sample_steps = {config.sample_envs * config.sample_steps})")


class Discriminator(NamedTuple):
    """What makes an adversarial method: the discriminator's logit and the policy's reward.

    Attributes:
        init: ``init(key) -> params``.
        logit: ``logit(params, transition, log_pi []) -> []``, positive for "expert";
            ``transition`` is one unbatched :class:`~irlax.rl.rollout.Transition`.
        reward: the reward the policy is trained on,
            ``reward(params, obs, action, next_obs, terminated, log_pi) -> []``.
        uses_log_pi: whether ``logit`` or ``reward`` need ``log pi(a|s)`` of the current policy.
        absorbing_logit: ``absorbing_logit(params) -> []``, the logit of the absorbing state after a terminal step.
    """

    init: Callable[[Array], Any]
    logit: Callable[[Any, Transition, Array], Array]
    reward: PolicyReward
    uses_log_pi: bool
    absorbing_logit: Callable[[Any], Array]


ABSORBING_BOUND = 10.0
"""Largest magnitude of the absorbing state's logit (``softplus(-10)`` is 5e-5: "never the expert's")."""
ABSORBING_RATE = 100.0
"""The absorbing logit is ``ABSORBING_BOUND * tanh(ABSORBING_RATE * p)`` of its parameter ``p``: Adam steps ``p`` by
about ``reward_lr``, so the logit moves about ``0.3`` per step near 0, as fast as a network output, not 1000x slower."""


def absorbing_logit(params: dict) -> Array:
    """The discriminator's logit of the absorbing state, from ``params["absorbing"]`` (bounded, see above)."""
    return ABSORBING_BOUND * jnp.tanh(ABSORBING_RATE * params["absorbing"])


def discount(config: AdversarialConfig, env: ControlEnv) -> float:
    """The config's ``gamma``, else the learner's."""
    return config.gamma if config.gamma is not None else resolve_learner(config, env)[1].gamma


class AdversarialState(NamedTuple):
    """The whole training state (a pytree; leaves get a leading seed axis under ``vmap``).

    Attributes:
        learner: the forward learner's state (PPO's or SAC's).
        reward_params: the discriminator's parameters.
        reward_opt_state: its optimiser state.
        envs: the sampling environments mid-episode.
        buffer: the most recent policy transitions.
        key: PRNG key for the next round.
        env_steps: ``float32 []`` environment steps so far (learner and samples).
        rounds: ``int32 []`` rounds done.
    """

    learner: Any
    reward_params: Any
    reward_opt_state: optax.OptState
    envs: EnvCarry
    buffer: ReplayBuffer
    key: Array
    env_steps: Array
    rounds: Array


def round_env_steps(config: AdversarialConfig, learner: Learner, learner_config: Any) -> int:
    """Environment steps of one round: the learner's iterations plus the discriminator's samples."""
    return config.policy_iterations * learner.steps_per_iteration(learner_config) + (
        config.sample_envs * config.sample_steps
    )


def collect_transitions(
    learner: Learner, learner_config: Any, env: ControlEnv, policy: Any, envs: EnvCarry, key: Array, num_steps: int
) -> tuple[EnvCarry, Transition]:
    """``num_steps`` steps of the policy in every environment of ``envs``; transitions flattened ``[num_steps * E]``.

    Each transition keeps the acting policy's ``log_prob``; episodes continue across calls.
    """
    num_envs = envs.obs.shape[0]

    def one_step(carry: EnvCarry, step_key: Array) -> tuple[EnvCarry, Transition]:
        act_key, env_key = jax.random.split(step_key)
        act = lambda k, obs: learner.act(learner_config, env, policy, k, obs)
        action, log_prob = jax.vmap(act)(jax.random.split(act_key, num_envs), carry.obs)
        carry, transition, _ = step_envs(env, carry, env_key, action, log_prob)
        return carry, transition

    envs, transitions = jax.lax.scan(one_step, envs, jax.random.split(key, num_steps))
    return envs, jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), transitions)


def init(
    config: AdversarialConfig, discriminator: Discriminator, env: ControlEnv, key: Array, demos: Demonstrations
) -> AdversarialState:
    """A fresh state: a new learner, discriminator, sampling environments and an empty buffer."""
    del demos  # the discriminator closes over what it needs of them
    check_adversarial_config(config)
    learner, learner_config = resolve_learner(config, env)
    learner_key, reward_key, env_key, key = jax.random.split(key, 4)
    learner_state = learner.init(learner_config, env, learner_key)
    reward_params = discriminator.init(reward_key)
    envs = init_envs(env, env_key, config.sample_envs)
    example = jax.eval_shape(
        lambda e, k: collect_transitions(learner, learner_config, env, learner_state, e, k, 1)[1], envs, env_key
    )
    buffer = init_replay(jax.tree.map(lambda x: jnp.zeros(x.shape[1:], x.dtype), example), config.buffer_size)
    return AdversarialState(
        learner_state, reward_params, reward_optimizer(config).init(reward_params), envs, buffer, key,
        jnp.float32(0), jnp.int32(0),
    )


def batch_log_pi(learner: Learner, learner_config: Any, env: ControlEnv, policy: Any, batch: Transition) -> Array:
    """``[B]`` log-probabilities of the batch's actions under ``policy``."""
    log_prob = lambda obs, action: learner.log_prob(learner_config, env, policy, obs, action)
    return jax.vmap(log_prob)(batch.obs, batch.action)


def discriminator_step(
    config: AdversarialConfig,
    discriminator: Discriminator,
    learner: Learner,
    learner_config: Any,
    env: ControlEnv,
    demos: Demonstrations,
    learner_state: Any,
    buffer: ReplayBuffer,
    carry: tuple[Any, optax.OptState],
    key: Array,
) -> tuple[tuple[Any, optax.OptState], tuple[Array, Array, Array, Array]]:
    """One step of :func:`~irlax.rewards.transition.discriminator_loss` on fresh expert and policy minibatches.

    Returns the new (params, optimiser state) and (loss, expert accuracy, policy accuracy, expert logit mean).
    """
    expert_key, policy_key = jax.random.split(key)
    expert = sample_expert_transitions(demos, expert_key, config.batch_size)
    policy = replay_sample(buffer, policy_key, config.batch_size)
    if discriminator.uses_log_pi:
        expert_log_pi = batch_log_pi(learner, learner_config, env, learner_state, expert)
        policy_log_pi = batch_log_pi(learner, learner_config, env, learner_state, policy)
    else:
        expert_log_pi = policy_log_pi = jnp.zeros((config.batch_size,), jnp.float32)
    logits = jax.vmap(discriminator.logit, in_axes=(None, 0, 0))
    ones = jnp.ones((config.batch_size,), jnp.float32)
    expert_weights, policy_weights = (
        (jnp.concatenate([ones, batch.terminated.astype(jnp.float32)]) for batch in (expert, policy))
        if config.absorbing else (None, None)
    )

    def with_absorbing(params: Any, batch_logits: Array) -> Array:
        if not config.absorbing:
            return batch_logits
        return jnp.concatenate([batch_logits, jnp.full_like(batch_logits, discriminator.absorbing_logit(params))])

    def loss_fn(params: Any) -> tuple[Array, tuple[Array, Array]]:
        expert_logits = with_absorbing(params, logits(params, expert, expert_log_pi))
        policy_logits = with_absorbing(params, logits(params, policy, policy_log_pi))
        loss = discriminator_loss(expert_logits, policy_logits, expert_weights, policy_weights)
        return loss, (expert_logits, policy_logits)

    params, opt_state = carry
    params, opt_state, loss, (expert_logits, policy_logits) = reward_gradient_step(
        reward_optimizer(config), loss_fn, params, opt_state
    )
    expert_acc, policy_acc = discriminator_accuracy(expert_logits, policy_logits, expert_weights, policy_weights)
    return (params, opt_state), (loss, expert_acc, policy_acc, jnp.mean(expert_logits[: config.batch_size]))


def mean_policy_reward(discriminator: Discriminator, params: Any, batch: Transition, log_pi: Array) -> Array:
    """Mean of the policy's reward over a batch of transitions."""
    reward = jax.vmap(discriminator.reward, in_axes=(None, 0, 0, 0, 0, 0))
    return jnp.mean(reward(params, batch.obs, batch.action, batch.next_obs, batch.terminated, log_pi))


def adversarial_round(
    config: AdversarialConfig,
    discriminator: Discriminator,
    env: ControlEnv,
    demos: Demonstrations,
    state: AdversarialState,
) -> tuple[AdversarialState, RoundMetrics]:
    """One round: sample, ``reward_steps`` discriminator steps, ``policy_iterations`` learner iterations."""
    learner, learner_config = resolve_learner(config, env)
    key, sample_key, disc_key = jax.random.split(state.key, 3)
    envs, samples = collect_transitions(
        learner, learner_config, env, state.learner, state.envs, sample_key, config.sample_steps
    )
    buffer = replay_add(state.buffer, samples)
    step = lambda carry, k: discriminator_step(
        config, discriminator, learner, learner_config, env, demos, state.learner, buffer, carry, k
    )
    (reward_params, opt_state), (losses, expert_acc, policy_acc, expert_logit) = jax.lax.scan(
        step, (state.reward_params, state.reward_opt_state), jax.random.split(disc_key, config.reward_steps)
    )
    snapshot = learner.policy_params(state.learner) if discriminator.uses_log_pi else None
    reward_fn = policy_reward_fn(discriminator.reward, learner, learner_config, env, discriminator.uses_log_pi)
    learner_state, learner_metrics = learner.update(
        learner_config, env, state.learner, config.policy_iterations, reward_fn,
        PolicyRewardParams(reward_params, snapshot),
    )
    sample_log_pi = samples.log_prob if discriminator.uses_log_pi else jnp.zeros_like(samples.log_prob)
    last = lambda x: x[-1] if config.reward_steps else jnp.float32(jnp.nan)
    metrics = RoundMetrics(
        state.env_steps + round_env_steps(config, learner, learner_config),
        learner_mean_return(learner_metrics),
        last(losses), last(expert_acc), last(policy_acc),
        mean_policy_reward(discriminator, reward_params, samples, sample_log_pi),
        last(expert_logit),
    )
    new_state = AdversarialState(
        learner_state, reward_params, opt_state, envs, buffer, key, metrics.env_steps, state.rounds + 1
    )
    return new_state, metrics


def update(
    config: AdversarialConfig,
    discriminator: Discriminator,
    env: ControlEnv,
    demos: Demonstrations,
    state: AdversarialState,
    num_rounds: int,
) -> tuple[AdversarialState, RoundMetrics]:
    """``num_rounds`` rounds as one ``lax.scan``; metrics stacked ``[num_rounds]``."""
    check_demos(demos, env)
    body = lambda s, _: adversarial_round(config, discriminator, env, demos, s)
    return jax.lax.scan(body, state, None, length=num_rounds)
