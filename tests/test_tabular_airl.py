"""Exact tabular AIRL (Fu, Luo & Levine 2018): disentanglement, transfer, the loss and step against NumPy, bad input.

The worlds are 6 x 6 deterministic gridworlds with five actions (``grid_moves``), a state-only true reward (a goal
cell worth +2, two pits worth -1), discount 0.9, and an initial distribution with 80% of its mass on the top-left
corner and 20% spread evenly (so that the soft-optimal expert visits every cell; see the transfer test). The expert
data is the soft-optimal expert's exact occupancy.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms import tabular_airl as ta
from irlax.envs.grid import grid_moves
from irlax.envs.tabular import from_dense, make_mdp
from irlax.errors import IrlaxError
from irlax.metrics.reward import epic_distance
from irlax.tabular.occupancy import policy_value

ROWS, COLS, GAMMA = 6, 6, 0.9
S, A = ROWS * COLS, 5


def cell(y: int, x: int) -> int:
    return y * COLS + x


TRUE_REWARD = np.zeros(S)
TRUE_REWARD[cell(5, 5)] = 2.0
TRUE_REWARD[cell(4, 2)] = TRUE_REWARD[cell(1, 3)] = -1.0
INITIAL = 0.8 * np.eye(S)[cell(0, 0)] + 0.2 / S


def walled_moves(wall_columns) -> np.ndarray:
    """Grid moves with a wall between rows 2 and 3 at ``wall_columns`` (a move through it stays in place)."""
    moves = grid_moves(ROWS, COLS, "five").copy()
    for x in wall_columns:
        upper, lower = cell(2, x), cell(3, x)
        moves[upper][moves[upper] == lower] = upper
        moves[lower][moves[lower] == upper] = lower
    return moves


def grid_mdp(moves: np.ndarray):
    next_states = moves[:, :, None]
    return make_mdp(next_states, np.ones(next_states.shape), np.eye(S), INITIAL, discount=GAMMA)


OPEN = grid_mdp(grid_moves(ROWS, COLS, "five"))
# "Move a wall": the gap in the wall between rows 2 and 3 is at the right edge in the original maze and at the
# left edge in the new one, so the expert's way to the goal (bottom right) from the start (top left) changes.
ORIGINAL = grid_mdp(walled_moves(range(0, 5)))
SHIFTED = grid_mdp(walled_moves(range(1, 6)))

# Measured (float32, 1000 alternations, defaults): EPIC 0.0002 (state-only) and 0.55 (state-action) on the open
# grid; transfer ratio 0.9999 (state-only) and 0.38 (state-action).
EPIC_GOAL = 0.05
TRANSFER_GOAL = 0.05


def fit_both(mdp):
    """Fit both forms on ``mdp``'s expert occupancy; returns ``{state_only: (result, seconds)}``."""
    expert = ta.soft_optimal_occupancy(mdp, jnp.asarray(TRUE_REWARD))
    out = {}
    for state_only in (True, False):
        start = time.perf_counter()
        result = ta.fit_jit(ta.TabularAIRLConfig(state_only=state_only), mdp, expert)
        jax.block_until_ready(result)
        out[state_only] = (result, time.perf_counter() - start)
    return out


@pytest.fixture(scope="module")
def open_fits():
    return fit_both(OPEN)


@pytest.fixture(scope="module")
def maze_fits():
    return fit_both(ORIGINAL)


def epic_to_true(g, mdp) -> float:
    """EPIC distance of ``g`` (``[S]`` or ``[S, A]``) to the true reward: every (s, a, T(s, a)) of the MDP as the
    coverage, every (state, action) pair once as the uniform, independent state and action samples."""
    successors = ta.deterministic_successors(mdp)
    obs = jnp.repeat(jnp.arange(S), A)[:, None]
    action = jnp.tile(jnp.arange(A), S)
    next_obs = successors.reshape(-1)[:, None]
    learned = (lambda o, a, n: g[o[0]]) if g.ndim == 1 else (lambda o, a, n: g[o[0], a])
    true = lambda o, a, n: jnp.asarray(TRUE_REWARD, g.dtype)[o[0]]
    return float(epic_distance(learned, true, obs, action, next_obs, obs, action, GAMMA))


