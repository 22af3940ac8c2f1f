"""Sampling from the top-k candidates: the distribution Hugging Face's warpers leave, and a draw
that stays inside it and follows it."""

import pytest
import torch
from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

from isara.lm.sampling import NucleusDraw, nucleus


def _hf(scores, temperature, top_k, top_p):
    warpers = [TemperatureLogitsWarper(temperature)] + ([TopKLogitsWarper(top_k)] if top_k else []) + \
        ([TopPLogitsWarper(top_p)] if top_p < 1.0 else [])
    return torch.softmax(LogitsProcessorList(warpers)(None, scores.clone()), dim=-1)


@pytest.mark.parametrize("temperature,top_k,top_p", [(0.9, 50, 0.95), (0.7, 5, 0.5), (1.3, 0, 0.9), (1.0, 20, 1.0)])
def test_nucleus_is_the_distribution_huggingface_warpers_leave(temperature, top_k, top_p):
    torch.manual_seed(0)
    scores = torch.randn(6, 300) * torch.tensor([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])[:, None]
    probs, ids = nucleus(scores, temperature, top_k, top_p)
    ours = torch.zeros_like(scores).scatter_(-1, ids, probs)
    assert torch.allclose(ours, _hf(scores, temperature, top_k, top_p), atol=1e-6)
    assert (probs[:, :-1] >= probs[:, 1:]).all()  # most likely first


def test_a_draw_stays_in_the_nucleus_and_follows_it():
    torch.manual_seed(1)
    scores = torch.randn(1, 200) * 3
    draw = NucleusDraw(temperature=0.8, top_k=40, top_p=0.9)
    expected = _hf(scores, 0.8, 40, 0.9)[0]
    counts = torch.zeros(200)
    for _ in range(3000):
        out = draw(None, scores.clone())
        assert torch.isfinite(out).sum() == 1
        counts[out[0].argmax()] += 1
    assert counts[expected == 0].sum() == 0
    assert (counts / 3000 - expected).abs().max() < 0.03


def test_one_candidate_is_greedy_and_the_draw_follows_the_seed():
    scores = torch.randn(4, 50)
    assert torch.equal(NucleusDraw(1.0, 1, 1.0)(None, scores).argmax(-1), scores.argmax(-1))
    torch.manual_seed(5)
    first = NucleusDraw(1.0, 0, 1.0)(None, scores).argmax(-1)
    torch.manual_seed(5)
    assert torch.equal(NucleusDraw(1.0, 0, 1.0)(None, scores).argmax(-1), first)
