"""Speed of exact tabular IRL in irlax, against a dense-NumPy reference.

Measures, in one run (see ``--help``):

a. One MCE IRL iteration on the 100 x 20 cliff world (2000 states, 4 actions,
   horizon 110): reward from one-hot features, ``mce_log_likelihood_and_grad``,
   the pull-back to the reward parameters, one Adam step -- one jitted call, the
   MDP and the counts passed as arguments. Also the backward pass, the forward
   pass and the gradient's sources (``mce_sources``) alone, and the per-iteration
   cost inside ``mce.fit_jit`` (a ``lax.scan``, with its feature-gap metric).
b. The same iteration in plain dense float64 NumPy, in the style of the popular
   dense implementations (``P[S, A, S']``, ``P @ V`` per backward step, one dense
   matrix-vector product per forward step); its gradient is asserted equal to irlax's.
c. Full linear MaxEnt and MCE fits on a 32 x 32 continuous objectworld with 32
   demonstrations of 8 steps, with and without compilation, and the iteration
   at which the log-likelihood settles.
d. ``jax.vmap`` of the MCE objectworld fit over 8 seeds against one run.

Run: ``PYTHONPATH=src python benchmarks/tabular_speed.py`` (``--quick`` for a
smoke run). Writes ``benchmarks/results/tabular_speed.json`` and a markdown
fragment next to it (``.md``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from bench_machine import load_average, machine_line, one_minute, output_path, report_header, wall, write_report
from jax import Array
from rich.console import Console
from rich.table import Table

from irlax.algorithms import maxent, mce
from irlax.algorithms.mce import mce_log_likelihood_and_grad, mce_sources
from irlax.algorithms.tabular_fit import TabularIRLResult, make_optimizer
from irlax.data.trajectories import Trajectories
from irlax.envs import ObjectworldConfig, TabularMDP, make_cliffworld, make_objectworld
from irlax.tabular.occupancy import occupancy_finite
from irlax.tabular.planning import soft_value_iteration, soft_value_iteration_finite
from irlax.tabular.sampling import sample_trajectories

CLIFF_HORIZON = 110
LEARNING_RATE = 0.1  # the Adam step of MCEConfig / MaxEntConfig
OPTIMIZER = make_optimizer("adam", LEARNING_RATE, 0.0)
GRAD_RTOL = 1e-3
CONVERGENCE_TOLERANCE = 1e-4
NUM_DEMOS, DEMO_LENGTH = 32, 8
CLIFF_FIT_DEMOS, CLIFF_FIT_ITERATIONS = 64, 50
ITERATION_GOAL_S, MAXENT_FIT_GOAL_S = 0.020, 5.0
DEFAULT_OUT = Path("benchmarks/results/tabular_speed.json")


@dataclass(frozen=True)
class Settings:
    """How much to measure."""

    repeats: int
    """Repeats of the fast timings (loops of jitted calls)."""
    loop: int
    """Jitted calls per timed loop."""
    dense_repeats: int
    """Dense-NumPy iterations timed."""
    fit_repeats: int
    """Timed runs of each full fit."""
    seeds: int
    """Batch size of the vmapped fit."""


def settings_from(args: argparse.Namespace) -> Settings:
    """The measurement sizes for the command line (``--quick``: a smoke run)."""
    if args.quick:
        return Settings(repeats=2, loop=5, dense_repeats=1, fit_repeats=1, seeds=2)
    return Settings(args.repeats, args.loop, args.dense_repeats, args.fit_repeats, args.seeds)


# ---------------------------------------------------------------- timing



def stats(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of timing samples (seconds), with the samples."""
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "samples_s": list(samples),
    }


def per_call(fns: dict[str, Callable[[], Any]], settings: Settings) -> dict[str, dict[str, Any]]:
    """Seconds per call of each ``fn``: loops of ``settings.loop`` calls, after a warm-up call.

    The functions take turns within each repeat, so that a change in the load of a
    shared machine hits all of them alike and their ratios stay meaningful.
    """
    for fn in fns.values():
        jax.block_until_ready(fn())
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(settings.repeats):
        for name, fn in fns.items():
            samples[name].append(wall(lambda fn=fn: [fn() for _ in range(settings.loop)]) / settings.loop)
    return {name: stats(values) for name, values in samples.items()}