# -- 1. the state-only form recovers the reward; 2. the state-action form does not disentangle ------------------


def test_state_only_g_recovers_the_true_reward_and_h_the_soft_value(open_fits):
    result, seconds = open_fits[True]
    print(f"state-only: EPIC {epic_to_true(result.g, OPEN):.4f}, {seconds:.1f} s")
    assert bool(jnp.all(result.metrics.planning_converged))
    assert float(result.metrics.occupancy_gap[-1]) < 1e-3  # the policy matches the expert
    assert abs(float(result.metrics.loss[-1]) - 2 * np.log(2)) < 1e-3  # D = 1/2 everywhere: the game's optimum
    assert epic_to_true(result.g, OPEN) <= EPIC_GOAL
    # the theorem: g = r + const and h = V* + const (V* the expert's soft value)
    offset = np.asarray(result.g) - TRUE_REWARD
    assert np.ptp(offset) < 0.02
    soft_value = np.asarray(ta.soft_optimal_policy(OPEN, jnp.asarray(TRUE_REWARD)).v)
    assert np.ptp(np.asarray(result.h) - soft_value) < 0.1


def test_state_action_g_matches_the_expert_but_does_not_disentangle(open_fits):
    state_only, _ = open_fits[True]
    result, seconds = open_fits[False]
    distance = epic_to_true(result.g, OPEN)
    print(f"state-action: EPIC {distance:.4f}, {seconds:.1f} s")
    # It imitates as well: its policy's occupancy matches the expert's and D = 1/2 ...
    assert float(result.metrics.occupancy_gap[-1]) < 1e-3
    # ... but g(s, a) is the expert's advantage up to a shaping that uses the dynamics (T(s, a), not s'), which
    # canonicalisation over independent (S, A, S') does not remove: measured 0.55 against 0.0002.
    assert distance > 0.2
    assert distance > 100 * epic_to_true(state_only.g, OPEN)


# -- 3. transfer: move a wall --------------------------------------------------------------------------------


def transfer_ratio(g) -> float:
    """The true value in the shifted maze of the soft-optimal policy for ``g`` there, over that of the true reward's."""
    true = jnp.asarray(TRUE_REWARD)
    replanned = policy_value(SHIFTED, ta.soft_optimal_policy(SHIFTED, g).policy, true)
    best = policy_value(SHIFTED, ta.soft_optimal_policy(SHIFTED, true).policy, true)
    return float(replanned / best)


def test_moving_the_wall_changes_the_best_behaviour():
    true = jnp.asarray(TRUE_REWARD)
    old_policy = ta.soft_optimal_policy(ORIGINAL, true).policy
    best = policy_value(SHIFTED, ta.soft_optimal_policy(SHIFTED, true).policy, true)
    # the expert's own policy, carried over unchanged, loses about half of the value (measured 0.46)
    assert float(policy_value(SHIFTED, old_policy, true) / best) < 0.6


def test_state_only_reward_transfers_to_the_shifted_maze(maze_fits):
    result, seconds = maze_fits[True]
    ratio = transfer_ratio(result.g)
    print(f"state-only transfer ratio {ratio:.4f}, {seconds:.1f} s")
    assert float(result.metrics.occupancy_gap[-1]) < 1e-3
    assert abs(ratio - 1) <= TRANSFER_GOAL


def test_state_action_reward_transfers_worse(maze_fits):
    state_only, _ = maze_fits[True]
    result, seconds = maze_fits[False]
    ratio = transfer_ratio(result.g)
    print(f"state-action transfer ratio {ratio:.4f}, {seconds:.1f} s")
    assert float(result.metrics.occupancy_gap[-1]) < 1e-3  # it imitated the expert in the original maze
    # g(s, a) rewards the actions that led through the old gap: measured 0.38 of the best value
    assert ratio < 0.6
    assert ratio < transfer_ratio(state_only.g) - 0.3


