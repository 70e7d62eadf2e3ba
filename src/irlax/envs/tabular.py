"""Tabular MDPs with sparse transitions, as a JAX pytree.

A :class:`TabularMDP` stores, for every state-action pair ``(s, a)``, its ``K``
possible successor states and their probabilities (``next_states[s, a, k]``,
``next_probs[s, a, k]``), so that an expectation over the next state is a gather
and a forward (visitation) pass is a scatter-add: ``O(S * A * K)`` work per step
instead of the ``O(S^2 * A)`` of a dense transition tensor. Successor lists may
repeat a state (their probabilities add) and may be padded with probability 0.

Shapes: ``S`` states, ``A`` actions, ``K`` successors per pair, ``F`` features.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import Array

from irlax.checks import magnitude_limit
from irlax.errors import IrlaxError

ROW_SUM_TOLERANCE = 1e-4


@struct.dataclass
class TabularMDP:
    """A finite MDP with sparse transitions and features.

    Attributes:
        next_states: ``[S, A, K]`` int32, successor state indices.
        next_probs: ``[S, A, K]`` float32, their probabilities (rows sum to 1).
        features: ``[S, F]`` state features or ``[S, A, F]`` state-action features.
        initial: ``[S]`` initial-state distribution.
        discount: discount factor gamma in (0, 1]; static.
        horizon: a finite horizon ``H``, or ``None`` for the discounted infinite
            horizon (then ``discount < 1``); static.
        grid_shape: ``(rows, cols)`` when states are the cells of a grid laid out
            row-major (state ``y * cols + x``), else ``None``; static.
    """

    next_states: Array
    next_probs: Array
    features: Array
    initial: Array
    discount: float = struct.field(pytree_node=False, default=1.0)
    horizon: int | None = struct.field(pytree_node=False, default=None)
    grid_shape: tuple[int, int] | None = struct.field(pytree_node=False, default=None)

    @property
    def num_states(self) -> int:
        """S, the count of states."""
        return int(self.next_states.shape[-3])

    @property
    def num_actions(self) -> int:
        """A, the count of actions."""
        return int(self.next_states.shape[-2])

    @property
    def num_features(self) -> int:
        """F, the length of a state's feature vector."""
        return int(self.features.shape[-1])

    @property
    def state_action_features(self) -> bool:
        """Whether features are per state-action (``[S, A, F]``) rather than per state."""
        return self.features.ndim == 3


def make_mdp(
    next_states: np.ndarray,
    next_probs: np.ndarray,
    features: np.ndarray,
    initial: np.ndarray | None = None,
    *,
    discount: float = 1.0,
    horizon: int | None = None,
    grid_shape: tuple[int, int] | None = None,
) -> TabularMDP:
    """Build and validate a :class:`TabularMDP` from sparse arrays.

    Args:
        next_states: ``[S, A, K]`` successor indices.
        next_probs: ``[S, A, K]`` successor probabilities.
        features: ``[S, F]`` or ``[S, A, F]``.
        initial: ``[S]`` initial distribution; uniform when ``None``.
        discount: gamma in (0, 1].
        horizon: finite horizon, or ``None`` for the discounted infinite horizon.
        grid_shape: ``(rows, cols)`` for grid worlds.

    Raises:
        IrlaxError: on any malformed input (see :func:`validate_mdp`).
    """
    next_states = np.asarray(next_states)
    next_probs = np.asarray(next_probs, dtype=np.float64)
    features = np.asarray(features, dtype=np.float64)
    if next_states.ndim != 3:
        raise IrlaxError(f"next_states must have shape [S, A, K], got {next_states.shape}")
    num_states = next_states.shape[0]
    if num_states == 0 or next_states.shape[1] == 0:
        raise IrlaxError("an MDP needs at least one state and one action")
    if initial is None:
        initial = np.full(num_states, 1.0 / num_states)
    initial = np.asarray(initial, dtype=np.float64)
    validate_mdp(next_states, next_probs, features, initial, discount, horizon, grid_shape)
    next_probs = next_probs / next_probs.sum(axis=2, keepdims=True)  # exact rows (within tolerance before)
    initial = initial / initial.sum()
    real = jnp.result_type(float)  # float32, or float64 under jax.enable_x64
    return TabularMDP(
        next_states=jnp.asarray(next_states, dtype=jnp.int32),
        next_probs=jnp.asarray(next_probs, dtype=real),
        features=jnp.asarray(features, dtype=real),
        initial=jnp.asarray(initial, dtype=real),
        discount=float(discount),
        horizon=None if horizon is None else int(horizon),
        grid_shape=None if grid_shape is None else (int(grid_shape[0]), int(grid_shape[1])),
    )


