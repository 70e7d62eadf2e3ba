"""The control-task adapter and the shared rollout code, against plain step-by-step references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.errors import IrlaxError
from irlax.learners.rollout import EpisodeStats, init_envs, rollout_episodes, step_envs
from irlax.tasks import TASKS, make_env

GYMNAX = ["CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"]


def constant_act(env, value=0):
    if env.spec.discrete:
        return lambda key, obs: (jnp.int32(value), jnp.float32(0.0))
    return lambda key, obs: (jnp.full((env.spec.action_size,), float(value), jnp.float32), jnp.float32(0.0))


def test_unknown_env_is_a_clear_error():
    with pytest.raises(IrlaxError, match="unknown environment 'Nope-v0'"):
        make_env("Nope-v0")
    with pytest.raises(IrlaxError, match=r"unknown environment 'CartPole-v9' \(did you mean CartPole-v1"):
        make_env("CartPole-v9")
    assert make_env("CartPole-v0").spec.backend == "gymnasium"  # not irlax's: Gymnasium's


@pytest.mark.parametrize(
    "name, obs_size, discrete, action_size, max_steps",
    [
        ("CartPole-v1", 4, True, 2, 500),
        ("Acrobot-v1", 6, True, 3, 500),
        ("Pendulum-v1", 3, False, 1, 200),
        ("MountainCarContinuous-v0", 2, False, 1, 999),
    ],
)
def test_env_sizes(name, obs_size, discrete, action_size, max_steps):
    env = make_env(name)
    spec = env.spec
    sizes = (spec.obs_size, spec.discrete, spec.action_size, spec.max_steps)
    assert sizes == (obs_size, discrete, action_size, max_steps)
    assert spec.name == env.name == name
    assert make_env(name) is env and hash(env) == hash(make_env(name))
    obs, state = env.reset(jax.random.PRNGKey(0))
    out = env.step(jax.random.PRNGKey(1), state, constant_act(env)(None, obs)[0])
    assert out.obs.shape == (obs_size,) and out.next_obs.shape == (obs_size,) and out.reward.shape == ()
    assert out.terminated.dtype == bool and out.truncated.dtype == bool


def test_every_registered_env_is_listed():
    assert set(GYMNAX) <= set(TASKS)


@pytest.mark.parametrize(("name", "original", "changed"), [
    ("CartPoleGravity20-v1", "CartPole-v1", {"gravity": 20.0, "total_mass": 1.1, "polemass_length": 0.05}),
    ("AcrobotHeavy-v1", "Acrobot-v1", {"link_mass_1": 1.5, "link_mass_2": 1.5}),
    ("PendulumHeavy-v1", "Pendulum-v1", {"m": 1.3, "max_torque": 2.5}),
])
def test_modified_dynamics_tasks_change_only_their_parameters_and_move_otherwise(name, original, changed):
    """Each modified task is its original with the named parameters changed: the same sizes, the other parameters
    equal, and the same state and action lead elsewhere."""
    env, base = make_env(name), make_env(original)
    assert (env.spec.obs_size, env.spec.discrete, env.spec.action_size, env.spec.max_steps) == (
        base.spec.obs_size, base.spec.discrete, base.spec.action_size, base.spec.max_steps)
    for field, value in vars(base.params).items():
        want = changed.get(field, value)
        np.testing.assert_allclose(np.asarray(getattr(env.params, field)), np.asarray(want), rtol=1e-6)
    _, state = base.reset(jax.random.PRNGKey(0))
    action = constant_act(base, 1)(None, None)[0]
    moved = [e.step(jax.random.PRNGKey(1), state, action).next_obs for e in (base, env)]
    assert not np.allclose(np.asarray(moved[0]), np.asarray(moved[1]), rtol=0, atol=1e-7)


def test_terminated_and_truncated_are_kept_apart():
    # CartPole pushed always left falls over: terminated, not truncated, well before the limit
    cart = make_env("CartPole-v1")
    episodes = rollout_episodes(cart, constant_act(cart, 0), jax.random.PRNGKey(0), 4)
    lengths = np.asarray(episodes.lengths())
    assert np.all(lengths < 50)
    last = lengths - 1
    rows = np.arange(4)
    assert np.all(np.asarray(episodes.transitions.terminated)[rows, last])
    assert not np.any(np.asarray(episodes.transitions.truncated)[rows, last])
    # Pendulum never terminates: the time limit truncates it at exactly 200 steps
    pend = make_env("Pendulum-v1")
    episodes = rollout_episodes(pend, constant_act(pend, 0.0), jax.random.PRNGKey(0), 3)
    assert np.all(np.asarray(episodes.lengths()) == 200)
    assert np.all(np.asarray(episodes.transitions.truncated)[:, 199])
    assert not np.any(np.asarray(episodes.transitions.terminated))
    assert not np.any(np.asarray(episodes.transitions.truncated)[:, :199])


def test_next_obs_is_the_true_successor_across_an_auto_reset():
    env = make_env("CartPole-v1")
    obs, state = env.reset(jax.random.PRNGKey(3))
    for t in range(200):
        out = env.step(jax.random.PRNGKey(t), state, jnp.int32(1))
        if out.terminated:
            # the true successor leans past the limit; the next obs is a fresh reset near zero
            assert abs(float(out.next_obs[2])) > 0.2 or abs(float(out.next_obs[0])) > 2.4
            assert np.all(np.abs(np.asarray(out.obs)) <= 0.05)
            break
        np.testing.assert_array_equal(out.obs, out.next_obs)
        state = out.state
    else:
        pytest.fail("CartPole pushed right never terminated")


def test_rollout_matches_a_plain_loop():
    env = make_env("Pendulum-v1")
    act = lambda key, obs: (jnp.clip(-obs[2:3], -2.0, 2.0), jnp.float32(0.0))
    episodes = jax.jit(lambda k: rollout_episodes(env, act, k, 2))(jax.random.PRNGKey(5))
    no_jit = rollout_episodes(env, act, jax.random.PRNGKey(5), 2)
    np.testing.assert_allclose(episodes.returns(), no_jit.returns(), rtol=1e-5)
    # the recorded transitions chain: each step's obs is the previous step's next_obs
    t = episodes.transitions
    np.testing.assert_allclose(t.obs[:, 1:], t.next_obs[:, :-1], rtol=1e-6)
    np.testing.assert_allclose(episodes.returns(), np.asarray(t.env_reward).sum(axis=1), rtol=1e-5)


def test_reward_fn_replaces_the_learners_reward_but_not_the_true_one():
    env = make_env("CartPole-v1")
    carry = init_envs(env, jax.random.PRNGKey(0), 3)
    action = jnp.zeros((3,), jnp.int32)
    reward_fn = lambda params, obs, a, next_obs, terminated: params * next_obs[0]
    _, transition, _ = step_envs(env, carry, jax.random.PRNGKey(1), action, jnp.zeros(3), reward_fn, 2.0)
    np.testing.assert_allclose(transition.reward, 2.0 * transition.next_obs[:, 0], rtol=1e-6)
    np.testing.assert_array_equal(transition.env_reward, jnp.ones(3))
    _, plain, _ = step_envs(env, carry, jax.random.PRNGKey(1), action, jnp.zeros(3))
    np.testing.assert_array_equal(plain.reward, plain.env_reward)


def test_episode_stats_count_the_true_returns_of_ended_episodes():
    env = make_env("CartPole-v1")
    carry = init_envs(env, jax.random.PRNGKey(0), 4)
    stats = EpisodeStats.zero()
    lengths, current = [], np.zeros(4)
    for t in range(60):
        carry, transition, step_stats = step_envs(
            env, carry, jax.random.PRNGKey(t), jnp.zeros((4,), jnp.int32), jnp.zeros(4)
        )
        stats = stats.add(step_stats)
        current += 1
        done = np.asarray(transition.terminated | transition.truncated)
        lengths += list(current[done])
        current[done] = 0
    assert float(stats.count) == len(lengths) > 0
    # CartPole pays 1 per step, so an episode's return is its length
    np.testing.assert_allclose(float(stats.mean_return()), np.mean(lengths))
    np.testing.assert_allclose(float(stats.length_sum), np.sum(lengths))
    assert np.isnan(float(EpisodeStats.zero().mean_return()))


def test_check_obs_names_the_mismatch():
    env = make_env("Pendulum-v1")
    env.spec.check_obs(jnp.zeros((5, 3)), "demos")
    with pytest.raises(IrlaxError, match="demos: observations have size 4, but Pendulum-v1 has observations of size 3"):
        env.spec.check_obs(jnp.zeros((5, 4)), "demos")
