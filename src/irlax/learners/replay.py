"""A fixed-capacity circular replay buffer as a pytree, for off-policy learners (SAC).

The buffer holds any pytree of arrays (a :class:`~irlax.learners.rollout.Transition`,
say) with a leading ``[capacity]`` axis on every leaf. Writes go round in a
circle, overwriting the oldest entries once the buffer is full; minibatches are
drawn uniformly, with replacement, from the filled part (as in DQN, Mnih et al.
2015, and SAC, Haarnoja et al. 2018).

All functions are pure and jittable (the capacity is the leaves' static leading
size), and the buffer vmaps over seeds like any other state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array


class ReplayBuffer(NamedTuple):
    """Stored items and where the next write goes.

    Attributes:
        data: a pytree whose leaves are ``[capacity, ...]``.
        position: ``int32 []`` index of the next write (the oldest entry once full).
        size: ``int32 []`` how many entries are filled (at most ``capacity``).
    """

    data: Any
    position: Array
    size: Array

    @property
    def capacity(self) -> int:
        """How many items the buffer holds when full (static)."""
        return jax.tree.leaves(self.data)[0].shape[0]


def init_replay(example: Any, capacity: int) -> ReplayBuffer:
    """An empty buffer of ``capacity`` items shaped like ``example`` (one item, unbatched; only shapes are used)."""
    if capacity < 1:
        raise ValueError(f"replay capacity must be positive, got {capacity}")
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.result_type(x)), example)
    return ReplayBuffer(data, jnp.int32(0), jnp.int32(0))


def replay_add(buffer: ReplayBuffer, batch: Any) -> ReplayBuffer:
    """``buffer`` with the ``E`` items of ``batch`` (leaves ``[E, ...]``) written in order, wrapping around.

    ``E`` may not exceed the capacity (later items of one batch would overwrite earlier ones).
    """
    num = jax.tree.leaves(batch)[0].shape[0]
    capacity = buffer.capacity
    if num > capacity:
        raise ValueError(f"cannot add {num} items at once to a replay buffer of capacity {capacity}")
    index = (buffer.position + jnp.arange(num, dtype=jnp.int32)) % capacity
    data = jax.tree.map(lambda store, new: store.at[index].set(new.astype(store.dtype)), buffer.data, batch)
    return ReplayBuffer(data, (buffer.position + num) % capacity, jnp.minimum(buffer.size + num, capacity))


def replay_sample(buffer: ReplayBuffer, key: Array, batch_size: int) -> Any:
    """``batch_size`` items drawn uniformly with replacement from the filled entries (leaves ``[B, ...]``).

    Sampling an empty buffer returns copies of the (zero) first slot; callers sample only after adding.
    """
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda store: store[index], buffer.data)
