"""Tests for irlax.report: atomic files, run directories, plots, progress, tables."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
from rich.console import Console

from irlax import atomic as atomic_module
from irlax.errors import IrlaxError
from irlax.report import (
    atomic_save_npy,
    atomic_save_npz,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    create_run_dir,
    plot_evd_vs_n,
    plot_metric_curves,
    plot_reward_maps,
    print_table,
    progress_bar,
    save_array,
    write_config,
    write_metrics,
    write_summary,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


# ---------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.txt"  # parents are created
    atomic_write_text(target, "old")
    atomic_write_text(target, "new content")
    assert target.read_text() == "new content"
    assert _names(target.parent) == {"file.txt"}
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert _names(target.parent) == {"file.txt"}


def test_atomic_write_respects_umask(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "f.txt", "x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failing_replace_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "config.json"
    atomic_write_json(target, {"a": 1})

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(atomic_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert _names(tmp_path) == {"config.json"}


def test_failure_while_writing_keeps_old_file_and_removes_temp(tmp_path: Path) -> None:
    target = atomic_write_bytes(tmp_path / "data.bin", b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _names(tmp_path) == {"data.bin"}


def test_non_serialisable_json_keeps_old_file(tmp_path: Path) -> None:
    target = atomic_write_json(tmp_path / "summary.json", {"ok": True})
    with pytest.raises(TypeError, match="object"):
        atomic_write_json(target, {"bad": object()})
    assert json.loads(target.read_text()) == {"ok": True}
    assert _names(tmp_path) == {"summary.json"}


def test_npy_and_npz_round_trip(tmp_path: Path) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([1, 2, 3], dtype=np.int64)
    np.testing.assert_array_equal(np.load(atomic_save_npy(tmp_path / "a.npy", a)), a)
    # "file" and "allow_pickle" would clash with np.savez's own parameters.
    path = atomic_save_npz(tmp_path / "arrays.npz", a=a, b=b, file=b, allow_pickle=a)
    with np.load(path) as loaded:
        assert sorted(loaded.files) == ["a", "allow_pickle", "b", "file"]
        np.testing.assert_array_equal(loaded["a"], a)
        assert loaded["a"].dtype == np.float32
        np.testing.assert_array_equal(loaded["b"], b)
        np.testing.assert_array_equal(loaded["file"], b)
    assert _names(tmp_path) == {"a.npy", "arrays.npz"}


def test_npy_rejects_object_arrays_without_leaving_temp(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        atomic_save_npy(tmp_path / "x.npy", np.array([{}, 1], dtype=object))
    assert _names(tmp_path) == set()


@dataclasses.dataclass(frozen=True)
class _Config:
    lr: float
    shape: tuple[int, int]
    weights: np.ndarray


class _State(NamedTuple):
    step: np.int32
    loss: np.float32


def test_json_converts_numpy_jax_and_dataclasses(tmp_path: Path) -> None:
    import jax.numpy as jnp

    obj = {
        "f32": np.float32(0.5),
        "i64": np.int64(7),
        "flag": np.bool_(True),
        "array": np.arange(3, dtype=np.float32),
        "jax": jnp.array([[1.0, 2.0]]),
        "jax_scalar": jnp.float32(3.0),
        "config": _Config(lr=1e-3, shape=(2, 3), weights=np.eye(2)),
        "state": _State(step=np.int32(4), loss=np.float32(0.25)),
        "path": Path("/tmp/x"),
        3: "int key",
    }
    text = atomic_write_json(tmp_path / "o.json", obj).read_text()
    assert json.loads(text) == {
        "f32": 0.5,
        "i64": 7,
        "flag": True,
        "array": [0.0, 1.0, 2.0],
        "jax": [[1.0, 2.0]],
        "jax_scalar": 3.0,
        "config": {"lr": 1e-3, "shape": [2, 3], "weights": [[1.0, 0.0], [0.0, 1.0]]},
        "state": {"step": 4, "loss": 0.25},
        "path": "/tmp/x",
        "3": "int key",
    }
    assert text.endswith("\n") and '\n  "3"' in text  # indent 2, sorted keys
    keys = [line.split(":")[0].strip() for line in text.splitlines()[1:-1] if line[2] == '"']
    assert keys == sorted(keys)


# ---------------------------------------------------------------- run directories


def test_create_run_dir_is_unique_on_collision(tmp_path: Path) -> None:
    now = datetime(2024, 5, 6, 7, 8, 9)
    first = create_run_dir(tmp_path / "runs", "maxent", now=now)
    second = create_run_dir(tmp_path / "runs", "maxent", now=now)
    third = create_run_dir(tmp_path / "runs", "maxent", now=now)
    assert first.name == "maxent-20240506-070809"
    assert second.name == "maxent-20240506-070809-2"
    assert third.name == "maxent-20240506-070809-3"
    assert all(p.is_dir() for p in (first, second, third))


def test_create_run_dir_uses_current_time(tmp_path: Path) -> None:
    run_dir = create_run_dir(tmp_path, "gail")
    stamp = run_dir.name.removeprefix("gail-")
    assert datetime.strptime(stamp, "%Y%m%d-%H%M%S")


@pytest.mark.parametrize("name", ["", "a/b", "..", "."])
def test_bad_names_are_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(IrlaxError):
        create_run_dir(tmp_path, name)
    with pytest.raises(IrlaxError):
        save_array(tmp_path, name, np.zeros(2))


def test_write_metrics_csv_and_jsonl(tmp_path: Path) -> None:
    rows = [
        {"seed": 0, "iteration": 0, "log_likelihood": np.float32(-2.5)},
        {"seed": 0, "iteration": 1, "log_likelihood": -1.25},
        {"seed": 1, "iteration": 0, "log_likelihood": -3.0, "evd": np.float64(0.5)},
    ]
    csv_path, jsonl_path = write_metrics(tmp_path, rows)
    assert (csv_path.name, jsonl_path.name) == ("metrics.csv", "metrics.jsonl")
    with csv_path.open(newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["seed", "iteration", "log_likelihood", "evd"]
    assert table[1:] == [
        ["0", "0", "-2.5", ""],
        ["0", "1", "-1.25", ""],
        ["1", "0", "-3.0", "0.5"],
    ]
    lines = jsonl_path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"seed": 0, "iteration": 0, "log_likelihood": -2.5},
        {"seed": 0, "iteration": 1, "log_likelihood": -1.25},
        {"seed": 1, "iteration": 0, "log_likelihood": -3.0, "evd": 0.5},
    ]


def test_write_config_summary_and_array(tmp_path: Path) -> None:
    config = _Config(lr=0.1, shape=(1, 2), weights=np.ones(1))
    assert json.loads(write_config(tmp_path, config).read_text())["lr"] == 0.1
    summary = write_summary(tmp_path, {"evd": np.float32(0.75), "seeds": 3})
    assert json.loads(summary.read_text()) == {"evd": 0.75, "seeds": 3}
    reward = np.linspace(0, 1, 25)
    path = save_array(tmp_path, "reward", reward)
    assert path.name == "reward.npy"
    np.testing.assert_array_equal(np.load(path), reward)
    assert _names(tmp_path) == {"config.json", "summary.json", "reward.npy"}


# ---------------------------------------------------------------- plots


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 1000
    assert _names(path.parent) == {path.name}


def test_plot_reward_maps(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    maps = {"true": rng.normal(size=12), "MaxEnt": rng.normal(size=(3, 4))}
    path = plot_reward_maps(tmp_path / "maps.png", (3, 4), maps, title="rewards")
    _assert_png(path)


def test_plot_reward_maps_rejects_wrong_size(tmp_path: Path) -> None:
    with pytest.raises(IrlaxError, match="12"):
        plot_reward_maps(tmp_path / "maps.png", (3, 4), {"true": np.zeros(10)})
    assert not (tmp_path / "maps.png").exists()


def test_plot_metric_curves(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    curves = {"MaxEnt": rng.normal(size=(4, 30)).cumsum(1), "one seed": np.arange(30.0)}
    _assert_png(plot_metric_curves(tmp_path / "ll.png", curves, ylabel="log likelihood"))


def test_plot_evd_vs_n(tmp_path: Path) -> None:
    n = np.array([1, 2, 4, 8, 16, 32])
    results = {
        "MaxEnt": (n, 1.0 / n, 0.1 / n),
        "Deep MaxEnt": (n[:4], 2.0 / n[:4], 0.2 / n[:4]),
    }
    _assert_png(plot_evd_vs_n(tmp_path / "evd.png", results, title="EVD vs N"))
    with pytest.raises(IrlaxError):
        plot_evd_vs_n(tmp_path / "bad.png", {"x": (n, n[:2], n[:2])}, title="bad")


# ---------------------------------------------------------------- progress and tables


def _recording_console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=100)
    return console, buffer


def test_progress_bar_disabled_is_silent_no_op() -> None:
    console, buffer = _recording_console(terminal=True)
    with progress_bar(5, "fitting", enabled=False, console=console) as bar:
        bar.advance()
        bar.advance(3)
        bar.update(description="still fitting")
        bar.update()
    assert buffer.getvalue() == ""


def test_progress_bar_env_var_disables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")
    console, buffer = _recording_console(terminal=True)
    with progress_bar(2, "fitting", console=console) as bar:
        bar.advance(2)
    assert buffer.getvalue() == ""


def test_progress_bar_not_a_terminal_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRLAX_NO_PROGRESS", raising=False)
    console, buffer = _recording_console(terminal=False)
    with progress_bar(2, "fitting", console=console) as bar:
        bar.advance(2)
    assert buffer.getvalue() == ""


def test_progress_bar_live_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IRLAX_NO_PROGRESS", raising=False)
    console, buffer = _recording_console(terminal=True)
    with progress_bar(3, "seeds [x]", console=console) as bar:
        bar.advance(2)
        bar.update(description="last seed")
        bar.advance()
    output = buffer.getvalue()
    assert "3/3" in output
    assert "last seed" in output


def test_print_table(capsys: pytest.CaptureFixture[str]) -> None:
    print_table("Results", ["algorithm", "EVD"], [["MaxEnt", "0.12"], ["[bold]x", 3]])
    out = capsys.readouterr().out
    for text in ("Results", "algorithm", "EVD", "MaxEnt", "0.12", "[bold]x", "3"):
        assert text in out
    with pytest.raises(IrlaxError):
        print_table("bad", ["a", "b"], [["only one"]])
