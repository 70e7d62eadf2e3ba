"""What a trained ``irlax train`` run's learned reward pays: on the demonstrations' steps, near them, and for a fall.

A diagnostic for the MuJoCo cells (``benchmarks/mujoco_irl.py``): a re-optimised score says whether a fresh
learner can learn the task from the frozen learned reward, not why. This loads a run directory's last checkpoint
(finished or not), takes each seed's learned reward (the one ``irlax train`` exports and re-optimises: GAIL's
logit, AIRL's ``g``, GCL's reward) and prints per seed its mean (and 5th to 95th percentile) over the
demonstrations' real steps; its mean on the same steps with Gaussian noise added to the states (``--noise``, the
next states alike), which tells a reward that is flat around the demonstrations; and its mean on the same steps
marked terminated, which adds the absorbing state's value where the method learns one (GAIL, AIRL, GCL): what a
fall costs. Staying up for ever is worth about ``mean / (1 - gamma)`` against that.

Run: ``PYTHONPATH=src python benchmarks/reward_levels.py RUN_DIR [--noise SIGMA]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from policy_episodes import script_main, trained_run

from irlax.cli.runs import OneLineParser
from irlax.errors import IrlaxError


def levels(values: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Mean and 5th / 95th percentiles of ``values`` (``[N, T]``) over the real steps (``mask``)."""
    real = np.asarray(values)[np.asarray(mask, bool)]
    return {"mean": round(float(real.mean()), 3), "p5": round(float(np.percentile(real, 5)), 3),
            "p95": round(float(np.percentile(real, 95)), 3)}


def run_levels(run_dir: Path, noise: float = 0.3, seed: int = 0) -> dict[str, Any]:
    """Per seed, the learned reward's :func:`levels` on the demonstrations' steps (``demos``), on them with noise of
    scale ``noise`` added to the states (``noisy``: mean only) and on them marked terminated (``terminated``)."""
    settings, algo, data, demos, progress = trained_run(run_dir)
    if algo.reward_fn is None:
        raise IrlaxError(f"{algo.name} learns no reward")
    params = jax.vmap(algo.reward, in_axes=(0, None))(progress.state, data)
    obs, actions, next_obs, mask = demos.obs, demos.actions, demos.next_obs, np.asarray(demos.mask, bool)
    shift = noise * jax.random.normal(jax.random.PRNGKey(seed), obs.shape)
    alive, fallen = jnp.zeros(mask.shape, bool), jnp.ones(mask.shape, bool)
    over_steps = (None, 0, 0, 0, 0)  # one seed's parameters, every step of every episode
    reward = jax.jit(jax.vmap(jax.vmap(algo.reward_fn, in_axes=over_steps), in_axes=over_steps))
    seeds = []
    for s in range(settings["seeds"]):
        seed_params = jax.tree.map(lambda x, s=s: x[s], params)
        seeds.append({"demos": levels(reward(seed_params, obs, actions, next_obs, alive), mask),
                      "noisy": levels(reward(seed_params, obs + shift, actions, next_obs + shift, alive), mask)["mean"],
                      "terminated": levels(reward(seed_params, obs, actions, next_obs, fallen), mask)["mean"]})
    return {"run": str(run_dir), "env": algo.env.name, "algorithm": algo.name, "done": int(progress.done),
            "noise": noise, "seeds": seeds}


def print_levels(args: argparse.Namespace) -> None:
    """Print ``args.run_dir``'s learned reward's levels per seed."""
    if not np.isfinite(args.noise) or args.noise < 0:
        raise IrlaxError(f"--noise must be a finite number at least 0, not {args.noise}")
    result = run_levels(args.run_dir, args.noise)
    print(f"{result['algorithm']} on {result['env']}, {result['done']} rounds: the learned reward per seed")
    for s, row in enumerate(result["seeds"]):
        d = row["demos"]
        print(f"seed {s}: on the demonstrations' steps {d['mean']:.2f} (5-95%: {d['p5']:.2f} to {d['p95']:.2f}); "
              f"states with noise {result['noise']:g}: {row['noisy']:.2f}; the same steps terminated: "
              f"{row['terminated']:.2f}")


def main(argv: list[str] | None = None) -> int:
    """Print a run's learned reward's levels; 0, or 2 after a one-line error."""
    parser = OneLineParser(prog="reward_levels.py", description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="an irlax train run directory (finished or not)")
    parser.add_argument("--noise", type=float, default=0.3, help="scale of the Gaussian noise added to the states")
    return script_main(parser, argv, print_levels)


if __name__ == "__main__":
    raise SystemExit(main())
