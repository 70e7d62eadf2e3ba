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


@pytest.mark.parametrize("distribution", ["tanh_gaussian", "gaussian", "clipped_gaussian"])
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


def pendulum_demos(actions):
    """Pendulum-v1 demonstrations (torque in [-2, 2]) of the given ``[n, t, 1]`` actions, observations uniform."""
    env = make_env("Pendulum-v1")
    n, t = actions.shape[:2]
    obs = np.random.default_rng(1).uniform(-1, 1, (n, t, 3)).astype(np.float32)
    zeros, flags = np.zeros((n, t), np.float32), np.zeros((n, t), bool)
    demos = make_demonstrations(
        {"obs": obs, "actions": actions.astype(np.float32), "next_obs": obs, "rewards": zeros, "terminated": flags,
         "truncated": flags, "log_probs": zeros, "mask": ~flags},
        env_name=env.name, obs_size=3, discrete=False, action_size=1,
    )
    return env, demos


def test_the_demonstrations_choose_the_clone_class():
    """Actions on a bound (a clipped Gaussian's, a PPO expert's) call for the clipped clone; actions strictly
    inside (a tanh policy's, SAC's) for the tanh one; the user's setting wins; discrete tasks keep the default."""
    rng = np.random.default_rng(0)
    inside = rng.uniform(-1.9, 1.9, (2, 100, 1))
    env, demos = pendulum_demos(inside)
    assert bc.demonstrated_distribution(demos, env.spec) == "tanh_gaussian"
    saturated = np.where(rng.uniform(size=inside.shape) < 0.3, 2.0, inside)  # 30% at the upper bound
    env, demos = pendulum_demos(saturated)
    assert bc.demonstrated_distribution(demos, env.spec) == "clipped_gaussian"
    assert bc.with_demonstrated_distribution(CONFIG, demos, env.spec, {}).distribution == "clipped_gaussian"
    kept = bc.with_demonstrated_distribution(CONFIG, demos, env.spec, {"distribution": "gaussian"})
    assert kept == CONFIG  # the user's --set distribution=... is applied before, and kept
    few = np.where(np.arange(200).reshape(2, 100, 1) == 0, 2.0, inside)  # one component in 200: below 1%
    assert bc.demonstrated_distribution(pendulum_demos(few)[1], env.spec) == "tanh_gaussian"
    cartpole = make_env("CartPole-v1")
    assert bc.demonstrated_distribution(demos, cartpole.spec) == "tanh_gaussian"


def test_the_clipped_clone_fits_saturated_demonstrations():
    """Demonstrated torque on the bound wherever obs[0] > 0, -0.5 elsewhere. The clipped clone puts a large share
    of its actions on the bound there and none elsewhere, and fits -0.5 closely; a tanh clone, whose density
    diverges at the bound, lets those steps dominate its loss and fits -0.5 worse (measured: 0.009 and 0.078 off)."""
    rng = np.random.default_rng(2)
    n, t = 4, 50
    env, demos = pendulum_demos(np.zeros((n, t, 1)))
    obs = np.asarray(demos.obs)
    actions = np.where(obs[..., :1] > 0, 2.0, -0.5 + 0.05 * rng.normal(size=(n, t, 1))).astype(np.float32)
    env, demos = pendulum_demos(actions)
    saturated, inside = jnp.asarray([0.5, 0.0, 0.0], jnp.float32), jnp.asarray([-0.5, 0.0, 0.0], jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(1), 2000)
    error = {}
    for distribution in ("clipped_gaussian", "tanh_gaussian"):
        config = dataclasses.replace(CONFIG, distribution=distribution, epochs=100, batch_size=64)
        result = bc.fit_jit(config, jax.random.PRNGKey(0), env.spec, demos)
        policy = bc.BCPolicy(config, env.spec)
        error[distribution] = abs(float(policy.act(result.params, jax.random.PRNGKey(0), inside, True)[0][0]) + 0.5)
        if distribution == "clipped_gaussian":
            draws = lambda o: jax.vmap(lambda k: policy.act(result.params, k, o)[0][0])(keys)  # noqa: B023
            assert float(jnp.mean(draws(saturated) == 2.0)) > 0.35
            assert float(jnp.mean(draws(inside) == 2.0)) == 0.0
            assert float(jnp.max(jnp.abs(draws(saturated)))) <= 2.0  # the clipped clone acts within the bounds
    assert error["clipped_gaussian"] < 0.03 < error["tanh_gaussian"]


