"""What a round's accepted data looks like: how varied its wording is, how alike its questions are,
how many answers open the same way, which seed categories it covers, and how much of it stays in
the seed domain. Pure: embeddings come in as numpy arrays (one row per text), nothing is loaded.

Words are the runs of `[a-z0-9']` in the lower-cased text; similarities are cosine similarities.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    """The lower-cased words of `text`."""
    return _WORD.findall(text.lower())


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """`vectors` as a 2-d float array with each non-zero row scaled to length 1."""
    array = np.atleast_2d(np.asarray(vectors, dtype=float))
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.where(norms == 0, 1.0, norms)


def _cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The cosine similarity of every row of `left` (rows) with every row of `right` (columns)."""
    return _unit_rows(left) @ _unit_rows(right).T


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct word n-grams over all word n-grams of `texts` (n-grams never span two texts);
    0.0 when the texts hold no n-gram."""
    grams = [
        tuple(tokens[i : i + n]) for tokens in map(_words, texts) for i in range(len(tokens) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def mean_pairwise_similarity(vectors: np.ndarray) -> float | None:
    """The mean cosine similarity over all distinct pairs of rows; None for fewer than 2 rows."""
    array = np.asarray(vectors, dtype=float)
    if array.ndim != 2 or len(array) < 2:
        return None
    upper = np.triu_indices(len(array), k=1)
    return float(_cosine(array, array)[upper].mean())


def same_opening_share(texts: Sequence[str], words: int = 3) -> float:
    """The share of texts whose opening is also the opening of at least one other text: 1 minus
    the share of texts with a unique opening. A text's opening is its first `words` words (all of
    them when it has fewer). 0.0 for no texts."""
    openings = [tuple(_words(text)[:words]) for text in texts]
    if not openings:
        return 0.0
    counts = Counter(openings)
    return sum(counts[opening] > 1 for opening in openings) / len(openings)


def _nearest_seed(new_vectors: np.ndarray, seed_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each new vector, the index of its most similar seed vector and that similarity."""
    similarity = _cosine(new_vectors, seed_vectors)
    return similarity.argmax(axis=1), similarity.max(axis=1)


def category_spread(
    new_vectors: np.ndarray, seed_vectors: np.ndarray, seed_categories: Sequence[str]
) -> dict[str, float]:
    """The share of new vectors per category, each taking the category of its most similar seed
    vector. Every seed category is a key (sorted), 0.0 where no new vector fell; all shares are
    0.0 when there are no new vectors."""
    if len(seed_vectors) != len(seed_categories):
        raise ValueError(f"{len(seed_vectors)} seed vectors but {len(seed_categories)} seed categories")
    counts = Counter()
    if len(new_vectors):
        nearest, _ = _nearest_seed(new_vectors, seed_vectors)
        counts = Counter(seed_categories[i] for i in nearest)
    total = sum(counts.values())
    return {category: (counts[category] / total if total else 0.0) for category in sorted(set(seed_categories))}


def category_entropy(shares: dict[str, float]) -> float:
    """The entropy of `shares` (normalised to sum 1) over the log of the number of categories: 1.0
    when every category has the same share, 0.0 when one has them all, with fewer than 2
    categories or when every share is 0."""
    values = np.asarray(list(shares.values()), dtype=float)
    if len(values) < 2 or values.sum() <= 0:
        return 0.0
    p = values[values > 0] / values.sum()
    return float(-(p * np.log(p)).sum() / math.log(len(values)))


def domain_threshold(seed_vectors: np.ndarray, percentile: float = 5.0) -> float:
    """The `percentile`-th percentile of the seed set's own nearest-neighbour similarities (each
    seed vector with its most similar other seed vector): how close "on-domain" is. ValueError for
    fewer than 2 seed vectors: there is no neighbour to calibrate on."""
    if len(seed_vectors) < 2:
        raise ValueError(f"domain_share needs at least 2 seed vectors, got {len(seed_vectors)}")
    within = _cosine(seed_vectors, seed_vectors)
    np.fill_diagonal(within, -np.inf)
    return float(np.percentile(within.max(axis=1), percentile))


def domain_share(
    new_vectors: np.ndarray, seed_vectors: np.ndarray, percentile: float = 5.0
) -> tuple[float, float]:
    """(share, threshold): the share of new vectors whose most similar seed vector reaches
    `domain_threshold` (>=), and that threshold. The share is 0.0 for no new vectors."""
    threshold = domain_threshold(seed_vectors, percentile)
    if not len(new_vectors):
        return 0.0, threshold
    _, nearest = _nearest_seed(new_vectors, seed_vectors)
    return float(np.mean(nearest >= threshold)), threshold


def diversity_report(
    questions: Sequence[str],
    answers: Sequence[str],
    question_vectors: np.ndarray,
    seed_vectors: np.ndarray,
    seed_categories: Sequence[str] | None,
) -> dict:
    """Every measure above for one round's accepted pairs, as one flat JSON-ready dict: distinct-1
    and -2 of questions and of answers, the questions' mean pairwise similarity (None for fewer
    than 2), the answers' same-opening share, the questions' seed category shares and their
    entropy (None when the seed rows have no categories), the questions' domain share and its threshold, and n, the number of pairs."""
    if not len(questions) == len(answers) == len(question_vectors):
        raise ValueError(
            f"{len(questions)} questions, {len(answers)} answers and {len(question_vectors)} question vectors"
        )
    shares = category_spread(question_vectors, seed_vectors, seed_categories) if seed_categories else None
    share, threshold = domain_share(question_vectors, seed_vectors)
    return {
        "distinct_1_questions": distinct_n(questions, 1),
        "distinct_2_questions": distinct_n(questions, 2),
        "distinct_1_answers": distinct_n(answers, 1),
        "distinct_2_answers": distinct_n(answers, 2),
        "question_similarity": mean_pairwise_similarity(question_vectors),
        "same_opening_share": same_opening_share(answers),
        "category_shares": shares,
        "category_entropy": category_entropy(shares) if shares else None,
        "domain_share": share,
        "domain_threshold": threshold,
        "n": len(questions),
    }
