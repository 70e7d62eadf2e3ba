"""Objectworld and binaryworld: expected value difference against the number of demonstrations.

Reproduces the protocol of ``shared/benchmarks/objectworld.md`` (Levine, Popovic &
Koltun 2011; Wulfmeier, Ondruska & Posner 2016):

- worlds: 32 x 32 objectworld with continuous (4 distances) and discrete (124
  threshold indicators) features; 32 x 32 binaryworld (9 neighbourhood bits);
- algorithms: linear MaxEnt (2008), linear MCE (2010) and Deep MaxEnt (MLP) on
  objectworld; Deep MaxEnt and linear MaxEnt (the linear reference) on binaryworld;
- N in {4, 8, 16, 32, 64, 128} demonstrations of 8 steps from the soft-optimal
  expert, uniform start, slip 0.7, gamma 0.9;
- 8 restarts (seeds 0..7), each with a new world and new demonstrations;
- soft and greedy EVD on the training world, and transfer EVD: the learned reward
  function applied to the features of 4 fresh worlds, EVD on each, averaged.

For each (variant, algorithm, N) the restarts run as ONE ``jax.jit(jax.vmap(...))``
over seeds: world generation, expert planning, demonstration sampling, the fit and
every EVD happen inside it, so each configuration compiles once. Wall-clock per
configuration is recorded with compilation included (and compile time separately).

Run from the repository root::

    PYTHONPATH=src python benchmarks/objectworld.py            # the full protocol
    PYTHONPATH=src python benchmarks/objectworld.py --quick    # smoke test

Writes ``benchmarks/results/objectworld.json``, ``objectworld.md`` (a fragment for
``docs/benchmarks.md``) and one EVD-against-N plot per world variant.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from bench_machine import machine_info, machine_line
from jax import Array
from rich.console import Console

from irlax.algorithms.base import TabularData
from irlax.algorithms.deep_maxent import deep_reward_model
from irlax.algorithms.registry import get_algorithm_kind, make_algorithm
from irlax.algorithms.tabular_fit import TabularIRLResult
from irlax.atomic import atomic_write_json, atomic_write_text
from irlax.data.trajectories import Trajectories
from irlax.envs import BinaryworldConfig, ObjectworldConfig, TabularMDP, World, make_binaryworld, make_objectworld
from irlax.metrics.tabular import expected_value_difference
from irlax.report import make_console, plot_evd_vs_n, print_table, progress_bar
from irlax.rewards.base import RewardModel
from irlax.rewards.linear import linear_reward
from irlax.tabular.planning import soft_value_iteration
from irlax.tabular.sampling import sample_trajectories

ROOT = Path(__file__).resolve().parents[1]
DOCS_DIR = ROOT / "docs"
DEFAULT_OUT_DIR = Path("benchmarks/results")
QUICK_OUT_DIR = Path("benchmarks/results/quick")

FULL_N = (4, 8, 16, 32, 64, 128)
QUICK_N = (4, 16)
FULL_SEEDS, QUICK_SEEDS = 8, 2
QUICK_ITERATIONS = 30
FULL_SIZE, QUICK_SIZE = 32, 16
DEMO_LENGTH = 8
TRANSFER_WORLDS = 4
KEY_STREAMS = (0, 1, 2, 3)
"""``fold_in`` indices of a restart's keys: world, demonstrations, fit, transfer worlds."""
CHECK_MIN_N = 32
"""The deep-vs-linear check applies to every N at least this large."""
CHECK_SE = 2.0
"""... with this many standard errors of margin on each side."""

