"""The MuJoCo benchmark script's bookkeeping (benchmarks/mujoco_irl.py): finished cells are skipped, interrupted
ones resumed, and a cell's record holds the fields other tools read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def bench(tmp_path, monkeypatch, benchmark_script):
    """The script's module with its run folder, cache and report under ``tmp_path``."""
    module = benchmark_script("mujoco_irl")
    monkeypatch.setattr(module, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(module, "KEPT", tmp_path / "kept")
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / f"demos-Hopper-v5-mujoco-{module.DEMO_EPISODES}.npz").write_bytes(b"")
    # a test that reached for an expert would train one for hours (a fresh checkout has none)
    monkeypatch.setattr(module.mujoco_experts, "run_cell", lambda *args: pytest.fail("a test trained an expert"))
    return module


def summary(scores, reopt=None, seconds=30.0):
    extra = lambda i: {} if reopt is None else {"reoptimized_normalized_return": reopt[i]}
    rows = [{"seed": i, "normalized_return": s, **extra(i)} for i, s in enumerate(scores)]
    return {"evaluation": rows, "seeds": len(scores), "env_steps": 1000.0, "seconds": seconds, "learner": "ppo",
            "expert_return": 2000.0, "random_return": 10.0, "reoptimization": {"steps": 500} if reopt else None}


def test_finished_cells_are_skipped_and_interrupted_ones_resumed(bench, monkeypatch, tmp_path):
    # the cells run through the command that drops each one's compiled programs (tests/test_irlax_runs_benchmark.py)
    assert (bench.irlax_main.__module__, bench.irlax_main.__name__) == ("irlax_runs", "irlax_main")
    calls = []
    # no expert is trained or recorded here: every task's demonstrations are a path
    monkeypatch.setattr(bench, "ensure_demos", lambda task: tmp_path / f"demos-{task}.npz")
    monkeypatch.setattr(bench, "irlax_main", lambda argv: calls.append(argv) or 0)
    done = bench.cell_dir("Hopper-v5", "gail", 10)
    done.mkdir(parents=True)
    (done / "summary.json").write_text(json.dumps(summary([0.9, 1.0, 0.8])))
    assert bench.run_cell("Hopper-v5", "gail", 10)["seeds"] == 3
    assert calls == []  # a finished cell runs nothing
    half = bench.cell_dir("Hopper-v5", "airl", 10)
    half.mkdir(parents=True)
    (half / "checkpoint.npz").write_bytes(b"")

    def resume(argv):
        calls.append(argv)
        (half / "summary.json").write_text(json.dumps(summary([0.5, 0.6, 0.7])))
        return 0

    monkeypatch.setattr(bench, "irlax_main", resume)
    assert bench.run_cell("Hopper-v5", "airl", 10)["seeds"] == 3
    assert calls == [["train", "--resume", str(half), "--quiet"]]
    early = bench.cell_dir("Hopper-v5", "sqil", 10)  # stopped before its first checkpoint: started again
    early.mkdir(parents=True)
    (early / "config.json").write_text("{}")

    def fresh(argv):
        calls.append(argv)
        out = Path(argv[argv.index("--out") + 1])
        assert not out.exists()  # irlax train refuses a folder that is not empty
        out.mkdir(parents=True)
        (out / "summary.json").write_text(json.dumps(summary([0.5, 0.6, 0.7])))
        return 0

    monkeypatch.setattr(bench, "irlax_main", fresh)
    assert bench.run_cell("Hopper-v5", "sqil", 10)["seeds"] == 3
    assert calls[-1][:2] == ["train", "sqil"]
    # a new cell starts with the method's command line: AIRL with a state-action reward, PPO inside
    argv = bench.cell_argv("Hopper-v5", "airl-sa", 10, 3)
    assert argv[:2] == ["train", "airl"] and "state_only=false" in argv and argv[argv.index("--learner") + 1] == "ppo"
    rounds, reopt = int(argv[argv.index("--rounds") + 1]), argv[argv.index("--reoptimize-steps") + 1]
    assert f"lr_anneal_steps={rounds * 2048}" in argv and reopt == str(rounds * 2048)  # annealed over its own steps
    assert not any(a.startswith("buffer_size") for a in argv)  # AIRL's discriminator: the last rounds' samples
    gail = bench.cell_argv("Hopper-v5", "gail", 10, 3)
    assert "buffer_size=2048" in gail  # GAIL's: the last two rounds' too, not its control preset's whole run
    sac = bench.cell_argv("HalfCheetah-v5", "gail", 10, 3)
    assert sac[sac.index("--learner") + 1] == "sac" and not any("lr_anneal" in a for a in sac)
    rounds, reopt = int(sac[sac.index("--rounds") + 1]), int(sac[sac.index("--reoptimize-steps") + 1])
    buffer = [a for a in sac if a.startswith("buffer_size=")]
    assert buffer == [f"buffer_size={max(rounds * 100, reopt)}"]  # every SAC step of the run, and no more
    sqil = bench.cell_argv("Swimmer-v5", "sqil", 10, 3)
    assert f"buffer_size={int(sqil[sqil.index('--rounds') + 1]) * 100}" in sqil
    bc = bench.cell_argv("Hopper-v5", "bc", 1, 3)
    assert bc[:1] == ["bc"] and "hidden=256,256,256" in bc and bc[bc.index("--epochs") + 1] == "2000"
    # BC takes as many Adam steps with fewer demonstrations: 10 times the epochs with one, 2.5 with four
    epochs = {n: (a := bench.cell_argv("Hopper-v5", "bc", n, 3))[a.index("--epochs") + 1] for n in (4, 10)}
    assert epochs == {4: "500", 10: "200"}
    assert "--epochs 2000" in bench.cell_setup("Hopper-v5", "bc", 1) and "--epochs 200 " in bench.cell_setup(
        "Hopper-v5", "bc")
    assert bench.cell_setup("Hopper-v5", "dagger", 1) == bench.cell_setup("Hopper-v5", "dagger", 10)
    # IQ-Learn's cells record the preset they ran with (the defaults' cells, made before its MuJoCo presets, differ)
    assert "value_term=initial" in bench.cell_setup("Hopper-v5", "iq-learn")
    assert "value_term" not in bench.cell_setup("HalfCheetah-v5", "iq-learn")
    assert "alpha=0.001" in bench.cell_setup("Ant-v5", "iq-learn")
    assert "batch_size=256" in bc  # BC's minibatches (DAgger's clone keeps its 64)
    assert not any(a.startswith("batch_size") for a in bench.cell_argv("Hopper-v5", "dagger", 10, 3))
    dagger = bench.cell_argv("Hopper-v5", "dagger", 10, 3)
    assert dagger[:2] == ["train", "dagger"] and "buffer_size=20480" in dagger and "--expert" in dagger


