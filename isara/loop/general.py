"""General instruction pairs for every training mix (`mix.general_size`, `mix.general_share`; off
by default).

Safety data made of declining answers teaches a small model to decline whatever looks risky;
CoCoNot (allenai/noncompliance) reports XSTest-safe compliance of 26.3% after refusal-only
fine-tuning and 51.4% with as much general instruction data mixed in. Here the general pairs are
the Self-Instruct seed tasks under benchmarks.source (175 human-written instructions with their
outputs, `isara.datasets.self_instruct`): they only train (every method that fine-tunes, sft_seed
included, with the same rows); they are never retrieved, anchored on or generated from.

The candidates leave out D0's questions, pairs longer than a training example can hold (the seed
draw's bounds, `isara.loop.seed.length_problem`), and any instruction as close to an evaluation or
dev prompt as the filter's contamination rule allows (the audit's measures,
`isara.loop.audit.audit_rows`); `size` of the rest are then drawn with their own stream of
`seed`, in source order. Stage `general` writes them and the counts to one JSON file
(`{"source", "candidates", "contaminated", "rows"}`; no rows when mix.general_size is 0).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

from isara.errors import IsaraError
from isara.loop.seed import length_problem
from isara.records import decode_utf8
from isara.text import normalise

PREFIX = "general-"  # general rows' ids: never a seed id (isara.loop.seed) or a generated one (it<round>-<n>)


def candidates(rows: Sequence[dict], seed_rows: Sequence[dict], max_tokens: int) -> list[dict]:
    """The source rows that may be drawn ({"id", "question", "answer"}, ids prefixed): not a D0
    question, and within the bounds of a pair `max_tokens` tokens (finetune.max_length) can hold."""
    d0 = {normalise(row["question"]) for row in seed_rows}
    return [{"id": f"{PREFIX}{row['id']}", "question": row["question"], "answer": row["answer"]}
            for row in rows if normalise(row["question"]) not in d0 and length_problem(row, max_tokens) is None]


def draw_general(rows: Sequence[dict], contaminated: Sequence[bool], size: int, seed: int, where: str) -> list[dict]:
    """`size` of the rows not `contaminated`, drawn reproducibly by `seed`, in source order."""
    if len(contaminated) != len(rows):
        raise IsaraError("general: one contamination verdict per candidate is needed")
    clean = [row for row, close in zip(rows, contaminated) if not close]
    if size > len(clean):
        raise IsaraError(f"params.yaml: mix.general_size={size} is larger than the {len(clean)} general pairs of "
                         f"{where} left after D0's questions, over-long pairs and {sum(contaminated)} too close to "
                         "an evaluation prompt")
    chosen = sorted(random.Random(f"{seed}-general").sample(range(len(clean)), size))
    return [{**clean[i], "source": "general"} for i in chosen]


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
                                                for key in ("id", "question", "answer")):
            raise IsaraError(f"{path}: rows[{n}] must be an object whose id, question and answer are non-empty strings")
    return rows
