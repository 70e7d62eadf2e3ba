"""Neural rewards for Deep MaxEnt IRL (Wulfmeier, Ondruska & Posner 2016).

- :func:`mlp_reward`: a fully connected network applied to each state's (or
  state-action's) feature vector, ``[S, F] -> [S]``.
- :func:`conv_reward`: a fully convolutional network over the grid of feature
  maps, ``[S, F] -> [rows, cols, F] -> [S]``, as in the paper's FCN reward.

Inputs are standardised with the feature mean and standard deviation measured
at ``init`` (stored in the params under ``FROZEN``, not trained).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
from jax import Array

from irlax.rewards.base import FROZEN, RewardModel


class _MLP(nn.Module):
    hidden: Sequence[int]

    @nn.compact
    def __call__(self, x: Array) -> Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(1)(x)[..., 0]


class _FCN(nn.Module):
    channels: Sequence[int]
    kernel: int

    @nn.compact
    def __call__(self, x: Array) -> Array:
        for width in self.channels:
            x = nn.relu(nn.Conv(width, (self.kernel, self.kernel), padding="SAME")(x))
        return nn.Conv(1, (1, 1))(x)[..., 0]


def _standardiser(features: Array) -> dict[str, Array]:
    flat = features.reshape(-1, features.shape[-1])
    return {"mean": flat.mean(axis=0), "std": flat.std(axis=0) + 1e-6}


def _standardise(stats: dict[str, Array], features: Array) -> Array:
    stats = jax.lax.stop_gradient(stats)
    return (features - stats["mean"]) / stats["std"]


def mlp_reward(hidden: Sequence[int] = (64, 64)) -> RewardModel:
    """An MLP reward over features: ``[S, F] -> [S]`` (or ``[S, A, F] -> [S, A]``).

    Args:
        hidden: widths of the hidden ReLU layers.
    """
    net = _MLP(tuple(hidden))

    def init(key: Array, features: Array) -> dict:
        stats = _standardiser(features)
        return {"net": net.init(key, _standardise(stats, features)), FROZEN: stats}

    def apply(params: dict, features: Array) -> Array:
        return net.apply(params["net"], _standardise(params[FROZEN], features))

    return RewardModel(init, apply)


def conv_reward(
    grid_shape: tuple[int, int], channels: Sequence[int] = (32, 32), kernel: int = 3
) -> RewardModel:
    """A fully convolutional reward over grid feature maps: ``[S, F] -> [S]``.

    States are grid cells laid out row-major (``s = y * cols + x``).

    Args:
        grid_shape: ``(rows, cols)`` with ``rows * cols = S``.
        channels: widths of the hidden convolutions.
        kernel: spatial size of the hidden convolutions.
    """
    net = _FCN(tuple(channels), kernel)
    rows, cols = grid_shape

    def to_grid(features: Array) -> Array:
        return features.reshape(rows, cols, features.shape[-1])

    def init(key: Array, features: Array) -> dict:
        stats = _standardiser(features)
        return {"net": net.init(key, to_grid(_standardise(stats, features))), FROZEN: stats}

    def apply(params: dict, features: Array) -> Array:
        grid = to_grid(_standardise(params[FROZEN], features))
        return net.apply(params["net"], grid).reshape(rows * cols)

    return RewardModel(init, apply)
