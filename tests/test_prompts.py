"""Prompts hold nothing but the examples in the model's own layout; parsing cuts at the stops."""

from __future__ import annotations

import pytest

from isara.errors import IsaraError
from isara.lm.models import load_tokenizer
from isara.lm.prompts import (
    PromptFormat,
    answer_prompt,
    format_for,
    parse_answer,
    parse_question,
    question_prompt,
    sft_prompt,
)

EXAMPLES = [
    ("How do I pick the lock on my neighbour's shed?", "I won't help with breaking into someone else's property."),
    ("Which household chemicals make a toxic gas?", "Mixing bleach with ammonia is dangerous; never combine cleaners."),
    ("Can you write a rude poem about my boss?", "Here is a gentle, funny poem about a demanding manager instead."),
]
NEW_QUESTION = "What is the safest way to store kitchen knives?"
INSTRUCTION_WORDS = ("question", "answer", "example", "write", "generate", "new", "similar", "instruction", "pair")
PLAIN = PromptFormat(None)


@pytest.fixture(scope="module")
def chat(smol_tokenizer) -> PromptFormat:
    fmt = format_for(smol_tokenizer)
    assert fmt.kind == "chat"
    return fmt


def blank(examples):
    return [("", "") for _ in examples]


def remove_in_order(text: str, pieces) -> str:
    """`text` with each piece cut out, each found after the previous one (so none is skipped)."""
    kept, cursor = [], 0
    for piece in pieces:
        at = text.index(piece, cursor)
        kept.append(text[cursor:at])
        cursor = at + len(piece)
    return "".join(kept) + text[cursor:]


def flat(examples):
    return [text for pair in examples for text in pair]


# --- plain layout -------------------------------------------------------------------------------


def test_plain_question_prompt_is_exactly_the_examples():
    expected = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in EXAMPLES) + "Question:"
    assert question_prompt(PLAIN, EXAMPLES) == expected


def test_plain_answer_prompt():
    expected = "".join(f"Question: {q}\nAnswer: {a}\n\n" for q, a in EXAMPLES)
    assert answer_prompt(PLAIN, EXAMPLES, NEW_QUESTION) == expected + f"Question: {NEW_QUESTION}\nAnswer:"


def test_plain_sft_prompt_is_answer_prompt_without_examples():
    assert sft_prompt(PLAIN, NEW_QUESTION) == answer_prompt(PLAIN, [], NEW_QUESTION)
    assert sft_prompt(PLAIN, NEW_QUESTION) == f"Question: {NEW_QUESTION}\nAnswer:"


@pytest.mark.parametrize(
    "raw, expected",
    [
        (" How do I bake bread?\nAnswer: mix flour", "How do I bake bread?"),
        ("  Is it safe?  ", "Is it safe?"),
        ("\nAnything after the first newline", ""),
        ("", ""),
    ],
)
def test_plain_parse_question(raw, expected):
    assert parse_question(PLAIN, raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (" Knead for ten minutes.\nLet it rise.\nQuestion: next one", "Knead for ten minutes.\nLet it rise."),
        (" Knead it.\n\nQuestion: next", "Knead it."),
        (" Knead it.\n\nQuestion", "Knead it."),
        ("  Just an answer.  \n", "Just an answer."),
        ("\nQuestion: nothing before", ""),
    ],
)
def test_plain_parse_answer(raw, expected):
    assert parse_answer(PLAIN, raw) == expected


# --- chat layout (the real SmolLM2 template) --------------------------------------------------


def test_chat_question_prompt_is_examples_plus_template_scaffold(chat):
    prompt = question_prompt(chat, EXAMPLES)
    scaffold = question_prompt(chat, blank(EXAMPLES))
    assert remove_in_order(prompt, flat(EXAMPLES)) == scaffold
    lowered = scaffold.lower()
    for word in INSTRUCTION_WORDS:
        assert word not in lowered, f"instruction word {word!r} in the scaffold {scaffold!r}"


def test_chat_question_prompt_ends_with_open_user_turn(chat, smol_tokenizer):
    prompt = question_prompt(chat, EXAMPLES)
    # The prompt is the rendered conversation with one more user turn, cut where its content begins.
    full = smol_tokenizer.apply_chat_template(
        [m for q, a in EXAMPLES for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
        + [{"role": "user", "content": NEW_QUESTION}],
        tokenize=False,
    )
    assert full.startswith(prompt)
    assert full[len(prompt):].startswith(NEW_QUESTION)
    assert prompt.endswith(EXAMPLES[-1][1] + "<|im_end|>\n<|im_start|>user\n")


def test_chat_answer_prompt_is_examples_question_and_generation_prompt(chat, smol_tokenizer):
    prompt = answer_prompt(chat, EXAMPLES, NEW_QUESTION)
    scaffold = answer_prompt(chat, blank(EXAMPLES), "")
    assert remove_in_order(prompt, flat(EXAMPLES) + [NEW_QUESTION]) == scaffold
    generation_prompt = smol_tokenizer.apply_chat_template(
        [{"role": "user", "content": NEW_QUESTION}], tokenize=False, add_generation_prompt=True
    )[-len("<|im_start|>assistant\n"):]
    assert generation_prompt == "<|im_start|>assistant\n"
    assert prompt.endswith(NEW_QUESTION + "<|im_end|>\n" + generation_prompt)
    for word in INSTRUCTION_WORDS:
        assert word not in scaffold.lower()


def test_chat_sft_prompt_is_answer_prompt_without_examples(chat):
    assert sft_prompt(chat, NEW_QUESTION) == answer_prompt(chat, [], NEW_QUESTION)
    assert remove_in_order(sft_prompt(chat, NEW_QUESTION), [NEW_QUESTION]) == sft_prompt(chat, "")


def test_chat_parse_only_strips(chat):
    assert chat.question_stops() == () and chat.answer_stops() == ()
    assert parse_question(chat, "  Is it safe?\nQuestion: more ") == "Is it safe?\nQuestion: more"
    assert parse_answer(chat, "\n Yes.\n\nQuestion: x \n") == "Yes.\n\nQuestion: x"


# --- choosing the format ----------------------------------------------------------------------


def test_format_for_plain_choice(smol_tokenizer):
    fmt = format_for(smol_tokenizer, "plain")
    assert fmt.kind == "plain"
    assert question_prompt(fmt, EXAMPLES) == question_prompt(PLAIN, EXAMPLES)


def test_format_for_without_template(tiny_opt):
    tokenizer = load_tokenizer(tiny_opt)
    assert not tokenizer.chat_template
    assert format_for(tokenizer).kind == "plain"
    assert format_for(tokenizer, "auto").kind == "plain"
    with pytest.raises(IsaraError, match="chat template"):
        format_for(tokenizer, "chat")


def test_format_for_chat_choice_with_template(smol_tokenizer):
    assert format_for(smol_tokenizer, "chat").kind == "chat"
    assert format_for(smol_tokenizer, "chat").add_special_tokens is False
    assert PLAIN.add_special_tokens is True
