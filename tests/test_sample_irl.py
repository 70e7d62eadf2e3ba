"""Sample-based IRL (GCL, GAIL, AIRL): estimators and losses against hand computations, the run driver, jit
against eager execution, and a learning test."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import random_demos

from irlax.algorithms import airl, gail, gcl, registry
from irlax.algorithms.adversarial import absorbing_logit, discriminator_step, input_gradient_penalty
from irlax.algorithms.bc import BCConfig, make_bc
from irlax.algorithms.registry import get_algorithm_kind, make_algorithm, preset, preset_learner_fields
from irlax.algorithms.sample_irl import (
    make_inner_learner,
    reward_gradient_step,
    reward_optimizer,
    sample_expert_transitions,
)
from irlax.data.demos import from_episodes, make_demonstrations
from irlax.data.transitions import Episodes, Transition
from irlax.envs.control import make_jax_env
from irlax.errors import IrlaxError
from irlax.learners.evaluation import (
    evaluate_policies,
    policy_episodes,
    random_return,
)
from irlax.learners.ppo import PPOConfig, make_ppo
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add
from irlax.learners.rollout import example_transition
from irlax.learners.sac import SACConfig, make_sac
from irlax.rewards.transition import (
    InputStats,
    absorbing_bonus,
    demo_input_stats,
    discriminator_accuracy,
    discriminator_loss,
    mlp_transition_reward,
)
from irlax.run.driver import Driver
from irlax.run.experts import expert_program
from irlax.tasks import make_env


@dataclass(frozen=True)
class Balance:
    """A scripted CartPole controller that always reaches 500: push towards the side the pole falls to."""

    def act(self, params, key, obs, deterministic=False):
        return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32), jnp.float32(0.0)


# ---------------------------------------------------------------------------------------------------------------
# GCL's importance weights and loss


def test_importance_weights_match_a_hand_computation():
    returns = np.array([1.0, -0.5, 2.0, 0.3])
    log_q = np.array([-2.0, -1.0, -4.0, -0.7])
    log_w = gcl.log_importance_weights(jnp.asarray(returns), jnp.asarray(log_q))
    np.testing.assert_allclose(log_w, returns - log_q, rtol=1e-6)
    w = np.exp(returns) / np.exp(log_q)  # exp(R) / prod pi, as in Finn et al. (2016)
    np.testing.assert_allclose(gcl.self_normalized_weights(log_w), w / w.sum(), rtol=1e-5)


def test_importance_weights_stay_finite_over_long_horizons():
    """10,000-step trajectories: exp(R) / q overflows float64 by far, the log-space weights don't."""
    rng = np.random.default_rng(0)
    steps = 10_000
    per_step_r = rng.normal(1.0, 0.5, (5, steps))
    per_step_log_pi = rng.normal(-1.0, 0.3, (5, steps))
    returns, log_q = per_step_r.sum(axis=1), per_step_log_pi.sum(axis=1)
    with np.errstate(over="ignore"):
        assert np.all(np.isinf(np.exp(returns - log_q)))  # the naive weights
    weights = gcl.self_normalized_weights(gcl.log_importance_weights(jnp.asarray(returns, jnp.float32),
                                                                     jnp.asarray(log_q, jnp.float32)))
    log_w = returns - log_q
    expected = np.exp(log_w - log_w.max()) / np.exp(log_w - log_w.max()).sum()
    assert np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights, expected, atol=1e-4)
    loss = gcl.gcl_loss(jnp.asarray(returns[:2], jnp.float32), jnp.asarray(returns, jnp.float32),
                        jnp.asarray(log_q, jnp.float32), importance=True)
    assert np.isfinite(loss)


@pytest.mark.parametrize("importance", [True, False])
def test_gcl_loss_gradient_is_the_maxent_estimator(importance):
    """With R = phi . theta, grad loss = -mean_E phi + sum_j w_j phi_j (w self-normalised, or uniform)."""
    rng = np.random.default_rng(1)
    phi_e, phi_p = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    log_q = rng.normal(size=5)
    theta = rng.normal(size=4)
    loss = lambda t: gcl.gcl_loss(jnp.asarray(phi_e) @ t, jnp.asarray(phi_p) @ t, jnp.asarray(log_q), importance)
    grad = jax.grad(loss)(jnp.asarray(theta))
    if importance:
        log_w = phi_p @ theta - log_q
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
    else:
        w = np.full(5, 1 / 5)
    np.testing.assert_allclose(grad, -phi_e.mean(axis=0) + w @ phi_p, rtol=1e-4, atol=1e-6)


def test_episode_rewards_ignore_padding():
    env = make_env("Pendulum-v1")
    net = mlp_transition_reward(env.spec, (8,))
    params = jax.jit(net.init)(jax.random.PRNGKey(0), InputStats(jnp.zeros(3), jnp.ones(3)))
    obs, actions = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 3)), jnp.ones((2, 5, 1))
    mask = jnp.array([[True] * 5, [True, True, False, False, False]])
    rewards = jax.jit(lambda p: gcl.episode_rewards(net, p, obs, actions, mask))(params)
    assert np.all(np.asarray(rewards)[1, 2:] == 0)
    np.testing.assert_allclose(rewards[1, 1], net.apply(params, obs[1, 1], actions[1, 1]), rtol=1e-6)


