"""Run directories: one folder per command run, holding its config, metrics and arrays.

Layout written by these functions (every file written atomically)::

    <root>/<name>-YYYYmmdd-HHMMSS[-2, -3, ...]/
        config.json      the run's configuration
        metrics.csv      one row per (seed, iteration) record
        metrics.jsonl    the same rows, one JSON object per line
        summary.json     final numbers of the run
        <array>.npy      learned rewards, visitation counts, ...
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from irlax.atomic import (
    PathLike,
    atomic_save_npy,
    atomic_write_json,
    atomic_write_text,
    check_output_dir,
    to_jsonable,
    write_error,
)
from irlax.errors import IrlaxError

__all__ = ["create_run_dir", "save_array", "write_config", "write_metrics", "write_summary"]


def _check_name(name: str, what: str) -> str:
    """Return ``name`` if it is a plain file name, else raise :class:`IrlaxError`."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise IrlaxError(f"{what} {name!r} must be a plain, non-empty file name")
    return name


def create_run_dir(root: PathLike, name: str, now: datetime | None = None) -> Path:
    """Create and return a new directory ``root/<name>-YYYYmmdd-HHMMSS``.

    If that directory exists, ``-2``, ``-3``, ... is appended until a new one is
    made; ``mkdir`` is atomic, so concurrent runs never share a directory.
    ``now`` (default: the current local time) fixes the timestamp, for tests. A ``root`` that is a file or
    where nothing can be created (no permission, a full disk) raises :class:`~irlax.errors.IrlaxWriteError`.
    """
    _check_name(name, "run name")
    root = check_output_dir(root)
    base = f"{name}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"
    suffix = 1
    while True:
        run_dir = root / (base if suffix == 1 else f"{base}-{suffix}")
        try:
            root.mkdir(parents=True, exist_ok=True)
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            if not root.is_dir():
                raise write_error(run_dir, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))) from None
            suffix += 1
        except OSError as exc:
            raise write_error(run_dir, exc) from exc


def write_config(run_dir: PathLike, config: Any) -> Path:
    """Write ``config`` (a dict or dataclass) to ``run_dir/config.json``."""
    return atomic_write_json(Path(run_dir) / "config.json", config)


def write_summary(run_dir: PathLike, summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` to ``run_dir/summary.json``."""
    return atomic_write_json(Path(run_dir) / "summary.json", summary)


def save_array(run_dir: PathLike, name: str, array: Any) -> Path:
    """Save ``array`` to ``run_dir/<name>.npy`` (``.npy`` is added if missing)."""
    _check_name(name, "array name")
    file_name = name if name.endswith(".npy") else f"{name}.npy"
    return atomic_save_npy(Path(run_dir) / file_name, array)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """All keys of ``rows`` in order of first appearance."""
    return list(dict.fromkeys(key for row in rows for key in row))


def _csv_cell(value: Any) -> str:
    """Format one JSON-converted value for a CSV cell (None -> empty, lists as JSON)."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _metrics_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Render rows as CSV text with a header; missing keys give empty cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if columns:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def write_metrics(run_dir: PathLike, rows: Sequence[Mapping[str, Any]]) -> tuple[Path, Path]:
    """Write per-iteration records to ``metrics.csv`` and ``metrics.jsonl`` in ``run_dir``.

    ``rows`` are dicts such as ``{"seed": 0, "iteration": 3, "log_likelihood": -1.2}``;
    numpy/JAX scalars are converted to plain numbers. The CSV columns are the
    union of all keys in order of first appearance. Returns (csv path, jsonl path).
    """
    plain = [to_jsonable(dict(row)) for row in rows]
    run_dir = Path(run_dir)
    csv_path = atomic_write_text(run_dir / "metrics.csv", _metrics_csv(plain, _columns(plain)))
    jsonl = "".join(json.dumps(row) + "\n" for row in plain)
    return csv_path, atomic_write_text(run_dir / "metrics.jsonl", jsonl)
