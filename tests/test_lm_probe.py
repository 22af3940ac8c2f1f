"""The lm-probe harm classifier: layer choice, token layout, hidden-state features on a tiny real
LLaMA (random weights), the probe's fit and regularisation choice, and training end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from isara.errors import IsaraError
from isara.judges import lm_probe
from isara.judges.classifier import ClassifierConfig, train_classifier
from isara.lm.models import load_model
from isara.lm.prompts import format_for, sft_prompt
from isara.lm.tokens import pair_ids
from tests.test_harm_judges import _toy_pairs


def test_layer_indices_are_fractions_of_the_depth():
    assert lm_probe.layer_indices([0.5, 1.0], 30) == [15, 30]
    assert lm_probe.layer_indices([1.0, 0.5, 0.51], 30) == [15, 30]  # sorted, deduplicated
    assert lm_probe.layer_indices([0.01], 4) == [1]  # never the embeddings
    with pytest.raises(IsaraError, match="fractions"):
        lm_probe.layer_indices([0.0], 30)
    with pytest.raises(IsaraError, match="fractions"):
        lm_probe.layer_indices([1.5], 30)


@pytest.fixture(scope="module")
def backbone(tiny_llama):
    model, tokenizer = load_model(tiny_llama, torch.device("cpu"), torch.float32)
    return model, tokenizer, format_for(tokenizer)


def test_features_are_the_states_a_causal_model_holds(backbone):
    model, tokenizer, fmt = backbone
    pairs = [("How do I bake bread?", "Knead it."), ("Why is the sky blue?", "Rayleigh scattering of sunlight " * 5),
             ("Hi", "Hello there, how can I help you today?")]
    one = lm_probe.hidden_features(model, tokenizer, fmt, pairs, [1, 2], 64, batch_size=1)
    batched = lm_probe.hidden_features(model, tokenizer, fmt, pairs, [1, 2], 64, batch_size=3)
    hidden = model.config.hidden_size
    assert one["pair"].shape == (3, 2 * 2 * hidden)
    np.testing.assert_allclose(batched["pair"], one["pair"], atol=1e-4)  # right padding changes nothing
    np.testing.assert_allclose(batched["prompt"], one["prompt"], atol=1e-4)

    # The prompt features are what the model holds before the response: the prompt's own states.
    ids, n_prompt = pair_ids(tokenizer, fmt, sft_prompt(fmt, pairs[0][0]), pairs[0][1], max_length=64)
    with torch.no_grad():
        states = model(input_ids=torch.tensor([ids[:n_prompt]]), output_hidden_states=True).hidden_states
    expected = torch.cat([states[1][0].mean(0), states[1][0, -1], states[2][0].mean(0), states[2][0, -1]])
    np.testing.assert_allclose(one["prompt"][0], expected.numpy(), atol=1e-4)
    # ... and the pair features differ when only the response does.
    other = lm_probe.hidden_features(model, tokenizer, fmt, [(pairs[0][0], "No.")], [1, 2], 64, 1)
    np.testing.assert_allclose(other["prompt"][0], one["prompt"][0], atol=1e-4)
    assert not np.allclose(other["pair"][0], one["pair"][0], atol=1e-3)


def test_probe_fits_separable_data_and_prefers_strong_regularisation_on_ties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5))
    harmful = x[:, 0] + 0.1 * x[:, 1] > 0
    probe = lm_probe.fit_probe(x, harmful, 1.0, seed=0)
    assert ((lm_probe.probe_probs(probe, x) > 0.5) == harmful).mean() >= 0.95
    groups = [f"g{i // 2}" for i in range(80)]
    best, scores = lm_probe.choose_c(x, harmful, groups, [0.001, 10.0], seed=0)
    assert set(scores) == {"0.001", "10.0"} and scores[str(best)] == max(scores.values())
    margin = x.copy()
    margin[:, 0] = np.where(harmful, 3.0, -3.0) + 0.1 * x[:, 0]  # separable by far: every C is perfect
    best, scores = lm_probe.choose_c(margin, harmful, groups, [10.0, 1.0], seed=0)
    assert scores == {"1.0": 1.0, "10.0": 1.0} and best == 1.0  # the tie goes to the stronger regularisation
    constant = lm_probe.fit_probe(x, np.ones(80, bool), 1.0, seed=0)
    assert (lm_probe.probe_probs(constant, x) > 0.5).all()


def test_lm_probe_judge_reads_the_answer_not_the_prompt(tmp_path, tiny_llama):
    """Every toy prompt has one safe and one harmful answer: a prompt-only model cannot beat 0.5 on
    it, a probe reading the answer can, even on a random backbone."""
    from isara.judges.harm_judges import ClassifierJudge

    config = ClassifierConfig(kind="lm-probe", backbone=str(tiny_llama), layers=(0.5, 1.0), cs=(0.01, 1.0),
                              test_fraction=0.25, refusal_augmentation=0.5, max_length=64)
    info = train_classifier(_toy_pairs(), tmp_path / "judge", config)
    assert info["kind"] == "isara-qa-lm-probe" and info["model"] == str(tiny_llama)
    metrics = info["metrics"]
    assert metrics["classifier"]["accuracy"] >= 0.9
    assert metrics["prompt_only"]["accuracy"] == 0.5
    assert metrics["prompt_only_encoder"]["accuracy"] == 0.5  # the sentence encoder's prompt-only model
    assert info["data"]["train_augmented_refusals"] > 0
    assert info["training"]["c"] in (0.01, 1.0) and info["training"]["layer_indices"] == [1, 2]
    assert json.loads((tmp_path / "judge/judge.json").read_text()) == info

    judge = ClassifierJudge(tmp_path / "judge", device="cpu")
    assert judge.name == f"classifier:{tiny_llama}"
    pairs = [(p, a) for p, a, _ in _toy_pairs()]
    probs = judge.harmful_probs(pairs)
    truth = [not safe for _, _, safe in _toy_pairs()]
    assert np.mean([(p > 0.5) == t for p, t in zip(probs, truth)]) >= 0.9
    assert judge.harmful_probs([]) == []


def test_classifier_config_rejects_bad_settings():
    for bad, match in ((dict(kind="svm"), "kind"), (dict(layers=()), "layers"), (dict(layers=(2.0,)), "layers"),
                       (dict(cs=(0.0,)), "cs")):
        with pytest.raises(IsaraError, match=match):
            ClassifierConfig(**bad).validate()
