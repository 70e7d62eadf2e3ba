"""Where a benchmark ran: the machine, the software and the commit (shared by the benchmark scripts)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import jax
import numpy as np

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
