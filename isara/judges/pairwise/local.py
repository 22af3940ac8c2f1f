"""The `local` pairwise judge: a causal LM asked JUDGE_TEMPLATE, read from its next-token logits."""

from __future__ import annotations

import torch

from isara.errors import IsaraError
from isara.judges.pairwise.base import ANSWER_LETTERS, JUDGE_TEMPLATE, PAIR_FIELDS, PLAIN_ANSWER_CUE, ModelJudge
from isara.lm.models import open_model
from isara.lm.prompts import format_for


class LocalLMJudge(ModelJudge):
    """A causal LM asked JUDGE_TEMPLATE; p(A) is the softmax of its next-token logits for A and B.

    The model is any folder (as written by `base`/`finetune`, or any HF checkpoint), packaged alias
    (smollm2-135m-instruct) or hub id. The prompt is not truncated: instruction and outputs must
    fit the judge's context.
    """

    kind, default_template, fields = "local", JUDGE_TEMPLATE, PAIR_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model, self.tokenizer = open_model(self.source, self.device, self.dtype)
        self.format = format_for(self.tokenizer)
        self.answer_ids = self._answer_token_ids()

    def prompt(self, instruction: str, output_a: str, output_b: str) -> str:
        """The exact text the judge model continues."""
        text = self.template.format(instruction=instruction, output_a=output_a, output_b=output_b)
        if self.format.render is None:
            return text + PLAIN_ANSWER_CUE
        return self.format.render([{"role": "user", "content": text}], True)

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=self.format.add_special_tokens)["input_ids"]

    def _answer_token_ids(self) -> dict[str, tuple[int, ...]]:
        """The tokens that can start each answer letter right after the prompt: the letter as is
        and after a space ("A", " A"), whichever the tokenizer keeps apart from the prompt."""
        prompt = self.prompt("", "", "")
        prompt_ids = self._encode(prompt)
        ids: dict[str, tuple[int, ...]] = {}
        for letter in ANSWER_LETTERS:
            found = []
            for text in (letter, " " + letter):
                full = self._encode(prompt + text)
                if len(full) > len(prompt_ids) and full[: len(prompt_ids)] == prompt_ids:
                    token = full[len(prompt_ids)]
                    if token not in found:
                        found.append(token)
            if not found:
                raise IsaraError(
                    f"local judge '{self.source}': the answer letter {letter!r} does not tokenize "
                    f"apart from the prompt"
                )
            ids[letter] = tuple(found)
        if set(ids["A"]) & set(ids["B"]):
            raise IsaraError(f"local judge '{self.source}': 'A' and 'B' start with the same token")
        return ids

    @torch.inference_mode()
    def prefer(self, instruction: str, output_a: str, output_b: str) -> float:
        """Softmax over the next-token logits of the answer tokens; the share of the A tokens."""
        encoded = self.tokenizer(
            self.prompt(instruction, output_a, output_b),
            return_tensors="pt",
            add_special_tokens=self.format.add_special_tokens,
        ).to(self.model.device)
        tokens = [*self.answer_ids["A"], *self.answer_ids["B"]]
        logits = self.model(**encoded).logits[0, -1, tokens].float()
        return float(torch.softmax(logits, dim=-1)[: len(self.answer_ids["A"])].sum().clamp(0.0, 1.0))
