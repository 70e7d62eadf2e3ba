"""Numerical robustness: integer types under x64, float32 planning at large scales, convergence
of discounted value iteration, and the objectworld colour protocol.

Each test fails on the code before the fixes it covers (the issue "Nothing raw, nothing silent", section 3).
"""

from __future__ import annotations

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms.maxent import maxent_log_likelihood_and_grad
from irlax.envs.objectworld import (
    ObjectGrid,
    ObjectworldConfig,
    make_objectworld,
    nearest_colour_distances,
    objectworld_objects,
    objectworld_reward,
)
from irlax.envs.tabular import from_dense
from irlax.tabular.planning import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_TOLERANCE,
    maxent_backward_pass,
    soft_value_iteration,
    soft_value_iteration_finite,
    value_iteration,
)
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


# --- 2. finite-horizon soft planning in float32 at large scales ----------------------------------

S5, A2, LONG = 5, 2, 10_000


def large_scale_problem(dtype):
    """5 states, 2 actions, rewards of about 1e3 with O(1) differences: log Z reaches 1e7 over 1e4 steps."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(S5, 0.5), size=(S5, A2))
    reward = 1e3 + rng.normal(size=(S5, A2))
    with jax.enable_x64(False):
        mdp = from_dense(p, np.eye(S5), np.full(S5, 1.0 / S5), discount=1.0, horizon=LONG)
    mdp = mdp.replace(next_probs=mdp.next_probs.astype(dtype))  # the same float32 probabilities either way
    starts = np.zeros((LONG, S5))
    starts[0] = 1.0 / S5
    counts = np.zeros((LONG, S5, A2))
    counts[np.arange(LONG), 0, 1] = 1.0  # a demonstration that sits in state 0 taking action 1
    return mdp, *(jnp.asarray(x, dtype) for x in (reward.astype(np.float32), counts, starts))


def test_finite_soft_planning_stays_exact_in_float32_with_log_z_of_1e7():
    """The demonstration's return and log Z are both about 1e7, where float32 resolves steps of 1.

    Before, the MaxEnt-2008 policy rows summed to as much as 1.37, the policy was off by 0.75, log Z by 1e3
    and the gradient's forward pass overflowed; now each step's values are normalised (and log Z summed with
    compensation), so everything matches float64 to float32 rounding.
    """
    likelihood = jax.jit(maxent_log_likelihood_and_grad)
    with jax.enable_x64(True):
        ref_ll, ref_grad, ref_log_policy = (np.asarray(x) for x in likelihood(*large_scale_problem(jnp.float64)))
    with jax.enable_x64(False):
        mdp, r, counts, starts = large_scale_problem(jnp.float32)
        ll, grad, log_policy = likelihood(mdp, r, counts, starts)
        plan = jax.jit(maxent_backward_pass, static_argnums=2)(mdp, r, LONG)
        soft = jax.jit(soft_value_iteration_finite, static_argnums=2)(mdp, r, LONG)
    assert log_policy.dtype == plan.v.dtype == jnp.float32
    for lp in (log_policy, plan.log_policy, soft.log_policy):
        np.testing.assert_allclose(np.exp(np.asarray(lp, np.float64)).sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.exp(np.asarray(plan.log_policy, np.float64)), np.exp(ref_log_policy), atol=1e-4)
    # ll = R(demo) - log Z(start), both about 1e7 (float32 steps of 1): exact to a few such steps
    demo_return = float(np.sum(np.asarray(counts, np.float64) * np.asarray(r, np.float64)))
    assert demo_return > 9e6
    assert float(ll) == pytest.approx(float(ref_ll), abs=4.0)
    log_z = float(np.asarray(plan.v[0], np.float64) @ np.asarray(starts[0], np.float64))
    assert log_z == pytest.approx(demo_return - float(ref_ll), abs=4.0)
    grad = np.asarray(grad, np.float64)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad, ref_grad, atol=1e-3 * np.abs(ref_grad).max())
    assert bool(plan.converged) and bool(soft.converged)  # finite-horizon plans are exact


# --- 3. convergence of discounted value iteration ------------------------------------------------


@pytest.fixture(scope="module")
def world_0999():
    return make_objectworld(jax.random.key(0), ObjectworldConfig(size=16, discount=0.999))


@pytest.mark.parametrize("planner", [soft_value_iteration, value_iteration], ids=["soft", "hard"])
def test_value_iteration_converges_at_discount_0999_and_says_when_it_stops_short(world_0999, planner):
    with jax.enable_x64(True):  # float64: float32 stalls at rounding level, which hides the iteration count
        rewards = jnp.stack([world_0999.reward, 0.5 * world_0999.reward]).astype(jnp.float64)
        plans = jax.jit(jax.vmap(planner, in_axes=(None, 0)))(world_0999.mdp, rewards)
        assert plans.converged.shape == (2,) and plans.converged.dtype == jnp.bool_
        assert np.asarray(plans.converged).all()
        assert (np.asarray(plans.residual) <= DEFAULT_TOLERANCE).all()
        # the former cap of 10000 stopped both unconverged
        assert (np.asarray(plans.iterations) > 10_000).all()
        assert (np.asarray(plans.iterations) < DEFAULT_MAX_ITERATIONS).all()
        capped = planner(world_0999.mdp, rewards[0], max_iterations=50)
        assert int(capped.iterations) == 50 and float(capped.residual) > DEFAULT_TOLERANCE
        assert not bool(capped.converged)


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
        with jax.enable_x64(False):  # the pins are of float32 draws (x64 draws other uniforms)
            objects = objectworld_objects(jax.random.key(seed), ObjectworldConfig())
        inner, outer = np.asarray(objects.inner), np.asarray(objects.outer)
        assert (inner >= 0).sum() == count
        assert hashlib.sha256(inner.tobytes() + outer.tobytes()).hexdigest()[:16] == digest
