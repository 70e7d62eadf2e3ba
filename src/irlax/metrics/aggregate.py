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

    x = np.asarray(scores, np.float64).ravel()
    if x.size == 0:
        raise IrlaxError("no scores to summarise")
    if not np.all(np.isfinite(x)):
        raise IrlaxError(f"scores to summarise must be finite, got {x.tolist()}")
    centre = iqm(x)
    stderr = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    if x.size == 1 or np.all(x == x[0]):
        return SeedSummary(int(x.size), float(x.mean()), centre, centre, centre, stderr)
    result = stats.bootstrap((x,), lambda s, axis: stats.trim_mean(s, IQM_CUT, axis=axis), n_resamples=resamples,
                             confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return SeedSummary(int(x.size), float(x.mean()), centre, float(low), float(high), stderr)
