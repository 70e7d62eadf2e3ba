"""The task table: every control task irlax knows, and everything it knows about each, in one entry.

A :class:`TaskSpec` says how to build the task (its backend), its true reward,
which learner trains its expert and with how many environment steps, the
learners' tuned configs for it, and how long the sample-based IRL algorithms
run on it. Adding a task is adding one entry to :data:`TASKS`.

Two backends: ``"jax"`` (gymnax's classic control and irlax's point maze,
stepped inside jitted code) and ``"gymnasium"`` (any registered Gymnasium id,
MuJoCo among them, stepped on the host: :mod:`irlax.envs.gym`). An id that is not
in the table is looked up in Gymnasium; an id that is in both (CartPole-v1,
Pendulum-v1, ...) is the pure-JAX task unless ``backend="gymnasium"`` is asked for.

:func:`make_env` builds a task's environment by name; :func:`learner_config`,
:func:`default_learner`, :func:`expert_steps`, :func:`true_reward_fn` read the table.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jax import Array

from irlax.envs import true_rewards
from irlax.envs.control import JaxEnv, gymnax_env, make_jax_env, modified_gymnax_env, point_maze_env
from irlax.envs.gym import BACKEND as GYMNASIUM
from irlax.envs.gym import GymEnv, make_gym_env
from irlax.errors import IrlaxError
from irlax.learners.ppo import PPOConfig
from irlax.learners.registry import get_learner_kind
from irlax.learners.sac import SACConfig

TrueRewardFn = Callable[[Array, Array, Array], Array]
"""``reward(obs [O], action, next_obs [O]) -> []``: a task's reward of one transition."""


@dataclass(frozen=True)
class TaskSpec:
    """One control task and what irlax knows about it.

    Attributes:
        name: the task's name, e.g. ``"CartPole-v1"``.
        build: ``build() -> (env, params)``, a gymnax-style environment and its parameters (``None`` for a
            Gymnasium task: the name is its id).
        true_reward: ``reward(obs, action, next_obs, params) -> []``, equal to the environment's reward
            (``None`` when it is not a function of the transition irlax knows, as for MuJoCo's rewards of
            positions outside the observation).
        constant_reward: whether that reward is one constant (then correlations with it are undefined).
        default_learner: the learner that trains the task's expert (``"ppo"`` or ``"sac"``).
        expert_steps: environment steps per seed of ``irlax expert`` (and of re-optimisation with PPO).
        learners: tuned learner configs by learner name (a learner not named here uses its defaults).
        sac_steps: environment steps with which the SAC preset was checked to learn; the budget of SAC-based
            IRL and re-optimisation (``None``: ``expert_steps``).
        irl_sac_steps: learner steps of GCL, GAIL and AIRL with SAC where they differ from ``sac_steps``.
        backend: what steps it: ``"jax"`` (a pure-JAX environment) or ``"gymnasium"`` (host-stepped).
    """

    name: str
    build: Callable[[], tuple[Any, Any]] | None = field(default=None, repr=False)
    true_reward: Callable[[Array, Array, Array, Any], Array] | None = field(default=None, repr=False)
    constant_reward: bool = False
    default_learner: str = "ppo"
    expert_steps: int = 100_000
    learners: dict[str, Any] = field(default_factory=dict, repr=False)
    sac_steps: int | None = None
    irl_sac_steps: int | None = None
    backend: str = "jax"


_FAST_SAC = {"hidden": (64, 64), "actor_lr": 1e-3, "critic_lr": 1e-3, "alpha_lr": 1e-3}

ACROBOT_PPO = PPOConfig(num_envs=16, num_steps=256, num_epochs=4, minibatch_size=256, gae_lambda=0.94)
"""rl-baselines3-zoo's Acrobot setting (16 envs x 256 steps, gae 0.94, 4 epochs, normalised observations), with
minibatches of 256 (Acrobot-v1 and AcrobotHeavy-v1)."""

PENDULUM_SAC = SACConfig(learning_starts=100, **_FAST_SAC)
"""rl-baselines3-zoo's Pendulum setting (learning rate 1e-3, SB3's 100 random steps) with 64 x 64 networks, which
learn as fast as 256 x 256 in environment steps at a tenth of the CPU time: a mean return better than -200 within
20k steps (benchmarks/sac_pendulum.py). Pendulum-v1 and PendulumHeavy-v1."""

