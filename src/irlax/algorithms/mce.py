"""Maximum causal entropy IRL (Ziebart, Bagnell & Dey 2010).

The expert is modelled as soft-optimal: ``pi(a|s) = exp(Q(s, a) - V(s))`` from
soft value iteration (finite horizon, time-indexed; or discounted, stationary).
We maximise the exact log-likelihood of the demonstrated actions,
``L(r) = sum_i sum_t log pi_t(a_t | s_t)``, whose gradient with respect to the
reward table is

    dL/dr(s, a) = N(s, a) - D_sigma(s, a),

``N`` the demonstrated visit counts and ``D_sigma`` the occupancy of ``pi``
driven by the sources ``sigma_t(s) = N_t(s) - gamma * sum_{s',a'} N_{t-1}(s', a') P(s|s', a')``
(where each demonstrated step left off, minus where the model expected it to go).
With exact expert statistics this is Ziebart's "expert feature counts minus
expected feature counts" from the start distribution; with finite demonstrations
it is the unbiased likelihood gradient, and it handles variable-length
trajectories and truncated demonstrations of infinite-horizon problems exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

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
from irlax.data.trajectories import Trajectories, step_counts
from irlax.envs.tabular import TabularMDP
from irlax.metrics.tabular import feature_expectation_gap
from irlax.rewards.base import RewardModel
from irlax.rewards.linear import linear_reward
from irlax.tabular.occupancy import occupancy_discounted, occupancy_finite, predicted_next_states
from irlax.tabular.planning import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_TOLERANCE,
    soft_value_iteration,
    soft_value_iteration_finite,
)


@dataclass(frozen=True)
class MCEConfig(GradientConfig):
    """Configuration of MCE IRL."""

    horizon: int | None = None
    """Planning horizon; ``None`` uses the MDP's (discounted infinite horizon if it has none)."""
    tolerance: float = DEFAULT_TOLERANCE
    """Tolerance of infinite-horizon soft value iteration and occupancy solves."""
    max_planning_iterations: int = DEFAULT_MAX_ITERATIONS
    """Cap on the iterations of an infinite-horizon solve."""


def mce_sources(mdp: TabularMDP, counts: Array, discount: float) -> Array:
    """Sources ``sigma`` of the likelihood gradient's forward pass.

    ``counts [H, S, A]`` per step -> ``[H, S]``; ``counts [S, A]`` (summed over
    steps, infinite horizon) -> ``[S]``. See the module docstring.
    """
    arrived = counts.sum(axis=-1)
    predicted = predicted_next_states(mdp, counts)
    if counts.ndim == 2:
        return arrived - discount * predicted
    shifted = jnp.concatenate([jnp.zeros_like(predicted[:1]), predicted[:-1]], axis=0)
    return arrived - discount * shifted


def mce_log_likelihood_and_grad(
    mdp: TabularMDP,
    reward: Array,
    counts: Array,
    *,
    horizon: int | None,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    sources: Array | None = None,
) -> tuple[Array, Array, Array]:
    """The MCE demonstration log-likelihood, its exact gradient and the soft-optimal policy.

    Args:
        mdp: the MDP (its discount is used).
        reward: ``[S]`` or ``[S, A]``.
        counts: demonstrated (s, a) counts, ``[H, S, A]`` per step for a finite
            ``horizon`` or ``[S, A]`` summed over steps for ``horizon=None``.
            Fractional (expected) counts are allowed.
        horizon: ``H``, or ``None`` for the discounted infinite horizon.
        sources: :func:`mce_sources` of ``counts``, if the caller has them (they
            depend on the demonstrations only, not on the reward).

    Returns:
        ``(log_likelihood, grad [S, A], log_policy)`` with ``log_policy`` ``[H, S, A]``
        or ``[S, A]``.
    """
    sources = mce_sources(mdp, counts, mdp.discount) if sources is None else sources
    if horizon is None:
        plan = soft_value_iteration(mdp, reward, tolerance=tolerance, max_iterations=max_iterations)
        occupancy = occupancy_discounted(
            mdp, plan.policy, sources, tolerance=tolerance, max_iterations=max_iterations
        )
        return jnp.sum(counts * plan.log_policy), counts - occupancy, plan.log_policy
    plan = soft_value_iteration_finite(mdp, reward, horizon)
    occupancy = occupancy_finite(mdp, plan.policy, sources, discount=mdp.discount)
    grad = counts.sum(axis=0) - occupancy.sum(axis=0)
    return jnp.sum(counts * plan.log_policy), grad, plan.log_policy


def mce_counts(mdp: TabularMDP, demos: Trajectories, horizon: int | None) -> Array:
    """Demonstration counts in the layout :func:`mce_log_likelihood_and_grad` takes, per trajectory."""
    counts = step_counts(demos, mdp.num_states, mdp.num_actions, horizon or demos.max_length)
    counts = counts / demos.num_trajectories
    return counts.sum(axis=0) if horizon is None else counts


def mce_objective(mdp: TabularMDP, counts: Array, config: MCEConfig, horizon: int | None, reward: Array):
    """:func:`mce_log_likelihood_and_grad` with the config's solver settings (for :func:`fit_reward`)."""
    return mce_log_likelihood_and_grad(
        mdp, reward, counts, horizon=horizon,
        tolerance=config.tolerance, max_iterations=config.max_planning_iterations,
    )


def planning_horizon(config_horizon: int | None, mdp: TabularMDP) -> int | None:
    """The horizon a run plans over: the config's, else the MDP's (``None``: discounted infinite)."""
    return config_horizon if config_horizon is not None else mdp.horizon


def problem(
    config: MCEConfig, mdp: TabularMDP, demos: Trajectories, reward_model: RewardModel | None = None
) -> Problem:
    """The MCE IRL problem for :mod:`irlax.algorithms.tabular_fit` (a linear reward by default)."""
    horizon = planning_horizon(config.horizon, mdp)
    check_demos_for(mdp, demos, horizon)
    objective = partial(mce_objective, mdp, mce_counts(mdp, demos, horizon), config, horizon)
    gap = lambda log_policy: feature_expectation_gap(mdp, log_policy, demos, mdp.discount)
    optimizer = optimizer_for(config)
    return Problem(objective, reward_model or linear_reward(), mdp.features, optimizer, gap)


def fit(
    config: MCEConfig,
    key: Array,
    mdp: TabularMDP,
    demos: Trajectories,
    reward_model: RewardModel | None = None,
) -> TabularIRLResult:
    """Fit a reward by MCE IRL (Ziebart et al. 2010); a linear reward by default.

    Pure in ``(config, key, mdp, demos)``: ``jax.jit(fit, static_argnums=(0, 4))``
    and ``jax.vmap`` over keys, MDPs and demonstrations work.
    """
    return fit_problem(problem(config, mdp, demos, reward_model), key, config.iterations)


fit_jit = validated_jit(fit)
