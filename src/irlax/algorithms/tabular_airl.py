"""Exact tabular adversarial IRL (Fu, Luo & Levine 2018), on a known MDP with deterministic dynamics.

AIRL's discriminator is ``D(s, a, s') = exp f(s, a, s') / (exp f(s, a, s') + pi(a|s))``, so its logit is
``f - log pi(a|s)``, with

    f(s, a, s') = g(s) + gamma h(s') - h(s)        (state-only, ``state_only=True``)
    f(s, a, s') = g(s, a) + gamma h(s') - h(s)     (state-action, ``state_only=False``)

The paper's ablation compares these two forms (the state-action one keeps the shaping term ``h``; with
deterministic dynamics ``g(s, a)`` could absorb it, which is exactly why that form does not disentangle).
At the game's equilibrium ``D = 1/2`` and ``f = log pi_E = Q*(s, a) - V*(s)``, the expert's soft advantage;
with a state-only ``g`` and deterministic dynamics, the paper's theorem gives ``g = r + const`` (the true
reward) and ``h = V* + const`` (the soft value, i.e. the shaping), so ``g`` is the reward that transfers to
new dynamics. A state-action ``g(s, a)`` can learn the advantage itself, which depends on the dynamics.

This module runs AIRL without samples. The expert data is the expert's exact normalised discounted
state-action occupancy ``rho_E`` (a soft-optimal expert: :func:`soft_optimal_occupancy`); with
deterministic dynamics the successor ``s' = T(s, a)`` of each pair is known, so every function of
``(s, a, s')`` is a table ``[S, A]``. Each step alternates, as AIRL prescribes:

1. discriminator steps: ``discriminator_steps`` optimiser steps on the exact logistic loss
   (:func:`discriminator_loss`), expert occupancy as positives and the current policy's exact occupancy
   as negatives::

       L(g, h) = sum_{s,a} rho_E(s, a) softplus(-(f - log pi)) + rho_pi(s, a) softplus(f - log pi)

2. the policy update: the policy is trained on the reward ``log D - log(1 - D) = f - log pi``. With the
   ``pi`` inside ``D`` the policy being trained, its return ``E_pi[sum_t gamma^t (f - log pi)]`` is the
   entropy-regularised (temperature 1) return of ``f`` (the AIRL identity), so the best policy is the
   soft-optimal policy for ``f``. Here it is computed exactly, by soft value iteration on ``f`` to the
   planner's tolerance, not by a few soft policy-iteration steps: the policy is always the best response to
   the current discriminator. (Holding the ``pi`` inside the reward fixed and adding an entropy bonus on
   top would count the entropy twice: at ``pi = pi_f`` that reward is ``V_f(s) - gamma V_f(s')``, a pure
   shaping, whose soft-optimal policy ignores ``f``.)

The entropy temperature is fixed at 1, the expert's. The state is a :class:`TabularAIRLState` (``g``,
``h``, the log-policy, the optimiser state); ``g`` and ``h`` start at zero, so there is no randomness.
A whole run (:func:`fit`) is one ``lax.scan`` and can be jitted (the config static) and vmapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

# (no import of irlax.algorithms.airl or irlax.rewards: those start JAX's backend on import, and ``import irlax``
# must not, so that the ``irlax`` command can still give JAX one CPU device per core; see irlax.cli)
from irlax.algorithms.tabular_fit import OPTIMIZERS, is_concrete
from irlax.envs.tabular import TabularMDP, state_action_reward
from irlax.errors import IrlaxError
from irlax.settings import check_fields
from irlax.tabular.occupancy import occupancy_discounted
from irlax.tabular.planning import DEFAULT_MAX_ITERATIONS, DEFAULT_TOLERANCE, soft_value_iteration

DESCRIPTION = "exact tabular adversarial IRL with a disentangled reward (Fu, Luo & Levine 2018)"


@dataclass(frozen=True)
class TabularAIRLConfig:
    """Configuration of exact tabular AIRL. The entropy temperature is fixed at 1."""

    steps: int = 1000
    """Alternations of discriminator steps and policy update."""
    discriminator_steps: int = 1
    """Optimiser steps on the discriminator loss per alternation."""
    learning_rate: float = 0.2
    """Step size of the discriminator's optimiser."""
    final_learning_rate: float = 0.02
    """Step size at the last alternation; the step size decays geometrically from ``learning_rate`` to it."""
    optimizer: str = "adam"
    """``adam`` or ``sgd``."""
    state_only: bool = True
    """``g(s)`` (disentangled) if true, else ``g(s, a)``."""
    discount: float | None = None
    """gamma in (0, 1); ``None``: the MDP's."""
    tolerance: float = DEFAULT_TOLERANCE
    """Tolerance of soft value iteration and of the occupancy solves."""
    max_planning_iterations: int = DEFAULT_MAX_ITERATIONS
    """Cap on the iterations of each solve."""

    def __post_init__(self) -> None:
        check_fields(self)
        if self.discount is not None and not self.discount < 1:
            raise IrlaxError(f"discount must be in (0, 1) for discounted AIRL, got {self.discount}")
        if self.final_learning_rate > self.learning_rate:
            raise IrlaxError(
                f"final_learning_rate ({self.final_learning_rate}) must not exceed learning_rate "
                f"({self.learning_rate})"
            )
        if self.optimizer not in OPTIMIZERS:
            raise IrlaxError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")


