"""The domain suite: a domain's held-out prompts (data.domain_file), answered by every method and
compared, prompt by prompt, with the answers of the base model (iter0) and of sft_seed (D0 alone).

- Win rates: each pair judged in both orders by the pairwise judge (judges.pairwise), ties counted
  as half (`isara.judges.win_rate`), with a bootstrap interval over prompts and the
  length-controlled form; the judge's measured accuracy (stage judge@pairwise) sits beside them.
- Similarity, where a prompt carries a reference `answer`: ROUGE-L F and the cosine of sentence
  embeddings (embedder.name) of the method's answer to it, means with bootstrap intervals.

The baselines' answers come from stage domain_references (work/domain/references.jsonl), written
once for every method's stage to read; answers are greedy, evaluate.max_new_tokens_for("domain")
tokens, cut to their last complete sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from isara.config import Params
from isara.config.names import BASE, SEED_ONLY
from isara.datasets import stratified_limit
from isara.eval.context import JUDGE_CACHE, Context
from isara.eval.inputs import DOMAIN
from isara.eval.metrics import Metric
from isara.eval.suite import Suite
from isara.errors import IsaraError
from isara.records import read_rows
from isara.stats import bootstrap_mean, interval, paired_mean_difference
from isara.text import complete_sentences, new_scorer, words

REFERENCES = Path("work/domain/references.jsonl")  # dvc.yaml: stage domain_references' output
BASELINE_LABELS = {BASE: "base", SEED_ONLY: SEED_ONLY}  # the baselines, and how the suite's keys name them
BASELINES = tuple(BASELINE_LABELS)

ROWS = {
    "prompt": "the domain prompt", "category": "its category", "answer": "the reference answer ('' when none)",
    "model_output": "the method's greedy answer, cut to its last complete sentence",
    **{f"{name}_output": f"{name}'s answer (stage domain_references)" for name in BASELINES},
    "rougeL": "ROUGE-L F to the reference answer", "embedding_similarity": "cosine to the reference answer",
}


def domain_items(p: Params) -> list[dict]:
    """The prompts the suite evaluates: data.domain_file, stratified by category to its eval limit."""
    return stratified_limit(SUITE.items(p).get("domain", []), SUITE.limit(p), key="category", seed=p.seed)


def answers(ctx: Context, prompts: Sequence[str]) -> list[str]:
    """Greedy answers of the context's method, each cut to its last complete sentence (an answer
    with no sentence end is kept whole)."""
    raw = ctx.answers(list(prompts), ctx.p.evaluate.max_new_tokens_for("domain"), desc="domain")
    return [complete_sentences(text) or text for text in raw]


def baseline_answers(p: Params, loaded: dict[str, Context] | None = None) -> list[dict]:
    """Rows of work/domain/references.jsonl: the domain prompts, each answered zero-shot by every
    baseline (models/iter0, models/sft_seed) as the suite answers with a method. `loaded`: contexts
    of baselines already loaded (the method being evaluated), used instead of loading them again."""
    from isara.eval.context import load_context

    loaded = loaded or {}
    prompts = [r["prompt"] for r in domain_items(p)]
    outputs = {name: answers(loaded.get(name) or load_context(f"models/{name}", "zero_shot", [], p), prompts)
               for name in BASELINES}
    return [{"prompt": q, **{name: outputs[name][i] for name in BASELINES}} for i, q in enumerate(prompts)]


def by_prompt(rows: Sequence[dict]) -> dict[str, dict[str, str]]:
    """prompt -> {baseline: answer}, from rows of work/domain/references.jsonl."""
    return {row["prompt"]: {name: str(row[name]) for name in BASELINES} for row in rows}


def read_references(path: Path, prompts: Sequence[str]) -> dict[str, dict[str, str]]:
    """prompt -> {baseline: answer} for every prompt, from stage domain_references' file."""
    found = by_prompt(read_rows(path)) if path.is_file() else {}
    missing = [q for q in prompts if q not in found]
    if missing:
        raise IsaraError(f"{path}: no baseline answers for {len(missing)} of {len(prompts)} domain prompts "
                         f"(e.g. {missing[0]!r}); run stage domain_references first")
    return {q: found[q] for q in prompts}


