"""``irlax expert``, ``irlax demos`` and ``irlax bc``: experts, demonstrations and behavioural cloning on control tasks.

- ``expert`` trains a learner (PPO or SAC) on a task's true reward for several
  seeds at once, keeps the best, and writes an expert directory that is also a
  run directory (config, metrics, checkpoints, summary, a plot of the return);
  ``--resume DIR`` continues an interrupted training.
- ``demos`` records episodes of a saved expert into a demonstrations file.
- ``bc`` clones the demonstrated actions and reports the clone's true return,
  normalised between a random policy (0) and the demonstrations (1).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from irlax.algorithms import bc
from irlax.cli.tabular import parse_overrides
from irlax.data.demos import from_episodes, load_demonstrations, save_demonstrations, subset
from irlax.envs.control import ENV_BUILDERS, make_env
from irlax.errors import IrlaxError
from irlax.learners.registry import (
    LEARNERS,
    default_learner,
    evaluate_policies,
    get_learner,
    make_learner_config,
    normalized_return,
    policy_episodes,
    random_return,
)
from irlax.report import (
    create_run_dir,
    load_pytree,
    plot_metric_curves,
    print_table,
    progress_bar,
    save_pytree,
    write_config,
    write_metrics,
    write_summary,
)
from irlax.run import experts
from irlax.settings import apply_overrides

DEFAULT_STEPS: dict[str, int] = {
    "CartPole-v1": 500_000,
    "Acrobot-v1": 500_000,
    "Pendulum-v1": 20_000,
    "MountainCarContinuous-v0": 100_000,
    "PointMaze-v0": 100_000,
    "PointMazeShifted-v0": 100_000,
}
"""Environment steps per seed of ``irlax expert`` when ``--steps`` is not given."""

CHECKPOINT = "checkpoint.npz"
PROGRESS_CHUNKS = 20
METRIC = "metric_"


# ---------------------------------------------------------------------------------------------------------------
# irlax expert


def expert_setup(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The expert directory and its settings: a new one, or the one ``--resume`` names."""
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.json").exists():
            raise IrlaxError(f"{run_dir} is not an expert directory (no config.json)")
        settings = json.loads((run_dir / "config.json").read_text())
        if settings.get("command") != "expert":
            raise IrlaxError(f"{run_dir} is not an expert directory (its config.json is from another command)")
        return run_dir, settings
    if args.env is None:
        raise IrlaxError("expert needs --env (or --resume DIR)")
    env = make_env(args.env)
    learner = get_learner(args.learner or default_learner(env.name))
    config = make_learner_config(learner, env.name, parse_overrides(args.set or []))
    steps = DEFAULT_STEPS.get(env.name, 100_000) if args.steps is None else args.steps
    if steps < 1 or args.seeds < 1 or args.eval_episodes < 1:
        raise IrlaxError("--steps, --seeds and --eval-episodes must be at least 1")
    jax.eval_shape(lambda k: learner.init(config, env, k), jax.random.PRNGKey(0))  # check the config
    settings = {
        "command": "expert", "env": env.name, "learner": learner.name, "config": dataclasses.asdict(config),
        "steps": steps, "seeds": args.seeds, "seed": args.seed, "eval_episodes": args.eval_episodes,
    }
    if args.out is None:
        run_dir = create_run_dir("runs", f"expert-{env.name}-{learner.name}")
    else:
        run_dir = Path(args.out)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise IrlaxError(f"{run_dir} already exists and is not empty (continue it with --resume {run_dir})")
        run_dir.mkdir(parents=True, exist_ok=True)
    write_config(run_dir, settings)
    return run_dir, settings


def save_training(run_dir: Path, progress: experts.TrainingProgress, seconds: float) -> None:
    """Checkpoint a multi-seed training (learner states, iterations done, metrics, seconds) atomically."""
    metrics = {f"{METRIC}{k}": np.asarray(v) for k, v in progress.metrics.items()}
    save_pytree(run_dir / CHECKPOINT, progress.state, done=np.int64(progress.done), seconds=np.float64(seconds),
                **metrics)


def load_training(run_dir: Path, template: experts.TrainingProgress) -> tuple[experts.TrainingProgress, float]:
    """The checkpointed training of ``run_dir`` shaped like ``template``, and the seconds it had taken."""
    state, extra = load_pytree(run_dir / CHECKPOINT, template.state)
    if "done" not in extra:
        raise IrlaxError(f"checkpoint {run_dir / CHECKPOINT} lacks the count of iterations done")
    metrics = {k[len(METRIC):]: jnp.asarray(v) for k, v in extra.items() if k.startswith(METRIC)}
    progress = experts.TrainingProgress(jax.tree.map(jnp.asarray, state), int(extra["done"]), metrics)
    return progress, float(extra.get("seconds", 0.0))


def training_rows(progress: experts.TrainingProgress) -> list[dict[str, Any]]:
    """Per-seed, per-iteration metric rows (NaN returns, from iterations where no episode ended, as None)."""
    metrics = {k: np.asarray(v) for k, v in progress.metrics.items()}
    seeds, iterations = next(iter(metrics.values())).shape[:2]
    rows = []
    for s in range(seeds):
        for i in range(iterations):
            row: dict[str, Any] = {"seed": s, "iteration": i}
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


