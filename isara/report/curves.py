"""The rows `dvc plots` draws: per ISARA round and per method, a fixed set of fields."""

from __future__ import annotations

from isara.labels import CURATION_REASONS
from isara.report.samples import rejection_counts
from isara.report.table import JUDGE_PREFERENCE, Cell, method_label, metric_columns, round_of


def curves(table: dict[str, dict[str, Cell]], methods: list[str], samples: dict[str, list[dict]]) -> dict:
    """Rows for `dvc plots`: per ISARA round and per method, a fixed set of fields (null when missing).

    A prompt set's harmful rate is by the first judge of JUDGE_PREFERENCE that judged it."""
    columns = metric_columns(table)

    def harm(prompt_set: str) -> str | None:
        return next((f"{prompt_set}_harmful_rate_{j}" for j in JUDGE_PREFERENCE
                     if f"{prompt_set}_harmful_rate_{j}" in columns), None)

    fields = {
        "demo_harmful_rate": harm("demo"),
        "beavertails_harmful_rate": harm("beavertails"),
        "xstest_refusal_safe": "xstest_refusal_safe",
        "truthfulqa_rougeL_diff": "truthfulqa_rougeL_diff",
        "truthfulqa_mc2": "truthfulqa_mc2",
        "alpaca_win_rate": "alpaca_win_rate",
        "scaling_ratio": "scaling_ratio",
        "over_refusal_rate": "over_refusal_rate",
        "demo_balanced_accuracy": "demo_balanced_accuracy",
        "contaminated": "contaminated",
        "distinct_2_questions": "distinct_2_questions",
        "distinct_2_answers": "distinct_2_answers",
        "question_similarity": "question_similarity",
        "same_opening_share": "same_opening_share",
        "domain_share": "domain_share",
        "category_entropy": "category_entropy",
    }

    def row(method: str) -> dict:
        cells = table[method]
        out = {name: (cells[key].value if key in cells else None) for name, key in fields.items()}
        counts = rejection_counts(samples.get(method, []))
        out["accepted"] = counts.get("accepted", 0) if method in samples else None
        out["rejected"] = sum(v for k, v in counts.items() if k != "accepted") if method in samples else None
        for reason in CURATION_REASONS:  # label-consistent curation's drops (isara.labels)
            out[reason] = counts.get(reason, 0) if method in samples else None
        return out

    rounds = [m for m in methods if round_of(m) is not None]
    return {
        "rounds": [{"round": round_of(m), **row(m)} for m in rounds],
        "methods": [{"method": method_label(m), **row(m)} for m in methods],
    }
