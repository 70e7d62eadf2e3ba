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

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.tabular import TabularMDP, state_action_reward

DEFAULT_TOLERANCE = 1e-5
DEFAULT_MAX_ITERATIONS = 10_000


class Plan(NamedTuple):
    """The solution of a (soft or hard) planning problem.

    Stationary plans (discounted, infinite horizon): ``q [S, A]``, ``v [S]``,
    ``log_policy [S, A]``. Finite-horizon plans: ``q [H, S, A]``, ``v [H + 1, S]``
    (``v[H] = 0``), ``log_policy [H, S, A]`` indexed by the time step.
    ``iterations`` and ``residual`` report the convergence of iterative solves
    (the horizon and 0 for finite-horizon plans).
    """

    q: Array
    v: Array
    log_policy: Array
    iterations: Array
    residual: Array

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


def _finite_soft_plan(mdp: TabularMDP, reward: Array, horizon: int, backup) -> Plan:
    reward_sa = state_action_reward(reward, mdp.num_actions)

    def step(v_next: Array, _: None) -> tuple[Array, tuple[Array, Array]]:
        q = backup(reward_sa, v_next)
        v = logsumexp_actions(q)
        return v, (q, v)

    v_end = jnp.zeros(mdp.num_states, dtype=reward_sa.dtype)
    _, (q, v) = jax.lax.scan(step, v_end, None, length=horizon, reverse=True)
    v = jnp.concatenate([v, v_end[None]], axis=0)
    log_policy = q - v[:-1, :, None]
    return Plan(q, v, log_policy, jnp.asarray(horizon), jnp.asarray(0.0, reward_sa.dtype))


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
    return _finite_soft_plan(mdp, reward, horizon, backup)


def maxent_backward_pass(mdp: TabularMDP, reward: Array, horizon: int) -> Plan:
    """The MaxEnt-2008 backward pass (Ziebart et al. 2008, Algorithm 1), in log space.

    ``v[t, s] = log Z_s`` is the log partition function of all trajectories of
    ``H - t`` steps from ``s`` under ``p(tau) ~ prod P(s'|s, a) exp(sum r)``;
    ``q[t] = log Z_a``; ``log_policy[t] = log Z_a - log Z_s``. Undiscounted, as in
    the paper. Working in log space keeps it finite for large rewards and horizons.

    Returns:
        A :class:`Plan` with ``q, log_policy [H, S, A]`` and ``v [H + 1, S]``.
    """
    backup = lambda r, v: optimistic_soft_q(mdp, r, v)
    return _finite_soft_plan(mdp, reward, horizon, backup)


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
    change is at most ``tolerance``. Requires ``mdp.discount < 1``.

    Returns:
        A stationary :class:`Plan`: ``q, log_policy [S, A]``, ``v [S]``.
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    update = lambda v: logsumexp_actions(soft_q(mdp, reward_sa, v, mdp.discount))
    v0 = jnp.zeros(mdp.num_states, dtype=reward_sa.dtype)
    v, iterations, residual = iterate_to_tolerance(update, v0, tolerance, max_iterations)
    q = soft_q(mdp, reward_sa, v, mdp.discount)
    v = logsumexp_actions(q)
    return Plan(q, v, q - v[:, None], iterations, residual)


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

    Returns:
        A stationary :class:`Plan`: ``q [S, A]``, ``v [S] = max_a q``, and the log of
        the greedy policy (ties split evenly).
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    update = lambda v: jnp.max(soft_q(mdp, reward_sa, v, mdp.discount), axis=-1)
    v0 = jnp.zeros(mdp.num_states, dtype=reward_sa.dtype)
    v, iterations, residual = iterate_to_tolerance(update, v0, tolerance, max_iterations)
    q = soft_q(mdp, reward_sa, v, mdp.discount)
    return Plan(q, jnp.max(q, axis=-1), greedy_log_policy(q), iterations, residual)


def value_iteration_finite(
    mdp: TabularMDP, reward: Array, horizon: int, discount: float | None = None
) -> Plan:
    """Finite-horizon hard value iteration, a time-indexed greedy policy ``[H, S, A]``."""
    gamma = mdp.discount if discount is None else discount
    reward_sa = state_action_reward(reward, mdp.num_actions)

    def step(v_next: Array, _: None) -> tuple[Array, Array]:
        q = soft_q(mdp, reward_sa, v_next, gamma)
        return jnp.max(q, axis=-1), q

    v_end = jnp.zeros(mdp.num_states, dtype=reward_sa.dtype)
    _, q = jax.lax.scan(step, v_end, None, length=horizon, reverse=True)
    v = jnp.concatenate([jnp.max(q, axis=-1), v_end[None]], axis=0)
    return Plan(q, v, greedy_log_policy(q), jnp.asarray(horizon), jnp.asarray(0.0, q.dtype))
