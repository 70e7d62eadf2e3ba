"""MuJoCo experts: SAC at 300k and PPO at 1M (and 2M, annealed) environment steps on Gymnasium's locomotion tasks,
resumable per cell.

Each *cell* (task x learner x seed) is one ordinary ``irlax expert`` run directory,
``benchmarks/runs/mujoco_experts/{task}-{learner}-seed{S}``, trained with the task's
preset from the task table (SAC: 256 x 256, batch 256, 10k random steps, a buffer
of 1M; PPO: 8 environments x 256 steps, 10 epochs of minibatches of 64). A cell
whose ``expert.json`` exists is done; one with a checkpoint is continued with
``irlax expert --resume``; so the script can be stopped at any time and rerun, in
this session or the next, and it carries on. The cells run one at a time (each
uses both cores for its networks), at a lower priority than interactive work.

Goals (SAC at 300k steps): Hopper 2500, HalfCheetah 5000, Walker2d 3000, Ant
2500, Swimmer 40. Returns are the kept seed's mean over its evaluation episodes
(stochastic policy, as ``irlax expert`` reports it; the deterministic one too).

Run: ``PYTHONPATH=src python benchmarks/mujoco_experts.py`` (all SAC and PPO cells; ``--tasks``,
``--learners``, ``--seeds`` choose some, ``--learners ppo-2m`` the 2M-step annealed PPO; ``--report`` only
collects finished cells).
Writes ``benchmarks/results/mujoco_experts.json`` and ``.md`` from every finished cell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_machine import ROOT, machine_line, report_header, write_report

RUNS = ROOT / "benchmarks" / "runs" / "mujoco_experts"
OUT = ROOT / "benchmarks" / "results" / "mujoco_experts.json"
TASKS = ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Swimmer-v5")
STEPS = {"sac": 300_000, "ppo": 1_000_000, "ppo-2m": 2_000_000}
LEARNER_OPTIONS = {"ppo-2m": ("ppo", ["--set", "lr_anneal_steps=2000000"])}
"""A learner row that is not an irlax learner's name: its irlax learner and extra options. ``ppo-2m`` is PPO for 2M
steps with its step size annealed linearly to zero (run only when named with ``--learners``). On Hopper-v5 the
1M-step PPO's 10 stochastic demonstrations all ended in a fall, and longer training with a constant step size did not
settle (``irlax expert --env Hopper-v5 --learner ppo --steps 3000000``: training returns swinging between 1000 and
2500 from 1M to 2.2M steps); annealed over 2M steps, its deterministic demonstrations fall in 1 of 10."""
DEFAULT_LEARNERS = ["sac", "ppo"]
GOALS = {"Hopper-v5": 2500.0, "HalfCheetah-v5": 5000.0, "Walker2d-v5": 3000.0, "Ant-v5": 2500.0, "Swimmer-v5": 40.0}


def irlax_learner(learner: str) -> str:
    """The irlax learner (``"sac"`` or ``"ppo"``) of a learner row (``"ppo-2m"`` is PPO)."""
    return LEARNER_OPTIONS.get(learner, (learner, []))[0]


def cell_dir(task: str, learner: str, seed: int) -> Path:
    """The run directory of one cell."""
    return RUNS / f"{task}-{learner}-seed{seed}"


def run_cell(task: str, learner: str, seed: int, steps: int) -> int:
    """Train (or continue) one cell with the ``irlax`` command at low priority; its exit status."""
    run_dir = cell_dir(task, learner, seed)
    if (run_dir / "expert.json").exists():
        return 0
    irlax = [sys.executable, "-m", "irlax.cli.main"]
    if (run_dir / "config.json").exists():
        argv = [*irlax, "expert", "--resume", str(run_dir), "--quiet"]
    else:
        extra = LEARNER_OPTIONS.get(learner, (learner, []))[1]
        if irlax_learner(learner) == "sac":  # a replay buffer of the run's steps, not the preset's 1M: the same
            extra = [*extra, "--set", f"buffer_size={steps}"]  # expert in 30% of the memory (mujoco_irl.SAC_BUFFER)
        argv = [*irlax, "expert", "--env", task, "--learner", irlax_learner(learner), *extra, "--steps", str(steps),
                "--seed", str(seed), "--eval-episodes", "10", "--out", str(run_dir), "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    print(f"{task} {learner} seed {seed}: {' '.join(argv[3:])}", flush=True)
    return subprocess.run(["nice", "-n", "5", *argv], env=env, cwd=ROOT).returncode


def collect(tasks: list[str], learners: list[str], seeds: list[int]) -> list[dict[str, Any]]:
    """The finished cells' figures, from their ``expert.json``."""
    rows = []
    for task in tasks:
        for learner in learners:
            for seed in seeds:
                path = cell_dir(task, learner, seed) / "expert.json"
                if not path.exists():
                    continue
                info = json.loads(path.read_text())
                goal = GOALS[task] if learner == "sac" else None
                rows.append({
                    "task": task, "learner": learner, "seed": seed, "env_steps": info["env_steps"],
                    "return": info["return"]["mean"], "return_std": info["return"]["std"],
                    "deterministic_return": info["deterministic_return"]["mean"],
                    "eval_episodes": info["eval_episodes"], "seconds": info["seconds"],
                    "goal": goal, "goal_met": None if goal is None else info["return"]["mean"] >= goal,
                })
    return rows


