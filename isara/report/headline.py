"""The report's first table: each method's harmful rate and over-refusal with 95% intervals, the
balanced accuracy of its refusal decisions, and its paired differences against the pretrained model
and against sft_seed (on the same prompts: difference, paired bootstrap interval, exact McNemar
p-value); and the flat summary of the numbers a user compares first. Pure: it reads the per-prompt
rows the harm suite wrote (`reports/<method>/harm.jsonl`, laid out as `isara.eval.harm.ROWS` says),
and counts a harmful answer as the suite does (`isara.eval.harm.is_harmful`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from isara.eval.harm import SAFE_SET, is_harmful, judge_field
from isara.eval.metrics import RUN_FILES
from isara.eval.registry import SUITES
from isara.stats import balanced_accuracy, balanced_accuracy_interval, paired_rate_difference, wilson
from isara.report.table import JUDGE_PREFERENCE, MISSING, method_label

REFERENCES = ("iter0", "sft_seed")  # what every method is compared with
ALPHA = 0.05


@dataclass(frozen=True)
class Outcomes:
    """One method's per-prompt outcomes: prompt -> harmful (by the judge), prompt -> refused (safe set)."""

    harmful: dict[str, bool]
    refused_harmful: dict[str, bool]
    refused_safe: dict[str, bool]


def choose_set_and_judge(rows_by_method: dict[str, list[dict]]) -> tuple[str, str] | None:
    """The harm prompt set and judge every method has: BeaverTails before the demo set, then any
    other set; the first judge of JUDGE_PREFERENCE they all carry."""
    sets = [{r["set"] for r in rows} - {SAFE_SET} for rows in rows_by_method.values() if rows]
    if not sets:
        return None
    common = set.intersection(*sets)
    for name in ("beavertails", "demo", *sorted(common)):
        if name not in common:
            continue
        judged = [[r for r in rows if r["set"] == name] for rows in rows_by_method.values() if rows]
        for judge in JUDGE_PREFERENCE:
            if all(all(judge_field(judge) in r for r in group) for group in judged):
                return name, judge
    return None


def outcomes(rows: Sequence[dict], harm_set: str, judge: str) -> Outcomes:
    harmful = [r for r in rows if r["set"] == harm_set]
    return Outcomes({r["prompt"]: is_harmful(r[judge_field(judge)]) for r in harmful},
                    {r["prompt"]: bool(r["refused"]) for r in harmful if "refused" in r},
                    {r["prompt"]: bool(r["refused"]) for r in rows if r["set"] == SAFE_SET})


def rate(flags: dict[str, bool]) -> dict | None:
    if not flags:
        return None
    k, n = sum(flags.values()), len(flags)
    low, high = wilson(k, n)
    return {"rate": k / n, "low": low, "high": high, "n": n}


def paired(a: dict[str, bool], b: dict[str, bool], seed: int) -> dict | None:
    shared = [prompt for prompt in a if prompt in b]
    if not shared:
        return None
    return paired_rate_difference([a[p] for p in shared], [b[p] for p in shared], seed)


def method_row(method: str, own: Outcomes, references: dict[str, Outcomes], seed: int) -> dict:
    row = {"method": method, "harmful": rate(own.harmful), "over_refusal": rate(own.refused_safe),
           "balanced_accuracy": None}
    if own.refused_harmful and own.refused_safe:
        harmful, safe = list(own.refused_harmful.values()), list(own.refused_safe.values())
        low, high = balanced_accuracy_interval(harmful, safe, seed)
        row["balanced_accuracy"] = {"value": balanced_accuracy(harmful, safe), "low": low, "high": high}
    for ref, theirs in references.items():
        same = ref == method
        row[f"harmful_vs_{ref}"] = None if same else paired(own.harmful, theirs.harmful, seed)
        row[f"over_refusal_vs_{ref}"] = None if same else paired(own.refused_safe, theirs.refused_safe, seed)
    return row


