"""Reading JSONL with located errors; writing files and folders that never exist half-written."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from isara.errors import IsaraError


def decode_utf8(path: Path, raw: bytes, encoding: str = "utf-8") -> str:
    """`raw` as text; invalid bytes are an error naming the file and line."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise IsaraError(f"{path}:{line}: not valid UTF-8 (byte {err.start})") from None


def json_lines(path: Path, text: str) -> list[tuple[int, object]]:
    """(1-based line number, value) of each non-blank JSONL line; only "\n" separates records,
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


def read_jsonl(path: str | Path, required: Iterable[str] = ()) -> list[dict]:
    """Read a JSONL file of objects; every field in `required` must be a non-empty string.

    Errors name the file, the 1-based line and the field: ``data/seed.jsonl:12: field 'answer'
    is missing``. Blank lines are skipped; a file with no records is an error.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IsaraError(f"{path}: file not found") from None
    text = decode_utf8(path, raw)
    rows = []
    for number, row in json_lines(path, text):
        if not isinstance(row, dict):
            raise IsaraError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        for field in required:
            if field not in row:
                raise IsaraError(f"{path}:{number}: field '{field}' is missing")
            if not isinstance(row[field], str) or not row[field].strip():
                raise IsaraError(f"{path}:{number}: field '{field}' must be a non-empty string")
        rows.append(row)
    if not rows:
        raise IsaraError(f"{path}: no records (empty file)")
    return rows


def _dump(rows: Iterable[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path that replaces `path` only if the block finishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    write_text_atomic(path, _dump(rows))


def write_json(path: str | Path, obj: dict) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces `path` only if the block finishes without error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