ALGORITHM_LABELS = {"maxent": "MaxEnt", "mce": "MCE", "deep-maxent": "Deep MaxEnt"}
METRICS = ("evd_soft", "evd_greedy", "transfer_soft", "transfer_greedy")
METRIC_TITLES = {
    "evd_soft": "soft EVD",
    "evd_greedy": "greedy EVD",
    "transfer_soft": "transfer soft EVD",
    "transfer_greedy": "transfer greedy EVD",
}


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """What one benchmark run measures."""

    n_values: tuple[int, ...]
    """Numbers of demonstrations N."""
    seeds: int
    """Restarts per configuration (seeds ``0 .. seeds - 1``)."""
    iterations: int | None
    """Gradient steps of every algorithm; ``None``: each algorithm's default config."""
    size: int
    """Grid side n of every world."""
    demo_length: int
    """Steps per demonstration."""
    transfer_worlds: int
    """Fresh worlds each learned reward is transferred to."""
    variants: tuple[str, ...]
    """World variants to run (keys of :func:`variant_specs`)."""
    out_dir: Path
    """Where the JSON, markdown and plots go."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", help=f"numbers of demonstrations (default {FULL_N})")
    parser.add_argument("--seeds", type=int, help=f"restarts, seeds 0..k-1 (default {FULL_SEEDS})")
    parser.add_argument("--iterations", type=int, help="gradient steps of every algorithm (default: its config)")
    parser.add_argument("--size", type=int, help=f"grid side n (default {FULL_SIZE})")
    parser.add_argument("--transfer-worlds", type=int, default=TRANSFER_WORLDS, help="fresh worlds for transfer EVD")
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANT_TITLES), help="world variants (default all)")
    parser.add_argument("--out-dir", type=Path, help=f"output folder (default {DEFAULT_OUT_DIR})")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its JSON (saved after every configuration): finished "
        "configurations are kept, the rest are run",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: N {QUICK_N}, {QUICK_SEEDS} seeds, {QUICK_ITERATIONS} iterations, "
        f"{QUICK_SIZE}x{QUICK_SIZE} grid, into {QUICK_OUT_DIR}",
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """Resolve the flags: explicit values win, then ``--quick``'s, then the protocol's."""
    quick = args.quick
    pick = lambda value, quick_value, full_value: value if value is not None else (quick_value if quick else full_value)
    settings = Settings(
        n_values=tuple(pick(args.n, QUICK_N, FULL_N)),
        seeds=pick(args.seeds, QUICK_SEEDS, FULL_SEEDS),
        iterations=pick(args.iterations, QUICK_ITERATIONS, None),
        size=pick(args.size, QUICK_SIZE, FULL_SIZE),
        demo_length=DEMO_LENGTH,
        transfer_worlds=args.transfer_worlds,
        variants=tuple(args.variants or VARIANT_TITLES),
        out_dir=pick(args.out_dir, QUICK_OUT_DIR, DEFAULT_OUT_DIR),
    )
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Raise ``SystemExit`` with a message on nonsensical settings."""
    if not settings.n_values or min(settings.n_values) < 1:
        raise SystemExit("--n needs positive numbers of demonstrations")
    if settings.seeds < 1 or settings.transfer_worlds < 1:
        raise SystemExit("--seeds and --transfer-worlds must be at least 1")
    if settings.iterations is not None and settings.iterations < 1:
        raise SystemExit("--iterations must be at least 1")
    if settings.size < 4:
        raise SystemExit("--size must be at least 4")


# ---------------------------------------------------------------- worlds and algorithms


VARIANT_TITLES = {
    "objectworld_continuous": "Objectworld, continuous features",
    "objectworld_discrete": "Objectworld, discrete features",
    "binaryworld": "Binaryworld",
}
VARIANT_ALGORITHMS = {
    "objectworld_continuous": ("maxent", "mce", "deep-maxent"),
    "objectworld_discrete": ("maxent", "mce", "deep-maxent"),
    "binaryworld": ("maxent", "deep-maxent"),
}


class Variant(NamedTuple):
    """A world variant: its generator ``key -> World`` and the config it closes over."""

    name: str
    make: Callable[[Array], World]
    config: Any


def make_variant(name: str, size: int) -> Variant:
    """The world generator of variant ``name`` on an ``size x size`` grid (protocol defaults otherwise).

    The two objectworld variants draw the same objects from the same key; only the
    features differ.
    """
    if name == "binaryworld":
        config: Any = BinaryworldConfig(size=size)
        return Variant(name, lambda key: make_binaryworld(key, config), config)
    config = ObjectworldConfig(size=size, continuous=name == "objectworld_continuous")
    return Variant(name, lambda key: make_objectworld(key, config), config)


class Method(NamedTuple):
    """An algorithm with its config: ``fit(key, mdp, demos)`` and the reward model it learns."""

    name: str
    config: Any
    fit: Callable[[Array, TabularMDP, Trajectories], TabularIRLResult]
    reward_model: Callable[[TabularMDP], RewardModel]


