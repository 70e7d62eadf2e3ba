"""Summaries over seeds: the interquartile mean and its bootstrap confidence interval."""

from __future__ import annotations

import numpy as np
import pytest

from irlax.errors import IrlaxError
from irlax.learners.evaluation import normalized_return
from irlax.metrics.aggregate import MeanCI, iqm, mean_ci, seed_summary, task_aggregates


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


def test_mean_ci_is_the_exact_bootstrap_interval_of_two_seeds():
    # resampling [0, 1] gives means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 2.5% and 97.5% percentiles
    # are 0 and 1
    assert mean_ci(np.array([0.0, 1.0])) == MeanCI(0.5, 0.0, 1.0)
    assert mean_ci(np.array([0.7, 0.7, 0.7])) == MeanCI(0.7, 0.7, 0.7)
    with pytest.raises(IrlaxError, match="finite"):
        mean_ci(np.array([0.5, np.nan]))


def test_task_aggregates_on_a_fixed_table_match_hand_computed_values():
    """Normalised scores of a fixed table of two tasks (returns -> (score - random) / (expert - random)), their
    mean over tasks and pooled IQM, with the stratified-bootstrap intervals worked out by hand."""
    random, expert = np.array([10.0, -100.0]), np.array([110.0, 300.0])
    returns = [np.array([10.0, 110.0]), np.array([300.0, 300.0])]  # task A: seeds at random and expert level
    scores = [np.asarray(normalized_return(r, lo, hi)) for r, lo, hi in zip(returns, random, expert, strict=True)]
    np.testing.assert_allclose(scores[0], [0.0, 1.0])
    np.testing.assert_allclose(scores[1], [1.0, 1.0])
    agg = task_aggregates(scores)
    # mean over tasks = (mean A + 1) / 2 with mean A in {0, 0.5, 1} (p = 1/4, 1/2, 1/4): 0.75 [0.5, 1]
    assert agg["mean"] == MeanCI(0.75, 0.5, 1.0)
    # pooled IQM of [0, 1, 1, 1] (trim one of four at each end) = 1; resampled A = [0, 0] (p = 1/4) gives 0.5
    assert agg["iqm"] == MeanCI(1.0, 0.5, 1.0)
    # a task of one seed is held fixed, not resampled
    assert task_aggregates([np.array([0.2]), np.array([0.4])])["mean"] == MeanCI(pytest.approx(0.3),
                                                                                 pytest.approx(0.3),
                                                                                 pytest.approx(0.3))
    with pytest.raises(IrlaxError, match="no tasks"):
        task_aggregates([])
