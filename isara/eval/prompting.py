"""How a method prompts at inference: zero-shot, or with k seed examples in context (baselines).

- `zero_shot`: the SFT prompt (`isara.lm.prompts.sft_prompt`), used for the base model and every tuned one;
- `icl`: k seed pairs drawn at random per question (seeded by `seed` and the question, so a
  question always gets the same examples, whatever else is evaluated), then the question;
- `icl_knn`: the k seed pairs whose questions are nearest to it in the sentence embedder's space
  (`isara.retrieval.exact_nearest`: exact cosine neighbours, ties to the earlier seed pair; the
  closest one last, right before the question), then the question.

Both ICL layouts are `isara.lm.prompts.answer_prompt`, the layout ISARA labels its new questions with, so
the baselines differ from ISARA's own answering only in where the examples come from.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

import numpy as np

from isara.config import PROMPTINGS
from isara.errors import IsaraError
from isara.lm.prompts import Example, PromptFormat, answer_prompt
from isara.retrieval import exact_nearest

Prompter = Callable[[str], str]  # question -> full prompt text
ExamplesFor = Callable[[str], list[Example]]  # question -> the in-context seed pairs before it


def random_examples(seed_rows: Sequence[dict], k: int, seed: int, question: str) -> list[Example]:
    """k seed pairs chosen by a generator seeded with `seed` and the question itself."""
    rng = random.Random(f"{seed}-icl-{question}")
    chosen = rng.sample(range(len(seed_rows)), k)
    return [(seed_rows[i]["question"], seed_rows[i]["answer"]) for i in chosen]


def nearest_examples(seed_rows: Sequence[dict], seed_vectors: np.ndarray, query: np.ndarray,
                     k: int) -> list[Example]:
    """The k seed pairs most cosine-similar to `query` (vectors L2-normalised), nearest last."""
    order = exact_nearest(seed_vectors, query, k)
    return [(seed_rows[i]["question"], seed_rows[i]["answer"]) for i in reversed(order)]


def examples_for(kind: str, seed_rows: Sequence[dict] = (), k: int = 0, seed: int = 0,
                 embed: Callable[[list[str]], np.ndarray] | None = None) -> ExamplesFor:
    """The in-context seed pairs a prompting kind puts before a question (none for zero_shot).
    `embed` is needed by icl_knn only."""
    if kind == "zero_shot":
        return lambda question: []
    if kind not in PROMPTINGS:
        raise IsaraError(f"unknown prompting {kind!r}; choose one of {', '.join(PROMPTINGS)}")
    if not 1 <= k <= len(seed_rows):
        raise IsaraError(f"{kind}: k={k} must be between 1 and the seed size ({len(seed_rows)})")
    if kind == "icl":
        return lambda question: random_examples(seed_rows, k, seed, question)
    if embed is None:
        raise IsaraError("icl_knn needs a sentence embedder")
    seed_vectors = embed([row["question"] for row in seed_rows])
    cache: dict[str, np.ndarray] = {}

    def nearest(question: str) -> list[Example]:
        if question not in cache:
            cache[question] = embed([question])[0]
        return nearest_examples(seed_rows, seed_vectors, cache[question], k)

    return nearest


def make_prompter(kind: str, fmt: PromptFormat, seed_rows: Sequence[dict] = (), k: int = 0, seed: int = 0,
                  embed: Callable[[list[str]], np.ndarray] | None = None) -> Prompter:
    """The question -> prompt function of a prompting kind: its examples, then the question in the
    answer layout (zero_shot: no examples, the SFT prompt). `embed` is needed by icl_knn only."""
    return _prompter(fmt, examples_for(kind, seed_rows, k, seed, embed))


def _prompter(fmt: PromptFormat, examples: ExamplesFor) -> Prompter:
    return lambda question: answer_prompt(fmt, examples(question), question)


def examples_of(kind: str, seed_rows: Sequence[dict], p, device) -> ExamplesFor:
    """`examples_for` as params give it: k, the seed and the embedder (loaded for icl_knn only)."""
    embed = None
    if kind == "icl_knn":
        from isara.embedder import encoder

        embed = encoder(p.embedder.name, device, p.embedder.batch_size)
    return examples_for(kind, seed_rows, p.k, p.seed, embed)


def prompter_for(kind: str, fmt: PromptFormat, seed_rows: Sequence[dict], p, device) -> Prompter:
    """The prompter of a stage, its examples as params give them (`examples_of`)."""
    return _prompter(fmt, examples_of(kind, seed_rows, p, device))
