"""Reading the rows stages exchange (JSONL pools, stage general's JSON) with located errors: every
message names the file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from isara.errors import IsaraError

POOL_FIELDS = ("id", "question", "answer")


def decode_utf8(path: Path, raw: bytes, encoding: str = "utf-8") -> str:
    """`raw` as text; invalid bytes are an error naming the file and line."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise IsaraError(f"{path}:{line}: not valid UTF-8 (byte {err.start})") from None


def json_lines(path: Path, text: str) -> list[tuple[int, object]]:
    """(1-based line number, value) of each non-blank JSONL line; only "\\n" separates records,
    since JSON strings may hold U+2028 and friends."""
    values = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            values.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            raise IsaraError(f"{path}:{number}: malformed JSON ({err.msg})") from None
    return values


def read_rows(path: str | Path) -> list[object]:
    """Every value of a JSONL file that may hold none (a stage's output: a round can accept or
    reject everything); the file must exist and be valid UTF-8 JSON lines."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    return [value for _, value in json_lines(path, decode_utf8(path, raw))]


def numbered_jsonl(path: str | Path, required: Iterable[str] = ()) -> list[tuple[int, dict]]:
    """(line number, object) of a JSONL file; every field in `required` must be a non-empty string.

    Errors name the file, the 1-based line and the field: ``data/seed.jsonl:12: field 'answer'
    is missing``. Blank lines are skipped; a file with no records is an error.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    rows = []
    for number, row in json_lines(path, decode_utf8(path, raw)):
        if not isinstance(row, dict):
            raise IsaraError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        for field in required:
            if field not in row:
                raise IsaraError(f"{path}:{number}: field '{field}' is missing")
            if not isinstance(row[field], str) or not row[field].strip():
                raise IsaraError(f"{path}:{number}: field '{field}' must be a non-empty string")
        rows.append((number, row))
    if not rows:
        raise IsaraError(f"{path}: no records (empty file)")
    return rows


def read_jsonl(path: str | Path, required: Iterable[str] = ()) -> list[dict]:
    """The objects of a JSONL file, checked as `numbered_jsonl` checks them."""
    return [row for _, row in numbered_jsonl(path, required)]


def read_pool(path: str | Path) -> list[dict]:
    """A pool of {"id", "question", "answer"} rows (D0, or D0 plus accepted samples)."""
    return read_jsonl(path, required=POOL_FIELDS)


def read_general(path: str | Path) -> list[dict]:
    """The rows of stage general's file; anything else there is a one-line error naming the file."""
    path = Path(path)
    try:
        data = json.loads(decode_utf8(path, path.read_bytes()))
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise IsaraError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from None
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise IsaraError(f"{path}: expected a JSON object with a list 'rows'")
    for n, row in enumerate(rows):
        if not isinstance(row, dict) or not all(isinstance(row.get(key), str) and row[key].strip()
                                                for key in POOL_FIELDS):
            raise IsaraError(f"{path}: rows[{n}] must be an object whose id, question and answer are non-empty strings")
    return rows
