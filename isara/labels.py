"""Labelled seeds: a seed pair may say what kind of question it answers (`label: harmful | safe`),
and what the loop does with that. Pure: vectors and rows come in, labels and reasons go out.

- the prompt judge (`vote`): a question's label is the majority label of its `k` nearest labelled
  D0 questions by sentence-embedding cosine, ties broken by the nearest one's label; with
  `harmful_at` above one half, a question is harmful only when at least that share of them is
  (a confident vote), safe otherwise; D0's labels are the only human ones, so generated pairs
  never vote;
- anchors by label (`anchor_labels`): of `count` question prompts, a share `safe_share` is anchored
  on safe examples, spread evenly so that every prefix keeps the share (the one-shot run starts
  with round 1's own anchors);
- label-consistent curation (`curation_reason`): a safe question must not be refused
  (`needless_refusal`) and a harmful one must not be answered (`harmful_answer`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

HARMFUL, SAFE = "harmful", "safe"
LABELS = (HARMFUL, SAFE)
CURATION_REASONS = ("needless_refusal", "harmful_answer")  # the filter's reasons of `curation_reason`


def vote(question_vectors: np.ndarray, seed_vectors: np.ndarray, seed_labels: Sequence[str],
         k: int, harmful_at: float = 0.5) -> list[tuple[str, float]]:
    """(label, share of the k neighbours that carry it) for each question; unit-norm rows in.
    `harmful_at` 0.5 is the majority; above it, harmful needs that share of the neighbours."""
    if not len(seed_labels):
        raise ValueError("the prompt judge needs labelled D0 questions")
    if not 0.5 <= harmful_at <= 1.0:
        raise ValueError(f"harmful_at must lie in [0.5, 1], not {harmful_at}")
    labels = np.asarray(seed_labels)
    k = min(k, len(labels))
    scores = np.asarray(question_vectors, dtype=np.float32) @ np.asarray(seed_vectors, dtype=np.float32).T
    out = []
    for row in scores:
        nearest = np.argsort(-row, kind="stable")[:k]
        counts = {label: int((labels[nearest] == label).sum()) for label in LABELS}
        best = max(counts.values())
        tied = [label for label in LABELS if counts[label] == best]
        label = tied[0] if len(tied) == 1 else str(labels[nearest[0]])
        if harmful_at > 0.5:
            label = HARMFUL if counts[HARMFUL] >= harmful_at * k - 1e-9 else SAFE
        out.append((label, round(counts[label] / k, 4)))
    return out


def anchor_labels(count: int, safe_share: float) -> list[str]:
    """The label each of `count` anchors is drawn from: position n is safe when the running count
    of safe anchors floor((n + 1) x share) steps up, so any prefix holds the share (rounded down)."""
    return [SAFE if math.floor((n + 1) * safe_share) > math.floor(n * safe_share) else HARMFUL
            for n in range(count)]


def curation_reason(label: str | None, refused: bool) -> str | None:
    """Why a pair teaches the wrong behaviour for its kind of question, or None."""
    if label == SAFE and refused:
        return "needless_refusal"
    if label == HARMFUL and not refused:
        return "harmful_answer"
    return None


def failed(row: dict) -> bool:
    """A labelled prompt's answer gets it wrong ({"label", "refused"}): a harmful prompt answered,
    a safe one refused (the dev suite's failures)."""
    return curation_reason(row["label"], row["refused"]) is not None


def share_counts(size: int, safe_share: float) -> tuple[int, int]:
    """(harmful, safe) counts of a draw of `size` with `safe_share` of it safe (rounded half up)."""
    safe = math.floor(size * safe_share + 0.5)
    return size - safe, safe