MUJOCO_SAC = SACConfig(hidden=(256, 256), learning_starts=10_000, buffer_size=1_000_000, batch_size=256)
"""SAC on MuJoCo locomotion: the paper's and rl-baselines3-zoo's setting (256 x 256, batch 256, learning rate 3e-4,
10k random steps, a buffer of 1M, one gradient step per environment step)."""

MUJOCO_PPO = PPOConfig(num_envs=8, num_steps=256, num_epochs=10, minibatch_size=64, gae_lambda=0.95,
                       learning_rate=3e-4, normalize_obs=True, hidden=(64, 64))
"""PPO on MuJoCo locomotion: the paper's setting (2048 steps per update, 10 epochs of minibatches of 64, GAE 0.95,
normalised observations) spread over 8 environments of 256 steps."""


def _mujoco(name: str, expert: int = 300_000, **kwargs: Any) -> TaskSpec:
    sac = kwargs.pop("sac", MUJOCO_SAC)
    ppo = kwargs.pop("ppo", MUJOCO_PPO)
    return TaskSpec(name, backend=GYMNASIUM, default_learner="sac", expert_steps=expert, sac_steps=expert,
                    learners={"sac": sac, "ppo": ppo}, **kwargs)

TASKS: dict[str, TaskSpec] = {
    task.name: task
    for task in (
        TaskSpec(
            "CartPole-v1", functools.partial(gymnax_env, "CartPole-v1"), true_rewards.cartpole_reward,
            constant_reward=True, default_learner="ppo", expert_steps=500_000, sac_steps=20_000,
            learners={
                # SB3's settings with 16 x 128 steps: each of 8 seeds passed a mean return of 475 within 29k-61k
                # steps and stays at 500 to 500k steps (benchmarks/ppo_speed.py measures it).
                "ppo": PPOConfig(),
                # Discrete SAC (Christodoulou 2019): the paper's target entropy 0.98 log|A| drives the temperature
                # up without bound on CartPole; half of log|A| learns steadily.
                "sac": SACConfig(hidden=(64, 64), target_entropy_scale=0.5),
            },
        ),
        TaskSpec(
            "Acrobot-v1", functools.partial(gymnax_env, "Acrobot-v1"), true_rewards.acrobot_reward,
            default_learner="ppo", expert_steps=500_000,
            learners={
                "ppo": ACROBOT_PPO,
            },
        ),
        TaskSpec(
            "Pendulum-v1", functools.partial(gymnax_env, "Pendulum-v1"), true_rewards.pendulum_reward,
            default_learner="sac", expert_steps=20_000, sac_steps=20_000,
            # On Pendulum-v1 the mean return of 5 seeds of GAIL and AIRL peaked around 8k-10k steps and then
            # drifted down (-158 at 10k, -229 and -603 at 20k in benchmarks/imitation_compare.py), and 3-seed
            # tuning runs at 10k steps all scored 0.97-1.0 normalised.
            irl_sac_steps=10_000,
            learners={
                "sac": PENDULUM_SAC,
            },
        ),
        TaskSpec(
            "MountainCarContinuous-v0", functools.partial(gymnax_env, "MountainCarContinuous-v0"),
            true_rewards.mountain_car_reward, default_learner="sac", expert_steps=100_000, sac_steps=30_000,
            learners={
                # Hard exploration (+100 at the flag, an action cost on the way): uniformly random actions held
                # ~50 steps for the first 5k steps reach the flag often enough; with iid random actions SAC
                # settles on doing nothing.
                "sac": SACConfig(hidden=(64, 64), learning_starts=5000, random_hold=50.0),
            },
        ),
        TaskSpec(
            "PointMaze-v0", functools.partial(point_maze_env, False), true_rewards.point_maze_reward,
            default_learner="sac", expert_steps=100_000, sac_steps=30_000,
            learners={
                # Walking round the wall: a longer random phase and the faster learning rate; within 30k steps 7
                # of 8 seeds reach the goal (the eighth stays under the wall).
                "sac": SACConfig(learning_starts=5000, **_FAST_SAC),
            },
        ),
        # MuJoCo locomotion through Gymnasium (native physics on the CPU), SAC experts at 300k steps
        _mujoco("Hopper-v5"),
        _mujoco("HalfCheetah-v5"),
        _mujoco("Walker2d-v5"),
        _mujoco("Ant-v5"),
        # Swimmer needs a long horizon: rl-baselines3-zoo's gamma 0.9999
        _mujoco("Swimmer-v5", sac=dataclasses.replace(MUJOCO_SAC, gamma=0.9999),
                ppo=dataclasses.replace(MUJOCO_PPO, gamma=0.9999)),
        # a cheap MuJoCo task: SAC balances it within about 10k steps
        _mujoco("InvertedPendulum-v5", expert=20_000, sac=dataclasses.replace(MUJOCO_SAC, learning_starts=1000)),
        # Modified dynamics, to re-optimise learned rewards in (benchmarks/modified_dynamics.py), as jaxirl's
        # transfer suite: the same observations, actions and true reward as the original task.
        TaskSpec(
            "CartPoleGravity20-v1", functools.partial(modified_gymnax_env, "CartPole-v1", gravity=20.0),
            true_rewards.cartpole_reward, constant_reward=True, default_learner="ppo", expert_steps=500_000,
            learners={"ppo": PPOConfig()},
        ),
        TaskSpec(
            "AcrobotHeavy-v1", functools.partial(modified_gymnax_env, "Acrobot-v1", link_mass_1=1.5, link_mass_2=1.5),
            true_rewards.acrobot_reward, default_learner="ppo", expert_steps=500_000,
            learners={"ppo": ACROBOT_PPO},
        ),
        TaskSpec(
            "PendulumHeavy-v1", functools.partial(modified_gymnax_env, "Pendulum-v1", m=1.3, max_torque=2.5),
            true_rewards.pendulum_reward, default_learner="sac", expert_steps=20_000, sac_steps=20_000,
            irl_sac_steps=10_000, learners={"sac": PENDULUM_SAC},
        ),
        TaskSpec(
            # the original maze with starts anywhere in the arena: demonstrations that cover the maze (the
            # coverage AIRL's recovery guarantee needs, benchmarks/maze_transfer.py --learn-env)
            "PointMazeWideStart-v0", functools.partial(point_maze_env, False, start_anywhere=True),
            true_rewards.point_maze_reward, default_learner="sac", expert_steps=100_000, sac_steps=30_000,
            learners={"sac": SACConfig(learning_starts=5000, **_FAST_SAC)},
        ),
        TaskSpec(
            "PointMazeShifted-v0", functools.partial(point_maze_env, True), true_rewards.point_maze_reward,
            default_learner="sac", expert_steps=100_000, sac_steps=30_000,
            learners={
                # In the shifted maze (gap on the right) only 4 of 8 seeds reached the goal with PointMaze-v0's
                # setting; random actions held ~20 steps in the random phase brought all 8 there.
                "sac": SACConfig(learning_starts=5000, random_hold=20.0, **_FAST_SAC),
            },
        ),
    )
}
"""Every control task, by name."""


