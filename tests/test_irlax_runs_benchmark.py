"""benchmarks/irlax_runs.py: an ``irlax`` command run in a benchmark's process leaves no compiled programs behind."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import jax
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def runs(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield importlib.import_module("irlax_runs")
    sys.modules.pop("irlax_runs", None)


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
