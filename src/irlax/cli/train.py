"""``irlax train {gcl,gail,airl,density,preferences,iq-learn,sqil,dagger}``: IRL and imitation on a control task.

The command trains one of the sample-based IRL algorithms of
:mod:`irlax.algorithms.registry`, IQ-Learn (online or, with ``--offline``, from the
demonstrations alone), or SQIL (imitation by soft Q-learning, no reward model), for
several seeds at once through the run driver
(:class:`irlax.run.driver.Driver`), in chunks of ``--checkpoint-every`` rounds with
a checkpoint after each (``--resume DIR`` continues an interrupted run and ends
exactly where an uninterrupted one would), then reports, with
:mod:`irlax.run.assess`:

- the imitation policy's true return (deterministic), normalised between a random
  policy (0) and the demonstrations (1), as ``irlax bc`` does;
- the return of a fresh learner re-optimised on the frozen learned reward
  (``--reoptimize-steps``), optionally in another task (``--transfer-env``,
  normalised with ``--transfer-expert``'s recorded return);
- how well the learned reward matches the true one: Pearson correlation on expert
  and on random-policy transitions and the EPIC distance over both; NaN when the
  true reward is constant (CartPole).

An algorithm without a learned reward (SQIL) skips the last two: its run directory has no ``reward.npz``. One
that asks an oracle (preference comparisons) reports its queries per seed (``expert_queries``).

The run directory holds ``config.json``, ``checkpoint.npz``, ``metrics.csv``/``.jsonl``,
``reward.npz``, ``return.png``, ``losses.png`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax import tasks
from irlax.algorithms.base import Algorithm
from irlax.algorithms.registry import SAMPLE_IRL, get_algorithm_kind, make_algorithm, preset, preset_learner_config
from irlax.cli import dagger
from irlax.cli.runs import (
    BACKEND_HELP,
    CHECKPOINT,
    REOPT_CHECKPOINT,
    OutputPlace,
    binned_returns,
    check_resume_options,
    chunked_run,
    integer,
    iqm_cells,
    longer,
    prepare_output,
    resumed_settings,
    run_cleanup,
    start_or_resume,
    start_run_dir,
    summaries_over_seeds,
    train_inputs,
    training_rows,
)
from irlax.data.demos import Demonstrations, load_demonstrations, subset
from irlax.errors import IrlaxError
from irlax.learners.evaluation import normalized_return, random_return
from irlax.learners.registry import LEARNERS, config_from_dict, get_learner_kind, learner_config_from_dict
from irlax.report import plot_metric_curves, print_table, save_pytree, write_config, write_metrics, write_summary
from irlax.report.progress import progress_bar
from irlax.report.tensorboard import open_hint
from irlax.run import assess, experts
from irlax.run.driver import Driver
from irlax.settings import apply_overrides, parse_overrides

TRAIN_ALGORITHMS = (*SAMPLE_IRL, "iq-learn", "sqil")
"""The algorithms :func:`train_run` runs (DAgger, which also needs an expert, has :mod:`irlax.cli.dagger`)."""
CHECKPOINT_CHUNKS = 20
"""Default checkpoints per run (``--checkpoint-every`` is about ``rounds / 20``)."""
REWARD_FILE = "reward.npz"
ALGORITHMS = (*TRAIN_ALGORITHMS, dagger.NAME)
"""What ``irlax train`` trains."""


# ---------------------------------------------------------------------------------------------------------------
# settings and configs


def algorithm_config_from_dict(name: str, fields: dict[str, Any], where: str) -> Any:
    """Rebuild an algorithm config (with its learner config, a nested dict) from ``config.json``."""
    if not isinstance(fields, dict):
        raise IrlaxError(f"{where}: the algorithm's config must be a JSON object")
    fields = dict(fields)
    learner_fields = fields.pop("learner_config", None)
    if not isinstance(learner_fields, dict) or not fields.get("learner"):
        raise IrlaxError(f"{where}: the config lacks its learner and learner config")
    learner_config = learner_config_from_dict(fields["learner"], learner_fields, where)
    config = config_from_dict(get_algorithm_kind(name, "control").config, fields, where)
    return dataclasses.replace(config, learner_config=learner_config)


def new_settings(args: argparse.Namespace) -> tuple[dict[str, Any], Demonstrations]:
    """Validate the command line of a new run: what ``config.json`` records, and the demonstrations it uses."""
    if not args.algorithm:
        raise IrlaxError(f"train needs an algorithm ({', '.join(ALGORITHMS)}) or --resume DIR")
    if args.algorithm not in TRAIN_ALGORITHMS:
        raise IrlaxError(f"unknown algorithm {args.algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if args.offline and args.algorithm != "iq-learn":
        raise IrlaxError(f"--offline is for iq-learn (which can learn from the demonstrations alone), not "
                         f"{args.algorithm}")
    if not args.demos:
        raise IrlaxError("train needs --demos FILE (or --resume DIR)")
    seeds, eval_episodes, demos, env = train_inputs(args)
    if args.episodes is not None:
        demos = subset(demos, args.episodes)
    if args.transfer_expert and not args.transfer_env:
        raise IrlaxError("--transfer-expert needs --transfer-env")
    target = tasks.make_env(args.transfer_env, args.transfer_backend) if args.transfer_env else env
    if not target.spec.same_spaces(env.spec):
        raise IrlaxError(
            f"the reward learned in {env.name} ({env.spec.describe()}) doesn't fit {target.name} "
            f"({target.spec.describe()})"
        )
    overrides = parse_overrides(args.set or [])
    if args.rounds is not None:
        overrides["rounds"] = str(args.rounds)
    if args.offline:
        overrides["online"] = "false"
    if args.preferences:
        if args.algorithm != "preferences":
            raise IrlaxError(f"--preferences is for preferences (a file of labelled pairs), not {args.algorithm}")
        overrides["preferences"] = str(Path(args.preferences).resolve())
    learner_name = args.learner or overrides.pop("learner", "")
    if learner_name and learner_name not in LEARNERS:
        raise IrlaxError(f"unknown learner {learner_name!r}; choose one of {', '.join(LEARNERS)}")
    config = apply_overrides(preset(args.algorithm, env.name, learner_name, env.spec), overrides, args.algorithm)
    if config.learner and config.learner not in LEARNERS:
        raise IrlaxError(f"unknown learner {config.learner!r}; choose one of {', '.join(LEARNERS)}")
    kind = get_learner_kind(config.learner or tasks.default_learner(env.name, env.spec))
    learner_overrides = parse_overrides(args.learner_set or [])
    preset_learner = config.learner_config if config.learner_config is not None else tasks.learner_config(
        env.name, kind.name)  # SQIL's preset names its own SAC config
    learner_config = apply_overrides(preset_learner, learner_overrides, kind.name)
    config = dataclasses.replace(config, learner=kind.name, learner_config=learner_config)
    # the config's own checks, and the learner's, without running anything
    algo = make_algorithm(args.algorithm, config, env)
    if algo.reward_fn is None and (args.transfer_env or args.reoptimize_steps):
        raise IrlaxError(f"{args.algorithm} learns no reward: --transfer-env and --reoptimize-steps don't apply")
    if algo.on_host:  # a host environment cannot be traced: trace the learner alone
        jax.eval_shape(algo.learner.init, jax.random.PRNGKey(0))
    else:
        jax.eval_shape(algo.init, jax.random.PRNGKey(0), demos)
    Driver(algo, demos, seeds).check_size(jax.random.PRNGKey(0 if args.seed is None else args.seed), config.rounds)
    every = args.checkpoint_every
    if every is None:
        every = max(1, -(-config.rounds // CHECKPOINT_CHUNKS))
    if every < 1:
        raise IrlaxError("--checkpoint-every must be at least 1")
    steps = args.reoptimize_steps if args.reoptimize_steps is not None else (
        tasks.learner_budget(args.transfer_env or env.name, kind.name) if algo.reward_fn is not None else 0)
    if steps < 0:
        raise IrlaxError("--reoptimize-steps must be at least 0")
    transfer_config = None
    if args.transfer_env:
        tuned = preset_learner_config(args.algorithm, env.name, kind.name, target.name)
        transfer_config = apply_overrides(tuned, learner_overrides, kind.name)
        jax.eval_shape(kind.make(transfer_config, target.spec).init, jax.random.PRNGKey(0))
        if args.transfer_expert:
            experts.load_expert(args.transfer_expert, target.name)  # check it now, not after training
    settings = {
        "command": "train", "algorithm": args.algorithm, "env": env.name, "backend": env.spec.backend,
        "demos": str(Path(args.demos).resolve()),
        "episodes": demos.num_episodes, "seeds": seeds, "seed": 0 if args.seed is None else args.seed,
        "rounds": config.rounds, "checkpoint_every": every, "eval_episodes": eval_episodes, "reoptimize_steps": steps,
        "transfer_env": args.transfer_env, "transfer_backend": target.spec.backend,
        "transfer_expert": str(Path(args.transfer_expert).resolve()) if args.transfer_expert else None,
        "transfer_learner_config": dataclasses.asdict(transfer_config) if transfer_config is not None else None,
        "config": dataclasses.asdict(config),
    }
    return settings, demos


TRAIN_SETTINGS = {"algorithm": str, "env": str, "demos": str, "episodes": (int, 1), "seeds": (int, 1), "seed": int,
                  "rounds": (int, 1), "checkpoint_every": (int, 1), "eval_episodes": (int, 1),
                  "reoptimize_steps": (int, 0), "config": dict}
"""The settings a train run directory's ``config.json`` must record, and their types."""