def test_cell_record_has_the_issue_fields_and_the_hand_computed_interval(bench):
    record = bench.cell_record("Hopper-v5", "gail", 10, summary([0.0, 1.0], reopt=[1.0, 1.0], seconds=40.0))
    assert {"task", "method", "seeds", "env_steps", "normalised_mean", "ci_low", "ci_high",
            "seconds_per_run"} <= set(record)
    assert (record["normalised_mean"], record["ci_low"], record["ci_high"]) == (0.5, 0.0, 1.0)
    assert record["seconds_per_run"] == 20.0 and record["reoptimised_mean"] == 1.0
    assert record["cpu"] == bench.cpu_model() and record["cpu"]  # the machine that made the cell
    records = [bench.cell_record(t, "bc", 10, summary([1.0, 1.0])) for t in bench.TASKS]
    agg = bench.method_summary(records)["bc"]
    assert agg["mean"] == 1.0 and agg["iqm"] == 1.0 and agg["tasks"] == sorted(bench.TASKS)
    assert bench.method_summary(records[:2])["bc"]["mean"] is None  # no aggregate before all five tasks
    assert np.isfinite(agg["mean_ci"]).all()


def test_demo_falls_counts_the_episodes_that_end_terminated(bench, tmp_path):
    from irlax.data.demos import make_demonstrations, save_demonstrations

    n, t = 3, 5
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
    terminated = np.zeros((n, t), bool)
    terminated[1, 1] = terminated[2, 3] = True  # two episodes fall; the first is cut by the time limit
    path = tmp_path / "falls.npz"
    save_demonstrations(path, make_demonstrations(
        {"obs": np.zeros((n, t, 3), np.float32), "actions": np.zeros((n, t, 1), np.float32),
         "next_obs": np.zeros((n, t, 3), np.float32), "rewards": np.zeros((n, t), np.float32),
         "terminated": terminated, "truncated": np.zeros((n, t), bool), "log_probs": np.zeros((n, t), np.float32),
         "mask": mask}, env_name="Pendulum-v1", obs_size=3, discrete=False, action_size=1))
    assert bench.demo_falls(path) == (2, 3, 2, 5)


