"""Trajectory sampling against exact occupancy measures and values.

A tiny stochastic MDP (3 states, 2 actions, horizon 4) with padded successor
lists: 20000 sampled trajectories must reproduce the exact per-step state-action
distribution, and their mean return the exact value, within a few standard errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.envs.tabular import from_dense
from irlax.tabular.occupancy import occupancy_finite, policy_evaluation, policy_value
from irlax.tabular.planning import soft_value_iteration_finite
from irlax.tabular.sampling import sample_trajectories

S, A, H, N = 3, 2, 4, 20_000
DISCOUNT = 0.9
SIGMAS = 5.0  # tolerance in standard errors (about 1e-6 two-sided per cell)

# N and the length are static; `start` is always passed so that every call shares one compile per policy shape.
sample = jax.jit(sample_trajectories, static_argnums=(3, 4))


def dense_transitions(seed: int) -> np.ndarray:
    """Random transitions with some zero entries, so that successor lists get padded."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(S), size=(S, A))
    p[0, 0] = [0.0, 1.0, 0.0]  # deterministic: two padding entries
    p[2, 1] = [0.6, 0.0, 0.4]
    return p


def tiny_mdp(seed: int = 0, horizon: int | None = H):
    rng = np.random.default_rng(seed + 100)
    return from_dense(dense_transitions(seed), np.eye(S), rng.dirichlet(np.ones(S)), discount=DISCOUNT,
                      horizon=horizon)


@pytest.fixture(scope="module")
def setup():
    mdp = tiny_mdp()
    assert mdp.next_states.shape[-1] == S  # padded lists are exercised
    reward = jnp.asarray(np.random.default_rng(1).normal(size=(S, A)), jnp.float32)
    time_indexed = soft_value_iteration_finite(mdp, 2.0 * reward, H).log_policy  # [H, S, A]
    stationary = jnp.log(jnp.asarray([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]], jnp.float32))  # [S, A]
    return mdp, reward, {"time_indexed": time_indexed, "stationary": stationary}


@pytest.fixture(scope="module")
def samples(setup):
    mdp, _, policies = setup
    return {name: sample(jax.random.key(7), mdp, log_pi, N, H, mdp.initial) for name, log_pi in policies.items()}


def per_step_onehots(demos) -> np.ndarray:
    """``[N, T, S, A]`` indicators of the sampled (s_t, a_t)."""
    states, actions = np.asarray(demos.states), np.asarray(demos.actions)
    onehot = np.zeros(states.shape + (S, A))
    n, t = np.indices(states.shape)
    onehot[n, t, states, actions] = 1.0
    return onehot


@pytest.mark.parametrize("policy", ["time_indexed", "stationary"])
def test_empirical_frequencies_match_the_occupancy_measure(setup, samples, policy):
    mdp, _, policies = setup
    demos = samples[policy]
    assert demos.states.shape == (N, H) and bool(demos.mask.all())
    sources = jnp.zeros((H, S)).at[0].set(mdp.initial)
    exact = np.asarray(occupancy_finite(mdp, jnp.exp(policies[policy]), sources))  # [H, S, A]
    np.testing.assert_allclose(exact.sum(axis=(1, 2)), 1.0, atol=1e-6)
    onehot = per_step_onehots(demos)
    empirical = onehot.mean(axis=0)
    stderr = np.sqrt(exact * (1 - exact) / N)
    assert (np.abs(empirical - exact) <= SIGMAS * stderr + 1e-6).all(), np.abs(empirical - exact).max()
    # summed over time: expected visit counts, with the standard error of the per-trajectory counts
    counts = onehot.sum(axis=1)
    tolerance = SIGMAS * counts.std(axis=0) / np.sqrt(N) + 1e-6
    assert (np.abs(counts.mean(axis=0) - exact.sum(axis=0)) <= tolerance).all()


