"""A JAX point-mass maze with a shifting wall: the transfer task of AIRL.

Fu, Luo & Levine (ICLR 2018), "Learning Robust Rewards with Adversarial Inverse
Reinforcement Learning", section 7.1 ("shifting maze"): a 2-D point must walk around
a wall to a goal. Demonstrations come from the original maze; the learned reward is
then re-optimised in the shifted maze, where the wall's gap is on the other side.
A reward that says "be near the goal" (AIRL's state-only g(s)) still leads there; a
reward that memorised the demonstrated path ("go left first") does not.

Geometry (unit square arena, default parameters; ``#`` is the wall)::

    original (shifted=False)              shifted (shifted=True)
    y=1 +-------------------+             y=1 +-------------------+
        |         G         |                 |         G         |
        |                   |                 |                   |
    .52 |      #############|             .52 |#############      |
    .48 | gap  #############|             .48 |#############  gap |
        |                   |                 |                   |
        |         S         |                 |         S         |
    y=0 +-------------------+             y=0 +-------------------+
        x=0   1/3          1                  0           2/3    1

- Arena: ``[0, 1] x [0, 1]``; its border is solid (positions are clipped to it).
- Wall: the box ``y in [wall_y - wall_half_thickness, wall_y + wall_half_thickness]``
  (default ``[0.48, 0.52]``) covering ``wall_length`` (default 2/3) of the width from
  one side: ``x in [1/3, 1]`` in the original maze (gap on the left, as in the paper's
  training maze), ``x in [0, 2/3]`` in the shifted maze (gap on the right). On its
  closed side the wall box extends past the arena border, so the point cannot slip
  through along the border. The wall covers ``x = 0.5`` in both variants, so heading
  straight at the goal gets stuck under the wall in both; the demonstrated path of
  the original maze gets stuck in the shifted one.
- Start ``S = (0.5, 0.1)`` plus uniform noise in ``[-start_noise, start_noise]^2``;
  goal ``G = (0.5, 0.9)``. With ``PointMaze(start_anywhere=True)`` (the task ``PointMazeWideStart-v0``:
  the original wall) the start is uniform over the arena outside the wall's band
  ``y in [0.48, 0.52]`` (:func:`anywhere_start`), so an expert's demonstrations cover
  the whole maze, not one path: the condition of AIRL's recovery guarantee.

Dynamics: a velocity-commanded point (the paper's MuJoCo point mass is force-driven
and heavily damped; a velocity command keeps the state Markov in the position alone).
The action ``a`` (shape ``(2,)``) is clipped to ``[-1, 1]^2`` and the point moves by
``step_size * a`` (default 0.02 per axis per step), clipped to the arena; a move that
would enter the wall is stopped at the face it hits and keeps the component along the
face (it slides), see :func:`move_point`. The speed limit is per axis, so the climb
of 0.8 in y sets the shortest time to the goal, 40 steps, and the sideways detour
through the gap costs no extra steps; the scripted :func:`gap_policy` gets within
0.05 of the goal in about 38 steps.

Reward, as in the paper: ``r(s, a) = -||s - G|| - ctrl_cost * ||a||^2`` (default
``ctrl_cost = 1e-3``), evaluated at the position the action is taken from. The
observation is the position ``s`` (shape ``(2,)``), so a state-only reward can express
"be near the goal". Reaching the goal does not terminate (``terminated`` is always
False); episodes end by truncation after ``max_steps_in_episode`` (default 100) steps,
so the return measures how long the point stays near the goal.

``PointMaze-v0`` and ``PointMazeShifted-v0`` are one class with different
:class:`EnvParams` (``shifted``); the variant is a traced parameter, so one compiled
``step`` serves both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces
from jax import Array

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POINT_MAZE = "PointMaze-v0"
"""Name of the original maze (gap on the left)."""
POINT_MAZE_SHIFTED = "PointMazeShifted-v0"
"""Name of the shifted maze (gap on the right)."""
POINT_MAZE_WIDE_START = "PointMazeWideStart-v0"
"""Name of the original maze with starts anywhere in the arena (:func:`anywhere_start`)."""
POINT_MAZE_VARIANTS: dict[str, bool] = {POINT_MAZE: False, POINT_MAZE_SHIFTED: True, POINT_MAZE_WIDE_START: False}
"""Environment name -> the ``shifted`` flag of that variant."""

ARENA_SIZE = 1.0
"""Side of the square arena ``[0, ARENA_SIZE]^2``."""
_OUTSIDE = 1.0
"""How far the wall box reaches past the arena border on its closed side."""


@struct.dataclass
class EnvState(environment.EnvState):
    """State of the point-mass maze.

    Attributes:
        position: float32 ``(2,)``, the point's ``(x, y)``.
        time: steps taken in this episode.
    """

    position: Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    """Parameters of the point-mass maze (all traced: changing them does not recompile)."""

    max_steps_in_episode: int = 100
    """Episode length; the episode is truncated after this many steps."""
    shifted: bool = False
    """False: original maze, gap on the left. True: shifted maze, gap on the right."""
    step_size: float = 0.02
    """Displacement per unit action per axis per step."""
    wall_y: float = 0.5
    """Height of the wall's centre line."""
    wall_half_thickness: float = 0.02
    """Half the wall's thickness; must be positive."""
    wall_length: float = 2.0 / 3.0
    """Length of the wall from its closed side; the gap is ``1 - wall_length`` wide."""
    start_x: float = 0.5
    """Mean start position, x."""
    start_y: float = 0.1
    """Mean start position, y (below the wall)."""
    start_noise: float = 0.02
    """Half-width of the uniform noise added to each start coordinate."""
    goal_x: float = 0.5
    """Goal position, x."""
    goal_y: float = 0.9
    """Goal position, y (above the wall)."""
    ctrl_cost: float = 1e-3
    """Weight of the control cost ``||a||^2`` in the reward."""


