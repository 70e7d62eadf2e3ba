"""``irlax train {gcl,gail,airl}``: sample-based IRL on a control task from a demonstrations file.

The command trains one of :data:`irlax.algorithms.sample_registry.SAMPLE_ALGORITHMS`
for several seeds at once (vmapped), in chunks of ``--checkpoint-every`` rounds with
a checkpoint after each (``--resume DIR`` continues an interrupted run and ends
exactly where an uninterrupted one would: the PRNG keys live in the state and the
chunks are the same), then reports

- the imitation policy's true return (deterministic), normalised between a random
  policy (0) and the demonstrations (1), as ``irlax bc`` does;
- the return of a fresh learner re-optimised on the frozen learned reward
  (``--reoptimize-steps``), optionally in another task (``--transfer-env``,
  normalised with ``--transfer-expert``'s recorded return);
- how well the learned reward matches the true one: Pearson correlation on expert
  and on random-policy transitions and the EPIC distance over both
  (:mod:`irlax.metrics.reward`); NaN when the true reward is constant (CartPole).

The run directory holds ``config.json``, ``checkpoint.npz``, ``metrics.csv``/``.jsonl``,
``reward.npz``, ``return.png``, ``losses.png`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from irlax.algorithms.sample_irl import RoundMetrics, check_demos, resolve_learner
from irlax.algorithms.sample_registry import (
    SAMPLE_ALGORITHMS,
    SampleAlgorithm,
    get_sample_algorithm,
    preset,
    reoptimize,
)
from irlax.cli.control import CHECKPOINT, DEFAULT_STEPS, METRIC, binned_returns
from irlax.cli.tabular import parse_overrides
from irlax.data.demos import Demonstrations, flatten, load_demonstrations, subset
from irlax.envs.control import ENV_BUILDERS, ControlEnv, make_env
from irlax.envs.true_rewards import is_constant_reward, true_reward_fn
from irlax.errors import IrlaxError
from irlax.learners.registry import (
    LEARNERS,
    Learner,
    evaluate_policies,
    get_learner,
    make_learner_config,
    normalized_return,
    policy_episodes,
    random_act,
    random_return,
)
from irlax.learners.sac import PRESET_STEPS as SAC_PRESET_STEPS
from irlax.metrics.reward import (
    Coverage,
    TransitionBatch,
    batch_rewards,
    coverage_epic_distance,
    coverage_samples,
    pearson_correlation,
)
from irlax.report import (
    create_run_dir,
    load_pytree,
    plot_metric_curves,
    print_table,
    progress_bar,
    save_pytree,
    write_config,
    write_metrics,
    write_summary,
)
from irlax.run import experts
from irlax.settings import apply_overrides

CHECKPOINT_CHUNKS = 20
"""Default checkpoints per run (``--checkpoint-every`` is about ``rounds / 20``)."""
METRIC_TRANSITIONS = 512
"""Expert and random-policy transitions (each) the reward is compared with the true one on."""
EPIC_SAMPLES = 128
"""State and action samples of EPIC's canonicalisation."""
RANDOM_EPISODES = 32
"""Episodes of the random policy drawn for the reward comparison."""
REWARD_FILE = "reward.npz"

policy_episodes_jit = jax.jit(policy_episodes, static_argnums=(0, 1, 2, 5, 6))
""":func:`irlax.learners.registry.policy_episodes` compiled once per policy, environment and count."""


# ---------------------------------------------------------------------------------------------------------------
# settings and configs


def default_reoptimize_steps(learner: Learner, env_name: str) -> int:
    """The learner's usual expert budget for the task (SAC's preset steps, else ``irlax expert``'s default)."""
    if learner.name == "sac" and env_name in SAC_PRESET_STEPS:
        return SAC_PRESET_STEPS[env_name]
    return DEFAULT_STEPS.get(env_name, 100_000)


