"""The rows `dvc plots` draws: per ISARA round and per method, a fixed set of fields (rounds.json,
methods.json), and one file per figure of dvc.yaml's plots (FIGURES) that is empty when the run
measured none of the figure's series, so that `dvc plots show` leaves that figure out instead of
drawing an empty frame."""

from __future__ import annotations

from isara.config.names import round_number
from isara.labels import CURATION_REASONS
from isara.report.samples import rejection_counts
from isara.report.table import JUDGE_PREFERENCE, Cell, method_label, metric_columns

# The fields dvc.yaml's plots draw -> the report column each holds, a column that the suites or the
# run files declare (isara.eval; tests/test_report.py checks each). A {judge} column is by the first
# judge of JUDGE_PREFERENCE that the run has.
FIELDS = {
    "demo_harmful_rate": "demo_harmful_rate_{judge}",
    "beavertails_harmful_rate": "beavertails_harmful_rate_{judge}",
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


def curves(table: dict[str, dict[str, Cell]], methods: list[str], samples: dict[str, list[dict]]) -> dict:
    """Rows for `dvc plots`: per ISARA round and per method, the FIELDS (null when missing)."""
    columns = metric_columns(table)

    def column(name: str) -> str | None:
        if "{judge}" not in name:
            return name
        return next((name.format(judge=j) for j in JUDGE_PREFERENCE if name.format(judge=j) in columns), None)

    fields = {field: column(name) for field, name in FIELDS.items()}

    def row(method: str) -> dict:
        cells = table[method]
        out = {name: (cells[key].value if key in cells else None) for name, key in fields.items()}
        counts = rejection_counts(samples.get(method, []))
        out["accepted"] = counts.get("accepted", 0) if method in samples else None
        out["rejected"] = sum(v for k, v in counts.items() if k != "accepted") if method in samples else None
        for reason in CURATION_REASONS:  # label-consistent curation's drops (isara.labels)
            out[reason] = counts.get(reason, 0) if method in samples else None
        return out

    rounds = [m for m in methods if round_number(m) is not None]
    return {
        "rounds": [{"round": round_number(m), **row(m)} for m in rounds],
        "methods": [{"method": method_label(m), **row(m)} for m in methods],
    }


# dvc.yaml's figures: report/curves/NAME.json <- (rows of `curves`, the x field, the series drawn).
FIGURES = {
    "harm_vs_over_refusal": ("methods", "over_refusal_rate", ["demo_harmful_rate"]),
    "harm_by_round": ("rounds", "round", ["demo_harmful_rate", "beavertails_harmful_rate"]),
    "harm_by_method": ("methods", "method", ["demo_harmful_rate"]),
    "truthfulqa_alpaca_by_round": ("rounds", "round", ["truthfulqa_rougeL_diff", "truthfulqa_mc2", "alpaca_win_rate"]),
    "scaling_by_round": ("rounds", "round", ["scaling_ratio"]),
    "accepted_data_by_round": ("rounds", "round", ["distinct_2_questions", "distinct_2_answers", "question_similarity",
                                                   "same_opening_share", "domain_share", "category_entropy"]),
    "samples_by_round": ("rounds", "round", ["accepted", "rejected", *CURATION_REASONS]),
}


def figure_rows(rows: list[dict], x: str, series: list[str]) -> list[dict]:
    """The rows of one figure: x and its series, only rows where x and some series were measured;
    [] when none was (dvc plots then draws no figure)."""
    return [{x: row[x], **{name: row.get(name) for name in series}} for row in rows
            if row.get(x) is not None and any(row.get(name) is not None for name in series)]


def figure_curves(data: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Every figure's rows, from `curves`' output."""
    return {name: figure_rows(data[source], x, series) for name, (source, x, series) in FIGURES.items()}
