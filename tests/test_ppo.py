"""PPO (irlax.learners.ppo): GAE against a plain loop, the losses against hand computations, jit/vmap, learning.

Also the generic learner loop (:mod:`irlax.learners.base`) as PPO drives it: stable state types (one compile per
chunk size) and specs that keep task variants apart.
"""

from __future__ import annotations

import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.envs.control import gymnax_env, make_jax_env
from irlax.errors import IrlaxError
from irlax.learners import base, ppo
from irlax.tasks import learner_config, make_env

SMALL = ppo.PPOConfig(num_envs=4, num_steps=16, num_epochs=2, minibatch_size=32)
UPDATE_STATIC = ("learner", "env", "num_iterations", "reward_fn")


@pytest.fixture(scope="module")
def cartpole():
    return make_env("CartPole-v1")


def init_agent(config, env, key):
    """A fresh PPO agent for ``env`` (compiled, with its environments; only the agent is returned)."""
    return base.init_state_jit(ppo.make_ppo(config, env.spec), env, key).agent


def gae_reference(rewards, values, next_values, terminated, truncated, gamma, lam):
    """A_t = sum_k (gamma lam)^k delta_{t+k} up to the end of t's episode or of the rollout; plain Python."""
    n = len(rewards)
    deltas = [rewards[t] + (0.0 if terminated[t] else gamma * next_values[t]) - values[t] for t in range(n)]
    advantages = []
    for t in range(n):
        total, weight = 0.0, 1.0
        for k in range(t, n):
            total += weight * deltas[k]
            if terminated[k] or truncated[k]:
                break
            weight *= gamma * lam
        advantages.append(total)
    return np.array(advantages), np.array(advantages) + np.array(values)


def test_gae_matches_plain_loop_with_terminated_and_truncated_episodes():
    rng = np.random.default_rng(0)
    t = 23
    rewards, values, next_values = (rng.normal(size=t).astype(np.float32) for _ in range(3))
    terminated = np.zeros(t, bool)
    truncated = np.zeros(t, bool)
    terminated[[4, 15]] = True
    truncated[[9, 16]] = True  # 15 then 16: a terminated and a truncated step back to back
    args = (rewards, values, next_values, terminated, truncated)
    advantages, returns = ppo.gae_advantages(*map(jnp.asarray, args), gamma=0.97, gae_lambda=0.9)
    want_adv, want_ret = gae_reference(*args, 0.97, 0.9)
    np.testing.assert_allclose(advantages, want_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, want_ret, rtol=1e-5, atol=1e-5)
    # spot checks by hand: a terminated step does not bootstrap, a truncated one bootstraps from next_obs
    np.testing.assert_allclose(advantages[4], rewards[4] - values[4], rtol=1e-6)
    np.testing.assert_allclose(advantages[9], rewards[9] + 0.97 * next_values[9] - values[9], rtol=1e-6)
    np.testing.assert_allclose(advantages[-1], rewards[-1] + 0.97 * next_values[-1] - values[-1], rtol=1e-6)


