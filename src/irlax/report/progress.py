"""Terminal output: a progress bar that can switch itself off, and tables.

Nothing here is global: callers make a console with :func:`make_console` (or
let each function make its own) and pass it around.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from irlax.errors import IrlaxError

__all__ = ["ProgressHandle", "make_console", "print_table", "progress_bar", "progress_disabled"]

NO_PROGRESS_ENV = "IRLAX_NO_PROGRESS"


class ProgressHandle(Protocol):
    """What :func:`progress_bar` yields: advance the count, change the label."""

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` more units of work as done."""

    def update(self, description: str | None = None) -> None:
        """Replace the description shown next to the bar."""


class _NullProgress:
    """A progress handle that shows nothing."""

    def advance(self, n: int = 1) -> None:
        """Do nothing."""

    def update(self, description: str | None = None) -> None:
        """Do nothing."""


class _RichProgress:
    """A progress handle driving one task of a live ``rich`` progress display."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: int = 1) -> None:
        """Mark ``n`` more units of work as done."""
        self._progress.advance(self._task, n)

    def update(self, description: str | None = None) -> None:
        """Replace the description shown next to the bar."""
        if description is not None:
            self._progress.update(self._task, description=escape(description))


def make_console(stderr: bool = True) -> Console:
    """A new rich console on stderr (default, for progress and logs) or stdout."""
    return Console(stderr=stderr)


def progress_disabled(console: Console) -> bool:
    """True if progress should be hidden: ``IRLAX_NO_PROGRESS`` is set (not "0"/"")
    or ``console`` is not a terminal (output piped or redirected)."""
    flag = os.environ.get(NO_PROGRESS_ENV, "").strip()
    return flag not in ("", "0") or not console.is_terminal


def _columns() -> tuple[ProgressColumn, ...]:
    """Spinner, description, bar, M/N, elapsed and remaining time."""
    return (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


@contextmanager
def progress_bar(
    total: int, description: str, enabled: bool = True, console: Console | None = None
) -> Iterator[ProgressHandle]:
    """Show a progress bar for ``total`` units of work while the block runs.

    Yields a handle with ``advance(n=1)`` and ``update(description=...)``. With
    ``enabled=False``, ``IRLAX_NO_PROGRESS`` set, or a console that is not a
    terminal, the handle is a silent no-op with the same methods. ``console``
    defaults to a new stderr console.
    """
    console = console if console is not None else make_console()
    if not enabled or progress_disabled(console):
        yield _NullProgress()
        return
    with Progress(*_columns(), console=console) as progress:
        task = progress.add_task(escape(description), total=total)
        yield _RichProgress(progress, task)


def print_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    console: Console | None = None,
) -> None:
    """Print a table with a title, a header of ``columns`` and ``rows`` (cells via ``str``).

    Prints to stdout unless a ``console`` is given. Cells are shown literally
    (no rich markup). Raises :class:`IrlaxError` if a row's length differs
    from the number of columns.
    """
    table = Table(title=escape(title))
    for column in columns:
        table.add_column(escape(column))
    for i, row in enumerate(rows):
        if len(row) != len(columns):
            raise IrlaxError(f"table row {i} has {len(row)} cells, expected {len(columns)}")
        table.add_row(*(escape(str(cell)) for cell in row))
    (console if console is not None else make_console(stderr=False)).print(table)