def algorithm_config_from_dict(algo: SampleAlgorithm, fields: dict[str, Any], where: str) -> Any:
    """Rebuild an algorithm config (with its learner config, a nested dict) from ``config.json``."""
    fields = dict(fields)
    learner_fields = fields.pop("learner_config", None)
    if not isinstance(learner_fields, dict) or not fields.get("learner"):
        raise IrlaxError(f"{where}: the config lacks its learner and learner config")
    learner = get_learner(fields["learner"])
    learner_config = experts.config_from_dict(learner, learner_fields, where)
    config = experts.config_from_dict(algo, fields, where)  # type: ignore[arg-type]  # same .name and .config
    return dataclasses.replace(config, learner_config=learner_config)


def learner_config_from_dict(name: str, fields: dict[str, Any] | None, where: str) -> Any:
    """A learner config from its ``asdict`` form, or ``None``."""
    return None if fields is None else experts.config_from_dict(get_learner(name), fields, where)


def new_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the command line of a new run and return what ``config.json`` records."""
    if not args.algorithm:
        raise IrlaxError(f"train needs an algorithm ({', '.join(SAMPLE_ALGORITHMS)}) or --resume DIR")
    algo = get_sample_algorithm(args.algorithm)
    if not args.demos:
        raise IrlaxError("train needs --demos FILE (or --resume DIR)")
    for flag in ("seeds", "eval_episodes"):
        if getattr(args, flag) < 1:
            raise IrlaxError(f"--{flag.replace('_', '-')} must be at least 1")
    demos = load_demonstrations(args.demos)
    env = make_env(args.env or demos.env_name)
    demos = load_demonstrations(args.demos, env)
    check_demos(demos, env)
    if args.episodes is not None:
        demos = subset(demos, args.episodes)
    if args.transfer_expert and not args.transfer_env:
        raise IrlaxError("--transfer-expert needs --transfer-env")
    target = make_env(args.transfer_env) if args.transfer_env else env
    if (target.obs_size, target.discrete, target.action_size) != (env.obs_size, env.discrete, env.action_size):
        raise IrlaxError(
            f"the reward learned in {env.name} (obs size {env.obs_size}, action size {env.action_size}) doesn't "
            f"fit {target.name} (obs size {target.obs_size}, action size {target.action_size})"
        )
    overrides = parse_overrides(args.set or [])
    if args.rounds is not None:
        overrides["rounds"] = str(args.rounds)
    learner_name = args.learner or overrides.pop("learner", "")
    if learner_name and learner_name not in LEARNERS:
        raise IrlaxError(f"unknown learner {learner_name!r}; choose one of {', '.join(LEARNERS)}")
    config = apply_overrides(preset(algo.name, env.name, learner_name), overrides, algo.name)
    if config.learner and config.learner not in LEARNERS:
        raise IrlaxError(f"unknown learner {config.learner!r}; choose one of {', '.join(LEARNERS)}")
    learner, _ = resolve_learner(config, env)
    learner_overrides = parse_overrides(args.learner_set or [])
    learner_config = make_learner_config(learner, env.name, learner_overrides)
    config = dataclasses.replace(config, learner=learner.name, learner_config=learner_config)
    # the config's own checks, and the learner's, without running anything
    jax.eval_shape(lambda k, d: algo.init(config, env, k, d), jax.random.PRNGKey(0), demos)
    every = args.checkpoint_every
    if every is None:
        every = max(1, -(-config.rounds // CHECKPOINT_CHUNKS))
    if every < 1:
        raise IrlaxError("--checkpoint-every must be at least 1")
    steps = default_reoptimize_steps(learner, args.transfer_env or env.name) if args.reoptimize_steps is None \
        else args.reoptimize_steps
    if steps < 0:
        raise IrlaxError("--reoptimize-steps must be at least 0")
    transfer_config = None
    if args.transfer_env:
        transfer_config = make_learner_config(learner, target.name, learner_overrides)
        jax.eval_shape(lambda k: learner.init(transfer_config, target, k), jax.random.PRNGKey(0))
        if args.transfer_expert:
            experts.load_expert(args.transfer_expert, target.name)  # check it now, not after training
    return {
        "command": "train", "algorithm": algo.name, "env": env.name, "demos": str(Path(args.demos).resolve()),
        "episodes": demos.num_episodes, "seeds": args.seeds, "seed": args.seed, "rounds": config.rounds,
        "checkpoint_every": every, "eval_episodes": args.eval_episodes, "reoptimize_steps": steps,
        "transfer_env": args.transfer_env, "transfer_expert": (str(Path(args.transfer_expert).resolve())
                                                               if args.transfer_expert else None),
        "transfer_learner_config": dataclasses.asdict(transfer_config) if transfer_config is not None else None,
        "config": dataclasses.asdict(config),
    }


def train_setup(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The run directory and its settings: a new one, or the one ``--resume`` names."""
    if args.resume:
        run_dir = Path(args.resume)
        if not (run_dir / "config.json").exists():
            raise IrlaxError(f"{run_dir} is not a train run directory (no config.json)")
        try:
            settings = json.loads((run_dir / "config.json").read_text())
        except json.JSONDecodeError as exc:
            raise IrlaxError(f"{run_dir / 'config.json'} is not valid JSON ({exc})") from None
        if not isinstance(settings, dict) or settings.get("command") != "train":
            raise IrlaxError(f"{run_dir} is not a train run directory (its config.json is from another command)")
        if args.algorithm and args.algorithm != settings.get("algorithm"):
            raise IrlaxError(f"{run_dir} is a {settings.get('algorithm')} run, not {args.algorithm}")
        return run_dir, settings
    settings = new_settings(args)
    if args.out is None:
        run_dir = create_run_dir("runs", f"train-{settings['algorithm']}-{settings['env']}")
    else:
        run_dir = Path(args.out)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise IrlaxError(f"{run_dir} already exists and is not empty (continue it with --resume {run_dir})")
        run_dir.mkdir(parents=True, exist_ok=True)
    write_config(run_dir, settings)
    return run_dir, settings


