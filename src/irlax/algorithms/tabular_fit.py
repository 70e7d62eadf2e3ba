"""The shared gradient-ascent loop of the likelihood-based tabular IRL algorithms.

MaxEnt (Ziebart 2008), MCE (Ziebart 2010) and Deep MaxEnt (Wulfmeier 2016) IRL
all maximise a demonstration log-likelihood whose gradient with respect to the
reward table ``r[S, A]`` is "expert visit counts minus expected visit counts".
They differ only in the objective (which planner, which forward pass) and in the
reward model; this module runs any such objective with any
:class:`~irlax.rewards.base.RewardModel`, pulling the table gradient back
through the model with ``jax.vjp`` (the chain rule of Wulfmeier et al., eq. 11).

The whole run is one ``lax.scan``: it can be ``jax.jit``-ed and ``jax.vmap``-ed
over seeds.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.algorithms.base import Algorithm, TabularData
from irlax.data.trajectories import Trajectories
from irlax.envs.tabular import TabularMDP
from irlax.errors import IrlaxError
from irlax.rewards.base import FROZEN, Params, RewardModel
from irlax.settings import check_fields

OPTIMIZERS = ("adam", "sgd")

# objective(reward [S] or [S, A]) -> (log_likelihood, d log_likelihood / d r [S, A], log_policy)
Objective = Callable[[Array], tuple[Array, Array, Array]]


class IterationMetrics(NamedTuple):
    """Per-iteration metrics, each ``[iterations]`` (``[seeds, iterations]`` when vmapped).

    Attributes:
        log_likelihood: the objective, per demonstration.
        feature_gap: ``||mu_E - mu_pi||`` over the demonstrations' horizon.
        grad_norm: global norm of the gradient with respect to the reward params.
    """

    log_likelihood: Array
    feature_gap: Array
    grad_norm: Array


class TabularIRLResult(NamedTuple):
    """The outcome of a tabular IRL run.

    Attributes:
        params: the learned reward model's parameters.
        reward: ``[S]`` or ``[S, A]`` learned reward table.
        log_policy: the model's policy for the learned reward (``[S, A]`` or ``[H, S, A]``).
        metrics: :class:`IterationMetrics`.
    """

    params: Params
    reward: Array
    log_policy: Array
    metrics: IterationMetrics


@dataclass(frozen=True)
class GradientConfig:
    """The gradient-ascent settings every likelihood-based tabular algorithm's config starts with."""

    iterations: int = 200
    """Number of gradient steps."""
    learning_rate: float = 0.1
    """Step size of the optimiser."""
    optimizer: str = "adam"
    """``adam`` or ``sgd``."""
    l2: float = 0.0
    """L2 weight decay on the reward parameters."""

    def __post_init__(self) -> None:
        check_fields(self)


def optimizer_for(config: GradientConfig) -> optax.GradientTransformation:
    """The optax optimiser a config asks for (see :func:`make_optimizer`)."""
    return make_optimizer(config.optimizer, config.learning_rate, config.l2)


def make_optimizer(name: str, learning_rate: float, l2: float) -> optax.GradientTransformation:
    """An optax optimiser by name (``adam`` or ``sgd``), with L2 weight decay ``l2``."""
    if name not in OPTIMIZERS:
        raise IrlaxError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not learning_rate > 0:
        raise IrlaxError(f"learning_rate must be positive, got {learning_rate}")
    base = optax.adam(learning_rate) if name == "adam" else optax.sgd(learning_rate)
    return optax.chain(optax.add_decayed_weights(l2), base) if l2 > 0 else base


def freeze_frozen_subtree(optimizer: optax.GradientTransformation, params: Params) -> optax.GradientTransformation:
    """``optimizer`` for every leaf except those under the params' ``FROZEN`` key, which stay fixed."""
    if not (isinstance(params, dict) and FROZEN in params):
        return optimizer
    labels = {k: jax.tree.map(lambda _, k=k: "frozen" if k == FROZEN else "train", v) for k, v in params.items()}
    return optax.multi_transform({"train": optimizer, "frozen": optax.set_to_zero()}, labels)


def table_gradient_for(reward: Array, grad_sa: Array) -> Array:
    """Reduce a ``[S, A]`` reward-table gradient to the reward's own shape (sum over actions for ``[S]``)."""
    return grad_sa.sum(axis=-1) if reward.ndim == 1 else grad_sa


class Problem(NamedTuple):
    """Everything a likelihood-based tabular IRL run needs besides its state.

    Attributes:
        objective: reward -> (log-likelihood, its gradient ``[S, A]``, log-policy).
        reward_model: the (init, apply) pair.
        features: ``[S, F]`` or ``[S, A, F]``.
        optimizer: an optax optimiser (it minimises the negative log-likelihood).
        feature_gap: log-policy -> scalar gap metric, or ``None`` (zeros).
    """

    objective: Objective
    reward_model: RewardModel
    features: Array
    optimizer: optax.GradientTransformation
    feature_gap: Callable[[Array], Array] | None = None


class FitState(NamedTuple):
    """The state of a run between gradient steps: reward params and optimiser state."""

    params: Params
    opt_state: optax.OptState


def _optimizer(problem: Problem, params: Params) -> optax.GradientTransformation:
    return freeze_frozen_subtree(problem.optimizer, params)


def init_fit(problem: Problem, key: Array) -> FitState:
    """Initial reward params (from ``key``) and optimiser state."""
    params = problem.reward_model.init(key, problem.features)
    return FitState(params, _optimizer(problem, params).init(params))


