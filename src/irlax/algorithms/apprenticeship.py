"""Apprenticeship learning via IRL (Abbeel & Ng, ICML 2004): the max-margin and the projection algorithms.

The expert's feature expectations ``mu_E`` are estimated from the demonstrations
(:func:`~irlax.tabular.feature_expectations.empirical_feature_expectations`). Starting
from the greedy policy ``pi^(0)`` of a random reward, iteration ``i``

1. picks reward weights ``w^(i)`` and a margin ``t^(i)`` from the policies found so far:
   - **max-margin** (section 3): ``max_{t, w} t`` s.t. ``w^T mu_E >= w^T mu^(j) + t`` for all
     ``j < i`` and ``||w||_2 <= 1``, a second-order cone program solved with cvxpy;
   - **projection** (section 3.1): ``mu_bar^(i-1)``, the orthogonal projection of ``mu_E``
     onto the line through ``mu_bar^(i-2)`` and ``mu^(i-1)`` (``mu_bar^(0) = mu^(0)``),
     ``w^(i) = mu_E - mu_bar^(i-1)``, ``t^(i) = ||w^(i)||_2``;
2. stops if ``t^(i) <= epsilon``; else plans ``pi^(i)``, greedy for the reward ``w^(i)^T f``
   (hard value iteration, jitted), and computes ``mu^(i) = mu(pi^(i))``.

It also stops when the new policy does not beat the current margin (``w^T mu^(i)`` no
larger than the bound the margin step set, up to ``stall_tolerance``): then ``t^(i)`` is
already the margin over *all* policies (max-margin) or ``mu_bar`` the closest point of
their convex hull (projection), and further iterations would change nothing. The
returned policy is the paper's mixture: weights ``lambda`` on the simplex minimising
``||mu_E - sum_j lambda_j mu^(j)||_2``, another small convex problem for cvxpy.

The policies' feature expectations are those the expert's estimate is compared with
(:func:`~irlax.tabular.feature_expectations.expected_demo_feature_expectations`: the
demonstrations' start states, number of steps and lengths, gamma = ``mdp.discount``).
``epsilon`` and ``stall_tolerance`` are per unit of the demonstrations' mean
discounted length ``sum_t gamma^t``.

The loop is plain Python around a jitted planner (a solver runs every iteration), so
:func:`fit` is not vmappable; run seeds one after another. cvxpy is imported when a
convex problem is first solved (it takes seconds to import, and most commands need none).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.algorithms.base import Algorithm, TabularData
from irlax.algorithms.tabular_fit import check_demos_for
from irlax.data.trajectories import Trajectories
from irlax.envs.tabular import TabularMDP
from irlax.errors import IrlaxError
from irlax.settings import check_fields
from irlax.tabular.feature_expectations import (
    FeatureEstimate,
    empirical_feature_expectations,
    expected_demo_feature_expectations,
    survival,
)
from irlax.tabular.occupancy import policy_value
from irlax.tabular.planning import DEFAULT_TOLERANCE, value_iteration, value_iteration_finite

SOLVERS = ("CLARABEL", "SCS")


@dataclass(frozen=True)
class ApprenticeshipConfig:
    """The settings both apprenticeship-learning variants share."""

    iterations: int = 30
    """At most this many margin steps (and planned policies after the first)."""
    epsilon: float = 1e-3
    """Stop when the margin ``t <= epsilon`` (per unit of discounted demonstration length)."""
    stall_tolerance: float = 1e-5
    """Stop when a new policy beats the margin's bound by no more than this (same units)."""
    horizon: int | None = None
    """Planning horizon; ``None``: the MDP's (discounted infinite horizon if it has none)."""
    planning_tolerance: float = DEFAULT_TOLERANCE
    """Tolerance of infinite-horizon value iteration."""
    solver: str = "CLARABEL"
    """cvxpy solver of the convex programs (the mixture weights; max-margin's margin step)."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.iterations < 1:
            raise IrlaxError(f"iterations must be at least 1, got {self.iterations}")
        if not (self.epsilon >= 0 and self.stall_tolerance >= 0 and self.planning_tolerance > 0):
            raise IrlaxError("epsilon and stall_tolerance must be non-negative, planning_tolerance positive")
        if self.horizon is not None and self.horizon < 1:
            raise IrlaxError(f"horizon must be a positive integer or None, got {self.horizon}")
        if self.solver not in SOLVERS:
            raise IrlaxError(f"unknown solver {self.solver!r}; choose one of {', '.join(SOLVERS)}")


@dataclass(frozen=True)
class MaxMarginConfig(ApprenticeshipConfig):
    """Configuration of the max-margin algorithm (Abbeel & Ng 2004, section 3)."""


@dataclass(frozen=True)
class ProjectionConfig(ApprenticeshipConfig):
    """Configuration of the projection algorithm (Abbeel & Ng 2004, section 3.1)."""


class ApprenticeshipMetrics(NamedTuple):
    """Per-iteration metrics, ``[I]`` (one per margin step).

    Attributes:
        margin: ``t^(i)``.
        feature_gap: ``||mu_E - mu^(j)||_2`` of the closest policy found so far, ``j < i``.
    """

    margin: Array
    feature_gap: Array


class ApprenticeshipResult(NamedTuple):
    """The outcome of apprenticeship learning: ``I`` margin steps, ``J`` policies (``J = I + 1``, or ``I``
    when the last margin was at most ``epsilon`` and needed no policy).

    Attributes:
        weights: ``[I + 1, F]`` reward weights ``w^(0)`` (random) .. ``w^(I)``.
        margins: ``[I]`` margins ``t^(1)`` .. ``t^(I)``.
        log_policies: ``[J, S, A]`` (or ``[J, H, S, A]`` time-indexed) the policies ``pi^(j)``, greedy for ``w^(j)``.
        feature_expectations: ``[J, F]`` their ``mu^(j)``.
        mixture: ``[J]`` the mixture weights ``lambda`` (on the simplex).
        mixture_feature_expectations: ``[F]`` ``sum_j lambda_j mu^(j)``.
        expert: the expert's estimated feature expectations (``mean [F]``, ``standard_error [F]``).
        reward: ``[S]`` or ``[S, A]`` the reward of the last weights, ``f @ w^(I)``.
        metrics: :class:`ApprenticeshipMetrics`.
        converged: whether the last margin was at most ``epsilon``.
    """

    weights: Array
    margins: Array
    log_policies: Array
    feature_expectations: Array
    mixture: Array
    mixture_feature_expectations: Array
    expert: FeatureEstimate
    reward: Array
    metrics: ApprenticeshipMetrics
    converged: Array


class MarginStep(NamedTuple):
    """One margin step: weights ``w``, margin ``t``, the bound a new policy must beat (``w^T mu > bound``),
    and (projection) the new ``mu_bar``."""

    weights: np.ndarray
    margin: float
    bound: float
    mu_bar: np.ndarray | None = None


def solve_or_raise(problem: Any, solver: str, what: str) -> None:
    """Solve a cvxpy problem; :class:`IrlaxError` unless it reaches an optimal status."""
    import cvxpy as cp

    try:
        problem.solve(solver=solver)
    except cp.error.SolverError as exc:
        raise IrlaxError(f"{what}: solver {solver} failed ({exc})") from None
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise IrlaxError(f"{what}: solver {solver} ended with status {problem.status}")


def max_margin_step(expert: np.ndarray, found: np.ndarray, solver: str = "CLARABEL") -> MarginStep:
    """``max_{t, w} t`` s.t. ``w^T mu_E >= w^T mu_j + t`` for every row ``mu_j`` of ``found [J, F]``, ``||w||_2 <= 1``.

    Abbeel & Ng (2004), eqs. (10)-(12). Returns the weights ``[F]``, the margin ``t`` and
    the bound ``w^T mu_E - t`` that a new policy must exceed to be a violated constraint.
    """
    import cvxpy as cp

    w, t = cp.Variable(expert.shape[0]), cp.Variable()
    gaps = expert[None, :] - found
    problem = cp.Problem(cp.Maximize(t), [gaps @ w >= t, cp.norm(w, 2) <= 1])
    solve_or_raise(problem, solver, "the max-margin step")
    weights = np.asarray(w.value, dtype=np.float64)
    margin = float(np.min(gaps @ weights))  # the margin these weights achieve, free of solver slack
    return MarginStep(weights, margin, float(weights @ expert) - margin)


def projection_step(expert: np.ndarray, mu_bar: np.ndarray | None, newest: np.ndarray) -> MarginStep:
    """The projection algorithm's step (Abbeel & Ng 2004, section 3.1).

    ``mu_bar`` becomes the orthogonal projection of ``mu_E`` onto the segment from the
    previous ``mu_bar`` to ``newest`` (the line's coefficient clipped to [0, 1], so it stays
    in the convex hull of the policies; ``mu_bar = newest`` on the first step, ``mu_bar=None``).
    ``w = mu_E - mu_bar``, ``t = ||w||_2``; a new policy must exceed ``w^T mu_bar``.
    """
    if mu_bar is None:
        mu_bar = newest
    else:
        direction = newest - mu_bar
        length2 = float(direction @ direction)
        step = 0.0 if length2 == 0.0 else float(direction @ (expert - mu_bar)) / length2
        mu_bar = mu_bar + min(max(step, 0.0), 1.0) * direction
    weights = expert - mu_bar
    return MarginStep(weights, float(np.linalg.norm(weights)), float(weights @ mu_bar), mu_bar)


def mixture_weights(expert: np.ndarray, found: np.ndarray, solver: str = "CLARABEL") -> np.ndarray:
    """``lambda = argmin ||mu_E - sum_j lambda_j mu_j||_2`` over the simplex, ``[J]`` (Abbeel & Ng 2004, section 3)."""
    import cvxpy as cp

    lam = cp.Variable(found.shape[0])
    problem = cp.Problem(cp.Minimize(cp.sum_squares(expert - found.T @ lam)), [lam >= 0, cp.sum(lam) == 1])
    solve_or_raise(problem, solver, "the mixture weights")
    weights = np.clip(np.asarray(lam.value, dtype=np.float64), 0.0, None)
    return weights / weights.sum()


@partial(jax.jit, static_argnames=("horizon", "tolerance"))
def greedy_policy_and_features(
    mdp: TabularMDP, weights: Array, demos: Trajectories, *, horizon: int | None, tolerance: float
) -> tuple[Array, Array]:
    """The greedy policy for the reward ``f @ w`` and its feature expectations as the demonstrations would show them.

    Hard value iteration: over ``horizon`` steps (time-indexed ``[H, S, A]``), or the
    discounted infinite horizon for ``horizon=None`` (stationary ``[S, A]``, to ``tolerance``).

    Returns:
        ``(log_policy, mu [F])``.
    """
    reward = mdp.features @ weights.astype(mdp.features.dtype)
    if horizon is None:
        plan = value_iteration(mdp, reward, tolerance=tolerance)
    else:
        plan = value_iteration_finite(mdp, reward, horizon)
    return plan.log_policy, expected_demo_feature_expectations(mdp, plan.policy, demos)


def apprenticeship_horizon(config: ApprenticeshipConfig, mdp: TabularMDP, demos: Trajectories) -> int | None:
    """The planning horizon (config, else MDP); :class:`IrlaxError` if shorter than the demonstrations."""
    horizon = config.horizon if config.horizon is not None else mdp.horizon
    if horizon is not None and horizon < demos.max_length:
        raise IrlaxError(f"demonstrations have {demos.max_length} steps, longer than the horizon {horizon}")
    return horizon


class ApprenticeshipState(NamedTuple):
    """A run between margin steps (host values: the loop solves a convex problem every step).

    Attributes:
        expert: the expert's estimated feature expectations.
        scale: the discounted expected number of steps, which ``epsilon`` and the stall test are relative to.
        weights: the reward weights so far, ``w^(0)`` (random) .. ``w^(i)``.
        policies: the greedy log-policies found so far.
        found: their feature expectations ``mu^(j)``.
        mu_bar: the projection algorithm's current point (``None`` before its first step, and for max-margin).
        done: whether the run has stopped (converged or stalled).
        converged: whether the last margin was at most ``epsilon``.
    """

    expert: FeatureEstimate
    scale: float
    weights: tuple[np.ndarray, ...]
    policies: tuple[Array, ...]
    found: tuple[np.ndarray, ...]
    mu_bar: np.ndarray | None
    done: bool
    converged: bool


def _planner(config: ApprenticeshipConfig, mdp: TabularMDP, demos: Trajectories) -> Any:
    horizon = apprenticeship_horizon(config, mdp, demos)
    return partial(greedy_policy_and_features, mdp, demos=demos, horizon=horizon, tolerance=config.planning_tolerance)


def init(config: ApprenticeshipConfig, key: Array, mdp: TabularMDP, demos: Trajectories) -> ApprenticeshipState:
    """The expert's feature expectations and the first policy, greedy for random unit weights ``w^(0)``."""
    check_demos_for(mdp, demos, None)
    plan = _planner(config, mdp, demos)
    expert_estimate = empirical_feature_expectations(mdp.features, demos, mdp.discount)
    scale = float(jnp.sum(survival(demos) * mdp.discount ** jnp.arange(demos.max_length)))
    weights = np.array(jax.random.normal(key, (mdp.num_features,)), dtype=np.float64)  # a writable copy (x64)
    weights /= np.linalg.norm(weights)
    log_policy, mu = plan(jnp.asarray(weights))
    return ApprenticeshipState(expert_estimate, scale, (weights,), (log_policy,), (np.asarray(mu, np.float64),),
                               None, False, False)


