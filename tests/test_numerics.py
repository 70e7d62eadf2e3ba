"""Numerical robustness: integer types under x64, and the objectworld colour protocol.

Each test fails on the code before the fixes it covers (the issue "Nothing raw, nothing silent", section 3).
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np

from irlax.envs.objectworld import (
    ObjectGrid,
    ObjectworldConfig,
    nearest_colour_distances,
    objectworld_objects,
    objectworld_reward,
)
from irlax.envs.tabular import from_dense
from irlax.tabular.sampling import sample_trajectories

# --- 1. sampling under float64 -------------------------------------------------------------------


def test_sample_trajectories_runs_under_x64_with_int32_indices():
    """``categorical`` draws int64 under x64; the scan's start state and its successors must share a type."""
    p = np.zeros((3, 2, 3))
    p[0, 0] = [0.0, 1.0, 0.0]
    p[0, 1] = [0.5, 0.0, 0.5]
    p[1, 0] = [0.0, 0.2, 0.8]
    p[1, 1] = [1.0, 0.0, 0.0]
    p[2, 0] = [0.3, 0.3, 0.4]
    p[2, 1] = [0.0, 0.0, 1.0]
    initial = np.array([0.0, 0.4, 0.6])
    with jax.enable_x64(True):
        mdp = from_dense(p, np.eye(3), initial, discount=0.9, horizon=5)
        assert mdp.next_probs.dtype == jnp.float64
        log_policy = jnp.log(jnp.asarray([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]]))
        demos = jax.jit(sample_trajectories, static_argnums=(3, 4))(jax.random.key(0), mdp, log_policy, 7, 5)
        states, actions = np.asarray(demos.states), np.asarray(demos.actions)
        assert states.shape == actions.shape == demos.mask.shape == (7, 5)
        assert demos.states.dtype == demos.actions.dtype == jnp.int32
        assert np.asarray(demos.mask).all()
        assert ((states >= 0) & (states < 3)).all() and ((actions >= 0) & (actions < 2)).all()
        assert (initial[states[:, 0]] > 0).all()
        assert (p[states[:, :-1], actions[:, :-1], states[:, 1:]] > 0).all()


# --- 4. objectworld with more than two colours ---------------------------------------------------

SEEDS = jax.random.split(jax.random.key(11), 8)


def objects_of(num_colours: int) -> ObjectGrid:
    config = ObjectworldConfig(num_colours=num_colours)
    return jax.vmap(lambda k: objectworld_objects(k, config))(SEEDS)


def test_objectworld_extra_colours_are_distractors_placed_in_later_rounds():
    """The protocol (Levine et al. 2011): c1 colours come in rounds of two, later rounds fill empty cells only.

    So the reward's colours 0 and 1 are as dense with four colours as with two: the +5 class is about 8.9%
    of cells, not 2.6% as when all four were drawn in one uniform round.
    """
    objects4 = objects_of(4)
    # the true reward, as make_objectworld computes it from the objects
    reward4 = np.asarray(jax.jit(jax.vmap(lambda o: objectworld_reward(nearest_colour_distances(o, 4), 5.0)))(objects4))
    cells = reward4.size
    assert 0.07 < (reward4 == 5.0).sum() / cells < 0.11
    assert 0.28 < (reward4 == -10.0).sum() / cells < 0.42
    inner4, outer4 = np.asarray(objects4.inner), np.asarray(objects4.outer)
    assert ((inner4 >= 0) == (outer4 >= 0)).all() and (outer4 < 4).all()
    assert set(np.unique(outer4[inner4 >= 0])) == {0, 1, 2, 3}
    # colours 0 and 1 come from the same draws as with two colours (so the reward is the same world)
    inner2 = np.asarray(objects_of(2).inner)
    np.testing.assert_array_equal(np.where(inner4 < 2, inner4, -1), inner2)
    # round 2 places colours 2 and 3 with probability 0.05 in the cells still empty: 0.05 + 0.95 * 0.05 in all
    assert abs((inner4 >= 0).mean() - 0.0975) < 0.012
    assert abs((inner4 >= 2).sum() / (inner4 >= 0).sum() - 0.95 / 1.95) < 0.08
    # an odd last colour gets a round of its own at half the probability
    inner3 = np.asarray(objects_of(3).inner)
    assert set(np.unique(inner3)) == {-1, 0, 1, 2}
    np.testing.assert_array_equal(np.where(inner3 < 2, inner3, -1), inner2)
    assert abs((inner3 == 2).mean() - 0.95 * 0.025) < 0.008


def test_two_colour_objectworld_is_unchanged():
    """Pinned draws of the two-colour world (benchmarks and ``irlax demo`` depend on them)."""
    for seed, count, digest in ((0, 55, "f7beb3704c2872a2"), (3, 61, "a72b73b635eb6854")):
        objects = objectworld_objects(jax.random.key(seed), ObjectworldConfig())
        inner, outer = np.asarray(objects.inner), np.asarray(objects.outer)
        assert (inner >= 0).sum() == count
        assert hashlib.sha256(inner.tobytes() + outer.tobytes()).hexdigest()[:16] == digest
