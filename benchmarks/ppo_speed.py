"""Speed and learning of irlax's PPO on CartPole-v1, against stable-baselines3 PPO (issue 4, section 4).

Measures, in one run on one machine (see ``--help``):

a. Environment steps per second of training: irlax PPO (the task table's config,
   ``learner_config("CartPole-v1", "ppo")``: 16 environments x 128 steps, 4 epochs, minibatches
   of 64, separate 64 x 64 tanh actor and critic; whole iterations in one jitted ``lax.scan``,
   timed after a compiling call) and SB3 PPO with the same setting (``benchmarks/sb3_ppo_cartpole.py``,
   run in its own virtual environment ``benchmarks/.venv-sb3``, created here with ``torch==2.13.0``
   (a CPU build), ``stable-baselines3`` and ``gymnasium`` if missing). Goal: irlax at least 10x SB3.
b. Eight seeds of a 500k-step training run (``base.update`` after each seed's ``base.init_state``)
   in one ``jax.vmap`` against one seed. Goal: at most 3x the wall-clock.
c. Learning: the same eight runs reach a mean return of 475 within 500k steps. Reported per seed:
   the first iteration whose ended episodes average >= 475, the first at which the last five
   iterations' averages all are >= 475, and the mean return of 16 evaluation episodes of the
   final stochastic policy; the wall-clock to reach 475 is the single-seed run's time per step
   times the steps to reach it.

Run: ``PYTHONPATH=src python benchmarks/ppo_speed.py`` (``--quick`` for a smoke run: fewer steps,
writes ``*_quick`` files). Writes ``benchmarks/results/ppo_speed.json`` and a markdown fragment
next to it (``.md``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, output_path, report_header, wall, write_report

from irlax.envs.control import JaxEnv
from irlax.learners import base, ppo
from irlax.learners.base import Learner, LearnerState
from irlax.learners.evaluation import evaluate_policies
from irlax.tasks import learner_config, make_env

ENV_NAME = "CartPole-v1"
SB3_VENV = ROOT / "benchmarks" / ".venv-sb3"
SB3_SCRIPT = ROOT / "benchmarks" / "sb3_ppo_cartpole.py"
SB3_PACKAGES = ("torch==2.13.0", "stable-baselines3", "gymnasium")
SPEED_GOAL, VMAP_GOAL, RETURN_GOAL, STEPS_GOAL = 10.0, 3.0, 475.0, 500_000
SEEDS, EVAL_EPISODES, SMOOTH = 8, 16, 5
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "ppo_speed.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, *_quick output files")
    parser.add_argument("--out", type=Path, default=None, help="JSON path (the .md goes next to it)")
    return parser.parse_args(argv)



def ensure_sb3_venv() -> Path:
    """The SB3 virtual environment's Python, creating the environment and installing SB3 if needed."""
    python = SB3_VENV / "bin" / "python"
    probe = [str(python), "-c", "import stable_baselines3, torch, gymnasium"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {SB3_VENV} with {' '.join(SB3_PACKAGES)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(SB3_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *SB3_PACKAGES], check=True)
    return python


def measure_sb3(steps: int, repeats: int) -> dict[str, Any]:
    """SB3's steps per second, from ``sb3_ppo_cartpole.py`` run in its own environment."""
    python = ensure_sb3_venv()
    config = learner_config(ENV_NAME, "ppo")
    command = [
        str(python),
        str(SB3_SCRIPT),
        f"--steps={steps}",
        f"--repeats={repeats}",
        f"--num-envs={config.num_envs}",
        f"--num-steps={config.num_steps}",
        f"--num-epochs={config.num_epochs}",
        f"--minibatch-size={config.minibatch_size}",
    ]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def make_learner(env: JaxEnv) -> Learner:
    """PPO with the task table's config for ``ENV_NAME``."""
    return ppo.make_ppo(learner_config(ENV_NAME, "ppo"), env.spec)


def measure_irlax_speed(env: JaxEnv, iterations: int, repeats: int) -> dict[str, Any]:
    """irlax's training steps per second: ``update_jit`` for ``iterations`` iterations, after a compiling call."""
    learner = make_learner(env)
    state = base.init_state_jit(learner, env, jax.random.PRNGKey(0))
    compile_s = wall(lambda: base.update_jit(learner, env, state, iterations))
    seconds = [wall(lambda: base.update_jit(learner, env, state, iterations)) for _ in range(repeats)]
    steps = iterations * learner.steps_per_iteration
    return {
        "steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / statistics.median(seconds),
        "first_call_s": compile_s,
    }


def first_reaching(steps: np.ndarray, returns: np.ndarray, smooth: int) -> int | None:
    """Env steps at the first iteration where the last ``smooth`` iterations' mean returns all are >= the goal."""
    ok = np.nan_to_num(returns, nan=-np.inf) >= RETURN_GOAL
    for i in range(smooth - 1, len(ok)):
        if ok[i - smooth + 1 : i + 1].all():
            return int(steps[i])
    return None


def evaluate(learner: Learner, env: JaxEnv, states: LearnerState, key: jax.Array) -> np.ndarray:
    """``[seeds]`` mean true return of ``EVAL_EPISODES`` episodes of each seed's final stochastic policy."""
    policies = jax.vmap(learner.policy_params)(states.agent)
    return np.asarray(evaluate_policies(learner, env, policies, key, EVAL_EPISODES).mean(axis=1))


def measure_learning(env: JaxEnv, total_steps: int) -> dict[str, Any]:
    """One seed and eight vmapped seeds of ``update`` for ``total_steps``: wall-clock, steps to 475, evaluation."""
    learner = make_learner(env)
    keys = jax.random.split(jax.random.PRNGKey(2026), SEEDS)
    # each seed initialised on its own, then stacked: only the updates are timed
    starts = [base.init_state_jit(learner, env, key) for key in keys]
    stacked = jax.tree.map(lambda *xs: jax.numpy.stack(xs), *starts)
    iterations = learner.iterations_for(total_steps)
    one = jax.jit(lambda state: base.update(learner, env, state, iterations))
    many = jax.jit(jax.vmap(lambda state: base.update(learner, env, state, iterations)))
    one_first = wall(lambda: one(starts[0]))  # compiles
    one_s = wall(lambda: one(starts[0]))
    print(f"  one seed {one_s:.1f} s; eight seeds ...", flush=True)
    many_first = wall(lambda: many(stacked))  # compiles
    start = time.perf_counter()
    states, metrics = jax.block_until_ready(many(stacked))
    many_s = time.perf_counter() - start
    print(f"  eight seeds {many_s:.1f} s; evaluation ...", flush=True)
    one_compile, many_compile = one_first - one_s, many_first - many_s
    steps, returns = np.asarray(metrics.env_steps[0]), np.asarray(metrics.mean_return)
    first = [first_reaching(steps, r, 1) for r in returns]
    sustained = [first_reaching(steps, r, SMOOTH) for r in returns]
    total = int(steps[-1])
    reached = [s for s in first if s is not None]
    return {
        "total_steps": total,
        "one_seed_s": one_s,
        "eight_seeds_s": many_s,
        "vmap_ratio": many_s / one_s,
        "one_seed_compile_s": one_compile,
        "eight_seeds_compile_s": many_compile,
        "first_475_steps": first,
        "sustained_475_steps": sustained,
        "mean_first_475_steps": float(np.mean(reached)) if len(reached) == SEEDS else None,
        "mean_sustained_475_steps": float(np.mean(sustained)) if None not in sustained else None,
        "mean_first_475_s": float(np.mean(reached)) / total * one_s if len(reached) == SEEDS else None,
        "final_iteration_returns": np.nan_to_num(returns[:, -1], nan=-1.0).tolist(),
        "eval_returns": evaluate(learner, env, states, jax.random.PRNGKey(7)).tolist(),
    }


def fmt_steps(steps: float | None) -> str:
    """``48k`` or ``not reached``."""
    return "not reached" if steps is None else f"{steps / 1000:.0f}k"


def markdown(results: dict[str, Any]) -> str:
    """A markdown fragment for the results page."""
    speed, sb3, learn = results["irlax"], results["sb3"], results["learning"]
    config, machine = results["config"], results["machine"]
    ratio, vmap_ratio = results["speedup"], learn["vmap_ratio"]
    meets = lambda ok: "meets" if ok else "misses"
    mean_eval = float(np.mean(learn["eval_returns"]))
    all_first = None not in learn["first_475_steps"]
    lines = [
        "## PPO on CartPole-v1: speed against stable-baselines3, seeds in one vmap, learning",
        "",
        f'Training throughput of irlax PPO (`learner_config("CartPole-v1", "ppo")`) and of stable-baselines3 PPO with '
        f"the same setting: {config['num_envs']} environments x {config['num_steps']} steps per iteration, "
        f"{config['num_epochs']} epochs, minibatches of {config['minibatch_size']}, separate "
        f"{' x '.join(map(str, config['hidden']))} {config['activation']} actor and critic, on the CPU. "
        "irlax runs whole iterations (rollout, GAE, minibatch epochs) in one jitted `lax.scan`, with "
        "observation normalisation on; SB3 runs in its own virtual environment (PyTorch "
        f"{sb3['torch']} CPU, {sb3['torch_threads']} thread, SB3 {sb3['stable_baselines3']}, "
        f"Gymnasium {sb3['gymnasium']}). Goals (issue 4): at least {SPEED_GOAL:.0f}x SB3's steps per "
        f"second; eight vmapped seeds at most {VMAP_GOAL:.0f}x one seed's wall-clock; a mean return of "
        f"{RETURN_GOAL:.0f} within {STEPS_GOAL // 1000}k steps.",
        "",
        "| measurement | value | notes |",
        "|---|---:|---|",
        f"| irlax PPO training | {speed['steps_per_s']:,.0f} steps/s | median of {len(speed['seconds'])} runs "
        f"of {speed['steps']:,} steps; first call (compiles) {speed['first_call_s']:.1f} s |",
        f"| SB3 PPO training | {sb3['steps_per_s']:,.0f} steps/s | median of {len(sb3['seconds'])} runs of "
        f"{sb3['steps']:,} steps after a warm-up iteration |",
        f"| &nbsp;&nbsp;irlax / SB3 | {ratio:.1f}x | {meets(ratio >= SPEED_GOAL)} the {SPEED_GOAL:.0f}x goal |",
        f"| one seed, {learn['total_steps']:,} steps | {learn['one_seed_s']:.1f} s | "
        f"compile ~ {learn['one_seed_compile_s']:.1f} s (first call minus this; not included) |",
        f"| eight seeds in one vmap | {learn['eight_seeds_s']:.1f} s | "
        f"compile ~ {learn['eight_seeds_compile_s']:.1f} s (not included) |",
        f"| &nbsp;&nbsp;8 seeds / 1 seed | {vmap_ratio:.2f}x | {meets(vmap_ratio <= VMAP_GOAL)} the "
        f"{VMAP_GOAL:.0f}x goal ({vmap_ratio / SEEDS:.2f}x per seed) |",
        f"| steps to a mean return >= {RETURN_GOAL:.0f}, mean of {SEEDS} seeds | "
        f"{fmt_steps(learn['mean_first_475_steps'])} | first iteration whose ended episodes average >= "
        f"{RETURN_GOAL:.0f}; per seed: {', '.join(fmt_steps(s) for s in learn['first_475_steps'])}; "
        f"{meets(all_first and max(learn['first_475_steps']) <= STEPS_GOAL)} the goal on every seed |",
        "| &nbsp;&nbsp;wall-clock to reach it | "
        + ("n/a" if learn["mean_first_475_s"] is None else f"{learn['mean_first_475_s']:.1f} s")
        + " | one seed's training time per step x the steps, mean over seeds (compile not included) |",
        f"| &nbsp;&nbsp;sustained (5 iterations in a row) | {fmt_steps(learn['mean_sustained_475_steps'])} | "
        f"per seed: {', '.join(fmt_steps(s) for s in learn['sustained_475_steps'])} |",
        f"| evaluation at {learn['total_steps'] // 1000}k steps | {mean_eval:.1f} | mean true return of "
        f"{EVAL_EPISODES} episodes of each seed's stochastic policy, mean over seeds; lowest seed "
        f"{min(learn['eval_returns']):.1f} |",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {machine_line(machine)}. Measured {results['date']}; load average (1 min) "
        f"{one_minute(results['load_average_start'])} at start, {one_minute(results['load_average_end'])} at end "
        "(the machine is shared: compare the ratios, measured in the same run, rather than absolute figures).",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print a summary, write the JSON and the markdown fragment."""
    args = parse_args(argv)
    out = output_path(args.out, args.quick, DEFAULT_OUT)
    env = make_env(ENV_NAME)
    config = learner_config(ENV_NAME, "ppo")
    results: dict[str, Any] = {
        **report_header("ppo_speed.py", None if argv is None else list(argv)),
        "config": {**config.__dict__, "hidden": list(config.hidden)},
    }
    iterations, repeats = (8, 2) if args.quick else (32, 5)
    print("irlax speed ...", flush=True)
    results["irlax"] = measure_irlax_speed(env, iterations, repeats)
    print(f"  {results['irlax']['steps_per_s']:,.0f} steps/s; SB3 speed ...", flush=True)
    results["sb3"] = measure_sb3(8_192 if args.quick else 32_768, 1 if args.quick else 3)
    results["speedup"] = results["irlax"]["steps_per_s"] / results["sb3"]["steps_per_s"]
    print(f"  {results['sb3']['steps_per_s']:,.0f} steps/s ({results['speedup']:.1f}x); learning ...", flush=True)
    results["learning"] = measure_learning(env, 65_536 if args.quick else STEPS_GOAL)
    results["load_average_end"] = load_average()
    text = markdown(results)
    print(text)
    write_report(out, results, text)
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
