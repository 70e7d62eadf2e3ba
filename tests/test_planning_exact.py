"""Planners and likelihood gradients against brute-force enumeration of every trajectory.

Tiny MDPs (3 states, 2 actions, horizon 3): every trajectory is enumerated to
compute log Z, the trajectory distribution and the MaxEnt gradient, and compared
with the dynamic-programming results.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms.maxent import maxent_log_likelihood_and_grad, maxent_log_partition
from irlax.algorithms.mce import mce_log_likelihood_and_grad
from irlax.data.trajectories import end_aligned_step_counts, make_trajectories, step_counts
from irlax.envs.tabular import from_dense, to_dense
from irlax.tabular.occupancy import occupancy_discounted, occupancy_finite, occupancy_measure
from irlax.tabular.planning import (
    maxent_backward_pass,
    soft_value_iteration,
    soft_value_iteration_finite,
    value_iteration,
)

S, A, H = 3, 2, 3


def tiny_mdp(seed: int, deterministic: bool = False, discount: float = 1.0, horizon=H):
    rng = np.random.default_rng(seed)
    if deterministic:
        p = np.zeros((S, A, S))
        p[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] = 1.0
    else:
        p = rng.dirichlet(np.ones(S), size=(S, A))
    features = np.eye(S)
    initial = rng.dirichlet(np.ones(S))
    mdp = from_dense(p, features, initial, discount=discount, horizon=horizon)
    return mdp, np.asarray(to_dense(mdp), np.float64)  # the stored (float32) probabilities


def all_trajectories(p: np.ndarray, horizon: int, s0: int):
    """Every (states, actions, P(dynamics)) of ``horizon`` steps from ``s0``; states has H+1 entries."""
    for actions in itertools.product(range(A), repeat=horizon):
        for nexts in itertools.product(range(S), repeat=horizon):
            states = (s0,) + nexts
            prob = np.prod([p[states[t], actions[t], states[t + 1]] for t in range(horizon)])
            if prob > 0:
                yield states, actions, prob


def brute_maxent(p, r, horizon, s0):
    """log Z(s0) and expected (s, a) counts under p(tau|s0) ~ P(tau) exp(R(tau))."""
    weights, counts = [], []
    for states, actions, prob in all_trajectories(p, horizon, s0):
        weights.append(prob * np.exp(sum(r[states[t], actions[t]] for t in range(horizon))))
        c = np.zeros((S, A))
        for t in range(horizon):
            c[states[t], actions[t]] += 1
        counts.append(c)
    weights = np.array(weights)
    z = weights.sum()
    return np.log(z), np.einsum("n,nsa->sa", weights / z, np.array(counts))


def brute_mce(p, log_policy, horizon, start):
    """Expected (s, a) counts by enumeration of trajectories under a time-indexed policy."""
    expected = np.zeros((S, A))
    total = 0.0
    for s0 in range(S):
        for states, actions, prob in all_trajectories(p, horizon, s0):
            pi = np.prod([np.exp(log_policy[t, states[t], actions[t]]) for t in range(horizon)])
            w = start[s0] * prob * pi
            total += w
            for t in range(horizon):
                expected[states[t], actions[t]] += w
    return expected, total


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("seed", [0, 1])
def test_maxent_log_partition_and_gradient_match_enumeration(seed):
    mdp, p = tiny_mdp(seed)
    r = np.random.default_rng(seed + 10).normal(size=(S, A))
    log_z = np.asarray(maxent_log_partition(mdp, jnp.asarray(r), H))
    zero_counts = jnp.zeros((H, S, A))
    grad_fn = jax.jit(lambda starts: maxent_log_likelihood_and_grad(mdp, jnp.asarray(r), zero_counts, starts)[1])
    autodiff_fn = jax.jit(jax.jacobian(lambda rr: maxent_log_partition(mdp, rr, H)))
    jacobian = np.asarray(autodiff_fn(jnp.asarray(r)))
    for s0 in range(S):
        brute_log_z, brute_counts = brute_maxent(p, r, H, s0)
        assert log_z[s0] == pytest.approx(brute_log_z, abs=1e-5)
        # gradient of log Z(s0) = expected counts; DP forward pass with tilted dynamics
        grad = grad_fn(jnp.zeros((H, S)).at[0, s0].set(1.0))
        np.testing.assert_allclose(-np.asarray(grad), brute_counts, atol=1e-5)
        np.testing.assert_allclose(jacobian[s0], brute_counts, atol=1e-5)


def test_maxent_policy_gives_the_trajectory_distribution():
    """p(tau | s0) from the DP policy and tilted dynamics equals the brute-force distribution."""
    mdp, p = tiny_mdp(3)
    r = np.random.default_rng(4).normal(size=(S, A))
    plan = maxent_backward_pass(mdp, jnp.asarray(r), H)
    log_pi, v = np.asarray(plan.log_policy), np.asarray(plan.v)
    for s0 in range(S):
        brute_log_z, _ = brute_maxent(p, r, H, s0)
        for states, actions, prob in all_trajectories(p, H, s0):
            target = prob * np.exp(sum(r[states[t], actions[t]] for t in range(H)) - brute_log_z)
            dp = 1.0
            for t in range(H):
                s, a, s_next = states[t], actions[t], states[t + 1]
                tilted = p[s, a] * np.exp(v[t + 1])
                dp *= np.exp(log_pi[t, s, a]) * tilted[s_next] / tilted.sum()
            assert dp == pytest.approx(target, abs=1e-9)


def test_soft_value_iteration_finite_matches_python_loop():
    mdp, p = tiny_mdp(5, discount=0.9)
    r = np.random.default_rng(6).normal(size=(S, A))
    plan = soft_value_iteration_finite(mdp, jnp.asarray(r), H)
    v = np.zeros(S)
    for t in reversed(range(H)):
        q = np.zeros((S, A))
        for s in range(S):
            for a in range(A):
                q[s, a] = r[s, a] + 0.9 * sum(p[s, a, s2] * v[s2] for s2 in range(S))
        v = np.log(np.exp(q).sum(axis=1))
        np.testing.assert_allclose(np.asarray(plan.q[t]), q, atol=1e-10)
        np.testing.assert_allclose(np.asarray(plan.v[t]), v, atol=1e-10)


def test_soft_value_iteration_infinite_is_a_fixed_point():
    mdp, p = tiny_mdp(7, discount=0.9, horizon=None)
    r = np.random.default_rng(8).normal(size=(S, A))
    plan = soft_value_iteration(mdp, jnp.asarray(r), tolerance=1e-12)
    v = np.asarray(plan.v)
    q = r + 0.9 * np.einsum("sat,t->sa", p, v)
    np.testing.assert_allclose(np.log(np.exp(q).sum(1)), v, atol=1e-9)
    np.testing.assert_allclose(np.exp(np.asarray(plan.log_policy)).sum(1), 1.0, atol=1e-12)


def test_hard_value_iteration_matches_python_loop():
    mdp, p = tiny_mdp(9, discount=0.8, horizon=None)
    r = np.random.default_rng(10).normal(size=(S, A))
    v = np.zeros(S)
    for _ in range(500):
        v = (r + 0.8 * np.einsum("sat,t->sa", p, v)).max(1)
    plan = value_iteration(mdp, jnp.asarray(r), tolerance=1e-12)
    np.testing.assert_allclose(np.asarray(plan.v), v, atol=1e-9)
    greedy = (r + 0.8 * np.einsum("sat,t->sa", p, v)).argmax(1)
    assert (np.asarray(plan.policy).argmax(1) == greedy).all()


def test_mce_expected_counts_match_enumeration():
    mdp, p = tiny_mdp(11)
    r = np.random.default_rng(12).normal(size=(S, A))
    plan = soft_value_iteration_finite(mdp, jnp.asarray(r), H)
    sources = jnp.zeros((H, S)).at[0].set(mdp.initial)
    dp = np.asarray(occupancy_finite(mdp, plan.policy, sources).sum(0))
    brute, total = brute_mce(p, np.asarray(plan.log_policy), H, np.asarray(mdp.initial))
    assert total == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(dp, brute, atol=1e-9)


def test_occupancy_sums_to_horizon_or_effective_horizon():
    mdp, _ = tiny_mdp(13)
    pi = jnp.full((S, A), 1.0 / A)
    assert float(occupancy_measure(mdp, pi, horizon=H).sum()) == pytest.approx(H, abs=1e-9)
    mdp_inf, _ = tiny_mdp(13, discount=0.95, horizon=None)
    occ = occupancy_discounted(mdp_inf, pi, mdp_inf.initial, tolerance=1e-12)
    assert float(occ.sum()) == pytest.approx(1 / (1 - 0.95), rel=1e-8)


def demo_trajectories(mdp, p, n, length, seed):
    rng = np.random.default_rng(seed)
    states = np.zeros((n, length), int)
    actions = rng.integers(0, A, (n, length))
    lengths = rng.integers(1, length + 1, n)
    for i in range(n):
        states[i, 0] = rng.choice(S, p=np.asarray(mdp.initial))
        for t in range(1, length):
            states[i, t] = rng.choice(S, p=p[states[i, t - 1], actions[i, t - 1]])
    mask = np.arange(length)[None, :] < lengths[:, None]
    return make_trajectories(states, actions, mask)


def test_mce_gradient_is_the_autodiff_gradient_of_the_action_log_likelihood():
    """Finite horizon, variable-length demonstrations: explicit gradient == jax.grad through the DP."""
    mdp, p = tiny_mdp(14, discount=0.9)
    demos = demo_trajectories(mdp, p, 6, H, 15)
    counts = step_counts(demos, S, A, H)
    r = jnp.asarray(np.random.default_rng(16).normal(size=(S, A)))

    def log_likelihood(rr):
        return jnp.sum(counts * soft_value_iteration_finite(mdp, rr, H).log_policy)

    ll, grad, _ = mce_log_likelihood_and_grad(mdp, r, counts, horizon=H)
    assert float(ll) == pytest.approx(float(log_likelihood(r)), abs=1e-9)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(jax.jit(jax.grad(log_likelihood))(r)), atol=1e-8)


def test_mce_infinite_horizon_gradient_matches_unrolled_autodiff():
    mdp, p = tiny_mdp(17, discount=0.7, horizon=None)
    demos = demo_trajectories(mdp, p, 5, 4, 18)
    counts = step_counts(demos, S, A, 4).sum(0)
    r = jnp.asarray(np.random.default_rng(19).normal(size=(S, A)))

    def log_likelihood(rr):
        backup = lambda _, v: jax.nn.logsumexp(rr + 0.7 * jnp.einsum("sat,t->sa", jnp.asarray(p), v), axis=1)
        v = jax.lax.fori_loop(0, 200, backup, jnp.zeros(S))  # unrolled soft VI, differentiable
        q = rr + 0.7 * jnp.einsum("sat,t->sa", jnp.asarray(p), v)
        return jnp.sum(counts * (q - jax.nn.logsumexp(q, axis=1, keepdims=True)))

    ll, grad, _ = mce_log_likelihood_and_grad(mdp, r, counts, horizon=None, tolerance=1e-13)
    assert float(ll) == pytest.approx(float(log_likelihood(r)), abs=1e-8)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(jax.jit(jax.grad(log_likelihood))(r)), atol=1e-7)


def test_maxent_likelihood_gradient_matches_autodiff_with_variable_lengths():
    mdp, p = tiny_mdp(20)
    demos = demo_trajectories(mdp, p, 6, H, 21)
    counts, starts = end_aligned_step_counts(demos, S, A, H)
    r = jnp.asarray(np.random.default_rng(22).normal(size=(S, A)))

    def log_likelihood(rr):
        v = maxent_backward_pass(mdp, rr, H).v
        return jnp.sum(counts.sum(0) * rr) - jnp.sum(starts * v[:-1])

    ll, grad, _ = maxent_log_likelihood_and_grad(mdp, r, counts, starts)
    assert float(ll) == pytest.approx(float(log_likelihood(r)), abs=1e-9)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(jax.jit(jax.grad(log_likelihood))(r)), atol=1e-8)


def test_maxent_and_mce_coincide_on_deterministic_and_differ_on_stochastic_dynamics():
    r = jnp.asarray(np.random.default_rng(23).normal(size=(S, A)))
    det, _ = tiny_mdp(24, deterministic=True)
    np.testing.assert_allclose(
        np.asarray(maxent_backward_pass(det, r, H).log_policy),
        np.asarray(soft_value_iteration_finite(det, r, H).log_policy),
        atol=1e-10,
    )
    sto, _ = tiny_mdp(24)
    gap = np.abs(
        np.asarray(maxent_backward_pass(sto, r, H).log_policy)
        - np.asarray(soft_value_iteration_finite(sto, r, H).log_policy)
    ).max()
    assert gap > 1e-3
    # optimism: log E[exp V] >= E[V] (Jensen), so the 2008 values dominate
    assert (np.asarray(maxent_backward_pass(sto, r, H).v) >= np.asarray(
        soft_value_iteration_finite(sto, r, H).v) - 1e-12).all()


def test_jit_and_no_jit_agree():
    mdp, _ = tiny_mdp(25, discount=0.9, horizon=None)
    r = jnp.asarray(np.random.default_rng(26).normal(size=(S, A)))
    with jax.disable_jit():
        eager = soft_value_iteration(mdp, r).v
    jitted = jax.jit(soft_value_iteration)(mdp, r).v
    np.testing.assert_allclose(np.asarray(eager), np.asarray(jitted), atol=1e-10)
    eager_m = maxent_backward_pass(mdp, r, H)
    jit_m = jax.jit(maxent_backward_pass, static_argnums=2)(mdp, r, H)
    np.testing.assert_allclose(np.asarray(eager_m.v), np.asarray(jit_m.v), atol=1e-10)


def test_log_space_planning_stays_finite_for_large_rewards_and_horizons():
    with jax.enable_x64(False):
        mdp, _ = tiny_mdp(27)
        r = jnp.asarray(np.random.default_rng(28).normal(size=(S, A)) * 1e3, dtype=jnp.float32)
        for plan in (maxent_backward_pass(mdp, r, 10_000), soft_value_iteration_finite(mdp, r, 10_000)):
            assert np.isfinite(np.asarray(plan.v)).all()
            assert np.isfinite(np.asarray(plan.log_policy)).all()
            np.testing.assert_allclose(np.exp(np.asarray(plan.log_policy)).sum(-1), 1.0, atol=1e-4)