def test_earlier_cells_are_carried_over_only_while_made_the_same_way(bench, tmp_path):
    current = {"task": "Walker2d-v5", "method": "bc", "demos": 10, "setup": bench.cell_setup("Walker2d-v5", "bc")}
    stale = {"task": "Ant-v5", "method": "bc", "demos": 10, "setup": "expert ppo stochastic; --epochs 100"}
    unmarked = {"task": "Swimmer-v5", "method": "gail", "demos": 10}  # from before setups were recorded
    out = tmp_path / "mujoco_irl.json"
    out.write_text(json.dumps({"cells": [current, stale, unmarked]}))
    assert bench.collect(out) == [current]
    assert bench.cell_setup("Hopper-v5", "airl").endswith("inner ppo annealed; policy reward softplus")
    assert bench.cell_setup("Hopper-v5", "gail").endswith("inner ppo annealed")
    assert bench.cell_setup("HalfCheetah-v5", "airl").endswith("inner sac; policy reward shaped")
    assert bench.cell_setup("Walker2d-v5", "airl").endswith("inner ppo annealed; policy reward logit")


def test_a_cell_records_how_it_was_made_and_one_made_otherwise_is_left_out(bench, monkeypatch, tmp_path):
    def fresh(argv):
        run_dir = Path(argv[argv.index("--out") + 1])
        run_dir.mkdir(parents=True)
        (run_dir / "summary.json").write_text(json.dumps(summary([0.9, 1.0, 0.8])))
        return 0

    monkeypatch.setattr(bench, "irlax_main", fresh)
    monkeypatch.setattr(bench, "ensure_demos", lambda task: tmp_path / "demos.npz")
    bench.run_cell("Hopper-v5", "gail", 10)
    assert bench.recorded_setup("Hopper-v5", "gail", 10) == bench.cell_setup("Hopper-v5", "gail")
    old = bench.cell_dir("Hopper-v5", "airl", 10)  # finished before the inner PPO was annealed
    old.mkdir(parents=True)
    (old / "summary.json").write_text(json.dumps(summary([0.4, 0.5, 0.4])))
    bench.setup_file("Hopper-v5", "airl", 10).write_text("expert ppo-2m deterministic; inner ppo\n")
    records = bench.collect(tmp_path / "none.json")
    assert [(r["method"], r["setup"]) for r in records] == [("gail", bench.cell_setup("Hopper-v5", "gail"))]


def test_a_missing_expert_is_trained_then_kept_with_its_demonstrations(bench, monkeypatch, tmp_path):
    run = tmp_path / "expert-run"

    def train(task, learner, seed, steps):  # stands for mujoco_experts' training: writes the expert's files
        run.mkdir()
        for name in (*bench.EXPERT_FILES, "checkpoint.npz"):
            (run / name).write_text(name)
        return 0

    recorded = []
    monkeypatch.setattr(bench.mujoco_experts, "run_cell", train)
    monkeypatch.setattr(bench, "expert_dir", lambda task: run)
    monkeypatch.setattr(bench, "irlax_main", lambda argv: recorded.append(argv) or 0)
    path = bench.ensure_demos("Walker2d-v5")
    kept = bench.KEPT / "Walker2d-v5-ppo-2m"
    assert path == bench.KEPT / f"demos-Walker2d-v5-mujoco-{bench.DEMO_EPISODES}.npz"
    # the expert's policy is kept beside its demonstrations, its training state (checkpoint) is not
    assert sorted(p.name for p in kept.iterdir()) == sorted(bench.EXPERT_FILES)
    assert recorded == [["demos", "--expert", str(kept), "--episodes", str(bench.DEMO_EPISODES), "--out", str(path),
                         "--deterministic"]]


