"""Demonstrations to and from Minari datasets (the ``minari`` package's local format), read and written by ``minari``.

A Minari dataset is a directory ``DATASET/data/`` holding ``metadata.json`` (the dataset id, the environment's
Gymnasium spec, the observation and action spaces, the storage format) and the episodes, in HDF5
(``main_data.hdf5``) or Arrow (one folder per episode). Each episode has ``observations`` (``T + 1`` of them: the
last is the final state), ``actions``, ``rewards``, ``terminations`` and ``truncations`` (``T`` each) and
``infos``. ``minari.load_dataset`` finds datasets under ``~/.minari/datasets/ID`` (or ``$MINARI_DATASETS_PATH``);
irlax reads and writes any directory.

The fields map one to one onto :class:`~irlax.data.demos.Demonstrations`: ``obs`` are an episode's first ``T``
observations, ``next_obs`` its last ``T``; the environment id is the spec's. Minari holds no log-probabilities of
the expert: imported demonstrations have ``log_probs_known`` false (their ``log_probs`` are 0), and exporting
drops them. irlax keeps floats in float32: a dataset of float32 observations and rewards comes back bit for bit,
float64 ones (Gymnasium's MuJoCo observations, its rewards) to float32 precision.
irlax's task name, backend, fingerprint and expert description go
into an extra ``irlax`` entry of the metadata, which Minari ignores. Only flat ``Box`` observations
and ``Box`` or ``Discrete`` actions are supported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from irlax.atomic import atomic_write_dir
from irlax.data.demos import (
    ARRAY_KEYS,
    TASK_RECORD_KEY,
    Demonstrations,
    episode_observations,
    fit_to_task,
    make_demonstrations,
    pad_observation_sequences,
    read_task_record,
    task_record,
)
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError

FIELDS = ("observations", "actions", "rewards", "terminations", "truncations")
"""The per-episode arrays a Minari dataset must hold."""
DATA = "data"
METADATA = "metadata.json"
GYMNASIUM = "gymnasium"


def minari_data_path(path: str | Path) -> Path | None:
    """The ``data`` directory of the Minari dataset at ``path`` (the dataset's directory or its ``data``), or
    ``None`` when ``path`` is not one.

    A ``data/metadata.json`` makes a dataset even when it is unreadable or lacks fields (:func:`load_minari`
    says what is wrong); a ``metadata.json`` in ``path`` itself only when it names Minari's ``data_format``.
    """
    path = Path(path)
    if (path / DATA / METADATA).is_file():
        return path / DATA
    if (path / METADATA).is_file():
        try:
            metadata = json.loads((path / METADATA).read_text())
        except (OSError, ValueError):
            return None
        if isinstance(metadata, dict) and "data_format" in metadata:
            return path
    return None


def _space_sizes(observation_space: Any, action_space: Any, where: str) -> tuple[int, bool, int]:
    """``(obs_size, discrete, action_size)`` of Minari's spaces; :class:`IrlaxError` for unsupported ones."""
    from gymnasium import spaces

    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
        raise IrlaxError(f"{where}: irlax reads flat Box observations, the dataset has {observation_space}")
    if isinstance(action_space, spaces.Discrete):
        return observation_space.shape[0], True, int(action_space.n)
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        return observation_space.shape[0], False, action_space.shape[0]
    raise IrlaxError(f"{where}: irlax reads Discrete or flat Box actions, the dataset has {action_space}")


def _episode_arrays(episodes: list[dict[str, Any]], discrete: bool, where: str) -> dict[str, np.ndarray]:
    """The padded arrays of :data:`~irlax.data.demos.ARRAY_KEYS` from Minari's episode dicts."""
    obs_size = np.asarray(episodes[0]["observations"]).shape[-1] if episodes[0].get("observations") is not None \
        else 0
    action_shape = None if discrete else np.asarray(episodes[0]["actions"]).shape[1:]
    for i, episode in enumerate(episodes):
        missing = [name for name in FIELDS if name not in episode or episode[name] is None]
        if missing:
            raise IrlaxError(f"{where}: episode {i} lacks {', '.join(missing)}")
        steps = len(episode["rewards"])
        sizes = {name: len(episode[name]) for name in FIELDS}
        if sizes["observations"] != steps + 1 or any(sizes[k] != steps for k in FIELDS[1:]):
            raise IrlaxError(f"{where}: episode {i} has {sizes['observations']} observations, "
                             f"{sizes['actions']} actions, {steps} rewards, {sizes['terminations']} terminations "
                             f"and {sizes['truncations']} truncations (a Minari episode of T steps has T + 1 "
                             f"observations and T of the others)")
        if steps == 0:
            raise IrlaxError(f"{where}: episode {i} has no steps")
        observations, actions = np.asarray(episode["observations"]), np.asarray(episode["actions"])
        if observations.ndim != 2 or observations.shape[1] != obs_size:
            raise IrlaxError(f"{where}: episode {i} has observations of shape {list(observations.shape)}, "
                             f"expected [{steps + 1}, {obs_size}]")
        if (actions.ndim != 1) if discrete else actions.shape[1:] != action_shape:
            raise IrlaxError(f"{where}: episode {i} has actions of shape {list(actions.shape)}")
        if discrete and actions.dtype.kind not in "iu":
            raise IrlaxError(f"{where}: episode {i} has actions of dtype {actions.dtype} for a Discrete space")
    field = lambda name: [episode[name] for episode in episodes]
    return pad_observation_sequences(field("observations"), field("actions"), field("rewards"),
                                     field("terminations"), field("truncations"), discrete)


STORAGE_FORMATS = ("hdf5", "arrow")
"""Minari's ``data_format`` values."""


def check_metadata(file: Path, where: str) -> None:
    """One-line :class:`IrlaxError` when a Minari ``metadata.json`` is not what Minari's reader needs: a JSON
    object naming its ``data_format`` and its spaces (``observation_space`` and ``action_space``, serialised, or
    the ``env_spec`` they come from). Minari's own reader fails on those with a bare ``AssertionError``."""
    name = f"{file.parent.name}/{file.name}"
    try:
        metadata = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise IrlaxError(f"{where}: cannot read {name} ({exc})") from None
    except ValueError as exc:
        raise IrlaxError(f"{where}: {name} is not JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise IrlaxError(f"{where}: {name} is not a JSON object")
    if metadata.get("data_format") not in STORAGE_FORMATS:
        found = "lacks data_format" if "data_format" not in metadata else f"has data_format {metadata['data_format']!r}"
        raise IrlaxError(f"{where}: {name} {found} (one of {', '.join(STORAGE_FORMATS)})")
    spaces = [key for key in ("observation_space", "action_space") if key in metadata]
    for key in spaces:
        if not isinstance(metadata[key], str):
            raise IrlaxError(f"{where}: {name}'s {key} is not a serialised space (a string)")
    if len(spaces) < 2 and not isinstance(metadata.get("env_spec"), str):
        raise IrlaxError(f"{where}: {name} names neither both spaces (observation_space, action_space) nor the "
                         "env_spec they come from")


def load_minari(path: str | Path, spec: EnvSpec | None = None) -> Demonstrations:
    """Demonstrations from the Minari dataset at ``path`` (its directory, or its ``data`` folder).

    Args:
        path: the dataset.
        spec: the task they will be used in: a dataset whose observation or action sizes differ, or whose actions
            fall outside the task's bounds, is refused; a dataset that names no environment takes its name.

    Raises:
        IrlaxError: a one-line message naming the problem (not a Minari dataset, unreadable or truncated file,
            unsupported spaces, a missing field, episodes of inconsistent lengths, NaN, a mismatch with ``spec``).
    """
    where = f"Minari dataset {path}"
    data = minari_data_path(path)
    if data is None:
        raise IrlaxError(f"{where}: not a Minari dataset (no {DATA}/{METADATA} naming a data format)")
    check_metadata(data / METADATA, where)
    try:
        from minari.dataset.minari_storage import MinariStorage

        storage = MinariStorage.read(data)
        metadata = storage.metadata
        episodes = list(storage.get_episodes(range(storage.total_episodes)))
    except IrlaxError:
        raise
    except (Exception, AssertionError) as exc:  # h5py, pyarrow and minari raise many kinds on bad files
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IrlaxError(f"{where}: cannot read it ({type(exc).__name__}: {text})") from None
    if not episodes:
        raise IrlaxError(f"{where}: no episodes")
    obs_size, discrete, action_size = _space_sizes(storage.observation_space, storage.action_space, where)
    arrays = _episode_arrays(episodes, discrete, where)
    if arrays["obs"].shape[-1] != obs_size:
        raise IrlaxError(f"{where}: observations have size {arrays['obs'].shape[-1]}, "
                         f"its observation space has {obs_size}")
    env_spec = metadata.get("env_spec")
    env_name = json.loads(env_spec).get("id", "") if isinstance(env_spec, str) else ""
    task = read_task_record(metadata)
    expert = {key: metadata[key] for key in ("dataset_id", "algorithm_name") if metadata.get(key)}
    try:
        demos = make_demonstrations(
            arrays, env_name=str(task.get("env_name") or env_name), obs_size=obs_size, discrete=discrete,
            action_size=action_size, expert=str(task.get("expert") or json.dumps({"source": "minari", **expert})),
            backend=str(task.get("backend", GYMNASIUM)), task=str(task.get("task", "")), log_probs_known=False,
        )
    except IrlaxError as exc:
        raise IrlaxError(f"{where}: {exc}") from None
    return demos if spec is None else fit_to_task(demos, spec, str(path))


def _dataset_id(path: Path, demos: Demonstrations) -> str:
    """The directory's name when it is a valid Minari id (``name-vN``), else one made of it."""
    name = path.name
    if re.fullmatch(r"[\w.-]+-v\d+", name):
        return name
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name or demos.env_name or 'irlax').strip('-') or 'irlax'}-v0"


