"""Continuous-state control tasks behind one small adapter over gymnax.

:func:`make_env` builds a :class:`ControlEnv` by name: the classic control tasks
of gymnax (``CartPole-v1``, ``Acrobot-v1``, ``Pendulum-v1``,
``MountainCarContinuous-v0``) and irlax's point-mass mazes (``PointMaze-v0``,
``PointMazeShifted-v0``, :mod:`irlax.envs.point_maze`).

The adapter follows the gymnax 1.0 signature and keeps *terminated* (the task
ended: no bootstrap) and *truncated* (the time limit cut it: bootstrap from the
true next observation) apart. gymnax resets automatically at the end of an
episode, so :meth:`ControlEnv.step` returns both the observation to act on next
(``obs``, already the reset one after an episode ends) and the true successor of
this step (``next_obs``), which learners and demonstrations need.

Actions are in the environment's own units: an ``int32`` index for discrete
tasks, a ``[action_dim]`` float vector within ``[action_low, action_high]`` for
continuous ones (values outside are clipped by the environment).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.errors import IrlaxError


class EnvStep(NamedTuple):
    """The outcome of one environment step (leaves gain a leading ``[E]`` axis when vmapped).

    Attributes:
        obs: ``[O]`` the observation to act on next (the reset observation if the episode ended).
        state: the environment state to step next (already reset if the episode ended).
        reward: ``[]`` the environment's reward for this step.
        terminated: ``[]`` bool, the episode reached a terminal state (do not bootstrap).
        truncated: ``[]`` bool, the time limit ended the episode (bootstrap from ``next_obs``).
        next_obs: ``[O]`` the true successor observation of this step.
    """

    obs: Array
    state: Any
    reward: Array
    terminated: Array
    truncated: Array
    next_obs: Array


@dataclass(frozen=True)
class ControlEnv:
    """A gymnax environment with its parameters and the sizes a learner needs.

    Hashable (by name and sizes) so that it can be a static argument of ``jax.jit``.

    Attributes:
        name: the registered name, e.g. ``"CartPole-v1"``.
        obs_size: length ``O`` of an observation vector.
        discrete: whether actions are indices (``True``) or float vectors.
        action_size: number of actions (discrete) or action dimensions (continuous).
        action_low, action_high: bounds of each continuous action dimension (empty when discrete).
        max_steps: the time limit of an episode.
        env, params: the gymnax environment and its ``EnvParams``.
    """

    name: str
    obs_size: int
    discrete: bool
    action_size: int
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    max_steps: int
    env: Any = field(compare=False, repr=False)
    params: Any = field(compare=False, repr=False)

    def reset(self, key: Array) -> tuple[Array, Any]:
        """A fresh episode: ``(obs [O], state)``."""
        obs, state = self.env.reset(key, self.params)
        return obs.astype(jnp.float32), state

    def step(self, key: Array, state: Any, action: Array) -> EnvStep:
        """Advance one step with ``action`` (see :class:`EnvStep`); resets automatically at episode end."""
        obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, self.params)
        # a truncated step that also terminates counts as terminated (no bootstrap)
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), ~terminated)
        return EnvStep(
            obs.astype(jnp.float32),
            state,
            jnp.reshape(reward, ()).astype(jnp.float32),
            terminated,
            truncated,
            info["final_observation"].astype(jnp.float32),
        )

    def check_obs(self, obs: Array, what: str) -> None:
        """Raise :class:`IrlaxError` unless ``obs`` has trailing size ``O``."""
        if obs.ndim == 0 or obs.shape[-1] != self.obs_size:
            raise IrlaxError(
                f"{what}: observations have size {obs.shape[-1] if obs.ndim else 0}, "
                f"but {self.name} has observations of size {self.obs_size}"
            )


def _gymnax(name: str) -> Callable[[], tuple[Any, Any]]:
    def build() -> tuple[Any, Any]:
        import gymnax

        return gymnax.make(name)

    return build


def _point_maze(shifted: bool) -> Callable[[], tuple[Any, Any]]:
    def build() -> tuple[Any, Any]:
        from irlax.envs.point_maze import make_point_maze

        return make_point_maze(shifted=shifted)

    return build


ENV_BUILDERS: dict[str, Callable[[], tuple[Any, Any]]] = {
    "CartPole-v1": _gymnax("CartPole-v1"),
    "Acrobot-v1": _gymnax("Acrobot-v1"),
    "Pendulum-v1": _gymnax("Pendulum-v1"),
    "MountainCarContinuous-v0": _gymnax("MountainCarContinuous-v0"),
    "PointMaze-v0": _point_maze(False),
    "PointMazeShifted-v0": _point_maze(True),
}
"""Every environment :func:`make_env` knows, by name."""


@functools.cache
def make_env(name: str) -> ControlEnv:
    """The :class:`ControlEnv` called ``name`` (one of :data:`ENV_BUILDERS`).

    Raises:
        IrlaxError: an unknown name (the message lists the choices).
    """
    if name not in ENV_BUILDERS:
        raise IrlaxError(f"unknown environment {name!r}; choose one of {', '.join(ENV_BUILDERS)}")
    env, params = ENV_BUILDERS[name]()
    obs, _ = env.reset(jax.random.PRNGKey(0), params)
    space = env.action_space(params)
    discrete = hasattr(space, "n")
    if discrete:
        size, low, high = int(space.n), (), ()
    else:
        size = int(space.shape[0])
        low = tuple(float(x) for x in jnp.broadcast_to(jnp.asarray(space.low), (size,)))
        high = tuple(float(x) for x in jnp.broadcast_to(jnp.asarray(space.high), (size,)))
    max_steps = int(params.max_steps_in_episode)
    return ControlEnv(name, int(obs.shape[-1]), discrete, size, low, high, max_steps, env, params)


def reset_batch(env: ControlEnv, key: Array, num_envs: int) -> tuple[Array, Any]:
    """``num_envs`` fresh episodes: ``(obs [E, O], states)``."""
    return jax.vmap(env.reset)(jax.random.split(key, num_envs))


def step_batch(env: ControlEnv, key: Array, states: Any, actions: Array) -> EnvStep:
    """Step ``E`` environments at once (leaves of the result ``[E, ...]``)."""
    keys = jax.random.split(key, actions.shape[0])
    return jax.vmap(env.step)(keys, states, actions)
