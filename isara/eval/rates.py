"""Rates of a flag over items, overall and per category (harmful rate, refusal rate)."""

from __future__ import annotations

from typing import Sequence

import polars as pl


def rates(categories: Sequence[str], flags: Sequence[bool]) -> dict:
    """Share of True flags overall and per category: {"rate", "n", "by_category"}."""
    frame = pl.DataFrame({"category": list(categories), "flag": [bool(f) for f in flags]})
    by_category = frame.group_by("category").agg(rate=pl.col("flag").mean()).sort("category")
    return {
        "rate": round(frame["flag"].mean(), 4),
        "n": frame.height,
        "by_category": {row["category"]: round(row["rate"], 4) for row in by_category.iter_rows(named=True)},
    }
