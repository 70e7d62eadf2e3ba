"""Soft actor-critic (Haarnoja et al. 2018) as a :class:`~irlax.learners.base.Learner`.

The maximum-entropy learner of the objective

    J(pi) = sum_t E[r(s_t, a_t) + alpha H(pi(.|s_t))],

as in "Soft Actor-Critic Algorithms and Applications" (Haarnoja et al. 2018b):
twin critics regressed on the soft Bellman target with Polyak-averaged target
critics, a reparameterised tanh-Gaussian actor, and the temperature ``alpha``
adjusted so that the policy's entropy tracks a target (``-dim(A)``). Discrete
actions follow Christodoulou (2019). The losses are in
:mod:`irlax.learners.sac.losses`, the networks in :mod:`irlax.learners.sac.networks`.

One *iteration* takes ``train_freq`` steps of each of the ``num_envs`` environments
(``explore``: actions drawn uniformly at random until ``learning_starts``
environment steps have been taken), then ``learn`` stores them in a circular
replay buffer (:mod:`irlax.learners.replay`) and takes ``gradient_steps`` gradient
steps on minibatches drawn from the buffer (once ``learning_starts`` is reached).

Episode ends: a *terminated* transition does not bootstrap; a *truncated* one
bootstraps from its true successor ``next_obs``, which the buffer stores.

Learned rewards (IRL): the buffer stores the environment's reward; when a
``reward_fn`` is given, the reward of every sampled minibatch is recomputed as
``reward_fn(reward_params, obs, action, next_obs, terminated)``, so that old
transitions are relabelled with the current reward whenever the IRL algorithm
changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.data.transitions import RewardFn, Transition
from irlax.envs.spec import EnvSpec
from irlax.learners.base import Learner
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add, replay_sample
from irlax.learners.rollout import learner_rewards
from irlax.learners.sac import networks
from irlax.learners.sac.config import SACConfig, check_config, target_entropy
from irlax.learners.sac.losses import SACLossInfo, critic_targets, sac_actor_loss, sac_critic_loss, sac_temperature_loss
from irlax.learners.sac.networks import PolicyParams, SACOptState, SACParams, random_actions
from irlax.nn.networks import ObsStats, init_obs_stats, update_obs_stats


class SACAgent(NamedTuple):
    """SAC's own state.

    Attributes:
        params: :class:`~irlax.learners.sac.networks.SACParams`.
        opt_state: :class:`~irlax.learners.sac.networks.SACOptState`.
        obs_stats: running observation statistics (unused unless ``normalize_obs``).
        buffer: the replay buffer of :class:`~irlax.data.transitions.Transition` s (environment rewards).
        env_steps: ``int32 []`` environment steps taken so far (all environments).
        grad_steps: ``int32 []`` gradient steps taken so far.
        random_action: ``[E, ...]`` the random action each environment holds in the initial phase.
    """

    params: SACParams
    opt_state: SACOptState
    obs_stats: ObsStats
    buffer: ReplayBuffer
    env_steps: Array
    grad_steps: Array
    random_action: Array


def optimizers(config: SACConfig) -> SACOptState:
    """Adam for each part (a :class:`SACOptState` of ``GradientTransformation`` s)."""
    return SACOptState(optax.adam(config.actor_lr), optax.adam(config.critic_lr), optax.adam(config.alpha_lr))


def policy_params(agent: SACAgent) -> PolicyParams:
    """The part of the agent that acting needs (save it to keep an expert)."""
    return PolicyParams(agent.params.actor, agent.obs_stats)


def no_learning() -> SACLossInfo:
    """The record of an iteration without gradient steps (all NaN)."""
    return SACLossInfo(*(jnp.float32(jnp.nan) for _ in SACLossInfo._fields))


def gradient_step(
    config: SACConfig,
    spec: EnvSpec,
    reward_fn: RewardFn | None,
    reward_params: Any,
    buffer: ReplayBuffer,
    obs_stats: ObsStats,
    learner: tuple[SACParams, SACOptState],
    key: Array,
) -> tuple[tuple[SACParams, SACOptState], SACLossInfo]:
    """One gradient step on a minibatch drawn from ``buffer``: :func:`sac_batch_step` on it.

    The minibatch's reward is the environment's or ``reward_fn``'s on the stored
    ``(obs, action, next_obs, terminated)``.
    """
    sample_key, target_key, actor_key = jax.random.split(key, 3)
    batch: Transition = replay_sample(buffer, sample_key, config.batch_size)
    reward = learner_rewards(
        reward_fn, reward_params, batch.obs, batch.action, batch.next_obs, batch.terminated, batch.env_reward
    )
    return sac_batch_step(config, spec, learner, obs_stats, batch, reward, target_key, actor_key)


def sac_batch_step(
    config: SACConfig,
    spec: EnvSpec,
    learner: tuple[SACParams, SACOptState],
    obs_stats: ObsStats,
    batch: Transition,
    reward: Array,
    target_key: Array,
    actor_key: Array,
) -> tuple[tuple[SACParams, SACOptState], SACLossInfo]:
    """One gradient step of the critics, the actor and the temperature on a given minibatch, then the Polyak
    update of the targets.

    ``batch`` holds ``[B]`` transitions (its ``reward`` fields are ignored) and ``reward [B]`` the rewards the
    critics are trained on, so that an algorithm can bring its own batches and rewards (SQIL's balanced ones).
    ``target_key`` draws the successors' actions of the targets, ``actor_key`` the actor step's actions. The
    actor is trained against the just-updated critics, and the temperature on the actor step's log-probabilities.
    """
    obs = networks.normalize(config, obs_stats, batch.obs)
    next_obs = networks.normalize(config, obs_stats, batch.next_obs)
    (params, opt_state), opts = learner, optimizers(config)
    alpha = jnp.exp(params.log_alpha)

    # critics
    targets = critic_targets(config, spec, params, reward, batch.terminated, next_obs, target_key)

    def critic_loss(critic_params: Any) -> tuple[Array, Array]:
        q = networks.q_values(config, spec, critic_params, obs, batch.action)
        if spec.discrete:
            q = jnp.take_along_axis(q, batch.action[:, None, None], axis=2)[..., 0]
        return jnp.mean(jax.vmap(sac_critic_loss)(q, targets)), jnp.mean(q)

    (c_loss, q_mean), grads = jax.value_and_grad(critic_loss, has_aux=True)(params.critic)
    updates, critic_opt = opts.critic.update(grads, opt_state.critic, params.critic)
    critic = optax.apply_updates(params.critic, updates)

    # actor, against the updated critics
    def actor_loss(actor_params: Any) -> tuple[Array, Array]:
        action, action_log_prob = networks.sample_policy(config, spec, actor_params, actor_key, obs)
        q = networks.q_values(config, spec, critic, obs, action)
        return jnp.mean(jax.vmap(sac_actor_loss, in_axes=(0, 0, None))(q, action_log_prob, alpha)), action_log_prob

    (a_loss, log_probs), grads = jax.value_and_grad(actor_loss, has_aux=True)(params.actor)
    updates, actor_opt = opts.actor.update(grads, opt_state.actor, params.actor)
    actor = optax.apply_updates(params.actor, updates)

    # temperature
    entropy_target = target_entropy(config, spec)
    temperature_loss = lambda log_alpha: jnp.mean(
        jax.vmap(sac_temperature_loss, in_axes=(None, 0, None))(log_alpha, log_probs, entropy_target)
    )
    t_loss, grad = jax.value_and_grad(temperature_loss)(params.log_alpha)
    log_alpha, alpha_opt = params.log_alpha, opt_state.alpha
    if config.autotune:
        update, alpha_opt = opts.alpha.update(grad, alpha_opt, log_alpha)
        log_alpha = optax.apply_updates(log_alpha, update)

    target_critic = optax.incremental_update(critic, params.target_critic, config.tau)
    entropy = -log_probs if log_probs.ndim == 1 else -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)
    info = SACLossInfo(jnp.mean(reward), c_loss, a_loss, t_loss, alpha, jnp.mean(entropy), q_mean)
    return (SACParams(actor, critic, target_critic, log_alpha), SACOptState(actor_opt, critic_opt, alpha_opt)), info


def learning_steps(
    config: SACConfig,
    agent: SACAgent,
    key: Array,
    step: Callable[[tuple[SACParams, SACOptState], Array], tuple[tuple[SACParams, SACOptState], SACLossInfo]],
) -> tuple[SACAgent, SACLossInfo]:
    """``config.gradient_steps`` steps ``step(learner, key)`` of the agent's (params, optimiser states), once
    ``learning_starts`` environment steps have been taken (none before); the steps' mean record.

    ``step`` is :func:`gradient_step` on the agent's buffer for SAC itself, or another algorithm's step on its own
    minibatches (SQIL's balanced ones). Step ``i`` takes ``split(key, gradient_steps)[i]``.
    """
    if config.gradient_steps == 0:
        return agent, no_learning()

    # only the parameters and optimiser states pass through the condition: under ``vmap`` a ``lax.cond``
    # becomes a select of both branches' outputs, which must not copy the replay buffer
    def steps(learner: tuple[SACParams, SACOptState]) -> tuple[tuple[SACParams, SACOptState], SACLossInfo]:
        learner, infos = jax.lax.scan(step, learner, jax.random.split(key, config.gradient_steps))
        return learner, jax.tree.map(lambda x: jnp.mean(x, axis=0), infos)

    skip = lambda learner: (learner, no_learning())
    started = agent.env_steps >= config.learning_starts
    (params, opt_state), info = jax.lax.cond(started, steps, skip, (agent.params, agent.opt_state))
    grad_steps = agent.grad_steps + jnp.where(started, config.gradient_steps, 0)
    return agent._replace(params=params, opt_state=opt_state, grad_steps=grad_steps), info


def make_sac(config: SACConfig, spec: EnvSpec) -> Learner:
    """SAC with ``config`` bound for the task ``spec``.

    Raises:
        IrlaxError: an inconsistent config.
    """
    check_config(config)
    actor, critic_net = networks.actor_network(config, spec), networks.critic_network(config, spec)
    opts = optimizers(config)
    act = partial(networks.act, config, spec)

    def init(key: Array) -> tuple[SACAgent, Array, Array]:
        actor_key, critic_key, env_key, random_key, key = jax.random.split(key, 5)
        obs = jnp.zeros((spec.obs_size,), jnp.float32)
        action = jnp.int32(0) if spec.discrete else jnp.zeros((spec.action_size,), jnp.float32)
        critic_input = obs if spec.discrete else jnp.concatenate([obs, action])
        critic = jax.vmap(critic_net.init, in_axes=(0, None))(jax.random.split(critic_key, 2), critic_input)
        params = SACParams(actor.init(actor_key, obs), critic, critic, jnp.log(jnp.float32(config.initial_alpha)))
        opt_state = SACOptState(
            opts.actor.init(params.actor), opts.critic.init(params.critic), opts.alpha.init(params.log_alpha)
        )
        false = jnp.bool_(False)
        example = Transition(obs, action, jnp.float32(0), jnp.float32(0), obs, false, false, jnp.float32(0))
        agent = SACAgent(
            params, opt_state, init_obs_stats(spec.obs_size), init_replay(example, config.buffer_size),
            jnp.int32(0), jnp.int32(0), random_actions(spec, random_key, config.num_envs)[0],
        )
        return agent, env_key, key

    def explore(agent: SACAgent, keys: Array, obs: Array) -> tuple[SACAgent, Array, Array]:
        act_key, random_key, hold_key = keys
        num = obs.shape[0]
        policy_action, policy_log_prob = jax.vmap(act, in_axes=(None, 0, 0))(
            policy_params(agent), jax.random.split(act_key, num), obs
        )
        uniform_action, uniform_log_prob = random_actions(spec, random_key, num)
        if config.random_hold > 1.0:
            redraw = jax.random.uniform(hold_key, (num,)) * config.random_hold < 1.0
            redraw = redraw.reshape((-1,) + (1,) * (uniform_action.ndim - 1))
            uniform_action = jnp.where(redraw, uniform_action, agent.random_action)
        random_phase = agent.env_steps < config.learning_starts
        action = jnp.where(random_phase, uniform_action, policy_action)
        log_prob = jnp.where(random_phase, uniform_log_prob, policy_log_prob)
        obs_stats = update_obs_stats(agent.obs_stats, obs) if config.normalize_obs else agent.obs_stats
        agent = agent._replace(obs_stats=obs_stats, env_steps=agent.env_steps + num, random_action=uniform_action)
        return agent, action, log_prob

    def learn(
        agent: SACAgent, transitions: Transition, key: Array, reward_fn: RewardFn | None = None,
        reward_params: Any = None,
    ) -> tuple[SACAgent, SACLossInfo]:
        buffer = replay_add(agent.buffer, jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), transitions))
        agent = agent._replace(buffer=buffer)
        step = lambda learner, step_key: gradient_step(
            config, spec, reward_fn, reward_params, agent.buffer, agent.obs_stats, learner, step_key
        )
        return learning_steps(config, agent, key, step)

    return Learner(
        name="sac", config=config, spec=spec, num_envs=config.num_envs, rollout_steps=config.train_freq,
        explore_keys=3, init=init, explore=explore, learn=learn, act=act,
        log_prob=partial(networks.log_prob, config, spec), policy_params=policy_params,
        description="soft actor-critic, the max-ent learner (Haarnoja et al. 2018)",
    )
