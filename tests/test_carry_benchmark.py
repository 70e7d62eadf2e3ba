"""Unfinished benchmark runs carried through the repository (benchmarks/carry.py) and the MuJoCo table's use of it:
a run packed in one checkout resumes, byte for byte, in another, its repository paths re-rooted."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import numpy as np
import pytest


@pytest.fixture
def carry(benchmark_script):
    return benchmark_script("carry")


def make_run(runs, name, root, extra=None):
    run = runs / name
    run.mkdir(parents=True)
    config = {"command": "train", "demos": str(root / "benchmarks" / "experts" / "demos.npz"),
              "expert": "/elsewhere/expert", "rounds": 20, **(extra or {})}
    (run / "config.json").write_text(json.dumps(config))
    np.savez(run / "checkpoint.npz", done=np.asarray(7), leaf_0=np.arange(1000.0))
    (run / "tensorboard").mkdir()
    (run / "tensorboard" / "events").write_bytes(b"log")
    (runs / f"{name}.setup").write_text("expert ppo-2m deterministic\n")
    return run


def test_a_packed_run_unpacks_in_another_checkout_with_its_paths_re_rooted(carry, tmp_path):
    old_root, new_root = tmp_path / "old", tmp_path / "new"
    run = make_run(old_root / "runs", "Hopper-v5-gail-10demos", old_root)
    archive = tmp_path / "carried" / "Hopper-v5-gail-10demos.tar.gz"
    size = carry.pack(run, archive, (old_root / "runs" / "Hopper-v5-gail-10demos.setup",), root=old_root)
    assert size == archive.stat().st_size > 0
    packed = archive.read_bytes()  # packing the same run again writes the same bytes: no change to commit
    carry.pack(run, archive, (old_root / "runs" / "Hopper-v5-gail-10demos.setup",), root=old_root)
    assert archive.read_bytes() == packed and packed[4:8] == bytes(4)  # gzip's header holds no time
    assert carry.unpack(archive, new_root / "runs", root=new_root)
    back = new_root / "runs" / "Hopper-v5-gail-10demos"
    assert (back / "checkpoint.npz").read_bytes() == (run / "checkpoint.npz").read_bytes()
    config = json.loads((back / "config.json").read_text())
    assert config["demos"] == str(new_root / "benchmarks" / "experts" / "demos.npz")
    assert config["expert"] == "/elsewhere/expert"  # a path outside the repository is kept as it was
    assert config["rounds"] == 20 and config["command"] == "train"
    assert (new_root / "runs" / "Hopper-v5-gail-10demos.setup").read_text() == "expert ppo-2m deterministic\n"
    assert not (back / "tensorboard").exists()  # only what a resume reads is carried
    assert not (back / "reoptimize.npz").exists()  # none in the run: none carried
    # a run stopped while re-optimising carries that checkpoint too
    (run / "reoptimize.npz").write_bytes(b"reopt")
    carry.pack(run, archive, root=old_root)
    assert carry.unpack(archive, tmp_path / "third", root=new_root)
    assert (tmp_path / "third" / "Hopper-v5-gail-10demos" / "reoptimize.npz").read_bytes() == b"reopt"
    assert sorted(p.name for p in (new_root / "runs").iterdir()) == ["Hopper-v5-gail-10demos",
                                                                      "Hopper-v5-gail-10demos.setup"]


def test_a_run_already_on_the_machine_is_not_overwritten(carry, tmp_path):
    run = make_run(tmp_path / "runs", "cell", tmp_path)
    archive = tmp_path / "cell.tar.gz"
    carry.pack(run, archive, root=tmp_path)
    np.savez(run / "checkpoint.npz", done=np.asarray(9))
    before = (run / "checkpoint.npz").read_bytes()
    assert carry.unpack(archive, tmp_path / "runs", root=tmp_path) is False
    assert (run / "checkpoint.npz").read_bytes() == before


def test_a_run_too_large_or_without_a_checkpoint_is_not_carried(carry, tmp_path):
    run = make_run(tmp_path / "runs", "cell", tmp_path)
    archive = tmp_path / "cell.tar.gz"
    assert carry.pack(run, archive, root=tmp_path) is not None
    # the run grew past the limit: the older archive goes too (it would resume from further back)
    np.savez(run / "checkpoint.npz", done=np.asarray(8), leaf_0=np.random.default_rng(0).random(100_000))
    assert carry.pack(run, archive, root=tmp_path, limit=100_000, slim=None) is None
    assert not archive.exists()
    (run / "checkpoint.npz").unlink()
    assert carry.pack(run, archive, root=tmp_path) is None and not archive.exists()
    other = make_run(tmp_path / "other", "x", tmp_path)
    with pytest.raises(ValueError, match="not beside"):
        carry.pack(other, archive, (tmp_path / "elsewhere.setup",), root=tmp_path)


def test_a_run_too_large_is_carried_slimmed_once_trained(carry, tmp_path):
    """Past the limit, a run whose training is over is packed with its slimmed checkpoint (``slim``: irlax train's
    ``slim_checkpoint``, tested in test_train_cli.py) and without its re-optimisation's; one still training is not."""
    run = make_run(tmp_path / "runs", "cell", tmp_path)
    np.savez(run / "checkpoint.npz", done=np.asarray(20), leaf_0=np.random.default_rng(0).random(100_000))
    (run / "reoptimize.npz").write_bytes(np.random.default_rng(1).bytes(200_000))
    archive, asked = tmp_path / "cell.tar.gz", []

    def slim(run_dir, out):
        asked.append(run_dir)
        np.savez(out, done=np.asarray(20), slim=np.asarray(True), leaf_0=np.zeros(100_000))
        return True

    size = carry.pack(run, archive, root=tmp_path, limit=100_000, slim=slim)
    assert asked == [run] and size == archive.stat().st_size < 100_000
    assert carry.unpack(archive, tmp_path / "new", root=tmp_path)
    back = tmp_path / "new" / "cell"
    assert sorted(p.name for p in back.iterdir()) == ["checkpoint.npz", "config.json"]
    with np.load(back / "checkpoint.npz") as ckpt:
        assert bool(ckpt["slim"]) and not ckpt["leaf_0"].any()
    small = make_run(tmp_path / "small", "cell", tmp_path)  # within the limit: packed whole, slim not asked
    assert carry.pack(small, archive, root=tmp_path, slim=slim) is not None and asked == [run]
    assert carry.pack(run, archive, root=tmp_path, limit=100_000, slim=lambda run_dir, out: False) is None
    assert not archive.exists()  # still training: not carried, the older archive gone