def pair_scores(outputs: Sequence[str], references: Sequence[str], embed: Callable[[list[str]], np.ndarray],
                reference_vectors: np.ndarray | None = None) -> list[tuple[float, float]]:
    """(ROUGE-L F, embedding cosine) of each output to its reference; `reference_vectors`, when
    given, are the references' embeddings (so several methods' outputs embed them once)."""
    scorer = new_scorer()
    rouge = [scorer.score(ref, out)["rougeL"].fmeasure for out, ref in zip(outputs, references)]
    a = embed(list(outputs))
    b = embed(list(references)) if reference_vectors is None else reference_vectors
    cosine = [float(x) for x in (a * b).sum(axis=1)]  # the encoder's vectors are unit length
    return list(zip(rouge, cosine))


def similarity(outputs: Sequence[str], references: Sequence[str], embed: Callable[[list[str]], np.ndarray],
               seed: int, reference_vectors: np.ndarray | None = None) -> tuple[dict, list[tuple[float, float]]]:
    """ROUGE-L F and embedding cosine of each output to its reference: their means with bootstrap
    intervals, and the per-pair values (`pair_scores`)."""
    pairs = pair_scores(outputs, references, embed, reference_vectors)
    summary = {"n": len(pairs)}
    for j, key in enumerate(("rougeL", "embedding_similarity")):
        scores = [pair[j] for pair in pairs]
        summary[key] = round(float(np.mean(scores)), 4)
        summary[f"{key}_ci95"] = interval(bootstrap_mean(scores, seed))
    return summary, pairs


SIMILARITIES = ("rougeL", "embedding_similarity")


def paired_to_baselines(scores: Sequence[tuple[float, float]], baselines: dict[str, Sequence[tuple[float, float]]],
                        seed: int) -> dict[str, dict[str, dict]]:
    """label -> similarity -> the method's mean minus the baseline's over the same prompts, with its
    paired bootstrap interval (`isara.stats.paired_mean_difference`)."""
    out = {}
    for name, theirs in baselines.items():
        out[BASELINE_LABELS[name]] = {
            key: {k: round(v, 4) if isinstance(v, float) else v
                  for k, v in paired_mean_difference([s[j] for s in scores], [t[j] for t in theirs], seed).items()}
            for j, key in enumerate(SIMILARITIES)}
    return out


def verdict(differences: dict[str, dict]) -> str:
    """"better" when every similarity's paired interval lies above zero, "worse" when every one lies
    below, else "not clearly different"."""
    if differences and all(d["low"] > 0 for d in differences.values()):
        return "better"
    if differences and all(d["high"] < 0 for d in differences.values()):
        return "worse"
    return "not clearly different"


def _win_rates(ctx: Context, prompts: list[str], outputs: list[str], baselines: dict[str, dict[str, str]]):
    from isara.judges.pairwise import build_pairwise_judge
    from isara.judges.win_rate import win_rate

    judge = build_pairwise_judge(ctx.p.judges.pairwise, ctx.device)
    return judge.name, {name: win_rate(judge, prompts, outputs, [baselines[q][name] for q in prompts],
                                       cache=JUDGE_CACHE) for name in BASELINES}


