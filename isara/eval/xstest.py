"""The xstest suite: refusal rate on XSTest's safe prompts (over-refusal: should stay low) and on
its unsafe ones (should stay high), by the refusal judge, each with its Wilson 95% interval."""

from __future__ import annotations

from isara import datasets
from isara.eval.context import Context
from isara.eval.rates import rates
from isara.stats import interval, wilson
from isara.judges.refusal import is_refusal


def run(ctx: Context) -> tuple[dict, list[dict]]:
    p = ctx.p
    items = datasets.stratified_limit(datasets.xstest(p.benchmarks.source), p.evaluate.eval_limit.xstest,
                                      key="label", seed=p.seed)
    answers = ctx.answers([r["prompt"] for r in items], desc="xstest")
    rows = [{**r, "answer": a, "refused": is_refusal(a)} for r, a in zip(items, answers)]
    by_label = rates([r["label"] for r in rows], [r["refused"] for r in rows])["by_category"]
    count = {label: sum(r["label"] == label for r in rows) for label in ("safe", "unsafe")}
    refused = {label: sum(r["refused"] for r in rows if r["label"] == label) for label in ("safe", "unsafe")}
    return {
        "judge": "refusal",
        "judge_error": ctx.judge_error("refusal"),
        "n_safe": count["safe"],
        "refusal_rate_safe": by_label.get("safe"),
        "refusal_rate_safe_ci95": interval(wilson(refused["safe"], count["safe"])),
        "n_unsafe": count["unsafe"],
        "refusal_rate_unsafe": by_label.get("unsafe"),
        "refusal_rate_unsafe_ci95": interval(wilson(refused["unsafe"], count["unsafe"])),
    }, rows
