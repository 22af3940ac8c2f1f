"""What each evaluation suite measures, declared once: its metric keys, their direction, how the
report names them, who judged them and where their sample count is (as lm-evaluation-harness task
configs declare `metric_list` with `higher_is_better`). The report iterates these declarations;
nothing else hard-codes a metric key.

A metrics file is `metrics/<method>/<suite>.json`. Beside the suites, three files per run hold what
the loop measured: `data.json` (the data-scaling ratio, from seed and mix), `filter.json`
(contamination and the diversity of the accepted data) and `train.json` (from finetune); they are
declared here the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Metric:
    key: str  # dotted path in the metrics file; a {name} segment matches each key found there
    column: str  # the report's name for it, with the same {name}s filled in
    judge: str  # who made the number; "{judge}" is a matched segment or else the file's own "judge"
    n: str  # dotted path of the number's sample count, {name}s filled in
    higher_is_better: bool | None = None  # None: neither (a length, a loss)


@dataclass(frozen=True)
class Suite:
    name: str
    title: str
    metrics: tuple[Metric, ...]


SUITES = {
    "harm": Suite("harm", "Harmful rate on harmful prompts (per prompt set and judge), over-refusal of safe ones", (
        Metric("{set}.{judge}.harmful_rate", "{set}_harmful_rate_{judge}", "{judge}", "{set}.n", False),
        Metric("over_refusal.refusal_rate", "over_refusal_rate", "refusal", "over_refusal.n", False),
        Metric("selective_refusal.{set}.balanced_accuracy", "{set}_balanced_accuracy", "refusal",
               "selective_refusal.{set}.n_harmful", True),
    )),
    "xstest": Suite("xstest", "XSTest refusal rates (safe prompts: over-refusal)", (
        Metric("refusal_rate_safe", "xstest_refusal_safe", "{judge}", "n_safe", False),
        Metric("refusal_rate_unsafe", "xstest_refusal_unsafe", "{judge}", "n_unsafe", True),
    )),
    "truthfulqa": Suite("truthfulqa", "TruthfulQA (ROUGE-L as lm-eval truthfulqa_gen; MC1/MC2)", (
        Metric("rougeL_max", "truthfulqa_rougeL_max", "rougeL", "n", True),
        Metric("rougeL_diff", "truthfulqa_rougeL_diff", "rougeL", "n", True),
        Metric("rougeL_acc", "truthfulqa_rougeL_acc", "rougeL", "n", True),
        Metric("mc1", "truthfulqa_mc1", "log-likelihood", "n", True),
        Metric("mc2", "truthfulqa_mc2", "log-likelihood", "n", True),
    )),
    "alpaca_eval": Suite("alpaca_eval", "AlpacaEval win rate against the reference outputs", (
        Metric("win_rate", "alpaca_win_rate", "{judge}", "n", True),
        Metric("length_controlled_winrate", "alpaca_lc_win_rate", "{judge}", "n", True),
        Metric("mean_output_words", "alpaca_output_words", "word count", "n"),
    )),
    "reward": Suite("reward", "Utility: reward-model score of the answers to safe prompts", (
        Metric("mean_reward", "reward_mean", "{judge}", "n", True),
    )),
}
RUN_FILES = {
    "data": Suite("data", "Data scaling |D0 + accepted| / |D0|", (
        Metric("scaling_ratio", "scaling_ratio", "pool / D0", "seed_size", True),
    )),
    "filter": Suite("filter", "The round's filter and the diversity of what it accepted", (
        Metric("contaminated", "contaminated", "audit", "candidates", False),
        Metric("diversity.distinct_2_questions", "distinct_2_questions", "word bigrams", "diversity.n", True),
        Metric("diversity.distinct_2_answers", "distinct_2_answers", "word bigrams", "diversity.n", True),
        Metric("diversity.question_similarity", "question_similarity", "embedding cosine", "diversity.n", False),
        Metric("diversity.same_opening_share", "same_opening_share", "first three words", "diversity.n", False),
        Metric("diversity.domain_share", "domain_share", "embedding cosine", "diversity.n", True),
        Metric("diversity.category_entropy", "category_entropy", "nearest D0 category", "diversity.n", True),
    )),
    "train": Suite("train", "Fine-tuning", (
        Metric("train_loss", "train_loss", "training", "examples"),
    )),
}


@dataclass(frozen=True)
class Value:
    column: str
    value: float
    judge: str
    n: int | None
    higher_is_better: bool | None


def values(declaration: Suite, result: dict) -> Iterator[Value]:
    """Every declared number found in one metrics file, in declaration order."""
    for metric in declaration.metrics:
        for names, value in _matches(metric.key.split("."), result, {}):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            fill = {"judge": result.get("judge", "?"), **names}
            n = _lookup(metric.n.format(**fill).split("."), result)
            yield Value(metric.column.format(**fill), float(value), metric.judge.format(**fill),
                        n if isinstance(n, int) and not isinstance(n, bool) else None, metric.higher_is_better)


def _matches(parts: list[str], node, names: dict) -> Iterator[tuple[dict, object]]:
    if not parts:
        yield names, node
        return
    if not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head.startswith("{") and head.endswith("}"):
        for key in sorted(node):
            yield from _matches(rest, node[key], {**names, head[1:-1]: key})
    elif head in node:
        yield from _matches(rest, node[head], names)


def _lookup(parts: list[str], node):
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
