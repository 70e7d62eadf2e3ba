"""The cliff world (Sutton & Barto 2018, example 6.6), scaled up as a planning benchmark.

A ``width x height`` grid, state ``y * width + x``; the *bottom row* is ``y = 0``
(draw with ``origin="lower"``). The start is the bottom-left cell ``(x=0, y=0)``,
the goal the bottom-right cell ``(x=width-1, y=0)``, and the cells between them on
the bottom row are the cliff. The default 100 x 20 world is the 2000-state,
4-action, horizon-110 MDP of our planning speed benchmark.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from irlax.envs.grid import grid_transitions
from irlax.envs.tabular import make_mdp
from irlax.envs.world import World
from irlax.errors import IrlaxError

STEP_REWARD = -1.0
CLIFF_REWARD = -100.0
GOAL_REWARD = 0.0


def make_cliffworld(
    width: int = 100,
    height: int = 20,
    *,
    discount: float = 1.0,
    horizon: int | None = 110,
    slip: float = 0.0,
) -> World:
    """Build the cliff world (Sutton & Barto 2018, example 6.6) of the given size.

    Four actions (+y, +x, -y, -x). The chosen move happens with probability
    ``1 - slip`` and each other move with ``slip / 3``; moves off the grid stay put.
    Every step costs -1, except a step into the cliff, which costs -100 and puts
    the agent back on the start (so the cliff cells are never occupied; they keep
    ordinary dynamics but are unreachable). The goal is absorbing with reward 0.
    With ``slip = 0`` the dynamics are deterministic and stored with ``K = 1``.

    Features are one-hot states ``[S, S]`` (a tabular reward model); the initial
    distribution is the start state.

    Returns:
        a :class:`World` with the state-action reward ``[S, A]`` (the expected reward
        of the step, over the slip), ``grid_shape (height, width)``.

    Raises:
        IrlaxError: for a grid narrower than 2 cells, or a slip outside [0, 1].
    """
    if width < 2 or height < 1:
        raise IrlaxError(f"the cliff world needs width >= 2 and height >= 1, got {width}x{height}")
    if not 0.0 <= slip <= 1.0:
        raise IrlaxError(f"slip must be in [0, 1], got {slip}")
    num_states = width * height
    start, goal = 0, width - 1
    cliff = np.zeros(num_states, dtype=bool)
    cliff[start + 1 : goal] = True
    next_states, next_probs = grid_transitions(height, width, "four", 1.0 - slip)
    if slip == 0.0:
        chosen = np.arange(next_states.shape[1])
        next_states = next_states[:, chosen, chosen][:, :, None]
        next_probs = next_probs[:, chosen, chosen][:, :, None]
    step_reward = np.where(cliff[next_states], CLIFF_REWARD, STEP_REWARD)
    next_states = np.where(cliff[next_states], start, next_states)
    next_states[goal] = goal
    step_reward[goal] = GOAL_REWARD
    reward = np.sum(next_probs * step_reward, axis=2)
    initial = np.zeros(num_states)
    initial[start] = 1.0
    mdp = make_mdp(
        next_states,
        next_probs,
        np.eye(num_states, dtype=np.float32),
        initial,
        discount=discount,
        horizon=horizon,
        grid_shape=(height, width),
    )
    return World(mdp=mdp, reward=jnp.asarray(reward, dtype=jnp.float32))
