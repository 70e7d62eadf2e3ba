"""Abbeel & Ng's gridworld: performance of the learned policy against the number of expert trajectories.

The experiment of Abbeel & Ng (ICML 2004), section 5.1: a 128 x 128 gridworld in 64
macrocells of 16 x 16, one indicator feature per macrocell, a sparse random true weight
vector (each weight 0 with probability 0.9, else uniform in [0, 1]), four moves that
fail with probability 0.3 (then a uniformly random move), gamma 0.99. Here the episodes
are finite, ``HORIZON`` steps from a uniformly random start (the paper's trajectories
were about 100 steps; ``HORIZON`` is shorter to fit the time budget of a 2-core CPU),
and the expert is the optimal (greedy, time-indexed) policy for the true reward.

For N expert trajectories, each method's policy is scored by its true value relative to
the expert's, ``V_true(pi) / V_true(pi_expert)`` from the uniform start:

- max-margin and projection (Abbeel & Ng 2004): the mixture of the policies found, with
  the weights ``lambda`` closest to ``mu_E``;
- MMP (Ratliff et al. 2006), MaxEnt (Ziebart 2008) and MCE (Ziebart 2010): the optimal
  (greedy) policy for the learned linear reward;
- "mimic the expert": the demonstrations' action frequencies in each state, uniform in
  states they never visit.

Each seed draws a new world and nested demonstration sets (the first N of one sample).

Run from the repository root::

    PYTHONPATH=src python benchmarks/abbeel_ng.py            # the full run (about 15 min on 2 cores)
    PYTHONPATH=src python benchmarks/abbeel_ng.py --quick    # smoke test (writes *_quick files)
    PYTHONPATH=src python benchmarks/abbeel_ng.py --resume   # continue an interrupted run

Writes ``benchmarks/results/abbeel_ng.json`` (saved after every configuration),
``abbeel_ng.md`` (a fragment for ``docs/benchmarks.md``) and ``abbeel_ng.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from bench_machine import machine_info, machine_line
from jax import Array
from objectworld import command_line, markdown_table, mean_se, relative_to_docs

from irlax.algorithms import apprenticeship, maxent, mce, mmp
from irlax.atomic import atomic_write_json, atomic_write_text
from irlax.data.trajectories import Trajectories
from irlax.envs import GridworldConfig, TabularMDP, World, make_gridworld
from irlax.report import make_console, plot_evd_vs_n, print_table
from irlax.tabular.occupancy import policy_value
from irlax.tabular.planning import value_iteration_finite
from irlax.tabular.sampling import sample_trajectories

DEFAULT_OUT_DIR = Path("benchmarks/results")
HORIZON, QUICK_HORIZON = 50, 20
FULL_N, QUICK_N = (1, 3, 10, 30, 100), (1, 10)
FULL_SEEDS, QUICK_SEEDS = 4, 2
FULL_SIZE, QUICK_SIZE = 128, 32
FULL_MACROCELL, QUICK_MACROCELL = 16, 8
GRADIENT_ITERATIONS, QUICK_GRADIENT_ITERATIONS = 30, 10
"""Steps of MaxEnt and MCE (each a backward and a forward pass over the 16384-state world)."""
MMP_ITERATIONS, QUICK_MMP_ITERATIONS = 50, 10
AL_ITERATIONS, QUICK_AL_ITERATIONS = 30, 10

METHODS = ("max-margin", "projection", "mmp", "maxent", "mce", "mimic")
LABELS = {
    "max-margin": "max-margin",
    "projection": "projection",
    "mmp": "MMP",
    "maxent": "MaxEnt",
    "mce": "MCE",
    "mimic": "mimic the expert",
}


@dataclass(frozen=True)
class Settings:
    """What one run measures."""

    n_values: tuple[int, ...]
    """Numbers of expert trajectories N."""
    seeds: int
    """Worlds (seeds ``0 .. seeds - 1``)."""
    size: int
    """Grid side."""
    macrocell: int
    """Macrocell side (the features are ``(size / macrocell)^2`` indicators)."""
    horizon: int
    """Steps per episode and per demonstration."""
    gradient_iterations: int
    """Steps of MaxEnt and MCE."""
    mmp_iterations: int
    """Subgradient steps of MMP."""
    al_iterations: int
    """Most margin steps of max-margin and projection."""
    quick: bool
    """Smoke-test run (``*_quick`` outputs)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", help=f"numbers of expert trajectories (default {FULL_N})")
    parser.add_argument("--seeds", type=int, help=f"worlds, seeds 0..k-1 (default {FULL_SEEDS})")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="output folder")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from its JSON")
    parser.add_argument("--quick", action="store_true", help="smoke test: a 32x32 world, 2 seeds, *_quick outputs")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """Resolve the flags: explicit values win, then ``--quick``'s, then the full run's."""
    q = args.quick
    settings = Settings(
        n_values=tuple(args.n or (QUICK_N if q else FULL_N)),
        seeds=args.seeds or (QUICK_SEEDS if q else FULL_SEEDS),
        size=QUICK_SIZE if q else FULL_SIZE,
        macrocell=QUICK_MACROCELL if q else FULL_MACROCELL,
        horizon=QUICK_HORIZON if q else HORIZON,
        gradient_iterations=QUICK_GRADIENT_ITERATIONS if q else GRADIENT_ITERATIONS,
        mmp_iterations=QUICK_MMP_ITERATIONS if q else MMP_ITERATIONS,
        al_iterations=QUICK_AL_ITERATIONS if q else AL_ITERATIONS,
        quick=q,
    )
    if min(settings.n_values) < 1 or settings.seeds < 1:
        raise SystemExit("--n and --seeds must be positive")
    return settings


