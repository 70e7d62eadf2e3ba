"""``irlax sweep FILE``: many runs of one command (algorithms x tasks x settings), each seed-vmapped, on Ray Tune.

The sweep itself (the file, the trials, resuming, Ray, the report) is :mod:`irlax.run.sweep`; this command checks
every trial's command line with the ``irlax`` parser before Ray starts, hands the library the ``irlax`` entry point
to run in the Ray workers, and prints the summary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from irlax.errors import IrlaxError
from irlax.report import print_table
from irlax.run.sweep import (
    TrialSpec,
    best_outcome,
    check_inputs,
    check_resources,
    load_sweep,
    open_sweep_dir,
    plan_trials,
    run_sweep,
    sweep_table,
    trial_dir,
    trial_label,
    write_sweep_report,
)


class RaisingParser(argparse.ArgumentParser):
    """An argument parser that raises :class:`IrlaxError` instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Raise the parse error."""
        raise IrlaxError(message)


def check_trials(trials: tuple[TrialSpec, ...], source: str) -> None:
    """Parse every trial's command line as ``irlax`` would: an unknown option, a value of the wrong type or an
    unknown algorithm fails now, in one line, not in a Ray worker."""
    from irlax.cli.main import build_parser  # main imports this module

    parser = build_parser(RaisingParser)
    for trial in trials:
        try:
            parser.parse_args([*trial.argv, "--quiet"])
        except IrlaxError as exc:
            raise IrlaxError(f"sweep file {source}: trial {trial.id} ({trial_label(trial) or 'fixed options'}): "
                             f"{exc}") from None


def run_irlax(argv: list[str]) -> int:
    """Run one ``irlax`` command line (in a Ray worker); its exit status."""
    from irlax.cli.main import main

    return main(argv)


def run_irlax_uncached(argv: list[str]) -> int:
    """Run one ``irlax`` command line without the persistent compilation cache (``irlax --no-compile-cache``)."""
    return run_irlax(["--no-compile-cache", *argv])


def cmd_sweep(args: argparse.Namespace) -> None:
    """Run a sweep file's trials on Ray (those not done yet), then summarise them; rerunning resumes."""
    check_resources(args.address, args.cpus, args.cpus_per_trial)
    spec = load_sweep(args.file)
    trials = plan_trials(spec)
    check_trials(trials, spec.source)
    check_inputs(trials, spec.source)
    sweep_dir = open_sweep_dir(Path(args.out) if args.out else Path("runs") / f"sweep-{spec.name}", spec, trials)
    runner = run_irlax_uncached if args.no_compile_cache else run_irlax
    outcomes = run_sweep(spec, trials, sweep_dir, runner, address=args.address, cpus=args.cpus,
                         cpus_per_trial=args.cpus_per_trial, quiet=args.quiet)
    report = write_sweep_report(sweep_dir, spec, outcomes)
    columns, rows = sweep_table(spec, outcomes)
    print_table(f"sweep {spec.name}: {spec.command}, {len(trials)} trials of {spec.seeds} seeds, "
                f"{spec.metric} ({spec.mode} is better)", columns, rows)
    best = best_outcome(outcomes, spec.mode)
    if best is not None:
        print(f"best: trial {best.trial.id} ({trial_label(best.trial)}): {spec.metric} IQM {best.summary.text()}; "
              f"{best.run_dir}")
    plot = ", sweep.png" if (sweep_dir / "sweep.png").is_file() else ""
    print(f"sweep folder: {sweep_dir} ({report.name}{plot})")
    unfinished = [o for o in outcomes if o.status == "pending"]
    failed = [o for o in outcomes if o.status == "failed"]
    if unfinished and not failed:
        print(f"irlax: sweep stopped with {len(unfinished)} trials unfinished; run the same command to continue",
              file=sys.stderr)
        raise KeyboardInterrupt
    if failed:
        first = failed[0]
        raise IrlaxError(f"{len(failed)} of {len(trials)} trials failed (trial {first.trial.id}: {first.error}; "
                         f"its output: {trial_dir(sweep_dir, first.trial) / 'log.txt'}); run the same command to "
                         "retry them")
    no_metric = next((o for o in outcomes if o.status == "done" and o.summary is None), None)
    if no_metric is not None:
        raise IrlaxError(f"trial {no_metric.trial.id} has no value of the metric: "
                         f"{no_metric.error or 'every seed is NaN'}")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``sweep`` on the top-level parser."""
    p = sub.add_parser(
        "sweep", help="many runs of fit, expert, bc or train from a sweep file, on Ray Tune (resumable)",
        description="Run a sweep file's trials (a grid or a random search over options and settings of one "
                    "command, each trial a run directory with all its seeds vmapped) on Ray Tune, then summarise "
                    "the metric over seeds per configuration (mean, IQM, 95% CI) in a table, sweep.json and "
                    "sweep.png. Running the same command again continues an interrupted sweep.",
    )
    p.add_argument("file", metavar="FILE", help="sweep file (.toml; .yaml with PyYAML installed)")
    p.add_argument("--out", help="sweep folder (default: runs/sweep-NAME)")
    p.add_argument("--address", help="join this Ray cluster (e.g. HOST:6379, ray://HOST:10001; the sweep folder "
                   "and input files must be on storage every node shares) instead of starting a local Ray")
    p.add_argument("--cpus", type=int, help="CPUs of the local Ray (default: all of this machine's)")
    p.add_argument("--cpus-per-trial", type=float, default=1.0, help="CPUs Tune reserves per trial (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no line per trial")
    p.set_defaults(func=cmd_sweep)
