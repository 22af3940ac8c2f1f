"""The one typed, validated view of params.yaml that every stage reads (`load_params`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from isara.config.checks import build
from isara.config.schema import (HARM_JUDGES, JUDGE_STAGES, PROMPTINGS, SEED_SOURCES, SUITES, Params)
from isara.errors import IsaraError

__all__ = ["HARM_JUDGES", "JUDGE_STAGES", "PROMPTINGS", "SEED_SOURCES", "SUITES", "Params", "load_params"]


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; raise IsaraError naming the offending key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise IsaraError(f"{path}: not valid YAML ({err})") from None
    try:
        return build(Params, raw)
    except IsaraError as err:
        raise IsaraError(str(err).replace("params.yaml:", f"{path}:", 1)) from None