def test_terminated_episodes_sit_in_the_absorbing_state_until_the_time_limit():
    """GCL's absorbing state: a terminated episode's return adds ``(T - length) r_abs``; a truncated or padded one
    adds nothing; the learner's reward adds the state's discounted value ``gamma / (1 - gamma) r_abs``."""
    mask = jnp.array([[True, True, True, False, False], [True, True, True, True, True], [True, False, False, False,
                                                                                          False]])
    terminated = jnp.array([[False, False, True, False, False], [False] * 5, [False] * 5])
    absorbed = gcl.absorbing_steps(mask, terminated, 8)
    np.testing.assert_array_equal(absorbed, [5.0, 0.0, 0.0])   # 8 - 3 for the terminated one only
    step_rewards = jnp.where(mask, 1.0, 0.0)
    np.testing.assert_allclose(gcl.episode_returns(step_rewards, absorbed, jnp.float32(-2.0)), [3 - 10.0, 5, 1])
    env = make_env("CartPole-v1")
    config = gcl.GCLConfig()
    algo = gcl.make_gcl(config, env)
    params = {"net": algo.init(jax.random.PRNGKey(0), random_demos(env)).reward_params["net"],
              "absorbing": jnp.float32(-0.5)}
    obs, action = jnp.ones(4), jnp.int32(1)
    plain = algo.reward_fn(params, obs, action, obs, jnp.bool_(False))
    gamma = algo.learner.config.gamma
    np.testing.assert_allclose(algo.reward_fn(params, obs, action, obs, jnp.bool_(True)),
                               plain - 0.5 * gamma / (1 - gamma), rtol=1e-5)
    off = gcl.make_gcl(replace(config, absorbing=False), env)
    assert float(off.reward_fn(params, obs, action, obs, jnp.bool_(True))) == pytest.approx(float(plain))
    with pytest.raises(IrlaxError, match="gamma below 1"):
        gcl.make_gcl(replace(config, learner_config=replace(
            algo.learner.config, gamma=1.0)), env)


def test_the_absorbing_reward_learns_to_be_low_when_only_the_policy_terminates():
    """One reward step on expert episodes cut by the time limit against policy episodes that terminate early:
    ``r_abs`` goes down (the MaxEnt gradient ``E_expert - E_policy`` of its steps)."""
    env = make_env("CartPole-v1")
    config = gcl.GCLConfig(estimator="plain", episodes_per_round=2, buffer_episodes=2)
    net = gcl.reward_network(config, env.spec)
    demos = random_demos(env)
    params = {"net": net.init(jax.random.PRNGKey(0), demo_input_stats(demos)), "absorbing": jnp.float32(0.0)}
    steps = demos.mask.shape[1]
    term = jnp.zeros_like(demos.terminated).at[:, 2].set(True)
    policy_mask = jnp.arange(steps)[None, :].repeat(demos.num_episodes, 0) < 3
    transitions = Transition(demos.obs, demos.actions, demos.rewards, jnp.zeros(demos.mask.shape), demos.next_obs,
                             term & policy_mask, jnp.zeros_like(term), jnp.zeros(demos.mask.shape))
    buffer = ReplayBuffer(Episodes(transitions, policy_mask), jnp.int32(0), jnp.int32(demos.num_episodes))
    expert = demos.replace(terminated=jnp.zeros_like(demos.terminated), truncated=demos.mask)
    opt = gcl.reward_optimizer(config)
    (new, _), _ = gcl.reward_step(config, net, env.spec.max_steps, expert, buffer, (params, opt.init(params)),
                                  jax.random.PRNGKey(1))
    assert float(new["absorbing"]) < 0.0


# ---------------------------------------------------------------------------------------------------------------
# discriminators


def test_discriminator_loss_and_accuracy_match_their_formulas():
    e, p = jnp.array([2.0, -1.0, 0.5]), jnp.array([-3.0, 1.0])
    sig = lambda x: 1 / (1 + np.exp(-np.asarray(x)))
    expected = -np.mean(np.log(sig(e))) - np.mean(np.log(1 - sig(p)))
    np.testing.assert_allclose(discriminator_loss(e, p), expected, rtol=1e-6)
    weights = jnp.array([1.0, 0.0, 1.0])
    weighted = -np.mean(np.log(sig(e[jnp.array([0, 2])]))) - np.mean(np.log(1 - sig(p)))
    np.testing.assert_allclose(discriminator_loss(e, p, weights), weighted, rtol=1e-6)
    assert [float(a) for a in discriminator_accuracy(e, p)] == pytest.approx([2 / 3, 1 / 2])


def test_discriminator_loss_falls_on_separable_data():
    env = make_env("CartPole-v1")
    net = mlp_transition_reward(env.spec, (32, 32))
    config = gail.GAILConfig(reward_lr=3e-3)
    optimizer = reward_optimizer(config)
    params = jax.jit(net.init)(jax.random.PRNGKey(0), InputStats(jnp.zeros(4), jnp.ones(4)))
    expert_obs = jax.random.normal(jax.random.PRNGKey(1), (128, 4)) + 1.5
    policy_obs = jax.random.normal(jax.random.PRNGKey(2), (128, 4)) - 1.5
    actions = jnp.zeros(128, jnp.int32)
    logits = jax.vmap(net.apply, in_axes=(None, 0, 0))

    def loss_fn(p):
        return discriminator_loss(logits(p, expert_obs, actions), logits(p, policy_obs, actions)), None

    step = jax.jit(lambda p, s: reward_gradient_step(optimizer, loss_fn, p, s)[:3])
    state = optimizer.init(params)
    first = float(loss_fn(params)[0])
    for _ in range(200):
        params, state, loss = step(params, state)
    assert first > 1.0 and float(loss) < 0.05 * first
    accuracy = discriminator_accuracy(logits(params, expert_obs, actions), logits(params, policy_obs, actions))
    assert [float(a) for a in accuracy] == [1.0, 1.0]