def world_config(settings: Settings) -> GridworldConfig:
    """The gridworld of the run (Abbeel & Ng's, with a finite horizon)."""
    return GridworldConfig(size=settings.size, macrocell=settings.macrocell, horizon=settings.horizon)


def method_configs(settings: Settings) -> dict[str, Any]:
    """Each learning method's config."""
    return {
        "max-margin": apprenticeship.MaxMarginConfig(iterations=settings.al_iterations),
        "projection": apprenticeship.ProjectionConfig(iterations=settings.al_iterations),
        "mmp": mmp.MMPConfig(iterations=settings.mmp_iterations),
        "maxent": maxent.MaxEntConfig(iterations=settings.gradient_iterations),
        "mce": mce.MCEConfig(iterations=settings.gradient_iterations),
    }


# ---------------------------------------------------------------- one seed


@dataclass
class Seed:
    """One seed's world, expert and demonstrations (the largest N; smaller sets are prefixes)."""

    world: World
    expert_value: float
    demos: Trajectories


def make_seed(settings: Settings, seed: int) -> Seed:
    """Draw seed ``seed``'s world, plan its expert and sample ``max(N)`` demonstrations."""
    key = jax.random.PRNGKey(seed)
    world = make_gridworld(jax.random.fold_in(key, 0), world_config(settings))
    expert = value_iteration_finite(world.mdp, world.reward, settings.horizon).log_policy
    demos = sample_trajectories(jax.random.fold_in(key, 1), world.mdp, expert, max(settings.n_values), settings.horizon)
    return Seed(world, float(true_value(world, expert)), demos)


def first(demos: Trajectories, n: int) -> Trajectories:
    """The first ``n`` trajectories."""
    return jax.tree.map(lambda x: x[:n], demos)


def true_value(world: World, log_policy: Array) -> Array:
    """``V_true(pi)`` from the MDP's (uniform) start distribution."""
    return policy_value(world.mdp, jnp.exp(log_policy), world.reward)


def mimic_log_policy(mdp: TabularMDP, demos: Trajectories) -> Array:
    """The demonstrations' action frequencies per state, ``[S, A]`` (uniform where no state was visited)."""
    counts = jnp.zeros((mdp.num_states, mdp.num_actions)).at[demos.states, demos.actions].add(demos.mask)
    visits = counts.sum(axis=1, keepdims=True)
    return jnp.log(jnp.where(visits > 0, counts / jnp.maximum(visits, 1.0), 1.0 / mdp.num_actions))


def greedy_for(world: World, reward: Array, horizon: int) -> Array:
    """The optimal (greedy) policy for a learned reward."""
    return value_iteration_finite(world.mdp, reward, horizon).log_policy


