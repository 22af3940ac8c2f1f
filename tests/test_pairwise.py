"""Model-backed pairwise judges (local causal LM, reward model) on real tiny models, and judges
built from data."""

from __future__ import annotations

import json
import math
import re

import pytest

from isara.errors import IsaraError
from isara.judges.pairwise import (
    REWARD_TEMPLATE,
    EndpointJudge,
    LocalLMJudge,
    RewardModelJudge,
    build_judge,
    build_pairwise_judge,
)
from isara.judges.win_rate import win_rate
from tests.pairwise_judges import CountingMixin


class CountingLocal(CountingMixin, LocalLMJudge):
    pass


# --- local causal-LM judge ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_judge(tiny_llama):
    return CountingLocal(tiny_llama, device="cpu", dtype="float32")


def test_local_judge_probabilities_are_deterministic(local_judge):
    assert local_judge.format.kind == "chat"
    decoded = {k: [local_judge.tokenizer.decode([i]) for i in v] for k, v in local_judge.answer_ids.items()}
    assert decoded == {"A": ["A", " A"], "B": ["B", " B"]}
    prompt = local_judge.prompt("Name a colour.", "Blue.", "I like trains.")
    assert "Name a colour." in prompt and "# Response A\nBlue." in prompt
    assert prompt.rstrip().endswith("assistant")  # chat template, generation prompt open
    first = local_judge.prefer("Name a colour.", "Blue.", "I like trains.")
    assert 0.0 <= first <= 1.0
    assert local_judge.prefer("Name a colour.", "Blue.", "I like trains.") == first
    swapped = local_judge.prefer("Name a colour.", "I like trains.", "Blue.")
    assert 0.0 <= swapped <= 1.0
    assert re.match(rf"local:{re.escape(local_judge.source)}@[0-9a-f]{{12}}#[0-9a-f]{{8}}$", local_judge.name)


def test_a_model_judges_name_changes_with_its_weights(tiny_llama, tmp_path):
    """The cache key is the judge's content: a folder rebuilt from other weights is another judge."""
    import shutil

    from isara.tiny import build_tiny_model

    folder = tmp_path / "judge-model"
    shutil.copytree(tiny_llama, folder)
    before = LocalLMJudge(folder, device="cpu", dtype="float32").name
    assert LocalLMJudge(folder, device="cpu", dtype="float32").name == before
    shutil.rmtree(folder)
    build_tiny_model("llama", folder, seed=1)
    assert LocalLMJudge(folder, device="cpu", dtype="float32").name != before


def test_local_judge_plain_text_model(tiny_opt):
    judge = LocalLMJudge(tiny_opt, device="cpu", dtype="float32")
    assert judge.format.kind == "plain"
    decoded = {k: [judge.tokenizer.decode([i]) for i in v] for k, v in judge.answer_ids.items()}
    assert decoded["A"][-1] == " A" and decoded["B"][-1] == " B"
    assert judge.prompt("q", "a", "b").endswith("single letter: A or B.\n\nAnswer:")
    p = judge.prefer("Name a colour.", "Blue.", "I like trains.")
    assert 0.0 <= p <= 1.0 and judge.prefer("Name a colour.", "Blue.", "I like trains.") == p


def test_identical_outputs_tie_without_calling_the_judge(local_judge):
    local_judge.calls = 0
    result = win_rate(local_judge, ["q1", "q2", "q3"], ["same", "x", "y"], ["same", "x", "y"])
    assert local_judge.calls == 0
    assert result["ties"] == 3 and result["win_rate"] == 0.5 and result["n"] == 3
    result = win_rate(local_judge, ["q1", "q2"], ["same", "mine"], ["same", "theirs"])
    assert local_judge.calls == 2  # one differing pair, asked in both orders
    assert result["wins"] + result["ties"] + result["losses"] == 2 and result["ties"] >= 1


def test_local_judge_win_rate_with_cache(local_judge, tmp_path):
    instructions = ["Name a colour.", "Say hello.", "Count to three."]
    outputs = ["Blue.", "Hello!", "1, 2, 3."]
    references = ["Green, or maybe red.", "Hi there.", "One two three four."]
    local_judge.calls = 0
    first = win_rate(local_judge, instructions, outputs, references, cache=tmp_path / "cache")
    assert local_judge.calls == 6
    second = win_rate(local_judge, instructions, outputs, references, cache=tmp_path / "cache")
    assert local_judge.calls == 6 and second == first
    assert 0.0 <= first["win_rate"] <= 1.0 and first["judge"] == local_judge.name


# --- reward-model judge -------------------------------------------------------------------------------


