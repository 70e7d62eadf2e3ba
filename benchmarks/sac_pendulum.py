"""SAC on Pendulum-v1: the return reached within 20k environment steps, and the wall-clock.

Trains irlax's SAC with the ``Pendulum-v1`` task's tuned config (from the task table:
:func:`irlax.tasks.learner_config`) for several seeds in one ``jax.vmap``, then
evaluates every seed's final policy on fresh episodes, deterministic (the squashed
mean) and stochastic. Also times one seed alone (the cost of the vmap over seeds) and
reports when each seed's training return (mean of its last 10 episodes) first reached
-200. Goal (issue 4): a mean return of
-200 or better within 20k environment steps.

Run: ``PYTHONPATH=src python benchmarks/sac_pendulum.py`` (``--quick`` for a smoke
run). Writes ``benchmarks/results/sac_pendulum.json`` and a markdown fragment next to
it (``.md``); ``--quick`` writes ``*_quick.*`` instead.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from bench_machine import load_average, machine_line, one_minute, output_path, report_header, write_report
from jax import Array
from rich.console import Console
from rich.table import Table

from irlax.envs.control import JaxEnv
from irlax.learners import base, sac
from irlax.learners.base import Learner
from irlax.learners.evaluation import evaluate_policy
from irlax.tasks import learner_config, make_env

ENV_NAME = "Pendulum-v1"
GOAL_RETURN = -200.0
WINDOW_EPISODES = 10
DEFAULT_OUT = Path("benchmarks/results/sac_pendulum.json")


@dataclass(frozen=True)
class Settings:
    """How much to run."""

    seeds: int
    """Seeds trained together in one vmap."""
    steps: int
    """Environment steps per seed."""
    eval_episodes: int
    """Evaluation episodes per seed and policy (deterministic, stochastic)."""
    single: bool
    """Also time one seed alone."""


def settings_from(args: argparse.Namespace) -> Settings:
    """The run sizes for the command line (``--quick``: a smoke run)."""
    if args.quick:
        return Settings(seeds=2, steps=2000, eval_episodes=2, single=False)
    return Settings(seeds=args.seeds, steps=args.steps, eval_episodes=args.eval_episodes, single=not args.no_single)


def timed_train(learner: Learner, env: JaxEnv, keys: Array, steps: int) -> tuple[Any, Any, float, float]:
    """Compile and run ``train`` vmapped over ``keys``: ``(state, metrics, compile_s, run_s)``."""
    run = jax.jit(jax.vmap(lambda key: base.train(learner, env, key, steps)))
    start = time.perf_counter()
    compiled = run.lower(keys).compile()
    compiled_at = time.perf_counter()
    state, metrics = jax.block_until_ready(compiled(keys))
    return state, metrics, compiled_at - start, time.perf_counter() - compiled_at


def evaluate(learner: Learner, env: JaxEnv, state: Any, key: Array, episodes: int) -> dict[str, list[float]]:
    """Mean return of ``episodes`` fresh episodes per seed, deterministic and stochastic policies."""

    def one(policy: sac.PolicyParams, deterministic: bool) -> Array:
        return evaluate_policy(learner, env, policy, key, episodes, deterministic).mean()

    policies = jax.vmap(learner.policy_params)(state.agent)
    return {
        "deterministic": np.asarray(jax.jit(jax.vmap(lambda p: one(p, True)))(policies)).tolist(),
        "stochastic": np.asarray(jax.jit(jax.vmap(lambda p: one(p, False)))(policies)).tolist(),
    }


def episode_curves(metrics: Any) -> list[dict[str, list[float]]]:
    """Per seed: the true return of each training episode and the environment step at which it ended."""
    curves = []
    for returns, steps in zip(np.asarray(metrics.mean_return), np.asarray(metrics.env_steps), strict=True):
        ended = ~np.isnan(returns)
        curves.append({"steps": steps[ended].tolist(), "returns": returns[ended].tolist()})
    return curves


def steps_to_goal(curve: dict[str, list[float]]) -> int | None:
    """The first environment step at which the mean of the last 10 training episodes reached the goal."""
    returns = np.asarray(curve["returns"])
    for end in range(WINDOW_EPISODES, len(returns) + 1):
        if returns[end - WINDOW_EPISODES : end].mean() >= GOAL_RETURN:
            return int(curve["steps"][end - 1])
    return None


def measure(settings: Settings, console: Console) -> dict[str, Any]:
    """Train, time and evaluate."""
    env, config = make_env(ENV_NAME), learner_config(ENV_NAME, "sac")
    learner = sac.make_sac(config, env.spec)
    keys = jax.random.split(jax.random.PRNGKey(0), settings.seeds)
    console.log(f"training {settings.seeds} seeds x {settings.steps} steps (vmapped)")
    state, metrics, compile_s, run_s = timed_train(learner, env, keys, settings.steps)
    curves = episode_curves(metrics)
    results: dict[str, Any] = {
        "config": asdict(config),
        "vmapped": {"seeds": settings.seeds, "compile_s": compile_s, "run_s": run_s},
        "evaluation": evaluate(learner, env, state, jax.random.PRNGKey(1), settings.eval_episodes),
        "final_training_return": [float(np.mean(c["returns"][-WINDOW_EPISODES:])) for c in curves],
        "steps_to_goal": [steps_to_goal(c) for c in curves],
        "curves": curves,
    }
    if settings.single:
        console.log("timing one seed alone")
        _, _, compile_1, run_1 = timed_train(learner, env, keys[:1], settings.steps)
        results["single"] = {"compile_s": compile_1, "run_s": run_1}
    return results


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(measurement, value, notes)`` rows for the console and the markdown."""
    ev, s = results["evaluation"], results["settings"]
    det, sto = np.asarray(ev["deterministic"]), np.asarray(ev["stochastic"])
    meets = "meets" if det.mean() >= GOAL_RETURN else "misses"
    reached = results["steps_to_goal"]
    reached_text = ", ".join("never" if r is None else f"{r / 1000:.1f}k" for r in reached)
    vm = results["vmapped"]
    rows = [
        (
            f"return after {s['steps'] // 1000}k steps, deterministic",
            f"{det.mean():.1f}",
            f"{meets} the -200 goal; per seed {', '.join(f'{x:.0f}' for x in det)} "
            f"({s['eval_episodes']} episodes each)",
        ),
        (
            "&nbsp;&nbsp;stochastic policy",
            f"{sto.mean():.1f}",
            f"per seed {', '.join(f'{x:.0f}' for x in sto)}",
        ),
        (
            "&nbsp;&nbsp;training return, last 10 episodes",
            f"{np.mean(results['final_training_return']):.1f}",
            "stochastic policy while learning, mean over seeds",
        ),
        ("steps until training return >= -200", reached_text, "first 10-episode mean at or above -200, per seed"),
        (
            f"wall-clock, {vm['seeds']} seeds vmapped",
            f"{vm['run_s']:.1f} s",
            f"+ {vm['compile_s']:.1f} s compile; {s['steps'] * vm['seeds'] / vm['run_s']:.0f} env steps/s in all",
        ),
    ]
    if "single" in results:
        one = results["single"]
        rows.append(
            (
                "wall-clock, one seed",
                f"{one['run_s']:.1f} s",
                f"+ {one['compile_s']:.1f} s compile; {vm['seeds']} seeds cost "
                f"{vm['run_s'] / one['run_s']:.2f}x one seed",
            )
        )
    return rows


