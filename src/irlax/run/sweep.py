"""Sweeps: many irlax runs (algorithms x tasks x settings), each an ordinary run directory, scheduled by Ray Tune.

A sweep file (TOML; YAML too where PyYAML is installed) names one command (``fit``,
``expert``, ``bc`` or ``train``), the options every trial shares (``[args]``), the
options that vary (``[grid]``: lists whose cross product are the trials;
``[space]``: distributions that ``search = "random"`` draws ``samples`` points from,
each crossed with the grid), the seeds every trial runs at once (vmapped inside the
trial) and the metric to optimise::

    name = "mce-lr"
    command = "fit"
    metric = "evaluation.evd_soft"   # per-seed rows of summary.json, or a dotted path to a number or list
    mode = "min"
    seeds = 4
    [args]
    algorithm = "mce"
    world = "world.npz"              # relative paths: from the sweep file's folder
    demos = "demos.npz"
    iterations = 100
    [grid]
    "set.learning_rate" = [0.01, 0.1]
    task = [{world = "a.npz", demos = "a-demos.npz"}, {world = "b.npz", demos = "b-demos.npz"}]

Keys are the command's options (``world`` -> ``--world``; ``true`` -> a bare flag),
``algorithm`` its positional argument, ``set.KEY`` -> ``--set KEY=VALUE`` and
``learner-set.KEY`` -> ``--learner-set KEY=VALUE``. A grid list of tables varies
several options together (a task's world and its demonstrations); its key only
names the column.

Each trial is planned up front (:func:`plan_trials`): its command line and an id,
``INDEX-HASH`` of that command line, so a rerun finds it. The trial runs the
ordinary command (``runner``, the ``irlax`` entry point that the command line passes
in) with ``--out SWEEP/trials/ID`` (``.../ID/run`` for ``expert`` and ``train``,
whose ``--out`` is the run directory itself) and ``--quiet``, its output going to
``trials/ID/log.txt``. The trial folders are the sweep's state: a run directory with a
``summary.json`` is done and never rerun; one with only its ``config.json`` was
interrupted and is continued with the command's ``--resume`` (``bc``, which has none,
starts again). Ray Tune (:func:`run_sweep`) only schedules the trials that are not
done, on a local Ray or a cluster, one CPU each by default.

At the end, :func:`collect_outcome` reads each trial's metric, one value per seed,
and summarises it over seeds (mean, IQM and its 95% bootstrap interval,
:func:`irlax.metrics.aggregate.seed_summary`); :func:`write_sweep_report` writes
``sweep.json`` and ``sweep.png``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import shlex
import shutil
import tomllib
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from irlax.atomic import atomic_savefig, atomic_write_json, atomic_write_text
from irlax.errors import IrlaxError
from irlax.metrics.aggregate import SeedSummary, seed_summary
from irlax.report import progress_bar

COMMANDS = ("fit", "expert", "bc", "train")
"""The commands a sweep can run."""

RESUMABLE = ("fit", "expert", "train")
"""The commands with ``--resume``: their interrupted trials continue, a ``bc`` trial starts again."""

OWN_RUN_DIR = ("expert", "train")
"""The commands whose ``--out`` is the run directory itself (the others create one inside it)."""

POSITIONAL = {"fit": "algorithm", "train": "algorithm"}
"""The option each command takes as its positional argument."""

PATH_OPTIONS = frozenset({"world", "demos", "transfer-expert"})
"""Options naming files or folders; relative values resolve against the sweep file's folder."""

SETTING_PREFIXES = ("set", "learner-set")
"""``set.KEY = VALUE`` -> ``--set KEY=VALUE``; ``learner-set.KEY`` -> ``--learner-set KEY=VALUE``."""

RESERVED = frozenset({"out", "resume", "quiet", "seeds", "help"})
"""Options the sweep sets itself (``seeds`` is the file's top-level key)."""

TOP_LEVEL = ("name", "command", "metric", "mode", "seeds", "search", "samples", "search_seed", "args", "grid", "space")
"""The keys a sweep file may have."""

SEARCHES = ("grid", "random")
LOG_FILE = "log.txt"
ERROR_FILE = "error.txt"
PLAN_FILE = "plan.json"
REPORT_FILE = "sweep.json"
PLOT_FILE = "sweep.png"
TRIALS = "trials"
INTERRUPTED = 130
"""The exit status of an interrupted ``irlax`` command."""

Runner = Callable[[list[str]], int]
"""Runs one ``irlax`` command line and returns its exit status (the command line's ``main``)."""


# ---------------------------------------------------------------------------------------------------------------
# the sweep file


