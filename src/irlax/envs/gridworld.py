"""The macrocell gridworld of Abbeel & Ng (ICML 2004), as a jit- and vmap-able generator.

A ``size x size`` grid divided into ``(size / macrocell)^2`` macrocells; the features
are one indicator per macrocell and the true reward is linear in them with a sparse
random weight vector. Four compass actions; a move fails with probability
``1 - determinism``, and then the agent moves in a uniformly random one of the four
directions (which may be the intended one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.envs.grid import grid_transitions
from irlax.envs.tabular import TabularMDP
from irlax.envs.world import World
from irlax.errors import IrlaxError


@dataclass(frozen=True)
class GridworldConfig:
    """Gridworld parameters (defaults: Abbeel & Ng 2004, section 5.1)."""

    size: int = 128
    """Grid side; the world has size^2 states."""
    macrocell: int = 16
    """Side of a macrocell; must divide ``size``."""
    determinism: float = 0.7
    """Probability a move succeeds; else a uniformly random one of the 4 directions."""
    discount: float = 0.99
    """Discount factor gamma."""
    sparsity: float = 0.9
    """Probability that a macrocell's true weight is zero."""
    horizon: int | None = None
    """Finite horizon, or None for the discounted infinite horizon."""

    def __post_init__(self) -> None:
        if self.macrocell < 1 or self.size < 1 or self.size % self.macrocell:
            raise IrlaxError(
                f"macrocell {self.macrocell} must be a positive divisor of size {self.size}"
            )
        if not 0.0 <= self.determinism <= 1.0:
            raise IrlaxError(f"determinism must be in [0, 1], got {self.determinism}")
        if not 0.0 <= self.sparsity <= 1.0:
            raise IrlaxError(f"sparsity must be in [0, 1], got {self.sparsity}")
        if not 0.0 < self.discount <= 1.0 or (self.horizon is None and self.discount >= 1.0):
            raise IrlaxError(
                f"discount {self.discount} must be in (0, 1), or (0, 1] with a finite horizon"
            )
        if self.horizon is not None and self.horizon < 1:
            raise IrlaxError(f"horizon must be a positive integer or None, got {self.horizon}")


def macrocell_features(size: int, macrocell: int) -> np.ndarray:
    """One-hot macrocell membership ``[S, M]`` float32, ``M = (size / macrocell)^2``.

    Macrocell ``(y // macrocell) * (size // macrocell) + x // macrocell`` holds cell ``(y, x)``.
    """
    per_side = size // macrocell
    y, x = np.divmod(np.arange(size * size), size)
    cell = (y // macrocell) * per_side + x // macrocell
    return np.eye(per_side * per_side, dtype=np.float32)[cell]


def sparse_weights(key: Array, num_features: int, sparsity: float) -> Array:
    """Abbeel & Ng's sparse true weights ``[M]``: 0 w.p. ``sparsity``, else uniform(0, 1).

    If every component comes out zero, one uniformly chosen component is set to 1.
    """
    u = jax.random.uniform(key, (2 * num_features + 1,))
    weights = jnp.where(u[:num_features] < sparsity, 0.0, u[num_features:-1])
    index = jnp.minimum(jnp.floor(u[-1] * num_features), num_features - 1).astype(jnp.int32)
    fallback = jax.nn.one_hot(index, num_features, dtype=jnp.float32)
    return jnp.where(jnp.all(weights == 0.0), fallback, weights).astype(jnp.float32)


@partial(jax.jit, static_argnums=1)
def make_gridworld(key: Array, config: GridworldConfig) -> World:
    """Draw an Abbeel & Ng (2004) macrocell gridworld from ``key``.

    Four actions (+y, +x, -y, -x); the chosen move happens with probability
    ``d + (1 - d) / 4`` and each other move with ``(1 - d) / 4`` (``d`` =
    ``config.determinism``; a failed move picks one of the four directions uniformly;
    moves off the grid stay put). Uniform initial distribution; ``grid_shape (n, n)``.
    Jitted with ``config`` static (one compile per config); vmap over keys.

    Returns:
        a :class:`World` with macrocell indicator features ``[S, M]`` and the state
        reward ``[S] = features @ w*`` for the sparse random ``w* [M]``.
    """
    n = config.size
    features = macrocell_features(n, config.macrocell)
    weights = sparse_weights(key, features.shape[1], config.sparsity)
    chosen = config.determinism + (1.0 - config.determinism) / 4.0
    next_states, next_probs = grid_transitions(n, n, "four", chosen)
    mdp = TabularMDP(
        next_states=jnp.asarray(next_states, dtype=jnp.int32),
        next_probs=jnp.asarray(next_probs, dtype=jnp.float32),
        features=jnp.asarray(features),
        initial=jnp.full((n * n,), 1.0 / (n * n), dtype=jnp.float32),
        discount=float(config.discount),
        horizon=config.horizon,
        grid_shape=(n, n),
    )
    return World(mdp=mdp, reward=jnp.asarray(features) @ weights)
