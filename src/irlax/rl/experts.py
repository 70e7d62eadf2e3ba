"""Experts: train a learner on a control task's true reward, keep the best seed, save and load it.

An expert is a learner's *policy parameters* (``learner.policy_params(state)``)
plus everything needed to rebuild the policy exactly: the environment, the
learner and its config. On disk it is a directory::

    <expert dir>/
        expert.json   env, learner, config fields, evaluation returns (mean, std;
                      stochastic and deterministic), env steps, seconds, irlax version
        policy.npz    the policy parameters' leaves (irlax.report.checkpoint format)

Training (:func:`train_expert`) runs ``K`` seeds at once (``jax.vmap`` over the
learner's state) in chunks of iterations, so that a caller can show progress and
checkpoint; chunking gives the same result as one call, because the learner's
``update`` is one ``lax.scan`` over iterations and its state carries its key.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.atomic import atomic_write_json
from irlax.envs.control import ControlEnv, make_env
from irlax.errors import IrlaxError
from irlax.report.checkpoint import load_pytree, save_pytree
from irlax.rl.learners import Learner, evaluate_policies, evaluate_policy_jit, get_learner

EXPERT_JSON = "expert.json"
POLICY_FILE = "policy.npz"


class Expert(NamedTuple):
    """A trained policy and how to rebuild it.

    Attributes:
        env: the environment it acts in.
        learner: the learner that trained it.
        config: the learner's config.
        params: the policy parameters (``learner.policy_params(state)`` of one seed).
        info: the JSON-able description written to ``expert.json``.
    """

    env: ControlEnv
    learner: Learner
    config: Any
    params: Any
    info: dict[str, Any]

    def act(self, key: Array, obs: Array, deterministic: bool = False) -> tuple[Array, Array]:
        """``(action, log_prob)`` for one observation ``obs [O]``."""
        return self.learner.act(self.config, self.env, self.params, key, obs, deterministic)


class TrainingProgress(NamedTuple):
    """Where a multi-seed expert training stands.

    Attributes:
        state: the learner states, leaves ``[K, ...]``.
        done: update iterations done.
        metrics: the learner's metrics so far by name (its metrics NamedTuple's fields), each ``[K, done]``.
    """

    state: Any
    done: int
    metrics: dict[str, Array]


def num_iterations(learner: Learner, config: Any, total_steps: int) -> int:
    """Update iterations for at least ``total_steps`` environment steps (at least one)."""
    return max(1, math.ceil(total_steps / learner.steps_per_iteration(config)))


@functools.lru_cache(maxsize=16)
def _compiled_init(learner: Learner, config: Any, env: ControlEnv) -> Callable:
    return jax.jit(jax.vmap(lambda k: learner.init(config, env, k)))


@functools.lru_cache(maxsize=16)
def _compiled_update(learner: Learner, config: Any, env: ControlEnv, iterations: int) -> Callable:
    return jax.jit(jax.vmap(lambda s: learner.update(config, env, s, iterations)))


def init_training(learner: Learner, config: Any, env: ControlEnv, keys: Array) -> TrainingProgress:
    """``K`` fresh learners, one per key (``keys [K, 2]``), with no iterations done."""
    return TrainingProgress(_compiled_init(learner, config, env)(keys), 0, {})


def advance_training(learner: Learner, config: Any, env: ControlEnv, progress: TrainingProgress,
                     iterations: int) -> TrainingProgress:
    """``iterations`` more update iterations of every seed (jitted and vmapped; compiled once per size)."""
    state, metrics = _compiled_update(learner, config, env, iterations)(progress.state)
    joined = {
        name: jnp.concatenate([progress.metrics[name], value], axis=1) if name in progress.metrics else value
        for name, value in flat_metrics(metrics).items()
    }
    return TrainingProgress(state, progress.done + iterations, joined)


def flat_metrics(metrics: Any) -> dict[str, Array]:
    """A learner's metrics NamedTuple (possibly nested, e.g. SAC's loss information) as a flat dict by field name."""
    out: dict[str, Array] = {}
    for name, value in metrics._asdict().items():
        items = flat_metrics(value).items() if hasattr(value, "_asdict") else [(name, value)]
        for key, leaf in items:
            out[f"{name}_{key}" if key in out else key] = leaf
    return out


def run_training(
    learner: Learner,
    config: Any,
    env: ControlEnv,
    progress: TrainingProgress,
    total_iterations: int,
    chunk: int | None = None,
    on_chunk: Callable[[TrainingProgress], None] | None = None,
) -> TrainingProgress:
    """Advance ``progress`` to ``total_iterations``, ``chunk`` iterations per call, ``on_chunk`` after each."""
    chunk = chunk or total_iterations
    while progress.done < total_iterations:
        progress = advance_training(learner, config, env, progress, min(chunk, total_iterations - progress.done))
        if on_chunk is not None:
            on_chunk(progress)
    return progress


def select_best(learner: Learner, config: Any, env: ControlEnv, states: Any, key: Array,
                eval_episodes: int) -> tuple[int, dict[str, np.ndarray]]:
    """The seed with the best mean stochastic evaluation return, and the returns of all: ``[K, eval_episodes]``.

    Returns:
        ``(best index, {"stochastic": [K, n], "deterministic": [K, n]})``.
    """
    params = jax.vmap(learner.policy_params)(states)
    stochastic_key, deterministic_key = jax.random.split(key)
    returns = {
        "stochastic": np.asarray(evaluate_policies(learner.act, config, env, params, stochastic_key, eval_episodes)),
        "deterministic": np.asarray(
            evaluate_policies(learner.act, config, env, params, deterministic_key, eval_episodes, True)
        ),
    }
    return int(np.argmax(returns["stochastic"].mean(axis=1))), returns


def make_expert(learner: Learner, config: Any, env: ControlEnv, progress: TrainingProgress, key: Array,
                eval_episodes: int, seconds: float = 0.0) -> Expert:
    """The best seed of a finished training as an :class:`Expert` (evaluated on ``eval_episodes`` episodes)."""
    best, returns = select_best(learner, config, env, progress.state, key, eval_episodes)
    params = jax.tree.map(lambda x: x[best], jax.vmap(learner.policy_params)(progress.state))
    env_steps = int(progress.done * learner.steps_per_iteration(config))
    info = expert_info(env, learner, config, env_steps, seconds, best, returns)
    return Expert(env, learner, config, params, info)


def expert_info(env: ControlEnv, learner: Learner, config: Any, env_steps: int, seconds: float, best: int,
                returns: dict[str, np.ndarray]) -> dict[str, Any]:
    """The ``expert.json`` description (see the module docstring)."""
    from irlax import __version__

    def stats(values: np.ndarray) -> dict[str, float]:
        return {"mean": float(values.mean()), "std": float(values.std())}

    return {
        "env": env.name,
        "learner": learner.name,
        "config": dataclasses.asdict(config),
        "env_steps": env_steps,
        "seconds": float(seconds),
        "seeds": int(returns["stochastic"].shape[0]),
        "best_seed": best,
        "eval_episodes": int(returns["stochastic"].shape[1]),
        "return": stats(returns["stochastic"][best]),
        "deterministic_return": stats(returns["deterministic"][best]),
        "seed_returns": [float(r) for r in returns["stochastic"].mean(axis=1)],
        "irlax_version": __version__,
    }


def train_expert(
    env_name: str,
    learner: str | Learner,
    config: Any,
    key: Array,
    total_steps: int,
    *,
    seeds: int = 1,
    eval_episodes: int = 20,
    chunk: int | None = None,
    on_chunk: Callable[[TrainingProgress], None] | None = None,
) -> tuple[Expert, TrainingProgress]:
    """Train ``seeds`` learners at once on ``env_name``'s true reward and keep the best (Schulman/Haarnoja).

    Args:
        env_name: a name :func:`irlax.envs.control.make_env` knows.
        learner: ``"ppo"``, ``"sac"`` or a :class:`Learner`.
        config: the learner's config (e.g. ``learner.preset(env_name)``).
        key: PRNG key; seed ``k`` trains with ``split(train_key, seeds)[k]``.
        total_steps: environment steps per seed (rounded up to whole iterations).
        seeds: learners trained at once (vmapped); the best by mean stochastic return is kept.
        eval_episodes: evaluation episodes per seed.
        chunk: iterations per compiled call (all at once when ``None``); ``on_chunk`` sees each.

    Returns:
        the :class:`Expert` and the final :class:`TrainingProgress` of all seeds (with their metrics).
    """
    if seeds < 1:
        raise IrlaxError("seeds must be at least 1")
    if total_steps < 1:
        raise IrlaxError("total_steps must be at least 1")
    env = make_env(env_name)
    learner = get_learner(learner) if isinstance(learner, str) else learner
    train_key, eval_key = jax.random.split(key)
    start = time.perf_counter()
    progress = init_training(learner, config, env, jax.random.split(train_key, seeds))
    progress = run_training(learner, config, env, progress, num_iterations(learner, config, total_steps), chunk,
                            on_chunk)
    jax.block_until_ready(progress.state)
    expert = make_expert(learner, config, env, progress, eval_key, eval_episodes, time.perf_counter() - start)
    return expert, progress


def save_expert(directory: str | Path, expert: Expert) -> Path:
    """Write ``expert`` to ``directory`` (``expert.json`` and ``policy.npz``, each atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_pytree(directory / POLICY_FILE, expert.params)
    atomic_write_json(directory / EXPERT_JSON, expert.info)
    return directory


def config_from_dict(learner: Learner, fields: dict[str, Any], where: str) -> Any:
    """Rebuild a learner config from its ``dataclasses.asdict`` form (lists back to tuples)."""
    known = {f.name for f in dataclasses.fields(learner.config)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise IrlaxError(f"{where}: {learner.name} has no setting(s) {', '.join(unknown)} (another irlax version?)")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    try:
        return learner.config(**values)
    except TypeError as exc:
        raise IrlaxError(f"{where}: bad {learner.name} config ({exc})") from None


def policy_template(learner: Learner, config: Any, env: ControlEnv) -> Any:
    """Zeros shaped like the learner's policy parameters (no learner state is allocated)."""
    shapes = jax.eval_shape(lambda k: learner.policy_params(learner.init(config, env, k)), jax.random.PRNGKey(0))
    return jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)


def load_expert(directory: str | Path, env_name: str | None = None) -> Expert:
    """Read an expert written by :func:`save_expert` and rebuild its policy.

    Args:
        directory: the expert directory.
        env_name: when given, the environment the expert must act in.

    Raises:
        IrlaxError: a missing directory or file, unreadable JSON, an unknown learner or
            environment, a config or parameters that don't match, or another environment.
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
    learner = get_learner(learner_name)
    env = make_env(saved_env)
    config = config_from_dict(learner, fields, str(info_path))
    if not (directory / POLICY_FILE).exists():
        raise IrlaxError(f"expert {directory} lacks its parameters {POLICY_FILE}")
    params, _ = load_pytree(directory / POLICY_FILE, policy_template(learner, config, env))
    return Expert(env, learner, config, jax.tree.map(jnp.asarray, params), info)


def evaluate_expert(expert: Expert, key: Array, num_episodes: int, deterministic: bool = False) -> Array:
    """``[num_episodes]`` true returns of the expert's policy."""
    return evaluate_policy_jit(expert.learner.act, expert.config, expert.env, expert.params, key, num_episodes,
                               deterministic)
