"""Summaries of a score over seeds: mean, interquartile mean (IQM) and a 95% bootstrap confidence interval.

The IQM is the mean of the middle half of the scores (the 25% trimmed mean), the
aggregate Agarwal et al. (2021, "Deep RL at the edge of the statistical
precipice") recommend over the mean for few runs: robust to one outlying seed,
yet more efficient than the median. Its confidence interval is the percentile
bootstrap over seeds. Both come from SciPy (``scipy.stats.trim_mean`` and
``scipy.stats.bootstrap``), the estimators rliable uses for one task; rliable
itself is not a dependency (its ``arch`` requirement does not import with
pandas 3).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from irlax.errors import IrlaxError

IQM_CUT = 0.25
"""The fraction trimmed from each end for the interquartile mean."""


class SeedSummary(NamedTuple):
    """A score summarised over seeds.

    Attributes:
        n: how many seeds (finite scores).
        mean: their mean.
        iqm: their interquartile mean (25% trimmed mean).
        iqm_low, iqm_high: the 95% percentile-bootstrap confidence interval of the IQM (both the IQM itself
            for a single seed, or when every seed scored the same).
        stderr: the mean's standard error (0 for one seed).
    """

    n: int
    mean: float
    iqm: float
    iqm_low: float
    iqm_high: float
    stderr: float

    def as_dict(self) -> dict[str, float | int]:
        """The fields as a plain dict (for summary files)."""
        return self._asdict()

    def text(self, digits: int = 3) -> str:
        """``IQM [low, high]`` with ``digits`` significant digits, e.g. ``0.951 [0.902, 0.987]``."""
        f = lambda x: f"{x:.{digits}g}"
        return f"{f(self.iqm)} [{f(self.iqm_low)}, {f(self.iqm_high)}]"


def iqm(scores: np.ndarray) -> float:
    """The interquartile mean of ``scores`` (flattened): the mean of the middle half, ``trim_mean(x, 0.25)``."""
    from scipy import stats

    return float(stats.trim_mean(np.asarray(scores, np.float64).ravel(), IQM_CUT))


def _finite(scores: np.ndarray, what: str = "") -> np.ndarray:
    """``scores`` flattened to float64; :class:`IrlaxError` when empty or not all finite (``what``: which)."""
    x = np.asarray(scores, np.float64).ravel()
    of = f" ({what})" if what else ""
    if x.size == 0:
        raise IrlaxError(f"no scores to summarise{of}")
    if not np.all(np.isfinite(x)):
        raise IrlaxError(f"scores to summarise must be finite{of}, got {x.tolist()}")
    return x


def seed_summary(scores: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> SeedSummary:
    """Mean, IQM and a bootstrap confidence interval of the IQM of one score per seed.

    Args:
        scores: ``[K]`` one score per seed (e.g. final returns); NaN scores are an error, not dropped.
        confidence: the interval's coverage.
        resamples: bootstrap resamples of the seeds.
        seed: the resampling's random seed (summaries are reproducible).

    Raises:
        IrlaxError: no scores, or a non-finite one.
    """
    from scipy import stats

    x = _finite(scores)
    centre = iqm(x)
    stderr = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    if x.size == 1 or np.all(x == x[0]):
        return SeedSummary(int(x.size), float(x.mean()), centre, centre, centre, stderr)
    result = stats.bootstrap((x,), lambda s, axis: stats.trim_mean(s, IQM_CUT, axis=axis), n_resamples=resamples,
                             confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return SeedSummary(int(x.size), float(x.mean()), centre, float(low), float(high), stderr)


class MeanCI(NamedTuple):
    """A mean with its 95% percentile-bootstrap confidence interval.

    Attributes:
        mean: the point estimate.
        low, high: the interval (both the mean when there is nothing to resample).
    """

    mean: float
    low: float
    high: float




def mean_ci(scores: np.ndarray, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> MeanCI:
    """The mean of one score per seed and the percentile-bootstrap confidence interval of the mean over seeds
    (``scipy.stats.bootstrap``).

    Raises:
        IrlaxError: no scores, or a non-finite one.
    """
    from scipy import stats

    x = _finite(scores)
    if np.all(x == x[0]):  # one seed, or all alike: nothing to resample
        return MeanCI(float(x[0]), float(x[0]), float(x[0]))
    result = stats.bootstrap((x,), np.mean, n_resamples=resamples, confidence_level=confidence,
                             method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return MeanCI(float(x.mean()), float(low), float(high))


def task_aggregates(scores_by_task: list[np.ndarray], confidence: float = 0.95, resamples: int = 2000,
                    seed: int = 0) -> dict[str, MeanCI]:
    """Aggregates of normalised scores over tasks, with stratified-bootstrap confidence intervals (Agarwal et al.
    2021, as rliable computes them): each resample draws every task's runs again, with replacement, within the task.

    Args:
        scores_by_task: one ``[K_t]`` array of per-seed normalised scores per task.

    Returns:
        ``{"mean": ..., "iqm": ...}``: the mean over tasks of the per-task means, and the interquartile mean of
        all runs pooled, each a :class:`MeanCI`.

    Raises:
        IrlaxError: no tasks, a task without scores, or a non-finite score.
    """
    from scipy import stats

    if not scores_by_task:
        raise IrlaxError("no tasks to aggregate")
    samples = [_finite(s, f"task {i}") for i, s in enumerate(scores_by_task)]
    # tasks whose runs all scored the same resample to themselves: held fixed (SciPy resamples only samples of
    # two or more distinct values), broadcast against the resampled ones
    fixed = [x for x in samples if np.all(x == x[0])]
    varying = [x for x in samples if not np.all(x == x[0])]

    def with_fixed(xs: tuple[np.ndarray, ...]) -> list[np.ndarray]:
        batch = xs[0].shape[:-1] if xs else ()
        return [*xs, *(np.broadcast_to(x, batch + x.shape) for x in fixed)]

    mean_of_means = lambda *xs, axis=-1: np.mean([np.mean(x, axis=-1) for x in with_fixed(xs)], axis=0)
    pooled_iqm = lambda *xs, axis=-1: stats.trim_mean(np.concatenate(with_fixed(xs), axis=-1), IQM_CUT, axis=-1)
    out = {}
    for name, statistic in (("mean", mean_of_means), ("iqm", pooled_iqm)):
        centre = float(statistic(*varying))
        if not varying:
            out[name] = MeanCI(centre, centre, centre)
            continue
        result = stats.bootstrap(varying, statistic, n_resamples=resamples, confidence_level=confidence,
                                 method="percentile", rng=np.random.default_rng(seed))
        low, high = result.confidence_interval
        out[name] = MeanCI(centre, float(low), float(high))
    return out
