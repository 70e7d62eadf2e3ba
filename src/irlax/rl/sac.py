"""Soft actor-critic (Haarnoja et al. 2018) with automatic temperature, for continuous and discrete actions.

The maximum-entropy learner of the objective

    J(pi) = sum_t E[r(s_t, a_t) + alpha H(pi(.|s_t))],

on the sample-based learner interface shared with :mod:`irlax.rl.ppo` (:func:`init`,
:func:`update`, :func:`train`, :func:`act`, :func:`log_prob`, :func:`policy_params`).

As in "Soft Actor-Critic Algorithms and Applications" (Haarnoja et al. 2018b):
twin critics ``Q_1, Q_2`` regressed on the soft Bellman target

    y = r + gamma (1 - terminated) (min_i Qbar_i(s', a') - alpha log pi(a'|s')),  a' ~ pi(.|s'),

with target networks ``Qbar`` tracking the critics by Polyak averaging (``tau``); an
actor minimising ``E[alpha log pi(a|s) - min_i Q_i(s, a)]`` through the
reparameterised tanh-Gaussian scaled to the action bounds; and the temperature
``alpha`` adjusted so that the policy's entropy tracks a target (``-dim(A)``).

Discrete actions follow Christodoulou (2019): the critics output ``Q(s, .)`` for all
actions, and the expectations over the policy in the target, the actor loss and
the temperature loss are taken exactly over the categorical distribution; the
target entropy is a fraction of the maximum entropy ``log |A|``.

One *iteration* takes ``train_freq`` steps of each of the ``num_envs`` environments
(actions drawn uniformly at random until ``learning_starts`` environment steps have
been taken), stores them in a circular replay buffer (:mod:`irlax.rl.replay`), then
takes ``gradient_steps`` gradient steps on minibatches drawn from the buffer (once
``learning_starts`` is reached). The update-to-data ratio is
``gradient_steps / (num_envs * train_freq)``.

Episode ends: a *terminated* transition does not bootstrap; a *truncated* one
bootstraps from its true successor ``next_obs``, which the buffer stores.

Learned rewards (IRL): the buffer stores the environment's reward and ``next_obs``;
when a ``reward_fn`` is given, the reward of every sampled minibatch is recomputed
as ``reward_fn(reward_params, obs, action, next_obs, terminated)``, so that old transitions are
relabelled with the current reward whenever the IRL algorithm changes it.

The whole of :func:`update` is one ``lax.scan``, jittable with ``config``, ``env``,
``num_iterations`` and ``reward_fn`` static, and vmappable over states (seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rl import distributions as dist
from irlax.rl.networks import MLP, ObsStats, init_obs_stats, normalize_obs, update_obs_stats
from irlax.rl.replay import ReplayBuffer, init_replay, replay_add, replay_sample
from irlax.rl.rollout import EnvCarry, EpisodeStats, RewardFn, Transition, init_envs, learner_rewards, step_envs


@dataclass(frozen=True)
class SACConfig:
    """Configuration of SAC. Defaults follow Haarnoja et al. (2018b) and SB3's ``SAC`` except where noted."""

    num_envs: int = 1
    """Parallel environments (one learns fastest per environment step)."""
    train_freq: int = 1
    """Steps of each environment per iteration (SB3's ``train_freq``)."""
    gradient_steps: int = 1
    """Gradient steps per iteration; the update-to-data ratio is ``gradient_steps / (num_envs * train_freq)``."""
    learning_starts: int = 1000
    """Environment steps of uniformly random actions, without gradient steps, before learning starts (SB3: 100)."""
    random_hold: float = 1.0
    """Mean number of steps each random action of the initial phase is held (redrawn with probability
    ``1 / random_hold`` per step); above 1 the random phase explores with temporally correlated actions."""
    buffer_size: int = 100_000
    """Replay capacity in transitions (the paper's is 1e6; 1e5 keeps vmapped seeds small in memory)."""
    batch_size: int = 256
    """Minibatch size of each gradient step."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.005
    """Polyak step of the target critics after each gradient step: ``target <- tau * critic + (1 - tau) * target``."""
    actor_lr: float = 3e-4
    """Adam step size of the actor."""
    critic_lr: float = 3e-4
    """Adam step size of the critics."""
    alpha_lr: float = 3e-4
    """Adam step size of the log-temperature."""
    initial_alpha: float = 1.0
    """Initial temperature (the fixed one when ``autotune`` is off)."""
    autotune: bool = True
    """Adjust the temperature towards the target entropy (Haarnoja et al. 2018b, section 5)."""
    target_entropy: float | None = None
    """Entropy target; ``None``: ``-dim(A)`` for continuous actions, ``target_entropy_scale * log |A|`` for discrete."""
    target_entropy_scale: float = 0.98
    """Discrete actions: the target entropy's fraction of ``log |A|`` when ``target_entropy`` is ``None``."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden widths of the actor and of each critic."""
    activation: str = "relu"
    """Hidden activation, a key of :data:`irlax.rl.networks.ACTIVATIONS`."""
    log_std_min: float = -20.0
    """Lower clip of the actor's log standard deviation (continuous actions)."""
    log_std_max: float = 2.0
    """Upper clip of the actor's log standard deviation (continuous actions)."""
    normalize_obs: bool = False
    """Normalise observations with running mean and variance (off in the paper and SB3)."""
    obs_clip: float = 10.0
    """Clip normalised observations to ``[-obs_clip, obs_clip]``."""