class TabularAIRLState(NamedTuple):
    """The state of a run between alternations.

    Attributes:
        g: ``[S]`` (state-only) or ``[S, A]`` reward term.
        h: ``[S]`` shaping (potential) term.
        log_policy: ``[S, A]`` the current policy, soft-optimal for the current ``f``.
        opt_state: the discriminator optimiser's state over ``(g, h)``.
    """

    g: Array
    h: Array
    log_policy: Array
    opt_state: optax.OptState


class TabularAIRLMetrics(NamedTuple):
    """Per-alternation metrics, each ``[steps]``.

    Attributes:
        loss: the discriminator loss after its steps (against the policy it was trained against).
        expert_accuracy: expert-occupancy mass where ``D > 1/2``.
        policy_accuracy: policy-occupancy mass where ``D < 1/2``.
        occupancy_gap: total-variation distance between the expert's and the new policy's normalised
            state-action occupancies.
        planning_converged: whether soft value iteration reached its tolerance.
    """

    loss: Array
    expert_accuracy: Array
    policy_accuracy: Array
    occupancy_gap: Array
    planning_converged: Array


class TabularAIRLResult(NamedTuple):
    """The outcome of a run.

    Attributes:
        g: the recovered reward, ``[S]`` (state-only) or ``[S, A]``.
        h: ``[S]`` the shaping term (the soft value up to a constant at the optimum).
        log_policy: ``[S, A]`` the final policy (soft-optimal for the final ``f``).
        metrics: :class:`TabularAIRLMetrics`.
    """

    g: Array
    h: Array
    log_policy: Array
    metrics: TabularAIRLMetrics


# -- validation -------------------------------------------------------------------------------------------------


def deterministic_successors(mdp: TabularMDP) -> Array:
    """The successor ``T(s, a)`` of every pair of an MDP with deterministic dynamics: ``[S, A]`` int32.

    Each ``(s, a)``'s successor list may repeat its one state or pad with probability 0. Checked when the
    arrays hold values (not inside ``jit``).

    Raises:
        IrlaxError: some ``(s, a)`` has two different successors with positive probability.
    """
    if is_concrete(mdp.next_states, mdp.next_probs):
        states, probs = np.asarray(mdp.next_states), np.asarray(mdp.next_probs)
        first = np.take_along_axis(states, np.argmax(probs, axis=-1)[..., None], axis=-1)
        other = (probs > 0) & (states != first)
        if other.any():
            s, a, _ = np.argwhere(other)[0]
            raise IrlaxError(f"tabular AIRL needs deterministic dynamics; (s, a) = ({s}, {a}) has several successors")
    best = jnp.argmax(mdp.next_probs, axis=-1)
    return jnp.take_along_axis(mdp.next_states, best[..., None], axis=-1)[..., 0]


def check_inputs(config: TabularAIRLConfig, mdp: TabularMDP, expert_occupancy: Array) -> None:
    """Raise a one-line :class:`IrlaxError` unless ``mdp`` and ``expert_occupancy`` suit :func:`fit`.

    The dynamics must be deterministic, the discount (config's, else the MDP's) in (0, 1), and the
    occupancy a finite, non-negative ``[S, A]`` array with positive mass. Skipped for traced values.
    """
    discount_for(config, mdp)
    deterministic_successors(mdp)
    if not is_concrete(expert_occupancy):
        return
    occupancy = np.asarray(expert_occupancy)
    shape = (mdp.num_states, mdp.num_actions)
    if occupancy.shape != shape:
        raise IrlaxError(f"expert occupancy must have shape [S={shape[0]}, A={shape[1]}], got {occupancy.shape}")
    if occupancy.dtype.kind not in "uif":
        raise IrlaxError(f"expert occupancy must hold real numbers, got dtype {occupancy.dtype}")
    if not np.isfinite(occupancy).all():
        raise IrlaxError("expert occupancy contains NaN or inf")
    if (occupancy < 0).any():
        raise IrlaxError("expert occupancy has negative entries")
    if not occupancy.sum() > 0:
        raise IrlaxError("expert occupancy has no mass")


