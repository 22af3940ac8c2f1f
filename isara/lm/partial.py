"""A stage's finished batches, kept on disk so that a killed run continues where it stopped.

The log is a folder beside the stage's output (`OUT.partial/`) holding one JSONL file per worker
process. Each line is one finished batch: the key of the work it belongs to (a digest of model,
decoding, prompts and batch plan), the batch number, its completions, and the sha256 of those three
in one canonical JSON form. Lines are flushed and fsynced as written; a line cut by a kill (the
file's last, without its newline) is left unread and truncated away before the next append.

A line is reused only if its checksum holds, its fields are well formed, it belongs to this work,
fits the batch plan, and no other line of this work names the same batch. A sound line of other work
is left in place unsaid: one stage may log several calls in one folder (questions, then answers), and
a stale log can never leak into a new result since the key is part of the checksum. Any other line
is dropped from its file, one stderr line per file saying how many and why, and its batch is
generated again: a damaged, edited or repeated line never reaches the output. The checksum catches
damage and edits by hand, not a forger who recomputes it. A file is rewritten only when something is
dropped from it, which is at the first read of a run, before any worker appends. The stage removes
the folder once its output is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Iterable

import click

from isara.atomic import atomic_file
from isara.lm.completion import Completion

FIELDS = {"key", "batch", "completions", "sha256"}
OTHER_WORK = "of other work"


def work_key(*parts) -> str:
    """A digest of everything that determines a piece of work's completions."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def checksum(key: str, batch: int, completions: list[dict]) -> str:
    """sha256 hex of a line's content in canonical JSON (sorted keys, ASCII, no spaces)."""
    content = {"key": key, "batch": batch, "completions": completions}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=True,
                                     separators=(",", ":")).encode("ascii")).hexdigest()


def log_line(key: str, batch: int, completions: Iterable[Completion]) -> str:
    """One line of the log, without its newline."""
    items = [c.as_dict() for c in completions]
    return json.dumps({"key": key, "batch": batch, "completions": items,
                       "sha256": checksum(key, batch, items)}, ensure_ascii=False)


def _completion(item) -> Completion | None:
    if not isinstance(item, dict) or set(item) != {"text", "stop", "tokens"}:
        return None
    text, stop, tokens = item["text"], item["stop"], item["tokens"]
    if not isinstance(text, str) or stop not in Completion.STOPS or type(tokens) is not int or tokens < 0:
        return None
    return Completion(text, stop, tokens)


def _row(raw: bytes) -> dict | None:
    """The fields of a well-formed line whose checksum holds, or None."""
    try:
        row = json.loads(raw.decode("utf-8"))
    except ValueError:  # not UTF-8, not JSON
        return None
    if not isinstance(row, dict) or set(row) != FIELDS or type(row["batch"]) is not int:
        return None
    if not isinstance(row["key"], str) or not isinstance(row["completions"], list):
        return None
    return row if row["sha256"] == checksum(row["key"], row["batch"], row["completions"]) else None


def read_line(raw: bytes, key: str, sizes: dict[int, int]) -> tuple[int, list[Completion]] | str:
    """(batch number, completions) of a line that can be reused, or why not (a phrase of the message)."""
    row = _row(raw)
    done = [_completion(item) for item in row["completions"]] if row else [None]
    if any(c is None for c in done):
        return "damaged or edited"
    if row["key"] != key:
        return OTHER_WORK
    return (row["batch"], done) if sizes.get(row["batch"]) == len(done) else "off the batch plan"


def _split(data: bytes) -> tuple[list[bytes], bytes]:
    """The whole lines of a file and what follows the last newline (a line a kill cut)."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1], data[end:]


def dropped_message(file: Path, reasons: Counter, total: int) -> str:
    """One line saying what was dropped from a log file and why."""
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
    return f"partial log {file}: dropped {sum(reasons.values())} of {total} lines ({why}); their batches are not reused"


class PartialLog:
    """Finished batches of one piece of work (`key`) in folder `path`, written by worker `rank`."""

    def __init__(self, path: str | Path, key: str, rank: int = 0):
        self.path, self.key = Path(path), key
        self.file = self.path / f"rank-{rank}.jsonl"

    def done(self, sizes: dict[int, int]) -> dict[int, list[Completion]]:
        """Batches already finished (batch number -> completions) whose size matches the plan; lines
        that cannot be trusted are said and dropped from their file (see the module docstring)."""
        files = sorted(self.path.glob("rank-*.jsonl")) if self.path.is_dir() else []
        read = {file: _split(file.read_bytes()) for file in files}
        verdicts = {file: [read_line(raw, self.key, sizes) for raw in lines] for file, (lines, _) in read.items()}
        seen = Counter(v[0] for found in verdicts.values() for v in found if isinstance(v, tuple))
        found: dict[int, list[Completion]] = {}
        for file, (lines, tail) in read.items():
            reasons: Counter = Counter()
            kept = []
            for raw, verdict in zip(lines, verdicts[file]):
                if verdict == OTHER_WORK:  # a sound line of another call sharing the folder: kept for it
                    kept.append(raw + b"\n")
                elif isinstance(verdict, str):
                    reasons[verdict] += 1
                elif seen[verdict[0]] > 1:
                    reasons["repeating a batch"] += 1
                else:
                    found[verdict[0]] = verdict[1]
                    kept.append(raw + b"\n")
            if reasons:
                click.echo(dropped_message(file, reasons, len(lines)), err=True)
                with atomic_file(file) as tmp:
                    tmp.write_bytes(b"".join(kept) + tail)
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
        with self.file.open("a", encoding="utf-8") as handle:
            handle.write(log_line(self.key, batch, completions) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def remove_partial(path: str | Path) -> None:
    """Drop a log once the output it was building is written."""
    shutil.rmtree(path, ignore_errors=True)


def partial_path(out: str | Path) -> Path:
    """Where the log of a stage writing `out` lives."""
    out = Path(out)
    return out.with_name(out.name + ".partial")