_FAST = {"hidden": (64, 64), "actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3}

PRESETS: dict[str, SACConfig] = {
    # rl-baselines3-zoo's Pendulum setting (learning rate 1e-3, SB3's 100 random steps) with 64 x 64 networks,
    # which learn as fast as 256 x 256 in environment steps at a tenth of the CPU time: a mean return better
    # than -200 within 20k steps (benchmarks/sac_pendulum.py).
    "Pendulum-v1": SACConfig(learning_starts=100, **_FAST),
    # Hard exploration (+100 at the flag, an action cost on the way): uniformly random actions held ~50 steps
    # for the first 5k steps reach the flag often enough; with iid random actions SAC settles on doing nothing.
    "MountainCarContinuous-v0": SACConfig(hidden=(64, 64), learning_starts=5000, random_hold=50.0),
    # Walking round the wall: a longer random phase and the faster learning rate; within 30k steps 7 of 8
    # seeds reach the goal (the eighth stays under the wall). In the shifted maze (gap on the right) only 4 of 8
    # did so; random actions held ~20 steps in the random phase brought all 8 there.
    "PointMaze-v0": SACConfig(learning_starts=5000, **_FAST),
    "PointMazeShifted-v0": SACConfig(learning_starts=5000, random_hold=20.0, **_FAST),
    # Discrete SAC (Christodoulou 2019): the paper's target entropy 0.98 log|A| drives the temperature up
    # without bound on CartPole; half of log|A| learns steadily.
    "CartPole-v1": SACConfig(hidden=(64, 64), target_entropy_scale=0.5),
}
"""Tuned configurations by environment name (see :func:`sac_preset`)."""

PRESET_STEPS: dict[str, int] = {
    "Pendulum-v1": 20_000,
    "MountainCarContinuous-v0": 30_000,
    "PointMaze-v0": 30_000,
    "PointMazeShifted-v0": 30_000,
    "CartPole-v1": 20_000,
}
"""Environment steps with which each preset was checked to learn (see the presets' comments)."""


def sac_preset(env_name: str) -> SACConfig:
    """The tuned :class:`SACConfig` for ``env_name`` (one of :data:`PRESETS`), else the defaults."""
    return PRESETS.get(env_name, SACConfig())


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


class SACState(NamedTuple):
    """The whole learner state.

    Attributes:
        params: :class:`SACParams`.
        opt_state: :class:`SACOptState`.
        obs_stats: running observation statistics (unused unless ``normalize_obs``).
        envs: the ``num_envs`` environments mid-episode.
        buffer: the replay buffer of :class:`~irlax.rl.rollout.Transition` s (environment rewards).
        key: the PRNG key of the next iteration.
        env_steps: ``int32 []`` environment steps taken so far (all environments).
        grad_steps: ``int32 []`` gradient steps taken so far.
        random_action: ``[E, ...]`` the random action each environment holds in the initial phase.
    """

    params: SACParams
    opt_state: SACOptState
    obs_stats: ObsStats
    envs: EnvCarry
    buffer: ReplayBuffer
    key: Array
    env_steps: Array
    grad_steps: Array
    random_action: Array


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


class SACMetrics(NamedTuple):
    """One iteration's metrics (stacked ``[num_iterations]`` by :func:`update`).

    Attributes:
        env_steps: environment steps taken by the end of the iteration.
        mean_return: mean true return of the episodes that ended during the iteration (NaN if none).
        episodes: how many episodes ended during the iteration.
        losses: :class:`SACLossInfo` averaged over the iteration's gradient steps.
    """

    env_steps: Array
    mean_return: Array
    episodes: Array
    losses: SACLossInfo


# ---------------------------------------------------------------------------------------------------------------
# Targets and losses: pure functions on one transition (vmap them over a minibatch and average)


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


# ---------------------------------------------------------------------------------------------------------------
# Networks


def _actor(config: SACConfig, env: ControlEnv) -> MLP:
    out = env.action_size if env.discrete else 2 * env.action_size
    return MLP(config.hidden, out, config.activation, out_scale=0.01)


def _critic(config: SACConfig, env: ControlEnv) -> MLP:
    return MLP(config.hidden, env.action_size if env.discrete else 1, config.activation, out_scale=1.0)


def _bounds(env: ControlEnv) -> tuple[Array, Array]:
    return jnp.asarray(env.action_low, jnp.float32), jnp.asarray(env.action_high, jnp.float32)


def _normalize(config: SACConfig, stats: ObsStats, obs: Array) -> Array:
    return normalize_obs(stats, obs, config.obs_clip) if config.normalize_obs else obs


def _gaussian_head(config: SACConfig, head: Array) -> tuple[Array, Array]:
    """Means and clipped log standard deviations from the actor's output ``[..., 2D]``."""
    mean, log_std = jnp.split(head, 2, axis=-1)
    return mean, jnp.clip(log_std, config.log_std_min, config.log_std_max)


def _policy(config: SACConfig, env: ControlEnv, actor_params: Any, key: Array, obs: Array) -> tuple[Array, Array]:
    """What the losses need of the policy at normalised observations ``obs [B, O]``.

    Continuous: a reparameterised draw ``[B, D]`` and its log-density ``[B]``. Discrete: ``(None, log pi [B, A])``.
    """
    head = _actor(config, env).apply(actor_params, obs)
    if env.discrete:
        return None, jax.nn.log_softmax(head, axis=-1)
    mean, log_std = _gaussian_head(config, head)
    low, high = _bounds(env)
    keys = jax.random.split(key, obs.shape[0])
    sample = jax.vmap(dist.tanh_gaussian_sample, in_axes=(0, 0, 0, None, None))
    return sample(keys, mean, log_std, low, high)


def _q_values(config: SACConfig, env: ControlEnv, critic_params: Any, obs: Array, action: Array | None) -> Array:
    """Twin critics at normalised ``obs [B, O]``: ``[B, 2]`` of ``action [B, D]`` or, discrete, ``[B, 2, A]``.

    Continuous actions enter the critics rescaled to ``[-1, 1]``.
    """
    critic = _critic(config, env)
    if env.discrete:
        q = jax.vmap(critic.apply, in_axes=(0, None))(critic_params, obs)  # [2, B, A]
        return jnp.swapaxes(q, 0, 1)
    low, high = _bounds(env)
    x = jnp.concatenate([obs, (action - (high + low) / 2.0) / ((high - low) / 2.0)], axis=-1)
    return jnp.swapaxes(jax.vmap(critic.apply, in_axes=(0, None))(critic_params, x)[..., 0], 0, 1)


def critic_targets(
    config: SACConfig,
    env: ControlEnv,
    params: SACParams,
    reward: Array,
    terminated: Array,
    next_obs: Array,
    key: Array,
) -> Array:
    """:func:`sac_critic_target` of a minibatch: ``[B]`` targets from the target critics and the current actor.

    Args:
        config, env: the learner's configuration and environment.
        params: the learner's parameters (actor, target critics and temperature are used).
        reward: ``[B]`` rewards (the environment's or the learned ones).
        terminated: ``[B]`` bool; truncated transitions are not terminated and bootstrap.
        next_obs: ``[B, O]`` the true successors (normalised as the networks expect).
        key: draws ``a' ~ pi(.|s')`` for continuous actions (discrete ones take the exact expectation).
    """
    next_action, next_log_prob = _policy(config, env, params.actor, key, next_obs)
    next_q = _q_values(config, env, params.target_critic, next_obs, next_action)
    target = jax.vmap(sac_critic_target, in_axes=(0, 0, 0, 0, None, None))
    return target(reward, terminated, next_q, next_log_prob, jnp.exp(params.log_alpha), config.gamma)


# ---------------------------------------------------------------------------------------------------------------
# The learner


def steps_per_iteration(config: SACConfig) -> int:
    """Environment steps of one iteration: ``num_envs * train_freq``."""
    return config.num_envs * config.train_freq


def num_iterations_for(config: SACConfig, total_steps: int) -> int:
    """Iterations needed for at least ``total_steps`` environment steps."""
    return math.ceil(total_steps / steps_per_iteration(config))


def target_entropy(config: SACConfig, env: ControlEnv) -> float:
    """The entropy the temperature steers towards: ``-dim(A)``, or ``target_entropy_scale * log |A|`` (discrete)."""
    if config.target_entropy is not None:
        return config.target_entropy
    if env.discrete:
        return config.target_entropy_scale * math.log(env.action_size)
    return -float(env.action_size)


def check_config(config: SACConfig) -> None:
    """Raise :class:`IrlaxError` if ``config`` is inconsistent."""
    if min(config.num_envs, config.train_freq, config.batch_size) < 1 or config.gradient_steps < 0:
        raise IrlaxError("SAC: num_envs, train_freq and batch_size must be at least 1, gradient_steps at least 0")
    if config.buffer_size < config.num_envs * config.train_freq:
        raise IrlaxError("SAC: buffer_size must hold at least one iteration's transitions (num_envs * train_freq)")
    if not 0.0 <= config.gamma <= 1.0 or not 0.0 < config.tau <= 1.0:
        raise IrlaxError("SAC: gamma must lie in [0, 1] and tau in (0, 1]")
    if config.random_hold < 1.0:
        raise IrlaxError("SAC: random_hold must be at least 1")
    if config.initial_alpha <= 0.0:
        raise IrlaxError("SAC: initial_alpha must be positive")


def _optimizers(config: SACConfig) -> SACOptState:
    """Adam for each part (a :class:`SACOptState` of ``GradientTransformation`` s)."""
    return SACOptState(optax.adam(config.actor_lr), optax.adam(config.critic_lr), optax.adam(config.alpha_lr))


def init(config: SACConfig, env: ControlEnv, key: Array) -> SACState:
    """A fresh learner: networks, Adam, an empty replay buffer and ``num_envs`` fresh episodes."""
    check_config(config)
    actor_key, critic_key, env_key, random_key, key = jax.random.split(key, 5)
    obs = jnp.zeros((env.obs_size,), jnp.float32)
    action = jnp.int32(0) if env.discrete else jnp.zeros((env.action_size,), jnp.float32)
    critic_input = obs if env.discrete else jnp.concatenate([obs, action])
    critic = jax.vmap(_critic(config, env).init, in_axes=(0, None))(jax.random.split(critic_key, 2), critic_input)
    params = SACParams(
        _actor(config, env).init(actor_key, obs),
        critic,
        critic,
        jnp.log(jnp.float32(config.initial_alpha)),
    )
    optimizers = _optimizers(config)
    opt_state = SACOptState(
        optimizers.actor.init(params.actor),
        optimizers.critic.init(params.critic),
        optimizers.alpha.init(params.log_alpha),
    )
    false = jnp.bool_(False)
    example = Transition(obs, action, jnp.float32(0), jnp.float32(0), obs, false, false, jnp.float32(0))
    return SACState(
        params,
        opt_state,
        init_obs_stats(env.obs_size),
        init_envs(env, env_key, config.num_envs),
        init_replay(example, config.buffer_size),
        key,
        jnp.int32(0),
        jnp.int32(0),
        random_actions(env, random_key, config.num_envs)[0],
    )


def policy_params(state: SACState) -> PolicyParams:
    """The part of ``state`` that acting needs (save it to keep an expert)."""
    return PolicyParams(state.params.actor, state.obs_stats)


def _as_policy(state_or_policy: SACState | PolicyParams) -> PolicyParams:
    return policy_params(state_or_policy) if isinstance(state_or_policy, SACState) else state_or_policy


def act(
    config: SACConfig,
    env: ControlEnv,
    state_or_policy_params: SACState | PolicyParams,
    key: Array,
    obs: Array,
    deterministic: bool = False,
) -> tuple[Array, Array]:
    """An action for one observation ``obs [O]`` and its log-probability under the stochastic policy.

    ``deterministic`` takes the most likely action (discrete) or the squashed mean
    ``centre + half_width * tanh(mean)`` (continuous, within the bounds).
    """
    policy = _as_policy(state_or_policy_params)
    head = _actor(config, env).apply(policy.actor, _normalize(config, policy.obs_stats, obs))
    if env.discrete:
        action = jnp.argmax(head).astype(jnp.int32) if deterministic else dist.categorical_sample(key, head)
        return action, dist.categorical_log_prob(head, action)
    mean, log_std = _gaussian_head(config, head)
    low, high = _bounds(env)
    if deterministic:
        action = dist.tanh_gaussian_mode(mean, low, high)
        return action, dist.tanh_gaussian_log_prob(mean, log_std, action, low, high)
    return dist.tanh_gaussian_sample(key, mean, log_std, low, high)


def log_prob(
    config: SACConfig, env: ControlEnv, state_or_policy_params: SACState | PolicyParams, obs: Array, action: Array
) -> Array:
    """``log pi(action | obs)`` of the current policy for one observation ``obs [O]`` (a scalar)."""
    policy = _as_policy(state_or_policy_params)
    head = _actor(config, env).apply(policy.actor, _normalize(config, policy.obs_stats, obs))
    if env.discrete:
        return dist.categorical_log_prob(head, action)
    mean, log_std = _gaussian_head(config, head)
    low, high = _bounds(env)
    return dist.tanh_gaussian_log_prob(mean, log_std, action, low, high)


def random_actions(env: ControlEnv, key: Array, num: int) -> tuple[Array, Array]:
    """``num`` uniformly random actions and their log-probabilities ``[num]`` (the initial exploration)."""
    if env.discrete:
        action = jax.random.randint(key, (num,), 0, env.action_size, jnp.int32)
        return action, jnp.full((num,), -math.log(env.action_size), jnp.float32)
    low, high = _bounds(env)
    action = jax.random.uniform(key, (num, env.action_size), minval=low, maxval=high)
    return action, jnp.full((num,), -jnp.sum(jnp.log(high - low)), jnp.float32)


def _collect(config: SACConfig, env: ControlEnv, state: SACState, key: Array) -> tuple[SACState, EpisodeStats]:
    """``train_freq`` steps of every environment, stored in the buffer (with the environment's rewards)."""

    def one_step(carry: tuple[SACState, EpisodeStats], step_key: Array) -> tuple[tuple, None]:
        state, episodes = carry
        act_key, random_key, hold_key, env_key = jax.random.split(step_key, 4)
        keys = jax.random.split(act_key, config.num_envs)
        policy_action, policy_log_prob = jax.vmap(act, in_axes=(None, None, None, 0, 0))(
            config, env, policy_params(state), keys, state.envs.obs
        )
        uniform_action, uniform_log_prob = random_actions(env, random_key, config.num_envs)
        if config.random_hold > 1.0:
            redraw = jax.random.uniform(hold_key, (config.num_envs,)) * config.random_hold < 1.0
            redraw = redraw.reshape((-1,) + (1,) * (uniform_action.ndim - 1))
            uniform_action = jnp.where(redraw, uniform_action, state.random_action)
        explore = state.env_steps < config.learning_starts
        action = jnp.where(explore, uniform_action, policy_action)
        action_log_prob = jnp.where(explore, uniform_log_prob, policy_log_prob)
        envs, transition, ended = step_envs(env, state.envs, env_key, action, action_log_prob)
        obs_stats = update_obs_stats(state.obs_stats, state.envs.obs) if config.normalize_obs else state.obs_stats
        state = state._replace(
            envs=envs,
            buffer=replay_add(state.buffer, transition),
            obs_stats=obs_stats,
            env_steps=state.env_steps + config.num_envs,
            random_action=uniform_action,
        )
        return (state, episodes.add(ended)), None

    (state, episodes), _ = jax.lax.scan(
        one_step, (state, EpisodeStats.zero()), jax.random.split(key, config.train_freq)
    )
    return state, episodes


def _gradient_step(
    config: SACConfig,
    env: ControlEnv,
    reward_fn: RewardFn | None,
    reward_params: Any,
    buffer: ReplayBuffer,
    obs_stats: ObsStats,
    learner: tuple[SACParams, SACOptState],
    key: Array,
) -> tuple[tuple[SACParams, SACOptState], SACLossInfo]:
    """One gradient step of the critics, the actor and the temperature, then the Polyak update of the targets.

    The minibatch's reward is the environment's or ``reward_fn``'s on the stored
    ``(obs, action, next_obs, terminated)``.
    The actor is trained against the just-updated critics, and the temperature on the actor step's log-probabilities.
    """
    sample_key, target_key, actor_key = jax.random.split(key, 3)
    batch: Transition = replay_sample(buffer, sample_key, config.batch_size)
    reward = learner_rewards(
        reward_fn, reward_params, batch.obs, batch.action, batch.next_obs, batch.terminated, batch.env_reward
    )
    obs = _normalize(config, obs_stats, batch.obs)
    next_obs = _normalize(config, obs_stats, batch.next_obs)
    (params, opt_state), optimizers = learner, _optimizers(config)
    alpha = jnp.exp(params.log_alpha)

    # critics
    targets = critic_targets(config, env, params, reward, batch.terminated, next_obs, target_key)

    def critic_loss(critic_params: Any) -> tuple[Array, Array]:
        q = _q_values(config, env, critic_params, obs, batch.action)
        if env.discrete:
            q = jnp.take_along_axis(q, batch.action[:, None, None], axis=2)[..., 0]
        return jnp.mean(jax.vmap(sac_critic_loss)(q, targets)), jnp.mean(q)

    (c_loss, q_mean), grads = jax.value_and_grad(critic_loss, has_aux=True)(params.critic)
    updates, critic_opt = optimizers.critic.update(grads, opt_state.critic, params.critic)
    critic = optax.apply_updates(params.critic, updates)

    # actor, against the updated critics
    def actor_loss(actor_params: Any) -> tuple[Array, Array]:
        action, action_log_prob = _policy(config, env, actor_params, actor_key, obs)
        q = _q_values(config, env, critic, obs, action)
        return jnp.mean(jax.vmap(sac_actor_loss, in_axes=(0, 0, None))(q, action_log_prob, alpha)), action_log_prob

    (a_loss, log_probs), grads = jax.value_and_grad(actor_loss, has_aux=True)(params.actor)
    updates, actor_opt = optimizers.actor.update(grads, opt_state.actor, params.actor)
    actor = optax.apply_updates(params.actor, updates)

    # temperature
    entropy_target = target_entropy(config, env)
    temperature_loss = lambda log_alpha: jnp.mean(
        jax.vmap(sac_temperature_loss, in_axes=(None, 0, None))(log_alpha, log_probs, entropy_target)
    )
    t_loss, grad = jax.value_and_grad(temperature_loss)(params.log_alpha)
    log_alpha, alpha_opt = params.log_alpha, opt_state.alpha
    if config.autotune:
        update, alpha_opt = optimizers.alpha.update(grad, alpha_opt, log_alpha)
        log_alpha = optax.apply_updates(log_alpha, update)

    target_critic = optax.incremental_update(critic, params.target_critic, config.tau)
    entropy = -log_probs if log_probs.ndim == 1 else -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)
    info = SACLossInfo(jnp.mean(reward), c_loss, a_loss, t_loss, alpha, jnp.mean(entropy), q_mean)
    return (SACParams(actor, critic, target_critic, log_alpha), SACOptState(actor_opt, critic_opt, alpha_opt)), info


