"""Text helpers shared by the filter, the audit, the judges' data, the seed draw and the evaluation
sets: words, normalised text, complete sentences, and ROUGE-L F (rouge-score's, stemmed)."""

from __future__ import annotations

import re
from typing import Sequence

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """The lower-cased words of `text` (runs of letters, digits and underscores)."""
    return _WORD.findall(text.lower())


def normalise(text: str) -> str:
    """`text` as its words joined by single spaces: case, punctuation and spacing ignored."""
    return " ".join(words(text))


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")


def complete_sentences(text: str) -> str:
    """`text` up to the end of its last complete sentence ('' when none ends), stripped."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return text[: ends[-1]].strip() if ends else ""


def new_scorer():
    """A ROUGE-L scorer with stemming (rouge-score): the near-duplicate test of the filter and the audit."""
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_max(scorer, question: str, references: Sequence[tuple[str, str]]) -> tuple[float, str | None]:
    """Highest ROUGE-L F of `question` against (id, question) references, and that reference's id."""
    best, nearest = 0.0, None
    for ref_id, ref_question in references:
        score = scorer.score(ref_question, question)["rougeL"].fmeasure
        if score > best or nearest is None:
            best, nearest = score, ref_id
    return best, nearest