def update(
    config: ApprenticeshipConfig, state: ApprenticeshipState, mdp: TabularMDP, demos: Trajectories, iterations: int
) -> tuple[ApprenticeshipState, ApprenticeshipMetrics]:
    """Up to ``iterations`` more margin steps (fewer once the run stops); metrics of the steps taken.

    Each step picks weights and a margin from the policies so far (max-margin: a cvxpy cone program;
    projection: a projection), stops when the margin is at most ``epsilon``, else plans the greedy policy
    for the new weights, and stops when that policy no longer beats the margin.
    """
    plan = _planner(config, mdp, demos)
    expert = np.asarray(state.expert.mean, dtype=np.float64)
    weights, policies, found = list(state.weights), list(state.policies), list(state.found)
    mu_bar, done, converged = state.mu_bar, state.done, state.converged
    margins: list[float] = []
    gaps: list[float] = []
    for _ in range(iterations):
        if done:
            break
        if isinstance(config, MaxMarginConfig):
            step = max_margin_step(expert, np.stack(found), config.solver)
        else:
            step = projection_step(expert, mu_bar, found[-1])
            mu_bar = step.mu_bar
        weights.append(step.weights)
        margins.append(step.margin)
        gaps.append(min(float(np.linalg.norm(expert - f)) for f in found))
        if step.margin <= config.epsilon * state.scale:
            done = converged = True
            break
        norm = np.linalg.norm(step.weights)
        log_policy, mu = plan(jnp.asarray(step.weights / norm if norm > 0 else step.weights))
        policies.append(log_policy)
        found.append(np.asarray(mu, dtype=np.float64))
        if step.weights @ found[-1] <= step.bound + config.stall_tolerance * state.scale * max(norm, 1e-12):
            done = True
    real = mdp.features.dtype
    new_state = ApprenticeshipState(state.expert, state.scale, tuple(weights), tuple(policies), tuple(found), mu_bar,
                                    done, converged)
    return new_state, ApprenticeshipMetrics(jnp.asarray(margins, real), jnp.asarray(gaps, real))


