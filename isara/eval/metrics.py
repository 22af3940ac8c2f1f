"""How a metrics file's numbers are declared: their keys, their direction, how the report names
them, who judged them and where their sample count is (as lm-evaluation-harness task configs declare
`metric_list` with `higher_is_better`). Each suite declares its own (`Suite.metrics`, in
isara/eval/<suite>.py); the report iterates the declarations.

A suite's metrics file is `metrics/methods/<method>/<suite>.json`. Beside the suites, four files
per run hold what the loop measured: `data.json` (the data-scaling ratio, from seed and mix),
`filter.json` (contamination and the diversity of the accepted data), `preferences.json` (the
round's contrast pairs by kind) and `train.json` (from finetune); they are declared here, the same
way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Metric:
    key: str  # dotted path in the metrics file; a {name} segment matches each key found there
    column: str  # the report's name for it, with the same {name}s filled in
    judge: str  # who made the number; "{judge}" is a matched segment or else the file's own "judge"
    n: str  # dotted path of the number's sample count, {name}s filled in; "a+b": the sum of several
    higher_is_better: bool | None = None  # None: neither (a length, a loss)


@dataclass(frozen=True)
class MetricsFile:
    """The declared numbers of one metrics file (a suite's, or one of RUN_FILES)."""

    name: str  # the file's name: metrics/methods/<method>/<name>.json
    title: str
    metrics: tuple[Metric, ...]
    summary: tuple[str, ...] = ()  # its keys copied into metrics/summary.json as <key>_<method>


RUN_FILES = {
    "data": MetricsFile("data", "Data scaling |D0 + accepted| / |D0|", (
        Metric("scaling_ratio", "scaling_ratio", "pool / D0", "seed_size", True),
    ), summary=("scaling_ratio",)),
    "filter": MetricsFile("filter", "The round's filter and the diversity of what it accepted", (
        Metric("contaminated", "contaminated", "audit", "candidates", False),
        Metric("diversity.distinct_2_questions", "distinct_2_questions", "word bigrams", "diversity.n", True),
        Metric("diversity.distinct_2_answers", "distinct_2_answers", "word bigrams", "diversity.n", True),
        Metric("diversity.question_similarity", "question_similarity", "embedding cosine", "diversity.n", False),
        Metric("diversity.same_opening_share", "same_opening_share", "first three words", "diversity.n", False),
        Metric("diversity.domain_share", "domain_share", "embedding cosine", "diversity.n", True),
        Metric("diversity.category_entropy", "category_entropy", "nearest D0 category", "diversity.n", True),
    )),
    "preferences": MetricsFile("preferences", "The round's preference pairs (used by finetune.objective sft+dpo)", (
        Metric("pairs", "preference_pairs", "pair builder", "candidates"),
        Metric("harmful_complied", "pairs_harmful_complied", "pair builder", "candidates"),
        Metric("safe_helpful", "pairs_safe_helpful", "pair builder", "candidates"),
    )),
    "train": MetricsFile("train", "Fine-tuning", (
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


def values(declaration: MetricsFile, result: dict) -> Iterator[Value]:
    """Every declared number found in one metrics file, in declaration order (`declaration`: a
    MetricsFile or a Suite: anything with `metrics`)."""
    for metric in declaration.metrics:
        for names, value in _matches(metric.key.split("."), result, {}):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            fill = {"judge": result.get("judge", "?"), **names}
            yield Value(metric.column.format(**fill), float(value), metric.judge.format(**fill),
                        _count(metric.n.format(**fill), result), metric.higher_is_better)


def _count(paths: str, result: dict) -> int | None:
    """The sample count at a dotted path, or the sum at several joined by "+" (a balanced accuracy
    counts both groups); None when one is missing or not an integer."""
    counts = [_lookup(path.split("."), result) for path in paths.split("+")]
    if all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
        return sum(counts)
    return None


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
