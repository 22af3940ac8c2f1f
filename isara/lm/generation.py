"""Batched generation, padded on the left, with a progress bar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from tqdm.auto import tqdm

from isara.errors import IsaraError
from isara.lm.prompts import PromptFormat


@dataclass(frozen=True)
class Decoding:
    max_new_tokens: int
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    num_beams: int = 1
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    stop_strings: tuple[str, ...] = ()

    def kwargs(self) -> dict:
        kwargs = dict(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.do_sample,
            num_beams=self.num_beams,
            repetition_penalty=self.repetition_penalty,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        if self.do_sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p)
        if self.stop_strings:
            kwargs["stop_strings"] = list(self.stop_strings)
        return kwargs


@dataclass(frozen=True)
class Completion:
    text: str  # the new text, special tokens dropped
    finished: bool  # stopped by EOS or a stop string, not by max_new_tokens


def check_context(model, prompt_tokens: int, new_tokens: int) -> None:
    """A clear error, instead of a giant allocation or garbage, when a prompt cannot fit the model."""
    limit = getattr(model.config, "max_position_embeddings", None)
    if isinstance(limit, int) and prompt_tokens + new_tokens > limit:
        raise IsaraError(f"a prompt of {prompt_tokens} tokens plus {new_tokens} new ones exceeds the model's "
                         f"context of {limit} tokens: shorten the examples, lower k or the max_new_tokens")


@torch.inference_mode()
def generate(
    model,
    tokenizer,
    fmt: PromptFormat,
    prompts: Sequence[str],
    decoding: Decoding,
    batch_size: int,
    desc: str = "generate",
) -> list[Completion]:
    """The model's continuation of each prompt, and whether it ended on its own."""
    tokenizer.padding_side = "left"
    outputs: list[Completion] = []
    extra = {"tokenizer": tokenizer} if decoding.stop_strings else {}
    for start in tqdm(range(0, len(prompts), batch_size), desc=desc, unit="batch"):
        batch = list(prompts[start : start + batch_size])
        encoded = tokenizer(
            batch, return_tensors="pt", padding=True, add_special_tokens=fmt.add_special_tokens
        ).to(model.device)
        check_context(model, encoded["input_ids"].shape[1], decoding.max_new_tokens)
        generated = model.generate(
            **encoded,
            **decoding.kwargs(),
            **extra,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        new_tokens = generated[:, encoded["input_ids"].shape[1] :]
        for tokens, text in zip(new_tokens, tokenizer.batch_decode(new_tokens, skip_special_tokens=True)):
            ended = bool((tokens == tokenizer.eos_token_id).any()) or any(s in text for s in decoding.stop_strings)
            outputs.append(Completion(text, ended))
    return outputs
