"""Loaders for public benchmarks, returning plain lists of dicts in one normalised schema.

`source` is a local folder laid out like ``../shared/data`` (the files as their GitHub repos
publish them), a local file in the Hugging Face hub schema (``.jsonl``, ``.json``, ``.parquet``,
``.csv``, gzipped too) or a hub dataset id (read with ``datasets.load_dataset``). String-encoded
values are decoded, so all give the same rows; bad input raises `IsaraError` naming file and line.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import random
import re
from pathlib import Path
from typing import Any

from isara.errors import IsaraError
from isara.labels import LABELS
from isara.records import decode_utf8, json_lines

Record = tuple[str, dict]  # (where, for messages; the row with normalised column names)
_LOCAL_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".gz")
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")
_ASSISTANT = "\n\nAssistant:"
BEAVERTAILS_SPLITS = ("30k_train", "30k_test", "330k_train", "330k_test")
ALPACA_EVAL_HUB_CONFIGS = {"text_davinci_003": "alpaca_eval",
                           "gpt4_1106_preview": "alpaca_eval_gpt4_baseline"}


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _parse(path: Path, kind: str, raw: bytes) -> list[Record]:
    """Records of one file by its suffix `kind`, each located by line (CSV, JSONL) or row."""
    if kind.endswith(".parquet"):
        try:
            import polars as pl
            rows = pl.read_parquet(io.BytesIO(raw)).to_dicts()
        except Exception as err:  # polars raises many types for corrupt files
            raise IsaraError(f"{path}: cannot read parquet ({_first_line(err)})") from None
        return [(f"{path}: row {i}", row) for i, row in enumerate(rows, start=1)]
    if not kind.endswith((".csv", ".jsonl", ".json")):
        raise IsaraError(f"{path}: unsupported format (expected {', '.join(_LOCAL_SUFFIXES)})")
    text = decode_utf8(path, raw, "utf-8-sig")
    if kind.endswith(".csv"):
        reader, records, line = csv.DictReader(io.StringIO(text, newline="")), [], 1
        try:
            for row in reader:  # a record starts on the line after the previous one ended
                if None in row:
                    raise IsaraError(f"{path}:{line + 1}: more fields than the header has")
                records.append((f"{path}:{line + 1}", row))
                line = reader.line_num
        except csv.Error as err:
            raise IsaraError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
        return records
    if kind.endswith(".jsonl"):
        return [(f"{path}:{number}", value) for number, value in json_lines(path, text)]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise IsaraError(f"{path}:{err.lineno}: malformed JSON ({err.msg})") from None
    if not isinstance(data, list):
        raise IsaraError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    return [(f"{path}: record {i}", row) for i, row in enumerate(data, start=1)]


def _read_file(path: Path) -> list[Record]:
    """Records of a CSV, JSONL, JSON-list or parquet file, optionally gzipped."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    except OSError as err:
        raise IsaraError(f"{path}: cannot read ({err.strerror})") from None
    kind = path.name.lower()
    if kind.endswith(".gz"):
        try:
            raw, kind = gzip.decompress(raw), kind[:-3]
        except (OSError, EOFError) as err:
            raise IsaraError(f"{path}: not a valid gzip file ({err})") from None
    records = _parse(path, kind, raw)
    if not records:
        raise IsaraError(f"{path}: no records (empty file)")
    return [(where, _columns(where, row)) for where, row in records]


def _columns(where: str, row: Any) -> dict:
    """The record's fields, names lower-cased with spaces as underscores (``Best Answer``)."""
    if not isinstance(row, dict):
        raise IsaraError(f"{where}: expected an object, got {type(row).__name__}")
    return {str(k).strip().lower().replace(" ", "_"): v for k, v in row.items()}


