"""Gymnasium's toy-text environments as tabular worlds (``irlax.envs.toy_text``).

- FrozenLake's MDP has Gymnasium's transition table, row for row, and its expected rewards.
- MCE IRL on the soft-optimal FrozenLake expert's exact (infinitely many) demonstrations recovers
  the expert's occupancy.
- Every toy-text id builds, with the right sizes; terminal states are absorbing with reward 0.
- ``irlax world FrozenLake-v1`` writes a world file that keeps the id; unknown ids and environments
  without a table fail with one line.
"""

from __future__ import annotations

import functools

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms.mce import MCEConfig, mce_objective
from irlax.algorithms.tabular_fit import fit_reward, make_optimizer
from irlax.cli.main import main
from irlax.envs.tabular import to_dense
from irlax.envs.toy_text import make_toy_text, table_world, toy_text_ids
from irlax.envs.world_file import load_world
from irlax.errors import IrlaxError
from irlax.rewards.linear import linear_reward
from irlax.tabular.occupancy import occupancy_discounted
from irlax.tabular.planning import soft_value_iteration


def gymnasium_table(env_id: str, **make_kwargs) -> tuple[np.ndarray, np.ndarray, set[int], object]:
    """Gymnasium's dynamics as dense arrays: ``P [S, A, S]`` (repeated successors summed), the expected
    reward ``[S, A]``, the states that terminating steps enter, and the unwrapped environment."""
    env = gymnasium.make(env_id, **make_kwargs).unwrapped
    num_states, num_actions = env.observation_space.n, env.action_space.n
    dense = np.zeros((num_states, num_actions, num_states))
    reward = np.zeros((num_states, num_actions))
    terminal = set()
    for s in range(num_states):
        for a in range(num_actions):
            for prob, next_state, r, terminated in env.P[s][a]:
                dense[s, a, next_state] += prob
                reward[s, a] += prob * r
                if terminated and prob > 0:
                    terminal.add(int(next_state))
    return dense, reward, terminal, env


def test_frozen_lake_has_gymnasiums_transition_table_and_rewards():
    world = make_toy_text("FrozenLake-v1")
    mdp = world.mdp
    dense, reward, terminal, env = gymnasium_table("FrozenLake-v1")
    assert (mdp.num_states, mdp.num_actions) == (16, 4)
    ours = np.asarray(to_dense(mdp), np.float64)
    for s in range(16):
        for a in range(4):
            np.testing.assert_allclose(ours[s, a], dense[s, a], atol=1e-6, err_msg=f"row ({s}, {a})")
    np.testing.assert_allclose(np.asarray(world.reward), reward, atol=1e-6)
    assert np.asarray(world.reward).max() == pytest.approx(1 / 3)  # a slip into the goal from next to it
    # the holes and the goal: absorbing with reward 0 in Gymnasium's table already
    assert terminal == {5, 7, 11, 12, 15}
    for s in terminal:
        np.testing.assert_array_equal(ours[s, :, s], 1.0)
        np.testing.assert_array_equal(np.asarray(world.reward)[s], 0.0)
    np.testing.assert_allclose(np.asarray(mdp.initial), env.initial_state_distrib)
    np.testing.assert_array_equal(np.asarray(mdp.features), np.eye(16))
    assert (mdp.discount, mdp.horizon, mdp.grid_shape) == (0.99, None, (4, 4))


def test_deterministic_frozen_lake_stores_one_successor():
    world = make_toy_text("FrozenLake-v1", is_slippery=False, discount=0.9)
    dense, reward, _, _ = gymnasium_table("FrozenLake-v1", is_slippery=False)
    assert world.mdp.next_states.shape == (16, 4, 1) and world.mdp.discount == 0.9
    np.testing.assert_allclose(np.asarray(to_dense(world.mdp)), dense, atol=1e-6)
    np.testing.assert_allclose(np.asarray(world.reward), reward)


