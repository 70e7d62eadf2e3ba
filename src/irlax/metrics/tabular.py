"""Metrics for tabular IRL: expected value difference, feature expectations, action likelihood.

- Expected value difference (Levine, Popovic & Koltun 2011): the true value of
  the expert's optimal policy minus the true value of the policy that is optimal
  for the learned reward, from a uniform start distribution, for soft-optimal and
  for greedy policies (see ``shared/benchmarks/objectworld.md``).
- Feature expectations and their gap to the expert's (Abbeel & Ng 2004).
- The log-likelihood of demonstrated actions under a policy.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.data.trajectories import Trajectories, start_distribution, step_counts
from irlax.envs.tabular import TabularMDP
from irlax.tabular.feature_expectations import feature_expectations
from irlax.tabular.occupancy import occupancy_finite, policy_value
from irlax.tabular.planning import (
    Plan,
    soft_value_iteration,
    soft_value_iteration_finite,
    value_iteration,
    value_iteration_finite,
)


def per_step_discounted_mean(counts: Array, discount: float) -> Array:
    """``sum_t gamma^t counts[t] / n_t`` with ``n_t`` the mass at step ``t``: ``[T, S, A] -> [S, A]``."""
    mass = counts.sum(axis=(1, 2))
    weights = discount ** jnp.arange(counts.shape[0]) / jnp.maximum(mass, 1e-12)
    return jnp.einsum("t,tsa->sa", jnp.where(mass > 0, weights, 0.0), counts)


def feature_expectation_gap(
    mdp: TabularMDP, log_policy: Array, demos: Trajectories, discount: float
) -> Array:
    """``|| mu_E - mu_pi ||_2`` over the demonstrations' horizon ``T``, a scalar.

    ``mu_E = sum_t gamma^t (mean over the trajectories still running at t of
    f(s_t, a_t))``; ``mu_pi`` is the same for ``pi`` started from the
    demonstrations' start states. ``log_policy``: ``[S, A]`` or ``[H, S, A]`` (``H >= T``).
    """
    horizon = demos.max_length
    counts = step_counts(demos, mdp.num_states, mdp.num_actions, horizon)
    policy = jnp.exp(log_policy if log_policy.ndim == 2 else log_policy[:horizon])
    sources = jnp.zeros((horizon, mdp.num_states)).at[0].set(start_distribution(demos, mdp.num_states))
    model = occupancy_finite(mdp, policy, sources)
    mu_expert = feature_expectations(mdp.features, per_step_discounted_mean(counts, discount))
    mu_model = feature_expectations(mdp.features, per_step_discounted_mean(model, discount))
    return jnp.linalg.norm(mu_expert - mu_model)


def action_log_likelihood(log_policy: Array, demos: Trajectories) -> Array:
    """Mean log-probability of the demonstrated actions, ``mean log pi_t(a_t | s_t)``: a scalar.

    ``log_policy``: ``[S, A]`` stationary or ``[H, S, A]`` time-indexed (step ``t``
    of each trajectory uses row ``t``).
    """
    if log_policy.ndim == 2:
        logp = log_policy[demos.states, demos.actions]
    else:
        t = jnp.arange(demos.max_length)[None, :]
        logp = log_policy[t, demos.states, demos.actions]
    return jnp.sum(jnp.where(demos.mask, logp, 0.0)) / jnp.sum(demos.mask)


def action_negative_log_likelihood(log_policy: Array, demos: Trajectories) -> Array:
    """Negative log-likelihood of the demonstrated actions per step, ``-mean log pi_t(a_t | s_t)``: a scalar."""
    return -action_log_likelihood(log_policy, demos)


class ValueDifference(NamedTuple):
    """Expected value differences (true value of expert minus learner), soft and greedy.

    ``converged``: whether every value iteration behind them reached its tolerance (a bool
    array; always True for finite-horizon MDPs). When it is False the EVD is that of
    policies planned from unconverged values.
    """

    soft: Array
    greedy: Array
    converged: Array


@jax.jit
def optimal_plans(mdp: TabularMDP, reward: Array) -> tuple[Plan, Plan]:
    """The soft-optimal and greedy-optimal plans for ``reward`` (stationary or finite): ``(soft, greedy)``.

    Jitted: called eagerly (per seed, per reward, as the evaluations of a fit do), its value iterations compile
    once per shape, not once per call (each call's loop body is a new function)."""
    if mdp.horizon is None:
        return soft_value_iteration(mdp, reward), value_iteration(mdp, reward)
    return soft_value_iteration_finite(mdp, reward, mdp.horizon), value_iteration_finite(mdp, reward, mdp.horizon)


def optimal_log_policies(mdp: TabularMDP, reward: Array) -> tuple[Array, Array]:
    """The soft-optimal and greedy-optimal log-policies for ``reward`` (stationary or finite)."""
    soft, greedy = optimal_plans(mdp, reward)
    return soft.log_policy, greedy.log_policy


def expected_value_difference(
    mdp: TabularMDP, true_reward: Array, learned_reward: Array
) -> ValueDifference:
    """Expected value difference (Levine et al. 2011) from a uniform start distribution.

    ``EVD = V_true(pi*_true) - V_true(pi*_learned)`` where ``V_true(pi)`` is the
    expected (discounted) sum of the true reward acting by ``pi`` from a uniform
    start, for soft-optimal and for greedy policies. ``true_reward`` and
    ``learned_reward``: ``[S]`` or ``[S, A]``.
    """
    uniform = jnp.full(mdp.num_states, 1.0 / mdp.num_states)
    plans = (*optimal_plans(mdp, true_reward), *optimal_plans(mdp, learned_reward))
    expert_soft, expert_greedy, learner_soft, learner_greedy = (plan.log_policy for plan in plans)
    value = lambda log_pi: policy_value(mdp, jnp.exp(log_pi), true_reward, uniform)
    return ValueDifference(
        soft=value(expert_soft) - value(learner_soft),
        greedy=value(expert_greedy) - value(learner_greedy),
        converged=jnp.all(jnp.stack([plan.converged for plan in plans])),
    )
