"""benchmarks/host_seeds.py: its page section reads the speed-up of the split, the last seed's share and the lone
seed's two timings right."""

from __future__ import annotations

import pytest

ROW = {"task": "Hopper-v5", "learner": "ppo", "host_steps_per_iteration": 2048, "one_device_ms": 100.0,
       "split_ms": 80.0, "fewer_seeds_ms": 75.0, "split_speedup": 100.0 / 80.0, "last_seed_share": 1 - 75 / 100,
       "repeats": 3}
ONE_SEED = {"task": "HalfCheetah-v5", "learner": "sac", "buffer_size": 1_000_000, "unbatched_ms": 10.0,
            "batched_ms": 40.0, "repeats": 2, "all_ms": {"unbatched": [9.0, 11.0], "batched": [39.0, 41.0]}}


@pytest.fixture
def page(benchmark_script):
    results = {"date": "2026-12-07", "load_average_start": None, "devices": 2, "seeds": 4, "rows": [ROW],
               "machine": benchmark_script("bench_machine").machine_info(), "one_seed": [ONE_SEED]}
    return benchmark_script("host_seeds").markdown(results)


def test_the_section_gives_the_split_and_the_last_seed(page):
    assert "| Hopper-v5, PPO | 2,048 | 100.0 ms | 80.0 ms | 1.25x | 75.0 ms | 25% |" in page
    assert "4 seeds, one device" in page and "3 seeds" in page


def test_the_section_gives_one_seed_unbatched_and_vmapped(page):
    assert ("One seed of SAC on HalfCheetah-v5, a replay buffer of 1,000,000: 10.0 ms an iteration unbatched (as irlax "
            "runs a lone seed), 40.0 ms vmapped over a seed axis of size 1 (medians of 2; each: 9.0, 11.0 and 39.0, "
            "41.0).") in page


def test_the_measurements_take_turns_and_keep_their_medians(benchmark_script):
    order = []

    def timer(name, values):
        values = iter(values)
        return lambda: order.append(name) or next(values)

    medians, each = benchmark_script("host_seeds").medians_in_turn(
        {"a": timer("a", [3.0, 1.0, 2.0]), "b": timer("b", [0.5, 0.7, 0.1])}, 3)
    assert order == ["a", "b", "a", "b", "a", "b"]
    assert medians == {"a": 2.0, "b": 0.5}
    assert each == {"repeats": 3, "all_ms": {"a": [3000.0, 1000.0, 2000.0], "b": [500.0, 700.0, 100.0]}}
