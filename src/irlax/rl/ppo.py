"""Proximal policy optimisation (Schulman et al. 2017) with generalised advantage estimation (Schulman et al. 2016).

An on-policy learner for discrete and continuous actions, on the sample-based
learner interface shared with :mod:`irlax.rl.sac` (:func:`init`, :func:`update`,
:func:`train`, :func:`act`, :func:`log_prob`, :func:`policy_params`).

One *iteration* runs ``num_envs`` environments for ``num_steps`` steps with the
current policy, estimates advantages with GAE, then takes ``num_epochs`` passes
of Adam steps over shuffled minibatches of the clipped surrogate objective

    L = -E[min(rho A, clip(rho, 1 - eps, 1 + eps) A)] + c_v E[(V - R)^2] - c_H E[H(pi)],

``rho = pi(a|s) / pi_old(a|s)``. The actor and the critic are separate MLPs
(stable-baselines3's default, 64 x 64 tanh); continuous actions use a Gaussian
with a state-independent log standard deviation (the environment clips the
action). Observations are normalised with running statistics (as SB3's
``VecNormalize``), held fixed within an iteration so that the stored and the
re-evaluated log-probabilities agree.

Episode ends: a *terminated* step does not bootstrap; a *truncated* one
bootstraps from the value of its true successor ``next_obs`` (Pardo et al. 2018),
which :func:`gae_advantages` takes explicitly for every step.

The whole of :func:`update` is one ``lax.scan``, jittable with ``config``,
``env``, ``num_iterations`` and ``reward_fn`` static, and vmappable over states
(seeds). A ``reward_fn`` replaces the environment's reward (the hook for IRL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rl import distributions as dist
from irlax.rl.networks import MLP, ObsStats, init_obs_stats, normalize_obs, update_obs_stats
from irlax.rl.rollout import EnvCarry, EpisodeStats, RewardFn, Transition, init_envs, step_envs


@dataclass(frozen=True)
class PPOConfig:
    """Configuration of PPO. Defaults follow stable-baselines3's ``PPO`` (SB3 2.x) except where noted."""

    num_envs: int = 16
    """Parallel environments (SB3 defaults to 1; 16 is the benchmark setting)."""
    num_steps: int = 128
    """Steps of each environment per iteration (SB3's ``n_steps``; its default is 2048)."""
    num_epochs: int = 4
    """Passes over each iteration's batch (SB3's ``n_epochs``; its default is 10)."""
    minibatch_size: int = 64
    """Transitions per Adam step (SB3's ``batch_size``); must divide ``num_envs * num_steps``."""
    learning_rate: float = 3e-4
    """Adam step size (Adam's epsilon is 1e-5, as SB3's and the original implementation's)."""
    lr_anneal_steps: int | None = None
    """Anneal the step size linearly to zero over this many environment steps; ``None``: constant."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda (Schulman et al. 2016)."""
    clip_eps: float = 0.2
    """Clipping range epsilon of the probability ratio."""
    clip_value: float | None = None
    """Clip the value update to this range around the old value (PPO2's pessimistic form); ``None``: no clipping."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss ``E[(V - R)^2]``."""
    max_grad_norm: float = 0.5
    """Clip the gradient's global norm to this."""
    normalize_advantages: bool = True
    """Standardise advantages within each minibatch."""
    normalize_obs: bool = True
    """Normalise observations with running mean and variance (SB3's ``VecNormalize``, off in plain SB3)."""
    obs_clip: float = 10.0
    """Clip normalised observations to ``[-obs_clip, obs_clip]``."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the actor and of the critic (separate networks)."""
    activation: str = "tanh"
    """Hidden activation, a key of :data:`irlax.rl.networks.ACTIVATIONS`."""
    log_std_init: float = 0.0
    """Initial log standard deviation of continuous actions (state-independent, learned)."""