def test_g_is_only_recovered_where_the_expert_goes():
    """The limit of the guarantee: started in the corner only, the expert almost never enters the region that the
    original wall closes off (occupancy below 1e-4 there), so g there stays near its start and the reward does not
    transfer (measured ratio 0.53 in the shifted maze); the 20% of uniform starts of ``INITIAL`` are what give the
    expert coverage."""
    corner = make_mdp(ORIGINAL.next_states, ORIGINAL.next_probs, np.eye(S), np.eye(S)[cell(0, 0)], discount=GAMMA)
    expert = ta.soft_optimal_occupancy(corner, jnp.asarray(TRUE_REWARD))
    hidden = [cell(y, x) for y in range(3, 6) for x in range(3)]
    assert float(jnp.sum(expert[np.array(hidden)])) < 1e-3
    result = ta.fit_jit(ta.TabularAIRLConfig(), corner, expert)
    offset = np.asarray(result.g) - TRUE_REWARD
    assert np.ptp(offset[[cell(0, x) for x in range(6)]]) < 0.02  # recovered where the expert goes
    assert np.max(np.abs(offset[hidden] - offset[cell(0, 0)])) > 0.5  # not where it doesn't
    assert transfer_ratio(result.g) < 0.8


# -- 4. the pieces against NumPy ----------------------------------------------------------------------------


TINY_NEXT = np.array([[1, 2], [0, 2], [2, 0]])  # T(s, a) of 3 states, 2 actions
TINY_GAMMA = 0.8


def tiny_mdp(initial=(0.5, 0.3, 0.2), discount=TINY_GAMMA):
    dense = np.zeros((3, 2, 3))
    dense[np.arange(3)[:, None], np.arange(2)[None, :], TINY_NEXT] = 1.0
    horizon = None if discount < 1 else 5
    return from_dense(dense, np.eye(3), np.asarray(initial), discount=discount, horizon=horizon)


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_loss_and_grads(g, h, log_pi, expert, policy):
    """The discriminator loss and its gradients with respect to g and h, by hand."""
    g_sa = g[:, None] * np.ones((1, 2)) if g.ndim == 1 else g
    f = g_sa + TINY_GAMMA * h[TINY_NEXT] - h[:, None]
    logit = f - log_pi
    expert, policy = expert / expert.sum(), policy / policy.sum()
    loss = np.sum(expert * softplus(-logit)) + np.sum(policy * softplus(logit))
    dlogit = -expert * sigmoid(-logit) + policy * sigmoid(logit)  # dL / df(s, a)
    grad_g = dlogit.sum(axis=1) if g.ndim == 1 else dlogit
    grad_h = np.zeros(3)
    for s in range(3):
        for a in range(2):
            grad_h[TINY_NEXT[s, a]] += TINY_GAMMA * dlogit[s, a]
            grad_h[s] -= dlogit[s, a]
    return loss, grad_g, grad_h


def numpy_soft_policy(reward_sa, gamma=TINY_GAMMA):
    """Soft value iteration to convergence, float64: the log-policy."""
    v = np.zeros(3)
    for _ in range(2000):
        q = reward_sa + gamma * v[TINY_NEXT]
        v = np.log(np.exp(q).sum(axis=1))
    q = reward_sa + gamma * v[TINY_NEXT]
    return q - v[:, None]


def numpy_occupancy(log_pi, initial, gamma=TINY_GAMMA):
    """Normalised discounted occupancy by a linear solve: d = p0 + gamma P_pi^T d."""
    pi = np.exp(log_pi)
    p_pi = np.zeros((3, 3))
    for s in range(3):
        for a in range(2):
            p_pi[s, TINY_NEXT[s, a]] += pi[s, a]
    d = np.linalg.solve(np.eye(3) - gamma * p_pi.T, np.asarray(initial))
    occupancy = d[:, None] * pi
    return occupancy / occupancy.sum()


RNG = np.random.default_rng(0)
TINY_EXPERT = RNG.dirichlet(np.ones(6)).reshape(3, 2)
TINY_POLICY = RNG.dirichlet(np.ones(6)).reshape(3, 2)
TINY_LOG_PI = np.log(RNG.dirichlet(np.ones(2), size=3))