def test_frozen_input_statistics_are_not_trained():
    env = make_env("CartPole-v1")
    net = mlp_transition_reward(env.spec, (8,))
    optimizer = reward_optimizer(gail.GAILConfig(reward_lr=0.1))
    params = jax.jit(net.init)(jax.random.PRNGKey(0), InputStats(jnp.full(4, 3.0), jnp.full(4, 2.0)))
    loss_fn = lambda p: (net.apply(p, jnp.ones(4), jnp.int32(1)) ** 2, None)
    new = jax.jit(lambda p: reward_gradient_step(optimizer, loss_fn, p, optimizer.init(p))[0])(params)
    np.testing.assert_array_equal(new["frozen"].mean, params["frozen"].mean)
    assert not np.allclose(new["net"]["params"]["Dense_0"]["kernel"], params["net"]["params"]["Dense_0"]["kernel"])


def small_demos(env_name: str, lengths: list[int]):
    """Hand-made demonstrations with episodes of the given lengths (observations number the steps)."""
    n, t = len(lengths), max(lengths)
    mask = np.arange(t)[None, :] < np.array(lengths)[:, None]
    obs = np.where(mask[..., None], (np.arange(n)[:, None] * 100 + np.arange(t)[None, :])[..., None], 0.0)
    spec = make_env(env_name).spec
    obs = np.repeat(obs, spec.obs_size, axis=2).astype(np.float32)
    ends = mask & ~np.concatenate([mask[:, 1:], np.zeros((n, 1), bool)], axis=1)
    zeros = np.zeros((n, t), np.float32)
    actions = np.zeros((n, t), np.int32) if spec.discrete else np.zeros((n, t, spec.action_size), np.float32)
    return make_demonstrations(
        {"obs": obs, "actions": actions, "next_obs": obs + 1, "rewards": zeros, "terminated": ends,
         "truncated": np.zeros((n, t), bool), "log_probs": zeros, "mask": mask},
        env_name=spec.name, obs_size=spec.obs_size, discrete=spec.discrete, action_size=spec.action_size,
    )


def test_expert_samples_come_uniformly_from_real_steps_only():
    demos = small_demos("CartPole-v1", [3, 1, 6])  # 10 real steps, 8 padded
    batch = jax.jit(sample_expert_transitions, static_argnums=2)(demos, jax.random.PRNGKey(0), 20_000)
    real = {0, 1, 2, 100, 200, 201, 202, 203, 204, 205}
    values, counts = np.unique(np.asarray(batch.obs[:, 0]), return_counts=True)
    assert set(values.astype(int)) == real
    np.testing.assert_allclose(counts / counts.sum(), 0.1, atol=0.01)
    assert int(batch.terminated.sum()) == pytest.approx(20_000 * 3 / 10, rel=0.05)


def test_absorbing_bonus_is_the_absorbing_states_discounted_value():
    bonus = absorbing_bonus(jnp.array([True, False]), jnp.float32(-2.0), 0.9)
    np.testing.assert_allclose(bonus, [0.9 / 0.1 * -2.0, 0.0], rtol=1e-6)
    assert abs(float(absorbing_logit({"absorbing": jnp.float32(1.0)}))) <= 10.0


# ---------------------------------------------------------------------------------------------------------------
# AIRL


def test_airl_logits_match_the_formula():
    """D = exp f / (exp f + pi): logit = g(s) + gamma h(s') - h(s) - log pi, with h(s') = 0 at a terminal s'."""
    spec = make_env("CartPole-v1").spec
    demos = small_demos("CartPole-v1", [4, 4])
    config = airl.AIRLConfig(hidden=(8,), gamma=0.9)
    learner = make_inner_learner(config, spec)  # PPO: the policy's reward is the logit
    disc = airl.discriminator(config, spec, learner)
    params = disc.init(jax.random.PRNGKey(0), demo_input_stats(demos))
    nets = airl.airl_reward(config, spec, 0.9)
    key = jax.random.PRNGKey(3)
    obs, next_obs = jax.random.normal(key, (4, 4)), jax.random.normal(jax.random.fold_in(key, 1), (4, 4))
    action = jnp.array([0, 1, 1, 0], jnp.int32)
    terminated = jnp.array([False, True, False, True])
    log_pi = jnp.array([-0.1, -2.0, -0.7, -0.05])
    batch = Transition(obs, action, jnp.zeros(4), jnp.zeros(4), next_obs, terminated, jnp.zeros(4, bool), log_pi)
    logits = jax.vmap(disc.logit, in_axes=(None, 0, 0))(params, batch, log_pi)
    for i in range(4):
        g = nets.g.apply(params["g"], obs[i], action[i])
        h, h_next = nets.h.apply(params["h"], obs[i], action[i]), nets.h.apply(params["h"], next_obs[i], action[i])
        f = g + (0.0 if terminated[i] else 0.9 * h_next) - h
        np.testing.assert_allclose(logits[i], f - log_pi[i], rtol=1e-5, atol=1e-6)
        # the policy's reward ("logit" with PPO) adds the absorbing state's value on terminal steps
        reward = disc.reward(params, obs[i], action[i], next_obs[i], terminated[i], log_pi[i])
        bonus = 0.9 / 0.1 * float(absorbing_logit(params)) if terminated[i] else 0.0
        np.testing.assert_allclose(reward, f - log_pi[i] + bonus, rtol=1e-5, atol=1e-5)
    # the recovered reward is g alone (state-only: the action doesn't matter)
    recovered = airl.learned_reward(config, spec, 0.9, "recovered")
    np.testing.assert_allclose(recovered(params, obs[0], 0, next_obs[0], False),
                               recovered(params, obs[0], 1, next_obs[3], False), rtol=1e-6)
    with pytest.raises(IrlaxError, match="unknown AIRL reward kind"):
        airl.learned_reward(config, spec, 0.9, "bogus")


