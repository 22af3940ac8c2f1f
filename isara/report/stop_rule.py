"""The stop rule: each run against the model it started from (`runs.<run>.prev`), on the labelled dev
prompts both answered (suite dev, `reports/<method>/dev.jsonl`), paired prompt by prompt. A run that
is better on neither axis (harmful prompts answered, safe prompts refused: lower with p < ALPHA, exact
McNemar) is flagged: another round of the same recipe is not expected to pay. Pure: it reads rows
and writes markdown and summary numbers; the evaluation prompts play no part.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from isara.labels import HARMFUL, SAFE, failed
from isara.report.headline import ALPHA, compare_axes, difference_cell
from isara.report.table import method_label

AXES = {"harmful rate": HARMFUL, "over-refusal": SAFE}  # axis -> the label of the dev prompts it counts


def failures_by_axis(rows: Sequence[dict]) -> dict[str, dict[str, bool]]:
    """axis -> {prompt: failed} of one method's dev rows."""
    return {axis: {r["prompt"]: failed(r) for r in rows if r["label"] == label} for axis, label in AXES.items()}


def verdicts(dev_rows: Mapping[str, Sequence[dict]], prevs: Mapping[str, str], seed: int) -> list[dict]:
    """For each run (in `prevs` order: run -> prev) whose model and prev's both answered the dev
    prompts: the paired difference per axis, the axes it is better and worse on, and `stop`: True
    when it is better on neither."""
    out = []
    for run, prev in prevs.items():
        if not dev_rows.get(run) or not dev_rows.get(prev):
            continue
        diffs, better, worse = compare_axes(failures_by_axis(dev_rows[run]), failures_by_axis(dev_rows[prev]), seed)
        out.append({"run": run, "prev": prev, "differences": diffs, "better": better, "worse": worse,
                    "stop": not better})
    return out


def stop_section(found: Sequence[dict]) -> str:
    """Markdown: one line per run, the flagged ones in bold."""
    if not found:
        return ""
    lines = ["Stop rule (dev prompts, each run against the model it started from; a run better on neither "
             f"axis with p < {ALPHA} is flagged):", ""]
    for v in found:
        shown = "; ".join(f"{axis} {difference_cell(d)}" for axis, d in v["differences"].items())
        if v["stop"]:
            worse = f", worse on {' and '.join(v['worse'])}" if v["worse"] else ""
            verdict = f"**flagged: better than {method_label(v['prev'])} on neither axis{worse}**"
        else:
            worse = f" but worse on {' and '.join(v['worse'])}" if v["worse"] else ""
            verdict = f"better than {method_label(v['prev'])} on {' and '.join(v['better'])}{worse}"
        lines.append(f"- {method_label(v['run'])}: {verdict} ({shown}).")
    return "\n".join(lines)


def stop_summary(found: Sequence[dict]) -> dict[str, int]:
    """`stop_<run>`: 1 for a flagged run, 0 for one better on at least one axis."""
    return {f"stop_{v['run']}": int(v["stop"]) for v in found}
