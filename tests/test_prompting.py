"""Inference-time prompting of the baselines: zero-shot, k random and k nearest seed pairs."""

from __future__ import annotations

import numpy as np
import pytest

from isara.embedder import embed, load_embedder
from isara.errors import IsaraError
from isara.eval.prompting import make_prompter, nearest_examples, random_examples
from isara.lm.prompts import PromptFormat, answer_prompt, sft_prompt

PLAIN = PromptFormat(None)
SEEDS = [
    {"question": "How often should I feed my adult cat?", "answer": "Twice a day suits most adult cats."},
    {"question": "How long do I boil an egg for a runny yolk?", "answer": "About six minutes in boiling water."},
    {"question": "When should I change my car's engine oil?", "answer": "Follow the manual, often every 10,000 km."},
    {"question": "Why does my cat scratch the sofa?", "answer": "Scratching marks territory; offer a scratching post."},
    {"question": "How do I stop pasta from sticking together?", "answer": "Use plenty of water and stir early."},
]


def test_zero_shot_is_the_sft_prompt():
    assert make_prompter("zero_shot", PLAIN)("Why is the sky blue?") == sft_prompt(PLAIN, "Why is the sky blue?")


def test_random_examples_are_k_distinct_seed_pairs_fixed_per_question():
    first = random_examples(SEEDS, 3, seed=0, question="q")
    assert len(set(first)) == 3 and set(first) <= {(s["question"], s["answer"]) for s in SEEDS}
    assert random_examples(SEEDS, 3, seed=0, question="q") == first
    draws = {tuple(random_examples(SEEDS, 3, seed=s, question="q")) for s in range(10)}
    assert len(draws) > 1  # the seed changes the draw


def test_icl_prompt_is_the_answer_prompt_with_those_examples():
    prompt = make_prompter("icl", PLAIN, SEEDS, k=2, seed=1)("Why is the sky blue?")
    assert prompt == answer_prompt(PLAIN, random_examples(SEEDS, 2, 1, "Why is the sky blue?"), "Why is the sky blue?")
    assert prompt.endswith("Question: Why is the sky blue?\nAnswer:") and prompt.count("Question:") == 3


def test_nearest_examples_put_the_closest_last():
    vectors = np.eye(5, dtype=np.float32)
    query = np.array([0.1, 0.0, 0.0, 0.9, 0.3], dtype=np.float32)
    got = nearest_examples(SEEDS, vectors, query, 3)
    assert [q for q, _ in got] == [SEEDS[i]["question"] for i in (0, 4, 3)]


def test_nearest_examples_break_ties_by_seed_order():
    vectors = np.array([[0, 1], [1, 0], [1, 0], [0.6, 0.8], [1, 0]], dtype=np.float32)
    got = nearest_examples(SEEDS, vectors, np.array([1, 0], dtype=np.float32), 3)
    assert [q for q, _ in got] == [SEEDS[i]["question"] for i in (4, 2, 1)]  # equal scores: the earlier seed nearer


def test_icl_knn_retrieves_seed_pairs_on_the_same_topic():
    embedder = load_embedder("all-MiniLM-L6-v2", "cpu")
    prompter = make_prompter("icl_knn", PLAIN, SEEDS, k=2, seed=0, embed=lambda texts: embed(embedder, texts, 8))
    prompt = prompter("What should I do when my kitten bites and scratches?")
    shown = [line for line in prompt.splitlines() if line.startswith("Question:")][:-1]
    assert sorted(shown) == sorted(f"Question: {SEEDS[i]['question']}" for i in (0, 3))


@pytest.mark.parametrize("kind, k, fragment", [
    ("icl", 0, "k=0 must be between 1"), ("icl", 6, "k=6 must be between 1 and the seed size (5)"),
    ("icl_knn", 2, "needs a sentence embedder"), ("few_shot", 2, "unknown prompting"),
])
def test_bad_prompting_is_a_clear_error(kind, k, fragment):
    with pytest.raises(IsaraError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        make_prompter(kind, PLAIN, SEEDS, k=k)
