"""``irlax world``, ``irlax sample``, ``irlax fit`` and ``irlax evaluate``: tabular IRL from the shell."""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from irlax.algorithms.base import TabularData
from irlax.algorithms.registry import get_algorithm_kind, make_algorithm, make_config, names
from irlax.atomic import check_output_file
from irlax.cli.runs import (
    CHECKPOINT,
    PROGRESS_CHUNKS,
    OutputPlace,
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
)
from irlax.data.trajectories import Trajectories, load_trajectories, save_trajectories
from irlax.envs import (
    BinaryworldConfig,
    GridworldConfig,
    ObjectworldConfig,
    make_binaryworld,
    make_cliffworld,
    make_gridworld,
    make_objectworld,
    make_random_mdp,
)
from irlax.envs.tabular import TabularMDP
from irlax.envs.toy_text import did_you_mean, is_gymnasium_id, make_toy_text, toy_text_ids
from irlax.envs.world import World
from irlax.envs.world_file import load_rewards, load_world, save_world, world_fingerprints
from irlax.errors import IrlaxError, IrlaxWarning
from irlax.metrics.tabular import (
    action_negative_log_likelihood,
    expected_value_difference,
    optimal_log_policies,
    optimal_plans,
)
from irlax.report import (
    plot_metric_curves,
    plot_reward_maps,
    print_table,
    progress_bar,
    save_array,
    write_config,
    write_metrics,
    write_summary,
)
from irlax.report.tensorboard import EventLog, open_hint
from irlax.run.driver import Driver, Progress
from irlax.run.memory import MAX_COUNT, check_count, check_fits, mdp_bytes, planning_bytes, trajectories_bytes
from irlax.settings import parse_overrides
from irlax.tabular.sampling import sample_trajectories

WORLDS = ("objectworld", "binaryworld", "gridworld", "cliffworld", "random")