@dataclasses.dataclass(frozen=True)
class TrainRun:
    """Everything a run's settings resolve to."""

    algo: SampleAlgorithm
    config: Any
    learner: Learner
    learner_config: Any
    env: ControlEnv
    demos: Demonstrations


def resolve_run(settings: dict[str, Any], where: str) -> TrainRun:
    """The algorithm, frozen configs, environment and demonstrations that ``settings`` describe."""
    try:
        algo = get_sample_algorithm(settings["algorithm"])
        config = algorithm_config_from_dict(algo, settings["config"], where)
        env = make_env(settings["env"])
        demos_path, episodes = settings["demos"], settings["episodes"]
    except KeyError as exc:
        raise IrlaxError(f"{where} lacks the setting {exc}") from None
    demos = load_demonstrations(demos_path, env)
    check_demos(demos, env)
    demos = subset(demos, episodes)
    learner, learner_config = resolve_learner(config, env)
    return TrainRun(algo, config, learner, learner_config, env, demos)


# ---------------------------------------------------------------------------------------------------------------
# training


@functools.lru_cache(maxsize=16)
def compiled_init(algo_name: str, config: Any, env: ControlEnv) -> Any:
    """``init`` vmapped over keys (demonstrations a traced argument) and jitted."""
    algo = get_sample_algorithm(algo_name)
    return jax.jit(jax.vmap(lambda key, demos: algo.init(config, env, key, demos), in_axes=(0, None)))


@functools.lru_cache(maxsize=16)
def compiled_update(algo_name: str, config: Any, env: ControlEnv, num_rounds: int) -> Any:
    """``update`` of ``num_rounds`` rounds vmapped over seeds (demonstrations traced) and jitted."""
    algo = get_sample_algorithm(algo_name)
    update = lambda state, demos: algo.update(config, env, demos, state, num_rounds)
    return jax.jit(jax.vmap(update, in_axes=(0, None)))


_EXECUTABLES: dict[Any, Any] = {}
"""Compiled ``update`` chunks of this process, by algorithm, config, env, chunk size and argument shapes."""


def state_template(run: TrainRun, seeds: int) -> Any:
    """Zeros shaped like the vmapped state of ``seeds`` seeds (nothing is run)."""
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    shapes = jax.eval_shape(compiled_init(run.algo.name, run.config, run.env), keys, run.demos)
    return jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)


