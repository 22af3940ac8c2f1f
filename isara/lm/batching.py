"""Which prompts share a generate() call: a pure plan, the same in every process and on every re-run.

Prompts are sorted by token length, so that a batch holds prompts of about one length and no long
prompt pads a batch of short ones, then packed in that order until one more would exceed either
bound: `batch_size` sequences (beam hypotheses count, so a 4-beam prompt takes 4 places) or
`max_batch_tokens`, the padded tokens the batch holds at its end (longest prompt + new tokens,
times its sequences), which bounds the KV cache on a GPU. The prompts of a batch are then run in
groups of at most `prefill_tokens` (`isara.lm.generation.prefilled`) before the batch decodes as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Batching:
    batch_size: int = 16  # sequences per generate() call; beams count toward it
    max_batch_tokens: int = 16_384  # (longest prompt + new tokens) x sequences, per call
    workers: int = 1  # processes, one per device, that share the batches
    prefill_tokens: int = 2048  # padded prompt tokens per prefill forward (`isara.lm.generation.prefilled`)


def plan_batches(lengths: Sequence[int], new_tokens: int, beams: int, batching: Batching) -> list[list[int]]:
    """Batches of prompt positions: sorted by length (ties by position), packed under both bounds.
    A prompt that alone exceeds a bound still gets a batch of its own."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        rows = (len(current) + 1) * beams
        tokens = rows * (lengths[i] + new_tokens)  # sorted: lengths[i] is the longest so far
        if current and (rows > batching.batch_size or tokens > batching.max_batch_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
