"""Tests of the shifting point-mass maze (Fu, Luo & Levine 2018) against plain references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax import tasks
from irlax.envs.point_maze import (
    POINT_MAZE,
    POINT_MAZE_SHIFTED,
    POINT_MAZE_VARIANTS,
    EnvParams,
    EnvState,
    PointMaze,
    draw_point_maze,
    gap_center_x,
    gap_policy,
    goal_position,
    make_point_maze,
    move_point,
    wall_box,
)

ENV, ORIGINAL = make_point_maze()
SHIFTED = ORIGINAL.replace(shifted=True)
LEFT_GAP = float(gap_center_x(ORIGINAL))
RIGHT_GAP = float(gap_center_x(SHIFTED))
STRAIGHT, THROUGH_LEFT, THROUGH_RIGHT = range(3)
EPISODE = 100


def _policy(index: jax.Array, obs: jax.Array, params: EnvParams) -> jax.Array:
    """Scripted controllers: straight at the goal, or through the left or the right gap, whatever the maze."""
    return jax.lax.switch(
        index,
        [
            lambda: jnp.clip((goal_position(params) - obs) / params.step_size, -1.0, 1.0),
            lambda: gap_policy(obs, params, LEFT_GAP),
            lambda: gap_policy(obs, params, RIGHT_GAP),
        ],
    )


def _episode(policy: jax.Array, shifted: jax.Array, key: jax.Array):
    """One episode of ``EPISODE`` steps of ``step_env`` from a reset; per-step (obs, reward, terminated, distance)."""
    params = ORIGINAL.replace(shifted=shifted)
    obs, state = ENV.reset(key, params)

    def step(carry, _):
        obs, state = carry
        action = _policy(policy, obs, params)
        next_obs, state, reward, terminated, info = ENV.step_env(key, state, action, params)
        return (next_obs, state), (obs, reward, terminated, info["distance"])

    _, out = jax.lax.scan(step, (obs, state), None, length=EPISODE)
    return out


_episodes = jax.jit(jax.vmap(_episode))
_move = jax.jit(move_point)

CASES = [  # (shifted, policy, reaches the goal)
    (False, THROUGH_LEFT, True),
    (True, THROUGH_RIGHT, True),
    (True, THROUGH_LEFT, False),  # the demonstrated path is blocked after the shift
    (False, THROUGH_RIGHT, False),
    (False, STRAIGHT, False),  # heading straight at the goal gets stuck under the wall
    (True, STRAIGHT, False),
]
EPISODES_PER_CASE = 8


@pytest.fixture(scope="module")
def scripted_runs():
    """All scripted cases in one compiled call: arrays ``(len(CASES), EPISODES_PER_CASE, EPISODE, ...)``."""
    shifted = jnp.repeat(jnp.array([c[0] for c in CASES]), EPISODES_PER_CASE)
    policy = jnp.repeat(jnp.array([c[1] for c in CASES]), EPISODES_PER_CASE)
    keys = jax.random.split(jax.random.key(1), len(CASES) * EPISODES_PER_CASE)
    out = _episodes(policy, shifted, keys)
    return [np.asarray(x).reshape(len(CASES), EPISODES_PER_CASE, *x.shape[1:]) for x in out]


def _segment_hits_wall(starts: np.ndarray, ends: np.ndarray, box: np.ndarray, samples: int = 201) -> np.ndarray:
    """Whether each straight segment ``(M, 2) -> (M, 2)`` passes strictly inside the box, by dense sampling."""
    t = np.linspace(0.0, 1.0, samples)[None, :, None]
    points = starts[:, None, :] + t * (ends - starts)[:, None, :]
    inside = (points > box[:2]) & (points < box[2:])
    return inside.all(axis=-1).any(axis=-1)


@pytest.mark.parametrize(
    ("position", "displacement", "params", "expected"),
    [
        ((0.5, 0.45), (0.0, 0.1), ORIGINAL, (0.5, 0.48)),  # straight into the bottom face
        ((0.5, 0.47), (0.05, 0.05), ORIGINAL, (0.55, 0.48)),  # diagonal: stops in y, slides in x
        ((0.5, 0.1), (0.0, 0.8), ORIGINAL, (0.5, 0.48)),  # a long step does not tunnel
        ((0.5, 0.6), (0.1, -0.5), ORIGINAL, (0.6, 0.52)),  # from above onto the top face
        ((0.2, 0.45), (0.0, 0.1), ORIGINAL, (0.2, 0.55)),  # through the left gap
        ((0.2, 0.45), (0.0, 0.1), SHIFTED, (0.2, 0.48)),  # the same move is blocked when shifted
        ((0.8, 0.45), (0.0, 0.1), SHIFTED, (0.8, 0.55)),  # through the right gap
        ((0.8, 0.45), (0.0, 0.1), ORIGINAL, (0.8, 0.48)),
        ((0.3, 0.5), (0.1, 0.0), ORIGINAL, (1 / 3, 0.5)),  # into the wall's end face from the gap
        ((0.5, 0.48), (0.0, 0.02), ORIGINAL, (0.5, 0.48)),  # on the face, pushing in: stays
        ((0.5, 0.48), (0.02, 0.0), ORIGINAL, (0.52, 0.48)),  # on the face, sliding along it
        ((0.5, 0.48), (0.0, -0.02), ORIGINAL, (0.5, 0.46)),  # on the face, leaving it
        ((0.0, 0.4), (0.0, 0.2), SHIFTED, (0.0, 0.48)),  # no slipping along the arena border
        ((1.0, 0.4), (0.0, 0.2), ORIGINAL, (1.0, 0.48)),
        ((0.99, 0.1), (0.1, -0.2), ORIGINAL, (1.0, 0.0)),  # clipped to the arena
    ],
)
def test_move_point_cases(position, displacement, params, expected) -> None:
    new = _move(jnp.array(position), jnp.array(displacement), wall_box(params))
    np.testing.assert_allclose(np.asarray(new), expected, atol=1e-6)


@jax.jit
def _random_walks(starts: jax.Array, actions: jax.Array, shifted: jax.Array, step_size: jax.Array):
    """Walk each start ``(N, 2)`` with its actions ``(N, T, 2)`` through ``step_env``; positions ``(N, T + 1, 2)``."""

    def walk(start, acts, shifted):
        params = ORIGINAL.replace(shifted=shifted, step_size=step_size)

        def step(state, a):
            _, state, _, _, _ = ENV.step_env(jax.random.key(0), state, a, params)
            return state, state.position

        _, positions = jax.lax.scan(step, EnvState(position=start, time=0), acts)
        return jnp.concatenate([start[None], positions]), wall_box(params)

    return jax.vmap(walk)(starts, actions, shifted)


def _sides(y: np.ndarray, box: np.ndarray) -> np.ndarray:
    """-1 below the wall's bottom face, +1 above its top face, 0 in between."""
    return np.where(y <= box[1], -1, np.where(y >= box[3], 1, 0))


