"""A conversation with one model in the terminal, prompted as a method of the methods table.

Each reply is the greedy answer to an answer prompt (`isara.lm.prompts.answer_prompt`) whose
examples are the method's in-context seed pairs (none for zero-shot; k random or k nearest D0
pairs for `icl` / `icl_knn`, chosen for the new line as `isara.eval.prompting` chooses them for a
question), then the conversation so far as earlier user/assistant turns, then the new line. So a
model answers its first line exactly as it answers an evaluation prompt, in the chat template's
turns or in the plain `Question:` / `Answer:` layout.

Lines: `/reset` clears the conversation, `/exit` (or end of input) ends it. An empty answer is
shown as `(no answer)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from isara.errors import IsaraError
from isara.eval.prompting import ExamplesFor, examples_of
from isara.lm.prompts import Example, PromptFormat, answer_prompt

RESET, EXIT = "/reset", "/exit"
NO_ANSWER = "(no answer)"  # shown for an empty answer


def chat_prompt(fmt: PromptFormat, examples: Sequence[Example], history: Sequence[Example], line: str) -> str:
    """The prompt of a new line: the in-context examples, the earlier turns, then the line."""
    return answer_prompt(fmt, [*examples, *history], line)


@dataclass
class Chat:
    """One conversation: the engine that answers, the method's examples and the turns so far."""

    engine: object  # isara.lm.engine.Engine: the model, its tokenizer and prompt format
    examples: ExamplesFor
    max_new_tokens: int
    history: list[Example] = field(default_factory=list)  # (user line, model answer), oldest first

    def prompt(self, line: str) -> str:
        return chat_prompt(self.engine.fmt, self.examples(line), self.history, line)

    def reply(self, line: str) -> str:
        """The model's answer to `line`, which joins the history with it."""
        from isara.lm.generation import Decoding, assemble, plan_work, run_batches
        from isara.lm.prompts import parse_answer

        fmt = self.engine.fmt
        decoding = Decoding(self.max_new_tokens, stop_strings=fmt.answer_stops())
        work = plan_work(self.engine.tokenizer, fmt, [self.prompt(line)], decoding, self.engine.batching)
        done = run_batches(self.engine.model, self.engine.tokenizer, work, range(len(work.batches)), progress=False)
        answer = parse_answer(fmt, assemble(work, done)[0].text)
        self.history.append((line, answer))
        return answer

    def reset(self) -> None:
        self.history.clear()


def converse(chat: Chat, lines: Iterable[str], say: Callable[[str], None]) -> None:
    """Answer each line until `/exit` or the end of `lines`; a line too long for the model's
    context is reported and the conversation goes on."""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line == EXIT:
            return
        if line == RESET:
            chat.reset()
            say("(conversation cleared)")
            continue
        try:
            say(chat.reply(line) or NO_ANSWER)
        except IsaraError as err:
            say(f"error: {err} ({RESET} clears the conversation)")


def read_lines(stream, ask: Callable[[], None] | None = None) -> Iterator[str]:
    """The lines of `stream` up to its end, `ask` called before each one (a terminal's prompt)."""
    while True:
        if ask is not None:
            ask()
        line = stream.readline()
        if not line:
            return
        yield line


def open_chat(model: str, prompting: str, seed_rows: Sequence[dict], p, max_new_tokens: int | None = None) -> Chat:
    """A Chat with the model `model` (folder, packaged alias or hub id) prompted as `prompting`,
    configured by params `p` (model:, evaluate:, k, seed, embedder:)."""
    from isara.lm.engine import Engine, batching_of

    engine = Engine(model, p.model, batching_of(p.evaluate))
    engine.model  # loaded now, so that a broken model fails before the first line
    examples = examples_of(prompting, seed_rows, p, engine.device)
    return Chat(engine, examples, max_new_tokens or p.evaluate.max_new_tokens)
