"""Demonstrations on control tasks: whole episodes padded to the longest, their statistics and file format.

A :class:`Demonstrations` holds ``N`` episodes padded to ``T`` steps (``T`` is the
longest episode): step ``t`` of episode ``i`` is real where ``mask[i, t]`` is true,
and each episode's real steps are a prefix, so variable lengths need no special
cases (sum with the mask; never assume a fixed horizon). Padded entries are 0.

Arrays (leaves of the pytree, written to and read from ``.npz`` files):

=============  ===================  =======  ==================================================
name           shape                dtype    meaning
=============  ===================  =======  ==================================================
``obs``        ``[N, T, O]``        float32  observation acted on at step ``t``
``actions``    ``[N, T]``           int32    action index (discrete tasks)
               ``[N, T, D]``        float32  action vector, within the bounds (continuous)
``next_obs``   ``[N, T, O]``        float32  the true successor observation of step ``t``
``rewards``    ``[N, T]``           float32  the environment's (true) reward of step ``t``
``terminated`` ``[N, T]``           bool     step ``t`` reached a terminal state (no bootstrap)
``truncated``  ``[N, T]``           bool     the time limit ended the episode at step ``t``
``log_probs``  ``[N, T]``           float32  the expert's ``log pi(a_t | s_t)`` of the action it took (0 where
                                             not known: ``log_probs_known`` false)
``mask``       ``[N, T]``           bool     true on real steps (a non-empty prefix per episode)
=============  ===================  =======  ==================================================

Metadata (static fields of the pytree; scalars in the file): ``env_name`` (a Gymnasium id or
irlax task name), ``backend`` (``"jax"`` or ``"gymnasium"``: which implementation of the task
recorded them; ``""`` in files from before it was kept), ``obs_size``
``O``, ``discrete``, ``action_size`` (number of actions, or ``D``) and ``expert``, a
JSON description of the policy that produced them (learner, expert directory,
its evaluation return, stochastic or deterministic actions) and ``log_probs_known``: false for demonstrations
imported from a format that does not hold the expert's log-probabilities (Minari, the ``imitation`` library's
files): their ``log_probs`` are 0 and mean nothing. Files also carry
``format_version`` and, when recorded by irlax, ``task``: the task's
:attr:`irlax.envs.spec.EnvSpec.fingerprint`, so demonstrations of another variant of a
task under the same name are refused (files without it are accepted).

Continuous actions are recorded as the environment executed them: clipped into
``[action_low, action_high]``. Their ``log_probs`` are those of the policy's own
draw (for PPO's unbounded Gaussian, of the draw before clipping).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import Array

from irlax.atomic import atomic_save_npz, read_npz
from irlax.data.transitions import Episodes, Transition
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError, IrlaxWarning

FORMAT_VERSION = 1
ARRAY_KEYS = ("obs", "actions", "next_obs", "rewards", "terminated", "truncated", "log_probs", "mask")
META_KEYS = ("env_name", "obs_size", "discrete", "action_size", "expert", "format_version")
ACTION_TOLERANCE = 1e-5
"""How far outside the environment's bounds a recorded continuous action may lie (float rounding)."""


