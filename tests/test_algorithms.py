"""End-to-end tests of the tabular IRL algorithms: MCE, MaxEnt (2008) and Deep MaxEnt.

- Exact recovery: with one-hot state-action features and the expert's exact
  expected counts, MCE IRL matches the expert's occupancy measure (finite and
  discounted infinite horizon).
- "Learns past a threshold", one per algorithm, on a small objectworld.
- Purity: vmap over seeds / demonstration sets equals separate calls; jit equals no jit.
- By name: :func:`make_algorithm` builds them, and a chunked multi-seed :class:`Driver` run equals
  separate fits, one per seed key.
- MaxEnt and MCE are the same model on deterministic dynamics and differ on stochastic ones.
- Bad configurations and demonstrations raise IrlaxError.

Compilation dominates the run time: the fits share configs and shapes so that
each ``fit_jit`` compiles once per module.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax.algorithms import deep_maxent, maxent, mce
from irlax.algorithms.base import TabularData
from irlax.algorithms.mce import MCEConfig, mce_log_likelihood_and_grad, mce_objective, mce_sources
from irlax.algorithms.registry import get_algorithm_kind, make_algorithm, make_config, names
from irlax.algorithms.tabular_fit import fit_reward, make_optimizer
from irlax.data.trajectories import make_trajectories
from irlax.envs import ObjectworldConfig, make_mdp, make_objectworld, make_random_mdp
from irlax.envs.objectworld import discrete_features
from irlax.errors import IrlaxError
from irlax.metrics.tabular import expected_value_difference
from irlax.rewards.linear import linear_reward
from irlax.run.driver import Driver
from irlax.tabular.occupancy import occupancy_discounted, occupancy_finite
from irlax.tabular.planning import soft_value_iteration, soft_value_iteration_finite

KEY = jax.random.key(0)

# ----------------------------------------------------------------------------- exact recovery (MCE)

S_EXACT, A_EXACT, H_EXACT = 8, 3, 5


def one_hot_sa_mdp(horizon, discount):
    """A random sparse MDP with one-hot state-action features ``[S, A, S * A]`` (exactly identifiable)."""
    world = make_random_mdp(jax.random.key(3), S_EXACT, A_EXACT, num_successors=3)
    features = np.eye(S_EXACT * A_EXACT).reshape(S_EXACT, A_EXACT, S_EXACT * A_EXACT)
    return make_mdp(np.asarray(world.mdp.next_states), np.asarray(world.mdp.next_probs), features,
                    discount=discount, horizon=horizon)


@pytest.mark.parametrize("horizon", [H_EXACT, None], ids=["finite", "discounted"])
def test_mce_recovers_the_expert_occupancy_from_exact_counts(horizon):
    with jax.enable_x64(True):
        mdp = one_hot_sa_mdp(horizon, 1.0 if horizon else 0.9)
        expert_reward = jnp.asarray(np.random.default_rng(1).normal(size=(S_EXACT, A_EXACT)))
        if horizon is None:
            occupancy = functools.partial(occupancy_discounted, mdp, source=mdp.initial, tolerance=1e-12)
            expert = soft_value_iteration(mdp, expert_reward, tolerance=1e-12).policy
            counts = occupancy(expert)  # [S, A], sums to 1 / (1 - gamma)
            target = counts
            # exact statistics: the forward pass is driven by p0 alone, so N - D_sigma is occupancy matching
            np.testing.assert_allclose(np.asarray(mce_sources(mdp, counts, mdp.discount)), np.asarray(mdp.initial),
                                       atol=1e-10)
        else:
            sources = jnp.zeros((horizon, S_EXACT)).at[0].set(mdp.initial)
            occupancy = lambda policy: occupancy_finite(mdp, policy, sources)
            expert = soft_value_iteration_finite(mdp, expert_reward, horizon).policy
            counts = occupancy(expert)  # [H, S, A] expected per-step counts
            target = counts.sum(axis=0)
        objective = functools.partial(mce_objective, mdp, counts, MCEConfig(tolerance=1e-11), horizon)
        run = jax.jit(lambda key: fit_reward(objective, linear_reward(), mdp.features,
                                             make_optimizer("adam", 0.3, 0.0), 300, key))
        result = run(KEY)
        learned = occupancy(jnp.exp(result.log_policy))
        learned = learned if horizon is None else learned.sum(axis=0)
        assert float(jnp.abs(learned - target).max()) < 1e-3
        # the likelihood went up and ends at a stationary point
        ll = np.asarray(result.metrics.log_likelihood)
        assert ll[-1] > ll[0]
        _, grad, _ = mce_log_likelihood_and_grad(mdp, result.reward, counts, horizon=horizon, tolerance=1e-11)
        assert float(jnp.abs(grad).max()) < 1e-3


# ----------------------------------------------------------------------------- learning on objectworld


def sample_demos(mdp, policy, num, length, seed):
    """``num`` trajectories of ``length`` steps from a stationary ``policy [S, A]``, sampled in NumPy.

    (``rl.sampling`` is checked against occupancy measures in test_sampling.py; a NumPy sampler here
    saves its compilation.)
    """
    rng = np.random.default_rng(seed)
    next_states, next_probs = np.asarray(mdp.next_states), np.asarray(mdp.next_probs, np.float64)
    policy = np.asarray(policy, np.float64)

    def draw(probs):  # one index per row of probs [num, m]
        u = rng.random(len(probs))[:, None] * probs.sum(axis=-1, keepdims=True)
        return np.minimum((np.cumsum(probs, axis=-1) <= u).sum(axis=-1), probs.shape[-1] - 1)

    states, actions = np.zeros((num, length), int), np.zeros((num, length), int)
    s = draw(np.broadcast_to(np.asarray(mdp.initial, np.float64), (num, mdp.num_states)))
    for t in range(length):
        a = draw(policy[s])
        states[:, t], actions[:, t] = s, a
        s = next_states[s, a, draw(next_probs[s, a])]
    return make_trajectories(states, actions, num_states=mdp.num_states, num_actions=mdp.num_actions)


OBJECTWORLD = ObjectworldConfig(size=10, determinism=0.9)  # MaxEnt-2008's optimism needs mild slip
MAXENT = maxent.MaxEntConfig(iterations=30, learning_rate=0.1)
MCE = MCEConfig(iterations=30, learning_rate=0.1)
DEEP = {
    "mlp": deep_maxent.DeepMaxEntConfig(iterations=30, hidden=(16, 16)),
    "conv": deep_maxent.DeepMaxEntConfig(iterations=30, hidden=(8,), architecture="conv"),
}
evd = jax.jit(expected_value_difference)


def test_evaluations_called_eagerly_compile_their_planning_once():
    """``optimal_plans`` (behind the EVD and the demonstrations' likelihood of every fit's evaluation) compiles
    once per shape: eager calls with new rewards reuse it instead of compiling their value iterations again."""
    from irlax.metrics.tabular import optimal_plans

    mdp = make_objectworld(jax.random.key(3), ObjectworldConfig(size=4)).mdp
    true = jnp.ones(mdp.num_states)
    evd = lambda r: float(expected_value_difference(mdp, true, r * true).soft)
    values = [evd(0.5)]
    compiled = optimal_plans._cache_size()
    values += [evd(2.0), evd(-1.0)]
    assert optimal_plans._cache_size() == compiled
    np.testing.assert_allclose(values, 0.0, atol=1e-4)  # a constant reward's plans are the true one's


@pytest.fixture(scope="module")
def objectworld():
    """A 10 x 10 objectworld, its continuous and discrete-feature MDPs, 64 expert demos of 8 steps, zero-reward EVD."""
    world = make_objectworld(jax.random.key(2), OBJECTWORLD)
    assert (world.reward > 0).any() and (world.reward < 0).any()
    expert = jax.jit(soft_value_iteration)(world.mdp, world.reward).policy
    discrete = world.mdp.replace(features=discrete_features(world.mdp.features, OBJECTWORLD.size))
    zero_evd = float(evd(world.mdp, world.reward, jnp.zeros_like(world.reward)).soft)
    return {"world": world, "continuous": world.mdp, "discrete": discrete,
            "demos": sample_demos(world.mdp, expert, 64, 8, seed=0), "zero_evd": zero_evd}


def check_learned(ow, result):
    """Soft EVD clearly below the zero reward's, and the log-likelihood went up."""
    world = ow["world"]
    soft = float(evd(world.mdp, world.reward, result.reward).soft)
    assert np.isfinite(soft) and soft < 0.5 * ow["zero_evd"], (soft, ow["zero_evd"])
    ll = np.asarray(result.metrics.log_likelihood)
    assert np.isfinite(ll).all() and ll[-1] > ll[0], (ll[0], ll[-1])


