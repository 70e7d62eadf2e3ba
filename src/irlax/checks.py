"""Checks of the fields read from files: every scalar for its kind and range, every array for its dtype kind,
shape and finiteness.

The loaders of world files, reward files and demonstrations read arrays written by
someone else; :func:`scalar_field` and :func:`array_field` turn anything unexpected (a
string where a number belongs, an array where a scalar does, complex or object
values, NaN, a value out of range) into an :class:`~irlax.errors.IrlaxError` naming
the field, which the loader prefixes with the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from irlax.errors import IrlaxError

KIND_NAMES = {"b": "boolean", "i": "integer", "u": "integer", "f": "float", "c": "complex", "U": "string",
              "S": "bytes", "O": "object", "V": "raw", "M": "datetime", "m": "timedelta"}
NUMBER_KINDS = "buif"
"""Kinds a float field accepts (booleans and integers convert exactly enough)."""
INTEGER_KINDS = "iu"


def describe(value: Any) -> str:
    """What a value read from a file is, in words: ``a string``, ``a float array of shape (3, 2)``."""
    array = np.asarray(value)
    kind = KIND_NAMES.get(array.dtype.kind, str(array.dtype))
    if array.ndim == 0:
        return f"the {kind} {array.item()!r}" if array.dtype.kind in "biufU" else f"a {kind} value"
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{article} {kind} array of shape {array.shape}"


def scalar_field(value: Any, name: str, kind: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> Any:
    """A scalar field as a Python ``int``, ``float``, ``bool`` or ``str``, checked for kind and range.

    Args:
        value: the array read from the file (a 0-d array is a scalar; anything else is refused).
        name: the field's name, for the message.
        kind: ``"int"`` (integer dtype, or a float holding a whole number), ``"float"`` (any finite real number),
            ``"bool"`` or ``"str"``.
        low, high: the inclusive range of a number (``low_open``: ``low`` itself excluded).

    Raises:
        IrlaxError: naming the field and what it holds instead.
    """
    array = np.asarray(value)
    expected = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string"}[kind]
    if array.ndim != 0:
        raise IrlaxError(f"'{name}' must be {expected}, got {describe(array)}")
    dtype_kind = array.dtype.kind
    if kind == "str":
        if dtype_kind not in "US":
            raise IrlaxError(f"'{name}' must be {expected}, got {describe(array)}")
        return str(array.item() if dtype_kind == "U" else array.item().decode(errors="replace"))
    if kind == "bool":
        if dtype_kind != "b" and not (dtype_kind in INTEGER_KINDS and array.item() in (0, 1)):
            raise IrlaxError(f"'{name}' must be {expected}, got {describe(array)}")
        return bool(array.item())
    if dtype_kind not in NUMBER_KINDS:
        raise IrlaxError(f"'{name}' must be {expected}, got {describe(array)}")
    number = array.item()
    if dtype_kind == "f":
        if not np.isfinite(number):
            raise IrlaxError(f"'{name}' must be {expected}, got {number}")
        if kind == "int":
            if not float(number).is_integer():
                raise IrlaxError(f"'{name}' must be {expected}, got {describe(array)}")
            number = int(number)
    elif kind == "float":
        number = float(number)
    else:
        number = int(number)
    if low is not None and (number < low or (low_open and number == low)):
        raise IrlaxError(f"'{name}' must be {'>' if low_open else '>='} {low:g}, got {number:g}")
    if high is not None and number > high:
        raise IrlaxError(f"'{name}' must be at most {high:g}, got {number:g}")
    return number


def array_field(value: Any, name: str, kinds: str, *, ndim: int | Sequence[int] | None = None,
                shape: Sequence[int | None] | None = None, finite: bool = True, nonempty: bool = True) -> np.ndarray:
    """An array field, checked for dtype kind, number of dimensions, shape and finiteness.

    Args:
        value: the array read from the file.
        name: the field's name, for the message.
        kinds: the accepted dtype kinds (:data:`NUMBER_KINDS` for real numbers, ``"iu"`` for indices).
        ndim: the accepted number(s) of dimensions.
        shape: the expected shape (``None`` entries: any size).
        finite: refuse NaN and infinities (float arrays).
        nonempty: refuse an array with no elements.

    Raises:
        IrlaxError: naming the field and the first problem.
    """
    array = np.asarray(value)
    if array.dtype.kind not in kinds:
        wanted = ("integers" if set(kinds) <= set(INTEGER_KINDS) else "real numbers" if set(kinds) <= set(NUMBER_KINDS)
                  else " or ".join(dict.fromkeys(KIND_NAMES[k] for k in kinds)) + " values")
        raise IrlaxError(f"'{name}' must be an array of {wanted}, got {describe(array)}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if ndims is not None and array.ndim not in ndims:
        counts = ", ".join(map(str, ndims[:-1])) + (" or " if len(ndims) > 1 else "") + str(ndims[-1])
        raise IrlaxError(f"'{name}' must have {counts} dimensions, got shape {array.shape}")
    if shape is not None and (len(shape) != array.ndim
                              or any(s is not None and s != n for s, n in zip(shape, array.shape, strict=False))):
        wanted_shape = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
        raise IrlaxError(f"'{name}' must have shape {wanted_shape}, got {list(array.shape)}")
    if nonempty and array.size == 0:
        raise IrlaxError(f"'{name}' is empty (shape {array.shape})")
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise IrlaxError(f"'{name}' has the non-finite value {array[index]} at {list(index)}")
    return array


def magnitude_limit(dtype: Any) -> float:
    """The largest magnitude a value may have so that sums and products of two such values stay finite in ``dtype``:
    the square root of its largest number (about 1.8e19 for float32)."""
    return float(np.sqrt(np.finfo(dtype).max))