def archive_of(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("members, message", [
    ({"cell/config.json": b"{}", "cell/checkpoint.npz": b"x", "../escape": b"x"}, "not a file a carried run holds"),
    ({"cell/config.json": b"{}", "cell/checkpoint.npz": b"x", "cell/extra/deep": b"x"},
     "not a file a carried run holds"),
    ({"other/config.json": b"{}", "other/checkpoint.npz": b"x"}, "not a file a carried run holds"),
    ({"cell/config.json": b"{}", "cell/checkpoint.npz": b"x", "..": b"x"}, "not a file a carried run holds"),
    ({"cell/config.json": b"{}"}, "lacks the run's"),
    ({"cell/config.json": b"[1]", "cell/checkpoint.npz": b"x"}, "not a JSON object"),
    ({"cell/config.json": b"{broken", "cell/checkpoint.npz": b"x"}, "Expecting"),
])
def test_an_archive_pack_did_not_write_is_refused_and_nothing_written(carry, tmp_path, members, message):
    archive = tmp_path / "cell.tar.gz"
    archive_of(archive, members)
    with pytest.raises(ValueError, match=message):
        carry.unpack(archive, tmp_path / "runs", root=tmp_path)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "escape").exists()


def test_a_truncated_archive_is_refused(carry, tmp_path):
    run = make_run(tmp_path / "runs", "cell", tmp_path)
    archive = tmp_path / "carried" / "cell.tar.gz"
    carry.pack(run, archive, root=tmp_path)
    archive.write_bytes(archive.read_bytes()[:60])
    with pytest.raises(ValueError, match="can't be read"):
        carry.unpack(archive, tmp_path / "fresh", root=tmp_path)


