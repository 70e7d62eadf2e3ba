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
the reward it gives the policy. :func:`make_adversarial` builds the
:class:`~irlax.algorithms.base.Algorithm` of either from its discriminator; its
``update`` is one ``lax.scan`` over rounds, jittable and vmappable over states
(seeds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import (
    PolicyReward,
    PolicyRewardParams,
    SampleIRLConfig,
    check_demos,
    check_sample_irl_config,
    learner_mean_return,
    policy_reward_fn,
    reward_gradient_step,
    reward_optimizer,
    sample_expert_transitions,
)
from irlax.data.demos import Demonstrations
from irlax.data.transitions import RewardFn, Transition
from irlax.envs.control import JaxEnv
from irlax.errors import IrlaxError
from irlax.learners import base, host
from irlax.learners.base import Learner, LearnerState
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add, replay_sample
from irlax.learners.rollout import EnvCarry, collect_steps, example_transition, init_envs
from irlax.rewards.transition import (
    InputStats,
    absorbing_bonus,
    demo_input_stats,
    discriminator_accuracy,
    discriminator_loss,
)


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
    gradient_penalty: float = 0.0
    """Weight of the zero-centred gradient penalty on the discriminator's inputs (:func:`input_gradient_penalty`,
    on the transitions ``penalty_data`` names); 0: none."""
    penalty_data: str = "expert"
    """Where the gradient penalty is taken (:data:`PENALTY_DATA`): the expert's transitions of the minibatch
    (Mescheder et al.'s R1), the policy's (R2: the discriminator kept flat where the policy goes and the expert
    does not), or both, averaged."""


PENALTY_DATA = ("expert", "policy", "both")
"""Values of ``AdversarialConfig.penalty_data``."""


def check_adversarial_config(config: AdversarialConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    check_sample_irl_config(config)
    for name in ("batch_size", "sample_envs", "sample_steps", "buffer_size"):
        if getattr(config, name) < 1:
            raise IrlaxError(f"{name} must be positive, got {getattr(config, name)}")
    if not config.gradient_penalty >= 0:
        raise IrlaxError(f"gradient_penalty must be non-negative, got {config.gradient_penalty}")
    if config.penalty_data not in PENALTY_DATA:
        raise IrlaxError(f"unknown penalty_data {config.penalty_data!r}; choose one of {', '.join(PENALTY_DATA)}")
    if config.sample_envs * config.sample_steps > config.buffer_size:
        raise IrlaxError(f"buffer_size ({config.buffer_size}) must hold one round's samples "
                         f"(sample_envs x sample_steps = {config.sample_envs * config.sample_steps})")


class Discriminator(NamedTuple):
    """What makes an adversarial method: the discriminator's logit and the policy's reward.

    Attributes:
        init: ``init(key, stats) -> params``, with the demonstrations' input statistics (kept frozen).
        logit: ``logit(params, transition, log_pi []) -> []``, positive for "expert";
            ``transition`` is one unbatched :class:`~irlax.data.transitions.Transition`.
        reward: the reward the policy is trained on,
            ``reward(params, obs, action, next_obs, terminated, log_pi) -> []``.
        uses_log_pi: whether ``logit`` or ``reward`` need ``log pi(a|s)`` of the current policy.
        absorbing_logit: ``absorbing_logit(params) -> []``, the logit of the absorbing state after a terminal step.
        penalised: ``penalised(params, transition) -> []``, the function of one transition that the gradient
            penalty (``AdversarialConfig.gradient_penalty``) is on; ``None``: the logit, ``log pi`` held at 0.
    """

    init: Callable[[Array, InputStats], Any]
    logit: Callable[[Any, Transition, Array], Array]
    reward: PolicyReward
    uses_log_pi: bool
    absorbing_logit: Callable[[Any], Array]
    penalised: Callable[[Any, Transition], Array] | None = None


ABSORBING_BOUND = 10.0
"""Largest magnitude of the absorbing state's logit (``softplus(-10)`` is 5e-5: "never the expert's")."""
ABSORBING_RATE = 100.0
"""The absorbing logit is ``ABSORBING_BOUND * tanh(ABSORBING_RATE * p)`` of its parameter ``p``: Adam steps ``p`` by
about ``reward_lr``, so the logit moves about ``0.3`` per step near 0, as fast as a network output, not 1000x slower."""


def absorbing_logit(params: dict) -> Array:
    """The discriminator's logit of the absorbing state, from ``params["absorbing"]`` (bounded, see above)."""
    return ABSORBING_BOUND * jnp.tanh(ABSORBING_RATE * params["absorbing"])


def with_absorbing_value(value: Array, params: dict, terminated: Array, gamma: float,
                         transform: Callable[[Array], Array] | None = None, absorbing: bool = True) -> Array:
    """A policy's per-step reward ``value`` plus, on terminal steps and when ``absorbing``, the absorbing state's
    value under the same ``transform`` of a logit (``transform(absorbing_logit(params))`` for ever after, discount
    ``gamma``: :func:`irlax.rewards.transition.absorbing_bonus`); ``transform=None`` takes the logit as it is.
    GAIL's rewards, AIRL's ``softplus`` one (transformed) and AIRL's ``f`` and ``g`` exports (as is)."""
    if not absorbing:
        return value
    logit = absorbing_logit(params)
    return value + absorbing_bonus(terminated, logit if transform is None else transform(logit), gamma)


def discount(config: AdversarialConfig, learner: Learner) -> float:
    """The config's ``gamma``, else the learner's."""
    return config.gamma if config.gamma is not None else learner.config.gamma


class AdversarialState(NamedTuple):
    """The whole training state (a pytree; leaves get a leading seed axis under ``vmap``).

    Attributes:
        learner: the forward learner's :class:`~irlax.learners.base.LearnerState`.
        reward_params: the discriminator's parameters.
        reward_opt_state: its optimiser state.
        envs: the sampling environments mid-episode.
        buffer: the most recent policy transitions.
        key: PRNG key for the next round.
        env_steps: ``float32 []`` environment steps so far (learner and samples).
        rounds: ``int32 []`` rounds done.
    """

    learner: LearnerState
    reward_params: Any
    reward_opt_state: optax.OptState
    envs: EnvCarry
    buffer: ReplayBuffer
    key: Array
    env_steps: Array
    rounds: Array


class AdversarialMetrics(NamedTuple):
    """One round's record (leaves ``[]``; ``[rounds]`` after a scan).

    Attributes:
        env_steps: environment steps so far (the learner's and the discriminator's samples).
        mean_return: mean true return of the learner's episodes that ended this round (NaN if none).
        reward_loss: the discriminator's loss at its last step this round.
        expert_accuracy: fraction of expert samples the discriminator calls expert.
        policy_accuracy: fraction of policy samples it calls policy.
        mean_reward: mean policy reward on the round's policy samples.
        expert_reward: mean discriminator logit on the expert samples of the round's last step.
    """

    env_steps: Array
    mean_return: Array
    reward_loss: Array
    expert_accuracy: Array
    policy_accuracy: Array
    mean_reward: Array
    expert_reward: Array


def round_env_steps(config: AdversarialConfig, learner: Learner) -> int:
    """Environment steps of one round: the learner's iterations plus the discriminator's samples."""
    return config.policy_iterations * learner.steps_per_iteration + config.sample_envs * config.sample_steps


def input_gradient_penalty(logit: Callable[[Transition], Array], batch: Transition) -> Array:
    """Mean squared norm of the logit's gradient in the float inputs of each transition of ``batch``.

    The zero-centred penalty ``E ||grad_x logit(x)||^2`` (Mescheder, Geiger & Nowozin 2018): over the expert's
    transitions "R1", over the policy's "R2" (``AdversarialConfig.penalty_data`` picks the batch). On the expert's
    data it keeps the discriminator from sharpening without bound there, where the policy's reward would otherwise
    fall off a cliff. ``x`` is the observation and next observation, and the action when it is continuous.
    """
    def squared_norm(transition: Transition) -> Array:
        floats = {"obs": transition.obs, "next_obs": transition.next_obs}
        if jnp.issubdtype(transition.action.dtype, jnp.floating):
            floats["action"] = transition.action
        grads = jax.grad(lambda x: logit(transition._replace(**x)))(floats)
        return sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads))

    return jnp.mean(jax.vmap(squared_norm)(batch))


