"""A persistent cache of pairwise judgements, so that a re-run costs no judge calls.

One entry per (judge name, instruction, output_a, output_b), in that order: the order of the two
outputs matters (a judge is asked both ways round). The key is the sha256 of the four strings,
JSON-encoded as a list (unambiguous whatever the strings hold); the value is the judge's
preference for output_a, a float in [0, 1].

Stored as plain JSON lines in `verdicts.jsonl` under the cache folder, appended one verdict at a
time: reading it runs no code (a line that is not a valid verdict is ignored), and a line cut
short by a crash is ignored too. A judge's `name` is its content: the built-in judges put a digest
of their model's files (or its hub revision), or their endpoint URL and model, and a digest of
their prompt template into it, so that rebuilding a model folder from other weights never reuses
its old verdicts.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

FILE = "verdicts.jsonl"


def judge_key(judge_name: str, instruction: str, output_a: str, output_b: str) -> str:
    """sha256 hex digest of (judge name, instruction, output_a, output_b), in that order."""
    payload = json.dumps([judge_name, instruction, output_a, output_b], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _verdict(line: str) -> tuple[str, float] | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if not isinstance(row, dict) or not isinstance(row.get("key"), str):
        return None
    value = row.get("preference")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        return None
    return row["key"], float(value)


class JudgeCache:
    """`get`/`put` of preferences under `directory` (created when missing)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILE
        self._known: dict[str, float] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                if (verdict := _verdict(line)) is not None:
                    self._known[verdict[0]] = verdict[1]
        self._handle = None

    def get(self, judge_name: str, instruction: str, output_a: str, output_b: str) -> float | None:
        """The cached preference for output_a, or None when this pair was never judged."""
        return self._known.get(judge_key(judge_name, instruction, output_a, output_b))

    def put(self, judge_name: str, instruction: str, output_a: str, output_b: str, preference: float) -> None:
        key = judge_key(judge_name, instruction, output_a, output_b)
        self._known[key] = float(preference)
        if self._handle is None:
            cut_short = self.path.is_file() and self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n")
            self._handle = self.path.open("a", encoding="utf-8")
            if cut_short:  # a crash mid-line: start the next verdict on a line of its own
                self._handle.write("\n")
        self._handle.write(json.dumps({"key": key, "preference": float(preference)}) + "\n")
        self._handle.flush()

    def __len__(self) -> int:
        return len(self._known)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "JudgeCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
