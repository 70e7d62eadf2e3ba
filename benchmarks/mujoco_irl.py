"""The field's benchmark: GAIL, AIRL, GCL, BC and irlax's other imitation algorithms on MuJoCo locomotion (issue 14),
beside the ``imitation`` library's published table; resumable per cell.

For each task (Hopper-v5, HalfCheetah-v5, Walker2d-v5, Ant-v5, Swimmer-v5) the script takes the expert of
``benchmarks/mujoco_experts.py`` named in :data:`EXPERTS` (trained first when missing: that script's cells are
resumable too), records 10 of its episodes (``benchmarks/experts/demos-TASK-mujoco-10.npz``; the expert's policy and
its demonstrations are kept in the repository, see :data:`KEPT`), and runs each method
on 10 of them (1 and 4 as well on Hopper and HalfCheetah for :data:`CURVE_METHODS`: the data-efficiency curve;
DAgger's clone also learns from the expert's labels of the states it visits, so it leans on the demonstrations
least):

- ``gail``, ``airl`` (state-only reward ``g(s)``), ``airl-sa`` (state-action ``g(s, a)``), ``gcl``: ``irlax train``
  with the learner of :func:`inner_learner` inside: PPO on Hopper and Walker2d (:data:`PPO_ENV_STEPS` environment
  steps per seed: on two CPU cores PPO runs at thousands of steps per second; step size annealed, see
  :data:`PPO_ITERATION_STEPS`), SAC on the tasks where PPO's expert
  falls far short of SAC's (:data:`SAC_ENV_STEPS` SAC steps: its 256 x 256 updates run at a few hundred a
  second); then the learned reward re-optimised by a fresh learner of the same kind for as many steps
  (``--reoptimize-steps``);
- ``bc``: ``irlax bc``; ``dagger``: ``irlax train dagger`` with the expert that recorded the demonstrations;
- ``sqil``, ``iq-learn``: ``irlax train`` with their SAC presets for :data:`SAC_ENV_STEPS` steps.

Every cell is :data:`SEEDS` seeds in one vmapped run, into ``benchmarks/runs/mujoco_irl/TASK-METHOD-Ndemos``. A
cell with a summary is reused, one with a checkpoint resumed (``irlax train --resume``), so the script can be
stopped at any time and rerun, in this session or the next (``kill``, SIGTERM, ends the cell as Ctrl-C does; it
loses what it did since its last checkpoint, ``checkpoint.npz`` or ``reoptimize.npz``, so stop it just after one
changes: a cell's ``seconds`` are wall-clock, and a process paused with SIGSTOP counts the pause); cells run in
:data:`ORDER` (Hopper's first). The runs
are not in the repository: ``--carry`` packs the unfinished cells (those small enough, :mod:`carry`) into
``benchmarks/carried/mujoco_irl`` to commit, and the script unpacks them when it starts in a checkout that lacks
them, so a cell goes on from its checkpoint on another machine; a finished cell stands in the JSON. A cell with
SAC inside is too large to carry while it trains (its replay buffer, critics and optimiser states: 46 MB for
Swimmer's SQIL at round 50); once trained it is carried slimmed to its policy and learned reward (1.1 MB for that
cell's checkpoint, compressed), and its re-optimisation starts again on the next machine. So on a machine that
does not keep ``benchmarks/runs`` such a cell must finish its training within one session: Swimmer's SQIL took
82 minutes on a two-core AMD EPYC, the test suite running beside it for 30 of them. Each cell
reports the imitation policy's deterministic return normalised as ``(score - random) / (expert - random)``
(random: a uniformly random policy; expert: the demonstrations' mean return), its mean over seeds with a 95%
percentile-bootstrap CI, and per method the mean and IQM over the five tasks with stratified-bootstrap CIs
(:func:`irlax.metrics.aggregate.task_aggregates`).

Usage::

    PYTHONPATH=src nice -n 19 python benchmarks/mujoco_irl.py                  # every cell, resumable
    PYTHONPATH=src python benchmarks/mujoco_irl.py --tasks Hopper-v5 --methods gail bc
    PYTHONPATH=src python benchmarks/mujoco_irl.py --report                    # rewrite the page from the runs
    PYTHONPATH=src python benchmarks/mujoco_irl.py --carry                     # pack unfinished cells to commit
    PYTHONPATH=src python benchmarks/mujoco_irl.py --stop                      # stop the running cells, losing nothing

Writes ``benchmarks/results/mujoco_irl.json`` (``cells``, ``summary``, ``machine``; ``unfinished``: the progress of
the cells under way, :func:`in_progress`), ``.md`` and
``mujoco_irl_curves.png`` (return against environment steps) and ``mujoco_irl_demos.png`` (data efficiency).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import signal
import time
import zipfile
from pathlib import Path
from typing import Any

import carry
import mujoco_experts
import numpy as np
from bench_machine import ROOT, cpu_model, machine_line, one_minute, report_header, write_report
from irlax_runs import irlax_main

from irlax.algorithms.airl import resolved_policy_reward
from irlax.algorithms.registry import PPO_ROUND, preset
from irlax.atomic import atomic_savefig
from irlax.cli.runs import CHECKPOINT, REOPT_CHECKPOINT
from irlax.data.demos import load_demonstrations
from irlax.learners.evaluation import normalized_return
from irlax.metrics.aggregate import mean_ci, task_aggregates

TASKS = ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Swimmer-v5")
EXPERTS = {"Hopper-v5": ("ppo-2m", True), "HalfCheetah-v5": ("sac", True), "Walker2d-v5": ("ppo-2m", True),
           "Ant-v5": ("sac", False), "Swimmer-v5": ("sac", True)}
"""The expert of each task (``benchmarks/mujoco_experts.py``'s cell, seed 0): its learner and whether its
demonstrations take the deterministic action; each the better of that script's experts on the task. On Hopper the
1M-step PPO's stochastic demonstrations all ended in a fall (236 to 898 steps, mean return 2084); the 2M-step
annealed PPO's deterministic ones fall in 1 of 10 (mean 3569). AIRL, whose absorbing state learns how
expert-like ending an episode is, scored 0.51 on the first and 0.43 on the second (3 seeds, constant PPO step
size): not the falls, then. On Walker2d the 1M-step PPO's stochastic demonstrations fell in 6 of 10; the
2M-step annealed PPO reaches 5820 deterministic (3410 the 1M-step one, 1443 SAC at 300k)."""
DEMO_EPISODES = 10
CURVE_TASKS, CURVE_DEMOS = ("Hopper-v5", "HalfCheetah-v5"), (1, 4)
SEEDS, EVAL_EPISODES = 4, 10
"""Seeds per new cell: four (cells made before 2026-12-06 have three). Chosen on the belief that ``irlax`` splits
a run's seeds over the cores and pads three to four; it does that for pure-JAX tasks only: a Gymnasium run's seeds
stay on one device (``benchmarks/host_seeds.py``: splitting them measured no consistent gain), so the fourth seed
costs its own time (the host steps every seed's environments). Kept at four for the statistics."""
PPO_ENV_STEPS, SAC_ENV_STEPS = 1_000_000, 100_000
ADVERSARIAL = ("gail", "airl", "airl-sa", "gcl")
METHODS = (*ADVERSARIAL, "bc", "dagger", "sqil", "iq-learn")
CURVE_METHODS = ("gail", "airl", "bc", "dagger")
CLONE_SETTINGS = {
    "bc": ["--set", "hidden=256,256,256", "--epochs", "200", "--set", "batch_size=256"],
    "dagger": ["--set", "hidden=256,256,256", "--rounds", "20", "--set", "buffer_size=20480",
               "--set", "learning_rate=3e-4", "--set", "epochs=40"],
}
"""BC's and DAgger's settings on MuJoCo, chosen on Hopper-v5 (3 seeds, 10 stochastic demonstrations of the 1M-step PPO
expert that Hopper had then, deterministic return normalised): BC with its default 64 x 64 clone 0.52, 256 x 256
0.66, 256 x 256 x 256 for 200 epochs 0.88 and 0.85 (two seeds of the run; 400 epochs 0.55, 100 epochs 0.75); on
2026-12-07, with the 2M-step expert's 10 deterministic demonstrations (4 seeds, deterministic return, ``irlax bc``
with the cell's options and the one named), BC's minibatches of 256 instead of 64 scored 0.896 (0.86, 0.96, 0.95,
0.82; again with ``--seed 1``: 0.881) against 0.700 (0.53, 0.70, 0.55, 1.02), and on Ant-v5 0.837 (0.89, 0.74, 0.51,
1.20) against the cell's 0.700; on Hopper a step size of 3e-4 gave 0.799, ReLU 0.785, ``l2=1e-4`` 0.719. DAgger with
its defaults (64 x 64, 10 rounds of 1024 queries) 0.41, with the 256 x 256 x 256 clone and 20 rounds keeping every
labelled state 0.98. DAgger's step size and epochs chosen on Hopper-v5 with 1 demonstration of the 2M-step PPO expert
(3 seeds, 2026-12-06; deterministic policy, as the table scores): the clone's default step size 1e-3 and 20 epochs a
round 0.796 (its rollout returns swung between 1100 and 3650 from round to round), 3e-4 and 40 epochs 0.84, 0.91,
0.95 (0.904; the stochastic policy 0.95, 0.96, 0.88); with minibatches of 256 as BC's (2026-12-07, the 10-demonstration
cell's command with ``--set batch_size=256``, 4 seeds, ``benchmarks/runs/tried/hopper-dagger-b256``) 0.804 (0.76,
0.86, 0.81, 0.79; stochastic 0.917) against the cell's 0.822 (stochastic 0.865): kept at 64. BC's epochs are those of
:data:`DEMO_EPISODES`
demonstrations; with fewer, as many more that the clone takes the same number of Adam steps (:func:`clone_settings`):
with 200 epochs whatever the demonstrations, one Hopper-v5 demonstration (four minibatches an epoch) gave 0.368 (0.37,
0.35, 0.44, 0.32), with 2,000 epochs 0.80 (0.61, 0.88, 0.79, 0.92; 2026-12-07, the cell's command with
``--epochs 2000``)."""


def clone_settings(method: str, demos: int) -> list[str]:
    """BC's or DAgger's options in a cell (:data:`CLONE_SETTINGS`), BC's epochs scaled to ``demos``: as many Adam
    steps as with :data:`DEMO_EPISODES` demonstrations (7,800-8,000 on Hopper-v5 and HalfCheetah-v5 with 1, 4 or
    10). ``irlax bc --steps`` now does this by itself; the cells keep ``--epochs``, with which they were made."""
    args = list(CLONE_SETTINGS[method])
    if method == "bc":
        at = args.index("--epochs") + 1
        args[at] = str(int(args[at]) * DEMO_EPISODES // demos)
    return args


def clone_distribution(task: str) -> str:
    """The policy class of BC's and DAgger's clone on ``task``, named in the cell's command: the one
    ``irlax bc`` picks from the demonstrations (:func:`irlax.algorithms.bc.demonstrated_distribution`), which
    follows the expert's learner here: a PPO expert's clipped actions sit on the bounds (3-80% of each Hopper-v5
    dimension; BC on Hopper-v5 0.15 with the tanh clone, 0.81 with the clipped one), a SAC expert's never."""
    return "clipped_gaussian" if EXPERTS[task][0].startswith("ppo") else "tanh_gaussian"

SAC_ROUND_STEPS = 100
"""SAC steps per round of SQIL and IQ-Learn and of GAIL, AIRL and GCL with SAC inside (their presets: 100 SAC
steps a round; GAIL and AIRL sample as many again for the discriminator, GCL one episode)."""
SAC_BUFFER = SAC_ENV_STEPS
"""The replay buffer of SAC inside a cell (GAIL, AIRL and GCL with SAC inside, their re-optimisation, SQIL) holds
:data:`SAC_ENV_STEPS`, every transition the run makes (``--learner-set buffer_size=100000``), not the MuJoCo preset's
1M: a buffer that never wraps learns the same to the bit whatever its capacity
(``tests/test_sac.py::test_a_buffer_the_size_of_the_run_learns_what_a_larger_one_does``), and 1M rows of Ant-v5's
transitions take about 0.9 GB a seed in memory and in each checkpoint. IQ-Learn's own buffer is 100k already."""
SAC_BUFFER_ARGS = ["--learner-set", f"buffer_size={SAC_BUFFER}"]
"""What sets :data:`SAC_BUFFER` on a cell's command line."""
PPO_ITERATION_STEPS = 2048
"""Environment steps of one PPO iteration (the MuJoCo preset's 8 environments x 256 steps): one a round inside
GAIL, AIRL and GCL. The inner PPO's step size is annealed linearly to zero over its ``rounds x 2048`` steps, and the
re-optimising PPO gets as many steps, annealed the same way: GAIL on Hopper-v5 (3 seeds, the same seeds) scored 0.64
(0.58, 1.01, 0.31) with a constant step size and 0.90 (0.69, 1.00, 1.01) annealed, its training return swinging
between 900 and 3600 in the last 100k steps without (``irlax train gail --demos
benchmarks/experts/demos-Hopper-v5-mujoco-10.npz --seeds 3 --learner ppo --rounds 326``, with and without
``--learner-set lr_anneal_steps=667648``)."""
PPO_ROUND_STEPS = {"gail": 3072, "airl": 3072, "airl-sa": 3072, "gcl": 2187}
"""Environment steps per round with PPO (one PPO iteration of 8 x 256 steps plus the discriminator's samples;
GCL's sampled episodes vary: its mean on Hopper), to turn :data:`PPO_ENV_STEPS` into rounds."""
GAIL_PPO_BUFFER = 2 * PPO_ROUND["sample_envs"] * PPO_ROUND["sample_steps"]
"""GAIL's discriminator with PPO inside learns against the last two rounds' policy samples (``--set
buffer_size=2048``), not the whole run as the control tasks' preset has it
(:data:`irlax.algorithms.registry.GAIL_PPO_HISTORY`): on Hopper-v5 (the same 3 seeds) every round's samples
(``--set buffer_size=333824``) scored 0.66 (0.28, 0.96, 0.73), re-optimised 0.12, against 0.90 (0.69, 1.00, 1.01),
re-optimised 0.13, with the last two rounds'; the discriminator's loss ended at 0.18-0.27, telling the current
policy from the demonstrations mostly by the stale samples of 326 rounds. On Walker2d-v5 the whole run's scored 0.10
(0.19, 0.06, 0.04)."""
PUBLISHED = {
    "airl": {"Ant-v5": 0.981, "HalfCheetah-v5": 0.627, "Hopper-v5": 0.921, "Swimmer-v5": 0.970,
             "Walker2d-v5": 0.461, "mean": 0.792, "iqm": 0.918},
    "bc": {"Ant-v5": 0.844, "HalfCheetah-v5": 0.923, "Hopper-v5": 1.003, "Swimmer-v5": 0.935,
           "Walker2d-v5": 0.956, "mean": 0.932, "iqm": 0.941},
    "dagger": {"Ant-v5": 0.957, "HalfCheetah-v5": 1.017, "Hopper-v5": 1.011, "Swimmer-v5": 0.988,
               "Walker2d-v5": 1.002, "mean": 0.995, "iqm": 1.004},
    "gail": {"Ant-v5": 0.995, "HalfCheetah-v5": 0.963, "Hopper-v5": 0.935, "Swimmer-v5": 0.845,
             "Walker2d-v5": 0.959, "mean": 0.939, "iqm": 0.957},
}
"""The ``imitation`` library's benchmark summary (its documentation; 10 seeds, on the ``seals`` fixed-horizon
variants of the tasks, normalised by its own experts; GAIL and AIRL trained 10M environment steps with its tuned
settings, ``benchmarking/*_best_hp_eval.json`` in its repository), keyed by the task irlax runs in its place."""
GOALS = {"gail": (0.95, 0.85), "airl": (0.95, 0.85)}
"""Issue 14: normalised mean over the five tasks, and no task below."""
ONE_DEMO_GOAL = 0.9
TRIED = (
    "Tried for AIRL on Hopper-v5 (3 seeds, 1M steps, PPO inside): the 1M-step PPO expert's demonstrations, "
    "which all end in a fall, 0.51; the 2M-step annealed PPO expert's, 0.43 with a constant PPO step size and "
    "0.36 annealed; the policy trained on `f` alone (`--set policy_reward=shaped`, with and without "
    "`--learner-set ent_coef=0.01`; 1 seed, 600k steps, on the first demonstrations): the policy reward fell to "
    "-27 to -84 a step and episodes to about 10 steps (normalised 0.00); `--set gradient_penalty=10` on the "
    "discriminator's expert inputs (annealed PPO): 0.33, the discriminator calling everything expert. Each is "
    "`irlax train airl --demos benchmarks/experts/demos-Hopper-v5-mujoco-10.npz --seeds 3 --learner ppo --rounds "
    "326 --reoptimize-steps 0` with the options named. What held AIRL back: its policy reward `f - log pi` "
    "carries an entropy bonus, and with the unclipped Gaussian's density PPO bought it by widening the policy "
    "past the action bounds (standard deviations of 2.5 to 6 at the end, GAIL's 0.3 to 0.6). With `log pi` of "
    "the clipped action (the Gaussian censored at the bounds, as irlax's PPO now gives AIRL) the same command "
    "scored 0.72 (0.61, 0.57, 0.98), the policy's standard deviation staying near 1; the table's cell is made "
    "that way. Starting the policy narrower (`--learner-set log_std_init=-1`) then gave 0.70 (0.74, 0.65, 0.70), "
    "its log standard deviation rising back to -0.4 to 0. What lifted it (2026-12-06): GAIL's reward form on AIRL's "
    "discriminator, `softplus(f - log pi)`, never negative (AIRL's preset with PPO on Hopper-v5; "
    "`--set policy_reward=softplus` on the same command: 1.01, 1.01, 1.00); `f - log pi` is unbounded below, and "
    "once the policy's per-step reward sinks to about the absorbing state's, a fall no longer costs more than "
    "going on. Tried for AIRL on Walker2d-v5 (the same command on its demonstrations): softplus 0.06, 0.06, 0.04, "
    "training episodes flat at about 250 of the expert's 6122 from round 80; the logit (the cell) 0.04, 0.08, "
    "0.22, still climbing at the end (350-630 at round 300), the discriminator at 0.9-1.0 accuracy in both. "
    "imitation's published AIRL there (0.461) trained ten times as long on seals' Walker2d, where a fall does not "
    "end the episode."
)
"""What was tried where a goal is missed (issue 14 asks for it on the page)."""

RUNS = ROOT / "benchmarks" / "runs" / "mujoco_irl"
KEPT = ROOT / "benchmarks" / "experts"
"""The experts' policies and their demonstrations, kept in the repository (hours of training on two cores, and the
table's cells are measured against these exact demonstrations): ``KEPT/TASK-LEARNER`` (``expert.json`` and
``policy.npz``, all :func:`irlax.run.experts.load_expert` reads) and ``KEPT/demos-TASK-mujoco-10.npz``. Made by
:func:`ensure_demos` when missing; delete one to make it again."""
EXPERT_FILES = ("expert.json", "policy.npz")
OUT = ROOT / "benchmarks" / "results" / "mujoco_irl.json"


def cells(tasks: tuple[str, ...] = TASKS, methods: tuple[str, ...] = METHODS) -> list[tuple[str, str, int]]:
    """Every ``(task, method, demos)`` of the table, in the order they run: Hopper's cells first, the
    10-demonstration column, then the data-efficiency cells."""
    main = [(task, method, DEMO_EPISODES) for task in tasks for method in methods]
    curve = [(task, method, n) for task in tasks if task in CURVE_TASKS for method in methods
             if method in CURVE_METHODS for n in CURVE_DEMOS]
    first = [c for c in main + curve if c[0] == TASKS[0]]
    return first + [c for c in main + curve if c not in first]


def inner_learner(task: str) -> str:
    """The forward learner inside GAIL, AIRL and GCL on ``task``: that of its expert (:data:`EXPERTS`), the one that
    did better at its budget (``benchmarks/mujoco_experts.py``: PPO at 1M steps reached 1652 on HalfCheetah against
    SAC's 7090 at 300k, 145 against 345 on Swimmer, 485 against 1594 on Ant, so PPO inside caps the imitation there:
    GAIL with PPO on HalfCheetah-v5, 3 seeds, 0.127 normalised)."""
    return mujoco_experts.irlax_learner(EXPERTS[task][0])


def cell_dir(task: str, method: str, demos: int) -> Path:
    """The run directory of one cell (BC's run directory lies inside it)."""
    return RUNS / f"{task}-{method}-{demos}demos"


def setup_file(task: str, method: str, demos: int) -> Path:
    """Beside the cell's directory: the :func:`cell_setup` it was started with."""
    return RUNS / f"{task}-{method}-{demos}demos.setup"


def recorded_setup(task: str, method: str, demos: int) -> str | None:
    """The setup a cell was started with, or ``None`` (a cell started before setups were recorded)."""
    path = setup_file(task, method, demos)
    return path.read_text().strip() if path.exists() else None


def expert_dir(task: str) -> Path:
    """The task's expert: the kept copy (:data:`KEPT`) where there is one, else its ``mujoco_experts`` run."""
    learner, _ = EXPERTS[task]
    kept = KEPT / f"{task}-{learner}"
    if (kept / "expert.json").exists():
        return kept
    return ROOT / "benchmarks" / "runs" / "mujoco_experts" / f"{task}-{learner}-seed0"


def demos_path(task: str) -> Path:
    """Where the task's :data:`DEMO_EPISODES` demonstrations are kept."""
    return KEPT / f"demos-{task}-mujoco-{DEMO_EPISODES}.npz"


def ensure_demos(task: str) -> Path:
    """The task's demonstrations: :data:`DEMO_EPISODES` episodes of its expert (trained first if missing), both
    kept under :data:`KEPT`."""
    path = demos_path(task)
    if path.exists():
        return path
    expert = expert_dir(task)
    if not (expert / "expert.json").exists():
        learner, _ = EXPERTS[task]
        if mujoco_experts.run_cell(task, learner, 0, mujoco_experts.STEPS[learner]) != 0:
            raise SystemExit(f"training the {learner} expert of {task} failed")
    kept = KEPT / f"{task}-{EXPERTS[task][0]}"
    if expert != kept:
        kept.mkdir(parents=True, exist_ok=True)
        for name in EXPERT_FILES:
            shutil.copyfile(expert / name, kept / name)
    deterministic = ["--deterministic"] if EXPERTS[task][1] else []
    if irlax_main(["demos", "--expert", str(kept), "--episodes", str(DEMO_EPISODES), "--out", str(path),
                   *deterministic]) != 0:
        raise SystemExit(f"recording demonstrations of {task} failed")
    return path


def summary_path(task: str, method: str, demos: int) -> Path | None:
    """The finished cell's ``summary.json``, or ``None``."""
    base = cell_dir(task, method, demos)
    if method == "bc":
        found = sorted(base.glob("*/summary.json")) if base.is_dir() else []
        return found[-1] if found else None
    return base / "summary.json" if (base / "summary.json").exists() else None


RECENT_ROUNDS = 10
"""Rounds (with episodes) an unfinished cell's recent training return is the mean over."""
UNREADABLE = (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile)
"""What reading a checkpoint raises when it is not whole or not of the kind expected (the cell is then skipped)."""


def in_progress(recent: int = RECENT_ROUNDS) -> list[dict[str, Any]]:
    """The unfinished cells with a checkpoint: rounds done of the run's, environment steps per seed, seconds so far,
    the mean training return of the last ``recent`` rounds in which episodes ended (over seeds, the true reward),
    whether training is over and the re-optimisation or evaluation is running, and the re-optimisation's progress
    (:func:`reoptimization_progress`)."""
    rows = []
    for task, method, demos in cells():
        run_dir = cell_dir(task, method, demos)
        checkpoint, config = run_dir / CHECKPOINT, run_dir / "config.json"
        if summary_path(task, method, demos) is not None or not checkpoint.exists() or not config.exists():
            continue
        try:
            total = int(json.loads(config.read_text())["rounds"])
            with np.load(checkpoint) as ckpt:
                done, seconds = int(ckpt["done"]), float(ckpt["seconds"])
                env_steps, returns = ckpt["metric_env_steps"], ckpt["metric_mean_return"]
        except UNREADABLE:
            continue
        ended = np.isfinite(returns)  # rounds in which a seed's episodes ended
        counts = ended.sum(axis=0)
        per_round = np.where(ended, returns, 0.0).sum(axis=0)[counts > 0] / counts[counts > 0]
        finite = per_round[-recent:]
        rows.append({"task": task, "method": method, "demos": demos, "rounds_done": done, "rounds": total,
                     "env_steps": float(env_steps[:, -1].mean()) if env_steps.size else 0.0, "seconds": seconds,
                     "recent_training_return": float(finite.mean()) if finite.size else None,
                     "training_done": done >= total, "reoptimization": reoptimization_progress(run_dir)})
    return rows


def reoptimization_progress(run_dir: Path) -> dict[str, float] | None:
    """How far a cell's re-optimisation has got, from its checkpoint: ``steps`` per seed in all, ``steps_done``
    (``None`` in a checkpoint written before it recorded its iterations in all) and ``seconds``; ``None`` when the
    run has no re-optimisation checkpoint or it can't be read (not whole, or not a checkpoint)."""
    try:
        with np.load(run_dir / REOPT_CHECKPOINT) as ckpt:
            done, steps, seconds = int(ckpt["done"]), int(ckpt["steps"]), float(ckpt["seconds"])
            iterations = int(ckpt["iterations"]) if "iterations" in ckpt.files else None
    except UNREADABLE:
        return None
    return {"steps": float(steps), "steps_done": None if not iterations else steps * done / iterations,
            "seconds": seconds}


def progress_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The page's table of :func:`in_progress` cells (nothing when none)."""
    if not rows:
        return []
    lines = ["Unfinished cells (each goes on from its checkpoint when the script runs again; the training return is "
             f"the mean over seeds of the last {RECENT_ROUNDS} rounds' episodes, stochastic policy, true reward):", "",
             "| task | method | demos | rounds done | env steps per seed | recent training return | time so far |",
             "|---|---|---:|---|---:|---:|---:|"]
    for r in rows:
        done = f"{r['rounds_done']} of {r['rounds']}"
        reopt = r.get("reoptimization")
        if reopt is not None:
            got = "" if reopt["steps_done"] is None else f"{reopt['steps_done']:,.0f} of "
            done += f" (re-optimising: {got}{reopt['steps']:,.0f} steps, {reopt['seconds'] / 3600:.1f} h)"
        elif r["training_done"]:
            done += " (re-optimising or evaluating)"
        ret = "n/a" if r["recent_training_return"] is None else f"{r['recent_training_return']:.0f}"
        lines.append(f"| {r['task']} | {r['method']} | {r['demos']} | {done} | {r['env_steps']:,.0f} | {ret} | "
                     f"{r['seconds'] / 3600:.1f} h |")
    return [*lines, ""]


def adversarial_settings(task: str, method: str) -> dict[str, Any]:
    """The fields of an adversarial method's preset a cell changes (``irlax train``'s ``--set``): AIRL's
    state-action reward for ``airl-sa``; GAIL's discriminator on the last two rounds' samples with PPO inside."""
    settings: dict[str, Any] = {"state_only": False} if method == "airl-sa" else {}
    if method == "gail" and inner_learner(task) == "ppo":
        settings["buffer_size"] = GAIL_PPO_BUFFER
    return settings


def cell_argv(task: str, method: str, demos: int, seeds: int) -> list[str]:
    """The ``irlax`` command line that starts a cell."""
    run_dir, data = cell_dir(task, method, demos), str(ensure_demos(task))
    common = ["--demos", data, "--episodes", str(demos), "--seeds", str(seeds), "--eval-episodes", str(EVAL_EPISODES),
              "--quiet"]
    if method == "bc":
        return ["bc", *common, "--out", str(run_dir), *clone_settings("bc", demos), "--set",
                f"distribution={clone_distribution(task)}"]
    argv = ["train", *common, "--out", str(run_dir)]
    if method in ADVERSARIAL:
        extra = [a for key, value in adversarial_settings(task, method).items()
                 for a in ("--set", f"{key}={str(value).lower()}")]
        inner = inner_learner(task)
        if inner == "sac":
            rounds, reopt = SAC_ENV_STEPS // SAC_ROUND_STEPS, SAC_ENV_STEPS
            extra += SAC_BUFFER_ARGS
        else:
            rounds = math.ceil(PPO_ENV_STEPS / PPO_ROUND_STEPS[method])
            reopt = rounds * PPO_ITERATION_STEPS
            extra += ["--learner-set", f"lr_anneal_steps={reopt}"]
        return [argv[0], method.removesuffix("-sa"), *argv[1:], "--learner", inner, "--rounds",
                str(rounds), "--reoptimize-steps", str(reopt), *extra]
    if method == "dagger":
        return [argv[0], "dagger", *argv[1:], "--expert", str(expert_dir(task)), *clone_settings("dagger", demos),
                "--set", f"distribution={clone_distribution(task)}"]
    return [argv[0], method, *argv[1:], "--reoptimize-steps", "0", "--rounds", str(SAC_ENV_STEPS // SAC_ROUND_STEPS),
            *(SAC_BUFFER_ARGS if method == "sqil" else [])]


def run_cell(task: str, method: str, demos: int, seeds: int = SEEDS) -> dict[str, Any]:
    """Train, resume or reuse one cell; its summary."""
    done = summary_path(task, method, demos)
    if done is not None:
        return json.loads(done.read_text())
    run_dir = cell_dir(task, method, demos)
    if method != "bc" and (run_dir / CHECKPOINT).exists():
        argv = ["train", "--resume", str(run_dir), "--quiet"]
    else:
        if run_dir.exists():  # a run stopped before its first checkpoint (or BC's, minutes long): started again
            shutil.rmtree(run_dir)
        argv = cell_argv(task, method, demos, seeds)
        RUNS.mkdir(parents=True, exist_ok=True)
        setup_file(task, method, demos).write_text(cell_setup(task, method, demos) + "\n")
    print(f"{task} {method} {demos} demos: irlax {' '.join(argv)}", flush=True)
    status = irlax_main(argv)  # the cell's compiled programs are dropped after it (irlax_runs.irlax_main)
    if status != 0:
        raise SystemExit(f"irlax failed for {method} on {task} with {demos} demonstrations")
    done = summary_path(task, method, demos)
    if done is None:
        raise SystemExit(f"{method} on {task} with {demos} demonstrations wrote no summary")
    return json.loads(done.read_text())


def seed_scores(summary: dict[str, Any], key: str = "normalized_return") -> list[float]:
    """Per-seed normalised returns of a summary (the deterministic policy's where it reports both)."""
    rows = summary["evaluation"]
    if key == "normalized_return" and rows and "deterministic_normalized_return" in rows[0]:
        key = "deterministic_normalized_return"
    return [float(row[key]) for row in rows if key in row]


def cell_setup(task: str, method: str, demos: int = DEMO_EPISODES) -> str:
    """What a cell's result depends on beyond its task, method and demonstrations: the expert, and the learner
    inside or the clone's settings (a cell of the last report made otherwise is not carried over)."""
    learner, deterministic = EXPERTS[task]
    parts = [f"expert {learner} {'deterministic' if deterministic else 'stochastic'}"]
    if method in ADVERSARIAL:
        inner = inner_learner(task)
        parts.append(f"inner {inner}" + (" annealed" if inner == "ppo" else ""))
        if method.startswith("airl"):
            parts.append(f"policy reward {resolved_policy_reward(preset('airl', task, inner).policy_reward, inner)}")
    elif method in CLONE_SETTINGS:
        parts.append(" ".join([*clone_settings(method, demos), "--set", f"distribution={clone_distribution(task)}"]))
    elif method == "iq-learn":  # its MuJoCo presets came on 2026-12-07; a cell made before had the defaults
        tuned = preset("iq-learn", task)
        parts.append("preset " + " ".join(f"{f.name}={getattr(tuned, f.name)}" for f in dataclasses.fields(tuned)
                                          if f.name != "rounds" and getattr(tuned, f.name) != f.default))
    return "; ".join(parts)


def cell_record(task: str, method: str, demos: int, summary: dict[str, Any]) -> dict[str, Any]:
    """One cell of ``mujoco_irl.json`` (the fields issue 14 names, then the details), made from the cell's run
    directory on this machine, whose CPU (``cpu``) it records: the cells come from sessions on different machines
    of two kinds, so the page's machine line, the last one's, is not every cell's."""
    scores = seed_scores(summary)
    ci = mean_ci(np.asarray(scores))
    reopt = seed_scores(summary, "reoptimized_normalized_return") if summary.get("reoptimization") else []
    reopt_ci = mean_ci(np.asarray(reopt)) if reopt else None
    seeds = int(summary.get("seeds", len(scores)))
    return {
        "task": task, "method": method, "seeds": seeds, "env_steps": float(summary.get("env_steps", 0.0)),
        "normalised_mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
        "seconds_per_run": float(summary["seconds"]) / max(seeds, 1),
        "cpu": cpu_model(), "demos": demos, "learner": summary.get("learner") or "bc", "normalised_per_seed": scores,
        "expert_return": summary.get("expert_return"), "random_return": summary.get("random_return"),
        "seconds": float(summary["seconds"]),
        "reoptimised_mean": None if reopt_ci is None else reopt_ci.mean,
        "reoptimised_ci": None if reopt_ci is None else [reopt_ci.low, reopt_ci.high],
        "reoptimised_per_seed": reopt or None,
        "reoptimise_steps": (summary.get("reoptimization") or {}).get("steps"),
        "pearson_expert": _finite_or_none((summary.get("reward") or {}).get("pearson_expert")),
        "pearson_random": _finite_or_none((summary.get("reward") or {}).get("pearson_random")),
        "setup": recorded_setup(task, method, demos),
        "curve": None if summary.get("expert_return") is None else training_curve(
            task, method, demos, float(summary["expert_return"]), float(summary["random_return"])),
    }


def _finite_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def method_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method with all five tasks finished (10 demonstrations): mean and IQM over tasks with stratified
    bootstrap CIs; methods with fewer tasks: the tasks done, no aggregate."""
    out: dict[str, Any] = {}
    for method in METHODS:
        rows = {r["task"]: r for r in records if r["method"] == method and r["demos"] == DEMO_EPISODES}
        if not rows:
            continue
        entry: dict[str, Any] = {"tasks": sorted(rows)}
        if len(rows) == len(TASKS):
            agg = task_aggregates([np.asarray(rows[t]["normalised_per_seed"]) for t in TASKS])
            entry.update(mean=agg["mean"].mean, mean_ci=[agg["mean"].low, agg["mean"].high], iqm=agg["iqm"].mean,
                         iqm_ci=[agg["iqm"].low, agg["iqm"].high])
        else:
            entry.update(mean=None, iqm=None)
        out[method] = entry
    return out


def goal_lines(records: list[dict[str, Any]], summary: dict[str, Any]) -> list[str]:
    """Issue 14's goals against the table."""
    lines = []
    for method, (mean_goal, floor) in GOALS.items():
        entry = summary.get(method)
        rows = [r for r in records if r["method"] == method and r["demos"] == DEMO_EPISODES]
        if entry is None or entry.get("mean") is None:
            below = [r for r in rows if r["normalised_mean"] < floor]
            status = (f"missed already ({', '.join(r['task'] for r in below)} below {floor}; the mean waits for the "
                      "rest)") if below else "not measured yet"
            lines.append(f"- {method}: mean over the five tasks ≥ {mean_goal}, no task < {floor}: {status} "
                         f"({len(rows)} of {len(TASKS)} tasks done" + (": " + ", ".join(
                             f"{r['task']} {r['normalised_mean']:.3f}" for r in rows) if rows else "") + ")")
            continue
        worst = min(rows, key=lambda r: r["normalised_mean"])
        met = entry["mean"] >= mean_goal and worst["normalised_mean"] >= floor
        lines.append(f"- {method}: mean {entry['mean']:.3f} (goal ≥ {mean_goal}), lowest task {worst['task']} "
                     f"{worst['normalised_mean']:.3f} (goal ≥ {floor}): {'met' if met else 'missed'}")
    one = [r for r in records if r["demos"] == 1]
    best = max(one, key=lambda r: r["normalised_mean"], default=None)
    per_task = {}
    for r in one:
        if r["task"] not in per_task or r["normalised_mean"] > per_task[r["task"]]["normalised_mean"]:
            per_task[r["task"]] = r
    if best is None:
        lines.append(f"- 1 demonstration on Hopper and HalfCheetah, one method ≥ {ONE_DEMO_GOAL}: not measured yet")
    else:
        text = ", ".join(f"{t}: {r['method']} {r['normalised_mean']:.3f}" for t, r in sorted(per_task.items()))
        met = len(per_task) == len(CURVE_TASKS) and all(r["normalised_mean"] >= ONE_DEMO_GOAL
                                                        for r in per_task.values())
        status = "met" if met else ("missed" if len(per_task) == len(CURVE_TASKS) else "partly measured")
        lines.append(f"- 1 demonstration, best method per task ≥ {ONE_DEMO_GOAL}: {text}: {status}")
    return lines


def fmt_ci(mean: float | None, low: float | None = None, high: float | None = None) -> str:
    """``mean`` to three places with its interval, if any, to two; empty for ``None``."""
    if mean is None:
        return ""
    return f"{mean:.3f}" if low is None else f"{mean:.3f} [{low:.2f}, {high:.2f}]"


def pearson(record: dict[str, Any]) -> str:
    """``expert / random`` Pearson correlations of the learned reward with the recorded rewards, if any."""
    if record.get("pearson_expert") is None:
        return ""
    return f"{record['pearson_expert']:.2f} / {record['pearson_random']:.2f}"


def demo_falls(path: Path) -> tuple[int, int, int, int]:
    """Of a demonstrations file: episodes that end terminated (a fall), episodes, and the shortest and longest
    episode's length."""
    demos = load_demonstrations(path)
    lengths = np.asarray(demos.lengths())
    falls = int(np.asarray(demos.terminated).any(axis=1).sum())
    return falls, len(lengths), int(lengths.min()), int(lengths.max())


def expert_text(task: str, records: list[dict[str, Any]]) -> str:
    """``Hopper-v5 PPO (stochastic demonstrations, mean return 2084, 10 of 10 end in a fall, 236-898 steps)``;
    the return once a cell of the task is done, the falls once its demonstrations are recorded."""
    learner, deterministic = EXPERTS[task]
    expert = next((r["expert_return"] for r in records if r["task"] == task), None)
    known = "" if expert is None else f", mean return {expert:.0f}"
    path = demos_path(task)
    if path.exists():
        falls, episodes, shortest, longest = demo_falls(path)
        known += f", {falls} of {episodes} end in a fall, {shortest}-{longest} steps"
    return f"{task} {learner.upper()} ({'deterministic' if deterministic else 'stochastic'} demonstrations{known})"


FEW_HOURS = 6.0
"""The bound taken for issue 14's "the whole table must fit in a few hours of background compute on two cores"."""


def compute_line(records: list[dict[str, Any]]) -> str:
    """How much of the table is done and what its finished cells' training cost (issue 14 asks for the whole
    table in a few hours of background compute on two cores)."""
    hours, total = sum(r["seconds"] for r in records) / 3600, len(cells())
    status = "missed already" if hours > FEW_HOURS else "met" if len(records) == total else "not measured yet"
    return (f"Compute: {len(records)} of {total} cells finished; their training took {hours:.1f} h of wall-clock in "
            "all (each cell's vmapped run over its seeds; re-optimisation and evaluation not counted), on a two-core "
            "machine shared with the other cells and experiments, which ran beside them at low priority. Goal: the "
            f"whole table within a few hours ({FEW_HOURS:g} h taken as the bound): {status}.")


def markdown(results: dict[str, Any]) -> str:
    """The results page fragment."""
    records, summary = results["cells"], results["summary"]
    main = {(r["task"], r["method"]): r for r in records if r["demos"] == DEMO_EPISODES}
    lines = [
        "## MuJoCo imitation and IRL against the imitation library's table", "",
        "Command: `PYTHONPATH=src nice -n 19 python benchmarks/mujoco_irl.py` (each cell one `irlax` run directory "
        "under `benchmarks/runs/mujoco_irl`, resumed or reused when the script runs again; `--report` rewrites this "
        "page from them, keeping the cells of the last page whose run directories are not on the machine, each with the"
        " CPU of the machine that finished it in the last column (for the cells recorded before 2026-12-07 20:00 UTC, "
        "read from the machine line of the first page that listed the cell with its present figures, in the "
        "repository's history; a carried cell may have trained partly on another); `--carry` packs the unfinished cells"
        " small enough into `benchmarks/carried/mujoco_irl`, unpacked when the script starts in another checkout: a "
        "cell with SAC inside only once trained, slimmed to its policy and learned reward). "
        f"Page written {results['date']}, 1-minute load "
        f"{one_minute(results['load_average_start'])}. "
        f"Machine: {machine_line(results['machine'])}.", "",
        f"{DEMO_EPISODES} demonstrations per task from the expert of `benchmarks/mujoco_experts.py` named below; "
        f"{SEEDS} seeds per cell in one vmapped run (3 in the cells made before 2026-12-06: the per-seed column "
        "shows each cell's); GAIL, AIRL and GCL with PPO inside on "
        f"{' and '.join(t for t in TASKS if inner_learner(t) == 'ppo')} for {PPO_ENV_STEPS:,} environment steps per "
        f"seed, the discriminator's samples included (then a fresh PPO re-optimises the frozen learned reward for "
        f"as many learner steps as the inner one took, {PPO_ITERATION_STEPS:,} a round; both with the step size "
        "annealed linearly to zero), with SAC inside on the others "
        f"({SAC_ENV_STEPS:,} SAC steps, each round's {SAC_ROUND_STEPS} beside as many sampled for the "
        "discriminator; then a fresh SAC re-optimises for as many; its replay buffer holds them all: "
        f"{SAC_BUFFER:,} transitions, 1M in the cells before 2026-12-07, the same result to the bit for a buffer "
        "that never wraps), the learner whose expert did better on the "
        f"task; SQIL and IQ-Learn with SAC for {SAC_ENV_STEPS:,} steps (IQ-Learn with the paper's MuJoCo settings, "
        "`iq_learn.MUJOCO`, since 2026-12-07), BC none (a 256 x 256 x 256 clone, 200 "
        "epochs of minibatches of 256, 64 before 2026-12-07; with "
        f"{' or '.join(str(n) for n in CURVE_DEMOS)} demonstrations "
        f"{' or '.join(f'{DEMO_EPISODES / n:g}' for n in CURVE_DEMOS)} times the epochs, as many Adam steps, since "
        "2026-12-07), DAgger 20 rounds of 1,024 expert-labelled steps (the "
        "same clone, minibatches of 64; settings chosen on Hopper, see "
        "`CLONE_SETTINGS` in the script). Score: the policy's deterministic return over "
        f"{EVAL_EPISODES} episodes per seed, normalised as "
        "(score - random) / (expert - random) with the demonstrations' mean as expert; per cell the mean over seeds "
        "[95% percentile-bootstrap CI]; per method the mean and IQM over the five tasks with stratified-bootstrap "
        "CIs (SciPy's bootstrap, rliable's estimator). Wall-clock per run: the cell's vmapped training over its seeds "
        "divided by the seeds (the run's `seconds`; its re-optimisation and evaluations come on top: on Hopper "
        "about as long again). The imitation library's published numbers (its documentation's benchmark summary, "
        "10 seeds) are on the `seals` fixed-horizon variants of the tasks (seals/Hopper-v1 ...), where a fall does "
        "not end the episode, with its own experts and its tuned settings (its `benchmarking/*_best_hp_eval.json`: "
        "GAIL and AIRL with PPO inside for 10M environment steps, ten times these cells' 1M), so they are beside "
        "irlax's, not the same measurement.", "",
        "Experts: " + ", ".join(expert_text(t, records) for t in TASKS) + ".", "",
        "| method | " + " | ".join(TASKS) + " | mean [95% CI] | IQM [95% CI] |",
        "|---|" + "---|" * (len(TASKS) + 2),
    ]
    for method in METHODS:
        row = [fmt_ci(main[(t, method)]["normalised_mean"], main[(t, method)]["ci_low"], main[(t, method)]["ci_high"])
               if (t, method) in main else "pending" for t in TASKS]
        entry = summary.get(method, {})
        agg = [fmt_ci(entry.get("mean"), *(entry.get("mean_ci") or (None, None))),
               fmt_ci(entry.get("iqm"), *(entry.get("iqm_ci") or (None, None)))]
        lines.append(f"| irlax {method} | " + " | ".join(row) + " | " + " | ".join(a or "pending" for a in agg) + " |")
        if method in PUBLISHED:
            pub = PUBLISHED[method]
            lines.append(f"| imitation {method} (published, seals) | " + " | ".join(f"{pub[t]:.3f}" for t in TASKS)
                         + f" | {pub['mean']:.3f} | {pub['iqm']:.3f} |")
    lines += ["", "Goals (issue 14):", "", *goal_lines(records, summary), "", compute_line(records), "", TRIED, "",
              "Every finished cell: normalised return per seed, the learned reward re-optimised by a fresh learner "
              "of the kind inside (GAIL, AIRL, GCL: PPO on Hopper and Walker2d, SAC elsewhere), the learned "
              "reward's Pearson correlation with the rewards the environment recorded, on "
              "expert and on random-policy transitions (MuJoCo's reward needs positions the observation leaves out, "
              "so it is no function of a transition irlax can evaluate anywhere: no EPIC distance), environment "
              "steps per seed and wall-clock.", "",
              "| task | method | demos | learner | normalised mean [95% CI] | per seed | re-optimised mean [95% CI] "
              "| Pearson, expert / random transitions | env steps per seed | wall-clock per run | CPU |",
              "|---|---|---:|---|---|---|---|---|---:|---:|---|"]
    for r in records:
        reopt = fmt_ci(r["reoptimised_mean"], *(r["reoptimised_ci"] or (None, None)))
        lines.append(f"| {r['task']} | {r['method']} | {r['demos']} | {r['learner']} | "
                     f"{fmt_ci(r['normalised_mean'], r['ci_low'], r['ci_high'])} | "
                     f"{', '.join(f'{v:.2f}' for v in r['normalised_per_seed'])} | {reopt} | {pearson(r)} | "
                     f"{r['env_steps']:,.0f} | "
                     f"{r['seconds_per_run'] / 60:.1f} min | {r.get('cpu') or 'not recorded'} |")
    lines += ["", *progress_lines(results.get("unfinished") or []),
              "![return against environment steps](mujoco_irl_curves.png)", "",
              "![data efficiency](mujoco_irl_demos.png)"]
    return "\n".join(lines) + "\n"


def finish_panel(ax: Any, title: str, xlabel: str, line: float) -> None:
    """A dashed reference line at ``line``, the title, the x label and the legend of one panel."""
    ax.axhline(line, color="grey", lw=0.8, ls="--")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def save_figure(fig: Any, first_ax: Any, ylabel: str, path: Path) -> None:
    """Label the first panel's y axis, lay the figure out and write it atomically."""
    import matplotlib.pyplot as plt

    first_ax.set_ylabel(ylabel)
    fig.tight_layout()
    atomic_savefig(path, fig)
    plt.close(fig)


def training_curve(task: str, method: str, demos: int, expert: float, random: float) -> dict[str, list[float]] | None:
    """A cell's training-episode return (normalised, mean over seeds) against environment steps per seed, from its
    ``metrics.jsonl``; kept in the cell's record, so the plot outlives the run directory."""
    metrics = cell_dir(task, method, demos) / "metrics.jsonl"
    if not metrics.exists():
        return None
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    # rounds in which no training episode ended have no mean return
    rows = [row for row in rows if row.get("mean_return") is not None and "env_steps" in row]
    if not rows:
        return None
    steps = sorted({row["env_steps"] for row in rows})
    by_step = {s: [row["mean_return"] for row in rows if row["env_steps"] == s] for s in steps}
    return {"env_steps": [float(s) for s in steps],
            "normalised": [float(normalized_return(np.mean(by_step[s]), random, expert)) for s in steps]}


def plot_curves(records: list[dict[str, Any]], path: Path) -> None:
    """Training-episode return (normalised, mean over seeds) against environment steps, per task and method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if any(r["task"] == t for r in records)]
    fig, axes = plt.subplots(1, max(len(tasks), 1), figsize=(4 * max(len(tasks), 1), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=False):
        for r in records:
            if r["task"] == task and r["demos"] == DEMO_EPISODES and r.get("curve"):
                ax.plot(r["curve"]["env_steps"], r["curve"]["normalised"], label=r["method"])
        finish_panel(ax, task, "environment steps per seed", 1.0)
    save_figure(fig, axes[0][0], "normalised training return", path)


def plot_demos(records: list[dict[str, Any]], path: Path) -> None:
    """Normalised return against the number of demonstrations (Hopper and HalfCheetah)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVE_TASKS), figsize=(4 * len(CURVE_TASKS), 3.2), squeeze=False)
    for ax, task in zip(axes[0], CURVE_TASKS, strict=True):
        for method in CURVE_METHODS:
            rows = sorted((r for r in records if r["task"] == task and r["method"] == method), key=lambda r: r["demos"])
            if rows:
                ax.errorbar([r["demos"] for r in rows], [r["normalised_mean"] for r in rows],
                            yerr=[[r["normalised_mean"] - r["ci_low"] for r in rows],
                                  [r["ci_high"] - r["normalised_mean"] for r in rows]], marker="o", label=method,
                            capsize=3)
        ax.set_xscale("log")
        finish_panel(ax, task, "demonstrations", ONE_DEMO_GOAL)
    save_figure(fig, axes[0][0], "normalised return", path)


def earlier_cells(out: Path = OUT) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The last report's cells that were made as the script makes them now (their :func:`cell_setup`), by
    (task, method, demonstrations)."""
    cells_ = json.loads(out.read_text())["cells"] if out.exists() else []
    return {(c["task"], c["method"], c["demos"]): c for c in cells_
            if c.get("setup") == cell_setup(c["task"], c["method"], c["demos"])}


def carried(task: str, method: str, demos: int, earlier: dict[tuple[str, str, int], dict[str, Any]]) -> bool:
    """Whether a cell stands in the last report (``earlier``, :func:`earlier_cells`) while its run directory is not
    on this machine (the runs are not kept in the repository): such a cell is kept, not run again; move its record
    out of the JSON to rerun it."""
    return summary_path(task, method, demos) is None and (task, method, demos) in earlier


def collect(out: Path = OUT) -> list[dict[str, Any]]:
    """Every finished cell's record, if it was made as the script makes it now (its recorded :func:`cell_setup`);
    cells of the last report whose run directories are not on this machine are kept on the same condition."""
    earlier = earlier_cells(out)
    records = []
    for task, method, demos in cells():
        path = summary_path(task, method, demos)
        if path is not None and recorded_setup(task, method, demos) == cell_setup(task, method, demos):
            records.append(cell_record(task, method, demos, json.loads(path.read_text())))
        elif path is not None:
            print(f"{task} {method} {demos} demos: left out, made another way than the script makes it now "
                  f"({recorded_setup(task, method, demos)}); move {cell_dir(task, method, demos)} aside to rerun it",
                  flush=True)
        elif (task, method, demos) in earlier:
            records.append(earlier[(task, method, demos)])
    return records


def report(results: dict[str, Any], out: Path = OUT) -> None:
    """Write the JSON, the page fragment and the plots from the finished cells."""
    records = collect(out)
    results.update(cells=records, summary=method_summary(records), unfinished=in_progress())
    plot_curves(records, out.with_name("mujoco_irl_curves.png"))
    plot_demos(records, out.with_name("mujoco_irl_demos.png"))
    write_report(out, results, markdown(results))
    print(markdown(results))


CARRIED = carry.CARRIED / "mujoco_irl"
"""The unfinished cells packed for the next checkout (:mod:`carry`): ``CARRIED/TASK-METHOD-Ndemos.tar.gz``."""


def finished(task: str, method: str, demos: int, earlier: dict[tuple[str, str, int], dict[str, Any]]) -> bool:
    """Whether a cell is done: its summary on this machine, or its record in the last report (``earlier``,
    :func:`earlier_cells`)."""
    return summary_path(task, method, demos) is not None or (task, method, demos) in earlier


def carry_cells() -> dict[str, int | None]:
    """Pack every unfinished cell with a checkpoint (and its setup) into :data:`CARRIED`, and drop the archives of
    cells finished since; by cell, the archive's size in bytes, or ``None`` for a cell too large to carry
    (:data:`carry.LIMIT_BYTES`; a trained cell is carried slimmed, :func:`carry.pack`). A cell whose run can't be
    packed (its ``config.json`` not JSON, or not an ``irlax train`` run's) is named and left out."""
    sizes: dict[str, int | None] = {}
    earlier = earlier_cells(OUT)
    for task, method, demos in cells():
        run_dir = cell_dir(task, method, demos)
        archive = CARRIED / f"{run_dir.name}.tar.gz"
        if finished(task, method, demos, earlier):
            archive.unlink(missing_ok=True)
        elif (run_dir / CHECKPOINT).exists():
            try:
                sizes[run_dir.name] = carry.pack(run_dir, archive, (setup_file(task, method, demos),))
            except ValueError as exc:
                print(f"{run_dir.name}: not carried: {exc}", flush=True)
    return sizes


def restore_cells() -> list[str]:
    """Unpack the carried cells (:data:`CARRIED`) this machine has no run of, unless the last report holds the
    cell finished; the cells restored. An archive that can't be read is named and left."""
    names = {cell_dir(*cell).name: cell for cell in cells()}
    earlier = earlier_cells(OUT)
    restored = []
    for archive in sorted(CARRIED.glob("*.tar.gz")) if CARRIED.is_dir() else []:
        cell = names.get(carry.run_name(archive))
        if cell is None or finished(*cell, earlier):
            continue
        try:
            if carry.unpack(archive, RUNS):
                restored.append(archive.name)
        except ValueError as exc:
            print(f"not restored: {exc}", flush=True)
    return restored


def build_parser() -> argparse.ArgumentParser:
    """The script's options (:func:`main`; :func:`running_cell` reads another process's with it)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS, help="which tasks (default all)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="which methods (default all)")
    parser.add_argument("--demos", nargs="+", type=int, default=[DEMO_EPISODES, *CURVE_DEMOS],
                        help="which demonstration counts to run (default all)")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds of a new cell (default {SEEDS})")
    parser.add_argument("--report", action="store_true", help="only rewrite the page from the finished runs")
    parser.add_argument("--carry", action="store_true",
                        help="only pack the unfinished cells into benchmarks/carried/mujoco_irl for the next checkout "
                             "(commit it; the script unpacks them when it starts)")
    parser.add_argument("--stop", action="store_true",
                        help="only stop the script's running processes, each just after its cell's next checkpoint "
                             "(nothing lost; rerun their commands to go on)")
    return parser


def pending_cells(args: argparse.Namespace, earlier: dict[tuple[str, str, int], dict[str, Any]]
                  ) -> list[tuple[str, str, int]]:
    """The cells a run with the options ``args`` has still to make, in the order it makes them (``earlier``: the
    last report's cells, :func:`earlier_cells`)."""
    return [(task, method, demos) for task, method, demos in cells(tuple(args.tasks), tuple(args.methods))
            if demos in args.demos and summary_path(task, method, demos) is None
            and not carried(task, method, demos, earlier)]


def running_cell(argv: list[str], earlier: dict[tuple[str, str, int], dict[str, Any]]
                 ) -> tuple[str, str, int] | None:
    """The cell a process of this script started with ``argv`` is making now: the first it has still to make;
    ``None`` for ``--report``, ``--carry`` and ``--stop`` or a run with nothing left."""
    args = build_parser().parse_args(argv)
    if args.report or args.carry or args.stop:
        return None
    pending = pending_cells(args, earlier)
    return pending[0] if pending else None


def script_processes() -> dict[int, list[str]]:
    """The other running processes of this script (Linux's ``/proc``): their ids and arguments."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            words = [w.decode(errors="replace") for w in (entry / "cmdline").read_bytes().split(b"\0") if w]
        except OSError:  # ended meanwhile, or not ours to read
            continue
        at = next((i for i, w in enumerate(words[:3]) if w.endswith("mujoco_irl.py") and " " not in w), None)
        if at is not None and at > 0:  # a Python running the script, not a shell or editor naming it
            found[int(entry.name)] = words[at + 1:]
    return found


def checkpoint_time(run_dir: Path) -> float:
    """When a cell last checkpointed (its training's or re-optimisation's checkpoint; 0 before the first)."""
    times = [p.stat().st_mtime for p in (run_dir / CHECKPOINT, run_dir / REOPT_CHECKPOINT) if p.exists()]
    return max(times, default=0.0)


def stop_at_checkpoints(processes: dict[int, list[str]] | None = None, poll: float = 5.0) -> list[str]:
    """Stop every running process of this script (``processes``, by default :func:`script_processes`) just after
    its cell's next checkpoint: ``SIGTERM``, which ``irlax`` takes as Ctrl-C, so nothing since the checkpoint is
    lost and no paused time enters the cell's wall-clock. A BC cell (no checkpoint; minutes long) is stopped at
    once. Waits for them all; what happened, a line each. A shell running the script in a chain goes on to its next
    command: stop the shell first."""
    earlier = earlier_cells(OUT)
    watched = {}
    for pid, argv in (script_processes() if processes is None else processes).items():
        cell = running_cell(argv, earlier)
        if cell is not None:
            watched[pid] = (cell, checkpoint_time(cell_dir(*cell)))
    lines = []
    while watched:
        for pid, (cell, since) in list(watched.items()):
            name = f"{cell[0]} {cell[1]} {cell[2]} demos (process {pid})"
            if not Path(f"/proc/{pid}").exists():
                lines.append(f"{name}: ended by itself")
            elif cell[1] == "bc" or checkpoint_time(cell_dir(*cell)) != since:
                os.kill(pid, signal.SIGTERM)
                lines.append(f"{name}: stopped" + ("" if cell[1] == "bc" else " after its checkpoint"))
            else:
                continue
            print(lines[-1], flush=True)
            del watched[pid]
        if watched:
            time.sleep(poll)
    return lines


def main(argv: list[str] | None = None) -> None:
    """Run the missing cells asked for (or, with ``--report``, none; with ``--carry``, archive the unfinished ones;
    with ``--stop``, stop the running ones at their next checkpoints) and rewrite the page and results file."""
    args = build_parser().parse_args(argv)
    if args.stop:
        if not stop_at_checkpoints():
            print("no cell is being made")
        return
    if args.carry:
        for name, size in carry_cells().items():
            print(f"{name}: " + ("not carried (too large)" if size is None else f"carried ({size / 2**20:.1f} MiB)"))
        return
    for name in restore_cells():
        print(f"restored {name} (carried from another checkout)", flush=True)
    results = report_header("mujoco_irl.py", argv)
    if not args.report:
        for task, method, demos in pending_cells(args, earlier_cells(OUT)):  # read once: a carried cell stays so
            run_cell(task, method, demos, args.seeds)
            report(dict(results), OUT)
    report(results, OUT)


if __name__ == "__main__":
    main()
