"""A persistent on-disk cache of pairwise judgements, so that a re-run costs no judge calls.

One entry per (judge name, instruction, output_a, output_b), in that order: the order of the two
outputs matters (a judge is asked both ways round). The key is the sha256 of the four strings,
JSON-encoded as a list (unambiguous whatever the strings hold); the value is the judge's
preference for output_a, a float in [0, 1]. Stored with `diskcache` (SQLite + files), safe to
share between processes. A judge's `name` must change whenever its verdicts may (another model,
another prompt): the judges of `isara.judges.pairwise` put their model and a digest of their
prompt template into it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def judge_key(judge_name: str, instruction: str, output_a: str, output_b: str) -> str:
    """sha256 hex digest of (judge name, instruction, output_a, output_b), in that order."""
    payload = json.dumps([judge_name, instruction, output_a, output_b], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class JudgeCache:
    """`get`/`put` of preferences under `directory` (created when missing)."""

    def __init__(self, directory: str | Path):
        import diskcache

        self.directory = Path(directory)
        self._cache = diskcache.Cache(str(self.directory))

    def get(self, judge_name: str, instruction: str, output_a: str, output_b: str) -> float | None:
        """The cached preference for output_a, or None when this pair was never judged."""
        value = self._cache.get(judge_key(judge_name, instruction, output_a, output_b))
        return None if value is None else float(value)

    def put(self, judge_name: str, instruction: str, output_a: str, output_b: str, preference: float) -> None:
        self._cache.set(judge_key(judge_name, instruction, output_a, output_b), float(preference))

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()

    def __enter__(self) -> "JudgeCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