def discount_for(config: TabularAIRLConfig, mdp: TabularMDP) -> float:
    """The discount a run uses: the config's, else the MDP's; it must be below 1."""
    gamma = mdp.discount if config.discount is None else config.discount
    if not 0 < gamma < 1:
        raise IrlaxError(f"tabular AIRL is discounted: the discount must be in (0, 1), got {gamma}")
    return gamma


def with_discount(config: TabularAIRLConfig, mdp: TabularMDP) -> TabularMDP:
    """``mdp`` with the run's discount and no finite horizon (the planners read both from the MDP)."""
    return mdp.replace(discount=discount_for(config, mdp), horizon=None)


# -- the pieces -------------------------------------------------------------------------------------------------


def shaped_reward(g: Array, h: Array, successors: Array, discount: float) -> Array:
    """AIRL's ``f(s, a, T(s, a)) = g + gamma h(s') - h(s)`` for every pair: ``[S, A]``.

    Args:
        g: ``[S]`` or ``[S, A]``.
        h: ``[S]``.
        successors: ``[S, A]`` the deterministic successors (:func:`deterministic_successors`).
        discount: gamma.
    """
    return state_action_reward(g, successors.shape[1]) + discount * h[successors] - h[:, None]


def discriminator_logits(f: Array, log_policy: Array) -> Array:
    """``log D - log(1 - D) = f - log pi(a|s)``, the logit of AIRL's discriminator: ``[S, A]``."""
    return f - log_policy


def discriminator_loss(
    params: tuple[Array, Array],
    successors: Array,
    discount: float,
    log_policy: Array,
    expert_occupancy: Array,
    policy_occupancy: Array,
) -> Array:
    """The exact logistic loss of AIRL's discriminator, a scalar.

    ``sum rho_E softplus(-logit) + sum rho_pi softplus(logit)``: the expected ``-log D`` on expert pairs
    plus ``-log(1 - D)`` on the policy's, each occupancy normalised to sum to 1. ``log_policy`` and the
    occupancies are constants of the loss (the policy is the generator, not the discriminator).

    Args:
        params: ``(g, h)``.
        successors: ``[S, A]`` deterministic successors.
        discount: gamma.
        log_policy: ``[S, A]`` the policy inside ``D``.
        expert_occupancy, policy_occupancy: ``[S, A]`` non-negative (normalised here).
    """
    g, h = params
    logits = discriminator_logits(shaped_reward(g, h, successors, discount), log_policy)
    expert = expert_occupancy / jnp.sum(expert_occupancy)
    policy = policy_occupancy / jnp.sum(policy_occupancy)
    return jnp.sum(expert * jax.nn.softplus(-logits)) + jnp.sum(policy * jax.nn.softplus(logits))


def soft_optimal_policy(mdp: TabularMDP, reward: Array, config: TabularAIRLConfig | None = None):
    """The soft-optimal (temperature 1) policy for ``reward`` ``[S]`` or ``[S, A]``: the :class:`Plan`.

    Soft value iteration with the MDP's discount (call it on :func:`with_discount`'s MDP).
    """
    config = config or TabularAIRLConfig()
    return soft_value_iteration(mdp, reward, tolerance=config.tolerance, max_iterations=config.max_planning_iterations)


def normalised_occupancy(mdp: TabularMDP, policy: Array, config: TabularAIRLConfig | None = None) -> Array:
    """The discounted state-action occupancy of ``policy`` from ``mdp.initial``, normalised to sum 1: ``[S, A]``."""
    config = config or TabularAIRLConfig()
    occupancy = occupancy_discounted(mdp, policy, mdp.initial, tolerance=config.tolerance,
                                     max_iterations=config.max_planning_iterations)
    return occupancy / jnp.sum(occupancy)


def soft_optimal_occupancy(mdp: TabularMDP, reward: Array, config: TabularAIRLConfig | None = None) -> Array:
    """The exact expert data: the normalised occupancy ``[S, A]`` of the soft-optimal policy for ``reward``.

    Uses the config's discount (else the MDP's), as :func:`fit` does.
    """
    config = config or TabularAIRLConfig()
    mdp = with_discount(config, mdp)
    return normalised_occupancy(mdp, soft_optimal_policy(mdp, reward, config).policy, config)


