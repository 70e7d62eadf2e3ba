"""How much memory a run needs, estimated before anything is compiled or allocated, and the check that refuses
what cannot fit.

A command that would allocate more than the machine has ends in a native crash or the
kernel's OOM killer, with no Python error at all. Each command therefore estimates the
arrays it must hold (the estimators below are lower bounds: the arrays themselves,
without temporaries) and :func:`check_fits` refuses, in one line with the estimate and
the machine's memory, only what clearly cannot fit: more than the machine's total
memory (the accelerator's, when JAX runs on one). Compiled programs are checked exactly
with XLA's own memory analysis (:func:`check_compiled`), before they run.

Counts (iterations, seeds, episodes, steps) beyond :data:`MAX_COUNT` are refused
whatever the memory: JAX indexes them with 32-bit integers.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import numpy as np

from irlax.errors import IrlaxError

MAX_COUNT = 2**31 - 1
"""The largest count of steps, seeds, episodes or states a run may have (int32, JAX's index type)."""


def format_bytes(n: float) -> str:
    """``n`` bytes in words: ``512 B``, ``3.2 GiB``, ``7.3 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover - unreachable


def machine_memory() -> tuple[int, int]:
    """``(total, available)`` bytes of the machine's memory (``/proc/meminfo``, else ``os.sysconf``)."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.split()[1:]}
        total = info["MemTotal"]
        return total, info.get("MemAvailable", info.get("MemFree", total))
    except (OSError, KeyError, ValueError, IndexError):
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_PHYS_PAGES") * page, os.sysconf("SC_AVPHYS_PAGES") * page


def device_memory() -> int | None:
    """The memory of JAX's default device when it is an accelerator that reports it (``None`` on the CPU)."""
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # noqa: BLE001 - a backend without memory statistics
        return None
    return int(stats["bytes_limit"]) if stats and stats.get("bytes_limit") else None


def check_fits(nbytes: float, what: str) -> None:
    """Refuse (:class:`IrlaxError`) when ``what`` needs more than the machine's total memory.

    The limit is the accelerator's memory when JAX runs on one, else the machine's total memory; the message
    gives the estimate and both the total and the available memory.
    """
    total, available = machine_memory()
    device = device_memory()
    limit = device if device is not None else total
    if nbytes > limit:
        where = (f"the accelerator has {format_bytes(device)}" if device is not None
                 else f"this machine has {format_bytes(total)}, {format_bytes(available)} of it available")
        raise IrlaxError(f"{what} needs about {format_bytes(nbytes)} of memory; {where}")


def check_count(value: int, name: str, high: int = MAX_COUNT) -> None:
    """Refuse a count beyond ``high`` (by default :data:`MAX_COUNT`): too large to be meaningful to run."""
    if value > high:
        raise IrlaxError(f"{name} {value} is beyond the largest count irlax runs ({high})")


def tree_bytes(tree: Any) -> int:
    """Bytes of the arrays (or ``jax.ShapeDtypeStruct`` shapes) of a pytree."""
    return sum(math.prod(np.shape(x)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree))


def compiled_bytes(compiled: Any) -> int | None:
    """The memory a compiled program needs to run (arguments, outputs and temporaries, by XLA's memory analysis);
    ``None`` when the backend gives no analysis."""
    try:
        stats = compiled.memory_analysis()
    except Exception:  # noqa: BLE001 - backends without an analysis
        return None
    if stats is None:
        return None
    return int(stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
               - stats.alias_size_in_bytes)


def check_compiled(compiled: Any, what: str) -> None:
    """Refuse to run a compiled program that needs more than the machine's memory (:func:`check_fits`)."""
    nbytes = compiled_bytes(compiled)
    if nbytes is not None:
        check_fits(nbytes, what)


# -- estimators: the arrays a command must hold (lower bounds) ------------------------------------------------------


def mdp_bytes(num_states: int, num_actions: int, successors: int = 1, num_features: int = 1) -> int:
    """A tabular MDP: successors and their probabilities ``[S, A, K]``, features ``[S, F]``, the start ``[S]``."""
    return num_states * num_actions * successors * 8 + num_states * (num_features + 1) * 4


def planning_bytes(num_states: int, num_actions: int, horizon: int | None) -> int:
    """Planning on a tabular MDP: a log-policy ``[H, S, A]`` (``[S, A]`` for the infinite horizon) and its values."""
    steps = horizon or 1
    return steps * num_states * (num_actions + 1) * 4


def trajectories_bytes(num_trajectories: int, length: int) -> int:
    """Sampled tabular trajectories: states, actions and mask ``[N, T]`` and a random key per step on the device,
    and the host's copies of states, actions and mask written to the file."""
    return num_trajectories * length * (2 * (4 + 4 + 1) + 8)


def episodes_bytes(obs_size: int, action_size: int, max_steps: int, episodes: int) -> int:
    """Episodes of a control task run to its time limit: observations, successors, actions, rewards, flags."""
    return episodes * max_steps * ((2 * obs_size + action_size + 3) * 4 + 3)


def metrics_bytes(seeds: int, steps: int, fields: int) -> int:
    """Per-step metrics of a run, ``fields`` float32 values per seed and step (kept twice while a chunk is joined)."""
    return 2 * seeds * steps * max(fields, 1) * 4


def check_evaluation_fits(spec: Any, seeds: int, episodes: int, at_least: int = 0) -> None:
    """Refuse evaluating ``seeds`` seeds on ``episodes`` episodes each (run as ``max(episodes, at_least)``
    episodes per seed, e.g. for a random-policy baseline) when the count of seeds or the episodes can't be held."""
    check_count(seeds, "--seeds")
    check_episodes_fit(spec, seeds * max(episodes, at_least), f"evaluating {seeds} seeds on {episodes} episodes each")


def check_episodes_fit(spec: Any, episodes: int, what: str) -> None:
    """Refuse running ``episodes`` whole episodes of the task ``spec`` (an :class:`~irlax.envs.spec.EnvSpec`) at
    once when their count is absurd or they cannot fit in memory."""
    if episodes > MAX_COUNT:
        raise IrlaxError(f"{what}: {episodes} episodes is beyond the largest count irlax runs ({MAX_COUNT})")
    check_fits(episodes_bytes(spec.obs_size, spec.action_size, spec.max_steps, episodes),
               f"{what} ({spec.max_steps} steps each)")
