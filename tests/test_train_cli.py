"""``irlax train {gcl,gail,airl}`` end to end, in-process, with tiny settings: outputs, resume, one-line errors."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from irlax.cli.main import main

# tiny settings: a few rounds of small batches, small networks
GAIL_ARGS = [
    "train", "gail", "--seeds", "2", "--rounds", "4", "--checkpoint-every", "2", "--eval-episodes", "2",
    "--set", "sample_envs=2", "--set", "sample_steps=8", "--set", "batch_size=16", "--set", "buffer_size=64",
    "--set", "reward_steps=2", "--set", "hidden=16,16",
    "--learner-set", "num_envs=2", "--learner-set", "num_steps=16", "--learner-set", "minibatch_size=32",
    "--learner-set", "num_epochs=1", "--learner-set", "hidden=16,16", "--reoptimize-steps", "32", "--quiet",
]
TINY_SAC = ["--learner-set", "learning_starts=4", "--learner-set", "batch_size=8", "--learner-set", "buffer_size=64",
            "--learner-set", "hidden=16,16"]
OUTPUTS = {"config.json", "checkpoint.npz", "metrics.csv", "metrics.jsonl", "reward.npz", "return.png", "losses.png",
           "summary.json"}


pytestmark = pytest.mark.usefixtures("no_progress")


def record_demos(path: Path, env_name: str, episodes: int, scripted: bool = False) -> Path:
    """A demonstrations file of a random (or, on CartPole, a simple balancing) policy."""
    import dataclasses

    import jax
    import jax.numpy as jnp

    from irlax.data.demos import from_episodes, save_demonstrations
    from irlax.learners.evaluation import RandomPolicy, policy_episodes
    from irlax.tasks import make_env

    env = make_env(env_name)

    @dataclasses.dataclass(frozen=True)
    class Balance:
        def act(self, params, key, obs, deterministic=False):
            return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32), jnp.float32(0.0)

    policy = Balance() if scripted else RandomPolicy(env.spec)
    episodes = policy_episodes(policy, env, None, jax.random.PRNGKey(1), episodes)
    save_demonstrations(path, from_episodes(episodes, env.spec, {"policy": "scripted" if scripted else "random"}))
    return path


@pytest.fixture(scope="module")
def demos_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("train-demos")
    record_demos(folder / "cartpole.npz", "CartPole-v1", 3, scripted=True)
    record_demos(folder / "pendulum.npz", "Pendulum-v1", 2)
    record_demos(folder / "maze.npz", "PointMaze-v0", 2)
    return folder


@pytest.fixture(scope="module")
def gail_run(demos_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("train") / "gail"
    assert main([*GAIL_ARGS, "--demos", str(demos_dir / "cartpole.npz"), "--out", str(out)]) == 0
    return out


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_train_gail_writes_a_complete_run_directory(gail_run):
    assert {p.name for p in gail_run.iterdir()} >= OUTPUTS
    assert not [p.name for p in gail_run.iterdir() if p.name.startswith(".")], "no temporary files left behind"
    config = json.loads((gail_run / "config.json").read_text())
    assert config["command"] == "train" and config["algorithm"] == "gail" and config["env"] == "CartPole-v1"
    assert config["config"]["learner"] == "ppo" and config["config"]["learner_config"]["num_steps"] == 16
    assert config["checkpoint_every"] == 2 and config["episodes"] == 3
    rows = read_metrics(gail_run)
    assert len(rows) == 2 * 4 and {"seed", "round", "env_steps", "reward_loss", "expert_accuracy"} <= set(rows[0])
    assert float(rows[3]["env_steps"]) == 4 * (32 + 16)  # rounds x (PPO iteration + discriminator samples)

    summary = json.loads((gail_run / "summary.json").read_text())
    assert summary["algorithm"] == "gail" and summary["seeds"] == 2 and summary["env_steps"] == 4 * 48
    assert summary["expert_return"] > 100 and 0 < summary["random_return"] < 50
    assert len(summary["evaluation"]) == 2 and summary["seconds"] > 0
    assert 0 <= summary["compile_seconds"] <= summary["seconds"]
    assert summary["mean_return"] > 0 and math.isfinite(summary["mean_normalized_return"])
    # CartPole's true reward is constant: no correlation, with a note
    assert math.isnan(summary["reward"]["pearson_expert"]) and "constant" in summary["reward"]["note"]
    reopt = summary["reoptimization"]
    assert reopt["env"] == "CartPole-v1" and reopt["steps"] == 32 and len(reopt["returns"]) == 2
    assert reopt["expert_return"] == summary["expert_return"] and math.isfinite(reopt["mean_normalized_return"])
def test_reward_levels_reads_a_runs_learned_reward(gail_run, benchmark_script, capsys):
    """``benchmarks/reward_levels.py`` on a finished run: per seed, the learned reward on the demonstrations' steps,
    the same with noise on the states (no noise: the same mean) and the same steps terminated (the absorbing
    state's value added)."""
    script = benchmark_script("reward_levels")
    still = script.run_levels(gail_run, noise=0.0)
    assert still["algorithm"] == "gail" and still["env"] == "CartPole-v1" and still["done"] == 4
    assert len(still["seeds"]) == 2
    for row in still["seeds"]:
        assert np.isfinite([row["demos"]["mean"], row["noisy"], row["terminated"]]).all()
        assert row["noisy"] == pytest.approx(row["demos"]["mean"], abs=1e-3)
        assert row["demos"]["p5"] <= row["demos"]["mean"] <= row["demos"]["p95"]
        assert abs(row["terminated"] - row["demos"]["mean"]) > 1e-3  # the absorbing state's value added
    shifted = script.run_levels(gail_run, noise=1.0)["seeds"]
    assert any(abs(a["noisy"] - b["noisy"]) > 1e-3 for a, b in zip(shifted, still["seeds"], strict=True))
    assert [r["demos"] for r in shifted] == [r["demos"] for r in still["seeds"]]
    assert script.main([str(gail_run)]) == 0
    printed = capsys.readouterr().out
    assert "gail on CartPole-v1, 4 rounds" in printed and "seed 1: on the demonstrations' steps" in printed


def test_train_resume_ends_where_an_uninterrupted_run_would(gail_run, demos_dir, tmp_path, crash_train_run):
    import jax

    from irlax.report import load_pytree

    cut = tmp_path / "cut"
    shutil.copytree(gail_run, cut)    # the same command's run directory (runs are deterministic given the seed)
    driver = crash_train_run(cut, 2)   # a crash after the first checkpoint (2 of 4 rounds)
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0

    assert read_metrics(cut) == read_metrics(gail_run)
    template = driver.template().reward_params
    full, _ = load_pytree(gail_run / "reward.npz", template)
    resumed, _ = load_pytree(cut / "reward.npz", template)
    for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    full_summary, cut_summary = (json.loads((d / "summary.json").read_text()) for d in (gail_run, cut))
    assert [r["return"] for r in full_summary["evaluation"]] == [r["return"] for r in cut_summary["evaluation"]]


def test_a_finished_run_resumed_with_other_reoptimize_steps_is_measured_again(gail_run, tmp_path):
    """``--reoptimize-steps`` beside ``--resume`` on a finished run: no more rounds, the same imitation scores, and a
    re-optimisation of the new length in the rewritten summary and config."""
    again = tmp_path / "again"
    shutil.copytree(gail_run, again)
    assert main(["train", "--resume", str(again), "--reoptimize-steps", "64", "--quiet"]) == 0
    before, after = (json.loads((d / "summary.json").read_text()) for d in (gail_run, again))
    assert read_metrics(again) == read_metrics(gail_run)
    assert [r["return"] for r in after["evaluation"]] == [r["return"] for r in before["evaluation"]]
    assert before["reoptimization"]["steps"] == 32 and after["reoptimization"]["steps"] == 64
    assert json.loads((again / "config.json").read_text())["reoptimize_steps"] == 64
    assert not (again / "reoptimize.npz").exists()


def measured(run_dir: Path) -> dict:
    """What ``irlax train`` measured of a run after training (its summary less the timings)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    reopt = {k: v for k, v in (summary["reoptimization"] or {}).items() if "seconds" not in k}
    return {"reoptimization": reopt, **{k: summary[k] for k in ("evaluation", "reward", "env_steps", "mean_return")}}


@pytest.mark.parametrize("learner", ["ppo", "sac"])
def test_a_slimmed_checkpoint_measures_the_run_as_the_full_one(gail_run, demos_dir, tmp_path, capsys, learner):
    """A finished run resumed from its slimmed checkpoint (:func:`irlax.cli.train.slim_checkpoint`) measures what
    it does resumed from its full one, to the bit, re-optimisation included; with SAC inside the replay buffer is
    zeroed. A slim run cannot be lengthened."""
    from irlax.cli.train import slim_checkpoint

    if learner == "ppo":
        full = gail_run
    else:
        full = tmp_path / "sac"
        ppo_settings = GAIL_ARGS.index("--learner-set"), GAIL_ARGS.index("--reoptimize-steps")
        gail = GAIL_ARGS[:ppo_settings[0]] + GAIL_ARGS[ppo_settings[1] + 2:]
        assert main([*gail, "--demos", str(demos_dir / "pendulum.npz"), "--learner", "sac", *TINY_SAC,
                     "--learner-set", "buffer_size=4096", "--reoptimize-steps", "8", "--out", str(full)]) == 0
    again, slim = tmp_path / "again", tmp_path / "slim"  # resumed from the full checkpoint and from the slimmed one
    for run in (again, slim):
        shutil.copytree(full, run)
        (run / "summary.json").unlink()
    assert slim_checkpoint(slim, slim / "checkpoint.npz")
    with np.load(full / "checkpoint.npz") as a, np.load(slim / "checkpoint.npz") as b:
        zeroed = [k for k in a.files if k.startswith("leaf_") and np.any(a[k]) and not np.any(b[k])]
        kept = [k for k in a.files if k.startswith("leaf_") and np.any(b[k])]
        assert zeroed and kept and bool(b["slim"]) and "slim" not in a.files
        assert {k for k in a.files if not k.startswith("leaf_")} | {"slim"} == {k for k in b.files
                                                                            if not k.startswith("leaf_")}
        if learner == "sac":  # the largest arrays, the replay buffer's, are zeroed
            largest = max((k for k in a.files if k.startswith("leaf_")), key=lambda k: a[k].size)
            assert largest in zeroed and a[largest].shape[1] == 4096
    assert main(["train", "--resume", str(again), "--quiet"]) == 0 and main(["train", "--resume", str(slim),
                                                                             "--quiet"]) == 0
    # compared with the full checkpoint's resume, not with the run's own summary: that one differed from both
    # resumes in the last float32 digits (Pendulum with SAC inside: 1.2e-4 in a return of -1437)
    assert measured(slim) == measured(again)

    capsys.readouterr()
    assert main(["train", "--resume", str(slim), "--rounds", "6", "--quiet"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("irlax: error: ") and "keeps only what its assessment reads" in err
    assert "cannot be trained to 6" in err and err.count("\n") == 1


def test_an_unfinished_run_is_not_slimmed(gail_run, tmp_path, crash_train_run):
    from irlax.cli.train import slim_checkpoint

    cut = tmp_path / "cut"
    shutil.copytree(gail_run, cut)
    crash_train_run(cut, 2)
    assert not slim_checkpoint(cut, tmp_path / "slim.npz") and not (tmp_path / "slim.npz").exists()


def test_train_airl_on_point_maze_with_transfer(demos_dir, tmp_path, capsys):
    out = tmp_path / "airl"
    assert main([
        "train", "airl", "--demos", str(demos_dir / "maze.npz"), "--rounds", "3", "--eval-episodes", "2",
        "--set", "sample_envs=2", "--set", "sample_steps=4", "--set", "batch_size=8", "--set", "buffer_size=32",
        "--set", "reward_steps=1", "--set", "hidden=16,16", "--set", "policy_iterations=1", *TINY_SAC,
        "--reoptimize-steps", "8",
        "--transfer-env", "PointMazeShifted-v0", "--out", str(out), "--quiet",
    ]) == 0
    assert "run directory" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= OUTPUTS
    summary = json.loads((out / "summary.json").read_text())
    assert summary["learner"] == "sac" and summary["rounds"] == 3 and len(read_metrics(out)) == 3
    reward = summary["reward"]
    assert all(-1.0 <= reward[k] <= 1.0 for k in ("pearson_expert", "pearson_random")) and 0 <= reward["epic"] <= 1
    reopt = summary["reoptimization"]
    assert reopt["env"] == "PointMazeShifted-v0" and reopt["mean_normalized_return"] is None  # no transfer expert
    assert reopt["mean_return"] < 0  # the maze's reward is a negative distance
    # the fresh SAC in the shifted maze gets what AIRL's preset sets on its own (temperature fixed at 1)
    transfer = json.loads((out / "config.json").read_text())["transfer_learner_config"]
    assert transfer["autotune"] is False and transfer["initial_alpha"] == 1.0


def test_train_gcl_on_pendulum(demos_dir, tmp_path):
    out = tmp_path / "gcl"
    assert main([
        "train", "gcl", "--demos", str(demos_dir / "pendulum.npz"), "--rounds", "2", "--eval-episodes", "2",
        "--set", "episodes_per_round=2", "--set", "buffer_episodes=4", "--set", "batch_episodes=2",
        "--set", "reward_steps=1", "--set", "hidden=16,16", "--set", "policy_iterations=1", *TINY_SAC,
        "--reoptimize-steps", "0",
        "--out", str(out), "--quiet",
    ]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algorithm"] == "gcl" and summary["reoptimization"] is None
    assert summary["env_steps"] == 2 * (1 + 2 * 200)  # SAC's one step per round plus two whole episodes
    assert -1.0 <= summary["reward"]["pearson_expert"] <= 1.0
    assert not {"expert_accuracy", "policy_accuracy"} & set(read_metrics(out)[0])  # no discriminator in GCL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "maxent", "--demos", "{tmp}/pendulum.npz"], "unknown algorithm 'maxent'"),
        (["train", "--demos", "{tmp}/pendulum.npz"], "train needs an algorithm"),
        (["train", "gail"], "train needs --demos"),
        (["train", "gail", "--demos", "{tmp}/missing.npz"], "does not exist"),
        (["train", "gail", "--demos", "{tmp}/pendulum.npz", "--env", "CartPole-v1"],
         "CartPole-v1 has observations of size 4"),
        (["train", "gail", "--demos", "{tmp}/pendulum.npz", "--set", "bogus=1"], "gail has no setting 'bogus'"),
        (["train", "gail", "--demos", "{tmp}/pendulum.npz", "--set", "batch_size=many"],
         "batch_size='many' is not a valid value"),
        (["train", "airl", "--demos", "{tmp}/pendulum.npz", "--set", "rounds=0"], "rounds must be positive"),
        (["train", "gcl", "--demos", "{tmp}/pendulum.npz", "--learner-set", "bogus=1"], "sac has no setting 'bogus'"),
        (["train", "gcl", "--demos", "{tmp}/pendulum.npz", "--learner", "dqn"], "unknown learner 'dqn'"),
        (["train", "gail", "--demos", "{tmp}/pendulum.npz", "--transfer-env", "CartPole-v1"], "doesn't fit"),
        (["train", "gail", "--demos", "{tmp}/pendulum.npz", "--transfer-expert", "{tmp}"],
         "--transfer-expert needs --transfer-env"),
        (["train", "--resume", "{tmp}"], "is not a train run directory (no config.json)"),
        (["train", "--resume", "{tmp}/other"], "is an expert directory (resume it with irlax expert --resume)"),
        (["train", "gail", "--demos", "{tmp}/pendulum.npz", "--out", "{tmp}/other"], "already exists and is not empty"),
    ],
)
def test_bad_train_input_gives_one_line_errors(tmp_path, capsys, args, message):
    from irlax.data.demos import make_demonstrations, save_demonstrations

    n, t = 2, 4
    zeros, flags = np.zeros((n, t), np.float32), np.zeros((n, t), bool)
    save_demonstrations(tmp_path / "pendulum.npz", make_demonstrations(
        {"obs": np.zeros((n, t, 3), np.float32), "actions": np.zeros((n, t, 1), np.float32),
         "next_obs": np.zeros((n, t, 3), np.float32), "rewards": zeros, "terminated": flags, "truncated": flags,
         "log_probs": zeros, "mask": ~flags},
        env_name="Pendulum-v1", obs_size=3, discrete=False, action_size=1,
    ))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text(json.dumps({"command": "expert"}))
    assert main([a.replace("{tmp}", str(tmp_path)) for a in args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("irlax: error:") and message in err and "\n" not in err
