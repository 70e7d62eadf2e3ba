"""Learned rewards re-optimised under modified dynamics: GAIL, AIRL (both forms), GCL and the true reward (issue 16).

As jaxirl's transfer suite: each reward is learned on the original task and frozen; a fresh learner is trained on
it in a task of changed physics, and scored on that task's true reward, normalised between a uniformly random
policy (0) and an irlax expert trained on the modified task (1).

| original | modified (``irlax.tasks``) | what changed |
|---|---|---|
| CartPole-v1 | CartPoleGravity20-v1 | gravity 9.8 -> 20 |
| Acrobot-v1 | AcrobotHeavy-v1 | both link masses 1 -> 1.5 |
| Pendulum-v1 | PendulumHeavy-v1 | mass 1 -> 1.3, maximum torque 2 -> 2.5 |

Per original task: the benchmark cache's expert and 60 demonstrations (``imitation_compare.ensure_demos``), and an
expert of the modified task (the same command, its demonstrations unused). Per row, one run directory under
``benchmarks/runs/modified_dynamics``:

- ``gail``, ``airl`` (state-only ``g``), ``airl-state-action``, ``gcl``:
  ``irlax train ALGO --demos DEMOS --episodes 10 --seeds 5 --transfer-env MODIFIED --transfer-expert EXPERT``
  with the algorithm's preset; re-optimisation with the modified task's learner and budget (PPO 500k steps,
  SAC 20k), the policy evaluated over 20 episodes per seed;
- ``true``: ``irlax expert --env MODIFIED --seeds 5 --seed 1``, the same learner and budget on the true reward.

Cells with a summary are reused and unfinished ones resumed, so an interrupted benchmark goes on where it stopped.

Usage::

    PYTHONPATH=src python benchmarks/modified_dynamics.py                  # every row and task
    PYTHONPATH=src python benchmarks/modified_dynamics.py --tasks CartPole-v1 --rows gail true
    PYTHONPATH=src python benchmarks/modified_dynamics.py --report         # rewrite the page from the runs

Writes ``benchmarks/results/modified_dynamics.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
from bench_machine import ROOT, machine_line, one_minute, report_header, write_cell_table
from imitation_compare import CACHE, ensure_demos
from irlax_runs import irlax_main

from irlax.cli.runs import CHECKPOINT
from irlax.learners.evaluation import random_return
from irlax.metrics.aggregate import SeedSummary, seed_summary
from irlax.tasks import make_env

TRANSFERS = {"CartPole-v1": "CartPoleGravity20-v1", "Acrobot-v1": "AcrobotHeavy-v1",
             "Pendulum-v1": "PendulumHeavy-v1"}
"""Original task -> the task of modified dynamics its rewards are re-optimised in."""
ROWS: dict[str, tuple[str, list[str]]] = {
    "gail": ("gail", []),
    "airl": ("airl", []),
    "airl-state-action": ("airl", ["--set", "state_only=false"]),
    "gcl": ("gcl", []),
    "true": ("", []),
}
"""Row label -> (the ``irlax train`` algorithm, extra arguments); ``true``: an expert on the true reward."""
DEMO_EPISODES, SEEDS, EVAL_EPISODES = 10, 5, 20
RUNS = ROOT / "benchmarks" / "runs" / "modified_dynamics"
OUT = ROOT / "benchmarks" / "results" / "modified_dynamics.json"


def modified_expert(task: str) -> Path:
    """The expert of ``task``'s modified version (made when missing), the normaliser of its cells."""
    modified = TRANSFERS[task]
    ensure_demos(modified)  # the cache's expert (2 seeds, the best kept); its demonstrations go unused
    return CACHE / f"expert-{modified}"


def run_cell(label: str, task: str, seeds: int) -> Path:
    """Train (or resume, or reuse) one cell; its run directory."""
    run_dir = RUNS / f"{label}-{task}"
    done = run_dir / ("expert.json" if label == "true" else "summary.json")
    if done.exists():
        return run_dir
    resume = (run_dir / CHECKPOINT).exists()
    if label == "true":
        argv = ["expert", "--resume", str(run_dir)] if resume else [
            "expert", "--env", TRANSFERS[task], "--seeds", str(seeds), "--seed", "1",
            "--eval-episodes", str(EVAL_EPISODES), "--out", str(run_dir)]
    else:
        algorithm, extra = ROWS[label]
        argv = ["train", "--resume", str(run_dir)] if resume else [
            "train", algorithm, "--demos", str(ensure_demos(task)), "--episodes", str(DEMO_EPISODES),
            "--seeds", str(seeds), "--eval-episodes", str(EVAL_EPISODES), "--transfer-env", TRANSFERS[task],
            "--transfer-expert", str(modified_expert(task)), *extra, "--out", str(run_dir)]
    print(f"{label} on {task}: irlax {' '.join(argv)}", flush=True)
    if irlax_main([*argv, "--quiet"]) != 0:
        raise SystemExit(f"irlax failed for {label} on {task}")
    return run_dir


def expert_return(task: str) -> float:
    """The modified task's expert return (deterministic policy where recorded)."""
    info = json.loads((modified_expert(task) / "expert.json").read_text())
    return float((info.get("deterministic_return") or info["return"])["mean"])


