"""IQ-Learn: the objective against hand computations, the exact tabular case, learning, resume, bad input."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from irlax.algorithms import iq_learn
from irlax.algorithms.iq_learn import (
    IQLearnConfig,
    implicit_reward,
    inverse_soft_q_loss,
    iq_loss,
    make_iq_learn,
    soft_value,
    value_difference,
)
from irlax.cli.main import main
from irlax.data.demos import from_episodes, save_demonstrations
from irlax.data.transitions import Transition
from irlax.envs.tabular import from_dense
from irlax.errors import IrlaxError
from irlax.learners.evaluation import RandomPolicy, evaluate_policies, policy_episodes_jit, random_return
from irlax.tabular.occupancy import occupancy_measure
from irlax.tabular.planning import expected_next_value, soft_value_iteration
from irlax.tasks import make_env


@dataclasses.dataclass(frozen=True)
class Balance:
    """A scripted CartPole controller that always reaches 500: push towards the side the pole falls to."""

    def act(self, params, key, obs, deterministic=False):
        return (obs[2] + 0.5 * obs[3] > 0).astype(jnp.int32), jnp.float32(0.0)


def balance_demos(episodes: int, seed: int = 7):
    env = make_env("CartPole-v1")
    return from_episodes(policy_episodes_jit(Balance(), env, None, jax.random.PRNGKey(seed), episodes, False),
                         env.spec)


@pytest.fixture(autouse=True)
def _no_progress(monkeypatch):
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")


# ---------------------------------------------------------------------------------------------------------------
# the objective on a fixed batch


def test_soft_value_and_implicit_reward_match_hand_computations():
    q = jnp.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    alpha = 0.5
    expected = [alpha * np.log(np.exp(2.0) + np.exp(4.0) + np.exp(1.0)), alpha * np.log(3.0)]
    np.testing.assert_allclose(soft_value(q, alpha), expected, rtol=1e-6)
    # r = Q - gamma V(s'), and V(s') = 0 after a terminal step
    r = implicit_reward(jnp.array([1.0, 2.0]), jnp.array([3.0, 5.0]), jnp.array([False, True]), 0.9)
    np.testing.assert_allclose(r, [1.0 - 0.9 * 3.0, 2.0], rtol=1e-6)
    d = value_difference(jnp.array([1.0, 2.0]), jnp.array([3.0, 5.0]), jnp.array([True, False]), 0.5)
    np.testing.assert_allclose(d, [1.0, 2.0 - 2.5], rtol=1e-6)


def test_inverse_soft_q_loss_is_the_negated_chi2_objective():
    r_expert = jnp.array([0.5, -1.0, 2.0])
    value_term = jnp.array([0.25, 1.0])
    r_policy = jnp.array([-0.5, 0.0, 1.0])
    c = 0.5
    phi = lambda x: x - x**2 / (4 * c)
    # regulariser on the expert's rewards: -(E[phi(r_E)] - E[value term])
    loss = inverse_soft_q_loss(r_expert, value_term, r_expert, c)
    np.testing.assert_allclose(loss, -(np.mean(phi(np.asarray(r_expert))) - 0.625), rtol=1e-6)
    # on the mixture: the penalty averages both batches
    mixture = jnp.concatenate([r_expert, r_policy])
    loss = inverse_soft_q_loss(r_expert, value_term, mixture, c)
    np.testing.assert_allclose(loss, -0.5 + 0.625 + np.mean(np.asarray(mixture) ** 2) / 2.0, rtol=1e-6)
    # without it, phi(x) = x; weighted means are sums of weights times values over the weights' total
    np.testing.assert_allclose(inverse_soft_q_loss(r_expert, value_term), -0.5 + 0.625, rtol=1e-6)
    w = jnp.array([1.0, 0.0, 3.0])
    loss = inverse_soft_q_loss(r_expert, value_term, None, c, expert_weights=w, value_weights=jnp.array([1.0, 1.0]))
    np.testing.assert_allclose(loss, -(0.5 + 6.0) / 4.0 + 0.625, rtol=1e-6)


def fixed_batch(spec, size: int, seed: int) -> Transition:
    k = jax.random.split(jax.random.PRNGKey(seed), 3)
    obs = jax.random.normal(k[0], (size, spec.obs_size))
    next_obs = jax.random.normal(k[1], (size, spec.obs_size))
    action = jax.random.randint(k[2], (size,), 0, spec.action_size)
    terminated = jnp.arange(size) % 3 == 0
    zeros = jnp.zeros((size,))
    return Transition(obs, action, zeros, zeros, next_obs, terminated, jnp.zeros((size,), bool), zeros)


@pytest.mark.parametrize("absorbing", [False, True])
@pytest.mark.parametrize("form", ["difference", "initial"])
@pytest.mark.parametrize("online", [False, True])
def test_iq_loss_assembles_the_objective_from_q_values(form, online, absorbing):
    """The minibatch loss from the network's Q-values, computed again in numpy from the paper's formula, with the
    absorbing state's steps (reward 0.3, value 3) added with weight gamma / (1 - gamma) = 9 per terminated step."""
    env = make_env("CartPole-v1")
    config = IQLearnConfig(online=online, value_term=form, alpha=0.3, chi2_alpha=0.7, gamma=0.9, hidden=(8,),
                           absorbing=absorbing, learner="ppo")
    critic = iq_learn.init_params(config, env.spec, jax.random.PRNGKey(0)).critic
    expert, policy = fixed_batch(env.spec, 5, 1), fixed_batch(env.spec, 5, 2)
    starts = jax.random.normal(jax.random.PRNGKey(3), (5, 4))
    loss, info = iq_loss(config, env.spec, critic, critic, None, jnp.float32(0.3), expert,
                         policy if online else None, starts, jax.random.PRNGKey(4), jnp.float32(0.3))

    q_fn = lambda obs: np.asarray(iq_learn.q_of(config, env.spec, critic, obs, None), np.float64)
    v_fn = lambda obs: 0.3 * np.log(np.exp(q_fn(obs) / 0.3).sum(axis=1))
    r_abs, w = (0.3, 9.0) if absorbing else (0.0, 0.0)

    def next_values(batch):
        done = np.asarray(batch.terminated)
        return np.where(done, 3.0 if absorbing else 0.0, v_fn(batch.next_obs)), w * done

    def rewards(batch):
        q = q_fn(batch.obs)[np.arange(5), np.asarray(batch.action)]
        return q - 0.9 * next_values(batch)[0]

    def mean(rows, extra):  # rows of weight 1, and absorbing steps of reward r_abs with weights ``extra``
        return (np.sum(rows) + np.sum(extra) * r_abs) / (len(rows) + np.sum(extra))

    batches = [expert, policy] if online else [expert]
    r = np.concatenate([rewards(b) for b in batches])
    extra = np.concatenate([next_values(b)[1] for b in batches])
    if form == "initial":
        value_term = 0.1 * v_fn(starts).mean()
    else:
        value_term = mean(np.concatenate([v_fn(b.obs) - 0.9 * next_values(b)[0] for b in batches]), extra)
    reg = (np.sum(r**2) + np.sum(extra) * r_abs**2) / (len(r) + np.sum(extra))
    expected = -mean(r[:5], extra[:5]) + value_term + reg / (4 * 0.7)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    np.testing.assert_allclose(info.expert_reward, r[:5].mean(), rtol=1e-5)