def _load_hub(repo: str, **kwargs: Any) -> list[Record]:
    """Rows of a hub dataset via `datasets.load_dataset`, imported only when needed."""
    try:
        import datasets
    except ImportError:
        raise IsaraError(f"{repo}: not a local file or folder; loading it from the Hugging Face "
                         "hub needs the datasets package (pip install datasets)") from None
    try:
        data = datasets.load_dataset(repo, **kwargs)
    except Exception as err:  # network, unknown repo, config or split
        raise IsaraError(f"{repo}: cannot load from the hub ({_first_line(err)})") from None
    return [(f"{repo} [{kwargs.get('split')}] row {i}", _columns(repo, dict(row)))
            for i, row in enumerate(data, start=1)]


FILES = {  # where each benchmark lies in a folder laid out like the official repositories
    "beavertails_prompts": "beavertails/BeaverTails-Evaluation.csv",
    "beavertails_pairs": "beavertails/beavertails_{split}.csv",
    "truthfulqa": "truthfulqa/TruthfulQA.csv",
    "alpaca_eval": "alpaca_eval/alpaca_eval_{reference}.json",
    "xstest": "xstest/xstest_prompts.csv",
    "hh_rlhf": "hh-rlhf/harmless-base-test.jsonl.gz",
    "self_instruct": "alpaca/seed_tasks.jsonl",
}


