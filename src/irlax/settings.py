"""Config dataclasses with settings from the command line (``--set KEY=VALUE``).

Every algorithm and learner has one frozen, typed config dataclass; :func:`apply_overrides`
replaces some of its fields, converting text to each field's type, with one-line errors.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from irlax.errors import IrlaxError


def apply_overrides(config: Any, overrides: dict[str, Any], name: str) -> Any:
    """A frozen config dataclass with ``overrides`` applied, strings converted to the current value's type.

    Raises:
        IrlaxError: an unknown field (the message lists the settings) or a value that does not convert.
    """
    fields = {f.name for f in dataclasses.fields(config)}
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            raise IrlaxError(f"{name} has no setting {key!r}; settings: {', '.join(sorted(fields))}")
        value = convert_setting(key, value, getattr(config, key)) if isinstance(value, str) else value
        values[key] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(config, **values)


def convert_setting(key: str, text: str, current: Any) -> Any:
    """``text`` as a value of the type of ``current`` (``"none"`` -> None; tuples as ``"64,64"``)."""
    try:
        if text.lower() == "none":
            return None
        if isinstance(current, bool):
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes")
        if isinstance(current, tuple):
            return tuple(int(x) for x in text.split(",") if x)
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if current is None:  # an optional number: an int unless it looks like a float
            return float(text) if any(c in text.lower() for c in ".e") else int(text)
        return text
    except ValueError:
        raise IrlaxError(f"setting {key}={text!r} is not a valid value") from None


def parse_overrides(items: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` (the command line's ``--set``) -> dict; :class:`IrlaxError` on a malformed item."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise IrlaxError(f"--set takes key=value, got {item!r}")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


# -- checking config values -------------------------------------------------------------------------------------

COUNTS_FROM_ZERO = frozenset({"reward_steps", "gradient_steps", "learning_starts"})
"""Integer settings that may be 0 (every other integer setting is a count or a size: at least 1)."""

POSITIVE = frozenset({"learning_rate", "tolerance", "planning_tolerance", "tau", "initial_alpha", "max_grad_norm",
                      "obs_clip", "clip_eps", "clip_value", "random_hold", "bandwidth"})
"""Real settings that must be positive (besides every ``*_lr``): step sizes, tolerances, clips."""

NON_NEGATIVE = frozenset({"l2", "reward_l2", "ent_coef", "vf_coef", "loss_scale", "epsilon", "stall_tolerance"})
"""Real settings that must be at least 0: weights of penalties and bonuses, stopping thresholds."""

DISCOUNTS = frozenset({"gamma", "discount"})
"""Discount factors: in (0, 1]."""

PROBABILITIES = frozenset({"gae_lambda", "determinism", "sparsity", "object_prob", "blue_prob"})
"""Settings in [0, 1]."""


def field_rule(field: dataclasses.Field) -> str | None:
    """How a config field's value is checked: its ``metadata["check"]``, else by its name.

    One of ``"count"`` (an integer >= 1; ``None`` allowed where the type is optional), ``"count0"`` (>= 0),
    ``"positive"``, ``"non_negative"``, ``"discount"`` (in (0, 1]), ``"probability"`` (in [0, 1]), or ``None``
    (any finite number for a real setting; nothing for others).
    """
    if "check" in field.metadata:
        return field.metadata["check"]
    name = field.name
    if name in COUNTS_FROM_ZERO:
        return "count0"
    if name in POSITIVE or name.endswith("_lr"):
        return "positive"
    if name in NON_NEGATIVE:
        return "non_negative"
    if name in DISCOUNTS:
        return "discount"
    if name in PROBABILITIES:
        return "probability"
    return None


def _type_names(annotation: Any) -> set[str]:
    """The simple type names of a field's annotation (a string under ``from __future__ import annotations``)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return {part.strip().split("[")[0] for part in text.split("|")}


def check_fields(config: Any) -> None:
    """Check every field of a frozen config dataclass against its type and its rule (:func:`field_rule`).

    Integer fields are counts (at least 1, a few at least 0); real fields must be finite, step sizes and
    tolerances positive, penalties non-negative, discounts in (0, 1], probabilities in [0, 1]; tuples of
    integers (layer widths) positive; ``None`` only where the type is optional. Values that are not plain
    numbers (traced arrays) are left alone. Config classes call this from ``__post_init__``, so a bad value
    is refused when the config is built: from ``--set``, from a run's ``config.json`` or in library code.

    Raises:
        IrlaxError: the first bad field, named, with its value and what it must be.
    """
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        types = _type_names(field.type)
        name = field.name
        if value is None:
            if "None" not in types and "Any" not in types:
                raise IrlaxError(f"{name} must be set (it can't be none)")
            continue
        if "bool" in types:
            if not isinstance(value, bool | np.bool_):
                raise IrlaxError(f"{name} must be true or false, got {value!r}")
            continue
        if "tuple" in types:
            if not isinstance(value, tuple) or not all(_is_int(v) and v >= 1 for v in value):
                raise IrlaxError(f"{name} must be positive integers (e.g. 64,64), got {value!r}")
            continue
        if "str" in types and "int" not in types and "float" not in types:
            if not isinstance(value, str):
                raise IrlaxError(f"{name} must be text, got {value!r}")
            continue
        if "int" in types and "float" not in types:
            if not _is_int(value):
                if _is_number(value) or isinstance(value, str | list | dict | tuple):
                    raise IrlaxError(f"{name} must be an integer, got {value!r}")
                continue  # a traced value
            _check_number(name, value, field_rule(field) or "count")
        elif "float" in types:
            if not _is_number(value):
                if isinstance(value, str | list | dict | tuple | bool):
                    raise IrlaxError(f"{name} must be a number, got {value!r}")
                continue
            _check_number(name, float(value), field_rule(field))


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def _check_number(name: str, value: float, rule: str | None) -> None:
    """One-line :class:`IrlaxError` unless ``value`` is finite and follows ``rule`` (see :func:`field_rule`)."""
    if not math.isfinite(value):
        raise IrlaxError(f"{name} must be a finite number, got {value}")
    bad = {
        "count": (value < 1, "positive"),
        "count0": (value < 0, "non-negative"),
        "positive": (value <= 0, "positive"),
        "non_negative": (value < 0, "non-negative"),
        "discount": (not 0 < value <= 1, "in (0, 1]"),
        "probability": (not 0 <= value <= 1, "in [0, 1]"),
    }.get(rule, (False, ""))
    if bad[0]:
        raise IrlaxError(f"{name} must be {bad[1]}, got {value}")
