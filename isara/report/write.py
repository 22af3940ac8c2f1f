"""Write the experiment report folder (report.md, PNG figures, the data `dvc plots` draws) and the flat
summary (metrics/summary.json) from the files of the methods and suites that params.yaml names, and
nothing else in metrics/methods/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Collection

from isara.atomic import atomic_dir, write_json
from isara.config import Params
from isara.config.names import round_number
from isara.errors import IsaraError
from isara.eval.metrics import RUN_FILES
from isara.records import read_rows
from isara.report import plots
from isara.report.curves import curves, figure_curves
from isara.report.domain import domain_table
from isara.report.headline import d0_passes, headline_rows, headline_table, passes_line, rounds_line, summary
from isara.report.markdown import render
from isara.report.samples import rejection_counts
from isara.report.stop_rule import stop_section, stop_summary, verdicts
from isara.report.table import JUDGE_PREFERENCE, flatten, method_order


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise IsaraError(f"{path}: not valid JSON ({err})") from None


def _current(path: Path, stale: Collection[str]) -> bool:
    """Whether `path` is there and its stage is up to date (`stale`: outputs of stages that are not)."""
    return path.is_file() and path.as_posix() not in stale


def read_runs(metrics_dir: str | Path, p: Params, stale: Collection[str] = ()) -> dict[str, dict[str, dict]]:
    """method -> {file name: metrics} for every method of params.yaml: its suites, data and train
    (a file in `stale` left out)."""
    metrics_dir = Path(metrics_dir)
    if not metrics_dir.is_dir():
        raise IsaraError(f"{metrics_dir}: metrics folder not found (run the pipeline first)")
    names = (*p.evaluate.suites, *RUN_FILES)
    runs = {method: {name: _read_json(path) for name in names
                     if _current(path := metrics_dir / method / f"{name}.json", stale)}
            for method in p.methods}
    if not any(runs.values()):
        raise IsaraError(f"{metrics_dir}: no metrics files for the methods of params.yaml")
    return runs


def read_checks(judges_dir: str | Path, p: Params) -> dict[str, dict]:
    """judge name -> its check (judges/NAME/check.json, written by stage judge@NAME)."""
    checks = {name: _read_json(Path(judges_dir, name, "check.json")) for name in (*p.judges.check, "prompt_label")}
    return {name: check for name, check in checks.items() if check is not None and check.get("n") != 0}


def read_samples(work_dir: str | Path, runs, stale: Collection[str] = ()) -> dict[str, list[dict]]:
    """run -> its accepted + rejected generated rows, for the runs that generated."""
    samples = {}
    for run in runs:
        files = [Path(work_dir) / run / "accepted.jsonl", Path(work_dir) / run / "rejected.jsonl"]
        if all(_current(f, stale) for f in files):  # either may be empty: a round can accept or reject all
            samples[run] = [row for f in files for row in read_rows(f)]
    return samples


def category_rates(runs: dict[str, dict], methods: list[str]) -> tuple[dict[str, dict], str]:
    """({method: {category: harmful rate}}, judge) on BeaverTails when measured, else the demo set."""
    for prompt_set in ("beavertails", "demo"):
        harm = [(runs[m].get("harm") or {}).get(prompt_set) for m in methods]
        if all(harm):
            judge = next((j for j in JUDGE_PREFERENCE if all(j in h for h in harm)), None)
            if judge:
                return {m: h[judge]["by_category"] for m, h in zip(methods, harm)}, f"{judge}, {prompt_set}"
    return {}, ""


def read_suite_rows(reports_dir: str | Path, methods, suite: str, stale: Collection[str] = ()) -> dict[str, list[dict]]:
    """method -> its per-item rows of `suite` (reports/<method>/<suite>.jsonl), for those that have them."""
    rows = {}
    for method in methods:
        path = Path(reports_dir) / method / f"{suite}.jsonl"
        if _current(path, stale):
            rows[method] = read_rows(path)
    return rows


def write_report(metrics_dir: str | Path, work_dir: str | Path, out_dir: str | Path, p: Params,
                 reports_dir: str | Path = "reports", judges_dir: str | Path = "judges",
                 summary_path: str | Path | None = None, stale: Collection[str] = ()) -> Path:
    """Build the report from a finished (or partial) run, and with `summary_path` the flat summary;
    returns the path of report.md. `stale`: files (paths as dvc.yaml names them) whose stages are
    not up to date, left out, so a partial run never mixes in an earlier run's numbers."""
    runs = read_runs(metrics_dir, p, stale)
    table = {method: flatten(files) for method, files in runs.items()}
    methods = method_order(table)
    samples = read_samples(work_dir, p.runs, stale)
    harm_rows = read_suite_rows(reports_dir, methods, "harm", stale)
    first_rows, caption, outcomes = headline_rows(harm_rows, methods, p.seed)
    dev_rows = read_suite_rows(reports_dir, methods, "dev", stale) if "dev" in p.evaluate.suites else {}
    stops = verdicts(dev_rows, {run: spec.prev for run, spec in p.runs.items()}, p.seed)
    accepted = {run: rejection_counts(rows).get("accepted", 0) for run, rows in samples.items()}
    rounds = [m for m in methods if round_number(m) is not None]
    with atomic_dir(out_dir) as tmp:
        figures = [plots.harm_vs_over_refusal(plots.harm_points(runs, methods), tmp / "harm_vs_over_refusal.png"),
                   plots.harmful_rate(table, tmp / "harmful_rate.png")]  # a figure without data is None, left out
        if len(rounds) >= 2:
            rates, judge = category_rates(runs, [rounds[0], rounds[-1]])
            if rates:
                figures.append(plots.harm_by_category(rates, judge, tmp / "harm_by_category.png"))
        figures.append(plots.truthfulness_and_win_rate(table, tmp / "truthfulqa_win_rate.png"))
        if samples:
            figures.append(plots.samples({m: rejection_counts(r) for m, r in samples.items()}, tmp / "samples.png"))
        figures.append(plots.scaling(table, tmp / "scaling.png"))
        first = headline_table(first_rows, caption)
        trend = rounds_line(outcomes, [m for m in rounds if round_number(m)], p.seed)
        measured = [m for m in methods if runs[m]]
        passes = passes_line(d0_passes(p.runs, p.finetune.epochs, p.finetune.init_from), measured)
        runs_text = "\n\n".join(part for part in (first, trend, stop_section(stops), passes) if part)
        domain = ("The domain's prompts, with uncertainty", domain_table({m: runs[m].get("domain") for m in methods},
                                                                         methods))
        sections = ([("Harm and over-refusal, with uncertainty", runs_text), domain] if first
                    else [domain, ("The runs", runs_text)])  # a run that measured no harm shows no harm heading
        (tmp / "report.md").write_text(render(table, samples, figures, read_checks(judges_dir, p), sections),
                                       encoding="utf-8")
        (tmp / "curves").mkdir()
        data = curves(table, methods, samples)
        for name, rows in {**data, **figure_curves(data)}.items():
            (tmp / "curves" / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")
    if summary_path is not None:
        write_json(summary_path, {**summary(first_rows, runs, accepted), **stop_summary(stops)})
    return Path(out_dir) / "report.md"
