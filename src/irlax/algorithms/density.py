"""Density-based reward modelling: rewards from density estimates of the expert's data, then a forward learner.

The non-adversarial baseline of the ``imitation`` library's ``DensityAlgorithm``: fit a
kernel density estimate ``p_E`` to the demonstrations' states, state-actions or
transitions (``density_type``) and train a policy with a forward learner (PPO or SAC)
on a reward made of it (``reward_type``):

- ``"log_density"``: ``r = log p_E(x)``, imitation's reward;
- ``"logit"``: ``r = log p_E(x) - log p_pi(x)``, with ``p_pi`` refitted every round to
  the policy's most recent ``buffer_size`` transitions: the log-ratio a perfect GAIL
  discriminator would output, estimated without one;
- ``"softplus"`` (the default): ``r = softplus(log p_E(x) - log p_pi(x)) = -log(1 - D)``
  with ``D = p_E / (p_E + p_pi)``, GAIL's usual policy reward
  (:func:`irlax.algorithms.gail.gail_policy_reward`) on that log-ratio.

``x`` is the state, the state and action (one-hot for discrete actions) or the
state and successor, standardised with the demonstrations' mean and standard
deviation. The estimate is an isotropic Gaussian kernel of width ``bandwidth`` in the
standardised space (scikit-learn's ``KernelDensity(kernel="gaussian")`` on
standardised inputs, as ``imitation`` uses), written in JAX
(:func:`kde_log_density`) because the reward is evaluated inside the learners'
jitted steps; jax.scipy's ``gaussian_kde`` is no substitute, as it scales the kernel by
the data's full covariance, which is singular for one-hot actions. A dimension the
demonstrations never vary is refused (its standardisation is undefined).

Kernel log-densities fall quadratically away from the data, so off the expert's
states ``log p_E`` is hugely negative: with ``"log_density"`` every step costs,
and in a task that a failure ends (CartPole) it pays to fail at once; the
benchmark reports it as measured. The ratio forms compare with the policy's own
density, and after a terminal step add the discounted value
``gamma / (1 - gamma) r_abs`` of the absorbing state the episode then sits in
(Kostrikov et al. 2019), whose log-ratio ``log P_E(terminal) - log P_pi(terminal)``
compares how often the expert's and the policy's transitions end an episode
(counts smoothed by half a transition), mapped like any other log-ratio.

One round: (for the ratio forms) the policy samples ``sample_steps`` steps in
``sample_envs`` environments into the policy buffer; then ``policy_iterations``
learner iterations on the current reward. ``update`` is one ``lax.scan`` over
rounds, jittable and vmappable over seeds; host-stepped (Gymnasium) environments
run the same phases from Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.algorithms.adversarial import collect_transitions
from irlax.algorithms.base import Algorithm
from irlax.algorithms.gail import gail_policy_reward
from irlax.algorithms.sample_irl import LearnerRoundsConfig, check_demos, learner_mean_return, make_inner_learner
from irlax.data.demos import Demonstrations
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners import base, host
from irlax.learners.base import LearnerState
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add
from irlax.learners.rollout import EnvCarry, example_transition, init_envs
from irlax.rewards.transition import absorbing_bonus
from irlax.tasks import Env

DESCRIPTION = "density-based reward: log-density of the expert's data, then a forward learner (as imitation's)"

DENSITY_TYPES = ("state", "state_action", "transition")
"""What the density is of: ``s``, ``(s, a)`` or ``(s, s')``."""

REWARD_TYPES = ("softplus", "logit", "log_density")
"""The reward made of the densities (see the module docstring)."""


@dataclass(frozen=True)
class DensityConfig(LearnerRoundsConfig):
    """Configuration of density-based reward modelling (defaults: the ``imitation`` library's; the learner and
    rounds fields are :class:`~irlax.algorithms.sample_irl.LearnerRoundsConfig`'s)."""

    density_type: str = "state_action"
    """What the density is of: ``"state"``, ``"state_action"`` or ``"transition"`` (state and successor)."""
    bandwidth: float = 0.5
    """Width of the Gaussian kernel in standardised units."""
    standardise: bool = True
    """Standardise the density's inputs with the demonstrations' mean and standard deviation."""
    reward_type: str = "softplus"
    """``"log_density"`` (``log p_E``, imitation's), ``"logit"`` (``log p_E - log p_pi``) or ``"softplus"``
    (``softplus`` of that log-ratio); the last two with the absorbing state after terminal steps."""
    gamma: float | None = None
    """Discount of the absorbing state's value; ``None``: the learner's."""
    sample_envs: int = 8
    """Environments the policy samples for ``p_pi`` in (the ratio forms)."""
    sample_steps: int = 32
    """Steps of each sampling environment per round (the ratio forms)."""
    buffer_size: int = 2048
    """Most recent policy transitions ``p_pi`` is fitted to (the ratio forms)."""



def check_config(config: DensityConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    if config.density_type not in DENSITY_TYPES:
        raise IrlaxError(f"unknown density_type {config.density_type!r}; choose one of {', '.join(DENSITY_TYPES)}")
    if config.reward_type not in REWARD_TYPES:
        raise IrlaxError(f"unknown reward_type {config.reward_type!r}; choose one of {', '.join(REWARD_TYPES)}")
    if config.sample_envs * config.sample_steps > config.buffer_size:
        raise IrlaxError(f"buffer_size ({config.buffer_size}) must hold one round's samples "
                         f"(sample_envs x sample_steps = {config.sample_envs * config.sample_steps})")


def density_features(spec: EnvSpec, density_type: str, obs: Array, action: Array, next_obs: Array) -> Array:
    """The vector ``x`` the density is of, for one transition (discrete actions one-hot)."""
    if density_type == "state":
        return obs
    if density_type == "transition":
        return jnp.concatenate([obs, next_obs])
    a = jax.nn.one_hot(action, spec.action_size) if spec.discrete else jnp.reshape(action, (-1,))
    return jnp.concatenate([obs, a.astype(obs.dtype)])


def kde_log_density(points: Array, weights: Array, x: Array, bandwidth: float | Array) -> Array:
    """``log p(x)`` of the Gaussian kernel density estimate ``p = sum_i w_i N(x; points_i, h^2 I) / sum_i w_i``.

    Args:
        points: ``[N, D]`` the data; weights: ``[N]`` non-negative (0 drops a point, e.g. padding).
        x: ``[D]`` where to evaluate; bandwidth: the kernel's standard deviation ``h``.
    """
    dim = points.shape[-1]
    log_kernel = -jnp.sum((points - x) ** 2, axis=-1) / (2.0 * bandwidth**2)
    log_norm = 0.5 * dim * jnp.log(2.0 * jnp.pi * bandwidth**2)
    return jax.scipy.special.logsumexp(log_kernel, b=weights) - jnp.log(jnp.sum(weights)) - log_norm


class DensityParams(NamedTuple):
    """The learned reward: the data of the estimates and the standardisation (the reward's parameters).

    Attributes:
        expert: ``[N, D]`` the demonstrations' standardised features; expert_weights: ``[N]`` (0 on padding).
        mean, scale: ``[D]`` the standardisation ``(x - mean) / scale``.
        policy: ``[M, D]`` the policy's recent standardised features, policy_weights ``[M]`` (all 0 until
            sampled; unused by ``"log_density"``).
        absorbing: ``[]`` the absorbing state's log-ratio ``r_abs`` (0 until the policy has been sampled).
    """

    expert: Array
    expert_weights: Array
    mean: Array
    scale: Array
    policy: Array
    policy_weights: Array
    absorbing: Array


def terminal_log_frequency(terminated: Array, weights: Array) -> Array:
    """``log`` of the fraction of (weighted) transitions that are terminal, counts smoothed by half a transition."""
    return jnp.log((jnp.sum(weights * terminated) + 0.5) / (jnp.sum(weights) + 1.0))


def expert_features(spec: EnvSpec, density_type: str, demos: Demonstrations) -> tuple[Array, Array]:
    """``[N*T, D]`` features of every step of the demonstrations and ``[N*T]`` weights (1 on real steps)."""
    flat = lambda x: jnp.reshape(x, (-1, *x.shape[2:]))
    feats = jax.vmap(lambda o, a, n: density_features(spec, density_type, o, a, n))(
        flat(demos.obs), flat(demos.actions), flat(demos.next_obs)
    )
    return feats, flat(demos.mask).astype(jnp.float32)


def standardisation(features: Array, weights: Array) -> tuple[Array, Array]:
    """Weighted mean and standard deviation of ``features [N, D]`` (a zero deviation is left at 1: see check)."""
    total = jnp.sum(weights)
    mean = jnp.sum(weights[:, None] * features, axis=0) / total
    std = jnp.sqrt(jnp.sum(weights[:, None] * (features - mean) ** 2, axis=0) / total)
    return mean, jnp.where(std > 0, std, 1.0)


def feature_names(spec: EnvSpec, density_type: str) -> list[str]:
    """Names of the density's input dimensions, for messages."""
    obs = [f"observation {i}" for i in range(spec.obs_size)]
    if density_type == "state":
        return obs
    if density_type == "transition":
        return obs + [f"next observation {i}" for i in range(spec.obs_size)]
    return obs + [f"action {i}" for i in range(spec.action_size)]


def check_variation(config: DensityConfig, spec: EnvSpec, demos: Demonstrations) -> None:
    """One-line :class:`IrlaxError` when a dimension of the density's input is constant over the demonstrations."""
    if not config.standardise:
        return
    feats, weights = expert_features(spec, config.density_type, demos)
    feats, real = np.asarray(feats), np.asarray(weights) > 0
    spread = feats[real].max(axis=0) - feats[real].min(axis=0)
    if (spread == 0).any():
        names = [n for n, s in zip(feature_names(spec, config.density_type), spread, strict=True) if s == 0]
        raise IrlaxError(
            f"density: {', '.join(names[:3])}{' and others' if len(names) > 3 else ''} never varies in the "
            f"demonstrations, so its standardisation is undefined (set standardise=false or use another "
            f"density_type)"
        )


def density_reward(config: DensityConfig, spec: EnvSpec, gamma: float, params: DensityParams, obs: Array,
                   action: Array, next_obs: Array, terminated: Array) -> Array:
    """The reward of one transition under ``config.reward_type`` (see the module docstring).

    ``log_density``: ``log p_E(x)``. The ratio forms: the log-ratio ``log p_E(x) - log p_pi(x)`` mapped by
    :func:`~irlax.algorithms.gail.gail_policy_reward`, plus after a terminal step ``gamma / (1 - gamma)`` times the
    absorbing state's mapped log-ratio; before the policy has been sampled its density is taken as uniform
    (the log-ratio is ``log p_E``, the absorbing state's 0).
    """
    x = (density_features(spec, config.density_type, obs, action, next_obs) - params.mean) / params.scale
    value = kde_log_density(params.expert, params.expert_weights, x, config.bandwidth)
    if config.reward_type == "log_density":
        return value
    has_policy = jnp.sum(params.policy_weights) > 0
    weights = jnp.where(has_policy, params.policy_weights, 1.0)
    ratio = value - jnp.where(has_policy, kde_log_density(params.policy, weights, x, config.bandwidth), 0.0)
    absorbing = gail_policy_reward(params.absorbing, config.reward_type)
    return gail_policy_reward(ratio, config.reward_type) + absorbing_bonus(terminated, absorbing, gamma)


class DensityState(NamedTuple):
    """The whole training state (leaves get a leading seed axis under ``vmap``).

    Attributes:
        learner: the forward learner's state.
        reward_params: the current :class:`DensityParams` (the reward to re-optimise).
        envs: the policy's sampling environments mid-episode (the ratio forms).
        buffer: the policy's most recent transitions (the ratio forms).
        key: PRNG key for the next round.
        env_steps: ``float32 []`` environment steps so far (learner and samples).
        rounds: ``int32 []`` rounds done.
    """

    learner: LearnerState
    reward_params: DensityParams
    envs: EnvCarry
    buffer: ReplayBuffer
    key: Array
    env_steps: Array
    rounds: Array


class DensityMetrics(NamedTuple):
    """One round's record.

    Attributes:
        env_steps: environment steps so far.
        mean_return: mean true return of the learner's episodes that ended this round (NaN if none).
    """

    env_steps: Array
    mean_return: Array


def make_density(config: DensityConfig, env: Env) -> Algorithm:
    """Density-based reward modelling in ``env`` with ``config``.

    Its ``reward_fn(state.reward_params, obs, action, next_obs, terminated)`` is the learned reward.

    Raises:
        IrlaxError: a bad setting.
    """
    check_config(config)
    spec = env.spec
    learner = make_inner_learner(config, spec)
    gamma = config.gamma if config.gamma is not None else learner.config.gamma
    example = example_transition(spec)
    sampling = config.reward_type != "log_density"
    round_steps = config.policy_iterations * learner.steps_per_iteration + (
        config.sample_envs * config.sample_steps if sampling else 0)

    def reward_fn(params: DensityParams, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        return density_reward(config, spec, gamma, params, obs, action, next_obs, terminated)

    def check(demos: Demonstrations) -> None:
        check_demos(demos, spec)
        check_variation(config, spec, demos)

    def start(learner_state: LearnerState, envs: EnvCarry, key: Array, demos: Demonstrations) -> DensityState:
        feats, weights = expert_features(spec, config.density_type, demos)
        if config.standardise:
            mean, scale = standardisation(feats, weights)
        else:
            mean, scale = jnp.zeros(feats.shape[-1]), jnp.ones(feats.shape[-1])
        size = config.buffer_size if sampling else 1
        params = DensityParams((feats - mean) / scale, weights, mean, scale, jnp.zeros((size, feats.shape[-1])),
                               jnp.zeros((size,)), jnp.float32(0.0))
        buffer = init_replay(example, config.buffer_size if sampling else 1)
        return DensityState(learner_state, params, envs, buffer, key, jnp.float32(0), jnp.int32(0))

    def init(key: Array, demos: Demonstrations) -> DensityState:
        check_demos(demos, spec)
        learner_key, env_key, key = jax.random.split(key, 3)
        return start(base.init_state(learner, env, learner_key), init_envs(env, env_key, config.sample_envs), key,
                     demos)

    def refit(state: DensityState, samples: Any, demos: Demonstrations) -> tuple[ReplayBuffer, DensityParams]:
        """The round's samples into the policy buffer; ``p_pi``'s data and the absorbing log-ratio (pure)."""
        buffer = replay_add(state.buffer, samples)
        params = state.reward_params
        feats = jax.vmap(lambda o, a, n: density_features(spec, config.density_type, o, a, n))(
            buffer.data.obs, buffer.data.action, buffer.data.next_obs)
        valid = (jnp.arange(buffer.data.obs.shape[0]) < buffer.size).astype(jnp.float32)
        absorbing = (terminal_log_frequency(demos.terminated, demos.mask.astype(jnp.float32))
                     - terminal_log_frequency(buffer.data.terminated, valid))
        return buffer, params._replace(policy=(feats - params.mean) / params.scale, policy_weights=valid,
                                       absorbing=absorbing)

    def finish(state: DensityState, envs: EnvCarry, buffer: ReplayBuffer, params: DensityParams,
               learner_state: LearnerState, learner_metrics: Any, key: Array) -> tuple[DensityState, DensityMetrics]:
        metrics = DensityMetrics(state.env_steps + round_steps, learner_mean_return(learner_metrics))
        return DensityState(learner_state, params, envs, buffer, key, metrics.env_steps, state.rounds + 1), metrics

    def one_round(state: DensityState, demos: Demonstrations) -> tuple[DensityState, DensityMetrics]:
        key, sample_key = jax.random.split(state.key)
        envs, buffer, params = state.envs, state.buffer, state.reward_params
        if sampling:
            policy = learner.policy_params(state.learner.agent)
            envs, samples = collect_transitions(learner, env, policy, envs, sample_key, config.sample_steps)
            buffer, params = refit(state, samples, demos)
        learner_state, learner_metrics = base.update(
            learner, env, state.learner, config.policy_iterations, reward_fn, params)
        return finish(state, envs, buffer, params, learner_state, learner_metrics, key)

    def update(state: DensityState, demos: Demonstrations, num_rounds: int) -> tuple[DensityState, DensityMetrics]:
        check_demos(demos, spec)
        return jax.lax.scan(lambda s, _: one_round(s, demos), state, None, length=num_rounds)

    # host-stepped environments: the same phases, the environment ones stepped from Python, the pure ones jitted
    seeds = host.jit_over_seeds
    host_start = seeds(start, 0, 0, 0, None)
    host_refit = seeds(refit, 0, 0, None)
    host_finish = seeds(finish, *([0] * 7))
    split2 = seeds(lambda k: tuple(jax.random.split(k)), 0)
    split3 = seeds(lambda k: tuple(jax.random.split(k, 3)), 0)
    policies = seeds(learner.policy_params, 0)

    def host_init(keys: Array, demos: Demonstrations) -> DensityState:
        check_demos(demos, spec)
        learner_key, env_key, key = split3(keys)
        envs = host.reset_envs(env, env_key, config.sample_envs)
        return host_start(host.init_state(learner, env, learner_key), envs, key, demos)

    def host_round(state: DensityState, demos: Demonstrations) -> tuple[DensityState, DensityMetrics]:
        key, sample_key = split2(state.key)
        envs, buffer, params = state.envs, state.buffer, state.reward_params
        if sampling:
            envs, samples, _, _ = host.collect_policy(learner, env, policies(state.learner.agent), envs, sample_key,
                                                      config.sample_steps)
            samples = jax.tree.map(lambda x: x.reshape(x.shape[0], -1, *x.shape[3:]), samples)
            buffer, params = host_refit(state, samples, demos)
        learner_state, learner_metrics = host.update(learner, env, state.learner, config.policy_iterations,
                                                     reward_fn, params)
        return host_finish(state, envs, buffer, params, learner_state, learner_metrics, key)

    def host_update(state: DensityState, demos: Demonstrations, num_rounds: int) -> tuple[DensityState, Any]:
        check_demos(demos, spec)
        return host.repeat_rounds(lambda s: host_round(s, demos), state, num_rounds)

    return Algorithm(
        name="density", config=config, num_steps=config.rounds, init=init, update=update, metrics=DensityMetrics,
        policy=lambda state, demos: learner.policy_params(state.learner.agent),
        reward=lambda state, demos: state.reward_params, act=learner, reward_fn=reward_fn, check=check, spec=spec,
        env=env, learner=learner, description=DESCRIPTION, host_init=host_init, host_update=host_update,
    )
