"""The ``irlax`` command line end to end, in-process: outputs on disk and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from irlax.cli.main import main


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch):
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")


@pytest.fixture(scope="module")
def world_and_demos(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cli")
    world, demos = folder / "world.npz", folder / "demos.npz"
    assert main(["world", "objectworld", "--size", "8", "--seed", "3", "--out", str(world)]) == 0
    assert main(["sample", "--world", str(world), "--trajectories", "16", "--length", "6", "--out", str(demos)]) == 0
    return world, demos


def only_run_dir(root: Path) -> Path:
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    return run_dir


def test_fit_writes_a_complete_run_directory(world_and_demos, tmp_path, capsys):
    world, demos = world_and_demos
    code = main([
        "fit", "mce", "--world", str(world), "--demos", str(demos), "--seeds", "3",
        "--iterations", "15", "--out", str(tmp_path),
    ])
    assert code == 0
    run_dir = only_run_dir(tmp_path)
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
    assert "mce on objectworld" in capsys.readouterr().out


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
def test_bad_settings_give_one_line_errors(world_and_demos, tmp_path, capsys, args, message):
    world, demos = world_and_demos
    full = args[:2] + ["--world", str(world), "--demos", str(demos), "--out", str(tmp_path)] + args[2:]
    assert main(full) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("irlax: error:") and message in err and "\n" not in err


def test_malformed_and_mismatched_files_give_one_line_errors(world_and_demos, tmp_path, capsys):
    world, demos = world_and_demos
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    assert main(["fit", "mce", "--world", str(world), "--demos", str(garbage), "--out", str(tmp_path)]) == 2
    assert "not a readable .npz" in capsys.readouterr().err
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


def test_demo_runs_end_to_end_on_a_small_world(tmp_path, capsys):
    code = main(["demo", "--size", "8", "--trajectories", "16", "--iterations", "10", "--out", str(tmp_path)])
    assert code == 0
    run_dir = only_run_dir(tmp_path)
    for name in ("reward_maps.png", "reward_maxent.npy", "reward_deep_maxent.npy", "world.npz", "demos.npz",
                 "metrics.csv", "summary.json"):
        assert (run_dir / name).stat().st_size > 0, name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [row["algorithm"] for row in summary["results"]][1:] == ["MaxEnt (linear)", "Deep MaxEnt (MLP)"]
    assert "EVD (soft)" in capsys.readouterr().out


def test_resume_ends_where_an_uninterrupted_run_would(world_and_demos, tmp_path):
    world, demos = world_and_demos
    common = ["--world", str(world), "--demos", str(demos), "--seeds", "2", "--iterations", "40", "--quiet"]
    assert main(["fit", "deep-maxent", *common, "--out", str(tmp_path / "full")]) == 0
    full = only_run_dir(tmp_path / "full")
    assert main(["fit", "deep-maxent", *common, "--out", str(tmp_path / "cut")]) == 0
    cut = only_run_dir(tmp_path / "cut")
    # simulate a crash after 20 of 40 iterations: rewind the checkpoint and drop the outputs
    from irlax.algorithms.registry import init_seeds, make_config
    from irlax.cli.tabular import load_progress, save_progress
    from irlax.data.trajectories import load_trajectories
    from irlax.envs.world_file import load_world

    _, mdp, _ = load_world(world)
    trajs = load_trajectories(demos)
    config = make_config("deep-maxent", {"iterations": "20"})
    import jax

    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    template = init_seeds("deep-maxent", config, keys, mdp, trajs)
    from irlax.algorithms.registry import advance_seeds

    halfway = advance_seeds("deep-maxent", config, template, mdp, trajs, 20)
    save_progress(cut, halfway)
    assert load_progress(cut, template).done == 20
    (cut / "reward.npy").unlink()
    assert main(["fit", "--resume", str(cut), "--quiet"]) == 0
    np.testing.assert_allclose(np.load(cut / "reward.npy"), np.load(full / "reward.npy"), rtol=1e-5, atol=1e-5)
    assert len((cut / "metrics.jsonl").read_text().splitlines()) == 2 * 40
