"""GAIL and AIRL in irlax and in the ``imitation`` library (v1.0.1), side by side on CartPole-v1 and Pendulum-v1.

Both libraries learn from the same demonstration files (60 episodes of an irlax
expert, recorded by this script into ``benchmarks/.cache`` when missing) and are
scored on the same true task with the same normalisation: expert-normalised
return, a uniformly random policy 0 and the demonstrations' mean return 1, the
imitation policy evaluated deterministically.

- **imitation**: ``benchmarks/imitation_side.py`` in its own virtual environment
  (``benchmarks/imitation_venv.py`` installs imitation 1.0.1 with torch 2.13.0, the
  CPU build), with imitation's documented settings (its GAIL and AIRL tutorials:
  seals/CartPole-v0, 8 environments, PPO; for Pendulum the same trainers with
  rl-baselines3-zoo's PPO settings), one process per seed, one PyTorch thread,
  two processes at a time. Runs already on disk (``benchmarks/results/imitation_runs``)
  are reused, so an interrupted benchmark resumes.
- **irlax**: :func:`irlax.algorithms.registry.preset` for each algorithm and
  task (PPO on CartPole, SAC on Pendulum), all seeds in one ``vmap`` in one
  process (the run driver, :class:`irlax.run.driver.Driver`), trained in chunks
  with a deterministic evaluation after each (not counted in the time). Its
  wall-clock *includes* compilation and is for all the seeds together, so the
  per-seed comparison is conservative for irlax.

The goal (issue 5): irlax reaches 0.95 of the expert with both algorithms on both
tasks, and needs at least 10x less wall-clock than imitation to reach the return
imitation reaches at the end of its run.

Usage::

    PYTHONPATH=src python benchmarks/imitation_compare.py            # everything, 5 seeds
    PYTHONPATH=src python benchmarks/imitation_compare.py --irlax-only  # reuse the imitation runs on disk
    PYTHONPATH=src python benchmarks/imitation_compare.py --quick     # smoke run: tiny budgets, *_quick.*
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import jax
import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, output_path, report_header, write_report
from imitation_venv import CACHE, full_jobs, run_jobs, smoke_jobs
from irlax_runs import irlax_main

from irlax.algorithms.registry import make_algorithm, preset
from irlax.data.demos import load_demonstrations
from irlax.learners.evaluation import random_return
from irlax.run.assess import policy_returns
from irlax.run.driver import Driver, Progress
from irlax.settings import apply_overrides
from irlax.tasks import default_learner, learner_config, make_env

TASKS = ("CartPole-v1", "Pendulum-v1")
ALGOS = ("gail", "airl")
DEMO_EPISODES = 60
EVALUATIONS = 10
"""Evaluations along an irlax run (after every tenth of its rounds)."""
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "imitation_compare.json"


def ensure_demos(task: str, episodes: int = DEMO_EPISODES) -> Path:
    """The task's demonstrations in the benchmark cache: an irlax expert (2 seeds, the best kept) and ``episodes``
    episodes (60 by default)."""
    expert, demos = CACHE / f"expert-{task}", CACHE / f"demos-{task}-{episodes}.npz"
    if not (expert / "expert.json").exists():
        irlax_main(["expert", "--env", task, "--seeds", "2", "--out", str(expert), "--quiet"])
    if not demos.exists():
        irlax_main(["demos", "--expert", str(expert), "--episodes", str(episodes), "--out", str(demos)])
    return demos


def irlax_run(task: str, algo: str, seeds: int, rounds: int | None, eval_episodes: int,
              demos_path: Path | None = None, learner: str = "", evaluations: int = EVALUATIONS,
              learner_settings: dict[str, Any] | None = None,
              settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``algo`` on ``task`` for ``seeds`` seeds in one vmap; the curve of deterministic returns over time.

    The time of a point is the driver's wall-clock up to it (initialisation and every compilation included,
    the evaluations not). ``demos_path``: the demonstrations (default: the cache's 60 episodes of the task);
    ``learner``: the learner inside (default: the task's); ``evaluations``: points along the run;
    ``learner_settings``: fields of the learner's config to change (``irlax train``'s ``--learner-set``);
    ``settings``: fields of the algorithm's config to change (``--set``).
    """
    env = make_env(task)
    demos = load_demonstrations(demos_path or CACHE / f"demos-{task}-{DEMO_EPISODES}.npz", env.spec)
    config = preset(algo, task, learner)
    config = replace(config, rounds=rounds or config.rounds, **(settings or {}))
    if learner_settings:
        kind = config.learner or default_learner(task, env.spec)
        base = config.learner_config if config.learner_config is not None else learner_config(task, kind)
        config = replace(config, learner=kind, learner_config=apply_overrides(base, learner_settings, kind))
    algorithm = make_algorithm(algo, config, env)
    chunk = max(1, config.rounds // evaluations)
    random = random_return(env, jax.random.PRNGKey(99))
    expert = float(demos.returns().mean())
    cpu_start = time.process_time()
    driver = Driver(algorithm, demos, seeds)  # seed k trains with split(PRNGKey(0), seeds)[k]
    curve: list[dict[str, Any]] = []

    def evaluate(progress: Progress) -> None:
        returns = policy_returns(algorithm, progress.state, demos, jax.random.PRNGKey(progress.done), eval_episodes)
        curve.append({"rounds": progress.done, "env_steps": float(progress.metrics["env_steps"][0, -1]),
                      "train_seconds": progress.seconds, "mean_return": float(returns.mean()),
                      "seed_returns": returns.tolist()})

    progress = driver.run(driver.start(jax.random.PRNGKey(0)), config.rounds, chunk, evaluate)
    final = np.asarray(curve[-1]["seed_returns"])
    normalised = (final - random) / (expert - random)
    return {
        "library": "irlax", "task": task, "algo": algo, "seeds": seeds, "learner": algorithm.learner.name,
        "config": repr(config), "rounds": config.rounds, "compile_seconds": progress.compile_seconds,
        "total_train_seconds": progress.seconds, "total_cpu_seconds": time.process_time() - cpu_start,
        "total_env_steps": curve[-1]["env_steps"], "curve": curve, "final_returns": final.tolist(),
        "final_normalized": normalised.tolist(), "random_return": random, "expert_return": expert,
    }


def first_reaching(curve: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """The first point of the curve whose mean return reaches ``target`` (``None`` if none does)."""
    return next((row for row in curve if row["mean_return"] >= target), None)


def time_to_reach(curve: list[dict[str, Any]], target: float, clock: str = "train_seconds") -> float | None:
    """Seconds (of ``clock``: wall-clock ``train_seconds`` or ``train_cpu_seconds``) until the curve's mean return
    first reaches ``target`` (``None`` if it never does)."""
    row = first_reaching(curve, target)
    return None if row is None else row.get(clock)


def imitation_summary(runs: list[dict[str, Any]], random: float, expert: float) -> dict[str, Any]:
    """Mean over seeds of imitation's final returns, times and steps, and its mean curve."""
    finals = np.array([r["final_return"] for r in runs])
    length = min(len(r["curve"]) for r in runs)
    curve = [{"env_steps": runs[0]["curve"][i]["env_steps"],
              "train_seconds": float(np.mean([r["curve"][i]["train_seconds"] for r in runs])),
              "train_cpu_seconds": float(np.mean([r["curve"][i].get("train_cpu_seconds", np.nan) for r in runs])),
              "mean_return": float(np.mean([r["curve"][i]["mean_return"] for r in runs]))} for i in range(length)]
    return {
        "seeds": [r["seed"] for r in runs], "final_returns": finals.tolist(),
        "final_normalized": ((finals - random) / (expert - random)).tolist(),
        "train_seconds": float(np.mean([r["total_train_seconds"] for r in runs])),
        "cpu_seconds": float(np.mean([r.get("total_train_cpu_seconds", np.nan) for r in runs])),
        "load_average_1min": [r.get("load_average_1min") for r in runs],
        "env_steps": float(np.mean([r["total_env_steps"] for r in runs])), "curve": curve,
    }


def mean_se(values: Sequence[float]) -> str:
    """``mean ± standard error``."""
    x = np.asarray(values, float)
    se = x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else 0.0
    return f"{x.mean():.3f} ± {se:.3f}"


def compare(irlax: dict[str, Any], imitation: dict[str, Any] | None) -> dict[str, Any]:
    """The goal's figures for one (task, algorithm): irlax's time to reach imitation's final return, and the ratio."""
    if imitation is None:
        return {"target_return": None, "irlax_seconds_to_target": None, "speedup": None}
    target = float(np.mean(imitation["final_returns"]))
    irlax_time = time_to_reach(irlax["curve"], target)
    imitation_time = time_to_reach(imitation["curve"], target) or imitation["train_seconds"]
    speedup = imitation_time / irlax_time if irlax_time else None
    # CPU seconds, which the load of a shared machine does not inflate: imitation's are measured along its curve;
    # irlax's whole vmapped run has one CPU total, spread over its wall-clock at the run's mean rate
    irlax_cpu = None if irlax_time is None else irlax_time * irlax["total_cpu_seconds"] / irlax["total_train_seconds"]
    imitation_cpu = time_to_reach(imitation["curve"], target, "train_cpu_seconds") or imitation.get("cpu_seconds")
    cpu_speedup = imitation_cpu / irlax_cpu if irlax_cpu and imitation_cpu and np.isfinite(imitation_cpu) else None
    # per seed trained: irlax's run trains all its seeds for that CPU, imitation's figure is one seed's
    per_seed = cpu_speedup * irlax.get("seeds", 1) if cpu_speedup is not None else None
    return {"target_return": target, "irlax_seconds_to_target": irlax_time,
            "imitation_seconds_to_target": imitation_time, "speedup": speedup,
            "irlax_cpu_seconds_to_target": irlax_cpu, "imitation_cpu_seconds_to_target": imitation_cpu,
            "cpu_speedup": cpu_speedup, "cpu_speedup_per_seed": per_seed}


def plot(results: dict[str, Any], path: Path) -> None:
    """Mean true return against wall-clock seconds, both libraries, one panel per (task, algorithm)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = list(results["pairs"].items())
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.4), squeeze=False)
    for ax, (name, pair) in zip(axes[0], pairs, strict=True):
        for library, style in (("irlax", "-o"), ("imitation", "-s")):
            side = pair.get(library)
            if side:
                curve = side["curve"]
                ax.plot([r["train_seconds"] for r in curve], [r["mean_return"] for r in curve], style, ms=3,
                        label=library)
        ax.axhline(pair["irlax"]["expert_return"], color="grey", ls="--", lw=0.8, label="expert")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("wall-clock seconds (log)")
        ax.set_ylabel("true return (deterministic)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def markdown(results: dict[str, Any]) -> str:
    """The results page fragment: table, goal check, commands, machine."""
    lines = [
        "## GAIL and AIRL against the imitation library", "",
        f"Command: `{results['command']}` ({results['date']}). Machine: {machine_line(results['machine'])}; "
        f"1-minute load {one_minute(results['load_average_start'])} at the start.", "",
        "Same 60 demonstrations, same true task, same normalisation (random 0, demonstrations 1), deterministic "
        "evaluation. irlax: all seeds in one vmapped process, wall-clock **including compilation**; imitation: "
        "one process per seed (mean per seed shown), one PyTorch thread, one or two processes at a time. The "
        "imitation runs shared the machine with other work (a 1-minute load of 4 to 16 on 2 cores, the last seeds "
        "at the highest), which inflates their wall-clock; CPU seconds "
        "(training only for imitation; everything, compilation included, for irlax's whole vmapped run) are the "
        "fairer comparison.", "",
        "| task | algorithm | library | seeds | env steps | wall-clock (s) | CPU (s) | final return | normalised |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, pair in results["pairs"].items():
        task, algo = name.split(" ")
        ir = pair["irlax"]
        lines.append(f"| {task} | {algo} | irlax | {ir['seeds']} | {ir['total_env_steps']:.0f} | "
                     f"{ir['total_train_seconds']:.1f} ({ir['compile_seconds']:.1f} compiling) | "
                     f"{ir['total_cpu_seconds']:.1f} | "
                     f"{np.mean(ir['final_returns']):.1f} | "
                     f"{mean_se(ir['final_normalized'])} |")
        im = pair.get("imitation")
        if im:
            lines.append(f"| {task} | {algo} | imitation | {len(im['seeds'])} | {im['env_steps']:.0f} | "
                         f"{im['train_seconds']:.1f} | {im.get('cpu_seconds', float('nan')):.1f} | "
                         f"{np.mean(im['final_returns']):.1f} | "
                         f"{mean_se(im['final_normalized'])} |")
        else:
            lines.append(f"| {task} | {algo} | imitation | 0 | – | – | – | – | not run yet |")
    lines += ["", "Time to imitation's final return: wall-clock, and CPU seconds (irlax's CPU to the target taken "
              "at its whole run's mean CPU rate; imitation's measured along its curve, one seed's process). "
              "irlax's times are for all its seeds together, imitation's for one seed; the last column divides "
              "irlax's CPU by its seeds, the cost of one trained seed on each side (imitation trains one seed per "
              "process).", "",
              "| task | algorithm | imitation's final return | irlax reaches it after (s) | "
              "imitation after (s) | irlax faster by | irlax CPU (s) | imitation CPU (s) | faster by, CPU | "
              "faster by, CPU per seed |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name, pair in results["pairs"].items():
        c = pair["comparison"]
        fmt = lambda x, f: "–" if x is None else format(x, f)
        lines.append(f"| {name.replace(' ', ' | ')} | {fmt(c['target_return'], '.1f')} | "
                     f"{fmt(c['irlax_seconds_to_target'], '.1f')} | "
                     f"{fmt(c.get('imitation_seconds_to_target'), '.1f')} | {fmt(c['speedup'], '.1f')}x | "
                     f"{fmt(c.get('irlax_cpu_seconds_to_target'), '.1f')} | "
                     f"{fmt(c.get('imitation_cpu_seconds_to_target'), '.1f')} | "
                     f"{fmt(c.get('cpu_speedup'), '.1f')}{'x' if c.get('cpu_speedup') else ''} | "
                     f"{fmt(c.get('cpu_speedup_per_seed'), '.1f')}{'x' if c.get('cpu_speedup_per_seed') else ''} |")
    lines += ["", "![return against wall-clock](imitation_compare.png)", ""]
    return "\n".join(lines)


def rewrite_report(out: Path, quick: bool, seeds: int) -> None:
    """The markdown and plot again from ``out``'s irlax results and the imitation runs on disk."""
    results = json.loads(out.read_text())
    jobs = smoke_jobs() if quick else full_jobs(range(2 if quick else seeds))
    runs = [json.loads(j.out_json.read_text()) for j in jobs if j.out_json.exists()]
    for name, pair in results["pairs"].items():
        task, algo = name.split(" ")
        ir, mine = pair["irlax"], [r for r in runs if r["task"] == task and r["algo"] == algo]
        pair["imitation"] = imitation_summary(mine, ir["random_return"], ir["expert_return"]) if mine else None
        pair["comparison"] = compare(ir, pair["imitation"])
    plot(results, out.with_suffix(".png"))
    write_report(out, results, markdown(results))
    print(f"rewrote {out} and {out.with_suffix('.md')}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per library, task and algorithm (default 5)")
    parser.add_argument("--irlax-only", action="store_true", help="don't run imitation; use its runs on disk")
    parser.add_argument("--workers", type=int, default=2, help="imitation processes at a time (default 2)")
    parser.add_argument("--eval-episodes", type=int, default=10, help="evaluation episodes per seed (default 10)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny budgets, 2 seeds; writes *_quick.*")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON output (default {DEFAULT_OUT})")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the markdown and plot from the JSON (imitation runs re-read from disk)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run both libraries (imitation's finished runs reused) and write the report."""
    args = parse_args(argv)
    out = output_path(args.out, args.quick, DEFAULT_OUT)
    if args.report_only:
        rewrite_report(out, args.quick, args.seeds)
        return
    results = report_header("imitation_compare.py", argv)
    seeds = 2 if args.quick else args.seeds
    for task in TASKS:
        ensure_demos(task)
    jobs = smoke_jobs() if args.quick else full_jobs(range(seeds))
    if not args.irlax_only:
        run_jobs(jobs, workers=args.workers)
    runs = [json.loads(j.out_json.read_text()) for j in jobs if j.out_json.exists()]
    results["pairs"] = {}
    for task in TASKS:
        for algo in ALGOS:
            print(f"irlax {algo} on {task} ({seeds} seeds)", flush=True)
            ir = irlax_run(task, algo, seeds, 4 if args.quick else None, args.eval_episodes)
            mine = [r for r in runs if r["task"] == task and r["algo"] == algo]
            im = imitation_summary(mine, ir["random_return"], ir["expert_return"]) if mine else None
            results["pairs"][f"{task} {algo}"] = {"irlax": ir, "imitation": im, "comparison": compare(ir, im)}
            print(f"  irlax {mean_se(ir['final_normalized'])} normalised in {ir['total_train_seconds']:.1f} s"
                  + (f"; imitation {mean_se(im['final_normalized'])} in {im['train_seconds']:.0f} s" if im else ""),
                  flush=True)
    results["load_average_end"] = load_average()
    plot(results, out.with_suffix(".png"))
    write_report(out, results, markdown(results))
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
