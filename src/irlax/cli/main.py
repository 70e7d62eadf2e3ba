"""The ``irlax`` command: ``demo``, ``world``, ``sample``, ``fit``, ``evaluate``, ``expert``, ``demos``, ``bc``,
``train``.

Bad input ends with one line, ``irlax: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from irlax import __version__
from irlax.cli import control, demo, tabular, train
from irlax.errors import IrlaxError, IrlaxWarning


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="irlax",
        description="Inverse reinforcement learning on JAX: recover rewards from demonstrations.",
    )
    parser.add_argument("--version", action="version", version=f"irlax {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_command(sub)
    tabular.add_commands(sub)
    control.add_commands(sub)
    train.add_commands(sub)
    return parser


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
        args.func(args)
    except IrlaxError as exc:
        print(f"irlax: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("irlax: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = show
    return 0


if __name__ == "__main__":
    sys.exit(main())
