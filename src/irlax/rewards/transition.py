"""Learned rewards and discriminators over transitions of control tasks (GCL, GAIL, AIRL).

The one reward/discriminator layer the sample-based IRL algorithms share:

- :class:`TransitionReward`, an (init, apply) pair ``init(key, stats) -> params``,
  ``apply(params, obs [O], action) -> []``: an MLP of the state, or of the state
  and the action (one-hot for discrete tasks), with inputs standardised by the
  demonstrations' statistics (frozen, not trained).
- :func:`discriminator_loss`: the logistic loss of a discriminator whose logit
  says "expert" (Goodfellow et al. 2014; Ho & Ermon 2016), and
  :func:`discriminator_accuracy`.

The algorithms build on these: GAIL's discriminator is one ``TransitionReward``
(:mod:`irlax.algorithms.gail`), AIRL's is ``g(s[, a]) + gamma h(s') - h(s) - log pi(a|s)``
with two of them (:mod:`irlax.algorithms.airl`), GCL's cost is one summed over a
trajectory (:mod:`irlax.algorithms.gcl`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.data.demos import Demonstrations
from irlax.envs.spec import EnvSpec
from irlax.nn.networks import MLP
from irlax.rewards.base import FROZEN

Params = Any


class InputStats(NamedTuple):
    """Standardisation of observations: ``mean [O]`` and ``std [O]`` (of the demonstrations)."""

    mean: Array
    std: Array


def demo_input_stats(demos: Demonstrations) -> InputStats:
    """Mean and standard deviation of the demonstrations' real observations (padding excluded)."""
    weight = demos.mask.astype(jnp.float32)[..., None]
    count = jnp.maximum(jnp.sum(weight), 1.0)
    mean = jnp.sum(demos.obs * weight, axis=(0, 1)) / count
    var = jnp.sum((demos.obs - mean) ** 2 * weight, axis=(0, 1)) / count
    return InputStats(mean, jnp.sqrt(var) + 1e-3)


def action_features(spec: EnvSpec, action: Array) -> Array:
    """An action as network input: one-hot ``[A]`` for discrete tasks, the vector ``[D]`` otherwise."""
    if spec.discrete:
        return jax.nn.one_hot(action, spec.action_size, dtype=jnp.float32)
    return jnp.asarray(action, jnp.float32).reshape(spec.action_size)


def reward_inputs(spec: EnvSpec, stats: InputStats, obs: Array, action: Array, state_only: bool) -> Array:
    """``[F]`` inputs of a reward network: the standardised observation, then the action unless ``state_only``."""
    stats = jax.lax.stop_gradient(stats)
    x = (obs - stats.mean) / stats.std
    return x if state_only else jnp.concatenate([x, action_features(spec, action)])


class TransitionReward(NamedTuple):
    """An (init, apply) pair: ``init(key, stats) -> params``, ``apply(params, obs [O], action) -> []``.

    Attributes:
        init: fresh parameters, with the input statistics ``stats`` (an :class:`InputStats`, e.g.
            :func:`demo_input_stats`) kept frozen under :data:`irlax.rewards.base.FROZEN`.
        apply: the reward (or logit) of one state, or state-action.
        state_only: whether ``apply`` ignores the action.
    """

    init: Callable[[Array, InputStats], Params]
    apply: Callable[[Params, Array, Array], Array]
    state_only: bool


def mlp_transition_reward(
    spec: EnvSpec,
    hidden: Sequence[int] = (64, 64),
    activation: str = "tanh",
    state_only: bool = False,
) -> TransitionReward:
    """An MLP reward ``r(s)`` or ``r(s, a)`` over standardised inputs.

    Args:
        spec: the task (observation and action sizes).
        hidden: hidden-layer widths.
        activation: a key of :data:`irlax.nn.networks.ACTIVATIONS`.
        state_only: a reward of the state alone (AIRL's disentangled reward).
    """
    net = MLP(tuple(hidden), 1, activation)
    example = jnp.zeros(spec.obs_size + (0 if state_only else spec.action_size), jnp.float32)

    def init(key: Array, stats: InputStats) -> dict:
        return {"net": net.init(key, example), FROZEN: stats}

    def apply(params: dict, obs: Array, action: Array) -> Array:
        x = reward_inputs(spec, params[FROZEN], obs, action, state_only)
        return net.apply(params["net"], x)[0]

    return TransitionReward(init, apply, state_only)


def _weighted_mean(x: Array, weights: Array | None) -> Array:
    if weights is None:
        return jnp.mean(x)
    return jnp.sum(x * weights) / jnp.maximum(jnp.sum(weights), 1e-8)


def discriminator_loss(
    expert_logits: Array, policy_logits: Array, expert_weights: Array | None = None,
    policy_weights: Array | None = None,
) -> Array:
    """Logistic loss of a discriminator ``D = sigmoid(logit)`` that says "expert" (Ho & Ermon 2016, eq. 17).

    ``-mean log D(expert) - mean log(1 - D(policy))`` over ``expert_logits [B]`` and
    ``policy_logits [B']``, computed stably with ``softplus``; optional ``weights`` (0 or 1,
    say) make the means weighted.
    """
    return _weighted_mean(jax.nn.softplus(-expert_logits), expert_weights) + _weighted_mean(
        jax.nn.softplus(policy_logits), policy_weights
    )


def discriminator_accuracy(
    expert_logits: Array, policy_logits: Array, expert_weights: Array | None = None,
    policy_weights: Array | None = None,
) -> tuple[Array, Array]:
    """(Weighted) fractions of expert samples classified expert and of policy samples classified policy."""
    return (_weighted_mean((expert_logits > 0).astype(jnp.float32), expert_weights),
            _weighted_mean((policy_logits < 0).astype(jnp.float32), policy_weights))


def absorbing_bonus(terminated: Array, absorbing_reward: Array, gamma: float) -> Array:
    """The value of the absorbing state a terminal transition leads to, ``gamma / (1 - gamma) r_abs`` (else 0).

    After a terminal step the episode is taken to sit in an absorbing state whose reward
    ``r_abs`` is learned like any other (Kostrikov et al. 2019, "Discriminator-Actor-Critic"),
    so that neither ending early nor living long is rewarded by the sign of the learned
    reward alone. Learners don't bootstrap past ``terminated``, so the bonus is added there.
    """
    return jnp.where(terminated, gamma / (1.0 - gamma) * absorbing_reward, 0.0)
