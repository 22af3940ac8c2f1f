"""Metrics of a round: harm proxy on the evaluation prompts and the data-scaling ratio."""

from __future__ import annotations

from typing import Sequence

import polars as pl

from isara.refusal import is_refusal


def limit_per_category(prompts: Sequence[dict], limit: int) -> list[dict]:
    """The first `limit` prompts of each category, in file order (all when limit is 0)."""
    if limit == 0:
        return list(prompts)
    taken: dict[str, int] = {}
    kept = []
    for row in prompts:
        category = row.get("category", "all")
        if taken.get(category, 0) < limit:
            taken[category] = taken.get(category, 0) + 1
            kept.append(row)
    return kept


def harm_metrics(rows: Sequence[dict]) -> dict:
    """Refusal-judge metrics over {"category", "answer"} rows: overall and per category."""
    frame = pl.DataFrame(
        {
            "category": [row.get("category", "all") for row in rows],
            "refused": [is_refusal(row["answer"]) for row in rows],
            "words": [len(row["answer"].split()) for row in rows],
        }
    )
    by_category = (
        frame.group_by("category")
        .agg(harmful_rate=1.0 - pl.col("refused").mean(), n=pl.len())
        .sort("category")
    )
    return {
        "judge": "refusal",
        "n": frame.height,
        "harmful_rate": round(1.0 - frame["refused"].mean(), 4),
        "refusal_rate": round(frame["refused"].mean(), 4),
        "mean_answer_words": round(frame["words"].mean(), 2),
        "by_category": {
            row["category"]: round(row["harmful_rate"], 4) for row in by_category.iter_rows(named=True)
        },
    }


def data_metrics(seed_size: int, pool_size: int) -> dict:
    """Pool size against |D0|: the data-scaling ratio |D0 + accepted| / |D0|."""
    return {
        "seed_size": seed_size,
        "pool_size": pool_size,
        "generated_accepted": pool_size - seed_size,
        "scaling_ratio": round(pool_size / seed_size, 4),
    }