def compiled_and_steady(fn: Callable[[], Any], repeats: int) -> tuple[float, dict[str, Any]]:
    """``(seconds of the first call, with compilation; stats of later calls)``."""
    first = wall(fn)
    return first, stats([wall(fn) for _ in range(repeats)])


# ---------------------------------------------------------------- a. irlax on the cliff world


class CliffProblem(NamedTuple):
    """The cliff world and expected expert counts ``[H, S, A]`` of its soft-optimal policy."""

    mdp: TabularMDP
    counts: Array
    expert_log_policy: Array


@partial(jax.jit, static_argnums=2)
def soft_policy(mdp: TabularMDP, reward: Array, horizon: int) -> Array:
    """The time-indexed soft-optimal policy ``[H, S, A]`` (the MCE backward pass)."""
    return soft_value_iteration_finite(mdp, reward, horizon).policy


@jax.jit
def visit_counts(mdp: TabularMDP, policy: Array, sources: Array) -> Array:
    """Summed state-action occupancy ``[S, A]`` of the forward pass driven by ``sources``."""
    return occupancy_finite(mdp, policy, sources, discount=mdp.discount).sum(axis=0)


def cliff_problem() -> CliffProblem:
    """The cliff world with the expert's *expected* counts as demonstrations.

    Exact expert statistics make irlax's likelihood gradient (driven by sources
    ``N_t - P^T N_{t-1}``) equal to "expert counts minus expected counts from the
    start", which is what dense implementations compute: same inputs, same output.
    """
    world = make_cliffworld()
    mdp = world.mdp
    plan = jax.jit(soft_value_iteration_finite, static_argnums=2)(mdp, world.reward, CLIFF_HORIZON)
    start = jnp.zeros((CLIFF_HORIZON, mdp.num_states)).at[0].set(mdp.initial)
    counts = jax.jit(occupancy_finite)(mdp, plan.policy, start)
    return CliffProblem(mdp, counts, plan.log_policy)


def mce_loss_and_grad(
    theta: Array, mdp: TabularMDP, counts: Array, sources: Array | None = None
) -> tuple[Array, Array]:
    """``(log-likelihood, gradient of its negative w.r.t. theta)`` of a linear reward.

    ``sources`` (``mce_sources`` of the counts) depend on the demonstrations only;
    a fit computes them once. ``None`` recomputes them inside the call.
    """
    reward, pullback = jax.vjp(lambda th: mdp.features @ th, theta)
    log_likelihood, grad_sa, _ = mce_log_likelihood_and_grad(
        mdp, reward, counts, horizon=CLIFF_HORIZON, sources=sources
    )
    (grad,) = pullback(-grad_sa.sum(axis=-1))
    return log_likelihood, grad


@jax.jit
def mce_step(
    theta: Array, opt_state: optax.OptState, mdp: TabularMDP, counts: Array, sources: Array
) -> tuple[Array, optax.OptState, Array]:
    """One MCE IRL iteration: backward pass, forward pass, gradient, Adam update."""
    log_likelihood, grad = mce_loss_and_grad(theta, mdp, counts, sources)
    updates, opt_state = OPTIMIZER.update(grad, opt_state, theta)
    return optax.apply_updates(theta, updates), opt_state, log_likelihood


@jax.jit
def mce_step_recomputing_sources(
    theta: Array, opt_state: optax.OptState, mdp: TabularMDP, counts: Array
) -> tuple[Array, optax.OptState, Array]:
    """:func:`mce_step` that also recomputes the (loop-invariant) sources every call."""
    log_likelihood, grad = mce_loss_and_grad(theta, mdp, counts)
    updates, opt_state = OPTIMIZER.update(grad, opt_state, theta)
    return optax.apply_updates(theta, updates), opt_state, log_likelihood


def iteration_call(step: Callable[..., tuple], num_features: int, *args: Any) -> Callable[[], Array]:
    """A call of ``step(theta, opt_state, *args)`` from theta 0 that carries the state along."""
    theta = jnp.zeros(num_features)
    state = [theta, OPTIMIZER.init(theta)]

    def call() -> Array:
        state[0], state[1], log_likelihood = step(state[0], state[1], *args)
        return log_likelihood

    return call