@dataclasses.dataclass
class Progress:
    """A multi-seed training in progress: the vmapped state, rounds done, metrics ``[seeds, done]`` so far."""

    state: Any
    done: int
    metrics: dict[str, np.ndarray]
    seconds: float = 0.0
    compile_seconds: float = 0.0


def save_checkpoint(run_dir: Path, progress: Progress) -> None:
    """Checkpoint the state, rounds done, metrics and seconds atomically."""
    metrics = {f"{METRIC}{k}": v for k, v in progress.metrics.items()}
    save_pytree(run_dir / CHECKPOINT, progress.state, done=np.int64(progress.done),
                seconds=np.float64(progress.seconds), compile_seconds=np.float64(progress.compile_seconds), **metrics)


def load_checkpoint(run_dir: Path, template: Any) -> Progress:
    """The checkpointed training of ``run_dir`` shaped like ``template``."""
    state, extra = load_pytree(run_dir / CHECKPOINT, template)
    if "done" not in extra:
        raise IrlaxError(f"checkpoint {run_dir / CHECKPOINT} lacks the count of rounds done")
    metrics = {k[len(METRIC):]: np.asarray(v) for k, v in extra.items() if k.startswith(METRIC)}
    return Progress(jax.tree.map(jnp.asarray, state), int(extra["done"]), metrics,
                    float(extra.get("seconds", 0.0)), float(extra.get("compile_seconds", 0.0)))


def init_progress(run: TrainRun, keys: jax.Array) -> Progress:
    """Fresh states, one per key (``keys [K, 2]``), no rounds done."""
    empty = {name: np.zeros((keys.shape[0], 0), np.float32) for name in RoundMetrics._fields}
    return Progress(compiled_init(run.algo.name, run.config, run.env)(keys, run.demos), 0, empty)


def advance(run: TrainRun, progress: Progress, num_rounds: int) -> Progress:
    """``num_rounds`` more rounds of every seed; compiled once per chunk size (the compile timed apart)."""
    start = time.perf_counter()
    signature = jax.tree.structure((progress.state, run.demos)), tuple(
        (np.shape(x), np.dtype(x.dtype).str) for x in jax.tree.leaves((progress.state, run.demos)))
    key = (run.algo.name, run.config, run.env, num_rounds, signature)
    if key not in _EXECUTABLES:  # lowering re-traces, so keep the executables themselves
        jitted = compiled_update(run.algo.name, run.config, run.env, num_rounds)
        _EXECUTABLES[key] = jitted.lower(progress.state, run.demos).compile()
    executable = _EXECUTABLES[key]
    compiled = time.perf_counter() - start
    state, metrics = executable(progress.state, run.demos)
    state = jax.block_until_ready(state)
    seconds = time.perf_counter() - start
    joined = {name: np.concatenate([progress.metrics[name], np.asarray(getattr(metrics, name))], axis=1)
              for name in RoundMetrics._fields}
    return Progress(state, progress.done + num_rounds, joined, progress.seconds + seconds,
                    progress.compile_seconds + compiled)


def run_training(run: TrainRun, progress: Progress, rounds: int, every: int, on_chunk: Any = None) -> Progress:
    """Advance ``progress`` to ``rounds`` in chunks of ``every`` rounds (the last one shorter), ``on_chunk`` after each.

    Chunks always end at multiples of ``every``, so a resumed run replays the same chunks as an uninterrupted one.
    """
    while progress.done < rounds:
        size = min(every - progress.done % every, rounds - progress.done)
        progress = advance(run, progress, size)
        if on_chunk is not None:
            on_chunk(progress)
    return progress


# ---------------------------------------------------------------------------------------------------------------
# evaluation


def masked_transitions(episodes: Any) -> TransitionBatch:
    """The real steps of padded episodes as one batch."""
    mask = np.asarray(episodes.mask)
    tr = episodes.transitions
    return TransitionBatch(*(jnp.asarray(np.asarray(x)[mask]) for x in (tr.obs, tr.action, tr.next_obs)))