def test_a_goal_whose_floor_a_finished_task_misses_is_reported_missed_before_the_mean(bench):
    """The five-task goals: with tasks pending, "not measured yet" unless a finished task is already below the
    floor, which no later cell can undo."""
    row = lambda task, method, score, demos=10: {"task": task, "method": method, "demos": demos,
                                                 "normalised_mean": score}
    records = [row("Hopper-v5", "gail", 0.901), row("Hopper-v5", "airl", 1.008), row("Walker2d-v5", "airl", 0.111),
               row("Hopper-v5", "dagger", 0.95, demos=1)]
    lines = bench.goal_lines(records, {})
    gail, airl = (next(line for line in lines if line.startswith(f"- {m}:")) for m in ("gail", "airl"))
    assert "not measured yet (1 of 5 tasks done: Hopper-v5 0.901)" in gail
    assert "missed already (Walker2d-v5 below 0.85" in airl and "2 of 5 tasks done" in airl


def test_the_compute_line_counts_cells_and_hours(bench):
    total = len(bench.cells())
    cheap = [{"seconds": 3600.0}, {"seconds": 1800.0}]
    line = bench.compute_line(cheap)
    assert f"2 of {total} cells finished" in line and "1.5 h" in line and line.endswith("not measured yet.")
    assert bench.compute_line([{"seconds": 60.0}] * total).endswith(": met.")
    assert bench.compute_line([{"seconds": 3600.0 * bench.FEW_HOURS + 1}]).endswith("missed already.")


