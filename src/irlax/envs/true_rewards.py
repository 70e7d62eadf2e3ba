"""Each control task's own reward as a pure function of one transition.

:func:`true_reward_fn` gives ``reward(obs [O], action, next_obs [O]) -> []`` for
every environment of :data:`irlax.envs.control.ENV_BUILDERS`, equal to the reward
that :meth:`ControlEnv.step <irlax.envs.control.ControlEnv.step>` returns for that
transition (``next_obs`` is the true successor, not the reset observation). It is
the reference a learned reward is compared with (:mod:`irlax.metrics.reward`).

Derived from the gymnax 1.0.1 sources and :mod:`irlax.envs.point_maze`:

- ``CartPole-v1``: ``1 - terminal(s)``; gymnax resets automatically, so the state
  acted from is never terminal and the reward is the constant ``+1``.
- ``Acrobot-v1``: ``-1`` per step, except ``0`` on the step that reaches the goal
  height, ``-cos(q1) - cos(q1 + q2) > 1`` evaluated at ``next_obs``.
- ``Pendulum-v1``: ``-(angle_normalize(theta)^2 + 0.1 thetadot^2 + 0.001 u^2)`` at
  the state acted from, ``theta = atan2(sin, cos)`` from ``obs = [cos, sin,
  thetadot]`` and ``u`` the torque clipped to ``[-max_torque, max_torque]``.
- ``MountainCarContinuous-v0``: ``-0.1 a^2 + 100 [position' >= goal_position and
  velocity' >= goal_velocity]`` with the goal read from ``next_obs``; as in
  gymnax, the control cost uses the *unclipped* action.
- ``PointMaze-v0`` / ``PointMazeShifted-v0``: ``-||s - goal|| - ctrl_cost ||a||^2``
  at the position acted from, ``a`` clipped to ``[-1, 1]^2`` (Fu, Luo & Levine 2018).

The per-task functions take the environment's ``EnvParams`` as their last
argument; :func:`true_reward_fn` binds it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
from jax import Array

from irlax.envs.control import ControlEnv
from irlax.envs.point_maze import POINT_MAZE_VARIANTS, maze_reward
from irlax.errors import IrlaxError

TrueRewardFn = Callable[[Array, Array, Array], Array]
"""``reward(obs [O], action, next_obs [O]) -> []``: a reward of one transition."""


def cartpole_reward(obs: Array, action: Array, next_obs: Array, params: Any) -> Array:
    """CartPole-v1: ``+1`` for every step taken from a live (non-terminal) state, a float32 scalar."""
    del obs, action, next_obs, params
    return jnp.float32(1.0)


def acrobot_reached_goal(obs: Array) -> Array:
    """Whether an Acrobot observation ``[cos q1, sin q1, cos q2, sin q2, dq1, dq2]`` is at the goal height.

    gymnax's ``-cos(q1) - cos(q1 + q2) > 1``, with ``cos(q1 + q2)`` expanded in the
    observed sines and cosines. Returns a bool scalar.
    """
    cos1, sin1, cos2, sin2 = obs[0], obs[1], obs[2], obs[3]
    return -cos1 - (cos1 * cos2 - sin1 * sin2) > 1.0


def acrobot_reward(obs: Array, action: Array, next_obs: Array, params: Any) -> Array:
    """Acrobot-v1: ``-1`` per step, ``0`` on the step whose ``next_obs`` reaches the goal, a float32 scalar."""
    del obs, action, params
    return jnp.where(acrobot_reached_goal(next_obs), 0.0, -1.0).astype(jnp.float32)


def normalize_angle(angle: Array) -> Array:
    """An angle wrapped to ``[-pi, pi)``, as gymnax's Pendulum ``angle_normalize``."""
    return ((angle + jnp.pi) % (2 * jnp.pi)) - jnp.pi


def pendulum_reward(obs: Array, action: Array, next_obs: Array, params: Any) -> Array:
    """Pendulum-v1: ``-(theta^2 + 0.1 thetadot^2 + 0.001 u^2)`` at the state acted from, a float32 scalar.

    ``obs = [cos theta, sin theta, thetadot]`` (``[3]``), ``action`` the torque
    (``[1]``), clipped to ``[-max_torque, max_torque]``.
    """
    del next_obs
    theta = normalize_angle(jnp.arctan2(obs[1], obs[0]))
    torque = jnp.clip(jnp.reshape(action, ()), -params.max_torque, params.max_torque)
    return -(theta**2 + 0.1 * obs[2] ** 2 + 0.001 * torque**2).astype(jnp.float32)


def mountain_car_reward(obs: Array, action: Array, next_obs: Array, params: Any) -> Array:
    """MountainCarContinuous-v0: ``-0.1 a^2 + 100 [goal reached at next_obs]``, a float32 scalar.

    ``next_obs = [position, velocity]`` (``[2]``); ``action`` (``[1]``) enters the
    control cost unclipped, as in gymnax.
    """
    del obs
    at_goal = (next_obs[0] >= params.goal_position) & (next_obs[1] >= params.goal_velocity)
    return (-0.1 * jnp.sum(jnp.square(action)) + 100.0 * at_goal).astype(jnp.float32)


def point_maze_reward(obs: Array, action: Array, next_obs: Array, params: Any) -> Array:
    """PointMaze: :func:`irlax.envs.point_maze.maze_reward` of the position acted from and the clipped action."""
    del next_obs
    return maze_reward(obs, jnp.clip(jnp.reshape(action, (2,)), -1.0, 1.0), params)


TRUE_REWARDS: dict[str, Callable[[Array, Array, Array, Any], Array]] = {
    "CartPole-v1": cartpole_reward,
    "Acrobot-v1": acrobot_reward,
    "Pendulum-v1": pendulum_reward,
    "MountainCarContinuous-v0": mountain_car_reward,
    **{name: point_maze_reward for name in POINT_MAZE_VARIANTS},
}
"""Environment name -> its reward ``(obs, action, next_obs, params) -> []``."""

CONSTANT_REWARDS: frozenset[str] = frozenset({"CartPole-v1"})
"""Environments whose reward is the same on every transition."""


def _check_known(env: ControlEnv) -> None:
    if env.name not in TRUE_REWARDS:
        raise IrlaxError(f"no true reward for {env.name!r}; known: {', '.join(TRUE_REWARDS)}")


def true_reward_fn(env: ControlEnv) -> TrueRewardFn:
    """The environment's own reward, ``reward(obs [O], action, next_obs [O]) -> []``, with its params bound.

    Equal to the ``reward`` of :meth:`ControlEnv.step` for the same transition (see
    the module docstring for each task). Pure and jittable; build it once and reuse
    it where it is a static argument of ``jax.jit`` (each call returns a new object).

    Raises:
        IrlaxError: an environment without a known reward.
    """
    _check_known(env)
    return functools.partial(TRUE_REWARDS[env.name], params=env.params)


def is_constant_reward(env: ControlEnv) -> bool:
    """Whether the environment's reward is one constant (CartPole's ``+1``), so correlations with it are undefined.

    Acrobot is not: its ``-1`` per step becomes ``0`` on the step that reaches the goal.

    Raises:
        IrlaxError: an environment without a known reward.
    """
    _check_known(env)
    return env.name in CONSTANT_REWARDS