BACKENDS = ("jax", GYMNASIUM)
"""The backends a task can run on."""

Env = JaxEnv | GymEnv
"""A control task's environment: pure-JAX or host-stepped."""


def get_task(name: str) -> TaskSpec:
    """The task table's entry for ``name``; :class:`IrlaxError` naming close matches and the choices otherwise."""
    if name in TASKS:
        return TASKS[name]
    close = difflib.get_close_matches(name, list(TASKS), n=3)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise IrlaxError(f"unknown environment {name!r}{hint}; choose one of {', '.join(TASKS)}")


def task_backend(name: str, backend: str | None = None) -> str:
    """The backend a run of ``name`` uses: ``backend`` when given, else the table's, else Gymnasium's.

    Raises:
        IrlaxError: an unknown backend, or ``"jax"`` for a task without a pure-JAX version.
    """
    if backend is not None and backend not in BACKENDS:
        raise IrlaxError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    table = TASKS[name].backend if name in TASKS else None
    if backend == "jax" and table != "jax":
        raise IrlaxError(f"{name} has no pure-JAX version (those are {', '.join(jax_tasks())}); "
                         f"use the {GYMNASIUM} backend")
    return backend or table or GYMNASIUM


def in_both(name: str) -> bool:
    """Whether ``name`` is a pure-JAX task of the table and also a registered Gymnasium id."""
    if name not in TASKS or TASKS[name].backend != "jax":
        return False
    import gymnasium

    return name in gymnasium.registry


