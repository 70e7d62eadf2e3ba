"""Seeds of a host-stepped (Gymnasium, MuJoCo) run: on one CPU device, or split over the cores.

The run driver splits a pure-JAX run's seeds over the CPU devices the ``irlax`` command makes (one per core;
``benchmarks/seed_scaling.py``: 8 PPO seeds on CartPole in 3.1x one seed's time instead of 6.1x). A run in a
Gymnasium environment steps on the host instead (:mod:`irlax.learners.host`): a Python loop around jitted pieces,
its seeds vmapped on the default device. This measures what splitting those seeds would give, in one process:
``--seeds`` seeds of the task table's learner for each of

- PPO on Hopper-v5 (the MuJoCo table's inner learner on Hopper and Walker2d), whole iterations
  (``num_envs x rollout_steps`` host steps per seed, then PPO's epochs);
- SAC on HalfCheetah-v5 (the inner learner on HalfCheetah, Ant and Swimmer), iterations past its random start (one
  host step and one gradient step each),

timed after untimed ones (compilation, SAC's random steps) through :func:`irlax.learners.host.update`: the seeds on
one device, then the same seeds with their state placed split over the devices (the jitted pieces follow their
inputs' placement), then one seed fewer on one device (what the last seed costs); the three in turn, ``--repeats``
times, the median of each kept. And one seed of SAC unbatched, as ``host.update`` runs a lone seed, against the same
pieces vmapped over a seed axis of size 1, with the preset's replay buffer (1M transitions) and with
:data:`SMALL_BUFFER`.

Run: ``PYTHONPATH=src python benchmarks/host_seeds.py`` (``--seeds``, ``--ppo-iterations``, ``--sac-iterations``,
``--repeats``).
Writes ``benchmarks/results/host_seeds.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from bench_machine import ROOT, load_average, machine_line, one_minute, report_header, write_report

import irlax.cli  # noqa: F401  (one CPU device per core, before JAX starts)
from irlax.learners import host
from irlax.learners.registry import make_learner
from irlax.tasks import learner_config, make_env

OUT = ROOT / "benchmarks" / "results" / "host_seeds.json"
SAC_START = 100
"""SAC's random steps here (its preset takes 10k): the untimed iterations pass them."""
SMALL_BUFFER = 100_000
"""The replay buffer of the MuJoCo table's SAC cells (the preset's holds 1M): one seed is timed with both."""


def learner_for(task: str, name: str, buffer: int | None = None) -> tuple[Any, Any]:
    """The task table's ``name`` learner for ``task`` (SAC with :data:`SAC_START` random steps and a replay buffer
    of ``buffer`` transitions, by default its preset's) and the task."""
    env = make_env(task)
    config = learner_config(task, name)
    if name == "sac":
        config = dataclasses.replace(config, learning_starts=SAC_START, buffer_size=buffer or config.buffer_size)
    return make_learner(config, env.spec), env


