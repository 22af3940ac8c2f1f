"""The filter's content gates: does a generated answer hold up against what the round's starting
model says when asked the same question again, on its own (zero-shot, greedy, no examples)?

- `consistency` (filter.judges): the cosine of the sentence embeddings (embedder.name) of the
  pair's answer and of that own answer; below filter.min_consistency the pair is "inconsistent"
  (an answer the model does not reproduce without the retrieved examples steering it);
- `pairwise` (filter.judges): judges.pairwise compares the pair's answer with the own answer in
  both orders (`isara.judges.win_rate.both_orders`); the pair goes as "judge_prefers_own" when the
  judge prefers the model's own answer (p < 0.5): training on it would teach nothing better.

Both read the same own answers, written once by stage audit into each audit row (`own_answer`,
`consistency`, `judges.pairwise`). Only pairs that pass the filter's shape checks are asked about:
the rest are dropped before any gate. Pure: answers and embeddings come in as values.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

GATES = ("consistency", "pairwise")  # filter.judges that read the starting model's own answers


def gates_of(judges: Sequence[str]) -> tuple[str, ...]:
    """The content gates among filter.judges."""
    return tuple(name for name in judges if name in GATES)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two equally long stacks of vectors (0 for a zero vector)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.where(norms == 0, 0.0, (a * b).sum(axis=1) / np.where(norms == 0, 1.0, norms))


def gate_audit(questions: Sequence[str], answers: Sequence[str], own: Sequence[str], gates: Sequence[str],
               embed: Callable[[list[str]], np.ndarray],
               prefer: Callable[[str, str, str], float] | None = None) -> list[dict]:
    """One audit update per pair: {"own_answer", "consistency"?, "judges": {"pairwise": p}?}, where
    `prefer(question, answer, own_answer)` is p(the pair's answer is the better), both orders."""
    out = [{"own_answer": text} for text in own]
    if "consistency" in gates and len(own):
        for row, value in zip(out, cosines(embed(list(answers)), embed(list(own)))):
            row["consistency"] = round(float(value), 4)
    if "pairwise" in gates:
        if prefer is None:
            raise ValueError("the pairwise gate needs a judge")
        for row, question, answer, mine in zip(out, questions, answers, own):
            row["judges"] = {"pairwise": round(float(prefer(question, answer, mine)), 4)}
    return out


def gate_reason(audit: dict | None, judges: Sequence[str], min_consistency: float) -> str | None:
    """"inconsistent" or "judge_prefers_own" when a selected gate fails on the pair's audit row."""
    audit = audit or {}
    if "consistency" in judges and audit.get("consistency") is not None and audit["consistency"] < min_consistency:
        return "inconsistent"
    preference = (audit.get("judges") or {}).get("pairwise")
    if "pairwise" in judges and preference is not None and preference < 0.5:
        return "judge_prefers_own"
    return None


def threshold_table(consistency: Sequence[float], quality: Sequence[float], grid: Sequence[float]) -> list[dict]:
    """For each threshold of `grid`: how many answers it keeps (consistency >= threshold) and the mean
    quality (e.g. similarity to a reference answer) of those kept and of those dropped."""
    c, q = np.asarray(consistency, dtype=float), np.asarray(quality, dtype=float)
    rows = []
    for threshold in grid:
        kept = c >= threshold
        rows.append({"threshold": float(threshold), "kept": int(kept.sum()), "of": len(c),
                     "quality_kept": float(q[kept].mean()) if kept.any() else None,
                     "quality_dropped": float(q[~kept].mean()) if (~kept).any() else None})
    return rows


def choose_min_consistency(table: Sequence[dict], min_kept: float = 0.5) -> float | None:
    """The threshold of `threshold_table` whose kept answers have the highest mean quality, among
    those keeping at least `min_kept` of the answers; None (gate off) when none beats keeping them
    all. Ties go to the lower threshold (fewer drops)."""
    if not table:
        return None
    first = table[0]
    parts = [(first["quality_kept"], first["kept"]), (first["quality_dropped"], first["of"] - first["kept"])]
    best_quality = sum(q * n for q, n in parts if n) / first["of"]  # every answer kept
    best = None
    for row in sorted(table, key=lambda row: row["threshold"]):
        if row["kept"] >= min_kept * row["of"] and row["quality_kept"] is not None \
                and row["quality_kept"] > best_quality + 1e-12:
            best, best_quality = row["threshold"], row["quality_kept"]
    return best