def test_bad_config_and_mismatched_demos_are_refused(cartpole_demos):
    env, demos = cartpole_demos
    with pytest.raises(IrlaxError, match="unknown distribution"):
        bc.fit(dataclasses.replace(CONFIG, distribution="beta"), jax.random.PRNGKey(0), env.spec, demos)
    with pytest.raises(IrlaxError, match="do not fit Pendulum-v1"):
        bc.fit(CONFIG, jax.random.PRNGKey(0), make_env("Pendulum-v1").spec, demos)


def test_irlax_bc_takes_the_clone_class_from_the_demonstrations(tmp_path, run_dir_in, capsys):
    """`irlax bc` records the class the demonstrations call for in config.json; `--set distribution=` wins."""
    import json

    from irlax.cli.main import main
    from irlax.data.demos import save_demonstrations

    rng = np.random.default_rng(0)
    inside = rng.uniform(-1.9, 1.9, (2, 100, 1))
    saturated = np.where(rng.uniform(size=inside.shape) < 0.3, 2.0, inside)
    for name, actions, extra, expected in (
        ("sac-like", inside, [], "tanh_gaussian"),
        ("ppo-like", saturated, [], "clipped_gaussian"),
        ("chosen", saturated, ["--set", "distribution=gaussian"], "gaussian"),
    ):
        path = tmp_path / f"{name}.npz"
        save_demonstrations(path, pendulum_demos(actions)[1])
        out = tmp_path / name
        assert main(["bc", "--demos", str(path), "--epochs", "1", "--eval-episodes", "1", "--out", str(out),
                     "--quiet", *extra]) == 0
        config = json.loads((run_dir_in(out) / "config.json").read_text())
        assert config["config"]["distribution"] == expected, name
    capsys.readouterr()


def test_epochs_for_steps_counts_whole_epochs_of_the_real_steps(cartpole_demos):
    """Hand-counted: 2,000 real steps in minibatches of 128 are 16 Adam steps an epoch (15 full, one of 80)."""
    _, demos = cartpole_demos  # 4 episodes of 500 steps
    assert bc.epochs_for_steps(16, demos, 128) == 1
    assert bc.epochs_for_steps(17, demos, 128) == 2
    assert bc.epochs_for_steps(1000, demos, 128) == 63  # 62 epochs are 992 steps
    one = demos.replace(mask=demos.mask.at[1:].set(False))  # padding does not count: 500 steps, 4 an epoch
    assert bc.epochs_for_steps(1000, one, 128) == 250
    assert bc.epochs_for_steps(1000, one, 500) == 1000
    with pytest.raises(IrlaxError, match="at least 1"):
        bc.epochs_for_steps(0, demos, 128)
    with pytest.raises(IrlaxError, match="no real step"):
        bc.epochs_for_steps(10, demos.replace(mask=jnp.zeros_like(demos.mask)), 128)


def test_irlax_bc_steps_sets_the_epochs_from_the_demonstrations_it_uses(tmp_path, run_dir_in, capsys):
    """`irlax bc --steps N` trains the whole epochs that take N Adam steps of the episodes it uses."""
    import json

    from irlax.cli.main import main
    from irlax.data.demos import save_demonstrations

    actions = np.random.default_rng(0).uniform(-1.9, 1.9, (2, 100, 1))
    path = tmp_path / "demos.npz"
    save_demonstrations(path, pendulum_demos(actions)[1])  # 2 episodes of 100 steps
    common = ["bc", "--demos", str(path), "--batch-size", "64", "--steps", "8", "--eval-episodes", "1", "--quiet"]
    for episodes, expected in ((2, 2), (1, 4)):  # 4 or 2 minibatches an epoch
        out = tmp_path / f"e{episodes}"
        assert main([*common, "--episodes", str(episodes), "--out", str(out)]) == 0
        run = run_dir_in(out)
        config = json.loads((run / "config.json").read_text())
        assert (config["config"]["epochs"], config["steps"]) == (expected, 8)
        assert len((run / "metrics.csv").read_text().splitlines()) == 1 + expected  # one row an epoch
    assert main([*common, "--epochs", "3", "--out", str(tmp_path / "both")]) == 2
    assert "irlax: error: --steps and --epochs both set the run's length" in capsys.readouterr().err
