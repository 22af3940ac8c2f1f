"""report.md: the results, what each number is, the judges' error, the samples and the figures."""

from __future__ import annotations

from pathlib import Path

from isara.report.samples import examples_section, rejection_counts
from isara.report.table import (MISSING, Cell, judges_table, legend_table, method_label, method_order,
                                metric_columns, results_table)


def render(table: dict[str, dict[str, Cell]], samples: dict[str, list[dict]], figures: list[str | None],
           checks: dict[str, dict] | None = None, sections: list[tuple[str, str]] = ()) -> str:
    """report.md; `sections`: (title, markdown) of the tables with intervals that come first, those
    with text only."""
    methods = method_order(table)
    columns = metric_columns(table)
    rejections = {m: rejection_counts(rows) for m, rows in samples.items()}
    reasons = sorted({r for c in rejections.values() for r in c if r != "accepted"})
    sample_lines = ["| method | accepted | " + " | ".join(reasons) + " |", "|---" * (len(reasons) + 2) + "|"]
    for method in method_order(samples):
        c = rejections[method]
        sample_lines.append(f"| {method_label(method)} | {c.get('accepted', 0)} | "
                            + " | ".join(str(c.get(r, 0)) for r in reasons) + " |")
    return "\n".join([
        "# ISARA experiment report",
        "",
        "Methods: `pretrained` is the base model; icl / icl_knn prompt it with k random / k nearest seed "
        "pairs; sft_seed is fine-tuned on D0 only; oneshot generates the run's whole sample budget in one "
        "round, then fine-tunes once; ISARA round t is the model after t rounds. "
        f"`{MISSING}` marks a metric that was not measured for a method (never a zero).",
        "",
        *(line for title, body in sections if body for line in (f"## {title}", "", body, "")),
        "## Results",
        "",
        results_table(table, methods, columns),
        "",
        "## Metrics: judges and sample counts",
        "",
        legend_table(table, methods, columns),
        "",
        "## Judges: measured error",
        "",
        judges_table(checks) if checks else "No judge was measured in this run (judges.check is empty).",
        "",
        "## Generated samples",
        "",
        "\n".join(sample_lines) if samples else "No generation outputs were found.",
        "",
        "## Figures",
        "",
        *([f"![{Path(f).stem}]({f})" for f in figures if f] or ["No metric of this run has a figure."]),
        "",
        "## Example generations",
        "",
        examples_section(samples) if samples else "No generation outputs were found.",
    ])