def goal_position(params: EnvParams) -> Array:
    """The goal ``(x, y)``, float32 ``(2,)``."""
    return jnp.array([params.goal_x, params.goal_y], dtype=jnp.float32)


def start_position(params: EnvParams) -> Array:
    """The mean start ``(x, y)``, float32 ``(2,)``."""
    return jnp.array([params.start_x, params.start_y], dtype=jnp.float32)


def wall_box(params: EnvParams) -> Array:
    """The wall as an axis-aligned box ``[x_lo, y_lo, x_hi, y_hi]``, float32 ``(4,)``.

    On the closed side the box reaches ``_OUTSIDE`` past the arena border (the point
    is always strictly inside the box's x-range there, so it cannot slide along the
    border through the wall); clip to ``[0, ARENA_SIZE]`` to draw it.
    """
    open_length = ARENA_SIZE - params.wall_length
    x_lo = jnp.where(params.shifted, -_OUTSIDE, open_length)
    x_hi = jnp.where(params.shifted, params.wall_length, ARENA_SIZE + _OUTSIDE)
    y_lo = params.wall_y - params.wall_half_thickness
    y_hi = params.wall_y + params.wall_half_thickness
    return jnp.stack([x_lo, y_lo, x_hi, y_hi]).astype(jnp.float32)


def anywhere_start(key: Array, params: EnvParams) -> Array:
    """A start position uniform over the arena minus the wall's band ``|y - wall_y| < wall_half_thickness``
    (across the whole width, gap included: no start lies inside the wall), float32 ``(2,)``."""
    x_key, y_key = jax.random.split(key)
    band = 2.0 * params.wall_half_thickness
    u = jax.random.uniform(y_key, (), jnp.float32, 0.0, ARENA_SIZE - band)
    y = jnp.where(u < params.wall_y - params.wall_half_thickness, u, u + band)
    return jnp.stack([jax.random.uniform(x_key, (), jnp.float32, 0.0, ARENA_SIZE), y])


