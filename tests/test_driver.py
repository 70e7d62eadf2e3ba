"""The run driver: seeds batched, chunks, each program compiled once, checkpoints that resume exactly."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from irlax import tasks
from irlax.algorithms.bc import BCConfig, make_bc
from irlax.data.demos import from_episodes
from irlax.errors import IrlaxError
from irlax.learners.evaluation import RandomPolicy, policy_episodes_jit
from irlax.learners.registry import make_learner
from irlax.learners.sac import SACConfig
from irlax.run.driver import Driver, flat_metrics, pad_and_stack
from irlax.run.experts import expert_program


def leaf_types(tree):
    return [(x.shape, x.dtype, getattr(x, "weak_type", False)) for x in jax.tree.leaves(tree)]


@pytest.fixture(scope="module")
def pendulum_program():
    """A tiny SAC expert program on Pendulum-v1: the task whose reset state was weakly typed."""
    env = tasks.make_env("Pendulum-v1")
    config = SACConfig(hidden=(8, 8), learning_starts=4, batch_size=8, buffer_size=64)
    return expert_program(make_learner(config, env.spec), env, 12)


def test_expert_program_compiles_once_over_chunks(pendulum_program) -> None:
    driver = Driver(pendulum_program, None, seeds=2)
    start = driver.start(jax.random.PRNGKey(0))
    progress = driver.run(start, pendulum_program.num_steps, every=3)
    assert progress.done == 12
    assert dict(driver.compiles) == {"init": 1, "update-3": 1}
    assert leaf_types(start.state) == leaf_types(progress.state)
    assert progress.metrics["env_steps"].shape == (2, 12)
    np.testing.assert_array_equal(progress.metrics["env_steps"][0], np.arange(1, 13))


def test_interrupted_run_resumes_exactly(pendulum_program, tmp_path) -> None:
    """Stopped after 6 of 12 steps and resumed from the checkpoint, a run ends bit for bit where one run does."""
    whole = Driver(pendulum_program, None, seeds=2)
    one = whole.run(whole.start(jax.random.PRNGKey(1)), 12, every=3)

    chunked = Driver(pendulum_program, None, seeds=2)
    saved = []
    chunked.run(chunked.start(jax.random.PRNGKey(1)), 6, every=3, on_chunk=lambda p: saved.append(p))
    chunked.save(tmp_path / "checkpoint.npz", saved[-1])
    resumed = Driver(pendulum_program, None, seeds=2)  # as in a new process after a crash
    progress = resumed.load(tmp_path / "checkpoint.npz")
    assert progress.done == 6
    progress = resumed.run(progress, 12, every=3)
    for a, b in zip(jax.tree.leaves(one.state), jax.tree.leaves(progress.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    for name, values in one.metrics.items():
        np.testing.assert_array_equal(values, progress.metrics[name])


def test_bad_checkpoints_are_refused(pendulum_program, tmp_path) -> None:
    driver = Driver(pendulum_program, None, seeds=2)
    progress = driver.run(driver.start(jax.random.PRNGKey(2)), 3, every=3)
    driver.save(tmp_path / "c.npz", progress)
    with pytest.raises(IrlaxError):
        Driver(pendulum_program, None, seeds=3).load(tmp_path / "c.npz")  # another number of seeds
    broken = dataclasses.replace(progress, done=7)
    driver.save(tmp_path / "d.npz", broken)
    with pytest.raises(IrlaxError, match="inconsistent"):
        driver.load(tmp_path / "d.npz")
    with pytest.raises(IrlaxError):
        Driver(pendulum_program, None, seeds=0)


def test_bc_epochs_in_chunks_equal_one_run() -> None:
    env = tasks.make_env("CartPole-v1")
    episodes = policy_episodes_jit(RandomPolicy(env.spec), env, None, jax.random.PRNGKey(0), 4)
    demos = from_episodes(episodes, env.spec)
    algo = make_bc(BCConfig(epochs=6, hidden=(8,)), env.spec)
    a = Driver(algo, demos, seeds=2)
    whole = a.run(a.start(jax.random.PRNGKey(3)), 6)
    b = Driver(algo, demos, seeds=2)
    chunked = b.run(b.start(jax.random.PRNGKey(3)), 6, every=3)
    assert dict(b.compiles) == {"init": 1, "update-3": 1}
    np.testing.assert_array_equal(whole.metrics["loss"], chunked.metrics["loss"])
    for x, y in zip(jax.tree.leaves(whole.state.params), jax.tree.leaves(chunked.state.params), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_flat_metrics_prefixes_clashing_names() -> None:
    from typing import NamedTuple

    class Inner(NamedTuple):
        loss: jnp.ndarray
        mean_return: jnp.ndarray

    class Outer(NamedTuple):
        mean_return: jnp.ndarray
        losses: Inner

    flat = flat_metrics(Outer(1, Inner(2, 3)))
    assert flat == {"mean_return": 1, "loss": 2, "losses_mean_return": 3}


def test_pad_and_stack_pads_with_nan() -> None:
    stacked = pad_and_stack([{"m": np.array([1.0, 2.0])}, {"m": np.array([3.0])}])
    np.testing.assert_array_equal(stacked["m"], np.array([[1.0, 2.0], [3.0, np.nan]]))


def test_typed_keys_and_tabular_data_checked_before_tracing() -> None:
    from irlax.algorithms.base import TabularData
    from irlax.algorithms.mce import MCEConfig
    from irlax.algorithms.registry import make_algorithm
    from irlax.data.trajectories import make_trajectories
    from irlax.envs.tabular import from_dense

    transitions = np.full((3, 2, 3), 1.0 / 3.0)
    mdp = from_dense(transitions, np.eye(3, dtype=np.float32), np.full(3, 1.0 / 3.0), discount=0.9)
    algo = make_algorithm("mce", MCEConfig(iterations=2))
    good = make_trajectories(np.array([[0, 1, 2]]), np.array([[0, 1, 0]]))
    driver = Driver(algo, TabularData(mdp, good), seeds=2)
    progress = driver.run(driver.start(jax.random.key(0)), 2)  # a new-style typed key
    assert progress.metrics["log_likelihood"].shape == (2, 2)
    bad = make_trajectories(np.array([[0, 7, 2]]), np.array([[0, 1, 0]]))  # state 7 of a 3-state MDP
    with pytest.raises(IrlaxError, match="7"):
        Driver(algo, TabularData(mdp, bad), seeds=1)


def test_the_command_asks_jax_for_one_cpu_device_per_core_unless_told_otherwise() -> None:
    from irlax.cli import DEVICE_COUNT_FLAG, cpu_device_count, use_cpu_cores

    environ = {"XLA_FLAGS": "--xla_cpu_use_thunk_runtime=true", "IRLAX_CPU_DEVICES": "3"}
    assert use_cpu_cores(environ) == 3 and environ["XLA_FLAGS"].endswith(f"{DEVICE_COUNT_FLAG}=3")
    mine = {"XLA_FLAGS": f"{DEVICE_COUNT_FLAG}=5", "IRLAX_CPU_DEVICES": "3"}
    assert use_cpu_cores(mine) is None and mine["XLA_FLAGS"] == f"{DEVICE_COUNT_FLAG}=5"   # the user's stands
    one = {"IRLAX_CPU_DEVICES": "1"}
    assert use_cpu_cores(one) is None and "XLA_FLAGS" not in one
    assert cpu_device_count({"IRLAX_CPU_DEVICES": "many"}) == cpu_device_count({}) >= 1


SHARDED_RUN = """
import sys
import irlax.cli  # sets XLA_FLAGS from IRLAX_CPU_DEVICES before JAX starts
import jax, numpy as np
from irlax import tasks
from irlax.algorithms.bc import BCConfig, make_bc
from irlax.data.demos import from_episodes
from irlax.learners.evaluation import RandomPolicy, policy_episodes_jit
from irlax.run.driver import Driver
env = tasks.make_env("CartPole-v1")
demos = from_episodes(policy_episodes_jit(RandomPolicy(env.spec), env, None, jax.random.PRNGKey(5), 2), env.spec)
program = make_bc(BCConfig(hidden=(8,), epochs=8, batch_size=8), env.spec)
for seeds in map(int, sys.argv[1:]):
    driver = Driver(program, demos, seeds=seeds)
    progress = driver.run(driver.start(jax.random.PRNGKey(0)), 8, every=4)
    # the same seeds in one vmap on the default device, in the same chunks
    state = jax.jit(jax.vmap(lambda k: program.init(k, demos)))(driver.keys(jax.random.PRNGKey(0)))
    update = jax.jit(jax.vmap(lambda s: program.update(s, demos, 4)[0]))
    plain = update(update(state))
    assert jax.tree.leaves(plain)[0].sharding.device_set == {jax.devices()[0]}
    for a, b in zip(jax.tree.leaves(progress.state), jax.tree.leaves(plain), strict=True):
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert not all(np.allclose(x[0], x[1]) for x in jax.tree.leaves(progress.state.params))  # the seeds differ
    assert progress.metrics["loss"].shape[0] == seeds
    print(seeds, len(jax.devices()), len(jax.tree.leaves(progress.state)[0].sharding.device_set))