def test_airl_softplus_policy_reward_is_minus_log_one_minus_d_with_the_absorbing_value():
    """``policy_reward="softplus"``: GAIL's reward form on AIRL's discriminator, ``-log(1 - D) = softplus(f - log pi)``,
    never negative, plus ``gamma / (1 - gamma) softplus(absorbing logit)`` on a terminal step."""
    spec = make_env("CartPole-v1").spec
    demos = small_demos("CartPole-v1", [4, 4])
    config = airl.AIRLConfig(hidden=(8,), gamma=0.9, policy_reward="softplus")
    disc = airl.discriminator(config, spec, make_inner_learner(config, spec))
    params = {**disc.init(jax.random.PRNGKey(0), demo_input_stats(demos)), "absorbing": jnp.float32(-0.5)}
    nets = airl.airl_reward(config, spec, 0.9)
    obs, next_obs = jnp.array([0.1, -0.2, 0.3, 0.0]), jnp.array([0.5, 0.2, -0.1, 0.4])
    for terminated in (False, True):
        for log_pi in (-3.0, -0.01, 5.0):
            reward = disc.reward(params, obs, 1, next_obs, jnp.bool_(terminated), jnp.float32(log_pi))
            d = jax.nn.sigmoid(nets.f(params, obs, 1, next_obs, jnp.bool_(terminated)) - log_pi)
            bonus = 0.9 / 0.1 * -np.log(1 - jax.nn.sigmoid(absorbing_logit(params))) if terminated else 0.0
            np.testing.assert_allclose(reward, -np.log(1 - d) + bonus, rtol=1e-5, atol=1e-5)
            assert float(reward) > 0.0
    logit = airl.discriminator(airl.AIRLConfig(hidden=(8,), gamma=0.9), spec, make_inner_learner(config, spec))
    args = (params, obs, 1, next_obs, jnp.bool_(False), jnp.float32(5.0))
    assert float(logit.reward(*args)) < 0.0 < float(disc.reward(*args))  # the logit form goes negative there


def test_airl_linear_g_is_affine_in_the_state_and_h_stays_an_mlp():
    """``g_linear``: the paper's linear ``g`` (its transfer experiments); ``h`` keeps its hidden layers."""
    spec = make_env("CartPole-v1").spec
    stats = demo_input_stats(small_demos("CartPole-v1", [4, 4]))
    a, b = jnp.array([0.0, 20.0, 100.0, 3.0]), jnp.array([100.0, 0.0, 10.0, 90.0])  # the demos' scale: 0-103
    for linear in (True, False):
        nets = airl.airl_reward(airl.AIRLConfig(hidden=(8, 8), g_linear=linear), spec, 0.9)
        g_params = nets.g.init(jax.random.PRNGKey(1), stats)
        h_params = nets.h.init(jax.random.PRNGKey(2), stats)
        g = lambda x, p=g_params, n=nets: float(n.g.apply(p, x, 0))
        h = lambda x, p=h_params, n=nets: float(n.h.apply(p, x, 0))
        midpoint_gap = abs(g((a + b) / 2) - (g(a) + g(b)) / 2)
        assert (midpoint_gap < 1e-5) == linear, midpoint_gap
        assert abs(h((a + b) / 2) - (h(a) + h(b)) / 2) > 1e-3  # h is an MLP either way
        assert len(jax.tree.leaves(g_params["net"])) == (2 if linear else 6)


def test_airl_policy_reward_auto_follows_the_learner():
    learner = lambda config, name: make_inner_learner(config, make_env(name).spec)
    auto = airl.AIRLConfig()
    assert airl.policy_reward_kind(auto, learner(auto, "CartPole-v1")) == "logit"  # PPO
    assert airl.policy_reward_kind(auto, learner(auto, "Pendulum-v1")) == "shaped"  # SAC
    logit = airl.AIRLConfig(policy_reward="logit")
    assert airl.policy_reward_kind(logit, learner(logit, "Pendulum-v1")) == "logit"


def test_airl_recovered_policy_reward_is_g_with_the_absorbing_value():
    spec = make_env("CartPole-v1").spec
    demos = small_demos("CartPole-v1", [4, 4])
    config = airl.AIRLConfig(hidden=(8,), gamma=0.9, policy_reward="recovered")
    disc = airl.discriminator(config, spec, make_inner_learner(config, spec))
    params = disc.init(jax.random.PRNGKey(0), demo_input_stats(demos))
    params = {**params, "absorbing": jnp.float32(0.01)}
    nets = airl.airl_reward(config, spec, 0.9)
    obs, next_obs = jnp.array([0.1, -0.2, 0.3, 0.0]), jnp.array([0.5, 0.2, -0.1, 0.4])
    for terminated in (False, True):
        reward = disc.reward(params, obs, 1, next_obs, jnp.bool_(terminated), jnp.float32(-3.0))
        bonus = 0.9 / 0.1 * float(absorbing_logit(params)) if terminated else 0.0
        # neither the shaping h nor log pi: g(s) alone, plus the absorbing state's value on a terminal step
        np.testing.assert_allclose(reward, nets.g.apply(params["g"], obs, 1) + bonus, rtol=1e-5, atol=1e-5)
    shaped = airl.discriminator(airl.AIRLConfig(hidden=(8,), gamma=0.9, policy_reward="shaped"), spec,
                                make_inner_learner(config, spec))
    args = (params, obs, 1, next_obs, jnp.bool_(False), jnp.float32(-3.0))
    assert abs(float(shaped.reward(*args) - disc.reward(*args))) > 1e-4  # the shaping is there in "shaped"


