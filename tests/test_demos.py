"""Demonstration files of control tasks: exact round trips, helpers against plain loops, one-line errors."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from irlax.data.demos import (
    ARRAY_KEYS,
    Demonstrations,
    flatten,
    from_episodes,
    load_demonstrations,
    make_demonstrations,
    save_demonstrations,
    subset,
)
from irlax.data.transitions import Episodes, Transition
from irlax.errors import IrlaxError
from irlax.tasks import make_env

LENGTHS = (5, 2, 7)


def random_arrays(discrete: bool, lengths=LENGTHS, obs_size: int = 3, action_size: int = 2, seed: int = 0) -> dict:
    """Arrays of len(lengths) episodes padded to the longest; each ends terminated or truncated."""
    rng = np.random.default_rng(seed)
    n, t = len(lengths), max(lengths)
    mask = np.arange(t)[None, :] < np.asarray(lengths)[:, None]
    last = np.arange(t)[None, :] == (np.asarray(lengths) - 1)[:, None]
    ends_terminal = (np.arange(n) % 2 == 0)[:, None]
    actions = (rng.integers(0, action_size, (n, t)).astype(np.int32) if discrete
               else rng.uniform(-1, 1, (n, t, action_size)).astype(np.float32))
    arrays = {
        "obs": rng.normal(size=(n, t, obs_size)).astype(np.float32),
        "actions": actions,
        "next_obs": rng.normal(size=(n, t, obs_size)).astype(np.float32),
        "rewards": rng.normal(size=(n, t)).astype(np.float32),
        "terminated": last & ends_terminal,
        "truncated": last & ~ends_terminal,
        "log_probs": -rng.uniform(0, 2, (n, t)).astype(np.float32),
        "mask": mask,
    }
    for key in ARRAY_KEYS:  # zero the padding, as the format stores it
        keep = mask.reshape(mask.shape + (1,) * (arrays[key].ndim - 2))
        arrays[key] = np.where(keep, arrays[key], np.zeros((), arrays[key].dtype))
    return arrays


def build(discrete: bool = True, **kwargs) -> Demonstrations:
    arrays = random_arrays(discrete, **kwargs)
    return make_demonstrations(arrays, env_name="Test-v0", obs_size=arrays["obs"].shape[-1], discrete=discrete,
                               action_size=2, expert=json.dumps({"learner": "scripted"}))


def raw_file(path, **changes) -> None:
    """Save a valid discrete file, then overwrite (or delete, with None) some of its arrays."""
    demos = build()
    save_demonstrations(path, demos)
    with np.load(path) as data:
        arrays = dict(data)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(path, **arrays)


@pytest.mark.parametrize("discrete", [True, False])
def test_round_trip_is_exact(tmp_path, discrete):
    demos = build(discrete)
    path = tmp_path / "demos.npz"
    save_demonstrations(path, demos)
    loaded = load_demonstrations(path)
    for key in ARRAY_KEYS:
        a, b = np.asarray(getattr(demos, key)), np.asarray(getattr(loaded, key))
        assert a.dtype == b.dtype and a.shape == b.shape, key
        np.testing.assert_array_equal(a, b, err_msg=key)
    for key in ("env_name", "obs_size", "discrete", "action_size", "expert"):
        assert getattr(loaded, key) == getattr(demos, key)
    assert loaded.expert_info() == {"learner": "scripted"}
    assert loaded.actions.dtype == (np.int32 if discrete else np.float32)
    assert jax.tree.structure(loaded) == jax.tree.structure(demos)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary files left behind"


def test_returns_lengths_flatten_and_subset_match_plain_loops():
    demos = build(False)
    arrays = random_arrays(False)
    np.testing.assert_array_equal(np.asarray(demos.lengths()), LENGTHS)
    for i, length in enumerate(LENGTHS):
        assert float(demos.returns()[i]) == pytest.approx(float(arrays["rewards"][i, :length].sum()), rel=1e-6)
    flat = flatten(demos)
    expected_obs = np.concatenate([arrays["obs"][i, :length] for i, length in enumerate(LENGTHS)])
    np.testing.assert_array_equal(np.asarray(flat.obs), expected_obs)
    assert flat.action.shape == (sum(LENGTHS), 2)
    assert int(flat.terminated.sum() + flat.truncated.sum()) == len(LENGTHS)
    part = subset(demos, 2, start=1)
    assert part.num_episodes == 2 and part.max_length == 7  # re-trimmed to its longest
    np.testing.assert_array_equal(np.asarray(part.obs), np.asarray(demos.obs[1:3]))
    assert subset(demos, 2).max_length == 5
    with pytest.raises(IrlaxError, match="the demonstrations have 3"):
        subset(demos, 4)


def test_from_episodes_trims_to_the_longest_and_clips_continuous_actions():
    env = make_env("Pendulum-v1")
    arrays = random_arrays(False, lengths=(3, 4), obs_size=3, action_size=1)
    n, t = 2, 10  # rollouts are padded to the time limit
    pad = lambda x: np.concatenate([x, np.zeros((n, t - x.shape[1], *x.shape[2:]), x.dtype)], axis=1)
    actions = pad(arrays["actions"]) * 5.0  # some outside [-2, 2]
    transitions = Transition(
        pad(arrays["obs"]), actions, pad(arrays["rewards"]), pad(arrays["rewards"]), pad(arrays["next_obs"]),
        pad(arrays["terminated"]), pad(arrays["truncated"]), pad(arrays["log_probs"]),
    )
    demos = from_episodes(Episodes(transitions, pad(arrays["mask"])), env.spec, {"learner": "test"})
    assert demos.obs.shape == (2, 4, 3) and demos.env_name == "Pendulum-v1" and not demos.discrete
    assert float(np.abs(np.asarray(demos.actions)).max()) <= 2.0
    np.testing.assert_allclose(np.asarray(demos.actions), np.clip(arrays["actions"] * 5.0, -2, 2))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"obs": None}, "lacks the array(s) obs"),
        ({"format_version": None}, "lacks the array(s) format_version"),
        ({"rewards": np.zeros((3, 6), np.float32)}, "rewards must have shape [3, 7]"),
        ({"obs": np.zeros((3, 7), np.float32)}, "obs must have shape [N, T, O]"),
        ({"actions": np.zeros((3, 7, 2), np.int32)}, "actions must have shape [3, 7]"),
        ({"obs": np.zeros((0, 7, 3), np.float32)}, "no demonstrations"),
        ({"obs": np.zeros((3, 7, 3), np.int64)}, "obs must be a float array"),
        ({"actions": np.full((3, 7), 0.5)}, "actions must be integer indices"),
        ({"mask": np.full((3, 7), 0.5)}, "mask must be a boolean array"),
        ({"log_probs": np.full((3, 7), np.nan, np.float32)}, "log_probs contains NaN or inf"),
        ({"next_obs": np.full((3, 7, 3), np.inf, np.float32)}, "next_obs contains NaN or inf"),
        ({"mask": np.array([[1, 0, 1, 0, 0, 0, 0]] * 3, bool)}, "mask of episode 0 is not a prefix"),
        ({"mask": np.zeros((3, 7), bool)}, "episode 0 has no steps"),
        ({"actions": np.full((3, 7), 2, np.int32)}, "action 2 is out of range: the task has 2 actions"),
        ({"terminated": np.ones((3, 7), bool)}, "terminated[0, 0] is true before the last step"),
        ({"obs_size": np.int64(4)}, "obs has size 3, but the file says obs_size 4"),
        ({"format_version": np.int64(9)}, "format version 9"),
        ({"discrete": np.float64(1.0)}, "discrete must be a scalar"),
    ],
)
def test_each_malformed_file_gives_its_one_line_error(tmp_path, changes, message):
    path = tmp_path / "bad.npz"
    raw_file(path, **changes)
    with pytest.raises(IrlaxError) as info:
        load_demonstrations(path)
    text = str(info.value)
    assert message in text and "\n" not in text and str(path) in text


def test_empty_corrupt_and_missing_files(tmp_path):
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(IrlaxError, match="is empty"):
        load_demonstrations(empty)
    corrupt = tmp_path / "corrupt.npz"
    save_demonstrations(corrupt, build())
    corrupt.write_bytes(corrupt.read_bytes()[:100])  # a truncated download
    with pytest.raises(IrlaxError, match="not a readable .npz"):
        load_demonstrations(corrupt)
    with pytest.raises(IrlaxError, match="does not exist"):
        load_demonstrations(tmp_path / "missing.npz")


def test_loading_for_an_environment_checks_sizes_and_bounds(tmp_path):
    path = tmp_path / "d.npz"
    save_demonstrations(path, build(True, obs_size=3))
    with pytest.raises(IrlaxError, match="size 3 .*CartPole-v1 has observations of size 4"):
        load_demonstrations(path, make_env("CartPole-v1").spec)
    with pytest.raises(IrlaxError, match="have 2 discrete actions .*Pendulum-v1 has 1-dimensional continuous"):
        load_demonstrations(path, make_env("Pendulum-v1").spec)
    arrays = random_arrays(False, obs_size=3, action_size=1)
    arrays["actions"][1, 0, 0] = 2.5  # Pendulum's torque lies in [-2, 2]
    demos = make_demonstrations(arrays, env_name="Pendulum-v1", obs_size=3, discrete=False, action_size=1)
    save_demonstrations(path, demos)
    with pytest.raises(IrlaxError, match=r"action 2.5 is out of range: .*\[-2\] .. \[2\]"):
        load_demonstrations(path, make_env("Pendulum-v1").spec)
    arrays["actions"][1, 0, 0] = 2.0
    demos = make_demonstrations(arrays, env_name="Pendulum-v1", obs_size=3, discrete=False, action_size=1)
    save_demonstrations(path, demos)
    assert load_demonstrations(path, make_env("Pendulum-v1").spec).num_episodes == 3