def from_dense(
    transitions: np.ndarray,
    features: np.ndarray,
    initial: np.ndarray | None = None,
    *,
    discount: float = 1.0,
    horizon: int | None = None,
    grid_shape: tuple[int, int] | None = None,
) -> TabularMDP:
    """Build a :class:`TabularMDP` from a dense transition tensor ``P[S, A, S']``.

    ``K`` is the largest number of nonzero successors of any ``(s, a)``; shorter
    successor lists are padded with probability 0.

    Raises:
        IrlaxError: if ``P`` is not ``[S, A, S]``, has NaN/inf or negative
            entries, or a row that does not sum to 1 (the message names ``(s, a)``).
    """
    p = np.asarray(transitions, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != p.shape[2]:
        raise IrlaxError(f"dense transitions must have shape [S, A, S], got {p.shape}")
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise IrlaxError("an MDP needs at least one state and one action")
    _check_probabilities(p, "transitions", axis_names=("s", "a", "s'"))
    nonzero = p > 0
    k = max(int(nonzero.sum(axis=2).max()), 1)
    order = np.argsort(~nonzero, axis=2, kind="stable")[:, :, :k]
    next_probs = np.take_along_axis(p, order, axis=2)
    next_states = np.where(next_probs > 0, order, 0)
    return make_mdp(
        next_states,
        next_probs,
        features,
        initial,
        discount=discount,
        horizon=horizon,
        grid_shape=grid_shape,
    )


def to_dense(mdp: TabularMDP) -> Array:
    """The dense transition tensor ``P[S, A, S']`` of ``mdp`` (for small MDPs and tests)."""
    s, a = mdp.num_states, mdp.num_actions
    dense = jnp.zeros((s, a, s), dtype=mdp.next_probs.dtype)
    rows = jnp.arange(s)[:, None, None]
    cols = jnp.arange(a)[None, :, None]
    return dense.at[rows, cols, mdp.next_states].add(mdp.next_probs)


def validate_mdp(
    next_states: np.ndarray,
    next_probs: np.ndarray,
    features: np.ndarray,
    initial: np.ndarray,
    discount: float,
    horizon: int | None,
    grid_shape: tuple[int, int] | None,
) -> None:
    """Check the arrays of an MDP and raise :class:`IrlaxError` naming the first problem."""
    if next_probs.shape != next_states.shape:
        raise IrlaxError(
            f"next_probs shape {next_probs.shape} does not match next_states shape "
            f"{next_states.shape}"
        )
    num_states, num_actions, _ = next_states.shape
    if num_states == 0 or num_actions == 0:
        raise IrlaxError("an MDP needs at least one state and one action")
    if not np.issubdtype(next_states.dtype, np.integer):
        raise IrlaxError(f"next_states must be integers, got dtype {next_states.dtype}")
    bad = (next_states < 0) | (next_states >= num_states)
    if bad.any():
        s, a, k = np.argwhere(bad)[0]
        raise IrlaxError(
            f"next_states[{s}, {a}, {k}] = {next_states[s, a, k]} is not a state index "
            f"in [0, {num_states})"
        )
    _check_probabilities(next_probs, "next_probs", axis_names=("s", "a", "k"))
    if features.ndim not in (2, 3) or features.shape[0] != num_states:
        raise IrlaxError(
            f"features must have shape [S={num_states}, F] or [S, A, F], got {features.shape}"
        )
    if features.ndim == 3 and features.shape[1] != num_actions:
        raise IrlaxError(
            f"state-action features must have shape [S, A={num_actions}, F], got {features.shape}"
        )
    if not np.isfinite(features).all():
        raise IrlaxError("features contain NaN or inf")
    if initial.shape != (num_states,):
        raise IrlaxError(f"initial distribution must have shape [S={num_states}], got {initial.shape}")
    if not np.isfinite(initial).all() or (initial < 0).any():
        raise IrlaxError("initial distribution has NaN, inf or negative entries")
    if abs(initial.sum() - 1.0) > ROW_SUM_TOLERANCE:
        raise IrlaxError(f"initial distribution sums to {initial.sum():.6g}, not 1")
    if not (0.0 < discount <= 1.0):
        raise IrlaxError(f"discount must be in (0, 1], got {discount}")
    if horizon is None and discount >= 1.0:
        raise IrlaxError("an infinite-horizon MDP (horizon=None) needs discount < 1")
    if horizon is not None and (isinstance(horizon, bool) or not float(horizon).is_integer() or horizon < 1):
        raise IrlaxError(f"horizon must be a positive integer or None, got {horizon}")
    if grid_shape is not None and (len(grid_shape) != 2 or min(grid_shape) < 1):
        raise IrlaxError(f"grid_shape must be two positive sizes (rows, cols), got {grid_shape}")
    if grid_shape is not None and grid_shape[0] * grid_shape[1] != num_states:
        raise IrlaxError(f"grid_shape {grid_shape} does not have {num_states} cells")


def _check_probabilities(p: np.ndarray, name: str, axis_names: tuple[str, str, str]) -> None:
    """Raise on NaN/inf, negative entries, or rows (over the last axis) not summing to 1."""
    if not np.isfinite(p).all():
        s, a, k = np.argwhere(~np.isfinite(p))[0]
        raise IrlaxError(f"{name} has NaN or inf at ({axis_names[0]}, {axis_names[1]}) = ({s}, {a})")
    if (p < 0).any():
        s, a, k = np.argwhere(p < 0)[0]
        raise IrlaxError(
            f"{name} has a negative probability {p[s, a, k]:.6g} at "
            f"({axis_names[0]}, {axis_names[1]}, {axis_names[2]}) = ({s}, {a}, {k})"
        )
    sums = p.sum(axis=2)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        s, a = np.argwhere(off)[0]
        raise IrlaxError(
            f"{name} row (s, a) = ({s}, {a}) sums to {sums[s, a]:.6g}, not 1"
        )


def state_action_reward(reward: Array, num_actions: int) -> Array:
    """Broadcast a state reward ``[S]`` to ``[S, A]``; pass ``[S, A]`` through."""
    if reward.ndim == 1:
        return jnp.broadcast_to(reward[:, None], (reward.shape[0], num_actions))
    return reward


def array_fingerprint(*arrays: Any) -> str:
    """A short hash (16 hex digits) of arrays' shapes and values, floats as float32 and integers as int64, so
    that the same arrays give the same fingerprint whether JAX runs in float32 or float64."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.asarray(array)
        array = array.astype(np.float32 if np.issubdtype(array.dtype, np.floating) else np.int64)
        digest.update(repr(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def mdp_fingerprint(mdp: TabularMDP) -> str:
    """A fingerprint of an MDP: its transitions, features, initial distribution, discount and horizon.

    Demonstration files record it (:func:`irlax.data.trajectories.save_trajectories`), so demonstrations of
    another world of the same size are refused rather than silently fitted.
    """
    return array_fingerprint(mdp.next_states, mdp.next_probs, mdp.features, mdp.initial, mdp.discount,
                             -1 if mdp.horizon is None else mdp.horizon)


def check_reward(reward: np.ndarray | Array, mdp: TabularMDP, name: str = "reward") -> None:
    """Raise :class:`IrlaxError` unless ``reward`` is a finite ``[S]`` or ``[S, A]`` array."""
    shape = tuple(np.shape(reward))
    if np.asarray(reward).dtype.kind not in "buif":
        raise IrlaxError(f"{name} must hold real numbers, got dtype {np.asarray(reward).dtype}")
    if shape not in ((mdp.num_states,), (mdp.num_states, mdp.num_actions)):
        raise IrlaxError(
            f"{name} must have shape [S={mdp.num_states}] or [S, A={mdp.num_actions}], got {shape}"
        )
    if not np.isfinite(np.asarray(reward)).all():
        raise IrlaxError(f"{name} contains NaN or inf")


def effective_horizon(mdp: TabularMDP) -> float:
    """The number of steps a value sums rewards over: the finite horizon, or ``1 / (1 - gamma)``."""
    return float(mdp.horizon) if mdp.horizon is not None else 1.0 / (1.0 - mdp.discount)


def check_reward_scale(reward: np.ndarray | Array, mdp: TabularMDP, name: str = "reward") -> None:
    """Raise :class:`IrlaxError` when values of ``reward`` over ``mdp``'s horizon could overflow planning.

    The largest value is ``max |r|`` times :func:`effective_horizon`; it must stay below
    :func:`irlax.checks.magnitude_limit` of the planning dtype (about 1.8e19 in float32), so that the planners'
    sums and products of values stay finite.
    """
    largest = float(np.max(np.abs(np.asarray(reward, np.float64)))) if np.size(reward) else 0.0
    steps = effective_horizon(mdp)
    dtype = jnp.result_type(float)
    limit = magnitude_limit(dtype)
    if largest * steps > limit:
        raise IrlaxError(
            f"{name} reaches {largest:.3g}: over {steps:.4g} steps values reach {largest * steps:.3g}, beyond what "
            f"planning in {np.dtype(dtype).name} keeps finite ({limit:.2g}); rescale the rewards"
        )
