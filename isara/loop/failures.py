"""Anchors on failures (generation.anchors: failures): a round draws more of its question anchors
from the labels and categories whose labelled dev prompts its starting model got wrong (a harmful
prompt answered, a safe one refused: `isara.labels.failed`), so that the data it writes targets
what the model has not yet learnt. Only the dev split is read, never the evaluation prompts.

Each (label, category) weighs 1 + the failure rate of its dev prompts (a category the dev split
lacks: 1 + its label's rate), so a model that fails nothing keeps the uniform draw, and no
category is ever starved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from isara.errors import IsaraError
from isara.labels import HARMFUL, LABELS, SAFE, failed
from isara.records import read_rows

Weights = Mapping[tuple[str, str], float]  # (label, category) -> weight; (label, "*") -> the label's own


def failure_weights(dev_rows: Sequence[dict]) -> dict[tuple[str, str], float]:
    """(label, category) -> 1 + the failure rate of its dev prompts, and (label, "*") -> 1 + the label's."""
    weights = {}
    for label in LABELS:
        rows = [r for r in dev_rows if r["label"] == label]
        if rows:
            weights[(label, "*")] = 1 + sum(map(failed, rows)) / len(rows)
        for category in sorted({r.get("category", "all") for r in rows}):
            group = [r for r in rows if r.get("category", "all") == category]
            weights[(label, category)] = 1 + sum(map(failed, group)) / len(group)
    return weights


def load_failure_weights(path: str | Path) -> dict[tuple[str, str], float]:
    """`failure_weights` of a dev suite answers file (reports/<prev>/dev.jsonl), each row checked."""
    rows = read_rows(path)
    if not rows:
        raise IsaraError(f"{path}: no dev answers (generation.anchors failures reads them: the prev method "
                         "needs dev: true, and dev must be in evaluate.suites)")
    for n, row in enumerate(rows, start=1):
        if not (isinstance(row, dict) and row.get("label") in LABELS and isinstance(row.get("refused"), bool)
                and isinstance(row.get("category", "all"), str)):
            raise IsaraError(f"{path}: row {n} is not a dev answer with a label and a refusal verdict "
                             "(run its evaluate stage again)")
    return failure_weights(rows)


def weight_of(weights: Weights, label: str, category: str | None) -> float:
    """A pool item's weight: its (label, category)'s, else its label's, else 1."""
    return weights.get((label, category or "all"), weights.get((label, "*"), 1.0))


def weighted_safe_share(safe_share: float, weights: Weights) -> float:
    """The share of safe anchors once each label's share is scaled by its weight."""
    safe = safe_share * weights.get((SAFE, "*"), 1.0)
    harmful = (1 - safe_share) * weights.get((HARMFUL, "*"), 1.0)
    return safe / (safe + harmful) if safe + harmful else safe_share


def allocate(count: int, sizes: Mapping[str, float]) -> dict[str, int]:
    """`count` split over groups in proportion to `sizes` (largest remainder, ties by name)."""
    total = sum(sizes.values())
    if not total:
        return {name: 0 for name in sizes}
    exact = {name: count * size / total for name, size in sizes.items()}
    out = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(sizes, key=lambda name: (-(exact[name] - out[name]), name))
    for name in by_remainder[: count - sum(out.values())]:
        out[name] += 1
    return out
