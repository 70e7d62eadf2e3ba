"""``irlax sweep``: the sweep file, trial planning, resuming and the summary alone, then one tiny sweep on Ray."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import use_test_compile_cache

from irlax.cli.main import main
from irlax.errors import IrlaxError
from irlax.metrics.aggregate import seed_summary
from irlax.run.compile_cache import disable_compile_cache
from irlax.run.sweep import (
    ERROR_FILE,
    LOG_FILE,
    TrialOutcome,
    best_outcome,
    collect_outcome,
    command_argv,
    execute_trial,
    load_sweep,
    metric_summary,
    metric_values,
    open_sweep_dir,
    parse_sweep,
    plan_trials,
    sweep_table,
    trial_argv,
    trial_dir,
    trial_state,
    write_sweep_report,
)

GRID = """
name = "tiny"
command = "fit"
metric = "evaluation.evd_soft"
mode = "min"
seeds = 2
[args]
algorithm = "mce"
world = "world.npz"
demos = "demos.npz"
iterations = 3
[grid]
set.learning_rate = [0.05, 0.1]
"set.l2" = [0.0, 0.01]
"""


pytestmark = pytest.mark.usefixtures("no_progress")


def sweep_file(folder: Path, text: str = GRID, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def base(**extra) -> dict:
    """A valid sweep file's contents (a random search has no grid), with ``extra`` keys on top."""
    data = {"command": "fit", "metric": "evaluation.evd_soft", "mode": "min", "seeds": 2,
            "args": {"algorithm": "mce", "world": "w.npz", "demos": "d.npz"},
            "grid": {"set.learning_rate": [0.01, 0.1]}}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------------------------------------------------------
# the file and the trials


def test_a_grid_file_plans_its_cross_product_with_resolved_paths(tmp_path):
    spec = load_sweep(sweep_file(tmp_path))
    assert (spec.name, spec.command, spec.mode, spec.seeds, spec.search) == ("tiny", "fit", "min", 2, "grid")
    trials = plan_trials(spec)
    assert len(trials) == 4
    assert [t.params for t in trials] == [
        {"set.learning_rate": lr, "set.l2": l2} for lr in (0.05, 0.1) for l2 in (0.0, 0.01)]
    assert list(trials[1].argv) == [
        "fit", "mce", f"--world={tmp_path / 'world.npz'}", f"--demos={tmp_path / 'demos.npz'}", "--iterations=3",
        "--set=learning_rate=0.05", "--set=l2=0.01", "--seeds=2"]
    # ids: the index and a hash of the command line, the same every time the file is planned
    assert [t.id for t in trials] == [t.id for t in plan_trials(load_sweep(tmp_path / "sweep.toml"))]
    assert [t.id[:5] for t in trials] == ["0000-", "0001-", "0002-", "0003-"]
    assert len({t.id[5:] for t in trials}) == 4
    other = plan_trials(load_sweep(sweep_file(tmp_path, GRID.replace("iterations = 3", "iterations = 4"), "b.toml")))
    assert not {t.id for t in trials} & {t.id for t in other}


def test_option_tables_vary_together_and_values_become_options(tmp_path):
    spec = parse_sweep({
        "command": "train", "metric": "mean_return", "mode": "max", "seeds": 3,
        "args": {"learner": "sac", "eval_episodes": 5, "learner-set": {"hidden": [32, 32]}, "state_only": True},
        "grid": {"algorithm": ["gail", "airl"],
                 "task": [{"demos": "a.npz", "env": "Pendulum-v1"}, {"demos": "/data/b.npz", "env": "PointMaze-v0"}]},
    }, tmp_path)
    trials = plan_trials(spec)
    assert len(trials) == 4
    assert trials[3].params == {"algorithm": "airl", "task": {"demos": "/data/b.npz", "env": "PointMaze-v0"}}
    assert list(trials[1].argv) == [
        "train", "gail", "--learner=sac", "--eval-episodes=5", "--learner-set=hidden=32,32", "--state-only",
        "--demos=/data/b.npz", "--env=PointMaze-v0", "--seeds=3"]
    assert f"--demos={tmp_path / 'a.npz'}" in trials[0].argv
    assert command_argv("bc", {"deterministic": False, "set.x": None, "set.y": True}, 1) == [
        "bc", "--set=x=none", "--set=y=true", "--seeds=1"]


