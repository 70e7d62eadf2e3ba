"""A corpus of bad input files, runs too large to hold and runs that diverge: each ends in one line
``irlax: error: ...`` with exit status 2, no traceback, a message naming the problem, and nothing left behind."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from irlax.cli.main import main
from irlax.errors import IrlaxError
from irlax.run import memory

pytestmark = pytest.mark.usefixtures("no_progress")


@pytest.fixture(scope="module")
def tiny(cli_world) -> tuple[Path, Path]:
    return cli_world(4, 0, 4, 5)


def refused(argv: list[str], capsys, message: str, folder: Path, before: set[str]) -> str:
    """Run ``irlax argv``: exit 2, one line matching ``message``, no traceback, ``folder`` as it was."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("irlax: error:") and "\n" not in err and "Traceback" not in err, err
    assert re.search(message, err), err
    assert {p.name for p in folder.rglob("*")} == before, "files left behind"
    return err


def world_arrays(world: Path) -> dict[str, np.ndarray]:
    with np.load(world) as data:
        return {key: data[key] for key in data.files}


WORLD_CASES = {
    "string features": ({"features": lambda a: a["features"].astype(str)}, r"'features' must be an array of real"),
    "complex features": ({"features": lambda a: a["features"].astype(complex)}, r"'features'.*complex"),
    "string horizon": ({"horizon": lambda a: np.str_("ten")}, r"'horizon' must be an integer, got the string 'ten'"),
    "array horizon": ({"horizon": lambda a: np.array([3, 4])}, r"'horizon' must be an integer, got an integer array"),
    "fractional horizon": ({"horizon": lambda a: np.float64(2.5)}, r"'horizon' must be an integer"),
    "NaN horizon": ({"horizon": lambda a: np.float64(np.nan)}, r"'horizon' must be an integer, got nan"),
    "horizon beyond int32": ({"horizon": lambda a: np.int64(2**40)}, r"'horizon' must be at most"),
    "string grid_shape": ({"grid_shape": lambda a: np.str_("4x4")}, r"'grid_shape' must be an array of integers"),
    "scalar grid_shape": ({"grid_shape": lambda a: np.int64(16)}, r"'grid_shape' must have shape \[2\]"),
    "string discount": ({"discount": lambda a: np.str_("high")}, r"'discount' must be a number"),
    "array discount": ({"discount": lambda a: np.array([0.9, 0.9])}, r"'discount' must be a number"),
    "float successors": ({"next_states": lambda a: a["next_states"] + 0.5}, r"'next_states' must be an array of int"),
    "string probabilities": ({"next_probs": lambda a: a["next_probs"].astype(str)}, r"'next_probs'"),
    "string start": ({"initial": lambda a: a["initial"].astype(str)}, r"'initial'"),
    "string reward": ({"reward": lambda a: a["reward"].astype(str)}, r"'reward' must be an array of real"),
    "huge reward": ({"reward": lambda a: np.full(a["reward"].shape, 1e30)}, r"reward reaches 1e\+30.*rescale"),
    "infinite reward": ({"reward": lambda a: np.full(a["reward"].shape, np.inf)}, r"'reward' has the non-finite"),
    "numeric name": ({"name": lambda a: np.arange(3)}, r"'name' must be a string"),
    "zero states": ({"next_states": lambda a: np.zeros((0, 5, 1), np.int64),
                     "next_probs": lambda a: np.zeros((0, 5, 1)),
                     "features": lambda a: np.zeros((0, 3)), "initial": lambda a: np.zeros(0),
                     "reward": lambda a: np.zeros(0), "grid_shape": None}, r"is empty|at least one state"),
    "zero states, dense": ({"next_states": None, "next_probs": None, "transitions": lambda a: np.zeros((0, 5, 0)),
                            "features": lambda a: np.zeros((1, 3)), "initial": None, "reward": None,
                            "grid_shape": None}, r"is empty|at least one state"),
}


@pytest.mark.parametrize("case", list(WORLD_CASES))
def test_malformed_world_files_are_refused(case, tiny, tmp_path, capsys):
    changes, message = WORLD_CASES[case]
    arrays = world_arrays(tiny[0])
    for key, change in changes.items():
        if change is None:
            arrays.pop(key, None)
        else:
            arrays[key] = change(arrays)
    world = tmp_path / "world.npz"
    np.savez(world, **arrays)
    before = {p.name for p in tmp_path.rglob("*")}
    err = refused(["sample", "--world", str(world), "--out", str(tmp_path / "demos.npz")], capsys, message,
                  tmp_path, before)
    assert str(world) in err


DEMO_CASES = {
    "string num_states": ({"num_states": np.str_("many")}, r"'num_states' must be an integer, got the string"),
    "fractional num_actions": ({"num_actions": np.float64(2.5)}, r"'num_actions' must be an integer"),
    "string states": ({"states": lambda a: a["states"].astype(str)}, r"states must be an integer array"),
}