def result(
    config: ApprenticeshipConfig, state: ApprenticeshipState, mdp: TabularMDP, metrics: ApprenticeshipMetrics
) -> ApprenticeshipResult:
    """The finished run: every ``w``, ``t`` and policy, and the mixture weights ``lambda`` closest to ``mu_E``."""
    expert = np.asarray(state.expert.mean, dtype=np.float64)
    found = np.stack(state.found)
    mixture = mixture_weights(expert, found, config.solver)
    real = mdp.features.dtype
    last = jnp.asarray(state.weights[-1], real)
    margins = jnp.asarray(metrics.margin, real)
    return ApprenticeshipResult(
        weights=jnp.asarray(np.stack(state.weights), real),
        margins=margins,
        log_policies=jnp.stack(state.policies),
        feature_expectations=jnp.asarray(found, real),
        mixture=jnp.asarray(mixture, real),
        mixture_feature_expectations=jnp.asarray(mixture @ found, real),
        expert=state.expert,
        reward=mdp.features @ last,
        metrics=ApprenticeshipMetrics(margins, jnp.asarray(metrics.feature_gap, real)),
        converged=jnp.asarray(state.converged),
    )


def fit(config: ApprenticeshipConfig, key: Array, mdp: TabularMDP, demos: Trajectories) -> ApprenticeshipResult:
    """Apprenticeship learning (Abbeel & Ng 2004): max-margin for a :class:`MaxMarginConfig`, else projection.

    Args:
        config: :class:`MaxMarginConfig` or :class:`ProjectionConfig`.
        key: draws the first policy's random reward weights.
        mdp: the MDP (its features ``[S, F]`` or ``[S, A, F]`` and discount).
        demos: the expert's demonstrations.

    Returns:
        An :class:`ApprenticeshipResult`.
    """
    state, metrics = update(config, init(config, key, mdp, demos), mdp, demos, config.iterations)
    return result(config, state, mdp, metrics)