@pytest.fixture(scope="module", params=[0.02, 0.15])
def random_walks(request):
    """Random starts anywhere outside the wall, random actions pushing at it, both variants, one vmapped call."""
    step_size = request.param
    num, steps = 256, 120
    rng = np.random.default_rng(int(step_size * 100))
    starts = rng.uniform(0.0, 1.0, (num, 2)).astype(np.float32)
    below = starts[:, 1] < 0.5
    starts[:, 1] = np.where(below, starts[:, 1] * 0.96, 0.52 + (starts[:, 1] - 0.5) * 0.96)  # outside the wall band
    bias = np.where(below[:, None], [0.0, 0.5], [0.0, -0.5])  # push toward the wall
    actions = (rng.uniform(-1.0, 1.0, (num, steps, 2)) + bias[:, None, :]).astype(np.float32)
    shifted = np.arange(num) % 2 == 1
    positions, boxes = _random_walks(jnp.asarray(starts), jnp.asarray(actions), jnp.asarray(shifted), step_size)
    return step_size, actions, shifted, np.asarray(positions), np.asarray(boxes)


def test_random_moves_never_cross_the_wall(random_walks) -> None:
    """No position inside the wall, no move through it, side changes only through the gap."""
    step_size, _, shifted, positions, boxes = random_walks
    assert (positions >= 0.0).all() and (positions <= 1.0).all()
    inside = ((positions > boxes[:, None, :2]) & (positions < boxes[:, None, 2:])).all(-1)
    assert not inside.any()
    # The straight segment of every move stays out of the wall (by dense sampling).
    for variant in (False, True):
        rows = shifted == variant
        seg_start, seg_end = positions[rows, :-1].reshape(-1, 2), positions[rows, 1:].reshape(-1, 2)
        assert not _segment_hits_wall(seg_start, seg_end, boxes[int(variant)]).any()

    # A move that jumps from one side to the other in one step meets y = wall_y beside the wall.
    seg_start, seg_end = positions[:, :-1], positions[:, 1:]
    side_start, side_end = _sides(seg_start[..., 1], boxes[0]), _sides(seg_end[..., 1], boxes[0])
    jump = side_start * side_end == -1
    t = (0.5 - seg_start[..., 1]) / np.where(jump, seg_end[..., 1] - seg_start[..., 1], 1.0)
    x_cross = seg_start[..., 0] + t * (seg_end[..., 0] - seg_start[..., 0])
    beside = (x_cross <= boxes[:, None, 0] + 1e-6) | (x_cross >= boxes[:, None, 2] - 1e-6)
    assert beside[jump].all()
    if step_size > 0.04:
        assert jump.sum() > 10

    # Not vacuous: walks do change side (through the gaps), and many moves end on the wall's faces.
    crossings = 0
    for y, box in zip(positions[..., 1], boxes, strict=True):
        side = _sides(y, box)
        side = side[side != 0]
        crossings += int(np.sum(side[1:] != side[:-1]))
    assert crossings > 10
    on_face = np.isclose(positions[..., 1], boxes[:, None, 1]) | np.isclose(positions[..., 1], boxes[:, None, 3])
    assert on_face.sum() > 100