@pytest.mark.parametrize("case", list(DEMO_CASES))
def test_malformed_demonstrations_are_refused_before_a_run_directory(case, tiny, tmp_path, capsys):
    changes, message = DEMO_CASES[case]
    arrays = world_arrays(tiny[1])
    for key, change in changes.items():
        arrays[key] = change(arrays) if callable(change) else change
    demos = tmp_path / "demos.npz"
    np.savez(demos, **arrays)
    before = {p.name for p in tmp_path.rglob("*")}
    err = refused(["fit", "maxent", "--world", str(tiny[0]), "--demos", str(demos), "--out", str(tmp_path / "runs")],
                  capsys, message, tmp_path, before)
    assert str(demos) in err


REWARD_CASES = {
    "an .npz archive": (lambda s: ("npz", {"reward": np.zeros(s)}), r"is an \.npz archive"),
    "text": (lambda s: ("text", "hello"), r"is not an \.npy array file"),
    "huge integers": (lambda s: ("npy", np.full(s, 10**19, np.uint64)), r"reaches 1e\+19.*rescale"),
    "huge floats": (lambda s: ("npy", np.full(s, 1e30)), r"reward reaches 1e\+30"),
    "the wrong shape": (lambda s: ("npy", np.zeros((3, 7))), r"must have shape \[S=16\]"),
    "a scalar": (lambda s: ("npy", np.float64(1.0)), r"'reward' must have 1, 2 or 3 dimensions"),
    "NaN": (lambda s: ("npy", np.full(s, np.nan)), r"'reward' has the non-finite value nan"),
    "strings": (lambda s: ("npy", np.array(["a"] * s)), r"'reward' must be an array of real numbers"),
    "complex numbers": (lambda s: ("npy", np.ones(s, complex)), r"complex"),
    "no values": (lambda s: ("npy", np.zeros((0, s))), r"'reward' is empty"),
}


@pytest.mark.parametrize("case", list(REWARD_CASES))
def test_bad_reward_files_given_to_evaluate_are_refused(case, tiny, tmp_path, capsys):
    make, message = REWARD_CASES[case]
    kind, content = make(16)
    path = tmp_path / "reward.npy"
    if kind == "npz":
        with open(path, "wb") as f:
            np.savez(f, **content)
    elif kind == "text":
        path.write_text(content)
    else:
        np.save(path, content)
    before = {p.name for p in tmp_path.rglob("*")}
    err = refused(["evaluate", "--world", str(tiny[0]), "--reward", str(path)], capsys, message, tmp_path, before)
    assert str(path) in err


def test_integer_and_boolean_rewards_are_evaluated(tiny, tmp_path, capsys):
    path = tmp_path / "reward.npy"
    np.save(path, np.arange(16))
    assert main(["evaluate", "--world", str(tiny[0]), "--reward", str(path)]) == 0
    assert "evd_soft" in capsys.readouterr().out


# -- sizes that cannot fit: refused before anything is allocated -----------------------------------------------------

SIZE_CASES = {
    "a trillion seeds": (["fit", "mce", "--seeds", "1000000000000"], r"seeds 1000000000000 is beyond the largest"),
    "a trillion iterations": (["fit", "mce", "--iterations", "1000000000000"],
                              r"a run of 1000000000000 iterations is beyond the"),
    "a billion seeds' states": (["fit", "mce", "--seeds", "1000000000"], r"needs about .* of memory; this machine"),
    "a world of 1e6 x 1e6 cells": (["world", "objectworld", "--size", "1000000"],
                                   r"--size 1000000 gives objectworld 1000000000000 states, beyond"),
    "a world of 4e4 x 4e4 cells": (["world", "gridworld", "--size", "40000"], r"needs about .*iB of memory"),
    "a billion steps": (["sample", "--trajectories", "8", "--length", "1000000000"], r"1000000000 steps needs about"),
    "a billion trajectories": (["sample", "--trajectories", "1000000000"], r"1000000000 trajectories .* needs about"),
    "a horizon of 1e9": (["sample", "--horizon-world"], r"horizon 1000000000\) needs about .*TiB"),
    "a horizon of 1e9 for fit": (["fit", "maxent", "--horizon", "1000000000"], r"horizon 1000000000\) needs about"),
    "a billion experts": (["expert", "--env", "CartPole-v1", "--seeds", "1000000000"], r"episodes is beyond"),
}


@pytest.mark.parametrize("case", list(SIZE_CASES))
def test_runs_too_large_to_hold_are_refused_before_allocating(case, tiny, tmp_path, capsys):
    argv, message = SIZE_CASES[case]
    world, demos = tiny
    if argv[0] == "fit":
        argv = [*argv, "--world", str(world), "--demos", str(demos), "--out", str(tmp_path / "runs")]
    elif argv[0] == "world" or argv[0] == "expert":
        argv = [*argv, "--out", str(tmp_path / "out")]
    elif argv == ["sample", "--horizon-world"]:
        arrays = world_arrays(world)
        arrays["horizon"] = np.int64(10**9)
        np.savez(tmp_path / "long.npz", **arrays)
        argv = ["sample", "--world", str(tmp_path / "long.npz"), "--length", "3", "--out", str(tmp_path / "d.npz")]
    else:
        argv = [*argv, "--world", str(world), "--out", str(tmp_path / "d.npz")]
    before = {p.name for p in tmp_path.rglob("*")}
    refused(argv, capsys, message, tmp_path, before)


