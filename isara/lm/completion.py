"""One generated continuation: its text, why it stopped, and how many tokens it took."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Completion:
    STOPS = ("end", "stop_string", "length")

    text: str  # the new text up to the first stop, special tokens dropped
    stop: str  # end (an end-of-turn id) | stop_string | length (max_new_tokens reached)
    tokens: int  # new tokens up to and including the first stop: the useful work

    @property
    def finished(self) -> bool:
        """Ended on its own, not cut by max_new_tokens."""
        return self.stop != "length"

    def as_dict(self) -> dict:
        return {"text": self.text, "stop": self.stop, "tokens": self.tokens}
