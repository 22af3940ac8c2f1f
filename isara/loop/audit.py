"""What the filter needs to know about each generated question beyond its text: how close it comes
to an evaluation prompt (contamination) and to D0 (on-domain). Pure: embeddings come in as arrays;
`load_audit_embeddings` reads back the ones the audit stage writes (for filter and preferences).

- contamination: the highest cosine similarity of the question's embedding to any evaluation
  prompt, and the highest ROUGE-L F against the evaluation prompts nearest by embedding (ROUGE-L
  against thousands of prompts for every question would cost minutes at the paper's scale; a
  copied prompt is also among the nearest by embedding); a normalised exact copy counts as 1.0;
- on-domain: the highest cosine similarity to a D0 question, and the threshold it is measured
  against: D0's own 5th-percentile nearest-neighbour similarity (`isara.loop.diversity`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from isara.errors import IsaraError
from isara.loop.diversity import domain_threshold
from isara.text import new_scorer, normalise

ROUGE_NEIGHBOURS = 32  # evaluation prompts, nearest by embedding, each question's ROUGE-L is taken against


def unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def audit_rows(candidates: Sequence[dict], question_vectors: np.ndarray, prompts: Sequence[tuple[str, str]],
               prompt_vectors: np.ndarray, seed_vectors: np.ndarray | None = None) -> list[dict]:
    """One row per candidate: {"id", "eval_cosine", "eval_rouge", "eval_nearest" (set and prompt of
    the closest evaluation item by ROUGE-L), "domain_similarity", "domain_threshold"}.

    `prompts` are (set name, text) pairs, one per row of `prompt_vectors`. `seed_vectors` are D0's
    questions, for the domain measure; without them (None or none) it is 0 and its threshold -1."""
    questions = unit(question_vectors)
    seed = unit(seed_vectors) if seed_vectors is not None and len(seed_vectors) else None
    threshold = domain_threshold(seed) if seed is not None and len(seed) >= 2 else -1.0
    domain = (questions @ seed.T).max(axis=1) if seed is not None and len(questions) else np.zeros(len(questions))
    exact = {normalise(text): (name, text) for name, text in prompts}
    scorer = new_scorer()
    if len(prompts) and len(questions):
        similarity = questions @ unit(prompt_vectors).T
    else:
        similarity = np.zeros((len(questions), 0), dtype=np.float32)
    rows = []
    for i, row in enumerate(candidates):
        question = row.get("question") or ""
        out = {"id": row["id"], "eval_cosine": None, "eval_rouge": None, "eval_nearest": None,
               "domain_similarity": round(float(domain[i]), 4), "domain_threshold": round(float(threshold), 4)}
        if question.strip() and similarity.shape[1]:
            nearest = np.argsort(-similarity[i], kind="stable")[:ROUGE_NEIGHBOURS]
            scores = [(scorer.score(prompts[j][1], question)["rougeL"].fmeasure, int(j)) for j in nearest]
            rouge, best = max(scores, key=lambda pair: (pair[0], -pair[1]))
            if normalise(question) in exact:
                rouge, best = 1.0, next(j for j, (_, text) in enumerate(prompts) if normalise(text) == normalise(question))
            out.update(eval_cosine=round(float(similarity[i].max()), 4), eval_rouge=round(float(rouge), 4),
                       eval_nearest={"set": prompts[best][0], "prompt": prompts[best][1]})
        rows.append(out)
    return rows


def load_audit_embeddings(path: str, count: int) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(candidate vectors, D0 vectors, D0 categories or None) from stage audit's .npz (never unpickled)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError) as err:
        raise IsaraError(f"{path}: cannot read embeddings ({err})") from None
    candidates, seed = arrays.get("candidates"), arrays.get("seed")
    if candidates is None or seed is None or candidates.ndim != 2 or seed.ndim != 2 or len(candidates) != count:
        raise IsaraError(f"{path}: not the embeddings of these {count} candidates and D0")
    categories = arrays.get("seed_categories")
    return candidates, seed, None if categories is None else [str(c) for c in categories]
