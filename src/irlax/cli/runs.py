"""What the commands that run the driver share: run directories, resuming, chunked runs with progress, rows.

``fit``, ``expert``, ``bc`` and ``train`` create or reopen a run directory, start
the driver or resume it from the directory's checkpoint, and advance it in chunks
with a progress bar and a checkpoint after each.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax import tasks
from irlax.atomic import check_output_dir, sweep_temp_files, write_error
from irlax.data.demos import Demonstrations, check_demonstrations_fit, load_demonstrations
from irlax.errors import IrlaxError, IrlaxWriteError
from irlax.metrics.aggregate import SeedSummary, seed_summary
from irlax.report import create_run_dir, progress_bar, write_config
from irlax.report.tensorboard import EventLog
from irlax.run.driver import Driver, NonFiniteError, Progress
from irlax.run.memory import check_evaluation_fits

CHECKPOINT = "checkpoint.npz"
REOPT_CHECKPOINT = "reoptimize.npz"
"""The re-optimisation's checkpoint in an ``irlax train`` run directory (removed once the run's summary is written)."""
PROGRESS_CHUNKS = 20

BACKEND_HELP = ("jax (irlax's pure-JAX tasks) or gymnasium (any Gymnasium id, MuJoCo among them); default: the "
                "pure-JAX version where one exists, else Gymnasium")


def open_env(name: str, backend: str | None = None, quiet: bool = False) -> tasks.Env:
    """The environment ``name`` on ``backend`` (:func:`irlax.tasks.make_env`), saying which one a run uses.

    Where the id exists both as a pure-JAX task and in Gymnasium and no backend was asked for, one line on
    stdout says that the pure-JAX one runs and how to choose the other.
    """
    if not name:
        raise IrlaxError("no environment: the demonstrations don't name one (imitation's files don't): give --env")
    env = tasks.make_env(name, backend)
    if backend is None and not quiet and tasks.in_both(name):
        print(f"{name}: irlax's pure-JAX version (--backend gymnasium runs Gymnasium's)")
    return env


@dataclasses.dataclass(frozen=True)
class OutputPlace:
    """Where a new run's directory goes, checked and noted before the command creates anything.

    ``path`` is the run directory itself (``--out`` of ``expert`` and ``train``) or, with ``parent``, the folder
    the run directory is created in (``--out`` of ``fit``, ``bc`` and ``demo``, and the default ``runs``);
    ``missing`` are ``path`` and those of its ancestors that did not exist yet, deepest first: what a run that
    fails may remove again.
    """

    path: Path
    parent: bool
    missing: tuple[Path, ...]


def prepare_output(out: str | None, parent: bool) -> OutputPlace:
    """Check a new run's ``--out`` before anything is computed (``parent``: it is the folder the run directory
    goes in; ``None``: ``runs``), and note which directories the run will create.

    One-line errors for a file where a directory is expected, a place where nothing can be written (no
    permission, a read-only or full file system) and a run directory that exists and is not empty.
    """
    path = Path(out) if out is not None else Path("runs")
    parent = parent or out is None
    check_output_dir(path)
    if not parent and path.is_dir() and any(path.iterdir()):
        raise IrlaxError(f"{path} already exists and is not empty (continue it with --resume {path})")
    missing = tuple(p for p in (path, *path.parents) if not p.exists())
    return OutputPlace(path, parent, missing)


def new_run_dir(place: OutputPlace | str | None, default_name: str) -> Path:
    """Create the run directory: in ``place`` (a folder of runs: ``<default_name>-TIME``) or at it (new or
    empty); a string or ``None`` is an ``--out`` naming the run directory (``None``: ``runs/<default_name>-TIME``)."""
    if not isinstance(place, OutputPlace):
        place = prepare_output(place, parent=False)
    if place.parent:
        return create_run_dir(place.path, default_name)
    run_dir = prepare_output(str(place.path), parent=False).path
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(run_dir, exc) from exc
    return run_dir


def start_run_dir(place: OutputPlace, default_name: str, settings: Any) -> Path:
    """Create a new run's directory (:func:`new_run_dir`) and write its ``config.json``; if that fails, remove
    what was created."""
    run_dir = new_run_dir(place, default_name)
    try:
        write_config(run_dir, settings)
    except BaseException:
        remove_new_run(run_dir, place)
        raise
    return run_dir


def remove_new_run(run_dir: Path, place: OutputPlace) -> None:
    """Remove what a new run created: ``run_dir`` (only its files, if it existed before, empty) and the folders
    above it that the run created and are empty again."""
    if place.parent or place.path in place.missing:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        for child in run_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    for folder in place.missing:
        if folder.exists():
            try:
                folder.rmdir()
            except OSError:
                break


@contextlib.contextmanager
def run_cleanup(run_dir: Path, command: str, place: OutputPlace | None, resumable: bool = True) -> Iterator[None]:
    """What a run that fails or is interrupted (Ctrl-C) leaves: a resumable run directory, or nothing.

    Around the work of a run in ``run_dir`` (``place``: where a new run was created; ``None``: a resumed run).
    Once the run has a checkpoint (or was resumed), the directory stays: an interruption says how to resume
    (``interrupted; resume with: irlax COMMAND --resume RUN_DIR``) and so does an output that could not be
    written (a full disk), the last checkpoint intact. A new run that fails before its first checkpoint, or one
    that can't be resumed (``resumable=False``: ``bc``, ``demo``), leaves nothing behind
    (:func:`remove_new_run`). A resumed run first removes the temporary files a killed process left in
    ``run_dir`` (:func:`irlax.atomic.sweep_temp_files`).
    """
    if place is None:
        sweep_temp_files(run_dir)
    try:
        yield
    except BaseException as exc:
        if resumable and (place is None or (run_dir / CHECKPOINT).exists()):
            hint = f"irlax {command} --resume {run_dir}"
            if isinstance(exc, KeyboardInterrupt):
                raise KeyboardInterrupt(f"interrupted; resume with: {hint}") from None
            if isinstance(exc, IrlaxWriteError):
                error = IrlaxWriteError(f"{exc}; the last checkpoint is intact: once that is fixed, resume with: "
                                        f"{hint}")
                error.errno = exc.errno
                raise error from exc
            raise
        if place is not None:
            remove_new_run(run_dir, place)
        if isinstance(exc, KeyboardInterrupt):
            when = "before the first checkpoint " if resumable else ""
            raise KeyboardInterrupt(f"interrupted {when}(nothing was kept)") from None
        raise


RUN_KINDS = {"fit": "a fit run directory", "expert": "an expert directory", "train": "a train run directory",
             "bc": "a bc run directory"}
"""What the run directory of each command is called in messages; ``config.json`` records its ``command``."""

FIT_KEYS = ("algorithm", "config", "world", "demos")
"""The settings of a fit run directory written before fit recorded its command."""


def run_kind(settings: dict[str, Any]) -> str | None:
    """The command whose run directory recorded ``settings`` (its ``config.json``), or ``None``."""
    command = settings.get("command")
    if command is None and all(key in settings for key in FIT_KEYS):
        return "fit"  # written before fit recorded its command
    return command if isinstance(command, str) else None


def resumed_settings(run_dir: Path, command: str, kind: str | None = None,
                     required: dict[str, type | tuple[type, int]] | None = None) -> dict[str, Any]:
    """The settings ``config.json`` of a ``command`` run directory records; one-line errors otherwise.

    Refused: a missing directory or ``config.json``, text that is not a JSON object, a directory of another
    command (the message names its kind and the command that resumes it), and settings of ``required``
    missing or of the wrong type (``{key: type}`` or ``{key: (int, minimum)}``).
    """
    kind = kind or RUN_KINDS.get(command, f"a {command} run directory")
    config = run_dir / "config.json"
    if not run_dir.is_dir():
        raise IrlaxError(f"{run_dir} is not {kind}: " + ("it is a file" if run_dir.exists() else "it does not exist"))
    if not config.is_file():
        raise IrlaxError(f"{run_dir} is not {kind} (no config.json)")
    try:
        settings = json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise IrlaxError(f"{config} is not valid JSON ({exc}); {run_dir} can't be resumed") from None
    if not isinstance(settings, dict):
        raise IrlaxError(f"{config} is not a run's settings (a JSON {type(settings).__name__}, not an object); "
                         f"{run_dir} can't be resumed")
    found = run_kind(settings)
    if found != command:
        what = (f"{RUN_KINDS.get(found, f'a {found} run directory')} (resume it with irlax {found} --resume)"
                if found else "not a run directory of irlax (its config.json names no command)")
        raise IrlaxError(f"{run_dir} is {what}, not {kind}")
    for key, spec in (required or {}).items():
        want, minimum = spec if isinstance(spec, tuple) else (spec, None)
        value = settings.get(key)
        if key not in settings:
            raise IrlaxError(f"{config} lacks the setting {key!r}; {run_dir} can't be resumed")
        if not isinstance(value, want) or isinstance(value, bool) and want is not bool or (
                minimum is not None and value < minimum):
            need = f"an integer of at least {minimum}" if minimum is not None else f"a JSON {want.__name__}"
            raise IrlaxError(f"{config}: the setting {key!r} must be {need}, got {value!r}; {run_dir} can't be "
                             "resumed")
    return settings


def check_resume_options(run_dir: Path, settings: dict[str, Any], given: dict[str, tuple[str, Any]]) -> None:
    """Refuse options given with ``--resume`` that differ from what the run records.

    ``given`` maps an option's name (``"--seeds"``) to ``(key in settings, value given)``; ``None``: the option
    was not given. A resumed run is the run it continues, so its task, data, seeds and settings can't change;
    options that may change (more iterations) are not passed here but honoured by the command.
    """
    for option, (key, value) in given.items():
        stored = settings.get(key)
        if value is not None and value != stored:
            raise IrlaxError(f"{option} {value} conflicts with {run_dir}, which was run with {stored} "
                             f"(leave {option} out to resume it, or start a new run)")


def longer(run_dir: Path, option: str, value: int, stored: int) -> int:
    """``value`` of a length option given with ``--resume`` (iterations, rounds, steps): at least the run's own
    ``stored`` length (a run can be lengthened, not shortened: its checkpoint may be past a shorter end)."""
    if value < stored:
        raise IrlaxError(f"{option} {value} is shorter than {run_dir}, which runs for {stored}: a resumed run can "
                         f"be lengthened, not shortened")
    return value


def chunked_run(driver: Driver, progress: Progress, total: int, every: int, label: str, quiet: bool,
                checkpoint: Path | None, run_dir: Path | None = None) -> Progress:
    """Run ``driver`` to ``total`` steps in chunks of ``every`` with a progress bar, checkpointing after each.

    With ``run_dir``, each chunk's metrics are appended to the run's TensorBoard events
    (:class:`irlax.report.tensorboard.EventLog`) before its checkpoint is written.
    """
    events = EventLog(run_dir, driver.seeds, progress.done) if run_dir is not None else contextlib.nullcontext()
    with progress_bar(total, label, enabled=not quiet) as bar, events as log:
        bar.advance(progress.done)
        reached = [progress.done]

        def on_chunk(p: Progress) -> None:
            if log is not None:
                log.write(p.metrics, p.done)
            if checkpoint is not None:
                driver.save(checkpoint, p)
            bar.advance(p.done - reached[0])
            reached[0] = p.done

        try:
            progress = driver.run(progress, total, every, on_chunk)
        except NonFiniteError as exc:
            kept = (f"{checkpoint} keeps the last finite state ({reached[0]} iterations done)" if checkpoint
                    is not None and reached[0] > 0 else "nothing was checkpointed")
            raise IrlaxError(f"{exc}; {kept} (a smaller learning rate or rescaled inputs may help)") from None
        if log is not None:  # a program that runs its seeds in turn reports its metrics at the end
            log.write(progress.metrics, progress.done)
        return progress


def start_or_resume(driver: Driver, run_dir: Path, key: jax.Array, resume: bool, total: int) -> Progress:
    """The checkpointed progress of ``run_dir`` when resuming and it has one, else fresh states."""
    if resume and (run_dir / CHECKPOINT).exists():
        progress = driver.load(run_dir / CHECKPOINT)
        if progress.done > total:
            raise IrlaxError(f"checkpoint {run_dir / CHECKPOINT} has {progress.done} steps, the run only {total}")
        return progress
    return driver.start(key)


def training_rows(metrics: dict[str, np.ndarray], step: str = "iteration") -> list[dict[str, Any]]:
    """Per-seed, per-step metric rows (NaN, e.g. returns of steps where no episode ended, as None)."""
    seeds, steps = next(iter(metrics.values())).shape[:2]
    rows = []
    for s in range(seeds):
        for i in range(steps):
            row: dict[str, Any] = {"seed": s, step: i}
            for k, v in metrics.items():
                value = float(v[s, i])
                row[k] = None if math.isnan(value) else value
            rows.append(row)
    return rows


def binned_returns(returns: np.ndarray, points: int = 100) -> tuple[np.ndarray, int]:
    """Per-iteration mean returns ``[K, I]`` (NaN where no episode ended) averaged into at most ``points`` bins.

    Empty bins repeat the previous bin's value. Returns ``([K, bins], iterations per bin)``.
    """
    per_point = max(1, -(-returns.shape[1] // points))
    bins = -(-returns.shape[1] // per_point)
    padded = np.full((returns.shape[0], bins * per_point), np.nan)
    padded[:, : returns.shape[1]] = returns
    grouped = padded.reshape(returns.shape[0], bins, per_point)
    counts = np.isfinite(grouped).sum(axis=2)
    means = np.where(counts > 0, np.nansum(grouped, axis=2) / np.maximum(counts, 1), np.nan)
    for b in range(1, bins):
        means[:, b] = np.where(np.isnan(means[:, b]), means[:, b - 1], means[:, b])
    return means, per_point


def summaries_over_seeds(rows: list[dict[str, Any]], keys: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Mean, IQM and its 95% bootstrap CI over the per-seed ``rows`` of each numeric key (all but ``seed``).

    A key with a missing or non-finite value in some row is left out (nothing NaN is summarised).
    """
    keys = keys if keys is not None else [k for k in rows[0] if k != "seed"] if rows else []
    out = {}
    for key in keys:
        values = [row.get(key) for row in rows]
        if all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            out[key] = seed_summary(np.asarray(values, float)).as_dict()
    return out


