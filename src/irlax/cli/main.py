"""The ``irlax`` command: ``demo``, ``world``, ``sample``, ``fit``, ``evaluate``, ``expert``, ``demos``, ``bc``,
``train``, ``sweep``.

Bad input ends with one line, ``irlax: error: ...``, and exit status 2. An interruption, Ctrl-C or ``SIGTERM``
(what ``timeout``, ``kill`` and batch schedulers send), ends with one line saying how to resume the run, exit
status 130.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator

from irlax import __version__
from irlax.cli import control, demo, sweep, tabular, train
from irlax.cli.runs import OneLineParser
from irlax.errors import IrlaxError, IrlaxWarning
from irlax.run.compile_cache import cache_wanted, default_cache_dir, enable_compile_cache


def build_parser(parser_class: type[argparse.ArgumentParser] = OneLineParser) -> argparse.ArgumentParser:
    """The argument parser with all subcommands (``parser_class``: e.g. one that raises instead of exiting)."""
    parser = parser_class(
        prog="irlax",
        description="Inverse reinforcement learning on JAX: recover rewards from demonstrations.",
    )
    parser.add_argument("--version", action="version", version=f"irlax {__version__}")
    parser.add_argument("--no-compile-cache", action="store_true",
                        help="do not keep compiled programs on disk (default: JAX's persistent compilation cache in "
                             f"{default_cache_dir()}; also IRLAX_COMPILE_CACHE=0, or IRLAX_CACHE_DIR to move it)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_command(sub)
    tabular.add_commands(sub)
    control.add_commands(sub)
    train.add_commands(sub)
    sweep.add_commands(sub)
    return parser


def interrupt(signum: int, frame: object) -> None:
    """A ``SIGTERM`` handler: raise :class:`KeyboardInterrupt`, so the run ends as on Ctrl-C (its files whole,
    the resume command printed)."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, ``SIGTERM`` interrupts as Ctrl-C does (:func:`interrupt`); the handler before it is put
    back after. Only the main thread can set handlers: elsewhere (a Ray worker's thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``irlax`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    show = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
        if issubclass(category, IrlaxWarning):
            print(f"irlax: warning: {message}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = one_line
    try:
        if cache_wanted(args.no_compile_cache):
            enable_compile_cache()
        with sigterm_interrupts():
            args.func(args)
    except IrlaxError as exc:
        print(f"irlax: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # a run's message says how to resume it (irlax.cli.runs.run_cleanup)
        print(f"irlax: {exc.args[0] if exc.args else 'interrupted'}", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = show
    return 0


if __name__ == "__main__":
    sys.exit(main())