def _learn(
    config: SACConfig,
    env: ControlEnv,
    reward_fn: RewardFn | None,
    reward_params: Any,
    state: SACState,
    key: Array,
    learn: Array,
) -> tuple[SACState, SACLossInfo]:
    """``gradient_steps`` gradient steps if ``learn`` (a traced bool); their loss information averaged.

    Only the parameters and optimiser states pass through the condition: under ``vmap`` a ``lax.cond``
    becomes a select of both branches' outputs, which must not copy the replay buffer.
    """

    def steps(learner: tuple[SACParams, SACOptState]) -> tuple[tuple[SACParams, SACOptState], SACLossInfo]:
        def body(learner: tuple[SACParams, SACOptState], step_key: Array) -> tuple[tuple, SACLossInfo]:
            return _gradient_step(
                config, env, reward_fn, reward_params, state.buffer, state.obs_stats, learner, step_key
            )

        learner, infos = jax.lax.scan(body, learner, jax.random.split(key, config.gradient_steps))
        return learner, jax.tree.map(lambda x: jnp.mean(x, axis=0), infos)

    skip = lambda learner: (learner, _no_learning())
    (params, opt_state), info = jax.lax.cond(learn, steps, skip, (state.params, state.opt_state))
    grad_steps = state.grad_steps + jnp.where(learn, config.gradient_steps, 0)
    return state._replace(params=params, opt_state=opt_state, grad_steps=grad_steps), info


