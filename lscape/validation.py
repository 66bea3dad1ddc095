"""Parameter validation with one error template shared by every public function."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import yaml


class ParameterError(ValueError):
    """An argument of a public lscape function is invalid.

    The message always names the function, the parameter, the value received
    and the accepted type or range, so the caller can fix the call directly.
    """


def parameter_error(func: str, name: str, expected: str, value: Any, hint: str = "") -> ParameterError:
    """Return a :class:`ParameterError` in the shared template (for checks the helpers below lack)."""
    return _fail(func, name, expected, value, hint)


def _fail(func: str, name: str, expected: str, value: Any, hint: str = "") -> ParameterError:
    message = f"The '{name}' parameter of {func} must be {expected}. Got {value!r} instead."
    if hint:
        message += " " + hint
    return ParameterError(message)


def _interval(low: float | None, high: float | None, closed: str) -> str:
    left = "(-inf" if low is None else ("[" if closed in ("both", "left") else "(") + f"{low:g}"
    right = "inf)" if high is None else f"{high:g}" + ("]" if closed in ("both", "right") else ")")
    return f"{left}, {right}"


def check_int(
    value: Any, name: str, func: str, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as an int after checking it lies in ``[low, high]``."""
    expected = f"an int in {_interval(low, high, 'both')}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _fail(func, name, expected, value)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(func, name, expected, value)
    return value


def check_float(
    value: Any,
    name: str,
    func: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
) -> float:
    """Return ``value`` as a float after checking it lies in the interval.

    ``closed`` is one of ``"both"``, ``"left"``, ``"right"`` or ``"neither"``
    and says which ends of ``[low, high]`` are allowed.
    """
    expected = f"a real number in {_interval(low, high, closed)}"
    if isinstance(value, bool):
        raise _fail(func, name, expected, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(func, name, expected, value) from None
    if math.isnan(number):
        raise _fail(func, name, expected, value)
    below = low is not None and (number < low or (number == low and closed in ("right", "neither")))
    above = high is not None and (number > high or (number == high and closed in ("left", "neither")))
    if below or above:
        raise _fail(func, name, expected, value)
    return number


def check_choice(value: Any, name: str, func: str, choices: Sequence[Any]) -> Any:
    """Return ``value`` after checking it is one of ``choices``."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise _fail(func, name, f"one of {{{listed}}}", value)
    return value


def check_bool(value: Any, name: str, func: str) -> bool:
    """Return ``value`` after checking it is a bool."""
    if not isinstance(value, bool):
        raise _fail(func, name, "a bool (True or False)", value)
    return value


def check_list(
    value: Any,
    name: str,
    func: str,
    check_item: Callable[[Any, str, str], Any],
    min_length: int = 1,
    unique: bool = True,
) -> list[Any]:
    """Return ``value`` as a list after checking each item with ``check_item``.

    A string is parsed as YAML first, because ``papermill -p widths "[2, 4]"``
    passes lists as strings. ``check_item`` is called as
    ``check_item(item, f"{name}[i]", func)``.
    """
    expected = f"a list of at least {min_length} item(s)"
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, list):
            raise _fail(
                func, name, expected, value,
                "Pass a YAML list such as '[2, 4, 8]' (with papermill: -y 'widths: [2, 4, 8]').",
            )
        value = parsed
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise _fail(func, name, expected, value)
    items = [check_item(item, f"{name}[{i}]", func) for i, item in enumerate(value)]
    if len(items) < min_length:
        raise _fail(func, name, expected, value)
    if unique and len(set(items)) != len(items):
        raise _fail(func, name, "a list without repeated values", value)
    return items


def check_type(value: Any, name: str, func: str, types: type | tuple[type, ...], described: str) -> Any:
    """Return ``value`` after checking ``isinstance(value, types)``."""
    if not isinstance(value, types):
        raise _fail(func, name, described, value)
    return value


def check_path(value: Any, name: str, func: str) -> str:
    """Return ``value`` as a path string after checking it is a ``str`` or ``os.PathLike``."""
    import os

    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise _fail(func, name, "a non-empty path (str or os.PathLike)", value)
    return os.fspath(value)
