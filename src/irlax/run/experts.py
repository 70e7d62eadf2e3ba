"""Experts: train a learner on a control task's true reward, keep the best seed, save and load it.

An expert is a learner's *policy parameters* (``learner.policy_params(agent)``)
plus everything needed to rebuild the policy exactly: the task, the learner and
its config. On disk it is a directory::

    <expert dir>/
        expert.json   env, learner, config fields, evaluation returns (mean, std;
                      stochastic and deterministic), every seed's mean return with
                      their IQM and its 95% CI (seed_returns; seed_deterministic_returns
                      the deterministic policies'), env steps, seconds, irlax version
        policy.npz    the policy parameters' leaves (irlax.report.checkpoint format)

Training (:func:`train_expert`) runs ``K`` seeds at once through the run driver
(:class:`irlax.run.driver.Driver`) with :func:`expert_program`, in chunks of
iterations, so that a caller can show progress and checkpoint; chunking gives the
same result as one call, because the learner's ``update`` is one ``lax.scan`` over
iterations and its state carries its key.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax import tasks
from irlax.algorithms.base import Algorithm
from irlax.atomic import atomic_write_json
from irlax.envs.control import JaxEnv
from irlax.errors import IrlaxError
from irlax.learners import base, host
from irlax.learners.base import Learner, LearnerMetrics, LearnerState
from irlax.learners.evaluation import evaluate_policies, evaluate_policy_jit
from irlax.learners.registry import learner_config_from_dict, make_learner
from irlax.metrics.aggregate import seed_summary
from irlax.report.checkpoint import load_pytree, save_pytree
from irlax.run.driver import Driver, Progress

EXPERT_JSON = "expert.json"
POLICY_FILE = "policy.npz"


class Expert(NamedTuple):
    """A trained policy and how to rebuild it.

    Attributes:
        env: the environment it acts in.
        learner: the learner that trained it (its config and task bound).
        params: the policy parameters (``learner.policy_params(agent)`` of one seed).
        info: the JSON-able description written to ``expert.json``.
    """

    env: JaxEnv
    learner: Learner
    params: Any
    info: dict[str, Any]

    def act(self, key: Array, obs: Array, deterministic: bool = False) -> tuple[Array, Array]:
        """``(action, log_prob)`` for one observation ``obs [O]``."""
        return self.learner.act(self.params, key, obs, deterministic)


def expert_program(learner: Learner, env: JaxEnv, total_steps: int) -> Algorithm:
    """Training ``learner`` on ``env``'s true reward as a program for the run driver (its data is ``None``).

    ``update``'s unit is one learner iteration; a whole run is ``learner.iterations_for(total_steps)`` of them.
    """
    return Algorithm(
        name=learner.name, config=learner.config, num_steps=learner.iterations_for(total_steps),
        init=lambda key, data: base.init_state(learner, env, key),
        update=lambda state, data, n: base.update(learner, env, state, n),
        metrics=LearnerMetrics, policy=lambda state, data: learner.policy_params(state.agent), act=learner,
        spec=env.spec, env=env, learner=learner, description=learner.description,
        host_init=lambda keys, data: host.init_state(learner, env, keys),
        host_update=lambda state, data, n: host.update(learner, env, state, n),
    )


def minimum_steps(learner: Learner) -> int:
    """The fewest environment steps in which ``learner`` makes a learning step: one iteration, after its random
    start phase (SAC's ``learning_starts``) if it has one."""
    return int(getattr(learner.config, "learning_starts", 0)) + learner.steps_per_iteration


def check_budget(learner: Learner, total_steps: int, what: str = "total_steps") -> None:
    """One-line :class:`IrlaxError` when ``total_steps`` is too few for one learning step (:func:`minimum_steps`);
    ``what`` names the setting in the message."""
    need = minimum_steps(learner)
    if total_steps < need:
        start = getattr(learner.config, "learning_starts", 0)
        detail = f"{start} random steps, then one iteration of {learner.steps_per_iteration}" if start else \
            f"one iteration of {learner.steps_per_iteration} env steps"
        raise IrlaxError(f"{what} {total_steps} is too few for {learner.name} to learn anything on "
                         f"{learner.spec.name}: at least {need} ({detail})")


def select_best(learner: Learner, env: JaxEnv, states: LearnerState, key: Array,
                eval_episodes: int) -> tuple[int, dict[str, np.ndarray]]:
    """The seed with the best mean stochastic evaluation return, and the returns of all: ``[K, eval_episodes]``.

    Returns:
        ``(best index, {"stochastic": [K, n], "deterministic": [K, n]})``.
    """
    params = jax.vmap(learner.policy_params)(states.agent)
    stochastic_key, deterministic_key = jax.random.split(key)
    returns = {
        "stochastic": np.asarray(evaluate_policies(learner, env, params, stochastic_key, eval_episodes)),
        "deterministic": np.asarray(evaluate_policies(learner, env, params, deterministic_key, eval_episodes, True)),
    }
    return int(np.argmax(returns["stochastic"].mean(axis=1))), returns


def make_expert(learner: Learner, env: JaxEnv, progress: Progress, key: Array, eval_episodes: int,
                seconds: float = 0.0) -> Expert:
    """The best seed of a finished training as an :class:`Expert` (evaluated on ``eval_episodes`` episodes)."""
    best, returns = select_best(learner, env, progress.state, key, eval_episodes)
    params = jax.tree.map(lambda x: x[best], jax.vmap(learner.policy_params)(progress.state.agent))
    env_steps = int(progress.done * learner.steps_per_iteration)
    info = expert_info(env, learner, env_steps, seconds, best, returns)
    return Expert(env, learner, params, info)


def expert_info(env: JaxEnv, learner: Learner, env_steps: int, seconds: float, best: int,
                returns: dict[str, np.ndarray]) -> dict[str, Any]:
    """The ``expert.json`` description (see the module docstring)."""
    from irlax import __version__

    def stats(values: np.ndarray) -> dict[str, float]:
        return {"mean": float(values.mean()), "std": float(values.std())}

    seed_means = returns["stochastic"].mean(axis=1)
    return {
        "env": env.name,
        "backend": env.spec.backend,
        "learner": learner.name,
        "config": dataclasses.asdict(learner.config),
        "env_steps": env_steps,
        "seconds": float(seconds),
        "seeds": int(returns["stochastic"].shape[0]),
        "best_seed": best,
        "eval_episodes": int(returns["stochastic"].shape[1]),
        "return": stats(returns["stochastic"][best]),
        "deterministic_return": stats(returns["deterministic"][best]),
        "seed_returns": [float(r) for r in returns["stochastic"].mean(axis=1)],
        "seed_deterministic_returns": [float(r) for r in returns["deterministic"].mean(axis=1)],
        "seed_returns_summary": seed_summary(seed_means).as_dict() if np.all(np.isfinite(seed_means)) else None,
        "irlax_version": __version__,
    }


def train_expert(
    env_name: str | Any,
    config: Any,
    key: Array,
    total_steps: int,
    *,
    seeds: int = 1,
    eval_episodes: int = 20,
    chunk: int | None = None,
    on_chunk: Callable[[Progress], None] | None = None,
    backend: str | None = None,
) -> tuple[Expert, Progress]:
    """Train ``seeds`` learners at once on ``env_name``'s true reward and keep the best.

    Args:
        env_name: a task of :data:`irlax.tasks.TASKS` or a Gymnasium id, or an environment already made
            (:func:`irlax.tasks.make_env`, :func:`irlax.envs.gym.make_gym_env` of a Gymnasium env or factory).
        config: the learner's config (PPO's or SAC's, e.g. ``irlax.tasks.learner_config(env_name, "sac")``).
        key: PRNG key; seed ``k`` trains with ``split(train_key, seeds)[k]``.
        total_steps: environment steps per seed (rounded up to whole iterations).
        seeds: learners trained at once (vmapped); the best by mean stochastic return is kept.
        eval_episodes: evaluation episodes per seed.
        chunk: iterations per compiled call (all at once when ``None``); ``on_chunk`` sees each.
        backend: ``"jax"`` or ``"gymnasium"`` (see :func:`irlax.tasks.make_env`); ``None``: the task's.

    Returns:
        the :class:`Expert` and the final :class:`~irlax.run.driver.Progress` of all seeds (with their metrics).
    """
    if seeds < 1:
        raise IrlaxError("seeds must be at least 1")
    env = tasks.make_env(env_name, backend) if isinstance(env_name, str) else env_name
    learner = make_learner(config, env.spec)
    check_budget(learner, total_steps)
    train_key, eval_key = jax.random.split(key)
    program = expert_program(learner, env, total_steps)
    driver = Driver(program, None, seeds)
    start = time.perf_counter()
    progress = driver.run(driver.start(train_key), program.num_steps, chunk, on_chunk)
    expert = make_expert(learner, env, progress, eval_key, eval_episodes, time.perf_counter() - start)
    return expert, progress


def save_expert(directory: str | Path, expert: Expert) -> Path:
    """Write ``expert`` to ``directory`` (``expert.json`` and ``policy.npz``, each atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_pytree(directory / POLICY_FILE, expert.params)
    atomic_write_json(directory / EXPERT_JSON, expert.info)
    return directory


def expert_files(directory: str | Path) -> tuple[Path, ...]:
    """The files :func:`load_expert` reads from an expert directory (what an output must never overwrite)."""
    return Path(directory) / EXPERT_JSON, Path(directory) / POLICY_FILE


def policy_template(learner: Learner) -> Any:
    """Zeros shaped like the learner's policy parameters (no learner state is allocated)."""
    shapes = jax.eval_shape(lambda k: learner.policy_params(learner.init(k)[0]), jax.random.PRNGKey(0))
    return jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)


