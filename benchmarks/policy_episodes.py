"""What a trained ``irlax train`` run's policies do in their task: episode lengths, true returns, forward speed.

A diagnostic for the MuJoCo cells (``benchmarks/mujoco_irl.py``): a normalised return says how far a policy is
from the expert, not why. This loads a run directory's last checkpoint (finished or not; any ``irlax train`` run
with a policy, DAgger's included), runs each seed's imitation policy for a few deterministic episodes and prints
per seed the episodes' lengths, their true returns and, on the MuJoCo locomotion tasks, the body's mean forward
velocity (``qvel[0]``, which the observation holds), next to the same for the run's demonstrations.

Run: ``PYTHONPATH=src python benchmarks/policy_episodes.py RUN_DIR [--episodes N]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from irlax.cli import dagger
from irlax.cli.runs import CHECKPOINT, OneLineParser, resumed_settings
from irlax.cli.train import resolve_run
from irlax.errors import IrlaxError
from irlax.learners.evaluation import policy_episodes_jit
from irlax.run.driver import Driver

FORWARD_VELOCITY = {"Hopper": 5, "Walker2d": 8, "HalfCheetah": 8, "Ant": 13, "Swimmer": 3}
"""Index of ``qvel[0]`` (the forward velocity) in each MuJoCo locomotion task's default observation: the
observation is ``qpos`` without the excluded x (and y) positions, then ``qvel``."""


def velocity_index(env_name: str) -> int | None:
    """Where the forward velocity sits in ``env_name``'s observation; None for a task not in the table."""
    return FORWARD_VELOCITY.get(env_name.split("-")[0])


def episode_stats(mask: np.ndarray, rewards: np.ndarray, obs: np.ndarray, index: int | None) -> dict[str, Any]:
    """Lengths, returns and mean forward velocity of padded episodes (``mask``, ``rewards``: ``[N, T]``)."""
    lengths = mask.sum(axis=1)
    returns = np.where(mask, rewards, 0.0).sum(axis=1)
    stats: dict[str, Any] = {"lengths": lengths.astype(int).tolist(), "returns": [round(float(r), 1) for r in returns]}
    if index is not None:
        speed = np.where(mask, obs[..., index], 0.0).sum(axis=1) / np.maximum(lengths, 1)
        stats["forward_velocity"] = [round(float(v), 2) for v in speed]
    return stats


def trained_run(run_dir: Path) -> tuple[dict[str, Any], Any, Any, Any, Any]:
    """``(settings, algorithm, data, demonstrations, progress)`` of an ``irlax train`` run directory at its last
    checkpoint (finished or not; DAgger's data holds the expert's parameters beside the demonstrations)."""
    settings = resumed_settings(run_dir, "train", required={"seeds": (int, 1)})
    if not (run_dir / CHECKPOINT).exists():
        raise IrlaxError(f"{run_dir} has no checkpoint yet")
    where = str(run_dir / "config.json")
    if settings.get("algorithm") == dagger.NAME:
        dagger_run = dagger.resolve_run(settings, where)
        algo, data, demos = dagger_run.algo, dagger_run.data, dagger_run.data.demos
    else:
        run = resolve_run(settings, where)
        algo, data, demos = run.algo, run.demos, run.demos
    return settings, algo, data, demos, Driver(algo, data, settings["seeds"]).load(run_dir / CHECKPOINT)


def run_stats(run_dir: Path, episodes: int) -> dict[str, Any]:
    """Per-seed episode statistics of ``run_dir``'s policies at its last checkpoint, and the demonstrations'."""
    settings, algo, data, demos, progress = trained_run(run_dir)
    if algo.act is None:
        raise IrlaxError(f"{algo.name} has no policy to run")
    params = jax.vmap(algo.policy, in_axes=(0, None))(progress.state, data)
    index = velocity_index(algo.env.name)
    seeds = []
    for s in range(settings["seeds"]):
        seed_params = jax.tree.map(lambda x, s=s: x[s], params)
        ep = policy_episodes_jit(algo.act, algo.env, seed_params, jax.random.PRNGKey(s), episodes, True)
        seeds.append(episode_stats(np.asarray(ep.mask), np.asarray(ep.transitions.env_reward),
                                   np.asarray(ep.transitions.obs), index))
    demo_stats = episode_stats(np.asarray(demos.mask), np.asarray(demos.rewards), np.asarray(demos.obs), index)
    return {"run": str(run_dir), "env": algo.env.name, "done": int(progress.done), "seeds": seeds,
            "demonstrations": demo_stats}


def script_main(parser: argparse.ArgumentParser, argv: list[str] | None,
                report: Callable[[argparse.Namespace], None]) -> int:
    """A run-reading script's entry point: ``report(args)`` on ``argv`` parsed by ``parser`` (a
    :class:`~irlax.cli.runs.OneLineParser`); 0, or 2 after a one-line ``irlax: error: ...`` (bad options too)."""
    args = parser.parse_args(argv)
    try:
        report(args)
    except IrlaxError as exc:
        print(f"irlax: error: {exc}", file=sys.stderr)
        return 2
    return 0


def print_stats(args: argparse.Namespace) -> None:
    """Print ``args.run_dir``'s policies' deterministic episodes beside the demonstrations'."""
    if args.episodes < 1:
        raise IrlaxError("--episodes must be at least 1")
    stats = run_stats(args.run_dir, args.episodes)
    print(f"{stats['env']}, {stats['run']} at {stats['done']}:")
    for s, seed in enumerate(stats["seeds"]):
        print(f"  seed {s}: {seed}")
    print(f"  demonstrations: {stats['demonstrations']}")


def main(argv: list[str] | None = None) -> int:
    """Print a run's policies' deterministic episodes; 0, or 2 after a one-line error."""
    parser = OneLineParser(prog="policy_episodes.py", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="an irlax run directory (finished or not)")
    parser.add_argument("--episodes", type=int, default=4, help="deterministic episodes per seed (default 4)")
    return script_main(parser, argv, print_stats)


if __name__ == "__main__":
    raise SystemExit(main())
