"""``irlax train dagger``: DAgger on a control task, from a demonstrations file and an expert directory.

DAgger (:mod:`irlax.algorithms.dagger`) clones the demonstrations and then, round
after round, rolls out a mixture of the clone and the expert, asks the expert
(``--expert DIR``, from ``irlax expert``) for its action in every state visited,
and trains on everything gathered. It runs for several seeds at once through the
run driver, in chunks of ``--checkpoint-every`` rounds with a checkpoint after
each (``--resume DIR`` continues an interrupted run and ends exactly where an
uninterrupted one would). It learns no reward, so there is no reward comparison
and no re-optimisation: like ``irlax bc`` it reports the clone's true return,
stochastic and deterministic, normalised between a random policy (0) and the
demonstrations (1), and the number of expert queries.

The run directory holds ``config.json``, ``checkpoint.npz``, ``metrics.csv``/``.jsonl``
(per round: beta, BC loss, dataset size, expert queries, env steps, the
rollouts' mean return), ``policy.npz``, ``return.png``, ``loss.png`` and
``summary.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax import tasks
from irlax.algorithms.base import Algorithm
from irlax.algorithms.bc import with_demonstrated_distribution
from irlax.algorithms.dagger import DAggerConfig, DAggerData
from irlax.algorithms.registry import make_algorithm, preset
from irlax.cli.control import clone_report
from irlax.cli.runs import (
    CHECKPOINT,
    OutputPlace,
    binned_returns,
    check_resume_options,
    chunked_run,
    longer,
    prepare_output,
    resumed_settings,
    run_cleanup,
    start_or_resume,
    start_run_dir,
    train_inputs,
    training_rows,
)
from irlax.data.demos import load_demonstrations, subset
from irlax.errors import IrlaxError
from irlax.learners.registry import config_from_dict
from irlax.report import plot_metric_curves, save_pytree, write_config, write_metrics
from irlax.run import experts
from irlax.run.driver import Driver
from irlax.settings import apply_overrides, parse_overrides

NAME = "dagger"
CHECKPOINT_CHUNKS = 20
"""Default checkpoints per run (``--checkpoint-every`` is about ``rounds / 20``)."""

NOT_FOR_DAGGER = {"learner": "--learner", "learner_set": "--learner-set", "reoptimize_steps": "--reoptimize-steps",
                  "transfer_env": "--transfer-env", "transfer_backend": "--transfer-backend",
                  "transfer_expert": "--transfer-expert", "preferences": "--preferences"}
"""Options of ``irlax train`` that DAgger has no use for (no forward learner, no learned reward)."""

DAGGER_SETTINGS = {"algorithm": str, "env": str, "demos": str, "expert": str, "episodes": (int, 1),
                   "seeds": (int, 1), "seed": int, "rounds": (int, 1), "checkpoint_every": (int, 1),
                   "eval_episodes": (int, 1), "config": dict}
"""The settings a DAgger run directory's ``config.json`` must record, and their types."""


def recorded_algorithm(run_dir: str) -> str | None:
    """The algorithm a run directory's ``config.json`` records, or ``None`` where there is none to read (the
    command's own checks then say what is wrong)."""
    try:
        settings = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    return settings.get("algorithm") if isinstance(settings, dict) else None


def is_dagger(args: argparse.Namespace) -> bool:
    """Whether ``irlax train`` is asked for DAgger: by name, or by resuming a DAgger run."""
    return args.algorithm == NAME or bool(args.resume) and recorded_algorithm(args.resume) == NAME


def check_options(args: argparse.Namespace) -> None:
    """One-line error for an option of ``irlax train`` that does not apply to DAgger."""
    for key, option in NOT_FOR_DAGGER.items():
        if getattr(args, key) is not None:
            raise IrlaxError(f"{option} does not apply to dagger (it has no forward learner and learns no reward)")


def load_checked_expert(path: str, env_name: str) -> experts.Expert:
    """The expert directory ``path``; a one-line error when it is of another task than ``env_name``."""
    try:
        return experts.load_expert(path, env_name)
    except IrlaxError as exc:
        raise IrlaxError(f"dagger's --expert: {exc}") from None