@pytest.mark.parametrize(("case", "shifted", "policy", "reaches"), [(i, *c) for i, c in enumerate(CASES)])
def test_scripted_controllers(scripted_runs, case: int, shifted: bool, policy: int, reaches: bool) -> None:
    obs, rewards, terminated, distance = (x[case] for x in scripted_runs)
    params = SHIFTED if shifted else ORIGINAL
    if reaches:
        assert (distance[:, -1] < 0.02).all()
        assert (distance[:, 60:] < 0.05).all()  # there within 60 of the 100 steps, and stays
        assert (rewards.sum(axis=1) > -25.0).all()
    else:
        assert (distance.min(axis=1) > 0.4).all()
        assert (rewards.sum(axis=1) < -44.0).all()
        # Stuck right under the wall, on its bottom face.
        np.testing.assert_allclose(obs[:, -1, 1], float(wall_box(params)[1]), atol=1e-6)
    assert not terminated.any()  # reaching the goal does not end the episode


def test_default_gap_policy_matches_variant() -> None:
    for params, expected in ((ORIGINAL, 1 / 6), (SHIFTED, 5 / 6)):
        assert float(gap_center_x(params)) == pytest.approx(expected)
        obs = jnp.array([0.5, 0.1])
        policy = jax.jit(gap_policy)
        np.testing.assert_allclose(policy(obs, params), policy(obs, params, expected))
        np.testing.assert_allclose(policy(obs, params), [np.sign(expected - 0.5), 1.0])  # toward the gap, and up