# ---------------------------------------------------------------------------------------------------------------
# configs


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("gail", {"rounds": 0}, "rounds must be positive"),
        ("gail", {"sample_envs": 64, "sample_steps": 64, "buffer_size": 100}, "must hold one round's samples"),
        ("gail", {"reward_type": "bogus"}, "unknown GAIL reward_type"),
        ("gail", {"learned_reward": "bogus"}, "unknown GAIL learned_reward"),
        ("airl", {"policy_reward": "bogus"}, "unknown AIRL policy_reward"),
        ("airl", {"gradient_penalty": -1.0}, "gradient_penalty must be non-negative"),
        ("airl", {"penalty_on": "h"}, "unknown AIRL penalty_on"),
        ("gail", {"penalty_data": "bogus"}, "unknown penalty_data"),
        ("gcl", {"estimator": "bogus"}, "unknown GCL estimator"),
        ("gcl", {"activation": "bogus"}, "unknown activation"),
    ],
)
def test_bad_configs_give_one_line_errors(name, fields, message):
    env, demos = make_env("CartPole-v1"), small_demos("CartPole-v1", [4])
    with pytest.raises(IrlaxError, match=message):  # refused when the config is built (values) or used
        config = get_algorithm_kind(name).config(**fields)
        algo = make_algorithm(name, config, env)
        jax.eval_shape(algo.init, jax.random.PRNGKey(0), demos)


def test_gails_learned_reward_is_the_discriminators_logit_whatever_the_policy_learned_on():
    env, demos = make_env("CartPole-v1"), small_demos("CartPole-v1", [4, 6])
    config = gail.GAILConfig(rounds=1, reward_type="softplus")
    algo = gail.make_gail(config, env)
    params = algo.init(jax.random.PRNGKey(0), demos).reward_params
    params = {**params, "absorbing": jnp.float32(-0.004)}  # a learned absorbing logit, 10 tanh(-0.4) = -3.8
    obs, action = jnp.asarray(demos.obs[1, :5]), jnp.asarray(demos.actions[1, :5])
    terminated = jnp.array([False, False, False, False, True])
    net = mlp_transition_reward(env.spec, config.hidden, config.activation)
    logit = jax.vmap(lambda o, a: net.apply(params["d"], o, a))(obs, action)
    r_abs = absorbing_logit(params)
    bonus = 0.99 / (1 - 0.99)  # the absorbing state's value per unit of its reward, CartPole's PPO discount

    def rewards(algo):
        return jax.vmap(lambda o, a, d: algo.reward_fn(params, o, a, o, d))(obs, action, terminated)

    np.testing.assert_allclose(rewards(algo), logit + jnp.where(terminated, bonus * r_abs, 0.0), rtol=1e-4,
                               atol=1e-4)
    # the policy's own (softplus) reward is positive everywhere, the fall included; the exported logit is not
    own = rewards(gail.make_gail(replace(config, learned_reward="policy"), env))
    np.testing.assert_allclose(own, jax.nn.softplus(logit) + jnp.where(terminated, bonus * jax.nn.softplus(r_abs), 0.0),
                               rtol=1e-4, atol=1e-4)
    assert float(own[-1]) > 0 > float(rewards(algo)[-1])


def test_demonstrations_of_another_task_are_refused():
    demos = small_demos("Pendulum-v1", [4])
    algo = gail.make_gail(gail.GAILConfig(), make_env("CartPole-v1"))
    with pytest.raises(IrlaxError, match="don't fit CartPole-v1"):
        algo.update(None, demos, 1)
    with pytest.raises(IrlaxError, match="don't fit CartPole-v1"):
        jax.eval_shape(algo.init, jax.random.PRNGKey(0), demos)


def test_presets_size_rounds_by_learner():
    assert preset("gail", "CartPole-v1").sample_envs == 16 and preset("gail", "CartPole-v1").rounds == 100
    sac = preset("airl", "Pendulum-v1")
    assert sac.policy_iterations == 100 and sac.rounds * sac.policy_iterations == 10_000
    maze = preset("gail", "PointMaze-v0")
    assert maze.rounds * maze.policy_iterations == 30_000  # SAC's expert budget for the maze
    assert preset("gcl", "Pendulum-v1").policy_iterations == 200
    assert preset("gail", "Pendulum-v1", "ppo").policy_iterations == 1
    assert preset("airl", "CartPole-v1").gradient_penalty == 100.0
    # AIRL on CartPole: a policy reward bounded below (the drift's regression), the goal task keeps the logit
    assert preset("airl", "CartPole-v1").policy_reward == "softplus"
    assert preset("airl", "Acrobot-v1").policy_reward == "auto"
    assert preset("airl", "Hopper-v5", "ppo").policy_reward == "softplus"
    assert preset("airl", "Hopper-v5", "sac").policy_reward == "auto"  # SAC adds its own -log pi to f
    assert preset("airl", "Walker2d-v5", "ppo").policy_reward == "auto"  # measured worse there than the logit
    assert preset("airl", "CartPole-v1", "sac").gradient_penalty == 100.0  # the task's fields for either learner
    assert preset("airl", "Acrobot-v1").gradient_penalty == preset("gail", "CartPole-v1").gradient_penalty == 0.0
    assert preset("gail", "Acrobot-v1").reward_type == "logit"
    assert preset("gail", "CartPole-v1").reward_type == "softplus"
    # SAC presets take their task's fields too: the terminal goal's task gets the logit, Pendulum keeps softplus
    mcc = preset("gail", "MountainCarContinuous-v0")
    assert mcc.reward_type == "logit" and mcc.learner == "" and mcc.policy_iterations == 100
    assert preset("gail", "Pendulum-v1").reward_type == "softplus"


