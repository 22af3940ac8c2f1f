"""Model folders that refer to a model instead of holding it: `isara_model.json` = {"source": a
folder or hub id, ...}. The base stage writes one for a hub id or a local folder (with the
folder's content digest or the hub revision), and models/icl and models/icl_knn refer to
models/iter0."""

from __future__ import annotations

import json
from pathlib import Path

from isara.errors import IsaraError

REFERENCE_FILE = "isara_model.json"


def resolve(model_dir: str | Path) -> str:
    """Where `model_dir` leads: the last folder of its chain of references, or a hub id."""
    model_dir, seen = Path(model_dir), set()
    while (model_dir / REFERENCE_FILE).is_file():
        if model_dir in seen:
            raise IsaraError(f"{model_dir}/{REFERENCE_FILE}: the references go round in a circle")
        seen.add(model_dir)
        try:
            source = json.loads((model_dir / REFERENCE_FILE).read_text(encoding="utf-8"))["source"]
        except (ValueError, KeyError, TypeError):
            raise IsaraError(f"{model_dir}/{REFERENCE_FILE}: not a reference ({{\"source\": ...}})") from None
        if not isinstance(source, str) or not source:
            raise IsaraError(f"{model_dir}/{REFERENCE_FILE}: source must be a folder or hub id")
        if not Path(source).is_dir():
            return source  # a hub id
        model_dir = Path(source)
    return str(model_dir)


def write_reference(out_dir: str | Path, info: dict) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / REFERENCE_FILE).write_text(json.dumps(info) + "\n")
