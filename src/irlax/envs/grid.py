"""Shared dynamics of grid worlds: moves with slip, computed once in NumPy.

States are the cells of a ``rows x cols`` grid, row-major: state ``s = y * cols + x``.
A move off the grid leaves the agent in place. The dynamics are the same for every
seed, so they are plain NumPy constants (they become compile-time constants under
``jax.jit``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from irlax.errors import IrlaxError

ActionSet = Literal["five", "four"]

#: ``(dy, dx)`` of each action. "five": stay, +y, +x, -y, -x (Levine et al. 2011).
FIVE_ACTIONS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1))
#: ``(dy, dx)`` of each action. "four": +y, +x, -y, -x (no stay).
FOUR_ACTIONS: tuple[tuple[int, int], ...] = FIVE_ACTIONS[1:]


def action_deltas(actions: ActionSet) -> np.ndarray:
    """The ``[A, 2]`` array of ``(dy, dx)`` moves of the named action set."""
    if actions == "five":
        return np.asarray(FIVE_ACTIONS, dtype=np.int64)
    if actions == "four":
        return np.asarray(FOUR_ACTIONS, dtype=np.int64)
    raise IrlaxError(f"actions must be 'five' or 'four', got {actions!r}")


def grid_moves(rows: int, cols: int, actions: ActionSet = "five") -> np.ndarray:
    """Deterministic successor of every (state, executed action): ``[S, A]`` int32.

    A move that would leave the grid keeps the agent in its cell.
    """
    if rows < 1 or cols < 1:
        raise IrlaxError(f"a grid needs at least one row and column, got {rows} x {cols}")
    deltas = action_deltas(actions)
    y, x = np.divmod(np.arange(rows * cols), cols)
    ny = y[:, None] + deltas[None, :, 0]
    nx = x[:, None] + deltas[None, :, 1]
    inside = (ny >= 0) & (ny < rows) & (nx >= 0) & (nx < cols)
    moved = ny * cols + nx
    return np.where(inside, moved, np.arange(rows * cols)[:, None]).astype(np.int32)


def grid_transitions(
    rows: int,
    cols: int,
    actions: ActionSet = "five",
    determinism: float = 0.7,
) -> tuple[np.ndarray, np.ndarray]:
    """Slippery grid dynamics in the sparse ``TabularMDP`` layout.

    The chosen action is executed with probability ``determinism`` and each of the
    other ``A - 1`` actions with ``(1 - determinism) / (A - 1)`` (the objectworld
    dynamics of Levine, Popovic & Koltun 2011). Successor ``k`` of ``(s, a)`` is the
    cell reached by executing action ``k`` from ``s``, so ``K = A``; successors may
    repeat (e.g. at a wall) and their probabilities then add.

    Args:
        rows, cols: grid shape; ``S = rows * cols``.
        actions: "five" (stay, +y, +x, -y, -x) or "four" (+y, +x, -y, -x).
        determinism: probability in [0, 1] that the chosen action is executed.

    Returns:
        ``(next_states [S, A, K] int32, next_probs [S, A, K] float32)``.
    """
    if not 0.0 <= determinism <= 1.0:
        raise IrlaxError(f"determinism must be in [0, 1], got {determinism}")
    moves = grid_moves(rows, cols, actions)
    num_states, num_actions = moves.shape
    next_states = np.broadcast_to(moves[:, None, :], (num_states, num_actions, num_actions))
    slip = (1.0 - determinism) / (num_actions - 1)
    probs = np.where(np.eye(num_actions, dtype=bool), determinism, slip)
    next_probs = np.broadcast_to(probs[None], (num_states, num_actions, num_actions))
    return np.ascontiguousarray(next_states), next_probs.astype(np.float32)
