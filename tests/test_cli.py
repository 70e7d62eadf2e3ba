"""The ``irlax`` command line end to end, in-process: outputs on disk and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from irlax.cli.main import main

pytestmark = pytest.mark.usefixtures("no_progress")


@pytest.fixture(scope="module")
def world_and_demos(cli_world) -> tuple[Path, Path]:
    return cli_world(8, 3, 16, 6)


def test_fit_writes_a_complete_run_directory(world_and_demos, tmp_path, capsys, run_dir_in):
    world, demos = world_and_demos
    code = main([
        "fit", "mce", "--world", str(world), "--demos", str(demos), "--seeds", "3",
        "--iterations", "15", "--out", str(tmp_path),
    ])
    assert code == 0
    run_dir = run_dir_in(tmp_path)
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "metrics.csv", "metrics.jsonl", "reward.npy", "summary.json",
            "log_likelihood.png", "reward_maps.png"} <= names
    assert not [n for n in names if n.startswith(".")], "no temporary files left behind"
    reward = np.load(run_dir / "reward.npy")
    assert reward.shape == (3, 64)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["iterations"] == 15
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 15
    summary = json.loads((run_dir / "summary.json").read_text())
    assert len(summary["evaluation"]) == 3 and "evd_soft" in summary["evaluation"][0]
    evd = sorted(row["evd_soft"] for row in summary["evaluation"])
    over = summary["over_seeds"]["evd_soft"]
    assert over["n"] == 3 and over["iqm"] == pytest.approx(evd[1])  # the middle half of three is the median
    assert over["iqm_low"] <= over["iqm"] <= over["iqm_high"]
    out = capsys.readouterr().out
    assert "mce on objectworld" in out and "IQM [95% CI]" in out
    assert f"TensorBoard: tensorboard --logdir {run_dir / 'tensorboard'}" in out
    assert {p.name for p in (run_dir / "tensorboard").iterdir()} == {"seed0", "seed1", "seed2"}


def test_evaluate_scores_a_saved_reward(world_and_demos, tmp_path, capsys):
    world, demos = world_and_demos
    reward = tmp_path / "zero.npy"
    np.save(reward, np.zeros(64, np.float32))
    assert main(["evaluate", "--world", str(world), "--reward", str(reward), "--demos", str(demos)]) == 0
    out = capsys.readouterr().out
    assert "evd_soft" in out and "demo_nll" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "maxent", "--set", "nonsense=1"], "has no setting 'nonsense'"),
        (["fit", "maxent", "--set", "iterations=many"], "is not a valid value"),
        (["fit", "maxent", "--seeds", "0"], "--seeds must be at least 1"),
        (["fit", "deep-maxent", "--set", "optimizer=lbfgs"], "unknown optimizer"),
    ],
)
def test_bad_settings_give_one_line_errors(world_and_demos, tmp_path, fails_in_one_line, args, message):
    world, demos = world_and_demos
    fails_in_one_line(args[:2] + ["--world", str(world), "--demos", str(demos), "--out", str(tmp_path)] + args[2:],
                      message)


def test_malformed_and_mismatched_files_give_one_line_errors(world_and_demos, tmp_path, capsys):
    world, demos = world_and_demos
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    assert main(["fit", "mce", "--world", str(world), "--demos", str(garbage), "--out", str(tmp_path)]) == 2
    assert "is not an .npz file" in capsys.readouterr().err
    other = tmp_path / "other.npz"
    assert main(["world", "objectworld", "--size", "6", "--out", str(other)]) == 0
    capsys.readouterr()
    assert main(["fit", "mce", "--world", str(other), "--demos", str(demos), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "recorded on an MDP with 64 states" in err and "has 36" in err
    missing = tmp_path / "missing.npz"
    assert main(["evaluate", "--world", str(missing), "--reward", str(garbage)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_dense_world_file_from_elsewhere_is_validated(tmp_path, capsys):
    p = np.full((3, 2, 3), 1 / 3)
    p[1, 0] = [0.5, 0.6, 0.0]  # does not sum to 1
    path = tmp_path / "dense.npz"
    np.savez(path, transitions=p, features=np.eye(3), horizon=np.int64(4))
    demos = tmp_path / "d.npz"
    assert main(["sample", "--world", str(path), "--out", str(demos)]) == 2
    assert "row (s, a) = (1, 0) sums to 1.1" in capsys.readouterr().err


def test_demo_runs_end_to_end_on_a_small_world(tmp_path, capsys, run_dir_in):
    code = main(["demo", "--size", "8", "--trajectories", "16", "--iterations", "10", "--out", str(tmp_path)])
    assert code == 0
    run_dir = run_dir_in(tmp_path)
    for name in ("reward_maps.png", "reward_maxent.npy", "reward_deep_maxent.npy", "world.npz", "demos.npz",
                 "metrics.csv", "summary.json"):
        assert (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [row["algorithm"] for row in summary["results"]][1:] == ["MaxEnt (linear)", "Deep MaxEnt (MLP)"]
    assert "EVD (soft)" in capsys.readouterr().out
    from irlax.report.tensorboard import read_scalars

    for slug in ("maxent", "deep_maxent"):  # one TensorBoard folder per algorithm, every iteration's metrics
        scalars = read_scalars(run_dir / "tensorboard" / slug)
        assert [step for step, _ in scalars["log_likelihood"]] == list(range(10))


def test_resume_ends_where_an_uninterrupted_run_would(world_and_demos, tmp_path, run_dir_in):
    world, demos = world_and_demos
    common = ["--world", str(world), "--demos", str(demos), "--seeds", "2", "--iterations", "40", "--quiet"]
    assert main(["fit", "deep-maxent", *common, "--out", str(tmp_path / "full")]) == 0
    full = run_dir_in(tmp_path / "full")
    assert main(["fit", "deep-maxent", *common, "--out", str(tmp_path / "cut")]) == 0
    cut = run_dir_in(tmp_path / "cut")
    # simulate a crash after 20 of 40 iterations: rewind the checkpoint and drop the outputs
    import jax

    from irlax.algorithms.base import TabularData
    from irlax.algorithms.registry import make_algorithm, make_config
    from irlax.data.trajectories import load_trajectories
    from irlax.envs.world_file import load_world
    from irlax.run.driver import Driver

    _, mdp, _ = load_world(world)
    trajs = load_trajectories(demos)
    config = make_config("deep-maxent", json.loads((cut / "config.json").read_text())["config"])
    assert config.iterations == 40
    driver = Driver(make_algorithm("deep-maxent", config), TabularData(mdp, trajs), 2)
    halfway = driver.run(driver.start(jax.random.PRNGKey(0)), 20, every=2)  # the fit's first 10 chunks of 2
    driver.save(cut / "checkpoint.npz", halfway)
    assert driver.load(cut / "checkpoint.npz").done == 20
    (cut / "reward.npy").unlink()
    assert main(["fit", "--resume", str(cut), "--quiet"]) == 0
    np.testing.assert_allclose(np.load(cut / "reward.npy"), np.load(full / "reward.npy"), rtol=1e-5, atol=1e-5)
    assert len((cut / "metrics.jsonl").read_text().splitlines()) == 2 * 40
    # byte for byte: the resumed run replays the uninterrupted run's chunks
    assert (cut / "reward.npy").read_bytes() == (full / "reward.npy").read_bytes()
    assert (cut / "metrics.jsonl").read_text() == (full / "metrics.jsonl").read_text()
    # TensorBoard: the resumed run's events, read as TensorBoard does (the purge drops what the first process
    # wrote past the checkpoint), are the uninterrupted run's
    from irlax.report.tensorboard import read_scalars

    for seed in range(2):
        resumed, whole = read_scalars(cut / "tensorboard" / f"seed{seed}"), read_scalars(full / "tensorboard" /
                                                                                         f"seed{seed}")
        assert resumed.keys() == whole.keys() and "log_likelihood" in whole
        for tag in whole:
            assert [step for step, _ in resumed[tag]] == [step for step, _ in whole[tag]] == list(range(40))
            np.testing.assert_allclose([v for _, v in resumed[tag]], [v for _, v in whole[tag]], rtol=1e-6)


def test_a_chunked_fit_compiles_each_program_once(world_and_demos, tmp_path):
    import jax

    from irlax.algorithms.base import TabularData
    from irlax.algorithms.registry import make_algorithm, make_config
    from irlax.data.trajectories import load_trajectories
    from irlax.envs.world_file import load_world
    from irlax.run.driver import Driver

    world, demos = world_and_demos
    _, mdp, _ = load_world(world)
    data = TabularData(mdp, load_trajectories(demos, num_states=mdp.num_states, num_actions=mdp.num_actions))
    algorithm = make_algorithm("mce", make_config("mce", {"iterations": "10"}))
    driver = Driver(algorithm, data, 2)
    types = lambda state: [(x.shape, x.dtype, x.weak_type) for x in jax.tree.leaves(state)]
    start = driver.start(jax.random.PRNGKey(0))
    chunks = []
    done = driver.run(start, algorithm.num_steps, every=3, on_chunk=lambda p: chunks.append(p.done))
    assert chunks == [3, 6, 9, 10]
    assert dict(driver.compiles) == {"init": 1, "update-3": 1, "update-1": 1}
    assert types(done.state) == types(start.state)
    assert {k: v.shape for k, v in done.metrics.items()} == {k: (2, 10) for k in algorithm.metrics._fields}
    # a checkpoint loads with the same leaf types, and continuing from it compiles nothing new
    driver.save(tmp_path / "checkpoint.npz", driver.advance(start, 3))
    loaded = driver.load(tmp_path / "checkpoint.npz")
    assert types(loaded.state) == types(start.state)
    resumed = driver.run(loaded, algorithm.num_steps, every=3)
    assert dict(driver.compiles) == {"init": 1, "update-3": 1, "update-1": 1}
    # chunks change nothing: the same rewards as one call of all the iterations, bit for bit
    whole = Driver(algorithm, data, 2)
    once = whole.run(whole.start(jax.random.PRNGKey(0)), algorithm.num_steps)
    assert dict(whole.compiles) == {"init": 1, "update-10": 1}
    for progress in (done, resumed):
        np.testing.assert_array_equal(driver.result(progress).reward, whole.result(once).reward)


# ---------------------------------------------------------------------------------------------------------------
# control tasks: irlax expert, demos, bc

TINY_PPO = ["--set", "num_envs=4", "--set", "num_steps=32", "--set", "num_epochs=1", "--set", "minibatch_size=64"]
EXPERT_ARGS = ["expert", "--env", "CartPole-v1", "--steps", "512", "--seeds", "2", "--eval-episodes", "3",
               "--quiet", *TINY_PPO]  # 4 iterations of 128 steps, checkpointed after each


@pytest.fixture(scope="module")
def cartpole_expert(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("control") / "expert"
    assert main([*EXPERT_ARGS, "--out", str(out)]) == 0
    return out


def test_expert_demos_and_bc_end_to_end(cartpole_expert, tmp_path, capsys, run_dir_in):
    names = {p.name for p in cartpole_expert.iterdir()}
    assert {"expert.json", "policy.npz", "config.json", "metrics.csv", "metrics.jsonl", "summary.json",
            "return.png", "checkpoint.npz"} <= names
    assert not [n for n in names if n.startswith(".")], "no temporary files left behind"
    info = json.loads((cartpole_expert / "expert.json").read_text())
    assert info["env"] == "CartPole-v1" and info["learner"] == "ppo" and info["env_steps"] == 512
    assert info["config"]["num_steps"] == 32 and len(info["seed_returns"]) == 2 and info["return"]["mean"] > 0
    best = info["best_seed"]
    assert info["seed_deterministic_returns"][best] == pytest.approx(info["deterministic_return"]["mean"])
    assert len((cartpole_expert / "metrics.jsonl").read_text().splitlines()) == 2 * 4

    demos_file = tmp_path / "demos.npz"
    assert main(["demos", "--expert", str(cartpole_expert), "--episodes", "3", "--out", str(demos_file)]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "3 episodes of CartPole-v1" in out and "mean return" in out
    from irlax.data.demos import load_demonstrations
    from irlax.tasks import make_env

    demos = load_demonstrations(demos_file, make_env("CartPole-v1").spec)
    assert demos.num_episodes == 3 and demos.expert_info()["learner"] == "ppo"
    assert np.all(np.asarray(demos.log_probs)[np.asarray(demos.mask)] <= 0.0)

    assert main(["bc", "--demos", str(demos_file), "--seeds", "2", "--epochs", "2", "--eval-episodes", "3",
                 "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "bc return" in out and "normalised" in out
    run_dir = run_dir_in(tmp_path / "runs")
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "metrics.csv", "summary.json", "loss.png", "policy.npz"} <= names
    summary = json.loads((run_dir / "summary.json").read_text())
    assert len(summary["evaluation"]) == 2 and summary["expert_return"] == pytest.approx(
        float(np.asarray(demos.returns()).mean()))
    assert 0.0 < summary["random_return"] < 50.0


def test_expert_resume_ends_where_an_uninterrupted_run_would(cartpole_expert, tmp_path):
    import jax

    from irlax.learners.registry import learner_config_from_dict, make_learner
    from irlax.report import load_pytree
    from irlax.run import experts
    from irlax.run.driver import Driver
    from irlax.tasks import make_env

    cut = tmp_path / "cut"
    assert main([*EXPERT_ARGS, "--out", str(cut)]) == 0
    # simulate a crash after 2 of 4 iterations: rewind the checkpoint, drop the outputs
    env = make_env("CartPole-v1")
    config = learner_config_from_dict("ppo", json.loads((cut / "config.json").read_text())["config"], "test")
    learner = make_learner(config, env.spec)
    driver = Driver(experts.expert_program(learner, env, 512), None, 2)
    train_key, _ = jax.random.split(jax.random.PRNGKey(0))
    progress = driver.run(driver.start(train_key), 2, every=1)
    driver.save(cut / "checkpoint.npz", progress)
    for name in ("expert.json", "policy.npz", "metrics.jsonl"):
        (cut / name).unlink()
    assert main(["expert", "--resume", str(cut), "--quiet"]) == 0
    template = experts.policy_template(learner)
    full_params, _ = load_pytree(cartpole_expert / "policy.npz", template)
    cut_params, _ = load_pytree(cut / "policy.npz", template)
    for a, b in zip(jax.tree.leaves(full_params), jax.tree.leaves(cut_params), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (cut / "metrics.jsonl").read_text() == (cartpole_expert / "metrics.jsonl").read_text()
    full_info, cut_info = (json.loads((d / "expert.json").read_text()) for d in (cartpole_expert, cut))
    assert full_info["seed_returns"] == cut_info["seed_returns"]


def test_loading_an_expert_validates_it(cartpole_expert, tmp_path):
    import shutil

    from irlax.errors import IrlaxError
    from irlax.run import experts

    expert = experts.load_expert(cartpole_expert, "CartPole-v1")
    assert expert.learner.name == "ppo" and expert.learner.config.num_steps == 32
    with pytest.raises(IrlaxError, match="was trained on CartPole-v1, not Pendulum-v1"):
        experts.load_expert(cartpole_expert, "Pendulum-v1")
    broken = tmp_path / "broken"
    shutil.copytree(cartpole_expert, broken)
    (broken / "policy.npz").unlink()
    with pytest.raises(IrlaxError, match="lacks its parameters policy.npz"):
        experts.load_expert(broken)
    (broken / "expert.json").write_text("{not json")
    with pytest.raises(IrlaxError, match="is not a valid expert description"):
        experts.load_expert(broken)


def pendulum_demos_file(path: Path) -> Path:
    """A small valid demonstrations file with Pendulum's sizes (observations of size 3, 1-D actions)."""
    from irlax.data.demos import make_demonstrations, save_demonstrations

    n, t = 2, 4
    zeros = np.zeros((n, t), np.float32)
    flags = np.zeros((n, t), bool)
    demos = make_demonstrations(
        {"obs": np.zeros((n, t, 3), np.float32), "actions": np.zeros((n, t, 1), np.float32),
         "next_obs": np.zeros((n, t, 3), np.float32), "rewards": zeros, "terminated": flags, "truncated": flags,
         "log_probs": zeros, "mask": ~flags},
        env_name="Pendulum-v1", obs_size=3, discrete=False, action_size=1,
    )
    save_demonstrations(path, demos)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["expert", "--env", "Nope-v0"], "unknown environment 'Nope-v0'"),
        (["expert"], "expert needs --env"),
        (["expert", "--env", "CartPole-v1", "--set", "bogus=1"], "ppo has no setting 'bogus'"),
        (["expert", "--env", "CartPole-v1", "--set", "gamma=high"], "gamma='high' is not a valid value"),
        (["expert", "--env", "CartPole-v1", "--set", "minibatch_size=7"], "does not divide"),
        (["expert", "--env", "CartPole-v1", "--steps", "0"], "must be at least 1"),
        (["expert", "--resume", "{tmp}"], "is not an expert directory"),
        (["expert", "--env", "CartPole-v1", "--out", "{tmp}"], "already exists and is not empty"),
        (["demos", "--expert", "{tmp}/missing", "--episodes", "2"], "does not exist"),
        (["demos", "--expert", "{tmp}", "--episodes", "2"], "is not an expert directory"),
        (["bc", "--demos", "{tmp}/garbage.npz"], "is not an .npz file"),
        (["bc", "--demos", "{tmp}/pendulum.npz", "--env", "CartPole-v1"], "CartPole-v1 has observations of size 4"),
        (["bc", "--demos", "{tmp}/pendulum.npz", "--set", "distribution=beta"], "unknown distribution"),
        (["bc", "--demos", "{tmp}/pendulum.npz", "--episodes", "5"], "the demonstrations have 2"),
    ],
)
def test_bad_control_input_gives_one_line_errors(tmp_path, fails_in_one_line, args, message):
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file")
    pendulum_demos_file(tmp_path / "pendulum.npz")
    full = [a.replace("{tmp}", str(tmp_path)) for a in args] + (["--out", str(tmp_path / "runs")]
                                                                 if args[0] == "bc" else [])
    fails_in_one_line(full, message)


