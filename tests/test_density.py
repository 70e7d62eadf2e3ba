"""Density-based reward modelling: the kernel density estimate, the reward, the checks, runs and the CLI."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from irlax.algorithms import density
from irlax.algorithms.density import (
    DensityConfig,
    DensityParams,
    density_features,
    density_reward,
    kde_log_density,
    terminal_log_frequency,
)
from irlax.algorithms.registry import make_algorithm, preset
from irlax.cli.main import main
from irlax.data.demos import from_episodes
from irlax.errors import IrlaxError
from irlax.learners.evaluation import (
    RandomPolicy,
    evaluate_policies,
    policy_episodes,
    policy_episodes_jit,
    random_return,
)
from irlax.learners.ppo import PPOConfig
from irlax.run.driver import Driver
from irlax.tasks import make_env


def test_kde_log_density_is_the_log_of_a_gaussian_mixture():
    rng = np.random.default_rng(0)
    points, x = rng.normal(size=(7, 3)), rng.normal(size=3)
    weights = np.array([1, 1, 0, 1, 1, 1, 0], np.float32)  # two points dropped
    h = 0.7
    kept = points[weights > 0]
    mixture = np.mean([multivariate_normal(p, h**2 * np.eye(3)).pdf(x) for p in kept])
    got = kde_log_density(jnp.asarray(points, jnp.float32), jnp.asarray(weights), jnp.asarray(x, jnp.float32), h)
    np.testing.assert_allclose(float(got), np.log(mixture), rtol=1e-5)


def test_far_points_keep_a_finite_log_density():
    got = kde_log_density(jnp.zeros((2, 1)), jnp.ones(2), jnp.array([100.0]), 0.5)
    np.testing.assert_allclose(float(got), -(100.0**2) / (2 * 0.25) - 0.5 * np.log(2 * np.pi * 0.25), rtol=1e-6)


def test_features_by_density_type():
    spec = make_env("CartPole-v1").spec
    obs, next_obs = jnp.arange(4.0), jnp.arange(4.0) + 10
    np.testing.assert_array_equal(density_features(spec, "state", obs, 1, next_obs), obs)
    np.testing.assert_array_equal(density_features(spec, "state_action", obs, 1, next_obs), [0, 1, 2, 3, 0, 1])
    np.testing.assert_array_equal(density_features(spec, "transition", obs, 1, next_obs), [0, 1, 2, 3, 10, 11, 12, 13])
    pendulum = make_env("Pendulum-v1").spec
    np.testing.assert_array_equal(
        density_features(pendulum, "state_action", jnp.ones(3), jnp.array([0.5]), jnp.ones(3)), [1, 1, 1, 0.5])


def test_the_reward_subtracts_the_policy_density_and_values_the_absorbing_state():
    spec = make_env("Pendulum-v1").spec
    rng = np.random.default_rng(1)
    expert, policy = (jnp.asarray(rng.normal(size=(5, 3)), jnp.float32) for _ in range(2))
    mean, scale = jnp.full(3, 0.5), jnp.full(3, 2.0)
    obs = jnp.asarray(rng.normal(size=3), jnp.float32)
    x = (obs - mean) / scale
    config = DensityConfig(density_type="state", bandwidth=0.3, reward_type="logit")
    params = DensityParams(expert, jnp.ones(5), mean, scale, policy, jnp.ones(5), jnp.float32(-2.0))
    reward = lambda p, terminated: float(density_reward(config, spec, 0.9, p, obs, jnp.zeros(1), obs,
                                                        jnp.bool_(terminated)))
    ratio = float(kde_log_density(expert, jnp.ones(5), x, 0.3) - kde_log_density(policy, jnp.ones(5), x, 0.3))
    np.testing.assert_allclose(reward(params, False), ratio, rtol=1e-5)
    np.testing.assert_allclose(reward(params, True), ratio + 0.9 / 0.1 * -2.0, rtol=1e-5)
    no_samples = params._replace(policy_weights=jnp.zeros(5), absorbing=jnp.float32(0.0))
    np.testing.assert_allclose(reward(no_samples, True), float(kde_log_density(expert, jnp.ones(5), x, 0.3)),
                               rtol=1e-6)
    softplus = replace(config, reward_type="softplus")
    np.testing.assert_allclose(float(density_reward(softplus, spec, 0.9, params, obs, jnp.zeros(1), obs, True)),
                               np.logaddexp(0, ratio) + 9 * np.logaddexp(0, -2.0), rtol=1e-5)
    plain = replace(config, reward_type="log_density")
    np.testing.assert_allclose(float(density_reward(plain, spec, 0.9, params, obs, jnp.zeros(1), obs, True)),
                               float(kde_log_density(expert, jnp.ones(5), x, 0.3)), rtol=1e-6)


def test_the_absorbing_log_ratio_compares_terminal_frequencies():
    """An expert that never ends an episode against a policy that ends one in four steps."""
    expert = terminal_log_frequency(jnp.zeros(100, bool), jnp.ones(100))
    policy = terminal_log_frequency(jnp.arange(8) % 4 == 3, jnp.ones(8))
    np.testing.assert_allclose(float(expert), np.log(0.5 / 101), rtol=1e-6)
    np.testing.assert_allclose(float(policy), np.log(2.5 / 9), rtol=1e-6)
    padded = terminal_log_frequency(jnp.array([True, True, False]), jnp.array([1.0, 0.0, 1.0]))
    np.testing.assert_allclose(float(padded), np.log(1.5 / 3), rtol=1e-6)


TINY_PPO = PPOConfig(num_envs=2, num_steps=4, num_epochs=1, minibatch_size=8, hidden=(8,))


def random_demos(env, episodes: int = 3):
    return from_episodes(policy_episodes_jit(RandomPolicy(env.spec), env, None, jax.random.PRNGKey(5), episodes),
                         env.spec)


def test_the_expert_data_is_standardised_and_padding_weighs_nothing():
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    config = DensityConfig(learner="ppo", learner_config=TINY_PPO, density_type="state")
    algo = density.make_density(config, env)
    params = algo.reward(algo.init(jax.random.PRNGKey(0), demos), demos)
    real = np.asarray(demos.mask).reshape(-1)
    np.testing.assert_array_equal(np.asarray(params.expert_weights), real.astype(np.float32))
    obs = np.asarray(demos.obs).reshape(-1, 4)[real]
    np.testing.assert_allclose(np.asarray(params.mean), obs.mean(0), atol=1e-5)
    np.testing.assert_allclose(np.asarray(params.scale), obs.std(0), rtol=1e-4)
    standardised = np.asarray(params.expert)[real]
    np.testing.assert_allclose(standardised.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(standardised.std(0), 1, rtol=1e-3)


def test_a_constant_dimension_is_refused_in_one_line():
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    demos = demos.replace(obs=demos.obs.at[..., 2].set(0.25))
    algo = density.make_density(DensityConfig(density_type="state"), env)
    with pytest.raises(IrlaxError, match="observation 2 never varies") as error:
        algo.check(demos)
    assert "\n" not in str(error.value)
    density.make_density(DensityConfig(density_type="state", standardise=False), env).check(demos)


@pytest.mark.parametrize("fields, message", [({"density_type": "action"}, "unknown density_type"),
                                              ({"reward_type": "log_d"}, "unknown reward_type"),
                                              ({"bandwidth": 0.0}, "bandwidth"),
                                              ({"sample_envs": 8, "sample_steps": 32, "buffer_size": 16},
                                               "buffer_size")])
def test_bad_settings_are_refused(fields, message):
    with pytest.raises(IrlaxError, match=message):
        density.make_density(DensityConfig(**fields), make_env("CartPole-v1"))


def test_policy_samples_fill_the_policy_density_and_count_as_steps():
    """With a ratio reward, each round adds sample_envs x sample_steps policy transitions to p_pi's data."""
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    ppo = TINY_PPO
    config = DensityConfig(learner="ppo", learner_config=ppo, rounds=3, reward_type="logit", sample_envs=2,
                           sample_steps=3, buffer_size=8)
    algo = make_algorithm("density", config, env)
    state, metrics = jax.jit(lambda k, d: algo.update(algo.init(k, d), d, 2))(jax.random.PRNGKey(0), demos)
    assert float(jnp.sum(state.reward_params.policy_weights)) == 8  # 12 samples, the 8 most recent kept
    np.testing.assert_array_equal(metrics.env_steps, [8 + 6, 2 * (8 + 6)])


