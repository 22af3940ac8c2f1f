"""The model card of an exported model: Hugging Face YAML front matter above the card the model
folder already has (the one the finetune stage wrote), or a short one.

The front matter says what is known and nothing else:
- `base_model`: the hub id the model was built from, as the folders it comes from say it (a card's
  own `base_model`, or the finetune stage's "base model `NAME`"), or the hub id an adapter's chain of
  bases ends on, or, for a pipeline method, the `model.name` of the `base` stage in dvc.lock; a
  packaged alias is written as the hub id of the model it packs;
- `datasets`: a card's own `datasets`, or, for a pipeline method whose model the pipeline trained,
  the public data set its seed pairs came from (`data.seed_source` of the `seed` stage in dvc.lock);
- `library_name: transformers`, `tags: [isara]`;
- `model-index`: for a pipeline method, every declared number of its metrics files
  (`metrics/methods/<method>/<suite>.json`, `isara.eval.metrics.values`), one result per suite.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import yaml

HUB_IDS = {"smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct"}  # packaged alias -> what it packs
SEED_DATASETS = {  # data.seed_source -> the public data set its pairs come from
    "beavertails": "PKU-Alignment/BeaverTails",
    "truthfulqa": "truthfulqa/truthful_qa",
    "self_instruct": "yizhongw/self_instruct",
}
_FINETUNED = re.compile(r"Fine-tuned by the isara pipeline .*?; base model `([^`]+)`", re.S)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def split_card(text: str) -> tuple[dict, str]:
    """(front matter, body) of a model card; ({}, text) when it has no readable front matter."""
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            try:
                front = yaml.safe_load(text[4:end]) or {}
            except yaml.YAMLError:
                front = None
            if isinstance(front, dict):
                return front, text[end + 4:].lstrip("\n")
    return {}, text


def hub_id(name: str) -> str | None:
    """The hub id a model name stands for: a packaged alias's model, a hub id itself; None for a folder."""
    if name in HUB_IDS:
        return HUB_IDS[name]
    if Path(name).exists() or not _HUB_ID.match(name):
        return None
    return name


def _card(folder: str) -> tuple[dict, str] | None:
    path = Path(folder) / "README.md"
    return split_card(path.read_text(encoding="utf-8")) if Path(folder).is_dir() and path.is_file() else None


def base_model(chain: Sequence[str]) -> str | None:
    """The hub id a model was built from (`chain`: its source, then its adapters' bases)."""
    for link in chain:
        card = _card(link)
        if card is not None:
            front, body = card
            if front.get("base_model"):
                named = front["base_model"]
                return named[0] if isinstance(named, list) else str(named)
            trained = _FINETUNED.search(body)
            if trained and hub_id(trained.group(1)):
                return hub_id(trained.group(1))
        elif not Path(link).is_dir():
            return hub_id(link)
    return None


def trained_here(chain: Sequence[str]) -> bool:
    """Whether a folder of the chain holds the finetune stage's card."""
    return any(card is not None and _FINETUNED.search(card[1]) for card in map(_card, chain))


def lock_param(lock_path: str | Path, stage: str, key: str):
    """The value of params.yaml `key` that dvc.lock records for `stage` (None when it records none)."""
    path = Path(lock_path)
    if not path.is_file():
        return None
    lock = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    params = ((lock.get("stages") or {}).get(stage) or {}).get("params") or {}
    return (params.get("params.yaml") or {}).get(key)


def seed_dataset(lock_path: str | Path) -> str | None:
    """The public data set the pipeline's seed pairs came from, as dvc.lock's `seed` stage records it."""
    return SEED_DATASETS.get(lock_param(lock_path, "seed", "data.seed_source"))


def datasets(chain: Sequence[str], lock_path: str | Path | None) -> list[str]:
    """The data sets a model was trained on, where known: a card's own, or the pipeline's seed source."""
    for link in chain:
        card = _card(link)
        if card is not None and card[0].get("datasets"):
            named = card[0]["datasets"]
            return list(named) if isinstance(named, list) else [str(named)]
    found = seed_dataset(lock_path) if lock_path is not None and trained_here(chain) else None
    return [found] if found else []


def model_index(name: str, metrics_dir: str | Path) -> list[dict]:
    """`model-index` of a method: one result per suite metrics file with declared numbers in it."""
    from isara.eval.metrics import values
    from isara.eval.registry import SUITES

    results = []
    for suite in SUITES.values():
        path = Path(metrics_dir) / f"{suite.name}.json"
        if not path.is_file():
            continue
        metrics = [{"type": v.column, "value": v.value,
                    "name": f"{v.column} (judge: {v.judge}" + (f", n={v.n})" if v.n is not None else ")")}
                   for v in values(suite, json.loads(path.read_text(encoding="utf-8")))]
        if metrics:
            results.append({"task": {"type": "text-generation", "name": "Text Generation"},
                            "dataset": {"name": suite.title, "type": suite.name}, "metrics": metrics})
    return [{"name": name, "results": results}] if results else []


def export_card(name: str, chain: Sequence[str], metrics_dir: str | Path | None = None,
                lock_path: str | Path | None = None) -> str:
    """README.md of an exported model named `name` (`chain`: its source, then its adapters' bases;
    `metrics_dir` and `lock_path`: a pipeline method's metrics folder and dvc.lock)."""
    own = _card(chain[0]) if chain else None
    front, body = own if own is not None else ({}, f"# {name}\n\nExported by `isara export` from `{chain[0]}`.\n")
    header = {key: value for key, value in front.items() if key not in ("base_model", "datasets", "model-index")}
    base = base_model(chain)
    if base is None and lock_path is not None:  # the pipeline's models/iter0, from model.name
        base = hub_id(str(lock_param(lock_path, "base", "model.name") or ""))
    if base:
        header["base_model"] = base
    data = datasets(chain, lock_path)
    if data:
        header["datasets"] = data
    header["library_name"] = "transformers"
    tags = header.get("tags") or []
    header["tags"] = sorted({*([tags] if isinstance(tags, str) else tags), "isara"})
    index = model_index(name, metrics_dir) if metrics_dir is not None else []
    if index:
        header["model-index"] = index
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n\n" + body
