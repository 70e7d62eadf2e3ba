"""DAgger: the beta schedule, the aggregate (rolled-out states with the expert's labels), learning on CartPole
past behavioural cloning from one short demonstration, the ``irlax train dagger`` run directory, resume, bad input.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms import bc, dagger
from irlax.algorithms.registry import make_algorithm, preset
from irlax.cli.main import main
from irlax.data.demos import from_episodes, save_demonstrations
from irlax.errors import IrlaxError
from irlax.learners.evaluation import evaluate_policies, policy_episodes_jit
from irlax.run.driver import Driver
from irlax.tasks import make_env

ENVS, STEPS = 2, 64
CONFIG = dagger.DAggerConfig(rounds=6, rollout_envs=ENVS, rollout_steps=STEPS, buffer_size=1024)
DEMO_STEPS = 50


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch):
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")


@dataclasses.dataclass(frozen=True)
class ScriptedCartPole:
    """Push toward the pole's lean, ``theta + 0.5 theta_dot > 0`` (keeps the pole up for 500 steps); no params."""

    def act(self, params, key, obs, deterministic=False):
        return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32), jnp.float32(0.0)


def scripted_labels(obs: np.ndarray) -> np.ndarray:
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int32)


def cartpole_step(obs: np.ndarray, action: np.ndarray) -> np.ndarray:
    """gymnax's CartPole-v1 dynamics (semi-implicit Euler, tau 0.02), by hand in numpy (float64)."""
    x, x_dot, theta, theta_dot = obs.T.astype(np.float64)
    force = np.where(action == 1, 10.0, -10.0)
    cos, sin = np.cos(theta), np.sin(theta)
    temp = (force + 0.05 * theta_dot**2 * sin) / 1.1
    theta_acc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos**2 / 1.1))
    x_acc = temp - 0.05 * theta_acc * cos / 1.1
    return np.stack([x + 0.02 * x_dot, x_dot + 0.02 * x_acc, theta + 0.02 * theta_dot,
                     theta_dot + 0.02 * theta_acc], axis=1)


@pytest.fixture(scope="module")
def cartpole():
    """CartPole, one scripted demonstration cut to its first 50 steps, and DAgger with the scripted expert."""
    env = make_env("CartPole-v1")
    episodes = policy_episodes_jit(ScriptedCartPole(), env, None, jax.random.PRNGKey(0), 1)
    demos = from_episodes(episodes, env.spec, {"learner": "scripted"})
    demos = demos.replace(mask=demos.mask.at[:, DEMO_STEPS:].set(False))
    algo = dagger.make_dagger(CONFIG, env, ScriptedCartPole())
    return env, demos, algo, dagger.DAggerData(demos, None)


@pytest.fixture(scope="module")
def dagger_run(cartpole):
    """Two seeds of the whole run, one round per compiled call: the states after each round, and the end."""
    env, demos, algo, data = cartpole
    driver = Driver(algo, data, 2)
    states = []
    progress = driver.run(driver.start(jax.random.PRNGKey(0)), CONFIG.rounds, 1,
                          lambda p: states.append(jax.tree.map(np.asarray, p.state)))
    assert driver.compiles == {"init": 1, "update-1": 1}
    return driver, states, progress


def test_beta_schedules():
    linear = dagger.DAggerConfig(beta_rounds=4)
    np.testing.assert_allclose([float(dagger.dagger_beta(linear, i)) for i in range(6)], [1, 0.75, 0.5, 0.25, 0, 0])
    half = dagger.DAggerConfig(beta0=0.5, beta_rounds=2)
    np.testing.assert_allclose([float(dagger.dagger_beta(half, i)) for i in range(3)], [0.5, 0.25, 0.0])
    exponential = dagger.DAggerConfig(beta_schedule="exponential", beta0=0.8, beta_decay=0.5)
    np.testing.assert_allclose([float(dagger.dagger_beta(exponential, i)) for i in range(4)],
                               [0.8, 0.4, 0.2, 0.1], rtol=1e-6)