def time_cliff_iteration(problem: CliffProblem, settings: Settings) -> dict[str, Any]:
    """Compile time and seconds per :func:`mce_step`, with its parts and the what-if alongside."""
    mdp, counts = problem.mdp, problem.counts
    sources_fn = jax.jit(partial(mce_sources, discount=mdp.discount))
    sources = sources_fn(mdp, counts)
    step = iteration_call(mce_step, mdp.num_features, mdp, counts, sources)
    compile_s = wall(step)
    reward = jnp.zeros(mdp.num_states)
    policy = soft_policy(mdp, reward, CLIFF_HORIZON)
    timings = per_call(
        {
            "iteration": step,
            "recomputing_sources": iteration_call(mce_step_recomputing_sources, mdp.num_features, mdp, counts),
            "backward": lambda: soft_policy(mdp, reward, CLIFF_HORIZON),
            "forward": lambda: visit_counts(mdp, policy, sources),
            "sources": lambda: sources_fn(mdp, counts),
        },
        settings,
    )
    return {"compile_s": compile_s, "iteration": timings.pop("iteration"), "parts": timings}


def time_cliff_fit(problem: CliffProblem, settings: Settings) -> dict[str, Any]:
    """Per-iteration seconds of ``mce.fit_jit`` on the cliff world (sampled demonstrations)."""
    config = mce.MCEConfig(iterations=CLIFF_FIT_ITERATIONS)
    key_demos, key_fit = jax.random.split(jax.random.key(7))
    demos = sample_trajectories(key_demos, problem.mdp, problem.expert_log_policy, CLIFF_FIT_DEMOS, CLIFF_HORIZON)
    run = lambda: mce.fit_jit(config, key_fit, problem.mdp, demos)
    first, steady = compiled_and_steady(run, settings.fit_repeats)
    per_iteration = {k: v / CLIFF_FIT_ITERATIONS for k, v in steady.items() if k != "samples_s"}
    return {"first_call_s": first, "run": steady, "per_iteration": per_iteration}


# ---------------------------------------------------------------- b. dense NumPy reference


class DenseProblem(NamedTuple):
    """The cliff world as dense float64 arrays (NumPy's default precision)."""

    transitions: np.ndarray  # [S, A, S']
    arrivals: np.ndarray  # [S', S * A]: the transposed transitions, contiguous, for the forward pass
    features: np.ndarray  # [S, F]
    initial: np.ndarray  # [S]
    counts: np.ndarray  # [H, S, A]
    discount: float


def dense_problem(problem: CliffProblem) -> DenseProblem:
    """Densify the cliff world's sparse successor lists into ``P[S, A, S']`` (float64)."""
    mdp = problem.mdp
    next_states = np.asarray(mdp.next_states)
    s, a, k = np.indices(next_states.shape)
    transitions = np.zeros((mdp.num_states, mdp.num_actions, mdp.num_states))
    np.add.at(transitions, (s, a, next_states), np.asarray(mdp.next_probs, np.float64))
    arrivals = np.ascontiguousarray(transitions.reshape(-1, mdp.num_states).T)
    return DenseProblem(
        transitions,
        arrivals,
        np.asarray(mdp.features, np.float64),
        np.asarray(mdp.initial, np.float64),
        np.asarray(problem.counts, np.float64),
        mdp.discount,
    )


def logsumexp_rows(q: np.ndarray) -> np.ndarray:
    """Stable ``log sum_a exp q[s, a]``, without scipy: ``[S, A] -> [S]``."""
    m = q.max(axis=1)
    return m + np.log(np.exp(q - m[:, None]).sum(axis=1))


def dense_backward(transitions: np.ndarray, reward: np.ndarray, horizon: int, discount: float) -> np.ndarray:
    """Finite-horizon soft value iteration with ``P @ V`` per step: log-policy ``[H, S, A]``."""
    log_policy = np.empty((horizon,) + transitions.shape[:2])
    v = np.zeros(transitions.shape[0])
    for t in reversed(range(horizon)):
        q = reward[:, None] + discount * (transitions @ v)
        v = logsumexp_rows(q)
        log_policy[t] = q - v[:, None]
    return log_policy


