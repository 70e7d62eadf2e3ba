"""A corpus of bad inputs: each ends in one line ``irlax: error: ...`` naming the problem, exit status 2, no
traceback, and nothing written (no new run directory, no change to the files and runs it was given).

Also: the changes ``--resume`` allows (a longer run, from another working directory) are honoured.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from irlax import tasks
from irlax.cli.main import build_parser, main
from irlax.cli.tabular import fit_overrides
from irlax.data.demos import make_demonstrations, save_demonstrations

FIT = ["fit", "mce", "--world", "{W}", "--demos", "{D}", "--quiet", "--out", "{OUT}"]


pytestmark = pytest.mark.usefixtures("no_progress")


def write_json(folder: Path, value, text: str | None = None) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(value) if text is None else text)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Worlds, demonstrations, a finished 2-iteration fit run, and run directories of every kind and state."""
    root = tmp_path_factory.mktemp("inputs")
    f = {}
    for name, seed in (("", 0), ("2", 5)):
        f[f"W{name}"], f[f"D{name}"] = root / f"world{name}.npz", root / f"demos{name}.npz"
        assert main(["world", "objectworld", "--size", "4", "--seed", str(seed), "--out", str(f[f"W{name}"])]) == 0
        assert main(["sample", "--world", str(f[f"W{name}"]), "--trajectories", "4", "--length", "3", "--out",
                     str(f[f"D{name}"])]) == 0
    runs = root / "runs"
    here = os.getcwd()
    os.chdir(root)  # a run started with relative paths (resumed from elsewhere below)
    try:
        assert main(["fit", "mce", "--world", "world.npz", "--demos", "demos.npz", "--iterations", "2", "--quiet",
                     "--out", "runs"]) == 0
    finally:
        os.chdir(here)
    f["FIT"] = next(runs.iterdir())
    f["TEXT"] = root / "text.npz"
    f["TEXT"].write_text("these are not arrays\n")
    f["REWARD"] = root / "reward.npy"
    np.save(f["REWARD"], np.zeros(16, np.float32))
    ppo = dataclasses.asdict(tasks.learner_config("CartPole-v1", "ppo"))
    f["EXPERT"] = write_json(root / "expert", {
        "command": "expert", "env": "CartPole-v1", "backend": "jax", "learner": "ppo", "config": ppo,
        "steps": 4096, "seeds": 1, "seed": 0, "eval_episodes": 2})
    f["BADEXPERT"] = write_json(root / "badexpert", {
        **json.loads((f["EXPERT"] / "config.json").read_text()), "config": {**ppo, "num_envs": 0}})
    f["TRAIN"] = write_json(root / "train", {
        "command": "train", "algorithm": "gail", "env": "CartPole-v1", "backend": "jax",
        "demos": str(root / "cartpole.npz"), "episodes": 2, "seeds": 1, "seed": 0, "rounds": 3,
        "checkpoint_every": 1, "eval_episodes": 2, "reoptimize_steps": 0, "config": {"learner": "ppo"}})
    f["BADJSON"] = write_json(root / "badjson", None, "{not json")
    f["LISTJSON"] = write_json(root / "listjson", [1, 2])
    f["NOKEYS"] = write_json(root / "nokeys", {"command": "fit"})
    fit_config = json.loads((f["FIT"] / "config.json").read_text())
    f["BADTYPE"] = write_json(root / "badtype", {**fit_config, "seeds": "two"})
    f["BADCONFIG"] = write_json(root / "badconfig", {**fit_config, "config": {**fit_config["config"], "l2": -1}})
    f["OLDFIT"] = write_json(root / "oldfit", {k: v for k, v in fit_config.items() if k != "command"})
    n, t = 2, 3  # CartPole demonstrations recorded in another variant of the task (a fingerprint not its own)
    arrays = {"obs": np.zeros((n, t, 4), np.float32), "actions": np.zeros((n, t), np.int32),
              "next_obs": np.zeros((n, t, 4), np.float32), "rewards": np.ones((n, t), np.float32),
              "terminated": np.zeros((n, t), bool), "truncated": np.zeros((n, t), bool),
              "log_probs": np.zeros((n, t), np.float32), "mask": np.ones((n, t), bool)}
    f["VARIANT"] = root / "variant.npz"
    save_demonstrations(f["VARIANT"], make_demonstrations(
        arrays, env_name="CartPole-v1", obs_size=4, discrete=True, action_size=2, backend="jax", task="0" * 16))
    f["EMPTY"] = root / "empty"
    f["EMPTY"].mkdir()
    f["NEGATIVE"] = write_json(root / "negative", fit_config)  # a checkpoint whose progress counter is wrong
    with np.load(f["FIT"] / "checkpoint.npz") as data:
        arrays = {k: data[k] for k in data.files}
    np.savez(f["NEGATIVE"] / "checkpoint.npz", **{**arrays, "done": np.int64(-3)})
    f["BEYOND"] = write_json(root / "beyond", {**fit_config, "config": {**fit_config["config"], "iterations": 1}})
    shutil.copy(f["FIT"] / "checkpoint.npz", f["BEYOND"])  # a checkpoint past the run's end
    return f


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` and a hash of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


CASES = [
    # --resume of a directory of another kind, or a broken one
    ("fit-resumes-expert", ["fit", "--resume", "{EXPERT}"], r"is an expert directory .*not a fit run directory"),
    ("fit-resumes-train", ["fit", "--resume", "{TRAIN}"], r"is a train run directory .*irlax train --resume"),
    ("train-resumes-fit", ["train", "--resume", "{FIT}"], r"is a fit run directory .*not a train run directory"),
    ("expert-resumes-fit", ["expert", "--resume", "{FIT}"], r"is a fit run directory .*not an expert directory"),
    ("expert-resumes-train", ["expert", "--resume", "{TRAIN}"], r"is a train run directory"),
    ("resume-not-json", ["fit", "--resume", "{BADJSON}"], r"config\.json is not valid JSON"),
    ("resume-json-list", ["train", "--resume", "{LISTJSON}"], r"config\.json is not a run's settings \(a JSON list"),
    ("resume-missing-keys", ["fit", "--resume", "{NOKEYS}"], r"lacks the setting 'algorithm'"),
    ("resume-wrong-type", ["fit", "--resume", "{BADTYPE}"], r"'seeds' must be an integer of at least 1, got 'two'"),
    ("resume-bad-config-value", ["fit", "--resume", "{BADCONFIG}"],
     r"badconfig/config\.json: l2 must be non-negative, got -1"),
    ("resume-no-config", ["expert", "--resume", "{EMPTY}"], r"is not an expert directory \(no config\.json\)"),
    ("resume-missing-dir", ["fit", "--resume", "{OUT}/nothing"], r"is not a fit run directory: it does not exist"),
    ("resume-negative-counter", ["fit", "--resume", "{NEGATIVE}"], r"checkpoint .* is inconsistent \(steps done -3"),
    ("resume-counter-past-end", ["fit", "--resume", "{BEYOND}"], r"checkpoint .* has 2 steps, the run only 1"),
    # config values
    ("zero-iterations", [*FIT, "--iterations", "0"], r"iterations must be positive, got 0"),
    ("negative-iterations", [*FIT, "--iterations", "-3"], r"iterations must be positive, got -3"),
    ("negative-l2", [*FIT, "--set", "l2=-1"], r"l2 must be non-negative, got -1"),
    ("negative-tolerance", [*FIT, "--set", "tolerance=-1e-3"], r"tolerance must be positive"),
    ("nan-learning-rate", [*FIT, "--learning-rate", "nan"], r"learning_rate must be a finite number, got nan"),
    ("inf-learning-rate", ["fit", "deep-maxent", *FIT[2:], "--set", "learning_rate=inf"],
     r"learning_rate must be a finite number, got inf"),
    ("zero-horizon", ["fit", "maxent", *FIT[2:], "--horizon", "0"], r"horizon must be positive, got 0"),
    ("zero-planning-cap", [*FIT, "--set", "max_planning_iterations=0"], r"max_planning_iterations must be positive"),
    ("bc-nan-learning-rate", ["bc", "--demos", "{D}", "--learning-rate", "nan", "--out", "{OUT}"],
     r"learning_rate must be a finite number"),
    ("bc-zero-batch", ["bc", "--demos", "{D}", "--batch-size", "0", "--out", "{OUT}"], r"batch_size must be positive"),
    ("expert-one-step", ["expert", "--env", "CartPole-v1", "--steps", "1", "--out", "{OUT}/e"],
     r"--steps 1 is too few for ppo .* at least 2048"),
    ("expert-sac-before-learning", ["expert", "--env", "Pendulum-v1", "--learner", "sac", "--steps", "50", "--out",
                                    "{OUT}/e"], r"--steps 50 is too few for sac .* at least 101 \(100 random steps"),
    ("expert-bad-discount", ["expert", "--env", "CartPole-v1", "--set", "gamma=1.5", "--out", "{OUT}/e"],
     r"gamma must be in \(0, 1\], got 1\.5"),
    ("expert-nan-setting", ["expert", "--env", "CartPole-v1", "--set", "learning_rate=nan", "--out", "{OUT}/e"],
     r"learning_rate must be a finite number"),
    # --resume with options that conflict with the run
    ("fit-resume-other-algorithm", ["fit", "maxent", "--resume", "{FIT}"], r"algorithm maxent conflicts with .*mce"),
    ("fit-resume-other-world", ["fit", "--resume", "{FIT}", "--world", "{W2}"], r"--world .*world2\.npz conflicts"),
    ("fit-resume-other-demos", ["fit", "--resume", "{FIT}", "--demos", "{D2}"], r"--demos .*demos2\.npz conflicts"),
    ("fit-resume-other-seeds", ["fit", "--resume", "{FIT}", "--seeds", "2"], r"--seeds 2 conflicts .* run with 1"),
    ("fit-resume-other-seed", ["fit", "--resume", "{FIT}", "--seed", "4"], r"--seed 4 conflicts .* run with 0"),
    ("fit-resume-other-l2", ["fit", "--resume", "{FIT}", "--l2", "0.1"], r"--l2 0\.1 conflicts .* l2 0\.0"),
    ("fit-resume-other-set", ["fit", "--resume", "{FIT}", "--set", "optimizer=sgd"], r"--set optimizer sgd conflicts"),
    ("fit-resume-shorter", ["fit", "--resume", "{FIT}", "--iterations", "1"], r"lengthened, not shortened"),
    ("expert-resume-other-env", ["expert", "--resume", "{EXPERT}", "--env", "Pendulum-v1"],
     r"--env Pendulum-v1 conflicts .* CartPole-v1"),
    ("expert-resume-other-learner", ["expert", "--resume", "{EXPERT}", "--learner", "sac"],
     r"--learner sac conflicts .* ppo"),
    ("expert-resume-other-setting", ["expert", "--resume", "{EXPERT}", "--set", "num_envs=2"],
     r"--set num_envs=2 conflicts"),
    ("expert-resume-shorter", ["expert", "--resume", "{EXPERT}", "--steps", "2048"], r"lengthened, not shortened"),
    ("train-resume-other-algorithm", ["train", "airl", "--resume", "{TRAIN}"], r"algorithm airl conflicts .* gail"),
    ("train-resume-other-seeds", ["train", "--resume", "{TRAIN}", "--seeds", "3"], r"--seeds 3 conflicts"),
    ("expert-resume-bad-setting", ["expert", "--resume", "{BADEXPERT}"],
     r"badexpert/config\.json: bad PPOConfig \(num_envs must be positive, got 0\)"),
    ("train-resume-other-demos", ["train", "--resume", "{TRAIN}", "--demos", "{D}"], r"--demos .* conflicts"),
    # files
    ("demos-of-another-world", ["fit", "mce", "--world", "{W}", "--demos", "{D2}", "--out", "{OUT}"],
     r"demonstrations in .*demos2\.npz were recorded in another world than the world .*world\.npz"),
    ("evaluate-demos-of-another-world", ["evaluate", "--world", "{W}", "--reward", "{REWARD}", "--demos", "{D2}"],
     r"recorded in another world"),
    ("demos-of-another-task-variant", ["bc", "--demos", "{VARIANT}", "--out", "{OUT}"],
     r"demonstrations in .*variant\.npz come from another variant of CartPole-v1"),
    ("train-demos-of-another-task-variant", ["train", "gail", "--demos", "{VARIANT}", "--out", "{OUT}/t"],
     r"another variant of CartPole-v1"),
    ("text-file-as-world", ["sample", "--world", "{TEXT}", "--out", "{OUT}/d.npz"],
     r"world file .*text\.npz is not an \.npz file \(not a zip archive"),
    ("text-file-as-demos", ["fit", "mce", "--world", "{W}", "--demos", "{TEXT}", "--out", "{OUT}"],
     r"demonstrations file .*text\.npz is not an \.npz file"),
    ("world-size-zero", ["world", "gridworld", "--size", "0", "--out", "{OUT}/g.npz"], r"--size must be positive"),
]


@pytest.mark.parametrize(("argv", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_ends_in_one_line_and_leaves_nothing(files, tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    out.mkdir()
    names = {**{k: str(v) for k, v in files.items()}, "OUT": str(out)}
    argv = [re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], a) for a in argv]
    inputs = files["W"].parent
    before = snapshot(inputs)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.startswith("irlax: error:") and "\n" not in err, err
    assert re.search(message, err), err
    assert list(out.iterdir()) == [], "nothing written"
    assert snapshot(inputs) == before, "the inputs and the runs given are unchanged"


def test_horizon_none_means_the_default():
    args = build_parser().parse_args(["fit", "mce", "--horizon", "none"])
    assert fit_overrides(args) == {"horizon": "none"}
    from irlax.algorithms.registry import make_config

    assert make_config("mce", fit_overrides(args)).horizon is None


def test_gridworld_of_any_size_is_drawn(tmp_path, capsys):
    assert main(["world", "gridworld", "--size", "8", "--out", str(tmp_path / "g.npz")]) == 0
    assert "64 states" in capsys.readouterr().out


def test_resume_is_lengthened_and_works_from_another_folder(files, tmp_path, monkeypatch, capsys):
    """A fit started with relative paths resumes from elsewhere; --iterations lengthens it to where an
    uninterrupted run of that length ends."""
    run_dir = tmp_path / "run"
    shutil.copytree(files["FIT"], run_dir)
    monkeypatch.chdir(tmp_path)
    assert main(["fit", "mce", "--resume", str(run_dir), "--iterations", "4", "--world", str(files["W"]),
                 "--quiet"]) == 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["iterations"] == 4 and Path(config["world"]).is_absolute()
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 4
    assert main(["fit", "mce", "--world", str(files["W"]), "--demos", str(files["D"]), "--iterations", "4",
                 "--quiet", "--out", str(tmp_path / "long")]) == 0
    whole = next((tmp_path / "long").iterdir())
    np.testing.assert_allclose(np.load(run_dir / "reward.npy"), np.load(whole / "reward.npy"), rtol=1e-6)


def test_old_fit_directory_without_its_command_still_resumes(files, tmp_path, capsys):
    """config.json of fit runs made before fit recorded its command are recognised by their settings."""
    run_dir = tmp_path / "old"
    shutil.copytree(files["OLDFIT"], run_dir)
    assert main(["fit", "--resume", str(run_dir), "--quiet"]) == 0
    assert (run_dir / "summary.json").exists()