def test_zero_and_random_rewards_are_far_from_the_expert(objectworld):
    world = objectworld["world"]
    random_reward = jax.random.normal(jax.random.key(5), world.reward.shape)
    assert objectworld["zero_evd"] > 10.0
    assert float(evd(world.mdp, world.reward, random_reward).soft) > 10.0


def test_maxent_learns(objectworld):
    check_learned(objectworld, maxent.fit_jit(MAXENT, KEY, objectworld["discrete"], objectworld["demos"]))


def test_mce_learns(objectworld):
    check_learned(objectworld, mce.fit_jit(MCE, KEY, objectworld["discrete"], objectworld["demos"]))


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_deep_maxent_learns(objectworld, architecture):
    result = deep_maxent.fit_jit(DEEP[architecture], KEY, objectworld["continuous"], objectworld["demos"])
    assert result.reward.shape == (OBJECTWORLD.size**2,)
    check_learned(objectworld, result)


# ----------------------------------------------------------------------------- tiny problems (float64)
# Adam normalises each gradient coordinate, so float32 rounding in directions the likelihood is flat in
# (a constant reward offset) would be amplified to ~1e-3 differences; in float64 the comparisons are tight.

S_TINY, A_TINY, H_TINY, N_TINY = 5, 3, 4, 20
TINY = {
    "maxent": maxent.MaxEntConfig(iterations=20, learning_rate=0.1),
    "mce": MCEConfig(iterations=20, learning_rate=0.1),
    "deep": deep_maxent.DeepMaxEntConfig(iterations=20, hidden=(8,)),
}


