"""Objectworld (Levine, Popovic & Koltun, NIPS 2011), as a jit- and vmap-able generator.

The protocol is ``shared/benchmarks/objectworld.md``: an ``n x n`` grid with
five-action slip dynamics; each cell holds an object with probability 0.05, each
object with an inner ("c1") and an outer ("c2") colour; c1 colours beyond the first
two are distractors placed in later rounds, in cells still empty. The true reward
depends nonlinearly on the distances to the nearest objects of the first two c1 colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.envs.grid import grid_transitions
from irlax.envs.tabular import TabularMDP
from irlax.envs.world import World
from irlax.errors import IrlaxError

#: Base reward values (before ``reward_scale``): near colour 1 and colour 2, near colour 1 only.
NEAR_BOTH_REWARD = 1.0
NEAR_FIRST_ONLY_REWARD = -2.0
#: Distance thresholds of the reward: to the nearest c1-colour-1 / c1-colour-2 object.
FIRST_COLOUR_RADIUS = 3.0
SECOND_COLOUR_RADIUS = 2.0


@dataclass(frozen=True)
class ObjectworldConfig:
    """Objectworld parameters (defaults: the published runs of Levine et al. 2011)."""

    size: int = 32
    """Grid side n; the world has n^2 states."""
    num_colours: int = 2
    """Number of colours c1 = c2 for both the inner and the outer colour (at least 2)."""
    object_prob: float = 0.05
    """Probability that a cell holds an object."""
    determinism: float = 0.7
    """Probability that the chosen action is executed (else one of the other 4)."""
    discount: float = 0.9
    """Discount factor gamma (infinite horizon)."""
    continuous: bool = True
    """Features: True = raw distances [S, 2c]; False = threshold indicators [S, 2c(n-1)]."""
    reward_scale: float = 5.0
    """Multiplies the base rewards +1 / -2, giving the protocol's +5 / -10."""

    def __post_init__(self) -> None:
        if self.size < 2:
            raise IrlaxError(f"objectworld size must be at least 2, got {self.size}")
        if self.num_colours < 2:
            raise IrlaxError(f"objectworld needs at least 2 colours, got {self.num_colours}")
        if not 0.0 <= self.object_prob <= 1.0:
            raise IrlaxError(f"object_prob must be in [0, 1], got {self.object_prob}")
        if not 0.0 < self.discount < 1.0:
            raise IrlaxError(f"objectworld discount must be in (0, 1), got {self.discount}")


class ObjectGrid(NamedTuple):
    """The objects of one objectworld, as ``[n, n]`` int32 grids indexed ``[y, x]``.

    Attributes:
        inner: the c1 colour of the object in each cell, or -1 where there is none.
        outer: the c2 colour of the object in each cell, or -1 where there is none.
    """

    inner: Array
    outer: Array


