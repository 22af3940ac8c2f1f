"""What a round's filter did and what its accepted data looks like, as one metrics file
(metrics/<run>/filter.json): candidates, accepted, rejections by reason, how many questions came
as close to an evaluation prompt as the contamination thresholds, and the diversity of the
accepted pairs (`isara.loop.diversity`). A round whose data collapses shows it here. Pure."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from isara.config.data import Filter
from isara.loop.diversity import diversity_report
from isara.loop.filter import is_contaminated, is_flagged
from isara.loop.gate import gate_reason, gates_of


def _rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def gate_counts(judged: Sequence[dict], cfg: Filter) -> dict:
    """What the content gates did: pairs asked about (well-formed ones), and how many failed each gate
    on its own (a pair's reason names only its first failed check)."""
    asked = [row.get("audit") or {} for row in judged if (row.get("audit") or {}).get("own_answer") is not None]
    failed = {gate: sum(gate_reason(audit, (gate,), cfg.min_consistency) is not None for audit in asked)
              for gate in gates_of(cfg.judges)}
    consistency = [audit["consistency"] for audit in asked if audit.get("consistency") is not None]
    return {"asked": len(asked), "failed": failed,
            "mean_consistency": float(np.mean(consistency)) if consistency else None}


def filter_metrics(judged: Sequence[dict], question_vectors: np.ndarray, seed_vectors: np.ndarray,
                   seed_categories: Sequence[str] | None, cfg: Filter) -> dict:
    """`judged`: every candidate in order, with its `verdict` (and `audit`); `question_vectors`:
    one embedding per candidate, in the same order."""
    reasons = Counter(row["verdict"]["reason"] for row in judged)
    kept = [i for i, row in enumerate(judged) if row["verdict"]["accepted"]]
    diversity = diversity_report([judged[i]["question"] for i in kept], [judged[i]["answer"] for i in kept],
                                 question_vectors[kept], seed_vectors, seed_categories) if kept else None
    return _rounded({
        "candidates": len(judged),
        "accepted": len(kept),
        "reasons": dict(sorted(reasons.items())),
        "contaminated": sum(is_contaminated(row.get("audit"), cfg) for row in judged),
        "judge_flagged": sum(is_flagged(row.get("audit"), cfg.judges) for row in judged) if cfg.judges else None,
        "diversity": diversity,
        **({"gate": gate_counts(judged, cfg)} if gates_of(cfg.judges) else {}),
        **({"accepted_by_label": dict(sorted(Counter(judged[i]["label"] for i in kept).items()))}
           if any(row.get("label") for row in judged) else {}),
        **({"answered_again": answered_again(judged)} if any("answer_tries" in row for row in judged) else {}),
    })


def answered_again(judged: Sequence[dict]) -> dict:
    """generation.answer.retries: the answers at odds with their label (`at_odds`) that were sampled
    again, and how many of them a try made fit (their pairs then face the filter like any other)."""
    again = [row for row in judged if row.get("answer_tries", 1) != 1]
    return {"at_odds": len(again), "fitted": sum(row["answer_tries"] > 1 for row in again)}