def print_table(rows: list[tuple[str, str, str]], console: Console) -> None:
    """The rows as a rich table."""
    table = Table(title=f"SAC on {ENV_NAME}")
    for column in ("measurement", "value", "notes"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(cell.replace("&nbsp;", " ") for cell in row))
    console.print(table)


def markdown(results: dict[str, Any], rows: list[tuple[str, str, str]]) -> str:
    """A markdown fragment for the results page."""
    config = results["config"]
    lines = [
        f"## SAC on {ENV_NAME}",
        "",
        f"Soft actor-critic (twin critics, automatic temperature) with the `{ENV_NAME}` task's tuned config, "
        f"{results['settings']['seeds']} seeds trained in one `jax.vmap` for {results['settings']['steps']} "
        "environment steps each, then every seed's final policy evaluated on fresh episodes. "
        "Goal (issue 4): a mean return of -200 or better within 20k environment steps.",
        "",
        "| measurement | value | notes |",
        "|---|---:|---|",
        *(f"| {name} | {value} | {notes} |" for name, value, notes in rows),
        "",
        f"Preset: {config['hidden'][0]} x {config['hidden'][1]} {config['activation']} networks, learning rate "
        f"{config['actor_lr']:g}, batch {config['batch_size']}, {config['learning_starts']} random steps, "
        f"{config['num_envs']} environment, {config['gradient_steps']} gradient step per environment step, "
        f"gamma {config['gamma']}, tau {config['tau']}, target entropy -1.",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {machine_line(results['machine'])}. Measured {results['date']}; "
        f"load average (1 min) {one_minute(results['load_average_start'])} at start, "
        f"{one_minute(results['load_average_end'])} at end (a shared machine: other jobs ran alongside).",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4, help="seeds trained in one vmap (default 4)")
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps per seed (default 20000)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes per seed (default 10)")
    parser.add_argument("--no-single", action="store_true", help="skip timing one seed alone")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, 2000 steps; writes *_quick.*")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON output (default {DEFAULT_OUT}); .md beside it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Train, print the table, write the JSON and the markdown fragment."""
    args = parse_args(argv)
    settings, console = settings_from(args), Console()
    results = {
        **report_header("sac_pendulum.py"),
        "settings": asdict(settings),
        **measure(settings, console),
        "load_average_end": load_average(),
    }
    rows = table_rows(results)
    print_table(rows, console)
    out = output_path(args.out, args.quick, DEFAULT_OUT)
    write_report(out, results, markdown(results, rows))
    console.log(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
