"""The sample-based IRL algorithms by name (for the command line and the benchmarks), and re-optimisation.

:data:`SAMPLE_ALGORITHMS` maps ``"gcl"``, ``"gail"`` and ``"airl"`` to a
:class:`SampleAlgorithm`, the module's functions bundled: ``init(config, env, key,
demos)``, ``update(config, env, demos, state, num_rounds)`` and ``learned_reward(config,
env, demos)``, the reward to re-optimise as a ``reward_fn(params, obs, action, next_obs,
terminated)`` of ``state.reward_params``.

:func:`reoptimize` trains a fresh learner from scratch on a frozen learned reward
(the "...and then use it to learn pi*" of IRL), in the task it was learned in or
in another one (transfer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from jax import Array

from irlax.algorithms import airl, gail, gcl
from irlax.algorithms.sample_irl import RoundMetrics
from irlax.data.demos import Demonstrations
from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rl.learners import Learner, default_learner
from irlax.rl.rollout import RewardFn
from irlax.rl.sac import PRESET_STEPS


class SampleAlgorithm(NamedTuple):
    """A sample-based IRL algorithm's functions.

    Attributes:
        name: ``"gcl"``, ``"gail"`` or ``"airl"``.
        config: its frozen config dataclass.
        init: ``init(config, env, key, demos) -> state``.
        update: ``update(config, env, demos, state, num_rounds) -> (state, RoundMetrics [num_rounds])``.
        learned_reward: ``learned_reward(config, env, demos) -> reward_fn`` of ``state.reward_params``.
        description: one line for help texts.
    """

    name: str
    config: type
    init: Callable[..., Any]
    update: Callable[..., tuple[Any, RoundMetrics]]
    learned_reward: Callable[[Any, ControlEnv, Demonstrations], RewardFn]
    description: str


SAMPLE_ALGORITHMS: dict[str, SampleAlgorithm] = {
    "gcl": SampleAlgorithm(
        "gcl", gcl.GCLConfig, gcl.init, gcl.update, gcl.learned_reward,
        "sample-based MaxEnt IRL with importance weights, Guided Cost Learning (Finn et al. 2016)",
    ),
    "gail": SampleAlgorithm(
        "gail", gail.GAILConfig, gail.init, gail.update, gail.learned_reward,
        "generative adversarial imitation learning (Ho & Ermon 2016)",
    ),
    "airl": SampleAlgorithm(
        "airl", airl.AIRLConfig, airl.init, airl.update, airl.learned_reward,
        "adversarial IRL with a disentangled reward (Fu, Luo & Levine 2018)",
    ),
}
"""Every sample-based IRL algorithm, by name."""


def get_sample_algorithm(name: str) -> SampleAlgorithm:
    """The algorithm called ``name``; :class:`IrlaxError` listing the choices otherwise."""
    if name not in SAMPLE_ALGORITHMS:
        raise IrlaxError(f"unknown algorithm {name!r}; choose one of {', '.join(SAMPLE_ALGORITHMS)}")
    return SAMPLE_ALGORITHMS[name]


SAC_ROUND = {"policy_iterations": 100, "sample_envs": 4, "sample_steps": 25, "buffer_size": 10_000}
"""Round sizes with SAC (one env step per iteration): 100 learner steps and 100 discriminator samples a round."""

PPO_ROUND = {"sample_envs": 16, "sample_steps": 64}
"""Round sizes with PPO: one learner iteration (16 x 128 steps) and 1024 discriminator samples a round."""

GCL_SAC_ROUND = {"policy_iterations": 200, "episodes_per_round": 1}
"""GCL with SAC: 200 learner steps and one sampled episode a round."""

SAC_IRL_STEPS = {"Pendulum-v1": 10_000}
"""Learner steps of GCL, GAIL and AIRL with SAC where they differ from SAC's expert budget. On Pendulum-v1 the mean
return of 5 seeds peaked around 8k-10k steps and then drifted down (-158 at 10k, -229 and -603 at 20k for GAIL and
AIRL in ``benchmarks/imitation_compare.py``), and 3-seed tuning runs at 10k steps all scored 0.97-1.0 normalised."""


def preset(name: str, env_name: str, learner: str = "") -> Any:
    """The tuned config of algorithm ``name`` for the task ``env_name`` (round sizes by learner, rounds by task).

    ``learner`` (``"ppo"`` or ``"sac"``; empty: the task's default) is recorded in the config.

    With SAC (the continuous tasks) a round is 100 learner steps (200 for GCL) and the rounds add up to SAC's
    expert budget for the task (:data:`irlax.rl.sac.PRESET_STEPS`; :data:`SAC_IRL_STEPS` where it differs); with
    PPO a round is one PPO iteration and there are 100 rounds (about 300k environment steps with the samples).
    These were checked on CartPole-v1, Pendulum-v1 and PointMaze-v0 (``benchmarks/imitation_compare.py``,
    ``benchmarks/maze_transfer.py``).
    """
    algorithm = get_sample_algorithm(name)
    if (learner or default_learner(env_name)) != "sac":
        fields = {} if name == "gcl" else dict(PPO_ROUND)
        return algorithm.config(learner=learner, rounds=100, **fields)
    fields = GCL_SAC_ROUND if name == "gcl" else SAC_ROUND
    steps = SAC_IRL_STEPS.get(env_name, PRESET_STEPS.get(env_name, 20_000))
    return algorithm.config(learner=learner, rounds=max(1, steps // fields["policy_iterations"]), **fields)


def reoptimize(
    learner: Learner, learner_config: Any, env: ControlEnv, key: Array, total_steps: int,
    reward_fn: RewardFn, reward_params: Any,
) -> tuple[Any, Any]:
    """Train a fresh ``learner`` for ``total_steps`` steps of ``env`` on the frozen learned reward.

    ``env`` may differ from the task the reward was learned in (transfer: e.g. the shifted
    point maze). Pure; jit with ``learner``, ``learner_config``, ``env``, ``total_steps`` and
    ``reward_fn`` static, vmap over keys and reward parameters for several seeds.

    Returns:
        the learner's state and its metrics (their ``mean_return`` is the true return).
    """
    return learner.train(learner_config, env, key, total_steps, reward_fn, reward_params)
