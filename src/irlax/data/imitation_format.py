"""Demonstrations to and from the ``imitation`` library's trajectory files, without ``imitation`` installed.

``imitation.data.serialize.save`` writes a sequence of trajectories as a HuggingFace ``datasets`` directory
(``Dataset.save_to_disk``: Arrow files, ``dataset_info.json``, ``state.json``), one row per trajectory with the
columns ``obs`` (``T + 1`` observations: the last is the final state), ``acts`` (``T``), ``infos`` (``T``
jsonpickle strings), ``terminal`` (whether the episode ended in a terminal state) and ``rews`` (``T`` rewards;
absent from trajectories without rewards). irlax reads and writes that directory with ``datasets`` itself, the
package the format is made with.

Mapping onto :class:`~irlax.data.demos.Demonstrations`: ``obs``/``next_obs`` are the first and last ``T``
observations; the last step is ``terminated`` when ``terminal`` is true and ``truncated`` otherwise (an
``imitation`` trajectory that did not reach a terminal state ended at a time limit); ``infos`` are not kept (they
are written as empty). The format names no environment and holds no log-probabilities of the expert: imported
demonstrations have ``log_probs_known`` false (``log_probs`` 0), and the environment is the one irlax wrote into
the dataset's description, else the one the caller names. irlax keeps floats in float32 (float64 observations come
back to float32 precision).
"""

from __future__ import annotations

import json
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

COLUMNS = ("obs", "acts", "terminal")
"""The columns every ``imitation`` trajectory dataset has (besides ``infos``); ``rews`` when it has rewards."""


def is_imitation_dataset(path: str | Path) -> bool:
    """Whether ``path`` is a directory written by ``datasets.Dataset.save_to_disk`` (as ``imitation`` saves)."""
    path = Path(path)
    return (path / "state.json").is_file() and (path / "dataset_info.json").is_file()


def _description(dataset: Any) -> dict[str, Any]:
    """irlax's record of the task in the dataset's description (empty when another program wrote it)."""
    try:
        record = json.loads(dataset.info.description or "")
    except (TypeError, ValueError):
        return {}
    return read_task_record(record)


def load_imitation(path: str | Path, spec: EnvSpec | None = None, env_name: str = "") -> Demonstrations:
    """Demonstrations from an ``imitation`` trajectory directory (``imitation.data.serialize.save``).

    Args:
        path: the directory.
        spec: the task they will be used in (sizes and action bounds are checked; its name is the environment's
            when the file does not name one).
        env_name: the environment they come from, when neither the file nor ``spec`` says.

    Raises:
        IrlaxError: a one-line message naming the problem (not such a directory, unreadable or truncated files,
            a missing column, inconsistent lengths, NaN, no rewards, a mismatch with ``spec``).
    """
    where = f"imitation trajectories {path}"
    if not is_imitation_dataset(path):
        raise IrlaxError(f"{where}: not a saved HuggingFace dataset (no state.json and dataset_info.json)")
    try:
        import datasets

        dataset = datasets.load_from_disk(str(path))
        if not isinstance(dataset, datasets.Dataset):
            raise IrlaxError(f"{where}: holds several splits, not one dataset of trajectories")
        missing = [name for name in COLUMNS if name not in dataset.column_names]
        if missing:
            raise IrlaxError(f"{where}: lacks the column(s) {', '.join(missing)}")
        if "rews" not in dataset.column_names:
            raise IrlaxError(f"{where}: the trajectories have no rewards (imitation's Trajectory, not "
                             f"TrajectoryWithRew); irlax needs the true rewards")
        rows = dataset.select_columns([*COLUMNS, "rews"]).with_format("numpy")
        episodes = [rows[i] for i in range(len(rows))]
    except IrlaxError:
        raise
    except Exception as exc:  # noqa: BLE001 - datasets and pyarrow raise many kinds on bad files
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IrlaxError(f"{where}: cannot read it ({type(exc).__name__}: {text})") from None
    if not episodes:
        raise IrlaxError(f"{where}: no trajectories")
    arrays, discrete = _arrays(episodes, where)
    record = _description(dataset)
    name = str(record.get("env_name") or env_name)
    try:
        demos = make_demonstrations(
            arrays, env_name=name, obs_size=arrays["obs"].shape[-1], discrete=discrete,
            action_size=(int(arrays["actions"].max()) + 1 if discrete else arrays["actions"].shape[-1]),
            expert=str(record.get("expert") or json.dumps({"source": "imitation"})),
            backend=str(record.get("backend", "")), task=str(record.get("task", "")), log_probs_known=False,
        )
    except IrlaxError as exc:
        raise IrlaxError(f"{where}: {exc}") from None
    if discrete and "action_size" in record:
        demos = demos.replace(action_size=int(record["action_size"]))
    elif discrete and spec is not None and spec.discrete and demos.action_size <= spec.action_size:
        demos = demos.replace(action_size=spec.action_size)  # the file's largest action index may be below it
    return demos if spec is None else fit_to_task(demos, spec, str(path))


