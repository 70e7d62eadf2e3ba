"""The tabular IRL algorithms by name, and running one over many seeds at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
from jax import Array

from irlax.algorithms import deep_maxent, maxent, mce
from irlax.algorithms.tabular_fit import TabularIRLResult
from irlax.data.trajectories import Trajectories, check_trajectories_fit
from irlax.envs.tabular import TabularMDP
from irlax.errors import IrlaxError


class Algorithm(NamedTuple):
    """A tabular IRL algorithm: its config class, its pure ``fit`` and a one-line description."""

    config: type
    fit: Callable[..., TabularIRLResult]
    description: str


ALGORITHMS: dict[str, Algorithm] = {
    "maxent": Algorithm(
        maxent.MaxEntConfig, maxent.fit, "Maximum Entropy IRL, linear reward (Ziebart et al. 2008)"
    ),
    "mce": Algorithm(mce.MCEConfig, mce.fit, "Maximum causal entropy IRL, linear reward (Ziebart et al. 2010)"),
    "deep-maxent": Algorithm(
        deep_maxent.DeepMaxEntConfig, deep_maxent.fit, "Deep MaxEnt IRL, neural reward (Wulfmeier et al. 2016)"
    ),
}


def get_algorithm(name: str) -> Algorithm:
    """The algorithm called ``name``; :class:`IrlaxError` listing the choices otherwise."""
    if name not in ALGORITHMS:
        raise IrlaxError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def make_config(name: str, overrides: dict[str, Any]) -> Any:
    """The config of algorithm ``name`` with ``overrides`` applied, strings converted to field types.

    Raises:
        IrlaxError: an unknown field or a value that does not convert.
    """
    config_cls = get_algorithm(name).config
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            raise IrlaxError(f"{name} has no setting {key!r}; settings: {', '.join(fields)}")
        default = getattr(config_cls(), key)
        values[key] = _convert(key, value, default) if isinstance(value, str) else value
    return config_cls(**values)


def _convert(key: str, text: str, default: Any) -> Any:
    try:
        if text.lower() == "none":
            return None
        if isinstance(default, tuple):
            return tuple(int(x) for x in text.split(",") if x)
        if isinstance(default, bool):
            return text.lower() in ("1", "true", "yes")
        if isinstance(default, int) or (default is None and key == "horizon"):
            return int(text)
        if isinstance(default, float):
            return float(text)
        return text
    except ValueError:
        raise IrlaxError(f"setting {key}={text!r} is not a valid value") from None


def fit_seeds(name: str, config: Any, keys: Array, mdp: TabularMDP, demos: Trajectories) -> TabularIRLResult:
    """Run algorithm ``name`` once per key (``keys [K, 2]``), vmapped and jitted; leaves gain a ``[K]`` axis."""
    check_trajectories_fit(demos, mdp.num_states, mdp.num_actions)
    fit = get_algorithm(name).fit
    run = jax.jit(jax.vmap(lambda key: fit(config, key, mdp, demos)))
    return run(keys)