def carried_over(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` plus the previous report's finished cells whose run directory is not on this machine (a cell
    trained in another checkout), marked ``"carried": true``; in the task table's order."""
    if not OUT.exists():
        return rows
    here = {(r["task"], r["learner"], r["seed"]) for r in rows}
    old = [dict(r, carried=True) for r in json.loads(OUT.read_text()).get("cells", [])
           if (r["task"], r["learner"], r["seed"]) not in here]
    order = lambda r: (TASKS.index(r["task"]), list(STEPS).index(r["learner"]), r["seed"])
    return sorted(rows + old, key=order)


def in_progress(tasks: list[str], learners: list[str], seeds: list[int], recent: int = 10_000) -> list[dict[str, Any]]:
    """The unfinished cells with a checkpoint: steps done, seconds so far, and the training return of the last
    ``recent`` environment steps (the mean over the episodes that ended there, true reward, stochastic policy)."""
    import numpy as np

    rows = []
    for task in tasks:
        for learner in learners:
            for seed in seeds:
                run_dir = cell_dir(task, learner, seed)
                if (run_dir / "expert.json").exists() or not (run_dir / "checkpoint.npz").exists():
                    continue
                with np.load(run_dir / "checkpoint.npz") as ckpt:
                    done, seconds = int(ckpt["done"]), float(ckpt["seconds"])
                    env_steps = ckpt["metric_env_steps"][0]
                    window = env_steps > env_steps[-1] - recent if len(env_steps) else env_steps.astype(bool)
                    returns, episodes = ckpt["metric_mean_return"][0][window], ckpt["metric_episodes"][0][window]
                finite = np.isfinite(returns) & (episodes > 0)
                count = float(episodes[finite].sum())
                rows.append({
                    "task": task, "learner": learner, "seed": seed,
                    "env_steps": int(env_steps[-1]) if len(env_steps) else 0, "iterations": done,
                    "seconds": seconds, "target_steps": STEPS[learner],
                    "recent_training_return": float((returns[finite] * episodes[finite]).sum() / count)
                    if count else None,
                    "recent_episodes": int(count),
                })
    return rows


def markdown(rows: list[dict[str, Any]], header: dict[str, Any], running: list[dict[str, Any]] = ()) -> str:
    """The results page's section."""
    lines = [
        "## MuJoCo experts: SAC at 300k and PPO at 1M (and 2M, annealed) environment steps",
        "",
        "Experts trained by `irlax expert` on Gymnasium's MuJoCo locomotion tasks (native physics on the CPU) "
        "with the task table's presets (SAC: 256 x 256, batch 256, 10k random steps, a buffer of 1M; PPO: 8 "
        "environments x 256 steps, 10 epochs of minibatches of 64, normalised observations; `ppo-2m`: the same for 2M "
        "steps with its step size annealed linearly to zero). Goals for SAC at "
        "300k steps: " + ", ".join(f"{t} {g:.0f}" for t, g in GOALS.items()) + ". Return: the mean over 10 "
        "evaluation episodes of the stochastic policy (the deterministic one beside it). Each cell is a "
        "resumable run directory; cells not listed have not finished yet.",
        "",
        "| task | learner | seed | env steps | return (stochastic) | deterministic | goal | wall-clock |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        goal = "" if r["goal"] is None else f"{r['goal']:.0f} ({'met' if r['goal_met'] else 'missed'})"
        lines.append(f"| {r['task']} | {r['learner']} | {r['seed']} | {r['env_steps']:,} | {r['return']:.1f} "
                     f"+- {r['return_std']:.1f} | {r['deterministic_return']:.1f} | {goal} | "
                     f"{r['seconds'] / 3600:.2f} h{' (earlier run)' if r.get('carried') else ''} |")
    if not rows:
        lines.append("| (no cell finished yet) | | | | | | | |")
    if running:
        lines += ["", "Unfinished cells (training continues when the script is rerun; the return is the training "
                      "return of the last 10k environment steps, stochastic policy):", "",
                  "| task | learner | seed | env steps so far | recent training return | episodes | time so far |",
                  "|---|---|---|---|---|---|---|"]
        for r in running:
            ret = "n/a" if r["recent_training_return"] is None else f"{r['recent_training_return']:.1f}"
            lines.append(f"| {r['task']} | {r['learner']} | {r['seed']} | {r['env_steps']:,} of "
                         f"{r['target_steps']:,} | {ret} | {r['recent_episodes']} | {r['seconds'] / 3600:.2f} h |")
    lines.append("")
    lines.append(f"Machine: {machine_line(header['machine'])}. Command: `{header['command']}`. Wall-clock is "
                 "that of a machine shared with other work (the cells run at low priority).")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the chosen cells (resuming), then write the report of every finished one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--learners", nargs="+", default=DEFAULT_LEARNERS, choices=list(STEPS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--report", action="store_true", help="only collect the finished cells")
    args = parser.parse_args()
    if not args.report:
        for learner in args.learners:
            for task in args.tasks:
                for seed in args.seeds:
                    status = run_cell(task, learner, seed, STEPS[learner])
                    if status != 0:
                        print(f"{task} {learner} seed {seed} failed with status {status}", flush=True)
    header = report_header("mujoco_experts.py", sys.argv[1:])
    rows = carried_over(collect(list(TASKS), list(STEPS), sorted({0, *args.seeds})))
    running = in_progress(list(TASKS), list(STEPS), sorted({0, *args.seeds}))
    write_report(OUT, {**header, "goals": GOALS, "steps": STEPS, "cells": rows, "unfinished": running},
                 markdown(rows, header, running))
    print(OUT.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