def test_reward_is_higher_near_the_goal() -> None:
    goal = np.asarray(goal_position(ORIGINAL))
    positions = np.random.default_rng(0).uniform(0.0, 1.0, (200, 2)).astype(np.float32)
    positions = np.concatenate([positions, [goal, goal - [0.0, 0.1], [0.5, 0.1]]]).astype(np.float32)
    actions = np.zeros_like(positions)
    actions[-3] = 1.0  # at the goal, full push: only the control cost

    @jax.jit
    @jax.vmap
    def reward(p, a):
        return ENV.step_env(jax.random.key(0), EnvState(position=p, time=0), a, ORIGINAL)[2]

    rewards = np.asarray(reward(jnp.asarray(positions), jnp.asarray(actions)))
    distances = np.linalg.norm(positions - goal, axis=1)
    np.testing.assert_allclose(rewards[:200], -distances[:200], atol=1e-6)
    order = np.argsort(distances[:200])
    assert (np.diff(rewards[:200][order]) <= 1e-7).all()  # closer is better
    assert rewards[-3] == pytest.approx(-2 * ORIGINAL.ctrl_cost)
    assert 0.0 > rewards[-3] > rewards[-2] > rewards[-1]


def test_jit_and_no_jit_agree(random_walks) -> None:
    """The compiled, vmapped scan of ``step_env`` against a plain eager Python loop."""
    step_size, actions, shifted, positions, _ = random_walks
    with jax.disable_jit():
        for walk in (0, 1):  # one walk in each variant
            params = ORIGINAL.replace(shifted=bool(shifted[walk]), step_size=step_size)
            state = EnvState(position=jnp.asarray(positions[walk, 0]), time=0)
            for t in range(8):
                obs, state, reward, _, _ = ENV.step_env(jax.random.key(0), state, jnp.asarray(actions[walk, t]), params)
                np.testing.assert_allclose(np.asarray(obs), positions[walk, t + 1], atol=1e-6)
                assert int(state.time) == t + 1


def test_variants_share_one_compiled_step() -> None:
    traces = []

    @jax.jit
    def step(state, params):
        traces.append(1)
        return ENV.step_env(jax.random.key(0), state, jnp.array([0.0, 1.0]), params)

    state = EnvState(position=jnp.array([0.2, 0.47]), time=0)
    up_left = step(state, ORIGINAL)[1].position
    up_left_shifted = step(state, SHIFTED)[1].position
    assert len(traces) == 1
    np.testing.assert_allclose(np.asarray(up_left), [0.2, 0.49], atol=1e-6)  # in the gap
    np.testing.assert_allclose(np.asarray(up_left_shifted), [0.2, 0.48], atol=1e-6)  # blocked


def test_truncation_and_auto_reset() -> None:
    params = ORIGINAL.replace(max_steps_in_episode=10)
    obs, state = ENV.reset(jax.random.key(0), params)
    start = np.asarray([params.start_x, params.start_y])
    assert np.abs(np.asarray(obs) - start).max() <= params.start_noise
    action = jnp.array([1.0, 1.0])
    for t in range(1, 26):
        prev = np.asarray(obs)
        obs, state, reward, terminated, truncated, info = ENV.step(jax.random.key(t), state, action, params)
        assert not bool(terminated)
        assert bool(truncated) == (t % 10 == 0)
        expected = np.minimum(prev + 0.02, [1.0, 0.48])
        np.testing.assert_allclose(np.asarray(info["final_observation"]), expected, atol=1e-6)
        if t % 10 == 0:  # auto-reset: a fresh start, time back at 0
            assert int(state.time) == 0
            assert np.abs(np.asarray(obs) - start).max() <= params.start_noise
            assert np.abs(np.asarray(info["final_observation"]) - start).max() > 0.1
        else:
            assert int(state.time) == t % 10
            np.testing.assert_array_equal(np.asarray(obs), np.asarray(info["final_observation"]))
    # The default episode: truncated exactly at step 100.
    obs, state = ENV.reset(jax.random.key(1), ORIGINAL)
    truncations = []
    for t in range(1, 102):
        _, state, _, _, truncated, _ = ENV.step(jax.random.key(t), state, action, ORIGINAL)
        truncations.append(bool(truncated))
    assert [t + 1 for t, flag in enumerate(truncations) if flag] == [100]
    # Start noise differs across reset keys.
    starts = np.array([np.asarray(ENV.reset(k, params)[0]) for k in jax.random.split(jax.random.key(9), 16)])
    assert np.unique(starts[:, 0]).size == 16
    assert np.abs(starts - start).max() <= params.start_noise


