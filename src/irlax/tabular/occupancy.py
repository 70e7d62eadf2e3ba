"""Forward passes: state and state-action occupancy measures, policy evaluation.

The forward pass pushes a state distribution through a policy and the sparse
transitions with a scatter-add (``O(S * A * K)`` per step). Distributions may be
*signed* and may receive *sources* at every step: the exact gradient of a
demonstration log-likelihood is an occupancy measure driven by such sources
(see :mod:`irlax.algorithms.mce`).

Shapes: ``S`` states, ``A`` actions, ``K`` successors, ``H`` horizon.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.tabular import TabularMDP, state_action_reward
from irlax.tabular.planning import (
    DEFAULT_MAX_ITERATIONS,
    DEFAULT_TOLERANCE,
    expected_next_value,
    iterate_to_tolerance,
    log_next_probs,
    logsumexp_actions,
    sum_last_axis,
)


def propagate(mdp: TabularMDP, sa_mass: Array, next_probs: Array | None = None) -> Array:
    """Mass arriving in each next state: ``sum_{s,a} sa_mass[s, a] P(s'|s, a)``, ``[S]``.

    Args:
        mdp: the MDP (its successor lists).
        sa_mass: ``[S, A]`` mass on state-action pairs (may be signed).
        next_probs: ``[S, A, K]`` successor probabilities to use instead of
            ``mdp.next_probs`` (e.g. the tilted dynamics of the MaxEnt-2008 model).
    """
    probs = mdp.next_probs if next_probs is None else next_probs
    flows = sa_mass[:, :, None] * probs
    return jnp.zeros(mdp.num_states, flows.dtype).at[mdp.next_states].add(flows)


def predicted_next_states(mdp: TabularMDP, sa_mass: Array) -> Array:
    """``P^T`` applied to state-action mass ``[S, A]`` (or ``[T, S, A]``): next-state mass ``[S]`` (``[T, S]``)."""
    if sa_mass.ndim == 2:
        return propagate(mdp, sa_mass)
    steps = sa_mass.shape[0]
    flows = sa_mass[..., None] * mdp.next_probs  # [T, S, A, K], one scatter for all steps
    rows = jnp.broadcast_to(jnp.arange(steps)[:, None, None, None], flows.shape)
    cols = jnp.broadcast_to(mdp.next_states, flows.shape)
    return jnp.zeros((steps, mdp.num_states), flows.dtype).at[rows, cols].add(flows)


def tilted_next_probs(mdp: TabularMDP, v_next: Array, log_probs: Array | None = None) -> Array:
    """Transitions of the MaxEnt-2008 trajectory model: ``P(s'|s,a) exp(V(s')) / sum``, ``[S, A, K]``.

    Under ``p(tau) ~ prod P exp(sum r)`` (Ziebart 2008) the next state is drawn from
    the dynamics tilted towards high-value states; this is what makes the 2008
    model optimistic on stochastic dynamics. ``log_probs``: ``log_next_probs(mdp)``
    when the caller has it already.
    """
    log_probs = log_next_probs(mdp) if log_probs is None else log_probs
    logits = log_probs + v_next[mdp.next_states]
    return jnp.exp(logits - logsumexp_actions(logits)[..., None])


def occupancy_finite(
    mdp: TabularMDP,
    policy: Array,
    sources: Array,
    *,
    discount: float = 1.0,
    tilt_values: Array | None = None,
) -> Array:
    """Time-indexed state-action occupancy ``D[t, s, a]`` of a finite-horizon forward pass.

    ``d_0 = sources[0]``; ``D_t = d_t * pi_t``; ``d_{t+1} = sources[t+1] + gamma * P_pi_t^T d_t``.

    Args:
        mdp: the MDP.
        policy: ``[H, S, A]`` time-indexed policy, or ``[S, A]`` stationary.
        sources: ``[H, S]`` mass entering at each step (row 0: the start distribution).
        discount: gamma between steps (1 for undiscounted counts).
        tilt_values: ``[H + 1, S]`` values ``V_t`` of the MaxEnt-2008 backward pass;
            when given, step ``t`` uses :func:`tilted_next_probs` with ``V_{t+1}``.

    Returns:
        ``[H, S, A]`` occupancy, sums to ``sum(sources)`` per unit of discount.
    """
    stationary = policy.ndim == 2
    dtype = jnp.result_type(sources, policy, mdp.next_probs)
    xs = {"source": sources.astype(dtype)}
    if not stationary:
        xs["pi"] = policy
    if tilt_values is not None:
        xs["v_next"] = tilt_values[1:]
        log_probs = log_next_probs(mdp)

    def step(d: Array, x: dict[str, Array]) -> tuple[Array, Array]:
        d = d + x["source"]
        sa = d[:, None] * (policy if stationary else x["pi"])
        probs = tilted_next_probs(mdp, x["v_next"], log_probs) if "v_next" in x else None
        return discount * propagate(mdp, sa, probs), sa

    _, occupancy = jax.lax.scan(step, jnp.zeros(mdp.num_states, dtype), xs)
    return occupancy


def occupancy_discounted(
    mdp: TabularMDP,
    policy: Array,
    source: Array,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> Array:
    """Discounted state-action occupancy ``D[s, a]`` of a stationary policy, to a tolerance.

    Solves ``d = source + gamma * P_pi^T d`` by fixed-point iteration and returns
    ``D = d * pi``; with ``source = p0`` this is ``sum_t gamma^t Pr(s_t = s, a_t = a)``,
    which sums to ``1 / (1 - gamma)``. ``tolerance`` is relative to ``sum |source|``.

    Args:
        mdp: the MDP (``mdp.discount < 1``).
        policy: ``[S, A]``.
        source: ``[S]`` (may be signed).
    """
    scale = jnp.maximum(jnp.sum(jnp.abs(source)), 1e-30)
    update = lambda d: source + mdp.discount * propagate(mdp, d[:, None] * policy)
    d, _, _ = iterate_to_tolerance(update, source, tolerance * scale, max_iterations)
    return d[:, None] * policy


def occupancy_measure(
    mdp: TabularMDP,
    policy: Array,
    start: Array | None = None,
    *,
    horizon: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Array:
    """State-action occupancy of ``policy`` from ``start`` (``mdp.initial`` by default).

    Finite horizon (``horizon``, else ``mdp.horizon``): expected (discounted)
    visit counts summed over the ``H`` steps, ``[S, A]``, summing to
    ``sum_t gamma^t``. Infinite horizon: the discounted occupancy, summing to
    ``1 / (1 - gamma)``. A time-indexed policy ``[H, S, A]`` fixes ``H``.
    """
    start = mdp.initial if start is None else start
    horizon = policy.shape[0] if policy.ndim == 3 else (horizon or mdp.horizon)
    if horizon is None:
        return occupancy_discounted(mdp, policy, start, tolerance=tolerance)
    sources = jnp.zeros((horizon, mdp.num_states), start.dtype).at[0].set(start)
    return occupancy_finite(mdp, policy, sources, discount=mdp.discount).sum(axis=0)


def state_occupancy(sa_occupancy: Array) -> Array:
    """State occupancy ``[..., S]`` from a state-action occupancy ``[..., S, A]``."""
    return jnp.sum(sa_occupancy, axis=-1)


def policy_value(
    mdp: TabularMDP,
    policy: Array,
    reward: Array,
    start: Array | None = None,
    *,
    horizon: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Array:
    """Expected (discounted) return of ``policy`` under ``reward`` from ``start``: a scalar.

    ``sum_{s,a} D_pi(s, a) r(s, a)`` with ``D_pi`` from :func:`occupancy_measure`.
    """
    occupancy = occupancy_measure(mdp, policy, start, horizon=horizon, tolerance=tolerance)
    return jnp.sum(occupancy * state_action_reward(reward, mdp.num_actions))


def policy_evaluation(
    mdp: TabularMDP,
    policy: Array,
    reward: Array,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> Array:
    """State values ``V_pi [S]`` of a stationary policy ``[S, A]`` (discounted), to a tolerance.

    Iterates ``V <- sum_a pi(a|s) (r(s, a) + gamma * E[V(s')])``.
    """
    reward_sa = state_action_reward(reward, mdp.num_actions)
    update = lambda v: sum_last_axis(policy * (reward_sa + mdp.discount * expected_next_value(mdp, v)))
    v0 = jnp.zeros(mdp.num_states, reward_sa.dtype)
    v, _, _ = iterate_to_tolerance(update, v0, tolerance, max_iterations)
    return v
