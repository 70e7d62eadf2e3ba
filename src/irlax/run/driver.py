"""The one run driver: an algorithm (or a learner) for many seeds at once, in chunks, with checkpoints.

:class:`Driver` runs any :class:`~irlax.algorithms.base.Algorithm` (tabular IRL,
behavioural cloning, GCL, GAIL, AIRL; an expert's learner through
:func:`irlax.run.experts.expert_program`) for ``K`` seeds:

- seeds are batched: ``init`` and ``update`` are ``jax.vmap``-ed over states and
  jitted, with the data a traced argument shared by all seeds;
- the run advances in chunks of ``every`` steps, each chunk ending at a multiple
  of ``every`` (so a resumed run replays the chunks of an uninterrupted one and
  ends exactly where it would), with a callback after each chunk (progress bars,
  checkpoints);
- each program (``init``, and ``update`` of a chunk size) is compiled ahead of
  time, with the compile time measured apart, once per process (a program whose memory, by XLA's analysis,
  exceeds the machine's is refused before it runs, as is a run whose seeds' states or metrics would): executables are
  kept in a small cache keyed by the (hashable) algorithm and the argument types,
  so drivers of equal algorithms share them;
- after each chunk every seed's state is checked for NaN and infinities: a run that diverged stops with
  :class:`NonFiniteError` naming the seed and the first iteration, before the callback can checkpoint the bad
  state, so the last checkpoint stays the last finite one;
- :meth:`Driver.save` and :meth:`Driver.load` checkpoint the state, the steps done,
  the metrics so far and the seconds, atomically (and whether the state is slim, holding only what the
  assessment after training reads: :func:`irlax.run.assess.slimmed_for_assessment`; a slim run is not advanced).

An algorithm that is not jittable (a solver in its loop: apprenticeship learning)
runs its seeds one after another, each to its end, its per-step metrics padded
with NaN to the longest seed's; it has no checkpoints.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from irlax.algorithms.base import Algorithm
from irlax.errors import IrlaxError
from irlax.report.checkpoint import load_pytree, save_pytree
from irlax.run.memory import MAX_COUNT, check_compiled, check_count, check_fits, metrics_bytes, tree_bytes

METRIC = "metric_"
"""Prefix of the metric arrays in a checkpoint."""

CACHE_SIZE = 32
"""Compiled programs kept per process (least recently used dropped first)."""

_EXECUTABLES: collections.OrderedDict[Any, Any] = collections.OrderedDict()
"""Compiled programs by (algorithm, program name, argument types): a bounded memo, like ``functools.lru_cache``."""


def seed_shardings(seeds: int) -> tuple[Any, Any] | None:
    """How a run of ``seeds`` vmapped seeds spreads over this process's devices: ``(per_seed, replicated)``
    shardings (the seed axis split evenly over the devices, the data copied to each), or ``None`` (one device, or
    one seed: the run stays on the default device). A count that isn't a multiple of the devices' is padded
    (:func:`padded_seeds`, :func:`over_padded_seeds`).

    On a CPU, JAX has one device unless ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` says otherwise
    (the ``irlax`` command sets it to the number of cores, :func:`irlax.cli.use_cpu_cores`); each device runs its
    share of the seeds on a core of its own, so 8 seeds on 2 cores take about 4 seeds' time instead of 8's.
    Used for jitted programs only: a host-stepped program (``on_host``) keeps its seeds on the default device
    (``benchmarks/host_seeds.py`` measured no consistent gain from splitting one).
    """
    devices = jax.local_devices()
    if len(devices) < 2 or seeds < 2:
        return None
    mesh = jax.sharding.Mesh(np.asarray(devices), ("seeds",))
    spec = jax.sharding.PartitionSpec
    return jax.sharding.NamedSharding(mesh, spec("seeds")), jax.sharding.NamedSharding(mesh, spec())


def padded_seeds(seeds: int, devices: int) -> int:
    """The smallest multiple of ``devices`` that is at least ``seeds``."""
    return -(-seeds // devices) * devices


def over_padded_seeds(fn: Callable, seeds: int, padded: int, per_seed: Any) -> Callable:
    """``fn(batched, data)`` (every input and output leaf of ``batched`` and of the result with the seed axis
    first) run on ``padded`` seeds split over the devices: the first ``padded - seeds`` seeds are repeated to fill
    the last device's share, and dropped again from the result. The real seeds' results are those of ``fn`` on
    ``seeds`` seeds (the seeds of a ``vmap`` don't interact); the copies cost compute on devices that would
    otherwise idle (5 seeds on 2 cores: 3 seeds' time instead of 5's).
    """
    extra = jnp.arange(padded - seeds) % seeds

    def run(batched: Any, data: Any) -> Any:
        grown = jax.tree.map(lambda x: jnp.concatenate([x, x[extra]]), batched)
        out = fn(jax.lax.with_sharding_constraint(grown, per_seed), data)
        return jax.tree.map(lambda x: x[:seeds], out)

    return run


def signature(name: str, args: Any) -> tuple:
    """A program's identity for given arguments: its name, the arguments' tree, shapes, dtypes and weak types."""
    leaves = jax.tree.leaves(args)
    return (name, jax.tree.structure(args),
            tuple((np.shape(x), str(x.dtype), bool(getattr(x, "weak_type", False))) for x in leaves))


def flat_metrics(metrics: Any) -> dict[str, Any]:
    """A metrics NamedTuple (possibly nested, e.g. a learner's loss record) as a flat dict by field name.

    A nested field whose name is already taken is prefixed with its parent's name.
    """
    out: dict[str, Any] = {}
    for name, value in metrics._asdict().items():
        items = flat_metrics(value).items() if hasattr(value, "_asdict") else [(name, value)]
        for key, leaf in items:
            out[f"{name}_{key}" if key in out else key] = leaf
    return out


class NonFiniteError(IrlaxError):
    """A run whose state became NaN or infinite: the driver stops before the bad chunk is kept.

    Attributes:
        seed: the first seed whose state is not finite.
        step: the first step whose metrics were not finite from then on (``None`` if none were).
        done: the steps of the last finite progress (what a checkpoint may hold).
    """

    def __init__(self, message: str, seed: int, step: int | None, done: int) -> None:
        super().__init__(message)
        self.seed, self.step, self.done = seed, step, done


@jax.jit
def _finite_rows(leaves: list[Array]) -> Array:
    return jnp.stack([jnp.isfinite(jnp.reshape(x, (x.shape[0], -1))).all(axis=1) for x in leaves]).all(axis=0)


def finite_seeds(state: Any, seeds: int) -> np.ndarray:
    """``[K]`` (or ``[]`` when the state has no floats): whether every float of each seed's state (its leaves
    ``[K, ...]``; others are skipped) is finite; computed where the state lives, one small compiled reduction."""
    leaves = [x for x in jax.tree.leaves(state)
              if hasattr(x, "dtype") and np.issubdtype(x.dtype, np.inexact) and np.ndim(x) >= 1
              and np.shape(x)[0] == seeds]
    return np.asarray(_finite_rows(leaves)) if leaves else np.ones((0,), bool)


def non_finite_leaf(state: Any, seed: int) -> str:
    """The path of the first leaf of ``state`` whose entries of ``seed`` are not all finite (``""``: none)."""
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        x = np.asarray(leaf)
        if np.issubdtype(x.dtype, np.inexact) and x.ndim and seed < len(x) and not np.isfinite(x[seed]).all():
            return jax.tree_util.keystr(path).lstrip(".")
    return ""


def first_non_finite_step(metrics: dict[str, np.ndarray], seed: int, since: int) -> tuple[int, str] | None:
    """The first step (at or after ``since``) from which a metric of ``seed`` stays NaN or infinite to the end,
    and that metric; ``None`` when every metric is finite at the last step.

    A run that diverged stays non-finite, while some metrics are NaN now and then in a healthy run
    (returns of iterations where no episode ended), so only the last stretch counts.
    """
    found = None
    for name, values in metrics.items():
        row = np.asarray(values[seed], float)
        if row.size <= since or np.isfinite(row[-1]):
            continue
        finite = np.flatnonzero(np.isfinite(row))
        start = max(int(finite[-1]) + 1 if finite.size else 0, since)
        if found is None or start < found[0]:
            found = (start, name)
    return found


def pad_and_stack(results: list[Any]) -> Any:
    """Stack per-seed result pytrees along a new axis 0, padding leaves of differing shapes with NaN.

    Runs that stopped after different numbers of steps give per-step arrays of different lengths;
    the stacked array has the longest, NaN after each run's end.
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


@dataclass
class Progress:
    """Where a multi-seed run stands.

    Attributes:
        state: the seeds' states, leaves ``[K, ...]`` (a list of per-seed states for a non-jittable program).
        done: steps done.
        metrics: the per-step metrics so far by flat name, each ``[K, done]``.
        seconds: wall-clock seconds of the run so far (compilation included).
        compile_seconds: of which compiling.
        records: a non-jittable program's per-seed metric records (unpadded), ``None`` otherwise.
        slim: whether the states keep only what the assessment after training reads, the rest zeroed
            (:func:`irlax.run.assess.slimmed_for_assessment`): such a run cannot be trained further.
    """

    state: Any
    done: int
    metrics: dict[str, np.ndarray]
    seconds: float = 0.0
    compile_seconds: float = 0.0
    records: list[Any] | None = None
    slim: bool = False


@dataclass
class Driver:
    """Runs ``program`` on ``data`` for ``seeds`` seeds at once (see the module docstring).

    Attributes:
        program: the algorithm (or expert program) to run.
        data: what it trains on (demonstrations, :class:`~irlax.algorithms.base.TabularData`, or ``None``).
        seeds: how many seeds (``K``).
        compiles: how many executables this driver used per program, by ``"init"`` / ``"update-N"``; each is 1
            unless the state's types changed between chunks (which would recompile).
    """

    program: Algorithm
    data: Any
    seeds: int
    compiles: collections.Counter = field(default_factory=collections.Counter)
    _executables: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise IrlaxError(f"seeds must be at least 1, got {self.seeds}")
        if self.program.on_host and self.program.host_update is None:
            raise IrlaxError(f"{self.program.name} does not run in Gymnasium environments yet "
                             f"({self.program.env.name} is one); use a pure-JAX task")
        if self.program.check is not None:
            self.program.check(self.data)

    # -- compiled programs ---------------------------------------------------------------------------------

    def _compiled(self, name: str, build: Callable[[], Callable], *args: Any) -> tuple[Callable, float]:
        """The executable ``name`` for ``args`` (compiled on first use in this process; the compile time)."""
        key = signature(name, args)
        if key in self._executables:
            return self._executables[key], 0.0
        self.compiles[name] += 1
        cache_key = (self.program, key)
        seconds = 0.0
        if cache_key in _EXECUTABLES:
            _EXECUTABLES.move_to_end(cache_key)
        else:
            start = time.perf_counter()
            jitted = self._jit(build())
            executable = jitted.lower(*args).compile()
            check_compiled(executable, f"{self.program.name} with {self.seeds} seeds ({name})")
            _EXECUTABLES[cache_key] = executable
            seconds = time.perf_counter() - start
            while len(_EXECUTABLES) > CACHE_SIZE:
                _EXECUTABLES.popitem(last=False)
        self._executables[key] = _EXECUTABLES[cache_key]
        return self._executables[key], seconds

    def _jit(self, fn: Callable) -> Callable:
        """``fn(batched, data)`` jitted with the seeds split over the devices (:func:`seed_shardings`)."""
        shardings = seed_shardings(self.seeds)
        if shardings is None:
            return jax.jit(fn)
        per_seed, replicated = shardings
        padded = padded_seeds(self.seeds, len(jax.local_devices()))
        if padded == self.seeds:
            # every output (the states, the metrics) has the seed axis first: split over the devices like the input
            return jax.jit(fn, in_shardings=shardings, out_shardings=per_seed)
        return jax.jit(over_padded_seeds(fn, self.seeds, padded, per_seed), in_shardings=replicated,
                       out_shardings=replicated)

    def _init_fn(self) -> Callable:
        program = self.program
        return jax.vmap(lambda key, data: program.init(key, data), in_axes=(0, None))

    def _update_fn(self, steps: int) -> Callable:
        program = self.program
        return jax.vmap(lambda state, data: program.update(state, data, steps), in_axes=(0, None))

    # -- running -------------------------------------------------------------------------------------------

    def keys(self, key: Array) -> Array:
        """The seeds' keys: seed ``k`` runs with ``split(key, K)[k]``."""
        return jax.random.split(key, self.seeds)

    def start(self, key: Array) -> Progress:
        """Fresh states, one per seed, no steps done."""
        self.check_size(key)
        keys = self.keys(key)
        start = time.perf_counter()
        if self.program.on_host:
            state = self.program.host_init(keys, self.data)
            return Progress(jax.block_until_ready(state), 0, {}, time.perf_counter() - start)
        if not self.program.jittable:
            states = [self.program.init(k, self.data) for k in keys]
            return Progress(states, 0, {}, time.perf_counter() - start)
        init, compiled = self._compiled("init", self._init_fn, keys, self.data)
        state = jax.block_until_ready(init(keys, self.data))
        self._check_finite(state, None, 0)
        return Progress(state, 0, {}, time.perf_counter() - start, compiled)

    def check_size(self, key: Array, total: int = 0) -> None:
        """Refuse (:class:`IrlaxError`) a run too large to hold, before anything is allocated or compiled.

        Checks the count of seeds and steps (:data:`irlax.run.memory.MAX_COUNT`), and the memory of the seeds'
        states (their shapes, traced without running anything) and of ``total`` steps' metrics against the
        machine's (:func:`irlax.run.memory.check_fits`).
        """
        name = self.program.name
        check_count(self.seeds, f"{name}: the number of seeds")
        self._check_steps(total)
        nbytes = metrics_bytes(self.seeds, total, len(self.program.metrics._fields))
        if self.program.jittable and not self.program.on_host:
            keys = jax.ShapeDtypeStruct((self.seeds, *np.shape(key)), jnp.asarray(key).dtype)
            nbytes += tree_bytes(jax.eval_shape(self._init_fn(), keys, self.data))
        check_fits(nbytes, f"{name} with {self.seeds} seeds" + (f" for {total} steps" if total else ""))

    def _check_steps(self, total: int) -> None:
        if total > MAX_COUNT:
            raise IrlaxError(f"{self.program.name}: a run of {total} iterations is beyond the largest count irlax "
                             f"runs ({MAX_COUNT})")

    def _check_finite(self, state: Any, progress: Progress | None, done: int,
                      metrics: dict[str, np.ndarray] | None = None) -> None:
        """Raise :class:`NonFiniteError` if a seed's state holds NaN or infinities (``progress``: the last finite
        one, ``None`` for an initial state)."""
        finite = finite_seeds(state, self.seeds)
        if finite.all():
            return
        seed = int(np.argmin(finite))
        leaf = non_finite_leaf(state, seed)
        name = self.program.name
        if progress is None:
            raise NonFiniteError(f"{name}: the initial state of seed {seed} is NaN or infinite ({leaf}): the data "
                                 "are out of range (values too large?)", seed, None, 0)
        found = first_non_finite_step(metrics or {}, seed, progress.done)
        where = (f"its {found[1]} is NaN or infinite from iteration {found[0]} on" if found is not None
                 else f"in iterations {progress.done}..{done - 1}")
        raise NonFiniteError(f"{name} diverged: seed {seed}'s state became NaN or infinite ({leaf}); {where} "
                             f"(iterations count from 0, as in metrics.csv)", seed,
                             found[0] if found else None, progress.done)

    def template(self) -> Any:
        """Zeros shaped like the seeds' states (nothing is run): what :meth:`load` reads a checkpoint into."""
        keys = self.keys(jax.random.PRNGKey(0))
        if self.program.on_host:  # a host environment cannot be traced: make fresh states (cheap) and zero them
            return jax.tree.map(lambda x: np.zeros(np.shape(x), x.dtype), self.program.host_init(keys, self.data))
        shapes = jax.eval_shape(self._init_fn(), keys, self.data)
        return jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), shapes)

    def advance(self, progress: Progress, steps: int) -> Progress:
        """``steps`` more steps of every seed (one compiled call; compiled once per chunk size)."""
        if not self.program.jittable:
            raise IrlaxError(f"{self.program.name} is not jittable: run it with Driver.run (seeds in turn)")
        start = time.perf_counter()
        if self.program.on_host:
            update, compiled = (lambda state, data: self.program.host_update(state, data, steps)), 0.0
        else:
            update, compiled = self._compiled(f"update-{steps}", lambda: self._update_fn(steps), progress.state,
                                              self.data)
        state, metrics = update(progress.state, self.data)
        state = jax.block_until_ready(state)
        seconds = time.perf_counter() - start
        new = {name: np.asarray(value) for name, value in flat_metrics(metrics).items()}
        joined = {name: np.concatenate([progress.metrics[name], value], axis=1) if name in progress.metrics
                  else value for name, value in new.items()}
        return Progress(state, progress.done + steps, joined, progress.seconds + seconds,
                        progress.compile_seconds + compiled)

    def run(
        self,
        progress: Progress,
        total: int,
        every: int | None = None,
        on_chunk: Callable[[Progress], None] | None = None,
    ) -> Progress:
        """Advance ``progress`` to ``total`` steps in chunks of ``every`` (all at once when ``None``).

        Chunks end at multiples of ``every`` (the last one may be shorter), so a resumed run replays the
        chunks of an uninterrupted one. ``on_chunk`` is called after each chunk (after each seed for a
        non-jittable program).
        """
        if total < 0:
            raise IrlaxError(f"the number of steps must be non-negative, got {total}")
        if progress.slim and total > progress.done:
            raise IrlaxError(f"this run's checkpoint keeps only what its assessment reads (slimmed after its "
                             f"{progress.done} steps of training): it cannot be trained to {total}")
        self._check_steps(total)
        if progress.done < total:
            check_fits(metrics_bytes(self.seeds, total, len(self.program.metrics._fields)),
                       f"{self.program.name}: the metrics of {self.seeds} seeds for {total} steps")
        if not self.program.jittable:
            return self._run_in_turn(progress, total, on_chunk)
        every = every or max(total, 1)
        if every < 1:
            raise IrlaxError(f"the chunk size must be at least 1, got {every}")
        while progress.done < total:
            size = min(every - progress.done % every, total - progress.done)
            advanced = self.advance(progress, size)
            self._check_finite(advanced.state, progress, advanced.done, advanced.metrics)
            progress = advanced
            if on_chunk is not None:
                on_chunk(progress)
        return progress

    def _run_in_turn(self, progress: Progress, total: int, on_chunk: Callable[[Progress], None] | None) -> Progress:
        start = time.perf_counter()
        states, records = [], []
        for k, state in enumerate(progress.state):
            state, record = self.program.update(state, self.data, total - progress.done)
            states.append(state)
            records.append(record)
            if on_chunk is not None:
                on_chunk(Progress(states + list(progress.state[k + 1:]), progress.done, {}))
        stacked = pad_and_stack([flat_metrics(r) for r in records]) if records else {}
        return Progress(states, total, {k: np.asarray(v) for k, v in stacked.items()},
                        progress.seconds + time.perf_counter() - start, progress.compile_seconds, records)

    def result(self, progress: Progress) -> Any:
        """The seeds' results, ``program.result`` of each (leaves ``[K, ...]``); the states when it has none."""
        result = self.program.result
        if result is None:
            return progress.state
        if not self.program.jittable:
            records = progress.records or []
            return pad_and_stack([result(s, self.data, r) for s, r in zip(progress.state, records, strict=True)])
        record = self.program.metrics(**{name: progress.metrics[name] for name in self.program.metrics._fields})
        finish = jax.jit(jax.vmap(lambda s, d, m: result(s, d, m), in_axes=(0, None, 0)))
        return finish(progress.state, self.data, record)

    # -- checkpoints ---------------------------------------------------------------------------------------

    def save(self, path: str | Path, progress: Progress) -> None:
        """Checkpoint ``progress`` (state, steps done, metrics, seconds) to ``path`` atomically."""
        if not self.program.jittable:
            raise IrlaxError(f"{self.program.name} runs its seeds in turn and has no checkpoints")
        metrics = {f"{METRIC}{k}": np.asarray(v) for k, v in progress.metrics.items()}
        slim = {"slim": np.bool_(True)} if progress.slim else {}
        save_pytree(path, progress.state, done=np.int64(progress.done), seconds=np.float64(progress.seconds),
                    compile_seconds=np.float64(progress.compile_seconds), **slim, **metrics)

    def load(self, path: str | Path) -> Progress:
        """The checkpointed :class:`Progress` at ``path``, shaped like this driver's states.

        Raises:
            IrlaxError: a missing, corrupt or mismatched checkpoint.
        """
        state, extra = load_pytree(path, self.template())
        if "done" not in extra:
            raise IrlaxError(f"checkpoint {path} lacks the count of steps done")
        done = int(extra["done"])
        metrics = {k[len(METRIC):]: np.asarray(v) for k, v in extra.items() if k.startswith(METRIC)}
        if done < 0 or any(v.ndim < 2 or v.shape[:2] != (self.seeds, done) for v in metrics.values()):
            raise IrlaxError(f"checkpoint {path} is inconsistent (steps done {done}, metrics of other sizes)")
        return Progress(jax.tree.map(jnp.asarray, state), done, metrics, float(extra.get("seconds", 0.0)),
                        float(extra.get("compile_seconds", 0.0)), slim=bool(extra.get("slim", False)))
