"""Networks and observation normalisation shared by the sample-based learners.

- :class:`MLP`: a fully connected network (flax linen), the building block of
  policies, value functions, Q-functions and discriminators.
- :func:`orthogonal_init`: orthogonal weight initialisation (Saxe et al. 2014)
  computed without LAPACK, so that it can be vmapped over seeds inside a large
  jitted program on the CPU (flax's QR-based initialiser hangs there with
  JAX 0.10.2 when a learner's whole ``init`` is vmapped).
- :class:`ObsStats` with :func:`update_obs_stats` / :func:`normalize_obs`: running
  mean and variance of observations (Chan et al.'s parallel update), the
  observation normalisation of PPO implementations (as in SB3's ``VecNormalize``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import Array

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {"tanh": nn.tanh, "relu": nn.relu}
"""Hidden-layer activations by name."""


POLAR_ITERATIONS = 60
"""Newton-Schulz steps of :func:`orthogonal_init` (enough for float32 convergence on layer-sized matrices)."""


def polar_factor(matrix: Array, iterations: int = POLAR_ITERATIONS) -> Array:
    """The orthogonal polar factor ``U V^T`` of ``matrix [n, m]`` (``n >= m``) by Newton-Schulz iteration.

    ``X <- 1.5 X - 0.5 X X^T X`` from ``X = matrix / ||matrix||_F`` (Higham 2008, sec. 8.3):
    every singular value moves towards 1, the singular vectors stay; only matrix products,
    so it runs anywhere XLA does.
    """
    x = matrix / jnp.linalg.norm(matrix)

    def step(x: Array, _: None) -> tuple[Array, None]:
        return 1.5 * x - 0.5 * x @ (x.T @ x), None

    return jax.lax.scan(step, x, None, length=iterations)[0]


def orthogonal_init(scale: float = 1.0) -> Callable[..., Array]:
    """A flax kernel initialiser: ``scale`` times a random matrix with orthonormal columns (or rows).

    The polar factor of a Gaussian matrix is Haar-distributed on the orthogonal group
    (and uniform on the Stiefel manifold when rectangular), as the QR-based initialiser's is.
    """

    def init(key: Array, shape: Sequence[int], dtype: Any = jnp.float32) -> Array:
        rows, cols = shape
        gaussian = jax.random.normal(key, (max(rows, cols), min(rows, cols)), jnp.float32)
        q = polar_factor(gaussian)
        return (scale * (q if rows >= cols else q.T)).astype(dtype)

    return init


class MLP(nn.Module):
    """Hidden layers of ``hidden`` widths with ``activation``, then a linear layer of ``out`` units.

    Attributes:
        hidden: hidden-layer widths.
        out: output width.
        activation: a key of :data:`ACTIVATIONS`.
        out_scale: scale of the output layer's orthogonal initialisation (small for policy heads).
    """

    hidden: Sequence[int]
    out: int
    activation: str = "tanh"
    out_scale: float = 1.0

    @nn.compact
    def __call__(self, x: Array) -> Array:
        """The network's output ``[out]`` for an input ``x`` (any leading axes)."""
        act = ACTIVATIONS[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width, kernel_init=orthogonal_init(2.0**0.5))(x))
        return nn.Dense(self.out, kernel_init=orthogonal_init(self.out_scale))(x)


class ObsStats(NamedTuple):
    """Running statistics of observations: ``mean [O]``, ``var [O]`` and the ``count`` seen."""

    mean: Array
    var: Array
    count: Array


def init_obs_stats(obs_size: int) -> ObsStats:
    """Statistics before any observation (zero mean, unit variance, a tiny count)."""
    return ObsStats(jnp.zeros(obs_size), jnp.ones(obs_size), jnp.float32(1e-4))


def update_obs_stats(stats: ObsStats, batch: Array) -> ObsStats:
    """``stats`` merged with a batch of observations ``[..., O]`` (Chan et al. 1979)."""
    flat = batch.reshape(-1, batch.shape[-1])
    n = jnp.float32(flat.shape[0])
    mean, var = flat.mean(axis=0), flat.var(axis=0)
    total = stats.count + n
    delta = mean - stats.mean
    new_mean = stats.mean + delta * n / total
    m2 = stats.var * stats.count + var * n + delta**2 * stats.count * n / total
    return ObsStats(new_mean, m2 / total, total)


def normalize_obs(stats: ObsStats, obs: Array, clip: float = 10.0) -> Array:
    """``(obs - mean) / sqrt(var + 1e-8)``, clipped to ``[-clip, clip]``."""
    return jnp.clip((obs - stats.mean) / jnp.sqrt(stats.var + 1e-8), -clip, clip)
