"""The ``imitation`` library's side of the GAIL / AIRL comparison: its virtual environment and its runs.

``imitation`` (GAIL and AIRL on Stable-Baselines3 PPO and PyTorch) cannot share irlax's
environment, so it gets its own, ``benchmarks/.imitation-venv``, made by ``ensure_venv`` with the
exact pins of ``PACKAGES`` (``torch==2.13.0`` first: that pin is the CPU build kept on this
machine, a plain ``torch`` would pull the CUDA one; then ``imitation==1.0.1`` and the versions
of its dependencies that pip resolves for it). Each run is ``benchmarks/imitation_side.py`` in
that environment, one PyTorch thread (``OMP_NUM_THREADS=1``), writing one JSON file.

Run: ``PYTHONPATH=src python benchmarks/imitation_venv.py --run-all`` runs the full set (5 seeds x
{gail, airl} x {CartPole-v1, Pendulum-v1}, 2 at a time) into
``benchmarks/results/imitation_runs/{task}-{algo}-seed{S}.json``, skipping any JSON already there
(so it resumes); ``--smoke`` runs each (task, algo) once with a tiny budget into
``benchmarks/results/imitation_runs_smoke/``. Budgets (``BUDGETS``): CartPole 800k generator steps,
evaluated every 25k (the issue's figures for imitation: GAIL at 500 after 800k steps, AIRL 0.71
normalised; rounded up to whole 16384-step rounds: 802816 steps); Pendulum 300k steps (37 rounds of
8192 steps: 303104), evaluated every 16384 (two rounds). The Pendulum budget is what keeps one run
under about 6 minutes here: its zoo PPO (10 epochs over 8192 steps in minibatches of 64, gSDE) costs
about 1.4 ms of CPU per environment step, twice CartPole's, so 300k steps is some 7 minutes of CPU
measured on this machine while it was shared with other jobs (about 0.67 of that unshared, judging by
CartPole: 0.55 ms a step shared against the issue's 293 s for 800k steps). imitation's PPO-based GAIL
and AIRL learn Pendulum slowly: in the smoke runs (seed 0, 40960 steps, irlax's 60 expert episodes of
mean return -143) the deterministic return stayed between -1550 and -1180 (a random policy: about
-1090 to -1500); whether 300k steps suffice is what the full runs show.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".imitation-venv"
SCRIPT = ROOT / "benchmarks" / "imitation_side.py"
MARKER = VENV / ".installed"
TORCH = "torch==2.13.0"
PACKAGES = (
    "imitation==1.0.1",
    "seals==0.2.1",
    "gymnasium==0.29.1",
    "stable-baselines3==2.2.1",
    "numpy==2.4.6",
    "mujoco==2.3.7",  # Gymnasium 0.29's Hopper-v4 and seals/Hopper-v1 (the Hopper side by side)
    "imageio==2.38.2",  # gymnasium.envs.mujoco imports it
)
CACHE = ROOT / "benchmarks" / ".cache"
RESULTS = ROOT / "benchmarks" / "results" / "imitation_runs"
SMOKE_RESULTS = ROOT / "benchmarks" / "results" / "imitation_runs_smoke"
TASKS, ALGOS, SEEDS, DEMO_EPISODES, EVAL_EPISODES = ("CartPole-v1", "Pendulum-v1"), ("gail", "airl"), range(5), 60, 10
# task: (generator env steps, eval every)
BUDGETS = {"CartPole-v1": (800_000, 25_000), "Pendulum-v1": (300_000, 16_384)}
SMOKE_BUDGETS = {"CartPole-v1": (20_000, 10_000), "Pendulum-v1": (40_000, 8_192)}


@dataclass(frozen=True)
class Job:
    """One ``imitation_side.py`` run."""

    task: str
    algo: str
    seed: int
    demos_path: Path
    out_json: Path
    steps: int
    eval_every: int
    eval_episodes: int = EVAL_EPISODES

    @property
    def name(self) -> str:
        """``{task}-{algo}-seed{S}``."""
        return f"{self.task}-{self.algo}-seed{self.seed}"


def ensure_venv() -> Path:
    """The imitation environment's Python, creating the environment and installing ``PACKAGES`` if needed."""
    python = VENV / "bin" / "python"
    if python.exists() and MARKER.exists() and MARKER.read_text().split() == [TORCH, *PACKAGES]:
        return python
    print(f"creating {VENV} with {TORCH} {' '.join(PACKAGES)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", TORCH], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    probe = "import imitation, seals, stable_baselines3, gymnasium, torch"
    subprocess.run([str(python), "-c", probe], check=True)
    MARKER.write_text("\n".join([TORCH, *PACKAGES]) + "\n")
    return python