def run_method(name: str, config: Any, seed: Seed, n: int, fit_key: Array, horizon: int) -> dict[str, Any]:
    """Fit one method on the first ``n`` demonstrations; its relative true value, seconds and diagnostics."""
    demos, world = first(seed.demos, n), seed.world
    extra: dict[str, Any] = {}
    start = time.perf_counter()
    if name in ("max-margin", "projection"):
        result = apprenticeship.fit(config, fit_key, world.mdp, demos)
        seconds = time.perf_counter() - start
        value = apprenticeship.mixture_policy_value(world.mdp, result.log_policies, result.mixture, world.reward)
        extra = {"margin_steps": int(result.margins.shape[0]), "final_margin": float(result.margins[-1]),
                 "converged": bool(result.converged)}
    elif name == "mimic":
        log_policy = jax.block_until_ready(mimic_log_policy(world.mdp, demos))
        seconds = time.perf_counter() - start
        value = true_value(world, log_policy)
    else:
        fit: Callable = {"mmp": mmp.fit_jit, "maxent": maxent.fit_jit, "mce": mce.fit_jit}[name]
        result = jax.block_until_ready(fit(config, fit_key, world.mdp, demos))
        seconds = time.perf_counter() - start
        value = true_value(world, greedy_for(world, result.reward, horizon))
        extra = {"final_objective": float(result.metrics.log_likelihood[-1])}
    return {"performance": float(value) / seed.expert_value, "seconds": seconds, **extra}


# ---------------------------------------------------------------- report


