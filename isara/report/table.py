"""The experiment report's tables: every method against every declared metric, with judges, sample
counts and direction.

A method's metrics are the files `metrics/<method>/<name>.json`: one per evaluation suite, plus
`data.json` (the data-scaling ratio) and `train.json` (fine-tuning) for the runs that have them.
What each file holds is declared by its suite (`Suite.metrics`, the suites listed in
`isara.eval.registry`) or in `isara.eval.metrics.RUN_FILES`; this module only iterates those
declarations. A method is the pretrained model (`iter0`), an ISARA round (`iter1`..`iterT`) or a
baseline (icl, icl_knn, sft_seed, oneshot, ...). A metric a method lacks is reported as missing,
never as zero. Everything here is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from isara.config.names import round_number
from isara.eval.metrics import RUN_FILES, values
from isara.eval.registry import SUITES

BASELINES = ("icl", "icl_knn", "sft_seed", "oneshot")
MISSING = "—"
JUDGE_PREFERENCE = ("classifier", "beaver-dam", "refusal")  # the harm judge a single curve uses


@dataclass(frozen=True)
class Cell:
    value: float
    judge: str
    n: int | None
    higher_is_better: bool | None = None


def method_label(method: str) -> str:
    number = round_number(method)
    if number is None:
        return method
    return "pretrained" if number == 0 else f"ISARA round {number}"


def method_order(methods: Iterable[str]) -> list[str]:
    """pretrained, the baselines, any other method, then the ISARA rounds in order."""
    methods = set(methods)
    rounds = sorted((m for m in methods if round_number(m) is not None), key=round_number)
    first = [m for m in rounds if round_number(m) == 0]
    known = [m for m in BASELINES if m in methods]
    others = sorted(methods - set(rounds) - set(known))
    return first + known + others + [m for m in rounds if round_number(m) != 0]


def flatten(files: dict[str, dict]) -> dict[str, Cell]:
    """One method's metrics as {column: Cell}, from its files {name: metrics dict} (suites first,
    then data and train), in declaration order."""
    cells: dict[str, Cell] = {}
    for name, declaration in {**SUITES, **RUN_FILES}.items():
        for v in values(declaration, files.get(name) or {}):
            cells.setdefault(v.column, Cell(v.value, v.judge, v.n, v.higher_is_better))
    return cells


def metric_columns(table: dict[str, dict[str, Cell]]) -> list[str]:
    """Metric keys in a stable order: the order `flatten` emits them, first method first."""
    seen: dict[str, None] = {}
    for cells in table.values():
        seen.update(dict.fromkeys(cells))
    return list(seen)


def _fmt(cell: Cell | None) -> str:
    if cell is None:
        return MISSING
    return f"{cell.value:.1f}" if abs(cell.value) >= 10 else f"{cell.value:.3f}"


def results_table(table: dict[str, dict[str, Cell]], methods: list[str], columns: list[str]) -> str:
    """Markdown: one row per method, one column per metric; missing values are `—`."""
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for method in methods:
        row = [_fmt(table[method].get(column)) for column in columns]
        lines.append(f"| {method_label(method)} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def legend_table(table: dict[str, dict[str, Cell]], methods: list[str], columns: list[str]) -> str:
    """Markdown: each metric's judge(s), sample count(s), and the methods that lack it."""
    lines = ["| metric | better | judge | n | missing for |", "|---|---|---|---|---|"]
    for column in columns:
        cells = [table[m][column] for m in methods if column in table[m]]
        judges = ", ".join(sorted({c.judge for c in cells}))
        counts = sorted({c.n for c in cells if c.n is not None})
        n = "?" if not counts else (str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}")
        lacking = ", ".join(method_label(m) for m in methods if column not in table[m]) or ""
        better = {True: "higher", False: "lower"}.get(cells[0].higher_is_better, "—") if cells else MISSING
        lines.append(f"| {column} | {better} | {judges} | {n} | {lacking} |")
    return "\n".join(lines)


def judge_row(name: str, check: dict) -> list[str]:
    """[judge, measured on, accuracy, F1, n, baseline accuracy, near chance, probes] of one judge check."""
    def num(value) -> str:
        return f"{value:.3f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else MISSING

    probes = check.get("probes") or {}
    probe_text = (f"{'passed' if probes.get('passed') else 'failed'}: refusals safe {probes.get('refusals_safe')}, "
                  f"harmful flagged {probes.get('harmful_flagged')}") if probes else MISSING
    if "metrics" in check:  # a trained classifier: held-out split, against the best prompt-only model
        own = check["metrics"].get("classifier", {})
        prompt_only = max((m.get("accuracy", 0.0) for key, m in check["metrics"].items() if key.startswith("prompt_only")),
                          default=None)
        return [name, "BeaverTails held-out pairs (grouped split)", num(own.get("accuracy")), num(own.get("f1")),
                str(own.get("n", MISSING)), f"prompt-only {num(prompt_only)}", MISSING, probe_text]
    if "chance" in check:  # a pairwise judge on chosen/rejected pairs
        return [name, "hh-rlhf harmless-base chosen vs rejected", num(check.get("accuracy")), MISSING,
                str(check.get("n", MISSING)), f"chance {num(check.get('chance'))}", str(check.get("near_chance")),
                MISSING]
    return [name, check.get("measured_on", "BeaverTails held-out pairs (grouped split)"), num(check.get("accuracy")),
            num(check.get("f1")), str(check.get("n", MISSING)), f"majority {num(check.get('majority_accuracy'))}",
            str(check.get("near_chance")), probe_text]


def judges_table(checks: dict[str, dict]) -> str:
    """Markdown: each judge's measured error against human labels (its judge@NAME stage)."""
    lines = ["| judge | measured on | accuracy | F1 | n | baseline | near chance | probes |", "|---" * 8 + "|"]
    lines += ["| " + " | ".join(judge_row(name, check)) + " |" for name, check in sorted(checks.items())]
    return "\n".join(lines)
