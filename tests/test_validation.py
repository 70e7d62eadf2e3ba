"""Every validation error of the MDP constructors and the demonstration loaders.

Each bad input must raise :class:`~irlax.errors.IrlaxError` (never a bare NumPy or
Python error) with a message that names the problem, so that the command line can
print it without a traceback. Pure NumPy checks: no compilation, fast.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from irlax.data.trajectories import load_trajectories, make_trajectories, save_trajectories
from irlax.envs.tabular import from_dense, make_mdp
from irlax.errors import IrlaxError

S, A, K = 4, 2, 3


def sparse_arrays():
    """A valid sparse MDP: successors ``(s + k) % S`` with probabilities 0.5, 0.3, 0.2."""
    next_states = (np.arange(S)[:, None, None] + np.arange(K)[None, None, :]) % S
    next_states = np.broadcast_to(next_states, (S, A, K)).copy()
    next_probs = np.broadcast_to(np.array([0.5, 0.3, 0.2]), (S, A, K)).copy()
    return next_states, next_probs, np.eye(S)


def dense_transitions():
    rng = np.random.default_rng(0)
    return rng.dirichlet(np.ones(S), size=(S, A))


def expect_error(pattern, fn, *args, **kwargs):
    """Call ``fn`` and check it raises IrlaxError whose message matches ``pattern`` (a regex)."""
    with pytest.raises(IrlaxError, match=pattern) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value), "messages are one line"
    return info.value


# ----------------------------------------------------------------------------- MDP constructors


def test_valid_mdp_builds_and_rows_are_renormalised():
    ns, probs, feats = sparse_arrays()
    probs = probs * (1 + 5e-5)  # within the tolerance: accepted and renormalised
    mdp = make_mdp(ns, probs, feats, discount=0.9)
    np.testing.assert_allclose(np.asarray(mdp.next_probs).sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(mdp.initial), np.full(S, 1 / S), atol=1e-7)
    assert mdp.horizon is None and mdp.discount == pytest.approx(0.9)


def test_row_not_summing_to_one_names_the_state_action_pair():
    ns, probs, feats = sparse_arrays()
    probs[2, 1, 0] = 0.4  # row (2, 1) sums to 0.9
    expect_error(r"next_probs row \(s, a\) = \(2, 1\) sums to 0\.9", make_mdp, ns, probs, feats, horizon=3)


def test_dense_row_not_summing_to_one_names_the_state_action_pair():
    p = dense_transitions()
    p[1, 0] *= 1.5
    expect_error(r"transitions row \(s, a\) = \(1, 0\) sums to 1\.5", from_dense, p, np.eye(S), horizon=3)


def test_all_zero_row_is_rejected():
    p = dense_transitions()
    p[3, 1] = 0.0
    expect_error(r"row \(s, a\) = \(3, 1\) sums to 0", from_dense, p, np.eye(S), horizon=3)


@pytest.mark.parametrize(
    ("which", "pattern"),
    [
        ("next_states_2d", r"next_states must have shape \[S, A, K\], got \(4, 2\)"),
        ("probs_shape", r"next_probs shape \(4, 2, 2\) does not match next_states shape \(4, 2, 3\)"),
        ("no_actions", r"at least one state and one action"),
        ("features_1d", r"features must have shape \[S=4, F\] or \[S, A, F\], got \(4,\)"),
        ("features_rows", r"features must have shape \[S=4, F\].*got \(3, 4\)"),
        ("features_actions", r"state-action features must have shape \[S, A=2, F\], got \(4, 3, 5\)"),
        ("initial_shape", r"initial distribution must have shape \[S=4\], got \(3,\)"),
        ("initial_2d", r"initial distribution must have shape \[S=4\], got \(1, 4\)"),
    ],
)
def test_wrong_shapes(which, pattern):
    ns, probs, feats = sparse_arrays()
    initial = None
    if which == "next_states_2d":
        ns = ns[:, :, 0]
    elif which == "probs_shape":
        probs = probs[:, :, :2]
    elif which == "no_actions":
        ns, probs = ns[:, :0], probs[:, :0]
    elif which == "features_1d":
        feats = np.ones(S)
    elif which == "features_rows":
        feats = np.eye(S)[:3]
    elif which == "features_actions":
        feats = np.zeros((S, 3, 5))
    elif which == "initial_shape":
        initial = np.full(3, 1 / 3)
    elif which == "initial_2d":
        initial = np.full((1, S), 1 / S)
    expect_error(pattern, make_mdp, ns, probs, feats, initial, horizon=3)


def test_dense_transitions_of_wrong_shape():
    expect_error(r"dense transitions must have shape \[S, A, S\], got \(4, 2, 3\)",
                 from_dense, np.full((S, A, 3), 1 / 3), np.eye(S), horizon=3)
    expect_error(r"dense transitions must have shape \[S, A, S\], got \(4, 4\)",
                 from_dense, np.eye(S), np.eye(S), horizon=3)


def test_mdp_without_states():
    expect_error(r"at least one state", make_mdp, np.zeros((0, A, 1), int), np.zeros((0, A, 1)), np.zeros((0, 1)))


def test_next_states_must_be_integer_indices_in_range():
    ns, probs, feats = sparse_arrays()
    expect_error(r"next_states must be integers, got dtype float64", make_mdp, ns.astype(float), probs, feats,
                 horizon=3)
    bad = ns.copy()
    bad[1, 0, 2] = S
    expect_error(r"next_states\[1, 0, 2\] = 4 is not a state index in \[0, 4\)", make_mdp, bad, probs, feats,
                 horizon=3)
    bad[1, 0, 2] = -1
    expect_error(r"next_states\[1, 0, 2\] = -1", make_mdp, bad, probs, feats, horizon=3)


def test_negative_probabilities_name_the_entry():
    ns, probs, feats = sparse_arrays()
    probs[3, 0] = [1.2, -0.4, 0.2]  # sums to 1, but has a negative entry
    expect_error(r"next_probs has a negative probability -0\.4 at \(s, a, k\) = \(3, 0, 1\)",
                 make_mdp, ns, probs, feats, horizon=3)
    p = dense_transitions()
    p[0, 1] = [1.5, -0.5, 0.0, 0.0]
    expect_error(r"transitions has a negative probability -0\.5 at \(s, a, s'\) = \(0, 1, 1\)",
                 from_dense, p, np.eye(S), horizon=3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_transitions(bad):
    ns, probs, feats = sparse_arrays()
    probs[2, 1, 1] = bad
    expect_error(r"next_probs has NaN or inf at \(s, a\) = \(2, 1\)", make_mdp, ns, probs, feats, horizon=3)
    p = dense_transitions()
    p[1, 1, 3] = bad
    expect_error(r"transitions has NaN or inf at \(s, a\) = \(1, 1\)", from_dense, p, np.eye(S), horizon=3)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("state_action", [False, True])
def test_nan_or_inf_in_features(bad, state_action):
    ns, probs, _ = sparse_arrays()
    feats = np.ones((S, A, 3)) if state_action else np.ones((S, 3))
    feats[(1,) * feats.ndim] = bad
    expect_error(r"features contain NaN or inf", make_mdp, ns, probs, feats, horizon=3)


@pytest.mark.parametrize(
    ("initial", "pattern"),
    [
        (np.array([0.5, 0.5, 0.5, -0.5]), r"initial distribution has NaN, inf or negative entries"),
        (np.array([np.nan, 0.5, 0.5, 0.0]), r"initial distribution has NaN, inf or negative entries"),
        (np.array([np.inf, 0.0, 0.0, 0.0]), r"initial distribution has NaN, inf or negative entries"),
        (np.array([0.5, 0.5, 0.5, 0.5]), r"initial distribution sums to 2, not 1"),
        (np.zeros(S), r"initial distribution sums to 0, not 1"),
    ],
)
def test_bad_initial_distribution(initial, pattern):
    ns, probs, feats = sparse_arrays()
    expect_error(pattern, make_mdp, ns, probs, feats, initial, horizon=3)


@pytest.mark.parametrize("discount", [0.0, -0.5, 1.0000001, 2.0, float("nan")])
def test_discount_out_of_range(discount):
    ns, probs, feats = sparse_arrays()
    expect_error(r"discount must be in \(0, 1\]", make_mdp, ns, probs, feats, discount=discount, horizon=3)


def test_infinite_horizon_needs_discount_below_one():
    ns, probs, feats = sparse_arrays()
    expect_error(r"infinite-horizon MDP \(horizon=None\) needs discount < 1", make_mdp, ns, probs, feats,
                 discount=1.0, horizon=None)
    expect_error(r"needs discount < 1", from_dense, dense_transitions(), np.eye(S))  # the defaults
    make_mdp(ns, probs, feats, discount=1.0, horizon=5)  # fine with a finite horizon


@pytest.mark.parametrize("horizon", [0, -3])
def test_non_positive_horizon(horizon):
    ns, probs, feats = sparse_arrays()
    expect_error(rf"horizon must be a positive integer or None, got {horizon}", make_mdp, ns, probs, feats,
                 horizon=horizon)


def test_fractional_horizon_is_rejected():
    ns, probs, feats = sparse_arrays()
    expect_error(r"horizon must be a positive integer", make_mdp, ns, probs, feats, horizon=2.5)


@pytest.mark.parametrize("grid_shape", [(2, 3), (1, 3), (4, 4)])
def test_grid_shape_mismatch(grid_shape):
    ns, probs, feats = sparse_arrays()
    expect_error(rf"grid_shape \({grid_shape[0]}, {grid_shape[1]}\) does not have 4 cells", make_mdp, ns, probs,
                 feats, horizon=3, grid_shape=grid_shape)
    assert make_mdp(ns, probs, feats, horizon=3, grid_shape=(2, 2)).grid_shape == (2, 2)


def test_negative_grid_shape_is_rejected():
    ns, probs, feats = sparse_arrays()
    expect_error(r"grid_shape", make_mdp, ns, probs, feats, horizon=3, grid_shape=(-2, -2))


# ----------------------------------------------------------------------------- trajectories


def good_arrays():
    states = np.array([[0, 1, 2], [3, 2, 0]])
    actions = np.array([[1, 0, 1], [0, 0, 1]])
    mask = np.array([[True, True, True], [True, True, False]])
    return states, actions, mask


@pytest.mark.parametrize(
    ("which", "pattern"),
    [
        ("states_1d", r"states must have shape \[N, T\], got \(3,\)"),
        ("states_3d", r"states must have shape \[N, T\], got \(2, 3, 1\)"),
        ("actions", r"actions shape \(2, 2\) does not match states shape \(2, 3\)"),
        ("mask", r"mask shape \(3, 2\) does not match states shape \(2, 3\)"),
    ],
)
def test_trajectories_with_wrong_shapes(which, pattern):
    states, actions, mask = good_arrays()
    if which == "states_1d":
        states, actions, mask = states[0], actions[0], mask[0]
    elif which == "states_3d":
        states, actions, mask = states[..., None], actions[..., None], mask[..., None]
    elif which == "actions":
        actions = actions[:, :2]
    elif which == "mask":
        mask = mask.T
    expect_error(pattern, make_trajectories, states, actions, mask)


@pytest.mark.parametrize("shape", [(0, 3), (2, 0), (0, 0)])
def test_empty_trajectory_set(shape):
    empty = np.zeros(shape, int)
    expect_error(r"no demonstrations: states has shape", make_trajectories, empty, empty)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float_actions_with_nan(bad):
    states, actions, mask = good_arrays()
    actions = actions.astype(float)
    actions[0, 1] = bad
    expect_error(r"actions contains NaN or inf", make_trajectories, states, actions, mask)
    states = states.astype(float)
    states[1, 0] = bad
    expect_error(r"states contains NaN or inf", make_trajectories, states, good_arrays()[1], mask)


def test_integral_floats_are_accepted_and_non_integral_rejected():
    states, actions, mask = good_arrays()
    demos = make_trajectories(states.astype(float), actions.astype(np.float32), mask)
    np.testing.assert_array_equal(np.asarray(demos.states), np.where(mask, states, 0))
    actions = actions.astype(float)
    actions[1, 1] = 0.5
    expect_error(r"actions must hold integer indices, got non-integer floats", make_trajectories, states, actions,
                 mask)


def test_non_numeric_indices():
    states, actions, mask = good_arrays()
    expect_error(r"states must be an integer array, got dtype <U", make_trajectories, states.astype(str), actions,
                 mask)
    expect_error(r"actions must be an integer array, got dtype bool", make_trajectories, states,
                 actions.astype(bool), mask)


def test_out_of_range_indices():
    states, actions, mask = good_arrays()
    expect_error(r"states has index 3, but the MDP has only 3", make_trajectories, states, actions, mask,
                 num_states=3)
    expect_error(r"actions has index 1, but the MDP has only 1", make_trajectories, states, actions, mask,
                 num_states=4, num_actions=1)
    negative = states.copy()
    negative[0, 2] = -2
    expect_error(r"states has a negative index -2", make_trajectories, negative, actions, mask)
    # indices hidden behind the mask are padding: not checked, stored as 0
    padded = states.copy()
    padded[1, 2] = 99
    demos = make_trajectories(padded, actions, mask, num_states=4, num_actions=2)
    assert int(demos.states[1, 2]) == 0


def test_trajectory_with_no_step():
    states, actions, mask = good_arrays()
    mask[1] = False
    expect_error(r"trajectory 1 has no steps \(mask\[1, 0\] is false\)", make_trajectories, states, actions, mask)


def test_mask_with_a_gap():
    states, actions, mask = good_arrays()
    mask[0] = [True, False, True]
    expect_error(r"mask of trajectory 0 has a gap", make_trajectories, states, actions, mask)


def test_mask_must_be_boolean():
    states, actions, mask = good_arrays()
    expect_error(r"mask must be boolean \(0/1\)", make_trajectories, states, actions, mask * 2)
    demos = make_trajectories(states, actions, mask.astype(np.int8))  # 0/1 integers are fine
    np.testing.assert_array_equal(np.asarray(demos.mask), mask)


def test_float_padding_is_ignored_like_integer_padding():
    states, actions, mask = good_arrays()
    states[1, 2] = actions[1, 2] = -1
    ints = make_trajectories(states, actions, mask)
    floats = make_trajectories(states.astype(float), actions.astype(float), mask)
    np.testing.assert_array_equal(np.asarray(ints.states), np.asarray(floats.states))


# ----------------------------------------------------------------------------- demonstration files


@pytest.fixture
def demos():
    states = np.array([[0, 1, 2, 3], [3, 2, 0, 0], [1, 0, 0, 0]])
    actions = np.array([[1, 0, 1, 1], [0, 1, 0, 0], [1, 0, 0, 0]])
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)  # lengths 4, 2, 1
    return make_trajectories(states, actions, mask, num_states=S, num_actions=A)


def test_save_load_round_trip_is_exact(tmp_path, demos):
    path = tmp_path / "sub" / "demos.npz"
    save_trajectories(path, demos, S, A)
    loaded = load_trajectories(path, num_states=S, num_actions=A)
    for name in ("states", "actions", "mask"):
        original, back = np.asarray(getattr(demos, name)), np.asarray(getattr(loaded, name))
        assert back.dtype == original.dtype
        np.testing.assert_array_equal(back, original)
    np.testing.assert_array_equal(np.asarray(loaded.lengths), [4, 2, 1])
    assert load_trajectories(str(path)).num_trajectories == 3  # no size check requested; str path
    assert not [p for p in path.parent.iterdir() if p.name != "demos.npz"], "no temporary files left"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    expect_error(rf"demonstrations file {re.escape(str(path))} does not exist", load_trajectories, path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    expect_error(r"demonstrations file .*empty\.npz is empty", load_trajectories, path)


@pytest.mark.parametrize("content", [b"\x00\xffgarbage" * 10, b"PK\x03\x04" + b"\x00" * 40, b"not a zip file\n"])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    expect_error(r"demonstrations file .*garbage\.npz is not (a readable \.npz file|an \.npz file)", load_trajectories,
                 path)


def test_truncated_file(tmp_path, demos):
    path = tmp_path / "demos.npz"
    save_trajectories(path, demos, S, A)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    expect_error(r"is not a readable \.npz file", load_trajectories, path)


@pytest.mark.parametrize("missing", ["states", "actions", "mask", "num_states", "num_actions"])
def test_npz_missing_an_array(tmp_path, demos, missing):
    arrays = {
        "states": np.asarray(demos.states), "actions": np.asarray(demos.actions), "mask": np.asarray(demos.mask),
        "num_states": np.int64(S), "num_actions": np.int64(A),
    }
    del arrays[missing]
    path = tmp_path / "partial.npz"
    np.savez(path, **arrays)
    expect_error(rf"partial\.npz lacks the array\(s\) {missing}", load_trajectories, path)


def test_file_from_an_mdp_with_another_size(tmp_path, demos):
    path = tmp_path / "demos.npz"
    save_trajectories(path, demos, S, A)
    expect_error(r"recorded on an MDP with 4 states, but this MDP has 6", load_trajectories, path,
                 num_states=6, num_actions=A)
    expect_error(r"recorded on an MDP with 2 actions, but this MDP has 5", load_trajectories, path,
                 num_states=S, num_actions=5)


def test_file_with_invalid_contents_names_the_file(tmp_path, demos):
    path = tmp_path / "bad.npz"
    save_trajectories(path, demos, 3, A)  # claims 3 states but holds state 3
    expect_error(r"demonstrations file .*bad\.npz: states has index 3, but the MDP has only 3", load_trajectories,
                 path)
    mask = np.asarray(demos.mask).copy()
    mask[0, 1] = False  # a gap
    np.savez(path, states=np.asarray(demos.states), actions=np.asarray(demos.actions), mask=mask,
             num_states=np.int64(S), num_actions=np.int64(A))
    expect_error(r"bad\.npz: mask of trajectory 0 has a gap", load_trajectories, path)


def test_pickled_object_arrays_are_refused(tmp_path, demos):
    path = tmp_path / "pickled.npz"
    np.savez(path, states=np.array([[0, 1]], dtype=object), actions=np.zeros((1, 2), int),
             mask=np.ones((1, 2), bool), num_states=np.int64(S), num_actions=np.int64(A))
    expect_error(r"pickled\.npz is not a readable \.npz file", load_trajectories, path)


def test_npy_file_instead_of_npz(tmp_path):
    path = tmp_path / "demos.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((2, 3), int))
    expect_error(r"not a readable \.npz file", load_trajectories, path)


@pytest.mark.parametrize("num_states", [np.array([4, 4]), np.array("four")])
def test_malformed_size_scalars(tmp_path, demos, num_states):
    path = tmp_path / "demos.npz"
    np.savez(path, states=np.asarray(demos.states), actions=np.asarray(demos.actions), mask=np.asarray(demos.mask),
             num_states=num_states, num_actions=np.int64(A))
    expect_error(r"num_states", load_trajectories, path)