def headline(vs: dict[str, dict], reference: dict | None) -> dict:
    """The flat numbers of the suite, each with its 95% interval: the win rate and its
    length-controlled form against each baseline (`base` for iter0), and the similarity to the
    reference answers where there were any."""
    out = {}
    for name, result in vs.items():
        label = BASELINE_LABELS[name]
        out[f"win_rate_vs_{label}"] = round(result["win_rate"], 4)
        out[f"win_rate_vs_{label}_ci95"] = result["ci95"]
        out[f"lc_win_rate_vs_{label}"] = round(result["length_controlled_winrate"], 4)
        out[f"lc_win_rate_vs_{label}_ci95"] = result["length_controlled_ci95"]
    for key in ("rougeL", "embedding_similarity") if reference else ():
        out[key], out[f"{key}_ci95"] = reference[key], reference[f"{key}_ci95"]
    return out


def run(ctx: Context) -> tuple[dict, list[dict]]:
    """The suite in the DAG: the baselines' answers from stage domain_references."""
    return evaluate(ctx, read_references(REFERENCES, [r["prompt"] for r in domain_items(ctx.p)]))


def evaluate_outside_dag(ctx: Context, method: str | None, prompting: str) -> tuple[dict, list[dict]]:
    """`evaluate` with the baselines answered first, as `isara evaluate --prompts` does outside the
    DAG: a zero-shot baseline method (iter0, sft_seed) answers once, as a baseline and as itself."""
    own = method if method in BASELINES and prompting == "zero_shot" else None
    references = baseline_answers(ctx.p, {own: ctx} if own else None)
    return evaluate(ctx, by_prompt(references), [row[own] for row in references] if own else None)


def evaluate(ctx: Context, baselines: dict[str, dict[str, str]], outputs: list[str] | None = None
             ) -> tuple[dict, list[dict]]:
    """(metrics, rows) of the context's method against `baselines` (prompt -> {baseline: answer});
    `outputs`: the method's answers when already made (the method is one of the baselines)."""
    from isara.embedder import encoder

    p = ctx.p
    items = domain_items(p)
    prompts = [r["prompt"] for r in items]
    outputs = answers(ctx, prompts) if outputs is None else outputs
    judge, vs = _win_rates(ctx, prompts, outputs, baselines)
    rows = [{**r, "model_output": o, **{f"{name}_output": baselines[r["prompt"]][name] for name in BASELINES}}
            for r, o in zip(items, outputs)]
    referenced = [i for i, r in enumerate(items) if r["answer"]]
    reference = None
    if referenced:
        embed = encoder(p.embedder.name, ctx.device, p.embedder.batch_size)
        truth = [items[i]["answer"] for i in referenced]
        truth_vectors = embed(truth)
        reference, scores = similarity([outputs[i] for i in referenced], truth, embed, p.seed, truth_vectors)
        for i, (rouge, cosine) in zip(referenced, scores):
            rows[i].update(rougeL=round(rouge, 4), embedding_similarity=round(cosine, 4))
        theirs = {name: pair_scores([baselines[prompts[i]][name] for i in referenced], truth, embed, truth_vectors)
                  for name in BASELINES}
        reference["vs"] = paired_to_baselines(scores, theirs, p.seed)
    return {"judge": judge, "n": len(items), **headline(vs, reference), "vs": vs, "reference": reference,
            "mean_output_words": round(float(np.mean([len(words(o)) for o in outputs])), 2),
            "judge_error": ctx.judge_error("pairwise")}, rows


SUITE = Suite("domain", "A domain's held-out prompts: win rate against base and sft_seed, similarity to references",
              DOMAIN, run, ROWS, (
                  *(Metric(f"{key}_vs_{label}", f"domain_{key}_vs_{label}", "{judge}", f"vs.{name}.n", True)
                    for name, label in BASELINE_LABELS.items() for key in ("win_rate", "lc_win_rate")),
                  Metric("rougeL", "domain_rougeL", "ROUGE-L F", "reference.n", True),
                  Metric("embedding_similarity", "domain_embedding_similarity", "embedding cosine", "reference.n",
                         True),
                  Metric("mean_output_words", "domain_output_words", "word count", "n"),
              ), summary=tuple(f"win_rate_vs_{label}" for label in BASELINE_LABELS.values())
              + ("rougeL", "embedding_similarity"))
