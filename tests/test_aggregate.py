"""Summaries over seeds: the interquartile mean and its bootstrap confidence interval."""

from __future__ import annotations

import numpy as np
import pytest

from irlax.errors import IrlaxError
from irlax.metrics.aggregate import iqm, seed_summary


def plain_iqm(x: np.ndarray) -> float:
    """The mean of the middle half of ``x`` (its length a multiple of 4)."""
    x = np.sort(np.asarray(x, float))
    quarter = len(x) // 4
    return float(x[quarter: len(x) - quarter].mean())


def test_iqm_is_the_mean_of_the_middle_half():
    rng = np.random.default_rng(0)
    for n in (4, 8, 20):
        x = rng.normal(size=n)
        assert iqm(x) == pytest.approx(plain_iqm(x))
    assert iqm([1.0, 2.0, 3.0, 4.0, 1000.0]) == pytest.approx(3.0)  # one outlying seed does not move it


def test_the_interval_brackets_the_iqm_and_is_reproducible():
    scores = np.array([0.91, 0.95, 0.97, 0.99, 1.0, 0.4, 0.96, 0.98])
    summary = seed_summary(scores)
    assert summary.n == 8 and summary.mean == pytest.approx(scores.mean())
    assert summary.iqm == pytest.approx(plain_iqm(scores))
    assert scores.min() <= summary.iqm_low < summary.iqm < summary.iqm_high <= scores.max()
    assert summary.stderr == pytest.approx(scores.std(ddof=1) / np.sqrt(8))
    assert seed_summary(scores) == summary
    assert seed_summary(scores, confidence=0.5).iqm_high < summary.iqm_high  # a narrower interval
    assert summary.text() == f"{summary.iqm:.3g} [{summary.iqm_low:.3g}, {summary.iqm_high:.3g}]"


def test_one_seed_or_equal_seeds_give_a_point_interval_and_nan_is_refused():
    assert seed_summary([2.5]) == (1, 2.5, 2.5, 2.5, 2.5, 0.0)
    assert seed_summary([1.0, 1.0, 1.0])[2:5] == (1.0, 1.0, 1.0)
    with pytest.raises(IrlaxError, match="finite"):
        seed_summary([1.0, np.nan])
    with pytest.raises(IrlaxError, match="no scores"):
        seed_summary([])