def collect_transitions(
    learner: Learner, env: JaxEnv, policy: Any, envs: EnvCarry, key: Array, num_steps: int
) -> tuple[EnvCarry, Transition]:
    """``num_steps`` steps of the policy in every environment of ``envs``; transitions flattened ``[num_steps * E]``.

    Each transition keeps the acting policy's ``log_prob``; episodes continue across calls.
    """
    act = lambda k, obs: learner.act(policy, k, obs)
    envs, transitions, _ = collect_steps(env, act, envs, key, num_steps)
    return envs, jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), transitions)


def batch_log_pi(learner: Learner, policy: Any, batch: Transition) -> Array:
    """``[B]`` log-probabilities of the batch's actions under ``policy``."""
    return jax.vmap(lambda obs, action: learner.log_prob(policy, obs, action))(batch.obs, batch.action)


def discriminator_step(
    config: AdversarialConfig,
    discriminator: Discriminator,
    learner: Learner,
    demos: Demonstrations,
    policy: Any,
    buffer: ReplayBuffer,
    carry: tuple[Any, optax.OptState],
    key: Array,
) -> tuple[tuple[Any, optax.OptState], tuple[Array, Array, Array, Array]]:
    """One step of :func:`~irlax.rewards.transition.discriminator_loss` on fresh expert and policy minibatches.

    ``policy`` is the learner's current policy (for ``log pi`` when the discriminator uses it).
    Returns the new (params, optimiser state) and (loss, expert accuracy, policy accuracy, expert logit mean).
    """
    expert_key, policy_key = jax.random.split(key)
    expert = sample_expert_transitions(demos, expert_key, config.batch_size)
    samples = replay_sample(buffer, policy_key, config.batch_size)
    if discriminator.uses_log_pi:
        expert_log_pi, policy_log_pi = batch_log_pi(learner, policy, expert), batch_log_pi(learner, policy, samples)
    else:
        expert_log_pi = policy_log_pi = jnp.zeros((config.batch_size,), jnp.float32)
    logits = jax.vmap(discriminator.logit, in_axes=(None, 0, 0))
    ones = jnp.ones((config.batch_size,), jnp.float32)
    expert_weights, policy_weights = (
        (jnp.concatenate([ones, batch.terminated.astype(jnp.float32)]) for batch in (expert, samples))
        if config.absorbing else (None, None)
    )

    def with_absorbing(params: Any, batch_logits: Array) -> Array:
        if not config.absorbing:
            return batch_logits
        return jnp.concatenate([batch_logits, jnp.full_like(batch_logits, discriminator.absorbing_logit(params))])

    # the penalty is on the discriminator's own function of the inputs (its logit with log pi held at 0) unless it
    # names another
    penalised = discriminator.penalised or (lambda params, t: discriminator.logit(params, t, jnp.float32(0.0)))
    penalty_batches = {"expert": (expert,), "policy": (samples,), "both": (expert, samples)}[config.penalty_data]

    def loss_fn(params: Any) -> tuple[Array, tuple[Array, Array]]:
        expert_logits = with_absorbing(params, logits(params, expert, expert_log_pi))
        policy_logits = with_absorbing(params, logits(params, samples, policy_log_pi))
        loss = discriminator_loss(expert_logits, policy_logits, expert_weights, policy_weights)
        if config.gradient_penalty:
            penalty = jnp.mean(jnp.stack([input_gradient_penalty(lambda t: penalised(params, t), batch)
                                          for batch in penalty_batches]))
            loss = loss + config.gradient_penalty * penalty
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