def new_settings(args: argparse.Namespace) -> tuple[dict[str, Any], DAggerData]:
    """Validate the command line of a new DAgger run: what ``config.json`` records, and the data it trains on."""
    check_options(args)
    if not args.expert:
        raise IrlaxError("train dagger needs --expert DIR: an expert directory (from irlax expert) to label the "
                         "states the learner visits")
    if not args.demos:
        raise IrlaxError("train dagger needs --demos FILE (or --resume DIR)")
    seeds, eval_episodes, demos, env = train_inputs(args)
    expert = load_checked_expert(args.expert, env.name)
    # trimmed as a resumed run will load them (resolve_run), so both train on arrays of one shape
    demos = subset(demos, demos.num_episodes if args.episodes is None else args.episodes)
    overrides = parse_overrides(args.set or [])
    if args.rounds is not None:
        overrides["rounds"] = str(args.rounds)
    config = with_demonstrated_distribution(apply_overrides(preset(NAME, env.name, spec=env.spec), overrides, NAME),
                                            demos, env.spec, overrides)
    algo = make_algorithm(NAME, config, env, expert=expert.learner)
    data = DAggerData(demos, expert.params)
    if not algo.on_host:
        jax.eval_shape(algo.init, jax.random.PRNGKey(0), data)
    seed = 0 if args.seed is None else args.seed
    Driver(algo, data, seeds).check_size(jax.random.PRNGKey(seed), config.rounds)  # checks the data, too
    every = max(1, -(-config.rounds // CHECKPOINT_CHUNKS)) if args.checkpoint_every is None else args.checkpoint_every
    if every < 1:
        raise IrlaxError("--checkpoint-every must be at least 1")
    settings = {
        "command": "train", "algorithm": NAME, "env": env.name, "backend": env.spec.backend,
        "demos": str(Path(args.demos).resolve()), "expert": str(Path(args.expert).resolve()),
        "episodes": demos.num_episodes, "seeds": seeds, "seed": seed, "rounds": config.rounds,
        "checkpoint_every": every, "eval_episodes": eval_episodes, "config": dataclasses.asdict(config),
    }
    return settings, data


def resumed_dagger_settings(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """The settings of the DAgger run ``run_dir`` with the options given beside ``--resume`` applied.

    Another algorithm, task, demonstrations, expert, seeds or setting than the run's is refused; ``--rounds`` (a
    longer run) and ``--eval-episodes`` (what is measured after training) are honoured.
    """
    settings = resumed_settings(run_dir, "train")
    check_resume_options(run_dir, settings, {"algorithm": ("algorithm", args.algorithm)})
    check_options(args)
    settings = resumed_settings(run_dir, "train", required=DAGGER_SETTINGS)
    given = {"--env": ("env", args.env), "--backend": ("backend", args.backend),
             "--episodes": ("episodes", args.episodes), "--seeds": ("seeds", args.seeds), "--seed": ("seed", args.seed),
             "--checkpoint-every": ("checkpoint_every", args.checkpoint_every)}
    for option, key, value in (("--demos", "demos", args.demos), ("--expert", "expert", args.expert)):
        if value is not None and Path(value).resolve() != Path(settings[key]).resolve():
            given[option] = (key, str(Path(value).resolve()))
    check_resume_options(run_dir, settings, given)
    stored = config_from_dict(DAggerConfig, settings["config"], str(run_dir / "config.json"))
    overrides = parse_overrides(args.set or [])
    rounds = overrides.pop("rounds", None) if args.rounds is None else str(args.rounds)
    new = apply_overrides(stored, overrides, "--set")
    for key in overrides:
        if getattr(new, key) != getattr(stored, key):
            raise IrlaxError(f"--set {key}={overrides[key]} conflicts with {run_dir}, which was run with {key} "
                             f"{getattr(stored, key)} (leave it out to resume it, or start a new run)")
    if rounds is not None:
        rounds = longer(run_dir, "--rounds", apply_overrides(stored, {"rounds": rounds}, NAME).rounds,
                        settings["rounds"])
        settings = {**settings, "rounds": rounds, "config": {**settings["config"], "rounds": rounds}}
    if args.eval_episodes is not None:
        if args.eval_episodes < 1:
            raise IrlaxError("--eval-episodes must be at least 1")
        settings = {**settings, "eval_episodes": args.eval_episodes}
    return settings


@dataclasses.dataclass(frozen=True)
class DAggerRun:
    """What a DAgger run's settings resolve to: the algorithm (config, task, expert family bound), its data, and
    the expert."""

    algo: Algorithm
    data: DAggerData
    expert: experts.Expert


def resolve_run(settings: dict[str, Any], where: str, data: DAggerData | None = None) -> DAggerRun:
    """The algorithm, data and expert that ``settings`` describe (``data``: already loaded and checked)."""
    try:
        config = config_from_dict(DAggerConfig, settings["config"], where)
        env = tasks.make_env(settings["env"], settings.get("backend", "jax"))
        demos_path, episodes, expert_path = settings["demos"], settings["episodes"], settings["expert"]
    except KeyError as exc:
        raise IrlaxError(f"{where} lacks the setting {exc}") from None
    expert = load_checked_expert(expert_path, env.name)
    if data is None:
        data = DAggerData(subset(load_demonstrations(demos_path, env.spec), episodes), expert.params)
    return DAggerRun(make_algorithm(NAME, config, env, expert=expert.learner), data, expert)


def cmd_train_dagger(args: argparse.Namespace) -> None:
    """DAgger on a demonstrations file with an expert directory; ``--resume DIR`` continues a run."""
    if args.resume:
        run_dir, place, data = Path(args.resume), None, None
        settings = resumed_dagger_settings(args, run_dir)  # written once the checkpoint checks out
    else:
        place: OutputPlace | None = prepare_output(args.out, parent=False)
        settings, data = new_settings(args)
        run_dir = start_run_dir(place, f"train-{NAME}-{settings['env']}", settings)
    with run_cleanup(run_dir, "train", place):
        dagger_run(args, run_dir, settings, data)


def dagger_run(args: argparse.Namespace, run_dir: Path, settings: dict[str, Any], data: DAggerData | None) -> None:
    """The work of ``irlax train dagger`` in its run directory: train (or resume), evaluate, write, print."""
    run = resolve_run(settings, str(run_dir / "config.json"), data)
    algo, data = run.algo, run.data
    seeds, rounds, every = settings["seeds"], settings["rounds"], settings["checkpoint_every"]
    train_key, eval_key, random_key = jax.random.split(jax.random.PRNGKey(settings["seed"]), 3)
    driver = Driver(algo, data, seeds)
    progress = start_or_resume(driver, run_dir, train_key, bool(args.resume), rounds)
    if args.resume:
        write_config(run_dir, settings)
    label = f"{NAME} on {algo.env.name} ({seeds} seeds)"
    progress = chunked_run(driver, progress, rounds, every, label, args.quiet, run_dir / CHECKPOINT, run_dir)
    state, metrics = progress.state, progress.metrics
    save_pytree(run_dir / "policy.npz", state.params)
    write_metrics(run_dir, training_rows(metrics, "round"))
    returns, per_point = binned_returns(np.asarray(metrics["mean_return"], float))
    plot_metric_curves(run_dir / "return.png", {NAME: returns}, "mean episode return of the rollouts (true)",
                       xlabel=f"round ({per_point} per point)", title=f"{NAME} on {algo.env.name}: the mixture's "
                       "rollouts")
    plot_metric_curves(run_dir / "loss.png", {NAME: np.asarray(metrics["loss"], float)},
                       "BC loss on the aggregate (last epoch)", "round", f"{NAME} on {algo.env.name}")
    queries = np.asarray(state.expert_queries, float)
    extra = [{"final_loss": float(metrics["loss"][s, -1]), "expert_queries": float(queries[s])}
             for s in range(seeds)]
    summary_head = {
        "algorithm": NAME, "env": algo.env.name, "expert": settings["expert"],
        "expert_learner": run.expert.learner.name, "seeds": seeds, "rounds": rounds,
        "expert_queries": float(queries.mean()), "env_steps": float(np.asarray(state.env_steps, float).mean()),
        "dataset_size": float(np.asarray(metrics["dataset_size"], float)[:, -1].mean()),
    }
    title = (f"{NAME} on {algo.env.name}: {rounds} rounds, {queries.mean():.0f} expert queries per seed, "
             f"{data.demos.num_episodes} demonstrations")
    clone_report(run_dir, algo.act, algo.env, state.params, data.demos, (eval_key, random_key),
                 settings["eval_episodes"], progress, extra, summary_head, title, NAME,
                 (f"expert queries: {queries.mean():.0f} per seed",))