def dense_forward(arrivals: np.ndarray, policy: np.ndarray, initial: np.ndarray, discount: float) -> np.ndarray:
    """Expected state visits ``[S]`` over the horizon, one dense matrix-vector product per step.

    ``arrivals`` is ``P`` transposed to ``[S', S * A]`` once, outside the timed loop:
    the per-action products on strided ``P[:, a, :]`` slices of some popular
    implementations are about twice as slow, so this reference is on the fast side.
    """
    d, visits = initial, np.zeros_like(initial)
    for pi_t in policy:
        visits += d
        d = discount * (arrivals @ (d[:, None] * pi_t).ravel())
    return visits


def dense_loss_and_grad(problem: DenseProblem, theta: np.ndarray) -> tuple[float, np.ndarray]:
    """``(log-likelihood, gradient of its negative)``: feature counts, model minus expert."""
    reward = problem.features @ theta
    horizon = problem.counts.shape[0]
    log_policy = dense_backward(problem.transitions, reward, horizon, problem.discount)
    visits = dense_forward(problem.arrivals, np.exp(log_policy), problem.initial, problem.discount)
    expert_visits = problem.counts.sum(axis=(0, 2))
    log_likelihood = float(np.sum(problem.counts * log_policy))
    return log_likelihood, problem.features.T @ (visits - expert_visits)


class AdamState(NamedTuple):
    """Adam moments and step count (NumPy)."""

    m: np.ndarray
    v: np.ndarray
    step: int


def adam_update(theta: np.ndarray, grad: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState]:
    """One Adam step (optax defaults: b1 0.9, b2 0.999, eps 1e-8)."""
    m = 0.9 * state.m + 0.1 * grad
    v = 0.999 * state.v + 0.001 * grad**2
    step = state.step + 1
    m_hat, v_hat = m / (1 - 0.9**step), v / (1 - 0.999**step)
    return theta - LEARNING_RATE * m_hat / (np.sqrt(v_hat) + 1e-8), AdamState(m, v, step)


def dense_step(problem: DenseProblem, theta: np.ndarray, state: AdamState) -> tuple[np.ndarray, AdamState, float]:
    """One dense MCE IRL iteration, the same as :func:`mce_step`."""
    log_likelihood, grad = dense_loss_and_grad(problem, theta)
    theta, state = adam_update(theta, grad, state)
    return theta, state, log_likelihood


def time_dense_iteration(
    problem: DenseProblem, irlax_step: Callable[[], Array], settings: Settings
) -> dict[str, Any]:
    """Seconds per dense iteration, each followed by a loop of irlax iterations for a paired ratio."""
    theta = np.zeros(problem.features.shape[1])
    state = AdamState(np.zeros_like(theta), np.zeros_like(theta), 0)
    dense, irlax = [], []
    for _ in range(settings.dense_repeats):
        start = time.perf_counter()
        theta, state, _ = dense_step(problem, theta, state)
        dense.append(time.perf_counter() - start)
        irlax.append(wall(lambda: [irlax_step() for _ in range(settings.loop)]) / settings.loop)
    ratios = [d / i for d, i in zip(dense, irlax, strict=True)]
    return {"dense": stats(dense), "irlax_paired": stats(irlax), "speedup": statistics.median(ratios),
            "speedup_samples": ratios}


