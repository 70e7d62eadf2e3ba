"""Outputs that can't or must not be written, failed and interrupted runs: one-line errors, nothing half-made.

Every command that writes is tried with every kind of bad output location (a file where a directory is
expected, a directory where a file is, a path under a file, a read-only directory, a full disk): each ends
with exit status 2, one line ``irlax: error: ...`` naming the path, no traceback, and nothing left behind.
Read-only directories and full disks are simulated where the test can't make them (as root, permissions
don't stop writes).
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from irlax.atomic import atomic_write_text, check_output_file, sweep_temp_files
from irlax.cli.main import main
from irlax.errors import IrlaxWriteError

FIT = ["fit", "mce", "--iterations", "4", "--quiet"]  # 4 chunks of 1 iteration, a checkpoint after each


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch):
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")


@pytest.fixture(scope="module")
def inputs(cli_world, tmp_path_factory) -> dict[str, Path]:
    """Valid inputs of every command: a world and its demonstrations, control-task demonstrations, and an expert
    directory's files (placeholders: every output is checked before the expert is read)."""
    world, demos = cli_world(4, 0, 4, 4)
    folder = tmp_path_factory.mktemp("inputs")
    from irlax.data.demos import make_demonstrations, save_demonstrations

    n, t = 2, 4
    flags = np.zeros((n, t), bool)
    save_demonstrations(folder / "pendulum.npz", make_demonstrations(
        {"obs": np.zeros((n, t, 3), np.float32), "actions": np.zeros((n, t, 1), np.float32),
         "next_obs": np.zeros((n, t, 3), np.float32), "rewards": np.zeros((n, t), np.float32),
         "terminated": flags, "truncated": flags, "log_probs": np.zeros((n, t), np.float32), "mask": ~flags},
        env_name="Pendulum-v1", obs_size=3, discrete=False, action_size=1))
    expert = folder / "expert"
    expert.mkdir()
    (expert / "expert.json").write_text("{}")
    (expert / "policy.npz").write_bytes(b"")
    return {"world": world, "demos": demos, "control_demos": folder / "pendulum.npz", "expert": expert}


def command(name: str, inputs: dict[str, Path], out: Path) -> list[str]:
    """The cheapest valid command line of ``name`` writing to ``out``."""
    world, demos = str(inputs["world"]), str(inputs["demos"])
    return {
        "world": ["world", "objectworld", "--size", "4", "--out", str(out)],
        "sample": ["sample", "--world", world, "--trajectories", "2", "--length", "2", "--out", str(out)],
        "demos": ["demos", "--expert", str(inputs["expert"]), "--episodes", "1", "--out", str(out)],
        "fit": [*FIT, "--world", world, "--demos", demos, "--out", str(out)],
        "expert": ["expert", "--env", "CartPole-v1", "--steps", "2048", "--quiet", "--out", str(out)],
        "bc": ["bc", "--demos", str(inputs["control_demos"]), "--epochs", "1", "--quiet", "--out", str(out)],
        "train": ["train", "gail", "--demos", str(inputs["control_demos"]), "--rounds", "1", "--quiet", "--out",
                  str(out)],
        "demo": ["demo", "--size", "4", "--trajectories", "2", "--iterations", "1", "--quiet", "--out", str(out)],
    }[name]


FILE_OUTPUTS = ("world", "sample", "demos")
RUN_OUTPUTS = ("fit", "expert", "bc", "train", "demo")


def refuse_under(folder: Path, monkeypatch, code: int, *names: str) -> None:
    """Make the ``os`` functions ``names`` fail with ``code`` for paths under ``folder``."""
    for name in names:
        real = getattr(os, name)

        def refusing(path, *args, _real=real, _name=name, **kwargs):  # noqa: ANN001, ANN202
            target = args[0] if _name == "replace" else path
            if str(target).startswith(str(folder)):
                raise OSError(code, os.strerror(code), str(target))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, refusing)


