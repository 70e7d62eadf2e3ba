"""Behavioural cloning: copies a scripted CartPole controller, fits continuous actions, ignores padding."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms import bc
from irlax.data.demos import from_episodes, make_demonstrations
from irlax.errors import IrlaxError
from irlax.learners.evaluation import evaluate_policies, policy_episodes_jit
from irlax.tasks import make_env

CONFIG = bc.BCConfig(epochs=4, batch_size=128, learning_rate=3e-3)


@dataclasses.dataclass(frozen=True)
class ScriptedCartPole:
    """Push toward the pole's lean: ``action = theta + 0.5 theta_dot > 0`` (keeps the pole up for 500 steps)."""

    def act(self, params, key, obs, deterministic=False):
        return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32), jnp.float32(0.0)


@pytest.fixture(scope="module")
def cartpole_demos():
    env = make_env("CartPole-v1")
    episodes = policy_episodes_jit(ScriptedCartPole(), env, None, jax.random.PRNGKey(0), 4)
    return env, from_episodes(episodes, env.spec, {"learner": "scripted"})


def test_scripted_expert_is_an_expert(cartpole_demos):
    _, demos = cartpole_demos
    np.testing.assert_array_equal(np.asarray(demos.returns()), 500.0)


def test_bc_copies_the_scripted_cartpole_controller(cartpole_demos):
    env, demos = cartpole_demos
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    fit_seeds = jax.jit(jax.vmap(lambda key, d: bc.fit(CONFIG, key, env.spec, d), in_axes=(0, None)))
    result = fit_seeds(keys, demos)
    loss = np.asarray(result.loss)
    assert loss.shape == (2, CONFIG.epochs)
    assert (loss[:, -1] < loss[:, 0]).all() and (loss[:, -1] < 0.35).all()  # log 2 = 0.69 at the start
    policy = bc.BCPolicy(CONFIG, env.spec)
    returns = np.asarray(evaluate_policies(policy, env, result.params, jax.random.PRNGKey(2), 8, True))
    assert returns.mean() >= 475.0, returns  # a random policy scores about 22
    # the vmapped seeds are the single-seed fits
    single = bc.fit_jit(CONFIG, keys[1], env.spec, demos)
    np.testing.assert_allclose(np.asarray(single.loss), loss[1], rtol=1e-4, atol=1e-5)


def test_padding_is_never_used(cartpole_demos):
    env, demos = cartpole_demos
    short = demos.replace(mask=demos.mask.at[1:, 100:].set(False))  # episodes 1..3 end at step 100
    garbage = short.replace(
        obs=jnp.where(short.mask[..., None], short.obs, 1e6), actions=jnp.where(short.mask, short.actions, 1)
    )
    a = bc.fit_jit(CONFIG, jax.random.PRNGKey(4), env.spec, short)
    b = bc.fit_jit(CONFIG, jax.random.PRNGKey(4), env.spec, garbage)
    np.testing.assert_allclose(np.asarray(a.loss), np.asarray(b.loss), rtol=1e-5)
    assert float(a.params.obs_stats.count) == 500 + 3 * 100


@pytest.mark.parametrize("distribution", ["tanh_gaussian", "gaussian"])
def test_bc_fits_continuous_actions(distribution):
    env = make_env("Pendulum-v1")
    rng = np.random.default_rng(0)
    n, t = 4, 50
    obs = rng.uniform(-1, 1, (n, t, 3)).astype(np.float32)
    actions = (1.5 * np.tanh(2.0 * obs[..., :1]) + 0.05 * rng.normal(size=(n, t, 1))).astype(np.float32)
    zeros = np.zeros((n, t), np.float32)
    flags = np.zeros((n, t), bool)
    demos = make_demonstrations(
        {"obs": obs, "actions": actions, "next_obs": obs, "rewards": zeros, "terminated": flags, "truncated": flags,
         "log_probs": zeros, "mask": ~flags},
        env_name=env.name, obs_size=3, discrete=False, action_size=1,
    )
    config = dataclasses.replace(CONFIG, distribution=distribution, epochs=25, batch_size=64)
    result = bc.fit_jit(config, jax.random.PRNGKey(0), env.spec, demos)
    assert float(result.nll[-1]) < float(result.nll[0]) - 1.0
    policy = bc.BCPolicy(config, env.spec)
    test_obs = jnp.asarray([[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0], [0.0, 0.3, -0.3]], jnp.float32)
    act = jax.vmap(lambda o: policy.act(result.params, jax.random.PRNGKey(0), o, True)[0])(test_obs)
    np.testing.assert_allclose(np.asarray(act)[:, 0], 1.5 * np.tanh(2.0 * np.asarray(test_obs)[:, 0]), atol=0.25)
    # log_prob agrees with what act reports, and stochastic actions stay in bounds for the tanh policy
    action, reported = policy.act(result.params, jax.random.PRNGKey(5), test_obs[0])
    assert float(policy.log_prob(result.params, test_obs[0], action)) == pytest.approx(float(reported), abs=1e-3)


def test_bad_config_and_mismatched_demos_are_refused(cartpole_demos):
    env, demos = cartpole_demos
    with pytest.raises(IrlaxError, match="unknown distribution"):
        bc.fit(dataclasses.replace(CONFIG, distribution="beta"), jax.random.PRNGKey(0), env.spec, demos)
    with pytest.raises(IrlaxError, match="do not fit Pendulum-v1"):
        bc.fit(CONFIG, jax.random.PRNGKey(0), make_env("Pendulum-v1").spec, demos)
