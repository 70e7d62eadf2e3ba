"""True control rewards against the environments, and Pearson / EPIC against plain references."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.envs.control import JaxEnv, reset_batch, step_batch
from irlax.envs.point_maze import gap_policy
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.metrics.reward import (
    Coverage,
    TransitionBatch,
    batch_rewards,
    canonical_rewards,
    coverage_epic_distance,
    coverage_samples,
    epic_distance,
    pearson_correlation,
    pearson_distance,
    reward_correlations,
)
from irlax.tasks import TASKS, has_true_reward, is_constant_reward, jax_tasks, make_env, true_reward_fn

NUM_ENVS = 32


# ----------------------------------------------------------------------------- true rewards


def uniform_actions(env: JaxEnv, key, num: int, overshoot: float = 1.5):
    """Random actions; continuous ones reach ``overshoot`` times past the bounds to exercise clipping."""
    spec = env.spec
    if spec.discrete:
        return jax.random.randint(key, (num,), 0, spec.action_size)
    low, high = jnp.asarray(spec.action_low), jnp.asarray(spec.action_high)
    return jax.random.uniform(key, (num, spec.action_size), minval=overshoot * low, maxval=overshoot * high)


def half_scripted(env: JaxEnv, key, obs):
    """Random actions for the first half of the environments, a scripted one for the rest.

    CartPole always pushes left (the pole falls: terminal transitions), the maze
    follows :func:`gap_policy`; elsewhere all actions are random.
    """
    actions = uniform_actions(env, key, obs.shape[0])
    if env.name == "CartPole-v1":
        scripted = jnp.zeros_like(actions)
    elif env.name.startswith("PointMaze"):
        scripted = jax.vmap(gap_policy, in_axes=(0, None))(obs, env.params)
    else:
        return actions
    first_half = (jnp.arange(obs.shape[0]) < obs.shape[0] // 2).reshape(-1, *([1] * (actions.ndim - 1)))
    return jnp.where(first_half, actions, scripted)


def start_states(env: JaxEnv, key, num: int):
    """``(obs [E, O], states)`` to start from: fresh episodes, or states spread over the state space.

    Acrobot starts from uniformly random angles (so steps reach the goal height and
    earn 0), Pendulum from any angle in ``[-3 pi, 3 pi]``, MountainCar from anywhere,
    moving either way (so some steps reach the goal and earn the bonus).
    """
    reset_key, key = jax.random.split(key)
    obs, states = reset_batch(env, reset_key, num)
    u = jax.random.uniform(key, (4, num), minval=-1.0, maxval=1.0)
    if env.name == "Acrobot-v1":
        states = states.replace(
            joint_angle1=jnp.pi * u[0], joint_angle2=jnp.pi * u[1], velocity_1=4 * u[2], velocity_2=4 * u[3]
        )
    elif env.name == "Pendulum-v1":  # angles beyond +-pi, as after spinning: the reward normalises them
        states = states.replace(theta=3 * jnp.pi * u[0], theta_dot=8 * u[1])
    elif env.name == "MountainCarContinuous-v0":
        states = states.replace(position=-0.3 + 0.9 * u[0], velocity=0.07 * u[1])
    else:
        return obs, states
    return jax.vmap(env.env.get_obs)(states).astype(jnp.float32), states


@functools.partial(jax.jit, static_argnums=(0, 2, 3))
def run_steps(env: JaxEnv, key, num_envs: int, steps: int):
    """``steps`` steps of ``num_envs`` environments under :func:`half_scripted`.

    Returns ``(obs, action, next_obs, reward, terminated, true_reward)``, leaves ``[steps * num_envs, ...]``,
    with ``true_reward`` from :func:`true_reward_fn` (in the same compiled function, to compile once).
    """

    def one(carry, key):
        obs, states = carry
        act_key, step_key = jax.random.split(key)
        action = half_scripted(env, act_key, obs)
        out = step_batch(env, step_key, states, action)
        return (out.obs, out.state), (obs, action, out.next_obs, out.reward, out.terminated)

    start_key, key = jax.random.split(key)
    _, rows = jax.lax.scan(one, start_states(env, start_key, num_envs), jax.random.split(key, steps))
    obs, action, next_obs, reward, terminated = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), rows)
    return obs, action, next_obs, reward, terminated, jax.vmap(true_reward_fn(env))(obs, action, next_obs)


def test_every_pure_jax_environment_has_a_true_reward():
    for name in jax_tasks():
        true_reward_fn(make_env(name))
    assert [name for name in TASKS if is_constant_reward(make_env(name))] == ["CartPole-v1", "CartPoleGravity20-v1"]
    # a Gymnasium task's reward is not a function irlax knows (MuJoCo's reads positions outside the observation)
    assert has_true_reward(make_env("Pendulum-v1")) and not has_true_reward(make_env("Hopper-v5"))
    assert not has_true_reward(make_env("Pendulum-v1", "gymnasium"))
    with pytest.raises(IrlaxError, match="not known to irlax"):
        true_reward_fn(make_env("Hopper-v5"))


@pytest.mark.parametrize("name", jax_tasks())
def test_true_reward_matches_the_environment(name):
    env = make_env(name)
    cartpole = name.startswith("CartPole")
    steps = 40 if cartpole else 10  # pushed left, a pole falls within 40 steps
    _, _, _, reward, terminated, got = run_steps(env, jax.random.PRNGKey(0), NUM_ENVS, steps)
    assert got.shape == reward.shape and got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), np.asarray(reward), rtol=0, atol=1e-5)
    if cartpole:
        assert np.asarray(terminated).sum() >= 16  # terminal transitions are included
    if name == "MountainCarContinuous-v0":
        assert np.asarray(terminated).any() and (np.asarray(reward) > 50).any()  # goal bonus included
    if name == "Acrobot-v1":
        assert set(np.unique(np.asarray(reward))) == {-1.0, 0.0}


def test_unknown_env_has_no_true_reward():
    env = make_env("CartPole-v1")
    other = JaxEnv(EnvSpec("Nope-v0", 4, True, 2, (), (), 10), env.env, env.params)
    with pytest.raises(IrlaxError, match="reward of Nope-v0 .* not known"):
        true_reward_fn(other)
    assert not is_constant_reward(other)


# ----------------------------------------------------------------------------- Pearson


def test_pearson_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = 0.5 * x + rng.normal(size=200)
    np.testing.assert_allclose(pearson_correlation(jnp.asarray(x), jnp.asarray(y)), np.corrcoef(x, y)[0, 1], atol=1e-5)
    np.testing.assert_allclose(pearson_correlation(jnp.asarray(x), jnp.asarray(-3 * x + 1)), -1.0, atol=1e-6)


def test_weighted_pearson_matches_hand_computation_and_repetition():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    w = rng.integers(1, 5, size=50).astype(float)
    p = w / w.sum()
    mx, my = p @ x, p @ y
    expected = p @ ((x - mx) * (y - my)) / np.sqrt(p @ (x - mx) ** 2 * (p @ (y - my) ** 2))
    got = pearson_correlation(jnp.asarray(x), jnp.asarray(y), jnp.asarray(w))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # integer weights = repeating each point that many times
    reps = w.astype(int)
    np.testing.assert_allclose(got, np.corrcoef(np.repeat(x, reps), np.repeat(y, reps))[0, 1], atol=1e-5)


@pytest.mark.parametrize("constant", [1.0, 0.1, 0.0, -37.3])
def test_pearson_is_nan_on_constant_input(constant):
    x = jnp.asarray(np.random.default_rng(2).normal(size=1000), jnp.float32)
    c = jnp.full((1000,), constant, jnp.float32)
    assert np.isnan(pearson_correlation(x, c)) and np.isnan(pearson_correlation(c, x))
    assert np.isnan(pearson_distance(x, c))


def test_pearson_distance_ends():
    x = jnp.asarray(np.random.default_rng(3).normal(size=100), jnp.float32)
    np.testing.assert_allclose(pearson_distance(x, 2 * x + 5), 0.0, atol=1e-3)
    np.testing.assert_allclose(pearson_distance(x, -x), 1.0, atol=1e-6)


# ----------------------------------------------------------------------------- EPIC

GAMMA = 0.9
OBS, ACT, N, M = 3, 2, 64, 48
W = jnp.asarray(np.random.default_rng(10).normal(size=(2 * OBS + ACT, 8)), jnp.float32)
TABLE = jnp.asarray(np.random.default_rng(11).normal(size=(4, OBS)), jnp.float32)
# jitted once per reward function (the rewards are static arguments)
canonical_jit = jax.jit(canonical_rewards, static_argnums=(0,), static_argnames=("batch_size",))


def continuous_reward(obs, action, next_obs):
    """An arbitrary nonlinear reward of a transition with ``[2]`` actions."""
    return jnp.sum(jnp.tanh(jnp.concatenate([obs, action, next_obs]) @ W)) + obs[0] * next_obs[1]


def discrete_reward(obs, action, next_obs):
    """An arbitrary nonlinear reward with 4 discrete actions."""
    return jnp.sin(obs @ TABLE[action]) + jnp.cos(next_obs).sum() * (action - 1.5)


def other_reward(obs, action, next_obs):
    return jnp.sum(next_obs**2) - jnp.sum(obs)


def potential(obs):
    return jnp.sin(3 * obs[0]) * obs[1] ** 2 + jnp.exp(obs[2] / 2)


def shaped(reward, scale=3.0):
    return lambda s, a, s2: scale * reward(s, a, s2) + GAMMA * potential(s2) - potential(s)


def negated(reward):
    return lambda s, a, s2: -reward(s, a, s2)


@functools.cache
def samples(discrete: bool):
    """Coverage transitions ``(obs, action, next_obs)`` and marginal samples ``(states, actions)``."""
    rng = np.random.default_rng(12)
    draw_actions = (
        (lambda n: jnp.asarray(rng.integers(0, 4, size=n), jnp.int32))
        if discrete
        else (lambda n: jnp.asarray(rng.normal(size=(n, ACT)), jnp.float32))
    )
    normal = lambda *shape: jnp.asarray(rng.normal(size=shape), jnp.float32)
    obs, action, next_obs = normal(N, OBS), draw_actions(N), normal(N, OBS)
    return (obs, action, next_obs), (normal(M, OBS), draw_actions(M))


REWARDS = {"continuous": (continuous_reward, False), "discrete": (discrete_reward, True)}


@functools.cache
def canonical_variants(kind: str) -> np.ndarray:
    """``[4, N]``: C(R), C(3R + shaping), C(-R), C(-(R/2 + shaping)) on the test samples (one compile per kind)."""
    reward, discrete = REWARDS[kind]
    variants = (reward, shaped(reward), negated(reward), negated(shaped(reward, 0.5)))
    (obs, action, next_obs), (states, actions) = samples(discrete)
    canon = jax.jit(lambda *args: jnp.stack([canonical_rewards(r, *args, GAMMA) for r in variants]))
    return np.asarray(canon(obs, action, next_obs, states, actions))


@pytest.mark.parametrize("kind", REWARDS)
def test_canonicalisation_removes_potential_shaping(kind):
    canon = canonical_variants(kind)
    # with the same samples for S and S' the potential terms cancel exactly: C(3R + shaping) = 3 C(R)
    np.testing.assert_allclose(canon[1], 3 * canon[0], atol=2e-4)
    assert float(pearson_distance(canon[0], canon[1])) < 2e-3  # the EPIC distance of R and 3R + shaping


@pytest.mark.parametrize("kind", REWARDS)
def test_epic_of_negated_reward_is_one(kind):
    canon = canonical_variants(kind)
    np.testing.assert_allclose(pearson_distance(canon[0], canon[2]), 1.0, atol=1e-5)
    np.testing.assert_allclose(pearson_distance(canon[0], canon[3]), 1.0, atol=1e-5)


def test_epic_is_symmetric_and_bounded():
    (obs, action, next_obs), (states, actions) = samples(False)
    both_ways = jax.jit(lambda *args: jnp.stack([
        epic_distance(continuous_reward, other_reward, *args), epic_distance(other_reward, continuous_reward, *args)
    ]))
    d_ab, d_ba = np.asarray(both_ways(obs, action, next_obs, states, actions, GAMMA))
    assert 0.05 < d_ab < 0.95
    np.testing.assert_allclose(d_ab, d_ba, atol=1e-6)


@pytest.mark.parametrize("kind", REWARDS)
def test_canonical_rewards_match_a_python_loop(kind):
    reward, discrete = REWARDS[kind]
    (obs, action, next_obs), (states, actions) = samples(discrete)
    obs, action, next_obs, states, actions = obs[:3], action[:3], next_obs[:3], states[:4], actions[:4]
    jitted = jax.jit(reward)
    r = lambda s, a, s2: float(jitted(s, a, s2))
    expected = []
    for s, a, s2 in zip(obs, action, next_obs, strict=True):
        future = sum(r(s2, u, x) for x, u in zip(states, actions, strict=True)) / 4
        current = sum(r(s, u, x) for x, u in zip(states, actions, strict=True)) / 4
        baseline = sum(r(xi, u, x) for xi in states for x, u in zip(states, actions, strict=True)) / 16
        expected.append(r(s, a, s2) + GAMMA * future - current - GAMMA * baseline)
    # the discrete case also checks the chunked path (chunks of 3 of the 4 samples: one ragged)
    batch_size = 3 if discrete else None
    got = canonical_jit(reward, obs, action, next_obs, states, actions, GAMMA, batch_size=batch_size)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- coverage and correlations


@pytest.mark.parametrize("discrete", [True, False])
def test_coverage_samples_draw_from_the_pooled_batches(discrete):
    (obs, action, next_obs), _ = samples(discrete)
    halves = [(obs[:20], action[:20], next_obs[:20]), TransitionBatch(obs[20:], action[20:], next_obs[20:])]
    coverage = coverage_samples(jax.random.PRNGKey(0), halves, 30)
    assert isinstance(coverage, Coverage)
    np.testing.assert_array_equal(coverage.transitions.obs, obs)
    np.testing.assert_array_equal(coverage.transitions.action, action)
    assert coverage.state_samples.shape == (30, OBS)
    assert coverage.action_samples.shape == (30, *action.shape[1:]) and coverage.action_samples.dtype == action.dtype
    pool = np.concatenate([np.asarray(obs), np.asarray(next_obs)])
    assert all((pool == s).all(axis=1).any() for s in np.asarray(coverage.state_samples))
    if not discrete:  # one compile is enough: canonicalisation of discrete actions is tested above
        distance = jax.jit(lambda c: coverage_epic_distance(other_reward, shaped(other_reward), c, GAMMA))(coverage)
        assert float(distance) < 2e-3


def test_coverage_samples_rejects_bad_batches():
    with pytest.raises(IrlaxError, match="at least one batch"):
        coverage_samples(jax.random.PRNGKey(0), [], 4)
    with pytest.raises(IrlaxError, match="expected transitions"):
        coverage_samples(jax.random.PRNGKey(0), [(jnp.zeros((2, 3)), jnp.zeros(2))], 4)


def test_reward_correlations_per_batch():
    (obs, action, next_obs), _ = samples(False)
    batches = {"first": (obs[:32], action[:32], next_obs[:32]), "second": (obs[32:], action[32:], next_obs[32:])}
    got = reward_correlations(continuous_reward, other_reward, batches)
    assert set(got) == {"first", "second"} and all(isinstance(v, float) for v in got.values())
    batch = TransitionBatch(*batches["second"])
    expected = pearson_correlation(batch_rewards(continuous_reward, batch), batch_rewards(other_reward, batch))
    np.testing.assert_allclose(got["second"], expected, atol=1e-6)
    affine = lambda s, a, s2: 2 * other_reward(s, a, s2) + 1
    assert reward_correlations(affine, other_reward, batches)["first"] > 0.999


def test_correlation_with_cartpole_reward_is_undefined():
    env = make_env("CartPole-v1")
    obs = jax.random.normal(jax.random.PRNGKey(0), (16, 4))
    batch = (obs, jnp.zeros(16, jnp.int32), obs + 0.1)
    got = reward_correlations(lambda s, a, s2: jnp.sum(s), true_reward_fn(env), {"random": batch})
    assert np.isnan(got["random"])