def _no_learning() -> SACLossInfo:
    return SACLossInfo(*(jnp.float32(jnp.nan) for _ in SACLossInfo._fields))


def _iteration(
    config: SACConfig,
    env: ControlEnv,
    reward_fn: RewardFn | None,
    reward_params: Any,
    state: SACState,
) -> tuple[SACState, SACMetrics]:
    """Collect ``train_freq`` steps per environment, then ``gradient_steps`` gradient steps (once learning started)."""
    collect_key, learn_key, key = jax.random.split(state.key, 3)
    state, episodes = _collect(config, env, state._replace(key=key), collect_key)
    if config.gradient_steps == 0:
        info = _no_learning()
    else:
        learn = state.env_steps >= config.learning_starts
        state, info = _learn(config, env, reward_fn, reward_params, state, learn_key, learn)
    return state, SACMetrics(state.env_steps, episodes.mean_return(), episodes.count, info)


def update(
    config: SACConfig,
    env: ControlEnv,
    state: SACState,
    num_iterations: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[SACState, SACMetrics]:
    """Advance the learner by ``num_iterations`` iterations (``steps_per_iteration(config)`` env steps each).

    One ``lax.scan``; pure. Jit it with ``config``, ``env``, ``num_iterations`` and ``reward_fn`` static
    (:data:`update_jit`); vmap it over states for several seeds. When ``reward_fn`` is given,
    ``reward_fn(reward_params, obs, action, next_obs, terminated)`` replaces the environment's reward of every
    minibatch drawn from the buffer, old transitions included (the reported ``mean_return`` stays the
    true one).

    Returns:
        the new state and :class:`SACMetrics` stacked ``[num_iterations]``.
    """
    body = lambda s, _: _iteration(config, env, reward_fn, reward_params, s)
    return jax.lax.scan(body, state, None, length=num_iterations)


def train(
    config: SACConfig,
    env: ControlEnv,
    key: Array,
    total_steps: int,
    reward_fn: RewardFn | None = None,
    reward_params: Any = None,
) -> tuple[SACState, SACMetrics]:
    """:func:`init` then :func:`update` for ``ceil(total_steps / steps_per_iteration)`` iterations.

    Jit it with ``config``, ``env``, ``total_steps`` and ``reward_fn`` static (:data:`train_jit`); vmap it
    over keys for several seeds.
    """
    state = init(config, env, key)
    return update(config, env, state, num_iterations_for(config, total_steps), reward_fn, reward_params)


update_jit = jax.jit(update, static_argnames=("config", "env", "num_iterations", "reward_fn"))
""":func:`update` compiled (``config``, ``env``, ``num_iterations`` and ``reward_fn`` static)."""

train_jit = jax.jit(train, static_argnames=("config", "env", "total_steps", "reward_fn"))
""":func:`train` compiled (``config``, ``env``, ``total_steps`` and ``reward_fn`` static)."""
