"""Word-level text helpers shared by the filter, the seed draw and the evaluation sets."""

from __future__ import annotations

import re

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
