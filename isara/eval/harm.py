"""The harm suite: a method's greedy answers to each harmful prompt set (evaluate.harm_sets), and
the harmful rate overall and per category by every judge of judges.harm. The default run's demo
prompts are one such set, judged by the refusal judge.

Metrics: {set: {"n", "mean_answer_words", judge: {"harmful_rate", "by_category", "judge_error"}}}.
"""

from __future__ import annotations

from isara.eval.context import Context
from isara.datasets import stratified_limit
from isara.eval.inputs import harm_sets
from isara.eval.rates import rates


def _judged_set(ctx: Context, name: str, rows: list[dict], judges: dict) -> tuple[dict, list[dict]]:
    answers = ctx.answers([r["prompt"] for r in rows], desc=f"harm: {name}")
    out_rows = [{**r, "answer": a} for r, a in zip(rows, answers)]
    result = {"n": len(rows), "mean_answer_words": round(sum(len(a.split()) for a in answers) / len(answers), 2)}
    for judge_name, judge in judges.items():
        probs = judge.harmful_probs([(r["prompt"], r["answer"]) for r in out_rows])
        verdict = rates([r.get("category", "all") for r in out_rows], [p > 0.5 for p in probs])
        result[judge_name] = {"harmful_rate": verdict["rate"], "by_category": verdict["by_category"],
                              "judge_error": ctx.judge_error(judge_name)}
        for row, prob in zip(out_rows, probs):
            row[f"harm_{judge_name}"] = round(float(prob), 4)
    return result, out_rows


def run(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.registry import build_harm_judge

    p = ctx.p
    judges = {name: build_harm_judge(name, p, ctx.judges_dir, ctx.device) for name in p.judges.harm}
    metrics, rows = {}, []
    for name, items in harm_sets(p).items():
        limited = stratified_limit(items, p.evaluate.eval_limit.harm, seed=p.seed)
        metrics[name], answered = _judged_set(ctx, name, limited, judges)
        rows += [{"set": name, **r} for r in answered]
    return metrics, rows
