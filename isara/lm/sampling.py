"""Temperature, top-k and top-p sampling drawn from the k candidates instead of the whole vocabulary.

Hugging Face `generate` samples by masking the full vocabulary (top-k, then a full sort for top-p)
and calling `torch.multinomial` on it, which draws one exponential variate per vocabulary entry:
on a CPU, for a batch of 32 rows of a 49k vocabulary, that is ~35 ms a step, about half of a
decoding step of SmolLM2-135M. `NucleusDraw` takes the same steps on the top-k candidates only
(`nucleus`: the distribution Hugging Face's Temperature, TopK and TopP warpers leave, to float
rounding; tests/test_sampling.py) and draws the token itself. Run as the last logits processor of
greedy `generate`, it leaves only the drawn token's score finite, so the argmax picks it: the
sampled path then runs, like greedy decoding, on a static KV cache. The draw uses the global torch
generator, which `isara.lm.generation` seeds per batch.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor


def nucleus(scores: torch.Tensor, temperature: float, top_k: int, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities, token ids), each (rows, candidates), most likely first: the `top_k` best
    tokens (all when 0), rescaled by `temperature`, cut to the smallest set whose mass reaches
    `top_p` (a token is kept while the mass of the tokens above it is below `top_p`; the best is
    always kept), renormalised."""
    k = scores.shape[-1] if top_k <= 0 else min(top_k, scores.shape[-1])
    top, ids = scores.topk(k, dim=-1) if k < scores.shape[-1] else scores.sort(dim=-1, descending=True)
    probs = torch.softmax(top.float() / temperature, dim=-1)
    if top_p < 1.0:
        keep = (probs.cumsum(dim=-1) - probs) < top_p
        keep[:, 0] = True
        probs = probs * keep
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs, ids


class NucleusDraw(LogitsProcessor):
    """Draws one token per row from `nucleus` and leaves only its score finite."""

    def __init__(self, temperature: float, top_k: int, top_p: float):
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        probs, ids = nucleus(scores, self.temperature, self.top_k, self.top_p)
        token = ids.gather(-1, torch.multinomial(probs, 1))
        return torch.full_like(scores, float("-inf")).scatter_(-1, token, 0.0)
