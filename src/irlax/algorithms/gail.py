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

The learned reward (``reward_fn``: what is re-optimised, transferred and compared with the true reward;
``learned_reward``) is by default the logit ``log D - log(1 - D)`` whatever the policy was trained on: at the
discriminator's optimum it is the log-ratio of the expert's occupancy to the policy's, negative wherever the expert
does not go. The softplus form saturates there (a reward near 0 for every state the expert avoids, falling over
included, so a fresh learner may as well fall): re-optimised on CartPole-v1 through the softplus form, 8 of 15 seeds
reached 500; through the logit of the same discriminators, 15 of 15 (docs/design.md, "GAIL's learned reward is
the discriminator's logit"). ``learned_reward="policy"`` exports the policy's reward instead.

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
from irlax.data.transitions import RewardFn, Transition
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.rewards.transition import InputStats, mlp_transition_reward
from irlax.tasks import Env

DESCRIPTION = "generative adversarial imitation learning (Ho & Ermon 2016)"

REWARD_TYPES = ("softplus", "log_d", "logit")
"""The policy's reward as a function of the discriminator's logit (see the module docstring)."""
LEARNED_REWARDS = ("logit", "policy")
"""What ``reward_fn`` exports: the discriminator's logit, or the policy's reward (see the module docstring)."""


@dataclass(frozen=True)
class GAILConfig(AdversarialConfig):
    """GAIL's configuration (the shared fields are documented on the base classes)."""

    reward_type: str = "softplus"
    """The policy's reward: ``"softplus"`` (``-log(1 - D)``), ``"log_d"`` (``log D``) or ``"logit"``."""
    learned_reward: str = "logit"
    """The reward ``reward_fn`` exports for re-optimisation, transfer and comparison: ``"logit"``
    (``log D - log(1 - D)``) or ``"policy"`` (the policy's reward, ``reward_type``'s form)."""


def gail_policy_reward(logit: Array, reward_type: str) -> Array:
    """The policy's reward for a discriminator ``logit`` (expert-ness) under ``reward_type``."""
    if reward_type == "softplus":
        return jax.nn.softplus(logit)
    if reward_type == "log_d":
        return -jax.nn.softplus(-logit)
    if reward_type == "logit":
        return logit
    raise IrlaxError(f"unknown GAIL reward_type {reward_type!r}; choose one of {', '.join(REWARD_TYPES)}")


def check_gail_config(config: GAILConfig) -> None:
    """One-line :class:`IrlaxError` for an unknown reward form."""
    if config.reward_type not in REWARD_TYPES:
        raise IrlaxError(f"unknown GAIL reward_type {config.reward_type!r}; choose one of {', '.join(REWARD_TYPES)}")
    if config.learned_reward not in LEARNED_REWARDS:
        raise IrlaxError(f"unknown GAIL learned_reward {config.learned_reward!r}; "
                         f"choose one of {', '.join(LEARNED_REWARDS)}")


def gail_reward(config: GAILConfig, spec: EnvSpec, gamma: float, reward_type: str) -> RewardFn:
    """The discriminator's reward in the form ``reward_type`` as ``reward_fn(params, obs, action, next_obs,
    terminated)`` of its parameters ``{"d": ..., "absorbing": []}``, with the absorbing state's value (discount
    ``gamma``) on terminal steps when ``config.absorbing``."""
    net = mlp_transition_reward(spec, config.hidden, config.activation)

    def reward(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        del next_obs
        return adversarial.with_absorbing_value(
            gail_policy_reward(net.apply(params["d"], obs, action), reward_type), params, terminated, gamma,
            lambda logit: gail_policy_reward(logit, reward_type), config.absorbing)

    return reward


def discriminator(config: GAILConfig, spec: EnvSpec, gamma: float) -> Discriminator:
    """GAIL's discriminator: an MLP logit of the state-action (inputs standardised by the demonstrations)
    and a learned logit of the absorbing state (discount ``gamma``); parameters ``{"d": ..., "absorbing": []}``."""
    check_gail_config(config)
    net = mlp_transition_reward(spec, config.hidden, config.activation)
    policy_reward = gail_reward(config, spec, gamma, config.reward_type)

    def init(key: Array, stats: InputStats) -> dict:
        return {"d": net.init(key, stats), "absorbing": jnp.float32(0.0)}

    def logit(params: dict, transition: Transition, log_pi: Array) -> Array:
        del log_pi
        return net.apply(params["d"], transition.obs, transition.action)

    def reward(params: dict, obs: Array, action: Array, next_obs: Array, terminated: Array, log_pi: Array) -> Array:
        del log_pi
        return policy_reward(params, obs, action, next_obs, terminated)

    return Discriminator(init, logit, reward, uses_log_pi=False, absorbing_logit=adversarial.absorbing_logit)


def make_gail(config: GAILConfig, env: Env) -> Algorithm:
    """GAIL in ``env`` with ``config``; its ``reward_fn`` is the learned reward ``r(params, obs, action, next_obs,
    terminated)`` of ``state.reward_params`` (the reward to re-optimise): the discriminator's logit, or with
    ``learned_reward="policy"`` the policy's reward.

    Raises:
        IrlaxError: a bad setting.
    """
    learner = make_inner_learner(config, env.spec)
    gamma = adversarial.discount(config, learner)
    disc = discriminator(config, env.spec, gamma)  # checks the config
    # the same network's reward, read through the logit form unless the policy's is asked for
    exported = config.reward_type if config.learned_reward == "policy" else "logit"
    reward_fn = gail_reward(config, env.spec, gamma, exported)
    return make_adversarial("gail", config, env, learner, disc, reward_fn, DESCRIPTION)
