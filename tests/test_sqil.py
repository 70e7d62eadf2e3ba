"""SQIL: its balanced minibatches and rewards, the SAC step it reuses, a short learning run, resume, the CLI."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_train_cli import record_demos

from irlax.algorithms.registry import make_algorithm, preset
from irlax.algorithms.sqil import (
    SQILConfig,
    absorbing_rewards,
    balanced_batch,
    expert_count,
    make_sqil,
    sqil_gradient_step,
    sqil_rewards,
)
from irlax.cli.main import main
from irlax.data.demos import make_demonstrations
from irlax.data.transitions import Transition
from irlax.errors import IrlaxError
from irlax.learners import sac
from irlax.learners.replay import init_replay, replay_add, replay_sample
from irlax.learners.rollout import learner_rewards
from irlax.run.assess import policy_returns
from irlax.run.driver import Driver
from irlax.tasks import make_env

TINY_SAC = sac.SACConfig(hidden=(8,), batch_size=8, buffer_size=64, learning_starts=4)


def fixed_demos(spec, lengths=(3, 5)):
    """Two demonstrations of ``lengths`` steps padded to the longest; step ``t`` of episode ``i`` has every obs entry
    ``-(10 i + t + 1)`` (negative: told apart from the agent's), the padding ``-999``; the first episode terminates."""
    n, length = len(lengths), max(lengths)
    mask = np.arange(length)[None] < np.asarray(lengths)[:, None]
    value = -(10 * np.arange(n)[:, None] + np.arange(length)[None] + 1.0)
    obs = np.where(mask, value, -999.0)[..., None] * np.ones(spec.obs_size)
    terminated = np.zeros((n, length), bool)
    terminated[0, lengths[0] - 1] = True
    actions = np.ones((n, length), np.int32) if spec.discrete else np.zeros((n, length, spec.action_size), np.float32)
    arrays = {"obs": obs.astype(np.float32), "actions": actions, "next_obs": obs.astype(np.float32) - 0.5,
              "rewards": np.zeros((n, length), np.float32), "terminated": terminated,
              "truncated": np.zeros((n, length), bool), "log_probs": np.zeros((n, length), np.float32), "mask": mask}
    return make_demonstrations(arrays, env_name=spec.name, obs_size=spec.obs_size, discrete=spec.discrete,
                               action_size=spec.action_size)


def agent_buffer(spec, filled=6, capacity=16):
    """A replay buffer with ``filled`` agent transitions whose obs entries are ``100 + i`` (the rest empty)."""
    obs = jnp.zeros((spec.obs_size,), jnp.float32)
    example = Transition(obs, jnp.int32(0), jnp.float32(0), jnp.float32(0), obs, jnp.bool_(False), jnp.bool_(False),
                         jnp.float32(0))
    items = jnp.arange(filled, dtype=jnp.float32)[:, None] + 100.0
    batch = Transition(items * jnp.ones(spec.obs_size), jnp.zeros(filled, jnp.int32), jnp.full(filled, 7.0),
                       jnp.full(filled, 7.0), items * jnp.ones(spec.obs_size), jnp.zeros(filled, bool),
                       jnp.zeros(filled, bool), jnp.zeros(filled))
    return replay_add(init_replay(example, capacity), batch)


def test_balanced_batch_has_k_expert_transitions_rewarded_1_and_the_rest_agent_ones_rewarded_0():
    spec = make_env("CartPole-v1").spec
    demos, buffer = fixed_demos(spec), agent_buffer(spec)
    demo_values = {-1.0, -2.0, -3.0, -11.0, -12.0, -13.0, -14.0, -15.0}  # the real steps, never the padding
    for batch_size, fraction in ((8, 0.5), (10, 0.3), (7, 0.75)):
        k = expert_count(batch_size, fraction)
        assert k == round(fraction * batch_size)
        seen = set()
        for seed in range(20):
            batch, reward = jax.jit(balanced_batch, static_argnums=(3, 4))(
                demos, buffer, jax.random.PRNGKey(seed), batch_size, k)
            first = np.asarray(batch.obs[:, 0])
            assert batch.obs.shape == (batch_size, spec.obs_size) and reward.shape == (batch_size,)
            assert set(first[:k]) <= demo_values  # exactly k demonstration steps, first
            assert ((first[k:] >= 100) & (first[k:] < 106)).all()  # then B - k agent steps, from the filled part
            np.testing.assert_array_equal(reward, [1.0] * k + [0.0] * (batch_size - k))
            # each row keeps its own transition: successors and terminal flags travel with it
            np.testing.assert_array_equal(batch.next_obs[:k, 0], batch.obs[:k, 0] - 0.5)
            np.testing.assert_array_equal(batch.terminated[:k], batch.obs[:k, 0] == -3.0)  # episode 0's last step
            np.testing.assert_array_equal(batch.next_obs[k:], batch.obs[k:])
            seen |= set(first[:k])
        assert seen == demo_values  # every real step is drawn
    np.testing.assert_array_equal(sqil_rewards(3, 5), [1, 1, 1, 0, 0])


def test_terminal_steps_enter_an_absorbing_state_that_keeps_their_label():
    gamma = 0.9
    reward = jnp.array([1.0, 1.0, 0.0, 0.0])
    terminated = jnp.array([True, False, True, False])
    np.testing.assert_allclose(absorbing_rewards(reward, terminated, gamma), [1.0 + 9.0, 1.0, 0.0, 0.0], rtol=1e-6)
    env = make_env("CartPole-v1")
    spec, learner = env.spec, sac.make_sac(TINY_SAC, env.spec)
    agent = learner.init(jax.random.PRNGKey(0))[0]
    agent = agent._replace(buffer=agent_buffer(spec, 6, TINY_SAC.buffer_size))
    demos, key, pair = fixed_demos(spec), jax.random.PRNGKey(8), (agent.params, agent.opt_state)
    got = jax.jit(lambda d, a, p, k: sqil_gradient_step(TINY_SAC, spec, 4, d, a, p, k, absorbing=True))(
        demos, agent, pair, key)
    sample_key, target_key, actor_key = jax.random.split(key, 3)
    batch, reward = balanced_batch(demos, agent.buffer, sample_key, 8, 4)
    assert bool(batch.terminated[:4].any()), "the drawn demonstration steps should include a terminal one"
    bonus = np.where(np.asarray(batch.terminated), TINY_SAC.gamma / (1 - TINY_SAC.gamma) * np.asarray(reward), 0.0)
    want = jax.jit(lambda p, s, b, r, t, a: sac.sac_batch_step(TINY_SAC, spec, p, s, b, r, t, a))(
        pair, agent.obs_stats, batch, reward + bonus, target_key, actor_key)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, want)
    with pytest.raises(IrlaxError, match="gamma below 1"):
        make_sqil(SQILConfig(learner_config=dataclasses.replace(TINY_SAC, gamma=1.0)), env)


