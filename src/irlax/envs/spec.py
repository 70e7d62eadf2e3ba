"""What networks, rewards and losses know of a control task: :class:`EnvSpec`, and one step's outcome.

An :class:`EnvSpec` is static (hashable, a ``jax.jit`` static argument): the task's
name, its observation and action sizes and bounds, its time limit, the
environment parameters that matter (so that two variants of one task never share
a compiled program), and the *backend* that steps it. Stepping itself is the
backend's: :class:`irlax.envs.control.JaxEnv` steps pure-JAX tasks (gymnax, the
point maze) inside a jitted ``lax.scan``; a host-stepped backend (Gymnasium)
would drive the same learners from a host loop through their ``explore`` and
``learn`` functions. Nothing below the environments reads anything but the spec.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from jax import Array

from irlax.errors import IrlaxError


@dataclass(frozen=True)
class EnvSpec:
    """The static description of a control task.

    Attributes:
        name: the registered name, e.g. ``"CartPole-v1"``.
        obs_size: length ``O`` of an observation vector.
        discrete: whether actions are indices (``True``) or float vectors.
        action_size: number of actions (discrete) or action dimensions (continuous).
        action_low, action_high: bounds of each continuous action dimension (empty when discrete).
        max_steps: the time limit of an episode.
        params: the environment parameters that matter, as sorted ``(name, value)`` pairs; part of the
            spec's identity, so variants of one task (another gravity, say) compile apart.
        backend: what steps it: ``"jax"`` (a pure-JAX environment stepped inside jitted code).
    """

    name: str
    obs_size: int
    discrete: bool
    action_size: int
    action_low: tuple[float, ...] = ()
    action_high: tuple[float, ...] = ()
    max_steps: int = 1000
    params: tuple[tuple[str, Any], ...] = ()
    backend: str = "jax"

    def check_obs(self, obs: Array | np.ndarray, what: str) -> None:
        """Raise :class:`IrlaxError` unless ``obs`` has trailing size ``O``."""
        if obs.ndim == 0 or obs.shape[-1] != self.obs_size:
            raise IrlaxError(
                f"{what}: observations have size {obs.shape[-1] if obs.ndim else 0}, "
                f"but {self.name} has observations of size {self.obs_size}"
            )

    def describe(self) -> str:
        """``"obs size 4, discrete actions of size 2"``: the sizes, for messages."""
        kind = "discrete" if self.discrete else "continuous"
        return f"obs size {self.obs_size}, {kind} actions of size {self.action_size}"

    @property
    def fingerprint(self) -> str:
        """A short hash (16 hex digits) of everything but the backend: name, spaces, bounds, time limit and
        parameters. Demonstration files record it, so demonstrations of another variant of a task (other
        parameters under the same name) are refused."""
        identity = (self.name, self.obs_size, self.discrete, self.action_size, self.action_low, self.action_high,
                    self.max_steps, self.params)
        return hashlib.sha256(repr(identity).encode()).hexdigest()[:16]

    def same_spaces(self, other: EnvSpec) -> bool:
        """Whether ``other`` has the same observation size and action kind and size."""
        return (self.obs_size, self.discrete, self.action_size) == (other.obs_size, other.discrete, other.action_size)


def params_fingerprint(params: Any) -> tuple[tuple[str, Any], ...]:
    """Sorted ``(name, value)`` pairs of an environment-parameters dataclass, with arrays as nested tuples.

    Hashable and compared by value, so it can be part of an :class:`EnvSpec`.
    """
    if params is None:
        return ()
    items = params.__dict__.items() if hasattr(params, "__dict__") else ()
    out = []
    for name, value in sorted(items):
        array = np.asarray(value)
        out.append((name, array.tolist() if array.ndim else array.item()))
    return tuple((name, _frozen(value)) for name, value in out)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


class EnvStep(NamedTuple):
    """The outcome of one environment step (leaves gain a leading ``[E]`` axis when vmapped).

    Attributes:
        obs: ``[O]`` the observation to act on next (the reset observation if the episode ended).
        state: the environment state to step next (already reset if the episode ended).
        reward: ``[]`` the environment's reward for this step.
        terminated: ``[]`` bool, the episode reached a terminal state (do not bootstrap).
        truncated: ``[]`` bool, the time limit ended the episode (bootstrap from ``next_obs``).
        next_obs: ``[O]`` the true successor observation of this step.
    """

    obs: Array
    state: Any
    reward: Array
    terminated: Array
    truncated: Array
    next_obs: Array
