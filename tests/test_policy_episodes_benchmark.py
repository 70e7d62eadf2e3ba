"""benchmarks/policy_episodes.py: the per-episode statistics and where each MuJoCo task keeps its forward velocity."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest


@pytest.fixture
def script(benchmark_script):
    return benchmark_script("policy_episodes")


def test_episode_stats_count_only_the_real_steps(script):
    mask = np.array([[True, True, True], [True, False, False]])
    rewards = np.array([[1.0, 2.0, 3.0], [5.0, 100.0, 100.0]])
    obs = np.zeros((2, 3, 4))
    obs[..., 2] = [[1.0, 2.0, 6.0], [-1.0, 50.0, 50.0]]
    stats = script.episode_stats(mask, rewards, obs, 2)
    assert stats == {"lengths": [3, 1], "returns": [6.0, 5.0], "forward_velocity": [3.0, -1.0]}
    assert "forward_velocity" not in script.episode_stats(mask, rewards, obs, None)


@pytest.mark.parametrize("task", ["Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Ant-v5", "Swimmer-v5"])
def test_the_forward_velocity_index_is_qvel0(script, task):
    env = gym.make(task)
    env.reset(seed=0)
    obs, *_ = env.step(env.action_space.sample())
    index = script.velocity_index(task)
    assert obs[index] == pytest.approx(env.unwrapped.data.qvel[0])
    env.close()


@pytest.mark.parametrize(("config", "message"), [
    (None, "no config.json"),
    ("{not json", "is not valid JSON"),
    ('{"command": "expert", "seeds": 1}', "resume it with irlax expert --resume"),
    ('{"command": "train", "seeds": 2}', "has no checkpoint yet"),
])
def test_a_folder_without_a_run_is_one_line(script, tmp_path, capsys, config, message):
    if config is not None:
        (tmp_path / "config.json").write_text(config)
    assert script.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("irlax: error: ") and message in err and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--episodes", "two"], "argument --episodes: invalid int value"),
    ([], "the following arguments are required: run_dir"),
])
def test_a_bad_option_is_one_line(script, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        script.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("irlax: error: policy_episodes.py: ") and message in err and err.count("\n") == 1


def test_too_few_episodes_is_one_line(script, tmp_path, capsys):
    assert script.main([str(tmp_path), "--episodes", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "irlax: error: --episodes must be at least 1\n"
