"""GAIL on Hopper side by side: irlax's against the ``imitation`` library's, for the same environment steps, in one run.

Issue 14's speed goal: on Hopper, wall-clock per environment step and the time each library needs to reach 0.8
normalised, irlax at least 10x faster. Both learn from the same demonstrations (``benchmarks/mujoco_irl.py``'s 10
episodes of its Hopper-v5 expert) for the same number of environment steps, one seed each, one after the other
on the same machine (nothing else should run meanwhile), each evaluated along the way with 10 deterministic
episodes of the true task:

- irlax: ``irlax train gail``'s preset with PPO inside (``benchmarks/imitation_compare.irlax_run``), its step
  size annealed linearly to zero over the run as in ``benchmarks/mujoco_irl.py``'s cells
  (``--learner-set lr_anneal_steps=...``), and its discriminator trained on the last two rounds' samples as there
  (``mujoco_irl.adversarial_settings``), in Gymnasium's Hopper-v5; seconds are the driver's wall-clock
  (compilation included, evaluations not).
- imitation: ``benchmarks/imitation_side.py`` in its own virtual environment (``imitation_venv.py``), with
  imitation's documented setting for GAIL on Hopper (``benchmarking/example_gail_seals_hopper_best_hp_eval.json``:
  SB3 PPO over 8 environments, 4096 steps a round, 20 epochs of minibatches of 512, RunningNorm-normalised policy
  features and reward output), one PyTorch thread, trained and evaluated in Gymnasium 0.29's Hopper-v4 (v5's
  physics and observations; the documented seals/Hopper adds the x position to the observation, which irlax's
  demonstrations lack); seconds exclude evaluations. imitation documents 10M steps for it;
  both run :data:`STEPS` here.

The floor: Gymnasium's Hopper-v5 stepped alone, :data:`FLOOR_ENVS` environments one after another with uniformly
random actions (drawn beforehand) and nothing learned, timed in the same run: no library that steps the physics
this way from Python can take less per environment step, so imitation's time per step over the floor's is the
most any such library can gain on it per step.

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

import numpy as np
from bench_machine import ROOT, machine_line, one_minute, report_header, wall, write_report
from imitation_compare import first_reaching, irlax_run
from imitation_venv import run_job
from mujoco_irl import PPO_ITERATION_STEPS, PPO_ROUND_STEPS, adversarial_settings, ensure_demos

TASK, STEPS, EVAL_EVERY, EVAL_EPISODES, TARGET = "Hopper-v5", 1_000_000, 50_000, 10, 0.8
OUT = ROOT / "benchmarks" / "results" / "hopper_gail_side.json"
FLOOR_ENVS, FLOOR_STEPS = 8, 50_000


def physics_floor(task: str = TASK, envs: int = FLOOR_ENVS, steps: int = FLOOR_STEPS, seed: int = 0) -> dict[str, Any]:
    """Seconds per environment step of ``task`` in Gymnasium alone: ``envs`` environments stepped in turn with
    uniformly random actions drawn beforehand, each reset when its episode ends; no policy, no learning."""
    import gymnasium

    made = [gymnasium.make(task) for _ in range(envs)]
    for i, env in enumerate(made):
        env.reset(seed=seed + i)
    space = made[0].action_space
    rounds = -(-steps // envs)
    actions = np.random.default_rng(seed).uniform(space.low, space.high, (rounds, envs, *space.shape))
    actions = actions.astype(space.dtype)
    def step_all() -> None:
        for row in actions:
            for env, action in zip(made, row, strict=True):
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()

    seconds = wall(step_all)
    for env in made:
        env.close()
    return {"env_steps": rounds * envs, "seconds": seconds, "seconds_per_env_step": seconds / (rounds * envs),
            "envs": envs}


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
    """The results page's section for ``results``."""
    ir, im = results["irlax"], results["imitation"]
    fmt_t = lambda s: "not reached" if s is None else f"{s:.0f} s"
    ratio = results["per_step_speedup"]
    lines = [
        "## GAIL on Hopper: irlax and the imitation library side by side", "",
        f"Command: `{results['command']}` (page written {results['date']}, 1-minute load "
        f"{one_minute(results['load_average_start'])}). Machine: {machine_line(results['machine'])}.", "",
        f"One seed each, {results['steps']:,} environment steps, the same {results['demo_episodes']} demonstrations "
        f"(expert mean return {results['expert_return']:.0f}, random {results['random_return']:.0f}); irlax's GAIL "
        "preset with PPO in Gymnasium's Hopper-v5, its step size annealed linearly to zero over the run and its "
        "discriminator trained on the last two rounds' samples, as in the MuJoCo table's cells; "
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
    floor = results.get("physics_floor")
    if floor:
        per_step = floor["seconds_per_env_step"]
        lines += ["", f"The floor, measured in the same run: Gymnasium's {TASK} alone ({floor['envs']} environments "
                      f"stepped in turn with random actions, nothing learned) takes {1000 * per_step:.3f} ms per "
                      f"environment step, {100 * per_step / ir['seconds_per_env_step']:.0f}% of irlax's and "
                      f"{100 * per_step / im['seconds_per_env_step']:.0f}% of imitation's; a library stepping it "
                      f"this way could be at most {im['seconds_per_env_step'] / per_step:.1f}x faster than "
                      "imitation per step on this machine."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run both sides (or reuse imitation's with ``--imitation-json``) and write the results and the page's section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--imitation-json", type=Path, help="reuse this finished imitation_side.py run")
    args = parser.parse_args(argv)
    results = report_header("hopper_gail_side.py", argv)
    results["physics_floor"] = physics_floor()
    demos = ensure_demos(TASK)
    rounds = math.ceil(args.steps / PPO_ROUND_STEPS["gail"])
    ir = irlax_run(TASK, "gail", 1, rounds, EVAL_EPISODES, demos_path=demos, learner="ppo",
                   evaluations=max(1, args.steps // EVAL_EVERY),
                   learner_settings={"lr_anneal_steps": rounds * PPO_ITERATION_STEPS},
                   settings=adversarial_settings(TASK, "gail"))
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
