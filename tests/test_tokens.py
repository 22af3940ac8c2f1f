"""One token layout for every (prompt, answer) pair: the prompt whole, the answer cut so that the pair
and its EOS fit, EOS kept; and padding with EOS when a tokenizer has no pad token."""

from __future__ import annotations

import pytest

from isara.lm.prompts import format_for, sft_prompt
from isara.lm.tokens import ensure_pad_token, pair_ids


@pytest.fixture(scope="module")
def chat(smol_tokenizer):
    return smol_tokenizer, format_for(smol_tokenizer)


def test_the_prompt_is_kept_and_the_answer_cut_with_eos_kept(chat):
    tokenizer, fmt = chat
    prompt = sft_prompt(fmt, "How do I bake bread?")
    ids, n_prompt = pair_ids(tokenizer, fmt, prompt, "Knead it well. " * 40, max_length=64)
    assert ids[:n_prompt] == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert len(ids) == 64 and ids[-1] == tokenizer.eos_token_id
    short, n_short = pair_ids(tokenizer, fmt, prompt, "Knead it.", max_length=64)
    assert short[-1] == tokenizer.eos_token_id and len(short) < 64 and n_short == n_prompt


def test_a_prompt_longer_than_max_length_keeps_only_eos_after_it(chat):
    tokenizer, fmt = chat
    ids, n_prompt = pair_ids(tokenizer, fmt, sft_prompt(fmt, "word " * 100), "An answer.", max_length=16)
    assert n_prompt > 16 and ids[n_prompt:] == [tokenizer.eos_token_id]


def test_no_eos_and_no_limit_for_likelihoods(chat):
    tokenizer, fmt = chat
    prompt = sft_prompt(fmt, "Why is the sky blue?")
    ids, n_prompt = pair_ids(tokenizer, fmt, prompt, "Rayleigh scattering. " * 50, eos=False)
    assert ids[n_prompt:] == tokenizer("Rayleigh scattering. " * 50, add_special_tokens=False)["input_ids"]
    assert tokenizer.eos_token_id not in ids[n_prompt:]


def test_plain_layout_adds_the_tokenizers_special_tokens_to_the_prompt_only(smol_tokenizer):
    fmt = format_for(smol_tokenizer, "plain")
    ids, n_prompt = pair_ids(smol_tokenizer, fmt, sft_prompt(fmt, "Q?"), "A.", eos=False)
    assert ids[:n_prompt] == smol_tokenizer(sft_prompt(fmt, "Q?"))["input_ids"]
    assert ids[n_prompt:] == smol_tokenizer(" A.", add_special_tokens=False)["input_ids"]


def test_a_tokenizer_without_pad_pads_with_eos(smol_tokenizer):
    import copy

    tokenizer = copy.deepcopy(smol_tokenizer)
    tokenizer.pad_token = None
    assert ensure_pad_token(tokenizer).pad_token == tokenizer.eos_token
