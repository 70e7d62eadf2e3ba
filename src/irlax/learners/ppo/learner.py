"""Proximal policy optimisation (Schulman et al. 2017) as a :class:`~irlax.learners.base.Learner`.

An on-policy learner for discrete and continuous actions. One *iteration* runs
``num_envs`` environments for ``num_steps`` steps with the current policy
(``explore``), then ``learn`` estimates advantages with GAE and takes
``num_epochs`` passes of Adam steps over shuffled minibatches of the clipped
surrogate objective (:func:`irlax.learners.ppo.losses.ppo_loss`). Observations are
normalised with running statistics, held fixed within an iteration so that the
stored and the re-evaluated log-probabilities agree.

Usage::

    learner = make_ppo(PPOConfig(), env.spec)
    state, metrics = irlax.learners.base.train_jit(learner, env, key, 100_000)
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.data.transitions import RewardFn, Transition
from irlax.envs.spec import EnvSpec
from irlax.learners.base import Learner
from irlax.learners.ppo import networks
from irlax.learners.ppo.config import PPOConfig, check_config, num_minibatches, steps_per_iteration
from irlax.learners.ppo.losses import PPOBatch, gae_advantages, ppo_loss, rms_scaled_rewards
from irlax.learners.ppo.networks import PolicyParams, PPOParams
from irlax.learners.rollout import learner_rewards
from irlax.nn.networks import ObsStats, init_obs_stats, update_obs_stats


class PPOAgent(NamedTuple):
    """PPO's own state.

    Attributes:
        params: :class:`~irlax.learners.ppo.networks.PPOParams`.
        opt_state: Adam's state (with the gradient clipping's).
        obs_stats: running observation statistics.
        env_steps: ``int32 []`` environment steps taken so far (all environments).
    """

    params: PPOParams
    opt_state: optax.OptState
    obs_stats: ObsStats
    env_steps: Array


class PPOLosses(NamedTuple):
    """One iteration's learning record; losses are minibatch means.

    Attributes:
        mean_reward: mean of the reward the learner optimised (the learned one when a ``reward_fn`` is given),
            before ``scale_rewards``.
        loss: total loss.
        policy_loss: clipped surrogate loss.
        value_loss: value loss (before ``vf_coef``).
        entropy: mean policy entropy.
        approx_kl: mean of ``(rho - 1) - log rho``, an estimate of KL(old || new).
        clip_fraction: fraction of transitions whose ratio was clipped.
    """

    mean_reward: Array
    loss: Array
    policy_loss: Array
    value_loss: Array
    entropy: Array
    approx_kl: Array
    clip_fraction: Array


def optimizer(config: PPOConfig) -> optax.GradientTransformation:
    """Adam (epsilon 1e-5) after global-norm clipping, with the optional linear annealing."""
    learning_rate: float | optax.Schedule = config.learning_rate
    if config.lr_anneal_steps is not None:
        iterations = math.ceil(config.lr_anneal_steps / steps_per_iteration(config))
        learning_rate = optax.linear_schedule(
            config.learning_rate, 0.0, iterations * config.num_epochs * num_minibatches(config)
        )
    # flattened: one fused update of all parameters instead of one per array (fewer small kernels on a CPU)
    return optax.flatten(
        optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(learning_rate, eps=1e-5))
    )


def policy_params(agent: PPOAgent) -> PolicyParams:
    """The part of the agent that acting needs (save it to keep an expert)."""
    return PolicyParams(agent.params.actor, agent.params.log_std, agent.obs_stats)


def make_ppo(config: PPOConfig, spec: EnvSpec) -> Learner:
    """PPO with ``config`` bound for the task ``spec``.

    Raises:
        IrlaxError: an inconsistent config.
    """
    check_config(config)
    actor, critic = networks.actor_network(config, spec), networks.critic_network(config)
    opt = optimizer(config)

    def init(key: Array) -> tuple[PPOAgent, Array, Array]:
        actor_key, critic_key, env_key, key = jax.random.split(key, 4)
        dummy = jnp.zeros((spec.obs_size,), jnp.float32)
        log_std = jnp.full((0 if spec.discrete else spec.action_size,), config.log_std_init, jnp.float32)
        params = PPOParams(actor.init(actor_key, dummy), critic.init(critic_key, dummy), log_std)
        return PPOAgent(params, opt.init(params), init_obs_stats(spec.obs_size), jnp.int32(0)), env_key, key

    def explore(agent: PPOAgent, keys: Array, obs: Array) -> tuple[PPOAgent, Array, Array]:
        head = actor.apply(agent.params.actor, networks.normalize(config, agent.obs_stats, obs))
        action, log_prob = networks.sample_batch(spec, keys[0], head, agent.params.log_std)
        return agent._replace(env_steps=agent.env_steps + obs.shape[0]), action, log_prob

    def learn(
        agent: PPOAgent, transitions: Transition, key: Array, reward_fn: RewardFn | None = None,
        reward_params: Any = None,
    ) -> tuple[PPOAgent, PPOLosses]:
        flat = lambda x: x.reshape((-1, *x.shape[2:]))
        rewards = learner_rewards(
            reward_fn, reward_params, flat(transitions.obs), flat(transitions.action),
            flat(transitions.next_obs), flat(transitions.terminated), flat(transitions.env_reward),
        ).reshape(transitions.env_reward.shape)
        scaled = rms_scaled_rewards(rewards, transitions.terminated) if config.scale_rewards else rewards
        obs = networks.normalize(config, agent.obs_stats, transitions.obs)
        next_obs = networks.normalize(config, agent.obs_stats, transitions.next_obs)
        values = critic.apply(agent.params.critic, obs)[..., 0]
        next_values = critic.apply(agent.params.critic, next_obs)[..., 0]
        gae = partial(gae_advantages, gamma=config.gamma, gae_lambda=config.gae_lambda)
        advantages, returns = jax.vmap(gae, in_axes=1, out_axes=1)(
            scaled, values, next_values, transitions.terminated, transitions.truncated
        )
        batch = PPOBatch(
            flat(obs), flat(transitions.action), flat(transitions.log_prob), flat(values), flat(advantages),
            flat(returns),
        )
        grad_fn = jax.value_and_grad(ppo_loss, has_aux=True)
        minibatches, size = num_minibatches(config), config.minibatch_size

        def minibatch_step(carry: tuple[PPOParams, optax.OptState], minibatch: PPOBatch) -> tuple[tuple, tuple]:
            params, opt_state = carry
            (loss, info), grads = grad_fn(params, config, spec, minibatch)
            updates, opt_state = opt.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), (loss, info)

        def epoch(carry: tuple[PPOParams, optax.OptState], epoch_key: Array) -> tuple[tuple, tuple]:
            # a uniformly random order (one sort of random keys; cheaper than jax.random.permutation's rounds)
            order = jnp.argsort(jax.random.uniform(epoch_key, (steps_per_iteration(config),)))
            shuffled = jax.tree.map(lambda x: x[order].reshape((minibatches, size, *x.shape[1:])), batch)
            return jax.lax.scan(minibatch_step, carry, shuffled)

        (params, opt_state), (losses, infos) = jax.lax.scan(
            epoch, (agent.params, agent.opt_state), jax.random.split(key, config.num_epochs)
        )
        obs_stats = update_obs_stats(agent.obs_stats, transitions.obs) if config.normalize_obs else agent.obs_stats
        record = PPOLosses(jnp.mean(rewards), jnp.mean(losses), *(jnp.mean(x) for x in infos))
        return PPOAgent(params, opt_state, obs_stats, agent.env_steps), record

    return Learner(
        name="ppo", config=config, spec=spec, num_envs=config.num_envs, rollout_steps=config.num_steps,
        explore_keys=1, init=init, explore=explore, learn=learn,
        act=partial(networks.act, config, spec), log_prob=partial(networks.log_prob, config, spec),
        policy_params=policy_params, description="proximal policy optimisation (Schulman et al. 2017)",
    )
