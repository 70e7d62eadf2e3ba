"""SAC on MuJoCo HalfCheetah-v5 in stable-baselines3 or sbx: environment steps per second of training.

The baseline side of the SAC speed comparison; runs in the library's own virtual environment
(``benchmarks/.venv-sb3-mujoco`` for ``--library sb3``, ``benchmarks/.venv-sbx`` for ``sbx``,
made by ``mujoco_speed_venvs.py``, whose ``run_side`` runs this script). Same settings in both:
SAC with ``MlpPolicy``, ReLU MLPs of 256 x 256 for the actor and each of the two Q networks,
batches of 256, one gradient step per environment step (``train_freq=1, gradient_steps=1``),
``learning_starts`` from the command line (default 10_000), a 1_000_000-transition buffer,
learning rate 3e-4 (actor, critics and entropy coefficient, Adam), gamma 0.99, tau 0.005, automatic
entropy coefficient (initial 1.0) with target entropy -|A| (-6), one environment (``DummyVecEnv``),
``seed=0``, CPU, float32 (observations cast to float32 by ``gymnasium.wrappers.DtypeObservation``,
HalfCheetah's own being float64, so both libraries store and train on float32).

Timing: an untimed ``learn(learning_starts + warmup_steps)`` first (the random-action steps before
learning starts, and sbx's JIT compilation, happen there), then ``learn(steps,
reset_num_timesteps=False)`` timed with ``time.perf_counter``: every timed step is past
``learning_starts``, so each one is an environment step plus one gradient step.

Run: ``benchmarks/.venv-sb3-mujoco/bin/python benchmarks/sac_speed_side.py --library sb3 --steps
3000 --learning-starts 1000 --torch-threads 1`` (or ``benchmarks/.venv-sbx/bin/python ... --library
sbx``, best with ``JAX_PLATFORMS=cpu``). Prints one JSON object on its last line: ``library``,
``version``, ``steps``, ``seconds``, ``sps``, ``learning_starts``, and ``torch_threads`` (sb3) or
``jax_version`` (sbx), with the other versions and settings beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import gymnasium
import mujoco
import numpy as np

ENV_ID = "HalfCheetah-v5"


def make_env() -> gymnasium.Env:
    """HalfCheetah-v5 with float32 observations."""
    return gymnasium.wrappers.DtypeObservation(gymnasium.make(ENV_ID), np.float32)


def sac_kwargs(env: gymnasium.Env, learning_starts: int, seed: int) -> dict[str, Any]:
    """The SAC settings common to both libraries."""
    return {
        "learning_rate": 3e-4,
        "buffer_size": 1_000_000,
        "learning_starts": learning_starts,
        "batch_size": 256,
        "tau": 0.005,
        "gamma": 0.99,
        "train_freq": 1,
        "gradient_steps": 1,
        "ent_coef": "auto",
        "target_entropy": -float(np.prod(env.action_space.shape)),
        "policy_kwargs": {"net_arch": [256, 256], "n_critics": 2},
        "seed": seed,
        "device": "cpu",
        "verbose": 0,
    }


def build(library: str, learning_starts: int, seed: int, torch_threads: int) -> tuple[Any, dict[str, Any]]:
    """The SAC model of ``library`` and the versions to report."""
    env = make_env()
    kwargs = sac_kwargs(env, learning_starts, seed)
    if library == "sb3":
        import stable_baselines3
        import torch

        torch.set_num_threads(torch_threads)
        model = stable_baselines3.SAC("MlpPolicy", env, **kwargs)
        info = {
            "version": stable_baselines3.__version__,
            "torch_version": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        }
    else:
        import jax
        import sbx

        model = sbx.SAC("MlpPolicy", env, **kwargs)
        info = {
            "version": sbx.__version__,
            "jax_version": jax.__version__,
            "jax_devices": [str(d) for d in jax.devices()],
            "jax_x64": bool(jax.config.jax_enable_x64),
        }
    return model, info


def main() -> None:
    """Warm up, time ``model.learn`` and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", choices=("sb3", "sbx"), required=True)
    parser.add_argument("--steps", type=int, default=20_000, help="timed environment steps")
    parser.add_argument("--learning-starts", type=int, default=10_000)
    parser.add_argument("--warmup-steps", type=int, default=1000, help="untimed steps past learning_starts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch CPU threads (sb3)")
    args = parser.parse_args()
    if args.warmup_steps < 1:
        parser.error("--warmup-steps must be at least 1 (the timed part must start past learning_starts)")

    model, info = build(args.library, args.learning_starts, args.seed, args.torch_threads)
    warmup = args.learning_starts + args.warmup_steps
    start = time.perf_counter()
    model.learn(total_timesteps=warmup)
    warmup_seconds = time.perf_counter() - start
    assert model.num_timesteps > args.learning_starts, (model.num_timesteps, args.learning_starts)
    updates_before = model._n_updates
    start, cpu_start = time.perf_counter(), time.process_time()
    model.learn(total_timesteps=args.steps, reset_num_timesteps=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    timed_steps = model.num_timesteps - warmup
    updates = model._n_updates - updates_before
    print(
        json.dumps(
            {
                "library": args.library,
                **info,
                "steps": timed_steps,
                "seconds": seconds,
                "sps": timed_steps / seconds,
                "cpu_seconds": cpu_seconds,  # this process's CPU time (all threads) in the timed part
                "learning_starts": args.learning_starts,
                "warmup_steps": warmup,
                "warmup_seconds": warmup_seconds,
                "gradient_steps_timed": updates,
                "seed": args.seed,
                "env": ENV_ID,
                "gymnasium": gymnasium.__version__,
                "mujoco": mujoco.__version__,
                "numpy": np.__version__,
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                "cpu_count": os.cpu_count(),
                "load_average": list(os.getloadavg()),  # at the end: the machine may be shared
            }
        )
    )


if __name__ == "__main__":
    main()
