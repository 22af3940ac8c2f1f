"""New pairs from in-context examples: questions from retrieved neighbours, answers by ICL-kNN.

1. For each context (k pool examples around an anchor) the model continues a question prompt;
   sampling (generation.question) keeps the new questions varied.
2. Each new question is embedded and its k nearest pool examples form its answer prompt; beam
   search (generation.answer.num_beams) writes the answer. An answer the token cap cuts keeps
   its complete sentences (generation.answer.trim_to_sentence), so the cap wastes little work.
With a labelled pool (generation.by_label), each question gets a `label` from the prompt judge
(`prompt_judge`: its nearest labelled D0 questions' majority, `isara.labels.vote`) and its answer
prompt holds the nearest examples of that label only: a safe question is answered from helpful
examples, a harmful one from declining ones. Every candidate keeps its provenance: iteration, the
ids of both contexts, the raw texts, its context's and its own label, and why its answer stopped
(end: the model ended it; sentence: cut by the cap, trimmed; length: cut).
3. With generation.answer.retries, a labelled question whose answer the refusal judge finds at odds
   with its label (`at_odds`: a harmful question answered, a safe one refused) is answered again by
   sampling (at generation.question's temperature, top-k and top-p), up to that many times; the
   first answer that fits its label replaces the beam answer, and `answer_tries` says which try it
   was (0: none fitted, the beam answer stays). The filter then keeps pairs it would have dropped
   as harmful_answer or needless_refusal: declining answers in the model's own words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from isara.config import Params
from isara.judges.refusal import is_refusal
from isara.labels import curation_reason, vote
from isara.lm.engine import Engine
from isara.lm.generation import Decoding
from isara.lm.prompts import PromptFormat, answer_prompt, parse_answer, parse_question, question_prompt
from isara.retrieval import unit_rows
from isara.text import complete_sentences


def _examples(pool_by_id: dict, ids: Sequence[str]) -> list[tuple[str, str]]:
    return [(pool_by_id[i]["question"], pool_by_id[i]["answer"]) for i in ids]


def round_seed(p: Params, iteration: int) -> int:
    return p.seed * 1000 + iteration


def question_decoding(p: Params, fmt: PromptFormat, iteration: int = 0) -> Decoding:
    q = p.generation.question
    return Decoding(q.max_new_tokens, do_sample=True, temperature=q.temperature, top_k=q.top_k, top_p=q.top_p,
                    stop_strings=fmt.question_stops(), seed=round_seed(p, iteration))


def answer_decoding(p: Params, fmt: PromptFormat) -> Decoding:
    a = p.generation.answer
    return Decoding(a.max_new_tokens, num_beams=a.num_beams, repetition_penalty=a.repetition_penalty,
                    no_repeat_ngram_size=a.no_repeat_ngram_size, stop_strings=fmt.answer_stops())


def retry_decoding(p: Params, fmt: PromptFormat, iteration: int, attempt: int) -> Decoding:
    """An answer sampled again: the answer's cap and penalties, the questions' sampling, a seed per try."""
    a, q = p.generation.answer, p.generation.question
    return Decoding(a.max_new_tokens, do_sample=True, temperature=q.temperature, top_k=q.top_k, top_p=q.top_p,
                    repetition_penalty=a.repetition_penalty, no_repeat_ngram_size=a.no_repeat_ngram_size,
                    stop_strings=fmt.answer_stops(), seed=round_seed(p, iteration) + attempt)


def at_odds(label: str | None, answer: str) -> bool:
    """Whether the refusal judge finds `answer` at odds with its question's label: a harmful question
    answered, a safe one refused (an unlabelled question never is), the filter's curation reasons."""
    return curation_reason(label, is_refusal(answer)) is not None


def answer_of(fmt: PromptFormat, completion, trim_to_sentence: bool) -> tuple[str, str]:
    """(answer, why it stopped): a capped answer, when trimming is on, keeps its complete sentences."""
    answer = parse_answer(fmt, completion.text)
    if completion.finished:
        return answer, "end"
    trimmed = complete_sentences(answer) if trim_to_sentence else ""
    return (trimmed, "sentence") if trimmed else (answer, "length")


