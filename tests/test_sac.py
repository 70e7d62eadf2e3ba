"""SAC, its replay buffer and the action distributions, against hand computations and short learning runs."""

from __future__ import annotations

import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.errors import IrlaxError
from irlax.learners import base, sac
from irlax.learners.replay import init_replay, replay_add, replay_sample
from irlax.nn import distributions as dist
from irlax.nn.networks import MLP
from irlax.tasks import TASKS, learner_budget, learner_config, make_env

# ---------------------------------------------------------------------------------------------------------------
# Distributions


def test_categorical_log_prob_entropy_and_sampling():
    logits = jnp.array([0.5, -1.0, 2.0])
    p = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
    for a in range(3):
        assert float(dist.categorical_log_prob(logits, jnp.int32(a))) == pytest.approx(math.log(p[a]), rel=1e-5)
    assert float(dist.categorical_entropy(logits)) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-5)
    draws = jax.vmap(dist.categorical_sample, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(0), 20000), logits)
    assert draws.dtype == jnp.int32
    np.testing.assert_allclose(np.bincount(np.asarray(draws), minlength=3) / 20000, p, atol=0.015)


def test_gaussian_log_prob_and_entropy():
    mean, log_std, x = jnp.array([0.3, -1.0]), jnp.array([0.2, -0.5]), jnp.array([1.0, -1.2])
    std = np.exp([0.2, -0.5])
    hand = sum(
        -0.5 * ((xi - mi) / si) ** 2 - math.log(si) - 0.5 * math.log(2 * math.pi)
        for xi, mi, si in zip([1.0, -1.2], [0.3, -1.0], std, strict=True)
    )
    assert float(dist.gaussian_log_prob(mean, log_std, x)) == pytest.approx(hand, rel=1e-5)
    hand_entropy = sum(0.5 * math.log(2 * math.pi * math.e * si**2) for si in std)
    assert float(dist.gaussian_entropy(log_std)) == pytest.approx(hand_entropy, rel=1e-5)
    # Monte Carlo: the entropy is the expected negative log-density of draws
    keys = jax.random.split(jax.random.PRNGKey(1), 20000)
    draws = jax.vmap(dist.gaussian_sample, in_axes=(0, None, None))(keys, mean, log_std)
    mc = -jnp.mean(jax.vmap(dist.gaussian_log_prob, in_axes=(None, None, 0))(mean, log_std, draws))
    assert float(mc) == pytest.approx(hand_entropy, abs=0.03)