@struct.dataclass
class Demonstrations:
    """``N`` expert episodes of a control task padded to ``T`` steps (see the module docstring).

    Attributes:
        obs: ``[N, T, O]`` float32 observations acted on.
        actions: ``[N, T]`` int32 (discrete) or ``[N, T, D]`` float32 (continuous) actions.
        next_obs: ``[N, T, O]`` float32 true successor observations.
        rewards: ``[N, T]`` float32 true rewards.
        terminated: ``[N, T]`` bool, the step ended the episode in a terminal state.
        truncated: ``[N, T]`` bool, the time limit ended the episode at the step.
        log_probs: ``[N, T]`` float32 the expert's log-probability of each action.
        mask: ``[N, T]`` bool, real steps (a non-empty prefix of each row).
        env_name: the environment they were recorded on (static).
        obs_size: ``O`` (static).
        discrete: whether actions are indices (static).
        action_size: number of actions, or action dimensions ``D`` (static).
        expert: JSON text describing the expert (static; ``""`` when unknown).
        backend: the implementation of the task that recorded them, ``"jax"`` or ``"gymnasium"`` (static;
            ``""`` when unknown).
        task: the recording task's :attr:`~irlax.envs.spec.EnvSpec.fingerprint` (static; ``""`` when unknown).
        log_probs_known: whether ``log_probs`` hold the expert's log-probabilities (static; false for imported
            datasets whose format lacks them: then they are 0).
    """

    obs: Array
    actions: Array
    next_obs: Array
    rewards: Array
    terminated: Array
    truncated: Array
    log_probs: Array
    mask: Array
    env_name: str = struct.field(pytree_node=False, default="")
    obs_size: int = struct.field(pytree_node=False, default=0)
    discrete: bool = struct.field(pytree_node=False, default=True)
    action_size: int = struct.field(pytree_node=False, default=0)
    expert: str = struct.field(pytree_node=False, default="")
    backend: str = struct.field(pytree_node=False, default="")
    task: str = struct.field(pytree_node=False, default="")
    log_probs_known: bool = struct.field(pytree_node=False, default=True)

    @property
    def num_episodes(self) -> int:
        """``N``."""
        return int(self.obs.shape[0])

    @property
    def max_length(self) -> int:
        """``T``, the longest episode."""
        return int(self.obs.shape[1])

    def lengths(self) -> Array:
        """``[N]`` number of real steps of each episode."""
        return jnp.sum(self.mask, axis=1)

    def returns(self) -> Array:
        """``[N]`` true (undiscounted) return of each episode."""
        return jnp.sum(jnp.where(self.mask, self.rewards, 0.0), axis=1)

    def expert_info(self) -> dict[str, Any]:
        """The ``expert`` description as a dict (empty when unknown)."""
        return json.loads(self.expert) if self.expert else {}


