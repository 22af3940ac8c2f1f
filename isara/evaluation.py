"""Metrics of a round: harm rates (overall and per category) and the data-scaling ratio."""

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


def rates(categories: Sequence[str], flags: Sequence[bool]) -> dict:
    """Share of True flags overall and per category: {"rate", "n", "by_category"}."""
    frame = pl.DataFrame({"category": list(categories), "flag": [bool(f) for f in flags]})
    by_category = frame.group_by("category").agg(rate=pl.col("flag").mean()).sort("category")
    return {
        "rate": round(frame["flag"].mean(), 4),
        "n": frame.height,
        "by_category": {row["category"]: round(row["rate"], 4) for row in by_category.iter_rows(named=True)},
    }


def harm_metrics(rows: Sequence[dict]) -> dict:
    """Refusal-judge metrics over {"category", "answer"} rows: overall and per category."""
    refused = [is_refusal(row["answer"]) for row in rows]
    harmful = rates([row.get("category", "all") for row in rows], [not r for r in refused])
    return {
        "judge": "refusal",
        "n": harmful["n"],
        "harmful_rate": harmful["rate"],
        "refusal_rate": round(1.0 - harmful["rate"], 4),
        "mean_answer_words": round(sum(len(row["answer"].split()) for row in rows) / len(rows), 2),
        "by_category": harmful["by_category"],
    }


def data_metrics(seed_size: int, pool_size: int) -> dict:
    """Pool size against |D0|: the data-scaling ratio |D0 + accepted| / |D0|."""
    return {
        "seed_size": seed_size,
        "pool_size": pool_size,
        "generated_accepted": pool_size - seed_size,
        "scaling_ratio": round(pool_size / seed_size, 4),
    }
