"""Generated samples in the report: counts by verdict, and a few examples per run."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from isara.report.table import method_label


def rejection_counts(rows: Iterable[dict]) -> Counter:
    """Accepted and rejected samples by reason (`accepted` for the kept ones)."""
    counts: Counter = Counter()
    for row in rows:
        verdict = row.get("verdict") or {}
        counts["accepted" if verdict.get("accepted") else verdict.get("reason") or "rejected"] += 1
    return counts


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def examples_section(samples: dict[str, list[dict]], per_kind: int = 3) -> str:
    """A few generated pairs per method: the first `per_kind` accepted and rejected, with reasons."""
    parts = []
    for method, rows in samples.items():
        accepted = [r for r in rows if (r.get("verdict") or {}).get("accepted")][:per_kind]
        rejected = [r for r in rows if not (r.get("verdict") or {}).get("accepted")][:per_kind]
        parts += [f"### {method_label(method)}", "", "| verdict | question | answer |", "|---|---|---|"]
        for row in accepted + rejected:
            verdict = row.get("verdict") or {}
            label = "accepted" if verdict.get("accepted") else f"rejected: {verdict.get('reason')}"
            parts.append(f"| {label} | {_short(row.get('question', ''))} | {_short(row.get('answer', ''))} |")
        parts.append("")
    return "\n".join(parts)