def test_unconverged_value_iteration_is_reported_by_sample_and_evaluate(tmp_path, capsys):
    """At a discount of 0.99999 the default iteration cap (sized for 0.999) stops short: both commands say so."""
    from irlax.envs.tabular import from_dense
    from irlax.envs.world_file import save_world

    p = np.zeros((3, 2, 3))
    p[:, 0] = np.eye(3)[[1, 2, 0]]
    p[:, 1] = np.eye(3)
    mdp = from_dense(p, np.eye(3), discount=0.99999)
    reward = np.array([0.0, 1.0, 0.5])
    save_world(tmp_path / "w.npz", mdp, reward, name="slow")
    np.save(tmp_path / "r.npy", reward[None])
    assert main(["sample", "--world", str(tmp_path / "w.npz"), "--trajectories", "2", "--length", "3",
                 "--out", str(tmp_path / "d.npz")]) == 0
    err = capsys.readouterr().err
    assert "irlax: warning: the soft expert's value iteration stopped after" in err and "unconverged" in err
    assert main(["evaluate", "--world", str(tmp_path / "w.npz"), "--reward", str(tmp_path / "r.npy")]) == 0
    captured = capsys.readouterr()
    assert "EVD is approximate" in captured.err and "planning_converged" in captured.out


@pytest.mark.parametrize(("argv", "pattern"), [
    (["fit", "mce", "--iterations", "abc"], r"irlax fit: argument --iterations: 'abc' is not an integer"),
    (["fit", "mce", "--iterations", "2.5"], r"'2.5' is not a whole number"),
    (["sample", "--nonsense"], r"irlax sample: the following arguments are required: --world, --out"),
    (["no-such-command"], r"^irlax: error: argument COMMAND: invalid choice"),
])
def test_usage_errors_are_one_line(argv, pattern, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("irlax: error: ") and "--help)" in err
    assert re.search(pattern, err), err


def test_integer_options_take_whole_numbers_in_any_notation(tmp_path, capsys):
    """``--iterations 1e12`` is read as the number it is, then refused as too many, in one line."""
    from irlax.cli.runs import integer

    assert integer("12") == 12 and integer("1e6") == 1_000_000 and integer("2.0") == 2
    code = main(["fit", "mce", "--world", str(tmp_path / "w.npz"), "--demos", str(tmp_path / "d.npz"),
                 "--iterations", "1e12", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("irlax: error: ")
    assert not (tmp_path / "runs").exists()


def test_every_command_and_option_says_what_it_does():
    """``irlax COMMAND --help`` documents every subcommand, option and argument (none left blank)."""
    import argparse

    from irlax.cli.main import build_parser

    blank = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                for command, sub in action.choices.items():
                    if not helps.get(command):
                        blank.append(f"{name} {command}")
                    walk(sub, f"{name} {command}")
            elif not action.help:
                blank.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "irlax")
    assert blank == []
