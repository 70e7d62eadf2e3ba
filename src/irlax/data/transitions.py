"""Transitions of control tasks: the one record acting produces and learning, demonstrations and IRL consume.

- :class:`Transition`: one step (or a batch of steps) with the environment's true
  reward and the reward the learner optimises, ``terminated`` and ``truncated``
  apart, the true successor observation and the acting policy's log-probability.
- :class:`Episodes`: whole episodes padded to a common length with a prefix mask.
- :data:`RewardFn`: the signature of a learned reward of a transition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax.numpy as jnp
from jax import Array

RewardFn = Callable[[Any, Array, Array, Array, Array], Array]
"""``reward_fn(reward_params, obs [O], action, next_obs [O], terminated []) -> reward []``: a learned reward.

``terminated`` (bool) says ``next_obs`` is terminal: a reward with a potential term, such as AIRL's
``g(s) + gamma h(s') - h(s)``, needs it to give a terminal state the potential 0."""


class Transition(NamedTuple):
    """Transitions of ``E`` environments (leaves ``[E, ...]``; ``[T, E, ...]`` after a scan).

    Attributes:
        obs: ``[O]`` observation acted on.
        action: the action taken (``int32 []`` or ``[D]``).
        reward: the reward the learner optimises (learned if a ``reward_fn`` was given).
        env_reward: the environment's true reward.
        next_obs: ``[O]`` the true successor observation.
        terminated: bool, the episode ended in a terminal state (no bootstrap).
        truncated: bool, the time limit ended the episode (bootstrap from ``next_obs``).
        log_prob: the acting policy's log-probability of ``action``.
    """

    obs: Array
    action: Array
    reward: Array
    env_reward: Array
    next_obs: Array
    terminated: Array
    truncated: Array
    log_prob: Array



class Episodes(NamedTuple):
    """Whole episodes padded to the time limit ``T`` (leaves ``[N, T, ...]``).

    Attributes:
        transitions: a :class:`Transition` per step (``[N, T, ...]``).
        mask: ``[N, T]`` bool, true on the steps of each episode (a prefix).
    """

    transitions: Transition
    mask: Array

    def returns(self) -> Array:
        """``[N]`` true return of each episode."""
        return jnp.sum(jnp.where(self.mask, self.transitions.env_reward, 0.0), axis=1)

    def lengths(self) -> Array:
        """``[N]`` number of steps of each episode."""
        return jnp.sum(self.mask, axis=1)