def test_recovered_reward_is_q_minus_the_discounted_next_value():
    env = make_env("CartPole-v1")
    config = IQLearnConfig(alpha=0.2, gamma=0.95, hidden=(8,), learner="ppo")
    algo = make_iq_learn(config, env)
    params = iq_learn.init_params(config, env.spec, jax.random.PRNGKey(0))
    obs, next_obs = jnp.array([0.1, -0.2, 0.03, 0.4]), jnp.array([0.2, 0.1, -0.05, 0.0])
    q = np.asarray(iq_learn.q_of(config, env.spec, params.critic, jnp.stack([obs, next_obs]), None), np.float64)
    v_next = 0.2 * np.log(np.exp(q[1] / 0.2).sum())
    r = algo.reward_fn(params, obs, jnp.int32(1), next_obs, jnp.bool_(False))
    np.testing.assert_allclose(r, q[0, 1] - 0.95 * v_next, rtol=1e-5)
    # a terminal step enters the absorbing state of value 0
    np.testing.assert_allclose(algo.reward_fn(params, obs, jnp.int32(0), next_obs, jnp.bool_(True)), q[0, 0],
                               rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# the exact tabular case


def tiny_mdp(gamma: float = 0.9):
    """Five states, three actions, random dense dynamics, one-hot features; a random true reward ``[S, A]``."""
    rng = np.random.default_rng(3)
    transitions = rng.dirichlet(np.ones(5), size=(5, 3))
    mdp = from_dense(transitions, np.eye(5, dtype=np.float32), np.full(5, 0.2), discount=gamma)
    return mdp, jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)


