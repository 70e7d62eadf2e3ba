"""Behavioural cloning: maximum likelihood of the demonstrated actions (Pomerleau 1991; Bain & Sammut 1995).

"Copy the actions": fit a policy network ``pi_theta(a | s)`` to the expert's
state-action pairs by minimising

    L(theta) = -E_(s,a)~D[log pi_theta(a | s)] - c_H E_s[H(pi_theta(.|s))] + c_2 ||theta||^2

with Adam over shuffled minibatches, one epoch being one pass over the real
(masked) steps of the demonstrations. The policy is categorical over logits for
discrete tasks and, for continuous ones, a Gaussian with a state-dependent
diagonal covariance: squashed by ``tanh`` into the action bounds (``distribution="tanh_gaussian"``, SAC's
policy class, the default), unsquashed (``"gaussian"``, PPO's), or clipped into the bounds
(``"clipped_gaussian"``, what the environment makes of PPO's: the likelihood of a demonstrated action on a
bound is the Gaussian's tail beyond it, where a tanh-Gaussian's density diverges, so that an expert that
saturates its actions, as PPO experts do on MuJoCo, does not swamp the fit with its steps on the bounds).
The command line picks the class from the demonstrations (:func:`demonstrated_distribution`).
Observations are standardised with the demonstrations'
mean and variance. It uses neither rewards nor the environment: the baseline
every IRL method should beat off the expert's state distribution (Ross et al. 2011).

:func:`make_bc` builds the :class:`~irlax.algorithms.base.Algorithm` (``update`` runs
epochs; pure, jittable, vmappable over seeds); :func:`fit` is a whole run. The clone
acts through :class:`BCPolicy`, a policy family like the learners, so
``irlax.learners.evaluation.evaluate_policy(BCPolicy(config, spec), env, params, ...)``
evaluates it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from irlax.algorithms.base import Algorithm
from irlax.data.demos import Demonstrations
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.nn import distributions as dist
from irlax.nn.networks import MLP, ObsStats, normalize_obs
from irlax.settings import check_fields

DESCRIPTION = "behavioural cloning: maximum likelihood of the demonstrated actions"

DISTRIBUTIONS = ("tanh_gaussian", "gaussian", "clipped_gaussian")
"""Policy classes for continuous actions (discrete actions are always categorical)."""


@dataclass(frozen=True)
class BCConfig:
    """Configuration of behavioural cloning (defaults close to the ``imitation`` library's ``BC``)."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the policy MLP."""
    activation: str = "tanh"
    """Hidden activation, a key of :data:`irlax.nn.networks.ACTIVATIONS`."""
    distribution: str = "tanh_gaussian"
    """Continuous policy class: ``"tanh_gaussian"`` (bounded, SAC's), ``"gaussian"`` (PPO's) or
    ``"clipped_gaussian"`` (a Gaussian clipped into the bounds, its likelihood censored there)."""
    learning_rate: float = 1e-3
    """Adam step size."""
    epochs: int = 100
    """Passes over the demonstrations' real steps (100 clone a Pendulum-v1 SAC expert from 20 episodes)."""
    batch_size: int = 64
    """Transitions per Adam step (the last minibatch of an epoch may be smaller)."""
    ent_coef: float = 1e-3
    """Weight of the entropy bonus (for tanh-Gaussians, the entropy of the Gaussian before squashing)."""
    l2: float = 0.0
    """Weight of the squared L2 norm of the network's parameters."""
    normalize_obs: bool = True
    """Standardise observations with the demonstrations' mean and variance."""
    log_std_min: float = -5.0
    """Lower clip of a continuous policy's log standard deviation."""
    log_std_max: float = 2.0
    """Upper clip of a continuous policy's log standard deviation."""

    def __post_init__(self) -> None:
        check_fields(self)


class BCParams(NamedTuple):
    """The cloned policy: network parameters and the observation statistics it standardises with."""

    network: Any
    obs_stats: ObsStats


class BCState(NamedTuple):
    """A cloning in progress.

    Attributes:
        params: the policy's :class:`BCParams`.
        opt_state: Adam's state.
        key: the run's key for epoch orders (epoch ``e`` shuffles with ``split(key, epochs)[e]``).
        epochs: ``int32 []`` epochs done.
    """

    params: BCParams
    opt_state: optax.OptState
    key: Array
    epochs: Array


class BCMetrics(NamedTuple):
    """One epoch's record.

    Attributes:
        loss: mean training loss over the epoch.
        nll: mean negative log-likelihood of the demonstrated actions in the epoch.
    """

    loss: Array
    nll: Array


class BCResult(NamedTuple):
    """What :func:`fit` returns.

    Attributes:
        params: the cloned policy's :class:`BCParams`.
        loss: ``[epochs]`` mean training loss of each epoch.
        nll: ``[epochs]`` mean negative log-likelihood of the demonstrated actions in each epoch.
    """

    params: BCParams
    loss: Array
    nll: Array


def check_config(config: BCConfig) -> None:
    """Raise :class:`IrlaxError` if ``config`` is inconsistent."""
    if config.distribution not in DISTRIBUTIONS:
        raise IrlaxError(f"BC: unknown distribution {config.distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}")
    if config.epochs < 1 or config.batch_size < 1:
        raise IrlaxError("BC: epochs and batch_size must be at least 1")
    if config.log_std_min > config.log_std_max:
        raise IrlaxError("BC: log_std_min must not exceed log_std_max")


def _network(config: BCConfig, spec: EnvSpec) -> MLP:
    outputs = spec.action_size if spec.discrete else 2 * spec.action_size
    return MLP(config.hidden, outputs, config.activation, out_scale=0.01)


def _head(config: BCConfig, spec: EnvSpec, params: BCParams, obs: Array) -> tuple[Array, Array]:
    """``(logits [A], unused)`` or ``(mean [D], log_std [D])`` for one observation ``obs [O]``."""
    x = normalize_obs(params.obs_stats, obs) if config.normalize_obs else obs
    out = _network(config, spec).apply(params.network, x)
    if spec.discrete:
        return out, jnp.zeros((0,), out.dtype)
    mean, log_std = jnp.split(out, 2)
    return mean, jnp.clip(log_std, config.log_std_min, config.log_std_max)


ON_BOUND_FRACTION = 0.01
"""Share of demonstrated action components on a bound from which :func:`demonstrated_distribution` takes the
demonstrator for a clipped Gaussian."""


def demonstrated_distribution(demos: Demonstrations, spec: EnvSpec) -> str:
    """The continuous policy class the demonstrations call for: ``"clipped_gaussian"`` when at least
    :data:`ON_BOUND_FRACTION` of their real action components lie exactly on a bound, else ``"tanh_gaussian"``.

    A tanh-squashed policy (SAC's) never reaches a bound, while a Gaussian clipped by the environment (PPO's)
    lands on one with the probability of the tail beyond it: the demonstrations of irlax's PPO experts on
    MuJoCo put 3-80% of each Hopper-v5 action dimension on a bound, its SAC experts' none. A tanh-Gaussian's
    density diverges at a bound, so a clone of the first is dominated by its steps on the bounds and fits the
    rest poorly (BC on Hopper-v5, 256 x 256 x 256, 200 epochs: 0.15 normalised over 3 seeds, the clipped clone
    0.81 over 6); a clipped clone of the second fits slightly worse than a tanh one (HalfCheetah-v5: 0.96
    against 0.99, 3 seeds). Discrete tasks and tasks without bounds: ``"tanh_gaussian"`` (the default; unused
    there).
    """
    if spec.discrete or not spec.action_low:
        return "tanh_gaussian"
    actions = np.asarray(demos.actions)[np.asarray(demos.mask, bool)]
    low, high = np.asarray(spec.action_low), np.asarray(spec.action_high)
    on_bound = (actions <= low) | (actions >= high)
    share = float(on_bound.mean()) if on_bound.size else 0.0
    return "clipped_gaussian" if share >= ON_BOUND_FRACTION else "tanh_gaussian"


def with_demonstrated_distribution(config: BCConfig, demos: Demonstrations, spec: EnvSpec,
                                   overrides: dict[str, Any]) -> BCConfig:
    """``config`` (BC's or DAgger's) with the policy class :func:`demonstrated_distribution` picks, unless
    ``overrides`` (the user's settings) name one."""
    if "distribution" in overrides:
        return config
    return dataclasses.replace(config, distribution=demonstrated_distribution(demos, spec))


def _bounds(spec: EnvSpec) -> tuple[Array, Array]:
    return jnp.asarray(spec.action_low, jnp.float32), jnp.asarray(spec.action_high, jnp.float32)


def log_prob(config: BCConfig, spec: EnvSpec, params: BCParams, obs: Array, action: Array) -> Array:
    """``log pi(action | obs)`` of the cloned policy for one observation ``obs [O]`` (a scalar)."""
    a, b = _head(config, spec, params, obs)
    if spec.discrete:
        return dist.categorical_log_prob(a, action)
    if config.distribution == "gaussian":
        return dist.gaussian_log_prob(a, b, action)
    if config.distribution == "clipped_gaussian":
        return dist.clipped_gaussian_log_prob(a, b, action, *_bounds(spec))
    return dist.tanh_gaussian_log_prob(a, b, action, *_bounds(spec))


def entropy(config: BCConfig, spec: EnvSpec, params: BCParams, obs: Array) -> Array:
    """Entropy of the policy at ``obs [O]`` (of the Gaussian before squashing or clipping)."""
    a, b = _head(config, spec, params, obs)
    return dist.categorical_entropy(a) if spec.discrete else dist.gaussian_entropy(b)


def act(
    config: BCConfig, spec: EnvSpec, params: BCParams, key: Array, obs: Array, deterministic: bool = False
) -> tuple[Array, Array]:
    """An action for one observation ``obs [O]`` and its log-probability (the learners' ``act`` signature).

    ``deterministic`` takes the most likely action (the mean, squashed for tanh-Gaussians, clipped for clipped ones).
    """
    a, b = _head(config, spec, params, obs)
    if spec.discrete:
        action = jnp.argmax(a).astype(jnp.int32) if deterministic else dist.categorical_sample(key, a)
        return action, dist.categorical_log_prob(a, action)
    low, high = _bounds(spec)
    if config.distribution == "gaussian":
        action = a if deterministic else dist.gaussian_sample(key, a, b)
        return action, dist.gaussian_log_prob(a, b, action)
    if config.distribution == "clipped_gaussian":
        action = jnp.clip(a if deterministic else dist.gaussian_sample(key, a, b), low, high)
        return action, dist.clipped_gaussian_log_prob(a, b, action, low, high)
    if deterministic:
        action = dist.tanh_gaussian_mode(a, low, high)
        return action, dist.tanh_gaussian_log_prob(a, b, action, low, high)
    return dist.tanh_gaussian_sample(key, a, b, low, high)


def bc_loss(
    network: Any, config: BCConfig, spec: EnvSpec, obs_stats: ObsStats, obs: Array, actions: Array, weights: Array
) -> tuple[Array, Array]:
    """The BC loss of one minibatch: ``(loss [], nll [])``, means weighted by ``weights [B]`` (0 on padding).

    Args:
        network: the network's parameters (differentiated).
        obs: ``[B, O]`` raw observations; ``actions``: ``[B]`` or ``[B, D]``.
    """
    params = BCParams(network, obs_stats)
    log_probs = jax.vmap(lambda o, a: log_prob(config, spec, params, o, a))(obs, actions)
    entropies = jax.vmap(lambda o: entropy(config, spec, params, o))(obs)
    total = jnp.maximum(jnp.sum(weights), 1.0)
    nll = -jnp.sum(weights * log_probs) / total
    loss = nll - config.ent_coef * jnp.sum(weights * entropies) / total
    if config.l2:
        loss = loss + config.l2 * sum(jnp.sum(x**2) for x in jax.tree.leaves(network))
    return loss, nll


def demo_obs_stats(demos: Demonstrations) -> ObsStats:
    """Mean and variance of the demonstrations' observations over their real steps."""
    w = demos.mask.astype(jnp.float32)[..., None]
    count = jnp.sum(w)
    mean = jnp.sum(w * demos.obs, axis=(0, 1)) / count
    var = jnp.sum(w * (demos.obs - mean) ** 2, axis=(0, 1)) / count
    return ObsStats(mean, var, count)


def demo_check(spec: EnvSpec, demos: Demonstrations) -> None:
    """One-line :class:`IrlaxError` when the demonstrations don't fit the task ``spec``."""
    if (demos.obs_size, demos.discrete, demos.action_size) != (spec.obs_size, spec.discrete, spec.action_size):
        raise IrlaxError(f"BC: demonstrations from {demos.env_name} do not fit {spec.name}")


@dataclass(frozen=True)
class BCPolicy:
    """The cloned policy family of ``config`` in the task ``spec`` (a policy for :mod:`irlax.learners.evaluation`)."""

    config: BCConfig
    spec: EnvSpec

    def act(self, params: BCParams, key: Array, obs: Array, deterministic: bool = False) -> tuple[Array, Array]:
        """:func:`act` with the config and task bound."""
        return act(self.config, self.spec, params, key, obs, deterministic)

    def log_prob(self, params: BCParams, obs: Array, action: Array) -> Array:
        """:func:`log_prob` with the config and task bound."""
        return log_prob(self.config, self.spec, params, obs, action)


def epochs_for_steps(steps: int, demos: Demonstrations, batch_size: int) -> int:
    """The fewest whole epochs over the real steps of ``demos`` that take at least ``steps`` Adam steps of
    ``batch_size`` transitions (an epoch takes ``ceil(real steps / batch_size)``).

    A run's length in Adam steps rather than passes over the data, as the ``imitation`` library's ``BC.train``
    takes it (``n_batches``): the same count of epochs is ten times fewer steps on one demonstration than on ten
    (BC on Hopper-v5, 256 x 256 x 256, minibatches of 256: 200 epochs of 1 demonstration, 800 steps, cloned to
    0.37 normalised; 2,000 epochs, about as many steps as 200 of 10 demonstrations, to 0.80;
    ``benchmarks/mujoco_irl.py``).
    The count is whole epochs, so every real step is visited equally often; set ``BCConfig.epochs`` to it.

    Raises:
        IrlaxError: ``steps`` or ``batch_size`` below 1, or demonstrations without a real step.
    """
    if steps < 1 or batch_size < 1:
        raise IrlaxError("BC: the Adam steps and batch_size must be at least 1")
    real = int(demos.lengths().sum())
    if real < 1:
        raise IrlaxError("BC: the demonstrations have no real step to clone")
    per_epoch = -(-real // batch_size)
    return -(-steps // per_epoch)


def bc_optimizer(config: BCConfig) -> optax.GradientTransformation:
    """The optimiser of the policy network: Adam with ``config.learning_rate``."""
    return optax.adam(config.learning_rate)


def flat_steps(demos: Demonstrations) -> tuple[Array, Array, Array]:
    """The demonstrations' steps as flat rows: ``(obs [N T, O], actions [N T, ...], valid [N T])`` (padding kept,
    marked invalid), the dataset :func:`bc_epoch` takes."""
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    return flat(demos.obs), flat(demos.actions), flat(demos.mask)


def bc_epoch(
    config: BCConfig, spec: EnvSpec, obs_stats: ObsStats, rows: tuple[Array, Array, Array],
    carry: tuple[Any, optax.OptState], epoch_key: Array,
) -> tuple[tuple[Any, optax.OptState], BCMetrics]:
    """One epoch of minibatch Adam on :func:`bc_loss` over the valid rows of a flat dataset; pure and jittable.

    Every valid row is visited once in a random order (``epoch_key``); invalid rows (padding) are sorted behind
    them and never used, so a fixed-size dataset with a mask (demonstrations, or DAgger's aggregate) needs no
    recompilation as it fills.

    Args:
        obs_stats: the observation statistics the policy standardises with.
        rows: ``(obs [R, O], actions [R, ...], valid [R])``, at least one row valid.
        carry: the network's parameters and Adam's state.

    Returns:
        the new carry and the epoch's mean loss and NLL.
    """
    obs, actions, valid = rows
    optimizer = bc_optimizer(config)
    grad_fn = jax.value_and_grad(bc_loss, has_aux=True)
    size = config.batch_size
    num_rows = valid.shape[0]
    num_valid = jnp.sum(valid)
    num_batches = (num_valid + size - 1) // size
    padded_rows = -(-num_rows // size) * size  # room for a whole last minibatch
    # real steps first, in a random order; the padding behind them
    order = jnp.argsort(jnp.where(valid, jax.random.uniform(epoch_key, (num_rows,)), 2.0))
    order = jnp.concatenate([order, jnp.zeros((padded_rows - num_rows,), order.dtype)])
    position = jnp.arange(padded_rows)

    def step(i: Array, inner: tuple) -> tuple:
        network, opt_state, loss_sum, nll_sum = inner
        idx = jax.lax.dynamic_slice(order, (i * size,), (size,))
        weights = (jax.lax.dynamic_slice(position, (i * size,), (size,)) < num_valid).astype(jnp.float32)
        (loss, nll), grads = grad_fn(network, config, spec, obs_stats, obs[idx], actions[idx], weights)
        updates, opt_state = optimizer.update(grads, opt_state, network)
        n = jnp.sum(weights)
        return optax.apply_updates(network, updates), opt_state, loss_sum + loss * n, nll_sum + nll * n

    network, opt_state = carry
    network, opt_state, loss_sum, nll_sum = jax.lax.fori_loop(
        0, num_batches, step, (network, opt_state, jnp.float32(0.0), jnp.float32(0.0))
    )
    return (network, opt_state), BCMetrics(loss_sum / num_valid, nll_sum / num_valid)


def make_bc(config: BCConfig, spec: EnvSpec) -> Algorithm:
    """Behavioural cloning with ``config`` for the task ``spec``: one step of ``update`` is one epoch
    (:func:`bc_epoch` over the demonstrations' real steps).

    Epoch ``e`` of a run shuffles with ``split(key, config.epochs)[e]``, so a run split into chunks of epochs
    ends where one call would.

    Raises:
        IrlaxError: a bad setting.
    """
    check_config(config)
    network_def = _network(config, spec)
    optimizer = bc_optimizer(config)

    def init(key: Array, demos: Demonstrations) -> BCState:
        demo_check(spec, demos)
        init_key, key = jax.random.split(key)
        network = network_def.init(init_key, jnp.zeros((spec.obs_size,), jnp.float32))
        params = BCParams(network, demo_obs_stats(demos))
        return BCState(params, optimizer.init(network), key, jnp.int32(0))

    def update(state: BCState, demos: Demonstrations, num_epochs: int) -> tuple[BCState, BCMetrics]:
        demo_check(spec, demos)
        keys = jax.random.split(state.key, max(config.epochs, 1))
        # epochs past config.epochs reuse the last key (a run is config.epochs long)
        index = jnp.minimum(state.epochs + jnp.arange(num_epochs), config.epochs - 1)
        rows = flat_steps(demos)
        body = lambda carry, k: bc_epoch(config, spec, state.params.obs_stats, rows, carry, k)
        (network, opt_state), metrics = jax.lax.scan(body, (state.params.network, state.opt_state), keys[index])
        params = BCParams(network, state.params.obs_stats)
        return BCState(params, opt_state, state.key, state.epochs + num_epochs), metrics

    return Algorithm(
        name="bc", config=config, num_steps=config.epochs, init=init, update=update, metrics=BCMetrics,
        policy=lambda state, demos: state.params, act=BCPolicy(config, spec), spec=spec, description=DESCRIPTION,
    )


def fit(config: BCConfig, key: Array, spec: EnvSpec, demos: Demonstrations) -> BCResult:
    """Clone the demonstrated policy: ``config.epochs`` epochs of minibatch Adam on :func:`bc_loss`.

    Pure: ``jax.jit`` it with ``config`` and ``spec`` static (:data:`fit_jit`), ``jax.vmap`` it over keys
    for several seeds.

    Returns:
        :class:`BCResult` with the policy and per-epoch loss and NLL ``[epochs]``.
    """
    algo = make_bc(config, spec)
    state, metrics = algo.update(algo.init(key, demos), demos, config.epochs)
    return BCResult(state.params, metrics.loss, metrics.nll)


fit_jit = jax.jit(fit, static_argnames=("config", "spec"))
""":func:`fit` compiled (``config`` and ``spec`` static)."""
