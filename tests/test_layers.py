"""The package layout shows the layers, and imports only go downwards (docs/design.md, "Layers")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "irlax"

LAYERS: list[tuple[str, ...]] = [
    ("errors",),  # the one exception type
    ("atomic", "settings", "checks"),  # atomic files and npz reading; config overrides; checks of file fields
    ("report",),  # run directories, checkpoints, plots, progress bars
    ("envs",),  # environments: tabular MDPs and worlds, control tasks' specs and the pure-JAX backend
    ("data",),  # demonstrations and transitions
    ("tabular", "nn"),  # exact known-dynamics planning; network building blocks
    ("rewards", "metrics"),  # reward models; EVD, reward comparison
    ("learners",),  # PPO, SAC, stepping, evaluation
    ("tasks",),  # the task table
    ("algorithms",),  # everything that trains on demonstrations
    ("run",),  # the run driver, experts, assessment
    ("cli",),  # the irlax command
]
"""Top-level packages (and base modules) from the bottom layer to the top."""

LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}


def modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p != SRC / "__init__.py")


def owner(path: Path) -> str:
    """The top-level package (or base module) a source file belongs to."""
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported(path: Path) -> set[str]:
    """The top-level irlax packages a file imports (``irlax`` itself, for ``__version__``, excluded)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "irlax"
                                     else [])
        for name in names:
            parts = name.split(".")
            if parts[0] == "irlax" and len(parts) > 1 and parts[1] != "__version__":
                out.add(parts[1])
    return out


def test_every_package_has_a_layer() -> None:
    assert {owner(p) for p in modules()} <= set(LEVEL), "a new package needs a place in LAYERS"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_go_down(path: Path) -> None:
    me = owner(path)
    for other in imported(path) - {me}:
        assert other in LEVEL, f"{path.relative_to(SRC)} imports unknown package irlax.{other}"
        assert LEVEL[other] < LEVEL[me], (
            f"{path.relative_to(SRC)} ({me}, layer {LEVEL[me]}) imports irlax.{other} (layer {LEVEL[other]}): "
            "imports must go to a lower layer"
        )


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The import scan finds an upward import (so the test above can fail)."""
    bad = tmp_path / "bad.py"
    bad.write_text("from irlax.cli.main import main\nimport irlax.algorithms.gail\nfrom irlax import tasks\n")
    assert imported(bad) == {"cli", "algorithms", "tasks"}