def test_clipped_gaussian_log_prob_is_the_censored_likelihood():
    """Inside the box the Gaussian density; at a bound the tail mass beyond it (scipy's cdf/sf); infinite bounds
    give the plain density; and -log pi stays bounded as the standard deviation grows, unlike the unclipped one."""
    from scipy.stats import norm

    mean, log_std = jnp.array([0.3, -0.8, 0.0]), jnp.array([-0.5, 0.4, 0.1])
    low, high = jnp.array([-1.0, -1.0, -np.inf]), jnp.array([1.0, 1.0, np.inf])
    std = np.exp(np.asarray(log_std, np.float64))
    m = np.asarray(mean, np.float64)
    for action in ([0.5, 0.2, 3.0], [1.7, -1.0, -2.0], [-4.0, 2.5, 0.0], [1.0, -0.999, 10.0]):
        a = np.asarray(action, np.float64)
        hand = 0.0
        for i in range(3):
            lo, hi = float(low[i]), float(high[i])
            if a[i] <= lo:
                hand += norm.logcdf(lo, m[i], std[i])
            elif a[i] >= hi:
                hand += norm.logsf(hi, m[i], std[i])
            else:
                hand += norm.logpdf(a[i], m[i], std[i])
        got = float(dist.clipped_gaussian_log_prob(mean, log_std, jnp.asarray(a, jnp.float32), low, high))
        assert got == pytest.approx(hand, rel=1e-4, abs=1e-4), action
    # the likelihood sums to one over the censored measure (atoms plus the density inside), per dimension
    xs = np.linspace(-1.0, 1.0, 20001)
    one_dim = lambda x: float(dist.clipped_gaussian_log_prob(mean[:1], log_std[:1], jnp.array([x]), low[:1], high[:1]))
    inside = np.trapezoid(np.exp(norm.logpdf(xs, m[0], std[0])), xs)
    assert np.exp(one_dim(-1.0)) + inside + np.exp(one_dim(1.0)) == pytest.approx(1.0, abs=1e-4)
    # a policy widening past [-1, 1]: the mean clipped -log pi of its draws peaks (about 1.39 a dimension, near
    # std 1.5; by numerical integration) and falls toward log 2 a dimension, while the unclipped one grows as log std
    keys = jax.random.split(jax.random.PRNGKey(3), 4000)
    bonus = []
    for wide in (0.0, 2.0, 5.0):
        ls = jnp.full((3,), wide)
        draws = jax.vmap(dist.gaussian_sample, in_axes=(0, None, None))(keys, jnp.zeros(3), ls)
        box = jnp.ones(3)
        clipped = -jnp.mean(jax.vmap(dist.clipped_gaussian_log_prob, in_axes=(None, None, 0, None, None))(
            jnp.zeros(3), ls, draws, -box, box))
        unclipped = -jnp.mean(jax.vmap(dist.gaussian_log_prob, in_axes=(None, None, 0))(jnp.zeros(3), ls, draws))
        assert float(clipped) <= 3 * 1.39 + 0.05
        assert float(unclipped) == pytest.approx(float(dist.gaussian_entropy(ls)), abs=0.1)
        bonus.append(float(clipped))
    assert bonus[2] < bonus[1] < 3 * 1.39 and 3 * math.log(2.0) < bonus[2] < 3 * 0.75  # std 148: 0.74 a dimension


def test_tanh_gaussian_log_prob_is_the_change_of_variables():
    """log p(y) = log N(u) - log |dy/du| with y = centre + half tanh(u), the Jacobian taken numerically."""
    mean, log_std = jnp.array([0.4, -0.3]), jnp.array([-0.2, 0.1])
    low, high = jnp.array([-2.0, 0.0]), jnp.array([2.0, 1.0])
    squash = lambda u: (high + low) / 2 + (high - low) / 2 * jnp.tanh(u)
    for u in (jnp.array([0.1, -0.7]), jnp.array([1.5, 0.3]), jnp.array([-2.0, 2.5])):
        y = squash(u)
        eps = 1e-3
        # central finite differences of the (diagonal) squashing, in float64 numpy
        u64, half, centre = np.asarray(u, np.float64), np.array([2.0, 0.5]), np.array([0.0, 0.5])
        jac = (np.tanh(u64 + eps) - np.tanh(u64 - eps)) / (2 * eps) * half
        y64 = centre + half * np.tanh(u64)
        assert np.allclose(np.asarray(y), y64, atol=1e-6)
        reference = float(dist.gaussian_log_prob(mean, log_std, u)) - np.log(np.abs(jac)).sum()
        got = float(dist.tanh_gaussian_log_prob(mean, log_std, y, low, high))
        assert got == pytest.approx(reference, abs=2e-3 if np.abs(u64).max() > 1.9 else 2e-4)
    # the sampler's log-density is the same function of its own draw
    keys = jax.random.split(jax.random.PRNGKey(2), 64)
    actions, log_probs = jax.vmap(dist.tanh_gaussian_sample, in_axes=(0, None, None, None, None))(
        keys, mean, log_std, low, high
    )
    assert bool(jnp.all((actions >= low) & (actions <= high)))
    again = jax.vmap(dist.tanh_gaussian_log_prob, in_axes=(None, None, 0, None, None))(
        mean, log_std, actions, low, high
    )
    np.testing.assert_allclose(log_probs, again, atol=2e-3)
    mode = dist.tanh_gaussian_mode(mean, low, high)
    np.testing.assert_allclose(mode, squash(mean), rtol=1e-6)


