"""Write the experiment report folder: report.md, PNG figures, and the data `dvc plots` draws."""

from __future__ import annotations

import json
from pathlib import Path

from isara import plots
from isara.files import atomic_dir
from isara.report import (JUDGE_PREFERENCE, curves, flatten, method_order, read_checks, read_runs,
                          read_samples, rejection_counts, render, round_of)


def category_rates(runs: dict[str, dict], methods: list[str]) -> tuple[dict[str, dict], str]:
    """({method: {category: harmful rate}}, judge) from BeaverTails when measured, else the demo set."""
    harm = [(runs[m].get("suites") or {}).get("harm", {}).get("beavertails") for m in methods]
    if all(harm):
        judge = next((j for j in JUDGE_PREFERENCE if all(j in h for h in harm)), None)
        if judge:
            return {m: h[judge]["by_category"] for m, h in zip(methods, harm)}, f"{judge}, BeaverTails"
    demo = [(runs[m].get("main") or {}).get("safety") for m in methods]
    if all(demo):
        return {m: d["by_category"] for m, d in zip(methods, demo)}, f"{demo[0].get('judge', 'refusal')}, demo prompts"
    return {}, ""


def write_report(metrics_dir: str | Path, work_dir: str | Path, out_dir: str | Path) -> Path:
    """Build the report from a finished (or partial) run; returns the path of report.md."""
    runs = read_runs(metrics_dir)
    table = {method: flatten(run) for method, run in runs.items()}
    methods = method_order(table)
    samples = read_samples(work_dir, methods)
    rounds = [m for m in methods if round_of(m) is not None]
    with atomic_dir(out_dir) as tmp:
        figures = [plots.harmful_rate(table, tmp / "harmful_rate.png")]
        if len(rounds) >= 2:
            rates, judge = category_rates(runs, [rounds[0], rounds[-1]])
            if rates:
                figures.append(plots.harm_by_category(rates, judge, tmp / "harm_by_category.png"))
        figures.append(plots.truthfulness_and_win_rate(table, tmp / "truthfulqa_win_rate.png"))
        if samples:
            figures.append(plots.samples({m: rejection_counts(r) for m, r in samples.items()}, tmp / "samples.png"))
        figures.append(plots.scaling(table, tmp / "scaling.png"))
        (tmp / "report.md").write_text(render(table, samples, figures, read_checks(metrics_dir)), encoding="utf-8")
        data = curves(table, methods, samples)
        (tmp / "curves").mkdir()
        for name, rows in data.items():
            (tmp / "curves" / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    return Path(out_dir) / "report.md"
