"""Seeds at scale: the wall-clock of 8 seeds of PPO on CartPole-v1 against one seed (issue 17, section 5).

Three ways of running the same training (``learner_config("CartPole-v1", "ppo")``, ``--steps`` environment steps
per seed, each seed initialised from its own key), each timed after a compiling call, in one process:

a. one seed, through the run driver (:class:`irlax.run.driver.Driver`, what ``irlax expert`` and ``irlax train``
   run);
b. eight seeds in one ``jax.vmap`` on one device (the default device; JAX's default on a CPU);
c. eight seeds through the run driver, which splits the seed axis over this process's devices
   (:func:`irlax.run.driver.seed_shardings`): importing ``irlax.cli`` gives JAX's CPU backend one device per core
   (``XLA_FLAGS=--xla_force_host_platform_device_count``), as the ``irlax`` command does.

And the same for ``--odd-seeds`` (5) seeds, a count that isn't a multiple of the devices': the driver pads it to
the next multiple (:func:`irlax.run.driver.over_padded_seeds`), against one ``vmap`` of 5 seeds on one device.

Goal: on two CPU cores, eight seeds at most 4x one seed (c / a); on a GPU, 64 seeds at most 2x one seed
(``--seeds 64`` on a machine with a GPU: there the seeds stay on the one GPU).

Run: ``PYTHONPATH=src python benchmarks/seed_scaling.py`` (``--steps``, ``--seeds``). Writes
``benchmarks/results/seed_scaling.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import jax
import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, report_header, write_report

import irlax.cli  # noqa: F401  (one CPU device per core, before JAX starts)
from irlax.learners.registry import make_learner
from irlax.run.driver import Driver, padded_seeds, seed_shardings
from irlax.run.experts import expert_program
from irlax.tasks import learner_config, make_env

TASK = "CartPole-v1"
CPU_GOAL, GPU_GOAL = 4.0, 2.0
OUT = ROOT / "benchmarks" / "results" / "seed_scaling.json"


def driver_seconds(program: Any, seeds: int, iterations: int) -> tuple[float, float]:
    """``(seconds, compile seconds)`` of ``iterations`` iterations of ``seeds`` seeds through the driver (the
    timed call is the second, compiled, one)."""
    driver = Driver(program, None, seeds)
    start = driver.start(jax.random.PRNGKey(0))
    first = driver.advance(start, iterations)
    begin = time.perf_counter()
    jax.block_until_ready(driver.advance(start, iterations).state)
    return time.perf_counter() - begin, first.compile_seconds


def one_device_vmap_seconds(program: Any, seeds: int, iterations: int) -> float:
    """Seconds of ``iterations`` iterations of ``seeds`` seeds in one ``jax.vmap`` on the default device."""
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    states = jax.jit(jax.vmap(lambda k: program.init(k, None)))(keys)
    run = jax.jit(jax.vmap(lambda s: program.update(s, None, iterations)))
    jax.block_until_ready(run(states))
    begin = time.perf_counter()
    jax.block_until_ready(run(states))
    return time.perf_counter() - begin


def markdown(results: dict[str, Any]) -> str:
    """The results page's section for ``results``."""
    r = results
    goal = GPU_GOAL if r["platform"] == "gpu" else CPU_GOAL
    met = "meets" if r["driver_ratio"] <= goal else "misses"
    return "\n".join([
        f"## Seeds at scale: {r['seeds']} seeds of PPO on {TASK} against one", "",
        f"Command: `PYTHONPATH=src python benchmarks/seed_scaling.py` (written {r['date']}, 1-minute load "
        f"{one_minute(r['load_average_start'])}). Machine: {machine_line(r['machine'])}; JAX devices: "
        f"{r['devices']} ({r['platform']}).", "",
        f"PPO with the task table's config, {r['steps']:,} environment steps per seed ({r['iterations']} "
        "iterations), each timed after a compiling call, in one process.", "",
        "| run | wall-clock | ratio to one seed |", "|---|---:|---:|",
        f"| one seed (run driver) | {r['one_seed_s']:.2f} s | 1 |",
        f"| {r['seeds']} seeds, one `vmap` on one device | {r['one_device_s']:.2f} s | "
        f"{r['one_device_ratio']:.2f}x |",
        f"| {r['seeds']} seeds, run driver (seed axis split over {r['seed_devices']} device(s)) | "
        f"{r['driver_s']:.2f} s | {r['driver_ratio']:.2f}x |",
        f"| {r['odd_seeds']} seeds, one `vmap` on one device | {r['odd_one_device_s']:.2f} s | "
        f"{r['odd_one_device_s'] / r['one_seed_s']:.2f}x |",
        f"| {r['odd_seeds']} seeds, run driver (padded to {r['odd_padded']}, split over {r['seed_devices']} "
        f"device(s)) | {r['odd_driver_s']:.2f} s | {r['odd_driver_s'] / r['one_seed_s']:.2f}x |", "",
        f"Goal ({'GPU' if r['platform'] == 'gpu' else 'two CPU cores'}): at most {goal:.0f}x one seed: "
        f"{met} it.", "",
    ])


def main(argv: list[str] | None = None) -> None:
    """Time one seed and many, and write the results and the page's section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=250_000, help="environment steps per seed")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--odd-seeds", type=int, default=5, help="a seed count the driver pads (default 5)")
    args = parser.parse_args(argv)
    results = report_header("seed_scaling.py", argv)
    env = make_env(TASK)
    learner = make_learner(learner_config(TASK, "ppo"), env.spec)
    iterations = learner.iterations_for(args.steps)
    program = expert_program(learner, env, iterations)
    one, one_compile = driver_seconds(program, 1, iterations)
    print(f"one seed: {one:.2f} s", flush=True)
    single = one_device_vmap_seconds(program, args.seeds, iterations)
    print(f"{args.seeds} seeds, one device: {single:.2f} s ({single / one:.2f}x)", flush=True)
    many, many_compile = driver_seconds(program, args.seeds, iterations)
    print(f"{args.seeds} seeds, run driver: {many:.2f} s ({many / one:.2f}x)", flush=True)
    odd_single = one_device_vmap_seconds(program, args.odd_seeds, iterations)
    odd, _ = driver_seconds(program, args.odd_seeds, iterations)
    print(f"{args.odd_seeds} seeds: one device {odd_single:.2f} s, run driver {odd:.2f} s", flush=True)
    shardings = seed_shardings(args.seeds)
    results.update(
        task=TASK, steps=iterations * learner.steps_per_iteration, iterations=iterations, seeds=args.seeds,
        devices=len(jax.devices()), platform=jax.default_backend(),
        seed_devices=1 if shardings is None else len(shardings[0].device_set),
        one_seed_s=one, one_device_s=single, driver_s=many, one_device_ratio=single / one, driver_ratio=many / one,
        one_seed_compile_s=one_compile, driver_compile_s=many_compile, load_average_end=load_average(),
        goal=GPU_GOAL if jax.default_backend() == "gpu" else CPU_GOAL,
        odd_seeds=args.odd_seeds, odd_padded=padded_seeds(args.odd_seeds, len(jax.local_devices())),
        odd_one_device_s=odd_single, odd_driver_s=odd,
    )
    write_report(OUT, results, markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
