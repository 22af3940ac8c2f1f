"""Building the typed params from parsed YAML, and the value checks every field uses.

Every message names the key at fault: ``params.yaml: gamma must be in [0, 1], got 1.5``.
"""

from __future__ import annotations

import dataclasses
import re
import typing

from isara.errors import IsaraError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a method, run or prompt-set name: also a folder and a stage name


def build(cls, raw, prefix: str = ""):
    """An instance of the dataclass `cls` from a mapping; unknown keys and wrong types are errors."""
    if not isinstance(raw, dict):
        raise IsaraError(f"params.yaml: {prefix.rstrip('.') or 'top level'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise IsaraError(f"params.yaml: unknown key '{prefix}{unknown[0]}'")
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in raw:
            raise IsaraError(f"params.yaml: {prefix}{name} is missing")
    return cls(**{name: _value(prefix + name, hints[name], value) for name, value in raw.items()})


def _value(key: str, kind, value):
    if dataclasses.is_dataclass(kind):
        return build(kind, value, key + ".")
    if typing.get_origin(kind) is dict:  # a table: name -> entry
        entry = typing.get_args(kind)[1]
        if not isinstance(value, dict):
            raise IsaraError(f"params.yaml: {key} must be a mapping")
        return {name: _value(f"{key}.{name}", entry, item) for name, item in value.items()}
    return coerce(key, kind, value)


def coerce(key: str, kind, value):
    if kind is tuple and isinstance(value, list):
        return tuple(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool) or kind is not bool and isinstance(value, bool):
        raise IsaraError(f"params.yaml: {key} must be {kind.__name__}, got {value!r}")
    if not isinstance(value, kind):
        raise IsaraError(f"params.yaml: {key} must be {kind.__name__}, got {value!r}")
    return value


def positive(key: str, value: int) -> None:
    if value < 1:
        raise IsaraError(f"params.yaml: {key} must be >= 1, got {value}")


def in_range(key, value, low, high, low_open=False) -> None:
    too_low = value <= low if low_open else value < low
    if too_low or (high is not None and value > high):
        left = "(" if low_open else "["
        right = f"{high}]" if high is not None else "inf)"
        raise IsaraError(f"params.yaml: {key} must be in {left}{low}, {right}, got {value}")


def choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise IsaraError(f"params.yaml: {key} must be one of {', '.join(options)}, got {value!r}")


def name(key: str, value) -> None:
    """A name that becomes a folder and a DVC stage name: lower-case letters, digits, underscores."""
    if not isinstance(value, str) or not NAME.match(value):
        raise IsaraError(f"params.yaml: {key} must be a name of lower-case letters, digits and "
                         f"underscores starting with a letter, got {value!r}")