def base_report(settings: Settings) -> dict[str, Any]:
    """The JSON report before any configuration has run."""
    return {
        "experiment": "Abbeel & Ng (2004) gridworld, section 5.1",
        "command": command_line(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": asdict(settings),
        "world": asdict(world_config(settings)),
        "configs": {name: asdict(config) for name, config in method_configs(settings).items()},
        "results": {name: {} for name in METHODS},
        "expert_value": {},
        "total_s": 0.0,
        "complete": False,
    }


def json_path(settings: Settings, out_dir: Path) -> Path:
    """The JSON results file (``abbeel_ng.json``, or ``abbeel_ng_quick.json``)."""
    return out_dir / f"abbeel_ng{'_quick' if settings.quick else ''}.json"


def resumed(report: dict[str, Any], path: Path) -> dict[str, Any]:
    """The saved report at ``path`` if it was made with the same settings; ``SystemExit`` if not."""
    if not path.exists():
        return report
    saved = json.loads(path.read_text())
    for key in ("settings", "world", "configs"):
        if saved.get(key) != json.loads(json.dumps(report[key])):
            raise SystemExit(f"{path} was made with other {key}; rerun without --resume to start afresh")
    saved["complete"] = False
    return saved


def summary_rows(report: dict[str, Any], field: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows (one per N) of ``field`` for every method: ``mean ± se`` or the median seconds."""
    rows = []
    n_values = sorted({int(n) for r in report["results"].values() for n in r})
    for n in n_values:
        row = [str(n)]
        for name in METHODS:
            runs = report["results"][name].get(str(n))
            if runs is None:
                row.append("")
            elif field == "performance":
                mean, se = mean_se(np.array([r["performance"] for r in runs]))
                row.append(f"{mean:.3f} ± {se:.3f}")
            else:
                row.append(f"{np.median([r['seconds'] for r in runs]):.2f}")
        rows.append(row)
    return ["N", *(LABELS[name] for name in METHODS)], rows


def plot_path(settings: Settings, out_dir: Path) -> Path:
    """The performance plot."""
    return out_dir / f"abbeel_ng{'_quick' if settings.quick else ''}.png"


def write_plot(report: dict[str, Any], settings: Settings, out_dir: Path) -> None:
    """Relative true value against N (log axis), mean ± standard error per method."""
    lines = {}
    for name in METHODS:
        done = sorted(report["results"][name], key=int)
        if done:
            stats = [mean_se(np.array([r["performance"] for r in report["results"][name][n]])) for n in done]
            lines[LABELS[name]] = (np.array(done, dtype=float), *np.array(stats).T)
    title = f"Abbeel & Ng gridworld {settings.size}x{settings.size} ({settings.seeds} seeds)"
    plot_evd_vs_n(plot_path(settings, out_dir), lines, title, ylabel="true value relative to the expert's")


def markdown(report: dict[str, Any], settings: Settings, out_dir: Path) -> str:
    """The markdown fragment for ``docs/benchmarks.md``."""
    s, w, c = report["settings"], report["world"], report["configs"]
    cells = (s["size"] // s["macrocell"]) ** 2
    lines = [
        "## Abbeel & Ng gridworld (apprenticeship learning, MMP)",
        "",
        f"The experiment of Abbeel & Ng (2004), section 5.1: {s['size']} x {s['size']} gridworld, {cells} macrocells "
        f"of {s['macrocell']} x {s['macrocell']} with one indicator feature each, sparse random true weights "
        f"(0 with probability {w['sparsity']}, else uniform in [0, 1]), four moves that fail with probability "
        f"{1 - w['determinism']:.1f}, gamma {w['discount']}; episodes of {s['horizon']} steps from a uniform start. "
        "The expert is optimal for the true reward; N of its trajectories are the demonstrations (nested sets). "
        f"Performance: the learned policy's true value relative to the expert's, mean ± standard error over "
        f"{s['seeds']} seeds (a new world each). Max-margin and projection: the mixture of the policies found "
        f"(at most {c['max-margin']['iterations']} margin steps); MMP ({c['mmp']['iterations']} subgradient steps), "
        f"MaxEnt and MCE ({c['mce']['iterations']} Adam steps each): the greedy policy for the learned reward; "
        "mimic the expert: the demonstrated action frequencies per state (uniform in unvisited states).",
        "",
        *markdown_table(*summary_rows(report, "performance")),
        "",
        "Seconds per fit (median over seeds, the first seed's compilation included in its own time):",
        "",
        *markdown_table(*summary_rows(report, "seconds")),
        "",
        f"![Abbeel & Ng gridworld: performance against N]({relative_to_docs(plot_path(settings, out_dir))})",
        "",
        f"Total time: {report['total_s'] / 60:.1f} min.",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {machine_line(report['machine'])}. Measured {report['date']}.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- driver


def run_all(settings: Settings, report: dict[str, Any], path: Path) -> None:
    """Every (N, method) over all seeds; the JSON is saved after each configuration."""
    console = make_console(stderr=False)
    configs = method_configs(settings)
    seeds: dict[int, Seed] = {}
    previous_s, start = report["total_s"], time.perf_counter()
    for n in settings.n_values:
        for name in METHODS:
            if str(n) in report["results"][name]:
                continue
            runs = []
            for k in range(settings.seeds):
                if k not in seeds:
                    seeds[k] = make_seed(settings, k)
                    report["expert_value"][str(k)] = seeds[k].expert_value
                fit_key = jax.random.fold_in(jax.random.PRNGKey(k), 2)
                runs.append(run_method(name, configs.get(name), seeds[k], n, fit_key, settings.horizon))
            report["results"][name][str(n)] = runs
            report["total_s"] = previous_s + time.perf_counter() - start
            atomic_write_json(path, report)
            mean, se = mean_se(np.array([r["performance"] for r in runs]))
            seconds = np.median([r["seconds"] for r in runs])
            console.print(f"N={n} {LABELS[name]}: {mean:.3f} ± {se:.3f} ({seconds:.1f} s per fit)", highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment and write its outputs."""
    args = parse_args(argv)
    settings = settings_from(args)
    out_dir = args.out_dir
    path = json_path(settings, out_dir)
    report = base_report(settings)
    if args.resume:
        report = resumed(report, path)
    run_all(settings, report, path)
    report["complete"] = True
    atomic_write_json(path, report)
    write_plot(report, settings, out_dir)
    suffix = "_quick" if settings.quick else ""
    atomic_write_text(out_dir / f"abbeel_ng{suffix}.md", markdown(report, settings, out_dir))
    console = make_console(stderr=False)
    print_table("true value relative to the expert's", *summary_rows(report, "performance"), console=console)
    console.print(f"total {report['total_s'] / 60:.1f} min; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
