"""The alpaca_eval suite: win rate of a method's answers against the reference outputs, each pair
judged in both orders by the pairwise judge (judges.pairwise), with the mean output lengths."""

from __future__ import annotations

from pathlib import Path

from isara import datasets
from isara.eval.context import Context

JUDGE_CACHE = Path(".cache/judges")


def run(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.judge_cache import JudgeCache
    from isara.judges.pairwise import build_pairwise_judge
    from isara.judges.win_rate import win_rate

    p = ctx.p
    items = datasets.alpaca_eval(p.benchmarks.source, p.benchmarks.alpaca_reference)
    items = datasets.stratified_limit(items, p.evaluate.eval_limit.alpaca_eval, key="dataset", seed=p.seed)
    outputs = ctx.answers([r["instruction"] for r in items], p.evaluate.long_max_new_tokens, desc="alpaca_eval")
    judge = build_pairwise_judge(p.judges.pairwise, ctx.device)
    result = win_rate(judge, [r["instruction"] for r in items], outputs, [r["output"] for r in items],
                      cache=JudgeCache(JUDGE_CACHE))
    rows = [{**r, "model_output": o} for r, o in zip(items, outputs)]
    return {**result, "reference": p.benchmarks.alpaca_reference, "judge_error": ctx.judge_error("pairwise")}, rows
