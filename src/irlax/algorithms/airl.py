"""Adversarial inverse reinforcement learning (Fu, Luo & Levine 2018).

The discriminator has the form ``D(s, a, s') = exp f / (exp f + pi(a|s))`` with

    f(s, a, s') = g(s) + gamma h(s') - h(s)        (state-only, ``state_only=True``)
    f(s, a, s') = g(s, a) + gamma h(s') - h(s)     (state-action)

so its logit is ``f - log pi(a|s)`` (:func:`airl_logits`). At the optimum ``g``
recovers the reward up to a constant (state-only, deterministic dynamics) and
``h`` the value function; ``g`` is the *disentangled* reward that transfers to
new dynamics, ``f`` the shaped one. A terminal ``s'`` has potential 0
(``h(s')`` is dropped when ``terminated``).

The policy's reward (``policy_reward``):

- ``"logit"``: ``log D - log(1 - D) = f - log pi(a|s)``, the paper's (the entropy
  bonus comes with it; best with PPO, whose entropy bonus is off);
- ``"shaped"``: ``f`` alone, for a learner with its own entropy term (SAC, whose
  temperature then sets the weight of ``-log pi``; with ``"logit"`` SAC failed on
  Pendulum in our tuning runs, with ``"shaped"`` it matched the expert);
- ``"recovered"``: ``g`` alone, for a learner with its own entropy term. Potential shaping leaves the
  (soft-)optimal policy unchanged, so at the optimum this is the same policy as ``"shaped"``; but the learner
  then makes progress only as far as ``g`` itself carries the task, so ``g`` is pushed to be a reward a fresh
  learner can re-optimise, rather than leaving the direction to the shaping ``h``;
- ``"softplus"``: ``-log(1 - D) = softplus(f - log pi)``, GAIL's usual form on AIRL's discriminator, with the
  absorbing state's ``softplus`` of its logit (Ho & Ermon's reward; never negative, so a step the discriminator
  scores as unlike the expert's costs nothing rather than more than ending the episode). The logit form is
  unbounded below: on CartPole-v1 a policy that had imitated drifted down once its per-step reward fell to about
  the absorbing state's (see docs/design.md, "AIRL's drift on CartPole"); this form is AIRL's preset with PPO on
  CartPole-v1 and Hopper-v5, tasks a fall ends (:data:`irlax.algorithms.registry.TASK_FIELDS`; on Walker2d-v5
  it did worse than the logit);
- ``"auto"`` (default): ``"shaped"`` with SAC, ``"logit"`` otherwise.

With SAC, ``f - alpha log pi`` is the AIRL identity's ``f - log pi`` only at temperature ``alpha = 1``, so AIRL's
preset fixes SAC's temperature there (:data:`irlax.algorithms.registry.AIRL_SAC`).

:func:`learned_reward` gives ``g`` (``kind="recovered"``) or ``f`` (``kind="shaped"``)
for re-optimisation. The training loop is :mod:`irlax.algorithms.adversarial`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.algorithms import adversarial
from irlax.algorithms.adversarial import AdversarialConfig, Discriminator, make_adversarial
from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import make_inner_learner
from irlax.data.transitions import RewardFn, Transition
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners.base import Learner
from irlax.rewards.transition import InputStats, TransitionReward, mlp_transition_reward
from irlax.tasks import Env

DESCRIPTION = "adversarial IRL with a disentangled reward (Fu, Luo & Levine 2018)"

POLICY_REWARDS = ("auto", "logit", "shaped", "recovered", "softplus")
"""What the policy is trained on (see the module docstring)."""
PENALTY_TARGETS = ("logit", "g")
"""What the gradient penalty (``gradient_penalty``) is on: the whole logit ``f - log pi``, or the reward ``g``
alone (the shaping ``h`` left free to explain the expert's sharp action choices)."""

REWARD_KINDS = ("recovered", "shaped")
"""Which learned reward :func:`learned_reward` returns: ``g`` or ``f``."""


@dataclass(frozen=True)
class AIRLConfig(AdversarialConfig):
    """AIRL's configuration (the shared fields are documented on the base classes)."""

    state_only: bool = True
    """``g(s)`` (the disentangled reward that transfers) instead of ``g(s, a)``."""
    policy_reward: str = "auto"
    """The policy's reward: ``"logit"`` (``f - log pi``), ``"shaped"`` (``f``), ``"recovered"`` (``g``),
    ``"softplus"`` (``softplus(f - log pi)``), or ``"auto"``: ``"shaped"`` for SAC (which adds its own
    ``-alpha log pi``), ``"logit"`` otherwise."""
    g_linear: bool = False
    """``g`` linear in its (standardised) inputs, as in the paper's transfer experiments ("a linear function
    approximator for the reward term g and a 2-layer ReLU network for the shaping term h", Fu et al. 2018, appendix
    D); the shaping ``h`` stays an MLP of ``hidden``. Otherwise both are MLPs of ``hidden``."""
    penalty_on: str = "logit"
    """What ``gradient_penalty`` smooths (:data:`PENALTY_TARGETS`): ``"logit"``, the discriminator's whole logit,
    or ``"g"``, the recovered reward alone, so it stays bounded where the expert does not go while the shaping
    ``h`` stays as sharp as the expert's choices need."""


def airl_shaped_reward(g: Array, h: Array, h_next: Array, terminated: Array, gamma: float) -> Array:
    """AIRL's ``f = g + gamma h(s') - h(s)``, with ``h(s') = 0`` for a terminal ``s'`` (Fu et al. 2018, eq. 4)."""
    return g + gamma * jnp.where(terminated, 0.0, h_next) - h


def airl_logits(f: Array, log_pi: Array) -> Array:
    """The discriminator's logit ``log D - log(1 - D) = f - log pi(a|s)`` for ``D = exp f / (exp f + pi)``."""
    return f - log_pi


class AIRLReward(NamedTuple):
    """AIRL's networks and its shaped reward.

    Attributes:
        g: the reward ``g(s)`` or ``g(s, a)``.
        h: the potential ``h(s)``.
        shaped: ``f(params, obs, action, next_obs, terminated)`` with params ``{"g", "h", "absorbing"}``, plus
            the absorbing state's value ``gamma / (1 - gamma) g_abs`` on terminal steps when ``absorbing``.
        recovered: ``g`` as a ``reward_fn`` (with the same absorbing value).
        f: ``f`` of the transition alone (no absorbing value), the discriminator's.
    """

    g: TransitionReward
    h: TransitionReward
    f: RewardFn
    shaped: RewardFn
    recovered: RewardFn


def airl_reward(config: AIRLConfig, spec: EnvSpec, gamma: float) -> AIRLReward:
    """The networks ``g`` and ``h`` (inputs standardised by the demonstrations) and ``f``, with discount ``gamma``."""
    g = mlp_transition_reward(spec, () if config.g_linear else config.hidden, config.activation,
                              state_only=config.state_only)
    h = mlp_transition_reward(spec, config.hidden, config.activation, state_only=True)

    def f(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        return airl_shaped_reward(
            g.apply(params["g"], obs, action), h.apply(params["h"], obs, action),
            h.apply(params["h"], next_obs, action), terminated, gamma,
        )

    def shaped(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        return adversarial.with_absorbing_value(f(params, obs, action, next_obs, terminated), params, terminated,
                                                gamma, absorbing=config.absorbing)

    def recovered(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        return adversarial.with_absorbing_value(g.apply(params["g"], obs, action), params, terminated, gamma,
                                                absorbing=config.absorbing)

    return AIRLReward(g, h, f, shaped, recovered)


def resolved_policy_reward(policy_reward: str, learner_name: str) -> str:
    """The policy reward ``policy_reward`` names, with ``"auto"`` resolved for the learner named ``learner_name``
    (``"shaped"`` for ``"sac"``, ``"logit"`` otherwise)."""
    if policy_reward not in POLICY_REWARDS:
        raise IrlaxError(f"unknown AIRL policy_reward {policy_reward!r}; choose one of {', '.join(POLICY_REWARDS)}")
    if policy_reward != "auto":
        return policy_reward
    return "shaped" if learner_name == "sac" else "logit"


def policy_reward_kind(config: AIRLConfig, learner: Learner) -> str:
    """The config's ``policy_reward`` with ``"auto"`` resolved for the learner (``"shaped"`` or ``"logit"``)."""
    return resolved_policy_reward(config.policy_reward, learner.name)


def discriminator(config: AIRLConfig, spec: EnvSpec, learner: Learner) -> Discriminator:
    """AIRL's discriminator; parameters ``{"g": ..., "h": ..., "absorbing": []}``."""
    kind = policy_reward_kind(config, learner)
    if config.penalty_on not in PENALTY_TARGETS:
        raise IrlaxError(f"unknown AIRL penalty_on {config.penalty_on!r}; choose one of {', '.join(PENALTY_TARGETS)}")
    gamma = adversarial.discount(config, learner)
    nets = airl_reward(config, spec, gamma)

    def init(key: Array, stats: InputStats) -> dict:
        g_key, h_key = jax.random.split(key)
        return {"g": nets.g.init(g_key, stats), "h": nets.h.init(h_key, stats), "absorbing": jnp.float32(0.0)}

    def logit(params: dict, transition: Transition, log_pi: Array) -> Array:
        # the absorbing state after a terminal step is discriminated on its own (``absorbing_logit``)
        f = nets.f(params, transition.obs, transition.action, transition.next_obs, transition.terminated)
        return airl_logits(f, log_pi)

    def reward(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array, log_pi: Array) -> Array:
        if kind == "recovered":
            return nets.recovered(params, obs, action, next_obs, terminated)
        if kind == "softplus":
            value = jax.nn.softplus(airl_logits(nets.f(params, obs, action, next_obs, terminated), log_pi))
            return adversarial.with_absorbing_value(value, params, terminated, gamma, jax.nn.softplus,
                                                    config.absorbing)
        f = nets.shaped(params, obs, action, next_obs, terminated)
        return airl_logits(f, log_pi) if kind == "logit" else f

    def g_alone(params: dict, transition: Transition) -> Array:
        return nets.g.apply(params["g"], transition.obs, transition.action)

    return Discriminator(init, logit, reward, uses_log_pi=True, absorbing_logit=adversarial.absorbing_logit,
                         penalised=g_alone if config.penalty_on == "g" else None)


def learned_reward(config: AIRLConfig, spec: EnvSpec, gamma: float, kind: str = "recovered") -> RewardFn:
    """The learned reward as ``reward_fn(params, obs, action, next_obs, terminated)`` of ``state.reward_params``.

    ``kind="recovered"``: ``g(s)`` (or ``g(s, a)``), the reward to transfer; ``"shaped"``: ``f(s, a, s')``.
    ``gamma`` is the discount of the shaping (the algorithm's, see :func:`irlax.algorithms.adversarial.discount`).
    """
    if kind not in REWARD_KINDS:
        raise IrlaxError(f"unknown AIRL reward kind {kind!r}; choose one of {', '.join(REWARD_KINDS)}")
    nets = airl_reward(config, spec, gamma)
    return nets.recovered if kind == "recovered" else nets.shaped


def make_airl(config: AIRLConfig, env: Env, reward_kind: str = "recovered") -> Algorithm:
    """AIRL in ``env`` with ``config``; its ``reward_fn`` is :func:`learned_reward` of kind ``reward_kind``
    (``g``, the reward to transfer, by default).

    Raises:
        IrlaxError: a bad setting.
    """
    learner = make_inner_learner(config, env.spec)
    gamma = adversarial.discount(config, learner)
    reward_fn = learned_reward(config, env.spec, gamma, reward_kind)
    disc = discriminator(config, env.spec, learner)
    return make_adversarial("airl", config, env, learner, disc, reward_fn, DESCRIPTION)