def build_world(kind: str, seed: int, size: int | None, discrete: bool, determinism: float | None) -> World:
    """A benchmark world by name (``WORLDS``), drawn with ``seed``, or a Gymnasium toy-text world by its id."""
    if kind not in WORLDS:
        return build_toy_text_world(kind, size, discrete, determinism)
    if size is not None and size < 1:
        raise IrlaxError(f"--size must be positive, got {size}")
    key = jax.random.PRNGKey(seed)
    extra = {} if determinism is None else {"determinism": determinism}
    sized = {} if size is None else {"size": size}
    if kind == "objectworld":
        return make_objectworld(key, ObjectworldConfig(continuous=not discrete, **sized, **extra))
    if kind == "binaryworld":
        return make_binaryworld(key, BinaryworldConfig(**sized, **extra))
    if kind == "gridworld":
        if size is not None:  # Abbeel & Ng's macrocells of 16 where they fit, else about 8 per side
            sized["macrocell"] = gridworld_macrocell(size)
        return make_gridworld(key, GridworldConfig(**sized, **extra))
    if kind == "cliffworld":
        return make_cliffworld() if size is None else make_cliffworld(width=size, height=max(size // 5, 2))
    if kind == "random":
        return make_random_mdp(key, size or 50, 4, num_features=8)
    raise IrlaxError(f"unknown world {kind!r}; choose one of {', '.join(WORLDS)}")


def gridworld_macrocell(size: int) -> int:
    """The macrocell side of a gridworld of side ``size`` drawn by ``irlax world``: the default 16 where it divides
    the side, else the largest divisor of the side up to ``size / 8`` (about 8 macrocells per side, as in the
    default 128 x 128 world); 1 for small or prime sides."""
    default = GridworldConfig.macrocell
    if size >= default and size % default == 0:
        return default
    return max([d for d in range(1, max(size // 8, 1) + 1) if size % d == 0] or [1])


def build_toy_text_world(env_id: str, size: int | None, discrete: bool, determinism: float | None) -> World:
    """The world of a Gymnasium toy-text id (``make_toy_text``); the generator flags don't apply to it."""
    if not is_gymnasium_id(env_id):
        raise IrlaxError(f"unknown world {env_id!r}{did_you_mean(env_id, WORLDS + toy_text_ids())}; choose one of "
                         f"{', '.join(WORLDS)} or a Gymnasium toy-text id ({', '.join(toy_text_ids())})")
    if size is not None or discrete or determinism is not None:
        raise IrlaxError(f"--size, --discrete and --determinism don't apply to the Gymnasium world {env_id}")
    return make_toy_text(env_id)


def world_states(kind: str, size: int) -> int:
    """The number of states of a benchmark world of side ``size`` (what ``--size`` makes)."""
    if kind == "cliffworld":
        return size * max(size // 5, 2)
    return size if kind == "random" else size * size


def check_planning_fits(mdp: TabularMDP, what: str, copies: int = 1, horizon: int | None = None) -> None:
    """Refuse planning on ``mdp`` (``copies`` at once; over ``horizon``, by default the MDP's) that cannot fit in
    memory (:mod:`irlax.run.memory`)."""
    horizon = horizon or mdp.horizon
    words = f"horizon {horizon}" if horizon is not None else "the infinite horizon"
    check_fits(copies * planning_bytes(mdp.num_states, mdp.num_actions, horizon),
               f"{what} ({mdp.num_states} states, {mdp.num_actions} actions, {words})")


def cmd_world(args: argparse.Namespace) -> None:
    """Draw a benchmark world, or build a Gymnasium toy-text one, and save it (MDP and true reward) to a world file.

    The world's name in the file is its kind or its Gymnasium id.
    """
    check_output_file(args.out)
    if args.size is not None:
        cells = world_states(args.kind, args.size)
        if cells > MAX_COUNT:
            raise IrlaxError(f"--size {args.size} gives {args.kind} {cells} states, beyond the largest count irlax "
                             f"runs ({MAX_COUNT})")
        check_fits(mdp_bytes(cells, 5, 5), f"a {args.kind} of size {args.size} ({cells} states)")
    world = build_world(args.kind, args.seed, args.size, args.discrete, args.determinism)
    save_world(args.out, world.mdp, world.reward, name=args.kind)
    mdp = world.mdp
    print(f"wrote {args.out}: {args.kind}, {mdp.num_states} states, {mdp.num_actions} actions, "
          f"{mdp.num_features} features, discount {mdp.discount}, horizon {mdp.horizon}")


def expert_log_policy(world: World, policy: str) -> jax.Array:
    """The expert's log-policy: soft-optimal (MaxEnt) or greedy for the world's true reward.

    Warns (``IrlaxWarning``) when the discounted value iteration stopped at its cap unconverged.
    """
    soft, greedy = optimal_plans(world.mdp, jnp.asarray(world.reward))
    plan = soft if policy == "soft" else greedy
    if not bool(plan.converged):
        warnings.warn(f"the {policy} expert's value iteration stopped after {int(plan.iterations)} iterations "
                      f"unconverged (largest change {float(plan.residual):.3g}); its policy is approximate",
                      IrlaxWarning, stacklevel=2)
    return plan.log_policy


def cmd_sample(args: argparse.Namespace) -> None:
    """Sample expert demonstrations from a world file's true reward."""
    check_output_file(args.out, inputs=[args.world])
    world, mdp, name = load_world(args.world)
    if world is None:
        raise IrlaxError(f"world file {args.world} has no true reward to make an expert from")
    if args.trajectories < 1 or args.length < 1:
        raise IrlaxError("--trajectories and --length must be positive")
    check_count(args.trajectories, "--trajectories")
    check_count(args.length, "--length")
    if mdp.horizon is not None and args.length > mdp.horizon:
        raise IrlaxError(f"--length {args.length} exceeds the world's horizon {mdp.horizon}")
    check_planning_fits(mdp, f"planning the expert of {args.world}", 3)
    check_fits(trajectories_bytes(args.trajectories, args.length),
               f"{args.trajectories} trajectories of {args.length} steps")
    log_policy = expert_log_policy(world, args.policy)
    if np.isnan(np.asarray(log_policy)).any():
        raise IrlaxError(f"planning on the true reward of {args.world} gives NaN (rewards too large for "
                         "planning); rescale the rewards")
    demos = sample_trajectories(jax.random.PRNGKey(args.seed), mdp, log_policy, args.trajectories, args.length)
    save_trajectories(args.out, demos, mdp.num_states, mdp.num_actions, **world_fingerprints(world, mdp))
    print(f"wrote {args.out}: {args.trajectories} trajectories of {args.length} steps from the {args.policy} expert "
          f"of {name}")


def optional_int(text: str) -> int | str:
    """An argparse type: an integer, or ``none`` (kept as the text ``"none"``: the config's default, None)."""
    if text.strip().lower() == "none":
        return "none"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither an integer nor none") from None


def fit_overrides(args: argparse.Namespace) -> dict[str, str]:
    """Config overrides from the common flags and ``--set``."""
    overrides = parse_overrides(args.set or [])
    for flag in ("iterations", "learning_rate", "l2", "horizon", "architecture"):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[flag] = str(value)
    return overrides


def metric_rows(result: Any) -> list[dict]:
    """Per-seed, per-iteration metric rows of a multi-seed result (iterations a seed did not run, NaN, left out)."""
    metrics = {k: np.asarray(v) for k, v in result.metrics._asdict().items()}
    seeds, iterations = next(iter(metrics.values())).shape
    return [
        {"seed": s, "iteration": i, **{k: float(v[s, i]) for k, v in metrics.items()}}
        for s in range(seeds)
        for i in range(iterations)
        if not all(np.isnan(v[s, i]) for v in metrics.values())
    ]


def evaluate_rewards(
    world: World | None, mdp: TabularMDP, rewards: np.ndarray, demos: Trajectories | None
) -> list[dict]:
    """Per-seed rows: EVD (soft, greedy) when the true reward is known; the demonstrations' action NLL per step."""
    rows = []
    for seed, reward in enumerate(rewards):
        row: dict = {"seed": seed}
        reward = jnp.asarray(reward)
        if world is not None:
            evd = expected_value_difference(mdp, jnp.asarray(world.reward), reward)
            row.update(evd_soft=float(evd.soft), evd_greedy=float(evd.greedy), planning_converged=bool(evd.converged))
            if not row["planning_converged"]:
                warnings.warn(f"seed {seed}: value iteration stopped unconverged at its iteration cap; the EVD is "
                              "approximate (planning_converged is false in the results)", IrlaxWarning, stacklevel=2)
        if demos is not None:
            soft, _ = optimal_log_policies(mdp, reward)
            row["demo_nll"] = float(action_negative_log_likelihood(soft, demos))
        rows.append(row)
    return rows


def non_finite_cells(rows: list[dict]) -> list[str]:
    """``seed K: metric`` for every evaluation value of ``rows`` that is NaN or infinite (planning overflowed)."""
    return [f"seed {row['seed']}: {key}" for row in rows for key, value in row.items()
            if isinstance(value, float) and not np.isfinite(value)]


def write_fit_outputs(run_dir: Path, mdp: TabularMDP, world: World | None, result: Any, label: str) -> None:
    """Learned rewards, metrics and plots of a fit into ``run_dir`` (the curve the algorithm names, as a PNG)."""
    rewards = np.asarray(result.reward)
    save_array(run_dir, "reward", rewards)
    write_metrics(run_dir, metric_rows(result))
    metric, ylabel = get_algorithm_kind(label, "tabular").curve
    plot_metric_curves(run_dir / f"{metric}.png", {label: np.asarray(getattr(result.metrics, metric))}, ylabel)
    if mdp.grid_shape is not None:
        maps = {} if world is None else {"true": np.asarray(world.reward).reshape(mdp.num_states, -1).mean(-1)}
        maps[f"{label} (seed 0)"] = rewards[0].reshape(mdp.num_states, -1).mean(-1)
        plot_reward_maps(run_dir / "reward_maps.png", mdp.grid_shape, maps)




FIT_SETTINGS = {"algorithm": str, "config": dict, "world": str, "demos": str, "seeds": (int, 1), "seed": int}
"""The settings a fit run directory's ``config.json`` must record, and their types."""

FIT_FLAGS = {"learning_rate": "--learning-rate", "l2": "--l2", "horizon": "--horizon",
             "architecture": "--architecture"}
"""Config fields with options of their own (others are ``--set KEY=VALUE``)."""


@dataclasses.dataclass(frozen=True)
class FitRun:
    """A fit about to run: its directory, settings, world, demonstrations and driver (all validated)."""

    run_dir: Path
    settings: dict
    world: World | None
    mdp: TabularMDP
    world_name: str
    demos: Trajectories
    driver: Driver
    progress: Progress | None = None
    """A resumed run's checkpointed progress (fresh states when it has no checkpoint yet)."""


def resumed_fit_settings(args: argparse.Namespace, run_dir: Path) -> dict:
    """The settings of the fit run ``run_dir`` with the options given beside ``--resume`` applied.

    Options naming another algorithm, world, demonstrations, seeds or config value than the run's are
    refused; ``--iterations`` (a longer run, never a shorter one) is honoured.
    """
    settings = resumed_settings(run_dir, "fit", required=FIT_SETTINGS)
    try:
        name = get_algorithm_kind(settings["algorithm"], "tabular").name
        stored = make_config(name, settings["config"])
    except IrlaxError as exc:
        raise IrlaxError(f"{run_dir / 'config.json'}: {exc}; {run_dir} can't be resumed") from None
    given_name = get_algorithm_kind(args.algorithm, "tabular").name if args.algorithm else None
    given = {"algorithm": ("algorithm", given_name), "--seeds": ("seeds", args.seeds), "--seed": ("seed", args.seed)}
    for flag in ("world", "demos"):
        value = getattr(args, flag)
        stored_path = settings[flag]
        if value is not None and Path(value).resolve() != Path(stored_path).resolve():
            given[f"--{flag}"] = (flag, str(Path(value).resolve()))
    check_resume_options(run_dir, {**settings, "algorithm": name}, given)
    overrides = fit_overrides(args)
    iterations = overrides.pop("iterations", None)
    changed = make_config(name, overrides)
    for key in overrides:
        if getattr(changed, key) != getattr(stored, key):
            option = FIT_FLAGS.get(key, f"--set {key}")
            raise IrlaxError(f"{option} {getattr(changed, key)} conflicts with {run_dir}, which was run with "
                             f"{key} {getattr(stored, key)} (leave it out to resume it, or start a new run)")
    if iterations is not None:
        iterations = longer(run_dir, "--iterations", make_config(name, {"iterations": iterations}).iterations,
                            stored.iterations)
        config = dataclasses.asdict(make_config(name, {**settings["config"], "iterations": iterations}))
        settings = {**settings, "config": config}
    return {**settings, "algorithm": name}


def new_fit_settings(args: argparse.Namespace) -> dict:
    """The settings of a new fit from the command line (paths absolute, so that it resumes from anywhere)."""
    if args.world is None or args.demos is None or args.algorithm is None:
        raise IrlaxError("fit needs an algorithm, --world and --demos (or --resume RUN_DIR)")
    seeds = 1 if args.seeds is None else args.seeds
    if seeds < 1:
        raise IrlaxError("--seeds must be at least 1")
    config = make_config(args.algorithm, fit_overrides(args))
    return {"command": "fit", "algorithm": args.algorithm, "config": dataclasses.asdict(config),
            "world": str(Path(args.world).resolve()), "demos": str(Path(args.demos).resolve()), "seeds": seeds,
            "seed": 0 if args.seed is None else args.seed}


def fit_setup(args: argparse.Namespace, place: OutputPlace | None = None) -> FitRun:
    """Everything a fit needs, validated before anything is written: a new run directory is created (in
    ``place``, default: ``--out`` checked now) only once the settings, world, demonstrations, algorithm and the
    run's size check out; a resumed one gets its updated settings."""
    run_dir = Path(args.resume) if args.resume else None
    settings = resumed_fit_settings(args, run_dir) if run_dir is not None else new_fit_settings(args)
    name = get_algorithm_kind(settings["algorithm"], "tabular").name
    world, mdp, world_name = load_world(settings["world"])
    demos = load_trajectories(settings["demos"], num_states=mdp.num_states, num_actions=mdp.num_actions,
                              world_path=settings["world"], **world_fingerprints(world, mdp))
    seeds = settings["seeds"]
    check_count(seeds, "--seeds")
    config = make_config(name, settings["config"])
    algorithm = make_algorithm(name, config)
    check_planning_fits(mdp, f"{name} with {seeds} seeds on {settings['world']}", 3 * seeds,
                        getattr(config, "horizon", None))
    driver = Driver(algorithm, TabularData(mdp, demos), seeds)  # checks the data
    driver.check_size(jax.random.PRNGKey(settings["seed"]), algorithm.num_steps)
    progress = None
    if run_dir is None:
        place = place or prepare_output(args.out, parent=True)
        run_dir = start_run_dir(place, f"{settings['algorithm']}-{Path(settings['world']).stem}", settings)
    else:
        if algorithm.jittable:  # the checkpoint is checked before the run's settings change
            progress = start_or_resume(driver, run_dir, jax.random.PRNGKey(settings["seed"]), True,
                                       algorithm.num_steps)
        write_config(run_dir, settings)
    return FitRun(run_dir, settings, world, mdp, world_name, demos, driver, progress)


def cmd_fit(args: argparse.Namespace) -> None:
    """Fit a tabular IRL algorithm on a world and demonstrations, for several seeds at once.

    A gradient algorithm's run checkpoints after every twentieth of its iterations;
    ``--resume RUN_DIR`` continues from the last checkpoint and ends where an
    uninterrupted run would. Apprenticeship learning (a solver in its loop) runs its
    seeds in turn and is not checkpointed: ``--resume`` runs it again.
    """
    place = None if args.resume else prepare_output(args.out, parent=True)
    run = fit_setup(args, place)
    with run_cleanup(run.run_dir, "fit", place):
        fit_run(args, run)


def fit_run(args: argparse.Namespace, run: FitRun) -> None:
    """The work of ``irlax fit`` in its run directory: run (or resume), evaluate, write the outputs, print."""
    run_dir, settings, world, mdp, demos, driver = run.run_dir, run.settings, run.world, run.mdp, run.demos, run.driver
    name = driver.program.name
    key = jax.random.PRNGKey(settings["seed"])  # seed k runs with split(key, seeds)[k]
    if driver.program.jittable:
        progress = fit_chunked(driver, key, run_dir, run.progress, args.quiet)
    else:
        progress = fit_in_turn(driver, key, args.quiet)
        with EventLog(run_dir, driver.seeds) as events:
            events.write(progress.metrics, progress.done)
    start = time.perf_counter()
    result = jax.block_until_ready(driver.result(progress))
    seconds = progress.seconds + time.perf_counter() - start
    rows = evaluate_rewards(world, mdp, np.asarray(result.reward), demos)
    bad = non_finite_cells(rows)
    if bad:
        warnings.warn(f"NaN or infinite evaluation values ({', '.join(bad)}): planning with the learned or true "
                      "rewards overflows; they are left out of the summary", IrlaxWarning, stacklevel=2)
        rows = [{k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in row.items()}
                for row in rows]
    write_fit_outputs(run_dir, mdp, world, result, name)
    write_summary(run_dir, {"seconds": seconds, "evaluation": rows, "over_seeds": summaries_over_seeds(rows)})
    columns, table = evaluation_table(rows)
    if len(rows) > 1:
        table.append(iqm_cells(rows, columns))
    print_table(f"{name} on {run.world_name} ({seconds:.2f} s, {settings['seeds']} seeds)", columns, table)
    print(f"run directory: {run_dir}")
    print(open_hint(run_dir))


def fit_in_turn(driver: Driver, key: jax.Array, quiet: bool) -> Progress:
    """Run a solver-loop algorithm's seeds one after another (no checkpoints: a resumed run starts it again)."""
    label = f"{driver.program.name} ({driver.seeds} seeds, in turn)"
    with progress_bar(driver.seeds, label, enabled=not quiet) as bar:
        progress = driver.start(key)
        return driver.run(progress, driver.program.num_steps, on_chunk=lambda _: bar.advance(1))


def fit_chunked(driver: Driver, key: jax.Array, run_dir: Path, progress: Progress | None, quiet: bool) -> Progress:
    """Run a gradient algorithm's seeds in one vmapped computation, in chunks, checkpointing after each.

    ``progress``: where a resumed run stands (``None``: a new run). Chunks are a twentieth of the iterations
    and end at multiples of it, so a run resumed from its last checkpoint replays the chunks of an
    uninterrupted one.
    """
    total = driver.program.num_steps
    progress = driver.start(key) if progress is None else progress
    every = max(1, -(-total // PROGRESS_CHUNKS))
    return chunked_run(driver, progress, total, every, f"{driver.program.name} ({driver.seeds} seeds)", quiet,
                       run_dir / CHECKPOINT, run_dir)


def evaluation_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Columns and formatted rows of evaluation results."""
    columns = list(rows[0].keys())
    columns = list(rows[0].keys())
    if all(row.get("planning_converged", True) for row in rows):  # shown only when some planning fell short
        columns = [c for c in columns if c != "planning_converged"]
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else "-" if v is None else str(v)
    return columns, [[cell(row[c]) for c in columns] for row in rows]


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Evaluate learned rewards (``[S]``, ``[S, A]``, or a stack over seeds) on a world."""
    world, mdp, name = load_world(args.world)
    rewards = load_rewards(args.reward, mdp)
    check_planning_fits(mdp, f"evaluating on {args.world}", 3)
    demos = None
    if args.demos:
        demos = load_trajectories(args.demos, num_states=mdp.num_states, num_actions=mdp.num_actions,
                                  world_path=args.world, **world_fingerprints(world, mdp))
    rows = evaluate_rewards(world, mdp, rewards, demos)
    bad = non_finite_cells(rows)
    if bad:
        raise IrlaxError(f"evaluating {args.reward} on {args.world} gives NaN or infinite values ({', '.join(bad)}): "
                         "planning with rewards of this scale overflows; rescale the rewards")
    print_table(f"evaluation on {name}", *evaluation_table(rows))


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the tabular subcommands on the top-level parser."""
    p = sub.add_parser("world", help="draw a benchmark world, or build a Gymnasium toy-text one, into a world file")
    p.add_argument(
        "kind", metavar="WORLD",
        help=f"{', '.join(WORLDS)}, or a Gymnasium toy-text id whose environment has a transition table "
             "(e.g. FrozenLake-v1, CliffWalking-v1, Taxi-v4): "
             "its exact dynamics, expected reward and one-hot state features, discount 0.99",
    )
    p.add_argument("--out", required=True, help="world file to write (.npz)")
    p.add_argument("--seed", type=integer, default=0, help="random seed of a generated world (default 0)")
    p.add_argument("--size", type=integer, default=None, help="grid side (objectworld, binaryworld, gridworld; a "
                   "gridworld's macrocells are 16 cells wide where 16 divides the side, else about side/8)")
    p.add_argument("--discrete", action="store_true", help="objectworld: discrete (indicator) features")
    p.add_argument("--determinism", type=float, default=None, help="probability the chosen move happens")
    p.set_defaults(func=cmd_world)

    p = sub.add_parser("sample", help="sample expert demonstrations from a world's true reward")
    p.add_argument("--world", required=True, help="world file (.npz) with a true reward")
    p.add_argument("--trajectories", type=integer, default=32, help="number of demonstrations (default 32)")
    p.add_argument("--length", type=integer, default=8, help="steps per demonstration (default 8)")
    p.add_argument("--policy", choices=("soft", "greedy"), default="soft",
                   help="the expert: soft-optimal (MaxEnt) or greedy-optimal for the true reward (default soft)")
    p.add_argument("--seed", type=integer, default=0, help="random seed of the sampling (default 0)")
    p.add_argument("--out", required=True, help="demonstrations file to write (.npz)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("fit", help="fit a tabular IRL algorithm (any number of seeds, vmapped)")
    p.add_argument(
        "algorithm", nargs="?", choices=names("tabular"),
        help="; ".join(f"{name}: {get_algorithm_kind(name).description}" for name in names("tabular")),
    )
    p.add_argument("--world", help="world file (.npz)")
    p.add_argument("--demos", help="demonstrations file (.npz)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint (other "
                   "options must agree with the run's, but --iterations may lengthen it)")
    p.add_argument(
        "--seeds", type=integer,
        help="number of seeds run at once (default 1; linear rewards start at 0, so their seeds coincide)",
    )
    p.add_argument("--seed", type=integer, help="base seed (default 0)")
    p.add_argument("--iterations", type=integer, help="gradient steps (default: the algorithm's config, 200); with "
                   "--resume: the run's new length (more iterations continue it)")
    p.add_argument("--learning-rate", type=float, help="optimiser step size (default: the algorithm's config)")
    p.add_argument("--l2", type=float, help="L2 weight decay on the reward parameters")
    p.add_argument("--horizon", type=optional_int, metavar="H|none",
                   help="planning horizon, a positive integer (default, or none: the world's horizon; discounted "
                        "when the world has none; maxent: the longest demonstration)")
    p.add_argument("--architecture", choices=("mlp", "conv"), help="deep-maxent reward network")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any other config field")
    p.add_argument("--out", default="runs", help="parent folder of the run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("evaluate", help="expected value difference and demo likelihood of learned rewards")
    p.add_argument("--world", required=True, help="world file (.npz) with the true reward")
    p.add_argument("--reward", required=True, help=".npy reward [S], [S, A] or [seeds, ...]")
    p.add_argument("--demos", help="demonstrations to score (.npz)")
    p.set_defaults(func=cmd_evaluate)
