"""Linear rewards ``r = features @ theta`` (Abbeel & Ng 2004; Ziebart et al. 2008)."""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from irlax.rewards.base import RewardModel


def linear_reward() -> RewardModel:
    """A reward linear in the features: params ``theta [F]`` (initialised to 0).

    ``apply(theta, features [S, F] or [S, A, F]) -> [S] or [S, A]``.
    """

    def init(key: Array, features: Array) -> Array:
        del key
        return jnp.zeros(features.shape[-1], features.dtype)

    def apply(theta: Array, features: Array) -> Array:
        return features @ theta

    return RewardModel(init, apply)