@pytest.mark.parametrize("state_only", [True, False], ids=["state-only", "state-action"])
def test_discriminator_loss_and_gradient_against_numpy(state_only):
    g = RNG.normal(size=3 if state_only else (3, 2))
    h = RNG.normal(size=3)
    loss, grad_g, grad_h = numpy_loss_and_grads(g, h, TINY_LOG_PI, TINY_EXPERT, TINY_POLICY)
    successors = ta.deterministic_successors(tiny_mdp())
    np.testing.assert_array_equal(np.asarray(successors), TINY_NEXT)
    args = (successors, TINY_GAMMA, jnp.asarray(TINY_LOG_PI, jnp.float32), jnp.asarray(TINY_EXPERT, jnp.float32),
            jnp.asarray(3 * TINY_POLICY, jnp.float32))  # any scale: occupancies are normalised
    params = (jnp.asarray(g, jnp.float32), jnp.asarray(h, jnp.float32))
    value, (jax_g, jax_h) = jax.value_and_grad(ta.discriminator_loss)(params, *args)
    np.testing.assert_allclose(float(value), loss, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(jax_g), grad_g, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(jax_h), grad_h, rtol=1e-4, atol=1e-6)


def test_expert_occupancy_against_numpy():
    mdp = tiny_mdp()
    reward = np.array([0.3, -0.5, 1.0])
    expected = numpy_occupancy(numpy_soft_policy(reward[:, None] * np.ones((1, 2))), [0.5, 0.3, 0.2])
    got = ta.soft_optimal_occupancy(mdp, jnp.asarray(reward, jnp.float32), ta.TabularAIRLConfig(tolerance=1e-6))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)


@pytest.mark.parametrize("state_only", [True, False], ids=["state-only", "state-action"])
def test_one_alternation_against_numpy(state_only):
    """One step with plain SGD: the policy's occupancy, the gradient step on (g, h), soft value iteration on f."""
    mdp = tiny_mdp()
    lr = 0.5
    config = ta.TabularAIRLConfig(steps=1, learning_rate=lr, final_learning_rate=lr, optimizer="sgd",
                                  state_only=state_only, tolerance=1e-6)
    state = ta.init(config, mdp)
    g0 = np.zeros(3 if state_only else (3, 2))
    log_pi0 = numpy_soft_policy(np.zeros((3, 2)))
    np.testing.assert_allclose(np.asarray(state.log_policy), log_pi0, atol=1e-5)
    new, metrics = ta.step(config, mdp, jnp.asarray(TINY_EXPERT, jnp.float32), state)

    policy_occupancy = numpy_occupancy(log_pi0, [0.5, 0.3, 0.2])
    _, grad_g, grad_h = numpy_loss_and_grads(g0, np.zeros(3), log_pi0, TINY_EXPERT, policy_occupancy)
    g1, h1 = g0 - lr * grad_g, -lr * grad_h
    np.testing.assert_allclose(np.asarray(new.g), g1, atol=1e-5)
    np.testing.assert_allclose(np.asarray(new.h), h1, atol=1e-5)
    g1_sa = g1[:, None] * np.ones((1, 2)) if state_only else g1
    f1 = g1_sa + TINY_GAMMA * h1[TINY_NEXT] - h1[:, None]
    np.testing.assert_allclose(np.asarray(new.log_policy), numpy_soft_policy(f1), atol=1e-5)
    loss1, _, _ = numpy_loss_and_grads(g1, h1, log_pi0, TINY_EXPERT, policy_occupancy)
    np.testing.assert_allclose(float(metrics.loss), loss1, rtol=1e-5)
    gap = 0.5 * np.abs(TINY_EXPERT - numpy_occupancy(numpy_soft_policy(f1), [0.5, 0.3, 0.2])).sum()
    np.testing.assert_allclose(float(metrics.occupancy_gap), gap, atol=1e-5)


def test_the_policy_update_maximises_the_return_of_log_d_minus_log_one_minus_d():
    """The AIRL identity on the tiny MDP: with ``D`` built from the policy ``pi`` itself, the return of
    ``log D - log(1 - D) = f - log pi`` is the entropy-regularised return of ``f``, so the policy update (soft
    value iteration on ``f``) maximises it: no perturbed policy does better, and its return is ``p0 . V_f``."""
    f = RNG.normal(size=(3, 2))
    initial = np.array([0.5, 0.3, 0.2])

    def logit_return(log_pi):
        pi = np.exp(log_pi)
        p_pi = np.zeros((3, 3))
        for s in range(3):
            for a in range(2):
                p_pi[s, TINY_NEXT[s, a]] += pi[s, a]
        reward = np.sum(pi * (f - log_pi), axis=1)  # E_pi[log D - log(1 - D)] in each state
        return initial @ np.linalg.solve(np.eye(3) - TINY_GAMMA * p_pi, reward)

    plan = ta.soft_optimal_policy(tiny_mdp(), jnp.asarray(f, jnp.float32))
    log_pi = np.asarray(plan.log_policy, np.float64)
    np.testing.assert_allclose(log_pi, numpy_soft_policy(f), atol=1e-4)
    best = logit_return(log_pi)
    np.testing.assert_allclose(best, initial @ np.asarray(plan.v), rtol=1e-4)
    for _ in range(20):
        other = log_pi + RNG.normal(scale=0.5, size=(3, 2))
        other -= np.log(np.exp(other).sum(axis=1, keepdims=True))
        assert logit_return(other) < best


