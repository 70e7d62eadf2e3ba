"""Maximum Entropy IRL (Ziebart, Maas, Bagnell & Dey 2008).

The trajectory model ``p(tau | s_0) = prod_t P(s_{t+1}|s_t, a_t) exp(sum_t r(s_t, a_t)) / Z(s_0)``
over trajectories of the demonstrated length (undiscounted, as in the paper).
The log partition functions come from the log-space backward pass
(:func:`~irlax.tabular.planning.maxent_backward_pass`) and the gradient of the exact
log-likelihood ``sum_i [R(tau_i) - log Z(s_0^i)]`` is the demonstrated visit
counts minus the expected counts of the model, a forward pass from the
demonstrations' start states under the model's policy *and its tilted
transitions* ``P(s'|s, a) Z(s') / sum``.

Why it differs from MCE IRL on stochastic dynamics: ``log Z`` sums ``exp`` of
future rewards over next states (``log E[exp V]``) where MCE takes the
expectation of the value (``E[V]``); by Jensen the 2008 model is optimistic,
as if the agent could pick its transitions. On deterministic dynamics the two
are the same model. (The paper's forward pass uses the untilted dynamics, an
approximation; here the gradient is exact.)

Variable-length demonstrations are aligned to *end* at the horizon, so that one
backward pass gives the partition function of every length.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
from jax import Array

from irlax.algorithms.tabular_fit import (
    GradientConfig,
    Problem,
    TabularIRLResult,
    check_demos_for,
    fit_problem,
    optimizer_for,
    validated_jit,
)
from irlax.data.trajectories import Trajectories, end_aligned_step_counts
from irlax.envs.tabular import TabularMDP, state_action_reward
from irlax.metrics.tabular import feature_expectation_gap
from irlax.rewards.base import RewardModel
from irlax.rewards.linear import linear_reward
from irlax.tabular.occupancy import occupancy_finite
from irlax.tabular.planning import maxent_backward_pass, maxent_backward_pass_normalised


@dataclass(frozen=True)
class MaxEntConfig(GradientConfig):
    """Configuration of MaxEnt IRL (2008)."""

    horizon: int | None = None
    """Horizon of the trajectory model; ``None``: the longest demonstration."""


def maxent_log_likelihood_and_grad(
    mdp: TabularMDP, reward: Array, counts: Array, starts: Array
) -> tuple[Array, Array, Array]:
    """The MaxEnt-2008 log-likelihood (up to a reward-free constant), its gradient, the policy.

    Args:
        mdp: the MDP.
        reward: ``[S]`` or ``[S, A]``.
        counts: ``[H, S, A]`` end-aligned demonstrated counts.
        starts: ``[H, S]`` end-aligned start states
            (:func:`~irlax.data.trajectories.end_aligned_step_counts`).

    Returns:
        ``(sum_i [R(tau_i) - log Z(s_0^i)], grad [S, A], log_policy [H, S, A])``.
    """
    horizon = counts.shape[0]
    # Values shifted per step (log Z = plan.v + offsets): the policy and the tilted transitions
    # need them only up to a constant, and stay exact where log Z is too large for float32.
    plan, offsets = maxent_backward_pass_normalised(mdp, reward, horizon)
    reward_sa = state_action_reward(reward, mdp.num_actions)
    log_z = jnp.sum(starts * plan.v[:-1]) + jnp.sum(starts.sum(axis=1) * offsets[:-1])
    log_likelihood = jnp.sum(counts.sum(axis=0) * reward_sa) - log_z
    occupancy = occupancy_finite(mdp, plan.policy, starts, tilt_values=plan.v)
    return log_likelihood, counts.sum(axis=0) - occupancy.sum(axis=0), plan.log_policy


def maxent_log_partition(mdp: TabularMDP, reward: Array, horizon: int) -> Array:
    """``log Z(s)`` of all ``horizon``-step trajectories from each state, ``[S]``."""
    return maxent_backward_pass(mdp, reward, horizon).v[0]


def problem(
    config: MaxEntConfig, mdp: TabularMDP, demos: Trajectories, reward_model: RewardModel | None = None
) -> Problem:
    """The MaxEnt IRL problem for :mod:`irlax.algorithms.tabular_fit` (a linear reward by default)."""
    horizon = config.horizon or demos.max_length
    check_demos_for(mdp, demos, horizon)
    counts, starts = end_aligned_step_counts(demos, mdp.num_states, mdp.num_actions, horizon)
    n = demos.num_trajectories
    objective = lambda reward: maxent_log_likelihood_and_grad(mdp, reward, counts / n, starts / n)
    gap = lambda log_policy: feature_expectation_gap(mdp, log_policy, demos, 1.0)
    optimizer = optimizer_for(config)
    return Problem(objective, reward_model or linear_reward(), mdp.features, optimizer, gap)


def fit(
    config: MaxEntConfig,
    key: Array,
    mdp: TabularMDP,
    demos: Trajectories,
    reward_model: RewardModel | None = None,
) -> TabularIRLResult:
    """Fit a reward by MaxEnt IRL (Ziebart et al. 2008); a linear reward by default.

    Pure in ``(config, key, mdp, demos)``; jit- and vmap-able like :func:`irlax.algorithms.mce.fit`.
    """
    return fit_problem(problem(config, mdp, demos, reward_model), key, config.iterations)


fit_jit = validated_jit(fit)
