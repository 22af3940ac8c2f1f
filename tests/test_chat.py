"""`isara chat`: each line answered greedily in the method's prompt layout, the conversation so far
as earlier turns after any in-context seed pairs; /reset clears it, /exit or end of input ends it."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from isara import chat as chat_module
from isara.chat import NO_ANSWER, chat_prompt
from isara.cli import main as cli
from isara.errors import IsaraError
from isara.eval.prompting import examples_for, random_examples
from isara.lm.prompts import PromptFormat, answer_prompt, format_for, sft_prompt
from tests.conftest import ROOT

PLAIN = PromptFormat(None)
SEED = [{"question": f"seed question {i}?", "answer": f"seed answer {i}."} for i in range(5)]


def test_the_first_line_is_prompted_as_evaluation_prompts_are(smol_tokenizer):
    for fmt in (PLAIN, format_for(smol_tokenizer)):
        assert chat_prompt(fmt, [], [], "Hi?") == sft_prompt(fmt, "Hi?")
        assert chat_prompt(fmt, [("q", "a")], [], "Hi?") == answer_prompt(fmt, [("q", "a")], "Hi?")


def test_history_follows_the_examples_as_earlier_turns(smol_tokenizer):
    examples, history = [("seed q?", "seed a.")], [("Hello?", "Hi there."), ("And you?", "Fine.")]
    plain = chat_prompt(PLAIN, examples, history, "Bye?")
    assert plain == ("Question: seed q?\nAnswer: seed a.\n\nQuestion: Hello?\nAnswer: Hi there.\n\n"
                     "Question: And you?\nAnswer: Fine.\n\nQuestion: Bye?\nAnswer:")
    chat = chat_prompt(format_for(smol_tokenizer), examples, history, "Bye?")
    turns = ["<|im_start|>user\nseed q?<|im_end|>", "<|im_start|>assistant\nseed a.<|im_end|>",
             "<|im_start|>user\nHello?<|im_end|>", "<|im_start|>assistant\nHi there.<|im_end|>",
             "<|im_start|>user\nAnd you?<|im_end|>", "<|im_start|>assistant\nFine.<|im_end|>",
             "<|im_start|>user\nBye?<|im_end|>"]
    positions = [chat.index(turn) for turn in turns]
    assert positions == sorted(positions) and chat.endswith("<|im_start|>assistant\n")


def test_examples_are_the_methods_own():
    assert examples_for("zero_shot", [], 3, 0)("q?") == []
    icl = examples_for("icl", SEED, 3, 7)
    assert icl("q?") == random_examples(SEED, 3, 7, "q?") and icl("q?") == icl("q?")
    with pytest.raises(IsaraError, match="k=9"):
        examples_for("icl", SEED, 9, 0)
    with pytest.raises(IsaraError, match="unknown prompting"):
        examples_for("few_shot", SEED, 3, 0)


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A working folder with the project's params.yaml."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def prompts(monkeypatch) -> list[tuple[list, list, str, str]]:
    """(examples, history, line, prompt) of every prompt the chat builds."""
    seen = []
    real = chat_module.chat_prompt

    def record(fmt, examples, history, line):
        seen.append((list(examples), list(history), line, real(fmt, examples, history, line)))
        return seen[-1][-1]

    monkeypatch.setattr(chat_module, "chat_prompt", record)
    return seen


def talk(args: list[str], text: str):
    return CliRunner().invoke(cli, ["chat", *args, "--max-new-tokens", "6"], input=text)


def test_chat_on_a_chat_template_model(here, tiny_llama, prompts):
    result = talk([str(tiny_llama)], "Hello?\nHow are you?\n/reset\nAgain?\n")
    assert result.exit_code == 0, result.output
    replies = result.stdout.splitlines()
    assert len(replies) == 4 and replies[2] == "(conversation cleared)"
    assert "chat layout" in result.stderr
    answers = [replies[0], replies[1], replies[3]]
    assert [(line, history) for _, history, line, _ in prompts] == [
        ("Hello?", []),
        ("How are you?", [("Hello?", "" if answers[0] == NO_ANSWER else answers[0])]),
        ("Again?", []),  # /reset
    ]
    assert prompts[1][3].index("<|im_start|>user\nHello?") < prompts[1][3].index("<|im_start|>user\nHow are you?")
    assert prompts[2][3] == prompts[0][3].replace("Hello?", "Again?")


def test_chat_on_a_plain_model_stops_at_exit(here, tiny_opt, prompts):
    result = talk([str(tiny_opt)], "Hi?\n\nThere?\n/exit\nNever answered?\n")
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first and first != NO_ANSWER  # the random OPT says something
    assert [line for _, _, line, _ in prompts] == ["Hi?", "There?"]
    assert prompts[1][3] == f"Question: Hi?\nAnswer: {first}\n\nQuestion: There?\nAnswer:"
    assert "plain layout" in result.stderr


def test_end_of_input_ends_the_chat(here, tiny_opt):
    result = talk([str(tiny_opt)], "")
    assert result.exit_code == 0 and result.stdout == ""


def test_a_method_brings_its_model_and_examples(here, tiny_llama, prompts):
    shutil.copytree(tiny_llama, here / "models/icl")
    (here / "work/iter0").mkdir(parents=True)
    (here / "work/iter0/pool.jsonl").write_text(
        "".join(json.dumps({"id": f"seed-{i}", **row}) + "\n" for i, row in enumerate(SEED)))
    result = talk(["--method", "icl"], "Hello?\nMore?\n")
    assert result.exit_code == 0, result.output
    from isara.config import load_params

    p = load_params()
    (examples, _, _, _), (later, history, _, prompt) = prompts
    assert examples == random_examples(SEED, p.k, p.seed, "Hello?")
    assert later == random_examples(SEED, p.k, p.seed, "More?") and len(history) == 1
    assert prompt.index(later[-1][1]) < prompt.index("<|im_start|>user\nHello?")


@pytest.mark.parametrize("args", [["no-such-org/no-such-model-xyz"], ["--method", "nope"], []])
def test_what_cannot_be_chatted_with_is_one_line(here, monkeypatch, args):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    result = talk(args, "Hello?\n")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error: ")
    assert {"no-such-org/no-such-model-xyz": "is unknown", "nope": "methods has no 'nope'"}.get(
        (args or [""])[-1], "give either MODEL") in result.output