def make_method(name: str, iterations: int | None) -> Method:
    """Algorithm ``name`` (registry name) with its default config, ``iterations`` overridden if given."""
    config = get_algorithm_kind(name, "tabular").config()
    if iterations is not None:
        config = replace(config, iterations=iterations)
    algorithm = make_algorithm(name, config)

    def fit(key: Array, mdp: TabularMDP, demos: Trajectories) -> TabularIRLResult:
        data = TabularData(mdp, demos)
        state, metrics = algorithm.update(algorithm.init(key, data), data, algorithm.num_steps)
        return algorithm.result(state, data, metrics)

    if name == "deep-maxent":
        return Method(name, config, fit, lambda mdp: deep_reward_model(config, mdp))
    return Method(name, config, fit, lambda mdp: linear_reward())


# ---------------------------------------------------------------- one restart


class SeedResult(NamedTuple):
    """The measurements of one restart (each a scalar; ``[seeds]`` when vmapped)."""

    evd_soft: Array
    evd_greedy: Array
    transfer_soft: Array
    transfer_greedy: Array
    final_log_likelihood: Array


def expert_demos(key: Array, world: World, num: int, length: int) -> Trajectories:
    """``num`` trajectories of ``length`` steps from the soft-optimal expert, from ``mdp.initial`` (uniform)."""
    log_policy = soft_value_iteration(world.mdp, world.reward).log_policy
    return sample_trajectories(key, world.mdp, log_policy, num, length)


def evaluation_worlds(variant: Variant, world: World, key: Array, num_fresh: int) -> World:
    """The training world followed by ``num_fresh`` freshly drawn worlds, stacked: leaves ``[1 + num_fresh, ...]``."""
    fresh = jax.vmap(variant.make)(jax.random.split(key, num_fresh))
    return jax.tree.map(lambda one, many: jnp.concatenate([one[None], many]), world, fresh)


def reward_function_evd(worlds: World, model: RewardModel, params: Any) -> tuple[Array, Array]:
    """(soft, greedy) EVD, ``[W]`` each, of the reward function ``model.apply(params, .)`` on each world.

    A ``lax.map`` over the worlds, so the planners and occupancy solves of the EVD
    are compiled once for the training world and the transfer worlds together.
    """

    def one(world: World) -> tuple[Array, Array]:
        evd = expected_value_difference(world.mdp, world.reward, model.apply(params, world.mdp.features))
        return evd.soft, evd.greedy

    return jax.lax.map(one, worlds)


def run_seed(variant: Variant, method: Method, settings: Settings, num_demos: int, key: Array) -> SeedResult:
    """One restart: a new world and demonstrations from ``key``, the fit, and every EVD.

    The world and demonstration keys depend only on ``key`` (and ``num_demos``), so
    every algorithm sees the same worlds and demonstrations (and both objectworld
    variants the same objects). The training-world EVD uses the learned reward
    ``model.apply(params, features)``, which is the fit's ``result.reward``.
    """
    world_key, demo_key, fit_key, transfer_key = (jax.random.fold_in(key, i) for i in KEY_STREAMS)
    world = variant.make(world_key)
    demos = expert_demos(demo_key, world, num_demos, settings.demo_length)
    result = method.fit(fit_key, world.mdp, demos)
    worlds = evaluation_worlds(variant, world, transfer_key, settings.transfer_worlds)
    soft, greedy = reward_function_evd(worlds, method.reward_model(world.mdp), result.params)
    return SeedResult(soft[0], greedy[0], soft[1:].mean(), greedy[1:].mean(), result.metrics.log_likelihood[-1])


def zero_reward_seed(variant: Variant, key: Array) -> tuple[Array, Array]:
    """(soft, greedy) EVD of the all-zero reward (the uniform random policy) on the restart's training world.

    The "learned nothing" level that the algorithms' EVDs are to be read against.
    """
    world = variant.make(jax.random.fold_in(key, KEY_STREAMS[0]))
    evd = expected_value_difference(world.mdp, world.reward, jnp.zeros_like(world.reward))
    return evd.soft, evd.greedy


