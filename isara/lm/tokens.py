"""Token-level layout shared by training, likelihood scoring and the probe judge.

A (prompt, answer) pair is always tokenised the same way: the rendered prompt (`prompts.sft_prompt`
for a bare question, or an in-context prompt), with the tokenizer's special tokens for the plain
layout; then `prompts.answer_target(answer)` without special tokens; then EOS where asked. One truncation rule:
the prompt is kept whole and the answer is cut so that the pair, EOS included, fits `max_length`.
"""

from __future__ import annotations

from isara.lm.prompts import PromptFormat, answer_target


def ensure_pad_token(tokenizer):
    """The tokenizer, padding with its EOS token when it has no pad token of its own."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def pair_ids(tokenizer, fmt: PromptFormat, prompt: str, answer: str, eos: bool = True,
             max_length: int | None = None) -> tuple[list[int], int]:
    """(token ids of the rendered `prompt` + answer [+ EOS], number of prompt tokens)."""
    prompt_ids = tokenizer(prompt, add_special_tokens=fmt.add_special_tokens)["input_ids"]
    answer_ids = tokenizer(answer_target(fmt, answer), add_special_tokens=False)["input_ids"]
    end = [tokenizer.eos_token_id] if eos and tokenizer.eos_token_id is not None else []
    if max_length is not None:
        answer_ids = answer_ids[: max(max_length - len(prompt_ids) - len(end), 0)]
    return prompt_ids + answer_ids + end, len(prompt_ids)
