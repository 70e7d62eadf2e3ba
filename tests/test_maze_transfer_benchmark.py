"""The shifting-maze benchmark's report (benchmarks/maze_transfer.py): rewritten from its JSON without running
anything, every row naming when and at which commit it was made (rows carried over by ``--resume`` keep theirs)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import BENCHMARKS

REPORT = BENCHMARKS / "results" / "maze_transfer.json"


@pytest.fixture
def maze_transfer(benchmark_script):
    return benchmark_script("maze_transfer")


def test_the_report_is_rewritten_from_its_json_with_each_rows_provenance(maze_transfer, tmp_path):
    out = tmp_path / "maze.json"
    shutil.copy(REPORT, out)
    results = json.loads(out.read_text())
    results["algorithms"]["gail"]["made"] = {"date": "2031-01-02T03:04:05+00:00", "git": "abc1234"}
    results["algorithms"]["gcl"].pop("made", None)
    out.write_text(json.dumps(results))

    maze_transfer.main(["--report-only", "--out", str(out)])

    page = out.with_suffix(".md").read_text()
    settings = [line for line in page.splitlines() if line.startswith("- ")]
    gail = next(line for line in settings if line.startswith("- GAIL:"))
    gcl = next(line for line in settings if line.startswith("- GCL"))
    assert gail.endswith("; made 2031-01-02T03:04:05+00:00 at irlax abc1234")
    assert "made" not in gcl
    assert "| GAIL |" in page and out.with_suffix(".png").stat().st_size > 0
    assert json.loads(out.read_text()) == results  # the JSON is rewritten unchanged


def test_rewriting_a_missing_report_is_a_clear_error(maze_transfer, tmp_path):
    with pytest.raises(SystemExit, match="no report at"):
        maze_transfer.main(["--report-only", "--out", str(tmp_path / "none.json")])