def objectworld_objects(key: Array, config: ObjectworldConfig) -> ObjectGrid:
    """Draw the objects of the objectworld that ``make_objectworld(key, config)`` builds.

    Objects are placed in rounds of two c1 colours, as in the experiment code of
    Levine et al. (2011): round ``k`` visits every cell and, where the cell is still
    empty, places an object with probability ``object_prob`` whose inner colour is
    uniform over c1 colours ``2k`` and ``2k + 1``; an odd last colour gets its own
    round at half the probability. The outer colour is uniform over all
    ``num_colours``. So colours 0 and 1, which define the reward, are as dense
    whatever the number of colours, and the extra colours are distractors. With two
    colours there is one round: each cell holds an object with probability
    ``object_prob``, both colours uniform.

    Round 0 draws from ``key`` itself and round ``k > 0`` from ``fold_in(key, k)``,
    so the objects of colours 0 and 1 are the same for every number of colours.

    Returns:
        an :class:`ObjectGrid` of ``[n, n]`` colour grids (-1 = no object).
    """
    n, c = config.size, config.num_colours
    inner = outer = jnp.full((n, n), -1, jnp.int32)
    for round_index in range((c + 1) // 2):
        first = 2 * round_index
        colours = min(2, c - first)  # 1 for an odd last colour
        prob = config.object_prob if colours == 2 else 0.5 * config.object_prob
        round_key = key if round_index == 0 else jax.random.fold_in(key, round_index)
        # One uniform draw for all three fields keeps the compiled generator small.
        u = jax.random.uniform(round_key, (3, n, n))
        place = (u[0] < prob) & (inner < 0)
        round_inner = first + jnp.minimum(jnp.floor(u[1] * colours), colours - 1).astype(jnp.int32)
        round_outer = jnp.minimum(jnp.floor(u[2] * c), c - 1).astype(jnp.int32)
        inner = jnp.where(place, round_inner, inner)
        outer = jnp.where(place, round_outer, outer)
    return ObjectGrid(inner, outer)


def nearest_colour_distances(objects: ObjectGrid, num_colours: int) -> Array:
    """Euclidean distance from each cell centre to the nearest object of each colour.

    A colour with no object gets the distance ``sqrt(2 n^2)`` (Levine et al. 2011).

    Returns:
        ``[S, 2 * num_colours]`` float32: the c1 colours ``0..c-1``, then the c2 colours.
    """
    n = objects.inner.shape[0]
    y, x = jnp.divmod(jnp.arange(n * n), n)
    sq_dist = ((y[:, None] - y[None, :]) ** 2 + (x[:, None] - x[None, :]) ** 2).astype(
        jnp.float32
    )
    far = np.float32(np.sqrt(2.0 * n * n))
    columns = []
    for grid in (objects.inner.reshape(-1), objects.outer.reshape(-1)):
        for colour in range(num_colours):
            has_colour = grid == colour
            nearest = jnp.min(jnp.where(has_colour[None, :], sq_dist, jnp.inf), axis=1)
            columns.append(jnp.minimum(jnp.sqrt(nearest), far))
    return jnp.stack(columns, axis=1)


def objectworld_reward(distances: Array, reward_scale: float) -> Array:
    """The true objectworld state reward ``[S]`` from the distances ``[S, 2c]``.

    ``+1`` if the nearest c1-colour-1 object is closer than 3 and the nearest
    c1-colour-2 object closer than 2; ``-2`` if only the first holds; 0 otherwise;
    all times ``reward_scale`` (5 gives the protocol's +5 / -10). Colours 1 and 2
    are the first two columns of ``distances`` whatever the number of colours.
    """
    near_first = distances[:, 0] < FIRST_COLOUR_RADIUS
    near_second = distances[:, 1] < SECOND_COLOUR_RADIUS
    base = jnp.where(
        near_first,
        jnp.where(near_second, NEAR_BOTH_REWARD, NEAR_FIRST_ONLY_REWARD),
        0.0,
    )
    return (reward_scale * base).astype(jnp.float32)


def discrete_features(distances: Array, size: int) -> Array:
    """Threshold indicators ``[distance < d]`` for ``d = 1 .. n-1``.

    Colour-major layout: feature ``j * (n - 1) + (d - 1)`` is the indicator for
    column ``j`` of ``distances`` (c1 colours, then c2 colours) and threshold ``d``.

    Returns:
        ``[S, 2c (n - 1)]`` float32 (124 features for n = 32, c = 2).
    """
    thresholds = jnp.arange(1, size, dtype=jnp.float32)
    below = distances[:, :, None] < thresholds[None, None, :]
    return below.reshape(distances.shape[0], -1).astype(jnp.float32)


@partial(jax.jit, static_argnums=1)
def make_objectworld(key: Array, config: ObjectworldConfig) -> World:
    """Draw an objectworld (Levine, Popovic & Koltun 2011) from ``key``.

    Dynamics: five actions (stay, +y, +x, -y, -x) with slip; uniform initial
    distribution; discount ``config.discount``, infinite horizon; ``grid_shape (n, n)``.
    Jitted with ``config`` static (one compile per config); vmap over keys.

    Returns:
        a :class:`World` with state reward ``[S]`` in ``{0, +5, -10}`` (scale 5) and
        features ``[S, 2c]`` (continuous) or ``[S, 2c (n - 1)]`` (discrete), S = n^2.
    """
    n, c = config.size, config.num_colours
    distances = nearest_colour_distances(objectworld_objects(key, config), c)
    reward = objectworld_reward(distances, config.reward_scale)
    features = distances if config.continuous else discrete_features(distances, n)
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
    return World(mdp=mdp, reward=reward)
