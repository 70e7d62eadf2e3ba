"""DAgger on CartPole-v1, Acrobot-v1 and Pendulum-v1: expert-normalised return, expert queries, wall-clock.

For each task: an irlax expert (``irlax expert``, 2 seeds, the best kept) and 10
of its episodes (``irlax demos``), made once under ``benchmarks/runs/dagger``;
then ``irlax train dagger`` with the task's preset for ``--seeds`` seeds in one
process (vmapped). Reported as measured, per task and seed: the clone's
expert-normalised return (random policy 0, the demonstrations' mean 1;
stochastic and deterministic, 20 episodes each), its IQM and 95% CI over seeds,
environment steps and expert queries per seed, and the run's wall-clock
(all seeds together, compilation included).

The goal (issue 15): at least 0.99 on all three tasks with 10 demonstrations, 5 seeds.

Usage::

    PYTHONPATH=src python benchmarks/dagger_bench.py                      # 3 tasks, 5 seeds
    PYTHONPATH=src python benchmarks/dagger_bench.py --tasks CartPole-v1 --seeds 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, output_path, report_header, write_report

from irlax.cli.main import main as irlax_main
from irlax.metrics.aggregate import seed_summary

TASKS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
DEMOS = 10
WORK = ROOT / "benchmarks" / "runs" / "dagger"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "dagger.json"


def ensure_inputs(task: str) -> tuple[Path, Path]:
    """The task's expert directory and demonstrations file, made when missing."""
    expert, demos = WORK / f"expert-{task}", WORK / f"demos-{task}-{DEMOS}.npz"
    if not (expert / "expert.json").exists():
        assert irlax_main(["expert", "--env", task, "--seeds", "2", "--out", str(expert), "--quiet"]) == 0
    if not demos.exists():
        assert irlax_main(["demos", "--expert", str(expert), "--episodes", str(DEMOS), "--out", str(demos)]) == 0
    return expert, demos


def run_task(task: str, seeds: int, extra: list[str]) -> dict[str, Any]:
    """``irlax train dagger`` on ``task``; its summary's figures."""
    expert, demos = ensure_inputs(task)
    out = WORK / f"run-{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    start = time.perf_counter()
    assert irlax_main(["train", "dagger", "--demos", str(demos), "--expert", str(expert), "--seeds", str(seeds),
                       "--out", str(out), "--quiet", *extra]) == 0
    command_seconds = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["evaluation"]
    record = {
        "run_dir": str(out.relative_to(ROOT)), "rounds": summary["rounds"], "demo_episodes": summary["demo_episodes"],
        "expert_return": summary["expert_return"], "random_return": summary["random_return"],
        "expert_queries": summary["expert_queries"], "env_steps": summary["env_steps"],
        "seconds": summary["seconds"], "compile_seconds": summary["compile_seconds"],
        "command_seconds": command_seconds,
    }
    for key in ("normalized_return", "deterministic_normalized_return"):
        values = np.asarray([r[key] for r in rows], float)
        record[key] = values.tolist()
        record[f"{key}_summary"] = seed_summary(values).as_dict()
    return record


def markdown(results: dict[str, Any]) -> str:
    """The results as a markdown table."""
    lines = [f"DAgger, {DEMOS} demonstrations, {results['seeds']} seeds; {machine_line(results['machine'])}; "
             f"load {one_minute(results['load_average_start'])} at the start.", "",
             "| task | normalised return IQM [95% CI] (stochastic) | deterministic | expert queries / seed | "
             "env steps / seed | wall-clock (all seeds, compile) |", "|---|---|---|---|---|---|"]
    for task, r in results["tasks"].items():
        cell = lambda s: f"{s['iqm']:.3f} [{s['iqm_low']:.3f}, {s['iqm_high']:.3f}]"
        lines.append(f"| {task} | {cell(r['normalized_return_summary'])} | "
                     f"{cell(r['deterministic_normalized_return_summary'])} | {r['expert_queries']:.0f} | "
                     f"{r['env_steps']:.0f} | {r['seconds']:.1f} s ({r['compile_seconds']:.1f} s) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed to irlax train")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = output_path(args.out, False, DEFAULT_OUT)
    results = {**report_header("dagger_bench.py"), "seeds": args.seeds, "tasks": {}}
    extra = [x for item in args.set for x in ("--set", item)]
    for task in args.tasks.split(","):
        results["tasks"][task] = run_task(task, args.seeds, extra)
        results["load_average_end"] = load_average()
        write_report(out, results, markdown(results))  # after every task: an interrupted run keeps what it has
        print(markdown(results))


if __name__ == "__main__":
    main()
