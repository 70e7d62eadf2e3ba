"""The baselines of the SAC speed comparison on MuJoCo HalfCheetah-v5: stable-baselines3 and sbx, each in its own venv.

Both libraries need packages that irlax's environment must not get (SB3 needs PyTorch; sbx, the
JAX port of SB3, depends on SB3 and so on PyTorch too), so each gets a virtual environment of its
own, made by :func:`ensure_venv` with the exact pins below and a marker file (``.installed``, the
pins one a line) that makes it idempotent; a change of pins re-creates the environment:

* ``benchmarks/.venv-sb3-mujoco``: ``SB3_PACKAGES`` (PyTorch 2.13.0 CPU, stable-baselines3 2.9.2).
* ``benchmarks/.venv-sbx``: ``SBX_PACKAGES`` (sbx-rl 0.28.0, its latest release, which asks for
  stable-baselines3 >= 2.9.0 and jax < 0.12; jax/jaxlib 0.10.2 CPU, flax and optax as in irlax).

Both have ``gymnasium[mujoco]==1.3.0`` and ``mujoco==3.17.0`` (irlax's own versions; SB3 2.9.2
takes gymnasium >= 0.29.1, < 2.0) and ``numpy==2.4.6``. ``torch==2.13.0`` is always installed
first, alone: that pin is the CPU build kept on this machine's package index, a plain ``torch``
would pull the CUDA build's gigabytes (sbx's environment needs it too, since sbx imports SB3).

Each run is ``benchmarks/sac_speed_side.py`` in one of these environments (see its docstring for
the SAC settings and what is timed); :func:`run_side` runs it as a subprocess and returns the JSON
object it prints on its last line.

Threads. SB3's PyTorch gets ``SB3_TORCH_THREADS`` threads (``OMP_NUM_THREADS`` and
``torch.set_num_threads``), 1 by default: measured with ``--threads-sweep 1 2 --steps 1500
--learning-starts 500 --warmup-steps 500`` on this 2-core machine (AMD EPYC) while other jobs kept
both cores busy (load average 4.6 to 5.9), 1 thread ran at 21.6 steps/s (69.5 s of wall-clock for
the 1500 timed steps, 67.7 s of CPU) while one run with 2 threads had not finished its 2500 steps
(warm-up included) after 14 minutes (under 3 steps/s: its two OpenMP threads wait on each other
whenever the scheduler takes one away), and was stopped. Not measured on an idle machine, where a
second thread may help the 256 x 256 matrix products; ``--threads-sweep 1 2`` measures it again,
and ``run_side(..., torch_threads=2)`` uses 2. sbx's XLA keeps its default CPU threading
(``JAX_PLATFORMS=cpu``); its timed part used about one core (CPU time close to wall-clock).

A first check (``--run sb3 sbx --steps 3000 --learning-starts 1000``, one after the other, the
machine shared with other jobs at load average 5.8 to 7.4): SB3 23.9 steps/s (125.5 s; 1 thread),
sbx 33.6 steps/s (89.4 s). Slow because this machine's single core is: a 256 x 256 x 256 float32
matrix product takes about 1 ms in PyTorch here, and one SAC gradient step does some 20 of them.

Run (with any Python 3.11, e.g. irlax's; this module needs only the standard library):

* ``python benchmarks/mujoco_speed_venvs.py --install`` creates both environments (minutes).
* ``python benchmarks/mujoco_speed_venvs.py --run sb3 sbx --steps 3000 --learning-starts 1000``
  runs each side once and prints its JSON.
* ``python benchmarks/mujoco_speed_venvs.py --threads-sweep 1 2 --steps 3000`` times SB3 per
  thread count.

From Python: ``from mujoco_speed_venvs import run_side`` (with ``benchmarks/`` on ``sys.path``), then
``run_side("sb3", steps=20_000, learning_starts=10_000)`` -> ``{"library": "sb3", "sps": ..., ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "sac_speed_side.py"
TORCH = "torch==2.13.0"  # the CPU build on this machine's index; always installed first, alone
COMMON = (
    "stable-baselines3==2.9.2",
    "gymnasium[mujoco]==1.3.0",
    "mujoco==3.17.0",
    "numpy==2.4.6",
)
SB3_PACKAGES = COMMON
SBX_PACKAGES = (
    "sbx-rl==0.28.0",
    *COMMON,
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "flax==0.12.8",
    "optax==0.2.8",
    "tfp-nightly==0.26.0.dev20261027",
)
SB3_TORCH_THREADS = 1  # measured: see the module docstring
DEFAULT_LEARNING_STARTS = 10_000


@dataclass(frozen=True)
class Side:
    """One library's virtual environment."""

    venv: Path
    packages: tuple[str, ...]
    probe: str

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.venv / "bin" / "python"

    @property
    def marker(self) -> Path:
        """The file whose content (the pins) says the environment is complete."""
        return self.venv / ".installed"