def check_gradients(problem: CliffProblem, dense: DenseProblem) -> dict[str, Any]:
    """Assert irlax's and the dense log-likelihood and gradient agree (theta 0 and random)."""
    num_features = dense.features.shape[1]
    thetas = {"zero": np.zeros(num_features), "random": np.random.default_rng(0).normal(size=num_features)}
    loss_and_grad = jax.jit(mce_loss_and_grad)
    report = {}
    for name, theta in thetas.items():
        outputs = loss_and_grad(jnp.asarray(theta, jnp.float32), problem.mdp, problem.counts)
        ll, grad = (np.asarray(x, np.float64) for x in outputs)
        ll_ref, grad_ref = dense_loss_and_grad(dense, theta)
        scale = float(np.abs(grad_ref).max())
        np.testing.assert_allclose(
            grad, grad_ref, rtol=GRAD_RTOL, atol=GRAD_RTOL * scale, err_msg=f"gradient, theta {name}"
        )
        np.testing.assert_allclose(ll, ll_ref, rtol=GRAD_RTOL, err_msg=f"log-likelihood, theta {name}")
        report[name] = {
            "max_abs_grad_diff": float(np.abs(grad - grad_ref).max()),
            "max_abs_grad": scale,
            "log_likelihood": ll_ref,
            "log_likelihood_diff": float(abs(ll - ll_ref)),
        }
    return report


# ---------------------------------------------------------------- c, d. objectworld fits


@jax.jit
def objectworld_problem(key: Array) -> tuple[TabularMDP, Trajectories]:
    """A 32 x 32 continuous objectworld and 32 soft-optimal demonstrations of 8 steps."""
    key_world, key_demos = jax.random.split(key)
    world = make_objectworld(key_world, ObjectworldConfig())
    log_policy = soft_value_iteration(world.mdp, world.reward).log_policy
    return world.mdp, sample_trajectories(key_demos, world.mdp, log_policy, NUM_DEMOS, DEMO_LENGTH)


def converged_iteration(log_likelihood: np.ndarray, tolerance: float = CONVERGENCE_TOLERANCE) -> int | None:
    """Gradient steps after which every further step changes the log-likelihood by < ``tolerance``.

    ``None`` when the last step still changed it by more.
    """
    big = np.flatnonzero(np.abs(np.diff(log_likelihood)) >= tolerance)
    if big.size == 0:
        return 0
    last = int(big[-1]) + 1
    return None if last == log_likelihood.size - 1 else last


def time_fit(fit: Callable[..., TabularIRLResult], config: Any, problem: tuple, settings: Settings) -> dict[str, Any]:
    """Whole-run seconds (first call with compilation, then steady) and convergence of one fit."""
    key = jax.random.key(2)
    run = lambda: fit(config, key, *problem)
    first, steady = compiled_and_steady(run, settings.fit_repeats)
    log_likelihood = np.asarray(run().metrics.log_likelihood)
    per_iteration = steady["median_s"] / config.iterations
    converged = converged_iteration(log_likelihood)
    return {
        "config": asdict(config),
        "first_call_s": first,
        "compile_estimate_s": first - steady["median_s"],
        "run": steady,
        "per_iteration_s": per_iteration,
        "converged_iteration": converged,
        "time_to_converge_s": None if converged is None else converged * per_iteration,
        "final_log_likelihood": float(log_likelihood[-1]),
    }


def time_objectworld_fits(problem: tuple, settings: Settings) -> dict[str, Any]:
    """The MaxEnt and MCE fits with their default configurations."""
    return {
        "maxent": time_fit(maxent.fit_jit, maxent.MaxEntConfig(), problem, settings),
        "mce": time_fit(mce.fit_jit, mce.MCEConfig(), problem, settings),
    }


def time_seeds(keys: Array, settings: Settings) -> dict[str, Any]:
    """The MCE fit vmapped over ``len(keys)`` seeds (world, demonstrations, init) against one run."""
    mdps, demos = jax.block_until_ready(jax.vmap(objectworld_problem)(keys))
    config = mce.MCEConfig()
    batched = jax.jit(jax.vmap(partial(mce.fit, config)))
    one = jax.tree.map(lambda x: x[0], (keys, mdps, demos))
    first = wall(lambda: batched(keys, mdps, demos))
    jax.block_until_ready(mce.fit_jit(config, *one))
    single, vmapped = [], []
    for _ in range(settings.fit_repeats):  # interleaved, so both see the same machine load
        single.append(wall(lambda: mce.fit_jit(config, *one)))
        vmapped.append(wall(lambda: batched(keys, mdps, demos)))
    ratio = statistics.median(vmapped) / statistics.median(single)
    return {"seeds": int(keys.shape[0]), "first_call_s": first, "single": stats(single),
            "vmapped": stats(vmapped), "ratio": ratio, "per_seed_ratio": ratio / keys.shape[0]}


