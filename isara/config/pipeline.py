"""The names dvc.yaml builds stages for, and the check that params.yaml configures exactly those.

Every stage name and output path comes from fixed lists written in dvc.yaml (the loop's runs, the
evaluate matrix's methods and suites, the judge stages), never from a params.yaml value: DVC
removes a stage's outputs before any stage can validate params (`dvc repro -s` skips `check`;
`dvc exp run` checks the workspace out first), so a value such as `../data` must never be able to
become a path. params.yaml only selects among and configures these names; `check` (and
`isara check`) refuse a params.yaml whose runs or methods differ from dvc.yaml's, in one line
that says which file to edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from isara.config.names import JUDGE_STAGES, SUITES
from isara.config.schema import Params
from isara.errors import IsaraError


@dataclass(frozen=True)
class Pipeline:
    """The fixed names of dvc.yaml."""

    runs: dict[str, str]  # run -> the run it starts from (the loop stages' foreach)
    methods: tuple[str, ...]  # the evaluate matrix's methods
    suites: tuple[str, ...]  # the evaluate matrix's suites
    judges: tuple[str, ...]  # the judge stages' foreach


def _stage(stages: dict, name: str, path: Path) -> dict:
    stage = stages.get(name)
    if not isinstance(stage, dict):
        raise IsaraError(f"{path}: has no stage '{name}'")
    return stage


def _names(value, what: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise IsaraError(f"{path}: {what} must be a list of names written in the file, got {value!r}")
    return tuple(value)


def read_pipeline(path: str | Path = "dvc.yaml") -> Pipeline:
    """The fixed lists of dvc.yaml; an interpolated list (`${...}`) is refused, since it is a params value."""
    path = Path(path)
    try:
        stages = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stages") or {}
    except (OSError, yaml.YAMLError, AttributeError) as err:
        raise IsaraError(f"{path}: cannot be read as a DVC pipeline ({err})") from None
    runs = _stage(stages, "embed", path).get("foreach")
    if not isinstance(runs, dict) or not all(isinstance(r, dict) and isinstance(r.get("prev"), str)
                                             for r in runs.values()):
        raise IsaraError(f"{path}: embed's foreach must be the runs written in the file, "
                         f"each {{prev: RUN}}, got {runs!r}")
    matrix = _stage(stages, "evaluate", path).get("matrix") or {}
    return Pipeline(runs={name: run["prev"] for name, run in runs.items()},
                    methods=_names(matrix.get("method"), "evaluate's matrix.method", path),
                    suites=_names(matrix.get("suite"), "evaluate's matrix.suite", path),
                    judges=_names(_stage(stages, "judge", path).get("foreach"), "judge's foreach", path))


def check_pipeline(p: Params, pipeline: Pipeline, params_path: str = "params.yaml",
                   dvc_path: str = "dvc.yaml") -> None:
    """params.yaml's runs and methods are exactly dvc.yaml's; every suite and judge has its stages."""
    runs = {name: run.prev for name, run in p.runs.items()}
    if runs != pipeline.runs:
        raise IsaraError(f"{params_path}: runs {_show(runs)} must match the runs of {dvc_path} "
                         f"{_show(pipeline.runs)}: stage names come from {dvc_path} only, so edit both")
    if sorted(p.methods) != sorted(pipeline.methods):
        raise IsaraError(f"{params_path}: methods [{', '.join(p.methods)}] must match the methods of "
                         f"{dvc_path}'s evaluate matrix [{', '.join(pipeline.methods)}]: edit both")
    for kind, names, known in (("suite", pipeline.suites, SUITES), ("judge", pipeline.judges, JUDGE_STAGES)):
        if sorted(names) != sorted(known):
            raise IsaraError(f"{dvc_path}: the {kind} stages must be exactly {', '.join(known)}, "
                             f"got {', '.join(names)}")


def _show(runs: dict[str, str]) -> str:
    return "{" + ", ".join(f"{name}: {prev}" for name, prev in runs.items()) + "}"
