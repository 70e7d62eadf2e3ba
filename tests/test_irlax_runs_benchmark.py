"""benchmarks/irlax_runs.py: an ``irlax`` command run in a benchmark's process leaves no compiled programs behind."""

from __future__ import annotations

import jax
import pytest


@pytest.fixture
def runs(benchmark_script):
    return benchmark_script("irlax_runs")


def test_programs_compiled_by_a_command_are_dropped_after_it(runs, monkeypatch):
    step = jax.jit(lambda x: x * 3 + 1)

    def command(argv):
        assert int(step(argv[0])) == 3 * argv[0] + 1
        assert step._cache_size() == 1
        if argv[0] < 0:
            raise RuntimeError("a failing command")
        return 0

    monkeypatch.setattr(runs, "cli_main", command)
    assert runs.irlax_main([2]) == 0
    assert step._cache_size() == 0
    with pytest.raises(RuntimeError):
        runs.irlax_main([-1])
    assert step._cache_size() == 0