def gap_center_x(params: EnvParams) -> Array:
    """The x coordinate of the middle of the gap, float32 scalar."""
    half_gap = 0.5 * (ARENA_SIZE - params.wall_length)
    return jnp.where(params.shifted, ARENA_SIZE - half_gap, half_gap).astype(jnp.float32)


def in_wall(position: Array, box: Array) -> Array:
    """Whether ``position`` (``(2,)``) is strictly inside the open box ``[x_lo, y_lo, x_hi, y_hi]`` (``(4,)``)."""
    return jnp.all((position > box[:2]) & (position < box[2:]))


def move_point(position: Array, displacement: Array, box: Array) -> Array:
    """Move a point by ``displacement`` inside the unit arena, stopped by a solid box.

    The target ``position + displacement`` is first clipped to the arena (which is
    convex, so the straight move stays inside it). If the straight segment to the
    target enters the open box, the move is stopped at the face it hits first (slab /
    Liang-Barsky clipping of the segment against the box) and the component along
    that face is kept, so the point slides along the wall. The result lies on the
    face's plane on the side the point came from, so neither the final position nor
    the straight segment to it ever meets the box's interior, whatever the step
    length (no tunnelling). A point on a face may move along it or away from it.

    Args:
        position: float ``(2,)``, current ``(x, y)``, not inside the box.
        displacement: float ``(2,)``, the intended move.
        box: float ``(4,)``, ``[x_lo, y_lo, x_hi, y_hi]`` with ``lo < hi``.

    Returns:
        float ``(2,)``, the new position.
    """
    lo, hi = box[:2], box[2:]
    target = jnp.clip(position + displacement, 0.0, ARENA_SIZE)
    delta = target - position
    moving = delta != 0.0
    safe = jnp.where(moving, delta, 1.0)
    t_lo = (lo - position) / safe
    t_hi = (hi - position) / safe
    in_slab = (position > lo) & (position < hi)
    # Parameter range of the segment inside each axis' open slab (empty if a still
    # coordinate is outside or on the slab's boundary, unbounded if strictly inside).
    t_near = jnp.where(moving, jnp.minimum(t_lo, t_hi), jnp.where(in_slab, -jnp.inf, jnp.inf))
    t_far = jnp.where(moving, jnp.maximum(t_lo, t_hi), jnp.where(in_slab, jnp.inf, -jnp.inf))
    t_enter = jnp.max(t_near)
    t_exit = jnp.min(t_far)
    hit = (t_enter < t_exit) & (t_enter < 1.0) & (t_exit > 0.0)
    axis = jnp.argmax(t_near)
    face = jnp.where(delta > 0.0, lo, hi)
    stopped = jnp.where(jnp.arange(2) == axis, face, target)
    moved = jnp.where(hit, stopped, target)
    # Guard against float rounding in a grazing hit: never end inside the wall.
    return jnp.where(in_wall(moved, box), position, moved)


def maze_reward(position: Array, action: Array, params: EnvParams) -> Array:
    """The true reward ``-||s - goal|| - ctrl_cost * ||a||^2`` (Fu et al. 2018).

    Args:
        position: float ``(2,)``, the state ``s`` the action is taken from.
        action: float ``(2,)``, the (clipped) action.
        params: environment parameters.

    Returns:
        float32 scalar.
    """
    distance = jnp.linalg.norm(position - goal_position(params))
    return (-distance - params.ctrl_cost * jnp.sum(action**2)).astype(jnp.float32)