def load_expert(directory: str | Path, env_name: str | None = None) -> Expert:
    """Read an expert written by :func:`save_expert` and rebuild its policy.

    Args:
        directory: the expert directory.
        env_name: when given, the task the expert must act in.

    Raises:
        IrlaxError: a missing directory or file, unreadable JSON, an unknown learner or
            task, a config or parameters that don't match, or another task.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise IrlaxError(f"expert directory {directory} does not exist")
    info_path = directory / EXPERT_JSON
    if not info_path.exists():
        raise IrlaxError(f"{directory} is not an expert directory (no {EXPERT_JSON}; did its training finish?)")
    try:
        info = json.loads(info_path.read_text())
        learner_name, saved_env, fields = info["learner"], info["env"], info["config"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IrlaxError(f"{info_path} is not a valid expert description ({exc!r})") from None
    if env_name is not None and env_name != saved_env:
        raise IrlaxError(f"expert {directory} was trained on {saved_env}, not {env_name}")
    env = tasks.make_env(saved_env, info.get("backend", "jax"))
    config = learner_config_from_dict(learner_name, fields, str(info_path))
    learner = make_learner(config, env.spec)
    if not (directory / POLICY_FILE).exists():
        raise IrlaxError(f"expert {directory} lacks its parameters {POLICY_FILE}")
    params, _ = load_pytree(directory / POLICY_FILE, policy_template(learner))
    return Expert(env, learner, jax.tree.map(jnp.asarray, params), info)


def evaluate_expert(expert: Expert, key: Array, num_episodes: int, deterministic: bool = False) -> Array:
    """``[num_episodes]`` true returns of the expert's policy."""
    return evaluate_policy_jit(expert.learner, expert.env, expert.params, key, num_episodes, deterministic)