def make_readonly(folder: Path, monkeypatch) -> None:
    """``folder``, read-only: by its permissions, and as root (whom they don't stop) by ``os`` refusing."""
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        refuse_under(folder, monkeypatch, errno.EACCES, "open", "mkdir")


def make_full(folder: Path, monkeypatch) -> None:
    """``folder`` on a full disk: no space reported, and a write that gets as far as its rename fails."""
    folder.mkdir()
    real = os.statvfs

    def statvfs(path):  # noqa: ANN001, ANN202
        stats = real(path)
        if str(path).startswith(str(folder)):
            return os.statvfs_result((*stats[:4], 0, *stats[5:]))  # f_bavail = 0
        return stats

    monkeypatch.setattr(os, "statvfs", statvfs)
    refuse_under(folder, monkeypatch, errno.ENOSPC, "replace")


def bad_output(kind: str, cmd: str, tmp_path: Path, monkeypatch) -> Path:
    """An output path of ``kind`` for ``cmd`` (a file or a run directory) under ``tmp_path``."""
    wants_file = cmd in FILE_OUTPUTS
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "a-dir" / "keep").write_text("x")
    name = "out.npz" if wants_file else "out"
    if kind == "existing-other-kind":
        return tmp_path / ("a-dir" if wants_file else "a-file")
    if kind == "under-a-file":
        return tmp_path / "a-file" / name
    if kind == "read-only":
        make_readonly(tmp_path / "ro", monkeypatch)
        return tmp_path / "ro" / name
    if kind == "full-disk":
        make_full(tmp_path / "full", monkeypatch)
        return tmp_path / "full" / name
    raise AssertionError(kind)


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its contents (``None`` for directories)."""
    return {str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("kind", ["existing-other-kind", "under-a-file", "read-only", "full-disk"])
@pytest.mark.parametrize("cmd", FILE_OUTPUTS + RUN_OUTPUTS)
def test_a_bad_output_location_fails_in_one_line_and_leaves_nothing(cmd, kind, inputs, tmp_path, monkeypatch,
                                                                    capsys):
    out = bad_output(kind, cmd, tmp_path, monkeypatch)
    before = tree(tmp_path)
    assert main(command(cmd, inputs, out)) == 2
    err = capsys.readouterr().err
    assert err.startswith("irlax: error:") and err.count("\n") == 1 and "Traceback" not in err, err
    shown = out.parent if kind == "under-a-file" else out
    assert str(shown) in err, err
    reason = {"existing-other-kind": "is a (file, not a )?directory", "under-a-file": "is a file, not a directory",
              "read-only": "permission denied|read-only", "full-disk": "no space left"}[kind]
    assert re.search(reason, err.lower()), err
    assert tree(tmp_path) == before, "nothing written, nothing removed"


def test_an_output_that_is_an_input_is_refused_before_anything_is_written(inputs, tmp_path, capsys):
    world = tmp_path / "w.npz"
    world.write_bytes(inputs["world"].read_bytes())
    link = tmp_path / "link.npz"
    link.symlink_to(world)
    for out in (world, link):
        assert main(["sample", "--world", str(world), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"the output {out} is" in err and "overwrite the input" in err, err
    assert world.read_bytes() == inputs["world"].read_bytes()
    policy = inputs["expert"] / "policy.npz"
    assert main(["demos", "--expert", str(inputs["expert"]), "--episodes", "1", "--out", str(policy)]) == 2
    assert "would overwrite the input" in capsys.readouterr().err and policy.read_bytes() == b""


def test_a_file_name_near_the_limit_is_written(inputs, tmp_path):
    out = tmp_path / ("w" * 251 + ".npz")  # 255 bytes: the temporary name must not be longer
    assert main(command("world", inputs, out)) == 0
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    with pytest.raises(IrlaxWriteError, match="longer than the file system's limit"):
        check_output_file(tmp_path / ("w" * 252 + ".npz"))


@pytest.mark.parametrize("cmd", ["fit", "train", "bc"])
def test_a_run_whose_inputs_fail_leaves_no_run_directory(cmd, inputs, tmp_path, fails_in_one_line):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    out = tmp_path / "runs" / "new"
    argv = command(cmd, {**inputs, "demos": garbage, "control_demos": garbage}, out)
    fails_in_one_line(argv, "is not an .npz file")
    assert [p.name for p in tmp_path.iterdir()] == ["garbage.npz"]


@pytest.mark.parametrize("cmd", ["fit", "expert", "train", "bc"])
def test_a_run_whose_first_write_fails_leaves_no_run_directory(cmd, inputs, tmp_path, monkeypatch, capsys):
    refuse_under(tmp_path, monkeypatch, errno.ENOSPC, "replace")  # the disk fills up after the checks
    assert main(command(cmd, inputs, tmp_path / "runs" / "new")) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"irlax: error: cannot write \S+/config.json: no space left on device\n", err), err
    assert list(tmp_path.iterdir()) == []


def fit_reference(world_and_demos: tuple[Path, Path], out: Path) -> Path:
    """The run directory of an uninterrupted ``FIT`` run in ``out``."""
    world, demos = world_and_demos
    assert main([*FIT, "--world", str(world), "--demos", str(demos), "--out", str(out)]) == 0
    (run_dir,) = out.iterdir()
    return run_dir


@pytest.fixture(scope="module")
def reference(cli_world, tmp_path_factory) -> Path:
    return fit_reference(cli_world(4, 0, 4, 4), tmp_path_factory.mktemp("reference"))


def fail_on_checkpoint(monkeypatch, number: int, raise_: Callable[[Path], BaseException]) -> None:
    """Make the run driver's ``number``-th checkpoint (1 is the first) raise ``raise_(path)`` instead."""
    from irlax.run.driver import Driver

    real, calls = Driver.save, []

    def save(self, path, progress):  # noqa: ANN001, ANN202
        calls.append(path)
        if len(calls) == number:
            raise raise_(Path(path))
        return real(self, path, progress)

    monkeypatch.setattr(Driver, "save", save)


