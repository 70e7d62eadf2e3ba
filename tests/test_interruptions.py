"""``kill -9`` in the middle of a run: only whole files are left, and ``--resume`` ends where an uninterrupted
run does (Ctrl-C and full disks: tests/test_bad_outputs.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import irlax
from irlax.cli.main import main

# runs ``irlax ARGV`` in a process that stops for good in the middle of writing its second checkpoint: the
# checkpoint's temporary file is written, not yet renamed; MARKER tells the test to kill it there
HANG = r"""
import os, sys, time
from pathlib import Path
marker, argv, real, seen = Path(sys.argv[1]), sys.argv[2:], os.replace, []

def replace(src, dst, *args, **kwargs):
    if str(dst).endswith("checkpoint.npz"):
        seen.append(dst)
        if len(seen) == 2:  # the marker appears whole (the test kills this process as soon as it exists)
            part = marker.with_name(marker.name + ".part")
            part.write_text(str(src))
            real(part, marker)
            time.sleep(600)
    return real(src, dst, *args, **kwargs)

os.replace = replace
from irlax.cli.main import main
sys.exit(main(argv))
"""


def signal_mid_checkpoint(cli_world, tmp_path: Path, signum: int) -> tuple[int, str, Path, Path]:
    """Run ``irlax fit mce`` (4 iterations, a checkpoint after each) in a child process, send it ``signum`` while
    it writes its second checkpoint; ``(exit status, stderr, run directory, the temporary file it was writing)``."""
    world, demos = cli_world(4, 0, 4, 4)
    marker = tmp_path / "writing"
    out = tmp_path / "runs"
    argv = ["fit", "mce", "--iterations", "4", "--quiet", "--world", str(world), "--demos", str(demos),
            "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(Path(irlax.__file__).parents[1]), "IRLAX_NO_PROGRESS": "1"}
    child = subprocess.Popen([sys.executable, "-c", HANG, str(marker), *argv], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the run never reached its second checkpoint"
            time.sleep(0.05)
        child.send_signal(signum)
        status = child.wait(timeout=120)
        err = child.stderr.read().decode()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    (run_dir,) = out.iterdir()
    return status, err, run_dir, Path(marker.read_text())


def test_kill_9_mid_write_leaves_whole_files_and_resume_ends_where_an_uninterrupted_run_does(cli_world, tmp_path):
    _, _, run_dir, stray = signal_mid_checkpoint(cli_world, tmp_path, signal.SIGKILL)
    world, demos = cli_world(4, 0, 4, 4)  # the files the run read (made once a session)
    assert stray.parent == run_dir and stray.exists(), "the killed writer's temporary file is still there"
    # only whole files: the config and the first checkpoint read back
    assert json.loads((run_dir / "config.json").read_text())["algorithm"] == "mce"
    with np.load(run_dir / "checkpoint.npz") as checkpoint:
        assert int(checkpoint["done"]) == 1

    assert main(["fit", "--resume", str(run_dir), "--quiet"]) == 0
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")], "no temporary files after the resume"
    # what an uninterrupted run computes, in the same chunks
    import jax

    from irlax.algorithms.base import TabularData
    from irlax.algorithms.registry import make_algorithm, make_config
    from irlax.data.trajectories import load_trajectories
    from irlax.envs.world_file import load_world
    from irlax.run.driver import Driver

    _, mdp, _ = load_world(world)
    driver = Driver(make_algorithm("mce", make_config("mce", {"iterations": "4"})),
                    TabularData(mdp, load_trajectories(demos)), 1)
    whole = driver.run(driver.start(jax.random.PRNGKey(0)), 4, every=1)
    np.testing.assert_array_equal(np.load(run_dir / "reward.npy"), np.asarray(driver.result(whole).reward))
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == [0, 1, 2, 3]
    np.testing.assert_array_equal([row["log_likelihood"] for row in rows],
                                  np.asarray(whole.metrics["log_likelihood"])[0])


def test_sigterm_ends_a_run_as_ctrl_c_does_and_it_resumes(cli_world, tmp_path):
    """``kill`` (SIGTERM, what ``timeout`` and batch schedulers send) while the second checkpoint is being written:
    the run says how to resume it, exit status 130, leaves no temporary file, and resumes to the end."""
    status, err, run_dir, stray = signal_mid_checkpoint(cli_world, tmp_path, signal.SIGTERM)
    assert (status, err) == (130, f"irlax: interrupted; resume with: irlax fit --resume {run_dir}\n")
    assert not stray.exists(), "the interrupted writer's temporary file is left"
    with np.load(run_dir / "checkpoint.npz") as checkpoint:
        assert int(checkpoint["done"]) == 1
    assert main(["fit", "--resume", str(run_dir), "--quiet"]) == 0
    rows = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in rows] == [0, 1, 2, 3]


def test_sigterm_interrupts_only_while_a_command_runs(tmp_path, capsys):
    """``main`` sets its SIGTERM handler for the command only: a library caller's own handler is back after it."""
    from irlax.cli.main import interrupt, sigterm_interrupts

    before = signal.getsignal(signal.SIGTERM)
    with sigterm_interrupts():
        assert signal.getsignal(signal.SIGTERM) is interrupt
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs in the main thread at the next bytecode
    assert signal.getsignal(signal.SIGTERM) is before
    assert main(["fit", "mce", "--world", str(tmp_path / "none.json"), "--demos", str(tmp_path / "none.npz")]) == 2
    assert signal.getsignal(signal.SIGTERM) is before
    capsys.readouterr()