def take(batch: TransitionBatch, count: int, rng: np.random.Generator) -> TransitionBatch:
    """``count`` transitions of ``batch`` without replacement (all of them when it has no more)."""
    size = batch.obs.shape[0]
    if size <= count:
        return batch
    index = np.sort(rng.choice(size, count, replace=False))
    return TransitionBatch(*(x[index] for x in batch))


@functools.lru_cache(maxsize=16)
def compiled_comparison(algo_name: str, config: Any, env: ControlEnv, learner_gamma: float) -> Any:
    """Per-seed ``[rho expert, rho random, EPIC]`` of the learned reward (params vmapped, demonstrations traced)."""
    algo = get_sample_algorithm(algo_name)
    true_fn = true_reward_fn(env)
    gamma = getattr(config, "gamma", None)
    gamma = learner_gamma if gamma is None else gamma

    def per_seed(params: Any, demos: Demonstrations, expert: TransitionBatch, random: TransitionBatch,
                 coverage: Coverage) -> jax.Array:
        learned_fn = algo.learned_reward(config, env, demos)
        # the transition's own reward: the learned absorbing-state value of terminal steps is left out
        learned = lambda obs, action, next_obs: learned_fn(params, obs, action, next_obs, jnp.bool_(False))
        rho = lambda batch: pearson_correlation(batch_rewards(learned, batch), batch_rewards(true_fn, batch))
        return jnp.stack([rho(expert), rho(random), coverage_epic_distance(learned, true_fn, coverage, gamma)])

    return jax.jit(jax.vmap(per_seed, in_axes=(0, None, None, None, None)))


def reward_comparison(run: TrainRun, reward_params: Any, key: jax.Array) -> dict[str, Any]:
    """Per-seed Pearson correlations (expert, random transitions) and EPIC distance of learned vs true reward."""
    seeds = jax.tree.leaves(reward_params)[0].shape[0]
    nan = [math.nan] * seeds
    if is_constant_reward(run.env):
        note = f"{run.env.name}'s true reward is constant: correlations and EPIC distance are undefined"
        return {"pearson_expert": nan, "pearson_random": nan, "epic": nan, "note": note}
    episode_key, sample_key, coverage_key = jax.random.split(key, 3)
    rng = np.random.default_rng(int(jax.random.randint(sample_key, (), 0, 2**31 - 1)))
    random_episodes = policy_episodes_jit(random_act, None, run.env, None, episode_key, RANDOM_EPISODES, False)
    expert = flatten(run.demos)
    expert_batch = TransitionBatch(expert.obs, expert.action, expert.next_obs)
    random_batch = masked_transitions(random_episodes)
    count = min(METRIC_TRANSITIONS, expert_batch.obs.shape[0], random_batch.obs.shape[0])
    expert_batch, random_batch = take(expert_batch, count, rng), take(random_batch, count, rng)
    coverage = coverage_samples(coverage_key, [expert_batch, random_batch], EPIC_SAMPLES)
    values = np.asarray(compiled_comparison(run.algo.name, run.config, run.env, run.learner_config.gamma)(
        reward_params, run.demos, expert_batch, random_batch, coverage), float)
    return {"pearson_expert": values[:, 0].tolist(), "pearson_random": values[:, 1].tolist(),
            "epic": values[:, 2].tolist(), "transitions": int(count)}


def evaluate_learner(learner: Learner, learner_config: Any, env: ControlEnv, learner_states: Any, key: jax.Array,
                     episodes: int) -> np.ndarray:
    """``[K]`` mean deterministic true return of each seed's policy."""
    params = jax.vmap(learner.policy_params)(learner_states)
    return np.asarray(evaluate_policies(learner.act, learner_config, env, params, key, episodes, True)).mean(axis=1)


