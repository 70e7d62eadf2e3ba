"""Compilation seconds of the ``irlax`` commands: first run, and a repeat with JAX's persistent cache.

Each command runs in a fresh Python process three times:

- ``uncached``: ``--no-compile-cache`` (every program compiled by XLA);
- ``first``: with the cache on, starting from an empty cache directory;
- ``repeat``: the same command again, the cache now filled by ``first``.

A process's compile seconds are the sum of JAX's own compilation events
(``jax.monitoring``: tracing to a jaxpr, lowering to MLIR, and XLA's backend
compile or the cache lookup that replaces it), so they cover every program a
command compiles (training, evaluation, demonstrations), not only the run
driver's. The commands, on the CartPole-v1 (gymnax) task and a 16 x 16
objectworld: ``fit deep-maxent --seeds 5``, ``expert --learner ppo --seeds 5``,
``bc --seeds 5``, ``train gail --seeds 5`` (issue 17's goal: the repeat of
``train gail --seeds 5`` compiles in at most 3 s).

Run: ``PYTHONPATH=src python benchmarks/compile_speed.py`` (``--quick``: fewer steps).
Writes ``benchmarks/results/compile_speed.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench_machine import ROOT, machine_line, output_path, report_header, write_report

OUT = ROOT / "benchmarks" / "results" / "compile_speed.json"
GOAL_TRAIN_REPEAT = 3.0
LABELS = {"fit": "fit deep-maxent --seeds 5", "expert": "expert --learner ppo --seeds 5", "bc": "bc --seeds 5",
          "train": "train gail --seeds 5"}

# runs ``irlax ARGV`` and prints, as its last line, the JSON of its compilation seconds by event and its wall-clock
PROBE = r"""
import json, sys, time
from collections import defaultdict
import jax.monitoring
totals = defaultdict(float)
def listen(event, secs, **kw):
    totals[event] += secs
jax.monitoring.register_event_duration_secs_listener(listen)
from irlax.cli.main import main
start = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "wall": time.perf_counter() - start, "events": dict(totals)}))
"""

COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")
"""The events summed as compile seconds (the backend one is the cache lookup when the cache hits)."""


def run_irlax(argv: list[str], cache_dir: Path, env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    """``irlax argv`` in a fresh process: exit code, wall-clock, compile seconds (total and by event)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), IRLAX_CACHE_DIR=str(cache_dir), **(env_extra or {}))
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, cwd=ROOT, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"irlax {' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result = json.loads(lines[-1])
    if result["code"] != 0:
        raise SystemExit(f"irlax {' '.join(argv)} exited with {result['code']}:\n{done.stderr[-2000:]}")
    events = result["events"]
    return {"wall": result["wall"], "compile": sum(events.get(e, 0.0) for e in COMPILE_EVENTS),
            "backend_compile": events.get("/jax/core/compile/backend_compile_duration", 0.0),
            "trace_and_lower": sum(events.get(e, 0.0) for e in COMPILE_EVENTS[:2])}


def commands(work: Path, quick: bool) -> dict[str, list[str]]:
    """The measured commands (after making the world, expert and demonstrations they need)."""
    return {
        "fit": ["fit", "deep-maxent", "--world", str(work / "world.npz"), "--demos", str(work / "trajs.npz"),
                "--seeds", "5", "--iterations", "20" if quick else "100", "--out", str(work / "fit"), "--quiet"],
        "expert": ["expert", "--env", "CartPole-v1", "--learner", "ppo", "--steps", "20000" if quick else "100000",
                   "--seeds", "5", "--out", str(work / "expert"), "--quiet"],
        "bc": ["bc", "--demos", str(work / "cartpole.npz"), "--seeds", "5", "--epochs", "20" if quick else "100",
               "--out", str(work / "bc"), "--quiet"],
        "train": ["train", "gail", "--demos", str(work / "cartpole.npz"), "--seeds", "5", "--rounds",
                  "2" if quick else "10", "--out", str(work / "train"), "--quiet"],
    }


