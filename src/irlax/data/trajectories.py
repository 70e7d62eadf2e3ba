"""Tabular demonstrations: a padded trajectory pytree with masks, its statistics and file format.

A :class:`Trajectories` holds ``N`` trajectories padded to length ``T``:
``states[i, t]`` and ``actions[i, t]`` are the ``t``-th state and action of
trajectory ``i`` where ``mask[i, t]`` is true. Each trajectory's valid steps are a
prefix (``mask[i]`` is ``1...10...0``), so variable lengths need no special cases.

File format (``.npz``, written atomically by :func:`save_trajectories`):
``states`` int ``[N, T]``, ``actions`` int ``[N, T]``, ``mask`` bool ``[N, T]``,
and the scalars ``num_states`` and ``num_actions`` of the MDP they came from.
Padded entries are stored as 0. Files written by ``irlax sample`` also record the
world they came from: ``world_mdp`` (:func:`irlax.envs.tabular.mdp_fingerprint`) and
``world_reward`` (the true reward's :func:`irlax.envs.tabular.array_fingerprint`);
files without them (older ones, a user's own) are accepted on size alone.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import Array

from irlax.atomic import atomic_save_npz, read_npz
from irlax.checks import scalar_field
from irlax.errors import IrlaxError

FORMAT_KEYS = ("states", "actions", "mask", "num_states", "num_actions")


@struct.dataclass
class Trajectories:
    """``N`` tabular trajectories padded to ``T`` steps.

    Attributes:
        states: ``[N, T]`` int32 state indices.
        actions: ``[N, T]`` int32 action indices.
        mask: ``[N, T]`` bool, true on real steps (a prefix of each row).
    """

    states: Array
    actions: Array
    mask: Array

    @property
    def num_trajectories(self) -> int:
        """N, the count of trajectories."""
        return int(self.states.shape[0])

    @property
    def max_length(self) -> int:
        """T, the padded length of every row."""
        return int(self.states.shape[1])

    @property
    def lengths(self) -> Array:
        """``[N]`` number of real steps of each trajectory."""
        return jnp.sum(self.mask, axis=-1)


def make_trajectories(
    states: np.ndarray,
    actions: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    num_states: int | None = None,
    num_actions: int | None = None,
) -> Trajectories:
    """Validate arrays and build :class:`Trajectories`; all-true mask when ``None``.

    Raises:
        IrlaxError: on wrong shapes or dtypes, NaN, out-of-range indices, an empty
            set, a trajectory with no step, or a mask that is not a prefix.
    """
    states_np, actions_np = np.asarray(states), np.asarray(actions)
    mask_np = np.ones(states_np.shape, bool) if mask is None else np.asarray(mask)
    validate_trajectory_arrays(states_np, actions_np, mask_np, num_states, num_actions)
    return Trajectories(
        states=jnp.asarray(np.where(mask_np, states_np, 0), jnp.int32),
        actions=jnp.asarray(np.where(mask_np, actions_np, 0), jnp.int32),
        mask=jnp.asarray(mask_np, bool),
    )


def _check_index_array(name: str, x: np.ndarray, upper: int | None) -> None:
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise IrlaxError(f"{name} contains NaN or inf")
        if (x != np.round(x)).any():
            raise IrlaxError(f"{name} must hold integer indices, got non-integer floats")
    elif x.dtype.kind not in "iu":
        raise IrlaxError(f"{name} must be an integer array, got dtype {x.dtype}")
    if x.size and x.min() < 0:
        raise IrlaxError(f"{name} has a negative index {x.min()}")
    if upper is not None and x.size and x.max() >= upper:
        raise IrlaxError(f"{name} has index {int(x.max())}, but the MDP has only {upper}")


def validate_trajectory_arrays(
    states: np.ndarray,
    actions: np.ndarray,
    mask: np.ndarray,
    num_states: int | None = None,
    num_actions: int | None = None,
) -> None:
    """Raise :class:`IrlaxError` naming the first problem with trajectory arrays."""
    if states.ndim != 2:
        raise IrlaxError(f"states must have shape [N, T], got {states.shape}")
    if actions.shape != states.shape:
        raise IrlaxError(f"actions shape {actions.shape} does not match states shape {states.shape}")
    if mask.shape != states.shape:
        raise IrlaxError(f"mask shape {mask.shape} does not match states shape {states.shape}")
    if states.shape[0] == 0 or states.shape[1] == 0:
        raise IrlaxError(f"no demonstrations: states has shape {states.shape}")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise IrlaxError("mask must be boolean (0/1)")
        mask = mask.astype(bool)
    valid = np.where(mask)
    _check_index_array("states", states[valid], num_states)
    _check_index_array("actions", actions[valid], num_actions)
    if not mask[:, 0].all():
        i = int(np.argmin(mask[:, 0]))
        raise IrlaxError(f"trajectory {i} has no steps (mask[{i}, 0] is false)")
    not_prefix = (~mask[:, :-1]) & mask[:, 1:]
    if not_prefix.any():
        i = int(np.argwhere(not_prefix)[0, 0])
        raise IrlaxError(f"mask of trajectory {i} has a gap: valid steps must be a prefix")


def check_trajectories_fit(trajectories: Trajectories, num_states: int, num_actions: int) -> None:
    """Raise :class:`IrlaxError` if ``trajectories`` index states or actions outside an MDP."""
    validate_trajectory_arrays(
        np.asarray(trajectories.states),
        np.asarray(trajectories.actions),
        np.asarray(trajectories.mask),
        num_states,
        num_actions,
    )


def save_trajectories(path: str | Path, trajectories: Trajectories, num_states: int, num_actions: int, *,
                      world_mdp: str | None = None, world_reward: str | None = None) -> None:
    """Write ``trajectories`` to an ``.npz`` file atomically (see the module docstring).

    ``world_mdp`` and ``world_reward``: fingerprints of the world they were recorded in, checked on loading.
    """
    extra = {key: np.str_(value) for key, value in (("world_mdp", world_mdp), ("world_reward", world_reward))
             if value is not None}
    atomic_save_npz(
        path,
        states=np.asarray(trajectories.states),
        actions=np.asarray(trajectories.actions),
        mask=np.asarray(trajectories.mask),
        num_states=np.int64(num_states),
        num_actions=np.int64(num_actions),
        **extra,
    )


def load_trajectories(
    path: str | Path, *, num_states: int | None = None, num_actions: int | None = None,
    world_mdp: str | None = None, world_reward: str | None = None, world_path: str | Path | None = None,
) -> Trajectories:
    """Load and validate a demonstrations file written by :func:`save_trajectories`.

    Args:
        path: the ``.npz`` file.
        num_states, num_actions: the MDP the demonstrations will be used with; a
            file recorded on an MDP of another size is rejected.
        world_mdp, world_reward: fingerprints of the world they will be used with; a file that records
            other ones (another world of the same size) is rejected. ``world_path`` names that world in
            the message.

    Raises:
        IrlaxError: a missing, empty or malformed file, a missing array, wrong
            shapes or dtypes, NaN, or a file from a differently sized MDP or another world.
    """
    path = Path(path)
    arrays = read_npz(path, "demonstrations")
    missing = [key for key in FORMAT_KEYS if key not in arrays]
    if missing:
        raise IrlaxError(f"demonstrations file {path} lacks the array(s) {', '.join(missing)}")
    try:
        file_states = scalar_field(arrays["num_states"], "num_states", "int", low=1)
        file_actions = scalar_field(arrays["num_actions"], "num_actions", "int", low=1)
    except IrlaxError as exc:
        raise IrlaxError(f"demonstrations file {path}: {exc}") from None
    for name, expected, found in (("states", num_states, file_states), ("actions", num_actions, file_actions)):
        if expected is not None and expected != found:
            raise IrlaxError(
                f"demonstrations in {path} were recorded on an MDP with {found} {name}, "
                f"but this MDP has {expected}"
            )
    world = f"the world {world_path}" if world_path is not None else "this world"
    for key, expected, what in (("world_mdp", world_mdp, "dynamics or features"),
                                ("world_reward", world_reward, "true reward")):
        if expected is not None and key in arrays and str(arrays[key]) != expected:
            raise IrlaxError(f"demonstrations in {path} were recorded in another world than {world} (same size, "
                             f"another {what}); sample demonstrations from {world_path or 'this world'}")
    try:
        return make_trajectories(
            arrays["states"], arrays["actions"], arrays["mask"],
            num_states=file_states, num_actions=file_actions,
        )
    except IrlaxError as exc:
        raise IrlaxError(f"demonstrations file {path}: {exc}") from None


def step_counts(trajectories: Trajectories, num_states: int, num_actions: int, horizon: int) -> Array:
    """Per-step visit counts ``N[t, s, a]`` of the demonstrations, ``[H, S, A]``.

    Step ``t`` of every trajectory (time since its start) is counted at row ``t``;
    ``horizon`` must be at least the longest trajectory. Jit-able (``horizon``,
    ``num_states`` and ``num_actions`` static).
    """
    n, length = trajectories.states.shape
    t = jnp.broadcast_to(jnp.arange(length), (n, length))
    weights = trajectories.mask.astype(jnp.result_type(float))
    counts = jnp.zeros((horizon, num_states, num_actions), jnp.result_type(float))
    return counts.at[t, trajectories.states, trajectories.actions].add(weights)


def end_aligned_step_counts(
    trajectories: Trajectories, num_states: int, num_actions: int, horizon: int
) -> tuple[Array, Array]:
    """Counts with every trajectory aligned to *end* at ``horizon``: ``([H, S, A], [H, S] starts)``.

    A trajectory of length ``L`` occupies rows ``H - L .. H - 1``; the second
    array holds its start state at row ``H - L``. This is the alignment under
    which a finite-horizon backward pass gives the partition function of
    trajectories of every length (the MaxEnt-2008 model has stationary rewards).
    """
    n, length = trajectories.states.shape
    offset = horizon - trajectories.lengths
    t = offset[:, None] + jnp.arange(length)[None, :]
    t = jnp.where(trajectories.mask, t, 0)
    weights = trajectories.mask.astype(jnp.result_type(float))
    counts = jnp.zeros((horizon, num_states, num_actions), jnp.result_type(float))
    counts = counts.at[t, trajectories.states, trajectories.actions].add(weights)
    starts = jnp.zeros((horizon, num_states), jnp.result_type(float))
    starts = starts.at[offset, trajectories.states[:, 0]].add(1.0)
    return counts, starts


def start_distribution(trajectories: Trajectories, num_states: int) -> Array:
    """Empirical distribution of the trajectories' first states, ``[S]``."""
    counts = jnp.zeros(num_states, jnp.result_type(float)).at[trajectories.states[:, 0]].add(1.0)
    return counts / trajectories.states.shape[0]


def concatenate(parts: list[Trajectories]) -> Trajectories:
    """Stack several :class:`Trajectories` (padding to the longest) into one."""
    length = max(p.max_length for p in parts)

    def pad(x: Array) -> Array:
        return jnp.pad(x, ((0, 0), (0, length - x.shape[1])))

    return jax.tree.map(lambda *xs: jnp.concatenate([pad(x) for x in xs], axis=0), *parts)
