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
(`{"source", "candidates", "contaminated", "rows"}`; no rows when mix.general_size is 0), which the
mix stages read with `isara.records.read_general`.
"""

from __future__ import annotations

import random
from typing import Sequence

from isara.errors import IsaraError
from isara.loop.seed import length_problem
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