def test_gcl_on_acrobot_scales_its_ppo_rewards_alone():
    # registry.TASK_LEARNER_FIELDS: GCL's PPO on Acrobot-v1 divides each iteration's rewards by their scale; the
    # rest of its PPO is the task's; other tasks and learners keep theirs
    from irlax import tasks

    acrobot = make_inner_learner(preset("gcl", "Acrobot-v1"), make_env("Acrobot-v1").spec)
    assert acrobot.config == replace(tasks.learner_config("Acrobot-v1", "ppo"), scale_rewards=True)
    cartpole = make_inner_learner(preset("gcl", "CartPole-v1"), make_env("CartPole-v1").spec)
    assert not cartpole.config.scale_rewards
    assert not make_inner_learner(preset("gail", "Acrobot-v1"), make_env("Acrobot-v1").spec).config.scale_rewards
    assert preset("gcl", "Acrobot-v1", "sac").learner_config is None
    # what a learner re-optimising in another task gets on top of that task's tuned config
    assert preset_learner_fields("gcl", "Acrobot-v1", "ppo") == {"scale_rewards": True}
    assert preset_learner_fields("airl", "Pendulum-v1", "sac") == registry.AIRL_SAC
    assert preset_learner_fields("gcl", "CartPole-v1", "ppo") == {}


def test_a_reoptimisation_in_another_task_gets_the_presets_learner_fields(monkeypatch):
    # assess.reoptimize's default learner for a transfer: the target's tuned config with what the preset sets on
    # its learner (GCL's reward scaling on Acrobot-v1), as `irlax train --transfer-env` uses
    from irlax import tasks
    from irlax.run import assess

    seen = []

    class Built(Exception):
        pass

    def record(config, spec):
        seen.append(config)
        raise Built

    monkeypatch.setattr(assess, "make_learner", record)
    algo = make_algorithm("gcl", preset("gcl", "Acrobot-v1"), make_env("Acrobot-v1"))
    with pytest.raises(Built):
        assess.reoptimize(algo, None, jax.random.PRNGKey(0), 10, env=make_env("AcrobotHeavy-v1"))
    assert seen[-1] == replace(tasks.learner_config("AcrobotHeavy-v1", "ppo"), scale_rewards=True)
    cartpole = make_algorithm("gcl", preset("gcl", "CartPole-v1"), make_env("CartPole-v1"))
    with pytest.raises(Built):
        assess.reoptimize(cartpole, None, jax.random.PRNGKey(0), 10, env=make_env("CartPoleGravity20-v1"))
    assert seen[-1] == tasks.learner_config("CartPoleGravity20-v1", "ppo")


def test_gails_ppo_discriminator_sees_the_whole_runs_samples():
    # every round's policy samples stay in the buffer (registry.GAIL_PPO_HISTORY); AIRL's discriminator, which
    # scores samples with the current policy's log pi, keeps the last rounds' only
    gail = preset("gail", "CartPole-v1")
    assert gail.buffer_size >= gail.rounds * gail.sample_envs * gail.sample_steps
    airl = preset("airl", "Acrobot-v1")
    assert airl.buffer_size < airl.rounds * airl.sample_envs * airl.sample_steps


def test_airl_preset_fixes_sacs_temperature_at_one():
    from irlax import tasks

    config = preset("airl", "Pendulum-v1")
    learner = make_inner_learner(config, make_env("Pendulum-v1").spec)
    assert isinstance(learner.config, SACConfig) and not learner.config.autotune and learner.config.initial_alpha == 1.0
    # the rest is the task's tuned SAC; GAIL's SAC and AIRL's PPO keep their own temperature
    assert replace(learner.config, autotune=True, initial_alpha=tasks.learner_config("Pendulum-v1", "sac")
                   .initial_alpha) == tasks.learner_config("Pendulum-v1", "sac")
    assert preset("gail", "Pendulum-v1").learner_config is None
    assert preset("airl", "CartPole-v1").learner_config is None


def test_the_gradient_penalty_is_the_squared_norm_of_the_logits_input_gradient():
    """For a logit ``w . obs + v . next_obs + u . action`` the penalty is ``|w|^2 + |v|^2`` (+ ``|u|^2`` when the
    action is continuous), whatever the batch; a discrete action contributes nothing."""
    w, v, u = jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0]), jnp.array([4.0])
    batch = Transition(jnp.ones((3, 2)), jnp.ones((3, 1)), jnp.zeros(3), jnp.zeros(3), 2 * jnp.ones((3, 2)),
                       jnp.zeros(3, bool), jnp.zeros(3, bool), jnp.zeros(3))
    logit = lambda t: jnp.dot(w, t.obs) + jnp.dot(v, t.next_obs) + jnp.dot(u, t.action)
    assert float(input_gradient_penalty(logit, batch)) == pytest.approx(1 + 4 + 0.25 + 9 + 16)
    discrete = batch._replace(action=jnp.ones(3, jnp.int32))
    logit = lambda t: jnp.dot(w, t.obs) ** 2 + jnp.dot(v, t.next_obs) + t.action
    # d/d obs of (w . obs)^2 = 2 (w . obs) w = 2 (-1) w at obs = (1, 1)
    assert float(input_gradient_penalty(logit, discrete)) == pytest.approx(4 * 5 + 0.25 + 9)