def source_file(source: str | Path, folder_file: str) -> Path | None:
    """The local file a loader reads for `source` (a folder: `folder_file` in it; a file: itself),
    or None when `source` is a hub dataset id."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path / folder_file
    if path.exists() or isinstance(source, Path) or path.is_absolute() \
            or str(source).lower().endswith(_LOCAL_SUFFIXES) or not _HUB_ID.match(str(source)):
        return path
    return None


def _records(source: str | Path, folder_file: str, **hub: Any) -> list[Record]:
    """A folder (read `folder_file` in it), a local file, or else a hub id (`hub`: its keywords)."""
    path = source_file(source, folder_file)
    return _read_file(path) if path is not None else _load_hub(str(source), **hub)


def _text(where: str, row: dict, field: str, default: str | None = None) -> str:
    """`row[field]` stripped; missing or blank gives `default`, or an error when there is none."""
    value = row.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is not None:
            return default
        raise IsaraError(f"{where}: field '{field}' is {'missing' if value is None else 'empty'}")
    if not isinstance(value, str):
        raise IsaraError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
    return value.strip()


def _bool(where: str, row: dict, field: str) -> bool:
    value = row.get(field)
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.strip().lower())
    if not isinstance(value, bool):
        raise IsaraError(f"{where}: field '{field}' must be a boolean or 'True'/'False'")
    return value


def _answers(where: str, row: dict, field: str) -> list[str]:
    value = row.get(field)
    value = value.split("; ") if isinstance(value, str) else value
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise IsaraError(f"{where}: field '{field}' must be a list of strings or '; '-joined")
    if not (answers := [v.strip() for v in value if v.strip()]):
        raise IsaraError(f"{where}: field '{field}' has no answers")
    return answers


def _categories(where: str, row: dict) -> dict:
    value = row.get("category")
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise IsaraError(f"{where}: field 'category' is not a Python dict literal") from None
    if not isinstance(value, dict) or {type(v) for v in value.values()} - {bool}:
        raise IsaraError(f"{where}: field 'category' must map category names to booleans")
    return dict(value)


def beavertails_prompts(source: str | Path) -> list[dict]:
    """BeaverTails-Evaluation harmful prompts: ``[{"prompt", "category"}]`` (700 = 14 x 50)."""
    return [{"prompt": _text(w, r, "prompt"), "category": _text(w, r, "category")} for w, r in
            _records(source, FILES["beavertails_prompts"], split="test")]


def beavertails_pairs(source: str | Path, split: str = "30k_test") -> list[dict]:
    """BeaverTails QA pairs: ``[{"prompt", "response", "is_safe", "categories": {name: bool}}]``.
    ``category`` is a mapping (hub) or a Python-dict string (CSV copies), ``is_safe`` a bool or
    ``"True"``/``"False"``. `split` picks ``beavertails/beavertails_{split}.csv`` in a folder or
    the hub split; a single local file is read as it is.
    """
    if split not in BEAVERTAILS_SPLITS:
        raise IsaraError(f"beavertails split must be one of {', '.join(BEAVERTAILS_SPLITS)}")
    records = _records(source, FILES["beavertails_pairs"].format(split=split), split=split)
    return [{"prompt": _text(w, r, "prompt"), "response": _text(w, r, "response"),
             "is_safe": _bool(w, r, "is_safe"), "categories": _categories(w, r)}
            for w, r in records]


def truthfulqa(source: str | Path) -> list[dict]:
    """TruthfulQA (generation) questions:
    ``[{"question", "category", "best_answer", "correct_answers", "incorrect_answers"}]``."""
    records = _records(source, FILES["truthfulqa"], name="generation", split="validation")
    return [{"question": _text(w, r, "question"), "category": _text(w, r, "category"),
             "best_answer": _text(w, r, "best_answer"),
             "correct_answers": _answers(w, r, "correct_answers"),
             "incorrect_answers": _answers(w, r, "incorrect_answers")} for w, r in records]


def alpaca_eval(source: str | Path, reference: str = "text_davinci_003") -> list[dict]:
    """AlpacaEval instructions with a reference model's (possibly empty) outputs:
    ``[{"instruction", "output", "generator", "dataset"}]``. `reference` picks
    ``alpaca_eval/alpaca_eval_{reference}.json`` in a folder, or the hub config (text_davinci_003:
    AlpacaEval 1, gpt4_1106_preview: AlpacaEval 2).
    """
    records = _records(source, FILES["alpaca_eval"].format(reference=reference), split="eval",
                       name=ALPACA_EVAL_HUB_CONFIGS.get(reference, reference))
    return [{"instruction": _text(w, r, "instruction"), "output": _text(w, r, "output", ""),
             "generator": _text(w, r, "generator", reference),
             "dataset": _text(w, r, "dataset", "")} for w, r in records]


def xstest(source: str | Path) -> list[dict]:
    """XSTest exaggerated-safety prompts: ``[{"prompt", "label": "safe"|"unsafe", "type"}]``."""
    rows = []
    for where, row in _records(source, FILES["xstest"], split="test"):
        if (label := _text(where, row, "label").lower()) not in ("safe", "unsafe"):
            raise IsaraError(f"{where}: field 'label' must be 'safe' or 'unsafe', got {label!r}")
        rows.append({"prompt": _text(where, row, "prompt"), "label": label,
                     "type": _text(where, row, "type")})
    return rows


def _last_reply(where: str, row: dict, field: str) -> tuple[str, str]:
    """Split a ``Human:``/``Assistant:`` dialogue into (all before the final reply, the reply)."""
    dialogue = "\n\n" + _text(where, row, field)
    cut = dialogue.rfind(_ASSISTANT)
    if cut < 0:
        raise IsaraError(f"{where}: field '{field}' has no 'Assistant:' turn")
    return dialogue[:cut].strip(), dialogue[cut + len(_ASSISTANT):].strip()


def hh_rlhf_pairs(source: str | Path) -> list[dict]:
    """Anthropic HH-RLHF harmless-base test pairs: ``[{"prompt", "chosen", "rejected"}]``.
    `prompt` is the dialogue both sides share before their final ``"\\n\\nAssistant:"``, with its
    ``Human:``/``Assistant:`` labels; chosen/rejected are the final assistant replies. Records
    whose prefixes differ or with an empty final reply are skipped.
    """
    rows = []
    for where, row in _records(source, FILES["hh_rlhf"],
                               data_dir="harmless-base", split="test"):
        (prefix, chosen), (other, rejected) = (_last_reply(where, row, field)
                                               for field in ("chosen", "rejected"))
        if prefix == other and prefix and chosen and rejected:
            rows.append({"prompt": prefix, "chosen": chosen, "rejected": rejected})
    return rows


def self_instruct(source: str | Path) -> list[dict]:
    """Self-Instruct seed tasks as ``[{"question", "answer", "id"}]``: the instruction (plus
    ``"\\n\\n" + input`` if the first instance has one) and the first instance's output."""
    rows, records = [], _records(source, FILES["self_instruct"], split="train")
    for number, (where, row) in enumerate(records, start=1):
        instances = row.get("instances")
        first = instances[0] if isinstance(instances, list) and instances else None
        if not isinstance(first, dict):
            raise IsaraError(f"{where}: field 'instances' must be a non-empty list of objects")
        extra = _text(where, first, "input", "")
        rows.append({"question": _text(where, row, "instruction") + (extra and "\n\n" + extra),
                     "answer": _text(where, first, "output"),
                     "id": str(row["id"]) if row.get("id") is not None else str(number)})
    return rows


