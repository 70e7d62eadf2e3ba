"""GAIL on Hopper side by side: irlax's against the ``imitation`` library's, for the same environment steps, in one run.

Issue 14's speed goal: on Hopper, wall-clock per environment step and the time each library needs to reach 0.8
normalised, irlax at least 10x faster. Both learn from the same demonstrations (``benchmarks/mujoco_irl.py``'s 10
episodes of its Hopper-v5 expert) for the same number of environment steps, one seed each, one after the other
on the same machine (nothing else should run meanwhile), each evaluated along the way with 10 deterministic
episodes of the true task:

- irlax: ``irlax train gail``'s preset with PPO inside (``benchmarks/imitation_compare.irlax_run``), its step
  size annealed linearly to zero over the run as in ``benchmarks/mujoco_irl.py``'s cells
  (``--learner-set lr_anneal_steps=...``), in Gymnasium's Hopper-v5; seconds are the driver's wall-clock
  (compilation included, evaluations not).
- imitation: ``benchmarks/imitation_side.py`` in its own virtual environment (``imitation_venv.py``), with
  imitation's documented setting for GAIL on Hopper (``benchmarking/example_gail_seals_hopper_best_hp_eval.json``:
  SB3 PPO over 8 environments, 4096 steps a round, 20 epochs of minibatches of 512, RunningNorm-normalised policy
  features and reward output), one PyTorch thread, trained and evaluated in Gymnasium 0.29's Hopper-v4 (v5's
  physics and observations; the documented seals/Hopper adds the x position to the observation, which irlax's
  demonstrations lack); seconds exclude evaluations. imitation documents 10M steps for it;
  both run :data:`STEPS` here.

Normalised return: ``(score - random) / (expert - random)`` with the demonstrations' mean as expert and a uniformly
random policy's mean in Hopper-v5 as random.

Run: ``PYTHONPATH=src python benchmarks/hopper_gail_side.py`` (``--steps`` to change the budget; ``--imitation-json``
reuses a finished imitation run). Writes ``benchmarks/results/hopper_gail_side.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from bench_machine import ROOT, machine_line, one_minute, report_header, write_report
from imitation_compare import first_reaching, irlax_run
from imitation_venv import run_job
from mujoco_irl import PPO_ITERATION_STEPS, PPO_ROUND_STEPS, ensure_demos

TASK, STEPS, EVAL_EVERY, EVAL_EPISODES, TARGET = "Hopper-v5", 1_000_000, 50_000, 10, 0.8
OUT = ROOT / "benchmarks" / "results" / "hopper_gail_side.json"


def side(curve: list[dict[str, Any]], seconds: float, steps: float, random: float, expert: float) -> dict[str, Any]:
    """One library's figures."""
    reached = first_reaching(curve, random + TARGET * (expert - random))
    return {
        "env_steps": steps, "train_seconds": seconds, "seconds_per_env_step": seconds / steps,
        "final_normalised": (curve[-1]["mean_return"] - random) / (expert - random),
        "best_normalised": max((r["mean_return"] - random) / (expert - random) for r in curve),
        "seconds_to_target": None if reached is None else reached["train_seconds"],
        "steps_to_target": None if reached is None else reached["env_steps"],
        "curve": [{"env_steps": r["env_steps"], "train_seconds": r["train_seconds"],
                   "normalised": (r["mean_return"] - random) / (expert - random)} for r in curve],
    }