def test_a_full_disk_mid_run_keeps_the_last_checkpoint_and_says_how_to_resume(
        cli_world, reference, tmp_path, monkeypatch, capsys):
    world, demos = cli_world(4, 0, 4, 4)
    real, checkpoints = os.replace, []

    def replace(src, dst, *args, **kwargs):  # noqa: ANN001, ANN202 - the third checkpoint finds the disk full
        if str(dst).endswith("checkpoint.npz"):
            checkpoints.append(dst)
            if len(checkpoints) == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    assert main([*FIT, "--world", str(world), "--demos", str(demos), "--out", str(tmp_path)]) == 2
    (run_dir,) = tmp_path.iterdir()
    err = capsys.readouterr().err
    assert err.startswith(f"irlax: error: cannot write {run_dir / 'checkpoint.npz'}: no space left on device; ")
    assert err.endswith(f"the last checkpoint is intact: once that is fixed, resume with: irlax fit --resume "
                        f"{run_dir}\n") and err.count("\n") == 1, err
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.npz", "config.json", "tensorboard"]
    monkeypatch.undo()
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")
    assert main(["fit", "--resume", str(run_dir), "--quiet"]) == 0
    assert (run_dir / "reward.npy").read_bytes() == (reference / "reward.npy").read_bytes()
    assert (run_dir / "metrics.jsonl").read_text() == (reference / "metrics.jsonl").read_text()


def test_ctrl_c_says_how_to_resume_and_a_run_interrupted_before_its_first_checkpoint_leaves_nothing(
        cli_world, tmp_path, monkeypatch, capsys):
    world, demos = cli_world(4, 0, 4, 4)
    argv = [*FIT, "--world", str(world), "--demos", str(demos), "--out", str(tmp_path / "runs")]
    fail_on_checkpoint(monkeypatch, 1, lambda path: KeyboardInterrupt())
    assert main(argv) == 130
    assert capsys.readouterr().err == "irlax: interrupted before the first checkpoint (nothing was kept)\n"
    assert list(tmp_path.iterdir()) == [], "the run directory and the folder made for it are gone"

    monkeypatch.undo()
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")
    fail_on_checkpoint(monkeypatch, 2, lambda path: KeyboardInterrupt())
    assert main(argv) == 130
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert capsys.readouterr().err == f"irlax: interrupted; resume with: irlax fit --resume {run_dir}\n"
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.npz", "config.json", "tensorboard"]


