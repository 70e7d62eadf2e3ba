"""Fixtures shared by the test files: small worlds and demonstrations made through the CLI, error checks."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

# Compiling dominates the suite's time (most tests run a program for a few steps): XLA's CPU backend compiles with
# LLVM's level-1 optimisations and without its expensive passes here (a seventh off the control-task tests' time),
# and emits its fused loops with the elemental emitter instead of the MLIR fusion emitters (the suite's processor
# time 32 min to 19 min, measured in one session: docs/design.md). Level 0 would save more but computes tanh less
# exactly (|tanh| can pass 1: SAC's log-probabilities turned NaN on Hopper); level 1 gives the same bits as the
# default on tanh, exp, log and softplus, and so does the elemental emitter (on those and sigmoid, log1p, erf, sqrt,
# sin, cos, pow, logsumexp, a*b+c in one jitted program each; jnp.linspace run op by op differed in the last bits)
# but its code runs slower (at XLA's default level), which tests of a few steps each don't notice. Set before JAX starts
# (irlax.cli adds its device count to the same flags); a user's XLA_FLAGS are kept. Benchmarks and the irlax command
# compile with XLA's defaults.
CHEAP_COMPILE = ("--xla_backend_optimization_level=1 --xla_llvm_disable_expensive_passes=true "
                 "--xla_cpu_use_fusion_emitters=false")
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {CHEAP_COMPILE}".strip()

from irlax.cli.main import main  # noqa: E402

# The commands the tests run leave the user's compilation cache alone (test_compile_cache.py tests it in
# processes of its own, with a cache folder of their own).
os.environ["IRLAX_COMPILE_CACHE"] = "0"
# The test processes share one compilation cache of their own when IRLAX_TEST_COMPILE_CACHE names a folder (the
# Makefile's test target makes a fresh one per run): a program compiled by one test (or xdist worker) is loaded,
# not compiled again, by the next test that builds the same program.
TEST_CACHE = os.environ.get("IRLAX_TEST_COMPILE_CACHE")


def use_test_compile_cache() -> None:
    """Point JAX's persistent compilation cache at the tests' own (when ``IRLAX_TEST_COMPILE_CACHE`` names one):
    at import, and again after a test that moved or turned off the cache."""
    if TEST_CACHE:
        from irlax.run.compile_cache import enable_compile_cache

        enable_compile_cache(TEST_CACHE, min_compile_seconds=0.2)  # op-by-op tests compile thousands of tiny ones


use_test_compile_cache()


def random_demos(env, episodes: int = 2, seed: int = 5):
    """Demonstrations of the uniformly random policy in ``env`` (either backend)."""
    import jax

    from irlax.data.demos import from_episodes
    from irlax.learners.evaluation import RandomPolicy, policy_episodes_jit

    return from_episodes(policy_episodes_jit(RandomPolicy(env.spec), env, None, jax.random.PRNGKey(seed), episodes),
                         env.spec)


@pytest.fixture
def no_progress(monkeypatch) -> None:
    """No progress bars (the CLI tests read its output)."""
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def cli_world(tmp_path_factory) -> Callable[..., tuple[Path, Path]]:
    """``cli_world(size, seed, trajectories, length)``: an objectworld file and demonstrations sampled from it by
    ``irlax world`` and ``irlax sample``, made once per session for each set of arguments."""
    made: dict[tuple[int, int, int, int], tuple[Path, Path]] = {}

    def make(size: int, seed: int, trajectories: int, length: int) -> tuple[Path, Path]:
        key = (size, seed, trajectories, length)
        if key not in made:
            folder = tmp_path_factory.mktemp(f"world-{size}-{seed}-{trajectories}-{length}")
            world, demos = folder / "world.npz", folder / "demos.npz"
            assert main(["world", "objectworld", "--size", str(size), "--seed", str(seed), "--out", str(world)]) == 0
            assert main(["sample", "--world", str(world), "--trajectories", str(trajectories), "--length",
                         str(length), "--out", str(demos)]) == 0
            made[key] = (world, demos)
        return made[key]

    return make


@pytest.fixture
def fails_in_one_line(capsys) -> Callable[[list[str], str], None]:
    """``fails_in_one_line(argv, message)``: ``irlax argv`` exits with status 2 and one line on stderr,
    ``irlax: error: ...``, that contains ``message``."""

    def check(argv: list[str], message: str) -> None:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("irlax: error:"), err
        assert message in err, err
        assert "\n" not in err, err

    return check


def only_run_dir(root: Path) -> Path:
    """The one run directory under ``root``."""
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    return run_dir


@pytest.fixture
def run_dir_in() -> Callable[[Path], Path]:
    """``run_dir_in(root)``: the one run directory a command created under ``root``."""
    return only_run_dir


@pytest.fixture
def crash_train_run() -> Callable[[Path, int], object]:
    """Rewind an ``irlax train`` run directory to its checkpoint after ``rounds`` rounds and drop its outputs, as a
    crash after that checkpoint leaves it; returns the run's driver."""

    def crash(run_dir: Path, rounds: int) -> object:
        import json

        import jax

        from irlax.cli import train
        from irlax.cli.runs import CHECKPOINT
        from irlax.run.driver import Driver

        settings = json.loads((run_dir / "config.json").read_text())
        run = train.resolve_run(settings, "test")
        train_key = jax.random.split(jax.random.PRNGKey(settings["seed"]), 5)[0]
        driver = Driver(run.algo, run.demos, settings["seeds"])
        driver.save(run_dir / CHECKPOINT, driver.advance(driver.start(train_key), rounds))
        for name in ("reward.npz", "metrics.csv", "metrics.jsonl", "summary.json"):
            (run_dir / name).unlink()
        return driver

    return crash


