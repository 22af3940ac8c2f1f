"""The experiment report: every method against every metric, with judges and sample counts.

Inputs are the pipeline's own files: `metrics/<method>.json` (demo evaluation and data sizes),
`metrics/<method>/<suite>.json` (benchmark suites), `metrics/train/<method>.json` and, for the
sample statistics and examples, `work/<method>/{accepted,rejected}.jsonl`. A method is an ISARA
round (`iter0` is the pretrained model, `iter1`..`iterT` the rounds) or a baseline (icl,
icl_knn, sft_seed, oneshot). A metric a method lacks is reported as missing, never as zero.

Everything here is pure except the small readers at the bottom.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from isara.errors import IsaraError

ROUND = re.compile(r"iter(\d+)$")
BASELINES = ("icl", "icl_knn", "sft_seed", "oneshot")
MISSING = "—"
JUDGE_PREFERENCE = ("classifier", "beaver-dam", "refusal")  # the harm judge a single curve uses


@dataclass(frozen=True)
class Cell:
    value: float
    judge: str
    n: int | None


def method_label(method: str) -> str:
    match = ROUND.match(method)
    if match:
        return "pretrained" if match.group(1) == "0" else f"ISARA round {match.group(1)}"
    return method


def round_of(method: str) -> int | None:
    match = ROUND.match(method)
    return int(match.group(1)) if match else None


def method_order(methods: Iterable[str]) -> list[str]:
    """pretrained, the baselines, any other method, then the ISARA rounds in order."""
    methods = set(methods)
    rounds = sorted((m for m in methods if round_of(m) is not None), key=round_of)
    first = [m for m in rounds if round_of(m) == 0]
    known = [m for m in BASELINES if m in methods]
    others = sorted(methods - set(rounds) - set(known))
    return first + known + others + [m for m in rounds if round_of(m) != 0]


def _cell(value, judge: str, n) -> Cell | None:
    return Cell(float(value), judge, n) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def flatten(run: dict) -> dict[str, Cell]:
    """One method's metrics as {metric key: Cell}. `run` = {"main", "suites", "train"} dicts."""
    cells: dict[str, Cell | None] = {}
    main = run.get("main") or {}
    safety = main.get("safety") or {}
    cells["demo_harmful_rate"] = _cell(safety.get("harmful_rate"), safety.get("judge", "refusal"), safety.get("n"))
    data = main.get("data") or {}
    cells["scaling_ratio"] = _cell(data.get("scaling_ratio"), "pool / D0", data.get("seed_size"))
    suites = run.get("suites") or {}
    for set_name, result in (suites.get("harm") or {}).items():
        if not isinstance(result, dict) or "n" not in result:
            continue
        for judge, scores in result.items():
            if isinstance(scores, dict) and "harmful_rate" in scores:
                cells[f"{set_name}_harmful_rate_{judge}"] = _cell(scores["harmful_rate"], judge, result["n"])
    xstest = suites.get("xstest") or {}
    for label in ("safe", "unsafe"):
        cells[f"xstest_refusal_{label}"] = _cell(xstest.get(f"refusal_rate_{label}"), xstest.get("judge", "refusal"),
                                                 xstest.get(f"n_{label}"))
    tqa = suites.get("truthfulqa") or {}
    for key in ("rougeL_max", "rougeL_diff", "rougeL_acc"):
        cells[f"truthfulqa_{key}"] = _cell(tqa.get(key), "rougeL", tqa.get("n"))
    for key in ("mc1", "mc2"):
        cells[f"truthfulqa_{key}"] = _cell(tqa.get(key), "log-likelihood", tqa.get("n"))
    alpaca = suites.get("alpaca_eval") or {}
    cells["alpaca_win_rate"] = _cell(alpaca.get("win_rate"), alpaca.get("judge", "?"), alpaca.get("n"))
    cells["alpaca_output_words"] = _cell(alpaca.get("mean_output_words"), "word count", alpaca.get("n"))
    train = run.get("train") or {}
    cells["train_loss"] = _cell(train.get("train_loss"), "training", train.get("examples"))
    return {key: cell for key, cell in cells.items() if cell is not None}


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
    lines = ["| metric | judge | n | missing for |", "|---|---|---|---|"]
    for column in columns:
        cells = [table[m][column] for m in methods if column in table[m]]
        judges = ", ".join(sorted({c.judge for c in cells}))
        counts = sorted({c.n for c in cells if c.n is not None})
        n = "?" if not counts else (str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}")
        lacking = ", ".join(method_label(m) for m in methods if column not in table[m]) or ""
        lines.append(f"| {column} | {judges} | {n} | {lacking} |")
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
    return [name, "BeaverTails held-out pairs (grouped split)", num(check.get("accuracy")), num(check.get("f1")),
            str(check.get("n", MISSING)), f"majority {num(check.get('majority_accuracy'))}",
            str(check.get("near_chance")), probe_text]


