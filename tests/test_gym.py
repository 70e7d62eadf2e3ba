"""Gymnasium environments (the host-stepped backend): equivalence with gymnax, learning, resuming, bad input."""

from __future__ import annotations

import json
import math
import warnings

import gym_envs  # noqa: F401  (registers the test environments)
import gymnasium
import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest
from conftest import random_demos

from irlax import tasks
from irlax.algorithms.gcl import GCLConfig, make_gcl
from irlax.algorithms.iq_learn import IQLearnConfig, make_iq_learn
from irlax.cli.main import main
from irlax.data.demos import from_episodes, load_demonstrations, save_demonstrations
from irlax.envs.gym import MUJOCO_CODEC, MUJOCO_POSITIONS_CODEC, GymState, make_gym_env
from irlax.errors import IrlaxError, IrlaxWarning
from irlax.learners import host
from irlax.learners.evaluation import RandomPolicy, evaluate_policies, evaluate_policy_jit, policy_episodes_jit
from irlax.learners.sac import SACConfig, make_sac
from irlax.run import experts
from irlax.run.driver import Driver

TINY_SAC = SACConfig(hidden=(32, 32), learning_starts=50, batch_size=32, buffer_size=2000)


# -- the backend against gymnax ------------------------------------------------------------------------------


def sim_of(values: list[float]) -> np.ndarray:
    """A classic-control state vector as the float64 bits a :class:`GymState` holds."""
    return np.asarray(values, np.float64).view(np.uint32)[None]


