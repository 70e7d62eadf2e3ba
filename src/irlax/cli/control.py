"""``irlax expert``, ``irlax demos`` and ``irlax bc``: experts, demonstrations and behavioural cloning on control tasks.

- ``expert`` trains a learner (PPO or SAC) on a task's true reward for several
  seeds at once, keeps the best, and writes an expert directory that is also a
  run directory (config, metrics, checkpoints, summary, a plot of the return);
  ``--resume DIR`` continues an interrupted training.
- ``demos`` records episodes of a saved expert into a demonstrations file; ``demos convert IN OUT`` converts
  demonstrations between irlax's files, Minari datasets and the ``imitation`` library's trajectory directories
  (:mod:`irlax.data.formats`).
- ``bc`` clones the demonstrated actions and reports the clone's true return,
  normalised between a random policy (0) and the demonstrations (1) (:func:`clone_report`, which
  ``irlax train dagger`` shares).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax import tasks
from irlax.algorithms.bc import BCConfig, epochs_for_steps, with_demonstrated_distribution
from irlax.algorithms.registry import make_algorithm
from irlax.atomic import check_output_dir, check_output_file
from irlax.cli.runs import (
    BACKEND_HELP,
    CHECKPOINT,
    PROGRESS_CHUNKS,
    OutputPlace,
    binned_returns,
    check_resume_options,
    chunked_run,
    integer,
    iqm_cells,
    longer,
    open_env,
    prepare_output,
    resumed_settings,
    run_cleanup,
    start_or_resume,
    start_run_dir,
    summaries_over_seeds,
    training_rows,
)
from irlax.data.demos import (
    check_demonstrations_fit,
    from_episodes,
    load_demonstrations,
    save_demonstrations,
    subset,
)
from irlax.data.formats import FORMATS, convert, output_format
from irlax.errors import IrlaxError
from irlax.learners.evaluation import evaluate_policies, normalized_return, policy_episodes_jit, random_return
from irlax.learners.registry import LEARNERS, get_learner_kind, learner_config_from_dict, make_learner
from irlax.report import (
    plot_metric_curves,
    print_table,
    save_pytree,
    write_config,
    write_metrics,
    write_summary,
)
from irlax.report.tensorboard import open_hint
from irlax.run import experts
from irlax.run.driver import Driver
from irlax.run.memory import check_count, check_episodes_fit, check_evaluation_fits
from irlax.settings import apply_overrides, parse_overrides

# ---------------------------------------------------------------------------------------------------------------
# irlax expert


EXPERT_SETTINGS = {"env": str, "learner": str, "config": dict, "steps": (int, 1), "seeds": (int, 1), "seed": int,
                   "eval_episodes": (int, 1)}
"""The settings an expert directory's ``config.json`` must record, and their types."""


