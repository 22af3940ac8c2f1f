"""Prompt rendering and output parsing: small pure functions, testable without a model.

ISARA writes no instruction text. A prompt is nothing but example question/answer pairs laid out
in the model's own conversation format, followed by an open slot:

- question prompt: the k retrieved examples, then an open *question* slot (a new user turn);
- answer prompt: the k retrieved examples, then the new question and an open *answer* slot;
- SFT / evaluation prompt: the answer prompt with no examples, so a model is trained and
  evaluated in exactly the layout it later generates in.

Two layouts exist. `chat` renders the pairs as user/assistant turns with the tokenizer's chat
template (whatever scaffold that template adds on its own, such as a default system turn, is the
model's, not ours). `plain`, for models without a template (OPT, base LLaMA), is::

    Question: <q1>
    Answer: <a1>

    Question: <q2>
    Answer:
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from isara.errors import IsaraError

Example = tuple[str, str]  # (question, answer)
RenderChat = Callable[[list[dict], bool], str]  # (messages, add_generation_prompt) -> text

_SLOT = "\x00ISARA_SLOT\x00"
_PLAIN_STOPS_QUESTION = ("\n",)
_PLAIN_STOPS_ANSWER = ("\nQuestion:", "\n\nQuestion")


@dataclass(frozen=True)
class PromptFormat:
    """How pairs are laid out for one tokenizer: `render` is its chat template, or None for plain."""

    render: RenderChat | None = None

    @property
    def kind(self) -> str:
        return "plain" if self.render is None else "chat"

    @property
    def add_special_tokens(self) -> bool:
        # A rendered chat template already holds its special tokens; plain text gets the BOS the
        # tokenizer normally adds (OPT's </s>, LLaMA's <s>).
        return self.render is None

    def question_stops(self) -> tuple[str, ...]:
        return _PLAIN_STOPS_QUESTION if self.render is None else ()

    def answer_stops(self) -> tuple[str, ...]:
        return _PLAIN_STOPS_ANSWER if self.render is None else ()


def format_for(tokenizer, choice: str = "auto") -> PromptFormat:
    """The prompt format of a tokenizer: `chat` when it has a template (or is forced), else plain."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if choice == "plain" or (choice == "auto" and not has_template):
        return PromptFormat(None)
    if not has_template:
        raise IsaraError("model.prompt_format is 'chat' but the tokenizer has no chat template")

    def render(messages: list[dict], add_generation_prompt: bool) -> str:
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt
        )

    return PromptFormat(render)


def _turns(examples: Sequence[Example]) -> list[dict]:
    messages = []
    for question, answer in examples:
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": answer})
    return messages


def _plain_pairs(examples: Sequence[Example]) -> str:
    return "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in examples)


def question_prompt(fmt: PromptFormat, examples: Sequence[Example]) -> str:
    """Examples, then an open question slot for the model to fill with a new question."""
    if fmt.render is None:
        return _plain_pairs(examples) + "Question:"
    text = fmt.render(_turns(examples) + [{"role": "user", "content": _SLOT}], False)
    return text[: text.index(_SLOT)]


def answer_prompt(fmt: PromptFormat, examples: Sequence[Example], question: str) -> str:
    """Examples, then `question` and an open answer slot (ICL-kNN labelling)."""
    if fmt.render is None:
        return _plain_pairs(examples) + f"Question: {question}\nAnswer:"
    return fmt.render(_turns(examples) + [{"role": "user", "content": question}], True)


def sft_prompt(fmt: PromptFormat, question: str) -> str:
    """The prompt a model is fine-tuned and evaluated on: the answer prompt with no examples."""
    return answer_prompt(fmt, (), question)


def answer_target(fmt: PromptFormat, answer: str) -> str:
    """The text that follows an SFT prompt (EOS is appended as a token, not as text)."""
    return answer if fmt.render is not None else " " + answer


def _cut(text: str, stops: Sequence[str]) -> str:
    for stop in stops:
        position = text.find(stop)
        if position != -1:
            text = text[:position]
    return text.strip()


def parse_question(fmt: PromptFormat, raw: str) -> str:
    """The new question in a model's continuation of a question prompt ('' when there is none)."""
    return _cut(raw, fmt.question_stops())


def parse_answer(fmt: PromptFormat, raw: str) -> str:
    """The answer in a model's continuation of an answer prompt ('' when there is none)."""
    return _cut(raw, fmt.answer_stops())
