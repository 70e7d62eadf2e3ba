"""The side-by-side with the imitation library (benchmarks/imitation_compare.py): the time each library needs to
reach imitation's final return, on the wall-clock and in CPU seconds, from hand-made curves."""

from __future__ import annotations

import pytest


@pytest.fixture
def compare_module(benchmark_script):
    return benchmark_script("imitation_compare")


def test_speedups_on_the_wall_clock_and_in_cpu_seconds(compare_module):
    irlax = {"curve": [{"train_seconds": 10.0, "mean_return": 0.0}, {"train_seconds": 20.0, "mean_return": 150.0}],
             "total_cpu_seconds": 60.0, "total_train_seconds": 30.0, "seeds": 5}  # 2 CPU seconds a second
    runs = [{"final_return": final, "total_train_seconds": 300.0, "total_train_cpu_seconds": 150.0,
             "total_env_steps": 1000.0, "seed": seed,
             "curve": [{"env_steps": 0, "train_seconds": 100.0, "train_cpu_seconds": cpu[0], "mean_return": 50.0},
                       {"env_steps": 500, "train_seconds": 200.0, "train_cpu_seconds": cpu[1], "mean_return": 120.0}]}
            for seed, final, cpu in ((0, 120.0, (40.0, 90.0)), (1, 100.0, (60.0, 110.0)))]
    imitation = compare_module.imitation_summary(runs, random=0.0, expert=200.0)
    assert imitation["final_normalized"] == [0.6, 0.5]
    result = compare_module.compare(irlax, imitation)
    # target: imitation's mean final return, 110; irlax first reaches it at 20 s (40 CPU s at its mean rate),
    # imitation's mean curve at its second point: 200 s, (90 + 110) / 2 = 100 CPU s
    assert result["target_return"] == 110.0
    assert result["irlax_seconds_to_target"] == 20.0 and result["imitation_seconds_to_target"] == 200.0
    assert result["speedup"] == pytest.approx(10.0)
    assert result["irlax_cpu_seconds_to_target"] == pytest.approx(40.0)
    assert result["imitation_cpu_seconds_to_target"] == pytest.approx(100.0)
    assert result["cpu_speedup"] == pytest.approx(2.5)
    assert result["cpu_speedup_per_seed"] == pytest.approx(12.5)  # irlax's 40 CPU s trained its 5 seeds


def test_a_target_irlax_never_reaches_has_no_speedup(compare_module):
    irlax = {"curve": [{"train_seconds": 10.0, "mean_return": 0.0}], "total_cpu_seconds": 20.0,
             "total_train_seconds": 10.0}
    imitation = {"final_returns": [5.0], "train_seconds": 50.0, "cpu_seconds": 40.0,
                 "curve": [{"train_seconds": 50.0, "train_cpu_seconds": 40.0, "mean_return": 5.0}]}
    result = compare_module.compare(irlax, imitation)
    assert result["speedup"] is None and result["cpu_speedup"] is None and result["irlax_cpu_seconds_to_target"] is None
    assert result["cpu_speedup_per_seed"] is None


@pytest.fixture
def hopper_side(benchmark_script):
    return benchmark_script("hopper_gail_side", "imitation_compare", "mujoco_irl")


def test_the_physics_floor_steps_every_environment_and_bounds_the_speedup(hopper_side):
    from bench_machine import machine_info  # benchmarks/ is on the path inside the fixture

    floor = hopper_side.physics_floor(steps=100, envs=3)
    assert floor["env_steps"] == 102 and floor["envs"] == 3  # whole rounds of the three environments
    assert floor["seconds_per_env_step"] == pytest.approx(floor["seconds"] / 102) and floor["seconds"] > 0
    side = {"env_steps": 1000, "train_seconds": 1.0, "seconds_per_env_step": 0.001, "final_normalised": 0.5,
            "best_normalised": 0.6, "seconds_to_target": None}
    results = {"command": "c", "date": "d", "load_average_start": [1.0], "machine": machine_info(), "steps": 1000,
               "demo_episodes": 10, "expert_return": 100.0, "random_return": 0.0, "per_step_speedup": 2.0,
               "to_target_speedup": None, "irlax": {**side, "seconds_per_env_step": 0.0005},
               "imitation": side, "physics_floor": {"envs": 8, "seconds_per_env_step": 0.00025}}
    text = hopper_side.markdown(results)
    # the floor is half of irlax's step and a quarter of imitation's: at most 4x over imitation
    assert "0.250 ms per environment step, 50% of irlax's and 25% of imitation's" in text
    assert "at most 4.0x faster than imitation" in text
