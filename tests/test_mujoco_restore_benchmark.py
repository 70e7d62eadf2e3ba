"""benchmarks/mujoco_restore.py: its page section reads both restores' timings and the speed-up right, and a restore
with ``mj_forward`` steps as today's does."""

from __future__ import annotations

import numpy as np
import pytest

ROW = {"what": "one step of 8 environments", "without_ms": 2.0, "with_forward_ms": 2.5, "speedup": 1.25,
       "repeats": 2, "all_ms": {"without": [1.9, 2.1], "with_forward": [2.4, 2.6]}}


def test_the_section_gives_both_restores_and_the_speedup(benchmark_script):
    results = {"date": "2026-12-07", "load_average_start": None, "task": "Hopper-v5", "rows": [ROW],
               "command": "PYTHONPATH=src python benchmarks/mujoco_restore.py --repeats 2",
               "machine": benchmark_script("bench_machine").machine_info()}
    page = benchmark_script("mujoco_restore").markdown(results)
    assert "| one step of 8 environments | 2.00 ms | 2.50 ms | 1.25x |" in page
    assert "Each measurement, one step of 8 environments (ms): without 1.90, 2.10; with 2.40, 2.60." in page
    assert "the median of 2 measurements" in page
    assert "Command: `PYTHONPATH=src python benchmarks/mujoco_restore.py --repeats 2`" in page


def test_both_restores_are_timed_on_fresh_environments_and_step_alike(benchmark_script):
    bench = benchmark_script("mujoco_restore")
    calls = [0]
    plain, forward = bench.task_env(False, [0]), bench.task_env(True, calls)
    assert plain.host is not forward.host and plain.host.codec is not forward.host.codec
    assert bench.checked(True, lambda env: bench.stepping_seconds(env, 2, 3)) > 0
    with pytest.raises(SystemExit, match="not the ones asked for"):  # a measurement that restored nothing
        bench.checked(True, lambda env: 0.0)
    keys = np.array([[0, 1], [0, 2]], np.uint32)
    (_, a), (_, b) = plain.reset(keys), forward.reset(keys)
    action = np.full((2, 3), 0.2, np.float32)
    for t in range(5):
        step_keys = np.array([[1, t]] * 2, np.uint32)
        x, y = plain.step(step_keys, a, action), forward.step(step_keys, b, action)
        np.testing.assert_array_equal(x.next_obs, y.next_obs)
        a, b = x.state, y.state
    assert calls[0] == 10  # two environments, five steps: each restore of the second ran mj_forward
