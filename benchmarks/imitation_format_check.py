"""irlax's ``imitation`` trajectory files against the ``imitation`` library itself, both ways.

The tests build ``imitation``-format directories with ``datasets`` (imitation is not installed with irlax); this
check closes the loop with the real library, in its own virtual environment (``imitation_venv.py``: imitation
1.0.1 and the ``datasets`` version it resolves):

1. irlax writes demonstrations (the cached Hopper-v5 ones of ``mujoco_irl.py``, continuous actions, and the
   CartPole-v1 ones, discrete) with :func:`irlax.data.imitation_format.save_imitation`;
2. ``imitation.data.serialize.load`` reads each, checks every trajectory against irlax's arrays (observations,
   actions, rewards, terminal flags), and ``serialize.save`` writes the trajectories again;
3. irlax reads imitation's directory back and compares every field both formats hold.

Run: ``PYTHONPATH=src python benchmarks/imitation_format_check.py``. Prints one line per file and exits non-zero
on any difference; writes ``benchmarks/results/imitation_format_check.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_machine import ROOT, report_header
from imitation_venv import ensure_venv

from irlax.atomic import atomic_write_json
from irlax.data.demos import load_demonstrations
from irlax.data.imitation_format import load_imitation, save_imitation

HELD = ("obs", "next_obs", "actions", "rewards", "terminated", "truncated", "mask")
SOURCES = {"Hopper-v5": ROOT / "benchmarks" / "experts" / "demos-Hopper-v5-mujoco-10.npz",
           "CartPole-v1": ROOT / "benchmarks" / ".cache" / "demos-CartPole-v1-60.npz"}
OUT = ROOT / "benchmarks" / "results" / "imitation_format_check.json"

IMITATION_SIDE = r"""
import json, sys
import numpy as np
import datasets, imitation
from imitation.data import serialize
src, dst, arrays = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
trajs = serialize.load(src)
lengths = arrays["mask"].sum(axis=1)
assert len(trajs) == len(lengths), (len(trajs), len(lengths))
for i, t in enumerate(trajs):
    n = int(lengths[i])
    assert np.array_equal(np.asarray(t.obs[:-1], np.float32), arrays["obs"][i, :n]), i
    assert np.array_equal(np.asarray(t.obs[1:], np.float32), arrays["next_obs"][i, :n]), i
    assert np.array_equal(np.asarray(t.acts), arrays["actions"][i, :n]), i
    assert np.array_equal(np.asarray(t.rews, np.float32), arrays["rewards"][i, :n]), i
    assert bool(t.terminal) == bool(arrays["terminated"][i, n - 1]), i
serialize.save(dst, trajs)
print(json.dumps({"imitation": imitation.__version__, "datasets": datasets.__version__, "trajectories": len(trajs),
                  "type": type(trajs[0]).__name__}))
"""


def check(task: str, source: Path, work: Path, python: Path) -> dict:
    """Write ``source``'s demonstrations in ``imitation``'s format and read them back with ``imitation`` (the
    interpreter ``python``, in ``work``), and the other way round: each held field compared."""
    demos = load_demonstrations(source)
    ours, theirs, arrays = work / f"{task}-irlax", work / f"{task}-imitation", work / f"{task}.npz"
    save_imitation(ours, demos)
    np.savez(arrays, **{key: np.asarray(getattr(demos, key)) for key in HELD})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([str(python), "-c", IMITATION_SIDE, str(ours), str(theirs), str(arrays)],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SystemExit(f"{task}: imitation could not read irlax's file:\n{run.stderr[-2000:]}")
    record = json.loads(run.stdout.strip().splitlines()[-1])
    back = load_imitation(theirs, env_name=task)
    for key in HELD:
        if not np.array_equal(np.asarray(getattr(back, key)), np.asarray(getattr(demos, key))):
            raise SystemExit(f"{task}: {key} differs after imitation's round trip")
    record.update(task=task, episodes=demos.num_episodes, steps=int(np.asarray(demos.lengths()).sum()),
                  fields_equal=list(HELD))
    print(f"{task}: {record['trajectories']} trajectories read by imitation {record['imitation']} (datasets "
          f"{record['datasets']}) as {record['type']}, written again and read back by irlax: every field equal")
    return record


def main() -> None:
    """Check every task whose demonstrations exist and write the results."""
    results = report_header("imitation_format_check.py")
    python = ensure_venv()
    with tempfile.TemporaryDirectory() as work:
        results["checks"] = [check(task, path, Path(work), python) for task, path in SOURCES.items()
                             if path.exists()]
    if not results["checks"]:
        sys.exit("no cached demonstrations to check: run benchmarks/mujoco_irl.py or imitation_compare.py first")
    atomic_write_json(OUT, results)


if __name__ == "__main__":
    main()
