"""A stage's finished batches, kept on disk so that a killed run continues where it stopped.

The log is a folder beside the stage's output (`OUT.partial/`) holding one JSONL file per worker
process. Each line is one finished batch: the key of the work it belongs to (a digest of model,
decoding, prompts and batch plan), the batch number and its completions. Lines are flushed and
fsynced as written; a line cut by a kill is dropped (and truncated away before the next append),
and lines of any other work are ignored, so a stale log can never leak into a new result. The
stage removes the folder once its output is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Iterable

from isara.lm.completion import Completion


def work_key(*parts) -> str:
    """A digest of everything that determines a piece of work's completions."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _completion(item) -> Completion | None:
    if not isinstance(item, dict):
        return None
    text, stop, tokens = item.get("text"), item.get("stop"), item.get("tokens")
    if not isinstance(text, str) or stop not in Completion.STOPS or not isinstance(tokens, int) or tokens < 0:
        return None
    return Completion(text, stop, tokens)


def _batch(line: str, key: str) -> tuple[int, list[Completion]] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if not isinstance(row, dict) or row.get("key") != key or not isinstance(row.get("batch"), int):
        return None
    items = row.get("completions")
    if not isinstance(items, list):
        return None
    done = [_completion(item) for item in items]
    return None if any(c is None for c in done) else (row["batch"], done)


class PartialLog:
    """Finished batches of one piece of work (`key`) in folder `path`, written by worker `rank`."""

    def __init__(self, path: str | Path, key: str, rank: int = 0):
        self.path, self.key = Path(path), key
        self.file = self.path / f"rank-{rank}.jsonl"

    def done(self, sizes: dict[int, int]) -> dict[int, list[Completion]]:
        """Batches already finished (batch number -> completions) whose size matches the plan."""
        found: dict[int, list[Completion]] = {}
        for file in sorted(self.path.glob("rank-*.jsonl")) if self.path.is_dir() else []:
            for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
                batch = _batch(line, self.key)
                if batch and sizes.get(batch[0]) == len(batch[1]):
                    found.setdefault(batch[0], batch[1])
        return found

    def _trim_torn_line(self) -> None:
        if not self.file.is_file():
            return
        data = self.file.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.file.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def append(self, batch: int, completions: Iterable[Completion]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._trim_torn_line()
        line = json.dumps({"key": self.key, "batch": batch,
                           "completions": [c.as_dict() for c in completions]}, ensure_ascii=False)
        with self.file.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())



def remove_partial(path: str | Path) -> None:
    """Drop a log once the output it was building is written."""
    shutil.rmtree(path, ignore_errors=True)


def partial_path(out: str | Path) -> Path:
    """Where the log of a stage writing `out` lives."""
    out = Path(out)
    return out.with_name(out.name + ".partial")
