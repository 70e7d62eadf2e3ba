"""benchmarks/host_seeds.py: its page section reads the speed-up of the split and the last seed's share right."""

from __future__ import annotations


def test_the_section_gives_the_split_and_the_last_seed(benchmark_script):
    script = benchmark_script("host_seeds")
    machine = benchmark_script("bench_machine").machine_info()
    row = {"task": "Hopper-v5", "learner": "ppo", "host_steps_per_iteration": 2048, "one_device_ms": 100.0,
           "split_ms": 80.0, "fewer_seeds_ms": 75.0, "split_speedup": 100.0 / 80.0, "last_seed_share": 1 - 75 / 100,
           "repeats": 3}
    results = {"date": "2026-12-07", "load_average_start": [1.0, 1.0, 1.0], "machine": machine, "devices": 2,
               "seeds": 4, "rows": [row]}
    page = script.markdown(results)
    assert "| Hopper-v5, PPO | 2,048 | 100.0 ms | 80.0 ms | 1.25x | 75.0 ms | 25% |" in page
    assert "4 seeds, one device" in page and "3 seeds" in page