# The exact tabular tests run twice, in float32 and in float64 (a supported mode: JAX_ENABLE_X64=1), in the same
# processes: every test of these files is parametrised by ``precision`` and runs under ``jax.enable_x64``.
FLOAT64_TOO = {"test_planning_exact.py", "test_sampling.py", "test_worlds.py", "test_numerics.py"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.path.name in FLOAT64_TOO:
        metafunc.parametrize("precision", ["float32", "float64"], indirect=True)


@pytest.fixture(autouse=True)
def precision(request):
    """The float width a test runs in: ``float64`` (under ``jax.enable_x64``) for the second run of the files in
    ``FLOAT64_TOO``, else the process's."""
    width = getattr(request, "param", None)
    if width is None:
        yield None
        return
    import jax

    with jax.enable_x64(width == "float64"):
        yield width


MAX_MEMORY_MAPS = 30_000
"""A test process with more memory maps than this drops JAX's caches after its test (:func:`bounded_memory_maps`)."""


def memory_maps() -> int | None:
    """The number of memory maps of this process (Linux), else ``None``."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            return maps.read().count(b"\n")
    except OSError:
        return None


@pytest.fixture(autouse=True)
def bounded_memory_maps():
    """Keep a test worker's memory maps well under Linux's ``vm.max_map_count`` (65,530 by default).

    XLA's CPU backend maps three regions per compiled kernel and JAX keeps every program it compiled, so a worker
    that runs hundreds of tests (the op-by-op ones compile each primitive) climbed past 30,000 maps within minutes;
    at the limit LLVM cannot map a new kernel ("LLVM compilation error: Cannot allocate memory") and the process
    dies inside XLA's compile: the crashes of whole runs in docs/design.md ("Known limits"). Past
    :data:`MAX_MEMORY_MAPS` the worker drops JAX's caches, which frees the executables nothing else holds."""
    yield
    count = memory_maps()
    if count is not None and count > MAX_MEMORY_MAPS:
        import gc

        import jax

        jax.clear_caches()
        gc.collect()


# The longest tests (tens of seconds each: a Ray sweep, processes of their own, learning on Gymnasium tasks) start
# first. pytest-xdist hands each worker a contiguous share of the collected tests and an idle worker steals from the
# end of another's; a long test collected late would keep one worker busy while the other has nothing left. (Only
# tests without module-scoped fixtures: moving one away from its module would build its fixtures twice.)
LONGEST_FIRST = (
    "test_sample_irl.py::test_jitted_and_eager_runs_agree",
    "test_sweep.py::test_a_two_by_two_sweep_runs_on_ray_and_resumes_without_rerunning",
    "test_gym.py::test_sac_through_gymnasium_balances_inverted_pendulum",
    "test_compile_cache.py::test_a_repeated_command_takes_its_programs_from_the_cache",
    "test_density.py::test_train_density_runs_from_the_command_line_and_refuses_constant_dimensions",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    position = lambda item: rank.get(f"{item.path.name}::{item.name}", len(rank))
    items.sort(key=position)  # stable: the rest keep their order


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def benchmark_script(monkeypatch) -> Callable[..., ModuleType]:
    """``benchmark_script(name, *also)``: the script ``benchmarks/NAME.py`` imported as a module, ``benchmarks/`` on
    the path; it and the modules named in ``also`` (scripts it imports whose state a test changes) are dropped from
    ``sys.modules`` after the test, so the next test imports them afresh."""
    dropped: list[str] = []

    def load(name: str, *also: str) -> ModuleType:
        monkeypatch.syspath_prepend(str(BENCHMARKS))
        dropped.extend((name, *also))
        return importlib.import_module(name)

    yield load
    for name in dropped:
        sys.modules.pop(name, None)
