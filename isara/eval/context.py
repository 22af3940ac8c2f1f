"""A method ready to be evaluated: its generation engine, prompt layout and prompter, with params."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from isara.config import Params
from isara.eval.prompting import Prompter, prompter_for
from isara.lm.prompts import sft_prompt
from isara.text import normalise

if TYPE_CHECKING:  # the engine imports torch and transformers: a suite's module loads without them
    from isara.lm.engine import Engine

JUDGE_DIR = Path("judges")
JUDGE_CACHE = Path(".cache/judges")  # pairwise verdicts kept across runs (isara.judges.judge_cache)


@dataclass
class Context:
    engine: Engine
    p: Params
    seed_questions: set  # normalised D0 questions, kept out of evaluation
    judges_dir: Path = JUDGE_DIR
    prompter: Prompter | None = None  # question -> prompt; None: the SFT prompt
    log_dir: Path | None = None  # partial log of finished answer batches, for a resumed run

    @property
    def model(self):
        """The method's model in this process (for likelihood scoring); generation may use workers."""
        return self.engine.model

    @property
    def tokenizer(self):
        return self.engine.tokenizer

    @property
    def fmt(self):
        return self.engine.fmt

    @property
    def device(self):
        return self.engine.device

    def prompt(self, question: str) -> str:
        return self.prompter(question) if self.prompter else sft_prompt(self.fmt, question)

    def answers(self, prompts: list[str], max_new_tokens: int | None = None, desc: str = "answers") -> list[str]:
        """Greedy answers to `prompts`, each laid out by the method's prompter."""
        from isara.lm.generation import Decoding

        decoding = Decoding(max_new_tokens or self.p.evaluate.max_new_tokens)
        done = self.engine.generate([self.prompt(q) for q in prompts], decoding, log_dir=self.log_dir, desc=desc)
        return [d.text.strip() for d in done]

    def judge_error(self, name: str) -> dict | None:
        """The measured error of a judge (its judge@NAME stage), or None when it was not measured
        (judges.check does not list it: its stage wrote a placeholder)."""
        path = self.judges_dir / name / "check.json"
        return json.loads(path.read_text()) if name in self.p.judges.check and path.is_file() else None


def load_context(model: str | Path, prompting: str, seed_rows: Sequence[dict], p: Params,
                 judges_dir: Path = JUDGE_DIR, log_dir: Path | None = None) -> Context:
    """The Context of a method: the model (a folder, hub id or packaged alias) prompted as
    `prompting` says, with D0 = seed_rows; `log_dir` makes its answers resumable."""
    from isara.lm.engine import evaluation_engine

    engine = evaluation_engine(model, p)
    return Context(engine, p, {normalise(row["question"]) for row in seed_rows}, judges_dir,
                   prompter_for(prompting, engine.fmt, seed_rows, p, engine.device), log_dir)