def cmd_expert(args: argparse.Namespace) -> None:
    """Train an expert on a control task's true reward; ``--resume DIR`` continues an interrupted one."""
    run_dir, settings = expert_setup(args)
    env = make_env(settings["env"])
    learner = get_learner(settings["learner"])
    config = experts.config_from_dict(learner, settings["config"], str(run_dir / "config.json"))
    train_key, eval_key = jax.random.split(jax.random.PRNGKey(settings["seed"]))
    total = experts.num_iterations(learner, config, settings["steps"])
    progress = experts.init_training(learner, config, env, jax.random.split(train_key, settings["seeds"]))
    seconds_before = 0.0
    if args.resume and (run_dir / CHECKPOINT).exists():
        progress, seconds_before = load_training(run_dir, progress)
    chunk = max(1, -(-total // PROGRESS_CHUNKS))
    label = f"{learner.name} on {env.name} ({settings['seeds']} seeds)"
    start = time.perf_counter()
    with progress_bar(total, label, enabled=not args.quiet) as bar:
        bar.advance(progress.done)
        reached = [progress.done]

        def on_chunk(p: experts.TrainingProgress) -> None:
            save_training(run_dir, p, seconds_before + time.perf_counter() - start)
            bar.advance(p.done - reached[0])
            reached[0] = p.done

        progress = experts.run_training(learner, config, env, progress, total, chunk, on_chunk)
        jax.block_until_ready(progress.state)
    seconds = seconds_before + time.perf_counter() - start
    expert = experts.make_expert(learner, config, env, progress, eval_key, settings["eval_episodes"], seconds)
    experts.save_expert(run_dir, expert)
    write_metrics(run_dir, training_rows(progress))
    returns, per_point = binned_returns(np.asarray(progress.metrics["mean_return"], float))
    plot_metric_curves(run_dir / "return.png", {learner.name: returns}, "mean episode return (true)",
                       xlabel=f"training ({per_point * learner.steps_per_iteration(config)} env steps per point)",
                       title=f"{learner.name} on {env.name}")
    write_summary(run_dir, expert.info)
    info = expert.info
    rows = [[str(s), f"{r:.1f}", "*" if s == info["best_seed"] else ""] for s, r in enumerate(info["seed_returns"])]
    print_table(f"{learner.name} expert on {env.name}: {info['env_steps']} env steps per seed, {seconds:.1f} s",
                ["seed", f"mean return ({info['eval_episodes']} episodes)", "kept"], rows)
    print(f"expert return {info['return']['mean']:.2f} +- {info['return']['std']:.2f} (stochastic), "
          f"{info['deterministic_return']['mean']:.2f} +- {info['deterministic_return']['std']:.2f} (deterministic)")
    print(f"expert directory: {run_dir}")


# ---------------------------------------------------------------------------------------------------------------
# irlax demos


def cmd_demos(args: argparse.Namespace) -> None:
    """Record episodes of a saved expert into a demonstrations file."""
    if args.episodes < 1:
        raise IrlaxError("--episodes must be at least 1")
    expert = experts.load_expert(args.expert)
    env = expert.env
    out = Path(args.out) if args.out else Path(args.expert) / f"demos-{args.episodes}.npz"
    episodes = jax.jit(policy_episodes, static_argnums=(0, 1, 2, 5, 6))(
        expert.learner.act, expert.config, env, expert.params, jax.random.PRNGKey(args.seed), args.episodes,
        args.deterministic,
    )
    description = {
        "expert_dir": str(Path(args.expert).resolve()),
        "learner": expert.learner.name,
        "expert_return": expert.info.get("return"),
        "deterministic": bool(args.deterministic),
        "seed": args.seed,
    }
    demos = from_episodes(episodes, env, description)
    save_demonstrations(out, demos)
    returns, lengths = np.asarray(demos.returns()), np.asarray(demos.lengths())
    mode = "deterministic" if args.deterministic else "stochastic"
    print(f"wrote {out}: {demos.num_episodes} episodes of {env.name} from the {mode} {expert.learner.name} expert; "
          f"mean return {returns.mean():.2f} +- {returns.std():.2f}, mean length {lengths.mean():.1f} "
          f"(longest {demos.max_length})")


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
    config = apply_overrides(bc.BCConfig(), bc_overrides(args), "bc")
    bc.check_config(config)
    demos = load_demonstrations(args.demos)
    env = make_env(args.env or demos.env_name)
    demos = load_demonstrations(args.demos, env)
    if args.episodes is not None:
        demos = subset(demos, args.episodes)
    run_dir = create_run_dir(Path(args.out), f"bc-{env.name}")
    settings = {"command": "bc", "env": env.name, "demos": str(args.demos), "episodes": demos.num_episodes,
                "config": dataclasses.asdict(config), "seeds": args.seeds, "seed": args.seed,
                "eval_episodes": args.eval_episodes}
    write_config(run_dir, settings)
    fit_key, eval_key, random_key = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    start = time.perf_counter()
    with progress_bar(1, f"bc on {env.name} ({args.seeds} seeds)", enabled=not args.quiet) as bar:
        result = jax.block_until_ready(bc.fit_seeds(config, jax.random.split(fit_key, args.seeds), env, demos))
        bar.advance(1)
    seconds = time.perf_counter() - start
    stochastic_key, deterministic_key = jax.random.split(eval_key)
    returns = np.asarray(evaluate_policies(bc.act, config, env, result.params, stochastic_key, args.eval_episodes))
    det_returns = np.asarray(
        evaluate_policies(bc.act, config, env, result.params, deterministic_key, args.eval_episodes, True)
    )
    expert_score = float(np.asarray(demos.returns()).mean())
    random_score = random_return(env, random_key, max(args.eval_episodes, 100))
    norm = lambda r: float(normalized_return(r, random_score, expert_score))
    rows = [
        {"seed": s, "final_loss": float(result.loss[s, -1]), "return": float(returns[s].mean()),
         "normalized_return": norm(returns[s].mean()), "deterministic_return": float(det_returns[s].mean()),
         "deterministic_normalized_return": norm(det_returns[s].mean())}
        for s in range(args.seeds)
    ]
    save_pytree(run_dir / "policy.npz", result.params)
    write_metrics(run_dir, [
        {"seed": s, "epoch": e, "loss": float(result.loss[s, e]), "nll": float(result.nll[s, e])}
        for s in range(args.seeds) for e in range(config.epochs)
    ])
    plot_metric_curves(run_dir / "loss.png", {"bc": np.asarray(result.loss)}, "BC loss (action NLL)", "epoch",
                       f"behavioural cloning on {env.name}")
    write_summary(run_dir, {
        "seconds": seconds, "expert_return": expert_score, "random_return": random_score,
        "demo_episodes": demos.num_episodes, "demo_steps": int(np.asarray(demos.lengths()).sum()),
        "mean_return": float(returns.mean()), "mean_normalized_return": norm(returns.mean()),
        "mean_deterministic_return": float(det_returns.mean()),
        "mean_deterministic_normalized_return": norm(det_returns.mean()), "evaluation": rows,
    })
    columns = ["seed", "final loss", "return", "normalised", "det. return", "det. normalised"]
    table = [[str(r["seed"]), f"{r['final_loss']:.4g}", f"{r['return']:.1f}", f"{r['normalized_return']:.3f}",
              f"{r['deterministic_return']:.1f}", f"{r['deterministic_normalized_return']:.3f}"] for r in rows]
    print_table(f"bc on {env.name}: {demos.num_episodes} demonstrations, {seconds:.1f} s; "
                f"expert {expert_score:.1f}, random {random_score:.1f}", columns, table)
    print(f"bc return {returns.mean():.2f} (normalised {norm(returns.mean()):.3f}), deterministic "
          f"{det_returns.mean():.2f} (normalised {norm(det_returns.mean()):.3f})")
    print(f"run directory: {run_dir}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``expert``, ``demos`` and ``bc`` on the top-level parser."""
    envs = ", ".join(ENV_BUILDERS)
    p = sub.add_parser("expert", help="train an expert (PPO or SAC) on a control task and save it")
    p.add_argument("--env", help=f"environment: {envs}")
    p.add_argument("--learner", choices=list(LEARNERS),
                   help="default: ppo for CartPole-v1 and Acrobot-v1, sac for the continuous tasks")
    p.add_argument("--steps", type=int, help="environment steps per seed (default: per environment, e.g. 500k "
                   "for CartPole-v1, 20k for Pendulum-v1)")
    p.add_argument("--seeds", type=int, default=1, help="seeds trained at once (vmapped); the best is kept")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes per seed (default 20)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any field of the learner's config")
    p.add_argument("--out", help="expert directory to create (default: runs/expert-ENV-LEARNER-TIME)")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted training from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_expert)

    p = sub.add_parser("demos", help="record demonstrations of a saved expert")
    p.add_argument("--expert", required=True, help="expert directory (from irlax expert)")
    p.add_argument("--episodes", type=int, required=True, help="episodes to record")
    p.add_argument("--out", help="demonstrations file to write (default: EXPERT/demos-N.npz)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--deterministic", action="store_true",
                   help="the expert's most likely actions (default: sampled from its stochastic policy)")
    p.set_defaults(func=cmd_demos)

    p = sub.add_parser("bc", help="behavioural cloning on a demonstrations file")
    p.add_argument("--demos", required=True, help="demonstrations file (from irlax demos)")
    p.add_argument("--env", help="environment to evaluate in (default: the one the demonstrations come from)")
    p.add_argument("--episodes", type=int, help="use only the first N demonstrations")
    p.add_argument("--seeds", type=int, default=1, help="seeds trained at once (vmapped)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="passes over the demonstrations (default 100)")
    p.add_argument("--batch-size", type=int, help="transitions per Adam step (default 64)")
    p.add_argument("--learning-rate", type=float, help="Adam step size (default 1e-3)")
    p.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes per seed (default 20)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any field of BCConfig")
    p.add_argument("--out", default="runs", help="parent folder of the run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bc)
