"""stable-baselines3 PPO on CartPole-v1: environment steps per second (the baseline of ``ppo_speed.py``).

Runs in its own virtual environment (``benchmarks/.venv-sb3``, made by
``ppo_speed.py``) because SB3 needs PyTorch. The setting matches irlax's
benchmark: 16 ``DummyVecEnv`` environments, 128 steps each per rollout, 4
epochs, minibatches of 64, separate 64 x 64 tanh actor and critic, CPU.

Run: ``benchmarks/.venv-sb3/bin/python benchmarks/sb3_ppo_cartpole.py --steps 65536``;
prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium
import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env


def main() -> None:
    """Time ``model.learn`` after a warm-up rollout and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=65_536, help="timed environment steps")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the best is reported too)")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--num-epochs", type=int, default=4)
    parser.add_argument("--minibatch-size", type=int, default=64)
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="PyTorch CPU threads (1 is SB3's fastest for a 64 x 64 MLP)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)

    env = make_vec_env("CartPole-v1", n_envs=args.num_envs, seed=0)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=args.num_steps,
        batch_size=args.minibatch_size,
        n_epochs=args.num_epochs,
        policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": torch.nn.Tanh},
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(total_timesteps=args.num_envs * args.num_steps)  # warm-up: one iteration
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.learn(total_timesteps=args.steps, reset_num_timesteps=False)
        seconds.append(time.perf_counter() - start)
    rates = [args.steps / s for s in seconds]
    print(
        json.dumps(
            {
                "steps": args.steps,
                "seconds": seconds,
                "steps_per_s": sorted(rates)[len(rates) // 2],
                "steps_per_s_all": rates,
                "torch": torch.__version__,
                "torch_threads": torch.get_num_threads(),
                "stable_baselines3": stable_baselines3.__version__,
                "gymnasium": gymnasium.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