def test_tanh_gaussian_density_integrates_to_one():
    mean, log_std = jnp.array([0.7]), jnp.array([-0.4])
    low, high = jnp.array([-2.0]), jnp.array([2.0])
    y = jnp.linspace(-2.0, 2.0, 20001)[1:-1, None]
    density = jnp.exp(
        jax.vmap(dist.tanh_gaussian_log_prob, in_axes=(None, None, 0, None, None))(mean, log_std, y, low, high)
    )
    assert float(jnp.trapezoid(density, y[:, 0])) == pytest.approx(1.0, abs=2e-3)


# ---------------------------------------------------------------------------------------------------------------
# Replay buffer


def _item(i):
    return {"x": jnp.full((2,), float(i)), "i": jnp.int32(i), "done": jnp.bool_(i % 2 == 0)}


def _batch(values):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *[_item(i) for i in values])


def test_replay_buffer_wraps_around_and_samples_the_filled_part():
    buffer = init_replay(_item(0), 5)
    assert buffer.capacity == 5 and int(buffer.size) == 0 and buffer.data["x"].shape == (5, 2)
    assert buffer.data["done"].dtype == jnp.bool_
    buffer = replay_add(buffer, _batch([1, 2, 3]))
    assert (int(buffer.position), int(buffer.size)) == (3, 3)
    drawn = replay_sample(buffer, jax.random.PRNGKey(0), 200)
    assert set(np.asarray(drawn["i"]).tolist()) == {1, 2, 3}  # never the empty slots
    np.testing.assert_array_equal(drawn["x"][:, 0], drawn["i"].astype(jnp.float32))  # rows stay together
    buffer = jax.jit(replay_add)(buffer, _batch([4, 5, 6, 7]))  # wraps: 6 and 7 overwrite 1 and 2
    assert (int(buffer.position), int(buffer.size)) == (2, 5)
    np.testing.assert_array_equal(buffer.data["i"], [6, 7, 3, 4, 5])
    np.testing.assert_array_equal(buffer.data["done"], [True, False, False, True, False])
    drawn = jax.jit(replay_sample, static_argnums=2)(buffer, jax.random.PRNGKey(1), 500)
    counts = np.bincount(np.asarray(drawn["i"]), minlength=8)
    assert counts[[1, 2]].sum() == 0 and (counts[3:8] > 60).all()  # uniform over the 5 live items
    with pytest.raises(ValueError, match="capacity 5"):
        replay_add(buffer, _batch(range(6)))


# ---------------------------------------------------------------------------------------------------------------
# Targets and losses


def test_critic_target_by_hand_continuous():
    """y = r + gamma (1 - terminated) (min(Q1, Q2) - alpha log pi): a truncated row bootstraps, a terminated one not."""
    gamma, alpha = 0.9, 0.2
    rows = [
        # reward, terminated, truncated, next_q, next_log_prob
        (1.0, False, False, [3.0, 2.0], -0.5),
        (-2.0, True, False, [5.0, 4.0], 0.3),
        (0.5, False, True, [-1.0, 1.0], 1.2),
    ]
    reward, terminated, _, next_q, next_log_prob = (jnp.array(c) for c in zip(*rows, strict=True))
    got = jax.vmap(sac.sac_critic_target, in_axes=(0, 0, 0, 0, None, None))(
        reward, terminated, next_q, next_log_prob, alpha, gamma
    )
    hand = [1.0 + 0.9 * (2.0 - 0.2 * -0.5), -2.0, 0.5 + 0.9 * (-1.0 - 0.2 * 1.2)]
    np.testing.assert_allclose(got, hand, rtol=1e-6)