SIDES = {
    "sb3": Side(
        ROOT / "benchmarks" / ".venv-sb3-mujoco",
        SB3_PACKAGES,
        "import stable_baselines3, torch, gymnasium, mujoco; gymnasium.make('HalfCheetah-v5')",
    ),
    "sbx": Side(
        ROOT / "benchmarks" / ".venv-sbx",
        SBX_PACKAGES,
        "import sbx, jax, flax, optax, gymnasium, mujoco; gymnasium.make('HalfCheetah-v5')",
    ),
}


def side(which: str) -> Side:
    """``SIDES[which]``, with a clear error for an unknown name."""
    if which not in SIDES:
        raise ValueError(f"unknown library {which!r}: one of {sorted(SIDES)}")
    return SIDES[which]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess in a side's venv: irlax's ``PYTHONPATH`` and venv left out."""
    env = {**os.environ, "TQDM_DISABLE": "1", **extra}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(name, None)
    return env


def ensure_venv(which: str) -> Path:
    """The Python of ``which``'s environment (``sb3`` or ``sbx``), creating it and installing its pins if needed."""
    s = side(which)
    pins = [TORCH, *s.packages]
    if s.python.exists() and s.marker.exists() and s.marker.read_text().split() == pins:
        return s.python
    print(f"creating {s.venv} with {' '.join(pins)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(s.venv)], check=True)
    pip = [str(s.python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, TORCH], check=True, env=clean_env())
    subprocess.run([*pip, *s.packages], check=True, env=clean_env())
    subprocess.run([str(s.python), "-c", s.probe], check=True, env=clean_env(JAX_PLATFORMS="cpu"), cwd=s.venv)
    s.marker.write_text("\n".join(pins) + "\n")
    return s.python


def ensure_venvs() -> dict[str, Path]:
    """Both environments' interpreters, creating what is missing."""
    return {which: ensure_venv(which) for which in SIDES}


def run_side(
    which: str,
    steps: int,
    learning_starts: int = DEFAULT_LEARNING_STARTS,
    *,
    warmup_steps: int = 1000,
    torch_threads: int | None = None,
    seed: int = 0,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Run ``sac_speed_side.py --library which`` in its environment and return the JSON it prints last.

    ``steps`` timed environment steps (each with one gradient step) follow an untimed warm-up of
    ``learning_starts + warmup_steps`` steps. ``torch_threads`` (SB3 only; default
    ``SB3_TORCH_THREADS``) sets ``OMP_NUM_THREADS`` and ``torch.set_num_threads``. A failure raises
    ``RuntimeError`` with the tail of the script's output.
    """
    python = ensure_venv(which)
    command = [
        str(python),
        str(SCRIPT),
        f"--library={which}",
        f"--steps={steps}",
        f"--learning-starts={learning_starts}",
        f"--warmup-steps={warmup_steps}",
        f"--seed={seed}",
    ]
    if which == "sb3":
        threads = SB3_TORCH_THREADS if torch_threads is None else torch_threads
        command.append(f"--torch-threads={threads}")
        env = clean_env(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    else:
        env = clean_env(JAX_PLATFORMS="cpu", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # torch: imported, unused
    # cwd: MuJoCo appends its warnings to MUJOCO_LOG.TXT in the working directory; keep it in the venv
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=side(which).venv, timeout=timeout)
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
        raise RuntimeError(f"sac_speed_side.py --library={which} failed ({run.returncode}):\n{tail}")
    return json.loads(lines[-1])


def threads_sweep(threads: Sequence[int], steps: int, learning_starts: int, repeats: int = 1) -> dict[int, list[float]]:
    """SB3's steps per second for each PyTorch thread count, ``repeats`` runs each, interleaved."""
    rates: dict[int, list[float]] = {n: [] for n in threads}
    for _ in range(repeats):
        for n in threads:
            result = run_side("sb3", steps, learning_starts, torch_threads=n)
            rates[n].append(result["sps"])
            print(
                f"torch_threads={n}: {result['sps']:.1f} steps/s ({result['seconds']:.1f} s, "
                f"CPU {result['cpu_seconds']:.1f} s, load {result['load_average'][0]:.1f})",
                flush=True,
            )
    return rates


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--install", action="store_true", help="only create both environments")
    mode.add_argument("--run", nargs="+", choices=sorted(SIDES), help="run these sides, one after the other")
    mode.add_argument("--threads-sweep", type=int, nargs="+", metavar="N", help="time SB3 with these thread counts")
    parser.add_argument("--steps", type=int, default=20_000, help="timed environment steps")
    parser.add_argument("--learning-starts", type=int, default=DEFAULT_LEARNING_STARTS)
    parser.add_argument("--warmup-steps", type=int, default=1000, help="untimed steps after learning_starts")
    parser.add_argument("--repeats", type=int, default=1, help="runs per thread count of --threads-sweep")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Install, run or sweep."""
    args = parse_args(argv)
    if args.install:
        for which, python in ensure_venvs().items():
            print(f"{which}: {python}")
    elif args.run:
        for which in args.run:
            print(json.dumps(run_side(which, args.steps, args.learning_starts, warmup_steps=args.warmup_steps)))
    else:
        rates = threads_sweep(args.threads_sweep, args.steps, args.learning_starts, args.repeats)
        print(json.dumps({str(n): r for n, r in rates.items()}))


if __name__ == "__main__":
    main()