def test_sqil_step_is_sacs_step_on_the_balanced_batch_with_sqil_rewards():
    """SQIL's step is SAC's batch step (the one SAC's own gradient step takes on a minibatch of its buffer) with
    the balanced batch and rewards 1 / 0; SAC's own step is the batch step on a sampled minibatch."""
    env = make_env("CartPole-v1")
    spec, learner = env.spec, sac.make_sac(TINY_SAC, env.spec)
    agent = learner.init(jax.random.PRNGKey(0))[0]
    agent = agent._replace(buffer=agent_buffer(spec, 6, TINY_SAC.buffer_size))
    demos, key = fixed_demos(spec), jax.random.PRNGKey(3)
    pair = (agent.params, agent.opt_state)
    got = sqil_gradient_step(TINY_SAC, spec, 4, demos, agent, pair, key)
    sample_key, target_key, actor_key = jax.random.split(key, 3)
    batch, reward = balanced_batch(demos, agent.buffer, sample_key, 8, 4)
    want = sac.sac_batch_step(TINY_SAC, spec, pair, agent.obs_stats, batch, reward, target_key, actor_key)
    jax.tree.map(np.testing.assert_array_equal, got, want)
    assert float(got[1].mean_reward) == 0.5  # half the batch rewarded 1
    # SAC's own gradient step: the batch step on a minibatch of its buffer with the stored (environment) rewards
    own = sac.gradient_step(TINY_SAC, spec, None, None, agent.buffer, agent.obs_stats, pair, key)
    drawn = replay_sample(agent.buffer, sample_key, 8)
    rewards = learner_rewards(None, None, drawn.obs, drawn.action, drawn.next_obs, drawn.terminated, drawn.env_reward)
    again = sac.sac_batch_step(TINY_SAC, spec, pair, agent.obs_stats, drawn, rewards, target_key, actor_key)
    jax.tree.map(np.testing.assert_array_equal, own, again)
    assert float(own[1].mean_reward) == 7.0


def test_config_checks():
    env = make_env("Pendulum-v1")
    with pytest.raises(IrlaxError, match="expert_fraction"):
        SQILConfig(expert_fraction=1.5)
    with pytest.raises(IrlaxError, match="needs both"):
        make_sqil(SQILConfig(expert_fraction=0.01, learner_config=TINY_SAC), env)
    with pytest.raises(IrlaxError, match="runs on SAC"):
        make_sqil(SQILConfig(learner="ppo"), env)
    with pytest.raises(IrlaxError, match="gradient_steps"):
        make_sqil(SQILConfig(learner_config=dataclasses.replace(TINY_SAC, gradient_steps=0)), env)
    assert preset("sqil", "CartPole-v1").learner_config.hidden == (64, 64)
    # the algorithm records the SAC config it runs with
    assert make_sqil(SQILConfig(), env).config.learner_config == preset("sqil", "Pendulum-v1").learner_config