@dataclasses.dataclass(frozen=True)
class Distribution:
    """What ``search = "random"`` draws one varied option from.

    Attributes:
        low, high: the range (floats uniform in [low, high), integers in [low, high]); None with ``choices``.
        log: draw uniformly in log space (``low > 0``).
        integer: draw integers.
        choices: draw one of these, uniformly, instead of a range.
    """

    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file.

    Attributes:
        name: the sweep's name (the default folder is ``runs/sweep-NAME``).
        command: fit, expert, bc or train.
        metric: a dotted path into each trial's ``summary.json``: ``evaluation.KEY`` reads ``KEY`` of every
            per-seed row; otherwise a number or a list of numbers (one per seed).
        mode: ``min`` or ``max``: which way is better (required).
        seeds: ``--seeds`` of every trial (its seeds run at once, vmapped).
        search: ``grid`` (the cross product of ``grid``) or ``random`` (``samples`` draws from ``space``, each
            crossed with ``grid``).
        samples: draws of a random search (1 for a grid).
        search_seed: the random search's seed.
        args: the options every trial shares, as written.
        grid: varied options, each a tuple of values, or of option tables varied together.
        space: a random search's distributions.
        folder: the sweep file's folder (relative paths resolve against it).
        source: the sweep file.
    """

    name: str
    command: str
    metric: str
    mode: str
    seeds: int
    search: str
    samples: int
    search_seed: int
    args: Mapping[str, Any]
    grid: Mapping[str, tuple[Any, ...]]
    space: Mapping[str, Distribution]
    folder: str
    source: str


def load_sweep(path: str | os.PathLike[str]) -> SweepSpec:
    """Read and validate a sweep file (``.toml``; ``.yaml``/``.yml`` where PyYAML is installed).

    Raises:
        IrlaxError: a missing or unreadable file, bad syntax, or anything :func:`parse_sweep` refuses.
    """
    path = Path(path)
    if not path.is_file():
        raise IrlaxError(f"sweep file {path} does not exist")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise IrlaxError(f"sweep file {path} is not readable ({exc})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise IrlaxError(f"sweep file {path}: YAML needs PyYAML (pip install pyyaml); or write it in TOML") \
                from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise IrlaxError(f"sweep file {path} is not valid YAML ({' '.join(str(exc).split())})") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise IrlaxError(f"sweep file {path} is not valid TOML ({exc})") from None
    return parse_sweep(data, path.resolve().parent, str(path), default_name=path.stem)


def parse_sweep(data: Any, folder: str | os.PathLike[str], source: str = "sweep file",
                default_name: str = "sweep") -> SweepSpec:
    """Validate a sweep file's contents (a dict, as TOML or YAML gives it) into a :class:`SweepSpec`.

    ``folder`` is where relative paths resolve from; ``source`` names the file in errors.

    Raises:
        IrlaxError: one line naming the first problem: an unknown or missing key, an unknown command or search,
            a bad mode, seeds or samples, an empty grid, an option the sweep sets itself, an option both fixed
            and varied, a value of an unsupported type.
    """
    where = f"sweep file {source}"
    if not isinstance(data, dict):
        raise IrlaxError(f"{where} must be a table of keys (name, command, metric, ...)")
    unknown = [k for k in data if k not in TOP_LEVEL]
    if unknown:
        raise IrlaxError(f"{where}: unknown key {unknown[0]!r}; keys: {', '.join(TOP_LEVEL)}")
    command = data.get("command")
    if command not in COMMANDS:
        raise IrlaxError(f"{where}: command must be one of {', '.join(COMMANDS)}, got {command!r}")
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric or not all(metric.split(".")):
        raise IrlaxError(f"{where} needs a metric: a key of the trials' summary.json, e.g. "
                         f"\"evaluation.evd_soft\" (got {metric!r})")
    mode = data.get("mode")
    if mode not in ("min", "max"):
        raise IrlaxError(f"{where}: mode must be min or max, got {mode!r}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise IrlaxError(f"{where}: name must be a plain folder name, got {name!r}")
    seeds = positive_int(data.get("seeds", 1), f"{where}: seeds")
    search = data.get("search", "grid")
    if search == "optuna":
        raise IrlaxError(f"{where}: search \"optuna\" is not supported; use grid or random")
    if search not in SEARCHES:
        raise IrlaxError(f"{where}: search must be one of {', '.join(SEARCHES)}, got {search!r}")
    args = flatten_settings(table(data.get("args", {}), f"{where}: [args]"))
    grid = flatten_settings(table(data.get("grid", {}), f"{where}: [grid]"))
    space = flatten_settings(table(data.get("space", {}), f"{where}: [space]"))
    for key, value in args.items():
        check_option(command, key, value, f"{where}: [args]")
    grid_values = {key: grid_entry(command, key, values, f"{where}: [grid]") for key, values in grid.items()}
    if search == "grid":
        if space or "samples" in data or "search_seed" in data:
            raise IrlaxError(f"{where}: [space], samples and search_seed are for search = \"random\"")
        if not grid_values:
            raise IrlaxError(f"{where}: search = \"grid\" needs a [grid] of options to vary")
        samples, search_seed = 1, 0
    else:
        if not space:
            raise IrlaxError(f"{where}: search = \"random\" needs a [space] of options to draw")
        samples = positive_int(data.get("samples"), f"{where}: samples")
        search_seed = data.get("search_seed", 0)
        if not isinstance(search_seed, int) or isinstance(search_seed, bool) or search_seed < 0:
            raise IrlaxError(f"{where}: search_seed must be a non-negative integer, got {search_seed!r}")
    distributions = {}
    for key, spec in space.items():
        check_option_name(command, key, f"{where}: [space]")
        distributions[key] = distribution(spec, f"{where}: [space] {key}")
        for choice in distributions[key].choices or ():
            check_option(command, key, choice, f"{where}: [space] {key}")
    check_disjoint(args, grid_values, distributions, where)
    return SweepSpec(name=name, command=command, metric=metric, mode=mode, seeds=seeds, search=search,
                     samples=samples, search_seed=search_seed, args=args, grid=grid_values, space=distributions,
                     folder=str(folder), source=source)


def positive_int(value: Any, what: str) -> int:
    """``value`` if it is an integer of at least 1, else :class:`IrlaxError` naming ``what``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise IrlaxError(f"{what} must be a positive integer, got {value!r}")
    return value


