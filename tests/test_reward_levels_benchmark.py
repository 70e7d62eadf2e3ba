"""benchmarks/reward_levels.py: a run's learned reward on the demonstrations' steps, near them and for a fall."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def script(benchmark_script):
    return benchmark_script("reward_levels")


def test_levels_count_only_the_real_steps(script):
    values = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, -100.0, -100.0, -100.0]])
    mask = np.array([[True, True, True, True], [True, False, False, False]])
    out = script.levels(values, mask)
    assert out["mean"] == 4.0  # (1 + 2 + 3 + 4 + 10) / 5
    assert out["p5"] == pytest.approx(np.percentile([1, 2, 3, 4, 10], 5))
    assert out["p95"] == pytest.approx(np.percentile([1, 2, 3, 4, 10], 95))


@pytest.mark.parametrize(("argv", "message"), [
    (["--noise", "-1"], "--noise must be a finite number at least 0"),
    (["--noise", "nan"], "--noise must be a finite number at least 0"),
    ([], "is not a train run directory"),
])
def test_bad_input_is_one_line(script, tmp_path, capsys, argv, message):
    assert script.main([str(tmp_path / "none"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("irlax: error: ") and message in err and err.count("\n") == 1


def test_a_bad_option_is_one_line(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script.main([str(tmp_path), "--noise", "x"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("irlax: error: reward_levels.py: argument --noise") and err.count("\n") == 1