def jax_tasks() -> list[str]:
    """The tasks with a pure-JAX environment."""
    return [name for name, task in TASKS.items() if task.backend == "jax"]


@functools.cache
def make_env(name: str, backend: str | None = None) -> Env:
    """The environment of the task called ``name`` (built once per process).

    Args:
        name: a task of :data:`TASKS`, or any registered Gymnasium id (``"module:Id-v0"`` imports ``module``
            first, for an environment of one's own).
        backend: ``"jax"`` or ``"gymnasium"``; ``None``: the table's backend, else Gymnasium.

    Raises:
        IrlaxError: an unknown name (with close matches), or an environment irlax cannot run.
    """
    if task_backend(name, backend) == GYMNASIUM:
        try:
            return make_gym_env(name)
        except IrlaxError as exc:
            if name in TASKS or ":" in name or "unknown environment" not in str(exc):
                raise
            close = difflib.get_close_matches(name, list(TASKS), n=3)
            raise IrlaxError(f"{exc}" + (f"; irlax's own tasks near it: {', '.join(close)}" if close else "")) from exc
    task = get_task(name)
    env, params = task.build()
    return make_jax_env(task.name, env, params)


def default_learner(name: str, spec: Any = None) -> str:
    """The learner that trains the task's expert: the table's; else SAC for continuous actions, PPO otherwise."""
    if name in TASKS:
        return TASKS[name].default_learner
    return "sac" if spec is not None and not spec.discrete else "ppo"


def learner_config(name: str, learner: str) -> Any:
    """Learner ``learner``'s tuned config for the task ``name`` (its defaults where none is tuned)."""
    kind = get_learner_kind(learner)
    tuned = TASKS[name].learners.get(learner) if name in TASKS else None
    return tuned if tuned is not None else kind.config()


def expert_steps(name: str) -> int:
    """Environment steps per seed of ``irlax expert`` on the task (100k where the task is unknown)."""
    return TASKS[name].expert_steps if name in TASKS else 100_000


def learner_budget(name: str, learner: str) -> int:
    """A learner's usual budget on the task: SAC's checked steps where known, else the expert steps.

    The default of re-optimisation on a learned reward.
    """
    task = TASKS.get(name)
    if learner == "sac" and task is not None and task.sac_steps is not None:
        return task.sac_steps
    return expert_steps(name)


def irl_learner_steps(name: str) -> int:
    """Learner steps of the SAC-based IRL algorithms on the task (20k where nothing is known)."""
    task = TASKS.get(name)
    if task is None:
        return 20_000
    if task.irl_sac_steps is not None:
        return task.irl_sac_steps
    return task.sac_steps if task.sac_steps is not None else 20_000


def has_true_reward(env: Env) -> bool:
    """Whether irlax knows the environment's reward as a function of a transition (pure-JAX tasks do)."""
    task = TASKS.get(env.name)
    return env.spec.backend == "jax" and task is not None and task.true_reward is not None


def true_reward_fn(env: JaxEnv) -> TrueRewardFn:
    """The environment's own reward, ``reward(obs [O], action, next_obs [O]) -> []``, with its params bound.

    Equal to the ``reward`` of :meth:`JaxEnv.step` for the same transition. Pure and jittable; build it
    once and reuse it where it is a static argument of ``jax.jit`` (each call returns a new object).

    Raises:
        IrlaxError: a task without a known reward (see :func:`has_true_reward`).
    """
    if not has_true_reward(env):
        raise IrlaxError(f"the reward of {env.name} ({env.spec.backend}) is not known to irlax as a function "
                         f"of a transition")
    return functools.partial(get_task(env.name).true_reward, params=env.params)


def is_constant_reward(env: Env) -> bool:
    """Whether the task's reward is one constant (CartPole's ``+1``), so correlations with it are undefined.

    Acrobot is not: its ``-1`` per step becomes ``0`` on the step that reaches the goal.
    """
    task = TASKS.get(env.name)
    return task is not None and task.constant_reward