@pytest.fixture
def bench(benchmark_script, tmp_path, monkeypatch):
    """The MuJoCo table's script with its runs, archives and report under ``tmp_path``."""
    module = benchmark_script("mujoco_irl", "carry")
    monkeypatch.setattr(module, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(module, "CARRIED", tmp_path / "carried")
    monkeypatch.setattr(module, "OUT", tmp_path / "mujoco_irl.json")
    return module


def test_the_table_carries_its_unfinished_cells_and_drops_finished_ones(bench, tmp_path):
    unfinished = make_run(tmp_path / "runs", bench.cell_dir("Hopper-v5", "gail", 10).name, tmp_path)
    finished = make_run(tmp_path / "runs", bench.cell_dir("Hopper-v5", "airl", 10).name, tmp_path)
    (finished / "summary.json").write_text("{}")
    stale = tmp_path / "carried" / f"{finished.name}.tar.gz"
    bench.carry.pack(finished, stale, root=tmp_path)
    assert bench.carry_cells() == {unfinished.name: (tmp_path / "carried" / f"{unfinished.name}.tar.gz").stat().st_size}
    assert not stale.exists()
    # a new checkout: no runs; the carried cell comes back, its setup with it
    checkpoint = (unfinished / "checkpoint.npz").read_bytes()
    shutil.rmtree(tmp_path / "runs")
    assert bench.restore_cells() == [f"{unfinished.name}.tar.gz"]
    assert (bench.cell_dir("Hopper-v5", "gail", 10) / "checkpoint.npz").read_bytes() == checkpoint
    assert bench.recorded_setup("Hopper-v5", "gail", 10) == "expert ppo-2m deterministic"
    assert bench.restore_cells() == []  # the run is there now
    (unfinished / "config.json").write_text("{broken")
    assert bench.carry_cells() == {}  # named and left out, not a traceback


def test_a_cell_the_last_report_holds_finished_is_not_restored(bench, tmp_path):
    run = make_run(tmp_path / "old", bench.cell_dir("Hopper-v5", "gail", 10).name, tmp_path)
    bench.carry.pack(run, tmp_path / "carried" / f"{run.name}.tar.gz", root=tmp_path)
    setup = bench.cell_setup("Hopper-v5", "gail")
    (tmp_path / "mujoco_irl.json").write_text(json.dumps(
        {"cells": [{"task": "Hopper-v5", "method": "gail", "demos": 10, "setup": setup}]}))
    assert bench.restore_cells() == [] and not (tmp_path / "runs").exists()


def test_a_run_restored_meanwhile_by_another_process_is_left_to_it(carry, tmp_path, monkeypatch):
    run = make_run(tmp_path / "runs", "cell", tmp_path)
    archive = tmp_path / "cell.tar.gz"
    carry.pack(run, archive, root=tmp_path)
    fresh = tmp_path / "fresh"
    real_rename = type(fresh).rename

    def other_process_first(self, target):  # another script restores the run between the check and the rename
        (fresh / "cell").mkdir()
        (fresh / "cell" / "checkpoint.npz").write_bytes(b"theirs")
        return real_rename(self, target)

    monkeypatch.setattr(type(fresh), "rename", other_process_first)
    assert carry.unpack(archive, fresh, root=tmp_path) is False
    assert (fresh / "cell" / "checkpoint.npz").read_bytes() == b"theirs"
    assert sorted(p.name for p in fresh.iterdir()) == ["cell"]  # no staging directory left behind