def table(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a table (dict), else :class:`IrlaxError`."""
    if not isinstance(value, dict):
        raise IrlaxError(f"{what} must be a table of options")
    return value


def option_key(key: str) -> str:
    """An option's canonical name: dashes for underscores (``transfer_expert`` -> ``transfer-expert``) except in the
    config field of ``set.KEY``."""
    prefix, dot, field = key.partition(".")
    return f"{prefix.replace('_', '-')}{dot}{field}"


def flatten_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options with TOML's nested ``set = {KEY = ...}`` (from ``set.KEY = ...``) flattened to ``"set.KEY"`` keys,
    and names canonical (:func:`option_key`)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        key = option_key(str(key))
        if key in SETTING_PREFIXES and isinstance(value, dict):
            for field, setting in value.items():
                out[f"{key}.{field}"] = setting
        else:
            out[key] = value
    return out


def check_option_name(command: str, key: str, where: str) -> None:
    """:class:`IrlaxError` for an option a sweep can't set: one it sets itself, a positional argument the command
    lacks, or an empty setting name. (Whether the command has the option is checked by parsing each trial's
    command line.)"""
    prefix, dot, field = key.partition(".")
    if dot:
        if prefix not in SETTING_PREFIXES or not field:
            raise IrlaxError(f"{where}: {key!r} is not an option; settings are set.KEY or learner-set.KEY")
        return
    if key in RESERVED:
        raise IrlaxError(f"{where}: {key!r} is set by the sweep itself (seeds: the top-level key)")
    if key == "algorithm" and command not in POSITIONAL:
        raise IrlaxError(f"{where}: {command} takes no algorithm")
    if key in SETTING_PREFIXES:
        raise IrlaxError(f"{where}: {key!r} takes a table of settings, e.g. {key}.learning_rate = 0.01")


def check_option(command: str, key: str, value: Any, where: str) -> None:
    """:class:`IrlaxError` unless ``key = value`` is an option a trial can take (see :func:`check_option_name`);
    values are strings, numbers and booleans, and lists of numbers for settings (tuple fields)."""
    check_option_name(command, key, where)
    scalar = (str, int, float, bool)
    if isinstance(value, scalar) or (value is None and "." in key):
        return
    if "." in key and isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return
    raise IrlaxError(f"{where}: {key} = {value!r} is not a string, number or boolean")


def grid_entry(command: str, key: str, values: Any, where: str) -> tuple[Any, ...]:
    """A grid key's values, checked: a non-empty list of option values, or of option tables varied together."""
    if not isinstance(values, list):
        raise IrlaxError(f"{where}: {key} must be a list of values, got {values!r}")
    if not values:
        raise IrlaxError(f"{where}: {key} has no values")
    if any(isinstance(v, dict) for v in values):
        bundles = []
        for value in values:
            if not isinstance(value, dict) or not value:
                raise IrlaxError(f"{where}: {key} mixes option tables with other values (or has an empty table)")
            bundle = flatten_settings(value)
            for option, setting in bundle.items():
                check_option(command, option, setting, f"{where}: {key}")
            bundles.append(bundle)
        return tuple(bundles)
    for value in values:
        check_option(command, key, value, where)
    return tuple(values)


def distribution(spec: Any, where: str) -> Distribution:
    """A random search's distribution from its table: ``{low, high, log?, integer?}`` or ``{choices = [...]}``."""
    if not isinstance(spec, dict):
        raise IrlaxError(f"{where} must be a table: {{low = ..., high = ..., log = true}} or {{choices = [...]}}")
    unknown = set(spec) - {"low", "high", "log", "integer", "choices"}
    if unknown:
        raise IrlaxError(f"{where}: unknown key {sorted(unknown)[0]!r} (low, high, log, integer or choices)")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
            raise IrlaxError(f"{where}: choices must be a non-empty list, alone")
        return Distribution(choices=tuple(choices))
    low, high = spec.get("low"), spec.get("high")
    number = lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if not number(low) or not number(high) or not low < high:
        raise IrlaxError(f"{where}: needs numbers low < high, got low = {low!r}, high = {high!r}")
    log, integer = spec.get("log", False), spec.get("integer", False)
    if not isinstance(log, bool) or not isinstance(integer, bool):
        raise IrlaxError(f"{where}: log and integer are true or false")
    if log and low <= 0:
        raise IrlaxError(f"{where}: a log-uniform range needs low > 0")
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        raise IrlaxError(f"{where}: an integer range needs integer low and high")
    return Distribution(low=float(low), high=float(high), log=log, integer=integer)


def check_disjoint(args: Mapping[str, Any], grid: Mapping[str, tuple[Any, ...]],
                   space: Mapping[str, Distribution], where: str) -> None:
    """:class:`IrlaxError` if an option is set twice: fixed and varied, or by two varied keys."""
    seen = {key: "[args]" for key in args}
    varied = [(key, [key]) for key in space]
    for key, values in grid.items():
        bundled = isinstance(values[0], dict)
        varied.append((key, sorted({o for v in values for o in v}) if bundled else [key]))
    for key, options in varied:
        for option in options:
            if option in seen:
                raise IrlaxError(f"{where}: {option} is set twice ({seen[option]} and {key})")
            seen[option] = key


# ---------------------------------------------------------------------------------------------------------------
# trials


@dataclasses.dataclass(frozen=True)
class TrialSpec:
    """One trial: a configuration of the command, run with all the sweep's seeds.

    Attributes:
        index: its place in the sweep.
        id: ``INDEX-HASH``, the hash of its command line: stable across reruns of the same file.
        params: the varied values (grid and space keys), as written in the file.
        argv: its ``irlax`` command line, paths resolved, without ``--out``, ``--resume`` and ``--quiet``.
    """

    index: int
    id: str
    params: Mapping[str, Any]
    argv: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types (for Tune's config and ``plan.json``)."""
        return {"index": self.index, "id": self.id, "params": dict(self.params), "argv": list(self.argv)}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> TrialSpec:
        """The inverse of :meth:`as_dict`."""
        return TrialSpec(int(data["index"]), str(data["id"]), dict(data["params"]), tuple(data["argv"]))


def sample_value(dist: Distribution, rng: np.random.Generator) -> Any:
    """One draw from ``dist`` (a plain Python value)."""
    if dist.choices is not None:
        return dist.choices[int(rng.integers(len(dist.choices)))]
    if dist.integer:
        if dist.log:
            value = round(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))))
            return int(min(max(value, dist.low), dist.high))
        return int(rng.integers(int(dist.low), int(dist.high) + 1))
    if dist.log:
        return float(math.exp(rng.uniform(math.log(dist.low), math.log(dist.high))))
    return float(rng.uniform(dist.low, dist.high))


