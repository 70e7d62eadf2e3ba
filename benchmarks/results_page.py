"""Assemble the benchmark results page, ``docs/benchmarks.md``, from the fragments the benchmarks write.

Each benchmark script writes its own markdown fragment next to its JSON in
``benchmarks/results/`` (tables, plots, the command that made them, the machine).
This script puts them together under a short introduction, so the page is always
the scripts' latest output and nothing in it is typed by hand.

Run: ``python benchmarks/results_page.py`` (after the benchmarks).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from irlax.atomic import atomic_write_text  # noqa: E402

FRAGMENTS = (
    ("benchmarks/results/objectworld.md", "python benchmarks/objectworld.py"),
    ("benchmarks/results/tabular_speed.md", "python benchmarks/tabular_speed.py"),
    ("benchmarks/results/abbeel_ng.md", "python benchmarks/abbeel_ng.py"),
    ("benchmarks/results/ppo_speed.md", "python benchmarks/ppo_speed.py"),
    ("benchmarks/results/sac_pendulum.md", "python benchmarks/sac_pendulum.py"),
    ("benchmarks/results/imitation_compare.md", "python benchmarks/imitation_compare.py"),
    ("benchmarks/results/maze_transfer.md", "python benchmarks/maze_transfer.py"),
    ("benchmarks/results/maze_transfer_wide.md",
     "python benchmarks/maze_transfer.py --learn-env PointMazeWideStart-v0 --algorithms airl,gail,true"),
    ("benchmarks/results/mujoco_speed.md", "python benchmarks/mujoco_speed.py"),
    ("benchmarks/results/mujoco_restore.md", "python benchmarks/mujoco_restore.py"),
    ("benchmarks/results/mujoco_experts.md", "python benchmarks/mujoco_experts.py"),
    ("benchmarks/results/compile_speed.md", "python benchmarks/compile_speed.py"),
    ("benchmarks/results/iq_learn.md", "python benchmarks/iq_learn_bench.py"),
    ("benchmarks/results/iq_learn_cartpole_10demos.md", "python benchmarks/iq_learn_bench.py --demos 10"),
    ("benchmarks/results/iq_learn_cartpole_offline.md", "python benchmarks/iq_learn_bench.py --offline"),
    ("benchmarks/results/control_algorithms.md", "python benchmarks/control_algorithms.py"),
    ("benchmarks/results/seed_scaling.md", "python benchmarks/seed_scaling.py"),
    ("benchmarks/results/host_seeds.md", "python benchmarks/host_seeds.py"),
    ("benchmarks/results/modified_dynamics.md", "python benchmarks/modified_dynamics.py"),
    ("benchmarks/results/mujoco_irl.md", "python benchmarks/mujoco_irl.py"),
    ("benchmarks/results/hopper_gail_side.md", "python benchmarks/hopper_gail_side.py"),
)

INTRO = """# irlax benchmark results

Every table and plot on this page was made by a script in `benchmarks/`, on the
machine named under it; the command is given with each. To refresh the page:
run the scripts (each writes a markdown fragment into `benchmarks/results/`),
then `python benchmarks/results_page.py`. Timings come from a shared 2-core
machine: compare ratios measured in the same run rather than absolute seconds.

Contents:
1. Objectworld and binaryworld: expected value difference against the number of
   demonstrations, the protocol of Levine et al. (2011) and Wulfmeier et al. (2016).
2. Speed of exact tabular IRL: one MCE iteration on a 2000-state MDP against a
   dense NumPy implementation, whole fits on objectworld, seeds in one vmap.
3. Abbeel & Ng's gridworld: the learned policy's value against the number of
   expert trajectories for apprenticeship learning (max-margin, projection),
   Maximum Margin Planning, MaxEnt, MCE and mimicking the expert.
4. PPO on CartPole-v1: training speed against stable-baselines3, eight seeds in
   one vmap, and steps to a mean return of 475.
5. SAC on Pendulum-v1: the mean return within 20k environment steps (goal -200),
   seeds in one vmap, and the wall-clock.
6. GAIL and AIRL against the `imitation` library on CartPole-v1 and Pendulum-v1:
   expert-normalised return, environment steps and wall-clock, return against time.
7. Transfer on the shifting point maze: rewards learned by AIRL, GAIL and GCL in
   the original maze, re-optimised by a fresh learner in the shifted one; then the
   same from demonstrations that start anywhere in the maze (covering it).
8. SAC on MuJoCo HalfCheetah-v5: training speed of irlax, stable-baselines3 and sbx
   with identical settings, measured in one run; what restoring a MuJoCo state
   before each host step costs with and without `mj_forward`.
9. MuJoCo experts: SAC and PPO returns and wall-clock on Hopper, HalfCheetah,
   Walker2d, Ant and Swimmer (a long, resumable benchmark; unfinished cells with
   their progress so far).
10. Compilation: seconds each command compiles, first and repeated with the
   persistent compilation cache.
11. IQ-Learn on CartPole-v1 from 1 and 10 demonstrations, online and offline:
   expert-normalised return and the time to a return of 500.
12. The imitation and IRL algorithms of `irlax train` (density-based reward, DAgger,
   IQ-Learn, SQIL, preference comparisons) side by side on CartPole-v1, Acrobot-v1
   and Pendulum-v1 (one resumable run directory per cell): expert-normalised
   return, environment steps, expert queries, wall-clock.
13. Seeds at scale: eight (and five) seeds of PPO against one, in one vmap on one
   device and split over the CPU cores by the run driver.
14. Rewards re-optimised under modified dynamics: GAIL, AIRL (state-only and
   state-action), GCL and the true reward learned on CartPole, Acrobot and Pendulum
   and re-optimised with heavier gravity, links or pendulum.
15. The field's benchmark: GAIL, AIRL (state-only and state-action), GCL, BC, DAgger,
   SQIL and IQ-Learn on MuJoCo Hopper, HalfCheetah, Walker2d, Ant and Swimmer from 10
   demonstrations (and 1 and 4), beside the `imitation` library's published table
   (a long, resumable benchmark: cells not finished yet say so).
16. GAIL on Hopper, irlax and the `imitation` library side by side for the same
   environment steps: wall-clock per step and the time to 0.8 normalised.
"""


def main() -> int:
    """Write ``docs/benchmarks.md``; fail if a fragment is missing."""
    parts = [INTRO]
    for fragment, command in FRAGMENTS:
        path = ROOT / fragment
        if not path.exists():
            print(f"missing {fragment}: run `PYTHONPATH=src {command}` first", file=sys.stderr)
            return 1
        # a fragment's plots lie beside it: link them from docs/
        text = re.sub(r"\]\(([\w.-]+\.png)\)", r"](../benchmarks/results/\1)", path.read_text().strip())
        parts.append(text + "\n")
    atomic_write_text(ROOT / "docs" / "benchmarks.md", "\n\n".join(parts))
    print("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