def iqm_cells(rows: list[dict[str, Any]], columns: list[str | None]) -> list[str]:
    """A table row ``IQM [95% CI]``: for each column the IQM of that key of the per-seed ``rows`` and its CI.

    ``columns`` names the key under each table column (``None``: an empty cell); the first cell is the label.
    """
    summaries = summaries_over_seeds(rows, [c for c in columns if c is not None])
    text = lambda key: SeedSummary(**summaries[key]).text() if key in summaries else ""
    return ["IQM [95% CI]", *(text(c) if c is not None else "" for c in columns[1:])]


def integer(text: str) -> int:
    """The type of integer options: ``12``, or a whole number in another notation (``1e6``, ``2.0``)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not math.isfinite(value) or value != math.floor(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line, ``irlax: error: irlax fit: ... (see irlax fit --help)``
    (``irlax: error: ... (see irlax --help)`` for the top-level command), exit status 2, like every other bad
    input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Exit with status 2 and the one-line error."""
        where = "" if self.prog == "irlax" else f"{self.prog}: "
        self.exit(2, f"irlax: error: {where}{message} (see {self.prog} --help)\n")



def train_inputs(args: argparse.Namespace) -> tuple[int, int, Demonstrations, tasks.Env]:
    """What every new ``irlax train`` run checks first: ``--seeds`` and ``--eval-episodes`` (defaults 1 and 20),
    the demonstrations ``--demos``, and the task they are run in (``--env``/``--backend``, default: theirs).

    Returns ``(seeds, eval_episodes, demos, env)``.
    """
    seeds = 1 if args.seeds is None else args.seeds
    eval_episodes = 20 if args.eval_episodes is None else args.eval_episodes
    for flag, value in (("seeds", seeds), ("eval_episodes", eval_episodes)):
        if value < 1:
            raise IrlaxError(f"--{flag.replace('_', '-')} must be at least 1")
    demos = load_demonstrations(args.demos)
    env = open_env(args.env or demos.env_name, args.backend or (None if args.env else demos.backend or None))
    check_demonstrations_fit(demos, env.spec, args.demos)
    check_evaluation_fits(env.spec, seeds, eval_episodes, at_least=100)
    return seeds, eval_episodes, demos, env