def make_adversarial(
    name: str,
    config: AdversarialConfig,
    env: JaxEnv,
    learner: Learner,
    discriminator: Discriminator,
    reward_fn: RewardFn,
    description: str,
) -> Algorithm:
    """The :class:`~irlax.algorithms.base.Algorithm` of an adversarial method (GAIL, AIRL) in ``env``.

    Args:
        name, config: the method's name and config.
        env: the task it trains in.
        learner: the forward learner (PPO or SAC) improving the policy.
        discriminator: the method's discriminator and policy reward.
        reward_fn: the learned reward to re-optimise, of ``state.reward_params``.
        description: one line for help texts.

    Raises:
        IrlaxError: a bad setting.
    """
    check_adversarial_config(config)
    policy_reward = policy_reward_fn(discriminator.reward, learner, discriminator.uses_log_pi)
    steps_per_round = round_env_steps(config, learner)

    example = example_transition(env.spec)

    def start(learner_state: LearnerState, envs: EnvCarry, reward_key: Array, key: Array,
              demos: Demonstrations) -> AdversarialState:
        """The state of a fresh run, around a fresh learner and sampling environments."""
        reward_params = discriminator.init(reward_key, demo_input_stats(demos))
        return AdversarialState(
            learner_state, reward_params, reward_optimizer(config).init(reward_params), envs,
            init_replay(example, config.buffer_size), key, jnp.float32(0), jnp.int32(0),
        )

    def init(key: Array, demos: Demonstrations) -> AdversarialState:
        check_demos(demos, env.spec)
        learner_key, reward_key, env_key, key = jax.random.split(key, 4)
        learner_state = base.init_state(learner, env, learner_key)
        return start(learner_state, init_envs(env, env_key, config.sample_envs), reward_key, key, demos)

    def train_discriminator(demos: Demonstrations, state: AdversarialState, samples: Transition,
                            disc_key: Array) -> tuple[ReplayBuffer, Any, optax.OptState, Any, tuple]:
        """The round's samples into the buffer, then ``reward_steps`` discriminator steps (pure)."""
        policy = learner.policy_params(state.learner.agent)
        buffer = replay_add(state.buffer, samples)
        step = lambda carry, k: discriminator_step(config, discriminator, learner, demos, policy, buffer, carry, k)
        (reward_params, opt_state), record = jax.lax.scan(
            step, (state.reward_params, state.reward_opt_state), jax.random.split(disc_key, config.reward_steps)
        )
        snapshot = policy if discriminator.uses_log_pi else None
        return buffer, reward_params, opt_state, PolicyRewardParams(reward_params, snapshot), record

    def finish(state: AdversarialState, envs: EnvCarry, buffer: ReplayBuffer, reward_params: Any,
               opt_state: optax.OptState, record: tuple, samples: Transition, learner_state: LearnerState,
               learner_metrics: Any, key: Array) -> tuple[AdversarialState, AdversarialMetrics]:
        """The round's new state and metrics (pure)."""
        losses, expert_acc, policy_acc, expert_logit = record
        sample_log_pi = samples.log_prob if discriminator.uses_log_pi else jnp.zeros_like(samples.log_prob)
        last = lambda x: x[-1] if config.reward_steps else jnp.float32(jnp.nan)
        metrics = AdversarialMetrics(
            state.env_steps + steps_per_round,
            learner_mean_return(learner_metrics),
            last(losses), last(expert_acc), last(policy_acc),
            mean_policy_reward(discriminator, reward_params, samples, sample_log_pi),
            last(expert_logit),
        )
        new_state = AdversarialState(
            learner_state, reward_params, opt_state, envs, buffer, key, metrics.env_steps, state.rounds + 1
        )
        return new_state, metrics

    def one_round(demos: Demonstrations, state: AdversarialState) -> tuple[AdversarialState, AdversarialMetrics]:
        key, sample_key, disc_key = jax.random.split(state.key, 3)
        policy = learner.policy_params(state.learner.agent)
        envs, samples = collect_transitions(learner, env, policy, state.envs, sample_key, config.sample_steps)
        buffer, reward_params, opt_state, learner_reward, record = train_discriminator(demos, state, samples,
                                                                                        disc_key)
        learner_state, learner_metrics = base.update(
            learner, env, state.learner, config.policy_iterations, policy_reward, learner_reward
        )
        return finish(state, envs, buffer, reward_params, opt_state, record, samples, learner_state,
                      learner_metrics, key)

    def update(
        state: AdversarialState, demos: Demonstrations, num_rounds: int
    ) -> tuple[AdversarialState, AdversarialMetrics]:
        check_demos(demos, env.spec)
        return jax.lax.scan(lambda s, _: one_round(demos, s), state, None, length=num_rounds)

    # host-stepped environments: the same phases, the environment ones stepped from Python, the pure ones jitted
    seeds = host.jit_over_seeds
    host_start = seeds(start, 0, 0, 0, 0, None)
    host_train_discriminator = seeds(train_discriminator, None, 0, 0, 0)
    host_finish = seeds(finish, *([0] * 10))
    split_keys = seeds(lambda k: tuple(jax.random.split(k, 3)), 0)
    split_init = seeds(lambda k: tuple(jax.random.split(k, 4)), 0)
    policies = seeds(learner.policy_params, 0)

    def host_init(keys: Array, demos: Demonstrations) -> AdversarialState:
        check_demos(demos, env.spec)
        learner_key, reward_key, env_key, key = split_init(keys)
        learner_state = host.init_state(learner, env, learner_key)
        envs = host.reset_envs(env, env_key, config.sample_envs)
        return host_start(learner_state, envs, reward_key, key, demos)

    def host_round(demos: Demonstrations, state: AdversarialState) -> tuple[AdversarialState, AdversarialMetrics]:
        key, sample_key, disc_key = split_keys(state.key)
        envs, samples, _, _ = host.collect_policy(learner, env, policies(state.learner.agent), state.envs,
                                                  sample_key, config.sample_steps)
        samples = jax.tree.map(lambda x: x.reshape(x.shape[0], -1, *x.shape[3:]), samples)
        buffer, reward_params, opt_state, learner_reward, record = host_train_discriminator(demos, state, samples,
                                                                                             disc_key)
        learner_state, learner_metrics = host.update(
            learner, env, state.learner, config.policy_iterations, policy_reward, learner_reward
        )
        return host_finish(state, envs, buffer, reward_params, opt_state, record, samples, learner_state,
                           learner_metrics, key)

    def host_update(state: AdversarialState, demos: Demonstrations, num_rounds: int) -> tuple[AdversarialState, Any]:
        check_demos(demos, env.spec)
        return host.repeat_rounds(lambda s: host_round(demos, s), state, num_rounds)

    return Algorithm(
        name=name, config=config, num_steps=config.rounds, init=init, update=update, metrics=AdversarialMetrics,
        policy=lambda state, demos: learner.policy_params(state.learner.agent),
        reward=lambda state, demos: state.reward_params, act=learner, reward_fn=reward_fn, spec=env.spec, env=env,
        learner=learner, description=description, host_init=host_init, host_update=host_update,
    )