def resumed_train_settings(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """The settings of the train run ``run_dir`` with the options given beside ``--resume`` applied.

    Another algorithm, task, demonstrations, seeds, learner or setting than the run's is refused; ``--rounds``
    (a longer run), ``--eval-episodes`` and ``--reoptimize-steps`` (what is measured after training) are honoured.
    """
    settings = resumed_settings(run_dir, "train", required=TRAIN_SETTINGS)
    config = settings["config"]
    given = {"algorithm": ("algorithm", args.algorithm), "--env": ("env", args.env),
             "--backend": ("backend", args.backend), "--episodes": ("episodes", args.episodes),
             "--seeds": ("seeds", args.seeds), "--seed": ("seed", args.seed),
             "--checkpoint-every": ("checkpoint_every", args.checkpoint_every),
             "--transfer-env": ("transfer_env", args.transfer_env),
             "--transfer-backend": ("transfer_backend", args.transfer_backend),
             "--learner": ("learner", args.learner)}
    if args.demos is not None and Path(args.demos).resolve() != Path(settings["demos"]).resolve():
        given["--demos"] = ("demos", str(Path(args.demos).resolve()))
    if args.transfer_expert is not None and Path(args.transfer_expert).resolve() != Path(
            settings.get("transfer_expert") or "").resolve():
        given["--transfer-expert"] = ("transfer_expert", str(Path(args.transfer_expert).resolve()))
    check_resume_options(run_dir, {**settings, "learner": config.get("learner")}, given)
    where = str(run_dir / "config.json")
    stored = algorithm_config_from_dict(settings["algorithm"], config, where)
    overrides = parse_overrides(args.set or [])
    if args.offline:
        overrides["online"] = "false"
    if args.preferences:
        overrides["preferences"] = str(Path(args.preferences).resolve())
    rounds = overrides.pop("rounds", None) if args.rounds is None else str(args.rounds)
    for option, old, items in (("--set", stored, overrides),
                               ("--learner-set", stored.learner_config, parse_overrides(args.learner_set or []))):
        new = apply_overrides(old, items, option)
        for key in items:
            if getattr(new, key) != getattr(old, key):
                raise IrlaxError(f"{option} {key}={items[key]} conflicts with {run_dir}, which was run with {key} "
                                 f"{getattr(old, key)} (leave it out to resume it, or start a new run)")
    if rounds is not None:
        rounds = longer(run_dir, "--rounds", apply_overrides(stored, {"rounds": rounds}, settings["algorithm"]).rounds,
                        settings["rounds"])
        settings = {**settings, "rounds": rounds, "config": {**config, "rounds": rounds}}
    for key in ("eval_episodes", "reoptimize_steps"):
        value = getattr(args, key)
        if value is not None:
            if value < (1 if key == "eval_episodes" else 0):
                raise IrlaxError(f"--{key.replace('_', '-')} must be at least {1 if key == 'eval_episodes' else 0}")
            settings = {**settings, key: value}
    return settings


def train_setup(args: argparse.Namespace, place: OutputPlace | None = None
                ) -> tuple[Path, dict[str, Any], Demonstrations | None]:
    """The run directory and its settings (a new one, at ``place``, default: ``--out`` checked now; or the one
    ``--resume`` names), and for a new run its demonstrations (loaded and checked once)."""
    if args.resume:
        run_dir = Path(args.resume)
        return run_dir, resumed_train_settings(args, run_dir), None  # written once the checkpoint checks out
    place = place or prepare_output(args.out, parent=False)
    settings, demos = new_settings(args)
    return start_run_dir(place, f"train-{settings['algorithm']}-{settings['env']}", settings), settings, demos


@dataclasses.dataclass(frozen=True)
class TrainRun:
    """Everything a run's settings resolve to: the algorithm (config, task, learner bound) and the demonstrations."""

    algo: Algorithm
    demos: Demonstrations


def resolve_run(settings: dict[str, Any], where: str, demos: Demonstrations | None = None) -> TrainRun:
    """The algorithm and demonstrations that ``settings`` describe (``demos``: already loaded and subset)."""
    try:
        name = settings["algorithm"]
        config = algorithm_config_from_dict(name, settings["config"], where)
        env = tasks.make_env(settings["env"], settings.get("backend", "jax"))
        demos_path, episodes = settings["demos"], settings["episodes"]
    except KeyError as exc:
        raise IrlaxError(f"{where} lacks the setting {exc}") from None
    if demos is None:
        demos = subset(load_demonstrations(demos_path, env.spec), episodes)
    return TrainRun(make_algorithm(name, config, env), demos)


def slim_checkpoint(run_dir: Path, out: Path) -> bool:
    """Write to ``out`` the checkpoint of the train run ``run_dir`` with only what its assessment reads
    (:func:`irlax.run.assess.slimmed_for_assessment`), if its training is over; whether it was written.

    ``irlax train --resume`` on the run with ``out`` in place of its checkpoint measures the run as it would have
    (the same imitation returns, reward comparison and, started again, re-optimisation) and cannot train it further.

    Raises:
        IrlaxError: ``run_dir`` is not a train run with a checkpoint that matches its settings.
    """
    settings = resumed_settings(run_dir, "train", required=TRAIN_SETTINGS)
    run = resolve_run(settings, str(run_dir / "config.json"))
    driver = Driver(run.algo, run.demos, settings["seeds"])
    progress = driver.load(run_dir / CHECKPOINT)
    if progress.done < settings["rounds"]:
        return False
    driver.save(out, assess.slimmed_for_assessment(run.algo, progress, run.demos))
    return True


# ---------------------------------------------------------------------------------------------------------------
# evaluation


def reoptimization(run: TrainRun, settings: dict[str, Any], reward_params: Any, key: jax.Array,
                   run_dir: Path | None = None, quiet: bool = True) -> dict[str, Any]:
    """Train fresh learners on the frozen learned rewards (one per seed) and evaluate them.

    With ``run_dir`` the learners are checkpointed to its :data:`REOPT_CHECKPOINT` as they go (an interrupted
    re-optimisation resumes there; the caller removes the file once the summary is written)."""
    steps = settings["reoptimize_steps"]
    algo = run.algo
    transfer = settings.get("transfer_env")
    target = tasks.make_env(transfer, settings.get("transfer_backend", "jax")) if transfer else algo.env
    learner_config = (learner_config_from_dict(algo.learner.name, settings.get("transfer_learner_config"),
                                               "config.json") if transfer else algo.learner.config)
    train_key, eval_key, random_key = jax.random.split(key, 3)
    timing = {"seconds": 0.0, "shown": 0}
    label = f"re-optimising {algo.name}'s reward in {target.name}"
    with progress_bar(steps, label, enabled=not quiet) as bar:
        def on_chunk(done: int, total: int, seconds: float) -> None:
            shown = round(steps * done / total)  # environment steps per seed
            bar.advance(shown - timing["shown"])
            timing.update(seconds=seconds, shown=shown)

        learner, states = assess.reoptimize(
            algo, reward_params, train_key, steps, target, learner_config,
            checkpoint=None if run_dir is None else run_dir / REOPT_CHECKPOINT, tag=settings["rounds"],
            on_chunk=on_chunk)
    seconds = timing["seconds"]
    returns = assess.learner_returns(learner, target, states, eval_key, settings["eval_episodes"])
    out: dict[str, Any] = {"env": target.name, "steps": steps, "seconds": seconds, "returns": returns.tolist()}
    if target.name == algo.env.name:
        expert_score = float(np.asarray(run.demos.returns()).mean())
        source = "demonstrations"
    elif settings.get("transfer_expert"):
        info = experts.load_expert(settings["transfer_expert"], target.name).info
        expert_score = float((info.get("deterministic_return") or info["return"])["mean"])
        source = settings["transfer_expert"]
    else:
        expert_score, source = None, None
    if expert_score is not None:
        random_score = random_return(target, random_key, max(settings["eval_episodes"], 100))
        norm = np.asarray(normalized_return(returns, random_score, expert_score), float)
        out.update(expert_return=expert_score, expert_source=source, random_return=random_score,
                   normalized_returns=norm.tolist(), mean_normalized_return=float(norm.mean()))
    else:
        out.update(normalized_returns=[None] * len(returns), mean_normalized_return=None)
    out["mean_return"] = float(returns.mean())
    return out


def write_plots(run_dir: Path, run: TrainRun, metrics: dict[str, np.ndarray]) -> None:
    """``return.png`` (true return against env steps) and ``losses.png`` (loss and accuracies against rounds)."""
    name = run.algo.name
    returns, per_point = binned_returns(np.asarray(metrics["mean_return"], float))
    steps = np.asarray(metrics["env_steps"][0], float)
    per_round = steps[0] if steps.size else 0.0
    plot_metric_curves(run_dir / "return.png", {name: returns}, "mean episode return (true)",
                       xlabel=f"training ({per_point} rounds = {per_point * per_round:.0f} env steps per point)",
                       title=f"{name} ({run.algo.learner.name}) on {run.algo.env.name}")
    curves = {label: np.asarray(metrics[key], float) for key, label in (
        ("reward_loss", "reward loss"), ("expert_accuracy", "expert accuracy"), ("policy_accuracy", "policy accuracy"),
        ("reward_accuracy", "accuracy on new labels"), ("critic_loss", "critic loss"))
        if key in metrics and np.isfinite(np.asarray(metrics[key], float)).any()}
    what = "reward (discriminator) training" if run.algo.reward_fn is not None else "soft Q-function training"
    plot_metric_curves(run_dir / "losses.png", curves, "loss / accuracy", "round",
                       f"{name} on {run.algo.env.name}: {what}")


def fmt(value: float | None, spec: str = ".3f") -> str:
    """A table cell: ``-`` for None, ``nan`` for NaN."""
    return "-" if value is None else format(value, spec)


def cmd_train(args: argparse.Namespace) -> None:
    """IRL (GCL, GAIL, AIRL, density, preferences, IQ-Learn), SQIL or DAgger from demonstrations; ``--resume DIR``
    continues."""
    if dagger.is_dagger(args):
        dagger.cmd_train_dagger(args)
        return
    if args.expert:
        raise IrlaxError("--expert is for dagger; the other algorithms learn from the demonstrations alone")
    place = None if args.resume else prepare_output(args.out, parent=False)
    run_dir, settings, demos = train_setup(args, place)
    with run_cleanup(run_dir, "train", place):
        train_run(args, run_dir, settings, demos)


def train_run(args: argparse.Namespace, run_dir: Path, settings: dict[str, Any], demos: Demonstrations | None
              ) -> None:
    """The work of ``irlax train`` in its run directory: train (or resume), assess, write the outputs, print."""
    run = resolve_run(settings, str(run_dir / "config.json"), demos)
    algo = run.algo
    seeds, rounds, every = settings["seeds"], settings["rounds"], settings["checkpoint_every"]
    train_key, eval_key, metric_key, reopt_key, random_key = jax.random.split(jax.random.PRNGKey(settings["seed"]), 5)
    driver = Driver(algo, run.demos, seeds)
    progress = start_or_resume(driver, run_dir, train_key, bool(args.resume), rounds)
    if args.resume:
        write_config(run_dir, settings)
    label = f"{algo.name} ({algo.learner.name}) on {algo.env.name} ({seeds} seeds)"
    progress = chunked_run(driver, progress, rounds, every, label, args.quiet, run_dir / CHECKPOINT, run_dir)
    state = progress.state
    learns_reward = algo.reward_fn is not None
    reward_params = jax.vmap(algo.reward, in_axes=(0, None))(state, run.demos) if learns_reward else None
    if learns_reward:
        save_pytree(run_dir / REWARD_FILE, reward_params)
    write_metrics(run_dir, training_rows(progress.metrics, "round"))
    write_plots(run_dir, run, progress.metrics)

    env, demos = algo.env, run.demos
    expert_score = float(np.asarray(demos.returns()).mean())
    random_score = random_return(env, random_key, max(settings["eval_episodes"], 100))
    norm = lambda r: np.asarray(normalized_return(r, random_score, expert_score), float)
    imitation = assess.policy_returns(algo, state, demos, eval_key, settings["eval_episodes"])
    comparison = assess.reward_comparison(algo, reward_params, demos, metric_key) if learns_reward else {}
    reopt = reoptimization(run, settings, reward_params, reopt_key, run_dir, args.quiet) \
        if learns_reward and settings["reoptimize_steps"] > 0 else None
    env_steps = np.asarray(state.env_steps, float)
    # a reward trained by gradient steps reports its last loss (density-based rewards have none; SQIL its critic's)
    loss_key = "reward_loss" if learns_reward else "critic_loss"
    final_loss = progress.metrics[loss_key][:, -1] if progress.done and loss_key in progress.metrics \
        else np.full(seeds, np.nan)
    queries = np.asarray(state.queries, float) if hasattr(state, "queries") else None  # preference comparisons
    rows = []
    for s in range(seeds):
        row = {"seed": s, "return": float(imitation[s]), "normalized_return": float(norm(imitation[s])),
               f"final_{loss_key}": float(final_loss[s]), "env_steps": float(env_steps[s])}
        if queries is not None:
            row["expert_queries"] = float(queries[s])
        if learns_reward:
            row.update(pearson_expert=comparison["pearson_expert"][s], pearson_random=comparison["pearson_random"][s],
                       epic=comparison["epic"][s])
        if reopt is not None:
            row.update(reoptimized_return=reopt["returns"][s],
                       reoptimized_normalized_return=reopt["normalized_returns"][s])
        rows.append(row)
    mean = lambda values: float(np.mean(values))
    summary = {
        "algorithm": algo.name, "env": env.name, "learner": algo.learner.name, "seeds": seeds, "rounds": rounds,
        "env_steps": mean(env_steps), "seconds": progress.seconds, "compile_seconds": progress.compile_seconds,
        "demo_episodes": demos.num_episodes, "demo_steps": int(np.asarray(demos.lengths()).sum()),
        "expert_return": expert_score, "random_return": random_score,
        "eval_episodes": settings["eval_episodes"],
        "mean_return": mean(imitation), "mean_normalized_return": float(norm(imitation.mean())),
        "reward": {"pearson_expert": mean(comparison["pearson_expert"]),
                   "pearson_random": mean(comparison["pearson_random"]), "epic": mean(comparison["epic"]),
                   **{k: v for k, v in comparison.items() if k in ("note", "transitions")}} if learns_reward else None,
        "reoptimization": reopt, "evaluation": rows, "over_seeds": summaries_over_seeds(rows),
    }
    if queries is not None:
        summary["expert_queries"] = mean(queries)
    write_summary(run_dir, summary)
    (run_dir / REOPT_CHECKPOINT).unlink(missing_ok=True)  # its result is in the summary now

    columns = ["seed", "return", "normalised"] + (["rho expert", "rho random", "EPIC"] if learns_reward else [])
    if reopt is not None:
        columns += [f"re-opt. return ({reopt['env']})", "re-opt. normalised"]
    table = []
    for r in rows:
        cells = [str(r["seed"]), f"{r['return']:.1f}", fmt(r["normalized_return"])]
        if learns_reward:
            cells += [fmt(r["pearson_expert"]), fmt(r["pearson_random"]), fmt(r["epic"])]
        if reopt is not None:
            cells += [f"{r['reoptimized_return']:.1f}", fmt(r["reoptimized_normalized_return"])]
        table.append(cells)
    if seeds > 1:
        keys = ["seed", "return", "normalized_return"] + (["pearson_expert", "pearson_random", "epic"] if learns_reward
                                                          else [])
        table.append(iqm_cells(rows, keys + (["reoptimized_return", "reoptimized_normalized_return"]
                                              if reopt is not None else [])))
    print_table(f"{algo.name} ({algo.learner.name}) on {env.name}: {rounds} rounds, {mean(env_steps):.0f} env "
                f"steps per seed, {progress.seconds:.1f} s ({progress.compile_seconds:.1f} s compiling); "
                f"expert {expert_score:.1f}, random {random_score:.1f}", columns, table)
    print(f"{algo.name} return {imitation.mean():.2f} (normalised {summary['mean_normalized_return']:.3f}, "
          f"deterministic)")
    if reopt is not None:
        normalised = reopt["mean_normalized_return"]
        print(f"re-optimised on the learned reward in {reopt['env']} ({reopt['steps']} steps): return "
              f"{reopt['mean_return']:.2f}" + (f" (normalised {normalised:.3f})" if normalised is not None else ""))
    if queries is not None:
        print(f"oracle queries: {queries.mean():.0f} per seed")
    if "note" in comparison:
        print(f"note: {comparison['note']}")
    print(f"run directory: {run_dir}")
    print(open_hint(run_dir))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``train`` on the top-level parser."""
    algorithms = "; ".join(f"{name}: {get_algorithm_kind(name).description}" for name in ALGORITHMS)
    p = sub.add_parser("train", help=f"IRL and imitation ({', '.join(ALGORITHMS)}) from a control task's "
                       "demonstrations",
                       description=f"Sample-based IRL and imitation on a control task. Algorithms: {algorithms}.")
    p.add_argument("algorithm", nargs="?", metavar="ALGO", help=f"one of {', '.join(ALGORITHMS)}")
    p.add_argument("--demos", help="demonstrations: a file from irlax demos, a Minari dataset or imitation "
                   "trajectories")
    p.add_argument("--expert", metavar="DIR", help="dagger: the expert directory (from irlax expert) that labels the "
                   "states the learner visits")
    p.add_argument("--env", help="environment (default: the demonstrations'): any Gymnasium id or one of "
                   f"irlax's tasks: {', '.join(tasks.TASKS)}")
    p.add_argument("--backend", choices=tasks.BACKENDS, help=BACKEND_HELP + " (default: the demonstrations')")
    p.add_argument("--episodes", type=integer, help="use only the first N demonstrations")
    p.add_argument("--seeds", type=integer, help="seeds trained at once (vmapped; default 1)")
    p.add_argument("--seed", type=integer, help="base seed (default 0)")
    p.add_argument("--rounds", type=integer, help="rounds of training (default: the preset for the task, e.g. 100 for "
                   "CartPole-v1 with PPO, 200 rounds of 100 SAC steps for Pendulum-v1; dagger: 10)")
    p.add_argument("--learner", help="forward learner, ppo or sac (default: ppo for discrete tasks, sac otherwise); "
                   "for iq-learn, the learner that re-optimises its recovered reward")
    p.add_argument("--offline", action="store_true", help="iq-learn: learn from the demonstrations alone, without "
                   "acting in the environment (same as --set online=false)")
    p.add_argument("--preferences", metavar="FILE", help="preferences: learn from this file's labelled pairs of "
                   "fragments (human labels, .npz) instead of the synthetic oracle (same as --set preferences=FILE)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any field of the algorithm's config")
    p.add_argument("--learner-set", action="append", metavar="KEY=VALUE",
                   help="any field of the learner's config (on top of its preset for the task)")
    p.add_argument("--checkpoint-every", type=integer, metavar="R",
                   help="rounds between checkpoints (default ~rounds/20)")
    p.add_argument("--eval-episodes", type=integer, help="evaluation episodes per seed (default 20)")
    p.add_argument("--reoptimize-steps", type=integer, metavar="N",
                   help="env steps of a fresh learner trained on the frozen learned reward (default: the learner's "
                        "expert budget for the task; 0: skip)")
    p.add_argument("--transfer-env", metavar="ENV", help="re-optimise in this task instead (same obs/action sizes)")
    p.add_argument("--transfer-backend", choices=tasks.BACKENDS, help="backend of --transfer-env (" + BACKEND_HELP
                   + ")")
    p.add_argument("--transfer-expert", metavar="DIR", help="an expert of --transfer-env, to normalise its return")
    p.add_argument("--out", help="run directory to create (default: runs/train-ALGO-ENV-TIME)")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted run from its last checkpoint (other "
                   "options must agree with the run's, but --rounds may lengthen it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
