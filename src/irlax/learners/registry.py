"""The sample-based learners by name: their config classes and factories.

:data:`LEARNERS` maps ``"ppo"`` and ``"sac"`` to a :class:`LearnerKind`; :func:`make_learner`
builds a :class:`~irlax.learners.base.Learner` by name for a task. Tuned configs per task,
and which learner trains a task's expert, are in the task table (:mod:`irlax.tasks`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners.base import Learner
from irlax.learners.ppo import PPOConfig, make_ppo
from irlax.learners.sac import SACConfig, make_sac


class LearnerKind(NamedTuple):
    """A learner's config class and factory.

    Attributes:
        name: ``"ppo"`` or ``"sac"``.
        config: its frozen config dataclass.
        make: ``make(config, spec) -> Learner``.
        description: one line for help texts.
    """

    name: str
    config: type
    make: Callable[[Any, EnvSpec], Learner]
    description: str


LEARNERS: dict[str, LearnerKind] = {
    "ppo": LearnerKind("ppo", PPOConfig, make_ppo, "proximal policy optimisation (Schulman et al. 2017)"),
    "sac": LearnerKind("sac", SACConfig, make_sac, "soft actor-critic, the max-ent learner (Haarnoja et al. 2018)"),
}
"""Every sample-based learner, by name."""


def get_learner_kind(name: str) -> LearnerKind:
    """The learner called ``name``; :class:`IrlaxError` listing the choices otherwise."""
    if name not in LEARNERS:
        raise IrlaxError(f"unknown learner {name!r}; choose one of {', '.join(LEARNERS)}")
    return LEARNERS[name]


def learner_name(config: Any) -> str:
    """The name of the learner whose config ``config`` is."""
    for kind in LEARNERS.values():
        if isinstance(config, kind.config):
            return kind.name
    raise IrlaxError(f"{type(config).__name__} is not the config of a learner ({', '.join(LEARNERS)})")


def make_learner(config: Any, spec: EnvSpec) -> Learner:
    """The learner whose config ``config`` is (PPO's or SAC's), bound to ``spec``."""
    return get_learner_kind(learner_name(config)).make(config, spec)


def learner_config_from_dict(name: str, fields: dict[str, Any], where: str) -> Any:
    """Rebuild learner ``name``'s config from its ``dataclasses.asdict`` form (lists back to tuples)."""
    return config_from_dict(get_learner_kind(name).config, fields, where)


def config_from_dict(config_class: type, fields: dict[str, Any], where: str) -> Any:
    """A frozen config dataclass from its ``dataclasses.asdict`` form (lists back to tuples); one-line errors."""
    if not isinstance(fields, dict):
        raise IrlaxError(f"{where}: a config must be a JSON object, not {type(fields).__name__}")
    known = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise IrlaxError(f"{where}: {config_class.__name__} has no setting(s) {', '.join(unknown)} "
                         "(another irlax version?)")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    try:
        return config_class(**values)
    except (TypeError, IrlaxError) as exc:
        raise IrlaxError(f"{where}: bad {config_class.__name__} ({exc})") from None