def markdown(results: dict[str, Any]) -> str:
    ir, im = results["irlax"], results["imitation"]
    fmt_t = lambda s: "not reached" if s is None else f"{s:.0f} s"
    ratio = results["per_step_speedup"]
    lines = [
        "## GAIL on Hopper: irlax and the imitation library side by side", "",
        f"Command: `{results['command']}` (page written {results['date']}, 1-minute load "
        f"{one_minute(results['load_average_start'])}). Machine: {machine_line(results['machine'])}.", "",
        f"One seed each, {results['steps']:,} environment steps, the same {results['demo_episodes']} demonstrations "
        f"(expert mean return {results['expert_return']:.0f}, random {results['random_return']:.0f}); irlax's GAIL "
        "preset with PPO in Gymnasium's Hopper-v5, its step size annealed linearly to zero over the run; "
        "imitation 1.0.1's documented GAIL setting for Hopper "
        "(SB3 PPO, one PyTorch thread; in Gymnasium 0.29's Hopper-v4, as the demonstrations' 11-number observations "
        "don't fit the documented seals/Hopper). Evaluations every "
        f"{EVAL_EVERY:,} steps, {EVAL_EPISODES} deterministic episodes, excluded from the seconds.", "",
        "| library | env steps | training wall-clock | ms per env step | final normalised | best normalised | "
        f"time to {TARGET} normalised |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in (("irlax", ir), ("imitation", im)):
        lines.append(f"| {name} | {r['env_steps']:,.0f} | {r['train_seconds']:.0f} s | "
                     f"{1000 * r['seconds_per_env_step']:.3f} | {r['final_normalised']:.3f} | "
                     f"{r['best_normalised']:.3f} | {fmt_t(r['seconds_to_target'])} |")
    to_target = results["to_target_speedup"]
    if to_target:
        reach = f"irlax {to_target:.1f}x faster."
    else:
        reach = "; ".join(f"{name} " + (f"after {r['seconds_to_target']:.0f} s" if r["seconds_to_target"] is not None
                                        else f"not within the budget (best {r['best_normalised']:.3f})")
                          for name, r in (("irlax", ir), ("imitation", im))) + (
            ": goal missed." if ir["seconds_to_target"] is None else ".")
    lines += ["", f"Wall-clock per environment step: irlax {ratio:.1f}x faster (goal ≥ 10x: "
                  f"{'met' if ratio >= 10 else 'missed'}). Time to {TARGET} normalised: {reach}",
              "", "Both libraries step MuJoCo on the host, a batch of environments at a time from Python, "
              "so the physics and the per-step host work bound both; the rest of each round (PPO's and the "
              "discriminator's updates) is where irlax's compiled learner saves time."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--imitation-json", type=Path, help="reuse this finished imitation_side.py run")
    args = parser.parse_args(argv)
    results = report_header("hopper_gail_side.py", argv)
    demos = ensure_demos(TASK)
    rounds = math.ceil(args.steps / PPO_ROUND_STEPS["gail"])
    ir = irlax_run(TASK, "gail", 1, rounds, EVAL_EPISODES, demos_path=demos, learner="ppo",
                   evaluations=max(1, args.steps // EVAL_EVERY),
                   learner_settings={"lr_anneal_steps": rounds * PPO_ITERATION_STEPS})
    random, expert = ir["random_return"], ir["expert_return"]
    if args.imitation_json:
        im = json.loads(args.imitation_json.read_text())
    else:
        out = ROOT / "benchmarks" / "results" / "imitation_runs" / f"{TASK}-gail-seed{args.seed}.json"
        im = run_job(TASK, "gail", args.seed, demos, out, args.steps, EVAL_EVERY, EVAL_EPISODES)
    ir_curve = [{"env_steps": r["env_steps"], "train_seconds": r["train_seconds"], "mean_return": r["mean_return"]}
                for r in ir["curve"]]
    results.update(
        steps=args.steps, demo_episodes=10, expert_return=expert, random_return=random,
        irlax=side(ir_curve, ir["total_train_seconds"], ir["total_env_steps"], random, expert),
        imitation=side(im["curve"], im["total_train_seconds"], im["total_env_steps"], random, expert),
        imitation_settings=im["settings"], irlax_config=ir["config"],
    )
    results["per_step_speedup"] = (results["imitation"]["seconds_per_env_step"]
                                   / results["irlax"]["seconds_per_env_step"])
    a, b = results["irlax"]["seconds_to_target"], results["imitation"]["seconds_to_target"]
    results["to_target_speedup"] = b / a if a and b else None
    write_report(OUT, results, markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
