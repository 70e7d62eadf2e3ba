"""TensorBoard event files of a run: every per-step metric of every seed, written as the run goes.

A run directory gets ``tensorboard/seed0``, ``tensorboard/seed1``, ... (one
writer per seed, so TensorBoard overlays the seeds), written with tensorboardX's
synchronous ``EventsWriter`` (its ``SummaryWriter`` writes from a thread, where a full
disk ends in a traceback and a queue that blocks forever). Each chunk of a run appends its new steps; long runs are
thinned to at most ``points_per_chunk`` points per chunk (the mean of each bin,
at the bin's last step). A resumed run opens its writers with ``purge_step`` at
the step it resumes from, so TensorBoard drops anything an interrupted process
wrote past the checkpoint and the curves never double back.

Open them with ``tensorboard --logdir RUN_DIR/tensorboard`` (the ``tensorboard``
package is installed with irlax).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from irlax.atomic import PathLike, write_error

EVENTS = "tensorboard"
"""The folder of a run directory holding its event files."""


def thinned(values: np.ndarray, start: int, max_points: int) -> list[tuple[int, float]]:
    """``(step, value)`` points of the per-step ``values [T]`` of steps ``start .. start + T - 1``.

    At most ``max_points`` points: consecutive steps are binned and each bin gives the mean of its finite
    values at its last step. Bins without a finite value (e.g. returns where no episode ended) give no point.
    """
    values = np.asarray(values, np.float64)
    per_bin = max(1, math.ceil(len(values) / max(max_points, 1)))
    points = []
    for lo in range(0, len(values), per_bin):
        block = values[lo: lo + per_bin]
        finite = block[np.isfinite(block)]
        if finite.size:
            points.append((start + lo + len(block) - 1, float(finite.mean())))
    return points


class EventLog:
    """Per-seed TensorBoard writers of one run directory; a context manager that closes them.

    Args:
        run_dir: the run directory (events go to ``run_dir/tensorboard/seed{k}``).
        seeds: how many seeds the run has.
        start: the step the run starts (or resumes) from; events at or past it from an earlier process are
            dropped by TensorBoard.
        points_per_chunk: at most this many points per metric and seed per :meth:`write` call.
        names: the writers' folder names instead of ``seed0``, ``seed1``, ... (e.g. one per algorithm).
    """

    def __init__(self, run_dir: PathLike, seeds: int, start: int = 0, points_per_chunk: int = 100,
                 names: list[str] | None = None) -> None:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        self.folder = Path(run_dir) / EVENTS
        self.points_per_chunk = points_per_chunk
        self.written = start
        self.writers: list[Any] = []
        # files are read in name order: the name's timestamp, then the start step, orders a resume's file
        # after the one it continues even within the same second
        suffix = f".{start:012d}.{os.getpid()}"
        try:
            for name in (names if names is not None else [f"seed{k}" for k in range(seeds)])[:seeds]:
                (self.folder / name).mkdir(parents=True, exist_ok=True)
                writer = EventsWriter(str(self.folder / name / "events"), suffix)
                self.writers.append(writer)
                if start:  # what SummaryWriter(purge_step=start) writes: TensorBoard drops later steps before it
                    writer.write_event(Event(step=start, file_version="brain.Event:2"))
                    writer.write_event(Event(step=start, session_log=SessionLog(status=SessionLog.START)))
                writer.flush()
        except OSError as exc:
            self._close_quietly()
            raise write_error(self.folder, exc, f"TensorBoard events to {self.folder}") from exc

    def write(self, metrics: dict[str, np.ndarray], done: int) -> None:
        """Append the steps from the last write up to ``done`` of ``metrics`` (each ``[K, T]``).

        Metrics with more than one value per step (``[K, T, ...]``) are left out; steps past ``T`` (a run
        that stopped early) have no points. Events are written and flushed here, in this thread: a write that
        fails raises :class:`~irlax.errors.IrlaxWriteError`.
        """
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import scalar

        start = self.written
        if done <= start:
            return
        try:
            for name, values in metrics.items():
                values = np.asarray(values)
                if values.ndim != 2 or not np.issubdtype(values.dtype, np.number):
                    continue
                for writer, seed_values in zip(self.writers, values, strict=False):
                    for step, value in thinned(seed_values[start:min(done, values.shape[1])], start,
                                               self.points_per_chunk):
                        writer.write_event(Event(wall_time=time.time(), step=step, summary=scalar(name, value)))
            for writer in self.writers:
                writer.flush()
        except OSError as exc:
            raise write_error(self.folder, exc, f"TensorBoard events to {self.folder}") from exc
        self.written = done

    def _close_quietly(self) -> None:
        """Close every writer, ignoring errors (the run already failed)."""
        for writer in self.writers:
            with contextlib.suppress(OSError):
                writer.close()

    def close(self) -> None:
        """Flush and close every writer."""
        try:
            for writer in self.writers:
                writer.close()
        except OSError as exc:
            self._close_quietly()
            raise write_error(self.folder, exc, f"TensorBoard events to {self.folder}") from exc

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if error is None:
            self.close()
        else:
            self._close_quietly()


def open_hint(run_dir: PathLike) -> str:
    """The line telling a user how to open a run's events."""
    return f"TensorBoard: tensorboard --logdir {Path(run_dir) / EVENTS}"


def read_scalars(folder: PathLike) -> dict[str, list[tuple[int, float]]]:
    """The scalars of the event files in ``folder`` (one seed's) by tag: ``[(step, value), ...]`` in order.

    Honours ``purge_step`` markers as TensorBoard does (events of an earlier process at or past the step a
    later one resumed from are dropped). For tests and scripts; TensorBoard itself reads the files directly.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}