def test_run_cleanup_keeps_resumable_runs_and_removes_the_rest(tmp_path):
    """The one mechanism behind fit, expert, train, bc and demo: what a failed or interrupted run leaves."""
    from irlax.cli.runs import CHECKPOINT, prepare_output, run_cleanup, start_run_dir

    def fail(run_dir, place, exc, resumable=True):  # noqa: ANN001, ANN202
        with pytest.raises(type(exc)) as caught, run_cleanup(run_dir, "expert", place, resumable):
            raise exc
        return str(caught.value)

    # a new run directory given as --out (created with its parents) is removed with them
    place = prepare_output(str(tmp_path / "a" / "b" / "run"), parent=False)
    run_dir = start_run_dir(place, "unused", {"x": 1})
    assert fail(run_dir, place, IrlaxWriteError("cannot write x")) == "cannot write x"
    assert list(tmp_path.iterdir()) == []
    # an existing empty --out stays, emptied
    (tmp_path / "empty").mkdir()
    place = prepare_output(str(tmp_path / "empty"), parent=False)
    run_dir = start_run_dir(place, "unused", {"x": 1})
    assert "interrupted before the first checkpoint" in fail(run_dir, place, KeyboardInterrupt())
    assert [p.name for p in tmp_path.iterdir()] == ["empty"] and list(run_dir.iterdir()) == []
    # with a checkpoint the run stays and says how to resume; a run that can't resume (bc) goes anyway
    run_dir = start_run_dir(place, "unused", {"x": 1})
    atomic_write_text(run_dir / CHECKPOINT, "whole")
    assert fail(run_dir, place, KeyboardInterrupt()) == f"interrupted; resume with: irlax expert --resume {run_dir}"
    assert "resume with: irlax expert --resume" in fail(run_dir, place, IrlaxWriteError("cannot write y"))
    assert fail(run_dir, place, ValueError("a bug")) == "a bug" and (run_dir / CHECKPOINT).exists()
    assert fail(run_dir, place, KeyboardInterrupt(), resumable=False) == "interrupted (nothing was kept)"
    assert list(run_dir.iterdir()) == []
    # a resumed run is never removed
    (run_dir / "config.json").write_text("{}")
    assert "resume with" in fail(run_dir, None, KeyboardInterrupt())
    assert (run_dir / "config.json").exists()


def test_temporary_files_of_killed_writers_are_swept(tmp_path):
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    dead = tmp_path / f".irlax-{int(child.stdout)}-0123abcd.tmp"
    mine = tmp_path / f".irlax-{os.getpid()}-0123abcd.tmp"
    other = tmp_path / ".notes.tmp"
    for path in (dead, mine, other):
        path.write_text("partial")
    assert sweep_temp_files(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([mine.name, other.name])


def test_tensorboard_events_on_a_full_disk_fail_in_one_error_without_threads(tmp_path, monkeypatch):
    import io
    import threading

    from irlax.report.tensorboard import EventLog

    full = []

    class Disk(io.BufferedWriter):  # an event file on a disk that fills up once ``full`` says so
        def flush(self) -> None:
            if full:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            super().flush()

    monkeypatch.setattr("tensorboardX.record_writer.open_file", lambda path: Disk(io.FileIO(path, "wb")))
    threads = threading.active_count()
    with pytest.raises(IrlaxWriteError, match="cannot write TensorBoard events to .*: no space left on device"), \
            EventLog(tmp_path, 2) as log:
        assert threading.active_count() == threads, "events are written in this thread"
        full.append(True)
        log.write({"loss": np.zeros((2, 50))}, 50)
