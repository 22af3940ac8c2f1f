"""A round's preference pairs, built from what the round made itself (stage preferences@RUN), for the
DPO step after SFT (finetune.objective: sft+dpo).

Two kinds of pair, each with the ids its two answers come from:

- `harmful_complied`: a question labelled harmful that the previous model answered (the filter
  rejected it as `harmful_answer`): rejected = that answer, chosen = the declining answer of the D0
  seed labelled harmful nearest to the question (by embedding);
- `safe_helpful`: a question labelled safe whose helpful answer the filter accepted: chosen = that
  answer, rejected = the declining answer of the nearest harmful D0 seed.

So every pair contrasts declining with answering on one question, in D0's house style, and both
directions are taught: decline what is harmful, answer what only looks risky. Without labelled
seeds there are no pairs (the step then changes nothing). D0's share is set by gamma in the SFT
step that comes first; the pairs are the round's own.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from isara.labels import HARMFUL, SAFE

HARMFUL_COMPLIED = "harmful_complied"
SAFE_HELPFUL = "safe_helpful"
KINDS = (HARMFUL_COMPLIED, SAFE_HELPFUL)
PAIR_FIELDS = ("id", "kind", "question", "chosen", "rejected")  # each a non-empty string


def nearest_of_label(vectors: np.ndarray, seed_vectors: np.ndarray, seed_labels: Sequence[str | None],
                     label: str) -> list[int | None]:
    """For each row of `vectors` (unit rows), the index of the most similar seed with `label`
    (None when no seed carries it)."""
    allowed = np.array([found == label for found in seed_labels], dtype=bool)
    if not allowed.any() or len(vectors) == 0:
        return [None] * len(vectors)
    scores = np.where(allowed[None, :], vectors @ seed_vectors.T, -np.inf)
    return [int(i) for i in scores.argmax(axis=1)]


def preference_pairs(candidates: Sequence[dict], verdicts: dict[str, dict], seed_rows: Sequence[dict],
                     nearest_harmful: Sequence[int | None]) -> list[dict]:
    """The pairs of one round, in candidate order. `verdicts` maps a candidate id to its filter
    verdict ({"accepted", "reason"}); `nearest_harmful[i]` indexes the harmful D0 seed nearest to
    candidate i."""
    pairs = []
    for row, seed_index in zip(candidates, nearest_harmful, strict=True):
        verdict = verdicts.get(row["id"])
        if verdict is None or seed_index is None:
            continue
        seed = seed_rows[seed_index]
        if row.get("label") == HARMFUL and verdict.get("reason") == "harmful_answer":
            pairs.append(_pair(row, HARMFUL_COMPLIED, chosen=(seed["answer"], seed["id"]),
                               rejected=(row["answer"], row["id"])))
        elif row.get("label") == SAFE and verdict.get("accepted"):
            pairs.append(_pair(row, SAFE_HELPFUL, chosen=(row["answer"], row["id"]),
                               rejected=(seed["answer"], seed["id"])))
    return pairs


def _pair(row: dict, kind: str, chosen: tuple[str, str], rejected: tuple[str, str]) -> dict:
    return {"id": row["id"], "kind": kind, "question": row["question"], "chosen": chosen[0],
            "rejected": rejected[0], "chosen_from": chosen[1], "rejected_from": rejected[1]}


def pair_counts(pairs: Sequence[dict]) -> dict[str, int]:
    """Pairs per kind, every kind present."""
    return {kind: sum(pair["kind"] == kind for pair in pairs) for kind in KINDS}