def prompt_set(path: str | Path, label: str | None = None) -> list[dict]:
    """A user-added prompt set: ``[{"prompt", "category"}]`` from a CSV, JSONL, JSON or parquet
    file with a `prompt` column and an optional `category` (default ``"all"``). A row may carry a
    `label` (harmful | safe): with `label` given, rows labelled otherwise are left out, so that one
    labelled file (the dev split) serves as harm set and as safe set."""
    rows = []
    for w, r in _read_file(Path(path).expanduser()):
        own = _text(w, r, "label", "")
        if own and own not in LABELS:
            raise IsaraError(f"{w}: field 'label' must be one of {', '.join(LABELS)}, got {own!r}")
        if label is None or not own or own == label:
            rows.append({"prompt": _text(w, r, "prompt"), "category": _text(w, r, "category", "all")})
    return rows


def labelled_prompts(path: str | Path) -> list[dict]:
    """``[{"prompt", "label", "category"}]`` of a file whose every row carries a label (harmful |
    safe); the category is optional (default ``"all"``)."""
    rows = []
    for w, r in _read_file(Path(path).expanduser()):
        label = _text(w, r, "label")
        if label not in LABELS:
            raise IsaraError(f"{w}: field 'label' must be one of {', '.join(LABELS)}, got {label!r}")
        rows.append({"prompt": _text(w, r, "prompt"), "label": label, "category": _text(w, r, "category", "all")})
    return rows


def domain_prompts(path: str | Path) -> list[dict]:
    """``[{"prompt", "category", "answer"}]`` of a domain's held-out prompts: `prompt`, an optional
    `category` (default ``"all"``) and an optional reference `answer` ("" when a row has none)."""
    return [{"prompt": _text(w, r, "prompt"), "category": _text(w, r, "category", "all"),
             "answer": _text(w, r, "answer", "")} for w, r in _read_file(Path(path).expanduser())]


def stratified_limit(rows: list[dict], limit: int, key: str = "category", seed: int = 0) -> list:
    """At most `limit` rows spread evenly over the values of `key`, in file order; 0 = all rows.
    Quota is dealt one row at a time to the values in sorted order, skipping values with no rows
    left: 140 over 14 categories is 10 each, leftovers go to the first values in sorted order.
    Which rows fill a quota is drawn with `seed`, so a seed always gives the same subset.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise IsaraError(f"limit must be a non-negative integer, got {limit!r}")
    if limit == 0 or limit >= len(rows):
        return list(rows)
    groups: dict[Any, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(row.get(key), []).append(index)
    order = sorted(groups, key=lambda value: (value is None, str(value)))
    quota, left = dict.fromkeys(order, 0), limit
    while left:
        for value in order:
            if left and quota[value] < len(groups[value]):
                quota[value], left = quota[value] + 1, left - 1
    rng = random.Random(seed)
    chosen = sorted(i for value in order for i in rng.sample(groups[value], quota[value]))
    return [rows[i] for i in chosen]