def make_apprenticeship(config: ApprenticeshipConfig) -> Algorithm:
    """Apprenticeship learning as an :class:`~irlax.algorithms.base.Algorithm` on :class:`TabularData`.

    Not jittable (a solver in the loop): a run's seeds go one after another. ``update`` may stop early.
    """
    name = "max-margin" if isinstance(config, MaxMarginConfig) else "projection"

    def joined_result(state: ApprenticeshipState, data: TabularData, metrics: ApprenticeshipMetrics) -> Any:
        return result(config, state, data.mdp, metrics)

    return Algorithm(
        name=name, config=config, num_steps=config.iterations,
        init=lambda key, data: init(config, key, data.mdp, data.demos),
        update=lambda state, data, n: update(config, state, data.mdp, data.demos, n),
        metrics=ApprenticeshipMetrics,
        policy=lambda state, data: state.policies[-1],
        reward=lambda state, data: data.mdp.features @ jnp.asarray(state.weights[-1], data.mdp.features.dtype),
        result=joined_result, jittable=False,
        description=f"apprenticeship learning, {name} (Abbeel & Ng 2004)",
    )


def mixture_policy_value(
    mdp: TabularMDP, log_policies: Array, mixture: Array, reward: Array, start: Array | None = None
) -> Array:
    """Value of the mixed policy under ``reward``: ``sum_j lambda_j V(pi^(j))`` (Abbeel & Ng 2004, section 3).

    The mixed policy draws ``pi^(j)`` with probability ``lambda_j`` once, at the start, and
    follows it. ``log_policies [J, S, A]`` or ``[J, H, S, A]``, ``mixture [J]``, ``reward [S]`` or
    ``[S, A]``; ``start`` defaults to ``mdp.initial``. A scalar.
    """
    values = jax.lax.map(lambda lp: policy_value(mdp, jnp.exp(lp), reward, start), log_policies)
    return jnp.sum(mixture * values)