def zero_reward_reference(variant: Variant, seeds: int) -> dict[str, Any]:
    """Mean, standard error and per-seed values of :func:`zero_reward_seed` over the restarts' worlds."""
    soft, greedy = jax.jit(jax.vmap(lambda key: zero_reward_seed(variant, key)))(seed_keys(seeds))
    reference = {}
    for name, values in (("evd_soft", soft), ("evd_greedy", greedy)):
        values = np.asarray(values, dtype=float)
        mean, se = mean_se(values)
        reference[name] = {"mean": mean, "se": se, "per_seed": values.tolist()}
    return reference


def seed_keys(seeds: int) -> Array:
    """``[seeds, 2]`` keys of seeds ``0 .. seeds - 1``."""
    return jnp.stack([jax.random.PRNGKey(seed) for seed in range(seeds)])


class ConfigRun(NamedTuple):
    """One configuration's per-seed results and timings (seconds)."""

    result: SeedResult
    compile_s: float
    run_s: float


def run_config(variant: Variant, method: Method, settings: Settings, num_demos: int) -> ConfigRun:
    """All restarts of one (variant, algorithm, N) as one jitted vmap; compile and run timed apart."""
    batched = jax.jit(jax.vmap(lambda key: run_seed(variant, method, settings, num_demos, key)))
    keys = seed_keys(settings.seeds)
    start = time.perf_counter()
    compiled = batched.lower(keys).compile()
    compiled_at = time.perf_counter()
    result = jax.block_until_ready(compiled(keys))
    done = time.perf_counter()
    result = SeedResult(*(np.asarray(x, dtype=float) for x in result))
    return ConfigRun(result, compiled_at - start, done - compiled_at)


# ---------------------------------------------------------------- aggregation


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error (``std(ddof=1) / sqrt(k)``; 0 for one value) of per-seed values."""
    mean = float(np.mean(values))
    se = float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0
    return mean, se


def empty_record() -> dict[str, Any]:
    """The per-(variant, algorithm) record that :func:`add_run` fills, one entry per N."""
    record: dict[str, Any] = {m: {"mean": [], "se": [], "per_seed": []} for m in METRICS}
    record.update(n=[], final_log_likelihood=[], nonfinite=[], compile_s=[], run_s=[], wall_s=[])
    return record


def add_run(record: dict[str, Any], num_demos: int, run: ConfigRun) -> None:
    """Append one configuration's statistics to ``record``."""
    record["n"].append(num_demos)
    for metric in METRICS:
        values = getattr(run.result, metric)
        mean, se = mean_se(values)
        record[metric]["mean"].append(mean)
        record[metric]["se"].append(se)
        record[metric]["per_seed"].append(values.tolist())
    record["final_log_likelihood"].append(run.result.final_log_likelihood.tolist())
    record["nonfinite"].append(int(sum(np.sum(~np.isfinite(x)) for x in run.result)))
    record["compile_s"].append(run.compile_s)
    record["run_s"].append(run.run_s)
    record["wall_s"].append(run.compile_s + run.run_s)


def fmt(mean: float, se: float) -> str:
    """``mean ± se`` with two decimals."""
    return f"{mean:.2f} ± {se:.2f}"


def reference_text(reference: dict[str, Any]) -> str:
    """The zero-reward reference as ``soft EVD m ± se, greedy EVD m ± se``."""
    soft, greedy = reference["evd_soft"], reference["evd_greedy"]
    return f"soft EVD {fmt(soft['mean'], soft['se'])}, greedy EVD {fmt(greedy['mean'], greedy['se'])}"


def deep_vs_linear_check(results: dict[str, Any]) -> dict[str, Any]:
    """Deep MaxEnt clearly below linear MaxEnt on continuous objectworld at every N >= 32.

    Per N: ``deep mean + 2 se < maxent mean - 2 se`` (soft EVD). ``holds`` is
    ``None`` when no N >= 32 was run.
    """
    world = results.get("objectworld_continuous", {})
    per_n: dict[str, Any] = {}
    if "deep-maxent" in world and "maxent" in world:
        deep, linear = world["deep-maxent"], world["maxent"]
        for i, n in enumerate(deep["n"]):
            if n < CHECK_MIN_N or n not in linear["n"]:
                continue
            j = linear["n"].index(n)
            deep_upper = deep["evd_soft"]["mean"][i] + CHECK_SE * deep["evd_soft"]["se"][i]
            linear_lower = linear["evd_soft"]["mean"][j] - CHECK_SE * linear["evd_soft"]["se"][j]
            per_n[str(n)] = {"deep_upper": deep_upper, "maxent_lower": linear_lower, "holds": deep_upper < linear_lower}
    holds = all(v["holds"] for v in per_n.values()) if per_n else None
    return {
        "statement": "Deep MaxEnt mean soft EVD + 2 se < linear MaxEnt mean soft EVD - 2 se on "
        f"continuous-feature objectworld for every N >= {CHECK_MIN_N}",
        "holds": holds,
        "per_n": per_n,
    }