def gym_vs_gymnax(name: str, policy, state_of, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observations and rewards of the same policy from the same initial state through both implementations."""
    jax_env = tasks.make_env(name)
    gym_env = tasks.make_env(name, "gymnasium")
    assert jax_env.spec.backend == "jax" and gym_env.spec.backend == "gymnasium"
    assert gym_env.spec.same_spaces(jax_env.spec)
    obs, state = jax_env.reset(jax.random.PRNGKey(3))
    gym_state = GymState(sim_of(state_of(state)), np.zeros((1,), np.int32))
    a_obs, b_obs, a_rew, b_rew = [], [], [], []
    for t in range(steps):
        action = policy(np.asarray(obs))
        out = jax_env.step(jax.random.PRNGKey(100 + t), state, jnp.asarray(action))
        gym_out = gym_env.step(np.array([[0, t]], np.uint32), gym_state, np.asarray(action)[None])
        a_obs.append(np.asarray(out.next_obs)), a_rew.append(float(out.reward))
        b_obs.append(gym_out.next_obs[0]), b_rew.append(float(gym_out.reward[0]))
        assert bool(out.terminated) == bool(gym_out.terminated[0])
        if bool(out.terminated) or bool(out.truncated):
            break
        obs, state, gym_state = out.obs, out.state, gym_out.state
    return np.array(a_obs), np.array(b_obs), np.array(a_rew), np.array(b_rew)


def test_cartpole_through_gymnasium_follows_gymnax():
    policy = lambda obs: np.int32(obs[2] + 0.5 * obs[3] > 0)  # a balancing controller: a long trajectory
    a_obs, b_obs, a_rew, b_rew = gym_vs_gymnax(
        "CartPole-v1", policy, lambda s: [s.x, s.x_dot, s.theta, s.theta_dot], 100)
    assert len(a_obs) == 100  # float32 (gymnax) and float64 (Gymnasium) drift apart on the unstable pole after that
    np.testing.assert_allclose(a_obs, b_obs, atol=1e-3)
    np.testing.assert_array_equal(a_rew, b_rew)


def test_pendulum_through_gymnasium_follows_gymnax():
    policy = lambda obs: np.clip(np.array([-2.0 * obs[2] - 0.5 * obs[1]], np.float32), -2, 2)
    a_obs, b_obs, a_rew, b_rew = gym_vs_gymnax("Pendulum-v1", policy, lambda s: [s.theta, s.theta_dot], 200)
    assert len(a_obs) == 200
    np.testing.assert_allclose(a_obs, b_obs, atol=2e-3)
    np.testing.assert_allclose(a_rew, b_rew, atol=2e-3, rtol=1e-4)


def step_beside_gymnasium(name: str, steps: int, reward_atol: float = 1e-4):
    """Step ``name`` through irlax and through Gymnasium's own environment from the same reset with the same random
    actions (uniform within the action space's bounds), asserting equal observations, ends and rewards, until an
    episode ends or ``steps`` steps: the irlax environment, the last step's index and its output."""
    env = make_gym_env(name)
    native = gymnasium.make(name)
    obs, state = env.reset(np.array([[0, 7]], np.uint32))
    native_obs, _ = native.reset(seed=7)
    np.testing.assert_allclose(obs[0], native_obs, atol=1e-6)
    rng = np.random.default_rng(0)
    for t in range(steps):
        action = rng.uniform(env.host.action_low, env.host.action_high, (1, env.spec.action_size)).astype(np.float32)
        out = env.step(np.array([[1, t]], np.uint32), state, action)
        native_obs, reward, terminated, truncated, _ = native.step(action[0])
        np.testing.assert_allclose(out.next_obs[0], native_obs, atol=1e-4)
        assert out.terminated[0] == terminated and out.truncated[0] == truncated
        if terminated or truncated:
            break
        np.testing.assert_allclose(out.reward[0], reward, rtol=1e-4, atol=reward_atol)
        state = out.state
    return env, t, out


def test_mujoco_steps_as_gymnasium_does_and_ends_episodes_as_gymnasium():
    env, t, out = step_beside_gymnasium("Hopper-v5", 1000, 1e-4)
    assert env.exact_state and env.spec.obs_size == 11 and env.spec.action_size == 3
    assert out.terminated[0] or out.truncated[0]
    # same-step autoreset: the next observation is a fresh episode's, the true final one is next_obs
    assert out.state.elapsed[0] == 0 and not np.allclose(out.obs[0], out.next_obs[0])
    assert 0 < t < 999


@pytest.mark.parametrize(("name", "min_steps"), [
    ("Walker2d-v5", 20), ("HalfCheetah-v5", 199), ("Swimmer-v5", 199), ("Ant-v5", 20), ("Humanoid-v5", 10),
    ("HumanoidStandup-v5", 199), ("Reacher-v5", 45), ("Pusher-v5", 90), ("InvertedPendulum-v5", 3),
    ("InvertedDoublePendulum-v5", 3),
    # tasks outside QPOS_ONLY_TASKS carry the positions whether they read them or not (v4's Reacher does)
    ("Reacher-v4", 45), ("Hopper-v4", 20),
])
def test_each_mujoco_task_steps_as_gymnasium_does(name, min_steps):
    """Every MuJoCo v5 task of Gymnasium, rewards included: Ant's and Humanoid's read the bodies' positions before
    stepping, which irlax carries in their states as MuJoCo left them (``MUJOCO_POSITIONS_CODEC``); the others'
    states leave those out (``QPOS_ONLY_TASKS``), which this checks too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Gymnasium's v4 tasks are deprecated
        env, t, _ = step_beside_gymnasium(name, 200)
    assert t >= min_steps
    carries = name in ("Ant-v5", "Humanoid-v5") or name.endswith("-v4")
    assert env.host.codec is (MUJOCO_POSITIONS_CODEC if carries else MUJOCO_CODEC)


def test_a_state_carries_the_body_positions_the_last_step_left():
    """Ant's body positions after a step are those of the last physics substep's evaluation, not recomputed from the
    final ``qpos`` (what Gymnasium's next step reads); restoring that state in a scratch environment that stepped
    elsewhere brings those values back."""
    env = make_gym_env("Ant-v5")
    assert env.host.codec is MUJOCO_POSITIONS_CODEC
    _, state = env.reset(np.array([[0, 3]], np.uint32))
    action = np.full((1, 8), 0.5, np.float32)
    for t in range(5):
        state = env.step(np.array([[1, t]], np.uint32), state, action).state
    scratch = env.host.scratch.unwrapped
    carried = np.array(scratch.data.xpos)
    env.step(np.array([[2, 0]], np.uint32), state, -action)  # the scratch environment moves on
    MUJOCO_POSITIONS_CODEC.write(scratch, state.sim[0].view(np.float64))
    np.testing.assert_array_equal(scratch.data.xpos, carried)
    mujoco.mj_kinematics(scratch.model, scratch.data)  # recomputed from qpos they differ (3e-3 here)
    assert np.abs(scratch.data.xpos - carried).max() > 1e-4


def test_restoring_a_qpos_only_task_without_mj_forward_steps_bit_for_bit_as_with_it():
    """``MUJOCO_CODEC`` writes the state and leaves MuJoCo's derived quantities as another state left them: the steps
    (eight environments through one scratch copy) are bit for bit those with ``mj_forward`` after each write."""
    def with_forward(env, vector):
        MUJOCO_CODEC.write(env, vector)
        mujoco.mj_forward(env.model, env.data)

    runs = []
    for write in (MUJOCO_CODEC.write, with_forward):
        env = make_gym_env("Hopper-v5")
        env.host.codec = MUJOCO_CODEC._replace(write=write)
        _, state = env.reset(np.array([[0, k] for k in range(8)], np.uint32))
        rng = np.random.default_rng(0)
        steps = []
        for t in range(60):
            out = env.step(np.array([[1, t]] * 8, np.uint32), state, rng.uniform(-1, 1, (8, 3)).astype(np.float32))
            steps.append(out)
            state = out.state
        runs.append(steps)
    assert any(out.terminated.any() for out in runs[0])  # resets among the steps too
    for a, b in zip(jax.tree.leaves(runs[0]), jax.tree.leaves(runs[1]), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["HalfCheetah-v5", "Ant-v5"])  # without and with positions in the state
def test_stepping_is_a_pure_function_of_state_action_and_key(name):
    env = make_gym_env(name)
    obs, state = env.reset(np.array([[0, 1], [0, 2]], np.uint32))
    action = np.full((2, env.spec.action_size), 0.3, np.float32)
    keys = np.array([[5, 5], [6, 6]], np.uint32)
    first = env.step(keys, state, action)
    env.step(keys, first.state, action)  # the scratch environment moves on
    again = env.step(keys, state, action)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)


# -- learning -----------------------------------------------------------------------------------------------


def test_sac_through_gymnasium_balances_inverted_pendulum():
    """SAC through the host loop balances MuJoCo's InvertedPendulum-v5 (past 900 of 1000) within 10k steps.

    A cheap configuration (64 x 64, step size 1e-3, 4 environments stepped together and 4 gradient steps per
    iteration: a quarter of the host round trips); the task table's 256 x 256 preset gets there in about as many
    steps, four times slower per step. Untrained, the pole falls within a few dozen steps.
    """
    env = tasks.make_env("InvertedPendulum-v5")
    config = SACConfig(hidden=(64, 64), actor_lr=1e-3, critic_lr=1e-3, learning_starts=1000, buffer_size=10_000,
                       num_envs=4, gradient_steps=4)
    learner = make_sac(config, env.spec)
    state = host.init_state(learner, env, jax.random.split(jax.random.PRNGKey(0), 1))
    score = lambda state: float(np.mean(evaluate_policies(
        learner, env, jax.vmap(learner.policy_params)(state.agent), jax.random.PRNGKey(1), 4, True)))
    before = score(state)
    state, metrics = host.update(learner, env, state, 2_500)
    assert metrics.env_steps.shape == (1, 2_500) and metrics.env_steps[0, -1] == 10_000
    assert int(state.agent.grad_steps[0]) == 4 * (2_500 - 1000 // 4 + 1)  # learning from the 1000th step on
    assert before < 100
    assert score(state) > 900


def hopper_expert(tmp_path, steps: int = 300) -> tuple:
    """A (barely trained) SAC expert of Hopper-v5 and 3 demonstrations of it."""
    expert, _ = experts.train_expert("Hopper-v5", TINY_SAC, jax.random.PRNGKey(0), steps, seeds=2, eval_episodes=2)
    assert expert.env.spec.backend == "gymnasium"
    episodes = policy_episodes_jit(expert.learner, expert.env, expert.params, jax.random.PRNGKey(1), 3)
    demos = from_episodes(episodes, expert.env.spec, {"learner": "sac"})
    path = save_demonstrations(tmp_path / "hopper.npz", demos)
    return expert, demos, path


@pytest.fixture(scope="module")
def hopper(tmp_path_factory):
    return hopper_expert(tmp_path_factory.mktemp("hopper"))


def test_hopper_demonstrations_round_trip(hopper):
    expert, demos, path = hopper
    loaded = load_demonstrations(path, expert.env.spec)
    assert loaded.env_name == "Hopper-v5" and loaded.backend == "gymnasium"
    for key in ("obs", "actions", "next_obs", "rewards", "terminated", "truncated", "mask"):
        np.testing.assert_array_equal(np.asarray(getattr(loaded, key)), np.asarray(getattr(demos, key)))
    # every episode ended (Hopper falls), on its last real step, with the true final observation kept
    lengths = np.asarray(demos.lengths())
    last = np.asarray(demos.terminated)[np.arange(3), lengths - 1] | np.asarray(demos.truncated)[np.arange(3),
                                                                                                   lengths - 1]
    assert last.all()
    assert not np.allclose(np.asarray(demos.next_obs)[0, lengths[0] - 1], 0.0)


def test_demonstrations_from_another_task_are_refused_or_warned(hopper, tmp_path):
    _, _, path = hopper
    with pytest.raises(IrlaxError, match="observations of size 11"):
        load_demonstrations(path, make_gym_env("HalfCheetah-v5").spec)
    cheetah = tmp_path / "cheetah.npz"
    spec = make_gym_env("HalfCheetah-v5").spec
    episodes = policy_episodes_jit(RandomPolicy(spec), tasks.make_env("HalfCheetah-v5"), None, jax.random.PRNGKey(0),
                                   1)
    save_demonstrations(cheetah, from_episodes(jax.tree.map(lambda x: x[:, :20], episodes), spec))
    with pytest.warns(IrlaxWarning, match="come from HalfCheetah-v5"):
        load_demonstrations(cheetah, make_gym_env("Walker2d-v5").spec)  # same sizes, another id


def test_bc_and_gail_run_on_hopper(hopper, tmp_path, run_dir_in):
    _, _, path = hopper
    assert main(["bc", "--demos", str(path), "--epochs", "3", "--eval-episodes", "2", "--seeds", "2", "--quiet",
                 "--out", str(tmp_path / "bc")]) == 0
    summary = json.loads((run_dir_in(tmp_path / "bc") / "summary.json").read_text())
    assert np.isfinite(summary["mean_return"])
    assert json.loads((run_dir_in(tmp_path / "bc") / "config.json").read_text())["backend"] == "gymnasium"
    out = tmp_path / "gail"
    assert main(["train", "gail", "--demos", str(path), "--rounds", "2", "--set", "policy_iterations=20",
                 "--set", "sample_steps=16", "--set", "sample_envs=2", "--set", "batch_size=32",
                 "--learner-set", "hidden=32,32", "--learner-set", "learning_starts=10", "--learner-set",
                 "batch_size=32", "--reoptimize-steps", "0", "--eval-episodes", "2", "--seeds", "2", "--quiet",
                 "--out", str(out)]) == 0
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 4 and all(np.isfinite(m["reward_loss"]) for m in metrics)
    # MuJoCo's reward is no function irlax knows: the learned one is correlated with the recorded rewards
    rows = json.loads((out / "summary.json").read_text())["evaluation"]
    assert all(-1 <= row["pearson_expert"] <= 1 and -1 <= row["pearson_random"] <= 1 for row in rows)
    assert all(math.isnan(row["epic"]) for row in rows)


def test_recorded_reward_comparison_correlates_with_the_recorded_rewards():
    """Against a plain reference: a learned reward ``w * obs[0]`` and recorded rewards ``2 obs[0] + 1`` correlate
    with sign ``w``, on expert and on random transitions alike."""
    from dataclasses import dataclass

    from irlax.data.transitions import Episodes, Transition
    from irlax.run.assess import masked_steps, recorded_reward_comparison, take

    @dataclass(frozen=True)
    class Named:
        name: str = "Stub-v0"

    @dataclass(frozen=True)
    class Stub:
        env: Named

        @staticmethod
        def reward_fn(params, obs, action, next_obs, terminated):
            return params["w"] * obs[0]

    rng = np.random.default_rng(0)

    def transitions(*lead):
        obs = rng.normal(size=(*lead, 3)).astype(np.float32)
        rewards = 2 * obs[..., 0] + 1
        zeros = np.zeros(lead, np.float32)
        return Transition(obs, zeros, rewards, rewards, obs, zeros.astype(bool), zeros.astype(bool), zeros)

    pick = np.random.default_rng(1)
    expert = take(jax.tree.map(jnp.asarray, transitions(50)), 20, pick)
    random = take(masked_steps(Episodes(transitions(4, 10), np.arange(10)[None, :] < np.array([[10], [3], [7], [1]]))),
                  20, pick)
    out = recorded_reward_comparison(Stub(Named()), {"w": jnp.array([1.0, -0.5])}, expert, random)
    np.testing.assert_allclose(out["pearson_expert"], [1.0, -1.0], atol=1e-5)
    np.testing.assert_allclose(out["pearson_random"], [1.0, -1.0], atol=1e-5)
    assert out["transitions"] == 20 and all(math.isnan(x) for x in out["epic"])


def test_density_reward_runs_on_hopper_through_the_host_loop(hopper, tmp_path):
    """The density algorithm's host phases (policy samples, refit, learner) for 2 seeds: its reward learns from
    the policy's samples, and the steps add up."""
    _, _, path = hopper
    out = tmp_path / "density"
    assert main(["train", "density", "--demos", str(path), "--rounds", "2", "--set", "policy_iterations=10",
                 "--set", "sample_steps=8", "--set", "sample_envs=2", "--set", "buffer_size=32",
                 "--learner-set", "hidden=32,32", "--learner-set", "learning_starts=10", "--learner-set",
                 "batch_size=32", "--reoptimize-steps", "0", "--eval-episodes", "2", "--seeds", "2", "--quiet",
                 "--out", str(out)]) == 0
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["env_steps"] for m in metrics] == [26.0, 52.0] * 2
    reward = np.load(out / "reward.npz")  # the leaves of DensityParams, in order
    policy_weights, absorbing = reward["leaf_5"], reward["leaf_6"]
    assert policy_weights.shape == (2, 32) and (policy_weights.sum(axis=1) == 32).all()
    assert absorbing.shape == (2,) and np.isfinite(absorbing).all()


def test_gcl_runs_on_hopper_through_the_host_loop(hopper):
    """GCL's host phases for 2 seeds: the host's episodes (cut at the longest) are padded to the time limit in
    the buffer, with their steps and masks intact, and the reward learns (its loss and parameters move)."""
    expert, demos, _ = hopper
    config = GCLConfig(learner="sac", learner_config=TINY_SAC, rounds=2, policy_iterations=10, episodes_per_round=2,
                       buffer_episodes=4, batch_episodes=2, reward_steps=3, hidden=(16,))
    program = make_gcl(config, expert.env)
    assert program.on_host
    driver = Driver(program, demos, 2)
    start = driver.start(jax.random.PRNGKey(5))
    progress = driver.run(start, 2, every=2)
    buffer = progress.state.buffer
    episodes, mask = buffer.data, np.asarray(buffer.data.mask)
    assert mask.shape == (2, 4, 1000) and np.asarray(buffer.size).tolist() == [4, 4]
    lengths = mask.sum(axis=2)
    assert (lengths > 0).all() and (lengths < 1000).all()  # every (random-ish) episode fell before the limit
    assert (mask == (np.arange(1000) < lengths[..., None])).all()  # the real steps are a prefix
    ended = np.take_along_axis(np.asarray(episodes.transitions.terminated), lengths[..., None] - 1, axis=2)
    assert ended.all()  # each ends on a terminal step (Hopper falls), recorded before the padding
    assert not np.asarray(episodes.transitions.obs)[:, :, lengths.max():].any()  # past the longest: padding
    steps = progress.metrics["env_steps"]
    assert steps.shape == (2, 2) and (np.diff(steps, axis=1) >= 10 * program.learner.steps_per_iteration).all()
    assert np.isfinite(progress.metrics["reward_loss"]).all()
    before, after = start.state.reward_params, progress.state.reward_params
    learned = lambda params: jax.tree.leaves({"absorbing": params["absorbing"], "net": params["net"]["net"]})
    assert all(not np.allclose(a, b) for a, b in zip(learned(before), learned(after), strict=True))


def test_iq_learn_runs_online_in_a_gymnasium_task():
    """IQ-Learn's host phases (the online steps on the host, the updates jitted over seeds) on Gymnasium's CartPole
    for 2 seeds: one environment step per update, the buffer fills with them, the losses are finite and the seeds'
    Q-functions move, apart."""
    env = tasks.make_env("CartPole-v1", "gymnasium")
    demos = random_demos(env)
    program = make_iq_learn(IQLearnConfig(rounds=2, updates_per_round=4, batch_size=8, buffer_size=64, hidden=(16,)),
                            env)
    assert program.on_host
    driver = Driver(program, demos, 2)
    start = driver.start(jax.random.PRNGKey(0))
    progress = driver.run(start, 2, every=2)
    assert progress.metrics["env_steps"].tolist() == [[4.0, 8.0]] * 2
    assert np.asarray(progress.state.updates).tolist() == [8, 8]
    assert np.asarray(progress.state.buffer.size).tolist() == [8, 8]
    assert np.isfinite(progress.metrics["reward_loss"]).all()
    before, after = jax.tree.leaves(start.state.params), jax.tree.leaves(progress.state.params)
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    assert not all(np.allclose(x[0], x[1]) for x in after)


def test_host_run_resumes_where_an_uninterrupted_run_ends(tmp_path):
    env = tasks.make_env("Hopper-v5")
    learner = make_sac(TINY_SAC, env.spec)
    program = experts.expert_program(learner, env, 120)
    whole = Driver(program, None, 2)
    one = whole.run(whole.start(jax.random.PRNGKey(4)), 120, every=40)
    cut = Driver(program, None, 2)
    saved = []
    cut.run(cut.start(jax.random.PRNGKey(4)), 80, every=40, on_chunk=saved.append)
    cut.save(tmp_path / "checkpoint.npz", saved[-1])
    resumed = Driver(program, None, 2)  # as in a new process
    progress = resumed.run(resumed.load(tmp_path / "checkpoint.npz"), 120, every=40)
    for a, b in zip(jax.tree.leaves(one.state), jax.tree.leaves(progress.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for name, values in one.metrics.items():
        np.testing.assert_array_equal(values, progress.metrics[name])


# -- choosing environments ------------------------------------------------------------------------------------


def test_backends_are_chosen_and_recorded(tmp_path, capsys):
    assert tasks.make_env("CartPole-v1").spec.backend == "jax"
    assert tasks.make_env("CartPole-v1", "gymnasium").spec.backend == "gymnasium"
    assert tasks.make_env("LunarLander-v3").spec.backend == "gymnasium"
    with pytest.raises(IrlaxError, match="no pure-JAX version"):
        tasks.make_env("Hopper-v5", "jax")
    out = tmp_path / "cp"
    assert main(["expert", "--env", "CartPole-v1", "--steps", "64", "--set", "num_envs=2", "--set", "num_steps=32",
                 "--set", "minibatch_size=32", "--eval-episodes", "1", "--quiet", "--out", str(out)]) == 0
    assert "CartPole-v1: irlax's pure-JAX version (--backend gymnasium runs Gymnasium's)" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["backend"] == "jax"
    out = tmp_path / "cp-gym"
    assert main(["expert", "--env", "CartPole-v1", "--backend", "gymnasium", "--steps", "64", "--set", "num_envs=2",
                 "--set", "num_steps=32", "--set", "minibatch_size=32", "--eval-episodes", "1", "--quiet",
                 "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["backend"] == "gymnasium"
    assert json.loads((out / "expert.json").read_text())["backend"] == "gymnasium"
    assert main(["demos", "--expert", str(out), "--episodes", "2", "--out", str(tmp_path / "d.npz")]) == 0
    assert load_demonstrations(tmp_path / "d.npz").backend == "gymnasium"


def test_environments_of_ones_own_by_id_instance_or_factory():
    env = tasks.make_env("gym_envs:Walk-v0")
    assert env.spec.name == "gym_envs:Walk-v0" and env.spec.max_steps == 50 and not env.exact_state
    returns = evaluate_policy_jit(RandomPolicy(env.spec), env, None, jax.random.PRNGKey(0), 3)
    assert returns.shape == (3,) and bool(jnp.all(returns < 0))
    built = make_gym_env(env=gym_envs.Walk(), name="walk")
    assert built.spec.obs_size == 1 and built.spec.max_steps == 1000
    made = make_gym_env(factory=gym_envs.Walk, name="walk", max_steps=20)
    episodes = policy_episodes_jit(RandomPolicy(made.spec), made, None, jax.random.PRNGKey(0), 2)
    assert int(np.asarray(episodes.lengths()).max()) == 20
    assert built != made  # distinct environments never share compiled programs


@pytest.mark.parametrize(("argv", "message"), [
    (["expert", "--env", "Hoper-v5"], "did you mean Hopper-v5"),
    (["expert", "--env", "gym_envs:DictObs-v0"], "observation space is Dict"),
    (["expert", "--env", "gym_envs:MultiDiscreteAct-v0"], "action space is MultiDiscrete"),
    (["expert", "--env", "CarRacing-v3"], "observation space is Box(0, 255, (96, 96, 3)"),
    (["expert", "--env", "no_such_module:X-v0"], "cannot import 'no_such_module'"),
    (["expert", "--env", "Hopper-v5", "--backend", "jax"], "no pure-JAX version"),
])
def test_bad_environments_fail_in_one_line(fails_in_one_line, argv, message):
    fails_in_one_line(argv, message)


def test_an_environment_that_raises_fails_in_one_line_and_keeps_the_checkpoint(fails_in_one_line, tmp_path):
    out = tmp_path / "failing"
    fails_in_one_line(["expert", "--env", "gym_envs:Failing-v0", "--steps", "20", "--set", "learning_starts=2",
                       "--set", "hidden=8,8", "--quiet", "--out", str(out)], "raised in step 5 of an episode")
    assert (out / "config.json").exists() and not (out / "expert.json").exists()
