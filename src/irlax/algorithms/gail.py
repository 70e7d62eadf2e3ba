"""Generative adversarial imitation learning (Ho & Ermon 2016).

A discriminator ``D(s, a) = sigmoid(logit(s, a))`` learns to tell expert
state-actions from the policy's (logistic loss, expert = 1); the policy is
trained by a forward learner on a reward that grows with ``D``. The training
loop is the adversarial one of :mod:`irlax.algorithms.adversarial`.

The policy's reward (``reward_type``):

- ``"softplus"``: ``-log(1 - D) = softplus(logit)``, positive (the choice of the
  ``imitation`` library and of most GAIL code; a survival bonus on tasks that end
  early when things go wrong, such as CartPole);
- ``"log_d"``: ``log D = -softplus(-logit)``, negative (the paper's cost ``log D``
  with the sign convention flipped; a bonus for ending early);
- ``"logit"``: ``log D - log(1 - D)``, the sum of the two (AIRL's form).

Usage::

    algo = make_gail(GAILConfig(rounds=200), env)     # env = irlax.tasks.make_env("CartPole-v1")
    state, metrics = algo.update(algo.init(key, demos), demos, algo.num_steps)
    r = algo.reward_fn(state.reward_params, obs, action, next_obs, terminated)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax import Array

from irlax.algorithms import adversarial
from irlax.algorithms.adversarial import AdversarialConfig, Discriminator, make_adversarial
from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import make_inner_learner
from irlax.data.transitions import Transition
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.rewards.transition import InputStats, absorbing_bonus, mlp_transition_reward
from irlax.tasks import Env

DESCRIPTION = "generative adversarial imitation learning (Ho & Ermon 2016)"

REWARD_TYPES = ("softplus", "log_d", "logit")
"""The policy's reward as a function of the discriminator's logit (see the module docstring)."""


@dataclass(frozen=True)
class GAILConfig(AdversarialConfig):
    """GAIL's configuration (the shared fields are documented on the base classes)."""

    reward_type: str = "softplus"
    """The policy's reward: ``"softplus"`` (``-log(1 - D)``), ``"log_d"`` (``log D``) or ``"logit"``."""


def gail_policy_reward(logit: Array, reward_type: str) -> Array:
    """The policy's reward for a discriminator ``logit`` (expert-ness) under ``reward_type``."""
    if reward_type == "softplus":
        return jax.nn.softplus(logit)
    if reward_type == "log_d":
        return -jax.nn.softplus(-logit)
    if reward_type == "logit":
        return logit
    raise IrlaxError(f"unknown GAIL reward_type {reward_type!r}; choose one of {', '.join(REWARD_TYPES)}")


def discriminator(config: GAILConfig, spec: EnvSpec, gamma: float) -> Discriminator:
    """GAIL's discriminator: an MLP logit of the state-action (inputs standardised by the demonstrations)
    and a learned logit of the absorbing state (discount ``gamma``); parameters ``{"d": ..., "absorbing": []}``."""
    if config.reward_type not in REWARD_TYPES:
        raise IrlaxError(f"unknown GAIL reward_type {config.reward_type!r}; choose one of {', '.join(REWARD_TYPES)}")
    net = mlp_transition_reward(spec, config.hidden, config.activation)

    def init(key: Array, stats: InputStats) -> dict:
        return {"d": net.init(key, stats), "absorbing": jnp.float32(0.0)}

    def logit(params: dict, transition: Transition, log_pi: Array) -> Array:
        del log_pi
        return net.apply(params["d"], transition.obs, transition.action)

    def reward(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array, log_pi: Array) -> Array:
        del next_obs, log_pi
        value = gail_policy_reward(net.apply(params["d"], obs, action), config.reward_type)
        if not config.absorbing:
            return value
        absorbing = gail_policy_reward(adversarial.absorbing_logit(params), config.reward_type)
        return value + absorbing_bonus(terminated, absorbing, gamma)

    return Discriminator(init, logit, reward, uses_log_pi=False, absorbing_logit=adversarial.absorbing_logit)


def make_gail(config: GAILConfig, env: Env) -> Algorithm:
    """GAIL in ``env`` with ``config``; its ``reward_fn`` is the policy's reward ``r(params, obs, action, next_obs,
    terminated)`` of ``state.reward_params`` (the reward to re-optimise).

    Raises:
        IrlaxError: a bad setting.
    """
    learner = make_inner_learner(config, env.spec)
    disc = discriminator(config, env.spec, adversarial.discount(config, learner))
    reward_fn = lambda params, obs, action, next_obs, terminated: disc.reward(
        params, obs, action, next_obs, terminated, jnp.float32(0)
    )
    return make_adversarial("gail", config, env, learner, disc, reward_fn, DESCRIPTION)