def draw_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The random search's ``samples`` draws from ``space`` (seeded: the same file draws the same points); one empty
    point for a grid."""
    if spec.search != "random":
        return [{}]
    rng = np.random.default_rng(spec.search_seed)
    return [{key: sample_value(dist, rng) for key, dist in spec.space.items()} for _ in range(spec.samples)]


def grid_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The cross product of the grid, first key outermost, as ``{key: value}`` dicts."""
    keys = list(spec.grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(spec.grid[k] for k in keys))]


def resolve_path(value: Any, folder: str) -> Any:
    """A relative path string made absolute against ``folder`` (anything else unchanged)."""
    if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
        return str(Path(folder) / value)
    return str(Path(value).expanduser()) if isinstance(value, str) and value else value


def trial_options(spec: SweepSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """All options of the trial with varied values ``params``: the fixed ones, then the varied ones (option tables
    merged), paths resolved against the sweep file's folder."""
    options = dict(spec.args)
    for key, value in params.items():
        options.update(value if isinstance(value, dict) else {key: value})
    return {k: resolve_path(v, spec.folder) if k in PATH_OPTIONS else v for k, v in options.items()}


def setting_text(value: Any) -> str:
    """A ``--set`` value as text: ``true``/``false``, ``none``, ``64,64`` for a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def command_argv(command: str, options: Mapping[str, Any], seeds: int) -> list[str]:
    """The ``irlax`` command line of ``options``: ``COMMAND [ALGORITHM] --key=value ... --seeds=K``.

    ``true`` is a bare flag and ``false`` leaves it out; ``set.KEY`` and ``learner-set.KEY`` become
    ``--set=KEY=VALUE`` and ``--learner-set=KEY=VALUE``.
    """
    argv = [command]
    positional = POSITIONAL.get(command)
    if positional in options:
        argv.append(str(options[positional]))
    for key, value in options.items():
        if key == positional:
            continue
        prefix, dot, field = key.partition(".")
        if dot:
            argv.append(f"--{prefix}={field}={setting_text(value)}")
        elif value is True:
            argv.append(f"--{key}")
        elif value is not False and value is not None:
            argv.append(f"--{key}={value}")
    argv.append(f"--seeds={seeds}")
    return argv


def trial_id(index: int, argv: Sequence[str]) -> str:
    """``INDEX-HASH``: the trial's place and the first 8 hex digits of the SHA-256 of its command line."""
    digest = hashlib.sha256(json.dumps(list(argv)).encode()).hexdigest()[:8]
    return f"{index:04d}-{digest}"


def plan_trials(spec: SweepSpec) -> tuple[TrialSpec, ...]:
    """Every trial of the sweep, in order: each random draw (one for a grid) crossed with the grid's points."""
    trials = []
    for index, (draw, point) in enumerate(itertools.product(draw_points(spec), grid_points(spec))):
        params = {**point, **draw}
        argv = command_argv(spec.command, trial_options(spec, params), spec.seeds)
        trials.append(TrialSpec(index, trial_id(index, argv), params, tuple(argv)))
    return tuple(trials)


def check_inputs(trials: Sequence[TrialSpec], source: str) -> None:
    """:class:`IrlaxError` for the first input file or folder (``world``, ``demos``, ``transfer-expert``) that a
    trial names and that doesn't exist: caught before any trial starts."""
    for trial in trials:
        for arg in trial.argv:
            option, _, value = arg.removeprefix("--").partition("=")
            if arg.startswith("--") and option in PATH_OPTIONS and not Path(value).exists():
                raise IrlaxError(f"sweep file {source}: trial {trial.id}: {option} {value} does not exist")


# ---------------------------------------------------------------------------------------------------------------
# one trial's folder


class TrialState(NamedTuple):
    """What a trial's folder says is left to do.

    Attributes:
        step: ``start`` (no run yet, or an interrupted one of a command without ``--resume``), ``resume`` (an
            interrupted run) or ``done`` (a run with a ``summary.json``).
        run_dir: the run directory to resume or read; None to start.
    """

    step: str
    run_dir: Path | None


def trial_dir(sweep_dir: str | os.PathLike[str], trial: TrialSpec) -> Path:
    """The folder of ``trial``: ``SWEEP/trials/ID``."""
    return Path(sweep_dir) / TRIALS / trial.id


def run_dirs(folder: Path) -> list[Path]:
    """The run directories in a trial's folder (sub-folders with a ``config.json``), oldest name first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "config.json").is_file())


def trial_state(folder: str | os.PathLike[str], command: str) -> TrialState:
    """What is left to do in a trial's folder: see :class:`TrialState`."""
    runs = run_dirs(Path(folder))
    done = [p for p in runs if (p / "summary.json").is_file()]
    if done:
        return TrialState("done", done[-1])
    if runs and command in RESUMABLE:
        return TrialState("resume", runs[-1])
    return TrialState("start", None)


def trial_argv(trial: TrialSpec, folder: str | os.PathLike[str], state: TrialState) -> list[str]:
    """The command line that makes progress on a trial in ``state``: the trial's own command with
    ``--out`` (its folder, or ``folder/run`` for commands whose ``--out`` is the run directory) and ``--quiet``,
    or ``COMMAND --resume RUN_DIR --quiet``."""
    command = trial.argv[0]
    if state.step == "done":
        raise IrlaxError(f"trial {trial.id} is done ({state.run_dir})")
    if state.step == "resume":
        return [command, f"--resume={state.run_dir}", "--quiet"]
    out = Path(folder) / "run" if command in OWN_RUN_DIR else Path(folder)
    return [*trial.argv, f"--out={out}", "--quiet"]


def failure_message(log: str) -> str:
    """The line that says why a command failed: its last ``irlax: error:`` line, else its last line."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("irlax: error:")]
    line = errors[-1] if errors else (lines[-1] if lines else "the command failed without output")
    return line.removeprefix("irlax: error:").strip()


def execute_trial(trial: TrialSpec, folder: str | os.PathLike[str], runner: Runner) -> Path:
    """Make a trial done: run its command (or continue its interrupted run) unless its folder has a finished run.

    The command's output goes to ``folder/log.txt`` (appended). Run directories of an earlier try that can't be
    continued (no ``config.json`` yet, or ``bc``'s) are removed first. Returns the finished run directory.

    Raises:
        IrlaxError: the command failed (the reason also goes to ``folder/error.txt``).
    """
    folder = Path(folder)
    command = trial.argv[0]
    state = trial_state(folder, command)
    if state.step == "done":
        return state.run_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ERROR_FILE).unlink(missing_ok=True)
    for stale in (p for p in folder.iterdir() if p.is_dir() and p != state.run_dir):
        shutil.rmtree(stale)
    argv = trial_argv(trial, folder, state)
    with open(folder / LOG_FILE, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        start = log.tell()
        print(f"$ irlax {shlex.join(argv)}", flush=True)
        try:
            status = runner(argv)
        except KeyboardInterrupt:
            raise  # interrupted, not failed: the next run continues it
        except BaseException as exc:
            traceback.print_exc()
            atomic_write_text(folder / ERROR_FILE, f"{type(exc).__name__}: {exc}".splitlines()[0] + "\n")
            raise
    if status == INTERRUPTED:
        raise IrlaxError(f"trial {trial.id} was interrupted")
    state = trial_state(folder, command)
    if status != 0 or state.step != "done":
        with open(folder / LOG_FILE, errors="replace") as log:
            log.seek(start)
            message = failure_message(log.read()) if status != 0 else "the command ended without a summary.json"
        atomic_write_text(folder / ERROR_FILE, message + "\n")
        raise IrlaxError(f"trial {trial.id}: {message}")
    return state.run_dir


# ---------------------------------------------------------------------------------------------------------------
# metrics and outcomes


def metric_values(summary: Mapping[str, Any], metric: str) -> list[float]:
    """The metric's values, one per seed, from a run's ``summary.json``.

    ``metric`` is a dotted path; where it meets a list of rows (the per-seed ``evaluation`` rows) it reads the
    next key of every row. It must end at a number (one value) or a list of numbers. None (e.g. a return that was
    not measured) reads as NaN.

    Raises:
        IrlaxError: the path doesn't exist, or doesn't end at numbers.
    """
    node: Any = summary
    for i, key in enumerate(metric.split(".")):
        here = ".".join(metric.split(".")[:i]) or "summary.json"
        if isinstance(node, Mapping):
            if key not in node:
                keys = ", ".join(sorted(str(k) for k in node))
                raise IrlaxError(f"metric {metric}: {here} has no key {key!r} (keys: {keys})")
            node = node[key]
        elif isinstance(node, list) and node and all(isinstance(row, Mapping) for row in node):
            missing = [row for row in node if key not in row]
            if missing:
                raise IrlaxError(f"metric {metric}: the rows of {here} have no key {key!r} "
                                 f"(keys: {', '.join(sorted(missing[0]))})")
            node = [row[key] for row in node]
        else:
            raise IrlaxError(f"metric {metric}: {here} is not a table")
    values = node if isinstance(node, list) else [node]
    if not values or not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
        raise IrlaxError(f"metric {metric} is not a number or a list of numbers in summary.json")
    return [math.nan if v is None else float(v) for v in values]


def metric_summary(values: Sequence[float]) -> SeedSummary | None:
    """Mean, IQM and its 95% bootstrap interval over the finite values (None if there are none)."""
    finite = np.asarray([v for v in values if math.isfinite(v)], float)
    return seed_summary(finite) if finite.size else None


@dataclasses.dataclass(frozen=True)
class TrialOutcome:
    """Where a trial stands after a sweep, and its metric.

    Attributes:
        trial: the trial.
        status: ``done``, ``failed`` (its command failed) or ``pending`` (not run, or interrupted).
        run_dir: its run directory (done, or interrupted), else None.
        values: the metric per seed (done), NaN where a seed has none.
        summary: the metric over the seeds (done and some finite value), else None.
        error: why it failed, or why a done trial has no metric.
    """

    trial: TrialSpec
    status: str
    run_dir: str | None = None
    values: tuple[float, ...] = ()
    summary: SeedSummary | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types (for ``sweep.json``)."""
        return {**self.trial.as_dict(), "status": self.status, "run_dir": self.run_dir, "values": list(self.values),
                "summary": self.summary.as_dict() if self.summary is not None else None, "error": self.error}


def read_summary(run_dir: Path) -> dict[str, Any]:
    """A run directory's ``summary.json``; :class:`IrlaxError` if it isn't a readable JSON object."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError) as exc:
        raise IrlaxError(f"{run_dir / 'summary.json'} is not readable JSON ({exc})") from None
    if not isinstance(summary, dict):
        raise IrlaxError(f"{run_dir / 'summary.json'} is not a JSON object")
    return summary


def collect_outcome(trial: TrialSpec, folder: str | os.PathLike[str], metric: str,
                    error: str | None = None) -> TrialOutcome:
    """A trial's outcome from its folder: done (with its metric), failed (``error.txt``, else ``error``, what the
    scheduler reported), or pending."""
    folder = Path(folder)
    state = trial_state(folder, trial.argv[0])
    if state.step == "done":
        try:
            values = metric_values(read_summary(state.run_dir), metric)
        except IrlaxError as exc:
            return TrialOutcome(trial, "done", str(state.run_dir), error=str(exc))
        return TrialOutcome(trial, "done", str(state.run_dir), tuple(values), metric_summary(values))
    run_dir = str(state.run_dir) if state.run_dir is not None else None
    if (folder / ERROR_FILE).is_file():
        error = (folder / ERROR_FILE).read_text(errors="replace").strip() or "failed"
    return TrialOutcome(trial, "failed" if error else "pending", run_dir, error=error)


def best_outcome(outcomes: Sequence[TrialOutcome], mode: str) -> TrialOutcome | None:
    """The done trial with the best IQM (lowest for ``min``, highest for ``max``; the first of equals)."""
    scored = [o for o in outcomes if o.summary is not None]
    if not scored:
        return None
    sign = 1.0 if mode == "min" else -1.0
    return min(scored, key=lambda o: sign * o.summary.iqm)


# ---------------------------------------------------------------------------------------------------------------
# the sweep folder and Ray Tune


def sweep_plan(spec: SweepSpec, trials: Sequence[TrialSpec]) -> dict[str, Any]:
    """What identifies a sweep in its folder (``plan.json``): the command and every trial's id and command line.

    The metric, mode and name are not part of it: they may change between reruns without rerunning anything.
    """
    return {"command": spec.command, "trials": [{"id": t.id, "argv": list(t.argv)} for t in trials]}


def open_sweep_dir(sweep_dir: str | os.PathLike[str], spec: SweepSpec, trials: Sequence[TrialSpec]) -> Path:
    """Create the sweep folder (``plan.json`` and a copy of the file), or reopen it for the same trials.

    Raises:
        IrlaxError: the folder holds another sweep's trials, or is a non-empty folder that is not a sweep's.
    """
    sweep_dir = Path(sweep_dir)
    plan = sweep_plan(spec, trials)
    if (sweep_dir / PLAN_FILE).is_file():
        try:
            stored = json.loads((sweep_dir / PLAN_FILE).read_text())
        except (OSError, ValueError):
            stored = None
        if stored != plan:
            raise IrlaxError(f"{sweep_dir} holds another sweep (its trials differ from those of {spec.source}); "
                             "choose another --out, or delete it")
    elif sweep_dir.exists() and (not sweep_dir.is_dir() or any(sweep_dir.iterdir())):
        raise IrlaxError(f"{sweep_dir} exists and is not a sweep folder (no {PLAN_FILE}); choose another --out")
    else:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(sweep_dir / PLAN_FILE, plan)
    source = Path(spec.source)
    if source.is_file():  # the file as last run (its metric, mode and name may have changed)
        atomic_write_text(sweep_dir / f"sweep{source.suffix or '.toml'}", source.read_text())
    return sweep_dir


def tune_trial(config: dict[str, Any], runner: Runner) -> None:
    """Ray Tune's function trainable for one trial: make it done (:func:`execute_trial`) and report its metric.

    ``config`` holds ``trial`` (:meth:`TrialSpec.as_dict`), ``sweep_dir`` and ``metric``. Reports ``iqm``,
    ``mean``, ``iqm_low``, ``iqm_high`` (NaN without a metric), ``seeds`` (how many have one) and ``run_dir``.
    """
    from ray import tune

    trial = TrialSpec.from_dict(config["trial"])
    folder = trial_dir(config["sweep_dir"], trial)
    run_dir = execute_trial(trial, folder, runner)
    summary = collect_outcome(trial, folder, config["metric"]).summary
    scores = {k: getattr(summary, k) if summary is not None else math.nan
              for k in ("iqm", "mean", "iqm_low", "iqm_high")}
    tune.report({**scores, "seeds": summary.n if summary is not None else 0, "run_dir": str(run_dir)})


def tune_trial_name(trial: Any) -> str:
    """Tune's name (and folder name) of a trial: its sweep id."""
    return trial.config["trial"]["id"]


@contextlib.contextmanager
def tune_output_quiet() -> Iterator[None]:
    """Quiet Ray Tune for the block, everything restored after: its legacy output engine (silent at ``verbose=0``;
    the new one always prints a header), no error logs of failed trials (the sweep reports them itself), and no
    warning from JAX that Ray's process starts fork (they exec at once)."""
    old = os.environ.get("RAY_AIR_NEW_OUTPUT")
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    tune_logger = logging.getLogger("ray.tune")
    level = tune_logger.level
    tune_logger.setLevel(logging.CRITICAL)  # a failed trial's traceback: the sweep reports failures itself
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            yield
    finally:
        tune_logger.setLevel(level)
        if old is None:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
        else:
            os.environ["RAY_AIR_NEW_OUTPUT"] = old


def progress_callback(bar: Any, report: Callable[[str], None] | None) -> Any:
    """A Tune callback that advances ``bar`` as trials end, and passes ``report`` a line about each."""
    from ray.tune import Callback

    class SweepProgress(Callback):
        """Advances the sweep's progress bar and reports each trial as it ends."""

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            """A trial finished: its IQM."""
            bar.advance(1)
            if report is not None:
                result = trial.last_result or {}
                iqm = result.get("iqm", math.nan)
                report(f"trial {tune_trial_name(trial)} done: IQM {iqm:.4g} over {result.get('seeds', 0)} seeds")

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            """A trial failed."""
            bar.advance(1)
            if report is not None:
                report(f"trial {tune_trial_name(trial)} failed")

    return SweepProgress()


def start_ray(address: str | None, cpus: int | None) -> bool:
    """Connect to the Ray cluster at ``address``, or start a local Ray with ``cpus`` CPUs (default: all of this
    machine's); nothing if this process already has Ray. Returns whether it started (and so should stop) it."""
    import ray

    if ray.is_initialized():
        return False
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(address="local", num_cpus=cpus or os.cpu_count(), include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise IrlaxError(f"could not start {where} ({' '.join(str(exc).split())})") from None
    return True


def run_trials(trials: Sequence[TrialSpec], sweep_dir: Path, spec: SweepSpec, runner: Runner, cpus_per_trial: float,
               quiet: bool) -> dict[str, str]:
    """Run ``trials`` as one Tune experiment (``SWEEP/tune/run-N``) on the Ray this process is connected to.

    Returns the error Tune reported for each trial that failed, by trial id.
    """
    from ray import tune

    storage = (sweep_dir / "tune").resolve()
    runs = [p for p in storage.glob("run-*") if p.is_dir()] if storage.is_dir() else []
    name = f"run-{len(runs) + 1}"
    param_space = {"trial": tune.grid_search([t.as_dict() for t in trials]), "sweep_dir": str(sweep_dir.resolve()),
                   "metric": spec.metric}
    trainable = tune.with_resources(tune.with_parameters(tune_trial, runner=runner), {"cpu": cpus_per_trial})
    with progress_bar(len(trials), f"sweep {spec.name}", enabled=not quiet) as bar:
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(metric="iqm", mode=spec.mode, reuse_actors=True,
                                        trial_name_creator=tune_trial_name, trial_dirname_creator=tune_trial_name),
            run_config=tune.RunConfig(name=name, storage_path=str(storage), verbose=0,
                                      callbacks=[progress_callback(bar, None if quiet else print)],
                                      failure_config=tune.FailureConfig(max_failures=0)),
        )
        results = tuner.fit()
    errors = {}
    for result in results:
        if result.error is not None:
            trial_config = (result.config or {}).get("trial", {})
            errors[str(trial_config.get("id"))] = " ".join(str(result.error).split())[:500]
    return errors


def check_resources(address: str | None, cpus: int | None, cpus_per_trial: float) -> None:
    """:class:`IrlaxError` unless the resources make sense: positive CPUs per trial, ``cpus`` (a local Ray's) not
    with ``address`` and at least one trial's worth."""
    if cpus_per_trial <= 0:
        raise IrlaxError(f"--cpus-per-trial must be positive, got {cpus_per_trial}")
    if address and cpus is not None:
        raise IrlaxError("--cpus sizes a local Ray; a cluster (--address) has the CPUs it has")
    if cpus is not None and cpus < cpus_per_trial:
        raise IrlaxError(f"--cpus {cpus} is less than --cpus-per-trial {cpus_per_trial}: no trial could start")


def run_sweep(spec: SweepSpec, trials: Sequence[TrialSpec], sweep_dir: str | os.PathLike[str], runner: Runner, *,
              address: str | None = None, cpus: int | None = None, cpus_per_trial: float = 1.0,
              quiet: bool = False) -> tuple[TrialOutcome, ...]:
    """Run every trial that is not done on Ray Tune, then read every trial's outcome.

    Args:
        spec, trials: the sweep and its trials (:func:`plan_trials`); ``sweep_dir`` opened by :func:`open_sweep_dir`.
        runner: runs one ``irlax`` command line in a Ray worker (the command line's ``main``; it must be importable
            there, so pickled by reference).
        address: a Ray cluster to join (``ray.init(address=...)``); None starts a local Ray in this process, stopped
            at the end (a process already connected to Ray uses that one).
        cpus: the local Ray's CPUs (default: all of this machine's).
        cpus_per_trial: the CPUs Tune reserves for each trial.
        quiet: no progress bar and no line per finished trial.

    Returns the outcome of every trial, in order; a sweep whose trials are all done starts no Ray.
    """
    sweep_dir = Path(sweep_dir)
    check_resources(address, cpus, cpus_per_trial)
    pending = [t for t in trials if trial_state(trial_dir(sweep_dir, t), spec.command).step != "done"]
    errors: dict[str, str] = {}
    if pending:
        if not quiet:
            where = f"the Ray cluster at {address}" if address else f"a local Ray ({cpus or os.cpu_count()} CPUs)"
            print(f"sweep {spec.name}: {len(trials)} trials, {len(trials) - len(pending)} done, {len(pending)} to run "
                  f"on {where}")
        import ray

        with tune_output_quiet():
            started = start_ray(address, cpus)
            try:
                errors = run_trials(pending, sweep_dir, spec, runner, cpus_per_trial, quiet)
            finally:
                if started:
                    ray.shutdown()
    elif not quiet:
        print(f"sweep {spec.name}: all {len(trials)} trials done")
    return tuple(collect_outcome(t, trial_dir(sweep_dir, t), spec.metric, errors.get(t.id)) for t in trials)


# ---------------------------------------------------------------------------------------------------------------
# the report


def value_text(value: Any) -> str:
    """A varied value for a table or a plot label: numbers to 4 significant digits, an option table as
    ``key=value`` pairs, a path as its file name."""
    if isinstance(value, dict):
        return " ".join(f"{k}={value_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str) and os.sep in value:
        return Path(value).name
    return str(value)


def varied_keys(trials: Sequence[TrialSpec]) -> list[str]:
    """The keys the trials vary, in order of first appearance."""
    return list(dict.fromkeys(k for t in trials for k in t.params))


def trial_label(trial: TrialSpec) -> str:
    """A trial's configuration in one line: ``key=value`` for each varied key."""
    return ", ".join(f"{k}={value_text(v)}" for k, v in trial.params.items())


def sweep_table(spec: SweepSpec, outcomes: Sequence[TrialOutcome]) -> tuple[list[str], list[list[str]]]:
    """Columns and rows of the sweep's summary: the trial (its folder ``trials/ID``), the varied values, the
    metric's mean and ``IQM [95% CI]`` over seeds (or the trial's status), the best trial starred."""
    keys = varied_keys([o.trial for o in outcomes])
    best = best_outcome(outcomes, spec.mode)
    columns = ["trial", *keys, "mean", "IQM [95% CI]", "best"]
    rows = []
    for o in outcomes:
        if o.summary is not None:
            cells = [f"{o.summary.mean:.4g}", o.summary.text()]
        else:
            cells = ["-", o.status if o.status != "done" else "no metric"]
        rows.append([o.trial.id, *(value_text(o.trial.params[k]) if k in o.trial.params else "" for k in keys),
                     *cells, "*" if best is not None and o is best else ""])
    return columns, rows


def plot_sweep(path: str | os.PathLike[str], spec: SweepSpec, outcomes: Sequence[TrialOutcome],
               most: int = 50) -> Path | None:
    """``sweep.png``: each configuration's IQM over seeds with its 95% bootstrap interval, best at the top (at most
    ``most`` configurations, the best ones). None, and no file, when no trial has a metric yet."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scored = [o for o in outcomes if o.summary is not None]
    if not scored:
        return None
    scored.sort(key=lambda o: o.summary.iqm, reverse=spec.mode == "max")
    shown = scored[:most]
    fig = Figure(figsize=(8.0, 1.2 + 0.32 * len(shown)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    y = np.arange(len(shown))[::-1]
    iqm = np.array([o.summary.iqm for o in shown])
    low = iqm - np.array([o.summary.iqm_low for o in shown])
    high = np.array([o.summary.iqm_high for o in shown]) - iqm
    ax.errorbar(iqm, y, xerr=np.stack([low, high]), fmt="o", capsize=3)
    ax.errorbar(iqm[:1], y[:1], xerr=np.stack([low[:1], high[:1]]), fmt="o", capsize=3, color="tab:red")
    ax.set_yticks(y, [f"{o.trial.id}: {trial_label(o.trial)}" for o in shown], fontsize=8)
    ax.set_xlabel(f"{spec.metric}: IQM over {spec.seeds} seeds, 95% CI ({spec.mode} is better)")
    extra = f", best {len(shown)} of {len(scored)}" if len(scored) > len(shown) else ""
    ax.set_title(f"sweep {spec.name}: {spec.command}{extra} (best in red)")
    return atomic_savefig(path, fig, dpi=120)


def relative_to(path: str | None, folder: Path) -> str | None:
    """``path`` relative to ``folder`` when it lies inside it (a sweep folder can move), else unchanged."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return path


def write_sweep_report(sweep_dir: str | os.PathLike[str], spec: SweepSpec,
                       outcomes: Sequence[TrialOutcome]) -> Path:
    """Write ``sweep.json`` (the sweep's settings, the best trial, and every trial's configuration, command line,
    status, run directory (relative to the sweep folder), per-seed metric values and their summary) and
    ``sweep.png``; returns sweep.json's path."""
    sweep_dir = Path(sweep_dir)
    best = best_outcome(outcomes, spec.mode)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "failed", "pending")}
    report = {"name": spec.name, "file": spec.source, "command": spec.command, "metric": spec.metric,
              "mode": spec.mode, "seeds": spec.seeds, "search": spec.search, **counts,
              "best": best.trial.id if best is not None else None,
              "trials": [{**o.as_dict(), "run_dir": relative_to(o.run_dir, sweep_dir)} for o in outcomes]}
    plot_sweep(sweep_dir / PLOT_FILE, spec, outcomes)
    return atomic_write_json(sweep_dir / REPORT_FILE, report)
