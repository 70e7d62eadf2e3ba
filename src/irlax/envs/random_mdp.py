"""Random sparse tabular MDPs, for tests and benchmarks (e.g. Ziebart et al. 2008 style)."""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.tabular import TabularMDP
from irlax.envs.world import World
from irlax.errors import IrlaxError


@partial(jax.jit, static_argnums=(1, 2, 3))
def distinct_successors(key: Array, num_states: int, num_actions: int, k: int) -> Array:
    """``k`` distinct states per ``(s, a)``, a uniformly random subset: ``[S, A, k]`` int32.

    Robert Floyd's sampling algorithm, vectorised over ``(s, a)``: ``O(S A k^2)``
    work, without the ``O(S^2 A)`` of a random permutation per pair.
    """
    return _floyd(jax.random.uniform(key, (k, num_states, num_actions)), num_states)


def _floyd(u: Array, num_states: int) -> Array:
    """Floyd's algorithm driven by uniforms ``u [k, S, A]``: ``[S, A, k]`` distinct indices."""
    k = u.shape[0]
    chosen = jnp.zeros(u.shape[1:] + (0,), dtype=jnp.int32)
    for i, j in enumerate(range(num_states - k, num_states)):
        t = jnp.minimum(jnp.floor(u[i] * (j + 1)), j).astype(jnp.int32)  # uniform on 0..j
        taken = jnp.any(chosen == t[..., None], axis=-1)
        pick = jnp.where(taken, jnp.int32(j), t)
        chosen = jnp.concatenate([chosen, pick[..., None]], axis=-1)
    return chosen


def make_random_mdp(
    key: Array,
    num_states: int,
    num_actions: int,
    *,
    num_successors: int = 3,
    num_features: int | None = None,
    discount: float = 0.9,
    horizon: int | None = None,
    reward_scale: float = 1.0,
) -> World:
    """A random MDP with sparse transitions and a random true reward.

    Each ``(s, a)`` has ``num_successors`` distinct successors drawn uniformly without
    replacement, with Dirichlet(1) probabilities (normalised Exponential(1) draws).
    With ``num_features = F`` the features are standard normal ``[S, F]`` and the
    true reward is
    ``reward_scale * features @ w`` with ``w ~ N(0, I_F)``; with ``None`` the
    features are one-hot states ``[S, S]`` and the reward is
    ``reward_scale * N(0, 1)`` per state. Uniform initial distribution. The
    sizes and ``discount``/``horizon`` are static (jit/vmap over ``key`` only).

    Returns:
        a :class:`World` with a state reward ``[S]``.

    Raises:
        IrlaxError: on non-positive sizes, ``num_successors > num_states``, or a
            discount/horizon pair that ``validate_mdp`` would reject.
    """
    _check_arguments(num_states, num_actions, num_successors, num_features, discount, horizon)
    mdp, reward = _random_mdp(key, num_states, num_actions, num_successors, num_features)
    mdp = mdp.replace(discount=float(discount), horizon=None if horizon is None else int(horizon))
    return World(mdp=mdp, reward=(reward_scale * reward).astype(jnp.float32))


@partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _random_mdp(
    key: Array, num_states: int, num_actions: int, num_successors: int, num_features: int | None
) -> tuple[TabularMDP, Array]:
    """The random arrays of :func:`make_random_mdp` (discount and horizon left at defaults)."""
    shape = (num_successors, num_states, num_actions)
    num_normals = num_states if num_features is None else (num_states + 1) * num_features
    # One uniform draw for everything (one threefry kernel keeps compiles short on
    # CPU); in (0, 1) so that the inverse-CDF transforms below stay finite.
    u = jax.random.uniform(
        key, (2 * math.prod(shape) + num_normals,), minval=jnp.finfo(jnp.float32).tiny
    )
    u_floyd, u_exp, u_normal = jnp.split(u, [math.prod(shape), 2 * math.prod(shape)])
    next_states = _floyd(u_floyd.reshape(shape), num_states)
    exponentials = -jnp.log1p(-jnp.moveaxis(u_exp.reshape(shape), 0, -1))  # Exponential(1)
    next_probs = exponentials / jnp.sum(exponentials, axis=-1, keepdims=True)  # Dirichlet(1)
    normals = jax.scipy.special.ndtri(u_normal)  # standard normal by the inverse CDF
    if num_features is None:
        features = jnp.eye(num_states, dtype=jnp.float32)
        reward = normals
    else:
        normals = normals.reshape(num_states + 1, num_features)
        features, weights = normals[:-1], normals[-1]
        reward = features @ weights
    mdp = TabularMDP(
        next_states=next_states,
        next_probs=next_probs.astype(jnp.float32),
        features=features,
        initial=jnp.full((num_states,), 1.0 / num_states, dtype=jnp.float32),
    )
    return mdp, reward


def _check_arguments(
    num_states: int,
    num_actions: int,
    num_successors: int,
    num_features: int | None,
    discount: float,
    horizon: int | None,
) -> None:
    """Raise :class:`IrlaxError` on arguments that cannot make a valid MDP."""
    if num_states < 1 or num_actions < 1:
        raise IrlaxError(f"need positive sizes, got S={num_states}, A={num_actions}")
    if not 1 <= num_successors <= num_states:
        raise IrlaxError(f"num_successors must be in [1, S={num_states}], got {num_successors}")
    if num_features is not None and num_features < 1:
        raise IrlaxError(f"num_features must be positive or None, got {num_features}")
    if not 0.0 < discount <= 1.0 or (horizon is None and discount >= 1.0):
        raise IrlaxError(f"discount {discount} must be in (0, 1), or (0, 1] with a finite horizon")
    if horizon is not None and horizon < 1:
        raise IrlaxError(f"horizon must be a positive integer or None, got {horizon}")
