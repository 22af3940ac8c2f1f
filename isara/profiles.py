"""Profiles: named sets of params.yaml overrides (`profiles/NAME.yaml`, dotted keys).

    isara profile safety --apply                                # write them into params.yaml (comments kept)
    args=$(isara profile safety) && dvc exp run $args           # or run them as a DVC experiment
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from isara.errors import IsaraError
from isara.atomic import atomic_file
from isara.config import load_params

PROFILE_DIR = Path("profiles")


def load_profile(name: str, profile_dir: Path = PROFILE_DIR) -> dict[str, Any]:
    """The overrides of a profile, given by name (profiles/NAME.yaml) or by path."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else Path(profile_dir) / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(profile_dir).glob("*.yaml"))
        raise IsaraError(f"unknown profile '{name}' (no {path}; known: {', '.join(known) or 'none'})")
    overrides = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(overrides, dict):
        raise IsaraError(f"{path}: a profile is a mapping of dotted params keys to values")
    return overrides


def apply_profile(params_path: str | Path, overrides: dict[str, Any]) -> None:
    """Set each dotted key in params.yaml, keeping its comments; nothing is written if the
    result does not validate."""
    params_path = Path(params_path)
    yaml = YAML()
    yaml.preserve_quotes = True
    doc = yaml.load(params_path.read_text(encoding="utf-8"))
    for dotted, value in overrides.items():
        node = doc
        *parents, leaf = dotted.split(".")
        for key in parents:
            if key not in node:
                raise IsaraError(f"{params_path}: profile key '{dotted}' does not exist")
            node = node[key]
        if leaf not in node:
            raise IsaraError(f"{params_path}: profile key '{dotted}' does not exist")
        node[leaf] = _styled_like(node[leaf], value)
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    with atomic_file(params_path) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            load_params(tmp)
        except IsaraError as err:  # name the file the user knows, not the temporary one
            raise IsaraError(str(err).replace(str(tmp), str(params_path))) from None


def _styled_like(old: Any, value: Any) -> Any:
    """`value` written as `old` was: a list or mapping written inline (`suites: [harm, dev]  # ...`)
    (or empty: `[]`) stays on its line, beside its comment, instead of becoming an indented block."""
    for yaml_type, python_type in ((CommentedSeq, list), (CommentedMap, dict)):
        if isinstance(old, yaml_type) and isinstance(value, python_type) and (old.fa.flow_style() or not old):
            new = yaml_type(value)
            new.fa.set_flow_style()
            return new
    return value


def set_args(overrides: dict[str, Any]) -> list[str]:
    """`dvc exp run` arguments for the overrides: -S key=value, values in compact YAML."""
    args = []
    for dotted, value in overrides.items():
        args += ["-S", f"{dotted}={_compact(value)}"]
    return args


def _compact(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_compact(v)}" for k, v in value.items()) + "}"
    return str(value)
