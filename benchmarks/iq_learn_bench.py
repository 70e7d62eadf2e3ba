"""IQ-Learn (online or offline) on CartPole-v1, Acrobot-v1 and Pendulum-v1: expert-normalised return, time to 500.

For each task the benchmark cache's irlax expert and its 60 recorded episodes
(``imitation_compare.ensure_demos``, shared with the other benchmarks; made when missing); IQ-Learn
(the task's preset, :func:`irlax.algorithms.iq_learn.preset`) trains on the first
``--demos`` episodes for ``--seeds`` seeds at once through the run driver, and its
deterministic policy is evaluated after every tenth of the run. Reported per task:
each seed's final expert-normalised return (random policy 0, demonstrations 1),
their IQM and 95% bootstrap interval, environment steps, training seconds (the
driver's, compilation apart), and on CartPole the seconds until the mean return
first reached 500.

    PYTHONPATH=src python benchmarks/iq_learn_bench.py --tasks CartPole-v1 --seeds 5 --demos 1

writes ``benchmarks/results/iq_learn.json`` and ``.md`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_machine import machine_line, report_header, write_report  # noqa: E402
from imitation_compare import ensure_demos  # noqa: E402

from irlax.algorithms.iq_learn import make_iq_learn, preset  # noqa: E402
from irlax.data.demos import load_demonstrations, subset  # noqa: E402
from irlax.learners.evaluation import random_return  # noqa: E402
from irlax.metrics.aggregate import seed_summary  # noqa: E402
from irlax.run.assess import policy_returns  # noqa: E402
from irlax.run.driver import Driver, Progress  # noqa: E402
from irlax.tasks import default_learner, make_env  # noqa: E402

ROOT = Path(__file__).resolve().parent
EVALUATIONS = 10


def run_task(task: str, seeds: int, episodes: int, rounds: int | None, offline: bool, eval_episodes: int
             ) -> dict[str, Any]:
    """IQ-Learn on ``task`` from its preset: train ``seeds`` seeds on ``episodes`` demonstrations, evaluate, and
    return the row of the results."""
    env = make_env(task)
    demos = subset(load_demonstrations(ensure_demos(task), env.spec), episodes)
    config = preset(task, default_learner(task, env.spec))
    config = dataclasses.replace(config, rounds=rounds or config.rounds, online=not offline)
    algo = make_iq_learn(config, env)
    random = random_return(env, jax.random.PRNGKey(99))
    expert = float(demos.returns().mean())
    driver = Driver(algo, demos, seeds)  # seed k trains with split(PRNGKey(0), seeds)[k]
    curve: list[dict[str, Any]] = []

    def evaluate(progress: Progress) -> None:
        returns = policy_returns(algo, progress.state, demos, jax.random.PRNGKey(progress.done), eval_episodes)
        curve.append({"rounds": progress.done, "env_steps": float(progress.metrics["env_steps"][0, -1]),
                      "train_seconds": progress.seconds - progress.compile_seconds,
                      "mean_return": float(returns.mean()), "seed_returns": returns.tolist()})

    start = time.perf_counter()
    progress = driver.run(driver.start(jax.random.PRNGKey(0)), config.rounds,
                          max(1, config.rounds // EVALUATIONS), evaluate)
    final = np.asarray(curve[-1]["seed_returns"])
    normalised = (final - random) / (expert - random)
    reach = next((row["train_seconds"] for row in curve if row["mean_return"] >= 500.0), None)
    return {
        "task": task, "mode": "offline" if offline else "online", "seeds": seeds, "demo_episodes": episodes,
        "config": dataclasses.asdict(dataclasses.replace(config, learner_config=None)),
        "rounds": config.rounds, "env_steps": curve[-1]["env_steps"], "compile_seconds": progress.compile_seconds,
        "train_seconds": progress.seconds - progress.compile_seconds, "wall_seconds": time.perf_counter() - start,
        "random_return": random, "expert_return": expert, "final_returns": final.tolist(),
        "final_normalized": normalised.tolist(), "summary": seed_summary(normalised).as_dict(),
        "seconds_to_500": reach if task == "CartPole-v1" else None, "curve": curve,
    }


def markdown(results: dict[str, Any]) -> str:
    """The results page's section for ``results``."""
    lines = [f"IQ-Learn, measured {results['date']} on {machine_line(results['machine'])}.", "",
             f"Command: `{results['command']}`", "",
             "| task | mode | demos | seeds | normalised return per seed | IQM [95% CI] | env steps | train s "
             "(compile s) | s to 500 |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results["runs"]:
        s = r["summary"]
        reach = "-" if r["seconds_to_500"] is None else f"{r['seconds_to_500']:.1f}"
        if r["task"] == "CartPole-v1" and r["seconds_to_500"] is None:
            reach = "not reached"
        lines.append(f"| {r['task']} | {r['mode']} | {r['demo_episodes']} | {r['seeds']} | "
                     f"{', '.join(f'{x:.3f}' for x in r['final_normalized'])} | {s['iqm']:.3f} "
                     f"[{s['iqm_low']:.3f}, {s['iqm_high']:.3f}] | {r['env_steps']:.0f} | "
                     f"{r['train_seconds']:.1f} ({r['compile_seconds']:.1f}) | {reach} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run every task asked for and write the results and the page's section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["CartPole-v1", "Acrobot-v1", "Pendulum-v1"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--demos", type=int, default=10, help="demonstration episodes")
    parser.add_argument("--rounds", type=int, help="rounds (default: the preset's)")
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "iq_learn.json")
    args = parser.parse_args(argv)
    results = report_header("iq_learn_bench.py", argv)
    results["runs"] = []
    for task in args.tasks:
        results["runs"].append(run_task(task, args.seeds, args.demos, args.rounds, args.offline, args.eval_episodes))
        write_report(args.out, results, markdown(results))
        print(markdown(results), flush=True)


if __name__ == "__main__":
    main()