def _arrays(episodes: list[dict[str, Any]], where: str) -> tuple[dict[str, np.ndarray], bool]:
    """The padded arrays of :data:`~irlax.data.demos.ARRAY_KEYS` from the rows, and whether actions are
    discrete."""
    lengths, first_acts = [], np.asarray(episodes[0]["acts"])
    discrete = first_acts.ndim == 1
    for i, row in enumerate(episodes):
        obs, acts, rews = (np.asarray(row[k]) for k in ("obs", "acts", "rews"))
        steps = len(acts)
        if steps == 0:
            raise IrlaxError(f"{where}: trajectory {i} has no steps")
        if obs.ndim != 2 or len(obs) != steps + 1 or len(rews) != steps:
            raise IrlaxError(f"{where}: trajectory {i} has observations of shape {list(obs.shape)}, {steps} actions "
                             f"and {len(rews)} rewards (imitation keeps T + 1 observations, T actions and rewards)")
        if (acts.ndim == 1) != discrete or acts.shape[1:] != first_acts.shape[1:]:
            raise IrlaxError(f"{where}: trajectory {i} has actions of shape {list(acts.shape)}, trajectory 0 of "
                             f"{list(first_acts.shape)}")
        if discrete and acts.dtype.kind not in "iu":
            raise IrlaxError(f"{where}: trajectory {i} has 1-D actions of dtype {acts.dtype}: irlax reads 1-D "
                             f"actions as discrete indices")
        lengths.append(steps)
    o = np.asarray(episodes[0]["obs"]).shape[-1]
    for i, row in enumerate(episodes):
        if np.asarray(row["obs"]).shape[-1] != o:
            raise IrlaxError(f"{where}: trajectory {i} has observations of size {np.asarray(row['obs']).shape[-1]}, "
                             f"trajectory 0 of {o}")
    # an imitation trajectory ends terminal, or else at a time limit
    last = [np.arange(steps) == steps - 1 for steps in lengths]
    terminal = [bool(np.asarray(row["terminal"])) for row in episodes]
    column = lambda name: [row[name] for row in episodes]
    arrays = pad_observation_sequences(
        column("obs"), column("acts"), column("rews"), [end & term for end, term in zip(last, terminal, strict=True)],
        [end & (not term) for end, term in zip(last, terminal, strict=True)], discrete)
    return arrays, discrete


def save_imitation(path: str | Path, demos: Demonstrations) -> Path:
    """Write ``demos`` as an ``imitation`` trajectory directory (what ``imitation.data.serialize.load`` reads).

    Each episode becomes a ``TrajectoryWithRew``: ``terminal`` is the last step's ``terminated``; ``infos`` are
    empty. irlax's task name, backend and expert description go into the dataset's description (``imitation``
    ignores it). The directory is created whole and must not exist.

    Raises:
        IrlaxError: an episode whose ``next_obs`` does not continue its ``obs``, or an unwritable or existing
            ``path``.
    """
    import datasets

    observations = episode_observations(demos)
    lengths = [int(s) for s in np.asarray(demos.lengths())]
    arrays = {key: np.asarray(getattr(demos, key)) for key in ARRAY_KEYS}
    columns = {
        "obs": observations,
        "acts": [arrays["actions"][i, :steps] for i, steps in enumerate(lengths)],
        "infos": [["{}"] * steps for steps in lengths],  # jsonpickle's encoding of an empty info dict
        "terminal": [bool(arrays["terminated"][i, steps - 1]) for i, steps in enumerate(lengths)],
        "rews": [arrays["rewards"][i, :steps] for i, steps in enumerate(lengths)],
    }
    info = datasets.DatasetInfo(description=json.dumps({TASK_RECORD_KEY: task_record(demos)}, sort_keys=True))
    dataset = datasets.Dataset.from_dict(columns, info=info)
    bars = not datasets.utils.are_progress_bars_disabled()
    datasets.utils.disable_progress_bars()  # one small write: no bar
    try:
        return atomic_write_dir(path, lambda tmp: dataset.save_to_disk(str(tmp)))
    finally:
        if bars:
            datasets.utils.enable_progress_bars()
