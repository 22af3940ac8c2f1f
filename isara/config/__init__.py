"""The one typed, validated view of params.yaml that every stage reads (`load_params`)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import yaml

from isara.config.validators import build
from isara.config.names import HARM_JUDGES, JUDGE_STAGES, PROMPTINGS, SEED_SOURCES, SUITES
from isara.config.schema import Params
from isara.errors import IsaraError

__all__ = ["HARM_JUDGES", "JUDGE_STAGES", "PROMPTINGS", "SEED_SOURCES", "SUITES", "Params", "in_file", "load_params"]


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
        params = build(Params, raw)
    except IsaraError as err:
        raise IsaraError(in_file(str(err), path)) from None
    source = benchmark_source(params.benchmarks.source, os.environ.get("DVC_ROOT"), Path.cwd())
    if source != params.benchmarks.source:
        params = dataclasses.replace(params, benchmarks=dataclasses.replace(params.benchmarks, source=source))
    return params


def in_file(message: str, path: str | Path) -> str:
    """A problem worded for params.yaml (`params.yaml: KEY ...`), naming the file that was read."""
    prefix = "params.yaml:"
    return f"{path}:{message[len(prefix):]}" if message.startswith(prefix) else message


def benchmark_source(source: str, dvc_root: str | None, cwd: Path) -> str:
    """`benchmarks.source`, read from the project's own root when a stage runs in a copy of it:
    `dvc exp run --queue` and `--temp` run stages under .dvc/tmp/exps/ (DVC_ROOT names the
    project), where a relative ../shared/data would lead nowhere."""
    if not dvc_root or Path(source).is_absolute() or source.startswith("~"):
        return source
    if Path(dvc_root).resolve() == cwd.resolve():
        return source
    in_project = Path(dvc_root) / source
    return str(in_project.resolve()) if in_project.exists() else source
