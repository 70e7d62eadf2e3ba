"""Each control task's own reward as a pure function of one transition.

Each function here is ``reward(obs [O], action, next_obs [O], params) -> []`` for one
task, equal to the reward that :meth:`JaxEnv.step <irlax.envs.control.JaxEnv.step>`
returns for that transition (``next_obs`` is the true successor, not the reset observation). It is
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
argument; the task table names each task's function and
:func:`irlax.tasks.true_reward_fn` binds the parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
from jax import Array

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
    from irlax.envs.point_maze import maze_reward  # imported when used: it loads gymnax, slow to import

    del next_obs
    return maze_reward(obs, jnp.clip(jnp.reshape(action, (2,)), -1.0, 1.0), params)
