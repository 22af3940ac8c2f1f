"""A method ready to be evaluated: its model, tokenizer, prompt layout and prompter, with params."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from isara.config import Params
from isara.eval.prompting import Prompter, prompter_for
from isara.lm.generation import Decoding, generate
from isara.lm.prompts import sft_prompt
from isara.text import normalise

JUDGE_DIR = Path("judges")


@dataclass
class Context:
    model: object
    tokenizer: object
    fmt: object
    p: Params
    seed_questions: set  # normalised D0 questions, kept out of evaluation
    judges_dir: Path = JUDGE_DIR
    prompter: Prompter | None = None  # question -> prompt; None: the SFT prompt

    def prompt(self, question: str) -> str:
        return self.prompter(question) if self.prompter else sft_prompt(self.fmt, question)

    def answers(self, prompts: list[str], max_new_tokens: int | None = None, desc: str = "answers") -> list[str]:
        """Greedy answers to `prompts`, each laid out by the method's prompter."""
        decoding = Decoding(max_new_tokens or self.p.evaluate.max_new_tokens)
        done = generate(self.model, self.tokenizer, self.fmt, [self.prompt(q) for q in prompts],
                        decoding, self.p.evaluate.batch_size, desc=desc)
        return [d.text.strip() for d in done]

    def judge_error(self, name: str) -> dict | None:
        """The measured error of a judge (its judge@NAME stage), or None when it was not measured."""
        path = self.judges_dir / name / "check.json"
        return json.loads(path.read_text()) if path.is_file() else None


def load_context(model: str | Path, prompting: str, seed_rows: Sequence[dict], p: Params,
                 judges_dir: Path = JUDGE_DIR) -> Context:
    """The Context of a method: the model (a folder, hub id or packaged alias) prompted as
    `prompting` says, with D0 = seed_rows."""
    from isara.lm.models import load_configured

    model, tokenizer, fmt = load_configured(model, p.model)
    return Context(model, tokenizer, fmt, p, {normalise(row["question"]) for row in seed_rows}, judges_dir,
                   prompter_for(prompting, fmt, seed_rows, p, model.device))