def test_fit_is_jittable_and_vmappable():
    mdp = tiny_mdp()
    config = ta.TabularAIRLConfig(steps=20)
    experts = jnp.stack([jnp.asarray(TINY_EXPERT, jnp.float32), jnp.asarray(TINY_POLICY, jnp.float32)])
    both = jax.vmap(lambda e: ta.fit(config, mdp, e))(experts)
    for i in range(2):
        one = ta.fit_jit(config, mdp, experts[i])
        np.testing.assert_allclose(np.asarray(both.g[i]), np.asarray(one.g), atol=1e-5)
        np.testing.assert_allclose(np.asarray(both.log_policy[i]), np.asarray(one.log_policy), atol=1e-5)
    assert both.metrics.loss.shape == (2, 20)


# -- bad input: one line ----------------------------------------------------------------------------------------


def one_line(call, message: str) -> None:
    with pytest.raises(IrlaxError) as error:
        call()
    text = str(error.value)
    assert message in text, text
    assert "\n" not in text, text


def test_bad_configs():
    one_line(lambda: ta.TabularAIRLConfig(discount=1.0), "discount must be in (0, 1)")
    one_line(lambda: ta.TabularAIRLConfig(discount=0.0), "discount must be in (0, 1]")
    one_line(lambda: ta.TabularAIRLConfig(discount=1.5), "discount must be in (0, 1]")
    one_line(lambda: ta.TabularAIRLConfig(discount=float("nan")), "discount must be a finite number")
    one_line(lambda: ta.TabularAIRLConfig(steps=0), "steps must be positive")
    one_line(lambda: ta.TabularAIRLConfig(learning_rate=-1.0), "learning_rate must be positive")
    one_line(lambda: ta.TabularAIRLConfig(learning_rate=0.1, final_learning_rate=0.2), "must not exceed")
    one_line(lambda: ta.TabularAIRLConfig(optimizer="rmsprop"), "unknown optimizer")
    one_line(lambda: ta.TabularAIRLConfig(state_only="yes"), "state_only must be true or false")


def test_bad_inputs():
    mdp, config, expert = tiny_mdp(), ta.TabularAIRLConfig(steps=2), jnp.asarray(TINY_EXPERT)
    fit = lambda m=mdp, e=expert, c=config: ta.fit_jit(c, m, e)
    one_line(lambda: fit(e=expert[:2]), "expert occupancy must have shape [S=3, A=2], got (2, 2)")
    one_line(lambda: fit(e=expert.at[0, 0].set(jnp.nan)), "expert occupancy contains NaN or inf")
    one_line(lambda: fit(e=-expert), "expert occupancy has negative entries")
    one_line(lambda: fit(e=jnp.zeros((3, 2))), "expert occupancy has no mass")
    one_line(lambda: fit(e=np.array([["a", "b"]] * 3)), "must hold real numbers")
    undiscounted = tiny_mdp(discount=1.0)
    one_line(lambda: fit(m=undiscounted), "the discount must be in (0, 1), got 1.0")
    fit(m=undiscounted, c=ta.TabularAIRLConfig(steps=2, discount=0.9))  # the config's discount serves
    stochastic = from_dense(np.full((3, 2, 3), 1 / 3), np.eye(3), discount=0.9)
    one_line(lambda: fit(m=stochastic), "tabular AIRL needs deterministic dynamics; (s, a) = (0, 0)")
    one_line(lambda: ta.deterministic_successors(stochastic), "deterministic dynamics")
