"""SQIL (Reddy et al. 2020) on CartPole-v1, Acrobot-v1 and Pendulum-v1 from 10 demonstrations: expert-normalised
return, environment steps and wall-clock (issue 15's goal: at least 0.95 on each, 5 seeds).

For each task the script trains an irlax expert (2 seeds, the best kept) and records 20 demonstrations into
``benchmarks/.cache`` when missing (``imitation_compare.ensure_demos``), takes the first 10, and trains SQIL with
its preset (:func:`irlax.algorithms.registry.preset`) for all seeds in one ``vmap`` through the run driver (seed
``k`` trains with ``split(PRNGKey(0), seeds)[k]``). Each seed's imitation policy (SAC's actor) is then evaluated
deterministically; the return is normalised between a uniformly random policy (0) and the demonstrations' mean
(1). Wall-clock is the driver's, compilation included, for all seeds together.

Usage::

    PYTHONPATH=src python benchmarks/sqil_bench.py                         # all three tasks, 5 seeds
    PYTHONPATH=src python benchmarks/sqil_bench.py --tasks CartPole-v1 --seeds 3
    PYTHONPATH=src python benchmarks/sqil_bench.py --quick                 # smoke run: 2 seeds, 3 rounds
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import jax
import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, output_path, report_header, write_report
from imitation_compare import ensure_demos

from irlax.algorithms.registry import make_algorithm, preset
from irlax.data.demos import load_demonstrations, subset
from irlax.learners.evaluation import normalized_return, random_return
from irlax.metrics.aggregate import seed_summary
from irlax.run.assess import policy_returns
from irlax.run.driver import Driver
from irlax.tasks import make_env

TASKS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
DEMO_EPISODES = 10
RECORDED_EPISODES = 20
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "sqil.json"
GOAL = 0.95


def run_task(task: str, seeds: int, rounds: int | None, eval_episodes: int, demos_path: Path | None) -> dict:
    """SQIL on ``task`` for ``seeds`` seeds at once; per-seed deterministic returns, normalised."""
    env = make_env(task)
    demos = subset(load_demonstrations(demos_path or ensure_demos(task, RECORDED_EPISODES), env.spec), DEMO_EPISODES)
    config = preset("sqil", task)
    config = replace(config, rounds=rounds or config.rounds)
    algo = make_algorithm("sqil", config, env)
    driver = Driver(algo, demos, seeds)
    cpu = time.process_time()
    progress = driver.run(driver.start(jax.random.PRNGKey(0)), config.rounds)
    cpu = time.process_time() - cpu
    returns = policy_returns(algo, progress.state, demos, jax.random.PRNGKey(1), eval_episodes)
    random = random_return(env, jax.random.PRNGKey(99))
    expert = float(np.asarray(demos.returns()).mean())
    normalised = np.asarray(normalized_return(returns, random, expert), float)
    return {
        "task": task, "seeds": seeds, "rounds": config.rounds, "config": repr(config),
        "demo_episodes": demos.num_episodes, "env_steps": float(np.asarray(progress.state.env_steps)[0]),
        "train_seconds": progress.seconds, "compile_seconds": progress.compile_seconds, "cpu_seconds": cpu,
        "eval_episodes": eval_episodes, "expert_return": expert, "random_return": random,
        "returns": returns.tolist(), "normalized": normalised.tolist(), "summary": seed_summary(normalised).as_dict(),
        "training_return_last_round": np.asarray(progress.metrics["mean_return"])[:, -1].tolist(),
    }


def markdown(results: dict[str, Any]) -> str:
    """The results page fragment."""
    commands = "; ".join(f"{r['task']}: `{r['command']}` ({r['date']}, 1-minute load "
                         f"{one_minute(r['load_average_start'])} at the start)" for r in results["tasks"])
    lines = [
        "## SQIL", "",
        f"Commands: {commands}. Machine: {machine_line(results['machine'])}.", "",
        f"{DEMO_EPISODES} demonstrations of an irlax expert; the imitation policy (SAC's actor) evaluated "
        "deterministically; normalised between a uniformly random policy (0) and the demonstrations' mean (1). "
        "Wall-clock for all seeds together in one vmapped process, compilation included.", "",
        "| task | seeds | env steps per seed | wall-clock (s) | of which compiling | expert | random | return (mean) "
        "| normalised IQM [95% CI] | per seed | goal 0.95 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["tasks"]:
        s = r["summary"]
        per_seed = ", ".join(f"{x:.2f}" for x in r["normalized"])
        lines.append(
            f"| {r['task']} | {r['seeds']} | {r['env_steps']:.0f} | {r['train_seconds']:.0f} | "
            f"{r['compile_seconds']:.0f} | {r['expert_return']:.1f} | {r['random_return']:.1f} | "
            f"{np.mean(r['returns']):.1f} | {s['iqm']:.3f} [{s['iqm_low']:.3f}, {s['iqm_high']:.3f}] | {per_seed} | "
            f"{'yes' if s['iqm'] >= GOAL else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rounds", type=int, help="override the presets' rounds")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--demos", nargs="*", default=[], metavar="TASK=FILE",
                        help="demonstration files to use instead of the cache's")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, 3 rounds")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    files = dict(item.split("=", 1) for item in args.demos)
    seeds, rounds = (2, 3) if args.quick else (args.seeds, args.rounds)
    out = output_path(args.out, args.quick, DEFAULT_OUT)
    header = report_header("sqil_bench.py")
    results: dict[str, Any] = {**header, "tasks": []}
    if out.exists():  # tasks measured by earlier runs stay (each row records its own command, date and load)
        results["tasks"] = [r for r in json.loads(out.read_text()).get("tasks", []) if r["task"] not in args.tasks]
    for task in args.tasks:
        row = run_task(task, seeds, rounds, args.eval_episodes, Path(files[task]) if task in files else None)
        row.update(command=header["command"], date=header["date"], load_average_start=header["load_average_start"],
                   load_average_end=load_average())
        results["tasks"] = [r for r in results["tasks"] if r["task"] != task] + [row]
        results["tasks"].sort(key=lambda r: TASKS.index(r["task"]) if r["task"] in TASKS else len(TASKS))
        print(f"{task}: normalised {np.round(row['normalized'], 3).tolist()} (IQM {row['summary']['iqm']:.3f}), "
              f"{row['env_steps']:.0f} env steps, {row['train_seconds']:.0f} s", flush=True)
        write_report(out, results, markdown(results))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
