"""Reward models as small (init, apply) pairs.

A :class:`RewardModel` maps features to rewards: ``init(key, features) -> params``
and ``apply(params, features) -> reward``. State features ``[S, F]`` give a state
reward ``[S]``; state-action features ``[S, A, F]`` give ``[S, A]``. Models are
combined by composition, never subclassed (like optax's GradientTransformation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from jax import Array

Params = Any


class RewardModel(NamedTuple):
    """An (init, apply) pair: ``init(key, features) -> params``, ``apply(params, features) -> reward``."""

    init: Callable[[Array, Array], Params]
    apply: Callable[[Params, Array], Array]
