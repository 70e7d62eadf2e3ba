"""Maximum Margin Planning (Ratliff, Bagnell & Zinkevich, ICML 2006).

MMP picks reward weights ``w`` under which the expert's behaviour beats every other
behaviour by a margin that grows with how much that behaviour differs from the
expert's. With ``mu`` a (discounted) state-action visitation, ``mu_E`` the
demonstrations' and ``l(s, a)`` a loss on the state-action pairs the expert did
not take, it minimises the regularised structured hinge loss

    c(w) = max_mu [(F w + l)^T mu] - (F w)^T mu_E + lambda/2 ||w||^2,

(the maximum over the visitations of all policies; the hinge is the slack of the
constraint ``w^T F mu_E >= w^T F mu + l^T mu``, so a suboptimal expert only costs
slack). The maximisation is *loss-augmented planning*: hard value iteration for
the reward ``F w + l``. A subgradient is ``F^T (mu* - mu_E) + lambda w`` with
``mu*`` the visitation of the loss-augmented optimal policy, and the weights take
subgradient steps of size ``alpha_0 / sqrt(t + 1)`` (the paper's section 3).

Here the visitations follow the demonstrations: every trajectory starts where its
demonstration started and lasts as long (the plan is end-aligned, as in
:mod:`irlax.algorithms.maxent`, so variable lengths are exact), with
gamma = ``mdp.discount``. Loss and gradient are divided by the demonstrations'
mean discounted length, so the step size does not depend on the horizon.

The run is :mod:`irlax.algorithms.tabular_fit`'s loop (one ``lax.scan``; jit and
vmap work) with this objective and a subgradient-descent optimiser; the metric
``log_likelihood`` holds the objective it ascends, the negative hinge loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax.numpy as jnp
import optax
from jax import Array

from irlax.algorithms.tabular_fit import (
    Problem,
    TabularIRLResult,
    check_demos_for,
    fit_problem,
    validated_jit,
)
from irlax.data.trajectories import Trajectories, end_aligned_step_counts
from irlax.envs.tabular import TabularMDP, state_action_reward
from irlax.errors import IrlaxError
from irlax.metrics.tabular import feature_expectation_gap
from irlax.rewards.base import RewardModel
from irlax.rewards.linear import linear_reward
from irlax.settings import check_fields
from irlax.tabular.feature_expectations import empirical_visitation
from irlax.tabular.occupancy import occupancy_finite
from irlax.tabular.planning import value_iteration_finite


@dataclass(frozen=True)
class MMPConfig:
    """Configuration of Maximum Margin Planning."""

    iterations: int = 100
    """Number of subgradient steps."""
    learning_rate: float = 0.5
    """``alpha_0`` of the step size ``alpha_0 / sqrt(t + 1)``."""
    l2: float = 0.0
    """The regulariser ``lambda`` of ``lambda/2 ||w||^2`` (weight decay)."""
    loss_scale: float = 1.0
    """The margin's loss per step on a state-action pair the expert did not take."""
    horizon: int | None = None
    """Planning horizon; ``None``: the longest demonstration (it must be at least that)."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.iterations < 1:
            raise IrlaxError(f"iterations must be at least 1, got {self.iterations}")
        if not self.learning_rate > 0:
            raise IrlaxError(f"learning_rate must be positive, got {self.learning_rate}")
        if not (self.l2 >= 0 and self.loss_scale >= 0):
            raise IrlaxError(f"l2 and loss_scale must be non-negative, got {self.l2} and {self.loss_scale}")


def expert_loss(expert_visitation: Array, scale: float) -> Array:
    """The margin's loss ``l [S, A]``: ``scale`` on every state-action pair the demonstrations never took, else 0."""
    return jnp.where(expert_visitation > 0, 0.0, scale).astype(expert_visitation.dtype)