def tiny_mdp(deterministic: bool, seed: int = 0):
    """5 states, 3 actions, horizon 4, undiscounted; successor lists padded to K = S so both kinds share shapes."""
    rng = np.random.default_rng(seed)
    if deterministic:
        p = np.zeros((S_TINY, A_TINY, S_TINY))
        p[np.arange(S_TINY)[:, None], np.arange(A_TINY)[None, :], rng.integers(0, S_TINY, (S_TINY, A_TINY))] = 1
    else:
        p = rng.dirichlet(np.ones(S_TINY) * 0.5, size=(S_TINY, A_TINY))
    next_states = np.broadcast_to(np.arange(S_TINY), (S_TINY, A_TINY, S_TINY))
    return make_mdp(next_states, p, np.eye(S_TINY), discount=1.0, horizon=H_TINY)


def tiny_demos(mdp, seed):
    return sample_demos(mdp, np.full((S_TINY, A_TINY), 1 / A_TINY), N_TINY, H_TINY, seed)


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def test_maxent_and_mce_fits_coincide_on_deterministic_and_differ_on_stochastic_dynamics(x64):
    fits = {}
    for deterministic in (True, False):
        mdp = tiny_mdp(deterministic)
        demos = tiny_demos(mdp, seed=1)
        fits[deterministic] = (maxent.fit_jit(TINY["maxent"], KEY, mdp, demos).reward,
                               mce.fit_jit(TINY["mce"], KEY, mdp, demos).reward)
    maxent_det, mce_det = (np.asarray(r) for r in fits[True])
    assert np.abs(maxent_det).max() > 0.1  # it learned something
    np.testing.assert_allclose(maxent_det, mce_det, atol=1e-6)
    maxent_sto, mce_sto = (np.asarray(r) for r in fits[False])
    assert np.abs(maxent_sto - mce_sto).max() > 1e-2