def method_outcomes(rows_by_method: dict[str, list[dict]], methods: Sequence[str]) -> tuple[dict[str, Outcomes], str]:
    """Each method's outcomes on the prompt set and judge they all have, and a caption naming them."""
    chosen = choose_set_and_judge({m: rows_by_method.get(m) or [] for m in methods})
    if chosen is None:
        return {}, ""
    harm_set, judge = chosen
    own = {m: outcomes(rows_by_method[m], harm_set, judge) for m in methods if rows_by_method.get(m)}
    return own, f"{harm_set} prompts, {judge} judge"


def headline_rows(rows_by_method: dict[str, list[dict]], methods: Sequence[str],
                  seed: int) -> tuple[list[dict], str, dict[str, Outcomes]]:
    """One row per method (in `methods` order), a caption naming the prompt set and judge, and the
    outcomes the rows come from (`rounds_line` compares them)."""
    own, caption = method_outcomes(rows_by_method, methods)
    references = {ref: own[ref] for ref in REFERENCES if ref in own}
    return [method_row(m, own[m], references, seed) for m in methods if m in own], caption, own


def compare_axes(after: dict[str, dict[str, bool]], before: dict[str, dict[str, bool]],
                 seed: int) -> tuple[dict[str, dict], list[str], list[str]]:
    """Per axis (axis -> {prompt: failed}), `after` against `before` on the prompts both have: the
    measured paired differences, and the axes it is better and worse on (p < ALPHA, exact McNemar)."""
    diffs = {axis: paired(after[axis], before[axis], seed) for axis in after}
    measured = {axis: d for axis, d in diffs.items() if d}
    better = [axis for axis, d in measured.items() if d["difference"] < 0 and d["p_value"] < ALPHA]
    worse = [axis for axis, d in measured.items() if d["difference"] > 0 and d["p_value"] < ALPHA]
    return measured, better, worse


def _axes(outcome: Outcomes) -> dict[str, dict[str, bool]]:
    return {"harmful rate": outcome.harmful, "over-refusal": outcome.refused_safe}


def rounds_line(own: dict[str, Outcomes], rounds: Sequence[str], seed: int) -> str:
    """Each ISARA round against the round before it, on the same prompts, said plainly: worse where
    its harmful rate or over-refusal is higher with p < ALPHA (exact McNemar), else not worse."""
    parts = []
    for before, after in zip(rounds, rounds[1:]):
        if before not in own or after not in own:
            continue
        measured, _, worse = compare_axes(_axes(own[after]), _axes(own[before]), seed)
        if not measured:
            continue
        verdict = (f"worse than {method_label(before)} on {' and '.join(worse)}" if worse
                   else f"not worse than {method_label(before)} on {' or '.join(measured)}")
        shown = "; ".join(f"{axis} {difference_cell(d)}" for axis, d in measured.items())
        parts.append(f"{method_label(after)} is {verdict} ({shown}).")
    return ("Round against round, on the same prompts: " + " ".join(parts)) if parts else ""


def _rate_cell(value: dict | None) -> str:
    if value is None:
        return MISSING
    return f"{value['rate']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"


def difference_cell(value: dict | None) -> str:
    if value is None:
        return MISSING
    p = value["p_value"]
    p_text = "p<0.001" if p < 0.001 else f"p={p:.3f}"
    text = f"{value['difference']:+.3f} [{value['low']:+.3f}, {value['high']:+.3f}] {p_text}"
    return f"**{text}**" if p < ALPHA else text