def _tiny_classifier(out_dir, num_labels: int):
    import torch
    from transformers import LlamaForSequenceClassification

    from isara.tiny import _config, _tokenizer

    tokenizer = _tokenizer()
    config = _config("llama", tokenizer)
    config.num_labels = num_labels
    torch.manual_seed(0)
    LlamaForSequenceClassification(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


@pytest.fixture(scope="module")
def tiny_reward(tmp_path_factory):
    return _tiny_classifier(tmp_path_factory.mktemp("models") / "tiny-reward", 1)


def test_reward_model_judge(tiny_reward):
    judge = RewardModelJudge(tiny_reward, device="cpu", dtype="float32")
    assert judge.name.startswith("reward:") and judge.template == REWARD_TEMPLATE
    question, a, b = "How do I stay safe online?", "Use strong passwords.", "Click every link."
    reward_a, reward_b = judge.reward(question, a), judge.reward(question, b)
    assert math.isfinite(reward_a) and reward_a != reward_b
    assert judge.prefer(question, a, b) == (1.0 if reward_a > reward_b else 0.0)
    assert judge.prefer(question, b, a) == 1.0 - judge.prefer(question, a, b)
    assert judge.prefer(question, a, a) == 0.5
    assert RewardModelJudge(tiny_reward, device="cpu", dtype="float32").reward(question, a) == reward_a
    result = win_rate(judge, [question, question], [a, b], [b, b])
    assert result["ties"] == 1 and result["wins"] + result["losses"] == 1


def test_reward_model_judge_reads_safe_rlhf_score_models(tiny_reward, tmp_path):
    """A beaver-style checkpoint: LlamaModelForScore, score_dim in the config, score_head.weight."""
    import shutil

    from safetensors.torch import load_file, save_file

    beaver = tmp_path / "beaver-style"
    shutil.copytree(tiny_reward, beaver)
    weights = load_file(beaver / "model.safetensors")
    weights["score_head.weight"] = weights.pop("score.weight")
    save_file(weights, str(beaver / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((beaver / "config.json").read_text())
    for key in ("id2label", "label2id", "num_labels"):
        config.pop(key, None)
    config.update(architectures=["LlamaModelForScore"], score_dim=1, score_type="reward", bias=False)
    (beaver / "config.json").write_text(json.dumps(config))
    original = RewardModelJudge(tiny_reward, device="cpu", dtype="float32")
    converted = RewardModelJudge(beaver, device="cpu", dtype="float32")
    question, answer = "How do I stay safe online?", "Use strong passwords."
    assert converted.reward(question, answer) == pytest.approx(original.reward(question, answer))


def test_reward_model_judge_refuses_non_reward_models(tmp_path, tiny_llama):
    two = _tiny_classifier(tmp_path / "two-labels", 2)
    with pytest.raises(IsaraError, match="one output logit, this one has 2"):
        RewardModelJudge(two, device="cpu", dtype="float32")
    with pytest.raises(IsaraError, match="score head would be random"):
        RewardModelJudge(tiny_llama, device="cpu", dtype="float32")  # a causal LM: no score head


# --- judges as data -----------------------------------------------------------------------------------


def test_build_judge(tiny_llama, tiny_reward):
    endpoint = build_judge({"kind": "endpoint", "base_url": "http://localhost:8000/v1", "model": "m",
                            "timeout": 3, "name": "my-judge"})
    assert isinstance(endpoint, EndpointJudge) and endpoint.name == "my-judge" and endpoint.timeout == 3
    local = build_judge({"kind": "local", "model": str(tiny_llama), "device": "cpu", "dtype": "float32"})
    assert isinstance(local, LocalLMJudge) and 0.0 <= local.prefer("q", "a", "b") <= 1.0
    reward = build_judge({"kind": "reward", "model": str(tiny_reward), "device": "cpu"})
    assert isinstance(reward, RewardModelJudge)
    custom = build_judge({"kind": "endpoint", "base_url": "http://x", "model": "m",
                          "template": "Q: {instruction}\n1: {output_a}\n2: {output_b}\nA or B?"})
    assert custom.name != endpoint.name and custom.request_body("q", "a", "b")["messages"][0]["content"] \
        == "Q: q\n1: a\n2: b\nA or B?"
    with pytest.raises(IsaraError, match="kind must be one of"):
        build_judge({"kind": "oracle"})
    with pytest.raises(IsaraError, match="missing base_url"):
        build_judge({"kind": "endpoint", "model": "m"})
    with pytest.raises(IsaraError, match="unknown key"):
        build_judge({"kind": "local", "model": "x", "temperature": 0})
    with pytest.raises(IsaraError, match="exactly the fields"):
        build_judge({"kind": "endpoint", "base_url": "http://x", "model": "m", "template": "{instruction}"})
    with pytest.raises(IsaraError, match="must be an http"):
        build_judge({"kind": "endpoint", "base_url": "localhost:8000", "model": "m"})


def test_build_pairwise_judge_from_params_section(tiny_reward):
    from types import SimpleNamespace

    section = SimpleNamespace(kind="endpoint", model="served-name", base_url="http://127.0.0.1:9/v1")
    judge = build_pairwise_judge(section, "cpu")
    assert isinstance(judge, EndpointJudge) and judge.model == "served-name"
    with pytest.raises(IsaraError, match="judges.pairwise.base_url"):
        build_pairwise_judge({"kind": "endpoint", "model": "m", "base_url": ""})
    reward = build_pairwise_judge({"kind": "reward", "model": str(tiny_reward), "base_url": ""}, "cpu")
    assert isinstance(reward, RewardModelJudge) and reward.device.type == "cpu"
