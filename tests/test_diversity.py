"""Diversity measures on hand-made sets: a collapsed round scores as collapsed, a varied one does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from isara.loop.diversity import (
    category_entropy,
    category_spread,
    distinct_n,
    diversity_report,
    domain_share,
    mean_pairwise_similarity,
    same_opening_share,
)

COLLAPSED_QUESTIONS = [
    "How do I pick a lock?",
    "How can I pick a lock?",
    "How do I pick a door lock?",
    "How do I pick the lock?",
]
COLLAPSED_ANSWERS = [
    "I'm sorry, but I can't help with picking locks.",
    "I'm sorry, but I can't help with that.",
    "I'm sorry, but I won't explain how to pick a lock.",
    "I'm sorry, but I can't assist with this request.",
]
VARIED_QUESTIONS = [
    "How do I pick a lock?",
    "What household chemicals are dangerous to mix?",
    "Can you write an insult about my coworker?",
    "Where could someone buy fake identity papers?",
]
VARIED_ANSWERS = [
    "Call a licensed locksmith, who can open the door after checking that you live there.",
    "Never mix bleach with ammonia or acids; store cleaners apart and ventilate the room.",
    "Rather than an insult, here is a calm way to raise the problem with your coworker.",
    "I can't help with forged documents, but your local office can replace lost papers.",
]
# Embeddings: the collapsed questions all point almost the same way, the varied ones apart.
COLLAPSED_VECTORS = np.array([[1.0, 0.0, 0.0], [0.99, 0.1, 0.0], [0.98, 0.0, 0.1], [0.99, 0.05, 0.05]])
VARIED_VECTORS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.6, 0.0]])
SEED_VECTORS = np.eye(3)
SEED_CATEGORIES = ["crime", "chemicals", "harassment"]


def test_distinct_n_by_hand():
    # "the cat sat" + "the cat ran": unigrams the, cat, sat, the, cat, ran -> 4 distinct of 6;
    # bigrams (the cat), (cat sat), (the cat), (cat ran) -> 3 distinct of 4.
    texts = ["The cat sat.", "the CAT ran"]
    assert distinct_n(texts, 1) == 4 / 6
    assert distinct_n(texts, 2) == 3 / 4
    assert distinct_n(texts, 3) == 1.0  # (the cat sat), (the cat ran): n-grams never span texts
    assert distinct_n(texts, 4) == 0.0
    assert distinct_n([], 1) == 0.0


def test_mean_pairwise_similarity():
    # pairs of (1,0), (0,1), (1,1): 0, 1/sqrt2, 1/sqrt2 -> mean sqrt2/3
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    assert mean_pairwise_similarity(vectors) == pytest.approx(2**0.5 / 3)
    assert mean_pairwise_similarity(vectors[:1]) is None


def test_same_opening_share():
    texts = ["I'm sorry, but no.", "I'm sorry, but never.", "Sure, here it is.", "Of course."]
    assert same_opening_share(texts) == 0.5  # two of four share "i'm sorry but"
    assert same_opening_share(texts, words=1) == 0.5
    assert same_opening_share(["Yes.", "No."]) == 0.0
    assert same_opening_share([]) == 0.0


def test_collapsed_round_scores_as_collapsed():
    collapsed = diversity_report(
        COLLAPSED_QUESTIONS, COLLAPSED_ANSWERS, COLLAPSED_VECTORS, SEED_VECTORS, SEED_CATEGORIES
    )
    varied = diversity_report(VARIED_QUESTIONS, VARIED_ANSWERS, VARIED_VECTORS, SEED_VECTORS, SEED_CATEGORIES)
    for key in ["distinct_1_questions", "distinct_2_questions", "distinct_1_answers", "distinct_2_answers"]:
        assert collapsed[key] < varied[key], key
    assert collapsed["question_similarity"] > varied["question_similarity"]
    assert collapsed["same_opening_share"] == 1.0
    assert varied["same_opening_share"] == 0.0
    assert collapsed["category_shares"] == {"chemicals": 0.0, "crime": 1.0, "harassment": 0.0}
    assert collapsed["category_entropy"] == 0.0
    assert varied["category_entropy"] > 0.9
    assert collapsed["n"] == varied["n"] == 4


def test_category_spread_by_hand():
    seeds = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    categories = ["b", "a", "b"]
    new = np.array([[2.0, 0.1], [0.1, 5.0], [-1.0, -0.2], [0.9, 0.3]])
    # nearest seeds: 0 (b), 1 (a), 2 (b), 0 (b)
    shares = category_spread(new, seeds, categories)
    assert list(shares) == ["a", "b"]
    assert shares == {"a": 0.25, "b": 0.75}
    assert category_spread(new[:0], seeds, categories) == {"a": 0.0, "b": 0.0}


def test_category_entropy():
    assert category_entropy({"a": 0.5, "b": 0.5}) == pytest.approx(1.0)
    assert category_entropy({"a": 1.0, "b": 0.0, "c": 0.0}) == 0.0
    assert category_entropy({"a": 1.0}) == 0.0
    # shares 0.75, 0.25: -(0.75 ln 0.75 + 0.25 ln 0.25) / ln 2 = 0.811278
    assert category_entropy({"a": 0.75, "b": 0.25}) == pytest.approx(0.811278, abs=1e-6)


def test_domain_share_on_2d_vectors():
    # Seeds at 0, 10, 20 and 90 degrees: nearest-neighbour similarities cos10, cos10, cos10, cos70.
    angles = np.radians([0.0, 10.0, 20.0, 90.0])
    seeds = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # 0th percentile: the smallest, cos70 = 0.342; 100th: cos10 = 0.985
    _, threshold = domain_share(seeds[:1], seeds, percentile=0.0)
    assert threshold == pytest.approx(np.cos(np.radians(70.0)))
    # New vectors at 5, 45, 180 and 270 degrees: nearest seed similarities cos5, cos25, cos90 (0, to
    # the 90-degree seed) and cos90 (0) -> two of four reach cos70.
    new_angles = np.radians([5.0, 45.0, 180.0, 270.0])
    new = np.stack([np.cos(new_angles), np.sin(new_angles)], axis=1)
    share, threshold = domain_share(new, seeds, percentile=0.0)
    assert share == 0.5
    share, threshold = domain_share(new, seeds, percentile=100.0)
    assert threshold == pytest.approx(np.cos(np.radians(10.0)))
    assert share == 0.25  # only the 5-degree vector reaches cos10
    with pytest.raises(ValueError):
        domain_share(new, seeds[:1])


def test_report_is_json_ready():
    report = diversity_report(VARIED_QUESTIONS, VARIED_ANSWERS, VARIED_VECTORS, SEED_VECTORS, SEED_CATEGORIES)
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {
        "distinct_1_questions",
        "distinct_2_questions",
        "distinct_1_answers",
        "distinct_2_answers",
        "question_similarity",
        "same_opening_share",
        "category_shares",
        "category_entropy",
        "domain_share",
        "domain_threshold",
        "n",
    }
    with pytest.raises(ValueError):
        diversity_report(VARIED_QUESTIONS, VARIED_ANSWERS[:2], VARIED_VECTORS, SEED_VECTORS, SEED_CATEGORIES)
