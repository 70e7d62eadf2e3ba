"""Where a benchmark ran: the machine, the software and the commit (shared by the benchmark scripts)."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax.atomic import atomic_write_json, atomic_write_text

ROOT = Path(__file__).resolve().parent.parent


def git_revision() -> str:
    """The repository's commit, with ``+dirty`` when the tree has changes; ``unknown`` if not a checkout."""
    try:
        run = lambda *cmd: subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
        return run("git", "rev-parse", "--short", "HEAD") + ("+dirty" if run("git", "status", "--porcelain") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo``, else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (the machine may be shared), where the OS has them."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "processor": platform.processor(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "devices": [str(d) for d in jax.devices()],
        "git": git_revision(),
    }


def machine_line(machine: dict[str, Any]) -> str:
    """One line naming the machine and the software (from :func:`machine_info`)."""
    return (
        f"{machine['cpu_model'] or machine['processor']}, {machine['usable_cpus']} usable of "
        f"{machine['cpu_count']} CPUs, {machine['platform']}, Python {machine['python']}, "
        f"JAX {machine['jax']} ({', '.join(machine['devices'])}), NumPy {machine['numpy']}, irlax {machine['git']}"
    )


def one_minute(load: list[float] | None) -> str:
    """The 1-minute load average for the text, or ``n/a``."""
    return "n/a" if load is None else f"{load[0]:.1f}"


def output_path(out: Path | None, quick: bool, default: Path) -> Path:
    """Where a benchmark's JSON goes: ``out`` if given; a quick run does not overwrite the full results."""
    if out is not None:
        return out
    return default.with_name(default.stem + "_quick.json") if quick else default


def report_header(script: str, argv: list[str] | None = None) -> dict[str, Any]:
    """The start of a benchmark's JSON report: date, the command as typed, the machine, the load."""
    args = sys.argv[1:] if argv is None else argv
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([f"PYTHONPATH=src python benchmarks/{script}", *args]),
        "machine": machine_info(),
        "load_average_start": load_average(),
    }


def write_report(out: Path, results: dict[str, Any], markdown: str) -> None:
    """The JSON report at ``out`` and its markdown fragment beside it (``.md``), both written atomically."""
    atomic_write_json(out, results)
    atomic_write_text(out.with_suffix(".md"), markdown)


Cell = dict[str, Any]


def write_cell_table(out: Path, results: dict[str, Any], cells: list[tuple[tuple[str, str], Cell | None]],
                     key: Callable[[Cell], tuple[str, str]], markdown: Callable[[dict[str, Any]], str]) -> None:
    """Write the report of a benchmark of resumable cells (one run directory each) and print its page.

    ``cells``: every ``(row, task)`` of the table in order with its record, or ``None`` when its run directory is
    not finished on this machine: then the record of the last report (``out``, matched by ``key``) is kept, so a
    table assembled over several machines or sessions keeps its finished cells.
    """
    earlier = {key(c): c for c in json.loads(out.read_text())["cells"]} if out.exists() else {}
    kept = [record if record is not None else earlier[name] for name, record in cells
            if record is not None or name in earlier]
    results.update(cells=kept, load_average_end=load_average())
    write_report(out, results, markdown(results))
    print(markdown(results))


def wall(fn: Callable[[], Any]) -> float:
    """Seconds for ``fn()``, waiting for every JAX result it returns."""
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start
