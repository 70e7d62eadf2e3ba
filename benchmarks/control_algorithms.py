"""The imitation and IRL algorithms of ``irlax train`` on CartPole-v1, Acrobot-v1 and Pendulum-v1 (issue 15's table).

For each task the script uses the benchmark cache's irlax expert and its 60 recorded demonstrations
(``imitation_compare.ensure_demos``: made when missing), and for each algorithm runs

    irlax train ALGO --demos DEMOS --episodes 10 --seeds 5 --reoptimize-steps 0 --eval-episodes 20

with the algorithm's preset for the task, into ``benchmarks/runs/control_algorithms/ALGO-TASK``. A cell whose run
directory holds a checkpoint but no summary is resumed (``irlax train --resume``), one with a summary is reused,
so an interrupted benchmark goes on where it stopped. Each cell reports what ``irlax train`` measured: the
imitation policy's deterministic return normalised between a uniformly random policy (0) and the
demonstrations' mean (1), its IQM over seeds with a 95% bootstrap CI, environment steps per seed, and
wall-clock for all seeds together (one vmapped run, compilation included).

Usage::

    PYTHONPATH=src python benchmarks/control_algorithms.py                          # every algorithm and task
    PYTHONPATH=src python benchmarks/control_algorithms.py --algorithms density --tasks CartPole-v1
    PYTHONPATH=src python benchmarks/control_algorithms.py --report                 # rewrite the page from runs

Writes ``benchmarks/results/control_algorithms.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench_machine import ROOT, load_average, machine_line, one_minute, report_header, write_report
from imitation_compare import ensure_demos

from irlax.cli.main import main as irlax_main
from irlax.metrics.aggregate import SeedSummary

TASKS = ("CartPole-v1", "Acrobot-v1", "Pendulum-v1")
ALGORITHMS = ("density",)
"""The algorithms of the table (each one ``irlax train`` knows)."""
DEMO_EPISODES, SEEDS, EVAL_EPISODES = 10, 5, 20
RUNS = ROOT / "benchmarks" / "runs" / "control_algorithms"
OUT = ROOT / "benchmarks" / "results" / "control_algorithms.json"
GOALS = {"density": None}
"""Issue 15's goal of each algorithm's expert-normalised return (``None``: reported as measured)."""


def run_cell(algorithm: str, task: str, seeds: int) -> dict[str, Any]:
    """Train (or resume, or reuse) one cell and return its summary."""
    run_dir = RUNS / f"{algorithm}-{task}"
    summary = run_dir / "summary.json"
    if not summary.exists():
        if (run_dir / "checkpoint.npz").exists():
            argv = ["train", "--resume", str(run_dir), "--quiet"]
        else:
            argv = ["train", algorithm, "--demos", str(ensure_demos(task)), "--episodes", str(DEMO_EPISODES),
                    "--seeds", str(seeds), "--reoptimize-steps", "0", "--eval-episodes", str(EVAL_EPISODES),
                    "--out", str(run_dir), "--quiet"]
        print(f"{algorithm} on {task}: irlax {' '.join(argv)}", flush=True)
        if irlax_main(argv) != 0:
            raise SystemExit(f"irlax train failed for {algorithm} on {task}")
    return json.loads(summary.read_text())


def cell_record(summary: dict[str, Any]) -> dict[str, Any]:
    """What the table keeps of a run's summary."""
    norm = summary["over_seeds"].get("normalized_return")
    return {
        "algorithm": summary["algorithm"], "task": summary["env"], "learner": summary.get("learner"),
        "seeds": summary["seeds"], "rounds": summary["rounds"], "demo_episodes": summary["demo_episodes"],
        "env_steps": summary["env_steps"], "seconds": summary["seconds"],
        "compile_seconds": summary["compile_seconds"], "expert_return": summary["expert_return"],
        "random_return": summary["random_return"],
        "normalized_returns": [row["normalized_return"] for row in summary["evaluation"]],
        "normalized_iqm": norm, "expert_queries": summary.get("expert_queries"),
        "goal": GOALS.get(summary["algorithm"]),
    }


def markdown(results: dict[str, Any]) -> str:
    """The results page fragment."""
    lines = [
        "## Imitation and IRL algorithms on classic control (CartPole, Acrobot, Pendulum)", "",
        "Command: `PYTHONPATH=src python benchmarks/control_algorithms.py` (each cell is one `irlax train` run "
        "directory under `benchmarks/runs/control_algorithms`, resumed or reused when the script runs again; "
        f"this page written {results['date']}, 1-minute load {one_minute(results['load_average_start'])}). "
        f"Machine: {machine_line(results['machine'])}.",
        "",
        f"{DEMO_EPISODES} demonstrations of an irlax expert per task; `irlax train ALGO` with its preset, "
        f"{SEEDS} seeds in one vmapped run; the imitation policy evaluated deterministically over "
        f"{EVAL_EPISODES} episodes per seed and normalised between a uniformly random policy (0) and the "
        "demonstrations' mean (1). IQM over seeds with its 95% bootstrap CI; wall-clock for all seeds together, "
        "compilation included.", "",
        "| algorithm | task | learner | normalised return, IQM [95% CI] | per seed | env steps per seed | "
        "wall-clock | goal |",
        "|---|---|---|---|---|---:|---:|---|",
    ]
    for cell in results["cells"]:
        iqm = SeedSummary(**cell["normalized_iqm"]).text() if cell["normalized_iqm"] else "n/a"
        per_seed = ", ".join(f"{v:.2f}" for v in cell["normalized_returns"])
        goal = "as measured"
        if cell["goal"] is not None:
            met = cell["normalized_iqm"] is not None and cell["normalized_iqm"]["iqm"] >= cell["goal"]
            goal = f"≥ {cell['goal']}: {'met' if met else 'missed'}"
        lines.append(f"| {cell['algorithm']} | {cell['task']} | {cell['learner']} | {iqm} | {per_seed} | "
                     f"{cell['env_steps']:.0f} | {cell['seconds']:.0f} s | {goal} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--report", action="store_true", help="only rewrite the page from the finished runs")
    args = parser.parse_args(argv)
    results = report_header("control_algorithms.py", argv)
    if not args.report:
        for algorithm in args.algorithms:
            for task in args.tasks:
                run_cell(algorithm, task, args.seeds)
    # the table: every finished cell, whichever invocation ran it (cells of the last report whose run directories
    # are not on this machine are kept)
    earlier = {(c["algorithm"], c["task"]): c for c in json.loads(OUT.read_text())["cells"]} if OUT.exists() else {}
    cells = []
    for algorithm in ALGORITHMS:
        for task in TASKS:
            path = RUNS / f"{algorithm}-{task}" / "summary.json"
            if path.exists():
                cells.append(cell_record(json.loads(path.read_text())))
            elif (algorithm, task) in earlier:
                cells.append(earlier[(algorithm, task)])
    results.update(cells=cells, load_average_end=load_average())
    write_report(OUT, results, markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
