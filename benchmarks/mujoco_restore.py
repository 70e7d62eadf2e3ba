"""Restoring a MuJoCo state before each host step: with ``mj_forward`` or without.

A Gymnasium run keeps each environment's state as data and restores it into one scratch environment before each step
(:mod:`irlax.envs.gym`). For the MuJoCo tasks that read nothing MuJoCo derives from the state before they simulate
(``irlax.envs.gym.QPOS_ONLY_TASKS``: Hopper, Walker2d, HalfCheetah, Swimmer, ...) the restore writes the state alone,
since each physics substep recomputes what it derives before using it (the steps are bit for bit the same:
``tests/test_gym.py``); until 2026-12-07 every restore also ran ``mj_forward``. This measures what that saves, in one
process, on Hopper-v5:

- stepping alone: ``--envs`` environments through :meth:`irlax.envs.gym.GymEnv.step` with random actions;
- PPO, the MuJoCo table's inner learner on Hopper: whole iterations of ``--seeds`` seeds through
  :func:`irlax.learners.host.update` (``num_envs x rollout_steps`` host steps a seed, then PPO's epochs),

each with today's restore and with ``mj_forward`` after it, in turn, ``--repeats`` times, the medians kept
(:func:`host_seeds.medians_in_turn`).

Run: ``PYTHONPATH=src python benchmarks/mujoco_restore.py`` (``--envs``, ``--steps``, ``--seeds``,
``--ppo-iterations``, ``--repeats``). Writes ``benchmarks/results/mujoco_restore.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, report_header, write_report
from host_seeds import add_timing_options, iteration_seconds, medians_in_turn

import irlax.cli  # noqa: F401  (one CPU device per core, before JAX starts)
from irlax.envs.gym import MUJOCO_CODEC, StateCodec, make_gym_env
from irlax.learners.registry import make_learner
from irlax.tasks import learner_config

OUT = ROOT / "benchmarks" / "results" / "mujoco_restore.json"
TASK = "Hopper-v5"


def with_forward(codec: StateCodec, calls: list[int]) -> StateCodec:
    """``codec`` whose restore runs ``mj_forward`` after writing the state (every restore before 2026-12-07),
    counting its restores in ``calls[0]``."""
    import mujoco

    def write(env: Any, vector: np.ndarray) -> None:
        codec.write(env, vector)
        mujoco.mj_forward(env.model, env.data)
        calls[0] += 1

    return codec._replace(write=write)


def task_env(forward: bool, calls: list[int]) -> Any:
    """A fresh :data:`TASK` environment with today's restore, or (``forward``) with ``mj_forward`` after it (its
    restores counted in ``calls[0]``)."""
    env = make_gym_env(TASK)
    if env.host.codec is not MUJOCO_CODEC:
        raise SystemExit(f"{TASK} no longer restores with MUJOCO_CODEC: nothing to compare")
    if forward:
        env.host.codec = with_forward(MUJOCO_CODEC, calls)
    return env


def checked(forward: bool, measure: Callable[[Any], float]) -> float:
    """``measure(env)`` on a fresh environment, checking that its restores ran ``mj_forward`` exactly when asked."""
    calls = [0]
    seconds = measure(task_env(forward, calls))
    if (calls[0] > 0) != forward:
        raise SystemExit("the restores timed were not the ones asked for")
    return seconds


def stepping_seconds(env: Any, envs: int, steps: int) -> float:
    """Seconds per batched step of ``envs`` environments of ``env`` (``steps`` steps, random actions from a fixed
    seed)."""
    _, state = env.reset(np.array([[0, k] for k in range(envs)], np.uint32))
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, envs, env.spec.action_size)).astype(np.float32)
    begin = time.perf_counter()
    for t in range(steps):
        state = env.step(np.array([[1, t]] * envs, np.uint32), state, actions[t]).state
    return (time.perf_counter() - begin) / steps


def ppo_seconds(env: Any, seeds: int, untimed: int, timed: int) -> float:
    """Seconds per PPO iteration of ``seeds`` seeds in ``env`` (``timed`` iterations after ``untimed``)."""
    learner = make_learner(learner_config(TASK, "ppo"), env.spec)
    return iteration_seconds(learner, env, seeds, untimed, timed, False)


def row(what: str, medians: dict[str, float], each: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """One results row: milliseconds without and with ``mj_forward`` and the speed-up."""
    out = {"what": what, "without_ms": medians["without"] * 1e3, "with_forward_ms": medians["with_forward"] * 1e3,
           "speedup": medians["with_forward"] / medians["without"], **extra, **each}
    print(out, flush=True)
    return out


def markdown(results: dict[str, Any]) -> str:
    """The results page's section for ``results``."""
    r = results
    lines = [
        "## Restoring a MuJoCo state: with mj_forward or without", "",
        f"Command: `{r['command']}` (written {r['date']}, 1-minute load "
        f"{one_minute(r['load_average_start'])}). Machine: {machine_line(r['machine'])}.", "",
        f"A Gymnasium run restores each environment's state into one scratch environment before each step. On "
        f"{r['task']} (one of `irlax.envs.gym.QPOS_ONLY_TASKS`) the restore writes the state alone since 2026-12-07; "
        "before, it also ran `mj_forward` (the steps are bit for bit the same: `tests/test_gym.py`). Both, in turn in "
        f"one process, the median of {r['rows'][0]['repeats']} measurements of each:", "",
        "| what | restore without mj_forward | with mj_forward | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for x in r["rows"]:
        lines.append(f"| {x['what']} | {x['without_ms']:.2f} ms | {x['with_forward_ms']:.2f} ms | "
                     f"{x['speedup']:.2f}x |")
    lines.append("")
    for x in r["rows"]:
        lines.append(f"Each measurement, {x['what']} (ms): without "
                     + ", ".join(f"{v:.2f}" for v in x["all_ms"]["without"]) + "; with "
                     + ", ".join(f"{v:.2f}" for v in x["all_ms"]["with_forward"]) + ".")
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    """Time both restores, stepping alone and inside PPO, and write the results and the page's section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, default=8, help="environments stepped at once (default 8)")
    parser.add_argument("--steps", type=int, default=1000, help="timed batched steps (default 1000)")
    add_timing_options(parser)
    args = parser.parse_args(argv)
    if min(args.envs, args.steps, args.seeds, args.ppo_iterations, args.repeats) < 1:
        parser.error("every count must be positive")
    results = report_header("mujoco_restore.py", argv)
    medians, each = medians_in_turn({
        "without": lambda: checked(False, lambda env: stepping_seconds(env, args.envs, args.steps)),
        "with_forward": lambda: checked(True, lambda env: stepping_seconds(env, args.envs, args.steps)),
    }, args.repeats)
    stepping = row(f"one step of {args.envs} environments", medians, each, envs=args.envs, steps=args.steps)
    medians, each = medians_in_turn({
        "without": lambda: checked(False, lambda env: ppo_seconds(env, args.seeds, 1, args.ppo_iterations)),
        "with_forward": lambda: checked(True, lambda env: ppo_seconds(env, args.seeds, 1, args.ppo_iterations)),
    }, args.repeats)
    ppo = row(f"one PPO iteration of {args.seeds} seeds", medians, each, seeds=args.seeds,
              iterations=args.ppo_iterations)
    results.update(task=TASK, rows=[stepping, ppo], load_average_end=load_average())
    write_report(OUT, results, markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