def test_unfinished_cells_report_their_progress(bench):
    running = bench.cell_dir("Hopper-v5", "gail", 10)
    running.mkdir(parents=True)
    (running / "config.json").write_text(json.dumps({"rounds": 326}))
    returns = np.full((2, 12), np.nan)
    returns[0, -2:] = [100.0, 300.0]
    returns[1, -1] = 500.0  # the mean over seeds per round (100, then 400), then over the rounds with episodes
    np.savez(running / "checkpoint.npz", done=np.int64(12), seconds=np.float64(7200.0),
             metric_env_steps=np.tile(np.arange(1.0, 13.0) * 1000, (2, 1)), metric_mean_return=returns)
    finished = bench.cell_dir("Hopper-v5", "airl", 10)  # finished cells and ones without a checkpoint: left out
    finished.mkdir(parents=True)
    (finished / "summary.json").write_text("{}")
    (finished / "checkpoint.npz").write_bytes(b"")
    bench.cell_dir("Hopper-v5", "gcl", 10).mkdir(parents=True)
    (rows,) = bench.in_progress()
    assert rows == {"task": "Hopper-v5", "method": "gail", "demos": 10, "rounds_done": 12, "rounds": 326,
                    "env_steps": 12000.0, "seconds": 7200.0, "recent_training_return": 250.0,
                    "training_done": False, "reoptimization": None}
    trained = {**rows, "rounds_done": 326, "training_done": True, "recent_training_return": None}
    lines = bench.progress_lines([rows, trained])
    assert "| Hopper-v5 | gail | 10 | 12 of 326 | 12,000 | 250 | 2.0 h |" in lines
    assert "| Hopper-v5 | gail | 10 | 326 of 326 (re-optimising or evaluating) | 12,000 | n/a | 2.0 h |" in lines
    assert bench.progress_lines([]) == []
    # the re-optimisation's checkpoint: 30 of its 40 iterations of 100,000 steps, or (an older one) no count in all
    np.savez(running / "reoptimize.npz", leaf_0=np.zeros(3), done=np.int64(30), iterations=np.int64(40),
             steps=np.int64(100_000), tag=np.int64(326), seconds=np.float64(1800.0))
    assert bench.reoptimization_progress(running) == {"steps": 100_000.0, "steps_done": 75_000.0, "seconds": 1800.0}
    (rows,) = bench.in_progress()
    assert rows["reoptimization"] == {"steps": 100_000.0, "steps_done": 75_000.0, "seconds": 1800.0}
    assert ("| Hopper-v5 | gail | 10 | 326 of 326 (re-optimising: 75,000 of 100,000 steps, 0.5 h) | 12,000 | n/a | "
            "2.0 h |") in bench.progress_lines([{**trained, "reoptimization": rows["reoptimization"]}])
    np.savez(running / "reoptimize.npz", leaf_0=np.zeros(3), done=np.int64(30), steps=np.int64(100_000),
             tag=np.int64(326), seconds=np.float64(1800.0))
    older = bench.reoptimization_progress(running)
    assert older == {"steps": 100_000.0, "steps_done": None, "seconds": 1800.0}
    assert "| Hopper-v5 | gail | 10 | 326 of 326 (re-optimising: 100,000 steps, 0.5 h) | 12,000 | n/a | 2.0 h |" \
        in bench.progress_lines([{**trained, "reoptimization": older}])
    whole = (running / "reoptimize.npz").read_bytes()
    for broken in (b"not a checkpoint", whole[: len(whole) // 2]):  # unreadable: no progress, no error
        (running / "reoptimize.npz").write_bytes(broken)
        assert bench.reoptimization_progress(running) is None


def test_the_running_cell_of_a_command_line_is_the_first_it_has_still_to_make(bench):
    runs = lambda *argv: bench.running_cell(list(argv), {})
    assert runs("--tasks", "Hopper-v5", "--methods", "gail", "airl", "--demos", "1", "4") == ("Hopper-v5", "gail", 1)
    done = bench.cell_dir("Hopper-v5", "gail", 1)
    done.mkdir(parents=True)
    (done / "summary.json").write_text(json.dumps(summary([0.9])))
    assert runs("--tasks", "Hopper-v5", "--methods", "gail", "airl", "--demos", "1", "4") == ("Hopper-v5", "gail", 4)
    assert runs("--tasks", "Hopper-v5", "--methods", "gail", "--demos", "1") is None  # nothing left
    assert runs("--report") is None and runs("--carry") is None and runs("--stop") is None
    # a cell of the last report whose run is on another machine is not made again
    earlier = {("Hopper-v5", "gail", 4): {}}
    argv = ["--tasks", "Hopper-v5", "--methods", "gail", "airl", "--demos", "1", "4"]
    assert bench.running_cell(argv, earlier) == ("Hopper-v5", "airl", 1)


def test_stop_waits_for_the_cells_next_checkpoint(bench, monkeypatch, tmp_path):
    """``--stop`` sends SIGTERM to a process of the script just after its cell's checkpoint changes, not before."""
    import signal
    import subprocess
    import sys
    import threading
    import time

    monkeypatch.setattr(bench, "OUT", tmp_path / "none.json")
    script = tmp_path / "mujoco_irl.py"  # stands for the script: a process that waits to be stopped
    script.write_text("import time\ntime.sleep(120)\n")
    child = subprocess.Popen([sys.executable, str(script), "--tasks", "Swimmer-v5", "--methods", "sqil"])
    try:
        run_dir = bench.cell_dir("Swimmer-v5", "sqil", 10)
        run_dir.mkdir(parents=True)
        (run_dir / "checkpoint.npz").write_bytes(b"1")
        deadline = time.monotonic() + 30
        while child.pid not in (found := bench.script_processes()):  # its command line is readable once started
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert found[child.pid] == ["--tasks", "Swimmer-v5", "--methods", "sqil"]
        # only this process: others of the script on this machine are not the test's to stop
        lines = []
        stopper = threading.Thread(target=lambda: lines.extend(bench.stop_at_checkpoints(
            {child.pid: found[child.pid]}, poll=0.05)), daemon=True)
        stopper.start()
        time.sleep(1.0)
        assert child.poll() is None, "stopped before the cell's next checkpoint"
        stamp = (run_dir / "checkpoint.npz").stat().st_mtime + 5
        os.utime(run_dir / "checkpoint.npz", (stamp, stamp))  # the next checkpoint
        stopper.join(timeout=30)
        assert not stopper.is_alive()
        assert child.wait(timeout=30) == -signal.SIGTERM
        assert lines == [f"Swimmer-v5 sqil 10 demos (process {child.pid}): stopped after its checkpoint"]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