def test_mce_fit_jit_and_no_jit_agree(x64):
    mdp = tiny_mdp(False, seed=2)
    demos = tiny_demos(mdp, seed=3)
    jitted = mce.fit_jit(TINY["mce"], KEY, mdp, demos)  # demos traced: validation skipped, all one program
    plain = mce.fit(TINY["mce"], KEY, mdp, demos)  # concrete arrays, eager outside the training scan
    # (the demonstrated counts are float32 even under x64, so summation order shows at ~1e-8, and
    # Adam's per-coordinate normalisation lets that grow over the iterations)
    for a, b in ((plain.reward, jitted.reward), (plain.metrics.log_likelihood, jitted.metrics.log_likelihood),
                 (plain.log_policy, jitted.log_policy)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def test_maxent_vmapped_over_demonstration_sets_equals_separate_calls(x64):
    mdp = tiny_mdp(False)
    sets = [tiny_demos(mdp, seed) for seed in (4, 5, 6)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *sets)
    batched = jax.jit(jax.vmap(lambda d: maxent.fit(TINY["maxent"], KEY, mdp, d)))(stacked)
    assert batched.reward.shape == (3, S_TINY)
    for i, demos in enumerate(sets):
        single = maxent.fit_jit(TINY["maxent"], KEY, mdp, demos)
        np.testing.assert_allclose(np.asarray(batched.reward[i]), np.asarray(single.reward), atol=1e-5)
    assert not np.allclose(np.asarray(batched.reward[0]), np.asarray(batched.reward[1]), atol=1e-2)


def test_deep_maxent_vmapped_over_seeds_equals_separate_calls(x64):
    mdp = tiny_mdp(False)
    demos = tiny_demos(mdp, seed=7)
    cfg = TINY["deep"]
    keys = jax.random.split(jax.random.key(42), 3)
    batched = jax.jit(jax.vmap(lambda k: deep_maxent.fit(cfg, k, mdp, demos)))(keys)
    assert batched.reward.shape == (3, S_TINY)
    assert batched.metrics.log_likelihood.shape == (3, cfg.iterations)
    for i in range(3):
        single = deep_maxent.fit_jit(cfg, keys[i], mdp, demos)
        # the likelihood is flat along constant reward shifts, where batching noise can drift a little
        centred = lambda r: np.asarray(r) - np.asarray(r).mean()
        np.testing.assert_allclose(centred(batched.reward[i]), centred(single.reward), atol=1e-5)
        np.testing.assert_allclose(np.asarray(batched.log_policy[i]), np.asarray(single.log_policy), atol=1e-5)
    assert not np.allclose(np.asarray(batched.reward[0]), np.asarray(batched.reward[1]), atol=1e-2)



def test_tabular_algorithms_by_name():
    assert names("tabular") == ["maxent", "mce", "deep-maxent", "max-margin", "projection", "mmp"]
    for name in names("tabular"):
        kind = get_algorithm_kind(name, "tabular")
        algorithm = make_algorithm(name, make_config(name, {"iterations": "7"}))
        assert algorithm.name == name and algorithm.num_steps == 7 and algorithm.config.iterations == 7
        assert algorithm.jittable == (name not in ("max-margin", "projection")) and algorithm.result is not None
        assert kind.curve[0] in algorithm.metrics._fields
    with pytest.raises(IrlaxError, match="mce takes a MCEConfig, not a MaxEntConfig"):
        make_algorithm("mce", maxent.MaxEntConfig())
    with pytest.raises(IrlaxError, match="unknown algorithm 'gail'; choose one of maxent, mce"):
        get_algorithm_kind("gail", "tabular")
    with pytest.raises(IrlaxError, match="has no setting 'nonsense'"):
        make_config("maxent", {"nonsense": "1"})


@pytest.mark.parametrize(("name", "fit"), [("maxent", maxent.fit_jit), ("mce", mce.fit_jit),
                                           ("deep-maxent", deep_maxent.fit_jit)])
def test_a_chunked_driver_run_equals_separate_fits_one_per_seed_key(x64, name, fit):
    mdp = tiny_mdp(False)
    demos = tiny_demos(mdp, seed=8)
    config = TINY["deep" if name == "deep-maxent" else name]
    algorithm = make_algorithm(name, config)
    driver = Driver(algorithm, TabularData(mdp, demos), 3)
    key = jax.random.PRNGKey(5)  # a raw uint32 key: Driver does not take typed keys
    progress = driver.run(driver.start(key), algorithm.num_steps, every=8)  # chunks of 8, 8, 4
    assert progress.done == config.iterations and dict(driver.compiles) == {"init": 1, "update-8": 1, "update-4": 1}
    result = driver.result(progress)
    assert result.reward.shape == (3, S_TINY) and result.metrics.log_likelihood.shape == (3, config.iterations)
    centred = lambda r: np.asarray(r) - np.asarray(r).mean()
    for k, seed_key in enumerate(jax.random.split(key, 3)):
        single = fit(config, seed_key, mdp, demos)
        np.testing.assert_allclose(centred(result.reward[k]), centred(single.reward), atol=1e-5)
        np.testing.assert_allclose(np.asarray(result.log_policy[k]), np.asarray(single.log_policy), atol=1e-5)
        for field in algorithm.metrics._fields:
            np.testing.assert_allclose(progress.metrics[field][k], getattr(single.metrics, field), atol=1e-5)
    if name == "deep-maxent":
        assert not np.allclose(np.asarray(result.reward[0]), np.asarray(result.reward[1]), atol=1e-2)


# ----------------------------------------------------------------------------- bad configurations


@pytest.fixture(scope="module")
def small():
    """A random (non-grid) MDP with state features and valid demonstrations for it."""
    next_states = (np.arange(6)[:, None, None] + np.arange(2)[None, :, None] + np.arange(2)) % 6
    mdp = make_mdp(next_states, np.full((6, 2, 2), 0.5), np.random.default_rng(0).normal(size=(6, 3)),
                   discount=1.0, horizon=4)
    demos = make_trajectories(np.array([[0, 1, 2, 3]]), np.array([[0, 1, 0, 1]]))
    return mdp, demos


@pytest.mark.parametrize(
    "fit, config",
    [
        (mce.fit, MCEConfig(optimizer="rmsprop")),
        (maxent.fit, maxent.MaxEntConfig(optimizer="rmsprop")),
        (deep_maxent.fit, deep_maxent.DeepMaxEntConfig(optimizer="rmsprop")),
    ],
)
def test_unknown_optimizer(small, fit, config):
    mdp, demos = small
    with pytest.raises(IrlaxError, match=r"unknown optimizer 'rmsprop'; choose one of adam, sgd"):
        fit(config, KEY, mdp, demos)


def test_non_positive_learning_rate(small):
    mdp, demos = small
    with pytest.raises(IrlaxError, match=r"learning_rate must be positive, got 0"):
        mce.fit(MCEConfig(learning_rate=0.0), KEY, mdp, demos)


def test_unknown_architecture(small):
    mdp, demos = small
    with pytest.raises(IrlaxError, match=r"unknown architecture 'transformer'; choose one of mlp, conv"):
        deep_maxent.fit(deep_maxent.DeepMaxEntConfig(architecture="transformer"), KEY, mdp, demos)


def test_conv_needs_a_grid_mdp(small, objectworld):
    mdp, demos = small
    with pytest.raises(IrlaxError, match=r"conv reward needs a grid MDP"):
        deep_maxent.fit(DEEP["conv"], KEY, mdp, demos)
    grid = objectworld["continuous"]
    state_action = grid.replace(features=jnp.zeros((grid.num_states, grid.num_actions, 2)))
    with pytest.raises(IrlaxError, match=r"conv reward needs a grid MDP \(grid_shape\) with state features"):
        deep_maxent.fit(DEEP["conv"], KEY, state_action, objectworld["demos"])


def test_demonstrations_longer_than_the_horizon(small):
    mdp, demos = small  # horizon 4, demos of 4 steps
    long = make_trajectories(np.zeros((2, 6), int), np.zeros((2, 6), int))
    for fit, config in ((mce.fit, MCEConfig()), (deep_maxent.fit, deep_maxent.DeepMaxEntConfig())):
        with pytest.raises(IrlaxError, match=r"demonstrations have 6 steps, longer than the horizon 4"):
            fit(config, KEY, mdp, long)
    with pytest.raises(IrlaxError, match=r"longer than the horizon 3"):
        mce.fit(MCEConfig(horizon=3), KEY, mdp, demos)
    with pytest.raises(IrlaxError, match=r"longer than the horizon 2"):
        maxent.fit(maxent.MaxEntConfig(horizon=2), KEY, mdp, demos)


@pytest.mark.parametrize("field", ["states", "actions"])
def test_demonstrations_with_an_index_out_of_range(small, field):
    mdp, demos = small  # 6 states, 2 actions
    bad = np.asarray(getattr(demos, field)).copy()
    bad[0, 2] = 6 if field == "states" else 2
    bad_demos = demos.replace(**{field: jnp.asarray(bad)})
    limit = 6 if field == "states" else 2
    for fit, config in ((mce.fit, MCEConfig()), (maxent.fit, maxent.MaxEntConfig()),
                        (deep_maxent.fit, deep_maxent.DeepMaxEntConfig())):
        with pytest.raises(IrlaxError, match=rf"{field} has index {limit}, but the MDP has only {limit}"):
            fit(config, KEY, mdp, bad_demos)