class PenaltyCase(NamedTuple):
    """CartPole transitions for the gradient-penalty tests: demonstrations (a random policy's), a minibatch of
    them, and the "policy's" samples (another random policy's steps)."""

    env: Any
    demos: Any
    expert: Transition
    samples: Transition


def penalty_case() -> PenaltyCase:
    env = make_env("CartPole-v1")
    demos = random_demos(env)
    expert = sample_expert_transitions(demos, jax.random.PRNGKey(2), 64)
    samples = sample_expert_transitions(random_demos(env, seed=9), jax.random.PRNGKey(3), 64)
    return PenaltyCase(env, demos, expert, samples)


def trained_discriminator(case: PenaltyCase, steps: int = 30, **fields: Any) -> tuple[Any, Any, Any]:
    """AIRL's CartPole discriminator with ``fields`` set, its initial parameters, and those after ``steps`` of
    ``adversarial.discriminator_step`` against ``case``'s demonstrations and samples."""
    config = replace(preset("airl", "CartPole-v1"), batch_size=32, buffer_size=64, learner_config=TINY_PPO, **fields)
    learner = make_inner_learner(config, case.env.spec)
    policy = learner.policy_params(learner.init(jax.random.PRNGKey(0))[0])
    disc = airl.discriminator(config, case.env.spec, learner)
    start = disc.init(jax.random.PRNGKey(1), demo_input_stats(case.demos))
    buffer = replay_add(init_replay(example_transition(case.env.spec), 64), case.samples)
    step = partial(discriminator_step, config, disc, learner, case.demos, policy, buffer)
    (params, _), _ = jax.jit(partial(jax.lax.scan, step))(
        (start, reward_optimizer(config).init(start)), jax.random.split(jax.random.PRNGKey(4), steps))
    return disc, start, params


def test_the_gradient_penalty_flattens_the_discriminator_around_the_expert():
    """The same 30 discriminator steps (``adversarial.discriminator_step``, AIRL's on CartPole) with and without the
    penalty: with it, the logit's input gradient on expert transitions ends smaller."""
    case, ends = penalty_case(), {}
    for penalty in (0.0, 100.0):
        disc, _, params = trained_discriminator(case, gradient_penalty=penalty)
        ends[penalty] = float(input_gradient_penalty(partial(disc.logit, params, log_pi=jnp.float32(0.0)),
                                                      case.expert))
    assert ends[100.0] < 0.5 * ends[0.0], ends


def test_the_gradient_penalty_on_the_policys_samples_flattens_the_discriminator_there():
    """``penalty_data="policy"`` (R2): the same 30 discriminator steps as above; with the penalty the logit's input
    gradient ends smaller on the policy's samples, and it is not the expert's transitions it flattens most."""
    case, ends = penalty_case(), {}
    for data, penalty in (("policy", 0.0), ("policy", 100.0), ("expert", 100.0)):
        disc, _, params = trained_discriminator(case, gradient_penalty=penalty, penalty_data=data)
        logit = partial(disc.logit, params, log_pi=jnp.float32(0.0))
        ends[data, penalty] = (float(input_gradient_penalty(logit, case.samples)),
                               float(input_gradient_penalty(logit, case.expert)))
    assert ends["policy", 100.0][0] < 0.5 * ends["policy", 0.0][0], ends
    assert ends["policy", 100.0][0] < ends["expert", 100.0][0], ends  # R2 flattens the policy's side more than R1


def test_airls_penalty_on_g_smooths_g_alone():
    """``penalty_on="g"``: the penalty is g's input gradient (h gets none of it), and 30 discriminator steps with
    it end with a flatter g on the expert's transitions than 30 without."""
    case, ends = penalty_case(), {}
    nets = airl.airl_reward(preset("airl", "CartPole-v1"), case.env.spec, 0.99)
    g_alone = lambda p, t: nets.g.apply(p["g"], t.obs, t.action)
    for penalty in (0.0, 100.0):
        disc, start, params = trained_discriminator(case, gradient_penalty=penalty, penalty_on="g")
        np.testing.assert_allclose(jax.vmap(partial(disc.penalised, start))(case.expert),
                                   jax.vmap(partial(g_alone, start))(case.expert))
        grads = jax.grad(lambda p, disc=disc: input_gradient_penalty(partial(disc.penalised, p), case.expert))(start)
        assert all(float(jnp.abs(leaf).max()) == 0.0 for leaf in jax.tree.leaves(grads["h"]))
        assert any(float(jnp.abs(leaf).max()) > 0.0 for leaf in jax.tree.leaves(grads["g"]))
        ends[penalty] = float(input_gradient_penalty(partial(g_alone, params), case.expert))
    assert ends[100.0] < 0.5 * ends[0.0], ends
    disc, _, _ = trained_discriminator(case, steps=0, penalty_on="logit")
    assert disc.penalised is None


def test_gcl_records_no_discriminator_accuracies():
    """GCL has no discriminator: its metrics have no accuracy fields (GAIL's and AIRL's do)."""
    env = make_env("CartPole-v1")
    accuracies = {"expert_accuracy", "policy_accuracy"}
    assert not accuracies & set(gcl.make_gcl(gcl.GCLConfig(), env).metrics._fields)
    assert accuracies <= set(gail.make_gail(gail.GAILConfig(), env).metrics._fields)


# ---------------------------------------------------------------------------------------------------------------
# the run driver, and jitted against eager execution (tiny sizes: short episodes, small networks)