def resumed_expert_settings(args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """The settings of the expert directory ``run_dir`` with the options given beside ``--resume`` applied.

    Another task, backend, learner, seeds or learner setting than the run's is refused; ``--steps`` (a longer
    training) and ``--eval-episodes`` are honoured.
    """
    settings = resumed_settings(run_dir, "expert", required=EXPERT_SETTINGS)
    given = {"--env": ("env", args.env), "--backend": ("backend", args.backend), "--learner": ("learner", args.learner),
             "--seeds": ("seeds", args.seeds), "--seed": ("seed", args.seed)}
    if args.env is not None:  # compare the name the run would record (an alias resolves to its task)
        given["--env"] = ("env", tasks.make_env(args.env, args.backend or settings.get("backend")).name)
    check_resume_options(run_dir, settings, given)
    stored = learner_config_from_dict(settings["learner"], settings["config"], str(run_dir / "config.json"))
    overrides = parse_overrides(args.set or [])
    changed = apply_overrides(stored, overrides, settings["learner"])
    for key in overrides:
        if getattr(changed, key) != getattr(stored, key):
            raise IrlaxError(f"--set {key}={overrides[key]} conflicts with {run_dir}, which was run with {key} "
                             f"{getattr(stored, key)} (leave it out to resume it, or start a new run)")
    if args.steps is not None:
        settings = {**settings, "steps": longer(run_dir, "--steps", args.steps, settings["steps"])}
    if args.eval_episodes is not None:
        settings = {**settings, "eval_episodes": args.eval_episodes}
    return settings


def expert_setup(args: argparse.Namespace, place: OutputPlace | None = None) -> tuple[Path, dict[str, Any]]:
    """The expert directory and its settings: a new one (at ``place``, default: ``--out`` checked now), or the
    one ``--resume`` names (its settings updated with the options that may change)."""
    if args.steps is not None and args.steps < 1 or args.seeds is not None and args.seeds < 1 or (
            args.eval_episodes is not None and args.eval_episodes < 1):
        raise IrlaxError("--steps, --seeds and --eval-episodes must be at least 1")
    if args.resume:
        run_dir = Path(args.resume)
        settings = resumed_expert_settings(args, run_dir)
        env = tasks.make_env(settings["env"], settings.get("backend", "jax"))
        learner = make_learner(learner_config_from_dict(settings["learner"], settings["config"],
                                                        str(run_dir / "config.json")), env.spec)
        experts.check_budget(learner, settings["steps"], "--steps")
        return run_dir, settings  # cmd_expert writes the settings once the checkpoint checks out
    if args.env is None:
        raise IrlaxError("expert needs --env (or --resume DIR)")
    env = open_env(args.env, args.backend)
    kind = get_learner_kind(args.learner or tasks.default_learner(env.name, env.spec))
    config = apply_overrides(tasks.learner_config(env.name, kind.name), parse_overrides(args.set or []), kind.name)
    steps = tasks.expert_steps(env.name) if args.steps is None else args.steps
    seeds = 1 if args.seeds is None else args.seeds
    seed = 0 if args.seed is None else args.seed
    eval_episodes = 20 if args.eval_episodes is None else args.eval_episodes
    check_evaluation_fits(env.spec, seeds, eval_episodes)
    learner = kind.make(config, env.spec)  # checks the config
    experts.check_budget(learner, steps, "--steps")
    jax.eval_shape(learner.init, jax.random.PRNGKey(0))
    program = experts.expert_program(learner, env, steps)
    Driver(program, None, seeds).check_size(jax.random.PRNGKey(seed), program.num_steps)
    settings = {
        "command": "expert", "env": env.name, "backend": env.spec.backend, "learner": kind.name,
        "config": dataclasses.asdict(config), "steps": steps, "seeds": seeds, "seed": seed,
        "eval_episodes": eval_episodes,
    }
    place = place or prepare_output(args.out, parent=False)
    return start_run_dir(place, f"expert-{env.name}-{kind.name}", settings), settings


def cmd_expert(args: argparse.Namespace) -> None:
    """Train an expert on a control task's true reward; ``--resume DIR`` continues an interrupted one."""
    place = None if args.resume else prepare_output(args.out, parent=False)
    run_dir, settings = expert_setup(args, place)
    with run_cleanup(run_dir, "expert", place):
        expert_run(args, run_dir, settings)


def expert_run(args: argparse.Namespace, run_dir: Path, settings: dict[str, Any]) -> None:
    """The work of ``irlax expert`` in its directory: train (or resume), evaluate, save the expert, print."""
    where = str(run_dir / "config.json")
    try:
        env = tasks.make_env(settings["env"], settings.get("backend", "jax"))
        config = learner_config_from_dict(settings["learner"], settings["config"], where)
        steps, seeds, seed = settings["steps"], settings["seeds"], settings["seed"]
    except KeyError as exc:
        raise IrlaxError(f"{where} lacks the setting {exc}") from None
    learner = make_learner(config, env.spec)
    program = experts.expert_program(learner, env, steps)
    driver = Driver(program, None, seeds)
    train_key, eval_key = jax.random.split(jax.random.PRNGKey(seed))
    total = program.num_steps
    progress = start_or_resume(driver, run_dir, train_key, bool(args.resume), total)
    if args.resume:
        write_config(run_dir, settings)
    chunk = max(1, -(-total // PROGRESS_CHUNKS))
    label = f"{learner.name} on {env.name} ({seeds} seeds)"
    progress = chunked_run(driver, progress, total, chunk, label, args.quiet, run_dir / CHECKPOINT, run_dir)
    expert = experts.make_expert(learner, env, progress, eval_key, settings["eval_episodes"], progress.seconds)
    experts.save_expert(run_dir, expert)
    write_metrics(run_dir, training_rows(progress.metrics))
    returns, per_point = binned_returns(np.asarray(progress.metrics["mean_return"], float))
    plot_metric_curves(run_dir / "return.png", {learner.name: returns}, "mean episode return (true)",
                       xlabel=f"training ({per_point * learner.steps_per_iteration} env steps per point)",
                       title=f"{learner.name} on {env.name}")
    write_summary(run_dir, expert.info)
    info = expert.info
    rows = [[str(s), f"{r:.1f}", "*" if s == info["best_seed"] else ""] for s, r in enumerate(info["seed_returns"])]
    if len(rows) > 1:
        rows.append([*iqm_cells([{"return": r} for r in info["seed_returns"]], ["seed", "return"]), ""])
    print_table(f"{learner.name} expert on {env.name}: {info['env_steps']} env steps per seed, "
                f"{progress.seconds:.1f} s", ["seed", f"mean return ({info['eval_episodes']} episodes)", "kept"], rows)
    print(f"expert return {info['return']['mean']:.2f} +- {info['return']['std']:.2f} (stochastic), "
          f"{info['deterministic_return']['mean']:.2f} +- {info['deterministic_return']['std']:.2f} (deterministic)")
    print(f"expert directory: {run_dir}")
    print(open_hint(run_dir))


# ---------------------------------------------------------------------------------------------------------------
# irlax demos


def cmd_demos(args: argparse.Namespace) -> None:
    """Record episodes of a saved expert into a demonstrations file."""
    missing = [flag for flag, value in (("--expert", args.expert), ("--episodes", args.episodes)) if value is None]
    if missing:
        raise IrlaxError(f"irlax demos records an expert's episodes and needs {' and '.join(missing)} "
                         f"(or: irlax demos convert IN OUT)")
    if args.episodes < 1:
        raise IrlaxError("--episodes must be at least 1")
    check_count(args.episodes, "--episodes")
    out = Path(args.out) if args.out else Path(args.expert) / f"demos-{args.episodes}.npz"
    check_output_file(out, inputs=experts.expert_files(args.expert))
    expert = experts.load_expert(args.expert)
    env = expert.env
    check_episodes_fit(env.spec, args.episodes, f"recording {args.episodes} episodes of {env.name}")
    episodes = policy_episodes_jit(
        expert.learner, env, expert.params, jax.random.PRNGKey(args.seed), args.episodes, args.deterministic
    )
    description = {
        "expert_dir": str(Path(args.expert).resolve()),
        "learner": expert.learner.name,
        "expert_return": expert.info.get("return"),
        "deterministic": bool(args.deterministic),
        "seed": args.seed,
    }
    demos = from_episodes(episodes, env.spec, description)
    save_demonstrations(out, demos)
    returns, lengths = np.asarray(demos.returns()), np.asarray(demos.lengths())
    mode = "deterministic" if args.deterministic else "stochastic"
    print(f"wrote {out}: {demos.num_episodes} episodes of {env.name} from the {mode} {expert.learner.name} expert; "
          f"mean return {returns.mean():.2f} +- {returns.std():.2f}, mean length {lengths.mean():.1f} "
          f"(longest {demos.max_length})")


def cmd_demos_convert(args: argparse.Namespace) -> None:
    """Convert demonstrations between irlax's files, Minari datasets and ``imitation`` trajectories."""
    fmt_out = output_format(args.output, args.to)
    if fmt_out == "irlax":
        check_output_file(args.output, inputs=[args.input])
    elif Path(args.output).exists():
        raise IrlaxError(f"{args.output} already exists: a {fmt_out} dataset is written into a new directory")
    else:
        check_output_dir(Path(args.output).parent)
    spec = open_env(args.env, args.backend).spec if args.env else None
    demos, fmt_in, fmt_out = convert(args.input, args.output, fmt_out, spec, args.minari_format)
    lengths, returns = np.asarray(demos.lengths()), np.asarray(demos.returns())
    absent = "" if demos.log_probs_known or fmt_out != "irlax" else "; the expert's log-probabilities: absent"
    print(f"wrote {args.output} ({fmt_out}) from {args.input} ({fmt_in}): {demos.num_episodes} episodes of "
          f"{demos.env_name}, {int(lengths.sum())} steps, mean return {returns.mean():.2f}{absent}")


# ---------------------------------------------------------------------------------------------------------------
# irlax bc


def bc_overrides(args: argparse.Namespace) -> dict[str, str]:
    """BC config overrides from the common flags and ``--set``."""
    overrides = parse_overrides(args.set or [])
    for flag in ("epochs", "batch_size", "learning_rate"):
        value = getattr(args, flag)
        if value is not None:
            overrides[flag] = str(value)
    return overrides


def cmd_bc(args: argparse.Namespace) -> None:
    """Behavioural cloning on a demonstrations file; reports true and expert-normalised returns."""
    if args.seeds < 1 or args.eval_episodes < 1:
        raise IrlaxError("--seeds and --eval-episodes must be at least 1")
    place = prepare_output(args.out, parent=True)
    overrides = bc_overrides(args)
    config = apply_overrides(BCConfig(), overrides, "bc")
    demos = load_demonstrations(args.demos)
    env = open_env(args.env or demos.env_name, args.backend or (None if args.env else demos.backend or None))
    check_demonstrations_fit(demos, env.spec, args.demos)
    config = with_demonstrated_distribution(config, demos, env.spec, overrides)
    check_evaluation_fits(env.spec, args.seeds, args.eval_episodes, at_least=100)
    if args.episodes is not None:
        demos = subset(demos, args.episodes)
    if args.steps is not None:
        if "epochs" in overrides:
            raise IrlaxError("--steps and --epochs both set the run's length: give one")
        config = dataclasses.replace(config, epochs=epochs_for_steps(args.steps, demos, config.batch_size))
    algo = make_algorithm("bc", config, env)
    fit_key, eval_key, random_key = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    driver = Driver(algo, demos, args.seeds)
    driver.check_size(fit_key, config.epochs)
    start = driver.start(fit_key)  # a state that is not finite (inputs out of range) fails before the run directory
    settings = {"command": "bc", "env": env.name, "backend": env.spec.backend, "demos": str(Path(args.demos).resolve()),
                "episodes": demos.num_episodes, "steps": args.steps,
                "config": dataclasses.asdict(config), "seeds": args.seeds, "seed": args.seed,
                "eval_episodes": args.eval_episodes}
    run_dir = start_run_dir(place, f"bc-{env.name}", settings)
    with run_cleanup(run_dir, "bc", place, resumable=False):
        bc_run(args, run_dir, driver, start, (eval_key, random_key), config, env)


def bc_run(args: argparse.Namespace, run_dir: Path, driver: Driver, start: Any, keys: tuple, config: BCConfig,
           env: Any) -> None:
    """The work of ``irlax bc`` in its run directory: train from ``start``, evaluate, write the outputs, print.

    ``keys``: the evaluation and random-policy keys.
    """
    algo, demos = driver.program, driver.data
    every = max(1, -(-config.epochs // PROGRESS_CHUNKS))
    progress = chunked_run(driver, start, config.epochs, every,
                           f"bc on {env.name} ({args.seeds} seeds)", args.quiet, None, run_dir)
    params = progress.state.params
    loss, nll = progress.metrics["loss"], progress.metrics["nll"]
    save_pytree(run_dir / "policy.npz", params)
    write_metrics(run_dir, [
        {"seed": s, "epoch": e, "loss": float(loss[s, e]), "nll": float(nll[s, e])}
        for s in range(args.seeds) for e in range(config.epochs)
    ])
    plot_metric_curves(run_dir / "loss.png", {"bc": np.asarray(loss)}, "BC loss (action NLL)", "epoch",
                       f"behavioural cloning on {env.name}")
    extra = [{"final_loss": float(loss[s, -1])} for s in range(args.seeds)]
    clone_report(run_dir, algo.act, env, params, demos, keys, args.eval_episodes, progress, extra, {},
                 f"bc on {env.name}: {demos.num_episodes} demonstrations", "bc")


def clone_report(run_dir: Path, policy: Any, env: Any, params: Any, demos: Any, keys: tuple, eval_episodes: int,
                 progress: Any, extra: list[dict[str, float]], head: dict[str, Any], title: str, name: str,
                 lines: tuple[str, ...] = ()) -> None:
    """Evaluate a trained clone of the demonstrations (``irlax bc``, ``irlax train dagger``) for every seed,
    write ``summary.json`` and print the table.

    The clone (``policy`` with ``params [K, ...]``) runs ``eval_episodes`` episodes per seed, stochastic and
    deterministic; returns are normalised between a random policy (0) and the demonstrations' mean (1).

    Args:
        keys: the evaluation and random-policy keys.
        progress: the finished run's :class:`~irlax.run.driver.Progress` (its seconds).
        extra: per seed, the figures of the run to report beside the returns (the first is ``final_loss``).
        head: the summary's leading entries.
        title: the table's title (the seconds, expert and random returns are added).
        name: what the return lines call the clone.
        lines: printed after the return lines.
    """
    eval_key, random_key = keys
    stochastic_key, deterministic_key = jax.random.split(eval_key)
    returns = np.asarray(evaluate_policies(policy, env, params, stochastic_key, eval_episodes))
    det_returns = np.asarray(evaluate_policies(policy, env, params, deterministic_key, eval_episodes, True))
    expert_score = float(np.asarray(demos.returns()).mean())
    random_score = random_return(env, random_key, max(eval_episodes, 100))
    norm = lambda r: float(normalized_return(r, random_score, expert_score))
    rows = [
        {"seed": s, **extra[s], "return": float(returns[s].mean()), "normalized_return": norm(returns[s].mean()),
         "deterministic_return": float(det_returns[s].mean()),
         "deterministic_normalized_return": norm(det_returns[s].mean())}
        for s in range(len(extra))
    ]
    write_summary(run_dir, {
        **head, "seconds": progress.seconds, "compile_seconds": progress.compile_seconds,
        "expert_return": expert_score, "random_return": random_score,
        "demo_episodes": demos.num_episodes, "demo_steps": int(np.asarray(demos.lengths()).sum()),
        "eval_episodes": eval_episodes,
        "mean_return": float(returns.mean()), "mean_normalized_return": norm(returns.mean()),
        "mean_deterministic_return": float(det_returns.mean()),
        "mean_deterministic_normalized_return": norm(det_returns.mean()), "evaluation": rows,
        "over_seeds": summaries_over_seeds(rows),
    })
    keys_shown = [k for k in rows[0] if k != "seed"]
    columns = ["seed", *(k.replace("_", " ") for k in keys_shown[:-4]), "return", "normalised", "det. return",
               "det. normalised"]
    table = [[str(r["seed"]), *(f"{r[k]:.4g}" for k in keys_shown[:-4]), f"{r['return']:.1f}",
              f"{r['normalized_return']:.3f}", f"{r['deterministic_return']:.1f}",
              f"{r['deterministic_normalized_return']:.3f}"] for r in rows]
    if len(rows) > 1:
        table.append(iqm_cells(rows, ["seed", *keys_shown]))
    print_table(f"{title}, {progress.seconds:.1f} s; expert {expert_score:.1f}, random {random_score:.1f}", columns,
                table)
    print(f"{name} return {returns.mean():.2f} (normalised {norm(returns.mean()):.3f}), deterministic "
          f"{det_returns.mean():.2f} (normalised {norm(det_returns.mean()):.3f})")
    for line in lines:
        print(line)
    print(f"run directory: {run_dir}")
    print(open_hint(run_dir))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``expert``, ``demos`` and ``bc`` on the top-level parser."""
    envs = ", ".join(tasks.TASKS)
    p = sub.add_parser("expert", help="train an expert (PPO or SAC) on a control task and save it")
    p.add_argument("--env", help=f"environment: any Gymnasium id (e.g. Hopper-v5; module:Id-v0 imports module "
                   f"first) or one of irlax's tasks: {envs}")
    p.add_argument("--backend", choices=tasks.BACKENDS, help=BACKEND_HELP)
    p.add_argument("--learner", choices=list(LEARNERS),
                   help="default: ppo for CartPole-v1 and Acrobot-v1, sac for the continuous tasks")
    p.add_argument("--steps", type=integer, help="environment steps per seed (default: per environment, e.g. 500k "
                   "for CartPole-v1, 20k for Pendulum-v1)")
    p.add_argument("--seeds", type=integer, help="seeds trained at once (vmapped; default 1); the best is kept")
    p.add_argument("--seed", type=integer, help="base seed (default 0)")
    p.add_argument("--eval-episodes", type=integer, help="evaluation episodes per seed (default 20)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any field of the learner's config")
    p.add_argument("--out", help="expert directory to create (default: runs/expert-ENV-LEARNER-TIME)")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted training from its last checkpoint "
                   "(other options must agree with the run's, but --steps may lengthen it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_expert)

    p = sub.add_parser("demos", help="record demonstrations of a saved expert (or convert them: demos convert)",
                       description="Record episodes of a saved expert: irlax demos --expert DIR --episodes N. "
                       "Convert between formats: irlax demos convert IN OUT (irlax .npz files, Minari datasets, "
                       "the imitation library's trajectory directories).")
    p.add_argument("--expert", help="expert directory (from irlax expert)")
    p.add_argument("--episodes", type=integer, help="episodes to record")
    p.add_argument("--out", help="demonstrations file to write (default: EXPERT/demos-N.npz)")
    p.add_argument("--seed", type=integer, default=0, help="random seed of the episodes (default 0)")
    p.add_argument("--deterministic", action="store_true",
                   help="the expert's most likely actions (default: sampled from its stochastic policy)")
    p.set_defaults(func=cmd_demos)
    conv = p.add_subparsers(dest="demos_command", metavar="convert")
    c = conv.add_parser("convert", help="convert demonstrations between formats",
                        description="Convert demonstrations between irlax's .npz files, Minari datasets (a dataset "
                        "directory, as under ~/.minari/datasets/ID) and the imitation library's trajectory "
                        "directories (imitation.data.serialize.save). The input's format is recognised; fields a "
                        "format lacks (the expert's log-probabilities) are marked absent.")
    c.add_argument("input", help="demonstrations: an irlax .npz file, a Minari dataset or imitation directory")
    c.add_argument("output", help="what to write: a .npz file, or a new directory for minari and imitation")
    c.add_argument("--to", choices=FORMATS, help="the output's format (default: irlax for a .npz name)")
    c.add_argument("--env", help="the environment the demonstrations are of: checked against them, and named in "
                   "the output when the input does not say (imitation files)")
    c.add_argument("--backend", choices=tasks.BACKENDS, help=BACKEND_HELP)
    c.add_argument("--minari-format", choices=("hdf5", "arrow"), default="hdf5",
                   help="storage of a Minari output (default hdf5)")
    c.set_defaults(func=cmd_demos_convert)

    p = sub.add_parser("bc", help="behavioural cloning on a demonstrations file")
    p.add_argument("--demos", required=True,
                   help="demonstrations: a file from irlax demos, a Minari dataset or imitation trajectories")
    p.add_argument("--env", help="environment to evaluate in (default: the one the demonstrations come from)")
    p.add_argument("--backend", choices=tasks.BACKENDS, help=BACKEND_HELP + " (default: the demonstrations')")
    p.add_argument("--episodes", type=integer, help="use only the first N demonstrations")
    p.add_argument("--seeds", type=integer, default=1, help="seeds trained at once (vmapped)")
    p.add_argument("--seed", type=integer, default=0, help="base seed (default 0)")
    p.add_argument("--epochs", type=integer, help="passes over the demonstrations (default 100)")
    p.add_argument("--steps", type=integer,
                   help="instead of --epochs: at least N Adam steps, in whole epochs (as many steps with 1 "
                        "demonstration as with 10; the epochs it takes are in config.json)")
    p.add_argument("--batch-size", type=integer, help="transitions per Adam step (default 64)")
    p.add_argument("--learning-rate", type=float, help="Adam step size (default 1e-3)")
    p.add_argument("--eval-episodes", type=integer, default=20, help="evaluation episodes per seed (default 20)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any field of BCConfig (distribution: by default clipped_gaussian when at least 1%% of the "
                        "demonstrated action components lie on a bound, as a PPO expert's do, else tanh_gaussian)")
    p.add_argument("--out", default="runs", help="parent folder of the run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bc)