def _spaces(demos: Demonstrations, spec: EnvSpec | None) -> tuple[Any, Any]:
    from gymnasium import spaces

    observation_space = spaces.Box(-np.inf, np.inf, (demos.obs_size,), np.float32)
    if demos.discrete:
        return observation_space, spaces.Discrete(demos.action_size)
    if spec is not None and spec.action_low:
        low, high = np.asarray(spec.action_low, np.float32), np.asarray(spec.action_high, np.float32)
    else:
        low = np.full(demos.action_size, -np.inf, np.float32)
        high = np.full(demos.action_size, np.inf, np.float32)
    return observation_space, spaces.Box(low, high, (demos.action_size,), np.float32)


def _gym_spec(env_name: str) -> Any:
    """Gymnasium's spec of ``env_name`` when it is registered there, else ``None``."""
    import gymnasium

    try:
        return gymnasium.spec(env_name) if env_name else None
    except Exception:  # noqa: BLE001 - an id Gymnasium does not know (an irlax task): no spec
        return None


def save_minari(path: str | Path, demos: Demonstrations, spec: EnvSpec | None = None, *, dataset_id: str = "",
                data_format: str = "hdf5") -> Path:
    """Write ``demos`` as a new Minari dataset directory ``path`` (with ``minari``'s own storage writer).

    The directory is created whole (written beside it, then renamed) and must not exist. Place it at
    ``~/.minari/datasets/ID`` for ``minari.load_dataset(ID)`` to find it.

    Args:
        path: the dataset directory to create (its episodes and metadata go into ``path/data``).
        demos: the demonstrations; each episode's ``next_obs`` must continue its ``obs`` (Minari keeps one
            observation sequence per episode).
        spec: the task, for the action bounds of the dataset's action space (unbounded without it).
        dataset_id: Minari's id (default: the directory's name, made valid: ``name-v0``).
        data_format: ``"hdf5"`` or ``"arrow"``.

    Raises:
        IrlaxError: demonstrations a Minari dataset cannot hold, or an unwritable or existing ``path``.
    """
    from minari import __version__ as minari_version
    from minari.data_collector.episode_buffer import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    path = Path(path)
    if data_format not in ("hdf5", "arrow"):
        raise IrlaxError(f"unknown Minari data format {data_format!r}: choose hdf5 or arrow")
    observations = episode_observations(demos)
    lengths = np.asarray(demos.lengths())
    arrays = {key: np.asarray(getattr(demos, key)) for key in ARRAY_KEYS}
    buffers = [
        EpisodeBuffer(
            id=i, observations=observations[i], actions=arrays["actions"][i, :steps],
            rewards=arrays["rewards"][i, :steps], terminations=arrays["terminated"][i, :steps],
            truncations=arrays["truncated"][i, :steps], infos={},
        )
        for i, steps in enumerate(int(s) for s in lengths)
    ]
    observation_space, action_space = _spaces(demos, spec)
    expert = demos.expert_info()
    metadata = {
        "dataset_id": dataset_id or _dataset_id(path, demos), "minari_version": minari_version,
        "algorithm_name": str(expert.get("learner") or expert.get("algorithm_name") or "unknown"),
        "description": f"{demos.num_episodes} demonstrations of {demos.env_name or 'an unnamed task'}, "
                       f"exported by irlax",
        TASK_RECORD_KEY: task_record(demos),
    }

    def fill(tmp: Path) -> None:
        storage = MinariStorage.new(tmp / DATA, observation_space=observation_space, action_space=action_space,
                                    env_spec=_gym_spec(demos.env_name), data_format=data_format,
                                    jpeg_encoding=False)
        storage.update_metadata(metadata)
        storage.update_episodes(buffers)

    return atomic_write_dir(path, fill)