def test_sampled_transitions_follow_the_successor_lists(samples):
    p = dense_transitions(0)
    states, actions = (np.asarray(x) for x in (samples["stationary"].states, samples["stationary"].actions))
    s, a, s_next = states[:, :-1].ravel(), actions[:, :-1].ravel(), states[:, 1:].ravel()
    assert (p[s, a, s_next] > 0).all(), "a transition of probability 0 (padding) was sampled"
    assert (s_next[(s == 0) & (a == 0)] == 1).all()
    # empirical P(s' | s, a) for every pair
    for si in range(S):
        for ai in range(A):
            chosen = (s == si) & (a == ai)
            n = int(chosen.sum())
            assert n > 500
            freq = np.bincount(s_next[chosen], minlength=S) / n
            tol = SIGMAS * np.sqrt(p[si, ai] * (1 - p[si, ai]) / n) + 1e-6
            assert (np.abs(freq - p[si, ai]) <= tol).all()


def test_start_states_follow_the_start_distribution(setup, samples):
    mdp, _, policies = setup
    first = np.asarray(samples["stationary"].states[:, 0])
    p0 = np.asarray(mdp.initial)
    freq = np.bincount(first, minlength=S) / N
    assert (np.abs(freq - p0) <= SIGMAS * np.sqrt(p0 * (1 - p0) / N)).all()
    fixed = sample(jax.random.key(3), mdp, policies["stationary"], N, H, jnp.asarray([0.0, 0.0, 1.0]))
    assert (np.asarray(fixed.states[:, 0]) == 2).all()


def test_sampling_is_deterministic_given_the_key(setup, samples):
    mdp, _, policies = setup
    for name, log_pi in policies.items():
        again = sample(jax.random.key(7), mdp, log_pi, N, H, mdp.initial)
        np.testing.assert_array_equal(np.asarray(again.states), np.asarray(samples[name].states))
        np.testing.assert_array_equal(np.asarray(again.actions), np.asarray(samples[name].actions))
        other = sample(jax.random.key(8), mdp, log_pi, N, H, mdp.initial)
        assert (np.asarray(other.states) != np.asarray(samples[name].states)).any()


@pytest.mark.parametrize("policy", ["time_indexed", "stationary"])
def test_policy_value_equals_the_mean_sampled_return(setup, samples, policy):
    mdp, reward, policies = setup
    demos = samples[policy]
    rewards = np.asarray(reward)[np.asarray(demos.states), np.asarray(demos.actions)]  # [N, H]
    returns = rewards @ (DISCOUNT ** np.arange(H))
    exact = float(policy_value(mdp, jnp.exp(policies[policy]), reward))
    assert abs(returns.mean() - exact) <= SIGMAS * returns.std() / np.sqrt(N)


def test_policy_evaluation_matches_policy_value_and_a_linear_solve():
    with jax.enable_x64(True):
        mdp = tiny_mdp(seed=3, horizon=None)
        rng = np.random.default_rng(4)
        policy = jnp.asarray(rng.dirichlet(np.ones(A), size=S))
        reward = jnp.asarray(rng.normal(size=(S, A)))

        @jax.jit
        def evaluate(mdp, policy, reward):
            v = policy_evaluation(mdp, policy, reward, tolerance=1e-13)
            return v, policy_value(mdp, policy, reward, tolerance=1e-13)

        v, value = (np.asarray(x) for x in evaluate(mdp, policy, reward))
        assert float(v @ np.asarray(mdp.initial)) == pytest.approx(float(value), abs=1e-9)
        # reference: V = (I - gamma P_pi)^-1 r_pi
        pi, p = np.asarray(policy), dense_transitions(3)
        p_pi = np.einsum("sa,sat->st", pi, p)
        r_pi = (pi * np.asarray(reward)).sum(axis=1)
        np.testing.assert_allclose(v, np.linalg.solve(np.eye(S) - DISCOUNT * p_pi, r_pi), atol=1e-9)