def mmp_hinge_and_subgradient(
    mdp: TabularMDP, reward: Array, expert_visitation: Array, starts: Array, loss: Array
) -> tuple[Array, Array, Array]:
    """The structured hinge loss of Ratliff et al. (2006), a subgradient, the loss-augmented policy.

    Args:
        mdp: the MDP (gamma = ``mdp.discount``).
        reward: ``[S]`` or ``[S, A]`` the reward ``F w``.
        expert_visitation: ``[S, A]`` mean discounted visitation of the demonstrations.
        starts: ``[H, S]`` end-aligned start distribution (where each trajectory starts, per step).
        loss: ``[S, A]`` the margin's loss (:func:`expert_loss`).

    Returns:
        ``(max_mu (r + l)^T mu - r^T mu_E, d/dr [S, A] = mu* - mu_E, log_policy [H, S, A])``:
        the maximum over policies from ``starts`` (loss-augmented value iteration) and
        ``mu*`` the visitation of the loss-augmented greedy policy.
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    plan = value_iteration_finite(mdp, reward_sa + loss, starts.shape[0])
    visitation = occupancy_finite(mdp, plan.policy, starts, discount=mdp.discount).sum(axis=0)
    hinge = jnp.sum(starts * plan.v[:-1]) - jnp.sum(expert_visitation * reward_sa)
    return hinge, visitation - expert_visitation, plan.log_policy


def mmp_objective(
    mdp: TabularMDP, expert_visitation: Array, starts: Array, loss: Array, reward: Array
) -> tuple[Array, Array, Array]:
    """The objective for :mod:`irlax.algorithms.tabular_fit`: minus the hinge per unit visitation, its gradient."""
    hinge, subgradient, log_policy = mmp_hinge_and_subgradient(mdp, reward, expert_visitation, starts, loss)
    mass = jnp.sum(expert_visitation)
    return -hinge / mass, -subgradient / mass, log_policy


def subgradient_optimizer(config: MMPConfig) -> optax.GradientTransformation:
    """Steps ``-alpha_0 / sqrt(t + 1) * (g + lambda w)`` (Ratliff et al. 2006, section 3)."""
    schedule = lambda t: config.learning_rate / jnp.sqrt(t + 1.0)
    return optax.chain(optax.add_decayed_weights(config.l2), optax.sgd(schedule))


def mmp_horizon(config: MMPConfig, demos: Trajectories) -> int:
    """The planning horizon: the config's, else the longest demonstration."""
    return config.horizon or demos.max_length


def problem(
    config: MMPConfig, mdp: TabularMDP, demos: Trajectories, reward_model: RewardModel | None = None
) -> Problem:
    """The MMP problem for :mod:`irlax.algorithms.tabular_fit` (a linear reward by default)."""
    horizon = mmp_horizon(config, demos)
    check_demos_for(mdp, demos, horizon)
    _, starts = end_aligned_step_counts(demos, mdp.num_states, mdp.num_actions, horizon)
    visitation = empirical_visitation(demos, mdp.num_states, mdp.num_actions, mdp.discount)
    loss = expert_loss(visitation, config.loss_scale)
    objective = partial(mmp_objective, mdp, visitation, starts / demos.num_trajectories, loss)
    gap = lambda log_policy: feature_expectation_gap(mdp, log_policy, demos, mdp.discount)
    return Problem(objective, reward_model or linear_reward(), mdp.features, subgradient_optimizer(config), gap)


def fit(
    config: MMPConfig,
    key: Array,
    mdp: TabularMDP,
    demos: Trajectories,
    reward_model: RewardModel | None = None,
) -> TabularIRLResult:
    """Fit a reward by Maximum Margin Planning (Ratliff, Bagnell & Zinkevich 2006); a linear reward by default.

    Pure in ``(config, key, mdp, demos)``: ``jax.jit(fit, static_argnums=(0, 4))`` and
    ``jax.vmap`` work. The result's ``log_policy [H, S, A]`` is the greedy policy for
    the learned reward (without the loss); its metrics are per step: ``log_likelihood``
    the negative hinge loss per unit visitation (before the step), ``feature_gap`` the
    loss-augmented policy's feature-expectation gap.
    """
    result = fit_problem(problem(config, mdp, demos, reward_model), key, config.iterations)
    plan = value_iteration_finite(mdp, result.reward, mmp_horizon(config, demos))
    return result._replace(log_policy=plan.log_policy)


fit_jit = validated_jit(fit)