def test_the_preset_trains_longer_on_continuous_actions():
    assert preset("dagger", "CartPole-v1").epochs == dagger.DAggerConfig().epochs == 4
    assert preset("dagger", "Pendulum-v1").epochs == dagger.CONTINUOUS_EPOCHS
    assert preset("dagger", "CartPole-v1", spec=make_env("Pendulum-v1").spec).epochs == dagger.CONTINUOUS_EPOCHS


def test_the_aggregate_grows_by_the_rolled_out_states_with_expert_labels(cartpole, dagger_run):
    _, _, algo, data = cartpole
    driver, states, progress = dagger_run
    start = jax.tree.map(np.asarray, driver.start(jax.random.PRNGKey(0)).state)
    n = ENVS * STEPS
    for seed in range(2):
        first, second = (jax.tree.map(lambda x, k=seed: x[k], s) for s in states[:2])
        agg = first.aggregate
        assert int(agg.size) == n and int(second.aggregate.size) == 2 * n
        obs, labels = agg.data.obs[:n], agg.data.action[:n]
        # every visited state, labelled with the expert's action there; nothing else in the buffer
        np.testing.assert_array_equal(labels, scripted_labels(obs))
        assert not agg.data.obs[n:].any() and not agg.data.action[n:].any()
        # step-major rows: the first are the fresh environments', the next round's first the environments' then
        np.testing.assert_array_equal(obs[:ENVS], start.envs.obs[seed])
        np.testing.assert_array_equal(second.aggregate.data.obs[n:n + ENVS], first.envs.obs)
        # the first round is the expert's alone (beta 1): each state follows from the one before under its label
        rows = obs.reshape(STEPS, ENVS, -1)
        steps = labels.reshape(STEPS, ENVS)
        for e in range(ENVS):
            np.testing.assert_allclose(rows[1:, e], cartpole_step(rows[:-1, e], steps[:-1, e]), atol=2e-5)
        # the second round appends, the first round's rows stay
        np.testing.assert_array_equal(second.aggregate.data.obs[:n], obs)
        np.testing.assert_array_equal(second.aggregate.data.action[n:2 * n],
                                      scripted_labels(second.aggregate.data.obs[n:2 * n]))
    metrics = progress.metrics
    rounds = np.arange(1, CONFIG.rounds + 1)
    np.testing.assert_array_equal(metrics["expert_queries"], np.broadcast_to(n * rounds, (2, CONFIG.rounds)))
    np.testing.assert_array_equal(metrics["dataset_size"], np.broadcast_to(DEMO_STEPS + n * rounds, (2, CONFIG.rounds)))
    np.testing.assert_allclose(metrics["beta"][0], [float(dagger.dagger_beta(CONFIG, i)) for i in range(CONFIG.rounds)])


def test_dagger_beats_behavioural_cloning_from_one_short_demonstration(cartpole, dagger_run):
    env, demos, algo, _ = cartpole
    _, _, progress = dagger_run
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    clone = bc.BCConfig(**{**dataclasses.asdict(dagger.bc_part(CONFIG)), "epochs": 100})
    baseline = jax.jit(jax.vmap(lambda k, d: bc.fit(clone, k, env.spec, d), in_axes=(0, None)))(keys, demos)
    # the same policy family: evaluate both with DAgger's
    run = lambda params: np.asarray(evaluate_policies(algo.act, env, params, jax.random.PRNGKey(2), 8, True))
    dagger_returns, bc_returns = run(progress.state.params), run(baseline.params)
    assert dagger_returns.mean() >= 475.0, dagger_returns  # the expert's 500; a random policy's about 22
    assert dagger_returns.mean() >= bc_returns.mean(), (dagger_returns, bc_returns)


def test_library_bad_input(cartpole):
    env, demos, _, data = cartpole
    with pytest.raises(IrlaxError, match="DAgger needs an expert"):
        make_algorithm("dagger", CONFIG, env)
    with pytest.raises(IrlaxError, match="unknown beta_schedule"):
        dagger.make_dagger(dataclasses.replace(CONFIG, beta_schedule="cubic"), env, ScriptedCartPole())
    with pytest.raises(IrlaxError, match="must hold one round"):
        dagger.make_dagger(dataclasses.replace(CONFIG, buffer_size=64), env, ScriptedCartPole())
    with pytest.raises(IrlaxError, match="beta0"):
        dagger.DAggerConfig(beta0=1.5)
    pendulum = make_env("Pendulum-v1")
    algo = make_algorithm("dagger", CONFIG, pendulum, expert=ScriptedCartPole())
    with pytest.raises(IrlaxError, match="don't fit"):  # CartPole demonstrations in Pendulum
        Driver(algo, data, 1)


