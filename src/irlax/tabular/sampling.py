"""Sampling trajectories from a policy in a tabular MDP, vmapped over trajectories."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from irlax.data.trajectories import Trajectories
from irlax.envs.tabular import TabularMDP


def sample_next_state(key: Array, mdp: TabularMDP, state: Array, action: Array) -> Array:
    """Draw ``s' ~ P(.|s, a)`` from the sparse successor list: a scalar of ``mdp.next_states``' dtype."""
    k = jax.random.categorical(key, jnp.log(mdp.next_probs[state, action]))
    return mdp.next_states[state, action, k]


def sample_trajectory(
    key: Array, mdp: TabularMDP, log_policy: Array, length: int, start: Array
) -> tuple[Array, Array]:
    """One trajectory of ``length`` steps: ``(states [T], actions [T])``.

    Args:
        key: PRNG key.
        mdp: the MDP.
        log_policy: ``[S, A]`` stationary or ``[H, S, A]`` time-indexed (``H >= length``).
        length: number of steps ``T``.
        start: ``[S]`` start distribution.

    States and actions have the dtype of ``mdp.next_states`` (int32): ``categorical``
    draws the default integer type, int64 under ``jax.enable_x64``, and the scan's
    carry must keep one type from the start state to every successor.
    """
    stationary = log_policy.ndim == 2
    index = mdp.next_states.dtype
    key_start, key_steps = jax.random.split(key)
    s0 = jax.random.categorical(key_start, jnp.log(start)).astype(index)

    def step(state: Array, xs: tuple[Array, Array]) -> tuple[Array, tuple[Array, Array]]:
        t, k = xs
        k_action, k_next = jax.random.split(k)
        logits = log_policy[state] if stationary else log_policy[t, state]
        action = jax.random.categorical(k_action, logits).astype(index)
        return sample_next_state(k_next, mdp, state, action), (state, action)

    xs = (jnp.arange(length), jax.random.split(key_steps, length))
    _, (states, actions) = jax.lax.scan(step, s0, xs)
    return states, actions


def sample_trajectories(
    key: Array,
    mdp: TabularMDP,
    log_policy: Array,
    num_trajectories: int,
    length: int,
    start: Array | None = None,
) -> Trajectories:
    """``N`` trajectories of ``T`` steps from ``log_policy``, all steps valid.

    Args:
        key: PRNG key.
        mdp: the MDP.
        log_policy: ``[S, A]`` or ``[H, S, A]`` log action probabilities.
        num_trajectories: ``N`` (static).
        length: ``T`` (static).
        start: ``[S]`` start distribution; ``mdp.initial`` when ``None``.

    Returns:
        :class:`~irlax.data.trajectories.Trajectories` with ``[N, T]`` arrays.
    """
    start = mdp.initial if start is None else start
    keys = jax.random.split(key, num_trajectories)
    states, actions = jax.vmap(lambda k: sample_trajectory(k, mdp, log_policy, length, start))(keys)
    return Trajectories(states=states, actions=actions, mask=jnp.ones(states.shape, bool))