def fit_exact_iq(mdp, expert_occupancy, chi2_alpha: float | None, form: str, steps: int = 4000) -> jax.Array:
    """Maximise the IQ objective over a Q table with exact expectations (temperature 1): the Q table."""
    gamma = mdp.discount
    weights = expert_occupancy.reshape(-1)

    def loss_fn(q):
        v = soft_value(q, 1.0)
        next_v = expected_next_value(mdp, v)  # E_{s'}[V(s')], [S, A]
        r = implicit_reward(q, next_v, jnp.zeros_like(q, bool), gamma).reshape(-1)
        if form == "initial":
            value_term, value_weights = (1 - gamma) * v, mdp.initial
        else:
            value_term = value_difference(jnp.broadcast_to(v[:, None], q.shape), next_v,
                                          jnp.zeros_like(q, bool), gamma).reshape(-1)
            value_weights = weights
        reg = None if chi2_alpha is None else r
        return inverse_soft_q_loss(r, value_term, reg, chi2_alpha or 1.0, weights, value_weights, weights)

    opt = optax.adam(0.05)

    def step(carry, _):
        q, state = carry
        grads = jax.grad(loss_fn)(q)
        updates, state = opt.update(grads, state)
        return (optax.apply_updates(q, updates), state), None

    q0 = jnp.zeros((mdp.num_states, mdp.num_actions))
    (q, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((q0, opt.init(q0)))
    return q


@pytest.mark.parametrize(("chi2_alpha", "form", "tolerance"),
                         [(None, "initial", 2e-3), (None, "difference", 2e-3), (100.0, "difference", 2e-2)])
def test_recovered_reward_reproduces_the_soft_optimal_expert(chi2_alpha, form, tolerance):
    """On a tiny MDP with a soft-optimal expert (soft value iteration of a random reward), the IQ objective with
    exact expectations gives a Q-function whose recovered reward ``Q - gamma E[V(s')]`` has the expert's policy as
    its soft-optimal policy (by soft value iteration on that reward)."""
    mdp, true_reward = tiny_mdp()
    expert = soft_value_iteration(mdp, true_reward)
    occupancy = occupancy_measure(mdp, expert.policy) * (1 - mdp.discount)
    q = fit_exact_iq(mdp, occupancy, chi2_alpha, form)
    recovered = implicit_reward(q, expected_next_value(mdp, soft_value(q, 1.0)), jnp.zeros_like(q, bool),
                                mdp.discount)
    plan = soft_value_iteration(mdp, recovered)
    np.testing.assert_allclose(plan.policy, expert.policy, atol=tolerance)
    # and not by chance: the soft-optimal policy of a zero reward (uniform) is far from the expert's
    assert np.abs(np.asarray(expert.policy) - 1 / 3).max() > 0.1


# ---------------------------------------------------------------------------------------------------------------
# learning


def run_iq(config: IQLearnConfig, demos, seeds: int = 1):
    env = make_env("CartPole-v1")
    algo = make_iq_learn(config, env)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    run = jax.jit(jax.vmap(lambda k, d: algo.update(algo.init(k, d), d, config.rounds), in_axes=(0, None)))
    state, metrics = run(keys, demos)
    policy = jax.vmap(algo.policy, in_axes=(0, None))(state, demos)
    returns = np.asarray(evaluate_policies(algo.act, env, policy, jax.random.PRNGKey(1), 5, True)).mean(axis=1)
    return algo, state, metrics, returns


@pytest.mark.parametrize("online", [True, False])
def test_iq_learn_imitates_a_cartpole_controller(online):
    """A short run from one demonstration of a scripted controller passes 0.6 of the expert (random: ~0.04)."""
    demos = balance_demos(1)
    config = dataclasses.replace(iq_learn.preset("CartPole-v1", "ppo"), online=online, rounds=8)
    _, state, metrics, returns = run_iq(config, demos)
    random = random_return(make_env("CartPole-v1"), jax.random.PRNGKey(2))
    normalised = (returns.mean() - random) / (500.0 - random)
    assert normalised >= 0.6, f"IQ-Learn ({'online' if online else 'offline'}) reached {normalised:.2f}"
    assert float(metrics.env_steps[0, -1]) == (800.0 if online else 0.0)
    assert np.isfinite(np.asarray(metrics.losses.reward_loss)).all()


# ---------------------------------------------------------------------------------------------------------------
# the command line: outputs, resume, bad input

TINY = ["--seeds", "2", "--rounds", "4", "--checkpoint-every", "2", "--eval-episodes", "2",
        "--set", "updates_per_round=5", "--set", "batch_size=8", "--set", "buffer_size=64", "--set", "hidden=16,16",
        "--learner-set", "num_envs=2", "--learner-set", "num_steps=16", "--learner-set", "minibatch_size=32",
        "--learner-set", "num_epochs=1", "--learner-set", "hidden=16,16", "--reoptimize-steps", "32", "--quiet"]


@pytest.fixture(scope="module")
def demos_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("iq-demos") / "cartpole.npz"
    save_demonstrations(path, balance_demos(2))
    return path


def read_metrics(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_train_iq_learn_resume_ends_where_an_uninterrupted_run_would(demos_file, tmp_path, crash_train_run):
    offline = False  # (offline runs share the code path; the learning test covers them)
    flags = ["--offline"] if offline else []
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "iq-learn", "--demos", str(demos_file), *TINY, *flags, "--out", str(full)]) == 0
    shutil.copytree(full, cut)   # the crash below recomputes the first rounds afresh
    summary = json.loads((full / "summary.json").read_text())
    assert summary["algorithm"] == "iq-learn" and summary["learner"] == "ppo" and len(summary["evaluation"]) == 2
    assert summary["env_steps"] == (0 if offline else 4 * 5) and summary["reoptimization"]["steps"] == 32
    assert not (full / "reoptimize.npz").exists()  # the re-optimisation's checkpoint goes once the summary is kept
    config = json.loads((full / "config.json").read_text())
    assert config["config"]["online"] is not offline
    rows = read_metrics(full)
    assert len(rows) == 8 and {"reward_loss", "expert_reward", "policy_reward", "env_steps"} <= set(rows[0])

    crash_train_run(cut, 2)   # a crash after the first checkpoint (2 of 4 rounds)
    assert main(["train", "--resume", str(cut), "--quiet"]) == 0
    assert read_metrics(cut) == read_metrics(full)
    for a, b in ((full / "reward.npz").read_bytes(), (cut / "reward.npz").read_bytes()), :
        assert a == b
    cut_summary = json.loads((cut / "summary.json").read_text())
    assert [r["return"] for r in cut_summary["evaluation"]] == [r["return"] for r in summary["evaluation"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "gail", "--demos", "{demos}", "--offline"], "--offline is for iq-learn"),
        (["train", "iq-learn", "--demos", "{demos}", "--set", "value_term=middle"], "unknown value_term 'middle'"),
        (["train", "iq-learn", "--demos", "{demos}", "--set", "alpha=0"], "alpha must be positive"),
        (["train", "iq-learn", "--demos", "{demos}", "--set", "chi2_alpha=-1"], "chi2_alpha must be positive"),
        (["train", "iq-learn", "--demos", "{demos}", "--set", "autotune=true"], "discrete actions have no actor"),
        (["train", "iq-learn", "--demos", "{demos}", "--set", "target_tau=0"], "target_tau must lie in (0, 1]"),
        (["train", "iq-learn", "--demos", "{demos}", "--env", "Pendulum-v1"], "Pendulum-v1 has observations"),
        (["train", "iq-learn", "--demos", "{demos}", "--set", "bogus=1"], "iq-learn has no setting 'bogus'"),
    ],
)
def test_bad_iq_learn_input_gives_one_line_errors(demos_file, args, message, fails_in_one_line):
    fails_in_one_line([a.replace("{demos}", str(demos_file)) for a in args], message)