def test_names_spaces_and_constructors() -> None:
    env, params = make_point_maze()
    env_s, params_s = make_point_maze(shifted=True)
    assert isinstance(env, PointMaze) and isinstance(env_s, PointMaze)
    assert env.name == POINT_MAZE == "PointMaze-v0" and not params.shifted
    assert env_s.name == POINT_MAZE_SHIFTED == "PointMazeShifted-v0" and params_s.shifted
    assert env_s.default_params == params_s and params_s == params.replace(shifted=True)
    assert POINT_MAZE_VARIANTS == {"PointMaze-v0": False, "PointMazeShifted-v0": True, "PointMazeWideStart-v0": False}
    assert params.max_steps_in_episode == 100
    assert env.action_space(params).shape == (2,) and env.observation_space(params).shape == (2,)
    assert env.num_actions == 2
    obs, state = ENV.reset(jax.random.key(0), params)
    assert obs.shape == (2,) and obs.dtype == jnp.float32
    assert bool(env.observation_space(params).contains(obs))
    action = env.action_space(params).sample(jax.random.key(1))
    assert bool(env.action_space(params).contains(action))
    # Out-of-range actions are clipped: a huge action moves one full step.
    _, state2, *_ = ENV.step(jax.random.key(2), state, jnp.array([50.0, 50.0]), params)
    np.testing.assert_allclose(np.asarray(state2.position), np.asarray(state.position) + 0.02, atol=1e-6)


def test_draw_point_maze(scripted_runs) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    obs = scripted_runs[0][1, :3]  # three episodes through the right gap of the shifted maze
    fig, axes = plt.subplots(1, 2)
    try:
        draw_point_maze(axes[0], ORIGINAL, list(obs[:2]), color="tab:red", title="original")
        draw_point_maze(axes[1], SHIFTED, obs, color=["tab:red", "tab:blue"])
        wall = axes[1].patches[1]
        assert wall.get_x() == pytest.approx(0.0) and wall.get_width() == pytest.approx(2 / 3)
        assert axes[0].patches[1].get_x() == pytest.approx(1 / 3)
        assert len(axes[0].lines) == 2 + 2 and len(axes[1].lines) == 3 + 2  # trajectories + start + goal
        assert axes[0].get_title() == "original"
    finally:
        plt.close(fig)


def test_wide_start_covers_the_arena_outside_the_wall_band():
    from irlax.envs.point_maze import anywhere_start

    env, params = make_point_maze(start_anywhere=True)
    starts = np.asarray(jax.vmap(lambda k: anywhere_start(k, params))(jax.random.split(jax.random.PRNGKey(0), 4000)))
    assert starts.min() >= 0.0 and starts.max() <= 1.0
    assert not np.any(np.abs(starts[:, 1] - params.wall_y) < params.wall_half_thickness)  # never in the wall band
    # about uniform: a quarter in each quadrant, the band's share of y taken out
    for x_side in (starts[:, 0] < 0.5, starts[:, 0] >= 0.5):
        for y_side in (starts[:, 1] < 0.5, starts[:, 1] >= 0.5):
            assert abs(np.mean(x_side & y_side) - 0.25) < 0.03
    key = jax.random.PRNGKey(3)
    wide = env.reset_env(key, params)[0]
    near, _ = make_point_maze()[0].reset_env(key, params)
    np.testing.assert_allclose(wide, anywhere_start(key, params))
    assert np.all(np.abs(np.asarray(near) - [0.5, 0.1]) <= 0.02 + 1e-6)  # the usual start is unchanged


def test_wide_start_task_is_the_original_maze():
    wide, original = tasks.make_env("PointMazeWideStart-v0"), tasks.make_env("PointMaze-v0")
    # the same params (so demonstrations recorded before the variant existed still fit the original maze)
    assert wide.spec.name == "PointMazeWideStart-v0" and wide.params == original.params
    assert not bool(wide.params.shifted) and wide.env.start_anywhere and not original.env.start_anywhere
    assert wide.env.name == "PointMazeWideStart-v0"
