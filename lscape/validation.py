"""Parameter validation with one error template shared by every public function."""

from __future__ import annotations

import math
import os
import re
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


MAX_REPR = 200  # longer reprs (a model, a tensor) are cut, and the type is named


def shown(value: Any) -> str:
    """Return ``repr(value)``, cut to :data:`MAX_REPR` characters with the type named when longer."""
    text = repr(value)
    if len(text) <= MAX_REPR:
        return text
    return f"{text[:MAX_REPR]}... (a {type(value).__module__}.{type(value).__qualname__})"


def _fail(func: str, name: str, expected: str, value: Any, hint: str = "") -> ParameterError:
    message = f"The '{name}' parameter of {func} must be {expected}. Got {shown(value)} instead."
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
    # float() parses numeric strings, but dataclass fields keep the value as
    # passed, so a string would reach the optimizer. Strings are rejected here.
    if isinstance(value, (bool, str, bytes)):
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


# PyYAML follows YAML 1.1, which reads a number in exponent notation without a
# decimal point (``5e-4``) as a string. YAML 1.2 reads it as a float.
_EXPONENT_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")


def _yaml_exponent_float(item: Any) -> Any:
    """Return ``item`` as a float when it is a string that YAML 1.2 reads as one, else unchanged."""
    if isinstance(item, str) and _EXPONENT_FLOAT.fullmatch(item):
        return float(item)
    return item


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
        value = [_yaml_exponent_float(item) for item in parsed]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()  # np.logspace(...) and friends
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
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise _fail(func, name, "a non-empty path (str or os.PathLike)", value)
    return os.fspath(value)


def check_optional_path(value: Any, name: str, func: str) -> str | None:
    """Return None, or ``value`` as a path string after the checks of :func:`check_path`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise _fail(func, name, "a non-empty path (str or os.PathLike) or None", value)
    return os.fspath(value)


def check_str(value: Any, name: str, func: str) -> str:
    """Return ``value`` after checking it is a non-empty str."""
    if not isinstance(value, str) or not value:
        raise _fail(func, name, "a non-empty str", value)
    return value


def check_callable(value: Any, name: str, func: str, described: str = "a callable") -> Any:
    """Return ``value`` after checking it can be called."""
    if not callable(value):
        raise _fail(func, name, described, value)
    return value


def check_module(value: Any, name: str, func: str) -> Any:
    """Return ``value`` after checking it is a ``torch.nn.Module``."""
    from torch import nn

    if not isinstance(value, nn.Module):
        raise _fail(func, name, "a torch.nn.Module", value)
    return value


def check_tensor(value: Any, name: str, func: str, ndim: int | None = None, min_ndim: int | None = None) -> Any:
    """Return ``value`` after checking it is a ``torch.Tensor``, optionally of ``ndim`` dimensions.

    ``min_ndim`` sets a lower bound on the number of dimensions instead of an exact count.
    """
    import torch

    if ndim is not None:
        expected = f"a torch.Tensor with {ndim} dimension(s)"
    elif min_ndim is not None:
        expected = f"a torch.Tensor with at least {min_ndim} dimension(s)"
    else:
        expected = "a torch.Tensor"
    if not isinstance(value, torch.Tensor):
        raise _fail(func, name, expected, value)
    if (ndim is not None and value.dim() != ndim) or (min_ndim is not None and value.dim() < min_ndim):
        raise _fail(func, name, expected, value, f"Its shape is {tuple(value.shape)}.")
    return value


def check_dataset(value: Any, name: str, func: str, described: str = "an xarray.Dataset") -> Any:
    """Return ``value`` after checking it is an ``xarray.Dataset``."""
    import xarray as xr

    if not isinstance(value, xr.Dataset):
        raise _fail(func, name, described, value)
    return value


def check_data_array(value: Any, name: str, func: str, described: str = "an xarray.DataArray or None") -> Any:
    """Return ``value`` after checking it is an ``xarray.DataArray`` or None."""
    import xarray as xr

    if value is not None and not isinstance(value, xr.DataArray):
        raise _fail(func, name, described, value)
    return value


def coerce_numbers(instance: Any) -> None:
    """Turn the numeric fields of a frozen dataclass into plain ``int`` and ``float`` in place.

    NumPy scalars become Python numbers, and a float field given as a string
    in exponent notation (``"5e-4"``, which PyYAML reads from a YAML file
    or from papermill's ``-y``) becomes a float. Other values are left for
    the field's check to reject. Store keys are computed from these fields,
    so equal settings must have equal types.
    """
    from dataclasses import fields

    for field in fields(instance):
        value = getattr(instance, field.name)
        kind = str(field.type)
        if isinstance(value, np.bool_):
            value = bool(value)
        elif isinstance(value, np.integer):
            value = int(value)
        elif isinstance(value, np.floating) or ("float" in kind and isinstance(value, str)):
            value = _yaml_exponent_float(value) if isinstance(value, str) else float(value)
        else:
            continue
        object.__setattr__(instance, field.name, value)
