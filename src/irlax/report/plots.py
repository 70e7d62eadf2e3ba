"""Figures for run directories: reward maps, learning curves, EVD against N.

Figures are built on a bare ``matplotlib.figure.Figure`` with an Agg canvas, so
no display is needed and no pyplot state (current figure, open-figure list) is
touched. Every function saves a PNG atomically and returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from irlax.atomic import PathLike, atomic_savefig
from irlax.errors import IrlaxError

__all__ = ["plot_evd_vs_n", "plot_metric_curves", "plot_reward_maps"]

_DPI = 120


def _new_figure(width: float, height: float) -> Figure:
    """A figure of the given size (inches) drawn by the Agg canvas."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(path: PathLike, fig: Figure) -> Path:
    """Save ``fig`` atomically at the module's resolution."""
    return atomic_savefig(path, fig, dpi=_DPI)


def plot_reward_maps(
    path: PathLike,
    grid_shape: tuple[int, int],
    maps: Mapping[str, np.ndarray],
    title: str | None = None,
) -> Path:
    """Plot named per-state reward maps side by side, each with its own colorbar.

    ``grid_shape`` is (rows, cols); each map has S = rows * cols entries with
    state ``s = y * cols + x``, drawn with ``origin='lower'`` so y grows upward.
    E.g. ``maps={"true": r, "MaxEnt": r1, "Deep MaxEnt": r2}``.
    """
    rows, cols = grid_shape
    if not maps:
        raise IrlaxError("plot_reward_maps needs at least one reward map")
    fig = _new_figure(3.4 * len(maps), 3.0 * max(rows / cols, 0.5) + 0.6)
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for ax, (name, reward) in zip(axes, maps.items(), strict=True):
        values = np.asarray(reward, dtype=float)
        if values.size != rows * cols:
            raise IrlaxError(
                f"reward map {name!r} has {values.size} entries, grid {rows}x{cols} needs "
                f"{rows * cols}"
            )
        image = ax.imshow(values.reshape(rows, cols), origin="lower", cmap="viridis")
        fig.colorbar(image, ax=ax, shrink=0.85)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    if title:
        fig.suptitle(title)
    return _save(path, fig)


def _mean_and_stderr(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over seeds (axis 0) and its standard error (zero with one seed)."""
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        return mean, np.zeros_like(mean)
    return mean, values.std(axis=0, ddof=1) / np.sqrt(values.shape[0])


def plot_metric_curves(
    path: PathLike,
    curves: Mapping[str, np.ndarray],
    ylabel: str,
    xlabel: str = "iteration",
    title: str | None = None,
) -> Path:
    """Plot each named curve's mean over seeds with a shaded +-1 standard-error band.

    Each curve is ``[seeds, iterations]`` (a 1-D array counts as one seed).
    """
    fig = _new_figure(6.0, 4.0)
    ax = fig.subplots()
    for name, curve in curves.items():
        values = np.atleast_2d(np.asarray(curve, dtype=float))
        if values.ndim != 2:
            raise IrlaxError(f"curve {name!r} must be [seeds, iterations], got {values.shape}")
        mean, stderr = _mean_and_stderr(values)
        steps = np.arange(values.shape[1])
        (line,) = ax.plot(steps, mean, label=name)
        ax.fill_between(steps, mean - stderr, mean + stderr, color=line.get_color(), alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if curves:
        ax.legend()
    return _save(path, fig)


def plot_evd_vs_n(
    path: PathLike,
    results: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    title: str,
    ylabel: str = "expected value difference",
) -> Path:
    """Plot expected value difference (or another ``ylabel``) against the number of demonstrations N.

    ``results`` maps an algorithm name to ``(N values, mean EVD, stderr)``, three
    arrays of equal length; each becomes an errorbar line. The x axis is
    logarithmic with the N values themselves as ticks.
    """
    fig = _new_figure(6.0, 4.0)
    ax = fig.subplots()
    ticks: set[float] = set()
    for name, (n_values, mean, stderr) in results.items():
        n, m, e = (np.asarray(a, dtype=float).ravel() for a in (n_values, mean, stderr))
        if not n.shape == m.shape == e.shape:
            raise IrlaxError(f"results for {name!r}: N, mean and stderr differ in length")
        if np.any(n <= 0):
            raise IrlaxError(f"results for {name!r}: N values must be positive (log axis)")
        ax.errorbar(n, m, yerr=e, marker="o", capsize=3, label=name)
        ticks.update(n.tolist())
    ax.set_xscale("log")  # before the ticks: setting the scale resets the locators
    ax.set_xticks(sorted(ticks), labels=[f"{t:g}" for t in sorted(ticks)])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("number of demonstrations N")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if results:
        ax.legend()
    return _save(path, fig)