def test_critic_target_by_hand_discrete():
    """Discrete: the exact expectation sum_a pi(a|s') (min_i Q_i(s', a) - alpha log pi(a|s'))."""
    log_pi = jnp.log(jnp.array([0.25, 0.75]))
    next_q = jnp.array([[1.0, 4.0], [2.0, 3.0]])  # [2 critics, 2 actions]
    got = sac.sac_critic_target(jnp.float32(1.0), jnp.bool_(False), next_q, log_pi, 0.5, 0.99)
    value = 0.25 * (1.0 - 0.5 * math.log(0.25)) + 0.75 * (3.0 - 0.5 * math.log(0.75))
    assert float(got) == pytest.approx(1.0 + 0.99 * value, rel=1e-6)
    assert float(sac.sac_critic_target(jnp.float32(1.0), jnp.bool_(True), next_q, log_pi, 0.5, 0.99)) == 1.0


@pytest.mark.parametrize("name", ["Pendulum-v1", "CartPole-v1"])
def test_twin_critics_are_each_critic_on_its_own_parameters(name):
    """``q_values`` (the critics applied one after the other) is each critic's network on its own slice of the
    stacked parameters, at the observations and the actions rescaled to [-1, 1] (continuous)."""
    from irlax.learners.sac import networks

    spec = make_env(name).spec
    config = sac.SACConfig(hidden=(8, 8))
    agent, _, _ = sac.make_sac(config, spec).init(jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(1), (5, spec.obs_size))
    action = None if spec.discrete else jax.random.uniform(jax.random.PRNGKey(2), (5, spec.action_size),
                                                           minval=-2.0, maxval=2.0)
    q = networks.q_values(config, spec, agent.params.critic, obs, action)
    net = networks.critic_network(config, spec)
    x = obs if spec.discrete else jnp.concatenate([obs, action / 2.0], axis=-1)  # Pendulum's torque is in [-2, 2]
    for i in range(2):
        one = net.apply(jax.tree.map(lambda p, i=i: p[i], agent.params.critic), x)
        np.testing.assert_allclose(q[:, i], one if spec.discrete else one[:, 0], rtol=1e-6, atol=1e-6)
    assert q.shape == ((5, 2, spec.action_size) if spec.discrete else (5, 2))
    assert not np.allclose(q[:, 0], q[:, 1])  # two critics, initialised apart


def test_losses_by_hand():
    assert float(sac.sac_critic_loss(jnp.array([1.0, 3.0]), jnp.float32(2.0))) == pytest.approx(1.0)
    # continuous actor: alpha log pi - min Q
    assert float(sac.sac_actor_loss(jnp.array([1.0, 3.0]), jnp.float32(-0.5), 0.2)) == pytest.approx(-0.1 - 1.0)
    # discrete actor: sum_a pi (alpha log pi - min_i Q_i)
    log_pi = jnp.log(jnp.array([0.5, 0.5]))
    q = jnp.array([[1.0, 2.0], [0.0, 5.0]])
    hand = 0.5 * (0.1 * math.log(0.5) - 0.0) + 0.5 * (0.1 * math.log(0.5) - 2.0)
    assert float(sac.sac_actor_loss(q, log_pi, 0.1)) == pytest.approx(hand, rel=1e-6)
    # temperature: -log alpha (E log pi + target); its gradient raises alpha when the entropy is below target
    loss = sac.sac_temperature_loss(jnp.log(0.5), jnp.float32(1.0), -1.0)
    assert float(loss) == pytest.approx(0.0, abs=1e-7)
    grad = jax.grad(sac.sac_temperature_loss)(jnp.float32(0.0), jnp.float32(2.0), -1.0)  # entropy -2 < -1
    assert float(grad) == pytest.approx(-1.0)
    p = jnp.array([0.9, 0.1])
    loss = sac.sac_temperature_loss(jnp.float32(1.0), jnp.log(p), 0.3)
    assert float(loss) == pytest.approx(-(float(jnp.sum(p * jnp.log(p))) + 0.3), rel=1e-6)


