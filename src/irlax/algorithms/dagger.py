"""DAgger, dataset aggregation: behavioural cloning on the states the learner visits (Ross, Gordon & Bagnell 2011).

Behavioural cloning trains on the expert's state distribution and then acts on
its own, where small mistakes lead to states the expert never showed: errors
compound, quadratically in the horizon. DAgger asks the expert what it would do
in the states the *learner* reaches (Ross et al. 2011, Algorithm 3.1). Each round
``i``:

1. act for ``rollout_steps`` steps in ``rollout_envs`` environments with the
   mixture ``pi_i = beta_i pi* + (1 - beta_i) pi_hat_i``: at every step, with
   probability ``beta_i`` the expert's action is executed, else the current
   clone's (episodes continue across rounds);
2. label every visited state with the expert's (deterministic) action, one
   expert query each, and append the labelled states to the aggregate dataset;
3. train the clone for ``epochs`` epochs of behavioural cloning
   (:func:`irlax.algorithms.bc.bc_epoch`) on the demonstrations plus the
   aggregate.

The schedule of ``beta`` (:func:`dagger_beta`) is ``imitation``'s default, linear
from ``beta0`` (1) down to 0 over ``beta_rounds`` rounds, or the paper's
``beta_i = beta0 p^i`` (``beta_schedule="exponential"``, ``p = beta_decay``). The
first round (``beta = 1``) rolls out the expert alone, so it is behavioural
cloning on the demonstrations and on as many expert steps again; the later ones
are DAgger proper.

The aggregate is a fixed-capacity buffer (:class:`irlax.learners.replay.ReplayBuffer`)
with a count, so a round is pure JAX: :func:`make_dagger`'s ``update`` is one
``lax.scan`` over rounds, jittable and vmappable over seeds. It holds the last
``buffer_size`` labelled states (the oldest dropped first once full; the
default holds every round's of the default run); the demonstrations are always
part of the training set. In a Gymnasium task (host-stepped) the rollouts step on
the host and the rest of a round runs jitted and vmapped over seeds
(``host_init`` / ``host_update``).

The expert is any policy family with ``act(params, key, obs, deterministic)`` (a
learner of :mod:`irlax.learners`, as an expert directory of ``irlax expert``
holds, a trained :class:`~irlax.algorithms.bc.BCPolicy`, or a user's own), bound
when the algorithm is built; its parameters are data, :class:`DAggerData`, so they
are traced, not folded into the program. The clone is a
:class:`~irlax.algorithms.bc.BCPolicy` (the same network, loss and optimiser as
``irlax bc``; observations standardised with the demonstrations' statistics).
DAgger learns no reward (``reward`` and ``reward_fn`` are ``None``).

Usage::

    expert = irlax.run.experts.load_expert("runs/expert-CartPole-v1")
    algo = make_dagger(DAggerConfig(rounds=10), expert.env, expert.learner)
    data = DAggerData(demos, expert.params)
    state, metrics = algo.update(algo.init(key, data), data, algo.num_steps)
    action, _ = algo.act.act(state.params, key, obs, deterministic=True)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.algorithms import bc
from irlax.algorithms.base import Algorithm
from irlax.algorithms.bc import BCConfig, BCParams, BCPolicy
from irlax.algorithms.sample_irl import check_demos
from irlax.data.demos import Demonstrations
from irlax.errors import IrlaxError
from irlax.learners import host
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add
from irlax.learners.rollout import EnvCarry, EpisodeStats, collect_steps, example_transition, init_envs
from irlax.tasks import Env

DESCRIPTION = "DAgger: behavioural cloning on the learner's states, labelled by the expert (Ross et al. 2011)"

BETA_SCHEDULES = ("linear", "exponential")
"""How ``beta`` (the probability of executing the expert's action) falls over the rounds (:func:`dagger_beta`)."""


@dataclass(frozen=True)
class DAggerConfig(BCConfig):
    """DAgger's configuration: the clone's (:class:`~irlax.algorithms.bc.BCConfig`, ``epochs`` per round) and the
    rounds'. Defaults: ``imitation``'s ``SimpleDAggerTrainer`` (4 epochs a round, beta linear to 0 over the
    rounds)."""

    epochs: int = 4
    """Epochs of behavioural cloning on the demonstrations and the aggregate after each round's rollouts."""
    rounds: int = 10
    """Rounds of (roll out the mixture, label, aggregate, train)."""
    rollout_envs: int = 4
    """Environments the mixture acts in at once."""
    rollout_steps: int = 256
    """Steps of each environment per round: ``rollout_envs * rollout_steps`` expert queries a round."""
    beta_schedule: str = "linear"
    """``"linear"``: ``beta_i = beta0 max(0, 1 - i / beta_rounds)``; ``"exponential"``: ``beta0 beta_decay^i``."""
    beta0: float = field(default=1.0, metadata={"check": "probability"})
    """``beta`` of the first round (1: the first round's rollouts are the expert's)."""
    beta_rounds: int = 5
    """Linear schedule: rounds until ``beta`` reaches 0 (and stays there)."""
    beta_decay: float = field(default=0.5, metadata={"check": "probability"})
    """Exponential schedule: the factor ``p`` of ``beta_i = beta0 p^i`` (Ross et al. 2011, section 3)."""
    learner_deterministic: bool = False
    """The clone acts with its most likely action in the rollouts (default: it samples, as ``imitation``)."""
    buffer_size: int = 10_240
    """Labelled rollout states kept (the oldest are dropped first once full; the demonstrations always stay)."""


CONTINUOUS_EPOCHS = 20
"""Epochs a round of :func:`preset` when actions are continuous: a Gaussian clone fits its labels more slowly than
a categorical one (Pendulum-v1, 5 seeds, 10 demonstrations, 10,240 queries: 0.87 expert-normalised with the default
4 epochs a round, 1.02 with 20; ``benchmarks/control_algorithms.py``)."""


def preset(spec: Any = None) -> DAggerConfig:
    """DAgger's config for a task of spec ``spec`` (an :class:`~irlax.envs.spec.EnvSpec`): the defaults, with
    :data:`CONTINUOUS_EPOCHS` epochs a round when its actions are continuous."""
    if spec is not None and not spec.discrete:
        return DAggerConfig(epochs=CONTINUOUS_EPOCHS)
    return DAggerConfig()


class DAggerData(NamedTuple):
    """What DAgger trains on: the demonstrations and the expert's parameters (of the family bound in
    :func:`make_dagger`), both traced.

    Attributes:
        demos: the expert's demonstrations (their real steps are always part of the training set).
        expert_params: the expert policy's parameters, ``expert.act(expert_params, key, obs, deterministic)``.
    """

    demos: Demonstrations
    expert_params: Any


class Labelled(NamedTuple):
    """One aggregated example: a visited state and the expert's action there.

    Attributes:
        obs: ``[O]`` the observation the mixture acted on.
        action: the expert's deterministic action at ``obs`` (``int32 []`` or ``[D]``).
    """

    obs: Array
    action: Array


class DAggerState(NamedTuple):
    """A DAgger run in progress (leaves gain a leading seed axis under ``vmap``).

    Attributes:
        params: the clone's :class:`~irlax.algorithms.bc.BCParams`.
        opt_state: its Adam state (kept across rounds: the clone is trained on, not restarted).
        aggregate: the labelled rollout states (:class:`Labelled` items; ``size`` of them filled).
        envs: the rollout environments mid-episode.
        key: the PRNG key of the next round.
        rounds: ``int32 []`` rounds done.
        expert_queries: ``float32 []`` states labelled by the expert so far.
        env_steps: ``float32 []`` environment steps so far.
    """

    params: BCParams
    opt_state: optax.OptState
    aggregate: ReplayBuffer
    envs: EnvCarry
    key: Array
    rounds: Array
    expert_queries: Array
    env_steps: Array


class DAggerMetrics(NamedTuple):
    """One round's record (leaves ``[]``; ``[rounds]`` after a scan).

    Attributes:
        beta: the probability of executing the expert's action in the round's rollouts.
        loss: mean BC loss of the round's last epoch.
        nll: mean negative log-likelihood of the expert's actions in that epoch.
        dataset_size: examples trained on: the demonstrations' real steps plus the aggregate.
        expert_queries: states labelled by the expert so far (cumulative).
        env_steps: environment steps so far (cumulative).
        mean_return: mean true return of the rollout episodes (of the mixture) that ended in the round (NaN if
            none).
    """

    beta: Array
    loss: Array
    nll: Array
    dataset_size: Array
    expert_queries: Array
    env_steps: Array
    mean_return: Array


def dagger_beta(config: DAggerConfig, round_index: Array | int) -> Array:
    """``beta_i``, the probability of executing the expert's action in round ``i`` (counted from 0).

    ``"linear"`` (``imitation``'s ``LinearBetaSchedule``): ``beta0 * clip(1 - i / beta_rounds, 0, 1)``, from
    ``beta0`` at round 0 to 0 at round ``beta_rounds``; ``"exponential"`` (Ross et al. 2011):
    ``beta0 * beta_decay ** i``.
    """
    i = jnp.asarray(round_index, jnp.float32)
    if config.beta_schedule == "exponential":
        return jnp.float32(config.beta0) * jnp.float32(config.beta_decay) ** i
    return jnp.float32(config.beta0) * jnp.clip(1.0 - i / config.beta_rounds, 0.0, 1.0)


def bc_part(config: DAggerConfig) -> BCConfig:
    """The clone's :class:`~irlax.algorithms.bc.BCConfig` (the BC fields of ``config``): its policy family is
    ``BCPolicy(bc_part(config), spec)``, the same for every run length."""
    return BCConfig(**{f.name: getattr(config, f.name) for f in dataclasses.fields(BCConfig)})


def check_config(config: DAggerConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    bc.check_config(config)
    if config.beta_schedule not in BETA_SCHEDULES:
        raise IrlaxError(f"DAgger: unknown beta_schedule {config.beta_schedule!r}; choose one of "
                         f"{', '.join(BETA_SCHEDULES)}")
    if config.rollout_envs * config.rollout_steps > config.buffer_size:
        raise IrlaxError(f"DAgger: buffer_size ({config.buffer_size}) must hold one round's states (rollout_envs x "
                         f"rollout_steps = {config.rollout_envs * config.rollout_steps})")


@dataclass(frozen=True)
class MixturePolicy:
    """The rollout policy of a round: the expert's deterministic action with probability ``beta``, else the clone's.

    A policy family (``act(params, key, obs, deterministic)``) whose params are ``(expert_params, clone_params,
    beta)``; ``deterministic`` is ignored (the clone acts as ``learner_deterministic`` says).
    """

    expert: Any
    clone: BCPolicy
    learner_deterministic: bool

    def act(self, params: tuple[Any, BCParams, Array], key: Array, obs: Array,
            deterministic: bool = False) -> tuple[Array, Array]:
        """The executed action for one observation and the clone's log-probability of it (a record only)."""
        del deterministic
        expert_params, clone_params, beta = params
        choose_key, expert_key, clone_key = jax.random.split(key, 3)
        expert_action, _ = self.expert.act(expert_params, expert_key, obs, True)
        clone_action, _ = self.clone.act(clone_params, clone_key, obs, self.learner_deterministic)
        use_expert = jax.random.uniform(choose_key) < beta
        action = jnp.where(use_expert, expert_action.astype(clone_action.dtype), clone_action)
        return action, self.clone.log_prob(clone_params, obs, action)


def expert_labels(expert: Any, expert_params: Any, key: Array, obs: Array) -> Array:
    """The expert's deterministic actions at observations ``obs [M, O]``: the labels of DAgger (``[M, ...]``)."""
    keys = jax.random.split(key, obs.shape[0])
    return jax.vmap(lambda k, o: expert.act(expert_params, k, o, True)[0])(keys, obs)


def aggregate_labels(aggregate: ReplayBuffer, expert: Any, expert_params: Any, key: Array,
                     obs: Array) -> ReplayBuffer:
    """The aggregate with the states ``obs [M, O]`` appended, each labelled with the expert's action."""
    labels = expert_labels(expert, expert_params, key, obs)
    return replay_add(aggregate, Labelled(obs, labels.astype(aggregate.data.action.dtype)))


def training_rows(demos: Demonstrations, aggregate: ReplayBuffer) -> tuple[Array, Array, Array]:
    """The training set of a round as flat rows ``(obs, actions, valid)``: the demonstrations' steps (padding
    invalid) and then the aggregate's slots (the unfilled ones invalid)."""
    obs, actions, valid = bc.flat_steps(demos)
    filled = jnp.arange(aggregate.capacity) < aggregate.size
    return (jnp.concatenate([obs, aggregate.data.obs.astype(obs.dtype)]),
            jnp.concatenate([actions, aggregate.data.action.astype(actions.dtype)]),
            jnp.concatenate([valid, filled]))


def make_dagger(config: DAggerConfig, env: Env, expert: Any = None) -> Algorithm:
    """DAgger with ``config`` in ``env``, labelled by the policy family ``expert``: one step of ``update`` is
    one round (see the module docstring). The expert's parameters come with the data (:class:`DAggerData`).

    Raises:
        IrlaxError: no expert, or a bad setting.
    """
    if expert is None or not callable(getattr(expert, "act", None)):
        raise IrlaxError("DAgger needs an expert: a policy family with act(params, key, obs, deterministic) "
                         "(e.g. the learner of an expert directory) whose parameters come with the data")
    check_config(config)
    spec = env.spec
    clone = BCPolicy(bc_part(config), spec)
    mixture = MixturePolicy(expert, clone, config.learner_deterministic)
    clone_init = bc.make_bc(clone.config, spec).init
    queries_per_round = config.rollout_envs * config.rollout_steps
    action = example_transition(spec).action

    def check(data: DAggerData) -> None:
        if not isinstance(data, DAggerData):
            raise IrlaxError("DAgger trains on DAggerData(demos, expert_params)")
        check_demos(data.demos, spec)
        obs = jnp.zeros((spec.obs_size,), jnp.float32)
        try:
            out = jax.eval_shape(lambda p: expert.act(p, jax.random.PRNGKey(0), obs, True)[0], data.expert_params)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            raise IrlaxError(f"DAgger: the expert's parameters don't fit its policy family ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        if out.shape != action.shape or jnp.issubdtype(out.dtype, jnp.integer) != spec.discrete:
            raise IrlaxError(f"DAgger: the expert's actions (shape {out.shape}, {out.dtype}) are not {spec.name}'s "
                             f"({spec.describe()}): an expert of another task?")

    def start(key: Array, envs: EnvCarry, data: DAggerData) -> DAggerState:
        """A fresh run around fresh rollout environments (pure)."""
        clone_key, key = jax.random.split(key)
        bc_state = clone_init(clone_key, data.demos)
        example = Labelled(jnp.zeros((spec.obs_size,), jnp.float32), action)
        zero = jnp.float32(0)
        return DAggerState(bc_state.params, bc_state.opt_state, init_replay(example, config.buffer_size), envs, key,
                           jnp.int32(0), zero, zero)

    def init(key: Array, data: DAggerData) -> DAggerState:
        check_demos(data.demos, spec)
        env_key, key = jax.random.split(key)
        return start(key, init_envs(env, env_key, config.rollout_envs), data)

    def mixture_params(state: DAggerState, data: DAggerData) -> tuple[Any, BCParams, Array]:
        return data.expert_params, state.params, dagger_beta(config, state.rounds)

    def finish(data: DAggerData, state: DAggerState, envs: EnvCarry, obs: Array, stats: EpisodeStats,
               label_key: Array, train_key: Array, key: Array) -> tuple[DAggerState, DAggerMetrics]:
        """Label the round's visited states ``obs [T, E, O]``, aggregate, train; the new state and metrics (pure)."""
        aggregate = aggregate_labels(state.aggregate, expert, data.expert_params, label_key,
                                     obs.reshape(-1, spec.obs_size))
        rows = training_rows(data.demos, aggregate)
        obs_stats = state.params.obs_stats
        body = lambda carry, k: bc.bc_epoch(clone.config, spec, obs_stats, rows, carry, k)
        (network, opt_state), record = jax.lax.scan(body, (state.params.network, state.opt_state),
                                                    jax.random.split(train_key, config.epochs))
        queries = state.expert_queries + queries_per_round
        env_steps = state.env_steps + queries_per_round
        metrics = DAggerMetrics(
            dagger_beta(config, state.rounds), record.loss[-1], record.nll[-1],
            jnp.sum(rows[2]).astype(jnp.float32), queries, env_steps, stats.mean_return(),
        )
        new_state = DAggerState(BCParams(network, obs_stats), opt_state, aggregate, envs, key, state.rounds + 1,
                                queries, env_steps)
        return new_state, metrics

    def one_round(data: DAggerData, state: DAggerState) -> tuple[DAggerState, DAggerMetrics]:
        key, rollout_key, label_key, train_key = jax.random.split(state.key, 4)
        params = mixture_params(state, data)
        act = lambda k, obs: mixture.act(params, k, obs)
        envs, transitions, stats = collect_steps(env, act, state.envs, rollout_key, config.rollout_steps)
        return finish(data, state, envs, transitions.obs, stats, label_key, train_key, key)

    def update(state: DAggerState, data: DAggerData, num_rounds: int) -> tuple[DAggerState, DAggerMetrics]:
        check_demos(data.demos, spec)
        return jax.lax.scan(lambda s, _: one_round(data, s), state, None, length=num_rounds)

    # host-stepped environments (Gymnasium): the rollouts step on the host, the rest is jitted over seeds
    seeds = host.jit_over_seeds
    host_start = seeds(start, 0, 0, None)
    host_finish = seeds(finish, None, 0, 0, 0, 0, 0, 0, 0)
    split_init = seeds(lambda k: tuple(jax.random.split(k)), 0)
    split_round = seeds(lambda k: tuple(jax.random.split(k, 4)), 0)
    host_mixture = seeds(mixture_params, 0, None)

    def host_init(keys: Array, data: DAggerData) -> DAggerState:
        check_demos(data.demos, spec)
        env_keys, keys = split_init(keys)
        return host_start(keys, host.reset_envs(env, env_keys, config.rollout_envs), data)

    def host_update(state: DAggerState, data: DAggerData, num_rounds: int) -> tuple[DAggerState, DAggerMetrics]:
        check_demos(data.demos, spec)
        records = []
        for _ in range(num_rounds):
            key, rollout_key, label_key, train_key = split_round(state.key)
            envs, transitions, _, stats = host.collect_policy(mixture, env, host_mixture(state, data), state.envs,
                                                              rollout_key, config.rollout_steps)
            state, metrics = host_finish(data, state, envs, transitions.obs, stats, label_key, train_key, key)
            records.append(metrics)
        return state, host.stack_records(records)

    return Algorithm(
        name="dagger", config=config, num_steps=config.rounds, init=init, update=update, metrics=DAggerMetrics,
        policy=lambda state, data: state.params, act=clone, check=check, spec=spec, env=env, expert=expert,
        description=DESCRIPTION, host_init=host_init, host_update=host_update,
    )
