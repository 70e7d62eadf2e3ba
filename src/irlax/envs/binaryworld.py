"""Binaryworld (Wulfmeier, Ondruska & Posner 2015), as a jit- and vmap-able generator.

The protocol is ``shared/benchmarks/objectworld.md``: an ``n x n`` grid of blue and
red cells with five-action slip dynamics; the features are the 9 blue bits of the
3x3 neighbourhood and the reward depends on how many of them are set.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.grid import grid_transitions
from irlax.envs.tabular import TabularMDP
from irlax.envs.world import World
from irlax.errors import IrlaxError

#: Base reward (before ``reward_scale``) by the number of blue cells in the 3x3 window.
FOUR_BLUE_REWARD = 1.0
FIVE_BLUE_REWARD = -1.0


@dataclass(frozen=True)
class BinaryworldConfig:
    """Binaryworld parameters (defaults: Wulfmeier et al. 2015; the scale is ours)."""

    size: int = 32
    """Grid side n; the world has n^2 states."""
    blue_prob: float = 0.5
    """Probability that a cell is blue (else red)."""
    determinism: float = 0.7
    """Probability that the chosen action is executed (else one of the other 4)."""
    discount: float = 0.9
    """Discount factor gamma (infinite horizon)."""
    reward_scale: float = 5.0
    """Multiplies the base rewards +1 / -1 (ours: the same scale as objectworld)."""

    def __post_init__(self) -> None:
        if self.size < 1:
            raise IrlaxError(f"binaryworld size must be at least 1, got {self.size}")
        if not 0.0 <= self.blue_prob <= 1.0:
            raise IrlaxError(f"blue_prob must be in [0, 1], got {self.blue_prob}")
        if not 0.0 < self.discount < 1.0:
            raise IrlaxError(f"binaryworld discount must be in (0, 1), got {self.discount}")


def binaryworld_colours(key: Array, config: BinaryworldConfig) -> Array:
    """The ``[n, n]`` bool grid ``[y, x]`` (True = blue) used by ``make_binaryworld(key, ...)``."""
    n = config.size
    return jax.random.bernoulli(key, config.blue_prob, (n, n))


def neighbourhood_features(blue: Array) -> Array:
    """The 9 blue bits of each cell's 3x3 neighbourhood; cells off the grid are not blue.

    Feature ``3 * (dy + 1) + (dx + 1)`` is the bit of cell ``(y + dy, x + dx)``
    (so feature 4 is the cell itself).

    Args:
        blue: ``[n, n]`` bool grid indexed ``[y, x]``.

    Returns:
        ``[n * n, 9]`` float32, rows in state order ``y * n + x``.
    """
    rows, cols = blue.shape
    padded = jnp.pad(blue.astype(jnp.float32), 1)
    windows = [
        padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + cols]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    ]
    return jnp.stack(windows, axis=-1).reshape(rows * cols, 9)


def binaryworld_reward(features: Array, reward_scale: float) -> Array:
    """``[S]`` reward: +1 if exactly 4 of the 9 cells are blue, -1 if exactly 5, else 0; scaled."""
    count = jnp.sum(features, axis=1)
    base = jnp.where(count == 4, FOUR_BLUE_REWARD, jnp.where(count == 5, FIVE_BLUE_REWARD, 0.0))
    return (reward_scale * base).astype(jnp.float32)


@partial(jax.jit, static_argnums=1)
def make_binaryworld(key: Array, config: BinaryworldConfig) -> World:
    """Draw a binaryworld (Wulfmeier, Ondruska & Posner 2015) from ``key``.

    Dynamics: five actions (stay, +y, +x, -y, -x) with slip; uniform initial
    distribution; discount ``config.discount``, infinite horizon; ``grid_shape (n, n)``.
    Jitted with ``config`` static (one compile per config); vmap over keys.

    Returns:
        a :class:`World` with features ``[S, 9]`` and state reward ``[S]`` in
        ``{0, +5, -5}`` (scale 5), S = n^2.
    """
    n = config.size
    features = neighbourhood_features(binaryworld_colours(key, config))
    next_states, next_probs = grid_transitions(n, n, "five", config.determinism)
    mdp = TabularMDP(
        next_states=jnp.asarray(next_states, dtype=jnp.int32),
        next_probs=jnp.asarray(next_probs, dtype=jnp.float32),
        features=features,
        initial=jnp.full((n * n,), 1.0 / (n * n), dtype=jnp.float32),
        discount=float(config.discount),
        horizon=None,
        grid_shape=(n, n),
    )
    return World(mdp=mdp, reward=binaryworld_reward(features, config.reward_scale))
