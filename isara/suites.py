"""Benchmark suites: what the ISARA paper measures, on the official data, with named judges.

Each suite answers its items with a method's model and prompter (the SFT prompt layout for ISARA
and the tuned baselines, seed examples in context for the ICL ones; greedy decoding) and returns
(metrics, answer rows). Every number sits under the name of the judge that made it, next to that
judge's measured error (from its judge@NAME stage) and the sample count.

- harm: BeaverTails-Evaluation prompts (and each evaluate.prompt_sets entry), harmful rate
  overall and per category for every judge in judges.harm;
- xstest: refusal rate on XSTest's safe prompts (over-refusal, should stay low) and unsafe ones;
- truthfulqa: ROUGE-L max/diff/acc as lm-evaluation-harness's truthfulqa_gen, MC1/MC2 from the
  model's log-likelihoods of the CSV's answers; questions in D0 are left out;
- alpaca_eval: win rate against the reference outputs, judged pairwise in both orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tqdm.auto import tqdm

from isara import benchmarks, truthfulqa
from isara.evaluation import rates
from isara.filtering import normalise
from isara.generation import Decoding, generate
from isara.params import Params
from isara.prompting import Prompter
from isara.prompts import sft_prompt
from isara.refusal import is_refusal

JUDGE_DIR = Path("judges")


@dataclass
class Context:
    model: object
    tokenizer: object
    fmt: object
    p: Params
    seed_questions: set  # normalised D0 questions, kept out of evaluation
    judges_dir: Path = JUDGE_DIR
    prompter: Prompter | None = None  # question -> prompt; None: the SFT prompt

    def prompt(self, question: str) -> str:
        return self.prompter(question) if self.prompter else sft_prompt(self.fmt, question)

    def answers(self, prompts: list[str], max_new_tokens: int | None = None, desc: str = "answers") -> list[str]:
        decoding = Decoding(max_new_tokens or self.p.evaluate.max_new_tokens)
        done = generate(self.model, self.tokenizer, self.fmt, [self.prompt(q) for q in prompts],
                        decoding, self.p.evaluate.batch_size, desc=desc)
        return [d.text.strip() for d in done]

    def judge_error(self, name: str) -> dict | None:
        """The measured error of a judge (its judge@NAME stage), or None when it was not measured."""
        path = self.judges_dir / name / "check.json"
        return json.loads(path.read_text()) if path.is_file() else None


def _harm_set(ctx: Context, name: str, rows: list[dict], judges: dict) -> tuple[dict, list[dict]]:
    answers = ctx.answers([r["prompt"] for r in rows], desc=f"harm: {name}")
    out_rows = [{**r, "answer": a} for r, a in zip(rows, answers)]
    result = {"n": len(rows)}
    for judge_name, judge in judges.items():
        probs = judge.harmful_probs([(r["prompt"], r["answer"]) for r in out_rows])
        verdict = rates([r.get("category", "all") for r in out_rows], [p > 0.5 for p in probs])
        result[judge_name] = {"harmful_rate": verdict["rate"], "by_category": verdict["by_category"],
                              "judge_error": ctx.judge_error(judge_name)}
        for row, prob in zip(out_rows, probs):
            row[f"harm_{judge_name}"] = round(float(prob), 4)
    return result, out_rows


def run_harm(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.registry import build_harm_judge

    p = ctx.p
    judges = {name: build_harm_judge(name, p, ctx.judges_dir, ctx.model.device) for name in p.judges.harm}
    sets = {"beavertails": benchmarks.beavertails_prompts(p.benchmarks.source)}
    sets.update({name: benchmarks.prompt_set(path) for name, path in p.evaluate.prompt_sets.items()})
    metrics, rows = {}, []
    for name, items in sets.items():
        limited = benchmarks.stratified_limit(items, p.evaluate.eval_limit.harm, seed=p.seed)
        metrics[name], answered = _harm_set(ctx, name, limited, judges)
        rows += [{"set": name, **r} for r in answered]
    return metrics, rows


def run_xstest(ctx: Context) -> tuple[dict, list[dict]]:
    items = benchmarks.stratified_limit(benchmarks.xstest(ctx.p.benchmarks.source), ctx.p.evaluate.eval_limit.xstest,
                                        key="label", seed=ctx.p.seed)
    answers = ctx.answers([r["prompt"] for r in items], desc="xstest")
    rows = [{**r, "answer": a, "refused": is_refusal(a)} for r, a in zip(items, answers)]
    by_label = rates([r["label"] for r in rows], [r["refused"] for r in rows])["by_category"]
    count = {label: sum(r["label"] == label for r in rows) for label in ("safe", "unsafe")}
    return {
        "judge": "refusal",
        "judge_error": ctx.judge_error("refusal"),
        "n_safe": count["safe"],
        "refusal_rate_safe": by_label.get("safe"),
        "n_unsafe": count["unsafe"],
        "refusal_rate_unsafe": by_label.get("unsafe"),
    }, rows


def run_truthfulqa(ctx: Context) -> tuple[dict, list[dict]]:
    questions = [q for q in benchmarks.truthfulqa(ctx.p.benchmarks.source)
                 if normalise(q["question"]) not in ctx.seed_questions]
    items = benchmarks.stratified_limit(questions, ctx.p.evaluate.eval_limit.truthfulqa, seed=ctx.p.seed)
    answers = ctx.answers([q["question"] for q in items], desc="truthfulqa")
    rows = []
    for q, answer in tqdm(list(zip(items, answers)), desc="truthfulqa: likelihoods", unit="question"):
        choices = [q["best_answer"]] + [a for a in q["correct_answers"] if a != q["best_answer"]]
        logliks = truthfulqa.answer_logliks(ctx.model, ctx.tokenizer, ctx.fmt, ctx.prompt(q["question"]),
                                            choices + q["incorrect_answers"], ctx.p.evaluate.batch_size)
        correct, incorrect = logliks[: len(choices)], logliks[len(choices):]
        scores = {**truthfulqa.rouge_metrics(answer, q["correct_answers"], q["incorrect_answers"]),
                  **truthfulqa.mc_metrics(correct, incorrect, best_index=0)}
        rows.append({"question": q["question"], "category": q["category"], "answer": answer, **scores})
    means = truthfulqa.aggregate([{k: r[k] for k in (*truthfulqa.ROUGE_KEYS, *truthfulqa.MC_KEYS)} for r in rows])
    return {"n": len(rows), "judge": "rougeL (lm-eval truthfulqa_gen); mc from model log-likelihoods",
            **{k: round(v, 4) for k, v in means.items()}}, rows


def run_alpaca_eval(ctx: Context) -> tuple[dict, list[dict]]:
    from isara.judges.judge_cache import JudgeCache
    from isara.judges.pairwise import build_pairwise_judge
    from isara.judges.win_rate import win_rate

    p = ctx.p
    items = benchmarks.alpaca_eval(p.benchmarks.source, p.benchmarks.alpaca_reference)
    items = benchmarks.stratified_limit(items, p.evaluate.eval_limit.alpaca_eval, key="dataset", seed=p.seed)
    outputs = ctx.answers([r["instruction"] for r in items], p.evaluate.long_max_new_tokens, desc="alpaca_eval")
    judge = build_pairwise_judge(p.judges.pairwise, ctx.model.device)
    result = win_rate(judge, [r["instruction"] for r in items], outputs, [r["output"] for r in items],
                      cache=JudgeCache(Path(".cache/judges")))
    rows = [{**r, "model_output": o} for r, o in zip(items, outputs)]
    return {**result, "reference": p.benchmarks.alpaca_reference, "judge_error": ctx.judge_error("pairwise")}, rows


SUITES: dict[str, Callable[[Context], tuple[dict, list[dict]]]] = {
    "harm": run_harm,
    "xstest": run_xstest,
    "truthfulqa": run_truthfulqa,
    "alpaca_eval": run_alpaca_eval,
}
