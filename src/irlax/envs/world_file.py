"""World files: a tabular MDP (and optionally its true reward) in one ``.npz``.

Format (all arrays; written atomically by :func:`save_world`):

- either sparse ``next_states`` int ``[S, A, K]`` and ``next_probs`` float ``[S, A, K]``,
  or dense ``transitions`` float ``[S, A, S]`` (for MDPs brought from elsewhere);
- ``features`` ``[S, F]`` or ``[S, A, F]``; ``initial`` ``[S]`` (optional, uniform);
- ``discount`` scalar (optional, 1.0 — or 0.99 when no horizon is given);
  ``horizon`` scalar int, ``-1`` or absent for the discounted infinite horizon;
- ``grid_shape`` ``[2]`` int (optional); ``reward`` ``[S]`` or ``[S, A]`` (optional true reward);
- ``name`` (optional string): the world's kind (``objectworld``, ...) or, for a world built from a
  Gymnasium toy-text environment, its Gymnasium id (``FrozenLake-v1``); ``load_world`` returns it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from irlax.atomic import atomic_save_npz, read_npz
from irlax.envs.tabular import TabularMDP, array_fingerprint, check_reward, from_dense, make_mdp, mdp_fingerprint
from irlax.envs.world import World
from irlax.errors import IrlaxError


def save_world(path: str | Path, mdp: TabularMDP, reward=None, name: str = "") -> None:
    """Write ``mdp`` (and its true ``reward``, if given) to ``path`` atomically."""
    arrays = {
        "next_states": np.asarray(mdp.next_states),
        "next_probs": np.asarray(mdp.next_probs),
        "features": np.asarray(mdp.features),
        "initial": np.asarray(mdp.initial),
        "discount": np.float64(mdp.discount),
        "horizon": np.int64(-1 if mdp.horizon is None else mdp.horizon),
        "name": np.str_(name),
    }
    if mdp.grid_shape is not None:
        arrays["grid_shape"] = np.asarray(mdp.grid_shape, np.int64)
    if reward is not None:
        arrays["reward"] = np.asarray(reward)
    atomic_save_npz(path, **arrays)


def load_world(path: str | Path) -> tuple[World | None, TabularMDP, str]:
    """Load and validate a world file: ``(World or None if it has no reward, mdp, name)``.

    Raises:
        IrlaxError: a missing or malformed file, or any MDP validation error.
    """
    path = Path(path)
    arrays = read_npz(path, "world")
    if "features" not in arrays:
        raise IrlaxError(f"world file {path} lacks the array 'features'")
    horizon = int(arrays["horizon"]) if "horizon" in arrays else -1
    horizon = None if horizon < 0 else horizon
    discount = float(arrays["discount"]) if "discount" in arrays else (1.0 if horizon else 0.99)
    grid = tuple(int(x) for x in arrays["grid_shape"]) if "grid_shape" in arrays else None
    kwargs = dict(discount=discount, horizon=horizon, grid_shape=grid)
    try:
        if "transitions" in arrays:
            mdp = from_dense(arrays["transitions"], arrays["features"], arrays.get("initial"), **kwargs)
        elif "next_states" in arrays and "next_probs" in arrays:
            mdp = make_mdp(
                arrays["next_states"], arrays["next_probs"], arrays["features"], arrays.get("initial"), **kwargs
            )
        else:
            raise IrlaxError("it needs either 'transitions' or both 'next_states' and 'next_probs'")
        world = None
        if "reward" in arrays:
            check_reward(arrays["reward"], mdp, "true reward")
            world = World(mdp, np.asarray(arrays["reward"], np.float32))
    except IrlaxError as exc:
        raise IrlaxError(f"world file {path}: {exc}") from None
    name = str(arrays["name"]) if "name" in arrays else path.stem
    return world, mdp, name


def world_fingerprints(world: World | None, mdp: TabularMDP) -> dict[str, str]:
    """The fingerprints demonstration files record of the world they come from: ``world_mdp`` (the MDP's) and,
    when the true reward is known, ``world_reward`` (keyword arguments of
    :func:`irlax.data.trajectories.save_trajectories` and :func:`~irlax.data.trajectories.load_trajectories`)."""
    out = {"world_mdp": mdp_fingerprint(mdp)}
    if world is not None:
        out["world_reward"] = array_fingerprint(world.reward)
    return out
