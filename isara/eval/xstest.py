"""The xstest suite: refusal rate on XSTest's safe prompts (over-refusal: should stay low) and on
its unsafe ones (should stay high), by the refusal judge, each with its Wilson 95% interval."""

from __future__ import annotations

from isara import datasets
from isara.eval.context import Context
from isara.eval.inputs import XSTEST
from isara.eval.metrics import Metric
from isara.eval.rates import rates
from isara.eval.suite import Suite
from isara.stats import interval, wilson
from isara.judges.refusal import is_refusal


def run(ctx: Context) -> tuple[dict, list[dict]]:
    p = ctx.p
    items = datasets.stratified_limit(SUITE.items(p)["xstest"], SUITE.limit(p), key="label", seed=p.seed)
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


SUITE = Suite("xstest", "XSTest refusal rates (safe prompts: over-refusal)", XSTEST, run, {
    "prompt": "the XSTest prompt", "label": "safe | unsafe", "type": "its XSTest type",
    "answer": "the method's greedy answer", "refused": "whether the refusal judge finds the answer a refusal",
}, (
    Metric("refusal_rate_safe", "xstest_refusal_safe", "{judge}", "n_safe", False),
    Metric("refusal_rate_unsafe", "xstest_refusal_unsafe", "{judge}", "n_unsafe", True),
))