"""


def test_seeds_split_over_cpu_devices_and_end_where_one_device_ends() -> None:
    """4 seeds of behavioural cloning through the driver on 2 CPU devices (2 seeds each), and 3 (padded to 4, the
    copy dropped again), end where one vmap on one device ends (BC: a cheap program whose every parameter its loss
    decides, so the comparison is tight)."""
    import os
    import subprocess
    import sys

    from conftest import CHEAP_COMPILE

    env = {**os.environ, "IRLAX_CPU_DEVICES": "2", "XLA_FLAGS": CHEAP_COMPILE}  # irlax.cli adds the device count
    done = subprocess.run([sys.executable, "-c", SHARDED_RUN, "4", "3"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # the seeds, the devices, and those holding the seeds' state
    assert done.stdout.split() == ["4", "2", "2", "3", "2", "2"]


def test_padding_repeats_the_first_seeds_and_drops_them_again() -> None:
    """The padded function sees the first seeds repeated at the end; its result keeps only the real seeds."""
    from irlax.run.driver import over_padded_seeds, padded_seeds

    assert [padded_seeds(s, 2) for s in (1, 2, 3, 5, 8)] == [2, 2, 4, 6, 8] and padded_seeds(3, 8) == 8
    seen = []

    def fn(batched, data):
        seen.append(batched["x"])
        return {"y": batched["x"] * data, "z": batched["x"][:, None]}

    mesh = jax.sharding.Mesh(np.asarray(jax.local_devices()[:1]), ("seeds",))
    per_seed = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds"))
    out = over_padded_seeds(fn, 3, 8, per_seed)({"x": jnp.arange(1.0, 4.0)}, 2.0)
    np.testing.assert_array_equal(seen[0], [1, 2, 3, 1, 2, 3, 1, 2])
    np.testing.assert_array_equal(out["y"], [2, 4, 6])
    assert out["z"].shape == (3, 1)


def test_importing_irlax_leaves_jax_unstarted() -> None:
    """``import irlax`` (which ``irlax.cli`` runs first) must not start JAX's backend, or the command's device
    count would come too late (the split over the cores silently off)."""
    import subprocess
    import sys

    probe = "import irlax; from jax._src import xla_bridge; print(bool(xla_bridge._backends))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False", "a module imported by irlax/__init__.py starts JAX's backend on import"


def test_leaves_read_follows_the_program_back_from_its_outputs():
    """``assess.leaves_read`` marks the leaves an output can depend on: not one only used for a dropped result,
    nor one never used; one used through a ``lax.cond``, as its predicate or operand, counts."""
    from irlax.run.assess import leaves_read

    tree = {"a": jnp.ones(3), "b": jnp.ones(()), "c": jnp.ones(2), "d": jnp.ones(4), "e": jnp.ones(()),
            "f": jnp.ones(())}

    def fn(t):
        _dropped = jnp.sin(t["d"]).sum() * t["b"]  # computed, never returned
        chosen = jax.lax.cond(t["e"] > 0, lambda x: x, lambda x: -x, t["f"])
        return jnp.tanh(t["a"]) * t["b"], t["e"] * 0 + chosen

    names = sorted(tree)  # a dict's leaves come in key order
    assert dict(zip(names, leaves_read(fn, tree), strict=True)) == {
        "a": True, "b": True, "c": False, "d": False, "e": True, "f": True}
    assert leaves_read(lambda t: t["c"], tree) == [False, False, True, False, False, False]
