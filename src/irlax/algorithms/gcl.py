"""Sample-based maximum entropy IRL: Guided Cost Learning (Finn, Levine & Abbeel 2016).

The MaxEnt model ``p(tau) ∝ exp(R_psi(tau))`` with ``R_psi(tau) = sum_t r_psi(s_t, a_t)``
has the log-likelihood gradient ``E_expert[grad R_psi] - E_{p_psi}[grad R_psi]``. With
unknown dynamics the second term is estimated from policy samples ``tau_j ~ q``:

- ``estimator="importance"`` (GCL): self-normalised importance weights
  ``w_j ∝ exp(R_psi(tau_j)) / q(tau_j)``, ``q(tau_j) = prod_t pi(a_t|s_t)`` from the
  log-probabilities recorded when ``tau_j`` was sampled, computed in log space
  (:func:`log_importance_weights`, :func:`self_normalized_weights`). Samples come
  from a buffer of the episodes of all past policies (the mixture GCL uses), and
  the max-ent learner is improved only a little (``policy_iterations``) between
  reward steps (lazy policy optimisation).
- ``estimator="plain"``: the policy is trained (towards convergence) for
  ``policy_iterations`` iterations per round and the term is the unweighted mean
  over that round's episodes only, as if they came from ``p_psi`` itself.

The loss :func:`gcl_loss` is ``-mean_E R_psi + log sum_j w_j`` (its gradient is the
estimator above), plus ``reward_l2`` times the mean squared per-step reward, which
keeps the otherwise scale-free reward bounded. The policy is trained on ``r_psi``.
Episodes are whole and padded with a mask, so any lengths mix.

Early termination (``absorbing=True``, the default): an episode that ends in a
terminal state sits, for the rest of the task's time limit ``T``, in an absorbing
state whose reward ``r_abs`` is learned with the rest, so ``R_psi(tau)`` adds
``(T - len(tau)) r_abs`` (:func:`episode_returns`; the L2 term counts those steps
too). Without it a reward that is positive everywhere makes short episodes cheap
to explain (CartPole's policy episodes end early, the expert's never: 1 of 3 seeds
matched the expert). The learner sees the discounted value of the same state on a
terminal step, ``gamma / (1 - gamma) r_abs`` (:func:`irlax.rewards.transition.absorbing_bonus`,
as GAIL's and AIRL's absorbing state), and so does the ``reward_fn``.

In a Gymnasium environment (host-stepped) the same phases run from a Python loop
(``host_init`` / ``host_update``): the episodes are stepped on the host, padded to
the time limit (:func:`pad_episodes`), and the reward and finishing phases are the
jitted functions of the JAX path, vmapped over seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import (
    PolicyRewardParams,
    SampleIRLConfig,
    check_demos,
    check_sample_irl_config,
    learner_mean_return,
    make_inner_learner,
    policy_reward_fn,
    reward_gradient_step,
    reward_optimizer,
)
from irlax.data.demos import Demonstrations
from irlax.data.transitions import Episodes, RewardFn
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners import base, host
from irlax.learners.base import LearnerState
from irlax.learners.evaluation import policy_episodes
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add, replay_sample
from irlax.learners.rollout import example_transition
from irlax.rewards.transition import TransitionReward, absorbing_bonus, demo_input_stats, mlp_transition_reward
from irlax.tasks import Env

DESCRIPTION = "sample-based MaxEnt IRL with importance weights, Guided Cost Learning (Finn et al. 2016)"

ESTIMATORS = ("importance", "plain")
"""How the partition term is estimated (see the module docstring)."""


@dataclass(frozen=True)
class GCLConfig(SampleIRLConfig):
    """Guided Cost Learning's configuration (the shared fields are documented on :class:`SampleIRLConfig`)."""

    estimator: str = "importance"
    """``"importance"`` (GCL's weighted estimator over all past policies) or ``"plain"`` (see the module)."""
    episodes_per_round: int = 4
    """Whole policy episodes sampled each round."""
    buffer_episodes: int = 256
    """Episodes kept of all past policies (importance estimator; the oldest go first when full)."""
    batch_episodes: int = 32
    """Expert episodes, and as many policy episodes, per reward step (importance estimator)."""
    state_only: bool = False
    """A reward of the state alone, ``r(s)``, instead of ``r(s, a)``."""
    reward_l2: float = 1e-3
    """Weight of the mean squared per-step reward in the loss."""
    absorbing: bool = True
    """Terminated episodes sit in an absorbing state of learned reward until the time limit (see the module)."""


def check_config(config: GCLConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    check_sample_irl_config(config)
    if config.estimator not in ESTIMATORS:
        raise IrlaxError(f"unknown GCL estimator {config.estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    for name in ("episodes_per_round", "buffer_episodes", "batch_episodes"):
        if getattr(config, name) < 1:
            raise IrlaxError(f"{name} must be positive, got {getattr(config, name)}")
    if config.episodes_per_round > config.buffer_episodes:
        raise IrlaxError(f"buffer_episodes ({config.buffer_episodes}) must hold one round's "
                         f"episodes_per_round ({config.episodes_per_round})")
    if config.reward_l2 < 0:
        raise IrlaxError(f"reward_l2 must be non-negative, got {config.reward_l2}")


def log_importance_weights(returns: Array, log_q: Array) -> Array:
    """``[M]`` unnormalised log-weights ``log w_j = R_psi(tau_j) - log q(tau_j)`` (Finn et al. 2016, eq. 3)."""
    return returns - log_q


def self_normalized_weights(log_weights: Array) -> Array:
    """``[M]`` weights ``w_j / sum_k w_k`` from log-weights, stable for any magnitude (a softmax)."""
    return jax.nn.softmax(log_weights)


def gcl_loss(expert_returns: Array, policy_returns: Array, policy_log_q: Array, importance: bool) -> Array:
    """The sample-based MaxEnt IRL loss ``-mean_E R + log Z_hat`` (its gradient is the MaxEnt gradient).

    ``importance``: ``log Z_hat = log mean_j exp(R_j - log q_j)`` (self-normalised importance sampling, so the
    gradient is ``sum_j w_j grad R_j``); otherwise ``mean_j R_j`` (the unweighted gradient of the plain estimator).
    Shapes: ``expert_returns [N]``, ``policy_returns [M]``, ``policy_log_q [M]``.
    """
    if importance:
        log_w = log_importance_weights(policy_returns, policy_log_q)
        log_z = jax.nn.logsumexp(log_w) - jnp.log(log_w.shape[0])
    else:
        log_z = jnp.mean(policy_returns)
    return -jnp.mean(expert_returns) + log_z


def episode_rewards(net: TransitionReward, params: Any, obs: Array, actions: Array, mask: Array) -> Array:
    """``[N, T]`` per-step learned rewards of padded episodes, 0 on padding (``params``: the network's)."""
    per_step = jax.vmap(jax.vmap(net.apply, in_axes=(None, 0, 0)), in_axes=(None, 0, 0))(params, obs, actions)
    return jnp.where(mask, per_step, 0.0)


def absorbing_steps(mask: Array, terminated: Array, max_steps: int) -> Array:
    """``[N]`` steps each padded episode spends in the absorbing state: ``max_steps - length`` for one that ended
    in a terminal state, 0 for one cut by the time limit (or still running)."""
    ended = jnp.any(terminated & mask, axis=1)
    return jnp.where(ended, max_steps - jnp.sum(mask, axis=1), 0).astype(jnp.float32)


def episode_returns(step_rewards: Array, absorbed: Array, absorbing_reward: Array) -> Array:
    """``[N]`` ``R_psi(tau) = sum_t r_psi(s_t, a_t) + absorbed * r_abs`` (``step_rewards [N, T]`` with 0 on
    padding, ``absorbed [N]`` from :func:`absorbing_steps`)."""
    return jnp.sum(step_rewards, axis=1) + absorbed * absorbing_reward


def example_episode(spec: EnvSpec) -> Episodes:
    """A zero episode of the task ``spec`` padded to its time limit (leaves ``[T, ...]``): the buffer's template."""
    steps = spec.max_steps
    transitions = jax.tree.map(lambda x: jnp.zeros((steps, *x.shape), x.dtype), example_transition(spec))
    return Episodes(transitions, jnp.zeros((steps,), bool))


def pad_episodes(episodes: Episodes, steps: int) -> Episodes:
    """Episodes ``[..., N, T, ...]`` padded with masked-out zero steps to ``T = steps`` (numpy, on the host)."""
    length = episodes.mask.shape[-1]
    lead = episodes.mask.ndim - 1

    def pad(x: Any) -> Any:
        x = np.asarray(x)
        widths = [(0, 0)] * lead + [(0, steps - length)] + [(0, 0)] * (x.ndim - lead - 1)
        return np.pad(x, widths)

    return jax.tree.map(pad, episodes)


class GCLState(NamedTuple):
    """The whole training state (leaves get a leading seed axis under ``vmap``).

    Attributes:
        learner: the forward learner's :class:`~irlax.learners.base.LearnerState`.
        reward_params: the reward's parameters.
        reward_opt_state: its optimiser state.
        buffer: past policy episodes (items: an :class:`~irlax.data.transitions.Episodes` row ``[T, ...]``).
        key: PRNG key for the next round.
        env_steps: ``float32 []`` environment steps so far (the learner's and the sampled episodes').
        rounds: ``int32 []`` rounds done.
    """

    learner: LearnerState
    reward_params: Any
    reward_opt_state: optax.OptState
    buffer: ReplayBuffer
    key: Array
    env_steps: Array
    rounds: Array


class GCLMetrics(NamedTuple):
    """One round's record (leaves ``[]``; ``[rounds]`` after a scan).

    Attributes:
        env_steps: environment steps so far (the learner's and the sampled episodes', padding included).
        mean_return: mean true return of the learner's episodes that ended this round (NaN if none).
        reward_loss: the reward's loss at its last step this round.
        mean_reward: mean learned per-step reward on the round's sampled episodes.
        expert_reward: mean learned per-step reward on the expert episodes of the round's last reward step.
    """

    env_steps: Array
    mean_return: Array
    reward_loss: Array
    mean_reward: Array
    expert_reward: Array


def reward_network(config: GCLConfig, spec: EnvSpec) -> TransitionReward:
    """The reward ``r_psi``: an MLP of the state (or state-action), inputs standardised by the demonstrations."""
    return mlp_transition_reward(spec, config.hidden, config.activation, config.state_only)


def learned_reward(config: GCLConfig, spec: EnvSpec, gamma: float) -> RewardFn:
    """``r_psi`` as a ``reward_fn(params, obs, action, next_obs, terminated)`` of ``state.reward_params``
    (``{"net": ..., "absorbing": r_abs}``), plus the absorbing state's value ``gamma / (1 - gamma) r_abs`` on
    terminal steps when ``config.absorbing``."""
    net = reward_network(config, spec)

    def reward_fn(params: Any, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        reward = net.apply(params["net"], obs, action)
        if config.absorbing:
            reward = reward + absorbing_bonus(terminated, params["absorbing"], gamma)
        return reward

    return reward_fn


def reward_step(
    config: GCLConfig, net: TransitionReward, max_steps: int, demos: Demonstrations, buffer: ReplayBuffer,
    carry: tuple[Any, optax.OptState], key: Array,
) -> tuple[tuple[Any, optax.OptState], tuple[Array, Array]]:
    """One gradient step of :func:`gcl_loss` (+ the L2 term); returns (loss, mean expert step reward).

    ``carry``'s parameters are ``{"net": ..., "absorbing": r_abs}``; with ``config.absorbing`` the episodes'
    returns and the L2 term count their steps in the absorbing state (until ``max_steps``, the time limit).
    """
    importance = config.estimator == "importance"
    expert_key, policy_key = jax.random.split(key)
    if importance:  # minibatches of expert episodes and of past policies' episodes
        rows = jax.random.randint(expert_key, (config.batch_episodes,), 0, demos.num_episodes)
        policy: Episodes = replay_sample(buffer, policy_key, config.batch_episodes)
    else:  # every expert episode against this round's episodes (the buffer holds only those)
        rows, policy = jnp.arange(demos.num_episodes), buffer.data
    p_mask, tr = policy.mask, policy.transitions
    log_q = jnp.sum(jnp.where(p_mask, tr.log_prob, 0.0), axis=1)
    e_mask = demos.mask[rows]
    e_absorbed = absorbing_steps(e_mask, demos.terminated[rows], max_steps) if config.absorbing else 0.0
    p_absorbed = absorbing_steps(p_mask, tr.terminated, max_steps) if config.absorbing else 0.0

    def loss_fn(params: Any) -> tuple[Array, Array]:
        expert_r = episode_rewards(net, params["net"], demos.obs[rows], demos.actions[rows], e_mask)
        policy_r = episode_rewards(net, params["net"], tr.obs, tr.action, p_mask)
        r_abs = params["absorbing"]
        loss = gcl_loss(episode_returns(expert_r, e_absorbed, r_abs), episode_returns(policy_r, p_absorbed, r_abs),
                        log_q, importance)
        steps = jnp.sum(e_mask) + jnp.sum(p_mask) + jnp.sum(e_absorbed) + jnp.sum(p_absorbed)
        squares = jnp.sum(expert_r**2) + jnp.sum(policy_r**2) + (jnp.sum(e_absorbed) + jnp.sum(p_absorbed)) * r_abs**2
        return loss + config.reward_l2 * squares / steps, jnp.sum(expert_r) / jnp.sum(e_mask)

    params, opt_state = carry
    params, opt_state, loss, expert_reward = reward_gradient_step(
        reward_optimizer(config), loss_fn, params, opt_state
    )
    return (params, opt_state), (loss, expert_reward)


def make_gcl(config: GCLConfig, env: Env) -> Algorithm:
    """Guided Cost Learning in ``env`` with ``config``; its ``reward_fn`` is ``r_psi`` of ``state.reward_params``.

    Raises:
        IrlaxError: a bad setting.
    """
    check_config(config)
    learner = make_inner_learner(config, env.spec)
    if config.absorbing and not learner.config.gamma < 1.0:
        raise IrlaxError("GCL's absorbing state needs the learner's gamma below 1 (or absorbing=false)")
    net = reward_network(config, env.spec)
    reward_fn = learned_reward(config, env.spec, learner.config.gamma)
    policy_reward = policy_reward_fn(lambda p, obs, a, next_obs, done, log_pi: reward_fn(p, obs, a, next_obs, done),
                                     learner, False)
    capacity = config.buffer_episodes if config.estimator == "importance" else config.episodes_per_round

    def sample_episodes(learner_state: LearnerState, key: Array, num: int) -> Episodes:
        """``num`` whole episodes of the current policy, with the log-probabilities it acted with."""
        return policy_episodes(learner, env, learner.policy_params(learner_state.agent), key, num)

    def start(learner_state: LearnerState, reward_key: Array, key: Array, demos: Demonstrations) -> GCLState:
        """The state of a fresh run around a fresh learner: the reward, its optimiser and an empty buffer."""
        reward_params = {"net": net.init(reward_key, demo_input_stats(demos)), "absorbing": jnp.float32(0.0)}
        buffer = init_replay(example_episode(env.spec), capacity)
        return GCLState(learner_state, reward_params, reward_optimizer(config).init(reward_params), buffer, key,
                        jnp.float32(0), jnp.int32(0))

    def init(key: Array, demos: Demonstrations) -> GCLState:
        check_demos(demos, env.spec)
        learner_key, reward_key, key = jax.random.split(key, 3)
        return start(base.init_state(learner, env, learner_key), reward_key, key, demos)

    def train_reward(demos: Demonstrations, state: GCLState, episodes: Episodes,
                     reward_key: Array) -> tuple[ReplayBuffer, Any, optax.OptState, Array, Array]:
        """The round's episodes into the buffer, then ``reward_steps`` steps of the reward (pure)."""
        buffer = replay_add(state.buffer, episodes)
        step = lambda carry, k: reward_step(config, net, env.spec.max_steps, demos, buffer, carry, k)
        (reward_params, opt_state), (losses, expert_reward) = jax.lax.scan(
            step, (state.reward_params, state.reward_opt_state), jax.random.split(reward_key, config.reward_steps)
        )
        return buffer, reward_params, opt_state, losses, expert_reward

    def finish(state: GCLState, buffer: ReplayBuffer, reward_params: Any, opt_state: optax.OptState,
               losses: Array, expert_reward: Array, episodes: Episodes, learner_state: LearnerState,
               learner_metrics: Any, key: Array, sampled: Array) -> tuple[GCLState, GCLMetrics]:
        """The round's new state and metrics (pure); ``sampled``: the environment steps the sampler executed."""
        env_steps = state.env_steps + config.policy_iterations * learner.steps_per_iteration + sampled
        step_rewards = episode_rewards(net, reward_params["net"], episodes.transitions.obs,
                                       episodes.transitions.action, episodes.mask)
        last = lambda x: x[-1] if config.reward_steps else jnp.float32(jnp.nan)
        metrics = GCLMetrics(
            env_steps, learner_mean_return(learner_metrics), last(losses),
            jnp.sum(step_rewards) / jnp.sum(episodes.mask), last(expert_reward),
        )
        return GCLState(learner_state, reward_params, opt_state, buffer, key, env_steps, state.rounds + 1), metrics

    def one_round(demos: Demonstrations, state: GCLState) -> tuple[GCLState, GCLMetrics]:
        key, sample_key, reward_key = jax.random.split(state.key, 3)
        episodes = sample_episodes(state.learner, sample_key, config.episodes_per_round)
        buffer, reward_params, opt_state, losses, expert_reward = train_reward(demos, state, episodes, reward_key)
        learner_state, learner_metrics = base.update(
            learner, env, state.learner, config.policy_iterations, policy_reward,
            PolicyRewardParams(reward_params, None),
        )
        sampled = jnp.float32(env.spec.max_steps * config.episodes_per_round)  # every step, padding included
        return finish(state, buffer, reward_params, opt_state, losses, expert_reward, episodes, learner_state,
                      learner_metrics, key, sampled)

    def update(state: GCLState, demos: Demonstrations, num_rounds: int) -> tuple[GCLState, GCLMetrics]:
        check_demos(demos, env.spec)
        return jax.lax.scan(lambda s, _: one_round(demos, s), state, None, length=num_rounds)

    # host-stepped environments: the episodes stepped from Python, the pure phases jitted and vmapped over seeds
    seeds = host.jit_over_seeds
    host_start = seeds(start, 0, 0, 0, None)
    host_train_reward = seeds(train_reward, None, 0, 0, 0)
    host_finish = seeds(finish, *([0] * 10), None)
    split_keys = seeds(lambda k: tuple(jax.random.split(k, 3)), 0)
    policies = seeds(learner.policy_params, 0)

    def host_init(keys: Array, demos: Demonstrations) -> GCLState:
        check_demos(demos, env.spec)
        learner_key, reward_key, key = split_keys(keys)
        return host_start(host.init_state(learner, env, learner_key), reward_key, key, demos)

    def host_round(demos: Demonstrations, state: GCLState) -> tuple[GCLState, GCLMetrics]:
        key, sample_key, reward_key = split_keys(state.key)
        episodes = host.rollout_episodes(learner, env, policies(state.learner.agent), sample_key,
                                         config.episodes_per_round)
        sampled = jnp.float32(episodes.mask.shape[-1] * config.episodes_per_round)  # the host stops at the longest
        episodes = pad_episodes(episodes, env.spec.max_steps)  # one shape for the buffer and the compiled phases
        buffer, reward_params, opt_state, losses, expert_reward = host_train_reward(demos, state, episodes,
                                                                                    reward_key)
        learner_state, learner_metrics = host.update(
            learner, env, state.learner, config.policy_iterations, policy_reward,
            PolicyRewardParams(reward_params, None),
        )
        return host_finish(state, buffer, reward_params, opt_state, losses, expert_reward, episodes, learner_state,
                           learner_metrics, key, sampled)

    def host_update(state: GCLState, demos: Demonstrations, num_rounds: int) -> tuple[GCLState, Any]:
        check_demos(demos, env.spec)
        return host.repeat_rounds(lambda s: host_round(demos, s), state, num_rounds)

    return Algorithm(
        name="gcl", config=config, num_steps=config.rounds, init=init, update=update, metrics=GCLMetrics,
        policy=lambda state, demos: learner.policy_params(state.learner.agent),
        reward=lambda state, demos: state.reward_params, act=learner, reward_fn=reward_fn,
        spec=env.spec, env=env, learner=learner, description=DESCRIPTION, host_init=host_init,
        host_update=host_update,
    )