def prepare(work: Path, cache: Path) -> None:
    """The inputs: a 16 x 16 objectworld and its demonstrations, a CartPole expert and 10 demonstrations."""
    for argv in (["world", "objectworld", "--size", "16", "--out", str(work / "world.npz")],
                 ["sample", "--world", str(work / "world.npz"), "--trajectories", "32", "--length", "16",
                  "--out", str(work / "trajs.npz")],
                 ["expert", "--env", "CartPole-v1", "--out", str(work / "cartpole-expert"), "--quiet"],
                 ["demos", "--expert", str(work / "cartpole-expert"), "--episodes", "10",
                  "--out", str(work / "cartpole.npz")]):
        run_irlax(argv, cache, {"IRLAX_COMPILE_CACHE": "0"})


def fresh_out(argv: list[str], tag: str) -> list[str]:
    """``argv`` with its ``--out`` directory made unique for ``tag`` (each measured run writes its own)."""
    i = argv.index("--out")
    return [*argv[: i + 1], f"{argv[i + 1]}-{tag}", *argv[i + 2:]]


def markdown(rows: dict[str, dict[str, Any]], header: dict[str, Any]) -> str:
    """The results page's section."""
    lines = [
        "## Compilation: first runs and repeats with the persistent cache",
        "",
        "Seconds each `irlax` command spends compiling (tracing, lowering and XLA's compile or the cache lookup "
        "that replaces it, summed over every program the command compiles, from JAX's own compilation events), "
        "each run in a fresh process: without the cache (`--no-compile-cache`), with the cache on but empty "
        "(first), and again with the cache filled (repeat). Wall-clock of the whole command beside it. Goal: the "
        f"repeat of `irlax train gail --seeds 5` compiles in at most {GOAL_TRAIN_REPEAT:.0f} s.",
        "",
        "| command | uncached compile | first (empty cache) | repeat (cached) | of which trace + lower | "
        "wall-clock uncached / repeat |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows.values():
        lines.append(f"| `irlax {r['label']}` | {r['uncached']['compile']:.1f} s | "
                     f"{r['first']['compile']:.1f} s | {r['repeat']['compile']:.1f} s | "
                     f"{r['repeat']['trace_and_lower']:.1f} s | "
                     f"{r['uncached']['wall']:.1f} s / {r['repeat']['wall']:.1f} s |")
    train = rows.get("train")
    if train is not None:
        met = "met" if train["repeat"]["compile"] <= GOAL_TRAIN_REPEAT else "missed"
        lines += ["", f"Repeat of `irlax train gail --seeds 5`: {train['repeat']['compile']:.1f} s of compiling "
                      f"(goal at most {GOAL_TRAIN_REPEAT:.0f} s: {met})."]
    lines += ["", f"Machine: {machine_line(header['machine'])}. Command: `{header['command']}`."]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure every command uncached, first and repeated; write the report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=["fit", "expert", "bc", "train"], help="measure only these")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    header = report_header("compile_speed.py", sys.argv[1:])
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="irlax-compile-") as tmp:
        work = Path(tmp)
        prepare(work, work / "unused-cache")
        for name, argv in commands(work, args.quick).items():
            if args.only and name not in args.only:
                continue
            cache = work / f"cache-{name}"
            row: dict[str, Any] = {"argv": argv}
            row["uncached"] = run_irlax([*fresh_out(argv, "uncached")], cache, {"IRLAX_COMPILE_CACHE": "0"})
            row["first"] = run_irlax(fresh_out(argv, "first"), cache)
            row["repeat"] = run_irlax(fresh_out(argv, "repeat"), cache)
            row["label"] = LABELS[name]
            print(f"{name}: compile uncached {row['uncached']['compile']:.1f} s, first {row['first']['compile']:.1f} s,"
                  f" repeat {row['repeat']['compile']:.1f} s", flush=True)
            rows[name] = row
    results = {**header, "commands": rows,
               "train_repeat_compile_seconds": rows["train"]["repeat"]["compile"] if "train" in rows else None,
               "goal_train_repeat_seconds": GOAL_TRAIN_REPEAT}
    out = output_path(args.out, args.quick, OUT)
    write_report(out, results, markdown(rows, header))
    print(markdown(rows, header))


if __name__ == "__main__":
    main()
