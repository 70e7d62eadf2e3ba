"""Config dataclasses with settings from the command line (``--set KEY=VALUE``).

Every algorithm and learner has one frozen, typed config dataclass; :func:`apply_overrides`
replaces some of its fields, converting text to each field's type, with one-line errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any

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
