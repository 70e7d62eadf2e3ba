"""Reward models as small (init, apply) pairs.

A :class:`RewardModel` maps features to rewards: ``init(key, features) -> params``
and ``apply(params, features) -> reward``. State features ``[S, F]`` give a state
reward ``[S]``; state-action features ``[S, A, F]`` give ``[S, A]``. Models are
combined by composition, never subclassed (like optax's GradientTransformation).
A model whose params are a dict may keep untrained values under the key
:data:`FROZEN`; optimisers leave that subtree alone (no update, no weight decay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from jax import Array

Params = Any

FROZEN = "frozen"
"""Params may be a dict with this key: a subtree that is not trained (e.g. input statistics)."""


class RewardModel(NamedTuple):
    """An (init, apply) pair: ``init(key, features) -> params``, ``apply(params, features) -> reward``."""

    init: Callable[[Array, Array], Params]
    apply: Callable[[Params, Array], Array]
