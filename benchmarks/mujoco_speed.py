"""SAC on MuJoCo HalfCheetah-v5: environment steps per second of training in irlax, stable-baselines3 and sbx.

Identical settings in all three (the MuJoCo SAC preset of irlax's task table): 256 x 256 actor and
twin critics, batches of 256, one gradient step per environment step, learning rate 3e-4, gamma
0.99, tau 0.005, automatic temperature with target -|A|, a buffer of 1M, one environment, float32.
Each library first runs ``learning_starts + 1000`` steps untimed (random steps and compilation),
then ``--steps`` steps timed, all past ``learning_starts``: every timed step is an environment
step plus a gradient step. The three run one after another in this one process's run (irlax in
this process; SB3 and sbx in their own virtual environments, made by
``benchmarks/mujoco_speed_venvs.py``), so their ratios share the machine's conditions.

Goal (the Gymnasium/MuJoCo issue): irlax at least 5x SB3 and faster than sbx.

Run: ``PYTHONPATH=src python benchmarks/mujoco_speed.py`` (``--steps``, ``--learning-starts``;
``--quick`` for a smoke run). Writes ``benchmarks/results/mujoco_speed.json``
(``irlax_sps``, ``sb3_sps``, ``sbx_sps``, ``ratio_vs_sb3``, ``ratio_vs_sbx``, ``machine`` and the
details) and a markdown fragment beside it; ``--quick`` writes ``*_quick.*``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import jax
from bench_machine import load_average, machine_line, output_path, report_header, write_report
from mujoco_speed_venvs import run_side

from irlax import tasks
from irlax.learners import host
from irlax.learners.sac import make_sac
from irlax.learners.sac.learner import gradient_step

ENV = "HalfCheetah-v5"
DEFAULT_OUT = Path("benchmarks/results/mujoco_speed.json")


def irlax_side(steps: int, learning_starts: int, warmup_steps: int = 1000, seed: int = 0) -> dict[str, Any]:
    """irlax's SAC (the task table's MuJoCo preset) on HalfCheetah-v5 through the host loop: timed steps per second."""
    env = tasks.make_env(ENV)
    config = dataclasses.replace(tasks.learner_config(ENV, "sac"), learning_starts=learning_starts)
    learner = make_sac(config, env.spec)
    state = host.init_state(learner, env, jax.random.split(jax.random.PRNGKey(seed), 1))
    start = time.perf_counter()
    state, _ = host.update(learner, env, state, learning_starts + warmup_steps)
    jax.block_until_ready(state)
    warmup_seconds = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    state, metrics = host.update(learner, env, state, steps)
    jax.block_until_ready(state)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    assert int(metrics.env_steps[0, -1]) == learning_starts + warmup_steps + steps
    return {"library": "irlax", "steps": steps, "seconds": seconds, "sps": steps / seconds,
            "cpu_seconds": cpu_seconds, "learning_starts": learning_starts,
            "warmup_steps": learning_starts + warmup_steps, "warmup_seconds": warmup_seconds,
            "jax_version": jax.__version__, "config": dataclasses.asdict(config),
            **gradient_step_alone(config, env.spec, jax.tree.map(lambda x: x[0], state.agent), steps // 4)}


def gradient_step_alone(config: Any, spec: Any, agent: Any, steps: int) -> dict[str, Any]:
    """SAC's gradient step on its own (on the trained agent's buffer, no environment, no host loop): milliseconds
    per step over ``steps`` steps scanned in one compiled call, and the floating-point operations XLA counts in
    one step."""
    step = lambda learner, key: gradient_step(config, spec, None, None, agent.buffer, agent.obs_stats, learner, key)
    learner, keys = (agent.params, agent.opt_state), jax.random.split(jax.random.PRNGKey(0), steps)
    flops = jax.jit(step).lower(learner, keys[0]).compile().cost_analysis().get("flops")
    scanned = jax.jit(lambda learner, keys: jax.lax.scan(step, learner, keys)[0])
    jax.block_until_ready(scanned(learner, keys))  # compiling
    start = time.perf_counter()
    jax.block_until_ready(scanned(learner, keys))
    return {"gradient_step_ms": 1e3 * (time.perf_counter() - start) / steps,
            "gradient_step_gflop": None if flops is None else float(flops) / 1e9}


def anatomy(side: dict[str, Any]) -> str:
    """The page's sentence on where irlax's time per step goes (the gradient step timed alone)."""
    step_ms, per_step = side["gradient_step_ms"], 1e3 / side["sps"]
    flops = side.get("gradient_step_gflop")
    rate = "" if not flops else f" (XLA counts {flops:.2f} GFLOP in it: {flops / step_ms * 1e3:.0f} GFLOP/s)"
    return (f"Where irlax's {per_step:.2f} ms per step go: SAC's gradient step alone, without the environment "
            f"and the host loop, takes {step_ms:.2f} ms{rate}, {100 * step_ms / per_step:.0f}% of a whole step; the "
            "rest is MuJoCo, the policy's action and the host loop.\n\n")


def main() -> None:
    """Run the three sides one after another and write the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="timed environment steps of each library")
    parser.add_argument("--learning-starts", type=int, default=1000, help="random steps before learning")
    parser.add_argument("--quick", action="store_true", help="a smoke run (300 steps)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    steps = 300 if args.quick else args.steps
    header = report_header("mujoco_speed.py", sys.argv[1:])
    sides = {}
    for name in ("irlax", "sb3", "sbx"):
        print(f"{name}: {steps} timed steps after {args.learning_starts + 1000} untimed", flush=True)
        sides[name] = (irlax_side(steps, args.learning_starts) if name == "irlax"
                       else run_side(name, steps, args.learning_starts))
        print(f"{name}: {sides[name]['sps']:.1f} steps/s", flush=True)
    results = {
        "irlax_sps": sides["irlax"]["sps"], "sb3_sps": sides["sb3"]["sps"], "sbx_sps": sides["sbx"]["sps"],
        "ratio_vs_sb3": sides["irlax"]["sps"] / sides["sb3"]["sps"],
        "ratio_vs_sbx": sides["irlax"]["sps"] / sides["sbx"]["sps"],
        "machine": machine_line(header["machine"]), "machine_info": header["machine"],
        **{k: v for k, v in header.items() if k != "machine"}, "env": ENV, "sides": sides,
        "load_average_end": load_average(),
    }
    goal = lambda ok: "met" if ok else "missed"
    markdown = (
        "## SAC speed on MuJoCo HalfCheetah-v5: irlax, stable-baselines3, sbx\n\n"
        "The same SAC in three libraries (256 x 256 actor and twin critics, batches of 256, one gradient step "
        "per environment step, a buffer of 1M, learning rate 3e-4, automatic temperature), each timed for "
        f"{steps} environment steps after {args.learning_starts + 1000} untimed ones (random steps and "
        "compilation), one after another in one run. irlax steps Gymnasium's HalfCheetah-v5 on the host "
        "around its jitted SAC (`irlax.learners.host`); SB3 2.9.2 runs on PyTorch 2.13 (CPU, one thread), "
        "sbx 0.28 on JAX 0.10.2, each in its own virtual environment (`benchmarks/mujoco_speed_venvs.py`). "
        "Goal: irlax at least 5x SB3 and faster than sbx.\n\n"
        f"| library | env steps / s | seconds for {steps} steps |\n|---|---|---|\n"
        + "".join(f"| {name} | {side['sps']:.1f} | {side['seconds']:.1f} |\n" for name, side in sides.items())
        + f"\nirlax / SB3: {results['ratio_vs_sb3']:.2f}x (goal 5x: {goal(results['ratio_vs_sb3'] >= 5)}); "
        f"irlax / sbx: {results['ratio_vs_sbx']:.2f}x (goal > 1: {goal(results['ratio_vs_sbx'] > 1)}).\n\n"
        + anatomy(sides["irlax"]) +
        f"Machine: {results['machine']}; load average at the start {header['load_average_start']}, "
        f"at the end {results['load_average_end']}. Command: `{header['command']}`.\n"
    )
    out = output_path(args.out, args.quick, DEFAULT_OUT)
    write_report(out, results, markdown)
    print(markdown)


if __name__ == "__main__":
    main()
