"""Action distributions of the sample-based learners, as pure functions on unbatched inputs.

Three kinds, each a function of the network's output:

- ``categorical``: logits ``[A]``; actions are ``int32`` indices.
- ``gaussian``: ``(mean [D], log_std [D])``; actions are unbounded (the
  environment clips them), as in PPO (Schulman et al. 2017);
  :func:`clipped_gaussian_log_prob` is the likelihood of the clipped action the
  environment receives (the Gaussian censored at the bounds).
- ``tanh_gaussian``: ``(mean [D], log_std [D])`` of a Gaussian squashed by
  ``tanh`` and scaled to ``[low, high]``, as in SAC (Haarnoja et al. 2018,
  appendix C); the log-density includes the change of variables.

Vmap them over a batch.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import Array

LOG_2PI = math.log(2.0 * math.pi)
TANH_EPS = 1e-6


def categorical_sample(key: Array, logits: Array) -> Array:
    """An action index drawn from ``softmax(logits [A])``."""
    return jax.random.categorical(key, logits).astype(jnp.int32)


def categorical_log_prob(logits: Array, action: Array) -> Array:
    """``log softmax(logits)[action]`` (a scalar)."""
    return jax.nn.log_softmax(logits)[action]


def categorical_entropy(logits: Array) -> Array:
    """Entropy of ``softmax(logits [A])``."""
    log_p = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.exp(log_p) * log_p)


def gaussian_sample(key: Array, mean: Array, log_std: Array) -> Array:
    """A draw ``[D]`` from the diagonal Gaussian ``N(mean, exp(log_std)^2)``."""
    return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)


def gaussian_log_prob(mean: Array, log_std: Array, action: Array) -> Array:
    """Log-density of ``action [D]`` under the diagonal Gaussian (a scalar)."""
    z = (action - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * LOG_2PI)


def clipped_gaussian_log_prob(mean: Array, log_std: Array, action: Array, low: Array, high: Array) -> Array:
    """Log-likelihood (a scalar) of ``clip(action, low, high) [D]`` under the diagonal Gaussian censored at the bounds.

    A Gaussian policy's draw is clipped by the environment, so what it receives has the Gaussian density inside
    ``(low, high)`` and an atom at each bound holding the tail beyond it: ``log P(x <= low) = log Phi((low - mean) /
    std)`` at ``low``, ``log P(x >= high)`` at ``high``. The expected ``-log`` of the unclipped density grows as
    ``log std`` without end; this one's is bounded (in ``[-1, 1]`` with the mean at 0 it peaks at about 1.39 a
    dimension near ``std = 1.5`` and falls toward ``log 2``), so a reward with an entropy bonus ``-log pi``
    (AIRL's) cannot be raised by widening the policy far past the bounds. Infinite bounds give the plain density.
    """
    std = jnp.exp(log_std)
    clipped = jnp.clip(action, low, high)
    z = (clipped - mean) / std
    density = -0.5 * z**2 - log_std - 0.5 * LOG_2PI
    # finite stand-ins keep the unused branches finite (and their gradients) where a bound is infinite
    z_low = (jnp.where(jnp.isfinite(low), low, 0.0) - mean) / std
    z_high = (jnp.where(jnp.isfinite(high), high, 0.0) - mean) / std
    at_low = jnp.isfinite(low) & (clipped <= low)
    at_high = jnp.isfinite(high) & (clipped >= high)
    per_dim = jnp.where(at_low, jax.scipy.special.log_ndtr(z_low),
                        jnp.where(at_high, jax.scipy.special.log_ndtr(-z_high), density))
    return jnp.sum(per_dim)


def gaussian_entropy(log_std: Array) -> Array:
    """Entropy of the diagonal Gaussian with ``log_std [D]``."""
    return jnp.sum(log_std + 0.5 * (LOG_2PI + 1.0))


def _scale(low: Array, high: Array) -> tuple[Array, Array]:
    return (high - low) / 2.0, (high + low) / 2.0


def tanh_gaussian_sample(key: Array, mean: Array, log_std: Array, low: Array, high: Array) -> tuple[Array, Array]:
    """A squashed draw and its log-density: ``(action [D] in [low, high], log_prob)``.

    ``action = centre + half_width * tanh(u)``, ``u ~ N(mean, std^2)``; the log-density is
    ``log N(u) - sum log(half_width * (1 - tanh(u)^2))`` (Haarnoja et al. 2018, eq. 21),
    computed with the stable form ``log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))``.
    """
    u = gaussian_sample(key, mean, log_std)
    half, centre = _scale(low, high)
    log_det = jnp.sum(jnp.log(half) + 2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u)))
    return centre + half * jnp.tanh(u), gaussian_log_prob(mean, log_std, u) - log_det


def tanh_gaussian_log_prob(mean: Array, log_std: Array, action: Array, low: Array, high: Array) -> Array:
    """Log-density of a given ``action [D]`` in ``[low, high]`` under the squashed Gaussian.

    Inverts the squashing (``u = atanh``, with the action pulled ``TANH_EPS`` inside the
    bounds so that recorded boundary actions stay finite).
    """
    half, centre = _scale(low, high)
    y = jnp.clip((action - centre) / half, -1.0 + TANH_EPS, 1.0 - TANH_EPS)
    u = jnp.arctanh(y)
    log_det = jnp.sum(jnp.log(half) + jnp.log1p(-(y**2)))
    return gaussian_log_prob(mean, log_std, u) - log_det


def tanh_gaussian_mode(mean: Array, low: Array, high: Array) -> Array:
    """The deterministic action ``centre + half_width * tanh(mean)`` (for evaluation)."""
    half, centre = _scale(low, high)
    return centre + half * jnp.tanh(mean)