def cell_record(label: str, task: str, run_dir: Path) -> dict[str, Any]:
    """What the table keeps of a finished cell."""
    if label == "true":
        info = json.loads((run_dir / "expert.json").read_text())
        random = random_return(make_env(TRANSFERS[task]), jax.random.PRNGKey(0), 100)
        expert = expert_return(task)
        returns = np.asarray(info["seed_deterministic_returns"], float)  # as the re-optimised policies
        norm = (returns - random) / (expert - random)
        return {"row": label, "task": task, "modified": TRANSFERS[task], "learner": info["learner"],
                "seeds": info["seeds"], "env_steps": info["env_steps"], "seconds": info["seconds"],
                "returns": returns.tolist(), "expert_return": expert, "random_return": random,
                "normalized_returns": norm.tolist(), "normalized": seed_summary(norm).as_dict(),
                "imitation_normalized": None, "epic": None}
    summary = json.loads((run_dir / "summary.json").read_text())
    reopt = summary["reoptimization"]
    norm = np.asarray(reopt["normalized_returns"], float)
    return {"row": label, "task": task, "modified": TRANSFERS[task], "learner": summary["learner"],
            "seeds": summary["seeds"], "env_steps": reopt["steps"], "seconds": summary["seconds"] + reopt["seconds"],
            "returns": reopt["returns"], "expert_return": reopt["expert_return"],
            "random_return": reopt["random_return"], "normalized_returns": norm.tolist(),
            "normalized": seed_summary(norm).as_dict(),
            "imitation_normalized": summary["over_seeds"]["normalized_return"],
            "epic": (summary.get("reward") or {}).get("epic")}


def markdown(results: dict[str, Any]) -> str:
    """The results page fragment."""
    lines = [
        "## Rewards re-optimised under modified dynamics (CartPole, Acrobot, Pendulum)", "",
        "Command: `PYTHONPATH=src python benchmarks/modified_dynamics.py` (each cell one run directory under "
        "`benchmarks/runs/modified_dynamics`, resumed or reused when the script runs again; this page written "
        f"{results['date']}, 1-minute load {one_minute(results['load_average_start'])}). "
        f"Machine: {machine_line(results['machine'])}.", "",
        f"Rewards learned from {DEMO_EPISODES} demonstrations of the original task ({SEEDS} seeds in one vmapped "
        "run, each algorithm's preset), frozen, and re-optimised by a fresh learner in the modified task "
        "(CartPoleGravity20-v1: gravity 20; AcrobotHeavy-v1: link masses 1.5; PendulumHeavy-v1: mass 1.3, "
        "maximum torque 2.5) with that task's learner and budget, plus what the algorithm's preset sets on its learner "
        "(`registry.preset_learner_fields`: AIRL's SAC at temperature 1, GCL's PPO rewards scaled on Acrobot; those "
        "rows rerun 2026-12-06 when the transfer learner began to take them); `true` trains the same learner on the "
        "modified task's true reward. Returns of the re-optimised policies over "
        f"{EVAL_EPISODES} episodes per seed, normalised between a uniformly random policy (0) and an irlax expert "
        "of the modified task (1); IQM over seeds with its 95% bootstrap CI. \"On the original\": the imitation "
        "policy of the same run on the original task (normalised by the demonstrations). Wall-clock: learning "
        "and re-optimisation of all seeds together, compilation included.", "",
        "| task → modified | row | learner | re-optimised, IQM [95% CI] | per seed | on the original (IQM) | "
        "env steps per seed (re-opt.) | wall-clock |",
        "|---|---|---|---|---|---|---:|---:|",
    ]
    for cell in results["cells"]:
        norm = SeedSummary(**cell["normalized"]).text() if cell["normalized"] else "n/a"
        per_seed = ", ".join(f"{v:.2f}" for v in cell["normalized_returns"] or [])
        original = f"{cell['imitation_normalized']['iqm']:.2f}" if cell["imitation_normalized"] else "-"
        lines.append(f"| {cell['task']} → {cell['modified']} | {cell['row']} | {cell['learner']} | {norm} | "
                     f"{per_seed} | {original} | {cell['env_steps']:,} | {cell['seconds']:.0f} s |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the missing cells (or, with ``--report``, none) and rewrite the page and results file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    parser.add_argument("--tasks", nargs="+", default=list(TRANSFERS), choices=TRANSFERS)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--report", action="store_true", help="only rewrite the page from the finished runs")
    args = parser.parse_args(argv)
    results = report_header("modified_dynamics.py", argv)
    if not args.report:
        for task in args.tasks:
            for label in args.rows:
                run_cell(label, task, args.seeds)
    cells = []
    for task in TRANSFERS:
        for label in ROWS:
            run_dir = RUNS / f"{label}-{task}"
            done = (run_dir / ("expert.json" if label == "true" else "summary.json")).exists()
            cells.append(((label, task), cell_record(label, task, run_dir) if done else None))
    write_cell_table(OUT, results, cells, lambda c: (c["row"], c["task"]), markdown)


if __name__ == "__main__":
    main()
