"""Hand-made pairwise judges with known answers, for the tests of the both-orders logic."""

from __future__ import annotations

from isara.judges.pairwise import PairwiseJudge


class CountingMixin:
    """Counts the calls that reach the judge itself (cache hits and identical outputs do not)."""

    calls = 0

    def prefer(self, instruction, output_a, output_b):
        self.calls += 1
        return super().prefer(instruction, output_a, output_b)


class AlwaysA(PairwiseJudge):
    """Pure position bias: always sure the first output is better."""

    name = "always-a"

    def prefer(self, instruction, output_a, output_b):
        return 1.0


class Longer(PairwiseJudge):
    """Prefers the output with more words, with a position bias on top; 0.5 on equal length."""

    name = "longer"

    def prefer(self, instruction, output_a, output_b):
        a, b = len(output_a.split()), len(output_b.split())
        if a == b:
            return 0.6  # biased towards position A, which both orders cancel
        return 0.9 if a > b else 0.2


class CountingAlwaysA(CountingMixin, AlwaysA):
    pass


class CountingLonger(CountingMixin, Longer):
    pass