PRESETS: dict[str, PPOConfig] = {
    # SB3's settings with 16 x 128 steps: each of 8 seeds passed a mean return of 475 within 29k-61k steps
    # and stays at 500 to 500k steps (benchmarks/ppo_speed.py measures it).
    "CartPole-v1": PPOConfig(),
    # rl-baselines3-zoo's Acrobot setting (16 envs x 256 steps, gae 0.94, 4 epochs, normalised observations),
    # with minibatches of 256.
    "Acrobot-v1": PPOConfig(num_envs=16, num_steps=256, num_epochs=4, minibatch_size=256, gae_lambda=0.94),
}
"""Tuned configurations by environment name (see :func:`ppo_preset`)."""


def ppo_preset(env_name: str) -> PPOConfig:
    """The tuned :class:`PPOConfig` for ``env_name`` (one of :data:`PRESETS`), else the defaults."""
    return PRESETS.get(env_name, PPOConfig())


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


class PPOState(NamedTuple):
    """The whole learner state.

    Attributes:
        params: :class:`PPOParams`.
        opt_state: Adam's state (with the gradient clipping's).
        obs_stats: running observation statistics.
        envs: the ``num_envs`` environments mid-episode.
        key: the PRNG key of the next iteration.
        env_steps: ``int32 []`` environment steps taken so far (all environments).
    """

    params: PPOParams
    opt_state: optax.OptState
    obs_stats: ObsStats
    envs: EnvCarry
    key: Array
    env_steps: Array


class PPOMetrics(NamedTuple):
    """One iteration's metrics (stacked ``[num_iterations]`` by :func:`update`); losses are minibatch means.

    Attributes:
        env_steps: environment steps taken by the end of the iteration.
        mean_return: mean true return of the episodes that ended during the iteration (NaN if none).
        episodes: how many episodes ended during the iteration.
        mean_reward: mean of the reward the learner optimised (the learned one when a ``reward_fn`` is given).
        loss: total loss.
        policy_loss: clipped surrogate loss.
        value_loss: value loss (before ``vf_coef``).
        entropy: mean policy entropy.
        approx_kl: mean of ``(rho - 1) - log rho``, an estimate of KL(old || new).
        clip_fraction: fraction of transitions whose ratio was clipped.
    """

    env_steps: Array
    mean_return: Array
    episodes: Array
    mean_reward: Array
    loss: Array
    policy_loss: Array
    value_loss: Array
    entropy: Array
    approx_kl: Array
    clip_fraction: Array


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


# ---------------------------------------------------------------------------------------------------------------
# Estimators and losses: pure functions on unbatched (time or minibatch) data


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


def _actor(config: PPOConfig, env: ControlEnv) -> MLP:
    return MLP(config.hidden, env.action_size, config.activation, out_scale=0.01)


def _critic(config: PPOConfig) -> MLP:
    return MLP(config.hidden, 1, config.activation, out_scale=1.0)


def _log_prob_entropy(env: ControlEnv, head: Array, log_std: Array, action: Array) -> tuple[Array, Array]:
    """Log-probabilities ``[B]`` of ``action`` and entropies ``[B]`` from the actor's outputs ``head [B, .]``."""
    if env.discrete:
        # dist.categorical_log_prob and _entropy, with the index taken by a one-hot product: its gradient is
        # elementwise rather than a scatter, which XLA runs much faster when vmapped over seeds on a CPU
        log_p = jax.nn.log_softmax(head)
        chosen = jnp.sum(log_p * jax.nn.one_hot(action, head.shape[-1], dtype=log_p.dtype), axis=-1)
        return chosen, -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)
    log_probs = jax.vmap(dist.gaussian_log_prob, in_axes=(0, None, 0))(head, log_std, action)
    return log_probs, jnp.broadcast_to(dist.gaussian_entropy(log_std), log_probs.shape)


