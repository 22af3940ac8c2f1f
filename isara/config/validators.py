"""Building the typed params from parsed YAML, and the value checks every field uses.

Every message names the key at fault: ``params.yaml: gamma must be in [0, 1], got 1.5``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing

from isara.errors import IsaraError

EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # 5e-05: a float YAML 1.1 reads as a string
NAME = re.compile(r"[a-z][a-z0-9_]*")  # matched whole (fullmatch): no trailing newline slips through  # a method, run or prompt-set name: also a folder and a stage name


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
        value = float(value)
    if kind is float and isinstance(value, str) and EXPONENT.fullmatch(value.strip()):
        value = float(value)  # `dvc exp run -S lr=0.00005` writes 5e-05, which PyYAML leaves a string
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise IsaraError(f"params.yaml: {key} must be a finite number, got {value}")
    if kind is bool and not isinstance(value, bool) or kind is not bool and isinstance(value, bool):
        raise IsaraError(f"params.yaml: {key} must be {kind.__name__}, got {value!r}")
    if not isinstance(value, kind):
        raise IsaraError(f"params.yaml: {key} must be {kind.__name__}, got {value!r}")
    return value


MAX_COUNT = 10_000_000  # the bound of counts that have no natural one: far beyond any real run


def positive(key: str, value: int, high: int = MAX_COUNT) -> None:
    integer(key, value, 1, high)


def integer(key: str, value: int, low: int, high: int = MAX_COUNT) -> None:
    if not low <= value <= high:
        raise IsaraError(f"params.yaml: {key} must be an integer in [{low}, {high}], got {value}")


def in_range(key, value, low, high, low_open=False, high_open=False) -> None:
    """low <= value <= high (or < at an open end; high None = no bound). NaN fails every check."""
    above = value > low if low_open else value >= low
    below = high is None or (value < high if high_open else value <= high)
    if not (above and below):
        left, right = "(" if low_open else "[", ")" if high_open or high is None else "]"
        raise IsaraError(f"params.yaml: {key} must be in {left}{low}, {'inf' if high is None else high}{right}, "
                         f"got {value}")


def choice(key: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise IsaraError(f"params.yaml: {key} must be one of {', '.join(options)}, got {value!r}")


def choices(key: str, values, options: tuple[str, ...]) -> None:
    """A list of options, each named once: `[harm, harm]` would run and count one suite twice."""
    for value in values:
        choice(f"{key}[]", value, options)
    repeated = sorted({value for value in values if list(values).count(value) > 1})
    if repeated:
        raise IsaraError(f"params.yaml: {key} names {repeated[0]!r} more than once")


def name(key: str, value) -> None:
    """A name that becomes a folder and a DVC stage name: lower-case letters, digits, underscores."""
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise IsaraError(f"params.yaml: {key} must be a name of lower-case letters, digits and "
                         f"underscores starting with a letter, got {value!r}")
