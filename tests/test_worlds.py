"""Tests of the benchmark worlds against brute-force references."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.envs import (
    BinaryworldConfig,
    GridworldConfig,
    ObjectworldConfig,
    World,
    grid_transitions,
    make_binaryworld,
    make_cliffworld,
    make_gridworld,
    make_objectworld,
    make_random_mdp,
    objectworld_objects,
)
from irlax.envs.binaryworld import binaryworld_colours
from irlax.envs.gridworld import sparse_weights
from irlax.envs.random_mdp import distinct_successors
from irlax.envs.tabular import validate_mdp
from irlax.errors import IrlaxError

KEY = jax.random.key(0)

WORLDS = {
    "objectworld": lambda: make_objectworld(KEY, ObjectworldConfig()),
    "objectworld_discrete": lambda: make_objectworld(KEY, ObjectworldConfig(continuous=False)),
    "binaryworld": lambda: make_binaryworld(KEY, BinaryworldConfig()),
    "gridworld": lambda: make_gridworld(KEY, GridworldConfig()),
    "cliffworld": lambda: make_cliffworld(),
    "cliffworld_slip": lambda: make_cliffworld(10, 4, slip=0.1),
    "random_features": lambda: make_random_mdp(KEY, 40, 3, num_successors=4, num_features=5),
    "random_onehot": lambda: make_random_mdp(KEY, 30, 2, horizon=10, discount=1.0),
}


def validate(world: World) -> None:
    """Run the numpy validation of :func:`make_mdp` on a world built inside jit."""
    mdp = world.mdp
    validate_mdp(
        np.asarray(mdp.next_states),
        np.asarray(mdp.next_probs, dtype=np.float64),
        np.asarray(mdp.features, dtype=np.float64),
        np.asarray(mdp.initial, dtype=np.float64),
        mdp.discount,
        mdp.horizon,
        mdp.grid_shape,
    )


def dense_row(world: World, state: int, action: int) -> np.ndarray:
    """``P[state, action, :]`` ``[S]``, summed from the sparse successor lists in numpy."""
    row = np.zeros(world.mdp.num_states)
    successors = np.asarray(world.mdp.next_states[state, action])
    np.add.at(row, successors, np.asarray(world.mdp.next_probs[state, action]))
    return row


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_world_is_a_valid_mdp(name: str) -> None:
    world = WORLDS[name]()
    validate(world)
    np.testing.assert_allclose(np.asarray(world.mdp.next_probs).sum(-1), 1.0, atol=1e-5)
    mdp = world.mdp
    assert mdp.next_states.dtype == jnp.int32
    # float32 (under JAX_ENABLE_X64, worlds made from NumPy arrays are float64)
    assert mdp.next_probs.dtype in ((jnp.float32, jnp.float64) if jax.config.jax_enable_x64 else (jnp.float32,))
    assert world.reward.shape in ((mdp.num_states,), (mdp.num_states, mdp.num_actions))
    assert np.isfinite(np.asarray(world.reward)).all()


def brute_force_distances(inner: np.ndarray, outer: np.ndarray, colours: int) -> np.ndarray:
    """Nearest-object distances by a plain loop over cells and objects."""
    n = inner.shape[0]
    objects = [(y, x) for y in range(n) for x in range(n) if inner[y, x] >= 0]
    out = np.full((n * n, 2 * colours), np.sqrt(2.0 * n * n))
    for y, x in itertools.product(range(n), range(n)):
        for oy, ox in objects:
            d = np.hypot(y - oy, x - ox)
            for j, colour in enumerate([inner[oy, ox], outer[oy, ox]]):
                col = j * colours + colour
                out[y * n + x, col] = min(out[y * n + x, col], d)
    return out


def brute_force_objectworld_reward(distances: np.ndarray) -> np.ndarray:
    reward = np.zeros(len(distances))
    for s, d in enumerate(distances):
        if d[0] < 3 and d[1] < 2:
            reward[s] = 5.0
        elif d[0] < 3:
            reward[s] = -10.0
    return reward


@pytest.mark.parametrize("colours", [2, 3])
def test_objectworld_matches_brute_force(colours: int) -> None:
    config = ObjectworldConfig(num_colours=colours)
    key = jax.random.key(3)
    world = make_objectworld(key, config)
    objects = objectworld_objects(key, config)
    inner, outer = np.asarray(objects.inner), np.asarray(objects.outer)
    assert (inner >= 0).sum() > 10  # about 51 objects expected
    assert np.array_equal(inner >= 0, outer >= 0)
    expected = brute_force_distances(inner, outer, colours)
    np.testing.assert_allclose(np.asarray(world.mdp.features), expected, rtol=1e-6)
    reward = np.asarray(world.reward)
    assert set(np.unique(reward)) <= {0.0, 5.0, -10.0}
    np.testing.assert_array_equal(reward, brute_force_objectworld_reward(expected))
    assert world.mdp.grid_shape == (32, 32)
    assert world.mdp.horizon is None and world.mdp.discount == pytest.approx(0.9)
    np.testing.assert_allclose(np.asarray(world.mdp.initial), 1.0 / 1024)


def test_objectworld_rewards_all_occur() -> None:
    reward = np.asarray(make_objectworld(KEY, ObjectworldConfig()).reward)
    assert set(np.unique(reward)) == {0.0, 5.0, -10.0}


def test_objectworld_discrete_features() -> None:
    key = jax.random.key(5)
    continuous = np.asarray(make_objectworld(key, ObjectworldConfig()).mdp.features)
    discrete = np.asarray(make_objectworld(key, ObjectworldConfig(continuous=False)).mdp.features)
    assert discrete.shape == (1024, 124)
    for j, d in itertools.product(range(4), range(1, 32)):
        expected = continuous[:, j] < d
        np.testing.assert_array_equal(discrete[:, j * 31 + d - 1], expected)


def test_five_action_slip_interior_and_edge() -> None:
    world = make_objectworld(KEY, ObjectworldConfig(size=5, object_prob=0.0))
    # No objects: every colour gets the distance sqrt(2 n^2), and the reward is 0.
    np.testing.assert_allclose(np.asarray(world.mdp.features), np.sqrt(2 * 25), rtol=1e-6)
    assert not np.asarray(world.reward).any()
    n = 5

    def s(y: int, x: int) -> int:
        return y * n + x

    # Interior (y=2, x=2), action +x: 0.7 to the right, 0.075 to stay and each other move.
    row = dense_row(world, s(2, 2), 2)
    assert row[s(2, 3)] == pytest.approx(0.7)
    for other in (s(2, 2), s(3, 2), s(1, 2), s(2, 1)):
        assert row[other] == pytest.approx(0.075)
    assert row.sum() == pytest.approx(1.0)
    # Edge (y=0, x=2), action -y: off the grid, so stays with 0.7 + 0.075 (the stay action).
    row = dense_row(world, s(0, 2), 3)
    assert row[s(0, 2)] == pytest.approx(0.775)
    for other in (s(1, 2), s(0, 3), s(0, 1)):
        assert row[other] == pytest.approx(0.075)
    # Corner (0, 0), action stay: both -y and -x slips stay too.
    assert dense_row(world, s(0, 0), 0)[s(0, 0)] == pytest.approx(0.7 + 2 * 0.075)


def test_grid_transitions_layout() -> None:
    states, probs = grid_transitions(3, 4, "four", 0.4)
    assert states.shape == probs.shape == (12, 4, 4)
    assert states.dtype == np.int32 and probs.dtype == np.float32
    # From (y=1, x=1): +y, +x, -y, -x lead to (2,1), (1,2), (0,1), (1,0).
    np.testing.assert_array_equal(states[5, 0], [9, 6, 1, 4])
    np.testing.assert_allclose(probs[5, 1], [0.2, 0.4, 0.2, 0.2])
    with pytest.raises(IrlaxError):
        grid_transitions(3, 3, "six")  # type: ignore[arg-type]


def test_binaryworld_matches_brute_force() -> None:
    config = BinaryworldConfig()
    key = jax.random.key(7)
    world = make_binaryworld(key, config)
    blue = np.asarray(binaryworld_colours(key, config))
    n = config.size
    features = np.zeros((n * n, 9))
    reward = np.zeros(n * n)
    for y, x in itertools.product(range(n), range(n)):
        for i, (dy, dx) in enumerate(itertools.product((-1, 0, 1), (-1, 0, 1))):
            yy, xx = y + dy, x + dx
            features[y * n + x, i] = 0 <= yy < n and 0 <= xx < n and blue[yy, xx]
        count = features[y * n + x].sum()
        reward[y * n + x] = 5.0 if count == 4 else -5.0 if count == 5 else 0.0
    np.testing.assert_array_equal(np.asarray(world.mdp.features), features)
    np.testing.assert_array_equal(np.asarray(world.reward), reward)
    assert 0.3 < blue.mean() < 0.7


def test_vmap_over_keys_gives_different_worlds_with_same_dynamics() -> None:
    config = ObjectworldConfig(continuous=False)
    keys = jax.random.split(jax.random.key(11), 3)
    worlds = jax.vmap(lambda k: make_objectworld(k, config))(keys)
    assert worlds.mdp.features.shape == (3, 1024, 124)
    assert worlds.reward.shape == (3, 1024)
    for i, j in itertools.combinations(range(3), 2):
        assert not np.array_equal(worlds.mdp.features[i], worlds.mdp.features[j])
        assert not np.array_equal(worlds.reward[i], worlds.reward[j])
        np.testing.assert_array_equal(worlds.mdp.next_states[i], worlds.mdp.next_states[j])
        np.testing.assert_array_equal(worlds.mdp.next_probs[i], worlds.mdp.next_probs[j])
    single = jax.jit(make_objectworld, static_argnums=1)(keys[1], config)
    np.testing.assert_array_equal(worlds.reward[1], single.reward)
    np.testing.assert_array_equal(worlds.mdp.features[1], single.mdp.features)


def test_gridworld_features_and_reward() -> None:
    key = jax.random.key(2)
    world = make_gridworld(key, GridworldConfig())
    features = np.asarray(world.mdp.features)
    assert features.shape == (128 * 128, 64)
    np.testing.assert_array_equal(features.sum(axis=1), 1.0)
    assert set(np.unique(features)) == {0.0, 1.0}
    # Cell (y=17, x=40) lies in macrocell (1, 2) = 1 * 8 + 2.
    assert features[17 * 128 + 40, 10] == 1.0
    weights = np.asarray(sparse_weights(key, 64, 0.9))
    assert (weights != 0).any() and (weights >= 0).all() and (weights <= 1).all()
    np.testing.assert_allclose(np.asarray(world.reward), features @ weights, rtol=1e-6)
    assert world.mdp.discount == pytest.approx(0.99) and world.mdp.num_actions == 4


def test_gridworld_all_zero_weights_fall_back_to_one_component() -> None:
    weights = np.asarray(sparse_weights(KEY, 64, 1.0))
    assert (weights == 1.0).sum() == 1 and (weights == 0.0).sum() == 63


def test_gridworld_slip() -> None:
    world = WORLDS["gridworld"]()
    n = 128
    # Interior (y=3, x=3), action +x: 0.7 + 0.3/4 to the right, 0.3/4 to each other side.
    row = dense_row(world, 3 * n + 3, 1)
    assert row[3 * n + 4] == pytest.approx(0.775)
    for other in (4 * n + 3, 2 * n + 3, 3 * n + 2):
        assert row[other] == pytest.approx(0.075)
    assert row[3 * n + 3] == 0.0  # no stay action
    # Corner (0, 0), action -y: off the grid; the -x slip also stays.
    assert dense_row(world, 0, 2)[0] == pytest.approx(0.775 + 0.075)


def test_cliffworld() -> None:
    width, height = 100, 20
    world = make_cliffworld(width, height)
    mdp = world.mdp
    assert (mdp.num_states, mdp.num_actions, mdp.horizon) == (2000, 4, 110)
    assert mdp.features.shape == (2000, 2000)
    start, goal = 0, width - 1
    assert np.asarray(mdp.initial)[start] == 1.0
    states, reward = np.asarray(mdp.next_states)[..., 0], np.asarray(world.reward)
    up, right, down = 0, 1, 2
    # Right along the bottom row from the start: into the cliff, back to the start.
    assert states[start, right] == start and reward[start, right] == -100.0
    assert states[start, down] == start and reward[start, down] == -1.0
    # Up, right along row 1, down into the goal: width + 1 steps of -1.
    s, total = start, 0.0
    for a in [up] + [right] * (width - 1) + [down]:
        total += reward[s, a]
        s = states[s, a]
    assert s == goal and total == -(width + 1)
    # Stepping down from row 1 into a cliff cell also sends the agent to the start.
    assert states[width + 5, down] == start and reward[width + 5, down] == -100.0
    assert (states[goal] == goal).all() and (reward[goal] == 0.0).all()


def test_cliffworld_slip_expected_reward() -> None:
    world = make_cliffworld(6, 3, slip=0.3)
    row = dense_row(world, 0, 0)
    # From the start, action +y: 0.7 up, 0.1 into the cliff (-> start), 0.2 stay in place.
    assert row[6] == pytest.approx(0.7)
    assert row[0] == pytest.approx(0.3)
    assert np.asarray(world.reward)[0, 0] == pytest.approx(0.9 * -1.0 + 0.1 * -100.0)


def test_random_mdp_successors_distinct_and_uniform() -> None:
    world = WORLDS["random_features"]()
    states = np.sort(np.asarray(world.mdp.next_states), axis=-1)
    assert states.shape == (40, 3, 4)
    assert (np.diff(states, axis=-1) > 0).all()
    assert world.mdp.features.shape == (40, 5)
    draws = np.asarray(distinct_successors(jax.random.key(1), 5, 20000, 2))
    assert (draws[..., 0] != draws[..., 1]).all()
    frequency = np.bincount(draws.ravel(), minlength=5) / draws.size
    np.testing.assert_allclose(frequency, 0.2, atol=0.01)
    pair_index = (draws.min(-1) * 5 + draws.max(-1)).ravel()
    pairs = np.bincount(pair_index, minlength=25) / pair_index.size
    nonzero = pairs[pairs > 0]
    assert len(nonzero) == 10
    np.testing.assert_allclose(nonzero, 0.1, atol=0.01)


def test_random_mdp_reward_is_linear_in_features() -> None:
    a = make_random_mdp(KEY, 40, 3, num_successors=4, num_features=5, reward_scale=1.0)
    b = make_random_mdp(KEY, 40, 3, num_successors=4, num_features=5, reward_scale=2.5)
    np.testing.assert_allclose(np.asarray(b.reward), 2.5 * np.asarray(a.reward), rtol=1e-6)
    weights, *_ = np.linalg.lstsq(np.asarray(a.mdp.features), np.asarray(a.reward), rcond=None)
    np.testing.assert_allclose(np.asarray(a.mdp.features) @ weights, a.reward, atol=1e-4)
    onehot = make_random_mdp(KEY, 30, 2)
    np.testing.assert_array_equal(onehot.mdp.features, np.eye(30))


@pytest.mark.parametrize(
    "build",
    [
        lambda: ObjectworldConfig(num_colours=1),
        lambda: ObjectworldConfig(discount=1.0),
        lambda: BinaryworldConfig(blue_prob=1.5),
        lambda: GridworldConfig(size=10, macrocell=3),
        lambda: GridworldConfig(discount=1.0),
        lambda: make_cliffworld(1, 5),
        lambda: make_cliffworld(slip=2.0),
        lambda: make_random_mdp(KEY, 3, 2, num_successors=4),
        lambda: make_random_mdp(KEY, 3, 2, discount=1.0),
    ],
)
def test_bad_arguments_raise(build) -> None:
    with pytest.raises(IrlaxError):
        build()