def ppo_loss(params: PPOParams, config: PPOConfig, env: ControlEnv, batch: PPOBatch) -> tuple[Array, PPOLossInfo]:
    """PPO's total loss on one minibatch: ``surrogate + vf_coef * value_loss - ent_coef * entropy``.

    Advantages are standardised within the minibatch when ``config.normalize_advantages``.

    Returns:
        ``(loss [], PPOLossInfo)``.
    """
    head = _actor(config, env).apply(params.actor, batch.obs)
    log_prob, entropy = _log_prob_entropy(env, head, params.log_std, batch.action)
    values = _critic(config).apply(params.critic, batch.obs)[:, 0]
    advantages = normalized_advantages(batch.advantage) if config.normalize_advantages else batch.advantage
    policy_loss, clip_fraction = clipped_surrogate_loss(log_prob, batch.log_prob, advantages, config.clip_eps)
    v_loss = value_loss(values, batch.value, batch.returns, config.clip_value)
    entropy = jnp.mean(entropy)
    log_ratio = log_prob - batch.log_prob
    approx_kl = jnp.mean(jnp.exp(log_ratio) - 1.0 - log_ratio)
    loss = policy_loss + config.vf_coef * v_loss - config.ent_coef * entropy
    return loss, PPOLossInfo(policy_loss, v_loss, entropy, approx_kl, clip_fraction)


# ---------------------------------------------------------------------------------------------------------------
# The learner


def steps_per_iteration(config: PPOConfig) -> int:
    """Environment steps of one iteration: ``num_envs * num_steps``."""
    return config.num_envs * config.num_steps


def num_minibatches(config: PPOConfig) -> int:
    """Adam steps per epoch: ``num_envs * num_steps / minibatch_size``."""
    return steps_per_iteration(config) // config.minibatch_size


def check_config(config: PPOConfig) -> None:
    """Raise :class:`IrlaxError` if ``config`` is inconsistent."""
    batch = steps_per_iteration(config)
    if min(config.num_envs, config.num_steps, config.num_epochs, config.minibatch_size) < 1:
        raise IrlaxError("PPO: num_envs, num_steps, num_epochs and minibatch_size must be at least 1")
    if batch % config.minibatch_size:
        raise IrlaxError(f"PPO: minibatch_size {config.minibatch_size} does not divide num_envs * num_steps = {batch}")
    if not 0.0 <= config.gamma <= 1.0 or not 0.0 <= config.gae_lambda <= 1.0:
        raise IrlaxError("PPO: gamma and gae_lambda must lie in [0, 1]")


def _optimizer(config: PPOConfig) -> optax.GradientTransformation:
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


def init(config: PPOConfig, env: ControlEnv, key: Array) -> PPOState:
    """A fresh learner: networks (orthogonal initialisation as SB3), Adam, statistics and ``num_envs`` episodes."""
    check_config(config)
    actor_key, critic_key, env_key, key = jax.random.split(key, 4)
    dummy = jnp.zeros((env.obs_size,), jnp.float32)
    log_std = jnp.full((0 if env.discrete else env.action_size,), config.log_std_init, jnp.float32)
    params = PPOParams(_actor(config, env).init(actor_key, dummy), _critic(config).init(critic_key, dummy), log_std)
    return PPOState(
        params,
        _optimizer(config).init(params),
        init_obs_stats(env.obs_size),
        init_envs(env, env_key, config.num_envs),
        key,
        jnp.int32(0),
    )


def policy_params(state: PPOState) -> PolicyParams:
    """The part of ``state`` that acting needs (save it to keep an expert)."""
    return PolicyParams(state.params.actor, state.params.log_std, state.obs_stats)


def _as_policy(state_or_policy: PPOState | PolicyParams) -> PolicyParams:
    return policy_params(state_or_policy) if isinstance(state_or_policy, PPOState) else state_or_policy


def _normalize(config: PPOConfig, stats: ObsStats, obs: Array) -> Array:
    return normalize_obs(stats, obs, config.obs_clip) if config.normalize_obs else obs


