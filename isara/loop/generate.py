"""New pairs from in-context examples: questions from retrieved neighbours, answers by ICL-kNN.

1. For each context (k pool examples around an anchor) the model continues a question prompt;
   sampling (generation.question) keeps the new questions varied.
2. Each new question is embedded and its k nearest pool examples form its answer prompt; beam
   search (generation.answer.num_beams) writes the answer.
Every candidate keeps its provenance: iteration, the ids of both contexts and the raw texts.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from transformers import set_seed

from isara.config import Params
from isara.lm.generation import Decoding, generate
from isara.lm.prompts import PromptFormat, answer_prompt, parse_answer, parse_question, question_prompt


def _examples(pool_by_id: dict, ids: Sequence[str]) -> list[tuple[str, str]]:
    return [(pool_by_id[i]["question"], pool_by_id[i]["answer"]) for i in ids]


def question_decoding(p: Params, fmt: PromptFormat) -> Decoding:
    q = p.generation.question
    return Decoding(q.max_new_tokens, do_sample=True, temperature=q.temperature, top_p=q.top_p,
                    stop_strings=fmt.question_stops())


def answer_decoding(p: Params, fmt: PromptFormat) -> Decoding:
    a = p.generation.answer
    return Decoding(a.max_new_tokens, num_beams=a.num_beams, repetition_penalty=a.repetition_penalty,
                    no_repeat_ngram_size=a.no_repeat_ngram_size, stop_strings=fmt.answer_stops())


def generate_candidates(
    model,
    tokenizer,
    fmt: PromptFormat,
    pool: Sequence[dict],
    contexts: Sequence[dict],
    nearest: Callable[[np.ndarray], list[int]],
    embed_questions: Callable[[list[str]], np.ndarray],
    p: Params,
    iteration: int,
) -> list[dict]:
    """Candidate rows for the filter; `nearest` maps an embedding to k pool positions."""
    pool_by_id = {row["id"]: row for row in pool}
    set_seed(p.seed * 1000 + iteration)
    prompts = [question_prompt(fmt, _examples(pool_by_id, c["context_ids"])) for c in contexts]
    questions = generate(model, tokenizer, fmt, prompts, question_decoding(p, fmt),
                             p.generation.batch_size, desc=f"round {iteration}: questions")
    candidates = [
        {
            "id": c["id"],
            "iteration": iteration,
            "question_context_ids": c["context_ids"],
            "answer_context_ids": [],
            "raw_question": done.text,
            "question": parse_question(fmt, done.text),
            "raw_answer": None,
            "answer": "",
            "answer_finished": None,
        }
        for c, done in zip(contexts, questions)
    ]
    todo = [row for row in candidates if row["question"]]
    if todo:
        vectors = embed_questions([row["question"] for row in todo])
        for row, vector in zip(todo, vectors):
            row["answer_context_ids"] = [pool[i]["id"] for i in nearest(vector)]
        prompts = [
            answer_prompt(fmt, _examples(pool_by_id, row["answer_context_ids"]), row["question"])
            for row in todo
        ]
        answers = generate(model, tokenizer, fmt, prompts, answer_decoding(p, fmt),
                               p.generation.batch_size, desc=f"round {iteration}: answers")
        for row, done in zip(todo, answers):
            row["raw_answer"] = done.text
            row["answer"] = parse_answer(fmt, done.text)
            row["answer_finished"] = done.finished
    return candidates