def test_a_random_search_draws_the_same_points_from_the_same_seed(tmp_path):
    space = {"set.learning_rate": {"low": 1e-3, "high": 1e-1, "log": True},
             "set.l2": {"low": 0.0, "high": 0.5}, "iterations": {"low": 2, "high": 4, "integer": True},
             "set.optimizer": {"choices": ["adam", "sgd"]}}
    spec = parse_sweep(base(search="random", samples=20, grid=None, space=space), tmp_path)
    trials = plan_trials(spec)
    assert len(trials) == 20
    assert [t.argv for t in trials] == [t.argv for t in plan_trials(spec)]
    values = {k: [t.params[k] for t in trials] for k in space}
    assert all(1e-3 <= v < 1e-1 for v in values["set.learning_rate"])
    assert all(0.0 <= v < 0.5 for v in values["set.l2"])
    assert set(values["iterations"]) <= {2, 3, 4} and all(isinstance(v, int) for v in values["iterations"])
    assert set(values["set.optimizer"]) == {"adam", "sgd"}
    reseeded = plan_trials(parse_sweep(base(search="random", samples=20, grid=None, space=space, search_seed=1),
                                       tmp_path))
    assert [t.argv for t in reseeded] != [t.argv for t in trials]
    crossed = parse_sweep(base(search="random", samples=3, space={"set.l2": {"low": 0.0, "high": 1.0}}), tmp_path)
    assert len(plan_trials(crossed)) == 3 * 2  # each draw crossed with the grid