def act(
    config: PPOConfig,
    env: ControlEnv,
    state_or_policy_params: PPOState | PolicyParams,
    key: Array,
    obs: Array,
    deterministic: bool = False,
) -> tuple[Array, Array]:
    """An action for one observation ``obs [O]`` and its log-probability under the stochastic policy.

    ``deterministic`` takes the most likely action (the mean for continuous actions). Continuous
    actions are unclipped draws of the Gaussian (the environment clips them).
    """
    policy = _as_policy(state_or_policy_params)
    head = _actor(config, env).apply(policy.actor, _normalize(config, policy.obs_stats, obs))
    if env.discrete:
        action = jnp.argmax(head).astype(jnp.int32) if deterministic else dist.categorical_sample(key, head)
        return action, dist.categorical_log_prob(head, action)
    action = head if deterministic else dist.gaussian_sample(key, head, policy.log_std)
    return action, dist.gaussian_log_prob(head, policy.log_std, action)


def log_prob(
    config: PPOConfig, env: ControlEnv, state_or_policy_params: PPOState | PolicyParams, obs: Array, action: Array
) -> Array:
    """``log pi(action | obs)`` of the current policy for one observation ``obs [O]`` (a scalar)."""
    policy = _as_policy(state_or_policy_params)
    head = _actor(config, env).apply(policy.actor, _normalize(config, policy.obs_stats, obs))
    if env.discrete:
        return dist.categorical_log_prob(head, action)
    return dist.gaussian_log_prob(head, policy.log_std, action)


def _sample_batch(env: ControlEnv, key: Array, head: Array, log_std: Array) -> tuple[Array, Array]:
    """Actions and log-probabilities for the actor's outputs ``head [E, .]`` of ``E`` environments."""
    if env.discrete:
        action = jax.random.categorical(key, head).astype(jnp.int32)
        return action, jax.vmap(dist.categorical_log_prob)(head, action)
    action = head + jnp.exp(log_std) * jax.random.normal(key, head.shape)
    return action, jax.vmap(dist.gaussian_log_prob, in_axes=(0, None, 0))(head, log_std, action)


def _rollout(
    config: PPOConfig,
    env: ControlEnv,
    state: PPOState,
    key: Array,
    reward_fn: RewardFn | None,
    reward_params: Any,
) -> tuple[EnvCarry, Transition, EpisodeStats]:
    """``num_steps`` steps of every environment: transitions ``[T, E, ...]`` (raw observations)."""
    actor = _actor(config, env)

    def one_step(loop: tuple[EnvCarry, EpisodeStats], step_key: Array) -> tuple[tuple, Transition]:
        envs, episodes = loop
        act_key, env_key = jax.random.split(step_key)
        head = actor.apply(state.params.actor, _normalize(config, state.obs_stats, envs.obs))
        action, action_log_prob = _sample_batch(env, act_key, head, state.params.log_std)
        envs, transition, ended = step_envs(env, envs, env_key, action, action_log_prob, reward_fn, reward_params)
        return (envs, episodes.add(ended)), transition

    (envs, episodes), transitions = jax.lax.scan(
        one_step, (state.envs, EpisodeStats.zero()), jax.random.split(key, config.num_steps)
    )
    return envs, transitions, episodes