# ---------------------------------------------------------------- machine and command


def command_line() -> str:
    """The command that ran this script, as typed from the repository root."""
    return "PYTHONPATH=src python " + shlex.join(sys.argv)


# ---------------------------------------------------------------- outputs


def relative_to_docs(path: Path) -> str:
    """``path`` relative to ``docs/`` (where the markdown fragment is pasted)."""
    return Path(os.path.relpath(path.resolve(), DOCS_DIR)).as_posix()


def plot_path(settings: Settings, variant: str) -> Path:
    """The EVD plot of one variant: ``objectworld_continuous.png`` etc."""
    return settings.out_dir / f"{variant}.png"


def write_plots(report: dict[str, Any], settings: Settings) -> None:
    """Soft EVD against N per variant: one line per algorithm with standard-error bars, and the zero-reward level."""
    for variant, algorithms in report["results"].items():
        lines = {
            ALGORITHM_LABELS[name]: (np.array(r["n"]), np.array(r["evd_soft"]["mean"]), np.array(r["evd_soft"]["se"]))
            for name, r in algorithms.items()
            if r["n"]
        }
        reference = report["zero_reward"].get(variant)
        if reference is not None and lines:
            n = np.array(settings.n_values)
            soft = reference["evd_soft"]
            lines["zero reward (reference)"] = (n, np.full(n.shape, soft["mean"]), np.full(n.shape, soft["se"]))
        title = f"{VARIANT_TITLES[variant]}, {settings.size}x{settings.size}: soft EVD ({settings.seeds} seeds)"
        plot_evd_vs_n(plot_path(settings, variant), lines, title)


def metric_rows(algorithms: dict[str, Any], metric: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows (one per N) of ``metric`` for each algorithm of a variant."""
    names = [name for name in algorithms if algorithms[name]["n"]]
    all_n = sorted({n for name in names for n in algorithms[name]["n"]})
    rows = []
    for n in all_n:
        row = [str(n)]
        for name in names:
            r = algorithms[name]
            row.append(fmt(r[metric]["mean"][r["n"].index(n)], r[metric]["se"][r["n"].index(n)]) if n in r["n"] else "")
        rows.append(row)
    return ["N", *(ALGORITHM_LABELS[name] for name in names)], rows


def time_rows(algorithms: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of wall-clock seconds (compile included) per N for each algorithm."""
    header, rows = metric_rows(algorithms, "evd_soft")
    names = [name for name in algorithms if algorithms[name]["n"]]
    for row in rows:
        n = int(row[0])
        for k, name in enumerate(names, start=1):
            r = algorithms[name]
            row[k] = f"{r['wall_s'][r['n'].index(n)]:.0f} s" if n in r["n"] else ""
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table (first column left-aligned, the rest right-aligned)."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def variant_markdown(
    variant: str, algorithms: dict[str, Any], reference: dict[str, Any] | None, settings: Settings
) -> list[str]:
    """The markdown section of one world variant: EVD tables, timings and the plot."""
    lines = [f"### {VARIANT_TITLES[variant]} ({settings.size} x {settings.size})", ""]
    for metric in METRICS:
        title = METRIC_TITLES[metric]
        lines += [f"**{title[0].upper() + title[1:]}** (mean ± standard error over {settings.seeds} seeds)", ""]
        lines += markdown_table(*metric_rows(algorithms, metric)) + [""]
    if reference is not None:
        lines += [f"Reference, the all-zero reward (uniform random policy) on the same worlds: "
                  f"{reference_text(reference)}.", ""]
    lines += ["Wall-clock per configuration (all seeds in one vmapped call, compilation included):", ""]
    lines += markdown_table(*time_rows(algorithms)) + [""]
    lines += [f"![{VARIANT_TITLES[variant]}: soft EVD against N]({relative_to_docs(plot_path(settings, variant))})", ""]
    return lines


