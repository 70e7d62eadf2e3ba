"""TensorBoard events of runs: thinning, per-seed writers, resuming with a purge."""

from __future__ import annotations

import numpy as np
import pytest

from irlax.errors import IrlaxError
from irlax.report.tensorboard import EventLog, open_hint, read_scalars, thinned


def test_thinned_bins_are_means_of_their_finite_values_at_their_last_step():
    values = np.array([1.0, 3.0, np.nan, np.nan, 5.0, 6.0, 7.0])
    assert thinned(values, 10, 100) == [(10, 1.0), (11, 3.0), (14, 5.0), (15, 6.0), (16, 7.0)]
    # bins of 3: [1, 3, nan] -> 2 at step 12; [nan, 5, 6] -> 5.5 at 15; [7] -> 7 at 16
    assert thinned(values, 10, 3) == [(12, 2.0), (15, 5.5), (16, 7.0)]
    assert thinned(np.full(4, np.nan), 0, 2) == []


def test_each_seed_gets_its_own_events_and_a_resume_purges_what_followed_the_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    metrics = {"loss": rng.normal(size=(2, 30)), "matrix": np.zeros((2, 30, 3)), "ret": np.full((2, 30), np.nan)}
    with EventLog(tmp_path, 2) as log:
        log.write(metrics, 10)
        log.write(metrics, 10)  # nothing new
        log.write(metrics, 30)
    # the process died after the checkpoint at 20; a new one resumes from there with other values
    resumed = {"loss": metrics["loss"] + 100.0}
    with EventLog(tmp_path, 2, start=20) as log:
        log.write(resumed, 30)
    for seed in range(2):
        scalars = read_scalars(tmp_path / "tensorboard" / f"seed{seed}")
        assert set(scalars) == {"loss"}  # no per-step vectors, no all-NaN metric
        steps = [step for step, _ in scalars["loss"]]
        values = np.array([value for _, value in scalars["loss"]])
        assert steps == list(range(30))
        np.testing.assert_allclose(values[:20], metrics["loss"][seed, :20], rtol=1e-6)
        np.testing.assert_allclose(values[20:], resumed["loss"][seed, 20:], rtol=1e-6)
    assert open_hint(tmp_path) == f"TensorBoard: tensorboard --logdir {tmp_path / 'tensorboard'}"


def test_long_chunks_are_thinned(tmp_path):
    with EventLog(tmp_path, 1, points_per_chunk=10) as log:
        log.write({"x": np.arange(1000, dtype=float)[None]}, 1000)
    (points,) = read_scalars(tmp_path / "tensorboard" / "seed0").values()
    assert len(points) == 10 and points[0] == (99, pytest.approx(49.5))


def test_an_unwritable_folder_is_one_error(tmp_path):
    (tmp_path / "tensorboard").write_text("a file where the folder goes")
    with pytest.raises(IrlaxError, match="cannot write TensorBoard events"):
        EventLog(tmp_path, 1)