def test_sqil_imitates_a_balancing_policy_on_cartpole(tmp_path):
    """From 10 demonstrations of a scripted balancing controller (return 500), 2500 steps of SQIL balance far longer
    than a random policy (about 22)."""
    env = make_env("CartPole-v1")
    from irlax.data.demos import load_demonstrations

    demos = load_demonstrations(record_demos(tmp_path / "demos.npz", "CartPole-v1", 10, scripted=True), env.spec)
    sac_config = dataclasses.replace(preset("sqil", "CartPole-v1").learner_config, hidden=(32, 32),
                                     learning_starts=500, batch_size=64)
    algo = make_sqil(SQILConfig(rounds=25, learner_config=sac_config), env)
    driver = Driver(algo, demos, 1)
    progress = driver.run(driver.start(jax.random.PRNGKey(0)), algo.num_steps)
    assert float(progress.state.env_steps[0]) == 2500
    returns = policy_returns(algo, progress.state, demos, jax.random.PRNGKey(1), 10)
    assert returns.min() > 150, returns


@pytest.mark.parametrize("backend", ["jax", "gymnasium"])
def test_resume_ends_where_an_uninterrupted_run_would(tmp_path, backend):
    """Pure JAX (one scan) and host-stepped Gymnasium (a Python loop around jitted pieces) alike."""
    env = make_env("Pendulum-v1", backend)
    demos = fixed_demos(env.spec)
    algo = make_sqil(SQILConfig(rounds=4, round_iterations=5, learner_config=TINY_SAC), env)
    whole = Driver(algo, demos, 2)
    full = whole.run(whole.start(jax.random.PRNGKey(0)), 4, every=2)
    first = Driver(algo, demos, 2)
    first.save(tmp_path / "ckpt.npz", first.run(first.start(jax.random.PRNGKey(0)), 2))
    second = Driver(algo, demos, 2)
    resumed = second.run(second.load(tmp_path / "ckpt.npz"), 4, every=2)
    jax.tree.map(np.testing.assert_array_equal, full.state, resumed.state)
    for name, value in full.metrics.items():
        np.testing.assert_array_equal(value, resumed.metrics[name])
    assert int(full.state.rounds[0]) == 4 and float(full.state.env_steps[0]) == 20
    assert np.isfinite(full.metrics["critic_loss"][:, -1]).all()
    if backend == "jax":
        assert whole.compiles["init"] == 1 and whole.compiles["update-2"] == 1


def test_train_sqil_cli_run_and_bad_demonstrations(tmp_path, capsys):
    cart = record_demos(tmp_path / "cart.npz", "CartPole-v1", 2, scripted=True)
    pend = record_demos(tmp_path / "pend.npz", "Pendulum-v1", 1)
    out = tmp_path / "run"
    args = ["train", "sqil", "--demos", str(cart), "--seeds", "2", "--rounds", "2", "--eval-episodes", "2",
            "--set", "round_iterations=3", "--learner-set", "hidden=8", "--learner-set", "batch_size=8",
            "--learner-set", "buffer_size=64", "--learner-set", "learning_starts=2", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algorithm"] == "sqil" and summary["reward"] is None and summary["reoptimization"] is None
    assert summary["env_steps"] == 6 and len(summary["evaluation"]) == 2
    assert not (out / "reward.npz").exists() and (out / "checkpoint.npz").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["learner_config"]["hidden"] == [8] and config["reoptimize_steps"] == 0
    assert "sqil (sac) on CartPole-v1" in capsys.readouterr().out
    # resuming a finished run longer
    assert main(["train", "--resume", str(out), "--rounds", "3", "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["env_steps"] == 9
    # demonstrations of another task, and options that need a learned reward: one line each
    for extra, message in ((["--demos", str(pend), "--env", "CartPole-v1"], "CartPole-v1 has observations of size 4"),
                           (["--demos", str(cart), "--reoptimize-steps", "10"], "learns no reward")):
        capsys.readouterr()
        assert main(["train", "sqil", *extra, "--out", str(tmp_path / "bad"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("irlax: error:") and message in err and "\n" not in err
        assert not (tmp_path / "bad").exists()


def test_registry_builds_sqil():
    env = make_env("CartPole-v1")
    algo = make_algorithm("sqil", SQILConfig(learner_config=TINY_SAC), env)
    assert algo.reward is None and algo.reward_fn is None and algo.learner.name == "sac" and algo.act is algo.learner