def gap_policy(obs: Array, params: EnvParams, gap_x: Array | float | None = None) -> Array:
    """A scripted expert: walk to below the gap, up through it, then to the goal.

    A stateless waypoint controller: while the point has not cleared the wall it
    heads for ``(gap_x, wall bottom - 0.05)`` until it is within 0.05 of ``gap_x`` in
    x, then for ``(gap_x, wall top + 0.1)``; once above ``wall top + 0.05`` it heads
    for the goal. Each action is the clipped velocity toward the current waypoint.

    Args:
        obs: float ``(2,)``, the position.
        params: environment parameters.
        gap_x: x of the gap to go through; default: this variant's gap centre.
            Passing the other variant's gap replays the path of the other maze.

    Returns:
        float32 ``(2,)`` action in ``[-1, 1]^2``.
    """
    margin = 0.05
    gap_x = gap_center_x(params) if gap_x is None else jnp.asarray(gap_x, jnp.float32)
    y_lo = params.wall_y - params.wall_half_thickness
    y_hi = params.wall_y + params.wall_half_thickness
    cleared = obs[1] > y_hi + margin
    aligned = jnp.abs(obs[0] - gap_x) < margin
    below_gap = jnp.stack([gap_x, jnp.asarray(y_lo - margin, jnp.float32)])
    through_gap = jnp.stack([gap_x, jnp.asarray(y_hi + 2 * margin, jnp.float32)])
    waypoint = jnp.where(cleared, goal_position(params), jnp.where(aligned, through_gap, below_gap))
    return jnp.clip((waypoint - obs) / params.step_size, -1.0, 1.0).astype(jnp.float32)


class PointMaze(environment.Environment[EnvState, EnvParams]):
    """The shifting point-mass maze of Fu, Luo & Levine (2018) as a gymnax environment.

    Observation: float32 ``(2,)`` position in ``[0, 1]^2``. Action: float32 ``(2,)``
    velocity command, clipped to ``[-1, 1]^2``. Never terminates; truncated after
    ``params.max_steps_in_episode`` steps. See the module docstring for the geometry.

    Args:
        shifted: the variant given by ``default_params`` and ``name``; any instance
            runs either variant when given that variant's params.
        start_anywhere: start episodes at :func:`anywhere_start` instead of near the
            start (``PointMazeWideStart-v0``). A property of the environment, not of
            its params, so the original maze's params (and the fingerprint that
            demonstration files record) are those of earlier versions.
    """

    def __init__(self, shifted: bool = False, start_anywhere: bool = False):
        super().__init__()
        self.shifted = bool(shifted)
        self.start_anywhere = bool(start_anywhere)
        self.obs_shape = (2,)

    @property
    def default_params(self) -> EnvParams:
        """Default parameters of this instance's variant."""
        return EnvParams(shifted=self.shifted)

    def step_env(
        self,
        key: Array,
        state: EnvState,
        action: int | float | Array,
        params: EnvParams,
    ) -> tuple[Array, EnvState, Array, Array, dict[str, Any]]:
        """One move: clip the action, move the point with wall collisions, score the old position.

        Args:
            key: unused (the dynamics are deterministic).
            state: current state.
            action: ``(2,)`` velocity command.
            params: environment parameters.

        Returns:
            ``(obs (2,), state, reward (), terminated (), info)``; ``info`` holds
            ``discount`` (always 1) and ``distance``, the new distance to the goal.
        """
        del key
        action = jnp.clip(jnp.asarray(action, jnp.float32).reshape(2), -1.0, 1.0)
        reward = maze_reward(state.position, action, params)
        position = move_point(state.position, params.step_size * action, wall_box(params))
        state = EnvState(position=position, time=state.time + 1)
        terminated = jnp.array(False)
        info = {
            "discount": jnp.array(1.0, jnp.float32),
            "distance": jnp.linalg.norm(position - goal_position(params)),
        }
        return self.get_obs(state), state, reward, terminated, info

    def reset_env(self, key: Array, params: EnvParams) -> tuple[Array, EnvState]:
        """Start at ``(start_x, start_y)`` plus uniform noise in ``[-start_noise, start_noise]^2``, or, if the
        environment starts anywhere, at :func:`anywhere_start`."""
        if self.start_anywhere:
            position = anywhere_start(key, params)
        else:
            noise = jax.random.uniform(key, (2,), jnp.float32, -1.0, 1.0) * params.start_noise
            position = jnp.clip(start_position(params) + noise, 0.0, ARENA_SIZE)
        state = EnvState(position=position, time=0)
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: EnvParams | None = None, key: Array | None = None) -> Array:
        """The observation: the position, float32 ``(2,)``."""
        return state.position

    def is_terminated(self, state: EnvState, params: EnvParams) -> Array:
        """Never: reaching the goal does not end the episode."""
        return jnp.array(False)

    @property
    def name(self) -> str:
        """``PointMaze-v0``, ``PointMazeShifted-v0`` or ``PointMazeWideStart-v0``."""
        if self.shifted:
            return POINT_MAZE_SHIFTED
        return POINT_MAZE_WIDE_START if self.start_anywhere else POINT_MAZE

    @property
    def num_actions(self) -> int:
        """Dimension of the continuous action."""
        return 2

    def action_space(self, params: EnvParams | None = None) -> spaces.Box:
        """``Box(-1, 1, (2,))``."""
        return spaces.Box(low=-1.0, high=1.0, shape=(2,), dtype=jnp.float32)

    def observation_space(self, params: EnvParams | None = None) -> spaces.Box:
        """``Box(0, 1, (2,))``."""
        return spaces.Box(low=0.0, high=ARENA_SIZE, shape=(2,), dtype=jnp.float32)

    def state_space(self, params: EnvParams | None = None) -> spaces.Dict:
        """Position box and time counter."""
        params = self.default_params if params is None else params
        return spaces.Dict(
            {
                "position": spaces.Box(0.0, ARENA_SIZE, (2,), jnp.float32),
                "time": spaces.Discrete(params.max_steps_in_episode),
            }
        )


