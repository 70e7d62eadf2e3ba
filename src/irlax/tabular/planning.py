"""Exact planners for tabular MDPs: hard and soft value iteration, MaxEnt backward pass.

All functions are pure, take a :class:`~irlax.envs.tabular.TabularMDP` and a reward
``[S]`` or ``[S, A]``, and are ``jax.jit``- and ``jax.vmap``-able (horizons,
iteration caps and tolerances are static Python numbers).

- Soft (maximum causal entropy) value iteration, Ziebart, Bagnell & Dey (2010),
  "Modeling Interaction via the Principle of Maximum Causal Entropy":
  ``Q_t(s, a) = r(s, a) + gamma * E_{s'}[V_{t+1}(s')]``, ``V_t(s) = logsumexp_a Q_t(s, a)``,
  ``pi_t(a | s) = exp(Q_t(s, a) - V_t(s))``.
- The MaxEnt-2008 backward pass, Ziebart, Maas, Bagnell & Dey (2008), "Maximum
  Entropy Inverse Reinforcement Learning", Algorithm 1, in log space:
  ``log Z_a(s, a) = r(s, a) + log sum_{s'} P(s'|s, a) Z_{s'}``. The expectation of
  ``exp V`` instead of ``exp`` of the expectation makes it *optimistic* about
  stochastic transitions (the agent is modelled as if it could choose its luck);
  on deterministic dynamics both recursions coincide.
- Hard (Bellman) value iteration with a greedy policy.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.tabular import TabularMDP, state_action_reward

DEFAULT_TOLERANCE = 1e-5
#: The largest discount the default iteration cap is sized for.
DEFAULT_MAX_DISCOUNT = 0.999
#: Iteration cap of the discounted fixed-point solvers: ``2 log(tol) / log(gamma)`` for gamma = 0.999
#: and tol = 1e-5 (23016). Value iteration is a gamma-contraction, so the residual after ``k`` updates is
#: at most ``gamma^k`` times the first one; the factor 2 makes ``gamma^k <= tol^2``, enough for a first
#: change of up to ``1 / tol = 1e5`` at any discount up to 0.999. (On a 16x16 objectworld at 0.999 in
#: float64 soft value iteration needs 13262 updates; the former cap of 10000 stopped it unconverged.)
#: A converged solve stops early, so a generous cap costs nothing; ``Plan.converged`` reports a miss.
DEFAULT_MAX_ITERATIONS = 2 * math.ceil(math.log(DEFAULT_TOLERANCE) / math.log(DEFAULT_MAX_DISCOUNT))


class Plan(NamedTuple):
    """The solution of a (soft or hard) planning problem.

    Stationary plans (discounted, infinite horizon): ``q [S, A]``, ``v [S]``,
    ``log_policy [S, A]``. Finite-horizon plans: ``q [H, S, A]``, ``v [H + 1, S]``
    (``v[H] = 0``), ``log_policy [H, S, A]`` indexed by the time step.
    ``iterations`` and ``residual`` report the convergence of iterative solves
    (the horizon and 0 for finite-horizon plans); ``converged`` (a bool array) is
    whether the final residual is within the tolerance, False when the solve
    stopped at its iteration cap (always True for finite-horizon plans).
    """

    q: Array
    v: Array
    log_policy: Array
    iterations: Array
    residual: Array
    converged: Array

    @property
    def policy(self) -> Array:
        """Action probabilities, the same shape as ``log_policy``."""
        return jnp.exp(self.log_policy)


SMALL_AXIS = 16


def sum_last_axis(x: Array) -> Array:
    """``x.sum(axis=-1)``, unrolled when the axis is small.

    XLA on CPU reduces a short minor axis (4 actions, 5 successors) element by
    element; adding the slices instead vectorises over states (about 3x faster
    planning on a 2000-state MDP).
    """
    if x.shape[-1] > SMALL_AXIS:
        return jnp.sum(x, axis=-1)
    total = x[..., 0]
    for i in range(1, x.shape[-1]):
        total = total + x[..., i]
    return total


def logsumexp_actions(q: Array) -> Array:
    """``log sum_a exp q[..., a]``, stable, vectorised over states: ``[..., A] -> [...]``.

    Rows that are all ``-inf`` give ``-inf``.
    """
    m = jnp.max(q, axis=-1)
    safe_m = jnp.where(jnp.isfinite(m), m, 0.0)
    return safe_m + jnp.log(sum_last_axis(jnp.exp(q - safe_m[..., None])))


def log_softmax_actions(q: Array) -> Array:
    """``q - logsumexp_a q`` over the last axis, computed from ``q - max_a q``: ``[..., A]``.

    Subtracting the rounded ``logsumexp`` from ``q`` loses its rounding error at the
    scale of ``q`` (a whole unit when values reach 1e7 in float32); shifting by the
    row maximum first keeps every row summing to 1 to within float rounding.
    """
    return logsumexp_and_log_softmax_actions(q)[1]


def logsumexp_and_log_softmax_actions(q: Array) -> tuple[Array, Array]:
    """``(logsumexp_actions(q), log_softmax_actions(q))`` sharing one pass of ``exp``."""
    m = jnp.max(q, axis=-1)
    safe_m = jnp.where(jnp.isfinite(m), m, 0.0)
    shifted = q - safe_m[..., None]
    log_sum = jnp.log(sum_last_axis(jnp.exp(shifted)))
    return safe_m + log_sum, shifted - log_sum[..., None]


def expected_next_value(mdp: TabularMDP, values: Array) -> Array:
    """``E_{s' ~ P(.|s, a)}[values[s']]`` for every ``(s, a)``: ``[S] -> [S, A]``."""
    return sum_last_axis(mdp.next_probs * values[mdp.next_states])


def log_next_probs(mdp: TabularMDP) -> Array:
    """``log P(s'|s, a)`` of the successor lists, ``-inf`` on padding: ``[S, A, K]``."""
    return jnp.where(mdp.next_probs > 0, jnp.log(jnp.maximum(mdp.next_probs, 1e-38)), -jnp.inf)


def log_expected_exp_next_value(mdp: TabularMDP, values: Array) -> Array:
    """``log E_{s' ~ P(.|s, a)}[exp values[s']]`` for every ``(s, a)``, in log space: ``[S] -> [S, A]``."""
    return logsumexp_actions(log_next_probs(mdp) + values[mdp.next_states])


def soft_q(mdp: TabularMDP, reward_sa: Array, v_next: Array, discount: float) -> Array:
    """One maximum-causal-entropy backup: ``r + gamma * E[V(s')]``, ``[S, A]``."""
    return reward_sa + discount * expected_next_value(mdp, v_next)


def optimistic_soft_q(mdp: TabularMDP, reward_sa: Array, v_next: Array) -> Array:
    """One MaxEnt-2008 backup: ``r + log E[exp V(s')]``, ``[S, A]`` (Ziebart 2008)."""
    return reward_sa + log_expected_exp_next_value(mdp, v_next)


def value_dtype(mdp: TabularMDP, reward_sa: Array):
    """The dtype of values planned for ``reward_sa``: that of ``r + P V`` (float64 if either is)."""
    return jnp.result_type(reward_sa, mdp.next_probs)


def _compensated_update(total: tuple[Array, Array], scale: float, add: Array) -> tuple[Array, Array]:
    """``scale * total + add`` with ``total = hi + lo`` kept as an unevaluated sum (TwoSum)."""
    hi, lo = total
    a = scale * hi
    b = scale * lo + add
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


class NormalisedPlan(NamedTuple):
    """A finite-horizon soft plan with each step's values shifted by a constant.

    ``plan.v[t] + offsets[t]`` is ``V_t`` and ``plan.q[t] + shift * offsets[t + 1]`` is
    ``Q_t`` (``shift``: 1 for the MaxEnt-2008 pass, gamma for soft value iteration);
    ``plan.log_policy`` is exact. The offsets carry no gradient: ``plan.v`` carries all
    of ``V``'s. Tilted transitions and policies depend on one step's values only up to
    a constant, so they can be computed from ``plan.v`` at the precision of one step's
    rewards whatever the horizon.
    """

    plan: Plan
    offsets: Array
    """``[H + 1]``: the constant subtracted from each step's values (``offsets[H] = 0``)."""


def _finite_soft_plan_normalised(mdp: TabularMDP, reward: Array, horizon: int, backup, shift: float) -> NormalisedPlan:
    """Finite-horizon soft backward pass with per-step normalised values.

    ``backup(reward_sa, v_next)`` must satisfy ``backup(r, v + c) = backup(r, v) + shift * c``
    for a constant ``c``. The scan carries ``V_t - c_t`` with ``c_t = shift * c_{t+1} + m_t``,
    ``m_t`` the maximum over states of the step's unnormalised values (stop-gradient),
    so every backup and every policy is computed from values of the size of one step's
    rewards rather than of the whole horizon's (float32 resolves only steps of 1 at 1e7).
    ``c_t`` is summed with compensation (TwoSum), so it is exact to float rounding.
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    dtype = value_dtype(mdp, reward_sa)
    zero = jnp.zeros((), dtype)

    def step(carry, _: None):
        v_next, offset_next = carry
        q = backup(reward_sa, v_next)
        v, log_policy = logsumexp_and_log_softmax_actions(q)
        m = jnp.max(v)
        m = jax.lax.stop_gradient(jnp.where(jnp.isfinite(m), m, zero))
        offset = _compensated_update(offset_next, shift, m)
        return (v - m, offset), (q, log_policy, v - m, offset[0] + offset[1])

    v_end = jnp.zeros(mdp.num_states, dtype)
    _, (q, log_policy, v, offsets) = jax.lax.scan(step, (v_end, (zero, zero)), None, length=horizon, reverse=True)
    v = jnp.concatenate([v, v_end[None]], axis=0)
    offsets = jnp.concatenate([offsets, zero[None]])
    plan = Plan(q, v, log_policy, jnp.asarray(horizon), zero, jnp.asarray(True))
    return NormalisedPlan(plan, offsets)


def _denormalise(normalised: NormalisedPlan, shift: float) -> Plan:
    """The plan with true values: each step's offset added back to ``q`` and ``v``."""
    plan, offsets = normalised
    q = plan.q + shift * offsets[1:, None, None]
    return plan._replace(q=q, v=plan.v + offsets[:, None])


def soft_value_iteration_finite(
    mdp: TabularMDP, reward: Array, horizon: int, discount: float | None = None
) -> Plan:
    """Finite-horizon soft value iteration (Ziebart 2010), a time-indexed policy.

    Args:
        mdp: the MDP.
        reward: ``[S]`` or ``[S, A]``.
        horizon: number of decisions ``H``.
        discount: gamma applied between steps; ``mdp.discount`` when ``None``.

    Returns:
        A :class:`Plan` with ``q, log_policy [H, S, A]`` and ``v [H + 1, S]``.
    """
    gamma = mdp.discount if discount is None else discount
    backup = lambda r, v: soft_q(mdp, r, v, gamma)
    return _denormalise(_finite_soft_plan_normalised(mdp, reward, horizon, backup, gamma), gamma)


def maxent_backward_pass(mdp: TabularMDP, reward: Array, horizon: int) -> Plan:
    """The MaxEnt-2008 backward pass (Ziebart et al. 2008, Algorithm 1), in log space.

    ``v[t, s] = log Z_s`` is the log partition function of all trajectories of
    ``H - t`` steps from ``s`` under ``p(tau) ~ prod P(s'|s, a) exp(sum r)``;
    ``q[t] = log Z_a``; ``log_policy[t] = log Z_a - log Z_s``. Undiscounted, as in
    the paper. Working in log space keeps it finite for large rewards and horizons,
    and each step's values are normalised (their maximum over states carried apart,
    see :func:`maxent_backward_pass_normalised`), so the policies stay exact in float32
    when ``log Z`` reaches 1e7 (rewards of 1e3 over a horizon of 1e4).

    Returns:
        A :class:`Plan` with ``q, log_policy [H, S, A]`` and ``v [H + 1, S]``.
    """
    return _denormalise(maxent_backward_pass_normalised(mdp, reward, horizon), 1.0)


def maxent_backward_pass_normalised(mdp: TabularMDP, reward: Array, horizon: int) -> NormalisedPlan:
    """:func:`maxent_backward_pass` with each step's ``log Z`` shifted by its maximum over states.

    ``plan.v[t] + offsets[t] = log Z`` of ``H - t`` steps; ``plan.q[t] + offsets[t + 1] = log Z_a``.
    The tilted transitions of the forward pass need ``V_{t+1}`` only up to a constant,
    so they are computed from ``plan.v`` exactly even where ``log Z`` is too large for
    float32 to resolve differences between states (1e7 and more).
    """
    backup = lambda r, v: optimistic_soft_q(mdp, r, v)
    return _finite_soft_plan_normalised(mdp, reward, horizon, backup, 1.0)


def iterate_to_tolerance(update, v0: Array, tolerance: float, max_iterations: int):
    """Iterate ``v <- update(v)`` until ``max |dv| <= tolerance``.

    Returns ``(v, iterations, residual)``; stops after ``max_iterations`` at most.
    """

    def cond(carry):
        _, it, residual = carry
        return (residual > tolerance) & (it < max_iterations)

    def body(carry):
        v, it, _ = carry
        v_new = update(v)
        return v_new, it + 1, jnp.max(jnp.abs(v_new - v))

    # inputs of mixed widths (a float64 model, a float32 reward) iterate in the width of their update
    v0 = v0.astype(jax.eval_shape(update, v0).dtype)
    init = (v0, jnp.asarray(0), jnp.asarray(jnp.inf, v0.dtype))
    return jax.lax.while_loop(cond, body, init)


def soft_value_iteration(
    mdp: TabularMDP,
    reward: Array,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> Plan:
    """Discounted infinite-horizon soft value iteration (Ziebart 2010), to a tolerance.

    Iterates ``V <- logsumexp_a (r + gamma * P V)`` from ``V = 0`` until the largest
    change is at most ``tolerance``, or ``max_iterations`` updates (then
    ``plan.converged`` is False). Requires ``mdp.discount < 1``.

    Returns:
        A stationary :class:`Plan`: ``q, log_policy [S, A]``, ``v [S]``.
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    update = lambda v: logsumexp_actions(soft_q(mdp, reward_sa, v, mdp.discount))
    v0 = jnp.zeros(mdp.num_states, value_dtype(mdp, reward_sa))
    v, iterations, residual = iterate_to_tolerance(update, v0, tolerance, max_iterations)
    q = soft_q(mdp, reward_sa, v, mdp.discount)
    v, log_policy = logsumexp_and_log_softmax_actions(q)
    return Plan(q, v, log_policy, iterations, residual, residual <= tolerance)


def greedy_log_policy(q: Array) -> Array:
    """Log of the greedy policy of ``q [..., A]``, ties split evenly: ``[..., A]``."""
    best = q >= jnp.max(q, axis=-1, keepdims=True)
    probs = best / jnp.sum(best, axis=-1, keepdims=True)
    return jnp.where(best, jnp.log(jnp.maximum(probs, 1e-38)), -jnp.inf)


def value_iteration(
    mdp: TabularMDP,
    reward: Array,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> Plan:
    """Discounted hard (Bellman) value iteration to a tolerance, with a greedy policy.

    Stops when the largest change is at most ``tolerance``, or after ``max_iterations``
    updates (then ``plan.converged`` is False).

    Returns:
        A stationary :class:`Plan`: ``q [S, A]``, ``v [S] = max_a q``, and the log of
        the greedy policy (ties split evenly).
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    update = lambda v: jnp.max(soft_q(mdp, reward_sa, v, mdp.discount), axis=-1)
    v0 = jnp.zeros(mdp.num_states, value_dtype(mdp, reward_sa))
    v, iterations, residual = iterate_to_tolerance(update, v0, tolerance, max_iterations)
    q = soft_q(mdp, reward_sa, v, mdp.discount)
    return Plan(q, jnp.max(q, axis=-1), greedy_log_policy(q), iterations, residual, residual <= tolerance)


def value_iteration_finite(
    mdp: TabularMDP, reward: Array, horizon: int, discount: float | None = None
) -> Plan:
    """Finite-horizon hard value iteration, a time-indexed greedy policy ``[H, S, A]``."""
    gamma = mdp.discount if discount is None else discount
    reward_sa = state_action_reward(reward, mdp.num_actions)

    def step(v_next: Array, _: None) -> tuple[Array, Array]:
        q = soft_q(mdp, reward_sa, v_next, gamma)
        return jnp.max(q, axis=-1), q

    v_end = jnp.zeros(mdp.num_states, value_dtype(mdp, reward_sa))
    _, q = jax.lax.scan(step, v_end, None, length=horizon, reverse=True)
    v = jnp.concatenate([jnp.max(q, axis=-1), v_end[None]], axis=0)
    return Plan(q, v, greedy_log_policy(q), jnp.asarray(horizon), jnp.asarray(0.0, q.dtype), jnp.asarray(True))