# ---------------------------------------------------------------------------------------------------------------
# irlax train dagger


def untrained_expert(folder: Path, env_name: str) -> Path:
    """An expert directory of a fresh (untrained) PPO policy: labels enough for the command's plumbing."""
    from irlax.learners.ppo import PPOConfig
    from irlax.learners.registry import make_learner
    from irlax.run import experts

    env = make_env(env_name)
    config = PPOConfig(hidden=(16, 16))
    learner = make_learner(config, env.spec)
    params = learner.policy_params(learner.init(jax.random.PRNGKey(0))[0])
    info = {"env": env.name, "backend": "jax", "learner": "ppo", "config": dataclasses.asdict(config),
            "return": {"mean": 0.0, "std": 0.0}}
    return experts.save_expert(folder, experts.Expert(env, learner, params, info))


@pytest.fixture(scope="module")
def cli_inputs(cartpole, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dagger-inputs")
    env, demos, _, _ = cartpole
    save_demonstrations(folder / "cartpole.npz", demos)
    other = folder / "pendulum-expert"
    other.mkdir()
    (other / "expert.json").write_text(json.dumps({"env": "Pendulum-v1", "learner": "sac", "config": {}}))
    return {"demos": folder / "cartpole.npz", "expert": untrained_expert(folder / "expert", "CartPole-v1"),
            "other_expert": other}


def train_args(inputs: dict[str, Path], out: Path) -> list[str]:
    return ["train", "dagger", "--demos", str(inputs["demos"]), "--expert", str(inputs["expert"]), "--seeds", "2",
            "--rounds", "4", "--checkpoint-every", "2", "--eval-episodes", "2", "--set", "rollout_envs=2",
            "--set", "rollout_steps=16", "--set", "buffer_size=128", "--set", "hidden=16,16", "--quiet",
            "--out", str(out)]


@pytest.fixture(scope="module")
def cli_run(cli_inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dagger-run") / "run"
    assert main(train_args(cli_inputs, out)) == 0
    return out


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_train_dagger_writes_a_run_directory_and_resumes_exactly(cli_run, cli_inputs, tmp_path, capsys):
    from irlax.cli import dagger as dagger_cli
    from irlax.cli.runs import CHECKPOINT
    from irlax.report import load_pytree

    assert {"config.json", "checkpoint.npz", "metrics.csv", "policy.npz", "return.png", "loss.png",
            "summary.json"} <= {p.name for p in cli_run.iterdir()}
    config = json.loads((cli_run / "config.json").read_text())
    assert config["algorithm"] == "dagger" and config["expert"] == str(cli_inputs["expert"].resolve())
    rows = read_metrics(cli_run)
    assert len(rows) == 2 * 4 and float(rows[3]["expert_queries"]) == 4 * 32
    summary = json.loads((cli_run / "summary.json").read_text())
    assert summary["expert_queries"] == 4 * 32 and summary["dataset_size"] == DEMO_STEPS + 4 * 32
    assert len(summary["evaluation"]) == 2 and np.isfinite(summary["mean_normalized_return"])
    assert summary["expert_return"] == DEMO_STEPS and "reward" not in summary  # the cut demonstration's

    cut = tmp_path / "cut"
    shutil.copytree(cli_run, cut)   # the same command's run directory; the first rounds are recomputed below
    # simulate a crash after the first checkpoint (2 of 4 rounds): rewind it and drop the outputs
    settings = json.loads((cut / "config.json").read_text())
    run = dagger_cli.resolve_run(settings, "test")
    driver = Driver(run.algo, run.data, settings["seeds"])
    train_key = jax.random.split(jax.random.PRNGKey(settings["seed"]), 3)[0]
    driver.save(cut / CHECKPOINT, driver.advance(driver.start(train_key), 2))
    for name in ("policy.npz", "metrics.csv", "metrics.jsonl", "summary.json"):
        (cut / name).unlink()
    capsys.readouterr()
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0
    assert "expert queries: 128 per seed" in capsys.readouterr().out
    assert read_metrics(cut) == read_metrics(cli_run)
    template = driver.template().params
    for a, b in zip(jax.tree.leaves(load_pytree(cli_run / "policy.npz", template)[0]),
                    jax.tree.leaves(load_pytree(cut / "policy.npz", template)[0]), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("extra", "message"), [
    (["--expert", None], "needs --expert DIR"),
    (["--expert", "{other_expert}"], "was trained on Pendulum-v1, not CartPole-v1"),
    (["--expert", "{nowhere}"], "does not exist"),
    (["--learner", "ppo"], "--learner does not apply to dagger"),
    (["--reoptimize-steps", "10"], "--reoptimize-steps does not apply to dagger"),
    (["--set", "beta_schedule=cubic"], "unknown beta_schedule"),
    (["--set", "rollout_steps=1000"], "must hold one round"),
    (["--set", "beta_decay=2"], "beta_decay"),
])
def test_bad_dagger_input_gives_one_line_errors(cli_inputs, tmp_path, fails_in_one_line, extra, message):
    argv = train_args(cli_inputs, tmp_path / "out")
    if extra[1] is None:
        i = argv.index(extra[0])
        del argv[i:i + 2]
    else:
        value = extra[1].format(other_expert=cli_inputs["other_expert"], nowhere=tmp_path / "nowhere")
        if extra[0] == "--expert":
            argv[argv.index(extra[0]) + 1] = value
        else:
            argv += [extra[0], value]
    fails_in_one_line(argv, message)
    assert not (tmp_path / "out").exists()


def test_bad_resume_and_expert_elsewhere(cli_run, cli_inputs, tmp_path, fails_in_one_line):
    fails_in_one_line(["train", "--resume", str(cli_run), "--expert", str(cli_inputs["other_expert"])],
                      "--expert")
    fails_in_one_line(["train", "gail", "--resume", str(cli_run)], "algorithm gail conflicts")
    fails_in_one_line(["train", "--resume", str(cli_run), "--set", "rollout_steps=8"], "rollout_steps=8 conflicts")
    fails_in_one_line(["train", "gail", "--demos", str(cli_inputs["demos"]), "--expert", str(cli_inputs["expert"]),
                       "--out", str(tmp_path / "g")], "--expert is for dagger")


def test_policy_episodes_runs_a_dagger_run(cli_run, benchmark_script):
    """``benchmarks/policy_episodes.py`` reads a DAgger run (its data holds the expert's parameters as well as the
    demonstrations): one entry per seed, each with the episodes asked for, the demonstrations' beside them."""
    stats = benchmark_script("policy_episodes").run_stats(cli_run, 2)
    assert stats["env"] == "CartPole-v1" and stats["done"] == 4 and len(stats["seeds"]) == 2
    for seed in stats["seeds"]:
        assert len(seed["lengths"]) == 2 and all(1 <= n <= 500 for n in seed["lengths"])
        assert seed["returns"] == [float(n) for n in seed["lengths"]]  # CartPole pays 1 a step
    assert stats["demonstrations"]["lengths"] == [DEMO_STEPS]


def test_dagger_in_a_host_stepped_gymnasium_task(cartpole):
    _, demos, _, data = cartpole
    env = make_env("CartPole-v1", "gymnasium")
    config = dataclasses.replace(CONFIG, rounds=2, rollout_steps=16, buffer_size=64, epochs=1)
    driver = Driver(dagger.make_dagger(config, env, ScriptedCartPole()), data, 2)
    progress = driver.advance(driver.start(jax.random.PRNGKey(0)), 2)
    aggregate = jax.tree.map(np.asarray, progress.state.aggregate)
    np.testing.assert_array_equal(aggregate.size, [64, 64])
    for seed in range(2):
        np.testing.assert_array_equal(aggregate.data.action[seed], scripted_labels(aggregate.data.obs[seed]))
    np.testing.assert_array_equal(progress.metrics["expert_queries"], [[32, 64]] * 2)
