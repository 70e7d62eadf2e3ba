"""Feature expectations ``mu(pi) = E_pi[sum_t gamma^t f(s_t, a_t)]``, exact and from demonstrations.

Abbeel & Ng (2004), "Apprenticeship Learning via Inverse Reinforcement Learning",
section 2: a policy's feature expectations determine its value under every reward
linear in the features, ``V(pi) = w^T mu(pi)``. This module computes them

- exactly, from a policy's state-action occupancy measure (finite horizon, time-indexed
  or stationary policies, or the discounted infinite horizon), and
- empirically, from demonstrations: the mean over trajectories of each trajectory's
  discounted feature sum, with its standard error (variable lengths through the mask);
- and, for a policy, the exact expectation of that empirical estimator ("what the
  demonstrations would show had the demonstrator followed ``pi``": the same start
  states, horizon and lengths), which is what feature-matching IRL compares with
  the expert's estimate.

Shapes: ``S`` states, ``A`` actions, ``F`` features, ``N`` trajectories, ``T`` steps.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
from jax import Array

from irlax.data.trajectories import Trajectories, start_distribution
from irlax.envs.tabular import TabularMDP
from irlax.tabular.occupancy import occupancy_discounted, occupancy_finite
from irlax.tabular.planning import DEFAULT_TOLERANCE


def feature_expectations(features: Array, sa_measure: Array) -> Array:
    """``sum_{s,a} measure[s, a] f(s[, a])``: features ``[S, F]`` or ``[S, A, F]``, measure ``[S, A]`` -> ``[F]``."""
    if features.ndim == 2:
        return sa_measure.sum(axis=-1) @ features
    return jnp.einsum("sa,saf->f", sa_measure, features)


def survival(demos: Trajectories) -> Array:
    """``[T]`` fraction of the trajectories still running at each step (1 at step 0)."""
    return jnp.mean(demos.mask.astype(jnp.result_type(float)), axis=0)


def policy_feature_expectations(
    mdp: TabularMDP,
    policy: Array,
    start: Array | None = None,
    *,
    horizon: int | None = None,
    step_weights: Array | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Array:
    """Exact feature expectations ``mu(pi) = sum_t gamma^t w_t E_pi[f(s_t, a_t)]`` of a policy, ``[F]``.

    Abbeel & Ng (2004), eq. (2), from the occupancy measure of ``pi`` (gamma = ``mdp.discount``).

    Args:
        mdp: the MDP.
        policy: ``[S, A]`` stationary or ``[H, S, A]`` time-indexed action probabilities.
        start: ``[S]`` start distribution; ``mdp.initial`` when ``None``.
        horizon: number of steps ``T``; ``None``: ``mdp.horizon``, else a time-indexed policy's
            ``H``, else (stationary policy, no horizon) the discounted infinite horizon.
        step_weights: ``[T]`` weight of each step (e.g. :func:`survival`); all ones when ``None``.
        tolerance: of the infinite-horizon occupancy solve.
    """
    start = mdp.initial if start is None else start
    if horizon is None:
        horizon = mdp.horizon if mdp.horizon is not None else (policy.shape[0] if policy.ndim == 3 else None)
    if horizon is None:
        return feature_expectations(mdp.features, occupancy_discounted(mdp, policy, start, tolerance=tolerance))
    policy = policy[:horizon] if policy.ndim == 3 else policy
    sources = jnp.zeros((horizon, mdp.num_states), start.dtype).at[0].set(start)
    occupancy = occupancy_finite(mdp, policy, sources, discount=mdp.discount)
    if step_weights is not None:
        occupancy = occupancy * step_weights[:, None, None]
    return feature_expectations(mdp.features, occupancy.sum(axis=0))


def expected_demo_feature_expectations(mdp: TabularMDP, policy: Array, demos: Trajectories) -> Array:
    """The expectation of :func:`empirical_feature_expectations` had ``demos`` come from ``policy``, ``[F]``.

    The demonstrations' start states, their ``T`` steps (a time-indexed policy needs
    ``H >= T``) and the fraction still running at each step; gamma = ``mdp.discount``.
    This is the quantity feature-matching IRL compares with the expert's estimate:
    the two agree in expectation whatever the horizon, truncation or lengths.
    """
    start = start_distribution(demos, mdp.num_states)
    return policy_feature_expectations(mdp, policy, start, horizon=demos.max_length, step_weights=survival(demos))


class FeatureEstimate(NamedTuple):
    """Feature expectations estimated from demonstrations.

    Attributes:
        mean: ``[F]`` the estimate ``mu_E``, the mean of the per-trajectory sums.
        standard_error: ``[F]`` its standard error, ``std(ddof=1) / sqrt(N)`` (0 for one trajectory).
        per_trajectory: ``[N, F]`` each trajectory's ``sum_t gamma^t f(s_t, a_t)``.
    """

    mean: Array
    standard_error: Array
    per_trajectory: Array


def discounted_step_weights(demos: Trajectories, discount: float) -> Array:
    """``[N, T]`` weights ``gamma^t`` on each trajectory's real steps, 0 on padding."""
    return jnp.where(demos.mask, discount ** jnp.arange(demos.max_length, dtype=jnp.result_type(float)), 0.0)


def empirical_feature_expectations(features: Array, demos: Trajectories, discount: float) -> FeatureEstimate:
    """``mu_E = 1/N sum_i sum_t gamma^t f(s_t^i, a_t^i)`` and its standard error (Abbeel & Ng 2004, eq. 5).

    Args:
        features: ``[S, F]`` or ``[S, A, F]``.
        demos: ``N`` trajectories of up to ``T`` steps (variable lengths through the mask).
        discount: gamma.
    """
    step_features = features[demos.states] if features.ndim == 2 else features[demos.states, demos.actions]
    per_trajectory = jnp.einsum("nt,ntf->nf", discounted_step_weights(demos, discount), step_features)
    n = demos.num_trajectories
    spread = jnp.std(per_trajectory, axis=0, ddof=1) if n > 1 else jnp.zeros(per_trajectory.shape[1:])
    return FeatureEstimate(per_trajectory.mean(axis=0), spread / jnp.sqrt(n), per_trajectory)


def empirical_visitation(demos: Trajectories, num_states: int, num_actions: int, discount: float) -> Array:
    """Mean discounted state-action visitation of the demonstrations, ``[S, A]``.

    ``1/N sum_i sum_t gamma^t [s_t^i = s, a_t^i = a]``; ``feature_expectations(features, .)``
    of it is the mean of :func:`empirical_feature_expectations`.
    """
    weights = discounted_step_weights(demos, discount) / demos.num_trajectories
    visits = jnp.zeros((num_states, num_actions), weights.dtype)
    return visits.at[demos.states, demos.actions].add(weights)
