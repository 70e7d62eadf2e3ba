"""sbx's SAC on Hopper-v5 with irlax's MuJoCo preset: the training curve, to set beside irlax's expert cell.

A diagnostic for the MuJoCo experts benchmark (``mujoco_experts.py``): the same settings as irlax's
``MUJOCO_SAC`` (256 x 256 ReLU actor and twin critics, batches of 256, one gradient step per environment
step, 10k random steps, a buffer of 1M, learning rate 3e-4, gamma 0.99, tau 0.005, automatic entropy
with target -|A|) in sbx (the JAX port of stable-baselines3), one environment, ``--seed``. Records every
training episode's return (stochastic policy, as irlax's training metrics) and reports the mean per
``--bin`` environment steps.

Run (in sbx's own virtual environment, made by ``mujoco_speed_venvs.py``):
``JAX_PLATFORMS=cpu benchmarks/.venv-sbx/bin/python benchmarks/sac_hopper_side.py --steps 60000``.
Prints one JSON object on its last line: settings, versions, ``bins`` (bin end step, mean return,
episodes) and ``seconds``.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium
import numpy as np


def main() -> None:
    """Train sbx's SAC on Hopper-v5, print the binned training returns as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bin", type=int, default=5_000, help="environment steps per reported bin")
    args = parser.parse_args()

    import sbx
    from stable_baselines3.common.callbacks import BaseCallback

    env = gymnasium.wrappers.DtypeObservation(gymnasium.make("Hopper-v5"), np.float32)
    episodes: list[tuple[int, float]] = []

    class Record(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.total = 0.0

        def _on_step(self) -> bool:
            self.total += float(self.locals["rewards"][0])
            if self.locals["dones"][0]:
                episodes.append((self.num_timesteps, self.total))
                self.total = 0.0
            return True

    model = sbx.SAC("MlpPolicy", env, learning_rate=3e-4, buffer_size=1_000_000, learning_starts=10_000,
                    batch_size=256, tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1,
                    policy_kwargs={"net_arch": [256, 256]}, seed=args.seed, verbose=0)
    start = time.perf_counter()
    model.learn(args.steps, callback=Record())
    seconds = time.perf_counter() - start
    bins = []
    for end in range(args.bin, args.steps + 1, args.bin):
        returns = [r for step, r in episodes if end - args.bin < step <= end]
        bins.append({"end": end, "mean_return": float(np.mean(returns)) if returns else None,
                     "episodes": len(returns)})
        print(f"{end:>7} {bins[-1]['mean_return']} ({len(returns)} episodes)", flush=True)
    print(json.dumps({"library": "sbx", "version": sbx.__version__, "env": "Hopper-v5", "seed": args.seed,
                      "steps": args.steps, "seconds": seconds, "bins": bins}))


if __name__ == "__main__":
    main()