def gradient_step(problem: Problem, state: FitState) -> tuple[FitState, IterationMetrics]:
    """One ascent step on the log-likelihood; the table gradient is pulled back through the model."""
    model, features = problem.reward_model, problem.features
    reward, pullback = jax.vjp(lambda p: model.apply(p, features), state.params)
    log_likelihood, grad_sa, log_policy = problem.objective(reward)
    (grad_params,) = pullback(-table_gradient_for(reward, grad_sa))
    updates, opt_state = _optimizer(problem, state.params).update(grad_params, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    gap = jnp.zeros(()) if problem.feature_gap is None else problem.feature_gap(log_policy)
    return FitState(params, opt_state), IterationMetrics(log_likelihood, gap, optax.tree.norm(grad_params))


def run_fit(problem: Problem, state: FitState, iterations: int) -> tuple[FitState, IterationMetrics]:
    """``iterations`` gradient steps in one ``lax.scan``; metrics ``[iterations]``."""
    return jax.lax.scan(lambda s, _: gradient_step(problem, s), state, None, length=iterations)


def finish_fit(problem: Problem, state: FitState, metrics: IterationMetrics) -> TabularIRLResult:
    """The result of a run: learned reward table and the model's policy for it."""
    reward = problem.reward_model.apply(state.params, problem.features)
    _, _, log_policy = problem.objective(reward)
    return TabularIRLResult(state.params, reward, log_policy, metrics)


def fit_problem(problem: Problem, key: Array, iterations: int) -> TabularIRLResult:
    """A whole run: :func:`init_fit`, :func:`run_fit` for ``iterations`` steps, :func:`finish_fit`."""
    state, metrics = run_fit(problem, init_fit(problem, key), iterations)
    return finish_fit(problem, state, metrics)


def fit_reward(
    objective: Objective,
    reward_model: RewardModel,
    features: Array,
    optimizer: optax.GradientTransformation,
    iterations: int,
    key: Array,
    feature_gap: Callable[[Array], Array] | None = None,
) -> TabularIRLResult:
    """Maximise ``objective`` over the parameters of ``reward_model`` by gradient ascent.

    The same as ``fit_problem(Problem(objective, reward_model, features, optimizer, feature_gap), key, iterations)``.
    """
    return fit_problem(Problem(objective, reward_model, features, optimizer, feature_gap), key, iterations)


def is_concrete(*arrays: Array) -> bool:
    """Whether all arrays hold values (not tracers inside jit/vmap), so they can be validated."""
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(arrays))


def check_demos_for(mdp: TabularMDP, demos: Trajectories, horizon: int | None) -> None:
    """Raise :class:`IrlaxError` if ``demos`` don't fit ``mdp`` or are longer than ``horizon``.

    Skipped for traced values (inside ``jit``/``vmap``), where the caller validated earlier.
    """
    from irlax.data.trajectories import check_trajectories_fit

    if horizon is not None and demos.max_length > horizon:
        raise IrlaxError(f"demonstrations have {demos.max_length} steps, longer than the horizon {horizon}")
    if is_concrete(mdp.next_states, demos.states):
        check_trajectories_fit(demos, mdp.num_states, mdp.num_actions)


def validated_jit(fit: Callable[..., TabularIRLResult]) -> Callable[..., TabularIRLResult]:
    """``jax.jit(fit)`` (config and reward model static) that first validates the demonstrations.

    Inside ``jit`` the indices are traced and can't be checked; this wrapper checks
    them against the MDP on the way in, so out-of-range states raise :class:`IrlaxError`.
    """
    compiled = jax.jit(fit, static_argnums=(0, 4))

    @functools.wraps(fit)
    def fit_jit(config, key: Array, mdp: TabularMDP, demos: Trajectories, reward_model=None) -> TabularIRLResult:
        check_demos_for(mdp, demos, None)
        return compiled(config, key, mdp, demos, reward_model)

    return fit_jit


def make_gradient_algorithm(
    name: str,
    config: GradientConfig,
    build: Callable[..., Problem],
    description: str,
    reward_model: RewardModel | None = None,
) -> Algorithm:
    """A likelihood-based (or MMP's hinge) tabular algorithm as an :class:`~irlax.algorithms.base.Algorithm`.

    ``build(config, mdp, demos, reward_model) -> Problem`` is the algorithm's problem builder; its data is
    :class:`~irlax.algorithms.base.TabularData`. ``update`` is :func:`run_fit`, ``result`` :func:`finish_fit`
    (a :class:`TabularIRLResult`), the policy the model's policy for the learned reward.
    """

    def problem(data: TabularData) -> Problem:
        return build(config, data.mdp, data.demos, reward_model)

    def reward(state: FitState, data: TabularData) -> Array:
        built = problem(data)
        return built.reward_model.apply(state.params, built.features)

    def policy(state: FitState, data: TabularData) -> Array:
        return problem(data).objective(reward(state, data))[2]

    return Algorithm(
        name=name, config=config, num_steps=config.iterations,
        init=lambda key, data: init_fit(problem(data), key),
        update=lambda state, data, n: run_fit(problem(data), state, n),
        metrics=IterationMetrics, policy=policy, reward=reward,
        result=lambda state, data, metrics: finish_fit(problem(data), state, metrics),
        check=lambda data: check_demos_for(data.mdp, data.demos, None), reward_model=reward_model,
        description=description,
    )