def check_markdown(check: dict[str, Any]) -> list[str]:
    """The deep-vs-linear check as a markdown paragraph."""
    if check["holds"] is None:
        return [f"Check ({check['statement']}): not evaluated (no N >= {CHECK_MIN_N} run).", ""]
    verdict = "**holds**" if check["holds"] else "**fails**"
    detail = "; ".join(
        f"N = {n}: {v['deep_upper']:.2f} vs {v['maxent_lower']:.2f}" for n, v in check["per_n"].items()
    )
    return [f"Check ({check['statement']}): {verdict} (deep mean + 2 se vs MaxEnt mean - 2 se: {detail}).", ""]


def markdown(report: dict[str, Any], settings: Settings) -> str:
    """The markdown fragment for ``docs/benchmarks.md``."""
    s = report["settings"]
    lines = [
        "## Objectworld and binaryworld (expected value difference)",
        "",
        f"Protocol: `shared/benchmarks/objectworld.md`. {s['size']} x {s['size']} grids, slip 0.7, gamma 0.9; "
        f"N demonstrations of {s['demo_length']} steps from the soft-optimal expert (uniform start); "
        f"{s['seeds']} restarts (seeds 0..{s['seeds'] - 1}), each a new world and new demonstrations; "
        f"default configs ({iteration_note(report)}). EVD = V_true(expert) - V_true(optimal policy of the "
        "learned reward) from a uniform start, soft-optimal and greedy policies. Transfer EVD: the learned "
        f"reward function (linear: features @ theta; Deep MaxEnt: the MLP) applied to {s['transfer_worlds']} "
        "freshly drawn worlds, EVD averaged. Binaryworld reward scale 5 (ours, as objectworld).",
        "",
    ]
    for variant, algorithms in report["results"].items():
        lines += variant_markdown(variant, algorithms, report["zero_reward"].get(variant), settings)
    lines += check_markdown(report["check_deep_below_linear"])
    lines += [
        f"Total time: {report['total_s'] / 60:.1f} min (compilation included).",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {machine_line(report['machine'])}. Measured {report['date']}.",
        "",
    ]
    return "\n".join(lines)


def iteration_note(report: dict[str, Any]) -> str:
    """How many gradient steps each algorithm ran, for the markdown."""
    return ", ".join(f"{ALGORITHM_LABELS[n]} {c['iterations']} iterations" for n, c in report["configs"].items())


def base_report(settings: Settings) -> dict[str, Any]:
    """The JSON report before any configuration has run."""
    methods = {name for v in settings.variants for name in VARIANT_ALGORITHMS[v]}
    return {
        "protocol": "shared/benchmarks/objectworld.md",
        "command": command_line(),
        "argv": sys.argv,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {**asdict(settings), "out_dir": str(settings.out_dir)},
        "configs": {name: asdict(make_method(name, settings.iterations).config) for name in sorted(methods)},
        "world_configs": {v: asdict(make_variant(v, settings.size).config) for v in settings.variants},
        "timing_note": "wall_s = compile_s + run_s per configuration: one jit(vmap) over all seeds, "
        "compilation included",
        "zero_reward": {},
        "results": {v: {name: empty_record() for name in VARIANT_ALGORITHMS[v]} for v in settings.variants},
        "complete": False,
    }


def json_path(settings: Settings) -> Path:
    """The JSON results file."""
    return settings.out_dir / "objectworld.json"


RESUME_KEYS = ("settings", "configs", "world_configs")


def resumed_report(settings: Settings, fresh: dict[str, Any]) -> dict[str, Any]:
    """The saved report of an interrupted run with the same settings, or ``fresh`` if there is none.

    Raises ``SystemExit`` if the saved run used other settings (its results would not mix).
    """
    path = json_path(settings)
    if not path.exists():
        return fresh
    saved = json.loads(path.read_text())
    for key in RESUME_KEYS:
        if saved.get(key) != json.loads(json.dumps(fresh[key])):
            raise SystemExit(f"{path} was made with other {key}; rerun without --resume to start afresh")
    saved["complete"] = False
    return saved


def is_done(report: dict[str, Any], variant_name: str, name: str, n: int) -> bool:
    """Whether configuration (variant, algorithm, N) already has results in ``report``."""
    return n in report["results"][variant_name][name]["n"]