@functools.lru_cache(maxsize=16)
def compiled_reoptimize(algo_name: str, config: Any, env: ControlEnv, learner_config: Any, target: ControlEnv,
                        steps: int) -> Any:
    """A fresh learner trained ``steps`` steps in ``target`` on each seed's frozen learned reward, jitted.

    ``(keys [K, 2], reward params [K, ...], demos) -> learner states [K, ...]``; the demonstrations (whose input
    statistics the reward uses) are a traced argument.
    """
    algo = get_sample_algorithm(algo_name)
    learner, _ = resolve_learner(config, env)

    def train(key: jax.Array, params: Any, demos: Demonstrations) -> Any:
        reward_fn = algo.learned_reward(config, env, demos)
        return reoptimize(learner, learner_config, target, key, steps, reward_fn, params)[0]

    return jax.jit(jax.vmap(train, in_axes=(0, 0, None)))


def reoptimization(run: TrainRun, settings: dict[str, Any], reward_params: Any, key: jax.Array) -> dict[str, Any]:
    """Train fresh learners on the frozen learned rewards (one per seed) and evaluate them."""
    steps = settings["reoptimize_steps"]
    target = make_env(settings["transfer_env"]) if settings.get("transfer_env") else run.env
    where = "config.json"
    config = (learner_config_from_dict(run.learner.name, settings.get("transfer_learner_config"), where)
              if settings.get("transfer_env") else run.learner_config)
    train_key, eval_key, random_key = jax.random.split(key, 3)
    seeds = jax.tree.leaves(reward_params)[0].shape[0]
    start = time.perf_counter()
    train = compiled_reoptimize(run.algo.name, run.config, run.env, config, target, steps)
    states = jax.block_until_ready(train(jax.random.split(train_key, seeds), reward_params, run.demos))
    seconds = time.perf_counter() - start
    returns = evaluate_learner(run.learner, config, target, states, eval_key, settings["eval_episodes"])
    out: dict[str, Any] = {"env": target.name, "steps": steps, "seconds": seconds, "returns": returns.tolist()}
    if target.name == run.env.name:
        expert_score = float(np.asarray(run.demos.returns()).mean())
        source = "demonstrations"
    elif settings.get("transfer_expert"):
        info = experts.load_expert(settings["transfer_expert"], target.name).info
        expert_score = float((info.get("deterministic_return") or info["return"])["mean"])
        source = settings["transfer_expert"]
    else:
        expert_score, source = None, None
    if expert_score is not None:
        random_score = random_return(target, random_key, max(settings["eval_episodes"], 100))
        norm = np.asarray(normalized_return(returns, random_score, expert_score), float)
        out.update(expert_return=expert_score, expert_source=source, random_return=random_score,
                   normalized_returns=norm.tolist(), mean_normalized_return=float(norm.mean()))
    else:
        out.update(normalized_returns=[None] * seeds, mean_normalized_return=None)
    out["mean_return"] = float(returns.mean())
    return out