@pytest.mark.parametrize(("change", "message"), [
    ({"metrics": "x"}, "unknown key 'metrics'"),
    ({"command": "world"}, "command must be one of fit, expert, bc, train"),
    ({"metric": None}, "needs a metric"),
    ({"metric": "evaluation..evd"}, "needs a metric"),
    ({"mode": "lowest"}, "mode must be min or max"),
    ({"mode": None}, "mode must be min or max"),
    ({"search": "random", "samples": 2, "space": {"set.l2": {"choices": [{"a": 1}]}}}, "is not a string"),
    ({"seeds": 0}, "seeds must be a positive integer"),
    ({"name": "a/b"}, "name must be a plain folder name"),
    ({"search": "optuna"}, "not supported"),
    ({"search": "bayes"}, "search must be one of grid, random"),
    ({"grid": {}}, "needs a [grid]"),
    ({"grid": {"set.l2": []}}, "set.l2 has no values"),
    ({"grid": {"set.l2": 0.1}}, "must be a list of values"),
    ({"grid": {"out": ["a", "b"]}}, "'out' is set by the sweep itself"),
    ({"args": {"seeds": 3}}, "'seeds' is set by the sweep itself"),
    ({"args": {"algorithm": "mce", "set": 3}}, "takes a table of settings"),
    ({"args": {"algorithm": "mce", "iterations": [1, 2]}}, "is not a string, number or boolean"),
    ({"grid": {"algorithm": ["mce", "maxent"]}}, "algorithm is set twice"),
    ({"grid": {"task": [{"world": "a.npz"}, "b.npz"]}}, "mixes option tables"),
    ({"command": "bc", "args": {}, "grid": {"algorithm": ["a", "b"]}}, "bc takes no algorithm"),
    ({"space": {"set.l2": {"low": 0, "high": 1}}}, "are for search = \"random\""),
    ({"search": "random", "samples": 2}, "needs a [space]"),
    ({"search": "random", "samples": 0, "space": {"set.l2": {"low": 0, "high": 1}}}, "samples must be"),
    ({"search": "random", "samples": 2, "space": {"set.l2": {"low": 1, "high": 0}}}, "low < high"),
    ({"search": "random", "samples": 2, "space": {"set.l2": {"low": 0, "high": 1, "log": True}}}, "low > 0"),
    ({"search": "random", "samples": 2, "space": {"set.l2": {"choices": []}}}, "non-empty list"),
    ({"search": "random", "samples": 2, "space": {"set.l2": {"mean": 0}}}, "unknown key 'mean'"),
])
def test_bad_sweep_files_fail_in_one_line(tmp_path, change, message):
    with pytest.raises(IrlaxError, match="^sweep file ") as info:
        parse_sweep(base(**change), tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_command_refuses_bad_files_before_ray_starts(tmp_path, fails_in_one_line):
    fails_in_one_line(["sweep", str(tmp_path / "none.toml")], "does not exist")
    fails_in_one_line(["sweep", str(sweep_file(tmp_path, "command = [", "bad.toml"))], "is not valid TOML")
    fails_in_one_line(["sweep", str(sweep_file(tmp_path, "command: fit\n", "s.yaml"))], "sweep file")
    typo = sweep_file(tmp_path, GRID.replace("iterations = 3", "iteratoins = 3"), "typo.toml")
    fails_in_one_line(["sweep", str(typo), "--out", str(tmp_path / "o")], "unrecognized arguments: --iteratoins=3")
    wrong = sweep_file(tmp_path, GRID.replace('algorithm = "mce"', 'algorithm = "mcee"'), "wrong.toml")
    fails_in_one_line(["sweep", str(wrong), "--out", str(tmp_path / "o")], "invalid choice: 'mcee'")
    fails_in_one_line(["sweep", str(sweep_file(tmp_path)), "--out", str(tmp_path / "o")],
                      f"world {tmp_path / 'world.npz'} does not exist")
    assert not (tmp_path / "o").exists()
    (tmp_path / "world.npz").write_text("")
    (tmp_path / "demos.npz").write_text("")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    fails_in_one_line(["sweep", str(sweep_file(tmp_path)), "--out", str(tmp_path / "full")], "not a sweep folder")
    fails_in_one_line(["sweep", str(sweep_file(tmp_path)), "--cpus", "1", "--cpus-per-trial", "2"], "no trial could")
    fails_in_one_line(["sweep", str(sweep_file(tmp_path)), "--cpus", "2", "--address", "h:1"], "sizes a local Ray")


def test_a_sweep_folder_belongs_to_one_set_of_trials(tmp_path):
    spec = load_sweep(sweep_file(tmp_path))
    trials = plan_trials(spec)
    folder = open_sweep_dir(tmp_path / "s", spec, trials)
    assert {p.name for p in folder.iterdir()} == {"plan.json", "sweep.toml"}
    assert open_sweep_dir(folder, parse_sweep({**tomllib_load(GRID), "metric": "evaluation.demo_nll"}, tmp_path,
                                              str(tmp_path / "sweep.toml")), trials) == folder  # same trials
    with pytest.raises(IrlaxError, match="holds another sweep"):
        open_sweep_dir(folder, spec, trials[:3])


def tomllib_load(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


# ---------------------------------------------------------------------------------------------------------------
# one trial's folder, with a stand-in for the irlax command


class FakeIrlax:
    """Stands in for ``irlax.cli.main.main``: writes a run directory the way the commands do and records calls."""

    def __init__(self, finish: bool = True, status: int = 0) -> None:
        self.calls: list[list[str]] = []
        self.finish, self.status = finish, status

    def __call__(self, argv: list[str]) -> int:
        self.calls.append(argv)
        if self.status:
            print("irlax: error: boom", file=sys.stderr)
            return self.status
        opts = dict(a.removeprefix("--").split("=", 1) for a in argv if a.startswith("--") and "=" in a)
        run_dir = Path(opts["resume"]) if "resume" in opts else (
            Path(opts["out"]) / "run" if argv[0] in ("expert", "train") else Path(opts["out"]) / "fit-run")
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text("{}")
        if self.finish:
            rows = [{"seed": s, "evd_soft": 1.0 + s} for s in range(4)]
            (run_dir / "summary.json").write_text(json.dumps({"evaluation": rows, "seconds": 2.0}))
        print("a table")
        return 0


def test_a_trial_starts_resumes_and_is_never_rerun(tmp_path):
    (trial,) = plan_trials(parse_sweep(base(grid={"set.l2": [0.5]}), tmp_path))
    folder = tmp_path / "trials" / trial.id
    assert trial_state(folder, "fit").step == "start"
    interrupted = FakeIrlax(finish=False)
    with pytest.raises(IrlaxError, match="without a summary.json"):
        execute_trial(trial, folder, interrupted)
    assert interrupted.calls == [[*trial.argv, f"--out={folder}", "--quiet"]]
    state = trial_state(folder, "fit")
    assert state.step == "resume" and state.run_dir == folder / "fit-run"
    assert trial_argv(trial, folder, state) == ["fit", f"--resume={folder / 'fit-run'}", "--quiet"]
    fake = FakeIrlax()
    assert execute_trial(trial, folder, fake) == folder / "fit-run"
    assert fake.calls == [["fit", f"--resume={folder / 'fit-run'}", "--quiet"]]
    assert "$ irlax fit --resume=" in (folder / LOG_FILE).read_text() and not (folder / ERROR_FILE).exists()
    assert execute_trial(trial, folder, fake) == folder / "fit-run" and len(fake.calls) == 1  # done: not rerun
    outcome = collect_outcome(trial, folder, "evaluation.evd_soft")
    assert outcome.status == "done" and outcome.values == (1.0, 2.0, 3.0, 4.0)
    assert outcome.summary == seed_summary(np.array([1.0, 2.0, 3.0, 4.0]))


def test_a_trial_without_resume_starts_again_and_failures_are_recorded(tmp_path):
    (trial,) = plan_trials(parse_sweep(base(command="bc", args={"demos": "d.npz"}, grid={"epochs": [3]},
                                            metric="mean_return"), tmp_path))
    folder = tmp_path / trial.id
    (folder / "bc-old").mkdir(parents=True)
    (folder / "bc-old" / "config.json").write_text("{}")  # a bc run that was killed: bc has no --resume
    assert trial_state(folder, "bc").step == "start"
    with pytest.raises(IrlaxError, match="interrupted"):
        execute_trial(trial, folder, FakeIrlax(status=130))
    assert not (folder / ERROR_FILE).exists()  # interrupted, not failed
    failing = FakeIrlax(status=2)
    with pytest.raises(IrlaxError, match="boom"):
        execute_trial(trial, folder, failing)
    assert not (folder / "bc-old").exists()
    assert (folder / ERROR_FILE).read_text().strip() == "boom"
    outcome = collect_outcome(trial, folder, "mean_return")
    assert (outcome.status, outcome.error, outcome.summary) == ("failed", "boom", None)
    assert execute_trial(trial, folder, FakeIrlax()) == folder / "fit-run"
    outcome = collect_outcome(trial, folder, "mean_return")
    assert outcome.status == "done" and outcome.error and "no key 'mean_return'" in outcome.error
    assert collect_outcome(trial, tmp_path / "never", "x").status == "pending"
    (expert_trial,) = plan_trials(parse_sweep(base(command="expert", args={"env": "CartPole-v1"},
                                                   grid={"steps": [100]}, metric="seed_returns"), tmp_path))
    assert trial_argv(expert_trial, folder, trial_state(tmp_path / "x", "expert"))[-2] == f"--out={folder / 'run'}"


def test_metric_values_read_per_seed_rows_numbers_and_lists():
    summary = {"evaluation": [{"seed": 0, "evd": 1.5, "ret": None}, {"seed": 1, "evd": 0.5, "ret": 2.0}],
               "seed_returns": [3, 4, 5], "reward": {"epic": 0.25}}
    assert metric_values(summary, "evaluation.evd") == [1.5, 0.5]
    assert metric_values(summary, "seed_returns") == [3.0, 4.0, 5.0]
    assert metric_values(summary, "reward.epic") == [0.25]
    ret = metric_values(summary, "evaluation.ret")
    assert math.isnan(ret[0]) and ret[1] == 2.0
    assert metric_summary(ret) == seed_summary(np.array([2.0])) and metric_summary([math.nan]) is None
    for bad, message in [("evaluation.nll", "no key 'nll'"), ("reward.pearson", "no key 'pearson'"),
                         ("reward", "not a number"), ("seed_returns.x", "is not a table")]:
        with pytest.raises(IrlaxError, match=message):
            metric_values(summary, bad)


def test_the_report_ranks_configurations_by_their_iqm(tmp_path):
    spec = parse_sweep(base(grid={"set.l2": [0.0, 0.1, 0.2, 0.3]}), tmp_path)
    trials = plan_trials(spec)
    values = [(3.0, 4.0, 5.0, 6.0), (1.0, 2.0, 3.0, 10.0), (2.0, 3.0, 3.0, 4.0)]
    outcomes = [TrialOutcome(t, "done", f"/r/{t.id}", v, metric_summary(v)) for t, v in zip(trials, values,
                                                                                             strict=False)]
    outcomes.append(TrialOutcome(trials[3], "failed", error="boom"))
    assert best_outcome(outcomes, "min").trial == trials[1]  # IQM 2.5 (mean 4): the outlier is trimmed
    assert best_outcome(outcomes, "max").trial == trials[0]
    columns, rows = sweep_table(spec, outcomes)
    assert columns == ["trial", "set.l2", "mean", "IQM [95% CI]", "best"]
    assert rows[1][:3] == [trials[1].id, "0.1", "4"] and rows[1][-1] == "*"
    assert rows[3][3] == "failed"
    write_sweep_report(tmp_path, spec, outcomes)
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert report["best"] == trials[1].id and (report["done"], report["failed"]) == (3, 1)
    assert report["trials"][1]["summary"]["iqm"] == pytest.approx(2.5)
    assert report["trials"][3]["error"] == "boom" and (tmp_path / "sweep.png").stat().st_size > 0
    assert report["trials"][0]["run_dir"] == f"/r/{trials[0].id}"  # outside the sweep folder: as it was


# ---------------------------------------------------------------------------------------------------------------
# end to end on a local Ray


def test_a_two_by_two_sweep_runs_on_ray_and_resumes_without_rerunning(cli_world, tmp_path, monkeypatch, capsys):
    """Four ``fit mce`` trials of two seeds on a local Ray of 2 CPUs; the same command again reruns nothing."""
    world, demos = cli_world(8, 3, 16, 6)
    path = sweep_file(tmp_path, GRID.replace("world.npz", str(world)).replace("demos.npz", str(demos)))
    out = tmp_path / "sweep"
    # The trials share a compilation cache of their own (Ray's workers inherit the environment): the trials after the
    # first two skip most of their compiling. This process compiles nothing, and its cache is turned off again.
    monkeypatch.setenv("IRLAX_COMPILE_CACHE", "1")
    monkeypatch.setenv("IRLAX_CACHE_DIR", str(tmp_path / "jax-cache"))
    try:
        assert main(["sweep", str(path), "--out", str(out), "--cpus", "2"]) == 0
        first = capsys.readouterr().out
        trials = plan_trials(load_sweep(path))
        summaries = {}
        for trial in trials:
            (run_dir,) = [p for p in trial_dir(out, trial).iterdir() if p.is_dir()]
            assert (run_dir / "summary.json").is_file()
            summaries[trial.id] = run_dir / "summary.json"
        report = json.loads((out / "sweep.json").read_text())
        assert (report["done"], report["failed"], report["pending"]) == (4, 0, 0)
        assert [t["id"] for t in report["trials"]] == [t.id for t in trials]
        for entry in report["trials"]:
            assert out / entry["run_dir"] == summaries[entry["id"]].parent
            rows = json.loads(summaries[entry["id"]].read_text())["evaluation"]
            values = [row["evd_soft"] for row in rows]
            assert entry["values"] == values and len(values) == 2
            assert entry["summary"]["iqm"] == pytest.approx(seed_summary(np.array(values)).iqm)
            tune_result = out / "tune" / "run-1" / entry["id"] / "result.json"
            assert json.loads(tune_result.read_text().splitlines()[-1])["iqm"] == pytest.approx(entry["summary"]["iqm"])
        best = min(report["trials"], key=lambda t: t["summary"]["iqm"])
        assert report["best"] == best["id"] and f"best: trial {best['id']}" in first
        assert "4 to run on a local Ray (2 CPUs)" in first and (out / "sweep.png").is_file()
        mtimes = {k: p.stat().st_mtime_ns for k, p in summaries.items()}
        assert main(["sweep", str(path), "--out", str(out), "--cpus", "2"]) == 0
        assert "all 4 trials done" in capsys.readouterr().out
        assert {k: p.stat().st_mtime_ns for k, p in summaries.items()} == mtimes
        assert not (out / "tune" / "run-2").exists()
    finally:
        disable_compile_cache()
        use_test_compile_cache()
