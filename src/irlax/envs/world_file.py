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
from irlax.checks import INTEGER_KINDS, NUMBER_KINDS, array_field, scalar_field
from irlax.envs.tabular import (
    TabularMDP,
    array_fingerprint,
    check_reward,
    check_reward_scale,
    from_dense,
    make_mdp,
    mdp_fingerprint,
)
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


MAX_HORIZON = 2**31 - 1
"""The longest finite horizon a world file may ask for (the planners count steps in int32)."""


def _world_fields(arrays: dict[str, np.ndarray]) -> dict:
    """The checked fields of a world file's arrays, as :func:`make_mdp` / :func:`from_dense` arguments."""
    if "features" not in arrays:
        raise IrlaxError("it lacks the array 'features'")
    horizon = scalar_field(arrays["horizon"], "horizon", "int", high=MAX_HORIZON) if "horizon" in arrays else -1
    horizon = None if horizon < 0 else horizon
    if horizon == 0:
        raise IrlaxError("'horizon' must be a positive number of steps, or -1 for the discounted infinite horizon")
    discount = (scalar_field(arrays["discount"], "discount", "float", low=0.0, low_open=True, high=1.0)
                if "discount" in arrays else (1.0 if horizon else 0.99))
    grid = None
    if "grid_shape" in arrays:
        grid = tuple(int(x) for x in array_field(arrays["grid_shape"], "grid_shape", INTEGER_KINDS, shape=(2,)))
    features = array_field(arrays["features"], "features", NUMBER_KINDS, ndim=(2, 3))
    initial = arrays.get("initial")
    if initial is not None:
        initial = array_field(initial, "initial", NUMBER_KINDS, ndim=1)
    fields = dict(features=features, initial=initial, discount=discount, horizon=horizon, grid_shape=grid)
    if "transitions" in arrays:
        fields["transitions"] = array_field(arrays["transitions"], "transitions", NUMBER_KINDS, ndim=3)
    elif "next_states" in arrays and "next_probs" in arrays:
        fields["next_states"] = array_field(arrays["next_states"], "next_states", INTEGER_KINDS, ndim=3)
        fields["next_probs"] = array_field(arrays["next_probs"], "next_probs", NUMBER_KINDS, ndim=3)
    else:
        raise IrlaxError("it needs either 'transitions' or both 'next_states' and 'next_probs'")
    if "reward" in arrays:
        fields["reward"] = array_field(arrays["reward"], "reward", NUMBER_KINDS, ndim=(1, 2))
    return fields


def load_world(path: str | Path) -> tuple[World | None, TabularMDP, str]:
    """Load and validate a world file: ``(World or None if it has no reward, mdp, name)``.

    Every field is checked (:mod:`irlax.checks`): scalars for their kind and range, arrays for dtype kind,
    shape and finiteness; the true reward also for a magnitude that planning can handle
    (:func:`~irlax.envs.tabular.check_reward_scale`).

    Raises:
        IrlaxError: a missing or malformed file, or any MDP validation error, naming the file and the field.
    """
    path = Path(path)
    arrays = read_npz(path, "world")
    try:
        fields = _world_fields(arrays)
        reward = fields.pop("reward", None)
        if "transitions" in fields:
            mdp = from_dense(fields.pop("transitions"), **fields)
        else:
            mdp = make_mdp(fields.pop("next_states"), fields.pop("next_probs"), **fields)
        world = None
        if reward is not None:
            check_reward(reward, mdp, "true reward")
            check_reward_scale(reward, mdp, "true reward")
            world = World(mdp, np.asarray(reward, np.float32))
        name = scalar_field(arrays["name"], "name", "str") if "name" in arrays else path.stem
    except IrlaxError as exc:
        raise IrlaxError(f"world file {path}: {exc}") from None
    return world, mdp, name


def load_rewards(path: str | Path, mdp: TabularMDP) -> np.ndarray:
    """Rewards for ``mdp`` from an ``.npy`` file: ``[S]``, ``[S, A]`` or a stack of them over seeds, as
    ``[K, S]`` / ``[K, S, A]`` float32.

    Raises:
        IrlaxError: a missing or unreadable file (an ``.npz`` archive, text, pickled objects), values that are not
            real numbers, the wrong shape, NaN or infinities, or values too large to plan with; the message names
            the file.
    """
    path = Path(path)
    if not path.is_file():
        raise IrlaxError(f"reward file {path} does not exist" if not path.exists() else f"reward file {path} is not "
                         "a file")
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"PK"):
        raise IrlaxError(f"reward file {path} is an .npz archive; give the .npy array (e.g. a run's reward.npy)")
    if head != b"\x93NUMPY":
        raise IrlaxError(f"reward file {path} is not an .npy array file")
    try:
        rewards = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IrlaxError(f"reward file {path} is not a readable .npy file ({exc})") from None
    try:
        rewards = array_field(rewards, "reward", NUMBER_KINDS, ndim=(1, 2, 3))
        single = rewards.ndim == 1 or (rewards.ndim == 2 and rewards.shape == (mdp.num_states, mdp.num_actions))
        rewards = rewards[None] if single else rewards
        for seed, reward in enumerate(rewards):
            what = "reward" if single else f"reward {seed}"
            check_reward(reward, mdp, what)
            check_reward_scale(reward, mdp, what)
    except IrlaxError as exc:
        raise IrlaxError(f"reward file {path}: {exc}") from None
    return rewards.astype(np.float32)


def world_fingerprints(world: World | None, mdp: TabularMDP) -> dict[str, str]:
    """The fingerprints demonstration files record of the world they come from: ``world_mdp`` (the MDP's) and,
    when the true reward is known, ``world_reward`` (keyword arguments of
    :func:`irlax.data.trajectories.save_trajectories` and :func:`~irlax.data.trajectories.load_trajectories`)."""
    out = {"world_mdp": mdp_fingerprint(mdp)}
    if world is not None:
        out["world_reward"] = array_fingerprint(world.reward)
    return out