def _iteration(
    config: PPOConfig,
    env: ControlEnv,
    reward_fn: RewardFn | None,
    reward_params: Any,
    state: PPOState,
) -> tuple[PPOState, PPOMetrics]:
    """One PPO iteration: rollout, GAE, ``num_epochs`` epochs of minibatch Adam steps, statistics update."""
    rollout_key, shuffle_key, key = jax.random.split(state.key, 3)
    envs, transitions, episodes = _rollout(config, env, state, rollout_key, reward_fn, reward_params)

    critic = _critic(config)
    obs = _normalize(config, state.obs_stats, transitions.obs)
    next_obs = _normalize(config, state.obs_stats, transitions.next_obs)
    values = critic.apply(state.params.critic, obs)[..., 0]
    next_values = critic.apply(state.params.critic, next_obs)[..., 0]
    gae = partial(gae_advantages, gamma=config.gamma, gae_lambda=config.gae_lambda)
    advantages, returns = jax.vmap(gae, in_axes=1, out_axes=1)(
        transitions.reward, values, next_values, transitions.terminated, transitions.truncated
    )
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    batch = PPOBatch(
        flat(obs),
        flat(transitions.action),
        flat(transitions.log_prob),
        flat(values),
        flat(advantages),
        flat(returns),
    )

    optimizer = _optimizer(config)
    grad_fn = jax.value_and_grad(ppo_loss, has_aux=True)
    minibatches, size = num_minibatches(config), config.minibatch_size

    def minibatch_step(carry: tuple[PPOParams, optax.OptState], minibatch: PPOBatch) -> tuple[tuple, tuple]:
        params, opt_state = carry
        (loss, info), grads = grad_fn(params, config, env, minibatch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), (loss, info)

    def epoch(carry: tuple[PPOParams, optax.OptState], epoch_key: Array) -> tuple[tuple, tuple]:
        # a uniformly random order (one sort of random keys; cheaper than jax.random.permutation's rounds)
        order = jnp.argsort(jax.random.uniform(epoch_key, (steps_per_iteration(config),)))
        shuffled = jax.tree.map(lambda x: x[order].reshape((minibatches, size, *x.shape[1:])), batch)
        return jax.lax.scan(minibatch_step, carry, shuffled)

    (params, opt_state), (losses, infos) = jax.lax.scan(
        epoch, (state.params, state.opt_state), jax.random.split(shuffle_key, config.num_epochs)
    )
    obs_stats = update_obs_stats(state.obs_stats, transitions.obs) if config.normalize_obs else state.obs_stats
    env_steps = state.env_steps + steps_per_iteration(config)
    metrics = PPOMetrics(
        env_steps,
        episodes.mean_return(),
        episodes.count,
        jnp.mean(transitions.reward),
        jnp.mean(losses),
        *(jnp.mean(x) for x in infos),
    )
    return PPOState(params, opt_state, obs_stats, envs, key, env_steps), metrics


def update(
    config: PPOConfig,
    env: ControlEnv,
    state: PPOState,
    num_iterations: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[PPOState, PPOMetrics]:
    """Advance the learner by ``num_iterations`` iterations (``steps_per_iteration(config)`` env steps each).

    One ``lax.scan``; pure. Jit it with ``config``, ``env``, ``num_iterations`` and ``reward_fn`` static
    (:data:`update_jit`); vmap it over states for several seeds. When ``reward_fn`` is given,
    ``reward_fn(reward_params, obs, action, next_obs, terminated)`` replaces the environment's reward in the
    learning (the reported ``mean_return`` stays the true one).

    Returns:
        the new state and :class:`PPOMetrics` stacked ``[num_iterations]``.
    """
    body = lambda s, _: _iteration(config, env, reward_fn, reward_params, s)
    return jax.lax.scan(body, state, None, length=num_iterations)


def num_iterations_for(config: PPOConfig, total_steps: int) -> int:
    """Iterations needed for at least ``total_steps`` environment steps."""
    return math.ceil(total_steps / steps_per_iteration(config))


def train(
    config: PPOConfig,
    env: ControlEnv,
    key: Array,
    total_steps: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[PPOState, PPOMetrics]:
    """:func:`init` then :func:`update` for ``ceil(total_steps / steps_per_iteration)`` iterations.

    Jit it with ``config``, ``env``, ``total_steps`` and ``reward_fn`` static (:data:`train_jit`); vmap it
    over keys for several seeds.
    """
    state = init(config, env, key)
    return update(config, env, state, num_iterations_for(config, total_steps), reward_fn, reward_params)


init_jit = jax.jit(init, static_argnames=("config", "env"))
""":func:`init` compiled (``config`` and ``env`` static); much faster than running it op by op."""

update_jit = jax.jit(update, static_argnames=("config", "env", "num_iterations", "reward_fn"))
""":func:`update` compiled (``config``, ``env``, ``num_iterations`` and ``reward_fn`` static)."""

train_jit = jax.jit(train, static_argnames=("config", "env", "total_steps", "reward_fn"))
""":func:`train` compiled (``config``, ``env``, ``total_steps`` and ``reward_fn`` static)."""