def optimizer_for(config: TabularAIRLConfig) -> optax.GradientTransformation:
    """The discriminator's optimiser, its step size decaying geometrically to ``final_learning_rate``."""
    total = config.steps * config.discriminator_steps
    schedule = optax.exponential_decay(config.learning_rate, total, config.final_learning_rate / config.learning_rate)
    return optax.adam(schedule) if config.optimizer == "adam" else optax.sgd(schedule)


# -- the loop ---------------------------------------------------------------------------------------------------


def init(config: TabularAIRLConfig, mdp: TabularMDP) -> TabularAIRLState:
    """``g = h = 0`` and the soft-optimal policy for ``f = 0``."""
    mdp = with_discount(config, mdp)
    g = jnp.zeros(mdp.num_states if config.state_only else (mdp.num_states, mdp.num_actions), mdp.next_probs.dtype)
    h = jnp.zeros(mdp.num_states, mdp.next_probs.dtype)
    log_policy = soft_optimal_policy(mdp, jnp.zeros_like(g), config).log_policy
    return TabularAIRLState(g, h, log_policy, optimizer_for(config).init((g, h)))


def step(
    config: TabularAIRLConfig, mdp: TabularMDP, expert_occupancy: Array, state: TabularAIRLState
) -> tuple[TabularAIRLState, TabularAIRLMetrics]:
    """One alternation: the current policy's exact occupancy, discriminator steps, the exact policy update."""
    mdp = with_discount(config, mdp)
    successors = deterministic_successors(mdp)
    optimizer = optimizer_for(config)
    expert = expert_occupancy / jnp.sum(expert_occupancy)
    policy = normalised_occupancy(mdp, jnp.exp(state.log_policy), config)
    loss_fn = lambda params: discriminator_loss(params, successors, mdp.discount, state.log_policy, expert, policy)

    def discriminator_step(carry, _):
        params, opt_state = carry
        grads = jax.grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    ((g, h), opt_state), _ = jax.lax.scan(
        discriminator_step, ((state.g, state.h), state.opt_state), None, length=config.discriminator_steps
    )
    f = shaped_reward(g, h, successors, mdp.discount)
    logits = discriminator_logits(f, state.log_policy)
    plan = soft_optimal_policy(mdp, f, config)
    new_policy = normalised_occupancy(mdp, plan.policy, config)
    metrics = TabularAIRLMetrics(
        loss=loss_fn((g, h)),
        expert_accuracy=jnp.sum(expert * (logits > 0)),
        policy_accuracy=jnp.sum(policy * (logits < 0)),
        occupancy_gap=0.5 * jnp.sum(jnp.abs(expert - new_policy)),
        planning_converged=plan.converged,
    )
    return TabularAIRLState(g, h, plan.log_policy, opt_state), metrics


def run(
    config: TabularAIRLConfig, mdp: TabularMDP, expert_occupancy: Array, state: TabularAIRLState, steps: int
) -> tuple[TabularAIRLState, TabularAIRLMetrics]:
    """``steps`` alternations in one ``lax.scan``; metrics ``[steps]``."""
    return jax.lax.scan(lambda s, _: step(config, mdp, expert_occupancy, s), state, None, length=steps)


def fit(config: TabularAIRLConfig, mdp: TabularMDP, expert_occupancy: Array) -> TabularAIRLResult:
    """A whole run of exact tabular AIRL: :func:`init`, then ``config.steps`` alternations (:func:`run`).

    Pure in ``(mdp, expert_occupancy)``: ``jax.jit(fit, static_argnums=0)`` and ``jax.vmap`` over MDPs and
    occupancies work (:func:`fit_jit` validates first).

    Args:
        config: the settings (static).
        mdp: a tabular MDP with deterministic dynamics; its ``initial`` distribution starts the policy's
            occupancy (and should be the one the expert's occupancy was computed from).
        expert_occupancy: ``[S, A]`` the expert's discounted state-action occupancy (any positive scale).

    Returns:
        :class:`TabularAIRLResult`: ``g`` (the recovered reward), ``h`` (the shaping), the final policy.
    """
    check_inputs(config, mdp, expert_occupancy)
    state, metrics = run(config, mdp, expert_occupancy, init(config, mdp), config.steps)
    return TabularAIRLResult(state.g, state.h, state.log_policy, metrics)


_fit_compiled = jax.jit(fit, static_argnums=0)


def fit_jit(config: TabularAIRLConfig, mdp: TabularMDP, expert_occupancy: Array) -> TabularAIRLResult:
    """:func:`fit`, jitted (config static), its inputs validated first (one-line :class:`IrlaxError`)."""
    check_inputs(config, mdp, expert_occupancy)
    return _fit_compiled(config, mdp, jnp.asarray(expert_occupancy))