# ---------------------------------------------------------------- driver


def print_record(console: Console, variant: str, name: str, record: dict[str, Any]) -> None:
    """A rich table of one (variant, algorithm): its metrics and timings per N."""
    rows = [
        [str(n)]
        + [fmt(record[m]["mean"][i], record[m]["se"][i]) for m in METRICS]
        + [f"{record['wall_s'][i]:.1f} s", str(record["nonfinite"][i])]
        for i, n in enumerate(record["n"])
    ]
    columns = ["N", *(METRIC_TITLES[m] for m in METRICS), "wall (incl. compile)", "non-finite"]
    print_table(f"{VARIANT_TITLES[variant]} -- {ALGORITHM_LABELS[name]}", columns, rows, console=console)


def log_run(console: Console, label: str, record: dict[str, Any], run: ConfigRun) -> None:
    """One line per finished configuration: its soft EVD and timings."""
    soft = fmt(record["evd_soft"]["mean"][-1], record["evd_soft"]["se"][-1])
    console.print(f"{label}: soft EVD {soft}, compile {run.compile_s:.1f} s + run {run.run_s:.1f} s", highlight=False)


def configurations(settings: Settings) -> list[tuple[str, str, int]]:
    """Every (variant, algorithm, N) to run, in order."""
    return [(v, a, n) for v in settings.variants for a in VARIANT_ALGORITHMS[v] for n in settings.n_values]


def ensure_reference(report: dict[str, Any], variant_name: str, settings: Settings, console: Console) -> None:
    """Measure the zero-reward reference of ``variant_name`` unless the report has it."""
    if variant_name in report["zero_reward"]:
        return
    reference = zero_reward_reference(make_variant(variant_name, settings.size), settings.seeds)
    report["zero_reward"][variant_name] = reference
    console.print(f"{variant_name}: zero-reward reference {reference_text(reference)}", highlight=False)


def run_all(settings: Settings, report: dict[str, Any], console: Console) -> None:
    """Run every configuration, filling ``report['results']``; saves the JSON after each one.

    Configurations the report already has (a resumed run) are skipped; ``report['total_s']``
    counts the time of every session of the run.
    """
    previous_s, start = report.get("total_s", 0.0), time.perf_counter()
    configs = configurations(settings)
    with progress_bar(len(configs), "objectworld benchmark", console=console) as bar:
        for variant_name, name, n in configs:
            if is_done(report, variant_name, name, n):
                bar.advance()
                continue
            ensure_reference(report, variant_name, settings, console)
            bar.update(f"{variant_name} {name} N={n}")
            variant, method = make_variant(variant_name, settings.size), make_method(name, settings.iterations)
            run = run_config(variant, method, settings, n)
            record = report["results"][variant_name][name]
            add_run(record, n, run)
            log_run(console, f"{variant_name} {name} N={n}", record, run)
            report["total_s"] = previous_s + time.perf_counter() - start
            atomic_write_json(json_path(settings), report)
            bar.advance()
            if n == settings.n_values[-1]:
                print_record(console, variant_name, name, record)


def print_summary(console: Console, report: dict[str, Any]) -> None:
    """Soft and greedy EVD per variant, algorithms side by side."""
    for variant, algorithms in report["results"].items():
        for metric in ("evd_soft", "evd_greedy", "transfer_soft"):
            header, rows = metric_rows(algorithms, metric)
            print_table(f"{VARIANT_TITLES[variant]}: {METRIC_TITLES[metric]}", header, rows, console=console)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write its outputs; 0 on success (whatever the check says)."""
    settings = settings_from(parse_args(argv))
    console = make_console(stderr=False)
    if not console.is_terminal:
        console.width = 160
    report = base_report(settings)
    if parse_args(argv).resume:
        report = resumed_report(settings, report)
    run_all(settings, report, console)
    report["check_deep_below_linear"] = check = deep_vs_linear_check(report["results"])
    report["complete"] = True
    atomic_write_json(json_path(settings), report)
    write_plots(report, settings)
    atomic_write_text(settings.out_dir / "objectworld.md", markdown(report, settings))
    print_summary(console, report)
    console.print(f"check: {check['statement']}: {check['holds']} {check['per_n']}")
    console.print(f"total {report['total_s'] / 60:.1f} min; wrote {settings.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