def iteration_seconds(learner: Any, env: Any, seeds: int, untimed: int, timed: int, split: bool) -> float:
    """Seconds per iteration of ``seeds`` seeds (``timed`` iterations after ``untimed``), their state on the default
    device or (``split``) split over the devices along the seed axis."""
    state = host.init_state(learner, env, jax.random.split(jax.random.PRNGKey(0), seeds))
    if split:
        mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("seeds",))
        state = jax.device_put(state, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds")))
    state, _ = host.update(learner, env, state, untimed)
    jax.block_until_ready(state)
    begin = time.perf_counter()
    state, _ = host.update(learner, env, state, timed)
    jax.block_until_ready(state)
    return (time.perf_counter() - begin) / timed


def add_timing_options(parser: argparse.ArgumentParser) -> None:
    """The options of the scripts that time host-stepped PPO iterations: ``--seeds``, ``--ppo-iterations``,
    ``--repeats``."""
    parser.add_argument("--seeds", type=int, default=4, help="seeds (default 4, the MuJoCo table's)")
    parser.add_argument("--ppo-iterations", type=int, default=2, help="timed PPO iterations (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements of each, the median kept (default 3)")


def medians_in_turn(timers: dict[str, Callable[[], float]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Each of ``timers`` (seconds of one measurement) run ``repeats`` times, in turn (the machine is shared: a busy
    moment then hits one of each): their medians in seconds, and ``{"repeats": ..., "all_ms": every measurement in
    milliseconds}`` for the results row."""
    runs: dict[str, list[float]] = {name: [] for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            runs[name].append(timer())
    medians = {name: float(np.median(values)) for name, values in runs.items()}
    return medians, {"repeats": repeats, "all_ms": {k: [v * 1e3 for v in vs] for k, vs in runs.items()}}


def measure(task: str, name: str, seeds: int, untimed: int, timed: int, repeats: int) -> dict[str, Any]:
    """One learner's row: milliseconds per iteration on one device, split, and with one seed fewer; each the median
    of ``repeats`` measurements taken in turn (:func:`medians_in_turn`)."""
    learner, env = learner_for(task, name)
    medians, each = medians_in_turn({
        "one": lambda: iteration_seconds(learner, env, seeds, untimed, timed, False),
        "split": lambda: iteration_seconds(learner, env, seeds, untimed, timed, True),
        "fewer": lambda: iteration_seconds(learner, env, seeds - 1, untimed, timed, False),
    }, repeats)
    one, split, fewer = medians["one"], medians["split"], medians["fewer"]
    row = {"task": task, "learner": name, "host_steps_per_iteration": learner.steps_per_iteration,
           "one_device_ms": one * 1e3, "split_ms": split * 1e3, "fewer_seeds_ms": fewer * 1e3,
           "split_speedup": one / split, "last_seed_share": 1 - fewer / one, "timed_iterations": timed, **each}
    print(row, flush=True)
    return row


def one_seed_seconds(learner: Any, env: Any, untimed: int, timed: int, batched: bool) -> float:
    """Seconds per iteration of one seed: unbatched, as :func:`irlax.learners.host.update` runs a lone seed, or
    (``batched``) through the same jitted pieces vmapped over a seed axis of size 1 (``host._iteration``'s
    ``single=False``, what a lone seed would run without the special case)."""
    state = host.init_state(learner, env, jax.random.split(jax.random.PRNGKey(0), 1))
    single = not batched
    if single:
        state = jax.tree.map(lambda x: x[0], state)
    keys = host._split3(state.key, single)

    def run(state: Any, keys: Any, count: int) -> tuple[Any, Any]:
        for _ in range(count):
            state, _, keys = host._iteration(learner, env, state, keys, None, None, single)
        return jax.block_until_ready(state), keys

    state, keys = run(state, keys, untimed)
    begin = time.perf_counter()
    run(state, keys, timed)
    return (time.perf_counter() - begin) / timed


def measure_one_seed(task: str, name: str, untimed: int, timed: int, repeats: int,
                     buffer: int | None = None) -> dict[str, Any]:
    """One seed unbatched against vmapped over a seed axis of 1, with a replay buffer of ``buffer`` transitions (by
    default the preset's): milliseconds per iteration, medians of ``repeats`` taken in turn (why ``host.update``
    runs a lone seed unbatched)."""
    learner, env = learner_for(task, name, buffer)
    medians, each = medians_in_turn({
        "unbatched": lambda: one_seed_seconds(learner, env, untimed, timed, False),
        "batched": lambda: one_seed_seconds(learner, env, untimed, timed, True),
    }, repeats)
    row = {"task": task, "learner": name, "buffer_size": learner.config.buffer_size,
           "unbatched_ms": medians["unbatched"] * 1e3, "batched_ms": medians["batched"] * 1e3, **each}
    print(row, flush=True)
    return row


def markdown(results: dict[str, Any]) -> str:
    """The results page's section for ``results``."""
    r = results
    k = r["seeds"]
    lines = [
        "## Seeds of a host-stepped run: one device or split over the cores", "",
        f"Command: `PYTHONPATH=src python benchmarks/host_seeds.py` (written {r['date']}, 1-minute load "
        f"{one_minute(r['load_average_start'])}). Machine: {machine_line(r['machine'])}; JAX devices: "
        f"{r['devices']}.", "",
        f"{k} seeds of the task table's learner in a Gymnasium task, iterations through `irlax.learners.host.update` "
        "timed after untimed ones, in one process: the seeds on one device (as irlax runs them), split over the "
        f"devices, and {k - 1} seeds on one device; the median of {r['rows'][0]['repeats']} measurements of each, "
        "taken in turn.", "",
        f"| task, learner | host steps per iteration and seed | {k} seeds, one device | split over the devices | "
        f"speed-up of the split | {k - 1} seeds | share of the last seed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        lines.append(
            f"| {row['task']}, {row['learner'].upper()} | {row['host_steps_per_iteration']:,} | "
            f"{row['one_device_ms']:.1f} ms | {row['split_ms']:.1f} ms | {row['split_speedup']:.2f}x | "
            f"{row['fewer_seeds_ms']:.1f} ms | {row['last_seed_share']:.0%} |")
    lines.append("")
    for row in r["rows"]:
        each = row.get("all_ms", {})
        if each:
            lines.append(f"Each measurement, {row['task']} {row['learner'].upper()} (ms): "
                         + "; ".join(f"{name} {', '.join(f'{v:.1f}' for v in each[key])}" for key, name in
                                     (("one", f"{k} seeds"), ("split", "split"), ("fewer", f"{k - 1} seeds")))
                         + ".")
    for one in r.get("one_seed", []):
        lines += ["", f"One seed of {one['learner'].upper()} on {one['task']}, a replay buffer of "
                  f"{one['buffer_size']:,}: {one['unbatched_ms']:.1f} ms an iteration unbatched (as irlax runs a lone "
                  f"seed), {one['batched_ms']:.1f} ms vmapped over a seed axis of size 1 (medians of {one['repeats']}; "
                  "each: " + ", ".join(f"{v:.1f}" for v in one["all_ms"]["unbatched"]) + " and "
                  + ", ".join(f"{v:.1f}" for v in one["all_ms"]["batched"]) + ")."]
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    """Time both learners' host iterations and write the results and the page's section."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_timing_options(parser)
    parser.add_argument("--sac-iterations", type=int, default=300, help="timed SAC iterations (default 300)")
    args = parser.parse_args(argv)
    if args.seeds < 2 or min(args.ppo_iterations, args.sac_iterations, args.repeats) < 1:
        parser.error("--seeds must be at least 2, the iteration counts and --repeats positive")
    results = report_header("host_seeds.py", argv)
    rows = [measure("Hopper-v5", "ppo", args.seeds, 2, args.ppo_iterations, args.repeats),
            measure("HalfCheetah-v5", "sac", args.seeds, SAC_START + 100, args.sac_iterations, args.repeats)]
    one_seed = [measure_one_seed("HalfCheetah-v5", "sac", SAC_START + 100, args.sac_iterations, args.repeats, buffer)
                for buffer in (None, SMALL_BUFFER)]
    results.update(seeds=args.seeds, devices=len(jax.devices()), rows=rows, one_seed=one_seed,
                   load_average_end=load_average())
    write_report(OUT, results, markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