def test_learner_targets_bootstrap_from_next_obs_on_truncation():
    """The learner's batch targets, for discrete actions, against a loop over rows with the networks applied by hand."""
    env = make_env("CartPole-v1")
    config = sac.SACConfig(hidden=(16,), initial_alpha=0.3, gamma=0.95)
    params = sac.make_sac(config, env.spec).init(jax.random.PRNGKey(3))[0].params
    next_obs = jax.random.normal(jax.random.PRNGKey(4), (3, 4))
    reward = jnp.array([1.0, 1.0, 0.5])
    terminated = jnp.array([False, True, False])  # row 2 stands for a truncated step: bootstraps
    got = sac.critic_targets(config, env.spec, params, reward, terminated, next_obs, jax.random.PRNGKey(5))
    actor = MLP(config.hidden, 2, "relu", out_scale=0.01)
    critic = MLP(config.hidden, 2, "relu")
    for row in range(3):
        log_pi = np.asarray(jax.nn.log_softmax(actor.apply(params.actor, next_obs[row])), np.float64)
        q = [
            np.asarray(critic.apply(jax.tree.map(lambda x, i=i: x[i], params.target_critic), next_obs[row]))
            for i in (0, 1)
        ]
        value = sum(np.exp(log_pi[a]) * (min(q[0][a], q[1][a]) - 0.3 * log_pi[a]) for a in range(2))
        hand = reward[row] + (0.0 if terminated[row] else 0.95 * value)
        assert float(got[row]) == pytest.approx(float(hand), rel=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# The learner

TINY = sac.SACConfig(
    num_envs=2, train_freq=2, gradient_steps=2, learning_starts=8, buffer_size=64, batch_size=8, hidden=(8,)
)


def test_config_checks():
    spec = make_env("Pendulum-v1").spec
    with pytest.raises(IrlaxError, match="buffer_size"):
        sac.make_sac(replace(TINY, buffer_size=3), spec)
    with pytest.raises(IrlaxError, match="random_hold"):
        sac.make_sac(replace(TINY, random_hold=0.5), spec)
    learner = sac.make_sac(TINY, spec)
    assert sac.steps_per_iteration(TINY) == learner.steps_per_iteration == 4 and learner.iterations_for(9) == 3


def test_task_table_entries():
    """SAC's tuned configs and checked step budgets live in the task table (they were SAC's presets)."""
    assert learner_config("Pendulum-v1", "sac").hidden == (64, 64)
    assert learner_config("Nope", "sac") == sac.SACConfig()
    assert learner_config("Acrobot-v1", "sac") == sac.SACConfig()  # no tuned config: the defaults
    tuned = {name for name, task in TASKS.items() if "sac" in task.learners and task.backend == "jax"}
    assert tuned == {"Pendulum-v1", "MountainCarContinuous-v0", "PointMaze-v0", "PointMazeShifted-v0", "CartPole-v1",
                     "PendulumHeavy-v1", "PointMazeWideStart-v0"}
    mujoco = {name for name, task in TASKS.items() if task.backend == "gymnasium"}
    assert mujoco == {"Hopper-v5", "HalfCheetah-v5", "Walker2d-v5", "Ant-v5", "Swimmer-v5", "InvertedPendulum-v5"}
    for name in mujoco:  # the usual MuJoCo setting: 256 x 256, batch 256, a buffer of 1M
        config = learner_config(name, "sac")
        assert (config.hidden, config.batch_size, config.buffer_size) == ((256, 256), 256, 1_000_000)
    for name in tuned:  # each tuned config was checked to learn within a known budget
        assert isinstance(learner_config(name, "sac"), sac.SACConfig)
        assert TASKS[name].sac_steps is not None and learner_budget(name, "sac") == TASKS[name].sac_steps
    assert learner_config("MountainCarContinuous-v0", "sac").random_hold == 50.0
    assert learner_config("PointMazeShifted-v0", "sac").random_hold == 20.0
    assert learner_config("CartPole-v1", "sac").target_entropy_scale == 0.5


@pytest.mark.parametrize("name", ["Pendulum-v1", "CartPole-v1"])
def test_act_and_log_prob_agree(name):
    env = make_env(name)
    learner = sac.make_sac(TINY, env.spec)
    policy = learner.policy_params(learner.init(jax.random.PRNGKey(0))[0])
    obs = jax.random.normal(jax.random.PRNGKey(1), (16, env.spec.obs_size))
    keys = jax.random.split(jax.random.PRNGKey(2), 16)
    for deterministic in (False, True):
        actions, log_probs = jax.vmap(lambda k, o, d=deterministic: learner.act(policy, k, o, d))(keys, obs)
        again = jax.vmap(lambda o, a: learner.log_prob(policy, o, a))(obs, actions)
        np.testing.assert_allclose(log_probs, again, atol=1e-3)
        if not env.spec.discrete:
            assert bool(jnp.all((actions >= -2.0) & (actions <= 2.0)))
    if env.spec.discrete:
        total = jax.vmap(
            lambda o: jax.nn.logsumexp(jnp.array([learner.log_prob(policy, o, a) for a in range(2)]))
        )
        np.testing.assert_allclose(total(obs), 0.0, atol=1e-5)


def test_update_resumes_where_an_uninterrupted_update_ends():
    """4 iterations in one call equal 2 and 2 more from the state in between (SAC compiled and op by op agree:
    ``test_sample_irl.test_jitted_and_eager_runs_agree`` (its SAC case))."""
    env = make_env("Pendulum-v1")
    learner = sac.make_sac(TINY, env.spec)
    state = base.init_state(learner, env, jax.random.PRNGKey(0))
    jitted, jit_metrics = base.update_jit(learner, env, state, 4)
    half, _ = base.update_jit(learner, env, state, 2)
    resumed, _ = base.update_jit(learner, env, half, 2)
    assert int(jitted.agent.env_steps) == 16 and int(jitted.agent.grad_steps) == 3 * 2  # learning from 8 steps on
    assert np.isnan(np.asarray(jit_metrics.losses.critic_loss[0])) and np.isfinite(jit_metrics.losses.critic_loss[-1])
    for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(resumed), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_a_buffer_the_size_of_the_run_learns_what_a_larger_one_does():
    """Until it wraps, the buffer's capacity changes nothing but memory (writes go to the same rows, minibatches are
    drawn from the filled ones): a run whose buffer holds exactly its steps ends with the same parameters, to the
    bit, as one with room to spare (``benchmarks/mujoco_irl.py`` sizes its SAC cells' buffers to their budget so)."""
    env = make_env("Pendulum-v1")
    ends = []
    for capacity in (16, 64):  # 4 iterations of 2 environments x 2 steps: 16 transitions
        learner = sac.make_sac(replace(TINY, buffer_size=capacity), env.spec)
        state, _ = base.update_jit(learner, env, base.init_state(learner, env, jax.random.PRNGKey(3)), 4)
        assert int(state.agent.buffer.size) == 16
        ends.append(state.agent.params)
    for a, b in zip(jax.tree.leaves(ends[0]), jax.tree.leaves(ends[1]), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # (a buffer that wraps holds other rows: test_replay_buffer_wraps_around_and_samples_the_filled_part)


def pendulum_reward(obs, action):
    """Pendulum-v1's reward recomputed from the observation (cos, sin, angular velocity) and the torque."""
    theta = jnp.arctan2(obs[1], obs[0])
    torque = jnp.clip(action[0], -2.0, 2.0)
    return -(theta**2 + 0.1 * obs[2] ** 2 + 0.001 * torque**2)


def blended_reward(weight, obs, action, next_obs, terminated):
    """``weight`` times the true reward plus ``1 - weight`` times the torque (a reward for pushing one way)."""
    return weight * pendulum_reward(obs, action) + (1.0 - weight) * action[0]


PENDULUM_STEPS = 4000
PENDULUM_TEST = replace(learner_config("Pendulum-v1", "sac"), batch_size=128, buffer_size=5000)


def test_pendulum_learns_across_vmapped_seeds_and_the_reward_fn_decides():
    """Three learners in one vmap: seeds 0 and 1 under the true reward (as a reward_fn), seed 2 under a reward
    for positive torque. The first two swing up; the third learns to push, whatever the true return."""
    env = make_env("Pendulum-v1")
    learner = sac.make_sac(PENDULUM_TEST, env.spec)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    weights = jnp.array([1.0, 1.0, 0.0])
    run = jax.jit(jax.vmap(lambda k, w: base.train(learner, env, k, PENDULUM_STEPS, blended_reward, w)))
    state, metrics = run(keys, weights)
    returns = np.asarray(metrics.mean_return)
    first, last = np.nanmean(returns[:, :1000], axis=1), np.nanmean(returns[:, -1000:], axis=1)
    assert (first[:2] < -900).all(), first
    assert (last[:2] > -700).all(), last  # a clear improvement on the true return
    # the learner's reward was the reward_fn's: the true one (recomputed exactly) in lanes 0-1, the torque in lane 2
    buffer = jax.tree.map(lambda x: x[0, :PENDULUM_STEPS], state.agent.buffer.data)
    np.testing.assert_allclose(jax.vmap(pendulum_reward)(buffer.obs, buffer.action), buffer.env_reward, atol=1e-4)
    learned_reward = np.asarray(metrics.losses.mean_reward[:, -100:]).mean(axis=1)
    assert (learned_reward[:2] < 0).all() and learned_reward[2] > 0.5
    # seeds differ, and lane 2 learned to push with full torque where the others did not
    assert not np.allclose(returns[0], returns[1], equal_nan=True)
    assert mean_greedy_action(learner, state, 2, buffer.obs[-64:]) > 1.5
    assert abs(mean_greedy_action(learner, state, 0, buffer.obs[-64:])) < 1.5
    assert last[2] < last[:2].min()


def mean_greedy_action(learner, states, lane, obs):
    """The mean deterministic action of the ``lane``-th of vmapped learner states over ``obs [N, O]``."""
    policy = learner.policy_params(jax.tree.map(lambda x: x[lane], states.agent))
    act = lambda o: learner.act(policy, jax.random.PRNGKey(0), o, deterministic=True)[0]
    return float(jnp.mean(jax.vmap(act)(obs)))


def test_discrete_sac_learns_cartpole():
    env = make_env("CartPole-v1")
    config = replace(learner_config("CartPole-v1", "sac"), learning_starts=500, batch_size=64, buffer_size=4000)
    state, metrics = base.train_jit(sac.make_sac(config, env.spec), env, jax.random.PRNGKey(0), 4000)
    returns = np.asarray(metrics.mean_return)
    assert np.nanmean(returns[:500]) < 40
    assert np.nanmean(returns[-1000:]) > 100, np.nanmean(returns[-1000:])
    assert int(state.agent.grad_steps) == 3501


def test_state_types_are_the_same_after_init_and_after_an_update():
    """Shapes, dtypes and weak types of every leaf of SAC's LearnerState on Pendulum-v1 survive an update.

    gymnax's Pendulum reset leaves weakly typed state leaves that a step makes strong; ``JaxEnv.reset`` must
    give them strong types, else every chunk of a run after the first recompiles ``update``.
    """
    env = make_env("Pendulum-v1")
    learner = sac.make_sac(TINY, env.spec)
    state = base.init_state_jit(learner, env, jax.random.PRNGKey(0))
    updated, _ = base.update_jit(learner, env, state, 1)
    structure, types = jax.tree.structure(state), [jax.typeof(x) for x in jax.tree.leaves(state)]
    assert jax.tree.structure(updated) == structure
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(state)[0]]
    changed = [
        f"{path}: {a} -> {b}"
        for path, a, b in zip(paths, types, [jax.typeof(x) for x in jax.tree.leaves(updated)], strict=True)
        if (a.shape, a.dtype, a.weak_type) != (b.shape, b.dtype, b.weak_type)
    ]
    assert not changed, changed