def demos_file(task: str, episodes: int = DEMO_EPISODES) -> Path:
    """irlax's demonstrations of ``task`` in the benchmark cache."""
    return CACHE / f"demos-{task}-{episodes}.npz"


def run_job(
    task: str,
    algo: str,
    seed: int,
    demos_path: Path,
    out_json: Path,
    steps: int,
    eval_every: int,
    eval_episodes: int = EVAL_EPISODES,
) -> dict[str, Any]:
    """Run ``imitation_side.py`` once in the imitation environment and return its JSON.

    Its output goes to ``out_json`` with ``.log`` for suffix; a failure raises with that log's tail.
    """
    python = ensure_venv()
    command = [
        str(python),
        str(SCRIPT),
        f"--task={task}",
        f"--algo={algo}",
        f"--seed={seed}",
        f"--demos={demos_path}",
        f"--steps={steps}",
        f"--eval-every={eval_every}",
        f"--eval-episodes={eval_episodes}",
        f"--out={out_json}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    env.pop("PYTHONPATH", None)  # keep irlax's src out of the imitation environment
    out_json.parent.mkdir(parents=True, exist_ok=True)
    log = out_json.with_suffix(".log")
    with log.open("w") as handle:
        run = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    if run.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"imitation_side.py failed ({run.returncode}) for {out_json.name}:\n{tail}")
    return json.loads(out_json.read_text())


def run_jobs(jobs: Sequence[Job], workers: int = 2) -> list[dict[str, Any]]:
    """Run ``jobs``, ``workers`` at a time, skipping those whose JSON exists; one line per finished job.

    Returns the JSON of every job (the skipped ones read from disk); failed jobs are reported and left out.
    """
    ensure_venv()  # once, before the workers start
    results: list[dict[str, Any]] = []
    todo = []
    for job in jobs:
        if job.out_json.exists():
            print(f"skip {job.name}: {job.out_json} exists", flush=True)
            results.append(json.loads(job.out_json.read_text()))
        else:
            todo.append(job)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(
                run_job,
                job.task,
                job.algo,
                job.seed,
                job.demos_path,
                job.out_json,
                job.steps,
                job.eval_every,
                job.eval_episodes,
            ): job
            for job in todo
        }
        for done, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            elapsed = time.perf_counter() - start
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - report and go on with the others
                print(f"[{done}/{len(todo)} {elapsed:.0f} s] FAILED {job.name}: {error}", flush=True)
                continue
            results.append(result)
            print(
                f"[{done}/{len(todo)} {elapsed:.0f} s] {job.name}: final return {result['final_return']:.1f}, "
                f"{result['total_env_steps']} steps, train {result['total_train_seconds']:.0f} s",
                flush=True,
            )
    return results


def full_jobs(seeds: Sequence[int] = SEEDS, out_dir: Path = RESULTS) -> list[Job]:
    """The full set: ``seeds`` x ``ALGOS`` x ``TASKS`` with ``BUDGETS`` (the longer CartPole runs first)."""
    return [
        Job(task, algo, seed, demos_file(task), out_dir / f"{task}-{algo}-seed{seed}.json", *BUDGETS[task])
        for seed in seeds
        for task in TASKS
        for algo in ALGOS
    ]


def smoke_jobs(out_dir: Path = SMOKE_RESULTS) -> list[Job]:
    """Each (task, algo) once, seed 0, with ``SMOKE_BUDGETS``."""
    return [
        Job(task, algo, 0, demos_file(task), out_dir / f"{task}-{algo}-seed0.json", *SMOKE_BUDGETS[task])
        for task in TASKS
        for algo in ALGOS
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--run-all", action="store_true", help="the full set into benchmarks/results/imitation_runs")
    mode.add_argument("--smoke", action="store_true", help="each (task, algo) once with a tiny budget")
    mode.add_argument("--install", action="store_true", help="only create the virtual environment")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="seeds of --run-all")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Install, smoke-test or run the full set."""
    args = parse_args(argv)
    if args.install:
        print(ensure_venv())
        return
    jobs = smoke_jobs() if args.smoke else full_jobs(args.seeds)
    missing = sorted({str(job.demos_path) for job in jobs if not job.demos_path.exists()})
    if missing:
        raise SystemExit(f"missing demonstrations: {', '.join(missing)}")
    run_jobs(jobs, workers=args.workers)


if __name__ == "__main__":
    main()