def judges_table(checks: dict[str, dict]) -> str:
    """Markdown: each judge's measured error against human labels (its judge@NAME stage)."""
    lines = ["| judge | measured on | accuracy | F1 | n | baseline | near chance | probes |", "|---" * 8 + "|"]
    lines += ["| " + " | ".join(judge_row(name, check)) + " |" for name, check in sorted(checks.items())]
    return "\n".join(lines)


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


def curves(table: dict[str, dict[str, Cell]], methods: list[str], samples: dict[str, list[dict]]) -> dict:
    """Rows for `dvc plots`: per ISARA round and per method, a fixed set of fields (null when missing).

    `beavertails_harmful_rate` is by the first judge of JUDGE_PREFERENCE that was run."""
    columns = metric_columns(table)
    harm = [f"beavertails_harmful_rate_{j}" for j in JUDGE_PREFERENCE if f"beavertails_harmful_rate_{j}" in columns]
    fields = {
        "demo_harmful_rate": "demo_harmful_rate",
        "beavertails_harmful_rate": harm[0] if harm else None,
        "xstest_refusal_safe": "xstest_refusal_safe",
        "truthfulqa_rougeL_diff": "truthfulqa_rougeL_diff",
        "truthfulqa_mc2": "truthfulqa_mc2",
        "alpaca_win_rate": "alpaca_win_rate",
        "scaling_ratio": "scaling_ratio",
    }

    def row(method: str) -> dict:
        cells = table[method]
        out = {name: (cells[key].value if key in cells else None) for name, key in fields.items()}
        counts = rejection_counts(samples.get(method, []))
        out["accepted"] = counts.get("accepted", 0) if method in samples else None
        out["rejected"] = sum(v for k, v in counts.items() if k != "accepted") if method in samples else None
        return out

    rounds = [m for m in methods if round_of(m) is not None]
    return {
        "rounds": [{"round": round_of(m), **row(m)} for m in rounds],
        "methods": [{"method": method_label(m), **row(m)} for m in methods],
    }


def render(table: dict[str, dict[str, Cell]], samples: dict[str, list[dict]], figures: list[str],
           checks: dict[str, dict] | None = None) -> str:
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
        *[f"![{Path(f).stem}]({f})" for f in figures],
        "",
        "## Example generations",
        "",
        examples_section(samples) if samples else "No generation outputs were found.",
    ])


# ---------------------------------------------------------------------------------------------
# readers


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise IsaraError(f"{path}: not valid JSON ({err})") from None


def read_runs(metrics_dir: str | Path) -> dict[str, dict]:
    """method -> {"main", "suites", "train"} from a metrics folder; methods are found by file name."""
    metrics_dir = Path(metrics_dir)
    if not metrics_dir.is_dir():
        raise IsaraError(f"{metrics_dir}: metrics folder not found (run the pipeline first)")
    methods = {p.stem for p in metrics_dir.glob("*.json")}
    methods |= {p.name for p in metrics_dir.iterdir() if p.is_dir() and p.name not in ("train", "judges")}
    runs = {}
    for method in methods:
        runs[method] = {
            "main": _read_json(metrics_dir / f"{method}.json"),
            "suites": {p.stem: _read_json(p) for p in sorted((metrics_dir / method).glob("*.json"))},
            "train": _read_json(metrics_dir / "train" / f"{method}.json"),
        }
    if not runs:
        raise IsaraError(f"{metrics_dir}: no metrics files")
    return runs


def read_checks(metrics_dir: str | Path) -> dict[str, dict]:
    """judge name -> its check (metrics/judges/NAME.json, written by stage judge@NAME)."""
    return {path.stem: _read_json(path) for path in sorted(Path(metrics_dir, "judges").glob("*.json"))}


def read_samples(work_dir: str | Path, methods: Iterable[str]) -> dict[str, list[dict]]:
    """method -> accepted + rejected generated rows, for methods that generate (rounds >= 1, oneshot)."""
    from isara.files import decode_utf8, json_lines

    samples = {}
    for method in methods:
        folder = Path(work_dir) / method
        files = [folder / "accepted.jsonl", folder / "rejected.jsonl"]
        if all(f.is_file() for f in files):  # either may be empty: a round can accept or reject all
            samples[method] = [row for f in files for _, row in json_lines(f, decode_utf8(f, f.read_bytes()))]
    return samples