def test_demonstrations_of_another_task_are_refused():
    pendulum = make_env("Pendulum-v1")
    algo = make_iq_learn(IQLearnConfig(hidden=(8,), learner="sac"), pendulum)
    with pytest.raises(IrlaxError, match="don't fit Pendulum-v1"):
        algo.init(jax.random.PRNGKey(0), balance_demos(1))


def test_continuous_iq_learn_runs_with_its_soft_actor():
    """Pendulum (continuous): a few online steps train the Q-function, the actor and the temperature; the recovered
    reward is finite and a deterministic function of the transition."""
    pendulum = make_env("Pendulum-v1")
    demos = from_episodes(policy_episodes_jit(RandomPolicy(pendulum.spec), pendulum, None, jax.random.PRNGKey(0), 1),
                          pendulum.spec)
    config = IQLearnConfig(hidden=(8,), rounds=2, updates_per_round=3, batch_size=4, buffer_size=16, autotune=True,
                           random_steps=2, learner="sac")
    algo = make_iq_learn(config, pendulum)
    run = jax.jit(lambda key, d: algo.update(algo.init(key, d), d, config.rounds))
    state, metrics = run(jax.random.PRNGKey(1), demos)
    assert np.isfinite(np.asarray(metrics.losses.actor_loss)).all()
    assert float(state.params.log_alpha) != np.log(config.alpha)  # the temperature moved
    assert float(metrics.env_steps[-1]) == 6.0
    params = algo.reward(state, demos)
    obs, action = demos.obs[0, 0], demos.actions[0, 0]
    r1 = algo.reward_fn(params, obs, action, demos.next_obs[0, 0], jnp.bool_(False))
    r2 = algo.reward_fn(params, obs, action, demos.next_obs[0, 0], jnp.bool_(False))
    assert np.isfinite(float(r1)) and float(r1) == float(r2)