def test_an_interrupted_reoptimisation_resumes_where_it_stopped(tmp_path):
    """``assess.reoptimize`` checkpoints its learners after each piece: stopped after two pieces and called again,
    it ends with the states of a run never stopped; a checkpoint of other rewards (another tag) is not resumed."""
    from dataclasses import replace

    import jax
    from conftest import random_demos

    from irlax.algorithms.registry import make_algorithm, preset
    from irlax.learners.ppo import PPOConfig
    from irlax.run import assess
    from irlax.tasks import make_env

    env = make_env("CartPole-v1")
    demos = random_demos(env, 2)
    learner = PPOConfig(num_envs=2, num_steps=8, minibatch_size=16, num_epochs=1, hidden=(8, 8))
    algo = make_algorithm("gail", replace(preset("gail", env.name), learner_config=learner), env)
    states = jax.vmap(lambda k: algo.init(k, demos))(jax.random.split(jax.random.PRNGKey(0), 2))
    reward_params = jax.vmap(algo.reward, in_axes=(0, None))(states, demos)
    key, steps = jax.random.PRNGKey(1), 16 * 40  # 40 iterations: pieces of 2
    _, whole = assess.reoptimize(algo, reward_params, key, steps)

    class Stop(Exception):
        pass

    def stop_after_two(done: int, total: int, seconds: float) -> None:
        if done == 4:
            raise Stop

    checkpoint = tmp_path / "reoptimize.npz"
    with pytest.raises(Stop):
        assess.reoptimize(algo, reward_params, key, steps, checkpoint=checkpoint, tag=7, on_chunk=stop_after_two)
    with np.load(checkpoint) as saved:
        assert int(saved["done"]) == 4 and int(saved["iterations"]) == 40 and int(saved["tag"]) == 7
    seen = []
    _, resumed = assess.reoptimize(algo, reward_params, key, steps, checkpoint=checkpoint, tag=7,
                                   on_chunk=lambda done, total, seconds: seen.append(done))
    assert seen[0] == 6 and seen[-1] == 40  # the first two pieces were not run again
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    seen.clear()
    assess.reoptimize(algo, reward_params, key, steps, checkpoint=checkpoint, tag=8,
                      on_chunk=lambda done, total, seconds: seen.append(done))
    assert seen[0] == 2  # another tag: started afresh


def test_reoptimisation_pieces():
    """Host-stepped re-optimisations checkpoint every twentieth of the way whatever the count (326 iterations: 17 a
    piece, not two pieces of 163); pure-JAX ones in the most equal pieces up to 20 (one compiled program)."""
    from irlax.run.assess import REOPTIMIZE_CHUNKS, reoptimize_piece

    assert REOPTIMIZE_CHUNKS == 20
    assert reoptimize_piece(326, equal=False) == 17 and -(-326 // 17) == 20
    assert reoptimize_piece(326, equal=True) == 163
    assert reoptimize_piece(40, equal=True) == 2 and reoptimize_piece(40, equal=False) == 2
    assert reoptimize_piece(331, equal=True) == 331  # a prime: one piece
    assert reoptimize_piece(3, equal=False) == 1 and reoptimize_piece(1, equal=True) == 1
