"""The ``irlax`` command line (thin: parsing, progress and output; the work is in the library).

Importing it gives JAX's CPU backend one device per core (:func:`use_cpu_cores`), before JAX starts, so that
the seeds of a pure-JAX run spread over the cores (:func:`irlax.run.driver.seed_shardings`; a host-stepped
Gymnasium run keeps its seeds on one device).
"""

from __future__ import annotations

import os

DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def cpu_device_count(environ: dict[str, str] | None = None) -> int:
    """The CPU devices the ``irlax`` command asks JAX for: ``IRLAX_CPU_DEVICES`` when it is a positive integer,
    else the cores this process may use (1: one device, seeds not split)."""
    environ = os.environ if environ is None else environ
    wanted = environ.get("IRLAX_CPU_DEVICES", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def use_cpu_cores(environ: dict[str, str] | None = None) -> int | None:
    """Set ``XLA_FLAGS`` so that JAX's CPU backend has :func:`cpu_device_count` devices (one per core by default);
    returns the count, or ``None`` when the flags already name one (the user's choice stands) or it is 1.

    Takes effect only if JAX's backend has not started yet in this process (the ``irlax`` command calls it on
    import). A pure-JAX run's seeds then split over the devices, padded to a multiple of the count (8 seeds of PPO on
    CartPole on 2 cores: 3.13x one seed's time instead of 6.07x, 5 seeds 2.47x; ``benchmarks/seed_scaling.py``).
    """
    environ = os.environ if environ is None else environ
    flags = environ.get("XLA_FLAGS", "")
    count = cpu_device_count(environ)
    if DEVICE_COUNT_FLAG in flags or count < 2:
        return None
    environ["XLA_FLAGS"] = f"{flags} {DEVICE_COUNT_FLAG}={count}".strip()
    return count


use_cpu_cores()