def prompt_judge(pool: Sequence[dict], vectors: np.ndarray, k: int, harmful_at: float = 0.5):
    """The prompt judge of a labelled pool: new question embeddings -> (label, vote share), voted by
    the k nearest D0 (seed) questions (harmful from a share `harmful_at` of them); generated pairs
    never vote."""
    seed = [i for i, row in enumerate(pool) if row.get("source") == "seed"]
    labels = [pool[i]["label"] for i in seed]
    return lambda questions: vote(unit_rows(questions, "question embeddings"), vectors[seed], labels, k, harmful_at)


def generate_candidates(
    engine: Engine,
    pool: Sequence[dict],
    contexts: Sequence[dict],
    nearest: Callable[[np.ndarray, str | None], list[int]],
    embed_questions: Callable[[list[str]], np.ndarray],
    p: Params,
    iteration: int,
    log_dir: Path | None = None,
    judge: Callable[[np.ndarray], list[tuple[str, float]]] | None = None,
) -> list[dict]:
    """Candidate rows for the filter; `nearest` maps an embedding (and a label, or None) to k pool
    positions; `judge` (a labelled pool) gives each question's (label, vote share); with `log_dir`,
    finished batches are kept there and a re-run continues from them."""
    fmt = engine.fmt
    pool_by_id = {row["id"]: row for row in pool}
    prompts = [question_prompt(fmt, _examples(pool_by_id, c["context_ids"])) for c in contexts]
    questions = engine.generate(prompts, question_decoding(p, fmt, iteration), [c["id"] for c in contexts],
                                log_dir, desc=f"round {iteration}: questions")
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
            "answer_stop": None,
            **({"context_label": c["label"], "label": None, "label_share": None} if judge else {}),
        }
        for c, done in zip(contexts, questions)
    ]
    todo = [row for row in candidates if row["question"]]
    if todo:
        vectors = embed_questions([row["question"] for row in todo])
        for row, (label, share) in zip(todo, judge(vectors) if judge else []):
            row["label"], row["label_share"] = label, share
        for row, vector in zip(todo, vectors):
            row["answer_context_ids"] = [pool[i]["id"] for i in nearest(vector, row.get("label"))]
        prompts = [
            answer_prompt(fmt, _examples(pool_by_id, row["answer_context_ids"]), row["question"])
            for row in todo
        ]
        answers = engine.generate(prompts, answer_decoding(p, fmt), [row["id"] for row in todo], log_dir,
                                  desc=f"round {iteration}: answers")
        for row, done in zip(todo, answers):
            _set_answer(row, done, answer_of(fmt, done, p.generation.answer.trim_to_sentence))
        if judge and p.generation.answer.retries:
            retry_at_odds(engine, todo, dict(zip((row["id"] for row in todo), prompts)), p, iteration, log_dir)
    return candidates


def _set_answer(row: dict, done, answer: tuple[str, str]) -> None:
    """`done`'s raw text and its (answer, why it stopped), as `answer_of` parsed it, into `row`."""
    row["raw_answer"] = done.text
    row["answer"], row["answer_stop"] = answer
    row["answer_finished"] = row["answer_stop"] != "length"


def retry_at_odds(engine: Engine, rows: Sequence[dict], prompts: dict[str, str], p: Params, iteration: int,
                  log_dir: Path | None = None, fits: Callable[[str | None, str], bool] | None = None) -> None:
    """Answer again, by sampling, every row whose answer does not fit its label (`fits`; by default
    not `at_odds`), up to generation.answer.retries times; record `answer_tries` on every row (1: the
    beam answer fitted; t + 1: try t did; 0: none did, the beam answer stays)."""
    fits = fits or (lambda label, answer: not at_odds(label, answer))
    for row in rows:
        row["answer_tries"] = 1 if fits(row.get("label"), row["answer"]) else 0
    for attempt in range(1, p.generation.answer.retries + 1):
        todo = [row for row in rows if row["answer_tries"] == 0]
        if not todo:
            return
        done = engine.generate([prompts[row["id"]] for row in todo], retry_decoding(p, engine.fmt, iteration, attempt),
                               [f"{row['id']}-retry{attempt}" for row in todo], log_dir,
                               desc=f"round {iteration}: answers again ({attempt})")
        for row, completion in zip(todo, done):
            answer = answer_of(engine.fmt, completion, p.generation.answer.trim_to_sentence)
            if fits(row.get("label"), answer[0]):
                _set_answer(row, completion, answer)
                row["answer_tries"] = attempt + 1
