"""The ``imitation`` library's GAIL or AIRL on CartPole-v1 or Pendulum-v1: a learning curve (the other side of irlax's).

Runs in its own virtual environment (``benchmarks/.imitation-venv``, made by ``imitation_venv.py``)
because ``imitation`` needs PyTorch and Stable-Baselines3; it imports neither irlax nor JAX. It
reads irlax's demonstrations (``.npz``, with numpy only), trains ``imitation``'s GAIL or AIRL
with ``trainer.train(steps, callback=...)`` and after every ``--eval-every`` environment steps
(at the first round boundary at or past it; a round is ``8 envs x n_steps`` generator steps)
evaluates the generator policy on the TRUE task: ``--eval-episodes`` deterministic episodes of
gymnasium's ``CartPole-v1`` (ends when the pole falls, return up to 500) or ``Pendulum-v1``
(SB3's ``evaluate_policy``, ``deterministic=True``, one evaluation episode per environment of a
``DummyVecEnv``). Evaluations at step 0 and after the last round are always made. Each curve row
has the wall-clock (``train_seconds``) and the process's CPU time (``train_cpu_seconds``, one torch
thread: a figure that holds up when the machine is shared) of training so far, evaluation excluded;
``load_average_1min`` (at the start and end of training) says how shared the machine was.

Settings (``PPO_SETTINGS``, ``TRAINER_SETTINGS``; the generator's PPO runs on the CPU):

* CartPole: imitation's documented GAIL and AIRL tutorials (``docs/tutorials/3_train_gail.ipynb``
  and ``4_train_airl.ipynb`` of imitation 1.0): training env ``seals:seals/CartPole-v0`` (fixed
  500-step horizon) from ``imitation.util.util.make_vec_env(n_envs=8, post_wrappers=[
  RolloutInfoWrapper])``; GAIL: ``PPO(MlpPolicy, batch_size=64, ent_coef=0.0,
  learning_rate=4e-4, gamma=0.95, n_epochs=5)``, ``BasicRewardNet(normalize_input_layer=
  RunningNorm)``, ``GAIL(demo_batch_size=1024, gen_replay_buffer_capacity=512,
  n_disc_updates_per_round=8)``; AIRL: ``PPO(MlpPolicy, batch_size=64, ent_coef=0.0,
  learning_rate=5e-4, gamma=0.95, clip_range=0.1, vf_coef=0.1, n_epochs=5)``,
  ``BasicShapedRewardNet(normalize_input_layer=RunningNorm)``, ``AIRL(demo_batch_size=2048,
  gen_replay_buffer_capacity=512, n_disc_updates_per_round=16)``. All else is the libraries'
  defaults (PPO ``n_steps=2048``, so a round is 16384 steps). Differences from the tutorials:
  the demonstrations are irlax's (60 episodes of its CartPole-v1 expert, every one 500 steps,
  instead of 60 rollouts of HumanCompatibleAI's ``ppo-huggingface`` expert on seals CartPole);
  the seed is ``--seed`` (the tutorials use 42 for PPO and the env rng); evaluation is on
  gymnasium ``CartPole-v1``, not the training venv; the step budget is ``--steps`` (the
  tutorials train GAIL 200k and AIRL 2M steps), rounded UP to whole rounds; imitation's logger
  writes to a temporary folder with no stdout output and its progress bar is off.
* Pendulum: imitation documents no setting. Training env gymnasium ``Pendulum-v1`` (8 envs, same
  ``make_vec_env`` call), the generator is SB3 PPO with rl-baselines3-zoo's tuned
  ``Pendulum-v1`` hyperparameters (``hyperparams/ppo.yml``: ``n_steps=1024, gae_lambda=0.95,
  gamma=0.9, n_epochs=10, ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, use_sde=True,
  sde_sample_freq=4``, batch size 64 by default; the zoo uses 4 envs, here 8, so a round is 8192
  steps), with the CartPole GAIL / AIRL trainer and reward-net settings unchanged. The step budget
  (300k in ``imitation_venv.BUDGETS``) and why: see ``imitation_venv.py``.

* Hopper (``--task Hopper-v5``, for ``benchmarks/hopper_gail_side.py``; GAIL only): imitation's documented
  setting for GAIL on Hopper, ``benchmarking/example_gail_seals_hopper_best_hp_eval.json`` of its repository,
  in Gymnasium 0.29's ``Hopper-v4`` (8 envs) instead of its ``seals/Hopper-v0``: seals' Hopper adds the x position
  to the observation (12 numbers) and removes early termination, so irlax's demonstrations (11 numbers, of
  Hopper-v5, which 0.29 lacks: v4 has its physics and observation) don't fit it. SB3 PPO with
  ``n_steps=512`` (its ``rl.batch_size`` 4096 over the 8 envs), ``batch_size=512, clip_range=0.1,
  ent_coef=0.00126, gae_lambda=0.98, gamma=0.995,
  learning_rate=4.40e-5, max_grad_norm=0.9, n_epochs=20, vf_coef=0.203``, a ReLU 64 x 64 policy and value net
  on ``NormalizeFeaturesExtractor(RunningNorm)`` features; ``BasicRewardNet(normalize_input_layer=RunningNorm)``
  inside ``NormalizedRewardNet(normalize_output_layer=RunningNorm)``; ``GAIL(demo_batch_size=128,
  gen_replay_buffer_capacity=4096, n_disc_updates_per_round=8)``. Evaluation is in ``Hopper-v4`` too. The
  file's budget is 10M steps; the side by side runs both libraries for the same, smaller one.

If the demonstrations' episodes differ in length, ``allow_variable_horizon=True`` is passed (and
recorded in ``settings``); irlax's CartPole and Pendulum experts' episodes are all full length.

Run (inside the venv): ``benchmarks/.imitation-venv/bin/python benchmarks/imitation_side.py
--task CartPole-v1 --algo gail --seed 0 --demos benchmarks/.cache/demos-CartPole-v1-60.npz
--steps 800000 --eval-every 25000 --eval-episodes 10 --out run.json``. Writes the JSON
atomically (temporary file, then ``os.replace``); prints one line per evaluation.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # imitation's per-round progress bar (read when tqdm is imported)

import torch  # noqa: E402

torch.set_num_threads(1)

import gymnasium  # noqa: E402
import imitation  # noqa: E402
import numpy as np  # noqa: E402
import seals  # noqa: E402, F401  (registers seals/CartPole-v0)
import stable_baselines3  # noqa: E402
from imitation.algorithms.adversarial.airl import AIRL  # noqa: E402
from imitation.algorithms.adversarial.common import AdversarialTrainer  # noqa: E402
from imitation.algorithms.adversarial.gail import GAIL  # noqa: E402
from imitation.data.types import TrajectoryWithRew  # noqa: E402
from imitation.data.wrappers import RolloutInfoWrapper  # noqa: E402
from imitation.policies.base import NormalizeFeaturesExtractor  # noqa: E402
from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, NormalizedRewardNet  # noqa: E402
from imitation.util import logger as imit_logger  # noqa: E402
from imitation.util.networks import RunningNorm  # noqa: E402
from imitation.util.util import make_vec_env  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.evaluation import evaluate_policy  # noqa: E402
from stable_baselines3.common.monitor import Monitor  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv  # noqa: E402
from stable_baselines3.ppo import MlpPolicy  # noqa: E402

TRAIN_ENV = {"CartPole-v1": "seals:seals/CartPole-v0", "Pendulum-v1": "Pendulum-v1", "Hopper-v5": "Hopper-v4"}
EVAL_ENV = {"Hopper-v5": "Hopper-v4"}
"""The true task to evaluate on where Gymnasium 0.29 (imitation's) lacks irlax's version: Hopper-v4 (v5's dynamics
and observation; v5 fixed details of the healthy reward and termination, not the physics)."""
N_ENVS = 8
PPO_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    ("CartPole-v1", "gail"): {
        "batch_size": 64,
        "ent_coef": 0.0,
        "learning_rate": 0.0004,
        "gamma": 0.95,
        "n_epochs": 5,
    },
    ("CartPole-v1", "airl"): {
        "batch_size": 64,
        "ent_coef": 0.0,
        "learning_rate": 0.0005,
        "gamma": 0.95,
        "clip_range": 0.1,
        "vf_coef": 0.1,
        "n_epochs": 5,
    },
}
ZOO_PENDULUM_PPO: dict[str, Any] = {
    "n_steps": 1024,
    "gae_lambda": 0.95,
    "gamma": 0.9,
    "n_epochs": 10,
    "ent_coef": 0.0,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
    "use_sde": True,
    "sde_sample_freq": 4,
}
PPO_SETTINGS[("Pendulum-v1", "gail")] = ZOO_PENDULUM_PPO
PPO_SETTINGS[("Pendulum-v1", "airl")] = ZOO_PENDULUM_PPO
HOPPER_GAIL_PPO: dict[str, Any] = {
    # imitation's documented setting for GAIL on Hopper (benchmarking/example_gail_seals_hopper_best_hp_eval.json):
    # rl batch 4096 over 8 environments (n_steps 512), SB3 PPO with these kwargs, a 64 x 64 ReLU policy and value
    # net on RunningNorm-normalised features
    "n_steps": 512,
    "batch_size": 512,
    "clip_range": 0.1,
    "ent_coef": 0.001255299425412744,
    "gae_lambda": 0.98,
    "gamma": 0.995,
    "learning_rate": 4.3984856156897565e-5,
    "max_grad_norm": 0.9,
    "n_epochs": 20,
    "vf_coef": 0.20315938606555833,
}
PPO_SETTINGS[("Hopper-v5", "gail")] = HOPPER_GAIL_PPO
TASK_TRAINER_SETTINGS: dict[tuple[str, str], dict[str, int]] = {
    ("Hopper-v5", "gail"): {"demo_batch_size": 128, "gen_replay_buffer_capacity": 4096, "n_disc_updates_per_round": 8},
}
"""imitation's documented trainer settings for a task, where they differ from the tutorials'
(:data:`TRAINER_SETTINGS`)."""
NORMALIZED_POLICY = {"Hopper-v5"}
"""Tasks whose documented setting normalises the policy's input features and the reward's output (RunningNorm)."""
TRAINER_SETTINGS: dict[str, dict[str, int]] = {
    "gail": {"demo_batch_size": 1024, "gen_replay_buffer_capacity": 512, "n_disc_updates_per_round": 8},
    "airl": {"demo_batch_size": 2048, "gen_replay_buffer_capacity": 512, "n_disc_updates_per_round": 16},
}
REWARD_NET = {"gail": "BasicRewardNet", "airl": "BasicShapedRewardNet"}


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TRAIN_ENV), required=True)
    parser.add_argument("--algo", choices=sorted(TRAINER_SETTINGS), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demos", type=Path, required=True, help="irlax demonstrations (.npz)")
    parser.add_argument("--steps", type=int, required=True, help="generator env steps (rounded up to whole rounds)")
    parser.add_argument("--eval-every", type=int, required=True, help="env steps between evaluations")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True, help="JSON path")
    return parser.parse_args()


def load_demos(path: Path) -> list[TrajectoryWithRew]:
    """irlax's padded ``[N, T, ...]`` demonstrations as one ``TrajectoryWithRew`` per episode."""
    with np.load(path) as data:
        obs, next_obs, acts = data["obs"], data["next_obs"], data["actions"]
        rewards, mask = data["rewards"], data["mask"].astype(bool)
    trajectories = []
    for i in range(obs.shape[0]):
        length = int(mask[i].sum())
        assert mask[i, :length].all(), "an episode's real steps must be a prefix"
        trajectories.append(
            TrajectoryWithRew(
                obs=np.concatenate([obs[i, :length], next_obs[i, length - 1 : length]]).astype(np.float32),
                acts=acts[i, :length],
                infos=None,
                terminal=True,
                rews=rewards[i, :length].astype(np.float32),
            )
        )
    return trajectories


def make_eval_env(task: str, episodes: int, seed: int) -> VecEnv:
    """The true task, one environment per evaluation episode (at most 10), seeded once."""
    n_envs = min(episodes, 10)
    env = DummyVecEnv([lambda: Monitor(gymnasium.make(EVAL_ENV.get(task, task))) for _ in range(n_envs)])
    env.seed(seed)
    return env


def build_trainer(
    args: argparse.Namespace, demos: list[TrajectoryWithRew], log_dir: Path
) -> tuple[AdversarialTrainer, PPO, dict[str, Any]]:
    """The GAIL / AIRL trainer, its PPO generator and the settings used (for the JSON)."""
    rng = np.random.default_rng(args.seed)
    venv = make_vec_env(
        TRAIN_ENV[args.task],
        rng=rng,
        n_envs=N_ENVS,
        post_wrappers=[lambda env, _: RolloutInfoWrapper(env)],
    )
    ppo_kwargs = PPO_SETTINGS[(args.task, args.algo)]
    normalized = args.task in NORMALIZED_POLICY
    policy_kwargs = {"activation_fn": torch.nn.ReLU, "features_extractor_class": NormalizeFeaturesExtractor,
                     "features_extractor_kwargs": {"normalize_class": RunningNorm},
                     "net_arch": {"pi": [64, 64], "vf": [64, 64]}} if normalized else None
    learner = PPO(env=venv, policy=MlpPolicy, seed=args.seed, device="cpu", verbose=0, policy_kwargs=policy_kwargs,
                  **ppo_kwargs)
    net_cls = BasicRewardNet if args.algo == "gail" else BasicShapedRewardNet
    reward_net = net_cls(
        observation_space=venv.observation_space,
        action_space=venv.action_space,
        normalize_input_layer=RunningNorm,
    )
    if normalized:
        reward_net = NormalizedRewardNet(reward_net, normalize_output_layer=RunningNorm)
    lengths = {len(t) for t in demos}
    variable_horizon = len(lengths) > 1
    trainer_cls = GAIL if args.algo == "gail" else AIRL
    trainer_kwargs = TASK_TRAINER_SETTINGS.get((args.task, args.algo), TRAINER_SETTINGS[args.algo])
    logger = imit_logger.configure(folder=log_dir, format_strs=["log"])
    trainer = trainer_cls(
        demonstrations=demos,
        venv=venv,
        gen_algo=learner,
        reward_net=reward_net,
        log_dir=log_dir,
        custom_logger=logger,
        allow_variable_horizon=variable_horizon,
        **trainer_kwargs,
    )
    settings = {
        "train_env": TRAIN_ENV[args.task],
        "eval_env": EVAL_ENV.get(args.task, args.task),
        "n_envs": N_ENVS,
        "ppo": {**ppo_kwargs, "policy": "MlpPolicy", "n_steps": learner.n_steps, "batch_size": learner.batch_size},
        "reward_net": REWARD_NET[args.algo],
        "normalize_input_layer": "RunningNorm",
        "policy_features": "NormalizeFeaturesExtractor(RunningNorm), ReLU 64 x 64" if normalized else "MlpPolicy",
        "normalize_output_layer": "RunningNorm" if normalized else None,
        "trainer": dict(trainer_kwargs),
        "round_steps": trainer.gen_train_timesteps,
        "allow_variable_horizon": variable_horizon,
        "demo_lengths": sorted(lengths),
        "eval_deterministic": True,
    }
    return trainer, learner, settings


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(payload, handle, indent=1)
    os.replace(tmp, path)


def main() -> None:
    """Train, evaluating along the way, and write the JSON."""
    args = parse_args()
    demos = load_demos(args.demos)
    with tempfile.TemporaryDirectory(prefix="imitation-side-") as log_dir:
        trainer, learner, settings = build_trainer(args, demos, Path(log_dir))
        eval_env = make_eval_env(args.task, args.eval_episodes, args.seed + 10_000)
        round_steps = trainer.gen_train_timesteps
        n_rounds = max(1, math.ceil(args.steps / round_steps))
        curve: list[dict[str, float]] = []
        # wall-clock and CPU seconds: training starts, evaluation so far (subtracted)
        clock = {"start": 0.0, "eval": 0.0, "cpu_start": 0.0, "cpu_eval": 0.0, "next": float(args.eval_every)}

        def evaluate(env_steps: int) -> None:
            start, cpu_start = time.perf_counter(), time.process_time()
            trained = bool(clock["start"])
            returns, _ = evaluate_policy(
                learner, eval_env, n_eval_episodes=args.eval_episodes, deterministic=True, return_episode_rewards=True
            )
            row = {
                "env_steps": env_steps,
                "train_seconds": start - clock["start"] - clock["eval"] if trained else 0.0,
                "train_cpu_seconds": cpu_start - clock["cpu_start"] - clock["cpu_eval"] if trained else 0.0,
                "mean_return": float(np.mean(returns)),
            }
            curve.append(row)
            print(json.dumps(row), flush=True)
            clock["eval"] += time.perf_counter() - start
            clock["cpu_eval"] += time.process_time() - cpu_start

        def callback(round_index: int) -> None:
            env_steps = int(learner.num_timesteps)
            if env_steps >= clock["next"] or round_index == n_rounds - 1:
                evaluate(env_steps)
                while clock["next"] <= env_steps:
                    clock["next"] += args.eval_every

        evaluate(0)
        clock["eval"] = clock["cpu_eval"] = 0.0
        load_start = os.getloadavg()[0]
        clock["start"], clock["cpu_start"] = time.perf_counter(), time.process_time()
        trainer.train(n_rounds * round_steps, callback=callback)
        total_train_seconds = time.perf_counter() - clock["start"] - clock["eval"]
        total_train_cpu_seconds = time.process_time() - clock["cpu_start"] - clock["cpu_eval"]
    payload = {
        "library": "imitation",
        "version": imitation.__version__,
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
        "torch_threads": torch.get_num_threads(),
        "task": args.task,
        "algo": args.algo,
        "seed": args.seed,
        "steps": args.steps,
        "demos": str(args.demos),
        "demo_episodes": len(demos),
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "settings": settings,
        "curve": curve,
        "final_return": curve[-1]["mean_return"],
        "total_train_seconds": total_train_seconds,
        "total_train_cpu_seconds": total_train_cpu_seconds,
        "load_average_1min": [load_start, os.getloadavg()[0]],
        "total_env_steps": int(learner.num_timesteps),
    }
    write_json(args.out, payload)


if __name__ == "__main__":
    main()