def test_mce_recovers_the_frozen_lake_experts_occupancy():
    """The expert is soft-optimal for 10x the true reward (for the true reward itself it is almost uniform: success
    is worth at most 1 in 100 discounted steps). FrozenLake's reward, entering the goal, equals the state reward
    ``(1 - gamma) / gamma`` on the absorbing goal, so the expert is in the one-hot state-feature model and exact
    demonstration counts pin its occupancy down."""
    with jax.enable_x64(True):
        world = make_toy_text("FrozenLake-v1")
        mdp = world.mdp
        occupancy = functools.partial(occupancy_discounted, mdp, source=mdp.initial, tolerance=1e-10)
        expert = soft_value_iteration(mdp, 10.0 * world.reward, tolerance=1e-10).policy
        counts = occupancy(expert)  # the expert's expected discounted (s, a) counts: infinitely many demonstrations
        uniform = occupancy(jnp.full_like(expert, 0.25))
        assert float(jnp.abs(uniform - counts).max()) > 0.3, "the expert is far from the uniform policy"
        objective = functools.partial(mce_objective, mdp, counts, MCEConfig(tolerance=1e-10), None)
        run = jax.jit(lambda key: fit_reward(objective, linear_reward(), mdp.features,
                                             make_optimizer("adam", 0.05, 0.0), 500, key))
        result = run(jax.random.key(0))
        learned = occupancy(jnp.exp(result.log_policy))
        assert float(jnp.abs(learned - counts).max()) < 1e-4
        ll = np.asarray(result.metrics.log_likelihood)
        assert ll[-1] > ll[0]


@pytest.mark.parametrize("env_id", toy_text_ids())
def test_every_toy_text_world_is_gymnasiums_table_with_terminal_states_absorbing(env_id):
    world = make_toy_text(env_id)
    mdp = world.mdp
    dense, reward, terminal, env = gymnasium_table(env_id)
    sizes = {"FrozenLake-v1": (16, 4), "FrozenLake8x8-v1": (64, 4), "CliffWalking-v1": (48, 4),
             "CliffWalkingSlippery-v1": (48, 4), "Taxi-v4": (500, 6)}
    assert (mdp.num_states, mdp.num_actions) == sizes[env_id]
    assert world.reward.shape == (mdp.num_states, mdp.num_actions)
    np.testing.assert_allclose(np.asarray(mdp.next_probs).sum(-1), 1.0, atol=1e-6)
    ours = np.asarray(to_dense(mdp), np.float64)
    ordinary = np.setdiff1d(np.arange(mdp.num_states), sorted(terminal))
    np.testing.assert_allclose(ours[ordinary], dense[ordinary], atol=1e-6)
    np.testing.assert_allclose(np.asarray(world.reward)[ordinary], reward[ordinary], atol=1e-5)
    for s in terminal:
        np.testing.assert_array_equal(ours[s, :, s], 1.0)
        np.testing.assert_array_equal(np.asarray(world.reward)[s], 0.0)
    np.testing.assert_allclose(np.asarray(mdp.initial), env.initial_state_distrib, atol=1e-7)


def test_cliff_walking_and_taxi_terminal_states():
    cliff = make_toy_text("CliffWalking-v1")
    _, _, terminal, _ = gymnasium_table("CliffWalking-v1")
    assert terminal == {47} and cliff.mdp.grid_shape == (4, 12)
    assert float(cliff.reward[35, 2]) == -1.0  # down into the goal: the step's -1, then nothing
    assert float(cliff.reward[36, 1]) == -100.0  # right into the cliff, back to the start
    taxi = make_toy_text("Taxi-v4")
    _, _, terminal, env = gymnasium_table("Taxi-v4")
    assert len(terminal) == 4 and taxi.mdp.grid_shape is None
    in_taxi_at_red = env.encode(0, 0, 4, 0)  # passenger in the taxi at its destination, Red
    assert float(taxi.reward[in_taxi_at_red, 5]) == 20.0  # drop off: delivered
    delivered = int(taxi.mdp.next_states[in_taxi_at_red, 5, 0])
    assert delivered in terminal


