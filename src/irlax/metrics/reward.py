"""Comparing a learned reward with the true one on control tasks: Pearson correlation and EPIC.

A reward here is a pure function of one transition,
``reward(obs [O], action, next_obs [O]) -> []``, with any parameters already bound
(e.g. :func:`irlax.envs.true_rewards.true_reward_fn`, or a learned model applied
with ``functools.partial``). Actions are ``int32`` indices (discrete tasks, batched
``[N]``) or ``[D]`` float vectors (continuous tasks, batched ``[N, D]``).

- :func:`pearson_correlation` / :func:`reward_correlations`: how linearly the
  learned reward follows the true one on given transitions (say expert and
  random-policy ones). Invariant to positive affine maps of either reward, but
  not to potential shaping.
- :func:`epic_distance`: the Equivalent-Policy Invariant Comparison of Gleave,
  Dennis, Legg, Russell & Leike (ICLR 2021), "Quantifying Differences in Reward
  Functions": the Pearson distance between the two rewards after canonical
  shaping (:func:`canonical_rewards`), which removes potential shaping, so
  rewards that induce the same optimal policies in every MDP with these
  dynamics-free transitions are at distance 0.

Both are undefined (NaN) when a reward is constant on the transitions compared,
e.g. CartPole's ``+1`` per step (see :func:`pearson_correlation`).

All functions but :func:`reward_correlations` are pure JAX and jittable with the
reward functions static (close over them, or pass them as static arguments).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from irlax.errors import IrlaxError

RewardFn = Callable[[Array, Array, Array], Array]
"""``reward(obs [O], action, next_obs [O]) -> []``: a reward with its parameters bound."""

ZERO_VARIANCE_TOLERANCE = 16.0
"""A side whose standard deviation is at most this many float eps times its largest magnitude counts as constant."""


class TransitionBatch(NamedTuple):
    """A batch of transitions to evaluate rewards on.

    Attributes:
        obs: ``[N, O]`` observations acted on.
        action: ``[N]`` int32 (discrete) or ``[N, D]`` float (continuous) actions.
        next_obs: ``[N, O]`` true successor observations.
    """

    obs: Array
    action: Array
    next_obs: Array


class Coverage(NamedTuple):
    """A coverage distribution for EPIC and the marginals its canonicalisation samples from.

    Attributes:
        transitions: the transitions ``(S, A, S') ~ D`` the distance is measured on (leaves ``[N, ...]``).
        state_samples: ``[M, O]`` states drawn from ``D_S``.
        action_samples: ``[M]`` or ``[M, D]`` actions drawn from ``D_A``, independently of the states.
    """

    transitions: TransitionBatch
    state_samples: Array
    action_samples: Array


def as_transition_batch(batch: Any) -> TransitionBatch:
    """A :class:`TransitionBatch` from a triple ``(obs, action, next_obs)`` or anything with those attributes.

    Accepts e.g. :class:`irlax.learners.rollout.Transition` (extra fields are ignored).

    Raises:
        IrlaxError: neither a triple nor an object with ``obs``, ``action`` and ``next_obs``.
    """
    if all(hasattr(batch, name) for name in TransitionBatch._fields):
        return TransitionBatch(batch.obs, batch.action, batch.next_obs)
    if isinstance(batch, Sequence) and len(batch) == 3:
        return TransitionBatch(*batch)
    raise IrlaxError(f"expected transitions (obs, action, next_obs), got {type(batch).__name__}")


def batch_rewards(reward: RewardFn, batch: TransitionBatch) -> Array:
    """``reward`` of every transition of ``batch``: ``[N]``."""
    return jax.vmap(reward)(batch.obs, batch.action, batch.next_obs)


def _weighted_moments(x: Array, y: Array, weights: Array | None) -> tuple[Array, Array, Array]:
    """Weighted ``(var x, var y, cov(x, y))`` of ``[N]`` arrays (weights normalised to sum 1)."""
    w = jnp.ones_like(x) if weights is None else jnp.asarray(weights, x.dtype)
    w = w / jnp.sum(w)
    dx = x - jnp.sum(w * x)
    dy = y - jnp.sum(w * y)
    return jnp.sum(w * dx * dx), jnp.sum(w * dy * dy), jnp.sum(w * dx * dy)


def _is_constant(x: Array, variance: Array) -> Array:
    """Whether ``x`` has numerically zero variance (its spread is float rounding of its magnitude)."""
    scale = ZERO_VARIANCE_TOLERANCE * jnp.finfo(x.dtype).eps * jnp.max(jnp.abs(x))
    return variance <= scale**2


@jax.jit
def pearson_correlation(x: Array, y: Array, weights: Array | None = None) -> Array:
    """The (weighted) Pearson correlation of ``x`` and ``y``, a scalar in ``[-1, 1]``.

    ``rho = cov_w(x, y) / sqrt(var_w(x) var_w(y))`` with the moments taken under
    the distribution ``weights / sum(weights)`` (uniform when ``None``).

    Undefined, and NaN, when either side has numerically zero variance (a standard
    deviation within float rounding of its magnitude, see
    :data:`ZERO_VARIANCE_TOLERANCE`): e.g. CartPole's reward is ``+1`` on every
    step, so no learned reward correlates with it.

    Args:
        x: ``[N]`` values.
        y: ``[N]`` values.
        weights: ``[N]`` non-negative weights, or ``None``.
    """
    x = jnp.asarray(x, jnp.result_type(x, jnp.float32))
    y = jnp.asarray(y, x.dtype)
    var_x, var_y, cov = _weighted_moments(x, y, weights)
    undefined = _is_constant(x, var_x) | _is_constant(y, var_y)
    rho = cov / jnp.sqrt(jnp.where(undefined, 1.0, var_x * var_y))
    return jnp.where(undefined, jnp.nan, jnp.clip(rho, -1.0, 1.0))


@jax.jit
def pearson_distance(x: Array, y: Array, weights: Array | None = None) -> Array:
    """The Pearson distance ``sqrt((1 - rho) / 2)`` in ``[0, 1]`` (Gleave et al. 2021, EPIC), a scalar.

    ``rho`` is :func:`pearson_correlation` (NaN when undefined). ``x``, ``y``,
    ``weights``: ``[N]``.
    """
    rho = pearson_correlation(x, y, weights)
    return jnp.sqrt(jnp.maximum((1.0 - rho) / 2.0, 0.0))


def expected_reward_from(reward: RewardFn, obs: Array, state_samples: Array, action_samples: Array) -> Array:
    """The sample mean of ``R(obs, A, S')`` over paired samples ``(S'_j, A_j)``, a scalar.

    The inner expectation of canonical shaping (Gleave et al. 2021):
    ``E[R(s, A, S')] ~ 1/M sum_j R(s, a_j, s_j)``.

    Args:
        reward: the reward function.
        obs: ``[O]`` the state ``s``.
        state_samples: ``[M, O]`` next states ``S' ~ D_S``.
        action_samples: ``[M]`` or ``[M, D]`` actions ``A ~ D_A``.
    """
    return jnp.mean(jax.vmap(reward, in_axes=(None, 0, 0))(obs, action_samples, state_samples))


def canonical_rewards(
    reward: RewardFn,
    obs: Array,
    action: Array,
    next_obs: Array,
    state_samples: Array,
    action_samples: Array,
    gamma: float | Array,
    batch_size: int | None = None,
) -> Array:
    """The canonically shaped reward ``C_{D_S, D_A}(R)`` of each transition: ``[N]``.

    Gleave, Dennis, Legg, Russell & Leike (ICLR 2021), section 4, the canonically shaped reward::

        C(R)(s, a, s') = R(s, a, s') + E[gamma R(s', A, S') - R(s, A, S') - gamma R(S, A, S')]

    with ``S, S' ~ D_S`` and ``A ~ D_A`` independent, estimated as in their
    sample-based estimator (appendix) with ``M`` samples ``(x_j, u_j)`` of
    ``D_S x D_A``, used as the ``(S', A)`` pairs and, all ``M`` of them, as ``S``::

        C(R)(s, a, s') ~ R(s, a, s') + gamma/M sum_j R(s', u_j, x_j) - 1/M sum_j R(s, u_j, x_j)
                         - gamma/M^2 sum_i sum_j R(x_i, u_j, x_j)

    Using the same samples for ``S`` and ``S'`` makes the estimate exactly
    invariant to potential shaping: ``C(R + gamma phi(s') - phi(s)) = C(R)`` up to
    float rounding. Evaluates ``R`` ``N (2M + 1) + M^2`` times.

    Args:
        reward: the reward function (static under ``jit``).
        obs: ``[N, O]`` states ``s``.
        action: ``[N]`` or ``[N, D]`` actions ``a``.
        next_obs: ``[N, O]`` successors ``s'``.
        state_samples: ``[M, O]`` samples of ``D_S``.
        action_samples: ``[M]`` or ``[M, D]`` samples of ``D_A``.
        gamma: the discount.
        batch_size: evaluate the ``M``-sample means for this many states at a time
            (bounds memory at ``batch_size * M`` reward evaluations); ``None``: all at once.
    """
    def mean_from(s: Array) -> Array:
        return expected_reward_from(reward, s, state_samples, action_samples)

    def means(states: Array) -> Array:
        if batch_size is None:
            return jax.vmap(mean_from)(states)
        return jax.lax.map(mean_from, states, batch_size=batch_size)

    rewards = batch_rewards(reward, TransitionBatch(obs, action, next_obs))
    baseline = jnp.mean(means(state_samples))
    return rewards + gamma * means(next_obs) - means(obs) - gamma * baseline


def epic_distance(
    reward_a: RewardFn,
    reward_b: RewardFn,
    obs: Array,
    action: Array,
    next_obs: Array,
    state_samples: Array,
    action_samples: Array,
    gamma: float | Array,
    weights: Array | None = None,
    batch_size: int | None = None,
) -> Array:
    """The EPIC distance between two rewards, a scalar in ``[0, 1]`` (NaN if either canonical reward is constant).

    Gleave et al. (ICLR 2021), section 4: the Pearson distance
    (:func:`pearson_distance`) between ``C(R_A)(S, A, S')`` and ``C(R_B)(S, A, S')``
    over the coverage distribution ``(S, A, S') ~ D``, here the given ``N``
    transitions (optionally weighted). Symmetric; 0 for rewards equal up to a
    positive scale and potential shaping; 1 for ``R`` and ``-R``.

    Args:
        reward_a, reward_b: the rewards compared (static under ``jit``).
        obs, action, next_obs: ``[N, O]``, ``[N]`` or ``[N, D]``, ``[N, O]``: the coverage transitions.
        state_samples, action_samples: ``[M, O]`` and ``[M]`` or ``[M, D]``: samples of ``D_S`` and ``D_A``
            for :func:`canonical_rewards`.
        gamma: the discount.
        weights: ``[N]`` weights of the transitions, or ``None`` for uniform.
        batch_size: see :func:`canonical_rewards`.
    """
    canonical = lambda reward: canonical_rewards(
        reward, obs, action, next_obs, state_samples, action_samples, gamma, batch_size
    )
    return pearson_distance(canonical(reward_a), canonical(reward_b), weights)


def coverage_epic_distance(reward_a: RewardFn, reward_b: RewardFn, coverage: Coverage, gamma: float | Array,
                           batch_size: int | None = None) -> Array:
    """:func:`epic_distance` on a :class:`Coverage` (see :func:`coverage_samples`), a scalar.

    ``batch_size`` bounds memory as in :func:`canonical_rewards` (``None``: all at once).
    """
    batch = coverage.transitions
    return epic_distance(
        reward_a, reward_b, batch.obs, batch.action, batch.next_obs,
        coverage.state_samples, coverage.action_samples, gamma, batch_size=batch_size,
    )


def coverage_samples(key: Array, batches: Sequence[Any], num_samples: int) -> Coverage:
    """A coverage distribution from transition batches and samples of its state and action marginals.

    The coverage transitions are the batches concatenated (so each batch weighs by
    its size; pass batches of equal size to mix them evenly, e.g. expert and
    random-policy transitions, as Gleave et al. 2021 do). ``D_S`` is the empirical
    distribution of all states that occur (``obs`` and ``next_obs``), ``D_A`` that
    of the actions; ``num_samples`` of each are drawn with replacement,
    independently of each other.

    Args:
        key: PRNG key.
        batches: transitions, each ``(obs [N_i, O], action [N_i] or [N_i, D], next_obs [N_i, O])``
            or an object with those attributes (see :func:`as_transition_batch`).
        num_samples: ``M``, how many states and actions to draw.

    Raises:
        IrlaxError: no batches, or batches whose shapes do not fit together.
    """
    if not batches:
        raise IrlaxError("coverage_samples needs at least one batch of transitions")
    parts = [as_transition_batch(batch) for batch in batches]
    try:
        transitions = TransitionBatch(*(jnp.concatenate(leaves) for leaves in zip(*parts, strict=True)))
    except (TypeError, ValueError) as exc:
        raise IrlaxError(f"coverage_samples: transition batches do not fit together: {exc}") from None
    states = jnp.concatenate([transitions.obs, transitions.next_obs])
    state_key, action_key = jax.random.split(key)
    state_index = jax.random.randint(state_key, (num_samples,), 0, states.shape[0])
    action_index = jax.random.randint(action_key, (num_samples,), 0, transitions.action.shape[0])
    return Coverage(transitions, states[state_index], transitions.action[action_index])


def reward_correlations(learned: RewardFn, true: RewardFn, batches: Mapping[str, Any]) -> dict[str, float]:
    """The Pearson correlation of ``learned`` with ``true`` on each named batch (e.g. ``"expert"``, ``"random"``).

    Each batch is ``(obs [N, O], action, next_obs [N, O])`` or an object with
    those attributes; a value is NaN where either reward is constant on that
    batch (see :func:`pearson_correlation`). Not jittable (returns floats).
    """
    correlations = {}
    for name, batch in batches.items():
        batch = as_transition_batch(batch)
        correlations[name] = float(pearson_correlation(batch_rewards(learned, batch), batch_rewards(true, batch)))
    return correlations
