"""Behavioural cloning: maximum likelihood of the demonstrated actions (Pomerleau 1991; Bain & Sammut 1995).

"Copy the actions": fit a policy network ``pi_theta(a | s)`` to the expert's
state-action pairs by minimising

    L(theta) = -E_(s,a)~D[log pi_theta(a | s)] - c_H E_s[H(pi_theta(.|s))] + c_2 ||theta||^2

with Adam over shuffled minibatches, one epoch being one pass over the real
(masked) steps of the demonstrations. The policy is categorical over logits for
discrete tasks and, for continuous ones, a Gaussian with a state-dependent
diagonal covariance, squashed by ``tanh`` into the action bounds by default
(``distribution="tanh_gaussian"``, SAC's policy class) or unsquashed
(``"gaussian"``, PPO's). Observations are standardised with the demonstrations'
mean and variance. It uses neither rewards nor the environment: the baseline
every IRL method should beat off the expert's state distribution (Ross et al. 2011).

:func:`fit` is pure, ``jax.jit``-able (config and env static) and ``jax.vmap``-able
over keys; :func:`act` has the learners' signature, so
``irlax.rl.learners.evaluate_policy(bc.act, config, env, params, ...)`` evaluates it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from irlax.data.demos import Demonstrations
from irlax.envs.control import ControlEnv
from irlax.errors import IrlaxError
from irlax.rl import distributions as dist
from irlax.rl.networks import MLP, ObsStats, normalize_obs

DISTRIBUTIONS = ("tanh_gaussian", "gaussian")
"""Policy classes for continuous actions (discrete actions are always categorical)."""


@dataclass(frozen=True)
class BCConfig:
    """Configuration of behavioural cloning (defaults close to the ``imitation`` library's ``BC``)."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the policy MLP."""
    activation: str = "tanh"
    """Hidden activation, a key of :data:`irlax.rl.networks.ACTIVATIONS`."""
    distribution: str = "tanh_gaussian"
    """Continuous policy class: ``"tanh_gaussian"`` (bounded, SAC's) or ``"gaussian"`` (PPO's)."""
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


class BCParams(NamedTuple):
    """The cloned policy: network parameters and the observation statistics it standardises with."""

    network: Any
    obs_stats: ObsStats


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


def _network(config: BCConfig, env: ControlEnv) -> MLP:
    outputs = env.action_size if env.discrete else 2 * env.action_size
    return MLP(config.hidden, outputs, config.activation, out_scale=0.01)


def _head(config: BCConfig, env: ControlEnv, params: BCParams, obs: Array) -> tuple[Array, Array]:
    """``(logits [A], unused)`` or ``(mean [D], log_std [D])`` for one observation ``obs [O]``."""
    x = normalize_obs(params.obs_stats, obs) if config.normalize_obs else obs
    out = _network(config, env).apply(params.network, x)
    if env.discrete:
        return out, jnp.zeros((0,), out.dtype)
    mean, log_std = jnp.split(out, 2)
    return mean, jnp.clip(log_std, config.log_std_min, config.log_std_max)


def _bounds(env: ControlEnv) -> tuple[Array, Array]:
    return jnp.asarray(env.action_low, jnp.float32), jnp.asarray(env.action_high, jnp.float32)


def log_prob(config: BCConfig, env: ControlEnv, params: BCParams, obs: Array, action: Array) -> Array:
    """``log pi(action | obs)`` of the cloned policy for one observation ``obs [O]`` (a scalar)."""
    a, b = _head(config, env, params, obs)
    if env.discrete:
        return dist.categorical_log_prob(a, action)
    if config.distribution == "gaussian":
        return dist.gaussian_log_prob(a, b, action)
    return dist.tanh_gaussian_log_prob(a, b, action, *_bounds(env))


def entropy(config: BCConfig, env: ControlEnv, params: BCParams, obs: Array) -> Array:
    """Entropy of the policy at ``obs [O]`` (of the Gaussian before squashing for tanh-Gaussians)."""
    a, b = _head(config, env, params, obs)
    return dist.categorical_entropy(a) if env.discrete else dist.gaussian_entropy(b)


def act(
    config: BCConfig, env: ControlEnv, params: BCParams, key: Array, obs: Array, deterministic: bool = False
) -> tuple[Array, Array]:
    """An action for one observation ``obs [O]`` and its log-probability (the learners' ``act`` signature).

    ``deterministic`` takes the most likely action (the mean, squashed for tanh-Gaussians).
    """
    a, b = _head(config, env, params, obs)
    if env.discrete:
        action = jnp.argmax(a).astype(jnp.int32) if deterministic else dist.categorical_sample(key, a)
        return action, dist.categorical_log_prob(a, action)
    low, high = _bounds(env)
    if config.distribution == "gaussian":
        action = a if deterministic else dist.gaussian_sample(key, a, b)
        return action, dist.gaussian_log_prob(a, b, action)
    if deterministic:
        action = dist.tanh_gaussian_mode(a, low, high)
        return action, dist.tanh_gaussian_log_prob(a, b, action, low, high)
    return dist.tanh_gaussian_sample(key, a, b, low, high)


def bc_loss(
    network: Any, config: BCConfig, env: ControlEnv, obs_stats: ObsStats, obs: Array, actions: Array, weights: Array
) -> tuple[Array, Array]:
    """The BC loss of one minibatch: ``(loss [], nll [])``, means weighted by ``weights [B]`` (0 on padding).

    Args:
        network: the network's parameters (differentiated).
        obs: ``[B, O]`` raw observations; ``actions``: ``[B]`` or ``[B, D]``.
    """
    params = BCParams(network, obs_stats)
    log_probs = jax.vmap(lambda o, a: log_prob(config, env, params, o, a))(obs, actions)
    entropies = jax.vmap(lambda o: entropy(config, env, params, o))(obs)
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


def init(config: BCConfig, key: Array, env: ControlEnv, demos: Demonstrations) -> BCParams:
    """A fresh policy network (small output layer) with the demonstrations' observation statistics."""
    check_config(config)
    if demos.obs_size != env.obs_size or demos.discrete != env.discrete or demos.action_size != env.action_size:
        raise IrlaxError(f"BC: demonstrations from {demos.env_name} do not fit {env.name}")
    network = _network(config, env).init(key, jnp.zeros((env.obs_size,), jnp.float32))
    return BCParams(network, demo_obs_stats(demos))


def fit(config: BCConfig, key: Array, env: ControlEnv, demos: Demonstrations) -> BCResult:
    """Clone the demonstrated policy: ``config.epochs`` epochs of minibatch Adam on :func:`bc_loss`.

    Each epoch visits every real step once in a random order (padded steps are
    sorted behind them and never used). Pure: ``jax.jit`` it with ``config`` and
    ``env`` static (:data:`fit_jit`), ``jax.vmap`` it over keys for several seeds.

    Returns:
        :class:`BCResult` with the policy and per-epoch loss and NLL ``[epochs]``.
    """
    init_key, key = jax.random.split(key)
    params = init(config, init_key, env, demos)
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    obs, actions, valid = flat(demos.obs), flat(demos.actions), flat(demos.mask)
    rows, size = valid.shape[0], config.batch_size
    num_valid = jnp.sum(valid)
    num_batches = (num_valid + size - 1) // size
    optimizer = optax.adam(config.learning_rate)
    grad_fn = jax.value_and_grad(bc_loss, has_aux=True)
    padded_rows = -(-rows // size) * size  # room for a whole last minibatch

    def epoch(carry: tuple[Any, optax.OptState], epoch_key: Array) -> tuple[tuple, tuple[Array, Array]]:
        # real steps first, in a random order; the padding behind them
        order = jnp.argsort(jnp.where(valid, jax.random.uniform(epoch_key, (rows,)), 2.0))
        order = jnp.concatenate([order, jnp.zeros((padded_rows - rows,), order.dtype)])
        position = jnp.arange(padded_rows)

        def step(i: Array, inner: tuple) -> tuple:
            network, opt_state, loss_sum, nll_sum = inner
            idx = jax.lax.dynamic_slice(order, (i * size,), (size,))
            weights = (jax.lax.dynamic_slice(position, (i * size,), (size,)) < num_valid).astype(jnp.float32)
            (loss, nll), grads = grad_fn(network, config, env, params.obs_stats, obs[idx], actions[idx], weights)
            updates, opt_state = optimizer.update(grads, opt_state, network)
            n = jnp.sum(weights)
            return optax.apply_updates(network, updates), opt_state, loss_sum + loss * n, nll_sum + nll * n

        network, opt_state = carry
        network, opt_state, loss_sum, nll_sum = jax.lax.fori_loop(
            0, num_batches, step, (network, opt_state, jnp.float32(0.0), jnp.float32(0.0))
        )
        return (network, opt_state), (loss_sum / num_valid, nll_sum / num_valid)

    (network, _), (losses, nlls) = jax.lax.scan(
        epoch, (params.network, optimizer.init(params.network)), jax.random.split(key, config.epochs)
    )
    return BCResult(BCParams(network, params.obs_stats), losses, nlls)


fit_jit = jax.jit(fit, static_argnames=("config", "env"))
""":func:`fit` compiled (``config`` and ``env`` static)."""


@functools.partial(jax.jit, static_argnames=("config", "env"))
def fit_seeds(config: BCConfig, keys: Array, env: ControlEnv, demos: Demonstrations) -> BCResult:
    """:func:`fit` once per key (``keys [K, 2]``), vmapped and jitted; result leaves gain a ``[K]`` axis."""
    return jax.vmap(lambda k: fit(config, k, env, demos))(keys)