def test_gae_lambda_one_gives_discounted_returns():
    rewards = jnp.array([1.0, 2.0, 3.0, 4.0])
    zeros = jnp.zeros(4)
    terminated = jnp.array([False, True, False, False])
    advantages, returns = ppo.gae_advantages(rewards, zeros, zeros, terminated, jnp.zeros(4, bool), 0.5, 1.0)
    np.testing.assert_allclose(returns, [1.0 + 0.5 * 2.0, 2.0, 3.0 + 0.5 * 4.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(advantages, returns)


def test_surrogate_and_value_losses_by_hand():
    log_prob = jnp.log(jnp.array([0.5, 0.9, 0.2]))
    old_log_prob = jnp.log(jnp.array([0.25, 0.9, 0.4]))
    advantages = jnp.array([1.0, -2.0, -1.0])
    loss, clip_fraction = ppo.clipped_surrogate_loss(log_prob, old_log_prob, advantages, 0.2)
    # ratios 2.0, 1.0, 0.5: min(2*1, 1.2*1) = 1.2; -2; min(0.5*-1, 0.8*-1) = -0.8
    np.testing.assert_allclose(loss, -(1.2 - 2.0 - 0.8) / 3.0, rtol=1e-6)
    np.testing.assert_allclose(clip_fraction, 2.0 / 3.0, rtol=1e-6)

    values, old_values, returns = jnp.array([1.0, 0.0]), jnp.array([0.0, 0.5]), jnp.array([2.0, 1.0])
    np.testing.assert_allclose(ppo.value_loss(values, old_values, returns, None), (1.0 + 1.0) / 2.0, rtol=1e-6)
    # clipped values: 0 + clip(1, -.1, .1) = 0.1 -> (1.9)^2 > 1; 0.5 + clip(-.5) = 0.4 -> (0.6)^2 < 1
    np.testing.assert_allclose(ppo.value_loss(values, old_values, returns, 0.1), (1.9**2 + 1.0) / 2.0, rtol=1e-6)


def test_ppo_loss_on_a_tiny_batch_by_hand(cartpole):
    config = ppo.PPOConfig(ent_coef=0.01, vf_coef=0.7, clip_eps=0.1)
    params = init_agent(ppo.PPOConfig(), cartpole, jax.random.PRNGKey(3)).params
    # larger output weights so that the ratios move away from 1
    params = params._replace(actor=jax.tree.map(lambda x: 30.0 * x, params.actor))
    obs = jnp.array([[0.1, -0.2, 0.3, 0.0], [-1.0, 0.5, 0.2, 0.3], [0.4, 0.4, -0.6, 1.0]])
    batch = ppo.PPOBatch(
        obs,
        jnp.array([0, 1, 1], jnp.int32),
        jnp.log(jnp.array([0.5, 0.3, 0.6])),
        jnp.array([0.2, -0.1, 0.4]),
        jnp.array([1.0, -0.5, 2.0]),
        jnp.array([1.5, 0.0, 1.0]),
    )
    loss, info = ppo.ppo_loss(params, config, cartpole.spec, batch)

    logits = np.asarray(ppo.actor_network(config, cartpole.spec).apply(params.actor, obs), np.float64)
    values = np.asarray(ppo.critic_network(config).apply(params.critic, obs)[:, 0], np.float64)
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    chosen = log_p[np.arange(3), [0, 1, 1]]
    adv = np.array([1.0, -0.5, 2.0])
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = np.exp(chosen - np.log([0.5, 0.3, 0.6]))
    surrogate = -np.mean(np.minimum(ratio * adv, np.clip(ratio, 0.9, 1.1) * adv))
    value = np.mean((values - [1.5, 0.0, 1.0]) ** 2)
    entropy = np.mean(-(np.exp(log_p) * log_p).sum(1))
    assert np.any(np.abs(ratio - 1.0) > 0.1)  # the clipping is exercised
    np.testing.assert_allclose(info.policy_loss, surrogate, rtol=1e-5)
    np.testing.assert_allclose(info.value_loss, value, rtol=1e-5)
    np.testing.assert_allclose(info.entropy, entropy, rtol=1e-5)
    np.testing.assert_allclose(loss, surrogate + 0.7 * value - 0.01 * entropy, rtol=1e-5)


def test_jit_and_no_jit_agree(cartpole):
    """GAE, the loss and its gradient give the same numbers run op by op and compiled."""
    rng = np.random.default_rng(1)
    gae_args = (*(jnp.asarray(rng.normal(size=16), jnp.float32) for _ in range(3)), rng.random(16) < 0.2)
    gae_args = (*gae_args, jnp.asarray(rng.random(16) < 0.1))
    config = ppo.PPOConfig(clip_value=0.2, ent_coef=0.01)
    params = init_agent(ppo.PPOConfig(), cartpole, jax.random.PRNGKey(0)).params
    batch = ppo.PPOBatch(
        jnp.asarray(rng.normal(size=(8, 4)), jnp.float32),
        jnp.asarray(rng.integers(0, 2, size=8), jnp.int32),
        jnp.full((8,), -0.6),
        jnp.asarray(rng.normal(size=8), jnp.float32),
        jnp.asarray(rng.normal(size=8), jnp.float32),
        jnp.asarray(rng.normal(size=8), jnp.float32),
    )
    gae = lambda *a: ppo.gae_advantages(*a, gamma=0.99, gae_lambda=0.95)
    loss_grad = jax.value_and_grad(lambda p: ppo.ppo_loss(p, config, cartpole.spec, batch)[0])
    compiled = (jax.jit(gae)(*gae_args), jax.jit(loss_grad)(params))
    with jax.disable_jit():
        plain = (gae(*gae_args), loss_grad(params))
    for a, b in zip(jax.tree.leaves(compiled), jax.tree.leaves(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ppo_learns_cartpole(cartpole):
    """The CartPole preset passes a mean return of 150 within 49k steps; updates are deterministic."""
    config = learner_config("CartPole-v1", "ppo")
    learner = ppo.make_ppo(config, cartpole.spec)
    state = base.init_state_jit(learner, cartpole, jax.random.PRNGKey(0))
    learned, metrics = base.update_jit(learner, cartpole, state, 24)
    returns = np.asarray(metrics.mean_return)
    assert np.nanmean(returns[:2]) < 60.0  # a random policy's ~22
    assert np.nanmean(returns[-4:]) > 150.0, returns
    step = ppo.steps_per_iteration(config)
    assert learner.steps_per_iteration == step
    np.testing.assert_array_equal(metrics.env_steps, step * np.arange(1, 25))
    assert int(learned.agent.env_steps) == 24 * step
    again, _ = base.update_jit(learner, cartpole, state, 24)
    for a, b in zip(jax.tree.leaves(learned), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)


def test_learned_reward_replaces_the_environment_reward(cartpole):
    """A reward that pays +1 for action 0 and -1 for action 1 makes the policy push left."""

    def left_reward(scale, obs, action, next_obs, terminated):
        return scale * jnp.where(action == 0, 1.0, -1.0)

    config = ppo.PPOConfig(num_envs=8, num_steps=32, minibatch_size=64, learning_rate=3e-3)
    learner = ppo.make_ppo(config, cartpole.spec)
    state = base.init_state_jit(learner, cartpole, jax.random.PRNGKey(2))
    state, metrics = base.update_jit(learner, cartpole, state, 12, left_reward, jnp.float32(1.0))
    policy = learner.policy_params(state.agent)
    obs = jax.vmap(cartpole.reset)(jax.random.split(jax.random.PRNGKey(5), 64))[0]
    actions, _ = jax.vmap(lambda o: learner.act(policy, jax.random.PRNGKey(0), o, True))(obs)
    p_left = jnp.exp(jax.vmap(lambda o: learner.log_prob(policy, o, jnp.int32(0)))(obs))
    assert np.all(np.asarray(actions) == 0)
    assert float(p_left.mean()) > 0.9
    assert float(metrics.losses.mean_reward[-1]) > 0.8  # the learned reward is what was optimised
    assert float(np.nanmean(metrics.mean_return[-3:])) < 15.0  # the true return collapses: pushing left fails


def test_vmap_over_seeds_with_continuous_actions():
    """Two seeds of PPO on Pendulum in one vmap: it runs, and the seeds learn different parameters."""
    env = make_env("Pendulum-v1")
    learner = ppo.make_ppo(SMALL, env.spec)
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    train = jax.jit(jax.vmap(lambda k: base.train(learner, env, k, 2 * ppo.steps_per_iteration(SMALL))))
    states, metrics = train(keys)
    assert metrics.losses.loss.shape == (2, 2)
    assert np.all(np.isfinite(metrics.losses.loss))
    np.testing.assert_array_equal(states.agent.env_steps, [128, 128])
    kernels = np.asarray(jax.tree.leaves(states.agent.params.actor)[-1])
    assert not np.allclose(kernels[0], kernels[1])
    assert states.agent.params.log_std.shape == (2, 1)
    np.testing.assert_allclose(metrics.losses.entropy, 0.5 * math.log(2 * math.pi * math.e), atol=0.05)

    policy = jax.tree.map(lambda x: x[0], jax.vmap(learner.policy_params)(states.agent))
    obs = jnp.array([1.0, 0.0, 0.5])
    action, logp = learner.act(policy, jax.random.PRNGKey(1), obs)
    assert action.shape == (1,)
    np.testing.assert_allclose(logp, learner.log_prob(policy, obs, action), rtol=1e-6)
    mean, _ = learner.act(policy, jax.random.PRNGKey(1), obs, deterministic=True)
    assert float(learner.log_prob(policy, obs, mean)) > float(logp) - 1e-6


def test_act_log_prob_matches_log_prob_discrete(cartpole):
    learner = ppo.make_ppo(ppo.PPOConfig(), cartpole.spec)
    policy = learner.policy_params(base.init_state_jit(learner, cartpole, jax.random.PRNGKey(4)).agent)
    obs = jnp.array([0.01, 0.2, -0.03, 0.1])
    action, logp = learner.act(policy, jax.random.PRNGKey(0), obs)
    assert action.dtype == jnp.int32
    np.testing.assert_allclose(logp, learner.log_prob(policy, obs, action), rtol=1e-6)
    total = sum(math.exp(float(learner.log_prob(policy, obs, jnp.int32(a)))) for a in range(2))
    assert total == pytest.approx(1.0, abs=1e-6)


def test_bad_minibatch_size_is_rejected(cartpole):
    with pytest.raises(IrlaxError, match="does not divide"):
        ppo.make_ppo(ppo.PPOConfig(num_envs=3, num_steps=10, minibatch_size=64), cartpole.spec)


def test_presets():
    """PPO's tuned configs live in the task table; tasks without one (and unknown names) get the defaults."""
    assert learner_config("CartPole-v1", "ppo").num_envs == 16
    assert learner_config("Acrobot-v1", "ppo").gae_lambda == 0.94
    assert learner_config("Pendulum-v1", "ppo") == ppo.PPOConfig()
    assert learner_config("Nope", "ppo") == ppo.PPOConfig()
    with pytest.raises(IrlaxError, match="unknown learner 'nope'"):
        learner_config("CartPole-v1", "nope")


# ---------------------------------------------------------------------------------------------------------------
# The generic learner loop (irlax.learners.base) as PPO drives it


def state_types(tree):
    """Every leaf's abstract type: shape, dtype and weak type (what a jitted program is compiled for)."""
    return jax.tree.structure(tree), [jax.typeof(x) for x in jax.tree.leaves(tree)]


def assert_same_types(before, after):
    (structure, types), (structure_after, types_after) = state_types(before), state_types(after)
    assert structure == structure_after
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(before)[0]]
    changed = [
        f"{path}: {a} ({'weak' if a.weak_type else 'strong'}) -> {b} ({'weak' if b.weak_type else 'strong'})"
        for path, a, b in zip(paths, types, types_after, strict=True)
        if (a.shape, a.dtype, a.weak_type) != (b.shape, b.dtype, b.weak_type)
    ]
    assert not changed, changed


def test_state_types_are_the_same_after_init_and_after_an_update(cartpole):
    """Shapes, dtypes and weak types of every leaf of a LearnerState survive an update (else update recompiles)."""
    learner = ppo.make_ppo(SMALL, cartpole.spec)
    state = base.init_state_jit(learner, cartpole, jax.random.PRNGKey(0))
    updated, _ = base.update_jit(learner, cartpole, state, 1)
    assert_same_types(state, updated)


def fresh_update_jit():
    """``base.update`` jitted with its own compilation cache.

    ``jax.jit(base.update, ...)`` would not do: jitting one function with the same options shares the compiled
    programs of ``base.update_jit`` (JAX caches them by function), so other tests could pre-fill the count.
    """

    def update(learner, env, state, num_iterations, reward_fn=None, reward_params=None):
        return base.update(learner, env, state, num_iterations, reward_fn, reward_params)

    return jax.jit(update, static_argnames=UPDATE_STATIC)


def test_a_chunked_run_compiles_update_once():
    """Chunks of the same size, each on the state the previous one returned, run one compiled program.

    On Pendulum-v1, whose gymnax reset leaves weakly typed state leaves (strong after a step), unless
    ``JaxEnv.reset`` gives them strong types.
    """
    env = make_env("Pendulum-v1")
    update_jit = fresh_update_jit()
    learner = ppo.make_ppo(SMALL, env.spec)
    state = base.init_state_jit(learner, env, jax.random.PRNGKey(0))
    assert update_jit._cache_size() == 0
    state, first = update_jit(learner, env, state, 2)
    state, second = update_jit(learner, env, state, 2)
    assert update_jit._cache_size() == 1, "the second chunk recompiled update: the state's types changed"
    # the second chunk continued the first
    np.testing.assert_array_equal(np.concatenate([first.env_steps, second.env_steps]), 64 * np.arange(1, 5))
    # a learner built alike (equal and hash-equal) shares the program
    again = ppo.make_ppo(replace(SMALL), make_env("Pendulum-v1").spec)
    assert again == learner and hash(again) == hash(learner)
    update_jit(again, env, state, 2)
    assert update_jit._cache_size() == 1


def test_variants_of_a_task_have_different_specs():
    """Same name, other parameters (CartPole with gravity 20): another spec, so another env and learner for jit."""
    env, params = gymnax_env("CartPole-v1")
    default = make_jax_env("CartPole-v1", env, params)
    heavy = make_jax_env("CartPole-v1", env, params.replace(gravity=20.0))
    assert default.name == heavy.name == "CartPole-v1"
    assert default.spec.same_spaces(heavy.spec)
    assert dict(default.spec.params)["gravity"] == pytest.approx(9.8)
    assert dict(heavy.spec.params)["gravity"] == 20.0
    assert default.spec != heavy.spec and hash(default.spec) != hash(heavy.spec)
    assert default != heavy and hash(default) != hash(heavy)
    assert len({default, heavy}) == 2
    # the default parameters give the task table's spec back
    assert default == make_env("CartPole-v1") and hash(default) == hash(make_env("CartPole-v1"))
    # learners bound to the two specs differ too (they are static arguments of the jitted loop)
    assert ppo.make_ppo(SMALL, default.spec) != ppo.make_ppo(SMALL, heavy.spec)


def test_rms_scaled_rewards_by_hand():
    """Rewards divided by the root mean square of the non-terminal ones; terminal steps scaled, not counted."""
    rewards = jnp.array([[1.0, -3.0], [2.0, 100.0]])
    terminated = jnp.array([[False, False], [False, True]])
    scale = math.sqrt((1.0 + 9.0 + 4.0) / 3.0)
    np.testing.assert_allclose(ppo.losses.rms_scaled_rewards(rewards, terminated), np.asarray(rewards) / scale,
                               rtol=1e-6)
    every_step_terminal = ppo.losses.rms_scaled_rewards(rewards, jnp.ones_like(terminated))
    assert np.all(np.isfinite(np.asarray(every_step_terminal)))


def test_scaled_rewards_make_updates_blind_to_the_reward_scale(cartpole):
    """With ``scale_rewards`` a reward and 50 times it give the same updates; without, the critic's differ."""

    def left_reward(scale, obs, action, next_obs, terminated):
        return scale * jnp.where(action == 0, 1.0, -1.0)

    def trained(scale_rewards: bool, scale: float):
        config = ppo.PPOConfig(num_envs=4, num_steps=32, minibatch_size=64, scale_rewards=scale_rewards)
        learner = ppo.make_ppo(config, cartpole.spec)
        state = base.init_state_jit(learner, cartpole, jax.random.PRNGKey(3))
        state, _ = base.update_jit(learner, cartpole, state, 2, left_reward, jnp.float32(scale))
        return state.agent.params

    for a, b in zip(jax.tree.leaves(trained(True, 1.0)), jax.tree.leaves(trained(True, 50.0)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    plain, large = trained(False, 1.0), trained(False, 50.0)
    pairs = zip(jax.tree.leaves(plain.critic), jax.tree.leaves(large.critic), strict=True)
    assert not all(np.allclose(a, b, rtol=1e-3, atol=1e-5) for a, b in pairs)