def test_memory_check_names_the_estimate_and_the_machine(monkeypatch):
    monkeypatch.setattr(memory, "machine_memory", lambda: (2**30, 2**29))
    monkeypatch.setattr(memory, "device_memory", lambda: None)
    memory.check_fits(2**29, "half the machine")  # what fits is not refused
    with pytest.raises(IrlaxError, match=r"^a big run needs about 2 GiB of memory; this machine has 1 GiB, "
                                         r"512 MiB of it available$"):
        memory.check_fits(2**31, "a big run")
    from irlax.tasks import make_env

    with pytest.raises(IrlaxError, match=r"recording 1000000000 episodes .* needs about .*TiB"):
        memory.check_episodes_fit(make_env("CartPole-v1").spec, 10**9, "recording 1000000000 episodes")
    with pytest.raises(IrlaxError, match="beyond the largest count"):
        memory.check_count(2**31, "--iterations")


def test_the_machine_memory_is_read():
    total, available = memory.machine_memory()
    assert 0 < available <= total
    assert memory.format_bytes(3 * 2**30) == "3 GiB" and memory.format_bytes(512) == "512 B"


# -- runs that diverge ---------------------------------------------------------------------------------------------


def test_a_diverging_fit_stops_at_the_first_bad_iteration_and_keeps_the_last_finite_checkpoint(tiny, tmp_path,
                                                                                              capsys):
    world, demos = tiny
    assert main(["fit", "maxent", "--world", str(world), "--demos", str(demos), "--iterations", "6",
                 "--learning-rate", "1e38", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert re.search(r"maxent diverged: seed 0's state became NaN or infinite \(params\); its log_likelihood is NaN "
                     r"or infinite from iteration 1 on", err), err
    (run_dir,) = tmp_path.iterdir()
    assert f"{run_dir / 'checkpoint.npz'} keeps the last finite state (1 iterations done)" in err
    with np.load(run_dir / "checkpoint.npz") as checkpoint:
        assert int(checkpoint["done"]) == 1
        for key in checkpoint.files:
            if checkpoint[key].dtype.kind == "f":
                assert np.isfinite(checkpoint[key]).all(), key
    assert not (run_dir / "summary.json").exists() and not (run_dir / "reward.npy").exists()


def test_bc_on_observations_too_large_is_refused_before_its_run_directory(tmp_path, capsys):
    from irlax.data.demos import make_demonstrations, save_demonstrations

    n, t = 2, 5
    # +-1e30: their variance overflows float32 in any summation order (a constant 1e30 has none, or an overflowing
    # one, depending on how the mean rounds)
    huge = np.broadcast_to(np.where(np.arange(t) % 2 == 0, 1e30, -1e30)[None, :, None], (n, t, 4)).astype(np.float32)
    arrays = {"obs": huge.copy(), "next_obs": huge.copy(),
              "actions": np.zeros((n, t), np.int32), "rewards": np.ones((n, t), np.float32),
              "terminated": np.zeros((n, t), bool), "truncated": np.zeros((n, t), bool),
              "log_probs": np.zeros((n, t), np.float32), "mask": np.ones((n, t), bool)}
    arrays["truncated"][:, -1] = True
    demos = tmp_path / "demos.npz"
    save_demonstrations(demos, make_demonstrations(arrays, env_name="CartPole-v1", obs_size=4, discrete=True,
                                                   action_size=2, expert="{}", backend="jax"))
    before = {p.name for p in tmp_path.rglob("*")}
    refused(["bc", "--demos", str(demos), "--epochs", "2", "--eval-episodes", "1", "--out", str(tmp_path / "runs")],
            capsys, r"bc: the initial state of seed 0 is NaN or infinite \(params\.obs_stats\.var\)", tmp_path, before)


def test_the_first_bad_iteration_ignores_metrics_that_are_nan_now_and_then():
    from irlax.run.driver import first_non_finite_step

    nan = np.nan
    metrics = {"mean_return": np.array([[nan, 1.0, nan, 2.0, nan, nan]]),  # no episode ended: NaN now and then
               "loss": np.array([[0.5, 0.4, 0.3, nan, nan, nan]])}
    assert first_non_finite_step(metrics, 0, since=2) == (3, "loss")
    assert first_non_finite_step(metrics, 0, since=5) == (5, "mean_return")
    assert first_non_finite_step({"loss": np.array([[0.5, 0.4]])}, 0, since=0) is None