def make_point_maze(shifted: bool = False, start_anywhere: bool = False) -> tuple[PointMaze, EnvParams]:
    """The environment and default params of ``PointMaze-v0`` (``PointMazeShifted-v0`` if ``shifted``;
    ``PointMazeWideStart-v0`` if ``start_anywhere``)."""
    env = PointMaze(shifted=shifted, start_anywhere=start_anywhere)
    return env, env.default_params


def draw_point_maze(
    ax: Axes,
    params: EnvParams,
    trajectories: Sequence[Any] | Array = (),
    *,
    color: str | Sequence[str] | None = None,
    alpha: float = 0.8,
    title: str | None = None,
) -> Axes:
    """Draw the arena, wall, start, goal and trajectories onto matplotlib axes.

    Args:
        ax: the axes to draw on.
        params: which maze (``params.shifted``) and its geometry.
        trajectories: positions, one array ``(T, 2)`` per trajectory, or one array
            ``(N, T, 2)``, or a single ``(T, 2)`` array.
        color: one colour for all trajectories, one per trajectory, or None for the
            axes' colour cycle.
        alpha: line opacity.
        title: optional axes title.

    Returns:
        ``ax``.
    """
    import numpy as np
    from matplotlib.patches import Rectangle

    box = np.clip(np.asarray(wall_box(params)), 0.0, ARENA_SIZE)
    ax.add_patch(Rectangle((0.0, 0.0), ARENA_SIZE, ARENA_SIZE, fill=False, edgecolor="black", linewidth=1.5))
    ax.add_patch(Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1], color="dimgray"))
    paths = [np.asarray(t) for t in trajectories] if not hasattr(trajectories, "ndim") else None
    if paths is None:
        array = np.asarray(trajectories)
        paths = [array] if array.ndim == 2 else list(array)
    for i, path in enumerate(paths):
        c = color if color is None or isinstance(color, str) else color[i % len(color)]
        ax.plot(path[:, 0], path[:, 1], color=c, alpha=alpha, linewidth=1.0)
    start, goal = np.asarray(start_position(params)), np.asarray(goal_position(params))
    ax.plot(*start, marker="o", color="tab:blue", markersize=8, linestyle="none", label="start")
    ax.plot(*goal, marker="*", color="tab:green", markersize=14, linestyle="none", label="goal")
    ax.set_xlim(-0.02, ARENA_SIZE + 0.02)
    ax.set_ylim(-0.02, ARENA_SIZE + 0.02)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax
