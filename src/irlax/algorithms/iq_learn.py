"""IQ-Learn: inverse soft-Q learning for imitation (Garg, Chakraborty, Cundy, Song & Ermon 2021).

Written from the paper alone. The authors' code is licensed for research use only
and a patent has been filed on the method; none of it was read or copied here.

IQ-Learn learns one soft Q-function and no separate reward or discriminator. In
maximum-entropy RL with temperature ``alpha`` a Q-function fixes both a policy,
``pi_Q(a|s) = exp((Q(s, a) - V(s)) / alpha)``, and a reward through the inverse
soft Bellman operator,

    r(s, a, s') = Q(s, a) - gamma V(s'),   V(s) = alpha log sum_a exp(Q(s, a) / alpha)

(discrete actions; continuous ones estimate ``V(s) = E_{a ~ pi}[Q(s, a) - alpha log pi(a|s)]``
with a soft actor trained against ``Q`` as in SAC). The paper turns the IRL
saddle point into one concave objective over ``Q`` (its eq. 10):

    max_Q  E_expert[phi(Q(s, a) - gamma V(s'))] - (1 - gamma) E_rho0[V(s0)],

with ``phi(x) = x - x^2 / (4 c)`` for the chi-squared divergence (``chi2_alpha = c``)
and ``phi(x) = x`` without it. The value term has the paper's two forms
(``value_term``): ``"initial"``, ``(1 - gamma) E_rho0[V(s0)]`` over the
demonstrations' first states, and ``"difference"``, ``E_rho[V(s) - gamma V(s')]``, equal
to it for the occupancy of any policy ``rho`` (the telescoping of its section 5.1):
over the expert's transitions offline, over the expert's and the policy's online.
Online the chi-squared term can also be applied to the policy's samples (the
regulariser on the mixture, ``chi2_policy``), which keeps ``Q`` bounded off the
expert's states.

Terminal steps: ``V(s') = 0`` after a terminated step, i.e. the episode enters an
absorbing state of value 0; truncated steps bootstrap from their true successor.
The recovered reward of a terminal step is then ``Q(s, a)``: what a learner that
does not bootstrap past termination needs to give the step the value the
Q-function gives it.

Two modes: ``online=True`` (the default) collects the current policy's own
transitions into a replay buffer, ``num_envs`` environment steps per gradient
step; ``online=False`` learns from the demonstrations alone (the paper's
offline setting). :func:`make_iq_learn` builds the
:class:`~irlax.algorithms.base.Algorithm`: ``update`` is one ``lax.scan`` over
rounds of ``updates_per_round`` gradient steps (jittable, vmappable over seeds);
its ``reward_fn`` is the recovered reward, so re-optimisation, transfer, EPIC
and Pearson correlations work on it as on any other algorithm's; its ``act`` is
the soft-Q policy (discrete) or the soft actor (continuous).

Usage::

    algo = make_iq_learn(IQLearnConfig(rounds=50), env)   # env = irlax.tasks.make_env("CartPole-v1")
    state, metrics = algo.update(algo.init(key, demos), demos, algo.num_steps)
    r = algo.reward_fn(algo.reward(state, demos), obs, action, next_obs, terminated)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import check_demos, make_inner_learner, sample_expert_transitions
from irlax.data.demos import Demonstrations
from irlax.data.transitions import Transition
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners import host
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add, replay_sample
from irlax.learners.rollout import EnvCarry, EpisodeStats, example_transition, init_envs, step_envs
from irlax.learners.sac import networks
from irlax.learners.sac.config import SACConfig
from irlax.learners.sac.losses import sac_actor_loss, sac_temperature_loss
from irlax.nn.networks import ACTIVATIONS, init_obs_stats
from irlax.settings import check_fields
from irlax.tasks import Env

DESCRIPTION = "IQ-Learn: inverse soft-Q learning, a Q-function instead of a reward (Garg et al. 2021)"

VALUE_TERMS = ("difference", "initial")
"""The forms of the value term: ``E_rho[V(s) - gamma V(s')]`` or ``(1 - gamma) E_rho0[V(s0)]``."""

REWARD_VALUE_SAMPLES = 8
"""Continuous actions: actions drawn from the soft actor to estimate ``V(s')`` in the recovered reward (with fixed
noise, so the reward is a deterministic function of the transition)."""


@dataclass(frozen=True)
class IQLearnConfig:
    """IQ-Learn's configuration. The defaults learn CartPole-v1 from one demonstration online."""

    online: bool = True
    """Collect the policy's own transitions (online IL); ``False``: the demonstrations alone (offline)."""
    rounds: int = 20
    """Rounds of ``updates_per_round`` gradient steps (``update``'s unit; one row of metrics each)."""
    updates_per_round: int = 100
    """Gradient steps of the soft Q-function (and actor) per round."""
    num_envs: int = 1
    """Online: environments the policy acts in; each gradient step follows one step of each."""
    random_steps: int = dataclasses.field(default=0, metadata={"check": "count0"})
    """Online: environment steps of uniformly random actions at the start (exploration before the policy acts)."""
    batch_size: int = 64
    """Expert transitions per gradient step (and as many policy transitions online)."""
    buffer_size: int = 100_000
    """Online: most recent policy transitions kept."""
    gamma: float = 0.99
    """Discount of the soft Bellman operator."""
    alpha: float = dataclasses.field(default=0.1, metadata={"check": "positive"})
    """Entropy temperature of the soft Q-function (the initial one when ``autotune``)."""
    autotune: bool = False
    """Continuous actions: adjust the temperature towards ``target_entropy`` as SAC does."""
    target_entropy: float | None = None
    """Entropy target of ``autotune``; ``None``: ``-dim(A)``."""
    chi2: bool = True
    """The chi-squared regulariser ``phi(x) = x - x^2 / (4 chi2_alpha)``; off: ``phi(x) = x`` (total variation)."""
    chi2_alpha: float = dataclasses.field(default=0.5, metadata={"check": "positive"})
    """Weight ``c`` of the chi-squared regulariser: the penalty is ``x^2 / (4 c)``."""
    chi2_policy: bool = True
    """Online: apply the chi-squared penalty to the policy's samples as well (the regulariser on the mixture)."""
    absorbing: bool = True
    """Learn the value of the absorbing state terminated steps enter (see :func:`iq_loss`); off: it is 0."""
    value_term: str = "difference"
    """``"difference"``: ``E_rho[V(s) - gamma V(s')]`` (expert, plus policy online); ``"initial"``:
    ``(1 - gamma) E[V(s0)]`` over the demonstrations' first states."""
    target_tau: float = dataclasses.field(default=1.0, metadata={"check": "probability"})
    """Polyak step of a target Q-function for ``V(s')`` (no gradient through it); 1: no target, ``V(s')`` from the
    current Q-function with its gradient, as in the paper's objective."""
    critic_lr: float = 3e-3
    """Adam step size of the soft Q-function."""
    actor_lr: float = 3e-4
    """Adam step size of the soft actor (continuous actions)."""
    alpha_lr: float = 3e-4
    """Adam step size of the log-temperature (``autotune``)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the Q-function and of the actor."""
    activation: str = "relu"
    """Hidden activation, a key of :data:`irlax.nn.networks.ACTIVATIONS`."""
    learner: str = ""
    """Learner that re-optimises the recovered reward (``"ppo"`` or ``"sac"``); empty: the task's default."""
    learner_config: Any = None
    """That learner's frozen config; ``None``: its preset for the task."""

    def __post_init__(self) -> None:
        check_fields(self)


def check_config(config: IQLearnConfig, spec: EnvSpec) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    if config.value_term not in VALUE_TERMS:
        raise IrlaxError(f"unknown value_term {config.value_term!r}; choose one of {', '.join(VALUE_TERMS)}")
    if config.activation not in ACTIVATIONS:
        raise IrlaxError(f"unknown activation {config.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not config.target_tau > 0:
        raise IrlaxError(f"target_tau must lie in (0, 1], got {config.target_tau}")
    if config.autotune and spec.discrete:
        raise IrlaxError("autotune adjusts the soft actor's temperature: discrete actions have no actor "
                         "(their policy is the softmax of Q / alpha)")
    if config.online and config.num_envs > config.buffer_size:
        raise IrlaxError(f"buffer_size ({config.buffer_size}) must hold one step of the {config.num_envs} environments")


# ---------------------------------------------------------------------------------------------------------------
# the objective: pure functions of a batch


def soft_value(q: Array, alpha: Array | float) -> Array:
    """``V(s) = alpha log sum_a exp(Q(s, a) / alpha)`` of ``q [..., A]``: ``[...]`` (discrete actions)."""
    return alpha * jax.nn.logsumexp(q / alpha, axis=-1)


def implicit_reward(q: Array, next_value: Array, terminated: Array, gamma: float) -> Array:
    """The inverse soft Bellman operator ``r = Q(s, a) - gamma (1 - terminated) V(s')`` (the paper's eq. 7).

    ``q``, ``next_value`` and ``terminated`` share their shape; a terminated step enters an absorbing state of
    value 0.
    """
    return q - gamma * (1.0 - jnp.asarray(terminated, q.dtype)) * next_value


def value_difference(value: Array, next_value: Array, terminated: Array, gamma: float) -> Array:
    """``V(s) - gamma (1 - terminated) V(s')`` of each transition: the value term of the "difference" form."""
    return value - gamma * (1.0 - jnp.asarray(terminated, value.dtype)) * next_value


def _mean(x: Array, weights: Array | None) -> Array:
    if weights is None:
        return jnp.mean(x)
    return jnp.sum(weights * x) / jnp.sum(weights)


def inverse_soft_q_loss(
    expert_reward: Array,
    value_term: Array,
    regularized_reward: Array | None = None,
    chi2_alpha: float = 0.5,
    expert_weights: Array | None = None,
    value_weights: Array | None = None,
    regularized_weights: Array | None = None,
) -> Array:
    """The negated IQ-Learn objective ``-E_expert[r] + E[value term] + E_reg[r^2] / (4 chi2_alpha)``.

    With ``regularized_reward`` the expert's rewards, this is ``-(E_expert[phi(r)] - value term)`` for the
    chi-squared ``phi(x) = x - x^2 / (4 chi2_alpha)``; with the expert's and the policy's rewards it is the
    regulariser on their mixture; ``None``: no regulariser (``phi(x) = x``).

    Args:
        expert_reward: ``[B]`` implicit rewards :func:`implicit_reward` of expert transitions.
        value_term: ``[M]`` :func:`value_difference` of the value transitions, or ``(1 - gamma) V(s0)``.
        regularized_reward: ``[R]`` implicit rewards the chi-squared penalty applies to, or ``None``.
        chi2_alpha: the regulariser's weight ``c``.
        expert_weights, value_weights, regularized_weights: optional weights of weighted means (exact expectations
            over every state-action of a tabular problem, say); ``None``: plain means.

    Returns:
        ``[]`` the loss to minimise.
    """
    loss = -_mean(expert_reward, expert_weights) + _mean(value_term, value_weights)
    if regularized_reward is not None:
        loss = loss + _mean(regularized_reward**2, regularized_weights) / (4.0 * chi2_alpha)
    return loss


# ---------------------------------------------------------------------------------------------------------------
# networks and the policy (SAC's networks, one soft Q-function)


class IQParams(NamedTuple):
    """The learned soft Q-function and what its value needs: the policy and the recovered reward's parameters.

    Attributes:
        critic: the Q-network's parameters (SAC's critic network, leaves stacked ``[1, ...]``).
        actor: the soft actor's parameters (continuous actions; ``None`` for discrete ones).
        log_alpha: ``[]`` log-temperature.
        absorbing: ``[]`` the absorbing state's reward ``r_abs``; its value is ``V_abs = r_abs / (1 - gamma)``
            (trained with the Q-function when ``config.absorbing``).
    """

    critic: Any
    actor: Any
    log_alpha: Array
    absorbing: Array


class IQOptState(NamedTuple):
    """Adam's states of the Q-function, the actor and the log-temperature (``None`` where unused)."""

    critic: optax.OptState
    actor: optax.OptState
    alpha: optax.OptState


def sac_config(config: IQLearnConfig) -> SACConfig:
    """The SAC config whose networks IQ-Learn uses (sizes and activation; observations not normalised)."""
    return SACConfig(hidden=config.hidden, activation=config.activation, gamma=config.gamma, normalize_obs=False)


def q_of(config: IQLearnConfig, spec: EnvSpec, critic: Any, obs: Array, action: Array | None) -> Array:
    """``Q(s, .) [B, A]`` (discrete, ``action`` ignored) or ``Q(s, a) [B]`` (continuous) at ``obs [B, O]``."""
    return networks.q_values(sac_config(config), spec, critic, obs, action)[:, 0]


def state_values(
    config: IQLearnConfig, spec: EnvSpec, critic: Any, actor: Any, alpha: Array, obs: Array, key: Array
) -> Array:
    """``[B]`` soft values ``V(s)``: exact for discrete actions, one draw of the soft actor for continuous ones."""
    if spec.discrete:
        return soft_value(q_of(config, spec, critic, obs, None), alpha)
    action, log_prob = networks.sample_policy(sac_config(config), spec, actor, key, obs)
    return q_of(config, spec, critic, obs, action) - alpha * log_prob


def init_params(config: IQLearnConfig, spec: EnvSpec, key: Array) -> IQParams:
    """Fresh parameters: SAC's critic network as the one Q-function (leaves ``[1, ...]``), its actor for continuous
    actions, the log of the initial temperature."""
    critic_key, actor_key = jax.random.split(key)
    cfg = sac_config(config)
    obs = jnp.zeros((spec.obs_size,), jnp.float32)
    critic_input = obs if spec.discrete else jnp.concatenate([obs, jnp.zeros((spec.action_size,), jnp.float32)])
    critic = jax.vmap(networks.critic_network(cfg, spec).init, in_axes=(0, None))(critic_key[None], critic_input)
    actor = None if spec.discrete else networks.actor_network(cfg, spec).init(actor_key, obs)
    return IQParams(critic, actor, jnp.log(jnp.float32(config.alpha)), jnp.float32(0.0))


def taken_q(config: IQLearnConfig, spec: EnvSpec, critic: Any, obs: Array, action: Array) -> Array:
    """``[B]`` ``Q(s, a)`` of the taken actions."""
    q = q_of(config, spec, critic, obs, action)
    return jnp.take_along_axis(q, action[:, None], axis=1)[:, 0] if spec.discrete else q


@dataclass(frozen=True)
class IQPolicy:
    """IQ-Learn's policy family: ``softmax(Q / alpha)`` (discrete) or the soft actor (continuous).

    Parameters are :class:`IQParams`; usable wherever a learner's policy is (evaluation, rollouts).
    """

    config: IQLearnConfig
    spec: EnvSpec

    def _actor(self, params: IQParams) -> networks.PolicyParams:
        return networks.PolicyParams(params.actor, init_obs_stats(self.spec.obs_size))

    def act(self, params: IQParams, key: Array, obs: Array, deterministic: bool = False) -> tuple[Array, Array]:
        """An action for one observation ``obs [O]`` and its log-probability (the most likely one if
        ``deterministic``)."""
        if not self.spec.discrete:
            return networks.act(sac_config(self.config), self.spec, self._actor(params), key, obs, deterministic)
        logits = q_of(self.config, self.spec, params.critic, obs[None], None)[0] / jnp.exp(params.log_alpha)
        log_probs = jax.nn.log_softmax(logits)
        action = jnp.argmax(logits) if deterministic else jax.random.categorical(key, logits)
        action = action.astype(jnp.int32)
        return action, log_probs[action]

    def log_prob(self, params: IQParams, obs: Array, action: Array) -> Array:
        """``log pi(action | obs)`` for one observation ``obs [O]``."""
        if not self.spec.discrete:
            return networks.log_prob(sac_config(self.config), self.spec, self._actor(params), obs, action)
        logits = q_of(self.config, self.spec, params.critic, obs[None], None)[0] / jnp.exp(params.log_alpha)
        return jax.nn.log_softmax(logits)[action]


@dataclass(frozen=True)
class ExplorationPolicy:
    """The behaviour policy online: uniformly random actions while ``random`` is true, else IQ-Learn's policy.

    Parameters are ``(IQParams, random [] bool)``.
    """

    policy: IQPolicy

    def act(self, params: tuple[IQParams, Array], key: Array, obs: Array, deterministic: bool = False
            ) -> tuple[Array, Array]:
        """One action for ``obs [O]`` and its log-probability."""
        iq_params, random = params
        policy_key, random_key = jax.random.split(key)
        action, log_prob = self.policy.act(iq_params, policy_key, obs, deterministic)
        uniform, uniform_log_prob = networks.random_actions(self.policy.spec, random_key, 1)
        return jnp.where(random, uniform[0], action), jnp.where(random, uniform_log_prob[0], log_prob)


def recovered_reward(config: IQLearnConfig, spec: EnvSpec, params: IQParams, obs: Array, action: Array,
                     next_obs: Array, terminated: Array) -> Array:
    """The recovered reward ``r(s, a, s') = Q(s, a) - gamma (1 - terminated) V(s')`` of one transition ``[]``.

    ``V(s')`` is exact for discrete actions; for continuous ones it averages :data:`REWARD_VALUE_SAMPLES` draws of
    the soft actor with fixed noise.
    """
    alpha = jnp.exp(params.log_alpha)
    q = taken_q(config, spec, params.critic, obs[None], jnp.asarray(action)[None])[0]
    if spec.discrete:
        next_value = soft_value(q_of(config, spec, params.critic, next_obs[None], None)[0], alpha)
    else:
        many = jnp.broadcast_to(next_obs, (REWARD_VALUE_SAMPLES, *next_obs.shape))
        next_value = jnp.mean(state_values(config, spec, params.critic, params.actor, alpha, many,
                                           jax.random.PRNGKey(0)))
    return implicit_reward(q, next_value, terminated, config.gamma)


# ---------------------------------------------------------------------------------------------------------------
# state, metrics and one gradient step


class IQLearnState(NamedTuple):
    """The whole training state (a pytree; leaves get a leading seed axis under ``vmap``).

    Attributes:
        params: the soft Q-function, actor and temperature (:class:`IQParams`).
        target_critic: the Polyak-averaged Q-function ``V(s')`` is computed with (when ``target_tau < 1``).
        opt_state: :class:`IQOptState`.
        envs: online: the environments mid-episode (``None`` offline).
        buffer: online: the policy's most recent transitions (``None`` offline).
        key: PRNG key for the next round.
        env_steps: ``float32 []`` environment steps so far.
        updates: ``int32 []`` gradient steps so far.
    """

    params: IQParams
    target_critic: Any
    opt_state: IQOptState
    envs: EnvCarry | None
    buffer: ReplayBuffer | None
    key: Array
    env_steps: Array
    updates: Array


class StepInfo(NamedTuple):
    """One gradient step's record (means over its minibatch).

    Attributes:
        reward_loss: the inverse soft-Q loss (the negated objective).
        expert_reward: mean recovered reward of the expert transitions.
        policy_reward: mean recovered reward of the policy transitions (NaN offline).
        value_term: mean of the value term.
        q_mean: mean ``Q(s, a)`` of the expert transitions.
        absorbing_value: the absorbing state's value ``V_abs``.
        alpha: the temperature.
        actor_loss: the soft actor's loss (NaN for discrete actions).
    """

    reward_loss: Array
    expert_reward: Array
    policy_reward: Array
    value_term: Array
    q_mean: Array
    absorbing_value: Array
    alpha: Array
    actor_loss: Array


class IQLearnMetrics(NamedTuple):
    """One round's record (leaves ``[]``, ``[rounds]`` after a scan; the run driver flattens ``losses``).

    Attributes:
        env_steps: environment steps so far (0 offline).
        mean_return: mean true return of the policy's episodes that ended this round (NaN if none; offline).
        losses: the :class:`StepInfo` of the round's gradient steps, averaged.
    """

    env_steps: Array
    mean_return: Array
    losses: StepInfo


def optimizers(config: IQLearnConfig) -> IQOptState:
    """Adam for the Q-function, the actor and the log-temperature."""
    return IQOptState(optax.adam(config.critic_lr), optax.adam(config.actor_lr), optax.adam(config.alpha_lr))


def initial_states(demos: Demonstrations, key: Array, batch_size: int) -> Array:
    """``[B, O]`` first observations of the demonstrations' episodes, drawn uniformly with replacement."""
    index = jax.random.randint(key, (batch_size,), 0, demos.obs.shape[0])
    return demos.obs[index, 0]


def absorbing_weight(gamma: float) -> float:
    """``gamma / (1 - gamma)``: the discounted occupancy of the absorbing state after one terminated step, relative to
    the step's own. With it the value terms telescope (``V(s) - gamma V_abs`` plus that many absorbing steps of
    ``(1 - gamma) V_abs`` is ``V(s)``), so the absorbing state's value is set by its reward alone."""
    return gamma / (1.0 - gamma)


def iq_loss(
    config: IQLearnConfig, spec: EnvSpec, critic: Any, target_critic: Any, actor: Any, alpha: Array,
    expert: Transition, policy: Transition | None, starts: Array | None, key: Array, absorbing: Array | float = 0.0,
) -> tuple[Array, StepInfo]:
    """The inverse soft-Q loss of a minibatch as a function of the Q-function's parameters ``critic`` (and of the
    absorbing state's reward ``absorbing``).

    ``expert`` (and ``policy`` online) are batches of transitions ``[B]``; ``starts [B, O]`` first states for the
    ``"initial"`` value term. ``V(s')`` uses ``target_critic`` without gradient when ``target_tau < 1``.

    With ``config.absorbing`` a terminated step enters the absorbing state, of value ``V_abs = absorbing / (1 -
    gamma)``, and each terminated step of a batch adds one step of the absorbing state to itself (reward and value
    difference both ``(1 - gamma) V_abs``) to that batch's terms with weight :func:`absorbing_weight` (the
    discounted occupancy of the absorbing state after the terminated step), as Discriminator-Actor-Critic adds
    absorbing transitions (Kostrikov et al. 2019); without it ``V_abs = 0`` and no steps are added.
    """
    batches = [expert] if policy is None else [expert, policy]
    obs = jnp.concatenate([b.obs for b in batches])
    next_obs = jnp.concatenate([b.next_obs for b in batches])
    terminated = jnp.concatenate([b.terminated for b in batches])
    size = expert.obs.shape[0]
    value_key, next_key = jax.random.split(key)
    next_critic = critic if config.target_tau >= 1.0 else jax.lax.stop_gradient(target_critic)
    next_value = state_values(config, spec, next_critic, actor, alpha, next_obs, next_key)
    q = taken_q(config, spec, critic, obs, jnp.concatenate([b.action for b in batches]))
    if config.absorbing:
        next_value = jnp.where(terminated, absorbing / (1.0 - config.gamma), next_value)
        bootstraps = jnp.zeros_like(terminated)
    else:
        bootstraps = terminated
    reward = implicit_reward(q, next_value, bootstraps, config.gamma)
    if config.value_term == "initial":
        value_term = (1.0 - config.gamma) * state_values(config, spec, critic, actor, alpha, starts, value_key)
    else:
        value = state_values(config, spec, critic, actor, alpha, obs, value_key)
        value_term = value_difference(value, next_value, bootstraps, config.gamma)
    # the absorbing state's steps, one per terminated step (weight 0 elsewhere, or without absorbing states)
    added = jnp.where(config.absorbing, terminated.astype(reward.dtype) * absorbing_weight(config.gamma), 0.0)
    absorbing_reward = jnp.broadcast_to(jnp.asarray(absorbing, reward.dtype), reward.shape)
    ones = jnp.ones_like(reward)
    with_absorbing = lambda x, n: jnp.concatenate([x[:n], absorbing_reward[:n]])
    weights = lambda n: jnp.concatenate([ones[:n], added[:n]])
    total = reward.shape[0]
    regularized = reg_weights = None
    if config.chi2:
        reg_size = total if (policy is not None and config.chi2_policy) else size
        regularized, reg_weights = with_absorbing(reward, reg_size), weights(reg_size)
    value_rows, value_weights = value_term, None
    if config.value_term == "difference":
        value_rows, value_weights = with_absorbing(value_term, total), weights(total)
    loss = inverse_soft_q_loss(with_absorbing(reward, size), value_rows, regularized, config.chi2_alpha,
                               weights(size), value_weights, reg_weights)
    policy_reward = jnp.mean(reward[size:]) if policy is not None else jnp.float32(jnp.nan)
    info = StepInfo(loss, jnp.mean(reward[:size]), policy_reward, jnp.mean(value_term), jnp.mean(q[:size]),
                    jnp.asarray(absorbing, jnp.float32) / (1.0 - config.gamma), alpha, jnp.float32(jnp.nan))
    return loss, info


def gradient_step(
    config: IQLearnConfig, spec: EnvSpec, demos: Demonstrations, buffer: ReplayBuffer | None,
    carry: tuple[IQParams, Any, IQOptState], key: Array,
) -> tuple[tuple[IQParams, Any, IQOptState], StepInfo]:
    """One step of the Q-function on :func:`iq_loss`, then (continuous actions) of the soft actor against the updated
    Q-function (SAC's actor loss) and of the temperature (``autotune``), then the target's Polyak step."""
    expert_key, policy_key, start_key, loss_key, actor_key = jax.random.split(key, 5)
    params, target_critic, opt_state = carry
    opts = optimizers(config)
    expert = sample_expert_transitions(demos, expert_key, config.batch_size)
    policy = replay_sample(buffer, policy_key, config.batch_size) if buffer is not None else None
    starts = initial_states(demos, start_key, config.batch_size) if config.value_term == "initial" else None
    alpha = jnp.exp(params.log_alpha)

    loss_fn = lambda trained: iq_loss(config, spec, trained[0], target_critic, params.actor, alpha, expert, policy,
                                      starts, loss_key, trained[1])
    trained = (params.critic, params.absorbing)
    (_, info), grads = jax.value_and_grad(loss_fn, has_aux=True)(trained)
    updates, critic_opt = opts.critic.update(grads, opt_state.critic, trained)
    critic, absorbing = optax.apply_updates(trained, updates)
    actor, actor_opt, log_alpha, alpha_opt = params.actor, opt_state.actor, params.log_alpha, opt_state.alpha

    if not spec.discrete:
        obs = expert.obs if policy is None else jnp.concatenate([expert.obs, policy.obs])
        cfg = sac_config(config)

        def actor_loss(actor_params: Any) -> tuple[Array, Array]:
            action, log_prob = networks.sample_policy(cfg, spec, actor_params, actor_key, obs)
            q = networks.q_values(cfg, spec, critic, obs, action)
            return jnp.mean(jax.vmap(sac_actor_loss, in_axes=(0, 0, None))(q, log_prob, alpha)), log_prob

        (a_loss, log_probs), grads = jax.value_and_grad(actor_loss, has_aux=True)(actor)
        updates, actor_opt = opts.actor.update(grads, actor_opt, actor)
        actor = optax.apply_updates(actor, updates)
        info = info._replace(actor_loss=a_loss)
        if config.autotune:
            entropy_target = -float(spec.action_size) if config.target_entropy is None else config.target_entropy
            temperature_loss = lambda la: jnp.mean(
                jax.vmap(sac_temperature_loss, in_axes=(None, 0, None))(la, log_probs, entropy_target))
            grad = jax.grad(temperature_loss)(log_alpha)
            update, alpha_opt = opts.alpha.update(grad, alpha_opt, log_alpha)
            log_alpha = optax.apply_updates(log_alpha, update)

    if config.target_tau < 1.0:
        target_critic = optax.incremental_update(critic, target_critic, config.target_tau)
    new = (IQParams(critic, actor, log_alpha, absorbing), target_critic, IQOptState(critic_opt, actor_opt, alpha_opt))
    return new, info


# ---------------------------------------------------------------------------------------------------------------
# presets


MUJOCO: dict[str, Any] = {"hidden": (256, 256), "batch_size": 256, "critic_lr": 3e-4, "actor_lr": 3e-5,
                          "alpha": 0.01, "target_tau": 0.005, "absorbing": False, "rounds": 1000}
"""The paper's settings for MuJoCo, as its authors' published MuJoCo runs give them (SAC's 256 x 256 networks and
batches of 256, a fixed low temperature of 0.01, a soft-updated target critic, the actor's step size a tenth of the
critic's; on Ant a temperature of 0.001; a terminated step's successor worth 0, no learned absorbing state), for 100k
environment steps (those runs go to 500k)."""

PRESETS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {},  # the defaults were tuned here (one demonstration, online)
    # continuous actions: a slowly moving target critic, a learned temperature, 30k steps
    "Pendulum-v1": {"rounds": 300, "autotune": True, "critic_lr": 3e-4, "target_tau": 0.005},
    # MuJoCo: the paper's settings; its value term is the initial states' on Hopper and Walker2d
    "Hopper-v5": {**MUJOCO, "value_term": "initial"},
    "Walker2d-v5": {**MUJOCO, "value_term": "initial"},
    "HalfCheetah-v5": MUJOCO,
    "Ant-v5": {**MUJOCO, "alpha": 1e-3},
    "Swimmer-v5": MUJOCO,
}
"""Tuned settings per task; a task without an entry gets the defaults (Acrobot-v1 reaches the expert with them).

Pendulum-v1 (10 demonstrations, 5 seeds, expert-normalised, deterministic; ``irlax train iq-learn --set ...``):
the defaults (2k steps) -0.07; 10k steps with a learned temperature 0.44, with ``alpha=0.01`` instead 0.28; 30k
steps 0.50, with ``critic_lr=3e-4`` 0.56, and 100k steps of that 0.64; the same 30k with the target critic moving
by ``target_tau=0.005`` a step (Polyak averaging, instead of a copy every step) 1.00 [0.99, 1.03].

MuJoCo (:data:`MUJOCO`, not tuned here; Swimmer-v5, which the paper leaves out, gets HalfCheetah's): on Hopper-v5
with 10 demonstrations the defaults (64 x 64, ``alpha=0.1``, no target critic) reached training returns of 100-130
of the expert's 3569 over 100k steps and a deterministic normalised return of 0.20 (0.45, 0.03, 0.02, 0.29; 4 seeds;
``benchmarks/mujoco_irl.py``, 2026-12-07); the paper's settings with the learned absorbing state (``absorbing=True``)
fell from training returns of 364 at 4.6k steps to 13 at 13.6k, the absorbing state's reward (1.2 a step) above the
policy's own transitions' (0.3), so that falling paid."""


def preset(env_name: str, learner: str = "") -> IQLearnConfig:
    """IQ-Learn's config for the task ``env_name`` (with ``learner`` recorded for re-optimisation)."""
    return IQLearnConfig(learner=learner, **PRESETS.get(env_name, {}))


# ---------------------------------------------------------------------------------------------------------------
# the algorithm


def make_iq_learn(config: IQLearnConfig, env: Env) -> Algorithm:
    """IQ-Learn in ``env`` with ``config``.

    Its ``reward_fn(params, obs, action, next_obs, terminated)`` is the recovered reward of ``reward(state, data)``
    (an :class:`IQParams`); its ``act`` is :class:`IQPolicy`; ``learner`` is the learner that re-optimises the
    recovered reward (the task's default unless the config names one).

    Raises:
        IrlaxError: a bad setting.
    """
    spec = env.spec
    check_config(config, spec)
    learner = make_inner_learner(config, spec)
    policy_family = IQPolicy(config, spec)
    explorer = ExplorationPolicy(policy_family)
    opts = optimizers(config)
    steps_per_update = config.num_envs if config.online else 0

    def reward_fn(params: IQParams, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        return recovered_reward(config, spec, params, obs, action, next_obs, terminated)

    def start(key: Array, envs: EnvCarry | None) -> IQLearnState:
        params_key, key = jax.random.split(key)
        params = init_params(config, spec, params_key)
        opt_state = IQOptState(opts.critic.init((params.critic, params.absorbing)),
                               None if params.actor is None else opts.actor.init(params.actor),
                               opts.alpha.init(params.log_alpha))
        buffer = init_replay(example_transition(spec), config.buffer_size) if config.online else None
        return IQLearnState(params, params.critic, opt_state, envs, buffer, key, jnp.float32(0), jnp.int32(0))

    def init(key: Array, demos: Demonstrations) -> IQLearnState:
        check_demos(demos, spec)
        env_key, key = jax.random.split(key)
        return start(key, init_envs(env, env_key, config.num_envs) if config.online else None)

    def random_phase(state: IQLearnState) -> Array:
        return state.env_steps < config.random_steps

    def learn(demos: Demonstrations, state: IQLearnState, samples: Transition | None, key: Array
              ) -> tuple[IQLearnState, StepInfo]:
        """The step's samples (``[E]``) into the buffer, then one gradient step (pure)."""
        buffer = replay_add(state.buffer, samples) if samples is not None else None
        carry = (state.params, state.target_critic, state.opt_state)
        (params, target_critic, opt_state), info = gradient_step(config, spec, demos, buffer, carry, key)
        new = IQLearnState(params, target_critic, opt_state, state.envs, buffer, state.key,
                           state.env_steps + steps_per_update, state.updates + 1)
        return new, info

    def one_update(demos: Demonstrations, carry: tuple[IQLearnState, EpisodeStats], key: Array
                   ) -> tuple[tuple[IQLearnState, EpisodeStats], StepInfo]:
        state, episodes = carry
        learn_key, act_key, env_key = jax.random.split(key, 3)
        samples = None
        if config.online:
            behaviour = (state.params, random_phase(state))
            act_keys = jax.random.split(act_key, config.num_envs)
            action, log_prob = jax.vmap(lambda k, o: explorer.act(behaviour, k, o))(act_keys, state.envs.obs)
            envs, samples, ended = step_envs(env, state.envs, env_key, action, log_prob)
            state, episodes = state._replace(envs=envs), episodes.add(ended)
        state, info = learn(demos, state, samples, learn_key)
        return (state, episodes), info

    def finish(state: IQLearnState, episodes: EpisodeStats, infos: StepInfo, key: Array
               ) -> tuple[IQLearnState, IQLearnMetrics]:
        means = jax.tree.map(lambda x: jnp.mean(x, axis=0), infos)
        metrics = IQLearnMetrics(state.env_steps, episodes.mean_return(), means)
        return state._replace(key=key), metrics

    def one_round(demos: Demonstrations, state: IQLearnState) -> tuple[IQLearnState, IQLearnMetrics]:
        key, round_key = jax.random.split(state.key)
        body = lambda carry, k: one_update(demos, carry, k)
        (state, episodes), infos = jax.lax.scan(
            body, (state, EpisodeStats.zero()), jax.random.split(round_key, config.updates_per_round))
        return finish(state, episodes, infos, key)

    def update(state: IQLearnState, demos: Demonstrations, num_rounds: int) -> tuple[IQLearnState, IQLearnMetrics]:
        check_demos(demos, spec)
        return jax.lax.scan(lambda s, _: one_round(demos, s), state, None, length=num_rounds)

    # host-stepped environments: the environment steps from Python, everything else jitted and vmapped over seeds
    seeds = host.jit_over_seeds
    host_start = seeds(start, 0, 0)
    host_offline = jax.jit(lambda s, d, n: jax.vmap(lambda one: update(one, d, n))(s), static_argnums=2)
    split_init = seeds(lambda k: tuple(jax.random.split(k)), 0)
    split_round = seeds(lambda k: tuple(jax.random.split(k)), 0)
    split_update = seeds(lambda k: tuple(jax.random.split(k, 3)), 0)
    host_learn = seeds(learn, None, 0, 0, 0)
    behaviours = seeds(lambda s: (s.params, random_phase(s)), 0)
    host_finish = seeds(finish, 0, 0, 0, 0)

    def host_init(keys: Array, demos: Demonstrations) -> IQLearnState:
        check_demos(demos, spec)
        env_keys, keys = split_init(keys)
        envs = host.reset_envs(env, env_keys, config.num_envs) if config.online else None
        return host_start(keys, envs)

    def host_round(demos: Demonstrations, state: IQLearnState) -> tuple[IQLearnState, IQLearnMetrics]:
        key, round_key = split_round(state.key)
        seeds_count = key.shape[0]
        episodes = EpisodeStats(*(jnp.zeros((seeds_count,), jnp.float32) for _ in range(3)))
        infos = []
        for _ in range(config.updates_per_round):
            learn_key, act_key, round_key = split_update(round_key)
            envs, samples, _, ended = host.collect_policy(explorer, env, behaviours(state), state.envs, act_key, 1)
            samples = jax.tree.map(lambda x: jnp.asarray(x[:, 0]), samples)
            state, info = host_learn(demos, state._replace(envs=envs), samples, learn_key)
            episodes = episodes.add(ended)
            infos.append(info)
        return host_finish(state, episodes, jax.tree.map(lambda *xs: jnp.stack(xs, axis=1), *infos), key)

    def host_update(state: IQLearnState, demos: Demonstrations, num_rounds: int) -> tuple[IQLearnState, Any]:
        check_demos(demos, spec)
        if not config.online:
            return host_offline(state, demos, num_rounds)
        return host.repeat_rounds(lambda s: host_round(demos, s), state, num_rounds)

    return Algorithm(
        name="iq-learn", config=config, num_steps=config.rounds, init=init, update=update, metrics=IQLearnMetrics,
        policy=lambda state, demos: state.params, reward=lambda state, demos: state.params, act=policy_family,
        reward_fn=reward_fn, spec=spec, env=env, learner=learner, description=DESCRIPTION,
        host_init=host_init, host_update=host_update,
    )