def _pad_zero(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``x [N, T, ...]`` with the entries off ``mask [N, T]`` set to 0."""
    keep = mask.reshape(mask.shape + (1,) * (x.ndim - 2))
    return np.where(keep, x, np.zeros((), x.dtype))


def make_demonstrations(
    arrays: dict[str, Any],
    *,
    env_name: str,
    obs_size: int,
    discrete: bool,
    action_size: int,
    expert: str = "",
    backend: str = "",
    task: str = "",
    log_probs_known: bool = True,
) -> Demonstrations:
    """Validate arrays (:data:`ARRAY_KEYS`) and build :class:`Demonstrations`, zeroing padded entries.

    Raises:
        IrlaxError: naming the first problem (see :func:`validate_demonstration_arrays`).
    """
    arrays = {key: np.asarray(arrays[key]) for key in ARRAY_KEYS}
    validate_demonstration_arrays(arrays, obs_size=obs_size, discrete=discrete, action_size=action_size)
    mask = arrays["mask"].astype(bool)
    dtypes = {"actions": np.int32 if discrete else np.float32, "terminated": bool, "truncated": bool, "mask": bool}
    out = {key: jnp.asarray(_pad_zero(value.astype(dtypes.get(key, np.float32)), mask))
           for key, value in arrays.items()}
    return Demonstrations(
        **out, env_name=env_name, obs_size=int(obs_size), discrete=bool(discrete), action_size=int(action_size),
        expert=expert, backend=backend, task=task, log_probs_known=bool(log_probs_known),
    )


def _check_float(name: str, x: np.ndarray, valid: np.ndarray) -> None:
    if x.dtype.kind != "f":
        raise IrlaxError(f"{name} must be a float array, got dtype {x.dtype}")
    bad = ~np.isfinite(x[valid])
    if bad.any():
        raise IrlaxError(f"{name} contains NaN or inf ({int(bad.sum())} values on real steps)")


def _check_bool(name: str, x: np.ndarray) -> np.ndarray:
    if x.dtype != bool:
        if x.dtype.kind not in "iu" or not np.isin(x, (0, 1)).all():
            raise IrlaxError(f"{name} must be a boolean array, got dtype {x.dtype}")
        x = x.astype(bool)
    return x


def validate_demonstration_arrays(
    arrays: dict[str, np.ndarray], *, obs_size: int, discrete: bool, action_size: int,
    action_low: tuple[float, ...] | None = None, action_high: tuple[float, ...] | None = None,
) -> None:
    """Raise :class:`IrlaxError` naming the first problem with demonstration arrays.

    Checks shapes (``[N, T, O]``, ``[N, T]`` or ``[N, T, D]``), dtypes, a non-empty set,
    a non-empty prefix mask, finite values on real steps, episode ends only at an
    episode's last step, and actions within ``[0, action_size)`` (discrete) or, when
    bounds are given, within ``[action_low, action_high]`` (continuous).
    """
    obs = arrays["obs"]
    if obs.ndim != 3:
        raise IrlaxError(f"obs must have shape [N, T, O], got {list(obs.shape)}")
    n, t, o = obs.shape
    if n == 0 or t == 0:
        raise IrlaxError(f"no demonstrations: obs has shape {list(obs.shape)} (0 episodes or 0 steps)")
    if o != obs_size:
        raise IrlaxError(f"obs has size {o}, but the file says obs_size {obs_size}")
    expected = {
        "next_obs": (n, t, o), "rewards": (n, t), "terminated": (n, t), "truncated": (n, t), "log_probs": (n, t),
        "mask": (n, t), "actions": (n, t) if discrete else (n, t, action_size),
    }
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise IrlaxError(f"{key} must have shape {list(shape)} (like obs {list(obs.shape)}), "
                             f"got {list(arrays[key].shape)}")
    mask = _check_bool("mask", arrays["mask"])
    if not mask[:, 0].all():
        i = int(np.argmin(mask[:, 0]))
        raise IrlaxError(f"episode {i} has no steps (mask[{i}, 0] is false)")
    gap = (~mask[:, :-1]) & mask[:, 1:]
    if gap.any():
        i = int(np.argwhere(gap)[0, 0])
        raise IrlaxError(f"mask of episode {i} is not a prefix: real steps must come first")
    for key in ("obs", "next_obs", "rewards", "log_probs"):
        _check_float(key, arrays[key], mask)
    terminated = _check_bool("terminated", arrays["terminated"])
    truncated = _check_bool("truncated", arrays["truncated"])
    last = mask & ~np.concatenate([mask[:, 1:], np.zeros((n, 1), bool)], axis=1)
    for key, flags in (("terminated", terminated), ("truncated", truncated)):
        early = flags & mask & ~last
        if early.any():
            i, step = (int(v) for v in np.argwhere(early)[0])
            raise IrlaxError(f"{key}[{i}, {step}] is true before the last step of episode {i}")
    actions = arrays["actions"]
    valid_actions = actions[mask]
    if discrete:
        if actions.dtype.kind not in "iu":
            raise IrlaxError(f"actions must be integer indices for a discrete task, got dtype {actions.dtype}")
        if valid_actions.size and (valid_actions.min() < 0 or valid_actions.max() >= action_size):
            bad = int(valid_actions.min() if valid_actions.min() < 0 else valid_actions.max())
            raise IrlaxError(f"action {bad} is out of range: the task has {action_size} actions (0..{action_size - 1})")
    else:
        _check_float("actions", actions, mask)
        if action_low is not None and action_high is not None:
            low, high = np.asarray(action_low), np.asarray(action_high)
            outside = (valid_actions < low - ACTION_TOLERANCE) | (valid_actions > high + ACTION_TOLERANCE)
            if outside.any():
                value = float(valid_actions[tuple(np.argwhere(outside)[0])])
                raise IrlaxError(f"action {value:g} is out of range: the task's actions lie in "
                                 f"[{', '.join(f'{x:g}' for x in low)}] .. [{', '.join(f'{x:g}' for x in high)}]")


def from_episodes(episodes: Episodes, spec: EnvSpec, expert: dict[str, Any] | None = None) -> Demonstrations:
    """Demonstrations from episodes of the task ``spec`` (:func:`irlax.learners.rollout.rollout_episodes`), trimmed
    to the longest episode.

    Continuous actions are clipped into the environment's bounds (what it executed).
    ``expert`` is a JSON-able description of the policy that acted.
    """
    tr, mask = episodes.transitions, np.asarray(episodes.mask)
    length = max(int(mask.sum(axis=1).max()), 1)
    actions = np.asarray(tr.action)
    if not spec.discrete:
        actions = np.clip(actions, np.asarray(spec.action_low), np.asarray(spec.action_high))
    arrays = {
        "obs": tr.obs, "actions": actions, "next_obs": tr.next_obs, "rewards": tr.env_reward,
        "terminated": tr.terminated, "truncated": tr.truncated, "log_probs": tr.log_prob, "mask": mask,
    }
    arrays = {key: np.asarray(value)[:, :length] for key, value in arrays.items()}
    return make_demonstrations(
        arrays, env_name=spec.name, obs_size=spec.obs_size, discrete=spec.discrete, action_size=spec.action_size,
        expert=json.dumps(expert or {}, sort_keys=True), backend=spec.backend, task=spec.fingerprint,
    )


def pad_observation_sequences(
    observations: list[np.ndarray], actions: list[np.ndarray], rewards: list[np.ndarray],
    terminated: list[np.ndarray], truncated: list[np.ndarray], discrete: bool,
) -> dict[str, np.ndarray]:
    """The arrays of :data:`ARRAY_KEYS` from episodes stored as one observation sequence each (Minari's and the
    ``imitation`` library's layout): ``T + 1`` observations (the last is the final state) and ``T`` actions,
    rewards and end flags per episode, padded to the longest; ``log_probs`` 0 (such formats don't hold them).

    The caller has checked the lengths and trailing shapes; validation proper is :func:`make_demonstrations`'.
    """
    lengths = [len(r) for r in rewards]
    n, t, o = len(lengths), max(lengths), np.asarray(observations[0]).shape[-1]
    action_shape = () if discrete else np.asarray(actions[0]).shape[1:]
    arrays = {
        "obs": np.zeros((n, t, o), np.float32), "next_obs": np.zeros((n, t, o), np.float32),
        "actions": np.zeros((n, t, *action_shape), np.int32 if discrete else np.float32),
        "rewards": np.zeros((n, t), np.float32), "terminated": np.zeros((n, t), bool),
        "truncated": np.zeros((n, t), bool), "log_probs": np.zeros((n, t), np.float32), "mask": np.zeros((n, t), bool),
    }
    for i, steps in enumerate(lengths):
        states = np.asarray(observations[i])
        arrays["obs"][i, :steps], arrays["next_obs"][i, :steps] = states[:-1], states[1:]
        arrays["actions"][i, :steps] = np.asarray(actions[i])
        arrays["rewards"][i, :steps] = np.asarray(rewards[i])
        arrays["terminated"][i, :steps] = np.asarray(terminated[i], bool)
        arrays["truncated"][i, :steps] = np.asarray(truncated[i], bool)
        arrays["mask"][i, :steps] = True
    return arrays


def episode_observations(demos: Demonstrations) -> list[np.ndarray]:
    """Each episode's ``T + 1`` observations (its ``obs`` and its last ``next_obs``), as formats of one observation
    sequence per episode store them (the inverse of :func:`pad_observation_sequences`).

    Raises:
        IrlaxError: a ``next_obs`` differs from the following step's ``obs`` (not one sequence of states), which
            such a format cannot hold.
    """
    out = []
    for i, steps in enumerate(int(s) for s in np.asarray(demos.lengths())):
        obs, next_obs = np.asarray(demos.obs[i, :steps]), np.asarray(demos.next_obs[i, :steps])
        if not np.array_equal(next_obs[:-1], obs[1:]):
            t = int(np.argmax(np.any(next_obs[:-1] != obs[1:], axis=-1)))
            raise IrlaxError(f"episode {i}: next_obs[{t}] is not obs[{t + 1}], which a format of one observation "
                             f"sequence per episode cannot hold")
        out.append(np.concatenate([obs, next_obs[-1:]], axis=0))
    return out


TASK_RECORD_KEY = "irlax"
"""The key under which :func:`task_record` travels in a foreign format's metadata."""


def task_record(demos: Demonstrations) -> dict[str, Any]:
    """What irlax knows of the demonstrations' task beyond a foreign format's fields (its name, backend,
    fingerprint and the expert's description), to travel in that format's free-form metadata."""
    record: dict[str, Any] = {"env_name": demos.env_name, "backend": demos.backend, "task": demos.task,
                              "expert": demos.expert}
    if demos.discrete:
        record["action_size"] = demos.action_size
    return record


def read_task_record(metadata: Any) -> dict[str, Any]:
    """The :func:`task_record` in a foreign format's metadata (a dict), or ``{}`` when another program wrote it."""
    record = metadata.get(TASK_RECORD_KEY) if isinstance(metadata, dict) else None
    return record if isinstance(record, dict) else {}


def save_demonstrations(path: str | Path, demos: Demonstrations) -> Path:
    """Write ``demos`` to an ``.npz`` file atomically (format in the module docstring)."""
    arrays = {key: np.asarray(getattr(demos, key)) for key in ARRAY_KEYS}
    return atomic_save_npz(
        path, **arrays,
        env_name=np.str_(demos.env_name), obs_size=np.int64(demos.obs_size), discrete=np.bool_(demos.discrete),
        action_size=np.int64(demos.action_size), expert=np.str_(demos.expert), backend=np.str_(demos.backend),
        format_version=np.int64(FORMAT_VERSION), **({"task": np.str_(demos.task)} if demos.task else {}),
        **({} if demos.log_probs_known else {"log_probs_known": np.bool_(False)}),
    )


def _scalar(arrays: dict[str, np.ndarray], key: str, kind: str, path: Path) -> Any:
    value = arrays[key]
    if value.shape != () or value.dtype.kind not in kind:
        raise IrlaxError(f"demonstrations file {path}: {key} must be a scalar of kind {kind!r}, "
                         f"got {value.dtype}{list(value.shape)}")
    return value.item()


def load_demonstrations(path: str | Path, spec: EnvSpec | None = None) -> Demonstrations:
    """Load and validate a file written by :func:`save_demonstrations` (or, given a directory, a Minari or
    ``imitation`` dataset: :func:`irlax.data.formats.load_any`).

    Args:
        path: the ``.npz`` file (or dataset directory).
        spec: the task the demonstrations will be used in; a file whose
            observation size, action kind or action size differ, or whose actions
            fall outside its bounds, is refused. (The name may differ: demonstrations
            from ``PointMaze-v0`` serve in ``PointMazeShifted-v0``.)

    Raises:
        IrlaxError: a one-line message naming the problem (missing, empty or corrupt
            file, missing array, wrong shape or dtype, NaN/inf, bad mask, bad range,
            mismatch with ``spec``).
    """
    path = Path(path)
    if path.is_dir():  # a Minari or imitation dataset
        from irlax.data.formats import load_any

        return load_any(path, spec)
    arrays = read_npz(path, "demonstrations")
    missing = [key for key in ARRAY_KEYS + META_KEYS if key not in arrays]
    if missing:
        raise IrlaxError(f"demonstrations file {path} lacks the array(s) {', '.join(missing)}")
    version = _scalar(arrays, "format_version", "iu", path)
    if version != FORMAT_VERSION:
        raise IrlaxError(f"demonstrations file {path} has format version {version}; this irlax reads {FORMAT_VERSION}")
    env_name = str(_scalar(arrays, "env_name", "U", path))
    expert = str(_scalar(arrays, "expert", "U", path))
    obs_size = int(_scalar(arrays, "obs_size", "iu", path))
    discrete = bool(_scalar(arrays, "discrete", "b", path))
    action_size = int(_scalar(arrays, "action_size", "iu", path))
    backend = str(_scalar(arrays, "backend", "U", path)) if "backend" in arrays else ""
    task = str(_scalar(arrays, "task", "U", path)) if "task" in arrays else ""
    known = bool(_scalar(arrays, "log_probs_known", "b", path)) if "log_probs_known" in arrays else True
    if spec is not None:
        _check_spaces(str(path), env_name, obs_size, arrays["obs"].shape[-1], discrete, action_size, spec, task,
                      backend)
    try:
        bounds = {} if spec is None or spec.discrete else {
            "action_low": spec.action_low, "action_high": spec.action_high}
        validate_demonstration_arrays(
            {key: arrays[key] for key in ARRAY_KEYS}, obs_size=obs_size, discrete=discrete,
            action_size=action_size, **bounds,
        )
        return make_demonstrations(
            arrays, env_name=env_name, obs_size=obs_size, discrete=discrete, action_size=action_size, expert=expert,
            backend=backend, task=task, log_probs_known=known,
        )
    except IrlaxError as exc:
        raise IrlaxError(f"demonstrations file {path}: {exc}") from None


def _check_spaces(where: str, env_name: str, obs_size: int, obs_width: int, discrete: bool, action_size: int,
                  spec: EnvSpec, task: str = "", backend: str = "") -> None:
    of = f" ({env_name})" if env_name else ""
    if obs_size != spec.obs_size or obs_width != spec.obs_size:
        raise IrlaxError(f"demonstrations in {where} have observations of size {obs_width}"
                         f"{of}, but {spec.name} has observations of size {spec.obs_size}")
    if discrete != spec.discrete or action_size != spec.action_size:
        kind = lambda d, s: f"{s} discrete actions" if d else f"{s}-dimensional continuous actions"
        raise IrlaxError(f"demonstrations in {where} have {kind(discrete, action_size)}{of}, "
                         f"but {spec.name} has {kind(spec.discrete, spec.action_size)}")
    if task and env_name == spec.name and backend == spec.backend and task != spec.fingerprint:
        raise IrlaxError(f"demonstrations in {where} come from another variant of {env_name} (other parameters, "
                         f"bounds or time limit) than the one used here; record them in this one")
    if env_name and env_name != spec.name and not _variants(env_name, spec.name):
        warnings.warn(f"demonstrations in {where} come from {env_name}, used in {spec.name} (same sizes)",
                      IrlaxWarning, stacklevel=3)


def _variants(a: str, b: str) -> bool:
    """Whether two task names are variants of one task irlax ships (the point maze, its shifted and its wide-start
    forms)."""
    return {a, b} <= {"PointMaze-v0", "PointMazeShifted-v0", "PointMazeWideStart-v0"}


def check_demonstrations_fit(demos: Demonstrations, spec: EnvSpec, where: str = "the file") -> None:
    """One-line :class:`IrlaxError` unless loaded demonstrations fit the task ``spec``.

    The same checks as :func:`load_demonstrations` with a ``spec``: observation size, action kind and size,
    and continuous actions within the task's bounds. (The name may differ.)
    """
    _check_spaces(where, demos.env_name, demos.obs_size, int(demos.obs.shape[-1]), demos.discrete,
                  demos.action_size, spec, demos.task, demos.backend)
    if not spec.discrete:
        try:
            validate_demonstration_arrays(
                {key: np.asarray(getattr(demos, key)) for key in ARRAY_KEYS}, obs_size=demos.obs_size,
                discrete=False, action_size=demos.action_size, action_low=spec.action_low,
                action_high=spec.action_high,
            )
        except IrlaxError as exc:
            raise IrlaxError(f"demonstrations in {where}: {exc}") from None


def fit_to_task(demos: Demonstrations, spec: EnvSpec, where: str) -> Demonstrations:
    """``demos`` checked to fit the task ``spec`` (:func:`check_demonstrations_fit`), and named after it when they
    name no environment (an imported dataset that doesn't say)."""
    check_demonstrations_fit(demos, spec, where)
    return demos if demos.env_name else demos.replace(env_name=spec.name, backend=spec.backend)


def flatten(demos: Demonstrations) -> Transition:
    """The real steps of all episodes as one batch of transitions (leaves ``[M, ...]``, ``M = sum(mask)``).

    ``reward`` and ``env_reward`` are both the true reward; ``log_prob`` the expert's.
    Not jittable (``M`` depends on the mask); inside ``jit``, use the padded arrays with ``mask``.
    """
    mask = np.asarray(demos.mask)
    pick = lambda x: jnp.asarray(np.asarray(x)[mask])
    rewards = pick(demos.rewards)
    return Transition(
        pick(demos.obs), pick(demos.actions), rewards, rewards, pick(demos.next_obs),
        pick(demos.terminated), pick(demos.truncated), pick(demos.log_probs),
    )


def subset(demos: Demonstrations, num_episodes: int, start: int = 0) -> Demonstrations:
    """Episodes ``start .. start + num_episodes - 1``, re-trimmed to their longest.

    Raises:
        IrlaxError: when the file has fewer episodes than asked for.
    """
    if num_episodes < 1 or start < 0 or start + num_episodes > demos.num_episodes:
        raise IrlaxError(f"cannot take {num_episodes} episode(s) from {start}: "
                         f"the demonstrations have {demos.num_episodes}")
    rows = slice(start, start + num_episodes)
    length = int(np.asarray(demos.mask[rows]).sum(axis=1).max())
    return demos.replace(**{key: getattr(demos, key)[rows, :length] for key in ARRAY_KEYS})
