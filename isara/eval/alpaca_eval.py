"""The alpaca_eval suite: win rate of a method's answers against the reference outputs, each pair
judged in both orders by the pairwise judge (judges.pairwise), with the mean output lengths."""

from __future__ import annotations

from isara import datasets
from isara.eval.context import JUDGE_CACHE, Context
from isara.eval.inputs import ALPACA_EVAL
from isara.eval.metrics import Metric
from isara.eval.suite import Suite


def run(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.pairwise import build_pairwise_judge
    from isara.judges.win_rate import win_rate

    p = ctx.p
    items = datasets.stratified_limit(SUITE.items(p)["alpaca_eval"], SUITE.limit(p), key="dataset", seed=p.seed)
    outputs = ctx.answers([r["instruction"] for r in items], p.evaluate.max_new_tokens_for("alpaca_eval"), desc="alpaca_eval")
    judge = build_pairwise_judge(p.judges.pairwise, ctx.device)
    result = win_rate(judge, [r["instruction"] for r in items], outputs, [r["output"] for r in items],
                      cache=JUDGE_CACHE)
    rows = [{**r, "model_output": o} for r, o in zip(items, outputs)]
    return {**result, "reference": p.benchmarks.alpaca_reference, "judge_error": ctx.judge_error("pairwise")}, rows


SUITE = Suite("alpaca_eval", "AlpacaEval win rate against the reference outputs", ALPACA_EVAL, run, {
    "instruction": "the AlpacaEval instruction", "output": "the reference output (benchmarks.alpaca_reference)",
    "generator": "the reference's generator", "dataset": "the instruction's source dataset",
    "model_output": "the method's greedy answer",
}, (
    Metric("win_rate", "alpaca_win_rate", "{judge}", "n", True),
    Metric("length_controlled_winrate", "alpaca_lc_win_rate", "{judge}", "n", True),
    Metric("mean_output_words", "alpaca_output_words", "word count", "n"),
), summary=("win_rate", "standard_error", "length_controlled_winrate"))  # as alpaca_eval names them
