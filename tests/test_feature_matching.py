"""Feature expectations, apprenticeship learning (Abbeel & Ng 2004) and Maximum Margin Planning (Ratliff et al. 2006).

- Exact feature expectations against closed forms and Monte Carlo; the empirical
  estimator with variable lengths against a plain Python loop.
- Both apprenticeship variants reach ``t <= epsilon`` where the expert's feature
  expectations are known in closed form, and the mixture matches them.
- Their margins agree with a brute-force enumeration of every deterministic policy of
  a tiny MDP: the planner finds the best policy for every ``w``, and the final margin
  is the distance from ``mu_E`` to the convex hull of all policies' feature expectations.
- MMP's hinge loss decreases and its reward makes the expert's actions optimal.
- The ``irlax fit`` choices end to end, and one-line errors on bad settings.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms import apprenticeship, mmp
from irlax.algorithms.apprenticeship import MaxMarginConfig, ProjectionConfig
from irlax.algorithms.base import TabularData
from irlax.algorithms.registry import make_algorithm
from irlax.cli.main import main
from irlax.data.trajectories import make_trajectories
from irlax.envs import from_dense
from irlax.errors import IrlaxError
from irlax.run.driver import Driver, pad_and_stack
from irlax.tabular.feature_expectations import (
    empirical_feature_expectations,
    empirical_visitation,
    expected_demo_feature_expectations,
    policy_feature_expectations,
)
from irlax.tabular.planning import value_iteration_finite
from irlax.tabular.sampling import sample_trajectories

GAMMA = 0.9
KEY = jax.random.key(0)
sample_jit = jax.jit(sample_trajectories, static_argnums=(3, 4))


def two_state_mdp(horizon, discount=GAMMA):
    """States {0, 1}; action 0 stays, action 1 switches; one-hot state features; starts in state 0."""
    p = np.zeros((2, 2, 2))
    p[[0, 1], 0, [0, 1]] = 1.0
    p[[0, 1], 1, [1, 0]] = 1.0
    return from_dense(p, np.eye(2), np.array([1.0, 0.0]), discount=discount, horizon=horizon)


# ----------------------------------------------------------------------------- exact feature expectations


@pytest.mark.parametrize("horizon", [7, None], ids=["finite", "discounted"])
def test_policy_feature_expectations_match_closed_forms(horizon):
    mdp = two_state_mdp(horizon)
    g = GAMMA
    geometric = lambda ratio, steps: (1 - ratio**steps) / (1 - ratio) if steps else 1 / (1 - ratio)
    stay, switch = jnp.array([[1.0, 0.0], [1.0, 0.0]]), jnp.array([[0.0, 1.0], [0.0, 1.0]])
    half = jnp.full((2, 2), 0.5)
    if horizon is None:
        expected_switch = np.array([1, g]) / (1 - g**2)
        expected_half = np.array([1, 1]) / (2 * (1 - g)) + np.array([0.5, -0.5])  # step 0 in state 0, then uniform
    else:
        even, odd = (horizon + 1) // 2, horizon // 2
        expected_switch = np.array([geometric(g**2, even), g * geometric(g**2, odd)])
        expected_half = np.array([0.5, 0.5]) * geometric(g, horizon) + np.array([0.5, -0.5])
    tol = dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(policy_feature_expectations(mdp, stay), [geometric(g, horizon or 0), 0.0], **tol)
    np.testing.assert_allclose(policy_feature_expectations(mdp, switch), expected_switch, **tol)
    np.testing.assert_allclose(policy_feature_expectations(mdp, half), expected_half, **tol)


def random_mdp(seed, num_states=4, num_actions=2, num_features=3, horizon=None, discount=GAMMA):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(num_states), size=(num_states, num_actions))
    features = rng.normal(size=(num_states, num_features))
    return from_dense(p, features, rng.dirichlet(np.ones(num_states)), discount=discount, horizon=horizon)


def test_demo_feature_expectations_match_monte_carlo_with_variable_lengths():
    mdp = random_mdp(0, horizon=6)
    policy = jnp.asarray(np.random.default_rng(1).dirichlet(np.ones(2), size=(6, 4)))
    demos = sample_jit(jax.random.key(2), mdp, jnp.log(policy), 4000, 6)
    lengths = np.random.default_rng(3).integers(1, 7, size=4000)
    mask = np.arange(6)[None, :] < lengths[:, None]
    demos = make_trajectories(np.asarray(demos.states), np.asarray(demos.actions), mask)
    estimate = empirical_feature_expectations(mdp.features, demos, mdp.discount)
    exact = expected_demo_feature_expectations(mdp, policy, demos)
    assert np.all(np.abs(np.asarray(estimate.mean - exact)) < 4 * np.asarray(estimate.standard_error) + 1e-4)
    # full-length trajectories from mdp.initial: the policy's own T-step feature expectations
    full = sample_jit(jax.random.key(4), mdp, jnp.log(policy), 4000, 6)
    full_estimate = empirical_feature_expectations(mdp.features, full, mdp.discount)
    exact_full = policy_feature_expectations(mdp, policy)
    assert np.all(np.abs(np.asarray(full_estimate.mean - exact_full)) < 4 * np.asarray(full_estimate.standard_error))


def test_empirical_feature_expectations_follow_a_python_loop():
    rng = np.random.default_rng(5)
    features = rng.normal(size=(5, 2, 3))  # state-action features
    states, actions = rng.integers(0, 5, size=(4, 6)), rng.integers(0, 2, size=(4, 6))
    lengths = [6, 1, 3, 4]
    mask = np.arange(6)[None, :] < np.array(lengths)[:, None]
    demos = make_trajectories(states, actions, mask)
    estimate = empirical_feature_expectations(jnp.asarray(features), demos, 0.8)
    sums = np.array([sum(0.8**t * features[states[i, t], actions[i, t]] for t in range(lengths[i])) for i in range(4)])
    np.testing.assert_allclose(estimate.per_trajectory, sums, rtol=1e-5)
    np.testing.assert_allclose(estimate.mean, sums.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(estimate.standard_error, sums.std(axis=0, ddof=1) / 2, rtol=1e-5)
    visitation = empirical_visitation(demos, 5, 2, 0.8)
    np.testing.assert_allclose(np.einsum("sa,saf->f", visitation, features), sums.mean(axis=0), rtol=1e-5)
    single = empirical_feature_expectations(jnp.asarray(features), demos.replace(
        states=demos.states[:1], actions=demos.actions[:1], mask=demos.mask[:1]), 0.8)
    np.testing.assert_array_equal(single.standard_error, 0.0)


# ----------------------------------------------------------------------------- apprenticeship learning


@pytest.mark.parametrize("config", [MaxMarginConfig(), ProjectionConfig()], ids=["max-margin", "projection"])
def test_apprenticeship_reaches_epsilon_and_the_mixture_matches_the_expert(config):
    horizon = 8
    mdp = two_state_mdp(horizon)
    # the expert switches at every step from state 0: mu_E = (1 + g^2 + g^4 + g^6, g + g^3 + g^5 + g^7)
    demos = make_trajectories(np.array([[0, 1] * 4]), np.ones((1, 8), int))
    g = GAMMA
    closed_form = np.array([sum(g ** (2 * k) for k in range(4)), sum(g ** (2 * k + 1) for k in range(4))])
    np.testing.assert_allclose(empirical_feature_expectations(mdp.features, demos, g).mean, closed_form, rtol=1e-6)
    for seed in range(3):
        result = apprenticeship.fit(config, jax.random.key(seed), mdp, demos)
        scale = sum(g**t for t in range(horizon))
        assert bool(result.converged)
        assert float(result.margins[-1]) <= config.epsilon * scale
        np.testing.assert_allclose(result.mixture_feature_expectations, closed_form, atol=2e-3 * scale)
        assert np.isclose(float(result.mixture.sum()), 1.0) and float(result.mixture.min()) >= 0.0
        assert result.weights.shape[0] == result.margins.shape[0] + 1
        assert result.log_policies.shape[0] == result.feature_expectations.shape[0] == result.mixture.shape[0]


def all_deterministic_policies(num_states, num_actions, horizon):
    """Every deterministic time-indexed policy ``[H, S, A]`` as one-hot arrays, ``[P, H, S, A]``."""
    choices = itertools.product(range(num_actions), repeat=num_states * horizon)
    return np.eye(num_actions)[np.array(list(choices)).reshape(-1, horizon, num_states)]


def distance_to_hull(point, vertices):
    """``min ||point - sum_j lam_j v_j||`` over the simplex, with cvxpy (an independent formulation)."""
    lam = cp.Variable(vertices.shape[0], nonneg=True)
    problem = cp.Problem(cp.Minimize(cp.norm(point - vertices.T @ lam, 2)), [cp.sum(lam) == 1])
    problem.solve(solver="CLARABEL")
    return problem.value


def test_apprenticeship_margins_agree_with_brute_force_over_all_policies():
    horizon = 3
    mdp = random_mdp(7, num_states=3, num_actions=2, num_features=2, horizon=horizon)
    # demonstrations that no policy reproduces in expectation: mu_E lies outside the hull
    demos = make_trajectories(np.array([[0, 2, 2], [1, 2, 2]]), np.array([[0, 1, 1], [1, 0, 1]]))
    mu_e = np.asarray(empirical_feature_expectations(mdp.features, demos, mdp.discount).mean, float)
    policies = jnp.asarray(all_deterministic_policies(3, 2, horizon))
    every_mu = np.asarray(jax.vmap(lambda pi: expected_demo_feature_expectations(mdp, pi, demos))(policies), float)
    distance = distance_to_hull(mu_e, every_mu)
    assert distance > 0.05
    margins = {}
    for config in (MaxMarginConfig(iterations=50), ProjectionConfig(iterations=400)):
        result = apprenticeship.fit(config, jax.random.key(0), mdp, demos)
        found = np.asarray(result.feature_expectations, float)
        # every planned policy is the best of all deterministic policies for its weights
        for w, mu in zip(np.asarray(result.weights, float), found, strict=False):
            assert w @ mu >= np.max(every_mu @ w) - 1e-4 * max(1.0, np.linalg.norm(w))
        margins[type(config).__name__] = float(result.margins[-1])
        # the mixture is as close to mu_E as the hull of all policies gets
        assert abs(np.linalg.norm(mu_e - np.asarray(result.mixture_feature_expectations)) - distance) < 1e-3
    assert margins["MaxMarginConfig"] == pytest.approx(distance, abs=1e-4)
    assert margins["ProjectionConfig"] == pytest.approx(distance, abs=5e-3)


def test_apprenticeship_rejects_bad_input():
    mdp = two_state_mdp(4)
    demos = make_trajectories(np.zeros((1, 6), int), np.zeros((1, 6), int))
    with pytest.raises(IrlaxError, match="longer than the horizon"):
        apprenticeship.fit(ProjectionConfig(), jax.random.key(0), mdp, demos)
    with pytest.raises(IrlaxError, match="unknown solver"):
        MaxMarginConfig(solver="gurobi-by-hand")
    with pytest.raises(IrlaxError, match="iterations"):
        ProjectionConfig(iterations=0)


def test_mixture_policy_value_is_the_weighted_value():
    mdp = two_state_mdp(5)
    stay = jnp.log(jnp.array([[1.0, 1e-30], [1.0, 1e-30]]))
    switch = jnp.log(jnp.array([[1e-30, 1.0], [1e-30, 1.0]]))
    reward = jnp.array([0.0, 1.0])
    value = apprenticeship.mixture_policy_value(mdp, jnp.stack([stay, switch]), jnp.array([0.25, 0.75]), reward)
    g = GAMMA
    assert float(value) == pytest.approx(0.75 * (g + g**3), rel=1e-5)


def test_seeds_in_turn_stack_runs_of_different_lengths_with_nan_padding():
    short = apprenticeship.ApprenticeshipMetrics(jnp.array([3.0, 2.0]), jnp.array([1.0, 0.5]))
    long = apprenticeship.ApprenticeshipMetrics(jnp.array([4.0, 3.0, 1.0]), jnp.array([2.0, 1.0, 0.2]))
    stacked = pad_and_stack([{"metrics": short, "converged": jnp.array(True)},
                             {"metrics": long, "converged": jnp.array(False)}])
    np.testing.assert_array_equal(stacked["metrics"].margin, [[3.0, 2.0, np.nan], [4.0, 3.0, 1.0]])
    np.testing.assert_array_equal(stacked["converged"], [True, False])


@pytest.mark.parametrize("name", ["max-margin", "projection"])
def test_the_driver_runs_apprenticeship_seeds_in_turn_like_fit(name):
    mdp = random_mdp(7, num_states=3, num_actions=2, num_features=2, horizon=3)
    demos = make_trajectories(np.array([[0, 2, 2], [1, 2, 2]]), np.array([[0, 1, 1], [1, 0, 1]]))
    config = (MaxMarginConfig if name == "max-margin" else ProjectionConfig)(iterations=6)
    algorithm = make_algorithm(name, config)
    assert algorithm.name == name and not algorithm.jittable and algorithm.num_steps == 6
    driver = Driver(algorithm, TabularData(mdp, demos), 3)
    key = jax.random.key(4)
    start = driver.start(key)
    seeds_done = []
    progress = driver.run(start, algorithm.num_steps, every=2, on_chunk=lambda _: seeds_done.append(1))
    assert len(seeds_done) == 3 and progress.done == 6  # one call per seed; no chunks
    stacked = driver.result(progress)
    singles = [apprenticeship.fit(config, k, mdp, demos) for k in jax.random.split(key, 3)]
    assert stacked.weights.shape[0] == 3 and stacked.reward.shape == (3, 3)
    for k, single in enumerate(singles):
        np.testing.assert_array_equal(stacked.reward[k], single.reward)
        steps = single.margins.shape[0]
        np.testing.assert_array_equal(stacked.margins[k, :steps], single.margins)
        assert np.all(np.isnan(stacked.margins[k, steps:]))
        np.testing.assert_array_equal(progress.metrics["margin"][k, :steps], single.metrics.margin)
        np.testing.assert_array_equal(stacked.mixture_feature_expectations[k], single.mixture_feature_expectations)
    with pytest.raises(IrlaxError, match="no checkpoints"):
        driver.save("unused.npz", progress)
    with pytest.raises(IrlaxError, match="not jittable"):
        driver.advance(start, 1)


# ----------------------------------------------------------------------------- maximum margin planning


def chain(size=7, horizon=6):
    """A deterministic chain: actions left, stay, right; one-hot state features (any state reward is linear)."""
    p = np.zeros((size, 3, size))
    for s, (a, step) in itertools.product(range(size), enumerate((-1, 0, 1))):
        p[s, a, min(max(s + step, 0), size - 1)] = 1.0
    return from_dense(p, np.eye(size), discount=0.95, horizon=horizon)


@pytest.mark.parametrize("seed", [0, 1])
def test_mmp_loss_decreases_and_its_reward_makes_the_expert_optimal(seed):
    mdp = chain()
    true_reward = jnp.asarray(np.random.default_rng(seed).normal(size=7))
    expert = value_iteration_finite(mdp, true_reward, 6)
    demos = sample_jit(jax.random.key(1), mdp, expert.log_policy, 32, 6)
    config = mmp.MMPConfig(iterations=100)
    result = mmp.fit_jit(config, jax.random.key(2), mdp, demos)
    hinge = -np.asarray(result.metrics.log_likelihood)
    # (the subgradient steps oscillate near the optimum: 0.065 of the first hinge at most in float64)
    assert hinge[0] > 0.5 and hinge[-10:].max() < 0.1 * hinge[0]
    learned = value_iteration_finite(mdp, result.reward, 6)
    t = np.broadcast_to(np.arange(6), demos.states.shape)
    q = np.asarray(learned.q)[t, np.asarray(demos.states)]
    taken = np.take_along_axis(q, np.asarray(demos.actions)[..., None], axis=-1)[..., 0]
    np.testing.assert_array_less(q.max(axis=-1) - taken, 1e-4)  # every demonstrated action is optimal
    # the result's policy is the learned reward's greedy policy, without the loss
    np.testing.assert_allclose(result.log_policy, learned.log_policy)


def test_mmp_vmaps_over_demonstration_sets():
    mdp = chain(5, 4)
    demos = jax.vmap(lambda k: sample_trajectories(k, mdp, jnp.zeros((5, 3)), 5, 4))(jax.random.split(KEY, 2))
    config = mmp.MMPConfig(iterations=5)
    batched = jax.jit(jax.vmap(lambda d: mmp.fit(config, KEY, mdp, d)))(demos)
    for i in range(2):
        one = mmp.fit_jit(config, KEY, mdp, jax.tree.map(lambda x, i=i: x[i], demos))
        np.testing.assert_allclose(batched.reward[i], one.reward, rtol=1e-5, atol=1e-6)
    assert not np.allclose(batched.reward[0], batched.reward[1])
    with pytest.raises(IrlaxError, match="learning_rate"):
        mmp.MMPConfig(learning_rate=0.0)


# ----------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def world_and_demos(cli_world) -> tuple[Path, Path]:
    return cli_world(6, 1, 8, 5)


@pytest.mark.parametrize(("algorithm", "curve"), [("max-margin", "margin"), ("projection", "margin"),
                                                  ("mmp", "log_likelihood")])
def test_fit_choices_write_a_run_directory(world_and_demos, tmp_path, monkeypatch, algorithm, curve):
    monkeypatch.setenv("IRLAX_NO_PROGRESS", "1")
    world, demos = world_and_demos
    code = main(["fit", algorithm, "--world", str(world), "--demos", str(demos), "--seeds", "2",
                 "--set", "iterations=4", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    (run_dir,) = list(tmp_path.iterdir())
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "metrics.csv", "metrics.jsonl", "reward.npy", "summary.json", f"{curve}.png"} <= names
    assert np.load(run_dir / "reward.npy").shape == (2, 36)
    assert json.loads((run_dir / "config.json").read_text())["config"]["iterations"] == 4
    summary = json.loads((run_dir / "summary.json").read_text())
    assert len(summary["evaluation"]) == 2 and np.isfinite(summary["evaluation"][0]["evd_soft"])
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(np.isfinite(row[curve]) for row in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "max-margin", "--set", "learning_rate=0.1"], "has no setting 'learning_rate'"),
        (["fit", "projection", "--set", "epsilon=-1"], "epsilon"),
        (["fit", "max-margin", "--set", "solver=simplex"], "unknown solver"),
        (["fit", "mmp", "--set", "loss_scale=-2"], "loss_scale"),
        (["fit", "projection", "--set", "horizon=2"], "longer than the horizon"),
    ],
)
def test_bad_settings_give_one_line_errors(world_and_demos, tmp_path, fails_in_one_line, args, message):
    world, demos = world_and_demos
    fails_in_one_line(
        args[:2] + ["--world", str(world), "--demos", str(demos), "--out", str(tmp_path), "--quiet"] + args[2:],
        message,
    )
