"""Preference comparisons: the Bradley-Terry loss, the oracle, query selection, fragments, runs and the CLI."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax import tasks
from irlax.algorithms import preferences
from irlax.algorithms.preferences import (
    Fragment,
    PreferencesConfig,
    bradley_terry_loss,
    sample_fragments,
    select_pairs,
    synthetic_labels,
    synthetic_oracle,
    window_starts,
)
from irlax.algorithms.registry import make_algorithm, preset
from irlax.cli.main import main
from irlax.data.demos import from_episodes
from irlax.data.transitions import Transition
from irlax.errors import IrlaxError
from irlax.learners.evaluation import RandomPolicy, evaluate_policies, policy_episodes_jit, random_return
from irlax.learners.ppo import PPOConfig
from irlax.learners.rollout import collect_steps, init_envs
from irlax.tasks import make_env

pytestmark = pytest.mark.usefixtures("no_progress")

TINY_PPO = PPOConfig(num_envs=2, num_steps=4, num_epochs=1, minibatch_size=8, hidden=(8,))
TINY = dict(learner="ppo", learner_config=TINY_PPO, fragment_length=3, sample_envs=2, sample_steps=6,
            initial_queries=4, queries_per_round=2, candidate_factor=2, batch_size=4, reward_steps=2, hidden=(8,))


# ---------------------------------------------------------------------------------------------------------------
# the loss and the oracle


def test_bradley_terry_loss_and_gradient_match_numpy():
    r1 = np.array([1.0, -2.0, 0.5, 3.0, 0.0], np.float32)
    r2 = np.array([0.0, 1.0, 0.5, -1.0, 2.0], np.float32)
    y = np.array([1.0, 0.0, 0.5, 0.3, 1.0], np.float32)
    p = np.exp(r1) / (np.exp(r1) + np.exp(r2))
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(float(bradley_terry_loss(jnp.asarray(r1), jnp.asarray(r2), jnp.asarray(y))), expected,
                               rtol=1e-6)
    g1, g2 = jax.grad(bradley_terry_loss, argnums=(0, 1))(jnp.asarray(r1), jnp.asarray(r2), jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(g1), (p - y) / len(y), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(g2), -(p - y) / len(y), rtol=1e-5, atol=1e-7)


def test_a_perfect_oracle_prefers_the_higher_true_return_and_noise_flips_labels():
    r1, r2 = jnp.array([1.0, 2.0, 3.0, 0.0]), jnp.array([0.0, 2.0, 5.0, -0.1])
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(synthetic_labels(key, r1, r2, None, 0.0), [1.0, 0.5, 0.0, 1.0])
    np.testing.assert_array_equal(synthetic_labels(key, r1, r2, None, 1.0), [0.0, 0.5, 1.0, 0.0])
    soft = synthetic_labels(key, r1, r2, 2.0, 0.0, sample=False)
    np.testing.assert_allclose(soft, 1 / (1 + np.exp(-2.0 * (np.asarray(r1) - np.asarray(r2)))), rtol=1e-6)
    many1, many2 = jnp.arange(4000.0), jnp.zeros(4000)  # the first always better (after the first, a tie)
    flipped = np.asarray(synthetic_labels(key, many1, many2, None, 0.2))[1:] == 0.0
    assert 0.17 < flipped.mean() < 0.23
    drawn = np.asarray(synthetic_labels(key, jnp.full(4000, 0.5), jnp.zeros(4000), 2.0, 0.0))
    assert set(np.unique(drawn)) == {0.0, 1.0} and abs(drawn.mean() - 1 / (1 + np.exp(-1.0))) < 0.03


def test_the_synthetic_oracle_compares_the_true_returns_of_the_fragments():
    env = make_env("Pendulum-v1")
    envs = init_envs(env, jax.random.PRNGKey(0), 3)
    act = lambda k, obs: (jax.random.uniform(k, (1,), minval=-2.0, maxval=2.0), jnp.float32(0.0))
    _, transitions, _ = collect_steps(env, act, envs, jax.random.PRNGKey(1), 20)
    config = PreferencesConfig(fragment_length=5)
    first = sample_fragments(transitions, jax.random.PRNGKey(2), 50, 5)
    second = sample_fragments(transitions, jax.random.PRNGKey(3), 50, 5)
    labels = np.asarray(synthetic_oracle(config, env)(jax.random.PRNGKey(4), first, second))
    # the environment's own rewards of the same steps
    true = tasks.true_reward_fn(env)
    ret = lambda f: np.asarray(jax.vmap(jax.vmap(true))(f.obs, f.action, f.next_obs)).sum(1)
    reward_of = {}
    for t in range(20):
        for e in range(3):
            reward_of[np.asarray(transitions.obs[t, e]).tobytes()] = float(transitions.env_reward[t, e])
    env_ret = lambda f: np.array([[reward_of[np.asarray(o).tobytes()] for o in frag] for frag in f.obs]).sum(1)
    np.testing.assert_allclose(ret(first), env_ret(first), rtol=1e-4)
    np.testing.assert_array_equal(labels, np.where(ret(first) > ret(second), 1.0, 0.0))


def test_uncertainty_selection_picks_the_pairs_the_members_disagree_on_most():
    probabilities = jnp.array([[0.5, 0.9, 0.1, 0.6, 0.0, 0.5],
                               [0.5, 0.1, 0.2, 0.6, 1.0, 0.7],
                               [0.5, 0.5, 0.1, 0.6, 0.5, 0.3]])
    chosen = np.asarray(select_pairs(jax.random.PRNGKey(0), probabilities, 3, "uncertainty"))
    variance = np.var(np.asarray(probabilities), axis=0)
    assert set(chosen) == {4, 1, 5} and set(chosen) == set(np.argsort(-variance)[:3])
    uniform = np.asarray(select_pairs(jax.random.PRNGKey(0), probabilities, 4, "uniform"))
    assert len(set(uniform)) == 4 and uniform.max() < 6


# ---------------------------------------------------------------------------------------------------------------
# fragments


def fake_transitions(terminated: np.ndarray, truncated: np.ndarray) -> Transition:
    """``[T, E]`` transitions whose observation is ``(t, e)``, with the given episode ends."""
    steps, envs = terminated.shape
    obs = np.stack(np.meshgrid(np.arange(steps), np.arange(envs), indexing="ij"), -1).astype(np.float32)
    zeros = np.zeros((steps, envs), np.float32)
    return Transition(jnp.asarray(obs), jnp.zeros((steps, envs), jnp.int32), zeros, zeros, jnp.asarray(obs + 0.5),
                      jnp.asarray(terminated), jnp.asarray(truncated), zeros)


def test_fragments_never_straddle_a_time_limit_and_end_in_the_absorbing_state():
    rng = np.random.default_rng(0)
    steps, envs, length = 30, 4, 5
    terminated = rng.random((steps, envs)) < 0.08
    truncated = (rng.random((steps, envs)) < 0.08) & ~terminated
    valid, real = window_starts(fake_transitions(terminated, truncated), length)
    for t in range(steps - length + 1):      # a plain loop: the reference
        for e in range(envs):
            alive, ok, expect = True, True, []
            for k in range(length):
                expect.append(alive)
                if alive and k < length - 1 and truncated[t + k, e]:
                    ok = False
                if terminated[t + k, e] or truncated[t + k, e]:
                    alive = False
            assert bool(valid[t, e]) == ok and list(np.asarray(real[t, e])) == expect, (t, e)
    fragments = sample_fragments(fake_transitions(terminated, truncated), jax.random.PRNGKey(0), 500, length)
    starts, env = np.asarray(fragments.obs[:, 0, 0], int), np.asarray(fragments.obs[:, 0, 1], int)
    assert np.asarray(valid)[starts, env].all()
    assert (np.diff(np.asarray(fragments.obs[..., 0]), axis=1) == 1).all()   # consecutive steps of one env
    for f in range(500):     # real steps: a prefix, ended by a terminal step when it is shorter than the fragment
        r = np.asarray(fragments.real[f])
        n = r.sum()
        assert r[:n].all() and not r[n:].any()
        if n < length:
            assert terminated[starts[f] + n - 1, env[f]] and bool(fragments.terminated[f, n - 1])


def test_the_learned_return_of_a_fragment_values_absorbing_steps_at_the_absorbing_reward():
    fragment = Fragment(jnp.arange(4.0)[:, None], jnp.zeros(4, jnp.int32), jnp.arange(4.0)[:, None],
                        jnp.array([False, True, False, False]), jnp.array([True, True, False, False]))
    got = preferences.fragment_return(lambda o, a, n: 10.0 * o[0], jnp.float32(-1.0), fragment)
    assert float(got) == 0.0 + 10.0 - 1.0 - 1.0


# ---------------------------------------------------------------------------------------------------------------
# runs


def random_demos(env, episodes: int = 2):
    return from_episodes(policy_episodes_jit(RandomPolicy(env.spec), env, None, jax.random.PRNGKey(5), episodes),
                         env.spec)


def test_queries_are_counted_and_stop_at_max_queries():
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    config = PreferencesConfig(**TINY, max_queries=8, buffer_size=16)
    algo = make_algorithm("preferences", config, env)
    state, metrics = jax.jit(lambda k, d: algo.update(algo.init(k, d), d, 4))(jax.random.PRNGKey(0), demos)
    np.testing.assert_array_equal(metrics.queries, [6, 8, 8, 8])
    assert float(state.queries) == 8 and int(state.pairs.size) == 8
    np.testing.assert_array_equal(metrics.env_steps, 12 + np.arange(1, 5) * (8 + 12))
    assert np.isnan(np.asarray(metrics.reward_accuracy)[2:]).all()


@pytest.mark.parametrize("fields, message", [({"selection": "best"}, "unknown selection"),
                                              ({"noise": 0.7}, "noise must be"),
                                              ({"rationality": 0.0}, "rationality must be positive"),
                                              ({"sample_steps": 10, "fragment_length": 20}, "sample_steps"),
                                              ({"initial_queries": 100, "buffer_size": 50}, "buffer_size"),
                                              ({"initial_queries": 100, "max_queries": 50}, "max_queries")])
def test_bad_settings_are_refused(fields, message):
    with pytest.raises(IrlaxError, match=message):
        preferences.make_preferences(PreferencesConfig(**fields), make_env("CartPole-v1"))


def test_preferences_teach_cartpole_to_beat_random_clearly():
    """A perfect oracle, 8 rounds of PPO in 8 environments: the deterministic policy lasts at least 5x a random one."""
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    ppo = replace(tasks.learner_config("CartPole-v1", "ppo"), num_envs=8)
    config = replace(preset("preferences", env.name), learner_config=ppo, rounds=8, sample_envs=4, reward_steps=16)
    algo = make_algorithm("preferences", config, env)
    state, metrics = jax.jit(lambda k, d: algo.update(algo.init(k, d), d, config.rounds))(jax.random.PRNGKey(0), demos)
    policy = jax.tree.map(lambda x: x[None], algo.policy(state, demos))
    returns = float(evaluate_policies(algo.act, env, policy, jax.random.PRNGKey(1), 10, True).mean())
    random = random_return(env, jax.random.PRNGKey(2))
    assert returns > 5 * random, f"preferences reached {returns:.1f} (random {random:.1f})"
    assert float(metrics.queries[-1]) == 100 + 8 * 20


# ---------------------------------------------------------------------------------------------------------------
# the command line

CLI_TINY = ["--rounds", "4", "--checkpoint-every", "2", "--seeds", "2", "--eval-episodes", "2",
            "--reoptimize-steps", "16", "--set", "fragment_length=3", "--set", "sample_envs=2",
            "--set", "sample_steps=6", "--set", "initial_queries=4", "--set", "queries_per_round=2",
            "--set", "batch_size=4", "--set", "reward_steps=2", "--set", "hidden=8", "--learner-set", "num_envs=2",
            "--learner-set", "num_steps=4", "--learner-set", "minibatch_size=8", "--learner-set", "hidden=8",
            "--quiet"]


@pytest.fixture(scope="module")
def demos_file(tmp_path_factory):
    from test_train_cli import record_demos

    return record_demos(tmp_path_factory.mktemp("demos") / "cartpole.npz", "CartPole-v1", 2)


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_train_preferences_reports_queries_and_resumes_where_it_stopped(demos_file, tmp_path, crash_train_run, capsys):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "preferences", "--demos", str(demos_file), *CLI_TINY, "--out", str(full)]) == 0
    shutil.copytree(full, cut)   # the crash below recomputes the first rounds afresh
    printed = capsys.readouterr().out
    assert "oracle queries: 12 per seed" in printed
    summary = json.loads((full / "summary.json").read_text())
    assert summary["algorithm"] == "preferences" and summary["learner"] == "ppo"
    assert summary["expert_queries"] == 4 + 4 * 2 and summary["evaluation"][0]["expert_queries"] == 12
    assert summary["reoptimization"]["steps"] == 16 and (full / "reward.npz").exists()
    rows = read_metrics(full)
    assert len(rows) == 8 and {"queries", "reward_loss", "reward_accuracy", "disagreement"} <= set(rows[0])

    crash_train_run(cut, 2)
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0
    assert read_metrics(cut) == read_metrics(full)
    assert (cut / "reward.npz").read_bytes() == (full / "reward.npz").read_bytes()


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "selection=best"], "unknown selection 'best'"),
    (["--set", "noise=2"], "noise must be in [0, 1]"),
    (["--set", "bogus=1"], "preferences has no setting 'bogus'"),
    (["--set", "fragment_length=500", "--set", "sample_steps=100"], "sample_steps (100) must be at least"),
    (["--env", "CartPole-v1", "--backend", "gymnasium"], "preferences runs only in pure-JAX tasks"),
])
def test_bad_preferences_input_gives_one_line_errors(demos_file, args, message, fails_in_one_line, tmp_path):
    fails_in_one_line(["train", "preferences", "--demos", str(demos_file), *args, "--out", str(tmp_path / "r")],
                      message)
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------------------------------------------------------
# a file of labelled pairs (human labels)


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    """Six labelled pairs of CartPole fragments of 3 steps, some cut short by a terminal step."""
    env = make_env("CartPole-v1")
    envs = init_envs(env, jax.random.PRNGKey(0), 3)
    act = lambda k, obs: (jax.random.randint(k, (), 0, 2), jnp.float32(0.0))
    _, transitions, _ = collect_steps(env, act, envs, jax.random.PRNGKey(1), 40)
    first = sample_fragments(transitions, jax.random.PRNGKey(2), 6, 3)
    second = sample_fragments(transitions, jax.random.PRNGKey(3), 6, 3)
    labels = synthetic_oracle(PreferencesConfig(), env)(jax.random.PRNGKey(4), first, second)
    path = tmp_path_factory.mktemp("pairs") / "pairs.npz"
    preferences.save_preference_pairs(str(path), preferences.Pair(first, second, labels))
    return path


def test_a_preferences_file_round_trips(pairs_file):
    pairs = preferences.load_preference_pairs(str(pairs_file), make_env("CartPole-v1").spec)
    assert pairs.first.obs.shape == (6, 3, 4) and pairs.label.shape == (6,) and pairs.first.action.dtype == np.int32
    stored = np.load(pairs_file)
    np.testing.assert_array_equal(pairs.second.real, stored["real2"])
    np.testing.assert_array_equal(pairs.first.terminated, stored["terminated1"])


def test_train_preferences_learns_from_a_file_and_resumes(demos_file, pairs_file, tmp_path, crash_train_run):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "preferences", "--demos", str(demos_file), "--preferences", str(pairs_file),
                 *CLI_TINY, "--out", str(full)]) == 0
    shutil.copytree(full, cut)
    summary = json.loads((full / "summary.json").read_text())
    assert summary["expert_queries"] == 6
    config = json.loads((full / "config.json").read_text())
    assert config["config"]["preferences"] == str(pairs_file.resolve())
    crash_train_run(cut, 2)
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0
    assert read_metrics(cut) == read_metrics(full)


def bad_pairs(path, pairs_file, **changes):
    arrays = dict(np.load(pairs_file))
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize(("changes", "message"), [
    ({"labels": None}, "lacks the array(s) labels"),
    ({"labels": np.full(6, 2.0)}, "labels must lie in [0, 1]"),
    ({"obs1": np.zeros((6, 3, 3))}, "obs1 must be [6 pairs, steps, 4] for CartPole-v1"),
    ({"actions2": np.full((6, 3), 5)}, "actions2 must be integers in [0, 2)"),
    ({"real1": np.array([[False, True, True]] * 6)}, "real1 must mark a non-empty prefix"),
    ({"next_obs2": np.full((6, 3, 4), np.nan)}, "next_obs2 holds NaN or inf"),
])
def test_bad_preferences_files_give_one_line_errors(demos_file, pairs_file, changes, message, fails_in_one_line,
                                                    tmp_path):
    bad = bad_pairs(tmp_path / "bad.npz", pairs_file, **changes)
    fails_in_one_line(["train", "preferences", "--demos", str(demos_file), "--preferences", str(bad), "--out",
                       str(tmp_path / "r")], message)
    fails_in_one_line(["train", "gail", "--demos", str(demos_file), "--preferences", str(pairs_file)],
                      "--preferences is for preferences")
