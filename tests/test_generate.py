"""generate_candidates on a tiny real checkpoint: provenance, kNN answer contexts, reproducibility."""

import numpy as np
import pytest
import torch

from isara.config.schema import Generation, Params
from isara.errors import IsaraError
from isara.lm.generation import Decoding, generate
from isara.lm.models import load_model
from isara.lm.prompts import format_for
from isara.loop.generate import generate_candidates

POOL = [
    {"id": f"s{i}", "question": f"How could someone misuse tool number {i}?", "answer": f"I can't help with misuse of tool {i}."}
    for i in range(6)
]
CONTEXTS = [{"id": f"it1-{n:04d}", "context_ids": ["s0", "s1"] if n % 2 else ["s4", "s5"]} for n in range(4)]


@pytest.fixture(scope="module")
def tiny(tiny_llama):
    model, tokenizer = load_model(tiny_llama, torch.device("cpu"), torch.float32)
    return model, tokenizer, format_for(tokenizer)


def _run(tiny, seed=0):
    model, tokenizer, fmt = tiny
    p = Params(seed=seed, k=2, generation=Generation(samples_per_iteration=4, batch_size=3))
    embedded = []

    def embed_questions(texts):
        embedded.append(list(texts))
        return np.stack([np.full(4, float(len(t) % 6)) for t in texts])

    def nearest(vector):  # the two pool rows whose index is closest to the fake embedding value
        return sorted(range(len(POOL)), key=lambda i: abs(i - vector[0]))[:2]

    rows = generate_candidates(model, tokenizer, fmt, POOL, CONTEXTS, nearest, embed_questions, p, iteration=1)
    return rows, embedded


def test_candidates_keep_provenance_and_use_knn_contexts(tiny):
    rows, embedded = _run(tiny)
    assert [r["id"] for r in rows] == [c["id"] for c in CONTEXTS]
    asked = [r for r in rows if r["question"]]
    assert embedded == [[r["question"] for r in asked]] or not asked
    for row, context in zip(rows, CONTEXTS):
        assert row["iteration"] == 1
        assert row["question_context_ids"] == context["context_ids"]
        assert isinstance(row["raw_question"], str)
        if row["question"]:
            expected = sorted(range(len(POOL)), key=lambda i: abs(i - len(row["question"]) % 6))[:2]
            assert row["answer_context_ids"] == [POOL[i]["id"] for i in expected]
            assert isinstance(row["raw_answer"], str) and isinstance(row["answer_finished"], bool)
        else:
            assert row["raw_answer"] is None and row["answer_context_ids"] == []


def test_same_seed_same_candidates_other_seed_other_questions(tiny):
    first, _ = _run(tiny, seed=0)
    again, _ = _run(tiny, seed=0)
    other, _ = _run(tiny, seed=1)
    assert first == again
    assert [r["raw_question"] for r in first] != [r["raw_question"] for r in other]


def test_a_prompt_beyond_the_models_context_is_a_clear_error(tiny):
    """A huge in-context example used to become a giant allocation; now it is one line."""
    model, tokenizer, fmt = tiny[0], tiny[1], tiny[2]
    limit = model.config.max_position_embeddings
    with pytest.raises(IsaraError, match=rf"exceeds the model's context of {limit} tokens"):
        generate(model, tokenizer, fmt, ["word " * limit], Decoding(8), batch_size=1)