# ---------------------------------------------------------------- reporting


def ms(seconds: float) -> str:
    """Seconds as milliseconds for the table."""
    return f"{seconds * 1e3:.1f} ms"


def spread(timing: dict[str, Any], scale: float = 1e3, unit: str = "ms") -> str:
    """``min-max`` of a timing, for the notes column."""
    return f"range {timing['min_s'] * scale:.1f}-{timing['max_s'] * scale:.1f} {unit}, n={len(timing['samples_s'])}"


def cliff_rows(cliff: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Table rows of the cliff-world figures."""
    it, dense = cliff["irlax"]["iteration"], cliff["dense"]
    parts, fit = cliff["parts"], cliff["fit"]
    goal = "meets" if it["median_s"] <= ITERATION_GOAL_S else "misses"
    return [
        ("MCE iteration, irlax (jit, CPU)", ms(it["median_s"]), f"{goal} the 20 ms goal; {spread(it)}"),
        ("  compile (first call)", f"{cliff['irlax']['compile_s']:.2f} s", "one-off"),
        ("  backward pass alone", ms(parts["backward"]["median_s"]), spread(parts["backward"])),
        ("  forward pass alone", ms(parts["forward"]["median_s"]), spread(parts["forward"])),
        ("  mce_sources alone", ms(parts["sources"]["median_s"]), "depend on the demos only: once per fit"),
        ("  iteration recomputing sources", ms(parts["recomputing_sources"]["median_s"]),
         f"{parts['recomputing_sources']['median_s'] / it['median_s']:.2f}x the iteration"),
        ("  inside mce.fit_jit (lax.scan)", ms(fit["per_iteration"]["median_s"]),
         f"{CLIFF_FIT_DEMOS} sampled demos, {CLIFF_FIT_ITERATIONS} its, incl. feature-gap metric"),
        ("MCE iteration, dense NumPy", f"{dense['median_s']:.3f} s", spread(dense, 1.0, "s")),
        ("  speed-up irlax vs dense", f"{cliff['speedup']:.0f}x",
         f"median of paired runs; gradients equal (rtol {GRAD_RTOL:g})"),
    ]


def fit_rows(name: str, fit: dict[str, Any], goal_s: float | None) -> list[tuple[str, str, str]]:
    """Table rows of one objectworld fit."""
    iterations = fit["config"]["iterations"]
    converged = fit["converged_iteration"]
    conv = "not settled" if converged is None else f"{converged} its = {fit['time_to_converge_s']:.2f} s"
    goal = ""
    if goal_s is not None:
        verdict = "meets" if fit["first_call_s"] < goal_s else "misses"
        goal = f" ({verdict} {goal_s:g} s incl. compile)"
    return [
        (f"{name} fit, {iterations} its, run", f"{fit['run']['median_s']:.2f} s", spread(fit["run"], 1.0, "s")),
        (f"{name} fit, incl. compilation", f"{fit['first_call_s']:.2f} s",
         f"first call{goal}; compile ~ {fit['compile_estimate_s']:.1f} s"),
        (f"{name} per iteration", ms(fit["per_iteration_s"]), f"converged at {conv}"),
    ]


def seed_rows(seeds: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Table rows of the vmapped seeds."""
    n = seeds["seeds"]
    return [
        (f"MCE fit, vmap over {n} seeds", f"{seeds['vmapped']['median_s']:.2f} s",
         f"one run {seeds['single']['median_s']:.2f} s; compile+run {seeds['first_call_s']:.1f} s"),
        (f"  {n} seeds / 1 seed", f"{seeds['ratio']:.2f}x", f"{seeds['per_seed_ratio']:.2f}x per seed"),
    ]


def table_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """All rows: ``(measurement, median, notes)``."""
    fits = results["objectworld"]
    return (
        cliff_rows(results["cliff"])
        + fit_rows("MaxEnt objectworld", fits["maxent"], MAXENT_FIT_GOAL_S)
        + fit_rows("MCE objectworld", fits["mce"], None)
        + seed_rows(results["seeds"])
    )


def print_table(rows: list[tuple[str, str, str]], console: Console) -> None:
    """The figures as a rich table."""
    table = Table(title="irlax tabular speed (medians)")
    for column in ("measurement", "median", "notes"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def markdown(results: dict[str, Any], rows: list[tuple[str, str, str]]) -> str:
    """A markdown fragment for the results page."""
    lines = [
        "## Speed of exact tabular IRL",
        "",
        "One MCE IRL iteration (backward pass, forward pass, gradient, Adam step) on a 2000-state MDP, "
        "against the same computation in dense NumPy (its gradient asserted equal); whole linear fits "
        "on a 32 x 32 objectworld; eight seeds in one vmap. Goals (issue 2): at most 20 ms per MCE "
        "iteration; a MaxEnt objectworld fit converging in under 5 s.",
        "",
        "| measurement | median | notes |",
        "|---|---:|---|",
        *(f"| {name.strip() if not name.startswith('  ') else '&nbsp;&nbsp;' + name.strip()} | {value} | {note} |"
          for name, value, note in rows),
        "",
        "Cliff world: 100 x 20 (2000 states, 4 actions), horizon 110, one-hot state features. "
        "Objectworld: 32 x 32, continuous features, 32 demonstrations of 8 steps, default configs. "
        f"Converged: every later step changes the log-likelihood by < {CONVERGENCE_TOLERANCE:g}.",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {machine_line(results['machine'])}. Measured {results['date']}; "
        f"load average (1 min) {one_minute(results['load_average_start'])} at start, "
        f"{one_minute(results['load_average_end'])} at end.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def measure_cliff(settings: Settings, console: Console) -> dict[str, Any]:
    """Section a and b: the cliff-world iteration in irlax and dense NumPy."""
    console.log("cliff world: irlax")
    problem = cliff_problem()
    irlax = time_cliff_iteration(problem, settings)
    parts = irlax.pop("parts")
    fit = time_cliff_fit(problem, settings)
    console.log("cliff world: dense NumPy reference")
    dense = dense_problem(problem)
    gradient_check = check_gradients(problem, dense)
    sources = mce_sources(problem.mdp, problem.counts, problem.mdp.discount)
    irlax_step = iteration_call(mce_step, problem.mdp.num_features, problem.mdp, problem.counts, sources)
    paired = time_dense_iteration(dense, irlax_step, settings)
    return {"irlax": irlax, "parts": parts, "fit": fit, "dense": paired.pop("dense"),
            "dense_pairing": paired, "speedup": paired["speedup"], "gradient_check": gradient_check}


def measure(settings: Settings, console: Console) -> dict[str, Any]:
    """Every section, in one run."""
    cliff = measure_cliff(settings, console)
    console.log("objectworld fits")
    keys = jax.random.split(jax.random.key(0), settings.seeds)
    objectworld = time_objectworld_fits(jax.block_until_ready(objectworld_problem(keys[0])), settings)
    console.log(f"objectworld: vmap over {settings.seeds} seeds")
    seeds = time_seeds(keys, settings)
    return {"cliff": cliff, "objectworld": objectworld, "seeds": seeds}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="repeats of the fast timings (default 7)")
    parser.add_argument("--loop", type=int, default=50, help="jitted calls per timed loop (default 50)")
    parser.add_argument("--dense-repeats", type=int, default=3, help="dense NumPy iterations timed (default 3)")
    parser.add_argument("--fit-repeats", type=int, default=3, help="timed runs of each full fit (default 3)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds of the vmapped fit (default 8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 repeats, 2 seeds; writes *_quick.*")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON output (default {DEFAULT_OUT}); .md beside it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print the table, write the JSON and the markdown fragment."""
    args = parse_args(argv)
    settings, console = settings_from(args), Console()
    results = {
        **report_header("tabular_speed.py"),
        "settings": asdict(settings),
        **measure(settings, console),
        "load_average_end": load_average(),
    }
    rows = table_rows(results)
    print_table(rows, console)
    out = output_path(args.out, args.quick, DEFAULT_OUT)
    write_report(out, results, markdown(results, rows))
    console.log(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