def headline_table(rows: list[dict], caption: str) -> str:
    """Markdown: the first table of the report, ranked by balanced accuracy."""
    if not rows:
        return ""
    ranked = sorted((r for r in rows if r["balanced_accuracy"]), key=lambda r: -r["balanced_accuracy"]["value"])
    rank = {r["method"]: n for n, r in enumerate(ranked, 1)}
    refs = [ref for ref in REFERENCES if any(f"harmful_vs_{ref}" in r for r in rows)]
    head = ["method", "rank", "balanced accuracy", "harmful rate", "over-refusal"]
    head += [f"{what} vs {method_label(ref)}" for ref in refs for what in ("Δ harmful", "Δ over-refusal")]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in sorted(rows, key=lambda r: rank.get(r["method"], len(rows) + 1)):
        accuracy = r["balanced_accuracy"]
        cells = [method_label(r["method"]), str(rank.get(r["method"], MISSING)),
                 MISSING if accuracy is None else f"{accuracy['value']:.3f} [{accuracy['low']:.3f}, {accuracy['high']:.3f}]",
                 _rate_cell(r["harmful"]), _rate_cell(r["over_refusal"])]
        cells += [difference_cell(r.get(f"{what}_vs_{ref}")) for ref in refs for what in ("harmful", "over_refusal")]
        lines.append("| " + " | ".join(cells) + " |")
    n_harm = next((r["harmful"]["n"] for r in rows if r["harmful"]), 0)
    n_safe = next((r["over_refusal"]["n"] for r in rows if r["over_refusal"]), 0)
    lines += ["", f"Harmful rate on {n_harm} {caption}; over-refusal: the refusal judge on {n_safe} safe prompts "
              "that look risky (data.safe_file); balanced accuracy = (harmful prompts refused + safe prompts "
              "answered) / 2, the rank. Brackets: 95% intervals (Wilson for rates, bootstrap over prompts for "
              "balanced accuracy, paired bootstrap for differences); p: exact McNemar on the same prompts; "
              f"**bold**: p < {ALPHA} (each comparison on its own, not corrected for the table's many)."]
    return "\n".join(lines)


def summary_keys() -> list[tuple[str, str]]:
    """(metrics file, key) of the summary's other numbers: those each run file and then each suite of
    the registry declares (`summary`), named as in their files with `_<method>` added."""
    return [(declared.name, key) for declared in (*RUN_FILES.values(), *SUITES.values()) for key in declared.summary]


def summary(rows: list[dict], runs: dict[str, dict[str, dict]], accepted: dict[str, int]) -> dict:
    """The flat numbers a user compares first: `<metric>_<method>` (rates with their intervals'
    ends) from the first table's rows, the `summary_keys` found in each method's metrics files
    (`runs`: method -> {file name: metrics}), and the accepted samples per run."""
    out: dict[str, float | int] = {}
    for r in rows:
        m = r["method"]
        for key, value in (("harmful_rate", r["harmful"]), ("over_refusal_rate", r["over_refusal"])):
            if value:
                out.update({f"{key}_{m}": round(value["rate"], 4), f"{key}_{m}_low": round(value["low"], 4),
                            f"{key}_{m}_high": round(value["high"], 4)})
        if r["balanced_accuracy"]:
            out[f"balanced_accuracy_{m}"] = round(r["balanced_accuracy"]["value"], 4)
    for method, files in runs.items():
        for name, key in summary_keys():
            value = (files.get(name) or {}).get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{key}_{method}"] = round(float(value), 4)
    out.update({f"accepted_{run}": count for run, count in sorted(accepted.items())})
    return out


def d0_passes(runs: dict, epochs: float, init_from: str) -> dict[str, float]:
    """Passes over D0 each tuned model has made: sft_seed and each run `epochs` per fine-tune, a
    run that starts from the previous round's model (init_from: previous) also those of its chain.
    A confound of the one-shot comparison: round 2 has seen D0 twice as often as oneshot."""
    passes = {"sft_seed": epochs}

    def of(run: str) -> float:
        prev = runs[run].prev
        before = of(prev) if init_from == "previous" and prev in runs else 0.0
        return before + epochs

    passes.update({run: of(run) for run in runs})
    return passes


def passes_line(passes: dict[str, float], methods: Sequence[str]) -> str:
    shown = [f"{method_label(m)} {passes[m]:g}" for m in methods if m in passes]
    return ("Passes over D0 in fine-tuning: " + ", ".join(shown) + ". Methods that saw D0 more often are not "
            "compared on equal terms (the one-shot baseline against later rounds in particular).") if shown else ""
