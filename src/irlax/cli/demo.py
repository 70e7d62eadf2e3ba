"""``irlax demo``: the main job — linear vs Deep MaxEnt IRL on an objectworld, end to end.

Builds a 32x32 objectworld (Levine et al. 2011), samples demonstrations from the
soft-optimal expert, fits linear MaxEnt IRL and Deep MaxEnt IRL (Wulfmeier et
al. 2016), prints expected value differences and times, and writes a run
directory with the learned rewards, metrics and a picture of the reward maps.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from irlax.algorithms.base import Algorithm, TabularData
from irlax.algorithms.registry import make_algorithm, make_config
from irlax.algorithms.tabular_fit import TabularIRLResult
from irlax.cli.runs import integer, prepare_output, run_cleanup, start_run_dir
from irlax.data.trajectories import save_trajectories
from irlax.envs import ObjectworldConfig, make_objectworld
from irlax.envs.world_file import save_world, world_fingerprints
from irlax.errors import IrlaxError
from irlax.metrics.tabular import expected_value_difference
from irlax.report import (
    plot_metric_curves,
    plot_reward_maps,
    print_table,
    progress_bar,
    save_array,
    write_metrics,
    write_summary,
)
from irlax.report.tensorboard import EventLog, open_hint
from irlax.tabular.planning import soft_value_iteration
from irlax.tabular.sampling import sample_trajectories


def timed(fn, *args):
    """``(result, seconds)`` of ``fn(*args)``, waiting for JAX to finish."""
    start = time.perf_counter()
    result = jax.block_until_ready(fn(*args))
    return result, time.perf_counter() - start


def fit(algorithm: Algorithm, key: jax.Array, data: TabularData) -> TabularIRLResult:
    """One whole run of a tabular algorithm from ``key``, jitted as one program (compiled on each call)."""

    def run(key: jax.Array, data: TabularData) -> TabularIRLResult:
        state, metrics = algorithm.update(algorithm.init(key, data), data, algorithm.num_steps)
        return algorithm.result(state, data, metrics)

    return jax.jit(run)(key, data)


def cmd_demo(args: argparse.Namespace) -> None:
    """Run the demo (see the module docstring)."""
    if args.size < 4 or args.trajectories < 1 or args.length < 1 or args.iterations < 1:
        raise IrlaxError("--size must be at least 4; --trajectories, --length, --iterations positive")
    place = prepare_output(args.out, parent=True)
    key_world, key_demos, key_fit = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    config = ObjectworldConfig(size=args.size, continuous=not args.discrete)
    iterations = {"iterations": args.iterations}
    algorithms = {
        "MaxEnt (linear)": make_algorithm("maxent", make_config("maxent", iterations)),
        "Deep MaxEnt (MLP)": make_algorithm("deep-maxent", make_config("deep-maxent", iterations)),
    }
    results: dict[str, tuple[TabularIRLResult, float]] = {}
    with progress_bar(2 + len(algorithms), "objectworld and expert", enabled=not args.quiet) as bar:
        world = make_objectworld(key_world, config)
        expert = soft_value_iteration(world.mdp, world.reward)
        demos = sample_trajectories(key_demos, world.mdp, expert.log_policy, args.trajectories, args.length)
        bar.advance()
        data = TabularData(world.mdp, demos)
        for name, algorithm in algorithms.items():
            bar.update(description=f"fitting {name}")
            results[name] = timed(fit, algorithm, key_fit, data)
            bar.advance()
        bar.update(description="evaluating")
        rows = evaluation_rows(world, results)
        bar.advance()
    run_dir = start_run_dir(place, "demo-objectworld", {k: v for k, v in vars(args).items() if k != "func"})
    with run_cleanup(run_dir, "demo", place, resumable=False):
        write_demo_run(run_dir, world, demos, results, rows)
    table = [[r["algorithm"], f"{r['evd_soft']:.3f}", f"{r['evd_greedy']:.3f}", f"{r['seconds']:.2f}"] for r in rows]
    print_table(
        f"objectworld {args.size}x{args.size}, {args.trajectories} demonstrations of {args.length} steps",
        ["algorithm", "EVD (soft)", "EVD (greedy)", "seconds (incl. compile)"],
        table,
    )
    print(f"run directory: {run_dir}")
    print(open_hint(run_dir))


def evaluation_rows(world, results: dict[str, tuple[TabularIRLResult, float]]) -> list[dict]:
    """EVD of the zero reward (a baseline) and of each learned reward."""
    rows = []
    baseline = expected_value_difference(world.mdp, world.reward, jnp.zeros_like(world.reward))
    rows.append({"algorithm": "zero reward (baseline)", "evd_soft": float(baseline.soft),
                 "evd_greedy": float(baseline.greedy), "seconds": 0.0})
    for name, (result, seconds) in results.items():
        evd = expected_value_difference(world.mdp, world.reward, result.reward)
        rows.append({"algorithm": name, "evd_soft": float(evd.soft), "evd_greedy": float(evd.greedy),
                     "seconds": seconds})
    return rows


def write_demo_run(run_dir: Path, world, demos, results, rows: list[dict]) -> Path:
    """The demo's run directory (its config already written): world, demonstrations, rewards, metrics, plots,
    summary."""
    save_world(run_dir / "world.npz", world.mdp, world.reward, name="objectworld")
    save_trajectories(run_dir / "demos.npz", demos, world.mdp.num_states, world.mdp.num_actions,
                      **world_fingerprints(world, world.mdp))
    maps = {"true reward": np.asarray(world.reward)}
    metric_rows, curves = [], {}
    for name, (result, _) in results.items():
        slug = name.split(" (")[0].lower().replace(" ", "_")
        save_array(run_dir, f"reward_{slug}", np.asarray(result.reward))
        maps[name] = np.asarray(result.reward)
        curves[name] = np.asarray(result.metrics.log_likelihood)
        metrics = {k: np.asarray(v) for k, v in result.metrics._asdict().items()}
        metric_rows += [{"algorithm": slug, "iteration": i, **{k: float(v[i]) for k, v in metrics.items()}}
                        for i in range(len(metrics["log_likelihood"]))]
        with EventLog(run_dir, 1, names=[slug]) as events:
            events.write({k: v[None] for k, v in metrics.items()}, len(metrics["log_likelihood"]))
    write_metrics(run_dir, metric_rows)
    plot_reward_maps(run_dir / "reward_maps.png", world.mdp.grid_shape, maps, title="objectworld rewards")
    plot_metric_curves(run_dir / "log_likelihood.png", curves, "log-likelihood per demonstration")
    write_summary(run_dir, {"results": rows})
    return run_dir


def add_command(sub: argparse._SubParsersAction) -> None:
    """Register ``irlax demo``."""
    p = sub.add_parser("demo", help="linear vs Deep MaxEnt IRL on an objectworld (the main job)")
    p.add_argument("--size", type=integer, default=32, help="grid side (default 32)")
    p.add_argument("--trajectories", type=integer, default=64, help="number of demonstrations")
    p.add_argument("--length", type=integer, default=8, help="steps per demonstration")
    p.add_argument("--iterations", type=integer, default=200, help="gradient steps per algorithm")
    p.add_argument("--discrete", action="store_true", help="discrete (indicator) features")
    p.add_argument("--seed", type=integer, default=0,
                   help="random seed of the world, demonstrations and fits (default 0)")
    p.add_argument("--out", default="runs", help="parent folder of the run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_demo)
