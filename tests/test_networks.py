"""Network pieces shared by the learners: the LAPACK-free orthogonal initialiser and observation statistics."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from irlax.nn.networks import init_obs_stats, normalize_obs, orthogonal_init, polar_factor, update_obs_stats


@pytest.mark.parametrize("shape", [(64, 64), (256, 256), (3, 256), (256, 1), (64, 2)])
def test_orthogonal_init_has_orthonormal_columns_or_rows(shape):
    for seed in range(5):
        w = np.asarray(orthogonal_init(2.0)(jax.random.PRNGKey(seed), shape)) / 2.0
        gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
        np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=2e-6)


def test_polar_factor_matches_the_svd():
    a = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (6, 4)))
    u, _, vt = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(polar_factor(a), u @ vt, atol=1e-5)


def test_orthogonal_init_vmaps_inside_a_jitted_program():
    # the QR-based initialiser hung here (JAX 0.10.2, CPU); this one is plain matrix products
    init = orthogonal_init(1.0)
    stacked = jax.jit(jax.vmap(lambda k: init(k, (32, 16))))(jax.random.split(jax.random.PRNGKey(1), 3))
    assert stacked.shape == (3, 32, 16)
    assert not np.allclose(stacked[0], stacked[1])


def test_running_obs_stats_equal_the_batch_statistics():
    data = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (300, 3))) * np.array([1.0, 5.0, 0.1]) + 2.0
    stats = init_obs_stats(3)
    for chunk in np.split(data, [10, 150, 151]):
        stats = update_obs_stats(stats, chunk)
    np.testing.assert_allclose(stats.mean, data.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(stats.var, data.var(axis=0), rtol=1e-3)
    z = np.asarray(normalize_obs(stats, data))
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-3)
