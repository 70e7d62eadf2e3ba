"""The tabular IRL algorithms by name, and running one over many seeds at once.

Gradient algorithms (a :class:`~irlax.algorithms.tabular_fit.Problem`) run all seeds
in one vmapped, chunked computation. Algorithms with a solver in their loop
(apprenticeship learning) have no ``problem``: their seeds run one after another and
their per-iteration arrays are padded with NaN to the longest seed's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from jax import Array

from irlax.algorithms import apprenticeship, deep_maxent, maxent, mce, mmp
from irlax.algorithms.tabular_fit import (
    FitState,
    IterationMetrics,
    Problem,
    TabularIRLResult,
    finish_fit,
    init_fit,
    run_fit,
)
from irlax.data.trajectories import Trajectories, check_trajectories_fit
from irlax.envs.tabular import TabularMDP
from irlax.errors import IrlaxError
from irlax.settings import apply_overrides


class Algorithm(NamedTuple):
    """A tabular IRL algorithm.

    Attributes:
        config: its frozen config class.
        problem: its :class:`Problem` builder (a gradient algorithm), or ``None`` for an
            algorithm whose ``fit`` runs a Python loop (not vmappable; seeds run in turn).
        fit: ``fit(config, key, mdp, demos)``; its result has ``reward`` and ``metrics``
            (a NamedTuple of per-iteration arrays).
        description: one line for help texts.
        curve: the metric plotted per iteration, and its axis label.
    """

    config: type
    problem: Callable[..., Problem] | None
    fit: Callable[..., Any]
    description: str
    curve: tuple[str, str] = ("log_likelihood", "log-likelihood per demonstration")


ALGORITHMS: dict[str, Algorithm] = {
    "maxent": Algorithm(
        maxent.MaxEntConfig, maxent.problem, maxent.fit, "Maximum Entropy IRL, linear reward (Ziebart et al. 2008)"
    ),
    "mce": Algorithm(
        mce.MCEConfig, mce.problem, mce.fit, "Maximum causal entropy IRL, linear reward (Ziebart et al. 2010)"
    ),
    "deep-maxent": Algorithm(
        deep_maxent.DeepMaxEntConfig,
        deep_maxent.problem,
        deep_maxent.fit,
        "Deep MaxEnt IRL, neural reward (Wulfmeier et al. 2016)",
    ),
    "max-margin": Algorithm(
        apprenticeship.MaxMarginConfig,
        None,
        apprenticeship.fit,
        "apprenticeship learning, max-margin (Abbeel & Ng 2004)",
        ("margin", "margin t"),
    ),
    "projection": Algorithm(
        apprenticeship.ProjectionConfig,
        None,
        apprenticeship.fit,
        "apprenticeship learning, projection (Abbeel & Ng 2004)",
        ("margin", "margin t"),
    ),
    "mmp": Algorithm(
        mmp.MMPConfig,
        mmp.problem,
        mmp.fit,
        "Maximum Margin Planning, linear reward (Ratliff et al. 2006)",
        ("log_likelihood", "negative structured hinge loss per unit visitation"),
    ),
}


def get_algorithm(name: str) -> Algorithm:
    """The algorithm called ``name``; :class:`IrlaxError` listing the choices otherwise."""
    if name not in ALGORITHMS:
        raise IrlaxError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def make_config(name: str, overrides: dict[str, Any]) -> Any:
    """The config of algorithm ``name`` with ``overrides`` applied, strings converted to field types.

    Raises:
        IrlaxError: an unknown field or a value that does not convert.
    """
    return apply_overrides(get_algorithm(name).config(), overrides, name)


class Progress(NamedTuple):
    """Where a multi-seed run stands: its state (leaves ``[K, ...]``), steps done, metrics so far."""

    state: FitState
    done: int
    metrics: IterationMetrics


def init_seeds(name: str, config: Any, keys: Array, mdp: TabularMDP, demos: Trajectories) -> Progress:
    """The starting :class:`Progress` of algorithm ``name``, one seed per key (``keys [K, 2]``)."""
    check_trajectories_fit(demos, mdp.num_states, mdp.num_actions)
    build = get_algorithm(name).problem
    if build is None:
        raise IrlaxError(f"{name} is not a gradient algorithm: run its seeds with fit_seeds_in_turn")
    init = jax.jit(jax.vmap(lambda k, m, d: init_fit(build(config, m, d), k), in_axes=(0, None, None)))
    state = init(keys, mdp, demos)
    empty = jax.numpy.zeros((keys.shape[0], 0))
    return Progress(state, 0, IterationMetrics(empty, empty, empty))


@functools.lru_cache(maxsize=16)
def _compiled_steps(name: str, config: Any, steps: int) -> Callable:
    build = get_algorithm(name).problem
    run = lambda s, m, d: run_fit(build(config, m, d), s, steps)
    return jax.jit(jax.vmap(run, in_axes=(0, None, None)))


def advance_seeds(
    name: str, config: Any, progress: Progress, mdp: TabularMDP, demos: Trajectories, steps: int
) -> Progress:
    """``steps`` more gradient steps for every seed (jitted, vmapped; compiled once per ``steps``)."""
    state, metrics = _compiled_steps(name, config, steps)(progress.state, mdp, demos)
    joined = jax.tree.map(lambda a, b: jax.numpy.concatenate([a, b], axis=1), progress.metrics, metrics)
    return Progress(state, progress.done + steps, joined)


def finish_seeds(name: str, config: Any, progress: Progress, mdp: TabularMDP, demos: Trajectories) -> TabularIRLResult:
    """The per-seed results (leaves ``[K, ...]``) of a finished :class:`Progress`."""
    build = get_algorithm(name).problem
    finish = lambda s, mt, m, d: finish_fit(build(config, m, d), s, mt)
    return jax.jit(jax.vmap(finish, in_axes=(0, 0, None, None)))(progress.state, progress.metrics, mdp, demos)


def fit_seeds(
    name: str,
    config: Any,
    keys: Array,
    mdp: TabularMDP,
    demos: Trajectories,
    *,
    chunk: int | None = None,
    progress: Progress | None = None,
    on_chunk: Callable[[Progress], None] | None = None,
) -> TabularIRLResult:
    """Run algorithm ``name`` once per key, vmapped and jitted; result leaves gain a ``[K]`` axis.

    Args:
        name, config: the algorithm and its config (``config.iterations`` steps in all).
        keys: ``[K, 2]`` PRNG keys, one per seed.
        mdp, demos: the problem (shared by all seeds).
        chunk: steps per compiled call (all at once when ``None``); ``on_chunk``
            is called with the :class:`Progress` after each (for progress bars and checkpoints).
        progress: a :class:`Progress` to resume from (e.g. a loaded checkpoint).

    An algorithm without a ``problem`` runs through :func:`fit_seeds_in_turn` instead
    (``chunk``, ``progress`` and ``on_chunk`` do not apply).
    """
    if get_algorithm(name).problem is None:
        return fit_seeds_in_turn(name, config, keys, mdp, demos)
    progress = progress or init_seeds(name, config, keys, mdp, demos)
    chunk = chunk or config.iterations
    while progress.done < config.iterations:
        progress = advance_seeds(name, config, progress, mdp, demos, min(chunk, config.iterations - progress.done))
        if on_chunk is not None:
            on_chunk(progress)
    return finish_seeds(name, config, progress, mdp, demos)


def pad_and_stack(results: list[Any]) -> Any:
    """Stack per-seed result pytrees along a new axis 0, padding leaves of differing shapes with NaN.

    Runs that stopped after different numbers of iterations give per-iteration arrays
    of different lengths; the stacked array has the longest, NaN after each run's end.
    """

    def stack(*leaves: Any) -> np.ndarray:
        arrays = [np.asarray(x) for x in leaves]
        shape = np.max([a.shape for a in arrays], axis=0) if arrays[0].ndim else ()
        if all(a.shape == tuple(shape) for a in arrays):
            return np.stack(arrays)
        padded = [np.pad(a.astype(float), [(0, n - k) for n, k in zip(shape, a.shape, strict=True)],
                         constant_values=np.nan) for a in arrays]
        return np.stack(padded)

    return jax.tree.map(stack, *results)


def fit_seeds_in_turn(
    name: str,
    config: Any,
    keys: Array,
    mdp: TabularMDP,
    demos: Trajectories,
    on_seed: Callable[[int], None] | None = None,
) -> Any:
    """Run algorithm ``name`` once per key, one after another; result leaves gain a ``[K]`` axis (NaN-padded).

    For algorithms that are not vmappable (a solver in the loop). ``on_seed(k)`` is
    called after seed ``k`` finishes.
    """
    check_trajectories_fit(demos, mdp.num_states, mdp.num_actions)
    fit = get_algorithm(name).fit
    results = []
    for k, key in enumerate(keys):
        results.append(jax.block_until_ready(fit(config, key, mdp, demos)))
        if on_seed is not None:
            on_seed(k)
    return pad_and_stack(results)