def test_a_resumed_run_ends_where_an_uninterrupted_one_does():
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    ppo = TINY_PPO
    config = DensityConfig(learner="ppo", learner_config=ppo, rounds=4, sample_envs=2,
                           sample_steps=2, buffer_size=8)
    driver = Driver(make_algorithm("density", config, env), demos, 2)
    whole = driver.run(driver.start(jax.random.PRNGKey(3)), 4, every=2)
    half = driver.run(driver.start(jax.random.PRNGKey(3)), 2, every=2)
    resumed = driver.run(half, 4, every=2)
    for a, b in zip(jax.tree.leaves(whole.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_density_ratio_reward_teaches_cartpole_to_balance():
    """The default (softplus of the density log-ratio, with PPO) from 10 demonstrations of a scripted controller:
    at least 0.8 of the expert's return after 20 rounds (about 60k environment steps)."""
    env = make_env("CartPole-v1")
    demos = from_episodes(policy_episodes(Balance(), env, None, jax.random.PRNGKey(7), 10), env.spec)
    config = replace(preset("density", env.name), rounds=20)
    algo = make_algorithm("density", config, env)
    state, metrics = jax.jit(lambda k, d: algo.update(algo.init(k, d), d, config.rounds))(jax.random.PRNGKey(0), demos)
    policy = jax.tree.map(lambda x: x[None], algo.policy(state, demos))
    returns = evaluate_policies(algo.act, env, policy, jax.random.PRNGKey(1), 10, True)
    random = random_return(env, jax.random.PRNGKey(2))
    normalised = (float(returns.mean()) - random) / (500.0 - random)
    assert normalised >= 0.8, f"density reached {normalised:.2f} of the expert"
    assert float(metrics.env_steps[-1]) == 20 * (2048 + 1024)


@dataclass(frozen=True)
class Balance:
    """A scripted CartPole controller: push towards the side the pole falls to."""

    def act(self, params, key, obs, deterministic=False):
        return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32), jnp.float32(0.0)


def test_train_density_runs_from_the_command_line_and_refuses_constant_dimensions(tmp_path, capsys):
    from test_train_cli import TINY_SAC, record_demos

    demos = record_demos(tmp_path / "pendulum.npz", "Pendulum-v1", 2)
    out = tmp_path / "run"
    args = ["train", "density", "--demos", str(demos), "--rounds", "2", "--eval-episodes", "2",
            "--reoptimize-steps", "0", "--set", "sample_envs=2", "--set", "sample_steps=4", "--set", "buffer_size=16",
            "--set", "policy_iterations=2", *TINY_SAC, "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algorithm"] == "density" and summary["learner"] == "sac"
    assert summary["env_steps"] == 2 * (2 + 8) and math.isnan(summary["evaluation"][0]["final_reward_loss"])
    assert math.isfinite(summary["reward"]["pearson_expert"]) and (out / "reward.npz").exists()

    from irlax.data.demos import load_demonstrations, save_demonstrations

    flat = load_demonstrations(demos)
    save_demonstrations(tmp_path / "flat.npz", flat.replace(obs=flat.obs.at[..., 1].set(0.0)))
    capsys.readouterr()
    assert main([*args, "--demos", str(tmp_path / "flat.npz"), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("irlax: error: density: observation 1 never varies") and "\n" not in err
    assert not (tmp_path / "bad").exists()
