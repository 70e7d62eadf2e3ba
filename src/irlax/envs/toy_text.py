"""Gymnasium's toy-text environments (FrozenLake, CliffWalking, Taxi) as tabular worlds.

These environments publish their dynamics as a transition table
``env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]``, and
their ``step`` samples from it. :func:`make_toy_text` turns that table into a
:class:`~irlax.envs.world.World`, so every tabular algorithm runs on it:

- **Transitions** are the table's, with the probabilities of repeated successors
  added (FrozenLake's slips into a wall repeat the current cell).
- **The true reward** is ``r(s, a) = sum_k p_k r_k``, the expected reward of the
  step over its successors (as the cliff world does); expected returns, and so
  the optimal and soft-optimal policies, are those of the table's
  ``(s, a, s')`` rewards.
- **Termination.** A :class:`~irlax.envs.tabular.TabularMDP` has no terminal
  flag, so every state that a terminating step enters is made absorbing with
  reward 0, the cliff world's goal convention. A terminating step's own reward
  counts, then nothing more does: the returns of Gymnasium's episodes. Such a
  state must not be a start state, nor be entered without terminating from a
  state that episodes reach (true of every toy-text environment), or it could
  not be absorbing. FrozenLake's table already has its holes and goal absorbing
  with reward 0; the rows of CliffWalking's goal and of Taxi's four "delivered"
  states are replaced. States no episode reaches keep their rows: Taxi's other
  states with the passenger at its destination, from which a move may enter a
  delivered state, now absorbing, without the reward of a delivery.
- **Time limits** (Gymnasium's ``TimeLimit`` wrapper) are not part of the MDP:
  by default it is discounted with an infinite horizon, like the gridworld and
  a world file without a horizon (``discount=0.99``); pass ``horizon`` for a
  finite one.
- **Features** are one-hot states ``[S, S]`` (a tabular reward model); the
  initial distribution is the environment's ``initial_state_distrib`` (or
  CliffWalking's ``start_state_index``); grid environments get ``grid_shape``
  ``(rows, cols)`` with Gymnasium's row 0, the top row, as grid row 0 (so
  irlax's reward maps, drawn with y upward, show the map upside down).

Gymnasium is imported only when a toy-text world is built.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from irlax.envs.tabular import make_mdp
from irlax.envs.world import World
from irlax.errors import IrlaxError

DEFAULT_DISCOUNT = 0.99
TOY_TEXT_MODULE = "gymnasium.envs.toy_text."

Outcome = tuple[float, int, float, bool]
"""One entry of a transition table: ``(probability, next_state, reward, terminated)``."""


def _gymnasium() -> Any:
    """The ``gymnasium`` module, or an :class:`IrlaxError` saying how to install it."""
    try:
        import gymnasium
    except ImportError:
        raise IrlaxError("Gymnasium worlds need the gymnasium package (pip install gymnasium)") from None
    return gymnasium


@functools.cache
def toy_text_ids() -> tuple[str, ...]:
    """The registered Gymnasium toy-text ids whose environment has a transition table ``P``.

    With gymnasium 1.3: FrozenLake-v1, FrozenLake8x8-v1, CliffWalking-v1,
    CliffWalkingSlippery-v1 and Taxi-v4 (Blackjack-v1 has no table).
    """
    gymnasium = _gymnasium()
    ids = []
    for env_id, spec in gymnasium.registry.items():
        if isinstance(spec.entry_point, str) and spec.entry_point.startswith(TOY_TEXT_MODULE):
            env = gymnasium.make(env_id)
            if hasattr(env.unwrapped, "P"):
                ids.append(env_id)
            env.close()
    return tuple(ids)


def is_gymnasium_id(name: str) -> bool:
    """Whether ``name`` is a registered Gymnasium environment id (toy-text or not)."""
    return name in _gymnasium().registry


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean X?)"`` naming the candidates closest to ``name`` (``""`` when none is close)."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def make_toy_text(
    env_id: str,
    *,
    discount: float = DEFAULT_DISCOUNT,
    horizon: int | None = None,
    **make_kwargs: Any,
) -> World:
    """Build the tabular world of a Gymnasium toy-text environment from its transition table.

    ``gymnasium.make(env_id, **make_kwargs)`` builds the environment (e.g.
    ``make_toy_text("FrozenLake-v1", is_slippery=False)``); its table becomes the
    MDP as the module docstring describes: repeated successors summed, the
    expected reward ``r(s, a)``, states entered by terminating steps absorbing
    with reward 0, one-hot state features, the environment's start distribution.

    Args:
        env_id: a registered id whose environment has a table ``P``
            (:func:`toy_text_ids`: FrozenLake-v1, CliffWalking-v1, Taxi-v4, ...).
        discount: gamma (default 0.99, infinite horizon).
        horizon: a finite horizon, or ``None`` for the discounted infinite horizon.
        **make_kwargs: passed to ``gymnasium.make``.

    Returns:
        a :class:`World` with features ``[S, S]`` and the true reward ``[S, A]``.

    Raises:
        IrlaxError: an unregistered id (naming the closest toy-text ids), an
            environment without a transition table or with dynamics outside it
            (Taxi's ``fickle_passenger``), arguments ``gymnasium.make`` rejects, or a
            table that is not a valid MDP.
    """
    gymnasium = _gymnasium()
    if env_id not in gymnasium.registry:
        raise IrlaxError(
            f"unknown Gymnasium environment {env_id!r}{did_you_mean(env_id, toy_text_ids())}; "
            f"toy-text ids with a transition table: {', '.join(toy_text_ids())}"
        )
    try:
        env = gymnasium.make(env_id, **make_kwargs)
    except (gymnasium.error.Error, ImportError, TypeError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IrlaxError(f"gymnasium.make({env_id!r}) failed: {first_line}") from None
    try:
        return _world_of_env(env_id, env.unwrapped, discount, horizon)
    finally:
        env.close()


def _world_of_env(env_id: str, env: Any, discount: float, horizon: int | None) -> World:
    """The world of an unwrapped toy-text environment (see :func:`make_toy_text`)."""
    table = getattr(env, "P", None)
    if not isinstance(table, Mapping):
        raise IrlaxError(
            f"{env_id} has no transition table P, so it can't be a tabular world "
            f"(toy-text ids with one: {', '.join(toy_text_ids())})"
        )
    if getattr(env, "fickle_passenger", False):
        raise IrlaxError(f"{env_id} with fickle_passenger=True changes destinations outside its transition table")
    num_states = _discrete_size(env_id, env.observation_space, "observation")
    num_actions = _discrete_size(env_id, env.action_space, "action")
    return table_world(
        table,
        num_states,
        num_actions,
        _initial_distribution(env_id, env, num_states),
        discount=discount,
        horizon=horizon,
        grid_shape=_grid_shape(env, num_states),
    )


def table_world(
    table: Mapping[int, Mapping[int, Sequence[Outcome]]],
    num_states: int,
    num_actions: int,
    initial: np.ndarray,
    *,
    discount: float = DEFAULT_DISCOUNT,
    horizon: int | None = None,
    grid_shape: tuple[int, int] | None = None,
) -> World:
    """The world of a Gymnasium-style transition table ``table[s][a] = [(p, s', r, terminated), ...]``.

    Probabilities of repeated successors add; the reward is the expected reward
    ``r(s, a) = sum p r``; every state a terminating step (with ``p > 0``) enters
    becomes absorbing with reward 0; features are one-hot states. Such a terminal
    state must not be a start state nor be entered, without terminating, from a
    state reachable from the start (states that are not reachable keep their rows).

    Args:
        table: the transition table, every state ``0..S-1`` and action ``0..A-1``.
        num_states, num_actions: ``S`` and ``A``.
        initial: ``[S]`` start distribution.
        discount, horizon, grid_shape: as in :func:`~irlax.envs.tabular.make_mdp`.

    Returns:
        a :class:`World` with one-hot features ``[S, S]`` and the reward ``[S, A]``.

    Raises:
        IrlaxError: a missing state or action, a malformed outcome, a successor out
            of range, a row not summing to 1, or a terminal state that is also
            a start state or entered without termination from a reachable state.
    """
    successors = [[{} for _ in range(num_actions)] for _ in range(num_states)]
    reward = np.zeros((num_states, num_actions))
    terminal = np.zeros(num_states, dtype=bool)  # entered by a terminating step
    entered_plainly: dict[int, list[tuple[int, int]]] = {}  # next state -> the (s, a) that enter it, not terminating
    for s in range(num_states):
        for a in range(num_actions):
            for outcome in _outcomes(table, s, a):
                prob, next_state, step_reward, terminated = _parse_outcome(outcome, s, a, num_states)
                successors[s][a][next_state] = successors[s][a].get(next_state, 0.0) + prob
                reward[s, a] += prob * step_reward
                if prob > 0 and terminated:
                    terminal[next_state] = True
                elif prob > 0:
                    entered_plainly.setdefault(next_state, []).append((s, a))
    initial = np.asarray(initial, dtype=np.float64)
    if initial.shape != (num_states,):
        raise IrlaxError(f"initial distribution must have shape [S={num_states}], got {initial.shape}")
    reachable = _reachable(successors, terminal, initial > 0)
    for s in np.flatnonzero(terminal):
        into = [(t, a) for t, a in entered_plainly.get(int(s), []) if reachable[t] and not terminal[t]]
        if into:
            t, a = into[0]
            raise IrlaxError(f"state {s} is entered by terminating steps and by the step ({t}, {a}) that does not "
                             "terminate, so it can't be made absorbing")
        if initial[s] > 0:
            raise IrlaxError(f"state {s} is a start state and entered by terminating steps, so it can't be absorbing")
        successors[s] = [{int(s): 1.0} for _ in range(num_actions)]
        reward[s] = 0.0
    width = max(len(row) for rows in successors for row in rows)
    next_states = np.zeros((num_states, num_actions, width), dtype=np.int64)
    next_probs = np.zeros((num_states, num_actions, width))
    for s in range(num_states):
        for a in range(num_actions):
            for k, next_state in enumerate(sorted(successors[s][a])):
                next_states[s, a, k] = next_state
                next_probs[s, a, k] = successors[s][a][next_state]
    mdp = make_mdp(next_states, next_probs, np.eye(num_states, dtype=np.float32), initial,
                   discount=discount, horizon=horizon, grid_shape=grid_shape)
    return World(mdp=mdp, reward=jnp.asarray(reward, dtype=mdp.next_probs.dtype))


def _reachable(successors: list[list[dict[int, float]]], terminal: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``[S]`` bool: the states reachable from ``start`` with positive probability, stopping at terminal states."""
    reached = start.copy()
    frontier = list(np.flatnonzero(start))
    while frontier:
        state = frontier.pop()
        if terminal[state]:
            continue
        for row in successors[state]:
            for next_state, prob in row.items():
                if prob > 0 and not reached[next_state]:
                    reached[next_state] = True
                    frontier.append(next_state)
    return reached


def _outcomes(table: Mapping, state: int, action: int) -> Sequence:
    """``table[state][action]``, or an :class:`IrlaxError` naming the missing entry."""
    try:
        outcomes = table[state][action]
    except (KeyError, IndexError, TypeError):
        raise IrlaxError(f"the transition table has no entry for (state, action) = ({state}, {action})") from None
    if not outcomes:
        raise IrlaxError(f"the transition table's entry for (state, action) = ({state}, {action}) is empty")
    return outcomes


def _parse_outcome(outcome: Any, state: int, action: int, num_states: int) -> tuple[float, int, float, bool]:
    """One ``(p, s', r, terminated)`` outcome, checked: ``p`` and ``r`` finite, ``p >= 0``, ``s'`` a state."""
    where = f"(state, action) = ({state}, {action})"
    try:
        prob, next_state, step_reward, terminated = outcome
        prob, step_reward = float(prob), float(step_reward)
    except (TypeError, ValueError):
        raise IrlaxError(f"the transition table's outcome {outcome!r} at {where} is not "
                         "(probability, next_state, reward, terminated)") from None
    if not (np.isfinite(prob) and prob >= 0 and np.isfinite(step_reward)):
        raise IrlaxError(f"the transition table's outcome at {where} has probability {prob} and reward {step_reward}")
    if isinstance(next_state, bool) or not float(next_state).is_integer() or not 0 <= next_state < num_states:
        raise IrlaxError(f"the transition table's next state {next_state!r} at {where} is not in [0, {num_states})")
    return prob, int(next_state), step_reward, bool(terminated)


def _discrete_size(env_id: str, space: Any, what: str) -> int:
    """The size of a ``Discrete`` space that starts at 0."""
    size = getattr(space, "n", None)
    if size is None or int(getattr(space, "start", 0)) != 0:
        raise IrlaxError(f"{env_id}'s {what} space {space} is not Discrete(n) starting at 0")
    return int(size)


def _initial_distribution(env_id: str, env: Any, num_states: int) -> np.ndarray:
    """``initial_state_distrib``, else a one-hot ``start_state_index``."""
    initial = getattr(env, "initial_state_distrib", None)
    if initial is not None:
        return np.asarray(initial, dtype=np.float64)
    start = getattr(env, "start_state_index", None)
    if start is None:
        raise IrlaxError(f"{env_id} has neither initial_state_distrib nor start_state_index")
    initial = np.zeros(num_states)
    initial[int(start)] = 1.0
    return initial


def _grid_shape(env: Any, num_states: int) -> tuple[int, int] | None:
    """``(rows, cols)`` of a grid environment (FrozenLake's ``nrow, ncol``, CliffWalking's ``shape``), else None."""
    if hasattr(env, "nrow") and hasattr(env, "ncol"):
        shape = (env.nrow, env.ncol)
    else:
        shape = tuple(getattr(env, "shape", ()) or ())
    if len(shape) == 2 and all(isinstance(n, int | np.integer) for n in shape) and shape[0] * shape[1] == num_states:
        return int(shape[0]), int(shape[1])
    return None