def test_table_world_checks_what_it_cannot_make_absorbing():
    table = {0: {0: [(1.0, 1, 1.0, True)], 1: [(1.0, 2, 0.0, False)]},
             1: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 0, 0.0, False)]},
             2: {0: [(1.0, 1, 0.0, False)], 1: [(0.5, 2, 0.0, False), (0.5, 2, 0.0, False)]}}
    start = np.array([1.0, 0.0, 0.0])
    with pytest.raises(IrlaxError, match=r"state 1 is entered by terminating steps and by the step \(2, 0\)"):
        table_world(table, 3, 2, start)
    table[2][0] = [(1.0, 0, 0.0, False)]
    world = table_world(table, 3, 2, start)
    dense = np.asarray(to_dense(world.mdp))
    np.testing.assert_array_equal(dense[1, :, 1], 1.0)  # absorbing
    np.testing.assert_array_equal(dense[2, 1], [0.0, 0.0, 1.0])  # repeated successors summed
    np.testing.assert_array_equal(np.asarray(world.reward), [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(IrlaxError, match="state 1 is a start state"):
        table_world(table, 3, 2, np.array([0.5, 0.5, 0.0]))
    with pytest.raises(IrlaxError, match=r"no entry for \(state, action\) = \(2, 1\)"):
        table_world({**table, 2: {0: table[2][0]}}, 3, 2, start)
    with pytest.raises(IrlaxError, match="next state 7"):
        table_world({**table, 0: {0: [(1.0, 7, 0.0, False)], 1: table[0][1]}}, 3, 2, start)
    with pytest.raises(IrlaxError, match=r"row \(s, a\) = \(0, 0\) sums to 0.5"):
        table_world({**table, 0: {0: [(0.5, 0, 0.0, False)], 1: table[0][1]}}, 3, 2, start)


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("FrozenLak-v1", "unknown Gymnasium environment 'FrozenLak-v1' (did you mean FrozenLake-v1"),
        ("Taxi-v3", "(did you mean Taxi-v4?)"),
        ("CartPole-v1", "CartPole-v1 has no transition table P"),
        ("Blackjack-v1", "Blackjack-v1 has no transition table P"),
    ],
)
def test_unknown_ids_and_environments_without_a_table(env_id, message):
    with pytest.raises(IrlaxError) as info:
        make_toy_text(env_id)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_make_arguments_and_dynamics_outside_the_table():
    with pytest.raises(IrlaxError, match=r"gymnasium.make\('FrozenLake-v1'\) failed: .*'slippery'"):
        make_toy_text("FrozenLake-v1", slippery=False)
    with pytest.raises(IrlaxError, match="fickle_passenger"):
        make_toy_text("Taxi-v4", fickle_passenger=True)
    with pytest.raises(IrlaxError, match="needs discount < 1"):
        make_toy_text("FrozenLake-v1", discount=1.0)


# ----------------------------------------------------------------------------- the CLI


def test_cli_world_keeps_the_gymnasium_id(tmp_path, capsys):
    path, demos = tmp_path / "world.npz", tmp_path / "demos.npz"
    assert main(["world", "FrozenLake-v1", "--out", str(path)]) == 0
    assert "FrozenLake-v1, 16 states, 4 actions" in capsys.readouterr().out
    world, mdp, name = load_world(path)
    assert name == "FrozenLake-v1"
    built = make_toy_text("FrozenLake-v1")
    np.testing.assert_allclose(np.asarray(to_dense(mdp)), np.asarray(to_dense(built.mdp)), atol=1e-7)
    np.testing.assert_array_equal(np.asarray(world.reward), np.asarray(built.reward))
    assert (mdp.discount, mdp.horizon, mdp.grid_shape) == (0.99, None, (4, 4))
    assert main(["sample", "--world", str(path), "--trajectories", "4", "--length", "10", "--out", str(demos)]) == 0
    assert "soft expert of FrozenLake-v1" in capsys.readouterr().out


def test_cli_built_in_worlds_still_work(tmp_path):
    path = tmp_path / "cliff.npz"
    assert main(["world", "cliffworld", "--size", "10", "--out", str(path)]) == 0
    assert load_world(path)[2] == "cliffworld"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["FrozenLak-v1"], "unknown world 'FrozenLak-v1' (did you mean FrozenLake-v1"),
        (["objectwrld"], "(did you mean objectworld?)"),
        (["Taxi-v3"], "(did you mean Taxi-v4?)"),
        (["CartPole-v1"], "CartPole-v1 has no transition table P"),
        (["FrozenLake-v1", "--size", "8"], "don't apply to the Gymnasium world FrozenLake-v1"),
    ],
)
def test_cli_world_errors_are_one_line(tmp_path, fails_in_one_line, args, message):
    fails_in_one_line(["world", *args, "--out", str(tmp_path / "world.npz")], message)
    assert not (tmp_path / "world.npz").exists()