TINY_PPO = PPOConfig(num_envs=2, num_steps=4, num_epochs=1, minibatch_size=8, hidden=(8,))
TINY_SAC = SACConfig(learning_starts=1, batch_size=4, buffer_size=16, hidden=(8,))
TINY_ROUNDS = {"rounds": 2, "reward_steps": 1, "hidden": (8,)}
TINY_ADVERSARIAL = {**TINY_ROUNDS, "sample_envs": 2, "sample_steps": 2, "batch_size": 4, "buffer_size": 8}


def short_env(name: str, max_steps: int = 4):
    """The task with episodes cut at ``max_steps`` (a task of its own: the spec records the parameters)."""
    env = make_env(name)
    return make_jax_env(name, env.env, env.params.replace(max_steps_in_episode=max_steps))


def leaf_types(tree):
    """``(shape, dtype, weak_type)`` of every leaf: what decides whether a compiled program accepts it."""
    return jax.tree.map(lambda x: (x.shape, x.dtype, x.weak_type), tree)


def test_a_chunked_driver_run_compiles_each_program_once():
    """GAIL (PPO) in 3 chunks for 2 seeds: one compilation of init and one of the chunk's update, and a state
    whose leaves keep their types from start to end (else a compiled chunk could not take its own output)."""
    env = short_env("CartPole-v1")
    config = gail.GAILConfig(learner="ppo", learner_config=TINY_PPO, **{**TINY_ADVERSARIAL, "rounds": 6})
    driver = Driver(gail.make_gail(config, env), random_demos(env), 2)
    start = driver.start(jax.random.PRNGKey(0))
    types = leaf_types(start.state)
    chunks = []
    progress = driver.run(start, config.rounds, every=2, on_chunk=lambda p: chunks.append(p.done))
    assert chunks == [2, 4, 6] and progress.done == 6
    assert dict(driver.compiles) == {"init": 1, "update-2": 1}
    assert leaf_types(progress.state) == types
    assert progress.metrics["env_steps"].shape == (2, 6)
    np.testing.assert_array_equal(progress.metrics["env_steps"][:, -1], 6 * (2 * 4 + 2 * 2))


def jit_case(name: str):
    """``(program, data, steps)`` of one case of :func:`test_jitted_and_eager_runs_agree`: one step (SAC: one random
    step, then one that learns), each with a gradient step or two (eagerly, every primitive is compiled on first use
    and each step costs seconds)."""
    cartpole, pendulum = short_env("CartPole-v1"), short_env("Pendulum-v1")
    if name == "ppo":
        return expert_program(make_ppo(TINY_PPO, cartpole.spec), cartpole, 16), None, 1
    if name == "sac":  # one random step (learning_starts), then every iteration learns
        return expert_program(make_sac(TINY_SAC, pendulum.spec), pendulum, 2), None, 2
    if name == "bc":
        return make_bc(BCConfig(hidden=(8,), epochs=2, batch_size=8), cartpole.spec), random_demos(cartpole), 2
    if name == "gcl":
        config = gcl.GCLConfig(learner="sac", learner_config=TINY_SAC, episodes_per_round=1, buffer_episodes=2,
                               batch_episodes=2, **TINY_ROUNDS)
        return gcl.make_gcl(config, pendulum), random_demos(pendulum), 1
    if name == "gail":
        config = gail.GAILConfig(learner="ppo", learner_config=TINY_PPO, **TINY_ADVERSARIAL)
        return gail.make_gail(config, cartpole), random_demos(cartpole), 1
    config = airl.AIRLConfig(learner="sac", learner_config=TINY_SAC, **TINY_ADVERSARIAL)
    return airl.make_airl(config, pendulum), random_demos(pendulum), 1


def init_and_update(program, key, data, steps: int):
    """``program.init`` then ``steps`` steps of ``program.update``: the state and the metrics."""
    return program.update(program.init(key, data), data, steps)


def test_jitted_and_eager_runs_agree():
    """Each program gives the same state and metrics compiled as executed op by op (no jit-only behaviour).

    One test, not one per program: op by op, each primitive is compiled on its first use in a process, and the
    programs share most of theirs (in one process that costs half what it costs spread over two workers)."""
    for name in ("ppo", "sac", "bc", "gcl", "gail", "airl"):
        program, data, steps = jit_case(name)
        key = jax.random.PRNGKey(1)
        jitted = jax.jit(init_and_update, static_argnums=(0, 3))(program, key, data, steps)
        with jax.disable_jit():
            eager = init_and_update(program, key, data, steps)
        assert jax.tree.structure(jitted) == jax.tree.structure(eager), name
        for a, b in zip(jax.tree.leaves(jitted), jax.tree.leaves(eager), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5, err_msg=name)


# ---------------------------------------------------------------------------------------------------------------
# learning


def test_gail_imitates_a_cartpole_controller():
    """GAIL with PPO from 10 demonstrations of a scripted controller: >= 0.8 expert-normalised (deterministic)."""
    env = make_env("CartPole-v1")
    demos = from_episodes(policy_episodes(Balance(), env, None, jax.random.PRNGKey(7), 10), env.spec)
    config = replace(preset("gail", env.name), rounds=60)
    algo = gail.make_gail(config, env)
    run = jax.jit(lambda key, d: algo.update(algo.init(key, d), d, config.rounds))
    state, metrics = run(jax.random.PRNGKey(0), demos)
    policy = jax.tree.map(lambda x: x[None], algo.policy(state, demos))
    returns = evaluate_policies(algo.act, env, policy, jax.random.PRNGKey(1), 10, True)
    random = random_return(env, jax.random.PRNGKey(2))
    normalised = (float(returns.mean()) - random) / (500.0 - random)
    assert normalised >= 0.8, f"GAIL reached {normalised:.2f} of the expert"
    assert float(metrics.env_steps[-1]) == 60 * (2048 + 1024)