def metric_rows(metrics: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per-seed, per-round rows of every :class:`RoundMetrics` field (NaN as None)."""
    seeds, rounds = metrics["env_steps"].shape
    rows = []
    for s in range(seeds):
        for r in range(rounds):
            row: dict[str, Any] = {"seed": s, "round": r}
            for name in RoundMetrics._fields:
                value = float(metrics[name][s, r])
                row[name] = None if math.isnan(value) else value
            rows.append(row)
    return rows


def write_plots(run_dir: Path, run: TrainRun, metrics: dict[str, np.ndarray]) -> None:
    """``return.png`` (true return against env steps) and ``losses.png`` (loss and accuracies against rounds)."""
    name = run.algo.name
    returns, per_point = binned_returns(np.asarray(metrics["mean_return"], float))
    steps = np.asarray(metrics["env_steps"][0], float)
    per_round = steps[0] if steps.size else 0.0
    plot_metric_curves(run_dir / "return.png", {name: returns}, "mean episode return (true)",
                       xlabel=f"training ({per_point} rounds = {per_point * per_round:.0f} env steps per point)",
                       title=f"{name} ({run.learner.name}) on {run.env.name}")
    curves = {label: np.asarray(metrics[key], float) for key, label in (
        ("reward_loss", "reward loss"), ("expert_accuracy", "expert accuracy"), ("policy_accuracy", "policy accuracy"))
        if np.isfinite(np.asarray(metrics[key], float)).any()}
    plot_metric_curves(run_dir / "losses.png", curves, "loss / accuracy", "round",
                       f"{name} on {run.env.name}: reward (discriminator) training")


def fmt(value: float | None, spec: str = ".3f") -> str:
    """A table cell: ``-`` for None, ``nan`` for NaN."""
    return "-" if value is None else format(value, spec)


def cmd_train(args: argparse.Namespace) -> None:
    """Sample-based IRL (GCL, GAIL, AIRL) on a demonstrations file; ``--resume DIR`` continues a run."""
    run_dir, settings = train_setup(args)
    run = resolve_run(settings, str(run_dir / "config.json"))
    seeds, rounds, every = settings["seeds"], settings["rounds"], settings["checkpoint_every"]
    train_key, eval_key, metric_key, reopt_key, random_key = jax.random.split(jax.random.PRNGKey(settings["seed"]), 5)
    keys = jax.random.split(train_key, seeds)
    if args.resume and (run_dir / CHECKPOINT).exists():
        progress = load_checkpoint(run_dir, state_template(run, seeds))
        if progress.done > rounds:
            raise IrlaxError(f"checkpoint {run_dir / CHECKPOINT} has {progress.done} rounds, the run only {rounds}")
    else:
        progress = init_progress(run, keys)
    label = f"{run.algo.name} ({run.learner.name}) on {run.env.name} ({seeds} seeds)"
    with progress_bar(rounds, label, enabled=not args.quiet) as bar:
        bar.advance(progress.done)
        reached = [progress.done]

        def on_chunk(p: Progress) -> None:
            save_checkpoint(run_dir, p)
            bar.advance(p.done - reached[0])
            reached[0] = p.done

        progress = run_training(run, progress, rounds, every, on_chunk)
    state = progress.state
    save_pytree(run_dir / REWARD_FILE, state.reward_params)
    write_metrics(run_dir, metric_rows(progress.metrics))
    write_plots(run_dir, run, progress.metrics)

    env, demos = run.env, run.demos
    expert_score = float(np.asarray(demos.returns()).mean())
    random_score = random_return(env, random_key, max(settings["eval_episodes"], 100))
    norm = lambda r: np.asarray(normalized_return(r, random_score, expert_score), float)
    imitation = evaluate_learner(run.learner, run.learner_config, env, state.learner, eval_key,
                                 settings["eval_episodes"])
    comparison = reward_comparison(run, state.reward_params, metric_key)
    reopt = reoptimization(run, settings, state.reward_params, reopt_key) if settings["reoptimize_steps"] > 0 \
        else None
    env_steps = np.asarray(state.env_steps, float)
    final_loss = progress.metrics["reward_loss"][:, -1] if progress.done else np.full(seeds, np.nan)
    rows = []
    for s in range(seeds):
        row = {"seed": s, "return": float(imitation[s]), "normalized_return": float(norm(imitation[s])),
               "final_reward_loss": float(final_loss[s]), "env_steps": float(env_steps[s]),
               "pearson_expert": comparison["pearson_expert"][s], "pearson_random": comparison["pearson_random"][s],
               "epic": comparison["epic"][s]}
        if reopt is not None:
            row.update(reoptimized_return=reopt["returns"][s],
                       reoptimized_normalized_return=reopt["normalized_returns"][s])
        rows.append(row)
    mean = lambda values: float(np.mean(values))
    summary = {
        "algorithm": run.algo.name, "env": env.name, "learner": run.learner.name, "seeds": seeds, "rounds": rounds,
        "env_steps": mean(env_steps), "seconds": progress.seconds, "compile_seconds": progress.compile_seconds,
        "demo_episodes": demos.num_episodes, "demo_steps": int(np.asarray(demos.lengths()).sum()),
        "expert_return": expert_score, "random_return": random_score,
        "eval_episodes": settings["eval_episodes"],
        "mean_return": mean(imitation), "mean_normalized_return": float(norm(imitation.mean())),
        "reward": {"pearson_expert": mean(comparison["pearson_expert"]),
                   "pearson_random": mean(comparison["pearson_random"]), "epic": mean(comparison["epic"]),
                   **{k: v for k, v in comparison.items() if k in ("note", "transitions")}},
        "reoptimization": reopt, "evaluation": rows,
    }
    write_summary(run_dir, summary)

    columns = ["seed", "return", "normalised", "rho expert", "rho random", "EPIC"]
    if reopt is not None:
        columns += [f"re-opt. return ({reopt['env']})", "re-opt. normalised"]
    table = []
    for r in rows:
        cells = [str(r["seed"]), f"{r['return']:.1f}", fmt(r["normalized_return"]), fmt(r["pearson_expert"]),
                 fmt(r["pearson_random"]), fmt(r["epic"])]
        if reopt is not None:
            cells += [f"{r['reoptimized_return']:.1f}", fmt(r["reoptimized_normalized_return"])]
        table.append(cells)
    print_table(f"{run.algo.name} ({run.learner.name}) on {env.name}: {rounds} rounds, {mean(env_steps):.0f} env "
                f"steps per seed, {progress.seconds:.1f} s ({progress.compile_seconds:.1f} s compiling); "
                f"expert {expert_score:.1f}, random {random_score:.1f}", columns, table)
    print(f"{run.algo.name} return {imitation.mean():.2f} (normalised {summary['mean_normalized_return']:.3f}, "
          f"deterministic)")
    if reopt is not None:
        normalised = reopt["mean_normalized_return"]
        print(f"re-optimised on the learned reward in {reopt['env']} ({reopt['steps']} steps): return "
              f"{reopt['mean_return']:.2f}" + (f" (normalised {normalised:.3f})" if normalised is not None else ""))
    if "note" in comparison:
        print(f"note: {comparison['note']}")
    print(f"run directory: {run_dir}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``train`` on the top-level parser."""
    algorithms = "; ".join(f"{a.name}: {a.description}" for a in SAMPLE_ALGORITHMS.values())
    p = sub.add_parser("train", help="sample-based IRL (gcl, gail, airl) on a control task's demonstrations",
                       description=f"Sample-based IRL on a control task. Algorithms: {algorithms}.")
    p.add_argument("algorithm", nargs="?", metavar="ALGO", help=f"one of {', '.join(SAMPLE_ALGORITHMS)}")
    p.add_argument("--demos", help="demonstrations file (from irlax demos)")
    p.add_argument("--env", help=f"environment (default: the demonstrations'): {', '.join(ENV_BUILDERS)}")
    p.add_argument("--episodes", type=int, help="use only the first N demonstrations")
    p.add_argument("--seeds", type=int, default=1, help="seeds trained at once (vmapped)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--rounds", type=int, help="rounds of training (default: the preset for the task, e.g. 100 for "
                   "CartPole-v1 with PPO, 200 rounds of 100 SAC steps for Pendulum-v1)")
    p.add_argument("--learner", help="forward learner, ppo or sac (default: ppo for discrete tasks, sac otherwise)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="any field of the algorithm's config")
    p.add_argument("--learner-set", action="append", metavar="KEY=VALUE",
                   help="any field of the learner's config (on top of its preset for the task)")
    p.add_argument("--checkpoint-every", type=int, metavar="R", help="rounds between checkpoints (default ~rounds/20)")
    p.add_argument("--eval-episodes", type=int, default=20, help="evaluation episodes per seed (default 20)")
    p.add_argument("--reoptimize-steps", type=int, metavar="N",
                   help="env steps of a fresh learner trained on the frozen learned reward (default: the learner's "
                        "expert budget for the task; 0: skip)")
    p.add_argument("--transfer-env", metavar="ENV", help="re-optimise in this task instead (same obs/action sizes)")
    p.add_argument("--transfer-expert", metavar="DIR", help="an expert of --transfer-env, to normalise its return")
    p.add_argument("--out", help="run directory to create (default: runs/train-ALGO-ENV-TIME)")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
